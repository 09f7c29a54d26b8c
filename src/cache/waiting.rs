//! Waiting for an upstream read in flight: until the request's deadline, and for a listing,
//! answering early from the pages read so far when they already hold the answer.

use std::{sync::Arc, time::Duration};

use std::time::Instant;

use tokio::sync::watch;

use super::{Listing, Provenance, Served};
use crate::{
    domain::{Customer, Snapshot},
    upstream::UpstreamError,
};

/// Waits for a snapshot read like [`wait`], answering early when `early` can from the customers
/// read so far (see [`CustomerStore::listing`]).
pub(super) async fn wait_early<R>(
    flight: Flight<Arc<Snapshot>>,
    mut progress: Option<watch::Receiver<Vec<Arc<Customer>>>>,
    deadline: Instant,
    budget: Duration,
    mut early: impl FnMut(&[Arc<Customer>]) -> Option<R>,
) -> Result<Listing<R>, Arc<UpstreamError>> {
    let whole = wait(flight, deadline, budget);
    tokio::pin!(whole);
    loop {
        if let Some(read) = progress.as_mut() {
            let answer = early(&read.borrow_and_update());
            if let Some(answer) = answer {
                return Ok(Listing::Early(answer));
            }
        }
        let page = async {
            match progress.as_mut() {
                Some(read) => read.changed().await.is_ok(),
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            value = &mut whole => {
                return match value {
                    Ok(value) => Ok(Listing::Whole(Served {
                        provenance: Provenance::snapshot(value.generation(), None),
                        value,
                    })),
                    // The pages read before the failure may still hold the answer, whether or
                    // not this task looked at them in time.
                    Err(error) => match progress.as_mut().and_then(|read| early(&read.borrow())) {
                        Some(answer) => Ok(Listing::Early(answer)),
                        None => Err(error),
                    },
                };
            }
            more = page => if !more {
                progress = None;
            },
        }
    }
}

/// What one upstream read gives everyone who joined it.
pub(super) type Fetched<T> = Result<T, Arc<UpstreamError>>;

/// One upstream read in flight.
pub(super) type Flight<T> = crate::flight::Flight<Fetched<T>>;

/// Waits until `deadline` for every one of `flights`; whether each succeeded.
pub(super) async fn all_succeeded<T: Clone>(
    flights: Vec<Flight<T>>,
    deadline: Instant,
    budget: Duration,
) -> bool {
    futures::future::join_all(
        flights
            .into_iter()
            .map(|flight| wait(flight, deadline, budget)),
    )
    .await
    .iter()
    .all(Result::is_ok)
}

/// Waits for a fetch until `deadline`; past it, the caller gets a timeout naming the limit
/// (the fetch itself goes on and fills the cache for the next caller).
pub(super) async fn wait<T: Clone>(
    flight: Flight<T>,
    deadline: Instant,
    budget: Duration,
) -> Fetched<T> {
    match tokio::time::timeout_at(deadline.into(), flight).await {
        Ok(Some(fetched)) => fetched,
        Ok(None) => Err(Arc::new(UpstreamError::Unavailable(
            "the fetch stopped unexpectedly".into(),
        ))),
        Err(_) => Err(Arc::new(UpstreamError::Deadline(budget))),
    }
}
