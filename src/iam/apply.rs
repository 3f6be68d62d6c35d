//! The IAM executor of `migrate trust --apply` (effects, aws-sdk-iam through the standard
//! credential chain): read what IAM holds for a plan, create or extend the one OIDC provider,
//! create each missing role with its trust policy and permissions, all-or-nothing per role
//! (a role whose trust policy differs is never overwritten); and, for
//! `--copy-permissions-from`, read an IAM user's permissions and the evidence of their use.
//! What to change is decided by the pure [`crate::trust::reconcile`], what a role gets by the
//! pure [`Permissions::for_role`]; showing the changes and asking to apply them is the CLI's.

use std::future::Future;
use std::time::Duration;

use aws_sdk_iam::Client;
use aws_sdk_iam::error::{BuildError, ProvideErrorMetadata};
use aws_sdk_iam::types::Tag;
use serde_json::Value;

use super::users::IamUsers;
use super::{IamError, aws_config, classify_step, is_no_such_entity};
use crate::cloudtrail::{CloudTrail, CloudTrailError};
use crate::trust::evidence::{self, ObservedCalls, ServiceUse};
use crate::trust::plan::{RoleSpec, TrustPlan};
use crate::trust::policy::{
    INFERRED_POLICY_NAME, PLACEHOLDER_POLICY_NAME, TrustPolicyError, validate_trust,
};
use crate::trust::reconcile::{
    self, Changes, ExistingProvider, ProviderChange, RoleChange, decode_policy_document,
};
use crate::trust::role_permissions::{CopiedPermissions, CopiedPolicy, PermissionSource};

/// The permissions a created role gets: the placeholder, the inferred policy, or what an IAM
/// user had (also what [`IamApply::user_permissions`] reads).
#[derive(Debug, Clone, Default)]
pub struct Permissions {
    /// Managed policy ARNs to attach.
    pub managed: Vec<String>,
    /// Inline policies: (name, decoded JSON document).
    pub inline: Vec<(String, String)>,
}

impl Permissions {
    /// What `trust --permissions` chose for the role: the inferred policy (`bounded` by the
    /// user's, when read), the user's permissions (when --copy-permissions-from read them),
    /// or the placeholder.
    pub fn for_role(role: &RoleSpec, copied: Option<&Self>, bounded: Option<&Value>) -> Self {
        match (role.permissions, copied) {
            (PermissionSource::Inferred, _) => {
                let document = bounded.unwrap_or(&role.permission_policy);
                let empty = document["Statement"].as_array().is_none_or(Vec::is_empty);
                if empty {
                    return Self::placeholder(role);
                }
                Self {
                    managed: Vec::new(),
                    inline: vec![(INFERRED_POLICY_NAME.to_string(), document.to_string())],
                }
            }
            (PermissionSource::Copied, Some(copied)) => copied.clone(),
            // An explicit --copy-permissions-from still applies to placeholder roles (as before).
            (PermissionSource::Placeholder, Some(copied)) => copied.clone(),
            _ => Self::placeholder(role),
        }
    }

    fn placeholder(role: &RoleSpec) -> Self {
        Self {
            managed: Vec::new(),
            inline: vec![(
                PLACEHOLDER_POLICY_NAME.to_string(),
                role.permission_policy.to_string(),
            )],
        }
    }

    /// These permissions as `user`'s for the emitters, each inline document parsed.
    pub fn copied_from(&self, user: &str) -> Result<CopiedPermissions, IamError> {
        let inline = self
            .inline
            .iter()
            .map(|(name, text)| {
                serde_json::from_str(&decode_policy_document(text))
                    .map(|document| CopiedPolicy {
                        name: name.clone(),
                        document,
                    })
                    .map_err(|source| IamError::InlinePolicyNotJson {
                        name: name.clone(),
                        user: user.to_string(),
                        source,
                    })
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(CopiedPermissions {
            user: user.to_string(),
            managed: self.managed.clone(),
            inline,
        })
    }
}

/// An inline policy name IAM accepts (`[\w+=,.@-]`, at most 128 characters).
fn inline_name(parts: &[&str]) -> String {
    parts
        .join("-")
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "_+=,.@-".contains(c) {
                c
            } else {
                '-'
            }
        })
        .take(128)
        .collect()
}

/// Why a role was not created. IAM keeps nothing of it, unless undoing failed too, which
/// the message then says.
#[derive(Debug, thiserror::Error)]
pub enum RoleNotCreated {
    /// The trust policy failed our validator, so it was never sent to IAM.
    #[error("{0}")]
    InvalidTrust(TrustPolicyError),
    #[error("bad tag: {0}")]
    BadTag(#[source] BuildError),
    /// `CreateRole` failed: nothing to undo.
    #[error(transparent)]
    Refused(IamError),
    /// Granting the permissions failed after the role was created; it was undone, as far as
    /// IAM let it.
    #[error("{cause}; {}", undo_outcome(.undo_failures))]
    NotGranted {
        cause: IamError,
        undo_failures: Vec<IamError>,
    },
}

fn undo_outcome(failures: &[IamError]) -> String {
    if failures.is_empty() {
        return "the role was deleted again".to_string();
    }
    let failures: Vec<String> = failures.iter().map(IamError::to_string).collect();
    format!("undoing it failed too: {}", failures.join("; "))
}

/// Why the CloudTrail evidence of a user's keys could not be read.
#[derive(Debug, thiserror::Error)]
pub enum TrailError {
    #[error(transparent)]
    Iam(#[from] IamError),
    #[error(transparent)]
    CloudTrail(#[from] CloudTrailError),
}

/// What a user's access keys called, from CloudTrail, and what of it could not be read.
pub struct TrailCalls {
    pub calls: Vec<ObservedCalls>,
    /// A region that failed or was cut short, one line each.
    pub warnings: Vec<String>,
}

/// A permission added to a just-created role, to remove again if the role is undone.
enum Added {
    Managed(String),
    Inline(String),
}

/// The IAM client of the executor.
pub struct IamApply {
    client: Client,
}

impl IamApply {
    /// A client from the standard chain.
    pub async fn connect() -> Self {
        Self {
            client: Client::new(&aws_config().await),
        }
    }

    /// What IAM holds for the plan, and what must change. Refuses credentials of another
    /// account (their provider for the issuer is not the plan's).
    pub async fn observe<'p>(&self, plan: &'p TrustPlan) -> Result<Changes<'p>, IamError> {
        let client = &self.client;
        let wanted = plan.issuer.provider_arn(&plan.account);
        let suffix = format!(":oidc-provider/{}", plan.issuer.host_path());
        let listed = client
            .list_open_id_connect_providers()
            .send()
            .await
            .map_err(|e| classify_step("ListOpenIDConnectProviders", &e))?;
        let mut existing = None;
        for entry in listed.open_id_connect_provider_list() {
            let Some(arn) = entry.arn() else { continue };
            if !arn.ends_with(&suffix) {
                continue;
            }
            if arn != wanted {
                return Err(IamError::ProviderInOtherAccount {
                    found: arn.to_string(),
                    wanted,
                });
            }
            let found = client
                .get_open_id_connect_provider()
                .open_id_connect_provider_arn(arn)
                .send()
                .await
                .map_err(|e| classify_step("GetOpenIDConnectProvider", &e))?;
            existing = Some(ExistingProvider {
                arn: arn.to_string(),
                client_ids: found.client_id_list().to_vec(),
            });
        }
        let provider = reconcile::provider_change(plan, existing.as_ref());
        let mut roles = Vec::new();
        for role in &plan.roles {
            let change = match client.get_role().role_name(&role.name).send().await {
                Ok(out) => {
                    let trust = out
                        .role()
                        .and_then(|r| r.assume_role_policy_document())
                        .unwrap_or_default();
                    reconcile::role_change(role, Some(trust))
                }
                Err(e)
                    if e.as_service_error()
                        .is_some_and(|s| s.is_no_such_entity_exception()) =>
                {
                    RoleChange::Create
                }
                Err(e) => return Err(classify_step("GetRole", &e)),
            };
            roles.push((role, change));
        }
        Ok(Changes { provider, roles })
    }

    /// Creates or extends the provider; one created meanwhile by someone else is the goal.
    pub async fn apply_provider(&self, change: &ProviderChange) -> Result<(), IamError> {
        match change {
            ProviderChange::Unchanged { .. } => Ok(()),
            ProviderChange::Create { url, client_ids } => {
                // No thumbprint: AWS verifies GitHub's certificate with its trusted CA library.
                let created = self
                    .client
                    .create_open_id_connect_provider()
                    .url(url)
                    .set_client_id_list(Some(client_ids.clone()))
                    .send()
                    .await;
                match created {
                    Ok(_) => Ok(()),
                    // Created by someone else since we looked: one provider per account is the goal.
                    Err(e) if e.code() == Some("EntityAlreadyExists") => Ok(()),
                    Err(e) => Err(classify_step("CreateOpenIDConnectProvider", &e)),
                }
            }
            ProviderChange::AddClientIds { arn, client_ids } => {
                for id in client_ids {
                    self.client
                        .add_client_id_to_open_id_connect_provider()
                        .open_id_connect_provider_arn(arn)
                        .client_id(id)
                        .send()
                        .await
                        .map_err(|e| classify_step("AddClientIDToOpenIDConnectProvider", &e))?;
                }
                Ok(())
            }
        }
    }

    /// Creates one role with its permissions; on any failure everything added is removed and
    /// the role deleted again, so a role is either complete or absent.
    pub async fn create_role(
        &self,
        plan: &TrustPlan,
        role: &RoleSpec,
        permissions: &Permissions,
    ) -> Result<(), RoleNotCreated> {
        let trust = role.trust_policy.to_string();
        // Last line of defense: never send IAM a policy our validator rejects.
        validate_trust(&trust, &plan.issuer, &plan.account, plan.allow_org_wide)
            .map_err(RoleNotCreated::InvalidTrust)?;
        let tags = role
            .tags
            .iter()
            .map(|(k, v)| Tag::builder().key(k).value(v).build())
            .collect::<Result<Vec<_>, _>>()
            .map_err(RoleNotCreated::BadTag)?;
        self.client
            .create_role()
            .role_name(&role.name)
            .assume_role_policy_document(&trust)
            .description(format!("GitHub Actions OIDC role for {}", role.repo))
            .max_session_duration(3600)
            .set_tags(Some(tags))
            .send()
            .await
            .map_err(|e| RoleNotCreated::Refused(classify_step("CreateRole", &e)))?;
        let mut added = Vec::new();
        let Err(cause) = self.grant(&role.name, permissions, &mut added).await else {
            return Ok(());
        };
        Err(RoleNotCreated::NotGranted {
            cause,
            undo_failures: self.undo(&role.name, &added).await,
        })
    }

    /// Adds the permissions to a just-created role, recording what was added for an undo.
    async fn grant(
        &self,
        role: &str,
        permissions: &Permissions,
        added: &mut Vec<Added>,
    ) -> Result<(), IamError> {
        for (name, document) in &permissions.inline {
            with_propagation_retries("PutRolePolicy", || {
                self.client
                    .put_role_policy()
                    .role_name(role)
                    .policy_name(name)
                    .policy_document(document)
                    .send()
            })
            .await?;
            added.push(Added::Inline(name.clone()));
        }
        for arn in &permissions.managed {
            with_propagation_retries("AttachRolePolicy", || {
                self.client
                    .attach_role_policy()
                    .role_name(role)
                    .policy_arn(arn)
                    .send()
            })
            .await?;
            added.push(Added::Managed(arn.clone()));
        }
        Ok(())
    }

    /// Removes what [`Self::grant`] added, then the role; what failed. The role is deleted
    /// only when everything came off (IAM refuses to delete a role with policies).
    async fn undo(&self, role: &str, added: &[Added]) -> Vec<IamError> {
        let mut failures = Vec::new();
        for item in added {
            let undone = match item {
                Added::Managed(arn) => self
                    .client
                    .detach_role_policy()
                    .role_name(role)
                    .policy_arn(arn)
                    .send()
                    .await
                    .map(|_| ())
                    .map_err(|e| classify_step("DetachRolePolicy", &e)),
                Added::Inline(name) => self
                    .client
                    .delete_role_policy()
                    .role_name(role)
                    .policy_name(name)
                    .send()
                    .await
                    .map(|_| ())
                    .map_err(|e| classify_step("DeleteRolePolicy", &e)),
            };
            failures.extend(undone.err());
        }
        if failures.is_empty()
            && let Err(e) = self.client.delete_role().role_name(role).send().await
        {
            failures.push(classify_step("DeleteRole", &e));
        }
        failures
    }

    /// The user's attached managed policies, inline policies, and the policies of its groups
    /// (where users usually get their permissions). Fails on an unknown user before any change.
    pub async fn user_permissions(&self, user: &str) -> Result<Permissions, IamError> {
        let client = &self.client;
        let own = IamUsers::new(client)
            .permissions(user)
            .await?
            .ok_or_else(|| IamError::NoSuchUser {
                user: user.to_string(),
            })?;
        let mut permissions = Permissions {
            managed: own.managed,
            inline: own
                .inline
                .into_iter()
                .map(|p| (inline_name(&["from-user", user, &p.name]), p.document))
                .collect(),
        };
        for group in &own.groups {
            let attached = client
                .list_attached_group_policies()
                .group_name(group)
                .max_items(1000)
                .send()
                .await
                .map_err(|e| classify_step("ListAttachedGroupPolicies", &e))?;
            permissions.managed.extend(
                attached
                    .attached_policies()
                    .iter()
                    .filter_map(|p| p.policy_arn().map(str::to_string)),
            );
            let inline = client
                .list_group_policies()
                .group_name(group)
                .max_items(1000)
                .send()
                .await
                .map_err(|e| classify_step("ListGroupPolicies", &e))?;
            for name in inline.policy_names() {
                let policy = client
                    .get_group_policy()
                    .group_name(group)
                    .policy_name(name)
                    .send()
                    .await
                    .map_err(|e| classify_step("GetGroupPolicy", &e))?;
                permissions.inline.push((
                    inline_name(&["from-group", group, name]),
                    decode_policy_document(policy.policy_document()),
                ));
            }
        }
        permissions.managed.sort();
        permissions.managed.dedup();
        Ok(permissions)
    }

    /// The policy documents behind the permissions: inline ones as read, managed ones
    /// through their default version.
    pub async fn policy_documents(
        &self,
        permissions: &Permissions,
    ) -> Result<Vec<Value>, IamError> {
        let parse = |text: &str| {
            serde_json::from_str::<Value>(&decode_policy_document(text))
                .map_err(IamError::PolicyNotJson)
        };
        let mut out = Vec::new();
        for (_, document) in &permissions.inline {
            out.push(parse(document)?);
        }
        for arn in &permissions.managed {
            let policy = self
                .client
                .get_policy()
                .policy_arn(arn)
                .send()
                .await
                .map_err(|e| classify_step("GetPolicy", &e))?;
            let version = policy
                .policy()
                .and_then(|p| p.default_version_id())
                .ok_or_else(|| IamError::NoDefaultVersion { arn: arn.clone() })?;
            let document = self
                .client
                .get_policy_version()
                .policy_arn(arn)
                .version_id(version)
                .send()
                .await
                .map_err(|e| classify_step("GetPolicyVersion", &e))?;
            let text = document
                .policy_version()
                .and_then(|v| v.document())
                .ok_or_else(|| IamError::NoPolicyDocument {
                    arn: arn.clone(),
                    version: version.to_string(),
                })?;
            out.push(parse(text)?);
        }
        Ok(out)
    }

    /// What the user's access keys called, from CloudTrail (90 days, `regions` or every
    /// enabled one).
    pub async fn trail_calls(
        &self,
        user: &str,
        regions: &[String],
    ) -> Result<TrailCalls, TrailError> {
        let keys = self
            .client
            .list_access_keys()
            .user_name(user)
            .send()
            .await
            .map_err(|e| classify_step("ListAccessKeys", &e))?;
        let trail = CloudTrail::connect(regions).await?;
        let since = crate::campaign::time::now() - crate::cloudtrail::DAYS * 86_400;
        let mut events = Vec::new();
        let mut warnings = Vec::new();
        for key in keys.access_key_metadata() {
            let Some(id) = key.access_key_id() else {
                continue;
            };
            let history = trail.key_events(id, since).await;
            for (region, error) in &history.failed {
                warnings.push(format!("CloudTrail in {region}: {error}"));
            }
            for region in &history.truncated {
                warnings.push(format!(
                    "CloudTrail in {region}: only the newest {} events of {} were read",
                    crate::cloudtrail::MAX_PAGES * 50,
                    crate::detect::aws_key_literal::mask_key_id(id)
                ));
            }
            events.extend(history.events);
        }
        Ok(TrailCalls {
            calls: evidence::observed_calls(&events),
            warnings,
        })
    }

    /// IAM's service-last-accessed data for the user, with action-level detail where IAM
    /// tracks it (`GenerateServiceLastAccessedDetails`, then `GetServiceLastAccessedDetails`
    /// until done).
    pub async fn last_accessed(&self, user: &str) -> Result<Vec<ServiceUse>, IamError> {
        use aws_sdk_iam::types::{AccessAdvisorUsageGranularityType, JobStatusType};
        let client = &self.client;
        let arn = client
            .get_user()
            .user_name(user)
            .send()
            .await
            .map_err(|e| classify_step("GetUser", &e))?
            .user()
            .map(|u| u.arn().to_string())
            .ok_or_else(|| IamError::UserWithoutArn {
                user: user.to_string(),
            })?;
        let job = client
            .generate_service_last_accessed_details()
            .arn(&arn)
            .granularity(AccessAdvisorUsageGranularityType::ActionLevel)
            .send()
            .await
            .map_err(|e| classify_step("GenerateServiceLastAccessedDetails", &e))?
            .job_id()
            .map(str::to_string)
            .ok_or(IamError::NoLastAccessedJob)?;
        let time = |t: Option<&aws_sdk_iam::primitives::DateTime>| {
            t.and_then(|t| {
                t.fmt(aws_sdk_iam::primitives::DateTimeFormat::DateTime)
                    .ok()
            })
        };
        for _ in 0..60 {
            let details = client
                .get_service_last_accessed_details()
                .job_id(&job)
                .send()
                .await
                .map_err(|e| classify_step("GetServiceLastAccessedDetails", &e))?;
            match details.job_status() {
                JobStatusType::Completed => {
                    return Ok(details
                        .services_last_accessed()
                        .iter()
                        .map(|s| ServiceUse {
                            namespace: s.service_namespace().to_string(),
                            last_authenticated: time(s.last_authenticated()),
                            actions: s
                                .tracked_actions_last_accessed()
                                .iter()
                                .map(|a| {
                                    (
                                        a.action_name().unwrap_or_default().to_string(),
                                        time(a.last_accessed_time()),
                                    )
                                })
                                .collect(),
                        })
                        .collect());
                }
                JobStatusType::Failed => {
                    return Err(IamError::LastAccessedFailed {
                        user: user.to_string(),
                    });
                }
                _ => tokio::time::sleep(Duration::from_millis(500)).await,
            }
        }
        Err(IamError::LastAccessedTimedOut {
            user: user.to_string(),
        })
    }
}

/// Runs an IAM call on a just-created role, retrying while IAM does not see the role yet
/// (eventual consistency): five retries, from half a second, doubling.
async fn with_propagation_retries<T, E, F, Fut>(action: &str, mut call: F) -> Result<T, IamError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, E>>,
    E: ProvideErrorMetadata + std::error::Error,
{
    let mut delay = Duration::from_millis(500);
    for _ in 0..5 {
        match call().await {
            Ok(value) => return Ok(value),
            Err(e) if is_no_such_entity(&e) => {
                tokio::time::sleep(delay).await;
                delay *= 2;
            }
            Err(e) => return Err(classify_step(action, &e)),
        }
    }
    call().await.map_err(|e| classify_step(action, &e))
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use serde_json::json;

    use super::*;

    fn role(permissions: PermissionSource, policy: Value) -> RoleSpec {
        RoleSpec {
            arn: "arn:aws:iam::123456789012:role/gha-app".into(),
            audiences: vec!["sts.amazonaws.com".into()],
            copied: None,
            environment: None,
            inferred: None,
            jobs: Vec::new(),
            name: "gha-app".into(),
            permission_policy: policy,
            permissions,
            repo: "octo-org/app".into(),
            secrets: Vec::new(),
            stage: String::new(),
            subs: Vec::new(),
            tags: BTreeMap::new(),
            trust_policy: json!({}),
        }
    }

    fn user_permissions() -> Permissions {
        Permissions {
            managed: vec!["arn:aws:iam::aws:policy/ReadOnlyAccess".into()],
            inline: vec![("from-user-ci-upload".into(), r#"{"Statement":[]}"#.into())],
        }
    }

    #[test]
    fn an_inferred_role_gets_its_policy_bounded_when_read_and_the_placeholder_when_empty() {
        let policy =
            json!({"Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]});
        let inferred = role(PermissionSource::Inferred, policy.clone());
        let own = Permissions::for_role(&inferred, Some(&user_permissions()), None);
        assert_eq!(
            own.inline,
            vec![(INFERRED_POLICY_NAME.to_string(), policy.to_string())]
        );
        assert!(own.managed.is_empty());
        let bounded = json!({"Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/*"}]});
        let got = Permissions::for_role(&inferred, None, Some(&bounded));
        assert_eq!(got.inline[0].1, bounded.to_string());
        let nothing_left = Permissions::for_role(&inferred, None, Some(&json!({"Statement": []})));
        assert_eq!(nothing_left.inline[0].0, PLACEHOLDER_POLICY_NAME);
    }

    #[test]
    fn the_users_permissions_go_to_copied_and_placeholder_roles_when_read() {
        let copied = user_permissions();
        for source in [PermissionSource::Copied, PermissionSource::Placeholder] {
            let spec = role(source, json!({"Statement": [{"Sid": "Todo"}]}));
            let got = Permissions::for_role(&spec, Some(&copied), None);
            assert_eq!(got.managed, copied.managed);
            let without = Permissions::for_role(&spec, None, None);
            assert_eq!(without.inline[0].0, PLACEHOLDER_POLICY_NAME);
            assert!(without.managed.is_empty());
        }
    }

    #[test]
    fn inline_names_keep_to_what_iam_accepts() {
        assert_eq!(
            inline_name(&["from-group", "deploy ers", "s3/upload"]),
            "from-group-deploy-ers-s3-upload"
        );
        assert_eq!(inline_name(&["x".repeat(200).as_str()]).len(), 128);
    }

    #[test]
    fn a_failed_grant_says_whether_the_role_was_undone() {
        let cause = || IamError::StepFailed {
            action: "PutRolePolicy".into(),
            code: "LimitExceeded".into(),
            message: "too big".into(),
        };
        let undone = RoleNotCreated::NotGranted {
            cause: cause(),
            undo_failures: Vec::new(),
        };
        assert_eq!(
            undone.to_string(),
            "iam:PutRolePolicy failed: LimitExceeded: too big; the role was deleted again"
        );
        let stuck = RoleNotCreated::NotGranted {
            cause: cause(),
            undo_failures: vec![
                IamError::StepUnanswered {
                    action: "DeleteRolePolicy".into(),
                    cause: "timeout".into(),
                },
                IamError::StepUnanswered {
                    action: "DetachRolePolicy".into(),
                    cause: "timeout".into(),
                },
            ],
        };
        assert_eq!(
            stuck.to_string(),
            "iam:PutRolePolicy failed: LimitExceeded: too big; undoing it failed too: iam:DeleteRolePolicy failed before IAM answered: timeout; iam:DetachRolePolicy failed before IAM answered: timeout"
        );
    }
}
