//! The rewrite invariants on every workflow in `testdata/`: bytes outside edits unchanged,
//! inserted lines use their neighbours' line endings, the result verifies and leaves no
//! `auto` finding, a second rewrite changes nothing, negatives stay byte-identical. The
//! diffs are snapshotted for review.

use std::path::{Path, PathBuf};

use migrate::rewrite::{self, RewriteOptions, RewriteOutcome};

const ROLE: &str = "arn:aws:iam::123456789012:role/gha-deploy";

fn opts() -> RewriteOptions {
    RewriteOptions::with_role_arn(ROLE).expect("valid ARN")
}

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
    path.strip_prefix(&root).unwrap_or(path).to_string_lossy().replace('/', "__")
}

/// The corpus files the MANIFEST marks as negatives.
fn negatives() -> Vec<String> {
    let manifest = read(&Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/corpus/MANIFEST.tsv"));
    manifest
        .lines()
        .skip(1)
        .filter(|l| l.split('\t').nth(5).is_some_and(|t| t.starts_with("NEGATIVE")))
        .filter_map(|l| l.split('\t').next().map(str::to_string))
        .collect()
}

/// Lines a rewrite may delete: key material, the mappings that held it, permissions, and
/// an old configure-aws-credentials ref.
fn deletable(line: &str) -> bool {
    let l = line.to_ascii_lowercase();
    ["aws-access-key-id", "aws-secret-access-key", "aws-session-token", "access_key", "secret_key", "secret-access-key"]
        .iter()
        .any(|k| l.contains(k))
        || l.contains("username:") || l.contains("password:")
        || ["env:", "secrets:", "permissions:", "id-token:"].iter().any(|k| l.trim_start().starts_with(k))
        || l.contains("configure-aws-credentials@")
        || l.contains("access-key-id") || l.contains("secret-access-key")
        || (l.contains("aws") && l.contains("key"))
        || l.trim_start().starts_with("required:") || l.trim_start().starts_with("description:")
}

pub fn check_invariants(path: &str, input: &str, outcome: &RewriteOutcome) {
    assert_eq!(outcome.original, input);
    let diff = similar::TextDiff::from_lines(input, &outcome.text);
    let ops: Vec<_> = diff.iter_all_changes().collect();
    for (i, change) in ops.iter().enumerate() {
        let line = change.value();
        match change.tag() {
            similar::ChangeTag::Equal => {}
            similar::ChangeTag::Delete => {
                // Cutting the last lines of a file without a final newline takes the line
                // break of the line before them: that line comes back without it.
                let lost_break = !input.ends_with('\n') && outcome.text.ends_with(line.trim_end_matches(['\r', '\n']));
                // In a multi-line flow mapping the comma before a removed last entry goes.
                let lost_comma = line.trim_end().ends_with(',')
                    && outcome.text.contains(&format!("{}\n", line.trim_end().trim_end_matches(',')));
                // The continuation lines of a removed multi-line value go with it.
                let indent = |s: &str| s.len() - s.trim_start().len();
                let continuation = i > 0
                    && ops[i - 1].tag() == similar::ChangeTag::Delete
                    && deletable(ops[i - 1].value())
                    && indent(line) > indent(ops[i - 1].value());
                assert!(deletable(line) || lost_break || lost_comma || continuation, "{path}: the rewrite deleted or changed an unrelated line: {line:?}")
            }
            similar::ChangeTag::Insert => {
                // An inserted line ends like a line it replaces or, for new lines, like the
                // unchanged line before it (after it at the start of the file).
                let ending = |s: &str| if s.ends_with("\r\n") { "\r\n" } else if s.ends_with('\n') { "\n" } else { "" };
                let changed = |c: &&similar::Change<&str>| c.tag() != similar::ChangeTag::Equal;
                let block_start = i - ops[..i].iter().rev().take_while(changed).count();
                let block_end = i + ops[i..].iter().take_while(changed).count();
                let deleted: Vec<&str> = ops[block_start..block_end]
                    .iter()
                    .filter(|c| c.tag() == similar::ChangeTag::Delete)
                    .map(|c| ending(c.value()))
                    .collect();
                let neighbour = ops[..block_start]
                    .last()
                    .or_else(|| ops.get(block_end))
                    .map(|c| ending(c.value()));
                let line_ending = ending(line);
                if line_ending.is_empty() {
                    continue;
                }
                let ok = deleted.contains(&line_ending) || neighbour.is_none_or(|n| n.is_empty() || n == line_ending);
                assert!(ok, "{path}: inserted line {line:?} ends unlike its neighbours ({deleted:?}, {neighbour:?})");
            }
        }
    }
    assert_eq!(input.ends_with('\n'), outcome.text.ends_with('\n'), "{path}: final newline changed");
    let leftover = rewrite::leftover_auto_findings(path, &outcome.text, &outcome.manual);
    assert!(leftover.is_empty(), "{path}: auto findings left: {leftover:?}");
    let again = rewrite::rewrite(path, &outcome.text, &opts()).unwrap_or_else(|e| panic!("{path}: second rewrite: {e}"));
    assert!(!again.changed(), "{path}: second rewrite changed the file:\n{}", again.diff(path));
}

fn report(path: &str, outcome: &RewriteOutcome) -> String {
    let mut out = outcome.diff(path);
    for c in &outcome.changes {
        out.push_str(&format!("change (line {}): {}\n", c.line, c.description));
    }
    for m in &outcome.manual {
        out.push_str(&format!("manual {} line {} job {:?}: {}\n", m.rule, m.line, m.job, m.reason));
    }
    for n in &outcome.notes {
        out.push_str(&format!("note: {n}\n"));
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
            let outcome = rewrite::rewrite(&name, &text, &opts()).unwrap_or_else(|e| panic!("{name}: {e}"));
            check_invariants(&name, &text, &outcome);
            if negatives.iter().any(|n| file.ends_with(n)) {
                assert!(!outcome.changed() && outcome.text == text, "{name}: a negative was changed");
            }
            outcome
        });
        match checked {
            Ok(outcome) => {
                rewritten += usize::from(outcome.changed());
                insta::assert_snapshot!(name.clone(), report(&name, &outcome));
            }
            Err(panic) => failures.push(
                panic.downcast_ref::<String>().cloned().unwrap_or_else(|| format!("{name}: panicked")),
            ),
        }
    }
    assert!(failures.is_empty(), "{} files failed:\n{}", failures.len(), failures.join("\n"));
    assert!(rewritten >= 25, "only {rewritten} files were rewritten");
}
