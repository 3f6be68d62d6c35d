//! Rendering: scan results (one module per `--format`, and what a GitHub scan adds in
//! `remote`), campaign status (`status/`) and cleanup plans (`cleanup`), what `trust --apply`
//! and `--copy-permissions-from` show (`trust`), the output of `rewrite` on local files
//! (`rewrite`) and on GitHub (`publish`), rewrite diffs for a terminal (`diff`), the shared
//! summary and the exit codes.

pub mod cleanup;
pub mod diff;
pub mod flow;
pub mod github;
pub mod human;
pub mod json;
pub mod publish;
pub mod remote;
pub mod rewrite;
pub mod sarif;
pub mod status;
pub mod trust;
pub mod undo;

use std::collections::BTreeMap;

use crate::detect::{Fix, Severity};
use crate::scan::ScanReport;

/// Every exit code of every command, in one place (documented in the README and in each
/// command's `--help`).
pub mod exit {
    /// No findings, no errors.
    pub const CLEAN: u8 = 0;
    /// The tool itself failed (nothing useful was produced).
    pub const TOOL_ERROR: u8 = 1;
    /// Bad command line (clap's own code).
    pub const USAGE: u8 = 2;
    /// Findings, and every file was scanned.
    pub const FINDINGS: u8 = 10;
    /// Some files could not be scanned; no findings in the rest.
    pub const ERRORS: u8 = 11;
    /// Findings, and some files could not be scanned.
    pub const FINDINGS_AND_ERRORS: u8 = 12;
    /// `scan`/`rewrite --pr`: stopped at `--max-requests`; what was done is reported and kept,
    /// and the same command run again goes on.
    pub const STOPPED_AT_BUDGET: u8 = 13;
    /// `cleanup`: some repositories were refused (what was planned for the others was done).
    pub const REFUSED: u8 = 20;
    /// `cleanup`, `undo`: not confirmed (no terminal and no `--yes`, or another answer).
    pub const NOT_CONFIRMED: u8 = 21;

    /// The code of a run that went to its end: whether findings are left (for a person) and
    /// whether some inputs could not be handled.
    pub fn of(findings: bool, errors: bool) -> u8 {
        match (findings, errors) {
            (false, false) => CLEAN,
            (true, false) => FINDINGS,
            (false, true) => ERRORS,
            (true, true) => FINDINGS_AND_ERRORS,
        }
    }
}

/// A line a command shows as it goes, and the stream it belongs on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Line {
    /// What was done (stdout).
    Out(String),
    /// What failed (stderr).
    Err(String),
}

pub fn exit_code(report: &ScanReport) -> u8 {
    let findings = report.actionable().next().is_some();
    exit::of(findings, !report.errors.is_empty())
}

/// Counts shown at the end of every format.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Summary {
    pub files: usize,
    pub skipped: usize,
    pub errors: usize,
    pub findings: usize,
    pub auto: usize,
    pub manual: usize,
    pub info: usize,
    pub by_rule: BTreeMap<&'static str, usize>,
}

impl Summary {
    pub fn of(report: &ScanReport) -> Self {
        let mut s = Self {
            files: report.files.len(),
            skipped: report.skipped,
            errors: report.errors.len(),
            findings: 0,
            auto: 0,
            manual: 0,
            info: 0,
            by_rule: BTreeMap::new(),
        };
        for f in report.findings() {
            if f.severity == Severity::Info {
                s.info += 1;
                continue;
            }
            s.findings += 1;
            *s.by_rule.entry(f.rule).or_default() += 1;
            match f.fix {
                Fix::Auto(_) => s.auto += 1,
                Fix::Manual => s.manual += 1,
            }
        }
        s
    }

    pub fn line(&self) -> String {
        let rules: Vec<String> = self
            .by_rule
            .iter()
            .map(|(r, n)| format!("{r} {n}"))
            .collect();
        let mut line = format!(
            "scanned {} file{}, {} finding{} ({} auto, {} manual)",
            self.files,
            plural(self.files),
            self.findings,
            plural(self.findings),
            self.auto,
            self.manual
        );
        if !rules.is_empty() {
            line.push_str(&format!(": {}", rules.join(", ")));
        }
        if self.info > 0 {
            line.push_str(&format!("; {} info", self.info));
        }
        if self.errors > 0 {
            line.push_str(&format!(
                "; {} file error{}",
                self.errors,
                plural(self.errors)
            ));
        }
        line
    }
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}
