//! `--format sarif`: SARIF 2.1.0 for GitHub code scanning uploads.

use serde_json::{Value, json};

use crate::detect::{self, Severity};
use crate::scan::ScanReport;

pub fn render(report: &ScanReport) -> String {
    let rules: Vec<Value> = detect::rules()
        .iter()
        .map(|r| {
            json!({
                "id": r.id(),
                "name": r.id(),
                "shortDescription": { "text": r.summary() },
            })
        })
        .collect();
    let results: Vec<Value> = report
        .findings()
        .map(|f| {
            let level = match f.severity {
                Severity::High => "error",
                Severity::Medium => "warning",
                Severity::Low | Severity::Info => "note",
            };
            json!({
                "ruleId": f.rule,
                "level": level,
                "message": { "text": format!("{} (fix: {}: {})", f.message, f.fix.as_str(), f.reason) },
                "locations": [{
                    "physicalLocation": {
                        "artifactLocation": { "uri": f.path.trim_start_matches("./") },
                        "region": { "startLine": f.line, "startColumn": f.column }
                    }
                }],
                "properties": { "fix": f.fix, "severity": f.severity, "secrets": f.secrets, "job": f.job },
            })
        })
        .collect();
    let notifications: Vec<Value> = report
        .errors
        .iter()
        .map(|e| {
            json!({
                "level": "error",
                "message": { "text": e.message },
                "locations": [{ "physicalLocation": { "artifactLocation": { "uri": e.path }, "region": { "startLine": e.line.unwrap_or(1) } } }],
            })
        })
        .collect();
    let doc = json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": { "driver": {
                "name": "migrate",
                "version": env!("CARGO_PKG_VERSION"),
                "rules": rules,
            }},
            "results": results,
            "invocations": [{ "executionSuccessful": true, "toolExecutionNotifications": notifications }],
        }]
    });
    let mut text = serde_json::to_string_pretty(&doc).unwrap_or_default();
    text.push('\n');
    text
}
