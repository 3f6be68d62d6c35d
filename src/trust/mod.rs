//! `migrate trust`: derive the GitHub OIDC provider and one IAM role per repository and key
//! pair from scan facts, validate the policies, and render them as Terraform, CloudFormation
//! or JSON. Pure but for `checkout`, which reads git remotes and the checkouts' files; the CLI
//! layer reads GitHub and IAM and writes the output.

pub mod bound;
pub mod checkout;
pub mod conditions;
pub mod emit;
pub mod evidence;
pub mod infer;
pub mod naming;
pub mod permissions;
pub mod plan;
pub mod policy;
pub mod preflight;
pub mod reconcile;
pub mod remote;
pub mod role_permissions;
pub mod source;

use std::fmt;

/// Everything that can make a trust plan impossible to build.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TrustError {
    #[error("account id `{0}` must be exactly 12 digits (e.g. 123456789012)")]
    BadAccountId(String),
    #[error("`{0}` is not OWNER/REPO")]
    BadSlug(String),
    #[error("cannot read OWNER/REPO from the remote URL `{0}`")]
    BadRemoteUrl(String),
    #[error("`{0}` is not OWNER_ID/REPO_ID (two numbers, e.g. 123456/456789)")]
    BadRepoIds(String),
    #[error("`{0}` is not a GitHub host name (e.g. github.example.com)")]
    BadHost(String),
    #[error("role name template `{template}`: {reason}")]
    BadTemplate { template: String, reason: String },
    #[error("generated trust policy for role {role} is unsafe or malformed: {reason}")]
    InvalidPolicy {
        role: String,
        reason: policy::TrustPolicyError,
    },
}

/// A 12-digit AWS account id.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(transparent)]
pub struct AccountId(String);

impl AccountId {
    pub fn parse(text: &str) -> Result<Self, TrustError> {
        if text.len() == 12 && text.bytes().all(|b| b.is_ascii_digit()) {
            Ok(Self(text.to_string()))
        } else {
            Err(TrustError::BadAccountId(text.to_string()))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// `OWNER/REPO` as GitHub spells it (IAM compares it case-sensitively, so keep the case).
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
pub struct Slug {
    pub owner: String,
    pub repo: String,
}

impl Slug {
    pub fn parse(text: &str) -> Result<Self, TrustError> {
        let bad = || TrustError::BadSlug(text.to_string());
        let (owner, repo) = text.split_once('/').ok_or_else(bad)?;
        let valid = |s: &str| {
            !s.is_empty()
                && s.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
        };
        if valid(owner) && valid(repo) {
            Ok(Self {
                owner: owner.to_string(),
                repo: repo.to_string(),
            })
        } else {
            Err(bad())
        }
    }

    /// The slug of a git remote URL: `https://github.com/O/R(.git)`, `git@github.com:O/R.git`,
    /// `ssh://git@host:22/O/R.git`, with or without credentials or a trailing slash.
    pub fn from_remote_url(url: &str) -> Result<Self, TrustError> {
        let bad = || TrustError::BadRemoteUrl(url.to_string());
        let trimmed = url.trim().trim_end_matches('/');
        let trimmed = trimmed.strip_suffix(".git").unwrap_or(trimmed);
        let path = if let Some((_, rest)) = trimmed.split_once("://") {
            rest.split_once('/').ok_or_else(bad)?.1
        } else if let Some((_, rest)) = trimmed.split_once(':') {
            // scp-like `git@host:O/R`
            rest
        } else {
            return Err(bad());
        };
        let mut parts = path.rsplit('/');
        let repo = parts.next().ok_or_else(bad)?;
        let owner = parts.next().ok_or_else(bad)?;
        Self::parse(&format!("{owner}/{repo}")).map_err(|_| bad())
    }
}

impl fmt::Display for Slug {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.owner, self.repo)
    }
}

/// The numeric ids GitHub puts in the immutable `sub` form `repo:OWNER@OWNER_ID/REPO@REPO_ID:…`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct RepoIds {
    pub owner_id: u64,
    pub repo_id: u64,
}

impl RepoIds {
    pub fn parse(text: &str) -> Result<Self, TrustError> {
        let bad = || TrustError::BadRepoIds(text.to_string());
        let (owner, repo) = text.split_once('/').ok_or_else(bad)?;
        Ok(Self {
            owner_id: owner.parse().map_err(|_| bad())?,
            repo_id: repo.parse().map_err(|_| bad())?,
        })
    }
}

/// Who issues the OIDC tokens: the issuer decides the provider URL and the condition-key prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Issuer {
    /// github.com: `token.actions.githubusercontent.com`.
    GitHubCom,
    /// GHEC with the enterprise's unique issuer: `token.actions.githubusercontent.com/<slug>`.
    Enterprise(String),
    /// GitHub Enterprise Server: `HOST/_services/token`.
    Server(String),
}

const GITHUB_ISSUER_HOST: &str = "token.actions.githubusercontent.com";

impl Issuer {
    /// From `--github-host` and `--enterprise-slug`; `github.com` (or nothing) is the public issuer.
    pub fn new(host: Option<&str>, enterprise: Option<&str>) -> Result<Self, TrustError> {
        let is_name = |s: &str| {
            !s.is_empty()
                && s.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_'))
        };
        match (host, enterprise) {
            (Some(h), _) if h != "github.com" => {
                let h = h.trim_start_matches("https://").trim_end_matches('/');
                if is_name(h) {
                    Ok(Self::Server(h.to_string()))
                } else {
                    Err(TrustError::BadHost(h.to_string()))
                }
            }
            (_, Some(slug)) if is_name(slug) => Ok(Self::Enterprise(slug.to_string())),
            (_, Some(slug)) => Err(TrustError::BadHost(slug.to_string())),
            _ => Ok(Self::GitHubCom),
        }
    }

    /// The issuer without its scheme: the IAM provider's name and the condition-key prefix.
    pub fn host_path(&self) -> String {
        match self {
            Self::GitHubCom => GITHUB_ISSUER_HOST.to_string(),
            Self::Enterprise(slug) => format!("{GITHUB_ISSUER_HOST}/{slug}"),
            Self::Server(host) => format!("{host}/_services/token"),
        }
    }

    pub fn url(&self) -> String {
        format!("https://{}", self.host_path())
    }

    pub fn provider_arn(&self, account: &AccountId) -> String {
        format!(
            "arn:aws:iam::{}:oidc-provider/{}",
            account.as_str(),
            self.host_path()
        )
    }

    /// `token.actions.githubusercontent.com:sub` and friends.
    pub fn condition_key(&self, claim: &str) -> String {
        format!("{}:{claim}", self.host_path())
    }
}

/// Why the repositories behind the scanned workflows cannot be known.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error(transparent)]
    Trust(#[from] TrustError),
    #[error(
        "{path} is not inside a checkout (no `.github` directory above it), so its repository is unknown: pass --slug OWNER/REPO"
    )]
    NotInCheckout { path: String },
    #[error(
        "the checkout {root} has no `origin` remote to read OWNER/REPO from: pass --slug OWNER/REPO"
    )]
    NoOrigin { root: String },
    #[error(
        "--slug names one repository but the paths hold {count} checkouts: run once per checkout"
    )]
    SlugForMany { count: usize },
    #[error("nothing read from GitHub: {0}")]
    NothingRead(String),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn account_ids_are_twelve_digits() {
        assert!(AccountId::parse("123456789012").is_ok());
        for bad in ["12345678901", "1234567890123", "12345678901a", ""] {
            assert_eq!(
                AccountId::parse(bad),
                Err(TrustError::BadAccountId(bad.into()))
            );
        }
    }

    #[test]
    fn remote_urls_in_every_form() {
        for url in [
            "https://github.com/octo-org/octo-repo.git",
            "https://github.com/octo-org/octo-repo",
            "https://x-access-token:abc@github.com/octo-org/octo-repo/",
            "git@github.com:octo-org/octo-repo.git",
            "ssh://git@ghe.example.com:2222/octo-org/octo-repo.git",
        ] {
            let slug = Slug::from_remote_url(url).unwrap();
            assert_eq!(slug.to_string(), "octo-org/octo-repo", "{url}");
        }
        assert!(Slug::from_remote_url("/srv/git/repo").is_err());
        assert!(Slug::from_remote_url("https://github.com/").is_err());
    }

    #[test]
    fn issuers_decide_provider_and_keys() {
        let account = AccountId::parse("123456789012").unwrap();
        let ghes = Issuer::new(Some("ghe.example.com"), None).unwrap();
        assert_eq!(
            ghes.provider_arn(&account),
            "arn:aws:iam::123456789012:oidc-provider/ghe.example.com/_services/token"
        );
        assert_eq!(
            ghes.condition_key("sub"),
            "ghe.example.com/_services/token:sub"
        );
        let ghec = Issuer::new(None, Some("octo-ent")).unwrap();
        assert_eq!(
            ghec.condition_key("aud"),
            "token.actions.githubusercontent.com/octo-ent:aud"
        );
        assert_eq!(
            Issuer::new(Some("github.com"), None).unwrap(),
            Issuer::GitHubCom
        );
        assert!(Issuer::new(Some("bad host/x"), None).is_err());
    }
}
