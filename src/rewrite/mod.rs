//! `rewrite`: turns every `auto` finding of scan into byte-exact span edits (OIDC instead of
//! static keys), checks the result by re-parsing it, and reports what changed, what was
//! left to a person and why. Pure: text in, text out; but for [`local`], which reads and
//! writes the local files `migrate rewrite` is given.

pub mod edits;
pub mod layout;
pub mod local;
pub mod permissions;
pub mod roles;
pub mod steps;
pub mod verify;

use std::collections::HashMap;

use crate::detect::positions::{self, EnvLevel, KeyPosition, PositionKind};
use crate::detect::sources::{self, AwsUse};
use crate::detect::{self, Finding, Fix, Remedy, flow, region};
use crate::scan::FileLinks;
use crate::source::LineIndex;
use crate::workflow::{FileKind, Job, Step, Workflow};
use crate::yaml::{Document, Node, Style};

pub use roles::{RoleArn, RoleLookupError, RoleMap, RoleSource};

use edits::EditSet;
use permissions::Grant;
use steps::{ConfigureStep, EditBlocker, Holder, NewEntry, Plan, Region};
use verify::{Changes, Value};

/// The configure-aws-credentials ref written when inserting a step or bumping an old one.
pub const DEFAULT_ACTION_REF: &str = "v6";

/// Release commits of aws-actions/configure-aws-credentials we write instead of a moving
/// tag, so rewritten workflows stay hash-pinned (zizmor's `unpinned-uses`). Each was checked
/// against several independent public pins of that release.
const KNOWN_PINS: &[(&[&str], &str, &str)] = &[(
    &["v6", "v6.2", "v6.2.3"],
    "e6de054238d6b7531b4efff3b6587d9aade6a06c",
    "v6.2.3",
)];

/// The ref to write for `--action-ref REF`: a known release's commit SHA with its version
/// as a comment when `pin` is set, else the ref as given.
pub fn resolve_action_ref(requested: &str, pin: bool) -> (String, Option<String>) {
    let known = KNOWN_PINS
        .iter()
        .find(|(refs, _, _)| refs.contains(&requested));
    match (pin, known) {
        (true, Some((_, sha, version))) => ((*sha).to_string(), Some((*version).to_string())),
        _ => (requested.to_string(), None),
    }
}

#[derive(Debug, Clone)]
pub struct RewriteOptions {
    pub roles: RoleSource,
    /// `--action-ref`, resolved: a tag, branch or SHA.
    pub action_ref: String,
    /// The release a pinned `action_ref` SHA stands for, written as a `# vX.Y.Z` comment.
    pub action_version: Option<String>,
    /// `owner/repo` of the file, for repository-qualified role-map entries.
    pub repo: Option<String>,
    /// The run's workflow files, so a caller's permissions cover what its local callees request.
    pub local_workflows: permissions::LocalWorkflows,
}

impl RewriteOptions {
    pub fn new(roles: RoleSource) -> Self {
        Self {
            roles,
            action_ref: resolve_action_ref(DEFAULT_ACTION_REF, true).0,
            action_version: resolve_action_ref(DEFAULT_ACTION_REF, true).1,
            repo: None,
            local_workflows: permissions::LocalWorkflows::default(),
        }
    }

    /// `--action-ref REF`: a known release becomes its pinned SHA unless `pin` is off.
    pub fn with_action_ref(mut self, requested: &str, pin: bool) -> Self {
        (self.action_ref, self.action_version) = resolve_action_ref(requested, pin);
        self
    }

    /// `--role-arn ARN`.
    pub fn with_role_arn(arn: &str) -> Result<Self, RewriteError> {
        Ok(Self::new(RoleSource::Single(RoleArn::parse(
            arn,
            "--role-arn",
        )?)))
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RewriteError {
    #[error("{path}:{line}:{column}: invalid YAML: {message}")]
    InvalidYaml {
        path: String,
        line: usize,
        column: usize,
        message: String,
    },
    #[error(
        "{origin}: `{arn}` is not an IAM role ARN (expected arn:aws[-cn|-us-gov]:iam::<12 digits>:role/NAME)"
    )]
    InvalidArn { arn: String, origin: String },
    #[error("{origin}: invalid role map: {message}")]
    InvalidRoleMap { origin: String, message: String },
    #[error("{path}:{line}: job {job}: the role map has no role for {secrets}")]
    UnmappedSecret {
        path: String,
        line: usize,
        job: String,
        secrets: String,
    },
    #[error("{path}:{line}: job {job}: the role map gives {secrets} different roles: {arns}")]
    ConflictingRoles {
        path: String,
        line: usize,
        job: String,
        secrets: String,
        arns: String,
    },
    #[error(
        "{path}:{line}: job {job}: its keys are read under the environments {environments}; environment secrets may hold other accounts' keys, so the role map needs an entry for environment {environment} ([environments.{environment}] in TOML, as `migrate trust --format role-map` writes it)"
    )]
    SharedAcrossEnvironments {
        path: String,
        line: usize,
        job: String,
        environment: String,
        environments: String,
    },
    #[error("{path}: refusing the rewrite: {reason}")]
    Unverified { path: String, reason: String },
}

/// One applied change, for people.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Change {
    /// 1-based line in the input of the finding that caused it.
    pub line: usize,
    pub description: String,
}

/// A finding left for a person, with the reason.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ManualFinding {
    pub rule: String,
    pub line: usize,
    pub column: usize,
    pub job: Option<String>,
    /// 0-based step index.
    pub step: Option<usize>,
    pub secrets: Vec<String>,
    pub reason: String,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct RewriteOutcome {
    #[serde(skip)]
    pub original: String,
    /// The rewritten text (equal to the input when nothing changed).
    #[serde(skip)]
    pub text: String,
    pub changes: Vec<Change>,
    pub manual: Vec<ManualFinding>,
    pub notes: Vec<String>,
    /// Every step that took static keys: its credentials before and after, as proven.
    pub flow: Vec<flow::compare::FlowRow>,
}

impl RewriteOutcome {
    fn unchanged(text: &str) -> Self {
        Self {
            original: text.to_string(),
            text: text.to_string(),
            changes: Vec::new(),
            manual: Vec::new(),
            notes: Vec::new(),
            flow: Vec::new(),
        }
    }

    pub fn changed(&self) -> bool {
        self.text != self.original
    }

    /// A unified diff with `--- a/PATH` / `+++ b/PATH` headers; empty when nothing changed.
    pub fn diff(&self, path: &str) -> String {
        if !self.changed() {
            return String::new();
        }
        similar::TextDiff::from_lines(&self.original, &self.text)
            .unified_diff()
            .context_radius(3)
            .header(&format!("a/{path}"), &format!("b/{path}"))
            .to_string()
    }
}

/// The credential-flow model of one file's text (empty when it is no workflow or action).
pub fn flow_model(text: &str) -> flow::FileFlow {
    let Ok(doc) = Document::parse(text) else {
        return flow::FileFlow::default();
    };
    Workflow::classify(&doc)
        .map(|w| flow::analyze(&w))
        .unwrap_or_default()
}

/// Rewrites one file. `path` is only used in messages.
pub fn rewrite(
    path: &str,
    text: &str,
    opts: &RewriteOptions,
) -> Result<RewriteOutcome, RewriteError> {
    rewrite_linked(path, text, opts, &FileLinks::default())
}

/// Rewrites one file, also acting on what only a look across files gives it
/// ([`crate::scan::cross_file_findings`] for this path): `cross_file` findings (a job that
/// passes `secrets: inherit` to a local workflow this run moves to OIDC needs
/// `id-token: write`), and for a reusable workflow the names its callers pass its secrets
/// under, which choose its role.
pub fn rewrite_linked(
    path: &str,
    text: &str,
    opts: &RewriteOptions,
    links: &FileLinks,
) -> Result<RewriteOutcome, RewriteError> {
    let linked = &links.findings;
    let doc = Document::parse(text).map_err(|e| RewriteError::InvalidYaml {
        path: path.to_string(),
        line: e.line,
        column: e.column,
        message: e.message,
    })?;
    let Some(workflow) = Workflow::classify(&doc) else {
        return Ok(RewriteOutcome::unchanged(text));
    };
    let lines = LineIndex::new(text);
    let cx = detect::FileContext::new(path, text, &lines, workflow);
    let mut findings = detect::detect(&cx);
    for link in linked.iter().filter(|f| f.cross_file) {
        // A finding the look across files decided differently replaces this file's own.
        match findings
            .iter_mut()
            .find(|f| f.rule == link.rule && f.span == link.span)
        {
            Some(own) => *own = link.clone(),
            None => findings.push(link.clone()),
        }
    }
    if findings.is_empty() {
        return Ok(RewriteOutcome::unchanged(text));
    }
    let mut planner = Planner::new(
        path,
        text,
        workflow,
        opts,
        cx.into_analysis(),
        &links.secret_names,
    );
    let mut outcome = RewriteOutcome::unchanged(text);

    let mut declarations = Vec::new();
    for finding in &findings {
        // Each rule named the rewrite its finding gets (`Fix::Auto(remedy)`).
        let planned = match finding.fix {
            Fix::Manual => {
                outcome.manual.push(manual_entry(finding, &finding.reason));
                continue;
            }
            Fix::Auto(Remedy::ConfigureStep) => planner.configure_step(finding),
            Fix::Auto(Remedy::EnvBlock) => planner.env_block(finding),
            Fix::Auto(Remedy::EcrLogin) => planner.ecr_login(finding),
            Fix::Auto(Remedy::Caller) => planner.caller(finding),
            Fix::Auto(Remedy::Declaration) => {
                declarations.push(finding);
                continue;
            }
        };
        planner.record(finding, planned, &mut outcome)?;
    }
    if let Some(&first) = declarations.first() {
        // One plan drops every declaration (so an emptied `secrets:` goes too).
        match planner.declarations(&declarations) {
            Ok(plan) => planner.record(first, Ok(plan), &mut outcome)?,
            Err(e) => {
                for finding in &declarations {
                    planner.record(finding, Err(e.clone()), &mut outcome)?;
                }
            }
        }
    }
    planner.finish(&doc, &mut outcome)?;
    Ok(outcome)
}

/// The finding as left to a person; the reason becomes text here, where it is reported.
fn manual_entry(f: &Finding, reason: &impl std::fmt::Display) -> ManualFinding {
    ManualFinding {
        rule: f.rule.to_string(),
        line: f.line,
        column: f.column,
        job: f.job.clone(),
        step: f.step.as_ref().map(|s| s.index),
        secrets: f.secrets.clone(),
        reason: reason.to_string(),
    }
}

/// Why the rewrite of a finding is left to a person (its `reason` in the output).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
enum ManualReason {
    #[error("could not find the finding's job")]
    JobNotFound,
    #[error("the finding names no step")]
    NoStepNamed,
    #[error("could not find the finding's step")]
    StepNotFound,
    #[error("could not locate the finding's entries")]
    EntriesNotFound,
    #[error("no AWS region found")]
    NoRegion,
    #[error("not an env finding")]
    NotAnEnvFinding,
    #[error("only docker/login-action to ECR is rewritten automatically")]
    NotAnEcrLogin,
    #[error("no workflow_call trigger")]
    NoWorkflowCall,
    #[error("no workflow_call secrets")]
    NoWorkflowCallSecrets,
    #[error(transparent)]
    Edit(#[from] EditBlocker),
    /// `reason` is why [`permissions::grant_id_token`] found the grant impossible.
    #[error("cannot grant `id-token: write`: {reason}")]
    IdTokenNotGrantable { reason: String },
    #[error("its edits would overlap another change; edit it by hand")]
    EditsOverlap,
    #[error("flow-check: {0}")]
    FlowCheck(flow::compare::Unproven),
}

#[derive(Debug, Clone)]
enum PlanError {
    /// The finding is left to a person, for this reason.
    Manual(ManualReason),
    Fatal(RewriteError),
}

impl From<ManualReason> for PlanError {
    fn from(reason: ManualReason) -> Self {
        Self::Manual(reason)
    }
}

impl From<EditBlocker> for PlanError {
    fn from(blocker: EditBlocker) -> Self {
        Self::Manual(ManualReason::Edit(blocker))
    }
}

/// The edits for one finding, and the jobs that then need `id-token: write`.
#[derive(Debug, Default)]
struct FindingPlan {
    plan: Plan,
    descriptions: Vec<String>,
    notes: Vec<String>,
    jobs: Vec<String>,
    /// Steps inserted, as (job, index of the step they precede).
    inserted: Vec<(String, usize)>,
}

struct Accepted<'f> {
    finding: &'f Finding,
    plan: FindingPlan,
}

struct Planner<'a, 'd, 'f> {
    path: &'a str,
    text: &'a str,
    workflow: Workflow<'d>,
    opts: &'a RewriteOptions,
    positions: Vec<KeyPosition<'d>>,
    /// The credential flow of the input, for the conditions of inserted steps.
    flow: flow::FileFlow,
    /// The condition that skips runs without an OIDC token (fork pull requests, Dependabot),
    /// where the workflow has such runs: inserted configure steps carry it.
    token_guard: Option<&'static str>,
    accepted: Vec<Accepted<'f>>,
    /// Configure steps this rewrite inserts, by job: indices of the steps they precede.
    inserted: HashMap<String, Vec<usize>>,
    with_indent: usize,
    /// A reusable workflow's secrets in its callers' names: they choose its roles.
    secret_names: &'a roles::SecretNames,
}

impl<'a, 'd, 'f> Planner<'a, 'd, 'f> {
    fn new(
        path: &'a str,
        text: &'a str,
        workflow: Workflow<'d>,
        opts: &'a RewriteOptions,
        (positions, flow): (Vec<KeyPosition<'d>>, flow::FileFlow),
        secret_names: &'a roles::SecretNames,
    ) -> Self {
        let unit = file_indent_unit(text, &workflow);
        Self {
            path,
            text,
            workflow,
            opts,
            positions,
            flow,
            token_guard: flow::guards::token_guard(&workflow),
            accepted: Vec::new(),
            inserted: HashMap::new(),
            with_indent: steps::with_indent(text, &workflow, unit),
            secret_names,
        }
    }

    fn record(
        &mut self,
        finding: &'f Finding,
        planned: Result<FindingPlan, PlanError>,
        outcome: &mut RewriteOutcome,
    ) -> Result<(), RewriteError> {
        match planned {
            Ok(plan) => {
                for (job, index) in &plan.inserted {
                    self.inserted.entry(job.clone()).or_default().push(*index);
                }
                self.accepted.push(Accepted { finding, plan });
            }
            Err(PlanError::Manual(reason)) => outcome.manual.push(manual_entry(finding, &reason)),
            Err(PlanError::Fatal(e)) => return Err(e),
        }
        Ok(())
    }

    fn job(&self, finding: &Finding) -> Result<Job<'d>, PlanError> {
        self.workflow
            .jobs()
            .into_iter()
            .find(|j| j.id.map(str::to_string) == finding.job)
            .ok_or(PlanError::Manual(ManualReason::JobNotFound))
    }

    fn step(&self, job: &Job<'d>, finding: &Finding) -> Result<Step<'d>, PlanError> {
        let index = finding
            .step
            .as_ref()
            .map(|s| s.index)
            .ok_or(ManualReason::NoStepNamed)?;
        job.steps()
            .get(index)
            .copied()
            .ok_or(PlanError::Manual(ManualReason::StepNotFound))
    }

    /// The key positions of the finding's group (same mapping as the reported value).
    fn group(
        &self,
        finding: &Finding,
        kind: impl Fn(PositionKind) -> bool,
    ) -> Result<Vec<KeyPosition<'d>>, PlanError> {
        let first = self
            .positions
            .iter()
            .find(|p| kind(p.kind) && p.value.span() == finding.span)
            .ok_or(ManualReason::EntriesNotFound)?;
        let block = first.block;
        Ok(self
            .positions
            .iter()
            .filter(|p| kind(p.kind) && p.block == block)
            .cloned()
            .collect())
    }

    /// The role for the keys of `finding` as `job` reads them (under its environment; in a
    /// reusable workflow, by the names its callers pass them from).
    fn role(&self, finding: &Finding, job: &Job<'d>) -> Result<RoleArn, PlanError> {
        let environment = job.environment().and_then(|e| e.as_str());
        let names = roles::callers_names(self.secret_names, &finding.secrets);
        self.opts
            .roles
            .role_in(self.opts.repo.as_deref(), environment, &names)
            .map_err(|e| {
                let job = finding.job.clone().unwrap_or_else(|| "(workflow)".into());
                let secrets = names.join(", ");
                PlanError::Fatal(match e {
                    RoleLookupError::Unmapped => RewriteError::UnmappedSecret {
                        path: self.path.to_string(),
                        line: finding.line,
                        job,
                        secrets,
                    },
                    RoleLookupError::Conflicting(arns) => RewriteError::ConflictingRoles {
                        path: self.path.to_string(),
                        line: finding.line,
                        job,
                        secrets,
                        arns: arns.join(", "),
                    },
                })
            })
            .and_then(|(arn, for_environment)| {
                // Environment secrets override repository secrets of the same name: keys read
                // under different environments may belong to different accounts.
                let environments = self.environments_reading(&finding.secrets);
                match environment {
                    Some(env) if environments.len() > 1 && !for_environment => {
                        Err(PlanError::Fatal(RewriteError::SharedAcrossEnvironments {
                            path: self.path.to_string(),
                            line: finding.line,
                            job: job.label(),
                            environment: env.to_string(),
                            environments: environments
                                .iter()
                                .map(|e| e.as_deref().unwrap_or("(none)").to_string())
                                .collect::<Vec<_>>()
                                .join(", "),
                        }))
                    }
                    _ => Ok(arn),
                }
            })
    }

    /// The environments (`None`: repository secrets) under which this file's jobs read any of
    /// `secrets`.
    fn environments_reading(&self, secrets: &[String]) -> Vec<Option<String>> {
        let mut out: Vec<Option<String>> = Vec::new();
        for job in &self.flow.jobs {
            let reads = job.steps.iter().any(|s| {
                s.credential
                    .as_ref()
                    .and_then(flow::Credential::key_pair)
                    .is_some_and(|p| p.names().iter().any(|n| secrets.contains(n)))
            });
            if reads && !out.contains(&job.environment) {
                out.push(job.environment.clone());
            }
        }
        out
    }

    fn where_(job: &Job<'_>, step: Option<&Step<'_>>) -> String {
        match (job.id, step) {
            (Some(id), Some(step)) => format!("job {id}, {}", step.label()),
            (Some(id), None) => format!("job {id}"),
            (None, Some(step)) => format!("composite action, {}", step.label()),
            (None, None) => "composite action".to_string(),
        }
    }

    fn needs_token(&self, plan: &mut FindingPlan, job: &Job<'_>) {
        match job.id {
            Some(id) if !plan.jobs.iter().any(|j| j == id) => plan.jobs.push(id.to_string()),
            Some(_) => {}
            None => plan.notes.push(
                "composite action: every workflow job that uses it needs `permissions: id-token: write`".to_string(),
            ),
        }
    }

    /// Rule `aws-keys-configure-credentials`: drop the key inputs, add `role-to-assume`.
    fn configure_step(&self, finding: &Finding) -> Result<FindingPlan, PlanError> {
        let job = self.job(finding)?;
        let step = self.step(&job, finding)?;
        let group = self.group(finding, |k| k == PositionKind::ConfigureInput)?;
        let with = group[0].block;
        let keys: Vec<Node<'_>> = group.iter().map(|p| p.key).collect();
        let mut out = FindingPlan::default();
        let removed: Vec<&str> = group.iter().map(|p| p.name()).collect();
        let new = if let Some(target) = with.get_str("role-to-assume") {
            // Role chaining: the keys' new role is assumed with OIDC in a step of its own,
            // and this step chains from it to the role it always assumed.
            let role = self.role(finding, &job)?;
            let region = region::for_step(self.text, &self.workflow, &job, &step, None)
                .map(Region::from_source)
                .ok_or(ManualReason::NoRegion)?;
            let source_step = ConfigureStep {
                role: &role,
                region: &region,
                action_ref: &self.opts.action_ref,
                action_version: self.opts.action_version.as_deref(),
                condition: step.condition(),
            };
            steps::insert_configure_step(
                self.text,
                &mut out.plan,
                &job,
                &step,
                &source_step,
                self.with_indent,
            )?;
            out.inserted.push((job.label(), step.index));
            out.descriptions.push(format!(
                "{}: removed {}; a configure step inserted before it assumes {} with OIDC, and it chains from there to {target} (`role-chaining: true`)",
                Self::where_(&job, Some(&step)),
                removed.join(", "),
                role.as_str()
            ));
            out.notes.push(format!(
                "{}: {target} must trust {} (sts:AssumeRole and sts:TagSession) instead of the IAM user; `migrate trust` gives the new role the permission to assume it",
                Self::where_(&job, Some(&step)),
                role.as_str()
            ));
            Some(chaining_entry())
        } else {
            let role = self.role(finding, &job)?;
            out.descriptions.push(format!(
                "{}: removed {}; added role-to-assume {}",
                Self::where_(&job, Some(&step)),
                removed.join(", "),
                role.as_str()
            ));
            Some(role_entry(&role, with.style()))
        };
        let holder = step.node.entry("with").map(|(key, _)| Holder {
            map: step.node,
            key,
        });
        steps::remove_entries(self.text, &mut out.plan, with, holder, &keys, new)?;
        let mut via_env: Vec<&str> = group
            .iter()
            .flat_map(|p| p.resolved.via_env.iter().map(String::as_str))
            .collect();
        via_env.dedup();
        if !via_env.is_empty() {
            out.notes.push(format!(
                "{}: env {} fed the removed key inputs; drop them (and their secrets) once nothing else reads them",
                Self::where_(&job, Some(&step)),
                via_env.join(", ")
            ));
        }
        self.bump(&mut out, &step)?;
        self.needs_token(&mut out, &job);
        Ok(out)
    }

    fn bump(&self, out: &mut FindingPlan, step: &Step<'_>) -> Result<(), PlanError> {
        let Some(uses) = step.uses() else {
            return Ok(());
        };
        let Some(git_ref) = uses.git_ref.map(str::trim) else {
            return Ok(());
        };
        if !steps::is_old_ref(git_ref) {
            return Ok(());
        }
        if !uses.is("aws-actions/configure-aws-credentials") {
            out.notes.push(format!(
                "{}: {} is a copy of configure-aws-credentials at an old ref; make sure it supports OIDC",
                step.label(),
                uses.raw.trim()
            ));
            return Ok(());
        }
        steps::bump_ref(
            self.text,
            &mut out.plan,
            uses.node,
            git_ref,
            &self.opts.action_ref,
            self.opts.action_version.as_deref(),
        )?;
        out.descriptions.push(format!(
            "{}: configure-aws-credentials {git_ref} -> {}",
            step.label(),
            self.opts.action_ref
        ));
        Ok(())
    }

    /// Rule `aws-keys-env`: drop the entries; insert a configure step where AWS is used.
    fn env_block(&self, finding: &Finding) -> Result<FindingPlan, PlanError> {
        let group = self.group(finding, |k| matches!(k, PositionKind::Env(_)))?;
        let first = &group[0];
        let PositionKind::Env(level) = first.kind else {
            return Err(ManualReason::NotAnEnvFinding.into());
        };
        let env = first.block;
        let holder = match level {
            EnvLevel::Workflow => Some(self.workflow.root),
            EnvLevel::Job => first.job.map(|j| j.node),
            EnvLevel::Container => first.job.and_then(|j| j.node.get("container")),
            EnvLevel::Step => first.step.map(|s| s.node),
        }
        .and_then(|map| {
            map.entry("env")
                .filter(|(_, v)| *v == env)
                .map(|(key, _)| Holder { map, key })
        });
        let keys: Vec<Node<'_>> = group.iter().map(|p| p.key).collect();
        let names: Vec<&str> = group.iter().map(|p| p.name()).collect();
        let mut out = FindingPlan::default();
        steps::remove_entries(self.text, &mut out.plan, env, holder, &keys, None)?;
        let scope = match (first.job.as_ref(), level) {
            (None, _) => "workflow env".to_string(),
            (Some(job), EnvLevel::Step) => {
                format!("{} env", Self::where_(job, first.step.as_ref()))
            }
            (Some(job), _) => format!("{} env of {}", level.as_str(), Self::where_(job, None)),
        };
        out.descriptions
            .push(format!("{scope}: removed {}", names.join(", ")));

        let targets: Vec<(Job<'d>, Step<'d>)> = match (first.job, first.step) {
            (Some(job), Some(step)) => {
                if sources::step_aws_use(&step) == AwsUse::No {
                    vec![]
                } else {
                    vec![(job, step)]
                }
            }
            // The first step that takes its credentials from this env block: a job whose
            // own env (or a configure step) shadows it never used these keys.
            (Some(job), None) => self.first_reader(&job, level).into_iter().collect(),
            (None, _) => self
                .workflow
                .jobs()
                .into_iter()
                .filter_map(|j| self.first_reader(&j, level))
                .collect(),
        };
        for (job, step) in targets {
            self.insert_before(&mut out, finding, &job, &step, None)?;
        }
        Ok(out)
    }

    /// The first step of `job` that takes credentials from the env block at `level`.
    fn first_reader(&self, job: &Job<'d>, level: EnvLevel) -> Option<(Job<'d>, Step<'d>)> {
        let origin = match level {
            EnvLevel::Workflow => flow::Origin::WorkflowEnv,
            EnvLevel::Job => flow::Origin::JobEnv,
            EnvLevel::Container => flow::Origin::ContainerEnv,
            EnvLevel::Step => flow::Origin::StepEnv,
        };
        let model = self.flow.job(job.id)?;
        let index = model
            .steps
            .iter()
            .find(|s| s.consumes() && s.origin == Some(origin))?
            .index;
        job.steps().get(index).map(|s| (*job, *s))
    }

    /// Inserts a configure step before `step` unless the job already configures credentials
    /// earlier (an existing step, or one this rewrite inserts).
    fn insert_before(
        &self,
        out: &mut FindingPlan,
        finding: &Finding,
        job: &Job<'d>,
        step: &Step<'d>,
        preset: Option<region::RegionSource<'d>>,
    ) -> Result<(), PlanError> {
        let label = job.label();
        let earlier_configure = job
            .steps()
            .into_iter()
            .take(step.index)
            .find(positions::is_configure_step);
        let planned = self
            .inserted
            .get(&label)
            .is_some_and(|v| v.iter().any(|&i| i <= step.index))
            || out
                .inserted
                .iter()
                .any(|(j, i)| *j == label && *i <= step.index);
        if planned {
            self.needs_token(out, job);
            return Ok(());
        }
        if let Some(existing) = earlier_configure {
            out.notes.push(format!(
                "{}: no step inserted; {} already configures AWS credentials before it",
                Self::where_(job, Some(step)),
                existing.label()
            ));
            // The job now relies on that step for its credentials.
            self.needs_token(out, job);
            return Ok(());
        }
        let region = region::for_step(self.text, &self.workflow, job, step, preset)
            .map(Region::from_source)
            .ok_or(ManualReason::NoRegion)?;
        let role = self.role(finding, job)?;
        let condition = with_token_guard(
            served_condition(&self.flow, job.id, step.index),
            self.token_guard,
        );
        let new_step = ConfigureStep {
            role: &role,
            region: &region,
            action_ref: &self.opts.action_ref,
            action_version: self.opts.action_version.as_deref(),
            condition: condition.as_deref(),
        };
        steps::insert_configure_step(
            self.text,
            &mut out.plan,
            job,
            step,
            &new_step,
            self.with_indent,
        )?;
        out.inserted.push((label, step.index));
        out.descriptions.push(format!(
            "{}: inserted configure-aws-credentials@{} before it (role {}, region from {})",
            Self::where_(job, Some(step)),
            self.opts.action_ref,
            role.as_str(),
            region.origin
        ));
        if sources::step_aws_use(step) == AwsUse::Unknown {
            out.notes.push(format!(
                "{}: inserted the configure step before it because it could not tell whether that step needs AWS",
                Self::where_(job, Some(step))
            ));
        }
        self.needs_token(out, job);
        Ok(())
    }

    /// Rule `aws-keys-action-input` (docker/login-action to ECR): drop username/password,
    /// configure credentials before the login.
    fn ecr_login(&self, finding: &Finding) -> Result<FindingPlan, PlanError> {
        let job = self.job(finding)?;
        let step = self.step(&job, finding)?;
        if !sources::is_ecr_login(&step) {
            return Err(ManualReason::NotAnEcrLogin.into());
        }
        let group = self.group(finding, |k| {
            k == PositionKind::ActionInput { ecr_login: true }
        })?;
        let with = group[0].block;
        let keys: Vec<Node<'_>> = group.iter().map(|p| p.key).collect();
        let mut out = FindingPlan::default();
        let holder = step.node.entry("with").map(|(key, _)| Holder {
            map: step.node,
            key,
        });
        steps::remove_entries(self.text, &mut out.plan, with, holder, &keys, None)?;
        let names: Vec<&str> = group.iter().map(|p| p.name()).collect();
        out.descriptions.push(format!(
            "{}: removed {}",
            Self::where_(&job, Some(&step)),
            names.join(", ")
        ));
        let region = with.get_str("registry").and_then(region::from_registry);
        self.insert_before(&mut out, finding, &job, &step, region)?;
        self.needs_token(&mut out, &job);
        Ok(out)
    }

    /// Rule `aws-keys-passed-to-workflow` (local callee): stop passing the key secrets.
    fn caller(&self, finding: &Finding) -> Result<FindingPlan, PlanError> {
        let job = self.job(finding)?;
        if finding.cross_file {
            // `secrets: inherit` stays (the callee may read other secrets); the caller must
            // grant the token the callee's OIDC step now asks for.
            let mut out = FindingPlan::default();
            out.descriptions.push(format!(
                "{}: calls a workflow that now assumes a role with OIDC; it needs `id-token: write`",
                Self::where_(&job, None)
            ));
            self.needs_token(&mut out, &job);
            return Ok(out);
        }
        let group = self.group(finding, |k| k == PositionKind::CallSecret)?;
        let secrets = group[0].block;
        let keys: Vec<Node<'_>> = group.iter().map(|p| p.key).collect();
        let mut out = FindingPlan::default();
        let holder = job
            .node
            .entry("secrets")
            .map(|(key, _)| Holder { map: job.node, key });
        steps::remove_entries(self.text, &mut out.plan, secrets, holder, &keys, None)?;
        let names: Vec<&str> = group.iter().map(|p| p.name()).collect();
        out.descriptions.push(format!(
            "{}: no longer passes {} to the reusable workflow",
            Self::where_(&job, None),
            names.join(", ")
        ));
        self.needs_token(&mut out, &job);
        Ok(out)
    }

    /// Rule `aws-keys-workflow-call-secret`: drop the declarations (all in one plan, so an
    /// emptied `secrets:` goes too).
    fn declarations(&self, findings: &[&Finding]) -> Result<FindingPlan, PlanError> {
        let call = self
            .workflow
            .workflow_call()
            .ok_or(ManualReason::NoWorkflowCall)?;
        let (holder_key, secrets) = call
            .entry("secrets")
            .ok_or(ManualReason::NoWorkflowCallSecrets)?;
        let keys: Vec<Node<'_>> = secrets
            .entries()
            .map(|(k, _)| k)
            .filter(|k| findings.iter().any(|f| f.span == k.span()))
            .collect();
        let names: Vec<&str> = keys.iter().filter_map(|k| k.as_str()).collect();
        let mut out = FindingPlan::default();
        steps::remove_entries(
            self.text,
            &mut out.plan,
            secrets,
            Some(Holder {
                map: call,
                key: holder_key,
            }),
            &keys,
            None,
        )?;
        out.descriptions.push(format!(
            "workflow_call: dropped the secret declarations {}",
            names.join(", ")
        ));
        out.notes.push(format!(
            "dropped workflow_call secrets {}: callers that still pass them (in other repositories too) fail with \"secret is not defined\" until they stop, and need `id-token: write`",
            names.join(", ")
        ));
        Ok(out)
    }

    /// Grants `id-token: write`, merges every plan, applies, and checks the result.
    fn finish(self, doc: &Document, outcome: &mut RewriteOutcome) -> Result<(), RewriteError> {
        let mut grants: Vec<(String, Grant)> = Vec::new();
        for accepted in &self.accepted {
            for id in &accepted.plan.jobs {
                if grants.iter().any(|(j, _)| j == id) {
                    continue;
                }
                let grant = match self
                    .workflow
                    .jobs()
                    .into_iter()
                    .find(|j| j.id == Some(id.as_str()))
                {
                    Some(job) => permissions::grant_id_token(
                        self.text,
                        &self.workflow,
                        &job,
                        &self.opts.local_workflows.seen_from(self.path),
                    ),
                    None => Grant::Impossible(format!("job {id} not found")),
                };
                grants.push((id.clone(), grant));
            }
        }
        let mut edits = EditSet::default();
        let mut changes = Changes::default();
        let mut live_jobs: Vec<String> = Vec::new();
        let mut inserted: HashMap<String, Vec<usize>> = HashMap::new();
        let mut applied: Vec<&Finding> = Vec::new();
        for accepted in self.accepted {
            let Accepted { finding, plan } = accepted;
            let blocked = plan.jobs.iter().find_map(|id| {
                grants.iter().find_map(|(j, g)| match g {
                    Grant::Impossible(reason) if j == id => {
                        Some(ManualReason::IdTokenNotGrantable {
                            reason: reason.clone(),
                        })
                    }
                    _ => None,
                })
            });
            if let Some(reason) = blocked {
                outcome.manual.push(manual_entry(finding, &reason));
                continue;
            }
            if edits.merge(&plan.plan.edits).is_err() {
                outcome
                    .manual
                    .push(manual_entry(finding, &ManualReason::EditsOverlap));
                continue;
            }
            changes.merge(plan.plan.changes);
            for (job, index) in &plan.inserted {
                inserted.entry(job.clone()).or_default().push(*index);
            }
            applied.push(finding);
            outcome
                .changes
                .extend(plan.descriptions.into_iter().map(|description| Change {
                    line: finding.line,
                    description,
                }));
            outcome.notes.extend(plan.notes);
            live_jobs.extend(plan.jobs);
        }
        for (id, grant) in grants {
            let Grant::Planned(perm) = grant else {
                continue;
            };
            if !live_jobs.contains(&id) {
                continue;
            }
            edits
                .merge(&perm.edits)
                .map_err(|o| RewriteError::Unverified {
                    path: self.path.to_string(),
                    reason: format!(
                        "the permissions edit of job {id} overlaps another edit at bytes {:?}",
                        o.first
                    ),
                })?;
            changes.merge(perm.changes);
            outcome.changes.push(Change {
                line: job_line(self.text, &self.workflow, &id),
                description: perm.description,
            });
            outcome.notes.extend(perm.note);
        }
        outcome.manual.sort_by_key(|m| (m.line, m.column));
        if edits.is_empty() {
            return Ok(());
        }
        let new_text = edits.apply(self.text);
        let refuse = |reason: String| RewriteError::Unverified {
            path: self.path.to_string(),
            reason,
        };
        verify::check(doc, &new_text, &changes).map_err(|m| {
            refuse(match m {
                verify::Mismatch::Unparsable(e) => {
                    format!("the rewritten text does not parse ({e})")
                }
                verify::Mismatch::Different => {
                    "the rewritten text does not parse to the intended change".to_string()
                }
            })
        })?;
        let output = Document::parse(&new_text)
            .map_err(|e| refuse(format!("the rewritten text does not parse ({})", e.message)))?;
        let output = Workflow::classify(&output);
        if let Some(left) = leftover_in(self.path, &new_text, output, &outcome.manual).first() {
            return Err(refuse(format!(
                "after the rewrite, scan still finds {left}"
            )));
        }
        let after = output.map(|w| flow::analyze(&w)).unwrap_or_default();
        let roles = &self.opts.roles;
        let repo = self.opts.repo.as_deref();
        let secret_names = self.secret_names;
        let proof = flow::compare::check(
            &self.flow,
            &after,
            |job| {
                let label = job.map_or_else(|| "(composite action)".to_string(), str::to_string);
                inserted.get(&label).cloned().unwrap_or_default()
            },
            |pair| {
                roles
                    .role_in(
                        repo,
                        pair.environment.as_deref(),
                        &roles::callers_names(secret_names, &pair.names()),
                    )
                    .ok()
                    .map(|(r, _)| r.as_str().to_string())
            },
        );
        match proof {
            Ok(rows) => {
                outcome.flow = rows;
                outcome.text = new_text;
            }
            Err(unproven) => {
                // Not proven: nothing is written, and every change becomes a finding for a person.
                let reason = ManualReason::FlowCheck(unproven);
                for finding in applied {
                    outcome.manual.push(manual_entry(finding, &reason));
                }
                outcome.manual.sort_by_key(|m| (m.line, m.column));
                outcome.changes.clear();
                outcome.notes.clear();
            }
        }
        Ok(())
    }
}

/// `auto` findings scan still reports on `text` that are not among the `manual` ones.
pub fn leftover_auto_findings(path: &str, text: &str, manual: &[ManualFinding]) -> Vec<String> {
    let Ok(doc) = Document::parse(text) else {
        return vec!["a file that does not parse".into()];
    };
    leftover_in(path, text, Workflow::classify(&doc), manual)
}

/// [`leftover_auto_findings`] on a text already parsed.
fn leftover_in(
    path: &str,
    text: &str,
    workflow: Option<Workflow<'_>>,
    manual: &[ManualFinding],
) -> Vec<String> {
    let Some(workflow) = workflow else {
        return Vec::new();
    };
    detect::detect_in(path, text, workflow)
        .into_iter()
        .filter(|f| f.fix.is_auto())
        .filter(|f| {
            !manual
                .iter()
                .any(|m| m.rule == f.rule && m.job == f.job && m.secrets == f.secrets)
        })
        .map(|f| {
            format!(
                "{} at line {} (job {})",
                f.rule,
                f.line,
                f.job.as_deref().unwrap_or("-")
            )
        })
        .collect()
}

fn job_line(text: &str, workflow: &Workflow<'_>, id: &str) -> usize {
    workflow
        .jobs()
        .iter()
        .find(|j| j.id == Some(id))
        .and_then(|j| j.key)
        .map_or(0, |k| LineIndex::new(text).line_col(text, k.span().start).0)
}

/// `role-chaining: true`, as a plain scalar in block and flow context alike.
fn chaining_entry() -> NewEntry<'static> {
    NewEntry {
        key: "role-chaining",
        block_text: "true".to_string(),
        flow_text: "true".to_string(),
        value: Value::plain("true"),
    }
}

fn role_entry(role: &RoleArn, style: Style) -> NewEntry<'static> {
    let flow_text = format!("\"{}\"", role.as_str());
    let value = if style == Style::Flow {
        Value::quoted(role.as_str())
    } else {
        Value::plain(role.as_str())
    };
    NewEntry {
        key: "role-to-assume",
        block_text: role.as_str().to_string(),
        flow_text,
        value,
    }
}

/// The condition a configure step inserted before `from` must carry: none when a step it
/// serves (up to the next configure step) runs unconditionally, else the OR of their `if:`s,
/// so it runs exactly where they may and needs no token where all of them were skipped.
fn served_condition(model: &flow::FileFlow, job: Option<&str>, from: usize) -> Option<String> {
    let job = model.job(job)?;
    let mut conditions: Vec<String> = Vec::new();
    let mut unconditional = false;
    for step in job.steps.iter().skip_while(|s| s.index < from) {
        if step.consumption == flow::Consumption::Configure {
            break;
        }
        if !step.consumes() && step.index != from {
            continue;
        }
        let Some(condition) = step.condition.as_deref() else {
            unconditional = true;
            continue;
        };
        // Evaluated here, before the step, it could come out otherwise than at the step (a
        // later step's output or export, a failure in between): run whatever happened.
        if flow::guards::decided_later(condition) {
            return Some(flow::guards::ALWAYS.to_string());
        }
        let c = crate::expr::unwrap_expression(condition);
        if !conditions.contains(&c) {
            conditions.push(c);
        }
    }
    if unconditional {
        return None;
    }
    match conditions.len() {
        0 => None,
        1 => conditions.pop(),
        _ => Some(
            conditions
                .iter()
                .map(|c| format!("({c})"))
                .collect::<Vec<_>>()
                .join(" || "),
        ),
    }
}

/// `served` restricted to runs that get an OIDC token, where the workflow has others. There the
/// keys were empty too (GitHub passes no secrets to forks, Dependabot gets its own), so the
/// steps it serves fail or pass exactly as before, and the job does not fail at this step.
fn with_token_guard(served: Option<String>, guard: Option<&str>) -> Option<String> {
    let Some(guard) = guard else {
        return served;
    };
    Some(match served {
        Some(c) => format!("{guard} && ({c})"),
        None => guard.to_string(),
    })
}

/// The file's indentation step: a job's keys minus the job id's column, else 2.
fn file_indent_unit(text: &str, workflow: &Workflow<'_>) -> usize {
    if workflow.kind != FileKind::Workflow {
        return 2;
    }
    workflow
        .jobs()
        .iter()
        .find_map(|j| {
            let inner = layout::entry_indent(text, j.node)?;
            inner
                .checked_sub(layout::column(text, j.key?.span().start))
                .filter(|&u| u > 0)
        })
        .unwrap_or(2)
}
