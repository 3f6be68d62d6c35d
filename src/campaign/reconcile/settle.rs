//! What a pending journal entry of `cleanup` and `undo` changed, as this run's remote truth
//! shows it (keys and users from IAM, secrets from the scan); [`crate::campaign::settle`]
//! decides from it whether the write took effect, never a blind retry.

use super::Truth;
use crate::campaign::cleanup::secrets_of;
use crate::campaign::journal::JournalAction;
use crate::campaign::ledger::{JournalEntry, JournalResult};
use crate::campaign::settle::{self, Observation};
use crate::scan::remote;

pub(super) fn is_key_action(e: &JournalEntry) -> bool {
    e.action.is_key_write()
}

/// When this campaign last deactivated a key and did not reactivate it since.
pub fn deactivated_at(journal: &[JournalEntry], key: &str) -> Option<i64> {
    let mut at = None;
    for e in journal
        .iter()
        .filter(|e| e.target == key && e.took_effect())
    {
        match &e.action {
            JournalAction::DeactivateKey => at = Some(e.finished_at.unwrap_or(e.started_at)),
            JournalAction::ReactivateKey => at = None,
            _ => {}
        }
    }
    at
}

/// Decides a pending entry from remote truth; `None` when this run did not observe what it
/// would take (the entry stays pending for a run that does).
pub(super) fn resolve(
    e: &JournalEntry,
    truth: &Truth,
    scan: &remote::RemoteScan,
) -> Option<JournalResult> {
    let removed = |still_there| Observation::Removed { still_there };
    let seen = match &e.action {
        JournalAction::DeactivateKey | JournalAction::ReactivateKey | JournalAction::DeleteKey => {
            Observation::Key(truth.keys.get(&e.target)?.status)
        }
        JournalAction::DeleteUser => removed(*truth.users.get(&e.target)?),
        JournalAction::DeleteSecret => {
            let record = scan
                .repositories
                .iter()
                .find(|r| r.repository == e.repo && r.outcome == "scanned")?;
            let view = truth.repos.iter().find(|r| r.facts.repo == e.repo);
            if view.is_some_and(|v| !v.facts.scanned) {
                return None;
            }
            let mut parts = e.target.splitn(3, ':');
            let still_there = match (parts.next()?, parts.next(), parts.next()) {
                ("repository", Some(name), None) => record
                    .secrets
                    .iter()
                    .any(|s| s.scope == "repository" && s.name == name),
                ("environment", Some(env), Some(name)) => record.secrets.iter().any(|s| {
                    s.scope == "environment"
                        && s.environment.as_deref() == Some(env)
                        && s.name == name
                }),
                _ => return None,
            };
            removed(still_there)
        }
        JournalAction::DeleteOrgSecret | JournalAction::RemoveFromOrgSecret => {
            // `org:ORG:NAME`: settled only from that organization's own secrets.
            let (org, name) = e.target.strip_prefix("org:")?.split_once(':')?;
            let (_, secrets) = secrets_of(&truth.org_secrets, org)?;
            let secret = secrets.iter().find(|s| s.name == name);
            let short = e.repo.rsplit('/').next().unwrap_or(&e.repo);
            removed(match e.action {
                JournalAction::DeleteOrgSecret => secret.is_some(),
                // The repository's access to it is what the write removed.
                _ => secret.is_some_and(|s| {
                    s.selected
                        .as_ref()
                        .is_none_or(|sel| sel.iter().any(|r| r == short))
                }),
            })
        }
        // Other commands' entries are theirs to resolve.
        _ => return None,
    };
    settle::decide(&e.action, seen)
}
