//! Checks requests against the committed subset of GitHub's OpenAPI description
//! (tests/openapi/github-subset.json, written by tests/openapi/extract.py).

use serde_json::Value;

pub struct Operation {
    pub method: String,
    pub id: String,
    segments: Vec<String>,
    query: Vec<String>,
    body: Option<jsonschema::Validator>,
    body_required: bool,
}

/// Path parameters by name (`owner`, `repo`, `ref`...).
pub type PathParams = Vec<(String, String)>;

pub struct Spec {
    operations: Vec<Operation>,
}

impl Spec {
    pub fn load() -> Self {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/openapi/github-subset.json"
        );
        let doc: Value =
            serde_json::from_str(&std::fs::read_to_string(path).expect("subset exists"))
                .expect("subset is JSON");
        let operations = doc["operations"]
            .as_array()
            .expect("operations")
            .iter()
            .map(|op| Operation {
                method: op["method"].as_str().expect("method").to_string(),
                id: op["operationId"].as_str().expect("id").to_string(),
                segments: op["path"]
                    .as_str()
                    .expect("path")
                    .trim_start_matches('/')
                    .split('/')
                    .map(str::to_string)
                    .collect(),
                query: op["parameters"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter(|p| p["in"] == "query")
                    .filter_map(|p| p["name"].as_str().map(str::to_string))
                    .collect(),
                body: op["requestBody"].as_object().map(|_| {
                    jsonschema::validator_for(&op["requestBody"]).expect("request schema compiles")
                }),
                body_required: op["requestBodyRequired"].as_bool().unwrap_or(false),
            })
            .collect();
        Self { operations }
    }

    /// The operation a request matches, with its path parameters, or why it matches none.
    pub fn check(
        &self,
        method: &str,
        path: &str,
        query: &str,
        body: &[u8],
    ) -> Result<(&Operation, PathParams), String> {
        let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
        let (op, params) = self
            .operations
            .iter()
            .filter(|op| op.method == method)
            .find_map(|op| match_path(&op.segments, &segments).map(|p| (op, p)))
            .ok_or_else(|| {
                format!("{method} {path} is not in GitHub's OpenAPI description (subset)")
            })?;
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            let name = pair.split('=').next().unwrap_or_default();
            if !op.query.iter().any(|q| q == name) {
                return Err(format!(
                    "{} {method} {path}: unknown query parameter `{name}`",
                    op.id
                ));
            }
        }
        match (&op.body, body.is_empty()) {
            (Some(_), true) if op.body_required => {
                return Err(format!("{}: request body required", op.id));
            }
            (Some(validator), false) => {
                let value: Value = serde_json::from_slice(body)
                    .map_err(|e| format!("{}: body is not JSON: {e}", op.id))?;
                let problems: Vec<String> = validator
                    .iter_errors(&value)
                    .map(|e| format!("{e} at {}", e.instance_path()))
                    .collect();
                if !problems.is_empty() {
                    return Err(format!("{}: invalid body: {}", op.id, problems.join("; ")));
                }
            }
            (None, false) if method != "GET" && method != "DELETE" => {
                return Err(format!("{}: takes no body", op.id));
            }
            _ => {}
        }
        Ok((op, params))
    }
}

/// `{ref}` and `{path}` may span several segments (`heads/migrate/aws-oidc`).
fn match_path(template: &[String], actual: &[&str]) -> Option<Vec<(String, String)>> {
    let mut params = Vec::new();
    let mut i = 0;
    for (t_index, t) in template.iter().enumerate() {
        if let Some(name) = t.strip_prefix('{').and_then(|t| t.strip_suffix('}')) {
            let greedy = matches!(name, "ref" | "path") && t_index == template.len() - 1;
            if greedy {
                if i >= actual.len() {
                    return None;
                }
                params.push((name.to_string(), actual[i..].join("/")));
                i = actual.len();
                continue;
            }
            let value = actual.get(i)?;
            if value.is_empty() {
                return None;
            }
            params.push((name.to_string(), (*value).to_string()));
        } else if actual.get(i) != Some(&t.as_str()) {
            return None;
        }
        i += 1;
    }
    (i == actual.len()).then_some(params)
}
