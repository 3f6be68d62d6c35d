//! The pre-flight trust check for open campaign pull requests (effects): the workflows the
//! pull request changes, read at the campaign branch, their jobs' `role-to-assume`, each
//! role's trust policy and the providers from IAM, judged by [`crate::trust::preflight`].

use std::collections::{BTreeMap, BTreeSet};

use super::RepoView;
use crate::github::Connections;
use crate::iam::keys::IamKeys;
use crate::preflight::migrated_jobs;
use crate::trust::preflight::{self, RepoClaims, Row};
use crate::trust::{Issuer, Slug};

/// Rows per repository with an open pull request; problems go to `errors` and the run goes on.
pub async fn open_pulls(
    github: &Connections,
    iam: &IamKeys,
    issuer: &Issuer,
    repos: &[RepoView],
    default_branches: &BTreeMap<String, String>,
    errors: &mut Vec<String>,
) -> BTreeMap<String, Vec<Row>> {
    let mut out = BTreeMap::new();
    for view in repos {
        let Some(pull) = view.facts.pull.as_ref().filter(|p| p.state == "open") else {
            continue;
        };
        let Ok(slug) = Slug::parse(&view.facts.repo) else {
            continue;
        };
        let reader = match github.for_owner(&slug.owner) {
            Ok(reader) => reader,
            Err(e) => {
                errors.push(format!("{slug}: pre-flight: {e}"));
                continue;
            }
        };
        let mut jobs = Vec::new();
        let mut callers = Vec::new();
        for path in pull
            .files
            .iter()
            .filter(|p| p.starts_with(".github/workflows/"))
        {
            match reader
                .raw_file(&slug.owner, &slug.repo, path, &pull.head)
                .await
            {
                Ok(text) => {
                    let (planned, calling) = migrated_jobs(path, &text);
                    jobs.extend(planned);
                    callers.extend(calling);
                }
                Err(e) => errors.push(format!("{slug}: pre-flight: {path}: {e}")),
            }
        }
        if jobs.is_empty() {
            continue;
        }
        let template = reader
            .repo_sub_customization(&slug.owner, &slug.repo)
            .await
            .ok();
        let claims = RepoClaims {
            slug: slug.clone(),
            ids: None,
            default_branch: default_branches
                .get(&view.facts.repo)
                .cloned()
                .unwrap_or_else(|| "main".into()),
            sub_prefix: template.as_ref().and_then(|t| t.sub_claim_prefix.clone()),
            claim_keys: template.and_then(|t| {
                (t.use_default == Some(false) && !t.include_claim_keys.is_empty())
                    .then_some(t.include_claim_keys)
            }),
        };
        let roles: BTreeSet<String> = jobs.iter().map(|j| j.role.clone()).collect();
        match crate::iam::trust::read(iam, &roles).await {
            Ok(truth) => {
                out.insert(
                    view.facts.repo.clone(),
                    preflight::check(&claims, issuer, &jobs, &callers, &truth),
                );
            }
            Err(e) => errors.push(format!("{slug}: pre-flight: {e}")),
        }
    }
    out
}
