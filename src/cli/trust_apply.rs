//! `migrate trust --apply` and `--copy-permissions-from`, wired: the IAM executor
//! ([`crate::iam::apply`]) on a runtime, the confirmation (or `--yes`), and what it found and
//! did: the changes, the evidence and the bounding on stderr, the summary on stdout.

use std::collections::BTreeMap;
use std::io::{BufRead, IsTerminal, Write};

use serde_json::Value;

use crate::iam::IamError;
use crate::iam::apply::{IamApply, Permissions, RoleNotCreated};
use crate::trust::evidence;
use crate::trust::permissions::{self, CopiedPermissions, PermissionSource};
use crate::trust::plan::TrustPlan;
use crate::trust::reconcile::{ProviderChange, RoleChange};

#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    #[error("cannot start the AWS client runtime: {0}")]
    Runtime(std::io::Error),
    #[error(transparent)]
    Iam(#[from] IamError),
    #[error("refusing to change IAM without confirmation: stdin is not a terminal, pass --yes")]
    NotConfirmed,
    #[error("cancelled: nothing was changed")]
    Cancelled,
    #[error("{failed} of {total} roles were not applied (see above)")]
    SomeRolesFailed { failed: usize, total: usize },
}

fn runtime() -> Result<tokio::runtime::Runtime, ApplyError> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(ApplyError::Runtime)
}

fn has_inferred(plan: &TrustPlan) -> bool {
    plan.roles
        .iter()
        .any(|r| r.permissions == PermissionSource::Inferred)
}

/// The user's permissions (and the documents behind them, for bounding inferred policies),
/// read from IAM for the emitters: `trust --copy-permissions-from USER` without `--apply`.
/// Also prints the evidence tables of the plan's inferred roles (`trail`: `--evidence cloudtrail`).
pub fn read_copied(
    plan: &TrustPlan,
    user: &str,
    trail: Option<&[String]>,
) -> Result<(CopiedPermissions, Vec<Value>), ApplyError> {
    runtime()?.block_on(async {
        let iam = IamApply::connect().await;
        let permissions = iam.user_permissions(user).await?;
        let documents = iam.policy_documents(&permissions).await?;
        if has_inferred(plan) {
            print_evidence(&iam, plan, user, &documents, trail).await;
        }
        Ok((permissions.copied_from(user)?, documents))
    })
}

/// Inferred policies bounded by the user's own (role name → document); prints what was dropped.
pub fn bounded_policies(
    plan: &TrustPlan,
    user: &str,
    documents: &[Value],
) -> BTreeMap<String, Value> {
    let mut out = BTreeMap::new();
    for bounded in permissions::bounded_policies(plan, user, documents) {
        for message in &bounded.dropped {
            eprintln!("warning: role {}: {message}", bounded.role);
        }
        if bounded.dropped.is_empty() {
            eprintln!(
                "role {}: every inferred permission is within IAM user {user}'s",
                bounded.role
            );
        }
        out.insert(bounded.role, bounded.document);
    }
    out
}

/// The inferred / observed / granted table of every inferred role on stderr: IAM's last
/// accessed data, and with `trail` the keys' CloudTrail calls. Evidence only: when it cannot
/// be read a warning says so and nothing else changes.
async fn print_evidence(
    iam: &IamApply,
    plan: &TrustPlan,
    user: &str,
    documents: &[Value],
    trail: Option<&[String]>,
) {
    let calls = match trail {
        Some(regions) => match iam.trail_calls(user, regions).await {
            Ok(found) => {
                super::print_warnings(&found.warnings);
                Some(found.calls)
            }
            Err(error) => {
                eprintln!("warning: no CloudTrail evidence for IAM user {user}: {error}");
                None
            }
        },
        None => None,
    };
    let uses = match iam.last_accessed(user).await {
        Ok(uses) => uses,
        Err(error) => {
            eprintln!("warning: no evidence of real use for IAM user {user}: {error}");
            return;
        }
    };
    for role in &plan.roles {
        let Some(inferred) = role
            .inferred
            .as_ref()
            .filter(|_| role.permissions == PermissionSource::Inferred)
        else {
            continue;
        };
        eprintln!(
            "role {}: inferred / observed / granted to IAM user {user}:",
            role.name
        );
        for line in evidence::table(&inferred.statements, &uses, calls.as_deref(), documents) {
            eprintln!("{line}");
        }
    }
}

fn confirm(yes: bool) -> Result<(), ApplyError> {
    if yes {
        return Ok(());
    }
    if !std::io::stdin().is_terminal() {
        return Err(ApplyError::NotConfirmed);
    }
    eprint!("Apply these changes? [y/N] ");
    std::io::stderr().flush().ok();
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer).ok();
    if matches!(answer.trim(), "y" | "Y" | "yes") {
        Ok(())
    } else {
        Err(ApplyError::Cancelled)
    }
}

/// Applies the plan, printing the changes on stderr and the summary on stdout.
/// `trail`: with `--evidence cloudtrail`, the regions to read (empty: every enabled region).
pub fn apply(
    plan: &TrustPlan,
    yes: bool,
    copy_from: Option<&str>,
    trail: Option<&[String]>,
) -> Result<(), ApplyError> {
    runtime()?.block_on(async {
        let iam = IamApply::connect().await;
        apply_with(&iam, plan, yes, copy_from, trail).await
    })
}

async fn apply_with(
    iam: &IamApply,
    plan: &TrustPlan,
    yes: bool,
    copy_from: Option<&str>,
    trail: Option<&[String]>,
) -> Result<(), ApplyError> {
    let changes = iam.observe(plan).await?;
    let copied = match copy_from {
        Some(user) => Some(iam.user_permissions(user).await?),
        None => None,
    };
    let mut bounded = BTreeMap::new();
    if let (Some(user), Some(copied)) = (copy_from, &copied) {
        let inline: Vec<&str> = copied
            .inline
            .iter()
            .map(|(name, _)| name.as_str())
            .collect();
        eprintln!(
            "roles with copied permissions get those of IAM user {user}, and inferred ones are bounded by them: managed [{}], inline [{}]",
            copied.managed.join(", "),
            inline.join(", ")
        );
        if has_inferred(plan) {
            let documents = iam.policy_documents(copied).await?;
            print_evidence(iam, plan, user, &documents, trail).await;
            bounded = bounded_policies(plan, user, &documents);
        }
    }
    for line in changes.describe() {
        eprintln!("{line}");
    }
    let mut report = Vec::new();
    if changes.has_work() {
        confirm(yes)?;
        iam.apply_provider(&changes.provider).await?;
        match &changes.provider {
            ProviderChange::Create { url, .. } => report.push(format!("created provider {url}")),
            ProviderChange::AddClientIds { arn, client_ids } => {
                report.push(format!("added {} to {arn}", client_ids.join(", ")))
            }
            ProviderChange::Unchanged { .. } => {}
        }
    } else {
        report.push("nothing to change: IAM already matches the plan".to_string());
    }
    let mut failed = changes.conflicts();
    for (role, change) in &changes.roles {
        match change {
            RoleChange::Create => {
                let granted = Permissions::for_role(role, copied.as_ref(), bounded.get(&role.name));
                match iam.create_role(plan, role, &granted).await {
                    Ok(()) => report.push(format!("created role {} ({})", role.name, role.arn)),
                    Err(RoleNotCreated::InvalidTrust(reason)) => {
                        eprintln!("error: role {}: {reason}", role.name);
                        failed += 1;
                    }
                    Err(error) => {
                        eprintln!("error: role {} not created: {error}", role.name);
                        failed += 1;
                    }
                }
            }
            RoleChange::Unchanged => report.push(format!("unchanged role {}", role.name)),
            RoleChange::Conflict { .. } => {}
        }
    }
    // The summary goes to stdout even when some roles failed: it says which succeeded.
    super::print(&format!("{}\n", report.join("\n")));
    if failed > 0 {
        return Err(ApplyError::SomeRolesFailed {
            failed,
            total: plan.roles.len(),
        });
    }
    Ok(())
}
