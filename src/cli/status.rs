//! `migrate status`: one row per repository of the campaign, reconciled from GitHub and IAM
//! (state, PR, merged, remaining references, key last used, next step) and totals, as a
//! table, JSON or Markdown. Also the arguments and setup every campaign command shares.

use std::collections::BTreeMap;
use std::path::PathBuf;

use clap::{Args, ValueEnum};
use serde_json::json;

use super::app_auth::AppArgs;
use crate::announce::Announcers;
use crate::campaign::reconcile::{self, CampaignError, Reach, RepoView, Scope, Truth};
use crate::campaign::state::RepoState;
use crate::campaign::{Ledger, time};
use crate::detect::aws_key_literal::mask_key_id;
use crate::github::permissions::Task;
use crate::github::{Connections, GitHubError, Policy};
use crate::iam::keys::IamKeys;
use crate::report::exit;
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
    let point = progress_point(&truth);
    if let Err(e) = session.ledger.record_progress(&point) {
        truth_note(&format!("the progress history could not be recorded: {e}"));
    }
    let text = match args.format {
        Format::Table => table(&truth),
        Format::Markdown => markdown(&truth),
        Format::Html => dashboard(&truth, &session.ledger).render(),
        Format::Json => serde_json::to_string_pretty(&to_json(&truth)).unwrap_or_default() + "\n",
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
            let body = crate::campaign::announce::tracking_body(&markdown(truth), &truth.failures);
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

/// This run's size, for the burndown.
fn progress_point(truth: &Truth) -> crate::campaign::ledger::ProgressPoint {
    crate::campaign::ledger::ProgressPoint {
        at: time::now(),
        repos: truth.repos.len(),
        repos_with_keys: truth
            .repos
            .iter()
            .filter(|v| v.observed.old_secrets_present > 0 || !v.observed.references.is_empty())
            .count(),
        active_keys: truth.keys.values().filter(|k| k.status.is_active()).count(),
    }
}

/// The HTML dashboard's content: this run and the ledger's history.
fn dashboard(truth: &Truth, ledger: &Ledger) -> crate::campaign::dashboard::Dashboard {
    use crate::campaign::dashboard::{Dashboard, DashboardRow};
    let mut blockers: BTreeMap<crate::campaign::diagnose::FailureClass, Vec<String>> =
        BTreeMap::new();
    for (repo, failures) in &truth.failures {
        for f in failures {
            let repos = blockers.entry(f.diagnosis.class).or_default();
            if !repos.contains(repo) {
                repos.push(repo.clone());
            }
        }
    }
    let rows = truth
        .repos
        .iter()
        .map(|v| {
            let r = row(v, truth);
            DashboardRow {
                repo: v.facts.repo.clone(),
                state: v.state.as_str().to_string(),
                pr: v.facts.pull.as_ref().map(|p| (p.number, p.url.clone())),
                roles: v.observed.roles.clone(),
                keys: v
                    .facts
                    .keys
                    .iter()
                    .map(|(id, _)| format!("{} {}", mask_key_id(id), r.key_last_used))
                    .collect(),
                next: v.next.clone(),
            }
        })
        .collect();
    Dashboard {
        title: match truth.orgs().as_slice() {
            [] => "Static AWS keys → OIDC".to_string(),
            [org] => format!("{org}: static AWS keys → OIDC"),
            orgs => format!("{} organizations: static AWS keys → OIDC", orgs.len()),
        },
        generated_at: time::now(),
        totals: totals(truth),
        history: ledger.progress().unwrap_or_default(),
        blockers,
        rows,
    }
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
    for (entry, result) in &truth.resolved {
        let target = if entry.action.is_key_write() {
            mask_key_id(&entry.target)
        } else {
            entry.target.clone()
        };
        eprintln!(
            "journal: {} {} {} was interrupted; remote state shows it {}",
            entry.repo,
            entry.action,
            target,
            match result {
                crate::campaign::JournalResult::Observed => "took effect",
                _ => "did not happen",
            }
        );
    }
}

struct Row {
    repo: String,
    state: String,
    pr: String,
    merged: String,
    references: String,
    key_last_used: String,
    next: String,
}

fn row(view: &RepoView, truth: &Truth) -> Row {
    let pull = view.facts.pull.as_ref();
    let keys: Vec<_> = view
        .facts
        .keys
        .iter()
        .filter_map(|(id, _)| truth.keys.get(id))
        .collect();
    let last = keys
        .iter()
        .filter_map(|k| k.last_used.map(|t| (t, *k)))
        .max_by_key(|(t, _)| *t);
    let key_last_used = match (keys.is_empty(), last) {
        (true, _) => "-".to_string(),
        (false, None) => "never".to_string(),
        (false, Some((t, k))) => format!(
            "{} {} {}",
            time::format_date(t),
            k.service.as_deref().unwrap_or("N/A"),
            k.region.as_deref().unwrap_or("N/A")
        ),
    };
    Row {
        repo: view.facts.repo.clone(),
        state: view.state.as_str().to_string(),
        pr: pull.map_or("-".into(), |p| format!("#{}", p.number)),
        merged: match pull {
            Some(p) if p.merged => p.merged_at.map_or("yes".into(), time::format_date),
            Some(_) => "no".into(),
            None => "-".into(),
        },
        references: if view.observed.references.is_empty() {
            "0".into()
        } else {
            view.observed.references.join(",")
        },
        key_last_used,
        next: view.next.clone(),
    }
}

fn totals(truth: &Truth) -> BTreeMap<&'static str, usize> {
    let mut out = BTreeMap::new();
    for state in RepoState::ALL {
        let n = truth.repos.iter().filter(|r| r.state == state).count();
        if n > 0 {
            out.insert(state.as_str(), n);
        }
    }
    out
}

/// The owner part of `OWNER/REPO`.
fn organization_of(slug: &str) -> &str {
    slug.split_once('/').map_or(slug, |(owner, _)| owner)
}

/// Per organization: how many repositories are in each state (campaigns across organizations).
fn by_organization(truth: &Truth) -> BTreeMap<&str, BTreeMap<&'static str, usize>> {
    let mut out: BTreeMap<&str, BTreeMap<&'static str, usize>> = BTreeMap::new();
    for view in &truth.repos {
        *out.entry(organization_of(&view.facts.repo))
            .or_default()
            .entry(view.state.as_str())
            .or_default() += 1;
    }
    out
}

/// One totals line per organization, when the campaign spans several.
fn organization_lines(truth: &Truth) -> String {
    let groups = by_organization(truth);
    if groups.len() < 2 {
        return String::new();
    }
    let mut out = String::new();
    for (org, states) in groups {
        let count: usize = states.values().sum();
        let parts: Vec<String> = states.iter().map(|(s, n)| format!("{n} {s}")).collect();
        out.push_str(&format!(
            "  {org}: {count} repositories: {}\n",
            parts.join(", ")
        ));
    }
    out
}

fn totals_line(truth: &Truth) -> String {
    let parts: Vec<String> = totals(truth)
        .iter()
        .map(|(s, n)| format!("{n} {s}"))
        .collect();
    format!("{} repositories: {}", truth.repos.len(), parts.join(", "))
}

const HEADERS: [&str; 7] = [
    "REPOSITORY",
    "STATE",
    "PR",
    "MERGED",
    "REFERENCES",
    "KEY LAST USED",
    "NEXT STEP",
];

fn cells(r: &Row) -> [&str; 7] {
    [
        &r.repo,
        &r.state,
        &r.pr,
        &r.merged,
        &r.references,
        &r.key_last_used,
        &r.next,
    ]
}

fn table(truth: &Truth) -> String {
    let rows: Vec<Row> = truth.repos.iter().map(|v| row(v, truth)).collect();
    let mut widths = HEADERS.map(str::len);
    for r in &rows {
        for (w, c) in widths.iter_mut().zip(cells(r)) {
            *w = (*w).max(c.chars().count());
        }
    }
    let line = |cols: [&str; 7]| -> String {
        let mut s = String::new();
        for (i, (c, w)) in cols.iter().zip(widths).enumerate() {
            if i + 1 == cols.len() {
                s.push_str(c);
            } else {
                s.push_str(&format!("{c:<w$}  "));
            }
        }
        s.trim_end().to_string() + "\n"
    };
    let mut out = line(HEADERS);
    for r in &rows {
        out.push_str(&line(cells(r)));
    }
    out.push_str(&format!("\n{}\n", totals_line(truth)));
    out.push_str(&organization_lines(truth));
    for (repo, failures) in &truth.failures {
        out.push_str(&format!("\nfailing {repo}:\n"));
        for f in failures {
            out.push_str(&format!(
                "  {} {}: {} — {}\n    {}{}\n",
                f.workflow,
                f.job.as_deref().unwrap_or("-"),
                f.diagnosis.class.as_str(),
                f.diagnosis.fix,
                f.run_url,
                f.sub
                    .as_deref()
                    .map(|s| format!(" (presented sub `{s}`)"))
                    .unwrap_or_default()
            ));
            if !f.allowed_subs.is_empty() {
                out.push_str(&format!(
                    "    the role allows: {}\n",
                    f.allowed_subs
                        .iter()
                        .map(|s| format!("`{s}`"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ));
            }
        }
    }
    for (repo, rows) in &truth.preflight {
        let denied: Vec<_> = rows.iter().filter(|r| !r.check.passes()).collect();
        out.push_str(&format!(
            "\npre-flight {repo}: {} of {} ways would not be allowed to assume the role\n",
            denied.len(),
            rows.len()
        ));
        for r in denied {
            out.push_str(&format!(
                "  {}: {} [{}] sub `{}`: {}\n",
                r.path,
                r.job,
                r.way,
                r.sub,
                r.check.summary()
            ));
        }
    }
    append_notes(&mut out, truth, "");
    out
}

fn markdown(truth: &Truth) -> String {
    let mut out = format!("| {} |\n", HEADERS.join(" | "));
    out.push_str(&format!("|{}\n", "---|".repeat(HEADERS.len())));
    for v in &truth.repos {
        let r = row(v, truth);
        let mut c = cells(&r).map(|c| c.replace('|', "\\|"));
        if let Some(p) = v.facts.pull.as_ref().filter(|p| !p.url.is_empty()) {
            c[2] = format!("[#{}]({})", p.number, p.url);
        }
        out.push_str(&format!("| {} |\n", c.join(" | ")));
    }
    out.push_str(&format!("\n**{}**\n", totals_line(truth)));
    for (repo, rows) in &truth.preflight {
        out.push_str(&format!("\n#### Pre-flight trust check: {repo}\n\n"));
        out.push_str(&crate::trust::preflight::markdown(rows));
    }
    append_notes(&mut out, truth, "- ");
    out
}

fn append_notes(out: &mut String, truth: &Truth, bullet: &str) {
    let suggestions = suggestions(truth, bullet);
    if !suggestions.is_empty() {
        out.push('\n');
        out.push_str(&suggestions);
    }
    for (title, items) in [("notes", &truth.notes), ("errors", &truth.errors)] {
        if !items.is_empty() {
            out.push_str(&format!("\n{title}:\n"));
            for item in items {
                out.push_str(&format!("{bullet}  {item}\n"));
            }
        }
    }
}

/// The key-map suggestions under their heading (empty when there are none); `cleanup`
/// shows them too.
pub fn suggestions(truth: &Truth, bullet: &str) -> String {
    if truth.suggestions.is_empty() {
        return String::new();
    }
    let mut out = String::from("suggestions (never acted on; confirm them in --key-map):\n");
    for s in &truth.suggestions {
        out.push_str(&format!(
            "{bullet}  {} -> IAM user {} ({})\n",
            s.repo, s.user, s.why
        ));
    }
    out
}

fn to_json(truth: &Truth) -> serde_json::Value {
    let repos: Vec<_> = truth
        .repos
        .iter()
        .map(|v| {
            let keys: Vec<_> = v
                .facts
                .keys
                .iter()
                .filter_map(|(id, source)| truth.keys.get(id).map(|k| (k, source)))
                .map(|(k, source)| {
                    json!({
                        "access_key_id": mask_key_id(&k.id), "user": k.user, "status": k.status,
                        "last_used": k.last_used.map(time::format), "service": k.service,
                        "region": k.region, "mapped_by": source,
                    })
                })
                .collect();
            json!({
                "repository": v.facts.repo,
                "organization": organization_of(&v.facts.repo),
                "state": v.state,
                "pull_request": v.facts.pull.as_ref().map(|p| json!({
                    "number": p.number, "url": p.url, "state": p.state, "merged": p.merged,
                    "merged_at": p.merged_at.map(time::format), "head": p.head,
                })),
                "findings": v.observed.findings,
                "remaining_references": v.observed.references,
                "old_secrets_present": v.observed.old_secrets_present,
                "roles": v.observed.roles,
                "verified": v.observed.verified.as_ref().map(|r| json!({
                    "workflow": r.workflow, "run_url": r.run_url, "run_at": time::format(r.run_at),
                })),
                "keys": keys,
                "preflight": truth.preflight.get(&v.facts.repo),
                "failures": truth.failures.get(&v.facts.repo),
                "next_step": v.next,
            })
        })
        .collect();
    json!({
        "version": 1,
        // The one organization scanned whole (kept for readers of single-organization runs);
        // every one of them in `organizations`.
        "organization": match truth.orgs().as_slice() {
            [org] => Some(*org),
            _ => None,
        },
        "organizations": truth.orgs(),
        "repositories": repos,
        "totals": totals(truth),
        "by_organization": by_organization(truth),
        "suggestions": truth.suggestions.iter().map(|s| json!({"repository": s.repo, "user": s.user, "why": s.why})).collect::<Vec<_>>(),
        "errors": truth.errors,
        "notes": truth.notes,
        "github_requests": {"total": truth.requests, "not_modified": truth.not_modified},
    })
}

/// Each format's output for one campaign, byte for byte: readers parse the JSON and the tables
/// end up in issues, so a change here must be deliberate.
#[cfg(test)]
mod tests {
    use super::*;
    use crate::campaign::cleanup::{KeyFacts, RepoFacts};
    use crate::campaign::diagnose::{Diagnosis, FailureClass};
    use crate::campaign::key_status::KeyStatus;
    use crate::campaign::keymap::Suggestion;
    use crate::campaign::reconcile::failures::Failure;
    use crate::campaign::state::{Observed, PullFacts, Verification};
    use crate::trust::preflight::{Check, Row as PreflightRow};

    /// One organization: a merged, verified repository with a key, a failure and a pre-flight
    /// row, and one with nothing (the `null`s).
    fn truth() -> Truth {
        let key = "AKIAIOSFODNN7EXAMPLE".to_string();
        let api = RepoView {
            facts: RepoFacts {
                repo: "acme/api".into(),
                pull: Some(PullFacts {
                    number: 7,
                    url: "https://github.com/acme/api/pull/7".into(),
                    state: "closed".into(),
                    merged: true,
                    merged_at: Some(1_764_000_000),
                    head: "migrate/oidc".into(),
                    files: vec![".github/workflows/deploy.yml".into()],
                }),
                keys: vec![(key.clone(), "repos".into())],
                ..RepoFacts::default()
            },
            observed: Observed {
                findings: 2,
                references: vec!["AWS_ACCESS_KEY_ID".into(), "AWS_SECRET_ACCESS_KEY".into()],
                roles: vec!["arn:aws:iam::123456789012:role/gha-api".into()],
                verified: Some(Verification {
                    repo: "acme/api".into(),
                    merged_at: 1_764_000_000,
                    workflow: "deploy.yml".into(),
                    run_url: "https://github.com/acme/api/actions/runs/1".into(),
                    run_at: 1_764_000_600,
                }),
                old_secrets_present: 1,
                ..Observed::default()
            },
            state: RepoState::Verified,
            next: "cleanup".into(),
        };
        let web = RepoView {
            facts: RepoFacts {
                repo: "acme/web".into(),
                ..RepoFacts::default()
            },
            observed: Observed::default(),
            state: RepoState::Clean,
            next: "-".into(),
        };
        Truth {
            repos: vec![api, web],
            org_secrets: [("acme".to_string(), Vec::new())].into(),
            keys: [(
                key.clone(),
                KeyFacts {
                    id: key,
                    user: "ci-api".into(),
                    status: KeyStatus::Active,
                    last_used: Some(1_764_100_000),
                    service: Some("s3".into()),
                    region: Some("us-east-1".into()),
                    deactivated_at: None,
                    deleted_by_campaign: false,
                },
            )]
            .into(),
            suggestions: vec![Suggestion {
                repo: "acme/web".into(),
                user: "ci-web".into(),
                why: "name".into(),
            }],
            errors: vec!["acme/old: not found".into()],
            notes: vec!["a note".into()],
            requests: 12,
            not_modified: 5,
            preflight: [(
                "acme/api".to_string(),
                vec![PreflightRow {
                    path: ".github/workflows/deploy.yml".into(),
                    job: "deploy".into(),
                    way: "push to main".into(),
                    role: "arn:aws:iam::123456789012:role/gha-api".into(),
                    sub: "repo:acme/api:ref:refs/heads/main".into(),
                    check: Check::Denied {
                        why: "sub not allowed".into(),
                        closest: Some("repo:acme/api:environment:prod".into()),
                    },
                }],
            )]
            .into(),
            failures: [(
                "acme/api".to_string(),
                vec![Failure {
                    workflow: "deploy.yml".into(),
                    job: Some("deploy".into()),
                    run_url: "https://github.com/acme/api/actions/runs/2".into(),
                    sub: Some("repo:acme/api:pull_request".into()),
                    allowed_subs: vec!["repo:acme/api:ref:refs/heads/main".into()],
                    diagnosis: Diagnosis {
                        class: FailureClass::TrustMismatch,
                        fix: "allow the sub".into(),
                        evidence: Some(
                            "Not authorized to perform sts:AssumeRoleWithWebIdentity".into(),
                        ),
                    },
                }],
            )]
            .into(),
            ..Truth::default()
        }
    }

    #[test]
    fn json_is_pinned() {
        let text = serde_json::to_string_pretty(&to_json(&truth())).unwrap() + "\n";
        assert_eq!(
            text,
            r#"{
  "by_organization": {
    "acme": {
      "clean": 1,
      "verified": 1
    }
  },
  "errors": [
    "acme/old: not found"
  ],
  "github_requests": {
    "not_modified": 5,
    "total": 12
  },
  "notes": [
    "a note"
  ],
  "organization": "acme",
  "organizations": [
    "acme"
  ],
  "repositories": [
    {
      "failures": [
        {
          "allowed_subs": [
            "repo:acme/api:ref:refs/heads/main"
          ],
          "class": "trust-mismatch",
          "evidence": "Not authorized to perform sts:AssumeRoleWithWebIdentity",
          "fix": "allow the sub",
          "job": "deploy",
          "run_url": "https://github.com/acme/api/actions/runs/2",
          "sub": "repo:acme/api:pull_request",
          "workflow": "deploy.yml"
        }
      ],
      "findings": 2,
      "keys": [
        {
          "access_key_id": "AKIA…MPLE",
          "last_used": "2025-11-25T19:46:40Z",
          "mapped_by": "repos",
          "region": "us-east-1",
          "service": "s3",
          "status": "Active",
          "user": "ci-api"
        }
      ],
      "next_step": "cleanup",
      "old_secrets_present": 1,
      "organization": "acme",
      "preflight": [
        {
          "closest": "repo:acme/api:environment:prod",
          "job": "deploy",
          "path": ".github/workflows/deploy.yml",
          "result": "denied",
          "role": "arn:aws:iam::123456789012:role/gha-api",
          "sub": "repo:acme/api:ref:refs/heads/main",
          "way": "push to main",
          "why": "sub not allowed"
        }
      ],
      "pull_request": {
        "head": "migrate/oidc",
        "merged": true,
        "merged_at": "2025-11-24T16:00:00Z",
        "number": 7,
        "state": "closed",
        "url": "https://github.com/acme/api/pull/7"
      },
      "remaining_references": [
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY"
      ],
      "repository": "acme/api",
      "roles": [
        "arn:aws:iam::123456789012:role/gha-api"
      ],
      "state": "verified",
      "verified": {
        "run_at": "2025-11-24T16:10:00Z",
        "run_url": "https://github.com/acme/api/actions/runs/1",
        "workflow": "deploy.yml"
      }
    },
    {
      "failures": null,
      "findings": 0,
      "keys": [],
      "next_step": "-",
      "old_secrets_present": 0,
      "organization": "acme",
      "preflight": null,
      "pull_request": null,
      "remaining_references": [],
      "repository": "acme/web",
      "roles": [],
      "state": "clean",
      "verified": null
    }
  ],
  "suggestions": [
    {
      "repository": "acme/web",
      "user": "ci-web",
      "why": "name"
    }
  ],
  "totals": {
    "clean": 1,
    "verified": 1
  },
  "version": 1
}
"#
        );
    }

    #[test]
    fn table_is_pinned() {
        let text = table(&truth());
        assert_eq!(
            text,
            r#"REPOSITORY  STATE     PR  MERGED      REFERENCES                               KEY LAST USED            NEXT STEP
acme/api    verified  #7  2025-11-24  AWS_ACCESS_KEY_ID,AWS_SECRET_ACCESS_KEY  2025-11-25 s3 us-east-1  cleanup
acme/web    clean     -   -           0                                        -                        -

2 repositories: 1 clean, 1 verified

failing acme/api:
  deploy.yml deploy: trust-mismatch — allow the sub
    https://github.com/acme/api/actions/runs/2 (presented sub `repo:acme/api:pull_request`)
    the role allows: `repo:acme/api:ref:refs/heads/main`

pre-flight acme/api: 1 of 1 ways would not be allowed to assume the role
  .github/workflows/deploy.yml: deploy [push to main] sub `repo:acme/api:ref:refs/heads/main`: DENIED (closest allowed: `repo:acme/api:environment:prod`)

suggestions (never acted on; confirm them in --key-map):
  acme/web -> IAM user ci-web (name)

notes:
  a note

errors:
  acme/old: not found
"#
        );
    }

    #[test]
    fn markdown_is_pinned() {
        let text = markdown(&truth());
        assert_eq!(
            text,
            r#"| REPOSITORY | STATE | PR | MERGED | REFERENCES | KEY LAST USED | NEXT STEP |
|---|---|---|---|---|---|---|
| acme/api | verified | [#7](https://github.com/acme/api/pull/7) | 2025-11-24 | AWS_ACCESS_KEY_ID,AWS_SECRET_ACCESS_KEY | 2025-11-25 s3 us-east-1 | cleanup |
| acme/web | clean | - | - | 0 | - | - |

**2 repositories: 1 clean, 1 verified**

#### Pre-flight trust check: acme/api

| job | runs as | `sub` presented | role | result |
|---|---|---|---|---|
| `.github/workflows/deploy.yml`: deploy | push to main | `repo:acme/api:ref:refs/heads/main` | `gha-api` | DENIED (closest allowed: `repo:acme/api:environment:prod`) |

suggestions (never acted on; confirm them in --key-map):
-   acme/web -> IAM user ci-web (name)

notes:
-   a note

errors:
-   acme/old: not found
"#
        );
    }
}
