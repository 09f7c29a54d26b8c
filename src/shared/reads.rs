//! The partner graph's reads (a customer's backup jobs, seats, coverage or details, the whole
//! details listing) as one replica read them, stored for all of them: each under its own key
//! (a digest of its name, so a caller's text never becomes a key), with its fetch time. The
//! cache fills them under a lease (`shared/lease.rs`), so one replica reads and the others
//! find the records here.

use std::time::Duration;

use serde::{Deserialize, Serialize, de::DeserializeOwned};

use super::{BULK_TIMEOUT, CALL_TIMEOUT, Shared, SharedError, px};
use crate::clock::Clock;

/// The stored form's version.
const READ_FORMAT: u32 = 1;

/// One stored read.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct StoredRead<T> {
    /// Unix milliseconds when the upstream was read.
    pub(crate) fetched_ms: u64,
    /// The records as the upstream sent them.
    pub(crate) records: T,
}

impl Shared {
    fn read_key(&self, name: &str) -> String {
        let digest = crate::hex::sha256(name.as_bytes(), 16);
        self.key(&format!("read:v{READ_FORMAT}:{digest}"))
    }

    /// The stored read `name` (the customer and the read, spelt by the caller), when one is
    /// stored and readable; a `bulk` one (a whole listing) may take longer to come.
    pub(crate) async fn read_stored<T: DeserializeOwned>(
        &self,
        name: &str,
        bulk: bool,
    ) -> Result<Option<StoredRead<T>>, SharedError> {
        let mut get = redis::cmd("GET");
        get.arg(self.read_key(name));
        let limit = if bulk { BULK_TIMEOUT } else { CALL_TIMEOUT };
        let stored: Option<Vec<u8>> = self.call("read_get", limit, &get).await?;
        Ok(stored.and_then(|bytes| serde_json::from_slice(&bytes).ok()))
    }

    /// The stored read `name` while younger than `ttl` by `clock`, with its age (`bulk` as in
    /// [`Shared::read_stored`]); `Err` when Redis did not answer, noted as a fallback.
    pub(crate) async fn read_fresh<T: DeserializeOwned>(
        &self,
        name: &str,
        bulk: bool,
        ttl: Duration,
        clock: &Clock,
    ) -> Result<Option<(T, Duration)>, ()> {
        match self.read_stored::<T>(name, bulk).await {
            Ok(Some(stored)) => {
                let age = clock.since_unix_millis(stored.fetched_ms);
                Ok((age < ttl).then_some((stored.records, age)))
            }
            Ok(None) => Ok(None),
            Err(_) => {
                self.fell_back("redis_error");
                Err(())
            }
        }
    }

    /// The stored reads `names`, in order; `None` where nothing (readable) is stored.
    pub(crate) async fn read_stored_many<T: DeserializeOwned>(
        &self,
        names: &[String],
    ) -> Result<Vec<Option<StoredRead<T>>>, SharedError> {
        let mut mget = redis::cmd("MGET");
        for name in names {
            mget.arg(self.read_key(name));
        }
        let stored: Vec<Option<Vec<u8>>> = self.call("read_mget", CALL_TIMEOUT, &mget).await?;
        Ok(stored
            .into_iter()
            .map(|bytes| bytes.and_then(|bytes| serde_json::from_slice(&bytes).ok()))
            .collect())
    }

    /// Stores each `(name, read)` for `keep_for`, in one round trip.
    pub(crate) async fn write_stored_many<T: Serialize>(
        &self,
        reads: &[(String, StoredRead<T>)],
        keep_for: Duration,
    ) -> Result<(), SharedError> {
        let mut pipe = redis::pipe();
        for (name, stored) in reads {
            let value = serde_json::to_vec(stored)
                .map_err(|error| SharedError::Unreadable("read", error.to_string()))?;
            pipe.cmd("SET")
                .arg(self.read_key(name))
                .arg(value)
                .arg("PX")
                .arg(px(keep_for))
                .ignore();
        }
        self.pipeline("read_mset", CALL_TIMEOUT, &pipe).await
    }

    /// Stores the read `name`, fetched at `fetched_ms`, for `keep_for` (`bulk` as above).
    pub(crate) async fn write_stored<T: Serialize>(
        &self,
        name: &str,
        stored: &StoredRead<T>,
        keep_for: Duration,
        bulk: bool,
    ) -> Result<(), SharedError> {
        let value = serde_json::to_vec(stored)
            .map_err(|error| SharedError::Unreadable("read", error.to_string()))?;
        let mut set = redis::cmd("SET");
        set.arg(self.read_key(name))
            .arg(value)
            .arg("PX")
            .arg(px(keep_for));
        let limit = if bulk { BULK_TIMEOUT } else { CALL_TIMEOUT };
        self.call::<()>("read_set", limit, &set).await
    }
}
