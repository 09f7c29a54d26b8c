//! Persisted documents: a request may name its document by hash instead of sending it.
//!
//! * **The manifest** (`GATEWAY_PERSISTED_DOCUMENTS_FILE`): documents known at start, named by
//!   `documentId` (`sha256:<hex>`, or the bare hex, as the GraphQL-over-HTTP working group's
//!   appendix and urql or GraphQL Code Generator's client preset send it) or by Apollo's
//!   `extensions.persistedQuery.sha256Hash`.
//! * **Automatic persisted queries** (Apollo's protocol): an unknown hash without a query is
//!   answered `PERSISTED_QUERY_NOT_FOUND`; the client then sends the query with its hash, which
//!   is checked and registered (bounded memory, and with `GATEWAY_REDIS_URL` in Redis too, so
//!   every replica knows it).
//! * **Safelist mode** (`GATEWAY_PERSISTED_DOCUMENTS_ONLY`): only manifest documents run, and
//!   nothing is registered.

mod error;
mod manifest;
pub(crate) mod settings;

use std::sync::Arc;

use moka::sync::Cache;

pub(crate) use error::PersistedError;
pub(crate) use manifest::Manifest;
pub(crate) use manifest::normalised_id;

use self::settings::PersistedSettings;
use crate::{
    graphql::{DocumentRef, validate},
    metrics::Metrics,
    shared::Shared,
};

/// Most bytes of registered (automatic) documents kept in memory.
const REGISTERED_BYTES: u64 = 16 * 1024 * 1024;

/// The SHA-256 of `text`, in lower-case hex: a persisted document's id.
pub(crate) fn sha256_hex(text: &str) -> String {
    crate::hex::sha256(text.as_bytes(), 32)
}

/// The documents a request may name by hash.
pub(crate) struct PersistedDocuments {
    manifest: Manifest,
    only: bool,
    registered: Cache<String, Arc<str>>,
    shared: Option<Arc<Shared>>,
    metrics: Arc<Metrics>,
}

impl std::fmt::Debug for PersistedDocuments {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PersistedDocuments")
            .field("manifest", &self.manifest.len())
            .field("only", &self.only)
            .finish_non_exhaustive()
    }
}

impl PersistedDocuments {
    /// The manifest's documents, as `(id, text)`.
    pub(crate) fn manifest_documents(&self) -> impl Iterator<Item = (&str, &str)> {
        self.manifest.documents()
    }

    /// The documents of `manifest`; with `only`, nothing else runs.
    pub(crate) fn new(
        manifest: Manifest,
        only: bool,
        shared: Option<Arc<Shared>>,
        metrics: Arc<Metrics>,
    ) -> Self {
        Self {
            manifest,
            only,
            registered: Cache::builder()
                .max_capacity(REGISTERED_BYTES)
                .weigher(|hash: &String, text: &Arc<str>| {
                    u32::try_from(hash.len() + text.len()).unwrap_or(u32::MAX)
                })
                .build(),
            shared,
            metrics,
        }
    }

    /// The documents `settings` name: the manifest read, each hash checked and each document
    /// validated against the schema, before anything listens. The error names the entry.
    pub(crate) async fn from_settings(
        settings: &PersistedSettings,
        shared: Option<Arc<Shared>>,
        metrics: &Arc<Metrics>,
    ) -> Result<Self, String> {
        let manifest = match &settings.file {
            Some(path) => Manifest::load(path)?,
            None => Manifest::default(),
        };
        for (hash, document) in manifest.documents() {
            if let Some(problem) = validate::problem(document).await {
                return Err(format!(
                    "entry `sha256:{hash}` does not validate: {problem}"
                ));
            }
        }
        if settings.only {
            tracing::info!(
                documents = manifest.len(),
                "only persisted documents run (GATEWAY_PERSISTED_DOCUMENTS_ONLY): any other document is refused, and automatic persisted queries are off"
            );
        } else if !manifest.is_empty() {
            tracing::info!(documents = manifest.len(), "persisted documents loaded");
        }
        Ok(Self::new(
            manifest,
            settings.only,
            shared,
            Arc::clone(metrics),
        ))
    }

    /// Whether only manifest documents run.
    pub(crate) fn safelist_only(&self) -> bool {
        self.only
    }

    /// The document text a request runs: the one its reference names, or the `query` it
    /// sent (checked against its hash, and registered, for an automatic persisted query).
    pub(crate) async fn resolve(
        &self,
        reference: Option<&DocumentRef>,
        query: Option<String>,
    ) -> Result<String, PersistedError> {
        let Some(reference) = reference else {
            if self.only {
                self.metrics.persisted_document("none", "refused");
                return Err(PersistedError::DocumentRequired);
            }
            return Ok(query.unwrap_or_default());
        };
        if let Some(text) = self.manifest.get(&reference.hash) {
            if query.as_deref().is_some_and(|query| query != &**text) {
                return Err(PersistedError::HashMismatch);
            }
            self.metrics
                .persisted_document(&label(&reference.hash), "manifest");
            return Ok(text.to_string());
        }
        if self.only {
            self.metrics.persisted_document("unknown", "refused");
            return Err(PersistedError::DocumentNotFound);
        }
        match query {
            Some(query) => {
                if sha256_hex(&query) != reference.hash {
                    return Err(PersistedError::HashMismatch);
                }
                self.register(&reference.hash, &query).await;
                self.metrics.persisted_document("automatic", "registered");
                Ok(query)
            }
            None => match self.registered_text(&reference.hash).await {
                Some(text) => {
                    self.metrics.persisted_document("automatic", "hit");
                    Ok(text.to_string())
                }
                None => {
                    self.metrics.persisted_document("automatic", "not_found");
                    Err(PersistedError::QueryNotFound)
                }
            },
        }
    }

    async fn register(&self, hash: &str, query: &str) {
        self.registered.insert(hash.to_owned(), Arc::from(query));
        if let Some(shared) = &self.shared
            && shared.register_document(hash, query).await.is_err()
        {
            shared.fell_back("store_failed");
        }
    }

    async fn registered_text(&self, hash: &str) -> Option<Arc<str>> {
        if let Some(text) = self.registered.get(hash) {
            return Some(text);
        }
        let shared = self.shared.as_ref()?;
        let text = shared.registered_document(hash).await.ok()??;
        // A hash whose stored text does not match is ignored, whoever wrote it.
        if sha256_hex(&text) != hash {
            return None;
        }
        let text: Arc<str> = Arc::from(text);
        self.registered.insert(hash.to_owned(), Arc::clone(&text));
        Some(text)
    }
}

/// A manifest document's metric label: the start of its hash (the manifest bounds how many).
fn label(hash: &str) -> String {
    format!("sha256:{}", &hash[..16])
}
