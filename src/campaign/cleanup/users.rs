//! The IAM-user part of the cleanup plan (`--delete-users`): which users may go with their
//! keys, what keeps the others, and what a deletion detaches and records. Pure.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{KeyFacts, Plan, plural};
use crate::detect::aws_key_literal::mask_key_id;
use crate::iam::IamError;

/// An IAM user that may go with its keys.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UserCandidate {
    pub user: String,
    /// Its access keys this campaign deletes in this run or deleted before.
    pub keys: Vec<String>,
    pub repos: Vec<String>,
}

/// An IAM user to delete, with everything that goes with it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UserStep {
    pub record: UserRecord,
    pub keys: Vec<String>,
    pub repos: Vec<String>,
}

impl UserStep {
    /// `delete IAM user ci-api [acme/api] (irreversible), after:` and one indented line per
    /// policy, group and the tags.
    pub fn describe(&self) -> String {
        let r = &self.record;
        let mut out = format!(
            "delete IAM user {} [{}] (irreversible)",
            r.user,
            self.repos.join(", ")
        );
        let mut detached: Vec<String> = Vec::new();
        detached.extend(
            r.managed_policies
                .iter()
                .map(|arn| format!("detach managed policy {arn}")),
        );
        detached.extend(
            r.inline_policies
                .iter()
                .map(|p| format!("delete inline policy {}", p.name)),
        );
        detached.extend(r.groups.iter().map(|g| format!("remove from group {g}")));
        if !detached.is_empty() {
            out.push_str(", after:");
            for d in detached {
                out.push_str(&format!("\n       {d}"));
            }
        }
        if !r.tags.is_empty() {
            let tags: Vec<String> = r
                .tags
                .iter()
                .map(|t| format!("{}={}", t.key, t.value))
                .collect();
            out.push_str(&format!("\n       tags {}", tags.join(", ")));
        }
        out.push_str(
            "\n       all recorded in the journal: `migrate undo` prints how to recreate the user",
        );
        out
    }
}

/// Everything needed to recreate a deleted IAM user but its credentials: journaled in its
/// `delete_user` entry before anything is detached.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserRecord {
    pub user: String,
    #[serde(default)]
    pub path: String,
    #[serde(default)]
    pub permissions_boundary: Option<String>,
    #[serde(default)]
    pub tags: Vec<Tag>,
    /// Attached managed policy ARNs.
    #[serde(default)]
    pub managed_policies: Vec<String>,
    #[serde(default)]
    pub inline_policies: Vec<InlinePolicy>,
    #[serde(default)]
    pub groups: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Tag {
    pub key: String,
    pub value: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InlinePolicy {
    pub name: String,
    /// The policy JSON as IAM returned it (URL-decoded).
    pub document: String,
}

/// What IAM holds for a user: what would be lost with it, and every credential that keeps it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct UserFacts {
    pub record: UserRecord,
    /// Every access key id it has now.
    pub access_keys: Vec<String>,
    pub login_profile: bool,
    pub mfa_devices: usize,
    pub ssh_public_keys: usize,
    pub signing_certificates: usize,
    pub service_credentials: usize,
}

/// What keeps a user: its credentials but the access keys in `removed` (deleted by this
/// campaign, now or before). `campaign_keys` tells keys the campaign knows (but does not
/// delete in this run) from keys it never mapped. Empty: the user may go.
pub fn user_keeps(
    facts: &UserFacts,
    removed: &[String],
    campaign_keys: &BTreeMap<String, KeyFacts>,
) -> Vec<String> {
    let mut keeps = Vec::new();
    if facts.login_profile {
        keeps.push("login profile".to_string());
    }
    let left: Vec<&String> = facts
        .access_keys
        .iter()
        .filter(|k| !removed.contains(k))
        .collect();
    for key in left
        .iter()
        .filter(|k| campaign_keys.contains_key(k.as_str()))
    {
        keeps.push(format!(
            "access key {} (in the campaign, not deleted in this run)",
            mask_key_id(key)
        ));
    }
    let unmapped = left
        .iter()
        .filter(|k| !campaign_keys.contains_key(k.as_str()))
        .count();
    if unmapped > 0 {
        keeps.push(format!(
            "{} not in the campaign",
            plural(unmapped, "access key")
        ));
    }
    for (n, what) in [
        (facts.mfa_devices, "MFA device"),
        (facts.ssh_public_keys, "SSH public key"),
        (facts.signing_certificates, "signing certificate"),
        (facts.service_credentials, "service-specific credential"),
    ] {
        if n > 0 {
            keeps.push(plural(n, what));
        }
    }
    keeps
}

/// Decides each of `plan.user_candidates` from what IAM holds for it: `Ok(None)` when the
/// user no longer exists, `Err` when it could not be read (the user is kept). A user goes
/// into `plan.delete_users` only when [`user_keeps`] finds nothing; otherwise a note says
/// exactly what keeps it.
pub fn plan_users(
    plan: &mut Plan,
    users: &BTreeMap<String, Result<Option<UserFacts>, IamError>>,
    campaign_keys: &BTreeMap<String, KeyFacts>,
) {
    for c in std::mem::take(&mut plan.user_candidates) {
        match users.get(&c.user) {
            None => {}
            Some(Err(e)) => plan
                .notes
                .push(format!("user {} keeps: could not be read: {e}", c.user)),
            Some(Ok(None)) => plan
                .notes
                .push(format!("user {} no longer exists in IAM", c.user)),
            Some(Ok(Some(facts))) => {
                let keeps = user_keeps(facts, &c.keys, campaign_keys);
                if keeps.is_empty() {
                    plan.delete_users.push(UserStep {
                        record: facts.record.clone(),
                        keys: c.keys.clone(),
                        repos: c.repos.clone(),
                    });
                } else {
                    plan.notes
                        .push(format!("user {} keeps: {}", c.user, keeps.join(", ")));
                }
            }
        }
        plan.user_candidates.push(c);
    }
}

/// What the `delete_user` attempts at `user` since its last effective deletion recorded: a
/// killed or failed attempt may already have detached part of it.
pub fn unfinished_records(
    journal: &[crate::campaign::JournalEntry],
    user: &str,
) -> Vec<UserRecord> {
    journal
        .iter()
        .filter(|e| e.action == crate::campaign::JournalAction::DeleteUser && e.target == user)
        .rev()
        .take_while(|e| !e.took_effect())
        .filter_map(|e| serde_json::from_value(e.detail.clone()).ok())
        .collect()
}

/// A fresh record of a user plus what earlier attempts recorded that did not take effect
/// (killed or failed after detaching part of it): the journal must keep everything the user
/// had, even what is already gone from IAM.
pub fn merge_records(fresh: UserRecord, earlier: &[UserRecord]) -> UserRecord {
    let mut out = fresh;
    for e in earlier {
        for arn in &e.managed_policies {
            if !out.managed_policies.contains(arn) {
                out.managed_policies.push(arn.clone());
            }
        }
        for p in &e.inline_policies {
            if !out.inline_policies.iter().any(|q| q.name == p.name) {
                out.inline_policies.push(p.clone());
            }
        }
        for g in &e.groups {
            if !out.groups.contains(g) {
                out.groups.push(g.clone());
            }
        }
        for t in &e.tags {
            if !out.tags.iter().any(|u| u.key == t.key) {
                out.tags.push(t.clone());
            }
        }
        if out.permissions_boundary.is_none() {
            out.permissions_boundary = e.permissions_boundary.clone();
        }
    }
    out
}
