//! The way back, from the journal: keys this campaign deactivated (to reactivate), and the
//! secrets it deleted, with the exact `gh` commands to recreate them (GitHub cannot restore a
//! secret value by API). Pure.

use serde::Serialize;

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

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct UndoPlan {
    pub reactivate: Vec<Reactivation>,
    /// Keys this campaign deleted: IAM cannot bring them back.
    pub deleted_keys: Vec<Reactivation>,
    pub recreate: Vec<Recreate>,
}

/// Keys whose last effective key-status write by this campaign was a deactivation, and every
/// secret write that took effect. A later `reactivate_key` cancels an earlier deactivation,
/// so running undo twice reactivates nothing the second time.
pub fn plan(journal: &[JournalEntry]) -> UndoPlan {
    let mut out = UndoPlan::default();
    let mut last_status: std::collections::BTreeMap<&str, &JournalEntry> = Default::default();
    for e in journal.iter().filter(|e| e.took_effect()) {
        match e.action.as_str() {
            "deactivate_key" | "reactivate_key" | "delete_key" => {
                last_status.insert(e.target.as_str(), e);
            }
            "delete_secret" | "delete_org_secret" | "remove_from_org_secret" => {
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
        match e.action.as_str() {
            "deactivate_key" => out.reactivate.push(entry),
            "delete_key" => out.deleted_keys.push(entry),
            _ => {}
        }
    }
    out
}

fn recreate(e: &JournalEntry) -> Option<Recreate> {
    let repo = &e.repo;
    let mut parts = e.target.splitn(3, ':');
    let scope = parts.next()?;
    Some(match (e.action.as_str(), scope) {
        ("delete_secret", "repository") => {
            let name = parts.next()?;
            Recreate {
                what: format!("repository secret {name} of {repo}"),
                command: format!("gh secret set {name} --repo {repo}"),
            }
        }
        ("delete_secret", "environment") => {
            let env = parts.next()?;
            let name = parts.next()?;
            Recreate {
                what: format!("environment secret {name} of {repo} (environment {env})"),
                command: format!("gh secret set {name} --repo {repo} --env {}", quote(env)),
            }
        }
        ("delete_org_secret", "org") => {
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
        ("remove_from_org_secret", "org") => {
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

/// Single-quotes a shell word when it needs it (environment names may hold spaces).
fn quote(word: &str) -> String {
    if word
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "-_./".contains(c))
    {
        word.to_string()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::campaign::ledger::JournalId;

    fn entry(id: i64, action: &str, target: &str, detail: serde_json::Value) -> JournalEntry {
        JournalEntry {
            id: JournalId(id),
            repo: "acme/api".into(),
            action: action.into(),
            target: target.into(),
            detail,
            started_at: 0,
            finished_at: Some(0),
            result: "done".into(),
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
        pending[0].result = "pending".into();
        assert!(plan(&pending).reactivate.is_empty());
    }
}
