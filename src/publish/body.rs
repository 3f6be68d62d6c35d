//! The pull request body: what changed, what the role must trust, what is left, the diff (pure).

use super::RepoPlan;

/// GitHub rejects bodies over 65,536 characters; leave room for the rest of the body.
const MAX_DIFF_IN_BODY: usize = 50_000;

/// The pull request body: what changed, what the role must trust, what is left, the diff.
pub fn pull_body(plan: &RepoPlan) -> String {
    let mut body = String::from(
        "This pull request was opened by `migrate`. It replaces the long-lived AWS access keys these \
         workflows read from secrets with short-lived credentials: each job assumes an IAM role through \
         GitHub's OIDC provider (`role-to-assume` with `permissions: id-token: write`).\n\n### What changed\n",
    );
    for file in &plan.files {
        body.push_str(&format!("- `{}`\n", file.path));
        for change in &file.changes {
            body.push_str(&format!("  - {change}\n"));
        }
    }
    if plan.files.iter().any(|f| !f.flow.is_empty()) {
        body.push_str("\n### Credential flow\nEvery step that read the static keys, and what it gets now (proven on the rewritten files):\n");
        for file in plan.files.iter().filter(|f| !f.flow.is_empty()) {
            body.push_str(&format!("\n`{}`\n\n", file.path));
            body.push_str(&crate::report::flow::markdown_table(&file.flow));
        }
    }
    body.push_str("\n### Before merging\nThe role must exist and its trust policy must allow these subjects (audience `sts.amazonaws.com`):\n\n");
    for role in &plan.roles {
        body.push_str(&format!("- role `{role}`\n"));
    }
    for subject in &plan.subjects {
        body.push_str(&format!("- `{subject}`\n"));
    }
    body.push_str(&format!(
        "\n`migrate trust --repo {} --account-id ACCOUNT` prints (or applies) the provider and role.\n",
        plan.repository
    ));
    if !plan.preflight.is_empty() {
        let denied = plan.preflight.iter().filter(|r| !r.check.passes()).count();
        body.push_str(&format!(
            "\n### Pre-flight trust check\nEach migrated job, each way it runs, against the role's trust policy as IAM holds it now: {denied} of {} would not be allowed to assume the role.\n\n",
            plan.preflight.len()
        ));
        body.push_str(&crate::trust::preflight::markdown(&plan.preflight));
    }
    if !plan.manual.is_empty() {
        body.push_str("\n### Left for a person\n");
        for (path, m) in &plan.manual {
            body.push_str(&format!(
                "- `{path}:{}` `{}`: {}\n",
                m.line, m.rule, m.reason
            ));
        }
    }
    if !plan.notes.is_empty() {
        body.push_str("\n### Notes\n");
        for note in &plan.notes {
            body.push_str(&format!("- {note}\n"));
        }
    }
    let mut diff: String = plan.files.iter().map(|f| f.diff.as_str()).collect();
    if diff.len() > MAX_DIFF_IN_BODY {
        let cut = (0..=MAX_DIFF_IN_BODY)
            .rev()
            .find(|&i| diff.is_char_boundary(i))
            .unwrap_or(0);
        diff.truncate(cut);
        diff.push_str("\n... (diff truncated; see the Files tab)\n");
    }
    body.push_str(&format!(
        "\n<details><summary>Diff</summary>\n\n```diff\n{diff}```\n\n</details>\n"
    ));
    body
}
