//! Everything but plain API calls: the commands of a script (which ones are `aws`, `docker`,
//! `cdk`, `sam`, `serverless`, `terraform`, or a repository script), and the known actions,
//! each with the IAM actions its own documentation lists (`data/known.tsv`).

use std::collections::BTreeMap;
use std::sync::Arc;

use super::Sink;
use super::cli::{self, Invocation};
use super::runners;
use super::shell::{self, Command};
use super::table::tables;
use crate::facts::steps::StepAction;

/// Wrappers that run the next word as the command (`npx cdk deploy`).
const WRAPPERS: &[&str] = &["sudo", "exec", "time", "command", "env", "npx", "bunx"];

/// How deep scripts are followed (a package script running a Makefile target running a
/// repository script…).
pub const MAX_SCRIPT_DEPTH: usize = 4;

/// Shell builtins and file tools that never call AWS: a step handed the keys that runs only
/// these (`echo "key id: $AWS_ACCESS_KEY_ID"`) does nothing with them the policy must allow.
const NEVER_AWS: &[&str] = &[
    "echo", "printf", "cd", "pwd", "ls", "cat", "mkdir", "cp", "mv", "rm", "touch", "chmod",
    "test", "[", "[[", "true", "false", "export", "set", "unset", "sleep", "date", "grep", "sed",
    "awk", "jq", "yq", "head", "tail", "wc", "sort", "tee", "zip", "unzip", "tar", "git", "find",
    "xargs", "basename", "dirname", "exit", "if", "then", "else", "fi", "for", "do", "done",
    "while",
];

/// Tools that call AWS with the keys they find, in ways the workflow does not spell out
/// (the stacks and resources are in their own configuration or code).
const UNREAD_AWS_TOOLS: &[&str] = &[
    "pulumi",
    "terragrunt",
    "sst",
    "amplify",
    "cdktf",
    "zappa",
    "chalice",
    "ecs-cli",
    "eb",
];

/// The commands of one script.
pub fn script(sink: &mut Sink<'_, '_>, commands: &[Command], depth: usize) {
    let mut logged_in_to_ecr = false;
    // The directory each enclosing shell was in when a subshell opened: its `cd`s are undone
    // when it closes.
    let mut outer: Vec<Option<String>> = Vec::new();
    for command in commands {
        while outer.len() > command.subshell {
            sink.cwd = outer.pop().flatten();
        }
        while outer.len() < command.subshell {
            outer.push(sink.cwd.clone());
        }
        let mut words: &[String] = &command.words;
        // Wrappers (`sudo`, `npx`), their flags, and `VAR=value` prefixes run the next word.
        while let Some(first) = words.first() {
            let prefix = WRAPPERS.contains(&first.as_str())
                || (first.starts_with('-') && words.len() > 1)
                || (first.contains('=') && !first.starts_with('-'));
            if !prefix {
                break;
            }
            words = &words[1..];
        }
        let Some(program) = words.first() else {
            continue;
        };
        let line = command.line;
        let name = program.rsplit('/').next().unwrap_or(program);
        let rest = &words[1..];
        let sub = rest.first().map(String::as_str);
        match (name, sub) {
            ("cd", _) => {
                let target = sub.unwrap_or("");
                sink.cwd = sink.cwd.take().and_then(|d| runners::join(&d, target));
            }
            ("aws", _) => {
                sink.saw_aws = true;
                if rest.iter().any(|w| w == "get-login-password" || w == "get-login") {
                    logged_in_to_ecr = true;
                }
                cli::compile(sink, line, rest);
            }
            ("docker", Some("push" | "pull")) => {
                let key = if sub == Some("push") { "docker:push" } else { "docker:pull" };
                for image in rest[1..].iter().filter(|w| !w.starts_with('-')) {
                    docker_image(sink, line, key, image, logged_in_to_ecr);
                }
            }
            ("docker", Some("buildx" | "build")) if rest.iter().any(|w| w == "--push") => {
                for tag in tag_values(rest) {
                    docker_image(sink, line, "docker:push", &tag, logged_in_to_ecr);
                }
            }
            // `synth`, `diff` and `list` look up context through the bootstrap lookup role.
            (
                "cdk" | "aws-cdk",
                Some("deploy" | "destroy" | "diff" | "synth" | "synthesize" | "list" | "ls"),
            ) => cdk(sink, line),
            ("sam", Some("deploy")) => sam_deploy(sink, line, &rest[1..]),
            ("serverless" | "sls", Some("deploy" | "remove")) => serverless(sink, line, &rest[1..]),
            // The tools' other subcommands that call AWS (`cdk bootstrap`, `sam sync`, `sam
            // package`, `serverless invoke`…); the local ones need nothing.
            ("cdk" | "aws-cdk", Some(sub))
                if !matches!(
                    sub,
                    "init" | "doctor" | "docs" | "context" | "acknowledge" | "notices" | "--version"
                ) =>
            {
                tool_subcommand(sink, line, name, sub)
            }
            ("sam", Some(sub))
                if !matches!(sub, "build" | "init" | "validate" | "local" | "--version" | "--info") =>
            {
                tool_subcommand(sink, line, name, sub)
            }
            ("serverless" | "sls", Some(sub))
                if !matches!(
                    sub,
                    "create" | "install" | "plugin" | "print" | "offline" | "help" | "--version"
                        | "--help" | "login" | "logout"
                ) =>
            {
                tool_subcommand(sink, line, name, sub)
            }
            ("terraform" | "tofu", _) => terraform(sink, line, rest),
            ("copilot", Some(_)) => sink.unknown(
                line,
                "AWS Copilot deploys through CloudFormation with the caller's permissions: its resources cannot be inferred",
            ),
            ("npm" | "yarn" | "pnpm" | "bun", _) => {
                runners::package_manager(sink, line, words, depth);
            }
            ("make" | "gmake", _) => runners::make(sink, line, words, depth),
            // Monorepo task runners run scripts of every package they select.
            ("lerna" | "turbo" | "nx", Some(_)) => runners::unread(
                sink,
                line,
                &format!("`{name}` runs the scripts of a monorepo's packages, which the compiler does not resolve"),
            ),
            (tool, _) if UNREAD_AWS_TOOLS.contains(&tool) => runners::unread(
                sink,
                line,
                &format!("`{tool}` calls AWS as its own configuration says, which the compiler does not read"),
            ),
            (program, _) if NEVER_AWS.contains(&program) => {}
            _ => {
                sink.ran_other = true;
                repository_script(sink, line, words, depth);
            }
        }
    }
}

/// `-t IMAGE` / `--tag IMAGE` / `--tag=IMAGE` values.
fn tag_values(words: &[String]) -> Vec<String> {
    let mut out = Vec::new();
    let mut iter = words.iter();
    while let Some(word) = iter.next() {
        if word == "-t" || word == "--tag" {
            out.extend(iter.next().cloned());
        } else if let Some(v) = word.strip_prefix("--tag=") {
            out.push(v.to_string());
        }
    }
    out
}

/// A pushed or pulled image: an ECR URI (`ACCOUNT.dkr.ecr.REGION.amazonaws.com/REPO:TAG`)
/// names the repository; the registry output of amazon-ecr-login is the job's own account.
fn docker_image(sink: &mut Sink<'_, '_>, line: usize, key: &str, image: &str, ecr_login: bool) {
    let what = if key == "docker:push" {
        "docker push"
    } else {
        "docker pull"
    };
    let without_tag = image.rsplit_once('@').map_or(image, |(i, _)| i);
    let (registry, repository) = match without_tag.split_once('/') {
        Some((r, rest)) => (r, rest),
        None => return, // Docker Hub short names (`node:20`): not ECR.
    };
    let repository = match repository.rsplit_once(':') {
        Some((r, tag)) if !tag.contains('/') => r,
        _ => repository,
    };
    let account = sink.ctx.account.to_string();
    let arn = if let Some(rest) = registry.strip_suffix(".amazonaws.com") {
        // ACCOUNT.dkr.ecr.REGION (the account may be an expression holding dots).
        let parts: Vec<&str> = rest.rsplitn(4, '.').collect();
        let [region, "ecr", "dkr", acct] = parts.as_slice() else {
            sink.unknown(
                line,
                &format!("`{image}` is not an ECR image URI the compiler reads"),
            );
            return;
        };
        let full = format!("{acct}:{region}:{repository}");
        sink.arn(line, what, &full, |_| {
            format!("arn:aws:ecr:{region}:{acct}:repository/{repository}")
        })
    } else if shell::unknowns(registry)
        .iter()
        .any(|u| u.contains("outputs.registry") || u.contains("REGISTRY"))
        || (ecr_login && !shell::unknowns(registry).is_empty())
    {
        let region = sink.region_or_any(line, what, None);
        sink.arn(line, what, repository, |r| {
            format!("arn:aws:ecr:{region}:{account}:repository/{r}")
        })
    } else {
        // Another registry (ghcr.io, docker.io): no AWS permission.
        return;
    };
    let actions = tables().known(key).to_vec();
    sink.grant(line, what, &actions, vec![arn]);
}

/// Modern CDK (bootstrap v2) deploys by assuming the bootstrap roles `cdk-*`.
fn cdk(sink: &mut Sink<'_, '_>, line: usize) {
    let account = sink.ctx.account.to_string();
    let actions = tables().known("cdk:deploy").to_vec();
    sink.grant(
        line,
        "cdk deploy",
        &actions,
        vec![format!("arn:aws:iam::{account}:role/cdk-*")],
    );
}

/// A deploy tool's subcommand the compiler has no table for.
fn tool_subcommand(sink: &mut Sink<'_, '_>, line: usize, tool: &str, sub: &str) {
    runners::unread(
        sink,
        line,
        &format!("`{tool} {sub}` calls AWS in ways the compiler does not read"),
    );
}

/// Reads `--flag value` / `--flag=value` from a word list.
fn flag(words: &[String], name: &str) -> Option<String> {
    let mut iter = words.iter();
    while let Some(word) = iter.next() {
        if word == name {
            return iter.next().cloned();
        }
        if let Some(v) = word.strip_prefix(name).and_then(|r| r.strip_prefix('=')) {
            return Some(v.to_string());
        }
    }
    None
}

fn stack_arn(sink: &mut Sink<'_, '_>, line: usize, what: &str, name: &str) -> String {
    let region = sink.region_or_any(line, what, None);
    let account = sink.ctx.account.to_string();
    sink.arn(line, what, name, |n| {
        format!("arn:aws:cloudformation:{region}:{account}:stack/{n}/*")
    })
}

/// CloudFormation acts with the caller's own permissions unless a service role is passed;
/// without one, the template's resources are what the role needs, and they are not in the
/// workflow.
fn needs_service_role(sink: &mut Sink<'_, '_>, line: usize, what: &str, role: Option<&str>) {
    match role {
        Some(role) => {
            let arn = sink.arn(line, what, role, str::to_string);
            sink.grant(line, what, &["iam:PassRole"], vec![arn]);
        }
        None => sink.unknown(
            line,
            &format!("{what} passes no service role (--role-arn), so CloudFormation creates the template's resources with the role's own permissions, which the workflow does not show"),
        ),
    }
}

/// `aws cloudformation deploy`.
pub fn cloudformation_deploy(sink: &mut Sink<'_, '_>, line: usize, what: &str, inv: &Invocation) {
    let stack = inv
        .option("--stack-name")
        .unwrap_or("«--stack-name»")
        .to_string();
    let arn = stack_arn(sink, line, what, &stack);
    let actions = tables()
        .command("cloudformation", "deploy")
        .unwrap_or_default()
        .to_vec();
    sink.grant(line, what, &actions, vec![arn]);
    if let Some(bucket) = inv.option("--s3-bucket") {
        let prefix = inv.option("--s3-prefix").unwrap_or("");
        let joined = format!("{bucket}/{prefix}");
        let objects = sink.arn(line, what, &joined, |j| {
            format!(
                "arn:aws:s3:::{}*",
                j.trim_end_matches('/').to_string() + "/"
            )
        });
        sink.grant(line, what, &["s3:PutObject", "s3:GetObject"], vec![objects]);
    }
    needs_service_role(sink, line, what, inv.option("--role-arn"));
}

/// `iam:PassRole` on the roles a task definition file in the repository names.
pub fn task_definition_roles(sink: &mut Sink<'_, '_>, line: usize, what: &str, inv: &Invocation) {
    let mut roles: Vec<String> = ["--execution-role-arn", "--task-role-arn"]
        .iter()
        .filter_map(|f| inv.option(f).map(str::to_string))
        .collect();
    if let Some(path) = inv
        .option("--cli-input-json")
        .and_then(|p| p.strip_prefix("file://"))
    {
        match task_definition_file(sink, path) {
            Some(found) => roles.extend(found),
            None => sink.unknown(
                line,
                &format!("{what}: the task definition `{path}` is not readable in the repository, so the roles it passes are unknown"),
            ),
        }
    }
    let roles: Vec<String> = roles
        .iter()
        .map(|r| sink.arn(line, what, r, str::to_string))
        .collect();
    if !roles.is_empty() {
        let actions = tables().known("ecs:pass-role").to_vec();
        sink.grant(line, what, &actions, roles);
    }
}

/// `executionRoleArn` and `taskRoleArn` of a task definition JSON file.
fn task_definition_file(sink: &Sink<'_, '_>, path: &str) -> Option<Vec<String>> {
    let relative = runners::join(sink.cwd.as_deref()?, path)?;
    let text = sink.ctx.files.read(&relative)?;
    let doc: serde_json::Value = serde_json::from_str(&text).ok()?;
    Some(
        ["executionRoleArn", "taskRoleArn"]
            .iter()
            .filter_map(|k| doc.get(k).and_then(|v| v.as_str()).map(str::to_string))
            .collect(),
    )
}

/// `sam deploy`: the stack, the artifact bucket, and the service role.
fn sam_deploy(sink: &mut Sink<'_, '_>, line: usize, args: &[String]) {
    let what = "sam deploy";
    let stack =
        flag(args, "--stack-name").unwrap_or_else(|| "«--stack-name (samconfig.toml)»".into());
    let mut stacks = vec![stack_arn(sink, line, what, &stack)];
    let region = sink.region_or_any(line, what, None);
    // SAM templates use the Serverless transform; its change sets need the transform's ARN.
    stacks.push(format!(
        "arn:aws:cloudformation:{region}:aws:transform/Serverless-2016-10-31"
    ));
    let actions = tables().known("sam:deploy").to_vec();
    sink.grant(line, what, &actions, stacks);
    let artifacts = tables().known("sam:artifacts").to_vec();
    let bucket = if let Some(bucket) = flag(args, "--s3-bucket") {
        Some(sink.arn(line, what, &bucket, |b| format!("arn:aws:s3:::{b}")))
    } else if args.iter().any(|a| a == "--resolve-s3") {
        Some("arn:aws:s3:::aws-sam-cli-managed-default-samclisourcebucket-*".to_string())
    } else {
        None
    };
    if let Some(bucket) = bucket {
        artifact_bucket(sink, line, what, &artifacts, &bucket);
    }
    needs_service_role(sink, line, what, flag(args, "--role-arn").as_deref());
}

/// Uploads to an artifact bucket: list the bucket, read and write its objects.
fn artifact_bucket(
    sink: &mut Sink<'_, '_>,
    line: usize,
    what: &str,
    actions: &[&str],
    bucket: &str,
) {
    let (list, objects): (Vec<&str>, Vec<&str>) =
        actions.iter().partition(|a| **a == "s3:ListBucket");
    let objects_arn = if bucket == "*" {
        "*".to_string()
    } else {
        format!("{bucket}/*")
    };
    sink.grant(line, what, &list, vec![bucket.to_string()]);
    sink.grant(line, what, &objects, vec![objects_arn]);
}

/// `serverless deploy`: stack `SERVICE-STAGE` from serverless.yml and the deployment bucket;
/// without a `cfnRole`, the resources of the service are created with the role's permissions.
fn serverless(sink: &mut Sink<'_, '_>, line: usize, args: &[String]) {
    let what = "serverless deploy";
    let stage = flag(args, "--stage")
        .or_else(|| flag(args, "-s"))
        .unwrap_or_else(|| "dev".into());
    let config = sink.cwd.as_deref().and_then(|dir| {
        sink.ctx
            .files
            .read(&runners::path_in(dir, "serverless.yml"))
    });
    let service = config.as_deref().and_then(|text| {
        text.lines()
            .find_map(|l| l.strip_prefix("service:"))
            .map(|v| v.trim().trim_matches(['"', '\'']).to_string())
    });
    let service = service.unwrap_or_else(|| "«service (serverless.yml)»".into());
    let stack = format!("{service}-{stage}");
    let arn = stack_arn(sink, line, what, &stack);
    let actions = tables().known("serverless:deploy").to_vec();
    sink.grant(line, what, &actions, vec![arn]);
    // The framework's deployment bucket is a resource of the stack, named after it.
    let bucket = if stack.contains('«') {
        "*".to_string()
    } else {
        format!(
            "arn:aws:s3:::{}-serverlessdeploymentbucket-*",
            stack.to_ascii_lowercase()
        )
    };
    let artifacts = tables().known("serverless:artifacts").to_vec();
    artifact_bucket(sink, line, what, &artifacts, &bucket);
    let role = config.as_deref().and_then(|text| {
        text.lines()
            .find_map(|l| l.trim().strip_prefix("cfnRole:"))
            .map(|v| v.trim().trim_matches(['"', '\'']).to_string())
    });
    needs_service_role(sink, line, what, role.as_deref());
}

/// Terraform: the S3 backend and its DynamoDB lock from the configuration in the repository;
/// what `plan`/`apply` manage cannot be inferred.
fn terraform(sink: &mut Sink<'_, '_>, line: usize, args: &[String]) {
    let chdir = args.iter().find_map(|a| a.strip_prefix("-chdir="));
    let dir = match chdir {
        Some(target) => sink.cwd.as_deref().and_then(|d| runners::join(d, target)),
        None => sink.cwd.clone(),
    };
    let sub = args
        .iter()
        .find(|a| !a.starts_with('-'))
        .map(String::as_str)
        .unwrap_or("");
    match sub {
        "init" | "plan" | "apply" | "destroy" | "import" | "refresh" | "output" | "state" => {}
        _ => return,
    }
    let backend = dir.as_deref().and_then(|dir| backend_config(sink, dir));
    match backend {
        Some(b) => {
            // The S3 backend lists the bucket, reads and writes the state, and (with S3
            // locking) writes and deletes `KEY.tflock`.
            let what = "terraform backend";
            let state_actions = tables().known("terraform:state").to_vec();
            let pick = |names: &[&str]| -> Vec<&str> {
                state_actions
                    .iter()
                    .copied()
                    .filter(|a| names.contains(a))
                    .collect()
            };
            let (list, write, delete) = (
                pick(&["s3:ListBucket"]),
                pick(&["s3:GetObject", "s3:PutObject"]),
                pick(&["s3:DeleteObject"]),
            );
            sink.grant(line, what, &list, vec![format!("arn:aws:s3:::{}", b.bucket)]);
            let key = b.key.clone().unwrap_or_else(|| "*".into());
            let state = format!("arn:aws:s3:::{}/{key}", b.bucket);
            let lock = format!("arn:aws:s3:::{}/{key}.tflock", b.bucket);
            sink.grant(line, what, &write, vec![state, lock.clone()]);
            sink.grant(line, what, &delete, vec![lock]);
            if let Some(table) = &b.lock_table {
                let region = b
                    .region
                    .clone()
                    .unwrap_or_else(|| sink.region_or_any(line, what, None));
                let account = sink.ctx.account.to_string();
                let lock = tables().known("terraform:lock").to_vec();
                sink.grant(
                    line,
                    "terraform lock",
                    &lock,
                    vec![format!("arn:aws:dynamodb:{region}:{account}:table/{table}")],
                );
            }
        }
        None => sink.unknown(
            line,
            "no `backend \"s3\"` block found in the repository's Terraform files, so the state location is unknown",
        ),
    }
    if sub != "init" && sub != "output" {
        sink.unknown(
            line,
            &format!("`terraform {sub}` manages resources the workflow does not name"),
        );
    }
}

struct Backend {
    bucket: String,
    key: Option<String>,
    region: Option<String>,
    lock_table: Option<String>,
}

/// The first `backend "s3" { … }` in the directory's `.tf` files.
fn backend_config(sink: &Sink<'_, '_>, dir: &str) -> Option<Backend> {
    for file in sink.ctx.files.list(dir) {
        if !file.ends_with(".tf") {
            continue;
        }
        let Some(text) = sink.ctx.files.read(&file) else {
            continue;
        };
        let Some(start) = text.find("backend \"s3\"") else {
            continue;
        };
        let body = &text[start..];
        let body = &body[..body.find('}').unwrap_or(body.len())];
        let value = |key: &str| {
            body.lines().find_map(|l| {
                let (k, v) = l.split_once('=')?;
                (k.trim() == key).then(|| v.trim().trim_matches('"').to_string())
            })
        };
        let bucket = value("bucket")?;
        return Some(Backend {
            bucket,
            key: value("key"),
            region: value("region"),
            lock_table: value("dynamodb_table"),
        });
    }
    None
}

/// A repository script (`./deploy.sh`, `bash scripts/x.sh`): read and compiled when the
/// repository is at hand, else not understood (where the keys reach it).
fn repository_script(sink: &mut Sink<'_, '_>, line: usize, words: &[String], depth: usize) {
    let program = words[0].as_str();
    let path = if matches!(program, "bash" | "sh" | "zsh" | "source" | ".") {
        words.get(1).map(String::as_str)
    } else if program.ends_with(".sh") || program.starts_with("./") {
        Some(program)
    } else if matches!(program, "python" | "python3" | "node")
        && words
            .get(1)
            .is_some_and(|w| w.ends_with(".py") || w.ends_with(".js"))
    {
        return runners::unread(
            sink,
            line,
            &format!("runs `{}`, a program the compiler does not read", words[1]),
        );
    } else {
        None
    };
    let Some(path) = path.filter(|p| p.ends_with(".sh") || p.starts_with("./")) else {
        return;
    };
    let file = sink
        .cwd
        .as_deref()
        .and_then(|dir| runners::join(dir, path))
        .and_then(|relative| sink.ctx.files.read(&relative));
    match file {
        Some(text) if depth < MAX_SCRIPT_DEPTH => {
            let dir = sink.cwd.clone();
            runners::run_text(sink, line, &text, dir, depth);
        }
        _ => runners::unread(
            sink,
            line,
            &format!("runs `{path}`, which the compiler cannot read here"),
        ),
    }
}

/// A `uses:` step.
pub fn action(sink: &mut Sink<'_, '_>, action: &str, inputs: &BTreeMap<String, String>) {
    let line = sink.step.line;
    // The inputs and env values an action's documentation names, expanded when read (most
    // actions of a job are neither known nor read).
    let step_env = Arc::clone(&sink.step.env);
    let input = |name: &str| {
        inputs
            .get(name)
            .map(|v| shell::expand_expressions(v, &step_env, 0).into_owned())
    };
    let env = |name: &str| {
        step_env
            .get(name)
            .map(|v| shell::expand_expressions(v, &step_env, 0).into_owned())
    };
    let known = || tables().known(&format!("uses:{action}")).to_vec();
    let account = sink.ctx.account.to_string();
    match action {
        "aws-actions/amazon-ecr-login" => sink.grant(line, action, &known(), Vec::new()),
        "aws-actions/amazon-ecs-deploy-task-definition" => {
            let cluster = input("cluster")
                .unwrap_or_else(|| "default".into());
            let region = sink.region_or_any(line, action, None);
            sink.grant(line, action, &["ecs:RegisterTaskDefinition"], Vec::new());
            if let Some(service) = input("service") {
                let both = format!("{cluster}/{service}");
                let arn = sink.arn(line, action, &both, |b| {
                    format!("arn:aws:ecs:{region}:{account}:service/{b}")
                });
                sink.grant(
                    line,
                    action,
                    &["ecs:DescribeServices", "ecs:UpdateService"],
                    vec![arn],
                );
            }
            let file = input("task-definition").unwrap_or_default();
            let path = rendered_task_definition(sink, &file).unwrap_or(file);
            match task_definition_file(sink, &path) {
                Some(roles) => {
                    let roles: Vec<String> = roles
                        .iter()
                        .map(|r| sink.arn(line, action, r, str::to_string))
                        .collect();
                    let pass = tables().known("ecs:pass-role").to_vec();
                    sink.grant(line, action, &pass, roles);
                }
                None => sink.unknown(
                    line,
                    &format!("the task definition `{path}` is not readable in the repository, so the roles it passes (iam:PassRole) are unknown"),
                ),
            }
        }
        "aws-actions/aws-cloudformation-github-deploy" => {
            let name = input("name")
                .unwrap_or_else(|| "«name»".into());
            let arn = stack_arn(sink, line, action, &name);
            sink.grant(line, action, &known(), vec![arn]);
            needs_service_role(
                sink,
                line,
                action,
                input("role-arn").as_deref(),
            );
        }
        "aws-actions/aws-codebuild-run-build" => {
            let name = input("project-name")
                .unwrap_or_else(|| "«project-name»".into());
            let region = sink.region_or_any(line, action, None);
            let project = sink.arn(line, action, &name, |n| {
                format!("arn:aws:codebuild:{region}:{account}:project/{n}")
            });
            let logs = sink.arn(line, action, &name, |n| {
                format!("arn:aws:logs:{region}:{account}:log-group:/aws/codebuild/{n}:*")
            });
            sink.grant(
                line,
                action,
                &["codebuild:StartBuild", "codebuild:BatchGetBuilds"],
                vec![project],
            );
            sink.grant(line, action, &["logs:GetLogEvents"], vec![logs]);
        }
        "jakejarvis/s3-sync-action" => {
            let bucket = env("AWS_S3_BUCKET").unwrap_or_else(|| "«AWS_S3_BUCKET»".into());
            let dest = env("DEST_DIR").unwrap_or_default();
            let args = input("args").unwrap_or_default();
            let mut words: Vec<String> = vec!["s3".into(), "sync".into(), ".".into()];
            words.push(format!("s3://{bucket}/{}", dest.trim_matches('/')));
            words.extend(args.split_whitespace().map(str::to_string));
            let saved = sink.region.clone();
            if let Some(region) = env("AWS_REGION") {
                sink.region = Some(region);
            }
            cli::compile(sink, line, &words);
            sink.region = saved;
        }
        "chetan/invalidate-cloudfront-action" => {
            let id = env("DISTRIBUTION").unwrap_or_else(|| "«DISTRIBUTION»".into());
            let arn = sink.arn(line, action, &id, |i| {
                format!("arn:aws:cloudfront::{account}:distribution/{i}")
            });
            sink.grant(line, action, &known(), vec![arn]);
        }
        "aws-actions/aws-secretsmanager-get-secrets" => {
            let ids = input("secret-ids").unwrap_or_default();
            let region = sink.region_or_any(line, action, None);
            let mut arns = Vec::new();
            for entry in ids.lines().map(str::trim).filter(|l| !l.is_empty()) {
                // `ALIAS,secret-id` or `secret-id`.
                let id = entry.rsplit(',').next().unwrap_or(entry).trim();
                if id.contains('*') {
                    sink.grant(line, action, &["secretsmanager:ListSecrets"], Vec::new());
                }
                arns.push(sink.arn(line, action, id, |i| {
                    if i.starts_with("arn:") {
                        i.to_string()
                    } else {
                        format!("arn:aws:secretsmanager:{region}:{account}:secret:{i}-??????")
                    }
                }));
            }
            sink.grant(line, action, &known(), arns);
        }
        // docker/login-action logs in to ECR with the keys it is given (GetAuthorizationToken).
        "docker/login-action"
            if input("registry")
                .is_some_and(|r| r.contains(".dkr.ecr.") || r.contains("public.ecr.aws")) =>
        {
            let login = tables().known("uses:aws-actions/amazon-ecr-login").to_vec();
            sink.grant(line, action, &login, Vec::new());
        }
        "docker/build-push-action" => {
            let push = input("push").is_some_and(|v| v.trim() == "true");
            if push {
                let tags = input("tags").unwrap_or_default();
                for tag in tags
                    .split([',', '\n'])
                    .map(str::trim)
                    .filter(|t| !t.is_empty())
                {
                    docker_image(sink, line, "docker:push", tag, true);
                }
            }
        }
        // Runs commands on another host, which gets the job's AWS variables only through `envs`.
        "appleboy/ssh-action" if !input("envs").is_some_and(|e| e.contains("AWS_")) => {}
        local if local.starts_with("./") => sink.unknown(
            line,
            &format!(
                "the local action {local} runs with the job's AWS credentials, and the compiler does not read its steps"
            ),
        ),
        other if calls_no_aws(other) => {}
        other => sink.unknown(
            line,
            &format!(
                "{other} runs with the job's AWS credentials, and the compiler does not know which AWS calls it makes"
            ),
        ),
    }
}

/// Actions that install tools, move files or talk to GitHub, never to AWS: the rest of a job
/// that holds AWS credentials may call anything with them. Names are lowercased.
const NO_AWS_ACTIONS: &[&str] = &[
    "aws-actions/amazon-ecs-render-task-definition",
    "aws-actions/setup-sam",
    "codecov/codecov-action",
    "docker/metadata-action",
    "release-drafter/release-drafter",
    "robburger/terraform-pr-commenter",
    "sarisia/actions-status-discord",
    "slackapi/slack-github-action",
    "step-security/harden-runner",
    "tokorom/action-slack-incoming-webhook",
];

/// GitHub's own actions, tool installers (`*/setup-*`, `*/install-*`) and the known harmless
/// rest (also the list the detector uses for steps that do not touch AWS).
fn calls_no_aws(action: &str) -> bool {
    let repo = action.split_once('/').map_or("", |(_, repo)| repo);
    let repo_name = repo.split('/').next().unwrap_or(repo);
    crate::facts::steps::never_read(action)
        || repo_name.contains("install")
        || NO_AWS_ACTIONS.contains(&action)
        || crate::detect::sources::calls_no_aws(action)
}

/// amazon-ecs-render-task-definition's output: the file its `task-definition` input names.
fn rendered_task_definition(sink: &Sink<'_, '_>, value: &str) -> Option<String> {
    let id = shell::unknowns(value).into_iter().find_map(|u| {
        u.strip_prefix("steps.")
            .map(|s| s.split('.').next().unwrap_or("").to_string())
    })?;
    sink.job.steps.iter().find_map(|step| match &step.action {
        StepAction::Uses { action, inputs }
            if action == "aws-actions/amazon-ecs-render-task-definition"
                && step.id.as_deref() == Some(id.as_str()) =>
        {
            inputs
                .get("task-definition")
                .map(|v| shell::expand_expressions(v, &step.env, 0).into_owned())
        }
        _ => None,
    })
}
