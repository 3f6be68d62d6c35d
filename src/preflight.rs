//! Which jobs of a repository snapshot will assume which role once migrated, how the
//! repository's tokens spell `sub`, and the issuer they come from: the input of the
//! pre-flight trust check ([`crate::trust::preflight`]). Pure.

use std::collections::BTreeSet;

use crate::detect::Severity;
use crate::facts::JobFacts;
use crate::github::{RepoSnapshot, SubCustomization};
use crate::rewrite::RoleSource;
use crate::scan::{self, FileOutcome};
use crate::trust::preflight::{PlannedJob, RepoClaims};
use crate::trust::{Issuer, RepoIds, Slug, TrustError};

/// The issuer whose provider and condition keys the pre-flight check uses (`rewrite` and
/// `status --preflight`): GHES's from `--github-host`, by default the host of `--github-url`;
/// a GHEC enterprise's own with `--enterprise-slug`.
pub fn issuer(
    github_host: Option<&str>,
    github_url: &str,
    enterprise_slug: Option<&str>,
) -> Result<Issuer, TrustError> {
    let host = match github_host {
        Some(host) => Some(host.to_string()),
        None => crate::github::Endpoint::parse(github_url)
            .map(|e| e.host)
            .ok(),
    };
    Issuer::new(host.as_deref(), enterprise_slug)
}

/// The jobs with static keys that `roles` turns into role assumptions, and every job that
/// calls a reusable workflow (their ways of running are the called jobs' ways).
pub fn planned_jobs(
    snapshot: &RepoSnapshot,
    roles: &RoleSource,
) -> (Vec<PlannedJob>, Vec<(String, JobFacts)>) {
    let slug = snapshot.slug();
    let mut planned = Vec::new();
    let mut callers = Vec::new();
    for file in &snapshot.files {
        let Ok(text) = &file.text else { continue };
        let FileOutcome::Scanned(report, _) =
            scan::analyze(&file.path, text, true, scan::StepRecords::Skip)
        else {
            continue;
        };
        for facts in &report.jobs {
            if facts.calls.is_some() {
                callers.push((file.path.clone(), facts.clone()));
            }
            let secrets: BTreeSet<String> = report
                .findings
                .iter()
                .filter(|f| f.severity > Severity::Info && f.job == facts.job)
                .flat_map(|f| f.secrets.iter().cloned())
                .collect();
            let uses_keys = report
                .findings
                .iter()
                .any(|f| f.severity > Severity::Info && (f.job == facts.job || f.job.is_none()));
            // A job that only passes keys on to a reusable workflow assumes nothing itself.
            if !uses_keys || facts.calls.is_some() {
                continue;
            }
            let secrets: Vec<String> = secrets.into_iter().collect();
            if let Ok(role) = roles.role_for(Some(&slug), &secrets) {
                planned.push(PlannedJob {
                    path: file.path.clone(),
                    facts: facts.clone(),
                    role: role.as_str().to_string(),
                });
            }
        }
    }
    (planned, callers)
}

/// The repository's identity for `sub`, with the template GitHub reported (`None`: unknown,
/// the default format is assumed).
pub fn repo_claims(snapshot: &RepoSnapshot, template: Option<&SubCustomization>) -> RepoClaims {
    let claim_keys = template.and_then(|t| {
        (t.use_default == Some(false) && !t.include_claim_keys.is_empty())
            .then(|| t.include_claim_keys.clone())
    });
    RepoClaims {
        slug: Slug {
            owner: snapshot.owner.clone(),
            repo: snapshot.name.clone(),
        },
        ids: snapshot
            .owner_id
            .zip(snapshot.id)
            .map(|(owner_id, repo_id)| RepoIds { owner_id, repo_id }),
        default_branch: snapshot
            .default_branch
            .clone()
            .unwrap_or_else(|| "main".into()),
        sub_prefix: template.and_then(|t| t.sub_claim_prefix.clone()),
        claim_keys,
    }
}

/// The jobs of an already migrated file (the campaign branch of an open pull request): each
/// job whose configure-aws-credentials step names a literal `role-to-assume` ARN, and the
/// file's jobs that call reusable workflows.
pub fn migrated_jobs(path: &str, text: &str) -> (Vec<PlannedJob>, Vec<(String, JobFacts)>) {
    let FileOutcome::Scanned(report, _) = scan::analyze(path, text, true, scan::StepRecords::Skip)
    else {
        return (Vec::new(), Vec::new());
    };
    let Ok(doc) = crate::yaml::Document::parse(text) else {
        return (Vec::new(), Vec::new());
    };
    let Some(workflow) = crate::workflow::Workflow::classify(&doc) else {
        return (Vec::new(), Vec::new());
    };
    let mut planned = Vec::new();
    for job in workflow.jobs() {
        let role = job
            .steps()
            .iter()
            .filter(|s| crate::detect::positions::is_configure_step(s))
            .find_map(|s| s.with().and_then(|w| w.get_str("role-to-assume")))
            .filter(|arn| arn.starts_with("arn:"));
        let (Some(role), Some(facts)) = (
            role,
            report.jobs.iter().find(|f| f.job.as_deref() == job.id),
        ) else {
            continue;
        };
        planned.push(PlannedJob {
            path: path.to_string(),
            facts: facts.clone(),
            role: role.to_string(),
        });
    }
    let callers = report
        .jobs
        .iter()
        .filter(|f| f.calls.is_some())
        .map(|f| (path.to_string(), f.clone()))
        .collect();
    (planned, callers)
}
