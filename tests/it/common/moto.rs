//! Tests against moto's IAM server (`AWS_ENDPOINT_URL_IAM`, started by `.ci/run`): whether it
//! is there, names no earlier run used, an IAM client on the standard credential chain, and an
//! endpoint in front of moto for the IAM calls moto lacks, and for CloudTrail's `LookupEvents`
//! and Account's `ListRegions` (moto has neither).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use axum::response::IntoResponse;

use aws_sdk_iam::Client;

/// moto's endpoint must be configured: these tests are `#[ignore]`d, and run with them
/// (`.ci/run`), a missing moto is a failure, never a silent pass.
pub fn require(what: &str) {
    assert!(
        std::env::var_os("AWS_ENDPOINT_URL_IAM").is_some(),
        "AWS_ENDPOINT_URL_IAM is not set, so {what} cannot be tested against moto (.ci/run starts it)"
    );
}

/// A name no earlier run used, so tests can share one moto server.
pub fn unique(tag: &str) -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970")
        .as_nanos();
    format!("{tag}-{nanos}")
}

/// The variables that point the binary at moto (with its static test credentials), as the test
/// runner has them: `cmd.envs(moto::env())` after clearing the environment of `AWS_*`.
pub fn env() -> Vec<(&'static str, String)> {
    [
        "AWS_ENDPOINT_URL_IAM",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_REGION",
    ]
    .into_iter()
    .filter_map(|var| Some((var, std::env::var(var).ok()?)))
    .collect()
}

/// An IAM user with one access key: (key id, secret).
pub fn user_with_key(user: &str) -> (String, String) {
    iam(async |c: Client| {
        c.create_user().user_name(user).send().await.expect("user");
        let key = c
            .create_access_key()
            .user_name(user)
            .send()
            .await
            .expect("key");
        let key = key.access_key().expect("key");
        (
            key.access_key_id().to_string(),
            key.secret_access_key().to_string(),
        )
    })
}

/// `Active`, `Inactive`, or `Missing` when the user has no such key.
pub fn key_status(user: &str, id: &str) -> String {
    iam(async |c: Client| {
        let keys = c
            .list_access_keys()
            .user_name(user)
            .send()
            .await
            .expect("keys");
        keys.access_key_metadata()
            .iter()
            .find(|k| k.access_key_id() == Some(id))
            .and_then(|k| k.status())
            .map_or("Missing".to_string(), |s| s.as_str().to_string())
    })
}

/// Runs `f` with an IAM client (region us-east-1) on its own runtime.
pub fn iam<T>(f: impl AsyncFnOnce(Client) -> T) -> T {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .region(aws_config::Region::new("us-east-1"))
            .load()
            .await;
        f(Client::new(&config)).await
    })
}

/// An S3 `ListBuckets` signed with the key, sent to the moto server (which serves every
/// service on one port and dispatches on the signature's service): moto records it as the
/// key's last use, with service `s3`. Plain HTTP over a socket: no S3 SDK for one request.
pub fn use_key_with_s3(id: &str, secret: &str) {
    use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
    use std::io::{Read, Write};

    let endpoint = std::env::var("AWS_ENDPOINT_URL_IAM").expect("moto configured");
    let host = endpoint
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_string();
    let url = format!("http://{host}/");
    let identity = aws_sdk_iam::config::Credentials::new(id, secret, None, None, "test").into();
    let params = aws_sigv4::sign::v4::SigningParams::builder()
        .identity(&identity)
        .region("us-east-1")
        .name("s3")
        .time(SystemTime::now())
        .settings(SigningSettings::default())
        .build()
        .expect("signing params")
        .into();
    let signable = SignableRequest::new(
        "GET",
        &url,
        [("host", host.as_str())].into_iter(),
        SignableBody::Bytes(&[]),
    )
    .expect("signable");
    let (instructions, _) = sign(signable, &params).expect("signed").into_parts();
    let mut request = http::Request::builder()
        .method("GET")
        .uri(&url)
        .header("host", &host)
        .body(())
        .expect("request");
    instructions.apply_to_request_http1x(&mut request);
    let mut head = "GET / HTTP/1.1\r\n".to_string();
    for (name, value) in request.headers() {
        head.push_str(&format!("{name}: {}\r\n", value.to_str().expect("ascii")));
    }
    head.push_str("connection: close\r\n\r\n");
    let mut stream = std::net::TcpStream::connect(&host).expect("moto listens");
    stream.write_all(head.as_bytes()).expect("sent");
    let mut reply = String::new();
    stream.read_to_string(&mut reply).expect("reply");
    assert!(reply.starts_with("HTTP/1.1 200"), "{reply}");
}

/// An IAM endpoint on 127.0.0.1 in front of moto: it answers `ListServiceSpecificCredentials`
/// itself (moto does not implement it and answers 500), with the credentials set by
/// [`IamFront::set_service_credentials`], answers `AccessDenied` for the actions
/// [`IamFront::deny`] names (moto does not enforce IAM policies), and forwards every other
/// request to moto unchanged.
pub struct IamFront {
    /// Pass as `AWS_ENDPOINT_URL_IAM`.
    pub url: String,
    state: FrontState,
    _runtime: tokio::runtime::Runtime,
}

#[derive(Clone, Default)]
struct FrontState {
    moto: String,
    service_credentials: Arc<Mutex<BTreeMap<String, usize>>>,
    denied: Arc<Mutex<Vec<String>>>,
    /// User name → the services its keys used (service-last-accessed data).
    last_accessed: Arc<Mutex<BTreeMap<String, Vec<ServiceUse>>>>,
    /// The account's enabled regions (`ListRegions`).
    regions: Arc<Mutex<Vec<String>>>,
    /// Access key id → its CloudTrail events.
    trail: Arc<Mutex<BTreeMap<String, Vec<TrailEvent>>>>,
    /// Every `LookupEvents` request: (region, when it arrived).
    lookups: Arc<Mutex<Vec<(String, std::time::Instant)>>>,
}

/// One CloudTrail management event of an access key.
#[derive(Clone, Debug)]
pub struct TrailEvent {
    pub region: &'static str,
    /// Unix seconds.
    pub time: i64,
    pub source: &'static str,
    pub name: &'static str,
    pub source_ip: String,
}

/// One service's last use, as `GetServiceLastAccessedDetails` reports it: namespace, last
/// authentication (`None`: not used in the tracking period), and tracked actions.
#[derive(Clone, Debug)]
pub struct ServiceUse {
    pub namespace: &'static str,
    pub name: &'static str,
    pub last_authenticated: Option<&'static str>,
    pub actions: Vec<(&'static str, Option<&'static str>)>,
}

impl IamFront {
    pub fn start() -> Self {
        let moto = std::env::var("AWS_ENDPOINT_URL_IAM").expect("moto configured");
        let moto = moto
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .to_string();
        let state = FrontState {
            moto,
            ..FrontState::default()
        };
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("runtime");
        let listener = runtime
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .expect("bind loopback");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        let app = axum::Router::new()
            .fallback(front)
            .with_state(state.clone());
        runtime.spawn(async move {
            axum::serve(listener, app).await.expect("IAM front serves");
        });
        Self {
            url,
            state,
            _runtime: runtime,
        }
    }

    /// Requests for `action` (`CreateRole`) are refused as a policy without it would.
    pub fn deny(&self, action: &str) {
        self.state
            .denied
            .lock()
            .expect("lock")
            .push(action.to_string());
    }

    /// IAM's service-last-accessed data for `user` (moto implements neither
    /// `GenerateServiceLastAccessedDetails` nor `GetServiceLastAccessedDetails`).
    pub fn set_last_accessed(&self, user: &str, services: Vec<ServiceUse>) {
        self.state
            .last_accessed
            .lock()
            .expect("lock")
            .insert(user.to_string(), services);
    }

    /// The regions `ListRegions` reports as enabled.
    pub fn set_regions(&self, regions: &[&str]) {
        *self.state.regions.lock().expect("lock") = regions.iter().map(|r| r.to_string()).collect();
    }

    /// CloudTrail's management events of access key `key_id`.
    pub fn set_key_events(&self, key_id: &str, events: Vec<TrailEvent>) {
        self.state
            .trail
            .lock()
            .expect("lock")
            .insert(key_id.to_string(), events);
    }

    /// Every `LookupEvents` request so far: (region, arrival).
    pub fn lookups(&self) -> Vec<(String, std::time::Instant)> {
        self.state.lookups.lock().expect("lock").clone()
    }

    /// `user` has `n` service-specific credentials (CodeCommit, say).
    pub fn set_service_credentials(&self, user: &str, n: usize) {
        self.state
            .service_credentials
            .lock()
            .expect("lock")
            .insert(user.to_string(), n);
    }
}

async fn front(
    axum::extract::State(state): axum::extract::State<FrontState>,
    method: axum::http::Method,
    uri: axum::http::Uri,
    headers: axum::http::HeaderMap,
    body: axum::body::Bytes,
) -> axum::response::Response {
    if uri.path() == "/listRegions" {
        return list_regions(&state, &body);
    }
    if headers.get("x-amz-target").and_then(|t| t.to_str().ok())
        == Some("CloudTrail_20131101.LookupEvents")
    {
        return lookup_events(&state, &headers, &body);
    }
    let form = String::from_utf8_lossy(&body).into_owned();
    let param = |name: &str| {
        form.split('&')
            .find_map(|kv| kv.strip_prefix(&format!("{name}=")))
            .map(str::to_string)
    };
    let action = param("Action").unwrap_or_default();
    if state.denied.lock().expect("lock").contains(&action) {
        let xml = format!(
            "<ErrorResponse xmlns=\"https://iam.amazonaws.com/doc/2010-05-08/\"><Error>\
             <Type>Sender</Type><Code>AccessDenied</Code><Message>User: \
             arn:aws:iam::123456789012:user/ci is not authorized to perform: iam:{action} \
             because no identity-based policy allows the iam:{action} action</Message></Error>\
             <RequestId>front</RequestId></ErrorResponse>"
        );
        return (
            axum::http::StatusCode::FORBIDDEN,
            [("content-type", "text/xml")],
            xml,
        )
            .into_response();
    }
    // Shapes from the IAM API reference (GenerateServiceLastAccessedDetails,
    // GetServiceLastAccessedDetails); the job id names the user, the job is done at once.
    if action == "GenerateServiceLastAccessedDetails" {
        let arn = param("Arn")
            .unwrap_or_default()
            .replace("%3A", ":")
            .replace("%2F", "/");
        let user = arn.rsplit('/').next().unwrap_or_default().to_string();
        let xml = format!(
            "<GenerateServiceLastAccessedDetailsResponse xmlns=\"https://iam.amazonaws.com/doc/2010-05-08/\">\
             <GenerateServiceLastAccessedDetailsResult><JobId>job-{user}</JobId>\
             </GenerateServiceLastAccessedDetailsResult>\
             <ResponseMetadata><RequestId>front</RequestId></ResponseMetadata>\
             </GenerateServiceLastAccessedDetailsResponse>"
        );
        return ([("content-type", "text/xml")], xml).into_response();
    }
    if action == "GetServiceLastAccessedDetails" {
        let job = param("JobId").unwrap_or_default();
        let user = job.strip_prefix("job-").unwrap_or_default().to_string();
        let services = state
            .last_accessed
            .lock()
            .expect("lock")
            .get(&user)
            .cloned()
            .unwrap_or_default();
        let members: String = services
            .iter()
            .map(|s| {
                let used = s.last_authenticated.map_or(String::new(), |t| {
                    format!(
                        "<LastAuthenticated>{t}</LastAuthenticated>\
                         <LastAuthenticatedEntity>arn:aws:iam::123456789012:user/{user}</LastAuthenticatedEntity>\
                         <LastAuthenticatedRegion>eu-west-1</LastAuthenticatedRegion>"
                    )
                });
                let actions: String = s
                    .actions
                    .iter()
                    .map(|(name, when)| {
                        let when = when.map_or(String::new(), |t| {
                            format!(
                                "<LastAccessedTime>{t}</LastAccessedTime>\
                                 <LastAccessedEntity>arn:aws:iam::123456789012:user/{user}</LastAccessedEntity>\
                                 <LastAccessedRegion>eu-west-1</LastAccessedRegion>"
                            )
                        });
                        format!("<member><ActionName>{name}</ActionName>{when}</member>")
                    })
                    .collect();
                format!(
                    "<member><ServiceName>{}</ServiceName><ServiceNamespace>{}</ServiceNamespace>{used}\
                     <TotalAuthenticatedEntities>{}</TotalAuthenticatedEntities>\
                     <TrackedActionsLastAccessed>{actions}</TrackedActionsLastAccessed></member>",
                    s.name,
                    s.namespace,
                    usize::from(s.last_authenticated.is_some())
                )
            })
            .collect();
        let xml = format!(
            "<GetServiceLastAccessedDetailsResponse xmlns=\"https://iam.amazonaws.com/doc/2010-05-08/\">\
             <GetServiceLastAccessedDetailsResult><JobStatus>COMPLETED</JobStatus>\
             <JobType>ACTION_LEVEL</JobType>\
             <JobCreationDate>2026-11-30T00:00:00Z</JobCreationDate>\
             <JobCompletionDate>2026-11-30T00:00:01Z</JobCompletionDate>\
             <ServicesLastAccessed>{members}</ServicesLastAccessed><IsTruncated>false</IsTruncated>\
             </GetServiceLastAccessedDetailsResult>\
             <ResponseMetadata><RequestId>front</RequestId></ResponseMetadata>\
             </GetServiceLastAccessedDetailsResponse>"
        );
        return ([("content-type", "text/xml")], xml).into_response();
    }
    if action == "ListServiceSpecificCredentials" {
        let user = param("UserName").unwrap_or_default();
        let n = state
            .service_credentials
            .lock()
            .expect("lock")
            .get(&user)
            .copied()
            .unwrap_or(0);
        let members: String = (0..n)
            .map(|i| {
                format!(
                    "<member><UserName>{user}</UserName><Status>Active</Status>\
                     <ServiceUserName>{user}-at-{i}</ServiceUserName>\
                     <CreateDate>2026-01-01T00:00:00Z</CreateDate>\
                     <ServiceSpecificCredentialId>ACCAEXAMPLE{i:09}</ServiceSpecificCredentialId>\
                     <ServiceName>codecommit.amazonaws.com</ServiceName></member>"
                )
            })
            .collect();
        let xml = format!(
            "<ListServiceSpecificCredentialsResponse xmlns=\"https://iam.amazonaws.com/doc/2010-05-08/\">\
             <ListServiceSpecificCredentialsResult><ServiceSpecificCredentials>{members}\
             </ServiceSpecificCredentials></ListServiceSpecificCredentialsResult>\
             <ResponseMetadata><RequestId>front</RequestId></ResponseMetadata>\
             </ListServiceSpecificCredentialsResponse>"
        );
        return ([("content-type", "text/xml")], xml).into_response();
    }
    // Everything else goes to moto as HTTP/1.0: one connection per request, the response
    // ends when moto closes it.
    let moto = state.moto.clone();
    let mut request = format!(
        "{method} {} HTTP/1.0\r\nHost: {moto}\r\n",
        uri.path_and_query().map_or("/", |p| p.as_str())
    );
    for (name, value) in &headers {
        if !["host", "connection", "content-length", "transfer-encoding"].contains(&name.as_str()) {
            request.push_str(&format!(
                "{name}: {}\r\n",
                value.to_str().unwrap_or_default()
            ));
        }
    }
    request.push_str(&format!("Content-Length: {}\r\n\r\n", body.len()));
    let reply = tokio::task::spawn_blocking(move || {
        use std::io::{Read, Write};
        let mut stream = std::net::TcpStream::connect(&moto)?;
        stream.write_all(request.as_bytes())?;
        stream.write_all(&body)?;
        let mut reply = Vec::new();
        stream.read_to_end(&mut reply)?;
        Ok::<_, std::io::Error>(reply)
    })
    .await
    .expect("forwarding task")
    .expect("moto answers");
    let split = reply
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("HTTP response head");
    let head = String::from_utf8_lossy(&reply[..split]).into_owned();
    let mut lines = head.lines();
    let status: u16 = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|code| code.parse().ok())
        .expect("status line");
    let mut response = axum::response::Response::builder().status(status);
    for line in lines {
        if let Some((name, value)) = line.split_once(':') {
            let name = name.trim().to_ascii_lowercase();
            if ![
                "connection",
                "content-length",
                "transfer-encoding",
                "server",
                "date",
            ]
            .contains(&name.as_str())
            {
                response = response.header(name, value.trim());
            }
        }
    }
    response
        .body(axum::body::Body::from(reply[split + 4..].to_vec()))
        .expect("response")
}

/// Account `ListRegions` (REST-JSON, shapes from the Account API reference): the enabled
/// regions, filtered by `RegionOptStatusContains`.
fn list_regions(state: &FrontState, body: &[u8]) -> axum::response::Response {
    let input: serde_json::Value = serde_json::from_slice(body).unwrap_or_default();
    let wanted: Vec<&str> = input["RegionOptStatusContains"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|s| s.as_str())
        .collect();
    let regions: Vec<serde_json::Value> = state
        .regions
        .lock()
        .expect("lock")
        .iter()
        .map(|r| serde_json::json!({"RegionName": r, "RegionOptStatus": "ENABLED_BY_DEFAULT"}))
        .filter(|_| wanted.is_empty() || wanted.contains(&"ENABLED_BY_DEFAULT"))
        .collect();
    (
        [("content-type", "application/json")],
        serde_json::json!({ "Regions": regions }).to_string(),
    )
        .into_response()
}

/// CloudTrail `LookupEvents` (JSON 1.1, shapes and limits from the CloudTrail API reference):
/// one lookup attribute, at most 50 results a page, events newest first, in the region the
/// request was signed for.
fn lookup_events(
    state: &FrontState,
    headers: &axum::http::HeaderMap,
    body: &[u8],
) -> axum::response::Response {
    let invalid = |message: &str| {
        (
            axum::http::StatusCode::BAD_REQUEST,
            [("content-type", "application/x-amz-json-1.1")],
            serde_json::json!({"__type": "InvalidLookupAttributesException", "message": message})
                .to_string(),
        )
            .into_response()
    };
    // `Credential=AKID/20261201/eu-west-1/cloudtrail/aws4_request`.
    let region = headers
        .get("authorization")
        .and_then(|a| a.to_str().ok())
        .and_then(|a| a.split("Credential=").nth(1))
        .and_then(|c| c.split('/').nth(2))
        .unwrap_or_default()
        .to_string();
    state
        .lookups
        .lock()
        .expect("lock")
        .push((region.clone(), std::time::Instant::now()));
    let input: serde_json::Value = serde_json::from_slice(body).unwrap_or_default();
    let attributes = input["LookupAttributes"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    if attributes.len() != 1 {
        return invalid("exactly one lookup attribute is allowed");
    }
    if attributes[0]["AttributeKey"] != "AccessKeyId" {
        return invalid("this front looks up AccessKeyId only");
    }
    let max = input["MaxResults"].as_u64().unwrap_or(50);
    if !(1..=50).contains(&max) {
        return (
            axum::http::StatusCode::BAD_REQUEST,
            [("content-type", "application/x-amz-json-1.1")],
            serde_json::json!({"__type": "InvalidMaxResultsException", "message": "MaxResults must be 1 to 50"}).to_string(),
        )
            .into_response();
    }
    let start = input["StartTime"].as_f64().unwrap_or(0.0) as i64;
    let key = attributes[0]["AttributeValue"].as_str().unwrap_or_default();
    let mut events: Vec<TrailEvent> = state
        .trail
        .lock()
        .expect("lock")
        .get(key)
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .filter(|e| e.region == region && e.time >= start)
        .collect();
    events.sort_by_key(|e| std::cmp::Reverse(e.time));
    let offset: usize = input["NextToken"]
        .as_str()
        .and_then(|t| t.strip_prefix("page-"))
        .and_then(|t| t.parse().ok())
        .unwrap_or(0);
    let page: Vec<serde_json::Value> = events
        .iter()
        .skip(offset)
        .take(max as usize)
        .enumerate()
        .map(|(i, e)| {
            let record = serde_json::json!({
                "eventVersion": "1.09",
                "userIdentity": {"type": "IAMUser", "accessKeyId": key},
                "eventTime": migrate::campaign::time::format(e.time),
                "eventSource": e.source,
                "eventName": e.name,
                "awsRegion": e.region,
                "sourceIPAddress": e.source_ip,
                "userAgent": "aws-cli/2.22.0 md/command#s3.sync",
            });
            serde_json::json!({
                "EventId": format!("{key}-{}", offset + i),
                "EventName": e.name,
                "ReadOnly": "false",
                "AccessKeyId": key,
                "EventTime": e.time,
                "EventSource": e.source,
                "Username": "ci",
                "Resources": [],
                "CloudTrailEvent": record.to_string(),
            })
        })
        .collect();
    let mut reply = serde_json::json!({ "Events": page });
    if offset + (max as usize) < events.len() {
        reply["NextToken"] = serde_json::json!(format!("page-{}", offset + max as usize));
    }
    (
        [("content-type", "application/x-amz-json-1.1")],
        reply.to_string(),
    )
        .into_response()
}
