//! The per-customer reads of the partner API: a customer's backup jobs (per job filter), its
//! tenants' seats (per platform) and its backup coverage, each cached under the customer and
//! its arguments, fresh for its own TTL (`GATEWAY_CACHE_JOBS_TTL_SECS` for jobs,
//! `GATEWAY_CACHE_TTL_SECS` for the rest) and kept `GATEWAY_CACHE_STALE_SECS` longer, as the
//! snapshot is: a stale entry is served at once while one background read refreshes it, and
//! goes on being served while the upstream fails. Read once for every caller asking at the
//! same time (identical reads in one query and across concurrent queries share one request),
//! and, with Redis, once for the deployment: under the read's lease, stored for every replica
//! (`shared/reads.rs`).

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use moka::{Expiry, sync::Cache};
use serde::{Deserialize, Serialize};

use super::{
    CustomerStore, Served,
    keyed::{Keyed, Lifetime, settle},
    live::{self, Topic},
    stale::Stamped,
};
use crate::{
    clock::Clock,
    domain::partner::{BackupModule, Job, Platform, RawCoverage, RawJob, RawSeats, TenantSeats},
    shared::{Shared, StoredRead, Turn},
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

/// What one per-customer read gave, normalised.
#[derive(Debug, Clone)]
pub(crate) enum ReadValue {
    /// Backup jobs, in upstream order.
    Jobs(Arc<[Job]>),
    /// Tenants' seats.
    Seats(Arc<[TenantSeats]>),
    /// Protected modules.
    Coverage(Arc<[BackupModule]>),
}

/// What one per-customer read gave, as the upstream sent it (the form shared through Redis).
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "read", content = "records", rename_all = "snake_case")]
enum RawRead {
    Jobs(Vec<RawJob>),
    Seats(Vec<RawSeats>),
    Coverage(Vec<RawCoverage>),
}

impl RawRead {
    /// The records normalised; seats for `read`'s platform.
    fn normalised(&self, read: Read) -> ReadValue {
        match self {
            Self::Jobs(jobs) => ReadValue::Jobs(jobs.iter().map(Job::from).collect()),
            Self::Seats(seats) => {
                let platform = match read {
                    Read::Seats(platform) => platform,
                    _ => Platform::Microsoft365,
                };
                ReadValue::Seats(
                    seats
                        .iter()
                        .map(|raw| TenantSeats::new(platform, raw))
                        .collect(),
                )
            }
            Self::Coverage(modules) => {
                ReadValue::Coverage(modules.iter().map(BackupModule::from).collect())
            }
        }
    }
}

/// A read's cache key: the customer's id and the read.
pub(crate) type ReadKey = (Arc<str>, Read);

/// How long reads stay fresh, and kept past that.
#[derive(Debug, Clone, Copy)]
pub(super) struct ReadTimes {
    ttl: Duration,
    jobs_ttl: Duration,
    stale: Duration,
}

impl ReadTimes {
    /// Reads fresh for `ttl` (jobs for `jobs_ttl`), then kept `stale` longer.
    pub(super) fn new(ttl: Duration, jobs_ttl: Duration, stale: Duration) -> Self {
        Self {
            ttl,
            jobs_ttl,
            stale,
        }
    }

    /// How long `read` is fresh.
    pub(super) fn ttl(&self, read: Read) -> Duration {
        match read {
            Read::Jobs(_) => self.jobs_ttl,
            Read::Seats(_) | Read::Coverage => self.ttl,
        }
    }

    /// How long `read` is kept: fresh, then stale.
    fn kept(&self, read: Read) -> Duration {
        self.ttl(read) + self.stale
    }
}

/// Each entry lives for its read's TTL and stale window (by moka's clock; the store's clock
/// decides what is fresh and what is too old).
struct ReadExpiry(ReadTimes);

impl Expiry<ReadKey, Stamped<ReadValue>> for ReadExpiry {
    fn expire_after_create(
        &self,
        key: &ReadKey,
        _value: &Stamped<ReadValue>,
        _created_at: Instant,
    ) -> Option<Duration> {
        Some(self.0.kept(key.1))
    }
}

/// The cache of per-customer reads.
pub(super) fn cache(times: ReadTimes) -> Keyed<ReadKey, ReadValue> {
    Keyed::new(
        Cache::builder()
            .max_capacity(MAX_READS)
            .expire_after(ReadExpiry(times))
            .build(),
    )
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

    /// The read's name in Redis, with its customer's id.
    fn shared_name(self, customer: &str) -> String {
        let read = match self {
            Self::Jobs(filter) => format!("jobs:{:?}:{:?}", filter.job_type, filter.job_module),
            Self::Seats(platform) => format!("seats:{}", platform.code()),
            Self::Coverage => "coverage".to_owned(),
        };
        format!("{read}\n{customer}")
    }
}

impl CustomerStore {
    /// `read` of `customer`: cached (a stale entry is served while one background read
    /// refreshes it), or read once for every caller asking at the same time, waiting until
    /// `deadline` at most.
    pub(crate) async fn read(
        &self,
        customer: &str,
        read: Read,
        deadline: Instant,
    ) -> Result<Served<ReadValue>, Arc<UpstreamError>> {
        let key: ReadKey = (Arc::from(customer), read);
        live::read(|| Topic::Read(key.clone()));
        let life = Lifetime {
            ttl: self.read_times.ttl(read),
            kept: self.read_times.kept(read),
        };
        let (now, budget) = (self.clock.now(), self.upstream.deadline());
        let fill = || self.fill_read(key.clone());
        self.reads
            .get(
                key.clone(),
                read.endpoint(),
                life,
                now,
                &self.metrics,
                deadline,
                budget,
                fill,
            )
            .await
    }

    /// Whether `read` of `customer` is cached and fresh: a query that needs it costs no
    /// upstream request for it.
    pub(crate) fn read_is_fresh(&self, customer: &str, read: Read) -> bool {
        let key = (Arc::from(customer), read);
        let ttl = self.read_times.ttl(read);
        self.reads.fresh(&key, ttl, self.clock.now()).is_some()
    }

    /// Reads `key` (from Redis when another replica stored it fresh, otherwise from the
    /// upstream, storing it there) and caches it; a failed refresh marks the stale entry.
    fn fill_read(
        &self,
        key: ReadKey,
    ) -> impl Future<Output = Result<ReadValue, Arc<UpstreamError>>> + Send + 'static {
        let fill = ReadFill {
            upstream: Arc::clone(&self.upstream),
            shared: self.shared.clone(),
            clock: self.clock.clone(),
            times: self.read_times,
        };
        let entries = self.reads.entries.clone();
        let metrics = Arc::clone(&self.metrics);
        async move {
            let read = key.1;
            let started = fill.clock.now();
            let refreshing = entries.get(&key);
            let outcome = fill
                .run(&key)
                .await
                .map(|(raw, age)| (raw.normalised(read), age));
            let now = fill.clock.now();
            settle(
                &entries,
                key,
                refreshing,
                outcome,
                read.endpoint(),
                &metrics,
                started,
                now,
            )
        }
    }
}

/// What one per-customer fill needs.
struct ReadFill {
    upstream: Arc<UpstreamClient>,
    shared: Option<Arc<Shared>>,
    clock: Clock,
    times: ReadTimes,
}

impl ReadFill {
    /// The records of `key` and how old they are: stored fresh by another replica, or read
    /// from the upstream now and stored for the others. One replica reads at a time: the one
    /// holding the read's lease; the others wait for what it stores, and read the upstream
    /// themselves only when Redis cannot help (down, or the wait ran out).
    async fn run(&self, key: &ReadKey) -> Result<(RawRead, Duration), UpstreamError> {
        let (customer, read) = (&key.0, key.1);
        let Some(shared) = &self.shared else {
            return Ok((self.upstream_read(customer, read).await?, Duration::ZERO));
        };
        let name = read.shared_name(customer);
        let give_up = Instant::now() + self.upstream.deadline();
        loop {
            match self.stored(shared, &name, read).await {
                Ok(Some(found)) => return Ok(found),
                Ok(None) => {}
                Err(()) => break,
            }
            let lease_name = format!("read:{}", crate::hex::sha256(name.as_bytes(), 16));
            match shared.turn(&lease_name, give_up).await {
                Turn::Mine(lease) => {
                    // Another replica may have stored it between the look and the lease.
                    let read = match self.stored(shared, &name, read).await {
                        Ok(Some(found)) => Ok(found),
                        _ => self.read_and_store(shared, &name, customer, read).await,
                    };
                    lease.release().await;
                    return read;
                }
                Turn::Wait => {}
                Turn::Alone => break,
            }
        }
        Ok((self.upstream_read(customer, read).await?, Duration::ZERO))
    }

    /// The read stored fresh in Redis, if any; `Err` when Redis did not answer.
    async fn stored(
        &self,
        shared: &Shared,
        name: &str,
        read: Read,
    ) -> Result<Option<(RawRead, Duration)>, ()> {
        let ttl = self.times.ttl(read);
        shared.read_fresh(name, false, ttl, &self.clock).await
    }

    /// Reads the upstream and stores what it gave for the other replicas.
    async fn read_and_store(
        &self,
        shared: &Shared,
        name: &str,
        customer: &str,
        read: Read,
    ) -> Result<(RawRead, Duration), UpstreamError> {
        let records = self.upstream_read(customer, read).await?;
        let stored = StoredRead {
            fetched_ms: self.clock.unix_millis(),
            records,
        };
        if shared
            .write_stored(name, &stored, self.times.ttl(read), false)
            .await
            .is_err()
        {
            shared.fell_back("store_failed");
        }
        Ok((stored.records, Duration::ZERO))
    }

    /// One upstream read of `read` for `customer`.
    async fn upstream_read(&self, customer: &str, read: Read) -> Result<RawRead, UpstreamError> {
        let upstream = &self.upstream;
        Ok(match read {
            Read::Jobs(filter) => RawRead::Jobs(upstream.jobs(customer, filter).await?),
            Read::Seats(platform) => RawRead::Seats(upstream.seats(customer, platform).await?),
            Read::Coverage => RawRead::Coverage(upstream.coverage(customer).await?),
        })
    }
}
