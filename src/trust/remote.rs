//! Repositories read by a GitHub scan, as `migrate trust` needs them (pure): each one's slug,
//! numeric ids, default branch and OIDC `sub` template, and its Actions variables for the
//! policy compiler.

use std::collections::BTreeMap;

use super::SourceError;
use super::infer::GitHubSettings;
use super::plan::Identities;
use super::plan::{RepoIdentity, RepoKey};
use super::policy::DEFAULT_CLAIM_KEYS;
use super::{RepoIds, Slug};
use crate::github::SubCustomization;
use crate::scan::remote::RemoteScan;

/// Actions variables by repository slug (`OWNER/REPO` → name → value).
pub type RepoVariables = BTreeMap<String, GitHubSettings>;

/// The custom claim keys a repository's tokens use, following GitHub's rules: `use_default:
/// true` is the default format; `false` with keys uses them; `false` without keys falls back to
/// the organization's template. `None` means GitHub's default `repo:…:context`.
fn effective_claim_keys(
    slug: &str,
    repo: Option<&SubCustomization>,
    org: Option<&SubCustomization>,
    org_known: bool,
    warnings: &mut Vec<String>,
) -> Option<Vec<String>> {
    let custom = |keys: &[String]| (keys != DEFAULT_CLAIM_KEYS).then(|| keys.to_vec());
    let Some(repo) = repo else {
        warnings.push(format!(
            "{slug}: its OIDC `sub` template could not be read; assuming GitHub's default format"
        ));
        return None;
    };
    if repo.use_default != Some(false) {
        return None;
    }
    if !repo.include_claim_keys.is_empty() {
        return custom(&repo.include_claim_keys);
    }
    match org {
        Some(org) if !org.include_claim_keys.is_empty() => custom(&org.include_claim_keys),
        Some(_) => None,
        None => {
            warnings.push(if org_known {
                format!("{slug}: uses its organization's `sub` template, which could not be read; assuming GitHub's default format")
            } else {
                format!("{slug}: uses its organization's `sub` template, which --repo does not read; assuming GitHub's default format (use --org to read it)")
            });
            None
        }
    }
}

/// Identities of the repositories GitHub returned: slug, ids, default branch and `sub` template.
pub fn identities(
    remote: &RemoteScan,
    warnings: &mut Vec<String>,
) -> Result<Identities, SourceError> {
    let org_template = remote
        .organization
        .as_ref()
        .and_then(|o| o.oidc_sub.as_ref());
    let mut out = BTreeMap::new();
    for record in remote
        .repositories
        .iter()
        .filter(|r| r.outcome == "scanned")
    {
        let slug = Slug::parse(&record.repository)?;
        let ids = match (record.owner_id, record.id) {
            (Some(owner_id), Some(repo_id)) => Some(RepoIds { owner_id, repo_id }),
            _ => None,
        };
        let default_branch = record.default_branch.clone().unwrap_or_else(|| {
            warnings.push(format!(
                "{slug}: GitHub reported no default branch; assuming `main`"
            ));
            "main".into()
        });
        let claim_keys = effective_claim_keys(
            &record.repository,
            record.oidc_sub.as_ref(),
            org_template,
            remote.organization.is_some(),
            warnings,
        );
        out.insert(
            RepoKey::GitHub(record.repository.clone()),
            RepoIdentity {
                slug,
                ids,
                default_branch,
                sub_prefix: record
                    .oidc_sub
                    .as_ref()
                    .and_then(|s| s.sub_claim_prefix.clone()),
                claim_keys,
            },
        );
    }
    Ok(out)
}

/// Every repository's Actions variables, repository and environment ones.
pub fn variables(remote: &RemoteScan) -> RepoVariables {
    remote
        .repositories
        .iter()
        .map(|r| {
            (
                r.repository.clone(),
                GitHubSettings {
                    variables: r.variables.clone(),
                    environment_variables: r.environment_variables.clone(),
                },
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn template(use_default: Option<bool>, keys: &[&str]) -> SubCustomization {
        SubCustomization {
            use_default,
            include_claim_keys: keys.iter().map(|k| k.to_string()).collect(),
            sub_claim_prefix: None,
        }
    }

    #[test]
    fn claim_keys_follow_githubs_fallback_from_repository_to_organization() {
        let mut warnings = Vec::new();
        let mut keys = |repo: Option<&SubCustomization>, org: Option<&SubCustomization>| {
            effective_claim_keys("o/r", repo, org, true, &mut warnings)
        };
        let custom = template(Some(false), &["repo", "environment"]);
        let org = template(None, &["repo", "job_workflow_ref"]);
        assert_eq!(keys(Some(&template(Some(true), &[])), Some(&org)), None);
        assert_eq!(
            keys(Some(&custom), Some(&org)),
            Some(vec!["repo".into(), "environment".into()])
        );
        assert_eq!(
            keys(Some(&template(Some(false), &[])), Some(&org)),
            Some(vec!["repo".into(), "job_workflow_ref".into()])
        );
        // GitHub's own keys, named: no custom template to trust.
        assert_eq!(
            keys(Some(&template(Some(false), &DEFAULT_CLAIM_KEYS)), None),
            None
        );
        assert!(warnings.is_empty(), "{warnings:?}");
    }

    #[test]
    fn an_unread_template_is_assumed_default_with_a_warning() {
        let mut warnings = Vec::new();
        assert_eq!(
            effective_claim_keys("o/r", None, None, true, &mut warnings),
            None
        );
        let falls_back = template(Some(false), &[]);
        assert_eq!(
            effective_claim_keys("o/r", Some(&falls_back), None, false, &mut warnings),
            None
        );
        assert_eq!(warnings.len(), 2);
        assert!(warnings[1].contains("--repo does not read"), "{warnings:?}");
    }
}
