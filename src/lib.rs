//! `migrate`: find static AWS keys in GitHub Actions workflows and move them to OIDC.

#![cfg_attr(test, allow(clippy::unwrap_used))]

pub mod yaml;
pub mod detect;
pub mod expr;
pub mod source;
pub mod rewrite;
pub mod workflow;
