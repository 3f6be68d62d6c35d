//! AWS IAM (effects, aws-sdk-iam through the standard credential chain): access keys
//! (`keys`), users (`users`), the roles that may serve the campaign (`roles`), what a
//! pre-flight trust check reads (`trust`), the executor of `trust --apply` (`apply`), its run
//! over a plan (`apply_plan`) and what `--copy-permissions-from` reads of the old user
//! (`copied`); here, the SDK configuration they share, their one error type and the
//! classifier that turns an SDK error into it.

use aws_sdk_iam::error::ProvideErrorMetadata;

pub mod apply;
pub mod apply_plan;
pub mod copied;
pub mod keys;
pub mod roles;
pub mod trust;
pub mod users;

#[derive(Debug, thiserror::Error)]
pub enum IamError {
    #[error(
        "iam:{action} on {subject} was denied: the credentials need the `iam:{action}` permission"
    )]
    Denied { action: String, subject: String },
    #[error(
        "iam:{action}: no usable AWS credentials: {cause}\nhelp: set AWS credentials (environment, ~/.aws config, SSO) for the account that owns the keys"
    )]
    NoCredentials { action: String, cause: String },
    #[error(
        "iam:{action} on {subject}: {message}\nhelp: IAM still finds something attached; re-run `migrate cleanup --delete-users` to see what keeps the user"
    )]
    Conflict {
        action: String,
        subject: String,
        message: String,
    },
    #[error("iam:{action} on {subject} failed: {message}")]
    Failed {
        action: String,
        subject: String,
        message: String,
    },
    // The calls of the `trust --apply` executor ([`classify_step`]): the line around the error
    // names the role or provider, so these name the action only, in the words that command
    // has always used.
    #[error(
        "iam:{action} was denied: the credentials need the `iam:{action}` permission ({message})"
    )]
    StepDenied { action: String, message: String },
    #[error(
        "iam:{action}: no usable AWS credentials (environment, ~/.aws config, SSO, credential process or instance role): {cause}"
    )]
    StepNoCredentials { action: String, cause: String },
    #[error("iam:{action} failed before IAM answered: {cause}")]
    StepUnanswered { action: String, cause: String },
    #[error("iam:{action}: IAM rejected the policy document: {message}")]
    StepPolicyRejected { action: String, message: String },
    #[error("iam:{action} failed: {code}: {message}")]
    StepFailed {
        action: String,
        code: String,
        message: String,
    },
    // What the `trust --apply` executor cannot go on with, though IAM answered: another
    // account's provider, an unknown user, a document or report IAM did not give whole.
    #[error(
        "the credentials reach the provider {found}, not {wanted}: is --account-id the account of these credentials?"
    )]
    ProviderInOtherAccount { found: String, wanted: String },
    #[error("IAM user `{user}` does not exist (--copy-permissions-from)")]
    NoSuchUser { user: String },
    #[error("a policy document IAM returned is not JSON: {0}")]
    PolicyNotJson(#[source] serde_json::Error),
    #[error("inline policy {name} of IAM user {user} is not JSON: {source}")]
    InlinePolicyNotJson {
        name: String,
        user: String,
        source: serde_json::Error,
    },
    #[error("{arn} has no default version")]
    NoDefaultVersion { arn: String },
    #[error("{arn} version {version} has no document")]
    NoPolicyDocument { arn: String, version: String },
    #[error("IAM user {user} has no ARN")]
    UserWithoutArn { user: String },
    #[error("GenerateServiceLastAccessedDetails returned no job id")]
    NoLastAccessedJob,
    #[error("IAM could not report the last use of {user}'s permissions")]
    LastAccessedFailed { user: String },
    #[error("IAM did not finish reporting the last use of {user}'s permissions within 30 s")]
    LastAccessedTimedOut { user: String },
}

/// An SDK error of an IAM call on `subject` (a user, a key, a role, the account).
pub(crate) fn classify<E>(action: &str, subject: &str, err: &E) -> IamError
where
    E: ProvideErrorMetadata + std::error::Error,
{
    classify_call(action, Some(subject), err)
}

/// An SDK error of a call of the `trust --apply` executor, whose caller names the role or
/// provider around it.
pub(crate) fn classify_step<E>(action: &str, err: &E) -> IamError
where
    E: ProvideErrorMetadata + std::error::Error,
{
    classify_call(action, None, err)
}

/// The one reading of an IAM error: the error code (`AccessDenied`, `DeleteConflict`,
/// `MalformedPolicyDocument`, any other), or with none, the cause chain of an error before IAM
/// answered (no credentials, no network). A call on a subject and an executor step keep the
/// wording their commands have always printed.
fn classify_call<E>(action: &str, subject: Option<&str>, err: &E) -> IamError
where
    E: ProvideErrorMetadata + std::error::Error,
{
    let action = action.to_string();
    let Some(code) = err.code() else {
        let cause = cause_chain(err);
        return match (no_credentials(&cause), subject) {
            (true, Some(_)) => IamError::NoCredentials { action, cause },
            (true, None) => IamError::StepNoCredentials { action, cause },
            (false, Some(subject)) => IamError::Failed {
                action,
                subject: subject.into(),
                message: cause,
            },
            (false, None) => IamError::StepUnanswered { action, cause },
        };
    };
    let Some(subject) = subject else {
        let message = err
            .message()
            .map_or_else(|| err.to_string(), str::to_string);
        return match code {
            "AccessDenied" | "AccessDeniedException" => IamError::StepDenied { action, message },
            "MalformedPolicyDocument" => IamError::StepPolicyRejected { action, message },
            _ => IamError::StepFailed {
                action,
                code: code.into(),
                message,
            },
        };
    };
    let subject = subject.to_string();
    match code {
        "AccessDenied" | "AccessDeniedException" => IamError::Denied { action, subject },
        "DeleteConflict" => IamError::Conflict {
            action,
            subject,
            message: err.message().unwrap_or("DeleteConflict").to_string(),
        },
        _ => IamError::Failed {
            action,
            subject,
            message: format!("{code}: {}", err.message().unwrap_or_default()),
        },
    }
}

/// Whether an error from before AWS answered (its [`cause_chain`]) is the credential chain
/// finding no credentials, rather than the network or anything else.
pub(crate) fn no_credentials(cause: &str) -> bool {
    cause.to_ascii_lowercase().contains("credentials")
}

/// The Display of an SDK error and each of its causes, without the SDK's Debug dump: errors
/// before IAM answered (no credentials, no network) say what happened only there.
pub(crate) fn cause_chain<E: std::error::Error>(err: &E) -> String {
    let mut cause = err.to_string();
    let mut source = err.source();
    while let Some(inner) = source {
        cause.push_str(&format!(": {inner}"));
        source = inner.source();
    }
    cause
}

pub(crate) fn is_no_such_entity<E: ProvideErrorMetadata>(err: &E) -> bool {
    err.code() == Some("NoSuchEntity")
}

/// The AWS configuration every client of migrate starts from: the standard credential chain,
/// and the configured region, else `us-east-1` (IAM is global, but the SDK needs a region to
/// sign; regional clients such as CloudTrail's choose their own).
pub async fn aws_config() -> aws_config::SdkConfig {
    let region = aws_config::meta::region::RegionProviderChain::default_provider()
        .or_else(aws_config::Region::new("us-east-1"));
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(region)
        .load()
        .await
}

/// What a write found: done now, or its goal was already reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Changed,
    AlreadyThere,
}

#[cfg(test)]
mod tests {
    use aws_sdk_iam::error::ErrorMetadata;

    use super::{classify, classify_step};

    fn answered(code: &str, message: &str) -> ErrorMetadata {
        ErrorMetadata::builder().code(code).message(message).build()
    }

    /// An error from before IAM answered: no code, only what went wrong.
    fn unanswered(message: &str) -> ErrorMetadata {
        ErrorMetadata::builder().message(message).build()
    }

    #[test]
    fn a_call_on_a_subject_names_it() {
        let denied = classify("DeleteUser", "user alice", &answered("AccessDenied", "no"));
        assert_eq!(
            denied.to_string(),
            "iam:DeleteUser on user alice was denied: the credentials need the `iam:DeleteUser` permission"
        );
        let failed = classify(
            "GetUser",
            "user alice",
            &answered("Throttling", "slow down"),
        );
        assert_eq!(
            failed.to_string(),
            "iam:GetUser on user alice failed: Throttling: slow down"
        );
    }

    /// The `trust --apply` wording, byte for byte as that command has always printed it.
    #[test]
    fn an_executor_step_names_the_action_only() {
        let cases = [
            (
                answered("AccessDenied", "User: x is not authorized"),
                "iam:CreateRole was denied: the credentials need the `iam:CreateRole` permission (User: x is not authorized)",
            ),
            (
                answered("MalformedPolicyDocument", "bad principal"),
                "iam:CreateRole: IAM rejected the policy document: bad principal",
            ),
            (
                answered("EntityAlreadyExists", "taken"),
                "iam:CreateRole failed: EntityAlreadyExists: taken",
            ),
            (
                ErrorMetadata::builder().code("Throttling").build(),
                "iam:CreateRole failed: Throttling: Error { code: \"Throttling\" }",
            ),
            (
                unanswered("the credentials provider was not enabled"),
                "iam:CreateRole: no usable AWS credentials (environment, ~/.aws config, SSO, credential process or instance role): Error { message: \"the credentials provider was not enabled\" }",
            ),
            (
                unanswered("connection refused"),
                "iam:CreateRole failed before IAM answered: Error { message: \"connection refused\" }",
            ),
        ];
        for (err, expected) in cases {
            assert_eq!(classify_step("CreateRole", &err).to_string(), expected);
        }
    }
}
