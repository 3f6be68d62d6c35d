//! The command line: argument parsing (clap derive) and dispatch to one module per command.

mod app_auth;
mod cleanup;
mod error;
mod progress;
mod remote_args;
mod rewrite;
mod rewrite_remote;
mod scan;
mod session;
mod status;
mod trust;
mod trust_apply;
mod undo;

use std::io::{BufRead, IsTerminal, Write};
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};

use crate::report::exit;
pub(crate) use error::Error;

#[derive(Parser)]
#[command(
    name = "migrate",
    version,
    about = "Move GitHub Actions from static AWS access keys to OIDC",
    long_about = "Move GitHub Actions from static AWS access keys to OIDC.\n\n\
        `scan` finds every workflow, reusable workflow and composite action that feeds static AWS key \
        material to a job; `trust` prints (or applies) the OIDC provider and IAM roles those jobs \
        need; `rewrite` moves the workflows to `role-to-assume` with `id-token: write`; `status`, \
        `cleanup` and `undo` run the campaign to its end: old keys deactivated, old secrets deleted.",
    after_help = "A campaign over an organization, step by step:
  1. migrate scan --org acme
  2. migrate trust --org acme --account-id 123456789012 --apply
  3. migrate trust --org acme --account-id 123456789012 --format role-map > roles.toml
  4. migrate rewrite --org acme --role-map roles.toml --pr
  5. migrate status --org acme            (once the pull requests are merged)
  6. migrate cleanup --org acme --key-map keys.toml
     migrate undo                          (if something breaks)

On local files:
  migrate scan .
  migrate rewrite . --role-arn arn:aws:iam::123456789012:role/gha-deploy --write"
)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Find static AWS key material in workflows, reusable workflows and composite actions.
    Scan(scan::ScanArgs),
    /// Rewrite workflows to assume a role with OIDC instead of using static keys.
    Rewrite(rewrite::RewriteArgs),
    /// Print the OIDC provider and IAM roles the scanned workflows need (Terraform, CloudFormation, JSON).
    Trust(Box<trust::TrustArgs>),
    /// Campaign status per repository, reconciled from GitHub and IAM (table, JSON, Markdown).
    Status(Box<status::StatusArgs>),
    /// Deactivate old IAM keys and delete old secrets of repositories whose migration is merged.
    Cleanup(Box<cleanup::CleanupArgs>),
    /// Reactivate keys the campaign deactivated; list deleted secrets with commands to recreate them.
    Undo(undo::UndoArgs),
}

#[derive(Clone, Copy, Debug, Default, ValueEnum)]
pub enum ColorChoice {
    #[default]
    Auto,
    Always,
    Never,
}

impl ColorChoice {
    /// Color only on a terminal, and never when NO_COLOR is set.
    pub fn enabled(self) -> bool {
        match self {
            Self::Always => true,
            Self::Never => false,
            Self::Auto => std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none(),
        }
    }
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Scan(args) => scan::run(args),
        Command::Rewrite(args) => rewrite::run(args),
        Command::Trust(args) => trust::run(*args),
        Command::Status(args) => status::run(*args),
        Command::Cleanup(args) => cleanup::run(*args),
        Command::Undo(args) => undo::run(args),
    };
    // The one place a command's error is rendered.
    ExitCode::from(result.unwrap_or_else(|e| e.render()))
}

/// Writes to stdout; a closed pipe (`migrate scan | head`) is not an error.
pub(crate) fn print(text: &str) -> u8 {
    print_with(|out| out.write_all(text.as_bytes()))
}

/// Writes `warning: …` lines to stderr in one write (stderr is unbuffered: `eprintln!` costs a
/// system call per piece of every line, and a plan may carry hundreds of warnings).
pub(crate) fn print_warnings(warnings: &[String]) {
    if warnings.is_empty() {
        return;
    }
    let mut text = String::with_capacity(warnings.iter().map(|w| w.len() + 10).sum());
    for warning in warnings {
        text.push_str("warning: ");
        text.push_str(warning);
        text.push('\n');
    }
    // Nowhere left to report a failure to write to stderr.
    let _ = std::io::stderr().lock().write_all(text.as_bytes());
}

/// The line typed at `prompt` (written to stderr), trimmed; `None` when stdin is not a terminal:
/// nothing destructive goes ahead on an answer no person gave (automation passes `--yes`).
pub(crate) fn ask(prompt: &str) -> Option<String> {
    if !std::io::stdin().is_terminal() {
        return None;
    }
    eprint!("{prompt}");
    std::io::stderr().flush().ok();
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer).ok();
    Some(answer.trim().to_string())
}

/// Whether `answer` (from [`ask`]) says yes to a `[y/N]` question.
pub(crate) fn is_yes(answer: &str) -> bool {
    matches!(answer, "y" | "Y" | "yes")
}

/// [`print`] for output written piece by piece (through a buffer).
pub(crate) fn print_with(write: impl FnOnce(&mut dyn Write) -> std::io::Result<()>) -> u8 {
    let mut out = std::io::BufWriter::with_capacity(1 << 16, std::io::stdout().lock());
    match write(&mut out).and_then(|()| out.flush()) {
        Ok(()) => exit::CLEAN,
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => exit::CLEAN,
        Err(e) => {
            eprintln!("error: cannot write output: {e}");
            exit::TOOL_ERROR
        }
    }
}
