//! The setup every campaign command shares (`status`, `cleanup`): the arguments that name the
//! ledger, the repositories and the way to GitHub, and the open [`Session`] they give.

use std::path::PathBuf;

use clap::Args;

use super::app_auth::AppArgs;
use crate::campaign::Ledger;
use crate::campaign::reconcile::{self, CampaignError, Reach, Truth};
use crate::github::permissions::Task;
use crate::github::{Connections, GitHubError, Policy};
use crate::iam::keys::IamKeys;
use crate::report::status;
use crate::scan::remote::Target;

/// What every campaign command takes: the ledger, which repositories, and how to reach GitHub.
#[derive(Args, Clone)]
pub struct CampaignArgs {
    /// The campaign ledger (SQLite); created if missing.
    #[arg(long, value_name = "FILE", default_value = crate::campaign::DEFAULT_LEDGER)]
    pub campaign: PathBuf,

    /// Every repository of this organization (needed to handle organization secrets);
    /// repeatable: one campaign across organizations. Default: what the ledger recorded last
    /// time.
    #[arg(long)]
    pub org: Vec<String>,

    /// Every organization of this enterprise, listed again on each run (needs a token that
    /// can see the enterprise; with a GitHub App, repeat --org instead). Combines with --org.
    #[arg(long, value_name = "SLUG")]
    pub enterprise: Option<String>,

    /// This repository (`OWNER/REPO`); repeatable.
    #[arg(long, value_name = "OWNER/REPO", conflicts_with_all = ["org", "enterprise"])]
    pub repo: Vec<String>,

    /// API root: https://api.github.com, or a GitHub Enterprise Server URL.
    #[arg(
        long,
        env = "MIGRATE_GITHUB_URL",
        default_value = "https://api.github.com"
    )]
    pub github_url: String,

    /// Longest wait for a rate-limit reset before giving up, in seconds.
    #[arg(long, default_value_t = 900)]
    pub max_rate_wait: u64,

    /// First retry backoff in milliseconds (doubles per attempt).
    #[arg(long, default_value_t = 1000, hide = true)]
    pub retry_base_ms: u64,

    /// Pause between GitHub writes in milliseconds (GitHub asks for at least a second).
    #[arg(long, default_value_t = 1000, hide = true)]
    pub write_interval_ms: u64,

    /// GitHub only: do not ask IAM for roles and keys (the ledger's last observation of
    /// roles is shown). Refused when the key map names keys.
    #[arg(long)]
    pub no_aws: bool,

    #[command(flatten)]
    pub(crate) app: AppArgs,
}

impl CampaignArgs {
    pub(super) fn policy(&self) -> Policy {
        Policy {
            base_backoff: std::time::Duration::from_millis(self.retry_base_ms),
            max_wait: std::time::Duration::from_secs(self.max_rate_wait),
            min_write_interval: std::time::Duration::from_millis(self.write_interval_ms),
            ..Policy::default()
        }
    }
}

/// An open campaign: ledger, runtime (entered, as octocrab needs), GitHub connections (one per
/// organization for a GitHub App) and what this run reads through them.
pub struct Session {
    pub ledger: Ledger,
    pub runtime: tokio::runtime::Runtime,
    pub github: Connections,
    /// One per organization, or the `--repo`s of one owner.
    targets: Vec<Target>,
    /// Owners no connection could be opened to, with why.
    unreachable: Vec<(String, GitHubError)>,
}

impl Session {
    /// `task`: what the command will do on GitHub (a GitHub App's installation must allow it).
    pub fn open(args: &CampaignArgs, task: Task) -> Result<Self, CampaignError> {
        let ledger = Ledger::open(&args.campaign)?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .map_err(CampaignError::Runtime)?;
        // octocrab's client spawns its buffer worker on the current runtime.
        let _entered = runtime.enter();
        let identity = args.app.identity()?;
        let scope = reconcile::scope(&ledger, &args.org, args.enterprise.as_deref(), &args.repo)?;
        let (targets, opened) = runtime.block_on(reconcile::reach(
            &args.github_url,
            &args.policy(),
            &identity,
            &scope,
            task,
        ))?;
        let mut unreachable = opened.unreachable;
        if task == Task::Cleanup && !unreachable.is_empty() {
            // Keys and secrets can be shared across organizations: cleanup acts on a whole
            // picture or not at all.
            return Err(unreachable.swap_remove(0).1.into());
        }
        drop(_entered);
        Ok(Self {
            ledger,
            runtime,
            github: opened.connections,
            targets,
            unreachable,
        })
    }

    /// Reconciles with GitHub and (when keys are mapped or pending) IAM.
    pub fn gather(
        &self,
        args: &CampaignArgs,
        key_map: Option<&std::path::Path>,
    ) -> Result<(Truth, Option<IamKeys>), CampaignError> {
        let keymap = reconcile::key_map(&self.ledger, key_map)?;
        if args.no_aws {
            reconcile::allow_no_aws(&self.ledger, &keymap)?;
        }
        let needs_iam = !args.no_aws;
        let _entered = self.runtime.enter();
        self.runtime.block_on(async {
            let iam = if needs_iam {
                Some(IamKeys::connect().await)
            } else {
                None
            };
            let reach = Reach {
                connections: &self.github,
                targets: &self.targets,
                unreachable: &self.unreachable,
                announce: &super::progress::show_estimate,
            };
            let truth = reconcile::gather(reach, &self.ledger, &keymap, iam.as_ref()).await?;
            Ok((truth, iam))
        })
    }
}

/// Tells what pending journal entries turned out to be.
pub fn report_resolved(truth: &Truth) {
    for line in status::resolved(truth) {
        eprintln!("{line}");
    }
}
