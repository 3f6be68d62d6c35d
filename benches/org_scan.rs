//! Benchmark (not a test): `migrate scan --org` over a 2,000-repository fake organization
//! whose every request takes 50 ms, on a release build. Prints requests per repository for
//! discovery and contents, total requests, wall time and peak memory, beside the naive REST
//! count (list + tree + file per repository).
//!
//!     cargo bench --bench org_scan            # REPOS=500 LATENCY_MS=20 to shrink it

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
    let corpus = concat!(env!("CARGO_MANIFEST_DIR"), "/testdata/corpus");
    let mut files: Vec<(String, String)> = std::fs::read_dir(corpus)
        .expect("corpus")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "yml" || x == "yaml"))
        .map(|p| {
            (
                p.file_name()
                    .unwrap_or_default()
                    .to_string_lossy()
                    .into_owned(),
                std::fs::read_to_string(&p).unwrap_or_default(),
            )
        })
        .collect();
    files.sort();
    let mut world = World::default();
    for i in 0..repos {
        // Each repository gets two workflows of the corpus, round robin.
        let a = &files[i % files.len()];
        let b = &files[(i * 7 + 3) % files.len()];
        let pa = format!(".github/workflows/{}", a.0);
        let pb = format!(".github/workflows/{}", b.0);
        world.repo(
            "bench",
            &format!("repo-{i:05}"),
            &[
                (pa.as_str(), a.1.as_str()),
                (pb.as_str(), b.1.as_str()),
                ("README.md", "x\n"),
            ],
        );
    }
    let fake = FakeGitHub::start(world);
    fake.set_latency(Duration::from_millis(latency));
    let args = [
        "scan",
        "--org",
        "bench",
        "--format",
        "json",
        "--github-url",
        &fake.url,
    ];
    let (output, wall, peak_mb) = support::measure(&args.map(OsStr::new));
    let log = fake.log();
    let graphql = log.iter().filter(|l| l.operation == "graphql").count();
    let contents = log
        .iter()
        .filter(|l| l.operation == "repos/get-content")
        .count();
    let doc: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap_or_default();
    println!("repositories: {repos}, latency {latency} ms per request");
    println!("findings: {}", doc["summary"]["findings"]);
    println!(
        "discovery + contents: {} requests ({:.3} per repository); naive REST (list + tree + file): {}",
        graphql + contents,
        (graphql + contents) as f64 / repos as f64,
        repos.div_ceil(100) + repos * 3
    );
    println!(
        "all requests (incl. secrets and OIDC templates of repositories with findings): {}",
        log.len()
    );
    println!("wall {:.1} s, peak RSS {peak_mb} MB", wall.as_secs_f64());
}
