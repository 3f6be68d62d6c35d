//! What `migrate status` reads beyond what every campaign command gathers (effects): why the
//! migrated workflows' runs failed, with the state that follows from it, and, with
//! `--preflight`, whether each open pull request's jobs may assume their roles. What cannot be
//! read goes to the truth's errors and the run goes on.

use std::collections::BTreeMap;

use super::{Truth, failures, preflight};
use crate::campaign::Ledger;
use crate::github::Connections;
use crate::iam::keys::IamKeys;
use crate::trust::Issuer;

/// Adds the failures and (with `issuer` and IAM) the pre-flight rows to `truth`.
pub async fn diagnose(
    github: &Connections,
    ledger: &Ledger,
    iam: Option<&IamKeys>,
    issuer: Option<&Issuer>,
    truth: &mut Truth,
) {
    let default_branches: BTreeMap<String, String> = ledger
        .repos()
        .unwrap_or_default()
        .into_iter()
        .filter_map(|r| r.default_branch.map(|b| (r.repo, b)))
        .collect();
    let mut errors = Vec::new();
    truth.failures =
        failures::diagnose(github, iam, &truth.repos, &default_branches, &mut errors).await;
    truth.errors.append(&mut errors);
    failures::apply(&mut truth.repos, &truth.failures);
    if let (Some(iam), Some(issuer)) = (iam, issuer) {
        truth.preflight = preflight::open_pulls(
            github,
            iam,
            issuer,
            &truth.repos,
            &default_branches,
            &mut errors,
        )
        .await;
        truth.errors.append(&mut errors);
    }
}
