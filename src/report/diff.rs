//! Unified diffs for a terminal: added lines green, removed red, hunk headers cyan.

/// Colors unified-diff lines when `color` (a terminal that takes it); unchanged otherwise.
pub fn paint(diff: &str, color: bool) -> String {
    if !color {
        return diff.to_string();
    }
    use anstyle::AnsiColor;
    let paint = |c: AnsiColor, line: &str| {
        let style = anstyle::Style::new().fg_color(Some(c.into()));
        format!("{}{line}{}", style.render(), style.render_reset())
    };
    diff.split_inclusive('\n')
        .map(|line| {
            let (body, end) = line.strip_suffix('\n').map_or((line, ""), |b| (b, "\n"));
            let painted = if body.starts_with("+++") || body.starts_with("---") {
                paint(AnsiColor::White, body)
            } else if body.starts_with('+') {
                paint(AnsiColor::Green, body)
            } else if body.starts_with('-') {
                paint(AnsiColor::Red, body)
            } else if body.starts_with("@@") {
                paint(AnsiColor::Cyan, body)
            } else {
                body.to_string()
            };
            format!("{painted}{end}")
        })
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn lines_are_colored_by_kind_and_left_alone_without_color() {
        let diff = "--- a/x\n+++ b/x\n@@ -1 +1 @@\n-old\n+new\n same\n";
        assert_eq!(super::paint(diff, false), diff);
        let painted = super::paint(diff, true);
        assert!(painted.contains("\u{1b}[32m+new\u{1b}[0m\n"), "{painted:?}");
        assert!(painted.contains("\u{1b}[31m-old\u{1b}[0m\n"), "{painted:?}");
        assert!(painted.ends_with(" same\n"));
    }
}
