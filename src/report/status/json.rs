//! `status --format json`: one object per repository, the totals (per organization too), the
//! suggestions, notes and errors, and what GitHub was asked.

use serde_json::json;

use super::{by_organization, organization_of, totals};
use crate::campaign::reconcile::Truth;
use crate::campaign::time;
use crate::detect::aws_key_literal::mask_key_id;

/// The document, pretty-printed, with a final newline.
pub fn render(truth: &Truth) -> String {
    serde_json::to_string_pretty(&to_json(truth)).unwrap_or_default() + "\n"
}

fn to_json(truth: &Truth) -> serde_json::Value {
    let repos: Vec<_> = truth
        .repos
        .iter()
        .map(|v| {
            let keys: Vec<_> = v
                .facts
                .keys
                .iter()
                .filter_map(|(id, source)| truth.keys.get(id).map(|k| (k, source)))
                .map(|(k, source)| {
                    json!({
                        "access_key_id": mask_key_id(&k.id), "user": k.user, "status": k.status,
                        "last_used": k.last_used.map(time::format), "service": k.service,
                        "region": k.region, "mapped_by": source,
                    })
                })
                .collect();
            json!({
                "repository": v.facts.repo,
                "organization": organization_of(&v.facts.repo),
                "state": v.state,
                "pull_request": v.facts.pull.as_ref().map(|p| json!({
                    "number": p.number, "url": p.url, "state": p.state, "merged": p.merged,
                    "merged_at": p.merged_at.map(time::format), "head": p.head,
                })),
                "findings": v.observed.findings,
                "remaining_references": v.observed.references,
                "old_secrets_present": v.observed.old_secrets_present,
                "roles": v.observed.roles,
                "verified": v.observed.verified.as_ref().map(|r| json!({
                    "workflow": r.workflow, "run_url": r.run_url, "run_at": time::format(r.run_at),
                })),
                "keys": keys,
                "preflight": truth.preflight.get(&v.facts.repo),
                "failures": truth.failures.get(&v.facts.repo),
                "next_step": v.next,
            })
        })
        .collect();
    json!({
        "version": 1,
        // The one organization scanned whole (kept for readers of single-organization runs);
        // every one of them in `organizations`.
        "organization": match truth.orgs().as_slice() {
            [org] => Some(*org),
            _ => None,
        },
        "organizations": truth.orgs(),
        "repositories": repos,
        "totals": totals(truth),
        "by_organization": by_organization(truth),
        "suggestions": truth.suggestions.iter().map(|s| json!({"repository": s.repo, "user": s.user, "why": s.why})).collect::<Vec<_>>(),
        "errors": truth.errors,
        "notes": truth.notes,
        "github_requests": {"total": truth.requests, "not_modified": truth.not_modified},
    })
}
