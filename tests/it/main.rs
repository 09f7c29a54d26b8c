//! Integration tests: the real gateway on an ephemeral port, the real mock upstream on
//! another, real HTTP between them. One test binary (one link step) with a module per area.

mod auth;
mod cache_and_batching;
mod caller_keys;
mod cli;
mod common;
mod customers;
mod faults;
mod http;
mod paging;
mod products;
