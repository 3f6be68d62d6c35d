//! What `migrate status` writes besides its report: the proposed key map
//! (`--suggest-key-map`), comments on failing pull requests (`--comment`) and the tracking
//! issue (`--tracking-issue`).

use super::StatusArgs;
use crate::announce::Announcers;
use crate::campaign::reconcile::{self, CampaignError, Truth};
use crate::cli::session::Session;
use crate::github::permissions::Task;
use crate::github::{Connections, GitHubError};
use crate::iam::keys::IamKeys;
use crate::report::status;

/// `--suggest-key-map FILE`: the proposal, written; one line per key on stderr (masked).
pub(super) fn suggest_key_map(
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
pub(super) fn announce(
    args: &StatusArgs,
    session: &Session,
    truth: &Truth,
) -> Result<(), GitHubError> {
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
