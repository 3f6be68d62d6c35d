//! `migrate scan`'s arguments (clap derive, with the examples `--help` shows): local paths or
//! GitHub targets, the output format, the request budget and the ledger a stopped scan resumes
//! from.

use std::path::PathBuf;

use clap::{Args, ValueEnum};

use crate::cli::ColorChoice;
use crate::cli::remote_args::RemoteArgs;

#[derive(Clone, Copy, Debug, Default, ValueEnum)]
pub enum Format {
    /// Findings grouped by file with source snippets.
    #[default]
    Human,
    /// Versioned JSON (schema in the README).
    Json,
    /// SARIF 2.1.0, for GitHub code scanning.
    Sarif,
    /// GitHub Actions workflow-command annotations.
    Github,
}

#[derive(Args)]
#[command(after_help = "Examples:
  migrate scan .
  migrate scan .github/workflows/deploy.yml
  migrate scan --format sarif . > migrate.sarif
  GH_TOKEN=... migrate scan --org acme --format json > acme.json
  migrate scan --repo acme/api --repo acme/web
  migrate scan --org acme --github-url https://ghe.example.com
  migrate scan --org acme --org globex --app-id 123456 --app-key app.pem
  migrate scan --enterprise acme-corp
  migrate scan --org acme --max-requests 4000   # again later to continue

Exit codes: 0 clean, 10 findings, 11 some files or repositories could not be scanned, 12 both,
13 stopped at --max-requests (run again to continue), 1 tool error, 2 usage")]
pub struct ScanArgs {
    /// Files and directories to scan (directories are walked; `.git`, `target`,
    /// `node_modules` are skipped). Default: `.` unless --org or --repo is given.
    #[arg(conflicts_with_all = ["org", "repo", "enterprise"])]
    pub paths: Vec<PathBuf>,

    #[command(flatten)]
    pub remote: RemoteArgs,

    #[arg(long, value_enum, default_value_t)]
    pub format: Format,

    #[arg(long, value_enum, default_value_t)]
    pub color: ColorChoice,

    /// With --org/--repo/--enterprise: send at most N GitHub requests in all (across every
    /// token of the run), then stop cleanly. What was read is kept in the campaign ledger;
    /// the same command run again reads only the rest.
    #[arg(long, value_name = "N")]
    pub max_requests: Option<u64>,

    /// The ledger that keeps what a scan stopped by --max-requests read, and from which the
    /// next run resumes. Default with --max-requests: migrate-campaign.db.
    #[arg(long, value_name = "FILE")]
    pub campaign: Option<PathBuf>,
}
