//! `migrate rewrite --org/--repo [--pr]`, wired: the runtime, the connections, the ledger and
//! IAM a run needs, [`crate::publish::run`] over every target in parallel, then the diffs and
//! summary or the JSON (rendered by [`crate::report::publish`]) and the exit code.

use std::path::PathBuf;

use futures::future::join_all;

use super::Error;
use super::progress::Bar;
use super::remote_args::RemoteArgs;
use crate::campaign::Ledger;
use crate::fleet;
use crate::github::GitHubError;
use crate::github::permissions::Task;
use crate::publish::journal::LedgerJournal;
use crate::publish::run::{self, Run, RunSettings};
use crate::report::{self, exit};
use crate::scan::remote::{Progress, Target};
use crate::trust::{Issuer, TrustError};

pub struct RemoteSettings {
    pub run: RunSettings,
    /// The campaign ledger that journals every write (`--campaign`).
    pub campaign: PathBuf,
    /// `--format json` (else diffs and a summary).
    pub json: bool,
    pub color: bool,
    /// `--preflight`: the issuer to check trust for (or why it is invalid).
    pub preflight: Option<Result<Issuer, TrustError>>,
}

pub fn run(args: &RemoteArgs, settings: &RemoteSettings) -> Result<u8, Error> {
    let runtime = args.runtime()?;
    // octocrab's client spawns its buffer worker on the current runtime.
    let _entered = runtime.enter();
    let task = if settings.run.publish {
        Task::RewritePr
    } else {
        Task::RewritePlan
    };
    let identity = args.app.identity()?;
    // The organizations of the campaign (repeated --org, --enterprise), or the one target.
    let targets: Vec<Target> = if args.is_fleet() {
        let orgs = runtime.block_on(fleet::organizations(
            &args.github_url,
            &args.policy(),
            &identity,
            args.enterprise.as_deref(),
            &args.org,
        ))?;
        orgs.into_iter().map(Target::Org).collect()
    } else {
        args.target().into_iter().collect()
    };
    let connections = runtime.block_on(fleet::connect_writers(
        &args.github_url,
        &args.policy(),
        &identity,
        &targets,
        task,
    ))?;
    let ledger = if settings.run.publish {
        Some(LedgerJournal::new(Ledger::open(&settings.campaign)?))
    } else {
        None
    };
    let issuer = match &settings.preflight {
        Some(Ok(issuer)) => Some(issuer),
        Some(Err(e)) => return Err(Error::Usage(e.to_string())),
        None => None,
    };
    let iam = issuer.map(|_| runtime.block_on(crate::iam::keys::IamKeys::connect()));
    let bar = Bar::new();
    let run = Run {
        settings: &settings.run,
        filters: args.filters(),
        budget: args.budget.as_deref(),
        ledger: ledger.as_ref(),
        preflight: issuer.zip(iam.as_ref()),
        progress: &bar,
        estimated: &|estimate| eprintln!("estimate: {estimate}"),
        several: targets.len() > 1,
    };
    let outcomes = runtime.block_on(join_all(
        targets
            .iter()
            .zip(&connections)
            .map(|(target, connection)| run.target(target, connection)),
    ));
    bar.finished();
    let requests: u64 = connections
        .iter()
        .flatten()
        .map(|(reader, _)| reader.requests())
        .sum();
    let results = match run::rows(&targets, outcomes, run.several) {
        Ok(results) => results,
        Err(GitHubError::BudgetSpent { limit }) => {
            eprintln!(
                "stopped at --max-requests {limit} before every repository was read; run the same command again"
            );
            return Ok(exit::STOPPED_AT_BUDGET);
        }
        Err(e) => return Err(e.into()),
    };
    let stopped = args.budget.as_ref().filter(|b| b.exhausted());
    let text = if settings.json {
        report::publish::json(&results, requests)
    } else {
        report::publish::text(&results, settings.run.publish, settings.color, requests)
    };
    if let Some(budget) = stopped {
        eprintln!(
            "stopped at --max-requests {}: pull requests published so far stay; run the same command again to go on with the rest",
            budget.limit()
        );
    }
    Ok(match super::print(&text) {
        exit::CLEAN if stopped.is_some() => exit::STOPPED_AT_BUDGET,
        exit::CLEAN => report::publish::exit_code(&results),
        other => other,
    })
}
