//! `status --format json`: the versioned wire format of a campaign's status: one object per
//! repository, the totals (per organization too), the suggestions, notes and errors, and what
//! GitHub was asked.
//!
//! Fields are declared in alphabetical order: the document was first built as a
//! `serde_json::Value`, whose objects sort their keys, and these structs print it unchanged
//! (`tests.rs` pins it byte for byte). New fields go where the alphabet puts them.

use std::collections::BTreeMap;

use serde::{Serialize, Serializer};

use super::{by_organization, organization_of, totals};
use crate::campaign::key_status::KeyStatus;
use crate::campaign::reconcile::failures::Failure;
use crate::campaign::reconcile::{RepoView, Truth};
use crate::campaign::state::{PullFacts, RepoState, Verification};
use crate::campaign::time;
use crate::detect::aws_key_literal::mask_key_id;
use crate::trust::preflight::Row as PreflightRow;

/// Bumped only when a field changes meaning or disappears; new fields may be added.
pub const VERSION: u32 = 1;

/// The document, pretty-printed, with a final newline.
pub fn render(truth: &Truth) -> String {
    serde_json::to_string_pretty(&Status::of(truth)).unwrap_or_default() + "\n"
}

#[derive(Serialize)]
struct Status<'a> {
    by_organization: BTreeMap<&'a str, BTreeMap<&'static str, usize>>,
    errors: &'a [String],
    github_requests: GitHubRequests,
    notes: &'a [String],
    /// The one organization scanned whole (kept for readers of single-organization runs);
    /// every one of them in `organizations`.
    organization: Option<&'a str>,
    organizations: Vec<&'a str>,
    repositories: Vec<Repository<'a>>,
    suggestions: Vec<Suggestion<'a>>,
    totals: BTreeMap<&'static str, usize>,
    version: u32,
}

#[derive(Serialize)]
struct GitHubRequests {
    not_modified: u64,
    total: u64,
}

#[derive(Serialize)]
struct Repository<'a> {
    #[serde(serialize_with = "keys_sorted")]
    failures: Option<&'a Vec<Failure>>,
    findings: usize,
    keys: Vec<Key<'a>>,
    next_step: &'a str,
    old_secrets_present: usize,
    organization: &'a str,
    #[serde(serialize_with = "keys_sorted")]
    preflight: Option<&'a Vec<PreflightRow>>,
    pull_request: Option<PullRequest<'a>>,
    remaining_references: &'a [String],
    repository: &'a str,
    roles: &'a [String],
    state: RepoState,
    verified: Option<Verified<'a>>,
}

/// A mapped key as IAM reports it, its id masked.
#[derive(Serialize)]
struct Key<'a> {
    access_key_id: String,
    last_used: Option<String>,
    /// Where the key map named it (`repos`, `secrets`, …).
    mapped_by: &'a str,
    region: Option<&'a str>,
    service: Option<&'a str>,
    status: KeyStatus,
    user: &'a str,
}

#[derive(Serialize)]
struct PullRequest<'a> {
    head: &'a str,
    merged: bool,
    merged_at: Option<String>,
    number: u64,
    state: &'a str,
    url: &'a str,
}

/// The run that verified the merge.
#[derive(Serialize)]
struct Verified<'a> {
    run_at: String,
    run_url: &'a str,
    workflow: &'a str,
}

#[derive(Serialize)]
struct Suggestion<'a> {
    repository: &'a str,
    user: &'a str,
    why: &'a str,
}

/// Pre-flight rows and failures declare their fields in another order (and flatten their
/// verdict into them); the document has always printed them with sorted keys, which a
/// `serde_json::Value` keeps.
fn keys_sorted<T: Serialize, S: Serializer>(value: &T, serializer: S) -> Result<S::Ok, S::Error> {
    serde_json::to_value(value)
        .map_err(serde::ser::Error::custom)?
        .serialize(serializer)
}

impl<'a> Status<'a> {
    fn of(truth: &'a Truth) -> Self {
        let orgs = truth.orgs();
        Self {
            by_organization: by_organization(truth),
            errors: &truth.errors,
            github_requests: GitHubRequests {
                not_modified: truth.not_modified,
                total: truth.requests,
            },
            notes: &truth.notes,
            organization: match orgs.as_slice() {
                [org] => Some(*org),
                _ => None,
            },
            repositories: truth
                .repos
                .iter()
                .map(|view| Repository::of(view, truth))
                .collect(),
            organizations: orgs,
            suggestions: truth
                .suggestions
                .iter()
                .map(|s| Suggestion {
                    repository: &s.repo,
                    user: &s.user,
                    why: &s.why,
                })
                .collect(),
            totals: totals(truth),
            version: VERSION,
        }
    }
}

impl<'a> Repository<'a> {
    fn of(view: &'a RepoView, truth: &'a Truth) -> Self {
        let repo = view.facts.repo.as_str();
        Self {
            failures: truth.failures.get(repo),
            findings: view.observed.findings,
            keys: view
                .facts
                .keys
                .iter()
                .filter_map(|(id, source)| {
                    truth.keys.get(id).map(|k| Key {
                        access_key_id: mask_key_id(&k.id),
                        last_used: k.last_used.map(time::format),
                        mapped_by: source,
                        region: k.region.as_deref(),
                        service: k.service.as_deref(),
                        status: k.status,
                        user: &k.user,
                    })
                })
                .collect(),
            next_step: &view.next,
            old_secrets_present: view.observed.old_secrets_present,
            organization: organization_of(repo),
            preflight: truth.preflight.get(repo),
            pull_request: view.facts.pull.as_ref().map(PullRequest::of),
            remaining_references: &view.observed.references,
            repository: repo,
            roles: &view.observed.roles,
            state: view.state,
            verified: view.observed.verified.as_ref().map(Verified::of),
        }
    }
}

impl<'a> PullRequest<'a> {
    fn of(pull: &'a PullFacts) -> Self {
        Self {
            head: &pull.head,
            merged: pull.merged,
            merged_at: pull.merged_at.map(time::format),
            number: pull.number,
            state: &pull.state,
            url: &pull.url,
        }
    }
}

impl<'a> Verified<'a> {
    fn of(run: &'a Verification) -> Self {
        Self {
            run_at: time::format(run.run_at),
            run_url: &run.run_url,
            workflow: &run.workflow,
        }
    }
}
