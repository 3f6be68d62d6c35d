//! GitHub writes of campaigns: secret removal on [`SecretRemover`] (across a campaign's
//! organizations: [`CampaignSecrets`]), a separate capability that only `cleanup` builds, so
//! that read-only commands cannot delete anything. (The campaign branch's pull requests come
//! with discovery: [`super::read::CampaignPull`].)

use std::sync::Arc;

use http::Method;

use super::error::GitHubError;
use super::read::{GitHubReader, percent_encode};
use super::transport::{Access, Transport};

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

/// cleanup's secret deletions (one already gone is not an error).
impl crate::campaign::cleanup::execute::SecretWriter for SecretRemover {
    type Error = GitHubError;

    async fn delete_secret(
        &self,
        step: &crate::campaign::cleanup::SecretStep,
    ) -> Result<(), GitHubError> {
        use crate::campaign::cleanup::SecretStep;
        match step {
            SecretStep::DeleteRepoSecret { repo, name } => {
                self.delete_repo_secret(repo, name).await
            }
            SecretStep::DeleteEnvSecret {
                repo,
                environment,
                name,
            } => self.delete_env_secret(repo, environment, name).await,
            SecretStep::RemoveFromOrgSecret {
                org, name, repo_id, ..
            } => self.remove_repo_from_org_secret(org, name, *repo_id).await,
            SecretStep::DeleteOrgSecret { org, name } => self.delete_org_secret(org, name).await,
        }
        .map(|_| ())
    }
}

/// cleanup's secret deletions across a campaign's connections: each step goes through the
/// connection of the organization that owns what it changes (for a GitHub App, that
/// organization's installation).
pub struct CampaignSecrets<'a> {
    connections: &'a super::Connections,
}

impl<'a> CampaignSecrets<'a> {
    pub fn new(connections: &'a super::Connections) -> Self {
        Self { connections }
    }
}

impl crate::campaign::cleanup::execute::SecretWriter for CampaignSecrets<'_> {
    type Error = GitHubError;

    async fn delete_secret(
        &self,
        step: &crate::campaign::cleanup::SecretStep,
    ) -> Result<(), GitHubError> {
        let reader = self.connections.for_owner(step.owner())?;
        SecretRemover::new(reader).delete_secret(step).await
    }
}
