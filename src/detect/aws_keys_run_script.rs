//! Rule `aws-keys-run-script`: key material interpolated into a `run:` script
//! (`aws configure set aws_access_key_id ${{ secrets.X }}`, `export ...`, `-var`, `--key`).

use super::names;
use super::sources::{self, Scopes};
use super::{FileContext, Finding, FindingSpec, Fix, Rule, Severity};
use crate::expr;
use crate::yaml::Span;

pub struct RunScriptKeys;

/// Words on a script line that mean the expression on it is an AWS credential.
const KEY_CONTEXT: &[&str] = &[
    "aws_access_key_id",
    "aws_secret_access_key",
    "aws_session_token",
    "access_key",
    "secret_key",
    "--key",
    "--secret",
    "-var",
];

impl Rule for RunScriptKeys {
    fn id(&self) -> &'static str {
        "aws-keys-run-script"
    }

    fn summary(&self) -> &'static str {
        "AWS keys are interpolated into a run: script"
    }

    fn check(&self, cx: &FileContext<'_>, out: &mut Vec<Finding>) {
        for job in cx.workflow.jobs() {
            for step in job.steps() {
                let Some(run) = step.run() else { continue };
                let Some(script) = run.as_str() else { continue };
                let scopes = Scopes::step(&cx.workflow, &job, &step);
                let mut refs = Vec::new();
                let mut first_expr: Option<&str> = None;
                for block in expr::expression_blocks(script) {
                    let text = &script[block.clone()];
                    let resolved = sources::resolve(text, &scopes);
                    if resolved.refs.is_empty() {
                        continue;
                    }
                    let line = line_around(script, block.start).to_ascii_lowercase();
                    let key_like = resolved
                        .refs
                        .iter()
                        .any(|r| names::looks_like_aws_key_name(&r.name))
                        || KEY_CONTEXT.iter().any(|w| line.contains(w));
                    if key_like {
                        first_expr.get_or_insert(text);
                        refs.extend(resolved.refs);
                    }
                }
                let Some(first_expr) = first_expr else {
                    continue;
                };
                // Point at the expression in the source; block scalars lose indentation
                // when parsed, so search the raw text of the node.
                let node = run.span();
                let start = cx.text[node.start..node.end]
                    .find(first_expr)
                    .map_or(node.start, |at| node.start + at);
                let span = Span::new(start, start + first_expr.len());
                out.push(cx.finding(FindingSpec {
                    rule: self.id(),
                    severity: Severity::Medium,
                    span,
                    entry: None,
                    job: Some(&job),
                    step: Some(&step),
                    message: format!("a run: script uses AWS keys from {}", super::describe_refs(&refs)),
                    references: refs,
                    fix: Fix::Manual,
                    reason: "the script handles the keys itself: insert a configure-aws-credentials step and drop the key handling by hand".into(),
                }));
            }
        }
    }
}

fn line_around(text: &str, at: usize) -> &str {
    let start = text[..at].rfind('\n').map_or(0, |i| i + 1);
    let end = text[at..].find('\n').map_or(text.len(), |i| at + i);
    &text[start..end]
}
