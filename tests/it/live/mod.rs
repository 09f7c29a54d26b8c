//! Live answers (subscriptions) over both transports: what is sent and when, the shared
//! refresh, the limits, the claim scope, faults and shutdown.

mod changes;
mod clients;
mod faults;
mod limits;
mod operations;
mod sharing;

use std::time::Duration;

use serde_json::{Value, json};

use crate::common::{TestGateway, eventually, token};
use clients::{Sse, Ws};

/// A subscription to one customer.
pub(crate) const CUSTOMER: &str =
    "subscription One($id: ID!) { customer(id: $id) { id organization } }";

/// The same selection as a query.
pub(crate) const CUSTOMER_QUERY: &str =
    "query One($id: ID!) { customer(id: $id) { id organization } }";

/// The live answers' runs with `outcome` (`sent`, `same`, `held`).
pub(crate) async fn runs(gateway: &TestGateway, outcome: &str) -> f64 {
    gateway
        .metric(&format!(
            "gateway_subscription_evaluations_total{{outcome=\"{outcome}\"}}"
        ))
        .await
}

/// Moves the clock past the default TTL and waits until the live answers have run again
/// `times` times in all with `outcome`.
pub(crate) async fn past_the_ttl(gateway: &TestGateway, outcome: &str, times: f64) {
    gateway.advance(Duration::from_secs(61));
    eventually("the live answers ran again", async || {
        runs(gateway, outcome).await >= times
    })
    .await;
}

/// Customer `id` watched over both transports (the WebSocket's subscription is `1`); the
/// first answer, the same on both.
pub(crate) async fn watched(gateway: &TestGateway, id: &str) -> (Sse, Ws, Value) {
    let mut stream = Sse::open(gateway, Some(&token()), CUSTOMER, json!({ "id": id }))
        .await
        .expect("a stream");
    let first = stream.answer().await;
    let mut socket = Ws::ready(gateway, &token()).await;
    socket.subscribe("1", CUSTOMER, json!({ "id": id })).await;
    assert_eq!(socket.answer("1").await, first);
    (stream, socket, first)
}
