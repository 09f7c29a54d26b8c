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
//! The cost model (also in docs/security.md and in the SDL's `@listSize`): every field costs 1, and a
//! list field's selection counts once per item it may bring, so nested lists multiply:
//!
//! * root `products`: the products the cached snapshot may match for the given filter (by its
//!   indices; all products without a known filter), or [`ASSUMED_PRODUCTS`](super::sdl::ASSUMED_PRODUCTS) while none
//!   is cached;
//! * `Customer.products`: the most products one customer has (or an assumed 50);
//! * `customers(first: n)`: `edges` and `nodes` bring n items (100 when `first` is not given),
//!   or the customers there are when fewer (a page refused on `first` without the data waits
//!   for them, so the verdict is the same whatever is cached);
//! * introspection lists: sizes taken from this schema.

mod fanout;
mod kept;
mod known;
mod shape;
mod walk;

use std::{sync::Arc, time::Instant};

use async_graphql::{Variables, parser::types::ExecutableDocument};

pub(crate) use kept::{KeptWalk, Walkable};
pub use shape::ListSizes;

use super::error::QueryError;
use crate::{auth::CustomerAccess, cache::CustomerStore, domain::Snapshot};

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
    /// Most upstream requests one operation may be estimated to make.
    pub upstream_requests: usize,
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
    },
    /// The upstream requests the query would cause are over the limit.
    #[error(
        "the query is estimated to make {estimate} upstream requests, over the limit of {limit} (GATEWAY_LIMITS_UPSTREAM_REQUESTS): each customer whose backup jobs, seats or coverage it selects and the cache does not hold costs one request per read, and details one per 100 customers; ask for fewer customers, or again once more is cached"
    )]
    UpstreamRequests {
        /// The limit.
        limit: usize,
        /// The estimate.
        estimate: u64,
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
            Self::Complexity { .. } | Self::UpstreamRequests { .. } => "QUERY_TOO_COMPLEX",
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
            Self::UpstreamRequests { .. } => "upstream_requests",
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
    /// The upstream requests it is estimated to make.
    pub upstream: u64,
}

/// Checks the operation `operation_name` picks (the only one when `None`) against `limits`,
/// with list sizes from `sizes`. A document whose operation cannot be chosen is left to
/// execution, which reports that (and its measure is `None`). The upstream requests are not
/// priced here (they need the cache: see [`measure`]).
pub fn check(
    document: &ExecutableDocument,
    operation_name: Option<&str>,
    variables: &Variables,
    limits: QueryLimits,
    sizes: ListSizes<'_>,
) -> Result<Option<Measure>, Refusal> {
    let Some(summary) = walked(document, operation_name, variables, limits, sizes)? else {
        return Ok(None);
    };
    Ok(Some(priced(&summary, limits, 0)?))
}

/// The walk of the chosen operation, held to every limit but the cost.
fn walked(
    document: &ExecutableDocument,
    operation_name: Option<&str>,
    variables: &Variables,
    limits: QueryLimits,
    sizes: ListSizes<'_>,
) -> Result<Option<walk::Summary>, Refusal> {
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
    Ok(Some(summary))
}

/// The measure of a walked operation, its cost held to the limit.
fn priced(summary: &walk::Summary, limits: QueryLimits, upstream: u64) -> Result<Measure, Refusal> {
    let cost = summary.total();
    if cost > limits.complexity as u64 {
        return Err(Refusal::Complexity {
            limit: limits.complexity,
            estimate: cost,
        });
    }
    Ok(Measure {
        cost,
        depth: summary.depth,
        upstream,
    })
}

/// Holds the upstream estimate to its limit.
fn upstream_checked(estimate: u64, limits: QueryLimits) -> Result<u64, Refusal> {
    if estimate > limits.upstream_requests as u64 {
        return Err(Refusal::UpstreamRequests {
            limit: limits.upstream_requests,
            estimate,
        });
    }
    Ok(estimate)
}

/// Whom a document is priced for, and how.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Pricing<'a> {
    /// The customers the caller may see.
    pub access: &'a CustomerAccess,
    /// Price every upstream read as if nothing were cached: a live answer reads each of its
    /// pieces again every TTL, so what happens to be cached now costs it the same.
    pub cold: bool,
}

/// [`check`] with list sizes from `store`'s latest snapshot, and the upstream requests priced
/// for `access` by what the cache holds.
///
/// The same query over the same data gets the same verdict whatever the cache holds: a query
/// whose lists are sized by the data waits (until `deadline`) for the listing its answer
/// reads anyway when none is cached, and is priced on it. Before that wait, the upstream
/// requests are priced on what is known without the listing (a page of `first` customers),
/// so a query over the limit is refused before any upstream request.
///
/// The walk itself is kept with the document (see [`KeptWalk`]) and reused while the
/// operation, the variables, the limits and the snapshot are the same.
pub(crate) async fn measure(
    document: Walkable<'_>,
    operation_name: Option<&str>,
    variables: &Variables,
    limits: QueryLimits,
    store: &CustomerStore,
    pricing: Pricing<'_>,
    deadline: Instant,
) -> Result<Option<Measure>, Refusal> {
    let Pricing { access, cold } = pricing;
    let latest = store.latest_snapshot();
    let walk = |sizes| walked(document.parsed, operation_name, variables, limits, sizes);
    let key = kept::WalkKey {
        operation: operation_name,
        variables,
        limits,
        generation: latest.as_deref().map(Snapshot::generation),
    };
    let summary = match document.kept.and_then(|kept| kept.get(&key)) {
        Some(summary) => summary,
        None => {
            let Some(summary) = walk(ListSizes::new(latest.as_deref()))? else {
                return Ok(None);
            };
            let summary = Arc::new(summary);
            if let Some(kept) = document.kept {
                kept.keep(&key, &summary);
            }
            summary
        }
    };
    let estimate = |snapshot| {
        let known = known::Store::new(store, access, snapshot).cold(cold);
        upstream_checked(fanout::estimate(&summary.fan.reads, &known), limits)
    };
    let upstream = estimate(latest.as_deref())?;
    let priced_now = priced(&summary, limits, upstream);
    // Without the data: product lists have no bound to price by, so the listing is waited for
    // (unless validation will refuse the document anyway); a page priced by its `first` that
    // is refused may be priced by the customers there are.
    let wait = latest.is_none()
        && ((summary.sized_by_data && !summary.invalid)
            || (summary.paged && matches!(priced_now, Err(Refusal::Complexity { .. }))));
    if !wait {
        return priced_now.map(Some);
    }
    match store.snapshot(deadline).await {
        Ok(served) => {
            let snapshot = Some(&*served.value);
            let Some(summary) = walk(ListSizes::new(snapshot))? else {
                return Ok(None);
            };
            let known = known::Store::new(store, access, snapshot).cold(cold);
            let upstream = upstream_checked(fanout::estimate(&summary.fan.reads, &known), limits)?;
            priced(&summary, limits, upstream).map(Some)
        }
        // The answer reports the upstream's failure; the assumed sizes price it meanwhile.
        Err(_) => priced_now.map(Some),
    }
}

#[cfg(test)]
mod tests;
