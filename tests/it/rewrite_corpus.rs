//! The rewrite invariants on every workflow in `testdata/`: bytes outside edits unchanged,
//! inserted lines use their neighbours' line endings, the result verifies and leaves no
//! `auto` finding, a second rewrite changes nothing, negatives stay byte-identical. The
//! diffs are snapshotted for review.

use std::path::{Path, PathBuf};

use migrate::rewrite::{self, RewriteOutcome};

use crate::rewrite_support;
use rewrite_support::{check_invariants, opts};

fn workflow_files() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata");
    let mut files: Vec<PathBuf> = walkdir::WalkDir::new(&root)
        .into_iter()
        .filter_map(Result::ok)
        .map(|e| e.into_path())
        .filter(|p| p.extension().is_some_and(|e| e == "yml" || e == "yaml"))
        .collect();
    files.sort();
    files
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn name_of(path: &Path) -> String {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata");
    path.strip_prefix(&root)
        .unwrap_or(path)
        .to_string_lossy()
        .replace('/', "__")
}

/// The corpus files the MANIFEST marks as negatives.
fn negatives() -> Vec<String> {
    let manifest =
        read(&Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/corpus/MANIFEST.tsv"));
    manifest
        .lines()
        .skip(1)
        .filter(|l| {
            l.split('\t')
                .nth(5)
                .is_some_and(|t| t.starts_with("NEGATIVE"))
        })
        .filter_map(|l| l.split('\t').next().map(str::to_string))
        .collect()
}

fn report(path: &str, outcome: &RewriteOutcome) -> String {
    let mut out = outcome.diff(path);
    for c in &outcome.changes {
        out.push_str(&format!("change (line {}): {}\n", c.line, c.description));
    }
    for m in &outcome.manual {
        out.push_str(&format!(
            "manual {} line {} job {:?}: {}\n",
            m.rule, m.line, m.job, m.reason
        ));
    }
    for n in &outcome.notes {
        out.push_str(&format!("note: {n}\n"));
    }
    for r in &outcome.flow {
        out.push_str(&format!(
            "flow: job {} {} [runs if {}]: {} -> {} [provided if {}]\n",
            r.job.as_deref().unwrap_or("-"),
            r.step,
            r.condition.as_deref().unwrap_or("always"),
            r.before,
            r.after,
            r.provided_under.as_deref().unwrap_or("always")
        ));
    }
    out
}

#[test]
fn every_testdata_file_satisfies_the_invariants() {
    let files = workflow_files();
    assert!(files.len() >= 60, "testdata has the corpus");
    let negatives = negatives();
    let mut rewritten = 0;
    let mut failures = Vec::new();
    for file in &files {
        let text = read(file);
        let name = name_of(file);
        let checked = std::panic::catch_unwind(|| {
            let outcome =
                rewrite::rewrite(&name, &text, &opts()).unwrap_or_else(|e| panic!("{name}: {e}"));
            check_invariants(&name, &text, &outcome, true);
            if negatives.iter().any(|n| file.ends_with(n)) {
                assert!(
                    !outcome.changed() && outcome.text == text,
                    "{name}: a negative was changed"
                );
            }
            outcome
        });
        match checked {
            Ok(outcome) => {
                rewritten += usize::from(outcome.changed());
                insta::assert_snapshot!(name.clone(), report(&name, &outcome));
            }
            Err(panic) => failures.push(
                panic
                    .downcast_ref::<String>()
                    .cloned()
                    .unwrap_or_else(|| format!("{name}: panicked")),
            ),
        }
    }
    assert!(
        failures.is_empty(),
        "{} files failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(rewritten >= 25, "only {rewritten} files were rewritten");
}
