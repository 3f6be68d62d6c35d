//! Pre-flight trust check: for every job that will assume a role, each way it runs (push
//! branch or tag, environment, same-repository pull request, default-branch events, each
//! local caller of a reusable workflow), the claims its token would present, judged against
//! the role's trust policy as IAM holds it and the issuer's provider. Pure: the caller reads
//! IAM ([`IamTrust`]) and renders the rows.

use std::collections::BTreeMap;

use super::conditions::{self, Claims, Verdict};
use super::policy::{self, AssumingJob, DEFAULT_AUDIENCE, DEFAULT_CLAIM_KEYS, SubjectShape};
use super::{Issuer, RepoIds, Slug};
use crate::facts::{JobFacts, Subject};

/// One job that will assume `role` once migrated.
#[derive(Debug, Clone)]
pub struct PlannedJob {
    /// The workflow file inside the repository (`.github/workflows/deploy.yml`).
    pub path: String,
    pub facts: JobFacts,
    pub role: String,
}

/// The repository as its tokens describe it.
#[derive(Debug, Clone)]
pub struct RepoClaims {
    pub slug: Slug,
    pub ids: Option<RepoIds>,
    pub default_branch: String,
    /// `sub_claim_prefix` as GitHub reported it.
    pub sub_prefix: Option<String>,
    /// `include_claim_keys` in effect; `None` for GitHub's default format.
    pub claim_keys: Option<Vec<String>>,
}

/// What IAM holds for the roles and the issuer, as read just before the check.
#[derive(Debug, Clone, Default)]
pub struct IamTrust {
    /// Per role ARN: its trust policy (URL-decoded), or `None` when the role does not exist.
    pub roles: BTreeMap<String, Option<String>>,
    /// Every OIDC provider of the account: ARN and client ids.
    pub providers: Vec<(String, Vec<String>)>,
}

/// One way a job runs, and the token it then gets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Way {
    /// `push to main`, `environment prod`, `pull_request`, `called by caller.yml: release (tag v*)`.
    pub label: String,
    pub sub: String,
    pub claims: Claims,
}

/// Why the token of one way a job runs cannot be told before the run.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WayUnknown {
    #[error(
        "runs as a reusable workflow called from outside this repository: its token carries the caller's `sub`"
    )]
    CalledFromOutside,
    #[error("`environment: {expression}` is decided at run time; the `sub` names that environment")]
    EnvironmentAtRunTime { expression: String },
    /// `way` is the way's label.
    #[error("{way}: no `sub` can be derived")]
    NoSub { way: String },
}

/// The verdict for one job × way.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "result", rename_all = "kebab-case")]
pub enum Check {
    Allowed,
    /// The trust policy refuses this token; `closest` is the allowed `sub` nearest to it.
    Denied {
        why: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        closest: Option<String>,
    },
    RoleMissing,
    /// No provider for the issuer (or it lists other client ids than the token's `aud`).
    ProviderMissing {
        why: String,
    },
    AudienceNotRegistered {
        audience: String,
        client_ids: Vec<String>,
    },
    /// The answer depends on what only the run knows.
    Unknown {
        why: String,
    },
}

impl Check {
    pub fn passes(&self) -> bool {
        matches!(self, Self::Allowed)
    }

    /// One line for tables.
    pub fn summary(&self) -> String {
        match self {
            Self::Allowed => "allowed".into(),
            Self::Denied {
                closest: Some(c), ..
            } => format!("DENIED (closest allowed: `{c}`)"),
            Self::Denied { why, .. } => format!("DENIED ({why})"),
            Self::RoleMissing => "DENIED (the role does not exist)".into(),
            Self::ProviderMissing { why } => format!("DENIED ({why})"),
            Self::AudienceNotRegistered {
                audience,
                client_ids,
            } => format!(
                "DENIED (audience `{audience}` is not a client id of the provider: {})",
                client_ids.join(", ")
            ),
            Self::Unknown { why } => format!("unknown ({why})"),
        }
    }
}

/// One row of the pre-flight table.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Row {
    pub path: String,
    pub job: String,
    pub way: String,
    pub role: String,
    pub sub: String,
    #[serde(flatten)]
    pub check: Check,
}

/// Claims whose value a trust policy may test but only the run decides.
const RUN_TIME_CLAIMS: &[&str] = &[
    "actor",
    "actor_id",
    "workflow",
    "run_id",
    "enterprise",
    "enterprise_id",
    "head_ref",
    "base_ref",
];

/// The ways `job` runs, with the token each gets. `jobs` are the repository's other planned
/// jobs and every job that calls a local reusable workflow (for [`Subject::Caller`]).
pub fn ways(
    repo: &RepoClaims,
    issuer: &Issuer,
    path: &str,
    facts: &JobFacts,
    callers: &[(String, JobFacts)],
) -> Vec<Result<Way, WayUnknown>> {
    let mut out = Vec::new();
    for subject in &facts.subjects {
        match subject {
            Subject::Caller => {
                let calling: Vec<&(String, JobFacts)> = callers
                    .iter()
                    .filter(|(_, c)| c.calls.as_deref().is_some_and(|u| calls_file(u, path)))
                    .collect();
                if calling.is_empty() {
                    out.push(Err(WayUnknown::CalledFromOutside));
                }
                for (caller_path, caller) in calling {
                    let caller_name = caller.job.as_deref().unwrap_or("?");
                    for caller_subject in &caller.subjects {
                        if matches!(caller_subject, Subject::Caller) {
                            continue;
                        }
                        let label = format!(
                            "called by {caller_path}: {caller_name} ({})",
                            describe(caller_subject, &repo.default_branch)
                        );
                        out.push(way(repo, issuer, path, facts, caller_subject, label));
                    }
                }
            }
            other => {
                let label = describe(other, &repo.default_branch);
                out.push(way(repo, issuer, path, facts, other, label));
            }
        }
    }
    out
}

/// Whether a job-level `uses:` names the workflow file at `path`.
fn calls_file(uses: &str, path: &str) -> bool {
    let target = uses.split('@').next().unwrap_or(uses);
    let target = target.trim_start_matches("./");
    target == path || target.ends_with(&format!("/{path}"))
}

fn describe(subject: &Subject, default_branch: &str) -> String {
    match subject {
        Subject::Branch(b) => format!("push to branch {b}"),
        Subject::Tag(t) => format!("tag {t}"),
        Subject::DefaultBranch => format!("default branch {default_branch} (schedule, dispatch…)"),
        Subject::PullRequest => "pull_request from this repository".into(),
        Subject::Environment(e) => format!("environment {e}"),
        Subject::EnvironmentExpression(e) => format!("environment {e}"),
        Subject::Caller => "as a reusable workflow".into(),
    }
}

fn way(
    repo: &RepoClaims,
    issuer: &Issuer,
    path: &str,
    facts: &JobFacts,
    subject: &Subject,
    label: String,
) -> Result<Way, WayUnknown> {
    if let Subject::EnvironmentExpression(e) = subject {
        return Err(WayUnknown::EnvironmentAtRunTime {
            expression: e.clone(),
        });
    }
    let prefix = repo
        .sub_prefix
        .clone()
        .unwrap_or_else(|| format!("repo:{}", repo.slug));
    let prefixes = vec![prefix];
    let default_keys: Vec<String> = DEFAULT_CLAIM_KEYS.iter().map(|k| k.to_string()).collect();
    let claim_keys = repo.claim_keys.clone().unwrap_or(default_keys);
    let shape = SubjectShape {
        slug: &repo.slug,
        ids: repo.ids,
        prefixes: &prefixes,
        claim_keys: &claim_keys,
    };
    let mut one = facts.clone();
    one.subjects = vec![subject.clone()];
    let job = AssumingJob {
        path: path.to_string(),
        label: label.clone(),
        facts: &one,
    };
    let subs = policy::derive_subs(&shape, &[job], &repo.default_branch, false);
    let sub = subs
        .values
        .into_iter()
        .next()
        .ok_or_else(|| WayUnknown::NoSub { way: label.clone() })?;
    let key = |claim: &str| issuer.condition_key(claim);
    let mut claims = Claims::default();
    claims.set(&key("sub"), sub.clone());
    claims.set(
        &key("aud"),
        facts.audience.as_deref().unwrap_or(DEFAULT_AUDIENCE),
    );
    claims.set(&key("repository"), repo.slug.to_string());
    claims.set(&key("repository_owner"), repo.slug.owner.clone());
    if let Some(ids) = repo.ids {
        claims.set(&key("repository_id"), ids.repo_id.to_string());
        claims.set(&key("repository_owner_id"), ids.owner_id.to_string());
    }
    let git_ref = match subject {
        Subject::Branch(b) => Some(format!("refs/heads/{b}")),
        Subject::Tag(t) => Some(format!("refs/tags/{t}")),
        Subject::DefaultBranch => Some(format!("refs/heads/{}", repo.default_branch)),
        Subject::PullRequest => Some("refs/pull/*/merge".to_string()),
        _ => None,
    };
    match &git_ref {
        Some(r) => {
            claims.set(&key("ref"), r.clone());
            claims.set(
                &key("job_workflow_ref"),
                format!("{}/{path}@{r}", repo.slug),
            );
        }
        None => {
            // An environment job runs on whatever ref the event gives it.
            claims.unknowable(&key("ref"));
            claims.unknowable(&key("job_workflow_ref"));
        }
    }
    match subject {
        Subject::Environment(e) => claims.set(&key("environment"), e.clone()),
        _ if facts.environment.is_some() => claims.unknowable(&key("environment")),
        _ => {}
    }
    if matches!(subject, Subject::PullRequest) {
        claims.set(&key("event_name"), "pull_request");
    }
    for claim in RUN_TIME_CLAIMS {
        claims.unknowable(&key(claim));
    }
    Ok(Way { label, sub, claims })
}

/// Judges every planned job × way against IAM.
pub fn check(
    repo: &RepoClaims,
    issuer: &Issuer,
    jobs: &[PlannedJob],
    callers: &[(String, JobFacts)],
    iam: &IamTrust,
) -> Vec<Row> {
    let mut rows = Vec::new();
    for job in jobs {
        let name = job.facts.job.clone().unwrap_or_default();
        for way in ways(repo, issuer, &job.path, &job.facts, callers) {
            let row = |way: String, sub: String, check: Check| Row {
                path: job.path.clone(),
                job: name.clone(),
                way,
                role: job.role.clone(),
                sub,
                check,
            };
            match way {
                Err(unknown) => rows.push(row(
                    "-".into(),
                    "-".into(),
                    Check::Unknown {
                        why: unknown.to_string(),
                    },
                )),
                Ok(way) => {
                    let check = judge(issuer, &job.role, &way, iam);
                    rows.push(row(way.label, way.sub, check));
                }
            }
        }
    }
    rows
}

fn judge(issuer: &Issuer, role: &str, way: &Way, iam: &IamTrust) -> Check {
    let Some(policy) = iam.roles.get(role) else {
        return Check::Unknown {
            why: "the role was not read".into(),
        };
    };
    let Some(policy) = policy else {
        return Check::RoleMissing;
    };
    let suffix = format!(":oidc-provider/{}", issuer.host_path());
    let Some((provider_arn, client_ids)) = iam.providers.iter().find(|(a, _)| a.ends_with(&suffix))
    else {
        let others: Vec<&str> = iam
            .providers
            .iter()
            .filter_map(|(a, _)| a.split_once(":oidc-provider/").map(|p| p.1))
            .collect();
        let why = if others.is_empty() {
            format!("no OIDC provider for {}", issuer.url())
        } else {
            format!(
                "no OIDC provider for {}; the account has {} (GHEC enterprise issuer or GHES?)",
                issuer.url(),
                others.join(", ")
            )
        };
        return Check::ProviderMissing { why };
    };
    let aud_key = issuer.condition_key("aud");
    let audience = way
        .claims
        .value(&aud_key)
        .unwrap_or(DEFAULT_AUDIENCE)
        .to_string();
    if !client_ids.contains(&audience) {
        return Check::AudienceNotRegistered {
            audience,
            client_ids: client_ids.clone(),
        };
    }
    match conditions::evaluate(policy, provider_arn, &way.claims) {
        Verdict::Allowed => Check::Allowed,
        Verdict::Denied(why) => {
            let allowed =
                conditions::allowed_values(policy, provider_arn, &issuer.condition_key("sub"));
            Check::Denied {
                why,
                closest: conditions::closest(&way.sub, &allowed).map(str::to_string),
            }
        }
        Verdict::Undetermined(why) => Check::Unknown { why },
    }
}

/// The rows as a Markdown table (for the pull request body and `status --format markdown`).
pub fn markdown(rows: &[Row]) -> String {
    let mut out = String::from(
        "| job | runs as | `sub` presented | role | result |\n|---|---|---|---|---|\n",
    );
    for r in rows {
        out.push_str(&format!(
            "| `{}`: {} | {} | `{}` | `{}` | {} |\n",
            r.path,
            r.job,
            r.way,
            r.sub,
            r.role.rsplit('/').next().unwrap_or(&r.role),
            r.check.summary().replace('|', "\\|")
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn facts(job: &str, subjects: Vec<Subject>, environment: Option<&str>) -> JobFacts {
        JobFacts {
            job: Some(job.into()),
            environment: environment.map(str::to_string),
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

    fn repo() -> RepoClaims {
        RepoClaims {
            slug: Slug::parse("acme/api").unwrap(),
            ids: None,
            default_branch: "main".into(),
            sub_prefix: None,
            claim_keys: None,
        }
    }

    const ROLE: &str = "arn:aws:iam::123456789012:role/gha-api";
    const PROVIDER: &str =
        "arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com";

    fn iam_trusting_main() -> IamTrust {
        let policy = json!({"Statement": [{"Effect": "Allow",
            "Principal": {"Federated": PROVIDER},
            "Action": "sts:AssumeRoleWithWebIdentity",
            "Condition": {
                "StringEquals": {"token.actions.githubusercontent.com:aud": "sts.amazonaws.com"},
                "StringLike": {"token.actions.githubusercontent.com:sub": "repo:acme/api:ref:refs/heads/main"}}}]});
        IamTrust {
            roles: BTreeMap::from([(ROLE.to_string(), Some(policy.to_string()))]),
            providers: vec![(PROVIDER.into(), vec!["sts.amazonaws.com".into()])],
        }
    }

    #[test]
    fn environment_pull_request_and_caller_against_main_only() {
        let deploy = PlannedJob {
            path: ".github/workflows/deploy.yml".into(),
            facts: facts(
                "deploy",
                vec![Subject::Environment("prod".into())],
                Some("prod"),
            ),
            role: ROLE.into(),
        };
        let test = PlannedJob {
            path: ".github/workflows/ci.yml".into(),
            facts: facts(
                "test",
                vec![Subject::Branch("main".into()), Subject::PullRequest],
                None,
            ),
            role: ROLE.into(),
        };
        let shared = PlannedJob {
            path: ".github/workflows/shared.yml".into(),
            facts: facts("upload", vec![Subject::Caller], None),
            role: ROLE.into(),
        };
        let mut caller = facts("release", vec![Subject::Tag("v*".into())], None);
        caller.calls = Some("./.github/workflows/shared.yml".into());
        let callers = vec![(".github/workflows/release.yml".to_string(), caller)];
        let rows = check(
            &repo(),
            &Issuer::GitHubCom,
            &[deploy, test, shared],
            &callers,
            &iam_trusting_main(),
        );
        let by_way: Vec<(&str, &str, bool)> = rows
            .iter()
            .map(|r| (r.way.as_str(), r.sub.as_str(), r.check.passes()))
            .collect();
        assert_eq!(
            by_way,
            vec![
                ("environment prod", "repo:acme/api:environment:prod", false),
                (
                    "push to branch main",
                    "repo:acme/api:ref:refs/heads/main",
                    true
                ),
                (
                    "pull_request from this repository",
                    "repo:acme/api:pull_request",
                    false
                ),
                (
                    "called by .github/workflows/release.yml: release (tag v*)",
                    "repo:acme/api:ref:refs/tags/v*",
                    false
                ),
            ]
        );
        assert!(
            matches!(&rows[0].check, Check::Denied { closest: Some(c), .. } if c == "repo:acme/api:ref:refs/heads/main")
        );
    }

    #[test]
    fn missing_role_provider_and_audience() {
        let job = PlannedJob {
            path: ".github/workflows/ci.yml".into(),
            facts: facts("test", vec![Subject::Branch("main".into())], None),
            role: ROLE.into(),
        };
        let mut iam = iam_trusting_main();
        iam.providers[0].1 = vec!["https://github.com/acme".into()];
        let rows = check(
            &repo(),
            &Issuer::GitHubCom,
            std::slice::from_ref(&job),
            &[],
            &iam,
        );
        assert!(
            matches!(&rows[0].check, Check::AudienceNotRegistered { audience, .. } if audience == "sts.amazonaws.com")
        );
        iam.providers = vec![(
            "arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com/acme-ent"
                .into(),
            vec!["sts.amazonaws.com".into()],
        )];
        let rows = check(
            &repo(),
            &Issuer::GitHubCom,
            std::slice::from_ref(&job),
            &[],
            &iam,
        );
        assert!(
            matches!(&rows[0].check, Check::ProviderMissing { why } if why.contains("acme-ent"))
        );
        iam.roles.insert(ROLE.into(), None);
        let rows = check(&repo(), &Issuer::GitHubCom, &[job], &[], &iam);
        assert_eq!(rows[0].check, Check::RoleMissing);
    }

    #[test]
    fn immutable_prefix_is_what_the_token_carries() {
        let mut r = repo();
        r.sub_prefix = Some("repo:acme@11/api@22".into());
        let f = facts("test", vec![Subject::Branch("main".into())], None);
        let ways = ways(&r, &Issuer::GitHubCom, ".github/workflows/ci.yml", &f, &[]);
        assert_eq!(
            ways[0].as_ref().unwrap().sub,
            "repo:acme@11/api@22:ref:refs/heads/main"
        );
    }
}
