//! The messages of `graphql-transport-ws`: what a client may send, and what the gateway
//! writes (answers are passed through as the bytes the answer stage made, not re-encoded).

use axum::{
    body::Bytes,
    extract::ws::{CloseFrame, Message},
};
use serde::Deserialize;
use serde_json::Value;

/// A message from the client.
#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub(super) enum Incoming {
    /// The first message: may carry the caller token.
    ConnectionInit {
        #[serde(default)]
        payload: Option<Value>,
    },
    /// Answered with `pong`.
    Ping {
        #[serde(default)]
        #[allow(
            dead_code,
            reason = "read to accept the message; nothing to do with it"
        )]
        payload: Option<Value>,
    },
    /// The answer to the gateway's `ping`.
    Pong {
        #[serde(default)]
        #[allow(
            dead_code,
            reason = "read to accept the message; nothing to do with it"
        )]
        payload: Option<Value>,
    },
    /// Run an operation (a GraphQL-over-HTTP request object) under `id`.
    Subscribe { id: String, payload: Value },
    /// Stop operation `id`.
    Complete { id: String },
}

/// The caller token a `connection_init` payload carries: `Authorization` (any case) holding
/// `Bearer …`.
pub(super) fn authorization(payload: &Value) -> Option<&str> {
    payload
        .as_object()?
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case("authorization"))
        .and_then(|(_, value)| value.as_str())
}

/// A close frame with the protocol's `code` and `reason`.
pub(super) fn close(code: u16, reason: &str) -> Message {
    Message::Close(Some(CloseFrame {
        code,
        reason: reason.into(),
    }))
}

/// `next` for operation `id`, carrying `answer` (a GraphQL answer, JSON).
pub(super) fn next_message(id: &str, answer: &Bytes) -> Message {
    let mut text = String::with_capacity(answer.len() + id.len() + 40);
    text.push_str(r#"{"type":"next","id":"#);
    text.push_str(&quoted(id));
    text.push_str(r#","payload":"#);
    text.push_str(std::str::from_utf8(answer).unwrap_or("{}"));
    text.push('}');
    Message::Text(text.into())
}

/// `error` for operation `id`, with the errors of `refusal` (a GraphQL answer with
/// `errors`).
pub(super) fn error_message(id: &str, refusal: &str) -> Message {
    let errors = serde_json::from_str::<Value>(refusal)
        .ok()
        .and_then(|mut answer| answer.get_mut("errors").map(Value::take))
        .unwrap_or_else(|| Value::Array(Vec::new()));
    let message = serde_json::json!({ "type": "error", "id": id, "payload": errors });
    Message::Text(message.to_string().into())
}

/// `complete` for operation `id`.
pub(super) fn complete_message(id: &str) -> Message {
    Message::Text(format!(r#"{{"type":"complete","id":{}}}"#, quoted(id)).into())
}

/// `text` as a JSON string.
fn quoted(text: &str) -> String {
    serde_json::to_string(text).unwrap_or_else(|_| "\"\"".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(message: Message) -> Value {
        match message {
            Message::Text(text) => serde_json::from_str(&text).unwrap(),
            other => panic!("not text: {other:?}"),
        }
    }

    #[test]
    fn messages_are_the_protocols() {
        let next = text(next_message(
            "a\"1",
            &Bytes::from_static(br#"{"data":{"x":1}}"#),
        ));
        assert_eq!(next["type"], "next");
        assert_eq!(next["id"], "a\"1");
        assert_eq!(next["payload"]["data"]["x"], 1);
        let error = text(error_message("b", r#"{"errors":[{"message":"no"}]}"#));
        assert_eq!(error["payload"][0]["message"], "no");
        assert_eq!(text(complete_message("c"))["type"], "complete");
        let init: Incoming = serde_json::from_str(
            r#"{"type":"connection_init","payload":{"authorization":"Bearer t"}}"#,
        )
        .unwrap();
        let Incoming::ConnectionInit {
            payload: Some(payload),
        } = init
        else {
            panic!("an init");
        };
        assert_eq!(authorization(&payload), Some("Bearer t"));
        assert!(serde_json::from_str::<Incoming>(r#"{"type":"subscribe","id":"1"}"#).is_err());
    }
}
