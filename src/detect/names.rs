//! Which names mean AWS key material: env variables, action inputs and secret names.

/// The three parts of a static AWS credential.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum KeyPart {
    AccessKeyId,
    SecretAccessKey,
    SessionToken,
}

fn normalized(name: &str) -> String {
    name.trim().to_ascii_uppercase().replace('-', "_")
}

/// `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`, and names ending in
/// them (`GITLAB_AWS_ACCESS_KEY_ID`). These are what the AWS SDKs and CLI read.
pub fn env_key_part(name: &str) -> Option<KeyPart> {
    let n = name.trim().to_ascii_uppercase();
    if n.ends_with("AWS_ACCESS_KEY_ID") {
        Some(KeyPart::AccessKeyId)
    } else if n.ends_with("AWS_SECRET_ACCESS_KEY") {
        Some(KeyPart::SecretAccessKey)
    } else if n.ends_with("AWS_SESSION_TOKEN") {
        Some(KeyPart::SessionToken)
    } else {
        None
    }
}

/// The key inputs of aws-actions/configure-aws-credentials.
pub fn configure_input_part(name: &str) -> Option<KeyPart> {
    match name.trim() {
        "aws-access-key-id" => Some(KeyPart::AccessKeyId),
        "aws-secret-access-key" => Some(KeyPart::SecretAccessKey),
        "aws-session-token" => Some(KeyPart::SessionToken),
        _ => None,
    }
}

/// A best guess at the part a free-form name (action input, secret) carries.
pub fn guess_part(name: &str) -> Option<KeyPart> {
    let n = normalized(name);
    if n.contains("SESSION_TOKEN") {
        Some(KeyPart::SessionToken)
    } else if n.contains("SECRET") {
        Some(KeyPart::SecretAccessKey)
    } else if n.contains("KEY") {
        Some(KeyPart::AccessKeyId)
    } else {
        None
    }
}

/// Whether a secret, variable or input name looks like it holds AWS key material.
/// Used where structure says nothing (run scripts, third-party inputs, the inventory).
pub fn looks_like_aws_key_name(name: &str) -> bool {
    let n = normalized(name);
    if n.contains("ACCESS_KEY_ID")
        || n.contains("SECRET_ACCESS_KEY")
        || n.contains("AWS_SESSION_TOKEN")
    {
        return true;
    }
    let aws_ish = n.contains("AWS") || n.starts_with("S3_") || n.contains("_S3_");
    let credential_ish = n.contains("KEY") || n.contains("SECRET") || n.contains("TOKEN");
    const NOT_CREDENTIALS: [&str; 9] = [
        "ROLE", "REGION", "ACCOUNT", "ARN", "BUCKET", "KMS", "KEY_PAIR", "KEY_NAME", "SSH",
    ];
    aws_ish && credential_ish && !NOT_CREDENTIALS.iter().any(|w| n.contains(w))
}

/// Input names that third-party actions use for AWS keys (`aws_access_key`, `secret-key`...).
pub fn looks_like_key_input(name: &str) -> bool {
    let n = normalized(name);
    looks_like_aws_key_name(&n)
        || matches!(
            n.as_str(),
            "ACCESS_KEY"
                | "SECRET_KEY"
                | "ACCESS_KEY_ID"
                | "SECRET_ACCESS_KEY"
                | "SESSION_TOKEN"
                | "KEY_ID"
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_names() {
        assert_eq!(
            env_key_part("AWS_ACCESS_KEY_ID"),
            Some(KeyPart::AccessKeyId)
        );
        assert_eq!(
            env_key_part("GITLAB_AWS_ACCESS_KEY_ID"),
            Some(KeyPart::AccessKeyId)
        );
        assert_eq!(
            env_key_part("AWS_SESSION_TOKEN"),
            Some(KeyPart::SessionToken)
        );
        assert_eq!(env_key_part("AWS_REGION"), None);
    }

    #[test]
    fn secret_names() {
        for yes in [
            "AWS_ACCESS_KEY_ID",
            "access-key-id",
            "secret_access_key",
            "AWS_ACCESS_KEY",
            "AWS_KEY_DEPLOYMENT",
            "ENGRID_S3_ACCESS_KEY",
            "AWS_SECRET_ACCESS_KEY_DEV",
        ] {
            assert!(looks_like_aws_key_name(yes), "{yes}");
        }
        for no in [
            "AWS_REGION",
            "AWS_ROLE_ARN",
            "AWS_ACCOUNT_ID",
            "GITHUB_TOKEN",
            "NPM_TOKEN",
            "AWS_S3_BUCKET",
            "AWS_KMS_KEY_ID",
            "SSH_KEY",
        ] {
            assert!(!looks_like_aws_key_name(no), "{no}");
        }
    }
}
