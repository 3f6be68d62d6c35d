//! Checks shared by the rewrite tests: every invariant a rewrite outcome must satisfy.

use migrate::rewrite::{self, RewriteOptions, RewriteOutcome};

/// A role for every secret, and one per environment of the fixtures
/// (`testdata/role-maps/everything.toml`: `*` is `arn:aws:iam::123456789012:role/gha-deploy`).
pub fn opts() -> RewriteOptions {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/testdata/role-maps/everything.toml"
    );
    let text = std::fs::read_to_string(path).expect("role map fixture");
    let map = migrate::rewrite::RoleMap::from_toml(&text, path).expect("valid role map");
    RewriteOptions::new(migrate::rewrite::RoleSource::Map(map))
}

/// Lines a rewrite may delete: key material, the mappings that held it, permissions, and
/// an old configure-aws-credentials ref.
fn deletable(line: &str) -> bool {
    let l = line.to_ascii_lowercase();
    [
        "aws-access-key-id",
        "aws-secret-access-key",
        "aws-session-token",
        "access_key",
        "secret_key",
        "secret-access-key",
    ]
    .iter()
    .any(|k| l.contains(k))
        || l.contains("username:")
        || l.contains("password:")
        || ["env:", "secrets:", "permissions:", "id-token:"]
            .iter()
            .any(|k| l.trim_start().starts_with(k))
        || l.contains("configure-aws-credentials@")
        || l.contains("access-key-id")
        || l.contains("secret-access-key")
        || (l.contains("aws") && l.contains("key"))
        || l.trim_start().starts_with("required:")
        || l.trim_start().starts_with("description:")
}

/// A line of a flow sequence of steps that comes back with an inserted configure step in it
/// (`[{a}, {b}]` -> `[{a}, {name: "Configure AWS credentials (OIDC)", ...}, {b}]`).
fn gained_flow_step(line: &str, output: &str) -> bool {
    const STEP: &str = "{name: \"Configure AWS credentials (OIDC)\"";
    output.split_inclusive('\n').any(|out| {
        let Some(start) = out.find(STEP) else {
            return false;
        };
        let Some(len) = out[start..].find("}}, ") else {
            return false;
        };
        format!("{}{}", &out[..start], &out[start + len + 4..]) == line
    })
}

/// `known_lines`: the input is a reviewed file, so every deleted line must be one a rewrite
/// may delete (key material, the mappings that held it, permissions, an old ref). Mutated
/// input can nest anything under a removed entry, so the property test turns this off.
pub fn check_invariants(path: &str, input: &str, outcome: &RewriteOutcome, known_lines: bool) {
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
                let lost_break = !input.ends_with('\n')
                    && outcome.text.ends_with(line.trim_end_matches(['\r', '\n']));
                // In a multi-line flow mapping the comma before a removed last entry goes.
                let lost_comma = line.trim_end().ends_with(',')
                    && outcome
                        .text
                        .contains(&format!("{}\n", line.trim_end().trim_end_matches(',')));
                // The continuation lines of a removed multi-line value go with it.
                let indent = |s: &str| s.len() - s.trim_start().len();
                let continuation = i > 0
                    && ops[i - 1].tag() == similar::ChangeTag::Delete
                    && deletable(ops[i - 1].value())
                    && indent(line) > indent(ops[i - 1].value());
                // Comments inside a removed block (`env:` and its entries) go with it.
                let inner_comment = line.trim_start().starts_with('#')
                    && ops[..i]
                        .iter()
                        .rev()
                        .take_while(|c| c.tag() == similar::ChangeTag::Delete)
                        .any(|c| deletable(c.value()) && indent(c.value()) < indent(line));
                assert!(
                    !known_lines
                        || inner_comment
                        || deletable(line)
                        || lost_break
                        || lost_comma
                        || continuation
                        || gained_flow_step(line, &outcome.text),
                    "{path}: the rewrite deleted or changed an unrelated line: {line:?}"
                )
            }
            similar::ChangeTag::Insert => {
                // An inserted line ends like a line it replaces or, for new lines, like the
                // unchanged line before it (after it at the start of the file).
                let ending = |s: &str| {
                    if s.ends_with("\r\n") {
                        "\r\n"
                    } else if s.ends_with('\n') {
                        "\n"
                    } else {
                        ""
                    }
                };
                let changed = |c: &&similar::Change<&str>| c.tag() != similar::ChangeTag::Equal;
                let block_start = i - ops[..i].iter().rev().take_while(changed).count();
                let block_end = i + ops[i..].iter().take_while(changed).count();
                let deleted: Vec<&str> = ops[block_start..block_end]
                    .iter()
                    .filter(|c| c.tag() == similar::ChangeTag::Delete)
                    .map(|c| ending(c.value()))
                    .collect();
                // In a file that mixes endings the line before and the line after the
                // inserted block may differ; either one is a fair model.
                let neighbours: Vec<&str> = [ops[..block_start].last(), ops.get(block_end)]
                    .into_iter()
                    .flatten()
                    .map(|c| ending(c.value()))
                    .collect();
                let line_ending = ending(line);
                if line_ending.is_empty() {
                    continue;
                }
                let ok = deleted.contains(&line_ending)
                    || neighbours.is_empty()
                    || neighbours.iter().any(|n| n.is_empty() || *n == line_ending);
                assert!(
                    ok,
                    "{path}: inserted line {line:?} ends unlike its neighbours ({deleted:?}, {neighbours:?})"
                );
            }
        }
    }
    assert_eq!(
        input.ends_with('\n'),
        outcome.text.ends_with('\n'),
        "{path}: final newline changed"
    );
    let leftover = rewrite::leftover_auto_findings(path, &outcome.text, &outcome.manual);
    assert!(
        leftover.is_empty(),
        "{path}: auto findings left: {leftover:?}"
    );
    let again = rewrite::rewrite(path, &outcome.text, &opts())
        .unwrap_or_else(|e| panic!("{path}: second rewrite: {e}"));
    assert!(
        !again.changed(),
        "{path}: second rewrite changed the file:\n{}",
        again.diff(path)
    );
}
