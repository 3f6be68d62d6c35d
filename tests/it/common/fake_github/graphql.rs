//! The GraphQL queries migrate sends: organization repositories in pages, and named
//! repositories by alias. The fake answers every field those queries select.

use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Value, json};

use super::graphql_schema::Schema;
use super::state::Repo;
use super::{Shared, json_response};

/// `sees_enterprises`: whether the caller may list an enterprise's organizations (a personal
/// token does; an organization's App installation does not).
pub fn handle(s: &mut Shared, schema: &Schema, body: &[u8], sees_enterprises: bool) -> Response {
    let Ok(request) = serde_json::from_slice::<Value>(body) else {
        return json_response(
            StatusCode::BAD_REQUEST,
            json!({"message": "Problems parsing JSON"}),
        );
    };
    let query = request["query"].as_str().unwrap_or_default();
    for field in &s.missing_repository_fields {
        if query.contains(&format!(" {field}(")) || query.contains(&format!(" {field} ")) {
            return json_response(
                StatusCode::OK,
                json!({"errors": [{
                    "path": ["fragment Repo", field],
                    "extensions": {"code": "undefinedField", "typeName": "Repository", "fieldName": field},
                    "locations": [{"line": 1, "column": 1}],
                    "message": format!("Field '{field}' doesn't exist on type 'Repository'"),
                }]}),
            );
        }
    }
    if let Err(problems) = schema.check(query) {
        let violation = format!("GraphQL query not valid against GitHub's schema: {problems}");
        s.violations.push(violation.clone());
        return json_response(StatusCode::OK, json!({"errors": [{"message": violation}]}));
    }
    let vars = &request["variables"];
    // `environments(first: N)`: how many environment names each repository node carries.
    let environments = query
        .split("environments(first: ")
        .nth(1)
        .and_then(|rest| rest.split(')').next())
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or(0);
    if query.contains("enterprise(slug: $slug)") {
        return enterprise(s, vars, sees_enterprises);
    }
    if query.contains("organization(login: $org)") {
        return organization(s, vars, environments);
    }
    if query.contains(": repository(owner: $o0, name: $n0)") {
        let mut data = serde_json::Map::new();
        let mut errors = Vec::new();
        for i in 0.. {
            let (Some(owner), Some(name)) = (
                vars[format!("o{i}")].as_str(),
                vars[format!("n{i}")].as_str(),
            ) else {
                break;
            };
            match s.world.repos.get(&format!("{owner}/{name}")) {
                Some(repo) => {
                    data.insert(format!("r{i}"), repo_node(s, repo, environments));
                }
                None => {
                    data.insert(format!("r{i}"), Value::Null);
                    errors.push(json!({"type": "NOT_FOUND", "path": [format!("r{i}")], "message": format!("Could not resolve to a Repository with the name '{owner}/{name}'.")}));
                }
            }
        }
        let mut out = json!({"data": data});
        if !errors.is_empty() {
            out["errors"] = Value::Array(errors);
        }
        return json_response(StatusCode::OK, out);
    }
    json_response(
        StatusCode::OK,
        json!({"errors": [{"message": "fake GitHub does not know this query"}]}),
    )
}

fn organization(s: &Shared, vars: &Value, environments: usize) -> Response {
    let org = vars["org"].as_str().unwrap_or_default();
    let Some(org_state) = s.world.orgs.get(org) else {
        return json_response(
            StatusCode::OK,
            json!({"data": {"organization": null}, "errors": [{"type": "NOT_FOUND", "message": format!("Could not resolve to an Organization with the login of '{org}'.")}]}),
        );
    };
    let first = vars["first"].as_u64().unwrap_or(0) as usize;
    if !(1..=100).contains(&first) {
        return json_response(
            StatusCode::OK,
            json!({"errors": [{"message": "first must be between 1 and 100"}]}),
        );
    }
    let start: usize = vars["cursor"]
        .as_str()
        .and_then(|c| c.strip_prefix("cursor:"))
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    let repos: Vec<&Repo> = s.world.repos.values().filter(|r| r.owner == org).collect();
    let end = (start + first).min(repos.len());
    let nodes: Vec<Value> = repos[start.min(end)..end]
        .iter()
        .map(|r| repo_node(s, r, environments))
        .collect();
    json_response(
        StatusCode::OK,
        json!({"data": {"organization": {
            "databaseId": org_state.id,
            "repositories": {
                "totalCount": repos.len(),
                "pageInfo": {"hasNextPage": end < repos.len(), "endCursor": format!("cursor:{end}")},
                "nodes": nodes,
            }
        }}}),
    )
}

fn blob(text: &str, truncate_at: usize) -> Value {
    let binary = text.contains('\0');
    let truncated = text.len() > truncate_at;
    let shown: String = if truncated {
        text.chars().take(truncate_at).collect()
    } else {
        text.to_string()
    };
    json!({"text": if binary { Value::Null } else { json!(shown) }, "byteSize": text.len(), "isBinary": binary, "isTruncated": truncated})
}

fn repo_node(s: &Shared, repo: &Repo, environments: usize) -> Value {
    let truncate_at = s.truncate_at;
    let owner_id = s.world.orgs.get(&repo.owner).map(|o| o.id);
    let files = repo.default_files();
    let entries_under = |dir: &str| -> Vec<(String, bool)> {
        let mut names: Vec<(String, bool)> = files
            .keys()
            .filter_map(|p| p.strip_prefix(dir))
            .map(|rest| match rest.split_once('/') {
                Some((d, _)) => (d.to_string(), true),
                None => (rest.to_string(), false),
            })
            .collect();
        names.dedup();
        names
    };
    let tree = |dir: &str, depth: u32| -> Value {
        let entries: Vec<Value> = entries_under(dir)
            .into_iter()
            .map(|(name, is_dir)| {
                let path = format!("{dir}{name}");
                if is_dir {
                    let inner: Vec<Value> = files
                        .iter()
                        .filter_map(|(p, t)| p.strip_prefix(&format!("{path}/")).filter(|r| !r.contains('/')).map(|r| json!({"name": r, "type": "blob", "object": blob(t, truncate_at)})))
                        .collect();
                    json!({"name": name, "type": "tree", "object": if depth > 0 { json!({"entries": inner}) } else { json!({}) }})
                } else {
                    json!({"name": name, "type": "blob", "object": blob(&files[&path], truncate_at)})
                }
            })
            .collect();
        if entries.is_empty() {
            Value::Null
        } else {
            json!({"entries": entries})
        }
    };
    json!({
        "name": repo.name,
        "databaseId": repo.id,
        "isArchived": repo.archived,
        "isFork": repo.fork,
        "owner": {"login": repo.owner, "databaseId": owner_id},
        "repositoryTopics": {"nodes": repo.topics.iter().map(|t| json!({"topic": {"name": t}})).collect::<Vec<_>>()},
        "defaultBranchRef": {"name": repo.default_branch, "target": {"oid": repo.head()}},
        "workflows": tree(".github/workflows/", 0),
        "actions": tree(".github/actions/", 1),
        "environments": {
            "totalCount": repo.environments.len(),
            "nodes": repo.environments.keys().take(environments).map(|n| json!({"name": n})).collect::<Vec<_>>(),
        },
        "rootAction": files.get("action.yml").map_or(Value::Null, |t| blob(t, truncate_at)),
        "campaignPulls": {"nodes": repo
            .pulls
            .iter()
            .rev()
            .filter(|p| p.head == "migrate/aws-oidc")
            .map(|p| json!({
                "number": p.number,
                "url": format!("https://github.example/{}/pull/{}", repo.slug(), p.number),
                "state": if p.merged { "MERGED" } else if p.state == "open" { "OPEN" } else { "CLOSED" },
                "mergedAt": p.merged_at,
                "headRefName": p.head,
                "files": {"nodes": p.files.iter().map(|f| json!({"path": f})).collect::<Vec<_>>()},
            }))
            .collect::<Vec<_>>()},
    })
}

/// `enterprise(slug:) { organizations(first:, after:) }`, in pages of `first`.
fn enterprise(s: &Shared, vars: &Value, sees_enterprises: bool) -> Response {
    let slug = vars["slug"].as_str().unwrap_or_default();
    let orgs = s.enterprises.get(slug).filter(|_| sees_enterprises);
    let Some(orgs) = orgs else {
        return json_response(
            StatusCode::OK,
            json!({"data": {"enterprise": null}, "errors": [{
                "type": "NOT_FOUND", "path": ["enterprise"],
                "message": format!("Could not resolve to an Enterprise with the slug of '{slug}'."),
            }]}),
        );
    };
    let start: usize = vars["cursor"]
        .as_str()
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let page: Vec<Value> = orgs
        .iter()
        .skip(start)
        .take(100)
        .map(|login| json!({"login": login}))
        .collect();
    let end = start + page.len();
    json_response(
        StatusCode::OK,
        json!({"data": {"enterprise": {"organizations": {
            "totalCount": orgs.len(),
            "pageInfo": {"hasNextPage": end < orgs.len(), "endCursor": end.to_string()},
            "nodes": page,
        }}}}),
    )
}
