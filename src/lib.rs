//! `migrate`: find static AWS keys in GitHub Actions workflows and move them to OIDC.
//!
//! Pipeline: [`discover`] (files) → [`yaml`] (located parse) → [`workflow`] (model) →
//! [`detect`] (rules) and [`facts`] (sub claims) → [`report`] (formats); [`rewrite`] edits
//! files byte-exactly from the same model; [`trust`] derives the AWS side; [`campaign`] tracks
//! an organization-wide migration.
//!
//! Effects live in their own modules: files on disk ([`discover`], [`write`],
//! `rewrite::local`, `campaign::keymap::KeyMap::load`), GitHub ([`github`], `scan::remote`,
//! [`fleet`], `publish::sync`, `publish::run`, `publish::preflight`, [`announce`]), AWS
//! ([`iam`], [`cloudtrail`], `publish::preflight`), the campaign ledger (`campaign::ledger`,
//! `campaign::resume`, `publish::journal`, `publish::resume`) and what gathers remote truth
//! (`campaign::reconcile`), and the terminal ([`cli`], the only one that prints). Everything
//! else is pure: [`yaml`], [`workflow`], [`expr`], [`detect`], [`facts`], [`scan`] (given
//! texts; `scan::remote` is its GitHub side), [`rewrite`] (but `rewrite::local`), [`trust`]
//! (but `trust::checkout` runs git and reads checkouts, and `trust::reconcile` only decides
//! what IAM calls to make), [`preflight`], [`budget`], [`glob`], [`source`],
//! `scan::inventory`, [`report`], `publish::plan` and `publish::body`, and the rest of
//! [`campaign`].

#![cfg_attr(test, allow(clippy::unwrap_used))]

pub mod announce;
pub mod budget;
pub mod campaign;
pub mod cli;
pub mod cloudtrail;
pub mod detect;
pub mod discover;
pub mod expr;
pub mod facts;
pub mod fleet;
pub mod github;
pub mod glob;
pub mod iam;
pub mod preflight;
pub mod publish;
pub mod report;
pub mod rewrite;
pub mod scan;
pub mod source;
pub mod trust;
pub mod workflow;
pub mod write;
pub mod yaml;
