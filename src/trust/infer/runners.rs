//! What package scripts and Makefile targets run: `npm run deploy`, `yarn deploy`, `pnpm
//! build`, `bun run x`, `make deploy` resolved through the repository's `package.json` and
//! `Makefile` into the commands they run, which the compiler then reads like any script. A
//! runner whose script cannot be read in a step the keys reach is a step not understood.

use std::collections::{BTreeMap, BTreeSet};

use super::Sink;
use super::known::{self, MAX_SCRIPT_DEPTH};
use super::shell::{self, Command};
use crate::facts::steps::KeyReach;

/// Subcommands that install, inspect or publish packages (none runs a project's script of
/// its own choosing, and none calls AWS).
const PACKAGE_COMMANDS: &[&str] = &[
    "install",
    "i",
    "ci",
    "add",
    "remove",
    "rm",
    "uninstall",
    "un",
    "update",
    "up",
    "upgrade",
    "audit",
    "outdated",
    "ls",
    "list",
    "why",
    "info",
    "view",
    "version",
    "pack",
    "publish",
    "login",
    "logout",
    "config",
    "cache",
    "link",
    "unlink",
    "prune",
    "dedupe",
    "rebuild",
    "init",
    "whoami",
    "set",
    "plugin",
    "import",
    "fetch",
    "store",
    "licenses",
    "help",
    "doctor",
    "pkg",
    "shrinkwrap",
    "dist-tag",
    "fund",
    "explain",
    "query",
    "prefix",
    "root",
    "ping",
    "--version",
    "-v",
];

/// Tools a package manager runs from `node_modules/.bin` that the compiler reads
/// (`yarn cdk deploy`, `pnpm sls deploy`) even when `package.json` is not at hand.
const KNOWN_BINS: &[&str] = &["aws", "cdk", "aws-cdk", "sam", "serverless", "sls"];

/// `npm …`, `yarn …`, `pnpm …`, `bun …` (`words` starts with the program).
pub fn package_manager(sink: &mut Sink<'_, '_>, line: usize, words: &[String], depth: usize) {
    let manager = words[0].as_str();
    let mut dir = sink.cwd.clone();
    let mut args = words[1..].iter();
    let mut sub: Option<&str> = None;
    while let Some(word) = args.next() {
        let (flag, inline) = split_flag(word);
        match flag {
            "--prefix" | "--cwd" | "-C" | "--dir" => {
                let target = inline.or_else(|| args.next().map(String::as_str));
                dir = dir.and_then(|d| join(&d, target.unwrap_or("")));
            }
            "--filter" | "-F" | "--workspace" | "-w" | "--workspaces" | "-ws" | "-r"
            | "--recursive" => return workspace_script(sink, line, words),
            f if f.starts_with('-') => {}
            _ => {
                sub = Some(word.as_str());
                break;
            }
        }
    }
    let rest: Vec<String> = args.cloned().collect();
    let Some(sub) = sub else {
        return; // Bare `yarn` installs; bare `npm`/`pnpm`/`bun` print their help.
    };
    if PACKAGE_COMMANDS.contains(&sub) {
        return;
    }
    let (name, extra): (&str, &[String]) = match (manager, sub) {
        (_, "exec" | "dlx" | "x") => return as_command(sink, line, &rest, depth),
        // `yarn workspaces foreach run deploy`, `yarn workspace web deploy`.
        (_, "workspace" | "workspaces") => return workspace_script(sink, line, words),
        (_, "run" | "run-script" | "rum" | "urn") => match rest.split_first() {
            Some((name, extra)) => (name.as_str(), extra),
            None => return, // Lists the scripts.
        },
        ("npm", "test" | "t" | "tst" | "start" | "stop" | "restart") => {
            (if sub.starts_with('t') { "test" } else { sub }, &rest[..])
        }
        // npm's commands are a closed set: a word it does not take is a misread (a flag's
        // value, `npm --loglevel silent run deploy`), and what runs is unknown. yarn, pnpm
        // and bun run a script or, failing that, a program from node_modules/.bin.
        ("npm", _) => {
            return unread(
                sink,
                line,
                &format!(
                    "`{}`: `{sub}` is not an npm command the compiler reads",
                    words.join(" ")
                ),
            );
        }
        _ => (sub, &rest[..]),
    };
    // npm passes what follows `--` to the script.
    let extra = extra.strip_prefix(&["--".to_string()][..]).unwrap_or(extra);
    let shown = words.join(" ");
    let manifest = dir
        .as_deref()
        .and_then(|d| sink.ctx.files.read(&path_in(d, "package.json")));
    let scripts = manifest.as_deref().and_then(package_scripts);
    if let Some(scripts) = scripts.as_ref().filter(|s| s.contains_key(name)) {
        if depth >= MAX_SCRIPT_DEPTH {
            return too_deep(sink, line, &shown);
        }
        // npm and yarn run `preNAME` and `postNAME` around it; arguments go to NAME.
        for (key, args) in [
            (format!("pre{name}"), &[][..]),
            (name.to_string(), extra),
            (format!("post{name}"), &[][..]),
        ] {
            if let Some(text) = scripts.get(&key) {
                let text = if args.is_empty() {
                    text.clone()
                } else {
                    format!("{text} {}", args.join(" "))
                };
                run_text(sink, line, &text, dir.clone(), depth);
            }
        }
        return;
    }
    // No such script: yarn, pnpm and bun run the program from node_modules/.bin (npm fails
    // the job today). With no manifest at hand, only a program the compiler reads is taken
    // for one.
    if manager != "npm" && (scripts.is_some() || KNOWN_BINS.contains(&name)) {
        as_command(sink, line, &[&[name.to_string()], extra].concat(), depth);
    } else if scripts.is_none() {
        unread(
            sink,
            line,
            &format!(
                "`{shown}` runs the `{name}` script of package.json, which the compiler cannot read here"
            ),
        );
    }
}

/// A `--flag=value` word as the flag and its value; any other word as itself.
fn split_flag(word: &str) -> (&str, Option<&str>) {
    match word.split_once('=') {
        Some((flag, value)) if flag.starts_with("--") => (flag, Some(value)),
        _ => (word, None),
    }
}

fn workspace_script(sink: &mut Sink<'_, '_>, line: usize, words: &[String]) {
    unread(
        sink,
        line,
        &format!(
            "`{}` runs a workspace package's script, which the compiler does not resolve",
            words.join(" ")
        ),
    );
}

fn too_deep(sink: &mut Sink<'_, '_>, line: usize, shown: &str) {
    unread(
        sink,
        line,
        &format!("`{shown}` runs scripts nested deeper than {MAX_SCRIPT_DEPTH} levels"),
    );
}

/// `make [-C DIR] [-f FILE] [VAR=value] [TARGET…]` (`words` starts with the program).
pub fn make(sink: &mut Sink<'_, '_>, line: usize, words: &[String], depth: usize) {
    let shown = words.join(" ");
    let mut dir = sink.cwd.clone();
    let mut file: Option<String> = None;
    let mut overrides = BTreeMap::new();
    let mut targets = Vec::new();
    let mut args = words[1..].iter();
    while let Some(word) = args.next() {
        let word = word.as_str();
        let (flag, inline) = split_flag(word);
        if flag == "-C" || flag == "--directory" {
            let target = inline.or_else(|| args.next().map(String::as_str));
            dir = dir.and_then(|d| join(&d, target.unwrap_or("")));
        } else if flag == "-f" || flag == "--file" || flag == "--makefile" {
            file = inline.map(str::to_string).or_else(|| args.next().cloned());
        } else if word.starts_with('-') {
        } else if let Some((name, value)) = word.split_once('=') {
            overrides.insert(name.to_string(), value.to_string());
        } else {
            targets.push(word.to_string());
        }
    }
    let text = dir.as_deref().and_then(|d| {
        let names = match &file {
            Some(f) => vec![f.as_str()],
            None => vec!["GNUmakefile", "makefile", "Makefile"],
        };
        names
            .into_iter()
            .find_map(|name| sink.ctx.files.read(&path_in(d, name)))
    });
    let Some(text) = text else {
        return unread(
            sink,
            line,
            &format!("`{shown}` runs Makefile recipes the compiler cannot read here"),
        );
    };
    if depth >= MAX_SCRIPT_DEPTH {
        return too_deep(sink, line, &shown);
    }
    let makefile = Makefile::parse(&text, overrides);
    if targets.is_empty() {
        targets.extend(makefile.default_target.clone());
    }
    let mut done = BTreeSet::new();
    for target in &targets {
        for recipe_line in makefile.recipe(target, &mut done) {
            // Each recipe line runs in a shell of its own, in make's directory.
            run_text(sink, line, &recipe_line, dir.clone(), depth);
        }
    }
}

/// Compiles script text (a package script, a recipe line, a repository script) one level
/// deeper, in `dir`; its lines are reported at the step's line, and its `cd`s do not outlast it
/// (it runs in a process of its own).
pub(super) fn run_text(
    sink: &mut Sink<'_, '_>,
    line: usize,
    text: &str,
    dir: Option<String>,
    depth: usize,
) {
    let commands: Vec<Command> = shell::commands(text, line, &sink.step.env)
        .into_iter()
        .map(|c| Command {
            line,
            words: c.words,
            subshell: c.subshell,
        })
        .collect();
    let saved = std::mem::replace(&mut sink.cwd, dir);
    known::script(sink, &commands, depth + 1);
    sink.cwd = saved;
}

fn as_command(sink: &mut Sink<'_, '_>, line: usize, words: &[String], depth: usize) {
    if words.is_empty() {
        return;
    }
    let command = Command {
        line,
        words: words.to_vec(),
        subshell: 0,
    };
    known::script(sink, std::slice::from_ref(&command), depth);
}

/// A program whose AWS calls cannot be read: not understood where the keys reach it.
pub fn unread(sink: &mut Sink<'_, '_>, line: usize, why: &str) {
    if sink.step.keys != KeyReach::None {
        sink.unknown(line, why);
    }
}

/// `scripts` of a package.json.
fn package_scripts(text: &str) -> Option<BTreeMap<String, String>> {
    let doc: serde_json::Value = serde_json::from_str(text).ok()?;
    Some(
        doc.get("scripts")
            .and_then(serde_json::Value::as_object)
            .map(|scripts| {
                scripts
                    .iter()
                    .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
                    .collect()
            })
            .unwrap_or_default(),
    )
}

/// `file` in `dir` (both relative to the repository root; `""` is the root).
pub fn path_in(dir: &str, file: &str) -> String {
    if dir.is_empty() {
        file.to_string()
    } else {
        format!("{dir}/{file}")
    }
}

/// `dir` joined with a relative `path` (`./a/../b`), relative to the repository root; `None`
/// when the result is not known or leaves the repository (`$DIR`, `/tmp`, `~`, `../..`).
pub fn join(dir: &str, path: &str) -> Option<String> {
    if path.is_empty()
        || path.starts_with(['/', '~', '$', '-'])
        || !shell::unknowns(path).is_empty()
    {
        return None;
    }
    let mut parts: Vec<&str> = dir.split('/').filter(|p| !p.is_empty()).collect();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            p => parts.push(p),
        }
    }
    Some(parts.join("/"))
}

/// The parts of a Makefile the compiler needs: simple variables, and each target's
/// prerequisites and recipe lines.
struct Makefile {
    variables: BTreeMap<String, String>,
    rules: BTreeMap<String, (Vec<String>, Vec<String>)>,
    default_target: Option<String>,
}

impl Makefile {
    fn parse(text: &str, overrides: BTreeMap<String, String>) -> Self {
        let mut variables = BTreeMap::new();
        let mut rules: BTreeMap<String, (Vec<String>, Vec<String>)> = BTreeMap::new();
        let mut default_target = None;
        let mut current: Vec<String> = Vec::new();
        let mut pending = String::new();
        for raw in text.lines() {
            // Backslash-newline joins lines (in recipes the shell sees the joined line).
            if let Some(body) = raw.strip_suffix('\\') {
                pending.push_str(body);
                pending.push(' ');
                continue;
            }
            let joined = std::mem::take(&mut pending) + raw;
            let line = joined.as_str();
            if let Some(recipe) = line.strip_prefix('\t') {
                let recipe = recipe.trim_start_matches(['@', '-', '+', ' ']);
                for target in &current {
                    if let Some(rule) = rules.get_mut(target) {
                        rule.1.push(recipe.to_string());
                    }
                }
                continue;
            }
            let code = line.split('#').next().unwrap_or("").trim_end();
            if code.trim().is_empty() {
                continue;
            }
            let code = code
                .trim_start()
                .trim_start_matches("export ")
                .trim_start_matches("override ");
            if let Some((name, value)) = assignment(code) {
                variables.insert(name.to_string(), value.trim().to_string());
                current.clear();
                continue;
            }
            if let Some((targets, prerequisites)) = code.split_once(':') {
                let prerequisites = prerequisites.trim_start_matches(':');
                let (prerequisites, inline) = match prerequisites.split_once(';') {
                    Some((p, r)) => (p, Some(r.trim())),
                    None => (prerequisites, None),
                };
                current = targets.split_whitespace().map(str::to_string).collect();
                for target in &current {
                    if default_target.is_none() && !target.starts_with('.') {
                        default_target = Some(target.clone());
                    }
                    let rule = rules.entry(target.clone()).or_default();
                    rule.0
                        .extend(prerequisites.split_whitespace().map(str::to_string));
                    rule.1.extend(inline.map(str::to_string));
                }
                continue;
            }
            current.clear();
        }
        variables.extend(overrides);
        Self {
            variables,
            rules,
            default_target,
        }
    }

    /// The recipe lines `make TARGET` runs, its prerequisites' first, with make's variables
    /// written in; each target once.
    fn recipe(&self, target: &str, done: &mut BTreeSet<String>) -> Vec<String> {
        let mut out = Vec::new();
        if !done.insert(target.to_string()) {
            return out;
        }
        let Some((prerequisites, lines)) = self.rules.get(target) else {
            return out;
        };
        for prerequisite in prerequisites {
            out.extend(self.recipe(prerequisite, done));
        }
        for line in lines {
            out.push(self.expand(line, target, prerequisites, 0));
        }
        out
    }

    /// make's `$(NAME)`/`${NAME}` and `$@` written in; `$$` is the shell's `$`. A variable
    /// the Makefile does not set is left to the shell's environment (`${NAME}`); make's
    /// functions (`$(shell …)`) become unknown.
    fn expand(&self, text: &str, target: &str, prerequisites: &[String], depth: usize) -> String {
        let mut out = String::with_capacity(text.len());
        let mut rest = text;
        while let Some(at) = rest.find('$') {
            out.push_str(&rest[..at]);
            let after = &rest[at + 1..];
            let (close, body_start) = match after.chars().next() {
                Some('(') => (')', 1),
                Some('{') => ('}', 1),
                Some('$') => {
                    out.push('$');
                    rest = &after[1..];
                    continue;
                }
                Some('@') => {
                    out.push_str(target);
                    rest = &after[1..];
                    continue;
                }
                Some('<') | Some('^') => {
                    out.push_str(&prerequisites.join(" "));
                    rest = &after[1..];
                    continue;
                }
                _ => {
                    out.push('$');
                    rest = after;
                    continue;
                }
            };
            let Some(end) = after[body_start..].find(close) else {
                out.push_str(&rest[at..]);
                return out;
            };
            let name = &after[body_start..body_start + end];
            rest = &after[body_start + end + 1..];
            if name.contains([' ', ',', '$']) {
                out.push(shell::UNKNOWN_OPEN);
                out.push_str("$(");
                out.push_str(name);
                out.push(')');
                out.push(shell::UNKNOWN_CLOSE);
            } else if let Some(value) = self.variables.get(name).filter(|_| depth < 4) {
                out.push_str(&self.expand(value, target, prerequisites, depth + 1));
            } else {
                out.push_str("${");
                out.push_str(name);
                out.push('}');
            }
        }
        out.push_str(rest);
        out
    }
}

/// `NAME = value`, `NAME := value`, `NAME ?= value`, `NAME += value` (an append is taken as
/// the whole value: the compiler needs names, not exact command lines). `target: …` is a rule.
fn assignment(code: &str) -> Option<(&str, &str)> {
    let end = code
        .find(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.')))
        .unwrap_or(code.len());
    let (name, rest) = code.split_at(end);
    let rest = rest.trim_start();
    let value = ["::=", ":=", "?=", "+=", "!=", "="]
        .iter()
        .find_map(|op| rest.strip_prefix(op))?;
    (!name.is_empty()).then_some((name, value))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn joins_relative_directories_inside_the_repository() {
        assert_eq!(join("", "./site"), Some("site".into()));
        assert_eq!(join("app", "../infra/"), Some("infra".into()));
        assert_eq!(join("", ".."), None);
        assert_eq!(join("", "/tmp"), None);
        assert_eq!(join("", "$DIR"), None);
    }

    #[test]
    fn makefile_recipes_follow_prerequisites_and_variables() {
        let text = "BUCKET ?= site-prod\nSTACK := web-$(STAGE)\n\n.PHONY: deploy build\n\nbuild:\n\tnpm run build\n\ndeploy: build\n\t@aws s3 sync dist s3://$(BUCKET) --delete\n\taws cloudformation deploy --stack-name $(STACK) \\\n\t  --template-file t.yml\n\techo $$HOME $@ $(shell date)\n";
        let makefile = Makefile::parse(text, BTreeMap::new());
        assert_eq!(makefile.default_target.as_deref(), Some("build"));
        let lines = makefile.recipe("deploy", &mut BTreeSet::new());
        assert_eq!(
            lines,
            [
                "npm run build",
                "aws s3 sync dist s3://site-prod --delete",
                "aws cloudformation deploy --stack-name web-${STAGE}  \t  --template-file t.yml",
                "echo $HOME deploy «$(shell date)»",
            ]
        );
        let overridden = Makefile::parse(text, [("BUCKET".into(), "other".into())].into());
        assert!(overridden.recipe("deploy", &mut BTreeSet::new())[1].contains("s3://other"));
    }
}
