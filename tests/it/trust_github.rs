//! `migrate trust --org/--repo` end to end: the real binary against the fake GitHub. The
//! repository slug, ids, default branch and OIDC `sub` template all come from GitHub, and every
//! request must match GitHub's OpenAPI description.

// A test that cannot unwrap has failed: panicking is the report.
#![allow(clippy::unwrap_used)]

use crate::common;

use common::Run;

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::Command as StdCommand;

use common::fake_github::{FakeGitHub, TOKEN, World};
use common::migrate;
use serde_json::{Value, json};

const ACCOUNT: &str = "123456789012";

/// A workflow that hands the repository's static keys to configure-aws-credentials.
fn deploy_workflow(trigger: &str, environment: Option<&str>) -> String {
    let environment = environment.map_or(String::new(), |e| format!("    environment: {e}\n"));
    format!(
        "name: deploy\non:\n{trigger}\njobs:\n  deploy:\n    runs-on: ubuntu-latest\n{environment}    steps:\n      - uses: actions/checkout@v4\n      - uses: aws-actions/configure-aws-credentials@v4\n        with:\n          aws-access-key-id: ${{{{ secrets.AWS_ACCESS_KEY_ID }}}}\n          aws-secret-access-key: ${{{{ secrets.AWS_SECRET_ACCESS_KEY }}}}\n          aws-region: us-east-1\n      - run: aws s3 sync dist s3://bucket\n"
    )
}

const PUSH_MAIN: &str = "  push:\n    branches: [main]";

/// The ids GitHub gave the organization and its repositories.
struct Ids {
    org: u64,
    plain: u64,
    pinned: u64,
    custom: u64,
    inherits: u64,
}

/// acme, one repository per way GitHub can spell `sub`:
/// - `plain`: the default template, prefix form unknown (pushes to `trunk`, its default branch);
/// - `pinned`: GitHub reports the immutable `sub_claim_prefix`;
/// - `custom`: its own template `repo, context, job_workflow_ref` (a job with an environment);
/// - `inherits`: `use_default: false` without keys, so the org template applies
///   (`repository_owner, context`: names no repository).
fn acme() -> (World, Ids) {
    let mut w = World::default();
    let plain = w.repo(
        "acme",
        "plain",
        &[(
            ".github/workflows/deploy.yml",
            &deploy_workflow("  schedule:\n    - cron: '0 3 * * *'", None),
        )],
    );
    plain.default_branch = "trunk".into();
    let head = plain.refs.remove("heads/main").unwrap();
    plain.refs.insert("heads/trunk".into(), head);
    let plain = plain.id;
    let pinned = w.repo(
        "acme",
        "pinned",
        &[(
            ".github/workflows/release.yml",
            &deploy_workflow(PUSH_MAIN, Some("production")),
        )],
    );
    let pinned_id = pinned.id;
    let custom = w.repo(
        "acme",
        "custom",
        &[(
            ".github/workflows/deploy.yml",
            &deploy_workflow(PUSH_MAIN, Some("prod")),
        )],
    );
    custom.oidc = json!({"use_default": false, "include_claim_keys": ["repo", "context", "job_workflow_ref"]});
    let custom = custom.id;
    let inherits = w.repo(
        "acme",
        "inherits",
        &[(
            ".github/workflows/deploy.yml",
            &deploy_workflow(PUSH_MAIN, None),
        )],
    );
    inherits.oidc = json!({"use_default": false});
    let inherits = inherits.id;
    let org = w.org("acme");
    org.oidc = json!({"include_claim_keys": ["repository_owner", "context"]});
    let org_id = org.id;
    w.repos.get_mut("acme/pinned").unwrap().oidc = json!({
        "use_default": true,
        "sub_claim_prefix": format!("repo:acme@{org_id}/pinned@{pinned_id}"),
    });
    let ids = Ids {
        org: org_id,
        plain,
        pinned: pinned_id,
        custom,
        inherits,
    };
    (w, ids)
}

fn trust(fake: &FakeGitHub, args: &[&str]) -> Run {
    let output = migrate()
        .args(["trust", "--account-id", ACCOUNT])
        .args(args)
        .args(["--github-url", &fake.url, "--retry-base-ms", "10"])
        .env("GH_TOKEN", TOKEN)
        .output()
        .unwrap();
    let run = Run::of(output);
    assert!(
        !run.stdout.contains(TOKEN) && !run.stderr.contains(TOKEN),
        "token printed"
    );
    assert_eq!(
        fake.violations(),
        Vec::<String>::new(),
        "OpenAPI violations"
    );
    run
}

/// `repo → sorted sub values` of the JSON plan.
fn subs_by_repo(doc: &Value) -> Vec<(String, Vec<String>)> {
    doc["roles"]
        .as_array()
        .unwrap()
        .iter()
        .map(|role| {
            let mut subs: Vec<String> = role["subs"]
                .as_array()
                .unwrap()
                .iter()
                .map(|s| s.as_str().unwrap().to_string())
                .collect();
            subs.sort();
            (role["repo"].as_str().unwrap().to_string(), subs)
        })
        .collect()
}

#[test]
fn subs_follow_each_repositorys_template_as_github_reports_it() {
    let (world, ids) = acme();
    let fake = FakeGitHub::start(world);
    let run = trust(&fake, &["--org", "acme", "--format", "json"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let doc: Value = serde_json::from_str(&run.stdout).unwrap();
    let org = ids.org;
    assert_eq!(
        subs_by_repo(&doc),
        vec![
            (
                "acme/custom".to_string(),
                vec![
                    format!(
                        "repo:acme/custom:environment:prod:job_workflow_ref:acme/custom/.github/workflows/deploy.yml@*"
                    ),
                    format!(
                        "repo:acme@{org}/custom@{}:environment:prod:job_workflow_ref:acme/custom/.github/workflows/deploy.yml@*",
                        ids.custom
                    ),
                ]
            ),
            (
                "acme/pinned".to_string(),
                vec![format!(
                    "repo:acme@{org}/pinned@{}:environment:production",
                    ids.pinned
                )]
            ),
            (
                "acme/plain".to_string(),
                vec![
                    "repo:acme/plain:ref:refs/heads/trunk".to_string(),
                    format!("repo:acme@{org}/plain@{}:ref:refs/heads/trunk", ids.plain),
                ]
            ),
        ]
    );
    // The wildcard in `job_workflow_ref` needs StringLike; exact values stay StringEquals.
    let custom = &doc["roles"][0]["trust_policy"]["Statement"][0]["Condition"];
    assert!(custom["StringLike"]["token.actions.githubusercontent.com:sub"].is_array());
    let pinned = &doc["roles"][1]["trust_policy"]["Statement"][0]["Condition"];
    assert!(pinned["StringEquals"]["token.actions.githubusercontent.com:sub"].is_array());
    // The role map that `migrate rewrite --role-map` reads is keyed by OWNER/REPO.
    assert_eq!(
        doc["role_map"]["acme/plain"]["AWS_ACCESS_KEY_ID"],
        format!("arn:aws:iam::{ACCOUNT}:role/gha-plain")
    );
    // The org template names no repository: no role without --allow-org-wide, and it says why.
    assert!(
        run.stderr.contains("acme/inherits: no role: its `sub` template [repository_owner, context] names no repository"),
        "{}",
        run.stderr
    );
    let _ = ids.inherits;
}

#[test]
fn an_org_template_without_a_repository_needs_allow_org_wide() {
    let (world, _) = acme();
    let fake = FakeGitHub::start(world);
    let run = trust(
        &fake,
        &["--org", "acme", "--allow-org-wide", "--format", "json"],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let doc: Value = serde_json::from_str(&run.stdout).unwrap();
    let inherits = subs_by_repo(&doc)
        .into_iter()
        .find(|(repo, _)| repo == "acme/inherits")
        .unwrap();
    assert_eq!(
        inherits.1,
        vec!["repository_owner:acme:ref:refs/heads/main".to_string()]
    );
    assert!(
        run.stderr
            .contains("--allow-org-wide trusts every repository of acme"),
        "{}",
        run.stderr
    );
}

#[test]
fn repo_targets_read_the_same_facts() {
    let (world, ids) = acme();
    let fake = FakeGitHub::start(world);
    let run = trust(&fake, &["--repo", "acme/pinned", "--format", "role-map"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stdout.contains(
            "\"acme/pinned:AWS_ACCESS_KEY_ID\" = \"arn:aws:iam::123456789012:role/gha-pinned\""
        ),
        "{}",
        run.stdout
    );
    let run = trust(&fake, &["--repo", "acme/pinned", "--format", "json"]);
    let doc: Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(
        subs_by_repo(&doc),
        vec![(
            "acme/pinned".to_string(),
            vec![format!(
                "repo:acme@{}/pinned@{}:environment:production",
                ids.org, ids.pinned
            )]
        )]
    );
}

#[test]
fn unknown_organization_is_an_error() {
    let (world, _) = acme();
    let fake = FakeGitHub::start(world);
    let run = trust(&fake, &["--org", "nope", "--format", "json"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(run.stdout.is_empty());
    assert!(
        run.stderr.contains("error: nothing read from GitHub:") && run.stderr.contains("nope"),
        "{}",
        run.stderr
    );
}

#[test]
fn paths_and_slug_conflict_with_github_targets() {
    let (world, _) = acme();
    let fake = FakeGitHub::start(world);
    let run = trust(&fake, &["--org", "acme", "--slug", "acme/plain"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
}

/// checkov's trust checks on the Terraform generated for the whole org (needs
/// `MIGRATE_VALIDATORS_BIN`, like `validators.rs`).
#[test]
#[ignore = "needs the validators: run .ci/run, or set MIGRATE_VALIDATORS_BIN and pass --include-ignored"]
fn checkov_passes_the_terraform_for_an_org() {
    let bin = std::env::var_os("MIGRATE_VALIDATORS_BIN")
        .map(PathBuf::from)
        .expect("MIGRATE_VALIDATORS_BIN is not set (.ci/run sets it)");
    let (world, _) = acme();
    let fake = FakeGitHub::start(world);
    let run = trust(&fake, &["--org", "acme", "--format", "terraform"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("main.tf"), &run.stdout).unwrap();
    let output = StdCommand::new(bin.join("checkov"))
        .arg("-d")
        .arg(dir.path())
        .args([
            "--framework",
            "terraform",
            "--check",
            "CKV_AWS_358,CKV_AWS_393",
        ])
        .args(["--compact", "--skip-download", "-o", "json"])
        .output()
        .unwrap();
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    let results = |kind: &str| -> BTreeSet<(String, String)> {
        report["results"][kind]
            .as_array()
            .into_iter()
            .flatten()
            .map(|c| {
                (
                    c["check_id"].as_str().unwrap().to_string(),
                    c["resource"].as_str().unwrap().to_string(),
                )
            })
            .collect()
    };
    // checkov's repository pattern (`[a-zA-Z0-9_-]+/…` in checkov/common/util/oidc_utils.py)
    // predates GitHub's immutable `repo:OWNER@ID/REPO@ID` form, so a role that trusts only that
    // form (because GitHub reported it as the repo's `sub_claim_prefix`) is a known false
    // positive of CKV_AWS_358. Every other check must pass; this one must fail for exactly that.
    let known_false_positive = BTreeSet::from([(
        "CKV_AWS_358".to_string(),
        "aws_iam_policy_document.gha_pinned_trust".to_string(),
    )]);
    assert_eq!(
        results("failed_checks"),
        known_false_positive,
        "{}",
        run.stdout
    );
    assert!(
        results("passed_checks").contains(&(
            "CKV_AWS_393".to_string(),
            "aws_iam_role.gha_pinned".to_string()
        )),
        "{:?}",
        results("passed_checks")
    );
    for role in ["gha-custom", "gha-plain"] {
        let resource = role.replace('-', "_");
        assert!(
            results("passed_checks").contains(&(
                "CKV_AWS_358".to_string(),
                format!("aws_iam_policy_document.{resource}_trust")
            )),
            "{role}: {:?}\n{}",
            results("passed_checks"),
            run.stdout
        );
    }
}

/// `--org --apply` against moto (`AWS_ENDPOINT_URL_IAM`, skipped loudly without it): the role
/// IAM holds trusts exactly the `sub` GitHub's template gives, and a second run changes nothing.
#[test]
#[ignore = "needs moto's IAM server: run .ci/run, or set AWS_ENDPOINT_URL_IAM and pass --include-ignored"]
fn apply_creates_the_roles_an_org_needs() {
    common::moto::require("`trust --org --apply`");
    let endpoint = std::env::var_os("AWS_ENDPOINT_URL_IAM").unwrap_or_default();
    // Tests share one moto server: a repository (so role) name no other run used.
    let name = common::moto::unique("apply");
    let mut world = World::default();
    let repo = world.repo(
        "acme",
        &name,
        &[(
            ".github/workflows/deploy.yml",
            &deploy_workflow(PUSH_MAIN, Some("prod")),
        )],
    );
    let repo_id = repo.id;
    repo.oidc = json!({"use_default": false, "include_claim_keys": ["repo", "context", "job_workflow_ref"]});
    let org_id = world.org("acme").id;
    world.repos.get_mut(&format!("acme/{name}")).unwrap().oidc = json!({
        "use_default": false,
        "include_claim_keys": ["repo", "context", "job_workflow_ref"],
        "sub_claim_prefix": format!("repo:acme@{org_id}/{name}@{repo_id}"),
    });
    let fake = FakeGitHub::start(world);
    let apply = || {
        let output = migrate()
            .args([
                "trust",
                "--account-id",
                ACCOUNT,
                "--org",
                "acme",
                "--apply",
                "--yes",
            ])
            .args(["--github-url", &fake.url, "--retry-base-ms", "10"])
            .env("GH_TOKEN", TOKEN)
            .env("AWS_ENDPOINT_URL_IAM", &endpoint)
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .env("AWS_REGION", "us-east-1")
            .output()
            .unwrap();
        assert_eq!(
            fake.violations(),
            Vec::<String>::new(),
            "OpenAPI violations"
        );
        (
            output.status.code(),
            String::from_utf8(output.stdout).unwrap(),
            String::from_utf8(output.stderr).unwrap(),
        )
    };
    let (code, stdout, stderr) = apply();
    assert_eq!(code, Some(0), "{stdout}\n{stderr}");
    let role = format!("gha-{name}");
    assert!(stdout.contains(&format!("created role {role}")), "{stdout}");
    // The test process has the same AWS_* settings the binary was given (CI exports them).
    let document = common::moto::iam(async |client: aws_sdk_iam::Client| {
        let got = client.get_role().role_name(&role).send().await.unwrap();
        got.role()
            .unwrap()
            .assume_role_policy_document()
            .unwrap()
            .to_string()
    });
    let trust: Value = serde_json::from_str(&migrate::trust::reconcile::decode_policy_document(
        &document,
    ))
    .unwrap();
    assert_eq!(
        trust["Statement"][0]["Condition"]["StringLike"]["token.actions.githubusercontent.com:sub"],
        json!([format!(
            "repo:acme@{org_id}/{name}@{repo_id}:environment:prod:job_workflow_ref:acme/{name}/.github/workflows/deploy.yml@*"
        )])
    );
    let (code, stdout, stderr) = apply();
    assert_eq!(code, Some(0), "{stdout}\n{stderr}");
    assert!(stdout.contains("nothing to change"), "{stdout}");
}

/// `${{ vars.X }}` in a step is resolved from the repository's Actions variables (which
/// override the organization's shared ones): the policy names the real bucket and function
/// instead of `*`. A variable GitHub does not have stays `*` with a warning.
#[test]
fn variables_from_github_name_the_resources() {
    let mut world = World::default();
    let workflow = "name: deploy\non:\n  push:\n    branches: [main]\njobs:\n  deploy:\n    runs-on: ubuntu-latest\n    steps:\n      - uses: aws-actions/configure-aws-credentials@v4\n        with:\n          aws-access-key-id: ${{ secrets.AWS_ACCESS_KEY_ID }}\n          aws-secret-access-key: ${{ secrets.AWS_SECRET_ACCESS_KEY }}\n          aws-region: ${{ vars.AWS_REGION }}\n      - run: aws s3 sync dist s3://${{ vars.SITE_BUCKET }}/ --delete\n      - run: aws lambda update-function-code --function-name ${{ vars.FUNCTION }} --zip-file fileb://f.zip\n      - run: aws cloudfront create-invalidation --distribution-id ${{ vars.MISSING }} --paths '/*'\n";
    let repo = world.repo(
        "acme",
        "site",
        &[(".github/workflows/deploy.yml", workflow)],
    );
    repo.variables
        .insert("SITE_BUCKET".into(), "acme-site-prod".into());
    repo.variables.insert("FUNCTION".into(), "site-api".into());
    let org = world.org("acme");
    org.variables
        .insert("AWS_REGION".into(), "eu-west-1".into());
    // The repository's own value wins over the organization's.
    org.variables
        .insert("SITE_BUCKET".into(), "acme-shared-bucket".into());
    let fake = FakeGitHub::start(world);
    let run = trust(&fake, &["--repo", "acme/site", "--format", "json"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let doc: Value = serde_json::from_str(&run.stdout).unwrap();
    let policy = doc["roles"][0]["permission_policy"].to_string();
    assert!(policy.contains("arn:aws:s3:::acme-site-prod"), "{policy}");
    assert!(!policy.contains("acme-shared-bucket"), "{policy}");
    assert!(
        policy.contains("arn:aws:lambda:eu-west-1:123456789012:function:site-api"),
        "{policy}"
    );
    assert!(
        run.stderr.contains("vars.MISSING") && !run.stderr.contains("vars.SITE_BUCKET"),
        "{}",
        run.stderr
    );
}

/// A job in an environment reads that environment's variables first, as the runner does: the
/// production job's policy names the production bucket, the staging job's the staging one
/// (the repository's value where the environment has none).
#[test]
fn environment_variables_override_the_repositorys_for_jobs_in_that_environment() {
    let mut world = World::default();
    let job = |id: &str, environment: &str| {
        format!(
            "  {id}:\n    runs-on: ubuntu-latest\n{environment}    steps:\n      - uses: aws-actions/configure-aws-credentials@v4\n        with:\n          aws-access-key-id: ${{{{ secrets.AWS_ACCESS_KEY_ID }}}}\n          aws-secret-access-key: ${{{{ secrets.AWS_SECRET_ACCESS_KEY }}}}\n          aws-region: eu-west-1\n      - run: aws s3 sync dist s3://${{{{ vars.SITE_BUCKET }}}}/\n"
        )
    };
    let workflow = format!(
        "name: deploy\non:\n  push:\n    branches: [main]\njobs:\n{}{}",
        job("production", "    environment: production\n"),
        job("staging", "    environment:\n      name: staging\n"),
    );
    let repo = world.repo(
        "acme",
        "site",
        &[(".github/workflows/deploy.yml", workflow.as_str())],
    );
    repo.variables
        .insert("SITE_BUCKET".into(), "acme-site-repo".into());
    for environment in ["production", "staging"] {
        repo.environments.insert(environment.into(), Vec::new());
    }
    repo.environment_variables.insert(
        "production".into(),
        [("SITE_BUCKET".to_string(), "acme-site-prod".to_string())].into(),
    );
    let fake = FakeGitHub::start(world);
    let run = trust(&fake, &["--repo", "acme/site", "--format", "json"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let doc: Value = serde_json::from_str(&run.stdout).unwrap();
    let policies: Vec<String> = doc["roles"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["permission_policy"].to_string())
        .collect();
    let all = policies.join("\n");
    assert!(all.contains("arn:aws:s3:::acme-site-prod"), "{all}");
    assert!(all.contains("arn:aws:s3:::acme-site-repo"), "{all}");
    assert!(!run.stderr.contains("vars.SITE_BUCKET"), "{}", run.stderr);
    fake.with(|s| {
        let asked: Vec<&str> = s
            .log
            .iter()
            .filter(|l| l.operation == "actions/list-environment-variables")
            .map(|l| l.path.as_str())
            .collect();
        assert_eq!(asked.len(), 2, "{asked:?}");
    });
}
