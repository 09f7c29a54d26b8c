//! The `Subscription` type: the live forms of `customers`, `customer(id)` and
//! `products(filter)`.
//!
//! async-graphql knows the type for introspection, the SDL and validation. The answers come
//! from the gateway's live answers (`crate::answer::live`), which run a subscription's
//! selection as a query ([`super::live`]) now and each time the data under it change, so every
//! executor, limit and error code of a query applies to it unchanged. async-graphql's own
//! execution of these fields (used only to validate a subscription) yields no event.

use async_graphql::{ID, Subscription as GraphqlSubscription};
use futures::{Stream, stream};

use super::{
    connection::CustomerConnection,
    partner::CustomerFilterInput,
    types::{CustomerNode, ProductFilterInput, ProductNode},
};

/// Live answers: each field sends the answer its selection gets as a query at once, then again
/// whenever the data under it change (never the same answer twice in a row).
pub(crate) struct Subscription;

#[GraphqlSubscription]
impl Subscription {
    /// `Query.customers`, live: the page again whenever a customer on it, its subscriptions
    /// or its partner data change (forwards paging only).
    async fn customers(
        &self,
        #[graphql(default = 100)] first: Option<i32>,
        after: Option<String>,
        search: Option<String>,
        filter: Option<CustomerFilterInput>,
    ) -> impl Stream<Item = CustomerConnection> + use<> {
        let _ = (first, after, search, filter);
        stream::empty()
    }

    /// `Query.customer`, live: the customer again whenever it changes; null when there is no
    /// such customer (or the caller may not see it).
    async fn customer(&self, id: ID) -> impl Stream<Item = Option<CustomerNode>> + use<> {
        let _ = id;
        stream::empty()
    }

    /// `Query.products`, live: the list again whenever a product on it changes.
    async fn products(
        &self,
        filter: Option<ProductFilterInput>,
    ) -> impl Stream<Item = Vec<ProductNode>> + use<> {
        let _ = filter;
        stream::empty()
    }
}
