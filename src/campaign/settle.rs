//! Settling a journal entry a killed run left pending (pure): from what the remote shows now,
//! whether its write took effect — never a blind retry. Each command observes the targets its
//! own way (IAM for keys and users, the scan for secrets, GitHub for branches, pull requests,
//! comments and issues); the decision for every action is made here, once.

use super::journal::JournalAction;
use super::key_status::KeyStatus;
use super::ledger::JournalResult;

/// What a run sees now of a pending entry's target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Observation {
    /// The access key's status (`Missing` once deleted).
    Key(KeyStatus),
    /// Whether the thing the write creates exists: a branch, a pull request, labels on it, a
    /// comment, an issue.
    Created { exists: bool },
    /// Whether the thing the write removes is still there: an IAM user, a secret, an
    /// organization secret, a repository's access to one.
    Removed { still_there: bool },
}

/// Whether `action` took effect, as `seen` shows; `None` when `seen` says nothing about it
/// (the entry stays pending for a run that observes the right thing).
pub fn decide(action: &JournalAction, seen: Observation) -> Option<JournalResult> {
    use JournalAction::*;
    let took_effect = match (action, seen) {
        (DeactivateKey, Observation::Key(status)) => !status.is_active(),
        (ReactivateKey, Observation::Key(status)) => status.is_active(),
        (DeleteKey, Observation::Key(status)) => status == KeyStatus::Missing,
        (
            DeleteUser | DeleteSecret | DeleteOrgSecret | RemoveFromOrgSecret,
            Observation::Removed { still_there },
        ) => !still_there,
        (
            PushBranch | OpenPr | UpdatePr | AddLabels | CommentFailure | TrackingIssue,
            Observation::Created { exists },
        ) => exists,
        _ => return None,
    };
    Some(if took_effect {
        JournalResult::Observed
    } else {
        JournalResult::NotDone
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_action_is_decided_by_what_it_changes() {
        let key = |s| Observation::Key(s);
        let observed = Some(JournalResult::Observed);
        let not_done = Some(JournalResult::NotDone);
        use JournalAction::*;
        assert_eq!(decide(&DeactivateKey, key(KeyStatus::Inactive)), observed);
        assert_eq!(decide(&DeactivateKey, key(KeyStatus::Active)), not_done);
        assert_eq!(decide(&ReactivateKey, key(KeyStatus::Active)), observed);
        assert_eq!(decide(&DeleteKey, key(KeyStatus::Inactive)), not_done);
        assert_eq!(decide(&DeleteKey, key(KeyStatus::Missing)), observed);
        let removed = |still_there| Observation::Removed { still_there };
        for action in [
            DeleteUser,
            DeleteSecret,
            DeleteOrgSecret,
            RemoveFromOrgSecret,
        ] {
            assert_eq!(decide(&action, removed(false)), observed);
            assert_eq!(decide(&action, removed(true)), not_done);
        }
        let created = |exists| Observation::Created { exists };
        for action in [
            PushBranch,
            OpenPr,
            UpdatePr,
            AddLabels,
            CommentFailure,
            TrackingIssue,
        ] {
            assert_eq!(decide(&action, created(true)), observed);
            assert_eq!(decide(&action, created(false)), not_done);
        }
        // An observation of something else decides nothing.
        assert_eq!(decide(&DeleteKey, created(true)), None);
        assert_eq!(decide(&OpenPr, key(KeyStatus::Active)), None);
        assert_eq!(decide(&Other("later".into()), removed(false)), None);
    }
}
