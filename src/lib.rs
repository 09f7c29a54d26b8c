//! # elements-gateway
//!
//! A GraphQL gateway over AvePoint Elements' partner REST endpoint. A request travels down
//! through these modules, and data comes back up the same way:
//!
//! ```text
//! http ──▶ auth ──▶ answer ──▶ graphql ──▶ loader ──▶ cache ──▶ upstream ──▶ (REST)
//!                                                     └── domain (typed model, indices)
//! ```
//!
//! One request crosses three stages, with one type at each boundary: http/ extracts a caller
//! and the request's body or URL (every refusal of its own is an HTTP error there), the
//! [`answer`] stage turns them into a [`answer::Reply`] (parameters, persisted documents,
//! whole-answer reuse and joining identical requests, pricing, the executor choice, the GET
//! tag check) or one [`answer::AnswerError`], and graphql/ prices and executes a request into
//! a [`graphql::Answer`], which carries its bytes, its status class and its provenance (where
//! its data came from, read by the memo and the `stale` extension alike). Every import points
//! down this stack; the leaves at the bottom (`de`, `calls`, `noted`, `clock`, `hex`,
//! `metrics`, `secret`, …) may be imported by anything.
//!
//! # Layout
//!
//! * [`cli`]: the command line (`serve`, `serve --demo`, `schema`, `config check`,
//!   `mock-upstream`).
//! * [`check`]: `config check`, every start-up rule that needs no network.
//! * [`clock`]: the time that decides freshness (TTL, cool-down, token life), which tests
//!   move forward instead of sleeping.
//! * [`config`]: settings from a TOML file and `GATEWAY_*` variables, validated before start.
//! * [`app`]: wires the parts together, binds, serves until shutdown, then drains.
//! * [`http`]: the listener (header timeout, connection limit, drain), routes (`/graphql` by
//!   POST, GET, QUERY, a batch, and as streams over SSE and WebSocket; `/mcp` for agents;
//!   GraphiQL and its embedded bundle, `/healthz`, `/readyz`, `/metrics`), the extractors
//!   (caller, body), content negotiation, request ids, tower-http's panic guard and
//!   compression, the header limit, the per-caller rate limit, and the HTTP shape of every
//!   refusal.
//! * [`auth`]: caller JWT verification against the shared secret, PEM keys and a JWKS, and
//!   the customers a caller may see; nothing goes upstream before it passes.
//! * [`answer`]: the answer stage: one entry point per transport from a caller and a request
//!   to a reply; its [`answer::memo`] keeps whole answers for reuse while their snapshot is
//!   current and runs one execution for identical requests in flight; its live side answers
//!   subscriptions, one shared evaluation per operation, variables and scope.
//! * [`graphql`]: the schema (types, root fields, cursors), the request's stages (parsed,
//!   priced, executed), the query limits (depth, cost with list sizes, root fields, aliases),
//!   and execution: error codes, partial answers' nulls, the `stale` and `cost` extensions,
//!   apart from transport.
//! * [`loader`]: the per-request DataLoaders that batch every customer id of a query, for
//!   the customers and for their details (`customers/batch`).
//! * [`cache`]: moka caches in front of the upstream: single-flight fills in their own tasks,
//!   stale-while-revalidate and stale-if-error; with a shared Redis, one fill for every replica.
//! * [`shared`]: the optional Redis replicas share: the upstream's answers, the fill lease and
//!   the deployment-wide rate limit, each falling back to the replica's own when Redis is down.
//! * [`upstream`]: the REST client of every partner endpoint: paging, bounded concurrency,
//!   retries and the circuit breaker, `UPSTREAM_*` errors, and the gateway's own app token
//!   (fixed, or by client credentials, with the scopes the identity service grants).
//! * [`domain`]: the upstream's raw records, and customers, products and the rest of the
//!   partner API's records (details, jobs, seats, coverage) normalised from their strings.
//! * [`mock_upstream`]: a real HTTP fake of the partner API (and its identity service) with
//!   switchable faults and permissions.
//! * [`demo`]: `serve --demo`: the mock, settings and a caller token, no setup.
//! * [`metrics`]: the Prometheus registry behind `/metrics`.
//! * [`telemetry`]: text or JSON logs, and OTLP span export (the `otlp` feature).
//! * [`calls`]: the upstream calls one request made, counted across the tasks it starts.
//! * [`de`]: how one setting's value is read (ranges, units, secrets), for every module's
//!   settings struct.
//! * [`hex`]: bytes as lower-case hex (digests, random tokens), written one way.
//! * [`flight`]: the one single-flight (cache fills, answer executions, JWKS fetches) and its
//!   cancellation rule.
//! * [`noted`]: what a request's handling notes for its access-log line (operation, document,
//!   answer source).
//! * [`memory`]: memory handed back to the system after a very large answer.
//! * [`outbound`]: what every outbound HTTP client shares: no redirects, capped reads.
//! * [`persisted`]: persisted documents: the manifest, automatic persisted queries, safelist
//!   mode.
//! * [`secret`]: secrets that never print.

// The map above names the internal modules too, for developers; the public surface, below
// the modules, is what the binary, the tests, the benchmarks and the fuzz targets use, so
// `unreachable_pub` finds every other `pub`.
#![allow(rustdoc::private_intra_doc_links)]

pub(crate) mod answer;
pub(crate) mod app;
pub(crate) mod auth;
pub(crate) mod cache;
pub(crate) mod calls;
pub(crate) mod check;
pub(crate) mod cli;
pub(crate) mod clock;
pub(crate) mod config;
pub(crate) mod de;
pub(crate) mod demo;
pub(crate) mod domain;
pub(crate) mod flight;
pub(crate) mod graphql;
pub(crate) mod hex;
pub(crate) mod http;
pub(crate) mod loader;
pub(crate) mod memory;
pub(crate) mod metrics;
pub mod mock_upstream;
pub(crate) mod noted;
pub(crate) mod outbound;
pub(crate) mod persisted;
pub(crate) mod secret;
pub(crate) mod shared;
pub(crate) mod telemetry;
pub(crate) mod upstream;

pub use app::{Application, StartError};
pub use cli::{Cli, run};
pub use clock::Clock;
pub use config::{ConfigError, Settings, VARIABLES};
pub use domain::{Customer, ProductFilter, RawCustomer, RawProduct, Snapshot};
pub use graphql::{
    ListSizes, PRODUCT_INTS, PRODUCT_SCALARS, PRODUCT_TEXTS, QueryLimits, Refusal, check_limits,
    sdl,
};
pub use upstream::BATCH_PATH;
