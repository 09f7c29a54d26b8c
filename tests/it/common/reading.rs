//! Reading what a test gateway and its mock give: an answer's error codes, a series on
//! `/metrics`, the items of a partner endpoint asked of the mock directly.

use serde_json::{Value, json};

/// The items a partner endpoint of the mock gives at `path` (below `GENERAL`; a page of
/// 1000 unless the path asks for another), asked of it directly: a POST sends `{}`.
pub(crate) async fn upstream_items(
    gateway: &super::TestGateway,
    method: &str,
    path: &str,
) -> Vec<Value> {
    let client = reqwest::Client::new();
    let paging = if path.contains('?') {
        ""
    } else {
        "?pageSize=1000"
    };
    let url = format!(
        "{}{}{path}{paging}",
        gateway.upstream.url(),
        elements_gateway::mock_upstream::GENERAL
    );
    let request = match method {
        "GET" => client.get(url),
        _ => client.post(url).json(&json!({})),
    };
    let answer: Value = request
        .bearer_auth(gateway.upstream.token())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let items = if answer.is_array() {
        answer
    } else {
        answer["data"].clone()
    };
    items.as_array().cloned().unwrap_or_default()
}

/// Asserts that every error of `answer` is `UPSTREAM_FORBIDDEN`, the first naming `permission`.
pub(crate) fn assert_all_forbidden(answer: &Value, permission: &str) {
    let errors = answer["errors"].as_array().expect("errors");
    assert!(
        errors
            .iter()
            .all(|error| error["extensions"]["code"] == "UPSTREAM_FORBIDDEN"),
        "{answer}"
    );
    let message = errors[0]["message"].as_str().unwrap_or_default();
    assert!(message.contains(permission), "{answer}");
}

/// The first error's `extensions.code`.
pub(crate) fn error_code(answer: &Value) -> &str {
    answer["errors"][0]["extensions"]["code"]
        .as_str()
        .unwrap_or_else(|| panic!("no error code in {answer}"))
}

/// See [`super::TestGateway::metric`].
pub(crate) fn sum_series(text: &str, series: &str) -> f64 {
    let (name, wanted) = split_series(series);
    text.lines()
        .filter(|line| !line.starts_with('#'))
        .filter_map(|line| {
            let (head, value) = line.rsplit_once(' ')?;
            let (line_name, labels) = split_series(head);
            (line_name == name && wanted.iter().all(|pair| labels.contains(pair)))
                .then(|| value.parse::<f64>().expect("a number"))
        })
        .sum()
}

fn split_series(series: &str) -> (&str, Vec<&str>) {
    match series.split_once('{') {
        Some((name, labels)) => (
            name,
            labels
                .trim_end_matches('}')
                .split(',')
                .filter(|pair| !pair.is_empty())
                .collect(),
        ),
        None => (series, Vec::new()),
    }
}
