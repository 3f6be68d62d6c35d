//! Evidence of real use (pure): IAM's service-last-accessed data for the old user's keys (and,
//! with `--evidence cloudtrail`, their CloudTrail calls), set beside what the workflow needs
//! and what the user was granted, as one table per role.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use super::bound::{self, Decision};
use super::infer::limits::Statement;

/// One service's last use, as `GetServiceLastAccessedDetails` reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceUse {
    /// IAM's prefix (`s3`).
    pub namespace: String,
    /// `2026-11-02T10:00:00Z`, or `None` when never used in the tracking period.
    pub last_authenticated: Option<String>,
    /// Action-level data, where IAM tracks it: (`PutObject`, last use).
    pub actions: Vec<(String, Option<String>)>,
}

/// The calls of one action CloudTrail recorded for the user's keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObservedCalls {
    /// `s3:ListBuckets`: CloudTrail's event source's service (`s3.amazonaws.com`) and event name,
    /// which for management events are the IAM prefix and action (CloudWatch's `monitoring` is
    /// the known exception: its events are shown as CloudTrail names them).
    pub action: String,
    pub count: usize,
    /// RFC 3339.
    pub last: String,
}

/// The events counted per action, most called first.
pub fn observed_calls(events: &[crate::campaign::attribution::KeyEvent]) -> Vec<ObservedCalls> {
    let mut by_action: BTreeMap<String, (usize, i64)> = BTreeMap::new();
    for e in events {
        let service = e.source.split('.').next().unwrap_or_default();
        if service.is_empty() || e.name.is_empty() {
            continue;
        }
        let slot = by_action
            .entry(format!("{service}:{}", e.name))
            .or_insert((0, e.time));
        slot.0 += 1;
        slot.1 = slot.1.max(e.time);
    }
    let mut out: Vec<ObservedCalls> = by_action
        .into_iter()
        .map(|(action, (count, last))| ObservedCalls {
            action,
            count,
            last: crate::campaign::time::format(last),
        })
        .collect();
    out.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.action.cmp(&b.action)));
    out
}

fn called(calls: &[ObservedCalls], action: &str) -> String {
    match calls.iter().find(|c| c.action.eq_ignore_ascii_case(action)) {
        Some(c) => format!("{} calls, last {}", c.count, c.last),
        None if is_data_event(action) => "data event: not in LookupEvents".into(),
        None => "none".into(),
    }
}

/// `LookupEvents` returns management events only. Data events (S3 object operations and
/// object listings, Lambda invocations, DynamoDB item reads and writes) reach only trails
/// configured to record them, so their absence says nothing.
fn is_data_event(action: &str) -> bool {
    let (prefix, name) = action.split_once(':').unwrap_or((action, ""));
    match prefix.to_ascii_lowercase().as_str() {
        "s3" => {
            name.starts_with("ListBucket")
                || super::infer::table::tables()
                    .resource_types(action)
                    .is_some_and(|types| types.split(',').any(|t| t == "object"))
        }
        "lambda" => name.starts_with("InvokeFunction"),
        "dynamodb" => {
            name.ends_with("Item")
                || name.starts_with("PartiQL")
                || matches!(name, "Query" | "Scan" | "BatchGetItem" | "BatchWriteItem")
        }
        _ => false,
    }
}

/// What IAM observed for one action.
fn observed(uses: &[ServiceUse], action: &str) -> String {
    let (prefix, name) = action.split_once(':').unwrap_or((action, ""));
    let Some(service) = uses
        .iter()
        .find(|u| u.namespace.eq_ignore_ascii_case(prefix))
    else {
        return "no data".into();
    };
    if let Some((_, when)) = service
        .actions
        .iter()
        .find(|(a, _)| a.eq_ignore_ascii_case(name))
    {
        return match when {
            Some(t) => format!("used {t}"),
            None => "never used".into(),
        };
    }
    match &service.last_authenticated {
        Some(t) => format!("service used {t}"),
        None => "service never used".into(),
    }
}

/// The table for one role: every inferred action, then the services the keys used that the
/// workflow does not seem to need, then (with CloudTrail) the actions the keys called that it
/// does not seem to need.
pub fn table(
    statements: &[Statement],
    uses: &[ServiceUse],
    calls: Option<&[ObservedCalls]>,
    user_policies: &[Value],
) -> Vec<String> {
    let mut rows: Vec<[String; 4]> = Vec::new();
    let mut inferred_actions = BTreeSet::new();
    let mut inferred_services = BTreeSet::new();
    for statement in statements {
        for action in &statement.actions {
            inferred_services.insert(action.split(':').next().unwrap_or("").to_ascii_lowercase());
            inferred_actions.insert(action.to_ascii_lowercase());
            let decisions: BTreeSet<&str> = statement
                .resources
                .iter()
                .map(|r| match bound::decide(user_policies, action, r) {
                    Decision::Allowed => "yes",
                    Decision::NotAllowed => "no",
                    Decision::Denied => "denied",
                })
                .collect();
            let granted = decisions.into_iter().collect::<Vec<_>>().join("/");
            rows.push([
                action.clone(),
                format!("yes ({})", statement.sid),
                observed(uses, action),
                granted,
            ]);
        }
    }
    rows.sort();
    rows.dedup_by(|a, b| a[0] == b[0] && a[2] == b[2] && a[3] == b[3]);
    for service in uses {
        if service.last_authenticated.is_some()
            && !inferred_services.contains(&service.namespace.to_ascii_lowercase())
        {
            rows.push([
                format!("{}:*", service.namespace),
                "no".into(),
                observed(uses, &format!("{}:", service.namespace)),
                "(not inferred)".into(),
            ]);
        }
    }
    let mut header = vec![
        "action".to_string(),
        "inferred from the workflow".to_string(),
        "observed (IAM last accessed)".to_string(),
        "granted to the user".to_string(),
    ];
    let mut rows: Vec<Vec<String>> = rows.into_iter().map(Vec::from).collect();
    if let Some(calls) = calls {
        header.insert(3, "observed (CloudTrail)".to_string());
        for row in &mut rows {
            let seen = if row[0].ends_with(":*") {
                "-".to_string()
            } else {
                called(calls, &row[0])
            };
            row.insert(3, seen);
        }
        for c in calls {
            if !inferred_actions.contains(&c.action.to_ascii_lowercase()) {
                rows.push(vec![
                    c.action.clone(),
                    "no".into(),
                    observed(uses, &c.action),
                    called(calls, &c.action),
                    "(not inferred)".into(),
                ]);
            }
        }
    }
    let widths: Vec<usize> = (0..header.len())
        .map(|i| {
            rows.iter()
                .map(|r| r[i].chars().count())
                .chain([header[i].chars().count()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let line = |r: &Vec<String>| {
        let mut text = String::from(" ");
        for (cell, width) in r.iter().zip(&widths) {
            text.push_str(&format!(" {cell:width$} "));
        }
        text.trim_end().to_string()
    };
    std::iter::once(line(&header))
        .chain(rows.iter().map(line))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn three_columns_and_unexplained_use() {
        let statements = [Statement {
            sid: "AwsS3SyncL9".into(),
            actions: BTreeSet::from(["s3:PutObject".to_string(), "s3:DeleteObject".to_string()]),
            resources: BTreeSet::from(["arn:aws:s3:::site/*".to_string()]),
            sources: BTreeSet::new(),
            from: vec![],
        }];
        let uses = [
            ServiceUse {
                namespace: "s3".into(),
                last_authenticated: Some("2026-11-02T10:00:00Z".into()),
                actions: vec![("PutObject".into(), Some("2026-11-02T10:00:00Z".into()))],
            },
            ServiceUse {
                namespace: "ec2".into(),
                last_authenticated: Some("2026-10-01T08:00:00Z".into()),
                actions: vec![],
            },
        ];
        let policies =
            [json!({"Statement": [{"Effect": "Allow", "Action": "s3:Put*", "Resource": "*"}]})];
        let lines: Vec<String> = table(&statements, &uses, None, &policies)
            .iter()
            .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
            .collect();
        assert_eq!(
            lines,
            vec![
                "action inferred from the workflow observed (IAM last accessed) granted to the user",
                "s3:DeleteObject yes (AwsS3SyncL9) service used 2026-11-02T10:00:00Z no",
                "s3:PutObject yes (AwsS3SyncL9) used 2026-11-02T10:00:00Z yes",
                "ec2:* no service used 2026-10-01T08:00:00Z (not inferred)",
            ]
        );
        let event = |source: &str, name: &str, time: i64| crate::campaign::attribution::KeyEvent {
            time,
            region: "eu-west-1".into(),
            source: source.into(),
            name: name.into(),
            source_ip: "4.148.0.1".into(),
            user_agent: String::new(),
        };
        let calls = observed_calls(&[
            event("s3.amazonaws.com", "PutObject", 100),
            event("s3.amazonaws.com", "PutObject", 200),
            event("ec2.amazonaws.com", "DescribeInstances", 50),
        ]);
        let lines: Vec<String> = table(&statements, &uses, Some(&calls), &policies)
            .iter()
            .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
            .collect();
        assert_eq!(
            lines,
            vec![
                "action inferred from the workflow observed (IAM last accessed) observed (CloudTrail) granted to the user",
                "s3:DeleteObject yes (AwsS3SyncL9) service used 2026-11-02T10:00:00Z data event: not in LookupEvents no",
                "s3:PutObject yes (AwsS3SyncL9) used 2026-11-02T10:00:00Z 2 calls, last 1970-01-01T00:03:20Z yes",
                "ec2:* no service used 2026-10-01T08:00:00Z - (not inferred)",
                "ec2:DescribeInstances no service used 2026-10-01T08:00:00Z 1 calls, last 1970-01-01T00:00:50Z (not inferred)",
            ]
        );
    }
}
