//! The upstream calls made on behalf of one request, for its access-log line and the `cost`
//! extension's `upstreamRequests.made`.
//!
//! A request's reads run partly in tasks of their own (a single-flight fill, a DataLoader
//! batch), so the count is a task-local that those tasks carry over from the task that starts
//! them ([`carried`]). A request that joins a fill another started makes no call of its own
//! and counts none; a refresh still running when the request is answered is not counted.

use futures::{FutureExt as _, future::Either};
use std::{
    future::Future,
    sync::{
        Arc,
        atomic::{AtomicU32, Ordering},
    },
};

tokio::task_local! {
    static CALLS: Arc<AtomicU32>;
}

/// Runs `work` with a count of its own, and gives the upstream calls it made.
/// (A plain function rather than an `async fn`, which would hold `work` twice: as its
/// argument and as the future it awaits.)
pub(crate) fn counted<F: Future>(work: F) -> impl Future<Output = (F::Output, u32)> {
    let calls = Arc::new(AtomicU32::new(0));
    CALLS
        .scope(Arc::clone(&calls), work)
        .map(move |output| (output, calls.load(Ordering::Relaxed)))
}

/// `work`, to be spawned: its calls count for the request that spawns it, if any.
pub(crate) fn carried<F: Future>(work: F) -> impl Future<Output = F::Output> {
    match CALLS.try_with(Arc::clone) {
        Ok(calls) => Either::Left(CALLS.scope(calls, work)),
        Err(_) => Either::Right(work),
    }
}

/// The calls counted so far for the current request; `None` when nothing counts them.
pub(crate) fn so_far() -> Option<u32> {
    CALLS.try_with(|calls| calls.load(Ordering::Relaxed)).ok()
}

/// One upstream request was sent.
pub(super) fn made() {
    let _ = CALLS.try_with(|calls| calls.fetch_add(1, Ordering::Relaxed));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn calls_in_spawned_work_count_for_the_request_that_spawned_it() {
        let ((), calls) = counted(async {
            made();
            tokio::spawn(carried(async { made() })).await.unwrap();
            tokio::spawn(async { made() }).await.unwrap();
        })
        .await;
        assert_eq!(calls, 2, "the uncarried task's call is nobody's");
        made();
        let ((), none) = counted(async {}).await;
        assert_eq!(none, 0);
    }
}
