//! The HTML dashboard in a real browser: `status --format html --output FILE` against the
//! fake GitHub, rendered by headless Chromium (`.ci/run` installs Debian's `chromium`), whose
//! DOM must show the totals, the blockers and every repository; a screenshot is saved to
//! `target/tmp/dashboard.png`.

use crate::common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::fake_github::{FakeGitHub, TOKEN, World};
use common::{Run, migrate};

const DEPLOY: &str = ".github/workflows/deploy.yml";
const OLD: &str = "on: push\njobs:\n  deploy:\n    runs-on: ubuntu-latest\n    steps:\n      - uses: aws-actions/configure-aws-credentials@v4\n        with:\n          aws-access-key-id: ${{ secrets.AWS_ACCESS_KEY_ID }}\n          aws-secret-access-key: ${{ secrets.AWS_SECRET_ACCESS_KEY }}\n          aws-region: us-east-1\n";
const MIGRATED: &str = "on: push\njobs:\n  deploy:\n    runs-on: ubuntu-latest\n    permissions:\n      id-token: write\n    steps:\n      - uses: aws-actions/configure-aws-credentials@v6\n        with:\n          role-to-assume: arn:aws:iam::123456789012:role/gha-api\n          aws-region: us-east-1\n";

fn chromium() -> PathBuf {
    for name in ["chromium", "chromium-browser", "google-chrome"] {
        for dir in std::env::var("PATH").unwrap_or_default().split(':') {
            let candidate = Path::new(dir).join(name);
            if candidate.is_file() {
                return candidate;
            }
        }
    }
    panic!(
        "no Chromium on PATH: `.ci/run` installs Debian's `chromium` (apt-get install -y chromium)"
    );
}

fn headless(args: &[&str]) -> String {
    let output = Command::new(chromium())
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
        ])
        .args(args)
        .output()
        .expect("chromium runs");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn status(fake: &FakeGitHub, ledger: &Path, extra: &[&str]) -> Run {
    let output = migrate()
        .args(["status", "--org", "acme", "--no-aws"])
        .args(extra)
        .args(["--github-url", &fake.url])
        .arg("--campaign")
        .arg(ledger)
        .env("GH_TOKEN", TOKEN)
        .output()
        .expect("runs");
    Run::of(output)
}

#[test]
fn the_dashboard_renders_in_chromium() {
    let mut world = World::default();
    world.repo("acme", "api", &[(DEPLOY, OLD)]);
    world.repo("acme", "web", &[(DEPLOY, OLD)]);
    world.repo("acme", "docs", &[("README.md", "docs\n")]);
    let fake = FakeGitHub::start(world);
    let dir = tempfile::tempdir().expect("tempdir");
    let ledger = dir.path().join("campaign.db");
    // A first observation for the burndown, before anything moved.
    let first = status(&fake, &ledger, &[]);
    assert_eq!(first.code, 0, "{}", first.stderr);
    fake.with(|s| {
        let n = s.world.open_pull("acme/api", "migrate/aws-oidc", &[(DEPLOY, MIGRATED)]);
        s.world.merge("acme/api", n);
        s.world.failed_run(
            "acme/api",
            DEPLOY,
            ("main", "push", "failure"),
            0,
            &[("deploy", "failure", "2026-11-25T10:00:01.2000000Z ##[error]Could not assume role with OIDC: Incorrect token audience\n")],
        );
        s.world.open_pull("acme/web", "migrate/aws-oidc", &[(DEPLOY, MIGRATED)]);
    });
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let page = dir.path().join("dashboard.html");
    let run = status(
        &fake,
        &ledger,
        &[
            "--format",
            "html",
            "--output",
            page.to_str().expect("utf-8 path"),
        ],
    );
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    let html = std::fs::read_to_string(&page).expect("page written");
    assert!(
        !html.contains("<script") && !html.contains("src=\"http"),
        "self-contained"
    );

    let url = format!("file://{}", page.display());
    let dom = headless(&["--dump-dom", &url]);
    for text in [
        "acme: static AWS keys → OIDC",
        "3 repositories",
        "<td>acme/api</td>",
        "<td>acme/web</td>",
        "<td>acme/docs</td>",
        ">failing</span>",
        ">pr_open</span>",
        ">clean</span>",
        "<b>audience</b> (1): acme/api",
        "repositories still holding static keys: <b>",
    ] {
        assert!(
            dom.contains(text),
            "{text} not in the rendered page:\n{dom}"
        );
    }
    // Two observations: two points on each burndown line.
    assert_eq!(dom.matches("<circle").count(), 4, "{dom}");
    let shot = Path::new(env!("CARGO_TARGET_TMPDIR")).join("dashboard.png");
    headless(&[
        &format!("--screenshot={}", shot.display()),
        "--window-size=1280,1000",
        &url,
    ]);
    let png = std::fs::read(&shot).expect("screenshot written");
    assert!(
        png.starts_with(b"\x89PNG") && png.len() > 10_000,
        "a real screenshot"
    );
}
