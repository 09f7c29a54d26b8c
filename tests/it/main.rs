//! Integration tests: the real gateway on an ephemeral port, the real mock upstream on
//! another, real HTTP between them. One test binary (one link step) with a module per area.

mod access_log;
mod answer_reuse;
mod app_token;
mod auth;
mod batching;
mod cache_and_batching;
mod caller_keys;
mod cli;
mod common;
mod compression;
mod config_check;
mod customer_claim;
mod customers;
mod differential;
mod fault_load;
mod faults;
mod hardening;
mod http;
mod http_caching;
mod inbound;
mod lifecycle;
mod live;
mod mcp;
mod mock_partner;
mod observability;
#[cfg(feature = "otlp")]
mod otlp;
mod paging;
mod partial;
mod partial_generated;
mod partner_details;
mod partner_fanout;
mod partner_faults;
mod partner_filter;
mod partner_reads;
mod persisted;
mod products;
mod protection;
mod relay;
mod replicas;
mod replicas_lease;
mod resilience;
mod secrets;
mod stale;
