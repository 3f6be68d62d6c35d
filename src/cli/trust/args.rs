//! `migrate trust`'s arguments (clap derive, with the examples `--help` shows): what to plan from,
//! the account, issuer and names, the output format, the permission policy's source and evidence,
//! and `--apply`.

use std::path::PathBuf;

use clap::{Args, ValueEnum};

use crate::cli::remote_args::RemoteArgs;
use crate::trust::naming::DEFAULT_TEMPLATE;
use crate::trust::permissions::PermissionChoice;

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
    pub fn choice(self) -> PermissionChoice {
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
    pub paths: Vec<PathBuf>,

    /// Read the workflows, slugs, ids, default branches and `sub` templates from GitHub.
    #[command(flatten)]
    pub remote: RemoteArgs,

    /// The AWS account (12 digits) that will hold the provider and roles.
    #[arg(long)]
    pub account_id: String,

    /// OWNER/REPO of the scanned files, instead of the checkout's `origin` remote.
    #[arg(long, conflicts_with_all = ["org", "repo"])]
    pub slug: Option<String>,

    /// OWNER_ID/REPO_ID: also trust the immutable `repo:OWNER@OWNER_ID/REPO@REPO_ID:…` form (needs --slug).
    #[arg(long, requires = "slug")]
    pub repo_ids: Option<String>,

    /// The repository's default branch, for schedule, workflow_dispatch and similar events
    /// (default: origin's HEAD, else `main`).
    #[arg(long, conflicts_with_all = ["org", "repo"])]
    pub default_branch: Option<String>,

    #[arg(long, value_enum, default_value_t)]
    pub format: Format,

    /// Role name template; placeholders {owner}, {repo}, {stage}.
    #[arg(long, default_value = DEFAULT_TEMPLATE)]
    pub role_name_template: String,

    /// Let reusable workflows and composite actions be assumed from any repository of the owner (`repo:OWNER/*`).
    #[arg(long)]
    pub allow_org_wide: bool,

    /// GitHub Enterprise Server host (issuer `https://HOST/_services/token`).
    #[arg(long)]
    pub github_host: Option<String>,

    /// GHEC enterprise slug when the enterprise uses its unique issuer
    /// (`https://token.actions.githubusercontent.com/SLUG`).
    #[arg(long, conflicts_with = "github_host")]
    pub enterprise_slug: Option<String>,

    /// The account already has the provider: look it up instead of creating it.
    #[arg(long)]
    pub existing_provider: bool,

    /// Create or extend the provider and create the roles in IAM (standard AWS credential
    /// chain) instead of printing IaC. Shows the changes and asks first.
    #[arg(long)]
    pub apply: bool,

    /// Roles whose permissions are copied (and placeholder ones) get this IAM user's attached,
    /// inline and group policies, read from IAM; inferred ones are bounded by them. Written
    /// into the Terraform / CloudFormation / JSON, or created with --apply.
    #[arg(long, value_name = "IAM_USER")]
    pub copy_permissions_from: Option<String>,

    /// With --copy-permissions-from: more evidence of the user's real use for the inferred /
    /// observed / granted table. `cloudtrail`: its access keys' CloudTrail management events
    /// of 90 days in every enabled region (cloudtrail:LookupEvents, account:ListRegions).
    #[arg(long, value_enum, requires = "copy_permissions_from")]
    pub evidence: Option<Evidence>,

    /// With --evidence cloudtrail: the regions to read (comma-separated). Default: every
    /// region enabled in the account.
    #[arg(
        long,
        value_name = "REGION,...",
        value_delimiter = ',',
        requires = "evidence"
    )]
    pub cloudtrail_regions: Vec<String>,

    /// The roles' permission policies: compiled from the workflow steps (`inferred`; a role
    /// with a step that cannot be read falls back to `copied`), the old IAM user's
    /// (`copied`, with --copy-permissions-from), or a placeholder.
    #[arg(long, value_enum, default_value_t)]
    pub permissions: Permissions,

    /// Do not ask before --apply changes IAM (for automation).
    #[arg(long, requires = "apply")]
    pub yes: bool,

    /// Value of the `migrate:campaign` tag on every role.
    #[arg(long, default_value = "static-keys-to-oidc")]
    pub campaign: String,
}

/// Evidence beyond IAM's service-last-accessed data.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Evidence {
    /// CloudTrail `LookupEvents` by the user's access key ids.
    Cloudtrail,
}

impl TrustArgs {
    /// The regions whose CloudTrail to read (`--evidence cloudtrail`), or none.
    pub fn trail_regions(&self) -> Option<&[String]> {
        (self.evidence == Some(Evidence::Cloudtrail)).then_some(self.cloudtrail_regions.as_slice())
    }
}
