//! GraphQL over WebSocket, the `graphql-transport-ws` protocol, at `GET /graphql` with an
//! upgrade.
//!
//! The caller's token comes on the upgrade request (`Authorization`, checked before the
//! upgrade: 401 or 403 as on any request) or in the `connection_init` payload as
//! `{"Authorization": "Bearer …"}` (checked then: a refusal closes the socket with 4403).
//! Nothing runs before `connection_ack`. Each `subscribe` takes one request from the caller's
//! rate limit and is opened by the answer stage: a subscription sends `next` with each answer
//! until it ends (`complete` from the client; the token's expiry, after a last answer saying
//! so; or shutdown, which completes every subscription and closes the socket with 1001), any
//! other operation sends its answer and `complete`, and an operation refused before it runs
//! gets `error`. The protocol's close codes answer its misuse: 4400 for a message that is not
//! the protocol's, 4401 for a subscribe before the ack, 4406 without the subprotocol, 4408
//! when no `connection_init` arrives within `GATEWAY_LIMITS_HEADER_TIMEOUT_MS`, 4409 for an id
//! already running, 4429 for a second `connection_init`.
//!
//! Bounded: a message is at most `GATEWAY_LIMITS_BODY_BYTES`, a connection runs at most
//! [`MAX_RUNNING`] operations at once, and open sockets count against
//! `GATEWAY_LIMITS_CONNECTIONS` as the connections that carry them did.

mod protocol;

use std::{collections::HashMap, time::Duration};

use axum::{
    extract::ws::{Message, WebSocket, WebSocketUpgrade},
    http::{HeaderMap, StatusCode, header},
    response::{IntoResponse, Response},
};
use futures::{SinkExt, StreamExt};
use tokio::{sync::mpsc, task::AbortHandle};

use super::{
    AppState,
    error::HttpError,
    extract::{Refused, authenticate_token, rate_key, take_rate},
    request_id::RequestId,
    streams::StreamLog,
};
use crate::{
    answer::{Next, Opened, StreamCaller},
    auth::Caller,
};
use protocol::{Incoming, close, complete_message, error_message, next_message};

/// The subprotocol spoken.
const SUBPROTOCOL: &str = "graphql-transport-ws";

/// The socket's read buffer: a client sends a few small messages, and tungstenite's default
/// of 128 KiB, taken at once for every socket, was most of an open subscription's memory
/// (BENCHMARKS.md). Larger messages still arrive whole, up to the message limit. Nothing is
/// buffered for writing: each message goes out as it is sent.
const READ_BUFFER: usize = 8 * 1024;

/// Most operations one connection runs at once.
const MAX_RUNNING: usize = 64;

/// How often the gateway pings a connection (the client answers `pong`), so proxies see
/// traffic on a quiet one.
const PING_EVERY: Duration = Duration::from_secs(15);

/// A verified caller, and the key its subscriptions and rate are counted under.
#[derive(Debug, Clone)]
struct Verified {
    caller: Caller,
    key: String,
}

/// `GET /graphql` asking for a WebSocket.
pub(super) async fn upgrade(
    state: AppState,
    id: RequestId,
    upgrade: WebSocketUpgrade,
    headers: &HeaderMap,
) -> Response {
    let authorization = headers
        .get(header::AUTHORIZATION)
        .map(|value| value.as_bytes());
    let verified = match authorization {
        Some(token) => match authenticate_token(&state, Some(token)).await {
            Ok(caller) => Some(verified(caller, token)),
            Err(error) => return Refused::negotiated(&state, error, headers).into_response(),
        },
        None => None,
    };
    let Ok(permit) = std::sync::Arc::clone(&state.sockets).try_acquire_owned() else {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            "too many open connections (GATEWAY_LIMITS_CONNECTIONS)",
        )
            .into_response();
    };
    let upgrade = upgrade.protocols([SUBPROTOCOL]);
    let offered = upgrade.selected_protocol().is_some();
    let span = tracing::Span::current();
    upgrade
        .max_message_size(state.limits.body_bytes)
        .max_frame_size(state.limits.body_bytes)
        .read_buffer_size(READ_BUFFER)
        .write_buffer_size(0)
        .on_upgrade(move |socket| async move {
            let connection = Connection {
                state,
                id,
                verified,
                running: HashMap::new(),
                opened: 0,
            };
            tracing::Instrument::instrument(connection.run(socket, offered), span).await;
            drop(permit);
        })
}

/// The caller of `token`.
fn verified(caller: Caller, token: &[u8]) -> Verified {
    let key = rate_key(caller.subject.as_deref(), token);
    Verified { caller, key }
}

/// What the socket's operations report back to it.
enum Report {
    /// A message to send.
    Send(Message),
    /// The operation `id` (the `serial`th opened) ended.
    Ended(String, u64),
}

/// One socket.
struct Connection {
    state: AppState,
    id: RequestId,
    verified: Option<Verified>,
    /// The operations running, by id: the serial each was opened as, and its task.
    running: HashMap<String, (u64, AbortHandle)>,
    opened: u64,
}

impl Connection {
    async fn run(mut self, socket: WebSocket, offered: bool) {
        let (mut sink, mut incoming) = socket.split();
        if !offered {
            let _ = sink.send(close(4406, "Subprotocol not acceptable")).await;
            return;
        }
        let (reports, mut reported) = mpsc::channel::<Report>(MAX_RUNNING);
        let mut closing = self.state.answer.closing();
        let init_by = tokio::time::Instant::now() + self.state.limits.header_timeout;
        let mut acked = false;
        let mut ping = tokio::time::interval(PING_EVERY);
        ping.reset();
        let farewell = loop {
            tokio::select! {
                message = incoming.next() => {
                    let Some(Ok(message)) = message else { break None };
                    match self.handle(message, &mut acked, &reports).await {
                        Ok(Some(reply)) => {
                            if sink.send(reply).await.is_err() {
                                break None;
                            }
                        }
                        Ok(None) => {}
                        Err(closed) => break Some(closed),
                    }
                }
                Some(report) = reported.recv() => match report {
                    Report::Send(message) => {
                        if sink.send(message).await.is_err() {
                            break None;
                        }
                    }
                    Report::Ended(id, serial) => {
                        if self.running.get(&id).is_some_and(|(running, _)| *running == serial) {
                            self.running.remove(&id);
                        }
                        if *self.state.answer.closing().borrow() && self.running.is_empty() {
                            break Some(close(1001, "the gateway is shutting down"));
                        }
                    }
                },
                () = tokio::time::sleep_until(init_by), if !acked => {
                    break Some(close(4408, "Connection initialisation timeout"));
                }
                () = closed(&mut closing), if self.running.is_empty() => {
                    break Some(close(1001, "the gateway is shutting down"));
                }
                _ = ping.tick(), if acked => {
                    if sink.send(Message::Text(r#"{"type":"ping"}"#.into())).await.is_err() {
                        break None;
                    }
                }
            }
        };
        for (_, (_, operation)) in self.running.drain() {
            operation.abort();
        }
        if let Some(farewell) = farewell {
            let _ = sink.send(farewell).await;
        }
    }

    /// Handles one message from the client: a reply to send, nothing, or the close frame
    /// that ends the connection.
    async fn handle(
        &mut self,
        message: Message,
        acked: &mut bool,
        reports: &mpsc::Sender<Report>,
    ) -> Result<Option<Message>, Message> {
        let text = match message {
            Message::Text(text) => text,
            Message::Binary(_) => {
                return Err(close(4400, "binary messages are not the protocol's"));
            }
            Message::Ping(_) | Message::Pong(_) => return Ok(None),
            Message::Close(_) => return Err(close(1000, "closed by the client")),
        };
        let incoming: Incoming = serde_json::from_str(&text)
            .map_err(|_| close(4400, "the message is not a graphql-transport-ws message"))?;
        match incoming {
            Incoming::ConnectionInit { payload } => {
                if *acked {
                    return Err(close(4429, "Too many initialisation requests"));
                }
                self.init(payload.as_ref()).await?;
                *acked = true;
                Ok(Some(Message::Text(r#"{"type":"connection_ack"}"#.into())))
            }
            Incoming::Ping { .. } => Ok(Some(Message::Text(r#"{"type":"pong"}"#.into()))),
            Incoming::Pong { .. } => Ok(None),
            Incoming::Subscribe { .. } if !*acked => Err(close(4401, "Unauthorized")),
            Incoming::Subscribe { id, payload } => {
                self.subscribe(id, payload, reports.clone()).await
            }
            Incoming::Complete { id } => {
                if let Some((_, operation)) = self.running.remove(&id) {
                    operation.abort();
                }
                Ok(None)
            }
        }
    }

    /// Accepts `connection_init`: the upgrade request's caller, or the payload's token.
    async fn init(&mut self, payload: Option<&serde_json::Value>) -> Result<(), Message> {
        let token = payload.and_then(protocol::authorization);
        if let Some(token) = token {
            match authenticate_token(&self.state, Some(token.as_bytes())).await {
                Ok(caller) => self.verified = Some(verified(caller, token.as_bytes())),
                Err(error) => return Err(close(4403, &forbidden(&error))),
            }
        }
        match &self.verified {
            Some(_) => Ok(()),
            None => Err(close(
                4403,
                "Forbidden: send the caller token on the upgrade request or as the connection_init payload's Authorization",
            )),
        }
    }

    /// Opens operation `id` and starts sending its answers.
    async fn subscribe(
        &mut self,
        id: String,
        payload: serde_json::Value,
        reports: mpsc::Sender<Report>,
    ) -> Result<Option<Message>, Message> {
        if self.running.contains_key(&id) {
            return Err(close(4409, &format!("Subscriber for {id} already exists")));
        }
        let Some(Verified { caller, key }) = self.verified.clone() else {
            return Err(close(4401, "Unauthorized"));
        };
        if caller
            .expires_at
            .is_some_and(|at| at <= crate::clock::unix_now())
        {
            return Err(close(4403, "Forbidden: the caller token has expired"));
        }
        if self.running.len() >= MAX_RUNNING || *self.state.answer.closing().borrow() {
            let refusal = HttpError::BadRequest(format!(
                "this connection already runs {MAX_RUNNING} operations: complete one first"
            ));
            return Ok(Some(error_message(&id, &refusal.body())));
        }
        if let Err(refusal) = take_rate(&self.state, &key).await {
            return Ok(Some(error_message(&id, &refusal.body())));
        }
        let body = serde_json::to_vec(&payload).unwrap_or_default();
        let stream_caller = StreamCaller {
            key: &key,
            access: &caller.access,
            expires_at: caller.expires_at,
        };
        let opened = self
            .state
            .answer
            .open(stream_caller, &body, self.id.as_str())
            .await;
        let opened = match opened {
            Ok(opened) => opened,
            Err(error) => {
                let refusal = HttpError::answering(error, self.id.clone());
                return Ok(Some(error_message(&id, &refusal.body())));
            }
        };
        self.opened += 1;
        let operation = Operation {
            id: id.clone(),
            request: self.id.clone(),
            serial: self.opened,
            reports,
        };
        let task = tokio::spawn(tracing::Instrument::instrument(
            operation.send_answers(self.state.clone(), opened),
            tracing::Span::current(),
        ));
        self.running.insert(id, (self.opened, task.abort_handle()));
        Ok(None)
    }
}

/// Completes once the gateway is shutting down.
async fn closed(closing: &mut tokio::sync::watch::Receiver<bool>) {
    let _ = closing.wait_for(|closing| *closing).await;
}

/// The refusal of a `connection_init` token, as a close reason (at most 123 bytes).
fn forbidden(error: &HttpError) -> String {
    let mut reason = format!("Forbidden: {error}");
    if reason.len() > 123 {
        let mut end = 120;
        while !reason.is_char_boundary(end) {
            end -= 1;
        }
        reason.truncate(end);
        reason.push_str("...");
    }
    reason
}

/// One operation of a socket, sending its answers.
struct Operation {
    id: String,
    /// The request that opened the socket, for the stream's log lines.
    request: RequestId,
    serial: u64,
    reports: mpsc::Sender<Report>,
}

impl Operation {
    /// Sends the answers as they come, then `complete`, and reports the end.
    async fn send_answers(self, state: AppState, opened: Opened) {
        match opened {
            Opened::Once(answer) => {
                let _ = self.send(next_message(&self.id, &answer)).await;
            }
            Opened::Live(mut answers) => {
                let operation = answers.operation();
                let mut log = StreamLog::open(
                    "ws",
                    operation,
                    &self.request,
                    &state.metrics,
                    state.log_requests,
                );
                loop {
                    match answers.next().await {
                        Next::Answer(answer) => {
                            log.sent();
                            if self.send(next_message(&self.id, &answer)).await.is_err() {
                                return;
                            }
                        }
                        Next::Last(answer) => {
                            log.sent();
                            let _ = self.send(next_message(&self.id, &answer)).await;
                            break;
                        }
                        Next::End => break,
                    }
                }
            }
        }
        let _ = self.send(complete_message(&self.id)).await;
        let _ = self.reports.send(Report::Ended(self.id, self.serial)).await;
    }

    async fn send(&self, message: Message) -> Result<(), mpsc::error::SendError<Report>> {
        self.reports.send(Report::Send(message)).await
    }
}
