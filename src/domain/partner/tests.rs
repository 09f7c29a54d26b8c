//! The normalised records against the upstream documents' samples and the odd forms the
//! contract lists.

use super::*;

fn utc(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .unwrap()
        .with_timezone(&Utc)
}

#[test]
fn the_documented_customer_sample_normalises() {
    let raw: RawCustomerDetails = serde_json::from_str(
        r#"{"id": "03f7382e", "organization": "OrganizationABC", "ownerEmail": "user@domain.com",
            "jobStatus": 0, "countryOrRegion": "Afghanistan", "managementMode": 1,
            "tenants": [{"id": "t-1", "name": "Tenant ABC"}, {"name": "no id"}]}"#,
    )
    .unwrap();
    let details = CustomerDetails::from(&raw);
    assert_eq!(&*details.id, "03f7382e");
    assert_eq!(details.owner_email.as_deref(), Some("user@domain.com"));
    assert_eq!(details.backup_status, None, "0 is N/A");
    assert_eq!(
        details.management_mode,
        Some(ManagementMode::PartnerManaged)
    );
    assert_eq!(
        details.tenants,
        [Tenant {
            id: "t-1".into(),
            name: Some("Tenant ABC".into())
        }]
    );
    for (status, expected) in [("2", Some(BackupStatus::Failed)), ("9", None), ("x", None)] {
        let raw: RawCustomerDetails =
            serde_json::from_value(serde_json::json!({"id": "c", "jobStatus": status})).unwrap();
        assert_eq!(
            CustomerDetails::from(&raw).backup_status,
            expected,
            "{status}"
        );
    }
}

#[test]
fn the_documented_job_sample_normalises() {
    let raw: RawJob = serde_json::from_str(
        r#"{"jobType": 7, "jobModule": 304, "status": 3, "jobId": "FB20-1103-214502",
            "name": "N/A", "totalCount": "2323", "failedCount": "0", "successfulCount": "2323",
            "skippedCount": "0", "warningCount": "0", "backupSize": "0 GB",
            "startTime": "2025-09-11T03:21:16Z", "endTime": "2025-09-11T03:38:56Z",
            "jobDuration": "17m39s", "lastModifyTime": "2025-09-11T03:38:57Z"}"#,
    )
    .unwrap();
    let job = Job::from(&raw);
    assert_eq!(job.service(), Some(BackupService::Microsoft365));
    assert_eq!(job.module(), Some("Microsoft 365 Groups"));
    assert_eq!(job.status(), Some(JobStatus::Failed));
    assert_eq!(job.name, None);
    assert_eq!(job.counts.total, Some(2323));
    assert_eq!(job.counts.failed, Some(0));
    assert_eq!(job.backup_size.as_deref(), Some("0 GB"));
    assert_eq!(job.backup_bytes, Some(0.0));
    assert_eq!(job.start_time, Some(utc("2025-09-11T03:21:16Z")));
    assert_eq!(job.duration_seconds, Some(1059));
}

#[test]
fn unknown_numbers_keep_their_code_and_odd_values_are_none() {
    let raw: RawJob = serde_json::from_str(
        r#"{"jobType": 99, "jobModule": 0, "status": 42, "totalCount": "lots",
            "backupSize": "N/A", "startTime": "yesterday", "jobDuration": "a while"}"#,
    )
    .unwrap();
    let job = Job::from(&raw);
    assert_eq!((job.service(), job.service_code), (None, 99));
    assert_eq!((job.module(), job.module_code), (None, 0));
    assert_eq!((job.status(), job.status_code), (None, 42));
    assert_eq!(job.counts.total, None);
    assert_eq!((job.backup_size, job.backup_bytes), (None, None));
    assert_eq!(job.start_time, None);
    assert_eq!(job.duration_seconds, None);
    let empty = Job::from(&serde_json::from_str::<RawJob>("{}").unwrap());
    assert_eq!(
        (empty.service_code, empty.module_code, empty.status_code),
        (NO_CODE, NO_CODE, NO_CODE)
    );
    assert_eq!(&*empty.job_id, "");
}

#[test]
fn seats_read_either_name_and_numbers_either_way() {
    let raw: RawSeats = serde_json::from_str(
        r#"{"tenantId": "t", "tenantName": "A", "availableUserSeat": "25", "assignedUserSeat": 30}"#,
    )
    .unwrap();
    let seats = TenantSeats::new(Platform::Google, &raw);
    assert_eq!(seats.platform, Platform::Google);
    assert_eq!(
        (&*seats.tenant_id, seats.tenant_name.as_deref()),
        ("t", Some("A"))
    );
    assert_eq!((seats.available, seats.assigned), (Some(25), Some(30)));
}

#[test]
fn the_documented_coverage_sample_normalises() {
    let raw: RawCoverage = serde_json::from_str(
        r#"{"customerId": "f1626c49", "tenantId": "f04d7aee", "customer": "userA@domain.com",
            "serviceType": "Cloud Backup for Microsoft 365", "serviceModule": "Exchange Online",
            "lastRunTime": "09/20/2026T13:00:00Z", "totalScannedObjects": 25,
            "totalProtectedObjects": 25, "dataSizeStoredInAvePoint": "0 GB",
            "dataSizeStoredInBYOS": "N/A"}"#,
    )
    .unwrap();
    let module = BackupModule::from(&raw);
    assert_eq!(module.module.as_deref(), Some("Exchange Online"));
    assert_eq!(module.last_run_time, Some(utc("2026-09-20T13:00:00Z")));
    assert_eq!(
        (module.scanned_objects, module.protected_objects),
        (Some(25), Some(25))
    );
    assert_eq!(module.stored_in_avepoint_bytes, Some(0.0));
    assert_eq!(
        (module.stored_in_byos, module.stored_in_byos_bytes),
        (None, None)
    );
}
