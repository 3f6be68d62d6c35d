//! The operator's map from GitHub secrets and repositories to IAM users or access keys
//! (`--key-map FILE`, TOML), and the suggestions migrate computes but never acts on. Pure but
//! for [`KeyMap::load`], which reads the file.
//!
//! GitHub secret values cannot be read back, so nothing but the operator can say which IAM key
//! a secret holds. Format:
//!
//! ```toml
//! # Each value: an IAM user name (all of its access keys) or an access key id, or a list.
//! [repos]
//! "acme/api" = "ci-api"
//! "acme/web" = ["AKIAIOSFODNN7EXAMPLE"]
//!
//! [secrets]   # by secret name, wherever the campaign finds it (repo, environment, org)
//! ORG_AWS_ACCESS_KEY_ID = "ci-shared"
//! ```

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use serde::Deserialize;

#[derive(Debug, thiserror::Error)]
pub enum KeyMapError {
    #[error("cannot read key map {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("cannot write the proposed key map {path}: {source}")]
    Write {
        path: String,
        source: std::io::Error,
    },
    #[error(
        "key map {path}: {message}\nhelp: see `migrate cleanup --help` for the format ([repos] and [secrets] tables of IAM user names or access key ids)"
    )]
    Parse { path: String, message: KeyMapSyntax },
}

/// What is wrong inside a key map's text.
#[derive(Debug, thiserror::Error)]
pub enum KeyMapSyntax {
    /// Not TOML (the parser's own words).
    #[error("{0}")]
    Toml(String),
    #[error("`{0}` maps to an empty name")]
    EmptyName(String),
    #[error("[repos] key `{0}` is not OWNER/REPO")]
    NotOwnerRepo(String),
}

/// An IAM user (meaning every access key it has) or one access key.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum KeyRef {
    User(String),
    AccessKey(String),
}

impl KeyRef {
    fn parse(value: &str) -> Self {
        let v = value.trim();
        let looks_like_key = v.len() >= 16
            && (v.starts_with("AKIA") || v.starts_with("ASIA"))
            && v.chars()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit());
        if looks_like_key {
            Self::AccessKey(v.to_string())
        } else {
            Self::User(v.to_string())
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KeyMap {
    /// `owner/repo` → keys.
    pub repos: BTreeMap<String, Vec<KeyRef>>,
    /// Secret name → keys.
    pub secrets: BTreeMap<String, Vec<KeyRef>>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Raw {
    #[serde(default)]
    repos: BTreeMap<String, OneOrMany>,
    #[serde(default)]
    secrets: BTreeMap<String, OneOrMany>,
}

impl KeyMap {
    pub fn load(path: &Path) -> Result<Self, KeyMapError> {
        let text = std::fs::read_to_string(path).map_err(|source| KeyMapError::Read {
            path: path.display().to_string(),
            source,
        })?;
        Self::parse(&text).map_err(|message| KeyMapError::Parse {
            path: path.display().to_string(),
            message,
        })
    }

    pub fn parse(text: &str) -> Result<Self, KeyMapSyntax> {
        let raw: Raw =
            toml::from_str(text).map_err(|e| KeyMapSyntax::Toml(e.message().to_string()))?;
        let convert = |m: BTreeMap<String, OneOrMany>| -> Result<
            BTreeMap<String, Vec<KeyRef>>,
            KeyMapSyntax,
        > {
                m.into_iter()
                    .map(|(k, v)| {
                        let values = match v {
                            OneOrMany::One(s) => vec![s],
                            OneOrMany::Many(list) => list,
                        };
                        if values.iter().any(|v| v.trim().is_empty()) {
                            return Err(KeyMapSyntax::EmptyName(k));
                        }
                        Ok((k, values.iter().map(|v| KeyRef::parse(v)).collect()))
                    })
                    .collect()
            };
        let repos = convert(raw.repos)?;
        if let Some(bad) = repos.keys().find(|k| k.split('/').count() != 2) {
            return Err(KeyMapSyntax::NotOwnerRepo(bad.clone()));
        }
        Ok(Self {
            repos,
            secrets: convert(raw.secrets)?,
        })
    }

    /// Keys mapped to `repo` directly or through one of `secret_names`, each with where the
    /// mapping came from.
    pub fn refs_for(&self, repo: &str, secret_names: &[String]) -> Vec<(KeyRef, String)> {
        let mut out = Vec::new();
        for r in self.repos.get(repo).into_iter().flatten() {
            out.push((r.clone(), format!("key map [repos] {repo}")));
        }
        for name in secret_names {
            for r in self.secrets.get(name).into_iter().flatten() {
                out.push((r.clone(), format!("key map [secrets] {name}")));
            }
        }
        out.sort();
        out.dedup_by(|a, b| a.0 == b.0);
        out
    }

    pub fn is_empty(&self) -> bool {
        self.repos.is_empty() && self.secrets.is_empty()
    }
}

/// An IAM user that might hold a repository's old key: shown, never acted on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Suggestion {
    pub repo: String,
    pub user: String,
    pub why: String,
}

/// Users whose name contains the repository's name, or one of whose tag values is the
/// repository's name or `owner/repo`.
pub fn suggest(repo: &str, users: &[(String, Vec<(String, String)>)]) -> Vec<Suggestion> {
    let name = repo.rsplit('/').next().unwrap_or(repo).to_ascii_lowercase();
    if name.len() < 3 {
        // Two-letter names match too much to be worth saying.
        return Vec::new();
    }
    let mut out = Vec::new();
    for (user, tags) in users {
        let lower = user.to_ascii_lowercase();
        let why = if lower.contains(&name) {
            Some(format!("user name contains `{name}`"))
        } else {
            tags.iter()
                .find(|(_, v)| v.eq_ignore_ascii_case(&name) || v.eq_ignore_ascii_case(repo))
                .map(|(k, v)| format!("tag {k}={v}"))
        };
        if let Some(why) = why {
            out.push(Suggestion {
                repo: repo.to_string(),
                user: user.clone(),
                why,
            });
        }
    }
    out
}

/// Users with an active access key that has been used, from IAM's credential report (CSV):
/// the only ones worth asking which service their keys were last used with.
pub fn recently_used_users(report: &str) -> Vec<String> {
    let mut lines = report.lines();
    let Some(header) = lines.next() else {
        return Vec::new();
    };
    let columns: Vec<&str> = header.split(',').collect();
    let at = |name: &str| columns.iter().position(|c| *c == name);
    let slots: Vec<(usize, usize)> = [1, 2]
        .iter()
        .filter_map(|n| {
            Some((
                at(&format!("access_key_{n}_active"))?,
                at(&format!("access_key_{n}_last_used_date"))?,
            ))
        })
        .collect();
    let mut out = Vec::new();
    for line in lines {
        let mut fields: Vec<&str> = line.split(',').collect();
        // User names may hold commas (and the ARN after them repeats the name); every other
        // column is fixed, so the surplus splits evenly between the two.
        let extra = fields.len().saturating_sub(columns.len());
        let user = fields[..=extra / 2].join(",");
        fields.drain(..extra);
        let used = slots.iter().any(|&(active, last_used)| {
            fields.get(active) == Some(&"true")
                // A date, not `N/A` / `no_information`.
                && fields
                    .get(last_used)
                    .is_some_and(|d| d.starts_with(|c: char| c.is_ascii_digit()))
        });
        if used && !user.is_empty() {
            out.push(user);
        }
    }
    out
}

/// Most suggestions by service per repository: past that they stop narrowing anything down.
const MAX_BY_SERVICE: usize = 5;

/// Active keys last used with a service the repository's workflows call, most recent use
/// first. `sts` and `iam` say nothing (every caller touches them); weaker evidence than a
/// name, so the reason says what matched.
pub fn suggest_by_service(
    repo: &str,
    services: &BTreeSet<String>,
    keys: &[super::cleanup::KeyFacts],
) -> Vec<Suggestion> {
    let mut matches: Vec<&super::cleanup::KeyFacts> = keys
        .iter()
        .filter(|k| k.status.is_active() && !k.user.is_empty())
        .filter(|k| {
            k.service.as_deref().is_some_and(|s| {
                s != "sts" && s != "iam" && services.contains(&s.to_ascii_lowercase())
            })
        })
        .collect();
    matches.sort_by_key(|k| std::cmp::Reverse(k.last_used));
    matches
        .into_iter()
        .take(MAX_BY_SERVICE)
        .map(|k| Suggestion {
            repo: repo.to_string(),
            user: k.user.clone(),
            why: format!(
                "key {} was last used with {} ({}), which the workflows call",
                crate::detect::aws_key_literal::mask_key_id(&k.id),
                k.service.as_deref().unwrap_or_default(),
                k.last_used
                    .map(super::time::format_date)
                    .unwrap_or_default()
            ),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credential_report_names_users_with_used_active_keys() {
        let report = "user,arn,user_creation_time,access_key_1_active,access_key_1_last_used_date,access_key_2_active,access_key_2_last_used_date\n\
            <root_account>,arn:aws:iam::1:root,2020-01-01T00:00:00+00:00,false,N/A,false,N/A\n\
            ci-api,arn:aws:iam::1:user/ci-api,2020-01-01T00:00:00+00:00,true,2026-11-20T10:00:00+00:00,false,N/A\n\
            never-used,arn:aws:iam::1:user/never-used,2020-01-01T00:00:00+00:00,true,N/A,false,N/A\n\
            off,arn:aws:iam::1:user/off,2020-01-01T00:00:00+00:00,false,2026-11-20T10:00:00+00:00,false,N/A\n\
            a,b,arn:aws:iam::1:user/a,b,2020-01-01T00:00:00+00:00,false,N/A,true,2026-11-21T10:00:00+00:00\n";
        assert_eq!(recently_used_users(report), vec!["ci-api", "a,b"]);
        assert!(recently_used_users("").is_empty());
    }

    #[test]
    fn suggestions_by_service() {
        let key = |id: &str, user: &str, status: &str, service: &str, at: i64| {
            super::super::cleanup::KeyFacts {
                id: id.into(),
                user: user.into(),
                status: super::super::key_status::KeyStatus::parse(status),
                last_used: Some(at),
                service: Some(service.into()),
                region: Some("us-east-1".into()),
                deactivated_at: None,
                deleted_by_campaign: false,
            }
        };
        let keys = [
            key("AKIAAAAAAAAAAAAAAAA1", "ci-old", "Active", "s3", 100),
            key("AKIAAAAAAAAAAAAAAAA2", "ci-new", "Active", "s3", 200),
            key("AKIAAAAAAAAAAAAAAAA3", "ci-off", "Inactive", "s3", 300),
            key("AKIAAAAAAAAAAAAAAAA4", "ci-sts", "Active", "sts", 400),
            key("AKIAAAAAAAAAAAAAAAA5", "ci-ecs", "Active", "ecs", 500),
        ];
        let services: BTreeSet<String> = ["s3".to_string(), "sts".into()].into();
        let s = suggest_by_service("acme/api", &services, &keys);
        assert_eq!(
            s.iter().map(|s| s.user.as_str()).collect::<Vec<_>>(),
            vec!["ci-new", "ci-old"]
        );
        assert!(
            s[0].why.contains("AKIA…AAA2") && s[0].why.contains("with s3"),
            "{}",
            s[0].why
        );
    }

    #[test]
    fn parses_users_keys_and_lists() {
        let map = KeyMap::parse(
            r#"
[repos]
"acme/api" = "ci-api"
"acme/web" = ["AKIAIOSFODNN7EXAMPLE", "ci-web"]
[secrets]
ORG_AWS_ACCESS_KEY_ID = "ci-shared"
"#,
        )
        .unwrap();
        assert_eq!(map.repos["acme/api"], vec![KeyRef::User("ci-api".into())]);
        assert_eq!(
            map.repos["acme/web"][0],
            KeyRef::AccessKey("AKIAIOSFODNN7EXAMPLE".into())
        );
        let refs = map.refs_for("acme/api", &["ORG_AWS_ACCESS_KEY_ID".into()]);
        assert_eq!(refs.len(), 2);
        assert!(KeyMap::parse("[repos]\napi = \"x\"\n").is_err());
        assert!(KeyMap::parse("[other]\n").is_err());
    }

    #[test]
    fn suggestions_by_name_and_tag() {
        let users = vec![
            ("ci-api-deployer".to_string(), vec![]),
            (
                "legacy".to_string(),
                vec![("repo".to_string(), "acme/api".to_string())],
            ),
            ("unrelated".to_string(), vec![]),
        ];
        let s = suggest("acme/api", &users);
        assert_eq!(
            s.iter().map(|s| s.user.as_str()).collect::<Vec<_>>(),
            vec!["ci-api-deployer", "legacy"]
        );
        assert!(suggest("acme/ui", &users).is_empty());
    }
}
