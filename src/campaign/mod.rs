//! Campaigns: an org-wide migration tracked in one SQLite ledger (`--campaign FILE`).
//!
//! [`ledger`] stores per-repository state, secrets, IAM keys, pull requests and a journal of
//! every external write (begun before the write, completed after it). [`state`] derives each
//! repository's state and next step from remote truth, [`keymap`] reads the operator's
//! secret → IAM key map, [`cleanup`] plans what may be retired and refuses what may not,
//! [`undo`] plans the way back. All of these are pure; [`reconcile`] gathers remote truth from
//! GitHub and IAM and resolves journal entries a crash left pending, `cleanup::execute` makes
//! cleanup's writes and [`reactivate`] undo's (effects).

pub mod announce;
pub mod attribution;
pub mod cleanup;
pub mod dashboard;
pub mod diagnose;
pub mod journal;
pub mod key_status;
pub mod keymap;
pub mod ledger;
pub mod reactivate;
pub mod reconcile;
pub mod resume;
pub mod roles;
pub mod settle;
pub mod state;
pub mod time;
pub mod undo;

pub use journal::{JournalAction, JournalState};
pub use ledger::{JournalEntry, JournalId, JournalResult, Ledger, LedgerError};

/// The campaign's branch in every repository (the one `rewrite --pr` pushes).
pub use crate::publish::BRANCH;

/// Default ledger file, in the working directory.
pub const DEFAULT_LEDGER: &str = "migrate-campaign.db";
