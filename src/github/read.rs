//! Read-only GitHub access: repository discovery with workflow contents (GraphQL, in pages),
//! raw files, secrets (names only) and OIDC `sub` customization. `scan` gets only this type,
//! so it cannot write.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use http::Method;
use serde_json::{Value, json};

use super::cache::{Cached, ConditionalCache};
use super::error::GitHubError;
use super::transport::{Access, Reply, Transport};
use super::wire;
use serde::de::DeserializeOwned;

/// One file read from a repository's default branch.
#[derive(Debug, Clone)]
pub struct RemoteFile {
    /// Path inside the repository (`.github/workflows/deploy.yml`).
    pub path: String,
    /// Text, or why there is none (binary, too large to fetch...).
    pub text: Result<String, NoText>,
}

/// Why a file read from a repository has no text to scan.
#[derive(Debug, Clone, thiserror::Error)]
pub enum NoText {
    #[error("binary file")]
    Binary,
    /// GraphQL truncated it and fetching it raw failed.
    #[error(transparent)]
    NotFetched(GitHubError),
}

/// A repository as discovery saw it, with its workflow and action files.
#[derive(Debug, Clone)]
pub struct RepoSnapshot {
    pub owner: String,
    pub name: String,
    pub id: Option<u64>,
    pub owner_id: Option<u64>,
    pub archived: bool,
    pub fork: bool,
    pub topics: Vec<String>,
    pub default_branch: Option<String>,
    /// Commit the default branch pointed at when the files were read.
    pub head: Option<String>,
    pub files: Vec<RemoteFile>,
    /// Pull requests whose head is the campaign branch, newest first.
    pub campaign_pulls: Vec<CampaignPull>,
    /// Environment names, when discovery saw them all (saves one REST call per repository).
    pub environments: Option<Vec<String>>,
}

impl RepoSnapshot {
    pub fn slug(&self) -> String {
        format!("{}/{}", self.owner, self.name)
    }
}

/// The subject-claim template in force for a repository (or an organization).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SubCustomization {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub use_default: Option<bool>,
    pub include_claim_keys: Vec<String>,
    /// `repo:OWNER@ID/REPO@ID` when GitHub reports the immutable form.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sub_claim_prefix: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct OrgSecret {
    pub name: String,
    /// `all`, `private` or `selected`.
    pub visibility: String,
    /// Repository names, for `selected` visibility.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub selected_repositories: Option<Vec<String>>,
}

/// Names of Actions secrets at the repository and environment level.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct RepoSecrets {
    pub repository: Vec<String>,
    /// (environment, secret name)
    pub environments: Vec<(String, String)>,
}

const REPO_FIELDS: &str = r#"
fragment Blob on Blob { text byteSize isBinary isTruncated }
fragment Repo on Repository {
  name databaseId isArchived isFork
  owner { login ... on Organization { databaseId } ... on User { databaseId } }
  repositoryTopics(first: 20) { nodes { topic { name } } }
  defaultBranchRef { name target { oid } }
  workflows: object(expression: "HEAD:.github/workflows") { ... on Tree { entries { name type object { ...Blob } } } }
  actions: object(expression: "HEAD:.github/actions") { ... on Tree { entries { name type object { ... on Tree { entries { name type object { ...Blob } } } } } } }
  rootAction: object(expression: "HEAD:action.yml") { ...Blob }
  ENVIRONMENTS
  campaignPulls: pullRequests(headRefName: "migrate/aws-oidc", first: 10, states: [OPEN, CLOSED, MERGED]) { nodes { number url state mergedAt headRefName files(first: 100) { nodes { path } } } }
}
"#;

/// Where [`REPO_FIELDS`] selects environments: a field older GitHub Enterprise Server schemas
/// lack (the REST listing then serves).
const ENVIRONMENTS_SELECTION: &str = "environments(first: 50) { totalCount nodes { name } }";

fn repo_fields(environments: bool) -> String {
    REPO_FIELDS.replace(
        "ENVIRONMENTS",
        if environments {
            ENVIRONMENTS_SELECTION
        } else {
            ""
        },
    )
}

/// GitHub's answer to a field its schema does not have (`undefinedField`).
fn lacks_environments(message: &str) -> bool {
    message.contains("'environments' doesn't exist")
}

/// A pull request on the campaign branch, as discovery saw it (saves one REST call per
/// repository for `status`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CampaignPull {
    pub number: u64,
    pub url: String,
    /// `open` or `closed` (merged ones are closed).
    pub state: String,
    pub merged: bool,
    pub merged_at: Option<String>,
    pub head: String,
    /// Paths it changes (the first 100).
    pub files: Vec<String>,
}

/// A completed workflow run, as the Actions API lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkflowRun {
    /// The workflow file (`.github/workflows/deploy.yml`).
    pub path: String,
    pub url: String,
    pub created_at: String,
    pub head_sha: String,
}

/// Repositories per GraphQL page: small enough to stay under GitHub's 10 s query timeout
/// when every page carries blob text.
pub const PAGE_SIZE: usize = 25;

#[derive(Clone)]
pub struct GitHubReader {
    pub(super) transport: Arc<Transport>,
    /// Whether the server's GraphQL schema has `Repository.environments` (until it says not).
    pub(super) environments_in_graphql: Arc<AtomicBool>,
    /// Earlier replies to revalidate with `If-None-Match` (campaign commands keep them).
    pub(super) cache: Option<Arc<ConditionalCache>>,
}

impl GitHubReader {
    pub(super) fn new(transport: Arc<Transport>) -> Self {
        Self {
            transport,
            environments_in_graphql: Arc::new(AtomicBool::new(true)),
            cache: None,
        }
    }

    /// The same connection, revalidating REST GETs against `cache`.
    pub fn with_cache(&self, cache: Arc<ConditionalCache>) -> Self {
        Self {
            transport: self.transport.clone(),
            environments_in_graphql: self.environments_in_graphql.clone(),
            cache: Some(cache),
        }
    }

    /// Runs a discovery query built around the repository fields; when the server's schema
    /// lacks `environments`, asks again without it (and from then on).
    async fn discover(
        &self,
        build: impl Fn(&str) -> String,
        vars: Value,
        what: &str,
    ) -> Result<Value, GitHubError> {
        loop {
            let environments = self.environments_in_graphql.load(Ordering::Relaxed);
            let query = build(&repo_fields(environments));
            match self.transport.graphql(&query, vars.clone(), what).await {
                Err(GitHubError::GraphQl(message))
                    if environments && lacks_environments(&message) =>
                {
                    self.environments_in_graphql.store(false, Ordering::Relaxed);
                }
                other => return other,
            }
        }
    }

    pub fn requests(&self) -> u64 {
        self.transport.governor.requests()
    }

    pub fn retries(&self) -> u64 {
        self.transport.governor.retries()
    }

    /// Every repository of an organization with its workflow files, page by page.
    /// `on_page` is told how many repositories have been read so far and the total.
    pub async fn org_repositories(
        &self,
        org: &str,
        mut on_page: impl FnMut(usize, usize),
    ) -> Result<(Option<u64>, Vec<RepoSnapshot>), GitHubError> {
        let query = |fields: &str| {
            format!(
                "query($org: String!, $cursor: String, $first: Int!) {{ organization(login: $org) {{ databaseId \
                 repositories(first: $first, after: $cursor, orderBy: {{field: NAME, direction: ASC}}) {{ totalCount \
                 pageInfo {{ hasNextPage endCursor }} nodes {{ ...Repo }} }} }} }} {fields}"
            )
        };
        let mut cursor: Option<String> = None;
        let mut repos = Vec::new();
        let mut org_id = None;
        loop {
            let vars = json!({ "org": org, "cursor": cursor, "first": PAGE_SIZE });
            let value = self
                .discover(query, vars, &format!("organization {org}"))
                .await?;
            let what = format!("repositories of organization {org}");
            let page: wire::OrgPage = wire::decode(data(value), &what)?;
            let Some(organization) = page.organization else {
                return Err(GitHubError::NotFound {
                    what: format!("organization {org}"),
                });
            };
            org_id = organization.database_id.or(org_id);
            let connection = organization.repositories;
            for node in connection.nodes.into_vec() {
                repos.push(self.snapshot(node).await?);
            }
            on_page(repos.len(), connection.total_count as usize);
            cursor = connection.page_info.end_cursor;
            if !connection.page_info.has_next_page || cursor.is_none() {
                break;
            }
        }
        Ok((org_id, repos))
    }

    /// Named repositories (`OWNER/REPO`), several per GraphQL request.
    pub async fn repositories(
        &self,
        slugs: &[String],
    ) -> Vec<Result<RepoSnapshot, (String, GitHubError)>> {
        let mut out = Vec::new();
        for chunk in slugs.chunks(PAGE_SIZE) {
            let mut parts = Vec::new();
            let mut vars = serde_json::Map::new();
            let mut declared = Vec::new();
            for (i, slug) in chunk.iter().enumerate() {
                let (owner, name) = slug.split_once('/').unwrap_or((slug.as_str(), ""));
                declared.push(format!("$o{i}: String!, $n{i}: String!"));
                parts.push(format!(
                    "r{i}: repository(owner: $o{i}, name: $n{i}) {{ ...Repo }}"
                ));
                vars.insert(format!("o{i}"), json!(owner));
                vars.insert(format!("n{i}"), json!(name));
            }
            let query = |fields: &str| {
                format!(
                    "query({}) {{ {} }} {fields}",
                    declared.join(", "),
                    parts.join(" ")
                )
            };
            match self
                .discover(query, Value::Object(vars), "repositories")
                .await
            {
                Err(e) => {
                    for slug in chunk {
                        out.push(Err((slug.clone(), e.clone())));
                    }
                }
                Ok(value) => {
                    let mut data = data(value);
                    for (i, slug) in chunk.iter().enumerate() {
                        let node = data
                            .get_mut(format!("r{i}"))
                            .map(Value::take)
                            .unwrap_or_default();
                        let node: Option<wire::RepoNode> =
                            match wire::decode(node, &format!("repository {slug}")) {
                                Ok(node) => node,
                                Err(e) => {
                                    out.push(Err((slug.clone(), e)));
                                    continue;
                                }
                            };
                        let Some(node) = node else {
                            out.push(Err((
                                slug.clone(),
                                GitHubError::NotFound {
                                    what: format!("repository {slug}"),
                                },
                            )));
                            continue;
                        };
                        out.push(self.snapshot(node).await.map_err(|e| (slug.clone(), e)));
                    }
                }
            }
        }
        out
    }

    async fn snapshot(&self, node: wire::RepoNode) -> Result<RepoSnapshot, GitHubError> {
        let wire::RepoNode {
            name,
            database_id,
            is_archived,
            is_fork,
            owner,
            repository_topics,
            default_branch_ref,
            workflows,
            actions,
            root_action,
            environments,
            campaign_pulls,
        } = node;
        let owner_login = owner.login;
        let head = default_branch_ref
            .as_ref()
            .and_then(|b| b.target.as_ref())
            .map(|t| t.oid.clone());
        let mut files: Vec<(String, wire::GitObject)> = Vec::new();
        for entry in workflows.and_then(|t| t.entries).into_iter().flatten() {
            if entry.kind == "blob" && is_yaml(&entry.name) {
                let path = format!(".github/workflows/{}", entry.name);
                files.push((path, entry.object.unwrap_or_default()));
            }
        }
        for dir in actions.and_then(|t| t.entries).into_iter().flatten() {
            let entries = dir.object.and_then(|o| o.entries).into_iter().flatten();
            for entry in entries {
                if matches!(entry.name.as_str(), "action.yml" | "action.yaml") {
                    let path = format!(".github/actions/{}/{}", dir.name, entry.name);
                    files.push((path, entry.object.unwrap_or_default()));
                }
            }
        }
        if let Some(blob) = root_action {
            files.push(("action.yml".to_string(), blob));
        }
        let mut remote = Vec::new();
        for (path, blob) in files {
            let text = match blob.text {
                _ if blob.is_binary == Some(true) => Err(NoText::Binary),
                Some(text) if blob.is_truncated != Some(true) => Ok(text),
                // GraphQL truncates large blobs; REST serves them raw.
                _ => self
                    .raw_file(
                        &owner_login,
                        &name,
                        &path,
                        head.as_deref().unwrap_or("HEAD"),
                    )
                    .await
                    .map_err(NoText::NotFetched),
            };
            remote.push(RemoteFile { path, text });
        }
        Ok(RepoSnapshot {
            id: database_id,
            owner_id: owner.database_id,
            archived: is_archived,
            fork: is_fork,
            topics: repository_topics
                .into_vec()
                .into_iter()
                .map(|t| t.topic.name)
                .collect(),
            default_branch: default_branch_ref.map(|b| b.name),
            campaign_pulls: campaign_pulls
                .into_vec()
                .into_iter()
                .map(campaign_pull)
                .collect(),
            environments: environments.and_then(environment_names),
            head,
            files: remote,
            owner: owner_login,
            name,
        })
    }

    /// A file's raw text at a ref (REST contents, raw media type: up to 100 MB).
    pub async fn raw_file(
        &self,
        owner: &str,
        repo: &str,
        path: &str,
        git_ref: &str,
    ) -> Result<String, GitHubError> {
        let what = format!("{owner}/{repo}:{path}");
        let reply = self
            .get(
                &format!("/repos/{owner}/{repo}/contents/{path}?ref={git_ref}"),
                "application/vnd.github.raw+json",
                &what,
            )
            .await?;
        Ok(reply.body)
    }

    pub(super) async fn get(
        &self,
        path: &str,
        accept: &str,
        what: &str,
    ) -> Result<Reply, GitHubError> {
        // Only JSON listings are worth keeping; raw files can be large.
        let cacheable = accept == "application/vnd.github+json";
        let Some(cache) = self.cache.as_ref().filter(|_| cacheable) else {
            let reply = self
                .transport
                .send(Method::GET, path, None, accept, Access::Read, what)
                .await?;
            return self.success(reply, what);
        };
        let key = format!("{accept} {path}");
        let earlier = cache.lookup(&key);
        let reply = match &earlier {
            Some(earlier) => {
                self.transport
                    .get_if_none_match(path, accept, &earlier.etag, what)
                    .await?
            }
            None => {
                self.transport
                    .send(Method::GET, path, None, accept, Access::Read, what)
                    .await?
            }
        };
        if let (304, Some(earlier)) = (reply.status, earlier) {
            cache.count_not_modified();
            let mut headers = reply.headers;
            if let Some(link) = earlier.link.as_deref().and_then(|l| l.parse().ok()) {
                headers.insert(http::header::LINK, link);
            }
            return Ok(Reply {
                status: 200,
                headers,
                body: earlier.body,
            });
        }
        let reply = self.success(reply, what)?;
        let header = |name: http::header::HeaderName| {
            reply
                .headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        };
        if let Some(etag) = header(http::header::ETAG) {
            cache.store(
                &key,
                Cached {
                    etag,
                    link: header(http::header::LINK),
                    body: reply.body.clone(),
                },
            );
        }
        Ok(reply)
    }

    fn success(&self, reply: Reply, what: &str) -> Result<Reply, GitHubError> {
        if (200..300).contains(&reply.status) {
            Ok(reply)
        } else {
            Err(self.transport.fail(&reply, what))
        }
    }

    pub(super) async fn get_json(&self, path: &str, what: &str) -> Result<Value, GitHubError> {
        self.get(path, "application/vnd.github+json", what)
            .await?
            .json(what)
    }

    /// Every item of a paginated list endpoint whose items sit under `field`.
    async fn paginate<T: DeserializeOwned>(
        &self,
        path: &str,
        field: &str,
        what: &str,
    ) -> Result<Vec<T>, GitHubError> {
        Ok(self.paginate_up_to(path, field, what, usize::MAX).await?.0)
    }

    /// The items of at most `max_pages` pages of 100, and whether more were left.
    pub(super) async fn paginate_up_to<T: DeserializeOwned>(
        &self,
        path: &str,
        field: &str,
        what: &str,
        max_pages: usize,
    ) -> Result<(Vec<T>, bool), GitHubError> {
        let mut items = Vec::new();
        for page in 1..=max_pages {
            let sep = if path.contains('?') { '&' } else { '?' };
            let reply = self
                .get(
                    &format!("{path}{sep}per_page=100&page={page}"),
                    "application/vnd.github+json",
                    what,
                )
                .await?;
            let has_next = reply
                .headers
                .get("link")
                .and_then(|l| l.to_str().ok())
                .is_some_and(|l| l.contains("rel=\"next\""));
            let batch: Vec<T> = wire::page_items(reply.json(what)?, field, what)?;
            let count = batch.len();
            items.extend(batch);
            if !has_next || count == 0 {
                return Ok((items, false));
            }
        }
        Ok((items, true))
    }

    /// The Actions variables a workflow of the repository reads as `${{ vars.NAME }}` outside
    /// any environment: the organization's that are shared with it, overridden by its own.
    /// Unlike secrets, their values are readable.
    pub async fn repo_variables(
        &self,
        owner: &str,
        repo: &str,
    ) -> Result<BTreeMap<String, String>, GitHubError> {
        let what = format!("variables of {owner}/{repo}");
        let mut out = BTreeMap::new();
        for path in [
            format!("/repos/{owner}/{repo}/actions/organization-variables"),
            format!("/repos/{owner}/{repo}/actions/variables"),
        ] {
            let variables: Vec<wire::Variable> = self.paginate(&path, "variables", &what).await?;
            out.extend(variables.into_iter().map(|v| (v.name, v.value)));
        }
        Ok(out)
    }

    /// The repository's environments: `known` from discovery, else listed.
    async fn environment_names(
        &self,
        owner: &str,
        repo: &str,
        known: Option<&[String]>,
        what: &str,
    ) -> Result<Vec<String>, GitHubError> {
        Ok(match known {
            Some(known) => known.to_vec(),
            None => self
                .paginate::<wire::Named>(
                    &format!("/repos/{owner}/{repo}/environments"),
                    "environments",
                    what,
                )
                .await?
                .into_iter()
                .map(|e| e.name)
                .collect(),
        })
    }

    /// Each environment's own Actions variables, which override the repository's for a job
    /// in that environment. `known_environments` (from discovery) saves listing them again.
    pub async fn environment_variables(
        &self,
        owner: &str,
        repo: &str,
        known_environments: Option<&[String]>,
    ) -> Result<BTreeMap<String, BTreeMap<String, String>>, GitHubError> {
        let what = format!("environment variables of {owner}/{repo}");
        let mut out = BTreeMap::new();
        let environments = self
            .environment_names(owner, repo, known_environments, &what)
            .await?;
        for environment in &environments {
            let path = format!(
                "/repos/{owner}/{repo}/environments/{}/variables",
                percent_encode(environment)
            );
            let variables: Vec<wire::Variable> = self.paginate(&path, "variables", &what).await?;
            let values: BTreeMap<String, String> =
                variables.into_iter().map(|v| (v.name, v.value)).collect();
            if !values.is_empty() {
                out.insert(environment.clone(), values);
            }
        }
        Ok(out)
    }

    /// Secret names at the repository and environment level. `known_environments` (from
    /// discovery) saves listing the environments again.
    pub async fn repo_secrets(
        &self,
        owner: &str,
        repo: &str,
        known_environments: Option<&[String]>,
    ) -> Result<RepoSecrets, GitHubError> {
        let what = format!("secrets of {owner}/{repo}");
        let names = |items: Vec<wire::Named>| -> Vec<String> {
            items.into_iter().map(|s| s.name).collect()
        };
        let repository = names(
            self.paginate(
                &format!("/repos/{owner}/{repo}/actions/secrets"),
                "secrets",
                &what,
            )
            .await?,
        );
        let mut environments = Vec::new();
        let envs = self
            .environment_names(owner, repo, known_environments, &what)
            .await?;
        for env_name in &envs {
            let env_name = env_name.as_str();
            let encoded = percent_encode(env_name);
            let path = format!("/repos/{owner}/{repo}/environments/{encoded}/secrets");
            for secret in names(self.paginate(&path, "secrets", &what).await?) {
                environments.push((env_name.to_string(), secret));
            }
        }
        Ok(RepoSecrets {
            repository,
            environments,
        })
    }

    /// Successful workflow runs on `branch` created at or after `since` (RFC 3339), newest
    /// first: the first page is enough to tell whether the migrated workflows have run.
    pub async fn successful_runs_since(
        &self,
        owner: &str,
        repo: &str,
        branch: &str,
        since: &str,
    ) -> Result<Vec<WorkflowRun>, GitHubError> {
        let what = format!("workflow runs of {owner}/{repo}");
        let v = self
            .get_json(
                &format!(
                    "/repos/{owner}/{repo}/actions/runs?branch={}&status=success&created=%3E%3D{}&exclude_pull_requests=true&per_page=100",
                    percent_encode(branch),
                    percent_encode(since)
                ),
                &what,
            )
            .await?;
        let runs: wire::Runs = wire::decode(v, &what)?;
        Ok(runs
            .workflow_runs
            .into_iter()
            .map(|r| WorkflowRun {
                path: r.path,
                url: r.html_url,
                created_at: r.created_at,
                head_sha: r.head_sha,
            })
            .collect())
    }

    pub async fn org_secrets(&self, org: &str) -> Result<Vec<OrgSecret>, GitHubError> {
        let what = format!("organization secrets of {org}");
        let mut out = Vec::new();
        let secrets: Vec<wire::OrgSecretItem> = self
            .paginate(&format!("/orgs/{org}/actions/secrets"), "secrets", &what)
            .await?;
        for wire::OrgSecretItem { name, visibility } in secrets {
            let selected_repositories = if visibility == "selected" {
                let repos: Vec<wire::Named> = self
                    .paginate(
                        &format!("/orgs/{org}/actions/secrets/{name}/repositories"),
                        "repositories",
                        &what,
                    )
                    .await?;
                Some(repos.into_iter().map(|r| r.name).collect())
            } else {
                None
            };
            out.push(OrgSecret {
                name,
                visibility,
                selected_repositories,
            });
        }
        Ok(out)
    }

    pub async fn repo_sub_customization(
        &self,
        owner: &str,
        repo: &str,
    ) -> Result<SubCustomization, GitHubError> {
        let what = format!("OIDC subject template of {owner}/{repo}");
        let v = self
            .get_json(
                &format!("/repos/{owner}/{repo}/actions/oidc/customization/sub"),
                &what,
            )
            .await?;
        parse_customization(v, &what)
    }

    pub async fn org_sub_customization(&self, org: &str) -> Result<SubCustomization, GitHubError> {
        let what = format!("OIDC subject template of {org}");
        let v = self
            .get_json(
                &format!("/orgs/{org}/actions/oidc/customization/sub"),
                &what,
            )
            .await?;
        parse_customization(v, &what)
    }
}

fn campaign_pull(p: wire::PullNode) -> CampaignPull {
    CampaignPull {
        number: p.number,
        url: p.url,
        state: if p.state == "OPEN" { "open" } else { "closed" }.to_string(),
        merged: p.state == "MERGED",
        merged_at: p.merged_at,
        head: p.head_ref_name,
        files: p
            .files
            .map(wire::Nodes::into_vec)
            .unwrap_or_default()
            .into_iter()
            .map(|f| f.path)
            .collect(),
    }
}

/// Environment names from discovery, or `None` when there are more than it fetched: then the
/// REST listing is the truth.
fn environment_names(connection: wire::EnvironmentConnection) -> Option<Vec<String>> {
    let names: Vec<String> = connection
        .nodes
        .into_vec()
        .into_iter()
        .map(|n| n.name)
        .collect();
    (connection.total_count as usize == names.len()).then_some(names)
}

/// A GraphQL reply's `data`.
fn data(mut reply: Value) -> Value {
    reply.get_mut("data").map(Value::take).unwrap_or_default()
}

fn parse_customization(v: Value, what: &str) -> Result<SubCustomization, GitHubError> {
    let template: wire::SubTemplate = wire::decode(v, what)?;
    Ok(SubCustomization {
        use_default: template.use_default,
        include_claim_keys: template.include_claim_keys,
        sub_claim_prefix: template.sub_claim_prefix,
    })
}

fn is_yaml(name: &str) -> bool {
    name.ends_with(".yml") || name.ends_with(".yaml")
}

/// What stays as it is in a path segment: RFC 3986's unreserved characters.
const SEGMENT: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// Environment names may hold `/` and spaces; GitHub wants them percent-encoded in paths.
pub fn percent_encode(segment: &str) -> String {
    percent_encoding::utf8_percent_encode(segment, SEGMENT).to_string()
}

#[cfg(test)]
mod tests {
    #[test]
    fn discovery_asks_for_pull_requests_on_the_campaign_branch() {
        let wanted = format!("headRefName: \"{}\"", crate::publish::BRANCH);
        assert!(super::REPO_FIELDS.contains(&wanted));
    }

    #[test]
    fn path_segments_are_percent_encoded() {
        assert_eq!(
            super::percent_encode("prod env/eu-1_a.b~c"),
            "prod%20env%2Feu-1_a.b~c"
        );
        assert_eq!(super::percent_encode("é"), "%C3%A9");
    }

    #[test]
    fn environments_can_be_left_out() {
        assert!(super::repo_fields(true).contains("environments(first: 50)"));
        assert!(!super::repo_fields(false).contains("environments"));
        assert!(!super::repo_fields(false).contains("ENVIRONMENTS"));
    }
}
