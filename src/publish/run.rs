//! `rewrite --org/--repo [--pr]` on one target (effects: GitHub, IAM for the pre-flight check,
//! the ledger): settle what a killed run left pending, discover the repositories, plan every
//! one, estimate the run's writes, then publish each plan (or, without `--pr` or with
//! `--dry-run`, only show it). Targets of one run go in parallel, each through its own
//! connection.

use super::journal::LedgerJournal;
use super::resume::{self, Resume};
use super::{NoJournal, PublishSettings, RepoOutcome, RepoPlan, Roles};
use crate::github::{GitHubError, GitHubReader, GitHubWriter, RequestBudget};
use crate::iam::keys::IamKeys;
use crate::rewrite::RewriteOptions;
use crate::scan::remote::{self, Filters, Progress, Target};
use crate::trust::Issuer;

/// One row of the run's output: a repository (or a whole target that failed) and what
/// became of it.
pub struct RepoResult {
    pub repository: String,
    pub plan: Option<RepoPlan>,
    pub outcome: RepoOutcome,
}

impl RepoResult {
    fn failed(repository: String, stage: &str, error: &dyn std::fmt::Display) -> Self {
        Self {
            repository,
            plan: None,
            outcome: RepoOutcome::Failed {
                stage: stage.into(),
                error: error.to_string(),
            },
        }
    }
}

/// What the rewrite of every repository is made of.
pub struct RunSettings {
    pub roles: Roles,
    /// `--action-ref`, written as its commit SHA when `pin` and a known release.
    pub action_ref: String,
    pub pin: bool,
    /// Write to GitHub (`--pr` without `--dry-run`).
    pub publish: bool,
    pub draft: bool,
    pub labels: Vec<String>,
}

/// What every target of one run shares.
pub struct Run<'a> {
    pub settings: &'a RunSettings,
    pub filters: Filters,
    /// `--max-requests`: a run that may stop, or resume one that stopped.
    pub budget: Option<&'a RequestBudget>,
    /// The campaign ledger, when the run writes.
    pub ledger: Option<&'a LedgerJournal>,
    /// `--preflight`: the issuer to check trust for, and IAM to read it from.
    pub preflight: Option<(&'a Issuer, &'a IamKeys)>,
    pub progress: &'a dyn Progress,
    /// Told the estimate of a target's writes when they take more than a few minutes.
    pub estimated: &'a dyn Fn(&str),
    /// Several organizations: estimates and failures name theirs.
    pub several: bool,
}

/// An organization's name, or the repositories named, for a row about the whole target.
pub fn target_name(target: &Target) -> String {
    match target {
        Target::Org(org) => org.clone(),
        Target::Repos(repos) => repos.join(", "),
    }
}

/// A repository's plan before anything is published, with what publishing it takes.
struct Planned {
    slug: String,
    plan: RepoPlan,
    opts: RewriteOptions,
    /// The campaign's open pull requests, as discovery saw them (no request).
    open: Vec<u64>,
}

impl Run<'_> {
    /// One target through its connection (a target that could not be connected to is one
    /// failed row). An error stops the target: a rejected token, or the budget spent.
    pub async fn target(
        &self,
        target: &Target,
        connection: &Result<(GitHubReader, GitHubWriter), GitHubError>,
    ) -> Result<Vec<RepoResult>, GitHubError> {
        let (reader, writer) = match connection {
            Ok(pair) => pair,
            Err(e) => return Ok(vec![RepoResult::failed(target_name(target), "connect", e)]),
        };
        if let Some(ledger) = self.ledger {
            ledger.settle_pending(writer, target).await;
        }
        let (snapshots, mut results) =
            discover(reader, target, &self.filters, self.progress).await?;
        // Plan every repository first, so the run's writes can be estimated before any is sent.
        let mut planned = Vec::new();
        for snapshot in snapshots {
            match self.plan(reader, &snapshot).await {
                Ok(p) => planned.push(p),
                Err(error) => results.push(RepoResult::failed(snapshot.slug(), "plan", &error)),
            }
        }
        self.estimate(target, &planned);
        // With --max-requests, a run resumes one that stopped.
        let resuming = self
            .ledger
            .filter(|_| self.budget.is_some())
            .map(|l| Resume::new(l, target, self.settings.draft, &self.settings.labels));
        for p in planned {
            results.push(self.publish(p, reader, writer, resuming.as_ref()).await);
        }
        // Finished (with or without a budget): the next run checks every repository against
        // GitHub again, so a pull request someone closed meanwhile is never taken as published.
        if let (Some(ledger), false) = (self.ledger, self.budget.is_some_and(|b| b.exhausted())) {
            resume::forget(ledger, target);
        }
        Ok(results)
    }

    /// One repository's plan, with the pre-flight check when asked for.
    async fn plan(
        &self,
        reader: &GitHubReader,
        snapshot: &crate::github::RepoSnapshot,
    ) -> Result<Planned, crate::rewrite::RewriteError> {
        let settings = self.settings;
        let opts = settings.roles.options_for(
            &snapshot.owner,
            &snapshot.name,
            &settings.action_ref,
            settings.pin,
        )?;
        let mut plan = super::plan_repo(snapshot, &opts);
        if let Some((issuer, iam)) = self.preflight
            && !plan.files.is_empty()
        {
            match super::preflight::check(reader, iam, issuer, snapshot, &opts).await {
                Ok(rows) => plan.preflight = rows,
                Err(e) => plan
                    .notes
                    .push(format!("pre-flight trust check skipped: {e}")),
            }
        }
        let open = snapshot
            .campaign_pulls
            .iter()
            .filter(|p| p.state == "open")
            .map(|p| p.number)
            .collect();
        Ok(Planned {
            slug: snapshot.slug(),
            plan,
            opts,
            open,
        })
    }

    /// Announces how long the target's writes take, when that is more than a few minutes.
    fn estimate(&self, target: &Target, planned: &[Planned]) {
        let writes: Vec<u64> = planned
            .iter()
            .filter(|p| !p.plan.files.is_empty())
            .map(|p| super::writes_upper_bound(&p.plan, !self.settings.labels.is_empty()))
            .collect();
        if let Some(estimate) = crate::budget::publish_estimate(&writes, self.settings.publish) {
            if self.several {
                (self.estimated)(&format!("{}: {estimate}", target_name(target)));
            } else {
                (self.estimated)(&estimate);
            }
        }
    }

    /// Publishes one plan (or shows it), unless a stopped run already published it.
    async fn publish(
        &self,
        p: Planned,
        reader: &GitHubReader,
        writer: &GitHubWriter,
        resuming: Option<&Resume<'_>>,
    ) -> RepoResult {
        let Planned {
            slug,
            plan,
            opts,
            open,
        } = p;
        // Only a run that may resume or be resumed needs the plan's fingerprint.
        let fingerprint = resuming.map(|r| r.fingerprint(&plan));
        let kept = resuming
            .zip(fingerprint.as_deref())
            .and_then(|(r, fingerprint)| r.published(&slug, &plan, fingerprint, &open));
        if let Some(outcome) = kept {
            return RepoResult {
                repository: slug,
                outcome,
                plan: Some(plan),
            };
        }
        let settings = self.settings;
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
            let journal: &dyn super::Journal = match self.ledger {
                Some(ledger) => ledger,
                None => &NoJournal,
            };
            super::publish_repo(reader, writer, plan, &opts, &publish, journal).await
        };
        if let (Some(resume), Some(fingerprint)) = (resuming, &fingerprint) {
            resume.record(&slug, &plan.base, fingerprint, &outcome);
        }
        RepoResult {
            repository: slug,
            plan: Some(plan),
            outcome,
        }
    }
}

/// Repositories to work on (skipping archived ones, forks and filtered-out names), and
/// results for those that could not be read.
async fn discover(
    reader: &GitHubReader,
    target: &Target,
    filters: &Filters,
    progress: &dyn Progress,
) -> Result<(Vec<crate::github::RepoSnapshot>, Vec<RepoResult>), GitHubError> {
    let mut failed = Vec::new();
    let snapshots = match target {
        Target::Org(org) => {
            reader
                .org_repositories(org, |done, total| {
                    progress.discovered(done, total, reader.requests())
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
                    Err((slug, e)) => failed.push(RepoResult::failed(slug, "discover", &e)),
                }
            }
            found
        }
    };
    let named = matches!(target, Target::Repos(_));
    let kept = snapshots
        .into_iter()
        .filter(|s| remote::skip_reason(s, filters, named).is_none())
        .collect();
    Ok((kept, failed))
}

/// Every target's rows, in target order. Across organizations, one that failed (but for a
/// rejected token) is a failed row and the others' rows stand; otherwise its error stops the
/// run.
pub fn rows(
    targets: &[Target],
    outcomes: Vec<Result<Vec<RepoResult>, GitHubError>>,
    several: bool,
) -> Result<Vec<RepoResult>, GitHubError> {
    let mut results = Vec::new();
    for (target, outcome) in targets.iter().zip(outcomes) {
        match outcome {
            Ok(mut rows) => results.append(&mut rows),
            Err(e @ GitHubError::BudgetSpent { .. }) => return Err(e),
            Err(e) if several && !matches!(e, GitHubError::Unauthorized) => {
                results.push(RepoResult::failed(target_name(target), "discover", &e))
            }
            Err(e) => return Err(e),
        }
    }
    Ok(results)
}
