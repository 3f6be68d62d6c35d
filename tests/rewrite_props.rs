//! Property test: corpus files mutated at random (lines deleted or duplicated, indentation
//! changed, junk bytes inserted; a byte order mark, a `%YAML` directive with `---`/`...`,
//! CRLF endings, a step's `-` moved to a line of its own) never make `rewrite` panic, and
//! every `Ok` outcome that changes the file satisfies the same invariants as the corpus itself.

use std::path::Path;

use migrate::rewrite;
use proptest::prelude::*;

mod rewrite_support;
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
        Mutation::Bom | Mutation::Directive | Mutation::Crlf | Mutation::DashAlone(_) => {}
    }
    lines.concat()
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
