//! Rule `aws-keys-env`: `AWS_ACCESS_KEY_ID`-style env entries set from secrets or variables.

use super::positions::PositionKind;
use super::sources::{self, AwsUse, IGNORES_SESSION_TOKEN};
use super::{FileContext, Finding, FindingSpec, Fix, Remedy, Rule, Severity, group_by_block};
use crate::workflow::{Job, Step};

pub struct EnvKeys;

impl Rule for EnvKeys {
    fn id(&self) -> &'static str {
        "aws-keys-env"
    }

    fn summary(&self) -> &'static str {
        "AWS key environment variables are set from secrets or variables at workflow, job, container or step level"
    }

    fn check(&self, cx: &FileContext<'_>, out: &mut Vec<Finding>) {
        let all = cx.positions();
        let ours: Vec<_> = all
            .iter()
            .filter(|p| matches!(p.kind, PositionKind::Env(_)) && p.resolved.dynamic.is_empty())
            .collect();
        for group in group_by_block(&ours) {
            let first = group[0];
            let PositionKind::Env(level) = first.kind else {
                continue;
            };
            let refs: Vec<_> = group
                .iter()
                .flat_map(|p| p.resolved.refs.iter().cloned())
                .collect();
            let names: Vec<&str> = group.iter().map(|p| p.name()).collect();

            // Steps that see these variables: the step itself, the job's steps, or every job's.
            let in_scope: Vec<(Job<'_>, Step<'_>)> = match (&first.job, &first.step) {
                (Some(job), Some(step)) => vec![(*job, *step)],
                (Some(job), None) => job.steps().into_iter().map(|s| (*job, s)).collect(),
                _ => cx
                    .workflow
                    .jobs()
                    .into_iter()
                    .flat_map(|j| j.steps().into_iter().map(move |s| (j, s)))
                    .collect(),
            };
            let consumers: Vec<(Job<'_>, Step<'_>)> = in_scope
                .into_iter()
                .filter(|(_, s)| sources::step_aws_use(s) != AwsUse::No)
                .collect();
            let token_droppers: Vec<String> = consumers
                .iter()
                .filter_map(|(_, s)| {
                    s.uses()
                        .filter(|u| IGNORES_SESSION_TOKEN.iter().any(|a| u.is(a)))
                        .map(|u| u.repo.to_string())
                })
                .collect();

            let renamed = names
                .iter()
                .find(|n| !crate::detect::flow::CHAIN_VARS.contains(&n.trim()));
            let (fix, reason) = if let Some(reason) =
                super::blocking_reason(first.block, "env block", &refs)
            {
                (Fix::Manual, reason)
            } else if let Some(job) = consumers
                .iter()
                .map(|(job, _)| job)
                .find(|job| job.steps_node().is_some_and(|s| s.shared_through_anchor()))
            {
                (
                    Fix::Manual,
                    format!(
                        "the steps of job {} are shared through a YAML anchor, so no configure step can be inserted there alone: edit it by hand",
                        job.label()
                    ),
                )
            } else if let Some(name) = renamed {
                (
                    Fix::Manual,
                    format!(
                        "key-only-consumer: {name} is not a name the AWS SDKs read, so whatever reads it needs the bare key (no session token): make it use the default credential chain (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN), then rewrite"
                    ),
                )
            } else if let Some(action) = token_droppers.first() {
                (
                    Fix::Manual,
                    format!(
                        "{action} reads only the key id and secret and drops AWS_SESSION_TOKEN, so it cannot use OIDC's temporary credentials: replace it (e.g. with `aws s3 sync`)"
                    ),
                )
            } else if let Some(job) =
                super::region::job_without_region(cx.text, &cx.workflow, &consumers, |_| None)
            {
                (
                    Fix::Manual,
                    format!(
                        "no AWS region found for the configure-aws-credentials step job {job} needs: set AWS_REGION in its env, then rewrite"
                    ),
                )
            } else {
                (
                    Fix::Auto(Remedy::EnvBlock),
                    "env entries are removed and a configure-aws-credentials step is inserted"
                        .to_string(),
                )
            };
            let where_ = match (&first.job, &first.step) {
                (Some(job), Some(step)) => {
                    format!("the env of job {}, {}", job.label(), step.label())
                }
                (Some(job), None) => format!("the {} env of job {}", level.as_str(), job.label()),
                (None, _) => "the workflow env".to_string(),
            };
            let message = format!(
                "{} set from {} in {}",
                names.join(", "),
                super::describe_refs(&refs),
                where_
            );
            let mut finding = cx.finding(FindingSpec {
                rule: self.id(),
                severity: Severity::Medium,
                span: first.value.span(),
                entry: None,
                job: first.job.as_ref(),
                step: first.step.as_ref(),
                references: refs,
                fix,
                reason,
                message,
            });
            finding.consumers = consumers
                .iter()
                .map(|(job, step)| match (&first.job, job.id) {
                    (None, Some(id)) => format!("job {id} {}", step.label()),
                    _ => step.label(),
                })
                .collect();
            out.push(finding);
        }
    }
}
