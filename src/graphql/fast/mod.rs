//! The fast executor: this schema's data fields answered without async-graphql's executor.
//!
//! Every resolver of the schema is a read of the cached snapshot (or of the customers cache),
//! so a request needs no future per field and no value tree. A document that async-graphql
//! has validated once is bound to each request's variables ([`bind`]); the root fields
//! read what they need, together, through the same functions the async-graphql resolvers call
//! (`query.rs`); then the data are written as JSON in one synchronous walk ([`write`]).
//!
//! Left to async-graphql (see docs/caching.md): a document not yet validated, introspection
//! (`__schema`, `__type`), and variable values that do not fit their types (which
//! [`super::variables`] answers with request errors). Field errors can only come from root fields, which read the caches; each is null
//! with its error, and a non-null one nulls `data`, as the specification says.

mod bind;
mod input;
mod kept;
mod plan;
mod write;

#[cfg(test)]
mod tests;

use std::sync::Arc;

use async_graphql::{
    PathSegment, ServerError, Variables,
    parser::types::{ExecutableDocument, OperationType},
};
use futures::future::join_all;

pub(super) use bind::root_keys;
pub(crate) use input::{Uncovered, check_variable};
pub(crate) use kept::Kept;
use plan::{Root, RootField};

use super::{
    RequestScope,
    connection::CustomerConnection,
    error::{QueryError, to_graphql},
    page::customers_page,
    query::products_matching,
};
use crate::{
    auth::CustomerAccess,
    cache::{ByIds, CustomerStore},
    domain::{Customer, ProductRef},
    upstream::UpstreamError,
};

/// An answer's start, `{"data":` and the data as JSON (the rest of the answer is written
/// after it, in the same buffer), and its field errors in root order.
#[derive(Debug)]
pub(super) struct Written {
    pub opened: Vec<u8>,
    pub errors: Vec<ServerError>,
}

/// What every answer starts with.
const OPENING: &[u8] = b"{\"data\":";

/// Runs `operation_name` of a validated `document` for `access`, with the plan `kept` holds
/// for these variables (or one bound now, then kept), or says it is [`Uncovered`] before
/// reading anything.
pub(super) async fn run(
    document: &ExecutableDocument,
    kept: &Kept,
    operation_name: Option<&str>,
    variables: &Variables,
    access: &CustomerAccess,
    store: &CustomerStore,
    scope: &RequestScope,
) -> Result<Written, Uncovered> {
    let held = match kept.plan(operation_name, variables) {
        Some(held) => held,
        None => {
            let (_, operation) =
                super::chosen_operation(document, operation_name).ok_or(Uncovered)?;
            if operation.node.ty != OperationType::Query {
                return Err(Uncovered);
            }
            let plan = bind::bind(document, &operation.node, variables)?;
            kept.keep(operation_name, variables, plan)
        }
    };
    let roots = &held.plan().roots;
    let reads = read(roots, access, store, scope).await;
    Ok(answer(roots, reads, kept.answer_capacity()))
}

/// What one root field read.
enum Read {
    /// `__typename`, which reads nothing; also a `customer(id)` until its batch is in.
    Nothing,
    Page(Result<CustomerConnection, QueryError>),
    Products(Result<Vec<ProductRef>, QueryError>),
    /// `customer(id)`: the id's customer from the batch (none when the caller may not see it).
    Customer(Result<Option<Arc<Customer>>, Arc<UpstreamError>>),
}

/// Reads every root field at once; the `customer(id)` fields share one batch, as the
/// DataLoader batches them for async-graphql.
async fn read(
    roots: &[Root],
    access: &CustomerAccess,
    store: &CustomerStore,
    scope: &RequestScope,
) -> Vec<Read> {
    let mut ids: Vec<String> = Vec::new();
    for root in roots {
        if let Some(RootField::Customer(id, _)) = &root.field
            && access.allows(id)
            && !ids.contains(id)
        {
            ids.push(id.clone());
        }
    }
    let batch = async {
        if ids.is_empty() {
            return ByIds::default();
        }
        store.metrics().loader_batch(ids.len());
        let served = store.customers(&ids, scope.deadline).await;
        scope.reads.note(served.provenance);
        served.value
    };
    let fields = join_all(roots.iter().map(|root| async move {
        match &root.field {
            None | Some(RootField::Customer(..)) => Read::Nothing,
            Some(RootField::Customers(wanted, _)) => {
                Read::Page(customers_page(store, access, scope, wanted.clone()).await)
            }
            Some(RootField::Products(filter, _)) => {
                Read::Products(products_matching(store, access, scope, filter).await)
            }
        }
    }));
    let (batch, fields) = tokio::join!(batch, fields);
    roots
        .iter()
        .zip(fields)
        .map(|(root, read)| match &root.field {
            Some(RootField::Customer(id, _)) if access.allows(id) => Read::Customer(batch.get(id)),
            Some(RootField::Customer(..)) => Read::Customer(Ok(None)),
            _ => read,
        })
        .collect()
}

/// Writes the data of `roots` from what they read.
fn answer(roots: &[Root], reads: Vec<Read>, capacity: usize) -> Written {
    let mut data = Vec::with_capacity(capacity);
    data.extend_from_slice(OPENING);
    let mut errors = Vec::new();
    // A failed non-null root field nulls `data`; every root's error is still reported.
    let mut nulled = false;
    data.push(b'{');
    for (index, (root, read)) in roots.iter().zip(reads).enumerate() {
        if index > 0 {
            data.push(b',');
        }
        root.key.write(&mut data);
        match (&root.field, read) {
            (None, _) => write::string(&mut data, "Query"),
            (Some(RootField::Customers(_, selected)), Read::Page(Ok(page))) => {
                write::connection(&mut data, selected, &page);
            }
            (Some(RootField::Products(_, selected)), Read::Products(Ok(products))) => {
                write::products(&mut data, selected, &products);
            }
            (Some(RootField::Customer(_, selected)), Read::Customer(Ok(Some(customer)))) => {
                write::customer(&mut data, selected, &customer);
            }
            (_, Read::Customer(Err(error))) => {
                errors.push(field_error(root, QueryError::from(error)));
                data.extend_from_slice(b"null");
            }
            (_, Read::Page(Err(error)) | Read::Products(Err(error))) => {
                errors.push(field_error(root, error));
                nulled = true;
            }
            _ => data.extend_from_slice(b"null"),
        }
    }
    data.push(b'}');
    if nulled {
        data.truncate(OPENING.len());
        data.extend_from_slice(b"null");
    }
    Written {
        opened: data,
        errors,
    }
}

/// The error of root field `root`, placed at its key and where it was written.
fn field_error(root: &Root, error: QueryError) -> ServerError {
    let mut error = to_graphql(error).into_server_error(root.pos);
    error.path = vec![PathSegment::Field(root.key.name.to_string())];
    error
}
