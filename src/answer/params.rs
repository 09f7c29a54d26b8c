//! The GraphQL-over-HTTP request parameters (`query`, `operationName`, `variables`,
//! `extensions`, and a persisted document's `documentId` or `extensions.persistedQuery`) from
//! a JSON body or a URL, each checked for the right JSON type.

use serde_json::{Map, Value};

use super::AnswerError;
use crate::{
    graphql::{DocumentRef, GraphqlRequest},
    persisted::{PersistedError, normalised_id},
};

/// The request in a POST's JSON body.
pub(super) fn from_body(
    body: &[u8],
    max_query_bytes: usize,
) -> Result<GraphqlRequest, AnswerError> {
    let params: Value = serde_json::from_slice(body).map_err(|error| {
        AnswerError::BadRequest(format!("the request body is not valid JSON: {error}"))
    })?;
    from_value(params, max_query_bytes)
}

/// The request a JSON value holds: an object with a `query` (or a persisted document's id).
pub(super) fn from_value(
    params: Value,
    max_query_bytes: usize,
) -> Result<GraphqlRequest, AnswerError> {
    match params {
        Value::Object(params) => from_params(params, max_query_bytes),
        Value::Array(_) => Err(AnswerError::BadRequest(
            "a batch (a JSON array) is answered only by a POST, one request object per operation"
                .into(),
        )),
        _ => Err(AnswerError::BadRequest(
            "the request body must be a JSON object with a `query`".into(),
        )),
    }
}

/// The request in a GET's URL, `variables` and `extensions` as JSON within it.
pub(super) fn from_url(
    query_string: &str,
    max_query_bytes: usize,
) -> Result<GraphqlRequest, AnswerError> {
    let mut params = Map::new();
    for (name, value) in url_parameters(query_string)? {
        let value = match name.as_str() {
            "variables" | "extensions" if !value.trim().is_empty() => serde_json::from_str(&value)
                .map_err(|_| {
                    AnswerError::BadRequest(format!(
                        "`{name}` must be a JSON object encoded in the URL"
                    ))
                })?,
            _ => Value::String(value),
        };
        params.insert(name, value);
    }
    from_params(params, max_query_bytes)
}

/// The URL's `name=value` pairs, decoded; refuses bytes that are not UTF-8 once decoded
/// rather than guessing what they meant.
fn url_parameters(query_string: &str) -> Result<Vec<(String, String)>, AnswerError> {
    let decode = |text: &str| {
        let text = text.replace('+', " ");
        percent_encoding::percent_decode_str(&text)
            .decode_utf8()
            .map(|decoded| decoded.into_owned())
            .map_err(|_| {
                AnswerError::BadRequest(
                    "the URL's parameters are not valid UTF-8 once percent-decoded".into(),
                )
            })
    };
    query_string
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            Ok((decode(name)?, decode(value)?))
        })
        .collect()
}

/// The GraphQL request from its parameters, each checked for the right JSON type.
fn from_params(
    mut params: Map<String, Value>,
    max_query_bytes: usize,
) -> Result<GraphqlRequest, AnswerError> {
    let (report_cost, apollo) = match params.remove("extensions") {
        None | Some(Value::Null) => (false, None),
        Some(Value::Object(extensions)) => (
            extensions.get("cost") == Some(&Value::Bool(true)),
            extensions
                .get("persistedQuery")
                .map(apollo_hash)
                .transpose()?,
        ),
        Some(_) => {
            return Err(AnswerError::BadRequest(
                "`extensions` must be an object or null".into(),
            ));
        }
    };
    let document = match params.remove("documentId") {
        None | Some(Value::Null) => apollo.map(|hash| DocumentRef { hash }),
        Some(Value::String(id)) => Some(DocumentRef {
            hash: normalised_id(&id).ok_or(PersistedError::BadDocumentId)?,
        }),
        Some(_) => return Err(PersistedError::BadDocumentId.into()),
    };
    let query = match params.remove("query") {
        Some(Value::String(query)) => query,
        Some(_) => return Err(AnswerError::BadRequest("`query` must be a string".into())),
        None if document.is_some() => String::new(),
        None => {
            return Err(AnswerError::BadRequest(
                "the request has no `query` parameter".into(),
            ));
        }
    };
    if query.len() > max_query_bytes {
        return Err(AnswerError::QueryTooLarge(max_query_bytes));
    }
    let mut request = GraphqlRequest {
        query,
        document,
        report_cost,
        ..GraphqlRequest::default()
    };
    match params.remove("operationName") {
        None | Some(Value::Null) => {}
        Some(Value::String(name)) => request.operation_name = Some(name),
        Some(_) => {
            return Err(AnswerError::BadRequest(
                "`operationName` must be a string or null".into(),
            ));
        }
    }
    match params.remove("variables") {
        None | Some(Value::Null) => {}
        Some(Value::Object(variables)) => request.variables = variables,
        Some(_) => {
            return Err(AnswerError::BadRequest(
                "`variables` must be an object or null".into(),
            ));
        }
    }
    Ok(request)
}

/// The hash of Apollo's `extensions.persistedQuery` (`{"version": 1, "sha256Hash": …}`).
fn apollo_hash(persisted: &Value) -> Result<String, PersistedError> {
    if persisted.get("version").and_then(Value::as_u64) != Some(1) {
        return Err(PersistedError::BadExtension);
    }
    persisted
        .get("sha256Hash")
        .and_then(Value::as_str)
        .filter(|hash| !hash.starts_with("sha256:"))
        .and_then(normalised_id)
        .ok_or(PersistedError::BadExtension)
}
