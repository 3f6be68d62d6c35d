//! What a role's permission policy is made of (pure data, kept on each role of the plan):
//! where it comes from, the old user's policies when they are copied, and the statements
//! compiled from the role's jobs when they are inferred.

use serde::Serialize;

use super::infer::limits;

/// What a role got, and why.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum PermissionSource {
    Inferred,
    Copied,
    #[default]
    Placeholder,
}

/// The old IAM user's permissions as IAM holds them (`--copy-permissions-from USER`), for a
/// role whose permissions are `copied`: what every emitter writes instead of the placeholder.
/// (Fields here and below in the alphabetical order of their JSON keys.)
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct CopiedPermissions {
    /// Inline policies (the user's and its groups'), each with an IAM-valid name.
    pub inline: Vec<CopiedPolicy>,
    /// Managed policy ARNs (the user's and its groups').
    pub managed: Vec<String>,
    pub user: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CopiedPolicy {
    pub document: serde_json::Value,
    pub name: String,
}

/// IAM's default quota of managed policies attached to one role.
pub const MANAGED_POLICIES_PER_ROLE: usize = 10;

impl CopiedPermissions {
    /// What IAM would refuse when a role gets all of these: more managed policies than a role
    /// takes by default, or inline policies over a role's 10,240 characters.
    pub fn over_role_limits(&self) -> Vec<String> {
        let mut out = Vec::new();
        if self.managed.len() > MANAGED_POLICIES_PER_ROLE {
            out.push(format!(
                "IAM user {} has {} managed policies (its own and its groups'); a role takes {MANAGED_POLICIES_PER_ROLE} unless the account's quota was raised, so attaching them fails past the {MANAGED_POLICIES_PER_ROLE}th: merge some, or raise the quota first",
                self.user,
                self.managed.len()
            ));
        }
        let inline: usize = self
            .inline
            .iter()
            .map(|p| limits::iam_size(&p.document))
            .sum();
        if inline > limits::ROLE_INLINE_LIMIT {
            out.push(format!(
                "IAM user {}'s inline policies come to {inline} characters, over the {} a role's inline policies may hold: merge them into a managed policy first",
                self.user,
                limits::ROLE_INLINE_LIMIT
            ));
        }
        out
    }
}

/// The compiled result for one role, kept on its [`super::plan::RoleSpec`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct InferredPermissions {
    /// Statements with their sources (the policy document holds the same `Sid`s).
    pub statements: Vec<limits::Statement>,
    /// AWS-using steps the compiler could not read (`path:line step: why`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub unknown_steps: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copied_permissions_over_a_roles_limits_are_named() {
        let small = CopiedPermissions {
            user: "ci".into(),
            managed: vec!["arn:aws:iam::aws:policy/ReadOnlyAccess".into()],
            inline: vec![CopiedPolicy {
                name: "p".into(),
                document: serde_json::json!({"Statement": []}),
            }],
        };
        assert!(small.over_role_limits().is_empty());
        let big = CopiedPermissions {
            managed: (0..11)
                .map(|i| format!("arn:aws:iam::123456789012:policy/p{i}"))
                .collect(),
            inline: vec![CopiedPolicy {
                name: "huge".into(),
                document: serde_json::json!({"Statement": [{"Sid": "x".repeat(10_300)}]}),
            }],
            ..small
        };
        let warnings = big.over_role_limits();
        assert_eq!(warnings.len(), 2, "{warnings:?}");
        assert!(
            warnings[0].contains("has 11 managed policies"),
            "{warnings:?}"
        );
        assert!(warnings[1].contains("over the 10240"), "{warnings:?}");
    }
}
