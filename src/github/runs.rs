//! Failed workflow runs for diagnosis (effects): the failed runs of a branch since a time,
//! a run's jobs, a job's log (`…/logs` answers with a redirect to the log's text); and for
//! key attribution, every run's span since a time and the Actions runners' address ranges.

use super::GitHubError;
use super::read::{GitHubReader, percent_encode};
use super::wire;

/// A failed (or never started) run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailedRun {
    pub id: u64,
    /// The workflow file; GitHub may append `@REF`.
    pub path: String,
    pub url: String,
    /// `push`, `pull_request`, `schedule`...
    pub event: String,
    pub head_branch: String,
    /// `failure` or `startup_failure`.
    pub conclusion: String,
    pub created_at: String,
}

/// One job of a run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunJob {
    pub id: u64,
    pub name: String,
    pub conclusion: String,
    pub started_at: Option<String>,
    pub completed_at: Option<String>,
}

impl GitHubReader {
    /// Runs on `branch` created at or after `since` (RFC 3339) that did not succeed, newest first.
    pub async fn failed_runs_since(
        &self,
        owner: &str,
        repo: &str,
        branch: &str,
        since: &str,
    ) -> Result<Vec<FailedRun>, GitHubError> {
        let what = format!("workflow runs of {owner}/{repo}");
        let mut out = Vec::new();
        // `status=failure` does not list runs that never started: ask for those too.
        for status in ["failure", "startup_failure"] {
            let v = self
                .get_json(
                    &format!(
                        "/repos/{owner}/{repo}/actions/runs?branch={}&status={status}&created=%3E%3D{}&per_page=100",
                        percent_encode(branch),
                        percent_encode(since)
                    ),
                    &what,
                )
                .await?;
            let runs: wire::Runs = wire::decode(v, &what)?;
            out.extend(runs.workflow_runs.into_iter().map(|r| FailedRun {
                id: r.id,
                path: r.path,
                url: r.html_url,
                event: r.event,
                head_branch: r.head_branch.unwrap_or_default(),
                conclusion: r.conclusion.unwrap_or_else(|| status.to_string()),
                created_at: r.created_at,
            }));
        }
        out.sort_by(|a, b| b.created_at.cmp(&a.created_at));
        Ok(out)
    }

    /// The jobs of the latest attempt of a run.
    pub async fn run_jobs(
        &self,
        owner: &str,
        repo: &str,
        run_id: u64,
    ) -> Result<Vec<RunJob>, GitHubError> {
        let what = format!("jobs of run {run_id} of {owner}/{repo}");
        let v = self
            .get_json(
                &format!("/repos/{owner}/{repo}/actions/runs/{run_id}/jobs?per_page=100"),
                &what,
            )
            .await?;
        let jobs: wire::Jobs = wire::decode(v, &what)?;
        Ok(jobs
            .jobs
            .into_iter()
            .map(|j| RunJob {
                id: j.id,
                name: j.name,
                // Still running (`null`): no conclusion yet.
                conclusion: j.conclusion.unwrap_or_default(),
                started_at: j.started_at,
                completed_at: j.completed_at,
            })
            .collect())
    }

    /// A job's log as plain text. GitHub answers `302 Found` with the log's (short-lived)
    /// location, which the client follows.
    pub async fn job_log(
        &self,
        owner: &str,
        repo: &str,
        job_id: u64,
    ) -> Result<String, GitHubError> {
        let what = format!("log of job {job_id} of {owner}/{repo}");
        // Not the JSON media type: logs are large and never worth an ETag entry.
        let reply = self
            .get(
                &format!("/repos/{owner}/{repo}/actions/jobs/{job_id}/logs"),
                "application/vnd.github.raw+json",
                &what,
            )
            .await?;
        Ok(reply.body)
    }
}

/// A run's span, for placing an access key's API calls.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunSpan {
    pub id: u64,
    /// The workflow file; GitHub may append `@REF`.
    pub path: String,
    /// RFC 3339: `run_started_at` (the latest attempt's start) and `updated_at`.
    pub started_at: String,
    pub updated_at: String,
}

impl GitHubReader {
    /// Runs of every branch and event created at or after `since` (RFC 3339), newest first, at
    /// most `max_pages` pages of 100; `true` when more were left.
    pub async fn runs_since(
        &self,
        owner: &str,
        repo: &str,
        since: &str,
        max_pages: usize,
    ) -> Result<(Vec<RunSpan>, bool), GitHubError> {
        let what = format!("workflow runs of {owner}/{repo}");
        let path = format!(
            "/repos/{owner}/{repo}/actions/runs?created=%3E%3D{}",
            percent_encode(since)
        );
        let (runs, more) = self
            .paginate_up_to::<wire::Run>(&path, "workflow_runs", &what, max_pages)
            .await?;
        let spans = runs
            .into_iter()
            .map(|r| RunSpan {
                id: r.id,
                path: r.path,
                started_at: r.run_started_at.unwrap_or_else(|| r.created_at.clone()),
                updated_at: r.updated_at,
            })
            .collect();
        Ok((spans, more))
    }

    /// The address ranges of GitHub-hosted Actions runners (`GET /meta`, `actions`).
    pub async fn actions_ranges(&self) -> Result<Vec<String>, GitHubError> {
        let what = "GitHub's address ranges (GET /meta)";
        let v = self.get_json("/meta", what).await?;
        Ok(wire::decode::<wire::Meta>(v, what)?.actions)
    }
}
