use std::time::Duration;

use super::*;

#[test]
fn metrics_render_in_prometheus_text_format() {
    let metrics = Metrics::default();
    metrics.cache_lookup("snapshot", true);
    metrics.cache_lookup("snapshot", true);
    metrics.auth_refusal("expired");
    metrics.graphql_request(Some("Listing"), false, Duration::from_millis(3));
    let text = metrics.render();
    assert!(text.contains("# TYPE gateway_cache_lookups_total counter"));
    assert!(text.contains("gateway_cache_lookups_total{cache=\"snapshot\",result=\"hit\"} 2"));
    assert!(text.contains("gateway_auth_refusals_total{reason=\"expired\"} 1"));
    assert!(text.contains(
        "gateway_graphql_request_duration_seconds_bucket{operation=\"Listing\",outcome=\"ok\",le=\"0.005\"} 1"
    ));
}

#[test]
fn operation_names_are_bounded_and_checked() {
    let metrics = Metrics::default();
    assert_eq!(metrics.operation_label(None), "anonymous");
    assert_eq!(metrics.operation_label(Some("Products_2")), "Products_2");
    for odd in ["", "9lives", "with space", "a\"quote", &"x".repeat(65)] {
        assert_eq!(metrics.operation_label(Some(odd)), "other", "{odd:?}");
    }
    for n in 0..MAX_OPERATIONS * 2 {
        metrics.operation_label(Some(&format!("Op{n}")));
    }
    assert_eq!(metrics.operation_label(Some("Products_2")), "Products_2");
    assert_eq!(metrics.operation_label(Some("Brand_new")), "other");
    assert_eq!(
        metrics.operations.len(),
        MAX_OPERATIONS,
        "the known names stop growing at the cap"
    );
}
