//! Campaigns end to end: the real binary against the fake GitHub and moto's IAM server
//! (`AWS_ENDPOINT_URL_IAM`, set by CI with static test credentials). `status` → `cleanup` →
//! `undo` with remote state checked after each step; every cleanup refusal; and SIGKILL at
//! random points of `cleanup` followed by resumed runs.
//!
//! moto records a key's last use whenever a request signed with it reaches the server, so
//! "a key used after the merge" is produced by calling IAM `GetUser` with that key.

// A test that cannot unwrap has failed: panicking is the report.
#![allow(clippy::unwrap_used)]

use crate::common;

use common::Run;

use std::collections::BTreeSet;
use std::path::Path;
use std::time::Duration;

use aws_sdk_iam::Client;
use common::fake_github::{FakeGitHub, TOKEN, World};
use migrate::campaign::{JournalEntry, Ledger};

const OLD: &str = "on: push
jobs:
  deploy:
    runs-on: ubuntu-latest
    steps:
      - uses: aws-actions/configure-aws-credentials@v4
        with:
          aws-access-key-id: ${{ secrets.AWS_ACCESS_KEY_ID }}
          aws-secret-access-key: ${{ secrets.AWS_SECRET_ACCESS_KEY }}
          aws-region: us-east-1
      - run: aws s3 ls
";

const OLD_ENV: &str = "on: push
jobs:
  deploy:
    runs-on: ubuntu-latest
    environment: production
    steps:
      - run: aws s3 ls
        env:
          AWS_ACCESS_KEY_ID: ${{ secrets.PROD_AWS_ACCESS_KEY_ID }}
          AWS_SECRET_ACCESS_KEY: ${{ secrets.PROD_AWS_SECRET_ACCESS_KEY }}
";

const OLD_ORG: &str = "on: push
jobs:
  deploy:
    runs-on: ubuntu-latest
    steps:
      - uses: aws-actions/configure-aws-credentials@v4
        with:
          aws-access-key-id: ${{ secrets.ORG_AWS_ACCESS_KEY_ID }}
          aws-secret-access-key: ${{ secrets.ORG_AWS_SECRET_ACCESS_KEY }}
          aws-region: us-east-1
";

const NEW: &str = "on: push
permissions:
  contents: read
jobs:
  deploy:
    runs-on: ubuntu-latest
    permissions:
      id-token: write
      contents: read
    steps:
      - uses: aws-actions/configure-aws-credentials@v4
        with:
          role-to-assume: arn:aws:iam::123456789012:role/gha-app
          aws-region: us-east-1
      - run: aws s3 ls
";

const WORKFLOW: &str = ".github/workflows/deploy.yml";
const BRANCH: &str = "migrate/aws-oidc";

use common::moto::{key_status, user_with_key};

/// A request signed with the key itself: moto records it as the key's last use.
fn use_key(id: &str, secret: &str) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let creds = aws_sdk_iam::config::Credentials::new(id, secret, None, None, "test");
        let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .region(aws_config::Region::new("us-east-1"))
            .credentials_provider(creds)
            .load()
            .await;
        Client::new(&config).get_user().send().await.unwrap();
    });
}

/// A campaign command on `ledger`.
fn command(fake: &FakeGitHub, ledger: &Path, args: &[&str]) -> std::process::Command {
    let mut cmd = bare(fake, args);
    cmd.args(["--campaign", ledger.to_str().unwrap()]);
    cmd
}

/// The binary with the fake's URL, a token, and the moto variables; nothing else from the
/// environment that could reach GitHub or AWS.
fn bare(fake: &FakeGitHub, args: &[&str]) -> std::process::Command {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_migrate"));
    cmd.current_dir(common::root());
    for (key, _) in std::env::vars() {
        if key.starts_with("GH_") || key.starts_with("GITHUB_") || key.starts_with("AWS_") {
            cmd.env_remove(key);
        }
    }
    cmd.args(args)
        .env("NO_COLOR", "1")
        .env("GH_TOKEN", TOKEN)
        .env("MIGRATE_GITHUB_URL", &fake.url);
    cmd.envs(common::moto::env());
    cmd
}

fn run(fake: &FakeGitHub, ledger: &Path, args: &[&str]) -> Run {
    run_with_iam(fake, ledger, None, args)
}

/// [`run`] with IAM at `iam` (an [`common::moto::IamFront`]) instead of moto itself.
fn run_with_iam(fake: &FakeGitHub, ledger: &Path, iam: Option<&str>, args: &[&str]) -> Run {
    let mut all = args.to_vec();
    if args[0] != "undo" {
        all.extend(["--retry-base-ms", "10", "--write-interval-ms", "5"]);
    }
    let mut cmd = command(fake, ledger, &all);
    if let Some(url) = iam {
        cmd.env("AWS_ENDPOINT_URL_IAM", url);
    }
    finish(cmd)
}

fn finish(mut cmd: std::process::Command) -> Run {
    let output = cmd.output().unwrap();
    let run = Run::of(output);
    assert!(
        !run.stdout.contains(TOKEN) && !run.stderr.contains(TOKEN),
        "token printed"
    );
    run
}

fn write_key_map(dir: &Path, text: &str) -> String {
    let path = dir.join("keys.toml");
    std::fs::write(&path, text).unwrap();
    path.to_str().unwrap().to_string()
}

fn status_json(fake: &FakeGitHub, ledger: &Path) -> serde_json::Value {
    let r = run(fake, ledger, &["status", "--format", "json"]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    serde_json::from_str(&r.stdout).unwrap()
}

fn repo_row<'a>(doc: &'a serde_json::Value, repo: &str) -> &'a serde_json::Value {
    doc["repositories"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["repository"] == repo)
        .unwrap_or_else(|| panic!("{repo} missing from {doc:#}"))
}

fn journal(ledger: &Path) -> Vec<JournalEntry> {
    Ledger::open(ledger).unwrap().journal().unwrap()
}

#[test]
#[ignore = "needs moto's IAM server: run .ci/run, or set AWS_ENDPOINT_URL_IAM and pass --include-ignored"]
fn status_cleanup_undo_happy_path() {
    common::moto::require("the campaign");
    let dir = tempfile::tempdir().unwrap();
    let ledger = dir.path().join("campaign.db");
    let (api_user, web_user) = (
        common::moto::unique("ci-happy-api"),
        common::moto::unique("ci-happy-web"),
    );
    let (api_key, _) = user_with_key(&api_user);
    let (web_key, _) = user_with_key(&web_user);

    let mut world = World::default();
    world.repo("acme", "api", &[(WORKFLOW, OLD)]).secrets = vec![
        "AWS_ACCESS_KEY_ID".into(),
        "AWS_SECRET_ACCESS_KEY".into(),
        "NPM_TOKEN".into(),
    ];
    world
        .repo("acme", "web", &[(WORKFLOW, OLD_ENV)])
        .environments
        .insert(
            "production".into(),
            vec![
                "PROD_AWS_ACCESS_KEY_ID".into(),
                "PROD_AWS_SECRET_ACCESS_KEY".into(),
            ],
        );
    world.repo("acme", "docs", &[("README.md", "docs\n")]);
    let fake = FakeGitHub::start(world);
    let map = write_key_map(
        dir.path(),
        &format!("[repos]\n\"acme/api\" = \"{api_user}\"\n\"acme/web\" = [\"{web_key}\"]\n"),
    );

    // Before any PR.
    let r = run(
        &fake,
        &ledger,
        &["status", "--org", "acme", "--key-map", &map],
    );
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    assert!(
        r.stdout.contains("acme/api") && r.stdout.contains("findings"),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains("acme/docs") && r.stdout.contains("clean"));
    assert!(!r.stdout.contains(&api_key), "unmasked key id printed");

    let api_pr = fake.with(|s| s.world.open_pull("acme/api", BRANCH, &[(WORKFLOW, NEW)]));
    let web_pr = fake.with(|s| s.world.open_pull("acme/web", BRANCH, &[(WORKFLOW, NEW)]));
    let doc = status_json(&fake, &ledger);
    assert_eq!(repo_row(&doc, "acme/api")["state"], "pr_open");
    assert_eq!(
        repo_row(&doc, "acme/api")["next_step"],
        format!("review and merge PR #{api_pr}")
    );
    // Nothing to clean yet: every repository is refused, nothing changes.
    let r = run(&fake, &ledger, &["cleanup", "--yes"]);
    assert_eq!(r.code, 20, "{}\n{}", r.stdout, r.stderr);
    assert!(r.stdout.contains("is not merged"), "{}", r.stdout);
    assert_eq!(key_status(&api_user, &api_key), "Active");

    fake.with(|s| {
        s.world.merge("acme/api", api_pr);
        s.world.merge("acme/web", web_pr);
    });
    // The ledger is a cache: deleting it loses nothing status needs.
    std::fs::remove_file(&ledger).unwrap();
    let r = run(
        &fake,
        &ledger,
        &[
            "status",
            "--org",
            "acme",
            "--key-map",
            &map,
            "--format",
            "json",
        ],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let doc: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    let api = repo_row(&doc, "acme/api");
    assert_eq!(api["state"], "pr_merged");
    assert_eq!(api["pull_request"]["merged"], true);
    assert_eq!(api["remaining_references"], serde_json::json!([]));
    assert!(
        api["next_step"]
            .as_str()
            .unwrap()
            .ends_with("then migrate cleanup"),
        "{api:#}"
    );
    assert_eq!(api["keys"][0]["status"], "Active");
    assert!(
        api["keys"][0]["access_key_id"]
            .as_str()
            .unwrap()
            .contains('…')
    );

    let table = run(&fake, &ledger, &["status"]);
    eprintln!("$ migrate status\n{}", table.stdout);
    let r = run(&fake, &ledger, &["cleanup", "--yes"]);
    eprintln!("$ migrate cleanup --yes\n{}", r.stdout);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    // No run has verified these merges: cleanup goes ahead but says so.
    assert!(
        r.stdout.contains("acme/api: not verified yet"),
        "{}",
        r.stdout
    );
    assert!(!r.stdout.contains(&api_key) && !r.stdout.contains(&web_key));
    assert!(
        r.stdout.contains(&format!("user {api_user}")),
        "{}",
        r.stdout
    );
    assert_eq!(key_status(&api_user, &api_key), "Inactive");
    assert_eq!(key_status(&web_user, &web_key), "Inactive");
    fake.with(|s| {
        assert_eq!(
            s.world.repos["acme/api"].secrets,
            vec!["NPM_TOKEN".to_string()]
        );
        assert!(s.world.repos["acme/web"].environments["production"].is_empty());
    });
    let entries = journal(&ledger);
    assert_eq!(entries.len(), 6, "{entries:#?}");
    assert!(
        entries.iter().all(|e| e.result.as_str() == "done"),
        "{entries:#?}"
    );
    assert_eq!(fake.violations(), Vec::<String>::new());
    let doc = status_json(&fake, &ledger);
    assert_eq!(repo_row(&doc, "acme/api")["state"], "secrets_deleted");
    // A second cleanup has nothing left to do.
    let r = run(&fake, &ledger, &["cleanup", "--yes"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.contains("nothing to do"), "{}", r.stdout);

    let md = run(&fake, &ledger, &["status", "--format", "markdown"]);
    eprintln!("$ migrate status --format markdown\n{}", md.stdout);
    let r = run(&fake, &ledger, &["undo", "--yes"]);
    eprintln!("$ migrate undo --yes\n{}", r.stdout);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    assert_eq!(key_status(&api_user, &api_key), "Active");
    assert_eq!(key_status(&web_user, &web_key), "Active");
    assert!(
        r.stdout
            .contains("gh secret set AWS_ACCESS_KEY_ID --repo acme/api")
    );
    assert!(
        r.stdout
            .contains("gh secret set PROD_AWS_SECRET_ACCESS_KEY --repo acme/web --env production"),
        "{}",
        r.stdout
    );
    // Undo twice reactivates nothing more.
    let r = run(&fake, &ledger, &["undo", "--yes"]);
    assert_eq!(r.code, 0);
    assert!(!r.stdout.contains("reactivate:"), "{}", r.stdout);
}

/// Any other command (no `--campaign` appended: for `trust` that flag is a tag value).
fn other(fake: &FakeGitHub, args: &[&str]) -> Run {
    finish(bare(fake, args))
}

/// The whole campaign through the real binary: scan → trust --apply → rewrite --pr → merge
/// → status (roles found by tag, verification by a post-merge run, conditional requests) →
/// cleanup → undo, with GitHub and IAM state checked after each step. The organization's
/// name is unique so that roles left in a long-lived moto by earlier runs cannot match.
#[test]
#[ignore = "needs moto's IAM server: run .ci/run, or set AWS_ENDPOINT_URL_IAM and pass --include-ignored"]
fn full_campaign_from_scan_to_undo() {
    common::moto::require("the campaign");
    let dir = tempfile::tempdir().unwrap();
    let ledger = dir.path().join("campaign.db");
    let org = common::moto::unique("camp");
    let slug = format!("{org}/api");
    let user = common::moto::unique("ci-full-api");
    let (key, _) = user_with_key(&user);
    let mut world = World::default();
    world.repo(&org, "api", &[(WORKFLOW, OLD)]).secrets =
        vec!["AWS_ACCESS_KEY_ID".into(), "AWS_SECRET_ACCESS_KEY".into()];
    world.repo(&org, "docs", &[("README.md", "docs\n")]);
    let fake = FakeGitHub::start(world);
    let map = write_key_map(dir.path(), &format!("[repos]\n\"{slug}\" = \"{user}\"\n"));
    let url = fake.url.clone();
    let status = |expect: &str| -> serde_json::Value {
        let doc = status_json(&fake, &ledger);
        assert_eq!(repo_row(&doc, &slug)["state"], expect, "{doc:#}");
        doc
    };

    // scan: the finding, and the secrets inventory.
    let r = other(&fake, &["scan", "--org", &org, "--format", "json"]);
    assert_eq!(r.code, 10, "{}", r.stderr);
    let doc: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert!(
        doc["findings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["repository"] == slug.as_str()),
        "{doc:#}"
    );
    let r = run(
        &fake,
        &ledger,
        &["status", "--org", &org, "--key-map", &map],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let doc = status("findings");
    assert_eq!(repo_row(&doc, &slug)["roles"], serde_json::json!([]));

    // trust --apply: the role exists in IAM, tagged, and status finds it by that tag.
    let trust = [
        "trust",
        "--org",
        &org,
        "--account-id",
        "123456789012",
        "--role-name-template",
        "{owner}-{repo}-{stage}",
        "--github-url",
        &url,
    ];
    let r = other(&fake, &[&trust[..], &["--apply", "--yes"]].concat());
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    let r = other(&fake, &[&trust[..], &["--format", "role-map"]].concat());
    assert_eq!(r.code, 0, "{}", r.stderr);
    let role_map = dir.path().join("roles.toml");
    std::fs::write(&role_map, &r.stdout).unwrap();
    let doc = status("role_ready");
    let roles = repo_row(&doc, &slug)["roles"].as_array().unwrap().clone();
    assert_eq!(roles.len(), 1, "{doc:#}");
    let role_name = roles[0]
        .as_str()
        .unwrap()
        .rsplit('/')
        .next()
        .unwrap()
        .to_string();
    let tags = common::moto::iam(async |c: Client| {
        let tags = c
            .list_role_tags()
            .role_name(&role_name)
            .send()
            .await
            .unwrap();
        tags.tags()
            .iter()
            .map(|t| (t.key().to_string(), t.value().to_string()))
            .collect::<Vec<_>>()
    });
    assert!(
        tags.contains(&("github-repo".to_string(), slug.clone())),
        "{tags:?}"
    );
    assert_eq!(repo_row(&doc, &format!("{org}/docs"))["state"], "clean");

    // rewrite --pr: one pull request, journaled in the same ledger.
    let r = other(
        &fake,
        &[
            "rewrite",
            "--org",
            &org,
            "--role-map",
            role_map.to_str().unwrap(),
            "--pr",
            "--github-url",
            &url,
            "--min-write-interval-ms",
            "0",
            "--retry-base-ms",
            "5",
            "--campaign",
            ledger.to_str().unwrap(),
        ],
    );
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    let number = fake.with(|s| {
        let pulls = &s.world.repos[&slug].pulls;
        assert_eq!(pulls.len(), 1);
        assert_eq!(pulls[0].files, vec![WORKFLOW.to_string()]);
        assert!(s.world.repos[&format!("{org}/docs")].pulls.is_empty());
        pulls[0].number
    });
    status("pr_open");

    // Merged: not verified until a migrated workflow succeeds on the default branch after
    // the merge. A failed run and a run from before the merge do not count.
    fake.with(|s| s.world.merge(&slug, number));
    let doc = status("pr_merged");
    assert!(
        repo_row(&doc, &slug)["next_step"]
            .as_str()
            .unwrap()
            .contains("run a migrated workflow"),
        "{doc:#}"
    );
    fake.with(|s| {
        s.world.run(&slug, WORKFLOW, "failure", 0);
        s.world.run(&slug, WORKFLOW, "success", 600);
    });
    // The failed run (no jobs to read) is listed as an unknown failure with its URL.
    let doc = status("failing");
    assert!(
        repo_row(&doc, &slug)["next_step"]
            .as_str()
            .unwrap()
            .starts_with("unknown: "),
        "{doc:#}"
    );
    // --require-verified waits for the proof.
    let r = run(&fake, &ledger, &["cleanup", "--yes", "--require-verified"]);
    assert_eq!(r.code, 20, "{}\n{}", r.stdout, r.stderr);
    assert!(r.stdout.contains("not verified"), "{}", r.stdout);
    assert_eq!(key_status(&user, &key), "Active");
    fake.with(|s| s.world.run(&slug, WORKFLOW, "success", 0));
    let doc = status("verified");
    let row = repo_row(&doc, &slug);
    assert_eq!(row["verified"]["workflow"], WORKFLOW);
    assert_eq!(row["next_step"], "migrate cleanup");
    // Unchanged listings came back as 304s; a verified merge is not asked about again.
    assert!(
        doc["github_requests"]["not_modified"].as_u64().unwrap() > 0,
        "{doc:#}"
    );
    let runs_asked = || {
        fake.log()
            .iter()
            .filter(|l| l.operation == "actions/list-workflow-runs-for-repo")
            .count()
    };
    let before = runs_asked();
    status("verified");
    assert_eq!(runs_asked(), before);

    // cleanup: key deactivated, then secrets deleted.
    let r = run(&fake, &ledger, &["cleanup", "--yes", "--require-verified"]);
    assert!(!r.stdout.contains("not verified"), "{}", r.stdout);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    assert_eq!(key_status(&user, &key), "Inactive");
    fake.with(|s| assert!(s.world.repos[&slug].secrets.is_empty()));
    status("secrets_deleted");

    // undo: the key is back; the secrets can only be recreated by hand.
    let r = run(&fake, &ledger, &["undo", "--yes"]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    assert_eq!(key_status(&user, &key), "Active");
    assert!(
        r.stdout
            .contains(&format!("gh secret set AWS_ACCESS_KEY_ID --repo {slug}")),
        "{}",
        r.stdout
    );
    assert_eq!(fake.violations(), Vec::<String>::new());
}

/// Suggestions for a repository no key is mapped to: a user named after it, and a user whose
/// key was last used with a service the repository's workflows call (`aws s3 ls`).
#[test]
#[ignore = "needs moto's IAM server: run .ci/run, or set AWS_ENDPOINT_URL_IAM and pass --include-ignored"]
fn status_suggests_keys_by_name_and_by_service() {
    common::moto::require("the campaign");
    let dir = tempfile::tempdir().unwrap();
    let ledger = dir.path().join("campaign.db");
    // Unique names: the suggestions look at every IAM user in a shared moto.
    let name = common::moto::unique("billing");
    let slug = format!("acme/{name}");
    let by_name = format!("ci-{name}");
    user_with_key(&by_name);
    let by_service = common::moto::unique("ci-legacy");
    let (id, secret) = user_with_key(&by_service);
    common::moto::use_key_with_s3(&id, &secret);
    let mut world = World::default();
    world.repo("acme", &name, &[(WORKFLOW, OLD)]).secrets =
        vec!["AWS_ACCESS_KEY_ID".into(), "AWS_SECRET_ACCESS_KEY".into()];
    let fake = FakeGitHub::start(world);

    let r = run(&fake, &ledger, &["status", "--org", "acme"]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    assert!(
        r.stdout.contains(&format!(
            "{slug} -> IAM user {by_name} (user name contains `{name}`)"
        )),
        "{}",
        r.stdout
    );
    let masked = format!("AKIA…{}", &id[id.len() - 4..]);
    assert!(
        r.stdout.contains(&format!(
            "{slug} -> IAM user {by_service} (key {masked} was last used with s3"
        )),
        "{}",
        r.stdout
    );
    assert!(!r.stdout.contains(&id), "unmasked key id printed");
    // Suggestions are never acted on: nothing is mapped.
    let doc = status_json(&fake, &ledger);
    assert_eq!(repo_row(&doc, &slug)["keys"], serde_json::json!([]));
    // The scan says which services each job calls.
    let r = other(&fake, &["scan", "--org", "acme", "--format", "json"]);
    assert!(r.stdout.contains("\"aws_services\": [\n"), "{}", r.stdout);
}

/// Credentials that may not list roles: `status` still reports every repository, says what
/// it could not see and how to leave IAM out, and exits 11 (incomplete); `--no-aws` is
/// complete again.
#[test]
#[ignore = "needs moto's IAM server: run .ci/run, or set AWS_ENDPOINT_URL_IAM and pass --include-ignored"]
fn status_without_iam_permissions_says_so() {
    common::moto::require("the campaign");
    let dir = tempfile::tempdir().unwrap();
    let ledger = dir.path().join("campaign.db");
    let front = common::moto::IamFront::start();
    front.deny("ListRoles");
    let mut world = World::default();
    world.repo("acme", "api", &[(WORKFLOW, OLD)]);
    let fake = FakeGitHub::start(world);
    let mut cmd = command(&fake, &ledger, &["status", "--org", "acme"]);
    cmd.env("AWS_ENDPOINT_URL_IAM", &front.url);
    let r = finish(cmd);
    assert_eq!(r.code, 11, "{}\n{}", r.stdout, r.stderr);
    assert!(r.stdout.contains("acme/api"), "{}", r.stdout);
    assert!(
        r.stdout.contains("iam:ListRoles") && r.stdout.contains("--no-aws leaves IAM out"),
        "{}",
        r.stdout
    );
    let mut cmd = command(&fake, &ledger, &["status", "--no-aws"]);
    cmd.env("AWS_ENDPOINT_URL_IAM", &front.url);
    assert_eq!(finish(cmd).code, 0);
}

#[test]
#[ignore = "needs moto's IAM server: run .ci/run, or set AWS_ENDPOINT_URL_IAM and pass --include-ignored"]
fn cleanup_refuses_what_is_not_ready() {
    common::moto::require("the campaign");
    let dir = tempfile::tempdir().unwrap();
    let ledger = dir.path().join("campaign.db");
    let names = ["unmerged", "referenced", "shared", "other", "used", "ready"];
    let users: Vec<String> = names
        .iter()
        .map(|n| common::moto::unique(&format!("ci-refuse-{n}")))
        .collect();
    let keys: Vec<(String, String)> = users.iter().map(|u| user_with_key(u)).collect();

    let mut world = World::default();
    for name in names {
        let workflow = if matches!(name, "shared" | "other") {
            OLD_ORG
        } else {
            OLD
        };
        world.repo("acme", name, &[(WORKFLOW, workflow)]).secrets =
            vec!["AWS_ACCESS_KEY_ID".into(), "AWS_SECRET_ACCESS_KEY".into()];
    }
    for name in ["ORG_AWS_ACCESS_KEY_ID", "ORG_AWS_SECRET_ACCESS_KEY"] {
        world
            .org("acme")
            .secrets
            .push(common::fake_github::state::OrgSecret {
                name: name.into(),
                visibility: "all".into(),
                selected: vec![],
            });
    }
    let fake = FakeGitHub::start(world);
    let mut map = String::from("[repos]\n");
    for (name, user) in names.iter().zip(&users) {
        map.push_str(&format!("\"acme/{name}\" = \"{user}\"\n"));
    }
    let map = write_key_map(dir.path(), &map);
    // The first status records which repositories use the organization secrets.
    let r = run(
        &fake,
        &ledger,
        &["status", "--org", "acme", "--key-map", &map],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);

    fake.with(|s| {
        s.world
            .open_pull("acme/unmerged", BRANCH, &[(WORKFLOW, NEW)]);
        // The PR leaves a second workflow that still uses the keys.
        let n = s.world.open_pull(
            "acme/referenced",
            BRANCH,
            &[(WORKFLOW, NEW), (".github/workflows/nightly.yml", OLD)],
        );
        s.world.merge("acme/referenced", n);
        for name in ["shared", "used", "ready"] {
            let slug = format!("acme/{name}");
            let n = s.world.open_pull(&slug, BRANCH, &[(WORKFLOW, NEW)]);
            s.world.merge(&slug, n);
        }
    });
    // The fake merges at 2026-11-25T00:00:00Z; using the key now is after the merge.
    use_key(&keys[4].0, &keys[4].1);

    // No terminal and no --yes: nothing changes.
    let r = run(&fake, &ledger, &["cleanup"]);
    assert_eq!(r.code, 21, "{}\n{}", r.stdout, r.stderr);
    assert!(r.stderr.contains("pass --yes"), "{}", r.stderr);
    assert_eq!(key_status(&users[5], &keys[5].0), "Active");
    assert!(fake.writes().is_empty());
    // --dry-run shows the same plan and changes nothing either.
    let dry = run(&fake, &ledger, &["cleanup", "--dry-run"]);
    assert_eq!(dry.code, 20);
    assert!(fake.writes().is_empty());

    let r = run(&fake, &ledger, &["cleanup", "--yes"]);
    eprintln!("$ migrate cleanup --yes\n{}", r.stdout);
    assert_eq!(r.code, 20, "{}\n{}", r.stdout, r.stderr);
    let refusal = |repo: &str| {
        r.stdout
            .lines()
            .find(|l| l.trim_start().starts_with(&format!("acme/{repo}:")))
            .unwrap_or_else(|| panic!("no refusal for {repo}:\n{}", r.stdout))
            .to_string()
    };
    assert!(refusal("unmerged").contains("is not merged"));
    assert!(refusal("referenced").contains("still references AWS_ACCESS_KEY_ID"));
    assert!(
        refusal("shared").contains("ORG_AWS_ACCESS_KEY_ID (visibility all) is still used by other"),
        "{}",
        r.stdout
    );
    assert!(refusal("used").contains("was used after the PR merged"));
    assert!(refusal("used").contains("iam us-east-1"), "{}", r.stdout);
    assert!(refusal("other").contains("no pull request"));
    // Only `ready` was cleaned.
    for (i, user) in users.iter().enumerate() {
        let want = if i == 5 { "Inactive" } else { "Active" };
        assert_eq!(key_status(user, &keys[i].0), want, "{}", names[i]);
    }
    fake.with(|s| {
        assert!(s.world.repos["acme/ready"].secrets.is_empty());
        assert_eq!(s.world.repos["acme/used"].secrets.len(), 2);
        assert_eq!(s.world.orgs["acme"].secrets.len(), 2);
    });

    // --force-used-keys lets the used key go.
    let r = run(&fake, &ledger, &["cleanup", "--yes", "--force-used-keys"]);
    assert_eq!(r.code, 20, "{}", r.stderr);
    assert_eq!(key_status(&users[4], &keys[4].0), "Inactive");
    assert_eq!(fake.violations(), Vec::<String>::new());
}

/// An organization of `repos` repositories whose migration PR is merged, each with its own IAM
/// user and key, two repository secrets and an environment secret; `status` has run. Returns
/// the fake, the scratch directory holding the ledger, and (user, key id) per repository.
fn merged_org(tag: &str, repos: usize) -> (FakeGitHub, tempfile::TempDir, Vec<(String, String)>) {
    let dir = tempfile::tempdir().unwrap();
    let mut world = World::default();
    let mut map = String::from("[repos]\n");
    let mut users = Vec::new();
    for i in 0..repos {
        let name = format!("svc{i}");
        let user = common::moto::unique(&format!("ci-{tag}-{name}"));
        let (key, _) = user_with_key(&user);
        map.push_str(&format!("\"acme/{name}\" = \"{user}\"\n"));
        users.push((user, key));
        let repo = world.repo("acme", &name, &[(WORKFLOW, OLD)]);
        repo.secrets = vec!["AWS_ACCESS_KEY_ID".into(), "AWS_SECRET_ACCESS_KEY".into()];
        repo.environments
            .insert("prod".into(), vec!["AWS_SECRET_ACCESS_KEY".into()]);
        let n = world.open_pull(&format!("acme/{name}"), BRANCH, &[(WORKFLOW, NEW)]);
        world.merge(&format!("acme/{name}"), n);
    }
    let fake = FakeGitHub::start(world);
    let map = write_key_map(dir.path(), &map);
    let ledger = dir.path().join("campaign.db");
    let r = run(
        &fake,
        &ledger,
        &["status", "--org", "acme", "--key-map", &map],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    (fake, dir, users)
}

const KILL_CLEANUP: [&str; 6] = [
    "cleanup",
    "--yes",
    "--retry-base-ms",
    "10",
    "--write-interval-ms",
    "5",
];

/// What a `cleanup` child printed, line by line, as it printed it.
enum Printed {
    /// The plan: the read phase is over, writes come next.
    Plan,
    /// `done: ...`: one more write completed.
    Done,
}

/// Spawns `cleanup` with its stdout read on a thread and reported as it comes.
fn spawn_cleanup(
    fake: &FakeGitHub,
    ledger: &Path,
) -> (std::process::Child, std::sync::mpsc::Receiver<Printed>) {
    use std::io::BufRead;
    let mut child = command(fake, ledger, &KILL_CLEANUP)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            let printed = if line.starts_with("plan for") {
                Printed::Plan
            } else if line.starts_with("done: ") {
                Printed::Done
            } else {
                continue;
            };
            if tx.send(printed).is_err() {
                break;
            }
        }
    });
    (child, rx)
}

/// SIGKILL at random points of `cleanup` over a 50-repository org, at least 20 times, then a
/// resumed run: the final remote state is the expected one, each secret was deleted once and
/// never before its repository's key was deactivated, each key was deactivated once, and every
/// write has a journal entry begun before it.
///
/// Kill points cover the whole run. One kill in four lands at a random time of the read phase
/// (scan, IAM reads, settling what the previous kill left pending), timed by a `--dry-run` of
/// the same org. The others land in the write phase at random positions spread over the whole
/// write sequence (deactivations, then secret deletions): the child's `done:` lines are
/// counted up to the target position, then a random few milliseconds more put the kill inside
/// the next write.
#[test]
#[ignore = "needs moto's IAM server: run .ci/run, or set AWS_ENDPOINT_URL_IAM and pass --include-ignored"]
fn cleanup_survives_sigkill_at_random_points() {
    common::moto::require("the campaign");
    let repos = 50;
    let kills_wanted = 20;
    // One deactivation and three secret deletions per repository.
    let writes = repos * 4;
    let (fake, dir, users) = merged_org("kill", repos);
    let ledger = dir.path().join("campaign.db");
    let started = std::time::Instant::now();
    let dry = run(&fake, &ledger, &["cleanup", "--dry-run"]);
    assert_eq!(dry.code, 0, "{}\n{}", dry.stdout, dry.stderr);
    let read_phase = started.elapsed();

    let mut rng: u64 = 0x5eed_1234_abcd_0001;
    let mut random = move |below: usize| {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        (rng % below.max(1) as u64) as usize
    };
    let write_kills = kills_wanted - kills_wanted / 4;
    let (mut kills, mut write_index, mut attempts, mut interrupted_writes) = (0, 0, 0, 0);
    let mut phases = BTreeSet::new();
    let started = std::time::Instant::now();
    while kills < kills_wanted && attempts < 2 * kills_wanted {
        attempts += 1;
        let entries = journal(&ledger);
        let done = entries.iter().filter(|e| e.took_effect()).count();
        let (mut child, printed) = spawn_cleanup(&fake, &ledger);
        let finished = if attempts % 4 == 0 {
            // Some time into the read phase, or at the plan if it comes first.
            let delay = Duration::from_millis(random(read_phase.as_millis() as usize) as u64);
            matches!(
                printed.recv_timeout(delay),
                Err(std::sync::mpsc::RecvTimeoutError::Disconnected)
            )
        } else {
            // Write position `write_index` of `write_kills`, spread over the whole write
            // sequence, then a few milliseconds into the next write.
            let target = (write_index * writes + random(writes)) / write_kills;
            write_index = (write_index + 1).min(write_kills - 1);
            let mut wait_for = target.saturating_sub(done);
            let mut planned = false;
            let mut finished = true;
            while let Ok(line) = printed.recv() {
                match line {
                    Printed::Plan => planned = true,
                    Printed::Done => wait_for = wait_for.saturating_sub(1),
                }
                if planned && wait_for == 0 {
                    finished = false;
                    break;
                }
            }
            std::thread::sleep(Duration::from_millis(random(8) as u64));
            finished
        };
        if finished || child.try_wait().unwrap().is_some() {
            child.wait().unwrap();
            continue; // the run ended first: not a kill
        }
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        kills += 1;
        let after = journal(&ledger);
        if after.len() > entries.len() {
            interrupted_writes += 1;
            phases.insert(after.last().unwrap().action.as_str().to_string());
        }
    }
    let written_by_killed_runs = journal(&ledger).len();
    let resumed = std::time::Instant::now();
    let r = run(&fake, &ledger, &["cleanup", "--yes"]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    eprintln!(
        "read phase {read_phase:?}; {kills} kills in {attempts} runs ({:?}), {interrupted_writes} during writes ({phases:?}), {written_by_killed_runs} journal entries from killed runs; resumed run {:?}",
        resumed - started,
        resumed.elapsed()
    );
    assert!(
        kills >= kills_wanted,
        "only {kills} runs were still working when killed"
    );
    // The kills must land in the write phase, or this test proves nothing.
    assert!(
        interrupted_writes * 2 >= kills,
        "only {interrupted_writes} of {kills} kills interrupted writes"
    );
    assert!(
        phases.contains("deactivate_key") && phases.contains("delete_secret"),
        "kills interrupted only {phases:?}"
    );

    // The final state.
    for (user, key) in &users {
        assert_eq!(key_status(user, key), "Inactive");
    }
    fake.with(|s| {
        for repo in s.world.repos.values() {
            assert!(repo.secrets.is_empty(), "{}", repo.slug());
            assert!(repo.environments["prod"].is_empty());
        }
    });
    assert_eq!(fake.violations(), Vec::<String>::new());

    let entries = journal(&ledger);
    assert!(entries.iter().all(|e| !e.is_pending()), "{entries:#?}");
    // Every remote write has a journal entry, begun before it.
    let deletes: Vec<_> = fake
        .writes()
        .into_iter()
        .filter(|w| w.method == "DELETE" && w.status == 204)
        .collect();
    assert_eq!(deletes.len(), repos * 3, "each secret deleted once");
    for w in &deletes {
        let name = w.path.rsplit('/').next().unwrap();
        let segments: Vec<&str> = w.path.split('/').collect();
        let at = segments.iter().position(|s| *s == "repos").unwrap();
        let repo = segments[at + 2];
        assert!(
            entries.iter().any(|e| e.action.as_str() == "delete_secret"
                && e.repo == format!("acme/{repo}")
                && e.target.ends_with(name)
                && e.took_effect()),
            "no journal entry for {}",
            w.path
        );
    }
    // No secret deletion began before its repository's key was deactivated.
    for e in entries
        .iter()
        .filter(|e| e.action.as_str() == "delete_secret")
    {
        let (_, key) = &users[e
            .repo
            .trim_start_matches("acme/svc")
            .parse::<usize>()
            .unwrap()];
        let deactivated = entries
            .iter()
            .find(|d| d.action.as_str() == "deactivate_key" && &d.target == key && d.took_effect())
            .unwrap_or_else(|| panic!("{} never deactivated", e.repo));
        assert!(deactivated.id < e.id, "{e:?} before {deactivated:?}");
    }
    // Each key deactivated exactly once.
    for (_, key) in &users {
        let deactivations = entries
            .iter()
            .filter(|e| {
                e.action.as_str() == "deactivate_key" && &e.target == key && e.took_effect()
            })
            .count();
        assert_eq!(deactivations, 1, "{key}");
    }
}

#[test]
#[ignore = "needs moto's IAM server: run .ci/run, or set AWS_ENDPOINT_URL_IAM and pass --include-ignored"]
fn keys_are_deleted_only_after_deactivation_and_soak() {
    common::moto::require("the campaign");
    let dir = tempfile::tempdir().unwrap();
    let ledger = dir.path().join("campaign.db");
    let user = common::moto::unique("ci-soak-api");
    let (key, _) = user_with_key(&user);
    let mut world = World::default();
    world.repo("acme", "api", &[(WORKFLOW, OLD)]).secrets =
        vec!["AWS_ACCESS_KEY_ID".into(), "AWS_SECRET_ACCESS_KEY".into()];
    let n = world.open_pull("acme/api", BRANCH, &[(WORKFLOW, NEW)]);
    world.merge("acme/api", n);
    let fake = FakeGitHub::start(world);
    let map = write_key_map(
        dir.path(),
        &format!("[secrets]\nAWS_ACCESS_KEY_ID = \"{key}\"\n"),
    );
    let first = [
        "cleanup",
        "--repo",
        "acme/api",
        "--key-map",
        &map,
        "--yes",
        "--delete-keys",
        "--soak",
        "1h",
    ];
    // Deactivated now; a key is never deleted in the run that deactivates it.
    let r = run(&fake, &ledger, &first);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    assert!(
        r.stdout.contains("delete it after the soak"),
        "{}",
        r.stdout
    );
    assert_eq!(key_status(&user, &key), "Inactive");
    // An hour has not passed.
    let r = run(&fake, &ledger, &first);
    assert!(r.stdout.contains("soak not over"), "{}", r.stdout);
    assert_eq!(key_status(&user, &key), "Inactive");
    // A zero soak: deleted, and the journal says so.
    let r = run(
        &fake,
        &ledger,
        &["cleanup", "--yes", "--delete-keys", "--soak", "0s"],
    );
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    assert!(r.stdout.contains("(irreversible)"), "{}", r.stdout);
    assert_eq!(key_status(&user, &key), "Missing");
    let entries = journal(&ledger);
    assert_eq!(
        entries
            .iter()
            .map(|e| e.action.as_str())
            .collect::<Vec<_>>(),
        vec![
            "deactivate_key",
            "delete_secret",
            "delete_secret",
            "delete_key"
        ]
    );
    let doc = status_json(&fake, &ledger);
    assert_eq!(repo_row(&doc, "acme/api")["state"], "keys_deleted");
    // Undo cannot bring a deleted key back, and says so.
    let r = run(&fake, &ledger, &["undo", "--yes"]);
    assert_eq!(r.code, 0);
    assert!(r.stdout.contains("no longer exists"), "{}", r.stdout);
}

/// An IAM user for the `--delete-users` test: a key, and what the test asks for.
#[derive(Default)]
struct CiUser {
    managed_policy: bool,
    inline_policy: bool,
    group: bool,
    tags: bool,
    second_key: bool,
    login_profile: bool,
}

const POLICY: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:PutObject","Resource":"arn:aws:s3:::deploy-bucket/*"}]}"#;

/// Creates the user with one access key and the extras asked for: (key id, policy ARN, group).
fn ci_user(user: &str, extras: CiUser) -> (String, Option<String>, Option<String>) {
    let (key, _) = user_with_key(user);
    common::moto::iam(async |c: Client| {
        let mut arn = None;
        let mut group = None;
        if extras.managed_policy {
            let created = c
                .create_policy()
                .policy_name(format!("{user}-deploy"))
                .policy_document(POLICY)
                .send()
                .await
                .unwrap();
            let policy_arn = created.policy().unwrap().arn().unwrap().to_string();
            c.attach_user_policy()
                .user_name(user)
                .policy_arn(&policy_arn)
                .send()
                .await
                .unwrap();
            arn = Some(policy_arn);
        }
        if extras.inline_policy {
            c.put_user_policy()
                .user_name(user)
                .policy_name("s3-write")
                .policy_document(POLICY)
                .send()
                .await
                .unwrap();
        }
        if extras.group {
            let name = format!("{user}-group");
            c.create_group().group_name(&name).send().await.unwrap();
            c.add_user_to_group()
                .user_name(user)
                .group_name(&name)
                .send()
                .await
                .unwrap();
            group = Some(name);
        }
        if extras.tags {
            let tag = aws_sdk_iam::types::Tag::builder()
                .key("team")
                .value("pay ments")
                .build()
                .unwrap();
            c.tag_user().user_name(user).tags(tag).send().await.unwrap();
        }
        if extras.second_key {
            c.create_access_key().user_name(user).send().await.unwrap();
        }
        if extras.login_profile {
            c.create_login_profile()
                .user_name(user)
                .password("Not-a-secret-1!")
                .send()
                .await
                .unwrap();
        }
        (key, arn, group)
    })
}

fn user_exists(user: &str) -> bool {
    common::moto::iam(async |c: Client| c.get_user().user_name(user).send().await.is_ok())
}

fn group_members(group: &str) -> Vec<String> {
    common::moto::iam(async |c: Client| {
        let got = c.get_group().group_name(group).send().await.unwrap();
        got.users()
            .iter()
            .map(|u| u.user_name().to_string())
            .collect()
    })
}

fn policy_attachments(arn: &str) -> i32 {
    common::moto::iam(async |c: Client| {
        let got = c.get_policy().policy_arn(arn).send().await.unwrap();
        got.policy().unwrap().attachment_count().unwrap_or(0)
    })
}

/// `--delete-users`: a user with a managed policy, an inline policy, a group and tags goes
/// with its key, in the run that deletes the key; users with a second, unmapped key, a login
/// profile or a service-specific credential are kept with the reason; a deletion a killed run
/// left pending (key deleted, policy detached, user still there) is settled and finished with
/// nothing lost; `undo` prints the `aws iam` commands to recreate each deleted user.
#[test]
#[ignore = "needs moto's IAM server: run .ci/run, or set AWS_ENDPOINT_URL_IAM and pass --include-ignored"]
fn delete_users_after_their_keys_and_undo_prints_how_to_recreate_them() {
    common::moto::require("the campaign");
    let front = common::moto::IamFront::start();
    let iam = Some(front.url.as_str());
    let dir = tempfile::tempdir().unwrap();
    let ledger = dir.path().join("campaign.db");
    let names = ["api", "web", "etl", "ops", "batch"];
    let users: Vec<String> = names
        .iter()
        .map(|n| common::moto::unique(&format!("ci-users-{n}")))
        .collect();
    let all = || CiUser {
        managed_policy: true,
        inline_policy: true,
        group: true,
        tags: true,
        ..CiUser::default()
    };
    let (api_key, api_policy, api_group) = ci_user(&users[0], all());
    let (web_key, _, _) = ci_user(
        &users[1],
        CiUser {
            second_key: true,
            ..all()
        },
    );
    let (etl_key, _, _) = ci_user(
        &users[2],
        CiUser {
            login_profile: true,
            ..all()
        },
    );
    let (ops_key, _, _) = ci_user(&users[3], all());
    front.set_service_credentials(&users[3], 1);
    let (batch_key, batch_policy, batch_group) = ci_user(&users[4], all());

    let mut world = World::default();
    for name in names {
        let slug = format!("acme/{name}");
        world.repo("acme", name, &[(WORKFLOW, OLD)]).secrets =
            vec!["AWS_ACCESS_KEY_ID".into(), "AWS_SECRET_ACCESS_KEY".into()];
        let n = world.open_pull(&slug, BRANCH, &[(WORKFLOW, NEW)]);
        world.merge(&slug, n);
    }
    let fake = FakeGitHub::start(world);
    // By user name (all of its keys), except web: only its first key is the campaign's.
    let map = write_key_map(
        dir.path(),
        &format!(
            "[repos]\n\"acme/api\" = \"{}\"\n\"acme/web\" = \"{web_key}\"\n\"acme/etl\" = \"{}\"\n\"acme/ops\" = \"{}\"\n\"acme/batch\" = \"{}\"\n",
            users[0], users[2], users[3], users[4]
        ),
    );
    let r = run_with_iam(
        &fake,
        &ledger,
        iam,
        &["status", "--org", "acme", "--key-map", &map],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    // --delete-users only goes with --delete-keys.
    let r = run_with_iam(&fake, &ledger, iam, &["cleanup", "--yes", "--delete-users"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("--delete-keys"), "{}", r.stderr);
    // Deactivate and delete the secrets.
    let r = run_with_iam(&fake, &ledger, iam, &["cleanup", "--yes"]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    for (user, key) in users
        .iter()
        .zip([&api_key, &web_key, &etl_key, &ops_key, &batch_key])
    {
        assert_eq!(key_status(user, key), "Inactive");
    }

    // A run killed while deleting batch: its key deleted, its managed policy detached, the
    // user still there, the delete_user entry pending.
    let batch_arn = batch_policy.unwrap();
    common::moto::iam(async |c: Client| {
        c.delete_access_key()
            .user_name(&users[4])
            .access_key_id(&batch_key)
            .send()
            .await
            .unwrap();
        c.detach_user_policy()
            .user_name(&users[4])
            .policy_arn(&batch_arn)
            .send()
            .await
            .unwrap();
    });
    {
        let l = Ledger::open(&ledger).unwrap();
        let detail = serde_json::json!({ "user": users[4], "repos": ["acme/batch"] });
        let id = l
            .journal_begin(
                "acme/batch",
                &migrate::campaign::JournalAction::DeleteKey,
                &batch_key,
                &detail,
            )
            .unwrap();
        l.journal_end(id, &migrate::campaign::JournalResult::Done)
            .unwrap();
        let record = serde_json::json!({
            "user": users[4],
            "path": "/",
            "managed_policies": [batch_arn],
            "inline_policies": [{"name": "s3-write", "document": POLICY}],
            "groups": [batch_group.clone().unwrap()],
            "tags": [{"key": "team", "value": "pay ments"}],
            "repos": ["acme/batch"],
        });
        l.journal_begin(
            "acme/batch",
            &migrate::campaign::JournalAction::DeleteUser,
            &users[4],
            &record,
        )
        .unwrap();
    }

    let delete = [
        "cleanup",
        "--yes",
        "--delete-keys",
        "--soak",
        "0s",
        "--delete-users",
    ];
    // The plan first: users to delete, irreversible, with what gets detached; users kept,
    // with why. Nothing changes.
    let mut dry = delete.to_vec();
    dry[1] = "--dry-run";
    let r = run_with_iam(&fake, &ledger, iam, &dry);
    eprintln!(
        "$ migrate cleanup --dry-run --delete-keys --soak 0s --delete-users\n{}{}",
        r.stdout, r.stderr
    );
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    assert!(
        r.stderr.contains(&format!(
            "delete_user {} was interrupted; remote state shows it did not happen",
            users[4]
        )),
        "{}",
        r.stderr
    );
    let api_arn = api_policy.unwrap();
    let api_group = api_group.unwrap();
    for want in [
        format!(
            "delete IAM user {} [acme/api] (irreversible), after:",
            users[0]
        ),
        format!("detach managed policy {api_arn}"),
        "delete inline policy s3-write".to_string(),
        format!("remove from group {api_group}"),
        "tags team=pay ments".to_string(),
        format!("delete IAM user {} [acme/batch] (irreversible)", users[4]),
        // Detached by the killed run, still shown: the journal keeps it.
        format!("detach managed policy {batch_arn}"),
        format!("user {} keeps: 1 access key not in the campaign", users[1]),
        format!("user {} keeps: login profile", users[2]),
        format!("user {} keeps: 1 service-specific credential", users[3]),
    ] {
        assert!(r.stdout.contains(&want), "no `{want}` in:\n{}", r.stdout);
    }
    assert!(
        !r.stdout.contains(&format!("delete IAM user {} ", users[1])),
        "{}",
        r.stdout
    );
    for key in [&api_key, &web_key, &etl_key, &ops_key] {
        assert!(!r.stdout.contains(key.as_str()), "key id printed unmasked");
    }
    assert!(user_exists(&users[0]));
    assert_eq!(key_status(&users[0], &api_key), "Inactive");

    let r = run_with_iam(&fake, &ledger, iam, &delete);
    eprintln!(
        "$ migrate cleanup --yes --delete-keys --soak 0s --delete-users\n{}",
        r.stdout
    );
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    assert!(r.stdout.contains("2 user(s) deleted"), "{}", r.stdout);
    // api and batch are gone, with nothing left attached; the others keep everything.
    assert!(!user_exists(&users[0]) && !user_exists(&users[4]));
    assert_eq!(policy_attachments(&api_arn), 0);
    assert_eq!(policy_attachments(&batch_arn), 0);
    assert!(group_members(&api_group).is_empty());
    assert!(group_members(batch_group.as_deref().unwrap()).is_empty());
    for user in &users[1..4] {
        assert!(user_exists(user), "{user}");
        assert_eq!(group_members(&format!("{user}-group")), vec![user.clone()]);
    }
    for (user, key) in [
        (&users[1], &web_key),
        (&users[2], &etl_key),
        (&users[3], &ops_key),
    ] {
        assert_eq!(key_status(user, key), "Missing", "{user}");
    }
    // web's second key was never the campaign's: untouched.
    let web_keys = common::moto::iam(async |c: Client| {
        let keys = c
            .list_access_keys()
            .user_name(&users[1])
            .send()
            .await
            .unwrap();
        keys.access_key_metadata()
            .iter()
            .map(|k| k.status().unwrap().as_str().to_string())
            .collect::<Vec<_>>()
    });
    assert_eq!(web_keys, vec!["Active".to_string()]);

    // The journal keeps everything the deleted users had, even what the killed run detached.
    let entries = journal(&ledger);
    assert!(entries.iter().all(|e| !e.is_pending()), "{entries:#?}");
    let deleted = |user: &str| {
        entries
            .iter()
            .rfind(|e| e.action.as_str() == "delete_user" && e.target == user && e.took_effect())
            .unwrap_or_else(|| panic!("no delete_user for {user}: {entries:#?}"))
            .detail
            .clone()
    };
    let api = deleted(&users[0]);
    assert_eq!(api["managed_policies"], serde_json::json!([api_arn]));
    assert_eq!(api["inline_policies"][0]["name"], "s3-write");
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(
            api["inline_policies"][0]["document"].as_str().unwrap()
        )
        .unwrap(),
        serde_json::from_str::<serde_json::Value>(POLICY).unwrap()
    );
    assert_eq!(api["groups"], serde_json::json!([api_group]));
    assert_eq!(
        api["tags"],
        serde_json::json!([{"key": "team", "value": "pay ments"}])
    );
    let batch = deleted(&users[4]);
    assert_eq!(batch["managed_policies"], serde_json::json!([batch_arn]));
    // Key deletions come before their user's deletion.
    let position = |action: &str, target: &str| {
        entries
            .iter()
            .position(|e| e.action.as_str() == action && e.target == target && e.took_effect())
            .unwrap()
    };
    assert!(position("delete_key", &api_key) < position("delete_user", &users[0]));

    // A second run has nothing left to delete and still explains the kept users.
    let r = run_with_iam(&fake, &ledger, iam, &delete);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    assert!(r.stdout.contains("nothing to do"), "{}", r.stdout);
    assert!(
        r.stdout
            .contains(&format!("user {} keeps: login profile", users[2]))
    );
    // status reads a user-name mapping whose user is gone.
    let doc = {
        let r = run_with_iam(&fake, &ledger, iam, &["status", "--format", "json"]);
        assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
        serde_json::from_str::<serde_json::Value>(&r.stdout).unwrap()
    };
    assert_eq!(repo_row(&doc, "acme/api")["state"], "keys_deleted");

    // undo: the aws commands to recreate each deleted user, next to the gh commands.
    let r = run_with_iam(&fake, &ledger, iam, &["undo", "--yes"]);
    eprintln!("$ migrate undo --yes\n{}", r.stdout);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    let api_user = &users[0];
    for want in [
        format!("aws iam create-user --user-name {api_user}\n"),
        format!(
            r#"aws iam tag-user --user-name {api_user} --tags '[{{"Key":"team","Value":"pay ments"}}]'"#
        ),
        format!("aws iam attach-user-policy --user-name {api_user} --policy-arn {api_arn}"),
        format!(
            "aws iam put-user-policy --user-name {api_user} --policy-name s3-write --policy-document '{POLICY}'"
        ),
        format!("aws iam add-user-to-group --user-name {api_user} --group-name {api_group}"),
        format!("aws iam create-access-key --user-name {api_user}"),
        format!(
            "aws iam attach-user-policy --user-name {} --policy-arn {batch_arn}",
            users[4]
        ),
        "gh secret set AWS_ACCESS_KEY_ID --repo acme/api".to_string(),
    ] {
        assert!(r.stdout.contains(&want), "no `{want}` in:\n{}", r.stdout);
    }
    assert!(
        !r.stdout.contains(&format!("user {} [", users[1])),
        "{}",
        r.stdout
    );
    assert_eq!(fake.violations(), Vec::<String>::new());
}

/// `status --suggest-key-map`: each used key's CloudTrail events (served by the IAM front, in
/// two regions, more than one page for one key) placed in the repositories' runs of the
/// workflows that use the old secrets, from GitHub's Actions ranges; the proposal is a key
/// map `status --key-map` then adopts, and nothing printed shows a full key id.
#[test]
#[ignore = "needs moto's IAM server: run .ci/run, or set AWS_ENDPOINT_URL_IAM and pass --include-ignored"]
fn key_map_suggested_from_cloudtrail_evidence() {
    use common::moto::TrailEvent;
    common::moto::require("key attribution");
    let front = common::moto::IamFront::start();
    front.set_regions(&["eu-west-1", "us-east-1"]);
    let dir = tempfile::tempdir().unwrap();
    let ledger = dir.path().join("campaign.db");
    let org = common::moto::unique("evidence");
    let [api_user, web_user, idle_user] =
        ["api", "web", "idle"].map(|n| common::moto::unique(&format!("ci-evidence-{n}")));
    let (api_key, api_secret) = user_with_key(&api_user);
    let (web_key, web_secret) = user_with_key(&web_user);
    let (idle_key, idle_secret) = user_with_key(&idle_user);
    for (id, secret) in [
        (&api_key, &api_secret),
        (&web_key, &web_secret),
        (&idle_key, &idle_secret),
    ] {
        use_key(id, secret);
    }

    const LINT: &str = ".github/workflows/lint.yml";
    let mut world = World::default();
    world.actions_ranges = vec!["4.148.0.0/16".into(), "2a01:111:f403::/48".into()];
    for name in ["api", "web"] {
        world
            .repo(&org, name, &[(WORKFLOW, OLD), (LINT, "on: push\njobs:\n  lint:\n    runs-on: ubuntu-latest\n    steps:\n      - run: make lint\n")])
            .secrets = vec!["AWS_ACCESS_KEY_ID".into(), "AWS_SECRET_ACCESS_KEY".into()];
    }
    let api = format!("{org}/api");
    let web = format!("{org}/web");
    let day = 86_400;
    for age in [3 * day, 2 * day, day] {
        world.run(&api, WORKFLOW, "success", age);
    }
    for age in [5 * day, 4 * day] {
        world.run(&web, WORKFLOW, "success", age);
    }
    // A lint run (no AWS secrets) at the time of a stray runner call.
    world.run(&web, LINT, "success", 6 * day);
    let now = migrate::campaign::time::now();
    let event = |region: &'static str, at: i64, ip: &str| TrailEvent {
        region,
        time: at,
        source: "s3.amazonaws.com",
        name: "ListBuckets",
        source_ip: ip.to_string(),
    };
    // 60 calls inside api's three runs, split over two regions (us-east-1 needs two pages),
    // and one from a laptop.
    let mut api_events: Vec<TrailEvent> = (0..60)
        .map(|i| {
            let run_start = now - [3 * day, 2 * day, day][i % 3];
            let region = if i < 55 { "us-east-1" } else { "eu-west-1" };
            event(region, run_start + 10 + (i as i64 % 40), "4.148.12.7")
        })
        .collect();
    api_events.push(event("us-east-1", now - 10 * day, "203.0.113.7"));
    front.set_key_events(&api_key, api_events);
    // web's key: its two runs (IPv6 runners), and a call inside the lint run.
    front.set_key_events(
        &web_key,
        vec![
            event("eu-west-1", now - 5 * day + 20, "2a01:111:f403:c10c::5"),
            event("eu-west-1", now - 4 * day + 20, "2a01:111:f403:c10c::6"),
            event("eu-west-1", now - 6 * day + 20, "2a01:111:f403:c10c::7"),
        ],
    );

    let proposal = dir.path().join("proposed.toml");
    let fake = FakeGitHub::start(world);
    let mut cmd = command(
        &fake,
        &ledger,
        &[
            "status",
            "--org",
            &org,
            "--suggest-key-map",
            proposal.to_str().unwrap(),
        ],
    );
    for service in ["IAM", "CLOUDTRAIL", "ACCOUNT"] {
        cmd.env(format!("AWS_ENDPOINT_URL_{service}"), &front.url);
    }
    let r = finish(cmd);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    for key in [&api_key, &web_key, &idle_key] {
        assert!(
            !r.stdout.contains(key.as_str()) && !r.stderr.contains(key.as_str()),
            "{}",
            r.stderr
        );
    }
    assert!(
        r.stderr.contains(&format!(
            "(user {api_user}): {api} (high confidence, 3 runs, 60 of 60 runner calls)"
        )),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr.contains("wrote the proposed key map"),
        "{}",
        r.stderr
    );

    let text = std::fs::read_to_string(&proposal).unwrap();
    let map = migrate::campaign::keymap::KeyMap::parse(&text).unwrap();
    use migrate::campaign::keymap::KeyRef;
    assert_eq!(
        map.repos.get(&api),
        Some(&vec![KeyRef::AccessKey(api_key.clone())]),
        "{text}"
    );
    assert_eq!(
        map.repos.get(&web),
        Some(&vec![KeyRef::AccessKey(web_key.clone())]),
        "{text}"
    );
    assert!(!text.contains(&idle_key), "{text}");
    assert!(
        text.contains("60 of 60 calls from GitHub Actions runners fell inside 3 run(s)"),
        "{text}"
    );
    assert!(text.contains("confidence high"), "{text}");
    assert!(
        text.contains("1 other call(s) came from outside GitHub's Actions ranges"),
        "{text}"
    );
    // The lint run uses no old secret: the call inside it is explained by no campaign run.
    assert!(
        text.contains("2 of 3 calls from GitHub Actions runners fell inside 2 run(s)"),
        "{text}"
    );
    assert!(
        text.contains("1 runner call(s) fell inside no run of the campaign's repositories"),
        "{text}"
    );
    assert!(text.contains("eu-west-1, us-east-1"), "{text}");

    // Two requests a second at most per region: the client spaces them 500 ms apart when it
    // sends them; arrival here can be late for one and not the next on a loaded machine, so
    // the span of each region's requests is what is checked (one late arrival's worth of
    // slack), which pacing-less requests (all within milliseconds) would fail by far.
    let lookups = front.lookups();
    for region in ["eu-west-1", "us-east-1"] {
        let times: Vec<std::time::Instant> = lookups
            .iter()
            .filter(|(r, _)| r == region)
            .map(|(_, t)| *t)
            .collect();
        assert!(times.len() >= 3, "{lookups:?}");
        let span = *times.last().unwrap() - times[0];
        let paced = Duration::from_millis(500) * (times.len() as u32 - 1);
        assert!(
            span + Duration::from_millis(400) >= paced,
            "{region}: {} requests in {span:?}",
            times.len()
        );
    }

    // Adopted as the key map, the keys show up in status.
    let mut cmd = command(
        &fake,
        &ledger,
        &[
            "status",
            "--key-map",
            proposal.to_str().unwrap(),
            "--format",
            "json",
        ],
    );
    cmd.env("AWS_ENDPOINT_URL_IAM", &front.url);
    let r = finish(cmd);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    let doc: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    let keys = repo_row(&doc, &api)["keys"].to_string();
    assert!(keys.contains(&api_key[api_key.len() - 4..]), "{keys}");
}
