//! Single customers as the upstream answered a `customerIds` read, stored for every replica:
//! each id under its own key (the id's digest, so a caller's text never becomes a key), with
//! its fetch time, "no such customer" included. These reads take no lease: a customer asked
//! for on several replicas at once costs at most one read each, and later ones find it here.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::{CALL_TIMEOUT, Shared, SharedError, px};
use crate::domain::RawCustomer;

/// The stored form's version.
const CUSTOMER_FORMAT: u32 = 1;

/// One id's stored answer.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct StoredCustomer {
    /// Unix milliseconds when the upstream was read.
    pub(crate) fetched_ms: u64,
    /// The customer, or `None`: the upstream has no customer with this id.
    pub(crate) customer: Option<RawCustomer>,
}

impl Shared {
    fn customer_key(&self, id: &str) -> String {
        let digest = crate::hex::sha256(id.as_bytes(), 16);
        self.key(&format!("customer:v{CUSTOMER_FORMAT}:{digest}"))
    }

    /// The stored answers for `ids`, in order; `None` where nothing (readable) is stored.
    pub(crate) async fn read_customers(
        &self,
        ids: &[String],
    ) -> Result<Vec<Option<StoredCustomer>>, SharedError> {
        let mut mget = redis::cmd("MGET");
        for id in ids {
            mget.arg(self.customer_key(id));
        }
        let stored: Vec<Option<Vec<u8>>> = self.call("customers_read", CALL_TIMEOUT, &mget).await?;
        Ok(stored
            .into_iter()
            .map(|bytes| bytes.and_then(|bytes| serde_json::from_slice(&bytes).ok()))
            .collect())
    }

    /// Stores each id's answer (`None`: no such customer), fetched at `fetched_ms`, for
    /// `keep_for`.
    pub(crate) async fn write_customers(
        &self,
        answers: &[(&str, Option<&RawCustomer>)],
        fetched_ms: u64,
        keep_for: Duration,
    ) -> Result<(), SharedError> {
        let millis = px(keep_for);
        let mut pipe = redis::pipe();
        for (id, customer) in answers {
            let value = serde_json::json!({ "fetched_ms": fetched_ms, "customer": customer });
            pipe.cmd("SET")
                .arg(self.customer_key(id))
                .arg(value.to_string())
                .arg("PX")
                .arg(millis)
                .ignore();
        }
        self.pipeline("customers_write", CALL_TIMEOUT, &pipe).await
    }
}
