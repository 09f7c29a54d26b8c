//! A batched POST (Apollo Client's `BatchHttpLink`): a JSON array of requests, answered with an
//! array of answers in the same order. Each operation is read, resolved (persisted documents),
//! priced and limited on its own, and answered as it would be alone, so a batch that mixes good
//! and bad operations answers each as it deserves; their upstream requests are counted together
//! against `GATEWAY_LIMITS_UPSTREAM_REQUESTS`, so a batch over it is refused as a whole before
//! any request. At most `GATEWAY_LIMITS_BATCH` operations; an empty batch is refused. Whole
//! answers are not reused across batches: each operation executes.

use futures::future::join_all;
use serde_json::Value;

use super::{AnswerError, Answerer, Outcome, Reply, params};
use crate::{
    auth::CustomerAccess,
    graphql::{Prepared, Refusal},
};

impl Answerer {
    /// The operations of a batched `body`: a JSON array of 1 to `GATEWAY_LIMITS_BATCH` values.
    pub(crate) fn batch_operations(&self, body: &[u8]) -> Result<Vec<Value>, AnswerError> {
        let operations: Vec<Value> = serde_json::from_slice(body).map_err(|error| {
            AnswerError::BadRequest(format!("the request body is not a JSON array: {error}"))
        })?;
        if operations.is_empty() {
            return Err(AnswerError::BadRequest(
                "the batch is empty: send at least one request object".into(),
            ));
        }
        if operations.len() > self.settings.batch {
            return Err(AnswerError::BatchTooLarge {
                given: operations.len(),
                limit: self.settings.batch,
            });
        }
        Ok(operations)
    }

    /// Answers each of `operations` for a caller with `access` (an operation already refused,
    /// by the rate limit, stays refused), in order; refuses the whole batch when its upstream
    /// requests together are over the limit.
    pub(crate) async fn batch(
        &self,
        access: &CustomerAccess,
        operations: Vec<Result<Value, AnswerError>>,
        request_id: &str,
    ) -> Result<Vec<Result<Reply, AnswerError>>, AnswerError> {
        let prepared = join_all(operations.into_iter().map(|operation| async move {
            let request = params::from_value(operation?, self.settings.query_bytes)?;
            let request = self.persisted(request).await?;
            self.prepare(request, false, access).await
        }))
        .await;
        let estimate: u64 = prepared
            .iter()
            .filter_map(|prepared| prepared.as_ref().ok())
            .map(|prepared| prepared.upstream)
            .sum();
        let limit = self.settings.limits.upstream_requests;
        if estimate > limit as u64 {
            return Err(Refusal::UpstreamRequests { limit, estimate }.into());
        }
        Ok(join_all(
            prepared
                .into_iter()
                .map(|prepared| self.run_one(prepared, access, request_id)),
        )
        .await)
    }

    /// One operation of a batch, executed unless it was refused.
    async fn run_one(
        &self,
        prepared: Result<Prepared, AnswerError>,
        access: &CustomerAccess,
        request_id: &str,
    ) -> Result<Reply, AnswerError> {
        let executed = self.runner.run(prepared?, access.clone(), request_id).await;
        self.replied(Outcome::from(executed))
    }
}
