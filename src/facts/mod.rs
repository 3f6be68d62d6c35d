//! Trust facts (pure): which events start a workflow, and for each job the OIDC `sub` claim
//! shapes it would present (`migrate trust` builds role trust policies from these), the AWS
//! services it calls ([`services`]) and its steps as the policy compiler reads them ([`steps`]).

pub mod services;
pub mod steps;

use crate::detect::flow::FileFlow;
use crate::workflow::{FileKind, Job, Workflow};
use crate::yaml::Node;

/// A ref filter of `push`/`pull_request`: the branch and tag patterns it lists.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct RefFilter {
    pub branches: Vec<String>,
    pub branches_ignore: Vec<String>,
    pub tags: Vec<String>,
    pub tags_ignore: Vec<String>,
}

/// The events of `on:` that matter for the `sub` claim.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Triggers {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub push: Option<RefFilter>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pull_request: Option<RefFilter>,
    pub pull_request_target: bool,
    pub workflow_dispatch: bool,
    pub schedule: bool,
    pub workflow_call: bool,
    pub workflow_run: bool,
    pub release: bool,
    /// Events whose runs use the default branch's ref (`delete`, `repository_dispatch`...).
    pub default_branch_events: bool,
    /// Every event name, as written.
    pub events: Vec<String>,
}

impl Triggers {
    pub fn from_on(on: Option<Node<'_>>) -> Self {
        let mut t = Self::default();
        let Some(on) = on else { return t };
        let events: Vec<(String, Option<Node<'_>>)> = if let Some(name) = on.as_str() {
            vec![(name.to_string(), None)]
        } else if on.is_sequence() {
            on.items()
                .filter_map(|i| i.as_str().map(|s| (s.to_string(), None)))
                .collect()
        } else {
            on.entries()
                .filter_map(|(k, v)| k.as_str().map(|s| (s.to_string(), Some(v))))
                .collect()
        };
        for (event, config) in events {
            match event.as_str() {
                "push" => t.push = Some(ref_filter(config)),
                "pull_request" => t.pull_request = Some(ref_filter(config)),
                "pull_request_target" => t.pull_request_target = true,
                "workflow_dispatch" => t.workflow_dispatch = true,
                "schedule" => t.schedule = true,
                "workflow_call" => t.workflow_call = true,
                "workflow_run" => t.workflow_run = true,
                "release" => t.release = true,
                "delete"
                | "repository_dispatch"
                | "issues"
                | "issue_comment"
                | "watch"
                | "fork" => t.default_branch_events = true,
                _ => {}
            }
            t.events.push(event);
        }
        t
    }
}

fn strings(node: Option<Node<'_>>) -> Vec<String> {
    match node {
        None => Vec::new(),
        Some(n) if n.is_sequence() => n
            .items()
            .filter_map(|i| i.as_str().map(str::to_string))
            .collect(),
        Some(n) => n.as_str().map(|s| vec![s.to_string()]).unwrap_or_default(),
    }
}

fn ref_filter(config: Option<Node<'_>>) -> RefFilter {
    let Some(c) = config else {
        return RefFilter::default();
    };
    RefFilter {
        branches: strings(c.get("branches")),
        branches_ignore: strings(c.get("branches-ignore")),
        tags: strings(c.get("tags")),
        tags_ignore: strings(c.get("tags-ignore")),
    }
}

/// One shape of `sub` claim a job can present (the part after `repo:OWNER/REPO:`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(tag = "kind", content = "value", rename_all = "kebab-case")]
pub enum Subject {
    /// `ref:refs/heads/PATTERN` (a glob when it has `*`, `?`, `[`).
    Branch(String),
    /// `ref:refs/tags/PATTERN`.
    Tag(String),
    /// `ref:refs/heads/<default branch>`: schedule, workflow_run, pull_request_target...
    DefaultBranch,
    /// `pull_request` (same-repo PRs only: forks get no token).
    PullRequest,
    /// `environment:NAME`.
    Environment(String),
    /// `environment:` is an expression; the name is only known at run time.
    EnvironmentExpression(String),
    /// A reusable workflow: the token carries the caller's `sub`.
    Caller,
}

impl Subject {
    /// The claim's tail as it appears after `repo:OWNER/REPO:`.
    pub fn claim_tail(&self, default_branch: &str) -> String {
        match self {
            Self::Branch(b) => format!("ref:refs/heads/{b}"),
            Self::Tag(t) => format!("ref:refs/tags/{t}"),
            Self::DefaultBranch => format!("ref:refs/heads/{default_branch}"),
            Self::PullRequest => "pull_request".into(),
            Self::Environment(e) => format!("environment:{}", e.replace(':', "%3A")),
            Self::EnvironmentExpression(_) | Self::Caller => "*".into(),
        }
    }
}

/// What one job would present to AWS.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct JobFacts {
    pub job: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub environment: Option<String>,
    pub subjects: Vec<Subject>,
    /// A `pull_request` run from a fork reaches this job (it gets no secrets and no token).
    pub fork_pull_requests: bool,
    pub pull_request_target: bool,
    pub workflow_run: bool,
    /// The job calls a reusable workflow (`uses:` at job level).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub calls: Option<String>,
    /// The job's `audience:` input to configure-aws-credentials, when not the default.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub audience: Option<String>,
    /// AWS services the job calls (IAM's names: `s3`, `ecs`, `cloudformation`...).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub aws_services: Vec<String>,
    /// Roles the job assumed with its static keys as source credentials: after the move it
    /// chains to them from its new role, which must be allowed to assume them.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub chains_to: Vec<String>,
}

/// `flow` is the file's credential-flow model when the caller already built it.
pub fn job_facts(
    workflow: &Workflow<'_>,
    triggers: &Triggers,
    flow: Option<&FileFlow>,
) -> Vec<JobFacts> {
    workflow
        .jobs()
        .iter()
        .map(|job| facts_for(workflow, job, triggers, flow))
        .collect()
}

fn facts_for(
    workflow: &Workflow<'_>,
    job: &Job<'_>,
    t: &Triggers,
    flow: Option<&FileFlow>,
) -> JobFacts {
    let environment = job
        .environment()
        .and_then(|e| e.as_str())
        .map(str::to_string);
    let mut subjects = Vec::new();
    match &environment {
        // The environment replaces the ref in `sub`, whatever the event.
        Some(env) if env.contains("${{") => {
            subjects.push(Subject::EnvironmentExpression(env.clone()))
        }
        Some(env) => subjects.push(Subject::Environment(env.clone())),
        None if workflow.kind == FileKind::CompositeAction => subjects.push(Subject::Caller),
        None => {
            if let Some(push) = &t.push {
                let no_filters = push.branches.is_empty()
                    && push.tags.is_empty()
                    && push.branches_ignore.is_empty()
                    && push.tags_ignore.is_empty();
                if no_filters || !push.branches_ignore.is_empty() {
                    subjects.push(Subject::Branch("*".into()));
                }
                if no_filters || !push.tags_ignore.is_empty() {
                    subjects.push(Subject::Tag("*".into()));
                }
                subjects.extend(push.branches.iter().map(|b| Subject::Branch(b.clone())));
                subjects.extend(push.tags.iter().map(|b| Subject::Tag(b.clone())));
            }
            if t.pull_request.is_some() {
                subjects.push(Subject::PullRequest);
            }
            if t.release {
                subjects.push(Subject::Tag("*".into()));
            }
            if t.schedule
                || t.workflow_run
                || t.pull_request_target
                || t.workflow_dispatch
                || t.default_branch_events
            {
                subjects.push(Subject::DefaultBranch);
            }
            if t.workflow_call {
                subjects.push(Subject::Caller);
            }
            if subjects.is_empty() && !t.events.is_empty() {
                subjects.push(Subject::DefaultBranch);
            }
        }
    }
    narrow_to_aws_conditions(&mut subjects, workflow, job, flow);
    subjects.sort();
    subjects.dedup();
    let audience = job
        .steps()
        .iter()
        .filter(|s| crate::detect::positions::is_configure_step(s))
        .find_map(|s| {
            s.with()
                .and_then(|w| w.get_str("audience"))
                .map(str::to_string)
        });
    JobFacts {
        job: job.id.map(str::to_string),
        environment,
        subjects,
        fork_pull_requests: t.pull_request.is_some(),
        pull_request_target: t.pull_request_target,
        workflow_run: t.workflow_run,
        calls: job.reusable_call().map(|u| u.raw.to_string()),
        audience,
        aws_services: services::job_services(job),
        chains_to: job
            .steps()
            .iter()
            .filter(|s| crate::detect::positions::is_configure_step(s))
            .filter_map(|s| {
                let with = s.with()?;
                let keyed = with.entries().any(|(k, _)| {
                    k.as_str()
                        .and_then(crate::detect::names::configure_input_part)
                        .is_some()
                });
                keyed
                    .then(|| with.get_str("role-to-assume").map(str::to_string))
                    .flatten()
            })
            .collect(),
    }
}

/// What a condition says about the runs it lets through, as far as `sub` is concerned.
#[derive(Debug, Clone, Default)]
struct RunFilter {
    /// Only these events (`github.event_name == '...'`).
    events: Option<Vec<String>>,
    /// Events excluded (`github.event_name != '...'`).
    not_events: Vec<String>,
    /// Only this branch (`github.ref == 'refs/heads/X'`).
    branch: Option<String>,
    /// Only tags (`startsWith(github.ref, 'refs/tags/')`).
    tags_only: bool,
}

impl RunFilter {
    /// Reads a conjunction of simple atoms; anything with `||` or `!` around it says nothing.
    fn of(condition: &str) -> Self {
        let c = crate::expr::unwrap_expression(condition);
        let mut f = Self::default();
        if c.contains("||") {
            return f;
        }
        for atom in c.split("&&") {
            let atom: String = atom
                .trim()
                .trim_matches(|ch| ch == '(' || ch == ')')
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ")
                .replace('"', "'");
            let value = |prefix: &str| {
                atom.strip_prefix(prefix)
                    .map(|v| v.trim().trim_matches('\'').to_string())
            };
            if let Some(e) = value("github.event_name == ") {
                f.events = Some(vec![e]);
            } else if let Some(e) = value("github.event_name != ") {
                f.not_events.push(e);
            } else if let Some(r) = value("github.ref == ") {
                if let Some(b) = r.strip_prefix("refs/heads/") {
                    f.branch = Some(b.to_string());
                } else if r.starts_with("refs/tags/") {
                    f.tags_only = true;
                }
            } else if atom.starts_with("startsWith(github.ref, 'refs/tags/") {
                f.tags_only = true;
            }
        }
        f
    }

    /// The subjects of `all` that runs passing this filter can present.
    fn apply(&self, all: &[Subject]) -> Vec<Subject> {
        let event_ok = |e: &str| {
            self.events
                .as_ref()
                .is_none_or(|es| es.iter().any(|x| x == e))
                && !self.not_events.iter().any(|x| x == e)
        };
        let mut out = Vec::new();
        for s in all {
            match s {
                Subject::PullRequest => {
                    if event_ok("pull_request") && self.branch.is_none() && !self.tags_only {
                        out.push(s.clone());
                    }
                }
                Subject::Branch(pattern) => {
                    if self.tags_only {
                        continue;
                    }
                    match &self.branch {
                        Some(b) if crate::glob::glob_match(pattern, b) => {
                            out.push(Subject::Branch(b.clone()));
                        }
                        Some(_) => {}
                        None => out.push(s.clone()),
                    }
                }
                Subject::Tag(_) => {
                    if self.branch.is_none() {
                        out.push(s.clone());
                    }
                }
                Subject::DefaultBranch => {
                    if !self.tags_only {
                        out.push(s.clone());
                    }
                }
                other => out.push(other.clone()),
            }
        }
        out
    }
}

/// Keeps only the subjects of runs where the job really uses AWS: the job's `if:`, and the
/// `if:`s of the steps that take credentials when every one of them has one (the configure
/// step the rewrite inserts runs under their OR). A role then never trusts, say,
/// `pull_request` for a job whose AWS steps run only on pushes to `main`.
fn narrow_to_aws_conditions(
    subjects: &mut Vec<Subject>,
    workflow: &Workflow<'_>,
    job: &Job<'_>,
    known: Option<&FileFlow>,
) {
    if subjects.iter().any(|s| {
        matches!(
            s,
            Subject::Environment(_) | Subject::EnvironmentExpression(_) | Subject::Caller
        )
    }) {
        return;
    }
    if let Some(cond) = job.id.and_then(|_| job.node.get_str("if")) {
        *subjects = RunFilter::of(cond).apply(subjects);
    }
    // Only conditions on steps can narrow further; most jobs have none.
    if job.steps().iter().all(|s| s.condition().is_none()) {
        return;
    }
    let built;
    let flow = match known.and_then(|f| f.job(job.id)) {
        Some(flow) => flow,
        None => {
            built = crate::detect::flow::job_flow(workflow, job);
            &built
        }
    };
    let conditions: Vec<Option<&str>> = flow
        .steps
        .iter()
        .filter(|s| s.consumes() || s.consumption == crate::detect::flow::Consumption::Configure)
        .map(|s| s.condition.as_deref())
        .collect();
    if conditions.is_empty() || conditions.iter().any(Option::is_none) {
        return;
    }
    let mut union: Vec<Subject> = Vec::new();
    for cond in conditions.into_iter().flatten() {
        union.extend(RunFilter::of(cond).apply(subjects));
    }
    union.sort();
    union.dedup();
    *subjects = union;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::yaml::Document;

    fn facts(text: &str) -> Vec<JobFacts> {
        let doc = Document::parse(text).unwrap();
        let wf = Workflow::classify(&doc).unwrap();
        let t = Triggers::from_on(wf.on());
        job_facts(&wf, &t, None)
    }

    #[test]
    fn push_branches_and_tags() {
        let f = facts(
            "on:\n  push:\n    branches: [main, 'release/*']\n    tags: ['v*']\njobs:\n  a:\n    steps: []\n",
        );
        assert_eq!(
            f[0].subjects,
            vec![
                Subject::Branch("main".into()),
                Subject::Branch("release/*".into()),
                Subject::Tag("v*".into())
            ]
        );
    }

    #[test]
    fn environment_replaces_the_ref() {
        let f = facts(
            "on: [push, pull_request]\njobs:\n  a:\n    environment: prod\n    steps: []\n  b:\n    steps: []\n",
        );
        assert_eq!(f[0].subjects, vec![Subject::Environment("prod".into())]);
        assert!(f[0].fork_pull_requests);
        assert_eq!(
            f[1].subjects,
            vec![
                Subject::Branch("*".into()),
                Subject::Tag("*".into()),
                Subject::PullRequest
            ]
        );
    }

    #[test]
    fn aws_steps_guarded_to_main_pushes_trust_only_main() {
        let f = facts(
            "on:\n  push:\n    branches: ['**']\n  pull_request:\njobs:\n  a:\n    steps:\n      - run: npm test\n      - if: github.event_name == 'push' && github.ref == 'refs/heads/main'\n        run: aws s3 sync dist s3://site\n        env:\n          AWS_ACCESS_KEY_ID: ${{ secrets.K }}\n          AWS_SECRET_ACCESS_KEY: ${{ secrets.S }}\n",
        );
        assert_eq!(f[0].subjects, vec![Subject::Branch("main".into())]);
    }

    #[test]
    fn an_unconditional_aws_step_keeps_every_subject() {
        let f = facts(
            "on: [push, pull_request]\njobs:\n  a:\n    env:\n      AWS_ACCESS_KEY_ID: ${{ secrets.K }}\n      AWS_SECRET_ACCESS_KEY: ${{ secrets.S }}\n    steps:\n      - if: github.event_name == 'push'\n        run: aws s3 ls\n      - run: aws sts get-caller-identity\n",
        );
        assert!(f[0].subjects.contains(&Subject::PullRequest));
    }

    #[test]
    fn schedule_and_dispatch_use_the_default_branch() {
        let f = facts(
            "on:\n  schedule:\n    - cron: '0 0 * * *'\n  workflow_dispatch:\njobs:\n  a:\n    environment:\n      name: ${{ inputs.env }}\n  b:\n    steps: []\n",
        );
        assert_eq!(
            f[0].subjects,
            vec![Subject::EnvironmentExpression("${{ inputs.env }}".into())]
        );
        assert_eq!(f[1].subjects, vec![Subject::DefaultBranch]);
    }
}
