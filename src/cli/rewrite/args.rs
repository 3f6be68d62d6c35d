//! `migrate rewrite`'s arguments (clap derive, with the examples `--help` shows): the paths or
//! GitHub repositories, the role (`--role-arn` or `--role-map`), the action pin, `--write`/`--pr`,
//! the output format and colour.

use std::path::PathBuf;

use clap::{Args, ValueEnum};

use crate::cli::ColorChoice;
use crate::cli::remote_args::RemoteArgs;
use crate::rewrite::{self};

#[derive(Clone, Copy, Debug, Default, ValueEnum)]
pub enum Format {
    /// Unified diffs, then what was left to a person.
    #[default]
    Diff,
    /// Versioned JSON: per file, the changes, manual findings, notes and diff.
    Json,
}

#[derive(Args)]
#[command(after_help = "Examples:
  migrate rewrite . --role-arn arn:aws:iam::123456789012:role/gha-deploy
  migrate rewrite . --role-map roles.toml --write
  migrate rewrite .github/workflows/deploy.yml --role-map roles.toml --explain
  migrate rewrite .github/workflows/deploy.yml --role-arn ARN --action-ref v5
  migrate rewrite --org acme --role-arn 'arn:aws:iam::123456789012:role/gha-{repo}' --pr --dry-run
  migrate rewrite --org acme --role-map trust.json --pr --label security --draft
  migrate rewrite --org acme --org globex --app-id 4242 --app-key app.pem --role-map trust.json --pr

Role map (TOML; the most specific key wins):
  [roles]
  AWS_ACCESS_KEY_ID = \"arn:aws:iam::111111111111:role/deploy\"
  \"*_STAGING\" = \"arn:aws:iam::222222222222:role/staging\"
  \"octo-org/web:AWS_ACCESS_KEY_ID\" = \"arn:aws:iam::333333333333:role/web\"

Exit codes: 0 done, 10 findings left for a person, 11 some files or repositories could not be
rewritten, 12 both, 1 tool error, 2 usage")]
pub struct RewriteArgs {
    /// Files and directories to rewrite (walked like `scan`). Default: `.`.
    #[arg(conflicts_with_all = ["org", "repo"])]
    pub paths: Vec<PathBuf>,

    /// One role for every key pair (`arn:aws:iam::<account>:role/NAME`); with --org/--repo it
    /// may contain `{owner}` and `{repo}`.
    #[arg(
        long,
        value_name = "ARN",
        conflicts_with = "role_map",
        required_unless_present = "role_map"
    )]
    pub role_arn: Option<String>,

    /// A role map: TOML (secret name, glob or `owner/repo:SECRET` -> role ARN) or the JSON
    /// that `migrate trust --format json` writes.
    #[arg(long, value_name = "FILE")]
    pub role_map: Option<PathBuf>,

    /// `OWNER/REPO` of local files, for role-map entries that name a repository.
    #[arg(long, value_name = "OWNER/REPO")]
    pub slug: Option<String>,

    #[command(flatten)]
    pub remote: RemoteArgs,

    /// With --org/--repo: push one branch and open (or update) one pull request per repository.
    #[arg(long)]
    pub pr: bool,

    /// With --pr: print what would be done and write nothing.
    #[arg(long)]
    pub dry_run: bool,

    /// With --pr: open pull requests as drafts.
    #[arg(long)]
    pub draft: bool,

    /// With --pr: labels for new pull requests (repeatable).
    #[arg(long)]
    pub label: Vec<String>,

    /// With --pr: before publishing, check that each migrated job, each way it runs, would be
    /// allowed to assume its role (GetRole, ListOpenIDConnectProviders; AWS credentials from
    /// the standard chain); the table goes into the pull request body.
    #[arg(long)]
    pub preflight: bool,

    /// With --preflight: the OIDC issuer's GitHub host (GHES: `https://HOST/_services/token`).
    /// Default: the host of --github-url.
    #[arg(long, value_name = "HOST")]
    pub github_host: Option<String>,

    /// With --preflight: the GHEC enterprise slug when the enterprise uses its unique issuer.
    #[arg(long, value_name = "SLUG")]
    pub enterprise_slug: Option<String>,

    /// With --pr: the campaign ledger that journals every write.
    #[arg(long, value_name = "FILE", default_value = crate::campaign::DEFAULT_LEDGER)]
    pub campaign: PathBuf,

    /// With --org/--repo: send at most N GitHub requests, then stop cleanly (exit 13).
    /// Published pull requests stay; the same command run again finds them up to date and
    /// goes on with the rest.
    #[arg(long, value_name = "N")]
    pub max_requests: Option<u64>,

    /// Print, per file, each step's credentials before and after the rewrite (the
    /// credential-flow model) and what blocks an automatic move; changes nothing.
    #[arg(long, conflicts_with_all = ["write", "pr"])]
    pub explain: bool,

    /// Apply the changes in place (atomically); without it, only show diffs.
    #[arg(long)]
    pub write: bool,

    /// configure-aws-credentials ref for inserted steps and bumped old refs. A known release
    /// (`v6` is v6.2.3) is written as its commit SHA with a `# v6.2.3` comment.
    #[arg(long, default_value = rewrite::DEFAULT_ACTION_REF)]
    pub action_ref: String,

    /// Write --action-ref as given even when it names a known release (a moving tag).
    #[arg(long)]
    pub no_pin: bool,

    #[arg(long, value_enum, default_value_t)]
    pub format: Format,

    #[arg(long, value_enum, default_value_t)]
    pub color: ColorChoice,
}
