//! `status --format html`: the dashboard's content from this run and the ledger's history
//! (the page itself is `campaign::dashboard`), and the point this run adds to that history.

use std::collections::BTreeMap;

use super::{row, totals};
use crate::campaign::dashboard::{Dashboard, DashboardRow};
use crate::campaign::diagnose::FailureClass;
use crate::campaign::ledger::ProgressPoint;
use crate::campaign::reconcile::Truth;
use crate::campaign::time::Seconds;
use crate::detect::aws_key_literal::mask_key_id;

/// This run's size at `at`, for the burndown.
pub fn progress_point(truth: &Truth, at: Seconds) -> ProgressPoint {
    ProgressPoint {
        at,
        repos: truth.repos.len(),
        repos_with_keys: truth
            .repos
            .iter()
            .filter(|v| v.observed.old_secrets_present > 0 || !v.observed.references.is_empty())
            .count(),
        active_keys: truth.keys.values().filter(|k| k.status.is_active()).count(),
    }
}

/// The page's content: this run, the ledger's `history` (oldest first) and when it was made.
pub fn model(truth: &Truth, history: Vec<ProgressPoint>, generated_at: Seconds) -> Dashboard {
    let mut blockers: BTreeMap<FailureClass, Vec<String>> = BTreeMap::new();
    for (repo, failures) in &truth.failures {
        for f in failures {
            let repos = blockers.entry(f.diagnosis.class).or_default();
            if !repos.contains(repo) {
                repos.push(repo.clone());
            }
        }
    }
    let rows = truth
        .repos
        .iter()
        .map(|v| {
            let r = row(v, truth);
            DashboardRow {
                repo: v.facts.repo.clone(),
                state: v.state.as_str().to_string(),
                pr: v.facts.pull.as_ref().map(|p| (p.number, p.url.clone())),
                roles: v.observed.roles.clone(),
                keys: v
                    .facts
                    .keys
                    .iter()
                    .map(|(id, _)| format!("{} {}", mask_key_id(id), r.key_last_used))
                    .collect(),
                next: v.next.clone(),
            }
        })
        .collect();
    Dashboard {
        title: match truth.orgs().as_slice() {
            [] => "Static AWS keys → OIDC".to_string(),
            [org] => format!("{org}: static AWS keys → OIDC"),
            orgs => format!("{} organizations: static AWS keys → OIDC", orgs.len()),
        },
        generated_at,
        totals: totals(truth),
        history,
        blockers,
        rows,
    }
}
