//! `rewrite --pr --preflight` for one planned repository (effects): its `sub` template from
//! GitHub, the roles' trust and the providers from IAM, judged by
//! [`crate::trust::preflight`]; the table goes into the pull request body.

use crate::github::{GitHubReader, RepoSnapshot};
use crate::iam::IamError;
use crate::iam::keys::IamKeys;
use crate::rewrite::RewriteOptions;
use crate::trust::Issuer;
use crate::trust::preflight::{self, Row};

/// One row per migrated job and way it runs; none when no job of the plan assumes a role.
pub async fn check(
    reader: &GitHubReader,
    iam: &IamKeys,
    issuer: &Issuer,
    snapshot: &RepoSnapshot,
    opts: &RewriteOptions,
) -> Result<Vec<Row>, IamError> {
    let (jobs, callers) = crate::preflight::planned_jobs(snapshot, &opts.roles);
    if jobs.is_empty() {
        return Ok(Vec::new());
    }
    // Without the template (no access, old GHES) the default format is assumed.
    let template = reader
        .repo_sub_customization(&snapshot.owner, &snapshot.name)
        .await
        .ok();
    let repo = crate::preflight::repo_claims(snapshot, template.as_ref());
    let roles = jobs.iter().map(|j| j.role.clone()).collect();
    let truth = crate::iam::trust::read(iam, &roles).await?;
    Ok(preflight::check(&repo, issuer, &jobs, &callers, &truth))
}
