//! `migrate rewrite`: the arguments, and local workflows rewritten to OIDC
//! ([`crate::rewrite::local`]), shown as diffs, `--explain` tables or JSON
//! ([`crate::report::rewrite`]) or written in place; `--org`/`--repo` goes to
//! [`super::rewrite_remote`].

use std::path::{Path, PathBuf};

use clap::{Args, ValueEnum};

use super::ColorChoice;
use super::Error;
use super::remote_args::RemoteArgs;
use super::rewrite_remote::RemoteSettings;
use crate::publish::Roles;
use crate::publish::run::RunSettings;
use crate::report::{self, exit};
use crate::rewrite::{self, RewriteOptions, RewriteOutcome, RoleMap, RoleSource, local};

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
    paths: Vec<PathBuf>,

    /// One role for every key pair (`arn:aws:iam::<account>:role/NAME`); with --org/--repo it
    /// may contain `{owner}` and `{repo}`.
    #[arg(
        long,
        value_name = "ARN",
        conflicts_with = "role_map",
        required_unless_present = "role_map"
    )]
    role_arn: Option<String>,

    /// A role map: TOML (secret name, glob or `owner/repo:SECRET` -> role ARN) or the JSON
    /// that `migrate trust --format json` writes.
    #[arg(long, value_name = "FILE")]
    role_map: Option<PathBuf>,

    /// `OWNER/REPO` of local files, for role-map entries that name a repository.
    #[arg(long, value_name = "OWNER/REPO")]
    slug: Option<String>,

    #[command(flatten)]
    remote: RemoteArgs,

    /// With --org/--repo: push one branch and open (or update) one pull request per repository.
    #[arg(long)]
    pr: bool,

    /// With --pr: print what would be done and write nothing.
    #[arg(long)]
    dry_run: bool,

    /// With --pr: open pull requests as drafts.
    #[arg(long)]
    draft: bool,

    /// With --pr: labels for new pull requests (repeatable).
    #[arg(long)]
    label: Vec<String>,

    /// With --pr: before publishing, check that each migrated job, each way it runs, would be
    /// allowed to assume its role (GetRole, ListOpenIDConnectProviders; AWS credentials from
    /// the standard chain); the table goes into the pull request body.
    #[arg(long)]
    preflight: bool,

    /// With --preflight: the OIDC issuer's GitHub host (GHES: `https://HOST/_services/token`).
    /// Default: the host of --github-url.
    #[arg(long, value_name = "HOST")]
    github_host: Option<String>,

    /// With --preflight: the GHEC enterprise slug when the enterprise uses its unique issuer.
    #[arg(long, value_name = "SLUG")]
    enterprise_slug: Option<String>,

    /// With --pr: the campaign ledger that journals every write.
    #[arg(long, value_name = "FILE", default_value = crate::campaign::DEFAULT_LEDGER)]
    campaign: PathBuf,

    /// With --org/--repo: send at most N GitHub requests, then stop cleanly (exit 13).
    /// Published pull requests stay; the same command run again finds them up to date and
    /// goes on with the rest.
    #[arg(long, value_name = "N")]
    max_requests: Option<u64>,

    /// Print, per file, each step's credentials before and after the rewrite (the
    /// credential-flow model) and what blocks an automatic move; changes nothing.
    #[arg(long, conflicts_with_all = ["write", "pr"])]
    explain: bool,

    /// Apply the changes in place (atomically); without it, only show diffs.
    #[arg(long)]
    write: bool,

    /// configure-aws-credentials ref for inserted steps and bumped old refs. A known release
    /// (`v6` is v6.2.3) is written as its commit SHA with a `# v6.2.3` comment.
    #[arg(long, default_value = rewrite::DEFAULT_ACTION_REF)]
    action_ref: String,

    /// Write --action-ref as given even when it names a known release (a moving tag).
    #[arg(long)]
    no_pin: bool,

    #[arg(long, value_enum, default_value_t)]
    format: Format,

    #[arg(long, value_enum, default_value_t)]
    color: ColorChoice,
}

/// `--role-map FILE`, read; a file that cannot be read or parsed is a usage error.
fn read_role_map(path: &Path) -> Result<RoleMap, Error> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| Error::Usage(format!("{}: {e}", path.display())))?;
    RoleMap::from_file_text(&text, &path.display().to_string())
        .map_err(|e| Error::Usage(e.to_string()))
}

/// The role source from `--role-arn` or `--role-map`.
fn role_source(role_arn: Option<&str>, role_map: Option<&Path>) -> Result<RoleSource, Error> {
    match (role_arn, role_map) {
        (Some(arn), _) => RewriteOptions::with_role_arn(arn)
            .map(|o| o.roles)
            .map_err(|e| Error::Usage(e.to_string())),
        (None, Some(path)) => read_role_map(path).map(RoleSource::Map),
        (None, None) => Err(Error::Usage("give --role-arn or --role-map".into())),
    }
}

pub fn run(mut args: RewriteArgs) -> Result<u8, Error> {
    if args.remote.target().is_some() || args.remote.is_fleet() {
        args.remote.budget = args.max_requests.map(crate::github::RequestBudget::new);
        return super::rewrite_remote::run(&args.remote, &remote_settings(&args)?);
    }
    if args.max_requests.is_some() {
        return Err(Error::Usage(
            "--max-requests limits GitHub requests: use it with --org or --repo".into(),
        ));
    }
    if args.pr {
        return Err(Error::Usage("--pr needs --org or --repo".into()));
    }
    let roles = role_source(args.role_arn.as_deref(), args.role_map.as_deref())?;
    let mut opts = RewriteOptions::new(roles).with_action_ref(&args.action_ref, !args.no_pin);
    opts.repo = args.slug.clone();
    let paths = if args.paths.is_empty() {
        vec![PathBuf::from(".")]
    } else {
        args.paths.clone()
    };
    let (explain, json) = (args.explain, matches!(args.format, Format::Json));
    let piece = |path: &Path, outcome: &RewriteOutcome| {
        if explain {
            report::rewrite::explain_piece(path, outcome)
        } else {
            report::rewrite::diff_piece(path, outcome, json)
        }
    };
    let run = local::rewrite_paths(&paths, opts, args.write, &piece);
    let errors = run.errors();
    let text = match (explain, json) {
        (true, _) => report::rewrite::explain(&run, &errors),
        (false, false) => report::rewrite::diff(&run, &errors, args.write, args.color.enabled()),
        (false, true) => report::rewrite::json(&run, &errors, args.write),
    };
    Ok(match super::print(&text) {
        exit::CLEAN => report::rewrite::exit_code(&run, &errors),
        failed => failed,
    })
}

fn remote_settings(args: &RewriteArgs) -> Result<RemoteSettings, Error> {
    let roles = match (&args.role_arn, &args.role_map) {
        (Some(template), _) => Roles::Template(template.clone()),
        (None, Some(path)) => Roles::Map(read_role_map(path)?),
        (None, None) => return Err(Error::Usage("give --role-arn or --role-map".into())),
    };
    Ok(RemoteSettings {
        run: RunSettings {
            roles,
            action_ref: args.action_ref.clone(),
            pin: !args.no_pin,
            publish: args.pr && !args.dry_run,
            draft: args.draft,
            labels: args.label.clone(),
        },
        campaign: args.campaign.clone(),
        json: matches!(args.format, Format::Json),
        color: args.color.enabled(),
        preflight: args.preflight.then(|| {
            crate::preflight::issuer(
                args.github_host.as_deref(),
                &args.remote.github_url,
                args.enterprise_slug.as_deref(),
            )
        }),
    })
}
