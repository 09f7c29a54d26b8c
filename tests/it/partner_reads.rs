//! A customer's backup jobs, tenants' seats and backup coverage through the API: normalised
//! from the mock's records (every odd form), failing alone, and scoped by the caller's claim
//! (a job's `node` included). Their pricing and sharing: `partner_fanout.rs`.

use std::collections::BTreeSet;

use serde_json::{Value, json};

use crate::common::{Options, error_code, spawn_with, upstream_items};

const PORTAL: &str = "{ customers(first: 50) { nodes { id organization backupStatus
    backupJobs(first: 5) { status startTime } seats(platform: MICROSOFT_365) { assignedUserSeats } } } }";

/// The gateway's normalisation of a verbatim count: digits parse, the rest is null.
fn count(raw: &Value) -> Value {
    raw.as_str()
        .and_then(|text| text.parse::<i64>().ok())
        .map_or(Value::Null, |number| json!(number))
}

#[tokio::test]
async fn jobs_are_normalised_newest_first_and_filtered() {
    let gateway = spawn_with(Options::default()).await;
    let ids = gateway.upstream_ids();
    let (mut statuses, mut services, mut modules) =
        (BTreeSet::new(), BTreeSet::new(), BTreeSet::new());
    for id in &ids[..40] {
        let query = format!(
            "{{ customer(id: \"{id}\") {{ backupJobs(first: 100) {{ id jobId name status statusCode
              service serviceCode module moduleCode totalCount failedCount backupSize backupBytes
              startTime endTime durationSeconds }} }} }}"
        );
        let jobs = gateway.data(&query).await["customer"]["backupJobs"].clone();
        let jobs = jobs.as_array().unwrap().clone();
        let raw = upstream_items(
            &gateway,
            "POST",
            &format!("/customers/{id}/avpt-products/jobs/batch"),
        )
        .await;
        assert_eq!(jobs.len(), raw.len());
        let starts: Vec<&str> = jobs
            .iter()
            .filter_map(|job| job["startTime"].as_str())
            .collect();
        assert!(
            starts.windows(2).all(|pair| pair[0] >= pair[1]),
            "newest first: {starts:?}"
        );
        for job in &jobs {
            let source = raw
                .iter()
                .find(|item| item["jobId"] == job["jobId"])
                .expect("every job comes from the upstream");
            assert_eq!(job["totalCount"], count(&source["totalCount"]), "{source}");
            assert_eq!(job["statusCode"], count(&source["status"]), "{source}");
            assert_eq!(job["serviceCode"], count(&source["jobType"]), "{source}");
            assert_eq!(job["moduleCode"], count(&source["jobModule"]), "{source}");
            let size = source["backupSize"].as_str().unwrap();
            assert_eq!(job["backupSize"].as_str(), (size != "N/A").then_some(size));
            if job["statusCode"] == json!(42) {
                assert!(
                    job["status"].is_null(),
                    "an unknown number is a null status"
                );
            }
            if job["serviceCode"] == json!(99) {
                assert!(job["service"].is_null());
            }
            statuses.insert(job["status"].as_str().unwrap_or("null").to_owned());
            services.insert(job["service"].as_str().unwrap_or("null").to_owned());
            modules.insert(job["module"].as_str().unwrap_or("null").to_owned());
        }
    }
    // Every documented value shows, and the null of a number nobody documented.
    let every_status = "NONE RUNNING FINISHED FAILED FINISHED_WITH_EXCEPTION SKIPPED PENDING \
        FAILED_TO_START CANCELED REJECTED STOPPED NOT_SCANNED DISABLED NOT_STARTED \
        WAITING_FOR_CONFIGURATION null";
    let every_service = "MICROSOFT_365_SCAN MICROSOFT_365 GOOGLE_WORKSPACE_SCAN GOOGLE_WORKSPACE \
        IAAS_PAAS SALESFORCE DYNAMICS_365 null";
    for (seen, every) in [(&statuses, every_status), (&services, every_service)] {
        let every: BTreeSet<String> = every.split_whitespace().map(str::to_owned).collect();
        assert_eq!(seen, &every);
    }
    assert!(
        modules.contains("Exchange Online") && modules.contains("null"),
        "{modules:?}"
    );
}

#[tokio::test]
async fn jobs_are_filtered_by_state_start_and_service_and_first_is_bounded() {
    let gateway = spawn_with(Options::default()).await;
    let ids = gateway.upstream_ids();
    // Filters: states, a start, and a service asked of the upstream as `jobType`.
    let id = &ids[0];
    let filtered = gateway
        .data(&format!(
            "{{ customer(id: \"{id}\") {{ failed: backupJobs(status: [FAILED, RUNNING]) {{ status }}
               recent: backupJobs(since: \"2026-09-19T00:00:00Z\") {{ startTime }}
               m365: backupJobs(service: MICROSOFT_365) {{ service }} }} }}"
        ))
        .await;
    let customer = &filtered["customer"];
    assert!(
        customer["failed"]
            .as_array()
            .unwrap()
            .iter()
            .all(|job| { job["status"] == "FAILED" || job["status"] == "RUNNING" })
    );
    assert!(
        customer["recent"]
            .as_array()
            .unwrap()
            .iter()
            .all(|job| { job["startTime"].as_str().unwrap() >= "2026-09-19T00:00:00Z" })
    );
    assert!(
        customer["m365"]
            .as_array()
            .unwrap()
            .iter()
            .all(|job| job["service"] == "MICROSOFT_365")
    );
    let answer = gateway
        .query(&format!(
            "{{ customer(id: \"{id}\") {{ backupJobs(first: 101) {{ jobId }} }} }}"
        ))
        .await;
    assert_eq!(error_code(&answer), "BAD_USER_INPUT");
    assert!(
        answer["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("100"),
        "{answer}"
    );
}

#[tokio::test]
async fn seats_in_both_shapes_and_coverage_are_normalised() {
    let gateway = spawn_with(Options::default()).await;
    let id = gateway.upstream_ids()[2].clone();
    let query = format!(
        "{{ customer(id: \"{id}\") {{ seats(platform: MICROSOFT_365) {{ platform tenantId tenantName
           availableUserSeats assignedUserSeats }} backupCoverage {{ tenantId service module
           lastRunTime scannedObjects protectedObjects storedInAvePoint storedInAvePointBytes
           storedInByos storedInByosBytes }} }} }}"
    );
    let paged = gateway.data(&query).await;
    let raw = upstream_items(
        &gateway,
        "POST",
        &format!("/customers/{id}/3rd-party-products/type/0/tenants/batch"),
    )
    .await;
    let seats = paged["customer"]["seats"].as_array().unwrap();
    assert_eq!(seats.len(), raw.len());
    for (seat, source) in seats.iter().zip(&raw) {
        assert_eq!(seat["platform"], "MICROSOFT_365");
        assert_eq!(seat["tenantId"], source["id"]);
        assert_eq!(
            seat["availableUserSeats"],
            count(&source["availableUserSeat"])
        );
        assert_eq!(
            seat["assignedUserSeats"],
            count(&source["assignedUserSeat"])
        );
    }
    let modules = paged["customer"]["backupCoverage"].as_array().unwrap();
    let raw = upstream_items(
        &gateway,
        "GET",
        &format!("/customers/{id}/cloud-backup-m365/overview"),
    )
    .await;
    assert_eq!(modules.len(), raw.len());
    for (module, source) in modules.iter().zip(&raw) {
        assert_eq!(module["module"], source["serviceModule"]);
        assert_eq!(
            module["scannedObjects"],
            count(&source["totalScannedObjects"])
        );
        // `09/20/2026T13:00:00Z` reads as RFC 3339.
        if let Some(date) = source["lastRunTime"].as_str() {
            let expected = format!("{}-{}-{}T13:00:00Z", &date[6..10], &date[0..2], &date[3..5]);
            assert_eq!(module["lastRunTime"], json!(expected));
        }
        let avepoint = source["dataSizeStoredInAvePoint"].as_str().unwrap();
        let gigabytes: f64 = avepoint.trim_end_matches(" GB").parse().unwrap();
        assert_eq!(
            module["storedInAvePointBytes"],
            json!(gigabytes * 1024f64.powi(3))
        );
        if source["dataSizeStoredInBYOS"] == "N/A" {
            assert!(module["storedInByos"].is_null() && module["storedInByosBytes"].is_null());
        }
    }
    // An upstream that answers the seats in the older documents' form (a bare list, other
    // names): the same seats.
    let other = gateway.upstream_ids()[3].clone();
    let raw = upstream_items(
        &gateway,
        "POST",
        &format!("/customers/{other}/3rd-party-products/type/0/tenants/batch"),
    )
    .await;
    gateway.upstream.set_bare_seats(true);
    let bare = gateway.data(&query.replace(&id, &other)).await;
    let seats = bare["customer"]["seats"].as_array().unwrap();
    assert!(!seats.is_empty());
    assert_eq!(seats.len(), raw.len());
    for (seat, source) in seats.iter().zip(&raw) {
        assert_eq!(seat["tenantId"], source["id"]);
        assert_eq!(seat["tenantName"], source["name"]);
        assert_eq!(
            seat["assignedUserSeats"],
            count(&source["assignedUserSeat"])
        );
    }
}

#[tokio::test]
async fn a_claim_scoped_caller_reads_only_its_customers_and_their_jobs() {
    let gateway = crate::customer_claim::gateway().await;
    let ids = gateway.upstream_ids();
    let mine = [ids[3].clone(), ids[7].clone()];
    let caller = crate::auth::scoped_token("portal", json!(mine));
    let ask = |query: String| {
        let caller = caller.clone();
        let gateway = &gateway;
        async move {
            gateway
                .post(&json!({ "query": query }), Some(&caller))
                .await
                .json::<Value>()
                .await
                .unwrap()
        }
    };
    let answer = ask(PORTAL.to_owned()).await;
    let nodes = answer["data"]["customers"]["nodes"].as_array().unwrap();
    assert_eq!(nodes.len(), 2, "{answer}");
    let through = ask("{ products { customer { backupCoverage { module } } } }".into()).await;
    assert!(through.get("errors").is_none(), "{through}");
    let asked: BTreeSet<String> = gateway
        .upstream
        .partner_customers_asked()
        .into_iter()
        .collect();
    assert_eq!(asked, mine.iter().cloned().collect());
    let job = nodes[0]["backupJobs"][0].clone();
    assert!(job.is_object(), "{answer}");
    // A job's global id finds it again for its customer's caller, and is null for another's
    // (with nothing read for it).
    let ops = crate::auth::scoped_token("ops", json!([ids[20].clone()]));
    let foreign: Value = gateway
        .post(
            &json!({ "query": format!("{{ customer(id: \"{}\") {{ backupJobs(first: 1) {{ id }} }} }}", ids[20]) }),
            Some(&ops),
        )
        .await
        .json()
        .await
        .unwrap();
    let foreign = foreign["data"]["customer"]["backupJobs"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let own = ask(format!(
        "{{ customer(id: \"{}\") {{ backupJobs(first: 1) {{ id jobId }} }} }}",
        ids[3]
    ))
    .await;
    let own_job = &own["data"]["customer"]["backupJobs"][0];
    let asked = gateway.upstream.partner_requests("jobs");
    let found = ask(format!(
        "{{ mine: node(id: \"{}\") {{ ... on BackupJob {{ jobId }} }} other: node(id: \"{foreign}\") {{ id }} }}",
        own_job["id"].as_str().unwrap()
    ))
    .await;
    assert_eq!(found["data"]["mine"]["jobId"], own_job["jobId"], "{found}");
    assert!(found["data"]["other"].is_null(), "{found}");
    assert_eq!(
        gateway.upstream.partner_requests("jobs"),
        asked,
        "cached, and nothing for the other"
    );
}

#[tokio::test]
async fn seats_are_read_for_every_platform() {
    let gateway = spawn_with(Options::default()).await;
    let platforms = ["MICROSOFT_365", "SALESFORCE", "GOOGLE", "DYNAMICS_365"];
    let fields: String = platforms
        .iter()
        .map(|platform| format!("{platform}: seats(platform: {platform}) {{ platform tenantId }} "))
        .collect();
    let data = gateway
        .data(&format!(
            "{{ customers(first: 30) {{ nodes {{ {fields} }} }} }}"
        ))
        .await;
    for platform in platforms {
        let seats: Vec<&Value> = data["customers"]["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|node| node[platform].as_array().unwrap())
            .collect();
        assert!(!seats.is_empty(), "some tenant on {platform}");
        assert!(seats.iter().all(|seat| seat["platform"] == platform));
    }
    assert_eq!(gateway.upstream.partner_requests("seats"), 4 * 30);
}

#[tokio::test]
async fn a_job_id_naming_no_customer_is_null_and_reads_nothing() {
    use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
    let gateway = spawn_with(Options::default()).await;
    let forged = URL_SAFE_NO_PAD.encode("job:v1:16:no-such-customerJ0001");
    let answer = gateway
        .data(&format!("{{ node(id: \"{forged}\") {{ id }} }}"))
        .await;
    assert!(answer["node"].is_null(), "{answer}");
    assert_eq!(gateway.upstream.partner_requests("jobs"), 0);
}
