//! Compression: answers in gzip or br as the caller accepts, a reused answer sent in the
//! coding made for it once, small answers and callers that accept neither left plain.

use std::io::Read;

use serde_json::{Value, json};

use crate::common::{TestGateway, spawn, token};

/// POSTs `query` accepting `coding`; gives the `Content-Encoding` and the decoded body.
async fn ask(gateway: &TestGateway, query: &str, coding: &str) -> (Option<String>, Vec<u8>) {
    let response = gateway
        .client
        .post(gateway.url("/graphql"))
        .bearer_auth(token())
        .header("accept-encoding", coding)
        .json(&json!({ "query": query }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    decoded(response).await
}

/// The response's `Content-Encoding` and its body decoded.
async fn decoded(response: reqwest::Response) -> (Option<String>, Vec<u8>) {
    let encoding = response
        .headers()
        .get("content-encoding")
        .map(|value| value.to_str().unwrap().to_owned());
    let body = response.bytes().await.unwrap();
    let plain = decode(encoding.as_deref(), &body);
    (encoding, plain)
}

fn decode(encoding: Option<&str>, body: &[u8]) -> Vec<u8> {
    let mut plain = Vec::new();
    match encoding {
        None => plain.extend_from_slice(body),
        Some("gzip") => {
            flate2::read::GzDecoder::new(body)
                .read_to_end(&mut plain)
                .unwrap();
        }
        Some("br") => {
            brotli::Decompressor::new(body, 4096)
                .read_to_end(&mut plain)
                .unwrap();
        }
        Some(other) => panic!("unexpected coding {other}"),
    }
    plain
}

const LISTING: &str = "{ customers(first: 50) { nodes { id organization email products { service expirationDate } } } }";

#[tokio::test]
async fn answers_are_compressed_as_the_caller_accepts_and_reused_ones_alike() {
    let gateway = spawn().await;
    let (plain_coding, plain) = ask(&gateway, LISTING, "identity").await;
    assert_eq!(plain_coding, None);
    assert!(
        plain.len() > 1024,
        "a listing worth compressing: {}",
        String::from_utf8_lossy(&plain)
    );
    let answer: Value = serde_json::from_slice(&plain).unwrap();
    assert!(answer.get("errors").is_none(), "{answer}");

    // Executed on the fresh snapshot (compressed by the layer), then reused (compressed once
    // for the kept answer): the same bytes either way, in the coding asked for.
    let accepted = [
        ("gzip", "gzip"),
        ("br", "br"),
        ("gzip;q=0.5, br", "br"),
        ("br;q=0.1, gzip", "gzip"),
    ];
    for (coding, expected) in accepted {
        for _ in 0..2 {
            let (encoding, body) = ask(&gateway, LISTING, coding).await;
            assert_eq!(encoding.as_deref(), Some(expected), "{coding}");
            assert_eq!(body, plain, "{coding}");
        }
    }
    let reused = gateway
        .metric("gateway_cache_lookups_total{cache=\"answer\",result=\"hit\"}")
        .await;
    assert!(reused >= 6.0, "compressed answers were reused: {reused}");

    // A small answer is not worth a coding.
    let (encoding, body) = ask(&gateway, "{ customers(first: 1) { totalCount } }", "gzip").await;
    assert_eq!(encoding, None);
    assert!(String::from_utf8(body).unwrap().contains("totalCount"));

    // Every route sits behind the same layer: /metrics too.
    let metrics = gateway
        .client
        .get(gateway.url("/metrics"))
        .header("accept-encoding", "gzip")
        .send()
        .await
        .unwrap();
    assert_eq!(metrics.headers()["content-encoding"], "gzip");
    let text = decode(Some("gzip"), &metrics.bytes().await.unwrap());
    assert!(String::from_utf8(text).unwrap().contains("gateway_"));
}

/// GETs `path` as a browser would, accepting `coding`; gives the coding and decoded body.
async fn fetch(gateway: &TestGateway, path: &str, coding: &str) -> (Option<String>, Vec<u8>) {
    let response = gateway
        .client
        .get(gateway.url(path))
        .header("accept", "text/html,*/*")
        .header("accept-encoding", coding)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "{path}");
    decoded(response).await
}

#[tokio::test]
async fn graphiql_is_compressed_by_the_same_rule() {
    let gateway = spawn().await;
    let (_, page) = fetch(&gateway, "/graphql", "identity").await;
    let page = String::from_utf8(page).unwrap();
    // The bundle's files: gzip made at build time, br by the layer for a caller that
    // accepts only br; the same file either way.
    let script = page
        .split(['"', '\''])
        .find(|part| part.starts_with("/graphiql/graphiql.js"))
        .expect("the page loads the bundle");
    let (_, plain) = fetch(&gateway, script, "identity").await;
    for (coding, expected) in [("gzip, br", "gzip"), ("br", "br")] {
        let (encoding, body) = fetch(&gateway, script, coding).await;
        assert_eq!(encoding.as_deref(), Some(expected), "{coding}");
        assert!(body == plain, "{coding}: the same file");
    }
}
