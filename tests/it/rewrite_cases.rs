//! Targeted rewrite behaviour: role maps, action refs, anchors, line endings and the typed
//! errors for bad input. Every rewrite's whole diff is an insta snapshot
//! (`snapshots/it__rewrite_cases__*.snap`); the assertions beside it say what matters in it.

use std::path::Path;

use migrate::rewrite::{self, RewriteError, RewriteOptions, RoleMap, RoleSource};

const ROLE: &str = "arn:aws:iam::123456789012:role/gha-deploy";

fn fixture(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("testdata/rewrite")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The rewrite's unified diff, as a snapshot named after the case.
fn snapshot_diff(case: &str, outcome: &rewrite::RewriteOutcome) {
    insta::assert_snapshot!(case, outcome.diff(".github/workflows/deploy.yml"));
}

fn single_role() -> RewriteOptions {
    RewriteOptions::with_role_arn(ROLE).expect("valid ARN")
}

#[test]
fn role_map_gives_staging_and_prod_their_own_roles() {
    let map = RoleMap::from_toml(
        r#"[roles]
"STAGING_*" = "arn:aws:iam::111111111111:role/staging"
"PROD_*" = "arn:aws:iam::222222222222:role/prod"
"#,
        "roles.toml",
    )
    .expect("valid map");
    let outcome = rewrite::rewrite(
        "staging-and-prod.yml",
        &fixture("staging-and-prod.yml"),
        &RewriteOptions::new(RoleSource::Map(map)),
    )
    .expect("rewrites");
    let staging = outcome
        .text
        .find("role-to-assume: arn:aws:iam::111111111111:role/staging")
        .expect("staging role");
    let prod = outcome
        .text
        .find("role-to-assume: arn:aws:iam::222222222222:role/prod")
        .expect("prod role");
    assert!(staging < prod, "the staging job comes first");
    snapshot_diff("role-map-staging-and-prod", &outcome);
}

#[test]
fn unmapped_secret_is_an_error_naming_file_line_and_secrets() {
    let map = RoleMap::from_toml(
        "[roles]\n\"STAGING_*\" = \"arn:aws:iam::111111111111:role/staging\"\n",
        "roles.toml",
    )
    .expect("valid map");
    let err = rewrite::rewrite(
        "staging-and-prod.yml",
        &fixture("staging-and-prod.yml"),
        &RewriteOptions::new(RoleSource::Map(map)),
    )
    .expect_err("prod secrets are not mapped");
    let RewriteError::UnmappedSecret {
        path,
        line,
        job,
        secrets,
    } = &err
    else {
        panic!("unexpected error {err}")
    };
    assert_eq!(
        (path.as_str(), *line, job.as_str()),
        ("staging-and-prod.yml", 23, "prod")
    );
    assert!(secrets.contains("PROD_AWS_ACCESS_KEY_ID"), "{err}");
    assert!(
        err.to_string()
            .starts_with("staging-and-prod.yml:23: job prod:"),
        "{err}"
    );
}

#[test]
fn bad_arn_and_invalid_yaml_are_typed_errors() {
    let err =
        RewriteOptions::with_role_arn("arn:aws:iam::123:role/x").expect_err("short account id");
    assert!(matches!(err, RewriteError::InvalidArn { .. }));
    assert!(
        err.to_string().contains("--role-arn")
            && err.to_string().contains("arn:aws:iam::123:role/x"),
        "{err}"
    );

    let err = rewrite::rewrite("bad.yml", "on: push\njobs:\n  a: [\n", &single_role())
        .expect_err("invalid YAML");
    let RewriteError::InvalidYaml { path, line, .. } = &err else {
        panic!("unexpected error {err}")
    };
    assert_eq!(path, "bad.yml");
    assert!(*line >= 3, "{err}");
    assert!(err.to_string().starts_with("bad.yml:"), "{err}");
}

#[test]
fn action_ref_option_is_used_for_bumps_and_inserted_steps() {
    let opts = single_role().with_action_ref("v5", true);
    let outcome = rewrite::rewrite(
        "staging-and-prod.yml",
        &fixture("staging-and-prod.yml"),
        &opts,
    )
    .expect("rewrites");
    assert_eq!(
        outcome
            .text
            .matches("aws-actions/configure-aws-credentials@v5")
            .count(),
        2
    );
    assert!(!outcome.text.contains("@v3") && !outcome.text.contains("@v6"));
    snapshot_diff("action-ref-v5", &outcome);
}

#[test]
fn v6_is_written_as_its_release_commit_unless_pinning_is_off() {
    let text = fixture("staging-and-prod.yml");
    let pinned = rewrite::rewrite("staging-and-prod.yml", &text, &single_role()).expect("rewrites");
    assert!(
        pinned.text.contains(
            "configure-aws-credentials@e6de054238d6b7531b4efff3b6587d9aade6a06c # v6.2.3"
        ),
        "{}",
        pinned.text
    );
    let moving = rewrite::rewrite(
        "staging-and-prod.yml",
        &text,
        &single_role().with_action_ref("v6", false),
    )
    .expect("rewrites");
    assert!(
        moving.text.contains("configure-aws-credentials@v6") && !moving.text.contains("e6de054")
    );
    snapshot_diff("v6-pinned", &pinned);
    snapshot_diff("v6-moving", &moving);
}

#[test]
fn sha_pins_stay_pinned() {
    let outcome = rewrite::rewrite(
        "p.yml",
        &fixture("permissions-shorthands.yml"),
        &single_role(),
    )
    .expect("rewrites");
    assert!(
        outcome.text.contains(
            "configure-aws-credentials@0123456789abcdef0123456789abcdef01234567 # v4.0.2"
        )
    );
    snapshot_diff("sha-pins", &outcome);
}

#[test]
fn anchored_env_is_left_alone_and_listed_manual() {
    let text = fixture("anchors.yml");
    let outcome = rewrite::rewrite("anchors.yml", &text, &single_role()).expect("rewrites");
    assert_eq!(outcome.text, text);
    assert!(
        outcome.manual.iter().all(|m| m.reason.contains("anchors")),
        "{:?}",
        outcome.manual
    );
    assert!(!outcome.manual.is_empty());
}

#[test]
fn crlf_file_stays_crlf() {
    let text = "on: push\r\njobs:\r\n  deploy:\r\n    runs-on: ubuntu-latest\r\n    env:\r\n      AWS_ACCESS_KEY_ID: ${{ secrets.AWS_ACCESS_KEY_ID }}\r\n      AWS_SECRET_ACCESS_KEY: ${{ secrets.AWS_SECRET_ACCESS_KEY }}\r\n      AWS_REGION: eu-west-1\r\n    steps:\r\n      - uses: actions/checkout@v4\r\n      - run: aws s3 ls\r\n";
    let outcome = rewrite::rewrite("crlf.yml", text, &single_role()).expect("rewrites");
    assert!(outcome.changed());
    assert!(
        !outcome.text.replace("\r\n", "").contains('\n'),
        "a bare LF crept in:\n{:?}",
        outcome.text
    );
    // `on: push` also runs on Dependabot's branches, where no OIDC token exists: the step
    // skips those runs.
    assert!(
        outcome.text.contains(
            "      - name: Configure AWS credentials (OIDC)\r\n        if: 'github.event.pull_request.head.repo.fork != true && github.actor != ''dependabot[bot]'''\r\n        uses: aws-actions/configure-aws-credentials@e6de054238d6b7531b4efff3b6587d9aade6a06c # v6.2.3\r\n"
        ),
        "{}",
        outcome.text
    );
    assert!(!outcome.text.contains("AWS_ACCESS_KEY_ID"));
}

#[test]
fn whole_env_goes_when_only_keys_were_in_it() {
    let text = "on: push\njobs:\n  deploy:\n    runs-on: ubuntu-latest\n    permissions:\n      contents: read\n    steps:\n      - uses: actions/checkout@v4\n      - run: aws s3 ls\n        env:\n          AWS_ACCESS_KEY_ID: ${{ secrets.K }}\n          AWS_SECRET_ACCESS_KEY: ${{ secrets.S }}\n          AWS_REGION: us-east-1\n";
    let outcome = rewrite::rewrite("w.yml", text, &single_role()).expect("rewrites");
    assert!(
        outcome
            .text
            .ends_with("      - run: aws s3 ls\n        env:\n          AWS_REGION: us-east-1\n"),
        "{}",
        outcome.text
    );
    assert!(outcome.text.contains(
        "      id-token: write  # needed by aws-actions/configure-aws-credentials (OIDC)\n"
    ));
    snapshot_diff("whole-env", &outcome);
}

#[test]
fn step_keys_overriding_an_assumed_role_stay_manual() {
    // Step 2 ran with its own keys, not the role of step 1: making it use that role would
    // change the account it works in.
    let text = "on: push\njobs:\n  deploy:\n    runs-on: ubuntu-latest\n    permissions:\n      contents: read\n      id-token: write\n    steps:\n      - uses: aws-actions/configure-aws-credentials@v4\n        with:\n          role-to-assume: arn:aws:iam::123456789012:role/x\n          aws-region: us-east-1\n      - run: aws s3 ls\n        env:\n          AWS_ACCESS_KEY_ID: ${{ secrets.K }}\n          AWS_SECRET_ACCESS_KEY: ${{ secrets.S }}\n";
    let outcome = rewrite::rewrite("w.yml", text, &single_role()).expect("rewrites");
    assert_eq!(outcome.text, text);
    assert_eq!(outcome.manual.len(), 1, "{:?}", outcome.manual);
    assert!(
        outcome.manual[0].reason.starts_with("distinct-key-pairs: "),
        "{:?}",
        outcome.manual
    );
}

#[test]
fn no_region_anywhere_leaves_the_finding_manual() {
    let text = "on: push\njobs:\n  deploy:\n    runs-on: ubuntu-latest\n    env:\n      AWS_ACCESS_KEY_ID: ${{ secrets.K }}\n      AWS_SECRET_ACCESS_KEY: ${{ secrets.S }}\n    steps:\n      - run: aws s3 ls\n";
    let outcome = rewrite::rewrite("w.yml", text, &single_role()).expect("rewrites");
    assert_eq!(outcome.text, text);
    assert_eq!(outcome.manual.len(), 1);
    // Scan already knows the rewrite has no region to write, and says what to do.
    assert!(
        outcome.manual[0].reason.starts_with("no AWS region found")
            && outcome.manual[0].reason.contains("AWS_REGION"),
        "{}",
        outcome.manual[0].reason
    );
}

#[test]
fn diff_has_a_and_b_headers() {
    let outcome = rewrite::rewrite(
        "staging-and-prod.yml",
        &fixture("staging-and-prod.yml"),
        &single_role(),
    )
    .expect("rewrites");
    let diff = outcome.diff(".github/workflows/deploy.yml");
    assert!(
        diff.starts_with(
            "--- a/.github/workflows/deploy.yml\n+++ b/.github/workflows/deploy.yml\n@@"
        ),
        "{diff}"
    );
    let unchanged = rewrite::rewrite(
        "n.yml",
        "on: push\njobs:\n  a:\n    runs-on: x\n    steps:\n      - run: echo\n",
        &single_role(),
    )
    .expect("rewrites");
    assert_eq!(unchanged.diff("n.yml"), "");
}

#[test]
fn pull_request_target_runs_for_forks_keep_their_credentials() {
    // `pull_request_target` runs for fork pull requests get the token and the secrets: the
    // guard on the inserted step must not skip them (it skips only `pull_request` from forks).
    let text = "on:\n  push:\n  pull_request_target:\njobs:\n  label:\n    runs-on: ubuntu-latest\n    env:\n      AWS_ACCESS_KEY_ID: ${{ secrets.K }}\n      AWS_SECRET_ACCESS_KEY: ${{ secrets.S }}\n      AWS_REGION: us-east-1\n    steps:\n      - run: aws s3 ls\n";
    let outcome = rewrite::rewrite("t.yml", text, &single_role()).expect("rewrites");
    assert!(
        outcome.text.contains(
            "        if: '(github.event.pull_request.head.repo.fork != true || github.event_name == ''pull_request_target'') && github.actor != ''dependabot[bot]'''\n"
        ),
        "{}",
        outcome.text
    );
    assert!(outcome.manual.is_empty(), "{:?}", outcome.manual);
    snapshot_diff("pull-request-target", &outcome);
}
