//! GitHub access (effects): token discovery, endpoints for github.com and GHES, a governed
//! transport, and split capabilities: [`GitHubReader`] for scanning, a writer for PRs.

pub mod app;
pub mod auth;
pub mod cache;
pub mod campaign;
pub mod connections;
pub mod endpoint;
pub mod enterprise;
pub mod error;
pub mod governor;
pub mod issues;
pub mod permissions;
pub mod rate;
pub mod read;
pub mod runs;
mod transport;
pub mod wire;
pub mod write;

use std::sync::Arc;

pub use cache::ConditionalCache;
pub use connections::Connections;
pub use endpoint::Endpoint;
pub use error::GitHubError;
pub use governor::{Policy, RequestBudget};
pub use read::{
    CampaignPull, GitHubReader, NoText, OrgSecret, RemoteFile, RepoSecrets, RepoSnapshot,
    SubCustomization, WorkflowRun,
};
pub use write::{CommitRef, GitHubWriter, NewPull, PullRef};

/// Opens a read-only connection.
pub fn connect_reader(url: &str, policy: Policy) -> Result<GitHubReader, GitHubError> {
    let endpoint = Endpoint::parse(url)?;
    let token = auth::token_from_environment(&endpoint.host)?;
    let transport = transport::Transport::new(endpoint, token, policy)?;
    Ok(GitHubReader::new(Arc::new(transport)))
}

/// Opens a connection that can read and write (for `rewrite --pr`). Both halves share one
/// governor, so reads and writes count against the same limits.
pub fn connect_writer(
    url: &str,
    policy: Policy,
) -> Result<(GitHubReader, GitHubWriter), GitHubError> {
    let endpoint = Endpoint::parse(url)?;
    let token = auth::token_from_environment(&endpoint.host)?;
    let transport = Arc::new(transport::Transport::new(endpoint, token, policy)?);
    Ok((
        GitHubReader::new(transport.clone()),
        GitHubWriter { transport },
    ))
}

/// Who migrate acts as on GitHub.
pub enum Identity {
    /// A token from GH_TOKEN, GITHUB_TOKEN or `gh auth token`.
    Token,
    /// A GitHub App, through its installation on each organization.
    App(app::AppCredentials),
}

/// A transport to `org` as `identity`. For an App, the installation's permissions are checked
/// against what `task` needs first, so a missing one stops the command before any request
/// that could change something.
async fn open_transport(
    url: &str,
    policy: Policy,
    identity: &Identity,
    org: &str,
    task: permissions::Task,
) -> Result<transport::Transport, GitHubError> {
    let endpoint = Endpoint::parse(url)?;
    match identity {
        Identity::Token => {
            let token = auth::token_from_environment(&endpoint.host)?;
            transport::Transport::new(endpoint, token, policy)
        }
        Identity::App(credentials) => {
            let app = app::App::new(&endpoint, credentials)?;
            let installation = app.installation_for_org(org).await?;
            let missing = permissions::missing(task, &installation.permissions);
            if !missing.is_empty() {
                return Err(GitHubError::MissingPermissions {
                    org: org.to_string(),
                    task: task.name().to_string(),
                    missing: missing
                        .iter()
                        .map(ToString::to_string)
                        .collect::<Vec<_>>()
                        .join(", "),
                });
            }
            let client = app.installation_client(installation.id)?;
            transport::Transport::for_installation(endpoint, client, policy)
        }
    }
}

/// Opens a read-only connection to `org` as `identity` (for an App: its installation there).
pub async fn connect_reader_as(
    url: &str,
    policy: Policy,
    identity: &Identity,
    org: &str,
    task: permissions::Task,
) -> Result<GitHubReader, GitHubError> {
    let transport = open_transport(url, policy, identity, org, task).await?;
    Ok(GitHubReader::new(Arc::new(transport)))
}

/// Opens a read-write connection to `org` as `identity`; reads and writes share one governor.
pub async fn connect_writer_as(
    url: &str,
    policy: Policy,
    identity: &Identity,
    org: &str,
    task: permissions::Task,
) -> Result<(GitHubReader, GitHubWriter), GitHubError> {
    let transport = Arc::new(open_transport(url, policy, identity, org, task).await?);
    Ok((
        GitHubReader::new(transport.clone()),
        GitHubWriter { transport },
    ))
}

/// A reader to ask about enterprise `slug`: the personal token, or for a GitHub App its first
/// installation (which GitHub lets see the enterprise only when installed on it).
pub async fn connect_for_enterprise(
    url: &str,
    policy: Policy,
    identity: &Identity,
) -> Result<GitHubReader, GitHubError> {
    let org = match identity {
        Identity::Token => String::new(),
        Identity::App(credentials) => {
            let app = app::App::new(&Endpoint::parse(url)?, credentials)?;
            let installations = app.installations().await?;
            let first = installations
                .first()
                .ok_or_else(|| GitHubError::AppNotInstalled {
                    org: "any organization".into(),
                })?;
            first.account.clone()
        }
    };
    connect_reader_as(url, policy, identity, &org, permissions::Task::Scan).await
}
