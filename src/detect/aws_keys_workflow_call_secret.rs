//! Rule `aws-keys-workflow-call-secret`: a reusable workflow declares AWS key secrets
//! under `on.workflow_call.secrets`, so every caller has to hold and pass static keys.

use super::names;
use super::{FileContext, Finding, FindingSpec, Fix, Remedy, Rule, Severity};
use crate::detect::SourceRef;
use crate::expr::Context;

pub struct WorkflowCallSecrets;

pub const ID: &str = "aws-keys-workflow-call-secret";

impl Rule for WorkflowCallSecrets {
    fn id(&self) -> &'static str {
        ID
    }

    fn summary(&self) -> &'static str {
        "a reusable workflow declares AWS key secrets that its callers must pass"
    }

    fn check(&self, cx: &FileContext<'_>, out: &mut Vec<Finding>) {
        let Some(secrets) = cx.workflow.workflow_call().and_then(|wc| wc.get("secrets")) else {
            return;
        };
        // Secrets this workflow hands on as key material, whatever their names
        // (`AWS_ACCESS_KEY_ID: ${{ secrets.DEPLOY_ID }}` to a callee of its own): once the
        // callers stop passing them, a declaration left `required` fails every run at start.
        let key_material: Vec<&str> = cx
            .positions()
            .iter()
            .flat_map(|p| p.resolved.refs.iter())
            .filter(|r| r.context == Context::Secrets)
            .map(|r| r.name.as_str())
            .collect();
        for (key, value) in secrets.entries() {
            let Some(name) = key.as_str() else { continue };
            if !names::looks_like_aws_key_name(name) && !key_material.contains(&name) {
                continue;
            }
            let required = value.get_str("required").is_some_and(|r| r == "true");
            out.push(cx.finding(FindingSpec {
                rule: self.id(),
                severity: Severity::Low,
                span: key.span(),
                entry: None,
                job: None,
                step: None,
                references: vec![SourceRef {
                    context: Context::Secrets,
                    name: name.to_string(),
                }],
                // Settled against the file's other findings in `detect::settle`.
                fix: Fix::Auto(Remedy::Declaration),
                reason: "the declaration is dropped once the workflow assumes a role with OIDC".into(),
                message: format!(
                    "reusable workflow declares {} secret `{name}`; every caller must hold static keys to pass it",
                    if required { "required" } else { "optional" }
                ),
            }));
        }
    }
}
