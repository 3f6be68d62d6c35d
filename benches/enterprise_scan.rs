//! Benchmark (not a test): `migrate scan` across an enterprise's organizations, each read
//! through its own GitHub App installation token and governor, against the same repositories
//! as one organization read with one personal token. Every request to the fake GitHub takes
//! 50 ms. Prints requests, wall time and peak memory of both runs.
//!
//!     cargo bench --bench enterprise_scan     # ORGS=20 REPOS=500 LATENCY_MS=50 by default

#[path = "../tests/it/common/fake_github/mod.rs"]
#[allow(dead_code, clippy::all)]
mod fake_github;
mod support;

use std::ffi::OsStr;
use std::time::Duration;

use fake_github::app::{FakeApp, TestAppKey};
use fake_github::{FakeGitHub, World};

const DEPLOY: &str = "on: push
jobs:
  deploy:
    runs-on: ubuntu-latest
    steps:
      - uses: aws-actions/configure-aws-credentials@v4
        with:
          aws-access-key-id: ${{ secrets.AWS_ACCESS_KEY_ID }}
          aws-secret-access-key: ${{ secrets.AWS_SECRET_ACCESS_KEY }}
          aws-region: us-east-1
      - run: aws s3 sync site s3://bucket
";

const CI: &str =
    "on: push\njobs:\n  test:\n    runs-on: ubuntu-latest\n    steps:\n      - run: make test\n";

/// `orgs` organizations of `repos` repositories; one in ten deploys with static keys.
fn world(orgs: &[String], repos: usize) -> World {
    let mut world = World::default();
    for org in orgs {
        world.org(org);
        for i in 0..repos {
            let workflow = if i % 10 == 0 { DEPLOY } else { CI };
            let repo = world.repo(
                org,
                &format!("repo-{i:05}"),
                &[(".github/workflows/main.yml", workflow)],
            );
            if i % 10 == 0 {
                repo.secrets = vec!["AWS_ACCESS_KEY_ID".into(), "AWS_SECRET_ACCESS_KEY".into()];
            }
        }
    }
    world
}

fn report(label: &str, fake: &FakeGitHub, output: &std::process::Output, wall: Duration, mb: u64) {
    let doc: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap_or_default();
    let repositories = doc["repositories"].as_array().map_or(0, Vec::len);
    let log = fake.log();
    let app = log
        .iter()
        .filter(|l| l.operation.starts_with("apps/"))
        .count();
    println!(
        "{label}: {repositories} repositories, {} requests ({app} of them App installation and token calls), wall {:.1} s, peak RSS {mb} MB",
        log.len(),
        wall.as_secs_f64()
    );
}

fn main() {
    let org_count = support::knob("ORGS", 20) as usize;
    let repos = support::knob("REPOS", 500) as usize;
    let latency = Duration::from_millis(support::knob("LATENCY_MS", 50));
    println!(
        "{org_count} organizations x {repos} repositories, {} ms per request",
        latency.as_millis()
    );

    // The enterprise: every organization through its own installation.
    let orgs: Vec<String> = (0..org_count).map(|i| format!("org-{i:02}")).collect();
    let key = TestAppKey::generate();
    let dir = std::env::temp_dir().join(format!("migrate-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("scratch dir");
    let key_file = dir.join("app.pem");
    std::fs::write(&key_file, &key.private_pem).expect("key file");
    let fake = FakeGitHub::start(world(&orgs, repos));
    let mut app = FakeApp::new(4242, &key);
    let permissions = serde_json::json!({
        "metadata": "read", "contents": "read", "actions": "read", "secrets": "read",
        "environments": "read", "organization_secrets": "read", "organization_administration": "read",
    });
    for (i, org) in orgs.iter().enumerate() {
        app.install(100 + i as u64, org, permissions.clone());
    }
    fake.set_app(app);
    fake.set_latency(latency);
    let mut args: Vec<&OsStr> = vec![OsStr::new("scan")];
    for org in &orgs {
        args.extend([OsStr::new("--org"), OsStr::new(org.as_str())]);
    }
    args.extend(
        [
            "--format",
            "json",
            "--github-url",
            fake.url.as_str(),
            "--app-id",
            "4242",
        ]
        .map(OsStr::new),
    );
    args.extend([OsStr::new("--app-key"), key_file.as_os_str()]);
    let (output, wall, mb) = support::measure(&args);
    report(
        "enterprise, one installation per organization",
        &fake,
        &output,
        wall,
        mb,
    );
    drop(fake);

    // The same repositories as one organization, one personal token.
    let one = vec!["single".to_string()];
    let fake = FakeGitHub::start(world(&one, org_count * repos));
    fake.set_latency(latency);
    let args = [
        "scan",
        "--org",
        "single",
        "--format",
        "json",
        "--github-url",
        &fake.url,
    ];
    let (output, wall, mb) = support::measure(&args.map(OsStr::new));
    report("one organization, one token", &fake, &output, wall, mb);
    let _ = std::fs::remove_dir_all(&dir);
}
