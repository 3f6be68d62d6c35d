//! Third-party validators on what `migrate trust` generates: checkov's GitHub OIDC trust checks
//! (CKV_AWS_358 on `aws_iam_policy_document`, CKV_AWS_393 on `aws_iam_role`) on every Terraform
//! file, and parliament on every permission policy. The tools come from the venv whose `bin`
//! directory is `MIGRATE_VALIDATORS_BIN` (CI always sets it); without it these tests say loudly
//! that they were skipped.

// A test that cannot unwrap has failed: panicking is the report.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeSet;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command as StdCommand, Stdio};

use assert_cmd::Command;
use serde_json::Value;

const CORPUS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/testdata/corpus");

/// Where policy-sentry and cloudsplaining live: their own venv (`MIGRATE_IAM_TOOLS_BIN`, as
/// `.ci/run` makes it, since checkov pins older versions of both), else the validators' venv.
fn iam_tools_bin() -> PathBuf {
    std::env::var_os("MIGRATE_IAM_TOOLS_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(validators_bin)
}
const TRUST_CHECKS: [&str; 2] = ["CKV_AWS_358", "CKV_AWS_393"];

/// The validators' venv (these tests are `#[ignore]`d; run with them, they must have it).
fn validators_bin() -> PathBuf {
    match std::env::var_os("MIGRATE_VALIDATORS_BIN") {
        Some(dir) => PathBuf::from(dir),
        None => panic!(
            "MIGRATE_VALIDATORS_BIN is not set: point it at the bin directory of a venv with zizmor, checkov, parliament and cfn-lint (.ci/run makes one)"
        ),
    }
}

/// `migrate trust` output for the given extra arguments; it must succeed.
fn generate(args: &[&str]) -> String {
    let output = Command::cargo_bin("migrate")
        .unwrap()
        .args(["trust", "--account-id", "123456789012"])
        .args(args)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

/// Every configuration whose generated IaC we validate.
fn cases() -> Vec<(&'static str, Vec<String>)> {
    let slug = ["--slug", "octo-org/octo-repo"].map(String::from).to_vec();
    let with = |extra: &[&str], path: &str| {
        let mut args = slug.clone();
        args.extend(extra.iter().map(|s| s.to_string()));
        args.push(path.to_string());
        args
    };
    let reusable = format!("{CORPUS}/001-ucdavis-lsit-actions-deploy.yml");
    vec![
        ("corpus", with(&[], CORPUS)),
        (
            "corpus-immutable",
            with(&["--repo-ids", "123456/456789"], CORPUS),
        ),
        (
            "corpus-existing-provider",
            with(&["--existing-provider"], CORPUS),
        ),
        (
            "corpus-ghes",
            with(&["--github-host", "ghe.example.com"], CORPUS),
        ),
        (
            "corpus-ghec",
            with(&["--enterprise-slug", "octo-ent"], CORPUS),
        ),
        ("org-wide-callee", with(&["--allow-org-wide"], &reusable)),
    ]
}

/// checkov's JSON report of the two trust checks on one directory.
fn checkov(bin: &Path, dir: &Path) -> Value {
    let output = StdCommand::new(bin.join("checkov"))
        .arg("-d")
        .arg(dir)
        .args(["--framework", "terraform", "--check"])
        .arg(TRUST_CHECKS.join(","))
        .args(["--compact", "--skip-download", "-o", "json"])
        .output()
        .expect("checkov runs");
    serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "checkov printed no JSON ({e}): {}",
            String::from_utf8_lossy(&output.stderr)
        )
    })
}

fn check_results(report: &Value, kind: &str) -> BTreeSet<(String, String)> {
    report["results"][kind]
        .as_array()
        .map(|checks| {
            checks
                .iter()
                .map(|c| {
                    (
                        c["check_id"].as_str().unwrap_or_default().to_string(),
                        c["resource"].as_str().unwrap_or_default().to_string(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

#[test]
#[ignore = "needs the validators: run .ci/run, or set MIGRATE_VALIDATORS_BIN and pass --include-ignored"]
fn checkov_passes_the_github_oidc_trust_checks_on_every_terraform_file() {
    let bin = validators_bin();
    for (name, args) in cases() {
        let mut tf_args: Vec<&str> = args.iter().map(String::as_str).collect();
        tf_args.extend(["--format", "terraform"]);
        let terraform = generate(&tf_args);
        let roles: Vec<String> = terraform
            .lines()
            .filter_map(|l| l.strip_prefix("resource \"aws_iam_role\" \""))
            .map(|l| l.trim_end_matches("\" {").to_string())
            .collect();
        assert!(!roles.is_empty(), "{name}: no roles generated");
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("main.tf"), &terraform).unwrap();
        let report = checkov(&bin, dir.path());
        let failed = check_results(&report, "failed_checks");
        assert!(
            failed.is_empty(),
            "{name}: checkov failed {failed:?}\n{terraform}"
        );
        let passed = check_results(&report, "passed_checks");
        for role in &roles {
            for (check, resource) in [
                ("CKV_AWS_393", format!("aws_iam_role.{role}")),
                (
                    "CKV_AWS_358",
                    format!("aws_iam_policy_document.{role}_trust"),
                ),
            ] {
                assert!(
                    passed.contains(&(check.to_string(), resource.clone())),
                    "{name}: {check} did not pass on {resource}: {passed:?}"
                );
            }
        }
    }
}

/// The checks above can fail: the same generated file with an unscoped `sub` is rejected.
#[test]
#[ignore = "needs the validators: run .ci/run, or set MIGRATE_VALIDATORS_BIN and pass --include-ignored"]
fn checkov_rejects_our_layout_with_an_unscoped_sub() {
    let bin = validators_bin();
    let file = format!("{CORPUS}/046-Lock128-speech-to-text-cdk-deploy.yml");
    let terraform = generate(&["--slug", "o/r", "--format", "terraform", &file]);
    let broken = terraform.replace("\"repo:o/r:environment:development\"", "\"repo:*\"");
    assert_ne!(broken, terraform);
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("main.tf"), &broken).unwrap();
    let failed = check_results(&checkov(&bin, dir.path()), "failed_checks");
    assert!(
        failed.contains(&(
            "CKV_AWS_358".to_string(),
            "aws_iam_policy_document.gha_r_dev_trust".to_string()
        )),
        "{failed:?}"
    );
}

/// parliament's findings on one policy (JSON lines on stdout).
fn parliament(bin: &Path, policy: &Value) -> Vec<Value> {
    let mut child = StdCommand::new(bin.join("parliament"))
        .arg("--json")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("parliament runs");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(policy.to_string().as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("parliament line {l}: {e}")))
        .collect()
}

fn serious(findings: &[Value]) -> Vec<&Value> {
    findings
        .iter()
        .filter(|f| matches!(f["severity"].as_str(), Some("MEDIUM" | "HIGH" | "CRITICAL")))
        .collect()
}

#[test]
#[ignore = "needs the validators: run .ci/run, or set MIGRATE_VALIDATORS_BIN and pass --include-ignored"]
fn parliament_finds_nothing_medium_or_above_in_any_permission_policy() {
    let bin = validators_bin();
    let mut checked = 0;
    for (name, args) in cases() {
        let mut json_args: Vec<&str> = args.iter().map(String::as_str).collect();
        json_args.extend(["--format", "json"]);
        let doc: Value = serde_json::from_str(&generate(&json_args)).unwrap();
        for role in doc["roles"].as_array().unwrap() {
            let policy = &role["permission_policy"];
            let findings = parliament(&bin, policy);
            let bad = serious(&findings);
            assert!(bad.is_empty(), "{name} {}: {bad:?}", role["name"]);
            checked += 1;
        }
    }
    assert!(checked > 0);
    // The check can fail: parliament flags a mismatched resource as MEDIUM.
    let mismatched = serde_json::json!({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::bucket"}]
    });
    assert!(!serious(&parliament(&bin, &mismatched)).is_empty());
}

/// A tool of a validators venv; missing, the test fails (`.ci/run` installs every one).
fn tool(bin: &Path, name: &str) -> PathBuf {
    let path = bin.join(name);
    assert!(
        path.exists(),
        "{name} is not in {} (.ci/run installs it)",
        bin.display()
    );
    path
}

#[test]
#[ignore = "needs the validators: run .ci/run, or set MIGRATE_VALIDATORS_BIN and pass --include-ignored"]
fn cfn_lint_accepts_every_cloudformation_template() {
    let bin = validators_bin();
    let cfn_lint = tool(&bin, "cfn-lint");
    let dir = tempfile::tempdir().unwrap();
    let mut files = Vec::new();
    for (name, args) in cases() {
        for (format, ext) in [("cloudformation", "yaml"), ("cloudformation-json", "json")] {
            let mut cfn_args: Vec<&str> = args.iter().map(String::as_str).collect();
            cfn_args.extend(["--format", format]);
            let path = dir.path().join(format!("{name}.{ext}"));
            std::fs::write(&path, generate(&cfn_args)).unwrap();
            files.push(path);
        }
    }
    let lint = |paths: &[PathBuf]| {
        StdCommand::new(&cfn_lint)
            .args(paths)
            .output()
            .expect("cfn-lint runs")
    };
    let output = lint(&files);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stdout)
    );
    // The check can fail: a role name IAM would refuse is reported.
    let text = std::fs::read_to_string(&files[0]).unwrap();
    let broken = dir.path().join("broken.yaml");
    std::fs::write(
        &broken,
        text.replace("RoleName: \"gha-", "RoleName: \"gha/bad/"),
    )
    .unwrap();
    assert!(!lint(&[broken]).status.success());
}

/// The Terraform parses as HCL (python-hcl2, which checkov reads Terraform with, is in the
/// validators' venv; terraform itself is not installable from the package sources CI has).
#[test]
#[ignore = "needs the validators: run .ci/run, or set MIGRATE_VALIDATORS_BIN and pass --include-ignored"]
fn terraform_parses_as_hcl() {
    let bin = validators_bin();
    let hcl2tojson = tool(&bin, "hcl2tojson");
    let dir = tempfile::tempdir().unwrap();
    for (name, args) in cases() {
        let mut tf_args: Vec<&str> = args.iter().map(String::as_str).collect();
        tf_args.extend(["--format", "terraform"]);
        let path = dir.path().join(format!("{name}.tf"));
        std::fs::write(&path, generate(&tf_args)).unwrap();
        let output = StdCommand::new(&hcl2tojson)
            .arg(&path)
            .arg(dir.path().join(format!("{name}.json")))
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "{name}: not HCL: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    // The check can fail: an unclosed block is not HCL.
    let broken = dir.path().join("broken.tf");
    std::fs::write(
        &broken,
        "resource \"aws_iam_role\" \"x\" {\n  name = \"x\"\n",
    )
    .unwrap();
    let output = StdCommand::new(&hcl2tojson)
        .arg(&broken)
        .arg(dir.path().join("broken.json"))
        .output()
        .unwrap();
    assert!(!output.status.success());
}

/// zizmor's findings per (file name, audit) for every workflow under `dir`.
fn zizmor_findings(
    zizmor: &Path,
    dir: &Path,
) -> std::collections::BTreeMap<(String, String), usize> {
    let output = StdCommand::new(zizmor)
        .args(["--offline", "--no-progress", "--format=json"])
        .arg(dir)
        .output()
        .unwrap();
    let findings: Value = serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "zizmor JSON ({e}): {}",
            String::from_utf8_lossy(&output.stderr)
        )
    });
    let mut counts = std::collections::BTreeMap::new();
    for f in findings.as_array().unwrap() {
        let path = f["locations"][0]["symbolic"]["key"]["Local"]["verbatim_path"]
            .as_str()
            .unwrap_or_default();
        let file = Path::new(path)
            .file_name()
            .unwrap()
            .to_string_lossy()
            .into_owned();
        *counts
            .entry((file, f["ident"].as_str().unwrap().to_string()))
            .or_insert(0) += 1;
    }
    counts
}

/// Every rewritten workflow passes zizmor with no finding it did not have before.
#[test]
#[ignore = "needs the validators: run .ci/run, or set MIGRATE_VALIDATORS_BIN and pass --include-ignored"]
fn zizmor_finds_nothing_new_in_rewritten_workflows() {
    let bin = validators_bin();
    let zizmor = bin.join("zizmor");
    let work = tempfile::tempdir().unwrap();
    let (before, after) = (
        work.path().join("before/.github/workflows"),
        work.path().join("after/.github/workflows"),
    );
    std::fs::create_dir_all(&before).unwrap();
    std::fs::create_dir_all(&after).unwrap();
    let mut copied = 0;
    for dir in [
        "testdata/corpus",
        "testdata/rules",
        "testdata/rewrite",
        "testdata/repos/inherit/.github/workflows",
    ] {
        for entry in std::fs::read_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join(dir)).unwrap() {
            let path = entry.unwrap().path();
            if !path.extension().is_some_and(|e| e == "yml" || e == "yaml") {
                continue;
            }
            let name = format!(
                "{}-{}",
                dir.replace('/', "_"),
                path.file_name().unwrap().to_string_lossy()
            );
            std::fs::copy(&path, before.join(&name)).unwrap();
            std::fs::copy(&path, after.join(&name)).unwrap();
            copied += 1;
        }
    }
    assert!(copied > 60);
    let output = Command::cargo_bin("migrate")
        .unwrap()
        .args([
            "rewrite",
            "--role-arn",
            "arn:aws:iam::123456789012:role/gha-deploy",
            "--write",
        ])
        .arg(work.path().join("after"))
        .output()
        .unwrap();
    let summary = String::from_utf8_lossy(&output.stdout);
    assert!(summary.contains(" rewritten"), "{summary}");
    let (old, new) = (
        zizmor_findings(&zizmor, &work.path().join("before")),
        zizmor_findings(&zizmor, &work.path().join("after")),
    );
    let worse: Vec<String> = new
        .iter()
        .filter(|(key, n)| **n > old.get(*key).copied().unwrap_or(0))
        .map(|((file, audit), n)| {
            format!(
                "{file}: {audit} {} -> {n}",
                old.get(&(file.clone(), audit.clone()))
                    .copied()
                    .unwrap_or(0)
            )
        })
        .collect();
    assert!(
        worse.is_empty(),
        "zizmor finds new problems after the rewrite:\n{}",
        worse.join("\n")
    );
    // The rewrite removed something zizmor cares about somewhere (static keys in the open).
    assert!(new.values().sum::<usize>() <= old.values().sum::<usize>());
}

/// The checkouts under `testdata/permissions` whose roles get an inferred policy.
fn inferred_policies() -> Vec<(String, Value)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/permissions");
    let mut out = Vec::new();
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(&root)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    dirs.sort();
    for dir in dirs
        .iter()
        .map(|d| d.display().to_string())
        .chain([CORPUS.to_string()])
    {
        let doc: Value = serde_json::from_str(&generate(&[
            "--slug",
            "octo-org/octo-repo",
            "--default-branch",
            "main",
            "--format",
            "json",
            &dir,
        ]))
        .unwrap();
        for role in doc["roles"].as_array().unwrap() {
            if role["permissions"] == "inferred" {
                out.push((format!("{dir} {}", role["name"]), role.clone()));
            }
        }
    }
    assert!(out.len() > 10, "too few inferred policies: {}", out.len());
    out
}

fn actions_of(policy: &Value) -> Vec<String> {
    policy["Statement"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|s| match &s["Action"] {
            Value::String(a) => vec![a.clone()],
            Value::Array(list) => list
                .iter()
                .map(|a| a.as_str().unwrap().to_string())
                .collect(),
            _ => Vec::new(),
        })
        .collect()
}

/// Every `prefix:Action` of AWS's Service Authorization Reference, as policy-sentry ships it.
fn iam_catalogue(bin: &Path) -> BTreeSet<String> {
    let script = "import json, os, policy_sentry\n\
        path = os.path.join(os.path.dirname(policy_sentry.__file__), 'shared', 'data', 'iam-definition.json')\n\
        data = json.load(open(path))\n\
        for prefix, service in data.items():\n\
        \x20   if isinstance(service, dict):\n\
        \x20       for action in service.get('privileges', {}):\n\
        \x20           print(prefix + ':' + action)\n";
    let output = StdCommand::new(bin.join("python"))
        .args(["-c", script])
        .output()
        .expect("the venv's python runs");
    assert!(
        output.status.success(),
        "policy-sentry is not in {} (.ci/run installs it): {}",
        bin.display(),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect()
}

#[test]
#[ignore = "needs the validators: run .ci/run, or set MIGRATE_VALIDATORS_BIN and pass --include-ignored"]
fn every_emitted_action_is_in_the_iam_catalogue() {
    let bin = iam_tools_bin();
    let catalogue = iam_catalogue(&bin);
    assert!(catalogue.contains("s3:GetObject"));
    // The check can fail: a misspelt action is not in the catalogue.
    assert!(!catalogue.contains("s3:GetObjekt"));
    let tables = migrate::trust::infer::table::tables();
    let missing: Vec<&str> = tables
        .all_actions()
        .filter(|a| !catalogue.contains(*a))
        .collect();
    assert!(
        missing.is_empty(),
        "table actions not in the catalogue: {missing:?}"
    );
    for (name, role) in inferred_policies() {
        for action in actions_of(&role["permission_policy"]) {
            assert!(
                catalogue.contains(&action),
                "{name}: {action} is not an IAM action"
            );
        }
    }
}

#[test]
#[ignore = "needs the validators: run .ci/run, or set MIGRATE_VALIDATORS_BIN and pass --include-ignored"]
fn parliament_finds_nothing_medium_or_above_in_any_inferred_policy() {
    let bin = validators_bin();
    for (name, role) in inferred_policies() {
        let findings = parliament(&bin, &role["permission_policy"]);
        // parliament's catalogue knows CloudFormation stacks but not the AWS-owned transforms
        // (`arn:aws:cloudformation:REGION:aws:transform/Serverless-2016-10-31`), on which SAM's
        // change sets need CreateChangeSet (AWS SAM permissions guide): that finding is explained.
        let bad: Vec<&Value> = serious(&findings)
            .into_iter()
            .filter(|f| {
                !(f["issue"] == "INVALID_ARN"
                    && f["location"]["string"]
                        .as_str()
                        .is_some_and(|s| s.contains(":aws:transform/")))
            })
            .collect();
        assert!(
            bad.is_empty(),
            "{name}: {bad:?}\n{}",
            role["permission_policy"]
        );
    }
}

/// Actions cloudsplaining may flag in an inferred policy, and the step that explains each.
const EXPLAINED_RISKS: &[(&str, &str)] = &[
    (
        "iam:PassRole",
        "ECS task definitions and CloudFormation/SAM/Serverless service roles are passed by name (the resources are the named roles)",
    ),
    (
        "s3:PutObjectAcl",
        "`aws s3 sync/cp --acl` sets object ACLs, on the named prefix only",
    ),
];

/// cloudsplaining's Privilege Escalation and Resource Exposure findings: (category, actions).
fn cloudsplaining(bin: &Path, policy: &Value) -> Vec<(String, Vec<String>)> {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("policy.json");
    std::fs::write(&file, policy.to_string()).unwrap();
    let output = StdCommand::new(bin.join("cloudsplaining"))
        .args(["scan-policy-file", "-i"])
        .arg(&file)
        .output()
        .expect("cloudsplaining runs");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let text = String::from_utf8(output.stdout).unwrap();
    // Drop ANSI colours.
    let mut plain = String::new();
    let mut in_escape = false;
    for c in text.chars() {
        match (in_escape, c) {
            (false, '\u{1b}') => in_escape = true,
            (true, 'm') => in_escape = false,
            (true, _) => {}
            (false, c) => plain.push(c),
        }
    }
    let mut out = Vec::new();
    let mut category = None;
    for line in plain.lines().map(str::trim) {
        if let Some(rest) = line.split("Policy is capable of ").nth(1) {
            category = Some(rest.trim().to_string());
        } else if let (Some(cat), Some(actions)) = (&category, line.strip_prefix("Actions: "))
            && (cat == "Privilege Escalation" || cat == "Resource Exposure")
        {
            out.push((
                cat.clone(),
                actions.split(", ").map(str::to_string).collect(),
            ));
        }
    }
    out
}

#[test]
#[ignore = "needs the validators: run .ci/run, or set MIGRATE_VALIDATORS_BIN and pass --include-ignored"]
fn cloudsplaining_finds_no_unexplained_escalation_or_exposure() {
    let bin = iam_tools_bin();
    tool(&bin, "cloudsplaining");
    for (name, role) in inferred_policies() {
        for (category, actions) in cloudsplaining(&bin, &role["permission_policy"]) {
            for action in actions {
                assert!(
                    EXPLAINED_RISKS
                        .iter()
                        .any(|(a, _)| a.eq_ignore_ascii_case(&action)),
                    "{name}: cloudsplaining flags {action} ({category}) and no step explains it\n{}",
                    role["permission_policy"]
                );
            }
        }
    }
    // The check can fail: an unscoped iam:* is flagged.
    let broad = serde_json::json!({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "iam:*", "Resource": "*"}]
    });
    assert!(
        cloudsplaining(&bin, &broad)
            .iter()
            .any(|(c, _)| c == "Privilege Escalation")
    );
}
