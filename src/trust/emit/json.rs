//! The JSON rendering: provider, role specs with their policies, warnings, and the role map
//! `migrate rewrite --role-map` reads (`role_map[OWNER/REPO][SECRET_NAME] = role ARN`).

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use super::EmitOptions;
use crate::trust::AccountId;
use crate::trust::plan::{RoleSpec, TrustPlan};

/// Schema version of this document; bump on incompatible changes.
pub const VERSION: u32 = 1;

/// Repository → secret name → role ARN.
type RoleMap<'a> = BTreeMap<&'a str, BTreeMap<&'a str, &'a str>>;

/// The document, serialized straight from the plan (no intermediate JSON tree: the roles'
/// compiled statements make it large). Fields in the alphabetical order of the keys.
#[derive(Serialize)]
struct Document<'a> {
    account_id: &'a AccountId,
    provider: Provider<'a>,
    role_map: RoleMap<'a>,
    /// Repository → environment → secret name → role ARN.
    role_map_by_environment: BTreeMap<&'a str, RoleMap<'a>>,
    roles: &'a [RoleSpec],
    version: u32,
    warnings: &'a [String],
}

#[derive(Serialize)]
struct Provider<'a> {
    arn: String,
    client_ids: &'a BTreeSet<String>,
    create: bool,
    url: String,
}

pub fn render(plan: &TrustPlan, options: EmitOptions) -> String {
    let mut role_map: RoleMap<'_> = BTreeMap::new();
    let mut by_environment: BTreeMap<&str, RoleMap<'_>> = BTreeMap::new();
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
    let doc = Document {
        account_id: &plan.account,
        provider: Provider {
            arn: plan.issuer.provider_arn(&plan.account),
            client_ids: &plan.client_ids,
            create: !options.existing_provider,
            url: plan.issuer.url(),
        },
        role_map,
        role_map_by_environment: by_environment,
        roles: &plan.roles,
        version: VERSION,
        warnings: &plan.warnings,
    };
    let mut text =
        serde_json::to_string_pretty(&doc).expect("the plan serializes (string keys only)");
    text.push('\n');
    text
}
