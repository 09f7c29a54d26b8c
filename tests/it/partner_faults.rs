//! A failing per-customer endpoint costs only its fields: a denied permission is
//! `UPSTREAM_FORBIDDEN` naming it, and each fault (5xx, 429, a wrong shape, invalid JSON, a
//! timeout) its field's error with the right code, the rest of the answer present.

use elements_gateway::mock_upstream::{Fault, FaultScope};
use serde_json::json;

use crate::common::{Options, assert_all_forbidden, error_code, spawn_with};

const PORTAL: &str = "{ customers(first: 50) { nodes { id organization backupStatus
    backupJobs(first: 5) { status startTime } seats(platform: MICROSOFT_365) { assignedUserSeats } } } }";

#[tokio::test]
async fn a_denied_permission_or_a_fault_costs_only_its_field() {
    let gateway = spawn_with(Options::default()).await;
    gateway.upstream.deny("elements.jobs.read.all");
    let answer = gateway.query(PORTAL).await;
    let nodes = answer["data"]["customers"]["nodes"].as_array().unwrap();
    assert_eq!(nodes.len(), 50);
    assert!(
        nodes
            .iter()
            .all(|node| node["backupJobs"].is_null() && node["seats"].is_array())
    );
    assert_all_forbidden(&answer, "elements.jobs.read.all");
    assert_eq!(answer["errors"][0]["path"][3], "backupJobs", "{answer}");
    gateway.upstream.allow("elements.jobs.read.all");
    for (fault, code) in [
        (Fault::ServerError { status: 503 }, "UPSTREAM_UNAVAILABLE"),
        (Fault::InvalidJson, "UPSTREAM_BAD_RESPONSE"),
    ] {
        gateway
            .upstream
            .set_fault_where(fault, FaultScope::Coverage, None);
        let id = &gateway.upstream_ids()[60];
        let answer = gateway
            .query(&format!(
                "{{ customer(id: \"{id}\") {{ id backupCoverage {{ module }} seats(platform: GOOGLE) {{ tenantId }} }} }}"
            ))
            .await;
        assert_eq!(answer["data"]["customer"]["id"], json!(id), "{answer}");
        assert!(answer["data"]["customer"]["backupCoverage"].is_null());
        assert!(answer["data"]["customer"]["seats"].is_array());
        assert_eq!(error_code(&answer), code, "{answer}");
        gateway.upstream.set_fault(Fault::None);
    }
}

#[tokio::test]
async fn each_fault_of_one_endpoint_is_its_fields_error_with_the_right_code() {
    let gateway = spawn_with(
        Options::default()
            .set("GATEWAY_UPSTREAM_MAX_ATTEMPTS", 1)
            .set("GATEWAY_UPSTREAM_TIMEOUT_MS", 300),
    )
    .await;
    gateway.data("{ customers(first: 1) { totalCount } }").await;
    let ids = gateway.upstream_ids();
    let faults = [
        (Fault::ServerError { status: 500 }, "UPSTREAM_UNAVAILABLE"),
        (
            Fault::RateLimited {
                retry_after_secs: Some(7),
            },
            "UPSTREAM_RATE_LIMITED",
        ),
        (Fault::WrongShape, "UPSTREAM_BAD_RESPONSE"),
        (Fault::InvalidJson, "UPSTREAM_BAD_RESPONSE"),
    ];
    for (index, (fault, code)) in faults.into_iter().enumerate() {
        gateway
            .upstream
            .set_fault_where(fault, FaultScope::Jobs, None);
        // A customer not read before, so the fault is met (nothing cached to serve stale).
        let id = &ids[70 + index];
        let answer = gateway
            .query(&format!(
                "{{ customer(id: \"{id}\") {{ id organization backupJobs {{ jobId }} backupCoverage {{ module }} }} }}"
            ))
            .await;
        let customer = &answer["data"]["customer"];
        assert_eq!(customer["id"], json!(id), "{answer}");
        assert!(customer["backupJobs"].is_null() && customer["backupCoverage"].is_array());
        assert_eq!(error_code(&answer), code, "{answer}");
        assert_eq!(answer["errors"][0]["path"][1], "backupJobs");
        gateway.upstream.set_fault(Fault::None);
    }
    // A read slower than GATEWAY_UPSTREAM_TIMEOUT_MS.
    gateway
        .upstream
        .set_latency(std::time::Duration::from_millis(600));
    let answer = gateway
        .query(&format!(
            "{{ customer(id: \"{}\") {{ id backupJobs {{ jobId }} }} }}",
            ids[80]
        ))
        .await;
    gateway.upstream.set_latency(std::time::Duration::ZERO);
    assert_eq!(error_code(&answer), "UPSTREAM_TIMEOUT", "{answer}");
    assert!(
        answer["data"]["customer"]["backupJobs"].is_null(),
        "{answer}"
    );
}
