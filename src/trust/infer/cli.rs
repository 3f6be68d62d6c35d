//! One `aws SERVICE COMMAND …` invocation → IAM grants: the action from the generated tables,
//! the resources from the flags that name them (`--function-name`, `--cluster`/`--service`,
//! S3 URIs…) in the account and region the job uses.

use std::collections::BTreeMap;

use super::table::tables;
use super::{Sink, shell};
use crate::facts::services::AWS_CLI_VALUE_OPTIONS;

/// Options of `aws s3` commands that take a value (everything else is a switch).
const S3_VALUE_OPTIONS: &[&str] = &[
    "--acl",
    "--cache-control",
    "--content-type",
    "--content-encoding",
    "--content-disposition",
    "--content-language",
    "--exclude",
    "--include",
    "--storage-class",
    "--sse",
    "--sse-kms-key-id",
    "--metadata",
    "--metadata-directive",
    "--expires",
    "--grants",
    "--website-redirect",
    "--page-size",
    "--expires-in",
    "--source-region",
];

/// A parsed invocation: options (`--flag value`, repeated values kept) and positionals.
#[derive(Debug, Default)]
pub struct Invocation {
    pub service: String,
    pub command: String,
    pub options: BTreeMap<String, Vec<String>>,
    pub switches: Vec<String>,
    pub positionals: Vec<String>,
    pub region: Option<String>,
}

impl Invocation {
    pub fn option(&self, name: &str) -> Option<&str> {
        self.options
            .get(name)
            .and_then(|v| v.first())
            .map(String::as_str)
    }
    pub fn has(&self, name: &str) -> bool {
        self.switches.iter().any(|s| s == name) || self.options.contains_key(name)
    }
}

/// Parses the words after `aws`. `None` when the service or command is not a plain word
/// (`aws $SERVICE …`) or missing.
pub fn parse(words: &[String]) -> Option<Invocation> {
    let mut inv = Invocation::default();
    let mut i = 0;
    let mut head = Vec::new();
    while i < words.len() {
        let word = &words[i];
        if let Some(flag) = word.strip_prefix("--") {
            let (name, inline) = match flag.split_once('=') {
                Some((n, v)) => (format!("--{n}"), Some(v.to_string())),
                None => (word.clone(), None),
            };
            let takes_value = if head.len() < 2 {
                AWS_CLI_VALUE_OPTIONS.contains(&name.as_str())
            } else if inv.service == "s3" {
                S3_VALUE_OPTIONS.contains(&name.as_str())
            } else {
                // API commands: a flag followed by a non-flag word takes it as its value
                // (list flags like `--names a b` take every word up to the next flag).
                true
            };
            if let Some(value) = inline {
                inv.options.entry(name.clone()).or_default().push(value);
            } else if takes_value {
                let mut values = Vec::new();
                while let Some(next) = words.get(i + 1) {
                    if next.starts_with("--") {
                        break;
                    }
                    values.push(next.clone());
                    i += 1;
                    if head.len() < 2 || inv.service == "s3" {
                        break;
                    }
                }
                if values.is_empty() {
                    inv.switches.push(name.clone());
                } else {
                    inv.options.entry(name.clone()).or_default().extend(values);
                }
            } else {
                inv.switches.push(name.clone());
            }
            if name == "--region" {
                inv.region = inv.option("--region").map(str::to_string);
            }
            i += 1;
            continue;
        }
        if head.len() < 2 {
            head.push(word.clone());
            if head.len() == 1 {
                inv.service = word.clone();
            } else {
                inv.command = word.clone();
            }
        } else {
            inv.positionals.push(word.clone());
        }
        i += 1;
    }
    let plain = |w: &str| {
        !w.is_empty()
            && w.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    };
    (plain(&inv.service) && plain(&inv.command)).then_some(inv)
}

/// An S3 URI split into bucket and key (`s3://b/k` → (`b`, `k`)).
fn s3_uri(word: &str) -> Option<(&str, &str)> {
    let rest = word.strip_prefix("s3://")?;
    Some(rest.split_once('/').unwrap_or((rest, "")))
}

/// Object ARN for a key or prefix: a prefix (`dir/`, empty, or a recursive copy) covers `*`.
fn object_arn(bucket: &str, key: &str, whole_prefix: bool) -> String {
    if key.is_empty() || key.ends_with('/') {
        format!("arn:aws:s3:::{bucket}/{key}*")
    } else if whole_prefix {
        format!("arn:aws:s3:::{bucket}/{key}/*")
    } else {
        format!("arn:aws:s3:::{bucket}/{key}")
    }
}

/// `aws s3 …`: the high-level commands (their own table, from the S3 CLI reference).
fn s3_high_level(sink: &mut Sink<'_, '_>, line: usize, inv: &Invocation) {
    let what = format!("aws s3 {}", inv.command);
    let Some(row) = tables().s3(&inv.command) else {
        sink.unknown(line, &format!("`{what}` is not in the S3 command table"));
        return;
    };
    let recursive = inv.has("--recursive") || inv.command == "sync";
    let uris: Vec<(usize, &str, &str)> = inv
        .positionals
        .iter()
        .enumerate()
        .filter_map(|(n, w)| s3_uri(w).map(|(b, k)| (n, b, k)))
        .collect();
    // Positionals that hold an unknown value might be S3 URIs too.
    let opaque: Vec<&String> = inv
        .positionals
        .iter()
        .filter(|w| !w.starts_with("s3://") && !shell::unknowns(w).is_empty())
        .collect();
    let grant = |sink: &mut Sink<'_, '_>, action: &str, bucket: &str, arn: String| {
        let arn = sink.arn(line, &what, bucket, |_| arn.clone());
        sink.grant(line, &what, &[action], vec![arn]);
    };
    let is_source = |n: usize| n == 0 && inv.positionals.len() > 1;
    match inv.command.as_str() {
        "ls" if uris.is_empty() => {
            sink.grant(line, &what, &["s3:ListAllMyBuckets"], Vec::new());
        }
        "ls" => {
            for (_, bucket, _) in &uris {
                grant(
                    sink,
                    "s3:ListBucket",
                    bucket,
                    format!("arn:aws:s3:::{bucket}"),
                );
            }
        }
        "cp" | "mv" | "sync" => {
            for (n, bucket, key) in &uris {
                let objects = object_arn(bucket, key, recursive);
                if is_source(*n) {
                    grant(sink, "s3:GetObject", bucket, objects.clone());
                    if inv.command == "mv" {
                        grant(sink, "s3:DeleteObject", bucket, objects.clone());
                    }
                } else {
                    grant(sink, "s3:PutObject", bucket, objects.clone());
                    if inv.has("--acl") {
                        grant(sink, "s3:PutObjectAcl", bucket, objects.clone());
                    }
                    if inv.command == "sync" && inv.has("--delete") {
                        grant(sink, "s3:DeleteObject", bucket, objects.clone());
                    }
                }
                if recursive {
                    grant(
                        sink,
                        "s3:ListBucket",
                        bucket,
                        format!("arn:aws:s3:::{bucket}"),
                    );
                }
            }
        }
        "rm" => {
            for (_, bucket, key) in &uris {
                grant(
                    sink,
                    "s3:DeleteObject",
                    bucket,
                    object_arn(bucket, key, recursive),
                );
                if recursive {
                    grant(
                        sink,
                        "s3:ListBucket",
                        bucket,
                        format!("arn:aws:s3:::{bucket}"),
                    );
                }
            }
        }
        "mb" | "rb" => {
            let action = if inv.command == "mb" {
                "s3:CreateBucket"
            } else {
                "s3:DeleteBucket"
            };
            for (_, bucket, _) in &uris {
                grant(sink, action, bucket, format!("arn:aws:s3:::{bucket}"));
            }
        }
        "presign" => {
            for (_, bucket, key) in &uris {
                grant(sink, "s3:GetObject", bucket, object_arn(bucket, key, false));
            }
        }
        _ => {}
    }
    if uris.is_empty() && !(inv.command == "ls" && inv.positionals.is_empty()) {
        let names: Vec<String> = opaque.iter().flat_map(|w| shell::unknowns(w)).collect();
        if names.is_empty() {
            sink.unknown(line, &format!("`{what}` names no s3:// location"));
        } else {
            sink.warn(
                line,
                format!(
                    "{what}: location unknown (`{}` not written in the workflow): `*` for its actions",
                    names.join("`, `")
                ),
            );
            sink.grant(line, &what, row, vec!["*".into()]);
        }
    }
}

/// The ARNs the flags of an API command name, by the flag's meaning.
fn resources(sink: &mut Sink<'_, '_>, line: usize, inv: &Invocation) -> Vec<String> {
    let what = format!("aws {} {}", inv.service, inv.command);
    let account = sink.ctx.account.to_string();
    let mut out = Vec::new();
    let regional = |sink: &mut Sink<'_, '_>| sink.region_or_any(line, &what, inv.region.as_deref());
    let values = |flag: &str| inv.options.get(flag).cloned().unwrap_or_default();
    // Each name as a regional ARN `build(region, name)`; the region is asked for per name, as
    // each may warn that it is unknown.
    let regional_arns =
        |sink: &mut Sink<'_, '_>, names: Vec<String>, build: &dyn Fn(&str, &str) -> String| {
            names
                .into_iter()
                .map(|name| {
                    let region = regional(sink);
                    sink.arn(line, &what, &name, |n| build(&region, n))
                })
                .collect::<Vec<String>>()
        };
    match inv.service.as_str() {
        "lambda" => out.extend(regional_arns(
            sink,
            values("--function-name"),
            &|region, n| {
                if n.starts_with("arn:") {
                    n.to_string()
                } else {
                    format!("arn:aws:lambda:{region}:{account}:function:{n}")
                }
            },
        )),
        "ecs" => {
            let cluster = inv.option("--cluster").unwrap_or("default").to_string();
            let services = values("--service")
                .into_iter()
                .chain(values("--services"))
                .collect::<Vec<_>>();
            if !services.is_empty() {
                let region = regional(sink);
                for service in services {
                    let both = format!("{cluster}/{service}");
                    out.push(sink.arn(line, &what, &both, |v| {
                        format!("arn:aws:ecs:{region}:{account}:service/{v}")
                    }));
                }
            } else if inv.options.contains_key("--cluster") {
                let region = regional(sink);
                out.push(sink.arn(line, &what, &cluster, |c| {
                    format!("arn:aws:ecs:{region}:{account}:cluster/{c}")
                }));
            }
        }
        "cloudfront" => {
            for id in values("--distribution-id")
                .into_iter()
                .chain(values("--id"))
            {
                out.push(sink.arn(line, &what, &id, |i| {
                    format!("arn:aws:cloudfront::{account}:distribution/{i}")
                }));
            }
        }
        "eks" => {
            let names = [values("--name"), values("--cluster-name")].concat();
            out.extend(regional_arns(sink, names, &|region, n| {
                format!("arn:aws:eks:{region}:{account}:cluster/{n}")
            }));
        }
        "ssm" => {
            let names = [values("--name"), values("--names")].concat();
            out.extend(regional_arns(sink, names, &|region, n| {
                format!(
                    "arn:aws:ssm:{region}:{account}:parameter/{}",
                    n.trim_start_matches('/')
                )
            }));
            out.extend(regional_arns(sink, values("--path"), &|region, p| {
                format!(
                    "arn:aws:ssm:{region}:{account}:parameter/{}*",
                    p.trim_start_matches('/')
                )
            }));
        }
        // Secret ARNs end in `-` and six random characters.
        "secretsmanager" => out.extend(regional_arns(sink, values("--secret-id"), &|region, i| {
            if i.starts_with("arn:") {
                i.to_string()
            } else {
                format!("arn:aws:secretsmanager:{region}:{account}:secret:{i}-??????")
            }
        })),
        "cloudformation" => {
            out.extend(regional_arns(sink, values("--stack-name"), &|region, n| {
                format!("arn:aws:cloudformation:{region}:{account}:stack/{n}/*")
            }))
        }
        "dynamodb" => out.extend(regional_arns(sink, values("--table-name"), &|region, n| {
            format!("arn:aws:dynamodb:{region}:{account}:table/{n}")
        })),
        "codebuild" => out.extend(regional_arns(
            sink,
            values("--project-name"),
            &|region, n| format!("arn:aws:codebuild:{region}:{account}:project/{n}"),
        )),
        "ecr" => out.extend(regional_arns(
            sink,
            values("--repository-name"),
            &|region, n| format!("arn:aws:ecr:{region}:{account}:repository/{n}"),
        )),
        "sqs" => {
            for url in values("--queue-url") {
                // https://sqs.REGION.amazonaws.com/ACCOUNT/NAME
                out.push(sink.arn(line, &what, &url, |u| {
                    let parts: Vec<&str> = u.trim_end_matches('/').rsplitn(3, '/').collect();
                    let region = u
                        .split('.')
                        .nth(1)
                        .filter(|r| r.contains('-'))
                        .unwrap_or("*");
                    match parts.as_slice() {
                        [name, acct, _] => format!("arn:aws:sqs:{region}:{acct}:{name}"),
                        _ => "*".into(),
                    }
                }));
            }
        }
        "sns" => {
            for arn in values("--topic-arn") {
                out.push(sink.arn(line, &what, &arn, str::to_string));
            }
        }
        "s3api" => {
            // With `--key` the call is on an object, else on the bucket.
            for bucket in values("--bucket") {
                let target = match inv.option("--key") {
                    Some(key) => format!("{bucket}/{key}"),
                    None => bucket,
                };
                out.push(sink.arn(line, &what, &target, |t| format!("arn:aws:s3:::{t}")));
            }
        }
        "iam" => {
            for name in values("--role-name") {
                out.push(sink.arn(line, &what, &name, |n| {
                    format!("arn:aws:iam::{account}:role/{n}")
                }));
            }
        }
        _ => {}
    }
    out
}

/// The roles a command hands to a service (`--role-arn`, `--execution-role-arn`…).
fn passed_roles(inv: &Invocation) -> Vec<&str> {
    [
        "--role-arn",
        "--role",
        "--execution-role-arn",
        "--task-role-arn",
        "--service-role",
    ]
    .iter()
    .filter_map(|flag| inv.option(flag))
    .filter(|v| v.starts_with("arn:") || !shell::unknowns(v).is_empty())
    .collect()
}

/// Compiles the words after `aws`.
pub fn compile(sink: &mut Sink<'_, '_>, line: usize, words: &[String]) {
    // `aws --version`, `aws configure …` and `aws help` are local: no AWS call.
    if words.iter().any(|w| w == "--version")
        || words
            .first()
            .is_some_and(|w| w == "configure" || w == "help")
    {
        return;
    }
    let Some(inv) = parse(words) else {
        let shown = words.join(" ");
        sink.unknown(line, &format!("cannot read the AWS CLI call `aws {shown}`"));
        return;
    };
    let what = format!("aws {} {}", inv.service, inv.command);
    if inv.command == "help" || inv.has("--generate-cli-skeleton") {
        return;
    }
    if inv.service == "s3" {
        s3_high_level(sink, line, &inv);
        return;
    }
    if inv.service == "sts" && inv.command == "get-caller-identity" {
        // GetCallerIdentity needs no permission: IAM cannot deny it.
        return;
    }
    let Some(actions) = tables().command(&inv.service, &inv.command) else {
        sink.unknown(
            line,
            &format!("`{what}` is not an AWS CLI command the tables know"),
        );
        return;
    };
    let actions = actions.to_vec();
    if inv.service == "cloudformation" && inv.command == "deploy" {
        super::known::cloudformation_deploy(sink, line, &what, &inv);
        return;
    }
    let resources = resources(sink, line, &inv);
    if resources.is_empty() && actions.iter().any(|a| tables().takes_resources(a)) {
        sink.warn(
            line,
            format!(
                "{what}: no flag names its resource: `*` for {}",
                actions.join(", ")
            ),
        );
    }
    sink.grant(line, &what, &actions, resources);
    if inv.service == "ecs" && inv.command == "register-task-definition" {
        super::known::task_definition_roles(sink, line, &what, &inv);
    }
    let roles: Vec<String> = passed_roles(&inv).into_iter().map(str::to_string).collect();
    for role in roles {
        let arn = sink.arn(line, &what, &role, str::to_string);
        sink.grant(line, &what, &["iam:PassRole"], vec![arn]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(text: &str) -> Vec<String> {
        text.split_whitespace().map(str::to_string).collect()
    }

    #[test]
    fn parses_global_options_and_lists() {
        let inv = parse(&words(
            "--region eu-west-1 ssm get-parameters --names /a /b --with-decryption",
        ))
        .unwrap();
        assert_eq!(
            (inv.service.as_str(), inv.command.as_str()),
            ("ssm", "get-parameters")
        );
        assert_eq!(inv.region.as_deref(), Some("eu-west-1"));
        assert_eq!(inv.options["--names"], vec!["/a", "/b"]);
        assert!(inv.has("--with-decryption"));
        let inv = parse(&words("s3 sync ./dist s3://b/p --delete --acl public-read")).unwrap();
        assert_eq!(inv.positionals, vec!["./dist", "s3://b/p"]);
        assert_eq!(inv.option("--acl"), Some("public-read"));
        assert!(parse(&words("«$SERVICE» list")).is_none());
    }
}
