//! `GATEWAY_JWT_CUSTOMER_CLAIM`: a token carrying the claim sees only its customers, in every
//! root field, from the one cache all callers share; a token without it is refused unless it
//! holds `GATEWAY_JWT_ALL_CUSTOMERS_SCOPE`.

use std::collections::BTreeSet;

use jsonwebtoken::Algorithm;
use serde_json::{Value, json};

use crate::{
    auth::{assert_refused, with},
    common::{Options, SECRET, TestGateway, sign, spawn_with},
};

const CLAIM: &str = "elements_customers";
const ALL_CUSTOMERS: &str = "elements.customers.all";

/// A gateway that narrows callers by the `elements_customers` claim (a token without it needs
/// the all-customers scope); `crate::auth::scoped_token` makes its callers.
pub(crate) async fn gateway() -> TestGateway {
    gateway_with(Options::default()).await
}

/// [`gateway`] with `options` besides.
pub(crate) async fn gateway_with(options: Options) -> TestGateway {
    spawn_with(
        options
            .set("GATEWAY_JWT_CUSTOMER_CLAIM", CLAIM)
            .set("GATEWAY_JWT_ALL_CUSTOMERS_SCOPE", ALL_CUSTOMERS),
    )
    .await
}

/// A token whose claim lists these customers (`None`: no claim, and the scope that sees all).
pub(crate) fn token_for(ids: Option<&[String]>) -> String {
    let claims = match ids {
        Some(ids) => with(json!({ CLAIM: ids })),
        None => with(json!({ "scope": format!("read {ALL_CUSTOMERS}") })),
    };
    sign(&claims, Algorithm::HS256, SECRET)
}

async fn data_as(gateway: &TestGateway, token: &str, query: &str, variables: Value) -> Value {
    let response = gateway
        .post(
            &json!({ "query": query, "variables": variables }),
            Some(token),
        )
        .await;
    assert_eq!(response.status(), 200);
    let answer: Value = response.json().await.unwrap();
    assert!(answer["errors"].is_null(), "{answer}");
    answer["data"].clone()
}

fn ids_of(list: &Value, field: &str) -> Vec<String> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|item| item[field].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn customers_counts_and_pages_only_the_claimed_ones() {
    let gateway = gateway().await;
    let all = gateway.upstream_ids();
    let mine = vec![all[10].clone(), all[3].clone(), all[7].clone()];
    let token = token_for(Some(&mine));
    let page = data_as(
        &gateway,
        &token,
        "{ customers(first: 2) { totalCount pageInfo { hasNextPage endCursor } nodes { id } } }",
        json!({}),
    )
    .await;
    assert_eq!(page["customers"]["totalCount"], 3);
    assert_eq!(page["customers"]["pageInfo"]["hasNextPage"], true);
    // Upstream order, not the claim's order.
    assert_eq!(
        ids_of(&page["customers"]["nodes"], "id"),
        [all[3].clone(), all[7].clone()]
    );
    let rest = data_as(
        &gateway,
        &token,
        "query($after: String) { customers(first: 2, after: $after) { totalCount pageInfo { hasNextPage } nodes { id } } }",
        json!({ "after": page["customers"]["pageInfo"]["endCursor"] }),
    )
    .await;
    assert_eq!(ids_of(&rest["customers"]["nodes"], "id"), [all[10].clone()]);
    assert_eq!(rest["customers"]["pageInfo"]["hasNextPage"], false);
    // `search` narrows within the claimed customers only.
    let organization = gateway.upstream.customers()[20].organization.clone();
    let searched = data_as(
        &gateway,
        &token,
        "query($s: String) { customers(search: $s) { totalCount } }",
        json!({ "s": organization }),
    )
    .await;
    assert_eq!(searched["customers"]["totalCount"], 0);
    let everyone = data_as(
        &gateway,
        &token_for(None),
        "{ customers { totalCount } }",
        json!({}),
    )
    .await;
    assert_eq!(everyone["customers"]["totalCount"], 120);
}

#[tokio::test]
async fn customer_of_another_id_is_null_without_asking_the_upstream() {
    let gateway = gateway().await;
    let all = gateway.upstream_ids();
    let token = token_for(Some(&all[..1]));
    let query = "query($id: ID!) { customer(id: $id) { id } }";
    let mine = data_as(&gateway, &token, query, json!({ "id": all[0] })).await;
    assert_eq!(mine["customer"]["id"], all[0]);
    let before = gateway.upstream.stats().id_requests;
    let other = data_as(&gateway, &token, query, json!({ "id": all[1] })).await;
    assert_eq!(other["customer"], Value::Null);
    assert_eq!(gateway.upstream.stats().id_requests, before);
    let unrestricted = data_as(&gateway, &token_for(None), query, json!({ "id": all[1] })).await;
    assert_eq!(unrestricted["customer"]["id"], all[1]);
}

#[tokio::test]
async fn products_lists_only_the_claimed_customers_products() {
    let gateway = gateway().await;
    let all = gateway.upstream_ids();
    let mine = vec![all[5].clone(), all[50].clone()];
    let token = token_for(Some(&mine));
    let query = "query($before: DateTime) { products(filter: { expiringBefore: $before }) { customerId customer { id } } }";
    let products = data_as(&gateway, &token, query, json!({ "before": null })).await;
    let owners: BTreeSet<String> = ids_of(&products["products"], "customerId")
        .into_iter()
        .collect();
    assert_eq!(owners, mine.iter().cloned().collect());
    assert_eq!(products["products"].as_array().unwrap().len(), 2 * 5);
    let filtered = data_as(
        &gateway,
        &token,
        query,
        json!({ "before": "2100-01-01T00:00:00Z" }),
    )
    .await;
    for product in filtered["products"].as_array().unwrap() {
        assert!(mine.contains(&product["customer"]["id"].as_str().unwrap().to_owned()));
    }
    let everything = data_as(&gateway, &token_for(None), query, json!({ "before": null })).await;
    assert_eq!(everything["products"].as_array().unwrap().len(), 120 * 5);
}

#[tokio::test]
async fn concurrent_callers_never_see_each_others_restriction() {
    let gateway = gateway().await;
    let all = gateway.upstream_ids();
    let callers: Vec<(String, BTreeSet<String>)> = vec![
        (
            token_for(Some(&all[..2])),
            all[..2].iter().cloned().collect(),
        ),
        (token_for(None), all.iter().cloned().collect()),
        (
            token_for(Some(&all[100..101])),
            all[100..101].iter().cloned().collect(),
        ),
        (token_for(Some(&[])), BTreeSet::new()),
    ];
    let query = "{ customers(first: 1000) { nodes { id } } products { customerId } }";
    // Let the start-up readiness probes (single-page listings) finish before counting.
    gateway
        .wait_for(|| gateway.upstream.stats().in_flight == 0)
        .await;
    let listings_before = gateway.upstream.stats().listing_requests;
    let requests = (0..40).map(|round| {
        let (token, expected) = &callers[round % callers.len()];
        let gateway = &gateway;
        async move {
            let data = data_as(gateway, token, query, json!({})).await;
            let customers: BTreeSet<String> = ids_of(&data["customers"]["nodes"], "id")
                .into_iter()
                .collect();
            let owners: BTreeSet<String> = ids_of(&data["products"], "customerId")
                .into_iter()
                .collect();
            assert_eq!(&customers, expected, "round {round}");
            assert_eq!(&owners, expected, "round {round}");
        }
    });
    futures::future::join_all(requests).await;
    // One shared snapshot served every caller: 120 customers at 50 a page.
    assert_eq!(
        gateway.upstream.stats().listing_requests - listings_before,
        3
    );
}

#[tokio::test]
async fn a_claim_that_is_not_a_list_of_ids_is_refused() {
    let gateway = gateway().await;
    for bad in [json!("one-id"), json!([1, 2]), json!({ "id": "x" })] {
        let token = sign(&with(json!({ CLAIM: bad })), Algorithm::HS256, SECRET);
        let message = assert_refused(
            &gateway,
            Some(&format!("Bearer {token}")),
            "bad_customer_claim",
        )
        .await;
        assert!(message.contains(CLAIM), "{message}");
    }
}

#[tokio::test]
async fn a_token_without_the_claim_or_the_all_customers_scope_is_refused() {
    let gateway = gateway().await;
    for claims in [json!({}), json!({ "scope": "read elements.customers" })] {
        let token = sign(&with(claims), Algorithm::HS256, SECRET);
        let message = assert_refused(
            &gateway,
            Some(&format!("Bearer {token}")),
            "missing_customer_claim",
        )
        .await;
        assert!(message.contains(CLAIM), "{message}");
    }
    // Without GATEWAY_JWT_ALL_CUSTOMERS_SCOPE no scope stands in for the claim.
    let strict = spawn_with(Options::default().set("GATEWAY_JWT_CUSTOMER_CLAIM", CLAIM)).await;
    let scoped = sign(
        &with(json!({ "scope": ALL_CUSTOMERS })),
        Algorithm::HS256,
        SECRET,
    );
    assert_refused(
        &strict,
        Some(&format!("Bearer {scoped}")),
        "missing_customer_claim",
    )
    .await;
    // An empty list is a list: it sees no customer, and is not refused.
    let none = token_for(Some(&[]));
    let data = data_as(&strict, &none, "{ customers { totalCount } }", json!({})).await;
    assert_eq!(data["customers"]["totalCount"], 0);
}
