//! Every place in a file where key material can be handed to a job: configure-aws-credentials
//! inputs, `AWS_*` env entries at each level, other actions' inputs, and secrets passed to
//! reusable workflows. Rules read this list instead of walking the tree themselves.

use crate::detect::names::{self, KeyPart};
use crate::detect::sources::{self, Resolved, Scopes};
use crate::workflow::{Job, Step, Uses, Workflow};
use crate::yaml::Node;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EnvLevel {
    Workflow,
    Job,
    Container,
    Step,
}

impl EnvLevel {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Workflow => "workflow",
            Self::Job => "job",
            Self::Container => "container",
            Self::Step => "step",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PositionKind {
    /// `with:` of aws-actions/configure-aws-credentials (or a mirror).
    ConfigureInput,
    Env(EnvLevel),
    /// `with:` of another action; `ecr_login` for docker/login-action to ECR.
    ActionInput {
        ecr_login: bool,
    },
    /// `secrets:` of a job that calls a reusable workflow.
    CallSecret,
}

#[derive(Clone)]
pub struct KeyPosition<'d> {
    pub kind: PositionKind,
    pub job: Option<Job<'d>>,
    pub step: Option<Step<'d>>,
    /// The mapping holding the entry (`with:`, `env:`, `secrets:`).
    pub block: Node<'d>,
    pub key: Node<'d>,
    pub value: Node<'d>,
    pub part: Option<KeyPart>,
    pub resolved: Resolved,
}

impl KeyPosition<'_> {
    pub fn name(&self) -> &str {
        self.key.as_str().unwrap_or("")
    }
}

/// Is this step configure-aws-credentials? `uses: ./` counts when it is given the action's
/// own key inputs (the action's repository testing itself).
pub fn is_configure_step(step: &Step<'_>) -> bool {
    step.uses()
        .is_some_and(|uses| is_configure_uses(step, &uses))
}

/// [`is_configure_step`] for a step whose `uses:` is already parsed.
pub fn is_configure_uses(step: &Step<'_>, uses: &Uses<'_>) -> bool {
    uses.is_configure_aws_credentials()
        || (uses.is_repo_root_action()
            && step.with().is_some_and(|w| {
                w.entries()
                    .any(|(k, _)| k.as_str().and_then(names::configure_input_part).is_some())
            }))
}

/// A configure-aws-credentials step that assumes a role with OIDC (no static keys).
pub fn is_oidc_configure_step(step: &Step<'_>) -> bool {
    is_configure_step(step)
        && step.with().is_some_and(|w| {
            w.get("role-to-assume").is_some()
                && !w
                    .entries()
                    .any(|(k, _)| k.as_str().and_then(names::configure_input_part).is_some())
        })
}

pub fn key_positions<'d>(workflow: &Workflow<'d>) -> Vec<KeyPosition<'d>> {
    let mut out = Vec::new();
    let wf_scopes = Scopes::workflow(workflow);
    if let Some(env) = workflow.env() {
        env_positions(
            &mut out,
            EnvLevel::Workflow,
            None,
            None,
            env,
            &wf_scopes.outside(env),
        );
    }
    for job in workflow.jobs() {
        let job_scopes = Scopes::job(workflow, &job);
        if let Some(env) = job.env() {
            env_positions(
                &mut out,
                EnvLevel::Job,
                Some(job),
                None,
                env,
                &job_scopes.outside(env),
            );
        }
        if let Some(env) = job.container_env() {
            env_positions(
                &mut out,
                EnvLevel::Container,
                Some(job),
                None,
                env,
                &job_scopes,
            );
        }
        if let (Some(_), Some(secrets)) = (job.reusable_call(), job.call_secrets()) {
            for (key, value) in secrets.entries() {
                let resolved = resolve_node(value, &job_scopes);
                let name = key.as_str().unwrap_or("");
                let key_like = names::looks_like_aws_key_name(name)
                    || resolved
                        .refs
                        .iter()
                        .any(|r| names::looks_like_aws_key_name(&r.name));
                if resolved.is_external() && key_like {
                    out.push(KeyPosition {
                        kind: PositionKind::CallSecret,
                        job: Some(job),
                        step: None,
                        block: secrets,
                        key,
                        value,
                        part: names::env_key_part(name).or_else(|| names::guess_part(name)),
                        resolved,
                    });
                }
            }
        }
        for step in job.steps() {
            let scopes = Scopes::step(workflow, &job, &step);
            if let Some(env) = step.env() {
                env_positions(
                    &mut out,
                    EnvLevel::Step,
                    Some(job),
                    Some(step),
                    env,
                    &scopes.outside(env),
                );
            }
            let Some(with) = step.with() else { continue };
            if step.uses().is_none() {
                continue;
            }
            let configure = is_configure_step(&step);
            let ecr_login = sources::is_ecr_login(&step);
            for (key, value) in with.entries() {
                let name = key.as_str().unwrap_or("");
                let resolved = resolve_node(value, &scopes);
                if !resolved.is_external() {
                    continue;
                }
                let (kind, part) = if configure {
                    match names::configure_input_part(name) {
                        Some(part) => (PositionKind::ConfigureInput, Some(part)),
                        None => continue,
                    }
                } else if ecr_login && matches!(name, "username" | "password") {
                    let part = if name == "username" {
                        KeyPart::AccessKeyId
                    } else {
                        KeyPart::SecretAccessKey
                    };
                    (PositionKind::ActionInput { ecr_login: true }, Some(part))
                } else if names::looks_like_key_input(name)
                    || resolved
                        .refs
                        .iter()
                        .any(|r| names::looks_like_aws_key_name(&r.name))
                {
                    (
                        PositionKind::ActionInput { ecr_login: false },
                        names::guess_part(name),
                    )
                } else {
                    continue;
                };
                out.push(KeyPosition {
                    kind,
                    job: Some(job),
                    step: Some(step),
                    block: with,
                    key,
                    value,
                    part,
                    resolved,
                });
            }
        }
    }
    out
}

fn env_positions<'d>(
    out: &mut Vec<KeyPosition<'d>>,
    level: EnvLevel,
    job: Option<Job<'d>>,
    step: Option<Step<'d>>,
    env: Node<'d>,
    scopes: &Scopes<'d>,
) {
    for (key, value) in env.entries() {
        let Some(part) = key.as_str().and_then(names::env_key_part) else {
            continue;
        };
        let resolved = resolve_node(value, scopes);
        if resolved.is_external() {
            out.push(KeyPosition {
                kind: PositionKind::Env(level),
                job,
                step,
                block: env,
                key,
                value,
                part: Some(part),
                resolved,
            });
        }
    }
}

fn resolve_node(value: Node<'_>, scopes: &Scopes<'_>) -> Resolved {
    value
        .as_str()
        .map(|text| sources::resolve(text, scopes))
        .unwrap_or_default()
}
