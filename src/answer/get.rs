//! A safe request (`GET /graphql?query=…`, or `QUERY /graphql` with a JSON body): never a
//! mutation, answered with how long the caller may keep it, or not executed at all when the
//! caller's copy is current.

use crate::{auth::CustomerAccess, graphql::GraphqlRequest};

use super::{AnswerError, Answerer, Outcome, Reply, RequestKey, params};

impl Answerer {
    /// Answers the request in `url_query` (a URL's query string) for a caller with `access`.
    /// `if_none_match` is the caller's `If-None-Match`: only a request that names a tag pays
    /// for working out the current one before executing.
    pub(crate) async fn get(
        &self,
        access: &CustomerAccess,
        url_query: &str,
        if_none_match: Option<&str>,
        request_id: &str,
    ) -> Result<Reply, AnswerError> {
        let request = params::from_url(url_query, self.settings.query_bytes)?;
        self.safe(access, request, if_none_match, request_id).await
    }

    /// Answers `QUERY /graphql` (RFC 10008): the request in a JSON `body`, answered as a GET
    /// is, since the method is safe and its answers cacheable.
    pub(crate) async fn query_method(
        &self,
        access: &CustomerAccess,
        body: &[u8],
        if_none_match: Option<&str>,
        request_id: &str,
    ) -> Result<Reply, AnswerError> {
        let request = params::from_body(body, self.settings.query_bytes)?;
        self.safe(access, request, if_none_match, request_id).await
    }

    /// A request over a safe method: never a mutation, answered with how long the caller may
    /// keep it, or not executed when the tag the caller names is current.
    async fn safe(
        &self,
        access: &CustomerAccess,
        request: GraphqlRequest,
        if_none_match: Option<&str>,
        request_id: &str,
    ) -> Result<Reply, AnswerError> {
        let request = self.persisted(request).await?;
        let key = RequestKey::new(access, &request);
        if let Some(tags) = if_none_match
            && let Some(validity) = self.validity(&key, None).await
            && validity.named_by(tags)
        {
            self.runner.metrics.cache_lookup("http", true);
            self.noted(None, "not_modified");
            return Ok(Reply::NotModified(validity));
        }
        let prepared = self.prepare(request, true, access).await?;
        let executed = self.runner.run(prepared, access.clone(), request_id).await;
        let cacheable = match &executed {
            Ok(answer) if answer.class == crate::graphql::AnswerClass::Data && !answer.failed => {
                self.validity(&key, Some(answer)).await
            }
            _ => None,
        };
        let mut reply = self.replied(Outcome::from(executed))?;
        if let Reply::Answer { validity, .. } = &mut reply {
            *validity = cacheable;
        }
        Ok(reply)
    }
}
