//! How one step takes AWS credentials: through the SDKs' default chain (which carries
//! `AWS_SESSION_TOKEN`, so OIDC's temporary credentials work), as a bare key id and secret
//! (which cannot carry a session token), not at all, or in a way that cannot be told.

use crate::detect::names;
use crate::detect::sources::{self, AwsUse, IGNORES_SESSION_TOKEN, Scopes};
use crate::workflow::Step;

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case", tag = "kind", content = "reason")]
pub enum Consumption {
    /// configure-aws-credentials: it produces credentials for the steps after it.
    Configure,
    /// The AWS CLI, SDKs, Terraform's provider, CDK, SAM, AWS actions...: the default chain.
    DefaultChain,
    /// Needs the key id and secret themselves; the reason names how.
    KeyOnly(String),
    /// Does not use AWS credentials.
    None,
    /// May use them; cannot tell how.
    Unknown,
}

/// Actions that take credentials as the bare key pair whatever the environment holds.
const KEY_ONLY_ACTIONS: &[&str] = IGNORES_SESSION_TOKEN;

pub fn classify(step: &Step<'_>, scopes: &Scopes<'_>) -> Consumption {
    if crate::detect::positions::is_configure_step(step) {
        return Consumption::Configure;
    }
    if let Some(reason) = key_only(step, scopes) {
        return Consumption::KeyOnly(reason);
    }
    match sources::step_aws_use(step) {
        AwsUse::Yes => Consumption::DefaultChain,
        AwsUse::No => Consumption::None,
        AwsUse::Unknown => Consumption::Unknown,
    }
}

/// Why a step needs the bare key pair, if it does.
fn key_only(step: &Step<'_>, scopes: &Scopes<'_>) -> Option<String> {
    if let Some(uses) = step.uses()
        && let Some(action) = KEY_ONLY_ACTIONS.iter().find(|a| uses.is(a))
    {
        return Some(format!(
            "{action} reads only the key id and secret and drops AWS_SESSION_TOKEN: replace it (e.g. with `aws s3 sync`)"
        ));
    }
    // Key material re-exported under a name the SDKs do not read (`TF_VAR_access_key`,
    // `CYPRESS_AWS_ACCESS_KEY_ID`) or handed to an action as an input.
    for (block, what) in [(step.env(), "env"), (step.with(), "input")] {
        let Some(block) = block else { continue };
        if what == "input" && step.uses().is_none() {
            continue;
        }
        let mut token = false;
        let mut renamed = None;
        for (key, value) in block.entries() {
            let name = key.as_str().unwrap_or("");
            let text = value.as_str().unwrap_or("");
            if reads_key_var(text, "AWS_SESSION_TOKEN")
                || name.to_ascii_uppercase().contains("SESSION_TOKEN")
            {
                token = true;
            }
            if super::CHAIN_VARS.contains(&name.trim()) {
                continue;
            }
            let carries = reads_key_var(text, "AWS_ACCESS_KEY_ID")
                || reads_key_var(text, "AWS_SECRET_ACCESS_KEY")
                || (names::env_key_part(name).is_some()
                    && sources::resolve(text, scopes).is_external());
            if carries && renamed.is_none() {
                renamed = Some(name.to_string());
            }
        }
        if let (Some(name), false) = (renamed, token) {
            return Some(match what {
                "env" => format!(
                    "it reads the key under the name {name}, which the AWS SDKs do not read, and gets no session token: make what reads {name} use the default credential chain (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN)"
                ),
                _ => format!(
                    "its input `{name}` takes the bare key, without a session token: give the action credentials through the environment (configure-aws-credentials) or replace it"
                ),
            });
        }
    }
    if let Some(uses) = step.uses()
        && uses.is("docker/build-push-action")
        && let Some(with) = step.with()
    {
        let secret_envs = with.get_str("secret-envs").unwrap_or("");
        let secrets = with.get_str("secrets").unwrap_or("");
        let all = format!("{secret_envs}\n{secrets}");
        if (all.contains("AWS_ACCESS_KEY_ID") || all.contains("AWS_SECRET_ACCESS_KEY"))
            && !all.contains("AWS_SESSION_TOKEN")
        {
            return Some("its build secrets pass the key id and secret without AWS_SESSION_TOKEN: add AWS_SESSION_TOKEN to `secret-envs` and to the Dockerfile's `--mount=type=secret`".into());
        }
    }
    let script = step.run()?.as_str()?;
    script_key_only(script)
}

/// Whether `text` reads the environment variable `var` (`$VAR`, `${VAR}`, `${{ env.VAR }}`,
/// `$env:VAR`, `%VAR%`).
fn reads_key_var(text: &str, var: &str) -> bool {
    let mut from = 0;
    while let Some(at) = text[from..].find(var) {
        let start = from + at;
        let end = start + var.len();
        from = end;
        let after = text[end..].chars().next();
        if after.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_') {
            continue;
        }
        let before = &text[..start];
        if before.ends_with('$')
            || before.ends_with("${")
            || before.ends_with("env.")
            || before.ends_with("$env:")
            || before.ends_with("$Env:")
            || before.ends_with('%')
        {
            return true;
        }
    }
    false
}

/// A script that hands the bare key pair on: CLI configuration, credentials files,
/// `docker run -e` without the token, flags, other variable names.
fn script_key_only(script: &str) -> Option<String> {
    let lower = script.to_ascii_lowercase();
    let has_token = lower.contains("aws_session_token") || lower.contains("sessiontoken");
    if has_token {
        return None;
    }
    if lower.contains("aws configure set aws_access_key_id")
        || lower.contains("aws configure set aws_secret_access_key")
    {
        return Some("`aws configure set` writes the key id and secret into the CLI configuration without a session token: drop those lines (configure-aws-credentials sets the environment)".into());
    }
    if (lower.contains("serverless") || lower.contains("sls "))
        && lower.contains("config credentials")
    {
        return Some("`serverless config credentials` stores a bare key pair (it has no session token option): drop it; serverless reads the default chain".into());
    }
    if lower.contains(".aws/credentials") || lower.contains("aws_shared_credentials_file") {
        return Some("the script writes an AWS credentials file without a session token: drop it (configure-aws-credentials sets the environment)".into());
    }
    if lower.contains("set-awscredential") {
        return Some("`Set-AWSCredential` stores a bare key pair: pass `-SessionToken $env:AWS_SESSION_TOKEN` or drop it".into());
    }
    // Lines that only look at the keys (print a length, test they are set) work the same
    // with the temporary credentials configure-aws-credentials exports.
    let passes_key = script.lines().any(|line| {
        let first = line.split_whitespace().next().unwrap_or("");
        let looks = matches!(
            first,
            "echo" | "printf" | "test" | "[" | "[[" | "if" | "elif" | "#" | "Write-Host"
        );
        !looks
            && (reads_key_var(line, "AWS_ACCESS_KEY_ID")
                || reads_key_var(line, "AWS_SECRET_ACCESS_KEY"))
    });
    let docker_env = lower.contains("docker")
        && (lower.contains("-e aws_access_key_id") || lower.contains("--env aws_access_key_id"));
    if docker_env {
        return Some("`docker run` forwards AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY but not AWS_SESSION_TOKEN: add `-e AWS_SESSION_TOKEN`".into());
    }
    passes_key.then(|| "the script passes $AWS_ACCESS_KEY_ID / $AWS_SECRET_ACCESS_KEY on by hand (a flag, a file or another variable) without AWS_SESSION_TOKEN: pass the session token too, or let the tool read the default chain".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_variable_reads() {
        assert!(reads_key_var(
            "-var access_key=$AWS_ACCESS_KEY_ID",
            "AWS_ACCESS_KEY_ID"
        ));
        assert!(reads_key_var(
            "${{ env.AWS_ACCESS_KEY_ID }}",
            "AWS_ACCESS_KEY_ID"
        ));
        assert!(reads_key_var("x=${AWS_ACCESS_KEY_ID}", "AWS_ACCESS_KEY_ID"));
        assert!(!reads_key_var(
            "PROD_AWS_ACCESS_KEY_ID_X",
            "AWS_ACCESS_KEY_ID"
        ));
        assert!(!reads_key_var("aws s3 ls", "AWS_ACCESS_KEY_ID"));
    }

    #[test]
    fn scripts() {
        assert!(script_key_only("aws configure set aws_access_key_id $K").is_some());
        assert!(
            script_key_only("docker run -e AWS_ACCESS_KEY_ID -e AWS_SECRET_ACCESS_KEY img")
                .is_some()
        );
        assert!(
            script_key_only(
                "docker run -e AWS_ACCESS_KEY_ID -e AWS_SECRET_ACCESS_KEY -e AWS_SESSION_TOKEN img"
            )
            .is_none()
        );
        assert!(script_key_only("aws s3 sync . s3://b").is_none());
        assert!(script_key_only("terraform plan -var \"k=$AWS_SECRET_ACCESS_KEY\"").is_some());
    }
}
