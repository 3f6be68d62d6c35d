//! The pre-flight trust check end to end: `rewrite --pr --preflight` with the real binary
//! against the fake GitHub and moto's IAM (`AWS_ENDPOINT_URL_IAM`, started by `.ci/run`).
//! A repository with an environment job, a pull-request job and a reusable workflow called
//! on tags, against a role that trusts only `main`; and a repository whose role is missing.

use crate::common;

use aws_sdk_iam::Client;
use common::fake_github::{FakeGitHub, TOKEN, World};
use common::{Run, migrate};

const ACCOUNT: &str = "123456789012";
const ISSUER: &str = "token.actions.githubusercontent.com";

const DEPLOY: &str = "on:\n  push:\n    branches: [main]\njobs:\n  deploy:\n    runs-on: ubuntu-latest\n    environment: prod\n    steps:\n      - uses: aws-actions/configure-aws-credentials@v4\n        with:\n          aws-access-key-id: ${{ secrets.AWS_ACCESS_KEY_ID }}\n          aws-secret-access-key: ${{ secrets.AWS_SECRET_ACCESS_KEY }}\n          aws-region: us-east-1\n      - run: aws s3 sync site s3://bucket\n";

const CI: &str = "on:\n  push:\n    branches: [main]\n  pull_request:\njobs:\n  test:\n    runs-on: ubuntu-latest\n    steps:\n      - uses: aws-actions/configure-aws-credentials@v4\n        with:\n          aws-access-key-id: ${{ secrets.AWS_ACCESS_KEY_ID }}\n          aws-secret-access-key: ${{ secrets.AWS_SECRET_ACCESS_KEY }}\n          aws-region: us-east-1\n      - run: aws s3 ls\n";

const SHARED: &str = "on:\n  workflow_call:\n    secrets:\n      AWS_ACCESS_KEY_ID:\n        required: true\n      AWS_SECRET_ACCESS_KEY:\n        required: true\njobs:\n  upload:\n    runs-on: ubuntu-latest\n    steps:\n      - uses: aws-actions/configure-aws-credentials@v4\n        with:\n          aws-access-key-id: ${{ secrets.AWS_ACCESS_KEY_ID }}\n          aws-secret-access-key: ${{ secrets.AWS_SECRET_ACCESS_KEY }}\n          aws-region: us-east-1\n      - run: aws s3 cp dist s3://bucket --recursive\n";

const RELEASE: &str = "on:\n  push:\n    tags: ['v*']\njobs:\n  release:\n    uses: ./.github/workflows/shared.yml\n    secrets: inherit\n";

/// A trust policy that trusts only pushes to `main` of `acme/api`.
fn main_only() -> String {
    serde_json::json!({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow",
        "Principal": {"Federated": format!("arn:aws:iam::{ACCOUNT}:oidc-provider/{ISSUER}")},
        "Action": "sts:AssumeRoleWithWebIdentity",
        "Condition": {
            "StringEquals": {format!("{ISSUER}:aud"): "sts.amazonaws.com"},
            "StringLike": {format!("{ISSUER}:sub"): "repo:acme/api:ref:refs/heads/main"},
        },
    }]})
    .to_string()
}

/// GitHub's provider with the default audience (other tests may have created it already).
async fn ensure_provider(c: &Client) {
    let arn = format!("arn:aws:iam::{ACCOUNT}:oidc-provider/{ISSUER}");
    match c
        .get_open_id_connect_provider()
        .open_id_connect_provider_arn(&arn)
        .send()
        .await
    {
        Ok(found)
            if found
                .client_id_list()
                .iter()
                .any(|c| c == "sts.amazonaws.com") => {}
        Ok(_) => {
            c.add_client_id_to_open_id_connect_provider()
                .open_id_connect_provider_arn(&arn)
                .client_id("sts.amazonaws.com")
                .send()
                .await
                .expect("client id added");
        }
        Err(_) => {
            c.create_open_id_connect_provider()
                .url(format!("https://{ISSUER}"))
                .client_id_list("sts.amazonaws.com")
                .send()
                .await
                .expect("provider created");
        }
    }
}

fn rewrite(fake: &FakeGitHub, ledger: &std::path::Path, args: &[&str]) -> Run {
    let mut cmd = migrate();
    cmd.args([
        "rewrite",
        "--pr",
        "--preflight",
        "--github-host",
        "github.com",
    ])
    .args(args)
    .args(["--github-url", &fake.url, "--min-write-interval-ms", "0"])
    .arg("--campaign")
    .arg(ledger)
    .env("GH_TOKEN", TOKEN)
    .envs(common::moto::env());
    Run::of(cmd.output().expect("runs"))
}

#[test]
#[ignore = "needs moto's IAM server: run .ci/run, or set AWS_ENDPOINT_URL_IAM and pass --include-ignored"]
fn denied_ways_are_reported_and_put_in_the_pull_request_body() {
    common::moto::require("the pre-flight trust check");
    let prefix = common::moto::unique("pre");
    common::moto::iam(async |c: Client| {
        ensure_provider(&c).await;
        c.create_role()
            .role_name(format!("{prefix}-api"))
            .assume_role_policy_document(main_only())
            .send()
            .await
            .expect("role created");
    });
    let mut world = World::default();
    world.repo(
        "acme",
        "api",
        &[
            (".github/workflows/deploy.yml", DEPLOY),
            (".github/workflows/ci.yml", CI),
            (".github/workflows/shared.yml", SHARED),
            (".github/workflows/release.yml", RELEASE),
        ],
    );
    world.repo("acme", "web", &[(".github/workflows/ci.yml", CI)]);
    let fake = FakeGitHub::start(world);
    let dir = tempfile::tempdir().expect("tempdir");
    let ledger = dir.path().join("campaign.db");
    let role = format!("arn:aws:iam::{ACCOUNT}:role/{prefix}-{{repo}}");
    let run = rewrite(
        &fake,
        &ledger,
        &["--org", "acme", "--role-arn", &role, "--format", "json"],
    );
    assert_eq!(fake.violations(), Vec::<String>::new());
    let doc: serde_json::Value = serde_json::from_str(&run.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}\n{}", run.stdout, run.stderr));
    let repo = |name: &str| {
        doc["repositories"]
            .as_array()
            .expect("repositories")
            .iter()
            .find(|r| r["repository"] == name)
            .unwrap_or_else(|| panic!("{name}: {doc}"))
            .clone()
    };
    let api = repo("acme/api");
    assert_eq!(api["result"]["outcome"], "opened", "{api}");
    let rows: Vec<(String, String, String)> = api["plan"]["preflight"]
        .as_array()
        .unwrap_or_else(|| panic!("no pre-flight rows: {api}"))
        .iter()
        .map(|r| {
            (
                r["way"].as_str().unwrap_or_default().to_string(),
                r["sub"].as_str().unwrap_or_default().to_string(),
                r["result"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect();
    let expected: Vec<(String, String, String)> = [
        (
            "push to branch main",
            "repo:acme/api:ref:refs/heads/main",
            "allowed",
        ),
        (
            "pull_request from this repository",
            "repo:acme/api:pull_request",
            "denied",
        ),
        (
            "environment prod",
            "repo:acme/api:environment:prod",
            "denied",
        ),
        (
            "called by .github/workflows/release.yml: release (tag v*)",
            "repo:acme/api:ref:refs/tags/v*",
            "denied",
        ),
    ]
    .iter()
    .map(|(a, b, c)| (a.to_string(), b.to_string(), c.to_string()))
    .collect();
    let mut sorted = rows.clone();
    sorted.sort();
    let mut want = expected.clone();
    want.sort();
    assert_eq!(sorted, want);
    // Each denial names the closest `sub` the policy allows.
    for row in api["plan"]["preflight"].as_array().expect("rows") {
        if row["result"] == "denied" {
            assert_eq!(row["closest"], "repo:acme/api:ref:refs/heads/main", "{row}");
        }
    }
    // The web repository's role does not exist.
    let web = repo("acme/web");
    let web_rows = web["plan"]["preflight"].as_array().expect("web rows");
    assert!(!web_rows.is_empty());
    assert!(
        web_rows.iter().all(|r| r["result"] == "role-missing"),
        "{web}"
    );

    // The same table is in the pull request body.
    let body = fake.with(|s| s.world.repos["acme/api"].pulls[0].body.clone());
    assert!(body.contains("### Pre-flight trust check"), "{body}");
    assert!(body.contains("3 of 4 would not be allowed"), "{body}");
    assert!(
        body.contains("| environment prod | `repo:acme/api:environment:prod` |"),
        "{body}"
    );
    assert!(
        body.contains("DENIED (closest allowed: `repo:acme/api:ref:refs/heads/main`)"),
        "{body}"
    );

    // The table view names every denied way.
    let text = rewrite(&fake, &ledger, &["--org", "acme", "--role-arn", &role]);
    assert!(
        text.stdout.contains("pre-flight: .github/workflows/deploy.yml: deploy [environment prod] sub `repo:acme/api:environment:prod`: DENIED"),
        "{}\n{}",
        text.stdout,
        text.stderr
    );
    assert!(
        text.stdout.contains("DENIED (the role does not exist)"),
        "{}",
        text.stdout
    );
}

#[test]
#[ignore = "needs moto's IAM server: run .ci/run, or set AWS_ENDPOINT_URL_IAM and pass --include-ignored"]
fn status_checks_open_pull_requests_against_iam() {
    common::moto::require("the pre-flight trust check in status");
    let prefix = common::moto::unique("pre-status");
    common::moto::iam(async |c: Client| {
        ensure_provider(&c).await;
        c.create_role()
            .role_name(format!("{prefix}-api"))
            .assume_role_policy_document(main_only())
            .send()
            .await
            .expect("role created");
    });
    let mut world = World::default();
    world.repo(
        "acme",
        "api",
        &[
            (".github/workflows/deploy.yml", DEPLOY),
            (".github/workflows/ci.yml", CI),
        ],
    );
    let fake = FakeGitHub::start(world);
    let dir = tempfile::tempdir().expect("tempdir");
    let ledger = dir.path().join("campaign.db");
    let role = format!("arn:aws:iam::{ACCOUNT}:role/{prefix}-api");
    let mut cmd = migrate();
    cmd.args(["rewrite", "--pr", "--repo", "acme/api", "--role-arn", &role])
        .args(["--github-url", &fake.url, "--min-write-interval-ms", "0"])
        .arg("--campaign")
        .arg(&ledger)
        .env("GH_TOKEN", TOKEN);
    let opened = Run::of(cmd.output().expect("runs"));
    assert!(opened.stdout.contains("opened"), "{}", opened.stdout);

    let mut cmd = migrate();
    cmd.args(["status", "--preflight", "--github-host", "github.com"])
        .args(["--repo", "acme/api", "--format", "json"])
        .args(["--github-url", &fake.url])
        .arg("--campaign")
        .arg(&ledger)
        .env("GH_TOKEN", TOKEN);
    for var in [
        "AWS_ENDPOINT_URL_IAM",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_REGION",
    ] {
        if let Ok(value) = std::env::var(var) {
            cmd.env(var, value);
        }
    }
    let run = Run::of(cmd.output().expect("runs"));
    assert_eq!(fake.violations(), Vec::<String>::new());
    let doc: serde_json::Value = serde_json::from_str(&run.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}\n{}", run.stdout, run.stderr));
    let repo = &doc["repositories"][0];
    assert_eq!(repo["state"], "pr_open", "{doc}");
    let mut rows: Vec<(String, String)> = repo["preflight"]
        .as_array()
        .unwrap_or_else(|| panic!("no pre-flight: {doc}"))
        .iter()
        .map(|r| {
            (
                r["sub"].as_str().unwrap_or_default().to_string(),
                r["result"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect();
    rows.sort();
    assert_eq!(
        rows,
        vec![
            (
                "repo:acme/api:environment:prod".to_string(),
                "denied".to_string()
            ),
            (
                "repo:acme/api:pull_request".to_string(),
                "denied".to_string()
            ),
            (
                "repo:acme/api:ref:refs/heads/main".to_string(),
                "allowed".to_string()
            ),
        ]
    );
}

#[test]
#[ignore = "needs moto's IAM server: run .ci/run, or set AWS_ENDPOINT_URL_IAM and pass --include-ignored"]
fn a_trust_mismatch_shows_the_environment_sub_against_what_the_role_allows() {
    common::moto::require("trust mismatch diagnosis against IAM");
    let prefix = common::moto::unique("diag");
    common::moto::iam(async |c: Client| {
        c.create_role()
            .role_name(format!("{prefix}-api"))
            .assume_role_policy_document(main_only())
            .send()
            .await
            .expect("role created");
    });
    let role = format!("arn:aws:iam::{ACCOUNT}:role/{prefix}-api");
    let migrated = format!(
        "on:\n  push:\n    branches: [main]\njobs:\n  deploy:\n    runs-on: ubuntu-latest\n    environment: prod\n    permissions:\n      id-token: write\n    steps:\n      - uses: aws-actions/configure-aws-credentials@v6\n        with:\n          role-to-assume: {role}\n          aws-region: us-east-1\n"
    );
    let path = ".github/workflows/deploy.yml";
    let mut world = World::default();
    world.repo("acme", "api", &[(path, DEPLOY)]);
    let number = world.open_pull("acme/api", "migrate/aws-oidc", &[(path, &migrated)]);
    world.merge("acme/api", number);
    world.failed_run(
        "acme/api",
        path,
        ("main", "push", "failure"),
        0,
        &[(
            "deploy",
            "failure",
            "2026-11-25T10:00:01.2000000Z ##[error]Could not assume role with OIDC: Not authorized to perform sts:AssumeRoleWithWebIdentity\n",
        )],
    );
    let fake = FakeGitHub::start(world);
    let dir = tempfile::tempdir().expect("tempdir");
    let mut cmd = migrate();
    cmd.args(["status", "--repo", "acme/api", "--format", "json"])
        .args(["--github-url", &fake.url])
        .arg("--campaign")
        .arg(dir.path().join("campaign.db"))
        .env("GH_TOKEN", TOKEN);
    for var in [
        "AWS_ENDPOINT_URL_IAM",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_REGION",
    ] {
        if let Ok(value) = std::env::var(var) {
            cmd.env(var, value);
        }
    }
    let run = Run::of(cmd.output().expect("runs"));
    assert_eq!(fake.violations(), Vec::<String>::new());
    let doc: serde_json::Value = serde_json::from_str(&run.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}\n{}", run.stdout, run.stderr));
    let failure = &doc["repositories"][0]["failures"][0];
    assert_eq!(failure["class"], "trust-mismatch", "{doc:#}");
    assert_eq!(failure["sub"], "repo:acme/api:environment:prod", "{doc:#}");
    assert_eq!(
        failure["allowed_subs"],
        serde_json::json!(["repo:acme/api:ref:refs/heads/main"]),
        "{doc:#}"
    );
}
