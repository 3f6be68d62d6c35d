//! A stateful fake GitHub (REST and GraphQL) on 127.0.0.1 for end-to-end tests of the real
//! binary. Every REST request is checked against GitHub's OpenAPI description; an unknown
//! route or an invalid body is recorded as a violation (and answered 404/422), and tests
//! assert there were none. Faults (5xx, resets, rate limits, missing `workflow` scope) can be
//! injected.
#![allow(dead_code)]

pub mod app;
mod graphql;
pub mod graphql_schema;
mod openapi;
mod rest;
pub mod state;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};

pub use state::World;

pub const TOKEN: &str = "test-token-not-secret";

#[derive(Default, Clone)]
pub struct Faults {
    /// Fraction of requests answered with a transient failure (500, 502, a reset
    /// connection, a secondary rate limit).
    pub rate: f64,
    pub seed: u64,
    /// Ref writes touching `.github/workflows` are refused as for a token without `workflow`.
    pub missing_workflow_scope: bool,
    /// The next N requests find the primary rate limit exhausted (reset in 1 s).
    pub primary_exhausted: u32,
}

#[derive(Clone, Debug)]
pub struct Logged {
    pub method: String,
    pub path: String,
    pub operation: String,
    pub status: u16,
    pub injected: bool,
}

pub struct Shared {
    pub world: World,
    pub faults: Faults,
    pub latency: Duration,
    /// Blob text longer than this is returned truncated by GraphQL (`isTruncated`).
    pub truncate_at: usize,
    pub log: Vec<Logged>,
    pub violations: Vec<String>,
    /// Operation ids the token may not use (answered 403 as for a token without access).
    pub forbidden: Vec<String>,
    /// `Repository` fields this server's GraphQL schema lacks (an older GitHub Enterprise
    /// Server): a query selecting one gets GitHub's `undefinedField` error.
    pub missing_repository_fields: Vec<String>,
    /// A GitHub App and its installations, when the test uses one.
    pub app: Option<app::FakeApp>,
    /// Enterprise slug → its organizations' logins (GraphQL `enterprise(slug:)`).
    pub enterprises: std::collections::BTreeMap<String, Vec<String>>,
    rng: u64,
}

impl Shared {
    fn random(&mut self) -> f64 {
        // xorshift64*: deterministic per seed, no dependency.
        let mut x = self.rng.max(1);
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.rng = x;
        (x.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 11) as f64 / (1u64 << 53) as f64
    }
}

pub struct FakeGitHub {
    /// Base URL to pass as `--github-url` (GHES layout: REST at /api/v3, GraphQL at /api/graphql).
    pub url: String,
    pub shared: Arc<Mutex<Shared>>,
    spec: Arc<(openapi::Spec, graphql_schema::Schema)>,
    _runtime: Arc<tokio::runtime::Runtime>,
}

impl FakeGitHub {
    pub fn start(world: World) -> Self {
        let shared = Arc::new(Mutex::new(Shared {
            world,
            faults: Faults::default(),
            latency: Duration::ZERO,
            truncate_at: 200_000,
            log: Vec::new(),
            violations: Vec::new(),
            forbidden: Vec::new(),
            missing_repository_fields: Vec::new(),
            app: None,
            enterprises: Default::default(),
            rng: 0x9e37_79b9_7f4a_7c15,
        }));
        let spec = Arc::new((openapi::Spec::load(), graphql_schema::Schema::load()));
        let runtime = Arc::new(
            tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .expect("runtime"),
        );
        let listener = runtime
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .expect("bind loopback");
        let addr = listener.local_addr().expect("addr");
        let app = axum::Router::new()
            .fallback(handle)
            .with_state((shared.clone(), spec.clone()));
        runtime.spawn(async move {
            axum::serve(listener, app)
                .await
                .expect("fake GitHub serves");
        });
        Self {
            url: format!("http://{addr}"),
            shared,
            spec,
            _runtime: runtime,
        }
    }

    pub fn set_faults(&self, faults: Faults) {
        let mut s = self.shared.lock().expect("lock");
        s.rng = faults.seed.max(1);
        s.faults = faults;
    }

    pub fn set_latency(&self, latency: Duration) {
        self.shared.lock().expect("lock").latency = latency;
    }

    pub fn with<R>(&self, f: impl FnOnce(&mut Shared) -> R) -> R {
        f(&mut self.shared.lock().expect("lock"))
    }

    pub fn violations(&self) -> Vec<String> {
        self.with(|s| s.violations.clone())
    }

    pub fn log(&self) -> Vec<Logged> {
        self.with(|s| s.log.clone())
    }

    /// Requests whose method is not GET (and not the GraphQL POST, nor a GitHub App minting
    /// an installation token: neither changes anything).
    pub fn writes(&self) -> Vec<Logged> {
        self.log()
            .into_iter()
            .filter(|l| {
                l.method != "GET"
                    && l.operation != "graphql"
                    && l.operation != "apps/create-installation-access-token"
            })
            .collect()
    }

    /// Installs a GitHub App (see [`app::FakeApp`]); its JWTs and tokens are then accepted
    /// next to the personal token.
    pub fn set_app(&self, app: app::FakeApp) {
        self.with(|s| s.app = Some(app));
    }

    pub fn app<R>(&self, f: impl FnOnce(&mut app::FakeApp) -> R) -> R {
        self.with(|s| f(s.app.as_mut().expect("the fake has an App")))
    }
}

/// The world, and the descriptions every request is checked against (REST, GraphQL).
type AppState = (
    Arc<Mutex<Shared>>,
    Arc<(openapi::Spec, graphql_schema::Schema)>,
);

/// Where the logs endpoint redirects to: `PREFIX{owner}/{repo}/{job_id}`, served without the
/// token, like the signed blob URL GitHub hands out.
pub const LOG_BLOB_PREFIX: &str = "/_blob/job-logs/";

/// The text of a job's log, as the blob store behind GitHub's redirect serves it.
fn log_blob(shared: &Mutex<Shared>, rest: &str) -> Response {
    let mut parts = rest.rsplitn(2, '/');
    let job_id: u64 = parts.next().unwrap_or_default().parse().unwrap_or_default();
    let slug = parts.next().unwrap_or_default();
    let s = shared.lock().expect("lock");
    let log = s
        .world
        .repos
        .get(slug)
        .and_then(|r| {
            r.runs
                .iter()
                .flat_map(|run| &run.jobs)
                .find(|j| j.id == job_id)
        })
        .map(|j| j.log.clone());
    match log {
        Some(text) => (StatusCode::OK, [("content-type", "text/plain")], text).into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

async fn handle(
    State((shared, spec)): State<AppState>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let latency = shared.lock().expect("lock").latency;
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    if let Some(rest) = uri.path().strip_prefix(LOG_BLOB_PREFIX) {
        let response = log_blob(&shared, rest);
        shared.lock().expect("lock").log.push(Logged {
            method: method.to_string(),
            path: uri.path().to_string(),
            operation: "log-blob".into(),
            status: response.status().as_u16(),
            injected: false,
        });
        return response;
    }
    let auth = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let bearer = auth
        .strip_prefix("Bearer ")
        .or_else(|| auth.strip_prefix("token "))
        .unwrap_or_default();
    let caller = if bearer == TOKEN {
        app::Caller::Person
    } else {
        let mut s = shared.lock().expect("lock");
        match s.app.as_mut().and_then(|a| app::authenticate(a, bearer)) {
            Some(caller) => caller,
            None => {
                return json_response(
                    StatusCode::UNAUTHORIZED,
                    serde_json::json!({"message": "Bad credentials"}),
                );
            }
        }
    };
    let full_path = uri.path().to_string();
    let query = uri.query().unwrap_or_default().to_string();
    // The lock must not live across the await below: the handler's future must be Send.
    let (operation, status, response) = {
        let mut s = shared.lock().expect("lock");

        // Injected faults come before any state change, like a proxy failing.
        if let Some(response) = inject_fault(&mut s, &method, &full_path) {
            return response;
        }

        if full_path == "/api/graphql" || full_path == "/graphql" {
            let sees_enterprises = caller == app::Caller::Person;
            let response = graphql::handle(&mut s, &spec.1, &body, sees_enterprises);
            ("graphql".to_string(), response.status().as_u16(), response)
        } else {
            let path = full_path.strip_prefix("/api/v3").unwrap_or(&full_path);
            let checked = spec.0.check(method.as_str(), path, &query, &body);
            let gated = checked.as_ref().ok().and_then(|(op, params)| {
                Some((
                    op.id.clone(),
                    app_gate(&mut s, caller, &op.id, params, path)?,
                ))
            });
            match checked {
                _ if gated.is_some() => {
                    let (id, response) = gated.expect("checked");
                    (id, response.status().as_u16(), response)
                }
                Err(violation) => {
                    s.violations.push(violation.clone());
                    let status = if violation.contains("not in GitHub's OpenAPI") {
                        StatusCode::NOT_FOUND
                    } else {
                        StatusCode::UNPROCESSABLE_ENTITY
                    };
                    (
                        "violation".to_string(),
                        status.as_u16(),
                        json_response(status, serde_json::json!({"message": violation})),
                    )
                }
                Ok((op, _)) if s.forbidden.contains(&op.id) => {
                    let body = serde_json::json!({"message": "Resource not accessible by personal access token"});
                    (
                        op.id.clone(),
                        403,
                        json_response(StatusCode::FORBIDDEN, body),
                    )
                }
                Ok((op, params)) => {
                    let request = rest::Request {
                        params,
                        query: &query,
                        body: &body,
                        headers: &headers,
                    };
                    let response = rest::handle(&mut s, &op.id, request);
                    (op.id.clone(), response.status().as_u16(), response)
                }
            }
        }
    };
    let (status, response) = if method == Method::GET && status == 200 {
        conditional(&headers, response).await
    } else {
        (status, response)
    };
    shared.lock().expect("lock").log.push(Logged {
        method: method.to_string(),
        path: full_path,
        operation,
        status,
        injected: false,
    });
    response
}

/// What the App's part of the fake answers: its own operations, a JWT used elsewhere (401),
/// an installation reaching outside its organization (404). `None`: the request goes on.
fn app_gate(
    s: &mut Shared,
    caller: app::Caller,
    operation: &str,
    params: &[(String, String)],
    path: &str,
) -> Option<Response> {
    if operation == "rate-limit/get" {
        return Some(rate_limit(s, caller));
    }
    if operation == "meta/get" {
        // Public: any caller, no organization.
        return Some(json_response(
            StatusCode::OK,
            serde_json::json!({
                "verifiable_password_authentication": false,
                "actions": s.world.actions_ranges,
                "actions_macos": [],
                "hooks": [],
                "web": [],
                "api": [],
                "git": [],
            }),
        ));
    }
    let fake_app = s.app.as_mut()?;
    let param = |name: &str| {
        params
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    if let Some(response) = app::handle(fake_app, caller, operation, &param) {
        return Some(response);
    }
    match caller {
        app::Caller::App => {
            fake_app
                .refused
                .push(format!("{operation} with the App's JWT"));
            Some(json_response(
                StatusCode::UNAUTHORIZED,
                serde_json::json!({"message": "A JSON web token cannot be used on this endpoint"}),
            ))
        }
        app::Caller::Installation(id) if !app::reaches(fake_app, id, path) => Some(json_response(
            StatusCode::NOT_FOUND,
            serde_json::json!({"message": "Not Found"}),
        )),
        _ => None,
    }
}

/// `GET /rate_limit`: 5,000 an hour for the personal token, each installation its own; the
/// fake never runs short, so `remaining` is the whole limit, resetting in an hour.
fn rate_limit(s: &Shared, caller: app::Caller) -> Response {
    let limit = match (caller, &s.app) {
        (app::Caller::Installation(id), Some(fake_app)) => fake_app
            .installations
            .iter()
            .find(|i| i.id == id)
            .map_or(5_000, |i| i.rate_limit),
        _ => 5_000,
    };
    let reset = state::now() + 3600;
    let core = serde_json::json!({"limit": limit, "used": 0, "remaining": limit, "reset": reset, "resource": "core"});
    let graphql = serde_json::json!({"limit": limit, "used": 0, "remaining": limit, "reset": reset, "resource": "graphql"});
    json_response(
        StatusCode::OK,
        serde_json::json!({"resources": {"core": core, "graphql": graphql}, "rate": core}),
    )
}

/// GitHub's conditional requests: every successful GET carries an `ETag`; a request whose
/// `If-None-Match` names the current one gets `304 Not Modified` and no body.
async fn conditional(headers: &HeaderMap, response: Response) -> (u16, Response) {
    use std::hash::{Hash, Hasher};
    let (mut parts, body) = response.into_parts();
    let bytes = axum::body::to_bytes(body, usize::MAX)
        .await
        .expect("fake bodies are in memory");
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    bytes.hash(&mut hasher);
    parts
        .headers
        .get("link")
        .map(|l| l.as_bytes().to_vec())
        .hash(&mut hasher);
    let etag = format!("W/\"{:016x}\"", hasher.finish());
    let matches = headers
        .get("if-none-match")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag));
    if matches {
        let response = Response::builder()
            .status(StatusCode::NOT_MODIFIED)
            .header("etag", &etag)
            .body(Body::empty())
            .expect("response");
        return (304, response);
    }
    parts.headers.insert("etag", etag.parse().expect("header"));
    (200, Response::from_parts(parts, Body::from(bytes)))
}

fn inject_fault(s: &mut Shared, method: &Method, path: &str) -> Option<Response> {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    if s.faults.primary_exhausted > 0 {
        s.faults.primary_exhausted -= 1;
        log_injected(s, method, path, 403);
        return Some(
            Response::builder()
                .status(403)
                .header("x-ratelimit-remaining", "0")
                .header("x-ratelimit-reset", (now + 1).to_string())
                .header("content-type", "application/json")
                .body(Body::from(r#"{"message":"API rate limit exceeded"}"#))
                .expect("response"),
        );
    }
    if s.faults.rate <= 0.0 || s.random() >= s.faults.rate {
        return None;
    }
    let kind = (s.random() * 4.0) as u32;
    let response = match kind {
        0 => json_response(StatusCode::INTERNAL_SERVER_ERROR, serde_json::json!({"message": "Server Error"})),
        1 => json_response(StatusCode::BAD_GATEWAY, serde_json::json!({"message": "Bad Gateway"})),
        2 => {
            // Headers go out, then the body fails: the client sees a reset connection.
            let stream = futures::stream::once(async { Err::<Bytes, std::io::Error>(std::io::Error::other("connection reset")) });
            Response::builder().status(200).body(Body::from_stream(stream)).expect("response")
        }
        _ => Response::builder()
            .status(403)
            .header("retry-after", "1")
            .header("content-type", "application/json")
            .body(Body::from(r#"{"message":"You have exceeded a secondary rate limit. Please wait a few minutes before you try again."}"#))
            .expect("response"),
    };
    let status = response.status().as_u16();
    log_injected(s, method, path, status);
    Some(response)
}

fn log_injected(s: &mut Shared, method: &Method, path: &str, status: u16) {
    s.log.push(Logged {
        method: method.to_string(),
        path: path.to_string(),
        operation: "fault".into(),
        status,
        injected: true,
    });
}

pub fn json_response(status: StatusCode, value: serde_json::Value) -> Response {
    (
        status,
        [("content-type", "application/json")],
        value.to_string(),
    )
        .into_response()
}
