//! What the benchmarks share: knobs from the environment and timing one `migrate` run.

use std::process::{Command, Output};
use std::time::{Duration, Instant};

/// A number from the environment (`REPOS`, `LATENCY_MS`), or the default.
pub fn knob(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Runs the release `migrate` with `args` under `/usr/bin/time`: its output, wall time and
/// peak resident memory in MB.
pub fn measure(args: &[&std::ffi::OsStr]) -> (Output, Duration, u64) {
    let started = Instant::now();
    let output = Command::new("/usr/bin/time")
        .args(["-f", "%M"])
        .arg(env!("CARGO_BIN_EXE_migrate"))
        .args(args)
        .env("GH_TOKEN", super::fake_github::TOKEN)
        .output()
        .expect("runs /usr/bin/time migrate");
    let wall = started.elapsed();
    let peak_kb: u64 = String::from_utf8_lossy(&output.stderr)
        .lines()
        .last()
        .unwrap_or("0")
        .trim()
        .parse()
        .unwrap_or(0);
    (output, wall, peak_kb / 1024)
}
