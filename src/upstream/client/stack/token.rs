//! The app token on every request: fetched (or reused) before it goes, and when the upstream
//! refuses an issued token, a new one is fetched and the request sent once more; a second
//! refusal is the answer.

use std::sync::Arc;

use super::{Exchange, Health, PageRequest, PageResult};
use crate::upstream::{AppToken, UpstreamError};

/// The token around `inner`.
#[derive(Debug)]
pub(crate) struct Authorized<S> {
    pub(crate) inner: S,
    token: AppToken,
    health: Arc<Health>,
}

impl<S> Authorized<S> {
    /// `inner` with `token`'s bearer on every request; failing to get one is reported to
    /// `health`.
    pub(crate) fn new(inner: S, token: AppToken, health: Arc<Health>) -> Self {
        Self {
            inner,
            token,
            health,
        }
    }

    async fn with_token<'a>(
        &self,
        mut request: PageRequest<'a>,
    ) -> Result<PageRequest<'a>, UpstreamError> {
        let token = self
            .token
            .get()
            .await
            .inspect_err(|error| self.health.failed(error))?;
        request.token = Some(token);
        Ok(request)
    }
}

impl<S> Authorized<S> {
    /// Where the app token comes from.
    pub(crate) fn token(&self) -> &AppToken {
        &self.token
    }
}

impl<S: Exchange> Exchange for Authorized<S> {
    async fn call(&self, request: PageRequest<'_>) -> PageResult {
        let first = self.with_token(request.clone()).await?;
        let sent = first.token.clone();
        match self.inner.call(first).await {
            Err(UpstreamError::Unauthorized(_))
                if sent
                    .as_ref()
                    .is_some_and(|token| self.token.invalidate(token)) =>
            {
                self.inner.call(self.with_token(request).await?).await
            }
            result => result,
        }
    }
}
