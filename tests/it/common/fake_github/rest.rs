//! REST operations of the fake, keyed by OpenAPI operation id.

use std::collections::BTreeMap;

use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::state::{Commit, Pull, Repo};
use super::{Shared, json_response};

pub struct Request<'a> {
    pub params: Vec<(String, String)>,
    pub query: &'a str,
    pub body: &'a Bytes,
    pub headers: &'a HeaderMap,
}

impl Request<'_> {
    fn param(&self, name: &str) -> String {
        let raw = self
            .params
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
            .unwrap_or_default();
        percent_decode(&raw)
    }

    fn query(&self, name: &str) -> Option<String> {
        self.query.split('&').find_map(|pair| {
            let (k, v) = pair.split_once('=')?;
            (k == name).then(|| percent_decode(v))
        })
    }

    fn json(&self) -> Value {
        serde_json::from_slice(self.body).unwrap_or(Value::Null)
    }
}

fn percent_decode(s: &str) -> String {
    percent_encoding::percent_decode_str(s)
        .decode_utf8_lossy()
        .into_owned()
}

fn not_found() -> Response {
    json_response(StatusCode::NOT_FOUND, json!({"message": "Not Found"}))
}

fn unprocessable(message: &str) -> Response {
    json_response(
        StatusCode::UNPROCESSABLE_ENTITY,
        json!({"message": "Validation Failed", "errors": [{"message": message}]}),
    )
}

/// One page of `items` and the `Link` header value when more pages follow.
fn paginate(req: &Request<'_>, items: Vec<Value>) -> (usize, Vec<Value>, Option<String>) {
    let per_page: usize = req
        .query("per_page")
        .and_then(|v| v.parse().ok())
        .unwrap_or(30)
        .clamp(1, 100);
    let page: usize = req
        .query("page")
        .and_then(|v| v.parse().ok())
        .unwrap_or(1)
        .max(1);
    let total = items.len();
    let slice: Vec<Value> = items
        .into_iter()
        .skip((page - 1) * per_page)
        .take(per_page)
        .collect();
    let link = (page * per_page < total)
        .then(|| format!("<http://fake/next?page={}>; rel=\"next\"", page + 1));
    (total, slice, link)
}

fn with_link(mut response: Response, link: Option<String>) -> Response {
    if let Some(link) = link {
        response
            .headers_mut()
            .insert("link", link.parse().expect("header"));
    }
    response
}

/// A page of `items` under `field` (`{"total_count", field: [...]}`).
fn comment_json(slug: &str, c: &super::state::Comment) -> Value {
    json!({
        "id": c.id, "body": c.body,
        "html_url": format!("https://github.example/{slug}/issues/{}#issuecomment-{}", c.issue_number, c.id),
    })
}

fn issue_json(slug: &str, i: &super::state::Issue) -> Value {
    json!({
        "number": i.number, "title": i.title, "body": i.body, "state": "open",
        "html_url": format!("https://github.example/{slug}/issues/{}", i.number),
    })
}

/// A listing GitHub answers with a bare array (issues, comments).
fn page_array(req: &Request<'_>, items: Vec<Value>) -> Response {
    let (_, slice, link) = paginate(req, items);
    with_link(json_response(StatusCode::OK, json!(slice)), link)
}

fn page(req: &Request<'_>, field: &str, items: Vec<Value>) -> Response {
    let (total, slice, link) = paginate(req, items);
    with_link(
        json_response(StatusCode::OK, json!({"total_count": total, field: slice})),
        link,
    )
}

fn variables_json(variables: &BTreeMap<String, String>) -> Vec<Value> {
    variables
        .iter()
        .map(|(name, value)| {
            json!({"name": name, "value": value, "created_at": "2024-01-01T00:00:00Z", "updated_at": "2024-01-01T00:00:00Z"})
        })
        .collect()
}

fn secret_json(name: &str) -> Value {
    json!({"name": name, "created_at": "2024-01-01T00:00:00Z", "updated_at": "2024-01-01T00:00:00Z"})
}

fn pull_json(repo: &Repo, p: &Pull) -> Value {
    let head_sha = repo
        .refs
        .get(&format!("heads/{}", p.head))
        .cloned()
        .unwrap_or_default();
    json!({
        "number": p.number, "state": p.state, "title": p.title, "body": p.body, "draft": p.draft,
        "merged": p.merged, "merged_at": p.merged_at,
        "html_url": format!("https://github.example/{}/pull/{}", repo.slug(), p.number),
        "head": {"ref": p.head, "sha": head_sha, "label": format!("{}:{}", repo.owner, p.head)},
        "base": {"ref": p.base},
        "labels": p.labels.iter().map(|l| json!({"name": l})).collect::<Vec<_>>(),
    })
}

pub fn handle(s: &mut Shared, operation: &str, req: Request<'_>) -> Response {
    let slug = format!("{}/{}", req.param("owner"), req.param("repo"));
    match operation {
        "orgs/get" => match s.world.orgs.get(&req.param("org")) {
            Some(org) => json_response(
                StatusCode::OK,
                json!({"login": req.param("org"), "id": org.id}),
            ),
            None => not_found(),
        },
        "oidc/get-oidc-custom-sub-template-for-org" => match s.world.orgs.get(&req.param("org")) {
            Some(org) => json_response(StatusCode::OK, org.oidc.clone()),
            None => not_found(),
        },
        "actions/list-org-secrets" => {
            let Some(org) = s.world.orgs.get(&req.param("org")) else {
                return not_found();
            };
            let org_name = req.param("org");
            let items = org
                .secrets
                .iter()
                .map(|sec| {
                    let mut v = secret_json(&sec.name);
                    v["visibility"] = json!(sec.visibility);
                    if sec.visibility == "selected" {
                        v["selected_repositories_url"] = json!(format!(
                            "/orgs/{org_name}/actions/secrets/{}/repositories",
                            sec.name
                        ));
                    }
                    v
                })
                .collect();
            page(&req, "secrets", items)
        }
        "actions/list-selected-repos-for-org-secret" => {
            let org_name = req.param("org");
            let Some(org) = s.world.orgs.get(&org_name) else {
                return not_found();
            };
            let Some(secret) = org
                .secrets
                .iter()
                .find(|x| x.name == req.param("secret_name"))
            else {
                return not_found();
            };
            let items = secret
                .selected
                .iter()
                .filter_map(|name| s.world.repos.get(&format!("{org_name}/{name}")))
                .map(|r| json!({"id": r.id, "name": r.name, "full_name": r.slug()}))
                .collect();
            page(&req, "repositories", items)
        }
        "actions/delete-org-secret" => {
            let Some(org) = s.world.orgs.get_mut(&req.param("org")) else {
                return not_found();
            };
            let before = org.secrets.len();
            org.secrets.retain(|x| x.name != req.param("secret_name"));
            if org.secrets.len() == before {
                not_found()
            } else {
                StatusCode::NO_CONTENT.into_response()
            }
        }
        "actions/remove-selected-repo-from-org-secret" => {
            let org_name = req.param("org");
            let repo_id: u64 = req.param("repository_id").parse().unwrap_or(0);
            let name = s
                .world
                .repos
                .values()
                .find(|r| r.id == repo_id && r.owner == org_name)
                .map(|r| r.name.clone());
            let Some(org) = s.world.orgs.get_mut(&org_name) else {
                return not_found();
            };
            let Some(secret) = org
                .secrets
                .iter_mut()
                .find(|x| x.name == req.param("secret_name"))
            else {
                return not_found();
            };
            if secret.visibility != "selected" {
                return json_response(
                    StatusCode::CONFLICT,
                    json!({"message": "visibility is not selected"}),
                );
            }
            secret.selected.retain(|r| Some(r) != name.as_ref());
            StatusCode::NO_CONTENT.into_response()
        }
        "repos/list-for-org" => {
            let org = req.param("org");
            let items = s.world.repos.values().filter(|r| r.owner == org).map(|r| json!({"id": r.id, "name": r.name, "full_name": r.slug(), "archived": r.archived})).collect();
            // This endpoint returns a bare array.
            let (_, slice, link) = paginate(&req, items);
            with_link(json_response(StatusCode::OK, Value::Array(slice)), link)
        }
        _ => repo_operation(s, operation, &slug, &req),
    }
}

fn repo_operation(s: &mut Shared, operation: &str, slug: &str, req: &Request<'_>) -> Response {
    let scope_missing = s.faults.missing_workflow_scope;
    let new_sha = s.world.sha();
    let org_variables = slug
        .split_once('/')
        .and_then(|(owner, _)| s.world.orgs.get(owner))
        .map(|org| org.variables.clone());
    let Some(repo) = s.world.repos.get_mut(slug) else {
        return not_found();
    };
    match operation {
        "repos/get" => json_response(
            StatusCode::OK,
            json!({
                "id": repo.id, "name": repo.name, "full_name": repo.slug(), "owner": {"login": repo.owner},
                "default_branch": repo.default_branch, "archived": repo.archived, "fork": repo.fork,
            }),
        ),
        "actions/get-custom-oidc-sub-claim-for-repo" => {
            json_response(StatusCode::OK, repo.oidc.clone())
        }
        "repos/get-content" => {
            let git_ref = req
                .query("ref")
                .unwrap_or_else(|| repo.default_branch.clone());
            let tree = repo
                .commits
                .get(&git_ref)
                .or_else(|| {
                    repo.refs
                        .get(&format!("heads/{git_ref}"))
                        .and_then(|sha| repo.commits.get(sha))
                })
                .and_then(|c| repo.trees.get(&c.tree));
            match tree.and_then(|t| t.get(&req.param("path"))) {
                Some(text) => (StatusCode::OK, text.clone()).into_response(),
                None => not_found(),
            }
        }
        "actions/list-repo-secrets" => page(
            req,
            "secrets",
            repo.secrets.iter().map(|n| secret_json(n)).collect(),
        ),
        "actions/list-workflow-runs-for-repo" => {
            let branch = req.query("branch");
            let conclusion = req.query("status");
            // `created` as GitHub's search syntax; the fake knows `>=DATE`.
            let since = req.query("created").and_then(|c| {
                c.strip_prefix(">=")
                    .and_then(migrate::campaign::time::parse)
            });
            let mut runs: Vec<&super::state::Run> = repo
                .runs
                .iter()
                .filter(|r| branch.as_ref().is_none_or(|b| *b == r.head_branch))
                .filter(|r| conclusion.as_ref().is_none_or(|c| *c == r.conclusion))
                .filter(|r| since.is_none_or(|t| r.created_at >= t))
                .collect();
            runs.sort_by_key(|r| std::cmp::Reverse(r.created_at));
            let items = runs
                .iter()
                .map(|r| {
                    json!({
                        "id": r.id, "path": r.path, "head_branch": r.head_branch, "head_sha": r.head_sha,
                        "status": "completed", "conclusion": r.conclusion, "event": r.event,
                        "created_at": super::state::rfc3339(r.created_at),
                        "run_started_at": super::state::rfc3339(r.created_at),
                        "updated_at": super::state::rfc3339(r.created_at + 60),
                        "html_url": format!("https://github.example/{}/actions/runs/{}", repo.slug(), r.id),
                    })
                })
                .collect();
            page(req, "workflow_runs", items)
        }
        "actions/list-jobs-for-workflow-run" => {
            let run_id: u64 = req.param("run_id").parse().unwrap_or_default();
            let Some(run) = repo.runs.iter().find(|r| r.id == run_id) else {
                return not_found();
            };
            let items = run
                .jobs
                .iter()
                .map(|j| {
                    json!({
                        "id": j.id, "run_id": run.id, "name": j.name, "status": "completed",
                        "conclusion": j.conclusion,
                        "started_at": super::state::rfc3339(run.created_at),
                        "completed_at": super::state::rfc3339(run.created_at + 60),
                        "html_url": format!("https://github.example/{}/actions/runs/{}/job/{}", repo.slug(), run.id, j.id),
                    })
                })
                .collect();
            page(req, "jobs", items)
        }
        "actions/download-job-logs-for-workflow-run" => {
            // GitHub answers with a redirect to a short-lived URL of the log's text.
            let job_id: u64 = req.param("job_id").parse().unwrap_or_default();
            if !repo
                .runs
                .iter()
                .flat_map(|r| &r.jobs)
                .any(|j| j.id == job_id)
            {
                return not_found();
            }
            let host = req
                .headers
                .get("host")
                .and_then(|h| h.to_str().ok())
                .unwrap_or("127.0.0.1");
            let location = format!(
                "http://{host}{}{slug}/{job_id}?sig=short-lived",
                super::LOG_BLOB_PREFIX
            );
            (StatusCode::FOUND, [("location", location)]).into_response()
        }
        "actions/list-repo-organization-secrets" => page(req, "secrets", Vec::new()),
        "actions/list-repo-variables" => page(req, "variables", variables_json(&repo.variables)),
        "actions/list-environment-variables" => {
            let environment = req.param("environment_name");
            if !repo.environments.contains_key(&environment) {
                return not_found();
            }
            let empty = BTreeMap::new();
            let variables = repo
                .environment_variables
                .get(&environment)
                .unwrap_or(&empty);
            page(req, "variables", variables_json(variables))
        }
        "actions/list-repo-organization-variables" => {
            let shared = org_variables.unwrap_or_default();
            page(req, "variables", variables_json(&shared))
        }
        "actions/delete-repo-secret" => {
            let before = repo.secrets.len();
            repo.secrets.retain(|n| *n != req.param("secret_name"));
            if repo.secrets.len() == before {
                not_found()
            } else {
                StatusCode::NO_CONTENT.into_response()
            }
        }
        "repos/get-all-environments" => {
            let items = repo
                .environments
                .keys()
                .enumerate()
                .map(|(i, n)| json!({"id": i + 1, "name": n}))
                .collect();
            page(req, "environments", items)
        }
        "actions/list-environment-secrets" => {
            match repo.environments.get(&req.param("environment_name")) {
                Some(secrets) => page(
                    req,
                    "secrets",
                    secrets.iter().map(|n| secret_json(n)).collect(),
                ),
                None => not_found(),
            }
        }
        "actions/delete-environment-secret" => {
            match repo.environments.get_mut(&req.param("environment_name")) {
                Some(secrets) => {
                    let before = secrets.len();
                    secrets.retain(|n| *n != req.param("secret_name"));
                    if secrets.len() == before {
                        not_found()
                    } else {
                        StatusCode::NO_CONTENT.into_response()
                    }
                }
                None => not_found(),
            }
        }
        "git/get-ref" => match repo.refs.get(&req.param("ref")) {
            Some(sha) => json_response(
                StatusCode::OK,
                json!({"ref": format!("refs/{}", req.param("ref")), "object": {"sha": sha, "type": "commit"}}),
            ),
            None => not_found(),
        },
        "git/get-commit" => match repo.commits.get(&req.param("commit_sha")) {
            Some(c) => json_response(
                StatusCode::OK,
                json!({"sha": req.param("commit_sha"), "tree": {"sha": c.tree}, "parents": c.parents.iter().map(|p| json!({"sha": p})).collect::<Vec<_>>(), "message": c.message}),
            ),
            None => not_found(),
        },
        "git/create-blob" => {
            let body = req.json();
            repo.blobs.insert(
                new_sha.clone(),
                body["content"].as_str().unwrap_or_default().to_string(),
            );
            json_response(StatusCode::CREATED, json!({"sha": new_sha, "url": ""}))
        }
        "git/create-tree" => {
            let body = req.json();
            let mut tree: BTreeMap<String, String> = match body["base_tree"].as_str() {
                Some(base) => match repo.trees.get(base) {
                    Some(t) => t.clone(),
                    None => return unprocessable("base_tree not found"),
                },
                None => BTreeMap::new(),
            };
            for entry in body["tree"].as_array().into_iter().flatten() {
                let path = entry["path"].as_str().unwrap_or_default().to_string();
                if let Some(content) = entry["content"].as_str() {
                    tree.insert(path, content.to_string());
                } else if let Some(sha) = entry["sha"].as_str() {
                    match repo.blobs.get(sha) {
                        Some(content) => {
                            tree.insert(path, content.clone());
                        }
                        None => return unprocessable("blob not found"),
                    }
                } else {
                    tree.remove(&path);
                }
            }
            repo.trees.insert(new_sha.clone(), tree);
            json_response(
                StatusCode::CREATED,
                json!({"sha": new_sha, "tree": [], "truncated": false}),
            )
        }
        "git/create-commit" => {
            let body = req.json();
            let tree = body["tree"].as_str().unwrap_or_default().to_string();
            if !repo.trees.contains_key(&tree) {
                return unprocessable("tree not found");
            }
            let parents: Vec<String> = body["parents"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|p| p.as_str().map(str::to_string))
                .collect();
            repo.commits.insert(
                new_sha.clone(),
                Commit {
                    tree: tree.clone(),
                    parents: parents.clone(),
                    message: body["message"].as_str().unwrap_or_default().to_string(),
                },
            );
            json_response(
                StatusCode::CREATED,
                json!({"sha": new_sha, "tree": {"sha": tree}, "parents": parents.iter().map(|p| json!({"sha": p})).collect::<Vec<_>>(), "message": body["message"]}),
            )
        }
        "git/create-ref" | "git/update-ref" => {
            let body = req.json();
            let sha = body["sha"].as_str().unwrap_or_default().to_string();
            let name = if operation == "git/create-ref" {
                body["ref"]
                    .as_str()
                    .unwrap_or_default()
                    .trim_start_matches("refs/")
                    .to_string()
            } else {
                req.param("ref")
            };
            let Some(commit) = repo.commits.get(&sha) else {
                return unprocessable("Object does not exist");
            };
            if scope_missing && touches_workflows(repo, commit) {
                return json_response(
                    StatusCode::FORBIDDEN,
                    json!({"message": format!("refusing to allow a Personal Access Token to create or update workflow `.github/workflows/` without `workflow` scope")}),
                );
            }
            let exists = repo.refs.contains_key(&name);
            if operation == "git/create-ref" && exists {
                return unprocessable("Reference already exists");
            }
            if operation == "git/update-ref" {
                if !exists {
                    return unprocessable("Reference does not exist");
                }
                let force = body["force"].as_bool().unwrap_or(false);
                let current = repo.refs.get(&name).cloned().unwrap_or_default();
                let fast_forward = repo
                    .commits
                    .get(&sha)
                    .is_some_and(|c| c.parents.contains(&current));
                if !force && !fast_forward {
                    return unprocessable("Update is not a fast forward");
                }
            }
            repo.refs.insert(name.clone(), sha.clone());
            let status = if operation == "git/create-ref" {
                StatusCode::CREATED
            } else {
                StatusCode::OK
            };
            json_response(
                status,
                json!({"ref": format!("refs/{name}"), "object": {"sha": sha, "type": "commit"}}),
            )
        }
        "pulls/list" => {
            let head = req.query("head");
            let state = req.query("state").unwrap_or_else(|| "open".into());
            let items: Vec<Value> = repo
                .pulls
                .iter()
                .filter(|p| {
                    head.as_ref()
                        .is_none_or(|h| *h == format!("{}:{}", repo.owner, p.head))
                })
                .filter(|p| state == "all" || p.state == state)
                .map(|p| pull_json(repo, p))
                .collect();
            json_response(StatusCode::OK, Value::Array(items))
        }
        "pulls/create" => {
            let body = req.json();
            let head = body["head"].as_str().unwrap_or_default().to_string();
            let head = head
                .split_once(':')
                .map_or(head.clone(), |(_, b)| b.to_string());
            if !repo.refs.contains_key(&format!("heads/{head}")) {
                return unprocessable("head branch does not exist");
            }
            if repo
                .pulls
                .iter()
                .any(|p| p.head == head && p.state == "open")
            {
                return unprocessable(&format!(
                    "A pull request already exists for {}:{head}.",
                    repo.owner
                ));
            }
            let number = repo.pulls.len() as u64 + 1;
            let base_files = repo.default_files();
            let files = repo
                .files_at(&head)
                .into_iter()
                .filter(|(path, text)| base_files.get(path) != Some(text))
                .map(|(path, _)| path)
                .collect();
            let pull = Pull {
                number,
                head,
                base: body["base"].as_str().unwrap_or_default().to_string(),
                title: body["title"].as_str().unwrap_or_default().to_string(),
                body: body["body"].as_str().unwrap_or_default().to_string(),
                draft: body["draft"].as_bool().unwrap_or(false),
                state: "open".into(),
                merged: false,
                merged_at: None,
                labels: Vec::new(),
                files,
            };
            let value = pull_json(repo, &pull);
            repo.pulls.push(pull);
            json_response(StatusCode::CREATED, value)
        }
        "pulls/get" => {
            let number: u64 = req.param("pull_number").parse().unwrap_or(0);
            match repo.pulls.iter().find(|p| p.number == number) {
                Some(p) => json_response(StatusCode::OK, pull_json(repo, p)),
                None => not_found(),
            }
        }
        "pulls/update" => {
            let number: u64 = req.param("pull_number").parse().unwrap_or(0);
            let body = req.json();
            let Some(p) = repo.pulls.iter_mut().find(|p| p.number == number) else {
                return not_found();
            };
            if let Some(t) = body["title"].as_str() {
                p.title = t.to_string();
            }
            if let Some(b) = body["body"].as_str() {
                p.body = b.to_string();
            }
            let p = p.clone();
            json_response(StatusCode::OK, pull_json(repo, &p))
        }
        "issues/list-comments" => {
            let number: u64 = req.param("issue_number").parse().unwrap_or(0);
            let slug = repo.slug();
            let items = repo
                .comments
                .iter()
                .filter(|c| c.issue_number == number)
                .map(|c| comment_json(&slug, c))
                .collect();
            page_array(req, items)
        }
        "issues/create-comment" => {
            let number: u64 = req.param("issue_number").parse().unwrap_or(0);
            let exists = repo.pulls.iter().any(|p| p.number == number)
                || repo.issues.iter().any(|i| i.number == number);
            if !exists {
                return not_found();
            }
            let comment = super::state::Comment {
                id: repo.id * 1000 + repo.comments.len() as u64 + 1,
                issue_number: number,
                body: req.json()["body"].as_str().unwrap_or_default().to_string(),
            };
            repo.comments.push(comment.clone());
            json_response(StatusCode::CREATED, comment_json(&repo.slug(), &comment))
        }
        "issues/update-comment" => {
            let id: u64 = req.param("comment_id").parse().unwrap_or(0);
            let slug = repo.slug();
            let body = req.json();
            let Some(c) = repo.comments.iter_mut().find(|c| c.id == id) else {
                return not_found();
            };
            c.body = body["body"].as_str().unwrap_or_default().to_string();
            json_response(StatusCode::OK, comment_json(&slug, c))
        }
        "issues/list-for-repo" => {
            let slug = repo.slug();
            let items = repo.issues.iter().map(|i| issue_json(&slug, i)).collect();
            page_array(req, items)
        }
        "issues/create" => {
            let body = req.json();
            let issue = super::state::Issue {
                number: (repo.pulls.len() + repo.issues.len() + 1) as u64,
                title: body["title"].as_str().unwrap_or_default().to_string(),
                body: body["body"].as_str().unwrap_or_default().to_string(),
            };
            repo.issues.push(issue.clone());
            json_response(StatusCode::CREATED, issue_json(&repo.slug(), &issue))
        }
        "issues/update" => {
            let number: u64 = req.param("issue_number").parse().unwrap_or(0);
            let slug = repo.slug();
            let body = req.json();
            let Some(i) = repo.issues.iter_mut().find(|i| i.number == number) else {
                return not_found();
            };
            if let Some(b) = body["body"].as_str() {
                i.body = b.to_string();
            }
            json_response(StatusCode::OK, issue_json(&slug, i))
        }
        "issues/add-labels" => {
            let number: u64 = req.param("issue_number").parse().unwrap_or(0);
            let body = req.json();
            let Some(p) = repo.pulls.iter_mut().find(|p| p.number == number) else {
                return not_found();
            };
            for label in body["labels"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
            {
                if !p.labels.iter().any(|l| l == label) {
                    p.labels.push(label.to_string());
                }
            }
            json_response(
                StatusCode::OK,
                Value::Array(p.labels.iter().map(|l| json!({"name": l})).collect()),
            )
        }
        _ => json_response(
            StatusCode::NOT_IMPLEMENTED,
            json!({"message": format!("fake GitHub does not implement {operation}")}),
        ),
    }
}

/// Whether a commit changes any file under `.github/workflows` relative to its first parent.
fn touches_workflows(repo: &Repo, commit: &Commit) -> bool {
    let after = repo.trees.get(&commit.tree).cloned().unwrap_or_default();
    let before = commit
        .parents
        .first()
        .and_then(|p| repo.commits.get(p))
        .and_then(|c| repo.trees.get(&c.tree))
        .cloned()
        .unwrap_or_default();
    let changed = |path: &String| after.get(path) != before.get(path);
    after
        .keys()
        .chain(before.keys())
        .any(|p| p.starts_with(".github/workflows/") && changed(p))
}
