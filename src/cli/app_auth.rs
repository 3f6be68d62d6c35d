//! `--app-id`/`--app-key`: act as a GitHub App instead of a personal token (parsing and wiring).

use std::path::PathBuf;

use clap::Args;

use crate::github::app::AppCredentials;
use crate::github::{GitHubError, Identity};

/// GitHub App authentication, shared by every command that talks to GitHub.
#[derive(Args, Clone, Default)]
pub(crate) struct AppArgs {
    /// Act as this GitHub App (its numeric App ID) through its installation on the
    /// organization, instead of a personal token. Needs --app-key.
    #[arg(
        long,
        env = "MIGRATE_APP_ID",
        value_name = "ID",
        requires = "app_key",
        help_heading = "GitHub App"
    )]
    pub(crate) app_id: Option<u64>,

    /// The App's private key: the .pem file generated on the App's settings page.
    #[arg(
        long,
        env = "MIGRATE_APP_KEY",
        value_name = "FILE",
        requires = "app_id"
    )]
    pub(crate) app_key: Option<PathBuf>,
}

impl AppArgs {
    /// The App when --app-id/--app-key are given, else the personal token of today.
    pub(crate) fn identity(&self) -> Result<Identity, GitHubError> {
        match (self.app_id, &self.app_key) {
            (Some(id), Some(key)) => Ok(Identity::App(AppCredentials::load(id, key)?)),
            _ => Ok(Identity::Token),
        }
    }
}
