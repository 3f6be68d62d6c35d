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
    };
    let mut value = serde_json::to_value(&output).unwrap_or_default();
    if let (Some(serde_json::Value::Object(extra)), Some(object)) = (extra, value.as_object_mut()) {
        object.extend(extra);
    }
    let mut text =
        serde_json::to_string_pretty(&value).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"));
    text.push('\n');
    text
}
