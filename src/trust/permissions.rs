//! Which permission policy each role of a plan gets (`trust --permissions`): the policy
//! compiled from its jobs' steps when every AWS-using step was understood and it fits IAM's
//! limits, else the old user's permissions (`copied`), else the placeholder; never silently.

use serde::Serialize;

use super::infer::{self, Context, RepoFiles, limits};
use super::plan::{RepoKey, RoleSpec, TrustPlan};
use crate::scan::{FileReport, ScanReport};

/// What the user asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PermissionChoice {
    /// Compiled from the steps; `copied` for a role whose steps are not all understood.
    #[default]
    Inferred,
    /// The old IAM user's policies (`trust --apply --copy-permissions-from USER`).
    Copied,
    /// One harmless statement to replace by hand.
    Placeholder,
}

/// What a role got, and why.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum PermissionSource {
    Inferred,
    Copied,
    #[default]
    Placeholder,
}

/// The compiled result for one role, kept on its [`RoleSpec`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct InferredPermissions {
    /// Statements with their sources (the policy document holds the same `Sid`s).
    pub statements: Vec<limits::Statement>,
    /// AWS-using steps the compiler could not read (`path:line step: why`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub unknown_steps: Vec<String>,
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

/// The scanned file a role's job is in.
fn file_of<'r>(report: &'r ScanReport, repo: &str, path: &str) -> Option<&'r FileReport> {
    report
        .files
        .iter()
        .find(|f| f.path == path && f.repository.as_deref().is_none_or(|r| r == repo))
}

/// Compiles every role's policy and chooses what each role gets. `files` opens the
/// repository of a scanned file (a checkout on disk, or nothing for a GitHub scan).
pub fn choose(
    plan: &mut TrustPlan,
    report: &ScanReport,
    choice: PermissionChoice,
    files: &dyn Fn(&RepoKey) -> Box<dyn RepoFiles>,
) {
    let account = plan.account.as_str().to_string();
    let mut warnings = Vec::new();
    for role in &mut plan.roles {
        if choice == PermissionChoice::Placeholder {
            role.permissions = PermissionSource::Placeholder;
            continue;
        }
        let inferred = compile_role(role, report, &account, files, &mut warnings);
        let document = limits::document(&inferred.statements);
        let size = limits::iam_size(&document);
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
            _ if size > limits::ROLE_INLINE_LIMIT => {
                warnings.push(format!(
                    "role {}: the inferred policy is {size} characters, over IAM's {} for a role's inline policies even after merging statements; permissions copied from the old user instead",
                    role.name,
                    limits::ROLE_INLINE_LIMIT
                ));
                PermissionSource::Copied
            }
            _ => {
                role.permission_policy = with_kept_statements(document, &role.permission_policy);
                PermissionSource::Inferred
            }
        };
        role.inferred = Some(inferred);
    }
    plan.warnings.extend(warnings);
}

fn compile_role(
    role: &RoleSpec,
    report: &ScanReport,
    account: &str,
    files: &dyn Fn(&RepoKey) -> Box<dyn RepoFiles>,
    warnings: &mut Vec<String>,
) -> InferredPermissions {
    let mut grants = Vec::new();
    let mut unknown = Vec::new();
    for job in &role.jobs {
        let Some(file) = file_of(report, &role.repo, &job.path) else {
            continue;
        };
        let Some(steps) = file.aws_steps.iter().find(|s| s.job == job.job) else {
            continue;
        };
        let repo_files = files(&RepoKey::of(file));
        let relative = in_repository(&file.path);
        let ctx = Context {
            account,
            path: relative,
            files: repo_files.as_ref(),
        };
        let result = infer::compile_job(steps, &ctx);
        grants.extend(result.grants);
        unknown.extend(result.unknown);
        for warning in result.warnings {
            if !warnings.contains(&warning) {
                warnings.push(warning);
            }
        }
    }
    InferredPermissions {
        statements: limits::statements(&grants),
        unknown_steps: unknown,
    }
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
