//! `customers` (cursors, search, limits), `customer(id)`, and normalisation through the API.

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use elements_gateway::{
    PRODUCT_INTS, PRODUCT_SCALARS, PRODUCT_TEXTS, mock_upstream::dataset::MockCustomer,
};
use serde_json::{Value, json};

use crate::common::{Options, error_code, spawn, spawn_with};

#[tokio::test]
async fn cursor_paging_walks_to_the_end_without_gaps_or_repeats() {
    let gateway = spawn_with(Options::default().customers(23, 1)).await;
    let query = "query($after: String) { customers(first: 5, after: $after) {
        totalCount pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
        edges { cursor node { id } } nodes { id } } }";
    let mut after = Value::Null;
    let mut seen = Vec::new();
    let mut pages = 0;
    loop {
        let answer = gateway.query_with(query, json!({ "after": after })).await;
        let page = &answer["data"]["customers"];
        assert_eq!(page["totalCount"], 23);
        assert_eq!(page["pageInfo"]["hasPreviousPage"], pages > 0);
        let edges = page["edges"].as_array().unwrap();
        let nodes = page["nodes"].as_array().unwrap();
        assert_eq!(edges.len(), nodes.len());
        assert_eq!(page["pageInfo"]["startCursor"], edges[0]["cursor"]);
        assert_eq!(
            page["pageInfo"]["endCursor"],
            edges.last().unwrap()["cursor"]
        );
        for (edge, node) in edges.iter().zip(nodes) {
            assert_eq!(edge["node"]["id"], node["id"]);
            seen.push(node["id"].as_str().unwrap().to_owned());
        }
        pages += 1;
        if page["pageInfo"]["hasNextPage"] == false {
            break;
        }
        after = page["pageInfo"]["endCursor"].clone();
    }
    assert_eq!(pages, 5);
    assert_eq!(seen, gateway.upstream_ids());
}

#[tokio::test]
async fn a_bad_cursor_is_an_error_not_an_empty_page() {
    let gateway = spawn().await;
    for cursor in ["bogus", "Y3VzdG9tZXI6djE6eA", ""] {
        let answer = gateway
            .query_with(
                "query($after: String) { customers(after: $after) { totalCount } }",
                json!({ "after": cursor }),
            )
            .await;
        assert_eq!(error_code(&answer), "BAD_USER_INPUT", "{answer}");
        assert!(
            answer["errors"][0]["message"]
                .as_str()
                .unwrap()
                .contains("`after`")
        );
    }
    // The cursor is an argument of a non-null field: its error nulls the answer up to `data`,
    // which is there (null), in both directions, on both executors (the second time a
    // document is asked, the gateway's own executor answers it).
    let backwards = r#"{ __typename customers(last: 1, before: "not-a-cursor") { totalCount } }"#;
    let forwards = r#"{ __typename customers(after: "not-a-cursor") { totalCount } }"#;
    for query in [forwards, forwards, backwards, backwards] {
        let answer = gateway.query(query).await;
        assert_eq!(answer["data"], Value::Null, "{answer}");
        assert!(answer.as_object().unwrap().contains_key("data"), "{answer}");
        assert_eq!(answer["errors"].as_array().unwrap().len(), 1, "{answer}");
        assert_eq!(
            answer["errors"][0]["path"],
            json!(["customers"]),
            "{answer}"
        );
        assert_eq!(error_code(&answer), "BAD_USER_INPUT", "{answer}");
    }
}

#[tokio::test]
async fn first_is_limited_to_1000_and_the_error_names_the_limit() {
    let gateway = spawn().await;
    let answer = gateway
        .query("{ customers(first: 1001) { totalCount } }")
        .await;
    assert_eq!(error_code(&answer), "BAD_USER_INPUT");
    assert!(
        answer["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("1000")
    );
    let answer = gateway
        .query("{ customers(first: -1) { totalCount } }")
        .await;
    assert_eq!(error_code(&answer), "BAD_USER_INPUT");
    let data = gateway
        .data("{ customers(first: 1000) { totalCount } }")
        .await;
    assert_eq!(data["customers"]["totalCount"], 120);
}

#[tokio::test]
async fn first_defaults_to_100() {
    let gateway = spawn().await;
    let data = gateway
        .data("{ customers { totalCount nodes { id } pageInfo { hasNextPage } } }")
        .await;
    assert_eq!(data["customers"]["totalCount"], 120);
    assert_eq!(data["customers"]["nodes"].as_array().unwrap().len(), 100);
    assert_eq!(data["customers"]["pageInfo"]["hasNextPage"], true);
}

fn matches(customer: &MockCustomer, needle: &str) -> bool {
    [&customer.organization, &customer.customer]
        .iter()
        .any(|text| *text != "N/A" && text.to_lowercase().contains(needle))
}

#[tokio::test]
async fn search_is_a_case_insensitive_substring_of_organization_or_email() {
    let gateway = spawn_with(Options::default().customers(300, 1)).await;
    for search in ["ZÜRICH", "東京", "Admin1", "example.com", "no-such-text"] {
        let data = gateway
            .data(&format!(
                "{{ customers(first: 1000, search: {search:?}) {{ totalCount nodes {{ id }} }} }}"
            ))
            .await;
        let expected: Vec<&str> = gateway
            .upstream
            .customers()
            .iter()
            .filter(|customer| matches(customer, &search.to_lowercase()))
            .map(|customer| customer.customer_id.as_str())
            .collect();
        let got: Vec<&str> = data["customers"]["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|node| node["id"].as_str().unwrap())
            .collect();
        assert_eq!(got, expected, "search {search}");
        assert_eq!(data["customers"]["totalCount"], expected.len());
    }
}

#[tokio::test]
async fn customer_by_id_is_found_or_null_in_both_upstream_forms() {
    let gateway = spawn().await;
    let known = gateway.upstream.customers()[7].clone();
    let query = format!(
        "{{ found: customer(id: {:?}) {{ id organization }} missing: customer(id: \"no-such-id\") {{ id }} }}",
        known.customer_id
    );
    let data = gateway.data(&query).await;
    assert_eq!(data["found"]["id"], known.customer_id.as_str());
    assert_eq!(data["missing"], Value::Null);

    // The other form: the upstream answers 404 for unknown ids.
    gateway.upstream.set_missing_ids_as_404(true);
    let data = gateway
        .data("{ missing: customer(id: \"another-unknown-id\") { id } }")
        .await;
    assert_eq!(data["missing"], Value::Null);
}

/// The text the API must show for an upstream text value.
fn text(raw: Option<&str>) -> Value {
    match raw.map(str::trim) {
        None | Some("") | Some("N/A") => Value::Null,
        Some(text) => json!(text),
    }
}

/// The instant the API must show for an upstream date, by the contract's forms, computed
/// here by rearranging the text rather than by the gateway's own parser.
fn instant(raw: Option<&str>) -> Option<DateTime<Utc>> {
    let raw = raw?;
    let iso = match raw.as_bytes() {
        [_, _, _, _, b'/', _, _, b'/', _, _] => format!("{}T00:00:00Z", raw.replace('/', "-")),
        [_, _, b'/', _, _, b'/', _, _, _, _] => {
            format!("{}-{}-{}T00:00:00Z", &raw[6..10], &raw[0..2], &raw[3..5])
        }
        [_, _, _, _, b'-', _, _, b'-', _, _] => format!("{raw}T00:00:00Z"),
        _ => raw.to_owned(),
    };
    DateTime::parse_from_rfc3339(&iso)
        .ok()
        .map(|at| at.with_timezone(&Utc))
}

/// Checks one answered `product` against its `raw` text, noting the date forms seen.
fn check_product(product: &Value, customer: &MockCustomer, seen_forms: &mut HashSet<String>) {
    let raw = &product["raw"];
    let raw_text = |field: &str| raw[field].as_str();
    // The raw record is one of this customer's upstream products, verbatim.
    assert!(customer.products.iter().any(|upstream| {
        upstream.expiration_date.as_deref() == raw_text("expirationDate")
            && upstream.purchased_user_seats.as_deref() == raw_text("purchasedUserSeats")
            && upstream.source.as_deref() == raw_text("source")
    }));
    for field in PRODUCT_TEXTS {
        assert_eq!(product[*field], text(raw_text(field)), "{field}");
    }
    let service = text(raw_text("service"));
    let service = if service.is_null() {
        json!("")
    } else {
        service
    };
    assert_eq!(product["service"], service);
    for field in PRODUCT_INTS {
        let expected = raw_text(field).and_then(|text| text.parse::<i32>().ok());
        assert_eq!(
            product[*field],
            json!(expected),
            "{field} from {:?}",
            raw_text(field)
        );
    }
    for field in ["expirationDate", "contractEndDate"] {
        let got = product[field].as_str().map(|text| {
            DateTime::parse_from_rfc3339(text)
                .unwrap()
                .with_timezone(&Utc)
        });
        assert_eq!(
            got,
            instant(raw_text(field)),
            "{field} from {:?}",
            raw_text(field)
        );
        if let Some(shown) = product[field].as_str() {
            assert!(shown.ends_with('Z'), "RFC 3339 in UTC: {shown}");
        }
        let form = raw_text(field).map_or("missing".to_owned(), |raw| {
            raw.chars()
                .map(|c| if c.is_ascii_digit() { '9' } else { c })
                .collect()
        });
        seen_forms.insert(form);
    }
}

#[tokio::test]
async fn values_are_normalised_and_raw_keeps_the_verbatim_text() {
    let gateway = spawn_with(Options::default().customers(40, 6)).await;
    // Every scalar of the field table, normalised and verbatim.
    let scalars = PRODUCT_SCALARS.join(" ");
    let raw = elements_gateway::RawProduct::FIELD_NAMES.join(" ");
    let data = gateway
        .data(&format!(
            "{{ customers(first: 1000) {{ nodes {{ id organization email products {{ {scalars} raw {{ {raw} }} }} }} }} }}"
        ))
        .await;
    let nodes = data["customers"]["nodes"].as_array().unwrap();
    let mut seen_forms = HashSet::new();
    for (node, customer) in nodes.iter().zip(gateway.upstream.customers()) {
        assert_eq!(node["organization"], text(Some(&customer.organization)));
        assert_eq!(node["email"], text(Some(&customer.customer)));
        let products = node["products"].as_array().unwrap();
        assert_eq!(products.len(), customer.products.len());
        for product in products {
            check_product(product, customer, &mut seen_forms);
        }
    }
    // The dataset exercised every form the contract lists.
    for form in [
        "9999-99-99T99:99:99Z",
        "9999-99-99T99:99:99.9999999Z",
        "9999/99/99",
        "9999-99-99",
        "99/99/9999",
        "N/A",
        "TBD",
        "missing",
    ] {
        assert!(seen_forms.contains(form), "dataset lacks the form {form}");
    }
}
