//! What the journal records (pure): the kind of each external write, and where its entry
//! stands. Stored as text in the ledger; an action a newer migrate wrote is kept as `Other`,
//! shown, and never acted on.

use serde::{Serialize, Serializer};

/// One kind of external write.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum JournalAction {
    DeactivateKey,
    ReactivateKey,
    DeleteKey,
    DeleteUser,
    DeleteSecret,
    RemoveFromOrgSecret,
    DeleteOrgSecret,
    PushBranch,
    OpenPr,
    UpdatePr,
    AddLabels,
    CommentFailure,
    TrackingIssue,
    /// An action this version does not know.
    Other(String),
}

impl JournalAction {
    const NAMES: [(Self, &'static str); 13] = [
        (Self::DeactivateKey, "deactivate_key"),
        (Self::ReactivateKey, "reactivate_key"),
        (Self::DeleteKey, "delete_key"),
        (Self::DeleteUser, "delete_user"),
        (Self::DeleteSecret, "delete_secret"),
        (Self::RemoveFromOrgSecret, "remove_from_org_secret"),
        (Self::DeleteOrgSecret, "delete_org_secret"),
        (Self::PushBranch, "push_branch"),
        (Self::OpenPr, "open_pr"),
        (Self::UpdatePr, "update_pr"),
        (Self::AddLabels, "add_labels"),
        (Self::CommentFailure, "comment_failure"),
        (Self::TrackingIssue, "tracking_issue"),
    ];

    /// The name stored in the ledger and shown to people.
    pub fn as_str(&self) -> &str {
        match self {
            Self::Other(name) => name,
            known => Self::NAMES
                .iter()
                .find(|(action, _)| action == known)
                .map_or("", |(_, name)| name),
        }
    }

    pub fn parse(text: &str) -> Self {
        Self::NAMES
            .iter()
            .find(|(_, name)| *name == text)
            .map_or_else(
                || Self::Other(text.to_string()),
                |(action, _)| action.clone(),
            )
    }

    /// Changes an access key: its target is a key id (shown masked).
    pub fn is_key_write(&self) -> bool {
        matches!(
            self,
            Self::DeactivateKey | Self::ReactivateKey | Self::DeleteKey
        )
    }

    /// Changes IAM: a key's status or existence, or a user's.
    pub fn writes_iam(&self) -> bool {
        self.is_key_write() || *self == Self::DeleteUser
    }
}

impl std::fmt::Display for JournalAction {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for JournalAction {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

/// Where an entry stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JournalState {
    /// Begun, not completed: the write may or may not have happened.
    Pending,
    Done,
    Failed,
    /// Found pending after a crash; the remote shows the write took effect.
    Observed,
    /// Found pending after a crash; the remote shows it did not.
    NotDone,
}

impl JournalState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Done => "done",
            Self::Failed => "failed",
            Self::Observed => "observed",
            Self::NotDone => "not-done",
        }
    }

    /// From the ledger's text; an unknown state is read as pending (settled from remote truth
    /// before anything relies on it).
    pub fn parse(text: &str) -> Self {
        match text {
            "done" => Self::Done,
            "failed" => Self::Failed,
            "observed" => Self::Observed,
            "not-done" => Self::NotDone,
            _ => Self::Pending,
        }
    }
}

impl std::fmt::Display for JournalState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for JournalState {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_unknown_actions_are_kept() {
        for (action, name) in JournalAction::NAMES {
            assert_eq!(action.as_str(), name);
            assert_eq!(JournalAction::parse(name), action);
        }
        let other = JournalAction::parse("rotate_key");
        assert_eq!(other, JournalAction::Other("rotate_key".into()));
        assert_eq!(other.as_str(), "rotate_key");
        assert!(!other.writes_iam());
        assert!(
            JournalAction::DeleteUser.writes_iam() && !JournalAction::DeleteUser.is_key_write()
        );
        for state in ["pending", "done", "failed", "observed", "not-done"] {
            assert_eq!(JournalState::parse(state).as_str(), state);
        }
    }
}
