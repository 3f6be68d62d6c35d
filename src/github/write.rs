//! Write capability: the Git Data API (trees, commits, refs) and pull requests. Only
//! `rewrite --pr` gets a [`GitHubWriter`]; every call goes through the governor, which
//! serializes writes and spaces them out.

use std::sync::Arc;

use http::Method;
use serde_json::{Value, json};

use super::error::GitHubError;
use super::read::GitHubReader;
use super::transport::{Access, Reply, Transport};
use super::wire;

/// A pull request as GitHub reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PullRef {
    pub number: u64,
    pub url: String,
    pub state: String,
    pub merged: bool,
    pub head_sha: String,
    pub body: String,
    pub title: String,
}

impl From<wire::Pull> for PullRef {
    fn from(p: wire::Pull) -> Self {
        Self {
            number: p.number,
            url: p.html_url,
            state: p.state,
            merged: p.merged == Some(true) || p.merged_at.is_some(),
            head_sha: p.head.sha,
            body: p.body.unwrap_or_default(),
            title: p.title,
        }
    }
}

/// A commit: its tree and parents.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommitRef {
    pub sha: String,
    pub tree: String,
    pub parents: Vec<String>,
}

#[derive(Clone)]
pub struct GitHubWriter {
    pub(super) transport: Arc<Transport>,
}

impl GitHubWriter {
    pub fn requests(&self) -> u64 {
        self.transport.governor.requests()
    }

    pub(super) async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
        access: Access,
        what: &str,
    ) -> Result<Reply, GitHubError> {
        let reply = self
            .transport
            .send(
                method,
                path,
                body,
                "application/vnd.github+json",
                access,
                what,
            )
            .await?;
        if (200..300).contains(&reply.status) {
            Ok(reply)
        } else {
            Err(self.transport.fail(&reply, what))
        }
    }

    /// A write whose response body we do not need.
    async fn send_write(
        &self,
        method: Method,
        path: &str,
        body: &Value,
        what: &str,
    ) -> Result<(), GitHubError> {
        self.call(method, path, Some(body), Access::Write, what)
            .await
            .map(drop)
    }

    /// Creates a git object (tree, commit) and returns its sha.
    async fn create_object(
        &self,
        path: &str,
        body: &Value,
        what: String,
    ) -> Result<String, GitHubError> {
        let created = self
            .call(Method::POST, path, Some(body), Access::Write, &what)
            .await?
            .json(&what)?;
        Ok(wire::decode::<wire::Sha>(created, &what)?.sha)
    }

    /// The commit a branch points at, or `None` when the branch does not exist.
    pub async fn branch_tip(
        &self,
        owner: &str,
        repo: &str,
        branch: &str,
    ) -> Result<Option<String>, GitHubError> {
        let what = format!("branch {branch} of {owner}/{repo}");
        match self
            .call(
                Method::GET,
                &format!("/repos/{owner}/{repo}/git/ref/heads/{branch}"),
                None,
                Access::Read,
                &what,
            )
            .await
        {
            Ok(reply) => {
                let found: wire::GitRef = wire::decode(reply.json(&what)?, &what)?;
                Ok(Some(found.object.sha))
            }
            Err(e) if e.is_not_found() => Ok(None),
            Err(e) => Err(e),
        }
    }

    pub async fn commit(
        &self,
        owner: &str,
        repo: &str,
        sha: &str,
    ) -> Result<CommitRef, GitHubError> {
        let what = format!("commit {sha} of {owner}/{repo}");
        let v = self
            .call(
                Method::GET,
                &format!("/repos/{owner}/{repo}/git/commits/{sha}"),
                None,
                Access::Read,
                &what,
            )
            .await?
            .json(&what)?;
        let commit: wire::GitCommit = wire::decode(v, &what)?;
        Ok(CommitRef {
            sha: sha.to_string(),
            tree: commit.tree.sha,
            parents: commit.parents.into_iter().map(|p| p.sha).collect(),
        })
    }

    /// A file's raw text at a ref, or `None` where the ref has no such file.
    pub async fn file_at(
        &self,
        owner: &str,
        repo: &str,
        path: &str,
        git_ref: &str,
    ) -> Result<Option<String>, GitHubError> {
        let reader = GitHubReader::new(self.transport.clone());
        match reader.raw_file(owner, repo, path, git_ref).await {
            Ok(text) => Ok(Some(text)),
            Err(e) if e.is_not_found() => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Pull requests whose head is `branch` in the same repository, any state, newest first.
    pub async fn pulls_for_branch(
        &self,
        owner: &str,
        repo: &str,
        branch: &str,
    ) -> Result<Vec<PullRef>, GitHubError> {
        let what = format!("pull requests of {owner}/{repo}");
        let path =
            format!("/repos/{owner}/{repo}/pulls?head={owner}:{branch}&state=all&per_page=100");
        let v = self
            .call(Method::GET, &path, None, Access::Read, &what)
            .await?
            .json(&what)?;
        let pulls: Vec<wire::Pull> = wire::decode(v, &what)?;
        let mut pulls: Vec<PullRef> = pulls.into_iter().map(PullRef::from).collect();
        pulls.sort_by_key(|p| std::cmp::Reverse(p.number));
        Ok(pulls)
    }

    /// A tree on top of `base_tree` with these files replaced (never without a base: that
    /// would delete every other file).
    pub async fn create_tree(
        &self,
        owner: &str,
        repo: &str,
        base_tree: &str,
        files: &[(String, String)],
    ) -> Result<String, GitHubError> {
        let what = format!("tree in {owner}/{repo}");
        let entries: Vec<Value> = files
            .iter()
            .map(|(path, content)| json!({"path": path, "mode": "100644", "type": "blob", "content": content}))
            .collect();
        let body = json!({"base_tree": base_tree, "tree": entries});
        self.create_object(&format!("/repos/{owner}/{repo}/git/trees"), &body, what)
            .await
    }

    pub async fn create_commit(
        &self,
        owner: &str,
        repo: &str,
        message: &str,
        tree: &str,
        parent: &str,
    ) -> Result<String, GitHubError> {
        let what = format!("commit in {owner}/{repo}");
        let body = json!({"message": message, "tree": tree, "parents": [parent]});
        self.create_object(&format!("/repos/{owner}/{repo}/git/commits"), &body, what)
            .await
    }

    pub async fn create_branch(
        &self,
        owner: &str,
        repo: &str,
        branch: &str,
        sha: &str,
    ) -> Result<(), GitHubError> {
        let what = format!("branch {branch} of {owner}/{repo}");
        let body = json!({"ref": format!("refs/heads/{branch}"), "sha": sha});
        self.send_write(
            Method::POST,
            &format!("/repos/{owner}/{repo}/git/refs"),
            &body,
            &what,
        )
        .await
    }

    /// Moves our own branch to `sha` (force: the branch belongs to the campaign).
    pub async fn move_branch(
        &self,
        owner: &str,
        repo: &str,
        branch: &str,
        sha: &str,
    ) -> Result<(), GitHubError> {
        let what = format!("branch {branch} of {owner}/{repo}");
        let body = json!({"sha": sha, "force": true});
        self.send_write(
            Method::PATCH,
            &format!("/repos/{owner}/{repo}/git/refs/heads/{branch}"),
            &body,
            &what,
        )
        .await
    }

    pub async fn create_pull(
        &self,
        owner: &str,
        repo: &str,
        pull: &NewPull<'_>,
    ) -> Result<PullRef, GitHubError> {
        let what = format!("pull request in {owner}/{repo}");
        let body = json!({"title": pull.title, "head": pull.head, "base": pull.base, "body": pull.body, "draft": pull.draft, "maintainer_can_modify": true});
        let v = self
            .call(
                Method::POST,
                &format!("/repos/{owner}/{repo}/pulls"),
                Some(&body),
                Access::Write,
                &what,
            )
            .await?
            .json(&what)?;
        Ok(wire::decode::<wire::Pull>(v, &what)?.into())
    }

    pub async fn update_pull(
        &self,
        owner: &str,
        repo: &str,
        number: u64,
        title: &str,
        body: &str,
    ) -> Result<(), GitHubError> {
        let what = format!("pull request #{number} of {owner}/{repo}");
        let payload = json!({"title": title, "body": body});
        self.send_write(
            Method::PATCH,
            &format!("/repos/{owner}/{repo}/pulls/{number}"),
            &payload,
            &what,
        )
        .await
    }

    pub async fn add_labels(
        &self,
        owner: &str,
        repo: &str,
        number: u64,
        labels: &[String],
    ) -> Result<(), GitHubError> {
        let what = format!("labels of #{number} in {owner}/{repo}");
        let body = json!({"labels": labels});
        self.send_write(
            Method::POST,
            &format!("/repos/{owner}/{repo}/issues/{number}/labels"),
            &body,
            &what,
        )
        .await
    }
}

pub struct NewPull<'a> {
    pub title: &'a str,
    pub head: &'a str,
    pub base: &'a str,
    pub body: &'a str,
    pub draft: bool,
}
