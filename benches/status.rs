//! Benchmark (not a test): `migrate status --org` over a 2,000-repository campaign on the fake
//! GitHub with 50 ms per request, twice (a fresh ledger, then the ledger the first run left),
//! on a release build. Every tenth repository has an environment; every fourth has a merged
//! campaign pull request and a successful run of the migrated workflow since. Prints wall
//! time, requests (and how many were answered `304 Not Modified`) and peak memory. GitHub
//! only (`--no-aws`): IAM is not part of what this measures.
//!
//!     cargo bench --bench status              # REPOS=500 LATENCY_MS=20 to shrink it

#[path = "../tests/it/common/fake_github/mod.rs"]
#[allow(dead_code, clippy::all)]
mod fake_github;
mod support;

use std::ffi::OsStr;
use std::time::Duration;

use fake_github::{FakeGitHub, World};

fn main() {
    let repos = support::knob("REPOS", 2000) as usize;
    let latency = support::knob("LATENCY_MS", 50);
    let deploy = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/testdata/corpus/058-DEVROOM-OFFICIAL-DEVROOM-backend-lambda-deploy.yml"
    ))
    .expect("corpus file");
    let mut world = World::default();
    for i in 0..repos {
        let repo = world.repo(
            "bench",
            &format!("repo-{i:05}"),
            &[(".github/workflows/deploy.yml", &deploy)],
        );
        repo.secrets = vec!["AWS_ACCESS_KEY_ID".into(), "AWS_SECRET_ACCESS_KEY".into()];
        if i % 10 == 0 {
            repo.environments
                .insert("production".into(), vec!["AWS_SECRET_ACCESS_KEY".into()]);
        }
        if i % 4 == 0 {
            let slug = format!("bench/repo-{i:05}");
            let n = world.open_pull(
                &slug,
                "migrate/aws-oidc",
                &[(".github/workflows/deploy.yml", "on: push\njobs: {}\n")],
            );
            world.merge(&slug, n);
            world.run(&slug, ".github/workflows/deploy.yml", "success", 0);
        }
    }
    let fake = FakeGitHub::start(world);
    fake.set_latency(Duration::from_millis(latency));
    let dir = std::env::temp_dir().join(format!("migrate-status-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let ledger = dir.join("campaign.db");
    println!("repositories: {repos}, latency {latency} ms per request");
    for run in ["fresh ledger", "second run"] {
        let before = fake.log().len();
        let args = [
            OsStr::new("status"),
            OsStr::new("--org"),
            OsStr::new("bench"),
            OsStr::new("--format"),
            OsStr::new("json"),
            OsStr::new("--github-url"),
            OsStr::new(&fake.url),
            OsStr::new("--no-aws"),
            OsStr::new("--campaign"),
            ledger.as_os_str(),
        ];
        let (output, wall, peak_mb) = support::measure(&args);
        let log = fake.log();
        let not_modified = log[before..].iter().filter(|l| l.status == 304).count();
        let doc: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap_or_default();
        println!(
            "{run}: wall {:.1} s, {} requests ({not_modified} answered 304), peak RSS {} MB, exit {:?}, totals {}",
            wall.as_secs_f64(),
            log.len() - before,
            peak_mb,
            output.status.code(),
            doc["totals"]
        );
    }
    std::fs::remove_dir_all(&dir).ok();
}
