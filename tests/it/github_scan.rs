//! `migrate scan --org/--repo` end to end: the real binary against the fake GitHub.

use crate::common;

use std::collections::BTreeSet;

use common::fake_github::{FakeGitHub, Faults, TOKEN, World};
use common::{json, migrate, root};

fn corpus(name: &str) -> String {
    std::fs::read_to_string(root().join("testdata/corpus").join(name)).expect("corpus file")
}

/// acme: `api` (keys in a configure step, AWS secrets incl. an orphan), `web` (env keys, an
/// environment secret), `docs` (no workflows), `old` (archived), `legacy` (invalid YAML next
/// to a good workflow), `forked` (a fork).
fn acme() -> World {
    let mut w = World::default();
    let api = w.repo("acme", "api", &[
        (".github/workflows/deploy.yml", &corpus("058-DEVROOM-OFFICIAL-DEVROOM-backend-lambda-deploy.yml")),
        (".github/workflows/ci.yml", "on: push\njobs:\n  test:\n    runs-on: ubuntu-latest\n    steps:\n      - run: make test\n"),
        ("src/main.rs", "fn main() {}\n"),
    ]);
    api.secrets = vec![
        "AWS_ACCESS_KEY_ID".into(),
        "AWS_SECRET_ACCESS_KEY".into(),
        "OLD_AWS_SECRET_ACCESS_KEY".into(),
        "NPM_TOKEN".into(),
    ];
    api.oidc = serde_json::json!({"use_default": false, "include_claim_keys": ["repo", "context"], "sub_claim_prefix": "repo:acme@1001/api@1002"});
    let web = w.repo(
        "acme",
        "web",
        &[(
            ".github/workflows/terraform.yml",
            &corpus("035-18pp2002-iac-vprofile-terraform.yml"),
        )],
    );
    web.environments
        .insert("production".into(), vec!["AWS_SECRET_ACCESS_KEY".into()]);
    w.repo("acme", "docs", &[("README.md", "docs\n")]);
    w.repo(
        "acme",
        "old",
        &[(
            ".github/workflows/deploy.yml",
            &corpus("058-DEVROOM-OFFICIAL-DEVROOM-backend-lambda-deploy.yml"),
        )],
    )
    .archived = true;
    w.repo(
        "acme",
        "legacy",
        &[
            (".github/workflows/broken.yml", "on: push\njobs:\n  a: [\n"),
            (
                ".github/workflows/deploy.yml",
                &corpus("021-Pathway-Analytics-mta-s3-sync.yml"),
            ),
            (
                ".github/actions/push/action.yml",
                &corpus("013-mbta-actions-build-push-ecr-action.yml"),
            ),
        ],
    );
    w.repo(
        "acme",
        "forked",
        &[(
            ".github/workflows/deploy.yml",
            &corpus("058-DEVROOM-OFFICIAL-DEVROOM-backend-lambda-deploy.yml"),
        )],
    )
    .fork = true;
    let org = w.org("acme");
    org.secrets.push(common::fake_github::state::OrgSecret {
        name: "ORG_AWS_ACCESS_KEY_ID".into(),
        visibility: "all".into(),
        selected: vec![],
    });
    org.secrets.push(common::fake_github::state::OrgSecret {
        name: "AWS_SECRET_ACCESS_KEY".into(),
        visibility: "selected".into(),
        selected: vec!["web".into()],
    });
    w
}

fn scan(fake: &FakeGitHub, args: &[&str]) -> (serde_json::Value, Option<i32>) {
    let output = migrate()
        .arg("scan")
        .args(args)
        .args([
            "--format",
            "json",
            "--github-url",
            &fake.url,
            "--retry-base-ms",
            "10",
        ])
        .env("GH_TOKEN", TOKEN)
        .output()
        .expect("runs");
    assert!(
        !String::from_utf8_lossy(&output.stdout).contains(TOKEN),
        "token printed"
    );
    assert!(
        !String::from_utf8_lossy(&output.stderr).contains(TOKEN),
        "token printed"
    );
    (json(&output), output.status.code())
}

fn finding_keys(doc: &serde_json::Value) -> BTreeSet<(String, String, u64, String)> {
    doc["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .map(|f| {
            (
                f["repository"].as_str().unwrap_or_default().to_string(),
                f["path"].as_str().unwrap_or_default().to_string(),
                f["line"].as_u64().unwrap_or_default(),
                f["rule"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

#[test]
fn org_scan_finds_what_local_scan_finds_plus_secrets() {
    let fake = FakeGitHub::start(acme());
    let (doc, code) = scan(&fake, &["--org", "acme"]);
    assert_eq!(fake.violations(), Vec::<String>::new());
    assert_eq!(code, Some(12), "findings plus one invalid workflow");

    // The same files scanned locally give the same findings.
    let local = migrate()
        .args(["scan", "--format", "json"])
        .arg("testdata/corpus/058-DEVROOM-OFFICIAL-DEVROOM-backend-lambda-deploy.yml")
        .output()
        .expect("runs");
    let local_lines: Vec<u64> = json(&local)["findings"]
        .as_array()
        .expect("f")
        .iter()
        .filter_map(|f| f["line"].as_u64())
        .collect();
    let keys = finding_keys(&doc);
    let api_lines: Vec<u64> = keys
        .iter()
        .filter(|k| k.0 == "acme/api")
        .map(|k| k.2)
        .collect();
    assert_eq!(api_lines, local_lines);
    assert!(
        keys.iter()
            .any(|k| k.0 == "acme/web" && k.3 == "aws-keys-env")
    );
    assert!(
        keys.iter()
            .any(|k| k.0 == "acme/legacy" && k.1 == ".github/actions/push/action.yml"),
        "composite action read"
    );
    assert!(
        !keys
            .iter()
            .any(|k| k.0 == "acme/old" || k.0 == "acme/forked"),
        "archived and forks skipped"
    );

    let repos = doc["repositories"].as_array().expect("repositories");
    let repo = |name: &str| {
        repos
            .iter()
            .find(|r| r["repository"] == name)
            .unwrap_or_else(|| panic!("{name}"))
    };
    assert_eq!(repo("acme/old")["outcome"], "skipped");
    assert_eq!(repo("acme/forked")["outcome"], "skipped");
    assert_eq!(repo("acme/docs")["files"], 0);
    let api = repo("acme/api");
    assert_eq!(
        api["oidc_sub"]["sub_claim_prefix"],
        "repo:acme@1001/api@1002"
    );
    let secrets: Vec<(String, bool)> = api["secrets"]
        .as_array()
        .expect("s")
        .iter()
        .map(|s| {
            (
                s["name"].as_str().unwrap_or_default().to_string(),
                s["orphan"].as_bool().unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(
        secrets,
        vec![
            ("AWS_ACCESS_KEY_ID".into(), false),
            ("AWS_SECRET_ACCESS_KEY".into(), false),
            ("OLD_AWS_SECRET_ACCESS_KEY".into(), true)
        ]
    );
    let web = repo("acme/web");
    assert_eq!(web["secrets"][0]["scope"], "environment");
    assert!(api["id"].as_u64().is_some() && api["owner_id"].as_u64().is_some());

    let org = &doc["organization"];
    assert_eq!(org["login"], "acme");
    let org_secrets = org["secrets"].as_array().expect("org secrets");
    let shared = org_secrets
        .iter()
        .find(|s| s["name"] == "AWS_SECRET_ACCESS_KEY")
        .expect("selected secret");
    assert_eq!(shared["visibility"], "selected");
    assert_eq!(shared["referenced_by"], serde_json::json!(["web"]));
    let unused = org_secrets
        .iter()
        .find(|s| s["name"] == "ORG_AWS_ACCESS_KEY_ID")
        .expect("org key");
    assert_eq!(unused["orphan"], true);

    let errors = doc["errors"].as_array().expect("errors");
    assert!(
        errors.iter().any(
            |e| e["repository"] == "acme/legacy" && e["path"] == ".github/workflows/broken.yml"
        ),
        "{errors:?}"
    );
}

#[test]
fn discovery_and_contents_cost_one_graphql_request_per_page() {
    let mut world = World::default();
    for i in 0..60 {
        world.repo(
            "big",
            &format!("svc-{i:03}"),
            &[(
                ".github/workflows/deploy.yml",
                &corpus("058-DEVROOM-OFFICIAL-DEVROOM-backend-lambda-deploy.yml"),
            )],
        );
    }
    let fake = FakeGitHub::start(world);
    let (doc, _) = scan(&fake, &["--org", "big"]);
    assert_eq!(doc["repositories"].as_array().expect("r").len(), 60);
    let graphql = fake
        .log()
        .iter()
        .filter(|l| l.operation == "graphql")
        .count();
    assert_eq!(graphql, 3, "60 repositories in pages of 25");
    assert!(fake.writes().is_empty(), "scan never writes");
}

#[test]
fn named_repos_unknown_repo_and_truncated_blobs() {
    let fake = FakeGitHub::start(acme());
    let long = format!(
        "{}\n# {}\n",
        corpus("058-DEVROOM-OFFICIAL-DEVROOM-backend-lambda-deploy.yml"),
        "x".repeat(5000)
    );
    fake.with(|s| {
        s.truncate_at = 1000;
        s.world
            .push("acme/web", &[(".github/workflows/long.yml", &long)]);
    });
    let (doc, code) = scan(&fake, &["--repo", "acme/web", "--repo", "acme/nope"]);
    assert_eq!(fake.violations(), Vec::<String>::new());
    assert!(doc["errors"].as_array().expect("e").iter().any(|e| {
        e["path"] == "acme/nope"
            && e["message"]
                .as_str()
                .is_some_and(|m| m.contains("not found"))
    }));
    // The truncated blob was fetched whole through REST and scanned.
    assert!(
        fake.log()
            .iter()
            .any(|l| l.operation == "repos/get-content")
    );
    assert!(
        finding_keys(&doc)
            .iter()
            .any(|k| k.1 == ".github/workflows/long.yml")
    );
    assert_eq!(code, Some(12));
}

#[test]
fn unknown_org_empty_org_and_missing_token() {
    let mut world = World::default();
    world.org("empty");
    let fake = FakeGitHub::start(world);
    let (doc, code) = scan(&fake, &["--org", "ghost"]);
    assert!(
        doc["errors"][0]["message"]
            .as_str()
            .is_some_and(|m| m.contains("not found")),
        "{doc}"
    );
    assert_eq!(code, Some(11));
    let (doc, code) = scan(&fake, &["--org", "empty"]);
    assert_eq!(doc["repositories"], serde_json::json!([]));
    assert_eq!(code, Some(0));

    let output = migrate()
        .args(["scan", "--org", "empty", "--github-url", &fake.url])
        .env("GH_TOKEN", "wrong-token")
        .output()
        .expect("runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("rejected the token"), "{stderr}");
    assert_eq!(output.status.code(), Some(1));
}

/// Without GH_TOKEN/GITHUB_TOKEN the token comes from `gh auth token`, for the host of
/// `--github-url` (`--hostname`, as GitHub Enterprise Server logins are kept per host). A fake
/// `gh` on PATH stands in for the GitHub CLI.
#[test]
fn token_from_gh_auth_token_for_the_right_host() {
    use std::os::unix::fs::PermissionsExt;
    let fake = FakeGitHub::start(acme());
    let bin = tempfile::tempdir().expect("temp dir");
    let gh = bin.path().join("gh");
    std::fs::write(
        &gh,
        format!(
            "#!/bin/sh\nif [ \"$*\" = \"auth token --hostname 127.0.0.1\" ]; then echo {TOKEN}; exit 0; fi\necho \"not logged in: $*\" >&2\nexit 1\n"
        ),
    )
    .expect("script");
    std::fs::set_permissions(&gh, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let path = format!("{}:/usr/bin:/bin", bin.path().display());
    let output = migrate()
        .args([
            "scan",
            "--repo",
            "acme/api",
            "--format",
            "json",
            "--github-url",
            &fake.url,
        ])
        .env("PATH", &path)
        .output()
        .expect("runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(10), "{stdout}");
    assert!(!stdout.contains(TOKEN));
    // No gh at all: a clear error saying where a token can come from.
    let output = migrate()
        .args(["scan", "--repo", "acme/api", "--github-url", &fake.url])
        .env("PATH", "/nonexistent")
        .output()
        .expect("runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("gh auth login --hostname 127.0.0.1"),
        "{stderr}"
    );
}

#[test]
fn huge_repository_trees_and_forbidden_secrets_stay_per_repo() {
    let mut world = acme();
    let files: Vec<(String, String)> = (0..100_000)
        .map(|i| (format!("src/gen/file{i}.rs"), String::new()))
        .collect();
    let mut refs: Vec<(&str, &str)> = files
        .iter()
        .map(|(p, t)| (p.as_str(), t.as_str()))
        .collect();
    let deploy = corpus("058-DEVROOM-OFFICIAL-DEVROOM-backend-lambda-deploy.yml");
    refs.push((".github/workflows/deploy.yml", &deploy));
    world.repo("acme", "monorepo", &refs);
    let fake = FakeGitHub::start(world);
    fake.with(|s| s.forbidden.push("actions/list-repo-secrets".into()));
    let (doc, code) = scan(&fake, &["--repo", "acme/monorepo", "--repo", "acme/api"]);
    assert!(finding_keys(&doc).iter().any(|k| k.0 == "acme/monorepo"));
    assert!(finding_keys(&doc).iter().any(|k| k.0 == "acme/api"));
    let errors = doc["errors"].as_array().expect("errors");
    for repo in ["acme/monorepo", "acme/api"] {
        let e = errors
            .iter()
            .find(|e| e["path"] == repo)
            .unwrap_or_else(|| panic!("no error for {repo}: {errors:?}"));
        assert!(
            e["message"]
                .as_str()
                .is_some_and(|m| m.contains("forbidden") && m.contains("help:")),
            "{e}"
        );
    }
    // The subject templates were still read.
    assert!(
        doc["repositories"]
            .as_array()
            .expect("r")
            .iter()
            .all(|r| r["oidc_sub"].is_object())
    );
    assert_eq!(code, Some(12));
    // Only the workflow directory is read, never the whole tree.
    assert!(fake.log().iter().all(|l| !l.path.contains("/git/trees")));
    assert_eq!(fake.violations(), Vec::<String>::new());
}

#[test]
fn transient_faults_and_rate_limits_are_retried() {
    let fake = FakeGitHub::start(acme());
    let (clean, _) = scan(&fake, &["--org", "acme"]);
    fake.set_faults(Faults {
        rate: 0.2,
        seed: 7,
        primary_exhausted: 1,
        ..Faults::default()
    });
    let (faulty, _) = scan(&fake, &["--org", "acme"]);
    let injected = fake.log().iter().filter(|l| l.injected).count();
    assert!(injected >= 2, "faults were injected ({injected})");
    assert_eq!(finding_keys(&faulty), finding_keys(&clean));
    assert_eq!(faulty["repositories"], clean["repositories"]);
    assert!(faulty["github"]["retries"].as_u64().unwrap_or(0) >= injected as u64);
}

/// A GitHub Enterprise Server whose GraphQL schema has no `Repository.environments`: the
/// discovery query is asked again without it, and environments come from REST.
#[test]
fn older_schema_without_environments_falls_back_to_rest() {
    let mut world = acme();
    world
        .repos
        .get_mut("acme/api")
        .expect("api")
        .environments
        .insert(
            "production".into(),
            vec!["PROD_AWS_SECRET_ACCESS_KEY".into()],
        );
    let fake = FakeGitHub::start(world);
    fake.with(|s| s.missing_repository_fields.push("environments".into()));
    let (doc, code) = scan(&fake, &["--org", "acme", "--all-secrets"]);
    // Findings and an error (acme/legacy holds a broken workflow): the scan went through.
    assert_eq!(code, Some(12), "{doc}");
    let api = doc["repositories"]
        .as_array()
        .expect("repositories")
        .iter()
        .find(|r| r["repository"] == "acme/api")
        .expect("acme/api");
    assert!(
        api["secrets"]
            .as_array()
            .expect("secrets")
            .iter()
            .any(|s| s["name"] == "PROD_AWS_SECRET_ACCESS_KEY" && s["environment"] == "production"),
        "{api}"
    );
    let log = fake.log();
    let rest_environments = log
        .iter()
        .filter(|l| l.operation == "repos/get-all-environments")
        .count();
    assert!(rest_environments > 0, "environments listed over REST");
    // Asked once with the field, then never again.
    let graphql: Vec<_> = log.iter().filter(|l| l.operation == "graphql").collect();
    assert!(graphql.len() >= 2);
    assert_eq!(fake.violations(), Vec::<String>::new());
}

#[test]
fn ghes_layout_serves_rest_and_graphql_under_api() {
    let fake = FakeGitHub::start(acme());
    let (_, _) = scan(&fake, &["--repo", "acme/api"]);
    let log = fake.log();
    assert!(log.iter().any(|l| l.path == "/api/graphql"));
    assert!(
        log.iter()
            .filter(|l| l.operation != "graphql")
            .all(|l| l.path.starts_with("/api/v3/"))
    );
}

/// The fake's GraphQL check itself: it must catch what the real API would reject.
#[test]
fn fields_arguments_and_type_conditions_are_checked() {
    let schema = common::fake_github::graphql_schema::Schema::load();
    let good = r#"query($o: String!) { r0: repository(owner: $o, name: "x") { name
        owner { login ... on Organization { databaseId } }
        pullRequests(first: 10, states: [OPEN, MERGED], orderBy: {field: CREATED_AT, direction: ASC}) { nodes { ...P } } } }
        fragment P on PullRequest { number files(first: 100) { nodes { path } } }"#;
    assert_eq!(schema.check(good), Ok(()));
    let bad = r#"query { repository(owner: "a", name: "b", color: 1) { nmae
        owner { ... on Blob { text } } } }"#;
    let problems = schema.check(bad).expect_err("invalid query");
    assert!(
        problems.contains("Query.repository has no argument `color`"),
        "{problems}"
    );
    assert!(
        problems.contains("Repository has no field `nmae`"),
        "{problems}"
    );
    assert!(
        problems.contains("RepositoryOwner can never be a Blob"),
        "{problems}"
    );
}

/// `--max-requests N`: each run sends at most N requests (the fake counts them), stops with
/// exit 13 naming the ledger, and keeps what it read there; the same command run again reads
/// only the rest, until one run completes with the same report a single unbounded scan gives.
#[test]
fn max_requests_stops_cleanly_and_the_next_run_resumes() {
    let mut world = World::default();
    for i in 0..12 {
        world
            .repo(
                "budget",
                &format!("svc-{i:02}"),
                &[(
                    ".github/workflows/deploy.yml",
                    &corpus("058-DEVROOM-OFFICIAL-DEVROOM-backend-lambda-deploy.yml"),
                )],
            )
            .secrets = vec!["AWS_ACCESS_KEY_ID".into(), "AWS_SECRET_ACCESS_KEY".into()];
    }
    let fake = FakeGitHub::start(world);
    let (full, code) = scan(&fake, &["--org", "budget"]);
    assert_eq!(code, Some(10), "{full}");
    let one_shot = fake.log().len();

    let dir = tempfile::tempdir().expect("tempdir");
    let ledger = dir.path().join("campaign.db");
    let ledger = ledger.to_str().expect("utf-8");
    let mut runs = 0;
    let last = loop {
        runs += 1;
        assert!(runs <= 6, "no progress after {runs} runs");
        let before = fake.log().len();
        let output = migrate()
            .args([
                "scan",
                "--org",
                "budget",
                "--format",
                "json",
                "--max-requests",
                "12",
            ])
            .args([
                "--campaign",
                ledger,
                "--github-url",
                &fake.url,
                "--retry-base-ms",
                "10",
            ])
            .env("GH_TOKEN", TOKEN)
            .output()
            .expect("runs");
        let sent = fake.log().len() - before;
        assert!(sent <= 12, "run {runs} sent {sent} requests");
        let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
        match output.status.code() {
            Some(13) => {
                assert!(
                    stderr.contains("stopped at --max-requests 12") && stderr.contains(ledger),
                    "{stderr}"
                );
                let doc = json(&output);
                assert!(
                    doc["errors"].to_string().contains("--max-requests 12"),
                    "{doc}"
                );
            }
            Some(10) => break json(&output),
            other => panic!("run {runs}: exit {other:?}\n{stderr}"),
        }
    };
    assert!(
        runs >= 3,
        "12 repositories cannot fit in one run of 12 requests"
    );
    assert_eq!(last["repositories"], full["repositories"]);
    assert_eq!(last["organization"], full["organization"]);
    assert_eq!(finding_keys(&last), finding_keys(&full));
    // Only discovery and the organization's own reads are repeated across runs.
    let total = fake.log().len() - one_shot;
    assert!(
        total <= one_shot + 3 * (runs - 1),
        "{total} requests over {runs} runs, one scan {one_shot}"
    );
    // A completed scan leaves nothing to resume: the next one reads everything again.
    let before = fake.log().len();
    let output = migrate()
        .args([
            "scan",
            "--org",
            "budget",
            "--format",
            "json",
            "--campaign",
            ledger,
        ])
        .args(["--github-url", &fake.url])
        .env("GH_TOKEN", TOKEN)
        .output()
        .expect("runs");
    assert_eq!(output.status.code(), Some(10));
    assert_eq!(fake.log().len() - before, one_shot);
}

/// One organization with more than 300 repositories to inventory: after discovery, the scan
/// says what the inventory costs at the token's remaining budget (`GET /rate_limit`); a small
/// one asks nothing and says nothing.
#[test]
fn a_long_inventory_is_estimated_first() {
    for (repositories, expected) in [
        (
            310,
            Some(
                "estimate: ~932 requests over 310 repositories, within the budget left now at 5,000/h on 1 token",
            ),
        ),
        (5, None),
    ] {
        let mut world = World::default();
        for i in 0..repositories {
            world.repo(
                "wide",
                &format!("svc-{i:03}"),
                &[(
                    ".github/workflows/deploy.yml",
                    &corpus("058-DEVROOM-OFFICIAL-DEVROOM-backend-lambda-deploy.yml"),
                )],
            );
        }
        let fake = FakeGitHub::start(world);
        let output = migrate()
            .args([
                "scan",
                "--org",
                "wide",
                "--format",
                "json",
                "--github-url",
                &fake.url,
            ])
            .env("GH_TOKEN", TOKEN)
            .output()
            .expect("runs");
        let stderr = String::from_utf8_lossy(&output.stderr);
        let asked = fake
            .log()
            .iter()
            .filter(|l| l.operation == "rate-limit/get")
            .count();
        match expected {
            Some(line) => {
                assert!(stderr.contains(line), "{stderr}");
                assert_eq!(asked, 1);
            }
            None => {
                assert!(!stderr.contains("estimate:"), "{stderr}");
                assert_eq!(asked, 0);
            }
        }
    }
}
