//! Whether a step's `AWS_*` keys are for AWS at all: S3-compatible services (Cloudflare R2,
//! MinIO, DigitalOcean Spaces, Backblaze, Wasabi) are driven with the same names and tools,
//! pointed elsewhere by an endpoint URL or an odd region such as `auto`.

use crate::detect::sources::{self, Scopes};
use crate::workflow::Step;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Endpoint {
    /// No endpoint override, or one on amazonaws.com.
    Aws,
    /// Clearly elsewhere; the text says where.
    Other(String),
    /// An endpoint whose value is only known at run time.
    Unknown(String),
}

const NOT_AWS_HOSTS: &[(&str, &str)] = &[
    ("r2.cloudflarestorage.com", "Cloudflare R2"),
    ("digitaloceanspaces.com", "DigitalOcean Spaces"),
    ("backblazeb2.com", "Backblaze B2"),
    ("wasabisys.com", "Wasabi"),
    ("linodeobjects.com", "Linode Object Storage"),
    ("storage.googleapis.com", "Google Cloud Storage"),
    ("minio", "MinIO"),
    ("localhost", "a local emulator"),
    ("127.0.0.1", "a local emulator"),
    ("localstack", "LocalStack"),
];

fn judge(value: &str, scopes: &Scopes<'_>) -> Endpoint {
    let value = value.trim().trim_matches(['"', '\'']);
    let lower = value.to_ascii_lowercase();
    if lower.contains("amazonaws.com") || lower.contains("amazonaws.com.cn") {
        return Endpoint::Aws;
    }
    if let Some((_, name)) = NOT_AWS_HOSTS.iter().find(|(h, _)| lower.contains(h)) {
        return Endpoint::Other(format!("{name} ({value})"));
    }
    if value.contains("${{") || value.starts_with('$') {
        // A value from a secret or variable: read through env chains when written here.
        let resolved = sources::resolve(value, scopes);
        if resolved.is_external() || value.starts_with('$') {
            return Endpoint::Unknown(value.to_string());
        }
    }
    if value.is_empty() {
        return Endpoint::Aws;
    }
    Endpoint::Other(format!("the endpoint {value}"))
}

fn worse(a: Endpoint, b: Endpoint) -> Endpoint {
    match (&a, &b) {
        (Endpoint::Other(_), _) => a,
        (_, Endpoint::Other(_)) => b,
        (Endpoint::Unknown(_), _) => a,
        _ => b,
    }
}

/// Where the step's AWS calls go, from the env it sees, its inputs and its script.
pub fn of_step(step: &Step<'_>, scopes: &Scopes<'_>) -> Endpoint {
    let mut verdict = Endpoint::Aws;
    for (name, value) in scopes.visible_entries() {
        let upper = name.to_ascii_uppercase();
        if upper.starts_with("AWS_ENDPOINT_URL")
            || upper == "S3_ENDPOINT"
            || upper == "AWS_S3_ENDPOINT"
        {
            verdict = worse(verdict, judge(&value, scopes));
        }
        if matches!(upper.as_str(), "AWS_REGION" | "AWS_DEFAULT_REGION") && value.trim() == "auto" {
            verdict = worse(
                verdict,
                Endpoint::Other("region `auto` (Cloudflare R2)".into()),
            );
        }
    }
    if let Some(with) = step.with() {
        for (k, v) in with.entries() {
            let (Some(name), Some(value)) = (k.as_str(), v.as_str()) else {
                continue;
            };
            let lower = name.to_ascii_lowercase();
            if lower.contains("endpoint") {
                verdict = worse(verdict, judge(value, scopes));
            }
            if lower.contains("region") && value.trim() == "auto" {
                verdict = worse(
                    verdict,
                    Endpoint::Other("region `auto` (Cloudflare R2)".into()),
                );
            }
        }
    }
    if let Some(script) = step.run().and_then(|r| r.as_str()) {
        // `--endpoint-url ${{ secrets.X }}`: the expression is one value despite its spaces.
        for flag in ["--endpoint-url", "--endpoint"] {
            let mut rest = script;
            while let Some(at) = rest.find(flag) {
                let after = rest[at + flag.len()..].trim_start_matches([' ', '=']);
                if after.starts_with("${{")
                    && let Some(end) = after.find("}}")
                {
                    verdict = worse(verdict, judge(&after[..end + 2], scopes));
                }
                rest = &rest[at + flag.len()..];
            }
        }
        let words: Vec<&str> = script
            .split(|c: char| c.is_whitespace() || c == '=')
            .filter(|w| !w.is_empty())
            .collect();
        for pair in words.windows(2) {
            if (pair[0] == "--endpoint-url" || pair[0] == "--endpoint")
                && !pair[1].starts_with("${{")
            {
                verdict = worse(verdict, judge(pair[1], scopes));
            }
            if pair[0] == "--region" && pair[1] == "auto" {
                verdict = worse(
                    verdict,
                    Endpoint::Other("region `auto` (Cloudflare R2)".into()),
                );
            }
        }
    }
    verdict
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn judges_hosts() {
        let s = Scopes::default();
        assert_eq!(
            judge("https://s3.us-east-1.amazonaws.com", &s),
            Endpoint::Aws
        );
        assert!(matches!(
            judge("https://abc.r2.cloudflarestorage.com", &s),
            Endpoint::Other(_)
        ));
        assert!(matches!(
            judge("${{ secrets.R2_ENDPOINT }}", &s),
            Endpoint::Unknown(_)
        ));
    }
}
