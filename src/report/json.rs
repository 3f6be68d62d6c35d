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
    let mut bytes = Vec::new();
    if let Err(e) = write_with(report, extra, &mut bytes) {
        return format!("{{\"error\": \"{e}\"}}\n");
    }
    String::from_utf8(bytes).unwrap_or_default()
}

/// [`render_with`] streamed to `out`: a scan of thousands of files writes megabytes of JSON,
/// which need not sit in memory (or be copied as a buffer grows) before they are printed.
pub fn write_with(
    report: &ScanReport,
    extra: Option<serde_json::Value>,
    out: &mut dyn std::io::Write,
) -> std::io::Result<()> {
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
    serde_json::to_writer_pretty(&mut *out, &output)?;
    out.write_all(b"\n")
}
