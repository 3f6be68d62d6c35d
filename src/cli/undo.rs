//! `migrate undo`: reactivate the IAM keys this campaign deactivated, and list the secrets it
//! deleted with the exact `gh` commands to recreate them (values cannot be restored by API)
//! and the IAM users it deleted with the exact `aws iam` commands to recreate them. Needs
//! only the ledger and IAM ([`crate::campaign::reactivate`]); rendered by
//! [`crate::report::undo`].

use std::path::PathBuf;

use clap::Args;

use super::Error;
use crate::campaign::Ledger;
use crate::campaign::reactivate;
use crate::campaign::undo::{self, Reactivation};
use crate::iam::IamError;
use crate::iam::keys::IamKeys;
use crate::report::{self, Line, exit};

#[derive(Args)]
#[command(after_help = "Examples:
  migrate undo
  migrate undo --campaign acme.db --yes

Exit codes: 0 done (or nothing to undo), 21 not confirmed, 1 a write failed or tool error")]
pub struct UndoArgs {
    /// The campaign ledger (SQLite).
    #[arg(long, value_name = "FILE", default_value = crate::campaign::DEFAULT_LEDGER)]
    campaign: PathBuf,

    /// Do not ask; required without a terminal.
    #[arg(long)]
    yes: bool,
}

pub fn run(args: UndoArgs) -> Result<u8, Error> {
    if !args.campaign.exists() {
        return Err(Error::Failed(format!(
            "no campaign ledger at {}: nothing this tool did can be undone from it",
            args.campaign.display()
        )));
    }
    let ledger = Ledger::open(&args.campaign)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(Error::Runtime)?;
    runtime.block_on(run_async(&ledger, args.yes))
}

async fn run_async(ledger: &Ledger, yes: bool) -> Result<u8, Error> {
    let needs_iam = ledger.journal()?.iter().any(|e| e.writes_iam());
    let iam = if needs_iam {
        Some(IamKeys::connect().await)
    } else {
        None
    };
    // Key writes a crash left pending: IAM says whether they happened.
    if let Some(iam) = &iam {
        reactivate::settle_pending(ledger, iam).await?;
    }
    let plan = undo::plan(&ledger.journal()?);
    let keys = match &iam {
        Some(iam) => reactivate::standings(iam, &plan.reactivate).await?,
        None => Vec::new(),
    };
    let code = super::print(&report::undo::plan(&plan, &keys));
    let todo = report::undo::to_reactivate(&keys);
    if code != exit::CLEAN || todo.is_empty() {
        return Ok(code);
    }
    if !confirm(yes)? {
        return Ok(exit::NOT_CONFIRMED);
    }
    let Some(iam) = &iam else {
        return Ok(exit::CLEAN);
    };
    let mut show = |r: &Reactivation, result: Result<(), IamError>| match report::undo::reactivated(
        r, &result,
    ) {
        Line::Out(line) => println!("{line}"),
        Line::Err(line) => eprintln!("{line}"),
    };
    let failed = reactivate::reactivate(ledger, iam, &todo, &mut show).await?;
    Ok(if failed > 0 {
        exit::TOOL_ERROR
    } else {
        exit::CLEAN
    })
}

/// `--yes`, or `y` typed on a terminal: whether to reactivate the keys.
fn confirm(yes: bool) -> Result<bool, Error> {
    if yes {
        return Ok(true);
    }
    let answer = super::ask("Reactivate these keys? [y/N] ").ok_or_else(|| {
        Error::NotConfirmed(
            "refusing to reactivate keys without confirmation: stdin is not a terminal, pass --yes"
                .into(),
        )
    })?;
    let confirmed = super::is_yes(&answer);
    if !confirmed {
        eprintln!("cancelled: nothing was changed");
    }
    Ok(confirmed)
}
