//! `migrate cleanup` rendered: the plan shown before anything is done (refusals, key-map
//! suggestions, numbered steps with masked key ids, notes and errors), the owners its
//! confirmation asks for, and the counts of a finished run.

use super::status::suggestions;
use crate::campaign::cleanup::Plan;
use crate::campaign::reconcile::Truth;

/// The plan as shown before confirmation (and all `--dry-run` shows).
pub fn describe(plan: &Plan, truth: &Truth) -> String {
    let mut out = String::new();
    if !plan.refused.is_empty() {
        out.push_str("refused:\n");
        for r in &plan.refused {
            out.push_str(&format!("  {}: {}\n", r.repo, r.reasons.join("; ")));
        }
    }
    out.push_str(&suggestions(truth, ""));
    if !plan.is_empty() {
        out.push_str(&format!("plan for {}:\n", plan.ready.join(", ")));
        let mut step = 0;
        let mut next = || {
            step += 1;
            step
        };
        for k in &plan.deactivate {
            out.push_str(&format!(
                "  {}. deactivate key {} [{}]\n",
                next(),
                k.key.describe(),
                k.repos.join(", ")
            ));
        }
        for s in &plan.secrets {
            out.push_str(&format!("  {}. {}\n", next(), s.describe()));
        }
        for k in &plan.delete_keys {
            out.push_str(&format!(
                "  {}. delete key {} [{}] (irreversible)\n",
                next(),
                k.key.describe(),
                k.repos.join(", ")
            ));
        }
        for u in &plan.delete_users {
            out.push_str(&format!("  {}. {}\n", next(), u.describe()));
        }
    }
    for note in &plan.notes {
        out.push_str(&format!("note: {note}\n"));
    }
    for e in &truth.errors {
        out.push_str(&format!("error: {e}\n"));
    }
    if plan.is_empty() {
        out.push_str("\nnothing to do\n");
    }
    out
}

/// What a finished cleanup did, counted (after `cleanup done: `).
pub fn summary(plan: &Plan) -> String {
    let mut out = format!(
        "{} key(s) deactivated, {} secret change(s), {} key(s) deleted",
        plan.deactivate.len(),
        plan.secrets.len(),
        plan.delete_keys.len()
    );
    if !plan.delete_users.is_empty() {
        out.push_str(&format!(", {} user(s) deleted", plan.delete_users.len()));
    }
    out
}

/// The organizations (or owners) whose repositories the plan touches, as the confirmation
/// asks for them: `acme`, or `acme,globex`.
pub fn owners(plan: &Plan) -> String {
    let owners: std::collections::BTreeSet<&str> = plan
        .ready
        .iter()
        .filter_map(|r| r.split_once('/').map(|(owner, _)| owner))
        .collect();
    owners.into_iter().collect::<Vec<_>>().join(",")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_plan_says_there_is_nothing_to_do() {
        let plan = Plan::default();
        assert_eq!(describe(&plan, &Truth::default()), "\nnothing to do\n");
        assert_eq!(
            summary(&plan),
            "0 key(s) deactivated, 0 secret change(s), 0 key(s) deleted"
        );
    }
}
