//! Partial answers as the GraphQL specification says: under the upstream's faults, a failed
//! field is `null` with its error, never missing, and a failed non-null field nulls its nearest
//! nullable ancestor, up to `data: null`.

use std::collections::BTreeSet;

use elements_gateway::mock_upstream::{Fault, FaultScope};
use serde_json::{Value, json};

use crate::common::{Options, TestGateway, spawn_with, token};

const DOWN: Fault = Fault::ServerError { status: 503 };

/// A gateway that tries the upstream once, whose upstream fails as `scope` says.
pub(crate) async fn failing(scope: FaultScope) -> TestGateway {
    let gateway = spawn_with(
        Options::default()
            .set("GATEWAY_UPSTREAM_MAX_ATTEMPTS", 1)
            .set("GATEWAY_UPSTREAM_BREAKER_FAILURES", 0)
            .set("GATEWAY_UPSTREAM_PAGES_AHEAD", 0),
    )
    .await;
    gateway.upstream.set_fault_where(DOWN, scope, None);
    gateway
}

/// The error paths of an answer, each as its response keys joined with dots.
pub(crate) fn error_paths(answer: &Value) -> BTreeSet<String> {
    answer["errors"]
        .as_array()
        .map(|errors| {
            errors
                .iter()
                .map(|error| {
                    let path = error["path"].as_array().cloned().unwrap_or_default();
                    path.iter()
                        .map(|segment| segment.to_string().trim_matches('"').to_owned())
                        .collect::<Vec<_>>()
                        .join(".")
                })
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test]
async fn a_failed_nullable_root_field_is_null_beside_the_others() {
    let gateway = failing(FaultScope::All).await;
    let answer = gateway
        .query(r#"{ __typename customer(id: "c1") { id } }"#)
        .await;
    assert_eq!(
        answer["data"],
        json!({ "__typename": "Query", "customer": null }),
        "{answer}"
    );
    assert_eq!(
        error_paths(&answer),
        BTreeSet::from(["customer".to_owned()])
    );
    assert_eq!(
        answer["errors"][0]["extensions"]["code"],
        "UPSTREAM_UNAVAILABLE"
    );
    assert!(answer["errors"][0]["locations"].is_array(), "{answer}");

    // Alone: async-graphql would answer `data: null` here.
    let answer = gateway
        .query(r#"{ a: customer(id: "c1") { id } b: customer(id: "c2") { id } }"#)
        .await;
    assert_eq!(answer["data"], json!({ "a": null, "b": null }), "{answer}");
}

#[tokio::test]
async fn a_failed_non_null_root_field_nulls_the_whole_answer() {
    let gateway = failing(FaultScope::All).await;
    for query in [
        r#"{ __typename a: customer(id: "c1") { id } products { service } }"#,
        "{ __typename customers { totalCount } }",
        "{ products { service } }",
    ] {
        let answer = gateway.query(query).await;
        assert!(answer.get("data").is_some(), "{answer}");
        assert_eq!(answer["data"], Value::Null, "{query}: {answer}");
        assert!(!error_paths(&answer).is_empty(), "{answer}");
    }
}

#[tokio::test]
async fn a_failure_beside_a_success_keeps_the_success() {
    // Per-id reads fail, the listing answers.
    let gateway = failing(FaultScope::Ids).await;
    let answer = gateway
        .query(r#"{ mine: customer(id: "c1") { id } customers(first: 1) { totalCount } }"#)
        .await;
    assert_eq!(answer["data"]["mine"], Value::Null, "{answer}");
    assert_eq!(answer["data"]["customers"]["totalCount"], 120, "{answer}");
    assert_eq!(error_paths(&answer), BTreeSet::from(["mine".to_owned()]));
}

#[tokio::test]
async fn aliases_fragments_and_directives_keep_their_meaning() {
    let gateway = failing(FaultScope::All).await;
    let query = r#"query Q($no: Boolean = false) {
        ...Root
        ... on Query { again: customer(id: "c2") { ...C } }
        skipped: customer(id: "c3") @include(if: $no) { id }
        kept: customer(id: "c4") @skip(if: $no) { id }
    }
    fragment Root on Query { __typename first: customer(id: "c1") { ...C } }
    fragment C on Customer { id organization }"#;
    let answer = gateway.query(query).await;
    assert_eq!(
        answer["data"],
        json!({ "__typename": "Query", "first": null, "again": null, "kept": null }),
        "{answer}"
    );
    assert_eq!(error_paths(&answer).len(), 3, "{answer}");
}

#[tokio::test]
async fn get_answers_and_shared_answers_have_the_same_shape() {
    let gateway = failing(FaultScope::All).await;
    let query = r#"{ __typename customer(id: "c1") { id } }"#;
    let url = format!("/graphql?query={}", percent_encode(query));
    let response = gateway
        .client
        .get(gateway.url(&url))
        .bearer_auth(token())
        .send()
        .await
        .unwrap();
    let answer: Value = response.json().await.unwrap();
    assert_eq!(
        answer["data"],
        json!({ "__typename": "Query", "customer": null })
    );

    // Identical POSTs in flight share one execution, and its completed bytes.
    gateway
        .upstream
        .set_latency(std::time::Duration::from_millis(200));
    let body = json!({ "query": query });
    let answers = futures::future::join_all((0..5).map(|_| async {
        gateway
            .post(&body, Some(&token()))
            .await
            .json::<Value>()
            .await
    }))
    .await;
    for answer in answers {
        let answer = answer.unwrap();
        assert_eq!(
            answer["data"],
            json!({ "__typename": "Query", "customer": null })
        );
    }
}

fn percent_encode(text: &str) -> String {
    text.bytes()
        .map(|byte| match byte {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'_' | b'.' => {
                (byte as char).to_string()
            }
            _ => format!("%{byte:02X}"),
        })
        .collect()
}

#[tokio::test]
async fn a_stale_answer_has_no_error_and_no_null() {
    let gateway = spawn_with(
        Options::default()
            .set("GATEWAY_CACHE_TTL_SECS", 1)
            .set("GATEWAY_UPSTREAM_MAX_ATTEMPTS", 1),
    )
    .await;
    let ids = gateway.upstream_ids();
    let query = format!(r#"{{ __typename customer(id: "{}") {{ id }} }}"#, ids[0]);
    gateway.data("{ customers(first: 0) { totalCount } }").await;
    gateway.upstream.set_fault(DOWN);
    gateway.advance(std::time::Duration::from_millis(1_100));
    let answer = gateway.query(&query).await;
    assert!(answer["errors"].is_null(), "{answer}");
    assert_eq!(answer["data"]["customer"]["id"], ids[0]);
    assert!(answer["extensions"]["stale"].is_object(), "{answer}");
}

/// One `customer(id)` that fails beside one the cache holds: the cached one is answered and
/// only the other is null with its error, whichever executor answers (the second time the
/// document comes, it is the fast one).
#[tokio::test]
async fn a_failed_id_fails_alone_and_cached_customers_are_still_answered() {
    let gateway = spawn_with(Options::default().set("GATEWAY_UPSTREAM_MAX_ATTEMPTS", 1)).await;
    let ids = gateway.upstream_ids();
    // Read by id on a cold gateway: the customer cache holds it, no snapshot is read.
    gateway
        .data(&format!(r#"{{ customer(id: "{}") {{ id }} }}"#, ids[0]))
        .await;
    gateway.upstream.set_fault(DOWN);
    let query = format!(
        r#"{{ kept: customer(id: "{}") {{ id }} lost: customer(id: "{}") {{ id }} }}"#,
        ids[0], ids[1]
    );
    for round in ["first", "again"] {
        let answer = gateway.query(&query).await;
        assert_eq!(answer["data"]["kept"]["id"], ids[0], "{round}: {answer}");
        assert!(answer["data"]["lost"].is_null(), "{round}: {answer}");
        assert_eq!(
            error_paths(&answer),
            BTreeSet::from(["lost".to_owned()]),
            "{round}"
        );
        assert_eq!(
            answer["errors"][0]["extensions"]["code"], "UPSTREAM_UNAVAILABLE",
            "{round}"
        );
    }
}

#[tokio::test]
async fn timeouts_and_an_open_circuit_give_the_same_shape() {
    // The request deadline passes while the upstream is slow.
    let slow = spawn_with(Options::default().set("GATEWAY_LIMITS_REQUEST_TIMEOUT_MS", 300)).await;
    slow.upstream
        .set_latency(std::time::Duration::from_millis(2_000));
    let query = r#"{ __typename customer(id: "c1") { id } }"#;
    let answer = slow.query(query).await;
    assert_eq!(
        answer["data"],
        json!({ "__typename": "Query", "customer": null }),
        "{answer}"
    );
    assert_eq!(
        answer["errors"][0]["extensions"]["code"],
        "UPSTREAM_TIMEOUT"
    );

    // The breaker opens after one failure and then answers for the upstream.
    let broken = spawn_with(
        Options::default()
            .set("GATEWAY_UPSTREAM_MAX_ATTEMPTS", 1)
            .set("GATEWAY_UPSTREAM_BREAKER_FAILURES", 1)
            .set("GATEWAY_UPSTREAM_BREAKER_COOLDOWN_MS", 60_000),
    )
    .await;
    broken.upstream.set_fault(DOWN);
    broken.query(query).await;
    let answer = broken
        .query(r#"{ __typename customer(id: "c2") { id } }"#)
        .await;
    assert_eq!(
        answer["data"],
        json!({ "__typename": "Query", "customer": null }),
        "{answer}"
    );
    assert!(
        answer["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("circuit open"),
        "{answer}"
    );
}

#[tokio::test]
async fn data_with_errors_is_294_in_the_graphql_response_type_and_200_in_json() {
    let gateway = failing(FaultScope::All).await;
    let body = json!({ "query": r#"{ __typename customer(id: "c1") { id } }"# });
    let ask = |accept: &'static str| {
        gateway
            .client
            .post(gateway.url("/graphql"))
            .bearer_auth(token())
            .header("accept", accept)
            .json(&body)
            .send()
    };
    let partial = ask("application/graphql-response+json").await.unwrap();
    assert_eq!(partial.status().as_u16(), 294, "Partial Success");
    let answer: Value = partial.json().await.unwrap();
    assert_eq!(answer["data"]["__typename"], "Query", "{answer}");
    assert!(answer["errors"].is_array(), "{answer}");

    let legacy = ask("application/json").await.unwrap();
    assert_eq!(
        legacy.status(),
        200,
        "application/json keeps 200 for legacy clients"
    );

    // `data: null` with errors is a partial success too.
    let null_data = json!({ "query": "{ products { service } }" });
    let all_null = gateway
        .client
        .post(gateway.url("/graphql"))
        .bearer_auth(token())
        .header("accept", "application/graphql-response+json")
        .json(&null_data)
        .send()
        .await
        .unwrap();
    assert_eq!(all_null.status().as_u16(), 294);
    let answer: Value = all_null.json().await.unwrap();
    assert!(
        answer["data"].is_null() && answer.get("data").is_some(),
        "{answer}"
    );
}
