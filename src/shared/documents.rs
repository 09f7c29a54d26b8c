//! Automatic persisted queries registered by any replica, so a client whose next request
//! lands elsewhere need not send its query again. Keyed by the document's SHA-256, which the
//! reader checks again; kept a day.

use std::time::Duration;

use super::{CALL_TIMEOUT, Shared, SharedError};

/// How long a registered document is kept.
const KEEP_FOR: Duration = Duration::from_secs(24 * 60 * 60);

impl Shared {
    fn document_key(&self, hash: &str) -> String {
        self.key(&format!("apq:v1:{hash}"))
    }

    /// Stores an automatic persisted query under its hash.
    pub(crate) async fn register_document(
        &self,
        hash: &str,
        text: &str,
    ) -> Result<(), SharedError> {
        self.call(
            "document_register",
            CALL_TIMEOUT,
            redis::cmd("SET")
                .arg(self.document_key(hash))
                .arg(text)
                .arg("EX")
                .arg(KEEP_FOR.as_secs()),
        )
        .await
    }

    /// The automatic persisted query registered under `hash`, if any.
    pub(crate) async fn registered_document(
        &self,
        hash: &str,
    ) -> Result<Option<String>, SharedError> {
        self.call(
            "document_read",
            CALL_TIMEOUT,
            redis::cmd("GET").arg(self.document_key(hash)),
        )
        .await
    }
}
