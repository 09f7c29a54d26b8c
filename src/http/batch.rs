//! A batched `POST /graphql` (a JSON array of requests): each operation takes one request from
//! the caller's rate limit (the first was taken with the token), the answer stage answers them
//! ([`crate::answer`]'s batch), and the response is a JSON array of their answers in order,
//! `200`, each answer as it would be alone (a refused operation's answer holds its error). A
//! batch refused as a whole (too many operations, empty, its upstream requests together over the
//! limit) is answered as a single request's refusal would be.

use axum::{
    body::Bytes,
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};

use super::{
    AppState,
    error::HttpError,
    extract::{Refused, rate_key, take_rate},
    media::ResponseMedia,
    request_id::RequestId,
};
use crate::{
    answer::{AnswerError, Reply},
    auth::Caller,
};

/// Whether a POST body is a batch: a JSON array.
pub(super) fn is_batch(body: &[u8]) -> bool {
    body.iter()
        .find(|byte| !byte.is_ascii_whitespace())
        .is_some_and(|first| *first == b'[')
}

/// Answers the batch in `body` for `caller`.
pub(super) async fn post(
    state: &AppState,
    caller: &Caller,
    headers: &HeaderMap,
    body: &Bytes,
    media: ResponseMedia,
    id: RequestId,
) -> Response {
    let operations = match state.answer.batch_operations(body) {
        Ok(operations) => operations,
        Err(error) => return refused(state, error, media, id),
    };
    let authorization = headers
        .get(header::AUTHORIZATION)
        .map_or(&[][..], |value| value.as_bytes());
    let key = rate_key(caller.subject.as_deref(), authorization);
    let mut admitted = Vec::with_capacity(operations.len());
    for (index, operation) in operations.into_iter().enumerate() {
        // The first operation's request was taken when the token was checked.
        let allowed = match index {
            0 => Ok(()),
            _ => take_rate(state, &key).await,
        };
        admitted.push(match allowed {
            Ok(()) => Ok(operation),
            Err(HttpError::RateLimited(wait)) => Err(AnswerError::RateLimited(wait)),
            Err(_) => Err(AnswerError::Internal),
        });
    }
    let answers = match state
        .answer
        .batch(&caller.access, admitted, id.as_str())
        .await
    {
        Ok(answers) => answers,
        Err(error) => return refused(state, error, media, id),
    };
    let mut body = Vec::from(&b"["[..]);
    for (index, answer) in answers.into_iter().enumerate() {
        if index > 0 {
            body.push(b',');
        }
        match answer {
            Ok(Reply::Answer { kept, .. }) => body.extend_from_slice(&kept.answer.body),
            Ok(Reply::NotModified(_)) => body.extend_from_slice(b"null"),
            Err(error) => {
                let error = HttpError::answering(error, id.clone());
                state.metrics.refusal(error.code());
                body.extend_from_slice(error.body().as_bytes());
            }
        }
    }
    body.push(b']');
    (
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, media.content_type()),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
        ],
        body,
    )
        .into_response()
}

/// The refusal of the whole batch.
fn refused(state: &AppState, error: AnswerError, media: ResponseMedia, id: RequestId) -> Response {
    Refused::new(state, HttpError::answering(error, id), media).into_response()
}
