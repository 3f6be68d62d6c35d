//! GitHub access (effects): token discovery, endpoints for github.com and GHES, a governed
//! transport, and split capabilities: [`GitHubReader`] for scanning, a writer for PRs.

pub mod auth;
pub mod cache;
pub mod campaign;
pub mod endpoint;
pub mod error;
pub mod governor;
pub mod issues;
pub mod read;
pub mod runs;
mod transport;
pub mod write;

use std::sync::Arc;

pub use cache::ConditionalCache;
pub use endpoint::Endpoint;
pub use error::GitHubError;
pub use governor::Policy;
pub use read::{
    CampaignPull, GitHubReader, OrgSecret, RemoteFile, RepoSecrets, RepoSnapshot, SubCustomization,
    WorkflowRun,
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
