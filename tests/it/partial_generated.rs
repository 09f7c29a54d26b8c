//! Partial answers for generated queries: under every fault scope, each selected response key
//! is in `data`, or `data` is null because a non-null field failed (with its error).

use std::collections::BTreeSet;

use elements_gateway::mock_upstream::FaultScope;
use proptest::{prelude::*, strategy::ValueTree, test_runner::TestRunner};

use crate::partial::{error_paths, failing};

/// One root selection of a generated query: its text, its response key, and whether it must
/// answer under that key (a directive may leave it out).
fn root_selection() -> impl Strategy<Value = (String, String, bool)> {
    // (name, arguments, selection)
    let field = prop_oneof![
        Just(("customer", "(id: \"c1\")", " { id }")),
        Just(("customers", "(first: 2)", " { totalCount nodes { id } }")),
        Just(("customers", "(after: \"not-a-cursor\")", " { totalCount }")),
        Just((
            "customers",
            "(last: 1, before: \"bm90LWEtY3Vyc29y\")",
            " { totalCount }"
        )),
        Just(("products", "(filter: {service: \"x\"})", " { service }")),
        Just(("__typename", "", "")),
    ];
    (field, 0..4u8, 0..3u8, any::<bool>()).prop_map(
        |((name, arguments, body), alias, wrap, include)| {
            let key = if alias > 0 {
                format!("k{alias}{name}")
            } else {
                name.to_owned()
            };
            let aliased = if alias > 0 {
                format!("{key}: ")
            } else {
                String::new()
            };
            let directive = if include { "" } else { " @include(if: false)" };
            let field = format!("{aliased}{name}{arguments}{directive}{body}");
            let text = match wrap {
                0 => field,
                1 => format!("... on Query {{ {field} }}"),
                _ => format!("... {{ {field} }}"),
            };
            (text, key, include)
        },
    )
}

/// Every response key a generated query selects appears in `data`, or `data` is null (and then
/// a non-null field failed); never a key missing.
#[tokio::test]
async fn for_generated_queries_every_selected_key_is_in_data() {
    let gateways = [
        failing(FaultScope::All).await,
        failing(FaultScope::Ids).await,
        failing(FaultScope::Listing).await,
    ];
    // Generated up front (each case is an HTTP request); a failure prints its query.
    let mut runner = TestRunner::default();
    let cases = proptest::collection::vec(root_selection(), 1..5);
    let mut generated = Vec::new();
    for _ in 0..48 {
        generated.push(cases.new_tree(&mut runner).unwrap().current());
    }
    for (round, selections) in generated.into_iter().enumerate() {
        let gateway = &gateways[round % gateways.len()];
        // Response keys must be unique for the query to be valid (fields of one key with
        // other arguments conflict even when one is left out); keep the first of each.
        let mut seen = BTreeSet::new();
        let selections: Vec<_> = selections
            .into_iter()
            .filter(|(_, key, _)| seen.insert(key.clone()))
            .map(|(text, key, include)| (text, include.then_some(key)))
            .collect();
        let query = format!(
            "{{ {} }}",
            selections
                .iter()
                .map(|(text, _)| text.as_str())
                .collect::<Vec<_>>()
                .join(" ")
        );
        let answer = gateway.query(&query).await;
        assert!(answer.get("data").is_some(), "{query}: {answer}");
        let data = &answer["data"];
        if data.is_null() {
            assert!(
                !error_paths(&answer).is_empty(),
                "null data without a field error: {query}: {answer}"
            );
            continue;
        }
        for (_, key) in &selections {
            if let Some(key) = key {
                assert!(data.get(key).is_some(), "{key} missing: {query}: {answer}");
            }
        }
        let expected: BTreeSet<&str> = selections
            .iter()
            .filter_map(|(_, key)| key.as_deref())
            .collect();
        let got: BTreeSet<&str> = data
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(got, expected, "{query}: {answer}");
    }
}
