//! The Terraform rendering: the GitHub OIDC provider (or a `data` lookup of an existing one),
//! and per role a `data "aws_iam_policy_document"` trust policy, the `aws_iam_role`, a
//! placeholder permission policy and an output, laid out the way `terraform fmt` leaves them.

use serde_json::Value;

use super::cloudformation::secrets_label;
use super::{EmitOptions, identifier_words};
use crate::trust::plan::{RoleSpec, TrustPlan};
use crate::trust::policy::{INFERRED_POLICY_NAME, PLACEHOLDER_POLICY_NAME, PLACEHOLDER_SID};
use crate::trust::role_permissions::{CopiedPermissions, PermissionSource};

/// A piece of HCL. Consecutive one-line attributes form a group whose `=` signs align, as
/// `terraform fmt` does; anything else ends the group.
enum Item {
    Attr(String, String),
    /// `key = [` one value per line `]`.
    List(String, Vec<String>),
    /// `key = {` aligned `k = v` lines `}`.
    Map(String, Vec<(String, String)>),
    Block(String, Vec<Item>),
    Comment(String),
    Blank,
}

/// An HCL string literal: JSON escaping plus HCL's template escapes for `${` and `%{`.
fn quote(text: &str) -> String {
    Value::from(text)
        .to_string()
        .replace("${", "$${")
        .replace("%{", "%%{")
}

fn quoted_list(values: &[&str]) -> String {
    let items: Vec<String> = values.iter().map(|v| quote(v)).collect();
    format!("[{}]", items.join(", "))
}

fn attr(key: &str, raw: impl Into<String>) -> Item {
    Item::Attr(key.to_string(), raw.into())
}

fn render_items(items: &[Item], indent: usize, out: &mut String) {
    let pad = "  ".repeat(indent);
    let mut i = 0;
    while i < items.len() {
        if let Item::Attr(..) = items[i] {
            let end = items[i..]
                .iter()
                .position(|it| !matches!(it, Item::Attr(..)))
                .map_or(items.len(), |n| i + n);
            let width = items[i..end]
                .iter()
                .map(|it| match it {
                    Item::Attr(k, _) => k.len(),
                    _ => 0,
                })
                .max()
                .unwrap_or(0);
            for it in &items[i..end] {
                if let Item::Attr(k, v) = it {
                    out.push_str(&format!("{pad}{k:width$} = {v}\n"));
                }
            }
            i = end;
            continue;
        }
        match &items[i] {
            Item::Attr(..) => unreachable!("handled above"),
            Item::List(key, values) => {
                out.push_str(&format!("{pad}{key} = [\n"));
                for v in values {
                    out.push_str(&format!("{pad}  {v},\n"));
                }
                out.push_str(&format!("{pad}]\n"));
            }
            Item::Map(key, entries) => {
                out.push_str(&format!("{pad}{key} = {{\n"));
                let width = entries.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
                for (k, v) in entries {
                    out.push_str(&format!("{pad}  {k:width$} = {v}\n"));
                }
                out.push_str(&format!("{pad}}}\n"));
            }
            Item::Block(header, body) => {
                out.push_str(&format!("{pad}{header} {{\n"));
                render_items(body, indent + 1, out);
                out.push_str(&format!("{pad}}}\n"));
            }
            Item::Comment(text) => out.push_str(&format!("{pad}# {text}\n")),
            Item::Blank => out.push('\n'),
        }
        i += 1;
    }
}

/// A Terraform name (`[a-z0-9_]`, not starting with a digit), unique in the file.
fn resource_name(role: &str, taken: &mut Vec<String>) -> String {
    let mut name = identifier_words(role).join("_").to_ascii_lowercase();
    if name.is_empty() || name.starts_with(|c: char| c.is_ascii_digit()) {
        name.insert_str(0, "role_");
    }
    let base = name.clone();
    let mut n = 2;
    while taken.contains(&name) {
        name = format!("{base}_{n}");
        n += 1;
    }
    taken.push(name.clone());
    name
}

fn string_values(value: &Value) -> Vec<String> {
    match value {
        Value::String(s) => vec![s.clone()],
        Value::Array(a) => a
            .iter()
            .filter_map(|v| v.as_str().map(str::to_string))
            .collect(),
        _ => Vec::new(),
    }
}

/// The trust policy's conditions, read from the very JSON the plan validated.
fn conditions(role: &RoleSpec) -> Vec<Item> {
    let mut items = Vec::new();
    let Some(condition) = role.trust_policy["Statement"][0]["Condition"].as_object() else {
        return items;
    };
    for (test, keys) in condition {
        let Some(keys) = keys.as_object() else {
            continue;
        };
        for (variable, values) in keys {
            let values = string_values(values);
            let mut body = vec![attr("test", quote(test)), attr("variable", quote(variable))];
            if values.len() == 1 {
                body.push(attr("values", quoted_list(&[values[0].as_str()])));
            } else {
                body.push(Item::List(
                    "values".into(),
                    values.iter().map(|v| quote(v)).collect(),
                ));
            }
            items.push(Item::Blank);
            items.push(Item::Block("condition".into(), body));
        }
    }
    items
}

/// `file (job, job), file (job)`: where the role's jobs are.
fn jobs_by_file(role: &RoleSpec) -> String {
    let mut files: Vec<(&str, Vec<&str>)> = Vec::new();
    for job in &role.jobs {
        let name = job.job.as_deref();
        match files.iter_mut().find(|(path, _)| *path == job.path) {
            Some((_, jobs)) => jobs.extend(name),
            None => files.push((&job.path, name.into_iter().collect())),
        }
    }
    files
        .iter()
        .map(|(path, jobs)| {
            if jobs.is_empty() {
                path.to_string()
            } else {
                format!("{path} ({})", jobs.join(", "))
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// `provider_arn` is the literal ARN: checkov resolves no references, and a reference would
/// make its GitHub trust check pass without looking. `provider_ref` orders the role after
/// the provider (creating or looking it up).
fn role_items(role: &RoleSpec, name: &str, provider_arn: &str, provider_ref: &str) -> Vec<Item> {
    let trust = format!("{name}_trust");
    let mut statement = vec![
        attr("effect", quote("Allow")),
        attr("actions", quoted_list(&["sts:AssumeRoleWithWebIdentity"])),
        Item::Blank,
        Item::Block(
            "principals".into(),
            vec![
                attr("type", quote("Federated")),
                attr("identifiers", quoted_list(&[provider_arn])),
            ],
        ),
    ];
    statement.extend(conditions(role));
    let tags = role
        .tags
        .iter()
        .map(|(k, v)| (quote(k), quote(v)))
        .collect();
    let head = vec![
        Item::Comment(format!(
            "{}: replaces {} in {}",
            role.repo,
            secrets_label(&role.secrets),
            jobs_by_file(role)
        )),
        Item::Block(
            format!("data \"aws_iam_policy_document\" \"{trust}\""),
            vec![Item::Block("statement".into(), statement)],
        ),
        Item::Blank,
        Item::Block(
            format!("resource \"aws_iam_role\" \"{name}\""),
            vec![
                attr("depends_on", format!("[{provider_ref}]")),
                Item::Blank,
                attr("name", quote(&role.name)),
                attr(
                    "description",
                    quote(&format!("GitHub Actions OIDC role for {}", role.repo)),
                ),
                attr(
                    "assume_role_policy",
                    format!("data.aws_iam_policy_document.{trust}.json"),
                ),
                attr("max_session_duration", "3600"),
                Item::Blank,
                Item::Map("tags".into(), tags),
            ],
        ),
        Item::Blank,
    ];
    head.into_iter()
        .chain(permission_items(role, name))
        .chain(vec![
            Item::Block(
                format!("output \"{name}_arn\""),
                vec![attr("value", format!("aws_iam_role.{name}.arn"))],
            ),
            Item::Blank,
        ])
        .collect()
}

/// A JSON document as a Terraform heredoc string inside a top-level block, with Terraform's
/// template sequences (`${`, `%{`) escaped so IAM policy variables stay literal.
fn heredoc(document: &Value) -> String {
    let text = serde_json::to_string_pretty(document)
        .unwrap_or_default()
        .replace("${", "$${")
        .replace("%{", "%%{");
    let body: Vec<String> = text.lines().map(|l| format!("    {l}")).collect();
    format!("<<-EOT\n{}\n  EOT", body.join("\n"))
}

/// The old user's permissions on the role: each managed policy attached, each inline policy
/// copied as an inline policy of the role.
fn copied_items(role: &RoleSpec, name: &str, copied: &CopiedPermissions) -> Vec<Item> {
    let mut items = vec![Item::Comment(format!(
        "Permissions copied from IAM user {} ({} managed, {} inline): review them, they are as broad as the old user's.",
        copied.user,
        copied.managed.len(),
        copied.inline.len()
    ))];
    for (i, arn) in copied.managed.iter().enumerate() {
        items.push(Item::Block(
            format!("resource \"aws_iam_role_policy_attachment\" \"{name}_managed_{i}\""),
            vec![
                attr("role", format!("aws_iam_role.{name}.name")),
                attr("policy_arn", quote(arn)),
            ],
        ));
        items.push(Item::Blank);
    }
    for (i, policy) in copied.inline.iter().enumerate() {
        items.push(Item::Block(
            format!("resource \"aws_iam_role_policy\" \"{name}_inline_{i}\""),
            vec![
                attr("name", quote(&policy.name)),
                attr("role", format!("aws_iam_role.{name}.id")),
                attr("policy", heredoc(&policy.document)),
            ],
        ));
        items.push(Item::Blank);
    }
    if copied.managed.is_empty() && copied.inline.is_empty() {
        items.push(Item::Comment(format!(
            "IAM user {} has no policies: the role gets none (role {}).",
            copied.user, role.name
        )));
        items.push(Item::Blank);
    }
    items
}

/// The role's permission policy document and its attachment: the inferred statements, each
/// after a comment naming the steps it comes from, or the placeholder.
fn permission_items(role: &RoleSpec, name: &str) -> Vec<Item> {
    if role.permissions != PermissionSource::Inferred
        && let Some(copied) = &role.copied
    {
        return copied_items(role, name, copied);
    }
    let permissions = format!("{name}_permissions");
    let inferred = role
        .inferred
        .as_ref()
        .filter(|_| role.permissions == PermissionSource::Inferred);
    let (comment, statements, policy_name) = match inferred {
        Some(inferred) => {
            let mut blocks = Vec::new();
            for statement in &inferred.statements {
                let sources: Vec<&str> = statement.sources.iter().map(String::as_str).collect();
                blocks.push(Item::Comment(format!(
                    "{}: {}",
                    statement.from.join(", "),
                    sources.join(", ")
                )));
                let actions: Vec<&str> = statement.actions.iter().map(String::as_str).collect();
                let resources: Vec<&str> = statement.resources.iter().map(String::as_str).collect();
                blocks.push(Item::Block(
                    "statement".into(),
                    vec![
                        attr("sid", quote(&statement.sid)),
                        attr("effect", quote("Allow")),
                        attr("actions", quoted_list(&actions)),
                        attr("resources", quoted_list(&resources)),
                    ],
                ));
            }
            (
                "Permissions inferred from the workflow steps (each statement names its steps)."
                    .to_string(),
                blocks,
                INFERRED_POLICY_NAME,
            )
        }
        None => (
            match role.permissions {
                PermissionSource::Copied => format!(
                    "TODO: this role needs the old user's permissions (its steps could not all be read; see the warnings); `migrate trust --copy-permissions-from USER` copies them. Placeholder ({PLACEHOLDER_SID}) until then."
                ),
                _ => format!(
                    "TODO: placeholder permissions ({PLACEHOLDER_SID}); replace with what the workflow needs."
                ),
            },
            vec![Item::Block(
                "statement".into(),
                vec![
                    attr("sid", quote(PLACEHOLDER_SID)),
                    attr("effect", quote("Allow")),
                    attr("actions", quoted_list(&["sts:GetCallerIdentity"])),
                    attr("resources", quoted_list(&["*"])),
                ],
            )],
            PLACEHOLDER_POLICY_NAME,
        ),
    };
    vec![
        Item::Comment(comment),
        Item::Block(
            format!("data \"aws_iam_policy_document\" \"{permissions}\""),
            statements,
        ),
        Item::Blank,
        Item::Block(
            format!("resource \"aws_iam_role_policy\" \"{name}\""),
            vec![
                attr("name", quote(policy_name)),
                attr("role", format!("aws_iam_role.{name}.id")),
                attr(
                    "policy",
                    format!("data.aws_iam_policy_document.{permissions}.json"),
                ),
            ],
        ),
        Item::Blank,
    ]
}

pub fn render(plan: &TrustPlan, options: EmitOptions) -> String {
    let client_ids: Vec<&str> = plan.client_ids.iter().map(String::as_str).collect();
    let mut items = vec![
        Item::Comment(format!(
            "Generated by `migrate trust` for AWS account {}.",
            plan.account.as_str()
        )),
        Item::Comment(
            if plan.roles.iter().all(|r| r.permissions == PermissionSource::Inferred) {
                "Each role's permissions are inferred from its workflow steps: review them before relying on the role."
            } else {
                "Roles marked TODO below have placeholder permissions: replace them before relying on the role."
            }
            .into(),
        ),
        Item::Block(
            "terraform".into(),
            vec![Item::Block(
                "required_providers".into(),
                vec![Item::Map(
                    "aws".into(),
                    vec![
                        ("source".into(), quote("hashicorp/aws")),
                        // 6.0 and later accept a provider without thumbprint_list.
                        ("version".into(), quote(">= 6.0")),
                    ],
                )],
            )],
        ),
        Item::Blank,
    ];
    let provider_ref = if options.existing_provider {
        items.push(Item::Comment(
            "The account already has the GitHub OIDC provider (one per URL per account).".into(),
        ));
        items.push(Item::Comment(format!(
            "Its client ids must include {}.",
            client_ids.join(", ")
        )));
        items.push(Item::Block(
            "data \"aws_iam_openid_connect_provider\" \"github\"".into(),
            vec![attr("url", quote(&plan.issuer.url()))],
        ));
        "data.aws_iam_openid_connect_provider.github"
    } else {
        items.push(Item::Comment(
            "No thumbprint_list: AWS verifies GitHub's certificate with its trusted CA library."
                .into(),
        ));
        items.push(Item::Block(
            "resource \"aws_iam_openid_connect_provider\" \"github\"".into(),
            vec![
                attr("url", quote(&plan.issuer.url())),
                attr("client_id_list", quoted_list(&client_ids)),
            ],
        ));
        "aws_iam_openid_connect_provider.github"
    };
    let provider_arn = plan.issuer.provider_arn(&plan.account);
    items.push(Item::Blank);
    let mut taken = Vec::new();
    for role in &plan.roles {
        let name = resource_name(&role.name, &mut taken);
        items.extend(role_items(role, &name, &provider_arn, provider_ref));
    }
    while matches!(items.last(), Some(Item::Blank)) {
        items.pop();
    }
    let mut out = String::new();
    render_items(&items, 0, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attributes_align_within_a_group_only() {
        let mut out = String::new();
        render_items(
            &[Item::Block(
                "b".into(),
                vec![
                    attr("a", "1"),
                    attr("long_name", "2"),
                    Item::Blank,
                    attr("c", "3"),
                    Item::List("values".into(), vec!["\"x\"".into()]),
                ],
            )],
            0,
            &mut out,
        );
        assert_eq!(
            out,
            "b {\n  a         = 1\n  long_name = 2\n\n  c = 3\n  values = [\n    \"x\",\n  ]\n}\n"
        );
    }

    #[test]
    fn hcl_strings_escape_templates() {
        assert_eq!(quote("a${b}%{c}\"d"), r#""a$${b}%%{c}\"d""#);
    }
}
