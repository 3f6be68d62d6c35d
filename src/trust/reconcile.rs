//! What `migrate trust --apply` must change, decided from what IAM already holds: create or
//! extend the one provider per account, create each missing role, leave identical roles alone,
//! and refuse to overwrite a role whose trust policy differs. Pure: [`crate::iam::apply`] does
//! the calls.

use serde_json::Value;

use super::plan::{RoleSpec, TrustPlan};

/// The provider as IAM reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExistingProvider {
    pub arn: String,
    pub client_ids: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProviderChange {
    Create {
        url: String,
        client_ids: Vec<String>,
    },
    /// The provider exists but lacks some audiences (a second provider would be refused).
    AddClientIds {
        arn: String,
        client_ids: Vec<String>,
    },
    Unchanged {
        arn: String,
    },
}

pub fn provider_change(plan: &TrustPlan, existing: Option<&ExistingProvider>) -> ProviderChange {
    match existing {
        None => ProviderChange::Create {
            url: plan.issuer.url(),
            client_ids: plan.client_ids.iter().cloned().collect(),
        },
        Some(found) => {
            let missing: Vec<String> = plan
                .client_ids
                .iter()
                .filter(|id| !found.client_ids.contains(id))
                .cloned()
                .collect();
            if missing.is_empty() {
                ProviderChange::Unchanged {
                    arn: found.arn.clone(),
                }
            } else {
                ProviderChange::AddClientIds {
                    arn: found.arn.clone(),
                    client_ids: missing,
                }
            }
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum RoleChange {
    Create,
    Unchanged,
    /// A role of that name exists with another trust policy: show both, change nothing.
    Conflict {
        existing: Value,
    },
}

/// Decodes `%XX` escapes: IAM returns policy documents URL-encoded (RFC 3986); moto sometimes
/// does not, so text that already starts with `{` is left alone.
pub fn decode_policy_document(text: &str) -> String {
    if text.trim_start().starts_with('{') {
        return text.to_string();
    }
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => match (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                (Some(hi), Some(lo)) => {
                    out.push((hi * 16 + lo) as u8);
                    i += 3;
                    continue;
                }
                _ => out.push(b'%'),
            },
            other => out.push(other),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Compares the wanted trust policy with the one IAM holds for the role, as JSON values, so
/// formatting and key order do not count as differences.
pub fn role_change(role: &RoleSpec, existing_trust: Option<&str>) -> RoleChange {
    let Some(text) = existing_trust else {
        return RoleChange::Create;
    };
    let decoded = decode_policy_document(text);
    let existing: Value = serde_json::from_str(&decoded).unwrap_or(Value::String(decoded));
    if existing == role.trust_policy {
        RoleChange::Unchanged
    } else {
        RoleChange::Conflict { existing }
    }
}

/// What must change in IAM for a plan: the provider, and each role.
pub struct Changes<'p> {
    pub provider: ProviderChange,
    pub roles: Vec<(&'p RoleSpec, RoleChange)>,
}

impl Changes<'_> {
    /// Whether anything is to be created or extended (a conflict changes nothing).
    pub fn has_work(&self) -> bool {
        !matches!(self.provider, ProviderChange::Unchanged { .. })
            || self
                .roles
                .iter()
                .any(|(_, change)| matches!(change, RoleChange::Create))
    }

    /// Roles left alone because IAM holds them with a different trust policy.
    pub fn conflicts(&self) -> usize {
        self.roles
            .iter()
            .filter(|(_, change)| matches!(change, RoleChange::Conflict { .. }))
            .count()
    }

    /// One line per change, shown before asking to apply them.
    pub fn describe(&self) -> Vec<String> {
        let mut lines = vec![match &self.provider {
            ProviderChange::Create { url, client_ids } => format!(
                "create OIDC provider {url} (client ids: {})",
                client_ids.join(", ")
            ),
            ProviderChange::AddClientIds { arn, client_ids } => {
                format!("add client ids {} to {arn}", client_ids.join(", "))
            }
            ProviderChange::Unchanged { arn } => format!("unchanged: provider {arn}"),
        }];
        for (role, change) in &self.roles {
            lines.push(match change {
                RoleChange::Create => format!(
                    "create role {} for {} (trusts {})",
                    role.name,
                    role.repo,
                    role.subs.join(", ")
                ),
                RoleChange::Unchanged => format!("unchanged: role {}", role.name),
                RoleChange::Conflict { existing } => format!(
                    "conflict: role {} exists with a different trust policy; it will not be changed\n  existing: {}\n  wanted:   {}",
                    role.name, existing, role.trust_policy
                ),
            });
        }
        lines
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_url_encoded_documents() {
        assert_eq!(
            decode_policy_document("%7B%22Version%22%3A%222012-10-17%22%7D"),
            r#"{"Version":"2012-10-17"}"#
        );
        assert_eq!(decode_policy_document(r#"{"a":"%7B"}"#), r#"{"a":"%7B"}"#);
        assert_eq!(decode_policy_document("%7"), "%7");
        let json = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"arn:aws:s3:::a b/100%"}]}"#;
        assert_eq!(decode_policy_document(json), json);
        let encoded = "%7B%22Version%22%3A%222012-10-17%22%2C%22Statement%22%3A%5B%7B%22Effect%22%3A%22Allow%22%2C%22Action%22%3A%22s3%3A%2A%22%2C%22Resource%22%3A%22arn%3Aaws%3As3%3A%3A%3Aa%20b%2F100%25%22%7D%5D%7D";
        assert_eq!(decode_policy_document(encoded), json);
        assert_eq!(decode_policy_document("%E2%80%A6"), "…");
    }

    fn role(name: &str) -> RoleSpec {
        RoleSpec {
            arn: format!("arn:aws:iam::123456789012:role/{name}"),
            audiences: vec!["sts.amazonaws.com".into()],
            copied: None,
            environment: None,
            inferred: None,
            jobs: Vec::new(),
            name: name.into(),
            permission_policy: Value::Null,
            permissions: Default::default(),
            repo: "octo-org/app".into(),
            secrets: Vec::new(),
            stage: String::new(),
            subs: vec!["repo:octo-org/app:ref:refs/heads/main".into()],
            tags: Default::default(),
            trust_policy: serde_json::json!({"Statement": []}),
        }
    }

    #[test]
    fn work_is_a_provider_change_or_a_role_to_create() {
        let (kept, other, new) = (role("gha-kept"), role("gha-other"), role("gha-new"));
        let unchanged = ProviderChange::Unchanged {
            arn: "arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com"
                .into(),
        };
        let nothing = Changes {
            provider: unchanged.clone(),
            roles: vec![
                (&kept, RoleChange::Unchanged),
                (
                    &other,
                    RoleChange::Conflict {
                        existing: serde_json::json!({"Statement": [1]}),
                    },
                ),
            ],
        };
        assert!(!nothing.has_work());
        assert_eq!(nothing.conflicts(), 1);
        assert_eq!(
            nothing.describe(),
            [
                "unchanged: provider arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com",
                "unchanged: role gha-kept",
                "conflict: role gha-other exists with a different trust policy; it will not be changed\n  existing: {\"Statement\":[1]}\n  wanted:   {\"Statement\":[]}",
            ]
        );
        let one_role = Changes {
            provider: unchanged,
            roles: vec![(&new, RoleChange::Create)],
        };
        assert!(one_role.has_work());
        assert_eq!(
            one_role.describe()[1],
            "create role gha-new for octo-org/app (trusts repo:octo-org/app:ref:refs/heads/main)"
        );
        let provider_only = Changes {
            provider: ProviderChange::AddClientIds {
                arn: "arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com"
                    .into(),
                client_ids: vec!["sigstore".into()],
            },
            roles: Vec::new(),
        };
        assert!(provider_only.has_work());
        assert_eq!(
            provider_only.describe(),
            [
                "add client ids sigstore to arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com"
            ]
        );
    }
}
