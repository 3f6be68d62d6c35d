//! Blockers: what keeps a job's move to OIDC from being proven to keep every step's access,
//! each with a stable id and a reason a person can act on. A blocked job's findings are
//! `manual` in scan and never edited by rewrite.

use super::guards;
use super::{Consumption, Credential, JobFlow, KeyPair};
use crate::detect::sources::Scopes;
use crate::workflow::{Job, Workflow};

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum BlockerClass {
    /// Two key pairs (accounts) in one job.
    DistinctKeyPairs,
    /// The keys are the source credentials of a role assumption.
    RoleChaining,
    /// A consumer that cannot carry a session token.
    KeyOnlyConsumer,
    /// An `if:` reads the key material.
    KeyGuard,
    /// The job or step runs only where no OIDC token exists.
    NoOidcToken,
    /// The environment (and so which environment secrets) is chosen at run time.
    EnvironmentExpression,
    /// The AWS use can outlast an OIDC session.
    SessionLength,
    /// configure-aws-credentials (a node action) may not run in the job's container.
    ContainerNode,
    /// The keys talk to an endpoint whose owner cannot be told.
    UnknownEndpoint,
    /// Not AWS keys (an S3-compatible service): nothing to migrate. Does not block; marks.
    NotAws,
}

impl BlockerClass {
    pub fn id(self) -> &'static str {
        match self {
            Self::DistinctKeyPairs => "distinct-key-pairs",
            Self::RoleChaining => "role-chaining",
            Self::KeyOnlyConsumer => "key-only-consumer",
            Self::KeyGuard => "key-guard",
            Self::NoOidcToken => "no-oidc-token",
            Self::EnvironmentExpression => "environment-expression",
            Self::SessionLength => "session-length",
            Self::ContainerNode => "container-node",
            Self::UnknownEndpoint => "unknown-endpoint",
            Self::NotAws => "not-aws",
        }
    }

    /// Whether it keeps the job's findings from being `auto`.
    pub fn blocks(self) -> bool {
        self != Self::NotAws
    }
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct Blocker {
    pub class: BlockerClass,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub job: Option<String>,
    /// 0-based step index.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub step: Option<usize>,
    /// The key pair concerned (for `not-aws`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pair: Option<KeyPair>,
    pub reason: String,
}

/// Images whose C library is older than the runner's node needs (glibc 2.28).
const OLD_GLIBC_IMAGES: &[&str] = &[
    "amazon/aws-cli",
    "amazonlinux:2",
    "amazonlinux:1",
    "public.ecr.aws/amazonlinux/amazonlinux:2",
    "centos:7",
    "centos:6",
    "ubuntu:16.04",
    "ubuntu:18.04",
    "debian:stretch",
    "debian:9",
];

/// JavaScript actions whose presence in a container job shows the runner's node runs there.
const NODE_ACTIONS: &[&str] = &[
    "actions/checkout",
    "actions/cache",
    "actions/setup-node",
    "actions/setup-python",
    "actions/upload-artifact",
    "actions/download-artifact",
    "actions/github-script",
    "aws-actions/configure-aws-credentials",
    "aws-actions/amazon-ecr-login",
];

const MAX_SESSION_MINUTES: u64 = 60;

pub fn find(workflow: &Workflow<'_>, jobs: &[(Job<'_>, JobFlow)]) -> Vec<Blocker> {
    let mut out = Vec::new();
    for (job, flow) in jobs {
        let uses_keys = flow.steps.iter().any(|s| {
            s.credential
                .as_ref()
                .and_then(Credential::key_pair)
                .is_some()
                || matches!(s.credential, Some(Credential::Mixed))
        });
        if !uses_keys {
            continue;
        }
        let mut add = |class: BlockerClass, step: Option<usize>, reason: String| {
            out.push(Blocker {
                class,
                job: flow.job.clone(),
                step,
                pair: None,
                reason,
            });
        };
        let where_ = |index: usize| format!("job {}, {}", job.label(), flow.steps[index].label);

        // Class 1: a consumer whose keys come from an env layer gets, after the rewrite,
        // the role of the configure step before it (an existing one, or the one inserted
        // for the job's first env keys). Any other key pair there would change accounts.
        let mut exported: Option<&Credential> = None;
        let mut first_env_pair: Option<&KeyPair> = None;
        for (i, step) in flow.steps.iter().enumerate() {
            if step.consumption == Consumption::Configure {
                if let Some(produced) = produced_by(flow, i) {
                    exported = Some(produced);
                }
                continue;
            }
            let from_env = !matches!(step.origin, Some(super::Origin::Exported(_)) | None);
            let Some(pair) = step.credential.as_ref().and_then(Credential::key_pair) else {
                continue;
            };
            if !step.consumes() || !from_env {
                continue;
            }
            let conflict = match exported {
                Some(c) => (c.key_pair() != Some(pair)).then(|| c.describe()),
                None => {
                    let first = *first_env_pair.get_or_insert(pair);
                    (first != pair).then(|| first.describe())
                }
            };
            if let Some(other) = conflict {
                // A step's own env keys win over any configure step before it, so leaving that
                // step alone keeps it right. Keys from the job's or workflow's env lose to any
                // configure step the rewrite would insert before it: the whole job waits.
                let at = (step.origin == Some(super::Origin::StepEnv)).then_some(i);
                add(
                    BlockerClass::DistinctKeyPairs,
                    at,
                    format!(
                        "{} uses {} while the steps before it use {other}: two key pairs (maybe two accounts) in one job; give that step its own configure-aws-credentials step with the role for its keys (and restore the job's role after it), or split the job",
                        where_(i),
                        pair.describe()
                    ),
                );
            }
        }

        for (i, step) in flow.steps.iter().enumerate() {
            let pair = step.credential.as_ref().and_then(Credential::key_pair);
            // Classes 2 and 7: keys as the source of an assume-role call. The rewrite chains
            // from the keys' new role when the keys are the step's own inputs and the chained
            // session may last what it asked for (chained sessions end after an hour).
            if step.consumption == Consumption::Configure
                && let Some(pair) = pair
                && let Some(with) = job.steps().get(step.index).and_then(|s| s.with())
                && let Some(role) = with.get_str("role-to-assume")
            {
                let own_inputs = with.entries().any(|(k, _)| {
                    k.as_str()
                        .and_then(crate::detect::names::configure_input_part)
                        .is_some()
                });
                let duration = with.get("role-duration-seconds").map(|d| {
                    d.as_str()
                        .and_then(|t| t.trim().parse::<u64>().ok())
                        .filter(|&secs| secs <= 3600)
                });
                let why = if !own_inputs {
                    Some(format!(
                        "the action takes {} from the environment as source credentials for {role}",
                        pair.describe()
                    ))
                } else if duration == Some(None) {
                    Some("its `role-duration-seconds` is above 3600 (or not a number), but a chained session lasts at most one hour".to_string())
                } else {
                    None
                };
                if let Some(why) = why {
                    add(
                        BlockerClass::RoleChaining,
                        Some(i),
                        format!(
                            "{}: {why}; move the keys to a configure step of their own that assumes their new role with OIDC, then set `role-chaining: true` here (and let the new role `sts:AssumeRole` and `sts:TagSession` {role})",
                            where_(i)
                        ),
                    );
                }
            }
            if step.credential.is_none() {
                continue;
            }
            if let Consumption::KeyOnly(how) = &step.consumption
                && pair.is_some()
            {
                add(
                    BlockerClass::KeyOnlyConsumer,
                    Some(i),
                    format!("{} cannot use temporary credentials: {how}", where_(i)),
                );
            }
            if matches!(step.credential, Some(Credential::Mixed)) && step.consumes() {
                add(
                    BlockerClass::DistinctKeyPairs,
                    Some(i),
                    format!(
                        "{} takes its key id and secret from different places; make them one pair first",
                        where_(i)
                    ),
                );
            }
        }

        // Guards on the keys (classes 4 and 14) and runs without a token (class 11).
        let job_scopes = Scopes::job(workflow, job);
        if let Some(cond) = &flow.condition {
            if let Some(what) = guards::reads_keys(cond, &job_scopes, job) {
                add(
                    BlockerClass::KeyGuard,
                    None,
                    format!(
                        "job {}'s `if:` reads {what}, which is gone after the migration (the job would silently stop running): replace that part with `{}`",
                        job.label(),
                        guards::TOKEN_AVAILABLE
                    ),
                );
            }
            if let Some(why) = guards::only_without_token(cond) {
                add(
                    BlockerClass::NoOidcToken,
                    None,
                    format!("job {}: {why}; it must keep its keys", job.label()),
                );
            }
        }
        for (i, (step, sf)) in job.steps().iter().zip(&flow.steps).enumerate() {
            let Some(cond) = step.condition() else {
                continue;
            };
            let scopes = Scopes::step(workflow, job, step);
            if let Some(what) = guards::reads_keys(cond, &scopes, job) {
                add(
                    BlockerClass::KeyGuard,
                    Some(i),
                    format!(
                        "{}'s `if:` reads {what}, which is gone after the migration (the step would silently stop running): replace that part with `{}`",
                        where_(i),
                        guards::TOKEN_AVAILABLE
                    ),
                );
            }
            if sf.consumes()
                && let Some(why) = guards::only_without_token(cond)
            {
                add(
                    BlockerClass::NoOidcToken,
                    Some(i),
                    format!("{}: {why}; it must keep its keys", where_(i)),
                );
            }
        }

        // Class 9: environment secrets chosen at run time.
        if let Some(env) = &flow.environment
            && env.contains("${{")
        {
            add(
                BlockerClass::EnvironmentExpression,
                None,
                format!(
                    "job {} picks its environment at run time ({env}); environment secrets of the same name may hold keys of different accounts: choose the role with an expression per environment, or split the job",
                    job.label()
                ),
            );
        }

        // Class 12: sessions end after an hour.
        if let Some(minutes) = job
            .node
            .get_str("timeout-minutes")
            .and_then(|m| m.trim().parse::<u64>().ok())
            && minutes > MAX_SESSION_MINUTES
        {
            add(
                BlockerClass::SessionLength,
                None,
                format!(
                    "job {} may run {minutes} minutes, but an OIDC session lasts one hour by default: add `role-duration-seconds: {}` to its configure step and raise the role's MaxSessionDuration to match",
                    job.label(),
                    (minutes * 60).min(43_200)
                ),
            );
        }

        // Class 13: the inserted action needs the runner's node inside the container.
        if let Some(image) = container_image(job) {
            let node_runs = job.steps().iter().any(|s| {
                s.uses()
                    .is_some_and(|u| NODE_ACTIONS.iter().any(|a| u.is(a)))
            });
            let old = OLD_GLIBC_IMAGES.iter().any(|i| {
                image == *i
                    || image.starts_with(&format!("{i}:"))
                    || image.starts_with(&format!("{i}@"))
            });
            if old || !node_runs {
                let why = if old {
                    format!(
                        "its container image {image} has a C library too old for the runner's node"
                    )
                } else {
                    format!(
                        "nothing shows the runner's node can run in its container image {image}"
                    )
                };
                add(
                    BlockerClass::ContainerNode,
                    None,
                    format!(
                        "job {}: configure-aws-credentials is a JavaScript action and {why}: run the AWS steps in a job without the container, or assume the role with `aws sts assume-role-with-web-identity` by hand",
                        job.label()
                    ),
                );
            }
        }

        // Class 10: keys for S3-compatible services that are not AWS.
        for (i, (step, sf)) in job.steps().iter().zip(&flow.steps).enumerate() {
            let Some(pair) = sf.credential.as_ref().and_then(Credential::key_pair) else {
                continue;
            };
            if !sf.consumes() {
                continue;
            }
            let scopes = Scopes::step(workflow, job, step);
            match super::endpoints::of_step(step, &scopes) {
                super::endpoints::Endpoint::Aws => {}
                super::endpoints::Endpoint::Other(what) => out.push(Blocker {
                    class: BlockerClass::NotAws,
                    job: flow.job.clone(),
                    step: Some(i),
                    pair: Some(pair.clone()),
                    reason: format!(
                        "{}: these keys are used with {what}, not AWS; an IAM role cannot replace them",
                        where_(i)
                    ),
                }),
                super::endpoints::Endpoint::Unknown(what) => out.push(Blocker {
                    class: BlockerClass::UnknownEndpoint,
                    job: flow.job.clone(),
                    step: Some(i),
                    pair: None,
                    reason: format!(
                        "{}: the keys are used with the endpoint {what}, which may not be AWS: if it is, set the endpoint to an AWS one; if not, these are not AWS keys",
                        where_(i)
                    ),
                }),
            }
        }
    }
    out
}

/// What the configure step at `i` exports, as the model recorded it for the next step.
fn produced_by(flow: &JobFlow, i: usize) -> Option<&Credential> {
    flow.exports.iter().find(|(at, _)| *at == i).map(|(_, c)| c)
}

/// `container: IMAGE` or `container: { image: IMAGE }`.
fn container_image<'d>(job: &Job<'d>) -> Option<&'d str> {
    let container = job.id.and_then(|_| job.node.get("container"))?;
    container
        .as_str()
        .or_else(|| container.get_str("image"))
        .map(str::trim)
        .filter(|s| !s.is_empty())
}
