//! IAM roles that may serve the campaign (effects): every role whose trust policy accepts web
//! identities, with its tags. Tags are read once per role id and remembered in the ledger,
//! so a 2,000-role account costs a few `ListRoles` pages per `status`, not 2,000 calls.

use std::collections::BTreeMap;

use crate::campaign::roles::{ObservedRole, is_web_identity};
use crate::iam::keys::IamKeys;
use crate::iam::{IamError, classify};

/// Web-identity roles; `known_tags` (by role id) spares `ListRoleTags` for roles seen before.
pub async fn web_identity_roles(
    iam: &IamKeys,
    known_tags: &BTreeMap<String, Vec<(String, String)>>,
) -> Result<Vec<ObservedRole>, IamError> {
    let client = iam.client();
    let mut out = Vec::new();
    let mut pages = client.list_roles().into_paginator().page_size(1000).send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| classify("ListRoles", "the account", &e))?;
        for role in page.roles() {
            let trust = role.assume_role_policy_document().unwrap_or_default();
            if !is_web_identity(trust) {
                continue;
            }
            let tags = match known_tags.get(role.role_id()) {
                Some(tags) => tags.clone(),
                None => client
                    .list_role_tags()
                    .role_name(role.role_name())
                    .send()
                    .await
                    .map(|t| {
                        t.tags()
                            .iter()
                            .map(|t| (t.key().to_string(), t.value().to_string()))
                            .collect()
                    })
                    // Deleted meanwhile, or tags not readable: the trust policy still speaks.
                    .unwrap_or_default(),
            };
            out.push(ObservedRole {
                arn: role.arn().to_string(),
                role_id: role.role_id().to_string(),
                trust_policy: trust.to_string(),
                tags,
            });
        }
    }
    Ok(out)
}
