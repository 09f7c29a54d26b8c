//! Resolver failures as GraphQL errors with an `extensions.code`. With the refusals of
//! `limits` and the request and internal errors coded in `execute`, every GraphQL error code
//! is set inside this module; http/ only codes its own transport refusals.

use std::sync::Arc;

use async_graphql::ErrorExtensions;

use crate::upstream::UpstreamError;

/// Why a field could not be resolved.
#[derive(Debug, thiserror::Error)]
pub enum QueryError {
    /// The upstream failed; the code is one of the contract's `UPSTREAM_*`.
    #[error(transparent)]
    Upstream(Arc<UpstreamError>),
    /// An argument is out of range or malformed; the message names it.
    #[error("{0}")]
    BadInput(String),
}

impl QueryError {
    /// The contract's code for this error.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Upstream(error) => error.code(),
            Self::BadInput(_) => "BAD_USER_INPUT",
        }
    }
}

impl From<Arc<UpstreamError>> for QueryError {
    fn from(error: Arc<UpstreamError>) -> Self {
        Self::Upstream(error)
    }
}

impl ErrorExtensions for QueryError {
    fn extend(&self) -> async_graphql::Error {
        async_graphql::Error::new(self.to_string()).extend_with(|_, extensions| {
            extensions.set("code", self.code());
        })
    }
}

/// Converts a layer error to a GraphQL error carrying its code (the blanket `From<Display>`
/// conversion would drop the code).
pub(crate) fn to_graphql(error: impl Into<QueryError>) -> async_graphql::Error {
    error.into().extend()
}
