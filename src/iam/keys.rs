//! IAM access keys (effects, aws-sdk-iam through the standard credential chain): read status
//! and last use, deactivate, reactivate, delete; list users and tags for key-map suggestions.
//! Key ids appear in messages only masked. Deleting IAM users is [`crate::iam::users`].

use aws_sdk_iam::Client;
use aws_sdk_iam::types::StatusType;

use super::{IamError, Outcome, aws_config, classify, is_no_such_entity};

use crate::campaign::cleanup::KeyFacts;
use crate::campaign::key_status::KeyStatus;
use crate::detect::aws_key_literal::mask_key_id;

/// IAM lookups in flight at once: each is a round trip.
pub const IAM_CONCURRENCY: usize = 8;

pub struct IamKeys {
    client: Client,
}

impl IamKeys {
    pub(crate) fn client(&self) -> &Client {
        &self.client
    }

    /// The same client, for IAM users.
    pub fn users(&self) -> crate::iam::users::IamUsers<'_> {
        crate::iam::users::IamUsers::new(&self.client)
    }

    /// A client from the standard chain.
    pub async fn connect() -> Self {
        Self {
            client: Client::new(&aws_config().await),
        }
    }

    /// Every access key of `user`, with last use; none when the user does not exist.
    pub async fn user_keys(&self, user: &str) -> Result<Vec<KeyFacts>, IamError> {
        let mut ids = Vec::new();
        let mut marker = None;
        loop {
            let page = self
                .client
                .list_access_keys()
                .user_name(user)
                .set_marker(marker.take())
                .send()
                .await;
            let page = match page {
                Ok(page) => page,
                // A user this campaign deleted (or anyone did): no keys.
                Err(e) if is_no_such_entity(&e) => return Ok(Vec::new()),
                Err(e) => return Err(classify("ListAccessKeys", &format!("user {user}"), &e)),
            };
            for meta in page.access_key_metadata() {
                if let Some(id) = meta.access_key_id() {
                    ids.push((id.to_string(), status_of(meta.status())));
                }
            }
            if !page.is_truncated() {
                break;
            }
            marker = page.marker().map(str::to_string);
            if marker.is_none() {
                break;
            }
        }
        let mut out = Vec::new();
        for (id, status) in ids {
            let mut facts = self
                .last_used(&id)
                .await?
                .unwrap_or_else(|| missing(&id, user));
            facts.user = user.to_string();
            facts.status = status;
            out.push(facts);
        }
        Ok(out)
    }

    /// One key by id: its user, status and last use; `Missing` when IAM does not know it.
    pub async fn key(&self, id: &str) -> Result<KeyFacts, IamError> {
        let Some(mut facts) = self.last_used(id).await? else {
            return Ok(missing(id, ""));
        };
        let listed = self
            .client
            .list_access_keys()
            .user_name(&facts.user)
            .send()
            .await;
        match listed {
            Ok(page) => {
                facts.status = page
                    .access_key_metadata()
                    .iter()
                    .find(|m| m.access_key_id() == Some(id))
                    .map_or(KeyStatus::Missing, |m| status_of(m.status()));
            }
            Err(e) if is_no_such_entity(&e) => facts.status = KeyStatus::Missing,
            Err(e) => {
                return Err(classify(
                    "ListAccessKeys",
                    &format!("user {}", facts.user),
                    &e,
                ));
            }
        }
        Ok(facts)
    }

    /// Last use of a key, and its user; `None` when IAM does not know the key.
    async fn last_used(&self, id: &str) -> Result<Option<KeyFacts>, IamError> {
        let reply = match self
            .client
            .get_access_key_last_used()
            .access_key_id(id)
            .send()
            .await
        {
            Ok(reply) => reply,
            Err(e) if is_no_such_entity(&e) => return Ok(None),
            Err(e) => {
                return Err(classify(
                    "GetAccessKeyLastUsed",
                    &format!("key {}", mask_key_id(id)),
                    &e,
                ));
            }
        };
        let used = reply.access_key_last_used();
        // "N/A" means never used since IAM began tracking (2015-04-22).
        let known = |s: &str| (!s.is_empty() && s != "N/A").then(|| s.to_string());
        Ok(Some(KeyFacts {
            id: id.to_string(),
            user: reply.user_name().unwrap_or_default().to_string(),
            status: KeyStatus::Active,
            last_used: used.and_then(|u| u.last_used_date()).map(|d| d.secs()),
            service: used.and_then(|u| known(u.service_name())),
            region: used.and_then(|u| known(u.region())),
            deactivated_at: None,
            deleted_by_campaign: false,
        }))
    }

    /// Sets a key `Active` or `Inactive`. Setting the status it already has is harmless.
    pub async fn set_active(
        &self,
        user: &str,
        id: &str,
        active: bool,
    ) -> Result<Outcome, IamError> {
        let status = if active {
            StatusType::Active
        } else {
            StatusType::Inactive
        };
        let action = "UpdateAccessKey";
        self.client
            .update_access_key()
            .user_name(user)
            .access_key_id(id)
            .status(status)
            .send()
            .await
            .map(|_| Outcome::Changed)
            .map_err(|e| classify(action, &format!("key {}", mask_key_id(id)), &e))
    }

    /// Deletes a key; one already gone is not an error.
    pub async fn delete(&self, user: &str, id: &str) -> Result<Outcome, IamError> {
        match self
            .client
            .delete_access_key()
            .user_name(user)
            .access_key_id(id)
            .send()
            .await
        {
            Ok(_) => Ok(Outcome::Changed),
            Err(e) if is_no_such_entity(&e) => Ok(Outcome::AlreadyThere),
            Err(e) => Err(classify(
                "DeleteAccessKey",
                &format!("key {}", mask_key_id(id)),
                &e,
            )),
        }
    }

    /// Every IAM user with its tags, for suggestions.
    /// IAM's credential report (CSV: every user's keys, whether active, when last used),
    /// generating it first when there is none. Two or three calls for the whole account.
    pub async fn credential_report(&self) -> Result<String, IamError> {
        for _ in 0..30 {
            let state = self
                .client
                .generate_credential_report()
                .send()
                .await
                .map_err(|e| classify("GenerateCredentialReport", "the account", &e))?;
            if state.state().is_some_and(|s| s.as_str() == "COMPLETE") {
                let report = self
                    .client
                    .get_credential_report()
                    .send()
                    .await
                    .map_err(|e| classify("GetCredentialReport", "the account", &e))?;
                let content = report.content().map(|b| b.as_ref()).unwrap_or_default();
                return Ok(String::from_utf8_lossy(content).into_owned());
            }
            // IAM builds the report in the background, usually within seconds.
            tokio::time::sleep(std::time::Duration::from_secs(1)).await;
        }
        Err(IamError::Failed {
            action: "GetCredentialReport".into(),
            subject: "the account".into(),
            message: "the credential report was not ready after 30 s".into(),
        })
    }

    pub async fn users_with_tags(&self) -> Result<Vec<(String, Vec<(String, String)>)>, IamError> {
        use futures::StreamExt;
        let names: Vec<String> = self
            .client
            .list_users()
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .map_err(|e| classify("ListUsers", "the account", &e))?
            .into_iter()
            .map(|u| u.user_name().to_string())
            .collect();
        let mut out: Vec<(String, Vec<(String, String)>)> = futures::stream::iter(names)
            .map(|name| async move {
                let tags = match self.client.list_user_tags().user_name(&name).send().await {
                    Ok(t) => t
                        .tags()
                        .iter()
                        .map(|t| (t.key().to_string(), t.value().to_string()))
                        .collect(),
                    // A user deleted meanwhile, or no permission for tags: name matching
                    // still works.
                    Err(_) => Vec::new(),
                };
                (name, tags)
            })
            .buffer_unordered(IAM_CONCURRENCY)
            .collect()
            .await;
        out.sort();
        Ok(out)
    }
}

fn status_of(status: Option<&StatusType>) -> KeyStatus {
    match status {
        Some(StatusType::Inactive) => KeyStatus::Inactive,
        Some(StatusType::Expired) => KeyStatus::Expired,
        Some(StatusType::Active) | None => KeyStatus::Active,
        // A status this SDK does not know: not one to treat as usable.
        Some(_) => KeyStatus::Inactive,
    }
}

fn missing(id: &str, user: &str) -> KeyFacts {
    KeyFacts {
        id: id.to_string(),
        user: user.to_string(),
        status: KeyStatus::Missing,
        last_used: None,
        service: None,
        region: None,
        deactivated_at: None,
        deleted_by_campaign: false,
    }
}

/// cleanup's key writes (deleting a key already gone is not an error).
impl crate::campaign::cleanup::execute::KeyWriter for IamKeys {
    type Error = IamError;

    async fn deactivate(&self, user: &str, id: &str) -> Result<(), IamError> {
        self.set_active(user, id, false).await.map(|_| ())
    }

    async fn delete_key(&self, user: &str, id: &str) -> Result<(), IamError> {
        self.delete(user, id).await.map(|_| ())
    }
}

/// cleanup's user deletions.
impl crate::campaign::cleanup::execute::UserWriter for IamKeys {
    type Error = IamError;

    async fn facts(
        &self,
        user: &str,
    ) -> Result<Option<crate::campaign::cleanup::UserFacts>, IamError> {
        self.users().facts(user).await
    }

    async fn delete_user(
        &self,
        record: &crate::campaign::cleanup::UserRecord,
    ) -> Result<(), IamError> {
        self.users().delete(record).await.map(|_| ())
    }
}
