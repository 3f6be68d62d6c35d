//! The GitHub connections of one campaign run, by owner: a GitHub App gets one per
//! organization (its installation's token and governor there), a personal token one shared by
//! every owner (one token, one set of limits). Commands ask for the connection of the
//! repository or organization at hand. Readers and writers are opened apart, each checked
//! against what its task needs, so a read-only command holds no writer.

use std::collections::BTreeMap;
use std::sync::Arc;

use futures::future::join_all;

use super::permissions::Task;
use super::{ConditionalCache, GitHubError, GitHubReader, GitHubWriter, Identity, Policy};

/// Per-owner handles (readers, or writers); owners compare as GitHub logins do, without case.
#[derive(Clone)]
pub struct Connections<H = GitHubReader> {
    /// The personal token's connection, whoever the owner.
    shared: Option<H>,
    by_owner: BTreeMap<String, H>,
}

/// Connections for a campaign, and the owners that could not be reached (App not installed
/// there, a permission missing), each with why.
pub struct Opened<H = GitHubReader> {
    pub connections: Connections<H>,
    pub unreachable: Vec<(String, GitHubError)>,
}

impl Connections<GitHubReader> {
    /// Readers for every owner as `identity`, each checked against `task`. A rejected token
    /// or App key stops everything; any other failure leaves that owner unreachable and the
    /// others connected.
    pub async fn open(
        url: &str,
        policy: &Policy,
        identity: &Identity,
        owners: &[String],
        task: Task,
    ) -> Result<Opened, GitHubError> {
        open_with(identity, owners, |owner| async move {
            super::connect_reader_as(url, policy.clone(), identity, &owner, task).await
        })
        .await
    }

    /// The same connections, revalidating earlier replies from `cache`.
    pub fn with_cache(&self, cache: &Arc<ConditionalCache>) -> Self {
        Self {
            shared: self.shared.as_ref().map(|r| r.with_cache(cache.clone())),
            by_owner: self
                .by_owner
                .iter()
                .map(|(owner, r)| (owner.clone(), r.with_cache(cache.clone())))
                .collect(),
        }
    }

    /// Requests sent so far through every connection.
    pub fn requests(&self) -> u64 {
        self.shared
            .iter()
            .chain(self.by_owner.values())
            .map(GitHubReader::requests)
            .sum()
    }
}

impl Connections<GitHubWriter> {
    /// Writers for every owner as `identity`, each checked against `task` (as
    /// [`Connections::open`]).
    pub async fn open_writers(
        url: &str,
        policy: &Policy,
        identity: &Identity,
        owners: &[String],
        task: Task,
    ) -> Result<Opened<GitHubWriter>, GitHubError> {
        open_with(identity, owners, |owner| async move {
            super::connect_writer_as(url, policy.clone(), identity, &owner, task)
                .await
                .map(|(_, writer)| writer)
        })
        .await
    }
}

/// One connection through `connect` per owner (one shared for a personal token).
async fn open_with<H, F, Fut>(
    identity: &Identity,
    owners: &[String],
    connect: F,
) -> Result<Opened<H>, GitHubError>
where
    F: Fn(String) -> Fut,
    Fut: Future<Output = Result<H, GitHubError>>,
{
    if let Identity::Token = identity {
        return Ok(Opened {
            connections: Connections::shared(connect(String::new()).await?),
            unreachable: Vec::new(),
        });
    }
    let attempts = join_all(owners.iter().map(|owner| connect(owner.clone()))).await;
    let mut connections = Connections {
        shared: None,
        by_owner: BTreeMap::new(),
    };
    let mut unreachable = Vec::new();
    for (owner, attempt) in owners.iter().zip(attempts) {
        match attempt {
            Ok(handle) => {
                connections.by_owner.insert(owner.to_lowercase(), handle);
            }
            Err(e @ (GitHubError::Unauthorized | GitHubError::AppRejected { .. })) => {
                return Err(e);
            }
            Err(e) => unreachable.push((owner.clone(), e)),
        }
    }
    Ok(Opened {
        connections,
        unreachable,
    })
}

impl<H> Connections<H> {
    /// One connection for every owner (a personal token, or a test's handle).
    pub fn shared(handle: H) -> Self {
        Self {
            shared: Some(handle),
            by_owner: BTreeMap::new(),
        }
    }

    /// The connection that reaches `owner`'s repositories.
    pub fn for_owner(&self, owner: &str) -> Result<&H, GitHubError> {
        self.shared
            .as_ref()
            .or_else(|| self.by_owner.get(&owner.to_lowercase()))
            .ok_or_else(|| GitHubError::NoConnection {
                owner: owner.to_string(),
            })
    }

    /// The connection for `owner/name`.
    pub fn for_repo(&self, repo: &str) -> Result<&H, GitHubError> {
        self.for_owner(repo.split_once('/').map_or(repo, |(owner, _)| owner))
    }

    /// Any connection, for what belongs to no owner (`GET /meta`).
    pub fn any(&self) -> Option<&H> {
        self.shared
            .as_ref()
            .or_else(|| self.by_owner.values().next())
    }
}
