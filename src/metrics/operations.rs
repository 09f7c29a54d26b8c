//! The operation-name label and each operation's request series, looked up once per name: a
//! request counts its operation through one shared lock and one map lookup rather than a
//! labelled lookup for each of its two series.

use std::{
    collections::HashMap,
    sync::{Arc, OnceLock, RwLock},
};

use prometheus::{Histogram, HistogramVec, IntCounter, IntCounterVec, Registry};

use super::{LATENCY_BUCKETS, MAX_OPERATION_NAME, MAX_OPERATIONS, counters, histograms};

/// `ok` and `error`, in the order of [`Series`]' arrays.
const OUTCOMES: [&str; 2] = ["ok", "error"];

/// One operation label's series, made when it is first counted (a name only logged gets no
/// series).
#[derive(Debug)]
struct Series {
    requests: [IntCounter; 2],
    seconds: [Histogram; 2],
}

/// A label the gateway keeps, with its series once made.
#[derive(Debug, Default)]
struct Label(OnceLock<Series>);

/// The operation names given their own label (the first [`MAX_OPERATIONS`] safe ones), and
/// the request series by label.
#[derive(Debug)]
pub(super) struct Operations {
    names: RwLock<HashMap<Box<str>, Arc<Label>>>,
    anonymous: Label,
    other: Label,
    requests: IntCounterVec,
    seconds: HistogramVec,
}

impl Operations {
    /// The request series, registered in `r`; no name has a label yet.
    pub(super) fn register(r: &Registry) -> Self {
        Self {
            names: RwLock::default(),
            anonymous: Label::default(),
            other: Label::default(),
            requests: counters(
                r,
                "gateway_graphql_requests_total",
                "GraphQL requests executed, by operation name and outcome (ok or error).",
                &["operation", "outcome"],
            ),
            seconds: histograms(
                r,
                "gateway_graphql_request_duration_seconds",
                "Time to execute a GraphQL request, by operation name and outcome.",
                &["operation", "outcome"],
                LATENCY_BUCKETS,
            ),
        }
    }

    /// The label for an operation name: the name itself when it is safe to keep.
    pub(super) fn label<'a>(&self, operation: Option<&'a str>) -> &'a str {
        let Some(name) = operation else {
            return "anonymous";
        };
        match self.known(name) {
            Some(_) => name,
            None => "other",
        }
    }

    /// Counts a request of `operation` that took `seconds` and failed or not.
    pub(super) fn count(&self, operation: Option<&str>, failed: bool, seconds: f64) {
        let outcome = usize::from(failed);
        let record = |label: &str, kept: &Label| {
            let series = kept.0.get_or_init(|| Series {
                requests: OUTCOMES
                    .map(|outcome| self.requests.with_label_values(&[label, outcome])),
                seconds: OUTCOMES.map(|outcome| self.seconds.with_label_values(&[label, outcome])),
            });
            series.requests[outcome].inc();
            series.seconds[outcome].observe(seconds);
        };
        match operation.map(|name| (name, self.known(name))) {
            None => record("anonymous", &self.anonymous),
            Some((name, Some(kept))) => record(name, &kept),
            Some((_, None)) => record("other", &self.other),
        }
    }

    /// `name`'s label if it has one, given one now if it is a safe name and there is room.
    fn known(&self, name: &str) -> Option<Arc<Label>> {
        if let Some(kept) = self
            .names
            .read()
            .unwrap_or_else(|poison| poison.into_inner())
            .get(name)
        {
            return Some(Arc::clone(kept));
        }
        let is_name = !name.is_empty()
            && name.len() <= MAX_OPERATION_NAME
            && !name.starts_with(|c: char| c.is_ascii_digit())
            && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
        if !is_name {
            return None;
        }
        let mut names = self
            .names
            .write()
            .unwrap_or_else(|poison| poison.into_inner());
        if let Some(kept) = names.get(name) {
            return Some(Arc::clone(kept));
        }
        (names.len() < MAX_OPERATIONS).then(|| {
            let kept = Arc::new(Label::default());
            names.insert(name.into(), Arc::clone(&kept));
            kept
        })
    }

    /// How many names have a label of their own.
    #[cfg(test)]
    pub(super) fn len(&self) -> usize {
        self.names.read().unwrap().len()
    }
}
