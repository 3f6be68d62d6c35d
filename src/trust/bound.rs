//! Bounding an inferred policy by the old IAM user's own policies (pure): every (action,
//! resource) pair of the compiled statements is kept only when the user's policies allow it as
//! IAM evaluates identity policies (an explicit Deny wins, then any Allow; wildcards in actions
//! case-insensitively, in resources case-sensitively; `NotAction`/`NotResource`). The role
//! never gets what the user could not do; what was dropped is reported.
//!
//! Conservative where a policy document cannot say for sure: an Allow with a `Condition` does
//! not count (the condition may not hold for the role), a Deny with one does; a Deny whose
//! resource pattern overlaps the compiled pattern at all denies it.

use std::collections::BTreeSet;

use serde_json::Value;

use super::infer::limits::Statement;

/// `*` and `?` glob match, optionally case-insensitive. A `*` in `text` (a compiled pattern)
/// is an ordinary character, so a user pattern covers a compiled pattern only when it matches
/// every string the compiled one does.
fn glob(pattern: &str, text: &str, fold_case: bool) -> bool {
    if fold_case {
        crate::glob::glob_match(&pattern.to_ascii_lowercase(), &text.to_ascii_lowercase())
    } else {
        crate::glob::glob_match(pattern, text)
    }
}

fn strings(value: &Value) -> Vec<&str> {
    match value {
        Value::String(s) => vec![s.as_str()],
        Value::Array(items) => items.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    }
}

/// Every statement of a policy document (`Statement` may be one object or a list).
fn statements(document: &Value) -> Vec<&Value> {
    match &document["Statement"] {
        Value::Array(items) => items.iter().collect(),
        Value::Object(_) => vec![&document["Statement"]],
        _ => Vec::new(),
    }
}

/// Whether a statement's action and resource elements cover the pair. `overlap` (for Deny)
/// also counts a compiled pattern that merely overlaps the statement's resource pattern.
fn applies(statement: &Value, action: &str, resource: &str, overlap: bool) -> bool {
    let action_ok = if statement.get("Action").is_some() {
        strings(&statement["Action"])
            .iter()
            .any(|p| glob(p, action, true))
    } else if statement.get("NotAction").is_some() {
        !strings(&statement["NotAction"])
            .iter()
            .any(|p| glob(p, action, true))
    } else {
        false
    };
    if !action_ok {
        return false;
    }
    let matches = |p: &str| glob(p, resource, false) || (overlap && glob(resource, p, false));
    if statement.get("Resource").is_some() {
        strings(&statement["Resource"]).iter().any(|p| matches(p))
    } else if statement.get("NotResource").is_some() {
        !strings(&statement["NotResource"])
            .iter()
            .any(|p| glob(p, resource, false))
    } else {
        false
    }
}

/// How IAM would decide the pair for the user.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Allowed,
    /// No Allow covers it.
    NotAllowed,
    /// An explicit Deny covers it.
    Denied,
}

pub fn decide(user_policies: &[Value], action: &str, resource: &str) -> Decision {
    let all: Vec<&Value> = user_policies.iter().flat_map(statements).collect();
    let denied = all
        .iter()
        .filter(|s| s["Effect"] == "Deny")
        .any(|s| applies(s, action, resource, true));
    if denied {
        return Decision::Denied;
    }
    let allowed = all
        .iter()
        .filter(|s| s["Effect"] == "Allow" && s.get("Condition").is_none())
        .any(|s| applies(s, action, resource, false));
    if allowed {
        Decision::Allowed
    } else {
        Decision::NotAllowed
    }
}

/// The statements with every pair the user could not do removed, and one message per removal.
pub fn bound(
    compiled: &[Statement],
    user: &str,
    user_policies: &[Value],
) -> (Vec<Statement>, Vec<String>) {
    let mut kept = Vec::new();
    let mut dropped = Vec::new();
    for statement in compiled {
        let mut actions = BTreeSet::new();
        let mut resources = BTreeSet::new();
        for action in &statement.actions {
            for resource in &statement.resources {
                match decide(user_policies, action, resource) {
                    Decision::Allowed => {
                        actions.insert(action.clone());
                        resources.insert(resource.clone());
                    }
                    decision => dropped.push(format!(
                        "{} ({}): the workflow seems to need {action} on {resource}, but IAM user {user} {}: not granted to the role (the inference is wrong, or the workflow fails today)",
                        statement.sid,
                        statement.sources.iter().cloned().collect::<Vec<_>>().join(", "),
                        if decision == Decision::Denied { "is explicitly denied it" } else { "is not allowed it" },
                    )),
                }
            }
        }
        // Keep the statement exact: only when every surviving action holds on every
        // surviving resource; otherwise one statement per surviving action.
        let all_pairs = actions.iter().all(|a| {
            resources
                .iter()
                .all(|r| decide(user_policies, a, r) == Decision::Allowed)
        });
        if actions.is_empty() {
            continue;
        }
        if all_pairs {
            kept.push(Statement {
                actions,
                resources,
                ..statement.clone()
            });
        } else {
            for (n, action) in actions.iter().enumerate() {
                let allowed: BTreeSet<String> = statement
                    .resources
                    .iter()
                    .filter(|r| decide(user_policies, action, r) == Decision::Allowed)
                    .cloned()
                    .collect();
                kept.push(Statement {
                    sid: format!("{}A{}", statement.sid, n + 1),
                    actions: BTreeSet::from([action.clone()]),
                    resources: allowed,
                    ..statement.clone()
                });
            }
        }
    }
    (kept, dropped)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn globs_cover_patterns() {
        assert!(glob("s3:*", "s3:GetObject", true));
        assert!(glob("S3:get*", "s3:GetObject", true));
        assert!(glob("arn:aws:s3:::b/*", "arn:aws:s3:::b/site/*", false));
        assert!(!glob(
            "arn:aws:s3:::b/site/x",
            "arn:aws:s3:::b/site/*",
            false
        ));
        assert!(!glob("arn:aws:s3:::B/*", "arn:aws:s3:::b/x", false));
        assert!(glob("*", "anything", false));
    }

    #[test]
    fn explicit_deny_wins_and_conditions_are_conservative() {
        let policies = [
            json!({"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}),
            json!({"Statement": {"Effect": "Deny", "Action": "s3:Delete*", "Resource": "arn:aws:s3:::prod-*"}}),
            json!({"Statement": [{"Effect": "Allow", "Action": "iam:PassRole", "Resource": "*", "Condition": {"StringEquals": {"iam:PassedToService": "ecs-tasks.amazonaws.com"}}}]}),
        ];
        assert_eq!(
            decide(&policies, "s3:DeleteObject", "arn:aws:s3:::prod-site/*"),
            Decision::Denied
        );
        // The compiled `*` overlaps the denied pattern: denied.
        assert_eq!(decide(&policies, "s3:DeleteObject", "*"), Decision::Denied);
        assert_eq!(
            decide(&policies, "s3:PutObject", "arn:aws:s3:::prod-site/*"),
            Decision::Allowed
        );
        let narrow =
            [json!({"Statement": [{"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"}]})];
        assert_eq!(decide(&narrow, "iam:PassRole", "*"), Decision::NotAllowed);
        assert_eq!(decide(&narrow, "ecs:UpdateService", "*"), Decision::Allowed);
        assert_eq!(
            decide(&policies[2..], "iam:PassRole", "*"),
            Decision::NotAllowed
        );
    }
}
