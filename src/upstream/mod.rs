//! The partner REST endpoint: paging, bounded concurrency, and mapping failures to codes.
//!
//! This layer knows HTTP and the wire format, and nothing of caching or GraphQL: it answers
//! "all customers" or "these customers" with deduplicated wire records, or an [`UpstreamError`].
//! It also owns the gateway's app token ([`AppToken`]): fixed, or from the identity service.

mod assertion;
mod client;
mod error;
mod resilience;
pub(crate) mod scopes;
mod settings;
mod token;
pub(crate) mod wire;

pub(crate) use assertion::{ASSERTION_TYPE, AssertionSigner, certificate_thumbprint};
pub use client::BATCH_PATH;
pub(crate) use client::{JobFilter, MAX_IDS_PER_REQUEST, UpstreamClient, UpstreamRuntime};
pub(crate) use error::UpstreamError;
pub(crate) use resilience::{Breaker, CircuitState, Outcome, RetryPolicy};
pub(crate) use settings::{
    ClientAuthentication, DEFAULT_SCOPE, DEFAULT_UPSTREAM_URL, Resilience, UpstreamCredentials,
    UpstreamSection, UpstreamSettings,
};
pub(crate) use token::{AppCredentials, AppToken, ClientCredentials, ClientProof};
