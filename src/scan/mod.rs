//! The scan pipeline: per-file analysis (parse, classify, detect, facts), then the
//! cross-file pass that links `secrets: inherit` callers to their local callees. Reading from
//! GitHub instead of disk is [`remote`]; the secret inventory it builds is [`inventory`].

pub mod inventory;
pub mod remote;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Component, Path, PathBuf};

use rayon::prelude::*;

use crate::detect::positions::PositionKind;
use crate::detect::{self, CalleeKeys, FileContext, Finding, InheritCall, Severity};
use crate::discover::{self, Candidate};
use crate::facts::{self, JobFacts, Triggers};
use crate::rewrite::roles::{SecretNames, callers_names};
use crate::source::LineIndex;
use crate::workflow::{FileKind, Workflow};
use crate::yaml::Document;

/// What a scan learned about one workflow or composite action.
#[derive(Debug, Clone, serde::Serialize)]
pub struct FileReport {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub repository: Option<String>,
    pub path: String,
    pub kind: FileKind,
    pub triggers: Triggers,
    pub jobs: Vec<JobFacts>,
    #[serde(skip)]
    pub findings: Vec<Finding>,
    #[serde(skip)]
    inherit_calls: Vec<InheritCall>,
    /// The steps `trust --permissions inferred` compiles a policy from.
    #[serde(skip)]
    pub aws_steps: Vec<crate::facts::steps::JobSteps>,
    /// Local reusable workflows this file's jobs call (`./.github/workflows/x.yml`).
    #[serde(skip)]
    local_calls: Vec<String>,
    /// Key secrets this file's jobs pass to local reusable workflows.
    #[serde(skip)]
    passed: Vec<PassedSecret>,
    /// For a reusable workflow: what its callers in this run pass as each `secrets.NAME`, in
    /// their own secret names (through every level of callers). The role map knows keys by
    /// those names, so the callee's role follows them.
    #[serde(skip)]
    pub secret_names: SecretNames,
}

/// `NAME: ${{ secrets.FROM }}` in a job's `secrets:` for a local reusable workflow.
#[derive(Debug, Clone)]
struct PassedSecret {
    /// The callee as written.
    callee: String,
    name: String,
    from: Vec<String>,
}

/// Whether a scan records the steps of each job that holds keys, for the policy compiler
/// (`trust --permissions inferred`). Nothing else reads them, and copying every script out of
/// the tree costs a scan of thousands of files about a fifth of its time and a third of its
/// memory.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum StepRecords {
    #[default]
    Skip,
    Keep,
}

/// A file that could not be scanned, or a problem inside one that was.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct FileError {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub repository: Option<String>,
    pub path: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub column: Option<usize>,
    pub message: String,
}

pub enum FileOutcome {
    Scanned(Box<FileReport>, Option<FileError>),
    /// YAML that is neither a workflow nor a composite action (compose files, charts...).
    Skipped,
    Failed(FileError),
}

/// Whether a parse failure in this file is worth an error: it lives under `.github/`,
/// was named explicitly, or reads like a workflow or action.
fn must_report(path: &str, text: &str, explicit: bool) -> bool {
    explicit
        || Path::new(path)
            .components()
            .any(|c| c.as_os_str() == ".github")
        || text.contains("jobs:")
        || text.contains("runs:")
}

/// Parses and analyzes one file's text. Pure: no I/O.
pub fn analyze(path: &str, text: &str, explicit: bool, steps: StepRecords) -> FileOutcome {
    let doc = match Document::parse(text) {
        Ok(doc) => doc,
        Err(e) if must_report(path, text, explicit) => {
            return FileOutcome::Failed(FileError {
                repository: None,
                path: path.to_string(),
                line: (e.line > 0).then_some(e.line),
                column: (e.line > 0).then_some(e.column),
                message: format!("invalid YAML: {}", e.message),
            });
        }
        Err(_) => return FileOutcome::Skipped,
    };
    let Some(workflow) = Workflow::classify(&doc) else {
        if explicit {
            return FileOutcome::Failed(FileError {
                repository: None,
                path: path.to_string(),
                line: None,
                column: None,
                message: "not a workflow (no top-level `jobs:`) or composite action (no `runs.using: composite`)"
                    .into(),
            });
        }
        return FileOutcome::Skipped;
    };
    let lines = LineIndex::new(text);
    let cx = FileContext::new(path, text, &lines, workflow);
    let problem = (workflow.kind == FileKind::Workflow && workflow.on().is_none()).then(|| {
        let (line, column) = lines.line_col(text, workflow.root.span().start);
        FileError {
            repository: None,
            path: path.to_string(),
            line: Some(line),
            column: Some(column),
            message: "workflow has no `on:` trigger; GitHub will refuse it".into(),
        }
    });
    let triggers = Triggers::from_on(workflow.on());
    let findings = detect::detect(&cx);
    // The policy compiler reads the steps of the jobs that hold keys (every job, for keys in
    // the workflow's env); the rest need no record.
    let aws_steps = match steps {
        StepRecords::Skip => Vec::new(),
        StepRecords::Keep => {
            let keyed: Vec<Option<&str>> = findings
                .iter()
                .filter(|f| f.severity > Severity::Info)
                .map(|f| f.job.as_deref())
                .collect();
            crate::facts::steps::read(&workflow, &lines, text, |job| {
                keyed.contains(&None) || keyed.contains(&job)
            })
        }
    };
    let report = FileReport {
        repository: None,
        path: path.to_string(),
        kind: workflow.kind,
        jobs: facts::job_facts(&workflow, &triggers, cx.built_flow()),
        triggers,
        findings,
        inherit_calls: detect::inherit_calls(&cx),
        aws_steps,
        local_calls: workflow
            .jobs()
            .iter()
            .filter_map(|j| j.reusable_call())
            .filter(|u| u.local)
            .map(|u| u.raw.trim().to_string())
            .collect(),
        passed: passed_secrets(&cx),
        secret_names: SecretNames::new(),
    };
    FileOutcome::Scanned(Box::new(report), problem)
}

fn passed_secrets(cx: &FileContext<'_>) -> Vec<PassedSecret> {
    cx.positions()
        .iter()
        .filter(|p| p.kind == PositionKind::CallSecret)
        .filter_map(|p| {
            let call = p.job.as_ref()?.reusable_call()?;
            call.local.then(|| PassedSecret {
                callee: call.raw.trim().to_string(),
                name: p.name().to_string(),
                from: p.resolved.refs.iter().map(|r| r.name.clone()).collect(),
            })
        })
        .collect()
}

/// The result of scanning many files.
#[derive(Debug, Default)]
pub struct ScanReport {
    pub files: Vec<FileReport>,
    pub errors: Vec<FileError>,
    /// YAML files that were neither workflows nor composite actions.
    pub skipped: usize,
}

impl ScanReport {
    pub fn findings(&self) -> impl Iterator<Item = &Finding> {
        self.files.iter().flat_map(|f| f.findings.iter())
    }

    /// Findings that count (everything above `info`).
    pub fn actionable(&self) -> impl Iterator<Item = &Finding> {
        self.findings().filter(|f| f.severity > Severity::Info)
    }
}

/// One input to [`scan_texts`]: a display path and its text (or why it has none).
pub struct Input {
    pub path: String,
    pub text: Result<String, FileError>,
    pub explicit: bool,
}

/// Analyzes texts in parallel and links callers to callees. Pure.
pub fn scan_texts(inputs: Vec<Input>, steps: StepRecords) -> ScanReport {
    let analyzed: Vec<(FileOutcome, Option<(String, String)>)> = inputs
        .into_par_iter()
        .map(|input| match input.text {
            Ok(text) => {
                let outcome = analyze(&input.path, &text, input.explicit, steps);
                // Callers and callees of local reusable workflows keep their text, for the
                // permissions check across them.
                let linked = (text.contains("workflow_call")
                    || text.contains("./.github/workflows/"))
                .then_some((input.path, text));
                (outcome, linked)
            }
            Err(e) => (FileOutcome::Failed(e), None),
        })
        .collect();
    let mut report = ScanReport::default();
    let mut linked_texts = Vec::new();
    for (outcome, linked) in analyzed {
        linked_texts.extend(linked);
        match outcome {
            FileOutcome::Scanned(file, problem) => {
                report.files.push(*file);
                report.errors.extend(problem);
            }
            FileOutcome::Skipped => report.skipped += 1,
            FileOutcome::Failed(e) => report.errors.push(e),
        }
    }
    let linked: Vec<(&str, &str)> = linked_texts
        .iter()
        .map(|(p, t)| (p.as_str(), t.as_str()))
        .collect();
    link_callers(&mut report.files, &linked);
    report.files.sort_by(|a, b| a.path.cmp(&b.path));
    report
        .errors
        .sort_by(|a, b| (&a.path, a.line).cmp(&(&b.path, b.line)));
    report
}

/// Reads candidates from disk (in parallel) and scans them.
pub fn scan_paths(paths: &[PathBuf], steps: StepRecords) -> ScanReport {
    let (candidates, walk_errors) = discover::discover(paths);
    let inputs: Vec<Input> = candidates.par_iter().map(read_candidate).collect();
    let mut report = scan_texts(inputs, steps);
    report
        .errors
        .extend(walk_errors.into_iter().map(|e| FileError {
            repository: None,
            path: e.path.display().to_string(),
            line: None,
            column: None,
            message: e.message,
        }));
    report
}

fn read_candidate(c: &Candidate) -> Input {
    let path = c.path.display().to_string();
    let text = discover::read_text(&c.path).map_err(|e| FileError {
        repository: None,
        path: path.clone(),
        line: e.line(),
        column: None,
        message: e.to_string(),
    });
    Input {
        path,
        text,
        explicit: c.explicit,
    }
}

/// Findings only a look across files gives (a job passing `secrets: inherit` to a local
/// workflow that uses keys), and the names callers pass a callee's secrets under, keyed by
/// path. Only files that mention `inherit` or call a local workflow, and the local workflows
/// they call, are analyzed: everything else cannot contribute.
pub fn cross_file_findings(files: &[(String, &str)]) -> HashMap<String, FileLinks> {
    let analyzed = |i: usize| match analyze(&files[i].0, files[i].1, true, StepRecords::Skip) {
        FileOutcome::Scanned(report, _) => Some(*report),
        _ => None,
    };
    let mut reports: Vec<FileReport> = (0..files.len())
        .into_par_iter()
        .filter(|&i| files[i].1.contains("inherit") || files[i].1.contains("./.github/workflows/"))
        .filter_map(analyzed)
        .collect();
    // Callees, and their callees in turn (nested reusable workflows).
    loop {
        let wanted: HashSet<PathBuf> = reports
            .iter()
            .flat_map(|r| {
                let root = repo_root(Path::new(&r.path));
                r.inherit_calls
                    .iter()
                    .map(|c| c.callee.clone())
                    .chain(r.local_calls.iter().cloned())
                    .filter_map(move |c| root.as_ref().map(|root| normalize(&root.join(c))))
                    .collect::<Vec<_>>()
            })
            .collect();
        let have: HashSet<PathBuf> = reports
            .iter()
            .map(|r| normalize(Path::new(&r.path)))
            .collect();
        let missing: Vec<usize> = files
            .iter()
            .enumerate()
            .filter(|(_, (path, _))| {
                let path = normalize(Path::new(path));
                wanted.contains(&path) && !have.contains(&path)
            })
            .map(|(i, _)| i)
            .collect();
        if missing.is_empty() {
            break;
        }
        reports.par_extend(missing.into_par_iter().filter_map(analyzed));
    }
    let texts: Vec<(&str, &str)> = files.iter().map(|(p, t)| (p.as_str(), *t)).collect();
    link_callers(&mut reports, &texts);
    reports
        .into_iter()
        .map(|r| {
            let links = FileLinks {
                findings: r.findings.into_iter().filter(|f| f.cross_file).collect(),
                secret_names: r.secret_names,
            };
            (r.path, links)
        })
        .filter(|(_, l)| !l.findings.is_empty() || !l.secret_names.is_empty())
        .collect()
}

/// What the look across files tells the rewrite of one file.
#[derive(Debug, Clone, Default)]
pub struct FileLinks {
    /// Findings decided with other files in view (they replace the file's own).
    pub findings: Vec<Finding>,
    /// For a reusable workflow: its secrets in its callers' names.
    pub secret_names: SecretNames,
}

/// Callers that pass different key pairs to one local callee: the callee cannot get one role
/// for them, so neither it nor they are `auto`.
fn disagreeing_callers(files: &mut [FileReport], index: &HashMap<PathBuf, usize>) {
    let mut passed: HashMap<usize, Vec<(usize, usize, Vec<String>)>> = HashMap::new();
    for (i, file) in files.iter().enumerate() {
        let root = repo_root(Path::new(&file.path));
        for (k, f) in file.findings.iter().enumerate() {
            let (true, Some(callee), Some(root)) = (
                f.rule == detect::PASSED_TO_WORKFLOW,
                f.callee.as_deref(),
                root.as_ref(),
            ) else {
                continue;
            };
            if let Some(&c) = index.get(&normalize(&root.join(callee))) {
                passed.entry(c).or_default().push((i, k, f.secrets.clone()));
            }
        }
    }
    for (callee, callers) in passed {
        let mut pairs: Vec<&Vec<String>> = callers.iter().map(|(_, _, s)| s).collect();
        pairs.sort();
        pairs.dedup();
        if pairs.len() < 2 {
            continue;
        }
        let listed: Vec<String> = pairs.iter().map(|p| p.join("+")).collect();
        let callee_path = files[callee].path.clone();
        let reason = format!(
            "reusable-callee: callers pass different key pairs ({}) to {callee_path}, which can assume only one role: give each key pair its own workflow, or pass the role ARN as an input",
            listed.join(", ")
        );
        for (i, k, _) in &callers {
            files[*i].findings[*k].leave_to_person_linked(reason.clone());
        }
        for f in files[callee]
            .findings
            .iter_mut()
            .filter(|f| f.fix.is_auto())
        {
            f.leave_to_person_linked(reason.clone());
        }
    }
}

/// Links callers to local callees both ways a caller passes secrets; the explicit pass runs
/// again after `inherit` linking so a caller of an inheriting caller follows it too.
fn link_callers(files: &mut [FileReport], texts: &[(&str, &str)]) {
    if files.iter().all(|f| f.local_calls.is_empty()) {
        return;
    }
    let index: HashMap<PathBuf, usize> = files
        .iter()
        .enumerate()
        .map(|(i, f)| (normalize(Path::new(&f.path)), i))
        .collect();
    link_passed_names(files, &index);
    link_local_callers(files, &index);
    link_reusable_callers(files, &index);
    link_local_callers(files, &index);
    link_caller_permissions(files, texts);
}

/// One caller (by index) filling a callee's secret from these of its own names.
type Filler = (usize, Vec<String>);

/// A callee's secret its callers fill from different secrets.
struct Ambiguity {
    callee: usize,
    name: String,
    filled: Vec<Vec<String>>,
}

/// What each local callee's `secrets.NAME` holds, in its callers' names ([`FileReport::secret_names`]).
/// A name two callers fill from different secrets cannot pick one role: the callee's findings
/// that read it are left to a person (callers passing whole different pairs are caught before).
fn link_passed_names(files: &mut [FileReport], index: &HashMap<PathBuf, usize>) {
    // Callee → its secret name → what each caller passes (caller, the caller's names).
    let mut passed: BTreeMap<usize, BTreeMap<String, Vec<Filler>>> = BTreeMap::new();
    for (i, file) in files.iter().enumerate() {
        let Some(root) = repo_root(Path::new(&file.path)) else {
            continue;
        };
        let callee = |raw: &str| index.get(&normalize(&root.join(raw))).copied();
        for p in &file.passed {
            if let Some(c) = callee(&p.callee) {
                let names = passed.entry(c).or_default();
                names
                    .entry(p.name.clone())
                    .or_default()
                    .push((i, p.from.clone()));
            }
        }
        // `secrets: inherit` passes every secret under its own name.
        for call in &file.inherit_calls {
            let Some(c) = callee(&call.callee) else {
                continue;
            };
            for name in files[c].findings.iter().flat_map(|f| f.secrets.iter()) {
                let names = passed.entry(c).or_default();
                names
                    .entry(name.clone())
                    .or_default()
                    .push((i, vec![name.clone()]));
            }
        }
    }
    if passed.is_empty() {
        return;
    }
    // A caller may be a callee itself: translate through its own map, level by level.
    let mut ambiguous: Vec<Ambiguity> = Vec::new();
    for _level in 0..8 {
        ambiguous.clear();
        let mut changed = false;
        for (&c, names) in &passed {
            let mut map = SecretNames::new();
            for (name, from) in names {
                let mut filled: Vec<Vec<String>> = from
                    .iter()
                    .map(|(i, n)| callers_names(&files[*i].secret_names, n))
                    .collect();
                filled.sort();
                filled.dedup();
                match filled.as_slice() {
                    [one] => {
                        map.insert(name.clone(), one.clone());
                    }
                    _ => ambiguous.push(Ambiguity {
                        callee: c,
                        name: name.clone(),
                        filled,
                    }),
                }
            }
            if files[c].secret_names != map {
                files[c].secret_names = map;
                changed = true;
            }
        }
        if !changed {
            break;
        }
    }
    for Ambiguity {
        callee,
        name,
        filled,
    } in ambiguous
    {
        let shown: Vec<String> = filled.iter().map(|n| n.join("+")).collect();
        let reason = format!(
            "reusable-callee: its callers pass different secrets as {name} ({}): one role cannot serve them; have every caller pass the same key pair, or split the workflow",
            shown.join(", ")
        );
        for f in files[callee].findings.iter_mut() {
            if f.fix.is_auto() && f.secrets.contains(&name) {
                f.leave_to_person_linked(reason.clone());
            }
        }
    }
}

/// A job that calls a local reusable workflow must allow what its callee's jobs request (and
/// theirs, down the chain), or GitHub refuses to start the run: rewrite grants that union or
/// leaves the job to a person, and scan says the same.
fn link_caller_permissions(files: &mut [FileReport], texts: &[(&str, &str)]) {
    use crate::rewrite::permissions::{LocalWorkflows, permissions_blocker};
    if files.iter().all(|f| f.local_calls.is_empty()) {
        return;
    }
    let local = LocalWorkflows::from_callable_files(texts.iter().copied());
    let by_path: HashMap<&str, &str> = texts.iter().copied().collect();
    // Each caller is parsed again and judged on its own: in parallel, like the first pass.
    files.par_iter_mut().for_each(|file| {
        if file.local_calls.is_empty() || !file.findings.iter().any(|f| f.fix.is_auto()) {
            return;
        }
        let Some(text) = by_path.get(file.path.as_str()) else {
            return;
        };
        let Ok(doc) = Document::parse(text) else {
            return;
        };
        let Some(workflow) = Workflow::classify(&doc) else {
            return;
        };
        let callees = local.seen_from(&file.path);
        for job in workflow.jobs() {
            let (Some(id), Some(call)) = (job.id, job.reusable_call()) else {
                continue;
            };
            if !call.local {
                continue;
            }
            let reached = |f: &Finding| f.fix.is_auto() && f.job.as_deref() == Some(id);
            if !file.findings.iter().any(reached) {
                continue;
            }
            if let Some(reason) = permissions_blocker(text, &workflow, &job, &callees) {
                for f in file.findings.iter_mut().filter(|f| reached(f)) {
                    f.leave_to_person_linked(detect::token_permissions_reason(&reason));
                }
            }
        }
    });
}

/// A caller that passes key secrets to a local reusable workflow is `auto` only when that
/// workflow is among the files of this run and is itself fully `auto` (so its secrets can be
/// dropped while it moves to OIDC in the same change). Repeated so a caller of a caller
/// follows its callee's verdict. Downgraded findings are marked `cross_file`.
fn link_local_callers(files: &mut [FileReport], index: &HashMap<PathBuf, usize>) {
    disagreeing_callers(files, index);
    for _round in 0..8 {
        let mut downgrades: Vec<(usize, usize, String)> = Vec::new();
        for (i, file) in files.iter().enumerate() {
            let root = repo_root(Path::new(&file.path));
            for (k, f) in file.findings.iter().enumerate() {
                if f.rule != detect::PASSED_TO_WORKFLOW || !f.fix.is_auto() || f.cross_file {
                    continue;
                }
                let Some(callee) = f.callee.as_deref() else {
                    continue;
                };
                let target = root.as_ref().map(|r| normalize(&r.join(callee)));
                let reason = match target.as_ref().and_then(|t| index.get(t)) {
                    None => Some(format!(
                        "reusable-callee: the callee {callee} is not among the files of this run, so it would still expect the secrets this caller stops passing: rewrite them together"
                    )),
                    Some(&c) => files[c]
                        .findings
                        .iter()
                        .filter(|cf| cf.severity > Severity::Info && !cf.fix.is_auto())
                        // The root cause, not the declarations it keeps.
                        .min_by_key(|cf| cf.rule == detect::WORKFLOW_CALL_SECRET)
                        .map(|cf| {
                            format!(
                                "reusable-callee: the callee {callee} keeps its keys (line {}: {}), so this caller must keep passing them",
                                cf.line, cf.reason
                            )
                        }),
                };
                if let Some(reason) = reason {
                    downgrades.push((i, k, reason));
                }
            }
        }
        if downgrades.is_empty() {
            return;
        }
        for (i, k, reason) in downgrades {
            files[i].findings[k].leave_to_person_linked(reason);
        }
    }
}

/// The repository root of a file under `.github/` (the directory holding `.github`).
fn repo_root(path: &Path) -> Option<PathBuf> {
    let mut root = PathBuf::new();
    for component in path.components() {
        if component.as_os_str() == ".github" {
            return Some(root);
        }
        root.push(component);
    }
    None
}

/// `a/./b/../c` → `a/c`, without touching the filesystem.
fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

fn link_reusable_callers(files: &mut [FileReport], index: &HashMap<PathBuf, usize>) {
    let mut linked: Vec<(usize, Vec<Finding>)> = Vec::new();
    for (i, file) in files.iter().enumerate() {
        if file.inherit_calls.is_empty() {
            continue;
        }
        let Some(root) = repo_root(Path::new(&file.path)) else {
            continue;
        };
        let lookup = |callee: &str| {
            let target = normalize(&root.join(callee));
            let callee = &files[*index.get(&target)?];
            let used: Vec<&Finding> = callee
                .findings
                .iter()
                .filter(|f| f.severity > Severity::Info)
                .collect();
            let mut secrets: Vec<String> = used
                .iter()
                .flat_map(|f| f.secrets.iter().cloned())
                .collect();
            secrets.sort();
            secrets.dedup();
            Some(CalleeKeys {
                secrets,
                all_auto: used.iter().all(|f| f.fix.is_auto()),
                findings: &callee.findings,
            })
        };
        let found = detect::link_inherited_secrets(&file.path, &file.inherit_calls, lookup);
        if !found.is_empty() {
            linked.push((i, found));
        }
    }
    for (i, found) in linked {
        files[i].findings.extend(found);
        files[i]
            .findings
            .sort_by(|a, b| (a.line, a.column, a.rule).cmp(&(b.line, b.column, b.rule)));
    }
}
