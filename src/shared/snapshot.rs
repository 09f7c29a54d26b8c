//! The upstream's listing as one replica read it, stored for all of them: its customers as the
//! upstream sent them (a JSON array, gzip-compressed: a tenth of the size, and one value of a few
//! megabytes rather than tens), and the wall-clock millisecond it was fetched, from which every
//! replica derives the same age and the same snapshot generation.
//!
//! Three keys, versioned by [`SNAPSHOT_FORMAT`]: the listing itself and its fetch time alone,
//! which replicas waiting for a fill poll cheaply (both expire when the data is past its stale
//! window), and, for a few seconds after a fill failed, the failure's code, so the other
//! replicas serve their stale data (or the error) instead of asking the upstream again.

use std::{
    io::{BufReader, Read},
    time::Duration,
};

use super::{BULK_TIMEOUT, CALL_TIMEOUT, Shared, SharedError, px};
use crate::domain::RawCustomer;

/// The stored form's version; a build that writes another form uses other keys.
pub(crate) const SNAPSHOT_FORMAT: u32 = 1;

/// What the stored listing's small keys say.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SnapshotState {
    /// When the stored listing was fetched (unix ms), if one is stored.
    pub(crate) at: Option<u64>,
    /// The code of a fill that failed moments ago.
    pub(crate) failed: Option<String>,
    /// Whether a replica holds the fill lease (reading the upstream for all).
    pub(crate) leased: bool,
}

/// A listing read back from Redis.
#[derive(Debug)]
pub(crate) struct StoredSnapshot {
    /// Unix milliseconds when the upstream was read.
    pub(crate) fetched_ms: u64,
    /// Every customer, in upstream order.
    pub(crate) customers: Vec<RawCustomer>,
}

impl Shared {
    fn snapshot_key(&self) -> String {
        self.key(&format!("snapshot:v{SNAPSHOT_FORMAT}"))
    }

    fn snapshot_time_key(&self) -> String {
        self.key(&format!("snapshot:v{SNAPSHOT_FORMAT}:at"))
    }

    fn snapshot_failed_key(&self) -> String {
        self.key(&format!("snapshot:v{SNAPSHOT_FORMAT}:failed"))
    }

    /// The stored listing's fetch time, any recent failure, and whether the lease `lease`
    /// is held, in one call.
    pub(crate) async fn snapshot_state(&self, lease: &str) -> Result<SnapshotState, SharedError> {
        let (at, failed, holder): (_, _, Option<String>) = self
            .call(
                "snapshot_state",
                CALL_TIMEOUT,
                redis::cmd("MGET")
                    .arg(self.snapshot_time_key())
                    .arg(self.snapshot_failed_key())
                    .arg(self.lease_key(lease)),
            )
            .await?;
        Ok(SnapshotState {
            at,
            failed,
            leased: holder.is_some(),
        })
    }

    /// Notes for `keep_for` that a fill failed with `code`.
    pub(crate) async fn note_failed_fill(
        &self,
        code: &str,
        keep_for: Duration,
    ) -> Result<(), SharedError> {
        self.call(
            "snapshot_failed",
            CALL_TIMEOUT,
            redis::cmd("SET")
                .arg(self.snapshot_failed_key())
                .arg(code)
                .arg("PX")
                .arg(px(keep_for)),
        )
        .await
    }

    /// The stored listing, if any; decompressed and parsed off the async threads.
    pub(crate) async fn read_snapshot(&self) -> Result<Option<StoredSnapshot>, SharedError> {
        let (fetched_ms, bytes): (Option<u64>, Option<Vec<u8>>) = self
            .call(
                "snapshot_read",
                BULK_TIMEOUT,
                redis::cmd("MGET")
                    .arg(self.snapshot_time_key())
                    .arg(self.snapshot_key()),
            )
            .await?;
        let (Some(fetched_ms), Some(bytes)) = (fetched_ms, bytes) else {
            return Ok(None);
        };
        let customers = tokio::task::spawn_blocking(move || decode(&bytes))
            .await
            .map_err(|error| SharedError::Unreadable("snapshot", error.to_string()))??;
        Ok(Some(StoredSnapshot {
            fetched_ms,
            customers,
        }))
    }

    /// Stores a listing fetched at `fetched_ms`: `customers` is its JSON array, gzipped, kept
    /// for `keep_for`.
    pub(crate) async fn write_snapshot(
        &self,
        fetched_ms: u64,
        customers: &[u8],
        keep_for: Duration,
    ) -> Result<(), SharedError> {
        let millis = px(keep_for);
        let mut pipe = redis::pipe();
        pipe.atomic()
            .cmd("DEL")
            .arg(self.snapshot_failed_key())
            .ignore()
            .cmd("SET")
            .arg(self.snapshot_key())
            .arg(customers)
            .arg("PX")
            .arg(millis)
            .ignore()
            .cmd("SET")
            .arg(self.snapshot_time_key())
            .arg(fetched_ms)
            .arg("PX")
            .arg(millis)
            .ignore();
        self.pipeline("snapshot_write", BULK_TIMEOUT, &pipe).await
    }
}

/// The customers of a stored (gzipped JSON) listing.
fn decode(bytes: &[u8]) -> Result<Vec<RawCustomer>, SharedError> {
    let reader: Box<dyn Read> = Box::new(flate2::read::GzDecoder::new(bytes));
    let customers = serde_json::from_reader(BufReader::new(reader))
        .map_err(|error| SharedError::Unreadable("snapshot", error.to_string()));
    crate::memory::release_freed();
    customers
}
