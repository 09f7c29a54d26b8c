//! A real HTTP fake of the partner API, shipped in the binary.
//!
//! It serves `POST …/customers/services/batch` over a deterministic [`dataset`] and the rest
//! of the partner API (`customers/batch`, a customer's jobs, seats and Microsoft 365
//! overview, with data derived from each customer; `PUT /__mock/denied` or
//! [`MockUpstream::deny`] takes a permission away), pages with a
//! page-size cap (like the real upstream, it may answer with fewer than asked), requires a
//! bearer token, and counts what it is asked. Its token endpoint (`POST` [`TOKEN_PATH`])
//! issues app tokens by the client-credentials grant. Faults can be switched on at run time,
//! from a test through [`MockUpstream`] or over HTTP (`PUT /__mock/fault`), for every batch
//! request or only the listing or id requests, until changed or for the next N requests, so the
//! gateway's error paths (retries included) are exercised against real sockets. The
//! `mock-upstream` command, `serve --demo` and the test suite all use this one implementation.

pub mod dataset;
mod faults;
mod identity;
mod partner;
mod partner_data;
mod routes;

use std::{
    collections::{HashMap, HashSet},
    net::SocketAddr,
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
    time::Duration,
};

use serde::Serialize;
use tokio::{net::TcpListener, sync::oneshot};

use dataset::MockCustomer;
use faults::ActiveFault;
pub use faults::{Fault, FaultScope, RequestKind};
use identity::Identity;
pub use identity::{MockClient, READ_PERMISSIONS, TOKEN_PATH};
pub use partner::GENERAL;

/// What the mock serves and how.
#[derive(Debug, Clone)]
pub struct MockOptions {
    /// How many customers the dataset holds.
    pub customers: usize,
    /// Products per customer.
    pub products_per_customer: usize,
    /// Seed of the dataset.
    pub seed: u64,
    /// A fixed bearer token the batch endpoint always accepts (besides issued ones).
    pub token: String,
    /// The app registration the token endpoint serves; `None` refuses every token request.
    pub client: Option<MockClient>,
    /// `expires_in` of the tokens the token endpoint issues.
    pub token_lifetime: Duration,
    /// The largest page the mock serves, whatever is asked (the real one caps too).
    pub page_cap: u64,
    /// Delay before every answer.
    pub latency: Duration,
}

impl Default for MockOptions {
    fn default() -> Self {
        Self {
            customers: 120,
            products_per_customer: 5,
            seed: 1,
            token: "mock-upstream-token".into(),
            client: None,
            token_lifetime: Duration::from_secs(3600),
            page_cap: 50,
            latency: Duration::ZERO,
        }
    }
}

/// What the mock has been asked, for tests and `GET /__mock/stats`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct MockStats {
    /// Batch requests received, whatever their answer.
    pub requests: u64,
    /// Of those, requests for every customer (`{}`).
    pub listing_requests: u64,
    /// Of those, requests for chosen customers (`customerIds` or `customerId`).
    pub id_requests: u64,
    /// Batch requests in progress now (received, not yet answered).
    pub in_flight: u64,
    /// Most batch requests that were in progress at one time.
    pub max_in_flight: u64,
    /// Requests to the token endpoint, granted or not.
    pub token_requests: u64,
    /// Of those, requests refused.
    pub token_refusals: u64,
}

#[derive(Debug)]
struct MockState {
    customers: Vec<MockCustomer>,
    positions: HashMap<String, usize>,
    token: String,
    page_cap: u64,
    latency_ms: AtomicU64,
    fault: Mutex<ActiveFault>,
    duplicate_across_pages: AtomicBool,
    missing_ids_as_404: AtomicBool,
    requests: AtomicU64,
    listing_requests: AtomicU64,
    id_requests: AtomicU64,
    in_flight: AtomicU64,
    max_in_flight: AtomicU64,
    identity: Identity,
    /// What the rest of the partner API has been asked, and the permissions denied.
    partner: partner::PartnerLog,
    /// Every distinct `Authorization` value the batch endpoint has seen.
    authorizations: Mutex<HashSet<String>>,
    /// Organisation names changed since start, by customer id (data that change under a
    /// subscription).
    renamed: Mutex<HashMap<String, String>>,
}

/// A running mock upstream on a loopback port; it stops when dropped.
#[derive(Debug)]
pub struct MockUpstream {
    addr: SocketAddr,
    state: Arc<MockState>,
    shutdown: Option<oneshot::Sender<()>>,
}

impl MockUpstream {
    /// Starts a mock on `127.0.0.1` with an ephemeral port.
    pub async fn spawn(options: MockOptions) -> std::io::Result<Self> {
        let listener = TcpListener::bind(("127.0.0.1", 0)).await?;
        Self::start(listener, options)
    }

    /// Starts a mock on an already bound listener.
    pub fn start(listener: TcpListener, options: MockOptions) -> std::io::Result<Self> {
        let addr = listener.local_addr()?;
        let state = Arc::new(MockState::new(options)?);
        let (shutdown, stopped) = oneshot::channel::<()>();
        let app = app(Arc::clone(&state));
        tokio::spawn(async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    let _ = stopped.await;
                })
                .await;
        });
        Ok(Self {
            addr,
            state,
            shutdown: Some(shutdown),
        })
    }

    /// The base URL to configure as `GATEWAY_UPSTREAM_URL`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The address the mock listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The fixed token the mock always accepts.
    pub fn token(&self) -> &str {
        &self.state.token
    }

    /// The token endpoint's URL, for `GATEWAY_UPSTREAM_TOKEN_URL`.
    pub fn token_url(&self) -> String {
        format!("http://{}{TOKEN_PATH}", self.addr)
    }

    /// Requests the token endpoint has received.
    pub fn token_requests(&self) -> u64 {
        self.state.identity.requests.load(Ordering::SeqCst)
    }

    /// Makes every issued token invalid, so the next batch request with one gets 401.
    pub fn revoke_issued_tokens(&self) {
        self.state.identity.revoke_all();
    }

    /// Delays every token endpoint answer by `latency`.
    pub fn set_token_latency(&self, latency: Duration) {
        self.state
            .identity
            .latency_ms
            .store(latency.as_millis() as u64, Ordering::SeqCst);
    }

    /// Every distinct `Authorization` header value the batch endpoint has received.
    pub fn authorizations_seen(&self) -> Vec<String> {
        self.state
            .authorizations
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .cloned()
            .collect()
    }

    /// The dataset, as served.
    pub fn customers(&self) -> &[MockCustomer] {
        &self.state.customers
    }

    /// Serves customer `id` with `organization` from now on (`PUT
    /// /__mock/customers/{id}/organization` does the same).
    pub fn rename(&self, id: &str, organization: &str) {
        self.state.rename(id, organization);
    }

    /// Counts of what the mock has been asked so far.
    pub fn stats(&self) -> MockStats {
        self.state.stats()
    }

    /// Batch requests received so far.
    pub fn requests(&self) -> u64 {
        self.state.requests.load(Ordering::SeqCst)
    }

    /// Answers every batch request with `fault` until set back to [`Fault::None`].
    pub fn set_fault(&self, fault: Fault) {
        self.set_fault_where(fault, FaultScope::All, None);
    }

    /// Answers the batch requests `scope` picks with `fault`, the next `times` of them (`None`:
    /// until changed); then answers normally again.
    pub fn set_fault_where(&self, fault: Fault, scope: FaultScope, times: Option<u64>) {
        *self.state.fault.lock().unwrap_or_else(|p| p.into_inner()) = ActiveFault {
            fault,
            scope,
            remaining: times.filter(|times| *times > 0),
        };
    }

    /// Delays every answer by `latency`.
    pub fn set_latency(&self, latency: Duration) {
        self.state
            .latency_ms
            .store(latency.as_millis() as u64, Ordering::SeqCst);
    }

    /// Makes every page after the first start with the previous page's last customer, as a
    /// listing that shifts while it is read does.
    pub fn set_duplicate_across_pages(&self, on: bool) {
        self.state
            .duplicate_across_pages
            .store(on, Ordering::SeqCst);
    }

    /// Answers 404 (instead of an empty `data`) when none of the requested ids exist.
    pub fn set_missing_ids_as_404(&self, on: bool) {
        self.state.missing_ids_as_404.store(on, Ordering::SeqCst);
    }
}

impl Drop for MockUpstream {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
    }
}

impl MockState {
    fn new(options: MockOptions) -> std::io::Result<Self> {
        let customers = dataset::generate(
            options.customers,
            options.products_per_customer,
            options.seed,
        );
        let positions = customers
            .iter()
            .enumerate()
            .map(|(position, customer)| (customer.customer_id.clone(), position))
            .collect();
        Ok(Self {
            identity: Identity::new(options.client, options.token_lifetime)?,
            authorizations: Mutex::new(HashSet::new()),
            renamed: Mutex::default(),
            partner: partner::PartnerLog::default(),
            customers,
            positions,
            token: options.token,
            page_cap: options.page_cap.max(1),
            latency_ms: AtomicU64::new(options.latency.as_millis() as u64),
            fault: Mutex::new(ActiveFault::NONE),
            duplicate_across_pages: AtomicBool::new(false),
            missing_ids_as_404: AtomicBool::new(false),
            requests: AtomicU64::new(0),
            listing_requests: AtomicU64::new(0),
            id_requests: AtomicU64::new(0),
            in_flight: AtomicU64::new(0),
            max_in_flight: AtomicU64::new(0),
        })
    }

    fn rename(&self, id: &str, organization: &str) {
        self.renamed
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(id.to_owned(), organization.to_owned());
    }

    fn stats(&self) -> MockStats {
        MockStats {
            requests: self.requests.load(Ordering::SeqCst),
            listing_requests: self.listing_requests.load(Ordering::SeqCst),
            id_requests: self.id_requests.load(Ordering::SeqCst),
            in_flight: self.in_flight.load(Ordering::SeqCst),
            max_in_flight: self.max_in_flight.load(Ordering::SeqCst),
            token_requests: self.identity.requests.load(Ordering::SeqCst),
            token_refusals: self.identity.refusals.load(Ordering::SeqCst),
        }
    }
}

/// Every route of the mock, over `state`.
fn app(state: Arc<MockState>) -> axum::Router {
    routes::router().merge(partner::routes()).with_state(state)
}

/// Counts a request as in progress while it lives.
struct InFlight<'a>(&'a MockState);

impl<'a> InFlight<'a> {
    fn enter(state: &'a MockState) -> Self {
        let now = state.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        state.max_in_flight.fetch_max(now, Ordering::SeqCst);
        Self(state)
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Serves a mock on `listener` until `shutdown` completes (the `mock-upstream` command).
pub async fn serve(
    listener: TcpListener,
    options: MockOptions,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let state = Arc::new(MockState::new(options)?);
    axum::serve(listener, app(state))
        .with_graceful_shutdown(shutdown)
        .await
}
