//! Failure diagnosis (effects): for each merged, not yet verified repository the failed runs
//! since the merge on the default branch, and for each open pull request its own failed runs,
//! of the workflows the pull request changed; the latest per workflow is explained from its
//! failed job's log ([`crate::campaign::diagnose`]).

use std::collections::BTreeMap;

use super::RepoView;
use crate::campaign::diagnose::{self, Diagnosis, FailureClass};
use crate::campaign::state::RepoState;
use crate::campaign::time;
use crate::github::runs::FailedRun;
use crate::github::{Connections, GitHubReader};

/// One failed run, explained.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Failure {
    pub workflow: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub job: Option<String>,
    pub run_url: String,
    /// The `sub` the run presented (from its event and ref), for trust mismatches.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sub: Option<String>,
    /// For trust mismatches, with IAM: the `sub` values the role's trust policy allows.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub allowed_subs: Vec<String>,
    #[serde(flatten)]
    pub diagnosis: Diagnosis,
}

/// Failures by repository; lookups that fail go to `errors` and the run goes on.
pub async fn diagnose(
    github: &Connections,
    iam: Option<&crate::iam::keys::IamKeys>,
    repos: &[RepoView],
    default_branches: &BTreeMap<String, String>,
    errors: &mut Vec<String>,
) -> BTreeMap<String, Vec<Failure>> {
    let mut out = BTreeMap::new();
    for view in repos {
        let Some(pull) = view.facts.pull.as_ref() else {
            continue;
        };
        let (branch, since) = if pull.merged && view.state == RepoState::PrMerged {
            let Some(branch) = default_branches.get(&view.facts.repo) else {
                continue;
            };
            (branch.clone(), pull.merged_at.unwrap_or_default())
        } else if pull.state == "open" {
            (pull.head.clone(), 0)
        } else {
            continue;
        };
        let Some((owner, name)) = view.facts.repo.split_once('/') else {
            continue;
        };
        let reader = match github.for_owner(owner) {
            Ok(reader) => reader,
            Err(e) => {
                errors.push(format!("{}: failed runs: {e}", view.facts.repo));
                continue;
            }
        };
        let runs = match reader
            .failed_runs_since(owner, name, &branch, &time::format(since))
            .await
        {
            Ok(runs) => runs,
            Err(e) => {
                errors.push(format!("{}: failed runs: {e}", view.facts.repo));
                continue;
            }
        };
        let workflows: Vec<&String> = pull
            .files
            .iter()
            .filter(|p| p.starts_with(".github/workflows/"))
            .collect();
        // Newest first: keep the latest failed run of each changed workflow.
        let mut latest: BTreeMap<String, &FailedRun> = BTreeMap::new();
        for run in &runs {
            let changed = workflows.is_empty()
                || workflows
                    .iter()
                    .any(|w| diagnose::same_workflow(&run.path, w));
            let path = run.path.split('@').next().unwrap_or(&run.path).to_string();
            if changed {
                latest.entry(path).or_insert(run);
            }
        }
        let mut failures = Vec::new();
        for (workflow, run) in latest {
            match explain(reader, owner, name, run).await {
                Ok((job, diagnosis)) => {
                    let (sub, allowed_subs) = if diagnosis.class == FailureClass::TrustMismatch {
                        let ctx = RunContext {
                            repo: &view.facts.repo,
                            workflow: &workflow,
                            job: job.as_deref(),
                            run,
                        };
                        trust_context(reader, iam, &ctx).await
                    } else {
                        (None, Vec::new())
                    };
                    failures.push(Failure {
                        workflow,
                        job,
                        run_url: run.url.clone(),
                        sub,
                        allowed_subs,
                        diagnosis,
                    });
                }
                Err(e) => errors.push(format!("{}: run {}: {e}", view.facts.repo, run.url)),
            }
        }
        if !failures.is_empty() {
            out.insert(view.facts.repo.clone(), failures);
        }
    }
    out
}

/// Which run a trust mismatch happened in.
struct RunContext<'a> {
    repo: &'a str,
    workflow: &'a str,
    job: Option<&'a str>,
    run: &'a FailedRun,
}

/// The `sub` the failed job presented (its environment replaces the ref) and, with IAM, the
/// values its role's trust policy allows. The workflow is read at the run's branch.
async fn trust_context(
    reader: &GitHubReader,
    iam: Option<&crate::iam::keys::IamKeys>,
    ctx: &RunContext<'_>,
) -> (Option<String>, Vec<String>) {
    let (owner, name) = ctx.repo.split_once('/').unwrap_or_default();
    let planned = match reader
        .raw_file(owner, name, ctx.workflow, &ctx.run.head_branch)
        .await
    {
        Ok(text) => crate::preflight::migrated_jobs(ctx.workflow, &text).0,
        Err(_) => Vec::new(),
    };
    let job = planned
        .iter()
        .find(|p| p.facts.job.as_deref() == ctx.job)
        .or_else(|| (planned.len() == 1).then(|| &planned[0]));
    let environment = job
        .and_then(|j| j.facts.environment.clone())
        .filter(|e| !e.contains("${{"));
    let sub = match (environment, ctx.run.event.as_str()) {
        (Some(env), _) => format!("repo:{}:environment:{}", ctx.repo, env.replace(':', "%3A")),
        (None, "pull_request") => format!("repo:{}:pull_request", ctx.repo),
        (None, _) => format!("repo:{}:ref:refs/heads/{}", ctx.repo, ctx.run.head_branch),
    };
    let mut allowed = Vec::new();
    if let (Some(iam), Some(job)) = (iam, job) {
        let roles = std::iter::once(job.role.clone()).collect();
        if let Ok(truth) = crate::iam::trust::read(iam, &roles).await
            && let Some(Some(policy)) = truth.roles.get(&job.role)
        {
            let issuer = crate::trust::Issuer::GitHubCom;
            let account = job.role.split(':').nth(4).unwrap_or_default();
            let provider = format!(
                "arn:aws:iam::{account}:oidc-provider/{}",
                issuer.host_path()
            );
            allowed = crate::trust::conditions::allowed_values(
                policy,
                &provider,
                &issuer.condition_key("sub"),
            );
        }
    }
    (Some(sub), allowed)
}

/// The failed job of a run and why it failed.
async fn explain(
    reader: &GitHubReader,
    owner: &str,
    name: &str,
    run: &FailedRun,
) -> Result<(Option<String>, Diagnosis), crate::github::GitHubError> {
    if run.conclusion == "startup_failure" {
        return Ok((None, diagnose::startup_failure()));
    }
    let jobs = reader.run_jobs(owner, name, run.id).await?;
    let Some(job) = jobs.iter().find(|j| j.conclusion == "failure") else {
        return Ok((None, diagnose::unknown()));
    };
    let log = reader.job_log(owner, name, job.id).await?;
    Ok((Some(job.name.clone()), diagnose::classify(&log)))
}

/// Marks repositories with failures `failing`, with the first failure's fix as next step.
pub fn apply(repos: &mut [RepoView], failures: &BTreeMap<String, Vec<Failure>>) {
    for view in repos {
        let Some(first) = failures.get(&view.facts.repo).and_then(|f| f.first()) else {
            continue;
        };
        if matches!(view.state, RepoState::PrMerged | RepoState::PrOpen) {
            view.state = RepoState::Failing;
            view.next = format!(
                "{}: {} ({})",
                first.diagnosis.class.as_str(),
                first.diagnosis.fix,
                first.run_url
            );
        }
    }
}
