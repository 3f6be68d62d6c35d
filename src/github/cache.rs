//! Conditional requests: the `ETag` and body of earlier GET replies, so a repeated GET asks
//! `If-None-Match` and GitHub's `304 Not Modified` (free against the primary rate limit)
//! stands in for the body. The campaign ledger persists it between runs.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

/// One earlier reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cached {
    pub etag: String,
    /// The `Link` header (pagination), which a 304 need not repeat.
    pub link: Option<String>,
    pub body: String,
}

/// Replies by request path (with its query). Only secret *names* and listings pass through
/// here: GitHub never returns secret values.
#[derive(Debug, Default)]
pub struct ConditionalCache {
    entries: Mutex<BTreeMap<String, Cached>>,
    /// Paths asked for in this run: only these are worth keeping.
    used: Mutex<BTreeSet<String>>,
    not_modified: AtomicU64,
}

impl ConditionalCache {
    pub fn new(entries: impl IntoIterator<Item = (String, Cached)>) -> Self {
        Self {
            entries: Mutex::new(entries.into_iter().collect()),
            ..Self::default()
        }
    }

    /// The entry to revalidate for `path`, if any.
    pub(super) fn lookup(&self, path: &str) -> Option<Cached> {
        lock(&self.used).insert(path.to_string());
        lock(&self.entries).get(path).cloned()
    }

    pub(super) fn store(&self, path: &str, cached: Cached) {
        lock(&self.entries).insert(path.to_string(), cached);
    }

    pub(super) fn count_not_modified(&self) {
        self.not_modified.fetch_add(1, Ordering::Relaxed);
    }

    /// Requests GitHub answered `304 Not Modified`.
    pub fn not_modified(&self) -> u64 {
        self.not_modified.load(Ordering::Relaxed)
    }

    /// The entries this run used, to keep for the next run (the rest are stale).
    pub fn used_entries(&self) -> Vec<(String, Cached)> {
        let used = lock(&self.used);
        lock(&self.entries)
            .iter()
            .filter(|(path, _)| used.contains(*path))
            .map(|(path, cached)| (path.clone(), cached.clone()))
            .collect()
    }
}

/// A poisoned lock only means another request panicked; the map itself is still whole.
fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cached(etag: &str) -> Cached {
        Cached {
            etag: etag.into(),
            link: None,
            body: "{}".into(),
        }
    }

    #[test]
    fn keeps_only_what_this_run_used() {
        let cache = ConditionalCache::new([
            ("/a".to_string(), cached("1")),
            ("/stale".to_string(), cached("2")),
        ]);
        assert_eq!(cache.lookup("/a"), Some(cached("1")));
        assert_eq!(cache.lookup("/b"), None);
        cache.store("/b", cached("3"));
        let kept: Vec<String> = cache.used_entries().into_iter().map(|(p, _)| p).collect();
        assert_eq!(kept, vec!["/a", "/b"]);
    }
}
