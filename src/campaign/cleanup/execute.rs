//! cleanup's write sequence: deactivate every key, then delete the secrets (none while a key
//! deactivation failed: no secret may go while a key it might hold is still active), then
//! delete the keys, then the users. Every write is journaled before it is sent (a journal that
//! cannot be written stops the run before the write) and closed with its result. The writes go
//! through three narrow traits, so the sequence is tested in memory as well as against moto and
//! the fake GitHub. Each writer fails with an error type of its own (IAM's, GitHub's), a
//! `std::error::Error` as a bare `String` is not; the sequence turns it into text only where it
//! journals and reports the failure.

use std::collections::BTreeMap;
use std::future::Future;

use super::{
    KeyFacts, KeyStep, OrgSecrets, Plan, SecretStep, UserFacts, UserRecord, UserStep, secrets_of,
};
use crate::campaign::state::RepoState;
use crate::campaign::{JournalAction, JournalResult, Ledger, LedgerError};
use crate::detect::aws_key_literal::mask_key_id;

/// IAM's access keys.
pub trait KeyWriter {
    type Error: std::error::Error;
    fn deactivate(&self, user: &str, id: &str) -> impl Future<Output = Result<(), Self::Error>>;
    fn delete_key(&self, user: &str, id: &str) -> impl Future<Output = Result<(), Self::Error>>;
}

/// IAM's users: read again right before deletion, then deleted with everything attached.
pub trait UserWriter {
    type Error: std::error::Error;
    fn facts(&self, user: &str) -> impl Future<Output = Result<Option<UserFacts>, Self::Error>>;
    fn delete_user(&self, record: &UserRecord) -> impl Future<Output = Result<(), Self::Error>>;
}

/// GitHub's repository, environment and organization secrets.
pub trait SecretWriter {
    type Error: std::error::Error;
    fn delete_secret(&self, step: &SecretStep) -> impl Future<Output = Result<(), Self::Error>>;
}

/// What the sequence reports as it goes, for the terminal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// `done: …` (stdout).
    Done(String),
    /// `failed: …`, `error: …` with what to do (stderr).
    Failed(String),
}

/// The three writers of one run.
pub struct Writers<'w, K, U, S> {
    pub keys: &'w K,
    pub users: &'w U,
    pub secrets: &'w S,
}

/// What this run read that the writes journal beside them: each key's facts (a user's keys
/// are recorded before the user is deleted) and each organization's secrets (for undo to
/// recreate an organization secret as it was).
#[derive(Clone, Copy)]
pub struct Observed<'t> {
    pub keys: &'t BTreeMap<String, KeyFacts>,
    pub org_secrets: &'t OrgSecrets,
}

/// Runs the plan in order; returns how many writes failed. An error is the ledger's: the
/// write it was about to journal was not sent.
pub async fn execute<K: KeyWriter, U: UserWriter, S: SecretWriter>(
    ledger: &Ledger,
    writers: Writers<'_, K, U, S>,
    plan: &Plan,
    observed: Observed<'_>,
    report: &mut dyn FnMut(Event),
) -> Result<usize, LedgerError> {
    let mut failures = 0;
    for step in &plan.deactivate {
        if !key_write(
            ledger,
            writers.keys,
            step,
            JournalAction::DeactivateKey,
            report,
        )
        .await?
        {
            failures += 1;
        }
    }
    if failures > 0 {
        report(Event::Failed(
            "error: not deleting any secret: a key deactivation failed".into(),
        ));
        return Ok(failures);
    }
    for step in &plan.secrets {
        let detail = secret_detail(step, observed.org_secrets);
        let id = ledger.journal_begin(&step.repo(), &step.action(), &step.target(), &detail)?;
        match writers.secrets.delete_secret(step).await {
            Ok(()) => {
                ledger.journal_end(id, &JournalResult::Done)?;
                report(Event::Done(format!("done: {}", step.describe())));
            }
            Err(e) => {
                ledger.journal_end(id, &JournalResult::Failed(e.to_string()))?;
                report(Event::Failed(format!("failed: {}: {e}", step.describe())));
                failures += 1;
            }
        }
    }
    if failures == 0 {
        for repo in &plan.ready {
            ledger.set_state(repo, RepoState::SecretsDeleted, None)?;
        }
    }
    for step in &plan.delete_keys {
        if !key_write(ledger, writers.keys, step, JournalAction::DeleteKey, report).await? {
            failures += 1;
        }
    }
    for step in &plan.delete_users {
        if !delete_user(ledger, writers.users, step, observed.keys, report).await? {
            failures += 1;
        }
    }
    Ok(failures)
}

/// One journaled key write; false when it failed.
async fn key_write(
    ledger: &Ledger,
    keys: &impl KeyWriter,
    step: &KeyStep,
    action: JournalAction,
    report: &mut dyn FnMut(Event),
) -> Result<bool, LedgerError> {
    let key = &step.key;
    let detail = serde_json::json!({ "user": key.user, "repos": step.repos });
    let id = ledger.journal_begin(&step.repos.join(","), &action, &key.id, &detail)?;
    let (result, verb) = if action == JournalAction::DeleteKey {
        (keys.delete_key(&key.user, &key.id).await, "deleted")
    } else {
        (keys.deactivate(&key.user, &key.id).await, "deactivated")
    };
    match result {
        Ok(()) => {
            ledger.journal_end(id, &JournalResult::Done)?;
            report(Event::Done(format!(
                "done: {verb} key {} (user {})",
                mask_key_id(&key.id),
                key.user
            )));
            Ok(true)
        }
        Err(e) => {
            ledger.journal_end(id, &JournalResult::Failed(e.to_string()))?;
            report(Event::Failed(format!(
                "failed: key {}: {e}",
                mask_key_id(&key.id)
            )));
            Ok(false)
        }
    }
}

/// One journaled user deletion; false when it failed or the user was kept after all.
///
/// The user is read again first: the plan was made before this run deleted its keys, and
/// anything it gained since keeps it. The journal entry records the fresh record plus what
/// earlier unfinished attempts recorded (and may already have detached), so undo can always
/// rebuild the whole user.
async fn delete_user(
    ledger: &Ledger,
    users: &impl UserWriter,
    step: &UserStep,
    campaign_keys: &BTreeMap<String, KeyFacts>,
    report: &mut dyn FnMut(Event),
) -> Result<bool, LedgerError> {
    let user = &step.record.user;
    let facts = match users.facts(user).await {
        Ok(Some(facts)) => facts,
        Ok(None) => {
            report(Event::Done(format!(
                "done: IAM user {user} was already gone"
            )));
            return Ok(true);
        }
        Err(e) => {
            report(Event::Failed(format!("failed: user {user}: {e}")));
            return Ok(false);
        }
    };
    let keeps = super::user_keeps(&facts, &step.keys, campaign_keys);
    if !keeps.is_empty() {
        report(Event::Failed(format!(
            "failed: user {user} not deleted: it now has {}\nhelp: re-run `migrate cleanup` to re-plan",
            keeps.join(", ")
        )));
        return Ok(false);
    }
    let earlier = super::unfinished_records(&ledger.journal()?, user);
    let record = super::merge_records(facts.record, &earlier);
    let mut detail = serde_json::to_value(&record).unwrap_or_default();
    detail["repos"] = serde_json::json!(step.repos);
    detail["keys"] = serde_json::json!(step.keys);
    let id = ledger.journal_begin(
        &step.repos.join(","),
        &JournalAction::DeleteUser,
        user,
        &detail,
    )?;
    match users.delete_user(&record).await {
        Ok(()) => {
            ledger.journal_end(id, &JournalResult::Done)?;
            report(Event::Done(format!(
                "done: deleted IAM user {user} ({} detached, {} deleted, {} left)",
                super::plural(record.managed_policies.len(), "managed policy"),
                super::plural(record.inline_policies.len(), "inline policy"),
                super::plural(record.groups.len(), "group")
            )));
            Ok(true)
        }
        Err(e) => {
            ledger.journal_end(id, &JournalResult::Failed(e.to_string()))?;
            report(Event::Failed(format!(
                "failed: user {user}: {e}\nnote: its policies and groups may be detached already; `migrate undo` prints the commands to put them back"
            )));
            Ok(false)
        }
    }
}

/// What undo needs to recreate a secret: an org secret's visibility and selection.
fn secret_detail(step: &SecretStep, org_secrets: &OrgSecrets) -> serde_json::Value {
    match step {
        SecretStep::DeleteOrgSecret { org, name } => {
            let secret = secrets_of(org_secrets, org)
                .and_then(|(_, secrets)| secrets.iter().find(|s| &s.name == name));
            serde_json::json!({
                "org": org,
                "visibility": secret.map(|s| s.visibility.clone()),
                "selected": secret.and_then(|s| s.selected.clone()),
            })
        }
        SecretStep::RemoveFromOrgSecret { org, repo_id, .. } => {
            serde_json::json!({ "org": org, "repository_id": repo_id })
        }
        _ => serde_json::json!({}),
    }
}

#[cfg(test)]
mod tests {
    use std::cell::RefCell;

    use super::*;
    use crate::campaign::key_status::KeyStatus;

    /// What the fake answers the write named in `fail` with, as IAM or GitHub would refuse it.
    #[derive(Debug, thiserror::Error)]
    #[error("{write}: AccessDenied")]
    struct Refused {
        write: String,
    }

    /// IAM and GitHub in memory: records every write, checks each was journaled first, and
    /// refuses the one named in `fail`.
    struct Fake<'l> {
        ledger: &'l Ledger,
        writes: RefCell<Vec<String>>,
        fail: Option<String>,
        /// What `facts` says of users (none: already gone).
        user: Option<UserFacts>,
    }

    impl Fake<'_> {
        fn write(&self, what: String, target: &str) -> Result<(), Refused> {
            let pending = self.ledger.pending().expect("journal");
            assert!(
                pending.iter().any(|e| e.target == target),
                "{what} was sent before it was journaled"
            );
            self.writes.borrow_mut().push(what.clone());
            match &self.fail {
                Some(fail) if *fail == what => Err(Refused { write: what }),
                _ => Ok(()),
            }
        }
    }

    impl KeyWriter for Fake<'_> {
        type Error = Refused;
        async fn deactivate(&self, _: &str, id: &str) -> Result<(), Refused> {
            self.write(format!("deactivate {id}"), id)
        }
        async fn delete_key(&self, _: &str, id: &str) -> Result<(), Refused> {
            self.write(format!("delete key {id}"), id)
        }
    }

    impl UserWriter for Fake<'_> {
        type Error = Refused;
        async fn facts(&self, _: &str) -> Result<Option<UserFacts>, Refused> {
            Ok(self.user.clone())
        }
        async fn delete_user(&self, record: &UserRecord) -> Result<(), Refused> {
            self.write(format!("delete user {}", record.user), &record.user)
        }
    }

    impl SecretWriter for Fake<'_> {
        type Error = Refused;
        async fn delete_secret(&self, step: &SecretStep) -> Result<(), Refused> {
            self.write(format!("delete secret {}", step.target()), &step.target())
        }
    }

    const KEY_A: &str = "AKIAAAAAAAAAAAAAAAAA";
    const KEY_B: &str = "AKIABBBBBBBBBBBBBBBB";

    fn key_step(id: &str) -> KeyStep {
        KeyStep {
            key: KeyFacts {
                id: id.into(),
                user: "ci".into(),
                status: KeyStatus::Active,
                last_used: None,
                service: None,
                region: None,
                deactivated_at: None,
                deleted_by_campaign: false,
            },
            repos: vec!["acme/api".into()],
        }
    }

    fn plan() -> Plan {
        Plan {
            ready: vec!["acme/api".into()],
            refused: Vec::new(),
            deactivate: vec![key_step(KEY_A), key_step(KEY_B)],
            secrets: vec![
                SecretStep::DeleteRepoSecret {
                    repo: "acme/api".into(),
                    name: "AWS_ACCESS_KEY_ID".into(),
                },
                SecretStep::DeleteEnvSecret {
                    repo: "acme/api".into(),
                    environment: "prod".into(),
                    name: "AWS_SECRET_ACCESS_KEY".into(),
                },
            ],
            delete_keys: vec![key_step(KEY_A), key_step(KEY_B)],
            user_candidates: Vec::new(),
            delete_users: vec![UserStep {
                record: UserRecord {
                    user: "ci".into(),
                    ..UserRecord::default()
                },
                keys: vec![KEY_A.into(), KEY_B.into()],
                repos: vec!["acme/api".into()],
            }],
            notes: Vec::new(),
        }
    }

    /// Every write the plan makes, in the order the sequence must make them.
    const ORDER: [&str; 7] = [
        "deactivate AKIAAAAAAAAAAAAAAAAA",
        "deactivate AKIABBBBBBBBBBBBBBBB",
        "delete secret repository:AWS_ACCESS_KEY_ID",
        "delete secret environment:prod:AWS_SECRET_ACCESS_KEY",
        "delete key AKIAAAAAAAAAAAAAAAAA",
        "delete key AKIABBBBBBBBBBBBBBBB",
        "delete user ci",
    ];

    /// Runs the plan against a fresh ledger; the writes made, the failures counted, the
    /// journal's results in order, and the lines reported.
    fn run(fail: Option<&str>) -> (Vec<String>, usize, Vec<String>, Vec<Event>) {
        let dir = tempfile::tempdir().expect("tempdir");
        let ledger = Ledger::open(&dir.path().join("campaign.db")).expect("ledger");
        let fake = Fake {
            ledger: &ledger,
            writes: RefCell::new(Vec::new()),
            fail: fail.map(str::to_string),
            user: Some(UserFacts {
                record: UserRecord {
                    user: "ci".into(),
                    ..UserRecord::default()
                },
                access_keys: vec![KEY_A.into(), KEY_B.into()],
                ..UserFacts::default()
            }),
        };
        let mut events = Vec::new();
        let writers = Writers {
            keys: &fake,
            users: &fake,
            secrets: &fake,
        };
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("runtime");
        let failures = runtime
            .block_on(execute(
                &ledger,
                writers,
                &plan(),
                Observed {
                    keys: &BTreeMap::new(),
                    org_secrets: &OrgSecrets::new(),
                },
                &mut |e| events.push(e),
            ))
            .expect("the ledger works");
        let journal: Vec<String> = ledger
            .journal()
            .expect("journal")
            .iter()
            .map(|e| format!("{} {}: {:?}", e.action.as_str(), e.target, e.result))
            .collect();
        assert!(
            ledger.pending().expect("pending").is_empty(),
            "every entry begun is closed: {journal:?}"
        );
        (fake.writes.into_inner(), failures, journal, events)
    }

    #[test]
    fn keys_go_inactive_before_any_secret_and_users_go_last() {
        let (writes, failures, journal, events) = run(None);
        assert_eq!(writes, ORDER);
        assert_eq!(failures, 0);
        assert_eq!(journal.len(), ORDER.len());
        assert!(journal.iter().all(|e| e.ends_with("Done")), "{journal:?}");
        assert!(events.iter().all(|e| matches!(e, Event::Done(_))));
        // Key ids are masked in what is printed.
        assert!(
            events
                .iter()
                .all(|e| !format!("{e:?}").contains(KEY_A) && !format!("{e:?}").contains(KEY_B))
        );
    }

    #[test]
    fn a_failure_at_each_step_stops_what_must_not_follow_it() {
        for (at, failing) in ORDER.iter().enumerate() {
            let (writes, failures, journal, events) = run(Some(failing));
            assert_eq!(failures, 1, "{failing}");
            let failed: Vec<&String> = journal.iter().filter(|e| e.contains("Failed")).collect();
            assert_eq!(failed.len(), 1, "{failing}: {journal:?}");
            assert!(
                events.iter().any(|e| matches!(e, Event::Failed(_))),
                "{failing}"
            );
            let expected: Vec<&str> = if at < 2 {
                // A key still active: no secret may go, nor anything after.
                ORDER[..2].to_vec()
            } else {
                // Later failures stop nothing else: the rest is independent.
                ORDER.to_vec()
            };
            assert_eq!(writes, expected, "after {failing} failed");
        }
    }

    #[test]
    fn a_journal_that_cannot_be_written_stops_the_run_before_the_write() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("campaign.db");
        let ledger = Ledger::open(&path).expect("ledger");
        rusqlite::Connection::open(&path)
            .and_then(|c| c.execute("ALTER TABLE journal RENAME TO journal_gone", []))
            .expect("breaks the journal");
        let fake = Fake {
            ledger: &ledger,
            writes: RefCell::new(Vec::new()),
            fail: None,
            user: None,
        };
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("runtime");
        let result = runtime.block_on(execute(
            &ledger,
            Writers {
                keys: &fake,
                users: &fake,
                secrets: &fake,
            },
            &plan(),
            Observed {
                keys: &BTreeMap::new(),
                org_secrets: &OrgSecrets::new(),
            },
            &mut |_| {},
        ));
        assert!(result.is_err());
        assert!(fake.writes.borrow().is_empty(), "nothing was sent");
    }
}
