//! Detection: the rules that find static AWS key material in one parsed workflow or
//! composite action, and the finding type they produce. Pure: no I/O here.

pub mod flow;
pub mod names;
pub mod positions;
pub mod region;
pub mod sources;
pub mod token_scopes;

pub mod aws_key_literal;
mod aws_keys_action_input;
mod aws_keys_configure_credentials;
mod aws_keys_dynamic_secret;
mod aws_keys_env;
mod aws_keys_passed_to_workflow;
mod aws_keys_run_script;
mod aws_keys_service_container;
mod aws_keys_workflow_call_secret;

use crate::expr::Context;
use crate::source::LineIndex;
use crate::workflow::{Job, Step, Workflow};
use crate::yaml::Span;

pub use aws_keys_passed_to_workflow::{
    CalleeKeys, ID as PASSED_TO_WORKFLOW, InheritCall, inherit_calls, link_inherited_secrets,
};
pub use aws_keys_workflow_call_secret::ID as WORKFLOW_CALL_SECRET;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    Low,
    Medium,
    High,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Info => "info",
            Self::Low => "low",
            Self::Medium => "medium",
            Self::High => "high",
        }
    }
}

/// Whether `migrate rewrite` can fix a finding on its own, and how: each rule names the
/// rewrite its finding gets, so the rewriter never decides by rule id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fix {
    Auto(Remedy),
    /// Left to a person, for the finding's `reason`.
    Manual,
}

/// The rewrite an automatic finding gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Remedy {
    /// A configure-aws-credentials step: its key inputs become `role-to-assume`.
    ConfigureStep,
    /// Keys in an `env:` block: the entries go and a configure step goes before the steps that
    /// read them.
    EnvBlock,
    /// docker/login-action signing in to ECR with the keys: username/password go and the role's
    /// credentials sign in.
    EcrLogin,
    /// A caller passing the keys to a local reusable workflow: they leave its `secrets:`.
    Caller,
    /// A reusable workflow declaring the keys under `on.workflow_call.secrets`: the
    /// declarations go.
    Declaration,
}

impl Fix {
    pub fn is_auto(self) -> bool {
        matches!(self, Self::Auto(_))
    }

    /// `auto` or `manual`, as the reports and the versioned JSON name it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Auto(_) => "auto",
            Self::Manual => "manual",
        }
    }
}

impl serde::Serialize for Fix {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct StepRef {
    /// 0-based index in the job's `steps:`.
    pub index: usize,
    pub name: Option<String>,
}

/// A named value a finding reads: `secrets.X`, `vars.X`, `inputs.X`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
pub struct SourceRef {
    pub context: Context,
    pub name: String,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct Finding {
    pub rule: &'static str,
    pub severity: Severity,
    /// `OWNER/REPO` for findings read from GitHub.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub repository: Option<String>,
    pub path: String,
    pub line: usize,
    pub column: usize,
    pub job: Option<String>,
    pub step: Option<StepRef>,
    /// Names of the secrets and variables involved.
    pub secrets: Vec<String>,
    pub references: Vec<SourceRef>,
    pub fix: Fix,
    pub reason: String,
    pub message: String,
    /// Steps that read the key material (for `env:` findings).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub consumers: Vec<String>,
    /// The offending value's bytes in the file.
    #[serde(skip)]
    pub span: Span,
    /// The whole `key: value` entry, when the finding is one (for the rewriter).
    #[serde(skip)]
    pub entry: Option<Span>,
    /// The source line the finding points at, for snippets.
    #[serde(skip)]
    pub snippet: String,
    /// Found by linking files (a `secrets: inherit` caller), not by looking at this file alone.
    #[serde(skip)]
    pub cross_file: bool,
    /// For a caller of a local reusable workflow: the callee as written.
    #[serde(skip)]
    pub callee: Option<String>,
}

impl Finding {
    /// Leaves the finding to a person, for `reason` (a class id first where there is one).
    pub fn leave_to_person(&mut self, reason: String) {
        self.fix = Fix::Manual;
        self.reason = reason;
    }

    /// [`Self::leave_to_person`], decided by looking across files: `rewrite` takes this verdict
    /// over the one it reaches on the file alone.
    pub fn leave_to_person_linked(&mut self, reason: String) {
        self.leave_to_person(reason);
        self.cross_file = true;
    }
}

/// The reason of a finding whose job would lose a token scope it uses (scan and rewrite agree).
pub fn token_permissions_reason(why: &str) -> String {
    format!("token-permissions: cannot grant `id-token: write`: {why}")
}

/// One rule: a stable kebab-case id and a check over a file.
pub trait Rule: Sync {
    fn id(&self) -> &'static str;
    fn summary(&self) -> &'static str;
    fn check(&self, cx: &FileContext<'_>, out: &mut Vec<Finding>);
}

/// Every rule, in the order their findings are reported.
pub fn rules() -> &'static [&'static dyn Rule] {
    &[
        &aws_keys_configure_credentials::ConfigureCredentialsKeys,
        &aws_keys_env::EnvKeys,
        &aws_keys_action_input::ActionInputKeys,
        &aws_keys_run_script::RunScriptKeys,
        &aws_keys_workflow_call_secret::WorkflowCallSecrets,
        &aws_keys_passed_to_workflow::PassedToWorkflow,
        &aws_key_literal::LiteralKey,
        &aws_keys_dynamic_secret::DynamicSecret,
        &aws_keys_service_container::ServiceContainerKeys,
    ]
}

/// What a rule sees of one file.
pub struct FileContext<'a> {
    pub path: &'a str,
    pub text: &'a str,
    pub lines: &'a LineIndex,
    pub workflow: Workflow<'a>,
    /// The key positions every rule walks, found once per file on first use.
    positions: std::cell::OnceCell<Vec<positions::KeyPosition<'a>>>,
    /// The credential-flow model, built on first use (only files with findings need it).
    flow: std::cell::OnceCell<flow::FileFlow>,
}

/// Arguments for [`FileContext::finding`] that most findings leave at their defaults.
pub struct FindingSpec<'s> {
    pub rule: &'static str,
    pub severity: Severity,
    pub span: Span,
    pub entry: Option<Span>,
    pub job: Option<&'s Job<'s>>,
    pub step: Option<&'s Step<'s>>,
    pub references: Vec<SourceRef>,
    pub fix: Fix,
    pub reason: String,
    pub message: String,
}

impl<'a> FileContext<'a> {
    pub fn new(path: &'a str, text: &'a str, lines: &'a LineIndex, workflow: Workflow<'a>) -> Self {
        Self {
            path,
            text,
            lines,
            workflow,
            positions: std::cell::OnceCell::new(),
            flow: std::cell::OnceCell::new(),
        }
    }

    /// The flow model if something already needed it.
    pub fn built_flow(&self) -> Option<&flow::FileFlow> {
        self.flow.get()
    }

    pub fn flow(&self) -> &flow::FileFlow {
        self.flow.get_or_init(|| flow::analyze(&self.workflow))
    }

    /// The positions and flow model, for a rewrite that plans from the same analysis.
    pub fn into_analysis(self) -> (Vec<positions::KeyPosition<'a>>, flow::FileFlow) {
        let workflow = self.workflow;
        (
            self.positions
                .into_inner()
                .unwrap_or_else(|| positions::key_positions(&workflow)),
            self.flow
                .into_inner()
                .unwrap_or_else(|| flow::analyze(&workflow)),
        )
    }

    /// Where the file holds key material (env entries, action inputs, call secrets).
    pub fn positions(&self) -> &[positions::KeyPosition<'a>] {
        self.positions
            .get_or_init(|| positions::key_positions(&self.workflow))
    }

    pub fn finding(&self, spec: FindingSpec<'_>) -> Finding {
        let (line, column) = self.lines.line_col(self.text, spec.span.start);
        let mut references = spec.references;
        references.sort();
        references.dedup();
        let mut secrets: Vec<String> = references.iter().map(|r| r.name.clone()).collect();
        secrets.dedup();
        Finding {
            rule: spec.rule,
            severity: spec.severity,
            repository: None,
            path: self.path.to_string(),
            line,
            column,
            job: spec.job.and_then(|j| j.id.map(str::to_string)),
            step: spec.step.map(|s| StepRef {
                index: s.index,
                name: s.name().map(str::to_string),
            }),
            secrets,
            references,
            fix: spec.fix,
            reason: spec.reason,
            message: spec.message,
            consumers: Vec::new(),
            span: spec.span,
            entry: spec.entry,
            snippet: self.lines.line_text(self.text, line).to_string(),
            cross_file: false,
            callee: None,
        }
    }
}

/// Runs every rule over one file; findings come back in file order.
/// Findings of one parsed file, for callers that need nothing else from its context.
pub fn detect_in(path: &str, text: &str, workflow: Workflow<'_>) -> Vec<Finding> {
    let lines = LineIndex::new(text);
    detect(&FileContext::new(path, text, &lines, workflow))
}

pub fn detect(cx: &FileContext<'_>) -> Vec<Finding> {
    let mut out = Vec::new();
    for rule in rules() {
        rule.check(cx, &mut out);
    }
    if !out.is_empty() {
        apply_flow(cx.flow(), &mut out);
        apply_permissions(cx, &mut out);
    }
    settle_declarations(&mut out);
    out.sort_by(|a, b| (a.line, a.column, a.rule).cmp(&(b.line, b.column, b.rule)));
    out
}

/// The credential-flow verdicts: a finding in a job whose move cannot be proven safe is
/// `manual` with the blocker's reason; keys that are not AWS keys are `info`, never touched.
fn apply_flow(model: &flow::FileFlow, findings: &mut [Finding]) {
    for f in findings.iter_mut() {
        let not_aws = model.blockers.iter().find(|b| {
            b.class == flow::BlockerClass::NotAws
                && b.pair.as_ref().is_some_and(|p| {
                    let names = p.names();
                    !f.secrets.is_empty() && f.secrets.iter().all(|s| names.contains(s))
                })
        });
        if let Some(b) = not_aws {
            f.severity = Severity::Info;
            f.leave_to_person(format!("not-aws: {}", b.reason));
            continue;
        }
        if !f.fix.is_auto() {
            continue;
        }
        if let Some(b) = model.blocker_for(f.job.as_deref(), f.step.as_ref().map(|s| s.index)) {
            f.leave_to_person(format!("{}: {}", b.class.id(), b.reason));
        }
    }
}

/// A job whose token permissions the rewrite cannot keep (a scope it cannot tell) is not
/// `auto`. Jobs that call a local reusable workflow are judged when the callee is known
/// (`scan`'s cross-file pass), since its permissions count too.
fn apply_permissions(cx: &FileContext<'_>, findings: &mut [Finding]) {
    let callees = crate::rewrite::permissions::Callees::none();
    for job in cx.workflow.jobs() {
        let Some(id) = job.id else { continue };
        if job.reusable_call().is_some_and(|u| u.local) {
            continue;
        }
        // Workflow-level findings reach every job that may use AWS.
        let uses_aws = job
            .steps()
            .iter()
            .any(|s| sources::step_aws_use(s) != sources::AwsUse::No);
        let reached = |f: &Finding| {
            f.fix.is_auto() && (f.job.as_deref() == Some(id) || (f.job.is_none() && uses_aws))
        };
        if !findings.iter().any(reached) {
            continue;
        }
        let Some(reason) =
            crate::rewrite::permissions::permissions_blocker(cx.text, &cx.workflow, &job, &callees)
        else {
            continue;
        };
        for f in findings.iter_mut().filter(|f| reached(f)) {
            f.leave_to_person(token_permissions_reason(&reason));
        }
    }
}

/// A `workflow_call` secret declaration can only be dropped when nothing that still
/// needs a person reads that secret.
fn settle_declarations(findings: &mut [Finding]) {
    let manual_uses: Vec<(String, usize)> = findings
        .iter()
        .filter(|f| f.fix == Fix::Manual && f.rule != WORKFLOW_CALL_SECRET)
        .flat_map(|f| {
            f.references
                .iter()
                .filter(|r| r.context == Context::Secrets)
                .map(move |r| (r.name.clone(), f.line))
        })
        .collect();
    for f in findings
        .iter_mut()
        .filter(|f| f.rule == WORKFLOW_CALL_SECRET)
    {
        if let Some((_, line)) = manual_uses
            .iter()
            .find(|(name, _)| f.secrets.contains(name))
        {
            f.fix = Fix::Manual;
            f.reason =
                format!("the secret is still read by a finding that needs a person (line {line})");
        }
    }
}

/// Groups key positions by the mapping that holds them (one finding per `with:`/`env:`).
pub(crate) fn group_by_block<'p, 'd>(
    positions: &[&'p positions::KeyPosition<'d>],
) -> Vec<Vec<&'p positions::KeyPosition<'d>>> {
    let mut groups: Vec<Vec<&positions::KeyPosition<'d>>> = Vec::new();
    for p in positions {
        match groups.iter_mut().find(|g| g[0].block == p.block) {
            Some(group) => group.push(p),
            None => groups.push(vec![p]),
        }
    }
    groups
}

/// A short, human description of where key material comes from.
pub(crate) fn describe_refs(refs: &[SourceRef]) -> String {
    let names: Vec<String> = refs
        .iter()
        .map(|r| format!("{}.{}", r.context.as_str(), r.name))
        .collect();
    names.join(", ")
}

/// Why a finding must be `manual` whatever its rule: the edit would go through YAML anchors
/// (and show through every alias), or the key material arrives as inputs of the action or
/// workflow itself, so its callers hold the real secrets.
pub(crate) fn blocking_reason(
    node: crate::yaml::Node<'_>,
    what: &str,
    refs: &[SourceRef],
) -> Option<String> {
    if node.touches_anchor() || node.shared_through_anchor() {
        return Some(format!(
            "the {what} uses YAML anchors or aliases; edit it by hand"
        ));
    }
    refs.iter().any(|r| r.context == Context::Inputs).then(|| {
        "keys arrive as inputs of this action/workflow: migrate its callers to OIDC and drop these inputs".to_string()
    })
}
