//! The HTTP request path, in-process: a POST body through JSON parsing, GraphQL parsing,
//! the limits, validation and execution, against a gateway whose cache holds a fixed dataset.
//!
//! The first byte picks the mode: even, the rest is the raw body; odd, the rest is query text,
//! wrapped in a well-formed JSON body so the fuzzer spends its time in the GraphQL layers.
//! Whatever the input, the gateway must answer with a JSON body, never a 5xx, never a panic.

#![no_main]

use std::sync::LazyLock;

use axum::{Router, body::Body, http::Request};
use elements_gateway::{
    Application, Settings,
    mock_upstream::{MockOptions, MockUpstream},
};
use libfuzzer_sys::fuzz_target;
use tokio::runtime::Runtime;
use tower::ServiceExt;

const SECRET: &str = "fuzz-secret-0123456789-abcdefghijklmnop";

struct Harness {
    runtime: Runtime,
    router: Router,
    token: String,
    _upstream: MockUpstream,
}

static HARNESS: LazyLock<Harness> = LazyLock::new(|| {
    let runtime = Runtime::new().expect("a runtime");
    let (router, upstream) = runtime.block_on(async {
        let upstream = MockUpstream::spawn(MockOptions {
            customers: 60,
            ..MockOptions::default()
        })
        .await
        .expect("the mock starts");
        let env = [
            ("GATEWAY_LISTEN", "127.0.0.1:0".to_owned()),
            ("GATEWAY_UPSTREAM_URL", upstream.url()),
            ("GATEWAY_UPSTREAM_TOKEN", upstream.token().to_owned()),
            ("GATEWAY_JWT_SECRET", SECRET.to_owned()),
            ("GATEWAY_CACHE_TTL_SECS", "86400".to_owned()),
        ];
        let settings = Settings::load(None, |name| {
            env.iter()
                .find(|(key, _)| *key == name)
                .map(|(_, value)| value.clone())
        })
        .expect("settings");
        let app = Application::build(settings)
            .await
            .expect("the gateway builds");
        (app.router(), upstream)
    });
    let token = jsonwebtoken::encode(
        &jsonwebtoken::Header::default(),
        &serde_json::json!({ "sub": "fuzz", "exp": 4_000_000_000u64 }),
        &jsonwebtoken::EncodingKey::from_secret(SECRET.as_bytes()),
    )
    .expect("a token");
    let harness = Harness {
        runtime,
        router,
        token,
        _upstream: upstream,
    };
    // Warm the cache: from here on every answer comes from the in-memory snapshot.
    post(
        &harness,
        br#"{"query":"{ customers { totalCount } customer(id: \"x\") { id } }"}"#.to_vec(),
    );
    harness
});

fn post(harness: &Harness, body: Vec<u8>) {
    harness.runtime.block_on(async {
        let request = Request::post("/graphql")
            .header("content-type", "application/json")
            .header("accept", "application/graphql-response+json")
            .header("authorization", format!("Bearer {}", harness.token))
            .body(Body::from(body))
            .expect("a request");
        let response = harness
            .router
            .clone()
            .oneshot(request)
            .await
            .expect("an answer");
        let status = response.status();
        assert!(!status.is_server_error(), "a {status} answer");
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .expect("a body");
        let answer: serde_json::Value = serde_json::from_slice(&bytes).expect("the answer is JSON");
        assert!(
            answer.get("data").is_some() || answer["errors"][0]["message"].is_string(),
            "a GraphQL answer: {answer}"
        );
    });
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let body = if mode % 2 == 0 {
        rest.to_vec()
    } else {
        let query = String::from_utf8_lossy(rest);
        serde_json::json!({ "query": query })
            .to_string()
            .into_bytes()
    };
    post(&HARNESS, body);
});
