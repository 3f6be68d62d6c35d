//! Issues and comments (effects): the campaign's comments on its pull requests and its
//! tracking issue, each found again by a marker in its body and edited in place.

use http::Method;
use serde_json::json;

use super::GitHubError;
use super::transport::Access;
use super::wire;
use super::write::GitHubWriter;

/// An issue or comment as GitHub reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Posted {
    /// Issue number, or comment id.
    pub id: u64,
    pub url: String,
    pub body: String,
}

impl From<wire::Comment> for Posted {
    fn from(c: wire::Comment) -> Self {
        Self {
            id: c.id,
            url: c.html_url,
            body: c.body.unwrap_or_default(),
        }
    }
}

impl From<wire::Issue> for Posted {
    fn from(i: wire::Issue) -> Self {
        Self {
            id: i.number,
            url: i.html_url,
            body: i.body.unwrap_or_default(),
        }
    }
}

/// Most pages read when looking for a marker (10,000 issues or comments).
const MAX_PAGES: usize = 100;

impl GitHubWriter {
    /// The first comment on issue or pull request `number` whose body contains `marker`.
    pub async fn find_comment(
        &self,
        owner: &str,
        repo: &str,
        number: u64,
        marker: &str,
    ) -> Result<Option<Posted>, GitHubError> {
        let what = format!("comments of #{number} in {owner}/{repo}");
        for page in 1..=MAX_PAGES {
            let path =
                format!("/repos/{owner}/{repo}/issues/{number}/comments?per_page=100&page={page}");
            let v = self
                .call(Method::GET, &path, None, Access::Read, &what)
                .await?
                .json(&what)?;
            let items: Vec<wire::Comment> = wire::decode(v, &what)?;
            let count = items.len();
            if let Some(found) = items
                .into_iter()
                .map(Posted::from)
                .find(|c| c.body.contains(marker))
            {
                return Ok(Some(found));
            }
            if count < 100 {
                break;
            }
        }
        Ok(None)
    }

    pub async fn create_comment(
        &self,
        owner: &str,
        repo: &str,
        number: u64,
        body: &str,
    ) -> Result<Posted, GitHubError> {
        let what = format!("comment on #{number} in {owner}/{repo}");
        let v = self
            .call(
                Method::POST,
                &format!("/repos/{owner}/{repo}/issues/{number}/comments"),
                Some(&json!({ "body": body })),
                Access::Write,
                &what,
            )
            .await?
            .json(&what)?;
        Ok(wire::decode::<wire::Comment>(v, &what)?.into())
    }

    pub async fn update_comment(
        &self,
        owner: &str,
        repo: &str,
        id: u64,
        body: &str,
    ) -> Result<(), GitHubError> {
        let what = format!("comment {id} in {owner}/{repo}");
        self.call(
            Method::PATCH,
            &format!("/repos/{owner}/{repo}/issues/comments/{id}"),
            Some(&json!({ "body": body })),
            Access::Write,
            &what,
        )
        .await
        .map(drop)
    }

    /// The first issue (open or closed, not a pull request) whose body contains `marker`.
    pub async fn find_issue(
        &self,
        owner: &str,
        repo: &str,
        marker: &str,
    ) -> Result<Option<Posted>, GitHubError> {
        let what = format!("issues of {owner}/{repo}");
        for page in 1..=MAX_PAGES {
            let path = format!("/repos/{owner}/{repo}/issues?state=all&per_page=100&page={page}");
            let v = self
                .call(Method::GET, &path, None, Access::Read, &what)
                .await?
                .json(&what)?;
            let items: Vec<wire::Issue> = wire::decode(v, &what)?;
            let count = items.len();
            if let Some(found) = items
                .into_iter()
                .filter(|i| i.pull_request.as_ref().is_none_or(|p| p.is_null()))
                .map(Posted::from)
                .find(|i| i.body.contains(marker))
            {
                return Ok(Some(found));
            }
            if count < 100 {
                break;
            }
        }
        Ok(None)
    }

    pub async fn create_issue(
        &self,
        owner: &str,
        repo: &str,
        title: &str,
        body: &str,
    ) -> Result<Posted, GitHubError> {
        let what = format!("issue in {owner}/{repo}");
        let v = self
            .call(
                Method::POST,
                &format!("/repos/{owner}/{repo}/issues"),
                Some(&json!({ "title": title, "body": body })),
                Access::Write,
                &what,
            )
            .await?
            .json(&what)?;
        Ok(wire::decode::<wire::Issue>(v, &what)?.into())
    }

    pub async fn update_issue(
        &self,
        owner: &str,
        repo: &str,
        number: u64,
        body: &str,
    ) -> Result<(), GitHubError> {
        let what = format!("issue #{number} of {owner}/{repo}");
        self.call(
            Method::PATCH,
            &format!("/repos/{owner}/{repo}/issues/{number}"),
            Some(&json!({ "body": body })),
            Access::Write,
            &what,
        )
        .await
        .map(drop)
    }
}
