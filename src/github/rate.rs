//! What a run will cost before it starts: an organization's repository count (GraphQL
//! `totalCount`, one request) and a token's primary limit (`GET /rate_limit`, which GitHub does
//! not count against it).

use http::Method;
use serde_json::{Value, json};

use super::error::GitHubError;
use super::read::GitHubReader;
use super::transport::Access;
use crate::budget::Limit;

const COUNT: &str = "query($org: String!, $first: Int!) { organization(login: $org) { \
    repositories(first: $first) { totalCount } } }";

impl GitHubReader {
    /// How many repositories `org` has (archived and forks included).
    pub async fn org_repository_count(&self, org: &str) -> Result<usize, GitHubError> {
        let what = format!("organization {org}");
        let value = self
            .transport
            .graphql(COUNT, json!({ "org": org, "first": 1 }), &what)
            .await?;
        value["data"]["organization"]["repositories"]["totalCount"]
            .as_u64()
            .map(|n| n as usize)
            .ok_or(GitHubError::NotFound { what })
    }

    /// This connection's token's REST limit (`resources.core`).
    pub async fn rate_limit(&self) -> Result<Limit, GitHubError> {
        let what = "GET /rate_limit";
        let reply = self
            .transport
            .send(
                Method::GET,
                "/rate_limit",
                None,
                "application/vnd.github+json",
                Access::Read,
                what,
            )
            .await?;
        if reply.status != 200 {
            return Err(self.transport.fail(&reply, what));
        }
        let value = reply.json(what)?;
        let core = &value["resources"]["core"];
        let number = |key: &str| core.get(key).and_then(Value::as_i64);
        match (number("limit"), number("remaining"), number("reset")) {
            (Some(limit), Some(remaining), Some(reset)) => Ok(Limit {
                limit: limit.max(0) as u64,
                remaining: remaining.max(0) as u64,
                reset,
            }),
            _ => Err(GitHubError::BadResponse {
                what: what.to_string(),
                message: "no resources.core limit".into(),
            }),
        }
    }
}
