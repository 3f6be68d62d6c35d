//! The cleanup plan: which IAM access keys to deactivate, which secrets to delete (or which
//! organization secret selections to leave), which keys to delete after the soak and which IAM
//! users to delete with them, from remote truth; and why each repository that is not ready is
//! refused and each user is kept. Pure.
//!
//! Rules, in order:
//! 1. A repository is a candidate only when its pull request on the campaign branch is merged,
//!    its default branch references none of the old secrets, and at least one IAM key is mapped
//!    to it.
//! 2. A key shared with another repository (by repo or by secret in the key map) is touched
//!    only when every repository it is mapped to is ready; otherwise all of them are refused.
//! 3. An active key used after the latest merge of the repositories it is mapped to is
//!    refused unless `--force-used-keys`: something still uses it.
//! 4. Order: deactivate keys (reversible) → delete secrets → delete keys (only with
//!    `--delete-keys`, once the soak since deactivation and since last use has passed).
//! 5. An organization secret still referenced by another repository is never deleted: with
//!    `selected` visibility this repository is removed from its selection, otherwise it stays.
//! 6. With `--delete-users`, an IAM user goes only when every access key it has is one this
//!    campaign deletes in this run or deleted before, and it holds no other credential (login
//!    profile, MFA device, SSH public key, signing certificate, service-specific credential).
//!    Its policies and groups are detached first (IAM refuses `DeleteUser` otherwise) and
//!    recorded, with its tags, so that `undo` can print the commands to recreate it.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use super::key_status::KeyStatus;
use super::state::PullFacts;
use super::time::{self, Seconds};
use crate::detect::aws_key_literal::mask_key_id;

pub mod execute;
mod users;

pub use users::{
    InlinePolicy, Tag, UserCandidate, UserFacts, UserRecord, UserStep, merge_records, plan_users,
    unfinished_records, user_keeps,
};

/// A repository or environment secret of the old setup.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct OldSecret {
    /// `repository` or `environment`.
    pub scope: String,
    /// Empty unless `scope` is `environment`.
    pub environment: String,
    pub name: String,
}

#[derive(Debug, Clone, Default)]
pub struct RepoFacts {
    /// `owner/repo`.
    pub repo: String,
    pub repo_id: Option<u64>,
    /// Scanned successfully this run.
    pub scanned: bool,
    pub pull: Option<PullFacts>,
    /// Secret names the default branch still references.
    pub references: Vec<String>,
    /// Old repository/environment secrets still present.
    pub old_secrets: Vec<OldSecret>,
    /// Organization secrets this repository referenced (now or in an earlier scan).
    pub org_secrets_used: Vec<String>,
    /// Mapped access key ids, each with where the mapping came from.
    pub keys: Vec<(String, String)>,
    /// A migrated workflow ran successfully on the default branch since the merge.
    pub verified: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrgSecretFacts {
    pub name: String,
    pub visibility: String,
    /// Repository names, for `selected`.
    pub selected: Option<Vec<String>>,
    /// Repository names whose default branch references it now.
    pub referenced_by: Vec<String>,
}

/// The secrets of every organization scanned whole this run, by organization login. Kept per
/// organization: two organizations' secrets of the same name are two different secrets.
pub type OrgSecrets = BTreeMap<String, Vec<OrgSecretFacts>>;

/// The organization that owns `repo` (`owner/name`) with its secrets, when it was scanned
/// whole (logins compare as GitHub does, without case).
pub fn org_of<'a>(orgs: &'a OrgSecrets, repo: &str) -> Option<(&'a str, &'a [OrgSecretFacts])> {
    secrets_of(orgs, repo.split_once('/').map_or(repo, |(owner, _)| owner))
}

/// Organization `org` with its secrets, when it was scanned whole.
pub fn secrets_of<'a>(orgs: &'a OrgSecrets, org: &str) -> Option<(&'a str, &'a [OrgSecretFacts])> {
    orgs.iter()
        .find(|(login, _)| login.eq_ignore_ascii_case(org))
        .map(|(login, secrets)| (login.as_str(), secrets.as_slice()))
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct KeyFacts {
    pub id: String,
    pub user: String,
    pub status: KeyStatus,
    pub last_used: Option<Seconds>,
    pub service: Option<String>,
    pub region: Option<String>,
    /// When this campaign deactivated it (from the journal).
    pub deactivated_at: Option<Seconds>,
    /// This campaign deleted it (from the journal).
    pub deleted_by_campaign: bool,
}

impl KeyFacts {
    /// `AKIA…WXYZ (user ci-api, last used 2026-11-20 s3 us-east-1)`.
    pub fn describe(&self) -> String {
        let used = match self.last_used {
            Some(at) => format!(
                "last used {} {} {}",
                time::format(at),
                self.service.as_deref().unwrap_or("N/A"),
                self.region.as_deref().unwrap_or("N/A")
            ),
            None => "never used".to_string(),
        };
        format!("{} (user {}, {used})", mask_key_id(&self.id), self.user)
    }
}

#[derive(Debug, Clone, Copy, Default)]
pub struct Options {
    pub force_used_keys: bool,
    /// `--delete-keys --soak`: the soak in seconds.
    pub delete_keys_after: Option<Seconds>,
    /// `--delete-users`: users whose keys are all gone become candidates.
    pub delete_users: bool,
    /// `--require-verified`: refuse merged repositories no successful run has verified yet.
    pub require_verified: bool,
    pub now: Seconds,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum SecretStep {
    DeleteRepoSecret {
        repo: String,
        name: String,
    },
    DeleteEnvSecret {
        repo: String,
        environment: String,
        name: String,
    },
    /// Take one repository out of a `selected` organization secret others still use.
    RemoveFromOrgSecret {
        org: String,
        name: String,
        repo: String,
        repo_id: u64,
    },
    DeleteOrgSecret {
        org: String,
        name: String,
    },
}

impl SecretStep {
    pub fn repo(&self) -> String {
        match self {
            Self::DeleteRepoSecret { repo, .. }
            | Self::DeleteEnvSecret { repo, .. }
            | Self::RemoveFromOrgSecret { repo, .. } => repo.clone(),
            Self::DeleteOrgSecret { org, .. } => org.clone(),
        }
    }

    /// The organization (or user) that owns what this step changes: its connection writes.
    pub fn owner(&self) -> &str {
        match self {
            Self::DeleteRepoSecret { repo, .. }
            | Self::DeleteEnvSecret { repo, .. }
            | Self::RemoveFromOrgSecret { repo, .. } => repo
                .split_once('/')
                .map_or(repo.as_str(), |(owner, _)| owner),
            Self::DeleteOrgSecret { org, .. } => org,
        }
    }

    /// The journal target: `repository:NAME`, `environment:ENV:NAME`, `org:ORG:NAME`.
    pub fn target(&self) -> String {
        match self {
            Self::DeleteRepoSecret { name, .. } => format!("repository:{name}"),
            Self::DeleteEnvSecret {
                environment, name, ..
            } => format!("environment:{environment}:{name}"),
            Self::RemoveFromOrgSecret { org, name, .. } | Self::DeleteOrgSecret { org, name } => {
                format!("org:{org}:{name}")
            }
        }
    }

    pub fn action(&self) -> super::journal::JournalAction {
        use super::journal::JournalAction;
        match self {
            Self::RemoveFromOrgSecret { .. } => JournalAction::RemoveFromOrgSecret,
            Self::DeleteOrgSecret { .. } => JournalAction::DeleteOrgSecret,
            _ => JournalAction::DeleteSecret,
        }
    }

    pub fn describe(&self) -> String {
        match self {
            Self::DeleteRepoSecret { repo, name } => {
                format!("delete repository secret {name} of {repo}")
            }
            Self::DeleteEnvSecret {
                repo,
                environment,
                name,
            } => format!("delete environment secret {name} of {repo} (environment {environment})"),
            Self::RemoveFromOrgSecret {
                org, name, repo, ..
            } => format!(
                "remove {repo} from organization secret {org}/{name} (other repositories still use it)"
            ),
            Self::DeleteOrgSecret { org, name } => {
                format!("delete organization secret {org}/{name} (no repository uses it)")
            }
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct KeyStep {
    pub key: KeyFacts,
    pub repos: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Refusal {
    pub repo: String,
    pub reasons: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Plan {
    pub ready: Vec<String>,
    pub refused: Vec<Refusal>,
    pub deactivate: Vec<KeyStep>,
    pub secrets: Vec<SecretStep>,
    pub delete_keys: Vec<KeyStep>,
    /// With `--delete-users`: users whose every campaign key is deleted in this run or was
    /// before, to be decided by [`plan_users`] from what IAM holds for them.
    pub user_candidates: Vec<UserCandidate>,
    pub delete_users: Vec<UserStep>,
    /// What is left in place and why (soak not over, shared org secret...).
    pub notes: Vec<String>,
}

impl Plan {
    pub fn is_empty(&self) -> bool {
        self.deactivate.is_empty()
            && self.secrets.is_empty()
            && self.delete_keys.is_empty()
            && self.delete_users.is_empty()
    }
}

/// Plans a cleanup. `orgs` holds the organizations scanned whole, with their secrets (needed
/// to know every repository that can see an organization secret).
pub fn plan(
    repos: &[RepoFacts],
    orgs: &OrgSecrets,
    keys: &BTreeMap<String, KeyFacts>,
    options: Options,
) -> Plan {
    let mut reasons: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let involved: Vec<&RepoFacts> = repos
        .iter()
        .filter(|r| r.pull.is_some() || !r.keys.is_empty() || !r.old_secrets.is_empty())
        .collect();
    let short = |repo: &str| repo.rsplit('/').next().unwrap_or(repo).to_string();

    // Rule 1: each repository on its own.
    for r in &involved {
        let mut why = Vec::new();
        if !r.scanned {
            why.push("could not be scanned this run".to_string());
        }
        match &r.pull {
            None => why.push(format!("no pull request on branch {}", super::BRANCH)),
            Some(p) if !p.merged => why.push(format!("PR #{} is not merged", p.number)),
            Some(_) if options.require_verified && !r.verified => why.push(
                "not verified: no migrated workflow has run successfully since the merge (--require-verified)"
                    .into(),
            ),
            Some(_) => {}
        }
        if !r.references.is_empty() {
            why.push(format!(
                "default branch still references {}",
                r.references.join(", ")
            ));
        }
        if r.keys.is_empty() {
            why.push("no IAM key mapped: add the repository or its secrets to --key-map".into());
        }
        for name in &r.org_secrets_used {
            match org_of(orgs, &r.repo) {
                None => why.push(format!(
                    "uses organization secret {name}: run with --org so every repository that can see it is checked"
                )),
                Some((_, secrets)) => {
                    let Some(secret) = secrets.iter().find(|s| &s.name == name) else {
                        continue;
                    };
                    let others: Vec<&String> = secret
                        .referenced_by
                        .iter()
                        .filter(|o| **o != short(&r.repo))
                        .collect();
                    if !others.is_empty() && secret.visibility != "selected" {
                        why.push(format!(
                            "organization secret {name} (visibility {}) is still used by {}",
                            secret.visibility,
                            join(&others)
                        ));
                    }
                }
            }
        }
        reasons.insert(r.repo.clone(), why);
    }

    // Rules 2 and 3, until nothing more is refused: refusing one repository can refuse the
    // repositories it shares a key with.
    let mut key_repos: BTreeMap<&str, Vec<(&str, &str)>> = BTreeMap::new();
    for r in &involved {
        for (key, source) in &r.keys {
            key_repos
                .entry(key.as_str())
                .or_default()
                .push((r.repo.as_str(), source.as_str()));
        }
    }
    loop {
        let mut changed = false;
        for (key, linked) in &key_repos {
            let blocked: Vec<String> = linked
                .iter()
                .filter(|(repo, _)| reasons.get(*repo).is_some_and(|w| !w.is_empty()))
                .map(|(repo, source)| format!("{repo} ({source})"))
                .collect();
            let facts = keys.get(*key);
            let latest_merge = linked
                .iter()
                .filter_map(|(repo, _)| {
                    involved
                        .iter()
                        .find(|r| r.repo == *repo)
                        .and_then(|r| r.pull.as_ref())
                        .and_then(|p| p.merged_at)
                })
                .max();
            let used_after_merge = facts.is_some_and(|k| {
                k.status.is_active()
                    && matches!((k.last_used, latest_merge), (Some(used), Some(merged)) if used > merged)
            });
            for (repo, _) in linked {
                let why = reasons.entry(repo.to_string()).or_default();
                let shown = facts.map_or_else(|| mask_key_id(key), KeyFacts::describe);
                let others: Vec<&String> = blocked
                    .iter()
                    .filter(|b| !b.starts_with(&format!("{repo} (")))
                    .collect();
                if why.is_empty() && !others.is_empty() {
                    why.push(format!(
                        "key {shown} is also mapped to {}, which is not ready",
                        join(&others)
                    ));
                    changed = true;
                }
                if why.is_empty() && used_after_merge && !options.force_used_keys {
                    why.push(format!(
                        "key {shown} was used after the PR merged ({}): something still uses it (--force-used-keys to override)",
                        latest_merge.map(time::format).unwrap_or_default()
                    ));
                    changed = true;
                }
            }
        }
        if !changed {
            break;
        }
    }

    let mut out = Plan::default();
    for r in &involved {
        let why = reasons.remove(&r.repo).unwrap_or_default();
        if why.is_empty() {
            out.ready.push(r.repo.clone());
        } else {
            out.refused.push(Refusal {
                repo: r.repo.clone(),
                reasons: why,
            });
        }
    }
    let ready: BTreeSet<&str> = out.ready.iter().map(String::as_str).collect();

    // Keys.
    let mut seen = BTreeSet::new();
    for (key, linked) in &key_repos {
        if !linked.iter().all(|(repo, _)| ready.contains(repo)) || !seen.insert(*key) {
            continue;
        }
        let repos: Vec<String> = linked.iter().map(|(r, _)| r.to_string()).collect();
        let Some(facts) = keys.get(*key) else {
            out.notes.push(format!(
                "key {} not found in IAM: nothing to do",
                mask_key_id(key)
            ));
            continue;
        };
        match facts.status {
            KeyStatus::Active => out.deactivate.push(KeyStep {
                key: facts.clone(),
                repos: repos.clone(),
            }),
            KeyStatus::Missing => out
                .notes
                .push(format!("key {} no longer exists in IAM", mask_key_id(key))),
            _ => {}
        }
        let mut removed = facts.status == KeyStatus::Missing && facts.deleted_by_campaign;
        if let Some(soak) = options.delete_keys_after {
            match soak_over(facts, soak, options.now) {
                Ok(()) => {
                    removed = true;
                    out.delete_keys.push(KeyStep {
                        key: facts.clone(),
                        repos: repos.clone(),
                    });
                }
                Err(why) if facts.status != KeyStatus::Missing => out
                    .notes
                    .push(format!("key {} kept: {why}", facts.describe())),
                Err(_) => {}
            }
        }
        if options.delete_users && removed && !facts.user.is_empty() {
            match out
                .user_candidates
                .iter_mut()
                .find(|c| c.user == facts.user)
            {
                Some(c) => {
                    c.keys.push(facts.id.clone());
                    for r in repos {
                        if !c.repos.contains(&r) {
                            c.repos.push(r);
                        }
                    }
                }
                None => out.user_candidates.push(UserCandidate {
                    user: facts.user.clone(),
                    keys: vec![facts.id.clone()],
                    repos,
                }),
            }
        }
    }

    // Secrets.
    let mut org_steps = BTreeSet::new();
    for r in involved.iter().filter(|r| ready.contains(r.repo.as_str())) {
        for s in &r.old_secrets {
            out.secrets.push(if s.scope == "environment" {
                SecretStep::DeleteEnvSecret {
                    repo: r.repo.clone(),
                    environment: s.environment.clone(),
                    name: s.name.clone(),
                }
            } else {
                SecretStep::DeleteRepoSecret {
                    repo: r.repo.clone(),
                    name: s.name.clone(),
                }
            });
        }
        let Some((org_name, secrets)) = org_of(orgs, &r.repo) else {
            continue;
        };
        for name in &r.org_secrets_used {
            let Some(secret) = secrets.iter().find(|s| &s.name == name) else {
                continue;
            };
            let me = short(&r.repo);
            let others_use = secret.referenced_by.iter().any(|o| *o != me);
            let selected = secret.selected.as_deref().unwrap_or_default();
            if !others_use {
                org_steps.insert(SecretStep::DeleteOrgSecret {
                    org: org_name.to_string(),
                    name: name.clone(),
                });
            } else if secret.visibility == "selected" && selected.contains(&me) {
                match r.repo_id {
                    Some(repo_id) => {
                        org_steps.insert(SecretStep::RemoveFromOrgSecret {
                            org: org_name.to_string(),
                            name: name.clone(),
                            repo: r.repo.clone(),
                            repo_id,
                        });
                    }
                    None => out.notes.push(format!(
                        "{}: repository id unknown, cannot remove it from organization secret {name}",
                        r.repo
                    )),
                }
            }
        }
    }
    // An org secret being deleted needs no selection edits.
    let deleted: BTreeSet<(String, String)> = org_steps
        .iter()
        .filter_map(|s| match s {
            SecretStep::DeleteOrgSecret { org, name } => Some((org.clone(), name.clone())),
            _ => None,
        })
        .collect();
    out.secrets.extend(org_steps.into_iter().filter(|s| {
        !matches!(s, SecretStep::RemoveFromOrgSecret { org, name, .. }
            if deleted.contains(&(org.clone(), name.clone())))
    }));
    // Keys about to go for a migration no run has proven yet: worth a second look.
    for r in involved.iter().filter(|r| !r.verified) {
        if out.deactivate.iter().any(|k| k.repos.contains(&r.repo)) {
            out.notes.push(format!(
                "{}: not verified yet (no migrated workflow has run successfully since the merge); --require-verified waits for one",
                r.repo
            ));
        }
    }
    out
}

/// Why a key is not deleted in this run (`key ... kept: {reason}` in the plan's notes).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
enum KeyKept {
    #[error("already deleted")]
    AlreadyDeleted,
    #[error("deactivated by this run; delete it after the soak")]
    DeactivatedNow,
    #[error("deactivation time unknown (not deactivated by this campaign's ledger)")]
    DeactivationUnknown,
    #[error(
        "soak not over: deactivated {}, soak ends {}",
        time::format(*.deactivated),
        time::format(*.soak_ends)
    )]
    SoakNotOver {
        deactivated: Seconds,
        soak_ends: Seconds,
    },
    #[error("used at {} after its deactivation", time::format(*.used))]
    UsedAfterDeactivation { used: Seconds },
    #[error("last used {}, less than the soak ago", time::format(*.used))]
    UsedWithinSoak { used: Seconds },
}

/// Whether a deactivated key has soaked long enough to delete.
fn soak_over(key: &KeyFacts, soak: Seconds, now: Seconds) -> Result<(), KeyKept> {
    if key.status == KeyStatus::Missing {
        return Err(KeyKept::AlreadyDeleted);
    }
    if key.status.is_active() {
        return Err(KeyKept::DeactivatedNow);
    }
    let Some(off) = key.deactivated_at else {
        return Err(KeyKept::DeactivationUnknown);
    };
    if now - off < soak {
        return Err(KeyKept::SoakNotOver {
            deactivated: off,
            soak_ends: off + soak,
        });
    }
    if let Some(used) = key.last_used {
        if used > off {
            return Err(KeyKept::UsedAfterDeactivation { used });
        }
        if now - used < soak {
            return Err(KeyKept::UsedWithinSoak { used });
        }
    }
    Ok(())
}

/// `1 access key`, `2 access keys`, `2 managed policies`.
pub fn plural(n: usize, what: &str) -> String {
    let consonant_y = what.ends_with('y') && !what.ends_with("ey") && !what.ends_with("ay");
    match (n, what.strip_suffix('y')) {
        (1, _) => format!("1 {what}"),
        (_, Some(stem)) if consonant_y => format!("{n} {stem}ies"),
        _ => format!("{n} {what}s"),
    }
}

fn join(items: &[&String]) -> String {
    items
        .iter()
        .map(|s| s.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    const MERGED: Seconds = 1_000_000;

    fn merged_pull() -> Option<PullFacts> {
        Some(PullFacts {
            number: 1,
            url: "u".into(),
            state: "closed".into(),
            merged: true,
            merged_at: Some(MERGED),
            head: super::super::BRANCH.into(),
            files: Vec::new(),
        })
    }

    fn repo(name: &str, key: &str) -> RepoFacts {
        RepoFacts {
            repo: format!("acme/{name}"),
            repo_id: Some(7),
            scanned: true,
            pull: merged_pull(),
            references: vec![],
            old_secrets: vec![OldSecret {
                scope: "repository".into(),
                environment: String::new(),
                name: "AWS_ACCESS_KEY_ID".into(),
            }],
            org_secrets_used: vec![],
            keys: vec![(key.into(), "key map".into())],
            verified: true,
        }
    }

    fn key(id: &str, last_used: Option<Seconds>) -> (String, KeyFacts) {
        (
            id.into(),
            KeyFacts {
                id: id.into(),
                user: "ci".into(),
                status: KeyStatus::Active,
                last_used,
                service: Some("s3".into()),
                region: Some("us-east-1".into()),
                deactivated_at: None,
                deleted_by_campaign: false,
            },
        )
    }

    const K1: &str = "AKIAAAAAAAAAAAAAAAA1";
    const K2: &str = "AKIAAAAAAAAAAAAAAAA2";

    #[test]
    fn merged_and_clean_is_planned_in_order() {
        let keys = BTreeMap::from([key(K1, Some(MERGED - 10))]);
        let p = plan(
            &[repo("api", K1)],
            &OrgSecrets::new(),
            &keys,
            Options::default(),
        );
        assert_eq!(p.ready, vec!["acme/api"]);
        assert_eq!(p.deactivate.len(), 1);
        assert_eq!(
            p.secrets,
            vec![SecretStep::DeleteRepoSecret {
                repo: "acme/api".into(),
                name: "AWS_ACCESS_KEY_ID".into()
            }]
        );
        assert!(p.delete_keys.is_empty());
    }

    #[test]
    fn refusals() {
        let keys = BTreeMap::from([key(K1, None), key(K2, Some(MERGED + 5))]);
        let mut unmerged = repo("api", K1);
        unmerged.pull.as_mut().unwrap().merged = false;
        let mut referenced = repo("web", K1);
        referenced.references = vec!["AWS_ACCESS_KEY_ID".into()];
        let used = repo("etl", K2);
        let p = plan(
            &[unmerged, referenced, used.clone()],
            &OrgSecrets::new(),
            &keys,
            Options::default(),
        );
        assert!(p.ready.is_empty() && p.is_empty());
        let why = |r: &str| {
            p.refused
                .iter()
                .find(|x| x.repo == r)
                .unwrap()
                .reasons
                .join("; ")
        };
        assert!(why("acme/api").contains("PR #1 is not merged"));
        assert!(why("acme/web").contains("still references AWS_ACCESS_KEY_ID"));
        assert!(why("acme/etl").contains("used after the PR merged"));
        assert!(why("acme/etl").contains("AKIA…AAA2"));
        let forced = plan(
            &[used],
            &OrgSecrets::new(),
            &keys,
            Options {
                force_used_keys: true,
                ..Options::default()
            },
        );
        assert_eq!(forced.ready, vec!["acme/etl"]);
    }

    #[test]
    fn shared_key_waits_for_every_repo() {
        let keys = BTreeMap::from([key(K1, None)]);
        let mut web = repo("web", K1);
        web.pull.as_mut().unwrap().merged = false;
        let p = plan(
            &[repo("api", K1), web],
            &OrgSecrets::new(),
            &keys,
            Options::default(),
        );
        assert!(p.ready.is_empty());
        assert!(p.refused[0].reasons[0].contains("also mapped to acme/web"));
    }

    #[test]
    fn org_secrets_removed_from_selection_or_deleted() {
        let keys = BTreeMap::from([key(K1, None)]);
        let mut api = repo("api", K1);
        api.org_secrets_used = vec!["SHARED".into(), "ONLY_API".into(), "ALL".into()];
        let secrets = vec![
            OrgSecretFacts {
                name: "SHARED".into(),
                visibility: "selected".into(),
                selected: Some(vec!["api".into(), "web".into()]),
                referenced_by: vec!["web".into()],
            },
            OrgSecretFacts {
                name: "ONLY_API".into(),
                visibility: "selected".into(),
                selected: Some(vec!["api".into()]),
                referenced_by: vec![],
            },
            OrgSecretFacts {
                name: "ALL".into(),
                visibility: "all".into(),
                selected: None,
                referenced_by: vec!["web".into()],
            },
        ];
        let p = plan(
            &[api.clone()],
            &OrgSecrets::from([("acme".to_string(), secrets.clone())]),
            &keys,
            Options::default(),
        );
        // `ALL` is visible to everyone and still used by web: refuse.
        assert!(p.refused[0].reasons[0].contains("ALL (visibility all) is still used by web"));
        api.org_secrets_used.pop();
        let p = plan(
            &[api.clone()],
            &OrgSecrets::from([("acme".to_string(), secrets.clone())]),
            &keys,
            Options::default(),
        );
        assert!(p.secrets.contains(&SecretStep::RemoveFromOrgSecret {
            org: "acme".into(),
            name: "SHARED".into(),
            repo: "acme/api".into(),
            repo_id: 7
        }));
        assert!(p.secrets.contains(&SecretStep::DeleteOrgSecret {
            org: "acme".into(),
            name: "ONLY_API".into()
        }));
        let p = plan(&[api], &OrgSecrets::new(), &keys, Options::default());
        assert!(p.refused[0].reasons[0].contains("run with --org"));
    }

    #[test]
    fn same_named_secrets_of_two_organizations_are_two_secrets() {
        let keys = BTreeMap::from([key(K1, None), key(K2, None)]);
        let mut api = repo("api", K1);
        api.org_secrets_used = vec!["DEPLOY_KEY".into()];
        let mut other = repo("api", K2);
        other.repo = "globex/api".into();
        other.org_secrets_used = vec!["DEPLOY_KEY".into()];
        let secret = |referenced_by: &[&str]| OrgSecretFacts {
            name: "DEPLOY_KEY".into(),
            visibility: "all".into(),
            selected: None,
            referenced_by: referenced_by.iter().map(|r| r.to_string()).collect(),
        };
        // acme's DEPLOY_KEY is still used by acme/web; globex's only by globex/api.
        let orgs = OrgSecrets::from([
            ("acme".to_string(), vec![secret(&["web"])]),
            ("globex".to_string(), vec![secret(&[])]),
        ]);
        let p = plan(&[api, other], &orgs, &keys, Options::default());
        assert_eq!(p.ready, vec!["globex/api"]);
        assert!(
            p.refused[0].reasons[0].contains("DEPLOY_KEY (visibility all) is still used by web")
        );
        assert_eq!(
            p.secrets
                .iter()
                .filter(|s| matches!(s, SecretStep::DeleteOrgSecret { .. }))
                .collect::<Vec<_>>(),
            [&SecretStep::DeleteOrgSecret {
                org: "globex".into(),
                name: "DEPLOY_KEY".into()
            }]
        );
        // An organization not scanned whole: its repository is refused, the other goes on.
        let only_acme = OrgSecrets::from([("Acme".to_string(), vec![secret(&[])])]);
        let mut third = repo("api", K2);
        third.repo = "globex/api".into();
        third.org_secrets_used = vec!["DEPLOY_KEY".into()];
        let p = plan(&[third], &only_acme, &keys, Options::default());
        assert!(p.refused[0].reasons[0].contains("run with --org"));
    }

    #[test]
    fn keys_deleted_only_after_the_soak() {
        let (_, mut k) = key(K1, Some(MERGED - 100));
        k.status = KeyStatus::Inactive;
        k.deactivated_at = Some(MERGED + 10);
        let keys = BTreeMap::from([(K1.to_string(), k)]);
        let soak = 7 * 86_400;
        let early = Options {
            delete_keys_after: Some(soak),
            now: MERGED + 20,
            ..Options::default()
        };
        let p = plan(&[repo("api", K1)], &OrgSecrets::new(), &keys, early);
        assert!(p.delete_keys.is_empty());
        assert!(p.notes[0].contains("soak not over"));
        let late = Options {
            now: MERGED + 10 + soak,
            ..early
        };
        let p = plan(&[repo("api", K1)], &OrgSecrets::new(), &keys, late);
        assert_eq!(p.delete_keys.len(), 1);
        assert!(p.deactivate.is_empty());
    }

    fn user_facts(user: &str, keys: &[&str]) -> UserFacts {
        UserFacts {
            record: UserRecord {
                user: user.into(),
                path: "/".into(),
                managed_policies: vec!["arn:aws:iam::123456789012:policy/deploy".into()],
                inline_policies: vec![InlinePolicy {
                    name: "s3".into(),
                    document: "{}".into(),
                }],
                groups: vec!["ci".into()],
                ..UserRecord::default()
            },
            access_keys: keys.iter().map(|k| k.to_string()).collect(),
            ..UserFacts::default()
        }
    }

    /// K1 of user `ci`, deactivated long ago: deleted in this run with `--delete-users`.
    fn soaked(delete_users: bool) -> (BTreeMap<String, KeyFacts>, Options) {
        let (_, mut k) = key(K1, None);
        k.status = KeyStatus::Inactive;
        k.deactivated_at = Some(MERGED);
        let options = Options {
            delete_keys_after: Some(60),
            delete_users,
            now: MERGED + 3600,
            ..Options::default()
        };
        (BTreeMap::from([(K1.to_string(), k)]), options)
    }

    #[test]
    fn users_are_candidates_only_with_delete_users() {
        let (keys, options) = soaked(false);
        let p = plan(&[repo("api", K1)], &OrgSecrets::new(), &keys, options);
        assert_eq!(p.delete_keys.len(), 1);
        assert!(p.user_candidates.is_empty());
        let (keys, options) = soaked(true);
        let p = plan(&[repo("api", K1)], &OrgSecrets::new(), &keys, options);
        assert_eq!(
            p.user_candidates,
            vec![UserCandidate {
                user: "ci".into(),
                keys: vec![K1.into()],
                repos: vec!["acme/api".into()],
            }]
        );
        // A key deleted by an earlier run still makes its user a candidate (a run killed
        // between the two deletions resumes); one deleted by someone else does not.
        let (mut keys, options) = soaked(true);
        let k = keys.get_mut(K1).unwrap();
        k.status = KeyStatus::Missing;
        k.deleted_by_campaign = true;
        let p = plan(&[repo("api", K1)], &OrgSecrets::new(), &keys, options);
        assert!(p.delete_keys.is_empty());
        assert_eq!(p.user_candidates.len(), 1);
        keys.get_mut(K1).unwrap().deleted_by_campaign = false;
        let p = plan(&[repo("api", K1)], &OrgSecrets::new(), &keys, options);
        assert!(p.user_candidates.is_empty());
        // A refused repository keeps its key, and so its user.
        let (keys, options) = soaked(true);
        let mut unmerged = repo("api", K1);
        unmerged.pull.as_mut().unwrap().merged = false;
        assert!(
            plan(&[unmerged], &OrgSecrets::new(), &keys, options)
                .user_candidates
                .is_empty()
        );
    }

    #[test]
    fn a_user_goes_only_with_nothing_left() {
        let (keys, options) = soaked(true);
        let base = plan(&[repo("api", K1)], &OrgSecrets::new(), &keys, options);
        let decide = |facts: UserFacts| {
            let mut p = base.clone();
            let users = BTreeMap::from([("ci".to_string(), Ok(Some(facts)))]);
            plan_users(&mut p, &users, &keys);
            p
        };
        let p = decide(user_facts("ci", &[K1]));
        assert_eq!(p.delete_users.len(), 1, "{:?}", p.notes);
        assert_eq!(p.delete_users[0].repos, vec!["acme/api"]);
        assert!(!p.is_empty());
        let shown = p.delete_users[0].describe();
        assert!(shown.contains("delete IAM user ci [acme/api] (irreversible)"));
        assert!(shown.contains("detach managed policy arn:aws:iam::123456789012:policy/deploy"));
        assert!(shown.contains("delete inline policy s3"));
        assert!(shown.contains("remove from group ci"));

        let mut kept = user_facts("ci", &[K1, "AKIAOTHERKEY00000009"]);
        kept.login_profile = true;
        let p = decide(kept);
        assert!(p.delete_users.is_empty());
        assert!(
            p.notes
                .contains(&"user ci keeps: login profile, 1 access key not in the campaign".into()),
            "{:?}",
            p.notes
        );
        let mut kept = user_facts("ci", &[K1]);
        kept.mfa_devices = 2;
        kept.ssh_public_keys = 1;
        kept.signing_certificates = 1;
        kept.service_credentials = 3;
        let p = decide(kept);
        assert!(p.notes.iter().any(|n| n
            == "user ci keeps: 2 MFA devices, 1 SSH public key, 1 signing certificate, 3 service-specific credentials"));

        // A second campaign key whose repository is not ready: named, masked.
        let (mut keys, options) = soaked(true);
        keys.insert(K2.into(), key(K2, None).1);
        let mut web = repo("web", K2);
        web.pull.as_mut().unwrap().merged = false;
        let mut p = plan(&[repo("api", K1), web], &OrgSecrets::new(), &keys, options);
        let users = BTreeMap::from([("ci".to_string(), Ok(Some(user_facts("ci", &[K1, K2]))))]);
        plan_users(&mut p, &users, &keys);
        assert!(p.delete_users.is_empty());
        assert!(
            p.notes.iter().any(|n| n
                == "user ci keeps: access key AKIA…AAA2 (in the campaign, not deleted in this run)"),
            "{:?}",
            p.notes
        );

        // Unreadable or gone: kept, or nothing to do.
        let mut p = base.clone();
        let denied = crate::iam::IamError::Denied {
            action: "GetUser".into(),
            subject: "ci".into(),
        };
        plan_users(
            &mut p,
            &BTreeMap::from([("ci".to_string(), Err(denied))]),
            &keys,
        );
        assert!(p.delete_users.is_empty());
        assert!(p.notes.iter().any(|n| {
            n.starts_with("user ci keeps: could not be read: iam:GetUser on ci was denied")
        }));
        let mut p = base;
        plan_users(
            &mut p,
            &BTreeMap::from([("ci".to_string(), Ok(None))]),
            &keys,
        );
        assert!(p.delete_users.is_empty());
        assert!(
            p.notes
                .iter()
                .any(|n| n == "user ci no longer exists in IAM")
        );
    }

    #[test]
    fn records_keep_what_unfinished_attempts_detached() {
        let earlier = user_facts("ci", &[]).record;
        let mut fresh = earlier.clone();
        // The killed attempt detached the policy and left the group already.
        fresh.managed_policies.clear();
        fresh.groups.clear();
        fresh.inline_policies.push(InlinePolicy {
            name: "new".into(),
            document: "{}".into(),
        });
        let merged = merge_records(fresh, std::slice::from_ref(&earlier));
        assert_eq!(merged.managed_policies, earlier.managed_policies);
        assert_eq!(merged.groups, vec!["ci"]);
        let names: Vec<&str> = merged
            .inline_policies
            .iter()
            .map(|p| p.name.as_str())
            .collect();
        assert_eq!(names, vec!["s3", "new"]);
        let entry = |id: i64, result: &str, record: &UserRecord| super::super::JournalEntry {
            id: super::super::JournalId(id),
            repo: "acme/api".into(),
            action: super::super::JournalAction::DeleteUser,
            target: "ci".into(),
            detail: serde_json::to_value(record).unwrap_or_default(),
            started_at: 0,
            finished_at: Some(0),
            result: super::super::JournalState::parse(result),
            error: None,
        };
        let old = UserRecord {
            user: "ci".into(),
            groups: vec!["old".into()],
            ..UserRecord::default()
        };
        let journal = vec![
            entry(1, "done", &old),
            entry(2, "not-done", &earlier),
            entry(3, "failed", &earlier),
        ];
        // Attempts since the last deletion that took effect (the user was recreated since).
        assert_eq!(
            unfinished_records(&journal, "ci"),
            vec![earlier.clone(), earlier]
        );
        assert!(unfinished_records(&journal, "other").is_empty());
        assert_eq!(plural(2, "managed policy"), "2 managed policies");
        assert_eq!(plural(2, "access key"), "2 access keys");
        assert_eq!(plural(1, "inline policy"), "1 inline policy");
    }
}
