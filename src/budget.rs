//! The rate budget of a long run, before it starts (pure): the requests a scan will cost, from
//! each organization's repository count and today's per-repository costs, and how long GitHub's
//! hourly limits make it at each token's remaining budget.

use std::fmt::Write as _;

/// Runs over fewer repositories than this start without an estimate.
pub const ESTIMATE_ABOVE: usize = 300;

/// GraphQL discovery brings this many repositories (with their workflow files) per request.
const DISCOVERY_PAGE: usize = 25;
/// Per repository with findings: its secrets, its environments' secrets, its OIDC template.
const PER_REPOSITORY: usize = 3;
/// Per organization: its secrets and its OIDC template.
const PER_ORGANIZATION: usize = 2;

/// One token's primary limit, as `GET /rate_limit` reports it (`resources.core`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limit {
    /// Requests per hour.
    pub limit: u64,
    pub remaining: u64,
    /// Unix seconds when `remaining` goes back to `limit`.
    pub reset: i64,
}

/// One organization of the run: how many repositories it has, and the limit of the token
/// that reads it.
#[derive(Debug, Clone, Copy)]
pub struct Share {
    pub repositories: usize,
    pub limit: Limit,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Estimate {
    pub requests: u64,
    pub repositories: usize,
    /// Wall time in seconds the hourly limits impose (0: within what is left now).
    pub seconds: u64,
    /// Distinct tokens and their hourly limit (the smallest, when they differ).
    pub tokens: usize,
    pub per_hour: u64,
}

/// Requests a scan of `repositories` repositories of one organization costs (every
/// repository counted as having findings: an upper bound).
pub fn scan_requests(repositories: usize) -> u64 {
    (repositories.div_ceil(DISCOVERY_PAGE) + PER_REPOSITORY * repositories + PER_ORGANIZATION)
        as u64
}

/// Requests the inventory of `repositories` repositories with findings still costs once
/// discovery is done (their secrets and OIDC templates, and the organization's two).
pub fn inventory_requests(repositories: usize) -> u64 {
    (PER_REPOSITORY * repositories + PER_ORGANIZATION) as u64
}

/// The estimate for organizations read in parallel, each through its own token. A token's
/// requests beyond its `remaining` wait for the next hours at its `limit`; `now`: Unix seconds.
pub fn estimate(shares: &[Share], now: i64) -> Estimate {
    estimate_with(shares, now, scan_requests)
}

/// [`estimate`] with another cost per organization (`cost(repositories)`).
pub fn estimate_with(shares: &[Share], now: i64, cost: impl Fn(usize) -> u64) -> Estimate {
    let mut requests = 0;
    let mut seconds = 0u64;
    for share in shares {
        let cost = cost(share.repositories);
        requests += cost;
        let over = cost.saturating_sub(share.limit.remaining);
        if over > 0 {
            let until_reset = (share.limit.reset - now).max(0) as u64;
            let hours_more = over.div_ceil(share.limit.limit.max(1)).saturating_sub(1);
            let last_hour_part =
                (over - hours_more * share.limit.limit.max(1)) * 3600 / share.limit.limit.max(1);
            seconds = seconds.max(until_reset + hours_more * 3600 + last_hour_part);
        }
    }
    Estimate {
        requests,
        repositories: shares.iter().map(|s| s.repositories).sum(),
        seconds,
        tokens: shares.len(),
        per_hour: shares.iter().map(|s| s.limit.limit).min().unwrap_or(0),
    }
}

/// GitHub's secondary limit on content-creating requests (blobs, trees, commits, refs, pull
/// requests, labels): about 500 an hour and 80 a minute per token.
pub const WRITES_PER_HOUR: u64 = 500;
const WRITES_PER_MINUTE: u64 = 80;

/// For `rewrite --pr`: the writes the planned pull requests take at most (one entry per
/// repository with changes) and how long GitHub's content-creation limit makes them. `None`
/// when they fit in a few minutes. `publish`: false for `--dry-run` (says "would").
pub fn publish_estimate(writes_per_repository: &[u64], publish: bool) -> Option<String> {
    let writes: u64 = writes_per_repository.iter().sum();
    if writes <= WRITES_PER_MINUTE * 5 {
        return None;
    }
    // One write a second at most (migrate's own spacing), 80 a minute, 500 an hour: the full
    // hours' allowances, then the rest at the faster limits.
    let full_hours = writes.saturating_sub(1) / WRITES_PER_HOUR;
    let rest = writes - full_hours * WRITES_PER_HOUR;
    let seconds = full_hours * 3600 + rest.max(rest * 60 / WRITES_PER_MINUTE);
    Some(format!(
        "{} pull requests {} up to ~{} writes; GitHub allows about {WRITES_PER_HOUR} content-creating requests an hour per token, so about {}",
        thousands(writes_per_repository.len() as u64),
        if publish { "take" } else { "would take" },
        thousands(writes),
        duration(seconds)
    ))
}

fn duration(seconds: u64) -> String {
    let (hours, minutes) = (seconds / 3600, seconds % 3600 / 60);
    if hours > 0 {
        format!("{hours} h {minutes} min")
    } else {
        format!("{minutes} min")
    }
}

/// `~48,000 requests over 12,000 repositories, about 3 h 10 min at 15,000/h on 3 tokens`.
pub fn render(estimate: &Estimate) -> String {
    let mut text = format!(
        "~{} requests over {} repositories, ",
        thousands(estimate.requests),
        thousands(estimate.repositories as u64)
    );
    if estimate.seconds == 0 {
        text.push_str("within the budget left now");
    } else {
        let (hours, minutes) = (estimate.seconds / 3600, estimate.seconds % 3600 / 60);
        text.push_str("about ");
        if hours > 0 {
            let _ = write!(text, "{hours} h ");
        }
        let _ = write!(text, "{minutes} min");
    }
    let _ = write!(
        text,
        " at {}/h on {} token{}",
        thousands(estimate.per_hour),
        estimate.tokens,
        if estimate.tokens == 1 { "" } else { "s" }
    );
    text
}

fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_000_000;

    fn share(repositories: usize, limit: u64, remaining: u64) -> Share {
        Share {
            repositories,
            limit: Limit {
                limit,
                remaining,
                reset: NOW + 600,
            },
        }
    }

    #[test]
    fn publishing_is_bounded_by_the_content_creation_limit() {
        // A few pull requests: minutes, no estimate.
        assert_eq!(publish_estimate(&[5; 10], true), None);
        // 2,000 repositories of one file: 10,000 writes at 500 an hour.
        assert_eq!(
            publish_estimate(&[5; 2000], true).as_deref(),
            Some(
                "2,000 pull requests take up to ~10,000 writes; GitHub allows about 500 content-creating requests an hour per token, so about 19 h 8 min"
            )
        );
        // Under an hour's allowance, one write a second decides.
        assert_eq!(
            publish_estimate(&[5; 90], false).as_deref(),
            Some(
                "90 pull requests would take up to ~450 writes; GitHub allows about 500 content-creating requests an hour per token, so about 7 min"
            )
        );
    }

    #[test]
    fn costs_follow_todays_requests_per_repository() {
        assert_eq!(scan_requests(0), 2);
        assert_eq!(scan_requests(25), 1 + 75 + 2);
        assert_eq!(scan_requests(26), 2 + 78 + 2);
    }

    #[test]
    fn within_budget_takes_no_waiting() {
        let e = estimate(&[share(500, 15_000, 15_000)], NOW);
        assert_eq!(e.seconds, 0);
        assert_eq!(
            render(&e),
            "~1,522 requests over 500 repositories, within the budget left now at 15,000/h on 1 token"
        );
    }

    #[test]
    fn over_budget_waits_for_resets_and_tokens_run_in_parallel() {
        // 10,000 repositories on one token: 30,402 requests, 15,000 left, reset in 10 min:
        // 15,402 more = one full hour after the reset, then 402 requests of the next.
        let one = estimate(&[share(10_000, 15_000, 15_000)], NOW);
        assert_eq!(one.requests, 30_402);
        assert_eq!(one.seconds, 600 + 3600 + 402 * 3600 / 15_000);
        assert_eq!(
            render(&one),
            "~30,402 requests over 10,000 repositories, about 1 h 11 min at 15,000/h on 1 token"
        );
        // The same repositories split over three installations fit in what is left.
        let three = estimate(
            &[
                share(3_334, 15_000, 15_000),
                share(3_333, 15_000, 15_000),
                share(3_333, 15_000, 15_000),
            ],
            NOW,
        );
        assert_eq!(three.seconds, 0);
        assert_eq!(three.tokens, 3);
    }
}
