//! The fake's GitHub App: a test key pair, installations with their permissions, JWT checks
//! (RS256 signature against the App's public key, `iss`, `iat`, `exp`) and installation tokens
//! that expire when their `expires_at` says.

use std::collections::HashMap;
use std::time::Duration;

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rsa::KeySize;
use aws_lc_rs::signature::{KeyPair, RsaKeyPair};
use axum::http::StatusCode;
use axum::response::Response;
use base64::Engine;
use serde_json::{Value, json};

use super::json_response;
use super::state::{now, rfc3339};

/// A freshly generated RSA key pair for a test App: the private half as the PEM file GitHub
/// hands out, the public half as the fake holds it.
pub struct TestAppKey {
    pub private_pem: String,
    public_der: Vec<u8>,
}

impl TestAppKey {
    pub fn generate() -> Self {
        let pair = RsaKeyPair::generate(KeySize::Rsa2048).expect("RSA key generation");
        let pkcs8 = pair.as_der().expect("PKCS#8 encoding");
        let body = base64::engine::general_purpose::STANDARD.encode(pkcs8.as_ref());
        let mut private_pem = String::from("-----BEGIN PRIVATE KEY-----\n");
        for line in body.as_bytes().chunks(64) {
            private_pem.push_str(std::str::from_utf8(line).expect("base64 is ASCII"));
            private_pem.push('\n');
        }
        private_pem.push_str("-----END PRIVATE KEY-----\n");
        Self {
            private_pem,
            public_der: pair.public_key().as_ref().to_vec(),
        }
    }
}

pub struct Installation {
    pub id: u64,
    /// The organization it is installed on.
    pub account: String,
    /// GitHub's shape: `{"contents": "read", ...}`.
    pub permissions: Value,
    /// Requests an hour (`GET /rate_limit`): 15,000 on Enterprise Cloud.
    pub rate_limit: u64,
}

pub struct FakeApp {
    pub app_id: u64,
    public_der: Vec<u8>,
    pub installations: Vec<Installation>,
    /// How long a minted installation token lives (its `expires_at`).
    pub token_lifetime: Duration,
    /// token → (installation id, expiry in Unix seconds).
    tokens: HashMap<String, (u64, i64)>,
    /// Installation ids, one per token minted.
    pub minted: Vec<u64>,
    /// Why requests were refused: bad JWTs, expired or unknown tokens, wrong organization.
    pub refused: Vec<String>,
}

impl FakeApp {
    pub fn new(app_id: u64, key: &TestAppKey) -> Self {
        Self {
            app_id,
            public_der: key.public_der.clone(),
            installations: Vec::new(),
            token_lifetime: Duration::from_secs(3600),
            tokens: HashMap::new(),
            minted: Vec::new(),
            refused: Vec::new(),
        }
    }

    pub fn install(&mut self, id: u64, org: &str, permissions: Value) {
        self.installations.push(Installation {
            id,
            account: org.to_string(),
            permissions,
            rate_limit: 15_000,
        });
    }
}

/// Who sent a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Caller {
    /// The personal token (`super::TOKEN`).
    Person,
    /// The App, with a valid JWT.
    App,
    /// An installation token that has not expired.
    Installation(u64),
}

fn refuse(app: &mut FakeApp, reason: String) -> Response {
    app.refused.push(reason);
    json_response(
        StatusCode::UNAUTHORIZED,
        json!({"message": "Bad credentials"}),
    )
}

/// Checks a bearer that is not the personal token: a JWT of the App or an installation token.
/// `None` (the reason recorded in `refused`) is answered 401.
pub fn authenticate(app: &mut FakeApp, bearer: &str) -> Option<Caller> {
    let verdict = if bearer.matches('.').count() == 2 {
        check_jwt(app, bearer).map(|()| Caller::App)
    } else {
        match app.tokens.get(bearer).copied() {
            Some((id, expires)) if now() < expires => Ok(Caller::Installation(id)),
            Some((id, _)) => Err(format!("expired token of installation {id} used")),
            None => Err("unknown token".into()),
        }
    };
    match verdict {
        Ok(caller) => Some(caller),
        Err(reason) => {
            app.refused.push(reason);
            None
        }
    }
}

fn check_jwt(app: &FakeApp, jwt: &str) -> Result<(), String> {
    use jsonwebtoken::{Algorithm, DecodingKey, Validation};
    let mut validation = Validation::new(Algorithm::RS256);
    validation.leeway = 0;
    validation.validate_aud = false;
    validation.set_required_spec_claims(&["exp", "iat"]);
    let key = DecodingKey::from_rsa_der(&app.public_der);
    let claims = jsonwebtoken::decode::<Value>(jwt, &key, &validation)
        .map_err(|e| format!("JWT refused: {e}"))?
        .claims;
    let iss = match &claims["iss"] {
        Value::Number(n) => n.to_string(),
        Value::String(s) => s.clone(),
        other => return Err(format!("JWT iss {other} is not the App id")),
    };
    if iss != app.app_id.to_string() {
        return Err(format!("JWT iss {iss} is not App {}", app.app_id));
    }
    let iat = claims["iat"].as_i64().ok_or("JWT iat is not a number")?;
    let exp = claims["exp"].as_i64().ok_or("JWT exp is not a number")?;
    let now = now();
    // GitHub: issued in the past (backdated against clock drift), expiring within 10 minutes.
    if iat > now - 30 {
        return Err(format!("JWT iat {iat} is not backdated (now {now})"));
    }
    if exp > now + 600 {
        return Err(format!(
            "JWT exp {exp} is more than 10 minutes ahead (now {now})"
        ));
    }
    Ok(())
}

/// The App's operations; `None` for the rest of the API.
pub fn handle(
    app: &mut FakeApp,
    caller: Caller,
    operation: &str,
    param: &dyn Fn(&str) -> String,
) -> Option<Response> {
    let app_only = matches!(
        operation,
        "apps/list-installations"
            | "apps/get-org-installation"
            | "apps/create-installation-access-token"
    );
    if !app_only {
        return None;
    }
    if caller != Caller::App {
        let reason = format!("{operation} without the App's JWT");
        return Some(refuse(app, reason));
    }
    let describe = |i: &Installation, app_id: u64| {
        json!({
            "id": i.id,
            "app_id": app_id,
            "account": {"login": i.account, "type": "Organization"},
            "target_type": "Organization",
            "permissions": i.permissions,
            "repository_selection": "all",
        })
    };
    Some(match operation {
        "apps/list-installations" => {
            let all: Vec<Value> = app
                .installations
                .iter()
                .map(|i| describe(i, app.app_id))
                .collect();
            json_response(StatusCode::OK, Value::Array(all))
        }
        "apps/get-org-installation" => {
            let org = param("org");
            match app.installations.iter().find(|i| i.account == org) {
                Some(i) => json_response(StatusCode::OK, describe(i, app.app_id)),
                None => json_response(StatusCode::NOT_FOUND, json!({"message": "Not Found"})),
            }
        }
        _ => {
            let id: u64 = param("installation_id").parse().unwrap_or(0);
            let Some(installation) = app.installations.iter().find(|i| i.id == id) else {
                return Some(json_response(
                    StatusCode::NOT_FOUND,
                    json!({"message": "Not Found"}),
                ));
            };
            let permissions = installation.permissions.clone();
            let expires = now() + app.token_lifetime.as_secs() as i64;
            let token = format!("ghs_fake{}x{}", id, app.minted.len());
            app.tokens.insert(token.clone(), (id, expires));
            app.minted.push(id);
            json_response(
                StatusCode::CREATED,
                json!({
                    "token": token,
                    "expires_at": rfc3339(expires),
                    "permissions": permissions,
                    "repository_selection": "all",
                }),
            )
        }
    })
}

/// Whether an installation may touch `path` (`/orgs/{org}/...`, `/repos/{owner}/...`): only
/// its own organization's.
pub fn reaches(app: &FakeApp, installation: u64, path: &str) -> bool {
    let Some(account) = app
        .installations
        .iter()
        .find(|i| i.id == installation)
        .map(|i| i.account.as_str())
    else {
        return false;
    };
    let mut segments = path.trim_start_matches('/').split('/');
    match (segments.next(), segments.next()) {
        (Some("orgs" | "repos"), Some(owner)) => owner.eq_ignore_ascii_case(account),
        _ => true,
    }
}
