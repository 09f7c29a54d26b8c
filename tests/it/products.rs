//! `products`: order across customers, filters, undated products, per-customer lists.

use std::collections::HashMap;

use serde_json::{Value, json};

use crate::common::{Options, TestGateway, spawn_with};

const FIELDS: &str = "customerId service expirationDate";

async fn products(gateway: &TestGateway, filter: &str) -> Vec<Value> {
    let data = gateway
        .data(&format!("{{ products{filter} {{ {FIELDS} }} }}"))
        .await;
    data["products"].as_array().unwrap().clone()
}

fn customer_positions(gateway: &TestGateway) -> HashMap<String, usize> {
    gateway
        .upstream
        .customers()
        .iter()
        .enumerate()
        .map(|(position, customer)| (customer.customer_id.clone(), position))
        .collect()
}

#[tokio::test]
async fn all_products_are_ordered_by_expiry_with_undated_last_and_ties_in_upstream_order() {
    let gateway = spawn_with(Options::default().customers(80, 5)).await;
    let all = products(&gateway, "").await;
    assert_eq!(all.len(), 400);
    let positions = customer_positions(&gateway);
    let first_undated = all
        .iter()
        .position(|product| product["expirationDate"].is_null())
        .expect("the dataset has undated products");
    assert!(
        all[first_undated..]
            .iter()
            .all(|p| p["expirationDate"].is_null())
    );
    for pair in all[..first_undated].windows(2) {
        let (a, b) = (
            pair[0]["expirationDate"].as_str().unwrap(),
            pair[1]["expirationDate"].as_str().unwrap(),
        );
        let (a_at, b_at) = (
            chrono::DateTime::parse_from_rfc3339(a).unwrap(),
            chrono::DateTime::parse_from_rfc3339(b).unwrap(),
        );
        assert!(a_at <= b_at, "{a} before {b}");
        if a_at == b_at {
            let (a_pos, b_pos) = (
                positions[pair[0]["customerId"].as_str().unwrap()],
                positions[pair[1]["customerId"].as_str().unwrap()],
            );
            assert!(a_pos <= b_pos, "ties keep upstream order");
        }
    }
    // Undated products keep upstream (customer) order too.
    let undated: Vec<usize> = all[first_undated..]
        .iter()
        .map(|p| positions[p["customerId"].as_str().unwrap()])
        .collect();
    assert!(undated.windows(2).all(|w| w[0] <= w[1]));
}

#[tokio::test]
async fn expiry_filters_are_strict_combine_with_and_and_never_match_undated() {
    let gateway = spawn_with(Options::default().customers(80, 5)).await;
    let all = products(&gateway, "").await;
    let dated: Vec<&Value> = all
        .iter()
        .filter(|p| !p["expirationDate"].is_null())
        .collect();
    // Bounds taken from the data itself, so "strictly" is tested on real equal values.
    let low = dated[dated.len() / 4]["expirationDate"]
        .as_str()
        .unwrap()
        .to_owned();
    let high = dated[dated.len() * 3 / 4]["expirationDate"]
        .as_str()
        .unwrap()
        .to_owned();
    let at = |text: &str| chrono::DateTime::parse_from_rfc3339(text).unwrap();
    let expect = |keep: &dyn Fn(&Value) -> bool| -> Vec<Value> {
        all.iter().filter(|p| keep(p)).cloned().collect()
    };
    let expiry = |p: &Value| p["expirationDate"].as_str().map(at);

    let before = products(&gateway, &format!("(filter: {{expiringBefore: {high:?}}})")).await;
    assert_eq!(
        before,
        expect(&|p| expiry(p).is_some_and(|e| e < at(&high)))
    );
    let after = products(&gateway, &format!("(filter: {{expiringAfter: {low:?}}})")).await;
    assert_eq!(after, expect(&|p| expiry(p).is_some_and(|e| e > at(&low))));
    let between = products(
        &gateway,
        &format!(
            "(filter: {{expiringAfter: {low:?}, expiringBefore: {high:?}, service: \"cLoUd\"}})"
        ),
    )
    .await;
    assert_eq!(
        between,
        expect(&|p| {
            expiry(p).is_some_and(|e| e > at(&low) && e < at(&high))
                && p["service"]
                    .as_str()
                    .unwrap()
                    .to_lowercase()
                    .contains("cloud")
        })
    );
    assert!(!between.is_empty());
}

#[tokio::test]
async fn service_and_customer_filters_at_the_root_and_per_customer() {
    let gateway = spawn_with(Options::default().customers(40, 5)).await;
    let all = products(&gateway, "").await;
    let backup = products(&gateway, "(filter: {service: \"BACKUP\"})").await;
    let expected: Vec<Value> = all
        .iter()
        .filter(|p| {
            p["service"]
                .as_str()
                .unwrap()
                .to_lowercase()
                .contains("backup")
        })
        .cloned()
        .collect();
    assert_eq!(backup, expected);
    assert!(!backup.is_empty());

    let id = gateway.upstream.customers()[3].customer_id.clone();
    let of_one = products(&gateway, &format!("(filter: {{customerId: {id:?}}})")).await;
    let expected: Vec<Value> = all
        .iter()
        .filter(|p| p["customerId"] == id.as_str())
        .cloned()
        .collect();
    assert_eq!(of_one, expected);
    assert_eq!(of_one.len(), 5);

    // The same list, reached through the customer, in the same order.
    let data = gateway
        .data(&format!(
            "{{ customer(id: {id:?}) {{ products {{ {FIELDS} }} }} }}"
        ))
        .await;
    assert_eq!(data["customer"]["products"], json!(expected));
    let data = gateway
        .data(&format!(
            "{{ customer(id: {id:?}) {{ products(filter: {{customerId: \"someone-else\"}}) {{ service }} }} }}"
        ))
        .await;
    assert_eq!(data["customer"]["products"], json!([]));
}

#[tokio::test]
async fn a_bad_date_time_literal_is_a_validation_error_naming_the_argument() {
    let gateway = spawn_with(Options::default()).await;
    let answer = gateway
        .query("{ products(filter: {expiringBefore: \"next tuesday\"}) { service } }")
        .await;
    let message = answer["errors"][0]["message"].as_str().unwrap();
    assert!(
        message.contains("filter.expiringBefore") && message.contains("DateTime"),
        "{message}"
    );
    assert!(answer.get("data").is_none());
    // A bare date is accepted and means midnight UTC.
    let answer = gateway
        .query("{ products(filter: {expiringBefore: \"2026-01-01\"}) { service } }")
        .await;
    assert!(answer.get("errors").is_none(), "{answer}");
}
