//! No secret in the logs: the real binary, logging at `debug` (ours at `trace`), goes through
//! token grants, a refused app token, and refused and accepted callers; its whole standard
//! error is then searched for every secret and token involved.

use std::{process::Stdio, time::Duration};

use elements_gateway::mock_upstream::{MockClient, MockOptions, MockUpstream};
use jsonwebtoken::Algorithm;
use serde_json::json;

use crate::{
    auth::with,
    common::{
        AUDIENCE, CLIENT_ID, CLIENT_SECRET, ISSUER, SECRET,
        process::{Running, gateway_command},
        sign, valid_claims,
    },
};

/// The binary over `upstream` by client credentials, logging everything down to `trace` into
/// the file at `log_path`.
fn logging_to(upstream: &MockUpstream, log_path: &std::path::Path) -> std::process::Command {
    let log = std::fs::File::create(log_path).unwrap();
    let mut command = gateway_command();
    command
        .arg("serve")
        .envs([
            ("GATEWAY_LOG_LEVEL", "debug,elements_gateway=trace"),
            ("GATEWAY_LISTEN", "127.0.0.1:0"),
            ("GATEWAY_UPSTREAM_URL", &upstream.url()),
            ("GATEWAY_UPSTREAM_TOKEN_URL", &upstream.token_url()),
            ("GATEWAY_UPSTREAM_CLIENT_ID", CLIENT_ID),
            ("GATEWAY_UPSTREAM_CLIENT_SECRET", CLIENT_SECRET),
            ("GATEWAY_JWT_SECRET", SECRET),
            ("GATEWAY_JWT_ISSUER", ISSUER),
            ("GATEWAY_JWT_AUDIENCE", AUDIENCE),
        ])
        .stderr(Stdio::from(log));
    command
}

/// Caller tokens refused: a forged signature, an expired token, another issuer.
fn refused_tokens() -> [String; 3] {
    [
        sign(
            &valid_claims(),
            Algorithm::HS256,
            "a-forger-s-secret-of-enough-length",
        ),
        sign(&with(json!({ "exp": 1_000_000 })), Algorithm::HS256, SECRET),
        sign(
            &with(json!({ "iss": "https://elsewhere.test" })),
            Algorithm::HS256,
            SECRET,
        ),
    ]
}

#[tokio::test]
async fn no_secret_or_token_reaches_the_log() {
    let upstream = MockUpstream::spawn(MockOptions {
        client: Some(MockClient::with_secret(CLIENT_ID, CLIENT_SECRET)),
        ..MockOptions::default()
    })
    .await
    .unwrap();
    let log_path = std::env::temp_dir().join(format!(
        "elements-gateway-{}-secrets.log",
        std::process::id()
    ));
    let mut gateway = Running::start(logging_to(&upstream, &log_path));
    let url = gateway.line_after("elements-gateway listening on ").await;

    let client = reqwest::Client::new();
    let ask = async |token: &str, query: &str| {
        client
            .post(&url)
            .bearer_auth(token)
            .json(&json!({ "query": query }))
            .send()
            .await
            .unwrap()
            .status()
    };
    let caller = sign(&valid_claims(), Algorithm::HS256, SECRET);
    let id = upstream.customers()[0].customer_id.clone();
    let lookup = format!("{{ customer(id: \"{id}\") {{ id }} }}");
    assert_eq!(ask(&caller, &lookup).await, 200);
    // The upstream refuses the app token: the gateway fetches another and retries.
    upstream.revoke_issued_tokens();
    assert_eq!(ask(&caller, "{ customers { totalCount } }").await, 200);
    assert_eq!(upstream.token_requests(), 2);
    // Refused callers.
    let refused = refused_tokens();
    for token in &refused {
        assert_eq!(ask(token, "{ customers { totalCount } }").await, 401);
    }
    // SIGTERM: every line logged so far is written before the process exits.
    let status = gateway.terminate(Duration::from_secs(10)).await;
    assert!(status.success(), "exit status after SIGTERM: {status}");

    let log = std::fs::read_to_string(&log_path).unwrap();
    std::fs::remove_file(&log_path).unwrap();
    // The capture works: our own lines are there.
    assert!(log.contains("obtained an app token"), "{log}");
    assert!(log.contains("the upstream refused the app token"), "{log}");
    assert!(log.contains("caller refused"), "{log}");
    let app_tokens: Vec<String> = upstream
        .authorizations_seen()
        .iter()
        .map(|value| value.trim_start_matches("Bearer ").to_owned())
        .collect();
    assert_eq!(app_tokens.len(), 2, "{app_tokens:?}");
    let signature = |token: &str| token.rsplit('.').next().unwrap().to_owned();
    let mut secrets = vec![
        CLIENT_SECRET.to_owned(),
        SECRET.to_owned(),
        caller.clone(),
        signature(&caller),
    ];
    secrets.extend(app_tokens);
    secrets.extend(refused.iter().map(|token| signature(token)));
    for secret in &secrets {
        assert!(!log.contains(secret.as_str()), "the log contains {secret}");
    }
}
