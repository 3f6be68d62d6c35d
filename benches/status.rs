//! Benchmark (not a test): `migrate status --org` over a 2,000-repository campaign on the fake
//! GitHub with 50 ms per request, twice (a fresh ledger, then the ledger the first run left),
//! on a release build. Prints wall time, requests and peak memory.
//!
//!     cargo bench --bench status              # REPOS=500 LATENCY_MS=20 to shrink it

#[path = "../tests/common/fake_github/mod.rs"]
#[allow(dead_code, clippy::all)]
mod fake_github;

use std::process::Command;
use std::time::{Duration, Instant};

use fake_github::{FakeGitHub, TOKEN, World};

fn main() {
    let repos: usize = std::env::var("REPOS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2000);
    let latency: u64 = std::env::var("LATENCY_MS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(50);
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
    }
    let fake = FakeGitHub::start(world);
    fake.set_latency(Duration::from_millis(latency));
    let dir = std::env::temp_dir().join(format!("migrate-status-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let ledger = dir.join("campaign.db");
    println!("repositories: {repos}, latency {latency} ms per request");
    for run in ["fresh ledger", "second run"] {
        let before = fake.log().len();
        let started = Instant::now();
        let output = Command::new("/usr/bin/time")
            .args(["-f", "%M"])
            .arg(env!("CARGO_BIN_EXE_migrate"))
            .args([
                "status",
                "--org",
                "bench",
                "--format",
                "json",
                "--github-url",
                &fake.url,
                "--campaign",
            ])
            .arg(&ledger)
            .env("GH_TOKEN", TOKEN)
            .output()
            .expect("runs /usr/bin/time migrate");
        let wall = started.elapsed();
        let peak_kb = String::from_utf8_lossy(&output.stderr)
            .lines()
            .last()
            .unwrap_or("0")
            .trim()
            .parse::<u64>()
            .unwrap_or(0);
        println!(
            "{run}: wall {:.1} s, {} requests, peak RSS {} MB, exit {:?}",
            wall.as_secs_f64(),
            fake.log().len() - before,
            peak_kb / 1024,
            output.status.code()
        );
    }
    std::fs::remove_dir_all(&dir).ok();
}
