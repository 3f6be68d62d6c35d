//! The command line's one error type. A command returns `Result<u8, Error>` (the exit code of
//! a run that went to its end, or why it could not); `cli::main` renders the error once —
//! `error: …`, then the `help:` line its message carries where the user can act — and maps it
//! to its exit code.

use crate::campaign::LedgerError;
use crate::campaign::reconcile::CampaignError;
use crate::github::GitHubError;
use crate::iam::IamError;
use crate::report::exit;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Arguments that cannot work together, or a value that does not parse (exit 2).
    #[error("{0}")]
    Usage(String),
    #[error(transparent)]
    GitHub(#[from] GitHubError),
    #[error(transparent)]
    Campaign(#[from] CampaignError),
    #[error(transparent)]
    Ledger(#[from] LedgerError),
    #[error(transparent)]
    Iam(#[from] IamError),
    /// A destructive step with no confirmation to go on (exit 21).
    #[error("{0}")]
    NotConfirmed(String),
    /// A bad `trust` argument value, or a plan that would be unsafe.
    #[error(transparent)]
    Trust(#[from] crate::trust::TrustError),
    /// The repositories behind the workflows `trust` scanned cannot be known.
    #[error(transparent)]
    TrustSource(#[from] crate::trust::source::SourceError),
    #[error("--copy-permissions-from: {0}")]
    CopyPermissions(super::trust_apply::ApplyError),
    #[error(transparent)]
    Apply(#[from] super::trust_apply::ApplyError),
    #[error("cannot start the runtime: {0}")]
    Runtime(std::io::Error),
    /// A failure a command words itself (exit 1).
    #[error("{0}")]
    Failed(String),
}

impl Error {
    pub fn exit_code(&self) -> u8 {
        match self {
            Self::Usage(_) => exit::USAGE,
            Self::NotConfirmed(_) => exit::NOT_CONFIRMED,
            _ => exit::TOOL_ERROR,
        }
    }

    /// `error: …` on stderr (the message's own `help:` line included).
    pub fn render(&self) -> u8 {
        eprintln!("error: {self}");
        self.exit_code()
    }
}
