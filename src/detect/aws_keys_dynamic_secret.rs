//! Rule `aws-keys-dynamic-secret`: key material read from a secret whose name is computed
//! at run time (`secrets[matrix.x]`, `secrets[format(...)]`): no tool can know which.

use super::{FileContext, Finding, FindingSpec, Fix, Rule, Severity};

pub struct DynamicSecret;

impl Rule for DynamicSecret {
    fn id(&self) -> &'static str {
        "aws-keys-dynamic-secret"
    }

    fn summary(&self) -> &'static str {
        "AWS keys come from a secret whose name is computed at run time"
    }

    fn check(&self, cx: &FileContext<'_>, out: &mut Vec<Finding>) {
        for p in cx.positions() {
            if p.resolved.dynamic.is_empty() {
                continue;
            }
            let expressions: Vec<String> = p
                .resolved
                .dynamic
                .iter()
                .map(|e| format!("secrets[{e}]"))
                .collect();
            out.push(cx.finding(FindingSpec {
                rule: self.id(),
                severity: Severity::Medium,
                span: p.value.span(),
                entry: None,
                job: p.job.as_ref(),
                step: p.step.as_ref(),
                references: p.resolved.refs.clone(),
                fix: Fix::Manual,
                reason: "the secret name is computed at run time; list the secrets it can name and map each to a role by hand".into(),
                message: format!("{} is set from {}", p.name(), expressions.join(", ")),
            }));
        }
    }
}
