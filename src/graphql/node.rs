//! `node(id:)` and `nodes(ids:)`: any object by its global id, as the Relay server
//! specification asks. A customer's global id is its upstream id; a product's and a backup
//! job's name their customer (see `domain/ids.rs`), so customers and products are found
//! through the customer DataLoader and jobs through their customer's cached jobs, with the
//! customer claim applied as everywhere else: a job of a customer the caller may not see is
//! null, and nothing is read for it.

use std::sync::Arc;

use async_graphql::{Context, ID, PathSegment, Result, dataloader::DataLoader};

use futures::future;

use super::{
    connection::MAX_PAGE_SIZE,
    error::{QueryError, to_graphql},
    partner,
    types::{CustomerNode, NodeValue, ProductNode},
};
use crate::{
    auth::CustomerAccess,
    domain::{Customer, ProductRef, job_owner, product_customer},
    loader::CustomerLoader,
};

/// The objects with these ids, in order; `None` for an id that names nothing the caller may
/// see, and an error for one whose customer could not be read (that entry alone: the others
/// are still answered). The customers they need are read in one batch.
pub(super) async fn resolve(
    ctx: &Context<'_>,
    ids: &[ID],
) -> Result<Vec<Result<Option<NodeValue>>>> {
    if ids.len() > MAX_PAGE_SIZE as usize {
        return Err(to_graphql(QueryError::BadInput(format!(
            "`ids` may hold at most {MAX_PAGE_SIZE} ids, got {}",
            ids.len()
        ))));
    }
    let access = ctx.data::<CustomerAccess>()?;
    // The backup jobs the ids name.
    let jobs: Vec<Option<(String, String)>> = ids.iter().map(|id| job_owner(id)).collect();
    // Whose customer each id names (a job's included), when the caller may see that customer.
    let owners: Vec<Option<String>> = ids
        .iter()
        .zip(&jobs)
        .map(|(id, job)| {
            let owner = match job {
                Some((customer, _)) => customer.clone(),
                None => product_customer(id).unwrap_or_else(|| id.0.clone()),
            };
            access.allows(&owner).then_some(owner)
        })
        .collect();
    let wanted: Vec<String> = owners.iter().flatten().cloned().collect();
    let loader = ctx.data::<DataLoader<CustomerLoader>>()?;
    let looked = loader
        .load_many(wanted)
        .await
        .unwrap_or_else(|never| match never {});
    // A job is looked for among its customer's jobs only when that customer exists.
    let found_jobs = future::join_all(jobs.iter().zip(&owners).map(|(job, owner)| {
        let exists = owner
            .as_ref()
            .is_some_and(|owner| matches!(looked.get(owner), Some(Ok(_))));
        async move {
            match job {
                Some((customer, job)) if exists => partner::job_node(ctx, customer, job).await,
                _ => Ok(None),
            }
        }
    }))
    .await;
    Ok(ids
        .iter()
        .zip(jobs)
        .zip(owners)
        .zip(found_jobs)
        .map(
            |(((id, job), owner), found_job)| match owner.and_then(|owner| looked.get(&owner)) {
                Some(Ok(_)) if job.is_some() => found_job.map(|job| job.map(NodeValue::BackupJob)),
                Some(Ok(customer)) => Ok(found(customer, id)),
                Some(Err(error)) => Err(to_graphql(Arc::clone(error))),
                None => Ok(None),
            },
        )
        .collect())
}

/// The entries of `nodes`, an entry that failed being `null` with its error at its own index,
/// as its nullable item type allows (async-graphql would null the whole list for it).
pub(super) fn each_failed_alone(
    ctx: &Context<'_>,
    found: Vec<Result<Option<NodeValue>>>,
) -> Vec<Option<NodeValue>> {
    found
        .into_iter()
        .enumerate()
        .map(|(index, entry)| {
            entry.unwrap_or_else(|error| {
                let mut error = error.into_server_error(ctx.item.pos);
                let field = ctx
                    .path_node
                    .map(|node| node.to_string_vec())
                    .unwrap_or_default();
                error.path = field
                    .into_iter()
                    .map(PathSegment::Field)
                    .chain([PathSegment::Index(index)])
                    .collect();
                ctx.add_error(error);
                None
            })
        })
        .collect()
}

/// The object `id` names within `customer`: the customer itself, or one of its products.
fn found(customer: &Arc<Customer>, id: &ID) -> Option<NodeValue> {
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
}
