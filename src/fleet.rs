//! Campaigns across several organizations (repeated `--org`, or `--enterprise`): each
//! organization gets its own connection — its own token (for a GitHub App, its installation's)
//! and its own governor, so the secondary-limit rules stay per token — and all are scanned in
//! parallel, then merged into one result; `rewrite` opens its read-write connections the same
//! way ([`connect_writers`]).

use futures::future::join_all;

use crate::budget::{self, Estimate, Share};
use crate::github::permissions::Task;
use crate::github::{self, GitHubError, GitHubReader, GitHubWriter, Identity, Policy};
use crate::scan::remote::{self, Filters, OrgRecord, Progress, RemoteScan, Target};
use crate::scan::{FileError, ScanReport};

/// One scan over several organizations.
pub struct FleetScan {
    /// Every organization's repositories and findings together; `organization` is `None`.
    pub scan: RemoteScan,
    /// Each organization's secrets and OIDC template, in the order scanned.
    pub organizations: Vec<OrgRecord>,
}

/// The organizations of the campaign: those named with `--org`, and (with `--enterprise`)
/// every organization of the enterprise; sorted, each once.
pub async fn organizations(
    url: &str,
    policy: &Policy,
    identity: &Identity,
    enterprise: Option<&str>,
    named: &[String],
) -> Result<Vec<String>, GitHubError> {
    let mut orgs = named.to_vec();
    if let Some(slug) = enterprise {
        let reader = github::connect_for_enterprise(url, policy.clone(), identity).await?;
        orgs.extend(reader.enterprise_organizations(slug).await?);
    }
    orgs.sort();
    orgs.dedup();
    Ok(orgs)
}

/// The organization whose installation serves `target`: the organization itself, or the
/// owner of the repositories. A GitHub App acts through one installation per run here, so its
/// `--repo`s must share one owner; a personal token reaches them all.
pub fn target_org(target: &Target, identity: &Identity) -> Result<String, GitHubError> {
    let repos = match target {
        Target::Org(org) => return Ok(org.clone()),
        Target::Repos(repos) => repos,
    };
    let mut owners: Vec<&str> = repos
        .iter()
        .filter_map(|r| r.split_once('/').map(|(owner, _)| owner))
        .collect();
    owners.sort_unstable();
    owners.dedup();
    if owners.len() > 1 && matches!(identity, Identity::App(_)) {
        return Err(GitHubError::AppOwners {
            owners: owners.join(", "),
        });
    }
    Ok(owners.first().map(|o| o.to_string()).unwrap_or_default())
}

/// One target (an organization, or repositories of one owner) through its own read
/// connection, resuming from what `store` kept (`scan --max-requests`).
pub async fn scan_target(
    url: &str,
    policy: Policy,
    identity: &Identity,
    target: &Target,
    filters: &Filters,
    progress: &dyn Progress,
    store: Option<&dyn remote::InventoryStore>,
) -> Result<RemoteScan, GitHubError> {
    let org = target_org(target, identity)?;
    let reader = github::connect_reader_as(url, policy, identity, &org, Task::Scan).await?;
    remote::scan_resuming(&reader, target, filters, progress, store).await
}

/// A read-write connection per target (`rewrite`), in parallel: each organization with its own
/// token and governor, so the secondary-limit rules (one write at a time, pauses after a
/// retry-after) stay per token. A rejected token stops everything, and so does any failure of
/// a run with one target; across organizations, one that cannot be reached keeps its error
/// (a failed row) and the others go on.
pub async fn connect_writers(
    url: &str,
    policy: &Policy,
    identity: &Identity,
    targets: &[Target],
    task: Task,
) -> Result<Vec<Result<(GitHubReader, GitHubWriter), GitHubError>>, GitHubError> {
    let connections = join_all(targets.iter().map(|target| async {
        let org = target_org(target, identity)?;
        github::connect_writer_as(url, policy.clone(), identity, &org, task).await
    }))
    .await;
    let fatal = connections
        .iter()
        .filter_map(|c| c.as_ref().err())
        .find(|e| {
            targets.len() == 1
                || matches!(
                    e,
                    GitHubError::Unauthorized | GitHubError::AppRejected { .. }
                )
        });
    match fatal {
        Some(e) => Err(e.clone()),
        None => Ok(connections),
    }
}

/// The whole campaign: the organizations named and those of `enterprise` ([`organizations`]),
/// each scanned through its own connection ([`scan_orgs`]).
pub async fn scan_all(
    url: &str,
    policy: &Policy,
    identity: &Identity,
    enterprise: Option<&str>,
    named: &[String],
    filters: &Filters,
    hooks: Hooks<'_>,
) -> Result<FleetScan, GitHubError> {
    let orgs = organizations(url, policy, identity, enterprise, named).await?;
    scan_orgs(url, policy, identity, &orgs, filters, hooks).await
}

/// What a fleet scan reports to and keeps for its caller.
pub struct Hooks<'a> {
    pub progress: &'a dyn Progress,
    /// Called with the rate-budget estimate before a long run.
    pub announce: &'a dyn Fn(&Estimate),
    /// Where a run stopped by `--max-requests` keeps what it read (and resumes from).
    pub store: Option<&'a dyn remote::InventoryStore>,
}

/// Scans every organization in parallel, each through its own connection. An organization
/// that cannot be reached (App not installed there, a permission missing) is reported as an
/// error of that organization and the others go on; a rejected token stops everything.
pub async fn scan_orgs(
    url: &str,
    policy: &Policy,
    identity: &Identity,
    orgs: &[String],
    filters: &Filters,
    hooks: Hooks<'_>,
) -> Result<FleetScan, GitHubError> {
    let Hooks {
        progress,
        announce,
        store,
    } = hooks;
    let connections = join_all(
        orgs.iter()
            .map(|org| github::connect_reader_as(url, policy.clone(), identity, org, Task::Scan)),
    )
    .await;
    let reachable: Vec<(&String, &GitHubReader)> = orgs
        .iter()
        .zip(&connections)
        .filter_map(|(org, c)| Some((org, c.as_ref().ok()?)))
        .collect();
    if let Some(estimate) = estimate_run(&reachable).await {
        announce(&estimate);
    }
    // The run was estimated as a whole above: no second estimate per organization.
    let progress = &NoEstimate(progress);
    let mut scans = join_all(reachable.iter().map(|(org, reader)| async move {
        remote::scan_resuming(
            reader,
            &Target::Org((*org).clone()),
            filters,
            progress,
            store,
        )
        .await
    }))
    .await
    .into_iter();
    let runs: Vec<Result<RemoteScan, GitHubError>> = connections
        .into_iter()
        .map(|c| match c {
            Ok(_) => scans
                .next()
                .unwrap_or(Err(GitHubError::GraphQl("no scan".into()))),
            Err(e) => Err(e),
        })
        .collect();
    let mut parts = Vec::new();
    let mut unreachable = Vec::new();
    for (org, run) in orgs.iter().zip(runs) {
        match run {
            Ok(part) => parts.push(part),
            Err(e @ (GitHubError::Unauthorized | GitHubError::AppRejected { .. })) => {
                return Err(e);
            }
            Err(e) => unreachable.push(FileError {
                repository: None,
                path: org.clone(),
                line: None,
                column: None,
                message: e.to_string(),
            }),
        }
    }
    let mut fleet = merge(parts);
    fleet.scan.report.errors.extend(unreachable);
    Ok(fleet)
}

/// Progress that passes everything on but the per-organization estimates.
struct NoEstimate<'a>(&'a dyn Progress);

impl Progress for NoEstimate<'_> {
    fn discovered(&self, done: usize, total: usize, requests: u64) {
        self.0.discovered(done, total, requests);
    }
    fn finished(&self) {
        self.0.finished();
    }
}

/// Each organization's repository count and its token's limit, then the estimate, when the run
/// covers more than [`budget::ESTIMATE_ABOVE`] repositories. Advisory: an organization whose
/// count or limit cannot be read is left out of it.
pub async fn estimate_run(reachable: &[(&String, &GitHubReader)]) -> Option<Estimate> {
    let shares = join_all(reachable.iter().map(|(org, reader)| async move {
        Some(Share {
            repositories: reader.org_repository_count(org).await.ok()?,
            limit: reader.rate_limit().await.ok()?,
        })
    }))
    .await;
    let shares: Vec<Share> = shares.into_iter().flatten().collect();
    let repositories: usize = shares.iter().map(|s| s.repositories).sum();
    (repositories > budget::ESTIMATE_ABOVE)
        .then(|| budget::estimate(&shares, crate::campaign::time::now()))
}

/// One result from several organizations' scans (pure).
pub fn merge(parts: Vec<RemoteScan>) -> FleetScan {
    let mut report = ScanReport {
        files: Vec::new(),
        errors: Vec::new(),
        skipped: 0,
    };
    let mut repositories = Vec::new();
    let mut organizations = Vec::new();
    let (mut requests, mut retries) = (0, 0);
    for part in parts {
        report.files.extend(part.report.files);
        report.errors.extend(part.report.errors);
        report.skipped += part.report.skipped;
        repositories.extend(part.repositories);
        organizations.extend(part.organization);
        requests += part.requests;
        retries += part.retries;
    }
    FleetScan {
        scan: RemoteScan {
            report,
            repositories,
            organization: None,
            requests,
            retries,
        },
        organizations,
    }
}
