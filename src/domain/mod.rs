//! The typed model the gateway serves, built once per upstream answer.
//!
//! [`RawCustomer`] and [`RawProduct`] are the upstream's records as it sends them;
//! [`Customer`] and [`Product`] keep that verbatim text and add the
//! parsed values that ordering and filtering need; [`Snapshot`] is every customer at one moment
//! with the indices that make lookups and expiry-range filters cheap. Nothing here knows HTTP,
//! caching or GraphQL.

mod ids;
mod model;
pub mod normalize;
mod raw;
mod snapshot;

pub use ids::product_customer;
pub use model::{Customer, Product, ProductFilter};
pub use raw::{RawCustomer, RawProduct};
pub(crate) use raw::{json_kind, with_raw_fields};
pub use snapshot::{ProductRef, Snapshot};
