//! What IAM holds for a pre-flight trust check (effects): each role's trust policy
//! (`GetRole`, URL-decoded) and every OIDC provider with its client ids
//! (`ListOpenIDConnectProviders`, `GetOpenIDConnectProvider`).

use std::collections::BTreeSet;

use crate::iam::keys::IamKeys;
use crate::iam::{IamError, classify};
use crate::trust::preflight::IamTrust;
use crate::trust::reconcile::decode_policy_document;

/// The role name of `arn:aws:iam::ACCOUNT:role/path/NAME`.
fn role_name(arn: &str) -> &str {
    arn.rsplit('/').next().unwrap_or(arn)
}

/// Reads the trust of `roles` (by ARN) and the account's OIDC providers.
pub async fn read(iam: &IamKeys, roles: &BTreeSet<String>) -> Result<IamTrust, IamError> {
    let client = iam.client();
    let mut out = IamTrust::default();
    let listed = client
        .list_open_id_connect_providers()
        .send()
        .await
        .map_err(|e| classify("ListOpenIDConnectProviders", "the account", &e))?;
    for entry in listed.open_id_connect_provider_list() {
        let Some(arn) = entry.arn() else { continue };
        let found = client
            .get_open_id_connect_provider()
            .open_id_connect_provider_arn(arn)
            .send()
            .await
            .map_err(|e| classify("GetOpenIDConnectProvider", arn, &e))?;
        out.providers
            .push((arn.to_string(), found.client_id_list().to_vec()));
    }
    for arn in roles {
        let trust = match client.get_role().role_name(role_name(arn)).send().await {
            Ok(found) => found
                .role()
                .and_then(|r| r.assume_role_policy_document())
                .map(decode_policy_document),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_no_such_entity_exception()) =>
            {
                None
            }
            Err(e) => return Err(classify("GetRole", arn, &e)),
        };
        out.roles.insert(arn.clone(), trust);
    }
    Ok(out)
}
