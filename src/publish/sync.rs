//! Makes a repository match its plan (effects): branch, commit and pull request, each written
//! only when it differs, each announced in the journal first and not made when the journal
//! cannot record it.

use super::{BRANCH, RepoPlan, TITLE, plan_repo, pull_body};
use crate::campaign::JournalAction;
use crate::github::{GitHubError, GitHubReader, GitHubWriter, NewPull, PullRef};
use crate::rewrite::RewriteOptions;

#[derive(Debug, Clone, serde::Serialize)]
#[serde(tag = "outcome", rename_all = "kebab-case")]
pub enum RepoOutcome {
    NothingToChange,
    DryRun {
        files: usize,
    },
    Opened {
        number: u64,
        url: String,
    },
    Updated {
        number: u64,
        url: String,
    },
    UpToDate {
        number: u64,
        url: String,
    },
    /// A person closed the campaign's PR without merging it; we do not reopen it.
    ClosedUnmerged {
        number: u64,
        url: String,
    },
    Failed {
        stage: String,
        error: String,
    },
}

impl RepoOutcome {
    pub fn summary(&self) -> String {
        match self {
            Self::NothingToChange => "nothing to change".into(),
            Self::DryRun { files } => {
                format!("would open or update a pull request changing {files} file(s)")
            }
            Self::Opened { number, url } => format!("opened pull request #{number} {url}"),
            Self::Updated { number, url } => format!("updated pull request #{number} {url}"),
            Self::UpToDate { number, url } => format!("pull request #{number} is up to date {url}"),
            Self::ClosedUnmerged { number, url } => {
                format!("pull request #{number} was closed without merging; not reopened {url}")
            }
            Self::Failed { stage, error } => format!("failed ({stage}): {error}"),
        }
    }

    pub fn failed(&self) -> bool {
        matches!(self, Self::Failed { .. })
    }
}

pub struct PublishSettings {
    pub draft: bool,
    pub labels: Vec<String>,
}

/// Where every write is announced before it is made and completed after (the campaign
/// ledger). `begin` returns a handle for `end`.
pub trait Journal {
    /// Records that the write is about to be made. An `Err` (the journal could not record
    /// it) means the write must not be made: a crash after it would leave it unknown.
    fn begin(
        &self,
        repo: &str,
        action: &JournalAction,
        target: &str,
        detail: serde_json::Value,
    ) -> Result<Option<i64>, JournalError>;
    fn end(&self, id: Option<i64>, error: Option<&str>);
    /// The campaign now has this pull request for `repo`.
    fn pull_request(&self, repo: &str, number: u64, url: &str, head: &str);
}

/// Why the journal could not record a write.
#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    #[error(transparent)]
    Ledger(#[from] crate::campaign::LedgerError),
    #[error("the ledger's lock was poisoned by an earlier failure")]
    Poisoned,
}

/// No journal (dry runs).
pub struct NoJournal;

impl Journal for NoJournal {
    fn begin(
        &self,
        _: &str,
        _: &JournalAction,
        _: &str,
        _: serde_json::Value,
    ) -> Result<Option<i64>, JournalError> {
        Ok(None)
    }
    fn end(&self, _: Option<i64>, _: Option<&str>) {}
    fn pull_request(&self, _: &str, _: u64, _: &str, _: &str) {}
}

/// Why publishing a repository stopped.
#[derive(Debug)]
enum SyncError {
    /// GitHub refused or failed the write (or read) of this stage.
    GitHub(&'static str, GitHubError),
    /// The journal could not record the write of this action, so it was not made.
    NotJournaled(JournalAction, JournalError),
}

impl From<(&'static str, GitHubError)> for SyncError {
    fn from((stage, error): (&'static str, GitHubError)) -> Self {
        Self::GitHub(stage, error)
    }
}

/// Announces a write in the journal; refuses it when the journal cannot record it.
fn begin(
    journal: &dyn Journal,
    repo: &str,
    action: JournalAction,
    target: &str,
    detail: serde_json::Value,
) -> Result<Option<i64>, SyncError> {
    journal
        .begin(repo, &action, target, detail)
        .map_err(|e| SyncError::NotJournaled(action, e))
}

/// Runs one journaled write: announced first (or not made at all), completed with its outcome.
async fn journaled<T>(
    journal: &dyn Journal,
    repo: &str,
    action: JournalAction,
    target: &str,
    detail: serde_json::Value,
    write: impl std::future::Future<Output = Result<T, (&'static str, GitHubError)>>,
) -> Result<T, SyncError> {
    let id = begin(journal, repo, action, target, detail)?;
    let result = write.await;
    journal.end(
        id,
        result.as_ref().err().map(|(_, e)| e.to_string()).as_deref(),
    );
    Ok(result?)
}

fn failed(stage: &str, error: &GitHubError) -> RepoOutcome {
    RepoOutcome::Failed {
        stage: stage.into(),
        error: error.to_string(),
    }
}

/// Makes the remote match the plan: branch, commit and pull request, each only if needed.
/// `replan` re-reads the repository when its default branch moved since `plan` was made.
pub async fn publish_repo(
    reader: &GitHubReader,
    writer: &GitHubWriter,
    mut plan: RepoPlan,
    opts: &RewriteOptions,
    settings: &PublishSettings,
    journal: &dyn Journal,
) -> (RepoPlan, RepoOutcome) {
    let (owner, name) = plan
        .repository
        .split_once('/')
        .map(|(o, n)| (o.to_string(), n.to_string()))
        .unwrap_or_default();
    // The default branch must still be where the plan was made; otherwise plan again on the
    // new tip (once: a branch that keeps moving is reported, not chased).
    for attempt in 0..2 {
        let tip = match writer.branch_tip(&owner, &name, &plan.default_branch).await {
            Ok(Some(tip)) => tip,
            Ok(None) => {
                return (
                    plan,
                    RepoOutcome::Failed {
                        stage: "plan".into(),
                        error: "default branch not found".into(),
                    },
                );
            }
            Err(e) => return (plan, failed("plan", &e)),
        };
        if tip == plan.base {
            break;
        }
        if attempt == 1 {
            return (
                plan,
                RepoOutcome::Failed {
                    stage: "plan".into(),
                    error: "the default branch keeps moving; run again".into(),
                },
            );
        }
        match reader
            .repositories(std::slice::from_ref(&plan.repository))
            .await
            .pop()
        {
            Some(Ok(snapshot)) => {
                let moved_from = plan.base.clone();
                let preflight = std::mem::take(&mut plan.preflight);
                plan = plan_repo(&snapshot, opts);
                plan.preflight = preflight;
                plan.notes.push(format!(
                    "the default branch moved from {moved_from} to {}; planned again",
                    plan.base
                ));
            }
            Some(Err((_, e))) => return (plan, failed("plan", &e)),
            None => {
                return (
                    plan,
                    RepoOutcome::Failed {
                        stage: "plan".into(),
                        error: "repository vanished".into(),
                    },
                );
            }
        }
    }
    if plan.files.is_empty() {
        return (plan, RepoOutcome::NothingToChange);
    }
    let outcome = match sync(writer, &owner, &name, &plan, settings, journal).await {
        Ok(outcome) => outcome,
        Err(SyncError::GitHub(stage, e)) => failed(stage, &e),
        Err(SyncError::NotJournaled(action, why)) => RepoOutcome::Failed {
            stage: "journal".into(),
            error: format!(
                "{action} was not sent: the campaign ledger could not record it first ({why}); fix the ledger (disk, permissions) and run again"
            ),
        },
    };
    (plan, outcome)
}

async fn sync(
    writer: &GitHubWriter,
    owner: &str,
    name: &str,
    plan: &RepoPlan,
    settings: &PublishSettings,
    journal: &dyn Journal,
) -> Result<RepoOutcome, SyncError> {
    let pulls = writer
        .pulls_for_branch(owner, name, BRANCH)
        .await
        .map_err(|e| ("pull request", e))?;
    if let Some(closed) = pulls.iter().find(|p| p.state == "closed" && !p.merged)
        && !pulls.iter().any(|p| p.state == "open")
    {
        return Ok(RepoOutcome::ClosedUnmerged {
            number: closed.number,
            url: closed.url.clone(),
        });
    }
    let branch_changed = ensure_branch(writer, owner, name, plan, journal).await?;
    let body = pull_body(plan);
    let outcome = match pulls.iter().find(|p| p.state == "open") {
        Some(open) => {
            update_pull(writer, owner, name, open, &body, branch_changed, journal).await?
        }
        None => open_pull(writer, owner, name, plan, &body, settings, journal).await?,
    };
    if let RepoOutcome::Opened { number, url }
    | RepoOutcome::Updated { number, url }
    | RepoOutcome::UpToDate { number, url } = &outcome
    {
        journal.pull_request(&plan.repository, *number, url, BRANCH);
    }
    Ok(outcome)
}

/// Points the campaign branch at a commit holding the planned files on top of the planned
/// base. Returns whether anything was written.
async fn ensure_branch(
    writer: &GitHubWriter,
    owner: &str,
    name: &str,
    plan: &RepoPlan,
    journal: &dyn Journal,
) -> Result<bool, SyncError> {
    let branch = writer
        .branch_tip(owner, name, BRANCH)
        .await
        .map_err(|e| ("branch", e))?;
    if let Some(tip) = &branch {
        let commit = writer
            .commit(owner, name, tip)
            .await
            .map_err(|e| ("branch", e))?;
        if commit.parents == [plan.base.clone()] {
            let mut same = true;
            for file in &plan.files {
                let current = writer
                    .file_at(owner, name, &file.path, tip)
                    .await
                    .map_err(|e| ("branch", e))?;
                if current.as_deref() != Some(file.text.as_str()) {
                    same = false;
                    break;
                }
            }
            if same {
                return Ok(false);
            }
        }
    }
    let files: Vec<(String, String)> = plan
        .files
        .iter()
        .map(|f| (f.path.clone(), f.text.clone()))
        .collect();
    let detail = serde_json::json!({
        "base": plan.base,
        "files": plan.files.iter().map(|f| &f.path).collect::<Vec<_>>(),
    });
    let push = async {
        let base = writer
            .commit(owner, name, &plan.base)
            .await
            .map_err(|e| ("commit", e))?;
        let tree = writer
            .create_tree(owner, name, &base.tree, &files)
            .await
            .map_err(|e| ("commit", e))?;
        let message = format!(
            "{TITLE}\n\nRewritten by migrate: {} file(s).",
            plan.files.len()
        );
        let commit = writer
            .create_commit(owner, name, &message, &tree, &plan.base)
            .await
            .map_err(|e| ("commit", e))?;
        match branch {
            Some(_) => writer
                .move_branch(owner, name, BRANCH, &commit)
                .await
                .map_err(|e| ("branch", e)),
            None => match writer.create_branch(owner, name, BRANCH, &commit).await {
                Ok(()) => Ok(()),
                // A retried create whose first attempt landed: the branch exists now.
                Err(GitHubError::Rejected {
                    status: 422,
                    message,
                    ..
                }) if message.contains("already exists") => writer
                    .move_branch(owner, name, BRANCH, &commit)
                    .await
                    .map_err(|e| ("branch", e)),
                Err(e) => Err(("branch", e)),
            },
        }
    };
    journaled(
        journal,
        &plan.repository,
        JournalAction::PushBranch,
        BRANCH,
        detail,
        push,
    )
    .await?;
    Ok(true)
}

async fn update_pull(
    writer: &GitHubWriter,
    owner: &str,
    name: &str,
    open: &PullRef,
    body: &str,
    branch_changed: bool,
    journal: &dyn Journal,
) -> Result<RepoOutcome, SyncError> {
    if open.body == body && open.title == TITLE {
        return Ok(if branch_changed {
            RepoOutcome::Updated {
                number: open.number,
                url: open.url.clone(),
            }
        } else {
            RepoOutcome::UpToDate {
                number: open.number,
                url: open.url.clone(),
            }
        });
    }
    let repo = format!("{owner}/{name}");
    let target = format!("#{}", open.number);
    let update = async {
        writer
            .update_pull(owner, name, open.number, TITLE, body)
            .await
            .map_err(|e| ("pull request", e))
    };
    journaled(
        journal,
        &repo,
        JournalAction::UpdatePr,
        &target,
        serde_json::json!({}),
        update,
    )
    .await?;
    Ok(RepoOutcome::Updated {
        number: open.number,
        url: open.url.clone(),
    })
}

async fn open_pull(
    writer: &GitHubWriter,
    owner: &str,
    name: &str,
    plan: &RepoPlan,
    body: &str,
    settings: &PublishSettings,
    journal: &dyn Journal,
) -> Result<RepoOutcome, SyncError> {
    let head = BRANCH;
    let new = NewPull {
        title: TITLE,
        head,
        base: &plan.default_branch,
        body,
        draft: settings.draft,
    };
    let id = begin(
        journal,
        &plan.repository,
        JournalAction::OpenPr,
        BRANCH,
        serde_json::json!({"base": plan.default_branch}),
    )?;
    let created = writer.create_pull(owner, name, &new).await;
    journal.end(id, created.as_ref().err().map(|e| e.to_string()).as_deref());
    let pull = match created {
        Ok(pull) => pull,
        // A retried create whose first attempt landed: find that pull request.
        Err(GitHubError::Rejected {
            status: 422,
            message,
            ..
        }) if message.contains("already exists") => writer
            .pulls_for_branch(owner, name, BRANCH)
            .await
            .map_err(|e| ("pull request", e))?
            .into_iter()
            .find(|p| p.state == "open")
            .ok_or((
                "pull request",
                GitHubError::Rejected {
                    what: "pull request".into(),
                    status: 422,
                    message,
                },
            ))?,
        Err(e) => return Err(("pull request", e).into()),
    };
    if !settings.labels.is_empty() {
        let target = format!("#{}", pull.number);
        let detail = serde_json::json!({"labels": settings.labels});
        let label = async {
            writer
                .add_labels(owner, name, pull.number, &settings.labels)
                .await
                .map_err(|e| ("labels", e))
        };
        journaled(
            journal,
            &plan.repository,
            JournalAction::AddLabels,
            &target,
            detail,
            label,
        )
        .await?;
    }
    Ok(RepoOutcome::Opened {
        number: pull.number,
        url: pull.url,
    })
}
