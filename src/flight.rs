//! The gateway's one single-flight: the upstream reads of the cache, the whole-answer memo's
//! executions, the JWKS fetches and the app token's renewals all go through [`Flights`].
//!
//! The rule, for every user: work started for a key runs in a task of its own, so a caller
//! that stops waiting (its client hung up, or its deadline passed) cancels nothing. Everyone who
//! joined gets its result, and whatever it stores (the cache it fills) is stored. The key stays
//! joinable until the work has finished, and is free for new work from then on. Work that
//! panics gives its callers `None`.

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

/// The shared result of one piece of work; `None` if it panicked.
pub(crate) type Flight<T> = Shared<BoxFuture<'static, Option<T>>>;

/// Work in flight, by key; work covering several keys is registered under each.
#[derive(Debug)]
pub(crate) struct Flights<K, T> {
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
    pub(crate) fn join_or_start<F>(
        &self,
        keys: &[K],
        settled: impl Fn(&K) -> bool,
        start: impl FnOnce(Vec<K>) -> F,
    ) -> (Vec<Flight<T>>, usize)
    where
        F: Future<Output = T> + Send + 'static,
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

    /// Joins the work in flight for `key`, or starts `start()` for it; says which (`true`:
    /// joined).
    pub(crate) fn join_or_start_one<F>(
        &self,
        key: K,
        start: impl FnOnce() -> F,
    ) -> (Flight<T>, bool)
    where
        F: Future<Output = T> + Send + 'static,
    {
        let mut running = self.running();
        if let Some(flight) = running.get(&key) {
            return (flight.clone(), true);
        }
        let flight = self.spawn(vec![key.clone()], start());
        running.insert(key, flight.clone());
        (flight, false)
    }

    /// The work in flight for `key`, if any.
    pub(crate) fn joinable(&self, key: &K) -> Option<Flight<T>> {
        self.running().get(key).cloned()
    }

    fn spawn<F>(&self, keys: Vec<K>, work: F) -> Flight<T>
    where
        F: Future<Output = T> + Send + 'static,
    {
        let release = Release {
            running: Arc::clone(&self.running),
            keys,
        };
        let task = tokio::spawn(crate::calls::carried(
            async move {
                let result = work.await;
                // The work has stored its result (or failed) before it stops being joinable.
                drop(release);
                result
            }
            // The work logs under the caller that started it (its request id, say), and its
            // upstream calls count for that caller; callers add a span of their own inside
            // `work` where one helps.
            .in_current_span(),
        ));
        async move { task.await.ok() }.boxed().shared()
    }
}

/// Frees the keys of one piece of work when it ends, by finishing or by panicking.
struct Release<K: Eq + Hash, T> {
    running: Arc<Mutex<HashMap<K, Flight<T>>>>,
    keys: Vec<K>,
}

impl<K: Eq + Hash, T> Drop for Release<K, T> {
    fn drop(&mut self) {
        let mut running = self
            .running
            .lock()
            .unwrap_or_else(|poison| poison.into_inner());
        for key in &self.keys {
            running.remove(key);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use tokio::sync::oneshot;

    use super::*;

    #[tokio::test]
    async fn callers_join_the_work_in_flight_and_the_key_is_free_once_it_is_done() {
        let flights: Flights<&str, u32> = Flights::default();
        let runs = Arc::new(AtomicUsize::new(0));
        let (release, released) = oneshot::channel::<()>();
        let counted = Arc::clone(&runs);
        let (first, joined) = flights.join_or_start_one("key", move || async move {
            counted.fetch_add(1, Ordering::Relaxed);
            released.await.ok();
            7
        });
        assert!(!joined);
        let (second, joined) = flights.join_or_start_one("key", || async { 8 });
        assert!(joined, "the second caller joins");
        assert!(flights.joinable(&"key").is_some());
        release.send(()).unwrap();
        assert_eq!((first.await, second.await), (Some(7), Some(7)));
        assert_eq!(runs.load(Ordering::Relaxed), 1);
        assert!(flights.joinable(&"key").is_none(), "free again");
        let (third, joined) = flights.join_or_start_one("key", || async { 9 });
        assert!(!joined);
        assert_eq!(third.await, Some(9));
    }

    #[tokio::test]
    async fn a_caller_that_stops_waiting_cancels_nothing() {
        let flights: Flights<&str, u32> = Flights::default();
        let (release, released) = oneshot::channel::<()>();
        let (done, finished) = oneshot::channel::<()>();
        let (first, _) = flights.join_or_start_one("key", move || async move {
            released.await.ok();
            done.send(()).ok();
            1
        });
        let (second, _) = flights.join_or_start_one("key", || async { 2 });
        drop(first);
        release.send(()).unwrap();
        finished.await.expect("the work ran to its end");
        assert_eq!(second.await, Some(1));
    }

    #[tokio::test]
    async fn work_that_panics_gives_none_and_frees_its_key() {
        let flights: Flights<&str, u32> = Flights::default();
        let (flight, _) = flights.join_or_start_one("key", || async {
            if true {
                panic!("the work failed");
            }
            1
        });
        assert_eq!(flight.await, None);
        let (again, joined) = flights.join_or_start_one("key", || async { 2 });
        assert!(!joined, "the key is free for new work");
        assert_eq!(again.await, Some(2));
    }

    #[tokio::test]
    async fn a_fetch_for_several_keys_is_joined_by_each_and_settled_keys_are_left_out() {
        let flights: Flights<u32, u32> = Flights::default();
        let (release, released) = oneshot::channel::<()>();
        let (started, joined) = flights.join_or_start(
            &[1, 2],
            |_| false,
            move |keys| async move {
                released.await.ok();
                keys.iter().sum()
            },
        );
        assert_eq!((started.len(), joined), (1, 0));
        let (flights_now, joined) =
            flights.join_or_start(&[2, 3, 4], |key| *key == 4, |keys| async move { keys[0] });
        assert_eq!(joined, 1, "key 2 joins the first fetch");
        assert_eq!(
            flights_now.len(),
            2,
            "the first fetch, and one for key 3 alone"
        );
        release.send(()).unwrap();
        let results: Vec<Option<u32>> = futures::future::join_all(flights_now).await;
        assert_eq!(results, [Some(3), Some(3)]);
    }
}
