//! Each format's output for one campaign, byte for byte: readers parse the JSON and the
//! tables end up in issues, so a change here must be deliberate.

use super::{json, markdown, table};
use crate::campaign::cleanup::{KeyFacts, RepoFacts};
use crate::campaign::diagnose::{Diagnosis, FailureClass};
use crate::campaign::key_status::KeyStatus;
use crate::campaign::keymap::Suggestion;
use crate::campaign::reconcile::failures::Failure;
use crate::campaign::reconcile::{RepoView, Truth};
use crate::campaign::state::{Observed, PullFacts, RepoState, Verification};
use crate::trust::preflight::{Check, Row as PreflightRow};

/// One organization: a merged, verified repository with a key, a failure and a pre-flight
/// row, and one with nothing (the `null`s).
fn truth() -> Truth {
    let key = "AKIAIOSFODNN7EXAMPLE".to_string();
    let api = RepoView {
        facts: RepoFacts {
            repo: "acme/api".into(),
            pull: Some(PullFacts {
                number: 7,
                url: "https://github.com/acme/api/pull/7".into(),
                state: "closed".into(),
                merged: true,
                merged_at: Some(1_764_000_000),
                head: "migrate/oidc".into(),
                files: vec![".github/workflows/deploy.yml".into()],
            }),
            keys: vec![(key.clone(), "repos".into())],
            ..RepoFacts::default()
        },
        observed: Observed {
            findings: 2,
            references: vec!["AWS_ACCESS_KEY_ID".into(), "AWS_SECRET_ACCESS_KEY".into()],
            roles: vec!["arn:aws:iam::123456789012:role/gha-api".into()],
            verified: Some(Verification {
                repo: "acme/api".into(),
                merged_at: 1_764_000_000,
                workflow: "deploy.yml".into(),
                run_url: "https://github.com/acme/api/actions/runs/1".into(),
                run_at: 1_764_000_600,
            }),
            old_secrets_present: 1,
            ..Observed::default()
        },
        state: RepoState::Verified,
        next: "cleanup".into(),
    };
    let web = RepoView {
        facts: RepoFacts {
            repo: "acme/web".into(),
            ..RepoFacts::default()
        },
        observed: Observed::default(),
        state: RepoState::Clean,
        next: "-".into(),
    };
    Truth {
        repos: vec![api, web],
        org_secrets: [("acme".to_string(), Vec::new())].into(),
        keys: [(
            key.clone(),
            KeyFacts {
                id: key,
                user: "ci-api".into(),
                status: KeyStatus::Active,
                last_used: Some(1_764_100_000),
                service: Some("s3".into()),
                region: Some("us-east-1".into()),
                deactivated_at: None,
                deleted_by_campaign: false,
            },
        )]
        .into(),
        suggestions: vec![Suggestion {
            repo: "acme/web".into(),
            user: "ci-web".into(),
            why: "name".into(),
        }],
        errors: vec!["acme/old: not found".into()],
        notes: vec!["a note".into()],
        requests: 12,
        not_modified: 5,
        preflight: [(
            "acme/api".to_string(),
            vec![PreflightRow {
                path: ".github/workflows/deploy.yml".into(),
                job: "deploy".into(),
                way: "push to main".into(),
                role: "arn:aws:iam::123456789012:role/gha-api".into(),
                sub: "repo:acme/api:ref:refs/heads/main".into(),
                check: Check::Denied {
                    why: "sub not allowed".into(),
                    closest: Some("repo:acme/api:environment:prod".into()),
                },
            }],
        )]
        .into(),
        failures: [(
            "acme/api".to_string(),
            vec![Failure {
                workflow: "deploy.yml".into(),
                job: Some("deploy".into()),
                run_url: "https://github.com/acme/api/actions/runs/2".into(),
                sub: Some("repo:acme/api:pull_request".into()),
                allowed_subs: vec!["repo:acme/api:ref:refs/heads/main".into()],
                diagnosis: Diagnosis {
                    class: FailureClass::TrustMismatch,
                    fix: "allow the sub".into(),
                    evidence: Some(
                        "Not authorized to perform sts:AssumeRoleWithWebIdentity".into(),
                    ),
                },
            }],
        )]
        .into(),
        ..Truth::default()
    }
}

#[test]
fn json_is_pinned() {
    let text = json::render(&truth());
    assert_eq!(
        text,
        r#"{
  "by_organization": {
    "acme": {
      "clean": 1,
      "verified": 1
    }
  },
  "errors": [
    "acme/old: not found"
  ],
  "github_requests": {
    "not_modified": 5,
    "total": 12
  },
  "notes": [
    "a note"
  ],
  "organization": "acme",
  "organizations": [
    "acme"
  ],
  "repositories": [
    {
      "failures": [
        {
          "allowed_subs": [
            "repo:acme/api:ref:refs/heads/main"
          ],
          "class": "trust-mismatch",
          "evidence": "Not authorized to perform sts:AssumeRoleWithWebIdentity",
          "fix": "allow the sub",
          "job": "deploy",
          "run_url": "https://github.com/acme/api/actions/runs/2",
          "sub": "repo:acme/api:pull_request",
          "workflow": "deploy.yml"
        }
      ],
      "findings": 2,
      "keys": [
        {
          "access_key_id": "AKIA…MPLE",
          "last_used": "2025-11-25T19:46:40Z",
          "mapped_by": "repos",
          "region": "us-east-1",
          "service": "s3",
          "status": "Active",
          "user": "ci-api"
        }
      ],
      "next_step": "cleanup",
      "old_secrets_present": 1,
      "organization": "acme",
      "preflight": [
        {
          "closest": "repo:acme/api:environment:prod",
          "job": "deploy",
          "path": ".github/workflows/deploy.yml",
          "result": "denied",
          "role": "arn:aws:iam::123456789012:role/gha-api",
          "sub": "repo:acme/api:ref:refs/heads/main",
          "way": "push to main",
          "why": "sub not allowed"
        }
      ],
      "pull_request": {
        "head": "migrate/oidc",
        "merged": true,
        "merged_at": "2025-11-24T16:00:00Z",
        "number": 7,
        "state": "closed",
        "url": "https://github.com/acme/api/pull/7"
      },
      "remaining_references": [
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY"
      ],
      "repository": "acme/api",
      "roles": [
        "arn:aws:iam::123456789012:role/gha-api"
      ],
      "state": "verified",
      "verified": {
        "run_at": "2025-11-24T16:10:00Z",
        "run_url": "https://github.com/acme/api/actions/runs/1",
        "workflow": "deploy.yml"
      }
    },
    {
      "failures": null,
      "findings": 0,
      "keys": [],
      "next_step": "-",
      "old_secrets_present": 0,
      "organization": "acme",
      "preflight": null,
      "pull_request": null,
      "remaining_references": [],
      "repository": "acme/web",
      "roles": [],
      "state": "clean",
      "verified": null
    }
  ],
  "suggestions": [
    {
      "repository": "acme/web",
      "user": "ci-web",
      "why": "name"
    }
  ],
  "totals": {
    "clean": 1,
    "verified": 1
  },
  "version": 1
}
"#
    );
}

#[test]
fn table_is_pinned() {
    let text = table::render(&truth());
    assert_eq!(
        text,
        r#"REPOSITORY  STATE     PR  MERGED      REFERENCES                               KEY LAST USED            NEXT STEP
acme/api    verified  #7  2025-11-24  AWS_ACCESS_KEY_ID,AWS_SECRET_ACCESS_KEY  2025-11-25 s3 us-east-1  cleanup
acme/web    clean     -   -           0                                        -                        -

2 repositories: 1 clean, 1 verified

failing acme/api:
  deploy.yml deploy: trust-mismatch — allow the sub
    https://github.com/acme/api/actions/runs/2 (presented sub `repo:acme/api:pull_request`)
    the role allows: `repo:acme/api:ref:refs/heads/main`

pre-flight acme/api: 1 of 1 ways would not be allowed to assume the role
  .github/workflows/deploy.yml: deploy [push to main] sub `repo:acme/api:ref:refs/heads/main`: DENIED (closest allowed: `repo:acme/api:environment:prod`)

suggestions (never acted on; confirm them in --key-map):
  acme/web -> IAM user ci-web (name)

notes:
  a note

errors:
  acme/old: not found
"#
    );
}

#[test]
fn markdown_is_pinned() {
    let text = markdown::render(&truth());
    assert_eq!(
        text,
        r#"| REPOSITORY | STATE | PR | MERGED | REFERENCES | KEY LAST USED | NEXT STEP |
|---|---|---|---|---|---|---|
| acme/api | verified | [#7](https://github.com/acme/api/pull/7) | 2025-11-24 | AWS_ACCESS_KEY_ID,AWS_SECRET_ACCESS_KEY | 2025-11-25 s3 us-east-1 | cleanup |
| acme/web | clean | - | - | 0 | - | - |

**2 repositories: 1 clean, 1 verified**

#### Pre-flight trust check: acme/api

| job | runs as | `sub` presented | role | result |
|---|---|---|---|---|
| `.github/workflows/deploy.yml`: deploy | push to main | `repo:acme/api:ref:refs/heads/main` | `gha-api` | DENIED (closest allowed: `repo:acme/api:environment:prod`) |

suggestions (never acted on; confirm them in --key-map):
-   acme/web -> IAM user ci-web (name)

notes:
-   a note

errors:
-   acme/old: not found
"#
    );
}
