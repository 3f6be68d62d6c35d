//! What `migrate trust` plans from: the scanned workflows with the identity of each
//! repository they belong to, read from local checkouts ([`super::checkout`]) or from a GitHub
//! scan ([`super::remote`]); and the plan built from them, with the permission policies
//! compiled from the workflow steps.

use std::collections::BTreeMap;
use std::path::PathBuf;

use super::TrustError;
use super::checkout::{self, CheckoutHints};
use super::infer::RepoFiles;
use super::permissions::{self, PermissionChoice};
use super::plan::{self, RepoKey, TrustOptions, TrustPlan};
use super::remote::{self, RepoVariables};
use super::role_permissions::PermissionSource;
use crate::scan::remote::RemoteScan;
use crate::scan::{self, ScanReport, StepRecords};

pub use super::SourceError;
pub use super::plan::Identities;

/// The scanned workflows and who they belong to.
pub struct Scanned {
    pub report: ScanReport,
    pub identities: Identities,
    /// Actions variables of repositories read from GitHub (none for checkouts).
    pub variables: RepoVariables,
}

impl Scanned {
    /// Scans local checkouts, directories of them, or workflow files.
    pub fn from_checkouts(
        paths: &[PathBuf],
        step_records: StepRecords,
        hints: CheckoutHints<'_>,
        warnings: &mut Vec<String>,
    ) -> Result<Self, SourceError> {
        let report = scan::scan_paths(paths, step_records);
        let identities = checkout::identities(&report, hints, warnings)?;
        Ok(Self {
            report,
            identities,
            variables: BTreeMap::new(),
        })
    }

    /// What a GitHub scan read. A scan that yields no repository at all (unknown
    /// organization, no access) is an error, not an empty plan; repositories it skipped are
    /// warnings.
    pub fn from_github(
        remote: RemoteScan,
        warnings: &mut Vec<String>,
    ) -> Result<Self, SourceError> {
        if remote.repositories.is_empty() && !remote.report.errors.is_empty() {
            let reasons: Vec<String> = remote
                .report
                .errors
                .iter()
                .map(|e| e.message.clone())
                .collect();
            return Err(SourceError::NothingRead(reasons.join("; ")));
        }
        let identities = remote::identities(&remote, warnings)?;
        for record in remote
            .repositories
            .iter()
            .filter(|r| r.outcome != "scanned")
        {
            if let Some(reason) = &record.reason {
                warnings.push(format!(
                    "{}: {}: {reason}",
                    record.repository, record.outcome
                ));
            }
        }
        let variables = remote::variables(&remote);
        Ok(Self {
            report: remote.report,
            identities,
            variables,
        })
    }

    /// The plan, each role's permission policy chosen by `choice`. Files that could not be
    /// scanned, roles left without the permissions they need (`copied` when the old user's
    /// will not be read: `copied_will_be_read` false) and the plan's own doubts are warnings.
    pub fn plan(
        self,
        options: &TrustOptions,
        choice: PermissionChoice,
        copied_will_be_read: bool,
        warnings: &mut Vec<String>,
    ) -> Result<TrustPlan, TrustError> {
        let Self {
            report,
            identities,
            variables,
        } = self;
        for error in &report.errors {
            let place = match &error.repository {
                Some(repo) => format!("{repo}: {}", error.path),
                None => error.path.clone(),
            };
            warnings.push(format!("{place}: not scanned: {}", error.message));
        }
        // A GitHub repository's files are not at hand, but its variables are.
        let open = move |key: &RepoKey| -> Box<dyn RepoFiles> {
            match key {
                RepoKey::GitHub(slug) => Box::new(variables.get(slug).cloned().unwrap_or_default()),
                RepoKey::Checkout(root) => checkout::open(root.as_deref()),
            }
        };
        // The jobs compile (in parallel) while the plan is built: neither needs the other.
        let (plan, compiled) = rayon::join(
            || plan::build_plan(&report, &identities, options),
            || permissions::compile_jobs(&report, options.account.as_str(), &open, choice),
        );
        let mut plan = plan?;
        permissions::choose(&mut plan, &report, &compiled, choice);
        if !copied_will_be_read {
            for role in &plan.roles {
                if role.permissions == PermissionSource::Copied {
                    warnings.push(format!(
                        "role {}: needs the old user's permissions, which `--copy-permissions-from USER` reads from IAM: it gets the placeholder",
                        role.name
                    ));
                }
            }
        }
        warnings.extend(plan.warnings.iter().cloned());
        if plan.roles.is_empty() {
            warnings.push("no job needs a role: nothing but the provider to create".into());
        }
        Ok(plan)
    }
}
