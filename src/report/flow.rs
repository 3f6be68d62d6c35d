//! Rendering the credential flow for reviewers: per step that took static keys, what it had,
//! what it gets after the rewrite and under which condition (`rewrite --explain`, PR bodies).

use crate::detect::flow::compare::FlowRow;
use crate::detect::flow::{Consumption, FileFlow};

fn cell(text: &str) -> String {
    text.replace('|', "\\|").replace('\n', " ")
}

/// A markdown table of the proven before/after rows.
pub fn markdown_table(rows: &[FlowRow]) -> String {
    if rows.is_empty() {
        return String::new();
    }
    let mut out = String::from(
        "| job | step | runs if | before | after | provided if |\n|---|---|---|---|---|---|\n",
    );
    for r in rows {
        out.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} |\n",
            cell(r.job.as_deref().unwrap_or("(composite action)")),
            cell(&r.step),
            cell(r.condition.as_deref().unwrap_or("always")),
            cell(&r.before),
            cell(&r.after),
            cell(r.provided_under.as_deref().unwrap_or("always")),
        ));
    }
    out
}

fn consumption(c: &Consumption) -> String {
    match c {
        Consumption::Configure => "configures credentials".into(),
        Consumption::DefaultChain => "reads the default chain".into(),
        Consumption::KeyOnly(how) => format!("needs the bare keys: {how}"),
        Consumption::None => "does not use AWS".into(),
        Consumption::Unknown => "may use AWS (cannot tell how)".into(),
    }
}

/// The whole model of one file for a person: every step that sees credentials, how it takes
/// them, what it gets after the rewrite, and what blocks an automatic move.
pub fn explain(path: &str, model: &FileFlow, rows: &[FlowRow]) -> String {
    let mut out = format!("{path}\n");
    for job in &model.jobs {
        let relevant: Vec<_> = job
            .steps
            .iter()
            .filter(|s| {
                s.consumption == Consumption::Configure
                    || (s.credential.is_some() && s.consumption != Consumption::None)
            })
            .collect();
        if relevant.is_empty() {
            continue;
        }
        out.push_str(&format!(
            "  job {}{}{}\n",
            job.job.as_deref().unwrap_or("(composite action)"),
            job.environment
                .as_deref()
                .map(|e| format!(" (environment {e})"))
                .unwrap_or_default(),
            job.condition
                .as_deref()
                .map(|c| format!(" if {c}"))
                .unwrap_or_default(),
        ));
        for step in relevant {
            out.push_str(&format!("    {}", step.label));
            if let Some(c) = &step.condition {
                out.push_str(&format!(" [if {c}]"));
            }
            out.push('\n');
            out.push_str(&format!(
                "      how:    {}\n",
                consumption(&step.consumption)
            ));
            if let Some(c) = &step.credential {
                let from = step
                    .origin
                    .map_or_else(|| "its inputs".to_string(), |o| o.describe());
                out.push_str(&format!("      before: {} (from {from})\n", c.describe()));
            }
            let job_id = job.job.as_deref();
            if let Some(row) = rows
                .iter()
                .find(|r| r.job.as_deref() == job_id && r.index == step.index)
            {
                out.push_str(&format!(
                    "      after:  {}{}\n",
                    row.after,
                    row.provided_under
                        .as_deref()
                        .map(|c| format!(" (provided if {c})"))
                        .unwrap_or_default()
                ));
            }
        }
        for b in model
            .blockers
            .iter()
            .filter(|b| b.job.as_deref() == job.job.as_deref())
        {
            let verdict = if b.class.blocks() { "manual" } else { "info" };
            out.push_str(&format!("    {verdict} {}: {}\n", b.class.id(), b.reason));
        }
    }
    out
}
