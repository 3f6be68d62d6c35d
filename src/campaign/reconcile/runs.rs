//! Verification from GitHub Actions: whether a migrated workflow has run successfully on the
//! default branch since the campaign PR merged.

use std::collections::BTreeMap;

use super::CampaignError;
use crate::campaign::cleanup::RepoFacts;
use crate::campaign::ledger::Ledger;
use crate::campaign::state::Verification;
use crate::campaign::{state, time};
use crate::github::Connections;
use crate::scan::remote;

/// Merged repositories whose migrated workflows have since run successfully on the default
/// branch: the ledger's earlier verification of the same merge, else the Actions runs API
/// (one request per merged, not yet verified repository).
pub(super) async fn verifications(
    github: &Connections,
    ledger: &Ledger,
    repos: &[(RepoFacts, &remote::RepoRecord, Vec<String>, usize)],
    errors: &mut Vec<String>,
) -> Result<BTreeMap<String, Verification>, CampaignError> {
    let mut out: BTreeMap<String, Verification> = BTreeMap::new();
    let earlier: BTreeMap<String, Verification> = ledger
        .verifications()?
        .into_iter()
        .map(|v| (v.repo.clone(), v))
        .collect();
    let mut wanted = Vec::new();
    for (facts, record, _, _) in repos {
        let Some((pull, merged_at)) = facts
            .pull
            .as_ref()
            .and_then(|p| p.merged_at.filter(|_| p.merged).map(|at| (p, at)))
        else {
            continue;
        };
        match earlier.get(&facts.repo) {
            Some(v) if v.merged_at == merged_at => {
                out.insert(facts.repo.clone(), v.clone());
            }
            _ => {
                if let Some(branch) = &record.default_branch {
                    wanted.push((facts.repo.clone(), branch.clone(), pull, merged_at));
                }
            }
        }
    }
    let since: Vec<String> = wanted
        .iter()
        .map(|(.., merged_at)| time::format(*merged_at))
        .collect();
    let lookups = futures::future::join_all(wanted.iter().zip(&since).map(
        |((repo, branch, ..), since)| {
            let (owner, name) = repo.split_once('/').unwrap_or_default();
            async move {
                github
                    .for_owner(owner)?
                    .successful_runs_since(owner, name, branch, since)
                    .await
            }
        },
    ))
    .await;
    for ((repo, _, pull, merged_at), runs) in wanted.iter().zip(lookups) {
        let runs = match runs {
            Ok(runs) => runs,
            Err(e) => {
                errors.push(format!("{repo}: workflow runs: {e}"));
                continue;
            }
        };
        if let Some(v) = state::verifying_run(repo, pull, *merged_at, &runs) {
            ledger.record_verification(&v)?;
            out.insert(repo.clone(), v);
        }
    }
    Ok(out)
}
