//! Reading the file's own layout so inserted text looks native: line starts and ends, the
//! line ending of each line (CRLF and LF may be mixed), columns, and whether an entry sits
//! alone on its lines so it can be cut out whole.

use std::ops::Range;

use crate::yaml::{Node, Style};

/// Byte offset where the line holding `pos` starts.
pub fn line_start(text: &str, pos: usize) -> usize {
    text[..pos.min(text.len())].rfind('\n').map_or(0, |i| i + 1)
}

/// Byte offset just past the line break of the line holding `pos` (or the end of text).
pub fn next_line_start(text: &str, pos: usize) -> usize {
    text[pos.min(text.len())..]
        .find('\n')
        .map_or(text.len(), |i| pos + i + 1)
}

/// Offset of the line break (`\r\n` or `\n`) ending the line holding `pos`, or the end of text.
pub fn line_content_end(text: &str, pos: usize) -> usize {
    let next = next_line_start(text, pos);
    let bytes = text.as_bytes();
    let mut end = next;
    if end > 0 && bytes.get(end - 1) == Some(&b'\n') && end > pos.min(text.len()) {
        end -= 1;
        if end > 0 && bytes[end - 1] == b'\r' {
            end -= 1;
        }
    }
    end
}

/// The line ending to use for lines inserted at `pos`: that of the line there, else of
/// the line before, else LF.
pub fn line_ending_at(text: &str, pos: usize) -> &'static str {
    let ending_of = |p: usize| -> Option<&'static str> {
        let next = next_line_start(text, p);
        if next == 0 || text.as_bytes().get(next - 1) != Some(&b'\n') {
            return None;
        }
        Some(if next >= 2 && text.as_bytes()[next - 2] == b'\r' {
            "\r\n"
        } else {
            "\n"
        })
    };
    ending_of(pos)
        .or_else(|| {
            (pos > 0)
                .then(|| ending_of(line_start(text, pos).saturating_sub(1)))
                .flatten()
        })
        .unwrap_or("\n")
}

/// Column (in bytes, which equal characters in YAML indentation) of `pos` on its line.
pub fn column(text: &str, pos: usize) -> usize {
    pos - line_start(text, pos)
}

/// Only spaces precede `pos` on its line.
pub fn starts_line(text: &str, pos: usize) -> bool {
    text[line_start(text, pos)..pos].bytes().all(|b| b == b' ')
}

/// From `pos` to the end of its line there is only whitespace and maybe a comment.
pub fn rest_is_blank_or_comment(text: &str, pos: usize) -> bool {
    let rest = text[pos..line_content_end(text, pos)].trim_start_matches([' ', '\t']);
    rest.is_empty() || rest.starts_with('#')
}

/// Where a mapping entry's value ends: the value span, or just past the key (and its colon)
/// for an empty value, whose reported position can lie on a later line.
pub fn entry_end(text: &str, key: Node<'_>, value: Node<'_>) -> usize {
    let v = value.span();
    if v.start == v.end || v.start < key.span().end {
        let after_key = key.span().end;
        let rest = &text[after_key..];
        let colon = rest
            .find(':')
            .filter(|&i| rest[..i].trim().is_empty())
            .map_or(0, |i| i + 1);
        after_key + colon
    } else {
        v.end
    }
}

/// The whole lines of a block-mapping entry (from its key's line start to past the line
/// break after its value), when nothing else shares those lines.
pub fn entry_lines(text: &str, key: Node<'_>, value: Node<'_>) -> Option<Range<usize>> {
    let start = key.span().start;
    if !starts_line(text, start) {
        return None;
    }
    let end = entry_end(text, key, value);
    // A quoted or flow value that ends mid-line must be followed only by a comment.
    if !rest_is_blank_or_comment(text, end) {
        return None;
    }
    Some(line_start(text, start)..next_line_start(text, end))
}

/// Extends a cut of whole lines ending at `end` (a line start) over the comment lines right
/// after it that are indented deeper than `column`: they sat inside the removed block, and
/// left behind they could fall into a block scalar above the cut (`run: |`) and become script.
pub fn extend_over_inner_comments(text: &str, mut end: usize, column: usize) -> usize {
    while end < text.len() {
        let line = &text[end..line_content_end(text, end)];
        let trimmed = line.trim_start_matches(' ');
        if !trimmed.starts_with('#') || line.len() - trimmed.len() <= column {
            break;
        }
        end = next_line_start(text, end);
    }
    end
}

/// Adjusts a cut of whole lines (replaced by `replacement`, whole lines too) that runs to
/// the end of a file without a final newline, so the file still ends without one.
pub fn keep_missing_final_newline(
    text: &str,
    mut range: Range<usize>,
    mut replacement: String,
) -> (Range<usize>, String) {
    if range.end != text.len() || text.ends_with('\n') {
        return (range, replacement);
    }
    if replacement.is_empty() {
        // Take the line break before the cut lines instead of the one they lack.
        if text[..range.start].ends_with("\r\n") {
            range.start -= 2;
        } else if text[..range.start].ends_with('\n') {
            range.start -= 1;
        }
    } else {
        let trimmed = replacement
            .strip_suffix("\r\n")
            .or_else(|| replacement.strip_suffix('\n'))
            .map(str::to_string);
        if let Some(t) = trimmed {
            replacement = t;
        }
    }
    (range, replacement)
}

/// The indentation (in spaces) of a block mapping's entries, from its first key.
pub fn entry_indent(text: &str, map: Node<'_>) -> Option<usize> {
    let (key, _) = map.entries().next()?;
    (map.style() == Style::Block).then(|| column(text, key.span().start))
}

/// A string of `n` spaces.
pub fn spaces(n: usize) -> String {
    " ".repeat(n)
}

/// Line starts of the comment lines directly above the line at `line`, stopping at blank
/// lines and content: where to insert so that a comment stays with what it describes.
pub fn start_of_leading_comments(text: &str, line: usize) -> usize {
    let mut at = line;
    while at > 0 {
        let prev = line_start(text, at - 1);
        if text[prev..at].trim_start().starts_with('#') {
            at = prev;
        } else {
            break;
        }
    }
    at
}

/// Whether the line ending just before `line` follows a blank (whitespace-only) line.
pub fn blank_line_before(text: &str, line: usize) -> bool {
    line > 0 && {
        let prev = line_start(text, line - 1);
        text[prev..line].trim().is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_helpers() {
        let text = "a: 1\r\nb: 2\nc: 3";
        assert_eq!(line_start(text, 7), 6);
        assert_eq!(next_line_start(text, 1), 6);
        assert_eq!(line_content_end(text, 1), 4);
        assert_eq!(line_content_end(text, 13), text.len());
        assert_eq!(line_ending_at(text, 0), "\r\n");
        assert_eq!(line_ending_at(text, 6), "\n");
        assert_eq!(
            line_ending_at(text, 12),
            "\n",
            "the last line has none; the one before decides"
        );
        assert_eq!(line_ending_at("x", 0), "\n");
    }

    #[test]
    fn comments_and_blank_lines_above() {
        let text = "a: 1\n\n# about b\n# more\nb: 2\n";
        let b = text.find("b:").unwrap();
        let at = start_of_leading_comments(text, b);
        assert_eq!(&text[at..b], "# about b\n# more\n");
        assert!(blank_line_before(text, at));
        assert!(!blank_line_before(text, b));
    }

    #[test]
    fn inner_comments_go_with_the_cut() {
        let text = "  env:\n    A: 1\n    # about A\n  # about next\nnext: 2\n";
        let end = text.find("    # about A").unwrap();
        let extended = extend_over_inner_comments(text, end, 2);
        assert_eq!(&text[extended..], "  # about next\nnext: 2\n");
        assert_eq!(extend_over_inner_comments(text, text.len(), 0), text.len());
    }
}
