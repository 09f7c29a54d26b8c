//! The answer stage, between http/ and graphql/: what turns a caller and a GraphQL request
//! into an answer, whatever the transport.
//!
//! It reads the request's parameters ([`params`]), resolves the persisted document it names,
//! reuses a whole answer kept for the same request ([`memo`]: by the body's bytes, or by the
//! request in canonical form) or joins an identical request in flight, prices the document
//! against the limits, picks the executor and runs it, and for a safe request (GET) works out
//! whether and how long the caller may keep the answer ([`Validity`]), answering a current tag
//! without executing. Each transport has one entry point ([`Answerer::post`],
//! [`Answerer::get`]) that gives one [`Reply`] or one [`AnswerError`]; http/ turns those into
//! status codes and headers, and nothing here knows HTTP.

mod batch;
mod error;
mod get;
mod live;
pub(crate) mod memo;
mod params;
mod post;
mod run;
mod validity;

use std::{
    sync::{Arc, atomic::AtomicBool},
    time::Instant,
};

pub(crate) use error::AnswerError;
pub(crate) use live::{LiveAnswers, Next, Opened, StreamCaller};
pub(crate) use memo::{Coding, Kept, QUALITY};
pub(crate) use validity::Validity;

use memo::{Memo, Outcome, RequestKey};
use run::Runner;

use crate::{
    auth::CustomerAccess,
    cache::CustomerStore,
    graphql::{
        Answer, Documents, GatewaySchema, GraphqlRequest, OperationTool, Parsed, Prepared,
        QueryLimits, operation_tools,
    },
    metrics::Metrics,
    noted,
    persisted::PersistedDocuments,
};

/// What the stage gives a transport.
#[derive(Debug)]
pub(crate) enum Reply {
    /// An answer, with data, errors or both.
    Answer {
        /// The answer and its body (in the codings made for it so far).
        kept: Arc<Kept>,
        /// It was made for an identical request: send it as it is, in a coding already made.
        reused: bool,
        /// How the caller may keep it; `None`: not at all (`no-store`).
        validity: Option<Validity>,
    },
    /// The caller's copy, named by its tag, is current: nothing was executed.
    NotModified(Validity),
}

/// Settings of the stage, from `GATEWAY_LIMITS_*`, `GATEWAY_INTROSPECTION` and
/// `GATEWAY_CACHE_ANSWER_BYTES`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct AnswerSettings {
    /// What a document may cost.
    pub(crate) limits: QueryLimits,
    /// Longest query text.
    pub(crate) query_bytes: usize,
    /// One request's deadline.
    pub(crate) request_timeout: std::time::Duration,
    /// Room for whole answers kept for reuse (0: no reuse, no joining).
    pub(crate) answer_bytes: u64,
    /// Most subscriptions one caller may hold open.
    pub(crate) subscriptions_per_caller: usize,
    /// Most operations in one batched POST.
    pub(crate) batch: usize,
}

/// The answer stage, built once at start.
pub(crate) struct Answerer {
    runner: Runner,
    /// The manifest's named queries, as an agent's tools.
    tools: Vec<OperationTool>,
    live: live::Live,
    memo: Option<Memo>,
    documents: Documents,
    persisted: PersistedDocuments,
    settings: AnswerSettings,
}

impl std::fmt::Debug for Answerer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Answerer")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

impl Answerer {
    /// The stage over `store`, answering with `schema`.
    pub(crate) fn new(
        schema: GatewaySchema,
        store: Arc<CustomerStore>,
        persisted: PersistedDocuments,
        metrics: Arc<Metrics>,
        settings: AnswerSettings,
    ) -> Self {
        let runner = Runner {
            schema,
            store,
            metrics,
            timeout: settings.request_timeout,
            fast: Arc::new(AtomicBool::new(true)),
        };
        let (closing, closed) = tokio::sync::watch::channel(false);
        let hub = live::Hub::new(runner.clone(), closed);
        let tools = operation_tools(persisted.manifest_documents());
        Self {
            runner,
            tools,
            live: live::Live::new(hub, settings.subscriptions_per_caller, closing),
            memo: Memo::new(settings.answer_bytes),
            documents: Documents::default(),
            persisted,
            settings,
        }
    }

    /// Leaves every request to async-graphql's executor: the reference the differential test
    /// holds the fast executor to.
    pub(crate) fn reference_executor_only(&self) {
        self.runner
            .fast
            .store(false, std::sync::atomic::Ordering::Relaxed);
    }

    /// The manifest's named queries, as an agent's tools (`/mcp`).
    pub(crate) fn tools(&self) -> &[OperationTool] {
        &self.tools
    }

    /// Whether the schema may be read (`GATEWAY_INTROSPECTION`): `/mcp`'s `schema` tool is
    /// offered only then.
    pub(crate) fn introspection(&self) -> bool {
        self.settings.limits.introspection
    }

    /// Whether only manifest documents run (GraphiQL says so).
    pub(crate) fn safelist_only(&self) -> bool {
        self.persisted.safelist_only()
    }

    /// The request with the text of the persisted document it names, if it names one (or
    /// refused: an unknown hash, a mismatch, or any other document in safelist mode).
    async fn persisted(&self, mut request: GraphqlRequest) -> Result<GraphqlRequest, AnswerError> {
        if let Some(document) = &request.document {
            noted::document(&document.hash);
        }
        let query = (request.document.is_none() || !request.query.is_empty())
            .then(|| std::mem::take(&mut request.query));
        request.query = self
            .persisted
            .resolve(request.document.take().as_ref(), query)
            .await?;
        Ok(request)
    }

    /// Parses the request and prices it against the limits (list sizes from the latest
    /// cached snapshot). Over a safe method (`read_only`) a mutation is refused before it is
    /// priced.
    async fn prepare(
        &self,
        request: GraphqlRequest,
        read_only: bool,
        access: &CustomerAccess,
    ) -> Result<Prepared, AnswerError> {
        let parsed = Parsed::new(request, &self.documents);
        if read_only && parsed.is_mutation() {
            return Err(AnswerError::MutationNotSafe);
        }
        if parsed.is_subscription() {
            return Err(AnswerError::SubscriptionNeedsStream);
        }
        let deadline = Instant::now() + self.settings.request_timeout;
        Ok(parsed
            .prepare(self.settings.limits, &self.runner.store, access, deadline)
            .await?)
    }

    /// How the answer to `key` may be cached: while the cached snapshot is fresh, and, for
    /// an answer already built, only if it read nothing but that snapshot's fresh data.
    async fn validity(&self, key: &RequestKey, answer: Option<&Answer>) -> Option<Validity> {
        let (generation, fresh_for) = self.runner.store.fresh_window()?;
        // An answer that read keyed data has no tag: the snapshot's generation, which names
        // the tag, does not change when those data do.
        if answer.is_some_and(|answer| {
            !answer.provenance.fresh_from(generation) || answer.provenance.until().is_some()
        }) {
            return None;
        }
        Some(Validity {
            etag: key.etag(generation),
            fresh_for,
        })
    }

    /// The reply of a request's own execution, noted by where its data came from.
    fn replied(&self, outcome: Outcome) -> Result<Reply, AnswerError> {
        match outcome {
            Outcome::Answered { kept, .. } => {
                let answer = &kept.answer;
                let source = match answer.provenance.stale() {
                    Some(_) => "stale",
                    None => "fresh",
                };
                self.noted(answer.operation.as_deref(), source);
                Ok(Reply::Answer {
                    kept,
                    reused: false,
                    validity: None,
                })
            }
            Outcome::TimedOut => {
                self.noted(None, "timeout");
                Err(AnswerError::Timeout(self.settings.request_timeout))
            }
            Outcome::Failed => {
                self.noted(None, "error");
                Err(AnswerError::Internal)
            }
        }
    }

    /// An answer made for an identical request, counted as this request's.
    fn again(&self, kept: Arc<Kept>, started: Instant) -> Reply {
        let answer = &kept.answer;
        self.runner.metrics.graphql_request(
            answer.operation.as_deref(),
            answer.failed,
            started.elapsed(),
        );
        self.noted(answer.operation.as_deref(), "reused");
        Reply::Answer {
            kept,
            reused: true,
            validity: None,
        }
    }

    /// Counts where an answer came from and notes it for the access log.
    fn noted(&self, operation: Option<&str>, source: &'static str) {
        self.runner.metrics.answer(source);
        noted::answered(operation, source);
    }
}
