//! Human output: findings grouped by file as rustc-style snippets, colored on a terminal.

use anstyle::{AnsiColor, Style};

use super::Summary;
use crate::detect::aws_key_literal::{find_access_key_ids, mask_key_id};
use crate::detect::{Finding, Fix, Severity};
use crate::scan::ScanReport;

pub struct Palette {
    enabled: bool,
}

impl Palette {
    pub fn new(enabled: bool) -> Self {
        Self { enabled }
    }

    fn paint(&self, style: Style, text: &str) -> String {
        if self.enabled {
            format!("{}{text}{}", style.render(), style.render_reset())
        } else {
            text.to_string()
        }
    }
}

fn severity_style(s: Severity) -> (Style, &'static str) {
    let color = |c: AnsiColor| Style::new().fg_color(Some(c.into())).bold();
    match s {
        Severity::High => (color(AnsiColor::Red), "error"),
        Severity::Medium => (color(AnsiColor::Yellow), "warning"),
        Severity::Low => (color(AnsiColor::Cyan), "note"),
        Severity::Info => (color(AnsiColor::Green), "info"),
    }
}

pub fn render(report: &ScanReport, palette: &Palette) -> String {
    let mut out = String::new();
    let blue = Style::new().fg_color(Some(AnsiColor::Blue.into())).bold();
    for f in report.findings() {
        render_finding(&mut out, f, palette, blue);
    }
    for e in &report.errors {
        let (style, _) = severity_style(Severity::High);
        let at = match (e.line, e.column) {
            (Some(l), Some(c)) => format!(":{l}:{c}"),
            (Some(l), None) => format!(":{l}"),
            _ => String::new(),
        };
        out.push_str(&format!(
            "{}: {}{at}: {}\n",
            palette.paint(style, "error"),
            e.path,
            e.message
        ));
    }
    if !out.is_empty() {
        out.push('\n');
    }
    out.push_str(&Summary::of(report).line());
    out.push('\n');
    out
}

fn render_finding(out: &mut String, f: &Finding, palette: &Palette, gutter: Style) {
    let (style, label) = severity_style(f.severity);
    let bold = Style::new().bold();
    out.push_str(&format!(
        "{}{} {}\n",
        palette.paint(style, &format!("{label}[{}]", f.rule)),
        palette.paint(bold, ":"),
        palette.paint(bold, &f.message)
    ));
    let width = f.line.to_string().len();
    let pad = " ".repeat(width);
    out.push_str(&format!(
        "{pad}{} {}:{}:{}\n",
        palette.paint(gutter, "-->"),
        f.path,
        f.line,
        f.column
    ));
    if !f.snippet.is_empty() {
        let bar = palette.paint(gutter, "|");
        let shown: String = mask_key_ids(&f.snippet).chars().take(160).collect();
        let span_len = f.span.end.saturating_sub(f.span.start);
        let underline_len = match span_len {
            0 => underline_width(&shown, f.column),
            // The key itself is shown masked (`AKIA…WXYZ`).
            _ if f.rule == "aws-key-literal" => 9,
            n => n
                .min(shown.chars().count().saturating_sub(f.column - 1))
                .max(1),
        };
        let mut location = Vec::new();
        if let Some(job) = &f.job {
            location.push(format!("job {job}"));
        }
        if let Some(step) = &f.step {
            match &step.name {
                Some(name) => location.push(format!("step {} ({name})", step.index + 1)),
                None => location.push(format!("step {}", step.index + 1)),
            }
        }
        out.push_str(&format!("{pad} {bar}\n"));
        out.push_str(&format!(
            "{} {bar} {shown}\n",
            palette.paint(gutter, &f.line.to_string())
        ));
        out.push_str(&format!(
            "{pad} {bar} {}{} {}\n",
            " ".repeat(f.column - 1),
            palette.paint(style, &"^".repeat(underline_len)),
            palette.paint(style, &location.join(", "))
        ));
    }
    let fix = match f.fix {
        Fix::Auto => "auto",
        Fix::Manual => "manual",
    };
    out.push_str(&format!(
        "{pad} {} fix: {fix}: {}\n",
        palette.paint(gutter, "="),
        f.reason
    ));
    if !f.consumers.is_empty() {
        out.push_str(&format!(
            "{pad} {} used by: {}\n",
            palette.paint(gutter, "="),
            f.consumers.join(", ")
        ));
    }
    out.push('\n');
}

/// A source line with every access key id masked, so snippets never show a key.
fn mask_key_ids(line: &str) -> String {
    let mut out = line.to_string();
    for key in find_access_key_ids(line) {
        out = out.replace(key, &mask_key_id(key));
    }
    out
}

/// How many characters to underline from a 1-based column: the value, without a trailing
/// comment or whitespace.
fn underline_width(line: &str, column: usize) -> usize {
    let rest: String = line.chars().skip(column.saturating_sub(1)).collect();
    let value = match rest.find(" #") {
        Some(at) => &rest[..at],
        None => rest.as_str(),
    };
    value.trim_end().chars().count().clamp(1, 80)
}
