//! The campaign ledger: one SQLite file (rusqlite, bundled) that every campaign command records
//! into. It caches remote truth (repositories, secrets, keys, pull requests) and keeps the
//! journal of external writes. Remote truth always wins: deleting the file loses only the
//! journal's history, never a decision that could not be re-derived from GitHub and IAM.
//!
//! Journal protocol for every external write: [`Ledger::journal_begin`] commits a `pending`
//! entry *before* the write, [`Ledger::journal_end`] records the result after it. An entry
//! still `pending` at the next run means the process died in between; the next run resolves it
//! by observing remote state ([`JournalResult::Observed`] / [`JournalResult::NotDone`]), never
//! by repeating the write blindly.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;

use super::journal::{JournalAction, JournalState};
use super::key_status::KeyStatus;
use super::state::{RepoState, Verification};
use super::time::{self, Seconds};
use crate::github::cache::Cached;

#[derive(Debug, thiserror::Error)]
pub enum LedgerError {
    #[error(
        "cannot open campaign ledger {path}: {source}\nhelp: pass --campaign with a writable path"
    )]
    Open {
        path: PathBuf,
        source: rusqlite::Error,
    },
    #[error("campaign ledger: {0}")]
    Sql(#[from] rusqlite::Error),
    #[error(
        "campaign ledger {path} was written by a newer migrate (schema {found}; this one reads up to {supported})\nhelp: upgrade migrate, or pass another --campaign file"
    )]
    Newer {
        path: PathBuf,
        found: i64,
        supported: i64,
    },
    #[error(
        "campaign ledger {path} is from an older migrate and cannot be upgraded: {why}\nhelp: move it aside (it caches remote truth; the next run rebuilds it) after `migrate status` shows no pending journal entry"
    )]
    NotUpgradable { path: PathBuf, why: SchemaGap },
}

/// Row id of a journal entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct JournalId(pub i64);

/// How a journaled write ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JournalResult {
    /// The write succeeded (or found its goal already reached).
    Done,
    /// The write failed; nothing changed remotely as far as we know.
    Failed(String),
    /// Found pending after a crash; remote state shows the write took effect.
    Observed,
    /// Found pending after a crash; remote state shows it did not take effect.
    NotDone,
}

impl JournalResult {
    fn as_str(&self) -> &'static str {
        match self {
            Self::Done => "done",
            Self::Failed(_) => "failed",
            Self::Observed => "observed",
            Self::NotDone => "not-done",
        }
    }
}

/// One journal entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct JournalEntry {
    pub id: JournalId,
    pub repo: String,
    pub action: JournalAction,
    /// What was written: a key id, an IAM user name, `repository:NAME`, `environment:ENV:NAME`,
    /// `org:ORG:NAME`.
    pub target: String,
    /// Action-specific JSON (IAM user, organization, repository id...).
    pub detail: serde_json::Value,
    pub started_at: Seconds,
    pub finished_at: Option<Seconds>,
    pub result: JournalState,
    pub error: Option<String>,
}

impl JournalEntry {
    /// The write happened: done, or observed after a crash.
    pub fn took_effect(&self) -> bool {
        matches!(self.result, JournalState::Done | JournalState::Observed)
    }

    pub fn is_pending(&self) -> bool {
        self.result == JournalState::Pending
    }

    /// An IAM write: a key's status or deletion, or a user's deletion.
    pub fn writes_iam(&self) -> bool {
        self.action.writes_iam()
    }
}

/// What the ledger knows about one repository.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct RepoRow {
    pub repo: String,
    pub repo_id: Option<u64>,
    pub state: String,
    /// For `failed`: the stage and error.
    pub error: Option<String>,
    pub default_branch: Option<String>,
    pub findings: usize,
    /// Secret names the default branch's workflows still reference.
    pub references: Vec<String>,
    pub pr_number: Option<u64>,
    pub pr_url: Option<String>,
    pub pr_head: Option<String>,
    pub pr_merged: bool,
    pub merged_at: Option<Seconds>,
    pub updated_at: Seconds,
}

/// A secret a repository can read, as last observed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SecretRow {
    pub repo: String,
    /// `repository`, `environment` or `organization`.
    pub scope: String,
    /// Environment name; empty for other scopes.
    pub environment: String,
    pub name: String,
    /// Present at the last observation.
    pub present: bool,
    /// Ever referenced by the repository's workflows: sticky, so that after the PR removed
    /// the references the ledger still knows which secrets belonged to the old setup.
    pub ever_referenced: bool,
}

/// See [`Ledger::observing`]; dropping it makes commits durable again.
pub struct Observing<'a> {
    ledger: &'a Ledger,
}

impl Drop for Observing<'_> {
    fn drop(&mut self) {
        // Best effort: `journal_begin` sets FULL again itself, so nothing depends on this.
        let _ = self.ledger.conn.pragma_update(None, "synchronous", "FULL");
    }
}

/// An IAM role that serves a repository, as last observed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RoleRow {
    pub arn: String,
    /// IAM's unique id: a role deleted and re-created under the same name gets a new one.
    pub role_id: String,
    pub repo: String,
    /// `tag` (`github-repo`, set by `trust --apply`) or `trust policy` (its `sub` names the
    /// repository).
    pub source: String,
    pub tags: Vec<(String, String)>,
}

/// The campaign's size at one `status` run: what the dashboard's burndown draws.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ProgressPoint {
    pub at: Seconds,
    pub repos: usize,
    /// Repositories whose workflows still reference old secrets or that still hold them.
    pub repos_with_keys: usize,
    /// Mapped IAM keys still active.
    pub active_keys: usize,
}

/// An IAM access key as last observed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct KeyRow {
    pub access_key_id: String,
    pub user: String,
    /// `Active`, `Inactive` or `Missing`.
    pub status: KeyStatus,
    pub last_used: Option<Seconds>,
    pub last_service: Option<String>,
    pub last_region: Option<String>,
}

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS repos (
    repo TEXT PRIMARY KEY, repo_id INTEGER, state TEXT NOT NULL, error TEXT,
    default_branch TEXT, findings INTEGER NOT NULL DEFAULT 0, refs TEXT NOT NULL DEFAULT '[]',
    pr_number INTEGER, pr_url TEXT, pr_head TEXT, pr_merged INTEGER NOT NULL DEFAULT 0,
    merged_at INTEGER, updated_at INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS secrets (
    repo TEXT NOT NULL, scope TEXT NOT NULL, environment TEXT NOT NULL DEFAULT '', name TEXT NOT NULL,
    present INTEGER NOT NULL, ever_referenced INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (repo, scope, environment, name));
CREATE TABLE IF NOT EXISTS keys (
    access_key_id TEXT PRIMARY KEY, user TEXT NOT NULL, status TEXT NOT NULL,
    last_used INTEGER, last_service TEXT, last_region TEXT, observed_at INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS repo_keys (
    repo TEXT NOT NULL, access_key_id TEXT NOT NULL, source TEXT NOT NULL,
    PRIMARY KEY (repo, access_key_id));
CREATE TABLE IF NOT EXISTS roles (
    arn TEXT PRIMARY KEY, role_id TEXT NOT NULL, repo TEXT NOT NULL, source TEXT NOT NULL,
    tags TEXT NOT NULL DEFAULT '[]', observed_at INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS role_tags (role_id TEXT PRIMARY KEY, tags TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS verifications (
    repo TEXT PRIMARY KEY, merged_at INTEGER NOT NULL, workflow TEXT NOT NULL, run_url TEXT NOT NULL,
    run_at INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS http_cache (
    key TEXT PRIMARY KEY, etag TEXT NOT NULL, link TEXT, body TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS progress (
    at INTEGER PRIMARY KEY, repos INTEGER NOT NULL, repos_with_keys INTEGER NOT NULL,
    active_keys INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS scan_inventory (
    target TEXT NOT NULL, repo TEXT NOT NULL, part TEXT NOT NULL, head TEXT NOT NULL,
    value TEXT NOT NULL, PRIMARY KEY (target, repo, part));
CREATE TABLE IF NOT EXISTS journal (
    id INTEGER PRIMARY KEY AUTOINCREMENT, repo TEXT NOT NULL, action TEXT NOT NULL,
    target TEXT NOT NULL, detail TEXT NOT NULL, started_at INTEGER NOT NULL,
    finished_at INTEGER, result TEXT NOT NULL, error TEXT);
";

/// The schema version, kept in SQLite's `user_version`. A ledger of a later version is
/// refused, never misread; an earlier one is upgraded on open.
///
/// 1: the first versioned schema. 2: `scan_inventory` (a scan stopped by `--max-requests`).
pub const SCHEMA_VERSION: i64 = 2;

/// One column as `PRAGMA table_info` describes it.
struct Column {
    name: String,
    kind: String,
    not_null: bool,
    default: Option<String>,
}

/// Why an older ledger cannot be brought to [`SCHEMA_VERSION`].
#[derive(Debug, thiserror::Error)]
pub enum SchemaGap {
    #[error(transparent)]
    Sql(#[from] rusqlite::Error),
    #[error("table {table} lacks column {column}, which has no default to fill it with")]
    NoDefault { table: String, column: String },
}

/// Brings an older ledger (written before versioning, or of an earlier version) to
/// [`SCHEMA_VERSION`]: adds the tables and columns introduced since, with their defaults.
/// Every change so far only adds; a version that transforms data adds its own step to
/// [`upgrade`].
fn add_missing_schema(conn: &Connection) -> Result<(), SchemaGap> {
    let reference = Connection::open_in_memory()?;
    reference.execute_batch(SCHEMA)?;
    let columns = |conn: &Connection, table: &str| -> Result<Vec<Column>, SchemaGap> {
        let mut statement = conn.prepare(&format!("PRAGMA table_info({table})"))?;
        let rows = statement.query_map([], |r| {
            Ok(Column {
                name: r.get(1)?,
                kind: r.get(2)?,
                not_null: r.get::<_, i64>(3)? != 0,
                default: r.get(4)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    };
    let tables: Vec<String> = {
        let mut statement = reference.prepare(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'",
        )?;
        let names = statement.query_map([], |r| r.get(0))?;
        names.collect::<Result<_, _>>()?
    };
    // Missing tables first (CREATE ... IF NOT EXISTS), then missing columns.
    conn.execute_batch(SCHEMA)?;
    for table in &tables {
        let present: Vec<String> = columns(conn, table)?.into_iter().map(|c| c.name).collect();
        for Column {
            name,
            kind,
            not_null,
            default,
        } in columns(&reference, table)?
        {
            if present.contains(&name) {
                continue;
            }
            let clause = match (not_null, default) {
                (_, Some(default)) => format!(
                    "{kind}{} DEFAULT {default}",
                    if not_null { " NOT NULL" } else { "" }
                ),
                (false, None) => kind,
                (true, None) => {
                    return Err(SchemaGap::NoDefault {
                        table: table.clone(),
                        column: name,
                    });
                }
            };
            conn.execute_batch(&format!("ALTER TABLE {table} ADD COLUMN {name} {clause}"))?;
        }
    }
    Ok(())
}

/// Creates or upgrades the schema to [`SCHEMA_VERSION`], in one transaction.
fn upgrade(conn: &mut Connection, path: &Path) -> Result<(), LedgerError> {
    let found: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if found > SCHEMA_VERSION {
        return Err(LedgerError::Newer {
            path: path.to_path_buf(),
            found,
            supported: SCHEMA_VERSION,
        });
    }
    if found == SCHEMA_VERSION {
        return Ok(());
    }
    let tx = conn.transaction()?;
    let empty: bool = tx.query_row(
        "SELECT COUNT(*) = 0 FROM sqlite_master WHERE type = 'table'",
        [],
        |r| r.get(0),
    )?;
    if empty {
        tx.execute_batch(SCHEMA)?;
    } else {
        add_missing_schema(&tx).map_err(|why| LedgerError::NotUpgradable {
            path: path.to_path_buf(),
            why,
        })?;
    }
    tx.pragma_update(None, "user_version", SCHEMA_VERSION)?;
    tx.commit()?;
    Ok(())
}

/// The ledger file. Every method commits before it returns, so a kill loses nothing recorded.
pub struct Ledger {
    conn: Connection,
}

impl Ledger {
    /// Opens (creating if needed) the ledger at `path`.
    pub fn open(path: &Path) -> Result<Self, LedgerError> {
        let open = || -> Result<Connection, rusqlite::Error> {
            let conn = Connection::open(path)?;
            // Another campaign command may hold the file briefly; wait rather than fail.
            conn.busy_timeout(std::time::Duration::from_secs(10))?;
            // FULL: a journal entry is on disk before the write it announces is sent.
            conn.pragma_update(None, "synchronous", "FULL")?;
            Ok(conn)
        };
        let mut conn = open().map_err(|source| LedgerError::Open {
            path: path.to_path_buf(),
            source,
        })?;
        upgrade(&mut conn, path)?;
        Ok(Self { conn })
    }

    /// Until the guard drops, commits do not wait for the disk. For recording observations of
    /// remote truth only: a kill still loses nothing committed (the OS has it), and what a power
    /// cut could lose is re-observed by the next run. Journal entries announcing a write must
    /// not be written under it.
    pub fn observing(&self) -> Result<Observing<'_>, LedgerError> {
        self.conn.pragma_update(None, "synchronous", "OFF")?;
        Ok(Observing { ledger: self })
    }

    pub fn set_meta(&self, key: &str, value: &str) -> Result<(), LedgerError> {
        self.conn.execute(
            "INSERT INTO meta (key, value) VALUES (?1, ?2) ON CONFLICT(key) DO UPDATE SET value = ?2",
            params![key, value],
        )?;
        Ok(())
    }

    pub fn meta(&self, key: &str) -> Result<Option<String>, LedgerError> {
        Ok(self
            .conn
            .query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
            .optional()?)
    }

    /// Records what a scan saw of one repository: id, default branch, findings and the secret
    /// names its default branch still references. Keeps PR and role fields.
    pub fn record_scan(
        &self,
        repo: &str,
        repo_id: Option<u64>,
        default_branch: Option<&str>,
        findings: usize,
        references: &[String],
    ) -> Result<(), LedgerError> {
        let refs = serde_json::to_string(references).unwrap_or_else(|_| "[]".into());
        self.conn.execute(
            "INSERT INTO repos (repo, repo_id, state, default_branch, findings, refs, updated_at)
             VALUES (?1, ?2, 'discovered', ?3, ?4, ?5, ?6)
             ON CONFLICT(repo) DO UPDATE SET repo_id = COALESCE(?2, repo_id),
               default_branch = COALESCE(?3, default_branch), findings = ?4, refs = ?5, updated_at = ?6",
            params![repo, repo_id.map(|i| i as i64), default_branch, findings as i64, refs, time::now()],
        )?;
        Ok(())
    }

    /// Sets a repository's state; `error` is kept only for `failed`.
    pub fn set_state(
        &self,
        repo: &str,
        state: RepoState,
        error: Option<&str>,
    ) -> Result<(), LedgerError> {
        self.ensure_repo(repo)?;
        self.conn.execute(
            "UPDATE repos SET state = ?2, error = ?3, updated_at = ?4 WHERE repo = ?1",
            params![repo, state.as_str(), error, time::now()],
        )?;
        Ok(())
    }

    /// Records the pull request `rewrite --pr` opened (or found) for a repository.
    pub fn set_pr(
        &self,
        repo: &str,
        number: u64,
        url: &str,
        head: &str,
    ) -> Result<(), LedgerError> {
        self.ensure_repo(repo)?;
        self.conn.execute(
            "UPDATE repos SET pr_number = ?2, pr_url = ?3, pr_head = ?4, updated_at = ?5 WHERE repo = ?1",
            params![repo, number as i64, url, head, time::now()],
        )?;
        Ok(())
    }

    /// Records whether the pull request is merged, and when.
    pub fn set_merged(&self, repo: &str, merged_at: Option<Seconds>) -> Result<(), LedgerError> {
        self.ensure_repo(repo)?;
        self.conn.execute(
            "UPDATE repos SET pr_merged = ?2, merged_at = ?3, updated_at = ?4 WHERE repo = ?1",
            params![repo, merged_at.is_some(), merged_at, time::now()],
        )?;
        Ok(())
    }

    /// Replaces the roles known to serve the campaign's repositories with this observation.
    pub fn record_roles(&self, roles: &[RoleRow]) -> Result<(), LedgerError> {
        let tx = self.conn.unchecked_transaction()?;
        tx.execute("DELETE FROM roles", [])?;
        for r in roles {
            tx.execute(
                "INSERT OR REPLACE INTO roles (arn, role_id, repo, source, tags, observed_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![
                    r.arn,
                    r.role_id,
                    r.repo,
                    r.source,
                    serde_json::to_string(&r.tags).unwrap_or_default(),
                    time::now()
                ],
            )?;
        }
        tx.commit()?;
        Ok(())
    }

    pub fn roles(&self) -> Result<Vec<RoleRow>, LedgerError> {
        let mut stmt = self
            .conn
            .prepare("SELECT arn, role_id, repo, source, tags FROM roles ORDER BY repo, arn")?;
        let rows = stmt.query_map([], |r| {
            let tags: String = r.get(4)?;
            Ok(RoleRow {
                arn: r.get(0)?,
                role_id: r.get(1)?,
                repo: r.get(2)?,
                source: r.get(3)?,
                tags: serde_json::from_str(&tags).unwrap_or_default(),
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Tags of every web-identity role seen, by role id (read once per role).
    pub fn role_tags(&self) -> Result<BTreeMap<String, Vec<(String, String)>>, LedgerError> {
        let mut stmt = self.conn.prepare("SELECT role_id, tags FROM role_tags")?;
        let rows = stmt.query_map([], |r| {
            let tags: String = r.get(1)?;
            Ok((r.get(0)?, serde_json::from_str(&tags).unwrap_or_default()))
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    pub fn set_role_tags(
        &self,
        tags: &BTreeMap<String, Vec<(String, String)>>,
    ) -> Result<(), LedgerError> {
        let tx = self.conn.unchecked_transaction()?;
        tx.execute("DELETE FROM role_tags", [])?;
        for (role_id, tags) in tags {
            tx.execute(
                "INSERT INTO role_tags (role_id, tags) VALUES (?1, ?2)",
                params![role_id, serde_json::to_string(tags).unwrap_or_default()],
            )?;
        }
        tx.commit()?;
        Ok(())
    }

    /// Records the first successful run of the migrated workflows after the PR merged.
    pub fn record_verification(&self, v: &Verification) -> Result<(), LedgerError> {
        self.conn.execute(
            "INSERT OR REPLACE INTO verifications (repo, merged_at, workflow, run_url, run_at)
             VALUES (?1, ?2, ?3, ?4, ?5)",
            params![v.repo, v.merged_at, v.workflow, v.run_url, v.run_at],
        )?;
        Ok(())
    }

    pub fn verifications(&self) -> Result<Vec<Verification>, LedgerError> {
        let mut stmt = self.conn.prepare(
            "SELECT repo, merged_at, workflow, run_url, run_at FROM verifications ORDER BY repo",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok(Verification {
                repo: r.get(0)?,
                merged_at: r.get(1)?,
                workflow: r.get(2)?,
                run_url: r.get(3)?,
                run_at: r.get(4)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// GitHub replies kept for conditional requests (see [`crate::github::ConditionalCache`]).
    pub fn http_cache(&self) -> Result<Vec<(String, Cached)>, LedgerError> {
        let mut stmt = self
            .conn
            .prepare("SELECT key, etag, link, body FROM http_cache")?;
        let rows = stmt.query_map([], |r| {
            Ok((
                r.get(0)?,
                Cached {
                    etag: r.get(1)?,
                    link: r.get(2)?,
                    body: r.get(3)?,
                },
            ))
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Replaces the kept replies with `entries`.
    pub fn set_http_cache(&self, entries: &[(String, Cached)]) -> Result<(), LedgerError> {
        let tx = self.conn.unchecked_transaction()?;
        tx.execute("DELETE FROM http_cache", [])?;
        for (key, c) in entries {
            tx.execute(
                "INSERT INTO http_cache (key, etag, link, body) VALUES (?1, ?2, ?3, ?4)",
                params![key, c.etag, c.link, c.body],
            )?;
        }
        tx.commit()?;
        Ok(())
    }

    fn ensure_repo(&self, repo: &str) -> Result<(), LedgerError> {
        self.conn.execute(
            "INSERT OR IGNORE INTO repos (repo, state, updated_at) VALUES (?1, 'discovered', ?2)",
            params![repo, time::now()],
        )?;
        Ok(())
    }

    /// Replaces what is known about a repository's secrets of one scope family: rows not in
    /// `secrets` are marked absent (kept, for their `ever_referenced` history).
    pub fn record_secrets(&self, repo: &str, secrets: &[SecretRow]) -> Result<(), LedgerError> {
        let tx = self.conn.unchecked_transaction()?;
        tx.execute("UPDATE secrets SET present = 0 WHERE repo = ?1", [repo])?;
        for s in secrets {
            tx.execute(
                "INSERT INTO secrets (repo, scope, environment, name, present, ever_referenced)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                 ON CONFLICT(repo, scope, environment, name) DO UPDATE SET present = ?5,
                   ever_referenced = MAX(ever_referenced, ?6)",
                params![
                    repo,
                    s.scope,
                    s.environment,
                    s.name,
                    s.present,
                    s.ever_referenced
                ],
            )?;
        }
        tx.commit()?;
        Ok(())
    }

    pub fn secrets(&self, repo: &str) -> Result<Vec<SecretRow>, LedgerError> {
        let mut stmt = self.conn.prepare(
            "SELECT repo, scope, environment, name, present, ever_referenced FROM secrets
             WHERE repo = ?1 ORDER BY scope, environment, name",
        )?;
        let rows = stmt.query_map([repo], |r| {
            Ok(SecretRow {
                repo: r.get(0)?,
                scope: r.get(1)?,
                environment: r.get(2)?,
                name: r.get(3)?,
                present: r.get(4)?,
                ever_referenced: r.get(5)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    pub fn record_key(&self, key: &KeyRow) -> Result<(), LedgerError> {
        self.conn.execute(
            "INSERT INTO keys (access_key_id, user, status, last_used, last_service, last_region, observed_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
             ON CONFLICT(access_key_id) DO UPDATE SET user = ?2, status = ?3, last_used = ?4,
               last_service = ?5, last_region = ?6, observed_at = ?7",
            params![
                key.access_key_id,
                key.user,
                key.status.as_str(),
                key.last_used,
                key.last_service,
                key.last_region,
                time::now()
            ],
        )?;
        Ok(())
    }

    pub fn keys(&self) -> Result<Vec<KeyRow>, LedgerError> {
        let mut stmt = self.conn.prepare(
            "SELECT access_key_id, user, status, last_used, last_service, last_region FROM keys ORDER BY access_key_id",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok(KeyRow {
                access_key_id: r.get(0)?,
                user: r.get(1)?,
                status: KeyStatus::parse(&r.get::<_, String>(2)?),
                last_used: r.get(3)?,
                last_service: r.get(4)?,
                last_region: r.get(5)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Links a repository to an access key; `source` says why (`key-map: repo`, ...).
    pub fn link_key(&self, repo: &str, key_id: &str, source: &str) -> Result<(), LedgerError> {
        self.conn.execute(
            "INSERT INTO repo_keys (repo, access_key_id, source) VALUES (?1, ?2, ?3)
             ON CONFLICT(repo, access_key_id) DO UPDATE SET source = ?3",
            params![repo, key_id, source],
        )?;
        Ok(())
    }

    /// (repo, access key id) links.
    pub fn key_links(&self) -> Result<Vec<(String, String)>, LedgerError> {
        let mut stmt = self
            .conn
            .prepare("SELECT repo, access_key_id FROM repo_keys ORDER BY repo, access_key_id")?;
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    pub fn repos(&self) -> Result<Vec<RepoRow>, LedgerError> {
        let mut stmt = self.conn.prepare(
            "SELECT repo, repo_id, state, error, default_branch, findings, refs, pr_number, pr_url,
                    pr_head, pr_merged, merged_at, updated_at FROM repos ORDER BY repo",
        )?;
        let rows = stmt.query_map([], |r| {
            let refs: String = r.get(6)?;
            Ok(RepoRow {
                repo: r.get(0)?,
                repo_id: r.get::<_, Option<i64>>(1)?.map(|i| i as u64),
                state: r.get(2)?,
                error: r.get(3)?,
                default_branch: r.get(4)?,
                findings: r.get::<_, i64>(5)? as usize,
                references: serde_json::from_str(&refs).unwrap_or_default(),
                pr_number: r.get::<_, Option<i64>>(7)?.map(|i| i as u64),
                pr_url: r.get(8)?,
                pr_head: r.get(9)?,
                pr_merged: r.get(10)?,
                merged_at: r.get(11)?,
                updated_at: r.get(12)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// What a run of `target` stopped by `--max-requests` kept of one repository for the run
    /// that resumes it, as JSON: a part of a scan's inventory (`secrets`, `oidc`) or a pull
    /// request `rewrite --pr` published (`published`), read at default-branch commit `head`.
    /// (The table kept the name of its first use, `scan_inventory`.)
    pub fn resume_entry(
        &self,
        target: &str,
        repo: &str,
        part: &str,
        head: &str,
    ) -> Result<Option<String>, LedgerError> {
        Ok(self
            .conn
            .query_row(
                "SELECT value FROM scan_inventory WHERE target = ?1 AND repo = ?2 AND part = ?3 AND head = ?4",
                params![target, repo, part, head],
                |r| r.get(0),
            )
            .optional()?)
    }

    /// Keeps one part of what a run of `target` did for a repository, for a run that
    /// resumes it.
    pub fn record_resume_entry(
        &self,
        target: &str,
        repo: &str,
        part: &str,
        head: &str,
        value: &str,
    ) -> Result<(), LedgerError> {
        self.conn.execute(
            "INSERT INTO scan_inventory (target, repo, part, head, value) VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT(target, repo, part) DO UPDATE SET head = ?4, value = ?5",
            params![target, repo, part, head, value],
        )?;
        Ok(())
    }

    /// Forgets what a finished run of `target` kept: the next one reads everything afresh.
    pub fn clear_resume_entries(&self, target: &str) -> Result<(), LedgerError> {
        self.conn
            .execute("DELETE FROM scan_inventory WHERE target = ?1", [target])?;
        Ok(())
    }

    /// Records one `status` observation for the dashboard's burndown (one per second at most).
    pub fn record_progress(&self, point: &ProgressPoint) -> Result<(), LedgerError> {
        self.conn.execute(
            "INSERT OR REPLACE INTO progress (at, repos, repos_with_keys, active_keys) VALUES (?1, ?2, ?3, ?4)",
            params![point.at, point.repos as i64, point.repos_with_keys as i64, point.active_keys as i64],
        )?;
        Ok(())
    }

    /// Every recorded observation, oldest first.
    pub fn progress(&self) -> Result<Vec<ProgressPoint>, LedgerError> {
        let mut stmt = self
            .conn
            .prepare("SELECT at, repos, repos_with_keys, active_keys FROM progress ORDER BY at")?;
        let rows = stmt.query_map([], |r| {
            Ok(ProgressPoint {
                at: r.get(0)?,
                repos: r.get::<_, i64>(1)? as usize,
                repos_with_keys: r.get::<_, i64>(2)? as usize,
                active_keys: r.get::<_, i64>(3)? as usize,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Announces an external write. Committed before the caller makes the write.
    pub fn journal_begin(
        &self,
        repo: &str,
        action: &JournalAction,
        target: &str,
        detail: &serde_json::Value,
    ) -> Result<JournalId, LedgerError> {
        // Whatever an `observing` guard did: this entry is on disk before the write it announces.
        self.conn.pragma_update(None, "synchronous", "FULL")?;
        self.conn.execute(
            "INSERT INTO journal (repo, action, target, detail, started_at, result)
             VALUES (?1, ?2, ?3, ?4, ?5, 'pending')",
            params![
                repo,
                action.as_str(),
                target,
                detail.to_string(),
                time::now()
            ],
        )?;
        Ok(JournalId(self.conn.last_insert_rowid()))
    }

    /// Completes an entry [`Self::journal_begin`] opened.
    pub fn journal_end(&self, id: JournalId, result: &JournalResult) -> Result<(), LedgerError> {
        let error = match result {
            JournalResult::Failed(message) => Some(message.as_str()),
            _ => None,
        };
        self.conn.execute(
            "UPDATE journal SET result = ?2, error = ?3, finished_at = ?4 WHERE id = ?1",
            params![id.0, result.as_str(), error, time::now()],
        )?;
        Ok(())
    }

    /// The whole journal, oldest first.
    pub fn journal(&self) -> Result<Vec<JournalEntry>, LedgerError> {
        let mut stmt = self.conn.prepare(
            "SELECT id, repo, action, target, detail, started_at, finished_at, result, error
             FROM journal ORDER BY id",
        )?;
        let rows = stmt.query_map([], |r| {
            let detail: String = r.get(4)?;
            Ok(JournalEntry {
                id: JournalId(r.get(0)?),
                repo: r.get(1)?,
                action: JournalAction::parse(&r.get::<_, String>(2)?),
                target: r.get(3)?,
                detail: serde_json::from_str(&detail).unwrap_or(serde_json::Value::Null),
                started_at: r.get(5)?,
                finished_at: r.get(6)?,
                result: JournalState::parse(&r.get::<_, String>(7)?),
                error: r.get(8)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Entries a crash left open.
    pub fn pending(&self) -> Result<Vec<JournalEntry>, LedgerError> {
        Ok(self
            .journal()?
            .into_iter()
            .filter(JournalEntry::is_pending)
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_ledger_has_the_current_schema_version() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("l.db");
        drop(Ledger::open(&path).unwrap());
        let conn = Connection::open(&path).unwrap();
        let v: i64 = conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap();
        assert_eq!(v, SCHEMA_VERSION);
    }

    #[test]
    fn an_unversioned_ledger_gains_the_missing_tables_and_columns() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("old.db");
        {
            let conn = Connection::open(&path).unwrap();
            // An early ledger: no progress table, secrets without ever_referenced.
            conn.execute_batch(
                "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
                 CREATE TABLE secrets (repo TEXT NOT NULL, scope TEXT NOT NULL,
                   environment TEXT NOT NULL DEFAULT '', name TEXT NOT NULL, present INTEGER NOT NULL,
                   PRIMARY KEY (repo, scope, environment, name));
                 INSERT INTO secrets VALUES ('acme/api', 'repository', '', 'AWS_ACCESS_KEY_ID', 1);
                 INSERT INTO meta VALUES ('target', '{\"org\":\"acme\"}');",
            )
            .unwrap();
        }
        let ledger = Ledger::open(&path).unwrap();
        assert_eq!(
            ledger.meta("target").unwrap().as_deref(),
            Some("{\"org\":\"acme\"}")
        );
        let secrets = ledger.secrets("acme/api").unwrap();
        assert_eq!(secrets.len(), 1);
        assert!(!secrets[0].ever_referenced);
        ledger
            .record_progress(&ProgressPoint {
                at: 1,
                repos: 1,
                repos_with_keys: 1,
                active_keys: 0,
            })
            .unwrap();
        drop(ledger);
        // Opened again: nothing to do.
        drop(Ledger::open(&path).unwrap());
    }

    #[test]
    fn a_ledger_from_a_newer_migrate_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("new.db");
        drop(Ledger::open(&path).unwrap());
        Connection::open(&path)
            .unwrap()
            .pragma_update(None, "user_version", SCHEMA_VERSION + 1)
            .unwrap();
        let Err(error) = Ledger::open(&path) else {
            panic!("a newer ledger was opened");
        };
        let text = error.to_string();
        assert!(
            text.contains("written by a newer migrate") && text.contains("upgrade migrate"),
            "{text}"
        );
    }

    #[test]
    fn journal_entries_are_durable_even_while_observing() {
        let dir = tempfile::tempdir().unwrap();
        let ledger = Ledger::open(&dir.path().join("c.db")).unwrap();
        let level = |l: &Ledger| -> i64 {
            l.conn
                .query_row("PRAGMA synchronous", [], |r| r.get(0))
                .unwrap()
        };
        assert_eq!(level(&ledger), 2, "FULL");
        let guard = ledger.observing().unwrap();
        assert_eq!(level(&ledger), 0, "OFF for observations");
        ledger
            .journal_begin(
                "acme/api",
                &JournalAction::DeleteSecret,
                "repository:X",
                &serde_json::json!({}),
            )
            .unwrap();
        assert_eq!(
            level(&ledger),
            2,
            "a journal entry is always written with FULL"
        );
        drop(guard);
        assert_eq!(level(&ledger), 2);
    }

    #[test]
    fn journal_survives_reopen_and_pending_is_visible() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.db");
        let ledger = Ledger::open(&path).unwrap();
        ledger
            .record_scan("acme/api", Some(7), Some("main"), 2, &["AWS_KEY".into()])
            .unwrap();
        ledger
            .set_pr("acme/api", 3, "https://x/3", "migrate/aws-oidc")
            .unwrap();
        let done = ledger
            .journal_begin(
                "acme/api",
                &JournalAction::DeleteSecret,
                "repository:AWS_KEY",
                &serde_json::json!({}),
            )
            .unwrap();
        ledger.journal_end(done, &JournalResult::Done).unwrap();
        let open = ledger
            .journal_begin(
                "acme/api",
                &JournalAction::DeactivateKey,
                "AKIAXXXXXXXXXXXXXXXX",
                &serde_json::json!({"user": "ci"}),
            )
            .unwrap();
        drop(ledger);

        let ledger = Ledger::open(&path).unwrap();
        let pending = ledger.pending().unwrap();
        assert_eq!(pending.len(), 1);
        assert_eq!(pending[0].id, open);
        assert_eq!(pending[0].detail["user"], "ci");
        let repos = ledger.repos().unwrap();
        assert_eq!(repos[0].pr_number, Some(3));
        assert_eq!(repos[0].references, vec!["AWS_KEY".to_string()]);
        // A later scan keeps the PR.
        ledger
            .record_scan("acme/api", None, Some("main"), 0, &[])
            .unwrap();
        assert_eq!(ledger.repos().unwrap()[0].pr_number, Some(3));
    }

    #[test]
    fn ever_referenced_is_sticky() {
        let dir = tempfile::tempdir().unwrap();
        let ledger = Ledger::open(&dir.path().join("c.db")).unwrap();
        let row = |present, referenced| SecretRow {
            repo: "acme/api".into(),
            scope: "repository".into(),
            environment: String::new(),
            name: "AWS_ACCESS_KEY_ID".into(),
            present,
            ever_referenced: referenced,
        };
        ledger
            .record_secrets("acme/api", &[row(true, true)])
            .unwrap();
        ledger
            .record_secrets("acme/api", &[row(true, false)])
            .unwrap();
        assert!(ledger.secrets("acme/api").unwrap()[0].ever_referenced);
        ledger.record_secrets("acme/api", &[]).unwrap();
        let rows = ledger.secrets("acme/api").unwrap();
        assert!(!rows[0].present && rows[0].ever_referenced);
    }
}
