//! The JSON rendering: provider, role specs with their policies, warnings, and the role map
//! `migrate rewrite --role-map` reads (`role_map[OWNER/REPO][SECRET_NAME] = role ARN`).

use std::collections::BTreeMap;

use serde_json::json;

use super::EmitOptions;
use crate::trust::plan::TrustPlan;

/// Schema version of this document; bump on incompatible changes.
pub const VERSION: u32 = 1;

pub fn render(plan: &TrustPlan, options: EmitOptions) -> String {
    let mut role_map: BTreeMap<&str, BTreeMap<&str, &str>> = BTreeMap::new();
    let mut by_environment: BTreeMap<&str, BTreeMap<&str, BTreeMap<&str, &str>>> = BTreeMap::new();
    for role in &plan.roles {
        let names = match &role.environment {
            Some(env) => by_environment
                .entry(role.repo.as_str())
                .or_default()
                .entry(env.as_str())
                .or_default(),
            None => role_map.entry(role.repo.as_str()).or_default(),
        };
        for secret in &role.secrets {
            names.insert(secret.as_str(), role.arn.as_str());
        }
    }
    let doc = json!({
        "version": VERSION,
        "account_id": plan.account,
        "provider": {
            "url": plan.issuer.url(),
            "arn": plan.issuer.provider_arn(&plan.account),
            "client_ids": plan.client_ids,
            "create": !options.existing_provider,
        },
        "roles": plan.roles,
        "role_map": role_map,
        "role_map_by_environment": by_environment,
        "warnings": plan.warnings,
    });
    let mut text = serde_json::to_string_pretty(&doc).expect("JSON values always serialize");
    text.push('\n');
    text
}
