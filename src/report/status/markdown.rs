//! `status --format markdown`, and the body of the tracking issue: the table with each pull
//! request linked, the totals, each repository's pre-flight table and the notes as a list.

use super::{HEADERS, append_notes, cells, row, totals_line};
use crate::campaign::reconcile::Truth;

pub fn render(truth: &Truth) -> String {
    let mut out = format!("| {} |\n", HEADERS.join(" | "));
    out.push_str(&format!("|{}\n", "---|".repeat(HEADERS.len())));
    for v in &truth.repos {
        let r = row(v, truth);
        let mut c = cells(&r).map(|c| c.replace('|', "\\|"));
        if let Some(p) = v.facts.pull.as_ref().filter(|p| !p.url.is_empty()) {
            c[2] = format!("[#{}]({})", p.number, p.url);
        }
        out.push_str(&format!("| {} |\n", c.join(" | ")));
    }
    out.push_str(&format!("\n**{}**\n", totals_line(truth)));
    for (repo, rows) in &truth.preflight {
        out.push_str(&format!("\n#### Pre-flight trust check: {repo}\n\n"));
        out.push_str(&crate::trust::preflight::markdown(rows));
    }
    append_notes(&mut out, truth, "- ");
    out
}
