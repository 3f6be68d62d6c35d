//! `migrate scan`: find static AWS key material in workflows and composite actions, local or on
//! GitHub (read through [`super::remote_args`]), print it in the chosen format, and exit with
//! what was found; with `--max-requests`, keep a stopped scan's reads in the campaign ledger.

use std::path::PathBuf;

use super::Error;
use super::remote_args::{fetch_fleet, fetch_remote_resuming};
use crate::campaign::resume::{self, ResumeStore};
use crate::github;
use crate::report::remote::RemoteOutput;
use crate::report::{self, exit};
use crate::scan::remote;
use crate::scan::{self, ScanReport};

mod args;
pub use args::*;

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
