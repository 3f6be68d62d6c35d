//! `migrate scan`: find static AWS key material in workflows and composite actions, local or on
//! GitHub (read through [`super::remote_args`]), print it in the chosen format, and exit with
//! what was found; with `--max-requests`, keep a stopped scan's reads in the campaign ledger.

use std::path::PathBuf;

use clap::{Args, ValueEnum};

use super::remote_args::RemoteArgs;
use super::remote_args::{fetch_fleet, fetch_remote_resuming};
use super::{ColorChoice, Error};
use crate::campaign::resume::{self, ResumeStore};
use crate::github;
use crate::report::remote::RemoteOutput;
use crate::report::{self, exit};
use crate::scan::remote;
use crate::scan::{self, ScanReport};

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
    paths: Vec<PathBuf>,

    #[command(flatten)]
    remote: RemoteArgs,

    #[arg(long, value_enum, default_value_t)]
    format: Format,

    #[arg(long, value_enum, default_value_t)]
    color: ColorChoice,

    /// With --org/--repo/--enterprise: send at most N GitHub requests in all (across every
    /// token of the run), then stop cleanly. What was read is kept in the campaign ledger;
    /// the same command run again reads only the rest.
    #[arg(long, value_name = "N")]
    max_requests: Option<u64>,

    /// The ledger that keeps what a scan stopped by --max-requests read, and from which the
    /// next run resumes. Default with --max-requests: migrate-campaign.db.
    #[arg(long, value_name = "FILE")]
    campaign: Option<PathBuf>,
}

impl ScanArgs {
    /// The run's budget and the ledger that keeps a stopped scan's reads (`--max-requests`).
    fn resume_store(&self) -> Result<Option<ResumeStore>, Error> {
        let path = match (&self.campaign, self.max_requests) {
            (Some(path), _) => path.clone(),
            (None, Some(_)) => PathBuf::from(crate::campaign::DEFAULT_LEDGER),
            (None, None) => return Ok(None),
        };
        let remote = &self.remote;
        if remote.target().is_none() && !remote.is_fleet() {
            return Err(Error::Usage(
                "--max-requests and --campaign are for GitHub scans: use them with --org, --repo or --enterprise"
                    .into(),
            ));
        }
        let target = resume::scan_target(&remote.org, &remote.repo, remote.enterprise.as_deref());
        Ok(Some(ResumeStore::open(&path, target)?))
    }
}

pub fn run(mut args: ScanArgs) -> Result<u8, Error> {
    let store = args.resume_store()?;
    let budget = args.max_requests.map(github::RequestBudget::new);
    args.remote.budget = budget.clone();
    let store_ref = store.as_ref().map(|s| s as &dyn remote::InventoryStore);
    let (report, remote) = match args.remote.target() {
        _ if args.remote.is_fleet() => {
            let done = fetch_fleet(&args.remote, store_ref)?;
            let remote = RemoteOutput::of_fleet(&done);
            (done.scan.report, Some(remote))
        }
        Some(target) => {
            let done =
                fetch_remote_resuming(&args.remote, &target, scan::StepRecords::Skip, store_ref)?;
            let remote = RemoteOutput::of_scan(&done);
            (done.report, Some(remote))
        }
        None => {
            let paths = if args.paths.is_empty() {
                vec![PathBuf::from(".")]
            } else {
                args.paths.clone()
            };
            (scan::scan_paths(&paths, scan::StepRecords::Skip), None)
        }
    };
    let printed = match args.format {
        Format::Json => {
            super::print_with(|out| report::json::write_with(&report, remote.map(|r| r.json), out))
        }
        format => super::print(&render(
            &report,
            format,
            remote.as_ref(),
            args.color.enabled(),
        )),
    };
    let stopped = budget.as_ref().is_some_and(|b| b.exhausted());
    if let Some(store) = &store
        && store.lost_records()
    {
        eprintln!(
            "warning: the campaign ledger could not keep all this scan read: a resumed run reads that again"
        );
    }
    if let (Some(store), Some(budget)) = (&store, &budget) {
        if stopped {
            eprintln!(
                "stopped at --max-requests {}: what was read is kept in {}; run the same command again to continue",
                budget.limit(),
                store.path().display()
            );
        } else {
            // Complete: the next scan reads everything afresh.
            let _ = store.clear();
        }
    }
    let code = match printed {
        exit::CLEAN if stopped => exit::STOPPED_AT_BUDGET,
        exit::CLEAN => report::exit_code(&report),
        failed => failed,
    };
    // Freeing thousands of file reports one by one only delays the exit.
    std::mem::forget(report);
    Ok(code)
}

/// The report in a text format (JSON is streamed instead).
fn render(
    report: &ScanReport,
    format: Format,
    remote: Option<&RemoteOutput>,
    color: bool,
) -> String {
    match format {
        Format::Human => {
            let mut text = report::human::render(report, &report::human::Palette::new(color));
            if let Some(remote) = remote {
                text.push_str(&remote.summary_line);
                text.push('\n');
            }
            text
        }
        Format::Json => report::json::render_with(report, remote.map(|r| r.json.clone())),
        Format::Sarif => report::sarif::render(report),
        Format::Github => report::github::render(report),
    }
}
