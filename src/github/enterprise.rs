//! An enterprise's organizations, through GraphQL `enterprise(slug:) { organizations }`.

use serde_json::json;

use super::error::GitHubError;
use super::read::GitHubReader;

const QUERY: &str = "query($slug: String!, $cursor: String) { enterprise(slug: $slug) { \
    organizations(first: 100, after: $cursor) { totalCount pageInfo { hasNextPage endCursor } \
    nodes { login } } } }";

impl GitHubReader {
    /// The logins of every organization of enterprise `slug`, sorted. GitHub answers `null`
    /// when the token cannot see the enterprise (an organization's App installation, a token
    /// without enterprise access, or GitHub Enterprise Server): that becomes
    /// [`GitHubError::EnterpriseHidden`].
    pub async fn enterprise_organizations(&self, slug: &str) -> Result<Vec<String>, GitHubError> {
        let what = format!("enterprise {slug}");
        let hidden = |message: String| GitHubError::EnterpriseHidden {
            slug: slug.to_string(),
            message,
        };
        let mut logins = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let vars = json!({ "slug": slug, "cursor": cursor });
            let value = match self.transport.graphql(QUERY, vars, &what).await {
                Ok(value) => value,
                Err(GitHubError::GraphQl(message)) => return Err(hidden(message)),
                Err(e) => return Err(e),
            };
            let connection = &value["data"]["enterprise"]["organizations"];
            if connection.is_null() {
                return Err(hidden("GitHub returned no enterprise".into()));
            }
            logins.extend(
                connection["nodes"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|n| n["login"].as_str().map(str::to_string)),
            );
            let page = &connection["pageInfo"];
            match (page["hasNextPage"].as_bool(), page["endCursor"].as_str()) {
                (Some(true), Some(next)) => cursor = Some(next.to_string()),
                _ => break,
            }
        }
        logins.sort();
        logins.dedup();
        Ok(logins)
    }
}
