//! `node(id:)` and `nodes(ids:)`: any object by its global id, as the Relay server
//! specification asks. A customer's global id is its upstream id; a product's names its
//! customer (see `domain/ids.rs`), so both are found through the customer DataLoader, with the
//! customer claim applied as everywhere else.

use std::{collections::HashMap, sync::Arc};

use async_graphql::{Context, ID, Result, dataloader::DataLoader};

use super::{
    error::{QueryError, to_graphql},
    query::MAX_PAGE_SIZE,
    types::{CustomerNode, NodeValue, ProductNode},
};
use crate::{
    auth::CustomerAccess,
    domain::{Customer, ProductRef, product_customer},
    loader::CustomerLoader,
};

/// The objects with these ids, in order; `None` for an id that names nothing the caller may
/// see. The customers they need are read in one batch.
pub(super) async fn resolve(ctx: &Context<'_>, ids: &[ID]) -> Result<Vec<Option<NodeValue>>> {
    if ids.len() > MAX_PAGE_SIZE as usize {
        return Err(to_graphql(QueryError::BadInput(format!(
            "`ids` may hold at most {MAX_PAGE_SIZE} ids, got {}",
            ids.len()
        ))));
    }
    let access = ctx.data::<CustomerAccess>()?;
    let owners: Vec<Option<String>> = ids
        .iter()
        .map(|id| Some(product_customer(id).unwrap_or_else(|| id.0.clone())))
        .map(|owner| owner.filter(|owner| access.allows(owner)))
        .collect();
    let wanted: Vec<String> = owners.iter().flatten().cloned().collect();
    let loader = ctx.data::<DataLoader<CustomerLoader>>()?;
    let looked = loader
        .load_many(wanted)
        .await
        .unwrap_or_else(|never| match never {});
    let mut customers: HashMap<String, Arc<Customer>> = HashMap::with_capacity(looked.len());
    for (owner, outcome) in looked {
        customers.insert(owner, outcome.map_err(to_graphql)?);
    }
    Ok(ids
        .iter()
        .zip(owners)
        .map(|(id, owner)| {
            let customer = customers.get(owner.as_deref()?)?;
            if *customer.id == *id.0 {
                return Some(NodeValue::Customer(CustomerNode(Arc::clone(customer))));
            }
            let index = customer
                .products
                .iter()
                .position(|product| product.id() == id.0)?;
            Some(NodeValue::Product(ProductNode(ProductRef {
                customer: Arc::clone(customer),
                index,
            })))
        })
        .collect())
}
