//! The steps of each job as `trust --permissions inferred` reads them (pure): run scripts with
//! the line they start on, actions with their inputs, and the literal `env:` values and AWS
//! region in effect, copied out of the YAML tree so the policy compiler needs no document.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::detect::names;
use crate::source::LineIndex;
use crate::workflow::{Job, Step, Uses, Workflow, env_entries};
use crate::yaml::{Node, Style};

/// One job's steps that may call AWS.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct JobSteps {
    /// `None` for the steps of a composite action.
    pub job: Option<String>,
    /// The `aws-region` of the job's configure-aws-credentials step, or `AWS_REGION` /
    /// `AWS_DEFAULT_REGION` in its env, as written (may hold `${{ }}`).
    pub region: Option<String>,
    /// The deployment environment the job runs in: its variables override the repository's.
    pub environment: JobEnvironment,
    pub steps: Vec<StepRecord>,
}

/// Which environment's Actions variables a job's `${{ vars.NAME }}` reads first.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum JobEnvironment {
    /// No `environment:`: the repository's and organization's variables.
    #[default]
    None,
    /// `environment: production` (or `name: production`).
    Named(String),
    /// An expression, or the steps of a composite action (whose caller decides).
    Unknown,
}

/// One step: where it is, the env it sees and what it does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepRecord {
    /// 1-based line of the step's `run:` or `uses:`.
    pub line: usize,
    /// 0-based position in `steps:`.
    pub index: usize,
    /// The step's `name:`, else its `uses:`; for [`StepRecord::label`], which only messages
    /// need (formatting it for every recorded step cost more than recording the rest).
    pub name: Option<String>,
    /// The step's `id:`, which later steps use to read its outputs.
    pub id: Option<String>,
    /// Workflow, job and step `env:` merged (the step's win), values as written. Shared with
    /// the job when the step has no `env:` of its own (most steps), so it is stored once.
    pub env: Arc<BTreeMap<String, String>>,
    /// Whether the job's AWS keys are within the step's reach.
    pub keys: KeyReach,
    /// The step's `working-directory` (else the job's `defaults.run`), as written.
    pub working_directory: Option<String>,
    pub action: StepAction,
}

/// Whether a step can use the job's AWS keys: a step out of their reach cannot need a
/// permission, whatever it runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum KeyReach {
    /// Nothing put the keys in its environment or on disk before it ran.
    #[default]
    None,
    /// The workflow's or job's `env:` holds them, or an earlier step configured them
    /// (configure-aws-credentials, `aws configure set`, `AWS_ACCESS_KEY_ID` written to
    /// `$GITHUB_ENV`); also every step of a composite action, whose caller decides.
    Ambient,
    /// Its own `env:` passes them: the workflow hands it the keys to use.
    Given,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StepAction {
    /// A shell script; `first_line` is the line its first script line is on.
    Run { script: String, first_line: usize },
    /// `uses: owner/repo[/path]@ref`: the lowercased `owner/repo[/path]` (a local action's
    /// path as written, `./...`) and its `with:`.
    Uses {
        action: String,
        inputs: BTreeMap<String, String>,
    },
}

impl StepRecord {
    /// `step 3 (Deploy)`, as [`crate::workflow::Step::label`] says it.
    pub fn label(&self) -> String {
        match &self.name {
            Some(name) => format!("step {} ({name})", self.index + 1),
            None => format!("step {}", self.index + 1),
        }
    }
}

impl JobSteps {
    /// These steps with each `${{ vars.NAME }}` whose value `value_of` knows written in, as
    /// GitHub does before a step runs. Other expressions stay as they are.
    pub fn with_variables<'v>(&self, value_of: &dyn Fn(&str) -> Option<&'v str>) -> JobSteps {
        let put = |text: &str| substitute_variables(text, value_of);
        let map = |m: &BTreeMap<String, String>| -> BTreeMap<String, String> {
            m.iter().map(|(k, v)| (k.clone(), put(v))).collect()
        };
        JobSteps {
            job: self.job.clone(),
            region: self.region.as_deref().map(put),
            environment: self.environment.clone(),
            steps: self
                .steps
                .iter()
                .map(|step| StepRecord {
                    env: Arc::new(map(&step.env)),
                    action: match &step.action {
                        StepAction::Run { script, first_line } => StepAction::Run {
                            script: put(script),
                            first_line: *first_line,
                        },
                        StepAction::Uses { action, inputs } => StepAction::Uses {
                            action: action.clone(),
                            inputs: map(inputs),
                        },
                    },
                    ..step.clone()
                })
                .collect(),
        }
    }
}

/// `text` with each expression that is exactly `vars.NAME` (spaces aside) replaced by the
/// value `value_of` gives it.
fn substitute_variables<'v>(text: &str, value_of: &dyn Fn(&str) -> Option<&'v str>) -> String {
    if !text.contains("vars.") {
        return text.to_string();
    }
    let mut out = String::with_capacity(text.len());
    let mut done = 0;
    for block in crate::expr::expression_blocks(text) {
        let inner = text
            .get(block.start + 3..block.end.saturating_sub(2))
            .unwrap_or("")
            .trim();
        let value = inner
            .strip_prefix("vars.")
            .filter(|name| {
                !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
            })
            .and_then(value_of);
        if let (Some(value), true) = (value, text[..block.end].ends_with("}}")) {
            out.push_str(&text[done..block.start]);
            out.push_str(value);
            done = block.end;
        }
    }
    out.push_str(&text[done..]);
    out
}

/// What a step does, looked up once: a step runs a script or uses an action, never both
/// (GitHub refuses such a workflow), so `uses:` is only parsed when there is no `run:`.
#[derive(Clone, Copy)]
enum StepKind<'d> {
    Run(Node<'d>),
    Uses(Uses<'d>),
    Neither,
}

impl<'d> StepKind<'d> {
    fn of(step: &Step<'d>) -> Self {
        match step.run() {
            Some(run) => Self::Run(run),
            None => step.uses().map_or(Self::Neither, Self::Uses),
        }
    }
}

/// Actions the compiler never looks at, not even as another step's input: GitHub's own
/// (`actions/*`, `github/*`) and tool installers (`*/setup-*`). Their steps are not recorded.
pub fn never_read(action: &str) -> bool {
    let (owner, repo) = action.split_once('/').unwrap_or((action, ""));
    matches!(owner, "actions" | "github") || repo.starts_with("setup-")
}

/// Programs a script must name to be worth recording (the compiler reads nothing else): AWS
/// tools, package managers and make (whose scripts and targets may run any of them), the
/// tools that use AWS in ways the compiler does not read, and the shells and interpreters that
/// run repository scripts.
fn names_a_program_the_compiler_reads(word: &str) -> bool {
    matches!(
        word,
        "aws"
            | "cdk"
            | "aws-cdk"
            | "sam"
            | "serverless"
            | "sls"
            | "terraform"
            | "tofu"
            | "docker"
            | "copilot"
            | "npm"
            | "yarn"
            | "pnpm"
            | "bun"
            | "make"
            | "gmake"
            | "lerna"
            | "turbo"
            | "nx"
            | "pulumi"
            | "terragrunt"
            | "sst"
            | "amplify"
            | "cdktf"
            | "zappa"
            | "chalice"
            | "ecs-cli"
            | "eb"
            | "python"
            | "python3"
            | "node"
    )
}

/// Whether a script may run something the compiler reads: a program it names (a word of
/// letters, digits, `-` and `_`, wherever it stands: `npx cdk`, `./node_modules/.bin/sls`), or
/// a repository script (`./deploy`, `bash scripts/x.sh`).
fn worth_recording(script: &str) -> bool {
    let is_word_byte = |b: u8| b.is_ascii_alphanumeric() || b == b'-' || b == b'_';
    let bytes = script.as_bytes();
    let mut at = 0;
    while at < bytes.len() {
        if !is_word_byte(bytes[at]) {
            at += 1;
            continue;
        }
        let start = at;
        while at < bytes.len() && is_word_byte(bytes[at]) {
            at += 1;
        }
        if names_a_program_the_compiler_reads(&script[start..at]) {
            return true;
        }
    }
    script.contains("./") || script.contains(".sh")
}

/// Whether an `env:` mapping passes AWS key material: the names the SDKs read
/// (`AWS_ACCESS_KEY_ID`…) or names that look like keys (`AWS_KEY`, `PROD_AWS_SECRET`), which a
/// tool may be configured to read.
fn passes_keys(env: Option<Node<'_>>) -> bool {
    env.is_some_and(|env| {
        env.entries().any(|(key, _)| {
            key.as_str().is_some_and(|name| {
                names::env_key_part(name).is_some() || names::looks_like_aws_key_name(name)
            })
        })
    })
}

/// Whether a script leaves the keys for the steps after it: `aws configure set` writes them
/// to `~/.aws/credentials`; `AWS_ACCESS_KEY_ID=…` appended to `$GITHUB_ENV` exports them.
fn configures_keys(script: &str) -> bool {
    script.contains("aws configure")
        || (script.contains("GITHUB_ENV") && script.contains("AWS_ACCESS_KEY_ID"))
}

fn literal_env(env: Option<Node<'_>>, into: &mut BTreeMap<String, String>) {
    for (key, value) in env_entries(env) {
        if let (Some(k), Some(v)) = (key.as_str(), value.as_str()) {
            into.insert(k.to_string(), v.to_string());
        }
    }
}

fn mapping(node: Option<Node<'_>>) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    literal_env(node, &mut out);
    out
}

fn record_step(
    step: &Step<'_>,
    what: &StepKind<'_>,
    base_env: &Arc<BTreeMap<String, String>>,
    keys: KeyReach,
    default_directory: Option<&str>,
    lines: &LineIndex,
    text: &str,
) -> Option<StepRecord> {
    let (run, uses) = match *what {
        StepKind::Run(run) => (Some(run), None),
        StepKind::Uses(uses) => (None, Some(uses)),
        StepKind::Neither => (None, None),
    };
    let action = if let Some(run) = run {
        let script = run.as_str()?;
        // A step handed the keys is recorded whatever it runs: the compiler must account for
        // what it does with them.
        if keys != KeyReach::Given && !worth_recording(script) {
            return None;
        }
        let (line, _) = lines.line_col(text, run.span().start);
        // A block scalar's content starts on the line after its `|` or `>` indicator.
        let first_line = match run.style() {
            Style::Literal | Style::Folded => line + 1,
            _ => line,
        };
        StepAction::Run {
            script: script.to_string(),
            first_line,
        }
    } else {
        let uses = uses?;
        if uses.docker {
            return None;
        }
        // A local action (`./.github/actions/deploy`) is kept as written: the compiler cannot
        // see inside it, and says so.
        let action = if uses.local {
            uses.path.to_string()
        } else if uses.path.is_empty() {
            uses.repo.to_ascii_lowercase()
        } else {
            format!("{}/{}", uses.repo, uses.path).to_ascii_lowercase()
        };
        if never_read(&action) {
            return None;
        }
        StepAction::Uses {
            action,
            inputs: mapping(step.with()),
        }
    };
    let anchor = run.or_else(|| uses.map(|u| u.node)).unwrap_or(step.node);
    let (line, _) = lines.line_col(text, anchor.span().start);
    let env = match step.env() {
        Some(own) => {
            let mut merged = (**base_env).clone();
            literal_env(Some(own), &mut merged);
            Arc::new(merged)
        }
        None => Arc::clone(base_env),
    };
    Some(StepRecord {
        line,
        index: step.index,
        name: step
            .name()
            .or_else(|| uses.map(|u| u.raw))
            .map(str::to_string),
        id: step.id().map(str::to_string),
        env,
        keys,
        working_directory: step
            .node
            .get_str("working-directory")
            .or(default_directory)
            .map(str::to_string),
        action,
    })
}

/// The job's region: its configure-aws-credentials step's `aws-region` (found while its steps
/// are read), else `AWS_REGION` / `AWS_DEFAULT_REGION` in its env.
fn job_region(configured: Option<&str>, env: &BTreeMap<String, String>) -> Option<String> {
    configured
        .map(str::to_string)
        .or_else(|| env.get("AWS_REGION").cloned())
        .or_else(|| env.get("AWS_DEFAULT_REGION").cloned())
}

fn job_environment(job: &Job<'_>) -> JobEnvironment {
    if job.id.is_none() {
        return JobEnvironment::Unknown;
    }
    match job.environment() {
        None => JobEnvironment::None,
        Some(node) => match node.as_str() {
            Some(name) if !name.contains("${{") && !name.trim().is_empty() => {
                JobEnvironment::Named(name.trim().to_string())
            }
            _ => JobEnvironment::Unknown,
        },
    }
}

/// The recorded steps of the jobs `wanted` picks (by id; `None` for a composite action), in
/// file order.
pub fn read(
    workflow: &Workflow<'_>,
    lines: &LineIndex,
    text: &str,
    wanted: impl Fn(Option<&str>) -> bool,
) -> Vec<JobSteps> {
    let mut workflow_env = BTreeMap::new();
    literal_env(workflow.env(), &mut workflow_env);
    workflow
        .jobs()
        .iter()
        .filter(|job| wanted(job.id))
        .map(|job| {
            let mut env = workflow_env.clone();
            literal_env(job.env(), &mut env);
            let env = Arc::new(env);
            let default_directory = job
                .id
                .and_then(|_| job.node.get("defaults"))
                .or_else(|| workflow.root.get("defaults"))
                .and_then(|d| d.get("run"))
                .and_then(|r| r.get_str("working-directory"));
            // Keys in the workflow's or job's env reach every step; a composite action's
            // steps get whatever its caller has.
            let mut reach =
                if job.id.is_none() || passes_keys(workflow.env()) || passes_keys(job.env()) {
                    KeyReach::Ambient
                } else {
                    KeyReach::None
                };
            let mut steps = Vec::new();
            let mut configured_region = None;
            for step in job.steps() {
                let what = StepKind::of(&step);
                if let StepKind::Uses(uses) = what
                    && crate::detect::positions::is_configure_uses(&step, &uses)
                {
                    if configured_region.is_none() && uses.is_configure_aws_credentials() {
                        configured_region = step.with().and_then(|w| w.get_str("aws-region"));
                    }
                    reach = KeyReach::Ambient;
                    continue;
                }
                let keys = if passes_keys(step.env()) {
                    KeyReach::Given
                } else {
                    reach
                };
                steps.extend(record_step(
                    &step,
                    &what,
                    &env,
                    keys,
                    default_directory,
                    lines,
                    text,
                ));
                if let StepKind::Run(run) = what
                    && run.as_str().is_some_and(configures_keys)
                {
                    reach = KeyReach::Ambient;
                }
            }
            JobSteps {
                job: job.id.map(str::to_string),
                region: job_region(configured_region, &env),
                environment: job_environment(job),
                steps,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::yaml::Document;

    #[test]
    fn records_scripts_actions_env_and_region() {
        let text = "on: push\nenv:\n  BUCKET: site\njobs:\n  deploy:\n    runs-on: x\n    env:\n      AWS_REGION: eu-west-1\n    steps:\n      - uses: actions/checkout@v4\n      - run: |\n          echo hi\n          aws s3 sync . s3://$BUCKET\n        env:\n          BUCKET: other\n      - run: npm test\n      - run: make lint\n        env:\n          AWS_ACCESS_KEY_ID: ${{ secrets.KEY }}\n      - run: ./publish\n        env:\n          PROD_AWS_KEY: ${{ secrets.PROD_AWS_KEY }}\n      - uses: aws-actions/configure-aws-credentials@v4\n      - run: echo done\n      - run: ./deploy\n";
        let doc = Document::parse(text).unwrap();
        let workflow = Workflow::classify(&doc).unwrap();
        let jobs = read(&workflow, &LineIndex::new(text), text, |_| true);
        assert_eq!(jobs.len(), 1);
        assert_eq!(jobs[0].region.as_deref(), Some("eu-west-1"));
        let recorded: Vec<(usize, KeyReach)> =
            jobs[0].steps.iter().map(|s| (s.index, s.keys)).collect();
        // Not checkout (the compiler never reads GitHub's own actions) nor `echo done` (it
        // names nothing that may call AWS). The keys reach the steps given them and every step
        // after the configure step.
        assert_eq!(
            recorded,
            [
                (1, KeyReach::None),
                (2, KeyReach::None),
                (3, KeyReach::Given),
                // Keys under a name of the project's choosing are keys all the same.
                (4, KeyReach::Given),
                (7, KeyReach::Ambient),
            ]
        );
        let StepAction::Run { first_line, .. } = &jobs[0].steps[0].action else {
            panic!("expected a script");
        };
        assert_eq!(*first_line, 12);
        assert_eq!(jobs[0].steps[0].env["BUCKET"], "other");
        assert_eq!(jobs[0].steps[0].line, 11);
    }
}
