//! Persisted documents: Apollo's automatic persisted queries (registered after the hash is
//! checked, shared by replicas through Redis), `documentId` from a manifest on POST and GET,
//! safelist mode, and a manifest that stops start-up naming its bad entry.

use std::{path::PathBuf, sync::Arc};

use aws_lc_rs::digest::{SHA256, digest};
use elements_gateway::{Application, Settings, mock_upstream::MockUpstream};
use serde_json::{Value, json};

use crate::common::{
    Options, TestGateway, base_settings, error_code, redis::RedisServer, spawn_over, spawn_with,
    token,
};

const QUERY: &str = "{ customers(first: 2) { nodes { id } } }";
const TOTAL: &str = "query Total { customers { totalCount } }";

/// The hex SHA-256 of `text`, as a persisted document is named.
pub(crate) fn sha256(text: &str) -> String {
    digest(&SHA256, text.as_bytes())
        .as_ref()
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

fn apq(hash: &str) -> Value {
    json!({ "persistedQuery": { "version": 1, "sha256Hash": hash } })
}

/// A manifest file of `documents` in the plain `{hash: document}` form.
pub(crate) fn manifest(name: &str, documents: &[&str]) -> PathBuf {
    let map: serde_json::Map<String, Value> = documents
        .iter()
        .map(|document| (format!("sha256:{}", sha256(document)), json!(document)))
        .collect();
    let path = std::env::temp_dir().join(format!("{name}-{}.json", std::process::id()));
    std::fs::write(&path, Value::Object(map).to_string()).unwrap();
    path
}

async fn post(gateway: &TestGateway, body: Value) -> (u16, Value) {
    let response = gateway.post(&body, Some(&token())).await;
    (response.status().as_u16(), response.json().await.unwrap())
}

#[tokio::test]
async fn an_automatic_persisted_query_is_registered_once_its_hash_is_checked() {
    let gateway = spawn_with(Options::default()).await;
    let hash = sha256(QUERY);
    let (status, unknown) = post(&gateway, json!({ "extensions": apq(&hash) })).await;
    assert_eq!(
        status, 200,
        "answered like a request error, as Apollo's link expects"
    );
    assert_eq!(
        error_code(&unknown),
        "PERSISTED_QUERY_NOT_FOUND",
        "{unknown}"
    );
    assert_eq!(unknown["errors"][0]["message"], "PersistedQueryNotFound");

    let (_, wrong) = post(
        &gateway,
        json!({ "query": TOTAL, "extensions": apq(&hash) }),
    )
    .await;
    assert_eq!(
        error_code(&wrong),
        "PERSISTED_QUERY_HASH_MISMATCH",
        "{wrong}"
    );

    let (_, first) = post(
        &gateway,
        json!({ "query": QUERY, "extensions": apq(&hash) }),
    )
    .await;
    assert!(first["data"]["customers"]["nodes"].is_array(), "{first}");
    let (_, again) = post(&gateway, json!({ "extensions": apq(&hash) })).await;
    assert_eq!(again, first, "the hash alone now runs the query");

    // Over GET, where the short URL is the point.
    let url = format!(
        "{}?extensions={}",
        gateway.url("/graphql"),
        urlencode(&apq(&hash).to_string())
    );
    let got: Value = gateway
        .client
        .get(url)
        .bearer_auth(token())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(got, first);
    assert!(
        gateway
            .metric(
                "gateway_persisted_documents_total{document=\"automatic\",outcome=\"registered\"}"
            )
            .await
            >= 1.0
    );
}

fn urlencode(text: &str) -> String {
    percent_encoding::utf8_percent_encode(text, percent_encoding::NON_ALPHANUMERIC).to_string()
}

#[tokio::test]
async fn manifest_documents_run_by_document_id_on_post_and_get() {
    let path = manifest("documents", &[TOTAL]);
    let gateway =
        spawn_with(Options::default().set("GATEWAY_PERSISTED_DOCUMENTS_FILE", path.display()))
            .await;
    let hash = sha256(TOTAL);
    for id in [format!("sha256:{hash}"), hash.clone(), hash.to_uppercase()] {
        let (status, answer) = post(&gateway, json!({ "documentId": id })).await;
        assert_eq!(status, 200);
        assert!(
            answer["data"]["customers"]["totalCount"].is_number(),
            "{answer}"
        );
    }
    let (status, bad) = post(&gateway, json!({ "documentId": "md5:abc" })).await;
    assert_eq!(status, 400);
    assert!(
        bad["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("documentId"),
        "{bad}"
    );

    let url = format!("{}?documentId=sha256:{hash}", gateway.url("/graphql"));
    let got = gateway
        .client
        .get(url)
        .bearer_auth(token())
        .send()
        .await
        .unwrap();
    assert_eq!(got.status(), 200);
    let got: Value = got.json().await.unwrap();
    assert!(got["data"]["customers"]["totalCount"].is_number(), "{got}");

    // Without safelist mode other documents still run.
    let (_, other) = post(&gateway, json!({ "query": QUERY })).await;
    assert!(other["data"].is_object(), "{other}");
}

#[tokio::test]
async fn safelist_mode_runs_manifest_documents_only() {
    let path = manifest("safelist", &[TOTAL]);
    let gateway = spawn_with(
        Options::default()
            .set("GATEWAY_PERSISTED_DOCUMENTS_FILE", path.display())
            .set("GATEWAY_PERSISTED_DOCUMENTS_ONLY", true),
    )
    .await;
    let (status, answer) = post(
        &gateway,
        json!({ "documentId": format!("sha256:{}", sha256(TOTAL)) }),
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    let (status, refused) = post(&gateway, json!({ "query": QUERY })).await;
    assert_eq!(
        (status, error_code(&refused)),
        (400, "PERSISTED_DOCUMENT_REQUIRED"),
        "{refused}"
    );
    let (status, unknown) = post(&gateway, json!({ "documentId": sha256(QUERY) })).await;
    assert_eq!(
        (status, error_code(&unknown)),
        (400, "PERSISTED_DOCUMENT_NOT_FOUND")
    );
    let hash = sha256(QUERY);
    let (status, _) = post(
        &gateway,
        json!({ "query": QUERY, "extensions": apq(&hash) }),
    )
    .await;
    assert_eq!(status, 400, "no registration in safelist mode");
    let (_, still) = post(&gateway, json!({ "extensions": apq(&hash) })).await;
    assert_eq!(error_code(&still), "PERSISTED_DOCUMENT_NOT_FOUND");
    let page = gateway
        .client
        .get(gateway.url("/graphql"))
        .header("accept", "text/html")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("persisted documents"), "GraphiQL says so");
}

#[tokio::test]
async fn a_bad_manifest_entry_stops_start_up_naming_it() {
    let upstream = MockUpstream::spawn(Default::default()).await.unwrap();
    let start = |path: PathBuf| {
        let mut env: Vec<(&str, String)> = base_settings(&upstream).into();
        env.push((
            "GATEWAY_PERSISTED_DOCUMENTS_FILE",
            path.display().to_string(),
        ));
        let settings = Settings::load(None, |name| {
            env.iter()
                .find(|(key, _)| *key == name)
                .map(|(_, value)| value.clone())
        })
        .unwrap();
        async move { Application::build(settings).await.unwrap_err().to_string() }
    };
    let wrong = std::env::temp_dir().join(format!("wrong-{}.json", std::process::id()));
    std::fs::write(&wrong, json!({ "0".repeat(64): TOTAL }).to_string()).unwrap();
    let line = start(wrong).await;
    assert!(
        line.starts_with("GATEWAY_PERSISTED_DOCUMENTS_FILE"),
        "{line}"
    );
    assert!(
        line.contains(&"0".repeat(64)) && line.contains("not the SHA-256"),
        "{line}"
    );

    let invalid = manifest("invalid", &["{ customers { nope } }"]);
    let line = start(invalid).await;
    assert!(
        line.contains("does not validate") && line.contains("nope"),
        "{line}"
    );
}

#[tokio::test]
async fn replicas_share_registered_queries_through_redis() {
    let redis = RedisServer::start().await;
    let upstream = Arc::new(MockUpstream::spawn(Default::default()).await.unwrap());
    let with_redis = || Options::default().set("GATEWAY_REDIS_URL", redis.url());
    let one = spawn_over(Arc::clone(&upstream), with_redis()).await;
    let two = spawn_over(Arc::clone(&upstream), with_redis()).await;
    let hash = sha256(QUERY);
    let (_, first) = post(&one, json!({ "query": QUERY, "extensions": apq(&hash) })).await;
    let (_, elsewhere) = post(&two, json!({ "extensions": apq(&hash) })).await;
    assert_eq!(elsewhere, first, "the other replica knows the hash");
}
