//! Which permission policy each role of a plan gets (`trust --permissions`): the policy
//! compiled from its jobs' steps when every AWS-using step was understood and it fits IAM's
//! limits, else the old user's permissions (`copied`), else the placeholder; never silently.

use std::collections::HashMap;

use rayon::prelude::*;

use super::infer::{self, Context, RepoFiles, limits};
use super::plan::{RepoKey, RoleSpec, TrustPlan};
use super::role_permissions::{CopiedPermissions, InferredPermissions, PermissionSource};
use crate::scan::{FileReport, ScanReport};

/// What the user asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PermissionChoice {
    /// Compiled from the steps; `copied` for a role whose steps are not all understood.
    #[default]
    Inferred,
    /// The old IAM user's policies (`trust --copy-permissions-from USER`).
    Copied,
    /// One harmless statement to replace by hand.
    Placeholder,
}

impl PermissionChoice {
    /// What the scan keeps of each job's steps: only compiled policies read them.
    pub fn step_records(self) -> crate::scan::StepRecords {
        match self {
            Self::Inferred => crate::scan::StepRecords::Keep,
            Self::Copied | Self::Placeholder => crate::scan::StepRecords::Skip,
        }
    }
}

/// Gives the old user's permissions to every role of the plan that does not infer its own,
/// and returns what IAM would refuse of them ([`CopiedPermissions::over_role_limits`]) when
/// some role takes them.
pub fn give_copied(plan: &mut TrustPlan, copied: &CopiedPermissions) -> Vec<String> {
    let copies = |role: &RoleSpec| role.permissions != PermissionSource::Inferred;
    let refused = if plan.roles.iter().any(copies) {
        copied.over_role_limits()
    } else {
        Vec::new()
    };
    for role in &mut plan.roles {
        if copies(role) {
            role.copied = Some(copied.clone());
        }
    }
    refused
}

/// The plan's own statements a compiled policy keeps: the role-chaining grant
/// (`ChainToExistingRoles`, for keys that were the source of an assume-role call).
pub fn with_kept_statements(
    mut document: serde_json::Value,
    plan_policy: &serde_json::Value,
) -> serde_json::Value {
    let kept: Vec<serde_json::Value> = plan_policy["Statement"]
        .as_array()
        .map(|list| {
            list.iter()
                .filter(|s| s["Sid"] == "ChainToExistingRoles")
                .cloned()
                .collect()
        })
        .unwrap_or_default();
    if let Some(list) = document
        .get_mut("Statement")
        .and_then(serde_json::Value::as_array_mut)
    {
        list.extend(kept);
    }
    document
}

/// An inferred role's policy bounded by the old IAM user's own ([`super::bound`]).
#[derive(Debug, Clone, PartialEq)]
pub struct BoundedPolicy {
    pub role: String,
    /// The policy the role gets: what the user could do of the inferred one.
    pub document: serde_json::Value,
    /// One message per (action, resource) dropped because the user could not do it.
    pub dropped: Vec<String>,
}

/// The roles whose policy is inferred, each with what the compiler found for it, in plan
/// order: the roles the old user's evidence and bound are about.
pub fn inferred_roles(plan: &TrustPlan) -> impl Iterator<Item = (&RoleSpec, &InferredPermissions)> {
    plan.roles
        .iter()
        .filter(|role| role.permissions == PermissionSource::Inferred)
        .filter_map(|role| role.inferred.as_ref().map(|inferred| (role, inferred)))
}

/// The inferred roles' policies bounded by `user`'s policy documents, in plan order.
pub fn bounded_policies(
    plan: &TrustPlan,
    user: &str,
    documents: &[serde_json::Value],
) -> Vec<BoundedPolicy> {
    inferred_roles(plan)
        .map(|(role, inferred)| {
            let (kept, dropped) = super::bound::bound(&inferred.statements, user, documents);
            BoundedPolicy {
                role: role.name.clone(),
                document: with_kept_statements(limits::document(&kept), &role.permission_policy),
                dropped,
            }
        })
        .collect()
}

/// `--copy-permissions-from` in the emitted plan: the old user's permissions given to every
/// role that copies them, and each inferred role's policy replaced by its bounded version.
/// Returns what IAM would refuse of the copied permissions ([`give_copied`]).
pub fn copy_into(
    plan: &mut TrustPlan,
    copied: &CopiedPermissions,
    bounded: Vec<BoundedPolicy>,
) -> Vec<String> {
    let refused = give_copied(plan, copied);
    for policy in bounded {
        if let Some(role) = plan.roles.iter_mut().find(|r| r.name == policy.role) {
            role.permission_policy = policy.document;
        }
    }
    refused
}

/// The scanned file a role's job is in.
fn file_index(report: &ScanReport, repo: &str, path: &str) -> Option<usize> {
    report
        .files
        .iter()
        .position(|f| f.path == path && f.repository.as_deref().is_none_or(|r| r == repo))
}

/// Opens the repository of a scanned file (a checkout on disk, or nothing for a GitHub scan);
/// called from the threads that compile jobs.
pub type RepoOpener = dyn Fn(&RepoKey) -> Box<dyn RepoFiles> + Sync;

/// Every recorded job of every scanned file, compiled: by the file's position in the report
/// and the job's id (`None` for a composite action's steps).
#[derive(Debug, Default)]
pub struct CompiledJobs(HashMap<(usize, Option<String>), infer::JobInference>);

/// Compiles every job the scan recorded steps for, in parallel, independently of the roles
/// (so it runs while the plan is built); nothing for `placeholder`. `files` opens the
/// repository of a scanned file.
pub fn compile_jobs(
    report: &ScanReport,
    account: &str,
    files: &RepoOpener,
    choice: PermissionChoice,
) -> CompiledJobs {
    if choice == PermissionChoice::Placeholder {
        return CompiledJobs::default();
    }
    let jobs: Vec<(usize, &FileReport, &crate::facts::steps::JobSteps)> = report
        .files
        .iter()
        .enumerate()
        .flat_map(|(at, file)| file.aws_steps.iter().map(move |steps| (at, file, steps)))
        .collect();
    CompiledJobs(
        jobs.par_iter()
            .map(|(at, file, steps)| {
                let repo_files = files(&RepoKey::of(file));
                let ctx = Context {
                    account,
                    path: in_repository(&file.path),
                    files: repo_files.as_ref(),
                };
                ((*at, steps.job.clone()), infer::compile_job(steps, &ctx))
            })
            .collect(),
    )
}

/// Chooses what each role gets from its jobs' compiled policies (`compiled`, from
/// [`compile_jobs`] on the same report).
pub fn choose(
    plan: &mut TrustPlan,
    report: &ScanReport,
    compiled: &CompiledJobs,
    choice: PermissionChoice,
) {
    if choice == PermissionChoice::Placeholder {
        for role in &mut plan.roles {
            role.permissions = PermissionSource::Placeholder;
        }
        return;
    }
    let mut warnings: Vec<String> = Vec::new();
    for role in plan.roles.iter_mut() {
        let (inferred, role_warnings) = merge_role(role, report, compiled);
        for warning in role_warnings {
            if !warnings.contains(&warning) {
                warnings.push(warning);
            }
        }
        let complete = inferred.unknown_steps.is_empty() && !inferred.statements.is_empty();
        role.permissions = match choice {
            PermissionChoice::Copied => PermissionSource::Copied,
            _ if !complete => {
                let why = if inferred.unknown_steps.is_empty() {
                    "no step of its jobs calls AWS in a way the compiler can read".to_string()
                } else {
                    format!(
                        "steps not understood: {}",
                        inferred.unknown_steps.join("; ")
                    )
                };
                warnings.push(format!(
                    "role {}: permissions copied from the old user instead of inferred: {why}",
                    role.name
                ));
                PermissionSource::Copied
            }
            _ => {
                let document = limits::document(&inferred.statements);
                let size = limits::iam_size(&document);
                if size > limits::ROLE_INLINE_LIMIT {
                    warnings.push(format!(
                        "role {}: the inferred policy is {size} characters, over IAM's {} for a role's inline policies even after merging statements; permissions copied from the old user instead",
                        role.name,
                        limits::ROLE_INLINE_LIMIT
                    ));
                    PermissionSource::Copied
                } else {
                    role.permission_policy =
                        with_kept_statements(document, &role.permission_policy);
                    PermissionSource::Inferred
                }
            }
        };
        role.inferred = Some(inferred);
    }
    plan.warnings.extend(warnings);
}

/// One role's policy from its jobs' compiled ones, and the compiler's warnings, in job order.
fn merge_role(
    role: &RoleSpec,
    report: &ScanReport,
    compiled: &CompiledJobs,
) -> (InferredPermissions, Vec<String>) {
    let mut jobs = Vec::new();
    let mut unknown = Vec::new();
    let mut warnings = Vec::new();
    for job in &role.jobs {
        let Some(at) = file_index(report, &role.repo, &job.path) else {
            continue;
        };
        let Some(result) = compiled.0.get(&(at, job.job.clone())) else {
            continue;
        };
        unknown.extend(result.unknown.iter().cloned());
        warnings.extend(result.warnings.iter().cloned());
        jobs.push(result);
    }
    let inferred = InferredPermissions {
        statements: limits::statements(jobs.iter().flat_map(|job| &job.grants)),
        unknown_steps: unknown,
    };
    (inferred, warnings)
}

/// The path inside the repository (`.github/workflows/x.yml`), as provenance shows it.
fn in_repository(path: &str) -> &str {
    match path.find(".github/") {
        Some(at) => &path[at..],
        None => path,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn inferred_policies_keep_the_role_chaining_grant() {
        let plan_policy = json!({"Statement": [
            {"Sid": "TodoReplaceWithThePermissionsTheWorkflowNeeds", "Effect": "Allow", "Action": "sts:GetCallerIdentity", "Resource": "*"},
            {"Sid": "ChainToExistingRoles", "Effect": "Allow", "Action": ["sts:AssumeRole", "sts:TagSession"], "Resource": ["arn:aws:iam::123456789012:role/deployer"]}
        ]});
        let inferred = json!({"Version": "2012-10-17", "Statement": [
            {"Sid": "CdkDeployL9", "Effect": "Allow", "Action": "sts:AssumeRole", "Resource": "arn:aws:iam::123456789012:role/cdk-*"}
        ]});
        let kept = with_kept_statements(inferred, &plan_policy);
        let sids: Vec<&str> = kept["Statement"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["Sid"].as_str().unwrap())
            .collect();
        assert_eq!(sids, vec!["CdkDeployL9", "ChainToExistingRoles"]);
    }
}
