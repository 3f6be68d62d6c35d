//! `scan --org/--repo`: discovery through GitHub, the same detection as a local scan, then
//! the secrets inventory and OIDC subject templates for the repositories that need them.

use std::collections::{BTreeMap, BTreeSet};

use futures::future::join_all;

use crate::detect::Severity;
use crate::github::{GitHubError, GitHubReader, RepoSecrets, RepoSnapshot, SubCustomization};
use crate::scan::inventory::{self, OrgSecretRecord, SecretRecord};
use crate::scan::{self, FileError, Input, ScanReport};

/// What to scan on GitHub.
#[derive(Debug, Clone)]
pub enum Target {
    Org(String),
    Repos(Vec<String>),
}

#[derive(Debug, Clone, Default)]
pub struct Filters {
    pub include_forks: bool,
    pub topics: Vec<String>,
    /// Glob on the repository name (`*` and `?`).
    pub name: Option<String>,
    /// Inventory secrets of every repository, not only those with findings.
    pub all_secrets: bool,
    /// Skip reading OIDC `sub` templates (campaign status has no use for them).
    pub skip_sub_templates: bool,
    /// Record keyed jobs' steps for the policy compiler (`trust` only).
    pub step_records: scan::StepRecords,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct RepoRecord {
    pub repository: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub owner_id: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub default_branch: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub head: Option<String>,
    /// `scanned`, `skipped` or `failed`.
    pub outcome: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    pub files: usize,
    pub findings: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub oidc_sub: Option<SubCustomization>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub secrets: Vec<SecretRecord>,
    /// Pull requests on the campaign branch (for `status`).
    #[serde(skip)]
    pub campaign_pulls: Vec<crate::github::CampaignPull>,
    /// Environment names when discovery saw them all.
    #[serde(skip)]
    pub environments: Option<Vec<String>>,
    /// Actions variables (organization's shared with it, then its own), read for the policy
    /// compiler (`trust --permissions inferred`) where the repository has findings.
    #[serde(skip)]
    pub variables: BTreeMap<String, String>,
    /// Each environment's own variables (environment → name → value), read with `variables`.
    #[serde(skip)]
    pub environment_variables: BTreeMap<String, BTreeMap<String, String>>,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct OrgRecord {
    pub login: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub oidc_sub: Option<SubCustomization>,
    pub secrets: Vec<OrgSecretRecord>,
}

pub struct RemoteScan {
    pub report: ScanReport,
    pub repositories: Vec<RepoRecord>,
    pub organization: Option<OrgRecord>,
    pub requests: u64,
    pub retries: u64,
}

/// What a scan stopped by `--max-requests` already read of each repository, for the run
/// that resumes it: keyed by repository and default-branch commit, so a repository that
/// changed since is read again.
/// Each part is kept as soon as it is read, so a run that stops between a repository's
/// requests still saves the next run the ones it made.
pub trait InventoryStore: Sync {
    fn secrets(&self, repo: &str, head: &str) -> Option<RepoSecrets>;
    fn oidc(&self, repo: &str, head: &str) -> Option<SubCustomization>;
    fn keep_secrets(&self, repo: &str, head: &str, secrets: &RepoSecrets);
    fn keep_oidc(&self, repo: &str, head: &str, oidc: &SubCustomization);
}

/// Reports progress: repositories done, total, requests spent.
pub trait Progress {
    fn discovered(&self, done: usize, total: usize, requests: u64);
    fn finished(&self);
    /// Before the inventory of more than [`crate::budget::ESTIMATE_ABOVE`] repositories: what
    /// it will cost at the token's remaining budget.
    fn estimated(&self, _estimate: &crate::budget::Estimate) {}
}

/// Scans GitHub. Per-repository problems land in the report's errors; a rejected token
/// stops the whole scan, since no request can succeed.
pub async fn scan(
    reader: &GitHubReader,
    target: &Target,
    filters: &Filters,
    progress: &dyn Progress,
) -> Result<RemoteScan, GitHubError> {
    scan_resuming(reader, target, filters, progress, None).await
}

/// [`scan`], taking each repository's inventory from `store` where an earlier run read it
/// at the same commit, and keeping there what this run reads.
pub async fn scan_resuming(
    reader: &GitHubReader,
    target: &Target,
    filters: &Filters,
    progress: &dyn Progress,
    store: Option<&dyn InventoryStore>,
) -> Result<RemoteScan, GitHubError> {
    let mut errors = Vec::new();
    let mut snapshots = Vec::new();
    let mut org_id = None;
    match target {
        Target::Org(org) => match reader
            .org_repositories(org, |done, total| {
                progress.discovered(done, total, reader.requests())
            })
            .await
        {
            Ok((id, repos)) => {
                org_id = id;
                snapshots = repos;
            }
            Err(GitHubError::Unauthorized) => return Err(GitHubError::Unauthorized),
            Err(e) => errors.push(FileError {
                repository: None,
                path: org.clone(),
                line: None,
                column: None,
                message: e.to_string(),
            }),
        },
        Target::Repos(slugs) => {
            for result in reader.repositories(slugs).await {
                match result {
                    Ok(repo) => snapshots.push(repo),
                    Err((_, GitHubError::Unauthorized)) => return Err(GitHubError::Unauthorized),
                    Err((slug, e)) => errors.push(FileError {
                        repository: None,
                        path: slug,
                        line: None,
                        column: None,
                        message: e.to_string(),
                    }),
                }
            }
            progress.discovered(snapshots.len(), slugs.len(), reader.requests());
        }
    }
    progress.finished();

    let mut records = Vec::new();
    let mut inputs = Vec::new();
    for repo in &snapshots {
        let skip = skip_reason(repo, filters, matches!(target, Target::Repos(_)));
        records.push(RepoRecord {
            repository: repo.slug(),
            id: repo.id,
            owner_id: repo.owner_id,
            default_branch: repo.default_branch.clone(),
            head: repo.head.clone(),
            outcome: if skip.is_some() { "skipped" } else { "scanned" },
            reason: skip.clone(),
            files: if skip.is_some() { 0 } else { repo.files.len() },
            findings: 0,
            oidc_sub: None,
            secrets: Vec::new(),
            campaign_pulls: repo.campaign_pulls.clone(),
            environments: repo.environments.clone(),
            variables: BTreeMap::new(),
            environment_variables: BTreeMap::new(),
        });
        if skip.is_some() {
            continue;
        }
        for file in &repo.files {
            let path = format!("{}/{}", repo.slug(), file.path);
            let text = file.text.clone().map_err(|why| FileError {
                repository: None,
                path: path.clone(),
                line: None,
                column: None,
                message: why.to_string(),
            });
            inputs.push(Input {
                path,
                text,
                explicit: true,
            });
        }
    }
    let mut report = scan::scan_texts(inputs, filters.step_records);
    report.errors.extend(errors);
    attach_repositories(&mut report, &snapshots);

    // Secret names each repository uses as key material.
    let mut referenced: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for finding in report.findings().filter(|f| f.severity > Severity::Info) {
        if let Some(repo) = &finding.repository {
            referenced
                .entry(repo.clone())
                .or_default()
                .extend(finding.secrets.iter().cloned());
        }
    }
    for record in &mut records {
        record.findings = report
            .findings()
            .filter(|f| {
                f.severity > Severity::Info
                    && f.repository.as_deref() == Some(record.repository.as_str())
            })
            .count();
    }

    // Secrets and subject templates, only where a later step needs them.
    let wanted: Vec<usize> = records
        .iter()
        .enumerate()
        .filter(|(_, r)| r.outcome == "scanned" && (r.findings > 0 || filters.all_secrets))
        .map(|(i, _)| i)
        .collect();
    // A long inventory says first what it costs (`GET /rate_limit` is free; only then asked).
    if wanted.len() > crate::budget::ESTIMATE_ABOVE
        && let Ok(limit) = reader.rate_limit().await
    {
        let share = crate::budget::Share {
            repositories: wanted.len(),
            limit,
        };
        progress.estimated(&crate::budget::estimate_with(
            &[share],
            crate::campaign::time::now(),
            crate::budget::inventory_requests,
        ));
    }
    let lookups = join_all(wanted.iter().map(|&i| {
        let (owner, name) = records[i].repository.split_once('/').unwrap_or_default();
        let (owner, name) = (owner.to_string(), name.to_string());
        let environments = records[i].environments.clone();
        let head = records[i].head.clone();
        async move {
            let slug = format!("{owner}/{name}");
            // What the run this one resumes read at the same commit costs no request.
            let resumed = store.zip(head.as_deref());
            let secrets = match resumed.and_then(|(s, head)| s.secrets(&slug, head)) {
                Some(kept) => Ok(kept),
                None => {
                    let read = reader
                        .repo_secrets(&owner, &name, environments.as_deref())
                        .await;
                    if let (Some((store, head)), Ok(secrets)) = (resumed, &read) {
                        store.keep_secrets(&slug, head, secrets);
                    }
                    read
                }
            };
            let oidc = match filters.skip_sub_templates {
                true => None,
                false => Some(match resumed.and_then(|(s, head)| s.oidc(&slug, head)) {
                    Some(kept) => Ok(kept),
                    None => {
                        let read = reader.repo_sub_customization(&owner, &name).await;
                        if let (Some((store, head)), Ok(oidc)) = (resumed, &read) {
                            store.keep_oidc(&slug, head, oidc);
                        }
                        read
                    }
                }),
            };
            let variables = match filters.step_records {
                scan::StepRecords::Skip => None,
                scan::StepRecords::Keep => Some(
                    async {
                        let own = reader.repo_variables(&owner, &name).await?;
                        let by_environment = reader
                            .environment_variables(&owner, &name, environments.as_deref())
                            .await?;
                        Ok::<_, crate::github::GitHubError>((own, by_environment))
                    }
                    .await,
                ),
            };
            (secrets, oidc, variables)
        }
    }))
    .await;
    let empty = BTreeSet::new();
    for (&i, (secrets, oidc, variables)) in wanted.iter().zip(lookups) {
        let record = &mut records[i];
        match variables {
            None => {}
            Some(Ok((own, by_environment))) => {
                record.variables = own;
                record.environment_variables = by_environment;
            }
            // Without them `vars.X` stays unknown (`*` for that action, with a warning).
            Some(Err(e)) => report
                .errors
                .push(repo_error(&record.repository, "variables", &e)),
        }
        let used = referenced.get(&record.repository).unwrap_or(&empty);
        match secrets {
            Ok(secrets) => record.secrets = inventory::repo_inventory(&secrets, used),
            Err(e) => report
                .errors
                .push(repo_error(&record.repository, "secrets", &e)),
        }
        match oidc {
            None => {}
            Some(Ok(oidc)) => record.oidc_sub = Some(oidc),
            Some(Err(e)) => {
                report
                    .errors
                    .push(repo_error(&record.repository, "OIDC subject template", &e))
            }
        }
    }

    let organization = match target {
        Target::Org(org) if !snapshots.is_empty() => {
            let uses: Vec<(&str, &BTreeSet<String>)> = referenced
                .iter()
                .map(|(repo, names)| {
                    (
                        repo.split_once('/').map_or(repo.as_str(), |(_, n)| n),
                        names,
                    )
                })
                .collect();
            let secrets = match reader.org_secrets(org).await {
                Ok(secrets) => inventory::org_inventory(&secrets, uses.iter().copied()),
                Err(e) => {
                    report
                        .errors
                        .push(repo_error(org, "organization secrets", &e));
                    Vec::new()
                }
            };
            let oidc_sub = match reader.org_sub_customization(org).await {
                Ok(c) => Some(c),
                Err(e) => {
                    report
                        .errors
                        .push(repo_error(org, "organization OIDC subject template", &e));
                    None
                }
            };
            Some(OrgRecord {
                login: org.clone(),
                id: org_id,
                oidc_sub,
                secrets,
            })
        }
        _ => None,
    };
    report
        .errors
        .sort_by(|a, b| (&a.path, a.line).cmp(&(&b.path, b.line)));
    Ok(RemoteScan {
        report,
        repositories: records,
        organization,
        requests: reader.requests(),
        retries: reader.retries(),
    })
}

fn repo_error(repo: &str, what: &str, e: &GitHubError) -> FileError {
    FileError {
        repository: None,
        path: repo.to_string(),
        line: None,
        column: None,
        message: format!("{what}: {e}"),
    }
}

pub(crate) fn skip_reason(repo: &RepoSnapshot, filters: &Filters, named: bool) -> Option<String> {
    if repo.archived {
        return Some("archived (read-only)".into());
    }
    if named {
        return None;
    }
    if repo.fork && !filters.include_forks {
        return Some("fork (use --include-forks)".into());
    }
    if !filters.topics.is_empty() && !filters.topics.iter().any(|t| repo.topics.contains(t)) {
        return Some("no matching topic".into());
    }
    if let Some(glob) = &filters.name
        && !crate::glob::glob_match(glob, &repo.name)
    {
        return Some("name does not match --name".into());
    }
    None
}

/// Splits `OWNER/REPO/path` display paths into repository and in-repo path.
fn attach_repositories(report: &mut ScanReport, snapshots: &[RepoSnapshot]) {
    let slugs: BTreeSet<String> = snapshots.iter().map(RepoSnapshot::slug).collect();
    let split = |path: &str| -> Option<(String, String)> {
        let mut parts = path.splitn(3, '/');
        let slug = format!("{}/{}", parts.next()?, parts.next()?);
        let rest = parts.next()?.to_string();
        slugs.contains(&slug).then_some((slug, rest))
    };
    for file in &mut report.files {
        if let Some((slug, rest)) = split(&file.path) {
            for finding in &mut file.findings {
                finding.repository = Some(slug.clone());
                finding.path = rest.clone();
            }
            file.repository = Some(slug);
            file.path = rest;
        }
    }
    for error in &mut report.errors {
        if let Some((slug, rest)) = split(&error.path) {
            error.repository = Some(slug);
            error.path = rest;
        }
    }
}
