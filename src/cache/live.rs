//! What the cache does for live answers (subscriptions): it tells an evaluation which pieces
//! of data it read, when the first of them stops being fresh, and, when asked, refreshes a
//! stale piece before serving it.
//!
//! An evaluation runs inside [`recorded`]: each read of the store notes its [`Topic`] (the
//! listing, a customer, a customer's details, the details listing, one per-customer read) in
//! a task-local that DataLoader batches carry over ([`carried`]). Outside such a scope, noting
//! costs one task-local look and keeps nothing, so queries pay nothing for it.
//!
//! With `refresh` set, a read that finds its entry stale joins (or starts) the entry's one
//! fill and waits for it, instead of serving the stale value while the fill runs in the
//! background: the evaluation that follows a piece's TTL sees the new data. Every evaluation
//! reading the same stale piece joins the same fill, and with Redis the fill takes the
//! piece's lease, so the upstream is read once per piece and TTL however many live answers
//! and replicas depend on it. When the fill fails, the stale value is served as a query would
//! serve it.

use std::{
    collections::HashSet,
    future::Future,
    sync::{Arc, Mutex},
    time::Instant,
};

use super::{CustomerStore, reads::ReadKey};

/// One piece of cached data a live answer may depend on.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum Topic {
    /// The listing of every customer with its subscriptions.
    Snapshot,
    /// One customer read by id (while no listing is cached).
    Customer(Arc<str>),
    /// One customer's details (`customers/batch`).
    Details(Arc<str>),
    /// Every customer's details.
    DetailsListing,
    /// One per-customer read: jobs, seats or coverage.
    Read(ReadKey),
}

/// What one evaluation noted, and how it reads.
#[derive(Debug, Default)]
struct Evaluation {
    topics: Mutex<HashSet<Topic>>,
    refresh: bool,
}

tokio::task_local! {
    static EVALUATION: Arc<Evaluation>;
}

/// Runs `work` noting the topics it reads; with `refresh`, stale entries are refreshed before
/// they are served. Gives the work's output and the topics.
pub(crate) async fn recorded<F: Future>(refresh: bool, work: F) -> (F::Output, HashSet<Topic>) {
    let evaluation = Arc::new(Evaluation {
        topics: Mutex::default(),
        refresh,
    });
    let output = EVALUATION.scope(Arc::clone(&evaluation), work).await;
    let topics = std::mem::take(
        &mut *evaluation
            .topics
            .lock()
            .unwrap_or_else(|poison| poison.into_inner()),
    );
    (output, topics)
}

/// `work`, to be spawned: its reads are noted for the evaluation that spawns it, if any.
pub(crate) fn carried<F: Future>(work: F) -> impl Future<Output = F::Output> {
    let evaluation = EVALUATION.try_with(Arc::clone).ok();
    async move {
        match evaluation {
            Some(evaluation) => EVALUATION.scope(evaluation, work).await,
            None => work.await,
        }
    }
}

/// Notes that the current evaluation, if any, read `topic` (made only when one is noting).
pub(super) fn read(topic: impl FnOnce() -> Topic) {
    let _ = EVALUATION.try_with(|evaluation| {
        evaluation
            .topics
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
            .insert(topic());
    });
}

/// Whether a stale entry is to be refreshed before it is served.
pub(super) fn refreshing() -> bool {
    EVALUATION
        .try_with(|evaluation| evaluation.refresh)
        .unwrap_or(false)
}

impl CustomerStore {
    /// When `topic`'s cached entry stops (or stopped) being fresh, by the store's clock;
    /// `None` when nothing is cached for it.
    pub(crate) async fn fresh_until(&self, topic: &Topic) -> Option<Instant> {
        match topic {
            Topic::Snapshot => self
                .snapshot
                .get(self.clock.now())
                .map(|entry| entry.fresh_until(self.ttl)),
            Topic::Customer(id) => self
                .customers
                .get(&**id)
                .await
                .map(|entry| entry.fresh_until(self.ttl)),
            Topic::Details(id) => self
                .details
                .get(&**id)
                .map(|entry| entry.fresh_until(self.ttl)),
            Topic::DetailsListing => self
                .details_listing
                .entries
                .get(&())
                .map(|entry| entry.fresh_until(self.ttl)),
            Topic::Read(key) => self
                .reads
                .entries
                .get(key)
                .map(|entry| entry.fresh_until(self.read_times.ttl(key.1))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn reads_are_noted_inside_an_evaluation_and_its_spawned_work_only() {
        read(|| Topic::Snapshot);
        let ((), topics) = recorded(true, async {
            assert!(refreshing());
            read(|| Topic::Details("a".into()));
            tokio::spawn(carried(async { read(|| Topic::DetailsListing) }))
                .await
                .unwrap();
            tokio::spawn(async { read(|| Topic::Customer("b".into())) })
                .await
                .unwrap();
        })
        .await;
        assert_eq!(
            topics,
            HashSet::from([Topic::Details("a".into()), Topic::DetailsListing])
        );
        assert!(!refreshing());
        let ((), quiet) = recorded(false, async { assert!(!refreshing()) }).await;
        assert!(quiet.is_empty());
    }
}
