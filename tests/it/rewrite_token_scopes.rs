//! A job that ran on the repository's default token scopes keeps every scope it uses when the
//! rewrite gives it its first `permissions:` map, or is left to a person with a reason naming
//! the step; a caller of a local reusable workflow allows what its callees request, down every
//! level. Driven through the real binary.

use crate::common;

use common::{Run, migrate};

const ROLE: &str = "arn:aws:iam::123456789012:role/gha-deploy";

/// `migrate rewrite PATHS --role-arn ROLE` from the repository root.
fn rewrite(paths: &[&str]) -> Run {
    Run::of(
        migrate()
            .arg("rewrite")
            .args(paths)
            .args(["--role-arn", ROLE])
            .output()
            .expect("runs"),
    )
}

fn fixture(name: &str) -> String {
    format!("testdata/rewrite/{name}")
}

/// Rewrites one fixture, snapshots what the binary printed and returns it.
fn rewrite_fixture(name: &str, expected_code: i32) -> String {
    let run = rewrite(&[&fixture(name)]);
    assert_eq!(run.code, expected_code, "{}\n{}", run.stdout, run.stderr);
    insta::assert_snapshot!(name.replace('/', "__"), run.stdout);
    run.stdout
}

#[test]
fn a_container_job_on_ghcr_keeps_packages_read() {
    let out = rewrite_fixture("scopes-ghcr-container.yml", 0);
    assert!(
        out.contains("+      contents: read\n+      packages: read  # pulls ghcr.io/acme/build-image:1.4\n+      id-token: write"),
        "{out}"
    );
}

#[test]
fn a_service_container_on_ghcr_keeps_packages_read() {
    let out = rewrite_fixture("scopes-ghcr-services.yml", 0);
    assert!(
        out.contains("+      packages: read  # pulls ghcr.io/acme/postgres-fixtures:16\n"),
        "{out}"
    );
}

#[test]
fn docker_pull_and_push_to_ghcr_with_the_token_keeps_packages_write() {
    let out = rewrite_fixture("scopes-docker-pull-ghcr.yml", 0);
    assert!(
        out.contains("+      packages: write  # pushes images to ghcr.io\n"),
        "{out}"
    );
}

#[test]
fn github_script_gets_the_scopes_of_its_rest_calls() {
    let out = rewrite_fixture("scopes-github-script-comment.yml", 0);
    assert!(
        out.contains("+      contents: read\n+      issues: write  # github-script calls issues.createComment\n+      pull-requests: read  # github-script calls pulls.get\n+      id-token: write"),
        "{out}"
    );
    assert!(
        !out.contains("note:"),
        "no note stands in for a scope: {out}"
    );
}

#[test]
fn github_script_calling_graphql_is_manual_and_nothing_is_written() {
    let out = rewrite_fixture("scopes-github-script-graphql.yml", 10);
    assert!(!out.contains("+++"), "no diff: {out}");
    assert!(
        out.contains("step 3 (Mark ready): its github-script calls the GraphQL API"),
        "{out}"
    );
}

#[test]
fn a_release_action_keeps_contents_write() {
    let out = rewrite_fixture("scopes-release-action.yml", 0);
    assert!(
        out.contains("+    permissions:\n+      contents: write  # softprops/action-gh-release\n+      id-token: write"),
        "{out}"
    );
}

#[test]
fn gh_cli_commands_are_known_or_manual() {
    let out = rewrite_fixture("scopes-gh-cli.yml", 10);
    assert!(
        out.contains(
            "+    permissions:\n+      contents: write  # gh release upload\n+      id-token: write"
        ),
        "gh release upload needs contents: write: {out}"
    );
    assert!(
        out.contains("job announce ran with the repository's default token scopes and step 2: its script runs `gh api`"),
        "{out}"
    );
}

#[test]
fn callers_allow_what_their_local_callees_request_down_every_level() {
    let run = rewrite(&["testdata/rewrite/scopes-reusable"]);
    insta::assert_snapshot!("scopes-reusable", run.stdout);
    let out = &run.stdout;
    // One caller gets a map with its callee's scope, the caller of a caller too.
    for (file, callee) in [
        ("caller.yml", "deploy.yml"),
        ("nested-caller.yml", "middle.yml"),
    ] {
        let diff = out
            .split("--- a/")
            .find(|d| {
                d.starts_with(&format!(
                    "testdata/rewrite/scopes-reusable/.github/workflows/{file}"
                ))
            })
            .unwrap_or_else(|| panic!("{file} is rewritten: {out}"));
        assert!(
            diff.contains(&format!("+    permissions:\n+      contents: read\n+      pull-requests: write  # requested by ./.github/workflows/{callee}\n+      id-token: write")),
            "{file}: {diff}"
        );
    }
    // A caller whose own map does not allow the callee's scope is left to a person.
    assert!(
        out.contains(
            "manual: testdata/rewrite/scopes-reusable/.github/workflows/explicit-caller.yml:9:"
        ),
        "{out}"
    );
    assert!(
        out.contains(
            "whose jobs request pull-requests: write, which its `permissions:` do not allow"
        ),
        "{out}"
    );
    assert!(!out.contains("explicit-caller.yml\n+++"), "{out}");
    assert_eq!(run.code, 10, "{out}");
}

#[test]
fn a_caller_rewritten_without_its_callee_is_manual() {
    let run = rewrite(&["testdata/rewrite/scopes-reusable/.github/workflows/caller.yml"]);
    assert_eq!(run.code, 10, "{}", run.stdout);
    assert!(
        // Without its callee the caller can neither stop passing the secrets the callee
        // still expects nor see the permissions the callee requests.
        run.stdout.contains(
            "the callee ./.github/workflows/deploy.yml is not among the files of this run"
        ) && run.stdout.contains("rewrite them together"),
        "{}",
        run.stdout
    );
    assert!(!run.stdout.contains("+++"), "{}", run.stdout);
}
