//! What an access key did, from CloudTrail (effects, aws-sdk-cloudtrail and aws-sdk-account
//! through the standard credential chain): the account's enabled regions (`ListRegions`), then
//! `LookupEvents` by `AccessKeyId` in each region, paced at CloudTrail's two requests a second
//! per region. Key ids appear in messages only masked.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use aws_sdk_cloudtrail::error::ProvideErrorMetadata;
use aws_sdk_cloudtrail::types::{LookupAttribute, LookupAttributeKey};
use tokio::sync::Mutex;
use tokio::time::Instant;

use crate::campaign::attribution::KeyEvent;
use crate::detect::aws_key_literal::mask_key_id;
use crate::iam::cause_chain;

/// CloudTrail answers `LookupEvents` at two requests a second per account and region.
const PACE: Duration = Duration::from_millis(500);
/// Events per page, CloudTrail's maximum.
const PAGE: i32 = 50;
/// Pages per key and region: the newest 1,000 events are plenty to place a key, and a busy key
/// would otherwise cost minutes per region.
pub const MAX_PAGES: usize = 20;
/// How far back `LookupEvents` reaches.
pub const DAYS: i64 = 90;

#[derive(Debug, thiserror::Error)]
pub enum CloudTrailError {
    #[error(
        "{action} was denied: the credentials need the `{action}` permission\nhelp: grant it, or name the regions with --cloudtrail-regions (then only cloudtrail:LookupEvents is needed)"
    )]
    Denied { action: String },
    #[error(
        "{action}: no usable AWS credentials: {cause}\nhelp: set AWS credentials (environment, ~/.aws config, SSO) for the account that owns the keys"
    )]
    NoCredentials { action: String, cause: String },
    #[error("{action} failed: {message}")]
    Failed { action: String, message: String },
}

fn classify<E>(action: &str, err: &E) -> CloudTrailError
where
    E: ProvideErrorMetadata + std::error::Error,
{
    match err.code() {
        Some("AccessDenied" | "AccessDeniedException" | "UnauthorizedOperation") => {
            CloudTrailError::Denied {
                action: action.into(),
            }
        }
        Some(code) => CloudTrailError::Failed {
            action: action.into(),
            message: format!("{code}: {}", err.message().unwrap_or_default()),
        },
        None => {
            let cause = cause_chain(err);
            if crate::iam::no_credentials(&cause) {
                CloudTrailError::NoCredentials {
                    action: action.into(),
                    cause,
                }
            } else {
                CloudTrailError::Failed {
                    action: action.into(),
                    message: cause,
                }
            }
        }
    }
}

/// One key's events over every region, and what could not be read.
#[derive(Debug, Default)]
pub struct KeyHistory {
    pub events: Vec<KeyEvent>,
    /// Regions where the newest [`MAX_PAGES`] pages did not reach back to the start.
    pub truncated: Vec<String>,
    /// Regions that answered with an error, with it.
    pub failed: Vec<(String, String)>,
}

/// When a region's last request went out: the next waits for [`PACE`] after it.
type Pace = Arc<Mutex<Option<Instant>>>;

pub struct CloudTrail {
    clients: BTreeMap<String, (aws_sdk_cloudtrail::Client, Pace)>,
}

impl CloudTrail {
    /// Clients for `regions`, or for every region enabled in the account (`account:ListRegions`).
    pub async fn connect(regions: &[String]) -> Result<Self, CloudTrailError> {
        let config = crate::iam::aws_config().await;
        let regions = if regions.is_empty() {
            enabled_regions(&config).await?
        } else {
            regions.to_vec()
        };
        let clients = regions
            .into_iter()
            .map(|region| {
                let conf = aws_sdk_cloudtrail::config::Builder::from(&config)
                    .region(aws_config::Region::new(region.clone()))
                    .build();
                (
                    region,
                    (
                        aws_sdk_cloudtrail::Client::from_conf(conf),
                        Arc::new(Mutex::new(None)),
                    ),
                )
            })
            .collect();
        Ok(Self { clients })
    }

    pub fn regions(&self) -> Vec<String> {
        self.clients.keys().cloned().collect()
    }

    /// Every management event CloudTrail kept for `key_id` since `since` (Unix seconds), all
    /// regions at once, each at its own pace.
    pub async fn key_events(&self, key_id: &str, since: i64) -> KeyHistory {
        let lookups = self
            .clients
            .iter()
            .map(|(region, (client, pace))| async move {
                (
                    region,
                    region_events(client, pace, region, key_id, since).await,
                )
            });
        let mut history = KeyHistory::default();
        for (region, result) in futures::future::join_all(lookups).await {
            match result {
                Ok((events, truncated)) => {
                    history.events.extend(events);
                    if truncated {
                        history.truncated.push(region.clone());
                    }
                }
                Err(e) => history.failed.push((region.clone(), e.to_string())),
            }
        }
        history.events.sort_by_key(|e| e.time);
        history
    }
}

/// The regions enabled in the account (enabled by default or opted in).
async fn enabled_regions(config: &aws_config::SdkConfig) -> Result<Vec<String>, CloudTrailError> {
    use aws_sdk_account::types::RegionOptStatus;
    let client = aws_sdk_account::Client::new(config);
    let mut regions = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let page = client
            .list_regions()
            .region_opt_status_contains(RegionOptStatus::Enabled)
            .region_opt_status_contains(RegionOptStatus::EnabledByDefault)
            .max_results(50)
            .set_next_token(token.take())
            .send()
            .await
            .map_err(|e| classify("account:ListRegions", &e))?;
        regions.extend(
            page.regions()
                .iter()
                .filter_map(|r| r.region_name().map(str::to_string)),
        );
        match page.next_token() {
            Some(next) if !next.is_empty() => token = Some(next.to_string()),
            _ => break,
        }
    }
    regions.sort();
    regions.dedup();
    Ok(regions)
}

/// One region's events for the key, newest first as CloudTrail pages them; `true` when the
/// page limit stopped the walk.
async fn region_events(
    client: &aws_sdk_cloudtrail::Client,
    pace: &Mutex<Option<Instant>>,
    region: &str,
    key_id: &str,
    since: i64,
) -> Result<(Vec<KeyEvent>, bool), CloudTrailError> {
    let attribute = LookupAttribute::builder()
        .attribute_key(LookupAttributeKey::AccessKeyId)
        .attribute_value(key_id)
        .build()
        .map_err(|e| CloudTrailError::Failed {
            action: "cloudtrail:LookupEvents".into(),
            message: e.to_string(),
        })?;
    let mut events = Vec::new();
    let mut token: Option<String> = None;
    for _ in 0..MAX_PAGES {
        {
            // One request at a time per region, at most two a second.
            let mut last = pace.lock().await;
            if let Some(at) = *last {
                tokio::time::sleep_until(at + PACE).await;
            }
            *last = Some(Instant::now());
        }
        let page = client
            .lookup_events()
            .lookup_attributes(attribute.clone())
            .start_time(aws_sdk_cloudtrail::primitives::DateTime::from_secs(since))
            .max_results(PAGE)
            .set_next_token(token.take())
            .send()
            .await
            .map_err(|e| match classify("cloudtrail:LookupEvents", &e) {
                CloudTrailError::Failed { action, message } => CloudTrailError::Failed {
                    action,
                    message: format!("{message} (key {})", mask_key_id(key_id)),
                },
                other => other,
            })?;
        events.extend(page.events().iter().filter_map(|e| event(e, region)));
        match page.next_token() {
            Some(next) if !next.is_empty() => token = Some(next.to_string()),
            _ => return Ok((events, false)),
        }
    }
    Ok((events, true))
}

/// The fields attribution needs; the address and user agent live in the event's JSON record.
fn event(e: &aws_sdk_cloudtrail::types::Event, region: &str) -> Option<KeyEvent> {
    let time = e.event_time()?.secs();
    let record: serde_json::Value = e
        .cloud_trail_event()
        .and_then(|text| serde_json::from_str(text).ok())
        .unwrap_or_default();
    Some(KeyEvent {
        time,
        region: record["awsRegion"].as_str().unwrap_or(region).to_string(),
        source: e.event_source().unwrap_or_default().to_string(),
        name: e.event_name().unwrap_or_default().to_string(),
        source_ip: record["sourceIPAddress"]
            .as_str()
            .unwrap_or_default()
            .to_string(),
        user_agent: record["userAgent"].as_str().unwrap_or_default().to_string(),
    })
}
