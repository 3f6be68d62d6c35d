//! What `rewrite --pr` intends for one repository: every file of its snapshot rewritten, with
//! what is left to a person, the `sub` claims and roles it needs (pure).

use crate::facts::Subject;
use crate::github::RepoSnapshot;
use crate::rewrite::{self, ManualFinding, RewriteOptions};
use crate::scan::{self, FileOutcome};

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

/// The most content-creating requests publishing `plan` can take: a blob per file, the tree,
/// the commit, the branch, the pull request, and its labels. Fewer when the branch or the pull
/// request is already up to date.
pub fn writes_upper_bound(plan: &RepoPlan, labels: bool) -> u64 {
    plan.files.len() as u64 + 4 + u64::from(labels)
}
