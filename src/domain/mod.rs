//! The typed model the gateway serves, built once per upstream answer.
//!
//! [`Customer`] and [`Product`] keep the upstream's verbatim text ([`RawProduct`]) and add the
//! parsed values that ordering and filtering need; [`Snapshot`] is every customer at one moment
//! with the indices that make lookups and expiry-range filters cheap. Nothing here knows HTTP,
//! caching or GraphQL.

mod model;
pub mod normalize;
mod snapshot;

pub use crate::upstream::wire::RawProduct;
pub use model::{Customer, Product, ProductFilter};
pub use snapshot::{ProductRef, Snapshot};
