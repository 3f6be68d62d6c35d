//! IAM policy documents for one role: the `sub` claims its jobs present, the trust policy built
//! from them, the placeholder permission policy, and our own validation of the trust policy
//! (IAM's guardrail is not applied by moto or by `terraform plan`, so we check before emitting).

use std::collections::BTreeSet;

use serde_json::{Value, json};

use super::{AccountId, Issuer, RepoIds, Slug};
use crate::facts::{JobFacts, Subject};

/// configure-aws-credentials' default `audience`.
pub const DEFAULT_AUDIENCE: &str = "sts.amazonaws.com";

/// The inline policy name of the placeholder permissions.
pub const PLACEHOLDER_POLICY_NAME: &str = "migrate-placeholder-replace-me";

/// The inline policy name of the permissions inferred from the workflow steps.
pub const INFERRED_POLICY_NAME: &str = "migrate-inferred-from-workflows";

/// The `Sid` of the placeholder permission statement: searchable, and says what to do.
pub const PLACEHOLDER_SID: &str = "TodoReplaceWithThePermissionsTheWorkflowNeeds";

/// The `repo:…` prefixes a repository's tokens may carry. When GitHub reported the repo's
/// `sub_claim_prefix`, that is the only one. Otherwise we cannot tell which form the repo uses
/// (the immutable id form is used by repos created, renamed or transferred after mid-2026), so
/// with known ids both are trusted.
pub fn sub_prefixes(slug: &Slug, ids: Option<RepoIds>, reported: Option<&str>) -> Vec<String> {
    if let Some(prefix) = reported {
        return vec![prefix.to_string()];
    }
    let mut prefixes = vec![format!("repo:{}/{}", slug.owner, slug.repo)];
    if let Some(ids) = ids {
        prefixes.push(format!(
            "repo:{}@{}/{}@{}",
            slug.owner, ids.owner_id, slug.repo, ids.repo_id
        ));
    }
    prefixes
}

/// GitHub's default `include_claim_keys`: `repo:…:` followed by the context.
pub const DEFAULT_CLAIM_KEYS: [&str; 2] = ["repo", "context"];

/// Claim keys that tie a `sub` to one repository (or one of its workflow files).
const REPOSITORY_SCOPED_KEYS: [&str; 5] = [
    "repo",
    "repository",
    "repository_id",
    "job_workflow_ref",
    "workflow_ref",
];

/// Whether a custom template names the repository; without such a key every repository of
/// the owner presenting the same other claims gets the same `sub`.
pub fn template_is_repository_scoped(claim_keys: &[String]) -> bool {
    claim_keys
        .iter()
        .any(|k| REPOSITORY_SCOPED_KEYS.contains(&k.as_str()))
}

/// How a repository's tokens spell `sub`: its identity and the claim keys in effect.
#[derive(Debug, Clone, Copy)]
pub struct SubjectShape<'a> {
    pub slug: &'a Slug,
    pub ids: Option<RepoIds>,
    /// The `repo:` segments to trust ([`sub_prefixes`]).
    pub prefixes: &'a [String],
    /// `include_claim_keys` in GitHub's order; [`DEFAULT_CLAIM_KEYS`] unless customized.
    pub claim_keys: &'a [String],
}

/// One run context a job presents: the default `context` tail plus the claims it implies.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct RunContext {
    /// `ref:refs/heads/main`, `environment:prod`, `pull_request`.
    tail: String,
    /// `refs/heads/main`, when the context fixes the ref (an IAM pattern for globs).
    git_ref: Option<String>,
    environment: Option<String>,
    event_name: Option<&'static str>,
}

/// GitHub escapes `:` inside claim values so the segments stay separable.
fn escape_claim(value: &str) -> String {
    value.replace(':', "%3A")
}

/// The file's path inside its repository (`.github/workflows/x.yml`), for `job_workflow_ref`.
fn in_repo_path(path: &str) -> &str {
    match path.find(".github/") {
        Some(at) => &path[at..],
        None => path,
    }
}

/// One `sub` value for a custom template, built segment by segment (`KEY:VALUE`, with
/// `repo` and `context` spelled as in the default format). Claims that cannot be known
/// before the run become `*` and are reported in `unknown`.
fn compose_custom_sub(
    shape: &SubjectShape<'_>,
    prefix: &str,
    job: &AssumingJob<'_>,
    context: &RunContext,
    unknown: &mut BTreeSet<String>,
) -> String {
    let slug = shape.slug;
    let mut segments = Vec::new();
    for key in shape.claim_keys {
        let value: Option<String> = match key.as_str() {
            "repo" => {
                segments.push(prefix.to_string());
                continue;
            }
            "context" => {
                segments.push(context.tail.clone());
                continue;
            }
            "repository" => Some(slug.to_string()),
            "repository_owner" => Some(slug.owner.clone()),
            "repository_id" => shape.ids.map(|ids| ids.repo_id.to_string()),
            "repository_owner_id" => shape.ids.map(|ids| ids.owner_id.to_string()),
            // A top-level job's workflow is the file itself, run at the run's ref.
            "job_workflow_ref" | "workflow_ref" => Some(format!(
                "{slug}/{}@{}",
                in_repo_path(&job.path),
                context.git_ref.as_deref().unwrap_or("*")
            )),
            "environment" => context.environment.clone(),
            "ref" => context.git_ref.clone(),
            "ref_type" => context.git_ref.as_deref().and_then(|r| {
                if r.starts_with("refs/heads/") {
                    Some("branch".to_string())
                } else if r.starts_with("refs/tags/") {
                    Some("tag".to_string())
                } else {
                    None
                }
            }),
            "event_name" => context.event_name.map(str::to_string),
            _ => None,
        };
        let value = value.map_or_else(
            || {
                unknown.insert(key.clone());
                "*".to_string()
            },
            |v| escape_claim(&v),
        );
        segments.push(format!("{key}:{value}"));
    }
    segments.join(":")
}

/// One job that will assume the role, labelled for messages (`path: job`).
#[derive(Debug, Clone)]
pub struct AssumingJob<'a> {
    /// The workflow or action file, as scanned.
    pub path: String,
    pub label: String,
    pub facts: &'a JobFacts,
}

/// The `sub` values a role must trust, and what the user must know about them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SubClaims {
    pub values: BTreeSet<String>,
    pub warnings: Vec<String>,
}

/// Turns a GitHub branch/tag filter into an IAM `StringLike` pattern. `*`/`**` map to `*`
/// (IAM's `*` also crosses `/`, so `release/*` widens to nested branches of the same repo);
/// `?`, `+` and `[...]` have no IAM equivalent and widen to `*`. Returns whether it widened.
fn iam_ref_pattern(pattern: &str) -> (String, bool) {
    let mut out = String::new();
    let mut widened = false;
    let mut chars = pattern.chars().peekable();
    while let Some(c) = chars.next() {
        let star = match c {
            '*' => true,
            '?' | '+' => {
                widened = true;
                true
            }
            '[' => {
                widened = true;
                for inner in chars.by_ref() {
                    if inner == ']' {
                        break;
                    }
                }
                true
            }
            _ => false,
        };
        if star {
            if !out.ends_with('*') {
                out.push('*');
            }
        } else {
            out.push(c);
        }
    }
    (out, widened)
}

/// Derives the `sub` claims of the jobs that assume one role.
///
/// `allow_org_wide` lets reusable workflows and composite actions (whose token carries an
/// unknown caller's `sub`) be trusted from any repository of the owner: `repo:OWNER/*`.
pub fn derive_subs(
    shape: &SubjectShape<'_>,
    jobs: &[AssumingJob<'_>],
    default_branch: &str,
    allow_org_wide: bool,
) -> SubClaims {
    let prefixes = shape.prefixes;
    let mut claims = SubClaims::default();
    // Every (job, context) pair: custom templates may name the job's own file.
    let mut contexts: Vec<(usize, RunContext)> = Vec::new();
    for (index, job) in jobs.iter().enumerate() {
        let mut add = |tail: String,
                       git_ref: Option<String>,
                       environment: Option<String>,
                       event_name: Option<&'static str>| {
            contexts.push((
                index,
                RunContext {
                    tail,
                    git_ref,
                    environment,
                    event_name,
                },
            ));
        };
        let label = &job.label;
        for subject in &job.facts.subjects {
            match subject {
                Subject::Branch(p) | Subject::Tag(p) if p.starts_with('!') => {
                    claims.warnings.push(format!(
                        "{label}: the negative filter `{p}` cannot be expressed in IAM; the role also trusts the refs it excludes"
                    ));
                }
                Subject::Branch(p) | Subject::Tag(p) => {
                    let (pattern, widened) = iam_ref_pattern(p);
                    if widened {
                        claims.warnings.push(format!(
                            "{label}: the ref filter `{p}` has no exact IAM equivalent; trusting `{pattern}` instead"
                        ));
                    }
                    let kind = if matches!(subject, Subject::Branch(_)) {
                        "heads"
                    } else {
                        "tags"
                    };
                    add(
                        format!("ref:refs/{kind}/{pattern}"),
                        Some(format!("refs/{kind}/{pattern}")),
                        None,
                        None,
                    );
                }
                Subject::PullRequest => {
                    claims.warnings.push(format!(
                        "{label}: trusts `pull_request` for same-repository pull requests; pull requests from forks never get an OIDC token, so their runs of this job will fail to assume the role"
                    ));
                    add(
                        subject.claim_tail(default_branch),
                        Some("refs/pull/*/merge".into()),
                        None,
                        Some("pull_request"),
                    );
                }
                Subject::DefaultBranch => add(
                    subject.claim_tail(default_branch),
                    Some(format!("refs/heads/{default_branch}")),
                    None,
                    None,
                ),
                Subject::Environment(name) => add(
                    subject.claim_tail(default_branch),
                    None,
                    Some(name.clone()),
                    None,
                ),
                Subject::EnvironmentExpression(expr) => {
                    claims.warnings.push(format!(
                        "{label}: `environment: {expr}` is an expression, so the `sub` names an environment known only at run time; no wildcard was added: add `environment:NAME` for each real environment by hand"
                    ));
                }
                Subject::Caller if allow_org_wide => {
                    for prefix in prefixes {
                        let owner = prefix.split_once('/').map_or(prefix.as_str(), |p| p.0);
                        claims.values.insert(format!("{owner}/*"));
                    }
                    claims.warnings.push(format!(
                        "{label}: runs as a reusable workflow or composite action; --allow-org-wide trusts every repository of the owner"
                    ));
                }
                Subject::Caller => {
                    claims.warnings.push(format!(
                        "{label}: runs as a reusable workflow or composite action, so its token carries the calling workflow's `sub`; no wildcard was added: run `migrate trust` on the calling repositories (or pass --allow-org-wide)"
                    ));
                }
            }
        }
        if job.facts.pull_request_target {
            claims.warnings.push(format!(
                "{label}: reachable from `pull_request_target`, which runs with this repository's secrets and token on behalf of any pull request; make sure it never checks out or runs pull-request code before assuming the role"
            ));
        }
        if job.facts.workflow_run {
            claims.warnings.push(format!(
                "{label}: reachable from `workflow_run`, which runs on the default branch after another workflow (possibly one started by a fork); do not feed its artifacts to anything that holds the role"
            ));
        }
    }
    let is_default = shape.claim_keys == DEFAULT_CLAIM_KEYS;
    let mut unknown = BTreeSet::new();
    for prefix in prefixes {
        for (index, context) in &contexts {
            claims.values.insert(if is_default {
                format!("{prefix}:{}", context.tail)
            } else {
                compose_custom_sub(shape, prefix, &jobs[*index], context, &mut unknown)
            });
        }
    }
    if !unknown.is_empty() {
        let keys: Vec<&str> = unknown.iter().map(String::as_str).collect();
        claims.warnings.push(format!(
            "{}: the `sub` template includes {} whose value is only known at run time; the role trusts any value there (`*`): narrow it by hand if you can",
            shape.slug,
            keys.iter().map(|k| format!("`{k}`")).collect::<Vec<_>>().join(", ")
        ));
    }
    claims
}

fn has_wildcard(value: &str) -> bool {
    value.contains(['*', '?'])
}

/// The role's trust policy. All `sub` values sit under one operator: separate operators are
/// ANDed by IAM, so splitting exact and glob values would trust nothing.
pub fn trust_policy(
    issuer: &Issuer,
    account: &AccountId,
    audiences: &BTreeSet<String>,
    subs: &BTreeSet<String>,
) -> Value {
    let aud_key = issuer.condition_key("aud");
    let sub_key = issuer.condition_key("sub");
    let audience: Value = if audiences.len() == 1 {
        json!(audiences.iter().next())
    } else {
        json!(audiences)
    };
    let mut string_equals = serde_json::Map::new();
    string_equals.insert(aud_key, audience);
    let mut condition = serde_json::Map::new();
    if subs.iter().any(|s| has_wildcard(s)) {
        condition.insert("StringEquals".into(), Value::Object(string_equals));
        condition.insert("StringLike".into(), json!({ sub_key: subs }));
    } else {
        string_equals.insert(sub_key, json!(subs));
        condition.insert("StringEquals".into(), Value::Object(string_equals));
    }
    json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Principal": { "Federated": issuer.provider_arn(account) },
            "Action": "sts:AssumeRoleWithWebIdentity",
            "Condition": condition,
        }]
    })
}

/// A valid permission policy that grants nothing useful: the output marks it to be replaced.
/// `sts:GetCallerIdentity` needs no permission anyway, so attaching this grants nothing new.
pub fn placeholder_permission_policy() -> Value {
    json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Sid": PLACEHOLDER_SID,
            "Effect": "Allow",
            "Action": "sts:GetCallerIdentity",
            "Resource": "*",
        }]
    })
}

/// `policy` plus a statement that lets the role assume (and tag sessions of) the roles its
/// workflows chain to. An expression (`${{ ... }}`) cannot be named, so it is left out: the
/// caller warns about it.
pub fn with_chaining(mut policy: Value, targets: &[String]) -> Value {
    let arns: Vec<&String> = targets
        .iter()
        .filter(|t| t.starts_with("arn:") && !t.contains("${{"))
        .collect();
    if arns.is_empty() {
        return policy;
    }
    if let Some(statements) = policy.get_mut("Statement").and_then(Value::as_array_mut) {
        statements.push(json!({
            "Sid": "ChainToExistingRoles",
            "Effect": "Allow",
            "Action": ["sts:AssumeRole", "sts:TagSession"],
            "Resource": arns,
        }));
    }
    policy
}

/// Why a `sub` value is too broad for a trust policy (or names no repository at all).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SubError {
    #[error("`sub` value `{value}` does not name OWNER/REPO")]
    NoOwnerRepo { value: String },
    #[error("`sub` value `{value}` trusts any owner")]
    AnyOwner { value: String },
    #[error("`sub` value `{value}` trusts every repository of `{owner}` (needs --allow-org-wide)")]
    EveryRepository { value: String, owner: String },
    #[error("`sub` value `{value}` trusts every workflow run of the repository")]
    EveryRun { value: String },
    #[error(
        "`sub` value `{value}` names no repository, so it trusts every repository of the owner (needs --allow-org-wide)"
    )]
    NoRepository { value: String },
    #[error("`sub` value `{value}` names neither a repository nor an owner")]
    NoRepositoryOrOwner { value: String },
}

/// Why our validator refuses a trust policy.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TrustPolicyError {
    /// `message` is the JSON parser's, kept as text: `serde_json::Error` is neither `Clone`
    /// nor `Eq`, which [`super::TrustError`] needs.
    #[error("not valid JSON: {message}")]
    NotJson { message: String },
    #[error("uses a ForAllValues/ForAnyValue operator, which is true when the claim is absent")]
    SetOperator,
    #[error("`Version` must be 2012-10-17")]
    WrongVersion,
    #[error("no `Statement` list")]
    NoStatements,
    #[error("each statement must Allow sts:AssumeRoleWithWebIdentity")]
    NotWebIdentity,
    #[error("the principal must be {expected}")]
    WrongPrincipal { expected: String },
    #[error("no `Condition`: any GitHub repository could assume the role")]
    NoCondition,
    #[error("no StringEquals condition on the audience")]
    NoAudienceStringEquals,
    /// `key` is the issuer's audience condition key.
    #[error("no `{key}` audience condition")]
    NoAudience { key: String },
    /// `key` is the issuer's `sub` condition key.
    #[error("`{key}` is tested with {operator}")]
    SubOperator { key: String, operator: String },
    #[error("`{key}` must be a non-empty list")]
    SubNotAList { key: String },
    #[error("`sub` values must be strings")]
    SubNotAString,
    #[error(transparent)]
    Sub(#[from] SubError),
    #[error("`{value}` has a wildcard under StringEquals, where it would match nothing")]
    WildcardUnderStringEquals { value: String },
    #[error("no `{key}` condition: IAM rejects GitHub trust policies not scoped by `sub`")]
    NoSubCondition { key: String },
}

/// Whether one `sub` value is scoped to a repository: `repo:OWNER/REPO:…` with no wildcard
/// before the tail (or `repo:OWNER/*` when org-wide trust was asked for).
fn check_sub(value: &str, allow_org_wide: bool) -> Result<(), SubError> {
    let Some(rest) = value.strip_prefix("repo:") else {
        return check_custom_sub(value, allow_org_wide);
    };
    let (repo_part, tail) = rest.split_once(':').unwrap_or((rest, ""));
    // The value is copied into the error only when there is one.
    let value = || value.to_string();
    let Some((owner, repo)) = repo_part.split_once('/') else {
        return Err(SubError::NoOwnerRepo { value: value() });
    };
    if owner.is_empty() || has_wildcard(owner) {
        return Err(SubError::AnyOwner { value: value() });
    }
    if has_wildcard(repo) {
        if allow_org_wide && repo == "*" && tail.is_empty() {
            return Ok(());
        }
        return Err(SubError::EveryRepository {
            value: value(),
            owner: owner.to_string(),
        });
    }
    if tail.is_empty() || tail.trim_matches('*').is_empty() {
        return Err(SubError::EveryRun { value: value() });
    }
    Ok(())
}

/// The value of the `KEY:` segment at `at` (up to the next `:`), for custom templates.
fn segment_value<'v>(value: &'v str, at: usize, key: &str) -> &'v str {
    let rest = &value[at + key.len() + 1..];
    rest.split(':').next().unwrap_or("")
}

/// Where `KEY:` starts a segment of a custom-template `sub` (claim values escape `:`, so
/// every `:` separates).
fn segment_starts<'v>(value: &'v str, key: &'v str) -> impl Iterator<Item = usize> + 'v {
    let needle = format!("{key}:");
    value
        .match_indices(&needle)
        .map(|(at, _)| at)
        .filter(move |&at| at == 0 || value.as_bytes()[at - 1] == b':')
        .collect::<Vec<_>>()
        .into_iter()
}

/// A `sub` from a custom template (`repository_owner:acme:…`): it must name one repository
/// (`repository`, `repository_id`, `job_workflow_ref`, `workflow_ref` or `repo` without a
/// wildcard in OWNER/REPO), or, with --allow-org-wide, at least one owner.
fn check_custom_sub(value: &str, allow_org_wide: bool) -> Result<(), SubError> {
    let names_repository = |text: &str| {
        let mut parts = text.splitn(3, '/');
        let owner = parts.next().unwrap_or("");
        let repo = parts.next().unwrap_or("");
        !owner.is_empty() && !repo.is_empty() && !has_wildcard(owner) && !has_wildcard(repo)
    };
    for key in ["repo", "repository", "job_workflow_ref", "workflow_ref"] {
        if segment_starts(value, key).any(|at| names_repository(segment_value(value, at, key))) {
            return Ok(());
        }
    }
    let is_number = |text: &str| !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit());
    if segment_starts(value, "repository_id")
        .any(|at| is_number(segment_value(value, at, "repository_id")))
    {
        return Ok(());
    }
    let names_owner = segment_starts(value, "repository_owner").any(|at| {
        let owner = segment_value(value, at, "repository_owner");
        !owner.is_empty() && !has_wildcard(owner)
    }) || segment_starts(value, "repository_owner_id")
        .any(|at| is_number(segment_value(value, at, "repository_owner_id")));
    match (names_owner, allow_org_wide) {
        (true, true) => Ok(()),
        (true, false) => Err(SubError::NoRepository {
            value: value.to_string(),
        }),
        (false, _) => Err(SubError::NoRepositoryOrOwner {
            value: value.to_string(),
        }),
    }
}

/// Our own check of a trust policy, run on the exact text we emit.
pub fn validate_trust(
    text: &str,
    issuer: &Issuer,
    account: &AccountId,
    allow_org_wide: bool,
) -> Result<(), TrustPolicyError> {
    let doc: Value = serde_json::from_str(text).map_err(|e| TrustPolicyError::NotJson {
        message: e.to_string(),
    })?;
    if text.contains("ForAllValues") || text.contains("ForAnyValue") {
        return Err(TrustPolicyError::SetOperator);
    }
    if doc["Version"] != "2012-10-17" {
        return Err(TrustPolicyError::WrongVersion);
    }
    let statements = doc["Statement"]
        .as_array()
        .filter(|s| !s.is_empty())
        .ok_or(TrustPolicyError::NoStatements)?;
    let sub_key = issuer.condition_key("sub");
    let aud_key = issuer.condition_key("aud");
    for statement in statements {
        if statement["Effect"] != "Allow" || statement["Action"] != "sts:AssumeRoleWithWebIdentity"
        {
            return Err(TrustPolicyError::NotWebIdentity);
        }
        if statement["Principal"]["Federated"] != issuer.provider_arn(account).as_str() {
            return Err(TrustPolicyError::WrongPrincipal {
                expected: issuer.provider_arn(account),
            });
        }
        let condition = statement["Condition"]
            .as_object()
            .ok_or(TrustPolicyError::NoCondition)?;
        let aud = &condition
            .get("StringEquals")
            .ok_or(TrustPolicyError::NoAudienceStringEquals)?[&aud_key];
        let audiences_present = match aud {
            Value::String(s) => !s.is_empty(),
            Value::Array(a) => {
                !a.is_empty() && a.iter().all(|v| v.as_str().is_some_and(|s| !s.is_empty()))
            }
            _ => false,
        };
        if !audiences_present {
            return Err(TrustPolicyError::NoAudience { key: aud_key });
        }
        let mut sub_found = false;
        for (operator, keys) in condition {
            let Some(values) = keys.get(&sub_key) else {
                continue;
            };
            if operator != "StringEquals" && operator != "StringLike" {
                return Err(TrustPolicyError::SubOperator {
                    key: sub_key,
                    operator: operator.clone(),
                });
            }
            let values = values.as_array().filter(|v| !v.is_empty()).ok_or_else(|| {
                TrustPolicyError::SubNotAList {
                    key: sub_key.clone(),
                }
            })?;
            for value in values {
                let value = value.as_str().ok_or(TrustPolicyError::SubNotAString)?;
                check_sub(value, allow_org_wide)?;
                if operator == "StringEquals" && has_wildcard(value) {
                    return Err(TrustPolicyError::WildcardUnderStringEquals {
                        value: value.to_string(),
                    });
                }
            }
            sub_found = true;
        }
        if !sub_found {
            return Err(TrustPolicyError::NoSubCondition { key: sub_key });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job(subjects: Vec<Subject>) -> JobFacts {
        JobFacts {
            job: Some("deploy".into()),
            environment: None,
            subjects,
            fork_pull_requests: false,
            pull_request_target: false,
            workflow_run: false,
            calls: None,
            audience: None,
            aws_services: Vec::new(),
            chains_to: Vec::new(),
        }
    }

    fn subs(facts: &JobFacts, allow_org_wide: bool) -> SubClaims {
        let slug = Slug::parse("octo-org/octo-repo").unwrap();
        let prefixes = sub_prefixes(&slug, None, None);
        let claim_keys = DEFAULT_CLAIM_KEYS.map(String::from);
        let shape = SubjectShape {
            slug: &slug,
            ids: None,
            prefixes: &prefixes,
            claim_keys: &claim_keys,
        };
        let jobs = [AssumingJob {
            path: "w.yml".into(),
            label: "w.yml: deploy".into(),
            facts,
        }];
        derive_subs(&shape, &jobs, "main", allow_org_wide)
    }

    fn custom_subs(facts: &JobFacts, claim_keys: &[&str]) -> SubClaims {
        let slug = Slug::parse("octo-org/octo-repo").unwrap();
        let ids = Some(RepoIds {
            owner_id: 65,
            repo_id: 99,
        });
        let prefixes = sub_prefixes(&slug, ids, Some("repo:octo-org@65/octo-repo@99"));
        let claim_keys: Vec<String> = claim_keys.iter().map(|k| k.to_string()).collect();
        let shape = SubjectShape {
            slug: &slug,
            ids,
            prefixes: &prefixes,
            claim_keys: &claim_keys,
        };
        let jobs = [AssumingJob {
            path: ".github/workflows/deploy.yml".into(),
            label: "deploy.yml: deploy".into(),
            facts,
        }];
        derive_subs(&shape, &jobs, "main", false)
    }

    #[test]
    fn custom_templates_compose_claims_in_githubs_order() {
        let push = job(vec![Subject::Branch("main".into())]);
        let values = |claims: SubClaims| claims.values.into_iter().collect::<Vec<_>>();
        assert_eq!(
            values(custom_subs(&push, &["repository_owner", "context"])),
            vec!["repository_owner:octo-org:ref:refs/heads/main"]
        );
        assert_eq!(
            values(custom_subs(&push, &["repo", "context", "job_workflow_ref"])),
            vec![
                "repo:octo-org@65/octo-repo@99:ref:refs/heads/main:job_workflow_ref:octo-org/octo-repo/.github/workflows/deploy.yml@refs/heads/main"
            ]
        );
        assert_eq!(
            values(custom_subs(&push, &["repository_id", "ref_type"])),
            vec!["repository_id:99:ref_type:branch"]
        );
        let env = job(vec![Subject::Environment("prod:eu".into())]);
        let claims = custom_subs(&env, &["environment", "repository", "actor"]);
        assert_eq!(
            claims.values.iter().collect::<Vec<_>>(),
            vec!["environment:prod%3Aeu:repository:octo-org/octo-repo:actor:*"]
        );
        assert!(
            claims.warnings[0].contains("`actor`"),
            "{:?}",
            claims.warnings
        );
    }

    #[test]
    fn custom_subs_must_name_a_repository_or_ask_for_org_wide() {
        for good in [
            "repository:o/r:ref:refs/heads/main",
            "environment:prod:repository_id:12",
            "job_workflow_ref:o/r/.github/workflows/x.yml@*",
            "repository_owner:o:repo:o@1/r@2:pull_request",
        ] {
            assert!(check_sub(good, false).is_ok(), "{good} rejected");
        }
        for bad in [
            "repository_owner:o:ref:refs/heads/main",
            "job_workflow_ref:*/x.yml@*",
            "actor:x",
            "repository:*/r",
        ] {
            assert!(check_sub(bad, false).is_err(), "{bad} accepted");
        }
        assert!(check_sub("repository_owner:o:ref:refs/heads/main", true).is_ok());
        assert!(check_sub("repository_owner:*:ref:refs/heads/main", true).is_err());
    }

    #[test]
    fn github_globs_become_iam_patterns() {
        assert_eq!(iam_ref_pattern("feature**"), ("feature*".into(), false));
        assert_eq!(iam_ref_pattern("release/*"), ("release/*".into(), false));
        assert_eq!(iam_ref_pattern("v[0-9]+.*"), ("v*.*".into(), true));
        assert_eq!(iam_ref_pattern("main"), ("main".into(), false));
    }

    #[test]
    fn expressions_and_callers_get_no_wildcard() {
        let facts = job(vec![
            Subject::EnvironmentExpression("${{ inputs.env }}".into()),
            Subject::Caller,
        ]);
        let claims = subs(&facts, false);
        assert!(claims.values.is_empty());
        assert_eq!(claims.warnings.len(), 2);
        assert!(claims.warnings[0].contains("no wildcard"));
        let org_wide = subs(&facts, true);
        assert_eq!(
            org_wide.values.into_iter().collect::<Vec<_>>(),
            vec!["repo:octo-org/*"]
        );
    }

    #[test]
    fn mixed_exact_and_glob_subs_share_one_operator() {
        let account = AccountId::parse("123456789012").unwrap();
        let audiences = BTreeSet::from([DEFAULT_AUDIENCE.to_string()]);
        let values = BTreeSet::from([
            "repo:o/r:ref:refs/heads/main".to_string(),
            "repo:o/r:ref:refs/heads/feature*".to_string(),
        ]);
        let policy = trust_policy(&Issuer::GitHubCom, &account, &audiences, &values);
        let condition = &policy["Statement"][0]["Condition"];
        assert_eq!(
            condition["StringLike"]["token.actions.githubusercontent.com:sub"]
                .as_array()
                .unwrap()
                .len(),
            2
        );
        assert!(condition["StringEquals"]["token.actions.githubusercontent.com:sub"].is_null());
        let text = policy.to_string();
        validate_trust(&text, &Issuer::GitHubCom, &account, false).unwrap();
    }

    #[test]
    fn validator_rejects_unscoped_policies() {
        let account = AccountId::parse("123456789012").unwrap();
        let audiences = BTreeSet::from([DEFAULT_AUDIENCE.to_string()]);
        let check = |sub: &str, org_wide: bool| {
            let values = BTreeSet::from([sub.to_string()]);
            let text = trust_policy(&Issuer::GitHubCom, &account, &audiences, &values).to_string();
            validate_trust(&text, &Issuer::GitHubCom, &account, org_wide)
        };
        for bad in [
            "*",
            "repo:*",
            "repo:*/*",
            "repo:o/*",
            "repo:o/r:*",
            "repo:o/r",
        ] {
            assert!(check(bad, false).is_err(), "{bad} accepted");
        }
        assert!(check("repo:o/*", true).is_ok());
        assert!(check("repo:*/*", true).is_err());
        assert!(check("repo:o/r:environment:prod", false).is_ok());
        let no_sub = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Federated":"arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com"},"Action":"sts:AssumeRoleWithWebIdentity","Condition":{"StringEquals":{"token.actions.githubusercontent.com:aud":"sts.amazonaws.com"}}}]}"#;
        assert!(
            validate_trust(no_sub, &Issuer::GitHubCom, &account, false)
                .unwrap_err()
                .to_string()
                .contains("no `token.actions.githubusercontent.com:sub`")
        );
        let for_all = no_sub.replace("StringEquals", "ForAllValues:StringEquals");
        assert!(validate_trust(&for_all, &Issuer::GitHubCom, &account, false).is_err());
        assert!(validate_trust("{", &Issuer::GitHubCom, &account, false).is_err());
    }
}
