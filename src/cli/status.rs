//! `migrate status`: one row per repository of the campaign, reconciled from GitHub and IAM
//! (state, PR, merged, remaining references, key last used, next step) and totals, as a
//! table, JSON or Markdown. Also the arguments and setup every campaign command shares.

use std::collections::BTreeMap;
use std::path::PathBuf;

use clap::{Args, ValueEnum};

use super::app_auth::AppArgs;
use crate::announce::Announcers;
use crate::campaign::reconcile::{self, CampaignError, Reach, Scope, Truth};
use crate::campaign::{Ledger, time};
use crate::github::permissions::Task;
use crate::github::{Connections, GitHubError, Policy};
use crate::iam::keys::IamKeys;
use crate::report::{exit, status};
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
    fn policy(&self) -> Policy {
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
        let policy = args.policy();
        let (targets, opened) = runtime.block_on(async {
            let orgs = match &scope {
                Scope::Orgs { named, enterprise } => {
                    crate::fleet::organizations(
                        &args.github_url,
                        &policy,
                        &identity,
                        enterprise.as_deref(),
                        named,
                    )
                    .await?
                }
                Scope::Repos(_) => Vec::new(),
            };
            let targets = reconcile::targets(&orgs, &scope);
            let owners: Vec<String> = targets
                .iter()
                .map(|t| reconcile::owner_of(t).to_string())
                .collect();
            let opened =
                Connections::open(&args.github_url, &policy, &identity, &owners, task).await?;
            Ok::<_, GitHubError>((targets, opened))
        })?;
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
            let key_work_pending = self
                .ledger
                .journal()?
                .iter()
                .any(|e| e.is_pending() && e.writes_iam());
            if !keymap.is_empty() || key_work_pending {
                return Err(CampaignError::NeedsAws);
            }
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
            };
            let truth = reconcile::gather(reach, &self.ledger, &keymap, iam.as_ref()).await?;
            Ok((truth, iam))
        })
    }
}

#[derive(Clone, Copy, Debug, Default, ValueEnum)]
pub enum Format {
    #[default]
    Table,
    Json,
    /// A table ready to paste into a tracking issue.
    Markdown,
    /// One self-contained page (inline CSS and SVG): totals, burndown, blockers, table.
    Html,
}

#[derive(Args)]
#[command(after_help = "Examples:
  migrate status --org acme
  migrate status --format markdown > status.md
  migrate status --key-map keys.toml --format json
  migrate status --comment --tracking-issue acme/platform
  migrate status --suggest-key-map proposed-keys.toml

Deleting the ledger loses no remote state: the next run rebuilds it from GitHub and IAM.
Exit codes: 0 every repository read, 11 some could not be read (see errors), 1 tool error, 2 usage")]
pub struct StatusArgs {
    #[command(flatten)]
    pub campaign: CampaignArgs,

    /// Map of secrets / repositories to IAM users or access key ids (TOML; see `cleanup --help`).
    /// Remembered in the ledger for later runs.
    #[arg(long, value_name = "FILE")]
    pub key_map: Option<PathBuf>,

    #[arg(long, value_enum, default_value_t)]
    pub format: Format,

    /// For open pull requests: check that each migrated job, each way it runs, would be
    /// allowed to assume the role its workflow names (GetRole, ListOpenIDConnectProviders).
    #[arg(long, conflicts_with = "no_aws")]
    pub preflight: bool,

    /// With --preflight: the OIDC issuer's GitHub host (GHES). Default: the host of --github-url.
    #[arg(long, value_name = "HOST")]
    pub github_host: Option<String>,

    /// With --preflight: the GHEC enterprise slug when the enterprise uses its unique issuer.
    #[arg(long, value_name = "SLUG")]
    pub enterprise_slug: Option<String>,

    /// Write the output to FILE instead of standard output (e.g. the HTML dashboard).
    #[arg(long, value_name = "FILE")]
    pub output: Option<PathBuf>,

    /// Comment on each campaign pull request once per failure class of its failed runs, and
    /// edit that comment on later runs (journaled before it is sent).
    #[arg(long)]
    pub comment: bool,

    /// Keep one issue in OWNER/REPO current with this status and the blockers: created once
    /// (found again by a marker in its body), then edited in place (journaled).
    #[arg(long, value_name = "OWNER/REPO")]
    pub tracking_issue: Option<String>,

    /// Write a proposed key map to FILE for the repositories that hold old secrets without a
    /// mapped key: each used, active IAM key's CloudTrail events (90 days, every enabled
    /// region) placed in the repositories' workflow runs from GitHub's Actions address ranges.
    /// Never acted on: review it and pass it (or your merge of it) as --key-map.
    #[arg(long, value_name = "FILE", conflicts_with = "no_aws")]
    pub suggest_key_map: Option<PathBuf>,

    /// With --suggest-key-map: the regions to read CloudTrail in (comma-separated). Default:
    /// every region enabled in the account (account:ListRegions).
    #[arg(long, value_name = "REGION,...", value_delimiter = ',')]
    pub cloudtrail_regions: Vec<String>,
}

pub fn run(args: StatusArgs) -> u8 {
    if let (Some(out), Some(map)) = (&args.suggest_key_map, &args.key_map)
        && out == map
    {
        eprintln!(
            "error: --suggest-key-map would overwrite the key map {}\nhelp: write the proposal to another file and merge it by hand",
            map.display()
        );
        return exit::USAGE;
    }
    let session = match Session::open(&args.campaign, Task::Status) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
            return exit::TOOL_ERROR;
        }
    };
    let truth = match session.gather(&args.campaign, args.key_map.as_deref()) {
        Ok((mut truth, iam)) => {
            let default_branches: BTreeMap<String, String> = session
                .ledger
                .repos()
                .unwrap_or_default()
                .into_iter()
                .filter_map(|r| r.default_branch.map(|b| (r.repo, b)))
                .collect();
            {
                let _entered = session.runtime.enter();
                let mut errors = Vec::new();
                truth.failures = session.runtime.block_on(reconcile::failures::diagnose(
                    &session.github,
                    iam.as_ref(),
                    &truth.repos,
                    &default_branches,
                    &mut errors,
                ));
                truth.errors.extend(errors);
                reconcile::failures::apply(&mut truth.repos, &truth.failures);
            }
            if args.preflight
                && let Some(iam) = &iam
            {
                let issuer = match preflight_issuer(&args) {
                    Ok(issuer) => issuer,
                    Err(e) => {
                        eprintln!("error: {e}");
                        return exit::USAGE;
                    }
                };
                let _entered = session.runtime.enter();
                let mut errors = Vec::new();
                truth.preflight = session.runtime.block_on(reconcile::preflight::open_pulls(
                    &session.github,
                    iam,
                    &issuer,
                    &truth.repos,
                    &default_branches,
                    &mut errors,
                ));
                truth.errors.extend(errors);
            }
            if let (Some(path), Some(iam)) = (&args.suggest_key_map, &iam)
                && let Err(e) =
                    suggest_key_map(&session, iam, &truth, path, &args.cloudtrail_regions)
            {
                eprintln!("error: {e}");
                return exit::TOOL_ERROR;
            }
            truth
        }
        Err(e) => {
            eprintln!("error: {e}");
            return exit::TOOL_ERROR;
        }
    };

    report_resolved(&truth);
    if matches!(args.format, Format::Table) {
        eprintln!(
            "GitHub: {} requests, {} answered 304 Not Modified (free against the rate limit)",
            truth.requests, truth.not_modified
        );
    }
    let point = status::dashboard::progress_point(&truth, time::now());
    if let Err(e) = session.ledger.record_progress(&point) {
        truth_note(&format!("the progress history could not be recorded: {e}"));
    }
    let text = match args.format {
        Format::Table => status::table::render(&truth),
        Format::Markdown => status::markdown::render(&truth),
        Format::Html => status::dashboard::model(
            &truth,
            session.ledger.progress().unwrap_or_default(),
            time::now(),
        )
        .render(),
        Format::Json => status::json::render(&truth),
    };
    if (args.comment || args.tracking_issue.is_some())
        && let Err(e) = announce(&args, &session, &truth)
    {
        eprintln!("error: {e}");
        return exit::TOOL_ERROR;
    }
    let printed = match &args.output {
        Some(path) => match std::fs::write(path, &text) {
            Ok(()) => {
                eprintln!("wrote {}", path.display());
                exit::CLEAN
            }
            Err(e) => {
                eprintln!("error: cannot write {}: {e}", path.display());
                return exit::TOOL_ERROR;
            }
        },
        None => super::print(&text),
    };
    match printed {
        exit::CLEAN if truth.errors.is_empty() => exit::CLEAN,
        // Some repositories could not be read; the rest is reported.
        exit::CLEAN => exit::ERRORS,
        failed => failed,
    }
}

/// `--suggest-key-map FILE`: the proposal, written; one line per key on stderr (masked).
fn suggest_key_map(
    session: &Session,
    iam: &IamKeys,
    truth: &Truth,
    path: &std::path::Path,
    regions: &[String],
) -> Result<(), CampaignError> {
    let _entered = session.runtime.enter();
    let proposal = session.runtime.block_on(async {
        let trail = crate::cloudtrail::CloudTrail::connect(regions).await?;
        reconcile::propose_key_map(&session.github, iam, &trail, truth).await
    })?;
    for line in crate::campaign::attribution::summary(&proposal.attributions) {
        eprintln!("key evidence: {line}");
    }
    for caveat in &proposal.provenance.caveats {
        eprintln!("key evidence: caveat: {caveat}");
    }
    std::fs::write(path, proposal.key_map()).map_err(|source| {
        CampaignError::KeyMap(crate::campaign::keymap::KeyMapError::Write {
            path: path.display().to_string(),
            source,
        })
    })?;
    eprintln!(
        "wrote the proposed key map {} (review it; migrate acts only on --key-map)",
        path.display()
    );
    Ok(())
}

/// `--comment` and `--tracking-issue`: the writes, each journaled; one line each on stderr.
/// Each goes through the connection of the owner it writes to (with a GitHub App, that
/// owner's installation, checked first for what the write needs).
fn announce(args: &StatusArgs, session: &Session, truth: &Truth) -> Result<(), GitHubError> {
    let _entered = session.runtime.enter();
    let identity = args.campaign.app.identity()?;
    let policy = args.campaign.policy();
    let url = &args.campaign.github_url;
    let mut lines = Vec::new();
    let writers = session.runtime.block_on(async {
        let mut writers = Announcers::default();
        if args.comment {
            let mut owners: Vec<String> = truth
                .repos
                .iter()
                .filter_map(|r| r.facts.repo.split_once('/').map(|(o, _)| o.to_string()))
                .collect();
            owners.sort_unstable();
            owners.dedup();
            let opened =
                Connections::open_writers(url, &policy, &identity, &owners, Task::Comment).await?;
            for (owner, e) in &opened.unreachable {
                lines.push(format!("{owner}: not commented: {e}"));
            }
            writers.comments = Some(opened.connections);
        }
        if let Some((owner, _)) = args.tracking_issue.as_ref().and_then(|s| s.split_once('/')) {
            let owners = [owner.to_string()];
            let opened =
                Connections::open_writers(url, &policy, &identity, &owners, Task::TrackingIssue)
                    .await?;
            if let Some((_, e)) = opened.unreachable.into_iter().next() {
                return Err(e);
            }
            writers.tracking = Some(opened.connections);
        }
        Ok::<_, GitHubError>(writers)
    })?;
    lines.extend(session.runtime.block_on(async {
        crate::announce::settle(&writers, &session.ledger).await;
        let mut lines = Vec::new();
        if args.comment {
            lines.extend(
                crate::announce::comment_failures(
                    &writers,
                    &session.ledger,
                    &truth.repos,
                    &truth.failures,
                )
                .await,
            );
        }
        if let Some(slug) = &args.tracking_issue {
            let body = crate::campaign::announce::tracking_body(
                &status::markdown::render(truth),
                &truth.failures,
            );
            lines.push(
                crate::announce::tracking_issue(&writers, &session.ledger, slug, &body).await,
            );
        }
        lines
    }));
    for line in lines {
        eprintln!("{line}");
    }
    Ok(())
}

fn truth_note(note: &str) {
    eprintln!("note: {note}");
}

/// The issuer whose provider and condition keys `--preflight` checks.
fn preflight_issuer(args: &StatusArgs) -> Result<crate::trust::Issuer, String> {
    let host = match &args.github_host {
        Some(host) => Some(host.clone()),
        None => crate::github::Endpoint::parse(&args.campaign.github_url)
            .map(|e| e.host)
            .ok(),
    };
    crate::trust::Issuer::new(host.as_deref(), args.enterprise_slug.as_deref())
        .map_err(|e| e.to_string())
}

/// Tells what pending journal entries turned out to be.
pub fn report_resolved(truth: &Truth) {
    for line in status::resolved(truth) {
        eprintln!("{line}");
    }
}
