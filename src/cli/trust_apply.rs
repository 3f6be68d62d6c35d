//! `migrate trust --apply` and `--copy-permissions-from`, wired: the IAM reads and writes
//! ([`crate::iam::copied`], [`crate::iam::apply_plan`]) on a runtime, the confirmation (or
//! `--yes`), and what they found and did (rendered by [`crate::report::trust`]): the changes,
//! the evidence and the bounding on stderr, the summary on stdout.

use crate::iam::IamError;
use crate::iam::apply::IamApply;
use crate::iam::apply_plan::{self, Step};
use crate::iam::copied::{self, Found};
use crate::report::Line;
use crate::report::trust as render;
use crate::trust::permissions;
use crate::trust::plan::TrustPlan;

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

/// Shows what reading the old user found, on stderr, as it is found.
fn show(plan: &TrustPlan, user: &str) -> impl FnMut(Found<'_>) {
    move |found| match found {
        Found::Permissions(copied) => eprint!("{}", render::copied_from(user, copied)),
        Found::Evidence {
            evidence,
            documents,
        } => {
            super::print_warnings(&evidence.warnings);
            eprint!("{}", render::evidence(plan, user, evidence, documents));
        }
        Found::Bounded(bounded) => eprint!("{}", render::bounded(user, bounded)),
    }
}

/// `--copy-permissions-from USER` without `--apply`: the user's permissions, read from IAM (its
/// evidence tables on stderr), for the roles that copy them, and its policies as the bound of
/// the inferred ones; what IAM would refuse of them goes to `warnings`.
pub fn copy_permissions(
    plan: &mut TrustPlan,
    user: &str,
    trail: Option<&[String]>,
    warnings: &mut Vec<String>,
) -> Result<(), ApplyError> {
    let (copied, bounded) = runtime()?.block_on(async {
        let iam = IamApply::connect().await;
        copied::for_emitters(&iam, plan, user, trail, &mut show(plan, user)).await
    })?;
    warnings.extend(permissions::copy_into(plan, &copied, bounded));
    Ok(())
}

fn confirm(yes: bool) -> Result<(), ApplyError> {
    if yes {
        return Ok(());
    }
    let answer = super::ask("Apply these changes? [y/N] ").ok_or(ApplyError::NotConfirmed)?;
    if super::is_yes(&answer) {
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
        let mut found = show(plan, copy_from.unwrap_or_default());
        let prepared = apply_plan::prepare(&iam, plan, copy_from, trail, &mut found).await?;
        for line in prepared.changes.describe() {
            eprintln!("{line}");
        }
        if prepared.changes.has_work() {
            confirm(yes)?;
        }
        let mut summary = Vec::new();
        let mut report = |step: Step<'_>| match render::applied(&step) {
            Some(Line::Out(line)) => summary.push(line),
            Some(Line::Err(line)) => eprintln!("{line}"),
            None => {}
        };
        let failed = apply_plan::execute(&iam, plan, &prepared, &mut report).await?;
        // The summary goes to stdout even when some roles failed: it says which succeeded.
        super::print(&format!("{}\n", summary.join("\n")));
        if failed > 0 {
            return Err(ApplyError::SomeRolesFailed {
                failed,
                total: plan.roles.len(),
            });
        }
        Ok(())
    })
}
