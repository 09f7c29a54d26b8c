//! The typed model the gateway serves, built once per upstream answer.
//!
//! [`RawCustomer`] and [`RawProduct`] are the upstream's records as it sends them;
//! [`Customer`] and [`Product`] keep that verbatim text and add the
//! parsed values that ordering and filtering need; [`Snapshot`] is every customer at one moment
//! with the indices that make lookups and expiry-range filters cheap. Nothing here knows HTTP,
//! caching or GraphQL.

mod ids;
mod model;
pub(crate) mod normalize;
pub(crate) mod partner;
mod raw;
mod snapshot;

pub(crate) use ids::{job_global_id, job_owner, product_customer};
pub(crate) use model::Product;
pub use model::{Customer, ProductFilter};
pub use raw::RawCustomer;
pub use raw::RawProduct;
pub(crate) use raw::{json_kind, with_raw_fields};
pub(crate) use snapshot::ProductRef;
pub use snapshot::Snapshot;
