//! The mock upstream's rest of the partner API over real HTTP: every endpoint pages, holds
//! the data the portal scenarios need (failed backups, running jobs, seats short of
//! assignments) and every odd form the contract lists, takes faults per endpoint, and answers
//! 403 while a permission is denied.

use elements_gateway::mock_upstream::{Fault, FaultScope, GENERAL, MockOptions, MockUpstream};
use serde_json::{Value, json};

async fn mock() -> MockUpstream {
    MockUpstream::spawn(MockOptions {
        customers: 60,
        ..MockOptions::default()
    })
    .await
    .unwrap()
}

/// Sends `method` to `path` below the partner API with the mock's token; status and body.
async fn ask(mock: &MockUpstream, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
    let client = reqwest::Client::new();
    let url = format!("{}{GENERAL}{path}", mock.url());
    let request = match method {
        "GET" => client.get(url),
        _ => client.post(url).json(&body.unwrap_or(json!({}))),
    };
    let response = request.bearer_auth(mock.token()).send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// Every item of every customer's answer at `path` (with `{id}` for the customer).
async fn all_items(mock: &MockUpstream, method: &str, path: &str) -> Vec<Value> {
    let mut items = Vec::new();
    for customer in mock.customers() {
        let path = path.replace("{id}", &customer.customer_id);
        let (status, answer) = ask(mock, method, &format!("{path}?pageSize=100"), None).await;
        assert_eq!(status, 200, "{path}: {answer}");
        items.extend(answer["data"].as_array().cloned().unwrap_or_default());
    }
    items
}

fn texts<'a>(items: &'a [Value], field: &str) -> Vec<&'a str> {
    items
        .iter()
        .filter_map(|item| item[field].as_str())
        .collect()
}

#[tokio::test]
async fn customers_batch_pages_the_details_and_shows_every_status() {
    let mock = mock().await;
    let (status, page) = ask(
        &mock,
        "POST",
        "/customers/batch?pageIndex=2&pageSize=25",
        None,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(page["metadata"]["totalCount"], 60);
    assert_eq!(page["data"].as_array().unwrap().len(), 25);
    let ids: Vec<&str> = mock.customers()[..3]
        .iter()
        .map(|c| c.customer_id.as_str())
        .collect();
    let (_, chosen) = ask(
        &mock,
        "POST",
        "/customers/batch",
        Some(json!({ "customerIds": ids })),
    )
    .await;
    assert_eq!(texts(chosen["data"].as_array().unwrap(), "id"), ids);
    let (_, every) = ask(&mock, "POST", "/customers/batch?pageSize=100", None).await;
    let statuses: Vec<&str> = texts(every["data"].as_array().unwrap(), "jobStatus");
    for wanted in ["0", "1", "2", "9"] {
        assert!(
            statuses.contains(&wanted),
            "no jobStatus {wanted} in {statuses:?}"
        );
    }
    assert!(every["data"][0]["tenants"][0]["id"].is_string());
}

#[tokio::test]
async fn jobs_hold_failures_running_jobs_and_every_odd_form() {
    let mock = mock().await;
    let jobs = all_items(&mock, "POST", "/customers/{id}/avpt-products/jobs/batch").await;
    assert_eq!(jobs.len(), 60 * 12);
    let statuses = texts(&jobs, "status");
    for wanted in ["1", "3", "42"] {
        assert!(statuses.contains(&wanted), "no status {wanted}");
    }
    assert!(
        texts(&jobs, "jobType").contains(&"99"),
        "an unknown service number"
    );
    assert!(texts(&jobs, "jobModule").contains(&"0"), "module None");
    assert!(
        texts(&jobs, "totalCount").contains(&"lots"),
        "a count that does not parse"
    );
    assert!(texts(&jobs, "backupSize").contains(&"N/A"));
    assert!(
        texts(&jobs, "endTime").contains(&"N/A"),
        "a running job has no end"
    );
    let one = &mock.customers()[0].customer_id;
    let (_, filtered) = ask(
        &mock,
        "POST",
        &format!("/customers/{one}/avpt-products/jobs/batch"),
        Some(json!({ "jobType": 7 })),
    )
    .await;
    assert!(
        texts(filtered["data"].as_array().unwrap(), "jobType")
            .iter()
            .all(|t| *t == "7")
    );
}

#[tokio::test]
async fn seats_come_in_both_shapes_and_fall_short_somewhere() {
    let mock = mock().await;
    let seats = all_items(
        &mock,
        "POST",
        "/customers/{id}/3rd-party-products/type/0/tenants/batch",
    )
    .await;
    assert!(!seats.is_empty());
    let short = seats.iter().any(|seat| {
        let number = |field: &str| seat[field].as_str().and_then(|text| text.parse::<u64>().ok());
        matches!((number("availableUserSeat"), number("assignedUserSeat")), (Some(a), Some(b)) if b > a)
    });
    assert!(short, "no tenant with more seats assigned than available");
    let one = &mock.customers()[0].customer_id;
    let (status, bare) = ask(
        &mock,
        "POST",
        &format!("/customers/{one}/3rd-party-products/type/0/users"),
        None,
    )
    .await;
    assert_eq!(status, 200);
    assert!(bare.is_array(), "{bare}");
    assert!(
        bare[0]["tenantId"].is_string() && bare[0]["tenantName"].is_string(),
        "{bare}"
    );
    let (status, _) = ask(
        &mock,
        "POST",
        &format!("/customers/{one}/3rd-party-products/type/7/users"),
        None,
    )
    .await;
    assert_eq!(status, 400);
}

#[tokio::test]
async fn coverage_is_read_by_get_with_the_overview_date_form() {
    let mock = mock().await;
    let modules = all_items(&mock, "GET", "/customers/{id}/cloud-backup-m365/overview").await;
    assert!(!modules.is_empty());
    let date = texts(&modules, "lastRunTime")[0];
    assert_eq!(&date[2..3], "/");
    assert!(date.contains('T') && date.ends_with('Z'), "{date}");
    assert!(texts(&modules, "dataSizeStoredInBYOS").contains(&"N/A"));
}

#[tokio::test]
async fn unknown_customers_faults_and_denied_permissions_hit_only_their_endpoint() {
    let mock = mock().await;
    let one = mock.customers()[0].customer_id.clone();
    let jobs = format!("/customers/{one}/avpt-products/jobs/batch");
    let overview = format!("/customers/{one}/cloud-backup-m365/overview");
    assert_eq!(
        ask(
            &mock,
            "GET",
            "/customers/nobody/cloud-backup-m365/overview",
            None
        )
        .await
        .0,
        404
    );

    mock.set_fault_where(Fault::ServerError { status: 503 }, FaultScope::Jobs, None);
    assert_eq!(ask(&mock, "POST", &jobs, None).await.0, 503);
    assert_eq!(ask(&mock, "GET", &overview, None).await.0, 200);
    assert_eq!(ask(&mock, "POST", "/customers/batch", None).await.0, 200);
    mock.set_fault(Fault::None);

    mock.deny("elements.cbprotected.read.all");
    assert_eq!(ask(&mock, "GET", &overview, None).await.0, 403);
    assert_eq!(ask(&mock, "POST", &jobs, None).await.0, 200);
    mock.allow("elements.cbprotected.read.all");
    assert_eq!(ask(&mock, "GET", &overview, None).await.0, 200);

    let refused = reqwest::Client::new()
        .get(format!("{}{GENERAL}{overview}", mock.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 401);
    assert_eq!(mock.partner_requests("coverage"), 5);
    assert!(
        mock.partner_customers_asked()
            .iter()
            .all(|id| *id == one || id == "nobody")
    );
}
