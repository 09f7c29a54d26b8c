//! The rest of the partner API, typed: a customer's details (`customers/batch`), its backup
//! jobs, its tenants' seats and its Microsoft 365 backup coverage, each normalised from the
//! verbatim records ([`records`]) by total rules: a value that does not parse is `None` (and an
//! enumeration's number is kept in its `…_code`), never an error.

mod codes;
mod records;

pub(crate) use codes::{
    BackupService, BackupStatus, JobStatus, MODULE_CODES, ManagementMode, Platform, module_name,
};
pub(crate) use records::{RawCoverage, RawCustomerDetails, RawJob, RawSeats, RawTenant};

use chrono::{DateTime, Utc};

use super::normalize::{self, bytes, code, date_time, duration_seconds, int};

/// Owned normalised text: `None` for `"N/A"`, empty or missing.
fn text(value: &Option<Box<str>>) -> Option<Box<str>> {
    normalize::text(value.as_deref()).map(Box::from)
}

/// A customer's details from `customers/batch`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct CustomerDetails {
    /// The customer's id.
    pub id: Box<str>,
    /// The organisation's name.
    pub organization: Option<Box<str>>,
    /// The owner's e-mail address.
    pub owner_email: Option<Box<str>>,
    /// The country or region.
    pub country_or_region: Option<Box<str>>,
    /// Who manages the tenant; `None` for a number the documents do not list.
    pub management_mode: Option<ManagementMode>,
    /// The backup status; `None` for 0 ("N/A") and unlisted numbers.
    pub backup_status: Option<BackupStatus>,
    /// The tenants, those without an id left out.
    pub tenants: Vec<Tenant>,
}

/// Which customers `customers(filter:)` keeps, by their details; every condition given must
/// hold, and a customer `customers/batch` does not list matches none.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct CustomerFilter {
    /// Any of these backup states.
    pub backup_status: Option<Vec<BackupStatus>>,
    /// This management mode.
    pub management_mode: Option<ManagementMode>,
    /// This country or region, ignoring case.
    pub country_or_region: Option<String>,
}

impl CustomerFilter {
    /// Whether a customer with `details` (`None`: not listed) is kept.
    pub(crate) fn matches(&self, details: Option<&CustomerDetails>) -> bool {
        let Some(details) = details else {
            return self == &Self::default();
        };
        let status = self.backup_status.as_ref().is_none_or(|wanted| {
            details
                .backup_status
                .is_some_and(|status| wanted.contains(&status))
        });
        let mode = self
            .management_mode
            .is_none_or(|wanted| details.management_mode == Some(wanted));
        let country = self.country_or_region.as_deref().is_none_or(|wanted| {
            details
                .country_or_region
                .as_deref()
                .is_some_and(|country| country.to_lowercase() == wanted.to_lowercase())
        });
        status && mode && country
    }
}

/// A tenant of a customer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Tenant {
    /// The tenant's id.
    pub id: Box<str>,
    /// The tenant's name.
    pub name: Option<Box<str>>,
}

impl From<&RawCustomerDetails> for CustomerDetails {
    fn from(raw: &RawCustomerDetails) -> Self {
        let number = |value: &Option<Box<str>>| code(value.as_deref());
        Self {
            id: raw.id.clone(),
            organization: text(&raw.organization),
            owner_email: text(&raw.owner_email),
            country_or_region: text(&raw.country_or_region),
            management_mode: number(&raw.management_mode).and_then(ManagementMode::from_code),
            backup_status: number(&raw.job_status).and_then(BackupStatus::from_code),
            tenants: raw
                .tenants
                .iter()
                .filter_map(|tenant| {
                    Some(Tenant {
                        id: text(&tenant.id)?,
                        name: text(&tenant.name),
                    })
                })
                .collect(),
        }
    }
}

/// A backup job of a customer.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Job {
    /// The job's id (empty when the upstream gave none).
    pub job_id: Box<str>,
    /// The job's name.
    pub name: Option<Box<str>>,
    /// The service's number as sent (`-1` when it gave none or not a number).
    pub service_code: i64,
    /// The module's number as sent (`-1` likewise).
    pub module_code: i64,
    /// The state's number as sent (`-1` likewise).
    pub status_code: i64,
    /// Objects processed, failed, backed up, skipped and with warnings.
    pub counts: JobCounts,
    /// The size backed up, verbatim (`None` for "N/A" or empty).
    pub backup_size: Option<Box<str>>,
    /// That size in bytes.
    pub backup_bytes: Option<f64>,
    /// When the job started, ended and last changed.
    pub start_time: Option<DateTime<Utc>>,
    /// When the job ended.
    pub end_time: Option<DateTime<Utc>>,
    /// When the job last changed.
    pub last_modify_time: Option<DateTime<Utc>>,
    /// How long the job took, in seconds.
    pub duration_seconds: Option<i32>,
}

/// A job's object counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct JobCounts {
    /// Objects processed.
    pub total: Option<i32>,
    /// Objects failed.
    pub failed: Option<i32>,
    /// Objects backed up.
    pub successful: Option<i32>,
    /// Objects skipped.
    pub skipped: Option<i32>,
    /// Objects with warnings.
    pub warning: Option<i32>,
}

impl Job {
    /// The service, when its number is documented.
    pub(crate) fn service(&self) -> Option<BackupService> {
        BackupService::from_code(self.service_code)
    }

    /// The module's documented name; `None` for "None" (0) and unlisted numbers.
    pub(crate) fn module(&self) -> Option<&'static str> {
        module_name(self.module_code)
    }

    /// The state, when its number is documented.
    pub(crate) fn status(&self) -> Option<JobStatus> {
        JobStatus::from_code(self.status_code)
    }
}

/// The number a `…Code` field shows for a value that is missing or not a number.
pub(crate) const NO_CODE: i64 = -1;

impl From<&RawJob> for Job {
    fn from(raw: &RawJob) -> Self {
        let number = |value: &Option<Box<str>>| code(value.as_deref()).unwrap_or(NO_CODE);
        let count = |value: &Option<Box<str>>| int(value.as_deref());
        let instant = |value: &Option<Box<str>>| date_time(value.as_deref());
        Self {
            job_id: text(&raw.job_id).unwrap_or_default(),
            name: text(&raw.name),
            service_code: number(&raw.job_type),
            module_code: number(&raw.job_module),
            status_code: number(&raw.status),
            counts: JobCounts {
                total: count(&raw.total_count),
                failed: count(&raw.failed_count),
                successful: count(&raw.successful_count),
                skipped: count(&raw.skipped_count),
                warning: count(&raw.warning_count),
            },
            backup_size: text(&raw.backup_size),
            backup_bytes: bytes(raw.backup_size.as_deref()),
            start_time: instant(&raw.start_time),
            end_time: instant(&raw.end_time),
            last_modify_time: instant(&raw.last_modify_time),
            duration_seconds: duration_seconds(raw.job_duration.as_deref()),
        }
    }
}

/// One tenant's seats on one platform.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TenantSeats {
    /// The platform asked for.
    pub platform: Platform,
    /// The tenant's id (empty when the upstream gave none).
    pub tenant_id: Box<str>,
    /// The tenant's name.
    pub tenant_name: Option<Box<str>>,
    /// Seats available.
    pub available: Option<i32>,
    /// Seats assigned.
    pub assigned: Option<i32>,
}

impl TenantSeats {
    /// The seats of `raw`, read for `platform`.
    pub(crate) fn new(platform: Platform, raw: &RawSeats) -> Self {
        Self {
            platform,
            tenant_id: text(&raw.id).unwrap_or_default(),
            tenant_name: text(&raw.name),
            available: int(raw.available_user_seat.as_deref()),
            assigned: int(raw.assigned_user_seat.as_deref()),
        }
    }
}

/// One protected module of a customer's Microsoft 365 backup.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct BackupModule {
    /// The tenant's id.
    pub tenant_id: Option<Box<str>>,
    /// The service's name.
    pub service: Option<Box<str>>,
    /// The module's name.
    pub module: Option<Box<str>>,
    /// When it was last backed up.
    pub last_run_time: Option<DateTime<Utc>>,
    /// Objects scanned.
    pub scanned_objects: Option<i32>,
    /// Objects backed up.
    pub protected_objects: Option<i32>,
    /// Data stored with AvePoint, verbatim.
    pub stored_in_avepoint: Option<Box<str>>,
    /// That size in bytes.
    pub stored_in_avepoint_bytes: Option<f64>,
    /// Data stored in the customer's own storage, verbatim.
    pub stored_in_byos: Option<Box<str>>,
    /// That size in bytes.
    pub stored_in_byos_bytes: Option<f64>,
}

impl From<&RawCoverage> for BackupModule {
    fn from(raw: &RawCoverage) -> Self {
        Self {
            tenant_id: text(&raw.tenant_id),
            service: text(&raw.service_type),
            module: text(&raw.service_module),
            last_run_time: date_time(raw.last_run_time.as_deref()),
            scanned_objects: int(raw.total_scanned_objects.as_deref()),
            protected_objects: int(raw.total_protected_objects.as_deref()),
            stored_in_avepoint: text(&raw.stored_in_avepoint),
            stored_in_avepoint_bytes: bytes(raw.stored_in_avepoint.as_deref()),
            stored_in_byos: text(&raw.stored_in_byos),
            stored_in_byos_bytes: bytes(raw.stored_in_byos.as_deref()),
        }
    }
}

#[cfg(test)]
mod tests;
