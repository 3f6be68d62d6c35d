//! Giving a job `id-token: write` without taking away any scope it had: a job map gains the
//! entry; a job that inherited the workflow's map gets a copy of it plus the entry; a job
//! on repository defaults gets `contents: read` too (with a note on what else it may use);
//! `read-all` becomes an explicit read map; `write-all` already grants it.

use super::edits::EditSet;
use super::layout;
use super::verify::{Changes, Value};
use crate::workflow::{Job, Workflow};
use crate::yaml::{Node, Style};

/// The trailing comment written on every added `id-token: write`; it also keeps zizmor's
/// `undocumented-permissions` audit quiet.
pub const ID_TOKEN_COMMENT: &str = "# needed by aws-actions/configure-aws-credentials (OIDC)";

/// Every scope `read-all` grants read access to (`id-token` has no read level).
pub const READ_ALL_SCOPES: &[&str] = &[
    "actions",
    "attestations",
    "checks",
    "contents",
    "deployments",
    "discussions",
    "issues",
    "models",
    "packages",
    "pages",
    "pull-requests",
    "repository-projects",
    "security-events",
    "statuses",
];

/// Actions that act on the repository with `GITHUB_TOKEN` and need more than `contents: read`.
const TOKEN_WRITING_ACTIONS: &[&str] = &[
    "actions/create-release",
    "actions/upload-release-asset",
    "actions/github-script",
    "softprops/action-gh-release",
    "ncipollo/release-action",
    "peter-evans/create-pull-request",
    "peter-evans/create-or-update-comment",
    "marocchino/sticky-pull-request-comment",
    "stefanzweifel/git-auto-commit-action",
    "EndBug/add-and-commit",
    "actions/deploy-pages",
    "JamesIves/github-pages-deploy-action",
    "peaceiris/actions-gh-pages",
];

#[derive(Debug, Default)]
pub struct PermissionPlan {
    pub edits: EditSet,
    pub changes: Changes,
    pub description: String,
    pub note: Option<String>,
}

#[derive(Debug)]
pub enum Grant {
    /// The job already ends up with `id-token: write`.
    AlreadyGranted,
    Planned(Box<PermissionPlan>),
    /// Cannot be done safely; the reason says why.
    Impossible(String),
}

/// Plans the edits that give `job` `id-token: write`.
pub fn grant_id_token(text: &str, workflow: &Workflow<'_>, job: &Job<'_>) -> Grant {
    let label = job.label();
    if let Some(perms) = job.permissions() {
        if perms.touches_anchor() {
            return Grant::Impossible(format!(
                "the permissions of job {label} use YAML anchors or aliases"
            ));
        }
        return match scalar_keyword(perms) {
            Some("write-all") => Grant::AlreadyGranted,
            Some("read-all") => replace_with_read_all(text, job, perms),
            Some(other) => Grant::Impossible(format!(
                "job {label} has `permissions: {other}`, which is not a known value"
            )),
            None => add_to_map(text, perms, &label),
        };
    }
    if job.key.is_none() {
        return Grant::Impossible("a composite action has no permissions of its own".into());
    }
    match workflow.permissions() {
        Some(wf) if wf.touches_anchor() => {
            Grant::Impossible("the workflow's permissions use YAML anchors or aliases".to_string())
        }
        Some(wf) => match scalar_keyword(wf) {
            Some("write-all") => Grant::AlreadyGranted,
            Some("read-all") => {
                let entries: Vec<(String, String, Value)> = READ_ALL_SCOPES
                    .iter()
                    .map(|s| (s.to_string(), "read".to_string(), Value::plain("read")))
                    .collect();
                add_job_map(
                    text,
                    job,
                    entries,
                    format!(
                        "job {label}: added `permissions:` spelling out the workflow's `read-all` plus `id-token: write`"
                    ),
                    None,
                )
            }
            Some(other) => Grant::Impossible(format!(
                "the workflow has `permissions: {other}`, which is not a known value"
            )),
            None => {
                if wf.get_str("id-token") == Some("write") {
                    return Grant::AlreadyGranted;
                }
                let mut entries = Vec::new();
                for (k, v) in wf.entries().filter(|(k, _)| k.as_str() != Some("id-token")) {
                    let (Some(ktext), Some(vtext)) =
                        (single_line_scalar(text, k), single_line_scalar(text, v))
                    else {
                        return Grant::Impossible(
                            "the workflow's permissions map has an entry that cannot be copied"
                                .into(),
                        );
                    };
                    entries.push((ktext.to_string(), vtext.to_string(), Value::of(v)));
                }
                add_job_map(
                    text,
                    job,
                    entries,
                    format!(
                        "job {label}: added `permissions:` copying the workflow's map plus `id-token: write` (a job map replaces the workflow's)"
                    ),
                    None,
                )
            }
        },
        None => {
            let uses = token_users(text, job);
            let note = if uses.is_empty() {
                format!(
                    "job {label} had no `permissions:` and ran with the repository's default token scopes; it now gets only `contents: read` and `id-token: write`, and nothing in it seems to need more"
                )
            } else {
                format!(
                    "job {label} had no `permissions:` and ran with the repository's default token scopes; it now gets only `contents: read` and `id-token: write`, but it uses {}: add the scopes they need",
                    uses.join(", ")
                )
            };
            add_job_map(
                text,
                job,
                vec![("contents".into(), "read".into(), Value::plain("read"))],
                format!(
                    "job {label}: added `permissions:` with `contents: read` and `id-token: write`"
                ),
                Some(note),
            )
        }
    }
}

fn scalar_keyword<'d>(node: Node<'d>) -> Option<&'d str> {
    if node.is_mapping() {
        None
    } else {
        Some(
            node.as_str()
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .unwrap_or("(null)"),
        )
    }
}

fn single_line_scalar<'t>(text: &'t str, node: Node<'_>) -> Option<&'t str> {
    let span = node.span();
    let src = &text[span.start..span.end];
    (node.as_str().is_some()
        && !node.is_alias()
        && !matches!(node.style(), Style::Literal | Style::Folded)
        && !src.is_empty()
        && !src.contains('\n'))
    .then_some(src)
}

/// `GITHUB_TOKEN` uses and token-writing actions in a job, for the dropped-defaults note.
fn token_users(text: &str, job: &Job<'_>) -> Vec<String> {
    let span = job.node.span();
    let body = &text[span.start..span.end];
    let mut out = Vec::new();
    if body.contains("GITHUB_TOKEN") || body.contains("github.token") {
        out.push("GITHUB_TOKEN".to_string());
    }
    for step in job.steps() {
        if let Some(uses) = step.uses()
            && TOKEN_WRITING_ACTIONS.iter().any(|a| uses.is(a))
            && !out.iter().any(|o| o == uses.repo)
        {
            out.push(uses.repo.to_string());
        }
    }
    out
}

fn add_to_map(text: &str, perms: Node<'_>, label: &str) -> Grant {
    let mut plan = PermissionPlan::default();
    if let Some((_, value)) = perms.entry("id-token") {
        if value.as_str() == Some("write") {
            return Grant::AlreadyGranted;
        }
        let Some(_) = single_line_scalar(text, value) else {
            return Grant::Impossible(format!(
                "job {label}: its `id-token` permission is not a plain value"
            ));
        };
        let span = value.span();
        let comment = if layout::rest_is_blank_or_comment(text, span.end)
            && !text[span.end..layout::line_content_end(text, span.end)].contains('#')
            && perms.style() == Style::Block
        {
            format!("  {ID_TOKEN_COMMENT}")
        } else {
            String::new()
        };
        if plan
            .edits
            .push(span.start..span.end, format!("write{comment}"))
            .is_err()
        {
            return Grant::Impossible("overlapping edits".into());
        }
        plan.changes.replace(value, Value::plain("write"));
        plan.description = format!("job {label}: set `id-token: write` in its permissions");
        return Grant::Planned(Box::new(plan));
    }
    plan.changes
        .add_entry(perms, "id-token", Value::plain("write"));
    plan.description = format!("job {label}: added `id-token: write` to its permissions");
    let span = perms.span();
    if perms.style() == Style::Flow {
        let last = perms.entries().last();
        let (range, insert) = match last {
            None => (span.start..span.end, "{ id-token: write }".to_string()),
            Some((k, v)) => {
                let end = layout::entry_end(text, k, v);
                (end..end, ", id-token: write".to_string())
            }
        };
        let _ = plan.edits.push(range, insert);
        let close = span.end;
        if !text[close..layout::line_content_end(text, close)].contains('#')
            && layout::rest_is_blank_or_comment(text, close)
        {
            let _ = plan
                .edits
                .push(close..close, format!("  {ID_TOKEN_COMMENT}"));
        }
        return Grant::Planned(Box::new(plan));
    }
    let Some(indent) = layout::entry_indent(text, perms) else {
        return Grant::Impossible(format!("job {label}: its permissions map is empty"));
    };
    let Some((k, v)) = perms.entries().last() else {
        return Grant::Impossible("empty permissions".into());
    };
    let end = layout::entry_end(text, k, v);
    if !layout::rest_is_blank_or_comment(text, end) {
        return Grant::Impossible(format!(
            "job {label}: its permissions map has an unusual layout"
        ));
    }
    let line = format!(
        "{}id-token: write  {ID_TOKEN_COMMENT}",
        layout::spaces(indent)
    );
    let (range, insert) = insertion_after_line(text, end, &line);
    if plan.edits.push(range, insert).is_err() {
        return Grant::Impossible("overlapping edits".into());
    }
    Grant::Planned(Box::new(plan))
}

/// An insertion of `line` as a new line after the line holding `pos`, keeping a missing
/// final newline missing.
fn insertion_after_line(text: &str, pos: usize, line: &str) -> (std::ops::Range<usize>, String) {
    let eol = layout::line_ending_at(text, pos);
    let at = layout::next_line_start(text, pos);
    if at == text.len() && !text.ends_with('\n') {
        (at..at, format!("{eol}{line}"))
    } else {
        (at..at, format!("{line}{eol}"))
    }
}

fn replace_with_read_all(text: &str, job: &Job<'_>, perms: Node<'_>) -> Grant {
    let Some((job_indent, unit)) = job_indents(text, job) else {
        return Grant::Impossible(format!(
            "job {}: its layout is too unusual to edit",
            job.label()
        ));
    };
    let eol = layout::line_ending_at(text, perms.span().start);
    let inner = layout::spaces(job_indent + unit);
    let mut block = String::new();
    let mut entries = Vec::new();
    for scope in READ_ALL_SCOPES {
        block.push_str(&format!("{eol}{inner}{scope}: read"));
        entries.push((*scope, Value::plain("read")));
    }
    block.push_str(&format!("{eol}{inner}id-token: write  {ID_TOKEN_COMMENT}"));
    entries.push(("id-token", Value::plain("write")));
    let mut plan = PermissionPlan::default();
    let span = perms.span();
    // The block starts on the next line: drop the spaces after `permissions:` too.
    let start = span.start - text[..span.start].len()
        + text[..span.start].trim_end_matches([' ', '\t']).len();
    if plan.edits.push(start..span.end, block).is_err() {
        return Grant::Impossible("overlapping edits".into());
    }
    plan.changes.replace(perms, Value::map(entries));
    plan.description = format!(
        "job {}: spelled out `read-all` as read scopes plus `id-token: write`",
        job.label()
    );
    Grant::Planned(Box::new(plan))
}

/// The column of the job's keys and the indentation step to nest under them: the step the
/// job already uses for a nested block mapping (`env:`, `defaults:`), else job keys minus
/// the job id's column.
fn job_indents(text: &str, job: &Job<'_>) -> Option<(usize, usize)> {
    let key = job.key?;
    let indent = layout::entry_indent(text, job.node)?;
    let nested = job.node.entries().find_map(|(k, v)| {
        let inner = layout::entry_indent(text, v)?;
        inner
            .checked_sub(layout::column(text, k.span().start))
            .filter(|&u| u > 0)
    });
    let unit = nested
        .or_else(|| {
            indent
                .checked_sub(layout::column(text, key.span().start))
                .filter(|&u| u > 0)
        })
        .unwrap_or(2);
    Some((indent, unit))
}

/// Adds a `permissions:` block to a job that has none, just before its `steps:` (or `uses:`
/// for a reusable-workflow call), so comments above other keys stay where they are.
fn add_job_map(
    text: &str,
    job: &Job<'_>,
    entries: Vec<(String, String, Value)>,
    description: String,
    note: Option<String>,
) -> Grant {
    let label = job.label();
    let Some((indent, unit)) = job_indents(text, job) else {
        return Grant::Impossible(format!("job {label}: its layout is too unusual to edit"));
    };
    let job_entries: Vec<(Node<'_>, Node<'_>)> = job.node.entries().collect();
    let anchor = job_entries
        .iter()
        .position(|(k, _)| matches!(k.as_str(), Some("steps" | "uses")))
        .unwrap_or(job_entries.len());
    let at = if anchor == 0 {
        let first = job_entries[0].0.span().start;
        if !layout::starts_line(text, first) {
            return Grant::Impossible(format!("job {label}: its layout is too unusual to edit"));
        }
        layout::line_start(text, first)
    } else {
        let (k, v) = job_entries[anchor - 1];
        let end = layout::entry_end(text, k, v);
        if !layout::rest_is_blank_or_comment(text, end) {
            return Grant::Impossible(format!("job {label}: its layout is too unusual to edit"));
        }
        layout::next_line_start(text, end)
    };
    let eol = layout::line_ending_at(text, at.min(text.len().saturating_sub(1)));
    let outer = layout::spaces(indent);
    let inner = layout::spaces(indent + unit);
    let mut lines = vec![format!("{outer}permissions:")];
    let mut values = Vec::new();
    for (k, v, value) in entries {
        lines.push(format!("{inner}{k}: {v}"));
        values.push((Value::plain(&k), value));
    }
    lines.push(format!("{inner}id-token: write  {ID_TOKEN_COMMENT}"));
    values.push((Value::plain("id-token"), Value::plain("write")));
    let block = if at == text.len() && !text.ends_with('\n') {
        format!("{eol}{}", lines.join(eol))
    } else {
        format!("{}{eol}", lines.join(eol))
    };
    let mut plan = PermissionPlan {
        description,
        note,
        ..PermissionPlan::default()
    };
    if plan.edits.push(at..at, block).is_err() {
        return Grant::Impossible("overlapping edits".into());
    }
    plan.changes
        .add_entry(job.node, "permissions", Value::Mapping(values));
    Grant::Planned(Box::new(plan))
}
