//! Filling the snapshot: from the upstream, or, with a shared Redis, once for the whole
//! deployment.
//!
//! With Redis, a replica that needs the listing first looks at what is stored: data younger
//! than the TTL, or any data within the stale window that is newer than what this replica
//! holds, is taken as it is. Otherwise the replica asks for the fill lease; the holder reads
//! the upstream, stores what it read, and releases the lease. Replicas that find the lease
//! taken poll the stored fetch time until it moves (then read what was stored) or the lease is
//! gone without new data (then ask for the lease themselves), within the upstream's deadline.
//! A fill that fails is noted for [`FAILED_FOR`]: the other replicas then give the same
//! upstream error (and so keep serving stale data, stale-if-error) rather than each asking the
//! upstream again. Whenever Redis cannot help (down, slow, unreadable, or the wait ran out),
//! the replica reads the upstream itself, as it would without Redis.

use std::{
    io::Write,
    sync::Arc,
    time::{Duration, Instant},
};

use tokio::sync::watch;

use super::stale::FAILED_FOR;
use crate::{
    clock::Clock,
    domain::{Customer, RawCustomer, Snapshot},
    shared::{Shared, SnapshotState, StoredSnapshot},
    upstream::{UpstreamClient, UpstreamError},
};

/// How often a replica waiting for another's fill looks again.
const POLL_EVERY: Duration = Duration::from_millis(50);

/// The lease's name for the listing.
const LISTING: &str = "snapshot";

/// A snapshot just filled, and how old its data already is (data read from Redis was
/// fetched earlier, by another replica).
pub(super) struct Filled {
    pub(super) snapshot: Arc<Snapshot>,
    pub(super) age: Duration,
}

/// What one fill needs.
pub(super) struct Fill {
    pub(super) upstream: Arc<UpstreamClient>,
    pub(super) shared: Option<Arc<Shared>>,
    pub(super) clock: Clock,
    pub(super) ttl: Duration,
    pub(super) kept: Duration,
    /// The generation this replica holds now (stale), if any.
    pub(super) known: Option<u64>,
    pub(super) progress: Arc<watch::Sender<Vec<Arc<Customer>>>>,
}

impl Fill {
    /// Fills the snapshot, through Redis when there is one.
    pub(super) async fn run(self) -> Result<Filled, UpstreamError> {
        match self.shared.clone() {
            Some(shared) => {
                let filled = self.through(&shared).await;
                // The listing's text, compressed or parsed, was tens of megabytes.
                crate::memory::release_freed();
                filled
            }
            None => self.read(false).await.map(|(filled, _)| filled),
        }
    }

    async fn through(self, shared: &Arc<Shared>) -> Result<Filled, UpstreamError> {
        let give_up = Instant::now() + self.upstream.deadline();
        loop {
            let Ok(state) = shared.snapshot_state(LISTING).await else {
                return self.alone(shared, "redis_error").await;
            };
            if let Some(at) = state.at.filter(|&at| self.usable(at)) {
                match shared.read_snapshot().await {
                    Ok(Some(stored)) => return Ok(self.stored(stored)),
                    Ok(None) => tracing::debug!(at, "the shared snapshot expired as it was read"),
                    Err(_) => return self.alone(shared, "redis_error").await,
                }
            }
            if let Some(code) = &state.failed {
                return Err(UpstreamError::elsewhere(code));
            }
            match shared.take_lease(LISTING).await {
                Ok(Some(lease)) => {
                    let read = self.read(true).await;
                    let stored = match &read {
                        Ok((filled, Some(json))) => {
                            let at = filled.snapshot.generation();
                            shared.write_snapshot(at, json, self.kept).await
                        }
                        Ok(_) => Ok(()),
                        Err(error) => shared.note_failed_fill(error.code(), FAILED_FOR).await,
                    };
                    if stored.is_err() {
                        shared.fell_back("store_failed");
                    }
                    lease.release().await;
                    return read.map(|(filled, _)| filled);
                }
                Ok(None) => match wait_for_fill(shared, &state, give_up).await {
                    Some(outcome) => shared.metrics().redis_lease_wait(outcome),
                    None => {
                        shared.metrics().redis_lease_wait("timeout");
                        return self.alone(shared, "lease_wait_timeout").await;
                    }
                },
                Err(_) => return self.alone(shared, "redis_error").await,
            }
        }
    }

    /// Whether data fetched at `at` (unix ms) may be taken as it is.
    fn usable(&self, at: u64) -> bool {
        let age = self.clock.since_unix_millis(at);
        age < self.ttl || (age < self.kept && self.known != Some(at))
    }

    fn stored(&self, stored: StoredSnapshot) -> Filled {
        let customers = stored
            .customers
            .into_iter()
            .map(|wire| Arc::new(Customer::from_wire(wire)))
            .collect();
        Filled {
            snapshot: Arc::new(Snapshot::with_generation(customers, stored.fetched_ms)),
            age: self.clock.since_unix_millis(stored.fetched_ms),
        }
    }

    /// Reads the upstream without Redis's help, noting why.
    async fn alone(self, shared: &Shared, reason: &'static str) -> Result<Filled, UpstreamError> {
        shared.fell_back(reason);
        self.read(false).await.map(|(filled, _)| filled)
    }

    /// Reads every customer from the upstream, publishing each page as it arrives; with
    /// `to_share`, also their JSON array as the upstream sent them, gzipped as it is written,
    /// and the snapshot's generation is its fetch time.
    async fn read(&self, to_share: bool) -> Result<(Filled, Option<Vec<u8>>), UpstreamError> {
        let mut json = to_share.then(Gzipped::default);
        let progress = &self.progress;
        let mut take = |page: Vec<RawCustomer>| {
            if let Some(json) = json.as_mut() {
                json.push(&page);
            }
            let page: Vec<Arc<Customer>> = page
                .into_iter()
                .map(|wire| Arc::new(Customer::from_wire(wire)))
                .collect();
            progress.send_modify(|read| read.extend(page));
        };
        self.upstream.all_customers(&mut take).await?;
        let fetched_ms = self.clock.unix_millis();
        let customers = progress.send_replace(Vec::new());
        let snapshot = if to_share {
            Snapshot::with_generation(customers, fetched_ms)
        } else {
            Snapshot::from_shared(customers)
        };
        let json = json.map(Gzipped::finish);
        let filled = Filled {
            snapshot: Arc::new(snapshot),
            age: Duration::ZERO,
        };
        Ok((filled, json))
    }
}

/// Waits for the lease holder: `Some("filled")` or `Some("failed")` once the stored state
/// moves from `seen`, `Some("released")` when the lease is gone without it, `None` at
/// `give_up` or when Redis stops answering.
async fn wait_for_fill(
    shared: &Shared,
    seen: &SnapshotState,
    give_up: Instant,
) -> Option<&'static str> {
    while Instant::now() + POLL_EVERY < give_up {
        tokio::time::sleep(POLL_EVERY).await;
        let state = shared.snapshot_state(LISTING).await.ok()?;
        if state.at != seen.at {
            return Some("filled");
        }
        if state.failed.is_some() {
            return Some("failed");
        }
        if !state.leased {
            return Some("released");
        }
    }
    None
}

/// A JSON array of customers, compressed a page at a time as it is written (the encoder is
/// slow on the many small writes serde makes, so a page is written out whole first).
struct Gzipped {
    encoder: flate2::write::GzEncoder<Vec<u8>>,
    page: Vec<u8>,
    written: usize,
}

impl Default for Gzipped {
    fn default() -> Self {
        Self {
            encoder: flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast()),
            page: b"[".to_vec(),
            written: 0,
        }
    }
}

impl Gzipped {
    fn push(&mut self, page: &[RawCustomer]) {
        for customer in page {
            if self.written > 0 {
                self.page.push(b',');
            }
            serde_json::to_writer(&mut self.page, customer).expect("a customer serialises");
            self.written += 1;
        }
        self.encoder
            .write_all(&self.page)
            .expect("writing to memory");
        self.page.clear();
    }

    fn finish(mut self) -> Vec<u8> {
        self.page.push(b']');
        self.encoder
            .write_all(&self.page)
            .expect("writing to memory");
        self.encoder.finish().expect("writing to memory")
    }
}
