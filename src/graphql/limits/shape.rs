//! What the cost walk knows of the schema: each field's type and how many items a list field
//! brings, so nested lists multiply.
//!
//! Kept beside the walk rather than read from async-graphql's registry: the walk runs before
//! validation on every request, and a `match` on two strings is the cheapest lookup there is.
//! Tests hold the field table against the schema's SDL and the introspection sizes against
//! its introspection.

use crate::{
    domain::{ProductFilter, Snapshot},
    graphql::partner::DETAILS_FIELDS,
    graphql::sdl::{ASSUMED_PRODUCTS, ASSUMED_PRODUCTS_PER_CUSTOMER},
};

/// `Customer.tenants` and `seats`: the tenants one customer has, generously (customers have
/// one or two).
const ASSUMED_TENANTS: u64 = 10;

/// `Customer.backupCoverage`: the modules one customer's backup protects, generously (the
/// documents list seven).
const ASSUMED_MODULES: u64 = 20;

/// Introspection lists, sized from this schema (a test checks them against it): the answer is
/// built from the schema alone, so its size is known without the data.
pub(super) mod introspection {
    /// `__Schema.types`: at least every type the schema has (34 today).
    pub(in super::super) const TYPES: u64 = 34;
    /// `__Type.fields`: the fields a type has on average, read from the schema, so a field
    /// added to the table needs no change here. The average, not the most (22 on `BackupJob`):
    /// the full introspection query lists every type's fields, which the average counts
    /// exactly, and the most would price at four times its real size.
    pub(in super::super) fn fields() -> u64 {
        crate::graphql::fields::average_fields()
    }
    /// `args` and `inputFields`: the average per field or type, rounded up (few fields take
    /// arguments). The longest (`customers`, three) would price the full introspection query
    /// at three times its real size.
    pub(in super::super) const ARGUMENTS: u64 = 1;
    /// `__Type.enumValues`: the longest enum (`__DirectiveLocation`).
    pub(in super::super) const ENUM_VALUES: u64 = 19;
    /// `interfaces` and `possibleTypes` (`Node`'s three).
    pub(in super::super) const IMPLEMENTATIONS: u64 = 3;
    /// `__Schema.directives`.
    pub(in super::super) const DIRECTIVES: u64 = 6;
}

/// How many items a field brings, per item of its parent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Items {
    /// One object, or a scalar.
    One,
    /// A fixed number (introspection lists).
    Fixed(u64),
    /// Root `products`: as many as its filter may match in the snapshot.
    RootProducts,
    /// `Customer.products`: the most products one customer has.
    CustomerProducts,
    /// `customers`: one connection whose `edges` and `nodes` bring `first` items.
    Connection,
    /// `edges` and `nodes` of a connection: its `first`.
    Page,
    /// `nodes(ids:)`: as many as the ids given.
    Ids,
    /// `Customer.backupJobs`: its `first`.
    Jobs,
}

/// Which upstream read a `Customer` field needs for each customer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum SiteKind {
    /// The details (`customers/batch`).
    Details,
    /// The backup jobs.
    Jobs,
    /// The tenants' seats.
    Seats,
    /// The backup coverage.
    Coverage,
}

/// The read `Customer.<field>` needs, if any.
pub(super) fn site(field: &str) -> Option<SiteKind> {
    match field {
        _ if DETAILS_FIELDS.contains(&field) => Some(SiteKind::Details),
        "backupJobs" => Some(SiteKind::Jobs),
        "seats" => Some(SiteKind::Seats),
        "backupCoverage" => Some(SiteKind::Coverage),
        _ => None,
    }
}

/// The type of `field` on `parent` (when it has fields of its own) and how many items it brings.
/// A field the table does not know counts once; validation refuses it later.
pub(super) fn field(parent: &str, field: &str) -> (Option<&'static str>, Items) {
    use Items::{Connection, CustomerProducts, Fixed, Ids, One, Page, RootProducts};
    use introspection as i;
    match (parent, field) {
        (_, "__typename") => (None, One),
        ("Query" | "Subscription", "customers") => (Some("CustomerConnection"), Connection),
        ("Query" | "Subscription", "customer") => (Some("Customer"), One),
        ("Query" | "Subscription", "products") => (Some("Product"), RootProducts),
        ("Query", "node") => (Some("Node"), One),
        ("Query", "nodes") => (Some("Node"), Ids),
        ("Query", "__schema") => (Some("__Schema"), One),
        ("Query", "__type") => (Some("__Type"), One),
        ("CustomerConnection", "edges") => (Some("CustomerEdge"), Page),
        ("CustomerConnection", "nodes") => (Some("Customer"), Page),
        ("CustomerConnection", "pageInfo") => (Some("PageInfo"), One),
        ("CustomerEdge", "node") => (Some("Customer"), One),
        ("Customer", "products") => (Some("Product"), CustomerProducts),
        ("Customer", "tenants") => (Some("Tenant"), Fixed(ASSUMED_TENANTS)),
        ("Customer", "backupJobs") => (Some("BackupJob"), Items::Jobs),
        ("Customer", "seats") => (Some("TenantSeats"), Fixed(ASSUMED_TENANTS)),
        ("Customer", "backupCoverage") => (Some("BackupModule"), Fixed(ASSUMED_MODULES)),
        ("Product", "customer") => (Some("Customer"), One),
        ("Product", "raw") => (Some("RawProduct"), One),
        ("__Schema", "types") => (Some("__Type"), Fixed(i::TYPES)),
        ("__Schema", "queryType" | "mutationType" | "subscriptionType") => (Some("__Type"), One),
        ("__Schema", "directives") => (Some("__Directive"), Fixed(i::DIRECTIVES)),
        ("__Type", "fields") => (Some("__Field"), Fixed(i::fields())),
        ("__Type", "interfaces" | "possibleTypes") => (Some("__Type"), Fixed(i::IMPLEMENTATIONS)),
        ("__Type", "enumValues") => (Some("__EnumValue"), Fixed(i::ENUM_VALUES)),
        ("__Type", "inputFields") => (Some("__InputValue"), Fixed(i::ARGUMENTS)),
        ("__Type", "ofType") | ("__Field" | "__InputValue", "type") => (Some("__Type"), One),
        ("__Field" | "__Directive", "args") => (Some("__InputValue"), Fixed(i::ARGUMENTS)),
        _ => (None, One),
    }
}

/// The schema's name for a type condition, when the walk knows the type.
pub(super) fn known_type(name: &str) -> Option<&'static str> {
    const TYPES: &[&str] = &[
        "Query",
        "Subscription",
        "Node",
        "CustomerConnection",
        "CustomerEdge",
        "PageInfo",
        "Customer",
        "Product",
        "RawProduct",
        "Tenant",
        "BackupJob",
        "TenantSeats",
        "BackupModule",
        "__Schema",
        "__Type",
        "__Field",
        "__InputValue",
        "__EnumValue",
        "__Directive",
    ];
    TYPES.iter().copied().find(|known| *known == name)
}

/// List sizes from the data at hand: the cached snapshot, or the assumed sizes without one.
#[derive(Debug, Clone, Copy, Default)]
pub struct ListSizes<'a> {
    snapshot: Option<&'a Snapshot>,
}

impl<'a> ListSizes<'a> {
    /// Sizes measured on `snapshot` (the latest cached, fresh or not), or assumed when `None`.
    pub fn new(snapshot: Option<&'a Snapshot>) -> Self {
        Self { snapshot }
    }

    /// Whether sizes are assumed (no snapshot is cached).
    pub fn is_assumed(&self) -> bool {
        self.snapshot.is_none()
    }

    /// Root `products` with `filter` (when its value is known): the products the snapshot's
    /// indices say it may match, an upper bound found without scanning.
    pub(super) fn root_products(&self, filter: Option<&ProductFilter>) -> u64 {
        self.snapshot.map_or(ASSUMED_PRODUCTS, |snapshot| {
            let bound = filter.map_or_else(
                || snapshot.product_count(),
                |filter| snapshot.products_bound(filter),
            );
            bound as u64
        })
    }

    /// A `customers` page of `first`: no more than the customers there are (`first` itself
    /// without the data, a bound they can only lower).
    pub(super) fn page(&self, first: u64) -> u64 {
        self.snapshot.map_or(first, |snapshot| {
            first.min(snapshot.customers().len() as u64)
        })
    }

    /// `Customer.products`: the most products one customer has.
    pub(super) fn customer_products(&self) -> u64 {
        self.snapshot
            .map_or(ASSUMED_PRODUCTS_PER_CUSTOMER, |snapshot| {
                snapshot.most_products() as u64
            })
    }
}
