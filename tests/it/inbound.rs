//! Hostile clients: half a request head, a trickled body, more connections than allowed; and
//! `/metrics` on a listener of its own.

use std::time::{Duration, Instant};

use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};

use crate::common::{Options, eventually, spawn_with, token};

/// Reads until the gateway closes the connection; how long that took.
async fn time_to_close(stream: &mut TcpStream, within: Duration) -> Duration {
    let started = Instant::now();
    let mut buffer = [0u8; 4096];
    loop {
        match tokio::time::timeout(within, stream.read(&mut buffer)).await {
            Ok(Ok(0) | Err(_)) => return started.elapsed(),
            Ok(Ok(_)) => {}
            Err(_) => panic!("the connection stayed open for {within:?}"),
        }
    }
}

#[tokio::test]
async fn half_a_request_head_and_an_idle_connection_are_closed_after_the_header_timeout() {
    let gateway = spawn_with(Options::default().set("GATEWAY_LIMITS_HEADER_TIMEOUT_MS", 300)).await;
    let mut slow = TcpStream::connect(gateway.addr).await.unwrap();
    slow.write_all(b"GET /healthz HTTP/1.1\r\nHost: gateway\r\n")
        .await
        .unwrap();
    let closed = time_to_close(&mut slow, Duration::from_secs(5)).await;
    assert!(closed >= Duration::from_millis(250), "{closed:?}");

    // A keep-alive connection that answered one request and then sits idle.
    let mut idle = TcpStream::connect(gateway.addr).await.unwrap();
    idle.write_all(b"GET /healthz HTTP/1.1\r\nHost: gateway\r\n\r\n")
        .await
        .unwrap();
    time_to_close(&mut idle, Duration::from_secs(5)).await;
    assert_eq!(gateway.get("/healthz").await.status(), 200);
}

/// An HTTP/2 client that answers the gateway's pings but sends nothing more still has its
/// connection closed once it has been idle for the header timeout: idle HTTP/2 connections
/// cannot hold the connection slots for ever.
#[tokio::test]
async fn an_idle_http2_connection_is_closed_after_the_header_timeout() {
    let gateway = spawn_with(Options::default().set("GATEWAY_LIMITS_HEADER_TIMEOUT_MS", 300)).await;
    let stream = TcpStream::connect(gateway.addr).await.unwrap();
    let (mut sender, connection) = hyper::client::conn::http2::handshake(
        hyper_util::rt::TokioExecutor::new(),
        hyper_util::rt::TokioIo::new(stream),
    )
    .await
    .expect("an HTTP/2 handshake with prior knowledge");
    let started = Instant::now();
    let connection = tokio::spawn(connection);
    let request = axum::http::Request::get(format!("http://{}/healthz", gateway.addr))
        .body(String::new())
        .unwrap();
    let answer = sender.send_request(request).await.unwrap();
    assert_eq!(answer.status(), 200);
    // The client side ends when the gateway closes the connection.
    tokio::time::timeout(Duration::from_secs(5), connection)
        .await
        .expect("the idle connection was closed")
        .unwrap()
        .expect("closed gracefully");
    assert!(
        started.elapsed() >= Duration::from_millis(250),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn a_body_that_trickles_in_past_the_deadline_is_408() {
    let gateway =
        spawn_with(Options::default().set("GATEWAY_LIMITS_REQUEST_TIMEOUT_MS", 300)).await;
    let mut stream = TcpStream::connect(gateway.addr).await.unwrap();
    let head = format!(
        "POST /graphql HTTP/1.1\r\nHost: gateway\r\nAuthorization: Bearer {}\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{{\"query\"",
        token()
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut answer)).await;
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(
        answer.contains("GATEWAY_LIMITS_REQUEST_TIMEOUT_MS"),
        "{answer}"
    );
}

#[tokio::test]
async fn connections_past_the_limit_wait_until_one_closes() {
    // Not waiting for readiness leaves no pooled client connection holding a slot.
    let gateway = spawn_with(
        Options::default()
            .set("GATEWAY_LIMITS_CONNECTIONS", 2)
            .set("GATEWAY_METRICS_LISTEN", "127.0.0.1:0")
            .without_waiting_for_ready(),
    )
    .await;
    let first = TcpStream::connect(gateway.addr).await.unwrap();
    let second = TcpStream::connect(gateway.addr).await.unwrap();
    eventually("both connections are accepted", async || {
        gateway.metric("gateway_http_connections_open").await >= 2.0
    })
    .await;
    let mut third = TcpStream::connect(gateway.addr).await.unwrap();
    third
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: gateway\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut answer = Vec::new();
    let waited =
        tokio::time::timeout(Duration::from_millis(500), third.read_to_end(&mut answer)).await;
    assert!(waited.is_err(), "answered past the limit: {answer:?}");
    assert!(
        gateway
            .metric("gateway_http_connection_limit_reached_total")
            .await
            >= 1.0
    );
    drop(first);
    drop(second);
    tokio::time::timeout(Duration::from_secs(5), third.read_to_end(&mut answer))
        .await
        .expect("answered once a slot was free")
        .unwrap();
    assert!(String::from_utf8_lossy(&answer).starts_with("HTTP/1.1 200"));
}

#[tokio::test]
async fn metrics_can_live_on_their_own_listener() {
    let gateway = spawn_with(
        Options::default()
            .set("GATEWAY_METRICS_LISTEN", "127.0.0.1:0")
            .set("GATEWAY_LIMITS_HEADER_BYTES", 4_096),
    )
    .await;
    assert_eq!(gateway.get("/metrics").await.status(), 404);
    let apart = gateway.metrics_addr.expect("a metrics address");
    let metrics = reqwest::get(format!("http://{apart}/metrics"))
        .await
        .unwrap();
    assert_eq!(metrics.status(), 200);
    assert!(
        metrics
            .text()
            .await
            .unwrap()
            .contains("gateway_http_connections_open")
    );
    let graphql = reqwest::get(format!("http://{apart}/graphql"))
        .await
        .unwrap();
    assert_eq!(graphql.status(), 404, "only /metrics is served there");
    // The same front as the main listener's: the request id echoed, the header limit kept.
    let client = reqwest::Client::new();
    let echoed = client
        .get(format!("http://{apart}/metrics"))
        .header("x-request-id", "scrape-7")
        .send()
        .await
        .unwrap();
    assert_eq!(echoed.headers()["x-request-id"], "scrape-7");
    let oversized = client
        .get(format!("http://{apart}/metrics"))
        .header("x-padding", "p".repeat(8_192))
        .send()
        .await
        .unwrap();
    assert_eq!(oversized.status(), 431);
}
