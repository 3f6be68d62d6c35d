//! `migrate trust` through the real binary: every output format, checkouts identified by
//! their `origin` remote, and each bad input's message and exit code.

// A test that cannot unwrap has failed: panicking is the report.
#![allow(clippy::unwrap_used)]

use crate::common;

use std::path::Path;
use std::process::Command as StdCommand;

use assert_cmd::Command;
use common::Run;
use serde_json::Value;

const CORPUS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/testdata/corpus");
const ACCOUNT: &str = "123456789012";

fn migrate() -> Command {
    Command::cargo_bin("migrate").unwrap()
}

fn trust(args: &[&str]) -> Run {
    let output = migrate().arg("trust").args(args).output().unwrap();
    Run::of(output)
}

fn corpus(file: &str) -> String {
    format!("{CORPUS}/{file}")
}

const ENVIRONMENTS: &str = "046-Lock128-speech-to-text-cdk-deploy.yml";

fn trust_046(format: &str, extra: &[&str]) -> Run {
    let file = corpus(ENVIRONMENTS);
    let mut args = vec![
        "--account-id",
        ACCOUNT,
        "--slug",
        "octo-org/octo-repo",
        "--format",
        format,
        file.as_str(),
    ];
    args.extend(extra);
    trust(&args)
}

#[test]
fn terraform_output() {
    let run = trust_046("terraform", &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let tf = &run.stdout;
    assert!(tf.contains("resource \"aws_iam_openid_connect_provider\" \"github\" {\n  url            = \"https://token.actions.githubusercontent.com\"\n  client_id_list = [\"sts.amazonaws.com\"]\n}"), "{tf}");
    assert!(!tf.contains("thumbprint_list ="));
    assert!(tf.contains("data \"aws_iam_policy_document\" \"gha_octo_repo_dev_trust\""));
    assert!(tf.contains("values   = [\"repo:octo-org/octo-repo:environment:development\"]"));
    assert!(tf.contains("\"migrate:campaign\" = \"static-keys-to-oidc\""));
    assert!(tf.contains("identifiers = [\"arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com\"]"));
    assert!(tf.contains("depends_on = [aws_iam_openid_connect_provider.github]"));
    assert!(!tf.contains("AdministratorAccess"));
    assert!(run.stderr.contains("warning: "));
}

#[test]
fn terraform_with_an_existing_provider_looks_it_up() {
    let run = trust_046("terraform", &["--existing-provider"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stdout
            .contains("data \"aws_iam_openid_connect_provider\" \"github\" {")
    );
    assert!(
        !run.stdout
            .contains("resource \"aws_iam_openid_connect_provider\"")
    );
    assert!(
        run.stdout
            .contains("depends_on = [data.aws_iam_openid_connect_provider.github]")
    );
}

#[test]
fn cloudformation_yaml_and_json() {
    let yaml = trust_046("cloudformation", &[]);
    assert_eq!(yaml.code, 0, "{}", yaml.stderr);
    assert!(yaml.stdout.contains("Type: \"AWS::IAM::OIDCProvider\""));
    assert!(yaml.stdout.contains("Type: \"AWS::IAM::Role\""));
    assert!(
        yaml.stdout
            .contains("\"token.actions.githubusercontent.com:sub\":\n")
    );
    assert!(!yaml.stdout.contains("ThumbprintList"));

    let json = trust_046("cloudformation-json", &[]);
    assert_eq!(json.code, 0, "{}", json.stderr);
    let doc: Value = serde_json::from_str(&json.stdout).unwrap();
    let role = &doc["Resources"]["GhaOctoRepoDevRole"]["Properties"];
    assert_eq!(role["RoleName"], "gha-octo-repo-dev");
    let statement = &role["AssumeRolePolicyDocument"]["Statement"][0];
    assert_eq!(
        statement["Principal"]["Federated"]["Ref"],
        "GitHubOidcProvider"
    );
    assert_eq!(
        statement["Condition"]["StringEquals"]["token.actions.githubusercontent.com:sub"][0],
        "repo:octo-org/octo-repo:environment:development"
    );
    assert_eq!(
        doc["Resources"]["GitHubOidcProvider"]["Properties"]["ClientIdList"][0],
        "sts.amazonaws.com"
    );
}

#[test]
fn json_output_with_role_map() {
    let run = trust_046("json", &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let doc: Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(doc["version"], 1);
    assert_eq!(doc["account_id"], ACCOUNT);
    let map = &doc["role_map"]["octo-org/octo-repo"];
    assert_eq!(
        map["AWS_ACCESS_KEY_ID_DEV"],
        "arn:aws:iam::123456789012:role/gha-octo-repo-dev"
    );
    assert_eq!(
        map["AWS_SECRET_ACCESS_KEY"],
        "arn:aws:iam::123456789012:role/gha-octo-repo"
    );
    let roles = doc["roles"].as_array().unwrap();
    assert_eq!(roles.len(), 2);
    // Both jobs run `cdk bootstrap`, which deploys its stack with the caller's own permissions,
    // before `cdk deploy`: the compiled statements (the bootstrap roles) are listed, and the
    // role falls back to `copied`, naming the step.
    assert_eq!(roles[0]["permissions"], "copied");
    assert_eq!(
        roles[0]["inferred"]["statements"][0]["sid"],
        "CdkDeployL170"
    );
    let unknown = roles[0]["inferred"]["unknown_steps"][0].as_str().unwrap();
    assert!(unknown.contains("`cdk bootstrap`"), "{unknown}");
    assert!(!doc["warnings"].as_array().unwrap().is_empty());
}

#[test]
fn ghes_and_enterprise_issuers() {
    let run = trust_046("json", &["--github-host", "ghe.example.com"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let doc: Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(
        doc["provider"]["url"],
        "https://ghe.example.com/_services/token"
    );
    let condition = &doc["roles"][0]["trust_policy"]["Statement"][0]["Condition"];
    assert!(condition["StringEquals"]["ghe.example.com/_services/token:sub"].is_array());

    let run = trust_046("json", &["--enterprise-slug", "octo-ent"]);
    let doc: Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(
        doc["roles"][0]["trust_policy"]["Statement"][0]["Principal"]["Federated"],
        "arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com/octo-ent"
    );
}

fn git(dir: &Path, args: &[&str]) {
    let ok = StdCommand::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .output()
        .unwrap()
        .status
        .success();
    assert!(ok, "git {args:?}");
}

/// A checkout at `dir` holding one workflow with static keys.
fn checkout(dir: &Path, origin: Option<&str>) {
    let workflows = dir.join(".github/workflows");
    std::fs::create_dir_all(&workflows).unwrap();
    std::fs::copy(corpus(ENVIRONMENTS), workflows.join("deploy.yml")).unwrap();
    git(dir, &["init", "-q"]);
    if let Some(url) = origin {
        git(dir, &["remote", "add", "origin", url]);
    }
}

#[test]
fn directory_of_checkouts_reads_each_origin() {
    let dir = tempfile::tempdir().unwrap();
    checkout(
        &dir.path().join("a"),
        Some("git@github.com:Acme/Widgets.git"),
    );
    checkout(
        &dir.path().join("b"),
        Some("https://github.com/Acme/gadgets"),
    );
    let run = trust(&[
        "--account-id",
        ACCOUNT,
        "--format",
        "json",
        dir.path().to_str().unwrap(),
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let doc: Value = serde_json::from_str(&run.stdout).unwrap();
    let names: Vec<&str> = doc["roles"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        vec![
            "gha-Widgets",
            "gha-Widgets-dev",
            "gha-gadgets",
            "gha-gadgets-dev"
        ]
    );
    assert_eq!(
        doc["roles"][0]["subs"][0],
        "repo:Acme/Widgets:environment:production"
    );
}

#[test]
fn bad_account_id() {
    let run = trust(&[
        "--account-id",
        "12345",
        "--slug",
        "o/r",
        &corpus(ENVIRONMENTS),
    ]);
    assert_eq!(run.code, 1);
    assert!(
        run.stderr
            .contains("error: account id `12345` must be exactly 12 digits"),
        "{}",
        run.stderr
    );
    assert!(run.stdout.is_empty());
}

#[test]
fn invalid_role_name_template() {
    let run = trust_046("terraform", &["--role-name-template", "gha/{repo}"]);
    assert_eq!(run.code, 1);
    assert!(
        run.stderr.contains("role name template `gha/{repo}`"),
        "{}",
        run.stderr
    );
    let run = trust_046("terraform", &["--role-name-template", "gha-{team}"]);
    assert!(
        run.stderr.contains("unknown placeholder `{team}`"),
        "{}",
        run.stderr
    );
}

#[test]
fn checkout_without_origin_and_without_slug() {
    let dir = tempfile::tempdir().unwrap();
    checkout(dir.path(), None);
    let run = trust(&["--account-id", ACCOUNT, dir.path().to_str().unwrap()]);
    assert_eq!(run.code, 1);
    assert!(
        run.stderr.contains("has no `origin` remote"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("--slug OWNER/REPO"));
    assert!(run.stdout.is_empty());
}

#[test]
fn file_outside_a_checkout_without_slug() {
    let run = trust(&["--account-id", ACCOUNT, &corpus(ENVIRONMENTS)]);
    assert_eq!(run.code, 1);
    assert!(
        run.stderr.contains("is not inside a checkout"),
        "{}",
        run.stderr
    );
}

#[test]
fn bad_slug_and_repo_ids() {
    let run = trust(&[
        "--account-id",
        ACCOUNT,
        "--slug",
        "not-a-slug",
        &corpus(ENVIRONMENTS),
    ]);
    assert_eq!(run.code, 1);
    assert!(
        run.stderr.contains("`not-a-slug` is not OWNER/REPO"),
        "{}",
        run.stderr
    );
    let run = trust_046("json", &["--repo-ids", "12/abc"]);
    assert_eq!(run.code, 1);
    assert!(run.stderr.contains("OWNER_ID/REPO_ID"), "{}", run.stderr);
}

#[test]
fn expression_environment_warns_and_emits_no_wildcard() {
    let file = corpus("016-andrelopesmds-reusable-workflows-aws-cdk-deploy.yml");
    let run = trust(&[
        "--account-id",
        ACCOUNT,
        "--slug",
        "o/r",
        "--format",
        "json",
        &file,
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stderr.contains("is an expression"), "{}", run.stderr);
    let doc: Value = serde_json::from_str(&run.stdout).unwrap();
    assert!(doc["roles"].as_array().unwrap().is_empty());
    assert!(!run.stdout.contains("environment:*"));
}

#[test]
fn role_map_toml_for_rewrite() {
    let run = trust_046("role-map", &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(
        run.stdout,
        "# Generated by `migrate trust` for AWS account 123456789012: pass to `migrate rewrite --role-map`.\n\
         [roles]\n\
         \"octo-org/octo-repo:AWS_ACCESS_KEY_ID\" = \"arn:aws:iam::123456789012:role/gha-octo-repo\"\n\
         \"octo-org/octo-repo:AWS_ACCESS_KEY_ID_DEV\" = \"arn:aws:iam::123456789012:role/gha-octo-repo-dev\"\n\
         \"octo-org/octo-repo:AWS_SECRET_ACCESS_KEY\" = \"arn:aws:iam::123456789012:role/gha-octo-repo\"\n\
         \"octo-org/octo-repo:AWS_SECRET_ACCESS_KEY_DEV\" = \"arn:aws:iam::123456789012:role/gha-octo-repo-dev\"\n"
    );
}

#[test]
fn apply_without_aws_credentials_says_so() {
    let file = corpus(ENVIRONMENTS);
    let output = migrate()
        .args([
            "trust",
            "--account-id",
            ACCOUNT,
            "--slug",
            "o/r",
            "--apply",
            "--yes",
            &file,
        ])
        .env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SECRET_ACCESS_KEY")
        .env_remove("AWS_SESSION_TOKEN")
        .env_remove("AWS_PROFILE")
        .env("AWS_CONFIG_FILE", "/nonexistent")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        // A closed local port: nothing leaves the machine even if credentials were found.
        .env("AWS_ENDPOINT_URL_IAM", "http://127.0.0.1:9")
        .output()
        .unwrap();
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("no usable AWS credentials"), "{stderr}");
    assert!(output.stdout.is_empty());
}
