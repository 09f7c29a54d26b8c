//! The series of persisted documents.

use prometheus::{IntCounterVec, Registry};

use super::{Metrics, counters};

/// Requests that named (or, in safelist mode, failed to name) a persisted document.
#[derive(Debug)]
pub(super) struct PersistedSeries {
    documents: IntCounterVec,
}

impl PersistedSeries {
    /// The series, registered in `r`.
    pub(super) fn register(r: &Registry) -> Self {
        Self {
            documents: counters(
                r,
                "gateway_persisted_documents_total",
                "Requests by persisted document (a manifest document's sha256 prefix, automatic, unknown, none) and outcome (manifest, hit, registered, not_found, refused).",
                &["document", "outcome"],
            ),
        }
    }
}

impl Metrics {
    /// A request named a persisted document (`document`), with `outcome`.
    pub(crate) fn persisted_document(&self, document: &str, outcome: &str) {
        self.persisted
            .documents
            .with_label_values(&[document, outcome])
            .inc();
    }
}
