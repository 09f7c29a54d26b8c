//! The benchmark's baseline: a bare axum server answering every `POST /graphql` with the same
//! bytes, read once from a file (the gateway's own answer to the benchmark query). It is the
//! limit of the HTTP stack on the machine: the gateway's figures are read against it.
//!
//! `cargo run --release --example baseline -- ADDR BODY_FILE`

use axum::{Router, body::Bytes, http::header, routing::post};

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let mut args = std::env::args().skip(1);
    let (Some(addr), Some(file)) = (args.next(), args.next()) else {
        eprintln!("usage: baseline ADDR BODY_FILE");
        std::process::exit(2);
    };
    let body: &'static [u8] = std::fs::read(&file)?.leak();
    let app =
        Router::new().route(
            "/graphql",
            // The request body is read, as the gateway reads it, then the fixed answer sent.
            post(move |_request: Bytes| async move {
                ([(header::CONTENT_TYPE, "application/json")], body)
            }),
        );
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    println!(
        "baseline listening on http://{}/graphql",
        listener.local_addr()?
    );
    axum::serve(listener, app).await
}
