//! `migrate status` rendered from one run's [`Truth`]: the terminal table, Markdown for a
//! tracking issue, the versioned JSON and the HTML dashboard's content, one module each. Pure:
//! the caller passes in what is not in `Truth` (the ledger's history, the clock).

pub mod dashboard;
pub mod json;
pub mod markdown;
pub mod table;

#[cfg(test)]
mod tests;

use std::collections::BTreeMap;

use crate::campaign::JournalResult;
use crate::campaign::reconcile::{RepoView, Truth};
use crate::campaign::state::RepoState;
use crate::campaign::time;
use crate::detect::aws_key_literal::mask_key_id;

/// What pending journal entries turned out to be, one line each (`status` and `cleanup`
/// print them on stderr).
pub fn resolved(truth: &Truth) -> Vec<String> {
    truth
        .resolved
        .iter()
        .map(|(entry, result)| {
            let target = if entry.action.is_key_write() {
                mask_key_id(&entry.target)
            } else {
                entry.target.clone()
            };
            format!(
                "journal: {} {} {} was interrupted; remote state shows it {}",
                entry.repo,
                entry.action,
                target,
                match result {
                    JournalResult::Observed => "took effect",
                    _ => "did not happen",
                }
            )
        })
        .collect()
}

/// One repository's cells, shared by the table, Markdown and the dashboard.
struct Row {
    repo: String,
    state: String,
    pr: String,
    merged: String,
    references: String,
    key_last_used: String,
    next: String,
}

fn row(view: &RepoView, truth: &Truth) -> Row {
    let pull = view.facts.pull.as_ref();
    let keys: Vec<_> = view
        .facts
        .keys
        .iter()
        .filter_map(|(id, _)| truth.keys.get(id))
        .collect();
    let last = keys
        .iter()
        .filter_map(|k| k.last_used.map(|t| (t, *k)))
        .max_by_key(|(t, _)| *t);
    let key_last_used = match (keys.is_empty(), last) {
        (true, _) => "-".to_string(),
        (false, None) => "never".to_string(),
        (false, Some((t, k))) => format!(
            "{} {} {}",
            time::format_date(t),
            k.service.as_deref().unwrap_or("N/A"),
            k.region.as_deref().unwrap_or("N/A")
        ),
    };
    Row {
        repo: view.facts.repo.clone(),
        state: view.state.as_str().to_string(),
        pr: pull.map_or("-".into(), |p| format!("#{}", p.number)),
        merged: match pull {
            Some(p) if p.merged => p.merged_at.map_or("yes".into(), time::format_date),
            Some(_) => "no".into(),
            None => "-".into(),
        },
        references: if view.observed.references.is_empty() {
            "0".into()
        } else {
            view.observed.references.join(",")
        },
        key_last_used,
        next: view.next.clone(),
    }
}

const HEADERS: [&str; 7] = [
    "REPOSITORY",
    "STATE",
    "PR",
    "MERGED",
    "REFERENCES",
    "KEY LAST USED",
    "NEXT STEP",
];

fn cells(r: &Row) -> [&str; 7] {
    [
        &r.repo,
        &r.state,
        &r.pr,
        &r.merged,
        &r.references,
        &r.key_last_used,
        &r.next,
    ]
}

/// How many repositories are in each state (states with none left out).
fn totals(truth: &Truth) -> BTreeMap<&'static str, usize> {
    let mut out = BTreeMap::new();
    for state in RepoState::ALL {
        let n = truth.repos.iter().filter(|r| r.state == state).count();
        if n > 0 {
            out.insert(state.as_str(), n);
        }
    }
    out
}

/// The owner part of `OWNER/REPO`.
fn organization_of(slug: &str) -> &str {
    slug.split_once('/').map_or(slug, |(owner, _)| owner)
}

/// Per organization: how many repositories are in each state (campaigns across organizations).
fn by_organization(truth: &Truth) -> BTreeMap<&str, BTreeMap<&'static str, usize>> {
    let mut out: BTreeMap<&str, BTreeMap<&'static str, usize>> = BTreeMap::new();
    for view in &truth.repos {
        *out.entry(organization_of(&view.facts.repo))
            .or_default()
            .entry(view.state.as_str())
            .or_default() += 1;
    }
    out
}

fn totals_line(truth: &Truth) -> String {
    let parts: Vec<String> = totals(truth)
        .iter()
        .map(|(s, n)| format!("{n} {s}"))
        .collect();
    format!("{} repositories: {}", truth.repos.len(), parts.join(", "))
}

/// Suggestions, notes and errors after the table (`bullet`: `""`, or `"- "` for Markdown).
fn append_notes(out: &mut String, truth: &Truth, bullet: &str) {
    let suggestions = suggestions(truth, bullet);
    if !suggestions.is_empty() {
        out.push('\n');
        out.push_str(&suggestions);
    }
    for (title, items) in [("notes", &truth.notes), ("errors", &truth.errors)] {
        if !items.is_empty() {
            out.push_str(&format!("\n{title}:\n"));
            for item in items {
                out.push_str(&format!("{bullet}  {item}\n"));
            }
        }
    }
}

/// The key-map suggestions under their heading (empty when there are none); `cleanup`
/// shows them too.
pub fn suggestions(truth: &Truth, bullet: &str) -> String {
    if truth.suggestions.is_empty() {
        return String::new();
    }
    let mut out = String::from("suggestions (never acted on; confirm them in --key-map):\n");
    for s in &truth.suggestions {
        out.push_str(&format!(
            "{bullet}  {} -> IAM user {} ({})\n",
            s.repo, s.user, s.why
        ));
    }
    out
}
