//! Giving a job `id-token: write` without taking away any scope it had: a job map gains the
//! entry; a job that inherited the workflow's map gets a copy of it plus the entry; a job
//! on repository defaults gets `contents: read` plus every scope its steps use (see
//! [`crate::detect::token_scopes`]) and whatever the local reusable workflow it calls requests,
//! or is refused when that cannot be told; `read-all` becomes an explicit read map;
//! `write-all` already grants it.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::edits::EditSet;
use super::layout;
use super::verify::{Changes, Value};
use crate::detect::token_scopes::{self, Access, Scope, Scopes};
use crate::workflow::{Job, Uses, Workflow};
use crate::yaml::{Document, Node, Style};

/// How deep reusable workflows may nest before migrate stops following them (GitHub allows
/// ten levels of callers and callees).
const MAX_CALL_DEPTH: usize = 10;

/// The trailing comment written on every added `id-token: write`; it also keeps zizmor's
/// `undocumented-permissions` audit quiet.
pub const ID_TOKEN_COMMENT: &str = "# needed by aws-actions/configure-aws-credentials (OIDC)";

/// Every scope `read-all` grants read access to (`id-token` has no read level).
pub const READ_ALL_SCOPES: &[&str] = &[
    "actions",
    "attestations",
    "checks",
    "contents",
    "deployments",
    "discussions",
    "issues",
    "models",
    "packages",
    "pages",
    "pull-requests",
    "repository-projects",
    "security-events",
    "statuses",
];

/// The texts of the workflow files of one run, so a caller's grant can cover what the local
/// reusable workflows it calls request. Cheap to clone; empty when the run has none.
#[derive(Clone, Default)]
pub struct LocalWorkflows {
    /// Normalised path (`repo/.github/workflows/x.yml`) → text.
    files: Arc<BTreeMap<String, String>>,
}

/// Paths only: the texts may hold key material, which is never printed.
impl std::fmt::Debug for LocalWorkflows {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.files.keys()).finish()
    }
}

impl LocalWorkflows {
    /// The run's files, by the paths the run knows them by.
    pub fn from_files<P: AsRef<str>, T: AsRef<str>>(
        files: impl IntoIterator<Item = (P, T)>,
    ) -> Self {
        Self {
            files: Arc::new(
                files
                    .into_iter()
                    .map(|(p, t)| (normalize(p.as_ref()), t.as_ref().to_string()))
                    .collect(),
            ),
        }
    }

    /// The run's files that can be called (their text mentions `workflow_call`, which a
    /// callee's `on:` must name): a run over thousands of files keeps only those texts.
    pub fn from_callable_files<P: AsRef<str>, T: AsRef<str>>(
        files: impl IntoIterator<Item = (P, T)>,
    ) -> Self {
        Self::from_files(
            files
                .into_iter()
                .filter(|(_, t)| t.as_ref().contains("workflow_call")),
        )
    }

    /// The callees of the file at `caller` (a path of this run).
    pub fn seen_from<'a>(&'a self, caller: &'a str) -> Callees<'a> {
        Callees {
            workflows: Some(self),
            caller,
        }
    }
}

/// Local reusable workflows as seen from one caller file: `./.github/workflows/x.yml` is
/// resolved against the caller's repository root (the directory holding its `.github`).
#[derive(Debug, Clone, Copy)]
pub struct Callees<'a> {
    workflows: Option<&'a LocalWorkflows>,
    caller: &'a str,
}

impl<'a> Callees<'a> {
    /// No callee texts at all (a single file).
    pub fn none() -> Callees<'static> {
        Callees {
            workflows: None,
            caller: "",
        }
    }

    /// The path and text of the local workflow `uses` (`./...`) names.
    fn resolve(&self, uses: &str) -> Option<(&'a str, &'a str)> {
        let files = &self.workflows?.files;
        let caller = normalize(self.caller);
        let root = match caller.find("/.github/") {
            Some(i) => &caller[..i + 1],
            None if caller.starts_with(".github/") => "",
            None => return None,
        };
        let target = normalize(&format!("{root}{}", uses.trim()));
        files
            .get_key_value(&target)
            .map(|(p, t)| (p.as_str(), t.as_str()))
    }

    fn from(&self, caller: &'a str) -> Callees<'a> {
        Callees {
            workflows: self.workflows,
            caller,
        }
    }
}

/// `./a/./b/../c` → `a/c` (and `\` → `/`), without touching the filesystem.
fn normalize(path: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    let unified = path.replace('\\', "/");
    for part in unified.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            other => parts.push(other),
        }
    }
    let joined = parts.join("/");
    if unified.starts_with('/') {
        format!("/{joined}")
    } else {
        joined
    }
}

#[derive(Debug, Default)]
pub struct PermissionPlan {
    pub edits: EditSet,
    pub changes: Changes,
    pub description: String,
    pub note: Option<String>,
}

#[derive(Debug)]
pub enum Grant {
    /// The job already ends up with `id-token: write`.
    AlreadyGranted,
    Planned(Box<PermissionPlan>),
    /// Cannot be done safely; the reason says why.
    Impossible(String),
}

/// The reason `rewrite` would refuse to give `job` `id-token: write` (its finding then
/// becomes `manual`), or `None` when it can. `scan` calls this so both reach one verdict.
pub fn permissions_blocker(
    text: &str,
    workflow: &Workflow<'_>,
    job: &Job<'_>,
    callees: &Callees<'_>,
) -> Option<String> {
    match grant_id_token(text, workflow, job, callees) {
        Grant::Impossible(reason) => Some(reason),
        Grant::AlreadyGranted | Grant::Planned(_) => None,
    }
}

/// Plans the edits that give `job` `id-token: write`. `callees` gives the texts of local
/// reusable workflows `job` may call, whose requested permissions its map must allow.
pub fn grant_id_token(
    text: &str,
    workflow: &Workflow<'_>,
    job: &Job<'_>,
    callees: &Callees<'_>,
) -> Grant {
    let label = job.label();
    if let Some(perms) = job.permissions() {
        if perms.touches_anchor() {
            return Grant::Impossible(format!(
                "the permissions of job {label} use YAML anchors or aliases"
            ));
        }
        if let Some(reason) = callee_not_allowed(job, perms, callees) {
            return Grant::Impossible(reason);
        }
        return match scalar_keyword(perms) {
            Some("write-all") => Grant::AlreadyGranted,
            Some("read-all") => replace_with_read_all(text, job, perms),
            Some(other) => Grant::Impossible(format!(
                "job {label} has `permissions: {other}`, which is not a known value"
            )),
            None => add_to_map(text, perms, &label),
        };
    }
    if job.key.is_none() {
        return Grant::Impossible("a composite action has no permissions of its own".into());
    }
    match workflow.permissions() {
        Some(wf) if wf.touches_anchor() => {
            Grant::Impossible("the workflow's permissions use YAML anchors or aliases".to_string())
        }
        Some(wf) => match scalar_keyword(wf) {
            _ if let Some(reason) = callee_not_allowed(job, wf, callees) => {
                Grant::Impossible(reason)
            }
            Some("write-all") => Grant::AlreadyGranted,
            Some("read-all") => {
                let entries: Vec<(String, String, Value)> = READ_ALL_SCOPES
                    .iter()
                    .map(|s| (s.to_string(), "read".to_string(), Value::plain("read")))
                    .collect();
                add_job_map(
                    text,
                    job,
                    entries,
                    format!(
                        "job {label}: added `permissions:` spelling out the workflow's `read-all` plus `id-token: write`"
                    ),
                    None,
                )
            }
            Some(other) => Grant::Impossible(format!(
                "the workflow has `permissions: {other}`, which is not a known value"
            )),
            None => {
                if wf.get_str("id-token") == Some("write") {
                    return Grant::AlreadyGranted;
                }
                let mut entries = Vec::new();
                for (k, v) in wf.entries().filter(|(k, _)| k.as_str() != Some("id-token")) {
                    let (Some(ktext), Some(vtext)) =
                        (single_line_scalar(text, k), single_line_scalar(text, v))
                    else {
                        return Grant::Impossible(
                            "the workflow's permissions map has an entry that cannot be copied"
                                .into(),
                        );
                    };
                    entries.push((ktext.to_string(), vtext.to_string(), Value::of(v)));
                }
                add_job_map(
                    text,
                    job,
                    entries,
                    format!(
                        "job {label}: added `permissions:` copying the workflow's map plus `id-token: write` (a job map replaces the workflow's)"
                    ),
                    None,
                )
            }
        },
        None => on_repository_defaults(text, workflow, job, callees),
    }
}

/// A job that ran on the repository's default scopes gets its first map: `contents: read`,
/// every scope its steps use and every scope its local callee asks for, plus `id-token: write`.
fn on_repository_defaults(
    text: &str,
    workflow: &Workflow<'_>,
    job: &Job<'_>,
    callees: &Callees<'_>,
) -> Grant {
    let label = job.label();
    let needs = token_scopes::job_token_needs(workflow, job);
    if let Some(reason) = needs.blocker(&label) {
        return Grant::Impossible(reason);
    }
    // Each added scope says why, for the reviewer of the pull request (and zizmor's
    // `undocumented-permissions`); the baseline `contents: read` is GitHub's own example.
    let mut scopes = Scopes::of(&[(Scope::Contents, Access::Read)]);
    let mut reasons = needs.reasons.clone();
    reasons.retain(|scope, _| {
        !(*scope == Scope::Contents && needs.scopes.get(*scope) == Some(Access::Read))
    });
    scopes.extend(&needs.scopes);
    if let Some(call) = job.reusable_call() {
        match callee_needs(&call, callees, 1) {
            Ok(callee) => {
                let mut wanted = callee.requested;
                wanted.extend(&callee.inherited);
                for (scope, access) in wanted.missing_from(&scopes).iter() {
                    if scope != Scope::Contents || access == Access::Write {
                        reasons.insert(scope, format!("requested by {}", call.raw.trim()));
                    }
                }
                scopes.extend(&wanted);
            }
            Err(reason) => {
                return Grant::Impossible(format!(
                    "job {label} ran with the repository's default token scopes and {reason}"
                ));
            }
        }
    }
    let entries: Vec<(String, String, Value)> = scopes
        .iter()
        .filter(|(s, _)| *s != Scope::IdToken)
        .map(|(s, a)| {
            let written = match reasons.get(&s) {
                Some(why) => format!("{}  # {why}", a.as_str()),
                None => a.as_str().to_string(),
            };
            (s.as_str().to_string(), written, Value::plain(a.as_str()))
        })
        .collect();
    let listed: Vec<String> = scopes
        .iter()
        .filter(|(s, _)| *s != Scope::IdToken)
        .map(|(s, a)| format!("`{}: {}`", s.as_str(), a.as_str()))
        .collect();
    add_job_map(
        text,
        job,
        entries,
        format!(
            "job {label}: added `permissions:` with {} and `id-token: write`",
            listed.join(", ")
        ),
        None,
    )
}

/// What the local workflow a job calls asks of the caller's token: the maps its jobs request
/// (GitHub refuses to start the run when the caller allows less), and what its jobs without a
/// map use, since they run with the caller's token as it is.
#[derive(Debug, Default)]
struct CalleeNeeds {
    requested: Scopes,
    inherited: Scopes,
}

/// Why what a called workflow asks of the caller's token cannot be told. Each message follows
/// "job NAME ran with the repository's default token scopes and" in the reason a grant is
/// refused with.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
enum CalleeUnknown {
    #[error(
        "cannot see the permissions its callee {callee} (in another repository) requests: give the calling job a `permissions:` map covering them"
    )]
    InAnotherRepository { callee: String },
    #[error("its reusable workflows nest deeper than {MAX_CALL_DEPTH} levels at {callee}")]
    NestedTooDeep { callee: String },
    #[error("cannot see the permissions its callee {callee} requests: rewrite them together")]
    NotInThisRun { callee: String },
    #[error("its callee {callee} is not a workflow migrate can read")]
    NotAWorkflow { callee: String },
    #[error("the permissions job {job} of its callee {callee} requests {problem}")]
    UnreadableRequest {
        job: String,
        callee: String,
        problem: UnreadablePermissions,
    },
    #[error(
        "its callee {callee} has job {job}, which takes the caller's token and whose {step} cannot be told: {reason}"
    )]
    UndecidableStep {
        callee: String,
        job: String,
        step: String,
        /// Boxed, so that every `Result` carrying a `CalleeUnknown` stays small.
        reason: Box<token_scopes::ScopeError>,
    },
}

/// Why a `permissions:` value cannot be read as scopes. Each message completes "the
/// permissions job J of its callee C requests ...", whose subject is the permissions.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
enum UnreadablePermissions {
    #[error("use YAML anchors or aliases")]
    Anchors,
    #[error("are `{value}`, which is not a known value")]
    UnknownKeyword { value: String },
    #[error("give `{scope}` a value that is not read, write or none")]
    UnknownAccess { scope: String },
    #[error("name `{scope}`, which is not a known scope")]
    UnknownScope { scope: String },
}

fn callee_needs(
    call: &Uses<'_>,
    callees: &Callees<'_>,
    depth: usize,
) -> Result<CalleeNeeds, CalleeUnknown> {
    // The callee's name is copied only into an error.
    let callee = || call.raw.trim().to_string();
    if !call.local {
        return Err(CalleeUnknown::InAnotherRepository { callee: callee() });
    }
    if depth > MAX_CALL_DEPTH {
        return Err(CalleeUnknown::NestedTooDeep { callee: callee() });
    }
    let Some((path, text)) = callees.resolve(call.path) else {
        return Err(CalleeUnknown::NotInThisRun { callee: callee() });
    };
    let unreadable = || CalleeUnknown::NotAWorkflow { callee: callee() };
    let doc = Document::parse(text).map_err(|_| unreadable())?;
    let workflow = Workflow::classify(&doc).ok_or_else(unreadable)?;
    let mut out = CalleeNeeds::default();
    for job in workflow.jobs() {
        let label = job.label();
        match job.permissions().or_else(|| workflow.permissions()) {
            Some(perms) => {
                let requested = requested_scopes(perms).map_err(|problem| {
                    CalleeUnknown::UnreadableRequest {
                        job: label,
                        callee: callee(),
                        problem,
                    }
                })?;
                out.requested.extend(&requested);
            }
            None => {
                out.inherited.grant(Scope::Contents, Access::Read);
                let needs = token_scopes::job_token_needs(&workflow, &job);
                if let Some(first) = needs.undecidable.first() {
                    return Err(CalleeUnknown::UndecidableStep {
                        callee: callee(),
                        job: label,
                        step: first.step.clone(),
                        reason: Box::new(first.reason.clone()),
                    });
                }
                out.inherited.extend(&needs.scopes);
                if let Some(nested) = job.reusable_call() {
                    let deeper = callee_needs(&nested, &callees.from(path), depth + 1)?;
                    out.requested.extend(&deeper.requested);
                    out.inherited.extend(&deeper.inherited);
                }
            }
        }
    }
    Ok(out)
}

/// The scopes a `permissions:` value grants (or requests).
fn requested_scopes(perms: Node<'_>) -> Result<Scopes, UnreadablePermissions> {
    if perms.touches_anchor() {
        return Err(UnreadablePermissions::Anchors);
    }
    match scalar_keyword(perms) {
        Some("read-all") => return Ok(Scopes::all(Access::Read)),
        Some("write-all") => return Ok(Scopes::all(Access::Write)),
        Some(other) => {
            return Err(UnreadablePermissions::UnknownKeyword {
                value: other.to_string(),
            });
        }
        None => {}
    }
    let mut out = Scopes::default();
    for (k, v) in perms.entries() {
        let key = k.as_str().unwrap_or("");
        let access = match v.as_str().map(str::trim) {
            Some("read") => Access::Read,
            Some("write") => Access::Write,
            Some("none") => continue,
            _ => {
                return Err(UnreadablePermissions::UnknownAccess {
                    scope: key.to_string(),
                });
            }
        };
        match Scope::parse(key.trim()) {
            Some(scope) => out.grant(scope, access),
            None if key.trim() == "metadata" => {}
            None => {
                return Err(UnreadablePermissions::UnknownScope {
                    scope: key.to_string(),
                });
            }
        }
    }
    Ok(out)
}

/// Why `perms` (the caller's map, or the workflow map it inherits) does not allow what the
/// local workflow `job` calls requests; `None` when it does, or when the callee cannot be
/// seen (the map then stays what it was, plus `id-token: write`).
fn callee_not_allowed(job: &Job<'_>, perms: Node<'_>, callees: &Callees<'_>) -> Option<String> {
    let call = job.reusable_call()?;
    if !call.local {
        return None;
    }
    let callee = callee_needs(&call, callees, 1).ok()?;
    let granted = requested_scopes(perms).ok()?;
    let mut missing = callee.requested.missing_from(&granted);
    missing = Scopes::of(
        &missing
            .iter()
            .filter(|(s, _)| *s != Scope::IdToken)
            .collect::<Vec<_>>(),
    );
    (!missing.is_empty()).then(|| {
        format!(
            "job {} calls {}, whose jobs request {}, which its `permissions:` do not allow (GitHub refuses to start the run): add them to its map",
            job.label(),
            call.raw.trim(),
            missing.describe()
        )
    })
}

fn scalar_keyword<'d>(node: Node<'d>) -> Option<&'d str> {
    if node.is_mapping() {
        None
    } else {
        Some(
            node.as_str()
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .unwrap_or("(null)"),
        )
    }
}

fn single_line_scalar<'t>(text: &'t str, node: Node<'_>) -> Option<&'t str> {
    let span = node.span();
    let src = &text[span.start..span.end];
    (node.as_str().is_some()
        && !node.is_alias()
        && !matches!(node.style(), Style::Literal | Style::Folded)
        && !src.is_empty()
        && !src.contains('\n'))
    .then_some(src)
}

fn add_to_map(text: &str, perms: Node<'_>, label: &str) -> Grant {
    let mut plan = PermissionPlan::default();
    if let Some((_, value)) = perms.entry("id-token") {
        if value.as_str() == Some("write") {
            return Grant::AlreadyGranted;
        }
        let Some(_) = single_line_scalar(text, value) else {
            return Grant::Impossible(format!(
                "job {label}: its `id-token` permission is not a plain value"
            ));
        };
        let span = value.span();
        let comment = if layout::rest_is_blank_or_comment(text, span.end)
            && !text[span.end..layout::line_content_end(text, span.end)].contains('#')
            && perms.style() == Style::Block
        {
            format!("  {ID_TOKEN_COMMENT}")
        } else {
            String::new()
        };
        if plan
            .edits
            .push(span.start..span.end, format!("write{comment}"))
            .is_err()
        {
            return Grant::Impossible("overlapping edits".into());
        }
        plan.changes.replace(value, Value::plain("write"));
        plan.description = format!("job {label}: set `id-token: write` in its permissions");
        return Grant::Planned(Box::new(plan));
    }
    plan.changes
        .add_entry(perms, "id-token", Value::plain("write"));
    plan.description = format!("job {label}: added `id-token: write` to its permissions");
    let span = perms.span();
    if perms.style() == Style::Flow {
        let last = perms.entries().last();
        let (range, insert) = match last {
            None => (span.start..span.end, "{ id-token: write }".to_string()),
            Some((k, v)) => {
                let end = layout::entry_end(text, k, v);
                (end..end, ", id-token: write".to_string())
            }
        };
        let _ = plan.edits.push(range, insert);
        let close = span.end;
        if !text[close..layout::line_content_end(text, close)].contains('#')
            && layout::rest_is_blank_or_comment(text, close)
        {
            let _ = plan
                .edits
                .push(close..close, format!("  {ID_TOKEN_COMMENT}"));
        }
        return Grant::Planned(Box::new(plan));
    }
    let Some(indent) = layout::entry_indent(text, perms) else {
        return Grant::Impossible(format!("job {label}: its permissions map is empty"));
    };
    let Some((k, v)) = perms.entries().last() else {
        return Grant::Impossible("empty permissions".into());
    };
    let end = layout::entry_end(text, k, v);
    if !layout::rest_is_blank_or_comment(text, end) {
        return Grant::Impossible(format!(
            "job {label}: its permissions map has an unusual layout"
        ));
    }
    let line = format!(
        "{}id-token: write  {ID_TOKEN_COMMENT}",
        layout::spaces(indent)
    );
    let (range, insert) = insertion_after_line(text, end, &line);
    if plan.edits.push(range, insert).is_err() {
        return Grant::Impossible("overlapping edits".into());
    }
    Grant::Planned(Box::new(plan))
}

/// An insertion of `line` as a new line after the line holding `pos`, keeping a missing
/// final newline missing.
fn insertion_after_line(text: &str, pos: usize, line: &str) -> (std::ops::Range<usize>, String) {
    let eol = layout::line_ending_at(text, pos);
    let at = layout::next_line_start(text, pos);
    if at == text.len() && !text.ends_with('\n') {
        (at..at, format!("{eol}{line}"))
    } else {
        (at..at, format!("{line}{eol}"))
    }
}

fn replace_with_read_all(text: &str, job: &Job<'_>, perms: Node<'_>) -> Grant {
    let Some((job_indent, unit)) = job_indents(text, job) else {
        return Grant::Impossible(format!(
            "job {}: its layout is too unusual to edit",
            job.label()
        ));
    };
    let eol = layout::line_ending_at(text, perms.span().start);
    let inner = layout::spaces(job_indent + unit);
    let mut block = String::new();
    let mut entries = Vec::new();
    for scope in READ_ALL_SCOPES {
        block.push_str(&format!("{eol}{inner}{scope}: read"));
        entries.push((*scope, Value::plain("read")));
    }
    block.push_str(&format!("{eol}{inner}id-token: write  {ID_TOKEN_COMMENT}"));
    entries.push(("id-token", Value::plain("write")));
    let mut plan = PermissionPlan::default();
    let span = perms.span();
    // The block starts on the next line: drop the spaces after `permissions:` too.
    let start = span.start - text[..span.start].len()
        + text[..span.start].trim_end_matches([' ', '\t']).len();
    if plan.edits.push(start..span.end, block).is_err() {
        return Grant::Impossible("overlapping edits".into());
    }
    plan.changes.replace(perms, Value::map(entries));
    plan.description = format!(
        "job {}: spelled out `read-all` as read scopes plus `id-token: write`",
        job.label()
    );
    Grant::Planned(Box::new(plan))
}

/// The column of the job's keys and the indentation step to nest under them: the step the
/// job already uses for a nested block mapping (`env:`, `defaults:`), else job keys minus
/// the job id's column.
fn job_indents(text: &str, job: &Job<'_>) -> Option<(usize, usize)> {
    let key = job.key?;
    let indent = layout::entry_indent(text, job.node)?;
    let nested = job.node.entries().find_map(|(k, v)| {
        let inner = layout::entry_indent(text, v)?;
        inner
            .checked_sub(layout::column(text, k.span().start))
            .filter(|&u| u > 0)
    });
    let unit = nested
        .or_else(|| {
            indent
                .checked_sub(layout::column(text, key.span().start))
                .filter(|&u| u > 0)
        })
        .unwrap_or(2);
    Some((indent, unit))
}

/// Adds a `permissions:` block to a job that has none, just before its `steps:` (or `uses:`
/// for a reusable-workflow call), so comments above other keys stay where they are.
fn add_job_map(
    text: &str,
    job: &Job<'_>,
    entries: Vec<(String, String, Value)>,
    description: String,
    note: Option<String>,
) -> Grant {
    let label = job.label();
    let Some((indent, unit)) = job_indents(text, job) else {
        return Grant::Impossible(format!("job {label}: its layout is too unusual to edit"));
    };
    let job_entries: Vec<(Node<'_>, Node<'_>)> = job.node.entries().collect();
    let anchor = job_entries
        .iter()
        .position(|(k, _)| matches!(k.as_str(), Some("steps" | "uses")))
        .unwrap_or(job_entries.len());
    let at = if anchor == 0 {
        let first = job_entries[0].0.span().start;
        if !layout::starts_line(text, first) {
            return Grant::Impossible(format!("job {label}: its layout is too unusual to edit"));
        }
        layout::line_start(text, first)
    } else {
        let (k, v) = job_entries[anchor - 1];
        let end = layout::entry_end(text, k, v);
        if !layout::rest_is_blank_or_comment(text, end) {
            return Grant::Impossible(format!("job {label}: its layout is too unusual to edit"));
        }
        layout::next_line_start(text, end)
    };
    let eol = layout::line_ending_at(text, at.min(text.len().saturating_sub(1)));
    let outer = layout::spaces(indent);
    let inner = layout::spaces(indent + unit);
    let mut lines = vec![format!("{outer}permissions:")];
    let mut values = Vec::new();
    for (k, v, value) in entries {
        lines.push(format!("{inner}{k}: {v}"));
        values.push((Value::plain(&k), value));
    }
    lines.push(format!("{inner}id-token: write  {ID_TOKEN_COMMENT}"));
    values.push((Value::plain("id-token"), Value::plain("write")));
    let block = if at == text.len() && !text.ends_with('\n') {
        format!("{eol}{}", lines.join(eol))
    } else {
        format!("{}{eol}", lines.join(eol))
    };
    let mut plan = PermissionPlan {
        description,
        note,
        ..PermissionPlan::default()
    };
    if plan.edits.push(at..at, block).is_err() {
        return Grant::Impossible("overlapping edits".into());
    }
    plan.changes
        .add_entry(job.node, "permissions", Value::Mapping(values));
    Grant::Planned(Box::new(plan))
}

#[cfg(test)]
mod tests {
    use super::*;

    const DEPLOY: &str = "on:\n  workflow_call:\njobs:\n  d:\n    runs-on: ubuntu-latest\n    permissions:\n      contents: read\n      pull-requests: write\n    steps:\n      - run: make\n";
    const MIDDLE: &str =
        "on:\n  workflow_call:\njobs:\n  m:\n    uses: ./.github/workflows/deploy.yml\n";

    fn blocker(text: &str, files: &[(&str, &str)]) -> Option<String> {
        let local = LocalWorkflows::from_files(files.iter().copied());
        let doc = Document::parse(text).expect("valid YAML");
        let workflow = Workflow::classify(&doc).expect("a workflow");
        let job = workflow.jobs()[0];
        permissions_blocker(
            text,
            &workflow,
            &job,
            &local.seen_from("repo/.github/workflows/caller.yml"),
        )
    }

    fn caller(perms: &str, callee: &str) -> String {
        format!("on: push\njobs:\n  c:\n{perms}    uses: ./.github/workflows/{callee}\n")
    }

    #[test]
    fn a_job_whose_token_use_cannot_be_told_is_blocked_with_the_step() {
        let text = "on: push\njobs:\n  j:\n    runs-on: ubuntu-latest\n    steps:\n      - uses: actions/github-script@v7\n        with:\n          script: await github.graphql('{ viewer { login } }')\n";
        let reason = blocker(text, &[]).expect("blocked");
        assert!(
            reason.contains("step 1 (actions/github-script@v7)"),
            "{reason}"
        );
        assert!(reason.contains("GraphQL"), "{reason}");
    }

    #[test]
    fn a_job_on_defaults_whose_scopes_are_known_is_not_blocked() {
        let text = "on: push\njobs:\n  j:\n    runs-on: ubuntu-latest\n    steps:\n      - uses: actions/checkout@v4\n      - run: aws s3 ls\n";
        assert_eq!(blocker(text, &[]), None);
    }

    #[test]
    fn a_caller_needs_its_callee_text() {
        let reason = blocker(&caller("", "deploy.yml"), &[]).expect("blocked");
        assert!(
            reason.contains("cannot see the permissions its callee ./.github/workflows/deploy.yml requests: rewrite them together"),
            "{reason}"
        );
        let files = [("repo/.github/workflows/deploy.yml", DEPLOY)];
        assert_eq!(blocker(&caller("", "deploy.yml"), &files), None);
    }

    #[test]
    fn a_remote_callee_cannot_be_seen() {
        let text = "on: push\njobs:\n  c:\n    uses: acme/shared/.github/workflows/deploy.yml@v1\n";
        let reason = blocker(text, &[]).expect("blocked");
        assert!(reason.contains("in another repository"), "{reason}");
    }

    #[test]
    fn an_explicit_caller_map_must_allow_what_the_callees_request_down_every_level() {
        let files = [
            ("repo/.github/workflows/deploy.yml", DEPLOY),
            ("repo/.github/workflows/middle.yml", MIDDLE),
        ];
        let narrow = "    permissions:\n      contents: read\n";
        for callee in ["deploy.yml", "middle.yml"] {
            let reason = blocker(&caller(narrow, callee), &files).expect("blocked");
            assert!(
                reason.contains("pull-requests: write"),
                "{callee}: {reason}"
            );
        }
        let wide = "    permissions:\n      contents: read\n      pull-requests: write\n";
        assert_eq!(blocker(&caller(wide, "middle.yml"), &files), None);
        let workflow_map = "on: push\npermissions:\n  contents: read\njobs:\n  c:\n    uses: ./.github/workflows/middle.yml\n";
        assert!(blocker(workflow_map, &files).is_some());
    }

    #[test]
    fn a_created_map_covers_the_callee_union() {
        let files = [
            ("repo/.github/workflows/deploy.yml", DEPLOY),
            ("repo/.github/workflows/middle.yml", MIDDLE),
        ];
        let local = LocalWorkflows::from_files(files);
        let text = caller("", "middle.yml");
        let doc = Document::parse(&text).expect("valid YAML");
        let workflow = Workflow::classify(&doc).expect("a workflow");
        let job = workflow.jobs()[0];
        let Grant::Planned(plan) = grant_id_token(
            &text,
            &workflow,
            &job,
            &local.seen_from("repo/.github/workflows/caller.yml"),
        ) else {
            panic!("planned")
        };
        let edited = plan.edits.apply(&text);
        assert!(
            edited.contains("    permissions:\n      contents: read\n      pull-requests: write  # requested by ./.github/workflows/middle.yml\n      id-token: write"),
            "{edited}"
        );
    }

    #[test]
    fn callees_that_call_each_other_in_a_loop_stop_at_the_depth_limit() {
        let looped = "on:\n  workflow_call:\njobs:\n  l:\n    uses: ./.github/workflows/loop.yml\n";
        let files = [("repo/.github/workflows/loop.yml", looped)];
        let reason = blocker(&caller("", "loop.yml"), &files).expect("blocked");
        assert!(reason.contains("nest deeper than 10 levels"), "{reason}");
    }

    #[test]
    fn paths_resolve_against_the_callers_repository_root() {
        let local = LocalWorkflows::from_files([
            (".github/workflows/x.yml", "a"),
            ("r/./.github/workflows/y.yml", "b"),
        ]);
        assert_eq!(
            local
                .seen_from(".github/workflows/c.yml")
                .resolve("./.github/workflows/x.yml"),
            Some((".github/workflows/x.yml", "a"))
        );
        assert_eq!(
            local
                .seen_from("r/.github/workflows/c.yml")
                .resolve("./.github/workflows/y.yml"),
            Some(("r/.github/workflows/y.yml", "b"))
        );
        assert_eq!(
            local
                .seen_from("r/.github/workflows/c.yml")
                .resolve("./.github/workflows/x.yml"),
            None
        );
        assert_eq!(Callees::none().resolve("./.github/workflows/x.yml"), None);
    }

    #[test]
    fn debug_output_names_paths_never_texts() {
        let local =
            LocalWorkflows::from_files([(".github/workflows/x.yml", "AKIAIOSFODNN7EXAMPLE")]);
        let shown = format!("{local:?}");
        assert!(shown.contains(".github/workflows/x.yml"), "{shown}");
        assert!(!shown.contains("AKIA"), "{shown}");
    }
}
