//! The GraphQL schema, apart from any transport.
//!
//! [`build_schema`] assembles the contract's types over a [`CustomerStore`]. A request arrives
//! as a [`GraphqlRequest`] (its parameters), is [`Parsed`], priced against the limits
//! ([`Parsed::prepare`], with [`measure`]) and run by [`execute()`] for its caller, which writes
//! the [`Answer`]: error codes, the nulls of a partial answer ([`complete()`]), the `stale` and
//! `cost` extensions, its class and provenance. Two executors answer: the gateway's own
//! (`fast/`) for the data fields of a document validated before, and async-graphql's (with its
//! own customer DataLoader, [`for_caller`]) for the rest, held to the same bytes by a test.
//! `http/` carries requests here and turns the class into a status; nothing in this module
//! knows HTTP.

mod complete;
mod connection;
mod error;
mod execute;
mod fast;
mod fields;
mod kept;
mod limits;
mod live;
mod node;
mod operation;
mod page;
mod partner;
mod query;
mod request;
mod scalars;
mod sdl;
mod subscription;
mod table;
mod tools;
mod types;
pub(crate) mod validate;
mod variables;

use std::{sync::Arc, time::Instant};

use async_graphql::{EmptyMutation, Schema, dataloader::DataLoader};

#[cfg(test)]
pub(crate) use execute::Executor;
pub(crate) use execute::{Answer, AnswerClass, ExecuteError, ExecuteOptions, execute};
pub(crate) use limits::measure;
pub use limits::{ListSizes, QueryLimits, Refusal, check as check_limits};
pub(crate) use live::{LivePlan, Opener, Opening};
pub(crate) use operation::{chosen as chosen_operation, is_mutation, is_subscription};
pub(crate) use query::Query;
pub(crate) use request::{DocumentRef, Documents, GraphqlRequest, Parsed, Prepared};
pub(crate) use subscription::Subscription;
pub use table::{PRODUCT_INTS, PRODUCT_SCALARS, PRODUCT_TEXTS};
pub(crate) use tools::{OperationTool, object_schema, operation_tools, schema_text};

use crate::{
    auth::CustomerAccess,
    cache::{CustomerStore, ReadNotes},
    loader::{CustomerLoader, DetailsLoader},
};

/// The gateway's executable schema.
pub(crate) type GatewaySchema = Schema<Query, EmptyMutation, Subscription>;

/// The schema, answering from `store`. Without `introspection`, `__schema` and `__type` are
/// refused and validation errors suggest no names ("Did you mean"), since a schema can be
/// recovered from suggestions alone.
pub(crate) fn build_schema(store: Arc<CustomerStore>, introspection: bool) -> GatewaySchema {
    let builder = Schema::build(Query, EmptyMutation, Subscription).data(store);
    if introspection {
        builder.finish()
    } else {
        builder
            .disable_introspection()
            .disable_suggestions()
            .finish()
    }
}

/// What one request brings to execution besides its caller.
#[derive(Debug, Clone)]
pub(crate) struct RequestScope {
    /// When the request must be answered; waits for the upstream end here.
    pub deadline: Instant,
    /// Where resolvers note what they read: stale data for the `stale` response extension,
    /// and the snapshot, for reusing the answer.
    pub reads: Arc<ReadNotes>,
}

/// Per-request data: the verified caller's [`CustomerAccess`], which every root field applies
/// (a request without one is refused by the resolvers, never answered unrestricted), the
/// request's [`RequestScope`], and a fresh DataLoader, so one caller's batch never serves
/// another.
pub(crate) fn for_caller(
    request: async_graphql::Request,
    access: CustomerAccess,
    scope: RequestScope,
    store: &Arc<CustomerStore>,
) -> async_graphql::Request {
    // Batches run in their own tasks; they carry the request's span, so what they log names
    // the request, and its count of upstream calls.
    let span = tracing::Span::current();
    let spawner = move |batch| {
        tokio::spawn(crate::cache::live::carried(crate::calls::carried(
            tracing::Instrument::instrument(batch, span.clone()),
        )))
    };
    let loader = DataLoader::new(
        CustomerLoader::new(Arc::clone(store), scope.deadline, Arc::clone(&scope.reads)),
        spawner.clone(),
    );
    let details = DataLoader::new(
        DetailsLoader::new(Arc::clone(store), scope.deadline, Arc::clone(&scope.reads)),
        spawner,
    );
    request.data(loader).data(details).data(access).data(scope)
}

/// The schema's SDL, as checked in at `schema/schema.graphql`, with the cost model's
/// `@cost` and `@listSize` directives.
pub fn sdl() -> String {
    sdl::with_cost_directives(
        &Schema::build(Query, EmptyMutation, Subscription)
            .finish()
            .sdl(),
    )
}
