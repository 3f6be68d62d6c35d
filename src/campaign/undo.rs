//! The way back, from the journal: keys this campaign deactivated (to reactivate), the
//! secrets it deleted, with the exact `gh` commands to recreate them (GitHub cannot restore a
//! secret value by API), and the IAM users it deleted, with the exact `aws iam` commands to
//! recreate them (IAM cannot bring back a user or its keys). Pure.

use serde::Serialize;

use super::cleanup::UserRecord;
use super::journal::JournalAction;
use super::ledger::JournalEntry;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Reactivation {
    pub access_key_id: String,
    pub user: String,
    pub repo: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Recreate {
    pub what: String,
    pub command: String,
}

/// An IAM user this campaign deleted, or stripped of its policies and groups in an attempt
/// to delete it that did not finish, with the commands that put it back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UserBack {
    pub user: String,
    pub repo: String,
    /// Deleted: recreate it. Otherwise only re-attach what the attempt may have detached.
    pub deleted: bool,
    pub commands: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct UndoPlan {
    pub reactivate: Vec<Reactivation>,
    /// Keys this campaign deleted: IAM cannot bring them back.
    pub deleted_keys: Vec<Reactivation>,
    pub recreate: Vec<Recreate>,
    pub users: Vec<UserBack>,
}

/// Keys whose last effective key-status write by this campaign was a deactivation, and every
/// secret write that took effect. A later `reactivate_key` cancels an earlier deactivation,
/// so running undo twice reactivates nothing the second time.
pub fn plan(journal: &[JournalEntry]) -> UndoPlan {
    let mut out = UndoPlan::default();
    let mut last_status: std::collections::BTreeMap<&str, &JournalEntry> = Default::default();
    // The last settled attempt at each user decides: deleted, or left stripped.
    let mut last_user: std::collections::BTreeMap<&str, &JournalEntry> = Default::default();
    for e in journal
        .iter()
        .filter(|e| e.action == JournalAction::DeleteUser && !e.is_pending())
    {
        last_user.insert(e.target.as_str(), e);
    }
    for e in last_user.into_values() {
        let Ok(record) = serde_json::from_value::<UserRecord>(e.detail.clone()) else {
            continue;
        };
        let deleted = e.took_effect();
        let commands = user_commands(&record, deleted);
        if !commands.is_empty() {
            out.users.push(UserBack {
                user: e.target.clone(),
                repo: e.repo.clone(),
                deleted,
                commands,
            });
        }
    }
    for e in journal.iter().filter(|e| e.took_effect()) {
        match &e.action {
            JournalAction::DeactivateKey
            | JournalAction::ReactivateKey
            | JournalAction::DeleteKey => {
                last_status.insert(e.target.as_str(), e);
            }
            JournalAction::DeleteSecret
            | JournalAction::DeleteOrgSecret
            | JournalAction::RemoveFromOrgSecret => {
                if let Some(r) = recreate(e) {
                    out.recreate.push(r);
                }
            }
            _ => {}
        }
    }
    for (key, e) in last_status {
        let entry = Reactivation {
            access_key_id: key.to_string(),
            user: e.detail["user"].as_str().unwrap_or_default().to_string(),
            repo: e.repo.clone(),
        };
        match &e.action {
            JournalAction::DeactivateKey => out.reactivate.push(entry),
            JournalAction::DeleteKey => out.deleted_keys.push(entry),
            _ => {}
        }
    }
    out
}

fn recreate(e: &JournalEntry) -> Option<Recreate> {
    let repo = &e.repo;
    let mut parts = e.target.splitn(3, ':');
    let scope = parts.next()?;
    Some(match (&e.action, scope) {
        (JournalAction::DeleteSecret, "repository") => {
            let name = parts.next()?;
            Recreate {
                what: format!("repository secret {name} of {repo}"),
                command: format!("gh secret set {name} --repo {repo}"),
            }
        }
        (JournalAction::DeleteSecret, "environment") => {
            let env = parts.next()?;
            let name = parts.next()?;
            Recreate {
                what: format!("environment secret {name} of {repo} (environment {env})"),
                command: format!("gh secret set {name} --repo {repo} --env {}", quote(env)),
            }
        }
        (JournalAction::DeleteOrgSecret, "org") => {
            let org = parts.next()?;
            let name = parts.next()?;
            let visibility = e.detail["visibility"].as_str().unwrap_or("selected");
            let repos: Vec<&str> = e.detail["selected"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|v| v.as_str())
                .collect();
            let selection = if visibility == "selected" && !repos.is_empty() {
                format!(" --repos {}", repos.join(","))
            } else {
                String::new()
            };
            Recreate {
                what: format!("organization secret {name} of {org}"),
                command: format!(
                    "gh secret set {name} --org {org} --visibility {visibility}{selection}"
                ),
            }
        }
        (JournalAction::RemoveFromOrgSecret, "org") => {
            let org = parts.next()?;
            let name = parts.next()?;
            let id = e.detail["repository_id"].as_u64()?;
            // The value is still there: adding the repository back restores its access.
            Recreate {
                what: format!("{repo}'s access to organization secret {org}/{name}"),
                command: format!(
                    "gh api --method PUT /orgs/{org}/actions/secrets/{name}/repositories/{id}"
                ),
            }
        }
        _ => return None,
    })
}

/// The `aws iam` commands that recreate a deleted user (`create`) or re-attach what an
/// unfinished deletion may have detached, every word shell-quoted.
pub fn user_commands(r: &UserRecord, create: bool) -> Vec<String> {
    let user = quote(&r.user);
    let mut out = Vec::new();
    if create {
        let mut command = format!("aws iam create-user --user-name {user}");
        if !r.path.is_empty() && r.path != "/" {
            command.push_str(&format!(" --path {}", quote(&r.path)));
        }
        if let Some(boundary) = &r.permissions_boundary {
            command.push_str(&format!(" --permissions-boundary {}", quote(boundary)));
        }
        out.push(command);
        if !r.tags.is_empty() {
            let tags: Vec<serde_json::Value> = r
                .tags
                .iter()
                .map(|t| serde_json::json!({ "Key": t.key, "Value": t.value }))
                .collect();
            out.push(format!(
                "aws iam tag-user --user-name {user} --tags {}",
                quote(&serde_json::Value::from(tags).to_string())
            ));
        }
    }
    for arn in &r.managed_policies {
        out.push(format!(
            "aws iam attach-user-policy --user-name {user} --policy-arn {}",
            quote(arn)
        ));
    }
    for p in &r.inline_policies {
        out.push(format!(
            "aws iam put-user-policy --user-name {user} --policy-name {} --policy-document {}",
            quote(&p.name),
            quote(&one_line(&p.document))
        ));
    }
    for group in &r.groups {
        out.push(format!(
            "aws iam add-user-to-group --user-name {user} --group-name {}",
            quote(group)
        ));
    }
    if create {
        // Its old keys are gone for good: the secrets need a new one.
        out.push(format!("aws iam create-access-key --user-name {user}"));
    }
    out
}

/// A JSON document on one line: whitespace outside strings dropped, keys kept in order.
fn one_line(json: &str) -> String {
    let mut out = String::with_capacity(json.len());
    let (mut in_string, mut escaped) = (false, false);
    for c in json.chars() {
        if in_string {
            out.push(c);
            match (escaped, c) {
                (true, _) => escaped = false,
                (false, '\\') => escaped = true,
                (false, '"') => in_string = false,
                _ => {}
            }
        } else if !c.is_whitespace() {
            in_string = c == '"';
            out.push(c);
        }
    }
    out
}

/// Single-quotes a shell word when it needs it (environment names may hold spaces).
fn quote(word: &str) -> String {
    if !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./:@=,+".contains(c))
    {
        word.to_string()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::campaign::journal::JournalState;
    use crate::campaign::ledger::JournalId;

    fn entry(id: i64, action: &str, target: &str, detail: serde_json::Value) -> JournalEntry {
        JournalEntry {
            id: JournalId(id),
            repo: "acme/api".into(),
            action: JournalAction::parse(action),
            target: target.into(),
            detail,
            started_at: 0,
            finished_at: Some(0),
            result: JournalState::Done,
            error: None,
        }
    }

    #[test]
    fn reactivations_and_commands() {
        let k = "AKIAAAAAAAAAAAAAAAA1";
        let journal = vec![
            entry(1, "deactivate_key", k, serde_json::json!({"user": "ci"})),
            entry(
                2,
                "delete_secret",
                "repository:AWS_ACCESS_KEY_ID",
                serde_json::json!({}),
            ),
            entry(
                3,
                "delete_secret",
                "environment:prod east:AWS_SECRET",
                serde_json::json!({}),
            ),
            entry(
                4,
                "remove_from_org_secret",
                "org:acme:SHARED",
                serde_json::json!({"repository_id": 42}),
            ),
            entry(
                5,
                "delete_org_secret",
                "org:acme:ONLY",
                serde_json::json!({"visibility": "selected", "selected": ["api"]}),
            ),
        ];
        let p = plan(&journal);
        assert_eq!(p.reactivate.len(), 1);
        assert_eq!(p.reactivate[0].user, "ci");
        let commands: Vec<&str> = p.recreate.iter().map(|r| r.command.as_str()).collect();
        assert_eq!(
            commands,
            vec![
                "gh secret set AWS_ACCESS_KEY_ID --repo acme/api",
                "gh secret set AWS_SECRET --repo acme/api --env 'prod east'",
                "gh api --method PUT /orgs/acme/actions/secrets/SHARED/repositories/42",
                "gh secret set ONLY --org acme --visibility selected --repos api",
            ]
        );
        let mut again = journal.clone();
        again.push(entry(
            6,
            "reactivate_key",
            k,
            serde_json::json!({"user": "ci"}),
        ));
        assert!(plan(&again).reactivate.is_empty());
        let mut deleted = journal.clone();
        deleted.push(entry(7, "delete_key", k, serde_json::json!({"user": "ci"})));
        assert!(plan(&deleted).reactivate.is_empty());
        assert_eq!(plan(&deleted).deleted_keys.len(), 1);
        let mut pending = journal;
        pending[0].result = JournalState::Pending;
        assert!(plan(&pending).reactivate.is_empty());
    }

    #[test]
    fn deleted_users_get_quoted_aws_commands() {
        let record = serde_json::json!({
            "user": "ci-api",
            "path": "/ci/",
            "permissions_boundary": null,
            "tags": [{"key": "team", "value": "pay ments"}],
            "managed_policies": ["arn:aws:iam::123456789012:policy/deploy"],
            "inline_policies": [{"name": "s3 write", "document": "{\n  \"Version\": \"2012-10-17\",\n  \"Statement\": [{\"Effect\": \"Allow\", \"Action\": \"s3:PutObject\", \"Resource\": \"arn:aws:s3:::it's here/*\"}]\n}"}],
            "groups": ["ci"],
            "repos": ["acme/api"],
        });
        let mut deleted = entry(1, "delete_user", "ci-api", record.clone());
        let p = plan(std::slice::from_ref(&deleted));
        assert_eq!(p.users.len(), 1);
        assert!(p.users[0].deleted);
        assert_eq!(
            p.users[0].commands,
            vec![
                "aws iam create-user --user-name ci-api --path /ci/",
                r#"aws iam tag-user --user-name ci-api --tags '[{"Key":"team","Value":"pay ments"}]'"#,
                "aws iam attach-user-policy --user-name ci-api --policy-arn arn:aws:iam::123456789012:policy/deploy",
                r#"aws iam put-user-policy --user-name ci-api --policy-name 's3 write' --policy-document '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:PutObject","Resource":"arn:aws:s3:::it'\''s here/*"}]}'"#,
                "aws iam add-user-to-group --user-name ci-api --group-name ci",
                "aws iam create-access-key --user-name ci-api",
            ]
        );
        // An attempt that did not finish may have detached policies: re-attach only.
        deleted.result = JournalState::Failed;
        let p = plan(&[deleted]);
        assert!(!p.users[0].deleted);
        assert_eq!(p.users[0].commands.len(), 3);
        assert!(p.users[0].commands[0].starts_with("aws iam attach-user-policy"));
        // A later attempt that took effect wins.
        let mut done = entry(2, "delete_user", "ci-api", record);
        done.result = JournalState::Observed;
        let mut failed = done.clone();
        failed.id = JournalId(1);
        failed.result = JournalState::NotDone;
        assert!(plan(&[failed, done]).users[0].deleted);
    }
}
