//! Progress of a GitHub read on stderr: a repositories-done bar on a terminal (nothing
//! otherwise), and the run's estimate before a long one.

use crate::budget;
use crate::scan::remote;

/// Progress on stderr, only on a terminal.
pub(crate) struct Bar(Option<indicatif::ProgressBar>);

impl Bar {
    /// A repositories-done bar on stderr when it is a terminal; nothing otherwise.
    pub(crate) fn new() -> Self {
        use std::io::IsTerminal;
        Self(std::io::stderr().is_terminal().then(|| {
            let bar = indicatif::ProgressBar::new(0);
            bar.set_style(
                indicatif::ProgressStyle::with_template("{spinner} repositories {pos}/{len} {msg}")
                    .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
            );
            bar
        }))
    }
}

/// A long run's estimate of requests and time, on stderr before it starts.
pub(crate) fn show_estimate(estimate: &budget::Estimate) {
    eprintln!("estimate: {}", budget::render(estimate));
}

impl remote::Progress for Bar {
    fn estimated(&self, estimate: &budget::Estimate) {
        show_estimate(estimate);
    }

    fn discovered(&self, done: usize, total: usize, requests: u64) {
        if let Some(bar) = &self.0 {
            bar.set_length(total.max(done) as u64);
            bar.set_position(done as u64);
            bar.set_message(format!("{requests} requests"));
        }
    }

    fn finished(&self) {
        if let Some(bar) = &self.0 {
            bar.finish_and_clear();
        }
    }
}
