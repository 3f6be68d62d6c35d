//! The credential flow of each job: for every step, in order, which AWS credentials it sees
//! (and from where), how it takes them, and under which condition it runs; plus the reasons
//! (blockers) that keep a job's rewrite from being proven safe. Scan's verdicts and rewrite's
//! planning and verification all read this one model, so they cannot disagree. Pure.

pub mod blockers;
pub mod compare;
pub mod consumers;
pub mod endpoints;
pub mod guards;

use crate::detect::SourceRef;
use crate::detect::names::{self, KeyPart};
use crate::detect::positions;
use crate::detect::sources::{self, Scopes};
use crate::workflow::{Job, Step, Workflow};
use crate::yaml::Node;

pub use blockers::{Blocker, BlockerClass};
pub use consumers::Consumption;

/// The names the AWS SDKs, CLI and most tools read from the environment.
pub const CHAIN_VARS: [&str; 3] = [
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
];

/// Where a step's credentials come from, in GitHub's precedence (lowest first).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case", tag = "kind", content = "step")]
pub enum Origin {
    ContainerEnv,
    WorkflowEnv,
    JobEnv,
    /// Exported to `GITHUB_ENV` by the configure step at this 0-based index.
    Exported(usize),
    StepEnv,
}

impl Origin {
    pub fn describe(self) -> String {
        match self {
            Self::ContainerEnv => "container env".into(),
            Self::WorkflowEnv => "workflow env".into(),
            Self::JobEnv => "job env".into(),
            Self::Exported(i) => format!("step {}", i + 1),
            Self::StepEnv => "step env".into(),
        }
    }
}

/// A static key pair, named by where its parts come from (`secrets.X`, `vars.Y`), read under
/// a job's environment (environment secrets override repository secrets of the same name).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
pub struct KeyPair {
    pub refs: Vec<SourceRef>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub environment: Option<String>,
}

impl KeyPair {
    /// The secret (and variable) names, for role-map lookups.
    pub fn names(&self) -> Vec<String> {
        let mut names: Vec<String> = self.refs.iter().map(|r| r.name.clone()).collect();
        names.dedup();
        names
    }

    pub fn describe(&self) -> String {
        let refs = crate::detect::describe_refs(&self.refs);
        match &self.environment {
            Some(env) => format!("keys {refs} (environment {env})"),
            None => format!("keys {refs}"),
        }
    }
}

/// The credentials a step sees.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case", tag = "kind")]
pub enum Credential {
    /// Static keys.
    Keys { pair: KeyPair },
    /// A role assumed through GitHub's OIDC token.
    Role { role: String },
    /// A role assumed with static keys as the source credentials (role chaining).
    Chained { pair: KeyPair, role: String },
    /// A role assumed from another role's session (`role-chaining: true`), itself from OIDC.
    RoleChain { from: String, role: String },
    /// The key id and secret come from different places: nothing can be said of them.
    Mixed,
}

impl Credential {
    pub fn describe(&self) -> String {
        match self {
            Self::Keys { pair } => pair.describe(),
            Self::Role { role } => format!("role {role} (OIDC)"),
            Self::Chained { pair, role } => format!("role {role} assumed with {}", pair.describe()),
            Self::RoleChain { from, role } => {
                format!("role {role} chained from role {from} (OIDC)")
            }
            Self::Mixed => "a key id and secret from different places".into(),
        }
    }

    pub fn key_pair(&self) -> Option<&KeyPair> {
        match self {
            Self::Keys { pair } | Self::Chained { pair, .. } => Some(pair),
            _ => None,
        }
    }
}

/// What one step sees and does.
#[derive(Debug, Clone, serde::Serialize)]
pub struct StepFlow {
    /// 0-based index in the job's steps.
    pub index: usize,
    pub label: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub condition: Option<String>,
    pub consumption: Consumption,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub credential: Option<Credential>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub origin: Option<Origin>,
    /// For an exported credential: the condition of the step that exported it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub origin_condition: Option<String>,
}

impl StepFlow {
    /// A step that takes the AWS credentials it sees (or may).
    pub fn consumes(&self) -> bool {
        matches!(
            self.consumption,
            Consumption::DefaultChain | Consumption::KeyOnly(_) | Consumption::Unknown
        ) && self.credential.is_some()
    }
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct JobFlow {
    /// `None` for a composite action.
    pub job: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub environment: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub condition: Option<String>,
    pub steps: Vec<StepFlow>,
    /// What each configure step exports: (index into `steps`, credential).
    #[serde(skip)]
    pub exports: Vec<(usize, Credential)>,
}

impl JobFlow {
    /// Steps that take credentials, in order.
    pub fn consumers(&self) -> impl Iterator<Item = &StepFlow> {
        self.steps.iter().filter(|s| s.consumes())
    }
}

/// The model of one file.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct FileFlow {
    pub jobs: Vec<JobFlow>,
    pub blockers: Vec<Blocker>,
}

impl FileFlow {
    pub fn job(&self, id: Option<&str>) -> Option<&JobFlow> {
        self.jobs.iter().find(|j| j.job.as_deref() == id)
    }

    /// Why an automatic rewrite of a finding at `job`/`step` cannot be proven to keep every
    /// step's access. A blocker on one step reaches findings of that step, of configure steps
    /// before it (they feed it) and of the job's or workflow's env; a job-wide one reaches all.
    pub fn blocker_for(&self, job: Option<&str>, step: Option<usize>) -> Option<&Blocker> {
        self.blockers.iter().filter(|b| b.class.blocks()).find(|b| {
            if job.is_some() && b.job.is_some() && b.job.as_deref() != job {
                return false;
            }
            match (step, b.step) {
                (None, _) | (_, None) => true,
                (Some(s), Some(at)) if s == at => true,
                (Some(s), Some(at)) => self.job(job).is_some_and(|j| {
                    j.steps
                        .iter()
                        .find(|f| f.index == at)
                        .is_some_and(|f| f.origin == Some(Origin::Exported(s)))
                }),
            }
        })
    }
}

/// Builds the model and its blockers for one parsed file.
pub fn analyze(workflow: &Workflow<'_>) -> FileFlow {
    let jobs: Vec<(Job<'_>, JobFlow)> = workflow
        .jobs()
        .into_iter()
        .map(|job| {
            let flow = job_flow(workflow, &job);
            (job, flow)
        })
        .collect();
    let blockers = blockers::find(workflow, &jobs);
    FileFlow {
        jobs: jobs.into_iter().map(|(_, f)| f).collect(),
        blockers,
    }
}

/// One env layer's say on the three chain variables.
#[derive(Clone, Default)]
struct Layer {
    /// Per variable: `Some(refs)` when set; empty refs mean set to something that is not key
    /// material from outside (a literal, an unresolved `env.X`).
    vars: [Option<Vec<SourceRef>>; 3],
}

fn env_layer(env: Option<Node<'_>>, scopes: &Scopes<'_>) -> Layer {
    let mut layer = Layer::default();
    let Some(env) = env else { return layer };
    let outside = scopes.outside(env);
    for (key, value) in env.entries() {
        let Some(name) = key.as_str() else { continue };
        let Some(i) = CHAIN_VARS.iter().position(|v| *v == name.trim()) else {
            continue;
        };
        let refs = value
            .as_str()
            .map(|t| sources::resolve(t, &outside).refs)
            .unwrap_or_default();
        layer.vars[i] = Some(refs);
    }
    layer
}

/// What a stack of layers gives, with the origin of the key id.
fn combine(
    stack: &[(Origin, Layer)],
    exported: &Option<(Origin, Credential, Option<String>)>,
    environment: Option<&str>,
) -> Option<(Credential, Origin, Option<String>)> {
    // Per variable, the highest layer that sets it; the export sits between job and step env.
    let mut winner: [Option<(Origin, Option<Vec<SourceRef>>)>; 3] = Default::default();
    for (origin, layer) in stack {
        if *origin == Origin::StepEnv {
            continue;
        }
        for (i, v) in layer.vars.iter().enumerate() {
            if let Some(refs) = v {
                winner[i] = Some((*origin, Some(refs.clone())));
            }
        }
    }
    if let Some((origin, _, _)) = exported {
        winner.fill(Some((*origin, None)));
    }
    if let Some((_, step)) = stack.iter().find(|(o, _)| *o == Origin::StepEnv) {
        for (i, v) in step.vars.iter().enumerate() {
            if let Some(refs) = v {
                winner[i] = Some((Origin::StepEnv, Some(refs.clone())));
            }
        }
    }
    let (id_origin, id_refs) = winner[0].clone()?;
    let (secret_origin, secret_refs) = winner[1].clone()?;
    if id_origin != secret_origin {
        return Some((Credential::Mixed, id_origin, None));
    }
    match (id_refs, secret_refs) {
        (None, None) => {
            let (origin, credential, condition) = exported.clone()?;
            Some((credential, origin, condition))
        }
        (Some(id), Some(secret)) => {
            if id.is_empty() && secret.is_empty() {
                // Literal or empty keys (emulators, tests): not key material.
                return None;
            }
            let mut refs = id;
            refs.extend(secret);
            if let Some((o, Some(token))) = &winner[2]
                && *o == id_origin
            {
                refs.extend(token.iter().cloned());
            }
            refs.sort();
            refs.dedup();
            Some((
                Credential::Keys {
                    pair: KeyPair {
                        refs,
                        environment: environment.map(str::to_string),
                    },
                },
                id_origin,
                None,
            ))
        }
        _ => Some((Credential::Mixed, id_origin, None)),
    }
}

/// The key pair given to a configure step through its own inputs, if any.
fn configure_input_keys(
    step: &Step<'_>,
    scopes: &Scopes<'_>,
    environment: Option<&str>,
) -> Option<KeyPair> {
    let with = step.with()?;
    let mut refs = Vec::new();
    let mut has_id = false;
    for (key, value) in with.entries() {
        let Some(part) = key.as_str().and_then(names::configure_input_part) else {
            continue;
        };
        let resolved = value
            .as_str()
            .map(|t| sources::resolve(t, scopes).refs)
            .unwrap_or_default();
        if part == KeyPart::AccessKeyId && !resolved.is_empty() {
            has_id = true;
        }
        refs.extend(resolved);
    }
    refs.sort();
    refs.dedup();
    has_id.then(|| KeyPair {
        refs,
        environment: environment.map(str::to_string),
    })
}

/// Whether the job (or its workflow) grants `id-token: write`.
pub fn grants_id_token(workflow: &Workflow<'_>, job: &Job<'_>) -> bool {
    let grants = |perms: Node<'_>| {
        perms.as_str() == Some("write-all") || perms.get_str("id-token") == Some("write")
    };
    match job.permissions() {
        Some(p) => grants(p),
        None => workflow.permissions().is_some_and(grants),
    }
}

/// The flow of one job (see [`analyze`] for a whole file with its blockers).
pub fn job_flow(workflow: &Workflow<'_>, job: &Job<'_>) -> JobFlow {
    let environment = job
        .environment()
        .and_then(|e| e.as_str())
        .map(str::to_string);
    let env_name = environment.as_deref();
    let job_scopes = Scopes::job(workflow, job);
    let mut base: Vec<(Origin, Layer)> = Vec::new();
    if let Some(env) = job.container_env() {
        base.push((Origin::ContainerEnv, env_layer(Some(env), &job_scopes)));
    }
    base.push((
        Origin::WorkflowEnv,
        env_layer(workflow.env(), &Scopes::workflow(workflow)),
    ));
    base.push((Origin::JobEnv, env_layer(job.env(), &job_scopes)));
    let oidc_available = grants_id_token(workflow, job);

    let mut exported: Option<(Origin, Credential, Option<String>)> = None;
    let mut exports = Vec::new();
    let mut steps = Vec::new();
    for step in job.steps() {
        let scopes = Scopes::step(workflow, job, &step);
        let mut stack = base.clone();
        stack.push((Origin::StepEnv, env_layer(step.env(), &scopes)));
        let seen = combine(&stack, &exported, env_name);
        // How a step takes credentials matters only where it sees some (reading scripts is
        // the expensive part of the model).
        let consumption = if seen.is_some() || positions::is_configure_step(&step) {
            consumers::classify(&step, &scopes)
        } else {
            Consumption::None
        };
        let condition = step.condition().map(str::to_string);
        if consumption == Consumption::Configure {
            let role = step
                .with()
                .and_then(|w| w.get("role-to-assume"))
                .and_then(|r| r.as_str())
                .map(str::to_string);
            let inputs = configure_input_keys(&step, &scopes, env_name);
            // Without key inputs the action takes keys from the environment as the source of
            // an assume-role call, unless it can use the job's OIDC token.
            let source = inputs.or_else(|| match (&seen, oidc_available, &role) {
                (Some((Credential::Keys { pair }, _, _)), false, Some(_)) => Some(pair.clone()),
                _ => None,
            });
            let chaining = step
                .with()
                .and_then(|w| w.get_str("role-chaining"))
                .is_some_and(|v| v.trim() == "true");
            let from_role = match &seen {
                Some((Credential::Role { role }, _, _)) if chaining => Some(role.clone()),
                _ => None,
            };
            let produced = match (source.clone(), role) {
                (None, Some(role)) if from_role.is_some() => Some(Credential::RoleChain {
                    from: from_role.unwrap_or_default(),
                    role,
                }),
                (Some(pair), Some(role)) => Some(Credential::Chained { pair, role }),
                (Some(pair), None) => Some(Credential::Keys { pair }),
                (None, Some(role)) => Some(Credential::Role { role }),
                (None, None) => None,
            };
            steps.push(StepFlow {
                index: step.index,
                label: step.label(),
                condition: condition.clone(),
                consumption,
                credential: source.map(|pair| Credential::Keys { pair }),
                origin: seen.as_ref().map(|(_, o, _)| *o),
                origin_condition: None,
            });
            if let Some(credential) = produced {
                exports.push((steps.len() - 1, credential.clone()));
                exported = Some((Origin::Exported(step.index), credential, condition));
            }
            continue;
        }
        let (credential, origin, origin_condition) = match seen {
            Some((c, o, cond)) => (Some(c), Some(o), cond),
            None => (None, None, None),
        };
        steps.push(StepFlow {
            index: step.index,
            label: step.label(),
            condition,
            consumption,
            credential,
            origin,
            origin_condition,
        });
    }
    JobFlow {
        job: job.id.map(str::to_string),
        environment,
        condition: job.node.get_str("if").map(str::to_string),
        steps,
        exports,
    }
}
