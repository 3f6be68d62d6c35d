//! Rule `aws-keys-configure-credentials`: configure-aws-credentials given static keys.

use super::positions::{self, PositionKind};
use super::{FileContext, Finding, FindingSpec, Fix, Remedy, Rule, Severity, group_by_block};
use crate::expr::Context;

pub struct ConfigureCredentialsKeys;

impl Rule for ConfigureCredentialsKeys {
    fn id(&self) -> &'static str {
        "aws-keys-configure-credentials"
    }

    fn summary(&self) -> &'static str {
        "aws-actions/configure-aws-credentials is given static access keys instead of a role to assume with OIDC"
    }

    fn check(&self, cx: &FileContext<'_>, out: &mut Vec<Finding>) {
        let all = cx.positions();
        let ours: Vec<_> = all
            .iter()
            .filter(|p| p.kind == PositionKind::ConfigureInput && p.resolved.dynamic.is_empty())
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
            let with = first.block;
            let chaining = with.get("role-to-assume").is_some();
            let oidc_sibling = job
                .steps()
                .iter()
                .find(|s| s.index != step.index && positions::is_oidc_configure_step(s))
                .map(|s| s.label());
            let local_only = step
                .condition()
                .is_some_and(|c| c.contains("env.ACT") && !c.contains("!env.ACT"));

            let mut severity = Severity::Medium;
            let (fix, reason) = if let Some(reason) =
                super::blocking_reason(step.node, "step", &refs)
            {
                (Fix::Manual, reason)
            } else if let (Some(sibling), true) = (&oidc_sibling, local_only) {
                severity = Severity::Info;
                (
                    Fix::Manual,
                    format!(
                        "runs only under `act` (local runs); CI already assumes a role with OIDC in {sibling}"
                    ),
                )
            } else if let Some(sibling) = oidc_sibling {
                (
                    Fix::Manual,
                    format!(
                        "the job already assumes a role with OIDC in {sibling}; remove this key-based step by hand"
                    ),
                )
            } else if chaining {
                (
                    Fix::Auto(Remedy::ConfigureStep),
                    "role chaining: the keys go and the existing role-to-assume stays".to_string(),
                )
            } else {
                (
                    Fix::Auto(Remedy::ConfigureStep),
                    "keys are replaced by role-to-assume and `id-token: write`".to_string(),
                )
            };
            let mut message = format!(
                "configure-aws-credentials gets static keys from {}",
                super::describe_refs(&refs)
            );
            if refs.iter().any(|r| r.context == Context::Vars) {
                message.push_str(" (configuration variables are stored in plain text)");
            }
            out.push(cx.finding(FindingSpec {
                rule: self.id(),
                severity,
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
