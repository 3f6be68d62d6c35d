//! `migrate rewrite --org/--repo [--pr]` rendered: without `--pr` (or with `--dry-run`) every
//! planned diff, then one line per repository with what is left to a person and the
//! pre-flight failures, and the totals; or the same as versioned JSON. And the run's exit code.

use super::exit;
use crate::publish::run::RepoResult;

/// Diffs (when nothing was published) and a summary per repository.
pub fn text(results: &[RepoResult], published: bool, color: bool, requests: u64) -> String {
    let mut out = String::new();
    if !published {
        for plan in results.iter().filter_map(|r| r.plan.as_ref()) {
            for file in &plan.files {
                out.push_str(&super::diff::paint(
                    &file
                        .diff
                        .replacen("--- a/", &format!("--- a/{}/", plan.repository), 1)
                        .replacen("+++ b/", &format!("+++ b/{}/", plan.repository), 1),
                    color,
                ));
            }
        }
    }
    for r in results {
        out.push_str(&format!("{}: {}\n", r.repository, r.outcome.summary()));
        if let Some(plan) = &r.plan {
            for (path, m) in &plan.manual {
                out.push_str(&format!(
                    "  manual: {path}:{} [{}] {}\n",
                    m.line, m.rule, m.reason
                ));
            }
            for e in &plan.errors {
                out.push_str(&format!("  error: {e}\n"));
            }
            for row in plan.preflight.iter().filter(|r| !r.check.passes()) {
                out.push_str(&format!(
                    "  pre-flight: {}: {} [{}] sub `{}`: {}\n",
                    row.path,
                    row.job,
                    row.way,
                    row.sub,
                    row.check.summary()
                ));
            }
        }
    }
    let failed = results.iter().filter(|r| r.outcome.failed()).count();
    out.push_str(&format!(
        "{} repositories, {failed} failed; {requests} GitHub requests\n",
        results.len()
    ));
    out
}

/// `--format json`: every repository's result and plan, and the requests sent.
pub fn json(results: &[RepoResult], requests: u64) -> String {
    let repos: Vec<serde_json::Value> = results
        .iter()
        .map(|r| {
            serde_json::json!({
                "repository": r.repository,
                "result": r.outcome,
                "plan": r.plan,
            })
        })
        .collect();
    let doc =
        serde_json::json!({"version": 1, "repositories": repos, "github": {"requests": requests}});
    let mut text = serde_json::to_string_pretty(&doc).unwrap_or_default();
    text.push('\n');
    text
}

/// Findings left for a person, and repositories that failed or files that could not be
/// rewritten, as the exit code says them.
pub fn exit_code(results: &[RepoResult]) -> u8 {
    let manual = results
        .iter()
        .filter_map(|r| r.plan.as_ref())
        .any(|p| !p.manual.is_empty());
    let failed = results
        .iter()
        .any(|r| r.outcome.failed() || r.plan.as_ref().is_some_and(|p| !p.errors.is_empty()));
    exit::of(manual, failed)
}
