//! AWS IAM (effects, aws-sdk-iam through the standard credential chain): access keys
//! (`keys`), users (`users`), the roles that may serve the campaign (`roles`) and what a
//! pre-flight trust check reads (`trust`); here, the SDK configuration they share, their one
//! error type and the classifier that turns an SDK error into it.

use aws_sdk_iam::error::ProvideErrorMetadata;

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
}

pub(crate) fn classify<E>(action: &str, subject: &str, err: &E) -> IamError
where
    E: ProvideErrorMetadata + std::error::Error,
{
    match err.code() {
        Some("AccessDenied" | "AccessDeniedException") => IamError::Denied {
            action: action.into(),
            subject: subject.into(),
        },
        Some("DeleteConflict") => IamError::Conflict {
            action: action.into(),
            subject: subject.into(),
            message: err.message().unwrap_or("DeleteConflict").to_string(),
        },
        Some(code) => IamError::Failed {
            action: action.into(),
            subject: subject.into(),
            message: format!("{code}: {}", err.message().unwrap_or_default()),
        },
        None => {
            let cause = cause_chain(err);
            if no_credentials(&cause) {
                IamError::NoCredentials {
                    action: action.into(),
                    cause,
                }
            } else {
                IamError::Failed {
                    action: action.into(),
                    subject: subject.into(),
                    message: cause,
                }
            }
        }
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
