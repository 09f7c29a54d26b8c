//! What a query may cost, checked on the parsed document before anything executes, in time
//! linear in the document's size whatever its shape.
//!
//! One walk over the chosen operation measures its depth, its estimated cost, its root fields
//! and its aliases, and checks the `customers` page sizes (`first`, `last`) wherever their
//! values are known (literals, variables, variable defaults), so an oversized page is refused
//! before any upstream work. A bad cursor is the field's own error at execution, which reads
//! it before anything upstream. Each fragment is walked once and its summary reused
//! at every spread; an unknown fragment or a cycle of spreads is refused as soon as it is met.
//!
//! The cost model (also in the README and in the SDL's `@listSize`): every field costs 1, and a
//! list field's selection counts once per item it may bring, so nested lists multiply:
//!
//! * root `products`: the products the cached snapshot may match for the given filter (by its
//!   indices; all products without a known filter), or [`ASSUMED_PRODUCTS`](super::sdl::ASSUMED_PRODUCTS) while none
//!   is cached;
//! * `Customer.products`: the most products one customer has (or an assumed 50);
//! * `customers(first: n)`: `edges` and `nodes` bring n items (100 when `first` is not given),
//!   or as many customers as the snapshot holds when that is fewer;
//! * introspection lists: sizes taken from this schema.

mod shape;
mod walk;

use std::time::Instant;

use async_graphql::{Variables, parser::types::ExecutableDocument};

pub use shape::ListSizes;

use super::error::QueryError;
use crate::{cache::CustomerStore, domain::Snapshot};

/// The limits a document is held to (from `GATEWAY_LIMITS_*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueryLimits {
    /// Deepest field nesting.
    pub depth: usize,
    /// Highest estimated cost (see the module docs).
    pub complexity: usize,
    /// Most root fields.
    pub root_fields: usize,
    /// Most aliased fields.
    pub aliases: usize,
    /// Whether `__schema` and `__type` may be asked for (`GATEWAY_INTROSPECTION`).
    pub introspection: bool,
}

/// Why a document was refused before execution.
#[derive(Debug, thiserror::Error)]
pub enum Refusal {
    /// Fields nest deeper than allowed.
    #[error(
        "the query nests fields {found} deep, more than the limit of {limit} (GATEWAY_LIMITS_DEPTH)"
    )]
    Depth {
        /// The limit.
        limit: usize,
        /// How deep the query goes (counted until the limit was passed).
        found: usize,
    },
    /// Selections (fields, inline fragments, fragment spreads) nest deeper than the walk goes.
    #[error(
        "the query nests selections and fragment spreads more than {limit} deep (GATEWAY_LIMITS_DEPTH plus {})",
        walk::NESTING_ALLOWANCE
    )]
    Nesting {
        /// How deep the walk may go.
        limit: usize,
    },
    /// The query's estimated cost is over the limit.
    #[error(
        "the query's estimated cost is {estimate}, over the limit of {limit} (GATEWAY_LIMITS_COMPLEXITY): every field costs 1, and a list's selection counts once per item it may bring (root `products`: the cached products its filter may match; `Customer.products`: the most one customer has; `customers(first: n)`: n), so nested lists multiply"
    )]
    Complexity {
        /// The limit.
        limit: usize,
        /// The estimate.
        estimate: u64,
        /// The estimate assumed how many products there are, for want of a cached snapshot:
        /// with the data in, it may pass.
        assumed: bool,
    },
    /// The operation has too many root fields.
    #[error(
        "the operation has {found} root fields, more than the limit of {limit} (GATEWAY_LIMITS_ROOT_FIELDS)"
    )]
    RootFields {
        /// The limit.
        limit: usize,
        /// How many it has.
        found: u64,
    },
    /// The operation uses too many aliases.
    #[error(
        "the operation has more than {limit} aliased fields, the limit (GATEWAY_LIMITS_ALIASES)"
    )]
    Aliases {
        /// The limit.
        limit: usize,
    },
    /// The operation asks for `__schema` or `__type` while introspection is off.
    #[error(
        "introspection is turned off on this gateway (GATEWAY_INTROSPECTION): `__schema` and `__type` cannot be queried"
    )]
    Introspection,
    /// A spread names a fragment the document does not define.
    #[error("Unknown fragment \"{0}\".")]
    UnknownFragment(String),
    /// A fragment spreads itself, directly or through others.
    #[error("Cannot spread fragment \"{0}\" within itself.")]
    FragmentCycle(String),
    /// An argument's value can be seen to be wrong before execution.
    #[error(transparent)]
    BadArgument(#[from] QueryError),
}

impl Refusal {
    /// The `extensions.code` of the refusal.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Depth { .. } | Self::Nesting { .. } => "QUERY_TOO_DEEP",
            Self::Complexity { .. } => "QUERY_TOO_COMPLEX",
            Self::RootFields { .. } => "TOO_MANY_ROOT_FIELDS",
            Self::Aliases { .. } => "TOO_MANY_ALIASES",
            Self::UnknownFragment(_) | Self::FragmentCycle(_) | Self::Introspection => {
                "GRAPHQL_VALIDATION_FAILED"
            }
            Self::BadArgument(error) => error.code(),
        }
    }

    /// A stable word for the refusal metric.
    pub fn check(&self) -> &'static str {
        match self {
            Self::Depth { .. } | Self::Nesting { .. } => "depth",
            Self::Complexity { .. } => "complexity",
            Self::RootFields { .. } => "root_fields",
            Self::Aliases { .. } => "aliases",
            Self::UnknownFragment(_) | Self::FragmentCycle(_) => "fragments",
            Self::Introspection => "introspection",
            Self::BadArgument(_) => "bad_argument",
        }
    }
}

/// What the walk measured of an operation that passed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Measure {
    /// The estimated cost.
    pub cost: u64,
    /// The deepest field nesting.
    pub depth: usize,
}

/// Checks the operation `operation_name` picks (the only one when `None`) against `limits`,
/// with list sizes from `sizes`. A document whose operation cannot be chosen is left to
/// execution, which reports that (and its measure is `None`).
pub fn check(
    document: &ExecutableDocument,
    operation_name: Option<&str>,
    variables: &Variables,
    limits: QueryLimits,
    sizes: ListSizes<'_>,
) -> Result<Option<Measure>, Refusal> {
    let Some((_, operation)) = super::operation::chosen(document, operation_name) else {
        return Ok(None);
    };
    let summary = walk::Walk::new(document, &operation.node, variables, limits, sizes).run()?;
    if summary.introspection && !limits.introspection {
        return Err(Refusal::Introspection);
    }
    if summary.fields > limits.root_fields as u64 {
        return Err(Refusal::RootFields {
            limit: limits.root_fields,
            found: summary.fields,
        });
    }
    if summary.depth > limits.depth {
        return Err(Refusal::Depth {
            limit: limits.depth,
            found: summary.depth,
        });
    }
    if summary.aliases > limits.aliases as u64 {
        return Err(Refusal::Aliases {
            limit: limits.aliases,
        });
    }
    let cost = summary.total();
    if cost > limits.complexity as u64 {
        return Err(Refusal::Complexity {
            limit: limits.complexity,
            estimate: cost,
            assumed: summary.sized_by_data && sizes.is_assumed(),
        });
    }
    Ok(Some(Measure {
        cost,
        depth: summary.depth,
    }))
}

/// [`check`] with list sizes from `store`'s latest snapshot (fresh or stale, no fetch).
///
/// A query over products refused on assumed sizes, with no snapshot cached yet, is checked
/// again once the snapshot is read (waiting until `deadline` at most), so the first query
/// after start is held to the same sizes as every later one. Only such refusals wait for the
/// read: a query that passes on assumed sizes is not held back (a `customers` page can still
/// be answered early).
pub(crate) async fn measure(
    document: &ExecutableDocument,
    operation_name: Option<&str>,
    variables: &Variables,
    limits: QueryLimits,
    store: &CustomerStore,
    deadline: Instant,
) -> Result<Option<Measure>, Refusal> {
    let checked = |snapshot: Option<&Snapshot>| {
        check(
            document,
            operation_name,
            variables,
            limits,
            ListSizes::new(snapshot),
        )
    };
    let snapshot = store.latest_snapshot().await;
    match checked(snapshot.as_deref()) {
        Err(Refusal::Complexity { assumed: true, .. }) => match store.snapshot(deadline).await {
            Ok(served) => checked(Some(&served.value)),
            Err(_) => checked(None),
        },
        result => result,
    }
}

#[cfg(test)]
mod tests;
