//! `rewrite --pr --max-requests`: a run resumes one that stopped. A pull request the stopped
//! run published for the same plan at the same base, and that is still open, is taken from
//! the ledger without a request; a run that finishes forgets what it kept, so the next one
//! checks every repository against GitHub again.

use super::journal::LedgerJournal;
use super::{RepoOutcome, RepoPlan};
use crate::scan::remote::Target;

/// What a stopped run published, kept in the ledger under its target.
pub struct Resume<'a> {
    ledger: &'a LedgerJournal,
    key: String,
    /// What shapes a pull request besides its plan (`--draft`, `--label`).
    draft: bool,
    labels: &'a [String],
}

/// The ledger's key for what runs on `target` keep.
fn key(target: &Target) -> String {
    format!("rewrite {target:?}")
}

/// The run on `target` finished: nothing it kept is taken as published again.
pub fn forget(ledger: &LedgerJournal, target: &Target) {
    ledger.with(|l| l.clear_resume_entries(&key(target)));
}

impl<'a> Resume<'a> {
    pub fn new(
        ledger: &'a LedgerJournal,
        target: &Target,
        draft: bool,
        labels: &'a [String],
    ) -> Self {
        Self {
            ledger,
            key: key(target),
            draft,
            labels,
        }
    }

    /// What a published pull request was made from: the plan as the JSON output shows it, the
    /// rewritten texts, and the settings that shape its body. Equal fingerprints at the same
    /// base publish the same pull request.
    pub fn fingerprint(&self, plan: &RepoPlan) -> String {
        use std::hash::{Hash, Hasher};
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        serde_json::to_string(plan)
            .unwrap_or_default()
            .hash(&mut hasher);
        for file in &plan.files {
            file.text.hash(&mut hasher);
        }
        (self.draft, self.labels).hash(&mut hasher);
        format!("{:016x}", hasher.finish())
    }

    /// The pull request a stopped run published for this plan (same fingerprint, same base),
    /// when it is among the `open` ones discovery just saw: one closed since is not taken.
    pub fn published(
        &self,
        repo: &str,
        plan: &RepoPlan,
        fingerprint: &str,
        open: &[u64],
    ) -> Option<RepoOutcome> {
        let kept = self
            .ledger
            .with(|ledger| {
                ledger
                    .resume_entry(&self.key, repo, "published", &plan.base)
                    .ok()
                    .flatten()
            })
            .flatten()
            .and_then(|text| serde_json::from_str::<serde_json::Value>(&text).ok())
            .filter(|v| v["plan"] == fingerprint)
            .filter(|v| v["number"].as_u64().is_some_and(|n| open.contains(&n)))?;
        Some(RepoOutcome::UpToDate {
            number: kept["number"].as_u64().unwrap_or_default(),
            url: kept["url"].as_str().unwrap_or_default().to_string(),
        })
    }

    /// Keeps the pull request `outcome` names (opened, updated or up to date) for a run that
    /// resumes this one.
    pub fn record(&self, repo: &str, base: &str, fingerprint: &str, outcome: &RepoOutcome) {
        let (RepoOutcome::Opened { number, url }
        | RepoOutcome::Updated { number, url }
        | RepoOutcome::UpToDate { number, url }) = outcome
        else {
            return;
        };
        let record = serde_json::json!({"plan": fingerprint, "number": number, "url": url});
        self.ledger.with(|l| {
            l.record_resume_entry(&self.key, repo, "published", base, &record.to_string())
        });
    }
}
