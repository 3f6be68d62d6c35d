//! `migrate scan`: find static AWS key material in local workflows and composite actions.

use std::path::PathBuf;

use clap::{Args, ValueEnum};

use super::app_auth::{AppArgs, target_org};
use super::{ColorChoice, Error};
use crate::campaign::resume::ResumeStore;
use crate::github::permissions::Task;
use crate::github::{self, GitHubError, Policy};
use crate::report::{self, exit};
use crate::scan::remote::{self, Filters, Target};
use crate::scan::{self, ScanReport};
use crate::{budget, fleet};

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
        let mut orgs = remote.org.clone();
        orgs.sort();
        let mut repos = remote.repo.clone();
        repos.sort();
        let target = format!(
            "scan org={} repo={} enterprise={}",
            orgs.join(","),
            repos.join(","),
            remote.enterprise.clone().unwrap_or_default()
        );
        Ok(Some(ResumeStore::open(&path, target)?))
    }
}

pub fn run(mut args: ScanArgs) -> Result<u8, Error> {
    let store = args.resume_store()?;
    let budget = args.max_requests.map(github::RequestBudget::new);
    args.remote.budget = budget.clone();
    let store_ref = store.as_ref().map(|s| s as &dyn remote::InventoryStore);
    let fleet = if args.remote.is_fleet() {
        Some(scan_fleet(&args.remote, store_ref)?)
    } else {
        None
    };
    let (report, remote) = match args.remote.target() {
        _ if fleet.is_some() => {
            let (report, remote) = fleet.expect("checked");
            (report, Some(remote))
        }
        Some(target) => {
            let (report, remote) = scan_remote(&args.remote, &target, store_ref)?;
            (report, Some(remote))
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

/// What a GitHub scan adds to the local report.
struct RemoteOutput {
    /// Extra top-level JSON fields: `repositories`, `organization`, `github`.
    json: serde_json::Value,
    summary_line: String,
}

/// Reading from GitHub instead of local paths.
#[derive(Args, Clone)]
#[command(next_help_heading = "GitHub")]
pub(crate) struct RemoteArgs {
    /// Every repository of this organization (archived ones are skipped). Repeat it for
    /// several organizations (`scan`, `rewrite`): each gets its own token and governor, all in
    /// parallel.
    #[arg(long, value_name = "ORG")]
    pub(crate) org: Vec<String>,

    /// Scan every organization of this enterprise (listed through GraphQL; needs a token
    /// that can see the enterprise). Combines with --org.
    #[arg(long, value_name = "SLUG", conflicts_with = "repo")]
    pub(crate) enterprise: Option<String>,

    /// The run's request budget (`scan --max-requests`), shared by every connection.
    #[arg(skip)]
    pub(crate) budget: Option<std::sync::Arc<github::governor::RequestBudget>>,

    /// Scan this repository (`OWNER/REPO`); repeatable.
    #[arg(long, value_name = "OWNER/REPO")]
    pub(crate) repo: Vec<String>,

    /// API root: https://api.github.com, or a GitHub Enterprise Server URL
    /// (REST at /api/v3, GraphQL at /api/graphql).
    #[arg(
        long,
        env = "MIGRATE_GITHUB_URL",
        default_value = "https://api.github.com"
    )]
    pub(crate) github_url: String,

    /// With --org: also scan forks.
    #[arg(long)]
    pub(crate) include_forks: bool,

    /// With --org: only repositories with one of these topics.
    #[arg(long)]
    pub(crate) topic: Vec<String>,

    /// With --org: only repositories whose name matches this glob (`*`, `?`).
    #[arg(long, value_name = "GLOB")]
    pub(crate) name: Option<String>,

    /// Inventory secrets of every repository, not only those with findings.
    #[arg(long)]
    pub(crate) all_secrets: bool,

    /// Longest wait for a rate-limit reset before giving up, in seconds.
    #[arg(long, default_value_t = 900)]
    pub(crate) max_rate_wait: u64,

    /// Concurrent read requests (GitHub allows up to 100).
    #[arg(long, default_value_t = 16, hide = true)]
    pub(crate) read_concurrency: usize,

    /// First retry backoff in milliseconds (doubles per attempt).
    #[arg(long, default_value_t = 1000, hide = true)]
    pub(crate) retry_base_ms: u64,

    /// Minimum gap between write requests in milliseconds (GitHub asks for at least 1 s).
    #[arg(long, default_value_t = 1000, hide = true)]
    pub(crate) min_write_interval_ms: u64,

    #[command(flatten)]
    pub(crate) app: AppArgs,
}

impl RemoteArgs {
    /// What to read from GitHub, or `None` for local paths.
    pub(crate) fn target(&self) -> Option<Target> {
        match (self.org.first(), self.repo.is_empty()) {
            (Some(org), _) => Some(Target::Org(org.clone())),
            (None, false) => Some(Target::Repos(self.repo.clone())),
            (None, true) => None,
        }
    }

    /// Several organizations (repeated --org, or --enterprise): one campaign across them.
    pub(crate) fn is_fleet(&self) -> bool {
        self.org.len() > 1 || self.enterprise.is_some()
    }

    /// For commands that take one organization: refuses several, saying which command can.
    pub(crate) fn single_org(&self, command: &str) -> Result<(), String> {
        if self.is_fleet() {
            return Err(format!(
                "`{command}` takes one --org at a time (no --enterprise); `scan` and `rewrite` run across organizations"
            ));
        }
        Ok(())
    }

    pub(crate) fn filters(&self) -> Filters {
        Filters {
            include_forks: self.include_forks,
            topics: self.topic.clone(),
            name: self.name.clone(),
            all_secrets: self.all_secrets,
            skip_sub_templates: false,
            step_records: scan::StepRecords::Skip,
        }
    }

    /// A multi-threaded runtime for GitHub calls.
    pub(crate) fn runtime(&self) -> Result<tokio::runtime::Runtime, GitHubError> {
        tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .map_err(|e| GitHubError::BadResponse {
                what: "runtime".into(),
                message: e.to_string(),
            })
    }

    pub(crate) fn policy(&self) -> Policy {
        Policy {
            read_concurrency: self.read_concurrency,
            base_backoff: std::time::Duration::from_millis(self.retry_base_ms),
            max_wait: std::time::Duration::from_secs(self.max_rate_wait),
            min_write_interval: std::time::Duration::from_millis(self.min_write_interval_ms),
            budget: self.budget.clone(),
            ..Policy::default()
        }
    }
}

/// Progress on stderr, only on a terminal.
pub(crate) struct Bar(pub(crate) Option<indicatif::ProgressBar>);

/// A repositories-done bar on stderr when it is a terminal; nothing otherwise.
pub(crate) fn progress_bar() -> Option<indicatif::ProgressBar> {
    use std::io::IsTerminal;
    std::io::stderr().is_terminal().then(|| {
        let bar = indicatif::ProgressBar::new(0);
        bar.set_style(
            indicatif::ProgressStyle::with_template("{spinner} repositories {pos}/{len} {msg}")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        bar
    })
}

impl remote::Progress for Bar {
    fn estimated(&self, estimate: &budget::Estimate) {
        eprintln!("estimate: {}", budget::render(estimate));
    }

    fn discovered(&self, done: usize, total: usize, requests: u64) {
        if let Some(bar) = &self.0 {
            bar.set_length(total.max(done) as u64);
            bar.set_position(done as u64);
            bar.set_message(format!("{requests} requests"));
        }
    }

    fn finished(&self) {
        if let Some(bar) = &self.0 {
            bar.finish_and_clear();
        }
    }
}

fn scan_remote(
    args: &RemoteArgs,
    target: &Target,
    store: Option<&dyn remote::InventoryStore>,
) -> Result<(ScanReport, RemoteOutput), GitHubError> {
    let done = fetch_remote_resuming(args, target, scan::StepRecords::Skip, store)?;
    let scanned = done
        .repositories
        .iter()
        .filter(|r| r.outcome == "scanned")
        .count();
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
    Ok((done.report, RemoteOutput { json, summary_line }))
}

/// `scan --org A --org B` / `--enterprise`: every organization through its own connection.
fn scan_fleet(
    args: &RemoteArgs,
    store: Option<&dyn remote::InventoryStore>,
) -> Result<(ScanReport, RemoteOutput), GitHubError> {
    let runtime = args.runtime()?;
    let _entered = runtime.enter();
    let identity = args.app.identity()?;
    let policy = args.policy();
    let done = runtime.block_on(async {
        let orgs = fleet::organizations(
            &args.github_url,
            &policy,
            &identity,
            args.enterprise.as_deref(),
            &args.org,
        )
        .await?;
        fleet::scan_orgs(
            &args.github_url,
            &policy,
            &identity,
            &orgs,
            &args.filters(),
            fleet::Hooks {
                progress: &Bar(progress_bar()),
                announce: &|estimate| eprintln!("estimate: {}", budget::render(estimate)),
                store,
            },
        )
        .await
    })?;
    let repositories = &done.scan.repositories;
    let scanned = repositories
        .iter()
        .filter(|r| r.outcome == "scanned")
        .count();
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
    Ok((done.scan.report, RemoteOutput { json, summary_line }))
}

/// Discovers and scans the target on GitHub (shared by `scan` and `trust`), with a progress
/// bar on a terminal.
pub(crate) fn fetch_remote(
    args: &RemoteArgs,
    target: &Target,
    step_records: scan::StepRecords,
) -> Result<remote::RemoteScan, GitHubError> {
    fetch_remote_resuming(args, target, step_records, None)
}

fn fetch_remote_resuming(
    args: &RemoteArgs,
    target: &Target,
    step_records: scan::StepRecords,
    store: Option<&dyn remote::InventoryStore>,
) -> Result<remote::RemoteScan, GitHubError> {
    let runtime = args.runtime()?;
    // octocrab's client spawns its buffer worker on the current runtime.
    let _entered = runtime.enter();
    let identity = args.app.identity()?;
    runtime.block_on(async {
        let reader = github::connect_reader_as(
            &args.github_url,
            args.policy(),
            &identity,
            &target_org(target, &identity)?,
            Task::Scan,
        )
        .await?;
        let filters = Filters {
            step_records,
            ..args.filters()
        };
        remote::scan_resuming(&reader, target, &filters, &Bar(progress_bar()), store).await
    })
}
