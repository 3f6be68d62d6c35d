//! `rewrite --pr`: per repository, one branch (`migrate/aws-oidc`), one commit with every
//! rewritten file (Git Data API, on top of the default branch tip that was planned against),
//! and one pull request. Re-running updates the branch and PR in place; a moved default
//! branch is re-planned, never overwritten. Planning is pure; `publish_repo` does the writes.

use crate::campaign::JournalAction;
use crate::facts::Subject;
use crate::github::{GitHubError, GitHubReader, GitHubWriter, NewPull, PullRef, RepoSnapshot};
use crate::rewrite::{self, ManualFinding, RewriteOptions, RoleArn, RoleMap, RoleSource};
use crate::scan::{self, FileOutcome};

/// The campaign's branch in every repository.
pub const BRANCH: &str = "migrate/aws-oidc";
const TITLE: &str = "Use OIDC instead of static AWS access keys";
/// GitHub rejects bodies over 65,536 characters; leave room for the rest of the body.
const MAX_DIFF_IN_BODY: usize = 50_000;

/// Where each repository's role comes from.
#[derive(Debug, Clone)]
pub enum Roles {
    /// `--role-arn`, possibly with `{owner}` and `{repo}` placeholders.
    Template(String),
    /// `--role-map`, looked up with the repository's `OWNER/REPO`.
    Map(RoleMap),
}

impl Roles {
    /// Rewrite options for one repository; `action_ref` and `pin` as for `--action-ref`.
    pub fn options_for(
        &self,
        owner: &str,
        repo: &str,
        action_ref: &str,
        pin: bool,
    ) -> Result<RewriteOptions, String> {
        let roles = match self {
            Roles::Template(template) => {
                let arn = template.replace("{owner}", owner).replace("{repo}", repo);
                RoleSource::Single(RoleArn::parse(&arn, "--role-arn").map_err(|e| e.to_string())?)
            }
            Roles::Map(map) => RoleSource::Map(map.clone()),
        };
        let mut opts = RewriteOptions::new(roles).with_action_ref(action_ref, pin);
        opts.repo = Some(format!("{owner}/{repo}"));
        Ok(opts)
    }
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct FilePlan {
    pub path: String,
    #[serde(skip)]
    pub original: String,
    #[serde(skip)]
    pub text: String,
    pub changes: Vec<String>,
    pub diff: String,
    /// Each step that took static keys: before and after, as the rewrite proved them.
    pub flow: Vec<crate::detect::flow::compare::FlowRow>,
}

/// What `rewrite --pr` intends for one repository.
#[derive(Debug, Clone, serde::Serialize)]
pub struct RepoPlan {
    pub repository: String,
    pub default_branch: String,
    /// The default branch commit the plan was made on.
    pub base: String,
    pub files: Vec<FilePlan>,
    pub manual: Vec<(String, ManualFinding)>,
    pub notes: Vec<String>,
    /// Files that could not be rewritten, with why.
    pub errors: Vec<String>,
    /// `sub` claims the role must trust, per changed workflow's jobs.
    pub subjects: Vec<String>,
    pub roles: Vec<String>,
    /// The pre-flight trust check (`--preflight`): each job × way it runs against IAM.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub preflight: Vec<crate::trust::preflight::Row>,
}

/// Rewrites every file of a repository snapshot. Pure.
pub fn plan_repo(snapshot: &RepoSnapshot, opts: &RewriteOptions) -> RepoPlan {
    let default_branch = snapshot
        .default_branch
        .clone()
        .unwrap_or_else(|| "main".into());
    let mut plan = RepoPlan {
        repository: snapshot.slug(),
        default_branch: default_branch.clone(),
        base: snapshot.head.clone().unwrap_or_default(),
        files: Vec::new(),
        manual: Vec::new(),
        notes: Vec::new(),
        errors: Vec::new(),
        subjects: Vec::new(),
        roles: Vec::new(),
        preflight: Vec::new(),
    };
    let readable: Vec<(String, &str)> = snapshot
        .files
        .iter()
        .filter_map(|f| f.text.as_ref().ok().map(|t| (f.path.clone(), t.as_str())))
        .collect();
    let linked = scan::cross_file_findings(&readable);
    let mut opts = opts.clone();
    opts.local_workflows =
        rewrite::permissions::LocalWorkflows::from_callable_files(readable.iter().cloned());
    let opts = &opts;
    for file in &snapshot.files {
        let Ok(text) = &file.text else { continue };
        let none = scan::FileLinks::default();
        let links = linked.get(&file.path).unwrap_or(&none);
        match rewrite::rewrite_linked(&file.path, text, opts, links) {
            Err(e) => plan.errors.push(e.to_string()),
            Ok(outcome) => {
                plan.manual.extend(
                    outcome
                        .manual
                        .iter()
                        .cloned()
                        .map(|m| (file.path.clone(), m)),
                );
                plan.notes
                    .extend(outcome.notes.iter().map(|n| format!("{}: {n}", file.path)));
                if !outcome.changed() {
                    continue;
                }
                plan.roles.extend(
                    outcome
                        .changes
                        .iter()
                        .filter_map(|c| c.description.split("arn:aws").nth(1))
                        .map(|rest| {
                            let arn: String = rest
                                .chars()
                                .take_while(|c| !c.is_whitespace() && *c != ',' && *c != ')')
                                .collect();
                            format!("arn:aws{arn}")
                        }),
                );
                if let FileOutcome::Scanned(report, _) =
                    scan::analyze(&file.path, text, true, scan::StepRecords::Skip)
                {
                    let jobs_with_keys: Vec<&str> = report
                        .findings
                        .iter()
                        .filter_map(|f| f.job.as_deref())
                        .collect();
                    for job in report.jobs.iter().filter(|j| {
                        j.job
                            .as_deref()
                            .is_some_and(|id| jobs_with_keys.contains(&id))
                    }) {
                        for subject in &job.subjects {
                            plan.subjects.push(match subject {
                                Subject::Caller => {
                                    "(the caller's `sub`: this is a reusable workflow)".to_string()
                                }
                                Subject::EnvironmentExpression(e) => {
                                    format!("(environment chosen at run time: {e})")
                                }
                                s => format!(
                                    "repo:{}:{}",
                                    snapshot.slug(),
                                    s.claim_tail(&default_branch)
                                ),
                            });
                        }
                    }
                }
                plan.files.push(FilePlan {
                    path: file.path.clone(),
                    diff: outcome.diff(&file.path),
                    changes: outcome
                        .changes
                        .iter()
                        .map(|c| c.description.clone())
                        .collect(),
                    flow: outcome.flow,
                    original: outcome.original,
                    text: outcome.text,
                });
            }
        }
    }
    for list in [&mut plan.subjects, &mut plan.roles] {
        list.sort();
        list.dedup();
    }
    plan
}

/// The pull request body: what changed, what the role must trust, what is left, the diff.
pub fn pull_body(plan: &RepoPlan) -> String {
    let mut body = String::from(
        "This pull request was opened by `migrate`. It replaces the long-lived AWS access keys these \
         workflows read from secrets with short-lived credentials: each job assumes an IAM role through \
         GitHub's OIDC provider (`role-to-assume` with `permissions: id-token: write`).\n\n### What changed\n",
    );
    for file in &plan.files {
        body.push_str(&format!("- `{}`\n", file.path));
        for change in &file.changes {
            body.push_str(&format!("  - {change}\n"));
        }
    }
    if plan.files.iter().any(|f| !f.flow.is_empty()) {
        body.push_str("\n### Credential flow\nEvery step that read the static keys, and what it gets now (proven on the rewritten files):\n");
        for file in plan.files.iter().filter(|f| !f.flow.is_empty()) {
            body.push_str(&format!("\n`{}`\n\n", file.path));
            body.push_str(&crate::report::flow::markdown_table(&file.flow));
        }
    }
    body.push_str("\n### Before merging\nThe role must exist and its trust policy must allow these subjects (audience `sts.amazonaws.com`):\n\n");
    for role in &plan.roles {
        body.push_str(&format!("- role `{role}`\n"));
    }
    for subject in &plan.subjects {
        body.push_str(&format!("- `{subject}`\n"));
    }
    body.push_str(&format!(
        "\n`migrate trust --repo {} --account-id ACCOUNT` prints (or applies) the provider and role.\n",
        plan.repository
    ));
    if !plan.preflight.is_empty() {
        let denied = plan.preflight.iter().filter(|r| !r.check.passes()).count();
        body.push_str(&format!(
            "\n### Pre-flight trust check\nEach migrated job, each way it runs, against the role's trust policy as IAM holds it now: {denied} of {} would not be allowed to assume the role.\n\n",
            plan.preflight.len()
        ));
        body.push_str(&crate::trust::preflight::markdown(&plan.preflight));
    }
    if !plan.manual.is_empty() {
        body.push_str("\n### Left for a person\n");
        for (path, m) in &plan.manual {
            body.push_str(&format!(
                "- `{path}:{}` `{}`: {}\n",
                m.line, m.rule, m.reason
            ));
        }
    }
    if !plan.notes.is_empty() {
        body.push_str("\n### Notes\n");
        for note in &plan.notes {
            body.push_str(&format!("- {note}\n"));
        }
    }
    let mut diff: String = plan.files.iter().map(|f| f.diff.as_str()).collect();
    if diff.len() > MAX_DIFF_IN_BODY {
        let cut = (0..=MAX_DIFF_IN_BODY)
            .rev()
            .find(|&i| diff.is_char_boundary(i))
            .unwrap_or(0);
        diff.truncate(cut);
        diff.push_str("\n... (diff truncated; see the Files tab)\n");
    }
    body.push_str(&format!(
        "\n<details><summary>Diff</summary>\n\n```diff\n{diff}```\n\n</details>\n"
    ));
    body
}

/// What happened to one repository.
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
    ) -> Result<Option<i64>, String>;
    fn end(&self, id: Option<i64>, error: Option<&str>);
    /// The campaign now has this pull request for `repo`.
    fn pull_request(&self, repo: &str, number: u64, url: &str, head: &str);
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
    ) -> Result<Option<i64>, String> {
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
    NotJournaled(JournalAction, String),
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

/// The most content-creating requests publishing `plan` can take: a blob per file, the tree,
/// the commit, the branch, the pull request, and its labels. Fewer when the branch or the pull
/// request is already up to date.
pub fn writes_upper_bound(plan: &RepoPlan, labels: bool) -> u64 {
    plan.files.len() as u64 + 4 + u64::from(labels)
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
