//! What a GitHub scan (`scan --org/--repo/--enterprise`) adds to the scan report's output: the
//! top-level JSON fields beside the findings, and the closing line of the human format.

use crate::fleet::FleetScan;
use crate::scan::remote::RemoteScan;

/// The additions of one GitHub scan.
pub struct RemoteOutput {
    /// Extra top-level JSON fields: `repositories`, `organization` (or `organizations`),
    /// `github`.
    pub json: serde_json::Value,
    /// Repositories scanned and skipped, and the requests it took.
    pub summary_line: String,
}

impl RemoteOutput {
    /// One organization, or named repositories.
    pub fn of_scan(done: &RemoteScan) -> Self {
        let scanned = scanned(done);
        let summary_line = format!(
            "{} repositories scanned, {} skipped; {} GitHub requests ({} retried)",
            scanned,
            done.repositories.len() - scanned,
            done.requests,
            done.retries
        );
        let json = serde_json::json!({
            "repositories": done.repositories,
            "organization": done.organization,
            "github": { "requests": done.requests, "retries": done.retries },
        });
        Self { json, summary_line }
    }

    /// Several organizations (repeated `--org`, or `--enterprise`).
    pub fn of_fleet(done: &FleetScan) -> Self {
        let repositories = &done.scan.repositories;
        let scanned = scanned(&done.scan);
        let summary_line = format!(
            "{} organizations: {} repositories scanned, {} skipped; {} GitHub requests ({} retried)",
            done.organizations.len(),
            scanned,
            repositories.len() - scanned,
            done.scan.requests,
            done.scan.retries
        );
        let json = serde_json::json!({
            "repositories": repositories,
            "organizations": done.organizations,
            "github": { "requests": done.scan.requests, "retries": done.scan.retries },
        });
        Self { json, summary_line }
    }
}

fn scanned(done: &RemoteScan) -> usize {
    done.repositories
        .iter()
        .filter(|r| r.outcome == "scanned")
        .count()
}
