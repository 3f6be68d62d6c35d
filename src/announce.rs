//! `status --comment` and `status --tracking-issue` (effects): post or edit the campaign's
//! comments and tracking issue. Every write is journaled before it is sent; when the journal
//! cannot record it, nothing is sent. Pending entries of a killed run are settled from remote
//! truth (is the marked comment or issue there?).

use std::collections::BTreeMap;

use crate::campaign::announce::{self, TRACKING_MARKER, TRACKING_TITLE};
use crate::campaign::reconcile::RepoView;
use crate::campaign::reconcile::failures::Failure;
use crate::campaign::settle::{self, Observation};
use crate::campaign::{JournalAction, JournalResult, Ledger};
use crate::github::{Connections, GitHubError, GitHubWriter};

/// The writers announcements go through, each opened only when asked for: one per campaign
/// owner for comments on pull requests, the tracking repository's owner's for the issue (with
/// a GitHub App, each owner's installation).
#[derive(Default)]
pub struct Announcers {
    pub comments: Option<Connections<GitHubWriter>>,
    pub tracking: Option<Connections<GitHubWriter>>,
}

impl Announcers {
    /// The writer for `action` in `owner`'s repositories.
    fn writer(&self, action: &JournalAction, owner: &str) -> Result<&GitHubWriter, GitHubError> {
        let set = match action {
            JournalAction::TrackingIssue => self.tracking.as_ref(),
            _ => self.comments.as_ref(),
        };
        set.ok_or_else(|| GitHubError::NoConnection {
            owner: owner.to_string(),
        })?
        .for_owner(owner)
    }
}

/// Runs `write` under a journal entry; returns a line for the summary.
async fn journaled<F, Fut>(
    ledger: &Ledger,
    repo: &str,
    action: JournalAction,
    target: &str,
    write: F,
) -> String
where
    F: FnOnce() -> Fut,
    Fut: std::future::Future<Output = Result<String, crate::github::GitHubError>>,
{
    let id = match ledger.journal_begin(repo, &action, target, &serde_json::json!({})) {
        Ok(id) => id,
        Err(e) => return format!("{repo}: {target}: not sent, the journal failed: {e}"),
    };
    let outcome = write().await;
    let result = match &outcome {
        Ok(_) => JournalResult::Done,
        Err(e) => JournalResult::Failed(e.to_string()),
    };
    let _ = ledger.journal_end(id, &result);
    match outcome {
        Ok(line) => format!("{repo}: {line}"),
        Err(e) => format!("{repo}: {target}: {e}"),
    }
}

/// Settles entries a killed run left pending: the write took effect when the marked comment
/// or issue exists.
pub async fn settle(writers: &Announcers, ledger: &Ledger) {
    for entry in ledger.pending().unwrap_or_default() {
        let Some((owner, name)) = entry.repo.split_once('/') else {
            continue;
        };
        // Without this run's writer for it, the entry waits for a run that has one.
        let Ok(writer) = writers.writer(&entry.action, owner) else {
            continue;
        };
        let found = match entry.action {
            JournalAction::CommentFailure => {
                // target: `#NUMBER CLASS`
                let mut parts = entry.target.trim_start_matches('#').splitn(2, ' ');
                let number = parts.next().and_then(|n| n.parse().ok()).unwrap_or(0);
                let marker = format!("<!-- migrate:failure:{} -->", parts.next().unwrap_or(""));
                writer.find_comment(owner, name, number, &marker).await
            }
            JournalAction::TrackingIssue => writer.find_issue(owner, name, TRACKING_MARKER).await,
            _ => continue,
        };
        let Ok(found) = found else { continue };
        let seen = Observation::Created {
            exists: found.is_some(),
        };
        if let Some(result) = settle::decide(&entry.action, seen) {
            let _ = ledger.journal_end(entry.id, &result);
        }
    }
}

/// One comment per pull request and failure class: created once, edited when it changed.
pub async fn comment_failures(
    writers: &Announcers,
    ledger: &Ledger,
    repos: &[RepoView],
    failures: &BTreeMap<String, Vec<Failure>>,
) -> Vec<String> {
    let mut lines = Vec::new();
    for view in repos {
        let (Some(list), Some(pull)) = (failures.get(&view.facts.repo), &view.facts.pull) else {
            continue;
        };
        let Some((owner, name)) = view.facts.repo.split_once('/') else {
            continue;
        };
        let writer = match writers.writer(&JournalAction::CommentFailure, owner) {
            Ok(writer) => writer,
            Err(e) => {
                lines.push(format!("{}: not commented: {e}", view.facts.repo));
                continue;
            }
        };
        for (class, group) in announce::by_class(list) {
            let body = announce::failure_comment(class, &group);
            let marker = announce::failure_marker(class);
            let target = format!("#{} {}", pull.number, class.as_str());
            let existing = match writer.find_comment(owner, name, pull.number, &marker).await {
                Ok(existing) => existing,
                Err(e) => {
                    lines.push(format!("{}: {target}: {e}", view.facts.repo));
                    continue;
                }
            };
            let line = match existing {
                Some(c) if c.body == body => {
                    format!("{}: comment on {target} is up to date", view.facts.repo)
                }
                Some(c) => {
                    journaled(
                        ledger,
                        &view.facts.repo,
                        JournalAction::CommentFailure,
                        &target,
                        || async {
                            writer
                                .update_comment(owner, name, c.id, &body)
                                .await
                                .map(|_| format!("edited the comment on {target} {}", c.url))
                        },
                    )
                    .await
                }
                None => {
                    journaled(
                        ledger,
                        &view.facts.repo,
                        JournalAction::CommentFailure,
                        &target,
                        || async {
                            writer
                                .create_comment(owner, name, pull.number, &body)
                                .await
                                .map(|c| format!("commented on {target} {}", c.url))
                        },
                    )
                    .await
                }
            };
            lines.push(line);
        }
    }
    lines
}

/// The tracking issue in `slug` (`OWNER/REPO`): created once, then its body edited in place.
pub async fn tracking_issue(
    writers: &Announcers,
    ledger: &Ledger,
    slug: &str,
    body: &str,
) -> String {
    let Some((owner, name)) = slug.split_once('/') else {
        return format!("--tracking-issue `{slug}` is not OWNER/REPO");
    };
    let writer = match writers.writer(&JournalAction::TrackingIssue, owner) {
        Ok(writer) => writer,
        Err(e) => return format!("{slug}: tracking issue: {e}"),
    };
    let existing = match writer.find_issue(owner, name, TRACKING_MARKER).await {
        Ok(existing) => existing,
        Err(e) => return format!("{slug}: tracking issue: {e}"),
    };
    match existing {
        Some(issue) if issue.body == body => {
            format!(
                "{slug}: tracking issue #{} is up to date {}",
                issue.id, issue.url
            )
        }
        Some(issue) => {
            let target = format!("#{}", issue.id);
            journaled(
                ledger,
                slug,
                JournalAction::TrackingIssue,
                &target,
                || async {
                    writer
                        .update_issue(owner, name, issue.id, body)
                        .await
                        .map(|_| format!("updated tracking issue #{} {}", issue.id, issue.url))
                },
            )
            .await
        }
        None => {
            journaled(
                ledger,
                slug,
                JournalAction::TrackingIssue,
                "new",
                || async {
                    writer
                        .create_issue(owner, name, TRACKING_TITLE, body)
                        .await
                        .map(|i| format!("opened tracking issue #{} {}", i.id, i.url))
                },
            )
            .await
        }
    }
}
