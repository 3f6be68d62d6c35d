//! GitHub App authentication (effects): the App's client, which octocrab signs with an RS256
//! JWT (`iat` 60 s in the past, `exp` 9 min ahead); each organization's installation and the
//! permissions it was granted; and installation clients, whose tokens octocrab mints and
//! refreshes before the `expires_at` GitHub returns with them. Tokens are never printed.

use std::collections::BTreeMap;
use std::path::Path;

use octocrab::Octocrab;
use octocrab::models::{AppId, InstallationId};
use serde_json::Value;

use super::endpoint::Endpoint;
use super::error::GitHubError;

/// `--app-id` and the private key read from `--app-key` (PEM, as GitHub hands it out).
pub struct AppCredentials {
    pub app_id: u64,
    key: octocrab::EncodingKey,
}

impl AppCredentials {
    /// Reads and parses the PEM key; the key itself never appears in an error.
    pub fn load(app_id: u64, key_file: &Path) -> Result<Self, GitHubError> {
        let bad = |message: String| GitHubError::AppKey {
            path: key_file.to_path_buf(),
            message,
        };
        let pem = std::fs::read(key_file).map_err(|e| bad(e.to_string()))?;
        let key = octocrab::EncodingKey::from_rsa_pem(&pem)
            .map_err(|e| bad(format!("not an RSA private key in PEM form ({e})")))?;
        Ok(Self { app_id, key })
    }
}

/// An organization's installation of the App, as `GET /orgs/{org}/installation` describes it.
#[derive(Debug, Clone)]
pub struct Installation {
    pub id: u64,
    /// The organization (or user) login the App is installed on.
    pub account: String,
    /// Permission → `read` / `write` / `admin`.
    pub permissions: BTreeMap<String, String>,
}

/// The App itself: talks to GitHub with its JWT, only to find installations.
pub struct App {
    client: Octocrab,
}

impl App {
    pub fn new(endpoint: &Endpoint, credentials: &AppCredentials) -> Result<Self, GitHubError> {
        let client = Octocrab::builder()
            .app(AppId(credentials.app_id), credentials.key.clone())
            .base_uri(endpoint.rest.as_str())
            .map_err(|_| GitHubError::BadUrl(endpoint.rest.clone()))?
            .build()
            .map_err(|e| GitHubError::BadUrl(format!("{}: {e}", endpoint.rest)))?;
        Ok(Self { client })
    }

    /// `GET /orgs/{org}/installation`: the installation and its granted permissions.
    pub async fn installation_for_org(&self, org: &str) -> Result<Installation, GitHubError> {
        let what = format!("the GitHub App's installation on {org}");
        let builder = http::Request::builder()
            .method(http::Method::GET)
            .uri(format!("/orgs/{org}/installation"))
            .header(http::header::ACCEPT, "application/vnd.github+json")
            .header("X-GitHub-Api-Version", "2022-11-28");
        let (status, body) = self.get(builder, &what).await?;
        match status {
            200 => parse_installation(&body, &what),
            404 => Err(GitHubError::AppNotInstalled {
                org: org.to_string(),
            }),
            401 => Err(GitHubError::AppRejected {
                message: message_of(&body),
            }),
            _ => Err(GitHubError::Rejected {
                what,
                status,
                message: message_of(&body),
            }),
        }
    }

    /// `GET /app/installations`: every installation of the App (first page, 100).
    pub async fn installations(&self) -> Result<Vec<Installation>, GitHubError> {
        let what = "the GitHub App's installations".to_string();
        let builder = http::Request::builder()
            .method(http::Method::GET)
            .uri("/app/installations?per_page=100")
            .header(http::header::ACCEPT, "application/vnd.github+json")
            .header("X-GitHub-Api-Version", "2022-11-28");
        let (status, body) = self.get(builder, &what).await?;
        match status {
            200 => {
                let list: Vec<Value> =
                    serde_json::from_str(&body).map_err(|e| GitHubError::BadResponse {
                        what: what.clone(),
                        message: e.to_string(),
                    })?;
                list.iter()
                    .map(|i| parse_installation(&i.to_string(), &what))
                    .collect()
            }
            401 => Err(GitHubError::AppRejected {
                message: message_of(&body),
            }),
            _ => Err(GitHubError::Rejected {
                what,
                status,
                message: message_of(&body),
            }),
        }
    }

    async fn get(
        &self,
        builder: http::request::Builder,
        what: &str,
    ) -> Result<(u16, String), GitHubError> {
        let request = self
            .client
            .build_request(builder, None::<&()>)
            .map_err(|e| GitHubError::AppRejected {
                message: e.to_string(),
            })?;
        let response =
            self.client
                .execute(request)
                .await
                .map_err(|e| GitHubError::Unavailable {
                    what: what.to_string(),
                    message: format!("connection failed: {e}"),
                    attempts: 1,
                })?;
        let status = response.status().as_u16();
        let body =
            self.client
                .body_to_string(response)
                .await
                .map_err(|e| GitHubError::Unavailable {
                    what: what.to_string(),
                    message: format!("reading the response failed: {e}"),
                    attempts: 1,
                })?;
        Ok((status, body))
    }

    /// A client acting as installation `id`; octocrab mints its token on first use and again
    /// when the one it holds is about to expire.
    pub fn installation_client(&self, id: u64) -> Result<Octocrab, GitHubError> {
        self.client
            .installation(InstallationId(id))
            .map_err(|e| GitHubError::AppRejected {
                message: e.to_string(),
            })
    }
}

fn message_of(body: &str) -> String {
    serde_json::from_str::<Value>(body)
        .ok()
        .and_then(|v| v.get("message").and_then(Value::as_str).map(str::to_string))
        .unwrap_or_else(|| body.chars().take(200).collect())
}

fn parse_installation(body: &str, what: &str) -> Result<Installation, GitHubError> {
    let bad = |message: &str| GitHubError::BadResponse {
        what: what.to_string(),
        message: message.to_string(),
    };
    let value: Value = serde_json::from_str(body).map_err(|e| bad(&e.to_string()))?;
    let id = value
        .get("id")
        .and_then(Value::as_u64)
        .ok_or_else(|| bad("no installation id"))?;
    let account = value
        .pointer("/account/login")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    let permissions = value
        .get("permissions")
        .and_then(Value::as_object)
        .map(|map| {
            map.iter()
                .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
                .collect()
        })
        .unwrap_or_default();
    Ok(Installation {
        id,
        account,
        permissions,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn installation_permissions_are_read_from_githubs_shape() {
        let body = r#"{"id": 42, "account": {"login": "acme"},
            "permissions": {"contents": "read", "metadata": "read", "secrets": "write"}}"#;
        let installation = parse_installation(body, "x").unwrap();
        assert_eq!(installation.id, 42);
        assert_eq!(installation.account, "acme");
        assert_eq!(installation.permissions["secrets"], "write");
        assert!(parse_installation(r#"{"account": {}}"#, "x").is_err());
    }
}
