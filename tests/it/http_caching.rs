//! HTTP caching of GET answers: `private, max-age` for the snapshot's freshness left, a tag
//! from what the answer was built from, `304` without executing for a current tag, and
//! `no-store` for POST, stale answers and answers with errors.

use std::time::Duration;

use reqwest::{Response, header};

use crate::common::{TestGateway, spawn, token};

const QUERY: &str = "{ customers(first: 2) { nodes { id email } } }";

async fn get(gateway: &TestGateway, query: &str, tag: Option<&str>) -> Response {
    let mut request = gateway
        .client
        .get(gateway.url("/graphql"))
        .query(&[("query", query)])
        .bearer_auth(token());
    if let Some(tag) = tag {
        request = request.header(header::IF_NONE_MATCH, tag);
    }
    request.send().await.expect("the gateway answers")
}

fn header_of(response: &Response, name: header::HeaderName) -> &str {
    response
        .headers()
        .get(&name)
        .map_or("", |value| value.to_str().unwrap())
}

#[tokio::test]
async fn a_fresh_get_answer_is_cacheable_and_a_current_tag_is_not_modified() {
    let gateway = spawn().await;
    gateway.query("{ customers { totalCount } }").await;
    let first = get(&gateway, QUERY, None).await;
    assert_eq!(first.status(), 200);
    let control = header_of(&first, header::CACHE_CONTROL).to_owned();
    let max_age: u64 = control
        .strip_prefix("private, max-age=")
        .unwrap_or_else(|| panic!("Cache-Control: {control}"))
        .parse()
        .unwrap();
    assert!(
        (1..=60).contains(&max_age),
        "max-age {max_age} within the TTL of 60 s"
    );
    let vary = header_of(&first, header::VARY).to_ascii_lowercase();
    for name in ["authorization", "accept", "accept-encoding"] {
        assert!(vary.contains(name), "Vary: {vary}");
    }
    let tag = header_of(&first, header::ETAG).to_owned();
    assert!(tag.starts_with('"') && tag.len() > 10, "ETag: {tag}");
    let body = first.bytes().await.unwrap();

    let executions = gateway.metric("gateway_graphql_executions_total").await;
    let upstream = gateway.upstream_requests();
    let again = get(&gateway, QUERY, Some(&tag)).await;
    assert_eq!(again.status(), 304);
    assert_eq!(header_of(&again, header::ETAG), tag);
    assert!(again.bytes().await.unwrap().is_empty());
    assert_eq!(
        gateway.metric("gateway_graphql_executions_total").await,
        executions,
        "a 304 executes nothing"
    );
    assert_eq!(gateway.upstream_requests(), upstream);

    // Another request, or an old tag: answered in full, with the same bytes for the same tag.
    let other = get(
        &gateway,
        "{ customers(first: 3) { nodes { id } } }",
        Some(&tag),
    )
    .await;
    assert_eq!(other.status(), 200);
    assert_ne!(header_of(&other, header::ETAG), tag);
    let old = get(&gateway, QUERY, Some("\"not-the-tag\"")).await;
    assert_eq!(old.status(), 200);
    assert_eq!(header_of(&old, header::ETAG), tag);
    assert_eq!(old.bytes().await.unwrap(), body);
}

#[tokio::test]
async fn post_stale_and_failed_answers_are_not_stored() {
    let gateway = spawn().await;
    gateway.query("{ customers { totalCount } }").await;
    let post = gateway
        .post(&serde_json::json!({ "query": QUERY }), Some(&token()))
        .await;
    assert_eq!(post.status(), 200);
    assert_eq!(header_of(&post, header::CACHE_CONTROL), "no-store");
    assert!(post.headers().get(header::ETAG).is_none());

    let failed = get(
        &gateway,
        r#"{ customers(after: "nope") { totalCount } }"#,
        None,
    )
    .await;
    assert_eq!(header_of(&failed, header::CACHE_CONTROL), "no-store");
    assert!(failed.headers().get(header::ETAG).is_none());

    let tag = header_of(&get(&gateway, QUERY, None).await, header::ETAG).to_owned();
    gateway.advance(Duration::from_secs(61));
    let stale = get(&gateway, QUERY, Some(&tag)).await;
    assert_eq!(stale.status(), 200, "a stale snapshot never confirms a tag");
    assert_eq!(header_of(&stale, header::CACHE_CONTROL), "no-store");
    assert!(stale.headers().get(header::ETAG).is_none());

    let refused = gateway
        .client
        .get(gateway.url("/graphql"))
        .query(&[("query", QUERY)])
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 401);
    assert_eq!(header_of(&refused, header::CACHE_CONTROL), "no-store");
}

/// `QUERY /graphql` with `body`, sent as `content_type`, naming `tag` if given.
async fn query_method(
    gateway: &TestGateway,
    body: &serde_json::Value,
    content_type: &str,
    tag: Option<&str>,
) -> Response {
    let mut request = gateway
        .client
        .request(
            reqwest::Method::from_bytes(b"QUERY").unwrap(),
            gateway.url("/graphql"),
        )
        .header(header::CONTENT_TYPE, content_type)
        .body(body.to_string())
        .bearer_auth(token());
    if let Some(tag) = tag {
        request = request.header(header::IF_NONE_MATCH, tag);
    }
    request.send().await.expect("the gateway answers")
}

#[tokio::test]
async fn the_query_method_is_answered_like_a_get_and_refuses_what_a_get_or_post_would() {
    let gateway = spawn().await;
    gateway.query("{ customers { totalCount } }").await;
    let body = serde_json::json!({ "query": QUERY });
    let first = query_method(&gateway, &body, "application/json", None).await;
    assert_eq!(first.status(), 200);
    assert!(header_of(&first, header::CACHE_CONTROL).starts_with("private, max-age="));
    let tag = header_of(&first, header::ETAG).to_owned();
    assert!(tag.starts_with('"'), "ETag: {tag}");
    let answer = first.bytes().await.unwrap();
    assert_eq!(
        answer,
        get(&gateway, QUERY, None).await.bytes().await.unwrap()
    );
    let again = query_method(&gateway, &body, "application/json", Some(&tag)).await;
    assert_eq!(again.status(), 304);

    let mutation = serde_json::json!({ "query": "mutation { __typename }" });
    let refused = query_method(&gateway, &mutation, "application/json", None).await;
    assert_eq!(refused.status(), 405);
    let plain = query_method(&gateway, &body, "text/plain", None).await;
    assert_eq!(plain.status(), 415, "refused as a POST would be");
    let other = gateway
        .client
        .put(gateway.url("/graphql"))
        .bearer_auth(token())
        .send()
        .await
        .unwrap();
    assert_eq!(other.status(), 405);
    assert_eq!(header_of(&other, header::ALLOW), "GET, POST, QUERY");
}
