//! `migrate rewrite --org/--repo --pr` end to end: the real binary against the fake GitHub.

use crate::common;

use common::fake_github::{FakeGitHub, Faults, TOKEN, World};
use common::{json, migrate, root};

const ROLE: &str = "arn:aws:iam::123456789012:role/gha-{repo}";

fn corpus(name: &str) -> String {
    std::fs::read_to_string(root().join("testdata/corpus").join(name)).expect("corpus file")
}

/// api and web need rewriting; docs has no workflows; legacy only has manual findings.
fn acme() -> World {
    let mut w = World::default();
    w.repo("acme", "api", &[
        (".github/workflows/deploy.yml", &corpus("058-DEVROOM-OFFICIAL-DEVROOM-backend-lambda-deploy.yml")),
        (".github/workflows/ci.yml", "on: push\njobs:\n  test:\n    runs-on: ubuntu-latest\n    steps:\n      - run: make test\n"),
        ("README.md", "api\n"),
    ]);
    w.repo(
        "acme",
        "web",
        &[
            (
                ".github/workflows/s3.yml",
                &corpus("021-Pathway-Analytics-mta-s3-sync.yml"),
            ),
            (
                ".github/workflows/beanstalk.yml",
                &corpus("010-DiogoAbu-workflows-reusable_beanstalk.yml"),
            ),
        ],
    );
    w.repo("acme", "docs", &[("README.md", "docs\n")]);
    w.repo(
        "acme",
        "legacy",
        &[(
            ".github/actions/push/action.yml",
            &corpus("013-mbta-actions-build-push-ecr-action.yml"),
        )],
    );
    w
}

/// `acme/svc-0` ... `acme/svc-{n-1}`, each with one workflow that uses static keys.
fn services(n: usize) -> World {
    let deploy = corpus("058-DEVROOM-OFFICIAL-DEVROOM-backend-lambda-deploy.yml");
    let mut world = World::default();
    for i in 0..n {
        world.repo(
            "acme",
            &format!("svc-{i}"),
            &[(".github/workflows/deploy.yml", &deploy)],
        );
    }
    world
}

/// A campaign ledger in a fresh directory (never the repository root).
fn ledger_dir() -> tempfile::TempDir {
    tempfile::tempdir().expect("tempdir")
}

fn rewrite_pr(fake: &FakeGitHub, extra: &[&str]) -> (serde_json::Value, Option<i32>) {
    let dir = ledger_dir();
    rewrite_pr_with(fake, &dir.path().join("campaign.db"), extra)
}

fn rewrite_pr_with(
    fake: &FakeGitHub,
    ledger: &std::path::Path,
    extra: &[&str],
) -> (serde_json::Value, Option<i32>) {
    let output = migrate()
        .args([
            "rewrite",
            "--org",
            "acme",
            "--role-arn",
            ROLE,
            "--pr",
            "--format",
            "json",
        ])
        .args([
            "--github-url",
            &fake.url,
            "--min-write-interval-ms",
            "0",
            "--retry-base-ms",
            "5",
        ])
        .args(extra)
        .arg("--campaign")
        .arg(ledger)
        .env("GH_TOKEN", TOKEN)
        .output()
        .expect("runs");
    assert!(!String::from_utf8_lossy(&output.stdout).contains(TOKEN));
    (json(&output), output.status.code())
}

fn outcome<'a>(doc: &'a serde_json::Value, repo: &str) -> &'a serde_json::Value {
    doc["repositories"]
        .as_array()
        .expect("repos")
        .iter()
        .find(|r| r["repository"] == repo)
        .unwrap_or_else(|| panic!("{repo}: {doc}"))
}

/// `rewrite --org acme --pr --dry-run` against the fake.
fn dry_run(fake: &FakeGitHub) -> std::process::Output {
    migrate()
        .args([
            "rewrite",
            "--org",
            "acme",
            "--role-arn",
            ROLE,
            "--pr",
            "--dry-run",
            "--github-url",
            &fake.url,
        ])
        .env("GH_TOKEN", TOKEN)
        .output()
        .expect("runs")
}

/// What `migrate rewrite` gives for the same file locally.
fn local_rewrite(name: &str, text: &str, role: &str) -> String {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join(name);
    std::fs::write(&path, text).expect("write");
    migrate()
        .args(["rewrite", "--role-arn", role, "--write"])
        .arg(&path)
        .output()
        .expect("runs");
    std::fs::read_to_string(&path).expect("read back")
}

#[test]
fn one_pull_request_per_repository_then_rerun_changes_nothing() {
    let fake = FakeGitHub::start(acme());
    let (doc, code) = rewrite_pr(&fake, &["--label", "security", "--draft"]);
    assert_eq!(fake.violations(), Vec::<String>::new());
    assert_eq!(outcome(&doc, "acme/api")["result"]["outcome"], "opened");
    assert_eq!(outcome(&doc, "acme/web")["result"]["outcome"], "opened");
    assert_eq!(
        outcome(&doc, "acme/docs")["result"]["outcome"],
        "nothing-to-change"
    );
    assert_eq!(
        outcome(&doc, "acme/legacy")["result"]["outcome"],
        "nothing-to-change"
    );
    assert_eq!(
        code,
        Some(10),
        "manual findings are left (beanstalk, composite inputs)"
    );

    fake.with(|s| {
        let api = &s.world.repos["acme/api"];
        assert_eq!(api.pulls.len(), 1);
        let pull = &api.pulls[0];
        assert!(pull.draft && pull.labels == ["security"]);
        assert_eq!(
            (pull.head.as_str(), pull.base.as_str()),
            ("migrate/aws-oidc", "main")
        );
        assert!(
            pull.body.contains("arn:aws:iam::123456789012:role/gha-api"),
            "{}",
            pull.body
        );
        // The workflow runs on pushes to `develop` only.
        assert!(
            pull.body.contains("repo:acme/api:ref:refs/heads/develop"),
            "{}",
            pull.body
        );
        assert!(pull.body.contains("<details><summary>Diff</summary>"));
        // The branch holds exactly the local rewrite, on top of the default branch.
        let branch = api.files_at("migrate/aws-oidc");
        let expected = local_rewrite(
            "deploy.yml",
            &corpus("058-DEVROOM-OFFICIAL-DEVROOM-backend-lambda-deploy.yml"),
            "arn:aws:iam::123456789012:role/gha-api",
        );
        assert_eq!(branch[".github/workflows/deploy.yml"], expected);
        assert_eq!(branch["README.md"], "api\n", "other files kept (base_tree)");
        assert_eq!(
            api.default_files()[".github/workflows/deploy.yml"],
            corpus("058-DEVROOM-OFFICIAL-DEVROOM-backend-lambda-deploy.yml")
        );
        let web = &s.world.repos["acme/web"];
        assert!(
            web.pulls[0].body.contains("Left for a person"),
            "{}",
            web.pulls[0].body
        );
        assert!(s.world.repos["acme/docs"].pulls.is_empty());
    });

    let writes_before = fake.writes().len();
    let (again, _) = rewrite_pr(&fake, &["--label", "security", "--draft"]);
    assert_eq!(
        outcome(&again, "acme/api")["result"]["outcome"],
        "up-to-date"
    );
    assert_eq!(
        fake.writes().len(),
        writes_before,
        "a second run writes nothing"
    );
    fake.with(|s| assert_eq!(s.world.repos["acme/api"].pulls.len(), 1));
}

#[test]
fn a_moved_default_branch_is_replanned_not_overwritten() {
    let fake = FakeGitHub::start(acme());
    rewrite_pr(&fake, &[]);
    let new_head = fake.with(|s| s.world.push("acme/api", &[("src/new.rs", "fn x() {}\n")]));
    let (doc, _) = rewrite_pr(&fake, &[]);
    assert_eq!(outcome(&doc, "acme/api")["result"]["outcome"], "updated");
    fake.with(|s| {
        let api = &s.world.repos["acme/api"];
        assert_eq!(api.pulls.len(), 1);
        let tip = &api.refs["heads/migrate/aws-oidc"];
        assert_eq!(api.commits[tip].parents, vec![new_head.clone()]);
        assert_eq!(
            api.files_at("migrate/aws-oidc")["src/new.rs"],
            "fn x() {}\n"
        );
    });
}

#[test]
fn dry_run_writes_nothing() {
    let fake = FakeGitHub::start(acme());
    let output = dry_run(&fake);
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(
        text.contains("acme/api: would open or update a pull request changing 1 file(s)"),
        "{text}"
    );
    assert!(
        text.contains("+++ b/acme/api/.github/workflows/deploy.yml"),
        "{text}"
    );
    assert!(fake.writes().is_empty());
}

#[test]
fn missing_workflow_scope_says_so() {
    let fake = FakeGitHub::start(acme());
    fake.set_faults(Faults {
        missing_workflow_scope: true,
        ..Faults::default()
    });
    let ledger = ledger_dir();
    let output = migrate()
        .args([
            "rewrite",
            "--repo",
            "acme/api",
            "--role-arn",
            ROLE,
            "--pr",
            "--github-url",
            &fake.url,
            "--min-write-interval-ms",
            "0",
        ])
        .arg("--campaign")
        .arg(ledger.path().join("c.db"))
        .env("GH_TOKEN", TOKEN)
        .output()
        .expect("runs");
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(text.contains("acme/api: failed (branch)"), "{text}");
    assert!(text.contains("needs the `workflow` scope"), "{text}");
    assert_eq!(output.status.code(), Some(11));
    fake.with(|s| assert!(s.world.repos["acme/api"].pulls.is_empty()));
}

#[test]
fn closed_unmerged_pull_requests_are_not_reopened() {
    let fake = FakeGitHub::start(acme());
    rewrite_pr(&fake, &[]);
    fake.with(|s| s.world.repos.get_mut("acme/api").expect("api").pulls[0].state = "closed".into());
    let (doc, _) = rewrite_pr(&fake, &[]);
    assert_eq!(
        outcome(&doc, "acme/api")["result"]["outcome"],
        "closed-unmerged"
    );
    fake.with(|s| assert_eq!(s.world.repos["acme/api"].pulls.len(), 1));
}

/// 20% of requests fail (5xx, resets, secondary limits): every pull request is still opened
/// exactly once, and a re-run converges without duplicates.
#[test]
fn faults_never_duplicate_pull_requests() {
    let fake = FakeGitHub::start(services(8));
    fake.set_faults(Faults {
        rate: 0.2,
        seed: 42,
        ..Faults::default()
    });
    let (first, _) = rewrite_pr(&fake, &[]);
    let injected = fake.log().iter().filter(|l| l.injected).count();
    assert!(injected > 5, "faults were injected ({injected})");
    let failed: Vec<&serde_json::Value> = first["repositories"]
        .as_array()
        .expect("r")
        .iter()
        .filter(|r| r["result"]["outcome"] == "failed")
        .collect();
    for f in &failed {
        assert!(
            f["result"]["error"].as_str().is_some_and(|e| !e.is_empty()),
            "failures are summarized: {f}"
        );
    }
    fake.set_faults(Faults::default());
    let (second, _) = rewrite_pr(&fake, &[]);
    for repo in second["repositories"].as_array().expect("r") {
        let outcome = repo["result"]["outcome"].as_str().unwrap_or_default();
        assert!(
            ["opened", "updated", "up-to-date"].contains(&outcome),
            "{repo}"
        );
    }
    fake.with(|s| {
        for repo in s.world.repos.values() {
            assert_eq!(
                repo.pulls.len(),
                1,
                "{} has {} pull requests",
                repo.slug(),
                repo.pulls.len()
            );
        }
    });
    assert_eq!(fake.violations(), Vec::<String>::new());
}

/// SIGKILL at random points of `rewrite --pr` over a 50-repository org, 20 times: every resumed run reaches the
/// same remote state, no pull request is opened twice, and every write is in the journal.
/// Each kill comes after the run has made a chosen number of writes (1 to 8, as the fake GitHub
/// sees them), not after a time: on a slow or loaded machine the kills still land mid-run.
#[test]
fn killed_runs_resume_without_duplicates_and_journal_every_write() {
    let fake = FakeGitHub::start(services(50));
    fake.set_latency(std::time::Duration::from_millis(5));
    let dir = ledger_dir();
    let ledger = dir.path().join("campaign.db");
    let binary = assert_cmd::cargo::cargo_bin("migrate");
    // Deterministic "random" kill points spread over the write phase.
    let mut seed: u64 = 0x5eed;
    let mut killed_mid_run = 0;
    let mut attempts = 0;
    // Twenty kills of a run still working (a run that finished before its kill time is not one).
    while killed_mid_run < 20 && attempts < 40 {
        attempts += 1;
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let writes_wanted = 1 + ((seed >> 33) % 8) as usize;
        let writes_before = fake.writes().len();
        let mut child = std::process::Command::new(&binary)
            .args([
                "rewrite",
                "--org",
                "acme",
                "--role-arn",
                ROLE,
                "--pr",
                "--github-url",
                &fake.url,
            ])
            .args(["--min-write-interval-ms", "20", "--campaign"])
            .arg(&ledger)
            .env("GH_TOKEN", TOKEN)
            .env("NO_COLOR", "1")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("spawns");
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        while fake.writes().len() < writes_before + writes_wanted
            && child.try_wait().expect("wait").is_none()
            && std::time::Instant::now() < deadline
        {
            std::thread::sleep(std::time::Duration::from_millis(2));
        }
        if child.try_wait().expect("wait").is_none() {
            killed_mid_run += 1;
        }
        child.kill().ok(); // SIGKILL on Unix
        child.wait().expect("reaped");
    }
    assert_eq!(
        killed_mid_run, 20,
        "runs must be killed while working ({killed_mid_run} of {attempts})"
    );
    let (last, _) = rewrite_pr_with(&fake, &ledger, &[]);
    for repo in last["repositories"].as_array().expect("repos") {
        let outcome = repo["result"]["outcome"].as_str().unwrap_or_default();
        assert!(
            ["opened", "updated", "up-to-date"].contains(&outcome),
            "{repo}"
        );
    }
    let expected = local_rewrite(
        "deploy.yml",
        &corpus("058-DEVROOM-OFFICIAL-DEVROOM-backend-lambda-deploy.yml"),
        "arn:aws:iam::123456789012:role/gha-svc-0",
    );
    fake.with(|s| {
        for repo in s.world.repos.values() {
            assert_eq!(
                repo.pulls.len(),
                1,
                "{} has {} pull requests",
                repo.slug(),
                repo.pulls.len()
            );
            if repo.name == "svc-0" {
                assert_eq!(
                    repo.files_at("migrate/aws-oidc")[".github/workflows/deploy.yml"],
                    expected
                );
            }
        }
    });
    // Every successful write has a journal entry announcing it.
    let journal = migrate::campaign::Ledger::open(&ledger)
        .expect("ledger")
        .journal()
        .expect("journal");
    assert!(
        journal.iter().all(|e| !e.is_pending()),
        "the last run settles what kills left open"
    );
    for i in 0..50 {
        let repo = format!("acme/svc-{i}");
        let entries = |action: &str| {
            journal
                .iter()
                .filter(|e| e.repo == repo && e.action.as_str() == action)
                .count()
        };
        let writes = |op: &str| {
            fake.log()
                .iter()
                .filter(|l| {
                    l.operation == op
                        && l.path.contains(&format!("/svc-{i}/"))
                        && (200..300).contains(&l.status)
                })
                .count()
        };
        assert!(
            entries("push_branch") >= writes("git/create-ref") + writes("git/update-ref"),
            "{repo}: ref writes without journal"
        );
        assert!(
            entries("open_pr") >= writes("pulls/create"),
            "{repo}: pull requests without journal"
        );
        assert!(entries("push_branch") >= 1 && entries("open_pr") >= 1);
    }
    assert_eq!(fake.violations(), Vec::<String>::new());
}

/// Journal before acting: when the campaign ledger cannot record a write, the write is not
/// made. A trigger makes every journal insert fail (as a full disk or a read-only file would):
/// no branch is created or moved and no pull request opened, and the outcome says why.
#[test]
fn a_write_the_ledger_cannot_journal_is_not_made() {
    let fake = FakeGitHub::start(acme());
    let dir = ledger_dir();
    let ledger = dir.path().join("campaign.db");
    drop(migrate::campaign::Ledger::open(&ledger).expect("ledger"));
    rusqlite::Connection::open(&ledger)
        .expect("open ledger")
        .execute_batch(
            "CREATE TRIGGER refuse_journal BEFORE INSERT ON journal \
             BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END;",
        )
        .expect("trigger");
    let (doc, code) = rewrite_pr_with(&fake, &ledger, &[]);
    assert_ne!(code, Some(0), "{doc}");
    let api = &outcome(&doc, "acme/api")["result"];
    assert_eq!(api["outcome"], "failed", "{doc}");
    assert_eq!(api["stage"], "journal", "{doc}");
    let error = api["error"].as_str().unwrap_or_default();
    assert!(
        error.contains("push_branch was not sent") && error.contains("database or disk is full"),
        "{doc}"
    );
    let refs_or_pulls: Vec<String> = fake
        .writes()
        .iter()
        .filter(|l| {
            l.operation.starts_with("git/create-ref")
                || l.operation.starts_with("git/update-ref")
                || l.operation.starts_with("pulls/")
        })
        .map(|l| format!("{} {}", l.method, l.path))
        .collect();
    assert!(refs_or_pulls.is_empty(), "{refs_or_pulls:?}");
}

/// Before publishing, a run whose pull requests take more than a few minutes of GitHub's
/// content-creation allowance says how long (here a dry run of 100 repositories: 500 writes),
/// and a small one says nothing.
#[test]
fn a_long_publication_is_estimated_first() {
    for (repositories, expected) in [
        (
            100,
            Some(
                "estimate: 100 pull requests would take up to ~500 writes; GitHub allows about 500 content-creating requests an hour per token, so about 8 min",
            ),
        ),
        (3, None),
    ] {
        let fake = FakeGitHub::start(services(repositories));
        let output = dry_run(&fake);
        let stderr = String::from_utf8_lossy(&output.stderr);
        match expected {
            Some(line) => assert!(stderr.contains(line), "{stderr}"),
            None => assert!(!stderr.contains("estimate:"), "{stderr}"),
        }
        assert!(fake.writes().is_empty());
    }
}

/// `rewrite --pr --max-requests N`: each run sends at most N requests and stops with exit 13;
/// the same command run again finds the published pull requests up to date and goes on, until
/// every repository has exactly one pull request and the journal has nothing pending.
#[test]
fn max_requests_stops_publishing_cleanly_and_the_next_run_goes_on() {
    let fake = FakeGitHub::start(services(6));
    let dir = ledger_dir();
    let ledger = dir.path().join("campaign.db");
    let mut runs = 0;
    loop {
        runs += 1;
        assert!(runs <= 12, "no progress after {runs} runs");
        let before = fake.log().len();
        let (doc, code) = rewrite_pr_with(&fake, &ledger, &["--max-requests", "20"]);
        let sent = fake.log().len() - before;
        assert!(sent <= 20, "run {runs} sent {sent} requests");
        match code {
            Some(13) => continue,
            Some(0) => {
                for i in 0..6 {
                    let outcome = &outcome(&doc, &format!("acme/svc-{i}"))["result"]["outcome"];
                    assert!(outcome == "up-to-date" || outcome == "opened", "{doc}");
                }
                break;
            }
            other => panic!("run {runs}: exit {other:?}: {doc}"),
        }
    }
    assert!(
        runs >= 3,
        "six pull requests cannot fit in one run of 20 requests"
    );
    fake.with(|s| {
        for i in 0..6 {
            assert_eq!(s.world.repos[&format!("acme/svc-{i}")].pulls.len(), 1);
        }
    });
    let ledger = migrate::campaign::Ledger::open(&ledger).expect("ledger");
    assert!(ledger.pending().expect("journal").is_empty());
}
