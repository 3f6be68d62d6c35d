//! IAM users (effects, for `cleanup --delete-users`): read everything that keeps a user
//! (access keys, login profile, MFA devices, SSH public keys, signing certificates,
//! service-specific credentials) and everything that would be lost with it (path, permissions
//! boundary, tags, managed and inline policies, groups); delete one by detaching its policies,
//! leaving its groups, then `DeleteUser`, each step idempotent so a killed run can resume.

use aws_sdk_iam::Client;
use aws_sdk_iam::error::ProvideErrorMetadata;

use crate::campaign::cleanup::{InlinePolicy, Tag, UserFacts, UserRecord};
use crate::iam::{IamError, Outcome, classify, is_no_such_entity};
use crate::trust::reconcile::decode_policy_document;

/// What a user holds in IAM's permission system, as [`IamUsers::permissions`] reads it.
pub struct UserPermissions {
    /// Attached managed policy ARNs.
    pub managed: Vec<String>,
    pub inline: Vec<InlinePolicy>,
    pub groups: Vec<String>,
}

pub struct IamUsers<'a> {
    client: &'a Client,
}

impl<'a> IamUsers<'a> {
    pub(crate) fn new(client: &'a Client) -> Self {
        Self { client }
    }

    /// Whether the user exists.
    pub async fn exists(&self, user: &str) -> Result<bool, IamError> {
        match self.client.get_user().user_name(user).send().await {
            Ok(_) => Ok(true),
            Err(e) if is_no_such_entity(&e) => Ok(false),
            Err(e) => Err(classify("GetUser", &subject(user), &e)),
        }
    }

    /// Everything IAM holds for `user`; `None` when it does not exist.
    pub async fn facts(&self, user: &str) -> Result<Option<UserFacts>, IamError> {
        let c = self.client;
        let who = subject(user);
        let got = match c.get_user().user_name(user).send().await {
            Ok(got) => got,
            Err(e) if is_no_such_entity(&e) => return Ok(None),
            Err(e) => return Err(classify("GetUser", &who, &e)),
        };
        let found = got.user();
        let access_keys = c
            .list_access_keys()
            .user_name(user)
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .map_err(|e| classify("ListAccessKeys", &who, &e))?
            .into_iter()
            .filter_map(|k| k.access_key_id().map(str::to_string))
            .collect();
        let login_profile = match c.get_login_profile().user_name(user).send().await {
            Ok(_) => true,
            Err(e) if is_no_such_entity(&e) => false,
            Err(e) => return Err(classify("GetLoginProfile", &who, &e)),
        };
        let mfa_devices = c
            .list_mfa_devices()
            .user_name(user)
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .map_err(|e| classify("ListMFADevices", &who, &e))?
            .len();
        let ssh_public_keys = c
            .list_ssh_public_keys()
            .user_name(user)
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .map_err(|e| classify("ListSSHPublicKeys", &who, &e))?
            .len();
        let signing_certificates = c
            .list_signing_certificates()
            .user_name(user)
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .map_err(|e| classify("ListSigningCertificates", &who, &e))?
            .len();
        let service_credentials = c
            .list_service_specific_credentials()
            .user_name(user)
            .send()
            .await
            .map_err(|e| classify("ListServiceSpecificCredentials", &who, &e))?
            .service_specific_credentials()
            .len();

        let Some(UserPermissions {
            managed: managed_policies,
            inline: inline_policies,
            groups,
        }) = self.permissions(user).await?
        else {
            return Ok(None);
        };
        let tags = c
            .list_user_tags()
            .user_name(user)
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .map_err(|e| classify("ListUserTags", &who, &e))?
            .into_iter()
            .map(|t| Tag {
                key: t.key().to_string(),
                value: t.value().to_string(),
            })
            .collect();

        Ok(Some(UserFacts {
            record: UserRecord {
                user: user.to_string(),
                path: found.map_or("/", |u| u.path()).to_string(),
                permissions_boundary: found
                    .and_then(|u| u.permissions_boundary())
                    .and_then(|b| b.permissions_boundary_arn())
                    .map(str::to_string),
                tags,
                managed_policies,
                inline_policies,
                groups,
            },
            access_keys,
            login_profile,
            mfa_devices,
            ssh_public_keys,
            signing_certificates,
            service_credentials,
        }))
    }

    /// The user's own permissions: attached managed policies, inline policies (documents
    /// decoded) and groups. `None` when the user does not exist. `cleanup --delete-users`
    /// records them; `trust --copy-permissions-from` copies them.
    pub async fn permissions(&self, user: &str) -> Result<Option<UserPermissions>, IamError> {
        let c = self.client;
        let who = subject(user);
        let managed = match c
            .list_attached_user_policies()
            .user_name(user)
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
        {
            Ok(policies) => policies
                .into_iter()
                .filter_map(|p| p.policy_arn().map(str::to_string))
                .collect(),
            Err(e) if is_no_such_entity(&e) => return Ok(None),
            Err(e) => return Err(classify("ListAttachedUserPolicies", &who, &e)),
        };
        let names: Vec<String> = c
            .list_user_policies()
            .user_name(user)
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .map_err(|e| classify("ListUserPolicies", &who, &e))?;
        let mut inline = Vec::new();
        for name in names {
            let policy = c
                .get_user_policy()
                .user_name(user)
                .policy_name(&name)
                .send()
                .await
                .map_err(|e| classify("GetUserPolicy", &who, &e))?;
            inline.push(InlinePolicy {
                // `GetUserPolicy` returns the document URL-encoded (RFC 3986).
                document: decode_policy_document(policy.policy_document()),
                name,
            });
        }
        let groups = c
            .list_groups_for_user()
            .user_name(user)
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .map_err(|e| classify("ListGroupsForUser", &who, &e))?
            .into_iter()
            .map(|g| g.group_name().to_string())
            .collect();
        Ok(Some(UserPermissions {
            managed,
            inline,
            groups,
        }))
    }

    /// Detaches every managed policy of `record`, deletes its inline policies, takes the user
    /// out of its groups, then deletes it. Each step finding its goal already reached
    /// (`NoSuchEntity`) counts as done, so a run killed half way resumes from the top.
    /// `AlreadyThere`: the user was gone before.
    pub async fn delete(&self, record: &UserRecord) -> Result<Outcome, IamError> {
        let c = self.client;
        let user = record.user.as_str();
        let who = subject(user);
        for arn in &record.managed_policies {
            let r = c
                .detach_user_policy()
                .user_name(user)
                .policy_arn(arn)
                .send()
                .await;
            gone_is_done(r, "DetachUserPolicy", &who)?;
        }
        for p in &record.inline_policies {
            let r = c
                .delete_user_policy()
                .user_name(user)
                .policy_name(&p.name)
                .send()
                .await;
            gone_is_done(r, "DeleteUserPolicy", &who)?;
        }
        for group in &record.groups {
            let r = c
                .remove_user_from_group()
                .user_name(user)
                .group_name(group)
                .send()
                .await;
            gone_is_done(r, "RemoveUserFromGroup", &who)?;
        }
        match c.delete_user().user_name(user).send().await {
            Ok(_) => Ok(Outcome::Changed),
            Err(e) if is_no_such_entity(&e) => Ok(Outcome::AlreadyThere),
            Err(e) => Err(classify("DeleteUser", &who, &e)),
        }
    }
}

fn subject(user: &str) -> String {
    format!("user {user}")
}

/// A step whose target is already gone (`NoSuchEntity`) is done.
fn gone_is_done<T, E>(result: Result<T, E>, action: &str, who: &str) -> Result<(), IamError>
where
    E: ProvideErrorMetadata + std::error::Error,
{
    match result {
        Ok(_) => Ok(()),
        Err(e) if is_no_such_entity(&e) => Ok(()),
        Err(e) => Err(classify(action, who, &e)),
    }
}
