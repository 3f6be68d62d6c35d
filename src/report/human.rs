//! Human output: findings grouped by file as rustc-style snippets, colored on a terminal.

use anstyle::{AnsiColor, Style};
use unicode_width::UnicodeWidthChar;

use super::Summary;
use crate::detect::aws_key_literal::{find_access_key_ids, mask_key_id};
use crate::detect::{Finding, Severity};
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
        let masked = mask_key_ids(&f.snippet);
        // How many characters the span covers (its length is in bytes of the source line).
        let span_chars = match f.span.end.saturating_sub(f.span.start) {
            0 => underline_width(&masked, f.column),
            // The key itself is shown masked (`AKIA…WXYZ`).
            _ if f.rule == "aws-key-literal" => 9,
            bytes => chars_in_bytes(&f.snippet, f.column, bytes),
        };
        let view = SnippetView::of(&masked, f.column, span_chars);
        let shown = &view.text;
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
            " ".repeat(view.caret_at),
            palette.paint(style, &"^".repeat(view.caret_width)),
            palette.paint(style, &location.join(", "))
        ));
    }
    let fix = f.fix.as_str();
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

/// Lines longer than this many columns are shown as a window around the span.
const SNIPPET_COLUMNS: usize = 160;

/// A snippet line as the terminal shows it, and where its carets go: tabs become four spaces,
/// wide characters (CJK, emoji) take two columns, and a long line is cut to a window around
/// the span, with `…` where text was left out, so the carets always land under the span.
#[derive(Debug, PartialEq, Eq)]
struct SnippetView {
    text: String,
    /// Display columns before the first caret.
    caret_at: usize,
    caret_width: usize,
}

impl SnippetView {
    /// `column` is the span's 1-based character column, `span_chars` its length in characters.
    fn of(line: &str, column: usize, span_chars: usize) -> Self {
        let chars: Vec<char> = line.chars().collect();
        let start = column.saturating_sub(1).min(chars.len());
        let end = (start + span_chars.max(1)).min(chars.len());
        let width = |c: &char| match c {
            '\t' => 4,
            c => c.width().unwrap_or(0),
        };
        let total: usize = chars.iter().map(width).sum();
        // A window that starts a third of the way before the span when the line is too long.
        let (from, to) = if total <= SNIPPET_COLUMNS {
            (0, chars.len())
        } else {
            let mut from = start;
            let mut used = 0;
            while from > 0 && used + width(&chars[from - 1]) <= SNIPPET_COLUMNS / 3 {
                from -= 1;
                used += width(&chars[from]);
            }
            let mut to = from;
            let mut used = 0;
            while to < chars.len() && used + width(&chars[to]) <= SNIPPET_COLUMNS {
                used += width(&chars[to]);
                to += 1;
            }
            (from, to.max(end.min(chars.len())))
        };
        let mut text = String::new();
        let mut caret_at = 0;
        if from > 0 {
            text.push('…');
            caret_at += 1;
        }
        for c in &chars[from..to] {
            match c {
                '\t' => text.push_str("    "),
                c => text.push(*c),
            }
        }
        if to < chars.len() {
            text.push('…');
        }
        caret_at += chars[from..start.max(from)]
            .iter()
            .map(width)
            .sum::<usize>();
        let caret_width = chars[start.min(to)..end.min(to)]
            .iter()
            .map(width)
            .sum::<usize>()
            .max(1);
        Self {
            text,
            caret_at,
            caret_width,
        }
    }
}

/// How many characters of `line`, from the 1-based character `column`, `bytes` bytes cover.
fn chars_in_bytes(line: &str, column: usize, bytes: usize) -> usize {
    let mut covered = 0;
    line.chars()
        .skip(column.saturating_sub(1))
        .take_while(|c| {
            let inside = covered < bytes;
            covered += c.len_utf8();
            inside
        })
        .count()
        .max(1)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn carets_land_under_the_span_past_tabs_and_wide_characters() {
        // `名前` is four columns wide and the tab four: 14 columns before the value.
        let view = SnippetView::of("名前:\tkey: AKIA…WXYZ", 10, 9);
        assert_eq!(view.text, "名前:    key: AKIA…WXYZ");
        assert_eq!((view.caret_at, view.caret_width), (14, 9));
        assert_eq!(
            &view.text[view.text.char_indices().nth(12).unwrap().0..],
            "AKIA…WXYZ"
        );
    }

    #[test]
    fn a_long_line_is_cut_to_a_window_around_the_span() {
        let line = format!("run: {} aws s3 sync . s3://bucket", "x".repeat(300));
        let column = line.find("aws").unwrap() + 1;
        let view = SnippetView::of(&line, column, 3);
        assert!(view.text.starts_with('…'), "{}", view.text);
        let shown: Vec<char> = view.text.chars().collect();
        let under: String = shown[view.caret_at..view.caret_at + 3].iter().collect();
        assert_eq!(under, "aws");
        assert!(view.text.chars().count() <= SNIPPET_COLUMNS + 2);
        // A short line is shown whole.
        let view = SnippetView::of("  AWS_ACCESS_KEY_ID: ${{ secrets.KEY }}", 22, 18);
        assert_eq!((view.caret_at, view.caret_width), (21, 18));
    }

    #[test]
    fn a_span_in_bytes_counts_characters() {
        assert_eq!(chars_in_bytes("a: ümlaut", 4, "ümlaut".len()), 6);
        assert_eq!(chars_in_bytes("a: b", 4, 1), 1);
    }
}
