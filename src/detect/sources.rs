//! Where a value comes from: the secrets, variables and inputs an expression reads,
//! following `env.X` through the enclosing `env:` scopes, and which steps use AWS.

use crate::detect::SourceRef;
use crate::expr::{self, Context, Reference};
use crate::workflow::{Job, Step, Workflow};
use crate::yaml::Node;

/// `env:` mappings that are visible at one place, innermost first.
#[derive(Clone, Default)]
pub struct Scopes<'d> {
    layers: Vec<Node<'d>>,
}

impl<'d> Scopes<'d> {
    pub fn workflow(workflow: &Workflow<'d>) -> Self {
        Self {
            layers: workflow.env().into_iter().collect(),
        }
    }

    pub fn job(workflow: &Workflow<'d>, job: &Job<'d>) -> Self {
        let mut layers: Vec<Node<'d>> = job.env().into_iter().collect();
        layers.extend(workflow.env());
        Self { layers }
    }

    pub fn step(workflow: &Workflow<'d>, job: &Job<'d>, step: &Step<'d>) -> Self {
        let mut scopes = Self::job(workflow, job);
        if let Some(env) = step.env() {
            scopes.layers.insert(0, env);
        }
        scopes
    }

    /// Every env entry visible here as (name, value text), innermost scope winning.
    pub fn visible_entries(&self) -> Vec<(String, String)> {
        let mut out: Vec<(String, String)> = Vec::new();
        for layer in &self.layers {
            for (k, v) in layer.entries() {
                let (Some(name), Some(value)) = (k.as_str(), v.as_str()) else {
                    continue;
                };
                if !out.iter().any(|(n, _)| n == name) {
                    out.push((name.to_string(), value.to_string()));
                }
            }
        }
        out
    }

    /// The scopes outside the given `env:` mapping (what its own values can read).
    pub fn outside(&self, env: Node<'d>) -> Self {
        let at = self
            .layers
            .iter()
            .position(|l| *l == env)
            .map_or(0, |i| i + 1);
        Self {
            layers: self.layers[at..].to_vec(),
        }
    }
}

/// The origins of one value.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Resolved {
    pub refs: Vec<SourceRef>,
    /// `secrets[...]` expressions whose name is computed at run time.
    pub dynamic: Vec<String>,
    /// `env.X` names followed to reach the refs.
    pub via_env: Vec<String>,
}

impl Resolved {
    /// Secrets, variables or inputs feed this value: it carries key material from outside.
    pub fn is_external(&self) -> bool {
        !self.refs.is_empty() || !self.dynamic.is_empty()
    }
}

const MAX_ENV_HOPS: usize = 8;

pub fn resolve(value: &str, scopes: &Scopes<'_>) -> Resolved {
    let mut out = Resolved::default();
    resolve_into(value, &scopes.layers, 0, &mut out);
    out.refs.sort();
    out.refs.dedup();
    out
}

fn resolve_into(value: &str, layers: &[Node<'_>], hops: usize, out: &mut Resolved) {
    for located in expr::references(value) {
        match located.reference {
            Reference::Named {
                context: Context::Env,
                name,
            } => {
                if hops >= MAX_ENV_HOPS {
                    continue;
                }
                // Same-level env entries cannot read each other, so a hit in layer `i`
                // resolves against the layers outside it.
                if let Some((i, found)) = layers.iter().enumerate().find_map(|(i, layer)| {
                    layer
                        .entries()
                        .find(|(k, _)| k.as_str() == Some(name.as_str()))
                        .map(|(_, v)| (i, v))
                }) {
                    out.via_env.push(name);
                    if let Some(text) = found.as_str() {
                        resolve_into(text, &layers[i + 1..], hops + 1, out);
                    }
                }
            }
            Reference::Named { context, name } => out.refs.push(SourceRef { context, name }),
            Reference::Dynamic { expression, .. } => out.dynamic.push(expression),
        }
    }
}

/// Whether a step reads AWS credentials from its environment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AwsUse {
    Yes,
    No,
    Unknown,
}

/// Actions that never read AWS credentials: setting up tools, moving files, checking out.
const NO_AWS_ACTIONS: &[&str] = &[
    "actions/checkout",
    "actions/cache",
    "actions/upload-artifact",
    "actions/download-artifact",
    "actions/setup-node",
    "actions/setup-python",
    "actions/setup-java",
    "actions/setup-go",
    "actions/setup-dotnet",
    "actions/github-script",
    "actions/labeler",
    "hashicorp/setup-terraform",
    "unfor19/install-aws-cli-action",
    "aws-actions/setup-sam",
    "docker/setup-buildx-action",
    "docker/setup-qemu-action",
    "pnpm/action-setup",
    "ruby/setup-ruby",
];

/// Words in a `run:` script that mean it talks to AWS with ambient credentials.
const AWS_COMMANDS: &[&str] = &[
    "aws ",
    "aws\n",
    "sam ",
    "cdk ",
    "cdk\n",
    "terraform",
    "terragrunt",
    "serverless",
    "sls ",
    "sst ",
    "eb ",
    "copilot ",
    "pulumi",
    "zappa",
    "chalice",
    "s3://",
    "boto3",
    "aws-cli",
    "ecr ",
    "ecs-cli",
    "amplify ",
    "cdktf",
];

/// Does this step use AWS credentials from the environment?
pub fn step_aws_use(step: &Step<'_>) -> AwsUse {
    if let Some(uses) = step.uses() {
        if uses.is_configure_aws_credentials() {
            return AwsUse::No;
        }
        if NO_AWS_ACTIONS.iter().any(|a| uses.is(a)) {
            return AwsUse::No;
        }
        if uses.repo.to_ascii_lowercase().starts_with("aws-actions/") || is_ecr_login(step) {
            return AwsUse::Yes;
        }
        return AwsUse::Unknown;
    }
    if let Some(run) = step.run().and_then(|r| r.as_str()) {
        let lower = run.to_ascii_lowercase();
        if AWS_COMMANDS.iter().any(|w| lower.contains(w)) || lower.trim_end().ends_with("aws") {
            return AwsUse::Yes;
        }
        if lower.contains("aws_") {
            return AwsUse::Yes;
        }
        return AwsUse::Unknown;
    }
    AwsUse::Unknown
}

/// Whether the action (`owner/repo`, any case) is one known never to call AWS.
pub fn calls_no_aws(action: &str) -> bool {
    NO_AWS_ACTIONS
        .iter()
        .any(|a| a.eq_ignore_ascii_case(action))
}

/// docker/login-action pointed at an ECR registry.
pub fn is_ecr_login(step: &Step<'_>) -> bool {
    let Some(uses) = step.uses() else {
        return false;
    };
    if !uses.is("docker/login-action") {
        return false;
    }
    step.with()
        .and_then(|w| w.get_str("registry"))
        .is_some_and(|r| {
            r.contains(".dkr.ecr.") || r.contains("public.ecr.aws") || r.contains("amazonaws.com")
        })
}

/// Actions that read key id and secret but drop `AWS_SESSION_TOKEN`, so they cannot work
/// with the temporary credentials OIDC gives.
pub const IGNORES_SESSION_TOKEN: &[&str] = &["jakejarvis/s3-sync-action"];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::yaml::Document;

    #[test]
    fn follows_env_chains_outward() {
        let text = "env:\n  K: ${{ secrets.REAL }}\njobs:\n  a:\n    env:\n      AWS_ACCESS_KEY_ID: ${{ env.K }}\n    steps: []\n";
        let doc = Document::parse(text).unwrap();
        let wf = Workflow::classify(&doc).unwrap();
        let job = wf.jobs()[0];
        let scopes = Scopes::job(&wf, &job);
        let r = resolve("${{ env.K }}", &scopes.outside(job.env().unwrap()));
        assert_eq!(
            r.refs,
            vec![SourceRef {
                context: Context::Secrets,
                name: "REAL".into()
            }]
        );
        assert_eq!(r.via_env, vec!["K".to_string()]);
    }

    #[test]
    fn unresolved_env_is_not_external() {
        let scopes = Scopes::default();
        assert!(!resolve("${{ env.AWS_ACCESS_KEY_ID }}", &scopes).is_external());
        assert!(!resolve("test", &scopes).is_external());
    }
}
