//! GraphQL over Server-Sent Events, the `graphql-sse` protocol's distinct connections mode: a
//! POST to `/graphql` with `Accept: text/event-stream` and a GraphQL-over-HTTP JSON body.
//!
//! The caller's token is checked first (401 or 403 as on any POST), then the body is read as a
//! POST's is. A request the gateway cannot take at all (a malformed body, too many
//! subscriptions, a rate limit) is refused with its HTTP status; anything GraphQL says about
//! the operation (it does not validate, it breaks a limit, it is not in the safelist) arrives
//! as a `next` event holding the errors, then `complete`, as the protocol asks. A subscription
//! sends a `next` event with each answer, and `complete` when the stream ends (the token
//! expired, after a last answer saying so; or the gateway is shutting down); any other
//! operation sends its one answer and `complete`. A comment line every [`KEEP_ALIVE`] keeps
//! proxies from closing a quiet stream.

use std::{convert::Infallible, time::Duration};

use axum::{
    body::Bytes,
    extract::{FromRequestParts, Request},
    http::header,
    response::{
        IntoResponse, Response,
        sse::{Event, KeepAlive, Sse},
    },
};
use futures::{Stream, stream};

use super::{
    AppState,
    error::HttpError,
    extract::{Authed, Refused, rate_key, read_json},
    media::ResponseMedia,
    request_id::RequestId,
    streams::StreamLog,
};
use crate::answer::{AnswerError, LiveAnswers, Next, Opened, StreamCaller};

/// How often a quiet stream sends a comment.
const KEEP_ALIVE: Duration = Duration::from_secs(15);

/// `POST /graphql` asking for `text/event-stream`.
pub(super) async fn post(state: AppState, id: RequestId, request: Request) -> Response {
    let (mut parts, body) = request.into_parts();
    let Authed(caller) = match Authed::from_request_parts(&mut parts, &state).await {
        Ok(authed) => authed,
        Err(refused) => return refused.into_response(),
    };
    let text = match read_json(&state, &parts.headers, body).await {
        Ok(text) => text,
        Err(error) => return Refused::new(&state, error, ResponseMedia::Json).into_response(),
    };
    let authorization = parts.headers.get(header::AUTHORIZATION);
    let key = rate_key(
        caller.subject.as_deref(),
        authorization.map_or(&[][..], |value| value.as_bytes()),
    );
    let stream_caller = StreamCaller {
        key: &key,
        access: &caller.access,
        expires_at: caller.expires_at,
    };
    let opened = state.answer.open(stream_caller, &text, id.as_str()).await;
    match opened {
        Ok(Opened::Once(answer)) => events(once(answer)),
        Ok(Opened::Live(answers)) => {
            let log = StreamLog::open(
                "sse",
                answers.operation(),
                &id,
                &state.metrics,
                state.log_requests,
            );
            events(live(answers, log))
        }
        Err(error) if is_graphql_error(&error) => {
            let error = HttpError::answering(error, id);
            events(once(Bytes::from(error.body())))
        }
        Err(error) => {
            let error = HttpError::answering(error, id);
            Refused::new(&state, error, ResponseMedia::Json).into_response()
        }
    }
}

/// Whether the protocol asks for `error` as a `next` event: GraphQL's verdicts on the
/// operation, as opposed to refusals of the request itself.
fn is_graphql_error(error: &AnswerError) -> bool {
    matches!(error, AnswerError::Refused(_) | AnswerError::Persisted(_))
}

/// The event-stream response sending `events`.
fn events(events: impl Stream<Item = Result<Event, Infallible>> + Send + 'static) -> Response {
    Sse::new(events)
        .keep_alive(KeepAlive::new().interval(KEEP_ALIVE))
        .into_response()
}

/// A `next` event with `answer`.
fn next_event(answer: &Bytes) -> Result<Event, Infallible> {
    Ok(Event::default()
        .event("next")
        .data(std::str::from_utf8(answer).unwrap_or_default()))
}

/// The `complete` event.
fn complete_event() -> Result<Event, Infallible> {
    Ok(Event::default().event("complete"))
}

/// One answer, then `complete`.
fn once(answer: Bytes) -> impl Stream<Item = Result<Event, Infallible>> {
    stream::iter([next_event(&answer), complete_event()])
}

/// Where a subscription's stream is.
enum State {
    Open(Box<(LiveAnswers, StreamLog)>),
    /// The last answer is sent; `complete` follows.
    Ending,
    Done,
}

/// A subscription's answers as `next` events, until it ends with `complete`.
fn live(answers: LiveAnswers, log: StreamLog) -> impl Stream<Item = Result<Event, Infallible>> {
    stream::unfold(State::Open(Box::new((answers, log))), |state| async move {
        match state {
            State::Open(mut open) => match open.0.next().await {
                Next::Answer(answer) => {
                    open.1.sent();
                    Some((next_event(&answer), State::Open(open)))
                }
                Next::Last(answer) => {
                    open.1.sent();
                    Some((next_event(&answer), State::Ending))
                }
                Next::End => Some((complete_event(), State::Done)),
            },
            State::Ending => Some((complete_event(), State::Done)),
            State::Done => None,
        }
    })
}
