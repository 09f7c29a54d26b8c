//! The partner graph's types (so far `customers/batch`'s details of a customer): the
//! enumerations by the domain's, the `Tenant` object, and reading a customer's details
//! through the request's details DataLoader.

use std::sync::Arc;

use async_graphql::{Context, Enum, ID, Result, SimpleObject, dataloader::DataLoader};

use super::error::to_graphql;
use crate::{domain::partner, loader::DetailsLoader};

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
