//! One place where requests leave: octocrab clients (REST, and GraphQL which GHES serves
//! elsewhere), wrapped in the governor's retry and rate-limit handling.

use http::{HeaderMap, Method, StatusCode};
use octocrab::Octocrab;
use secrecy::SecretString;
use serde_json::Value;

use super::endpoint::Endpoint;
use super::error::GitHubError;
use super::governor::{self, Governor, Policy, Verdict};

pub struct Reply {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: String,
}

impl Reply {
    pub fn json(&self, what: &str) -> Result<Value, GitHubError> {
        serde_json::from_str(&self.body).map_err(|e| GitHubError::BadResponse {
            what: what.to_string(),
            message: e.to_string(),
        })
    }

    /// GitHub's `message`, with the `errors[].message` details a 422 carries
    /// ("Validation Failed: A pull request already exists for acme:migrate/aws-oidc.").
    pub fn message(&self) -> String {
        let Ok(v) = serde_json::from_str::<Value>(&self.body) else {
            return self.body.chars().take(200).collect();
        };
        let mut message = v
            .get("message")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        let details: Vec<&str> = v
            .get("errors")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|e| e.get("message").and_then(Value::as_str))
            .collect();
        if !details.is_empty() {
            message = format!("{message}: {}", details.join("; "));
        }
        message
    }
}

pub struct Transport {
    rest: Octocrab,
    graphql: Octocrab,
    /// With a GitHub App: the installation whose token every request carries (the REST and
    /// GraphQL clients then carry none of their own).
    installation: Option<InstallationAuth>,
    pub governor: Governor,
}

/// How long before its `expires_at` an installation token is replaced: long enough that a
/// request sent with it cannot outlive it.
pub const TOKEN_REFRESH_MARGIN: std::time::Duration = std::time::Duration::from_secs(120);

/// An installation client of octocrab's: it mints the token with the App's JWT and keeps it
/// until [`TOKEN_REFRESH_MARGIN`] before its expiry. One mint at a time.
struct InstallationAuth {
    client: Octocrab,
    mint: tokio::sync::Mutex<()>,
}

impl InstallationAuth {
    async fn header(&self) -> Result<http::HeaderValue, GitHubError> {
        let _one_at_a_time = self.mint.lock().await;
        let margin = chrono_margin();
        let token = self
            .client
            .installation_token_with_buffer(margin)
            .await
            .map_err(|e| GitHubError::AppRejected {
                message: octocrab_message(&e),
            })?;
        let mut value = http::HeaderValue::from_str(&format!(
            "Bearer {}",
            secrecy::ExposeSecret::expose_secret(&token)
        ))
        .map_err(|_| GitHubError::AppRejected {
            message: "the installation token is not a valid header value".into(),
        })?;
        value.set_sensitive(true);
        Ok(value)
    }
}

fn chrono_margin() -> chrono::Duration {
    chrono::Duration::seconds(TOKEN_REFRESH_MARGIN.as_secs() as i64)
}

/// octocrab's error text without its backtrace (GitHub's message for an HTTP error).
fn octocrab_message(error: &octocrab::Error) -> String {
    match error {
        octocrab::Error::GitHub { source, .. } => source.message.clone(),
        other => other.to_string(),
    }
}

/// What kind of access a request needs; writes are serialized and spaced out.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Access {
    Read,
    Write,
}

impl Transport {
    pub fn new(
        endpoint: Endpoint,
        token: SecretString,
        policy: Policy,
    ) -> Result<Self, GitHubError> {
        let build = |base: &str| -> Result<Octocrab, GitHubError> {
            Octocrab::builder()
                .personal_token(token.clone())
                .base_uri(base)
                .map_err(|_| GitHubError::BadUrl(base.to_string()))?
                .build()
                .map_err(|e| GitHubError::BadUrl(format!("{base}: {e}")))
        };
        Ok(Self {
            rest: build(&endpoint.rest)?,
            graphql: build(&endpoint.graphql)?,
            installation: None,
            governor: Governor::new(policy),
        })
    }

    /// A transport acting as a GitHub App installation (`installation`: a client from
    /// [`super::app::App::installation_client`]).
    pub fn for_installation(
        endpoint: Endpoint,
        installation: Octocrab,
        policy: Policy,
    ) -> Result<Self, GitHubError> {
        let build = |base: &str| -> Result<Octocrab, GitHubError> {
            Octocrab::builder()
                .base_uri(base)
                .map_err(|_| GitHubError::BadUrl(base.to_string()))?
                .build()
                .map_err(|e| GitHubError::BadUrl(format!("{base}: {e}")))
        };
        Ok(Self {
            rest: build(&endpoint.rest)?,
            graphql: build(&endpoint.graphql)?,
            installation: Some(InstallationAuth {
                client: installation,
                mint: tokio::sync::Mutex::new(()),
            }),
            governor: Governor::new(policy),
        })
    }

    /// Sends a REST request; retries rate limits, 5xx and connection failures. Returns the
    /// final reply whatever its status: callers map 4xx to their own errors with [`Self::fail`].
    pub async fn send(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
        accept: &str,
        access: Access,
        what: &str,
    ) -> Result<Reply, GitHubError> {
        self.send_with(&self.rest, method, path, body, accept, None, access, what)
            .await
    }

    /// A GET that revalidates an earlier reply: `304` means the `etag` is still current.
    pub async fn get_if_none_match(
        &self,
        path: &str,
        accept: &str,
        etag: &str,
        what: &str,
    ) -> Result<Reply, GitHubError> {
        self.send_with(
            &self.rest,
            Method::GET,
            path,
            None,
            accept,
            Some(etag),
            Access::Read,
            what,
        )
        .await
    }

    #[allow(clippy::too_many_arguments)]
    async fn send_with(
        &self,
        client: &Octocrab,
        method: Method,
        path: &str,
        body: Option<&Value>,
        accept: &str,
        if_none_match: Option<&str>,
        access: Access,
        what: &str,
    ) -> Result<Reply, GitHubError> {
        let attempts = self.governor.policy.max_attempts.max(1);
        let mut last_problem = String::new();
        for attempt in 0..attempts {
            let slot = self.governor.acquire(access == Access::Write).await?;
            let mut builder = http::Request::builder()
                .method(method.clone())
                .uri(path)
                .header(http::header::ACCEPT, accept)
                .header("X-GitHub-Api-Version", "2022-11-28");
            if let Some(etag) = if_none_match {
                builder = builder.header(http::header::IF_NONE_MATCH, etag);
            }
            if let Some(installation) = &self.installation {
                builder = builder.header(http::header::AUTHORIZATION, installation.header().await?);
            }
            let request =
                client
                    .build_request(builder, body)
                    .map_err(|e| GitHubError::BadResponse {
                        what: what.to_string(),
                        message: e.to_string(),
                    })?;
            let outcome = client.execute(request).await;
            slot.finish();
            let reply = match outcome {
                Ok(response) => {
                    let status = response.status().as_u16();
                    let headers = response.headers().clone();
                    match client.body_to_string(response).await {
                        Ok(body) => Reply {
                            status,
                            headers,
                            body,
                        },
                        Err(e) => {
                            last_problem = format!("reading the response failed: {e}");
                            self.governor
                                .wait_before_retry(self.governor.backoff(attempt), false)
                                .await?;
                            continue;
                        }
                    }
                }
                Err(e) => {
                    // Connection refused/reset, timeouts: worth another try.
                    last_problem = format!("connection failed: {e}");
                    self.governor
                        .wait_before_retry(self.governor.backoff(attempt), false)
                        .await?;
                    continue;
                }
            };
            match governor::judge(
                reply.status,
                &reply.headers,
                &reply.body,
                attempt,
                &self.governor,
            ) {
                Verdict::Done => return Ok(reply),
                Verdict::Retry {
                    after,
                    pause_everyone,
                    reason,
                } => {
                    last_problem = reason;
                    if attempt + 1 < attempts {
                        self.governor
                            .wait_before_retry(after, pause_everyone)
                            .await?;
                    }
                }
            }
        }
        Err(GitHubError::Unavailable {
            what: what.to_string(),
            message: last_problem,
            attempts,
        })
    }

    /// Runs a GraphQL query; GraphQL-level errors become [`GitHubError::GraphQl`].
    pub async fn graphql(
        &self,
        query: &str,
        variables: Value,
        what: &str,
    ) -> Result<Value, GitHubError> {
        let body = serde_json::json!({ "query": query, "variables": variables });
        let reply = self
            .send_with(
                &self.graphql,
                Method::POST,
                "/graphql",
                Some(&body),
                "application/json",
                None,
                Access::Read,
                what,
            )
            .await?;
        if reply.status != 200 {
            return Err(self.fail(&reply, what));
        }
        let value = reply.json(what)?;
        if let Some(errors) = value
            .get("errors")
            .and_then(Value::as_array)
            .filter(|e| !e.is_empty())
        {
            let messages: Vec<String> = errors
                .iter()
                .filter_map(|e| e.get("message").and_then(Value::as_str).map(str::to_string))
                .collect();
            // Partial data with errors (e.g. one repository gone) is still useful.
            if value.get("data").is_some_and(|d| !d.is_null())
                && !messages.iter().any(|m| m.contains("rate limit"))
            {
                return Ok(value);
            }
            return Err(GitHubError::GraphQl(messages.join("; ")));
        }
        Ok(value)
    }

    /// Maps a non-success reply to an error that says what to do.
    pub fn fail(&self, reply: &Reply, what: &str) -> GitHubError {
        let message = reply.message();
        match StatusCode::from_u16(reply.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR) {
            StatusCode::UNAUTHORIZED => GitHubError::Unauthorized,
            StatusCode::FORBIDDEN | StatusCode::NOT_FOUND
                if message.contains("without `workflow` scope")
                    || message.contains("without `workflows` permission") =>
            {
                GitHubError::WorkflowScope { message }
            }
            StatusCode::FORBIDDEN => GitHubError::Forbidden {
                what: what.to_string(),
                message,
            },
            StatusCode::NOT_FOUND => GitHubError::NotFound {
                what: what.to_string(),
            },
            s => GitHubError::Rejected {
                what: what.to_string(),
                status: s.as_u16(),
                message,
            },
        }
    }
}
