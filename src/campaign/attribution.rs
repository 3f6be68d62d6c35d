//! Which repository an old access key belongs to, from evidence (pure): the key's CloudTrail
//! events that came from GitHub Actions runners (the `actions` ranges of `GET /meta`) at times
//! inside a repository's workflow runs, and the proposed key map that says so in comments.
//!
//! Nothing here is acted on: `status --suggest-key-map FILE` writes the proposal, and only the
//! operator adopting it as `--key-map` makes cleanup touch a key.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

use super::time::{self, Seconds};
use crate::detect::aws_key_literal::mask_key_id;

/// CloudTrail delivers the API call's own time and GitHub the run's start and last update,
/// each to the second: a minute either side absorbs clock skew and the gap between a
/// runner's last API call and GitHub recording the run as done.
pub const WINDOW_SLACK: Seconds = 60;

/// One API call made with the key, as CloudTrail recorded it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyEvent {
    pub time: Seconds,
    pub region: String,
    /// `s3.amazonaws.com`.
    pub source: String,
    /// `PutObject`.
    pub name: String,
    /// `sourceIPAddress`: an address, or a service name when AWS made the call for the user.
    pub source_ip: String,
    pub user_agent: String,
}

/// GitHub's `actions` address ranges (CIDR, IPv4 and IPv6).
#[derive(Debug, Clone, Default)]
pub struct AddressRanges(Vec<(IpAddr, u8)>);

impl AddressRanges {
    /// Parses `10.0.0.0/8`-style ranges; malformed entries are skipped (and counted).
    pub fn parse<'a>(cidrs: impl IntoIterator<Item = &'a str>) -> (Self, usize) {
        let mut ranges = Vec::new();
        let mut bad = 0;
        for cidr in cidrs {
            let parsed = cidr.split_once('/').and_then(|(ip, bits)| {
                let ip: IpAddr = ip.trim().parse().ok()?;
                let bits: u8 = bits.trim().parse().ok()?;
                let max = if ip.is_ipv4() { 32 } else { 128 };
                (bits <= max).then_some((ip, bits))
            });
            match parsed {
                Some(range) => ranges.push(range),
                None => bad += 1,
            }
        }
        (Self(ranges), bad)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Whether `address` (as CloudTrail writes it) lies in one of the ranges.
    pub fn contains(&self, address: &str) -> bool {
        let Ok(ip) = address.trim().parse::<IpAddr>() else {
            return false;
        };
        self.0.iter().any(|&(net, bits)| within(ip, net, bits))
    }
}

fn within(ip: IpAddr, net: IpAddr, bits: u8) -> bool {
    let (ip, net, width) = match (ip, net) {
        (IpAddr::V4(a), IpAddr::V4(b)) => (u128::from(u32::from(a)), u128::from(u32::from(b)), 32),
        (IpAddr::V6(a), IpAddr::V6(b)) => (u128::from(a), u128::from(b), 128),
        // An IPv4 address mapped into IPv6 (`::ffff:a.b.c.d`) against an IPv4 range.
        (IpAddr::V6(a), IpAddr::V4(b)) => match a.to_ipv4_mapped() {
            Some(a) => (u128::from(u32::from(a)), u128::from(u32::from(b)), 32),
            None => return false,
        },
        (IpAddr::V4(_), IpAddr::V6(_)) => return false,
    };
    if bits == 0 {
        return true;
    }
    let shift = width - u32::from(bits);
    (ip >> shift) == (net >> shift)
}

/// One workflow run of a repository: when it started and when GitHub last updated it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunWindow {
    pub repo: String,
    pub run_id: u64,
    pub start: Seconds,
    pub end: Seconds,
}

impl RunWindow {
    fn holds(&self, at: Seconds) -> bool {
        at >= self.start - WINDOW_SLACK && at <= self.end + WINDOW_SLACK
    }
}

/// How much the evidence says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Confidence {
    /// Few calls, or calls that as easily fall in other repositories' runs.
    Low,
    Medium,
    /// At least three runs, nine in ten runner calls inside this repository's runs, and most
    /// of those inside no other repository's run.
    High,
}

impl Confidence {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Low => "low",
            Self::Medium => "medium",
            Self::High => "high",
        }
    }
}

/// The evidence that a key belongs to one repository.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepoEvidence {
    pub repo: String,
    /// Calls from runners inside this repository's runs.
    pub calls: usize,
    /// Of those, the calls inside no other repository's run.
    pub exclusive: usize,
    /// Distinct runs with at least one call.
    pub runs: usize,
    pub first: Seconds,
    pub last: Seconds,
    pub confidence: Confidence,
}

/// Everything the evidence says about one key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyAttribution {
    pub key_id: String,
    pub user: String,
    pub calls: usize,
    /// Calls from GitHub Actions runners.
    pub runner_calls: usize,
    /// Runner calls inside no run of the campaign's repositories (another repository, or a
    /// repository outside the campaign, uses the key too).
    pub unexplained_runner_calls: usize,
    /// Calls from elsewhere (a laptop, a self-hosted runner, another system).
    pub other_calls: usize,
    /// Best evidence first.
    pub repos: Vec<RepoEvidence>,
}

/// Attributes `events` of key `key_id` (user `user`) to the repositories whose runs they fall in.
pub fn attribute(
    key_id: &str,
    user: &str,
    events: &[KeyEvent],
    ranges: &AddressRanges,
    windows: &[RunWindow],
) -> KeyAttribution {
    let runner: Vec<&KeyEvent> = events
        .iter()
        .filter(|e| ranges.contains(&e.source_ip))
        .collect();
    #[derive(Default)]
    struct Tally {
        calls: usize,
        exclusive: usize,
        runs: BTreeSet<u64>,
        first: Option<Seconds>,
        last: Option<Seconds>,
    }
    let mut tallies: BTreeMap<&str, Tally> = BTreeMap::new();
    let mut unexplained = 0;
    for event in &runner {
        let hits: Vec<&RunWindow> = windows.iter().filter(|w| w.holds(event.time)).collect();
        let repos: BTreeSet<&str> = hits.iter().map(|w| w.repo.as_str()).collect();
        if repos.is_empty() {
            unexplained += 1;
        }
        for repo in &repos {
            let tally = tallies.entry(repo).or_default();
            tally.calls += 1;
            if repos.len() == 1 {
                tally.exclusive += 1;
            }
            tally
                .runs
                .extend(hits.iter().filter(|w| w.repo == *repo).map(|w| w.run_id));
            tally.first = Some(tally.first.map_or(event.time, |t| t.min(event.time)));
            tally.last = Some(tally.last.map_or(event.time, |t| t.max(event.time)));
        }
    }
    let mut repos: Vec<RepoEvidence> = tallies
        .into_iter()
        .map(|(repo, t)| {
            let share = t.calls as f64 / runner.len().max(1) as f64;
            let confidence = if t.runs.len() >= 3
                && share >= 0.9
                && t.exclusive as f64 >= 0.8 * t.calls as f64
            {
                Confidence::High
            } else if t.runs.len() >= 2 && share >= 0.5 {
                Confidence::Medium
            } else {
                Confidence::Low
            };
            RepoEvidence {
                repo: repo.to_string(),
                calls: t.calls,
                exclusive: t.exclusive,
                runs: t.runs.len(),
                first: t.first.unwrap_or_default(),
                last: t.last.unwrap_or_default(),
                confidence,
            }
        })
        .collect();
    repos.sort_by(|a, b| {
        b.confidence
            .cmp(&a.confidence)
            .then(b.calls.cmp(&a.calls))
            .then_with(|| a.repo.cmp(&b.repo))
    });
    KeyAttribution {
        key_id: key_id.to_string(),
        user: user.to_string(),
        calls: events.len(),
        runner_calls: runner.len(),
        unexplained_runner_calls: unexplained,
        other_calls: events.len() - runner.len(),
        repos,
    }
}

/// What the proposal was made from, for its header.
#[derive(Debug, Clone)]
pub struct Provenance {
    pub made_at: Seconds,
    pub days: i64,
    pub regions: Vec<String>,
    /// Keys looked up, repositories whose runs were read.
    pub keys: usize,
    pub repos: usize,
    /// Things the reader must know (regions that could not be read, truncated histories).
    pub caveats: Vec<String>,
}

/// One line per key for the terminal (key ids masked).
pub fn summary(attributions: &[KeyAttribution]) -> Vec<String> {
    attributions
        .iter()
        .map(|a| {
            let key = mask_key_id(&a.key_id);
            match a.repos.first() {
                Some(best) => format!(
                    "{key} (user {}): {} ({} confidence, {} runs, {} of {} runner calls){}",
                    a.user,
                    best.repo,
                    best.confidence.as_str(),
                    best.runs,
                    best.calls,
                    a.runner_calls,
                    if a.repos.len() > 1 {
                        format!(", and {} more", a.repos.len() - 1)
                    } else {
                        String::new()
                    }
                ),
                None if a.calls == 0 => format!("{key} (user {}): no CloudTrail events", a.user),
                None => format!(
                    "{key} (user {}): {} calls, none inside a campaign repository's runs",
                    a.user, a.calls
                ),
            }
        })
        .collect()
}

/// The proposed key map (TOML, adoptable as `--key-map`): high and medium confidence entries
/// active, low ones commented out, every one with its evidence above it. Key ids are written in
/// full (the key map needs them; they identify a key, they are not its secret).
pub fn render_key_map(attributions: &[KeyAttribution], provenance: &Provenance) -> String {
    let mut out = String::new();
    out.push_str(&format!(
        "# Key map proposed by `migrate status --suggest-key-map` on {}.\n\
         # Evidence: CloudTrail management events of {} access key(s) over {} days in {} region(s) ({}),\n\
         # matched against the workflow runs of {} repositories and GitHub's Actions address ranges (GET /meta).\n\
         # migrate never acts on this file by itself: review every entry, merge it into your key map, then\n\
         # pass that as --key-map. Entries of low confidence are commented out.\n",
        time::format(provenance.made_at),
        provenance.keys,
        provenance.days,
        provenance.regions.len(),
        provenance.regions.join(", "),
        provenance.repos,
    ));
    for caveat in &provenance.caveats {
        out.push_str(&format!("# caveat: {caveat}\n"));
    }
    // Repository → (key, evidence) in the order of the keys.
    let mut by_repo: BTreeMap<&str, Vec<(&KeyAttribution, &RepoEvidence)>> = BTreeMap::new();
    for a in attributions {
        for e in &a.repos {
            by_repo.entry(&e.repo).or_default().push((a, e));
        }
    }
    out.push_str("\n[repos]\n");
    if by_repo.is_empty() {
        out.push_str("# No key's calls fell inside a campaign repository's runs.\n");
    }
    for (repo, entries) in &by_repo {
        out.push('\n');
        for (a, e) in entries {
            out.push_str(&format!(
                "# {} (IAM user {}): {} of {} calls from GitHub Actions runners fell inside {} run(s) of {repo}\n\
                 #   between {} and {} ({} inside no other repository's run); confidence {}.\n",
                mask_key_id(&a.key_id),
                a.user,
                e.calls,
                a.runner_calls,
                e.runs,
                time::format(e.first),
                time::format(e.last),
                e.exclusive,
                e.confidence.as_str(),
            ));
            if a.other_calls > 0 {
                out.push_str(&format!(
                    "#   {} other call(s) came from outside GitHub's Actions ranges (a self-hosted runner, a laptop, another system): retiring the key stops those too.\n",
                    a.other_calls
                ));
            }
            if a.unexplained_runner_calls > 0 {
                out.push_str(&format!(
                    "#   {} runner call(s) fell inside no run of the campaign's repositories: another repository uses this key too.\n",
                    a.unexplained_runner_calls
                ));
            }
        }
        let (active, low): (Vec<_>, Vec<_>) = entries
            .iter()
            .partition(|(_, e)| e.confidence >= Confidence::Medium);
        let list = |keys: &[&(&KeyAttribution, &RepoEvidence)]| {
            keys.iter()
                .map(|(a, _)| format!("\"{}\"", a.key_id))
                .collect::<Vec<_>>()
                .join(", ")
        };
        if !active.is_empty() {
            out.push_str(&format!("\"{repo}\" = [{}]\n", list(&active)));
        }
        if !low.is_empty() {
            out.push_str(&format!("# \"{repo}\" = [{}]\n", list(&low)));
        }
    }
    let silent: Vec<&KeyAttribution> = attributions
        .iter()
        .filter(|a| a.repos.is_empty() && a.calls > 0)
        .collect();
    let idle = attributions.iter().filter(|a| a.calls == 0).count();
    if idle > 0 {
        out.push_str(&format!(
            "\n# {idle} other key(s) had no CloudTrail management events in these regions and days.\n"
        ));
    }
    if !silent.is_empty() {
        out.push_str("\n# Keys whose calls fell inside no campaign repository's run:\n");
        for a in silent {
            out.push_str(&format!(
                "#   {} (IAM user {}): {} call(s), {} from GitHub Actions runners\n",
                mask_key_id(&a.key_id),
                a.user,
                a.calls,
                a.runner_calls
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(at: Seconds, ip: &str) -> KeyEvent {
        KeyEvent {
            time: at,
            region: "eu-west-1".into(),
            source: "s3.amazonaws.com".into(),
            name: "ListBuckets".into(),
            source_ip: ip.into(),
            user_agent: "aws-cli/2.15.0".into(),
        }
    }

    fn window(repo: &str, id: u64, start: Seconds) -> RunWindow {
        RunWindow {
            repo: repo.into(),
            run_id: id,
            start,
            end: start + 300,
        }
    }

    #[test]
    fn ranges_match_v4_v6_and_mapped_addresses() {
        let (ranges, bad) = AddressRanges::parse([
            "4.148.0.0/16",
            "2a01:111:f403::/48",
            "nonsense",
            "1.2.3.4/40",
        ]);
        assert_eq!(bad, 2);
        assert!(ranges.contains("4.148.7.9"));
        assert!(!ranges.contains("4.149.0.1"));
        assert!(ranges.contains("2a01:111:f403:c000::1"));
        assert!(!ranges.contains("2a01:111:f404::1"));
        assert!(ranges.contains("::ffff:4.148.1.1"));
        assert!(!ranges.contains("cloudformation.amazonaws.com"));
        let (all, _) = AddressRanges::parse(["0.0.0.0/0"]);
        assert!(all.contains("203.0.113.9"));
    }

    #[test]
    fn calls_inside_one_repositorys_runs_attribute_the_key_with_high_confidence() {
        let (ranges, _) = AddressRanges::parse(["4.148.0.0/16"]);
        let windows = [
            window("acme/api", 1, 1_000),
            window("acme/api", 2, 5_000),
            window("acme/api", 3, 9_000),
            window("acme/web", 4, 20_000),
        ];
        let events = [
            event(1_100, "4.148.0.1"),
            event(5_100, "4.148.0.2"),
            event(9_100, "4.148.0.3"),
            event(9_350, "4.148.0.3"), // inside the slack after run 3
            event(50_000, "203.0.113.7"),
        ];
        let a = attribute("AKIAIOSFODNN7EXAMPLE", "ci-api", &events, &ranges, &windows);
        assert_eq!((a.calls, a.runner_calls, a.other_calls), (5, 4, 1));
        assert_eq!(a.unexplained_runner_calls, 0);
        assert_eq!(a.repos.len(), 1);
        let e = &a.repos[0];
        assert_eq!((e.repo.as_str(), e.calls, e.runs), ("acme/api", 4, 3));
        assert_eq!(e.confidence, Confidence::High);
        assert_eq!((e.first, e.last), (1_100, 9_350));
    }

    #[test]
    fn overlapping_runs_lower_the_confidence_and_strays_are_counted() {
        let (ranges, _) = AddressRanges::parse(["4.148.0.0/16"]);
        let windows = [
            window("acme/api", 1, 1_000),
            window("acme/web", 2, 1_000),
            window("acme/api", 3, 5_000),
            window("acme/web", 4, 5_000),
        ];
        let events = [
            event(1_100, "4.148.0.1"),
            event(5_100, "4.148.0.1"),
            event(90_000, "4.148.0.1"),
        ];
        let a = attribute("AKIAIOSFODNN7EXAMPLE", "ci", &events, &ranges, &windows);
        assert_eq!(a.unexplained_runner_calls, 1);
        assert_eq!(a.repos.len(), 2);
        assert!(a.repos.iter().all(|e| e.exclusive == 0));
        assert!(a.repos.iter().all(|e| e.confidence == Confidence::Medium));
        // One run, one call: low.
        let one = attribute(
            "AKIAIOSFODNN7EXAMPLE",
            "ci",
            &events[..1],
            &ranges,
            &windows[..1],
        );
        assert_eq!(one.repos[0].confidence, Confidence::Low);
    }

    #[test]
    fn the_proposal_is_a_key_map_with_low_confidence_commented_out() {
        let (ranges, _) = AddressRanges::parse(["4.148.0.0/16"]);
        let windows = [
            window("acme/api", 1, 1_000),
            window("acme/api", 2, 5_000),
            window("acme/api", 3, 9_000),
            window("acme/etl", 4, 30_000),
        ];
        let strong = attribute(
            "AKIAAAAAAAAAAAAAAAAA",
            "ci-api",
            &[
                event(1_100, "4.148.0.1"),
                event(5_100, "4.148.0.1"),
                event(9_100, "4.148.0.1"),
            ],
            &ranges,
            &windows,
        );
        let weak = attribute(
            "AKIABBBBBBBBBBBBBBBB",
            "ci-etl",
            &[event(30_100, "4.148.0.1")],
            &ranges,
            &windows,
        );
        let none = attribute("AKIACCCCCCCCCCCCCCCC", "ci-old", &[], &ranges, &windows);
        let text = render_key_map(
            &[strong, weak, none],
            &Provenance {
                made_at: 0,
                days: 90,
                regions: vec!["eu-west-1".into()],
                keys: 3,
                repos: 2,
                caveats: vec![],
            },
        );
        let map = super::super::keymap::KeyMap::parse(&text).expect("a valid key map");
        assert_eq!(map.repos.len(), 1, "{text}");
        assert!(
            text.contains("\"acme/api\" = [\"AKIAAAAAAAAAAAAAAAAA\"]"),
            "{text}"
        );
        assert!(
            text.contains("# \"acme/etl\" = [\"AKIABBBBBBBBBBBBBBBB\"]"),
            "{text}"
        );
        assert!(
            text.contains("# 1 other key(s) had no CloudTrail"),
            "{text}"
        );
        assert!(!text.contains("CCCC"), "{text}");
    }
}
