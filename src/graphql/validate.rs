//! Validating a document against the schema without executing it, for the persisted-documents
//! manifest at start: async-graphql validates only as part of executing, so this executes on
//! a copy of the schema whose execution step does nothing.

use std::sync::{Arc, LazyLock};

use async_graphql::{
    EmptyMutation, Response, Schema,
    extensions::{Extension, ExtensionContext, ExtensionFactory, NextExecute},
};

use super::{query::Query, subscription::Subscription};

/// An extension that stops every request after validation.
struct ValidateOnly;

impl ExtensionFactory for ValidateOnly {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(ValidateOnly)
    }
}

#[async_trait::async_trait]
impl Extension for ValidateOnly {
    async fn execute(
        &self,
        _ctx: &ExtensionContext<'_>,
        _operation_name: Option<&str>,
        _next: NextExecute<'_>,
    ) -> Response {
        Response::default()
    }
}

static VALIDATING: LazyLock<Schema<Query, EmptyMutation, Subscription>> = LazyLock::new(|| {
    Schema::build(Query, EmptyMutation, Subscription)
        .extension(ValidateOnly)
        .finish()
});

/// Why `document` does not parse or validate against the schema, if it does not.
pub(crate) async fn problem(document: &str) -> Option<String> {
    let response = VALIDATING.execute(document).await;
    response.errors.first().map(|error| error.message.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn valid_documents_pass_without_data_and_invalid_ones_say_why() {
        assert_eq!(problem("{ customers { totalCount } }").await, None);
        assert_eq!(
            problem("query One($id: ID!) { customer(id: $id) { id } }").await,
            None,
            "variables are the request's, not the document's"
        );
        let unknown = problem("{ customers { nope } }").await.unwrap();
        assert!(unknown.contains("nope"), "{unknown}");
        assert!(problem("{ customers {").await.is_some());
        assert!(problem("mutation { x }").await.is_some());
        assert_eq!(
            problem("subscription { customer(id: \"1\") { id } }").await,
            None
        );
        assert!(
            problem("subscription { customers(last: 1) { totalCount } }")
                .await
                .is_some()
        );
    }
}
