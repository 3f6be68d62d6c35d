//! GitHub App authentication end to end: the real binary signs a JWT, finds the organization's
//! installation, checks its permissions and works with installation tokens, against the fake
//! GitHub (which verifies the JWT's RS256 signature with the test App's public key).

use crate::common;

use std::time::Duration;

use common::fake_github::app::{FakeApp, TestAppKey};
use common::fake_github::{FakeGitHub, World};
use common::{Run, migrate};
use serde_json::{Value, json};

const APP_ID: &str = "4242";
const ROLE: &str = "arn:aws:iam::123456789012:role/gha-deploy";

const DEPLOY: &str = "on: push
jobs:
  deploy:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - uses: aws-actions/configure-aws-credentials@v4
        with:
          aws-access-key-id: ${{ secrets.AWS_ACCESS_KEY_ID }}
          aws-secret-access-key: ${{ secrets.AWS_SECRET_ACCESS_KEY }}
          aws-region: us-east-1
      - run: aws s3 sync site s3://acme-site
";

/// `org` with `n` repositories, each deploying with static keys.
fn world(orgs: &[&str], n: usize) -> World {
    let mut w = World::default();
    for org in orgs {
        w.org(org);
        for i in 0..n {
            let repo = w.repo(
                org,
                &format!("svc-{i}"),
                &[(".github/workflows/deploy.yml", DEPLOY)],
            );
            repo.secrets = vec!["AWS_ACCESS_KEY_ID".into(), "AWS_SECRET_ACCESS_KEY".into()];
        }
    }
    w
}

/// Everything `scan`, `rewrite --pr`, `status` and `cleanup` need, as GitHub lists it.
fn all_permissions() -> Value {
    json!({
        "metadata": "read", "contents": "write", "actions": "read", "secrets": "write",
        "environments": "read", "organization_secrets": "write",
        "organization_administration": "read", "pull_requests": "write", "workflows": "write",
    })
}

struct AppSetup {
    fake: FakeGitHub,
    dir: tempfile::TempDir,
}

impl AppSetup {
    /// A fake GitHub with an App installed on each of `orgs` (installation ids 101, 102...).
    fn new(world: World, orgs: &[&str], permissions: Value) -> Self {
        let key = TestAppKey::generate();
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("app.pem"), &key.private_pem).expect("key file");
        let fake = FakeGitHub::start(world);
        let mut app = FakeApp::new(APP_ID.parse().expect("id"), &key);
        for (i, org) in orgs.iter().enumerate() {
            app.install(101 + i as u64, org, permissions.clone());
        }
        fake.set_app(app);
        Self { fake, dir }
    }

    fn run(&self, args: &[&str]) -> Run {
        self.finish(migrate(), args)
    }

    fn finish(&self, mut cmd: assert_cmd::Command, args: &[&str]) -> Run {
        let output = cmd
            .args(args)
            .args(["--github-url", &self.fake.url, "--retry-base-ms", "5"])
            .arg("--app-key")
            .arg(self.dir.path().join("app.pem"))
            .args(["--app-id", APP_ID])
            .output()
            .expect("runs");
        let run = Run::of(output);
        for text in [&run.stdout, &run.stderr] {
            assert!(
                !text.contains("ghs_fake"),
                "an installation token was printed"
            );
            assert!(!text.contains("PRIVATE KEY"), "the key was printed");
        }
        run
    }

    /// [`Self::run`] with the moto variables the test runner has (IAM goes to moto).
    fn run_aws(&self, args: &[&str]) -> Run {
        let mut cmd = migrate();
        cmd.envs(common::moto::env());
        self.finish(cmd, args)
    }

    fn campaign(&self) -> String {
        self.dir.path().join("campaign.db").display().to_string()
    }
}

#[test]
fn scan_as_an_app_uses_the_organizations_installation_token() {
    let setup = AppSetup::new(world(&["acme"], 3), &["acme"], all_permissions());
    let run = setup.run(&["scan", "--org", "acme", "--format", "json"]);
    assert_eq!(
        run.code,
        10,
        "findings: {} {:?}",
        run.stderr,
        setup.fake.app(|a| a.refused.clone())
    );
    let doc: Value = serde_json::from_str(&run.stdout).expect("JSON");
    assert_eq!(doc["repositories"].as_array().map(Vec::len), Some(3));
    assert_eq!(setup.fake.violations(), Vec::<String>::new());
    assert_eq!(setup.fake.app(|a| a.refused.clone()), Vec::<String>::new());
    assert_eq!(setup.fake.app(|a| a.minted.clone()), vec![101]);
    let operations: Vec<String> = setup
        .fake
        .log()
        .iter()
        .map(|l| l.operation.clone())
        .collect();
    assert_eq!(operations[0], "apps/get-org-installation");
    assert_eq!(operations[1], "apps/create-installation-access-token");
}

#[test]
fn installation_tokens_are_replaced_before_they_expire() {
    let setup = AppSetup::new(world(&["acme"], 6), &["acme"], all_permissions());
    // Tokens live 121 s; migrate replaces them 120 s before `expires_at`, so each one serves
    // for about a second, and a scan at 150 ms a request outlives several.
    setup
        .fake
        .app(|a| a.token_lifetime = Duration::from_secs(121));
    setup.fake.set_latency(Duration::from_millis(400));
    let run = setup.run(&["scan", "--org", "acme", "--format", "json"]);
    assert_eq!(run.code, 10, "{}", run.stderr);
    let minted = setup.fake.app(|a| a.minted.len());
    assert!(
        minted >= 2,
        "one token for the whole run: {minted} {:?}",
        setup
            .fake
            .log()
            .iter()
            .map(|l| l.operation.clone())
            .collect::<Vec<_>>()
    );
    assert_eq!(
        setup.fake.app(|a| a.refused.clone()),
        Vec::<String>::new(),
        "no request went out with an expired token"
    );
}

#[test]
fn a_missing_permission_is_refused_before_any_write_and_named() {
    let mut permissions = all_permissions();
    permissions["workflows"] = json!("read");
    permissions
        .as_object_mut()
        .expect("object")
        .remove("pull_requests");
    let setup = AppSetup::new(world(&["acme"], 2), &["acme"], permissions);
    let campaign = setup.campaign();
    let run = setup.run(&[
        "rewrite",
        "--org",
        "acme",
        "--role-arn",
        ROLE,
        "--pr",
        "--campaign",
        &campaign,
    ]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stderr.contains("lacks what `rewrite --pr` needs"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("Pull requests: write"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("Workflows: write"), "{}", run.stderr);
    assert!(
        !run.stderr.contains("Contents:"),
        "contents is granted: {}",
        run.stderr
    );
    assert_eq!(setup.fake.writes().len(), 0);
    let operations: Vec<String> = setup
        .fake
        .log()
        .iter()
        .map(|l| l.operation.clone())
        .collect();
    assert_eq!(
        operations,
        ["apps/get-org-installation"],
        "nothing but the permission check"
    );
    // Scanning needs only reads, which the installation has.
    let scan = setup.run(&["scan", "--org", "acme"]);
    assert_eq!(scan.code, 10, "{}", scan.stderr);
}

#[test]
fn a_key_of_another_app_is_refused_with_a_clear_message() {
    let setup = AppSetup::new(world(&["acme"], 1), &["acme"], all_permissions());
    let other = TestAppKey::generate();
    std::fs::write(setup.dir.path().join("app.pem"), &other.private_pem).expect("key");
    let run = setup.run(&["scan", "--org", "acme"]);
    assert_eq!(run.code, 1);
    assert!(
        run.stderr
            .contains("GitHub refused the GitHub App's credentials"),
        "{}",
        run.stderr
    );
    let refused = setup.fake.app(|a| a.refused.clone());
    assert!(
        refused.iter().any(|r| r.contains("JWT refused")),
        "{refused:?}"
    );

    std::fs::write(setup.dir.path().join("app.pem"), "not a key").expect("key");
    let run = setup.run(&["scan", "--org", "acme"]);
    assert_eq!(run.code, 1);
    assert!(
        run.stderr.contains("cannot use the GitHub App key"),
        "{}",
        run.stderr
    );
}

#[test]
fn an_organization_without_the_app_is_named() {
    let setup = AppSetup::new(world(&["acme", "globex"], 1), &["acme"], all_permissions());
    let run = setup.run(&["scan", "--org", "globex"]);
    assert_eq!(run.code, 1);
    assert!(
        run.stderr.contains("not installed on globex"),
        "{}",
        run.stderr
    );
}

fn logins(doc: &Value, key: &str) -> Vec<String> {
    doc[key]
        .as_array()
        .into_iter()
        .flatten()
        .map(|v| {
            v["login"]
                .as_str()
                .or(v["repository"].as_str())
                .unwrap_or_default()
                .to_string()
        })
        .collect()
}

#[test]
fn a_campaign_across_three_organizations_uses_three_installations() {
    let orgs = ["acme", "globex", "initech"];
    let setup = AppSetup::new(world(&orgs, 3), &orgs, all_permissions());
    let run = setup.run(&[
        "scan", "--org", "acme", "--org", "globex", "--org", "initech", "--format", "json",
    ]);
    assert_eq!(run.code, 10, "{}", run.stderr);
    let doc: Value = serde_json::from_str(&run.stdout).expect("JSON");
    assert_eq!(logins(&doc, "organizations"), ["acme", "globex", "initech"]);
    let repositories = logins(&doc, "repositories");
    assert_eq!(repositories.len(), 9, "{repositories:?}");
    for org in orgs {
        assert_eq!(
            repositories
                .iter()
                .filter(|r| r.starts_with(&format!("{org}/")))
                .count(),
            3
        );
    }
    let mut minted = setup.fake.app(|a| a.minted.clone());
    minted.sort();
    assert_eq!(
        minted,
        [101, 102, 103],
        "one token per organization's installation"
    );
    assert_eq!(setup.fake.app(|a| a.refused.clone()), Vec::<String>::new());
    assert_eq!(setup.fake.violations(), Vec::<String>::new());
    let findings = doc["findings"].as_array().map(Vec::len).unwrap_or_default();
    assert!(
        findings >= 9,
        "every repository's keys are found: {findings}"
    );
}

#[test]
fn an_organization_without_the_app_is_reported_and_the_others_are_scanned() {
    let setup = AppSetup::new(world(&["acme", "globex"], 2), &["acme"], all_permissions());
    let run = setup.run(&[
        "scan", "--org", "acme", "--org", "globex", "--format", "json",
    ]);
    assert_eq!(run.code, 12, "findings and an error: {}", run.stderr);
    let doc: Value = serde_json::from_str(&run.stdout).expect("JSON");
    assert_eq!(logins(&doc, "repositories"), ["acme/svc-0", "acme/svc-1"]);
    let errors = doc["errors"].to_string();
    assert!(errors.contains("not installed on globex"), "{errors}");
}

#[test]
fn an_enterprise_is_listed_with_a_personal_token_but_not_with_an_installation() {
    let setup = AppSetup::new(
        world(&["acme", "globex", "other"], 1),
        &["acme"],
        all_permissions(),
    );
    setup.fake.with(|s| {
        s.enterprises
            .insert("acme-corp".into(), vec!["globex".into(), "acme".into()]);
    });
    let output = migrate()
        .args(["scan", "--enterprise", "acme-corp", "--format", "json"])
        .args(["--github-url", &setup.fake.url, "--retry-base-ms", "5"])
        .env("GH_TOKEN", common::fake_github::TOKEN)
        .output()
        .expect("runs");
    let run = Run::of(output);
    assert_eq!(run.code, 10, "{}", run.stderr);
    let doc: Value = serde_json::from_str(&run.stdout).expect("JSON");
    assert_eq!(logins(&doc, "organizations"), ["acme", "globex"]);
    assert_eq!(logins(&doc, "repositories"), ["acme/svc-0", "globex/svc-0"]);
    assert_eq!(setup.fake.violations(), Vec::<String>::new());

    let run = setup.run(&["scan", "--enterprise", "acme-corp"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("cannot list the organizations of enterprise acme-corp"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("--org"), "{}", run.stderr);
}

#[test]
fn trust_takes_one_organization() {
    let setup = AppSetup::new(world(&["acme"], 1), &["acme"], all_permissions());
    let run = setup.run(&[
        "trust",
        "--account-id",
        "123456789012",
        "--org",
        "acme",
        "--org",
        "globex",
    ]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("one --org at a time"), "{}", run.stderr);
    assert!(setup.fake.log().is_empty());
}

#[test]
fn rewrite_opens_pull_requests_across_organizations_through_each_installation() {
    let orgs = ["acme", "globex", "initech"];
    // Installed on acme and globex only: initech is a failed row, the others go on.
    let setup = AppSetup::new(world(&orgs, 2), &orgs[..2], all_permissions());
    let campaign = setup.campaign();
    let run = setup.run(&[
        "rewrite",
        "--org",
        "acme",
        "--org",
        "globex",
        "--org",
        "initech",
        "--role-arn",
        ROLE,
        "--pr",
        "--format",
        "json",
        "--campaign",
        &campaign,
    ]);
    assert_eq!(
        run.code, 11,
        "pull requests and a failed organization: {}",
        run.stderr
    );
    let doc: Value = serde_json::from_str(&run.stdout).expect("JSON");
    let outcomes: Vec<(String, String)> = doc["repositories"]
        .as_array()
        .expect("repositories")
        .iter()
        .map(|r| {
            (
                r["repository"].as_str().unwrap_or_default().to_string(),
                r["result"]["outcome"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
            )
        })
        .collect();
    let opened: Vec<&str> = outcomes
        .iter()
        .filter(|(_, o)| o == "opened")
        .map(|(r, _)| r.as_str())
        .collect();
    assert_eq!(
        opened,
        ["acme/svc-0", "acme/svc-1", "globex/svc-0", "globex/svc-1"],
        "{outcomes:?}"
    );
    let initech = doc["repositories"]
        .as_array()
        .and_then(|rows| rows.iter().find(|r| r["repository"] == "initech"))
        .expect("a row for the organization without the App");
    assert_eq!(initech["result"]["outcome"], "failed");
    assert!(
        initech["result"]["error"]
            .as_str()
            .is_some_and(|e| e.contains("not installed on initech")),
        "{initech}"
    );
    setup.fake.with(|s| {
        for repo in ["acme/svc-0", "acme/svc-1", "globex/svc-0", "globex/svc-1"] {
            assert_eq!(s.world.repos[repo].pulls.len(), 1, "{repo}");
        }
        assert!(s.world.repos["initech/svc-0"].pulls.is_empty());
    });
    let mut minted = setup.fake.app(|a| a.minted.clone());
    minted.sort();
    minted.dedup();
    assert_eq!(minted, [101, 102], "each organization's own installation");
    assert_eq!(setup.fake.violations(), Vec::<String>::new());

    // The ledger has every pull request, whichever organization it is in.
    let output = migrate()
        .args([
            "status",
            "--no-aws",
            "--format",
            "json",
            "--campaign",
            &campaign,
        ])
        .args(["--repo", "acme/svc-0", "--repo", "globex/svc-1"])
        .args(["--github-url", &setup.fake.url, "--retry-base-ms", "5"])
        .env("GH_TOKEN", common::fake_github::TOKEN)
        .output()
        .expect("runs");
    let status = Run::of(output);
    assert_eq!(status.code, 0, "{}", status.stderr);
    let doc: Value = serde_json::from_str(&status.stdout).expect("JSON");
    let states: Vec<&str> = doc["repositories"]
        .as_array()
        .expect("repositories")
        .iter()
        .filter_map(|r| r["state"].as_str())
        .collect();
    assert_eq!(states, ["pr_open", "pr_open"], "{doc}");
}

#[test]
fn rewrite_covers_every_organization_of_an_enterprise_with_a_personal_token() {
    let setup = AppSetup::new(
        world(&["acme", "globex", "other"], 1),
        &[],
        all_permissions(),
    );
    setup.fake.with(|s| {
        s.enterprises
            .insert("acme-corp".into(), vec!["globex".into(), "acme".into()]);
    });
    let output = migrate()
        .args(["rewrite", "--enterprise", "acme-corp", "--role-arn", ROLE])
        .args(["--pr", "--format", "json", "--campaign", &setup.campaign()])
        .args(["--github-url", &setup.fake.url, "--retry-base-ms", "5"])
        .env("GH_TOKEN", common::fake_github::TOKEN)
        .output()
        .expect("runs");
    let run = Run::of(output);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let doc: Value = serde_json::from_str(&run.stdout).expect("JSON");
    let opened: Vec<&str> = doc["repositories"]
        .as_array()
        .expect("repositories")
        .iter()
        .filter(|r| r["result"]["outcome"] == "opened")
        .filter_map(|r| r["repository"].as_str())
        .collect();
    assert_eq!(opened, ["acme/svc-0", "globex/svc-0"]);
    setup
        .fake
        .with(|s| assert!(s.world.repos["other/svc-0"].pulls.is_empty()));

    // status follows the enterprise: recorded once, listed again on each run.
    let status = |args: &[&str]| {
        let output = migrate()
            .args(["status", "--no-aws", "--format", "json"])
            .args(["--campaign", &setup.campaign()])
            .args(args)
            .args(["--github-url", &setup.fake.url, "--retry-base-ms", "5"])
            .env("GH_TOKEN", common::fake_github::TOKEN)
            .output()
            .expect("runs");
        let run = Run::of(output);
        assert_eq!(run.code, 0, "{}", run.stderr);
        let doc: Value = serde_json::from_str(&run.stdout).expect("JSON");
        let rows: Vec<(String, String)> = doc["repositories"]
            .as_array()
            .expect("repositories")
            .iter()
            .map(|r| (r["repository"].to_string(), r["state"].to_string()))
            .collect();
        (doc["organizations"].clone(), rows)
    };
    let (orgs, rows) = status(&["--enterprise", "acme-corp"]);
    assert_eq!(orgs, json!(["acme", "globex"]));
    assert_eq!(
        rows,
        [
            ("\"acme/svc-0\"".into(), "\"pr_open\"".into()),
            ("\"globex/svc-0\"".into(), "\"pr_open\"".into())
        ]
    );
    setup.fake.with(|s| {
        s.enterprises
            .get_mut("acme-corp")
            .expect("enterprise")
            .push("other".into());
    });
    let (orgs, rows) = status(&[]);
    assert_eq!(orgs, json!(["acme", "globex", "other"]));
    assert_eq!(rows.len(), 3, "{rows:?}");
    assert_eq!(setup.fake.violations(), Vec::<String>::new());
}

#[test]
fn status_and_cleanup_check_their_own_permissions_first() {
    let mut permissions = all_permissions();
    permissions["secrets"] = json!("read");
    permissions["organization_secrets"] = json!("read");
    let setup = AppSetup::new(world(&["acme"], 2), &["acme"], permissions);
    let campaign = setup.campaign();
    let status = setup.run(&[
        "status",
        "--org",
        "acme",
        "--no-aws",
        "--format",
        "json",
        "--campaign",
        &campaign,
    ]);
    assert_eq!(status.code, 0, "reads are granted: {}", status.stderr);
    let cleanup = setup.run(&[
        "cleanup",
        "--org",
        "acme",
        "--no-aws",
        "--yes",
        "--campaign",
        &campaign,
    ]);
    assert_eq!(cleanup.code, 1, "{}", cleanup.stderr);
    assert!(
        cleanup.stderr.contains("lacks what `cleanup` needs"),
        "{}",
        cleanup.stderr
    );
    assert!(
        cleanup.stderr.contains("Secrets: write (`secrets`)"),
        "{}",
        cleanup.stderr
    );
    assert!(
        cleanup
            .stderr
            .contains("Organization secrets: write (`organization_secrets`)"),
        "{}",
        cleanup.stderr
    );
    assert_eq!(setup.fake.writes().len(), 0);
}

#[test]
fn a_long_run_prints_its_rate_budget_first() {
    let orgs = ["acme", "globex", "initech"];
    let setup = AppSetup::new(world(&orgs, 110), &orgs, all_permissions());
    // globex's installation has 300 requests an hour: its 337 requests wait for a reset.
    setup.fake.app(|a| a.installations[1].rate_limit = 300);
    let run = setup.run(&[
        "scan", "--org", "acme", "--org", "globex", "--org", "initech",
    ]);
    assert_eq!(run.code, 10, "{}", run.stderr);
    assert!(
        run.stderr.contains(
            "estimate: ~1,011 requests over 330 repositories, about 1 h 7 min at 300/h on 3 tokens"
        ),
        "{}",
        run.stderr
    );
    assert_eq!(setup.fake.violations(), Vec::<String>::new());
    let limits = setup
        .fake
        .log()
        .iter()
        .filter(|l| l.operation == "rate-limit/get")
        .count();
    assert_eq!(limits, 3, "one GET /rate_limit per token");

    // A small run starts without one.
    let small = setup.run(&[
        "scan", "--org", "acme", "--org", "globex", "--name", "svc-1",
    ]);
    assert!(!small.stderr.contains("estimate:"), "{}", small.stderr);
}

#[test]
fn status_groups_repositories_by_organization() {
    let setup = AppSetup::new(world(&["acme", "globex"], 2), &[], all_permissions());
    let campaign = setup.campaign();
    let status = |format: &str| {
        let output = migrate()
            .args([
                "status",
                "--no-aws",
                "--format",
                format,
                "--campaign",
                &campaign,
            ])
            .args([
                "--repo",
                "acme/svc-0",
                "--repo",
                "acme/svc-1",
                "--repo",
                "globex/svc-0",
            ])
            .args(["--github-url", &setup.fake.url, "--retry-base-ms", "5"])
            .env("GH_TOKEN", common::fake_github::TOKEN)
            .output()
            .expect("runs");
        Run::of(output)
    };
    let run = status("json");
    assert_eq!(run.code, 0, "{}", run.stderr);
    let doc: Value = serde_json::from_str(&run.stdout).expect("JSON");
    let groups = &doc["by_organization"];
    let count = |org: &str| {
        groups[org]
            .as_object()
            .map_or(0, |m| m.values().filter_map(Value::as_u64).sum::<u64>())
    };
    assert_eq!((count("acme"), count("globex")), (2, 1), "{groups}");
    assert_eq!(doc["repositories"][2]["organization"], "globex");
    let table = status("table");
    assert!(
        table.stdout.contains("\n  acme: 2 repositories: "),
        "{}",
        table.stdout
    );
    assert!(
        table.stdout.contains("\n  globex: 1 repositories: "),
        "{}",
        table.stdout
    );
}

#[test]
fn repositories_of_several_owners_need_one_run_per_owner_with_an_app() {
    let setup = AppSetup::new(
        world(&["acme", "globex"], 1),
        &["acme", "globex"],
        all_permissions(),
    );
    let run = setup.run(&["scan", "--repo", "acme/svc-0", "--repo", "globex/svc-0"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("every --repo must belong to one owner (here: acme, globex)"),
        "{}",
        run.stderr
    );
    assert!(setup.fake.log().is_empty());
    let one_owner = setup.run(&["scan", "--repo", "globex/svc-0", "--format", "json"]);
    assert_eq!(one_owner.code, 10, "{}", one_owner.stderr);
    assert_eq!(setup.fake.app(|a| a.minted.clone()), [102]);
}

/// A workflow that gives its job the old key through an organization secret.
const ORG_SECRET_DEPLOY: &str = "on: push
jobs:
  deploy:
    runs-on: ubuntu-latest
    steps:
      - uses: aws-actions/configure-aws-credentials@v4
        with:
          aws-access-key-id: ${{ secrets.AWS_ACCESS_KEY_ID }}
          aws-secret-access-key: ${{ secrets.DEPLOY_SECRET }}
          aws-region: us-east-1
      - run: aws s3 sync site s3://acme-site
";

const MIGRATED: &str = "on: push
permissions:
  id-token: write
  contents: read
jobs:
  deploy:
    runs-on: ubuntu-latest
    steps:
      - uses: aws-actions/configure-aws-credentials@v4
        with:
          role-to-assume: arn:aws:iam::123456789012:role/gha-deploy
          aws-region: us-east-1
      - run: aws s3 sync site s3://acme-site
";

/// Both organizations have an organization secret named DEPLOY_SECRET: acme's serves only the
/// migrated acme/svc-0 (deleted), globex's is selected for globex/svc-0 and svc-1, and svc-1
/// still uses it (globex/svc-0 leaves its selection). Each write goes through the installation
/// of the organization it changes (the fake answers 404 to any other), and the two secrets of
/// one name stay two secrets.
#[test]
#[ignore = "needs moto's IAM server: run .ci/run, or set AWS_ENDPOINT_URL_IAM and pass --include-ignored"]
fn status_and_cleanup_across_organizations_through_each_installation() {
    common::moto::require("cleanup across organizations");
    let mut world = World::default();
    for org in ["acme", "globex"] {
        for name in ["svc-0", "svc-1"] {
            let repo = world.repo(
                org,
                name,
                &[(".github/workflows/deploy.yml", ORG_SECRET_DEPLOY)],
            );
            repo.secrets = vec!["AWS_ACCESS_KEY_ID".into()];
        }
        world.open_pull(
            &format!("{org}/svc-0"),
            "migrate/aws-oidc",
            &[(".github/workflows/deploy.yml", MIGRATED)],
        );
    }
    world
        .org("acme")
        .secrets
        .push(common::fake_github::state::OrgSecret {
            name: "DEPLOY_SECRET".into(),
            visibility: "selected".into(),
            selected: vec!["svc-0".into()],
        });
    world
        .org("globex")
        .secrets
        .push(common::fake_github::state::OrgSecret {
            name: "DEPLOY_SECRET".into(),
            visibility: "selected".into(),
            selected: vec!["svc-0".into(), "svc-1".into()],
        });
    let setup = AppSetup::new(world, &["acme", "globex"], all_permissions());
    let campaign = setup.campaign();
    let acme_user = common::moto::unique("ci-acme");
    let globex_user = common::moto::unique("ci-globex");
    let (acme_key, _) = common::moto::user_with_key(&acme_user);
    let (globex_key, _) = common::moto::user_with_key(&globex_user);
    let key_map = setup.dir.path().join("keys.toml");
    std::fs::write(
        &key_map,
        format!(
            "[repos]\n\"acme/svc-0\" = \"{acme_user}\"\n\"globex/svc-0\" = \"{globex_user}\"\n"
        ),
    )
    .expect("key map");
    let key_map = key_map.display().to_string();
    let orgs = ["--org", "acme", "--org", "globex"];

    let status = setup.run_aws(
        &[
            &[
                "status",
                "--format",
                "json",
                "--campaign",
                &campaign,
                "--key-map",
                &key_map,
            ][..],
            &orgs,
        ]
        .concat(),
    );
    assert_eq!(status.code, 0, "{}", status.stderr);
    let doc: Value = serde_json::from_str(&status.stdout).expect("JSON");
    assert_eq!(doc["organizations"], json!(["acme", "globex"]), "{doc}");
    let state = |repo: &str| {
        doc["repositories"]
            .as_array()
            .expect("rows")
            .iter()
            .find(|r| r["repository"] == repo)
            .map(|r| r["state"].clone())
    };
    assert_eq!(state("acme/svc-0"), Some(json!("pr_open")), "{doc}");
    assert_eq!(state("globex/svc-0"), Some(json!("pr_open")), "{doc}");
    setup.fake.with(|s| {
        for org in ["acme", "globex"] {
            s.world.merge(&format!("{org}/svc-0"), 1);
        }
    });

    // The ledger remembers both organizations: no --org needed from here on. The svc-1
    // repositories are not migrated: refused (exit 20), the others cleaned up.
    let cleanup = setup.run_aws(&["cleanup", "--yes", "--campaign", &campaign]);
    assert_eq!(cleanup.code, 20, "{}\n{}", cleanup.stdout, cleanup.stderr);
    assert!(
        cleanup.stdout.contains("plan for acme/svc-0, globex/svc-0"),
        "{}",
        cleanup.stdout
    );
    setup.fake.with(|s| {
        assert!(
            s.world.orgs["acme"].secrets.is_empty(),
            "acme's secret deleted"
        );
        let globex = &s.world.orgs["globex"].secrets;
        assert_eq!(globex.len(), 1, "globex's secret kept");
        assert_eq!(
            globex[0].selected,
            ["svc-1"],
            "globex/svc-0 left its selection"
        );
        for repo in ["acme/svc-0", "globex/svc-0"] {
            assert!(s.world.repos[repo].secrets.is_empty(), "{repo}");
        }
        for repo in ["acme/svc-1", "globex/svc-1"] {
            assert_eq!(s.world.repos[repo].secrets, ["AWS_ACCESS_KEY_ID"], "{repo}");
        }
    });
    assert_eq!(common::moto::key_status(&acme_user, &acme_key), "Inactive");
    assert_eq!(
        common::moto::key_status(&globex_user, &globex_key),
        "Inactive"
    );
    let mut minted = setup.fake.app(|a| a.minted.clone());
    minted.sort();
    minted.dedup();
    assert_eq!(minted, [101, 102], "each organization's own installation");
    assert_eq!(setup.fake.violations(), Vec::<String>::new());
}

/// cleanup across organizations acts on all of them or on none: an organization the App is
/// not installed on stops it before any read of the others.
#[test]
fn cleanup_refuses_when_an_organization_is_out_of_reach() {
    let setup = AppSetup::new(world(&["acme", "globex"], 1), &["acme"], all_permissions());
    let campaign = setup.campaign();
    let status = setup.run(&[
        "status",
        "--org",
        "acme",
        "--org",
        "globex",
        "--no-aws",
        "--format",
        "json",
        "--campaign",
        &campaign,
    ]);
    // status reports what it could read and names the rest.
    assert_eq!(status.code, 11, "{}", status.stderr);
    let doc: Value = serde_json::from_str(&status.stdout).expect("JSON");
    assert_eq!(doc["organizations"], json!(["acme"]), "{doc}");
    assert!(
        doc["errors"][0].as_str().is_some_and(
            |e| e.starts_with("globex: not read: the GitHub App is not installed on globex")
        ),
        "{doc}"
    );
    let before = setup.fake.log().len();
    let cleanup = setup.run(&["cleanup", "--no-aws", "--yes", "--campaign", &campaign]);
    assert_eq!(cleanup.code, 1, "{}", cleanup.stderr);
    assert!(
        cleanup
            .stderr
            .contains("the GitHub App is not installed on globex"),
        "{}",
        cleanup.stderr
    );
    let after: Vec<String> = setup.fake.log()[before..]
        .iter()
        .map(|l| l.operation.clone())
        .filter(|op| !op.starts_with("apps/"))
        .collect();
    assert!(after.is_empty(), "no repository read or write: {after:?}");
}

/// A failed run's job log: the configure step could not assume the role.
const TRUST_FAILURE_LOG: &str = "2026-11-25T10:00:00.1000000Z ##[group]Run aws-actions/configure-aws-credentials@v4
2026-11-25T10:00:00.1000000Z ##[endgroup]
2026-11-25T10:00:01.2000000Z ##[error]Could not assume role with OIDC: Not authorized to perform sts:AssumeRoleWithWebIdentity
2026-11-25T10:00:01.3000000Z ##[error]Process completed with exit code 1.
";

/// `status --comment --tracking-issue` as an App: each comment goes through the installation
/// of the pull request's organization, the tracking issue through its repository owner's; an
/// installation without `Pull requests: write` is named and its organization left alone.
#[test]
fn comments_and_the_tracking_issue_go_through_each_owners_installation() {
    let mut world = World::default();
    for org in ["acme", "globex", "initech"] {
        let slug = format!("{org}/api");
        world.repo(org, "api", &[(".github/workflows/deploy.yml", DEPLOY)]);
        let n = world.open_pull(
            &slug,
            "migrate/aws-oidc",
            &[(".github/workflows/deploy.yml", MIGRATED)],
        );
        world.merge(&slug, n);
        world.failed_run(
            &slug,
            ".github/workflows/deploy.yml",
            ("main", "push", "failure"),
            60,
            &[("deploy", "failure", TRUST_FAILURE_LOG)],
        );
    }
    world.repo("acme", "platform", &[("README.md", "platform\n")]);
    let mut permissions = all_permissions();
    permissions["issues"] = json!("write");
    let setup = AppSetup::new(world, &["acme", "globex", "initech"], permissions);
    // initech's installation may read pull requests but not write to them.
    setup.fake.app(|a| {
        a.installations[2].permissions["pull_requests"] = json!("read");
    });
    let campaign = setup.campaign();
    let run = setup.run(&[
        "status",
        "--org",
        "acme",
        "--org",
        "globex",
        "--org",
        "initech",
        "--no-aws",
        "--campaign",
        &campaign,
        "--comment",
        "--tracking-issue",
        "acme/platform",
        "--write-interval-ms",
        "0",
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    for line in [
        "acme/api: commented on #1 trust-mismatch",
        "globex/api: commented on #1 trust-mismatch",
        "acme/platform: opened tracking issue #1",
        "initech: not commented: the GitHub App's installation on initech lacks what `status --comment` needs: Pull requests: write (`pull_requests`)",
    ] {
        assert!(run.stderr.contains(line), "{line}\n{}", run.stderr);
    }
    setup.fake.with(|s| {
        assert_eq!(s.world.repos["acme/api"].comments.len(), 1);
        assert_eq!(s.world.repos["globex/api"].comments.len(), 1);
        assert!(s.world.repos["initech/api"].comments.is_empty());
        assert_eq!(s.world.repos["acme/platform"].issues.len(), 1);
    });
    assert_eq!(setup.fake.violations(), Vec::<String>::new());
}
