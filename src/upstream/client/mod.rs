//! Reading customers from the batch endpoint.
//!
//! Paging follows what the upstream *says*, not what was asked: the first page's `metadata`
//! gives the real page size and the total; the remaining pages are requested concurrently
//! (at most `concurrency` in flight across the whole gateway, enforced by one semaphore) and
//! consumed in order until `totalCount` distinct customers are collected, a page brings no
//! customer not seen before, or `GATEWAY_UPSTREAM_MAX_PAGES` pages are read. Pages may shift while being read, so a customer seen twice keeps its first copy, and
//! when the computed pages fall short of `totalCount` the client reads on, one page at a time,
//! for at most as many pages again.
//!
//! Pages ahead: reading every customer, the client sends the pages it expects after page 1
//! together with page 1 (`GATEWAY_UPSTREAM_PAGES_AHEAD`, at most as many as the concurrency
//! leaves), which saves a round trip. It does so only while the upstream is answering (its last
//! attempt did not fail and the circuit is closed), and only with the layout the previous page
//! 1 showed (the readiness probe's, or the last read's). Those pages are tried once; one that
//! failed, or that page 1 shows was asked with the wrong page size, is read again the usual
//! way, and the breaker does not count its failure.
//!
//! `paging.rs` holds the listing logic; `stack/` one page request, as layers (retries, the
//! breaker, the concurrency budget, the app token, the transport).

mod paging;
mod partner;
mod stack;

use std::{
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use futures::{StreamExt, TryStreamExt, stream};
use serde::Serialize;

use self::{
    paging::Layout,
    stack::{Authorized, Budget, Exchange, Guarded, Health, PageRequest, Retry, Stack, Transport},
};
use super::{
    UpstreamError,
    resilience::{Breaker, RetryPolicy},
    token::{AppCredentials, AppToken, TokenClient},
};
use crate::{
    clock::Clock,
    domain::RawCustomer,
    metrics::Metrics,
    upstream::{
        UpstreamSettings,
        wire::{BatchPage, Page, PartnerKind},
    },
};

pub(crate) use partner::{JobFilter, PartnerRead};

/// The `services/batch` page a page request brought back.
fn services_page(page: Page) -> Result<BatchPage, UpstreamError> {
    match page {
        Page::Services(page) => Ok(page),
        Page::Partner(_) => Err(UpstreamError::BadResponse(
            "a page of another endpoint came back".into(),
        )),
    }
}

/// Path of the partner endpoint below the upstream base URL.
pub const BATCH_PATH: &str = "/partner/external/v3/general/customers/services/batch";

/// The most ids the gateway puts in one `customerIds` request.
pub(crate) const MAX_IDS_PER_REQUEST: usize = 100;

/// What the client needs besides its settings: where its app token comes from (the
/// settings' credentials with their key files read), how long one read may take (the request
/// deadline), and the clock that decides freshness.
#[derive(Debug)]
pub(crate) struct UpstreamRuntime {
    /// Where the app's bearer token for the upstream comes from.
    pub credentials: AppCredentials,
    /// Time allowed for one read (all its pages, retries and waits included).
    pub deadline: Duration,
    /// Decides when an open circuit may be probed and when the app token is replaced.
    pub clock: Clock,
}

/// The upstream REST client: one connection pool, one concurrency budget.
#[derive(Debug)]
pub(crate) struct UpstreamClient {
    /// One page request, through every layer.
    stack: Stack,
    health: Arc<Health>,
    page_size: u64,
    concurrency: usize,
    /// Most pages sent ahead, already capped by `concurrency` − 1.
    pages_ahead: u64,
    timeout: Duration,
    deadline: Duration,
    max_pages: u64,
    metrics: Arc<Metrics>,
    /// The layout the last page 1 of the whole listing showed, for sending pages ahead.
    layout: Mutex<Option<Layout>>,
}

/// Which endpoint a page request reads.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Endpoint<'a> {
    /// `services/batch`, for every customer or chosen ones.
    Services(Selection<'a>),
    /// Another endpoint of the partner API.
    Partner(&'a PartnerRead),
}

impl Endpoint<'_> {
    /// Every endpoint's name, as [`Endpoint::name`] gives them.
    pub(crate) const NAMES: [&'static str; 5] =
        ["services", "customers", "jobs", "seats", "coverage"];

    /// The endpoint's name, for logs and metrics.
    pub(crate) fn name(&self) -> &'static str {
        match self {
            Self::Services(_) => "services",
            Self::Partner(read) => read.kind.name(),
        }
    }

    /// How many customer ids the request names, for the log.
    pub(crate) fn ids(&self) -> Option<usize> {
        match self {
            Self::Services(selection) => selection.customer_ids.map(<[String]>::len),
            Self::Partner(read) => read.ids,
        }
    }

    /// The path below the base URL.
    pub(crate) fn path(&self) -> &str {
        match self {
            Self::Services(_) => BATCH_PATH,
            Self::Partner(read) => &read.path,
        }
    }

    /// Whether the request names customers, so that a 404 means "none of these".
    pub(crate) fn names_customers(&self) -> bool {
        match self {
            Self::Services(selection) => selection.customer_ids.is_some(),
            Self::Partner(read) => read.ids.is_some() || read.kind != PartnerKind::Details,
        }
    }
}

/// The JSON body: `{}` for every customer, `{"customerIds": [...]}` for chosen ones.
#[derive(Debug, Clone, Copy, Serialize)]
pub(crate) struct Selection<'a> {
    #[serde(rename = "customerIds", skip_serializing_if = "Option::is_none")]
    customer_ids: Option<&'a [String]>,
}

impl UpstreamClient {
    /// Builds the client; fails only when the TLS stack cannot be set up.
    pub(crate) fn new(
        settings: &UpstreamSettings,
        runtime: UpstreamRuntime,
        metrics: Arc<Metrics>,
    ) -> Result<Self, UpstreamError> {
        let http = crate::outbound::client()
            .build()
            .map_err(|error| UpstreamError::Unavailable(format!("HTTP client: {error}")))?;
        let mut base = settings.url.clone();
        let base_path = base.path().trim_end_matches('/').to_owned();
        base.set_path(&base_path);
        let token = match runtime.credentials {
            AppCredentials::Fixed(token) => AppToken::Fixed(token),
            AppCredentials::Client(credentials) => AppToken::Issued(Box::new(TokenClient::new(
                http.clone(),
                credentials,
                settings.timeout,
                runtime.clock.clone(),
                Arc::clone(&metrics),
            ))),
        };
        metrics.circuit_state(super::CircuitState::Closed.gauge());
        metrics.upstream_outcomes(
            &Endpoint::NAMES,
            ["OK", "NOT_FOUND"].into_iter().chain(UpstreamError::CODES),
        );
        let health = Arc::new(Health::default());
        let transport = Transport {
            http,
            base,
            timeout: settings.timeout,
            deadline: runtime.deadline,
            max_body_bytes: settings.max_body_bytes,
            health: Arc::clone(&health),
            metrics: Arc::clone(&metrics),
        };
        let stack = Retry::new(
            Guarded::new(
                Budget::new(
                    Authorized::new(transport, token, Arc::clone(&health)),
                    settings.concurrency,
                    settings.timeout,
                ),
                Breaker::new(&settings.resilience, runtime.clock.clone()),
                Arc::clone(&health),
                Arc::clone(&metrics),
            ),
            RetryPolicy::new(&settings.resilience),
            Arc::clone(&metrics),
        );
        Ok(Self {
            stack,
            health,
            page_size: u64::from(settings.page_size.max(1)),
            concurrency: settings.concurrency.max(1),
            pages_ahead: u64::from(settings.pages_ahead)
                .min(settings.concurrency.saturating_sub(1) as u64),
            timeout: settings.timeout,
            deadline: runtime.deadline,
            max_pages: settings.max_pages.max(1),
            metrics,
            layout: Mutex::default(),
        })
    }

    /// One page of `services/batch`, retried as the policy allows.
    async fn page(
        &self,
        selection: &Selection<'_>,
        index: u64,
        size: u64,
        deadline: Instant,
    ) -> Result<Option<BatchPage>, UpstreamError> {
        let page = self
            .stack
            .call(PageRequest::new(*selection, index, size, deadline))
            .await?;
        page.map(services_page).transpose()
    }

    /// The breaker's state now.
    fn circuit(&self) -> super::CircuitState {
        self.stack.inner.breaker.current_state()
    }

    /// Every customer, in upstream order, each once, handed to `take` a page at a time as the
    /// pages arrive, so that a reader can use the first pages before the last one is in.
    pub(crate) async fn all_customers(
        &self,
        take: &mut (dyn FnMut(Vec<RawCustomer>) + Send),
    ) -> Result<(), UpstreamError> {
        let deadline = Instant::now() + self.deadline;
        self.read_listing(Selection { customer_ids: None }, deadline, take)
            .await
    }

    /// The customers with these ids that exist; an unknown id is simply absent.
    ///
    /// Ids go out at most [`MAX_IDS_PER_REQUEST`] a request, the chunks concurrently.
    pub(crate) async fn customers_by_id(
        &self,
        ids: &[String],
    ) -> Result<Vec<RawCustomer>, UpstreamError> {
        // Futures first, then the stream: a closure over borrowed chunks inside the stream
        // type would not be `Send` for every lifetime.
        let deadline = Instant::now() + self.deadline;
        let requests: Vec<_> = ids
            .chunks(MAX_IDS_PER_REQUEST)
            .map(|chunk| async move {
                let mut found = Vec::new();
                self.read_listing(
                    Selection {
                        customer_ids: Some(chunk),
                    },
                    deadline,
                    &mut |page| found.extend(page),
                )
                .await
                .map(|()| found)
            })
            .collect();
        let chunks: Vec<Vec<RawCustomer>> = stream::iter(requests)
            .buffered(self.concurrency)
            .try_collect()
            .await?;
        Ok(chunks.into_iter().flatten().collect())
    }

    /// The permissions the app token holds and lacks, when the gateway obtains its token by
    /// client credentials and has one.
    pub(crate) fn permissions(&self) -> Option<crate::upstream::scopes::Learnt> {
        self.stack.inner.inner.inner.token().permissions()
    }

    /// Whether the last exchange reached the upstream and had our token accepted.
    pub(crate) fn is_reachable(&self) -> bool {
        self.health.is_reachable()
    }

    /// The `pageSize` asked of the upstream (`GATEWAY_UPSTREAM_PAGE_SIZE`).
    pub(crate) fn page_size(&self) -> u64 {
        self.page_size
    }

    /// The time one read may take, retries included (the request deadline).
    pub(crate) fn deadline(&self) -> Duration {
        self.deadline
    }

    /// Page 1 of the whole listing, tried once: learns whether the upstream accepts our token,
    /// and how the listing is paged (for sending pages ahead on the first read).
    pub(crate) async fn probe(&self) -> Result<(), UpstreamError> {
        let deadline = Instant::now() + self.timeout;
        let request = PageRequest::new(
            Selection { customer_ids: None },
            1,
            self.page_size,
            deadline,
        );
        let page = self.stack.call(request.once()).await?;
        if let Some(page) = page.map(services_page).transpose()? {
            self.remember_layout(&page);
        }
        Ok(())
    }
}
