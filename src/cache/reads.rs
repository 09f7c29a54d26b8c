//! The per-customer reads of the partner API: a customer's backup jobs (per job filter), its
//! tenants' seats (per platform) and its backup coverage, each cached under the customer and
//! its arguments, fresh for its own TTL (`GATEWAY_CACHE_JOBS_TTL_SECS` for jobs,
//! `GATEWAY_CACHE_TTL_SECS` for the rest), and read once for every caller asking at the same
//! time: identical reads in one query and across concurrent queries share one request.

use std::{sync::Arc, time::Duration};

use moka::{Expiry, future::Cache};

use super::{CustomerStore, waiting::wait};
use crate::{
    domain::partner::{BackupModule, Job, Platform, TenantSeats},
    upstream::{JobFilter, UpstreamClient, UpstreamError},
};

/// Most per-customer reads kept (each a short list).
const MAX_READS: u64 = 200_000;

/// Which per-customer read: the endpoint and its arguments.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Read {
    /// `avpt-products/jobs/batch` with this filter.
    Jobs(JobFilter),
    /// The 3rd-party tenants' seats on this platform.
    Seats(Platform),
    /// `cloud-backup-m365/overview`.
    Coverage,
}

/// What one per-customer read gave.
#[derive(Debug, Clone)]
pub(crate) enum ReadValue {
    /// Backup jobs, in upstream order.
    Jobs(Arc<[Job]>),
    /// Tenants' seats.
    Seats(Arc<[TenantSeats]>),
    /// Protected modules.
    Coverage(Arc<[BackupModule]>),
}

/// A read's cache key: the customer's id and the read.
pub(crate) type ReadKey = (Arc<str>, Read);

/// Each entry lives for its read's TTL.
struct ReadExpiry {
    ttl: Duration,
    jobs_ttl: Duration,
}

impl Expiry<ReadKey, ReadValue> for ReadExpiry {
    fn expire_after_create(
        &self,
        key: &ReadKey,
        _value: &ReadValue,
        _created_at: std::time::Instant,
    ) -> Option<Duration> {
        Some(match key.1 {
            Read::Jobs(_) => self.jobs_ttl,
            Read::Seats(_) | Read::Coverage => self.ttl,
        })
    }
}

/// The cache of per-customer reads.
pub(super) fn cache(ttl: Duration, jobs_ttl: Duration) -> Cache<ReadKey, ReadValue> {
    Cache::builder()
        .max_capacity(MAX_READS)
        .expire_after(ReadExpiry { ttl, jobs_ttl })
        .build()
}

impl Read {
    /// The name of the read's endpoint, for metrics.
    pub(crate) fn endpoint(self) -> &'static str {
        match self {
            Self::Jobs(_) => "jobs",
            Self::Seats(_) => "seats",
            Self::Coverage => "coverage",
        }
    }
}

impl CustomerStore {
    /// `read` of `customer`: cached, or read from the upstream once for every caller asking at
    /// the same time, waiting until `deadline` at most.
    pub(crate) async fn read(
        &self,
        customer: &str,
        read: Read,
        deadline: std::time::Instant,
    ) -> Result<ReadValue, Arc<UpstreamError>> {
        let key: ReadKey = (Arc::from(customer), read);
        if let Some(value) = self.reads.get(&key).await {
            self.metrics.cache_lookup(read.endpoint(), true);
            return Ok(value);
        }
        self.metrics.cache_lookup(read.endpoint(), false);
        let (flight, joined) = self
            .read_flights
            .join_or_start_one(key.clone(), || self.fill_read(key.clone()));
        if joined {
            self.metrics.flight_join(read.endpoint());
        }
        wait(flight, deadline, self.upstream.deadline()).await
    }

    /// Whether `read` of `customer` is cached and fresh: a query that needs it costs no
    /// upstream request for it.
    pub(crate) fn read_is_fresh(&self, customer: &str, read: Read) -> bool {
        self.reads.contains_key(&(Arc::from(customer), read))
    }

    /// Reads `key` from the upstream and caches what it gave.
    fn fill_read(
        &self,
        key: ReadKey,
    ) -> impl Future<Output = Result<ReadValue, Arc<UpstreamError>>> + Send + 'static {
        let upstream = Arc::clone(&self.upstream);
        let cache = self.reads.clone();
        async move {
            let value = read_once(&upstream, &key.0, key.1)
                .await
                .map_err(Arc::new)?;
            cache.insert(key, value.clone()).await;
            Ok(value)
        }
    }
}

/// One upstream read of `read` for `customer`.
async fn read_once(
    upstream: &UpstreamClient,
    customer: &str,
    read: Read,
) -> Result<ReadValue, UpstreamError> {
    Ok(match read {
        Read::Jobs(filter) => ReadValue::Jobs(upstream.jobs(customer, filter).await?.into()),
        Read::Seats(platform) => ReadValue::Seats(upstream.seats(customer, platform).await?.into()),
        Read::Coverage => ReadValue::Coverage(upstream.coverage(customer).await?.into()),
    })
}
