//! Property test: corpus files mutated at random (lines deleted or duplicated, indentation
//! changed, junk bytes inserted) never make `rewrite` panic, and every `Ok` outcome that
//! changes the file satisfies the same invariants as the corpus itself.

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
    ]
}

fn apply(text: &str, mutation: &Mutation) -> String {
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
    }
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
