//! `migrate status`: one row per repository of the campaign, reconciled from GitHub and IAM
//! (state, PR, merged, remaining references, key last used, next step) and totals, as a
//! table, JSON, Markdown or an HTML page (rendered by `report::status`); with the options
//! that write (`--suggest-key-map`, `--comment`, `--tracking-issue`) in [`writes`].

mod writes;

use std::path::PathBuf;

use clap::{Args, ValueEnum};

use super::Error;
use super::session::{CampaignArgs, Session, report_resolved};
use crate::campaign::{reconcile, time};
use crate::github::permissions::Task;
use crate::report::{exit, status};

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
  migrate status --org acme --org globex --app-id 123456 --app-key app.pem
  migrate status --enterprise acme-corp        (every organization, listed on each run)
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

pub fn run(args: StatusArgs) -> Result<u8, Error> {
    if let (Some(out), Some(map)) = (&args.suggest_key_map, &args.key_map)
        && out == map
    {
        return Err(Error::Usage(format!(
            "--suggest-key-map would overwrite the key map {}\nhelp: write the proposal to another file and merge it by hand",
            map.display()
        )));
    }
    let session = Session::open(&args.campaign, Task::Status)?;
    let (mut truth, iam) = session.gather(&args.campaign, args.key_map.as_deref())?;
    let issuer = match (args.preflight, &iam) {
        (true, Some(_)) => Some(
            crate::preflight::issuer(
                args.github_host.as_deref(),
                &args.campaign.github_url,
                args.enterprise_slug.as_deref(),
            )
            .map_err(|e| Error::Usage(e.to_string()))?,
        ),
        _ => None,
    };
    {
        let _entered = session.runtime.enter();
        let diagnosis = reconcile::status::diagnose(
            &session.github,
            &session.ledger,
            iam.as_ref(),
            issuer.as_ref(),
            &mut truth,
        );
        session.runtime.block_on(diagnosis);
    }
    if let (Some(path), Some(iam)) = (&args.suggest_key_map, &iam) {
        writes::suggest_key_map(&session, iam, &truth, path, &args.cloudtrail_regions)?;
    }

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
    if args.comment || args.tracking_issue.is_some() {
        writes::announce(&args, &session, &truth)?;
    }
    let printed = match &args.output {
        Some(path) => {
            std::fs::write(path, &text)
                .map_err(|e| Error::Failed(format!("cannot write {}: {e}", path.display())))?;
            eprintln!("wrote {}", path.display());
            exit::CLEAN
        }
        None => super::print(&text),
    };
    Ok(match printed {
        exit::CLEAN if truth.errors.is_empty() => exit::CLEAN,
        // Some repositories could not be read; the rest is reported.
        exit::CLEAN => exit::ERRORS,
        failed => failed,
    })
}

fn truth_note(note: &str) {
    eprintln!("note: {note}");
}
