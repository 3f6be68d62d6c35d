//! Encodings and layouts the editor must handle like any other file, through the real binary:
//! `--write` round trips of files with a UTF-8 byte order mark, a `%YAML` directive with
//! `---`/`...`, and CRLF line endings; configure steps written as flow mappings; steps in a
//! flow sequence; steps whose `-` stands alone above their keys; comments inside a removed
//! env block; anchors. On every file of `testdata/`, `scan` and `rewrite` agree: every `auto`
//! finding is rewritten, and exactly the `manual` ones are left to a person.

use std::path::{Path, PathBuf};

use crate::common;
use common::{Run, json, migrate, root};

const ROLE: &str = "arn:aws:iam::123456789012:role/gha-deploy";
const BOM: &[u8] = b"\xef\xbb\xbf";

fn fixture(name: &str) -> PathBuf {
    root().join("testdata/rewrite").join(name)
}

/// Copies a fixture into a scratch `.github/workflows/` and returns (dir guard, path).
fn scratch_copy(name: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("temp dir");
    let workflows = dir.path().join(".github/workflows");
    std::fs::create_dir_all(&workflows).expect("mkdir");
    let path = workflows.join(name);
    std::fs::copy(fixture(name), &path).expect("copy fixture");
    (dir, path)
}

fn run(args: &[&str]) -> Run {
    Run::of(migrate().args(args).output().expect("runs"))
}

fn rewrite_write(path: &Path) -> Run {
    run(&[
        "rewrite",
        path.to_str().expect("UTF-8 path"),
        "--role-arn",
        ROLE,
        "--write",
    ])
}

/// True when every line break of `bytes` is CRLF.
fn all_crlf(bytes: &[u8]) -> bool {
    bytes
        .iter()
        .enumerate()
        .all(|(i, &b)| b != b'\n' || (i > 0 && bytes[i - 1] == b'\r'))
}

#[test]
fn write_round_trips_keep_the_bom_the_directive_and_crlf() {
    for name in [
        "encoding-bom.yml",
        "encoding-bom-crlf.yml",
        "encoding-yaml-directive.yml",
        "encoding-bom-directive-crlf.yml",
    ] {
        let (_dir, path) = scratch_copy(name);
        let before = std::fs::read(&path).expect("read");
        let first = rewrite_write(&path);
        assert_eq!(first.code, 0, "{name}: {}\n{}", first.stdout, first.stderr);
        assert!(
            first
                .stdout
                .contains("1 file rewritten, 0 findings left for a person, 0 errors"),
            "{name}: {}",
            first.stdout
        );
        let after = std::fs::read(&path).expect("read");
        assert_ne!(after, before, "{name}: nothing was written");

        // Byte-exact outside the edits: the BOM, the directive and the line endings stay.
        assert_eq!(
            after.starts_with(BOM),
            before.starts_with(BOM),
            "{name}: BOM"
        );
        assert!(
            !after[BOM.len()..].starts_with(BOM),
            "{name}: a second BOM was written"
        );
        let text = String::from_utf8(after.clone()).expect("UTF-8");
        let body = text.trim_start_matches('\u{feff}');
        if name.contains("directive") {
            assert!(
                body.starts_with("%YAML 1.2\n---\n") || body.starts_with("%YAML 1.2\r\n---\r\n"),
                "{name}: directive and document start"
            );
            assert!(
                body.ends_with("...\n") || body.ends_with("...\r\n"),
                "{name}: document end marker"
            );
        }
        if name.contains("crlf") {
            assert!(all_crlf(&after), "{name}: a bare LF crept in");
        }
        // The file on disk is what the library produces from the text as read.
        let read = migrate::discover::read_text(&fixture(name)).expect("readable fixture");
        let outcome = migrate::rewrite::rewrite(
            name,
            &read,
            &migrate::rewrite::RewriteOptions::with_role_arn(ROLE).expect("valid ARN"),
        )
        .expect("rewrites");
        assert_eq!(body, outcome.text, "{name}: written text");
        assert!(!body.contains("AWS_ACCESS_KEY_ID") && !body.contains("aws-access-key-id"));

        // Scan finds nothing left, and a second --write changes nothing.
        let scan = run(&["scan", path.to_str().expect("UTF-8 path")]);
        assert_eq!(scan.code, 0, "{name}: {}", scan.stdout);
        let second = rewrite_write(&path);
        assert_eq!(second.code, 0, "{name}: {}", second.stdout);
        assert!(
            second.stdout.contains("0 files rewritten"),
            "{name}: {}",
            second.stdout
        );
        assert_eq!(
            std::fs::read(&path).expect("read"),
            after,
            "{name}: not idempotent"
        );
    }
}

/// (path, rule, line) of every finding of `scan --format json` over `dir` with the given fix.
fn scan_dir(dir: &Path) -> Vec<(String, String, u64, String)> {
    let out = migrate()
        .args([
            "scan",
            dir.to_str().expect("UTF-8 path"),
            "--format",
            "json",
        ])
        .output()
        .expect("runs");
    json(&out)["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .map(|f| {
            (
                f["path"].as_str().expect("path").to_string(),
                f["rule"].as_str().expect("rule").to_string(),
                f["line"].as_u64().expect("line"),
                f["fix"].as_str().expect("fix").to_string(),
            )
        })
        .collect()
}

/// Over every file of `testdata/` (corpus, rules, repos and the rewrite fixtures): each
/// finding scan calls `auto` is rewritten, and rewrite leaves to a person exactly the
/// findings scan calls `manual`, with no file refused.
#[test]
fn scan_and_rewrite_agree_on_every_testdata_file() {
    let dir = root().join("testdata");
    let findings = scan_dir(&dir);
    assert!(
        findings.iter().filter(|f| f.3 == "auto").count() > 50,
        "testdata has auto findings"
    );
    let out = migrate()
        .args([
            "rewrite",
            dir.to_str().expect("UTF-8 path"),
            // A role per environment too (testdata/flow/environments.yml reads one secret name
            // under two environments).
            "--role-map",
            "testdata/role-maps/everything.toml",
        ])
        .args(["--format", "json"])
        .output()
        .expect("runs");
    let doc = json(&out);
    let mut problems = Vec::new();
    for file in doc["files"].as_array().expect("files") {
        let path = file["path"].as_str().expect("path");
        let lines = |key: &str, field: &str| -> Vec<(String, u64)> {
            file[key]
                .as_array()
                .expect("array")
                .iter()
                .map(|m| {
                    (
                        m[field].as_str().unwrap_or_default().to_string(),
                        m["line"].as_u64().expect("line"),
                    )
                })
                .collect()
        };
        let manual = lines("manual", "rule");
        let changes = lines("changes", "description");
        for (_, rule, line, fix) in findings.iter().filter(|f| f.0 == path) {
            let left = manual.iter().any(|(r, l)| r == rule && l == line);
            // One change drops every `workflow_call` secret declaration, at the first one's line.
            let rewritten = changes.iter().any(|(description, l)| {
                l == line
                    || (rule == "aws-keys-workflow-call-secret"
                        && description.starts_with("workflow_call: dropped"))
            });
            match fix.as_str() {
                "auto" if left || !rewritten => problems.push(format!(
                    "{path}:{line}: scan says auto, rewrite did not ({rule})"
                )),
                "manual" if !left => problems.push(format!(
                    "{path}:{line}: scan says manual, rewrite did not list it ({rule})"
                )),
                _ => {}
            }
        }
    }
    // A file whose auto findings the rewrite refused shows up as an error instead.
    for error in doc["errors"].as_array().expect("errors") {
        let error = error.as_str().unwrap_or_default();
        if findings
            .iter()
            .any(|f| f.3 == "auto" && error.starts_with(&format!("{}:", f.0)))
        {
            problems.push(format!("refused: {error}"));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

fn rewritten(name: &str) -> String {
    let out = migrate()
        .args([
            "rewrite",
            fixture(name).to_str().expect("UTF-8 path"),
            "--role-arn",
            ROLE,
        ])
        .args(["--format", "json"])
        .output()
        .expect("runs");
    json(&out)["files"][0]["diff"]
        .as_str()
        .expect("diff")
        .to_string()
}

#[test]
fn a_flow_mapping_step_is_edited_inside_its_braces() {
    let diff = rewritten("style-flow-step.yml");
    // Nested flow `with:`: the keys go, the role takes their place, quoted for flow context.
    // The pin's version comment goes at the end of the line, after the closing braces.
    assert!(
        diff.contains("+      - {name: creds, uses: aws-actions/configure-aws-credentials@e6de054238d6b7531b4efff3b6587d9aade6a06c, with: {role-to-assume: \"arn:aws:iam::123456789012:role/gha-deploy\", aws-region: us-east-1}} # v6.2.3\n"),
        "{diff}"
    );
    assert!(
        diff.contains("uses: aws-actions/configure-aws-credentials@e6de054238d6b7531b4efff3b6587d9aade6a06c} # v6.2.3\n"),
        "{diff}"
    );
    // In a flow mapping over several lines, after the comma that ends the ref's line.
    assert!(
        diff.contains("+          uses: aws-actions/configure-aws-credentials@e6de054238d6b7531b4efff3b6587d9aade6a06c, # v6.2.3\n"),
        "{diff}"
    );
}

#[test]
fn steps_in_a_flow_sequence_get_a_flow_mapping_configure_step() {
    let diff = rewritten("style-flow-steps-sequence.yml");
    assert!(
        diff.contains("+    steps: [{uses: actions/checkout@v4}, {name: \"Configure AWS credentials (OIDC)\", if: \"github.event.pull_request.head.repo.fork != true && github.actor != 'dependabot[bot]'\", uses: \"aws-actions/configure-aws-credentials@e6de054238d6b7531b4efff3b6587d9aade6a06c\", with: {role-to-assume: \"arn:aws:iam::123456789012:role/gha-deploy\", aws-region: \"us-east-1\"}}, {run: aws s3 ls}]\n"),
        "{diff}"
    );
    // The step carries the guard of inserted steps (no OIDC token in fork pull requests or
    // Dependabot runs) as a flow entry. An item that starts its line gets a line of its own
    // above the comments describing that item, with the pin comment.
    assert!(
        diff.contains("+      {name: \"Configure AWS credentials (OIDC)\", if: \"github.event.pull_request.head.repo.fork != true && github.actor != 'dependabot[bot]'\", uses: \"aws-actions/configure-aws-credentials@e6de054238d6b7531b4efff3b6587d9aade6a06c\", with: {role-to-assume: \"arn:aws:iam::123456789012:role/gha-deploy\", aws-region: \"ap-south-1\"}}, # v6.2.3\n       # the region comes from the step itself\n       {run: \"aws s3 ls --region ap-south-1\"}\n"),
        "{diff}"
    );
}

#[test]
fn a_step_whose_dash_stands_alone_gets_the_configure_step_above_its_dash() {
    let diff = rewritten("style-dash-comment-step.yml");
    // Above the comment that describes the step, then the `- # ...` line, unchanged.
    assert!(
        diff.contains("+          aws-region: us-east-1\n       # what the next step does\n       - # sync the site\n"),
        "{diff}"
    );
    // A wider gap after the dash is kept for the inserted step too.
    assert!(
        diff.contains("+      -   name: Configure AWS credentials (OIDC)\n"),
        "{diff}"
    );
    assert!(
        diff.contains("       -   # a wider gap after the dash\n           run: aws s3 ls\n"),
        "{diff}"
    );
}
