//! `migrate`: find static AWS keys in GitHub Actions workflows and move them to OIDC.
//!
//! Pipeline: [`discover`] (files) → [`yaml`] (located parse) → [`workflow`] (model) →
//! [`detect`] (rules) and [`facts`] (sub claims) → [`report`] (formats). Everything but
//! `discover`, `cli` and `report` output is pure.

#![cfg_attr(test, allow(clippy::unwrap_used))]

pub mod cli;
pub mod detect;
pub mod discover;
pub mod expr;
pub mod facts;
pub mod report;
pub mod scan;
pub mod source;
pub mod trust;
pub mod workflow;
pub mod yaml;
