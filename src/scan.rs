//! The scan pipeline: per-file analysis (parse, classify, detect, facts), then the
//! cross-file pass that links `secrets: inherit` callers to their local callees.

use std::collections::HashMap;
use std::path::{Component, Path, PathBuf};

use rayon::prelude::*;

use crate::detect::{self, CalleeKeys, FileContext, Finding, Fix, InheritCall, Severity};
use crate::discover::{self, Candidate};
use crate::facts::{self, JobFacts, Triggers};
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
    pub aws_steps: Vec<crate::aws_steps::JobSteps>,
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
pub fn analyze(path: &str, text: &str, explicit: bool) -> FileOutcome {
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
    let cx = FileContext {
        path,
        text,
        lines: &lines,
        workflow,
    };
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
    let report = FileReport {
        repository: None,
        path: path.to_string(),
        kind: workflow.kind,
        jobs: facts::job_facts(&workflow, &triggers),
        triggers,
        findings: detect::detect(&cx),
        inherit_calls: detect::inherit_calls(&cx),
        aws_steps: crate::aws_steps::read(&workflow, &lines, text),
    };
    FileOutcome::Scanned(Box::new(report), problem)
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
pub fn scan_texts(inputs: Vec<Input>) -> ScanReport {
    let outcomes: Vec<FileOutcome> = inputs
        .into_par_iter()
        .map(|input| match input.text {
            Ok(text) => analyze(&input.path, &text, input.explicit),
            Err(e) => FileOutcome::Failed(e),
        })
        .collect();
    let mut report = ScanReport::default();
    for outcome in outcomes {
        match outcome {
            FileOutcome::Scanned(file, problem) => {
                report.files.push(*file);
                report.errors.extend(problem);
            }
            FileOutcome::Skipped => report.skipped += 1,
            FileOutcome::Failed(e) => report.errors.push(e),
        }
    }
    link_reusable_callers(&mut report.files);
    report.files.sort_by(|a, b| a.path.cmp(&b.path));
    report
        .errors
        .sort_by(|a, b| (&a.path, a.line).cmp(&(&b.path, b.line)));
    report
}

/// Reads candidates from disk (in parallel) and scans them.
pub fn scan_paths(paths: &[PathBuf]) -> ScanReport {
    let (candidates, walk_errors) = discover::discover(paths);
    let inputs: Vec<Input> = candidates.par_iter().map(read_candidate).collect();
    let mut report = scan_texts(inputs);
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
/// workflow that uses keys), keyed by path. Only files that mention `inherit`, and the local
/// workflows they call, are analyzed: everything else cannot contribute.
pub fn cross_file_findings(files: &[(String, &str)]) -> HashMap<String, Vec<Finding>> {
    let analyzed = |i: usize| match analyze(&files[i].0, files[i].1, true) {
        FileOutcome::Scanned(report, _) => Some(*report),
        _ => None,
    };
    let mut reports: Vec<FileReport> = (0..files.len())
        .filter(|&i| files[i].1.contains("inherit"))
        .filter_map(analyzed)
        .collect();
    let wanted: Vec<PathBuf> = reports
        .iter()
        .flat_map(|r| {
            let root = repo_root(Path::new(&r.path));
            r.inherit_calls
                .iter()
                .filter_map(move |c| root.as_ref().map(|root| normalize(&root.join(&c.callee))))
        })
        .collect();
    let have: Vec<PathBuf> = reports
        .iter()
        .map(|r| normalize(Path::new(&r.path)))
        .collect();
    for (i, (path, _)) in files.iter().enumerate() {
        let path = normalize(Path::new(path));
        if wanted.contains(&path) && !have.contains(&path) {
            reports.extend(analyzed(i));
        }
    }
    link_reusable_callers(&mut reports);
    reports
        .into_iter()
        .map(|r| {
            (
                r.path,
                r.findings
                    .into_iter()
                    .filter(|f| f.cross_file)
                    .collect::<Vec<_>>(),
            )
        })
        .filter(|(_, f)| !f.is_empty())
        .collect()
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

fn link_reusable_callers(files: &mut [FileReport]) {
    let index: HashMap<PathBuf, usize> = files
        .iter()
        .enumerate()
        .map(|(i, f)| (normalize(Path::new(&f.path)), i))
        .collect();
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
                all_auto: used.iter().all(|f| f.fix == Fix::Auto),
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
