//! A request on its way to execution: the parameters a transport read ([`GraphqlRequest`]),
//! parsed ([`Parsed`]), then priced against the limits and ready to run ([`Prepared`]).

use std::{sync::Arc, time::Instant};

use async_graphql::{
    Variables,
    parser::{parse_query, types::ExecutableDocument},
};
use moka::sync::Cache;
use serde_json::{Map, Value};

use super::{QueryLimits, Refusal, chosen_operation, is_mutation, measure};
use crate::cache::CustomerStore;

/// The GraphQL-over-HTTP parameters of one request, each of the right JSON type.
#[derive(Debug, Clone, Default)]
pub struct GraphqlRequest {
    /// The document's text.
    pub query: String,
    /// The operation to run, when the document holds several.
    pub operation_name: Option<String>,
    /// The variables' values.
    pub variables: Map<String, Value>,
    /// `extensions.cost` is `true`: the answer reports the estimated cost.
    pub report_cost: bool,
}

/// Most bytes of parsed documents kept, counted as four times their text.
const DOCUMENT_BYTES: u64 = 16 * 1024 * 1024;

/// Parsed documents by their text, so a query sent again (with other variables, from another
/// caller, with reuse off) is not parsed again. Only documents that parse are kept.
#[derive(Debug, Clone)]
pub struct Documents(Cache<Arc<str>, Arc<ExecutableDocument>>);

impl Default for Documents {
    fn default() -> Self {
        Self(
            Cache::builder()
                .max_capacity(DOCUMENT_BYTES)
                .weigher(|text: &Arc<str>, _: &Arc<ExecutableDocument>| {
                    u32::try_from(text.len().saturating_mul(4) + 256).unwrap_or(u32::MAX)
                })
                .build(),
        )
    }
}

impl Documents {
    /// `query` parsed, from the cache when it was parsed before.
    fn parse(&self, query: &str) -> Option<ExecutableDocument> {
        if let Some(document) = self.0.get(query) {
            return Some(ExecutableDocument::clone(&document));
        }
        let document = parse_query(query).ok()?;
        self.0.insert(query.into(), Arc::new(document.clone()));
        Some(document)
    }
}

/// A request with its document parsed, when it parses (execution then reports why not).
#[derive(Debug)]
pub struct Parsed {
    request: async_graphql::Request,
    document: Option<ExecutableDocument>,
    report_cost: bool,
}

impl Parsed {
    /// Parses the request's document (or finds it in `documents`).
    pub fn new(request: GraphqlRequest, documents: &Documents) -> Self {
        let document = documents.parse(&request.query);
        let mut parsed = async_graphql::Request::new(request.query)
            .variables(Variables::from_json(Value::Object(request.variables)));
        if let Some(name) = request.operation_name {
            parsed = parsed.operation_name(name);
        }
        Self {
            request: parsed,
            document,
            report_cost: request.report_cost,
        }
    }

    /// Whether the operation to run is a mutation (GET may not run one).
    pub fn is_mutation(&self) -> bool {
        self.document
            .as_ref()
            .is_some_and(|document| is_mutation(document, self.request.operation_name.as_deref()))
    }

    /// Checks the document against `limits`, with list sizes from the latest cached snapshot
    /// (waiting for one until `deadline` when only that can tell), and hands execution the
    /// parsed document so it is not parsed again.
    pub async fn prepare(
        self,
        limits: QueryLimits,
        store: &CustomerStore,
        deadline: Instant,
    ) -> Result<Prepared, Refusal> {
        let Self {
            mut request,
            document,
            report_cost,
        } = self;
        let unparsed = document.is_none();
        let mut operation = request.operation_name.clone();
        let mut cost = None;
        if let Some(document) = document {
            if operation.is_none() {
                operation = chosen_operation(&document, None)
                    .and_then(|(name, _)| name)
                    .map(|name| name.to_string());
            }
            let measured = measure(
                &document,
                request.operation_name.as_deref(),
                &request.variables,
                limits,
                store,
                deadline,
            )
            .await?;
            cost = measured
                .filter(|_| report_cost)
                .map(|measured| (measured.cost, limits.complexity));
            request.set_parsed_query(document);
        }
        Ok(Prepared {
            request,
            unparsed,
            operation,
            cost,
        })
    }
}

/// A request that passed the limits, ready to execute.
#[derive(Debug)]
pub struct Prepared {
    pub(super) request: async_graphql::Request,
    /// The document did not parse (its errors are `GRAPHQL_PARSE_FAILED`).
    pub(super) unparsed: bool,
    /// The operation's name, for metrics: the one asked for, or the only operation's.
    pub(super) operation: Option<String>,
    /// The estimated cost and the limit, when the request asked for them.
    pub(super) cost: Option<(u64, usize)>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_document_is_parsed_once_and_one_that_does_not_parse_is_not_kept() {
        let documents = Documents::default();
        let kept = || {
            documents.0.run_pending_tasks();
            documents.0.entry_count()
        };
        let first = documents.parse("{ customers { totalCount } }").unwrap();
        assert_eq!(kept(), 1);
        let again = documents.parse("{ customers { totalCount } }").unwrap();
        assert_eq!(
            format!("{:?}", first.operations),
            format!("{:?}", again.operations)
        );
        assert!(documents.parse("{ customers {").is_none());
        assert_eq!(kept(), 1);
    }
}
