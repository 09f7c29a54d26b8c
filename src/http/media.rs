//! Content negotiation for `/graphql`, as the GraphQL-over-HTTP specification sets it out.

use axum::http::{HeaderMap, HeaderValue, header};

/// Why a request's media types cannot be served; the HTTP edge answers 406 or 415.
#[derive(Debug, thiserror::Error)]
pub(crate) enum MediaError {
    /// `Accept` names no type the gateway writes (406).
    #[error("none of the types in Accept can be answered")]
    NotAcceptable,
    /// The body is not declared as UTF-8 JSON (415); the text says what was sent.
    #[error("{0}")]
    Unsupported(String),
}

/// The type a GraphQL answer is written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum ResponseMedia {
    /// `application/graphql-response+json`: request errors are answered with 400.
    GraphqlResponse,
    /// `application/json` (legacy): well-formed requests are answered with 200.
    Json,
}

impl ResponseMedia {
    /// The `Content-Type` header value, always UTF-8.
    pub(crate) fn content_type(self) -> HeaderValue {
        HeaderValue::from_static(match self {
            Self::GraphqlResponse => "application/graphql-response+json; charset=utf-8",
            Self::Json => "application/json; charset=utf-8",
        })
    }

    /// The first type in `Accept` the gateway can write (`*/*` and `application/*` mean
    /// `application/json`); no header means `application/json`.
    pub(crate) fn negotiate(headers: &HeaderMap) -> Result<Self, MediaError> {
        let Some(accept) = headers.get(header::ACCEPT) else {
            return Ok(Self::Json);
        };
        let accept = accept.to_str().map_err(|_| MediaError::NotAcceptable)?;
        if accept.trim().is_empty() {
            return Ok(Self::Json);
        }
        accept
            .split(',')
            .filter_map(|range| {
                let mut parts = range.split(';');
                let essence = parts.next()?.trim().to_ascii_lowercase();
                let refused = parts.any(|param| {
                    param
                        .trim()
                        .strip_prefix("q=")
                        .and_then(|q| q.trim().parse::<f32>().ok())
                        .is_some_and(|q| q <= 0.0)
                });
                if refused {
                    return None;
                }
                match essence.as_str() {
                    "application/graphql-response+json" => Some(Self::GraphqlResponse),
                    "application/json" | "application/*" | "*/*" => Some(Self::Json),
                    _ => None,
                }
            })
            .next()
            .ok_or(MediaError::NotAcceptable)
    }
}

/// Whether a browser is asking for a page (GraphiQL) rather than a GraphQL answer.
pub(super) fn wants_html(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|accept| accept.to_str().ok())
        .is_some_and(|accept| {
            accept
                .split(',')
                .any(|range| range.trim().to_ascii_lowercase().starts_with("text/html"))
        })
}

/// Whether the request asks for an event stream (GraphQL over SSE).
pub(super) fn wants_event_stream(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|accept| accept.to_str().ok())
        .is_some_and(|accept| {
            accept.split(',').any(|range| {
                range
                    .trim()
                    .to_ascii_lowercase()
                    .starts_with("text/event-stream")
            })
        })
}

/// Refuses a POST whose body is not declared as UTF-8 JSON.
pub(super) fn require_json_body(headers: &HeaderMap) -> Result<(), MediaError> {
    let Some(content_type) = headers.get(header::CONTENT_TYPE) else {
        return Err(MediaError::Unsupported(
            "the request needs `Content-Type: application/json`".into(),
        ));
    };
    let content_type = content_type
        .to_str()
        .unwrap_or_default()
        .to_ascii_lowercase();
    let mut parts = content_type.split(';');
    let essence = parts.next().unwrap_or_default().trim();
    if !matches!(
        essence,
        "application/json" | "application/graphql-response+json"
    ) {
        return Err(MediaError::Unsupported(format!(
            "content type `{essence}` is not accepted: send `application/json`"
        )));
    }
    for param in parts {
        if let Some(charset) = param.trim().strip_prefix("charset=") {
            let charset = charset.trim_matches('"');
            if !charset.eq_ignore_ascii_case("utf-8") {
                return Err(MediaError::Unsupported(format!(
                    "charset `{charset}` is not accepted: send UTF-8"
                )));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn accept(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(header::ACCEPT, value.parse().unwrap());
        headers
    }

    #[test]
    fn negotiation_follows_the_accept_header() {
        use ResponseMedia::*;
        assert_eq!(ResponseMedia::negotiate(&HeaderMap::new()).unwrap(), Json);
        assert_eq!(ResponseMedia::negotiate(&accept("*/*")).unwrap(), Json);
        assert_eq!(
            ResponseMedia::negotiate(&accept(
                "application/graphql-response+json, application/json;q=0.9"
            ))
            .unwrap(),
            GraphqlResponse
        );
        assert_eq!(
            ResponseMedia::negotiate(&accept(
                "application/graphql-response+json;q=0, application/json"
            ))
            .unwrap(),
            Json
        );
        assert!(ResponseMedia::negotiate(&accept("text/xml")).is_err());
    }

    #[test]
    fn only_json_bodies_in_utf8_are_accepted() {
        let with = |value: &str| {
            let mut headers = HeaderMap::new();
            headers.insert(header::CONTENT_TYPE, value.parse().unwrap());
            require_json_body(&headers)
        };
        assert!(with("application/json").is_ok());
        assert!(with("application/json; charset=UTF-8").is_ok());
        assert!(with("application/json; charset=latin1").is_err());
        assert!(with("text/plain").is_err());
        assert!(with("application/x-www-form-urlencoded").is_err());
        assert!(with("multipart/form-data; boundary=x").is_err());
        assert!(require_json_body(&HeaderMap::new()).is_err());
    }
}
