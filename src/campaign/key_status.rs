//! An IAM access key's status as the campaign sees it (pure): IAM's own three, and `Missing`
//! for a key IAM no longer has (deleted, by this campaign or anyone).

use serde::{Serialize, Serializer};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum KeyStatus {
    Active,
    Inactive,
    /// IAM's `Expired` (keys of some identity types lapse on their own).
    Expired,
    Missing,
}

impl KeyStatus {
    /// The name IAM (and the ledger, and the JSON output) uses.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "Active",
            Self::Inactive => "Inactive",
            Self::Expired => "Expired",
            Self::Missing => "Missing",
        }
    }

    /// From the ledger's text; anything unknown is read as `Missing` (not active: the safe
    /// side, and the next IAM observation replaces it).
    pub fn parse(text: &str) -> Self {
        match text {
            "Active" => Self::Active,
            "Inactive" => Self::Inactive,
            "Expired" => Self::Expired,
            _ => Self::Missing,
        }
    }

    pub fn is_active(self) -> bool {
        self == Self::Active
    }
}

impl std::fmt::Display for KeyStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for KeyStatus {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for status in [
            KeyStatus::Active,
            KeyStatus::Inactive,
            KeyStatus::Expired,
            KeyStatus::Missing,
        ] {
            assert_eq!(KeyStatus::parse(status.as_str()), status);
        }
        assert_eq!(KeyStatus::parse("???"), KeyStatus::Missing);
    }
}
