//! `POST /graphql` with a JSON body: the memo first (a body seen before is found by its
//! bytes, without being parsed; the same request written another way by its key), then one
//! execution for identical requests in flight.

use std::{sync::Arc, time::Instant};

use axum::body::Bytes;

use crate::{auth::CustomerAccess, graphql::ExecuteError};

use super::{AnswerError, Answerer, Outcome, Reply, RequestKey, params};

impl Answerer {
    /// Answers the request in `body` for a caller with `access`; `request_id` is quoted by an
    /// internal error.
    pub(crate) async fn post(
        &self,
        access: &CustomerAccess,
        body: Bytes,
        request_id: &str,
    ) -> Result<Reply, AnswerError> {
        let started = Instant::now();
        let memo = self.memo.as_ref();
        let generation = match memo {
            Some(_) => self.runner.store.fresh_generation(),
            None => None,
        };
        if let (Some(memo), Some(generation)) = (memo, generation)
            && let Some(kept) = memo.reused_body(generation, access, &body, self.runner.store.now())
        {
            self.runner.metrics.cache_lookup("answer", true);
            return Ok(self.again(kept, started));
        }
        let request = params::from_body(&body, self.settings.query_bytes)?;
        let request = self.persisted(request).await?;
        let memo = memo.map(|memo| (memo, RequestKey::new(access, &request)));
        if let (Some((memo, key)), Some(generation)) = (&memo, generation) {
            let kept = memo.reused(generation, key, self.runner.store.now());
            self.runner.metrics.cache_lookup("answer", kept.is_some());
            if let Some(kept) = kept {
                memo.alias(generation, key, body, &kept);
                return Ok(self.again(kept, started));
            }
        }
        // Boxed: a reused answer, above, need not carry preparation's state in its future.
        let prepared = Box::pin(self.prepare(request, false, access)).await?;
        let Some((memo, key)) = memo else {
            let executed = self.runner.run(prepared, access.clone(), request_id).await;
            return self.replied(Outcome::from(executed));
        };
        // The first of identical requests executes in a task of its own; the others join it,
        // and keep their own request in case its answer cannot be shared.
        let mut own = Some(prepared);
        let (outcome, _) = memo
            .run_or_join(key, body, generation, || {
                let (runner, access) = (self.runner.clone(), access.clone());
                let request_id: Arc<str> = request_id.into();
                let prepared = own.take();
                async move {
                    match prepared {
                        Some(prepared) => runner.run(prepared, access, &request_id).await,
                        None => Err(ExecuteError::Unserialisable),
                    }
                }
            })
            .await;
        match (own, outcome) {
            (None, Some(outcome)) => self.replied(outcome),
            (None, None) => Err(AnswerError::Internal),
            (Some(_), Some(Outcome::Answered { kept, shared: true })) => {
                self.runner.metrics.flight_join("answer");
                Ok(self.again(kept, started))
            }
            (Some(_), Some(Outcome::TimedOut)) => {
                Err(AnswerError::Timeout(self.settings.request_timeout))
            }
            (Some(prepared), _) => {
                let executed = self.runner.run(prepared, access.clone(), request_id).await;
                self.replied(Outcome::from(executed))
            }
        }
    }
}
