//! Evidence for a proposed key map (effects): the candidate keys (used, active keys of IAM
//! users no mapped key belongs to), their CloudTrail events, the runs of the repositories that
//! still hold old secrets without a mapped key, and GitHub's Actions address ranges; placed by
//! [`crate::campaign::attribution`].

use std::collections::BTreeSet;

use super::{CampaignError, Truth, iam::look_up};
use crate::campaign::attribution::{self, AddressRanges, KeyAttribution, Provenance, RunWindow};
use crate::campaign::keymap::{self, KeyRef};
use crate::campaign::time;
use crate::cloudtrail::{self, CloudTrail};
use crate::github::{Connections, GitHubError};
use crate::iam::keys::IamKeys;

/// Pages of 100 runs read per repository: the newest 1,000 runs of 90 days.
const RUN_PAGES: usize = 10;
/// Keys looked up at once (each already spans every region, paced per region).
const KEYS_AT_ONCE: usize = 4;

/// What `status --suggest-key-map` writes and prints.
#[derive(Debug)]
pub struct Proposal {
    pub attributions: Vec<KeyAttribution>,
    pub provenance: Provenance,
}

impl Proposal {
    pub fn key_map(&self) -> String {
        attribution::render_key_map(&self.attributions, &self.provenance)
    }
}

/// Gathers the evidence for the repositories of `truth` that hold old secrets and have no
/// key mapped, and attributes every candidate key.
pub async fn propose_key_map(
    github: &Connections,
    iam: &IamKeys,
    trail: &CloudTrail,
    truth: &Truth,
) -> Result<Proposal, CampaignError> {
    let now = time::now();
    let since = now - cloudtrail::DAYS * 86_400;
    let unmapped: Vec<&super::RepoView> = truth
        .repos
        .iter()
        .filter(|r| r.facts.keys.is_empty() && r.observed.old_secrets_present > 0)
        .collect();
    let mut caveats = Vec::new();

    // Candidates: every key of a user the credential report shows with a used active key,
    // except the keys the key map already gives to a repository.
    let used = keymap::recently_used_users(&iam.credential_report().await?);
    let refs: BTreeSet<KeyRef> = used.into_iter().map(KeyRef::User).collect();
    let mut candidates: Vec<_> = look_up(iam, refs)
        .await?
        .into_values()
        .flatten()
        .filter(|k| k.status.is_active() && k.last_used.is_some())
        .filter(|k| !truth.keys.contains_key(&k.id))
        .collect();
    candidates.sort_by(|a, b| a.id.cmp(&b.id));

    let ranges = match github.any().ok_or_else(|| GitHubError::NoConnection {
        owner: "GET /meta".into(),
    }) {
        Ok(reader) => reader.actions_ranges().await,
        Err(e) => Err(e),
    };
    let ranges = match ranges {
        Ok(cidrs) => {
            let (ranges, bad) = AddressRanges::parse(cidrs.iter().map(String::as_str));
            if bad > 0 {
                caveats.push(format!(
                    "{bad} address range(s) of GET /meta could not be read"
                ));
            }
            ranges
        }
        Err(e) => {
            caveats.push(format!(
                "no Actions address ranges ({e}): no call can be placed"
            ));
            AddressRanges::default()
        }
    };

    // The windows of the runs that can have used an old key.
    let since_text = time::format(since);
    let lookups = futures::future::join_all(unmapped.iter().map(|r| {
        let (owner, name) = r.facts.repo.split_once('/').unwrap_or_default();
        let since = &since_text;
        async move {
            github
                .for_owner(owner)?
                .runs_since(owner, name, since, RUN_PAGES)
                .await
        }
    }))
    .await;
    let mut windows = Vec::new();
    for (repo, runs) in unmapped.iter().zip(lookups) {
        let slug = &repo.facts.repo;
        let (runs, more) = match runs {
            Ok(found) => found,
            Err(e) => {
                caveats.push(format!("{slug}: workflow runs could not be read: {e}"));
                continue;
            }
        };
        if more {
            caveats.push(format!(
                "{slug}: only the newest {} runs were read",
                RUN_PAGES * 100
            ));
        }
        let wanted = truth.key_workflows.get(slug).cloned().flatten();
        windows.extend(runs.into_iter().filter_map(|run| {
            let path = run.path.split('@').next().unwrap_or_default();
            if wanted.as_ref().is_some_and(|w| !w.contains(path)) {
                return None;
            }
            Some(RunWindow {
                repo: slug.clone(),
                run_id: run.id,
                start: time::parse(&run.started_at)?,
                end: time::parse(&run.updated_at)?,
            })
        }));
    }

    // Every candidate key's events, a few keys at a time (each region keeps its own pace).
    use futures::StreamExt;
    let histories: Vec<_> = futures::stream::iter(&candidates)
        .map(|key| async move { (key, trail.key_events(&key.id, since).await) })
        .buffered(KEYS_AT_ONCE)
        .collect()
        .await;
    let mut attributions = Vec::new();
    for (key, history) in histories {
        for region in &history.truncated {
            caveats.push(format!(
                "{} in {region}: only the newest {} events were read",
                crate::detect::aws_key_literal::mask_key_id(&key.id),
                cloudtrail::MAX_PAGES * 50
            ));
        }
        for (region, error) in &history.failed {
            caveats.push(format!("{region}: {error}"));
        }
        attributions.push(attribution::attribute(
            &key.id,
            &key.user,
            &history.events,
            &ranges,
            &windows,
        ));
    }
    caveats.sort();
    caveats.dedup();
    Ok(Proposal {
        attributions,
        provenance: Provenance {
            made_at: now,
            days: cloudtrail::DAYS,
            regions: trail.regions(),
            keys: candidates.len(),
            repos: unmapped.len(),
            caveats,
        },
    })
}
