//! Remote truth for a campaign (effects): the same GitHub scan as `scan --org/--repo` (every
//! secret inventoried, listings revalidated with ETags), the pull request on the campaign
//! branch, IAM key status and last use for the keys the key map names, the roles that serve
//! each repository ([`iam`]) and post-merge verification ([`runs`]). Records it all in the
//! ledger, settles journal entries a crash left pending ([`settle`]), and derives each
//! repository's state. `status` and `cleanup` start here; [`status`] reads what `status`
//! adds (failures, pre-flight), [`users`] the IAM users a cleanup plan may delete.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use super::cleanup::{KeyFacts, OldSecret, OrgSecretFacts, OrgSecrets, RepoFacts, org_of};
use super::journal::JournalAction;
use super::keymap::{KeyMap, KeyRef, Suggestion};
use super::ledger::{JournalEntry, JournalResult, KeyRow, Ledger, LedgerError, SecretRow};
use super::state::{self, Observed, PullFacts, RepoState};
use crate::budget::Estimate;
use crate::github::connections::Opened;
use crate::github::permissions::Task;
use crate::github::{ConditionalCache, Connections, GitHubError, Identity, Policy};
use crate::iam::IamError;
use crate::iam::keys::IamKeys;
use crate::scan::remote::{self, Filters, Target};

mod evidence;
pub mod failures;
mod iam;
pub mod preflight;
mod runs;
mod settle;
pub mod status;
pub mod users;

pub use evidence::{Proposal, propose_key_map};
use iam::{look_up, roles, suggestions};
use runs::verifications;
pub use settle::deactivated_at;
use settle::{is_key_action, resolve};

#[derive(Debug, thiserror::Error)]
pub enum CampaignError {
    #[error(transparent)]
    GitHub(#[from] GitHubError),
    #[error(transparent)]
    Ledger(#[from] LedgerError),
    #[error(transparent)]
    Iam(#[from] IamError),
    #[error(transparent)]
    KeyMap(#[from] super::keymap::KeyMapError),
    #[error(transparent)]
    CloudTrail(#[from] crate::cloudtrail::CloudTrailError),
    #[error(
        "no repositories to look at: pass --org ORG or --repo OWNER/REPO (the ledger has no target recorded yet)"
    )]
    NoTarget,
    #[error(
        "--no-aws leaves IAM alone, but the key map names IAM keys (or a key write is pending in the journal)\nhelp: drop --no-aws and provide AWS credentials"
    )]
    NeedsAws,
    /// No organization of the campaign could be read (the first one's reason).
    #[error("{0}")]
    Unread(String),
    /// Some owners could not be read (owner, why): cleanup refuses a partial picture.
    #[error(
        "{}\ncleanup acts only on a complete picture of the campaign (keys and secrets can be shared across organizations); nothing was changed\nhelp: fix the access named above and run again",
        unread_lines(.0)
    )]
    Incomplete(Vec<(String, String)>),
    #[error("cannot start the runtime: {0}")]
    Runtime(std::io::Error),
}

fn unread_lines(unread: &[(String, String)]) -> String {
    let lines: Vec<String> = unread
        .iter()
        .map(|(owner, why)| format!("{owner} could not be read: {why}"))
        .collect();
    lines.join("\n")
}

/// One repository as this run sees it.
#[derive(Debug, Clone)]
pub struct RepoView {
    pub facts: RepoFacts,
    pub observed: Observed,
    pub state: RepoState,
    pub next: String,
}

/// Everything a campaign command needs to decide.
#[derive(Debug, Default)]
pub struct Truth {
    pub repos: Vec<RepoView>,
    /// The organizations scanned whole this run, with their secrets.
    pub org_secrets: OrgSecrets,
    /// Organizations (or owners of `--repo`s) this run could not read, each with why: what
    /// the ledger holds of them is not current (cleanup refuses to act on a partial picture).
    pub unread: Vec<(String, String)>,
    pub keys: BTreeMap<String, KeyFacts>,
    /// Whether each IAM user a pending `delete_user` entry names still exists.
    pub users: BTreeMap<String, bool>,
    pub suggestions: Vec<Suggestion>,
    /// Per-repository problems (the run goes on).
    pub errors: Vec<String>,
    /// Things worth knowing that leave the run complete.
    pub notes: Vec<String>,
    /// Journal entries found pending and how they were resolved.
    pub resolved: Vec<(JournalEntry, JournalResult)>,
    /// GitHub requests this run made, and how many of them GitHub answered `304` (free).
    pub requests: u64,
    pub not_modified: u64,
    /// The pre-flight trust check of open pull requests (`status --preflight`), by repository.
    pub preflight: BTreeMap<String, Vec<crate::trust::preflight::Row>>,
    /// Failed runs of migrated workflows, explained, by repository.
    pub failures: BTreeMap<String, Vec<failures::Failure>>,
    /// Per repository, the workflow files whose jobs get static keys (`None`: any of its
    /// workflows may, through a reusable workflow or composite action that does): the runs an
    /// old key's calls can come from.
    pub key_workflows: BTreeMap<String, Option<BTreeSet<String>>>,
}

impl Truth {
    /// The organizations scanned whole this run.
    pub fn orgs(&self) -> Vec<&str> {
        self.org_secrets.keys().map(String::as_str).collect()
    }

    /// Refuses a picture some owners are missing from: keys and secrets can be shared across
    /// organizations, so cleanup acts on the whole campaign or not at all.
    pub fn require_complete(&self) -> Result<(), CampaignError> {
        if self.unread.is_empty() {
            Ok(())
        } else {
            Err(CampaignError::Incomplete(self.unread.clone()))
        }
    }
}

/// What a campaign covers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// Whole organizations: those named with `--org`, and every organization of the
    /// enterprise (listed again on each run, so that a new organization joins).
    Orgs {
        named: Vec<String>,
        enterprise: Option<String>,
    },
    /// These repositories (`owner/name`).
    Repos(Vec<String>),
}

impl Scope {
    /// The ledger's record of it.
    fn record(&self) -> serde_json::Value {
        match self {
            Scope::Orgs { named, enterprise } => {
                serde_json::json!({ "orgs": named, "enterprise": enterprise })
            }
            Scope::Repos(repos) => serde_json::json!({ "repos": repos }),
        }
    }

    /// Reads a record; `{"org": ...}` is how a single-organization campaign was recorded before
    /// campaigns could span organizations.
    fn from_record(recorded: &serde_json::Value) -> Option<Self> {
        let strings = |key: &str| -> Vec<String> {
            recorded[key]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|r| r.as_str().map(str::to_string))
                .collect()
        };
        if let Some(org) = recorded["org"].as_str() {
            return Some(Scope::Orgs {
                named: vec![org.to_string()],
                enterprise: None,
            });
        }
        let enterprise = recorded["enterprise"].as_str().map(str::to_string);
        let named = strings("orgs");
        if !named.is_empty() || enterprise.is_some() {
            return Some(Scope::Orgs { named, enterprise });
        }
        let repos = strings("repos");
        (!repos.is_empty()).then_some(Scope::Repos(repos))
    }
}

/// The scope recorded in the ledger, or the one given now (which is then recorded).
pub fn scope(
    ledger: &Ledger,
    orgs: &[String],
    enterprise: Option<&str>,
    repos: &[String],
) -> Result<Scope, CampaignError> {
    let given = if !orgs.is_empty() || enterprise.is_some() {
        Some(Scope::Orgs {
            named: orgs.to_vec(),
            enterprise: enterprise.map(str::to_string),
        })
    } else if !repos.is_empty() {
        Some(Scope::Repos(repos.to_vec()))
    } else {
        None
    };
    match given {
        Some(scope) => {
            ledger.set_meta("target", &scope.record().to_string())?;
            Ok(scope)
        }
        None => ledger
            .meta("target")?
            .and_then(|t| serde_json::from_str(&t).ok())
            .and_then(|recorded| Scope::from_record(&recorded))
            .ok_or(CampaignError::NoTarget),
    }
}

/// What one run reads: one target per organization, or the repositories grouped by owner, so
/// that each goes through its owner's connection.
pub fn targets(organizations: &[String], scope: &Scope) -> Vec<Target> {
    match scope {
        Scope::Orgs { .. } => organizations
            .iter()
            .map(|org| Target::Org(org.clone()))
            .collect(),
        Scope::Repos(repos) => {
            let mut by_owner: BTreeMap<String, Vec<String>> = BTreeMap::new();
            for repo in repos {
                let owner = repo
                    .split_once('/')
                    .map_or(repo.as_str(), |(owner, _)| owner);
                by_owner
                    .entry(owner.to_lowercase())
                    .or_default()
                    .push(repo.clone());
            }
            by_owner.into_values().map(Target::Repos).collect()
        }
    }
}

/// The owner whose connection reads `target`.
pub fn owner_of(target: &Target) -> &str {
    match target {
        Target::Org(org) => org,
        Target::Repos(repos) => repos
            .first()
            .and_then(|r| r.split_once('/'))
            .map_or("", |(owner, _)| owner),
    }
}

/// What a run reaches of GitHub for `scope`: one target per organization (an enterprise's
/// listed again on each run) or per owner of the repositories named, and a connection per
/// owner, checked against `task`; owners that cannot be reached are kept with why.
pub async fn reach(
    url: &str,
    policy: &Policy,
    identity: &Identity,
    scope: &Scope,
    task: Task,
) -> Result<(Vec<Target>, Opened), GitHubError> {
    let orgs = match scope {
        Scope::Orgs { named, enterprise } => {
            crate::fleet::organizations(url, policy, identity, enterprise.as_deref(), named).await?
        }
        Scope::Repos(_) => Vec::new(),
    };
    let targets = targets(&orgs, scope);
    let owners: Vec<String> = targets.iter().map(|t| owner_of(t).to_string()).collect();
    let opened = Connections::open(url, policy, identity, &owners, task).await?;
    Ok((targets, opened))
}

/// `--no-aws` leaves IAM alone: refused when the key map names IAM keys or a key write is
/// pending in the journal (only IAM can settle it).
pub fn allow_no_aws(ledger: &Ledger, keymap: &KeyMap) -> Result<(), CampaignError> {
    let key_work_pending = ledger
        .journal()?
        .iter()
        .any(|e| e.is_pending() && e.writes_iam());
    if !keymap.is_empty() || key_work_pending {
        return Err(CampaignError::NeedsAws);
    }
    Ok(())
}

/// The key map given now (recorded for later runs), or the one recorded earlier.
pub fn key_map(ledger: &Ledger, path: Option<&std::path::Path>) -> Result<KeyMap, CampaignError> {
    match path {
        Some(path) => {
            let map = KeyMap::load(path)?;
            let text = std::fs::read_to_string(path).unwrap_or_default();
            ledger.set_meta("key_map", &text)?;
            Ok(map)
        }
        None => Ok(ledger
            .meta("key_map")?
            .and_then(|text| KeyMap::parse(&text).ok())
            .unwrap_or_default()),
    }
}

/// Progress of a campaign's scan: silent but for the rate-budget estimate, which a run over
/// several targets announces once for all of them.
struct Quiet<'a> {
    announce: Option<&'a dyn Fn(&Estimate)>,
}

impl remote::Progress for Quiet<'_> {
    fn estimated(&self, estimate: &Estimate) {
        if let Some(announce) = self.announce {
            announce(estimate);
        }
    }

    fn discovered(&self, _: usize, _: usize, _: u64) {}
    fn finished(&self) {}
}

/// What one run reads, and through which connections.
pub struct Reach<'a> {
    pub connections: &'a Connections,
    /// One per organization, or the `--repo`s of one owner.
    pub targets: &'a [Target],
    /// Owners no connection could be opened to, with why.
    pub unreachable: &'a [(String, GitHubError)],
    /// Told the rate-budget estimate before a long run.
    pub announce: &'a dyn Fn(&Estimate),
}

/// Scans every target through its owner's connection, in parallel, into one result. A target
/// that cannot be read is recorded in `unread` and the others go on; when none can be read
/// (or the token was refused), the first failure is the run's.
async fn scan_targets(
    reach: &Reach<'_>,
    filters: &Filters,
    unread: &mut Vec<(String, String)>,
) -> Result<crate::fleet::FleetScan, CampaignError> {
    for (owner, e) in reach.unreachable {
        unread.push((owner.clone(), e.to_string()));
    }
    let several = reach.targets.len() > 1;
    if several {
        let orgs: Vec<(&String, &crate::github::GitHubReader)> = reach
            .targets
            .iter()
            .filter_map(|t| match t {
                Target::Org(org) => Some((org, reach.connections.for_owner(org).ok()?)),
                Target::Repos(_) => None,
            })
            .collect();
        if let Some(estimate) = crate::fleet::estimate_run(&orgs).await {
            (reach.announce)(&estimate);
        }
    }
    let progress = Quiet {
        announce: (!several).then_some(reach.announce),
    };
    let reachable: Vec<(&Target, &crate::github::GitHubReader)> = reach
        .targets
        .iter()
        .filter_map(|t| Some((t, reach.connections.for_owner(owner_of(t)).ok()?)))
        .collect();
    let runs = futures::future::join_all(
        reachable
            .iter()
            .map(|(target, reader)| remote::scan(reader, target, filters, &progress)),
    )
    .await;
    let mut parts = Vec::new();
    for ((target, _), run) in reachable.iter().zip(runs) {
        match run {
            Ok(part) => parts.push(part),
            Err(e @ (GitHubError::Unauthorized | GitHubError::AppRejected { .. })) => {
                return Err(e.into());
            }
            Err(e) if !several && reach.unreachable.is_empty() => return Err(e.into()),
            Err(e) => unread.push((owner_of(target).to_string(), e.to_string())),
        }
    }
    if parts.is_empty()
        && let Some((_, why)) = unread.first()
    {
        // Nothing could be read at all: that is the run's failure, not a row of it.
        return Err(CampaignError::Unread(why.clone()));
    }
    Ok(crate::fleet::merge(parts))
}

/// Gathers remote truth and records it. `iam` is needed as soon as keys are mapped or a key
/// write is pending in the journal.
pub async fn gather(
    reach: Reach<'_>,
    ledger: &Ledger,
    keymap: &KeyMap,
    iam: Option<&IamKeys>,
) -> Result<Truth, CampaignError> {
    // Everything gathered here is observation: thousands of small commits need not each wait
    // for the disk.
    let _observing = ledger.observing()?;
    let filters = Filters {
        all_secrets: true,
        skip_sub_templates: true,
        ..Filters::default()
    };
    // Replies kept from the last run: unchanged listings come back as free `304`s.
    let cache = Arc::new(ConditionalCache::new(ledger.http_cache()?));
    let connections = &reach.connections.with_cache(&cache);
    let reach = Reach {
        connections,
        ..reach
    };
    let mut truth = Truth::default();
    let fleet = scan_targets(&reach, &filters, &mut truth.unread).await?;
    let scan = fleet.scan;
    for (owner, why) in &truth.unread {
        truth.errors.push(format!("{owner}: not read: {why}"));
    }
    for e in &scan.report.errors {
        truth.errors.push(format!("{}: {}", e.path, e.message));
    }

    for file in &scan.report.files {
        let Some(repo) = &file.repository else {
            continue;
        };
        if file.findings.iter().all(|f| f.secrets.is_empty()) {
            continue;
        }
        let shared =
            file.kind == crate::workflow::FileKind::CompositeAction || file.triggers.workflow_call;
        let entry = truth
            .key_workflows
            .entry(repo.clone())
            .or_insert_with(|| Some(BTreeSet::new()));
        match (shared, entry.as_mut()) {
            (true, _) => *entry = None,
            (false, Some(paths)) => {
                paths.insert(file.path.clone());
            }
            (false, None) => {}
        }
    }

    // Every secret name each repository's default branch names, whatever the severity.
    let mut references: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for f in scan.report.findings() {
        if let Some(repo) = &f.repository {
            references
                .entry(repo.clone())
                .or_default()
                .extend(f.secrets.iter().cloned());
        }
    }

    // Discovery already read the campaign branch's pull requests (GraphQL): no REST call.
    let pulls: Vec<Result<Option<PullFacts>, GitHubError>> = scan
        .repositories
        .iter()
        .map(|r| Ok(best_pull(&r.campaign_pulls)))
        .collect();

    // Each organization's secrets stay its own: two organizations' secrets of one name are
    // two secrets.
    truth.org_secrets = fleet
        .organizations
        .iter()
        .map(|o| {
            let secrets = o
                .secrets
                .iter()
                .map(|s| OrgSecretFacts {
                    name: s.name.clone(),
                    visibility: s.visibility.clone(),
                    selected: s.selected_repositories.clone(),
                    referenced_by: s.referenced_by.clone(),
                })
                .collect();
            (o.login.clone(), secrets)
        })
        .collect();

    let mut repos = Vec::new();
    for (record, pull) in scan.repositories.iter().zip(pulls) {
        let slug = record.repository.clone();
        let short = slug.rsplit('/').next().unwrap_or(&slug).to_string();
        let refs: Vec<String> = references
            .get(&slug)
            .map(|s| s.iter().cloned().collect())
            .unwrap_or_default();
        let secrets_failed = scan
            .report
            .errors
            .iter()
            .any(|e| e.path == slug && e.message.starts_with("secrets:"));
        let mut scanned = record.outcome == "scanned" && !secrets_failed;
        let pull = match pull {
            Ok(p) => p,
            Err(e) => {
                truth
                    .errors
                    .push(format!("{slug}: pull request lookup: {e}"));
                scanned = false;
                None
            }
        };
        ledger.record_scan(
            &slug,
            record.id,
            record.default_branch.as_deref(),
            record.findings,
            &refs,
        )?;
        if let Some(p) = &pull {
            ledger.set_pr(&slug, p.number, &p.url, &p.head)?;
            ledger.set_merged(&slug, p.merged_at.filter(|_| p.merged))?;
        }
        if scanned {
            let mut rows: Vec<SecretRow> = record
                .secrets
                .iter()
                .map(|s| SecretRow {
                    repo: slug.clone(),
                    scope: s.scope.to_string(),
                    environment: s.environment.clone().unwrap_or_default(),
                    name: s.name.clone(),
                    present: true,
                    ever_referenced: !s.orphan || refs.contains(&s.name),
                })
                .collect();
            let org = org_of(&truth.org_secrets, &slug);
            for s in org.into_iter().flat_map(|(_, secrets)| secrets) {
                let visible = s.selected.as_ref().is_none_or(|sel| sel.contains(&short));
                if visible {
                    rows.push(SecretRow {
                        repo: slug.clone(),
                        scope: "organization".into(),
                        environment: String::new(),
                        name: s.name.clone(),
                        present: true,
                        ever_referenced: s.referenced_by.contains(&short),
                    });
                }
            }
            if org.is_none() {
                // Without the organization's secrets, keep what earlier runs saw of them.
                for old in ledger.secrets(&slug)? {
                    if old.scope == "organization" {
                        rows.push(old);
                    }
                }
            }
            ledger.record_secrets(&slug, &rows)?;
        }
        let known = ledger.secrets(&slug)?;
        // The inventory holds only secrets that look like AWS keys or that workflows used as
        // key material, so every repository/environment secret in it belongs to the old setup,
        // even when a lost ledger no longer knows it was referenced.
        let old_secrets: Vec<OldSecret> = known
            .iter()
            .filter(|s| s.scope != "organization" && s.present)
            .map(|s| OldSecret {
                scope: s.scope.clone(),
                environment: s.environment.clone(),
                name: s.name.clone(),
            })
            .collect();
        let old_known = known.iter().filter(|s| s.scope != "organization").count();
        let org_secrets_used: Vec<String> = known
            .iter()
            .filter(|s| s.scope == "organization" && s.ever_referenced)
            .map(|s| s.name.clone())
            .collect();
        let names: Vec<String> = known.iter().map(|s| s.name.clone()).collect();
        repos.push((
            RepoFacts {
                repo: slug.clone(),
                repo_id: record.id,
                scanned,
                pull,
                references: refs,
                old_secrets,
                org_secrets_used,
                keys: Vec::new(),
                verified: false,
            },
            record,
            names,
            old_known,
        ));
    }

    // Keys: resolve the key map, then anything the journal or earlier links name.
    let journal = ledger.journal()?;
    let links = ledger.key_links()?;
    if let Some(iam) = iam {
        // Every user and key the map names, looked up once each, several at a time.
        let wanted: BTreeSet<KeyRef> = repos
            .iter()
            .flat_map(|(facts, _, names, _)| keymap.refs_for(&facts.repo, names))
            .map(|(key_ref, _)| key_ref)
            .collect();
        let found = look_up(iam, wanted).await?;
        for (facts, _, names, _) in &mut repos {
            for (key_ref, source) in keymap.refs_for(&facts.repo, names) {
                for key in found.get(&key_ref).into_iter().flatten() {
                    facts.keys.push((key.id.clone(), source.clone()));
                    truth.keys.insert(key.id.clone(), key.clone());
                }
            }
        }
        // Keys this campaign deleted no longer show up under their user; keys a pending
        // journal entry names must be observed to settle it.
        let unlinked = |repo: &str, id: &str| {
            repos.iter().any(|(facts, _, _, _)| {
                facts.repo == repo && !facts.keys.iter().any(|(k, _)| k == id)
            })
        };
        let linked: BTreeSet<KeyRef> = links
            .iter()
            .filter(|(repo, id)| unlinked(repo, id))
            .map(|(_, id)| KeyRef::AccessKey(id.clone()))
            .chain(
                journal
                    .iter()
                    .filter(|e| e.is_pending() && is_key_action(e))
                    .filter(|e| !truth.keys.contains_key(&e.target))
                    .map(|e| KeyRef::AccessKey(e.target.clone())),
            )
            .collect();
        let by_id: BTreeMap<String, KeyFacts> = look_up(iam, linked)
            .await?
            .into_values()
            .flatten()
            .map(|k| (k.id.clone(), k))
            .collect();
        for (facts, _, _, _) in &mut repos {
            for (repo, id) in &links {
                if repo != &facts.repo || facts.keys.iter().any(|(k, _)| k == id) {
                    continue;
                }
                if let Some(key) = by_id
                    .get(id)
                    .filter(|k| k.status == super::key_status::KeyStatus::Missing)
                {
                    facts.keys.push((id.clone(), "ledger".into()));
                    truth.keys.insert(id.clone(), key.clone());
                }
            }
            facts.keys.sort();
            facts.keys.dedup_by(|a, b| a.0 == b.0);
        }
        for e in journal
            .iter()
            .filter(|e| e.is_pending() && is_key_action(e))
        {
            if let (false, Some(key)) = (truth.keys.contains_key(&e.target), by_id.get(&e.target)) {
                truth.keys.insert(e.target.clone(), key.clone());
            }
        }
        for e in journal
            .iter()
            .filter(|e| e.is_pending() && e.action == JournalAction::DeleteUser)
        {
            let exists = iam.users().exists(&e.target).await?;
            truth.users.insert(e.target.clone(), exists);
        }
        let known_users: BTreeMap<String, String> = ledger
            .keys()?
            .into_iter()
            .map(|k| (k.access_key_id, k.user))
            .collect();
        for key in truth.keys.values_mut() {
            if key.user.is_empty() {
                // IAM forgets a deleted key's user; the ledger remembers.
                key.user = known_users.get(&key.id).cloned().unwrap_or_default();
            }
            ledger.record_key(&KeyRow {
                access_key_id: key.id.clone(),
                user: key.user.clone(),
                status: key.status,
                last_used: key.last_used,
                last_service: key.service.clone(),
                last_region: key.region.clone(),
            })?;
        }
        for (facts, _, _, _) in &repos {
            for (id, source) in &facts.keys {
                ledger.link_key(&facts.repo, id, source)?;
            }
        }
    }

    // Pending journal entries: what the remote shows decides, never a blind retry.
    for e in journal.iter().filter(|e| e.is_pending()) {
        if let Some(result) = resolve(e, &truth, &scan) {
            ledger.journal_end(e.id, &result)?;
            truth.resolved.push((e.clone(), result));
        }
    }
    let journal = ledger.journal()?;
    for key in truth.keys.values_mut() {
        key.deactivated_at = deactivated_at(&journal, &key.id);
        key.deleted_by_campaign = journal
            .iter()
            .any(|e| e.action == JournalAction::DeleteKey && e.target == key.id && e.took_effect());
    }

    let slugs: Vec<String> = repos.iter().map(|(f, ..)| f.repo.clone()).collect();
    let roles = roles(ledger, iam, &slugs, &mut truth.errors).await?;
    let verified = verifications(connections, ledger, &repos, &mut truth.errors).await?;
    ledger.set_http_cache(&cache.used_entries())?;
    truth.requests = connections.requests();
    truth.not_modified = cache.not_modified();

    // States.
    for (mut facts, record, _, old_known) in repos {
        facts.verified = verified.contains_key(&facts.repo);
        let observed = Observed {
            outcome: if facts.scanned {
                record.outcome.to_string()
            } else if record.outcome == "skipped" {
                "skipped".into()
            } else {
                "failed".into()
            },
            reason: record.reason.clone().or_else(|| {
                (!facts.scanned).then(|| "could not be read completely (see errors)".to_string())
            }),
            findings: record.findings,
            references: facts.references.clone(),
            pull: facts.pull.clone(),
            roles: roles
                .iter()
                .filter(|r| r.repo == facts.repo)
                .map(|r| r.arn.clone())
                .collect(),
            verified: verified.get(&facts.repo).cloned(),
            old_secrets_present: facts.old_secrets.len()
                + facts
                    .org_secrets_used
                    .iter()
                    .filter(|n| still_reaches(&truth.org_secrets, n, &facts.repo))
                    .count(),
            old_secrets_known: old_known + facts.org_secrets_used.len(),
            key_statuses: facts
                .keys
                .iter()
                .filter_map(|(id, _)| truth.keys.get(id).map(|k| k.status))
                .collect(),
            keys_deleted_by_campaign: facts.keys.iter().any(|(id, _)| {
                journal.iter().any(|e| {
                    e.action == JournalAction::DeleteKey && &e.target == id && e.took_effect()
                })
            }),
        };
        let state = state::derive(&observed);
        let next = state::next_step(state, &observed);
        let error = (state == RepoState::Failed)
            .then(|| observed.reason.clone())
            .flatten();
        ledger.set_state(&facts.repo, state, error.as_deref())?;
        truth.repos.push(RepoView {
            facts,
            observed,
            state,
            next,
        });
    }

    // Suggestions for repositories with old secrets but no mapped key.
    let unmapped: Vec<String> = truth
        .repos
        .iter()
        .filter(|r| {
            r.facts.keys.is_empty()
                && (r.observed.old_secrets_present > 0 || r.facts.pull.is_some())
        })
        .map(|r| r.facts.repo.clone())
        .collect();
    if let (Some(iam), false) = (iam, unmapped.is_empty()) {
        // Suggestions are a convenience: without them the run is still complete.
        match suggestions(iam, &unmapped, &scan.report, &truth.keys).await {
            Ok(found) => truth.suggestions = found,
            Err(e) => truth.notes.push(format!("no key-map suggestions: {e}")),
        }
    }
    Ok(truth)
}

/// Whether an organization secret still exists and the repository can still see it.
fn still_reaches(orgs: &OrgSecrets, name: &str, repo: &str) -> bool {
    let short = repo.rsplit('/').next().unwrap_or(repo);
    match org_of(orgs, repo) {
        // Unknown without the organization scan: assume it is still there.
        None => true,
        Some((_, secrets)) => secrets.iter().any(|s| {
            s.name == name
                && s.selected
                    .as_ref()
                    .is_none_or(|sel| sel.iter().any(|r| r == short))
        }),
    }
}

/// The pull request that tells the repository's state: a merged one, else an open one, else
/// the newest.
fn best_pull(pulls: &[crate::github::CampaignPull]) -> Option<PullFacts> {
    let mut facts: Vec<PullFacts> = pulls
        .iter()
        .map(|p| PullFacts {
            number: p.number,
            url: p.url.clone(),
            state: p.state.clone(),
            merged: p.merged,
            merged_at: p.merged_at.as_deref().and_then(super::time::parse),
            head: p.head.clone(),
            files: p.files.clone(),
        })
        .collect();
    facts.sort_by_key(|p| (p.merged, p.state == "open", p.number));
    facts.pop()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cleanup_refuses_a_picture_with_unread_owners_and_names_them() {
        let mut truth = Truth::default();
        assert!(truth.require_complete().is_ok());
        truth.unread = vec![
            ("acme".into(), "App not installed".into()),
            ("globex".into(), "401".into()),
        ];
        let error = truth.require_complete().unwrap_err();
        assert_eq!(
            error.to_string(),
            "acme could not be read: App not installed\nglobex could not be read: 401\ncleanup acts only on a complete picture of the campaign (keys and secrets can be shared across organizations); nothing was changed\nhelp: fix the access named above and run again"
        );
    }
}
