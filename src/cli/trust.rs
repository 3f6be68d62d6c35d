//! `migrate trust`: scan local checkouts (or an organization's repositories on GitHub), then
//! print the OIDC provider and IAM roles their jobs need as Terraform, CloudFormation or JSON.
//! This layer owns the effects: reading git remotes or GitHub, writing stdout, and warnings on
//! stderr.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use clap::{Args, ValueEnum};

use super::Error;
use super::scan::{RemoteArgs, fetch_remote};
use crate::github::{GitHubError, SubCustomization};
use crate::report::exit;
use crate::scan;
use crate::scan::remote::{RemoteScan, Target};
use crate::trust::emit::{self, EmitOptions};
use crate::trust::infer::{GitHubSettings, NoFiles, RepoFiles};
use crate::trust::naming::{DEFAULT_TEMPLATE, RoleNameTemplate};
use crate::trust::permissions::{self, PermissionChoice, PermissionSource};
use crate::trust::plan::{self, RepoIdentity, RepoKey, TrustOptions};
use crate::trust::policy::DEFAULT_CLAIM_KEYS;
use crate::trust::{AccountId, Issuer, RepoIds, Slug, TrustError};

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
    /// Only compiled policies read the steps.
    fn step_records(self) -> scan::StepRecords {
        match self {
            Self::Inferred => scan::StepRecords::Keep,
            Self::Copied | Self::Placeholder => scan::StepRecords::Skip,
        }
    }

    fn choice(self) -> PermissionChoice {
        match self {
            Self::Inferred => PermissionChoice::Inferred,
            Self::Copied => PermissionChoice::Copied,
            Self::Placeholder => PermissionChoice::Placeholder,
        }
    }
}

/// A checkout on disk, read for the policy compiler (task definitions, Terraform backends,
/// scripts a step runs). Paths stay inside the root.
struct CheckoutFiles {
    root: PathBuf,
}

impl CheckoutFiles {
    fn inside(&self, relative: &str) -> Option<PathBuf> {
        let path = Path::new(relative);
        let escapes = path.components().any(|c| {
            !matches!(
                c,
                std::path::Component::Normal(_) | std::path::Component::CurDir
            )
        });
        (!escapes).then(|| self.root.join(path))
    }
}

/// Repository files larger than this are not read (a task definition or backend is small).
const MAX_REPO_FILE: u64 = 1 << 20;

impl RepoFiles for CheckoutFiles {
    fn read(&self, relative: &str) -> Option<String> {
        let path = self.inside(relative)?;
        let meta = std::fs::metadata(&path).ok()?;
        if !meta.is_file() || meta.len() > MAX_REPO_FILE {
            return None;
        }
        std::fs::read_to_string(path).ok()
    }

    fn list(&self, dir: &str) -> Vec<String> {
        let Some(path) = self.inside(dir) else {
            return Vec::new();
        };
        let mut out: Vec<String> = std::fs::read_dir(path)
            .into_iter()
            .flatten()
            .flatten()
            .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
            .filter_map(|e| e.file_name().into_string().ok())
            .map(|name| {
                if dir.is_empty() {
                    name
                } else {
                    format!("{dir}/{name}")
                }
            })
            .collect();
        out.sort();
        out
    }
}

fn repo_files(key: &RepoKey) -> Box<dyn RepoFiles> {
    match key {
        RepoKey::Checkout(Some(root)) => Box::new(CheckoutFiles {
            root: display_root(root),
        }),
        _ => Box::new(NoFiles),
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

#[derive(Debug, thiserror::Error)]
pub(crate) enum TrustCliError {
    #[error(transparent)]
    Trust(#[from] TrustError),
    #[error(
        "{path} is not inside a checkout (no `.github` directory above it), so its repository is unknown: pass --slug OWNER/REPO"
    )]
    NotInCheckout { path: String },
    #[error(
        "the checkout {root} has no `origin` remote to read OWNER/REPO from: pass --slug OWNER/REPO"
    )]
    NoOrigin { root: String },
    #[error(
        "--slug names one repository but the paths hold {count} checkouts: run once per checkout"
    )]
    SlugForMany { count: usize },
    #[error(transparent)]
    GitHub(#[from] GitHubError),
    #[error("nothing read from GitHub: {0}")]
    NothingRead(String),
    #[error("--copy-permissions-from: {0}")]
    CopyFrom(#[from] super::trust_apply::ApplyError),
}

/// `git -C DIR ARGS`, trimmed stdout, or None when git fails or prints nothing.
fn git(dir: &Path, args: &[&str]) -> Option<String> {
    let output = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .output()
        .ok()?;
    let text = String::from_utf8(output.stdout).ok()?.trim().to_string();
    (output.status.success() && !text.is_empty()).then_some(text)
}

fn display_root(root: &Path) -> PathBuf {
    if root.as_os_str().is_empty() {
        PathBuf::from(".")
    } else {
        root.to_path_buf()
    }
}

fn default_branch(root: Option<&Path>, given: Option<&str>, warnings: &mut Vec<String>) -> String {
    if let Some(branch) = given {
        return branch.to_string();
    }
    let found = root
        .and_then(|r| {
            git(
                &display_root(r),
                &["symbolic-ref", "--short", "refs/remotes/origin/HEAD"],
            )
        })
        .map(|head| head.strip_prefix("origin/").unwrap_or(&head).to_string());
    found.unwrap_or_else(|| {
        let place = root.map_or("the scanned files".to_string(), |r| display_root(r).display().to_string());
        warnings.push(format!(
            "{place}: default branch unknown (no origin/HEAD); assuming `main` (pass --default-branch)"
        ));
        "main".into()
    })
}

fn identities(
    args: &TrustArgs,
    report: &scan::ScanReport,
    warnings: &mut Vec<String>,
) -> Result<BTreeMap<RepoKey, RepoIdentity>, TrustCliError> {
    let roots: Vec<Option<PathBuf>> = plan::roots_needing_roles(report)
        .into_iter()
        .filter_map(|key| match key {
            RepoKey::Checkout(root) => Some(root),
            RepoKey::GitHub(_) => None,
        })
        .collect();
    let mut out = BTreeMap::new();
    if let Some(slug) = &args.slug {
        if roots.len() > 1 {
            return Err(TrustCliError::SlugForMany { count: roots.len() });
        }
        let slug = Slug::parse(slug)?;
        let ids = args.repo_ids.as_deref().map(RepoIds::parse).transpose()?;
        for root in roots {
            let branch = default_branch(root.as_deref(), args.default_branch.as_deref(), warnings);
            out.insert(
                RepoKey::Checkout(root),
                RepoIdentity {
                    slug: slug.clone(),
                    ids,
                    default_branch: branch,
                    ..RepoIdentity::default()
                },
            );
        }
        return Ok(out);
    }
    for root in roots {
        let Some(dir) = &root else {
            let path = report
                .files
                .iter()
                .find(|f| plan::repo_root(&f.path).is_none())
                .map_or_else(String::new, |f| f.path.clone());
            return Err(TrustCliError::NotInCheckout { path });
        };
        let shown = display_root(dir);
        let url = git(&shown, &["config", "--get", "remote.origin.url"]).ok_or_else(|| {
            TrustCliError::NoOrigin {
                root: shown.display().to_string(),
            }
        })?;
        let slug = Slug::from_remote_url(&url)?;
        let branch = default_branch(Some(dir), args.default_branch.as_deref(), warnings);
        out.insert(
            RepoKey::Checkout(root),
            RepoIdentity {
                slug,
                default_branch: branch,
                ..RepoIdentity::default()
            },
        );
    }
    Ok(out)
}

/// The custom claim keys a repository's tokens use, following GitHub's rules: `use_default:
/// true` is the default format; `false` with keys uses them; `false` without keys falls back to
/// the organization's template. `None` means GitHub's default `repo:…:context`.
fn effective_claim_keys(
    slug: &str,
    repo: Option<&SubCustomization>,
    org: Option<&SubCustomization>,
    org_known: bool,
    warnings: &mut Vec<String>,
) -> Option<Vec<String>> {
    let custom = |keys: &[String]| (keys != DEFAULT_CLAIM_KEYS).then(|| keys.to_vec());
    let Some(repo) = repo else {
        warnings.push(format!(
            "{slug}: its OIDC `sub` template could not be read; assuming GitHub's default format"
        ));
        return None;
    };
    if repo.use_default != Some(false) {
        return None;
    }
    if !repo.include_claim_keys.is_empty() {
        return custom(&repo.include_claim_keys);
    }
    match org {
        Some(org) if !org.include_claim_keys.is_empty() => custom(&org.include_claim_keys),
        Some(_) => None,
        None => {
            warnings.push(if org_known {
                format!("{slug}: uses its organization's `sub` template, which could not be read; assuming GitHub's default format")
            } else {
                format!("{slug}: uses its organization's `sub` template, which --repo does not read; assuming GitHub's default format (use --org to read it)")
            });
            None
        }
    }
}

/// Identities of the repositories GitHub returned: slug, ids, default branch and `sub` template.
fn remote_identities(
    remote: &RemoteScan,
    warnings: &mut Vec<String>,
) -> Result<BTreeMap<RepoKey, RepoIdentity>, TrustCliError> {
    let org_template = remote
        .organization
        .as_ref()
        .and_then(|o| o.oidc_sub.as_ref());
    let mut out = BTreeMap::new();
    for record in remote
        .repositories
        .iter()
        .filter(|r| r.outcome == "scanned")
    {
        let slug = Slug::parse(&record.repository)?;
        let ids = match (record.owner_id, record.id) {
            (Some(owner_id), Some(repo_id)) => Some(RepoIds { owner_id, repo_id }),
            _ => None,
        };
        let default_branch = record.default_branch.clone().unwrap_or_else(|| {
            warnings.push(format!(
                "{slug}: GitHub reported no default branch; assuming `main`"
            ));
            "main".into()
        });
        let claim_keys = effective_claim_keys(
            &record.repository,
            record.oidc_sub.as_ref(),
            org_template,
            remote.organization.is_some(),
            warnings,
        );
        out.insert(
            RepoKey::GitHub(record.repository.clone()),
            RepoIdentity {
                slug,
                ids,
                default_branch,
                sub_prefix: record
                    .oidc_sub
                    .as_ref()
                    .and_then(|s| s.sub_claim_prefix.clone()),
                claim_keys,
            },
        );
    }
    Ok(out)
}

type Identities = BTreeMap<RepoKey, RepoIdentity>;

/// Actions variables by repository slug (`OWNER/REPO` → name → value).
type RepoVariables = BTreeMap<String, GitHubSettings>;

/// Scans GitHub. A target that yields no repository at all (unknown organization, no access)
/// is an error, not an empty plan.
fn read_github(
    args: &TrustArgs,
    target: &Target,
    warnings: &mut Vec<String>,
) -> Result<(scan::ScanReport, Identities, RepoVariables), TrustCliError> {
    let remote = fetch_remote(&args.remote, target, args.permissions.step_records())?;
    if remote.repositories.is_empty() && !remote.report.errors.is_empty() {
        let reasons: Vec<String> = remote
            .report
            .errors
            .iter()
            .map(|e| e.message.clone())
            .collect();
        return Err(TrustCliError::NothingRead(reasons.join("; ")));
    }
    let identities = remote_identities(&remote, warnings)?;
    for record in remote
        .repositories
        .iter()
        .filter(|r| r.outcome != "scanned")
    {
        if let Some(reason) = &record.reason {
            warnings.push(format!(
                "{}: {}: {reason}",
                record.repository, record.outcome
            ));
        }
    }
    let variables = remote
        .repositories
        .iter()
        .map(|r| {
            (
                r.repository.clone(),
                GitHubSettings {
                    variables: r.variables.clone(),
                    environment_variables: r.environment_variables.clone(),
                },
            )
        })
        .collect();
    Ok((remote.report, identities, variables))
}

/// What the command produces: text for stdout, or a plan to apply to IAM.
enum Outcome {
    Text(String),
    Apply(Box<plan::TrustPlan>),
}

fn plan_and_render(args: &TrustArgs, warnings: &mut Vec<String>) -> Result<Outcome, TrustCliError> {
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
    let (report, identities, variables) = match args.remote.target() {
        Some(target) => read_github(args, &target, warnings)?,
        None => {
            let report = scan::scan_paths(&args.paths, args.permissions.step_records());
            let identities = identities(args, &report, warnings)?;
            (report, identities, BTreeMap::new())
        }
    };
    for error in &report.errors {
        let place = match &error.repository {
            Some(repo) => format!("{repo}: {}", error.path),
            None => error.path.clone(),
        };
        warnings.push(format!("{place}: not scanned: {}", error.message));
    }
    // A GitHub repository's files are not at hand, but its variables are.
    let open = move |key: &RepoKey| -> Box<dyn RepoFiles> {
        match key {
            RepoKey::GitHub(slug) => Box::new(variables.get(slug).cloned().unwrap_or_default()),
            RepoKey::Checkout(_) => repo_files(key),
        }
    };
    // The jobs compile (in parallel) while the plan is built: neither needs the other.
    let choice = args.permissions.choice();
    let (plan, compiled) = rayon::join(
        || plan::build_plan(&report, &identities, &options),
        || permissions::compile_jobs(&report, options.account.as_str(), &open, choice),
    );
    let mut plan = plan?;
    permissions::choose(&mut plan, &report, &compiled, choice);
    if args.copy_permissions_from.is_none() {
        for role in &plan.roles {
            if role.permissions == PermissionSource::Copied {
                warnings.push(format!(
                    "role {}: needs the old user's permissions, which `--copy-permissions-from USER` reads from IAM: it gets the placeholder",
                    role.name
                ));
            }
        }
    }
    warnings.extend(plan.warnings.iter().cloned());
    if plan.roles.is_empty() {
        warnings.push("no job needs a role: nothing but the provider to create".into());
    }
    if args.apply {
        return Ok(Outcome::Apply(Box::new(plan)));
    }
    if let Some(user) = &args.copy_permissions_from {
        let trail = (args.evidence == Some(Evidence::Cloudtrail))
            .then_some(args.cloudtrail_regions.as_slice());
        let (copied, documents) = super::trust_apply::read_copied(&plan, user, trail)?;
        if plan
            .roles
            .iter()
            .any(|r| r.permissions != PermissionSource::Inferred)
        {
            warnings.extend(copied.over_role_limits());
        }
        for role in &mut plan.roles {
            if role.permissions != PermissionSource::Inferred {
                role.copied = Some(copied.clone());
            }
        }
        for (name, document) in super::trust_apply::bounded_policies(&plan, user, &documents) {
            if let Some(role) = plan.roles.iter_mut().find(|r| r.name == name) {
                role.permission_policy = document;
            }
        }
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

pub fn run(args: TrustArgs) -> Result<u8, Error> {
    args.remote.single_org("trust").map_err(Error::Usage)?;
    let mut warnings = Vec::new();
    let result = plan_and_render(&args, &mut warnings);
    super::print_warnings(&warnings);
    match result? {
        Outcome::Text(text) => Ok(super::print(&text)),
        Outcome::Apply(plan) => {
            let trail = (args.evidence == Some(Evidence::Cloudtrail))
                .then_some(args.cloudtrail_regions.as_slice());
            super::trust_apply::apply(
                &plan,
                args.yes,
                args.copy_permissions_from.as_deref(),
                trail,
            )?;
            Ok(exit::CLEAN)
        }
    }
}
