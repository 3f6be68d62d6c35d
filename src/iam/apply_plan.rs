//! `trust --apply` run against IAM (effects): first what must change and, with
//! `--copy-permissions-from`, what the copying and inferred roles get ([`prepare`]); then, once
//! the CLI has shown that and been told to go ahead, the provider and each missing role
//! ([`execute`]), each role's result reported as it comes.

use std::collections::BTreeMap;

use serde_json::Value;

use super::IamError;
use super::apply::{IamApply, Permissions, RoleNotCreated};
use super::copied::{self, Found};
use crate::trust::plan::{RoleSpec, TrustPlan};
use crate::trust::reconcile::{Changes, ProviderChange, RoleChange};

/// What IAM holds against the plan, and what the roles to create will get.
pub struct Prepared<'p> {
    pub changes: Changes<'p>,
    /// The old user's permissions (`--copy-permissions-from`).
    copied: Option<Permissions>,
    /// Inferred roles' policies bounded by the old user's (role name → document).
    bounded: BTreeMap<String, Value>,
}

/// Reads what IAM holds for the plan and, with `copy_from`, the user's permissions (reported
/// through `found`). `trail`: with `--evidence cloudtrail`, the regions to read.
pub async fn prepare<'p>(
    iam: &IamApply,
    plan: &'p TrustPlan,
    copy_from: Option<&str>,
    trail: Option<&[String]>,
    found: &mut dyn FnMut(Found<'_>),
) -> Result<Prepared<'p>, IamError> {
    let changes = iam.observe(plan).await?;
    let (copied, bounded) = match copy_from {
        Some(user) => {
            let (copied, bounded) = copied::for_roles(iam, plan, user, trail, found).await?;
            (Some(copied), bounded)
        }
        None => (None, BTreeMap::new()),
    };
    Ok(Prepared {
        changes,
        copied,
        bounded,
    })
}

/// One step of [`execute`], as it is done.
pub enum Step<'a> {
    /// The provider was created or extended (or, unchanged, left alone).
    Provider(&'a ProviderChange),
    /// IAM already matches the plan: nothing was sent.
    NothingToChange,
    RoleCreated(&'a RoleSpec),
    RoleUnchanged(&'a RoleSpec),
    /// The role is absent from IAM: not created, or created and undone.
    RoleNotCreated(&'a RoleSpec, RoleNotCreated),
}

/// Applies the prepared changes: the provider, then every missing role, all-or-nothing per
/// role (one that conflicts is left alone). Returns how many roles were not applied,
/// conflicts included; an error is the provider's, and no role was attempted.
pub async fn execute<'p>(
    iam: &IamApply,
    plan: &TrustPlan,
    prepared: &Prepared<'p>,
    report: &mut dyn FnMut(Step<'_>),
) -> Result<usize, IamError> {
    let changes = &prepared.changes;
    if changes.has_work() {
        iam.apply_provider(&changes.provider).await?;
        report(Step::Provider(&changes.provider));
    } else {
        report(Step::NothingToChange);
    }
    let mut failed = changes.conflicts();
    for (role, change) in &changes.roles {
        match change {
            RoleChange::Create => {
                let granted = Permissions::for_role(
                    role,
                    prepared.copied.as_ref(),
                    prepared.bounded.get(&role.name),
                );
                match iam.create_role(plan, role, &granted).await {
                    Ok(()) => report(Step::RoleCreated(role)),
                    Err(error) => {
                        failed += 1;
                        report(Step::RoleNotCreated(role, error));
                    }
                }
            }
            RoleChange::Unchanged => report(Step::RoleUnchanged(role)),
            RoleChange::Conflict { .. } => {}
        }
    }
    Ok(failed)
}
