//! The proof a rewrite must pass: the model of the output gives every step that took static
//! keys in the input either the same keys (left alone) or the role the role map assigns to
//! those keys, through a form it can use, under a condition that holds wherever it runs.

use super::{Consumption, Credential, FileFlow, JobFlow, KeyPair, Origin, StepFlow};

/// One consumer's credentials before and after, for people (`--explain`, JSON, PR bodies).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct FlowRow {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub job: Option<String>,
    pub step: String,
    /// 0-based index in the input.
    pub index: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub condition: Option<String>,
    pub before: String,
    pub after: String,
    /// The `if:` of the step that gives it its credentials after the rewrite.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub provided_under: Option<String>,
}

/// Why a rewrite is not proven: what the output would do differently from the input.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Unproven {
    #[error("job {job} is missing from the output")]
    JobMissing { job: String },
    /// `at` is `job NAME, step N (...)`.
    #[error("{at}: missing from the output")]
    StepMissing { at: String },
    #[error("{at}: {mismatch}")]
    StepChanged { at: String, mismatch: StepMismatch },
}

/// How one step's credentials after the rewrite differ from what it must get.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StepMismatch {
    /// `pair` is the key pair as [`KeyPair::describe`] shows it.
    #[error("no role is mapped for {pair}")]
    NoRoleMapped { pair: String },
    #[error("it used {before} and should get {role} chained from {expected}, but gets {after}")]
    NotChained {
        before: String,
        role: String,
        expected: String,
        after: String,
    },
    #[error("its credentials changed from {before} to {after}")]
    CredentialsChanged { before: String, after: String },
    #[error("it used {pair} and should get role {expected}, but gets {after}")]
    WrongRole {
        pair: String,
        expected: String,
        after: String,
    },
    /// `how` is the reason [`Consumption::KeyOnly`] gives.
    #[error("it cannot use temporary credentials: {how}")]
    KeysOnly { how: String },
    #[error("its role does not come from a configure step")]
    RoleNotConfigured,
    /// `provider` is the provider's condition or `always`; `consumer` is `if COND` or `always`.
    #[error(
        "the configure step it relies on runs only if {provider}, but the step runs {consumer}"
    )]
    NotCovered { provider: String, consumer: String },
}

/// Maps each input step of `job` to its index in the output, given the input indices that
/// inserted steps precede.
fn output_index(inserted: &[usize], index: usize) -> usize {
    index + inserted.iter().filter(|&&i| i <= index).count()
}

/// Whether a step running under `consumer` always finds its provider ran too.
fn covered(provider: Option<&str>, consumer: Option<&str>) -> bool {
    let Some(provider) = provider.map(crate::expr::unwrap_expression) else {
        return true;
    };
    // The token guard only leaves out runs where the keys were empty before (no secrets for
    // forks; Dependabot's own): there the step fails or passes as it did.
    if super::guards::TOKEN_GUARDS.contains(&provider.as_str()) || provider == super::guards::ALWAYS
    {
        return true;
    }
    let guarded = super::guards::TOKEN_GUARDS
        .iter()
        .find_map(|token| provider.strip_prefix(&format!("{token} && (")));
    let provider = match guarded {
        Some(rest) => rest.strip_suffix(')').unwrap_or(rest).to_string(),
        None => provider,
    };
    if provider == super::guards::ALWAYS {
        return true;
    }
    let Some(consumer) = consumer.map(crate::expr::unwrap_expression) else {
        return false;
    };
    provider == consumer
        || provider
            .split(" || ")
            .any(|part| part.trim() == format!("({consumer})"))
}

/// Checks the rewrite of one file; `inserted(job)` gives the input indices inserted configure
/// steps precede, `role_for` the role the map assigns to a key pair.
pub fn check(
    before: &FileFlow,
    after: &FileFlow,
    inserted: impl Fn(Option<&str>) -> Vec<usize>,
    role_for: impl Fn(&KeyPair) -> Option<String>,
) -> Result<Vec<FlowRow>, Unproven> {
    let mut rows = Vec::new();
    for job in &before.jobs {
        let Some(out_job) = after.job(job.job.as_deref()) else {
            return Err(Unproven::JobMissing { job: label(job) });
        };
        let moved = inserted(job.job.as_deref());
        for step in job.consumers() {
            let Some(out) = out_job.steps.get(output_index(&moved, step.index)) else {
                return Err(Unproven::StepMissing {
                    at: where_(job, step),
                });
            };
            let row = verify_step(job, step, &moved, out_job, out, &role_for)?;
            rows.push(row);
        }
    }
    Ok(rows)
}

fn verify_step(
    job: &JobFlow,
    step: &StepFlow,
    moved: &[usize],
    out_job: &JobFlow,
    out: &StepFlow,
    role_for: &impl Fn(&KeyPair) -> Option<String>,
) -> Result<FlowRow, Unproven> {
    let before = step.credential.clone();
    let after = out.credential.clone();
    let provided_under = match out.origin {
        Some(Origin::Exported(i)) => out_job.steps.get(i).and_then(|p| p.condition.clone()),
        _ => None,
    };
    let row = FlowRow {
        job: job.job.clone(),
        step: step.label.clone(),
        index: step.index,
        condition: step.condition.clone(),
        before: before.as_ref().map_or("none".into(), Credential::describe),
        after: after.as_ref().map_or("none".into(), Credential::describe),
        provided_under: provided_under.clone(),
    };
    let origin_then = match step.origin {
        Some(Origin::Exported(i)) => Some(Origin::Exported(output_index(moved, i))),
        other => other,
    };
    if before == after && origin_then == out.origin {
        return Ok(row);
    }
    let fail = |mismatch: StepMismatch| {
        Err(Unproven::StepChanged {
            at: where_(job, step),
            mismatch,
        })
    };
    if let Some(Credential::Chained { pair, role }) = &before {
        let Some(expected) = role_for(pair) else {
            return fail(StepMismatch::NoRoleMapped {
                pair: pair.describe(),
            });
        };
        return match &after {
            Some(Credential::RoleChain { from, role: to }) if *from == expected && to == role => {
                Ok(row)
            }
            _ => fail(StepMismatch::NotChained {
                before: row.before,
                role: role.clone(),
                expected,
                after: row.after,
            }),
        };
    }
    let Some(Credential::Keys { pair }) = &before else {
        return fail(StepMismatch::CredentialsChanged {
            before: row.before,
            after: row.after,
        });
    };
    let Some(expected) = role_for(pair) else {
        return fail(StepMismatch::NoRoleMapped {
            pair: pair.describe(),
        });
    };
    match &after {
        Some(Credential::Role { role }) if *role == expected => {}
        _ => {
            return fail(StepMismatch::WrongRole {
                pair: pair.describe(),
                expected,
                after: row.after,
            });
        }
    }
    if let Consumption::KeyOnly(how) = &out.consumption {
        return fail(StepMismatch::KeysOnly { how: how.clone() });
    }
    let Some(Origin::Exported(_)) = out.origin else {
        return fail(StepMismatch::RoleNotConfigured);
    };
    // A configure step edited in place keeps its condition, and with it the old coverage.
    let same_provider =
        matches!(step.origin, Some(Origin::Exported(_))) && step.origin_condition == provided_under;
    if !same_provider && !covered(provided_under.as_deref(), step.condition.as_deref()) {
        return fail(StepMismatch::NotCovered {
            provider: provided_under.unwrap_or_else(|| "always".into()),
            consumer: step
                .condition
                .as_deref()
                .map_or("always".into(), |c| format!("if {c}")),
        });
    }
    Ok(row)
}

fn label(job: &JobFlow) -> String {
    job.job
        .clone()
        .unwrap_or_else(|| "(composite action)".into())
}

fn where_(job: &JobFlow, step: &StepFlow) -> String {
    format!("job {}, {}", label(job), step.label)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn coverage() {
        assert!(covered(None, Some("a")));
        assert!(!covered(Some("a"), None));
        assert!(covered(Some("${{ a }}"), Some("a")));
        assert!(covered(Some("(a) || (b)"), Some("b")));
        assert!(!covered(Some("(a) || (b)"), Some("c")));
        let guarded = format!("{} && ((a) || (b))", super::super::guards::TOKEN_AVAILABLE);
        assert!(covered(Some(&guarded), Some("a")));
        assert!(covered(Some(super::super::guards::TOKEN_AVAILABLE), None));
        let target = format!(
            "{} && (a)",
            super::super::guards::TOKEN_AVAILABLE_WITH_TARGET
        );
        assert!(covered(Some(&target), Some("a")));
    }

    #[test]
    fn indices_shift_past_inserted_steps() {
        assert_eq!(output_index(&[0], 0), 1);
        assert_eq!(output_index(&[2], 1), 1);
        assert_eq!(output_index(&[0, 2], 3), 5);
    }
}
