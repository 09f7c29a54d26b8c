//! Why a persisted document could not be used.

/// A request's document reference that could not be resolved; each has its own code.
#[derive(Debug, Clone, thiserror::Error)]
pub(crate) enum PersistedError {
    /// An automatic persisted query's hash that is not registered yet (Apollo's link then
    /// sends the query with its hash).
    #[error("PersistedQueryNotFound")]
    QueryNotFound,
    /// The hash sent with a query is not that query's SHA-256.
    #[error("the persisted query's sha256Hash is not the SHA-256 of its query")]
    HashMismatch,
    /// Safelist mode: a request that names no manifest document.
    #[error(
        "only persisted documents run here (GATEWAY_PERSISTED_DOCUMENTS_ONLY): send a documentId from the manifest"
    )]
    DocumentRequired,
    /// Safelist mode: a document id the manifest does not hold.
    #[error("no persisted document has this id")]
    DocumentNotFound,
    /// A `documentId` that is not `sha256:` and 64 hex digits (or the bare hex).
    #[error("`documentId` must be `sha256:` followed by 64 hex digits")]
    BadDocumentId,
    /// A `persistedQuery` extension in a form this gateway does not take.
    #[error("`extensions.persistedQuery` must be version 1 with a 64-hex-digit `sha256Hash`")]
    BadExtension,
}

impl PersistedError {
    /// The `extensions.code` of the refusal.
    pub(crate) fn code(&self) -> &'static str {
        match self {
            Self::QueryNotFound => "PERSISTED_QUERY_NOT_FOUND",
            Self::HashMismatch => "PERSISTED_QUERY_HASH_MISMATCH",
            Self::DocumentRequired => "PERSISTED_DOCUMENT_REQUIRED",
            Self::DocumentNotFound => "PERSISTED_DOCUMENT_NOT_FOUND",
            Self::BadDocumentId | Self::BadExtension => "BAD_REQUEST",
        }
    }

    /// Whether it is answered like a GraphQL request error (200 in `application/json`), as
    /// Apollo's persisted-query link expects for an unknown hash; the others are 400.
    pub(crate) fn is_request_error(&self) -> bool {
        matches!(self, Self::QueryNotFound)
    }
}
