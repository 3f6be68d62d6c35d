//! The command line itself: formats, exit codes, and bad input that must not stop a scan.

use crate::common;

use common::{json, migrate, stdout};

#[test]
fn exit_codes_distinguish_clean_findings_and_errors() {
    let clean = migrate()
        .args(["scan", "testdata/negative"])
        .output()
        .expect("runs");
    assert_eq!(clean.status.code(), Some(0), "{}", stdout(&clean));
    let findings = migrate()
        .args(["scan", "testdata/rules"])
        .output()
        .expect("runs");
    assert_eq!(findings.status.code(), Some(10));
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir_all(dir.path().join(".github/workflows")).expect("mkdir");
    std::fs::write(
        dir.path().join(".github/workflows/bad.yml"),
        "on: push\njobs: [\n",
    )
    .expect("write");
    let errors = migrate()
        .arg("scan")
        .arg(dir.path())
        .output()
        .expect("runs");
    assert_eq!(errors.status.code(), Some(11));
    let both = migrate()
        .arg("scan")
        .arg(dir.path())
        .arg("testdata/rules")
        .output()
        .expect("runs");
    assert_eq!(both.status.code(), Some(12));
    let usage = migrate()
        .args(["scan", "--format", "yaml"])
        .output()
        .expect("runs");
    assert_eq!(usage.status.code(), Some(2));
}

/// Each kind of bad file gets an error naming it (and a line where there is one), and the
/// good file next to them is still scanned.
#[test]
fn bad_files_are_reported_and_the_scan_goes_on() {
    let dir = tempfile::tempdir().expect("tempdir");
    let wf = dir.path().join(".github/workflows");
    std::fs::create_dir_all(&wf).expect("mkdir");
    std::fs::copy(
        common::root()
            .join("testdata/corpus/058-DEVROOM-OFFICIAL-DEVROOM-backend-lambda-deploy.yml"),
        wf.join("good.yml"),
    )
    .expect("copy");
    std::fs::write(
        wf.join("invalid.yml"),
        "on: push\njobs:\n  a:\n    steps: [\n      - run: x\n",
    )
    .expect("write");
    let mut bomb = String::from(
        "on: push\njobs: {}\na: &a [\"lol\", \"lol\", \"lol\", \"lol\", \"lol\", \"lol\", \"lol\", \"lol\", \"lol\"]\n",
    );
    for i in 0..40 {
        let prev = if i == 0 {
            "a".to_string()
        } else {
            format!("b{}", i - 1)
        };
        bomb.push_str(&format!("b{i}: &b{i} [*{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}]\n"));
    }
    std::fs::write(wf.join("bomb.yml"), bomb).expect("write");
    std::fs::write(wf.join("binary.yml"), b"on: push\n\x00\x01\x02").expect("write");
    std::fs::write(wf.join("latin1.yml"), b"on: push\nname: caf\xe9\n").expect("write");
    std::fs::write(
        wf.join("no-on.yml"),
        "jobs:\n  a:\n    runs-on: x\n    steps: []\n",
    )
    .expect("write");
    let huge = std::fs::File::create(wf.join("huge.yml")).expect("create");
    huge.set_len(50 * 1024 * 1024).expect("sparse 50 MB file");
    std::os::unix::fs::symlink(dir.path().join("missing.yml"), wf.join("dangling.yml"))
        .expect("symlink");

    let output = migrate()
        .arg("scan")
        .arg(dir.path())
        .arg(wf.join("dangling.yml"))
        .args(["--format", "json"])
        .output()
        .expect("runs");
    let doc = json(&output);
    let errors = doc["errors"].as_array().expect("errors");
    let message_for = |name: &str| -> String {
        errors
            .iter()
            .find(|e| e["path"].as_str().is_some_and(|p| p.ends_with(name)))
            .map(|e| format!("{} line={}", e["message"], e["line"]))
            .unwrap_or_else(|| panic!("no error for {name}: {errors:?}"))
    };
    assert!(message_for("invalid.yml").contains("invalid YAML"));
    assert!(
        message_for("invalid.yml").contains("line=5")
            || message_for("invalid.yml").contains("line=6")
    );
    assert!(message_for("binary.yml").contains("binary file"));
    assert!(
        message_for("latin1.yml").contains("not valid UTF-8")
            && message_for("latin1.yml").contains("line=2")
    );
    assert!(message_for("huge.yml").contains("limit"));
    assert!(message_for("no-on.yml").contains("no `on:`"));
    assert!(message_for("dangling.yml").contains("no such file"));
    // The alias bomb parses cheaply (aliases are never expanded) and has no findings.
    assert!(
        !errors
            .iter()
            .any(|e| e["path"].as_str().is_some_and(|p| p.ends_with("bomb.yml")))
    );
    // The good file was still scanned.
    assert!(
        doc["findings"]
            .as_array()
            .expect("findings")
            .iter()
            .any(|f| f["path"].as_str().is_some_and(|p| p.ends_with("good.yml")))
    );
    assert_eq!(output.status.code(), Some(12));
}

#[test]
fn other_yaml_is_skipped_quietly_but_named_files_are_always_scanned() {
    let walked = migrate()
        .args(["scan", "testdata/negative", "--format", "json"])
        .output()
        .expect("runs");
    assert_eq!(json(&walked)["summary"]["skipped"], 1);
    assert_eq!(json(&walked)["errors"], serde_json::json!([]));
    let named = migrate()
        .args([
            "scan",
            "testdata/negative/not-a-workflow.yml",
            "--format",
            "json",
        ])
        .output()
        .expect("runs");
    let doc = json(&named);
    assert!(
        doc["errors"][0]["message"]
            .as_str()
            .is_some_and(|m| m.contains("not a workflow"))
    );
}

#[test]
fn sarif_is_2_1_0_with_rules_and_results() {
    let output = migrate()
        .args(["scan", "testdata/rules", "--format", "sarif"])
        .output()
        .expect("runs");
    let doc = json(&output);
    assert_eq!(doc["version"], "2.1.0");
    let run = &doc["runs"][0];
    let rule_ids: Vec<&str> = run["tool"]["driver"]["rules"]
        .as_array()
        .expect("rules")
        .iter()
        .filter_map(|r| r["id"].as_str())
        .collect();
    assert!(rule_ids.contains(&"aws-keys-env"));
    let results = run["results"].as_array().expect("results");
    assert!(!results.is_empty());
    for r in results {
        assert!(rule_ids.contains(&r["ruleId"].as_str().expect("ruleId")));
        assert!(
            r["locations"][0]["physicalLocation"]["region"]["startLine"]
                .as_u64()
                .expect("line")
                > 0
        );
    }
}

#[test]
fn github_annotations_name_file_line_and_rule() {
    let output = migrate()
        .args([
            "scan",
            "testdata/rules/env-levels.yml",
            "--format",
            "github",
        ])
        .output()
        .expect("runs");
    let text = stdout(&output);
    assert!(
        text.lines().any(|l| l.starts_with(
            "::warning file=testdata/rules/env-levels.yml,line=15,col=26,title=aws-keys-env::"
        )),
        "{text}"
    );
}

#[test]
fn human_output_groups_snippets_and_summarizes() {
    let output = migrate()
        .args(["scan", "testdata/rules/env-levels.yml"])
        .output()
        .expect("runs");
    let text = stdout(&output);
    assert!(text.contains("warning[aws-keys-env]"));
    assert!(text.contains("--> testdata/rules/env-levels.yml:15:26"));
    assert!(!text.contains('\u{1b}'), "no color when not a terminal");
    assert!(text.trim_end().ends_with("aws-keys-env 5"), "{text}");
}

#[test]
fn help_has_examples() {
    let output = migrate().args(["scan", "--help"]).output().expect("runs");
    assert!(stdout(&output).contains("Examples:"));
}

/// A job that passes `secrets: inherit` to a local workflow the rewrite moves to OIDC gets
/// `id-token: write` too, or the run would fail at start; afterwards scan finds nothing auto.
#[test]
fn rewrite_grants_the_token_to_callers_that_inherit_secrets() {
    let dir = tempfile::tempdir().expect("tempdir");
    let workflows = dir.path().join(".github/workflows");
    std::fs::create_dir_all(&workflows).expect("mkdir");
    for name in ["ci.yml", "aws.yml", "lint.yml"] {
        std::fs::copy(
            common::root()
                .join("testdata/repos/inherit/.github/workflows")
                .join(name),
            workflows.join(name),
        )
        .expect("copy");
    }
    let output = migrate()
        .args([
            "rewrite",
            "--role-arn",
            "arn:aws:iam::123456789012:role/deploy",
            "--write",
        ])
        .arg(dir.path())
        .output()
        .expect("runs");
    assert_eq!(output.status.code(), Some(0), "{}", stdout(&output));
    let ci = std::fs::read_to_string(workflows.join("ci.yml")).expect("read");
    assert!(
        ci.contains(
            "  call-deploy:\n    permissions:\n      contents: read\n      id-token: write"
        ),
        "{ci}"
    );
    assert!(
        !ci.contains("  call-clean:\n    permissions:"),
        "the caller of a keyless workflow is untouched: {ci}"
    );
    let scan = migrate()
        .args(["scan", "--format", "json"])
        .arg(dir.path())
        .output()
        .expect("runs");
    assert_eq!(json(&scan)["summary"]["auto"], 0);
}

/// Scan's verdicts and rewrite's outcome agree on every file: a finding scan calls `auto` is
/// rewritten, one it calls `manual` is left for a person (the credential-flow model is the
/// one source of both).
#[test]
fn scan_and_rewrite_agree_on_every_testdata_file() {
    let scanned = migrate()
        .args(["scan", "testdata", "--format", "json"])
        .output()
        .expect("runs");
    let scan = json(&scanned);
    let rewritten = migrate()
        .args([
            "rewrite",
            "testdata",
            "--role-map",
            "testdata/role-maps/everything.toml",
            "--format",
            "json",
        ])
        .output()
        .expect("runs");
    let rewrite = json(&rewritten);
    let mut left_manual = std::collections::BTreeSet::new();
    for file in rewrite["files"].as_array().expect("files") {
        for m in file["manual"].as_array().expect("manual") {
            left_manual.insert((
                file["path"].as_str().unwrap_or_default().to_string(),
                m["line"].as_u64().unwrap_or_default(),
                m["rule"].as_str().unwrap_or_default().to_string(),
            ));
        }
        for m in file["manual"].as_array().expect("manual") {
            let reason = m["reason"].as_str().unwrap_or_default();
            assert!(
                !reason.starts_with("flow-check:"),
                "{}: the rewrite could not prove what scan called auto: {reason}",
                file["path"]
            );
        }
    }
    assert_eq!(
        rewrite["errors"],
        serde_json::json!([]),
        "{}",
        stdout(&rewritten)
    );
    let mut disagreements = Vec::new();
    for f in scan["findings"].as_array().expect("findings") {
        let key = (
            f["path"].as_str().unwrap_or_default().to_string(),
            f["line"].as_u64().unwrap_or_default(),
            f["rule"].as_str().unwrap_or_default().to_string(),
        );
        let manual_in_scan = f["fix"] == "manual";
        if manual_in_scan != left_manual.contains(&key) {
            disagreements.push(format!("{key:?} scan={}", f["fix"]));
        }
    }
    assert!(disagreements.is_empty(), "{disagreements:#?}");
}

/// `--explain` prints each step's credentials before and after, and what blocks the rest.
#[test]
fn explain_shows_the_credential_flow() {
    let output = migrate()
        .args([
            "rewrite",
            "testdata/flow/role-chaining.yml",
            "testdata/flow/conditional-consumers.yml",
            "--role-arn",
            "arn:aws:iam::123456789012:role/gha-deploy",
            "--explain",
        ])
        .output()
        .expect("runs");
    insta::assert_snapshot!(stdout(&output));
    // Findings are left for a person, so the exit code says so; nothing was written.
    assert_eq!(output.status.code(), Some(10));
}

/// The JSON output carries the proven before/after rows per file.
#[test]
fn rewrite_json_carries_the_flow_rows() {
    let output = migrate()
        .args([
            "rewrite",
            "testdata/flow/role-chaining.yml",
            "--role-arn",
            "arn:aws:iam::123456789012:role/gha-deploy",
            "--format",
            "json",
        ])
        .output()
        .expect("runs");
    let doc = json(&output);
    let rows = doc["files"][0]["flow"].as_array().expect("flow rows");
    let chained = rows
        .iter()
        .find(|r| r["job"] == "inputs-and-role")
        .expect("the chained job's consumer");
    assert_eq!(
        chained["after"],
        "role arn:aws:iam::210987654321:role/deployer chained from role arn:aws:iam::123456789012:role/gha-deploy (OIDC)"
    );
}

/// Class 9: one secret name read under two environments gets one role per environment from
/// `trust`, and `rewrite` with that role map gives each job its own; a single role is refused.
#[test]
fn environments_get_a_role_each_from_trust_to_rewrite() {
    let dir = tempfile::tempdir().expect("temp dir");
    let map = dir.path().join("roles.toml");
    let trust = migrate()
        .args([
            "trust",
            "testdata/flow/environments.yml",
            "--account-id",
            "123456789012",
            "--slug",
            "acme/site",
            "--format",
            "role-map",
        ])
        .output()
        .expect("runs");
    let text = stdout(&trust);
    assert!(text.contains("[environments.\"staging\"]"), "{text}");
    assert!(text.contains("[environments.\"production\"]"), "{text}");
    std::fs::write(&map, &text).expect("write role map");
    let rewrite = migrate()
        .args([
            "rewrite",
            "testdata/flow/environments.yml",
            "--slug",
            "acme/site",
            "--role-map",
        ])
        .arg(&map)
        .output()
        .expect("runs");
    let diff = stdout(&rewrite);
    assert_eq!(rewrite.status.code(), Some(0), "{diff}");
    assert!(
        diff.contains(
            "+          role-to-assume: arn:aws:iam::123456789012:role/gha-site-staging\n"
        ) && diff.contains("+          role-to-assume: arn:aws:iam::123456789012:role/gha-site\n"),
        "{diff}"
    );
    let single = migrate()
        .args([
            "rewrite",
            "testdata/flow/environments.yml",
            "--role-arn",
            "arn:aws:iam::123456789012:role/one",
        ])
        .output()
        .expect("runs");
    assert_eq!(single.status.code(), Some(11));
    assert!(
        stdout(&single).contains("read under the environments staging, production"),
        "{}",
        stdout(&single)
    );
}

/// Class 2: the role that replaces keys which were the source of an assume-role call may
/// assume the old target role, and `trust` warns that the target must now trust it.
#[test]
fn trust_lets_the_new_role_chain_to_the_old_target() {
    let output = migrate()
        .args([
            "trust",
            "testdata/flow/role-chaining.yml",
            "--account-id",
            "123456789012",
            "--slug",
            "acme/app",
            "--format",
            "json",
        ])
        .output()
        .expect("runs");
    let doc = json(&output);
    let statements = doc["roles"][0]["permission_policy"]["Statement"]
        .as_array()
        .expect("statements");
    let chain = statements
        .iter()
        .find(|s| s["Sid"] == "ChainToExistingRoles")
        .expect("a chaining statement");
    assert_eq!(
        chain["Action"],
        serde_json::json!(["sts:AssumeRole", "sts:TagSession"])
    );
    assert_eq!(
        chain["Resource"],
        serde_json::json!(["arn:aws:iam::210987654321:role/deployer"])
    );
    let warned = doc["warnings"]
        .as_array()
        .expect("warnings")
        .iter()
        .any(|w| {
            w.as_str().is_some_and(|w| {
                w.contains("arn:aws:iam::210987654321:role/deployer's trust policy must allow")
            })
        });
    assert!(warned, "{}", doc["warnings"]);
}

/// Class 6: a reusable workflow's role follows the names its callers pass its secrets from
/// (through every level), in `rewrite` and `trust` alike; a map entry for the callee's own
/// names (here a wrong account) is never used for it.
#[test]
fn a_callees_role_follows_the_names_its_callers_pass() {
    let dir = tempfile::tempdir().expect("tempdir");
    let workflows = dir.path().join(".github/workflows");
    std::fs::create_dir_all(&workflows).expect("mkdir");
    let fixture = common::root().join("testdata/repos/renamed-secrets/.github/workflows");
    for entry in std::fs::read_dir(&fixture).expect("fixture") {
        let path = entry.expect("entry").path();
        std::fs::copy(&path, workflows.join(path.file_name().expect("name"))).expect("copy");
    }
    let wrong = "arn:aws:iam::111111111111:role/wrong-account";
    let prod = "arn:aws:iam::222222222222:role/prod";
    let release = "arn:aws:iam::333333333333:role/release";
    let map = dir.path().join("roles.toml");
    std::fs::write(
        &map,
        format!(
            "[roles]\nAWS_ACCESS_KEY_ID = \"{wrong}\"\nAWS_SECRET_ACCESS_KEY = \"{wrong}\"\nPROMOTE_KEY_ID = \"{wrong}\"\nPROD_AWS_ACCESS_KEY_ID = \"{prod}\"\nPROD_AWS_SECRET_ACCESS_KEY = \"{prod}\"\nRELEASE_AWS_ACCESS_KEY_ID = \"{release}\"\n"
        ),
    )
    .expect("role map");
    let output = migrate()
        .args(["rewrite", "--write", "--role-map"])
        .arg(&map)
        .arg(&workflows)
        .output()
        .expect("runs");
    assert_eq!(output.status.code(), Some(0), "{}", stdout(&output));
    let read = |name: &str| std::fs::read_to_string(workflows.join(name)).expect("read");
    let deploy = read("deploy.yml");
    assert!(
        deploy.contains(&format!("role-to-assume: {prod}")),
        "{deploy}"
    );
    let upload = read("upload.yml");
    assert!(
        upload.contains(&format!("role-to-assume: {release}")),
        "{upload}"
    );
    for text in [&deploy, &upload] {
        assert!(!text.contains(wrong), "{text}");
    }
    let scan = migrate()
        .args(["scan", "--format", "json"])
        .arg(dir.path())
        .output()
        .expect("runs");
    assert_eq!(json(&scan)["summary"]["auto"], 0, "{}", stdout(&scan));

    // trust, on the original files, keys the callee's role by the same names.
    let trust = migrate()
        .args([
            "trust",
            "--account-id",
            "123456789012",
            "--slug",
            "octo-org/octo-repo",
            "--default-branch",
            "main",
            "--format",
            "json",
        ])
        .arg(&fixture)
        .output()
        .expect("runs");
    let doc = json(&trust);
    let role_map = &doc["role_map"]["octo-org/octo-repo"];
    assert!(role_map.get("AWS_ACCESS_KEY_ID").is_none(), "{role_map}");
    let roles = doc["roles"].as_array().expect("roles");
    let role_of = |file: &str| {
        roles
            .iter()
            .find(|r| {
                r["jobs"].as_array().is_some_and(|jobs| {
                    jobs.iter()
                        .any(|j| j["path"].as_str().is_some_and(|p| p.ends_with(file)))
                })
            })
            .map(|r| r["arn"].as_str().unwrap_or_default().to_string())
    };
    assert_eq!(
        role_map["PROD_AWS_ACCESS_KEY_ID"]
            .as_str()
            .map(str::to_string),
        role_of("deploy.yml")
    );
    assert_eq!(
        role_map["RELEASE_AWS_ACCESS_KEY_ID"]
            .as_str()
            .map(str::to_string),
        role_of("upload.yml")
    );
}

/// A campaign ledger written by a newer migrate (a later schema version) is refused by every
/// campaign command with a message saying so, before anything is read or written.
#[test]
fn a_ledger_from_a_newer_migrate_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let ledger = dir.path().join("campaign.db");
    drop(migrate::campaign::Ledger::open(&ledger).unwrap());
    rusqlite::Connection::open(&ledger)
        .unwrap()
        .pragma_update(
            None,
            "user_version",
            migrate::campaign::ledger::SCHEMA_VERSION + 1,
        )
        .unwrap();
    for args in [
        &["status", "--org", "acme", "--no-aws"][..],
        &["cleanup", "--org", "acme", "--no-aws"],
        &["undo"],
    ] {
        let command = args[0];
        let output = migrate()
            .args(args)
            .env("MIGRATE_GITHUB_URL", "http://127.0.0.1:9")
            .arg("--campaign")
            .arg(&ledger)
            .env("GH_TOKEN", "x")
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(1), "{command}: {stderr}");
        assert!(
            stderr.contains("was written by a newer migrate"),
            "{command}: {stderr}"
        );
    }
}
