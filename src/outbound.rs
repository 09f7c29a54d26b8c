//! What every outbound HTTP client of the gateway shares (the upstream, the identity service,
//! the JWKS endpoint): no redirect is ever followed, and answers are read with a size cap
//! while they stream in.
//!
//! A followed redirect would carry the request (for a 307/308, its body: the client secret)
//! to a host nobody configured; an uncapped read lets a hostile or broken peer fill memory.

use reqwest::{Response, StatusCode};

/// The largest token or JWKS answer read: real ones are a few kilobytes.
pub(crate) const MAX_SMALL_ANSWER_BYTES: usize = 1024 * 1024;

/// The most reserved for a body before it arrives; it grows as the bytes come in.
const INITIAL_CAPACITY: usize = 1024 * 1024;

/// A client that follows no redirect, with the gateway's user agent.
pub(crate) fn client() -> reqwest::ClientBuilder {
    reqwest::Client::builder()
        .user_agent(concat!("elements-gateway/", env!("CARGO_PKG_VERSION")))
        .redirect(reqwest::redirect::Policy::none())
}

/// Why an answer's body could not be had.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ReadError {
    /// The body is longer than the cap (said by `Content-Length` or found while reading).
    #[error("the answer is larger than {0} bytes")]
    TooLarge(usize),
    /// The connection failed while the body streamed in.
    #[error("the answer could not be read")]
    Transport(#[source] reqwest::Error),
}

/// Reads the body, refusing one longer than `cap` bytes before more than `cap` are held.
pub(crate) async fn read_capped(mut response: Response, cap: usize) -> Result<Vec<u8>, ReadError> {
    if response
        .content_length()
        .is_some_and(|length| length > cap as u64)
    {
        return Err(ReadError::TooLarge(cap));
    }
    // What `Content-Length` promises is not reserved past what arrives: a peer could claim a
    // body just under the cap and send none of it.
    let mut body = Vec::with_capacity(
        response
            .content_length()
            .map_or(0, |length| length as usize)
            .min(cap)
            .min(INITIAL_CAPACITY),
    );
    while let Some(chunk) = response.chunk().await.map_err(ReadError::Transport)? {
        if body.len() + chunk.len() > cap {
            return Err(ReadError::TooLarge(cap));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// A redirect answer, described for an error that names the setting whose URL gave it.
pub(crate) fn redirect_refused(status: StatusCode, setting: &str) -> Option<String> {
    status.is_redirection().then(|| {
        format!(
            "answered with a redirect (HTTP {}), which the gateway does not follow: set {setting} to the final URL",
            status.as_u16()
        )
    })
}
