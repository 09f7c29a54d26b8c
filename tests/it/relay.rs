//! Relay: `node`/`nodes` by global id for customers and products (with the customer claim
//! applied), product ids that stay the same while the data do, and backward paging with
//! `last`/`before` per the cursor connection specification.

use std::{collections::BTreeSet, sync::Arc};

use elements_gateway::mock_upstream::MockUpstream;
use jsonwebtoken::Algorithm;
use serde_json::{Value, json};

use crate::{
    auth::with,
    common::{Options, SECRET, TestGateway, error_code, sign, spawn_over, spawn_with},
};

const PRODUCTS: &str = "{ customers(first: 3) { nodes { id products { id service } } } }";

fn first_product(answer: &Value) -> (String, String) {
    let customer = &answer["data"]["customers"]["nodes"][0];
    let product = &customer["products"][0];
    (
        customer["id"].as_str().unwrap().to_owned(),
        product["id"].as_str().unwrap().to_owned(),
    )
}

#[tokio::test]
async fn customers_and_products_are_found_again_by_their_global_ids() {
    let gateway = spawn_with(Options::default().customers(12, 3)).await;
    let listing = gateway.query(PRODUCTS).await;
    let (customer, product) = first_product(&listing);
    let answer = gateway
        .query_with(
            "query($c: ID!, $p: ID!) {
               c: node(id: $c) { __typename id ... on Customer { email } }
               p: node(id: $p) { __typename id ... on Product { service customerId } }
               none: node(id: \"no-such-id\") { id }
               all: nodes(ids: [$p, \"no-such-id\", $c]) { id }
             }",
            json!({ "c": customer, "p": product }),
        )
        .await;
    assert!(answer.get("errors").is_none(), "{answer}");
    let data = &answer["data"];
    assert_eq!(data["c"]["__typename"], "Customer");
    assert_eq!(data["c"]["id"], customer.as_str());
    assert_eq!(data["p"]["__typename"], "Product");
    assert_eq!(data["p"]["id"], product.as_str());
    assert_eq!(data["p"]["customerId"], customer.as_str());
    assert_eq!(
        data["p"]["service"],
        listing["data"]["customers"]["nodes"][0]["products"][0]["service"]
    );
    assert!(data["none"].is_null());
    assert_eq!(
        data["all"],
        json!([{ "id": product }, null, { "id": customer }])
    );

    // Every product has its own id.
    let ids: Vec<&str> = listing["data"]["customers"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|node| node["products"].as_array().unwrap())
        .map(|product| product["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids.iter().collect::<BTreeSet<_>>().len(),
        ids.len(),
        "{ids:?}"
    );
}

#[tokio::test]
async fn product_ids_are_the_same_on_another_replica_and_after_a_refetch() {
    let upstream = Arc::new(MockUpstream::spawn(Default::default()).await.unwrap());
    let one = spawn_over(Arc::clone(&upstream), Options::default()).await;
    let two = spawn_over(Arc::clone(&upstream), Options::default()).await;
    let first = one.query(PRODUCTS).await;
    assert_eq!(two.query(PRODUCTS).await, first);
    let reads = upstream.stats().listing_requests;
    one.advance(std::time::Duration::from_secs(61));
    one.query("{ customers { totalCount } }").await;
    one.wait_for(|| upstream.stats().listing_requests > reads)
        .await;
    one.refreshed(1.0).await;
    assert_eq!(one.query(PRODUCTS).await["data"], first["data"]);
}

#[tokio::test]
async fn node_honours_the_customer_claim() {
    let gateway = spawn_with(
        Options::default()
            .customers(6, 2)
            .set("GATEWAY_JWT_CUSTOMER_CLAIM", "elements_customers"),
    )
    .await;
    let ids = gateway.upstream_ids();
    let unrestricted = sign(
        &with(json!({ "elements_customers": ids })),
        Algorithm::HS256,
        SECRET,
    );
    let listing: Value = gateway
        .post(&json!({ "query": PRODUCTS }), Some(&unrestricted))
        .await
        .json()
        .await
        .unwrap();
    let (customer, product) = first_product(&listing);
    let others: Vec<&String> = ids.iter().filter(|id| **id != customer).collect();
    let restricted = sign(
        &with(json!({ "elements_customers": others })),
        Algorithm::HS256,
        SECRET,
    );
    let answer: Value = gateway
        .post(
            &json!({
                "query": "query($c: ID!, $p: ID!) { c: node(id: $c) { id } p: node(id: $p) { id } ps: nodes(ids: [$p]) { id } }",
                "variables": { "c": customer, "p": product },
            }),
            Some(&restricted),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        answer["data"],
        json!({ "c": null, "p": null, "ps": [null] }),
        "{answer}"
    );
}

/// The customer ids of a page, and its `pageInfo`.
async fn page(gateway: &TestGateway, arguments: &str) -> (Vec<String>, Value) {
    let answer = gateway
        .query(&format!(
            "{{ customers({arguments}) {{ nodes {{ id }} pageInfo {{ hasNextPage hasPreviousPage startCursor endCursor }} }} }}"
        ))
        .await;
    assert!(answer.get("errors").is_none(), "{answer}");
    let connection = &answer["data"]["customers"];
    let ids = connection["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|node| node["id"].as_str().unwrap().to_owned())
        .collect();
    (ids, connection["pageInfo"].clone())
}

#[tokio::test]
async fn backward_paging_walks_every_customer_from_the_end() {
    let gateway = spawn_with(Options::default().customers(23, 1)).await;
    let all = gateway.upstream_ids();
    let (last_page, info) = page(&gateway, "last: 5").await;
    assert_eq!(last_page, all[18..]);
    assert_eq!(
        (info["hasNextPage"].clone(), info["hasPreviousPage"].clone()),
        (json!(false), json!(true))
    );
    let mut walked = last_page;
    let mut before = info["startCursor"].as_str().unwrap().to_owned();
    loop {
        let (ids, info) = page(&gateway, &format!("last: 5, before: \"{before}\"")).await;
        assert_eq!(
            info["hasNextPage"], true,
            "customers follow every page but the last"
        );
        walked.splice(0..0, ids);
        if info["hasPreviousPage"] == false {
            break;
        }
        before = info["startCursor"].as_str().unwrap().to_owned();
    }
    assert_eq!(walked, all, "none lost or doubled");

    // Forwards and backwards meet: `after` and `before` together bound the page.
    let (_, head) = page(&gateway, "first: 4").await;
    let (_, tail) = page(&gateway, "last: 4").await;
    let (between, info) = page(
        &gateway,
        &format!(
            "first: 100, after: {}, before: {}",
            head["endCursor"], tail["startCursor"]
        ),
    )
    .await;
    assert_eq!(between, all[4..19]);
    assert_eq!(
        (info["hasNextPage"].clone(), info["hasPreviousPage"].clone()),
        (json!(true), json!(true))
    );

    let both = gateway
        .query("{ customers(first: 2, last: 2) { totalCount } }")
        .await;
    assert_eq!(error_code(&both), "BAD_USER_INPUT", "{both}");
    let message = both["errors"][0]["message"].as_str().unwrap();
    assert!(
        message.contains("`first` and `last` cannot be used together"),
        "{message}"
    );
    let too_many = gateway
        .query("{ customers(last: 1001) { totalCount } }")
        .await;
    assert!(
        too_many["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("`last` must be between 0 and 1000"),
        "{too_many}"
    );
}

#[tokio::test]
async fn a_node_whose_customer_cannot_be_read_fails_alone() {
    let gateway = spawn_with(Options::default().set("GATEWAY_UPSTREAM_MAX_ATTEMPTS", 1)).await;
    let ids = gateway.upstream_ids();
    // Read by id on a cold gateway: the customer cache holds it, no snapshot is read.
    gateway
        .data(&format!(r#"{{ customer(id: "{}") {{ id }} }}"#, ids[0]))
        .await;
    gateway
        .upstream
        .set_fault(elements_gateway::mock_upstream::Fault::ServerError { status: 503 });
    let answer = gateway
        .query_with(
            "query($ids: [ID!]!) { nodes(ids: $ids) { id } }",
            json!({ "ids": [ids[0], ids[1]] }),
        )
        .await;
    assert_eq!(
        answer["data"]["nodes"],
        json!([{ "id": ids[0] }, null]),
        "{answer}"
    );
    assert_eq!(answer["errors"][0]["path"], json!(["nodes", 1]), "{answer}");
    assert_eq!(error_code(&answer), "UPSTREAM_UNAVAILABLE");
}
