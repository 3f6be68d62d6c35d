//! `migrate cleanup`'s arguments (clap derive, with the examples `--help` shows): the campaign, the
//! soak, `--require-verified`, `--delete-users` and `--yes`.

use std::path::PathBuf;

use clap::Args;

use crate::cli::session::CampaignArgs;

#[derive(Args)]
#[command(
    after_help = "Key map (--key-map FILE, TOML): each value is an IAM user name (all of its
access keys) or an access key id, or a list of them.

  [repos]
  \"acme/api\" = \"ci-api\"
  \"acme/web\" = [\"AKIAIOSFODNN7EXAMPLE\"]

  [secrets]    # by secret name, wherever the campaign finds it
  ORG_AWS_ACCESS_KEY_ID = \"ci-shared\"

Examples:
  migrate cleanup --org acme --key-map keys.toml --dry-run
  migrate cleanup --org acme --org globex --key-map keys.toml --dry-run
  migrate cleanup --key-map keys.toml
  migrate cleanup --key-map keys.toml --delete-keys --soak 7d
  migrate cleanup --delete-keys --soak 7d --delete-users

Exit codes: 0 done (or nothing to do), 20 some repositories refused, 21 not confirmed,
1 a write failed or tool error, 2 usage"
)]
pub struct CleanupArgs {
    #[command(flatten)]
    pub campaign: CampaignArgs,

    /// Map of secrets / repositories to IAM users or access key ids (see below). Remembered in
    /// the ledger; required the first time.
    #[arg(long, value_name = "FILE")]
    pub key_map: Option<PathBuf>,

    /// Do not ask; required without a terminal.
    #[arg(long)]
    pub yes: bool,

    /// Show the plan and change nothing.
    #[arg(long)]
    pub dry_run: bool,

    /// Also delete keys deactivated at least --soak ago and not used since.
    #[arg(long)]
    pub delete_keys: bool,

    /// With --delete-keys: how long a key must have been inactive (and unused) first.
    #[arg(long, default_value = "7d", requires = "delete_keys")]
    pub soak: String,

    /// With --delete-keys: also delete each IAM user left with no access key and no other
    /// credential (its policies and groups are detached first and recorded for undo).
    #[arg(long, requires = "delete_keys")]
    pub delete_users: bool,

    /// Refuse repositories whose merge no successful run of a migrated workflow has verified
    /// yet (`status` shows them as `pr_merged` rather than `verified`).
    #[arg(long)]
    pub require_verified: bool,

    /// Deactivate keys even when they were used after the PR merged.
    #[arg(long)]
    pub force_used_keys: bool,
}
