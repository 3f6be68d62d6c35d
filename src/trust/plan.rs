//! The trust plan: from a scan report and each repository's identity, one [`RoleSpec`] per
//! repository and key pair (jobs grouped by the secret names their findings use), with its
//! validated trust policy, placeholder permissions, name and tags.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde_json::Value;

use super::naming::{self, RoleNameTemplate};
use super::policy::{self, AssumingJob, DEFAULT_AUDIENCE};
use super::role_permissions::{InferredPermissions, PermissionSource};
use super::{AccountId, Issuer, RepoIds, Slug, TrustError};
use crate::detect::Severity;
use crate::facts::JobFacts;
use crate::scan::{FileReport, ScanReport};

/// What we know about one repository: its slug, its immutable ids if known, its default
/// branch, and (from GitHub) how its tokens spell `sub`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RepoIdentity {
    pub slug: Slug,
    pub ids: Option<RepoIds>,
    pub default_branch: String,
    /// `sub_claim_prefix` as GitHub reported it (`repo:OWNER@ID/REPO@ID`): when known, the
    /// only `repo:` segment its tokens carry.
    pub sub_prefix: Option<String>,
    /// The custom `include_claim_keys` in effect (the repo's, or its organization's when the
    /// repo opted in without keys of its own); `None` for GitHub's default format.
    pub claim_keys: Option<Vec<String>>,
}

/// Which repository a scanned file belongs to: the `repository` GitHub gave it, else the
/// local checkout holding its `.github` (`None` when it is outside any).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum RepoKey {
    GitHub(String),
    Checkout(Option<PathBuf>),
}

impl RepoKey {
    pub fn of(file: &FileReport) -> Self {
        match &file.repository {
            Some(slug) => Self::GitHub(slug.clone()),
            None => Self::Checkout(repo_root(&file.path)),
        }
    }
}

/// Choices that apply to every role.
#[derive(Debug, Clone)]
pub struct TrustOptions {
    pub account: AccountId,
    pub issuer: Issuer,
    pub template: RoleNameTemplate,
    pub allow_org_wide: bool,
    /// Value of the `migrate:campaign` tag, to find every role this migration created.
    pub campaign: String,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct JobRef {
    pub path: String,
    pub job: Option<String>,
}

/// Keys in alphabetical order, as the rest of `trust --format json` writes them (the fields
/// stay in the order that sorts job references by file first).
impl serde::Serialize for JobRef {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut out = serializer.serialize_struct("JobRef", 2)?;
        out.serialize_field("job", &self.job)?;
        out.serialize_field("path", &self.path)?;
        out.end()
    }
}

/// One IAM role to create. Fields are in alphabetical order: `trust --format json` serializes
/// them as declared, and its keys are sorted at every level.
#[derive(Debug, Clone, serde::Serialize)]
pub struct RoleSpec {
    pub arn: String,
    pub audiences: Vec<String>,
    /// The old user's permissions, read from IAM, when the role's are `copied` and
    /// `--copy-permissions-from` named the user.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub copied: Option<super::role_permissions::CopiedPermissions>,
    /// The GitHub environment whose secrets these are, when the repository reads the same
    /// names under several environments (environment secrets override repository secrets).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub environment: Option<String>,
    /// The policy compiled from the jobs' steps, with each statement's sources, when asked.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub inferred: Option<InferredPermissions>,
    pub jobs: Vec<JobRef>,
    pub name: String,
    pub permission_policy: Value,
    /// Where `permission_policy` comes from (`trust --permissions`).
    pub permissions: PermissionSource,
    pub repo: String,
    /// The secret names the jobs used for this key pair; empty for a literal key in the file.
    pub secrets: Vec<String>,
    /// What distinguishes this key pair from the repository's others (`dev`), or empty.
    pub stage: String,
    pub subs: Vec<String>,
    pub tags: BTreeMap<String, String>,
    pub trust_policy: Value,
}

/// Each repository's identity, by where its files were scanned.
pub type Identities = BTreeMap<RepoKey, RepoIdentity>;

/// Everything `migrate trust` will emit.
#[derive(Debug, Clone)]
pub struct TrustPlan {
    pub account: AccountId,
    pub issuer: Issuer,
    /// The provider's client ids: every audience a role trusts.
    pub client_ids: BTreeSet<String>,
    pub roles: Vec<RoleSpec>,
    pub warnings: Vec<String>,
    /// Whether `repo:OWNER/*` subjects were allowed (validation repeats with the same rule).
    pub allow_org_wide: bool,
}

/// The repository root of a scanned file: the directory holding its `.github`.
/// `Some("")` means the current directory; `None` means the file is outside any `.github`.
pub fn repo_root(path: &str) -> Option<PathBuf> {
    let mut root = PathBuf::new();
    for component in Path::new(path).components() {
        if component.as_os_str() == ".github" {
            return Some(root);
        }
        root.push(component);
    }
    None
}

/// The repositories whose files have findings that need a role.
pub fn roots_needing_roles(report: &ScanReport) -> BTreeSet<RepoKey> {
    report
        .files
        .iter()
        .filter(|f| f.findings.iter().any(|x| x.severity > Severity::Info))
        .map(RepoKey::of)
        .collect()
}

/// The jobs of one file that use static keys, with the secret names each uses (a reusable
/// workflow's by the names its callers pass them from, as `rewrite` looks its roles up).
fn assuming_jobs(file: &FileReport) -> Vec<(BTreeSet<String>, &JobFacts)> {
    let mut by_job: BTreeMap<Option<&str>, BTreeSet<String>> = BTreeMap::new();
    for finding in file.findings.iter().filter(|f| f.severity > Severity::Info) {
        let secrets = by_job.entry(finding.job.as_deref()).or_default();
        secrets.extend(crate::rewrite::roles::callers_names(
            &file.secret_names,
            &finding.secrets,
        ));
    }
    let mut out: Vec<(BTreeSet<String>, &JobFacts)> = Vec::new();
    for (job, secrets) in by_job {
        let exact: Vec<&JobFacts> = file
            .jobs
            .iter()
            .filter(|j| j.job.as_deref() == job)
            .collect();
        // A workflow-level `env:` finding has no job: every job of the file sees the keys.
        let targets = if exact.is_empty() && job.is_none() {
            file.jobs.iter().collect()
        } else {
            exact
        };
        for facts in targets {
            match out.iter_mut().find(|(_, f)| std::ptr::eq(*f, facts)) {
                Some((known, _)) => known.extend(secrets.iter().cloned()),
                None => out.push((secrets.clone(), facts)),
            }
        }
    }
    out
}

/// Words that name the kind of credential rather than the account or stage it is for.
const CREDENTIAL_WORDS: &[&str] = &[
    "aws", "access", "secret", "key", "keys", "id", "session", "token",
];

/// The words every secret name of a key pair shares beyond the credential words:
/// `AWS_ACCESS_KEY_ID_DEV` + `AWS_SECRET_ACCESS_KEY_DEV` → `dev`.
pub fn stage_of(secrets: &BTreeSet<String>) -> String {
    let words = |name: &str| -> Vec<String> {
        name.split(['_', '-'])
            .map(str::to_ascii_lowercase)
            .filter(|w| !w.is_empty() && !CREDENTIAL_WORDS.contains(&w.as_str()))
            .collect()
    };
    let mut names = secrets.iter();
    let Some(first) = names.next() else {
        return String::new();
    };
    let others: Vec<Vec<String>> = names.map(|n| words(n)).collect();
    words(first)
        .into_iter()
        .filter(|w| others.iter().all(|o| o.contains(w)))
        .collect::<Vec<_>>()
        .join("-")
}

/// A job and the secret names it uses for AWS keys.
type KeyedJob<'a> = (BTreeSet<String>, AssumingJob<'a>);

/// Jobs of one repository grouped by key pair. Groups that share any secret name merge, so
/// each secret name maps to exactly one role (the role map relies on that).
/// Jobs that read the same names under different environments may hold different keys
/// (environment secrets override the repository's), so they never share a role.
fn group_by_keys<'a>(jobs: Vec<KeyedJob<'a>>) -> Vec<(BTreeSet<String>, Vec<AssumingJob<'a>>)> {
    let mut groups: Vec<(BTreeSet<String>, Vec<AssumingJob<'a>>)> = Vec::new();
    for (secrets, job) in jobs {
        let environment = job.facts.environment.clone();
        let shares = |g: &(BTreeSet<String>, Vec<AssumingJob<'a>>)| {
            let same_env = g.1.iter().all(|j| j.facts.environment == environment);
            same_env && ((g.0.is_empty() && secrets.is_empty()) || !g.0.is_disjoint(&secrets))
        };
        let mut merged = (secrets.clone(), vec![job]);
        let mut kept = Vec::new();
        for group in groups {
            if shares(&group) {
                merged.0.extend(group.0);
                merged.1.extend(group.1);
            } else {
                kept.push(group);
            }
        }
        kept.push(merged);
        groups = kept;
    }
    groups.sort_by(|a, b| a.0.cmp(&b.0));
    groups
}

/// How many groups (by environment) read any of `secrets`.
fn by_environment_count(
    groups: &[(BTreeSet<String>, Option<String>)],
    secrets: &BTreeSet<String>,
) -> usize {
    let mut envs: Vec<&Option<String>> = groups
        .iter()
        .filter(|(s, _)| !s.is_disjoint(secrets))
        .map(|(_, e)| e)
        .collect();
    envs.sort();
    envs.dedup();
    envs.len()
}

/// A name no earlier role took (IAM role names are unique case-insensitively).
fn unique_name(base: &str, stage: &str, taken: &mut BTreeSet<String>) -> String {
    let mut candidates = vec![base.to_string()];
    if !stage.is_empty() {
        candidates.push(naming::fit(&format!("{base}-{stage}")));
    }
    candidates.extend(
        (2..)
            .take(1000)
            .map(|n| naming::fit(&format!("{base}-{n}"))),
    );
    let name = candidates
        .into_iter()
        .find(|c| !taken.contains(&c.to_ascii_lowercase()))
        .unwrap_or_else(|| base.to_string());
    taken.insert(name.to_ascii_lowercase());
    name
}

/// Builds the plan. `identities` must hold every root of [`roots_needing_roles`].
pub fn build_plan(
    report: &ScanReport,
    identities: &BTreeMap<RepoKey, RepoIdentity>,
    options: &TrustOptions,
) -> Result<TrustPlan, TrustError> {
    let mut by_repo: BTreeMap<&Slug, (&RepoIdentity, Vec<KeyedJob<'_>>)> = BTreeMap::new();
    let mut warnings = Vec::new();
    for file in &report.files {
        let jobs = assuming_jobs(file);
        if jobs.is_empty() {
            continue;
        }
        // GitHub paths are inside the repository: name it in messages.
        let shown_path = match &file.repository {
            Some(slug) => format!("{slug}: {}", file.path),
            None => file.path.clone(),
        };
        let Some(identity) = identities.get(&RepoKey::of(file)) else {
            warnings.push(format!("{shown_path}: skipped: its repository is unknown"));
            continue;
        };
        let entry = by_repo
            .entry(&identity.slug)
            .or_insert_with(|| (identity, Vec::new()));
        for (secrets, facts) in jobs {
            let label = match &facts.job {
                Some(job) => format!("{shown_path}: job {job}"),
                None => shown_path.clone(),
            };
            entry.1.push((
                secrets,
                AssumingJob {
                    path: file.path.clone(),
                    label,
                    facts,
                },
            ));
        }
    }

    let mut roles = Vec::new();
    let mut taken = BTreeSet::new();
    let mut client_ids = BTreeSet::new();
    for (slug, (identity, jobs)) in by_repo {
        if identity.ids.is_none() && identity.sub_prefix.is_none() {
            warnings.push(format!(
                "{slug}: trusting the name form `repo:{slug}:…` only; a repository created, renamed or transferred after 2026-07-15 presents `repo:{}@OWNER_ID/{}@REPO_ID:…` instead: pass --repo-ids OWNER_ID/REPO_ID (see `GET /repos/{slug}/actions/oidc/customization/sub`) to trust both",
                slug.owner, slug.repo
            ));
        }
        let prefixes = policy::sub_prefixes(slug, identity.ids, identity.sub_prefix.as_deref());
        let default_keys: Vec<String> = policy::DEFAULT_CLAIM_KEYS.map(String::from).to_vec();
        let claim_keys = identity.claim_keys.as_ref().unwrap_or(&default_keys);
        if !policy::template_is_repository_scoped(claim_keys) {
            let keys = claim_keys.join(", ");
            if !options.allow_org_wide {
                warnings.push(format!(
                    "{slug}: no role: its `sub` template [{keys}] names no repository, so any repository of {} could present the same `sub`; add `repo` to the template, or pass --allow-org-wide to trust it anyway",
                    slug.owner
                ));
                continue;
            }
            warnings.push(format!(
                "{slug}: its `sub` template [{keys}] names no repository; --allow-org-wide trusts every repository of {} that presents it",
                slug.owner
            ));
        }
        let shape = policy::SubjectShape {
            slug,
            ids: identity.ids,
            prefixes: &prefixes,
            claim_keys,
        };
        let groups = group_by_keys(jobs);
        let secret_environments: Vec<(BTreeSet<String>, Option<String>)> = groups
            .iter()
            .map(|(s, g)| (s.clone(), g[0].facts.environment.clone()))
            .collect();
        for (secrets, group) in groups {
            let keys_label = if secrets.is_empty() {
                "a literal access key".to_string()
            } else {
                secrets.iter().cloned().collect::<Vec<_>>().join(", ")
            };
            let claims = policy::derive_subs(
                &shape,
                &group,
                &identity.default_branch,
                options.allow_org_wide,
            );
            warnings.extend(claims.warnings);
            if claims.values.is_empty() {
                warnings.push(format!(
                    "{slug}: no role for {keys_label}: none of its jobs presents a `sub` that can be trusted without a wildcard"
                ));
                continue;
            }
            // The same names under several environments: one role each, named by environment.
            let environment = group[0]
                .facts
                .environment
                .clone()
                .filter(|_| by_environment_count(&secret_environments, &secrets) > 1);
            let stage = match &environment {
                Some(env) => {
                    let base = stage_of(&secrets);
                    let env = env
                        .to_ascii_lowercase()
                        .replace(|c: char| !c.is_ascii_alphanumeric(), "-");
                    if base.is_empty() {
                        env
                    } else {
                        format!("{base}-{env}")
                    }
                }
                None => stage_of(&secrets),
            };
            let base = options.template.render(&slug.owner, &slug.repo, &stage);
            let name = unique_name(&base, &stage, &mut taken);
            if name != base {
                warnings.push(format!(
                    "{slug}: role name `{base}` is already used by another role of this plan; using `{name}` (put {{stage}} or {{owner}} in --role-name-template to choose)"
                ));
            }
            let audiences: BTreeSet<String> = group
                .iter()
                .map(|j| {
                    j.facts
                        .audience
                        .clone()
                        .unwrap_or_else(|| DEFAULT_AUDIENCE.into())
                })
                .collect();
            client_ids.extend(audiences.iter().cloned());
            let trust = policy::trust_policy(
                &options.issuer,
                &options.account,
                &audiences,
                &claims.values,
            );
            policy::validate_trust(
                &trust.to_string(),
                &options.issuer,
                &options.account,
                options.allow_org_wide,
            )
            .map_err(|reason| TrustError::InvalidPolicy {
                role: name.clone(),
                reason,
            })?;
            let mut jobs: Vec<JobRef> = group
                .iter()
                .map(|j| JobRef {
                    path: j.path.clone(),
                    job: j.facts.job.clone(),
                })
                .collect();
            jobs.sort();
            jobs.dedup();
            let tags = BTreeMap::from([
                ("github-repo".to_string(), slug.to_string()),
                ("managed-by".to_string(), "migrate".to_string()),
                ("migrate:campaign".to_string(), options.campaign.clone()),
            ]);
            let mut chains_to: Vec<String> = group
                .iter()
                .flat_map(|j| j.facts.chains_to.iter().cloned())
                .collect();
            chains_to.sort();
            chains_to.dedup();
            for target in &chains_to {
                warnings.push(format!(
                    "{slug}: the workflows chain from role {name} to {target} (`role-chaining: true`): {target}'s trust policy must allow arn:aws:iam::{}:role/{name} to sts:AssumeRole and sts:TagSession instead of the IAM user",
                    options.account.as_str()
                ));
            }
            roles.push(RoleSpec {
                arn: format!("arn:aws:iam::{}:role/{name}", options.account.as_str()),
                name,
                repo: slug.to_string(),
                stage,
                secrets: secrets.into_iter().collect(),
                environment,
                jobs,
                audiences: audiences.into_iter().collect(),
                subs: claims.values.into_iter().collect(),
                trust_policy: trust,
                permission_policy: policy::with_chaining(
                    policy::placeholder_permission_policy(),
                    &chains_to,
                ),
                permissions: PermissionSource::Placeholder,
                inferred: None,
                copied: None,
                tags,
            });
        }
    }
    if client_ids.is_empty() {
        client_ids.insert(DEFAULT_AUDIENCE.to_string());
    }
    Ok(TrustPlan {
        account: options.account.clone(),
        issuer: options.issuer.clone(),
        client_ids,
        roles,
        warnings,
        allow_org_wide: options.allow_org_wide,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(names: &[&str]) -> BTreeSet<String> {
        names.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn stages_from_secret_names() {
        assert_eq!(
            stage_of(&set(&[
                "AWS_ACCESS_KEY_ID_DEV",
                "AWS_SECRET_ACCESS_KEY_DEV"
            ])),
            "dev"
        );
        assert_eq!(
            stage_of(&set(&["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"])),
            ""
        );
        assert_eq!(stage_of(&set(&["S3_ACCESS_KEY", "S3_SECRET_KEY"])), "s3");
        assert_eq!(stage_of(&set(&[])), "");
    }

    #[test]
    fn repo_roots() {
        assert_eq!(
            repo_root("repos/a/.github/workflows/x.yml"),
            Some(PathBuf::from("repos/a"))
        );
        assert_eq!(repo_root(".github/workflows/x.yml"), Some(PathBuf::new()));
        assert_eq!(repo_root("testdata/corpus/x.yml"), None);
    }

    #[test]
    fn names_stay_unique() {
        let mut taken = BTreeSet::new();
        assert_eq!(unique_name("gha-r", "", &mut taken), "gha-r");
        assert_eq!(unique_name("gha-r", "dev", &mut taken), "gha-r-dev");
        assert_eq!(unique_name("GHA-R", "", &mut taken), "GHA-R-2");
    }
}
