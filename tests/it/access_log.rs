//! The access log on the defaults a user gets: one line per request, never the query text,
//! variables or token, written by the log's own thread but never dropped: under a load every
//! request id appears exactly once, and requests answered one after another are logged in that
//! order. Written to a file, the text format carries no colour codes.

use std::{
    collections::HashMap,
    process::Stdio,
    sync::atomic::{AtomicUsize, Ordering},
    time::Duration,
};

use elements_gateway::mock_upstream::{MockOptions, MockUpstream};
use serde_json::{Value, json};

use crate::common::{
    base_settings,
    process::{Running, gateway_command},
    token,
};

/// Everything a `serve` child with `settings` wrote to standard error while `traffic` ran
/// against it, up to its exit after SIGTERM.
async fn served_log(settings: &[(&str, &str)], traffic: impl AsyncFnOnce(&str)) -> String {
    let upstream = MockUpstream::spawn(MockOptions::default())
        .await
        .expect("the mock starts");
    static LOGS: AtomicUsize = AtomicUsize::new(0);
    let log_path = std::env::temp_dir().join(format!(
        "elements-gateway-{}-access-{}.log",
        std::process::id(),
        LOGS.fetch_add(1, Ordering::Relaxed)
    ));
    let mut command = gateway_command();
    command
        .arg("serve")
        .envs(base_settings(&upstream))
        .envs(settings.iter().copied())
        .stderr(Stdio::from(std::fs::File::create(&log_path).unwrap()));
    let mut running = Running::start(command);
    let url = running.line_after("elements-gateway listening on").await;
    traffic(&url).await;
    // SIGTERM drains: every request's line is written before the process exits.
    let status = running.terminate(Duration::from_secs(10)).await;
    assert!(status.success(), "exit status after SIGTERM: {status}");
    let log = std::fs::read_to_string(&log_path).unwrap();
    let _ = std::fs::remove_file(&log_path);
    log
}

/// The access-log lines of a JSON log.
fn access_lines(log: &str) -> Vec<Value> {
    log.lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter(|line| line["target"] == "elements_gateway::access")
        .collect()
}

/// The access-log lines a JSON-logging `serve` child with `settings` wrote for `traffic`.
pub(crate) async fn json_access_lines(
    settings: &[(&str, &str)],
    traffic: impl AsyncFnOnce(&str),
) -> Vec<Value> {
    let json = [("GATEWAY_LOG_FORMAT", "json")];
    access_lines(&served_log(&[&json[..], settings].concat(), traffic).await)
}

/// The request id an access line was written under: its request span's, or its own field when
/// the level leaves the span out.
pub(crate) fn request_id(line: &Value) -> &str {
    line["spans"][0]["id"]
        .as_str()
        .or_else(|| line["fields"]["id"].as_str())
        .unwrap_or_default()
}

/// Sends `{ __typename }` under the request id `id`.
async fn ask(client: &reqwest::Client, url: &str, id: &str) {
    let response = client
        .post(url)
        .bearer_auth(token())
        .header("x-request-id", id)
        .json(&json!({ "query": "{ __typename }" }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "{id}");
}

/// Callers in the load, requests each, and requests sent one after another after it.
const CALLERS: usize = 32;
const EACH: usize = 100;
const SEQUENTIAL: usize = 50;

/// A load of requests with ids, then requests one after another.
async fn load(url: &str) {
    let client = reqwest::Client::new();
    let load = (0..CALLERS).map(|caller| {
        let (client, url) = (client.clone(), url.to_owned());
        tokio::spawn(async move {
            for n in 0..EACH {
                ask(&client, &url, &format!("load-{caller}-{n}")).await;
            }
        })
    });
    for task in futures::future::join_all(load).await {
        task.unwrap();
    }
    for n in 0..SEQUENTIAL {
        ask(&client, url, &format!("sequential-{n}")).await;
    }
}

/// Every id of [`load`] once, and the sequential ones in order, in the access lines' ids.
fn logged_once_and_in_order(ids: &[&str]) {
    let mut seen: HashMap<&str, usize> = HashMap::new();
    for id in ids {
        *seen.entry(id).or_default() += 1;
    }
    for caller in 0..CALLERS {
        for n in 0..EACH {
            let id = format!("load-{caller}-{n}");
            assert_eq!(seen.get(id.as_str()), Some(&1), "{id} in the log");
        }
    }
    let sequential: Vec<&str> = ids
        .iter()
        .copied()
        .filter(|id| id.starts_with("sequential-"))
        .collect();
    let sent: Vec<String> = (0..SEQUENTIAL).map(|n| format!("sequential-{n}")).collect();
    assert_eq!(sequential, sent);
    assert_eq!(
        ids.len(),
        CALLERS * EACH + SEQUENTIAL,
        "one line per request"
    );
}

#[tokio::test]
async fn under_load_every_request_id_is_logged_once_and_sequential_ones_in_order() {
    let lines = json_access_lines(&[], load).await;
    logged_once_and_in_order(&lines.iter().map(request_id).collect::<Vec<_>>());
}

/// The same in the default text log, whose access line the gateway writes itself.
#[tokio::test]
async fn under_load_the_text_log_has_every_request_id_once_and_sequential_ones_in_order() {
    let log = served_log(&[], load).await;
    let ids: Vec<&str> = log
        .lines()
        .filter(|line| line.contains(" elements_gateway::access: request "))
        .filter_map(|line| line.split_once("request{id=")?.1.split_once(' '))
        .map(|(id, _)| id)
        .collect();
    logged_once_and_in_order(&ids);
}

/// The one access line of a text log, as its time and the rest.
fn only_access_line(log: &str) -> (&str, &str) {
    let access: Vec<&str> = log
        .lines()
        .filter(|line| line.contains("elements_gateway::access"))
        .collect();
    assert_eq!(access.len(), 1, "{log}");
    access[0].split_once(' ').unwrap()
}

#[tokio::test]
async fn the_text_log_in_a_file_has_no_colour_codes_and_names_the_request_id() {
    let traffic = async |url: &str| ask(&reqwest::Client::new(), url, "plain-text-7").await;
    let log = served_log(&[], traffic).await;
    assert!(!log.contains('\u{1b}'), "colour codes in a file:\n{log}");
    // tracing-subscriber's layout: the time to the microsecond, the level, the span, the target.
    let (time, rest) = only_access_line(&log);
    assert!(
        chrono::DateTime::parse_from_rfc3339(time).is_ok()
            && time.len() == 27
            && time.ends_with('Z'),
        "{time}"
    );
    let expected = " INFO request{id=plain-text-7 method=POST path=/graphql}: \
                    elements_gateway::access: request method=POST path=/graphql status=200 duration_ms=";
    assert!(rest.starts_with(expected), "{rest}");
    assert!(rest.ends_with(" source=fresh upstream_calls=0"), "{rest}");
}

/// A level that keeps the access log but leaves out the request span gives the line without
/// the span, as the text format writes an event outside any span, and the request id as one
/// of its fields.
#[tokio::test]
async fn the_access_log_alone_at_info_has_no_span_but_still_the_request_id() {
    let traffic = async |url: &str| ask(&reqwest::Client::new(), url, "no-span-1").await;
    let level = [("GATEWAY_LOG_LEVEL", "warn,elements_gateway::access=info")];
    let log = served_log(&level, traffic).await;
    let (_time, rest) = only_access_line(&log);
    assert!(
        rest.starts_with(
            " INFO elements_gateway::access: request id=no-span-1 method=POST path=/graphql \
             status=200"
        ),
        "{rest}"
    );
}

/// The same in the JSON log: no span listed, the id among the line's fields.
#[tokio::test]
async fn the_json_access_log_alone_at_info_has_the_request_id_in_its_fields() {
    let traffic = async |url: &str| ask(&reqwest::Client::new(), url, "no-span-2").await;
    let level = [("GATEWAY_LOG_LEVEL", "warn,elements_gateway::access=info")];
    let lines = json_access_lines(&level, traffic).await;
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert_eq!(lines[0]["fields"]["id"], "no-span-2", "{}", lines[0]);
    assert!(
        lines[0]
            .get("spans")
            .is_none_or(|spans| spans.as_array().is_some_and(Vec::is_empty)),
        "{}",
        lines[0]
    );
}

#[tokio::test]
async fn the_access_log_has_a_line_per_request_and_never_the_query_or_token() {
    let secret_query = "query Secretive { customers(first: 1) { totalCount } }";
    let traffic = async |url: &str| {
        let client = reqwest::Client::new();
        client
            .post(url)
            .bearer_auth(token())
            .json(&json!({ "query": "query One { customer(id: \"no-such-id\") { id } }" }))
            .send()
            .await
            .unwrap();
        for _ in 0..2 {
            let ask = client
                .post(url)
                .bearer_auth(token())
                .header("x-request-id", "logged-1");
            ask.json(&json!({ "query": secret_query, "variables": { "v": "hidden-value" } }))
                .send()
                .await
                .unwrap();
        }
        client
            .post(url)
            .json(&json!({ "query": "{ __typename }" }))
            .send()
            .await
            .unwrap();
    };
    let lines = json_access_lines(&[], traffic).await;
    assert_eq!(lines.len(), 4, "{lines:?}");
    let by_id = &lines[0]["fields"];
    assert_eq!(by_id["operation"], "One");
    assert_eq!(by_id["upstream_calls"], 1, "one batch for the id: {by_id}");
    let lines = &lines[1..];
    let first = &lines[0]["fields"];
    assert_eq!(first["message"], "request");
    assert_eq!(first["method"], "POST");
    assert_eq!(first["path"], "/graphql");
    assert_eq!(first["status"], 200);
    assert_eq!(first["operation"], "Secretive");
    assert!(first["duration_ms"].as_f64().is_some());
    assert!(["fresh", "reused"].contains(&lines[1]["fields"]["source"].as_str().unwrap()));
    assert!(
        first["upstream_calls"].as_u64().unwrap() >= 1,
        "the cold read's pages: {first}"
    );
    assert_eq!(
        lines[1]["fields"]["upstream_calls"], 0,
        "read from the cache"
    );
    assert_eq!(
        lines[2]["fields"]["upstream_calls"], 0,
        "refused before any read"
    );
    assert_eq!(
        lines[0]["spans"][0]["id"], "logged-1",
        "the request id: {}",
        lines[0]
    );
    assert_eq!(lines[2]["fields"]["status"], 401);
    assert_eq!(lines[2]["fields"]["source"], "refused");
    let text = serde_json::to_string(lines).unwrap();
    for hidden in ["customers(first", "hidden-value", &token()] {
        assert!(!text.contains(hidden), "{hidden} in {text}");
    }

    let off = json_access_lines(&[("GATEWAY_LOG_REQUESTS", "false")], traffic).await;
    assert!(off.is_empty(), "GATEWAY_LOG_REQUESTS=false: {off:?}");
}

#[tokio::test]
async fn the_access_log_counts_the_upstream_requests_the_cost_extension_reports() {
    let mut made = Vec::new();
    let traffic = async |url: &str| {
        let client = reqwest::Client::new();
        let portal = "{ customers(first: 10) { nodes { backupStatus backupJobs { jobId }
            seats(platform: GOOGLE) { tenantId } } } }";
        for query in ["{ customers(first: 10) { totalCount } }", portal, portal] {
            let answer: Value = client
                .post(url)
                .bearer_auth(token())
                .json(&json!({ "query": query, "extensions": { "cost": true } }))
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            made.push(answer["extensions"]["cost"]["upstreamRequests"]["made"].clone());
        }
    };
    let lines = json_access_lines(&[], traffic).await;
    assert_eq!(lines.len(), 3, "{lines:?}");
    let logged: Vec<Value> = lines
        .iter()
        .map(|line| line["fields"]["upstream_calls"].clone())
        .collect();
    assert_eq!(logged, made);
    assert_eq!(
        made[1],
        json!(21),
        "one details batch, ten jobs and ten seats reads"
    );
    assert_eq!(made[2], json!(0));
}
