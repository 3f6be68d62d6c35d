//! GitHub calls of campaigns: the pull request on the campaign branch (a read, on
//! [`GitHubReader`]), and secret removal on [`SecretRemover`], a separate capability that only
//! `cleanup` builds, so that read-only commands cannot delete anything.

use std::sync::Arc;

use http::Method;
use serde_json::Value;

use super::error::GitHubError;
use super::read::{GitHubReader, percent_encode};
use super::transport::{Access, Transport};
use crate::campaign::state::PullFacts;
use crate::campaign::time;

impl GitHubReader {
    /// The pull request whose head is `owner:branch`, in any state. When several exist (a
    /// closed one and a newer one), the merged one wins, then the open one, then the newest.
    pub async fn pull_for_branch(
        &self,
        owner: &str,
        repo: &str,
        branch: &str,
    ) -> Result<Option<PullFacts>, GitHubError> {
        let what = format!("pull requests of {owner}/{repo}");
        let reply = self
            .transport
            .send(
                Method::GET,
                &format!(
                    "/repos/{owner}/{repo}/pulls?head={}&state=all&per_page=100",
                    percent_encode(&format!("{owner}:{branch}"))
                ),
                None,
                "application/vnd.github+json",
                Access::Read,
                &what,
            )
            .await?;
        if !(200..300).contains(&reply.status) {
            return Err(self.transport.fail(&reply, &what));
        }
        let value = reply.json(&what)?;
        let mut pulls: Vec<PullFacts> = value
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(pull_facts)
            .collect();
        pulls.sort_by_key(|p| (p.merged, p.state == "open", p.number));
        Ok(pulls.pop())
    }
}

fn pull_facts(v: &Value) -> Option<PullFacts> {
    let merged_at = v["merged_at"].as_str().and_then(time::parse);
    Some(PullFacts {
        number: v["number"].as_u64()?,
        url: v["html_url"].as_str().unwrap_or_default().to_string(),
        state: v["state"].as_str().unwrap_or_default().to_string(),
        // The list endpoint has no `merged` field; `merged_at` says the same.
        merged: v["merged"].as_bool().unwrap_or(false) || merged_at.is_some(),
        merged_at,
        head: v["head"]["ref"].as_str().unwrap_or_default().to_string(),
    })
}

/// Whether a removal did something or found it already done (a re-run after a crash).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Removal {
    Removed,
    AlreadyGone,
}

/// Deletes Actions secrets and edits organization secret selections.
#[derive(Clone)]
pub struct SecretRemover {
    transport: Arc<Transport>,
}

impl SecretRemover {
    /// Shares the reader's connection (and so its rate-limit governor).
    pub fn new(reader: &GitHubReader) -> Self {
        Self {
            transport: reader.transport.clone(),
        }
    }

    async fn delete(&self, path: &str, what: &str) -> Result<Removal, GitHubError> {
        let reply = self
            .transport
            .send(
                Method::DELETE,
                path,
                None,
                "application/vnd.github+json",
                Access::Write,
                what,
            )
            .await?;
        match reply.status {
            200..=299 => Ok(Removal::Removed),
            404 => Ok(Removal::AlreadyGone),
            _ => Err(self.transport.fail(&reply, what)),
        }
    }

    pub async fn delete_repo_secret(&self, repo: &str, name: &str) -> Result<Removal, GitHubError> {
        self.delete(
            &format!("/repos/{repo}/actions/secrets/{name}"),
            &format!("delete secret {name} of {repo}"),
        )
        .await
    }

    pub async fn delete_env_secret(
        &self,
        repo: &str,
        environment: &str,
        name: &str,
    ) -> Result<Removal, GitHubError> {
        self.delete(
            &format!(
                "/repos/{repo}/environments/{}/secrets/{name}",
                percent_encode(environment)
            ),
            &format!("delete secret {name} of {repo} environment {environment}"),
        )
        .await
    }

    pub async fn delete_org_secret(&self, org: &str, name: &str) -> Result<Removal, GitHubError> {
        self.delete(
            &format!("/orgs/{org}/actions/secrets/{name}"),
            &format!("delete organization secret {org}/{name}"),
        )
        .await
    }

    pub async fn remove_repo_from_org_secret(
        &self,
        org: &str,
        name: &str,
        repository_id: u64,
    ) -> Result<Removal, GitHubError> {
        self.delete(
            &format!("/orgs/{org}/actions/secrets/{name}/repositories/{repository_id}"),
            &format!("remove repository {repository_id} from organization secret {org}/{name}"),
        )
        .await
    }
}
