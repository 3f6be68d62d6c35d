//! `migrate rewrite --org/--repo [--pr]`: plan every repository's rewrite, then (with `--pr`)
//! publish one branch and pull request each; prints a per-repository summary.

use super::Error;
use super::app_auth::target_org;
use super::scan::{Bar, RemoteArgs, progress_bar};
use crate::campaign::settle::{self, Observation};
use crate::campaign::state::RepoState;
use crate::campaign::{JournalAction, JournalId, JournalResult, Ledger};
use crate::fleet;
use crate::github::permissions::Task;
use crate::github::{self, GitHubError, GitHubReader, GitHubWriter, RepoSnapshot};
use crate::publish::{
    self, Journal, JournalError, NoJournal, PublishSettings, RepoOutcome, RepoPlan, Roles,
};
use crate::report::exit;
use crate::scan::remote::{self, Progress, Target};
use futures::future::join_all;

pub struct RemoteSettings {
    /// The campaign ledger that journals every write (`--campaign`).
    pub campaign: std::path::PathBuf,
    pub roles: Result<Roles, String>,
    pub action_ref: String,
    pub pin: bool,
    /// Write to GitHub (`--pr` without `--dry-run`).
    pub publish: bool,
    pub draft: bool,
    pub labels: Vec<String>,
    /// `--format json` (else diffs and a summary).
    pub json: bool,
    pub color: bool,
    /// `--preflight`: the issuer to check trust for (or why it is invalid).
    pub preflight: Option<Result<crate::trust::Issuer, String>>,
}

struct RepoResult {
    repository: String,
    plan: Option<RepoPlan>,
    outcome: RepoOutcome,
}

pub fn run(args: &RemoteArgs, settings: &RemoteSettings) -> Result<u8, Error> {
    let roles = settings
        .roles
        .as_ref()
        .map_err(|e| Error::Usage(e.to_string()))?;
    let runtime = args.runtime()?;
    // octocrab's client spawns its buffer worker on the current runtime.
    let _entered = runtime.enter();
    let task = if settings.publish {
        Task::RewritePr
    } else {
        Task::RewritePlan
    };
    let identity = args.app.identity()?;
    // The organizations of the campaign (repeated --org, --enterprise), or the one target.
    let targets: Vec<Target> = if args.is_fleet() {
        let orgs = runtime.block_on(fleet::organizations(
            &args.github_url,
            &args.policy(),
            &identity,
            args.enterprise.as_deref(),
            &args.org,
        ))?;
        orgs.into_iter().map(Target::Org).collect()
    } else {
        args.target().into_iter().collect()
    };
    // Each organization through its own connection: its own token and governor, so the
    // secondary-limit rules (one write at a time, pauses after a retry-after) stay per token.
    let connections: Vec<Result<(GitHubReader, GitHubWriter), GitHubError>> =
        runtime.block_on(join_all(targets.iter().map(|target| async {
            let org = target_org(target, &identity)?;
            github::connect_writer_as(&args.github_url, args.policy(), &identity, &org, task).await
        })));
    // A rejected token stops everything; so does any failure of a run with one target. Across
    // organizations, one that cannot be reached is a failed row and the others go on.
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
    if let Some(e) = fatal {
        return Err(e.clone().into());
    }
    let ledger = if settings.publish {
        let ledger = Ledger::open(&settings.campaign)?;
        Some(LedgerJournal(std::sync::Mutex::new(ledger)))
    } else {
        None
    };
    let issuer = match &settings.preflight {
        Some(Ok(issuer)) => Some(issuer.clone()),
        Some(Err(e)) => return Err(Error::Usage(e.to_string())),
        None => None,
    };
    let iam = issuer
        .as_ref()
        .map(|_| runtime.block_on(crate::iam::keys::IamKeys::connect()));
    let bar = Bar(progress_bar());
    let run = TargetRun {
        args,
        settings,
        roles,
        ledger: ledger.as_ref(),
        issuer: issuer.as_ref(),
        iam: iam.as_ref(),
        bar: &bar,
        several: targets.len() > 1,
    };
    let outcomes: Vec<Result<Vec<RepoResult>, GitHubError>> = runtime.block_on(join_all(
        targets
            .iter()
            .zip(&connections)
            .map(|(target, connection)| run.target(target, connection)),
    ));
    bar.finished();
    let requests: u64 = connections
        .iter()
        .flatten()
        .map(|(reader, _)| reader.requests())
        .sum();
    let mut results = Vec::new();
    for (target, outcome) in targets.iter().zip(outcomes) {
        match outcome {
            Ok(mut rows) => results.append(&mut rows),
            Err(GitHubError::BudgetSpent { limit }) => {
                eprintln!(
                    "stopped at --max-requests {limit} before every repository was read; run the same command again"
                );
                return Ok(exit::STOPPED_AT_BUDGET);
            }
            Err(e) if run.several && !matches!(e, GitHubError::Unauthorized) => {
                results.push(RepoResult {
                    repository: target_name(target),
                    plan: None,
                    outcome: RepoOutcome::Failed {
                        stage: "discover".into(),
                        error: e.to_string(),
                    },
                })
            }
            Err(e) => return Err(e.into()),
        }
    }
    let stopped = args.budget.as_ref().filter(|b| b.exhausted());
    let text = if settings.json {
        render_json(&results, requests)
    } else {
        render_text(&results, settings, requests)
    };
    let manual = results
        .iter()
        .filter_map(|r| r.plan.as_ref())
        .any(|p| !p.manual.is_empty());
    let failed = results
        .iter()
        .any(|r| r.outcome.failed() || r.plan.as_ref().is_some_and(|p| !p.errors.is_empty()));
    if let Some(budget) = stopped {
        eprintln!(
            "stopped at --max-requests {}: pull requests published so far stay; run the same command again to go on with the rest",
            budget.limit()
        );
    }
    Ok(match super::print(&text) {
        exit::CLEAN if stopped.is_some() => exit::STOPPED_AT_BUDGET,
        exit::CLEAN => match (manual, failed) {
            (false, false) => exit::CLEAN,
            (true, false) => exit::FINDINGS,
            (false, true) => exit::ERRORS,
            (true, true) => exit::FINDINGS_AND_ERRORS,
        },
        other => other,
    })
}

/// An organization's name, or the repositories named, for a row about the whole target.
fn target_name(target: &Target) -> String {
    match target {
        Target::Org(org) => org.clone(),
        Target::Repos(repos) => repos.join(", "),
    }
}

/// What every target of one run shares.
struct TargetRun<'a> {
    args: &'a RemoteArgs,
    settings: &'a RemoteSettings,
    roles: &'a Roles,
    ledger: Option<&'a LedgerJournal>,
    issuer: Option<&'a crate::trust::Issuer>,
    iam: Option<&'a crate::iam::keys::IamKeys>,
    bar: &'a Bar,
    /// Several organizations: estimates and failures name theirs.
    several: bool,
}

impl TargetRun<'_> {
    /// One organization (or the repositories named): settle what a killed run left pending,
    /// discover, plan every repository, estimate the writes, then publish (or show) each.
    async fn target(
        &self,
        target: &Target,
        connection: &Result<(GitHubReader, GitHubWriter), GitHubError>,
    ) -> Result<Vec<RepoResult>, GitHubError> {
        let (reader, writer) = match connection {
            Ok(pair) => pair,
            Err(e) => {
                return Ok(vec![RepoResult {
                    repository: target_name(target),
                    plan: None,
                    outcome: RepoOutcome::Failed {
                        stage: "connect".into(),
                        error: e.to_string(),
                    },
                }]);
            }
        };
        let settings = self.settings;
        let journal: &dyn Journal = match self.ledger {
            Some(ledger) => ledger,
            None => &NoJournal,
        };
        if let Some(ledger) = self.ledger {
            ledger.settle_pending(writer, target).await;
        }
        let (snapshots, mut results) = discover(reader, target, self.args, self.bar).await?;
        // Plan every repository first, so the run's writes can be estimated before any is sent.
        let mut planned = Vec::new();
        for snapshot in snapshots {
            let slug = snapshot.slug();
            let opts = match self.roles.options_for(
                &snapshot.owner,
                &snapshot.name,
                &settings.action_ref,
                settings.pin,
            ) {
                Ok(opts) => opts,
                Err(error) => {
                    results.push(RepoResult {
                        repository: slug,
                        plan: None,
                        outcome: RepoOutcome::Failed {
                            stage: "plan".into(),
                            error: error.to_string(),
                        },
                    });
                    continue;
                }
            };
            let mut plan = publish::plan_repo(&snapshot, &opts);
            if let (Some(issuer), Some(iam)) = (self.issuer, self.iam)
                && !plan.files.is_empty()
            {
                match preflight(reader, iam, issuer, &snapshot, &opts).await {
                    Ok(rows) => plan.preflight = rows,
                    Err(e) => plan
                        .notes
                        .push(format!("pre-flight trust check skipped: {e}")),
                }
            }
            // Open campaign pull requests as discovery saw them (no request).
            let open: Vec<u64> = snapshot
                .campaign_pulls
                .iter()
                .filter(|p| p.state == "open")
                .map(|p| p.number)
                .collect();
            planned.push((slug, plan, opts, open));
        }
        let writes: Vec<u64> = planned
            .iter()
            .filter(|(_, plan, ..)| !plan.files.is_empty())
            .map(|(_, plan, ..)| publish::writes_upper_bound(plan, !settings.labels.is_empty()))
            .collect();
        if let Some(estimate) = crate::budget::publish_estimate(&writes, settings.publish) {
            if self.several {
                eprintln!("estimate: {}: {estimate}", target_name(target));
            } else {
                eprintln!("estimate: {estimate}");
            }
        }
        // With --max-requests, a run resumes one that stopped: a pull request it published
        // for the same plan at the same base is taken from the ledger, without a request.
        let resume_key = format!("rewrite {target:?}");
        let resuming = self.ledger.filter(|_| self.args.budget.is_some());
        for (slug, plan, opts, open) in planned {
            // Only a run that may resume or be resumed needs the plan's fingerprint.
            let fingerprint = resuming.map(|_| plan_fingerprint(&plan, settings));
            let kept = resuming
                .zip(fingerprint.as_deref())
                .and_then(|(l, fingerprint)| {
                    l.with(|ledger| {
                        ledger
                            .resume_entry(&resume_key, &slug, "published", &plan.base)
                            .ok()
                            .flatten()
                    })
                    .flatten()
                    .and_then(|text| serde_json::from_str::<serde_json::Value>(&text).ok())
                    .filter(|v| v["plan"] == fingerprint)
                    // Still open, as discovery just saw it: a pull request closed since is not
                    // taken as published.
                    .filter(|v| v["number"].as_u64().is_some_and(|n| open.contains(&n)))
                });
            if let Some(kept) = kept {
                results.push(RepoResult {
                    repository: slug,
                    outcome: RepoOutcome::UpToDate {
                        number: kept["number"].as_u64().unwrap_or_default(),
                        url: kept["url"].as_str().unwrap_or_default().to_string(),
                    },
                    plan: Some(plan),
                });
                continue;
            }
            let (plan, outcome) = if !settings.publish {
                let outcome = if plan.files.is_empty() {
                    RepoOutcome::NothingToChange
                } else {
                    RepoOutcome::DryRun {
                        files: plan.files.len(),
                    }
                };
                (plan, outcome)
            } else {
                let publish = PublishSettings {
                    draft: settings.draft,
                    labels: settings.labels.clone(),
                };
                publish::publish_repo(reader, writer, plan, &opts, &publish, journal).await
            };
            if let (
                Some(ledger),
                Some(fingerprint),
                RepoOutcome::Opened { number, url }
                | RepoOutcome::Updated { number, url }
                | RepoOutcome::UpToDate { number, url },
            ) = (resuming, &fingerprint, &outcome)
            {
                let record = serde_json::json!({"plan": fingerprint, "number": number, "url": url});
                ledger.with(|l| {
                    l.record_resume_entry(
                        &resume_key,
                        &slug,
                        "published",
                        &plan.base,
                        &record.to_string(),
                    )
                });
            }
            results.push(RepoResult {
                repository: slug,
                plan: Some(plan),
                outcome,
            });
        }
        // Finished (with or without a budget): the next run checks every repository against
        // GitHub again, so a pull request someone closed meanwhile is never taken as published.
        if let (Some(ledger), false) = (
            self.ledger,
            self.args.budget.as_ref().is_some_and(|b| b.exhausted()),
        ) {
            ledger.with(|l| l.clear_resume_entries(&resume_key));
        }
        Ok(results)
    }
}

/// What a published pull request was made from: the plan as the JSON output shows it, the
/// rewritten texts, and the settings that shape its body. Equal fingerprints at the same base
/// publish the same pull request.
fn plan_fingerprint(plan: &RepoPlan, settings: &RemoteSettings) -> String {
    use std::hash::{Hash, Hasher};
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    serde_json::to_string(plan)
        .unwrap_or_default()
        .hash(&mut hasher);
    for file in &plan.files {
        file.text.hash(&mut hasher);
    }
    (settings.draft, &settings.labels).hash(&mut hasher);
    format!("{:016x}", hasher.finish())
}

/// The pre-flight trust check of one repository: its `sub` template from GitHub, the roles'
/// trust and the providers from IAM.
async fn preflight(
    reader: &github::GitHubReader,
    iam: &crate::iam::keys::IamKeys,
    issuer: &crate::trust::Issuer,
    snapshot: &RepoSnapshot,
    opts: &crate::rewrite::RewriteOptions,
) -> Result<Vec<crate::trust::preflight::Row>, String> {
    let (jobs, callers) = crate::preflight::planned_jobs(snapshot, &opts.roles);
    if jobs.is_empty() {
        return Ok(Vec::new());
    }
    // Without the template (no access, old GHES) the default format is assumed.
    let template = reader
        .repo_sub_customization(&snapshot.owner, &snapshot.name)
        .await
        .ok();
    let repo = crate::preflight::repo_claims(snapshot, template.as_ref());
    let roles = jobs.iter().map(|j| j.role.clone()).collect();
    let truth = crate::iam::trust::read(iam, &roles)
        .await
        .map_err(|e| e.to_string())?;
    Ok(crate::trust::preflight::check(
        &repo, issuer, &jobs, &callers, &truth,
    ))
}

/// Repositories to work on (skipping archived ones, forks and filtered-out names), and
/// results for those that could not be read.
async fn discover(
    reader: &github::GitHubReader,
    target: &Target,
    args: &RemoteArgs,
    bar: &Bar,
) -> Result<(Vec<RepoSnapshot>, Vec<RepoResult>), GitHubError> {
    let mut failed = Vec::new();
    let snapshots = match target {
        Target::Org(org) => {
            reader
                .org_repositories(org, |done, total| {
                    bar.discovered(done, total, reader.requests())
                })
                .await?
                .1
        }
        Target::Repos(slugs) => {
            let mut found = Vec::new();
            for result in reader.repositories(slugs).await {
                match result {
                    Ok(s) => found.push(s),
                    Err((_, GitHubError::Unauthorized)) => return Err(GitHubError::Unauthorized),
                    Err((slug, e)) => failed.push(RepoResult {
                        repository: slug,
                        plan: None,
                        outcome: RepoOutcome::Failed {
                            stage: "discover".into(),
                            error: e.to_string(),
                        },
                    }),
                }
            }
            found
        }
    };
    let filters = args.filters();
    let named = matches!(target, Target::Repos(_));
    let kept = snapshots
        .into_iter()
        .filter(|s| remote::skip_reason(s, &filters, named).is_none())
        .collect();
    Ok((kept, failed))
}

fn render_text(results: &[RepoResult], settings: &RemoteSettings, requests: u64) -> String {
    let mut out = String::new();
    if !settings.publish {
        for plan in results.iter().filter_map(|r| r.plan.as_ref()) {
            for file in &plan.files {
                out.push_str(&crate::report::diff::paint(
                    &file
                        .diff
                        .replacen("--- a/", &format!("--- a/{}/", plan.repository), 1)
                        .replacen("+++ b/", &format!("+++ b/{}/", plan.repository), 1),
                    settings.color,
                ));
            }
        }
    }
    for r in results {
        out.push_str(&format!("{}: {}\n", r.repository, r.outcome.summary()));
        if let Some(plan) = &r.plan {
            for (path, m) in &plan.manual {
                out.push_str(&format!(
                    "  manual: {path}:{} [{}] {}\n",
                    m.line, m.rule, m.reason
                ));
            }
            for e in &plan.errors {
                out.push_str(&format!("  error: {e}\n"));
            }
            for row in plan.preflight.iter().filter(|r| !r.check.passes()) {
                out.push_str(&format!(
                    "  pre-flight: {}: {} [{}] sub `{}`: {}\n",
                    row.path,
                    row.job,
                    row.way,
                    row.sub,
                    row.check.summary()
                ));
            }
        }
    }
    let failed = results.iter().filter(|r| r.outcome.failed()).count();
    out.push_str(&format!(
        "{} repositories, {failed} failed; {requests} GitHub requests\n",
        results.len()
    ));
    out
}

fn render_json(results: &[RepoResult], requests: u64) -> String {
    let repos: Vec<serde_json::Value> = results
        .iter()
        .map(|r| {
            serde_json::json!({
                "repository": r.repository,
                "result": r.outcome,
                "plan": r.plan,
            })
        })
        .collect();
    let doc =
        serde_json::json!({"version": 1, "repositories": repos, "github": {"requests": requests}});
    let mut text = serde_json::to_string_pretty(&doc).unwrap_or_default();
    text.push('\n');
    text
}

/// The campaign ledger as `rewrite --pr`'s journal.
struct LedgerJournal(std::sync::Mutex<Ledger>);

/// The actions `rewrite --pr` journals.
const PR_ACTIONS: [JournalAction; 4] = [
    JournalAction::PushBranch,
    JournalAction::OpenPr,
    JournalAction::UpdatePr,
    JournalAction::AddLabels,
];

impl LedgerJournal {
    fn with<R>(&self, f: impl FnOnce(&Ledger) -> R) -> Option<R> {
        // A poisoned lock means an earlier panic; the ledger file itself is still consistent.
        self.0.lock().ok().map(|ledger| f(&ledger))
    }

    /// Entries a killed run left open are settled from remote truth (does the branch or pull
    /// request exist?), never by repeating the write: the run that follows re-plans anyway.
    /// Only the target's own entries: another organization's are settled through its token.
    async fn settle_pending(&self, writer: &github::GitHubWriter, target: &Target) {
        let pending = self
            .with(|l| l.pending().unwrap_or_default())
            .unwrap_or_default();
        for entry in pending
            .into_iter()
            .filter(|e| PR_ACTIONS.contains(&e.action))
        {
            let Some((owner, name)) = entry.repo.split_once('/') else {
                continue;
            };
            let ours = match target {
                Target::Org(org) => owner.eq_ignore_ascii_case(org),
                Target::Repos(repos) => repos.iter().any(|r| r.eq_ignore_ascii_case(&entry.repo)),
            };
            if !ours {
                continue;
            }
            let exists = match entry.action {
                JournalAction::PushBranch => writer
                    .branch_tip(owner, name, publish::BRANCH)
                    .await
                    .ok()
                    .flatten()
                    .is_some(),
                _ => writer
                    .pulls_for_branch(owner, name, publish::BRANCH)
                    .await
                    .is_ok_and(|pulls| !pulls.is_empty()),
            };
            if let Some(result) = settle::decide(&entry.action, Observation::Created { exists }) {
                self.with(|l| l.journal_end(entry.id, &result));
            }
        }
    }
}

impl Journal for LedgerJournal {
    fn begin(
        &self,
        repo: &str,
        action: &JournalAction,
        target: &str,
        detail: serde_json::Value,
    ) -> Result<Option<i64>, JournalError> {
        self.with(|l| {
            l.journal_begin(repo, action, target, &detail)
                .map(|id| Some(id.0))
                .map_err(JournalError::from)
        })
        .unwrap_or(Err(JournalError::Poisoned))
    }

    fn end(&self, id: Option<i64>, error: Option<&str>) {
        let Some(id) = id else { return };
        let result = error.map_or(JournalResult::Done, |e| {
            JournalResult::Failed(e.to_string())
        });
        self.with(|l| l.journal_end(JournalId(id), &result));
    }

    fn pull_request(&self, repo: &str, number: u64, url: &str, head: &str) {
        self.with(|l| {
            let _ = l.set_pr(repo, number, url, head);
            let _ = l.set_state(repo, RepoState::PrOpen, None);
        });
    }
}
