//! `--format json`: the versioned, stable wire format (schema in the README).

use serde::Serialize;

use super::Summary;
use crate::detect::Finding;
use crate::scan::{FileError, FileReport, ScanReport};

/// Bumped only when a field changes meaning or disappears; new fields may be added.
pub const VERSION: u32 = 1;

#[derive(Serialize)]
struct Tool {
    name: &'static str,
    version: &'static str,
}

#[derive(Serialize)]
struct Output<'a> {
    version: u32,
    tool: Tool,
    summary: Summary,
    findings: Vec<&'a Finding>,
    errors: &'a [FileError],
    files: &'a [FileReport],
    /// `repositories`, `organization` and `github` for scans that read GitHub.
    #[serde(flatten)]
    extra: serde_json::Map<String, serde_json::Value>,
}

pub fn render(report: &ScanReport) -> String {
    render_with(report, None)
}

/// The JSON document plus extra top-level fields (`repositories`, `organization`,
/// `github`) for scans that read GitHub.
pub fn render_with(report: &ScanReport, extra: Option<serde_json::Value>) -> String {
    let output = Output {
        version: VERSION,
        tool: Tool {
            name: "migrate",
            version: env!("CARGO_PKG_VERSION"),
        },
        summary: Summary::of(report),
        findings: report.findings().collect(),
        errors: &report.errors,
        files: &report.files,
        extra: match extra {
            Some(serde_json::Value::Object(map)) => map,
            _ => serde_json::Map::new(),
        },
    };
    // Serialized straight from the report: no intermediate `Value` tree of the whole output.
    let mut text =
        serde_json::to_string_pretty(&output).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"));
    text.push('\n');
    text
}
