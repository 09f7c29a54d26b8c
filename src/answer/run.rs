//! One execution of a prepared request, counted: what the answer stage runs on its own or in
//! the flight that identical requests share (so it is owned and cheap to clone into a task).

use std::{
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::{Duration, Instant},
};

use crate::{
    auth::CustomerAccess,
    cache::CustomerStore,
    graphql::{self, Answer, ExecuteError, GatewaySchema, Prepared},
    metrics::Metrics,
};

/// What executing a request needs.
#[derive(Clone)]
pub(super) struct Runner {
    pub(super) schema: GatewaySchema,
    pub(super) store: Arc<CustomerStore>,
    pub(super) metrics: Arc<Metrics>,
    /// One request's deadline (`GATEWAY_LIMITS_REQUEST_TIMEOUT_MS`).
    pub(super) timeout: Duration,
    /// Whether the fast executor answers what it covers (always, but for the differential
    /// test's reference gateway).
    pub(super) fast: Arc<AtomicBool>,
}

impl Runner {
    /// Executes `prepared` for `access`, counting it; `request_id` is quoted by an internal
    /// error.
    pub(super) async fn run(
        &self,
        prepared: Prepared,
        access: CustomerAccess,
        request_id: &str,
    ) -> Result<Answer, ExecuteError> {
        let started = Instant::now();
        let options = graphql::ExecuteOptions {
            timeout: self.timeout,
            request_id,
            fast: self.fast.load(Ordering::Relaxed),
            calls_before: crate::calls::so_far().unwrap_or(0),
        };
        // Boxed, so the futures of the stages above (built, moved and boxed again for every
        // request, reused answers too) stay small: an execution's state is kilobytes.
        let execution = Box::pin(graphql::execute(
            &self.schema,
            &self.store,
            prepared,
            access,
            options,
        ));
        // Without the access log nothing counts the request's calls; the `cost` extension
        // still reports them.
        let answer = match crate::calls::so_far() {
            Some(_) => execution.await?,
            None => crate::calls::counted(execution).await.0?,
        };
        self.metrics.execution(answer.executor.name());
        self.metrics.graphql_request(
            answer.operation.as_deref(),
            answer.failed,
            started.elapsed(),
        );
        Ok(answer)
    }
}
