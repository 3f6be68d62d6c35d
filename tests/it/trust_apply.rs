//! `migrate trust --apply` against moto's IAM server (`AWS_ENDPOINT_URL_IAM`, set by CI with
//! static test credentials): creates provider and roles, reads them back, is idempotent,
//! refuses to overwrite a different trust policy, and changes nothing without confirmation.
//! Each test uses its own repository name, so the tests can share one moto server.

// A test that cannot unwrap has failed: panicking is the report.
#![allow(clippy::unwrap_used)]

use crate::common;

use common::Run;

use assert_cmd::Command;
use aws_sdk_iam::Client;
use serde_json::Value;

const FILE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/testdata/corpus/046-Lock128-speech-to-text-cdk-deploy.yml"
);
/// moto's default account.
const ACCOUNT: &str = "123456789012";

fn trust(repo: &str, extra: &[&str]) -> Run {
    let slug = format!("octo-org/{repo}");
    let output = Command::cargo_bin("migrate")
        .unwrap()
        .args(["trust", "--account-id", ACCOUNT, "--slug", &slug])
        .args(extra)
        .arg(FILE)
        .output()
        .unwrap();
    Run::of(output)
}

/// Whether IAM answers `NoSuchEntity` for the role.
fn role_missing(name: &str) -> bool {
    common::moto::iam(async |client: Client| {
        client
            .get_role()
            .role_name(name)
            .send()
            .await
            .err()
            .and_then(|e| {
                e.as_service_error()
                    .map(|s| s.is_no_such_entity_exception())
            })
    }) == Some(true)
}

fn decode(text: &str) -> Value {
    let decoded = migrate::trust::reconcile::decode_policy_document(text);
    serde_json::from_str(&decoded).unwrap()
}

#[test]
#[ignore = "needs moto's IAM server: run .ci/run, or set AWS_ENDPOINT_URL_IAM and pass --include-ignored"]
fn apply_creates_provider_and_roles_then_changes_nothing() {
    common::moto::require("`trust --apply`");
    let repo = common::moto::unique("create");
    let wanted: Value = serde_json::from_str(&trust(&repo, &["--format", "json"]).stdout).unwrap();

    let first = trust(&repo, &["--apply", "--yes"]);
    assert_eq!(first.code, 0, "{}", first.stderr);
    assert!(
        first.stdout.contains(&format!("created role gha-{repo} ")),
        "{}",
        first.stdout
    );
    assert!(
        first
            .stdout
            .contains(&format!("created role gha-{repo}-dev "))
    );

    let (trust_doc, policy_names, placeholder, tags, client_ids) =
        common::moto::iam(async |client: Client| {
            let role = client
                .get_role()
                .role_name(format!("gha-{repo}-dev"))
                .send()
                .await
                .unwrap();
            let role = role.role().unwrap().clone();
            let policies = client
                .list_role_policies()
                .role_name(format!("gha-{repo}-dev"))
                .send()
                .await
                .unwrap();
            let placeholder = client
                .get_role_policy()
                .role_name(format!("gha-{repo}-dev"))
                .policy_name(migrate::trust::policy::PLACEHOLDER_POLICY_NAME)
                .send()
                .await
                .unwrap()
                .policy_document()
                .to_string();
            let provider = client
                .get_open_id_connect_provider()
                .open_id_connect_provider_arn(format!(
                    "arn:aws:iam::{ACCOUNT}:oidc-provider/token.actions.githubusercontent.com"
                ))
                .send()
                .await
                .unwrap();
            (
                role.assume_role_policy_document().unwrap().to_string(),
                policies.policy_names().to_vec(),
                placeholder,
                role.tags()
                    .iter()
                    .map(|t| (t.key().to_string(), t.value().to_string()))
                    .collect::<Vec<_>>(),
                provider.client_id_list().to_vec(),
            )
        });
    assert_eq!(decode(&trust_doc), wanted["roles"][1]["trust_policy"]);
    assert_eq!(
        decode(&trust_doc)["Statement"][0]["Condition"]["StringEquals"]["token.actions.githubusercontent.com:sub"]
            [0],
        format!("repo:octo-org/{repo}:environment:development")
    );
    // The job runs `cdk bootstrap` (which deploys a stack with the role's own permissions)
    // before `cdk deploy`: the role's permissions are `copied`, and with no user named it
    // gets the placeholder, exactly as planned (`inferred_policies_are_bounded_by_the_old_user`
    // creates an inferred one).
    assert_eq!(
        policy_names,
        vec![migrate::trust::policy::PLACEHOLDER_POLICY_NAME]
    );
    assert_eq!(wanted["roles"][1]["permissions"], "copied");
    assert_eq!(
        decode(&placeholder),
        wanted["roles"][1]["permission_policy"]
    );
    assert!(tags.contains(&("migrate:campaign".into(), "static-keys-to-oidc".into())));
    assert!(client_ids.contains(&"sts.amazonaws.com".to_string()));

    let second = trust(&repo, &["--apply", "--yes"]);
    assert_eq!(second.code, 0, "{}", second.stderr);
    assert!(
        second.stdout.contains("nothing to change"),
        "{}",
        second.stdout
    );
    assert!(
        second
            .stdout
            .contains(&format!("unchanged role gha-{repo}-dev"))
    );
}

#[test]
#[ignore = "needs moto's IAM server: run .ci/run, or set AWS_ENDPOINT_URL_IAM and pass --include-ignored"]
fn apply_refuses_to_overwrite_a_different_trust_policy() {
    common::moto::require("`trust --apply`");
    let repo = common::moto::unique("conflict");
    assert_eq!(trust(&repo, &["--apply", "--yes"]).code, 0);
    let other = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Federated":"arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com"},"Action":"sts:AssumeRoleWithWebIdentity","Condition":{"StringEquals":{"token.actions.githubusercontent.com:aud":"sts.amazonaws.com","token.actions.githubusercontent.com:sub":"repo:someone/else:ref:refs/heads/main"}}}]}"#;
    common::moto::iam(async |client: Client| {
        client
            .update_assume_role_policy()
            .role_name(format!("gha-{repo}-dev"))
            .policy_document(other)
            .send()
            .await
            .unwrap();
    });
    let run = trust(&repo, &["--apply", "--yes"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stderr.contains(&format!(
            "conflict: role gha-{repo}-dev exists with a different trust policy"
        )),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("repo:someone/else:ref:refs/heads/main"));
    assert!(
        run.stderr
            .contains(&format!("repo:octo-org/{repo}:environment:development"))
    );
    assert!(run.stdout.contains(&format!("unchanged role gha-{repo}")));
    // Still the other policy: nothing was overwritten.
    let doc = common::moto::iam(async |client: Client| {
        let role = client
            .get_role()
            .role_name(format!("gha-{repo}-dev"))
            .send()
            .await
            .unwrap();
        role.role()
            .unwrap()
            .assume_role_policy_document()
            .unwrap()
            .to_string()
    });
    assert_eq!(decode(&doc), serde_json::from_str::<Value>(other).unwrap());
}

#[test]
#[ignore = "needs moto's IAM server: run .ci/run, or set AWS_ENDPOINT_URL_IAM and pass --include-ignored"]
fn apply_without_confirmation_changes_nothing() {
    common::moto::require("`trust --apply`");
    let repo = common::moto::unique("unconfirmed");
    let run = trust(&repo, &["--apply"]);
    assert_eq!(run.code, 1);
    assert!(run.stderr.contains("pass --yes"), "{}", run.stderr);
    assert!(
        run.stderr.contains(&format!("create role gha-{repo}")),
        "the plan is shown"
    );
    assert!(role_missing(&format!("gha-{repo}")));
}

/// Credentials without `iam:CreateRole` (moto does not enforce policies, so an IAM front
/// refuses the call as IAM would): the run says which permission is missing, fails, and
/// leaves no role behind.
#[test]
#[ignore = "needs moto's IAM server: run .ci/run, or set AWS_ENDPOINT_URL_IAM and pass --include-ignored"]
fn apply_denied_says_which_permission_is_missing() {
    common::moto::require("`trust --apply`");
    let front = common::moto::IamFront::start();
    front.deny("CreateRole");
    let repo = common::moto::unique("denied");
    let output = Command::cargo_bin("migrate")
        .unwrap()
        .args(["trust", "--account-id", ACCOUNT, "--slug"])
        .arg(format!("octo-org/{repo}"))
        .args(["--apply", "--yes", FILE])
        .env("AWS_ENDPOINT_URL_IAM", &front.url)
        .output()
        .unwrap();
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(
            "iam:CreateRole was denied: the credentials need the `iam:CreateRole` permission"
        ),
        "{stderr}"
    );
    assert!(role_missing(&format!("gha-{repo}")));
}

#[test]
#[ignore = "needs moto's IAM server: run .ci/run, or set AWS_ENDPOINT_URL_IAM and pass --include-ignored"]
fn apply_copies_the_permissions_of_an_iam_user() {
    common::moto::require("`trust --apply`");
    let repo = common::moto::unique("copy");
    let user = format!("deploy-bot-{repo}");
    let inline_doc = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:PutObject","Resource":"arn:aws:s3:::site/*"}]}"#;
    let group_doc = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"cloudfront:CreateInvalidation","Resource":"*"}]}"#;
    let managed_arn = common::moto::iam(async |client: Client| {
        client.create_user().user_name(&user).send().await.unwrap();
        let policy = client
            .create_policy()
            .policy_name(format!("managed-{repo}"))
            .policy_document(r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:ListBucket","Resource":"arn:aws:s3:::site"}]}"#)
            .send()
            .await
            .unwrap();
        let arn = policy.policy().unwrap().arn().unwrap().to_string();
        client
            .attach_user_policy()
            .user_name(&user)
            .policy_arn(&arn)
            .send()
            .await
            .unwrap();
        client
            .put_user_policy()
            .user_name(&user)
            .policy_name("upload")
            .policy_document(inline_doc)
            .send()
            .await
            .unwrap();
        let group = format!("deployers-{repo}");
        client
            .create_group()
            .group_name(&group)
            .send()
            .await
            .unwrap();
        client
            .add_user_to_group()
            .group_name(&group)
            .user_name(&user)
            .send()
            .await
            .unwrap();
        client
            .put_group_policy()
            .group_name(&group)
            .policy_name("invalidate")
            .policy_document(group_doc)
            .send()
            .await
            .unwrap();
        arn
    });

    let run = trust(
        &repo,
        &[
            "--apply",
            "--yes",
            "--permissions",
            "copied",
            "--copy-permissions-from",
            &user,
        ],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);

    let role = format!("gha-{repo}-dev");
    let (attached, inline) = common::moto::iam(async |client: Client| {
        let attached = client
            .list_attached_role_policies()
            .role_name(&role)
            .send()
            .await
            .unwrap()
            .attached_policies()
            .iter()
            .map(|p| p.policy_arn().unwrap().to_string())
            .collect::<Vec<_>>();
        let names = client
            .list_role_policies()
            .role_name(&role)
            .send()
            .await
            .unwrap()
            .policy_names()
            .to_vec();
        let mut inline = Vec::new();
        for name in names {
            let doc = client
                .get_role_policy()
                .role_name(&role)
                .policy_name(&name)
                .send()
                .await
                .unwrap()
                .policy_document()
                .to_string();
            inline.push((name, decode(&doc)));
        }
        inline.sort_by(|a, b| a.0.cmp(&b.0));
        (attached, inline)
    });
    assert_eq!(attached, vec![managed_arn]);
    assert_eq!(
        inline,
        vec![
            (
                format!("from-group-deployers-{repo}-invalidate"),
                serde_json::from_str::<Value>(group_doc).unwrap()
            ),
            (
                format!("from-user-{user}-upload"),
                serde_json::from_str::<Value>(inline_doc).unwrap()
            ),
        ]
    );
}

#[test]
#[ignore = "needs moto's IAM server: run .ci/run, or set AWS_ENDPOINT_URL_IAM and pass --include-ignored"]
fn apply_with_an_unknown_user_changes_nothing() {
    common::moto::require("`trust --apply`");
    let repo = common::moto::unique("nouser");
    let run = trust(
        &repo,
        &["--apply", "--yes", "--copy-permissions-from", "nobody-here"],
    );
    assert_eq!(run.code, 1);
    assert!(
        run.stderr.contains("IAM user `nobody-here` does not exist"),
        "{}",
        run.stderr
    );
    assert!(role_missing(&format!("gha-{repo}")));
}

/// `trust` on a checkout of `testdata/permissions`, for one repository name.
fn trust_command(repo: &str, case: &str, extra: &[&str]) -> Command {
    let slug = format!("octo-org/{repo}");
    let dir = format!("{}/testdata/permissions/{case}", env!("CARGO_MANIFEST_DIR"));
    let mut command = Command::cargo_bin("migrate").unwrap();
    command
        .args(["trust", "--account-id", ACCOUNT, "--slug", &slug])
        .args(["--default-branch", "main"])
        .args(extra)
        .arg(dir);
    command
}

/// `trust --apply` on a checkout of `testdata/permissions`, for one repository name.
fn trust_checkout(repo: &str, case: &str, extra: &[&str]) -> Run {
    Run::of(trust_command(repo, case, extra).output().unwrap())
}

/// A user with one inline policy; returns its name.
fn user_with_policy(repo: &str, label: &str, document: &str) -> String {
    let user = format!("ci-{label}-{repo}");
    common::moto::iam(async |client: Client| {
        client.create_user().user_name(&user).send().await.unwrap();
        client
            .put_user_policy()
            .user_name(&user)
            .policy_name("ci")
            .policy_document(document)
            .send()
            .await
            .unwrap();
    });
    user
}

/// The actions of the role's inferred inline policy, sorted.
fn inferred_actions(role: &str) -> Vec<String> {
    let doc = common::moto::iam(async |client: Client| {
        client
            .get_role_policy()
            .role_name(role)
            .policy_name("migrate-inferred-from-workflows")
            .send()
            .await
            .unwrap()
            .policy_document()
            .to_string()
    });
    let mut actions: Vec<String> = decode(&doc)["Statement"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|s| match &s["Action"] {
            Value::String(a) => vec![a.clone()],
            Value::Array(list) => list
                .iter()
                .map(|a| a.as_str().unwrap().to_string())
                .collect(),
            _ => Vec::new(),
        })
        .collect();
    actions.sort();
    actions.dedup();
    actions
}

#[test]
#[ignore = "needs moto's IAM server: run .ci/run, or set AWS_ENDPOINT_URL_IAM and pass --include-ignored"]
fn inferred_policies_are_bounded_by_the_old_user() {
    common::moto::require("`trust --apply` bounded by the user");
    // Broad user: everything the workflow needs is within `s3:*`.
    let repo = common::moto::unique("bound-broad");
    let broad = user_with_policy(
        &repo,
        "broad",
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}"#,
    );
    let run = trust_checkout(
        &repo,
        "s3-cli",
        &["--apply", "--yes", "--copy-permissions-from", &broad],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stderr.contains("every inferred permission is within"),
        "{}",
        run.stderr
    );
    assert_eq!(
        inferred_actions(&format!("gha-{repo}")),
        vec![
            "s3:DeleteObject",
            "s3:GetObject",
            "s3:ListBucket",
            "s3:PutObject",
            "s3:PutObjectAcl"
        ]
    );

    // Narrow user with an explicit Deny: uploads to the site only, deletes denied.
    let repo = common::moto::unique("bound-narrow");
    let narrow = user_with_policy(
        &repo,
        "narrow",
        r#"{"Version":"2012-10-17","Statement":[
            {"Effect":"Allow","Action":["s3:Put*","s3:DeleteObject"],"Resource":"arn:aws:s3:::www.example.com/*"},
            {"Effect":"Allow","Action":"s3:ListBucket","Resource":"arn:aws:s3:::www.example.com"},
            {"Effect":"Deny","Action":"s3:Delete*","Resource":"*"}]}"#,
    );
    let run = trust_checkout(
        &repo,
        "s3-cli",
        &["--apply", "--yes", "--copy-permissions-from", &narrow],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(
        inferred_actions(&format!("gha-{repo}")),
        vec!["s3:ListBucket", "s3:PutObject", "s3:PutObjectAcl"]
    );
    for expected in [
        "s3:DeleteObject on arn:aws:s3:::www.example.com/site/*, but IAM user ci-narrow",
        "is explicitly denied it",
        "s3:GetObject on arn:aws:s3:::build-artifacts/app/latest.zip, but IAM user",
        "is not allowed it",
        "s3:ListBucket on arn:aws:s3:::tmp-bucket",
    ] {
        assert!(run.stderr.contains(expected), "{expected}\n{}", run.stderr);
    }
}

#[test]
#[ignore = "needs moto's IAM server: run .ci/run, or set AWS_ENDPOINT_URL_IAM and pass --include-ignored"]
fn apply_shows_inferred_observed_and_granted_for_each_role() {
    common::moto::require("the evidence table");
    use common::moto::ServiceUse;
    let front = common::moto::IamFront::start();
    let repo = common::moto::unique("evidence");
    let user = user_with_policy(
        &repo,
        "evidence",
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:*","ec2:*"],"Resource":"*"}]}"#,
    );
    front.set_last_accessed(
        &user,
        vec![
            ServiceUse {
                namespace: "s3",
                name: "Amazon S3",
                last_authenticated: Some("2026-11-02T10:00:00Z"),
                actions: vec![
                    ("PutObject", Some("2026-11-02T10:00:00Z")),
                    ("DeleteObject", None),
                ],
            },
            ServiceUse {
                namespace: "ec2",
                name: "Amazon EC2",
                last_authenticated: Some("2026-10-01T08:00:00Z"),
                actions: vec![],
            },
            ServiceUse {
                namespace: "lambda",
                name: "AWS Lambda",
                last_authenticated: None,
                actions: vec![],
            },
        ],
    );
    let output = trust_command(
        &repo,
        "s3-cli",
        &["--apply", "--yes", "--copy-permissions-from", &user],
    )
    .env("AWS_ENDPOINT_URL_IAM", &front.url)
    .output()
    .unwrap();
    let run = Run::of(output);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let rows: Vec<String> = run
        .stderr
        .lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect();
    for expected in [
        format!("role gha-{repo}: inferred / observed / granted to IAM user {user}:"),
        "action inferred from the workflow observed (IAM last accessed) granted to the user".into(),
        "s3:PutObject yes (AwsS3SyncL20) used 2026-11-02T10:00:00Z yes".into(),
        "s3:DeleteObject yes (AwsS3RmL23) never used yes".into(),
        "s3:GetObject yes (AwsS3CpL22) service used 2026-11-02T10:00:00Z yes".into(),
        "ec2:* no service used 2026-10-01T08:00:00Z (not inferred)".into(),
    ] {
        assert!(rows.contains(&expected), "{expected}\n{}", run.stderr);
    }
    assert!(!run.stderr.contains("lambda:*"), "{}", run.stderr);
}

/// `--evidence cloudtrail`: the user's keys' CloudTrail calls (served by the IAM front) become
/// a column of the table, and what the keys called that the workflow does not seem to need is a
/// row of its own.
#[test]
#[ignore = "needs moto's IAM server: run .ci/run, or set AWS_ENDPOINT_URL_IAM and pass --include-ignored"]
fn apply_adds_the_keys_cloudtrail_calls_to_the_table() {
    common::moto::require("the CloudTrail evidence");
    use common::moto::TrailEvent;
    let front = common::moto::IamFront::start();
    let repo = common::moto::unique("trail");
    let user = user_with_policy(
        &repo,
        "trail",
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:*","ec2:*"],"Resource":"*"}]}"#,
    );
    let key = common::moto::iam(async |client: Client| {
        let key = client
            .create_access_key()
            .user_name(&user)
            .send()
            .await
            .unwrap();
        key.access_key().unwrap().access_key_id().to_string()
    });
    let at = migrate::campaign::time::parse("2026-11-20T09:00:00Z").unwrap();
    let event =
        |region: &'static str, time: i64, name: &'static str, source: &'static str| TrailEvent {
            region,
            time,
            source,
            name,
            source_ip: "4.148.0.1".into(),
        };
    front.set_key_events(
        &key,
        vec![
            event("eu-west-1", at, "PutBucketPolicy", "s3.amazonaws.com"),
            event("eu-west-1", at + 60, "PutBucketPolicy", "s3.amazonaws.com"),
            event("us-east-1", at + 120, "RunInstances", "ec2.amazonaws.com"),
            // Not among the regions asked for: not read.
            event("ap-south-1", at, "TerminateInstances", "ec2.amazonaws.com"),
        ],
    );
    let output = trust_command(
        &repo,
        "s3-cli",
        &[
            "--apply",
            "--yes",
            "--copy-permissions-from",
            &user,
            "--evidence",
            "cloudtrail",
            "--cloudtrail-regions",
            "eu-west-1,us-east-1",
        ],
    )
    .env("AWS_ENDPOINT_URL_IAM", &front.url)
    .env("AWS_ENDPOINT_URL_CLOUDTRAIL", &front.url)
    .output()
    .unwrap();
    let run = Run::of(output);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(!run.stderr.contains(&key), "{}", run.stderr);
    let rows: Vec<String> = run
        .stderr
        .lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect();
    for expected in [
        "action inferred from the workflow observed (IAM last accessed) observed (CloudTrail) granted to the user",
        "s3:PutObject yes (AwsS3SyncL20) no data data event: not in LookupEvents yes",
        "s3:PutBucketPolicy no no data 2 calls, last 2026-11-20T09:01:00Z (not inferred)",
        "ec2:RunInstances no no data 1 calls, last 2026-11-20T09:02:00Z (not inferred)",
    ] {
        assert!(
            rows.iter().any(|r| r == expected),
            "{expected}\n{}",
            run.stderr
        );
    }
    assert!(!run.stderr.contains("TerminateInstances"), "{}", run.stderr);
}

/// `--copy-permissions-from` without `--apply`: the user's managed policies (its own and its
/// groups') and inline policies are read from IAM and written into the Terraform and the
/// CloudFormation instead of the placeholder, IAM policy variables kept literal.
#[test]
#[ignore = "needs moto's IAM server: run .ci/run, or set AWS_ENDPOINT_URL_IAM and pass --include-ignored"]
fn copied_permissions_are_written_into_terraform_and_cloudformation() {
    common::moto::require("copied permissions in IaC");
    let repo = common::moto::unique("copied");
    let user = user_with_policy(
        &repo,
        "copied",
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:PutObject","Resource":"arn:aws:s3:::home/${aws:username}/*"}]}"#,
    );
    let managed = common::moto::iam(async |client: Client| {
        let policy = client
            .create_policy()
            .policy_name(format!("deploy-{repo}"))
            .policy_document(r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"lambda:UpdateFunctionCode","Resource":"*"}]}"#)
            .send()
            .await
            .unwrap();
        let arn = policy.policy().unwrap().arn().unwrap().to_string();
        client
            .attach_user_policy()
            .user_name(&user)
            .policy_arn(&arn)
            .send()
            .await
            .unwrap();
        arn
    });
    let emit = |format: &str| {
        let run = trust_checkout(
            &repo,
            "s3-cli",
            &[
                "--permissions",
                "copied",
                "--copy-permissions-from",
                &user,
                "--format",
                format,
            ],
        );
        assert_eq!(run.code, 0, "{}", run.stderr);
        run.stdout
    };
    let terraform = emit("terraform");
    for expected in [
        format!("# Permissions copied from IAM user {user} (1 managed, 1 inline)"),
        "resource \"aws_iam_role_policy_attachment\"".to_string(),
        format!("policy_arn = \"{managed}\""),
        "policy = <<-EOT".to_string(),
        "arn:aws:s3:::home/$${aws:username}/*".to_string(),
    ] {
        assert!(terraform.contains(&expected), "{expected}\n{terraform}");
    }
    assert!(
        !terraform.contains("TodoReplaceWithThePermissions"),
        "{terraform}"
    );
    let template: serde_json::Value = serde_json::from_str(&emit("cloudformation-json")).unwrap();
    let role = template["Resources"]
        .as_object()
        .unwrap()
        .values()
        .find(|r| r["Type"] == "AWS::IAM::Role")
        .unwrap();
    assert_eq!(
        role["Properties"]["ManagedPolicyArns"],
        serde_json::json!([managed])
    );
    let policies = role["Properties"]["Policies"].to_string();
    assert!(
        policies.contains("arn:aws:s3:::home/${aws:username}/*"),
        "{policies}"
    );
    assert!(
        !policies.contains("TodoReplaceWithThePermissions"),
        "{policies}"
    );
}

/// A user with more managed policies than a role takes by default: the Terraform still copies
/// them all, and a warning says that applying it fails past the tenth unless the quota is raised.
#[test]
#[ignore = "needs moto's IAM server: run .ci/run, or set AWS_ENDPOINT_URL_IAM and pass --include-ignored"]
fn copied_permissions_over_the_managed_policy_quota_are_named() {
    common::moto::require("the managed-policy quota warning");
    let repo = common::moto::unique("quota");
    let user = user_with_policy(
        &repo,
        "quota",
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:ListBucket","Resource":"*"}]}"#,
    );
    common::moto::iam(async |client: Client| {
        for i in 0..11 {
            let policy = client
                .create_policy()
                .policy_name(format!("quota-{repo}-{i}"))
                .policy_document(r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}"#)
                .send()
                .await
                .unwrap();
            client
                .attach_user_policy()
                .user_name(&user)
                .policy_arn(policy.policy().unwrap().arn().unwrap())
                .send()
                .await
                .unwrap();
        }
    });
    let run = trust_checkout(
        &repo,
        "s3-cli",
        &[
            "--permissions",
            "copied",
            "--copy-permissions-from",
            &user,
            "--format",
            "terraform",
        ],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(
        run.stdout.matches("aws_iam_role_policy_attachment").count(),
        11
    );
    assert!(
        run.stderr
            .contains(&format!("IAM user {user} has 11 managed policies"))
            && run.stderr.contains("fails past the 10th"),
        "{}",
        run.stderr
    );
}
