//! The ledger as a resumable scan's [`InventoryStore`]: what a scan stopped by
//! `--max-requests` read of each repository (its secrets, its OIDC template), kept under the
//! scan's target ([`scan_target`]) and the commit it was read at, so that the next run reads
//! only the rest.

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

use super::{Ledger, LedgerError};
use crate::github::{RepoSecrets, SubCustomization};
use crate::scan::remote::InventoryStore;

/// The name a `scan` keeps its reads under: the same words for every run of the same command
/// (organizations and repositories sorted), so that a re-run finds what a stopped one kept.
pub fn scan_target(orgs: &[String], repos: &[String], enterprise: Option<&str>) -> String {
    let (mut orgs, mut repos) = (orgs.to_vec(), repos.to_vec());
    orgs.sort();
    repos.sort();
    format!(
        "scan org={} repo={} enterprise={}",
        orgs.join(","),
        repos.join(","),
        enterprise.unwrap_or_default()
    )
}

/// One scan target's inventories in the ledger.
pub struct ResumeStore {
    ledger: Mutex<Ledger>,
    path: PathBuf,
    target: String,
    /// A record could not be written: the next run reads that part again.
    lost: AtomicBool,
}

impl ResumeStore {
    /// Opens the ledger at `path` for the scan named `target` (the same words every run of
    /// the same command gives, so that a re-run finds what the stopped one kept).
    pub fn open(path: &Path, target: String) -> Result<Self, LedgerError> {
        Ok(Self {
            ledger: Mutex::new(Ledger::open(path)?),
            path: path.to_path_buf(),
            target,
            lost: AtomicBool::new(false),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Whether some record could not be kept (the scan itself is unaffected).
    pub fn lost_records(&self) -> bool {
        self.lost.load(Ordering::Relaxed)
    }

    /// The scan completed: the next one reads everything afresh.
    pub fn clear(&self) -> Result<(), LedgerError> {
        match self.ledger.lock() {
            Ok(ledger) => ledger.clear_resume_entries(&self.target),
            // A panic elsewhere poisoned the lock: the records stay, to be read again.
            Err(_) => Ok(()),
        }
    }

    fn read<T: serde::de::DeserializeOwned>(
        &self,
        repo: &str,
        part: &str,
        head: &str,
    ) -> Option<T> {
        let ledger = self.ledger.lock().ok()?;
        let text = ledger.resume_entry(&self.target, repo, part, head).ok()??;
        serde_json::from_str(&text).ok()
    }

    fn keep<T: serde::Serialize>(&self, repo: &str, part: &str, head: &str, value: &T) {
        let recorded = self.ledger.lock().ok().and_then(|ledger| {
            let text = serde_json::to_string(value).ok()?;
            ledger
                .record_resume_entry(&self.target, repo, part, head, &text)
                .ok()
        });
        if recorded.is_none() {
            self.lost.store(true, Ordering::Relaxed);
        }
    }
}

impl InventoryStore for ResumeStore {
    fn secrets(&self, repo: &str, head: &str) -> Option<RepoSecrets> {
        self.read(repo, "secrets", head)
    }

    fn oidc(&self, repo: &str, head: &str) -> Option<SubCustomization> {
        self.read(repo, "oidc", head)
    }

    fn keep_secrets(&self, repo: &str, head: &str, secrets: &RepoSecrets) {
        self.keep(repo, "secrets", head, secrets);
    }

    fn keep_oidc(&self, repo: &str, head: &str, oidc: &SubCustomization) {
        self.keep(repo, "oidc", head, oidc);
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_scan_is_kept_under_the_same_words_whatever_the_order_of_its_arguments() {
        let key = |orgs: &[&str], repos: &[&str], enterprise| {
            let strings = |list: &[&str]| list.iter().map(|s| s.to_string()).collect::<Vec<_>>();
            super::scan_target(&strings(orgs), &strings(repos), enterprise)
        };
        assert_eq!(
            key(&["globex", "acme"], &[], Some("corp")),
            "scan org=acme,globex repo= enterprise=corp"
        );
        assert_eq!(
            key(&[], &["acme/web", "acme/api"], None),
            key(&[], &["acme/api", "acme/web"], None)
        );
        assert_eq!(
            key(&[], &["acme/web", "acme/api"], None),
            "scan org= repo=acme/api,acme/web enterprise="
        );
    }
}
