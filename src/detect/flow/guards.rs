//! Conditions: `if:` expressions that read the key material (they turn a step off once the
//! secrets are deleted), and conditions that confine a job or step to runs that get no OIDC
//! token (fork pull requests, Dependabot).

use crate::detect::names;
use crate::detect::sources::{self, Scopes};
use crate::expr::{self, Context, Reference};
use crate::workflow::{Job, Step};

/// What to write instead of a guard on the keys: true exactly where an OIDC token exists.
pub const TOKEN_AVAILABLE: &str =
    "github.event.pull_request.head.repo.fork != true && github.actor != 'dependabot[bot]'";

/// [`TOKEN_AVAILABLE`] for a workflow that also runs on `pull_request_target`, whose runs for
/// fork pull requests do get a token (and the repository's secrets).
pub const TOKEN_AVAILABLE_WITH_TARGET: &str = "(github.event.pull_request.head.repo.fork != true || github.event_name == 'pull_request_target') && github.actor != 'dependabot[bot]'";

/// Every guard [`token_guard`] writes.
pub const TOKEN_GUARDS: [&str; 2] = [TOKEN_AVAILABLE, TOKEN_AVAILABLE_WITH_TARGET];

/// The condition that is false exactly where this workflow's runs get no OIDC token, or
/// `None` when every run gets one.
pub fn token_guard(workflow: &crate::workflow::Workflow<'_>) -> Option<&'static str> {
    if !has_tokenless_runs(workflow) {
        return None;
    }
    let triggers = crate::facts::Triggers::from_on(workflow.on());
    Some(if triggers.pull_request_target {
        TOKEN_AVAILABLE_WITH_TARGET
    } else {
        TOKEN_AVAILABLE
    })
}

/// Whether some runs of this workflow get no OIDC token: pull request events (forks and
/// Dependabot), pushes to any branch (Dependabot's), and reusable workflows (their caller's
/// event). Pushes to named branches or tags, schedules and manual runs always get one.
pub fn has_tokenless_runs(workflow: &crate::workflow::Workflow<'_>) -> bool {
    let triggers = crate::facts::Triggers::from_on(workflow.on());
    let open_push = triggers.push.as_ref().is_some_and(|p| {
        (p.branches.is_empty() && p.tags.is_empty()) || p.branches.iter().any(|b| b.contains('*'))
    });
    workflow.kind == crate::workflow::FileKind::CompositeAction
        || triggers.pull_request.is_some()
        || triggers.workflow_call
        || open_push
        || triggers
            .events
            .iter()
            .any(|e| e.starts_with("pull_request_review") || e == "merge_group")
}

/// The condition of an inserted step that must run whatever happened before it.
pub const ALWAYS: &str = "always()";

/// Whether a condition's value depends on what happens between an inserted step and the step
/// it serves: outputs and exports of steps, or the job's status (`always()`, `failure()`...).
pub fn decided_later(condition: &str) -> bool {
    [
        "steps.",
        "env.",
        "always()",
        "failure()",
        "cancelled()",
        "job.status",
    ]
    .iter()
    .any(|w| condition.contains(w))
}

/// The references of an `if:` (which may or may not be wrapped in `${{ }}`).
fn condition_refs(condition: &str) -> Vec<Reference> {
    if condition.contains("${{") {
        expr::references(condition)
            .into_iter()
            .map(|l| l.reference)
            .collect()
    } else {
        expr::references_in_expression(condition)
    }
}

/// The key material an `if:` reads: env variables or secrets named like keys, an env entry
/// set from such a secret, or a step output computed from one.
pub fn reads_keys(condition: &str, scopes: &Scopes<'_>, job: &Job<'_>) -> Option<String> {
    for reference in condition_refs(condition) {
        let Reference::Named { context, name } = reference else {
            continue;
        };
        match context {
            Context::Secrets if names::looks_like_aws_key_name(&name) => {
                return Some(format!("secrets.{name}"));
            }
            Context::Env => {
                if names::env_key_part(&name).is_some() || names::looks_like_aws_key_name(&name) {
                    return Some(format!("env.{name}"));
                }
                let resolved = sources::resolve(&format!("${{{{ env.{name} }}}}"), scopes);
                if let Some(r) = resolved.refs.iter().find(|r| {
                    r.context == Context::Secrets && names::looks_like_aws_key_name(&r.name)
                }) {
                    return Some(format!("env.{name} (from secrets.{})", r.name));
                }
            }
            _ => {}
        }
    }
    // Step outputs are not an expression context the tokenizer knows: find `steps.ID.`.
    let mut rest = condition;
    while let Some(at) = rest.find("steps.") {
        let after = &rest[at + "steps.".len()..];
        let id: String = after
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '-')
            .collect();
        if let Some(source) = job
            .steps()
            .into_iter()
            .find(|s| s.id() == Some(id.as_str()))
            && step_reads_key_secret(&source)
        {
            return Some(format!("steps.{id} (computed from the key secrets)"));
        }
        rest = after;
    }
    None
}

fn step_reads_key_secret(step: &Step<'_>) -> bool {
    let mut texts: Vec<&str> = Vec::new();
    if let Some(run) = step.run().and_then(|r| r.as_str()) {
        texts.push(run);
    }
    for block in [step.env(), step.with()].into_iter().flatten() {
        texts.extend(block.entries().filter_map(|(_, v)| v.as_str()));
    }
    texts.iter().any(|t| {
        expr::references(t).into_iter().any(|l| {
            matches!(&l.reference, Reference::Named { context: Context::Secrets, name } if names::looks_like_aws_key_name(name))
        })
    })
}

/// Whether a condition confines its job or step to runs without an OIDC token.
pub fn only_without_token(condition: &str) -> Option<&'static str> {
    let c: String = condition.split_whitespace().collect::<Vec<_>>().join(" ");
    let dependabot_only = (c.contains("github.actor == 'dependabot[bot]'")
        || c.contains("github.actor == \"dependabot[bot]\"")
        || c.contains("github.triggering_actor == 'dependabot[bot]'"))
        && !c.contains("||");
    if dependabot_only {
        return Some(
            "it runs only for Dependabot, whose runs get no OIDC token (and read Dependabot secrets)",
        );
    }
    let fork_only = (c.contains("head.repo.fork == true")
        || c.contains("head.repo.full_name != github.repository"))
        && !c.contains("||");
    fork_only.then_some("it runs only for pull requests from forks, which get no OIDC token")
}
