//! The partner graph's types: the enumerations by the domain's, the `Tenant` object, and
//! reading a customer's details (`customers/batch`) through the request's details DataLoader;
//! a customer's jobs, seats and coverage are in [`reads`].

mod reads;

pub(super) use reads::{
    BackupJobNode, BackupModule, JobArguments, TenantSeats, backup_jobs, coverage, job_node, seats,
};
pub(crate) use reads::{DEFAULT_JOBS, check_jobs_first, jobs_read};

use std::sync::Arc;

use async_graphql::{Context, Enum, ID, InputObject, Result, SimpleObject, dataloader::DataLoader};

use super::error::to_graphql;
use crate::{domain::partner, loader::DetailsLoader};

/// The `Customer` fields read from `customers/batch`.
pub(crate) const DETAILS_FIELDS: [&str; 5] = [
    "ownerEmail",
    "countryOrRegion",
    "managementMode",
    "backupStatus",
    "tenants",
];

/// Reads the details of the customers `ids` in one go (in `customerIds` batches of 100), so a
/// page's customers never wait on several DataLoader ticks; their fields then find them
/// cached. A failure is left to each field to report.
pub(super) async fn prefetch_details(ctx: &Context<'_>, ids: Vec<String>) -> Result<()> {
    let loader = ctx.data::<DataLoader<DetailsLoader>>()?;
    let _ = loader.load_many(ids).await;
    Ok(())
}

/// Narrows `customers` by what `customers/batch` says of them; every condition given must
/// hold, and a customer it does not list matches none.
#[derive(InputObject, Debug, Default)]
#[graphql(name = "CustomerFilter")]
pub(in crate::graphql) struct CustomerFilterInput {
    /// Customers in any of these backup states.
    pub backup_status: Option<Vec<BackupStatus>>,
    /// Customers of this management mode.
    pub management_mode: Option<ManagementMode>,
    /// Customers of this country or region, ignoring case.
    pub country_or_region: Option<String>,
}

impl From<CustomerFilterInput> for partner::CustomerFilter {
    fn from(input: CustomerFilterInput) -> Self {
        Self {
            backup_status: input
                .backup_status
                .map(|statuses| statuses.into_iter().map(Into::into).collect()),
            management_mode: input.management_mode.map(Into::into),
            country_or_region: input.country_or_region,
        }
    }
}

/// Who manages a customer's tenant.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[graphql(
    name = "ManagementMode",
    remote = "crate::domain::partner::ManagementMode"
)]
pub(super) enum ManagementMode {
    /// The customer manages its tenant (0).
    CustomerManaged,
    /// The partner manages the customer's tenant (1).
    PartnerManaged,
    /// Not configured yet (2).
    ToBeConfigured,
}

/// The state of a customer's backups (`jobStatus` 1–6; 0, "N/A", is null).
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[graphql(name = "BackupStatus", remote = "crate::domain::partner::BackupStatus")]
pub(super) enum BackupStatus {
    /// Backups are working.
    Working,
    /// Backups failed.
    Failed,
    /// Waiting for configuration.
    WaitingForConfiguration,
    /// Several issues were found.
    MultipleIssues,
    /// Finished with an exception.
    FinishedWithException,
    /// No backup updates.
    NoBackupUpdates,
}

/// A platform of third-party tenants (the seats endpoint's `type`).
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[graphql(name = "Platform", remote = "crate::domain::partner::Platform")]
pub(super) enum Platform {
    /// Microsoft 365 (0).
    Microsoft365,
    /// Salesforce (1).
    Salesforce,
    /// Google (2).
    Google,
    /// Dynamics 365 (3).
    Dynamics365,
}

/// The backup service of a job (`jobType`).
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[graphql(
    name = "BackupService",
    remote = "crate::domain::partner::BackupService"
)]
pub(super) enum BackupService {
    /// Microsoft 365 scan (0).
    Microsoft365Scan,
    /// Microsoft 365 (7).
    Microsoft365,
    /// Google Workspace scan (10).
    GoogleWorkspaceScan,
    /// Google Workspace (11).
    GoogleWorkspace,
    /// IaaS and PaaS (12).
    IaasPaas,
    /// Salesforce (15).
    Salesforce,
    /// Dynamics 365 (16).
    Dynamics365,
}

/// The state of a backup job (`status` 0–14).
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[graphql(name = "JobStatus", remote = "crate::domain::partner::JobStatus")]
pub(super) enum JobStatus {
    /// None (0).
    None,
    /// Running (1).
    Running,
    /// Finished (2).
    Finished,
    /// Failed (3).
    Failed,
    /// Finished with an exception (4).
    FinishedWithException,
    /// Skipped (5).
    Skipped,
    /// Pending (6).
    Pending,
    /// Failed to start (7).
    FailedToStart,
    /// Canceled (8).
    Canceled,
    /// Rejected (9).
    Rejected,
    /// Stopped (10).
    Stopped,
    /// Not scanned (11).
    NotScanned,
    /// Disabled (12).
    Disabled,
    /// Not started (13).
    NotStarted,
    /// Waiting for configuration (14).
    WaitingForConfiguration,
}

/// A tenant of a customer.
#[derive(SimpleObject, Debug, Clone)]
#[graphql(name = "Tenant")]
pub(super) struct Tenant {
    /// The tenant's id.
    id: ID,
    /// The tenant's name; null when the upstream has none.
    name: Option<String>,
}

impl From<&partner::Tenant> for Tenant {
    fn from(tenant: &partner::Tenant) -> Self {
        Self {
            id: ID(tenant.id.to_string()),
            name: tenant.name.as_deref().map(str::to_owned),
        }
    }
}

/// The details of customer `id` from `customers/batch` (batched with every other customer of
/// the request); `None` when it does not list the customer. A failed read is this field's
/// error, with the upstream's code (`UPSTREAM_FORBIDDEN` naming the permission, say).
pub(super) async fn details(
    ctx: &Context<'_>,
    id: &str,
) -> Result<Option<Arc<partner::CustomerDetails>>> {
    let loader = ctx.data::<DataLoader<DetailsLoader>>()?;
    match loader
        .load_one(id.to_owned())
        .await
        .unwrap_or_else(|never| match never {})
    {
        Some(Ok(details)) => Ok(details),
        Some(Err(error)) => Err(to_graphql(error)),
        None => Ok(None),
    }
}
