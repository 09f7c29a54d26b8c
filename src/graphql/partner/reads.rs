//! A customer's backup jobs, tenants' seats and backup coverage: their GraphQL objects, and
//! the resolvers that read them through the store's per-customer cache (one request per
//! customer and read for every caller at once). Each list is null with its error when its
//! endpoint fails, never the customer.

use std::sync::Arc;

use async_graphql::{Context, ID, Object, Result, SimpleObject};

use super::{BackupService, JobStatus, Platform};
use crate::{
    cache::{CustomerStore, Provenance, Read, ReadValue},
    domain::{job_global_id, partner},
    graphql::{
        RequestScope,
        error::{QueryError, to_graphql},
        scalars::DateTime,
    },
    upstream::JobFilter,
};

/// The most jobs one `backupJobs` may ask for.
pub(crate) const MAX_JOBS: i32 = 100;

/// `backupJobs`' `first` when the query leaves it out (the schema's default).
pub(crate) const DEFAULT_JOBS: i32 = 20;

/// Refuses a `backupJobs` `first` outside 0 to [`MAX_JOBS`], naming the limit.
pub(crate) fn check_jobs_first(first: i64) -> Result<(), QueryError> {
    if (0..=i64::from(MAX_JOBS)).contains(&first) {
        Ok(())
    } else {
        Err(QueryError::BadInput(format!(
            "`first` of `backupJobs` must be between 0 and {MAX_JOBS}, got {first}"
        )))
    }
}

/// Reads `read` of `customer` through the store, noting where the answer came from (not the
/// snapshot, so it is never reused whole; stale data for the `stale` extension).
async fn read(ctx: &Context<'_>, customer: &str, read: Read) -> Result<ReadValue> {
    let scope = ctx.data::<RequestScope>()?;
    let served = ctx
        .data::<Arc<CustomerStore>>()?
        .read(customer, read, scope.deadline)
        .await;
    match served {
        Ok(served) => {
            scope.reads.note(served.provenance);
            Ok(served.value)
        }
        Err(error) => {
            scope.reads.note(Provenance::elsewhere(None));
            Err(to_graphql(error))
        }
    }
}

/// `backupJobs`' arguments.
#[derive(Debug, Clone)]
pub(in crate::graphql) struct JobArguments {
    /// How many jobs, newest first (at most [`MAX_JOBS`]).
    pub first: i32,
    /// Only jobs of this service (asked of the upstream as `jobType`).
    pub service: Option<BackupService>,
    /// Only jobs in one of these states.
    pub status: Option<Vec<JobStatus>>,
    /// Only jobs that started at or after this instant.
    pub since: Option<DateTime>,
}

/// The upstream read `backupJobs` with `service` needs.
pub(crate) fn jobs_read(service: Option<partner::BackupService>) -> Read {
    Read::Jobs(JobFilter {
        job_type: service.map(partner::BackupService::code),
        job_module: None,
    })
}

/// A customer's backup jobs as `arguments` narrow them, newest `startTime` first (undated
/// last, ties in upstream order).
pub(in crate::graphql) async fn backup_jobs(
    ctx: &Context<'_>,
    customer: &str,
    arguments: JobArguments,
) -> Result<Option<Vec<BackupJobNode>>> {
    check_jobs_first(arguments.first.into()).map_err(to_graphql)?;
    let service = arguments.service.map(partner::BackupService::from);
    let ReadValue::Jobs(jobs) = read(ctx, customer, jobs_read(service)).await? else {
        return Ok(None);
    };
    let statuses: Option<Vec<partner::JobStatus>> = arguments
        .status
        .map(|statuses| statuses.into_iter().map(Into::into).collect());
    let mut chosen: Vec<usize> = (0..jobs.len())
        .filter(|&index| {
            let job = &jobs[index];
            let status_ok = statuses
                .as_ref()
                .is_none_or(|wanted| job.status().is_some_and(|status| wanted.contains(&status)));
            let since_ok = arguments
                .since
                .is_none_or(|since| job.start_time.is_some_and(|start| start >= since.0));
            status_ok && since_ok
        })
        .collect();
    chosen.sort_by(|&a, &b| match (jobs[a].start_time, jobs[b].start_time) {
        (Some(a), Some(b)) => b.cmp(&a),
        (Some(_), None) => std::cmp::Ordering::Less,
        (None, Some(_)) => std::cmp::Ordering::Greater,
        (None, None) => std::cmp::Ordering::Equal,
    });
    chosen.truncate(arguments.first as usize);
    let customer: Arc<str> = Arc::from(customer);
    Ok(Some(
        chosen
            .into_iter()
            .map(|index| BackupJobNode {
                customer: Arc::clone(&customer),
                jobs: Arc::clone(&jobs),
                index,
            })
            .collect(),
    ))
}

/// The job of `customer` whose id is `job_id`, for `node(id:)`: read with no filter (the read
/// `backupJobs` without `service` shares).
pub(in crate::graphql) async fn job_node(
    ctx: &Context<'_>,
    customer: &str,
    job_id: &str,
) -> Result<Option<BackupJobNode>> {
    let ReadValue::Jobs(jobs) = read(ctx, customer, jobs_read(None)).await? else {
        return Ok(None);
    };
    let index = jobs.iter().position(|job| &*job.job_id == job_id);
    Ok(index.map(|index| BackupJobNode {
        customer: Arc::from(customer),
        jobs,
        index,
    }))
}

/// A customer's tenants' seats on `platform`.
pub(in crate::graphql) async fn seats(
    ctx: &Context<'_>,
    customer: &str,
    platform: Platform,
) -> Result<Option<Vec<TenantSeats>>> {
    let ReadValue::Seats(seats) = read(ctx, customer, Read::Seats(platform.into())).await? else {
        return Ok(None);
    };
    Ok(Some(seats.iter().map(TenantSeats::from).collect()))
}

/// A customer's Microsoft 365 backup coverage.
pub(in crate::graphql) async fn coverage(
    ctx: &Context<'_>,
    customer: &str,
) -> Result<Option<Vec<BackupModule>>> {
    let ReadValue::Coverage(modules) = read(ctx, customer, Read::Coverage).await? else {
        return Ok(None);
    };
    Ok(Some(modules.iter().map(BackupModule::from).collect()))
}

/// One backup job of a customer: a view into the cached list it was read in.
pub(in crate::graphql) struct BackupJobNode {
    customer: Arc<str>,
    jobs: Arc<[partner::Job]>,
    index: usize,
}

/// An upstream number as a GraphQL Int (one past its range shows as -1, like none).
fn code(number: i64) -> i32 {
    i32::try_from(number).unwrap_or(-1)
}

impl BackupJobNode {
    fn job(&self) -> &partner::Job {
        &self.jobs[self.index]
    }
}

/// A backup job of a customer (`avpt-products/jobs/batch`). Counts and times are null when the
/// upstream's text does not parse; the enumerations are null for numbers the documents do not
/// list, which their `…Code` fields keep.
#[Object(name = "BackupJob")]
impl BackupJobNode {
    /// The job's global id: opaque, naming its customer and its `jobId`.
    pub(in crate::graphql) async fn id(&self) -> ID {
        ID(job_global_id(&self.customer, &self.job().job_id))
    }
    /// The upstream's `jobId` (empty when it gave none).
    async fn job_id(&self) -> &str {
        &self.job().job_id
    }
    /// The job's name.
    async fn name(&self) -> Option<&str> {
        self.job().name.as_deref()
    }
    /// The backup service; null for a `jobType` the documents do not list.
    async fn service(&self) -> Option<BackupService> {
        self.job().service().map(Into::into)
    }
    /// The upstream's `jobType` (-1 when it sent none or not a number).
    async fn service_code(&self) -> i32 {
        code(self.job().service_code)
    }
    /// The module's documented name ("Exchange Online"); null for 0 ("None") and unknown numbers.
    async fn module(&self) -> Option<&'static str> {
        self.job().module()
    }
    /// The upstream's `jobModule` (-1 when it sent none or not a number).
    async fn module_code(&self) -> i32 {
        code(self.job().module_code)
    }
    /// The job's state; null for a number the documents do not list.
    async fn status(&self) -> Option<JobStatus> {
        self.job().status().map(Into::into)
    }
    /// The upstream's `status` (-1 when it sent none or not a number).
    async fn status_code(&self) -> i32 {
        code(self.job().status_code)
    }
    /// Objects processed.
    async fn total_count(&self) -> Option<i32> {
        self.job().counts.total
    }
    /// Objects that failed.
    async fn failed_count(&self) -> Option<i32> {
        self.job().counts.failed
    }
    /// Objects backed up.
    async fn successful_count(&self) -> Option<i32> {
        self.job().counts.successful
    }
    /// Objects skipped.
    async fn skipped_count(&self) -> Option<i32> {
        self.job().counts.skipped
    }
    /// Objects with warnings.
    async fn warning_count(&self) -> Option<i32> {
        self.job().counts.warning
    }
    /// The size backed up, as the upstream writes it ("12.5 GB").
    async fn backup_size(&self) -> Option<&str> {
        self.job().backup_size.as_deref()
    }
    /// That size in bytes (GB = 1024³ bytes).
    async fn backup_bytes(&self) -> Option<f64> {
        self.job().backup_bytes
    }
    /// When the job started.
    async fn start_time(&self) -> Option<DateTime> {
        self.job().start_time.map(DateTime)
    }
    /// When the job ended.
    async fn end_time(&self) -> Option<DateTime> {
        self.job().end_time.map(DateTime)
    }
    /// When the job last changed.
    async fn last_modify_time(&self) -> Option<DateTime> {
        self.job().last_modify_time.map(DateTime)
    }
    /// How long the job ran, in seconds (from "17m39s").
    async fn duration_seconds(&self) -> Option<i32> {
        self.job().duration_seconds
    }
}

/// One tenant's seats on one platform.
#[derive(SimpleObject)]
#[graphql(name = "TenantSeats")]
pub(in crate::graphql) struct TenantSeats {
    /// The platform asked for.
    platform: Platform,
    /// The tenant's id.
    tenant_id: ID,
    /// The tenant's name.
    tenant_name: Option<String>,
    /// Seats available.
    available_user_seats: Option<i32>,
    /// Seats assigned.
    assigned_user_seats: Option<i32>,
}

impl From<&partner::TenantSeats> for TenantSeats {
    fn from(seats: &partner::TenantSeats) -> Self {
        Self {
            platform: seats.platform.into(),
            tenant_id: ID(seats.tenant_id.to_string()),
            tenant_name: seats.tenant_name.as_deref().map(str::to_owned),
            available_user_seats: seats.available,
            assigned_user_seats: seats.assigned,
        }
    }
}

/// One protected module of a customer's Microsoft 365 backup.
#[derive(SimpleObject)]
#[graphql(name = "BackupModule")]
pub(in crate::graphql) struct BackupModule {
    /// The tenant's id.
    tenant_id: Option<ID>,
    /// The service's name.
    service: Option<String>,
    /// The module's name.
    module: Option<String>,
    /// When it was last backed up.
    last_run_time: Option<DateTime>,
    /// Objects scanned.
    scanned_objects: Option<i32>,
    /// Objects backed up.
    protected_objects: Option<i32>,
    /// Data stored with AvePoint, as the upstream writes it.
    stored_in_ave_point: Option<String>,
    /// That size in bytes.
    stored_in_ave_point_bytes: Option<f64>,
    /// Data stored in the customer's own storage (BYOS), as the upstream writes it.
    stored_in_byos: Option<String>,
    /// That size in bytes.
    stored_in_byos_bytes: Option<f64>,
}

impl From<&partner::BackupModule> for BackupModule {
    fn from(module: &partner::BackupModule) -> Self {
        let text = |value: &Option<Box<str>>| value.as_deref().map(str::to_owned);
        Self {
            tenant_id: module.tenant_id.as_deref().map(|id| ID(id.to_owned())),
            service: text(&module.service),
            module: text(&module.module),
            last_run_time: module.last_run_time.map(DateTime),
            scanned_objects: module.scanned_objects,
            protected_objects: module.protected_objects,
            stored_in_ave_point: text(&module.stored_in_avepoint),
            stored_in_ave_point_bytes: module.stored_in_avepoint_bytes,
            stored_in_byos: text(&module.stored_in_byos),
            stored_in_byos_bytes: module.stored_in_byos_bytes,
        }
    }
}
