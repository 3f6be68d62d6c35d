//! The IAM users a cleanup plan may delete (`--delete-users`), as IAM holds them now
//! (effects), with what an interrupted attempt already detached from each: the plan keeps a
//! user, and says why, unless nothing but the campaign's keys holds it.

use std::collections::BTreeMap;

use super::{CampaignError, Truth};
use crate::campaign::Ledger;
use crate::campaign::cleanup::{self, Plan};
use crate::iam::keys::IamKeys;

/// Decides the plan's user candidates from IAM and the journal.
pub async fn plan_users(
    iam: &IamKeys,
    ledger: &Ledger,
    plan: &mut Plan,
    truth: &Truth,
) -> Result<(), CampaignError> {
    let mut users = BTreeMap::new();
    for c in &plan.user_candidates {
        // A user that cannot be read is kept, and the plan says why.
        users.insert(c.user.clone(), iam.users().facts(&c.user).await);
    }
    // What an interrupted attempt already detached is still the user's: show it.
    let journal = ledger.journal()?;
    for (user, facts) in &mut users {
        if let Ok(Some(facts)) = facts {
            let earlier = cleanup::unfinished_records(&journal, user);
            facts.record = cleanup::merge_records(facts.record.clone(), &earlier);
        }
    }
    cleanup::plan_users(plan, &users, &truth.keys);
    Ok(())
}
