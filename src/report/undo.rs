//! `migrate undo` rendered: where each deactivated key stands, the keys and IAM users that
//! cannot come back (with the commands that recreate the users), the deleted secrets with the
//! commands that recreate them, and each reactivation as it is done. Key ids are masked.

use super::Line;
use crate::campaign::reactivate::Standing;
use crate::campaign::undo::{Reactivation, UndoPlan};
use crate::detect::aws_key_literal::mask_key_id;
use crate::iam::IamError;

/// Everything undo does and cannot do, shown before asking. `keys`: where each key to
/// reactivate stands (none without IAM).
pub fn plan(plan: &UndoPlan, keys: &[(&Reactivation, Standing)]) -> String {
    let mut out = String::new();
    for (r, standing) in keys {
        let shown = mask_key_id(&r.access_key_id);
        match standing {
            Standing::Reactivate => {}
            Standing::AlreadyActive => out.push_str(&format!(
                "key {shown} (user {}) is already active\n",
                r.user
            )),
            Standing::Gone => out.push_str(&format!(
                "key {shown} (user {}) no longer exists: it was deleted and cannot be reactivated\n",
                r.user
            )),
        }
    }
    for r in &plan.deleted_keys {
        out.push_str(&format!(
            "key {} (user {}) [{}] was deleted by this campaign and no longer exists: it cannot be reactivated; create a new key if the old setup must come back\n",
            mask_key_id(&r.access_key_id),
            r.user,
            r.repo
        ));
    }
    let todo: Vec<&Reactivation> = to_reactivate(keys);
    if !todo.is_empty() {
        out.push_str("reactivate:\n");
        for r in &todo {
            out.push_str(&format!(
                "  key {} (user {}) [{}]\n",
                mask_key_id(&r.access_key_id),
                r.user,
                r.repo
            ));
        }
    }
    let (deleted, stripped): (Vec<_>, Vec<_>) = plan.users.iter().partition(|u| u.deleted);
    for (heading, users) in [
        (
            "IAM users deleted by this campaign (IAM cannot restore them or their keys; recreate with):",
            deleted,
        ),
        (
            "IAM users a cleanup began to delete and did not (their policies and groups may be detached; put them back with):",
            stripped,
        ),
    ] {
        if users.is_empty() {
            continue;
        }
        out.push_str(heading);
        out.push('\n');
        for u in users {
            out.push_str(&format!("  user {} [{}]\n", u.user, u.repo));
            for command in &u.commands {
                out.push_str(&format!("    {command}\n"));
            }
        }
    }
    if !plan.recreate.is_empty() {
        out.push_str(
            "deleted by this campaign (GitHub cannot restore values; recreate with the old key material):\n",
        );
        for r in &plan.recreate {
            out.push_str(&format!("  {}\n    {}\n", r.what, r.command));
        }
    }
    if todo.is_empty()
        && plan.recreate.is_empty()
        && plan.deleted_keys.is_empty()
        && plan.users.is_empty()
    {
        out.push_str("nothing to undo\n");
    }
    out
}

/// The keys to reactivate, in plan order.
pub fn to_reactivate<'k>(keys: &[(&'k Reactivation, Standing)]) -> Vec<&'k Reactivation> {
    keys.iter()
        .filter(|(_, standing)| *standing == Standing::Reactivate)
        .map(|(r, _)| *r)
        .collect()
}

/// One reactivation: `done: …` (stdout) or `failed: …` (stderr).
pub fn reactivated(r: &Reactivation, result: &Result<(), IamError>) -> Line {
    match result {
        Ok(()) => Line::Out(format!(
            "done: reactivated key {} (user {})",
            mask_key_id(&r.access_key_id),
            r.user
        )),
        Err(e) => Line::Err(format!(
            "failed: key {}: {e}",
            mask_key_id(&r.access_key_id)
        )),
    }
}
