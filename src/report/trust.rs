//! What `trust --apply` and `--copy-permissions-from` show besides the IaC: the old user's
//! permissions the copying roles get, each inferred role's inferred / observed / granted
//! table, what bounding by the user's policies dropped, and what applying did.

use serde_json::Value;

use super::Line;

use crate::iam::apply::{Permissions, RoleNotCreated};
use crate::iam::apply_plan::Step;
use crate::iam::copied::UseEvidence;
use crate::trust::evidence;
use crate::trust::permissions::{self, BoundedPolicy};
use crate::trust::plan::TrustPlan;
use crate::trust::reconcile::ProviderChange;

/// The line announcing whose permissions the roles get (stderr, before the changes).
pub fn copied_from(user: &str, copied: &Permissions) -> String {
    let inline: Vec<&str> = copied
        .inline
        .iter()
        .map(|(name, _)| name.as_str())
        .collect();
    format!(
        "roles with copied permissions get those of IAM user {user}, and inferred ones are bounded by them: managed [{}], inline [{}]\n",
        copied.managed.join(", "),
        inline.join(", ")
    )
}

/// Every inferred role's table (stderr); nothing without IAM's last-accessed data (the
/// evidence's warnings say why).
pub fn evidence(plan: &TrustPlan, user: &str, found: &UseEvidence, documents: &[Value]) -> String {
    let Some(uses) = &found.uses else {
        return String::new();
    };
    let mut out = String::new();
    for (role, inferred) in permissions::inferred_roles(plan) {
        out.push_str(&format!(
            "role {}: inferred / observed / granted to IAM user {user}:\n",
            role.name
        ));
        for line in evidence::table(
            &inferred.statements,
            uses,
            found.calls.as_deref(),
            documents,
        ) {
            out.push_str(&line);
            out.push('\n');
        }
    }
    out
}

/// What bounding dropped of each inferred role, or that it dropped nothing (stderr).
pub fn bounded(user: &str, bounded: &[BoundedPolicy]) -> String {
    let mut out = String::new();
    for policy in bounded {
        for message in &policy.dropped {
            out.push_str(&format!("warning: role {}: {message}\n", policy.role));
        }
        if policy.dropped.is_empty() {
            out.push_str(&format!(
                "role {}: every inferred permission is within IAM user {user}'s\n",
                policy.role
            ));
        }
    }
    out
}

/// The line of one step of `trust --apply`, if it has one: for the summary on stdout
/// (printed once every role was tried), or a role not created, on stderr as it happens.
pub fn applied(step: &Step<'_>) -> Option<Line> {
    let summary = |line: String| Some(Line::Out(line));
    match step {
        Step::Provider(ProviderChange::Create { url, .. }) => {
            summary(format!("created provider {url}"))
        }
        Step::Provider(ProviderChange::AddClientIds { arn, client_ids }) => {
            summary(format!("added {} to {arn}", client_ids.join(", ")))
        }
        Step::Provider(ProviderChange::Unchanged { .. }) => None,
        Step::NothingToChange => {
            summary("nothing to change: IAM already matches the plan".to_string())
        }
        Step::RoleCreated(role) => summary(format!("created role {} ({})", role.name, role.arn)),
        Step::RoleUnchanged(role) => summary(format!("unchanged role {}", role.name)),
        Step::RoleNotCreated(role, RoleNotCreated::InvalidTrust(reason)) => {
            Some(Line::Err(format!("error: role {}: {reason}", role.name)))
        }
        Step::RoleNotCreated(role, error) => Some(Line::Err(format!(
            "error: role {} not created: {error}",
            role.name
        ))),
    }
}
