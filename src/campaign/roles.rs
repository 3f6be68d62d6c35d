//! Which IAM roles serve which repositories (pure): a `github-repo` tag (what `trust --apply`
//! sets), or a GitHub OIDC trust policy whose `sub` condition names the repository.

use std::collections::BTreeSet;

use serde_json::Value;

use super::ledger::RoleRow;
use crate::trust::reconcile::decode_policy_document;

/// A role as IAM lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObservedRole {
    pub arn: String,
    pub role_id: String,
    /// The trust policy, as IAM returns it (URL-encoded or not).
    pub trust_policy: String,
    pub tags: Vec<(String, String)>,
}

/// Whether a trust policy lets web identities assume the role (only those can be OIDC roles;
/// the rest are not worth reading tags for).
pub fn is_web_identity(trust_policy: &str) -> bool {
    decode_policy_document(trust_policy).contains("sts:AssumeRoleWithWebIdentity")
}

/// Repositories (`owner/repo`, lowercase) that a trust policy's `…:sub` conditions name
/// exactly. `repo:OWNER@ID/REPO@ID` counts as `owner/repo`; wildcards in the owner or
/// repository name (`repo:acme/*`) name no single repository.
pub fn trusted_repositories(trust_policy: &str) -> BTreeSet<String> {
    let Ok(doc) = serde_json::from_str::<Value>(&decode_policy_document(trust_policy)) else {
        return BTreeSet::new();
    };
    let statements = match &doc["Statement"] {
        Value::Array(items) => items.clone(),
        single @ Value::Object(_) => vec![single.clone()],
        _ => Vec::new(),
    };
    let mut out = BTreeSet::new();
    for statement in statements.iter().filter(|s| s["Effect"] == "Allow") {
        let Some(conditions) = statement["Condition"].as_object() else {
            continue;
        };
        for operator in conditions.values().filter_map(Value::as_object) {
            for (key, values) in operator {
                if !key.ends_with(":sub") {
                    continue;
                }
                let values = match values {
                    Value::Array(items) => items.iter().filter_map(Value::as_str).collect(),
                    Value::String(one) => vec![one.as_str()],
                    _ => Vec::new(),
                };
                out.extend(values.into_iter().filter_map(repository_of_subject));
            }
        }
    }
    out
}

/// `repo:acme/api:ref:refs/heads/main` → `acme/api`.
fn repository_of_subject(sub: &str) -> Option<String> {
    let rest = sub.strip_prefix("repo:")?;
    let slug = rest.split(':').next()?;
    let (owner, repo) = slug.split_once('/')?;
    let strip_id = |part: &str| part.split('@').next().unwrap_or(part).to_ascii_lowercase();
    let (owner, repo) = (strip_id(owner), strip_id(repo));
    let plain = |s: &str| !s.is_empty() && !s.contains(['*', '?']);
    (plain(&owner) && plain(&repo)).then(|| format!("{owner}/{repo}"))
}

/// The roles that serve each of `repos`: by `github-repo` tag first, else by trust policy.
pub fn match_roles(roles: &[ObservedRole], repos: &[String]) -> Vec<RoleRow> {
    let mut out = Vec::new();
    for role in roles {
        let tagged = role
            .tags
            .iter()
            .find(|(k, _)| k == "github-repo")
            .map(|(_, v)| v.to_ascii_lowercase());
        let trusted = trusted_repositories(&role.trust_policy);
        for repo in repos {
            let lower = repo.to_ascii_lowercase();
            let source = if tagged.as_deref() == Some(lower.as_str()) {
                "tag"
            } else if trusted.contains(&lower) {
                "trust policy"
            } else {
                continue;
            };
            out.push(RoleRow {
                arn: role.arn.clone(),
                role_id: role.role_id.clone(),
                repo: repo.clone(),
                source: source.to_string(),
                tags: role.tags.clone(),
            });
        }
    }
    out.sort_by(|a, b| (&a.repo, &a.arn).cmp(&(&b.repo, &b.arn)));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(subs: &str) -> String {
        format!(
            r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"Federated":"arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com"}},"Action":"sts:AssumeRoleWithWebIdentity","Condition":{{"StringEquals":{{"token.actions.githubusercontent.com:aud":"sts.amazonaws.com"}},"StringLike":{{"token.actions.githubusercontent.com:sub":{subs}}}}}}}]}}"#
        )
    }

    fn role(arn: &str, trust: &str, tags: &[(&str, &str)]) -> ObservedRole {
        ObservedRole {
            arn: arn.into(),
            role_id: format!("AROA{arn}"),
            trust_policy: trust.into(),
            tags: tags
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        }
    }

    #[test]
    fn subjects_name_repositories() {
        let p = policy(
            r#"["repo:Acme/API:ref:refs/heads/main","repo:acme@1/web@2:environment:prod","repo:acme/*","repo:other/x:pull_request"]"#,
        );
        assert!(is_web_identity(&p));
        assert_eq!(
            trusted_repositories(&p).into_iter().collect::<Vec<_>>(),
            vec!["acme/api", "acme/web", "other/x"]
        );
        // URL-encoded, as IAM returns it.
        let encoded = p
            .replace('"', "%22")
            .replace('{', "%7B")
            .replace('}', "%7D");
        assert_eq!(trusted_repositories(&encoded).len(), 3);
        assert!(trusted_repositories("not json").is_empty());
    }

    #[test]
    fn tags_win_and_trust_policies_fill_in() {
        let roles = [
            role(
                "gha-api",
                &policy(r#""repo:acme/api:ref:refs/heads/main""#),
                &[("github-repo", "acme/api"), ("managed-by", "migrate")],
            ),
            role("legacy-web", &policy(r#""repo:acme/web:*""#), &[]),
            role("org-wide", &policy(r#""repo:acme/*""#), &[]),
        ];
        let repos = ["acme/api".to_string(), "acme/web".into(), "acme/etl".into()];
        let rows = match_roles(&roles, &repos);
        let got: Vec<(&str, &str, &str)> = rows
            .iter()
            .map(|r| (r.repo.as_str(), r.arn.as_str(), r.source.as_str()))
            .collect();
        assert_eq!(
            got,
            vec![
                ("acme/api", "gha-api", "tag"),
                ("acme/web", "legacy-web", "trust policy")
            ]
        );
    }
}
