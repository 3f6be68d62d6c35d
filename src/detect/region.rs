//! Where an inserted configure-aws-credentials step gets its `aws-region`: env entries the
//! step sees, the step's own inputs and script, then anything else in the file that names a
//! region. Scan uses it to tell whether the rewrite can be `auto`; rewrite to write it.

use crate::workflow::{Job, Step, Workflow};
use crate::yaml::{Node, Style};

/// A region found in the file: source text to copy, the node it came from (when it is a
/// YAML value), and a description of where.
#[derive(Debug, Clone)]
pub struct RegionSource<'d> {
    pub text: String,
    pub node: Option<Node<'d>>,
    pub origin: String,
}

/// The region for a step inserted before `step` of `job`, in order of preference:
/// `preset` (e.g. an ECR registry host), env the step sees, the step itself, any step of the
/// job, then the rest of the file.
pub fn for_step<'d>(
    text: &str,
    workflow: &Workflow<'d>,
    job: &Job<'d>,
    step: &Step<'d>,
    preset: Option<RegionSource<'d>>,
) -> Option<RegionSource<'d>> {
    preset
        .or_else(|| from_env(text, workflow, job, Some(step)))
        .or_else(|| from_step(text, step))
        .or_else(|| job.steps().iter().find_map(|s| from_step(text, s)))
        .or_else(|| elsewhere(text, workflow))
}

/// The first job (by label) among `consumers` for whose inserted configure step no region can
/// be found: the rewrite cannot be automatic there. `consumers` are (job, first step that
/// needs AWS) pairs; a job that already configures credentials before that step needs none.
pub fn job_without_region<'d>(
    text: &str,
    workflow: &Workflow<'d>,
    consumers: &[(Job<'d>, Step<'d>)],
    preset: impl Fn(&Step<'d>) -> Option<RegionSource<'d>>,
) -> Option<String> {
    let mut seen = Vec::new();
    for (job, step) in consumers {
        if seen.contains(&job.node) {
            continue;
        }
        seen.push(job.node);
        let configured_earlier = job
            .steps()
            .iter()
            .take(step.index)
            .any(crate::detect::positions::is_configure_step);
        if !configured_earlier && for_step(text, workflow, job, step, preset(step)).is_none() {
            return Some(job.label());
        }
    }
    None
}

/// `AWS_REGION` / `AWS_DEFAULT_REGION` visible at a step (step, job, then workflow env),
/// else another variable named `*REGION` there.
pub fn from_env<'d>(
    text: &str,
    workflow: &Workflow<'d>,
    job: &Job<'d>,
    step: Option<&Step<'d>>,
) -> Option<RegionSource<'d>> {
    let scopes = [
        (step.and_then(|s| s.env()), "step env"),
        (job.env(), "job env"),
        (job.container_env(), "container env"),
        (workflow.env(), "workflow env"),
    ];
    let exact = |name: &str| matches!(name, "AWS_REGION" | "AWS_DEFAULT_REGION");
    let loose = |name: &str| name.to_ascii_uppercase().ends_with("REGION");
    for wanted in [&exact as &dyn Fn(&str) -> bool, &loose] {
        for (env, origin) in scopes {
            let Some(env) = env else { continue };
            for (key, value) in env.entries() {
                let Some(name) = key.as_str().filter(|n| wanted(n)) else {
                    continue;
                };
                if let Some(src) = copyable_scalar(text, value) {
                    return Some(RegionSource {
                        text: src.to_string(),
                        node: Some(value),
                        origin: format!("{origin} {name}"),
                    });
                }
            }
        }
    }
    None
}

/// The `aws-region` of a configure-aws-credentials step elsewhere in the file.
pub fn from_other_step<'d>(text: &str, workflow: &Workflow<'d>) -> Option<RegionSource<'d>> {
    workflow
        .jobs()
        .iter()
        .flat_map(|j| j.steps())
        .find_map(|s| {
            if !s.uses().is_some_and(|u| u.is_configure_aws_credentials()) {
                return None;
            }
            let value = s.with()?.get("aws-region")?;
            let src = copyable_scalar(text, value)?;
            Some(RegionSource {
                text: src.to_string(),
                node: Some(value),
                origin: format!("the aws-region of {}", s.label()),
            })
        })
}

/// A region the step itself states: an input named like `*region*`, or a literal region in
/// its script (`--region us-east-1`, `aws configure set region eu-west-2`).
pub fn from_step<'d>(text: &str, step: &Step<'d>) -> Option<RegionSource<'d>> {
    if let Some(with) = step.with() {
        for (k, v) in with.entries() {
            let Some(name) = k.as_str() else { continue };
            if name.to_ascii_lowercase().contains("region")
                && let Some(src) = copyable_scalar(text, v)
            {
                return Some(RegionSource {
                    text: src.to_string(),
                    node: Some(v),
                    origin: format!("the `{name}` input of {}", step.label()),
                });
            }
        }
    }
    let script = step.run()?.as_str()?;
    let words: Vec<&str> = script
        .split(|c: char| c.is_whitespace() || c == '=' || c == '\\')
        .filter(|w| !w.is_empty())
        .collect();
    words.windows(2).find_map(|pair| {
        let flag = pair[0] == "--region" || pair[0] == "region";
        (flag && is_region_name(pair[1])).then(|| RegionSource {
            text: pair[1].to_string(),
            node: None,
            origin: format!("the script of {}", step.label()),
        })
    })
}

/// `us-east-1`, `eu-west-2`, `us-gov-west-1`, `cn-north-1`...
fn is_region_name(word: &str) -> bool {
    let parts: Vec<&str> = word.split('-').collect();
    parts.len() >= 3
        && parts[0].len() == 2
        && parts.iter().all(|p| {
            !p.is_empty()
                && p.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        })
        && parts
            .last()
            .is_some_and(|p| p.bytes().all(|b| b.is_ascii_digit()))
}

/// A region stated anywhere else in the file: another configure-aws-credentials step, an
/// ECR registry host, or an `AWS_REGION`/`AWS_DEFAULT_REGION` env entry of another job or step.
pub fn elsewhere<'d>(text: &str, workflow: &Workflow<'d>) -> Option<RegionSource<'d>> {
    from_other_step(text, workflow).or_else(|| {
        let jobs = workflow.jobs();
        let from_registry = jobs.iter().flat_map(|j| j.steps()).find_map(|s| {
            let uses = s.uses()?;
            uses.is("docker/login-action").then_some(())?;
            from_registry(s.with()?.get_str("registry")?)
        });
        from_registry.or_else(|| {
            jobs.iter().find_map(|j| {
                from_env(text, workflow, j, None).or_else(|| {
                    j.steps()
                        .iter()
                        .find_map(|s| from_env(text, workflow, j, Some(s)))
                })
            })
        })
    })
}

/// The region in an ECR registry host (`<account>.dkr.ecr.<region>.amazonaws.com`).
pub fn from_registry<'d>(registry: &str) -> Option<RegionSource<'d>> {
    let after = registry.split(".dkr.ecr.").nth(1)?;
    let region = after.split('.').next()?;
    let ok = !region.is_empty()
        && region
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    ok.then(|| RegionSource {
        text: region.to_string(),
        node: None,
        origin: "the ECR registry host".into(),
    })
}

fn copyable_scalar<'t>(text: &'t str, node: Node<'_>) -> Option<&'t str> {
    let span = node.span();
    let src = text.get(span.start..span.end)?;
    let ok = node.as_str().is_some_and(|s| !s.trim().is_empty())
        && !node.is_alias()
        && !node.is_anchored()
        && matches!(node.style(), Style::Plain | Style::SingleQuoted | Style::DoubleQuoted)
        && !src.contains(['\n', '\r'])
        // A plain value copied from flow context into block context reads the same, but
        // one starting with an indicator would not.
        && !src.starts_with(['#', '&', '*', '!', '|', '>', '%', '@', '`']);
    ok.then_some(src)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn region_names() {
        for ok in ["us-east-1", "eu-west-2", "us-gov-west-1", "ap-southeast-2"] {
            assert!(is_region_name(ok), "{ok}");
        }
        for no in ["us-east", "json", "--region", "US-EAST-1", "${{ env.R }}"] {
            assert!(!is_region_name(no), "{no}");
        }
    }

    #[test]
    fn registry_region() {
        assert_eq!(
            from_registry("123456789012.dkr.ecr.eu-west-1.amazonaws.com")
                .map(|r| r.text)
                .as_deref(),
            Some("eu-west-1")
        );
        assert!(from_registry("ghcr.io").is_none());
        assert!(from_registry("${{ secrets.X }}.dkr.ecr.${{ env.R }}.amazonaws.com").is_none());
    }
}
