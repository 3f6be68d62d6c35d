//! Errors from talking to GitHub, each with a one-line help where the user can act.

use std::time::Duration;

#[derive(Debug, Clone, thiserror::Error)]
pub enum GitHubError {
    /// No token in GH_TOKEN / GITHUB_TOKEN and `gh auth token` gave none. User error.
    #[error(
        "no GitHub token for {host}: set GH_TOKEN (or GITHUB_TOKEN), or log in with `gh auth login --hostname {host}`"
    )]
    NoToken { host: String },
    /// The token was rejected (401).
    #[error("GitHub rejected the token (401): check that GH_TOKEN is current")]
    Unauthorized,
    /// A workflow file write refused for lack of the `workflow` scope or `workflows` permission.
    #[error(
        "{message}\nhelp: a classic token needs the `workflow` scope (gh auth refresh -s workflow); a GitHub App or fine-grained token needs `Workflows: write`"
    )]
    WorkflowScope { message: String },
    /// 403 for another reason: the token cannot see or change this.
    #[error(
        "{what}: forbidden (403): {message}\nhelp: the token lacks access; a classic token needs `repo` (and `admin:org` for organization secrets)"
    )]
    Forbidden { what: String, message: String },
    #[error("{what}: not found (404), or the token cannot see it")]
    NotFound { what: String },
    /// 409/422: the request conflicts with remote state.
    #[error("{what}: {status}: {message}")]
    Rejected {
        what: String,
        status: u16,
        message: String,
    },
    /// Rate limited for longer than we are willing to wait.
    #[error(
        "rate limited: GitHub asks to wait {wait:?}, more than the {cap:?} cap\nhelp: run again after the reset, or raise --max-rate-wait"
    )]
    RateLimited { wait: Duration, cap: Duration },
    /// `--max-requests` is spent: the request was not sent.
    #[error(
        "not read: the run's request budget (--max-requests {limit}) is spent\nhelp: run the same command again to continue where this run stopped"
    )]
    BudgetSpent { limit: u64 },
    /// 5xx or connection failures that did not go away after retries.
    #[error("{what}: {message} (after {attempts} attempts)")]
    Unavailable {
        what: String,
        message: String,
        attempts: u32,
    },
    #[error("GitHub GraphQL error: {0}")]
    GraphQl(String),
    /// The response did not have the shape GitHub documents. Likely a bug in migrate or the server.
    #[error("{what}: unexpected response: {message}")]
    BadResponse { what: String, message: String },
    #[error("invalid --github-url `{0}`")]
    BadUrl(String),
    /// `--app-key` could not be read or is not an RSA private key.
    #[error(
        "cannot use the GitHub App key {}: {message}\nhelp: --app-key takes the private key (.pem) generated on the App's settings page", path.display()
    )]
    AppKey {
        path: std::path::PathBuf,
        message: String,
    },
    /// `GET /orgs/{org}/installation` answered 404.
    #[error(
        "the GitHub App is not installed on {org} (or --app-id names another App)\nhelp: install it on the organization (App settings > Install App), or drop --app-id to use a personal token"
    )]
    AppNotInstalled { org: String },
    /// GitHub refused the App's JWT or the installation token request.
    #[error(
        "GitHub refused the GitHub App's credentials: {message}\nhelp: check that --app-id and --app-key belong to the same App and that this machine's clock is right"
    )]
    AppRejected { message: String },
    /// `enterprise(slug:)` came back empty: this token cannot see the enterprise.
    #[error(
        "cannot list the organizations of enterprise {slug}: {message}\nhelp: listing an enterprise needs a personal token of an enterprise member (an organization's App installation cannot see the enterprise, nor can GitHub Enterprise Server); name each organization with --org instead"
    )]
    EnterpriseHidden { slug: String, message: String },
    /// `--repo`s of several owners with a GitHub App, which acts through one installation.
    #[error(
        "with --app-id, every --repo must belong to one owner (here: {owners})\nhelp: run once per owner, or use --org for each organization with `scan`"
    )]
    AppOwners { owners: String },
    /// A repository or organization outside every connection this run opened.
    #[error("no GitHub connection reaches {owner} in this run")]
    NoConnection { owner: String },
    /// The installation lacks permissions the command needs; nothing was changed.
    #[error(
        "the GitHub App's installation on {org} lacks what `{task}` needs: {missing}\nhelp: grant them in the App's settings (Permissions & events), then have an owner of {org} accept the new permissions; nothing was changed"
    )]
    MissingPermissions {
        org: String,
        task: String,
        missing: String,
    },
}

impl GitHubError {
    pub fn is_not_found(&self) -> bool {
        matches!(self, Self::NotFound { .. })
    }
}
