//! `migrate rewrite --org/--repo --pr` end to end: the real binary against the fake GitHub.

mod common;

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

fn rewrite_pr(fake: &FakeGitHub, extra: &[&str]) -> (serde_json::Value, Option<i32>) {
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
    let output = migrate()
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
        .expect("runs");
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
    let mut world = World::default();
    for i in 0..8 {
        world.repo(
            "acme",
            &format!("svc-{i}"),
            &[(
                ".github/workflows/deploy.yml",
                &corpus("058-DEVROOM-OFFICIAL-DEVROOM-backend-lambda-deploy.yml"),
            )],
        );
    }
    let fake = FakeGitHub::start(world);
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
