//! Why a migrated workflow's run failed: the first AWS error in the failed job's log, matched
//! against the failures users hit after moving to OIDC (configure-aws-credentials, STS and the
//! AWS CLI wordings), each with the one-line fix. Pure.

use serde::Serialize;

/// A known way a run fails after the move, with a stable kebab-case id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum FailureClass {
    /// No `id-token: write` on the job (or on the caller of a reusable workflow).
    NoIdToken,
    /// The role's trust policy does not allow the token's `sub`.
    TrustMismatch,
    /// The token's `aud` is not one of the provider's client ids.
    Audience,
    /// No IAM OIDC provider for the token's issuer.
    ProviderMissing,
    /// The session may not be tagged (chained or cross-account assume).
    TagSession,
    /// A chained session asked for more than an hour.
    RoleChainingLimit,
    /// The session asked for more than the role's `MaxSessionDuration`.
    MaxSessionDuration,
    /// The role lacks a permission the old user had.
    MissingPermission,
    /// A reusable workflow's job asks for `id-token: write` its caller does not grant.
    NestedIdToken,
    /// The run never started (the workflow file is invalid for this run).
    StartupFailure,
    Unknown,
}

impl FailureClass {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::NoIdToken => "no-id-token",
            Self::TrustMismatch => "trust-mismatch",
            Self::Audience => "audience",
            Self::ProviderMissing => "provider-missing",
            Self::TagSession => "tag-session",
            Self::RoleChainingLimit => "role-chaining-limit",
            Self::MaxSessionDuration => "max-session-duration",
            Self::MissingPermission => "missing-permission",
            Self::NestedIdToken => "nested-id-token",
            Self::StartupFailure => "startup-failure",
            Self::Unknown => "unknown",
        }
    }
}

/// One failed run, explained.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Diagnosis {
    pub class: FailureClass,
    /// The one-line fix.
    pub fix: String,
    /// The log line that decided the class (timestamp and `##[error]` stripped).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub evidence: Option<String>,
}

/// Log texts, in the order they are tried on each line (specific before general).
const PATTERNS: &[(&str, FailureClass)] = &[
    (
        "is requesting 'id-token: write', but is only allowed 'id-token: none'",
        FailureClass::NestedIdToken,
    ),
    (
        "Could not load credentials from any providers",
        FailureClass::NoIdToken,
    ),
    ("Credentials could not be loaded", FailureClass::NoIdToken),
    (
        "Not authorized to perform sts:AssumeRoleWithWebIdentity",
        FailureClass::TrustMismatch,
    ),
    ("Incorrect token audience", FailureClass::Audience),
    (
        "No OpenIDConnect provider found",
        FailureClass::ProviderMissing,
    ),
    (
        "not authorized to perform: sts:TagSession",
        FailureClass::TagSession,
    ),
    (
        "exceeds the 1 hour session limit",
        FailureClass::RoleChainingLimit,
    ),
    (
        "DurationSeconds exceeds the MaxSessionDuration",
        FailureClass::MaxSessionDuration,
    ),
    (
        "is not authorized to perform: ",
        FailureClass::MissingPermission,
    ),
];

/// A runner log line without its timestamp and `##[error]` marker.
fn message(line: &str) -> &str {
    let line = line.trim_end_matches('\r');
    let line = match line.split_once(' ') {
        Some((stamp, rest))
            if stamp.len() >= 20 && stamp.ends_with('Z') && stamp.as_bytes()[4] == b'-' =>
        {
            rest
        }
        _ => line,
    };
    line.trim_start_matches("##[error]").trim()
}

/// The first AWS error of a failed job's log.
pub fn classify(log: &str) -> Diagnosis {
    for line in log.lines() {
        let text = message(line);
        if let Some((_, class)) = PATTERNS.iter().find(|(p, _)| text.contains(p)) {
            return Diagnosis {
                class: *class,
                fix: fix(*class, text),
                evidence: Some(text.to_string()),
            };
        }
    }
    unknown()
}

/// A run GitHub refused to start has no jobs and no log.
pub fn startup_failure() -> Diagnosis {
    Diagnosis {
        class: FailureClass::StartupFailure,
        fix: fix(FailureClass::StartupFailure, ""),
        evidence: None,
    }
}

pub fn unknown() -> Diagnosis {
    Diagnosis {
        class: FailureClass::Unknown,
        fix: fix(FailureClass::Unknown, ""),
        evidence: None,
    }
}

/// `ACTION` and `ARN` of `… is not authorized to perform: ACTION on resource: ARN …`.
fn denied_action(text: &str) -> Option<(String, Option<String>)> {
    let (_, rest) = text.split_once("is not authorized to perform: ")?;
    let action: String = rest.chars().take_while(|c| !c.is_whitespace()).collect();
    let resource = rest.split_once(" on resource: ").map(|(_, r)| {
        r.trim_start_matches('"')
            .chars()
            .take_while(|c| !c.is_whitespace() && *c != '"')
            .collect::<String>()
    });
    Some((action, resource))
}

fn fix(class: FailureClass, text: &str) -> String {
    match class {
        FailureClass::NoIdToken => "grant `permissions: id-token: write` on the job (and on the calling job when it runs in a reusable workflow)".into(),
        FailureClass::NestedIdToken => "grant `id-token: write` on the calling job (`jobs.<id>.permissions` next to `uses:`)".into(),
        FailureClass::TrustMismatch => "allow the `sub` this run presents in the role's trust policy (an environment replaces the ref; pull requests present `pull_request`)".into(),
        FailureClass::Audience => "make the job's `audience` input and the OIDC provider's client id list agree (default `sts.amazonaws.com`)".into(),
        FailureClass::ProviderMissing => "create the IAM OIDC provider for the token's issuer (GHEC `include_enterprise_slug` and GHES have their own issuer)".into(),
        FailureClass::TagSession => "allow `sts:TagSession` in the target role's trust policy, or set `role-skip-session-tagging: true`".into(),
        FailureClass::RoleChainingLimit => "request `role-duration-seconds` of 3600 or less for a chained session".into(),
        FailureClass::MaxSessionDuration => "raise the role's `MaxSessionDuration` (up to 43200) or request a shorter `role-duration-seconds`".into(),
        FailureClass::MissingPermission => match denied_action(text) {
            Some((action, Some(resource))) => format!(
                "add to the role's permission policy: {{\"Effect\": \"Allow\", \"Action\": \"{action}\", \"Resource\": \"{resource}\"}}"
            ),
            Some((action, None)) => format!(
                "add to the role's permission policy: {{\"Effect\": \"Allow\", \"Action\": \"{action}\", \"Resource\": \"…\"}}"
            ),
            None => "add the denied action to the role's permission policy".into(),
        },
        FailureClass::StartupFailure => "the run never started: open it on GitHub; a reusable workflow's caller without `id-token: write` is the usual cause".into(),
        FailureClass::Unknown => "no known AWS error in the log: read the run".into(),
    }
}

/// Whether a run's `path` (`.github/workflows/x.yml`, or with an `@ref` suffix as in
/// GitHub's documented example) is the workflow file `changed`.
pub fn same_workflow(run_path: &str, changed: &str) -> bool {
    let path = run_path.split_once('@').map_or(run_path, |(p, _)| p);
    path == changed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_class_from_its_log_text() {
        let cases = [
            (
                "2026-11-25T10:00:03.4567890Z ##[error]Credentials could not be loaded, please check your action inputs: Could not load credentials from any providers",
                FailureClass::NoIdToken,
            ),
            (
                "2026-11-25T10:00:03.4567890Z ##[error]Could not assume role with OIDC: Not authorized to perform sts:AssumeRoleWithWebIdentity",
                FailureClass::TrustMismatch,
            ),
            (
                "##[error]Could not assume role with OIDC: Incorrect token audience",
                FailureClass::Audience,
            ),
            (
                "##[error]Could not assume role with OIDC: No OpenIDConnect provider found in your account for https://token.actions.githubusercontent.com",
                FailureClass::ProviderMissing,
            ),
            (
                "##[error]User: arn:aws:sts::123456789012:assumed-role/gha/s is not authorized to perform: sts:TagSession on resource: arn:aws:iam::123456789012:role/target",
                FailureClass::TagSession,
            ),
            (
                "##[error]The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining.",
                FailureClass::RoleChainingLimit,
            ),
            (
                "##[error]The requested DurationSeconds exceeds the MaxSessionDuration set for this role.",
                FailureClass::MaxSessionDuration,
            ),
        ];
        for (line, class) in cases {
            let log = format!(
                "2026-11-25T10:00:01.0000000Z Run aws-actions/configure-aws-credentials@v6\n{line}\n"
            );
            assert_eq!(classify(&log).class, class, "{line}");
        }
    }

    #[test]
    fn a_missing_permission_names_the_statement() {
        let log = "2026-11-25T10:00:09.1000000Z upload failed: ./a to s3://b/a An error occurred (AccessDenied) when calling the PutObject operation: User: arn:aws:sts::123456789012:assumed-role/gha-api/GitHubActions is not authorized to perform: s3:PutObject on resource: \"arn:aws:s3:::acme-site/index.html\" because no identity-based policy allows the s3:PutObject action\n";
        let d = classify(log);
        assert_eq!(d.class, FailureClass::MissingPermission);
        assert!(
            d.fix.contains(
                "\"Action\": \"s3:PutObject\", \"Resource\": \"arn:aws:s3:::acme-site/index.html\""
            ),
            "{}",
            d.fix
        );
    }

    #[test]
    fn first_error_wins_and_unknown_is_unknown() {
        let log = "##[error]Could not assume role with OIDC: Incorrect token audience\n##[error]Credentials could not be loaded\n";
        assert_eq!(classify(log).class, FailureClass::Audience);
        assert_eq!(
            classify("##[error]Process completed with exit code 2.\n").class,
            FailureClass::Unknown
        );
    }

    #[test]
    fn run_paths_may_carry_a_ref() {
        assert!(same_workflow(
            ".github/workflows/deploy.yml@refs/heads/main",
            ".github/workflows/deploy.yml"
        ));
        assert!(same_workflow(
            ".github/workflows/deploy.yml",
            ".github/workflows/deploy.yml"
        ));
        assert!(!same_workflow(
            ".github/workflows/deploy2.yml",
            ".github/workflows/deploy.yml"
        ));
    }
}
