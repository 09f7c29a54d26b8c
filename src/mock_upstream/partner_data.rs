//! The mock's data for the rest of the partner API, derived from each customer's id, so the
//! same customer has the same details, jobs, seats and coverage in every run, and the
//! `services/batch` dataset is not changed by it. Among them: failed backups and running
//! jobs, seats short of assignments, and now and then every odd form the contract lists
//! (`"N/A"`, unknown enum numbers, sizes and counts that do not parse, the overview's date).

use crate::domain::partner::{
    BackupService, JobStatus, MODULE_CODES, RawCoverage, RawCustomerDetails, RawJob, RawSeats,
    RawTenant,
};

use super::dataset::{MockCustomer, Rng};

/// Backup jobs each customer has.
pub(super) const JOBS_PER_CUSTOMER: usize = 12;

const COUNTRIES: &[&str] = &[
    "Germany",
    "United States",
    "Japan",
    "N/A",
    "Afghanistan",
    "Brazil",
];
const MODULES: &[&str] = &[
    "Exchange Online",
    "SharePoint Online",
    "OneDrive",
    "Microsoft Teams",
];

/// Text, boxed.
fn some(text: impl Into<String>) -> Option<Box<str>> {
    Some(text.into().into_boxed_str())
}

/// A generator seeded by the customer's id (and what is asked of it).
fn rng_for(customer: &MockCustomer, salt: u64) -> Rng {
    let seed = customer
        .customer_id
        .bytes()
        .fold(salt ^ 0xcbf2_9ce4_8422_2325, |hash, byte| {
            (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3)
        });
    Rng(seed)
}

/// The customer's tenants: one or two, ids derived from the customer's.
fn tenants(customer: &MockCustomer) -> Vec<(String, String)> {
    let count = 1 + (rng_for(customer, 1).below(2) as usize);
    (0..count)
        .map(|index| {
            (
                format!("{}-t{index}", &customer.customer_id[..8]),
                format!("{} tenant {}", &customer.customer_id[..4], index + 1),
            )
        })
        .collect()
}

/// `customers/batch`'s record of the customer.
pub(super) fn details(customer: &MockCustomer) -> RawCustomerDetails {
    let mut rng = rng_for(customer, 2);
    // Mostly working, often failed, now and then N/A (0) or a number nobody documented.
    let status = match rng.below(20) {
        0 => 0,
        1 => 9,
        2..=6 => 2,
        7..=13 => 1,
        other => (other % 4) + 3,
    };
    let modes = if rng.chance(5) { 5 } else { 3 };
    RawCustomerDetails {
        id: customer.customer_id.clone().into_boxed_str(),
        organization: some(customer.organization.clone()),
        owner_email: some(customer.customer.clone()),
        job_status: some(status.to_string()),
        country_or_region: some(rng.pick(COUNTRIES)),
        management_mode: some(rng.below(modes).to_string()),
        tenants: tenants(customer)
            .into_iter()
            .map(|(id, name)| RawTenant {
                id: some(id),
                name: some(name),
            })
            .collect(),
    }
}

/// The customer's backup jobs, newest first in the upstream's order.
pub(super) fn jobs(customer: &MockCustomer) -> Vec<RawJob> {
    let mut rng = rng_for(customer, 3);
    (0..JOBS_PER_CUSTOMER)
        .map(|index| job(customer, &mut rng, index))
        .collect()
}

fn job(customer: &MockCustomer, rng: &mut Rng, index: usize) -> RawJob {
    let services = BackupService::ALL;
    let service = if rng.chance(4) {
        99
    } else {
        services[rng.below(services.len() as u64) as usize].code()
    };
    let status = match index {
        0 if rng.chance(40) => JobStatus::Running.code(),
        _ if rng.chance(3) => 42,
        _ => JobStatus::ALL[rng.below(JobStatus::ALL.len() as u64) as usize].code(),
    };
    let module = if rng.chance(5) {
        0
    } else {
        MODULE_CODES[rng.below(MODULE_CODES.len() as u64) as usize]
    };
    let total = rng.below(5000);
    let failed = rng.below(total.max(1) / 10 + 1);
    // Jobs a few hours apart, the newest on 2026-09-20.
    let start = 1_789_905_600 - (index as i64) * 6 * 3600 - rng.below(3000) as i64;
    let seconds = rng.below(4000) as i64;
    let time = |at: i64| {
        chrono::DateTime::from_timestamp(at, 0)
            .map(|instant| instant.format("%Y-%m-%dT%H:%M:%SZ").to_string())
    };
    let odd = rng.chance(5);
    RawJob {
        job_type: some(service.to_string()),
        job_module: some(module.to_string()),
        status: some(status.to_string()),
        job_id: some(format!(
            "{}{index:04}",
            &customer.customer_id[..8].to_uppercase()
        )),
        name: if rng.chance(30) {
            some("N/A")
        } else {
            some(format!("Backup job {}", index + 1))
        },
        total_count: if odd {
            some("lots")
        } else {
            some(total.to_string())
        },
        failed_count: some(failed.to_string()),
        successful_count: some((total - failed).to_string()),
        skipped_count: some("0"),
        warning_count: some(rng.below(3).to_string()),
        backup_size: if odd {
            some("N/A")
        } else {
            some(format!("{}.{} GB", rng.below(900), rng.below(10)))
        },
        start_time: time(start).map(|text| text.into_boxed_str()),
        end_time: if status == JobStatus::Running.code() {
            some("N/A")
        } else {
            time(start + seconds).map(|text| text.into_boxed_str())
        },
        job_duration: some(format!("{}m{}s", seconds / 60, seconds % 60)),
        last_modify_time: time(start + seconds + 1).map(|text| text.into_boxed_str()),
    }
}

/// The customer's tenants' seats on `platform` (0–3): Microsoft 365 for every tenant, the other
/// platforms for some; often more seats assigned than available.
pub(super) fn seats(customer: &MockCustomer, platform: u8) -> Vec<RawSeats> {
    let mut rng = rng_for(customer, 4 + u64::from(platform));
    if platform > 0 && !rng.chance(40) {
        return Vec::new();
    }
    tenants(customer)
        .into_iter()
        .map(|(id, name)| {
            let available = rng.below(500);
            let assigned = if rng.chance(30) {
                available + 1 + rng.below(40)
            } else {
                rng.below(available + 1)
            };
            RawSeats {
                id: some(id),
                name: some(name),
                available_user_seat: some(available.to_string()),
                assigned_user_seat: if rng.chance(4) {
                    some("N/A")
                } else {
                    some(assigned.to_string())
                },
            }
        })
        .collect()
}

/// The customer's Microsoft 365 backup overview: one record per protected module.
pub(super) fn coverage(customer: &MockCustomer) -> Vec<RawCoverage> {
    let mut rng = rng_for(customer, 9);
    let tenant = tenants(customer).swap_remove(0).0;
    let kept: Vec<&str> = MODULES
        .iter()
        .copied()
        .filter(|_| !rng.chance(25))
        .collect();
    kept.into_iter()
        .map(|module| {
            let scanned = rng.below(3000);
            RawCoverage {
                customer_id: some(customer.customer_id.clone()),
                tenant_id: some(tenant.clone()),
                customer: some(customer.customer.clone()),
                service_type: some("Cloud Backup for Microsoft 365"),
                service_module: some(module),
                last_run_time: if rng.chance(10) {
                    None
                } else {
                    some(format!("09/{:02}/2026T13:00:00Z", 1 + rng.below(28)))
                },
                total_scanned_objects: some(scanned.to_string()),
                total_protected_objects: some(rng.below(scanned + 1).to_string()),
                stored_in_avepoint: some(format!("{} GB", rng.below(800))),
                stored_in_byos: if rng.chance(70) {
                    some("N/A")
                } else {
                    some(format!("{} MB", rng.below(9000)))
                },
            }
        })
        .collect()
}
