//! A request on its way to execution: the parameters a transport read ([`GraphqlRequest`]),
//! parsed ([`Parsed`]), then priced against the limits and ready to run ([`Prepared`]).

use std::time::Instant;

use async_graphql::{
    Variables,
    parser::{parse_query, types::ExecutableDocument},
};
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

/// A request with its document parsed, when it parses (execution then reports why not).
#[derive(Debug)]
pub struct Parsed {
    request: async_graphql::Request,
    document: Option<ExecutableDocument>,
    report_cost: bool,
}

impl Parsed {
    /// Parses the request's document.
    pub fn new(request: GraphqlRequest) -> Self {
        let document = parse_query(&request.query).ok();
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
