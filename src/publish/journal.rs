//! The campaign ledger as `rewrite --pr`'s [`Journal`] (effects: the ledger, and GitHub to
//! settle what a killed run left pending): every branch push, pull request and label is
//! journaled before it is sent, and the pull request it gave recorded against its repository.

use std::sync::Mutex;

use super::{BRANCH, Journal, JournalError};
use crate::campaign::settle::{self, Observation};
use crate::campaign::state::RepoState;
use crate::campaign::{JournalAction, JournalId, JournalResult, Ledger};
use crate::github::GitHubWriter;
use crate::scan::remote::Target;

/// The ledger, shared by the run's targets (published in parallel).
pub struct LedgerJournal(Mutex<Ledger>);

/// The actions `rewrite --pr` journals.
const PR_ACTIONS: [JournalAction; 4] = [
    JournalAction::PushBranch,
    JournalAction::OpenPr,
    JournalAction::UpdatePr,
    JournalAction::AddLabels,
];

impl LedgerJournal {
    pub fn new(ledger: Ledger) -> Self {
        Self(Mutex::new(ledger))
    }

    /// Runs `f` on the ledger; `None` when an earlier panic poisoned the lock.
    pub fn with<R>(&self, f: impl FnOnce(&Ledger) -> R) -> Option<R> {
        // A poisoned lock means an earlier panic; the ledger file itself is still consistent.
        self.0.lock().ok().map(|ledger| f(&ledger))
    }

    /// Entries a killed run left open are settled from remote truth (does the branch or pull
    /// request exist?), never by repeating the write: the run that follows re-plans anyway.
    /// Only the target's own entries: another organization's are settled through its token.
    pub async fn settle_pending(&self, writer: &GitHubWriter, target: &Target) {
        let pending = self
            .with(|l| l.pending().unwrap_or_default())
            .unwrap_or_default();
        for entry in pending
            .into_iter()
            .filter(|e| PR_ACTIONS.contains(&e.action))
        {
            let Some((owner, name)) = entry.repo.split_once('/') else {
                continue;
            };
            let ours = match target {
                Target::Org(org) => owner.eq_ignore_ascii_case(org),
                Target::Repos(repos) => repos.iter().any(|r| r.eq_ignore_ascii_case(&entry.repo)),
            };
            if !ours {
                continue;
            }
            let exists = match entry.action {
                JournalAction::PushBranch => writer
                    .branch_tip(owner, name, BRANCH)
                    .await
                    .ok()
                    .flatten()
                    .is_some(),
                _ => writer
                    .pulls_for_branch(owner, name, BRANCH)
                    .await
                    .is_ok_and(|pulls| !pulls.is_empty()),
            };
            if let Some(result) = settle::decide(&entry.action, Observation::Created { exists }) {
                self.with(|l| l.journal_end(entry.id, &result));
            }
        }
    }
}

impl Journal for LedgerJournal {
    fn begin(
        &self,
        repo: &str,
        action: &JournalAction,
        target: &str,
        detail: serde_json::Value,
    ) -> Result<Option<i64>, JournalError> {
        self.with(|l| {
            l.journal_begin(repo, action, target, &detail)
                .map(|id| Some(id.0))
                .map_err(JournalError::from)
        })
        .unwrap_or(Err(JournalError::Poisoned))
    }

    fn end(&self, id: Option<i64>, error: Option<&str>) {
        let Some(id) = id else { return };
        let result = error.map_or(JournalResult::Done, |e| {
            JournalResult::Failed(e.to_string())
        });
        self.with(|l| l.journal_end(JournalId(id), &result));
    }

    fn pull_request(&self, repo: &str, number: u64, url: &str, head: &str) {
        self.with(|l| {
            let _ = l.set_pr(repo, number, url, head);
            let _ = l.set_state(repo, RepoState::PrOpen, None);
        });
    }
}
