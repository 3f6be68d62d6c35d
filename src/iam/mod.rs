//! AWS IAM (effects, aws-sdk-iam through the standard credential chain): access keys
//! (`keys`), users (`users`), the roles that may serve the campaign (`roles`) and what a
//! pre-flight trust check reads (`trust`).

pub mod keys;
pub mod roles;
pub mod trust;
pub mod users;
