//! The HTTP surface: GraphQL over HTTP (POST, GET, negotiation, status codes), refusals of
//! bad input, health, readiness and metrics.

use serde_json::{Value, json};

use crate::common::{TestGateway, spawn, token};

async fn raw_post(
    gateway: &TestGateway,
    content_type: &str,
    accept: &str,
    body: &str,
) -> reqwest::Response {
    gateway
        .client
        .post(gateway.url("/graphql"))
        .bearer_auth(token())
        .header("content-type", content_type)
        .header("accept", accept)
        .body(body.to_owned())
        .send()
        .await
        .unwrap()
}

/// Checks the answer's media type (its parameters, such as charset, aside).
fn assert_content_type(response: &reqwest::Response, media_type: &str) {
    let content_type = response.headers()["content-type"].to_str().unwrap();
    assert!(content_type.starts_with(media_type), "{content_type}");
}

async fn graphql_error(response: reqwest::Response) -> (u16, Value) {
    let status = response.status().as_u16();
    let body: Value = response.json().await.expect("a JSON body");
    assert!(
        body["errors"][0]["message"].is_string(),
        "GraphQL-shaped: {body}"
    );
    (status, body)
}

#[tokio::test]
async fn malformed_bodies_are_400_with_graphql_shaped_errors() {
    let gateway = spawn().await;
    for (body, needle) in [
        ("{ \"query\": ", "not valid JSON"),
        ("", "empty"),
        ("[{\"query\": ", "not a JSON array"),
        ("[]", "batch is empty"),
        ("\"just a string\"", "JSON object"),
        ("{\"qeury\":\"{ __typename }\"}", "no `query`"),
        ("{\"query\": 42}", "`query` must be a string"),
        (
            "{\"query\":\"{ __typename }\",\"variables\":[1]}",
            "`variables`",
        ),
        (
            "{\"query\":\"{ __typename }\",\"operationName\":7}",
            "`operationName`",
        ),
    ] {
        let (status, answer) =
            graphql_error(raw_post(&gateway, "application/json", "application/json", body).await)
                .await;
        assert_eq!(status, 400, "{body}");
        assert_eq!(answer["errors"][0]["extensions"]["code"], "BAD_REQUEST");
        assert!(
            answer["errors"][0]["message"]
                .as_str()
                .unwrap()
                .contains(needle),
            "{answer}"
        );
    }
}

#[tokio::test]
async fn non_json_content_types_are_refused_so_forms_cannot_forge_requests() {
    let gateway = spawn().await;
    let before = gateway.upstream_requests();
    for content_type in [
        "text/plain",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
        "application/json; charset=latin1",
    ] {
        let (status, _) = graphql_error(
            raw_post(
                &gateway,
                content_type,
                "application/json",
                "{\"query\":\"{ customers { totalCount } }\"}",
            )
            .await,
        )
        .await;
        assert_eq!(status, 415, "{content_type}");
    }
    assert_eq!(gateway.upstream_requests(), before);
}

#[tokio::test]
async fn oversized_bodies_are_413() {
    let gateway = spawn().await;
    let body =
        json!({ "query": "{ __typename }", "variables": { "pad": "x".repeat(2 * 1024 * 1024) } })
            .to_string();
    let (status, _) =
        graphql_error(raw_post(&gateway, "application/json", "application/json", &body).await)
            .await;
    assert_eq!(status, 413);
}

#[tokio::test]
async fn the_answer_type_follows_accept_and_so_does_the_status_of_request_errors() {
    let gateway = spawn().await;
    let invalid = "{\"query\":\"{ noSuchField }\"}";
    let response = raw_post(
        &gateway,
        "application/json",
        "application/graphql-response+json",
        invalid,
    )
    .await;
    assert_eq!(response.status(), 400);
    assert_content_type(&response, "application/graphql-response+json");
    let body: Value = response.json().await.unwrap();
    assert!(
        body.get("data").is_none(),
        "no data entry on a validation failure"
    );

    let response = raw_post(&gateway, "application/json", "application/json", invalid).await;
    assert_eq!(response.status(), 200);
    assert_content_type(&response, "application/json");

    let response = raw_post(
        &gateway,
        "application/json",
        "*/*",
        "{\"query\":\"{ __typename }\"}",
    )
    .await;
    assert_eq!(response.status(), 200);
    assert_content_type(&response, "application/json");
    assert_eq!(
        response.json::<Value>().await.unwrap()["data"]["__typename"],
        "Query"
    );

    let response = raw_post(
        &gateway,
        "application/json",
        "text/xml",
        "{\"query\":\"{ __typename }\"}",
    )
    .await;
    assert_eq!(response.status(), 406);

    let response = raw_post(
        &gateway,
        "application/json",
        "application/graphql-response+json",
        "{\"query\":\"{ __typename\"}",
    )
    .await;
    assert_eq!(response.status(), 400, "a parse failure");
}

#[tokio::test]
async fn get_runs_queries_but_never_mutations() {
    let gateway = spawn().await;
    let response = gateway
        .client
        .get(gateway.url("/graphql"))
        .query(&[
            (
                "query",
                "query Q($n: Int) { customers(first: $n) { nodes { id } } }",
            ),
            ("variables", "{\"n\": 2}"),
            ("operationName", "Q"),
        ])
        .bearer_auth(token())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(
        body["data"]["customers"]["nodes"].as_array().unwrap().len(),
        2
    );

    // The first page was answered early; `totalCount` waits until the read is complete.
    gateway.data("{ customers { totalCount } }").await;
    let before = gateway.upstream_requests();
    let response = gateway
        .client
        .get(gateway.url("/graphql"))
        .query(&[("query", "mutation { __typename }")])
        .header("accept", "application/graphql-response+json")
        .bearer_auth(token())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 405);
    assert_eq!(response.headers()["allow"], "POST");
    assert_eq!(gateway.upstream_requests(), before);
}

#[tokio::test]
async fn health_readiness_and_metrics() {
    let gateway = spawn().await;
    let primed = gateway.get("/metrics").await.text().await.unwrap();
    // The series alerts take rates of exist from the start, at zero.
    for line in [
        "gateway_graphql_answers_total{source=\"stale\"} 0",
        "gateway_upstream_requests_total{endpoint=\"services\",outcome=\"UPSTREAM_RATE_LIMITED\"} 0",
        "gateway_upstream_requests_total{endpoint=\"jobs\",outcome=\"UPSTREAM_RATE_LIMITED\"} 0",
        "gateway_cache_stale_served_total{cache=\"snapshot\",reason=\"upstream_error\"} 0",
    ] {
        assert!(primed.contains(line), "{line} in\n{primed}");
    }
    assert!(
        !primed.contains("gateway_redis_fallbacks_total{"),
        "no Redis, no Redis series"
    );
    assert_eq!(gateway.get("/healthz").await.status(), 200);
    assert_eq!(gateway.get("/readyz").await.status(), 200);
    gateway.data("{ customers { totalCount } }").await;
    gateway.data("{ customers { totalCount } }").await;
    let response = gateway.get("/metrics").await;
    assert_content_type(&response, "text/plain");
    let text = response.text().await.unwrap();
    for line in [
        "gateway_graphql_requests_total{operation=\"anonymous\",outcome=\"ok\"} 2",
        "gateway_upstream_requests_total{endpoint=\"services\",outcome=\"OK\"}",
        "gateway_cache_lookups_total{cache=\"snapshot\",result=\"hit\"} 1",
        "gateway_cache_lookups_total{cache=\"snapshot\",result=\"miss\"} 1",
        "gateway_graphql_answers_total{source=\"fresh\"} 2",
    ] {
        assert!(text.contains(line), "{line} in\n{text}");
    }
}

#[tokio::test]
async fn graphiql_and_its_assets_come_from_the_gateway_itself() {
    let gateway = spawn().await;
    let page = gateway
        .client
        .get(gateway.url("/graphql"))
        .header("accept", "text/html")
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    let csp = page.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(csp.starts_with("default-src 'self'"), "{csp}");
    let html = page.text().await.unwrap();
    assert!(
        !html.contains("https://"),
        "the page loads nothing from elsewhere:\n{html}"
    );
    assert!(
        !html.contains("data-headers") && !html.contains("Bearer"),
        "outside the demo the page carries no token:\n{html}"
    );
    let assets: Vec<&str> = html
        .split(['"', '\''])
        .filter(|part| part.starts_with("/graphiql/"))
        .collect();
    assert_eq!(assets.len(), 2, "a script and a style sheet in\n{html}");
    for asset in assets {
        let plain = gateway.get(asset).await;
        assert_eq!(plain.status(), 200, "{asset}");
        assert!(plain.headers().get("content-encoding").is_none());
        assert!(
            plain.headers()["cache-control"]
                .to_str()
                .unwrap()
                .contains("immutable")
        );
        let expected = if asset.contains(".js") {
            "text/javascript"
        } else {
            "text/css"
        };
        assert_content_type(&plain, expected);
        let plain_bytes = plain.bytes().await.unwrap();
        assert!(plain_bytes.len() > 10_000, "{asset} is the real bundle");
        let gzipped = gateway
            .client
            .get(gateway.url(asset))
            .header("accept-encoding", "gzip")
            .send()
            .await
            .unwrap();
        assert_eq!(gzipped.headers()["content-encoding"], "gzip");
        let compressed = gzipped.bytes().await.unwrap();
        assert!(compressed.len() < plain_bytes.len());
        assert_eq!(&compressed[..2], [0x1f, 0x8b], "a gzip stream");
    }
    let licenses = gateway.get("/graphiql/THIRD-PARTY-LICENSES.txt").await;
    assert_eq!(licenses.status(), 200);
    assert_content_type(&licenses, "text/plain");
    let licenses = licenses.text().await.unwrap();
    for package in [
        "graphiql@3.8.3 (MIT)",
        "react@18.3.1 (MIT)",
        "graphql@16.15.0 (MIT)",
    ] {
        assert!(licenses.contains(package), "{package}");
    }
    assert_eq!(gateway.get("/graphiql/elsewhere.js").await.status(), 404);
}

/// A variable that is missing, null where it may not be, or of the wrong shape is a request
/// error naming it (the specification's variable coercion), never an internal error, whether
/// the document is seen for the first time or was validated before.
#[tokio::test]
async fn variables_that_do_not_fit_are_request_errors_naming_them() {
    let gateway = spawn().await;
    let query = "query Q($f: ProductFilter, $id: ID!) { products(filter: $f) { service } customer(id: $id) { id } }";
    for round in ["first sight", "validated before"] {
        let body = json!({ "query": query, "variables": { "f": ["not", "a", "filter"] } });
        let response = gateway.post(&body, Some(&token())).await;
        assert_eq!(response.status(), 200, "{round}");
        let answer: Value = response.json().await.unwrap();
        assert!(answer.get("data").is_none(), "{round}: {answer}");
        let messages: Vec<&str> = answer["errors"]
            .as_array()
            .unwrap()
            .iter()
            .map(|error| {
                assert_eq!(error["extensions"]["code"], "GRAPHQL_VALIDATION_FAILED");
                error["message"].as_str().unwrap()
            })
            .collect();
        assert_eq!(
            messages,
            [
                r#"Variable "$f" got invalid value ["not", "a", "filter"]; expected type "ProductFilter"."#,
                r#"Variable "$id" of required type "ID!" was not provided."#,
            ],
            "{round}"
        );
        // Then the same document with good variables, which validates it.
        let fine = json!({ "query": query, "variables": { "id": "nope" } });
        let answer: Value = gateway
            .post(&fine, Some(&token()))
            .await
            .json()
            .await
            .unwrap();
        assert!(answer["errors"].is_null(), "{answer}");
    }
}
