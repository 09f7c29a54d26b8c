//! Subscriptions as live answers run them. A subscription is validated against the schema's
//! `Subscription` type, then its operation is run as a query (its *twin*: the same document
//! with the operation's type changed, so the same executors, limits, codes and `stale`
//! extension answer it) whenever its data may have changed. It is priced as the query would be
//! with nothing cached: it reads every piece again each TTL, whatever the cache holds now.

use std::{sync::Arc, time::Instant};

use async_graphql::{
    Variables,
    parser::types::{DocumentOperations, OperationType},
};
use axum::body::Bytes;
use futures::StreamExt;

use super::{
    GatewaySchema, Parsed, Prepared, QueryLimits, Refusal, chosen_operation,
    error::classify,
    execute::RequestErrors,
    is_subscription,
    limits::{Pricing, Walkable},
    measure,
    request::Document,
};
use crate::{auth::CustomerAccess, cache::CustomerStore};

/// A subscription ready to be answered again and again.
#[derive(Debug, Clone)]
pub(crate) struct LivePlan {
    /// The document with the subscription run as a query.
    twin: Arc<Document>,
    variables: Variables,
    operation_name: Option<String>,
    /// The operation's name, for metrics and the access log.
    operation: Option<String>,
}

impl LivePlan {
    /// The twin, ready to execute once more.
    pub(crate) fn prepared(&self) -> Prepared {
        let mut request = async_graphql::Request::new("").variables(self.variables.clone());
        if let Some(name) = &self.operation_name {
            request = request.operation_name(name.clone());
        }
        Prepared {
            request,
            document: Some(Arc::clone(&self.twin)),
            unparsed: false,
            operation: self.operation.clone(),
            cost: None,
            upstream: 0,
        }
    }

    /// The operation's name.
    pub(crate) fn operation(&self) -> Option<&str> {
        self.operation.as_deref()
    }
}

/// What a request sent over a stream comes to.
#[derive(Debug)]
pub(crate) enum Opening {
    /// A valid subscription within the limits.
    Live(LivePlan),
    /// Any other operation (or a document that does not parse): answered once, as a query is.
    Once(Box<Parsed>),
    /// A subscription that fails validation: the request errors' answer.
    Invalid(Bytes),
}

/// Where the pieces of one opening come from.
#[derive(Clone, Copy)]
pub(crate) struct Opener<'a> {
    /// The schema, which validates the subscription.
    pub schema: &'a GatewaySchema,
    /// What a document may cost.
    pub limits: QueryLimits,
    /// The store the price is read from.
    pub store: &'a CustomerStore,
    /// The caller's customers.
    pub access: &'a CustomerAccess,
    /// Until when pricing may wait for the listing.
    pub deadline: Instant,
}

impl Parsed {
    /// Opens the request as a live answer when it runs a subscription: validated, its twin
    /// built and priced cold. Other operations are left to be answered once.
    pub(crate) async fn open_live(self, opener: Opener<'_>) -> Result<Opening, Refusal> {
        let operation_name = self.request.operation_name.clone();
        let Some(document) = self
            .document
            .as_ref()
            .filter(|document| is_subscription(&document.parsed, operation_name.as_deref()))
            .map(Arc::clone)
        else {
            return Ok(Opening::Once(Box::new(self)));
        };
        // Priced first, as a query is: the walk refuses a fragment bomb before validation
        // would expand it.
        let variables = self.request.variables.clone();
        let pricing = Pricing {
            access: opener.access,
            cold: true,
        };
        measure(
            // Priced once, when the subscription opens: no walk to keep.
            Walkable {
                parsed: &document.parsed,
                kept: None,
            },
            operation_name.as_deref(),
            &variables,
            opener.limits,
            opener.store,
            pricing,
            opener.deadline,
        )
        .await?;
        if let Err(errors) = validate(opener.schema, &self, &document).await {
            return Ok(Opening::Invalid(errors));
        }
        let mut twin = document.parsed.clone();
        as_query(&mut twin.operations, operation_name.as_deref());
        let operation = chosen_operation(&twin, operation_name.as_deref())
            .and_then(|(name, _)| name)
            .map(|name| name.to_string());
        Ok(Opening::Live(LivePlan {
            // A subscription's own copy, re-run only when the data change: no plan kept.
            twin: Arc::new(Document::new(twin, None)),
            variables,
            operation_name,
            operation,
        }))
    }
}

/// Makes the operation a request named `name` runs (the only one, without a name) a query.
fn as_query(operations: &mut DocumentOperations, name: Option<&str>) {
    match operations {
        DocumentOperations::Single(operation) => operation.node.ty = OperationType::Query,
        DocumentOperations::Multiple(operations) => {
            let chosen = match name {
                Some(name) => operations.get_mut(name),
                None if operations.len() == 1 => operations.values_mut().next(),
                None => None,
            };
            if let Some(operation) = chosen {
                operation.node.ty = OperationType::Query;
            }
        }
    }
}

/// Validates the subscription `parsed` runs: async-graphql's rules for a subscription
/// (one root field, the `Subscription` type's fields and arguments, the variables), by
/// running it, which yields nothing when it is valid. The errors' answer otherwise.
async fn validate(
    schema: &GatewaySchema,
    parsed: &Parsed,
    document: &Document,
) -> Result<(), Bytes> {
    let mut request = async_graphql::Request::new("").variables(parsed.request.variables.clone());
    if let Some(name) = &parsed.request.operation_name {
        request = request.operation_name(name.clone());
    }
    request.set_parsed_query(document.parsed.clone());
    let Some(mut response) = schema.execute_stream(request).next().await else {
        return Ok(());
    };
    for error in &mut response.errors {
        classify(error, true, false, "");
    }
    let body = serde_json::to_vec(&RequestErrors {
        errors: &response.errors,
    })
    .unwrap_or_else(|_| br#"{"errors":[{"message":"the subscription is not valid"}]}"#.to_vec());
    Err(Bytes::from(body))
}
