//! Rule `aws-keys-service-container`: key material given to a service container's `env:`, or
//! used as the registry `credentials:` of a job container or service image. These containers
//! start before the first step, so no step can hand them OIDC credentials.

use super::names;
use super::sources::{self, Scopes};
use super::{FileContext, Finding, FindingSpec, Fix, Rule, Severity};
use crate::workflow::Job;
use crate::yaml::Node;

pub struct ServiceContainerKeys;

/// Images of local AWS emulators and S3-compatible stores.
const EMULATORS: &[&str] = &[
    "localstack",
    "motoserver",
    "moto",
    "minio",
    "dynamodb-local",
    "s3mock",
];

impl Rule for ServiceContainerKeys {
    fn id(&self) -> &'static str {
        "aws-keys-service-container"
    }

    fn summary(&self) -> &'static str {
        "AWS keys are given to a service container, or pull a container image, before any step runs"
    }

    fn check(&self, cx: &FileContext<'_>, out: &mut Vec<Finding>) {
        for job in cx.workflow.jobs() {
            let Some(id) = job.id else { continue };
            let scopes = Scopes::job(&cx.workflow, &job);
            let mut places: Vec<(String, Node<'_>, bool)> = Vec::new();
            if let Some(container) = job.node.get("container")
                && let Some(creds) = container.get("credentials")
            {
                places.push((
                    "the job container's registry credentials".into(),
                    creds,
                    true,
                ));
            }
            if let Some(services) = job.node.get("services") {
                for (name, service) in services.entries() {
                    let name = name.as_str().unwrap_or("?");
                    // Emulators take any key: nothing there is AWS.
                    let image = service.get_str("image").unwrap_or("").to_ascii_lowercase();
                    if EMULATORS.iter().any(|e| image.contains(e)) {
                        continue;
                    }
                    if let Some(env) = service.get("env") {
                        places.push((format!("the env of service {name}"), env, false));
                    }
                    if let Some(creds) = service.get("credentials") {
                        places.push((
                            format!("the registry credentials of service {name}"),
                            creds,
                            true,
                        ));
                    }
                }
            }
            for (place, block, registry) in places {
                check_block(
                    self.id(),
                    cx,
                    &job,
                    id,
                    &scopes,
                    &place,
                    block,
                    registry,
                    out,
                );
            }
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn check_block(
    rule: &'static str,
    cx: &FileContext<'_>,
    job: &Job<'_>,
    id: &str,
    scopes: &Scopes<'_>,
    place: &str,
    block: Node<'_>,
    registry: bool,
    out: &mut Vec<Finding>,
) {
    let mut refs = Vec::new();
    let mut first: Option<Node<'_>> = None;
    for (key, value) in block.entries() {
        let name = key.as_str().unwrap_or("");
        let resolved = value
            .as_str()
            .map(|t| sources::resolve(t, scopes))
            .unwrap_or_default();
        if !resolved.is_external() {
            continue;
        }
        let key_like = names::env_key_part(name).is_some()
            || resolved
                .refs
                .iter()
                .any(|r| names::looks_like_aws_key_name(&r.name))
            || (registry && value.as_str().is_some_and(|v| v.contains("AWS")));
        if key_like {
            first.get_or_insert(value);
            refs.extend(resolved.refs);
        }
    }
    let Some(first) = first else { return };
    let reason = if registry {
        "a container image is pulled with the keys before any step runs: pull it from a step after configure-aws-credentials (amazon-ecr-login) or keep the keys for the pull".to_string()
    } else {
        "a service container starts before any step and cannot receive OIDC credentials: move its AWS work into a step after configure-aws-credentials, or keep these keys".to_string()
    };
    out.push(cx.finding(FindingSpec {
        rule,
        severity: Severity::Medium,
        span: first.span(),
        entry: None,
        job: Some(job),
        step: None,
        message: format!(
            "AWS keys from {} in {place} of job {id}",
            super::describe_refs(&refs)
        ),
        references: refs,
        fix: Fix::Manual,
        reason,
    }));
}
