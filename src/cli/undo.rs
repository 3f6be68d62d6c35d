//! `migrate undo`: reactivate the IAM keys this campaign deactivated, and list the secrets it
//! deleted with the exact `gh` commands to recreate them (values cannot be restored by API)
//! and the IAM users it deleted with the exact `aws iam` commands to recreate them. Needs
//! only the ledger and IAM.

use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;

use clap::Args;

use super::Error;
use crate::campaign::JournalAction;
use crate::campaign::key_status::KeyStatus;
use crate::campaign::settle::{self, Observation};
use crate::campaign::undo::{self, Reactivation};
use crate::campaign::{JournalResult, Ledger};
use crate::detect::aws_key_literal::mask_key_id;
use crate::iam::keys::IamKeys;
use crate::report::exit;

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
    let journal = ledger.journal()?;
    let needs_iam = journal.iter().any(|e| e.writes_iam());
    let iam = if needs_iam {
        Some(IamKeys::connect().await)
    } else {
        None
    };
    // Key writes a crash left pending: IAM says whether they happened.
    if let Some(iam) = &iam {
        for e in journal.iter().filter(|e| e.is_pending() && e.writes_iam()) {
            let seen = if e.action == JournalAction::DeleteUser {
                Observation::Removed {
                    still_there: iam.users().exists(&e.target).await?,
                }
            } else {
                Observation::Key(iam.key(&e.target).await?.status)
            };
            let Some(result) = settle::decide(&e.action, seen) else {
                continue;
            };
            ledger.journal_end(e.id, &result)?;
        }
    }
    let journal = ledger.journal()?;
    let plan = undo::plan(&journal);

    let mut todo: Vec<Reactivation> = Vec::new();
    let mut out = String::new();
    if let Some(iam) = &iam {
        for r in &plan.reactivate {
            let key = iam.key(&r.access_key_id).await?;
            let shown = mask_key_id(&r.access_key_id);
            match key.status {
                KeyStatus::Inactive | KeyStatus::Expired => todo.push(r.clone()),
                KeyStatus::Active => out.push_str(&format!("key {shown} (user {}) is already active\n", r.user)),
                _ => out.push_str(&format!(
                    "key {shown} (user {}) no longer exists: it was deleted and cannot be reactivated\n",
                    r.user
                )),
            }
        }
    }
    for r in &plan.deleted_keys {
        out.push_str(&format!(
            "key {} (user {}) [{}] was deleted by this campaign and no longer exists: it cannot be reactivated; create a new key if the old setup must come back\n",
            mask_key_id(&r.access_key_id),
            r.user,
            r.repo
        ));
    }
    if !todo.is_empty() {
        out.push_str("reactivate:\n");
        for r in &todo {
            out.push_str(&format!(
                "  key {} (user {}) [{}]\n",
                mask_key_id(&r.access_key_id),
                r.user,
                r.repo
            ));
        }
    }
    let (deleted, stripped): (Vec<_>, Vec<_>) = plan.users.iter().partition(|u| u.deleted);
    for (heading, users) in [
        (
            "IAM users deleted by this campaign (IAM cannot restore them or their keys; recreate with):",
            deleted,
        ),
        (
            "IAM users a cleanup began to delete and did not (their policies and groups may be detached; put them back with):",
            stripped,
        ),
    ] {
        if users.is_empty() {
            continue;
        }
        out.push_str(heading);
        out.push('\n');
        for u in users {
            out.push_str(&format!("  user {} [{}]\n", u.user, u.repo));
            for command in &u.commands {
                out.push_str(&format!("    {command}\n"));
            }
        }
    }
    if !plan.recreate.is_empty() {
        out.push_str(
            "deleted by this campaign (GitHub cannot restore values; recreate with the old key material):\n",
        );
        for r in &plan.recreate {
            out.push_str(&format!("  {}\n    {}\n", r.what, r.command));
        }
    }
    if todo.is_empty()
        && plan.recreate.is_empty()
        && plan.deleted_keys.is_empty()
        && plan.users.is_empty()
    {
        out.push_str("nothing to undo\n");
    }
    let code = super::print(&out);
    if code != exit::CLEAN || todo.is_empty() {
        return Ok(code);
    }
    if !yes {
        if !std::io::stdin().is_terminal() {
            return Err(Error::NotConfirmed(
                "refusing to reactivate keys without confirmation: stdin is not a terminal, pass --yes"
                    .into(),
            ));
        }
        eprint!("Reactivate these keys? [y/N] ");
        std::io::stderr().flush().ok();
        let mut answer = String::new();
        std::io::stdin().lock().read_line(&mut answer).ok();
        if !matches!(answer.trim(), "y" | "Y" | "yes") {
            eprintln!("cancelled: nothing was changed");
            return Ok(exit::NOT_CONFIRMED);
        }
    }
    let Some(iam) = &iam else {
        return Ok(exit::CLEAN);
    };
    let mut failed = 0;
    for r in &todo {
        let detail = serde_json::json!({ "user": r.user });
        let id = ledger.journal_begin(
            &r.repo,
            &JournalAction::ReactivateKey,
            &r.access_key_id,
            &detail,
        )?;
        let result = iam.set_active(&r.user, &r.access_key_id, true).await;
        let outcome = match &result {
            Ok(_) => JournalResult::Done,
            Err(e) => JournalResult::Failed(e.to_string()),
        };
        ledger.journal_end(id, &outcome)?;
        match result {
            Ok(_) => println!(
                "done: reactivated key {} (user {})",
                mask_key_id(&r.access_key_id),
                r.user
            ),
            Err(e) => {
                eprintln!("failed: key {}: {e}", mask_key_id(&r.access_key_id));
                failed += 1;
            }
        }
    }
    Ok(if failed > 0 {
        exit::TOOL_ERROR
    } else {
        exit::CLEAN
    })
}
