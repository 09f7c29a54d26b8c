//! One evaluation per live answer, shared by its subscribers.
//!
//! Subscribers of the same operation, variables and customer scope (the memo's
//! [`RequestKey`]) watch one evaluation task. It runs the subscription as a query, noting the
//! pieces of data it read (`crate::cache::live`), and publishes the answer when it differs
//! from the last published (the first always). Then it sleeps until the first of those pieces
//! stops being fresh and runs again, reading stale pieces fresh through their one fill: an
//! evaluation whose data have not expired is never run again, and however many evaluations and
//! replicas read a piece, the upstream is read for it once per TTL.
//!
//! An upstream fault publishes nothing (the last answer stands): an answer holding an
//! `UPSTREAM_*` error or data that could not be refreshed is held back, and the evaluation
//! tries again after a second, doubling the wait up to [`MOST_RETRY`] while the fault lasts.
//! A subscriber holds a `watch` receiver: one slow to read skips to the latest answer and
//! never queues answers. The task ends when its last subscriber leaves or the gateway shuts
//! down.

use std::{
    collections::{HashMap, HashSet},
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use axum::body::Bytes;
use tokio::sync::watch;
use tracing::Instrument;

use super::super::{RequestKey, run::Runner};
use crate::{
    auth::CustomerAccess,
    cache::{Topic, live},
    graphql::{Answer, LivePlan},
};

/// The first wait before an evaluation held back by an upstream fault runs again.
const FIRST_RETRY: Duration = Duration::from_secs(1);

/// The longest wait between runs while an upstream fault lasts.
const MOST_RETRY: Duration = Duration::from_secs(30);

type Published = watch::Sender<Option<Bytes>>;

/// The evaluations running, by the request they answer.
#[derive(Clone)]
pub(in crate::answer) struct Hub {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Hub {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hub")
            .field("running", &self.inner.running().len())
            .finish_non_exhaustive()
    }
}

struct Inner {
    running: Mutex<HashMap<RequestKey, Arc<Published>>>,
    runner: Runner,
    closing: watch::Receiver<bool>,
}

impl Hub {
    /// Evaluations run with `runner`, and stop once `closing` turns true.
    pub(in crate::answer) fn new(runner: Runner, closing: watch::Receiver<bool>) -> Self {
        Self {
            inner: Arc::new(Inner {
                running: Mutex::default(),
                runner,
                closing,
            }),
        }
    }

    /// The answers to `key` (planned as `plan`, for `access`): those of the evaluation
    /// running for it, or of one started now.
    pub(in crate::answer) fn join(
        &self,
        key: RequestKey,
        plan: LivePlan,
        access: CustomerAccess,
    ) -> watch::Receiver<Option<Bytes>> {
        let mut running = self.inner.running();
        if let Some(published) = running.get(&key) {
            return published.subscribe();
        }
        let (published, answers) = watch::channel(None);
        let published = Arc::new(published);
        running.insert(key.clone(), Arc::clone(&published));
        let span = tracing::info_span!("live", operation = plan.operation().unwrap_or(""));
        let evaluation = Evaluation {
            inner: Arc::clone(&self.inner),
            key,
            published,
            plan,
            access,
        };
        tokio::spawn(evaluation.run().instrument(span));
        answers
    }
}

impl Inner {
    fn running(&self) -> std::sync::MutexGuard<'_, HashMap<RequestKey, Arc<Published>>> {
        self.running
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
    }

    /// Removes the evaluation of `key` when nobody watches it (or the gateway is closing);
    /// whether it did. Joining happens under the same lock, so no subscriber is left with an
    /// evaluation that has ended.
    fn leave_if_unwatched(&self, key: &RequestKey, published: &Published) -> bool {
        let mut running = self.running();
        if published.receiver_count() > 0 && !*self.closing.borrow() {
            return false;
        }
        running.remove(key);
        true
    }
}

/// One evaluation task.
struct Evaluation {
    inner: Arc<Inner>,
    key: RequestKey,
    published: Arc<Published>,
    plan: LivePlan,
    access: CustomerAccess,
}

impl Evaluation {
    async fn run(self) {
        let runner = &self.inner.runner;
        let mut closing = self.inner.closing.clone();
        let mut refresh = false;
        let mut retry = FIRST_RETRY;
        loop {
            let evaluated = live::recorded(
                refresh,
                crate::calls::counted(runner.run(
                    self.plan.prepared(),
                    self.access.clone(),
                    "live",
                )),
            );
            let ((executed, calls), topics) = evaluated.await;
            let outcome = match executed {
                Ok(answer) => self.publish(&answer),
                Err(_) => "held",
            };
            runner.metrics.subscription_evaluation(outcome, calls);
            let wake = next_run(runner, &topics, outcome == "held", &mut retry).await;
            let sleep = async {
                match wake {
                    Some(at) => runner.store.sleep_until(at).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                () = sleep => {}
                () = self.published.closed() => {}
                _ = closing.wait_for(|closing| *closing) => {}
            }
            if self.inner.leave_if_unwatched(&self.key, &self.published) {
                return;
            }
            refresh = true;
        }
    }

    /// Publishes `answer` unless it is the last one published again, or an upstream fault's
    /// (the first is always published); says which.
    fn publish(&self, answer: &Answer) -> &'static str {
        if let Some(last) = self.published.borrow().as_ref() {
            if answer.upstream_fault || answer.provenance.stale().is_some() {
                return "held";
            }
            if answer.body == *last {
                return "same";
            }
        }
        self.published.send_replace(Some(answer.body.clone()));
        "sent"
    }
}

/// When to run again: when the first of `topics` stops being fresh. When one is stale or
/// gone already (its refresh failed), or the run was `held`, after `retry`, which doubles
/// each time up to [`MOST_RETRY`]; it starts again at [`FIRST_RETRY`] once all is fresh.
/// `None` when the run read no data: nothing can change its answer.
async fn next_run(
    runner: &Runner,
    topics: &HashSet<Topic>,
    held: bool,
    retry: &mut Duration,
) -> Option<Instant> {
    let now = runner.store.now();
    let mut first: Option<Instant> = None;
    for topic in topics {
        let until = runner.store.fresh_until(topic).await.unwrap_or(now);
        first = Some(first.map_or(until, |first| first.min(until)));
    }
    if !held && first.is_none_or(|first| first > now) {
        *retry = FIRST_RETRY;
        return first;
    }
    let wait = *retry;
    *retry = (*retry * 2).min(MOST_RETRY);
    Some(now + wait)
}
