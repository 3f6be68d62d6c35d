//! `migrate trust --apply`: create or extend the provider and create the roles of a trust plan
//! with aws-sdk-iam through the standard credential chain. Shows the changes first and asks
//! (or needs `--yes`); idempotent; all-or-nothing per role. What to change is decided by the
//! pure [`crate::trust::reconcile`]; this module only talks to IAM.

use std::io::{BufRead, IsTerminal, Write};
use std::time::Duration;

use aws_sdk_iam::Client;
use aws_sdk_iam::error::ProvideErrorMetadata;
use aws_sdk_iam::types::Tag;

use std::collections::BTreeMap;

use serde_json::Value;

use crate::trust::evidence;
use crate::trust::permissions::{self, CopiedPermissions, CopiedPolicy, PermissionSource};
use crate::trust::plan::{RoleSpec, TrustPlan};
use crate::trust::policy::{INFERRED_POLICY_NAME, PLACEHOLDER_POLICY_NAME, validate_trust};
use crate::trust::reconcile::{self, ExistingProvider, ProviderChange, RoleChange};

/// The inline policy every created role gets until someone writes the real one.

#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    #[error("cannot start the AWS client runtime: {0}")]
    Runtime(std::io::Error),
    #[error("{0}")]
    Iam(String),
    #[error("refusing to change IAM without confirmation: stdin is not a terminal, pass --yes")]
    NotConfirmed,
    #[error("cancelled: nothing was changed")]
    Cancelled,
    #[error("{failed} of {total} roles were not applied (see above)")]
    SomeRolesFailed { failed: usize, total: usize },
}

/// An IAM error as the executor's messages say it (the caller names the role or provider).
fn iam_error<E>(action: &str, err: &E) -> String
where
    E: ProvideErrorMetadata + std::error::Error,
{
    crate::iam::classify_step(action, err).to_string()
}

/// What IAM holds now, and what must change.
struct Changes<'p> {
    provider: ProviderChange,
    roles: Vec<(&'p RoleSpec, RoleChange)>,
}

async fn observe<'p>(client: &Client, plan: &'p TrustPlan) -> Result<Changes<'p>, String> {
    let wanted_arn = plan.issuer.provider_arn(&plan.account);
    let suffix = format!(":oidc-provider/{}", plan.issuer.host_path());
    let listed = client
        .list_open_id_connect_providers()
        .send()
        .await
        .map_err(|e| iam_error("ListOpenIDConnectProviders", &e))?;
    let mut existing = None;
    for entry in listed.open_id_connect_provider_list() {
        let Some(arn) = entry.arn() else { continue };
        if !arn.ends_with(&suffix) {
            continue;
        }
        if arn != wanted_arn {
            return Err(format!(
                "the credentials reach the provider {arn}, not {wanted_arn}: is --account-id the account of these credentials?"
            ));
        }
        let found = client
            .get_open_id_connect_provider()
            .open_id_connect_provider_arn(arn)
            .send()
            .await
            .map_err(|e| iam_error("GetOpenIDConnectProvider", &e))?;
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
            Err(e) => return Err(iam_error("GetRole", &e)),
        };
        roles.push((role, change));
    }
    Ok(Changes { provider, roles })
}

fn describe(changes: &Changes<'_>) -> Vec<String> {
    let mut lines = Vec::new();
    match &changes.provider {
        ProviderChange::Create { url, client_ids } => lines.push(format!(
            "create OIDC provider {url} (client ids: {})",
            client_ids.join(", ")
        )),
        ProviderChange::AddClientIds { arn, client_ids } => {
            lines.push(format!("add client ids {} to {arn}", client_ids.join(", ")))
        }
        ProviderChange::Unchanged { arn } => lines.push(format!("unchanged: provider {arn}")),
    }
    for (role, change) in &changes.roles {
        match change {
            RoleChange::Create => lines.push(format!(
                "create role {} for {} (trusts {})",
                role.name,
                role.repo,
                role.subs.join(", ")
            )),
            RoleChange::Unchanged => lines.push(format!("unchanged: role {}", role.name)),
            RoleChange::Conflict { existing } => lines.push(format!(
                "conflict: role {} exists with a different trust policy; it will not be changed\n  existing: {}\n  wanted:   {}",
                role.name, existing, role.trust_policy
            )),
        }
    }
    lines
}

fn has_work(changes: &Changes<'_>) -> bool {
    !matches!(changes.provider, ProviderChange::Unchanged { .. })
        || changes
            .roles
            .iter()
            .any(|(_, c)| matches!(c, RoleChange::Create))
}

/// Retries a call that may fail while IAM propagates a just-created role (eventual consistency).
async fn with_propagation_retries<T, F, Fut>(mut call: F) -> Result<T, String>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, (bool, String)>>,
{
    let mut delay = Duration::from_millis(500);
    for _ in 0..5 {
        match call().await {
            Ok(value) => return Ok(value),
            Err((true, _)) => {
                tokio::time::sleep(delay).await;
                delay *= 2;
            }
            Err((false, message)) => return Err(message),
        }
    }
    call().await.map_err(|(_, message)| message)
}

async fn apply_provider(client: &Client, change: &ProviderChange) -> Result<(), String> {
    match change {
        ProviderChange::Unchanged { .. } => Ok(()),
        ProviderChange::Create { url, client_ids } => {
            // No thumbprint: AWS verifies GitHub's certificate with its trusted CA library.
            let created = client
                .create_open_id_connect_provider()
                .url(url)
                .set_client_id_list(Some(client_ids.clone()))
                .send()
                .await;
            match created {
                Ok(_) => Ok(()),
                // Created by someone else since we looked: one provider per account is the goal.
                Err(e) if e.code() == Some("EntityAlreadyExists") => Ok(()),
                Err(e) => Err(iam_error("CreateOpenIDConnectProvider", &e)),
            }
        }
        ProviderChange::AddClientIds { arn, client_ids } => {
            for id in client_ids {
                client
                    .add_client_id_to_open_id_connect_provider()
                    .open_id_connect_provider_arn(arn)
                    .client_id(id)
                    .send()
                    .await
                    .map_err(|e| iam_error("AddClientIDToOpenIDConnectProvider", &e))?;
            }
            Ok(())
        }
    }
}

/// The permissions a created role gets: the placeholder, or what an IAM user had.
#[derive(Debug, Clone, Default)]
pub struct Permissions {
    /// Managed policy ARNs to attach.
    pub managed: Vec<String>,
    /// Inline policies: (name, decoded JSON document).
    pub inline: Vec<(String, String)>,
}

impl Permissions {
    /// What `trust --permissions` chose for the role: the inferred policy, the user's
    /// permissions (when --copy-permissions-from read them), or the placeholder.
    fn for_role(role: &RoleSpec, copied: Option<&Self>, bounded: Option<&Value>) -> Self {
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
}

/// An inline policy name IAM accepts (`[\w+=,.@-]`, at most 128 characters).
fn inline_name(parts: &[&str]) -> String {
    let name: String = parts
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
        .collect();
    name
}

/// The policy documents behind the user's permissions: inline ones as read, managed ones
/// through their default version.
async fn policy_documents(
    client: &Client,
    permissions: &Permissions,
) -> Result<Vec<Value>, String> {
    let parse = |text: &str| {
        serde_json::from_str::<Value>(&crate::trust::reconcile::decode_policy_document(text))
            .map_err(|e| format!("a policy document IAM returned is not JSON: {e}"))
    };
    let mut out = Vec::new();
    for (_, document) in &permissions.inline {
        out.push(parse(document)?);
    }
    for arn in &permissions.managed {
        let policy = client
            .get_policy()
            .policy_arn(arn)
            .send()
            .await
            .map_err(|e| iam_error("GetPolicy", &e))?;
        let version = policy
            .policy()
            .and_then(|p| p.default_version_id())
            .ok_or_else(|| format!("{arn} has no default version"))?;
        let document = client
            .get_policy_version()
            .policy_arn(arn)
            .version_id(version)
            .send()
            .await
            .map_err(|e| iam_error("GetPolicyVersion", &e))?;
        let text = document
            .policy_version()
            .and_then(|v| v.document())
            .ok_or_else(|| format!("{arn} version {version} has no document"))?;
        out.push(parse(text)?);
    }
    Ok(out)
}

/// The user's permissions (and the documents behind them, for bounding inferred policies),
/// read from IAM for the emitters: `trust --copy-permissions-from USER` without `--apply`.
/// Also prints the evidence tables of the plan's inferred roles (`trail`: `--evidence cloudtrail`).
pub fn read_copied(
    plan: &TrustPlan,
    user: &str,
    trail: Option<&[String]>,
) -> Result<(CopiedPermissions, Vec<Value>), ApplyError> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(ApplyError::Runtime)?;
    runtime.block_on(async {
        let client = client().await;
        let permissions = read_user_permissions(&client, user)
            .await
            .map_err(ApplyError::Iam)?;
        let documents = policy_documents(&client, &permissions)
            .await
            .map_err(ApplyError::Iam)?;
        if plan
            .roles
            .iter()
            .any(|r| r.permissions == PermissionSource::Inferred)
        {
            print_evidence(&client, plan, user, &documents, trail).await;
        }
        let inline = permissions
            .inline
            .iter()
            .map(|(name, text)| {
                serde_json::from_str(&reconcile::decode_policy_document(text))
                    .map(|document| CopiedPolicy {
                        name: name.clone(),
                        document,
                    })
                    .map_err(|e| {
                        ApplyError::Iam(format!(
                            "inline policy {name} of IAM user {user} is not JSON: {e}"
                        ))
                    })
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok((
            CopiedPermissions {
                user: user.to_string(),
                managed: permissions.managed,
                inline,
            },
            documents,
        ))
    })
}

/// An IAM client on the standard chain.
async fn client() -> Client {
    Client::new(&crate::iam::aws_config().await)
}

/// Inferred policies bounded by the user's own (role name → document); prints what was dropped.
pub fn bounded_policies(
    plan: &TrustPlan,
    user: &str,
    documents: &[Value],
) -> BTreeMap<String, Value> {
    let mut out = BTreeMap::new();
    for bounded in permissions::bounded_policies(plan, user, documents) {
        for message in &bounded.dropped {
            eprintln!("warning: role {}: {message}", bounded.role);
        }
        if bounded.dropped.is_empty() {
            eprintln!(
                "role {}: every inferred permission is within IAM user {user}'s",
                bounded.role
            );
        }
        out.insert(bounded.role, bounded.document);
    }
    out
}

/// The inferred / observed / granted table of every inferred role on stderr: IAM's last
/// accessed data, and with `trail` the keys' CloudTrail calls. Evidence only: when it cannot
/// be read a warning says so and nothing else changes.
async fn print_evidence(
    client: &Client,
    plan: &TrustPlan,
    user: &str,
    documents: &[Value],
    trail: Option<&[String]>,
) {
    let calls = match trail {
        Some(regions) => match trail_calls(client, user, regions).await {
            Ok(calls) => Some(calls),
            Err(message) => {
                eprintln!("warning: no CloudTrail evidence for IAM user {user}: {message}");
                None
            }
        },
        None => None,
    };
    let uses = match last_accessed(client, user).await {
        Ok(uses) => uses,
        Err(message) => {
            eprintln!("warning: no evidence of real use for IAM user {user}: {message}");
            return;
        }
    };
    for role in plan
        .roles
        .iter()
        .filter(|r| r.permissions == PermissionSource::Inferred)
    {
        if let Some(inferred) = &role.inferred {
            eprintln!(
                "role {}: inferred / observed / granted to IAM user {user}:",
                role.name
            );
            for line in evidence::table(&inferred.statements, &uses, calls.as_deref(), documents) {
                eprintln!("{line}");
            }
        }
    }
}

/// What the user's access keys called, from CloudTrail (90 days, `regions` or every enabled one).
async fn trail_calls(
    client: &Client,
    user: &str,
    regions: &[String],
) -> Result<Vec<evidence::ObservedCalls>, String> {
    let keys = client
        .list_access_keys()
        .user_name(user)
        .send()
        .await
        .map_err(|e| iam_error("ListAccessKeys", &e))?;
    let trail = crate::cloudtrail::CloudTrail::connect(regions)
        .await
        .map_err(|e| e.to_string())?;
    let since = crate::campaign::time::now() - crate::cloudtrail::DAYS * 86_400;
    let mut events = Vec::new();
    for key in keys.access_key_metadata() {
        let Some(id) = key.access_key_id() else {
            continue;
        };
        let history = trail.key_events(id, since).await;
        for (region, error) in &history.failed {
            eprintln!("warning: CloudTrail in {region}: {error}");
        }
        for region in &history.truncated {
            eprintln!(
                "warning: CloudTrail in {region}: only the newest {} events of {} were read",
                crate::cloudtrail::MAX_PAGES * 50,
                crate::detect::aws_key_literal::mask_key_id(id)
            );
        }
        events.extend(history.events);
    }
    Ok(evidence::observed_calls(&events))
}

/// IAM's service-last-accessed data for the user, with action-level detail where IAM tracks it
/// (`GenerateServiceLastAccessedDetails`, then `GetServiceLastAccessedDetails` until done).
async fn last_accessed(client: &Client, user: &str) -> Result<Vec<evidence::ServiceUse>, String> {
    use aws_sdk_iam::types::{AccessAdvisorUsageGranularityType, JobStatusType};
    let arn = client
        .get_user()
        .user_name(user)
        .send()
        .await
        .map_err(|e| iam_error("GetUser", &e))?
        .user()
        .map(|u| u.arn().to_string())
        .ok_or_else(|| format!("IAM user {user} has no ARN"))?;
    let job = client
        .generate_service_last_accessed_details()
        .arn(&arn)
        .granularity(AccessAdvisorUsageGranularityType::ActionLevel)
        .send()
        .await
        .map_err(|e| iam_error("GenerateServiceLastAccessedDetails", &e))?
        .job_id()
        .map(str::to_string)
        .ok_or("GenerateServiceLastAccessedDetails returned no job id")?;
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
            .map_err(|e| iam_error("GetServiceLastAccessedDetails", &e))?;
        match details.job_status() {
            JobStatusType::Completed => {
                return Ok(details
                    .services_last_accessed()
                    .iter()
                    .map(|s| evidence::ServiceUse {
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
                return Err(format!(
                    "IAM could not report the last use of {user}'s permissions"
                ));
            }
            _ => tokio::time::sleep(Duration::from_millis(500)).await,
        }
    }
    Err(format!(
        "IAM did not finish reporting the last use of {user}'s permissions within 30 s"
    ))
}

/// The user's attached managed policies, inline policies, and the policies of its groups
/// (where users usually get their permissions). Fails on an unknown user before any change.
async fn read_user_permissions(client: &Client, user: &str) -> Result<Permissions, String> {
    let own = crate::iam::users::IamUsers::new(client)
        .permissions(user)
        .await
        .map_err(|e| e.to_string())?
        .ok_or_else(|| format!("IAM user `{user}` does not exist (--copy-permissions-from)"))?;
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
            .map_err(|e| iam_error("ListAttachedGroupPolicies", &e))?;
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
            .map_err(|e| iam_error("ListGroupPolicies", &e))?;
        for name in inline.policy_names() {
            let policy = client
                .get_group_policy()
                .group_name(group)
                .policy_name(name)
                .send()
                .await
                .map_err(|e| iam_error("GetGroupPolicy", &e))?;
            permissions.inline.push((
                inline_name(&["from-group", group, name]),
                reconcile::decode_policy_document(policy.policy_document()),
            ));
        }
    }
    permissions.managed.sort();
    permissions.managed.dedup();
    Ok(permissions)
}

/// Whether an SDK error is IAM not yet seeing a role it just created (eventual consistency).
fn not_yet_visible<E: ProvideErrorMetadata>(err: &E) -> bool {
    crate::iam::is_no_such_entity(err)
}

/// Adds the permissions to a just-created role, recording what was added for a rollback.
async fn grant(
    client: &Client,
    role: &str,
    permissions: &Permissions,
    added: &mut Vec<Result<String, String>>,
) -> Result<(), String> {
    for (name, document) in &permissions.inline {
        with_propagation_retries(|| async {
            client
                .put_role_policy()
                .role_name(role)
                .policy_name(name)
                .policy_document(document)
                .send()
                .await
                .map_err(|e| (not_yet_visible(&e), iam_error("PutRolePolicy", &e)))
        })
        .await?;
        added.push(Err(name.clone()));
    }
    for arn in &permissions.managed {
        with_propagation_retries(|| async {
            client
                .attach_role_policy()
                .role_name(role)
                .policy_arn(arn)
                .send()
                .await
                .map_err(|e| (not_yet_visible(&e), iam_error("AttachRolePolicy", &e)))
        })
        .await?;
        added.push(Ok(arn.clone()));
    }
    Ok(())
}

/// Creates one role with its permissions; on any failure everything added is removed and
/// the role deleted again, so a role is either complete or absent.
async fn create_role(
    client: &Client,
    role: &RoleSpec,
    permissions: &Permissions,
) -> Result<(), String> {
    let trust = role.trust_policy.to_string();
    let tags = role
        .tags
        .iter()
        .map(|(k, v)| Tag::builder().key(k).value(v).build())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("bad tag: {e}"))?;
    client
        .create_role()
        .role_name(&role.name)
        .assume_role_policy_document(&trust)
        .description(format!("GitHub Actions OIDC role for {}", role.repo))
        .max_session_duration(3600)
        .set_tags(Some(tags))
        .send()
        .await
        .map_err(|e| iam_error("CreateRole", &e))?;
    // Ok(arn) = attached managed policy, Err(name) = inline policy.
    let mut added: Vec<Result<String, String>> = Vec::new();
    let Err(message) = grant(client, &role.name, permissions, &mut added).await else {
        return Ok(());
    };
    let mut undo_errors = Vec::new();
    for item in &added {
        let undone = match item {
            Ok(arn) => client
                .detach_role_policy()
                .role_name(&role.name)
                .policy_arn(arn)
                .send()
                .await
                .map(|_| ())
                .map_err(|e| iam_error("DetachRolePolicy", &e)),
            Err(name) => client
                .delete_role_policy()
                .role_name(&role.name)
                .policy_name(name)
                .send()
                .await
                .map(|_| ())
                .map_err(|e| iam_error("DeleteRolePolicy", &e)),
        };
        undo_errors.extend(undone.err());
    }
    if undo_errors.is_empty()
        && let Err(e) = client.delete_role().role_name(&role.name).send().await
    {
        undo_errors.push(iam_error("DeleteRole", &e));
    }
    let undone = if undo_errors.is_empty() {
        "the role was deleted again".to_string()
    } else {
        format!("undoing it failed too: {}", undo_errors.join("; "))
    };
    Err(format!("{message}; {undone}"))
}

fn confirm(yes: bool) -> Result<(), ApplyError> {
    if yes {
        return Ok(());
    }
    if !std::io::stdin().is_terminal() {
        return Err(ApplyError::NotConfirmed);
    }
    eprint!("Apply these changes? [y/N] ");
    std::io::stderr().flush().ok();
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer).ok();
    if matches!(answer.trim(), "y" | "Y" | "yes") {
        Ok(())
    } else {
        Err(ApplyError::Cancelled)
    }
}

async fn run_async(
    plan: &TrustPlan,
    yes: bool,
    copy_from: Option<&str>,
    trail: Option<&[String]>,
) -> Result<(), ApplyError> {
    let client = client().await;
    let changes = observe(&client, plan).await.map_err(ApplyError::Iam)?;
    let copied = match copy_from {
        Some(user) => Some(
            read_user_permissions(&client, user)
                .await
                .map_err(ApplyError::Iam)?,
        ),
        None => None,
    };
    if let (Some(user), Some(copied)) = (copy_from, &copied) {
        eprintln!(
            "roles with copied permissions get those of IAM user {user}, and inferred ones are bounded by them: managed [{}], inline [{}]",
            copied.managed.join(", "),
            copied
                .inline
                .iter()
                .map(|(name, _)| name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    let bounded = match (copy_from, &copied) {
        (Some(user), Some(copied))
            if plan
                .roles
                .iter()
                .any(|r| r.permissions == PermissionSource::Inferred) =>
        {
            let documents = policy_documents(&client, copied)
                .await
                .map_err(ApplyError::Iam)?;
            print_evidence(&client, plan, user, &documents, trail).await;
            bounded_policies(plan, user, &documents)
        }
        _ => BTreeMap::new(),
    };
    for line in describe(&changes) {
        eprintln!("{line}");
    }
    let conflicts = changes
        .roles
        .iter()
        .filter(|(_, c)| matches!(c, RoleChange::Conflict { .. }))
        .count();
    let mut report = Vec::new();
    if !has_work(&changes) {
        report.push("nothing to change: IAM already matches the plan".to_string());
    } else {
        confirm(yes)?;
        apply_provider(&client, &changes.provider)
            .await
            .map_err(ApplyError::Iam)?;
        match &changes.provider {
            ProviderChange::Create { url, .. } => report.push(format!("created provider {url}")),
            ProviderChange::AddClientIds { arn, client_ids } => {
                report.push(format!("added {} to {arn}", client_ids.join(", ")))
            }
            ProviderChange::Unchanged { .. } => {}
        }
    }
    let mut failed = conflicts;
    for (role, change) in &changes.roles {
        match change {
            RoleChange::Create if has_work(&changes) => {
                // Last line of defense: never send IAM a policy our validator rejects.
                let checked = validate_trust(
                    &role.trust_policy.to_string(),
                    &plan.issuer,
                    &plan.account,
                    plan.allow_org_wide,
                );
                match checked {
                    Err(reason) => {
                        eprintln!("error: role {}: {reason}", role.name);
                        failed += 1;
                    }
                    Ok(()) => match create_role(
                        &client,
                        role,
                        &Permissions::for_role(role, copied.as_ref(), bounded.get(&role.name)),
                    )
                    .await
                    {
                        Ok(()) => report.push(format!("created role {} ({})", role.name, role.arn)),
                        Err(message) => {
                            eprintln!("error: role {} not created: {message}", role.name);
                            failed += 1;
                        }
                    },
                }
            }
            RoleChange::Unchanged => report.push(format!("unchanged role {}", role.name)),
            _ => {}
        }
    }
    // The summary goes to stdout even when some roles failed: it says which succeeded.
    let mut summary = report.join("\n");
    summary.push('\n');
    super::print(&summary);
    if failed > 0 {
        return Err(ApplyError::SomeRolesFailed {
            failed,
            total: plan.roles.len(),
        });
    }
    Ok(())
}

/// Applies the plan, printing the changes on stderr and the summary on stdout.
/// `trail`: with `--evidence cloudtrail`, the regions to read (empty: every enabled region).
pub fn apply(
    plan: &TrustPlan,
    yes: bool,
    copy_from: Option<&str>,
    trail: Option<&[String]>,
) -> Result<(), ApplyError> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(ApplyError::Runtime)?;
    runtime.block_on(run_async(plan, yes, copy_from, trail))
}
