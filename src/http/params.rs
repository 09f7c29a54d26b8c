//! The GraphQL-over-HTTP request parameters (`query`, `operationName`, `variables`,
//! `extensions`) from a JSON body or a URL, each checked for the right JSON type.

use async_graphql::{
    Variables,
    parser::{parse_query, types::ExecutableDocument},
};
use serde_json::{Map, Value};

use super::error::HttpError;

/// The URL's `name=value` pairs, decoded; refuses bytes that are not UTF-8 once decoded
/// rather than guessing what they meant.
pub(super) fn url_parameters(query_string: &str) -> Result<Vec<(String, String)>, HttpError> {
    let decode = |text: &str| {
        let text = text.replace('+', " ");
        percent_encoding::percent_decode_str(&text)
            .decode_utf8()
            .map(|decoded| decoded.into_owned())
            .map_err(|_| {
                HttpError::BadRequest(
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

/// A GraphQL request read from its parameters.
pub(super) struct Built {
    pub(super) request: async_graphql::Request,
    /// The document, when it parses (execution reports why it does not).
    pub(super) document: Option<ExecutableDocument>,
    /// `extensions.cost` is `true`: the answer reports the estimated cost.
    pub(super) report_cost: bool,
}

/// The GraphQL request from its parameters, each checked for the right JSON type, and its
/// document when it parses.
pub(super) fn build_request(
    mut params: Map<String, Value>,
    max_query_bytes: usize,
) -> Result<Built, HttpError> {
    let query = match params.remove("query") {
        Some(Value::String(query)) => query,
        Some(_) => return Err(HttpError::BadRequest("`query` must be a string".into())),
        None => {
            return Err(HttpError::BadRequest(
                "the request has no `query` parameter".into(),
            ));
        }
    };
    if query.len() > max_query_bytes {
        return Err(HttpError::QueryTooLarge(max_query_bytes));
    }
    let document = parse_query(&query).ok();
    let mut request = async_graphql::Request::new(query);
    match params.remove("operationName") {
        None | Some(Value::Null) => {}
        Some(Value::String(name)) => request = request.operation_name(name),
        Some(_) => {
            return Err(HttpError::BadRequest(
                "`operationName` must be a string or null".into(),
            ));
        }
    }
    match params.remove("variables") {
        None | Some(Value::Null) => {}
        Some(variables @ Value::Object(_)) => {
            request = request.variables(Variables::from_json(variables));
        }
        Some(_) => {
            return Err(HttpError::BadRequest(
                "`variables` must be an object or null".into(),
            ));
        }
    }
    let report_cost = match params.remove("extensions") {
        None | Some(Value::Null) => false,
        Some(Value::Object(extensions)) => extensions.get("cost") == Some(&Value::Bool(true)),
        Some(_) => {
            return Err(HttpError::BadRequest(
                "`extensions` must be an object or null".into(),
            ));
        }
    };
    Ok(Built {
        request,
        document,
        report_cost,
    })
}
