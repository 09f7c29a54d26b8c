//! The faults the mock can answer with, and which requests they hit.

use serde::{Deserialize, Serialize};

/// A failure the mock answers every batch request with while it is set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Fault {
    /// Answer normally.
    None,
    /// Answer with this status (e.g. 500, 503).
    ServerError {
        /// The status to answer with.
        status: u16,
    },
    /// Answer 429, with `Retry-After` when given.
    RateLimited {
        /// Seconds for `Retry-After`.
        retry_after_secs: Option<u64>,
    },
    /// Answer 200 with a body that is not JSON.
    InvalidJson,
    /// Answer 200 with JSON of the wrong shape.
    WrongShape,
    /// Answer 401, as if the app token were refused.
    Unauthorized,
}

/// Which requests a fault applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FaultScope {
    /// Every request.
    #[default]
    All,
    /// Requests for every customer (`{}`).
    Listing,
    /// Requests for chosen customers (`customerIds`).
    Ids,
    /// Requests for every customer past the first page (`pageIndex` 2 and on).
    LaterPages,
    /// Requests to `customers/batch`.
    Details,
    /// Requests for a customer's backup jobs.
    Jobs,
    /// Requests for a customer's tenant seats.
    Seats,
    /// Requests for a customer's Microsoft 365 backup overview.
    Coverage,
}

/// What a request asks for, which decides the faults that hit it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestKind {
    /// `services/batch` for every customer.
    Listing,
    /// `services/batch` for chosen customers.
    Ids,
    /// `customers/batch`.
    Details,
    /// A customer's backup jobs.
    Jobs,
    /// A customer's tenant seats.
    Seats,
    /// A customer's Microsoft 365 backup overview.
    Coverage,
}

/// The fault being injected, which requests it hits, and how many more times.
#[derive(Debug, Clone)]
pub(super) struct ActiveFault {
    pub(super) fault: Fault,
    pub(super) scope: FaultScope,
    /// `None`: until changed.
    pub(super) remaining: Option<u64>,
}

impl ActiveFault {
    /// No fault, everywhere, until changed.
    pub(super) const NONE: Self = Self {
        fault: Fault::None,
        scope: FaultScope::All,
        remaining: None,
    };

    /// The fault for a request of this kind and page, counting it down.
    pub(super) fn take(&mut self, kind: RequestKind, page_index: u64) -> Fault {
        let applies = match self.scope {
            FaultScope::All => true,
            FaultScope::Listing => kind == RequestKind::Listing,
            FaultScope::Ids => kind == RequestKind::Ids,
            FaultScope::LaterPages => kind == RequestKind::Listing && page_index > 1,
            FaultScope::Details => kind == RequestKind::Details,
            FaultScope::Jobs => kind == RequestKind::Jobs,
            FaultScope::Seats => kind == RequestKind::Seats,
            FaultScope::Coverage => kind == RequestKind::Coverage,
        };
        if !applies || self.fault == Fault::None {
            return Fault::None;
        }
        let fault = self.fault.clone();
        if let Some(remaining) = &mut self.remaining {
            *remaining = remaining.saturating_sub(1);
            if *remaining == 0 {
                *self = Self::NONE;
            }
        }
        fault
    }
}
