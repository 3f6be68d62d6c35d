//! What each command needs from a GitHub App installation, and which of it a given set of
//! granted permissions lacks (pure: the grant comes from `GET /orgs/{org}/installation`).

use std::collections::BTreeMap;
use std::fmt;

/// The commands that talk to GitHub, by what they do there.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Task {
    /// `scan --org/--repo` (and `trust`, which scans first).
    Scan,
    /// `rewrite --org/--repo` without `--pr`: reads the workflows it would change.
    RewritePlan,
    /// `rewrite --pr`: branches, commits and pull requests.
    RewritePr,
    /// `status`: pull requests, secrets and runs of the campaign's repositories.
    Status,
    /// `cleanup`: deletes repository, environment and organization secrets.
    Cleanup,
    /// `status --comment`: comments on the campaign's pull requests.
    Comment,
    /// `status --tracking-issue`: opens and edits the tracking issue.
    TrackingIssue,
}

/// How much of a permission: GitHub's `read` < `write` (`admin` counts as `write`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    Read,
    Write,
}

impl Level {
    fn parse(text: &str) -> Option<Self> {
        match text {
            "read" => Some(Self::Read),
            "write" | "admin" => Some(Self::Write),
            _ => None,
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            Self::Read => "read",
            Self::Write => "write",
        }
    }
}

/// One App permission as GitHub names it in an installation's `permissions`
/// (`contents`, `organization_secrets`...), with the level a task needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Need {
    pub key: &'static str,
    /// The name GitHub's App settings page shows (`Organization secrets`).
    pub title: &'static str,
    pub level: Level,
}

impl fmt::Display for Need {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: {} (`{}`)",
            self.title,
            self.level.as_str(),
            self.key
        )
    }
}

const fn need(key: &'static str, title: &'static str, level: Level) -> Need {
    Need { key, title, level }
}

const METADATA: Need = need("metadata", "Metadata", Level::Read);
const CONTENTS_READ: Need = need("contents", "Contents", Level::Read);
const ACTIONS_READ: Need = need("actions", "Actions", Level::Read);
const SECRETS_READ: Need = need("secrets", "Secrets", Level::Read);
const ENVIRONMENTS_READ: Need = need("environments", "Environments", Level::Read);
const ORG_SECRETS_READ: Need = need("organization_secrets", "Organization secrets", Level::Read);
/// The organization's OIDC `sub` template is read under organization administration.
const ORG_ADMIN_READ: Need = need(
    "organization_administration",
    "Organization administration",
    Level::Read,
);
const CONTENTS_WRITE: Need = need("contents", "Contents", Level::Write);
const PULLS_READ: Need = need("pull_requests", "Pull requests", Level::Read);
const PULLS_WRITE: Need = need("pull_requests", "Pull requests", Level::Write);
const WORKFLOWS_WRITE: Need = need("workflows", "Workflows", Level::Write);
const SECRETS_WRITE: Need = need("secrets", "Secrets", Level::Write);
const ORG_SECRETS_WRITE: Need = need("organization_secrets", "Organization secrets", Level::Write);
const ISSUES_WRITE: Need = need("issues", "Issues", Level::Write);

impl Task {
    /// The installation permissions this task needs, in the order the README lists them.
    pub fn needs(self) -> &'static [Need] {
        match self {
            Self::Scan => &[
                METADATA,
                CONTENTS_READ,
                ACTIONS_READ,
                SECRETS_READ,
                ENVIRONMENTS_READ,
                ORG_SECRETS_READ,
                ORG_ADMIN_READ,
            ],
            Self::RewritePlan => &[METADATA, CONTENTS_READ],
            Self::RewritePr => &[METADATA, CONTENTS_WRITE, PULLS_WRITE, WORKFLOWS_WRITE],
            Self::Status => &[
                METADATA,
                CONTENTS_READ,
                PULLS_READ,
                ACTIONS_READ,
                SECRETS_READ,
                ENVIRONMENTS_READ,
                ORG_SECRETS_READ,
            ],
            Self::Cleanup => &[
                METADATA,
                CONTENTS_READ,
                PULLS_READ,
                ACTIONS_READ,
                SECRETS_WRITE,
                ENVIRONMENTS_READ,
                ORG_SECRETS_WRITE,
            ],
            // A pull request's conversation comments are issue comments; GitHub lets
            // `Pull requests: write` make them on pull requests.
            Self::Comment => &[METADATA, PULLS_WRITE],
            Self::TrackingIssue => &[METADATA, ISSUES_WRITE],
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::Scan => "scan",
            Self::RewritePlan => "rewrite",
            Self::RewritePr => "rewrite --pr",
            Self::Status => "status",
            Self::Cleanup => "cleanup",
            Self::Comment => "status --comment",
            Self::TrackingIssue => "status --tracking-issue",
        }
    }
}

/// The needs of `task` that `granted` (permission → `read`/`write`/`admin`) does not meet.
pub fn missing(task: Task, granted: &BTreeMap<String, String>) -> Vec<Need> {
    task.needs()
        .iter()
        .filter(|need| {
            granted
                .get(need.key)
                .and_then(|level| Level::parse(level))
                .is_none_or(|level| level < need.level)
        })
        .copied()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grant(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn write_covers_read_and_read_does_not_cover_write() {
        let granted = grant(&[
            ("metadata", "read"),
            ("contents", "write"),
            ("pull_requests", "read"),
            ("workflows", "write"),
        ]);
        assert!(missing(Task::RewritePlan, &granted).is_empty());
        let lacking = missing(Task::RewritePr, &granted);
        assert_eq!(lacking, vec![PULLS_WRITE]);
        assert_eq!(
            lacking[0].to_string(),
            "Pull requests: write (`pull_requests`)"
        );
    }

    #[test]
    fn unknown_levels_count_as_missing() {
        let granted = grant(&[("metadata", "none")]);
        assert_eq!(missing(Task::RewritePlan, &granted).len(), 2);
    }
}
