//! `--org`/`--repo`/`--enterprise`/`--github-url` and the GitHub App: the arguments naming what
//! to read from GitHub (shared by `scan`, `trust` and `rewrite`), and the handles they build —
//! runtime, identity, policy, a progress bar on a terminal — to read it with through
//! [`crate::fleet`].

use clap::Args;

use super::Error;
use super::app_auth::AppArgs;
use super::progress::Bar;
use crate::fleet::{self, FleetScan};
use crate::github::{self, GitHubError, Policy};
use crate::scan;
use crate::scan::remote::{self, Filters, Target};

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
    pub(crate) fn single_org(&self, command: &str) -> Result<(), Error> {
        if self.is_fleet() {
            return Err(Error::Usage(format!(
                "`{command}` takes one --org at a time (no --enterprise); `scan` and `rewrite` run across organizations"
            )));
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

/// `--org A --org B` / `--enterprise`: every organization through its own connection.
pub(super) fn fetch_fleet(
    args: &RemoteArgs,
    store: Option<&dyn remote::InventoryStore>,
) -> Result<FleetScan, GitHubError> {
    let runtime = args.runtime()?;
    let _entered = runtime.enter();
    let identity = args.app.identity()?;
    let policy = args.policy();
    runtime.block_on(fleet::scan_all(
        &args.github_url,
        &policy,
        &identity,
        args.enterprise.as_deref(),
        &args.org,
        &args.filters(),
        fleet::Hooks {
            progress: &Bar::new(),
            announce: &super::progress::show_estimate,
            store,
        },
    ))
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

/// [`fetch_remote`], keeping what it reads in `store` and resuming from what that holds
/// (`scan --max-requests`).
pub(super) fn fetch_remote_resuming(
    args: &RemoteArgs,
    target: &Target,
    step_records: scan::StepRecords,
    store: Option<&dyn remote::InventoryStore>,
) -> Result<remote::RemoteScan, GitHubError> {
    let runtime = args.runtime()?;
    // octocrab's client spawns its buffer worker on the current runtime.
    let _entered = runtime.enter();
    let identity = args.app.identity()?;
    let filters = Filters {
        step_records,
        ..args.filters()
    };
    runtime.block_on(fleet::scan_target(
        &args.github_url,
        args.policy(),
        &identity,
        target,
        &filters,
        &Bar::new(),
        store,
    ))
}
