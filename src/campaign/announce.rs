//! What the campaign posts on GitHub: one comment per pull request and failure class, and
//! the tracking issue's body. Each carries a marker so the next run finds it and edits it in
//! place instead of posting again. Pure.

use std::collections::BTreeMap;

use super::diagnose::FailureClass;
use super::reconcile::failures::Failure;

/// Marks the tracking issue's body.
pub const TRACKING_MARKER: &str = "<!-- migrate:tracking-issue -->";

pub const TRACKING_TITLE: &str = "Migration of GitHub Actions from static AWS keys to OIDC";

/// Marks the comment about one failure class on a pull request.
pub fn failure_marker(class: FailureClass) -> String {
    format!("<!-- migrate:failure:{} -->", class.as_str())
}

/// Failures of one repository grouped by class, in class order.
pub fn by_class(failures: &[Failure]) -> BTreeMap<FailureClass, Vec<&Failure>> {
    let mut out: BTreeMap<FailureClass, Vec<&Failure>> = BTreeMap::new();
    for f in failures {
        out.entry(f.diagnosis.class).or_default().push(f);
    }
    out
}

/// The comment for one class: the fix first, then each failed run with its evidence.
pub fn failure_comment(class: FailureClass, failures: &[&Failure]) -> String {
    let mut body = failure_marker(class);
    body.push_str(&format!(
        "\n**`migrate`**: a migrated workflow failed after the move to OIDC: **`{}`**.\n\n",
        class.as_str()
    ));
    if let Some(first) = failures.first() {
        body.push_str(&format!("**Fix:** {}\n\n", first.diagnosis.fix));
    }
    for f in failures {
        body.push_str(&format!(
            "- `{}`{}: {}\n",
            f.workflow,
            f.job
                .as_deref()
                .map(|j| format!(" job `{j}`"))
                .unwrap_or_default(),
            f.run_url
        ));
        if let Some(sub) = &f.sub {
            body.push_str(&format!("  - presented `sub`: `{sub}`\n"));
        }
        if !f.allowed_subs.is_empty() {
            let allowed: Vec<String> = f.allowed_subs.iter().map(|s| format!("`{s}`")).collect();
            body.push_str(&format!("  - the role allows: {}\n", allowed.join(", ")));
        }
        if let Some(evidence) = &f.evidence_line() {
            body.push_str(&format!("  - log: `{evidence}`\n"));
        }
    }
    body.push_str("\n_Posted by `migrate status --comment`; later runs edit this comment._\n");
    body
}

impl Failure {
    /// The log line, without backticks (they would end the code span).
    fn evidence_line(&self) -> Option<String> {
        self.diagnosis
            .evidence
            .as_ref()
            .map(|e| e.replace('`', "'"))
    }
}

/// The tracking issue's body: the status table (Markdown) and the blockers by class.
pub fn tracking_body(status_markdown: &str, failures: &BTreeMap<String, Vec<Failure>>) -> String {
    let mut body = format!("{TRACKING_MARKER}\n## Status\n\n{status_markdown}\n## Blockers\n\n");
    let mut classes: BTreeMap<FailureClass, Vec<(&str, &Failure)>> = BTreeMap::new();
    for (repo, list) in failures {
        for f in list {
            classes
                .entry(f.diagnosis.class)
                .or_default()
                .push((repo.as_str(), f));
        }
    }
    if classes.is_empty() {
        body.push_str("None: no migrated workflow is failing.\n");
    }
    for (class, list) in classes {
        body.push_str(&format!(
            "### `{}` ({})\n{}\n\n",
            class.as_str(),
            list.len(),
            list[0].1.diagnosis.fix
        ));
        for (repo, f) in list {
            body.push_str(&format!("- {repo}: `{}` {}\n", f.workflow, f.run_url));
        }
        body.push('\n');
    }
    body.push_str(
        "_Kept current by `migrate status --tracking-issue`; edited in place on every run._\n",
    );
    body
}
