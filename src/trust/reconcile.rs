//! What `migrate trust --apply` must change, decided from what IAM already holds: create or
//! extend the one provider per account, create each missing role, leave identical roles alone,
//! and refuse to overwrite a role whose trust policy differs. Pure: the CLI does the calls.

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
}
