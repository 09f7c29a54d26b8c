//! The partner readers against the real mock upstream on loopback: every endpoint read and
//! normalised, pages merged, both seat shapes, 404 as none, a denied permission and a 401
//! that survives a fresh token as `UPSTREAM_FORBIDDEN`, and faults through the same stack.

use std::{sync::Arc, time::Duration};

use super::*;
use crate::{
    clock::Clock,
    domain::partner::{
        BackupModule, BackupStatus, CustomerDetails, Job, JobStatus, RawCustomerDetails,
        TenantSeats,
    },
    metrics::Metrics,
    mock_upstream::{Fault, FaultScope, MockOptions, MockUpstream},
    secret::Secret,
    upstream::{
        AppCredentials, UpstreamCredentials, UpstreamRuntime, UpstreamSection, UpstreamSettings,
    },
};

/// The records, normalised.
fn details(records: Vec<RawCustomerDetails>) -> Vec<CustomerDetails> {
    records.iter().map(CustomerDetails::from).collect()
}

async fn mock(customers: usize) -> MockUpstream {
    MockUpstream::spawn(MockOptions {
        customers,
        page_cap: 20,
        ..MockOptions::default()
    })
    .await
    .unwrap()
}

fn client(mock: &MockUpstream) -> UpstreamClient {
    let section = UpstreamSection::default();
    let token = Secret::new(mock.token().to_owned());
    let settings = UpstreamSettings {
        url: mock.url().parse().unwrap(),
        credentials: UpstreamCredentials::Token(token.clone()),
        scope: String::new(),
        page_size: 100,
        concurrency: 4,
        pages_ahead: 0,
        timeout: Duration::from_secs(5),
        resilience: crate::upstream::Resilience {
            max_attempts: 1,
            ..Default::default()
        },
        max_body_bytes: section.max_body_bytes,
        max_pages: section.max_pages,
    };
    let runtime = UpstreamRuntime {
        credentials: AppCredentials::Fixed(token),
        deadline: Duration::from_secs(10),
        clock: Clock::default(),
    };
    UpstreamClient::new(&settings, runtime, Arc::new(Metrics::default())).unwrap()
}

#[tokio::test]
async fn customers_batch_merges_its_pages_and_reads_chosen_customers_in_batches() {
    let mock = mock(45).await;
    let client = client(&mock);
    let every = details(client.details_records(None).await.unwrap());
    assert_eq!(every.len(), 45, "three pages of at most 20, merged");
    assert_eq!(mock.partner_requests("details"), 3);
    assert!(
        every
            .iter()
            .any(|c| c.backup_status == Some(BackupStatus::Failed))
    );
    assert!(every.iter().any(|c| c.backup_status.is_none()));
    let ids: Vec<String> = mock.customers()[..5]
        .iter()
        .map(|c| c.customer_id.clone())
        .collect();
    let chosen = details(client.details_records(Some(&ids)).await.unwrap());
    let got: Vec<&str> = chosen.iter().map(|c| &*c.id).collect();
    assert_eq!(got, ids.iter().map(String::as_str).collect::<Vec<_>>());
}

#[tokio::test]
async fn a_customers_jobs_seats_and_coverage_are_read_and_normalised() {
    let mock = mock(10).await;
    let client = client(&mock);
    let one = mock.customers()[0].customer_id.clone();
    let jobs: Vec<Job> = client
        .jobs(&one, JobFilter::default())
        .await
        .unwrap()
        .iter()
        .map(Job::from)
        .collect();
    assert_eq!(jobs.len(), 12);
    assert!(jobs.iter().all(|job| job.status_code >= 0));
    let m365 = JobFilter {
        job_type: Some(7),
        job_module: None,
    };
    let narrowed = client.jobs(&one, m365).await.unwrap();
    assert!(narrowed.iter().all(|job| Job::from(job).service_code == 7));
    let seats: Vec<TenantSeats> = client
        .seats(&one, Platform::Microsoft365)
        .await
        .unwrap()
        .iter()
        .map(|raw| TenantSeats::new(Platform::Microsoft365, raw))
        .collect();
    assert!(!seats.is_empty());
    assert!(
        seats
            .iter()
            .all(|s| s.platform == Platform::Microsoft365 && !s.tenant_id.is_empty())
    );
    let coverage = client.coverage(&one).await.unwrap();
    assert!(coverage.iter().all(|raw| {
        BackupModule::from(raw).service.as_deref() == Some("Cloud Backup for Microsoft 365")
    }));
    let every_status: Vec<_> = futures::future::try_join_all(
        mock.customers()
            .iter()
            .map(|c| client.jobs(&c.customer_id, JobFilter::default())),
    )
    .await
    .unwrap()
    .into_iter()
    .flatten()
    .filter_map(|job| Job::from(&job).status())
    .collect();
    assert!(every_status.contains(&JobStatus::Running));
}

#[tokio::test]
async fn an_unknown_customer_has_none_and_an_id_cannot_leave_its_path_segment() {
    let mock = mock(3).await;
    let client = client(&mock);
    assert!(client.coverage("nobody").await.unwrap().is_empty());
    assert!(
        client
            .jobs("../../customers/batch", JobFilter::default())
            .await
            .unwrap()
            .is_empty()
    );
    // The id reached the jobs endpoint as one path segment, whole: unescaped, its dot
    // segments would have been resolved away and the request sent to another path.
    assert_eq!(
        mock.partner_requests("jobs"),
        1,
        "the id stayed in its segment"
    );
    assert_eq!(
        mock.partner_customers_asked(),
        ["nobody", "../../customers/batch"]
    );
    assert_eq!(mock.partner_requests("details"), 0);
}

#[tokio::test]
async fn a_denied_permission_is_forbidden_naming_it_and_costs_only_its_endpoint() {
    let mock = mock(3).await;
    let client = client(&mock);
    let one = mock.customers()[0].customer_id.clone();
    mock.deny("elements.jobs.read.all");
    let error = client.jobs(&one, JobFilter::default()).await.unwrap_err();
    assert_eq!(error.code(), "UPSTREAM_FORBIDDEN");
    assert!(
        error.to_string().contains("elements.jobs.read.all"),
        "{error}"
    );
    assert!(client.coverage(&one).await.is_ok());
    assert!(
        client.is_reachable(),
        "a missing permission does not make the gateway unready"
    );
    // A 401 that survives a fresh token is a missing permission too, on these endpoints.
    mock.allow("elements.jobs.read.all");
    mock.set_fault_where(Fault::Unauthorized, FaultScope::Seats, None);
    let error = client.seats(&one, Platform::Google).await.unwrap_err();
    assert_eq!(error.code(), "UPSTREAM_FORBIDDEN");
}

#[tokio::test]
async fn faults_of_one_endpoint_keep_their_codes() {
    let mock = mock(3).await;
    let client = client(&mock);
    let one = mock.customers()[0].customer_id.clone();
    for (fault, code) in [
        (Fault::ServerError { status: 503 }, "UPSTREAM_UNAVAILABLE"),
        (
            Fault::RateLimited {
                retry_after_secs: Some(1),
            },
            "UPSTREAM_RATE_LIMITED",
        ),
        (Fault::InvalidJson, "UPSTREAM_BAD_RESPONSE"),
        (Fault::WrongShape, "UPSTREAM_BAD_RESPONSE"),
    ] {
        mock.set_fault_where(fault, FaultScope::Coverage, None);
        assert_eq!(client.coverage(&one).await.unwrap_err().code(), code);
        assert!(client.jobs(&one, JobFilter::default()).await.is_ok());
    }
}

#[test]
fn every_endpoint_name_is_primed_for_the_metrics() {
    for kind in [
        PartnerKind::Details,
        PartnerKind::Jobs,
        PartnerKind::Seats,
        PartnerKind::Coverage,
    ] {
        assert!(Endpoint::NAMES.contains(&kind.name()), "{}", kind.name());
    }
    assert!(Endpoint::NAMES.contains(&"services"));
}
