//! Which IAM role a rewritten job assumes: one `--role-arn` for everything, or a TOML role
//! map keyed by secret name, `owner/repo:SECRET`, or a glob over either; plus ARN validation.

use super::RewriteError;
use crate::glob::glob_match;

/// A validated IAM role ARN: `arn:aws[-cn|-us-gov]:iam::<12 digits>:role/<path and name>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleArn(String);

impl RoleArn {
    /// `origin` says where the value came from (`--role-arn`, `roles.toml key "X"`) for errors.
    pub fn parse(arn: &str, origin: &str) -> Result<Self, RewriteError> {
        if is_valid_role_arn(arn) {
            Ok(Self(arn.to_string()))
        } else {
            Err(RewriteError::InvalidArn {
                arn: arn.to_string(),
                origin: origin.to_string(),
            })
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

fn is_valid_role_arn(arn: &str) -> bool {
    let Some(rest) = ["arn:aws:iam::", "arn:aws-cn:iam::", "arn:aws-us-gov:iam::"]
        .iter()
        .find_map(|p| arn.strip_prefix(p))
    else {
        return false;
    };
    let Some((account, resource)) = rest.split_once(':') else {
        return false;
    };
    let Some(name) = resource.strip_prefix("role/") else {
        return false;
    };
    // IAM role paths and names: letters, digits and `+=,.@_-`, path segments split by `/`.
    account.len() == 12
        && account.bytes().all(|b| b.is_ascii_digit())
        && !name.is_empty()
        && !name.ends_with('/')
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"+=,.@_-/".contains(&b))
}

/// One line of a role map: which secrets (optionally in which repository) map to a role.
#[derive(Debug, Clone)]
struct RoleRule {
    repo: Option<String>,
    /// A GitHub environment: the rule serves only jobs that run in it (environment secrets
    /// override repository secrets of the same name, so they may hold other keys).
    environment: Option<String>,
    secret: String,
    arn: RoleArn,
}

impl RoleRule {
    fn matches(&self, repo: Option<&str>, environment: Option<&str>, secret: &str) -> bool {
        if self.environment.is_some() && self.environment.as_deref() != environment {
            return false;
        }
        let repo_ok = match (&self.repo, repo) {
            (None, _) => true,
            (Some(pattern), Some(repo)) => {
                glob_match(&pattern.to_ascii_lowercase(), &repo.to_ascii_lowercase())
            }
            (Some(_), None) => false,
        };
        repo_ok && glob_match(&self.secret, secret)
    }

    /// More specific rules win: a repository-qualified rule over a bare one, then the rule
    /// with more literal characters.
    fn specificity(&self) -> (bool, bool, usize) {
        let literal = |p: &str| p.chars().filter(|c| !matches!(c, '*' | '?')).count();
        (
            self.environment.is_some(),
            self.repo.is_some(),
            self.secret.len().min(literal(&self.secret)) + self.repo.as_deref().map_or(0, literal),
        )
    }
}

/// A role map read from TOML:
///
/// ```toml
/// [roles]
/// AWS_ACCESS_KEY_ID = "arn:aws:iam::111111111111:role/deploy"
/// "*_STAGING" = "arn:aws:iam::222222222222:role/staging"
/// "octo-org/web:AWS_ACCESS_KEY_ID" = "arn:aws:iam::333333333333:role/web"
///
/// [environments.production]
/// AWS_ACCESS_KEY_ID = "arn:aws:iam::444444444444:role/prod"
/// ```
#[derive(Debug, Clone)]
pub struct RoleMap {
    rules: Vec<RoleRule>,
}

impl RoleMap {
    /// `origin` names the file in error messages.
    pub fn from_toml(text: &str, origin: &str) -> Result<Self, RewriteError> {
        let invalid = |message: String| RewriteError::InvalidRoleMap {
            origin: origin.to_string(),
            message,
        };
        let table: toml::Table = toml::from_str(text).map_err(|e| invalid(e.to_string()))?;
        let mut tables: Vec<(Option<String>, String, &toml::Table)> = Vec::new();
        match table.get("roles") {
            Some(roles) => tables.push((
                None,
                "roles".into(),
                roles
                    .as_table()
                    .ok_or_else(|| invalid("`roles` must be a table".into()))?,
            )),
            None if table.get("environments").is_none() => {
                return Err(invalid("missing the [roles] table".into()));
            }
            None => {}
        }
        if let Some(envs) = table.get("environments") {
            let envs = envs
                .as_table()
                .ok_or_else(|| invalid("`environments` must be a table of tables".into()))?;
            for (env, roles) in envs {
                let roles = roles
                    .as_table()
                    .ok_or_else(|| invalid(format!("environments.\"{env}\" must be a table")))?;
                tables.push((Some(env.clone()), format!("environments.\"{env}\""), roles));
            }
        }
        let mut rules = Vec::new();
        for (environment, name, roles) in tables {
            for (key, value) in roles {
                let arn = value
                    .as_str()
                    .ok_or_else(|| invalid(format!("{name}.\"{key}\" must be a string ARN")))?;
                let arn = RoleArn::parse(arn, &format!("{origin}: {name}.\"{key}\""))?;
                let (repo, secret) = match key.rsplit_once(':') {
                    Some((repo, secret)) if repo.contains('/') => {
                        (Some(repo.to_string()), secret.to_string())
                    }
                    _ => (None, key.clone()),
                };
                if secret.is_empty() {
                    return Err(invalid(format!("{name}.\"{key}\" names no secret")));
                }
                rules.push(RoleRule {
                    repo,
                    environment: environment.clone(),
                    secret,
                    arn,
                });
            }
        }
        Ok(Self { rules })
    }

    /// The `role_map` of `migrate trust --format json`:
    /// `{"role_map": {"OWNER/REPO": {"SECRET": "ARN"}}}`.
    pub fn from_trust_json(text: &str, origin: &str) -> Result<Self, RewriteError> {
        let invalid = |message: String| RewriteError::InvalidRoleMap {
            origin: origin.to_string(),
            message,
        };
        let doc: serde_json::Value =
            serde_json::from_str(text).map_err(|e| invalid(e.to_string()))?;
        let map = doc
            .get("role_map")
            .and_then(serde_json::Value::as_object)
            .ok_or_else(|| {
                invalid("missing the `role_map` object of `migrate trust --format json`".into())
            })?;
        let mut rules = Vec::new();
        for (repo, secrets) in map {
            let secrets = secrets
                .as_object()
                .ok_or_else(|| invalid(format!("role_map.\"{repo}\" must be an object")))?;
            for (secret, arn) in secrets {
                let arn = arn.as_str().ok_or_else(|| {
                    invalid(format!(
                        "role_map.\"{repo}\".\"{secret}\" must be a string ARN"
                    ))
                })?;
                let arn =
                    RoleArn::parse(arn, &format!("{origin}: role_map.\"{repo}\".\"{secret}\""))?;
                rules.push(RoleRule {
                    repo: Some(repo.clone()),
                    environment: None,
                    secret: secret.clone(),
                    arn,
                });
            }
        }
        // `{"role_map_by_environment": {"OWNER/REPO": {"ENV": {"SECRET": "ARN"}}}}`
        if let Some(by_env) = doc
            .get("role_map_by_environment")
            .and_then(serde_json::Value::as_object)
        {
            for (repo, envs) in by_env {
                for (env, secrets) in envs.as_object().into_iter().flatten() {
                    for (secret, arn) in secrets.as_object().into_iter().flatten() {
                        let at = format!(
                            "{origin}: role_map_by_environment.\"{repo}\".\"{env}\".\"{secret}\""
                        );
                        let arn = arn
                            .as_str()
                            .ok_or_else(|| invalid(format!("{at} must be a string ARN")))?;
                        rules.push(RoleRule {
                            repo: Some(repo.clone()),
                            environment: Some(env.clone()),
                            secret: secret.clone(),
                            arn: RoleArn::parse(arn, &at)?,
                        });
                    }
                }
            }
        }
        Ok(Self { rules })
    }

    /// Reads a role map file: TOML, or the JSON `migrate trust --format json` writes.
    pub fn from_file_text(text: &str, origin: &str) -> Result<Self, RewriteError> {
        if text.trim_start().starts_with('{') {
            Self::from_trust_json(text, origin)
        } else {
            Self::from_toml(text, origin)
        }
    }

    /// The role for one secret of `repo` (`owner/repo`, when known).
    pub fn lookup(&self, repo: Option<&str>, secret: &str) -> Option<&RoleArn> {
        self.lookup_in(repo, None, secret).map(|(arn, _)| arn)
    }

    /// The role for one secret read under `environment`, and whether the rule that gave it
    /// names that environment.
    pub fn lookup_in(
        &self,
        repo: Option<&str>,
        environment: Option<&str>,
        secret: &str,
    ) -> Option<(&RoleArn, bool)> {
        self.rules
            .iter()
            .filter(|r| r.matches(repo, environment, secret))
            .max_by_key(|r| r.specificity())
            .map(|r| (&r.arn, r.environment.is_some()))
    }
}

/// What a reusable workflow's `secrets.NAME` holds, in its callers' secret names.
pub type SecretNames = std::collections::BTreeMap<String, Vec<String>>;

/// `names` as the role map knows them: a reusable workflow's secrets under the names its
/// callers fill them from; any other name as it is. Sorted, without repeats.
pub fn callers_names(map: &SecretNames, names: &[String]) -> Vec<String> {
    let mut out: Vec<String> = names
        .iter()
        .flat_map(|n| match map.get(n) {
            Some(from) => from.clone(),
            None => vec![n.clone()],
        })
        .collect();
    out.sort();
    out.dedup();
    out
}

/// Where roles come from.
#[derive(Debug, Clone)]
pub enum RoleSource {
    /// `--role-arn`: every rewritten job assumes this role.
    Single(RoleArn),
    /// `--role-map`.
    Map(RoleMap),
}

/// Why no single role could be chosen for a set of secrets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RoleLookupError {
    Unmapped,
    Conflicting(Vec<String>),
}

impl RoleSource {
    /// The one role that the key material read from `secrets` becomes. Secrets the map does
    /// not name are ignored as long as another secret of the same key pair is mapped.
    pub fn role_for(
        &self,
        repo: Option<&str>,
        secrets: &[String],
    ) -> Result<RoleArn, RoleLookupError> {
        self.role_in(repo, None, secrets).map(|(arn, _)| arn)
    }

    /// [`Self::role_for`] for keys read under `environment`; the flag says whether the role
    /// came from an entry for that environment.
    pub fn role_in(
        &self,
        repo: Option<&str>,
        environment: Option<&str>,
        secrets: &[String],
    ) -> Result<(RoleArn, bool), RoleLookupError> {
        match self {
            Self::Single(arn) => Ok((arn.clone(), false)),
            Self::Map(map) => {
                let hits: Vec<(&RoleArn, bool)> = secrets
                    .iter()
                    .filter_map(|s| map.lookup_in(repo, environment, s))
                    .collect();
                let specific = hits.iter().any(|(_, e)| *e);
                let mut found: Vec<&RoleArn> = hits.iter().map(|(a, _)| *a).collect();
                found.dedup();
                found.sort_by(|a, b| a.0.cmp(&b.0));
                found.dedup();
                match found.as_slice() {
                    [] => Err(RoleLookupError::Unmapped),
                    [one] => Ok(((*one).clone(), specific)),
                    many => Err(RoleLookupError::Conflicting(
                        many.iter().map(|a| a.0.clone()).collect(),
                    )),
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validates_arns() {
        for good in [
            "arn:aws:iam::123456789012:role/deploy",
            "arn:aws-cn:iam::123456789012:role/path/to/role-name_1",
            "arn:aws-us-gov:iam::123456789012:role/a+b=c,d.e@f",
        ] {
            assert!(RoleArn::parse(good, "test").is_ok(), "{good}");
        }
        for bad in [
            "deploy",
            "arn:aws:iam::12345678901:role/x",
            "arn:aws:iam::123456789012:user/x",
            "arn:aws:iam::123456789012:role/",
            "arn:aws-eu:iam::123456789012:role/x",
            "arn:aws:iam::123456789012:role/bad name",
        ] {
            let err = RoleArn::parse(bad, "--role-arn").unwrap_err();
            assert!(
                err.to_string().contains("--role-arn") && err.to_string().contains(bad),
                "{err}"
            );
        }
    }

    #[test]
    fn role_map_prefers_specific_rules() {
        let map = RoleMap::from_toml(
            r#"[roles]
"*" = "arn:aws:iam::111111111111:role/fallback"
"AWS_*_DEV" = "arn:aws:iam::222222222222:role/dev"
"octo/web:AWS_ACCESS_KEY_ID" = "arn:aws:iam::333333333333:role/web"
"#,
            "roles.toml",
        )
        .unwrap();
        let lookup = |repo, s| map.lookup(repo, s).map(|a| a.as_str().to_string());
        assert_eq!(
            lookup(None, "AWS_ACCESS_KEY_ID_DEV").as_deref(),
            Some("arn:aws:iam::222222222222:role/dev")
        );
        assert_eq!(
            lookup(Some("Octo/Web"), "AWS_ACCESS_KEY_ID").as_deref(),
            Some("arn:aws:iam::333333333333:role/web")
        );
        assert_eq!(
            lookup(None, "AWS_ACCESS_KEY_ID").as_deref(),
            Some("arn:aws:iam::111111111111:role/fallback")
        );
    }

    #[test]
    fn role_map_errors_name_the_file_and_key() {
        let err = RoleMap::from_toml("[roles]\nX = \"arn:aws:iam::1:role/x\"\n", "roles.toml")
            .unwrap_err();
        assert!(
            err.to_string().contains("roles.toml") && err.to_string().contains("\"X\""),
            "{err}"
        );
        let err = RoleMap::from_toml("roles = [", "roles.toml").unwrap_err();
        assert!(err.to_string().contains("roles.toml"), "{err}");
    }

    #[test]
    fn unmapped_and_conflicting_secrets() {
        let map = RoleMap::from_toml(
            "[roles]\nA = \"arn:aws:iam::111111111111:role/a\"\nB = \"arn:aws:iam::111111111111:role/b\"\n",
            "m",
        )
        .unwrap();
        let source = RoleSource::Map(map);
        assert_eq!(
            source.role_for(None, &["C".into()]),
            Err(RoleLookupError::Unmapped)
        );
        assert!(matches!(
            source.role_for(None, &["A".into(), "B".into()]),
            Err(RoleLookupError::Conflicting(_))
        ));
        assert_eq!(
            source
                .role_for(None, &["A".into(), "C".into()])
                .unwrap()
                .as_str(),
            "arn:aws:iam::111111111111:role/a"
        );
    }
}
