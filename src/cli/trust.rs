//! `migrate trust`: scan local checkouts (or an organization's repositories on GitHub), then
//! print the OIDC provider and IAM roles their jobs need as Terraform, CloudFormation or JSON.
//! This layer parses the arguments, reads GitHub (the repositories, through `RemoteArgs`) and
//! IAM (`trust_apply`), and writes stdout and the warnings on stderr; what the plan is made
//! from, checkouts and git included, is [`crate::trust::source`]'s.

use std::path::PathBuf;

use clap::{Args, ValueEnum};

use super::Error;
use super::remote_args::{RemoteArgs, fetch_remote};
use crate::report::exit;
use crate::trust::checkout::CheckoutHints;
use crate::trust::emit::{self, EmitOptions};
use crate::trust::naming::{DEFAULT_TEMPLATE, RoleNameTemplate};
use crate::trust::permissions::PermissionChoice;
use crate::trust::plan::{TrustOptions, TrustPlan};
use crate::trust::source::Scanned;
use crate::trust::{AccountId, Issuer, RepoIds, Slug};

#[derive(Clone, Copy, Debug, Default, ValueEnum)]
pub enum Format {
    /// HCL for the hashicorp/aws provider.
    #[default]
    Terraform,
    /// A CloudFormation template in YAML.
    Cloudformation,
    /// A CloudFormation template in JSON.
    CloudformationJson,
    /// Role specs, policies, warnings and a `role_map` object (OWNER/REPO → secret → ARN).
    Json,
    /// Only the role map, as the TOML `migrate rewrite --role-map` reads.
    RoleMap,
}

#[derive(Clone, Copy, Debug, Default, ValueEnum)]
pub enum Permissions {
    /// Compiled from what the steps do; `copied` for a role whose steps are not all understood.
    #[default]
    Inferred,
    /// The IAM user's policies (needs --copy-permissions-from USER).
    Copied,
    /// One harmless statement to replace by hand.
    Placeholder,
}

impl Permissions {
    fn choice(self) -> PermissionChoice {
        match self {
            Self::Inferred => PermissionChoice::Inferred,
            Self::Copied => PermissionChoice::Copied,
            Self::Placeholder => PermissionChoice::Placeholder,
        }
    }
}

#[derive(Args)]
#[command(
    after_help = "Examples:\n  migrate trust --account-id 123456789012 .\n  migrate trust --account-id 123456789012 --format json repos/ > roles.json\n  migrate trust --account-id 123456789012 --permissions placeholder .\n  migrate trust --account-id 123456789012 --format role-map . > roles.toml && migrate rewrite --role-map roles.toml .\n  migrate trust --account-id 123456789012 --slug octo-org/octo-repo --repo-ids 123456/456789 .github/workflows\n  GH_TOKEN=... migrate trust --account-id 123456789012 --org acme --format json > roles.json\n\n\
Exit codes: 0 output written (or IAM matches the plan), 1 error (bad input, unknown organization or repository, unsafe policy, IAM failure), 2 usage"
)]
pub struct TrustArgs {
    /// Checkouts, directories of checkouts, or workflow files (not with --org/--repo).
    #[arg(default_value = ".", conflicts_with_all = ["org", "repo"])]
    paths: Vec<PathBuf>,

    /// Read the workflows, slugs, ids, default branches and `sub` templates from GitHub.
    #[command(flatten)]
    remote: RemoteArgs,

    /// The AWS account (12 digits) that will hold the provider and roles.
    #[arg(long)]
    account_id: String,

    /// OWNER/REPO of the scanned files, instead of the checkout's `origin` remote.
    #[arg(long, conflicts_with_all = ["org", "repo"])]
    slug: Option<String>,

    /// OWNER_ID/REPO_ID: also trust the immutable `repo:OWNER@OWNER_ID/REPO@REPO_ID:…` form (needs --slug).
    #[arg(long, requires = "slug")]
    repo_ids: Option<String>,

    /// The repository's default branch, for schedule, workflow_dispatch and similar events
    /// (default: origin's HEAD, else `main`).
    #[arg(long, conflicts_with_all = ["org", "repo"])]
    default_branch: Option<String>,

    #[arg(long, value_enum, default_value_t)]
    format: Format,

    /// Role name template; placeholders {owner}, {repo}, {stage}.
    #[arg(long, default_value = DEFAULT_TEMPLATE)]
    role_name_template: String,

    /// Let reusable workflows and composite actions be assumed from any repository of the owner (`repo:OWNER/*`).
    #[arg(long)]
    allow_org_wide: bool,

    /// GitHub Enterprise Server host (issuer `https://HOST/_services/token`).
    #[arg(long)]
    github_host: Option<String>,

    /// GHEC enterprise slug when the enterprise uses its unique issuer
    /// (`https://token.actions.githubusercontent.com/SLUG`).
    #[arg(long, conflicts_with = "github_host")]
    enterprise_slug: Option<String>,

    /// The account already has the provider: look it up instead of creating it.
    #[arg(long)]
    existing_provider: bool,

    /// Create or extend the provider and create the roles in IAM (standard AWS credential
    /// chain) instead of printing IaC. Shows the changes and asks first.
    #[arg(long)]
    apply: bool,

    /// Roles whose permissions are copied (and placeholder ones) get this IAM user's attached,
    /// inline and group policies, read from IAM; inferred ones are bounded by them. Written
    /// into the Terraform / CloudFormation / JSON, or created with --apply.
    #[arg(long, value_name = "IAM_USER")]
    copy_permissions_from: Option<String>,

    /// With --copy-permissions-from: more evidence of the user's real use for the inferred /
    /// observed / granted table. `cloudtrail`: its access keys' CloudTrail management events
    /// of 90 days in every enabled region (cloudtrail:LookupEvents, account:ListRegions).
    #[arg(long, value_enum, requires = "copy_permissions_from")]
    evidence: Option<Evidence>,

    /// With --evidence cloudtrail: the regions to read (comma-separated). Default: every
    /// region enabled in the account.
    #[arg(
        long,
        value_name = "REGION,...",
        value_delimiter = ',',
        requires = "evidence"
    )]
    cloudtrail_regions: Vec<String>,

    /// The roles' permission policies: compiled from the workflow steps (`inferred`; a role
    /// with a step that cannot be read falls back to `copied`), the old IAM user's
    /// (`copied`, with --copy-permissions-from), or a placeholder.
    #[arg(long, value_enum, default_value_t)]
    permissions: Permissions,

    /// Do not ask before --apply changes IAM (for automation).
    #[arg(long, requires = "apply")]
    yes: bool,

    /// Value of the `migrate:campaign` tag on every role.
    #[arg(long, default_value = "static-keys-to-oidc")]
    campaign: String,
}

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

/// Evidence beyond IAM's service-last-accessed data.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Evidence {
    /// CloudTrail `LookupEvents` by the user's access key ids.
    Cloudtrail,
}

impl TrustArgs {
    /// The regions whose CloudTrail to read (`--evidence cloudtrail`), or none.
    fn trail_regions(&self) -> Option<&[String]> {
        (self.evidence == Some(Evidence::Cloudtrail)).then_some(self.cloudtrail_regions.as_slice())
    }
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
