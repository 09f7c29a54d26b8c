//! A request on its way to execution: the parameters a transport read ([`GraphqlRequest`]),
//! parsed ([`Parsed`]), then priced against the limits and ready to run ([`Prepared`]).

use std::{
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::Instant,
};

use async_graphql::{
    Variables,
    parser::{parse_query, types::ExecutableDocument},
};
use moka::sync::Cache;
use serde_json::{Map, Value};

use super::{
    QueryLimits, Refusal, chosen_operation,
    fast::Kept,
    is_mutation, is_subscription,
    kept::Budget,
    limits::{KeptWalk, Pricing, Walkable},
    measure,
};
use crate::{auth::CustomerAccess, cache::CustomerStore};

/// The GraphQL-over-HTTP parameters of one request, each of the right JSON type.
#[derive(Debug, Clone, Default)]
pub(crate) struct GraphqlRequest {
    /// The document's text.
    pub query: String,
    /// The operation to run, when the document holds several.
    pub operation_name: Option<String>,
    /// The variables' values.
    pub variables: Map<String, Value>,
    /// `extensions.cost` is `true`: the answer reports the estimated cost.
    pub report_cost: bool,
    /// The persisted document the request names instead of (or besides) its `query`; the
    /// persisted-documents stage resolves it into `query` before anything else reads it.
    pub document: Option<DocumentRef>,
}

/// A persisted document named by a request: by `documentId`, or by Apollo's
/// `extensions.persistedQuery.sha256Hash`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DocumentRef {
    /// The document's SHA-256, lower-case hex.
    pub hash: String,
}

/// Most bytes of parsed documents kept, counted as four times their text.
const DOCUMENT_BYTES: u64 = 16 * 1024 * 1024;

/// A parsed document, whether async-graphql has validated it, and what the fast executor
/// keeps of it.
#[derive(Debug)]
pub(super) struct Document {
    pub(super) parsed: ExecutableDocument,
    /// Set once an execution of the document got past validation. Validation does not depend
    /// on the operation chosen, and the fast executor checks variable values itself, so from
    /// then on the fast executor may answer the document.
    valid: AtomicBool,
    /// Its latest answer's size and plan.
    pub(super) kept: Kept,
    /// Its latest walk by the limits.
    walk: KeptWalk,
}

impl Document {
    /// A document not yet validated, whose plan and walk are kept within `budget` (or not at
    /// all).
    pub(super) fn new(parsed: ExecutableDocument, budget: Option<Arc<Budget>>) -> Self {
        Self {
            parsed,
            valid: AtomicBool::new(false),
            kept: Kept::new(budget.clone()),
            walk: KeptWalk::new(budget),
        }
    }

    /// Whether async-graphql has validated the document.
    pub(super) fn is_valid(&self) -> bool {
        self.valid.load(Ordering::Relaxed)
    }

    /// Notes that an execution of the document passed validation.
    pub(super) fn validated(&self) {
        self.valid.store(true, Ordering::Relaxed);
    }
}

/// Parsed documents by their text, so a query sent again (with other variables, from another
/// caller, with reuse off) is neither parsed nor validated again. Only documents that parse
/// are kept. What they keep between requests (plans, walks) shares one budget.
#[derive(Debug, Clone)]
pub(crate) struct Documents {
    parsed: Cache<Arc<str>, Arc<Document>>,
    kept: Arc<Budget>,
}

impl Default for Documents {
    fn default() -> Self {
        Self {
            parsed: Cache::builder()
                .max_capacity(DOCUMENT_BYTES)
                .weigher(|text: &Arc<str>, _: &Arc<Document>| {
                    u32::try_from(text.len().saturating_mul(4) + 256).unwrap_or(u32::MAX)
                })
                .build(),
            kept: Arc::default(),
        }
    }
}

impl Documents {
    /// `query` parsed, from the cache when it was parsed before.
    fn parse(&self, query: &str) -> Option<Arc<Document>> {
        if let Some(document) = self.parsed.get(query) {
            return Some(document);
        }
        let parsed = parse_query(query).ok()?;
        let document = Arc::new(Document::new(parsed, Some(Arc::clone(&self.kept))));
        self.parsed.insert(query.into(), Arc::clone(&document));
        Some(document)
    }
}

/// A request with its document parsed, when it parses (execution then reports why not).
#[derive(Debug)]
pub(crate) struct Parsed {
    pub(super) request: async_graphql::Request,
    pub(super) document: Option<Arc<Document>>,
    report_cost: bool,
}

impl Parsed {
    /// Parses the request's document (or finds it in `documents`).
    pub(crate) fn new(request: GraphqlRequest, documents: &Documents) -> Self {
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
    pub(crate) fn is_mutation(&self) -> bool {
        self.document.as_ref().is_some_and(|document| {
            is_mutation(&document.parsed, self.request.operation_name.as_deref())
        })
    }

    /// Whether the operation to run is a subscription (answered only over a stream).
    pub(crate) fn is_subscription(&self) -> bool {
        self.document.as_ref().is_some_and(|document| {
            is_subscription(&document.parsed, self.request.operation_name.as_deref())
        })
    }

    /// Checks the document against `limits`, with list sizes from the latest cached snapshot
    /// (waiting for one until `deadline` when only that can tell), and hands execution the
    /// parsed document so it is not parsed again.
    pub(crate) async fn prepare(
        self,
        limits: QueryLimits,
        store: &CustomerStore,
        access: &CustomerAccess,
        deadline: Instant,
    ) -> Result<Prepared, Refusal> {
        let Self {
            request,
            document,
            report_cost,
        } = self;
        let unparsed = document.is_none();
        let mut operation = request.operation_name.clone();
        let (mut cost, mut upstream) = (None, 0);
        if let Some(document) = &document {
            if operation.is_none() {
                operation = chosen_operation(&document.parsed, None)
                    .and_then(|(name, _)| name)
                    .map(|name| name.to_string());
            }
            let pricing = Pricing {
                access,
                cold: false,
            };
            let measured = measure(
                Walkable {
                    parsed: &document.parsed,
                    kept: Some(&document.walk),
                },
                request.operation_name.as_deref(),
                &request.variables,
                limits,
                store,
                pricing,
                deadline,
            )
            .await?;
            upstream = measured.map_or(0, |measured| measured.upstream);
            cost = measured.filter(|_| report_cost).map(|measured| CostReport {
                estimated: measured.cost,
                limit: limits.complexity,
                upstream_estimated: measured.upstream,
                upstream_limit: limits.upstream_requests,
            });
        }
        Ok(Prepared {
            request,
            document,
            unparsed,
            operation,
            cost,
            upstream,
        })
    }
}

/// A request that passed the limits, ready to execute.
#[derive(Debug)]
pub(crate) struct Prepared {
    pub(super) request: async_graphql::Request,
    /// The parsed document, when it parses.
    pub(super) document: Option<Arc<Document>>,
    /// The document did not parse (its errors are `GRAPHQL_PARSE_FAILED`).
    pub(super) unparsed: bool,
    /// The operation's name, for metrics: the one asked for, or the only operation's.
    pub(super) operation: Option<String>,
    /// The estimated cost and the limits, when the request asked for them.
    pub(super) cost: Option<CostReport>,
    /// The upstream requests it is estimated to make (a batch's are counted together).
    pub(crate) upstream: u64,
}

/// What the `cost` extension reports besides the upstream requests made.
#[derive(Debug, Clone, Copy)]
pub(crate) struct CostReport {
    /// The estimated field cost.
    pub estimated: u64,
    /// `GATEWAY_LIMITS_COMPLEXITY`.
    pub limit: usize,
    /// The upstream requests estimated.
    pub upstream_estimated: u64,
    /// `GATEWAY_LIMITS_UPSTREAM_REQUESTS`.
    pub upstream_limit: usize,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_document_is_parsed_once_and_one_that_does_not_parse_is_not_kept() {
        let documents = Documents::default();
        let kept = || {
            documents.parsed.run_pending_tasks();
            documents.parsed.entry_count()
        };
        let first = documents.parse("{ customers { totalCount } }").unwrap();
        assert_eq!(kept(), 1);
        first.validated();
        let again = documents.parse("{ customers { totalCount } }").unwrap();
        assert!(Arc::ptr_eq(&first, &again) && again.is_valid());
        assert!(documents.parse("{ customers {").is_none());
        assert_eq!(kept(), 1);
    }
}
