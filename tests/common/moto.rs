//! Tests against moto's IAM server (`AWS_ENDPOINT_URL_IAM`, started by `.ci/run`): whether it
//! is there, names no earlier run used, and an IAM client on the standard credential chain.

use std::time::{SystemTime, UNIX_EPOCH};

use aws_sdk_iam::Client;

/// Whether moto is configured; if not, says loudly what was skipped.
pub fn configured(what: &str) -> bool {
    if std::env::var_os("AWS_ENDPOINT_URL_IAM").is_some() {
        return true;
    }
    eprintln!(
        "\n!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n\
         SKIPPED: AWS_ENDPOINT_URL_IAM is not set, so {what} was not tested against moto.\n\
         !!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n"
    );
    false
}

/// A name no earlier run used, so tests can share one moto server.
pub fn unique(tag: &str) -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970")
        .as_nanos();
    format!("{tag}-{nanos}")
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
