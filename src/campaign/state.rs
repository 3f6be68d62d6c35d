//! A repository's campaign state, derived from remote truth, and the next step it needs. Pure.

use serde::Serialize;

use super::key_status::KeyStatus;
use super::time::Seconds;

/// A successful run of the migrated workflows after the campaign PR merged (kept in the
/// ledger).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Verification {
    pub repo: String,
    /// The merge this run verifies (a later merge needs a later run).
    pub merged_at: Seconds,
    /// Workflow file.
    pub workflow: String,
    pub run_url: String,
    pub run_at: Seconds,
}

/// Where a repository stands. Derived again on every `status`, never trusted from the ledger.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RepoState {
    Discovered,
    /// No findings, no old secrets: nothing to migrate.
    Clean,
    Findings,
    RoleReady,
    PrOpen,
    PrMerged,
    /// A migrated workflow's run failed since the merge (or on the pull request) and no
    /// later run verified the migration: `status` names the failure class and its fix.
    Failing,
    /// Merged, and a migrated workflow has since run successfully on the default branch.
    Verified,
    KeysDeactivated,
    SecretsDeleted,
    KeysDeleted,
    Skipped,
    Failed,
}

impl RepoState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Discovered => "discovered",
            Self::Clean => "clean",
            Self::Findings => "findings",
            Self::RoleReady => "role_ready",
            Self::PrOpen => "pr_open",
            Self::PrMerged => "pr_merged",
            Self::Failing => "failing",
            Self::Verified => "verified",
            Self::KeysDeactivated => "keys_deactivated",
            Self::SecretsDeleted => "secrets_deleted",
            Self::KeysDeleted => "keys_deleted",
            Self::Skipped => "skipped",
            Self::Failed => "failed",
        }
    }

    pub const ALL: [RepoState; 13] = [
        Self::Discovered,
        Self::Clean,
        Self::Findings,
        Self::RoleReady,
        Self::PrOpen,
        Self::PrMerged,
        Self::Failing,
        Self::Verified,
        Self::KeysDeactivated,
        Self::SecretsDeleted,
        Self::KeysDeleted,
        Self::Skipped,
        Self::Failed,
    ];
}

/// The pull request on the campaign branch, as GitHub reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PullFacts {
    pub number: u64,
    pub url: String,
    /// `open` or `closed`.
    pub state: String,
    pub merged: bool,
    pub merged_at: Option<i64>,
    pub head: String,
    /// Paths the pull request changes.
    pub files: Vec<String>,
}

/// Everything observed about one repository that its state depends on.
#[derive(Debug, Clone, Default)]
pub struct Observed {
    /// `scanned`, `skipped`, `failed` (the scan's outcome).
    pub outcome: String,
    pub reason: Option<String>,
    pub findings: usize,
    /// Secret names the default branch still references.
    pub references: Vec<String>,
    pub pull: Option<PullFacts>,
    /// ARNs of the IAM roles that serve the repository.
    pub roles: Vec<String>,
    /// The successful post-merge run that verified the migration.
    pub verified: Option<Verification>,
    /// Old secrets (ever referenced or mapped) still present.
    pub old_secrets_present: usize,
    /// Old secrets known to the campaign (present or not).
    pub old_secrets_known: usize,
    /// Status of each mapped key: `Active`, `Inactive`, `Missing`.
    pub key_statuses: Vec<KeyStatus>,
    /// Some mapped key was deleted by this campaign.
    pub keys_deleted_by_campaign: bool,
}

/// The state these observations imply.
pub fn derive(o: &Observed) -> RepoState {
    match o.outcome.as_str() {
        "skipped" => return RepoState::Skipped,
        "failed" => return RepoState::Failed,
        _ => {}
    }
    let merged = o.pull.as_ref().is_some_and(|p| p.merged);
    if merged {
        let keys = &o.key_statuses;
        let all_missing = !keys.is_empty() && keys.iter().all(|k| *k == KeyStatus::Missing);
        if all_missing && o.keys_deleted_by_campaign && o.old_secrets_present == 0 {
            return RepoState::KeysDeleted;
        }
        let keys_off = !keys.is_empty() && keys.iter().all(|k| !k.is_active());
        if keys_off && o.old_secrets_known > 0 && o.old_secrets_present == 0 {
            return RepoState::SecretsDeleted;
        }
        if keys_off {
            return RepoState::KeysDeactivated;
        }
        if o.verified.is_some() {
            return RepoState::Verified;
        }
        return RepoState::PrMerged;
    }
    if o.pull.as_ref().is_some_and(|p| p.state == "open") {
        return RepoState::PrOpen;
    }
    if o.findings > 0 {
        return if !o.roles.is_empty() {
            RepoState::RoleReady
        } else {
            RepoState::Findings
        };
    }
    if o.old_secrets_present > 0 {
        // No workflow uses them, but old key material is still stored.
        return RepoState::Findings;
    }
    RepoState::Clean
}

/// What the operator should do next, in one line.
pub fn next_step(state: RepoState, o: &Observed) -> String {
    match state {
        RepoState::Discovered => "migrate status".into(),
        RepoState::Clean => "nothing to do".into(),
        RepoState::Findings if o.findings == 0 => {
            "old AWS secrets unused: map their keys in --key-map, then migrate cleanup".into()
        }
        RepoState::Findings => "migrate trust --apply, then migrate rewrite --pr".into(),
        RepoState::RoleReady => "migrate rewrite --pr".into(),
        RepoState::PrOpen => match &o.pull {
            Some(p) => format!("review and merge PR #{}", p.number),
            None => "review and merge the PR".into(),
        },
        RepoState::PrMerged | RepoState::Verified if !o.references.is_empty() => format!(
            "default branch still references {}: remove them",
            o.references.join(", ")
        ),
        RepoState::PrMerged | RepoState::Verified if o.key_statuses.is_empty() => {
            "map the repo's IAM keys in --key-map, then migrate cleanup".into()
        }
        RepoState::PrMerged => {
            "run a migrated workflow (verifies OIDC), then migrate cleanup".into()
        }
        RepoState::Verified => "migrate cleanup".into(),
        // `status` replaces this with the failure's class and fix.
        RepoState::Failing => "fix the failing run, then run it again".into(),
        RepoState::KeysDeactivated => "migrate cleanup (deletes the secrets)".into(),
        RepoState::SecretsDeleted => {
            "after the soak: migrate cleanup --delete-keys --soak 7d".into()
        }
        RepoState::KeysDeleted => "done".into(),
        RepoState::Skipped => o.reason.clone().unwrap_or_else(|| "skipped".into()),
        RepoState::Failed => format!(
            "fix and re-run: {}",
            o.reason.clone().unwrap_or_else(|| "see errors".into())
        ),
    }
}

/// The run that verifies a merged migration: the newest successful run on the default branch
/// created at or after the merge, of a workflow the pull request changed (of any workflow
/// when it changed none, e.g. only composite actions).
pub fn verifying_run(
    repo: &str,
    pull: &PullFacts,
    merged_at: i64,
    runs: &[crate::github::WorkflowRun],
) -> Option<Verification> {
    let workflows: Vec<&String> = pull
        .files
        .iter()
        .filter(|f| f.starts_with(".github/workflows/"))
        .collect();
    runs.iter()
        .filter_map(|r| super::time::parse(&r.created_at).map(|at| (at, r)))
        .filter(|(at, _)| *at >= merged_at)
        .filter(|(_, r)| workflows.is_empty() || workflows.contains(&&r.path))
        .max_by_key(|(at, _)| *at)
        .map(|(at, r)| Verification {
            repo: repo.to_string(),
            merged_at,
            workflow: r.path.clone(),
            run_url: r.url.clone(),
            run_at: at,
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pull(merged: bool) -> Option<PullFacts> {
        Some(PullFacts {
            number: 4,
            url: "u".into(),
            state: if merged { "closed" } else { "open" }.into(),
            merged,
            merged_at: merged.then_some(1),
            head: "migrate/aws-oidc".into(),
            files: vec![".github/workflows/deploy.yml".into()],
        })
    }

    fn run(path: &str, created_at: &str) -> crate::github::WorkflowRun {
        crate::github::WorkflowRun {
            path: path.into(),
            url: "https://github.example/run".into(),
            created_at: created_at.into(),
            head_sha: "abc".into(),
        }
    }

    #[test]
    fn states_follow_the_campaign() {
        let mut o = Observed {
            outcome: "scanned".into(),
            findings: 2,
            old_secrets_present: 2,
            old_secrets_known: 2,
            ..Observed::default()
        };
        assert_eq!(derive(&o), RepoState::Findings);
        o.roles = vec!["arn".into()];
        assert_eq!(derive(&o), RepoState::RoleReady);
        o.pull = pull(false);
        assert_eq!(derive(&o), RepoState::PrOpen);
        assert_eq!(next_step(RepoState::PrOpen, &o), "review and merge PR #4");
        o.pull = pull(true);
        o.findings = 0;
        assert_eq!(derive(&o), RepoState::PrMerged);
        let runs = [
            run(".github/workflows/other.yml", "1970-01-01T00:00:09Z"),
            run(".github/workflows/deploy.yml", "1970-01-01T00:00:00Z"),
        ];
        // Neither a workflow the PR left alone nor a run before the merge verifies it.
        assert_eq!(
            verifying_run("acme/api", o.pull.as_ref().unwrap(), 1, &runs),
            None
        );
        let runs = [run(".github/workflows/deploy.yml", "1970-01-01T00:00:05Z")];
        o.verified = verifying_run("acme/api", o.pull.as_ref().unwrap(), 1, &runs);
        assert_eq!(o.verified.as_ref().unwrap().run_at, 5);
        assert_eq!(derive(&o), RepoState::Verified);
        o.key_statuses = vec![KeyStatus::Active];
        assert_eq!(derive(&o), RepoState::Verified);
        assert_eq!(next_step(RepoState::Verified, &o), "migrate cleanup");
        o.key_statuses = vec![KeyStatus::Inactive];
        assert_eq!(derive(&o), RepoState::KeysDeactivated);
        o.old_secrets_present = 0;
        assert_eq!(derive(&o), RepoState::SecretsDeleted);
        o.key_statuses = vec![KeyStatus::Missing];
        o.keys_deleted_by_campaign = true;
        assert_eq!(derive(&o), RepoState::KeysDeleted);
    }

    #[test]
    fn merged_with_references_says_so() {
        let o = Observed {
            outcome: "scanned".into(),
            references: vec!["AWS_SECRET_ACCESS_KEY".into()],
            pull: pull(true),
            ..Observed::default()
        };
        assert!(next_step(derive(&o), &o).contains("still references AWS_SECRET_ACCESS_KEY"));
    }
}
