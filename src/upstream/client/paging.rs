//! Reading a listing page by page: the layout page 1 shows, pages sent ahead of it, the rest
//! in order, and the stop rules (`totalCount` reached, a page of nothing new, the page limit).

use std::{
    collections::{HashMap, HashSet},
    time::Instant,
};

use futures::{StreamExt, future, stream};

use super::{
    Selection, UpstreamClient, services_page,
    stack::{Exchange, PageRequest},
};
use crate::{
    domain::RawCustomer,
    upstream::{
        UpstreamError,
        wire::{BatchPage, PageMetadata},
    },
};

/// How the whole listing was paged the last time page 1 was read.
#[derive(Debug, Clone, Copy)]
pub(super) struct Layout {
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

impl UpstreamClient {
    /// Keeps the layout that `first` (a page 1 of the whole listing) shows, so the next
    /// listing can send the pages after page 1 with it.
    pub(super) fn remember_layout(&self, first: &BatchPage) {
        *self
            .layout
            .lock()
            .unwrap_or_else(|poison| poison.into_inner()) =
            Layout::of(&first.metadata, first.data.len());
    }

    /// The pages after page 1 worth sending with it, and their page size: none unless the
    /// upstream is answering and the listing's layout is known.
    fn ahead_plan(&self) -> Option<(std::ops::RangeInclusive<u64>, u64)> {
        if self.health.is_failing() || self.circuit() != crate::upstream::CircuitState::Closed {
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
    pub(super) async fn read_listing(
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
                let request = PageRequest::new(selection, index, size, deadline).ahead();
                let page = self.stack.call(request).await;
                (index, page)
            });
            future::join_all(pages).await
        };
        let (first, sent) = futures::join!(first, sent);
        let sent_count = sent.len();
        let mut ahead: HashMap<u64, BatchPage> = sent
            .into_iter()
            .filter_map(|(index, page)| Some((index, services_page(page.ok()??).ok()?)))
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
