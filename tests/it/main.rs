//! The integration tests, in one binary (octocrab, aws-sdk-iam and axum are linked once, not
//! once per file): a module per area, the fake GitHub and moto helpers in `common`.

// A test that cannot unwrap has failed: panicking is the report.
#![allow(clippy::unwrap_used)]

mod common;
mod rewrite_support;

mod campaign;
mod cli;
mod dashboard;
mod diagnose;
mod github_app;
mod github_pr;
mod github_scan;
mod layout;
mod preflight;
mod rewrite_cases;
mod rewrite_corpus;
mod rewrite_flow_props;
mod rewrite_props;
mod rewrite_styles;
mod rewrite_token_scopes;
mod scan;
mod trust_apply;
mod trust_cli;
mod trust_github;
mod trust_permissions;
mod trust_subs;
mod validators;
