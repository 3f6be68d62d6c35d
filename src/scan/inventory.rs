//! The secrets inventory: which repository, environment and organization secrets look like
//! AWS keys, who can see each organization secret, and which no workflow references. Pure.

use std::collections::BTreeSet;

use crate::detect::names::looks_like_aws_key_name;
use crate::github::{OrgSecret, RepoSecrets};

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct SecretRecord {
    pub name: String,
    /// `repository`, `environment` or `organization`.
    pub scope: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub environment: Option<String>,
    /// Referenced by no workflow or action of the repository.
    pub orphan: bool,
}

/// AWS-looking secrets of one repository, with orphans marked. `referenced` holds every
/// secret name the repository's workflows use as key material.
pub fn repo_inventory(secrets: &RepoSecrets, referenced: &BTreeSet<String>) -> Vec<SecretRecord> {
    let mut out = Vec::new();
    for name in &secrets.repository {
        if looks_like_aws_key_name(name) || referenced.contains(name) {
            out.push(SecretRecord {
                name: name.clone(),
                scope: "repository",
                environment: None,
                orphan: !referenced.contains(name),
            });
        }
    }
    for (env, name) in &secrets.environments {
        if looks_like_aws_key_name(name) || referenced.contains(name) {
            out.push(SecretRecord {
                name: name.clone(),
                scope: "environment",
                environment: Some(env.clone()),
                orphan: !referenced.contains(name),
            });
        }
    }
    out
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct OrgSecretRecord {
    pub name: String,
    pub visibility: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub selected_repositories: Option<Vec<String>>,
    /// Scanned repositories whose workflows reference it.
    pub referenced_by: Vec<String>,
    pub orphan: bool,
}

/// AWS-looking organization secrets and the scanned repositories that use them.
/// `uses` yields (repository name, secret names it references as key material).
pub fn org_inventory<'a>(
    secrets: &[OrgSecret],
    uses: impl Iterator<Item = (&'a str, &'a BTreeSet<String>)> + Clone,
) -> Vec<OrgSecretRecord> {
    secrets
        .iter()
        .filter(|s| {
            looks_like_aws_key_name(&s.name)
                || uses.clone().any(|(_, names)| names.contains(&s.name))
        })
        .map(|s| {
            let referenced_by: Vec<String> = uses
                .clone()
                .filter(|(repo, names)| {
                    names.contains(&s.name)
                        && s.selected_repositories
                            .as_ref()
                            .is_none_or(|selected| selected.iter().any(|r| r == repo))
                })
                .map(|(repo, _)| repo.to_string())
                .collect();
            OrgSecretRecord {
                name: s.name.clone(),
                visibility: s.visibility.clone(),
                selected_repositories: s.selected_repositories.clone(),
                orphan: referenced_by.is_empty(),
                referenced_by,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn orphans_and_visibility() {
        let referenced: BTreeSet<String> = ["AWS_ACCESS_KEY_ID".to_string()].into();
        let repo = RepoSecrets {
            repository: vec![
                "AWS_ACCESS_KEY_ID".into(),
                "OLD_AWS_SECRET_ACCESS_KEY".into(),
                "NPM_TOKEN".into(),
            ],
            environments: vec![("prod".into(), "AWS_SECRET_ACCESS_KEY".into())],
        };
        let inv = repo_inventory(&repo, &referenced);
        assert_eq!(
            inv.iter()
                .map(|r| (r.name.as_str(), r.orphan))
                .collect::<Vec<_>>(),
            vec![
                ("AWS_ACCESS_KEY_ID", false),
                ("OLD_AWS_SECRET_ACCESS_KEY", true),
                ("AWS_SECRET_ACCESS_KEY", true)
            ]
        );
        let org = vec![
            OrgSecret {
                name: "AWS_ACCESS_KEY_ID".into(),
                visibility: "selected".into(),
                selected_repositories: Some(vec!["other".into()]),
            },
            OrgSecret {
                name: "ORG_AWS_SECRET_ACCESS_KEY".into(),
                visibility: "all".into(),
                selected_repositories: None,
            },
        ];
        let uses = [("api", &referenced)];
        let inv = org_inventory(&org, uses.iter().copied());
        // `api` references AWS_ACCESS_KEY_ID but cannot see the org secret of that name.
        assert_eq!(inv[0].referenced_by, Vec::<String>::new());
        assert!(inv[0].orphan && inv[1].orphan);
    }
}
