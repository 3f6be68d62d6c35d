//! The shapes of the GitHub responses migrate reads, as typed `Deserialize` structs (fields as
//! GitHub's OpenAPI and GraphQL descriptions declare them: required ones required, nullable
//! ones `Option`). A response of another shape is a [`GitHubError::BadResponse`] naming the
//! request, never a silent empty string.

use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::error::GitHubError;

/// `value` read as `T`; a mismatch names `what` was asked for and where the shape differed.
pub fn decode<T: DeserializeOwned>(value: Value, what: &str) -> Result<T, GitHubError> {
    serde_json::from_value(value).map_err(|e| GitHubError::BadResponse {
        what: what.to_string(),
        message: e.to_string(),
    })
}

/// The list under `field` of one page of a paginated REST listing.
pub fn page_items<T: DeserializeOwned>(
    mut page: Value,
    field: &str,
    what: &str,
) -> Result<Vec<T>, GitHubError> {
    match page.get_mut(field) {
        Some(items) => decode(items.take(), what),
        None => Err(GitHubError::BadResponse {
            what: what.to_string(),
            message: format!("no `{field}` list"),
        }),
    }
}

/// An item known by its name: a secret, an environment, a repository of a selection.
#[derive(Debug, Deserialize)]
pub struct Named {
    pub name: String,
}

/// An Actions variable (its value is readable, unlike a secret's).
#[derive(Debug, Deserialize)]
pub struct Variable {
    pub name: String,
    pub value: String,
}

/// An organization's Actions secret.
#[derive(Debug, Deserialize)]
pub struct OrgSecretItem {
    pub name: String,
    /// `all`, `private` or `selected`.
    pub visibility: String,
}

/// The OIDC `sub` template of a repository (`use_default`) or an organization.
#[derive(Debug, Deserialize)]
pub struct SubTemplate {
    pub use_default: Option<bool>,
    #[serde(default)]
    pub include_claim_keys: Vec<String>,
    pub sub_claim_prefix: Option<String>,
}

/// `GET /repos/{owner}/{repo}/actions/runs`.
#[derive(Debug, Deserialize)]
pub struct Runs {
    pub workflow_runs: Vec<Run>,
}

/// A workflow run.
#[derive(Debug, Deserialize)]
pub struct Run {
    pub id: u64,
    pub path: String,
    pub html_url: String,
    pub event: String,
    pub head_branch: Option<String>,
    pub head_sha: String,
    pub conclusion: Option<String>,
    pub created_at: String,
    pub updated_at: String,
    pub run_started_at: Option<String>,
}

/// `GET /repos/{owner}/{repo}/actions/runs/{run_id}/jobs`.
#[derive(Debug, Deserialize)]
pub struct Jobs {
    pub jobs: Vec<Job>,
}

/// A job of a run.
#[derive(Debug, Deserialize)]
pub struct Job {
    pub id: u64,
    pub name: String,
    pub conclusion: Option<String>,
    pub started_at: Option<String>,
    pub completed_at: Option<String>,
}

/// `GET /meta`: the address ranges GitHub's services use.
#[derive(Debug, Deserialize)]
pub struct Meta {
    /// GitHub-hosted Actions runners.
    #[serde(default)]
    pub actions: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_changed_shape_is_an_error_naming_the_request() {
        let runs = serde_json::json!({"workflow_runs": [{"id": "seven"}]});
        let e = decode::<Runs>(runs, "workflow runs of acme/api").unwrap_err();
        let text = e.to_string();
        assert!(text.contains("workflow runs of acme/api"), "{text}");
        assert!(text.contains("unexpected response: invalid type"), "{text}");
        let e = page_items::<Named>(serde_json::json!({"total_count": 0}), "secrets", "secrets")
            .unwrap_err();
        assert!(e.to_string().contains("no `secrets` list"), "{e}");
    }

    #[test]
    fn nullable_fields_stay_optional() {
        let jobs: Jobs = decode(
            serde_json::json!({"total_count": 1, "jobs": [{"id": 1, "name": "deploy",
                "conclusion": null, "started_at": "2026-11-25T10:00:00Z", "completed_at": null}]}),
            "jobs",
        )
        .unwrap();
        assert_eq!(jobs.jobs[0].conclusion, None);
    }
}

/// A GraphQL list of nodes (`nodes` may be null, and so may each node: both are skipped).
#[derive(Debug, Deserialize)]
#[serde(bound = "T: Deserialize<'de>")]
pub struct Nodes<T> {
    #[serde(default)]
    nodes: Option<Vec<Option<T>>>,
}

impl<T> Nodes<T> {
    pub fn into_vec(self) -> Vec<T> {
        self.nodes.into_iter().flatten().flatten().collect()
    }
}

impl<T> Default for Nodes<T> {
    fn default() -> Self {
        Self { nodes: None }
    }
}

/// `organization(login:)` with a page of its repositories (discovery).
#[derive(Debug, Deserialize)]
pub struct OrgPage {
    pub organization: Option<OrgNode>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OrgNode {
    pub database_id: Option<u64>,
    pub repositories: RepoConnection,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RepoConnection {
    pub total_count: u64,
    pub page_info: PageInfo,
    #[serde(flatten)]
    pub nodes: Nodes<RepoNode>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PageInfo {
    pub has_next_page: bool,
    pub end_cursor: Option<String>,
}

/// One repository as the discovery fragment (`read::REPO_FIELDS`) selects it.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RepoNode {
    pub name: String,
    pub database_id: Option<u64>,
    pub is_archived: bool,
    pub is_fork: bool,
    pub owner: OwnerNode,
    #[serde(default)]
    pub repository_topics: Nodes<TopicNode>,
    pub default_branch_ref: Option<BranchRef>,
    /// `HEAD:.github/workflows`, when it is a tree.
    pub workflows: Option<GitObject>,
    /// `HEAD:.github/actions`, when it is a tree.
    pub actions: Option<GitObject>,
    /// `HEAD:action.yml`.
    pub root_action: Option<GitObject>,
    /// Absent when the server's schema lacks the field (the query then leaves it out).
    #[serde(default)]
    pub environments: Option<EnvironmentConnection>,
    #[serde(default)]
    pub campaign_pulls: Nodes<PullNode>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OwnerNode {
    pub login: String,
    pub database_id: Option<u64>,
}

#[derive(Debug, Deserialize)]
pub struct TopicNode {
    pub topic: Named,
}

#[derive(Debug, Deserialize)]
pub struct BranchRef {
    pub name: String,
    pub target: Option<Commit>,
}

#[derive(Debug, Deserialize)]
pub struct Commit {
    pub oid: String,
}

/// A Git object as the fragments select it: a tree's entries, or a blob's text. A fragment
/// on the other kind leaves an empty object, so every field is optional.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GitObject {
    pub entries: Option<Vec<TreeEntry>>,
    pub text: Option<String>,
    pub is_binary: Option<bool>,
    pub is_truncated: Option<bool>,
}

#[derive(Debug, Deserialize)]
pub struct TreeEntry {
    pub name: String,
    /// `blob`, `tree` or `commit` (a submodule).
    #[serde(rename = "type")]
    pub kind: String,
    pub object: Option<GitObject>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EnvironmentConnection {
    pub total_count: u64,
    #[serde(flatten)]
    pub nodes: Nodes<Named>,
}

/// A pull request on the campaign branch.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PullNode {
    pub number: u64,
    pub url: String,
    /// `OPEN`, `CLOSED` or `MERGED`.
    pub state: String,
    pub merged_at: Option<String>,
    pub head_ref_name: String,
    #[serde(default)]
    pub files: Option<Nodes<PathNode>>,
}

#[derive(Debug, Deserialize)]
pub struct PathNode {
    pub path: String,
}

/// Anything GitHub names by its `sha` (a created tree or commit, a ref's object, a parent).
#[derive(Debug, Deserialize)]
pub struct Sha {
    pub sha: String,
}

/// `GET /repos/{owner}/{repo}/git/ref/{ref}`.
#[derive(Debug, Deserialize)]
pub struct GitRef {
    pub object: Sha,
}

/// `GET /repos/{owner}/{repo}/git/commits/{sha}`.
#[derive(Debug, Deserialize)]
pub struct GitCommit {
    pub tree: Sha,
    pub parents: Vec<Sha>,
}

/// A pull request (`merged` only in the single-pull request responses).
#[derive(Debug, Deserialize)]
pub struct Pull {
    pub number: u64,
    pub html_url: String,
    pub state: String,
    pub merged: Option<bool>,
    pub merged_at: Option<String>,
    pub head: Sha,
    pub body: Option<String>,
    pub title: String,
}

/// An issue comment.
#[derive(Debug, Deserialize)]
pub struct Comment {
    pub id: u64,
    pub html_url: String,
    pub body: Option<String>,
}

/// An issue (the issues listing also holds pull requests, marked by `pull_request`).
#[derive(Debug, Deserialize)]
pub struct Issue {
    pub number: u64,
    pub html_url: String,
    pub body: Option<String>,
    pub pull_request: Option<Value>,
}
