//! The root fields: `customers`, `customer(id)` and `products`.

use std::sync::Arc;

use async_graphql::{Context, ID, Object, Result, dataloader::DataLoader};

use super::{
    RequestScope,
    connection::{CustomerConnection, DEFAULT_PAGE_SIZE},
    error::{QueryError, to_graphql},
    node,
    page::{PageWanted, customers_page},
    partner::{self, DETAILS_FIELDS},
    types::{CustomerNode, NodeValue, ProductFilterInput, ProductNode},
};
use crate::{
    auth::CustomerAccess,
    cache::CustomerStore,
    domain::{ProductFilter, ProductRef},
    loader::CustomerLoader,
};

/// The refusal of `first` and `last` together.
pub(super) fn both_directions() -> QueryError {
    QueryError::BadInput(
        "`first` and `last` cannot be used together: page forwards with `first` and `after`, \
         or backwards with `last` and `before`"
            .into(),
    )
}

/// Read access to the partner's customers and their subscriptions.
///
/// Every field answers only the customers the caller's [`CustomerAccess`] allows; the cache
/// behind it is shared, so the restriction is applied here, to each answer.
pub(crate) struct Query;

#[Object]
impl Query {
    /// Customers in upstream order, a page at a time, as the Relay cursor connection
    /// specification pages: forwards with `first` (at most 1000) after the `after` cursor, or
    /// backwards with `last` (at most 1000) before the `before` cursor, never both `first` and
    /// `last`. `search` keeps customers whose organisation or e-mail contains the text
    /// (ignoring case); `filter` keeps those whose details (`customers/batch`) match it.
    #[allow(
        clippy::too_many_arguments,
        reason = "the field's arguments, as the schema has them"
    )]
    async fn customers(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = 100)] first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
        search: Option<String>,
        filter: Option<partner::CustomerFilterInput>,
    ) -> Result<CustomerConnection> {
        let selected = ctx.look_ahead();
        let first_given = ctx
            .field()
            .arguments()?
            .iter()
            .any(|(name, value)| name == "first" && *value != async_graphql::Value::Null);
        let first = match (first_given, last) {
            (true, Some(_)) => return Err(to_graphql(both_directions())),
            (false, Some(_)) => None,
            (_, None) => Some(first.unwrap_or(DEFAULT_PAGE_SIZE)),
        };
        let wanted = PageWanted {
            first,
            after,
            last,
            before,
            search,
            filter: filter.map(Into::into),
            total: selected.field("totalCount").exists(),
            next: selected.field("pageInfo").field("hasNextPage").exists(),
        };
        let scope = ctx.data::<RequestScope>()?;
        let store = ctx.data::<Arc<CustomerStore>>()?;
        let connection = customers_page(store, ctx.data::<CustomerAccess>()?, scope, wanted)
            .await
            .map_err(to_graphql)?;
        let customer = [
            selected.field("nodes"),
            selected.field("edges").field("node"),
        ];
        let details = customer.iter().any(|node| {
            DETAILS_FIELDS
                .iter()
                .any(|field| node.field(field).exists())
        });
        if details {
            let ids = connection
                .page
                .iter()
                .map(|customer| customer.id.to_string())
                .collect();
            partner::prefetch_details(ctx, ids).await?;
        }
        Ok(connection)
    }

    /// The customer with this id, or null when there is no such customer (or the caller may
    /// not see it).
    async fn customer(&self, ctx: &Context<'_>, id: ID) -> Result<Option<CustomerNode>> {
        if !ctx.data::<CustomerAccess>()?.allows(&id) {
            return Ok(None);
        }
        let loader = ctx.data::<DataLoader<CustomerLoader>>()?;
        let looked = loader
            .load_one(id.0)
            .await
            .unwrap_or_else(|never| match never {});
        match looked {
            Some(Ok(customer)) => Ok(Some(CustomerNode(customer))),
            Some(Err(error)) => Err(to_graphql(error)),
            None => Ok(None),
        }
    }

    /// Any object by its global id (Relay): a customer by its id, a product by its `id`;
    /// null when there is none, or the caller may not see it.
    async fn node(&self, ctx: &Context<'_>, id: ID) -> Result<Option<NodeValue>> {
        let mut found = node::resolve(ctx, std::slice::from_ref(&id)).await?;
        found.pop().unwrap_or(Ok(None))
    }

    /// Objects by their global ids, in the order asked (at most 1000); null for each that
    /// names nothing the caller may see, or (with its error) whose customer could not be read.
    async fn nodes(&self, ctx: &Context<'_>, ids: Vec<ID>) -> Result<Vec<Option<NodeValue>>> {
        let found = node::resolve(ctx, &ids).await?;
        Ok(node::each_failed_alone(ctx, found))
    }

    /// Subscriptions across all customers, ordered by `expirationDate` ascending with undated
    /// ones last (ties in upstream order), narrowed by `filter`.
    async fn products(
        &self,
        ctx: &Context<'_>,
        filter: Option<ProductFilterInput>,
    ) -> Result<Vec<ProductNode>> {
        let scope = ctx.data::<RequestScope>()?;
        let store = ctx.data::<Arc<CustomerStore>>()?;
        let filter = ProductFilter::from(filter.unwrap_or_default());
        let products = products_matching(store, ctx.data::<CustomerAccess>()?, scope, &filter)
            .await
            .map_err(to_graphql)?;
        Ok(products.into_iter().map(ProductNode).collect())
    }
}

/// The products passing `filter` that `access` may see, in contract order, noting in `scope`
/// what they were read from. Both executors answer `products` with this.
pub(super) async fn products_matching(
    store: &CustomerStore,
    access: &CustomerAccess,
    scope: &RequestScope,
    filter: &ProductFilter,
) -> Result<Vec<ProductRef>, QueryError> {
    let served = store.snapshot(scope.deadline).await?;
    scope.reads.note(served.provenance);
    let mut products = served.value.products(filter);
    products.retain(|product| access.allows(&product.customer.id));
    Ok(products)
}
