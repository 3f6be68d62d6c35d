//! `status --format table` (the default): aligned columns, totals (per organization too when
//! the campaign spans several), then each failing repository's diagnosed runs, the pre-flight
//! refusals and the notes.

use super::{HEADERS, Row, append_notes, by_organization, cells, row, totals_line};
use crate::campaign::reconcile::Truth;

pub fn render(truth: &Truth) -> String {
    let rows: Vec<Row> = truth.repos.iter().map(|v| row(v, truth)).collect();
    let mut widths = HEADERS.map(str::len);
    for r in &rows {
        for (w, c) in widths.iter_mut().zip(cells(r)) {
            *w = (*w).max(c.chars().count());
        }
    }
    let line = |cols: [&str; 7]| -> String {
        let mut s = String::new();
        for (i, (c, w)) in cols.iter().zip(widths).enumerate() {
            if i + 1 == cols.len() {
                s.push_str(c);
            } else {
                s.push_str(&format!("{c:<w$}  "));
            }
        }
        s.trim_end().to_string() + "\n"
    };
    let mut out = line(HEADERS);
    for r in &rows {
        out.push_str(&line(cells(r)));
    }
    out.push_str(&format!("\n{}\n", totals_line(truth)));
    out.push_str(&organization_lines(truth));
    for (repo, failures) in &truth.failures {
        out.push_str(&format!("\nfailing {repo}:\n"));
        for f in failures {
            out.push_str(&format!(
                "  {} {}: {} — {}\n    {}{}\n",
                f.workflow,
                f.job.as_deref().unwrap_or("-"),
                f.diagnosis.class.as_str(),
                f.diagnosis.fix,
                f.run_url,
                f.sub
                    .as_deref()
                    .map(|s| format!(" (presented sub `{s}`)"))
                    .unwrap_or_default()
            ));
            if !f.allowed_subs.is_empty() {
                out.push_str(&format!(
                    "    the role allows: {}\n",
                    f.allowed_subs
                        .iter()
                        .map(|s| format!("`{s}`"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ));
            }
        }
    }
    for (repo, rows) in &truth.preflight {
        let denied: Vec<_> = rows.iter().filter(|r| !r.check.passes()).collect();
        out.push_str(&format!(
            "\npre-flight {repo}: {} of {} ways would not be allowed to assume the role\n",
            denied.len(),
            rows.len()
        ));
        for r in denied {
            out.push_str(&format!(
                "  {}: {} [{}] sub `{}`: {}\n",
                r.path,
                r.job,
                r.way,
                r.sub,
                r.check.summary()
            ));
        }
    }
    append_notes(&mut out, truth, "");
    out
}

/// One totals line per organization, when the campaign spans several.
fn organization_lines(truth: &Truth) -> String {
    let groups = by_organization(truth);
    if groups.len() < 2 {
        return String::new();
    }
    let mut out = String::new();
    for (org, states) in groups {
        let count: usize = states.values().sum();
        let parts: Vec<String> = states.iter().map(|(s, n)| format!("{n} {s}")).collect();
        out.push_str(&format!(
            "  {org}: {count} repositories: {}\n",
            parts.join(", ")
        ));
    }
    out
}
