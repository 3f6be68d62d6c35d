//! `migrate undo` against IAM (effects: IAM and the ledger): the key and user writes a crash
//! left pending, settled from what IAM shows now; where each key the campaign deactivated
//! stands; and the reactivations, each journaled before it is sent.

use super::key_status::KeyStatus;
use super::reconcile::CampaignError;
use super::settle::{self, Observation};
use super::undo::Reactivation;
use super::{JournalAction, JournalResult, Ledger};
use crate::iam::IamError;
use crate::iam::keys::IamKeys;

/// Settles every pending IAM write of the journal: IAM says whether it happened. An entry
/// IAM's answer says nothing about stays pending.
pub async fn settle_pending(ledger: &Ledger, iam: &IamKeys) -> Result<(), CampaignError> {
    let journal = ledger.journal()?;
    for e in journal.iter().filter(|e| e.is_pending() && e.writes_iam()) {
        let seen = if e.action == JournalAction::DeleteUser {
            Observation::Removed {
                still_there: iam.users().exists(&e.target).await?,
            }
        } else {
            Observation::Key(iam.key(&e.target).await?.status)
        };
        if let Some(result) = settle::decide(&e.action, seen) {
            ledger.journal_end(e.id, &result)?;
        }
    }
    Ok(())
}

/// Where a key the campaign deactivated stands now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Standing {
    /// Inactive (or expired): to reactivate.
    Reactivate,
    AlreadyActive,
    /// Deleted since: it cannot come back.
    Gone,
}

/// Each key of `keys`, as IAM holds it now.
pub async fn standings<'k>(
    iam: &IamKeys,
    keys: &'k [Reactivation],
) -> Result<Vec<(&'k Reactivation, Standing)>, IamError> {
    let mut out = Vec::new();
    for r in keys {
        let standing = match iam.key(&r.access_key_id).await?.status {
            KeyStatus::Inactive | KeyStatus::Expired => Standing::Reactivate,
            KeyStatus::Active => Standing::AlreadyActive,
            _ => Standing::Gone,
        };
        out.push((r, standing));
    }
    Ok(out)
}

/// Reactivates each key, journaled first (a journal that cannot be written stops the run
/// before the write) and closed with the result, reported as it is done (`Err`: IAM refused).
/// Returns how many failed.
pub async fn reactivate(
    ledger: &Ledger,
    iam: &IamKeys,
    keys: &[&Reactivation],
    report: &mut dyn FnMut(&Reactivation, Result<(), IamError>),
) -> Result<usize, CampaignError> {
    let mut failed = 0;
    for r in keys {
        let detail = serde_json::json!({ "user": r.user });
        let id = ledger.journal_begin(
            &r.repo,
            &JournalAction::ReactivateKey,
            &r.access_key_id,
            &detail,
        )?;
        let result = iam
            .set_active(&r.user, &r.access_key_id, true)
            .await
            .map(|_| ());
        let outcome = match &result {
            Ok(()) => JournalResult::Done,
            Err(e) => JournalResult::Failed(e.to_string()),
        };
        ledger.journal_end(id, &outcome)?;
        failed += usize::from(result.is_err());
        report(r, result);
    }
    Ok(failed)
}
