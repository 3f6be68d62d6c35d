//! `--format github`: workflow-command annotations (`::warning file=...::`) for Actions logs.

use crate::detect::Severity;
use crate::scan::ScanReport;

pub fn render(report: &ScanReport) -> String {
    let mut out = String::new();
    for f in report.findings() {
        let level = match f.severity {
            Severity::High => "error",
            Severity::Medium | Severity::Low => "warning",
            Severity::Info => "notice",
        };
        out.push_str(&format!(
            "::{level} file={},line={},col={},title={}::{} [fix: {}: {}]\n",
            property(&f.path),
            f.line,
            f.column,
            property(f.rule),
            data(&f.message),
            f.fix.as_str(),
            data(&f.reason)
        ));
    }
    for e in &report.errors {
        let line = e.line.map(|l| format!(",line={l}")).unwrap_or_default();
        out.push_str(&format!(
            "::error file={}{line},title=migrate::{}\n",
            property(&e.path),
            data(&e.message)
        ));
    }
    out
}

/// Escaping for the message part of a workflow command.
fn data(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// Escaping for a `key=value` property of a workflow command.
fn property(s: &str) -> String {
    data(s).replace(':', "%3A").replace(',', "%2C")
}

#[cfg(test)]
mod tests {
    #[test]
    fn escapes() {
        assert_eq!(super::property("a:b,c%\n"), "a%3Ab%2Cc%25%0A");
    }
}
