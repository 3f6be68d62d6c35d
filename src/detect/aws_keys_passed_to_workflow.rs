//! Rule `aws-keys-passed-to-workflow`: a job passes AWS key secrets to a reusable workflow,
//! by explicit `secrets:` mapping here, or by `secrets: inherit` to a local workflow that
//! uses them (linked across files by [`link_inherited_secrets`]).

use super::positions::PositionKind;
use super::{FileContext, Finding, FindingSpec, Fix, Remedy, Rule, Severity, group_by_block};

pub struct PassedToWorkflow;

pub const ID: &str = "aws-keys-passed-to-workflow";

impl Rule for PassedToWorkflow {
    fn id(&self) -> &'static str {
        ID
    }

    fn summary(&self) -> &'static str {
        "a job passes AWS key secrets to a reusable workflow"
    }

    fn check(&self, cx: &FileContext<'_>, out: &mut Vec<Finding>) {
        let all = cx.positions();
        let ours: Vec<_> = all
            .iter()
            .filter(|p| p.kind == PositionKind::CallSecret)
            .collect();
        for group in group_by_block(&ours) {
            let first = group[0];
            let Some(job) = first.job.as_ref() else {
                continue;
            };
            let Some(callee) = job.reusable_call() else {
                continue;
            };
            let refs: Vec<_> = group
                .iter()
                .flat_map(|p| p.resolved.refs.iter().cloned())
                .collect();
            let passed: Vec<&str> = group.iter().map(|p| p.name()).collect();
            let (fix, reason) = if callee.local {
                (
                    Fix::Auto(Remedy::Caller),
                    format!(
                        "the local callee {} is rewritten in the same run; these secrets are dropped and the job gets `id-token: write`",
                        callee.raw
                    ),
                )
            } else {
                (
                    Fix::Manual,
                    format!(
                        "the callee {} lives in another repository: migrate it to OIDC first, then drop these secrets and grant `id-token: write` here",
                        callee.raw
                    ),
                )
            };
            let mut finding = cx.finding(FindingSpec {
                rule: ID,
                severity: Severity::Medium,
                span: first.value.span(),
                entry: None,
                job: Some(job),
                step: None,
                message: format!(
                    "job passes {} to reusable workflow {}",
                    passed.join(", "),
                    callee.raw
                ),
                references: refs,
                fix,
                reason,
            });
            finding.callee = callee.local.then(|| callee.raw.trim().to_string());
            out.push(finding);
        }
    }
}

/// A job that calls a local reusable workflow with `secrets: inherit`.
#[derive(Debug, Clone)]
pub struct InheritCall {
    pub job: String,
    /// The callee as written (`./.github/workflows/aws.yml`).
    pub callee: String,
    pub line: usize,
    pub column: usize,
    pub snippet: String,
}

/// Callers that inherit all secrets into a local callee: recorded per file, linked later.
pub fn inherit_calls(cx: &FileContext<'_>) -> Vec<InheritCall> {
    let mut out = Vec::new();
    for job in cx.workflow.jobs() {
        let (Some(callee), Some(secrets)) = (job.reusable_call(), job.call_secrets()) else {
            continue;
        };
        if callee.local && secrets.as_str() == Some("inherit") {
            let (line, column) = cx.lines.line_col(cx.text, secrets.span().start);
            out.push(InheritCall {
                job: job.label(),
                callee: callee.raw.trim().to_string(),
                line,
                column,
                snippet: cx.lines.line_text(cx.text, line).to_string(),
            });
        }
    }
    out
}

/// The per-file facts [`link_inherited_secrets`] needs about a callee.
pub struct CalleeKeys<'a> {
    pub secrets: Vec<String>,
    pub all_auto: bool,
    pub findings: &'a [Finding],
}

impl CalleeKeys<'_> {
    /// Rules the callee's findings came from (for the caller's message).
    pub fn rules(&self) -> Vec<&'static str> {
        let mut rules: Vec<&'static str> = self.findings.iter().map(|f| f.rule).collect();
        rules.sort_unstable();
        rules.dedup();
        rules
    }
}

/// Turns `secrets: inherit` calls into findings when the local callee uses AWS keys.
/// `callee_keys` looks a callee up by its path relative to the caller's repository root.
pub fn link_inherited_secrets<'a>(
    caller_path: &str,
    calls: &[InheritCall],
    callee_keys: impl Fn(&str) -> Option<CalleeKeys<'a>>,
) -> Vec<Finding> {
    let mut out = Vec::new();
    for call in calls {
        let Some(callee) = callee_keys(&call.callee) else {
            continue;
        };
        if callee.secrets.is_empty() {
            continue;
        }
        let refs: Vec<super::SourceRef> = callee
            .secrets
            .iter()
            .map(|name| super::SourceRef {
                context: crate::expr::Context::Secrets,
                name: name.clone(),
            })
            .collect();
        let (fix, reason) = if callee.all_auto {
            (
                Fix::Auto(Remedy::Caller),
                format!(
                    "{} is rewritten in the same run; the job gets `id-token: write`",
                    call.callee
                ),
            )
        } else {
            (
                Fix::Manual,
                format!(
                    "{} has findings that need a person; migrate it first",
                    call.callee
                ),
            )
        };
        out.push(Finding {
            rule: ID,
            severity: Severity::Medium,
            repository: None,
            path: caller_path.to_string(),
            line: call.line,
            column: call.column,
            job: Some(call.job.clone()),
            step: None,
            secrets: callee.secrets.clone(),
            references: refs,
            fix,
            reason,
            message: format!(
                "job inherits all secrets into {}, which uses AWS keys {} ({})",
                call.callee,
                callee.secrets.join(", "),
                callee.rules().join(", ")
            ),
            consumers: Vec::new(),
            span: crate::yaml::Span::default(),
            entry: None,
            snippet: call.snippet.clone(),
            cross_file: true,
            callee: None,
        });
    }
    out
}
