//! Live answers (subscriptions), whatever the transport: a stream transport (`http/ws/`,
//! `http/sse.rs`) opens each operation it is sent with [`Answerer::open`] and passes on what
//! [`LiveAnswers::next`] gives until the stream ends.
//!
//! A subscription is answered by one evaluation shared by every subscriber of the same
//! operation, variables and customer scope (`hub.rs`), which runs it as a query whenever the
//! data under it may have changed and sends only an answer that differs from the last. Any
//! other operation sent over a stream is answered once. Each caller (token `sub`) holds at
//! most `GATEWAY_LIMITS_SUBSCRIPTIONS_PER_CALLER` subscriptions open at once, over every
//! transport. A stream ends when its token expires (with a last answer coded
//! `UNAUTHENTICATED`) and when the gateway shuts down.

mod hub;

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use axum::body::Bytes;
use tokio::sync::watch;

use super::{AnswerError, Answerer, Outcome, Reply, RequestKey, params};
use crate::{
    auth::CustomerAccess,
    graphql::{Opener, Opening, Parsed},
};

pub(super) use hub::Hub;

/// The answer that ends a stream whose token has expired.
const EXPIRED: &str = r#"{"errors":[{"message":"the caller token has expired: the stream ends; subscribe again with a fresh token","extensions":{"code":"UNAUTHENTICATED"}}]}"#;

/// The caller of a stream, as the transport verified it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct StreamCaller<'a> {
    /// Whose subscriptions these are: the token's `sub`, or the token's digest without one.
    pub key: &'a str,
    /// The customers it may see.
    pub access: &'a CustomerAccess,
    /// When its token expires (Unix seconds).
    pub expires_at: Option<u64>,
}

/// What an operation sent over a stream comes to.
#[derive(Debug)]
pub(crate) enum Opened {
    /// One answer, then the stream's end: an operation other than a subscription, or a
    /// subscription that fails validation.
    Once(Bytes),
    /// A subscription's answers.
    Live(LiveAnswers),
}

/// What [`LiveAnswers::next`] gives.
#[derive(Debug)]
pub(crate) enum Next {
    /// An answer to send.
    Answer(Bytes),
    /// A last answer to send (the token expired), then the end.
    Last(Bytes),
    /// The end, with nothing more to send (the gateway is shutting down).
    End,
}

/// The answers of one subscription, for one subscriber; dropping it unsubscribes.
#[derive(Debug)]
pub(crate) struct LiveAnswers {
    answers: watch::Receiver<Option<Bytes>>,
    /// The first answer has been given.
    started: bool,
    expires: Option<tokio::time::Instant>,
    closing: watch::Receiver<bool>,
    operation: Option<String>,
    _slot: Slot,
}

impl LiveAnswers {
    /// The next answer: the current one at first, then each one that differs from the last.
    pub(crate) async fn next(&mut self) -> Next {
        let expires = self.expires;
        let expiry = async move {
            match expires {
                Some(at) => tokio::time::sleep_until(at).await,
                None => std::future::pending().await,
            }
        };
        let answers = &mut self.answers;
        let started = self.started;
        let answer = async move {
            if started && answers.changed().await.is_err() {
                return None;
            }
            let answer = answers.wait_for(Option::is_some).await.ok()?;
            answer.clone()
        };
        let next = tokio::select! {
            biased;
            _ = self.closing.wait_for(|closing| *closing) => Next::End,
            () = expiry => Next::Last(Bytes::from_static(EXPIRED.as_bytes())),
            answer = answer => answer.map_or(Next::End, Next::Answer),
        };
        self.started = true;
        next
    }

    /// The subscription's operation name.
    pub(crate) fn operation(&self) -> Option<&str> {
        self.operation.as_deref()
    }
}

/// The live side of the answer stage: the shared evaluations, each caller's open
/// subscriptions, and the shutdown signal.
#[derive(Debug)]
pub(super) struct Live {
    pub(super) hub: Hub,
    slots: Arc<Slots>,
    closing: watch::Sender<bool>,
}

impl Live {
    /// Allows `per_caller` subscriptions to each caller; evaluations run with `hub`'s runner.
    pub(super) fn new(hub: Hub, per_caller: usize, closing: watch::Sender<bool>) -> Self {
        Self {
            hub,
            slots: Arc::new(Slots {
                held: Mutex::default(),
                limit: per_caller,
            }),
            closing,
        }
    }
}

impl Answerer {
    /// Opens the operation in `body` (a GraphQL-over-HTTP request object) for `caller`;
    /// `request_id` is quoted by an internal error.
    pub(crate) async fn open(
        &self,
        caller: StreamCaller<'_>,
        body: &[u8],
        request_id: &str,
    ) -> Result<Opened, AnswerError> {
        let request = params::from_body(body, self.settings.query_bytes)?;
        let mut request = self.persisted(request).await?;
        let access = caller.access;
        let deadline = Instant::now() + self.settings.request_timeout;
        let opener = Opener {
            schema: &self.runner.schema,
            limits: self.settings.limits,
            store: &self.runner.store,
            access,
            deadline,
        };
        // A live answer reports no cost: its upstream requests are its refreshes'.
        let report_cost = std::mem::take(&mut request.report_cost);
        let key = RequestKey::new(access, &request);
        request.report_cost = report_cost;
        let plan = match Parsed::new(request, &self.documents)
            .open_live(opener)
            .await?
        {
            Opening::Invalid(errors) => return Ok(Opened::Once(errors)),
            Opening::Once(parsed) => {
                let prepared = (*parsed)
                    .prepare(self.settings.limits, &self.runner.store, access, deadline)
                    .await?;
                let executed = self.runner.run(prepared, access.clone(), request_id).await;
                return match self.replied(Outcome::from(executed))? {
                    Reply::Answer { kept, .. } => Ok(Opened::Once(kept.answer.body.clone())),
                    Reply::NotModified(_) => Err(AnswerError::Internal),
                };
            }
            Opening::Live(plan) => plan,
        };
        let slot = Slots::take(&self.live.slots, caller.key)
            .ok_or(AnswerError::TooManySubscriptions(self.live.slots.limit))?;
        let operation = plan.operation().map(str::to_owned);
        crate::noted::answered(operation.as_deref(), "subscription");
        let answers = self.live.hub.join(key, plan, access.clone());
        Ok(Opened::Live(LiveAnswers {
            answers,
            started: false,
            expires: caller.expires_at.map(expiry),
            closing: self.live.closing.subscribe(),
            operation,
            _slot: slot,
        }))
    }

    /// Turns true when the gateway shuts down: streams end then.
    pub(crate) fn closing(&self) -> watch::Receiver<bool> {
        self.live.closing.subscribe()
    }

    /// Ends every live answer (shutdown): each stream sends its end, and the shared
    /// evaluations stop.
    pub(crate) fn close_streams(&self) {
        self.live.closing.send_replace(true);
    }
}

/// The instant a token expiring at Unix second `at` expires, on the runtime's clock.
fn expiry(at: u64) -> tokio::time::Instant {
    let left = at.saturating_sub(crate::clock::unix_now());
    tokio::time::Instant::now() + Duration::from_secs(left)
}

/// Each caller's open subscriptions.
#[derive(Debug)]
struct Slots {
    held: Mutex<HashMap<String, usize>>,
    limit: usize,
}

impl Slots {
    /// One more subscription for `caller`, unless it holds the most already.
    fn take(slots: &Arc<Self>, caller: &str) -> Option<Slot> {
        let mut held = slots
            .held
            .lock()
            .unwrap_or_else(|poison| poison.into_inner());
        let count = held.entry(caller.to_owned()).or_default();
        if *count >= slots.limit {
            if *count == 0 {
                held.remove(caller);
            }
            return None;
        }
        *count += 1;
        Some(Slot {
            slots: Arc::clone(slots),
            caller: caller.to_owned(),
        })
    }
}

/// One open subscription of a caller; given back when dropped.
#[derive(Debug)]
struct Slot {
    slots: Arc<Slots>,
    caller: String,
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut held = self
            .slots
            .held
            .lock()
            .unwrap_or_else(|poison| poison.into_inner());
        if let Some(count) = held.get_mut(&self.caller) {
            *count -= 1;
            if *count == 0 {
                held.remove(&self.caller);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_caller_holds_at_most_the_limit_and_a_closed_one_frees_its_slot() {
        let slots = Arc::new(Slots {
            held: Mutex::default(),
            limit: 2,
        });
        let one = Slots::take(&slots, "a").unwrap();
        let _two = Slots::take(&slots, "a").unwrap();
        assert!(Slots::take(&slots, "a").is_none());
        let _other = Slots::take(&slots, "b").expect("another caller has its own");
        drop(one);
        assert!(Slots::take(&slots, "a").is_some());
        let none = Arc::new(Slots {
            held: Mutex::default(),
            limit: 0,
        });
        assert!(Slots::take(&none, "a").is_none());
        assert!(none.held.lock().unwrap().is_empty());
    }
}
