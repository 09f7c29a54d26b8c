//! Caller protection: every limit refuses with an error naming it, every kind of bad input
//! gets a 4xx with a GraphQL-shaped body, the per-caller rate limit, and request ids.

use serde_json::{Value, json};

use crate::common::{Options, SECRET, TestGateway, sign, spawn, spawn_with, token, valid_claims};

const GRAPHQL_RESPONSE: &str = "application/graphql-response+json";

/// POSTs a raw body with a valid token, asking for `accept`.
async fn post_raw(gateway: &TestGateway, accept: &str, body: Vec<u8>) -> reqwest::Response {
    gateway
        .client
        .post(gateway.url("/graphql"))
        .bearer_auth(token())
        .header("content-type", "application/json")
        .header("accept", accept)
        .body(body)
        .send()
        .await
        .expect("the gateway answers")
}

/// Status and body of a refused request, checking the body is GraphQL-shaped with no `data`.
async fn refusal(response: reqwest::Response) -> (u16, String, String) {
    let status = response.status().as_u16();
    let body: Value = response.json().await.expect("a JSON body");
    assert!(body.get("data").is_none(), "{body}");
    let error = &body["errors"][0];
    (
        status,
        error["extensions"]["code"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
        error["message"].as_str().unwrap_or_default().to_owned(),
    )
}

async fn refused(gateway: &TestGateway, accept: &str, body: Value) -> (u16, String, String) {
    refusal(post_raw(gateway, accept, body.to_string().into_bytes()).await).await
}

#[tokio::test]
async fn each_query_limit_refuses_with_its_code_and_setting_before_the_upstream_is_asked() {
    let gateway = spawn_with(
        Options::default()
            .set("GATEWAY_LIMITS_DEPTH", 4)
            .set("GATEWAY_LIMITS_COMPLEXITY", 300)
            .set("GATEWAY_LIMITS_ROOT_FIELDS", 2)
            .set("GATEWAY_LIMITS_ALIASES", 1),
    )
    .await;
    let before = gateway.upstream_requests();
    for (query, code, setting) in [
        (
            "{ products { customer { products { customer { id } } } } }",
            "QUERY_TOO_DEEP",
            "GATEWAY_LIMITS_DEPTH",
        ),
        (
            "{ customers(first: 100) { nodes { id email organization } } }",
            "QUERY_TOO_COMPLEX",
            "GATEWAY_LIMITS_COMPLEXITY",
        ),
        (
            "{ __typename products { service } customers { totalCount } }",
            "TOO_MANY_ROOT_FIELDS",
            "GATEWAY_LIMITS_ROOT_FIELDS",
        ),
        (
            "{ a: products { service } b: products { service } }",
            "TOO_MANY_ALIASES",
            "GATEWAY_LIMITS_ALIASES",
        ),
    ] {
        let body = json!({ "query": query });
        let (status, got, message) = refused(&gateway, GRAPHQL_RESPONSE, body.clone()).await;
        assert_eq!((status, got.as_str()), (400, code), "{query}: {message}");
        assert!(message.contains(setting), "{message}");
        // In legacy application/json a request error is 200, as GraphQL over HTTP asks.
        let (status, got, _) = refused(&gateway, "application/json", body).await;
        assert_eq!((status, got.as_str()), (200, code));
    }
    // Within the limits, the same shapes run. Nothing is cached yet, so the assumed sizes
    // (10,000 products) refuse this one until the snapshot is read; the date window then
    // holds no product, so it costs 1.
    gateway
        .data(r#"{ products(filter: {expiringBefore: "1900-01-01"}) { customer { products { service } } } }"#)
        .await;
    assert_eq!(
        gateway
            .metric("gateway_request_refusals_total{check=\"QUERY_TOO_DEEP\"}")
            .await,
        2.0
    );
    assert_eq!(
        gateway.upstream_requests() - before,
        3,
        "only the last query read"
    );
}

#[tokio::test]
async fn body_and_query_text_limits_are_413_naming_their_setting() {
    let gateway = spawn_with(
        Options::default()
            .set("GATEWAY_LIMITS_BODY_BYTES", 2_000)
            .set("GATEWAY_LIMITS_QUERY_BYTES", 100),
    )
    .await;
    let padded = json!({ "query": "{ __typename }", "variables": { "pad": "x".repeat(3_000) } });
    let (status, code, message) = refused(&gateway, GRAPHQL_RESPONSE, padded).await;
    assert_eq!((status, code.as_str()), (413, "PAYLOAD_TOO_LARGE"));
    assert!(message.contains("GATEWAY_LIMITS_BODY_BYTES"), "{message}");

    let long = json!({ "query": format!("{{ __typename {} }}", "__typename ".repeat(20)) });
    let (status, code, message) = refused(&gateway, GRAPHQL_RESPONSE, long).await;
    assert_eq!((status, code.as_str()), (413, "QUERY_TOO_LARGE"));
    assert!(message.contains("GATEWAY_LIMITS_QUERY_BYTES"), "{message}");
    let url = format!("/graphql?query={}", "%7B__typename%7D".repeat(20));
    let response = gateway
        .client
        .get(gateway.url(&url))
        .bearer_auth(token())
        .send()
        .await
        .unwrap();
    assert_eq!(refusal(response).await.1, "QUERY_TOO_LARGE");
}

#[tokio::test]
async fn oversized_headers_are_431_and_the_gateway_keeps_serving() {
    let gateway = spawn_with(Options::default().set("GATEWAY_LIMITS_HEADER_BYTES", 4_096)).await;
    let big = "x".repeat(8_000);
    let response = gateway
        .client
        .post(gateway.url("/graphql"))
        .bearer_auth(token())
        .header("x-padding", &big)
        .json(&json!({ "query": "{ __typename }" }))
        .send()
        .await
        .unwrap();
    let (status, code, message) = refusal(response).await;
    assert_eq!((status, code.as_str()), (431, "HEADERS_TOO_LARGE"));
    assert!(message.contains("GATEWAY_LIMITS_HEADER_BYTES"), "{message}");
    // Far past any limit hyper answers 431 itself; the connection is not just dropped.
    let huge = "x".repeat(600_000);
    let response = gateway
        .client
        .get(gateway.url("/healthz"))
        .header("x-padding", &huge)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 431);
    assert_eq!(gateway.get("/healthz").await.status(), 200);
}

#[tokio::test]
async fn bad_input_is_a_4xx_with_a_graphql_shaped_error_and_asks_nothing_upstream() {
    let gateway = spawn().await;
    let before = gateway.upstream_requests();
    let cases: Vec<(&str, Vec<u8>, u16, &str)> = vec![
        ("malformed JSON", b"{\"query\": ".to_vec(), 400, "BAD_REQUEST"),
        (
            "invalid UTF-8",
            b"{\"query\": \"{ customers { totalCount } }\xff\xfe\"}".to_vec(),
            400,
            "BAD_REQUEST",
        ),
        (
            "a document that does not parse",
            json!({ "query": "{ customers { " }).to_string().into_bytes(),
            400,
            "GRAPHQL_PARSE_FAILED",
        ),
        (
            "a wrong variable type",
            json!({ "query": "query ($n: Int) { customers(first: $n) { totalCount } }", "variables": { "n": "ten" } })
                .to_string()
                .into_bytes(),
            400,
            "GRAPHQL_VALIDATION_FAILED",
        ),
        (
            "an unknown operation name",
            json!({ "query": "query A { __typename }", "operationName": "B" })
                .to_string()
                .into_bytes(),
            400,
            "GRAPHQL_VALIDATION_FAILED",
        ),
        (
            "a bad DateTime literal",
            json!({ "query": "{ products(filter: {expiringBefore: \"next tuesday\"}) { service } }" })
                .to_string()
                .into_bytes(),
            400,
            "GRAPHQL_VALIDATION_FAILED",
        ),
    ];
    for (what, body, status, code) in cases {
        let (got_status, got_code, message) =
            refusal(post_raw(&gateway, GRAPHQL_RESPONSE, body).await).await;
        assert_eq!(
            (got_status, got_code.as_str()),
            (status, code),
            "{what}: {message}"
        );
        assert!(!message.is_empty(), "{what}");
    }
    // Wrong content type, and bytes that are not UTF-8 once a GET's URL is decoded.
    let response = gateway
        .client
        .post(gateway.url("/graphql"))
        .bearer_auth(token())
        .header("content-type", "text/plain")
        .body("{ __typename }")
        .send()
        .await
        .unwrap();
    assert_eq!(refusal(response).await.0, 415);
    let response = gateway
        .client
        .get(gateway.url("/graphql?query=%7B%20__typename%20%FF%7D"))
        .bearer_auth(token())
        .send()
        .await
        .unwrap();
    let (status, code, message) = refusal(response).await;
    assert_eq!((status, code.as_str()), (400, "BAD_REQUEST"));
    assert!(message.contains("UTF-8"), "{message}");
    assert_eq!(gateway.upstream_requests(), before);
}

#[tokio::test]
async fn a_bad_cursor_is_its_fields_error_and_asks_nothing_upstream() {
    let gateway = spawn().await;
    let before = gateway.upstream_requests();
    // An error of its field, not of the request: the non-null connection nulls up to `data`
    // (294).
    for (what, body) in [
        (
            "a bad cursor",
            json!({ "query": "{ customers(after: \"bm90LWEtY3Vyc29y\") { totalCount } }" }),
        ),
        (
            "a bad cursor in a variable",
            json!({ "query": "query ($c: String) { customers(before: $c, last: 2) { totalCount } }", "variables": { "c": "%%%" } }),
        ),
    ] {
        let response = post_raw(&gateway, GRAPHQL_RESPONSE, body.to_string().into_bytes()).await;
        assert_eq!(response.status().as_u16(), 294, "{what}");
        let answer: Value = response.json().await.unwrap();
        assert_eq!(answer["data"], Value::Null, "{what}: {answer}");
        assert!(answer.as_object().unwrap().contains_key("data"), "{what}");
        assert_eq!(
            answer["errors"][0]["extensions"]["code"], "BAD_USER_INPUT",
            "{what}"
        );
        assert_eq!(answer["errors"][0]["path"], json!(["customers"]), "{what}");
    }
    assert_eq!(gateway.upstream_requests(), before);
}

#[tokio::test]
async fn the_rate_limit_is_per_caller_with_429_and_retry_after() {
    let gateway = spawn_with(
        Options::default()
            .set("GATEWAY_LIMITS_RATE_PER_MINUTE", 60)
            .set("GATEWAY_LIMITS_RATE_BURST", 2),
    )
    .await;
    let as_subject = |subject: &str| {
        let mut claims = valid_claims();
        claims["sub"] = subject.into();
        sign(&claims, jsonwebtoken::Algorithm::HS256, SECRET)
    };
    let query = json!({ "query": "{ __typename }" });
    let alice = as_subject("alice");
    for _ in 0..2 {
        assert_eq!(gateway.post(&query, Some(&alice)).await.status(), 200);
    }
    let refused = gateway.post(&query, Some(&alice)).await;
    assert_eq!(refused.status(), 429);
    assert_eq!(refused.headers()["retry-after"], "1");
    let body: Value = refused.json().await.unwrap();
    assert_eq!(body["errors"][0]["extensions"]["code"], "RATE_LIMITED");
    assert_eq!(
        gateway
            .post(&query, Some(&as_subject("bob")))
            .await
            .status(),
        200
    );
    // Tokens without `sub` do not share one bucket: each token has its own.
    let anonymous = |nonce: u64| {
        let mut claims = valid_claims();
        claims.as_object_mut().unwrap().remove("sub");
        claims["jti"] = nonce.into();
        sign(&claims, jsonwebtoken::Algorithm::HS256, SECRET)
    };
    let first = anonymous(1);
    for _ in 0..2 {
        assert_eq!(gateway.post(&query, Some(&first)).await.status(), 200);
    }
    assert_eq!(gateway.post(&query, Some(&first)).await.status(), 429);
    assert_eq!(
        gateway.post(&query, Some(&anonymous(2))).await.status(),
        200
    );
}

#[tokio::test]
async fn every_answer_carries_a_request_id_the_callers_own_when_it_is_sane() {
    let gateway = spawn().await;
    let generated = gateway.get("/healthz").await;
    let id = generated.headers()["x-request-id"].to_str().unwrap();
    assert_eq!(id.len(), 24, "{id}");
    let echoed = gateway
        .client
        .get(gateway.url("/healthz"))
        .header("x-request-id", "trace-42.a")
        .send()
        .await
        .unwrap();
    assert_eq!(echoed.headers()["x-request-id"], "trace-42.a");
    let replaced = gateway
        .client
        .get(gateway.url("/healthz"))
        .header("x-request-id", "no spaces or <tags> please")
        .send()
        .await
        .unwrap();
    let fresh = replaced.headers()["x-request-id"].to_str().unwrap();
    assert!(
        fresh.len() == 24 && fresh.bytes().all(|byte| byte.is_ascii_hexdigit()),
        "{fresh}"
    );
    let refused = gateway
        .post(&json!({ "query": "{ __typename }" }), None)
        .await;
    assert!(refused.headers().contains_key("x-request-id"));
}

#[tokio::test]
async fn the_full_introspection_query_of_graphql_js_passes_the_default_limits() {
    // `getIntrospectionQuery` of graphql 16 with every option on, as GraphiQL sends it.
    let query = include_str!("../fixtures/introspection.graphql");
    let gateway = spawn().await;
    let data = gateway.data(query).await;
    assert_eq!(data["__schema"]["queryType"]["name"], "Query");
}
