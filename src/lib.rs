//! `migrate`: find static AWS keys in GitHub Actions workflows and move them to OIDC.
pub mod yaml;
pub mod detect;
pub mod expr;
pub mod source;
pub mod rewrite;
pub mod workflow;
