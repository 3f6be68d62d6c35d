//! Evidence of real use (pure): IAM's service-last-accessed data for the old user's keys, set
//! beside what the workflow needs and what the user was granted, as one table per role.

use std::collections::BTreeSet;

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
/// workflow does not seem to need.
pub fn table(
    statements: &[Statement],
    uses: &[ServiceUse],
    user_policies: &[Value],
) -> Vec<String> {
    let mut rows: Vec<[String; 4]> = Vec::new();
    let mut inferred_services = BTreeSet::new();
    for statement in statements {
        for action in &statement.actions {
            inferred_services.insert(action.split(':').next().unwrap_or("").to_ascii_lowercase());
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
    let header = [
        "action".to_string(),
        "inferred from the workflow".to_string(),
        "observed (IAM last accessed)".to_string(),
        "granted to the user".to_string(),
    ];
    let widths: Vec<usize> = (0..4)
        .map(|i| {
            rows.iter()
                .map(|r| r[i].len())
                .chain([header[i].len()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let line = |r: &[String; 4]| {
        format!(
            "  {:w0$}  {:w1$}  {:w2$}  {}",
            r[0],
            r[1],
            r[2],
            r[3],
            w0 = widths[0],
            w1 = widths[1],
            w2 = widths[2]
        )
        .trim_end()
        .to_string()
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
        let lines: Vec<String> = table(&statements, &uses, &policies)
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
    }
}
