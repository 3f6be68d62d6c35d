//! Golden tests of `sub` derivation on the real workflows in `testdata/corpus/`: each expected
//! value was checked by hand against the workflow's `on:` and the job's `environment:`.

// A test that cannot unwrap has failed: panicking is the report.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::path::PathBuf;

use migrate::scan::{StepRecords, scan_paths};
use migrate::trust::naming::RoleNameTemplate;
use migrate::trust::plan::{self, RepoIdentity, TrustOptions, TrustPlan};
use migrate::trust::{AccountId, Issuer, RepoIds, Slug};

const CORPUS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/testdata/corpus");

fn plan_for(paths: &[PathBuf], ids: Option<&str>, allow_org_wide: bool) -> TrustPlan {
    let report = scan_paths(paths, StepRecords::Skip);
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    let identities: BTreeMap<_, _> = plan::roots_needing_roles(&report)
        .into_iter()
        .map(|root| {
            let identity = RepoIdentity {
                slug: Slug::parse("octo-org/octo-repo").unwrap(),
                ids: ids.map(|i| RepoIds::parse(i).unwrap()),
                // Not `main`, so default-branch subjects are visible in the expectations.
                default_branch: "trunk".into(),
                ..RepoIdentity::default()
            };
            (root, identity)
        })
        .collect();
    let options = TrustOptions {
        account: AccountId::parse("123456789012").unwrap(),
        issuer: Issuer::GitHubCom,
        template: RoleNameTemplate::default(),
        allow_org_wide,
        campaign: "test".into(),
    };
    plan::build_plan(&report, &identities, &options).unwrap()
}

fn corpus(file: &str) -> Vec<PathBuf> {
    vec![PathBuf::from(CORPUS).join(file)]
}

/// (role name, secrets, subs) of every role.
fn roles(plan: &TrustPlan) -> Vec<(String, Vec<String>, Vec<String>)> {
    plan.roles
        .iter()
        .map(|r| (r.name.clone(), r.secrets.clone(), r.subs.clone()))
        .collect()
}

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| s.to_string()).collect()
}

const KEYS: &[&str] = &["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"];

#[test]
fn push_branches_with_a_github_glob() {
    // on.push.branches: [main, 'feature**']; on.delete runs on the default branch (trunk here).
    let plan = plan_for(
        &corpus("009-121jigowatts-sam-java-app-pipeline-pipeline.yaml"),
        None,
        false,
    );
    assert_eq!(
        roles(&plan),
        vec![(
            "gha-octo-repo".into(),
            strings(KEYS),
            strings(&[
                "repo:octo-org/octo-repo:ref:refs/heads/feature*",
                "repo:octo-org/octo-repo:ref:refs/heads/main",
                "repo:octo-org/octo-repo:ref:refs/heads/trunk",
            ])
        )]
    );
    let condition = &plan.roles[0].trust_policy["Statement"][0]["Condition"];
    assert!(condition["StringLike"]["token.actions.githubusercontent.com:sub"].is_array());
    assert_eq!(
        condition["StringEquals"]["token.actions.githubusercontent.com:aud"],
        "sts.amazonaws.com"
    );
}

#[test]
fn push_tags() {
    // on.push.tags: ['**']
    let plan = plan_for(
        &corpus("022-JayDwee-dashboard-vue-s3-deploy.yml"),
        None,
        false,
    );
    assert_eq!(
        roles(&plan)[0].2,
        strings(&["repo:octo-org/octo-repo:ref:refs/tags/*"])
    );
}

#[test]
fn environments_replace_the_ref_and_split_key_pairs_into_roles() {
    // deploy-dev: environment development, *_DEV keys; deploy-prod and rollback: production.
    let plan = plan_for(
        &corpus("046-Lock128-speech-to-text-cdk-deploy.yml"),
        None,
        false,
    );
    assert_eq!(
        roles(&plan),
        vec![
            (
                "gha-octo-repo".into(),
                strings(KEYS),
                strings(&["repo:octo-org/octo-repo:environment:production"])
            ),
            (
                "gha-octo-repo-dev".into(),
                strings(&["AWS_ACCESS_KEY_ID_DEV", "AWS_SECRET_ACCESS_KEY_DEV"]),
                strings(&["repo:octo-org/octo-repo:environment:development"])
            ),
        ]
    );
    let condition = &plan.roles[0].trust_policy["Statement"][0]["Condition"];
    assert!(
        condition["StringLike"].is_null(),
        "exact subs use StringEquals"
    );
    assert_eq!(plan.roles[1].stage, "dev");
}

#[test]
fn immutable_prefix_adds_the_id_form() {
    let plan = plan_for(
        &corpus("046-Lock128-speech-to-text-cdk-deploy.yml"),
        Some("123456/456789"),
        false,
    );
    assert_eq!(
        roles(&plan)[1].2,
        strings(&[
            "repo:octo-org/octo-repo:environment:development",
            "repo:octo-org@123456/octo-repo@456789:environment:development",
        ])
    );
    assert!(!plan.warnings.iter().any(|w| w.contains("--repo-ids")));
    let without = plan_for(
        &corpus("046-Lock128-speech-to-text-cdk-deploy.yml"),
        None,
        false,
    );
    assert!(without.warnings.iter().any(|w| w.contains("--repo-ids")));
}

#[test]
fn pull_request_push_and_dispatch() {
    // push [main], pull_request [main], workflow_dispatch (default branch).
    let plan = plan_for(
        &corpus("019-Code-4-Community-branch-ci-cd.yml"),
        None,
        false,
    );
    assert_eq!(
        roles(&plan)[0].2,
        strings(&[
            "repo:octo-org/octo-repo:pull_request",
            "repo:octo-org/octo-repo:ref:refs/heads/main",
            "repo:octo-org/octo-repo:ref:refs/heads/trunk",
        ])
    );
    assert!(
        plan.warnings
            .iter()
            .any(|w| w.contains("deploy-backend") && w.contains("forks never get an OIDC token"))
    );
}

#[test]
fn schedule_uses_the_default_branch() {
    // schedule + workflow_dispatch
    let plan = plan_for(
        &corpus("032-ShivamJoker-Canvas-Lambda-Layer-publish-layer.yml"),
        None,
        false,
    );
    assert_eq!(
        roles(&plan)[0].2,
        strings(&["repo:octo-org/octo-repo:ref:refs/heads/trunk"])
    );
}

#[test]
fn environment_expression_gets_no_role_and_a_warning() {
    // environment: ${{ inputs.environment }} in a reusable workflow
    let plan = plan_for(
        &corpus("016-andrelopesmds-reusable-workflows-aws-cdk-deploy.yml"),
        None,
        false,
    );
    assert!(plan.roles.is_empty());
    assert!(
        plan.warnings
            .iter()
            .any(|w| w.contains("${{ inputs.environment }}") && w.contains("no wildcard"))
    );
}

#[test]
fn reusable_callee_needs_its_callers_or_org_wide_trust() {
    // on: workflow_call with access-key-id / secret-access-key secrets
    let file = corpus("001-ucdavis-lsit-actions-deploy.yml");
    let plan = plan_for(&file, None, false);
    assert!(plan.roles.is_empty());
    assert!(
        plan.warnings
            .iter()
            .any(|w| w.contains("calling workflow's `sub`"))
    );
    let org_wide = plan_for(&file, None, true);
    assert_eq!(roles(&org_wide)[0].2, strings(&["repo:octo-org/*"]));
}

#[test]
fn reusable_caller_presents_its_own_sub() {
    let dir = tempfile::tempdir().unwrap();
    let workflows = dir.path().join(".github/workflows");
    std::fs::create_dir_all(&workflows).unwrap();
    std::fs::write(
        workflows.join("caller.yml"),
        "on:\n  push:\n    branches: [release]\njobs:\n  ship:\n    uses: ./.github/workflows/callee.yml\n    secrets: inherit\n",
    )
    .unwrap();
    std::fs::write(
        workflows.join("callee.yml"),
        "on:\n  workflow_call:\njobs:\n  deploy:\n    runs-on: ubuntu-latest\n    steps:\n      - uses: aws-actions/configure-aws-credentials@v4\n        with:\n          aws-access-key-id: ${{ secrets.AWS_ACCESS_KEY_ID }}\n          aws-secret-access-key: ${{ secrets.AWS_SECRET_ACCESS_KEY }}\n          aws-region: us-east-1\n",
    )
    .unwrap();
    let plan = plan_for(&[dir.path().to_path_buf()], None, false);
    assert_eq!(
        roles(&plan),
        vec![(
            "gha-octo-repo".into(),
            strings(KEYS),
            strings(&["repo:octo-org/octo-repo:ref:refs/heads/release"])
        )]
    );
    assert!(
        plan.roles[0]
            .jobs
            .iter()
            .any(|j| j.job.as_deref() == Some("ship"))
    );
}

#[test]
fn every_corpus_role_has_a_valid_scoped_trust_policy() {
    let plan = plan_for(&[PathBuf::from(CORPUS)], Some("1/2"), false);
    assert!(plan.roles.len() >= 5, "{}", plan.roles.len());
    let account = AccountId::parse("123456789012").unwrap();
    for role in &plan.roles {
        migrate::trust::policy::validate_trust(
            &role.trust_policy.to_string(),
            &Issuer::GitHubCom,
            &account,
            false,
        )
        .unwrap_or_else(|e| panic!("{}: {e}", role.name));
        assert!(role.subs.iter().all(|s| s.starts_with("repo:octo-org")));
    }
}
