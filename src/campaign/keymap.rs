//! The operator's map from GitHub secrets and repositories to IAM users or access keys
//! (`--key-map FILE`, TOML), and the suggestions migrate computes but never acts on. Pure.
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

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;

#[derive(Debug, thiserror::Error)]
pub enum KeyMapError {
    #[error("cannot read key map {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error(
        "key map {path}: {message}\nhelp: see `migrate cleanup --help` for the format ([repos] and [secrets] tables of IAM user names or access key ids)"
    )]
    Parse { path: String, message: String },
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

    pub fn parse(text: &str) -> Result<Self, String> {
        let raw: Raw = toml::from_str(text).map_err(|e| e.message().to_string())?;
        let convert =
            |m: BTreeMap<String, OneOrMany>| -> Result<BTreeMap<String, Vec<KeyRef>>, String> {
                m.into_iter()
                    .map(|(k, v)| {
                        let values = match v {
                            OneOrMany::One(s) => vec![s],
                            OneOrMany::Many(list) => list,
                        };
                        if values.iter().any(|v| v.trim().is_empty()) {
                            return Err(format!("`{k}` maps to an empty name"));
                        }
                        Ok((k, values.iter().map(|v| KeyRef::parse(v)).collect()))
                    })
                    .collect()
            };
        let repos = convert(raw.repos)?;
        if let Some(bad) = repos.keys().find(|k| k.split('/').count() != 2) {
            return Err(format!("[repos] key `{bad}` is not OWNER/REPO"));
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

#[cfg(test)]
mod tests {
    use super::*;

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
