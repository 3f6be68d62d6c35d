//! `migrate trust --permissions` through the real binary: one checkout per command family,
//! known action and deploy tool under `testdata/permissions/`, each with its exact inferred
//! policy (insta snapshot: statements, sources, warnings), the fallbacks to `copied`, the
//! placeholder choice, and the Terraform and CloudFormation renderings.

// A test that cannot unwrap has failed: panicking is the report.
#![allow(clippy::unwrap_used)]

use crate::common;

use std::path::PathBuf;

use common::Run;
use serde_json::Value;

const ACCOUNT: &str = "123456789012";

fn case(name: &str) -> PathBuf {
    common::root().join("testdata/permissions").join(name)
}

fn trust(dir: &PathBuf, extra: &[&str]) -> Run {
    let output = common::migrate()
        .args([
            "trust",
            "--account-id",
            ACCOUNT,
            "--slug",
            "octo/app",
            "--default-branch",
            "main",
        ])
        .args(extra)
        .arg(dir)
        .output()
        .unwrap();
    Run::of(output)
}

/// The role's permission choice, policy, statement sources and the run's warnings, as text.
fn summary(name: &str) -> (Value, String) {
    let dir = case(name);
    let run = trust(&dir, &["--format", "json"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let doc: Value = serde_json::from_str(&run.stdout).unwrap();
    let role = &doc["roles"][0];
    let warnings: Vec<&str> = run
        .stderr
        .lines()
        .filter(|l| !l.contains("trusting the name form"))
        .collect();
    let text = format!(
        "permissions: {}\n\npolicy:\n{}\n\nstatements:\n{}\n\nwarnings:\n{}\n",
        role["permissions"],
        serde_json::to_string_pretty(&role["permission_policy"]).unwrap(),
        serde_json::to_string_pretty(&role["inferred"]).unwrap(),
        warnings.join("\n")
    );
    (role.clone(), text)
}

const INFERRED: &[&str] = &[
    "s3-cli",
    "ecr-docker",
    "ecs",
    "api-commands",
    "cloudformation",
    "known-actions",
    "cdk",
    "sam",
    "serverless",
    "terraform-backend",
    "repo-script",
    "harmless-actions",
    "package-scripts",
    "makefile",
];

#[test]
fn every_family_compiles_to_its_exact_policy() {
    for name in INFERRED {
        let (role, text) = summary(name);
        assert_eq!(role["permissions"], "inferred", "{name}: {text}");
        insta::assert_snapshot!(format!("inferred-{name}"), text);
    }
}

#[test]
fn unreadable_steps_fall_back_to_copied_and_say_which() {
    for name in [
        "terraform-apply",
        "unknown-steps",
        "unknown-actions",
        "unread-runners",
    ] {
        let (role, text) = summary(name);
        assert_eq!(role["permissions"], "copied", "{name}: {text}");
        assert!(
            role["permission_policy"]["Statement"][0]["Sid"]
                == "TodoReplaceWithThePermissionsTheWorkflowNeeds",
            "{text}"
        );
        assert!(text.contains("steps not understood"), "{text}");
        insta::assert_snapshot!(format!("fallback-{name}"), text);
    }
}

#[test]
fn placeholder_and_copied_are_chosen_explicitly() {
    let dir = case("s3-cli");
    for (choice, expected) in [("placeholder", "placeholder"), ("copied", "copied")] {
        let run = trust(&dir, &["--format", "json", "--permissions", choice]);
        assert_eq!(run.code, 0, "{}", run.stderr);
        let doc: Value = serde_json::from_str(&run.stdout).unwrap();
        assert_eq!(doc["roles"][0]["permissions"], expected);
        assert_eq!(
            doc["roles"][0]["permission_policy"]["Statement"][0]["Sid"],
            "TodoReplaceWithThePermissionsTheWorkflowNeeds"
        );
    }
    let run = trust(&dir, &["--permissions", "everything"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
}

#[test]
fn terraform_names_each_statements_steps() {
    let run = trust(&case("s3-cli"), &["--format", "terraform"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let tf = &run.stdout;
    assert!(
        tf.contains("# aws s3 sync: .github/workflows/deploy.yml:20"),
        "{tf}"
    );
    assert!(
        tf.contains("name   = \"migrate-inferred-from-workflows\""),
        "{tf}"
    );
    assert!(!tf.contains("TODO"), "{tf}");
    let run = trust(&case("s3-cli"), &["--format", "cloudformation-json"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let cfn: Value = serde_json::from_str(&run.stdout).unwrap();
    let role = cfn["Resources"]
        .as_object()
        .unwrap()
        .values()
        .find(|r| r["Type"] == "AWS::IAM::Role")
        .unwrap();
    let policy = &role["Properties"]["Policies"][0];
    assert_eq!(policy["PolicyName"], "migrate-inferred-from-workflows");
    assert!(
        policy["PolicyDocument"]["Statement"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["Sid"] == "AwsS3SyncL20")
    );
}
