//! Property test: corpus files mutated at random (lines deleted or duplicated, indentation
//! changed, junk bytes inserted; a byte order mark, a `%YAML` directive with `---`/`...`,
//! CRLF endings, a step's `-` moved to a line of its own) never make `rewrite` panic, and
//! every `Ok` outcome that changes the file satisfies the same invariants as the corpus itself.

use std::path::Path;

use migrate::rewrite;
use proptest::prelude::*;

use crate::rewrite_support;
use rewrite_support::{check_invariants, opts};

fn corpus() -> Vec<String> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/corpus");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("testdata/corpus")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "yml" || e == "yaml"))
        .collect();
    files.sort();
    files
        .iter()
        .map(|p| std::fs::read_to_string(p).expect("readable"))
        .collect()
}

#[derive(Debug, Clone)]
enum Mutation {
    DeleteLine(usize),
    DuplicateLine(usize),
    Reindent(usize, usize),
    InsertJunk(usize, &'static str),
    /// A UTF-8 byte order mark in front (as GitHub serves such files: kept in the text).
    Bom,
    /// `%YAML 1.2` and `---` in front, `...` at the end.
    Directive,
    /// Every LF becomes CRLF.
    Crlf,
    /// The n-th `- key: value` line becomes `- # comment` with the entry on the next line.
    DashAlone(usize),
    /// The n-th step made of one-line entries (and one level of nested ones, as in `with:`)
    /// is written as a flow mapping: `- {name: "x", with: {a: "b"}}`.
    FlowStep(usize),
}

const JUNK: &[&str] = &[
    ":",
    "- ",
    "{",
    "}",
    "[",
    "\r",
    "\r\n",
    "\t",
    "&a ",
    "*a",
    " #",
    "é",
    "\"",
    "'",
    "|",
    ">-\n",
    "\n  ",
    "${{ secrets.AWS_ACCESS_KEY_ID }}",
];

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        any::<usize>().prop_map(Mutation::DeleteLine),
        any::<usize>().prop_map(Mutation::DuplicateLine),
        (any::<usize>(), 0usize..9).prop_map(|(l, n)| Mutation::Reindent(l, n)),
        (any::<usize>(), proptest::sample::select(JUNK))
            .prop_map(|(at, j)| Mutation::InsertJunk(at, j)),
        Just(Mutation::Bom),
        Just(Mutation::Directive),
        Just(Mutation::Crlf),
        any::<usize>().prop_map(Mutation::DashAlone),
        any::<usize>().prop_map(Mutation::FlowStep),
    ]
}

fn apply(text: &str, mutation: &Mutation) -> String {
    match *mutation {
        Mutation::Bom if text.starts_with('\u{feff}') => return text.to_string(),
        Mutation::Bom => return format!("\u{feff}{text}"),
        Mutation::Directive => {
            // The directive goes after a byte order mark, which only a stream may start with.
            let (bom, body) = text
                .strip_prefix('\u{feff}')
                .map_or(("", text), |rest| ("\u{feff}", rest));
            if body.starts_with('%') {
                return text.to_string();
            }
            let end = if body.ends_with('\n') { "" } else { "\n" };
            return format!("{bom}%YAML 1.2\n---\n{body}{end}...\n");
        }
        Mutation::Crlf => return text.replace("\r\n", "\n").replace('\n', "\r\n"),
        Mutation::DashAlone(i) => return dash_alone(text, i),
        Mutation::FlowStep(i) => return flow_step(text, i),
        _ => {}
    }
    let mut lines: Vec<String> = text.split_inclusive('\n').map(str::to_string).collect();
    if lines.is_empty() {
        return text.to_string();
    }
    let n = lines.len();
    match *mutation {
        Mutation::DeleteLine(i) => {
            lines.remove(i % n);
        }
        Mutation::DuplicateLine(i) => {
            let line = lines[i % n].clone();
            lines.insert(i % n, line);
        }
        Mutation::Reindent(i, width) => {
            let line = &mut lines[i % n];
            *line = format!("{}{}", " ".repeat(width), line.trim_start_matches(' '));
        }
        Mutation::InsertJunk(at, junk) => {
            let joined: String = lines.concat();
            let mut at = at % (joined.len() + 1);
            while !joined.is_char_boundary(at) {
                at -= 1;
            }
            return format!("{}{junk}{}", &joined[..at], &joined[at..]);
        }
        Mutation::Bom
        | Mutation::Directive
        | Mutation::Crlf
        | Mutation::DashAlone(_)
        | Mutation::FlowStep(_) => {}
    }
    lines.concat()
}

/// A one-line `key: value` of a step, its value unquoted; `None` for anything else (block
/// scalars, anchors, flow values, trailing comments).
fn step_entry(line: &str) -> Option<(String, Option<String>)> {
    let (key, value) = match line.split_once(": ") {
        Some((k, v)) => (k, v.trim()),
        None => (line.strip_suffix(':')?, ""),
    };
    if key.is_empty()
        || !key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return None;
    }
    if value.is_empty() {
        return Some((key.to_string(), None));
    }
    if value.contains(" #") || value.starts_with(['|', '>', '&', '*', '[', '{', '!', '%', '@', '`'])
    {
        return None;
    }
    let unquoted = if value.len() >= 2 && value.starts_with('"') && value.ends_with('"') {
        serde_json::from_str::<String>(value).ok()?
    } else if value.len() >= 2 && value.starts_with('\'') && value.ends_with('\'') {
        value[1..value.len() - 1].replace("''", "'")
    } else {
        value.to_string()
    };
    Some((key.to_string(), Some(unquoted)))
}

/// A step's entry: key, one-line value, or (for `with:`/`env:`) nested one-line entries.
type StepEntry = (String, Option<String>, Vec<(String, String)>);

/// The step starting at line `n` as one flow-mapping line, and the line after it.
fn step_as_flow(lines: &[&str], n: usize) -> Option<(usize, String)> {
    let content = |l: &str| l.trim_end_matches(['\r', '\n']).to_string();
    let first = content(lines[n]);
    let indent = first.len() - first.trim_start_matches(' ').len();
    let eol = &lines[n][first.len()..];
    let mut entries: Vec<StepEntry> = Vec::new();
    let (k, v) = step_entry(first[indent..].strip_prefix("- ")?)?;
    entries.push((k, v, Vec::new()));
    let mut end = n + 1;
    while end < lines.len() {
        let line = content(lines[end]);
        let column = line.len() - line.trim_start_matches(' ').len();
        if line.trim().is_empty() {
            // Blank lines inside the step go with it; those after it stay.
            let next = lines[end..]
                .iter()
                .map(|l| content(l))
                .find(|l| !l.trim().is_empty());
            match next {
                Some(l) if l.len() - l.trim_start_matches(' ').len() >= indent + 2 => {
                    end += 1;
                    continue;
                }
                _ => break,
            }
        }
        if column < indent + 2 {
            break;
        }
        let (k, v) = step_entry(&line[column..])?;
        let last = entries.last_mut()?;
        match (column - indent, v) {
            (2, v) => entries.push((k, v, Vec::new())),
            (4, Some(v)) if last.1.is_none() => last.2.push((k, v)),
            _ => return None,
        }
        end += 1;
    }
    let quote = |s: &str| serde_json::to_string(s).unwrap_or_default();
    let mut parts = Vec::new();
    for (k, v, nested) in &entries {
        match v {
            Some(v) => parts.push(format!("{k}: {}", quote(v))),
            None if nested.is_empty() => return None,
            None => {
                let inner: Vec<String> = nested
                    .iter()
                    .map(|(a, b)| format!("{a}: {}", quote(b)))
                    .collect();
                parts.push(format!("{k}: {{{}}}", inner.join(", ")));
            }
        }
    }
    Some((
        end,
        format!("{}- {{{}}}{eol}", " ".repeat(indent), parts.join(", ")),
    ))
}

/// Rewrites the `i`-th (modulo their count) step that [`step_as_flow`] can convert.
fn flow_step(text: &str, i: usize) -> String {
    let lines: Vec<&str> = text.split_inclusive('\n').collect();
    let steps: Vec<(usize, usize, String)> = (0..lines.len())
        .filter_map(|n| step_as_flow(&lines, n).map(|(end, flow)| (n, end, flow)))
        .collect();
    if steps.is_empty() {
        return text.to_string();
    }
    let (n, end, flow) = &steps[i % steps.len()];
    format!("{}{flow}{}", lines[..*n].concat(), lines[*end..].concat())
}

/// Splits the `i`-th (modulo their count) line of the form `<indent>- key: value` into
/// `<indent>- # step` and `<indent>  key: value`.
fn dash_alone(text: &str, i: usize) -> String {
    let mut lines: Vec<String> = text.split_inclusive('\n').map(str::to_string).collect();
    let items: Vec<usize> = lines
        .iter()
        .enumerate()
        .filter(|(_, l)| {
            let rest = l.trim_start_matches(' ');
            rest.strip_prefix("- ")
                .and_then(|r| r.split_once(": ").or_else(|| r.split_once(":\n")))
                .is_some_and(|(k, _)| {
                    !k.is_empty()
                        && k.bytes()
                            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
                })
        })
        .map(|(n, _)| n)
        .collect();
    if items.is_empty() {
        return text.to_string();
    }
    let n = items[i % items.len()];
    let line = &lines[n];
    let indent = line.len() - line.trim_start_matches(' ').len();
    let eol = if line.ends_with("\r\n") { "\r\n" } else { "\n" };
    lines[n] = format!(
        "{}- # step{eol}{}  {}",
        " ".repeat(indent),
        " ".repeat(indent),
        &line[indent + 2..]
    );
    lines.concat()
}

proptest! {
    // PROPTEST_CASES raises the count for a longer local run.
    #![proptest_config(ProptestConfig {
        cases: std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(300),
        failure_persistence: Some(Box::new(proptest::test_runner::FileFailurePersistence::WithSource("proptest-regressions"))),
        ..ProptestConfig::default()
    })]

    #[test]
    fn mutated_corpus_never_panics_and_ok_outputs_hold_the_invariants(
        file in any::<usize>(),
        mutations in proptest::collection::vec(mutation(), 1..4),
    ) {
        let files = corpus();
        let mut text = files[file % files.len()].clone();
        for m in &mutations {
            text = apply(&text, m);
        }
        if let Ok(outcome) = rewrite::rewrite("mutated.yml", &text, &opts()) {
            check_invariants("mutated.yml", &text, &outcome, false);
        }
    }
}

fn style_mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        Just(Mutation::Bom),
        Just(Mutation::Directive),
        Just(Mutation::Crlf),
        any::<usize>().prop_map(Mutation::DashAlone),
        any::<usize>().prop_map(Mutation::FlowStep),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(300),
        failure_persistence: Some(Box::new(proptest::test_runner::FileFailurePersistence::WithSource("proptest-regressions"))),
        ..ProptestConfig::default()
    })]

    /// A byte order mark, a directive, CRLF or a dash on its own line change nothing about
    /// what is found and rewritten: the same changes, the same findings left to a person.
    #[test]
    fn encodings_and_dash_layouts_are_rewritten_like_the_original(
        file in any::<usize>(),
        mutations in proptest::collection::vec(style_mutation(), 1..4),
    ) {
        let files = corpus();
        let original = &files[file % files.len()];
        let mut text = original.clone();
        for m in &mutations {
            text = apply(&text, m);
        }
        let before = rewrite::rewrite("original.yml", original, &opts());
        let after = rewrite::rewrite("styled.yml", &text, &opts());
        match (before, after) {
            (Ok(before), Ok(after)) => {
                check_invariants("styled.yml", &text, &after, false);
                // Reasons may name lines, which the added lines shift.
                let reasons = |o: &rewrite::RewriteOutcome| {
                    o.manual
                        .iter()
                        .map(|m| (m.rule.clone(), m.reason.replace(|c: char| c.is_ascii_digit(), "")))
                        .collect::<Vec<_>>()
                };
                prop_assert_eq!(reasons(&before), reasons(&after));
                prop_assert_eq!(before.changes.len(), after.changes.len());
                prop_assert_eq!(before.changed(), after.changed());
            }
            (Err(_), Err(_)) => {}
            (before, after) => prop_assert!(false, "original: {:?}\nstyled: {:?}", before.err(), after.err()),
        }
    }
}
