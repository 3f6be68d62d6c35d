//! `migrate rewrite` on local files rendered: each file's piece (its diff, or its `--explain`
//! table of credentials before and after), then the diffs with what was left to a person and
//! the totals, the `--explain` tables, or versioned JSON; and the run's exit code.

use std::path::Path;

use super::exit;
use crate::rewrite::local::Rewritten;
use crate::rewrite::{self, RewriteOutcome};

/// A file's diff with its path as shown: relative in a terminal, as given in JSON.
pub fn diff_piece(path: &Path, outcome: &RewriteOutcome, json: bool) -> String {
    let shown = path.display().to_string();
    if json {
        outcome.diff(&shown)
    } else {
        outcome.diff(shown.trim_start_matches('/'))
    }
}

/// One file's `--explain` table; empty for a file where no step takes keys.
pub fn explain_piece(path: &Path, outcome: &RewriteOutcome) -> String {
    let shown = path.display().to_string();
    let model = rewrite::flow_model(&outcome.original);
    if model
        .jobs
        .iter()
        .all(|j| j.steps.iter().all(|s| s.credential.is_none()))
    {
        return String::new();
    }
    let mut out = super::flow::explain(&shown, &model, &outcome.flow);
    for m in &outcome.manual {
        out.push_str(&format!(
            "  manual: line {} [{}] {}\n",
            m.line, m.rule, m.reason
        ));
    }
    out.push('\n');
    out
}

/// The diffs (painted when `color`), what was left to a person, the errors and the totals.
pub fn diff(run: &Rewritten, errors: &[String], wrote: bool, color: bool) -> String {
    let mut out = String::new();
    let mut changed = 0;
    for r in &run.files {
        let Ok(o) = &r.outcome else { continue };
        let shown = r.path.display().to_string();
        if r.changed {
            let applied = !wrote || matches!(r.written, Some(Ok(())));
            changed += usize::from(applied);
            out.push_str(&super::diff::paint(&r.piece, color));
        }
        for m in &o.manual {
            out.push_str(&format!(
                "manual: {shown}:{}:{} [{}] {}\n",
                m.line, m.column, m.rule, m.reason
            ));
        }
        for note in &o.notes {
            out.push_str(&format!("note: {shown}: {note}\n"));
        }
    }
    for e in errors {
        out.push_str(&format!("error: {e}\n"));
    }
    let manual = run.manual();
    out.push_str(&format!(
        "{} file{} {}, {manual} finding{} left for a person, {} error{}\n",
        changed,
        if changed == 1 { "" } else { "s" },
        if wrote {
            "rewritten"
        } else {
            "would change (run with --write to apply)"
        },
        if manual == 1 { "" } else { "s" },
        errors.len(),
        if errors.len() == 1 { "" } else { "s" }
    ));
    out
}

/// `--explain`: every file's table, then the errors.
pub fn explain(run: &Rewritten, errors: &[String]) -> String {
    let mut out = String::new();
    for r in &run.files {
        out.push_str(&r.piece);
    }
    for e in errors {
        out.push_str(&format!("error: {e}\n"));
    }
    out
}

/// `--format json`: per file, the changes, manual findings, notes, flow rows and diff.
pub fn json(run: &Rewritten, errors: &[String], wrote: bool) -> String {
    let files: Vec<serde_json::Value> = run
        .files
        .iter()
        .filter_map(|r| {
            let o = r.outcome.as_ref().ok()?;
            let shown = r.path.display().to_string();
            Some(serde_json::json!({
                "path": shown,
                "changed": r.changed,
                "written": wrote && r.changed && matches!(r.written, Some(Ok(()))),
                "changes": o.changes,
                "manual": o.manual,
                "notes": o.notes,
                "flow": o.flow,
                "diff": r.piece,
            }))
        })
        .collect();
    let doc = serde_json::json!({ "version": 1, "files": files, "errors": errors });
    let mut text = serde_json::to_string_pretty(&doc).unwrap_or_default();
    text.push('\n');
    text
}

/// Findings left for a person, and files that could not be rewritten, as the exit code says
/// them.
pub fn exit_code(run: &Rewritten, errors: &[String]) -> u8 {
    exit::of(run.manual() > 0, !errors.is_empty())
}
