//! From grants to a policy document within IAM's size limits: grants on the same resources
//! merge their actions, then statements with the same actions merge their resources; each
//! statement keeps a `Sid` naming its first source and the file:line of every source.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Value, json};

use super::Grant;

/// IAM's limit on a role's inline policies, together, without whitespace.
pub const ROLE_INLINE_LIMIT: usize = 10_240;
/// IAM's limit on one managed policy, without whitespace.
pub const MANAGED_POLICY_LIMIT: usize = 6_144;

/// One statement of the compiled policy (fields in the alphabetical order of the JSON keys).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Statement {
    pub actions: BTreeSet<String>,
    /// What asked (`aws s3 sync`), in source order.
    pub from: Vec<String>,
    pub resources: BTreeSet<String>,
    pub sid: String,
    /// `path:line` of every step that asked for it.
    pub sources: BTreeSet<String>,
}

/// `aws s3 sync` at `ci.yml:12` → `AwsS3SyncL12` (the file is in the statement's sources).
fn sid_for(what: &str, source: &str) -> String {
    let line = source.rsplit(':').next().unwrap_or("");
    let mut out = String::new();
    for part in format!("{what} L{line}").split(|c: char| !c.is_ascii_alphanumeric()) {
        let mut chars = part.chars();
        if let Some(first) = chars.next() {
            out.push(first.to_ascii_uppercase());
            out.extend(chars);
        }
    }
    out
}

/// Merges grants into as few statements as keeps every grant exact.
pub fn statements<'g>(grants: impl IntoIterator<Item = &'g Grant>) -> Vec<Statement> {
    // Same resources: one statement with the union of actions (in the order first seen).
    let mut by_resources: Vec<Statement> = Vec::new();
    let mut index: BTreeMap<BTreeSet<String>, usize> = BTreeMap::new();
    for grant in grants {
        let resources: BTreeSet<String> = grant.resources.iter().cloned().collect();
        let at = match index.get(&resources) {
            Some(&at) => at,
            None => {
                index.insert(resources.clone(), by_resources.len());
                by_resources.push(Statement {
                    sid: sid_for(&grant.what, &grant.source),
                    actions: BTreeSet::new(),
                    resources,
                    sources: BTreeSet::new(),
                    from: Vec::new(),
                });
                by_resources.len() - 1
            }
        };
        let entry = &mut by_resources[at];
        entry.actions.extend(grant.actions.iter().cloned());
        entry.sources.insert(grant.source.clone());
        if !entry.from.contains(&grant.what) {
            entry.from.push(grant.what.clone());
        }
    }
    // Same actions: one statement with the union of resources.
    let mut merged: Vec<Statement> = Vec::new();
    for statement in by_resources {
        match merged.iter_mut().find(|s| s.actions == statement.actions) {
            Some(existing) => {
                existing.resources.extend(statement.resources);
                existing.sources.extend(statement.sources);
                for what in statement.from {
                    if !existing.from.contains(&what) {
                        existing.from.push(what);
                    }
                }
            }
            None => merged.push(statement),
        }
    }
    // `*` covers every other resource of the same statement.
    for statement in &mut merged {
        if statement.resources.contains("*") {
            statement.resources = BTreeSet::from(["*".to_string()]);
        }
    }
    let mut seen = BTreeSet::new();
    for statement in &mut merged {
        let base = statement.sid.clone();
        let mut n = 2;
        while !seen.insert(statement.sid.clone()) {
            statement.sid = format!("{base}N{n}");
            n += 1;
        }
    }
    merged
}

fn one_or_many(values: &BTreeSet<String>) -> Value {
    if values.len() == 1 {
        json!(values.iter().next())
    } else {
        json!(values)
    }
}

/// The IAM policy document.
pub fn document(statements: &[Statement]) -> Value {
    let list: Vec<Value> = statements
        .iter()
        .map(|s| {
            json!({
                "Sid": s.sid,
                "Effect": "Allow",
                "Action": one_or_many(&s.actions),
                "Resource": one_or_many(&s.resources),
            })
        })
        .collect();
    json!({ "Version": "2012-10-17", "Statement": list })
}

/// The size IAM counts: the document without whitespace.
pub fn iam_size(document: &Value) -> usize {
    /// Counts the bytes written instead of keeping them.
    struct Count(usize);
    impl std::io::Write for Count {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0 += bytes.len();
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut count = Count(0);
    serde_json::to_writer(&mut count, document).expect("counting never fails");
    count.0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grant(actions: &[&str], resources: &[&str], line: usize) -> Grant {
        Grant {
            actions: actions.iter().map(|s| s.to_string()).collect(),
            resources: resources.iter().map(|s| s.to_string()).collect(),
            source: format!(".github/workflows/ci.yml:{line}"),
            what: "aws s3 sync".into(),
        }
    }

    #[test]
    fn merges_same_resources_then_same_actions() {
        let got = statements(&[
            grant(&["s3:PutObject"], &["arn:aws:s3:::a/*"], 3),
            grant(&["s3:DeleteObject"], &["arn:aws:s3:::a/*"], 4),
            grant(
                &["s3:DeleteObject", "s3:PutObject"],
                &["arn:aws:s3:::b/*"],
                5,
            ),
            grant(&["s3:ListBucket"], &["arn:aws:s3:::a"], 6),
        ]);
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].resources.len(), 2);
        assert_eq!(got[0].sid, "AwsS3SyncL3");
        assert_eq!(got[1].sid, "AwsS3SyncL6");
        assert_eq!(got[0].sources.len(), 3);
        assert!(iam_size(&document(&got)) < ROLE_INLINE_LIMIT);
    }
}
