//! The IAM side of remote truth: which roles serve the campaign's repositories (by tag or
//! trust policy), access keys looked up several at a time, and key-map suggestions.

use std::collections::{BTreeMap, BTreeSet};

use super::CampaignError;
use crate::campaign::cleanup::KeyFacts;
use crate::campaign::keymap::{self, KeyRef, Suggestion, suggest};
use crate::campaign::ledger::{Ledger, RoleRow};
use crate::campaign::roles;
use crate::iam::IamError;
use crate::iam::keys::{IAM_CONCURRENCY, IamKeys};

/// Key-map suggestions for repositories no key is mapped to: users whose name or tags match
/// the repository, then active keys last used with a service its workflows call (read only
/// for users the credential report shows with a used active key, and only when some
/// repository calls a service).
pub(super) async fn suggestions(
    iam: &IamKeys,
    unmapped: &[String],
    report: &crate::scan::ScanReport,
    mapped: &BTreeMap<String, KeyFacts>,
) -> Result<Vec<Suggestion>, IamError> {
    let users = iam.users_with_tags().await?;
    // One pass over the scanned files, not one per repository.
    let mut services: BTreeMap<&String, BTreeSet<String>> =
        unmapped.iter().map(|r| (r, BTreeSet::new())).collect();
    for file in &report.files {
        if let Some(called) = file.repository.as_ref().and_then(|r| services.get_mut(r)) {
            called.extend(
                file.jobs
                    .iter()
                    .flat_map(|j| j.aws_services.iter().cloned()),
            );
        }
    }
    let mut out = Vec::new();
    for repo in unmapped {
        out.extend(suggest(repo, &users));
    }
    if services.values().all(BTreeSet::is_empty) {
        return Ok(out);
    }
    // Only users with an active key that has been used can match a service (the credential
    // report says which, for the whole account at once); keys already in the key map belong
    // to other repositories.
    let used = keymap::recently_used_users(&iam.credential_report().await?);
    let mapped_users: BTreeSet<&String> = mapped.values().map(|k| &k.user).collect();
    let refs: BTreeSet<KeyRef> = used
        .into_iter()
        .filter(|user| !mapped_users.contains(user))
        .map(KeyRef::User)
        .collect();
    let keys: Vec<KeyFacts> = look_up(iam, refs).await?.into_values().flatten().collect();
    for (repo, services) in services {
        for s in keymap::suggest_by_service(repo, &services, &keys) {
            if !out.iter().any(|o| o.repo == s.repo && o.user == s.user) {
                out.push(s);
            }
        }
    }
    Ok(out)
}

/// The roles that serve `repos`: observed in IAM when it is reachable (and recorded), else
/// what the ledger last observed.
pub(super) async fn roles(
    ledger: &Ledger,
    iam: Option<&IamKeys>,
    repos: &[String],
    errors: &mut Vec<String>,
) -> Result<Vec<RoleRow>, CampaignError> {
    let Some(iam) = iam else {
        return Ok(ledger.roles()?);
    };
    match crate::iam::roles::web_identity_roles(iam, &ledger.role_tags()?).await {
        Ok(observed) => {
            ledger.set_role_tags(
                &observed
                    .iter()
                    .map(|r| (r.role_id.clone(), r.tags.clone()))
                    .collect(),
            )?;
            let rows = roles::match_roles(&observed, repos);
            ledger.record_roles(&rows)?;
            Ok(rows)
        }
        Err(e) => {
            errors.push(format!(
                "IAM roles (showing the last observation; --no-aws leaves IAM out): {e}"
            ));
            Ok(ledger.roles()?)
        }
    }
}

/// Every key of each user, and each key by id, `IAM_CONCURRENCY` lookups at a time.
pub(super) async fn look_up(
    iam: &IamKeys,
    refs: BTreeSet<KeyRef>,
) -> Result<BTreeMap<KeyRef, Vec<KeyFacts>>, IamError> {
    use futures::{StreamExt, TryStreamExt};
    futures::stream::iter(refs)
        .map(|key_ref| async move {
            let keys = match &key_ref {
                KeyRef::User(user) => iam.user_keys(user).await?,
                KeyRef::AccessKey(id) => vec![iam.key(id).await?],
            };
            Ok::<_, IamError>((key_ref, keys))
        })
        .buffer_unordered(IAM_CONCURRENCY)
        .try_collect()
        .await
}
