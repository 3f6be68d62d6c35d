//! `migrate trust`: scan local checkouts (or an organization's repositories on GitHub), then
//! print the OIDC provider and IAM roles their jobs need as Terraform, CloudFormation or JSON.
//! This layer parses the arguments, reads GitHub (the repositories, through `RemoteArgs`) and
//! IAM (`trust_apply`), and writes stdout and the warnings on stderr; what the plan is made
//! from, checkouts and git included, is [`crate::trust::source`]'s.

use super::Error;
use super::remote_args::fetch_remote;
use crate::report::exit;
use crate::trust::checkout::CheckoutHints;
use crate::trust::emit::{self, EmitOptions};
use crate::trust::naming::RoleNameTemplate;
use crate::trust::plan::{TrustOptions, TrustPlan};
use crate::trust::source::Scanned;
use crate::trust::{AccountId, Issuer, RepoIds, Slug};

mod args;
pub use args::*;

/// What the command produces: text for stdout, or a plan to apply to IAM.
enum Outcome {
    Text(String),
    Apply(Box<TrustPlan>),
}

fn plan_and_render(args: &TrustArgs, warnings: &mut Vec<String>) -> Result<Outcome, Error> {
    // Check every argument before scanning, so a typo fails fast.
    let options = TrustOptions {
        account: AccountId::parse(&args.account_id)?,
        issuer: Issuer::new(args.github_host.as_deref(), args.enterprise_slug.as_deref())?,
        template: RoleNameTemplate::parse(&args.role_name_template)?,
        allow_org_wide: args.allow_org_wide,
        campaign: args.campaign.clone(),
    };
    if let Some(slug) = &args.slug {
        Slug::parse(slug)?;
    }
    if let Some(ids) = &args.repo_ids {
        RepoIds::parse(ids)?;
    }
    let choice = args.permissions.choice();
    let step_records = choice.step_records();
    let scanned = match args.remote.target() {
        Some(target) => {
            Scanned::from_github(fetch_remote(&args.remote, &target, step_records)?, warnings)?
        }
        None => {
            let hints = CheckoutHints {
                slug: args.slug.as_deref(),
                repo_ids: args.repo_ids.as_deref(),
                default_branch: args.default_branch.as_deref(),
            };
            Scanned::from_checkouts(&args.paths, step_records, hints, warnings)?
        }
    };
    let copied_will_be_read = args.copy_permissions_from.is_some();
    let mut plan = scanned.plan(&options, choice, copied_will_be_read, warnings)?;
    if args.apply {
        return Ok(Outcome::Apply(Box::new(plan)));
    }
    if let Some(user) = &args.copy_permissions_from {
        super::trust_apply::copy_permissions(&mut plan, user, args.trail_regions(), warnings)
            .map_err(Error::CopyPermissions)?;
    }
    let emit_options = EmitOptions {
        existing_provider: args.existing_provider,
    };
    Ok(Outcome::Text(match args.format {
        Format::Terraform => emit::terraform::render(&plan, emit_options),
        Format::Cloudformation => emit::cloudformation::render_yaml(&plan, emit_options),
        Format::CloudformationJson => emit::cloudformation::render_json(&plan, emit_options),
        Format::Json => emit::json::render(&plan, emit_options),
        Format::RoleMap => emit::role_map::render(&plan),
    }))
}

pub fn run(args: TrustArgs) -> Result<u8, Error> {
    args.remote.single_org("trust")?;
    let mut warnings = Vec::new();
    let result = plan_and_render(&args, &mut warnings);
    super::print_warnings(&warnings);
    match result? {
        Outcome::Text(text) => Ok(super::print(&text)),
        Outcome::Apply(plan) => {
            super::trust_apply::apply(
                &plan,
                args.yes,
                args.copy_permissions_from.as_deref(),
                args.trail_regions(),
            )?;
            Ok(exit::CLEAN)
        }
    }
}
