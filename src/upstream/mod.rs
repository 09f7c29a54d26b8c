//! The partner REST endpoint: paging, bounded concurrency, and mapping failures to codes.
//!
//! This layer knows HTTP and the wire format, and nothing of caching or GraphQL: it answers
//! "all customers" or "these customers" with deduplicated wire records, or an [`UpstreamError`].

mod client;
mod error;
pub mod wire;

pub use client::{BATCH_PATH, MAX_IDS_PER_REQUEST, UpstreamClient, UpstreamOptions};
pub use error::UpstreamError;
