//! One page request as a stack of layers, outermost first:
//!
//! ```text
//! Retry ──▶ Guarded ──▶ Budget ──▶ Authorized ──▶ Transport ──▶ (HTTP)
//! backoff    breaker     permits,     app token,     one request,
//!                        time limit   renewed once   counted, timed, capped
//! ```
//!
//! Each layer is an [`Exchange`] wrapping the next, in a file of its own, so each can be read
//! and tested alone. Readiness is no layer: [`Health`] observes what the layers see.

mod breaker;
mod budget;
mod retry;
mod token;
mod transport;

use std::{
    sync::atomic::{AtomicBool, Ordering},
    time::{Duration, Instant},
};

pub(super) use breaker::Guarded;
pub(super) use budget::Budget;
pub(super) use retry::Retry;
pub(super) use token::Authorized;
pub(super) use transport::Transport;

use super::{Endpoint, Selection};
use crate::{
    secret::Secret,
    upstream::{UpstreamError, wire::Page},
};

/// A page, or `None` when the upstream answers 404 to a request for chosen customers (none
/// of them exists).
pub(super) type PageResult = Result<Option<Page>, UpstreamError>;

/// The whole stack.
pub(super) type Stack = Retry<Guarded<Budget<Authorized<Transport>>>>;

/// One page request, as it passes down the stack.
#[derive(Debug, Clone)]
pub(super) struct PageRequest<'a> {
    pub(super) endpoint: Endpoint<'a>,
    pub(super) index: u64,
    pub(super) size: u64,
    /// When the read this page belongs to must be done.
    pub(super) deadline: Instant,
    /// Tried once, whatever the failure (the readiness probe, pages sent ahead).
    pub(super) once: bool,
    /// Sent ahead of page 1: a failure is read again the usual way, so the breaker does not
    /// count it.
    pub(super) ahead: bool,
    /// This attempt's time limit ([`Budget`] sets it).
    pub(super) timeout: Duration,
    /// The app token ([`Authorized`] sets it).
    pub(super) token: Option<Secret>,
}

impl<'a> PageRequest<'a> {
    /// Page `index` of `size` of `services/batch` for `selection`, retried as the policy
    /// allows until `deadline`.
    pub(super) fn new(selection: Selection<'a>, index: u64, size: u64, deadline: Instant) -> Self {
        Self::of(Endpoint::Services(selection), index, size, deadline)
    }

    /// Page `index` of `size` of `endpoint`, retried as the policy allows until `deadline`.
    pub(super) fn of(endpoint: Endpoint<'a>, index: u64, size: u64, deadline: Instant) -> Self {
        Self {
            endpoint,
            index,
            size,
            deadline,
            once: false,
            ahead: false,
            timeout: Duration::ZERO,
            token: None,
        }
    }

    /// The same request, tried once.
    pub(super) fn once(mut self) -> Self {
        self.once = true;
        self
    }

    /// The same request, sent ahead of page 1 (tried once, not counted by the breaker).
    pub(super) fn ahead(mut self) -> Self {
        self.ahead = true;
        self.once()
    }
}

/// Something that answers page requests: the transport, or a layer around another.
pub(super) trait Exchange: Send + Sync {
    /// Answers `request`.
    fn call(&self, request: PageRequest<'_>) -> impl Future<Output = PageResult> + Send;
}

/// What the layers have seen of the upstream: readiness (our token accepted by a reachable
/// upstream) and whether the last attempt failed (pages are sent ahead only while it did not).
#[derive(Debug, Default)]
pub(super) struct Health {
    reachable: AtomicBool,
    failing: AtomicBool,
}

impl Health {
    /// An exchange's result: reachable on success, not after a failure that means so.
    pub(super) fn exchanged(&self, result: &PageResult) {
        match result {
            Ok(_) => self.reachable.store(true, Ordering::Relaxed),
            Err(error) => self.failed(error),
        }
    }

    /// A failure: not reachable after one that means so (no connection, a refused token).
    pub(super) fn failed(&self, error: &UpstreamError) {
        if error.means_not_ready() {
            self.reachable.store(false, Ordering::Relaxed);
        }
    }

    /// Whether the last attempt failed.
    pub(super) fn set_failing(&self, failing: bool) {
        self.failing.store(failing, Ordering::Relaxed);
    }

    /// Whether the last exchange reached the upstream and had our token accepted.
    pub(super) fn is_reachable(&self) -> bool {
        self.reachable.load(Ordering::Relaxed)
    }

    /// Whether the last attempt failed.
    pub(super) fn is_failing(&self) -> bool {
        self.failing.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests;
