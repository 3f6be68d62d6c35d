//! `migrate cleanup`: retire the old credentials of repositories whose migration PR is merged
//! and whose default branch no longer references them. Shows the plan (masked key ids), asks
//! for the organization name on a terminal (or needs `--yes`), then: deactivate keys →
//! delete secrets → (with `--delete-keys`, after the soak) delete keys → (with
//! `--delete-users`) delete the IAM users left with nothing. Every write is journaled before
//! it is made; a re-run after a crash resumes from remote truth.

use super::Error;
use super::session::{Session, report_resolved};
use crate::campaign::cleanup::execute::{Event, Observed, Writers, execute};
use crate::campaign::cleanup::{self, Options};
use crate::campaign::{reconcile, time};
use crate::github::campaign::CampaignSecrets;
use crate::report::{self, exit};

mod args;
pub use args::*;

pub fn run(args: CleanupArgs) -> Result<u8, Error> {
    let soak = args
        .delete_keys
        .then(|| time::parse_duration(&args.soak))
        .transpose()
        .map_err(|e| Error::Usage(e.to_string()))?;
    let session = Session::open(&args.campaign, crate::github::permissions::Task::Cleanup)?;
    let (truth, iam) = session.gather(&args.campaign, args.key_map.as_deref())?;
    report_resolved(&truth);
    truth.require_complete()?;
    let Some(iam) = iam else {
        return Err(Error::Usage(
            "no key map: pass --key-map FILE mapping repositories or secrets to IAM users or access keys (see --help)"
                .into(),
        ));
    };
    let facts: Vec<_> = truth.repos.iter().map(|r| r.facts.clone()).collect();
    let mut plan = cleanup::plan(
        &facts,
        &truth.org_secrets,
        &truth.keys,
        Options {
            force_used_keys: args.force_used_keys,
            delete_keys_after: soak,
            delete_users: args.delete_users,
            require_verified: args.require_verified,
            now: time::now(),
        },
    );
    if !plan.user_candidates.is_empty() {
        let _entered = session.runtime.enter();
        let users = reconcile::users::plan_users(&iam, &session.ledger, &mut plan, &truth);
        session.runtime.block_on(users)?;
    }
    let code = super::print(&report::cleanup::describe(&plan, &truth));
    if code != exit::CLEAN {
        return Ok(code);
    }
    let refused_code = if plan.refused.is_empty() {
        exit::CLEAN
    } else {
        exit::REFUSED
    };
    if plan.is_empty() || args.dry_run {
        return Ok(refused_code);
    }
    if !confirm(args.yes, &report::cleanup::owners(&plan))? {
        return Ok(exit::NOT_CONFIRMED);
    }
    let secrets = CampaignSecrets::new(&session.github);
    let writers = Writers {
        keys: &iam,
        users: &iam,
        secrets: &secrets,
    };
    let mut report = |event: Event| match event {
        Event::Done(line) => println!("{line}"),
        Event::Failed(line) => eprintln!("{line}"),
    };
    let failures = {
        let _entered = session.runtime.enter();
        session.runtime.block_on(execute(
            &session.ledger,
            writers,
            &plan,
            Observed {
                keys: &truth.keys,
                org_secrets: &truth.org_secrets,
            },
            &mut report,
        ))
    };
    match failures? {
        0 => {
            println!("cleanup done: {}", report::cleanup::summary(&plan));
            Ok(refused_code)
        }
        n => Err(Error::Failed(format!(
            "{n} write(s) failed (see above); re-run to resume"
        ))),
    }
}

/// `--yes`, or the organization names typed on a terminal: whether to go ahead.
fn confirm(yes: bool, org: &str) -> Result<bool, Error> {
    if yes {
        return Ok(true);
    }
    let what = if org.contains(',') {
        "organization names, comma-separated"
    } else {
        "organization name"
    };
    let answer = super::ask(&format!("Type the {what} ({org}) to go ahead: ")).ok_or_else(|| {
        Error::NotConfirmed(
            "refusing to deactivate keys or delete secrets without confirmation: stdin is not a terminal, pass --yes"
                .into(),
        )
    })?;
    let confirmed = answer == org;
    if !confirmed {
        eprintln!("cancelled: nothing was changed");
    }
    Ok(confirmed)
}
