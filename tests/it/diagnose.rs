//! Failure diagnosis end to end: `status` against the fake GitHub reads the failed runs of
//! the workflows each merged campaign pull request changed, their jobs, and the failed job's
//! log through GitHub's redirect, and names the class and its fix (state `failing`).

use crate::common;

use common::fake_github::{FakeGitHub, TOKEN, World};
use common::{Run, migrate};

const DEPLOY: &str = ".github/workflows/deploy.yml";
const MIGRATED: &str = "on:\n  push:\n    branches: [main]\njobs:\n  deploy:\n    runs-on: ubuntu-latest\n    permissions:\n      id-token: write\n      contents: read\n    steps:\n      - uses: aws-actions/configure-aws-credentials@v6\n        with:\n          role-to-assume: arn:aws:iam::123456789012:role/gha-api\n          aws-region: us-east-1\n      - run: aws s3 sync site s3://acme-site\n";

/// A job log as the runner writes it: the configure step's group, then `error`.
fn log(error: &str) -> String {
    format!(
        "2026-11-25T10:00:00.1000000Z ##[group]Run aws-actions/configure-aws-credentials@v6\n\
         2026-11-25T10:00:00.1000000Z with:\n\
         2026-11-25T10:00:00.1000000Z   role-to-assume: arn:aws:iam::123456789012:role/gha-api\n\
         2026-11-25T10:00:00.1000000Z   aws-region: us-east-1\n\
         2026-11-25T10:00:00.1000000Z ##[endgroup]\n\
         2026-11-25T10:00:01.2000000Z {error}\n\
         2026-11-25T10:00:01.3000000Z ##[error]Process completed with exit code 1.\n"
    )
}

/// (repository, log line, expected class)
const CASES: &[(&str, &str, &str)] = &[
    (
        "no-id-token",
        "##[error]Credentials could not be loaded, please check your action inputs: Could not load credentials from any providers",
        "no-id-token",
    ),
    (
        "trust",
        "##[error]Could not assume role with OIDC: Not authorized to perform sts:AssumeRoleWithWebIdentity",
        "trust-mismatch",
    ),
    (
        "aud",
        "##[error]Could not assume role with OIDC: Incorrect token audience",
        "audience",
    ),
    (
        "provider",
        "##[error]Could not assume role with OIDC: No OpenIDConnect provider found in your account for https://token.actions.githubusercontent.com",
        "provider-missing",
    ),
    (
        "permission",
        "upload failed: site/index.html to s3://acme-site/index.html An error occurred (AccessDenied) when calling the PutObject operation: User: arn:aws:sts::123456789012:assumed-role/gha-api/GitHubActions is not authorized to perform: s3:PutObject on resource: \"arn:aws:s3:::acme-site/index.html\" because no identity-based policy allows the s3:PutObject action",
        "missing-permission",
    ),
    (
        "tag",
        "##[error]User: arn:aws:sts::123456789012:assumed-role/gha-api/GitHubActions is not authorized to perform: sts:TagSession on resource: arn:aws:iam::210987654321:role/deploy",
        "tag-session",
    ),
    (
        "chain",
        "##[error]The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining.",
        "role-chaining-limit",
    ),
    (
        "duration",
        "##[error]The requested DurationSeconds exceeds the MaxSessionDuration set for this role.",
        "max-session-duration",
    ),
    ("other", "##[error]make: *** [deploy] Error 2", "unknown"),
];

fn status(fake: &FakeGitHub, ledger: &std::path::Path) -> Run {
    let output = migrate()
        .args(["status", "--org", "acme", "--no-aws", "--format", "json"])
        .args(["--github-url", &fake.url, "--retry-base-ms", "10"])
        .arg("--campaign")
        .arg(ledger)
        .env("GH_TOKEN", TOKEN)
        .output()
        .expect("runs");
    Run::of(output)
}

#[test]
fn every_failure_class_from_a_recorded_log() {
    let mut world = World::default();
    let mut names: Vec<&str> = CASES.iter().map(|c| c.0).collect();
    names.extend(["startup", "suffixed"]);
    for name in &names {
        let slug = format!("acme/{name}");
        world.repo("acme", name, &[(DEPLOY, "on: push\njobs: {}\n")]);
        let number = world.open_pull(&slug, "migrate/aws-oidc", &[(DEPLOY, MIGRATED)]);
        world.merge(&slug, number);
    }
    for (name, line, _) in CASES {
        world.failed_run(
            &format!("acme/{name}"),
            DEPLOY,
            ("main", "push", "failure"),
            0,
            &[
                ("build", "success", "ok\n"),
                ("deploy", "failure", &log(line)),
            ],
        );
    }
    world.failed_run(
        "acme/startup",
        DEPLOY,
        ("main", "push", "startup_failure"),
        0,
        &[],
    );
    // GitHub's documented example of a run's `path` carries the ref.
    world.failed_run(
        "acme/suffixed",
        &format!("{DEPLOY}@refs/heads/main"),
        ("main", "push", "failure"),
        0,
        &[("deploy", "failure", &log(CASES[1].1))],
    );
    let fake = FakeGitHub::start(world);
    let dir = tempfile::tempdir().expect("tempdir");
    let run = status(&fake, &dir.path().join("campaign.db"));
    assert_eq!(fake.violations(), Vec::<String>::new());
    let doc: serde_json::Value = serde_json::from_str(&run.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}\n{}", run.stdout, run.stderr));
    let row = |name: &str| {
        doc["repositories"]
            .as_array()
            .expect("repositories")
            .iter()
            .find(|r| r["repository"] == format!("acme/{name}"))
            .unwrap_or_else(|| panic!("{name}: {doc:#}"))
            .clone()
    };
    let mut expected: Vec<(&str, &str)> = CASES.iter().map(|(n, _, c)| (*n, *c)).collect();
    expected.extend([
        ("startup", "startup-failure"),
        ("suffixed", "trust-mismatch"),
    ]);
    for (name, class) in expected {
        let r = row(name);
        assert_eq!(r["state"], "failing", "{name}: {r:#}");
        let failure = &r["failures"][0];
        assert_eq!(failure["class"], class, "{name}: {r:#}");
        assert_eq!(failure["workflow"], DEPLOY, "{name}");
        assert!(
            failure["run_url"]
                .as_str()
                .unwrap_or_default()
                .contains("/actions/runs/"),
            "{name}: {r:#}"
        );
        assert!(
            r["next_step"]
                .as_str()
                .unwrap_or_default()
                .starts_with(class),
            "{name}: {r:#}"
        );
    }
    // The fix names the statement to add, and a trust mismatch the `sub` the run presented.
    assert!(
        row("permission")["failures"][0]["fix"]
            .as_str()
            .unwrap_or_default()
            .contains(
                "\"Action\": \"s3:PutObject\", \"Resource\": \"arn:aws:s3:::acme-site/index.html\""
            ),
        "{doc:#}"
    );
    assert_eq!(
        row("trust")["failures"][0]["sub"],
        "repo:acme/trust:ref:refs/heads/main"
    );
    assert_eq!(row("trust")["failures"][0]["job"], "deploy");
    // Every log came through the redirect to the blob store.
    let log = fake.log();
    let redirects = log
        .iter()
        .filter(|l| l.operation == "actions/download-job-logs-for-workflow-run")
        .inspect(|l| assert_eq!(l.status, 302))
        .count();
    let blobs = log
        .iter()
        .filter(|l| l.operation == "log-blob" && l.status == 200)
        .count();
    assert_eq!(redirects, CASES.len() + 1);
    assert_eq!(blobs, redirects);
}

#[test]
fn the_table_names_class_fix_and_run() {
    let mut world = World::default();
    world.repo("acme", "api", &[(DEPLOY, "on: push\njobs: {}\n")]);
    let number = world.open_pull("acme/api", "migrate/aws-oidc", &[(DEPLOY, MIGRATED)]);
    world.merge("acme/api", number);
    world.failed_run(
        "acme/api",
        DEPLOY,
        ("main", "push", "failure"),
        0,
        &[("deploy", "failure", &log(CASES[1].1))],
    );
    let fake = FakeGitHub::start(world);
    let dir = tempfile::tempdir().expect("tempdir");
    let output = migrate()
        .args(["status", "--org", "acme", "--no-aws"])
        .args(["--github-url", &fake.url])
        .arg("--campaign")
        .arg(dir.path().join("campaign.db"))
        .env("GH_TOKEN", TOKEN)
        .output()
        .expect("runs");
    let run = Run::of(output);
    assert!(
        run.stdout.contains("acme/api    failing  #1"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("failing acme/api:\n  .github/workflows/deploy.yml deploy: trust-mismatch — allow the `sub` this run presents"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout
            .contains("(presented sub `repo:acme/api:ref:refs/heads/main`)"),
        "{}",
        run.stdout
    );
}

fn status_writing(fake: &FakeGitHub, ledger: &std::path::Path) -> Run {
    let output = migrate()
        .args(["status", "--org", "acme", "--no-aws", "--comment"])
        .args(["--tracking-issue", "acme/platform"])
        .args(["--github-url", &fake.url, "--write-interval-ms", "0"])
        .arg("--campaign")
        .arg(ledger)
        .env("GH_TOKEN", TOKEN)
        .output()
        .expect("runs");
    Run::of(output)
}

#[test]
fn one_comment_per_class_and_one_tracking_issue_edited_in_place() {
    let mut world = World::default();
    world.repo("acme", "api", &[(DEPLOY, "on: push\njobs: {}\n")]);
    world.repo("acme", "platform", &[("README.md", "platform\n")]);
    let number = world.open_pull("acme/api", "migrate/aws-oidc", &[(DEPLOY, MIGRATED)]);
    world.merge("acme/api", number);
    world.failed_run(
        "acme/api",
        DEPLOY,
        ("main", "push", "failure"),
        60,
        &[("deploy", "failure", &log(CASES[1].1))],
    );
    let fake = FakeGitHub::start(world);
    let dir = tempfile::tempdir().expect("tempdir");
    let ledger = dir.path().join("campaign.db");

    let first = status_writing(&fake, &ledger);
    assert_eq!(fake.violations(), Vec::<String>::new());
    assert!(
        first
            .stderr
            .contains("acme/api: commented on #1 trust-mismatch"),
        "{}",
        first.stderr
    );
    assert!(
        first
            .stderr
            .contains("acme/platform: opened tracking issue #1"),
        "{}",
        first.stderr
    );
    let (comments, issues) = fake.with(|s| {
        (
            s.world.repos["acme/api"].comments.clone(),
            s.world.repos["acme/platform"].issues.clone(),
        )
    });
    assert_eq!(comments.len(), 1);
    assert!(
        comments[0]
            .body
            .contains("<!-- migrate:failure:trust-mismatch -->")
    );
    assert!(
        comments[0]
            .body
            .contains("presented `sub`: `repo:acme/api:ref:refs/heads/main`")
    );
    assert_eq!(issues.len(), 1);
    assert!(issues[0].body.contains("<!-- migrate:tracking-issue -->"));
    assert!(
        issues[0].body.contains("| acme/api | failing |"),
        "{}",
        issues[0].body
    );
    assert!(
        issues[0].body.contains("### `trust-mismatch` (1)"),
        "{}",
        issues[0].body
    );

    // A newer failed run of the same class: the comment and the issue are edited, not added.
    let newer = fake.with(|s| {
        s.world.failed_run(
            "acme/api",
            DEPLOY,
            ("main", "push", "failure"),
            0,
            &[("deploy", "failure", &log(CASES[1].1))],
        )
    });
    let second = status_writing(&fake, &ledger);
    assert!(
        second
            .stderr
            .contains("acme/api: edited the comment on #1 trust-mismatch"),
        "{}",
        second.stderr
    );
    assert!(
        second
            .stderr
            .contains("acme/platform: updated tracking issue #1"),
        "{}",
        second.stderr
    );
    let (comments, issues) = fake.with(|s| {
        (
            s.world.repos["acme/api"].comments.clone(),
            s.world.repos["acme/platform"].issues.clone(),
        )
    });
    assert_eq!(comments.len(), 1);
    assert!(comments[0].body.contains(&format!("/actions/runs/{newer}")));
    assert_eq!(issues.len(), 1);
    assert!(issues[0].body.contains(&format!("/actions/runs/{newer}")));

    // Nothing changed: no write at all.
    let writes = fake.writes().len();
    let third = status_writing(&fake, &ledger);
    assert!(third.stderr.contains("is up to date"), "{}", third.stderr);
    assert_eq!(fake.writes().len(), writes);

    // Every write was journaled and completed.
    let journal = migrate::campaign::Ledger::open(&ledger)
        .expect("ledger")
        .journal()
        .expect("journal");
    let mut actions: Vec<(String, String)> = journal
        .iter()
        .map(|e| (e.action.to_string(), e.result.to_string()))
        .collect();
    actions.sort();
    assert_eq!(
        actions,
        vec![
            ("comment_failure".to_string(), "done".to_string()),
            ("comment_failure".to_string(), "done".to_string()),
            ("tracking_issue".to_string(), "done".to_string()),
            ("tracking_issue".to_string(), "done".to_string()),
        ]
    );
}
