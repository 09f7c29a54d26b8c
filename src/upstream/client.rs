//! Reading customers from the batch endpoint.
//!
//! Paging follows what the upstream *says*, not what was asked: the first page's `metadata`
//! gives the real page size and the total; the remaining pages are requested concurrently
//! (at most `concurrency` in flight across the whole gateway, enforced by one semaphore) and
//! consumed in order until `totalCount` distinct customers are collected or a page comes back
//! empty. Pages may shift while being read, so a customer seen twice keeps its first copy, and
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

use std::{
    collections::{HashMap, HashSet},
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, Ordering},
    },
    time::{Duration, Instant},
};

use futures::{StreamExt, TryStreamExt, future, stream};
use reqwest::{StatusCode, Url, header};
use serde::Serialize;
use tokio::sync::Semaphore;
use tracing::Instrument;

use super::{
    UpstreamError,
    resilience::{Breaker, Outcome, RetryPolicy},
    token::{AppCredentials, AppToken, TokenClient},
    wire::{BatchPage, PageMetadata},
};
use crate::{config::Resilience, domain::RawCustomer, metrics::Metrics, secret::Secret};

/// Path of the partner endpoint below the upstream base URL.
pub const BATCH_PATH: &str = "/partner/external/v3/general/customers/services/batch";

/// The most ids the gateway puts in one `customerIds` request.
pub const MAX_IDS_PER_REQUEST: usize = 100;

/// How the client reaches the upstream; built from the validated settings.
#[derive(Debug)]
pub struct UpstreamOptions {
    /// Base URL, e.g. `https://graph.avepointonlineservices.com`.
    pub base_url: Url,
    /// Where the app's bearer token for the upstream comes from.
    pub credentials: AppCredentials,
    /// `pageSize` asked of the upstream (it may answer with less).
    pub page_size: u32,
    /// Most upstream requests in flight at once, for the whole gateway.
    pub concurrency: usize,
    /// Most listing pages sent together with page 1 (0: none).
    pub pages_ahead: u32,
    /// Time limit of one upstream request, from sending to the last body byte.
    pub timeout: Duration,
    /// Retries and the circuit breaker.
    pub resilience: Resilience,
    /// Time allowed for one read (all its pages, retries and waits included).
    pub deadline: Duration,
    /// Largest page body read (`GATEWAY_UPSTREAM_MAX_BODY_BYTES`).
    pub max_body_bytes: usize,
    /// Most pages one listing read requests (`GATEWAY_UPSTREAM_MAX_PAGES`).
    pub max_pages: u64,
}

/// The upstream REST client: one connection pool, one concurrency budget.
#[derive(Debug)]
pub struct UpstreamClient {
    http: reqwest::Client,
    endpoint: Url,
    token: AppToken,
    page_size: u64,
    concurrency: usize,
    /// Most pages sent ahead, already capped by `concurrency` − 1.
    pages_ahead: u64,
    timeout: Duration,
    deadline: Duration,
    max_body_bytes: usize,
    max_pages: u64,
    retry: RetryPolicy,
    breaker: Breaker,
    permits: Semaphore,
    metrics: Arc<Metrics>,
    /// Whether the last exchange showed the upstream reachable with our token.
    reachable: AtomicBool,
    /// Whether the last attempt found the upstream failing (see [`Outcome`]).
    failing: AtomicBool,
    /// The layout the last page 1 of the whole listing showed, for sending pages ahead.
    layout: Mutex<Option<Layout>>,
}

/// How the whole listing was paged the last time page 1 was read.
#[derive(Debug, Clone, Copy)]
struct Layout {
    /// The page size the upstream used for the size we ask.
    page_size: u64,
    /// Customers in the listing.
    total: u64,
}

impl Layout {
    /// The layout `metadata` shows for a page of `len` customers.
    fn of(metadata: &PageMetadata, len: usize) -> Option<Self> {
        let page_size = match metadata.page_size {
            0 => len as u64,
            said => said,
        };
        (page_size > 0).then_some(Self {
            page_size,
            total: metadata.total_count,
        })
    }
}

/// The JSON body: `{}` for every customer, `{"customerIds": [...]}` for chosen ones.
#[derive(Debug, Clone, Copy, Serialize)]
struct Selection<'a> {
    #[serde(rename = "customerIds", skip_serializing_if = "Option::is_none")]
    customer_ids: Option<&'a [String]>,
}

impl UpstreamClient {
    /// Builds the client; fails only when the TLS stack cannot be set up.
    pub fn new(options: UpstreamOptions, metrics: Arc<Metrics>) -> Result<Self, UpstreamError> {
        let http = crate::outbound::client()
            .build()
            .map_err(|error| UpstreamError::Unavailable(format!("HTTP client: {error}")))?;
        let mut endpoint = options.base_url;
        let base_path = endpoint.path().trim_end_matches('/').to_owned();
        endpoint.set_path(&format!("{base_path}{BATCH_PATH}"));
        let token = match options.credentials {
            AppCredentials::Fixed(token) => AppToken::Fixed(token),
            AppCredentials::Client(credentials) => AppToken::Issued(Box::new(TokenClient::new(
                http.clone(),
                credentials,
                options.timeout,
                Arc::clone(&metrics),
            ))),
        };
        metrics.circuit_state(super::CircuitState::Closed.gauge());
        Ok(Self {
            http,
            endpoint,
            token,
            page_size: u64::from(options.page_size.max(1)),
            concurrency: options.concurrency.max(1),
            pages_ahead: u64::from(options.pages_ahead)
                .min(options.concurrency.saturating_sub(1) as u64),
            timeout: options.timeout,
            deadline: options.deadline,
            max_body_bytes: options.max_body_bytes,
            max_pages: options.max_pages.max(1),
            retry: RetryPolicy::new(&options.resilience),
            breaker: Breaker::new(&options.resilience),
            permits: Semaphore::new(options.concurrency.max(1)),
            metrics,
            reachable: AtomicBool::new(false),
            failing: AtomicBool::new(false),
            layout: Mutex::default(),
        })
    }

    /// Every customer, in upstream order, each once, handed to `take` a page at a time as the
    /// pages arrive, so that a reader can use the first pages before the last one is in.
    pub async fn all_customers(
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
    pub async fn customers_by_id(&self, ids: &[String]) -> Result<Vec<RawCustomer>, UpstreamError> {
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

    /// Whether the last exchange reached the upstream and had our token accepted.
    pub fn is_reachable(&self) -> bool {
        self.reachable.load(Ordering::Relaxed)
    }

    /// The time one read may take, retries included (the request deadline).
    pub fn deadline(&self) -> Duration {
        self.deadline
    }

    /// Page 1 of the whole listing, tried once: learns whether the upstream accepts our token,
    /// and how the listing is paged (for sending pages ahead on the first read).
    pub async fn probe(&self) -> Result<(), UpstreamError> {
        let deadline = Instant::now() + self.timeout;
        let page = self
            .attempt(
                &Selection { customer_ids: None },
                1,
                self.page_size,
                deadline,
                false,
            )
            .await?;
        if let Some(page) = page {
            self.remember_layout(&page);
        }
        Ok(())
    }

    fn remember_layout(&self, first: &BatchPage) {
        *self
            .layout
            .lock()
            .unwrap_or_else(|poison| poison.into_inner()) =
            Layout::of(&first.metadata, first.data.len());
    }

    /// The pages after page 1 worth sending with it, and their page size: none unless the
    /// upstream is answering and the listing's layout is known.
    fn ahead_plan(&self) -> Option<(std::ops::RangeInclusive<u64>, u64)> {
        if self.failing.load(Ordering::Relaxed)
            || self.breaker.current_state() != super::CircuitState::Closed
        {
            return None;
        }
        let layout = (*self
            .layout
            .lock()
            .unwrap_or_else(|poison| poison.into_inner()))?;
        let last = layout
            .total
            .div_ceil(layout.page_size)
            .min(self.pages_ahead + 1)
            .min(self.max_pages);
        (last >= 2).then_some((2..=last, layout.page_size))
    }

    /// Reads a listing page by page, handing each page's new customers to `take` in order;
    /// page 1 is handed on as soon as it arrives, before any page sent ahead with it.
    async fn read_listing(
        &self,
        selection: Selection<'_>,
        deadline: Instant,
        take: &mut (dyn FnMut(Vec<RawCustomer>) + Send),
    ) -> Result<(), UpstreamError> {
        let listing = selection.customer_ids.is_none();
        let plan = self.ahead_plan().filter(|_| listing);
        let mut collected = Collector::new(take);
        let first = async {
            let first = self.page(&selection, 1, self.page_size, deadline).await?;
            Ok::<_, UpstreamError>(first.map(|first| {
                if listing {
                    self.remember_layout(&first);
                }
                let total = first.metadata.total_count;
                let page_size =
                    Layout::of(&first.metadata, first.data.len()).map_or(0, |l| l.page_size);
                let go_on = collected.take(first.data, total) && page_size > 0;
                (total, page_size, go_on)
            }))
        };
        let sent = async {
            let Some((indices, size)) = plan.clone() else {
                return Vec::new();
            };
            tracing::debug!(pages = ?indices, "sending pages ahead of page 1");
            let pages = indices.map(|index| async move {
                let page = self.attempt(&selection, index, size, deadline, true).await;
                (index, page)
            });
            future::join_all(pages).await
        };
        let (first, sent) = futures::join!(first, sent);
        let sent_count = sent.len();
        let mut ahead: HashMap<u64, BatchPage> = sent
            .into_iter()
            .filter_map(|(index, page)| Some((index, page.ok()??)))
            .collect();
        self.metrics.pages_ahead("failed", sent_count - ahead.len());
        let (total, page_size, go_on) = match first {
            Ok(Some(first)) => first,
            other => {
                self.metrics.pages_ahead("unused", ahead.len());
                return other.map(drop);
            }
        };
        if plan.is_some_and(|(_, size)| size != page_size) {
            // Asked with another page size than the upstream uses now: not the pages wanted.
            self.metrics.pages_ahead("unused", ahead.len());
            ahead.clear();
        }
        let sent_ahead = ahead.len();
        let result = if go_on {
            self.read_rest(
                &selection,
                &mut collected,
                total,
                page_size,
                deadline,
                &mut ahead,
            )
            .await
        } else {
            Ok(())
        };
        self.metrics.pages_ahead("unused", ahead.len());
        self.metrics.pages_ahead("used", sent_ahead - ahead.len());
        result
    }

    /// The pages after page 1, taking those already in `ahead` from there.
    async fn read_rest(
        &self,
        selection: &Selection<'_>,
        collected: &mut Collector<'_>,
        total: u64,
        page_size: u64,
        deadline: Instant,
        ahead: &mut HashMap<u64, BatchPage>,
    ) -> Result<(), UpstreamError> {
        let planned = total.div_ceil(page_size).min(self.max_pages);
        let mut pages = stream::iter(2..=planned)
            .map(|index| {
                let known = ahead.remove(&index);
                async move {
                    match known {
                        Some(page) => Ok(Some(page)),
                        None => self.page(selection, index, page_size, deadline).await,
                    }
                }
            })
            .buffered(self.concurrency);
        while let Some(page) = pages.next().await {
            if !collected.take(page?.map(|page| page.data).unwrap_or_default(), total) {
                return Ok(());
            }
        }
        drop(pages);
        // The pages shifted under us (a customer appeared twice): read on, in order.
        let last = planned.saturating_mul(2).min(self.max_pages);
        for index in planned + 1..=last {
            let page = self.page(selection, index, page_size, deadline).await?;
            if !collected.take(page.map(|page| page.data).unwrap_or_default(), total) {
                return Ok(());
            }
        }
        if last == self.max_pages {
            tracing::warn!(
                pages = self.max_pages,
                total,
                "stopped reading the listing at GATEWAY_UPSTREAM_MAX_PAGES before totalCount customers were read"
            );
        }
        Ok(())
    }

    /// One page; `None` when the upstream answers 404 to a `customerIds` request.
    ///
    /// A failure that may pass (see [`RetryPolicy`]) is tried again after a backoff, up to the
    /// attempt limit, as long as the wait ends before `deadline`; otherwise the last failure is
    /// the answer.
    async fn page(
        &self,
        selection: &Selection<'_>,
        index: u64,
        size: u64,
        deadline: Instant,
    ) -> Result<Option<BatchPage>, UpstreamError> {
        let mut attempt = 1;
        loop {
            let result = self.attempt(selection, index, size, deadline, false).await;
            let Err(error) = &result else {
                return result;
            };
            let Some(wait) = self.retry.delay(attempt, error) else {
                return result;
            };
            if Instant::now() + wait >= deadline {
                return result;
            }
            self.metrics.upstream_retry(error.code());
            tracing::debug!(%error, attempt, wait_ms = wait.as_millis() as u64, "retrying an upstream request");
            tokio::time::sleep(wait).await;
            attempt += 1;
        }
    }

    /// One try at a page, through the circuit breaker and the concurrency budget.
    ///
    /// When the upstream refuses an issued app token, a new token is fetched and the request
    /// sent once more; a second refusal is the answer. A page sent `ahead` of page 1 that fails
    /// is not counted by the breaker: it is read again the usual way, and counted then, so the
    /// breaker sees what it would have seen without pages ahead.
    async fn attempt(
        &self,
        selection: &Selection<'_>,
        index: u64,
        size: u64,
        deadline: Instant,
        ahead: bool,
    ) -> Result<Option<BatchPage>, UpstreamError> {
        let admission = self
            .breaker
            .admit()
            .inspect_err(|_| self.metrics.circuit_rejection())?;
        let result = async {
            let _permit =
                self.permits.acquire().await.map_err(|_| {
                    UpstreamError::Unavailable("the gateway is shutting down".into())
                })?;
            let timeout = deadline
                .saturating_duration_since(Instant::now())
                .min(self.timeout);
            if timeout.is_zero() {
                return Err(UpstreamError::Timeout(self.timeout));
            }
            let token = self.authorization().await?;
            match self.exchange(selection, index, size, &token, timeout).await {
                Err(UpstreamError::Unauthorized(_)) if self.token.invalidate(&token) => {
                    let token = self.authorization().await?;
                    self.exchange(selection, index, size, &token, timeout).await
                }
                result => result,
            }
        }
        .await;
        let outcome = match Outcome::of(&result) {
            Outcome::Healthy => {
                self.failing.store(false, Ordering::Relaxed);
                Outcome::Healthy
            }
            Outcome::Failed => {
                self.failing.store(true, Ordering::Relaxed);
                if ahead {
                    Outcome::Neutral
                } else {
                    Outcome::Failed
                }
            }
            Outcome::Neutral => Outcome::Neutral,
        };
        if let Some(state) = admission.finish(outcome) {
            self.metrics.circuit_state(state.gauge());
            tracing::warn!(state = ?state, "upstream circuit breaker changed state");
        }
        result
    }

    /// The app token, with readiness following a failure to get one.
    async fn authorization(&self) -> Result<Secret, UpstreamError> {
        self.token.get().await.inspect_err(|error| {
            if error.means_not_ready() {
                self.reachable.store(false, Ordering::Relaxed);
            }
        })
    }

    /// One request, counted and timed, updating readiness.
    async fn exchange(
        &self,
        selection: &Selection<'_>,
        index: u64,
        size: u64,
        token: &Secret,
        timeout: Duration,
    ) -> Result<Option<BatchPage>, UpstreamError> {
        let span = tracing::debug_span!(
            "upstream",
            page = index,
            ids = selection.customer_ids.map(<[String]>::len)
        );
        async {
            let started = Instant::now();
            let result = self.send(selection, index, size, token, timeout).await;
            match &result {
                Ok(_) => self.reachable.store(true, Ordering::Relaxed),
                Err(error) if error.means_not_ready() => {
                    self.reachable.store(false, Ordering::Relaxed);
                }
                Err(_) => {}
            }
            let outcome = result.as_ref().map_or_else(UpstreamError::code, |page| {
                if page.is_some() { "OK" } else { "NOT_FOUND" }
            });
            let elapsed = started.elapsed();
            tracing::debug!(
                outcome,
                elapsed_ms = elapsed.as_millis() as u64,
                "upstream answered"
            );
            self.metrics.upstream_request(outcome, elapsed);
            result
        }
        .instrument(span)
        .await
    }

    async fn send(
        &self,
        selection: &Selection<'_>,
        index: u64,
        size: u64,
        token: &Secret,
        timeout: Duration,
    ) -> Result<Option<BatchPage>, UpstreamError> {
        let transport = |error: reqwest::Error| {
            if error.is_timeout() && timeout < self.timeout {
                // The request deadline, not the upstream's own limit, cut this one short.
                UpstreamError::Deadline(self.deadline)
            } else if error.is_timeout() {
                UpstreamError::Timeout(timeout)
            } else if error.is_connect() {
                UpstreamError::Unavailable("could not connect".into())
            } else {
                UpstreamError::Unavailable(error.without_url().to_string())
            }
        };
        let response = self
            .http
            .post(self.endpoint.clone())
            .query(&[("pageIndex", index), ("pageSize", size)])
            .bearer_auth(token.expose())
            .header(header::ACCEPT, "application/json")
            .json(selection)
            .timeout(timeout)
            .send()
            .await
            .map_err(transport)?;
        if let Some(refused) =
            crate::outbound::redirect_refused(response.status(), "GATEWAY_UPSTREAM_URL")
        {
            return Err(UpstreamError::BadResponse(format!(
                "the upstream {refused}"
            )));
        }
        match response.status() {
            status if status.is_success() => {}
            StatusCode::NOT_FOUND if selection.customer_ids.is_some() => return Ok(None),
            StatusCode::TOO_MANY_REQUESTS => {
                let retry_after = response
                    .headers()
                    .get(header::RETRY_AFTER)
                    .and_then(|value| value.to_str().ok())
                    .and_then(|value| value.trim().parse().ok())
                    .map(Duration::from_secs);
                return Err(UpstreamError::RateLimited { retry_after });
            }
            status @ (StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN) => {
                return Err(UpstreamError::Unauthorized(status.as_u16()));
            }
            status if status.is_server_error() => {
                return Err(UpstreamError::Unavailable(format!(
                    "HTTP {}",
                    status.as_u16()
                )));
            }
            status => {
                return Err(UpstreamError::BadResponse(format!(
                    "unexpected HTTP {}",
                    status.as_u16()
                )));
            }
        }
        let body = crate::outbound::read_capped(response, self.max_body_bytes)
            .await
            .map_err(|error| match error {
                crate::outbound::ReadError::Transport(error) => transport(error),
                too_large => UpstreamError::BadResponse(format!(
                    "page {index}: {too_large} (GATEWAY_UPSTREAM_MAX_BODY_BYTES)"
                )),
            })?;
        serde_json::from_slice(&body)
            .map(Some)
            .map_err(|error| UpstreamError::BadResponse(format!("page {index}: {error}")))
    }
}

/// Customers gathered across pages, first copy of each id kept, passed on a page at a time.
struct Collector<'a> {
    seen: HashSet<Box<str>>,
    take: &'a mut (dyn FnMut(Vec<RawCustomer>) + Send),
}

impl<'a> Collector<'a> {
    fn new(take: &'a mut (dyn FnMut(Vec<RawCustomer>) + Send)) -> Self {
        Self {
            seen: HashSet::new(),
            take,
        }
    }

    /// Passes on a page's customers not seen before; returns whether reading should go on:
    /// the page brought a customer not seen before, and fewer than `total` distinct
    /// customers are collected. A page of customers all seen already ends the read, so an
    /// upstream that repeats itself under a huge `totalCount` costs two pages, not thousands.
    fn take(&mut self, page: Vec<RawCustomer>, total: u64) -> bool {
        let fresh: Vec<RawCustomer> = page
            .into_iter()
            .filter(|customer| self.seen.insert(customer.customer_id.clone()))
            .collect();
        if fresh.is_empty() {
            return false;
        }
        (self.take)(fresh);
        (self.seen.len() as u64) < total
    }
}
