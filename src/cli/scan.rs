//! `migrate scan`: find static AWS key material in local workflows and composite actions.

use std::path::PathBuf;

use clap::{Args, ValueEnum};

use super::ColorChoice;
use crate::report::{self, exit};
use crate::scan;

#[derive(Clone, Copy, Debug, Default, ValueEnum)]
pub enum Format {
    /// Findings grouped by file with source snippets.
    #[default]
    Human,
    /// Versioned JSON (schema in the README).
    Json,
    /// SARIF 2.1.0, for GitHub code scanning.
    Sarif,
    /// GitHub Actions workflow-command annotations.
    Github,
}

#[derive(Args)]
#[command(
    after_help = "Examples:\n  migrate scan .\n  migrate scan .github/workflows/deploy.yml\n  migrate scan --format sarif . > migrate.sarif\n\n\
Exit codes: 0 clean, 10 findings, 11 some files could not be scanned, 12 both, 1 tool error, 2 usage"
)]
pub struct ScanArgs {
    /// Files and directories to scan (directories are walked; `.git`, `target`,
    /// `node_modules` are skipped).
    #[arg(default_value = ".")]
    paths: Vec<PathBuf>,

    #[arg(long, value_enum, default_value_t)]
    format: Format,

    #[arg(long, value_enum, default_value_t)]
    color: ColorChoice,
}

pub fn run(args: ScanArgs) -> u8 {
    let report = scan::scan_paths(&args.paths);
    let text = match args.format {
        Format::Human => {
            report::human::render(&report, &report::human::Palette::new(args.color.enabled()))
        }
        Format::Json => report::json::render(&report),
        Format::Sarif => report::sarif::render(&report),
        Format::Github => report::github::render(&report),
    };
    match super::print(&text) {
        exit::CLEAN => report::exit_code(&report),
        failed => failed,
    }
}
