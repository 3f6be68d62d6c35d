//! `rewrite --pr`: per repository, one branch (`migrate/aws-oidc`), one commit with every
//! rewritten file (Git Data API, on top of the default branch tip that was planned against),
//! and one pull request. Re-running updates the branch and PR in place; a moved default
//! branch is re-planned, never overwritten. [`plan`] and [`body`] are pure; [`sync`] does the
//! writes, each journaled first ([`journal`]: in the campaign ledger); [`run`] takes a target
//! from discovery to published pull requests, with the pre-flight trust check
//! ([`preflight`]) and, under `--max-requests`, what a stopped run published ([`resume`]).

mod body;
pub mod journal;
mod plan;
pub mod preflight;
pub mod resume;
pub mod run;
mod sync;

pub use body::pull_body;
pub use plan::{FilePlan, RepoPlan, plan_repo, writes_upper_bound};
pub use sync::{Journal, JournalError, NoJournal, PublishSettings, RepoOutcome, publish_repo};

use crate::rewrite::{RewriteError, RewriteOptions, RoleArn, RoleMap, RoleSource};

/// The campaign's branch in every repository.
pub const BRANCH: &str = "migrate/aws-oidc";
/// The pull request's title (and the first line of its commit).
const TITLE: &str = "Use OIDC instead of static AWS access keys";

/// Where each repository's role comes from.
#[derive(Debug, Clone)]
pub enum Roles {
    /// `--role-arn`, possibly with `{owner}` and `{repo}` placeholders.
    Template(String),
    /// `--role-map`, looked up with the repository's `OWNER/REPO`.
    Map(RoleMap),
}

impl Roles {
    /// Rewrite options for one repository; `action_ref` and `pin` as for `--action-ref`.
    pub fn options_for(
        &self,
        owner: &str,
        repo: &str,
        action_ref: &str,
        pin: bool,
    ) -> Result<RewriteOptions, RewriteError> {
        let roles = match self {
            Roles::Template(template) => {
                let arn = template.replace("{owner}", owner).replace("{repo}", repo);
                RoleSource::Single(RoleArn::parse(&arn, "--role-arn")?)
            }
            Roles::Map(map) => RoleSource::Map(map.clone()),
        };
        let mut opts = RewriteOptions::new(roles).with_action_ref(action_ref, pin);
        opts.repo = Some(format!("{owner}/{repo}"));
        Ok(opts)
    }
}
