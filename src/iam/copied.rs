//! `trust --copy-permissions-from USER` read from IAM (effects): the user's permissions, the
//! policy documents behind them, the evidence of their real use for the plan's inferred roles,
//! and those roles' policies bounded by the user's own. Each piece is reported as it is found,
//! so that the CLI shows it before a later read can fail.

use std::collections::BTreeMap;

use serde_json::Value;

use super::IamError;
use super::apply::{IamApply, Permissions};
use crate::trust::evidence::{ObservedCalls, ServiceUse};
use crate::trust::permissions::{self, BoundedPolicy};
use crate::trust::plan::TrustPlan;
use crate::trust::role_permissions::CopiedPermissions;

/// What was found about the user, in the order it is found.
pub enum Found<'a> {
    /// The user's permissions, which the roles that copy them get (`trust --apply`).
    Permissions(&'a Permissions),
    /// The evidence of the user's real use, for the inferred roles' tables.
    Evidence {
        evidence: &'a UseEvidence,
        documents: &'a [Value],
    },
    /// The inferred roles' policies bounded by the user's.
    Bounded(&'a [BoundedPolicy]),
}

/// The evidence of a user's real use. Evidence only: what cannot be read is a warning.
pub struct UseEvidence {
    /// Why some evidence is missing or partial, one line each.
    pub warnings: Vec<String>,
    /// IAM's last-accessed data; `None` when it could not be read (no table then).
    pub uses: Option<Vec<ServiceUse>>,
    /// The keys' CloudTrail calls, with `--evidence cloudtrail`.
    pub calls: Option<Vec<ObservedCalls>>,
}

/// Whether the plan has inferred roles, the only ones evidence and bounding are about.
fn has_inferred(plan: &TrustPlan) -> bool {
    permissions::inferred_roles(plan).next().is_some()
}

/// `--copy-permissions-from USER` without `--apply`: the user's permissions for the emitters,
/// and the inferred roles' policies bounded by them. `trail`: with `--evidence cloudtrail`,
/// the regions whose CloudTrail to read (empty: every enabled region).
pub async fn for_emitters(
    iam: &IamApply,
    plan: &TrustPlan,
    user: &str,
    trail: Option<&[String]>,
    found: &mut dyn FnMut(Found<'_>),
) -> Result<(CopiedPermissions, Vec<BoundedPolicy>), IamError> {
    // The emitters write the permissions into the IaC: they are not shown on their own.
    let (permissions, bounded) = read(iam, plan, user, trail, false, found).await?;
    Ok((permissions.copied_from(user)?, bounded))
}

/// `--copy-permissions-from USER` with `--apply`: the permissions the copying roles get, and
/// (role name → document) the inferred roles' policies bounded by them.
pub async fn for_roles(
    iam: &IamApply,
    plan: &TrustPlan,
    user: &str,
    trail: Option<&[String]>,
    found: &mut dyn FnMut(Found<'_>),
) -> Result<(Permissions, BTreeMap<String, Value>), IamError> {
    let (permissions, bounded) = read(iam, plan, user, trail, true, found).await?;
    let bounded = bounded.into_iter().map(|b| (b.role, b.document)).collect();
    Ok((permissions, bounded))
}

/// The user's permissions and, when the plan infers some roles' policies, the evidence of
/// the user's real use and those policies bounded by the user's own (the policy documents
/// are read only then). Each piece goes to `found` as it is read; the permissions only when
/// `show_permissions`.
async fn read(
    iam: &IamApply,
    plan: &TrustPlan,
    user: &str,
    trail: Option<&[String]>,
    show_permissions: bool,
    found: &mut dyn FnMut(Found<'_>),
) -> Result<(Permissions, Vec<BoundedPolicy>), IamError> {
    let permissions = iam.user_permissions(user).await?;
    if show_permissions {
        found(Found::Permissions(&permissions));
    }
    if !has_inferred(plan) {
        return Ok((permissions, Vec::new()));
    }
    let documents = iam.policy_documents(&permissions).await?;
    let evidence = use_evidence(iam, user, trail).await;
    found(Found::Evidence {
        evidence: &evidence,
        documents: &documents,
    });
    let bounded = permissions::bounded_policies(plan, user, &documents);
    found(Found::Bounded(&bounded));
    Ok((permissions, bounded))
}

/// IAM's last-accessed data for the user and, with `trail`, its keys' CloudTrail calls.
async fn use_evidence(iam: &IamApply, user: &str, trail: Option<&[String]>) -> UseEvidence {
    let mut warnings = Vec::new();
    let calls = match trail {
        Some(regions) => match iam.trail_calls(user, regions).await {
            Ok(found) => {
                warnings.extend(found.warnings);
                Some(found.calls)
            }
            Err(error) => {
                warnings.push(format!(
                    "no CloudTrail evidence for IAM user {user}: {error}"
                ));
                None
            }
        },
        None => None,
    };
    // Without last-accessed data there is no table: the calls alone are not shown.
    let uses = match iam.last_accessed(user).await {
        Ok(uses) => Some(uses),
        Err(error) => {
            warnings.push(format!(
                "no evidence of real use for IAM user {user}: {error}"
            ));
            None
        }
    };
    UseEvidence {
        warnings,
        uses,
        calls,
    }
}
