//! Single-flight fetches that outlive their callers.
//!
//! A fetch runs in its own task, so a caller that gives up (its client hung up, or its
//! deadline passed) cancels nothing: the others waiting on it, and the cache it fills, still
//! get the answer. Concurrent misses of one key join the fetch in flight instead of starting
//! another.

use std::{
    collections::HashMap,
    hash::Hash,
    sync::{Arc, Mutex},
};

use futures::{
    FutureExt,
    future::{BoxFuture, Shared},
};
use tracing::Instrument;

use crate::upstream::UpstreamError;

/// The shared result of one fetch.
pub(super) type Flight<T> = Shared<BoxFuture<'static, Result<T, Arc<UpstreamError>>>>;

/// Fetches in flight, by key; a fetch covering several keys is registered under each.
#[derive(Debug)]
pub(super) struct Flights<K, T> {
    running: Arc<Mutex<HashMap<K, Flight<T>>>>,
}

impl<K, T> Default for Flights<K, T> {
    fn default() -> Self {
        Self {
            running: Arc::default(),
        }
    }
}

impl<K, T> Flights<K, T>
where
    K: Eq + Hash + Clone + Send + 'static,
    T: Clone + Send + Sync + 'static,
{
    fn running(&self) -> std::sync::MutexGuard<'_, HashMap<K, Flight<T>>> {
        self.running
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
    }

    /// Splits `keys` into the flights already under way (each once, with how many keys joined
    /// it) and the keys nobody is fetching; when `start` is given those keys are claimed at once
    /// by the fetch it makes, so a concurrent caller joins instead of starting its own.
    ///
    /// `settled(key)` is asked, under the lock, for each unclaimed key: a fetch that completed
    /// between the caller's cache miss and now has already filled the cache, so the key is
    /// left out rather than fetched again.
    pub(super) fn join_or_start<F>(
        &self,
        keys: &[K],
        settled: impl Fn(&K) -> bool,
        start: impl FnOnce(Vec<K>) -> F,
    ) -> (Vec<Flight<T>>, usize)
    where
        F: Future<Output = Result<T, Arc<UpstreamError>>> + Send + 'static,
    {
        let mut running = self.running();
        let mut flights: Vec<Flight<T>> = Vec::new();
        let mut joined = 0;
        let mut fresh = Vec::new();
        for key in keys {
            match running.get(key) {
                Some(flight) => {
                    joined += 1;
                    if !flights.iter().any(|known| known.ptr_eq(flight)) {
                        flights.push(flight.clone());
                    }
                }
                None if settled(key) => {}
                None => fresh.push(key.clone()),
            }
        }
        if !fresh.is_empty() {
            let flight = self.spawn(fresh.clone(), start(fresh.clone()));
            for key in fresh {
                running.insert(key, flight.clone());
            }
            flights.push(flight);
        }
        (flights, joined)
    }

    fn spawn<F>(&self, keys: Vec<K>, fetch: F) -> Flight<T>
    where
        F: Future<Output = Result<T, Arc<UpstreamError>>> + Send + 'static,
    {
        let running = Arc::clone(&self.running);
        // Created here, the span's parent is the request that started the fetch, so the
        // upstream calls below it log that request's id.
        let span = tracing::debug_span!("fetch", keys = keys.len());
        let task = tokio::spawn(
            async move {
                let result = fetch.await;
                // The fetch has filled the cache (or failed) before it stops being joinable.
                let mut running = running.lock().unwrap_or_else(|poison| poison.into_inner());
                for key in &keys {
                    running.remove(key);
                }
                result
            }
            .instrument(span),
        );
        async move {
            task.await.unwrap_or_else(|_| {
                Err(Arc::new(UpstreamError::Unavailable(
                    "the fetch stopped unexpectedly".into(),
                )))
            })
        }
        .boxed()
        .shared()
    }
}
