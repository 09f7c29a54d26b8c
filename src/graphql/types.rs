//! The schema's object and input types, as thin views over the domain model.
//!
//! Nodes hold `Arc`s into a cached snapshot, so answering a query shares data instead of
//! copying it; text and Int fields are normalised as they are read.

use std::sync::Arc;

use async_graphql::{Context, ID, InputObject, Interface, Object, Result};

use super::{
    partner,
    scalars::DateTime,
    table::{with_customer_texts, with_product_scalars},
};
use crate::{
    domain::with_raw_fields,
    domain::{Customer, ProductFilter, ProductRef, RawProduct, normalize},
};

/// A customer of the partner.
pub(super) struct CustomerNode(pub Arc<Customer>);

/// Generates the `Customer` type: the text fields the [field table](super::table) declares,
/// and the rest.
macro_rules! customer_object {
    (texts: [$($text:ident => $text_name:literal: $text_doc:literal),+ $(,)?] $(,)?) => {
        /// A customer of the partner, with its subscriptions.
        #[Object(name = "Customer")]
        impl CustomerNode {
            /// The upstream `customerId`.
            async fn id(&self) -> ID {
                ID(self.0.id.to_string())
            }

            $(
                #[doc = $text_doc]
                #[graphql(name = $text_name)]
                async fn $text(&self) -> Option<&str> {
                    self.0.$text.as_deref()
                }
            )+

            /// The owner's e-mail address, from `customers/batch`.
            async fn owner_email(&self, ctx: &Context<'_>) -> Result<Option<String>> {
                Ok(partner::details(ctx, &self.0.id)
                    .await?
                    .and_then(|details| details.owner_email.as_deref().map(str::to_owned)))
            }

            /// The customer's country or region, from `customers/batch`.
            async fn country_or_region(&self, ctx: &Context<'_>) -> Result<Option<String>> {
                Ok(partner::details(ctx, &self.0.id)
                    .await?
                    .and_then(|details| details.country_or_region.as_deref().map(str::to_owned)))
            }

            /// Who manages the customer's tenant; null for a number the documents do not list.
            async fn management_mode(&self, ctx: &Context<'_>) -> Result<Option<partner::ManagementMode>> {
                Ok(partner::details(ctx, &self.0.id)
                    .await?
                    .and_then(|details| details.management_mode.map(Into::into)))
            }

            /// The state of the customer's backups (`jobStatus`); null for 0 ("N/A") and numbers the
            /// documents do not list.
            async fn backup_status(&self, ctx: &Context<'_>) -> Result<Option<partner::BackupStatus>> {
                Ok(partner::details(ctx, &self.0.id)
                    .await?
                    .and_then(|details| details.backup_status.map(Into::into)))
            }

            /// The customer's tenants, from `customers/batch`; null (with the error) when it cannot be
            /// read, never the customer.
            async fn tenants(&self, ctx: &Context<'_>) -> Result<Option<Vec<partner::Tenant>>> {
                Ok(partner::details(ctx, &self.0.id)
                    .await?
                    .map(|details| details.tenants.iter().map(Into::into).collect()))
            }

            /// The customer's backup jobs, newest `startTime` first (undated last): the first
            /// `first` (at most 100) of those of `service`, in one of `status`, started at or
            /// after `since`. Null (with the error) when they cannot be read.
            async fn backup_jobs(
                &self,
                ctx: &Context<'_>,
                #[graphql(default_with = "partner::DEFAULT_JOBS")] first: i32,
                service: Option<partner::BackupService>,
                status: Option<Vec<partner::JobStatus>>,
                since: Option<DateTime>,
            ) -> Result<Option<Vec<partner::BackupJobNode>>> {
                let arguments = partner::JobArguments { first, service, status, since };
                partner::backup_jobs(ctx, &self.0.id, arguments).await
            }

            /// The seats of the customer's tenants on `platform`. Null (with the error) when they
            /// cannot be read.
            async fn seats(
                &self,
                ctx: &Context<'_>,
                platform: partner::Platform,
            ) -> Result<Option<Vec<partner::TenantSeats>>> {
                partner::seats(ctx, &self.0.id, platform).await
            }

            /// What the customer's Microsoft 365 backup protects, one entry per module. Null (with
            /// the error) when it cannot be read.
            async fn backup_coverage(&self, ctx: &Context<'_>) -> Result<Option<Vec<partner::BackupModule>>> {
                partner::coverage(ctx, &self.0.id).await
            }

            /// This customer's subscriptions, ordered by `expirationDate` ascending with undated ones
            /// last (ties in upstream order), narrowed by `filter`.
            async fn products(&self, filter: Option<ProductFilterInput>) -> Vec<ProductNode> {
                let filter = ProductFilter::from(filter.unwrap_or_default());
                self.0
                    .products_matching(&filter)
                    .map(|index| {
                        ProductNode(ProductRef {
                            customer: Arc::clone(&self.0),
                            index,
                        })
                    })
                    .collect()
            }

        }
    };
}

with_customer_texts!(customer_object);

/// An object with a global id (the Relay server specification): `node(id:)` finds it again.
#[derive(Interface)]
#[graphql(
    name = "Node",
    field(name = "id", ty = "ID", desc = "The object's global id.")
)]
pub(super) enum NodeValue {
    /// A customer; its global id is the upstream `customerId`.
    Customer(CustomerNode),
    /// A product.
    Product(ProductNode),
    /// A backup job.
    BackupJob(partner::BackupJobNode),
}

/// Narrows a product list; every condition given must hold.
#[derive(InputObject, Default)]
#[graphql(name = "ProductFilter")]
pub struct ProductFilterInput {
    /// Only products whose `expirationDate` is strictly before this instant (undated never match).
    pub expiring_before: Option<DateTime>,
    /// Only products whose `expirationDate` is strictly after this instant (undated never match).
    pub expiring_after: Option<DateTime>,
    /// Only products whose service name contains this text, ignoring case.
    pub service: Option<String>,
    /// Only products of this customer.
    pub customer_id: Option<ID>,
}

impl From<ProductFilterInput> for ProductFilter {
    fn from(input: ProductFilterInput) -> Self {
        Self {
            expiring_before: input.expiring_before.map(|instant| instant.0),
            expiring_after: input.expiring_after.map(|instant| instant.0),
            service: input.service,
            customer_id: input.customer_id.map(|id| id.0),
        }
    }
}

/// One subscription of a customer.
pub(super) struct ProductNode(pub ProductRef);

impl ProductNode {
    fn text(&self, field: impl Fn(&RawProduct) -> &Option<Box<str>>) -> Option<&str> {
        normalize::text(field(&self.0.product().raw).as_deref())
    }

    fn int(&self, field: impl Fn(&RawProduct) -> &Option<Box<str>>) -> Option<i32> {
        normalize::int(field(&self.0.product().raw).as_deref())
    }
}

/// Generates the `Product` type: the fields the [field table](super::table) declares, and
/// the rest.
macro_rules! product_object {
    (
        texts: [$($text:ident => $text_name:literal: $text_doc:literal),+ $(,)?],
        ints: [$($int:ident => $int_name:literal: $int_doc:literal),+ $(,)?] $(,)?
    ) => {
        /// One subscription of a customer. Text fields are null for "N/A", empty or missing values;
        /// Int and DateTime fields are null when the upstream's text does not parse (see `raw`).
        #[Object(name = "Product")]
        impl ProductNode {
            /// The product's global id (the upstream gives products none): opaque, and the same
            /// while the upstream's fields for this product are.
            async fn id(&self) -> ID {
                ID(self.0.product().id())
            }

            /// Id of the customer that holds this subscription.
            async fn customer_id(&self) -> ID {
                ID(self.0.customer.id.to_string())
            }

            /// The customer that holds this subscription: the one the product was read with, so the
            /// two always come from the same upstream answer and no lookup is needed.
            async fn customer(&self) -> CustomerNode {
                CustomerNode(Arc::clone(&self.0.customer))
            }

            /// The service subscribed to, e.g. "Cloud Backup for Microsoft 365" (empty when the
            /// upstream gives none).
            async fn service(&self) -> &str {
                self.0.product().service()
            }

            $(
                #[doc = $text_doc]
                #[graphql(name = $text_name)]
                async fn $text(&self) -> Option<&str> {
                    self.text(|raw| &raw.$text)
                }
            )+

            $(
                #[doc = $int_doc]
                #[graphql(name = $int_name)]
                async fn $int(&self) -> Option<i32> {
                    self.int(|raw| &raw.$int)
                }
            )+

            /// When the subscription expires; null when absent or unparseable.
            async fn expiration_date(&self) -> Option<DateTime> {
                self.0.product().expiration_date.map(DateTime)
            }

            /// When the contract ends; null when absent or unparseable.
            async fn contract_end_date(&self) -> Option<DateTime> {
                self.0.product().contract_end_date.map(DateTime)
            }

            /// All 18 upstream fields exactly as sent, nothing normalised.
            async fn raw(&self) -> RawProductNode<'_> {
                RawProductNode(&self.0.product().raw)
            }
        }
    };
}

with_product_scalars!(product_object);

/// The verbatim upstream record of a product.
pub(super) struct RawProductNode<'a>(&'a RawProduct);

/// Generates the `RawProduct` type: one verbatim String field per upstream field.
macro_rules! raw_product_object {
    ($($field:ident => $json:literal),+ $(,)?) => {
        /// A product exactly as the upstream sent it: every field's verbatim text ("N/A"
        /// included), null only when the upstream left the field out.
        #[Object(name = "RawProduct")]
        impl RawProductNode<'_> {
            $(
                #[doc = concat!("The upstream's `", $json, "`, verbatim.")]
                #[graphql(name = $json)]
                async fn $field(&self) -> Option<&str> {
                    self.0.$field.as_deref()
                }
            )+
        }
    };
}

with_raw_fields!(raw_product_object);
