//! The rate-limit governor shared by every request: bounded read concurrency, serialized
//! writes with a minimum gap, a shared pause when GitHub says to wait, and retry decisions
//! for 5xx, connection errors and secondary limits (with backoff and a cap on waiting).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use http::HeaderMap;
use tokio::sync::{Mutex as AsyncMutex, Semaphore, SemaphorePermit};

use super::error::GitHubError;

#[derive(Debug, Clone)]
pub struct Policy {
    pub read_concurrency: usize,
    /// GitHub asks for at least a second between content-creating requests.
    pub min_write_interval: Duration,
    pub max_attempts: u32,
    /// First backoff; doubles per attempt.
    pub base_backoff: Duration,
    /// The longest single wait we accept before giving up with a clear error.
    pub max_wait: Duration,
    /// `--max-requests`: one total for the run, shared by every connection (token) of it.
    pub budget: Option<Arc<RequestBudget>>,
}

/// A cap on the requests of a whole run, across tokens: once spent, every further request
/// fails at once with [`GitHubError::BudgetSpent`] instead of being sent.
#[derive(Debug)]
pub struct RequestBudget {
    limit: u64,
    spent: AtomicU64,
}

impl RequestBudget {
    pub fn new(limit: u64) -> Arc<Self> {
        Arc::new(Self {
            limit,
            spent: AtomicU64::new(0),
        })
    }

    pub fn limit(&self) -> u64 {
        self.limit
    }

    /// Whether the run stopped short: a request was refused for want of budget.
    pub fn exhausted(&self) -> bool {
        self.spent.load(Ordering::Relaxed) > self.limit
    }

    /// Takes one request from the budget; `false` when none is left.
    fn take(&self) -> bool {
        self.spent.fetch_add(1, Ordering::Relaxed) < self.limit
    }
}

impl Default for Policy {
    fn default() -> Self {
        Self {
            // GitHub allows up to 100 concurrent requests; 16 keeps well clear of that.
            read_concurrency: 16,
            min_write_interval: Duration::from_secs(1),
            max_attempts: 6,
            base_backoff: Duration::from_secs(1),
            max_wait: Duration::from_secs(15 * 60),
            budget: None,
        }
    }
}

/// What to do with a response or a transport failure.
#[derive(Debug, PartialEq, Eq)]
pub enum Verdict {
    Done,
    /// Retry after this long (the governor pauses every request for a rate limit).
    Retry {
        after: Duration,
        pause_everyone: bool,
        reason: String,
    },
}

pub struct Governor {
    pub policy: Policy,
    reads: Semaphore,
    last_write: AsyncMutex<Option<Instant>>,
    paused_until: Mutex<Option<Instant>>,
    requests: AtomicU64,
    retries: AtomicU64,
}

/// Held while a request is in flight: a read slot, or the write lock.
pub enum Slot<'a> {
    Read(#[allow(dead_code)] SemaphorePermit<'a>),
    Write(tokio::sync::MutexGuard<'a, Option<Instant>>),
}

impl Slot<'_> {
    /// Marks the end of a write, starting the gap before the next one.
    pub fn finish(self) {
        if let Slot::Write(mut last) = self {
            *last = Some(Instant::now());
        }
    }
}

impl Governor {
    pub fn new(policy: Policy) -> Self {
        Self {
            reads: Semaphore::new(policy.read_concurrency.max(1)),
            policy,
            last_write: AsyncMutex::new(None),
            paused_until: Mutex::new(None),
            requests: AtomicU64::new(0),
            retries: AtomicU64::new(0),
        }
    }

    pub fn requests(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }

    pub fn retries(&self) -> u64 {
        self.retries.load(Ordering::Relaxed)
    }

    /// Waits out any shared pause, then takes a read slot or the write lock, and one request
    /// of the run's budget (none left: [`GitHubError::BudgetSpent`], nothing is sent).
    pub async fn acquire(&self, write: bool) -> Result<Slot<'_>, GitHubError> {
        loop {
            let pause = self.paused_until.lock().map(|p| *p).unwrap_or(None);
            match pause {
                Some(until) if until > Instant::now() => {
                    tokio::time::sleep_until(until.into()).await
                }
                _ => break,
            }
        }
        let slot = if write {
            let last = self.last_write.lock().await;
            if let Some(at) = *last {
                let next = at + self.policy.min_write_interval;
                if next > Instant::now() {
                    tokio::time::sleep_until(next.into()).await;
                }
            }
            Slot::Write(last)
        } else {
            // The semaphore is never closed, so acquire cannot fail.
            match self.reads.acquire().await {
                Ok(permit) => Slot::Read(permit),
                Err(_) => unreachable!("the read semaphore is never closed"),
            }
        };
        if let Some(budget) = &self.policy.budget
            && !budget.take()
        {
            return Err(GitHubError::BudgetSpent {
                limit: budget.limit(),
            });
        }
        self.requests.fetch_add(1, Ordering::Relaxed);
        Ok(slot)
    }

    /// Sleeps before a retry, sharing rate-limit pauses with every other request. Fails when
    /// GitHub asks for a longer wait than the cap.
    pub async fn wait_before_retry(
        &self,
        after: Duration,
        pause_everyone: bool,
    ) -> Result<(), GitHubError> {
        if after > self.policy.max_wait {
            return Err(GitHubError::RateLimited {
                wait: after,
                cap: self.policy.max_wait,
            });
        }
        self.retries.fetch_add(1, Ordering::Relaxed);
        let until = Instant::now() + after;
        if pause_everyone
            && let Ok(mut paused) = self.paused_until.lock()
            && paused.is_none_or(|p| p < until)
        {
            *paused = Some(until);
        }
        tokio::time::sleep_until(until.into()).await;
        Ok(())
    }

    /// Backoff for attempt `n` (0-based): base * 2^n, of which the upper half is random
    /// ("equal jitter"), so workers that hit one limit together do not all retry at once.
    pub fn backoff(&self, attempt: u32) -> Duration {
        let full = self
            .policy
            .base_backoff
            .saturating_mul(1 << attempt.min(10));
        let half = full / 2;
        half + half.mul_f64(jitter())
    }
}

/// A number in [0, 1), different on every call: the standard library's randomly keyed hasher
/// over the clock (nothing here needs more than spreading retries apart).
fn jitter() -> f64 {
    use std::hash::{BuildHasher, Hasher};
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    hasher.write_u128(nanos);
    (hasher.finish() >> 11) as f64 / (1u64 << 53) as f64
}

/// Decides whether a response means "retry" (rate limits, 5xx) and after how long.
pub fn judge(
    status: u16,
    headers: &HeaderMap,
    body: &str,
    attempt: u32,
    governor: &Governor,
) -> Verdict {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
    };
    let retry_after = header("retry-after")
        .and_then(|v| v.parse::<u64>().ok())
        .map(Duration::from_secs);
    let remaining = header("x-ratelimit-remaining").and_then(|v| v.parse::<u64>().ok());
    let reset = header("x-ratelimit-reset").and_then(|v| v.parse::<u64>().ok());
    let lower = body.to_ascii_lowercase();
    let secondary = lower.contains("secondary rate limit") || lower.contains("abuse detection");
    match status {
        403 | 429 if retry_after.is_some() => Verdict::Retry {
            after: retry_after.unwrap_or_default(),
            pause_everyone: true,
            reason: "secondary rate limit (retry-after)".into(),
        },
        403 | 429 if remaining == Some(0) => {
            let now = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map(|d| d.as_secs())
                .unwrap_or(0);
            let wait = reset.map_or(Duration::from_secs(60), |r| {
                Duration::from_secs(r.saturating_sub(now) + 1)
            });
            Verdict::Retry {
                after: wait,
                pause_everyone: true,
                reason: "primary rate limit exhausted".into(),
            }
        }
        403 | 429 if secondary || status == 429 => Verdict::Retry {
            after: governor.backoff(attempt).max(Duration::from_millis(1)),
            pause_everyone: true,
            reason: "secondary rate limit".into(),
        },
        500 | 502 | 503 | 504 => Verdict::Retry {
            after: governor.backoff(attempt),
            pause_everyone: false,
            reason: format!("server error {status}"),
        },
        _ => Verdict::Done,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, v.parse().unwrap());
        }
        h
    }

    #[test]
    fn verdicts() {
        let g = Governor::new(Policy {
            base_backoff: Duration::from_millis(10),
            ..Policy::default()
        });
        assert_eq!(judge(200, &HeaderMap::new(), "", 0, &g), Verdict::Done);
        assert_eq!(judge(404, &HeaderMap::new(), "", 0, &g), Verdict::Done);
        match judge(403, &headers(&[("retry-after", "3")]), "", 0, &g) {
            Verdict::Retry {
                after,
                pause_everyone,
                ..
            } => assert_eq!((after, pause_everyone), (Duration::from_secs(3), true)),
            v => panic!("{v:?}"),
        }
        match judge(502, &HeaderMap::new(), "", 2, &g) {
            Verdict::Retry {
                after,
                pause_everyone,
                ..
            } => {
                // 10 ms * 2^2, the upper half random.
                assert!(!pause_everyone);
                assert!(
                    (Duration::from_millis(20)..=Duration::from_millis(40)).contains(&after),
                    "{after:?}"
                );
            }
            v => panic!("{v:?}"),
        }
        let waits: std::collections::BTreeSet<Duration> = (0..20).map(|_| g.backoff(3)).collect();
        assert!(waits.len() > 1, "no jitter: {waits:?}");
        // A plain 403 (no access) is final.
        assert_eq!(
            judge(
                403,
                &HeaderMap::new(),
                "{\"message\":\"Resource not accessible\"}",
                0,
                &g
            ),
            Verdict::Done
        );
        assert!(matches!(
            judge(
                403,
                &HeaderMap::new(),
                "You have exceeded a secondary rate limit",
                0,
                &g
            ),
            Verdict::Retry { .. }
        ));
    }

    #[tokio::test]
    async fn waits_beyond_the_cap_fail() {
        let g = Governor::new(Policy {
            max_wait: Duration::from_secs(1),
            ..Policy::default()
        });
        assert!(matches!(
            g.wait_before_retry(Duration::from_secs(5), true).await,
            Err(GitHubError::RateLimited { .. })
        ));
    }
}
