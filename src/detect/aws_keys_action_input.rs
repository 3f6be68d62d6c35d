//! Rule `aws-keys-action-input`: key material passed as inputs to actions other than
//! configure-aws-credentials (docker/login-action to ECR, beanstalk-deploy, lambda actions...).

use super::positions::PositionKind;
use super::{FileContext, Finding, FindingSpec, Fix, Remedy, Rule, Severity, group_by_block};

pub struct ActionInputKeys;

impl Rule for ActionInputKeys {
    fn id(&self) -> &'static str {
        "aws-keys-action-input"
    }

    fn summary(&self) -> &'static str {
        "AWS keys are passed as inputs to an action other than configure-aws-credentials"
    }

    fn check(&self, cx: &FileContext<'_>, out: &mut Vec<Finding>) {
        let all = cx.positions();
        let ours: Vec<_> = all
            .iter()
            .filter(|p| {
                matches!(p.kind, PositionKind::ActionInput { .. }) && p.resolved.dynamic.is_empty()
            })
            .collect();
        for group in group_by_block(&ours) {
            let first = group[0];
            let (Some(job), Some(step)) = (first.job.as_ref(), first.step.as_ref()) else {
                continue;
            };
            let refs: Vec<_> = group
                .iter()
                .flat_map(|p| p.resolved.refs.iter().cloned())
                .collect();
            let inputs: Vec<&str> = group.iter().map(|p| p.name()).collect();
            let action = step.uses().map_or("the action", |u| u.raw);
            let ecr_login = matches!(first.kind, PositionKind::ActionInput { ecr_login: true });
            let (fix, reason) = if let Some(reason) =
                super::blocking_reason(step.node, "step", &refs)
            {
                (Fix::Manual, reason)
            } else if ecr_login && job.steps_node().is_some_and(|s| s.shared_through_anchor()) {
                (
                    Fix::Manual,
                    format!(
                        "the steps of job {} are shared through a YAML anchor, so no configure step can be inserted there alone: edit it by hand",
                        job.label()
                    ),
                )
            } else if let (true, Some(job)) = (
                ecr_login,
                super::region::job_without_region(cx.text, &cx.workflow, &[(*job, *step)], |s| {
                    s.with()
                        .and_then(|w| w.get_str("registry"))
                        .and_then(super::region::from_registry)
                }),
            ) {
                (
                    Fix::Manual,
                    format!(
                        "no AWS region found for the configure-aws-credentials step job {job} needs: set AWS_REGION in its env, then rewrite"
                    ),
                )
            } else if ecr_login {
                (
                    Fix::Auto(Remedy::EcrLogin),
                    "docker/login-action signs in to ECR with the role's credentials once username/password are dropped".to_string(),
                )
            } else {
                (
                    Fix::Manual,
                    format!(
                        "{action} takes keys as inputs: check whether it can use the credentials configure-aws-credentials exports, or replace it"
                    ),
                )
            };
            let message = format!(
                "{action} gets AWS keys through inputs {} from {}",
                inputs.join(", "),
                super::describe_refs(&refs)
            );
            out.push(cx.finding(FindingSpec {
                rule: self.id(),
                severity: Severity::Medium,
                span: first.value.span(),
                entry: None,
                job: Some(job),
                step: Some(step),
                references: refs,
                fix,
                reason,
                message,
            }));
        }
    }
}
