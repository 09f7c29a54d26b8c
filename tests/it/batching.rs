//! Batched POSTs (a JSON array, as Apollo Client's `BatchHttpLink` sends): answers in order,
//! each as it would be alone; `GATEWAY_LIMITS_BATCH`, an empty batch, the upstream requests of
//! the whole batch and the rate limit per operation.

use serde_json::{Value, json};

use crate::common::{Options, TestGateway, error_code, spawn, spawn_with, token};

async fn batch(gateway: &TestGateway, body: &Value) -> (u16, Value) {
    let response = gateway.post(body, Some(&token())).await;
    (response.status().as_u16(), response.json().await.unwrap())
}

#[tokio::test]
async fn a_batch_is_answered_in_order_each_operation_as_it_would_be_alone() {
    let gateway = spawn().await;
    let operations = [
        json!({ "query": "query Total { customers { totalCount } }" }),
        json!({ "query": "{ customers { nope } }" }),
        json!({ "query": "query One($id: ID!) { customer(id: $id) { id } }",
                "variables": { "id": gateway.upstream_ids()[3] } }),
        json!({ "queryy": "{ __typename }" }),
        json!({ "query": format!(
            "{{ customers {{ nodes {{ {} id {} }} }} }}",
            "products { customer { ".repeat(8),
            "} } ".repeat(8)
        ) }),
    ];
    let (status, answers) = batch(&gateway, &json!(operations)).await;
    assert_eq!(status, 200, "{answers}");
    let answers = answers.as_array().unwrap();
    assert_eq!(answers.len(), 5);
    for (operation, answer) in operations.iter().zip(answers).take(3) {
        let alone: Value = gateway
            .post(operation, Some(&token()))
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(*answer, alone, "{operation}");
    }
    assert_eq!(error_code(&answers[1]), "GRAPHQL_VALIDATION_FAILED");
    assert_eq!(error_code(&answers[3]), "BAD_REQUEST");
    assert_eq!(
        error_code(&answers[4]),
        "QUERY_TOO_DEEP",
        "priced on its own"
    );
}

#[tokio::test]
async fn too_many_operations_an_empty_batch_and_too_many_upstream_requests_refuse_the_batch() {
    let gateway = spawn_with(
        Options::default()
            .set("GATEWAY_LIMITS_BATCH", 10)
            .set("GATEWAY_LIMITS_UPSTREAM_REQUESTS", 40),
    )
    .await;
    let total = json!({ "query": "{ customers { totalCount } }" });
    let (status, refused) = batch(&gateway, &json!(vec![total.clone(); 11])).await;
    assert_eq!((status, error_code(&refused)), (400, "BAD_REQUEST"));
    assert!(
        refused.to_string().contains("GATEWAY_LIMITS_BATCH"),
        "{refused}"
    );
    let (status, refused) = batch(&gateway, &json!([])).await;
    assert_eq!(
        (status, error_code(&refused)),
        (400, "BAD_REQUEST"),
        "{refused}"
    );

    // Each reads 10 customers' jobs: within the limit alone, 100 together.
    gateway.data("{ customers(first: 1) { totalCount } }").await;
    let jobs = json!({ "query": "{ customers(first: 10) { nodes { backupJobs { status } } } }" });
    let before = gateway.upstream.partner_requests("jobs");
    // Refused as one request would be (200 in `application/json`, as for a lone query).
    let (status, refused) = batch(&gateway, &json!(vec![jobs.clone(); 10])).await;
    assert_eq!(
        (status, error_code(&refused)),
        (200, "QUERY_TOO_COMPLEX"),
        "{refused}"
    );
    assert!(refused.is_object(), "one refusal, not an array: {refused}");
    assert!(refused.to_string().contains("100"), "{refused}");
    assert_eq!(
        gateway.upstream.partner_requests("jobs"),
        before,
        "nothing was read"
    );
    let (status, answers) = batch(&gateway, &json!(vec![jobs; 2])).await;
    assert_eq!(status, 200);
    assert!(
        answers[1]["data"]["customers"]["nodes"].is_array(),
        "{answers}"
    );
}

#[tokio::test]
async fn each_operation_takes_one_request_from_the_rate_limit() {
    let gateway = spawn_with(
        Options::default()
            .set("GATEWAY_LIMITS_RATE_PER_MINUTE", 3)
            .set("GATEWAY_LIMITS_RATE_BURST", 3),
    )
    .await;
    let total = json!({ "query": "{ customers { totalCount } }" });
    let (status, answers) = batch(&gateway, &json!(vec![total; 5])).await;
    assert_eq!(status, 200, "{answers}");
    let codes: Vec<_> = answers
        .as_array()
        .unwrap()
        .iter()
        .map(|answer| match answer.get("errors") {
            Some(_) => error_code(answer).to_owned(),
            None => "ok".to_owned(),
        })
        .collect();
    assert_eq!(codes, ["ok", "ok", "ok", "RATE_LIMITED", "RATE_LIMITED"]);
}
