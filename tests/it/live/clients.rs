//! Plain protocol clients for the live-answer tests: GraphQL over SSE read from a reqwest
//! body, and `graphql-transport-ws` over tokio-tungstenite. (The npm clients `graphql-sse`,
//! `graphql-ws` and Apollo's `GraphQLWsLink` run in `tests/clients`.)

use std::time::Duration;

use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::{
    MaybeTlsStream, WebSocketStream,
    tungstenite::{Message, client::IntoClientRequest, http::HeaderValue},
};

use crate::common::TestGateway;

/// Longest wait for one event before a test fails.
const PATIENCE: Duration = Duration::from_secs(10);

/// An open GraphQL-over-SSE response.
#[derive(Debug)]
pub(crate) struct Sse {
    response: reqwest::Response,
    buffer: String,
}

impl Sse {
    /// POSTs `query` with `variables` asking for an event stream; the response when it is not
    /// one (a refusal).
    pub(crate) async fn open(
        gateway: &TestGateway,
        token: Option<&str>,
        query: &str,
        variables: Value,
    ) -> Result<Self, reqwest::Response> {
        Self::open_at(&gateway.url("/graphql"), token, query, variables).await
    }

    /// [`Sse::open`] at the GraphQL endpoint `url`.
    pub(crate) async fn open_at(
        url: &str,
        token: Option<&str>,
        query: &str,
        variables: Value,
    ) -> Result<Self, reqwest::Response> {
        let mut request = reqwest::Client::new()
            .post(url)
            .header("accept", "text/event-stream")
            .header("x-request-id", "live-stream")
            .json(&json!({ "query": query, "variables": variables }));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.expect("the gateway answers");
        let is_stream = response
            .headers()
            .get("content-type")
            .is_some_and(|kind| kind.as_bytes().starts_with(b"text/event-stream"));
        if response.status() != 200 || !is_stream {
            return Err(response);
        }
        Ok(Self {
            response,
            buffer: String::new(),
        })
    }

    /// The next event as (name, data), skipping comments; `None` once the stream has ended.
    pub(crate) async fn next(&mut self) -> Option<(String, String)> {
        loop {
            if let Some(end) = self.buffer.find("\n\n") {
                let block: String = self.buffer.drain(..end + 2).collect();
                let (mut event, mut data) = (None, Vec::new());
                for line in block.lines() {
                    if let Some(name) = line.strip_prefix("event:") {
                        event = Some(name.trim().to_owned());
                    } else if let Some(text) = line.strip_prefix("data:") {
                        data.push(text.strip_prefix(' ').unwrap_or(text).to_owned());
                    }
                }
                if let Some(event) = event {
                    return Some((event, data.join("\n")));
                }
                continue;
            }
            let chunk = tokio::time::timeout(PATIENCE, self.response.chunk())
                .await
                .expect("an event arrives in time")
                .ok()??;
            self.buffer
                .push_str(std::str::from_utf8(&chunk).expect("UTF-8 events"));
        }
    }

    /// The next event, which must be `next`: its answer.
    pub(crate) async fn answer(&mut self) -> Value {
        let (event, data) = self.next().await.expect("the stream goes on");
        assert_eq!(event, "next", "{data}");
        serde_json::from_str(&data).expect("a JSON answer")
    }

    /// The next event, which must be `complete`.
    pub(crate) async fn completes(&mut self) {
        let (event, data) = self.next().await.expect("the stream sends complete");
        assert_eq!(event, "complete", "{data}");
    }
}

/// What a `graphql-transport-ws` socket received.
#[derive(Debug)]
pub(crate) enum Received {
    /// A protocol message.
    Message(Value),
    /// The close frame's code and reason (1006 when the socket closed without one).
    Closed(u16, String),
}

/// A `graphql-transport-ws` socket.
#[derive(Debug)]
pub(crate) struct Ws {
    socket: WebSocketStream<MaybeTlsStream<tokio::net::TcpStream>>,
}

impl Ws {
    /// Connects with the subprotocol, sending `header_token` on the upgrade request if given.
    pub(crate) async fn connect(gateway: &TestGateway, header_token: Option<&str>) -> Self {
        Self::try_connect(gateway, header_token)
            .await
            .unwrap_or_else(|status| panic!("the upgrade was refused: {status}"))
    }

    /// [`Ws::connect`], or the status of the refused upgrade.
    pub(crate) async fn try_connect(
        gateway: &TestGateway,
        header_token: Option<&str>,
    ) -> Result<Self, u16> {
        let authorization = header_token.map(|token| format!("Bearer {token}"));
        Self::upgrade(
            &gateway.url("/graphql"),
            &[("authorization", authorization.as_deref())],
        )
        .await
    }

    /// Upgrades `url` (the gateway's http URL) with the subprotocol, sending each of `headers`
    /// that has a value; the status of a refused upgrade.
    async fn upgrade(url: &str, headers: &[(&'static str, Option<&str>)]) -> Result<Self, u16> {
        let mut request = url.replacen("http", "ws", 1).into_client_request().unwrap();
        let sent = request.headers_mut();
        sent.insert(
            "sec-websocket-protocol",
            HeaderValue::from_static("graphql-transport-ws"),
        );
        for (name, value) in headers {
            if let Some(value) = value {
                sent.insert(*name, HeaderValue::from_str(value).unwrap());
            }
        }
        match tokio_tungstenite::connect_async(request).await {
            Ok((socket, _)) => Ok(Self { socket }),
            Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
                Err(response.status().as_u16())
            }
            Err(error) => panic!("the upgrade failed: {error}"),
        }
    }

    /// Connects and initialises with `token` in the `connection_init` payload; expects the ack.
    pub(crate) async fn ready(gateway: &TestGateway, token: &str) -> Self {
        Self::connect(gateway, None).await.init(token).await
    }

    /// [`Ws::ready`] at `url` (the gateway's `/graphql`), the upgrade sent as request `id`.
    pub(crate) async fn ready_at(url: &str, id: &str, token: &str) -> Self {
        let socket = Self::upgrade(url, &[("x-request-id", Some(id))])
            .await
            .unwrap_or_else(|status| panic!("the upgrade was refused: {status}"));
        socket.init(token).await
    }

    async fn init(mut self, token: &str) -> Self {
        self.send(json!({ "type": "connection_init", "payload": { "Authorization": format!("Bearer {token}") } }))
            .await;
        self.expect("connection_ack").await;
        self
    }

    /// Sends `message` as a text frame.
    pub(crate) async fn send(&mut self, message: Value) {
        self.socket
            .send(Message::text(message.to_string()))
            .await
            .expect("the socket is open");
    }

    /// Subscribes `id` to `query` with `variables`.
    pub(crate) async fn subscribe(&mut self, id: &str, query: &str, variables: Value) {
        self.send(json!({
            "type": "subscribe",
            "id": id,
            "payload": { "query": query, "variables": variables },
        }))
        .await;
    }

    /// The next message or the close, answering the gateway's pings.
    pub(crate) async fn receive(&mut self) -> Received {
        loop {
            let message = tokio::time::timeout(PATIENCE, self.socket.next())
                .await
                .expect("a message arrives in time");
            match message {
                Some(Ok(Message::Text(text))) => {
                    let message: Value = serde_json::from_str(&text).unwrap();
                    if message["type"] == "ping" {
                        self.send(json!({ "type": "pong" })).await;
                        continue;
                    }
                    return Received::Message(message);
                }
                Some(Ok(Message::Close(frame))) => {
                    return frame.map_or(Received::Closed(1005, String::new()), |frame| {
                        Received::Closed(frame.code.into(), frame.reason.to_string())
                    });
                }
                Some(Ok(_)) => {}
                Some(Err(_)) | None => return Received::Closed(1006, String::new()),
            }
        }
    }

    /// The next message, whatever its kind.
    pub(crate) async fn message(&mut self) -> Value {
        match self.receive().await {
            Received::Message(message) => message,
            closed => panic!("the socket closed: {closed:?}"),
        }
    }

    /// The next message, which must be of `kind`.
    pub(crate) async fn expect(&mut self, kind: &str) -> Value {
        match self.receive().await {
            Received::Message(message) if message["type"] == kind => message,
            other => panic!("expected {kind}, got {other:?}"),
        }
    }

    /// The next message, which must be `next` for `id`: its answer.
    pub(crate) async fn answer(&mut self, id: &str) -> Value {
        let message = self.expect("next").await;
        assert_eq!(message["id"], id);
        message["payload"].clone()
    }

    /// The close code and reason the socket ends with next.
    pub(crate) async fn closed(&mut self) -> (u16, String) {
        match self.receive().await {
            Received::Closed(code, reason) => (code, reason),
            other => panic!("expected the close, got {other:?}"),
        }
    }
}
