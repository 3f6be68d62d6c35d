//! The GitHub connections of one campaign run, by owner: a GitHub App gets one per
//! organization (its installation's token and governor there), a personal token one shared by
//! every owner (one token, one set of limits). Commands ask for the connection of the
//! repository or organization at hand.

use std::collections::BTreeMap;
use std::sync::Arc;

use futures::future::join_all;

use super::permissions::Task;
use super::{ConditionalCache, GitHubError, GitHubReader, Identity, Policy};

/// Per-owner readers; owners compare as GitHub logins do, without case.
#[derive(Clone)]
pub struct Connections {
    /// The personal token's connection, whoever the owner.
    shared: Option<GitHubReader>,
    by_owner: BTreeMap<String, GitHubReader>,
}

/// Connections for a campaign, and the owners that could not be reached (App not installed
/// there, a permission missing), each with why.
pub struct Opened {
    pub connections: Connections,
    pub unreachable: Vec<(String, GitHubError)>,
}

impl Connections {
    /// One connection for every owner (a personal token, or a test's reader).
    pub fn shared(reader: GitHubReader) -> Self {
        Self {
            shared: Some(reader),
            by_owner: BTreeMap::new(),
        }
    }

    /// Connects to every owner as `identity`. A rejected token or App key stops everything;
    /// any other failure leaves that owner unreachable and the others connected.
    pub async fn open(
        url: &str,
        policy: &Policy,
        identity: &Identity,
        owners: &[String],
        task: Task,
    ) -> Result<Opened, GitHubError> {
        if let Identity::Token = identity {
            let reader = super::connect_reader_as(url, policy.clone(), identity, "", task).await?;
            return Ok(Opened {
                connections: Self::shared(reader),
                unreachable: Vec::new(),
            });
        }
        let attempts = join_all(
            owners
                .iter()
                .map(|owner| super::connect_reader_as(url, policy.clone(), identity, owner, task)),
        )
        .await;
        let mut connections = Self {
            shared: None,
            by_owner: BTreeMap::new(),
        };
        let mut unreachable = Vec::new();
        for (owner, attempt) in owners.iter().zip(attempts) {
            match attempt {
                Ok(reader) => {
                    connections.by_owner.insert(owner.to_lowercase(), reader);
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

    /// The connection that reaches `owner`'s repositories.
    pub fn for_owner(&self, owner: &str) -> Result<&GitHubReader, GitHubError> {
        self.shared
            .as_ref()
            .or_else(|| self.by_owner.get(&owner.to_lowercase()))
            .ok_or_else(|| GitHubError::NoConnection {
                owner: owner.to_string(),
            })
    }

    /// The connection for `owner/name`.
    pub fn for_repo(&self, repo: &str) -> Result<&GitHubReader, GitHubError> {
        self.for_owner(repo.split_once('/').map_or(repo, |(owner, _)| owner))
    }

    /// Any connection, for what belongs to no owner (`GET /meta`).
    pub fn any(&self) -> Option<&GitHubReader> {
        self.shared
            .as_ref()
            .or_else(|| self.by_owner.values().next())
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
