//! `migrate rewrite`: the arguments, and local workflows rewritten to OIDC
//! ([`crate::rewrite::local`]), shown as diffs, `--explain` tables or JSON
//! ([`crate::report::rewrite`]) or written in place; `--org`/`--repo` goes to
//! [`super::rewrite_remote`].

use std::path::{Path, PathBuf};

use super::Error;
use super::rewrite_remote::RemoteSettings;
use crate::publish::Roles;
use crate::publish::run::RunSettings;
use crate::report::{self, exit};
use crate::rewrite::{RewriteOptions, RewriteOutcome, RoleMap, RoleSource, local};

mod args;
pub use args::*;

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
