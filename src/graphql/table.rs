//! The field table: the fields of `Product` that read one upstream text, and the text fields
//! of `Customer`, declared once.
//!
//! Each line is the field's Rust name (also the [`RawProduct`](crate::domain::RawProduct)
//! field it reads), its GraphQL name, and its description; `texts` are `String`s (null for
//! "N/A", empty or missing), `ints` are `Int`s (null when the text does not parse). The
//! async-graphql resolvers (`types.rs`), the fast executor's plan (`fast/plan.rs`), the lists
//! of `Product`'s scalars ([`PRODUCT_SCALARS`], which the differential test draws from, and
//! [`PRODUCT_TEXTS`] and [`PRODUCT_INTS`], which the normalisation test checks) and the test
//! that the fast executor covers every field all read this table, so a new scalar is one line
//! here and one in `schema/schema.graphql` (checked against the code by a test).

/// Calls `$then!` with the table (see the module docs).
macro_rules! with_product_scalars {
    ($then:ident) => {
        $then! {
            texts: [
                subscription_model => "subscriptionModel":
                    "How the subscription is sold, e.g. \"Subscription\" or \"Trial\".",
                purchased_capacity => "purchasedCapacity":
                    "Capacity purchased, as the upstream writes it (e.g. \"1 TB\").",
                protected_capacity => "protectedCapacity":
                    "Capacity protected, as the upstream writes it.",
                storage => "storage": "Storage location or kind.",
                retention => "retention": "Retention period.",
                consumed_storage => "consumedStorage": "Storage consumed, as the upstream writes it.",
                change => "change": "The latest change to the subscription, e.g. \"Renewal\".",
                source => "source": "Where the subscription came from.",
                payment_type => "paymentType": "How the subscription is paid.",
                subscription_name => "subscriptionName": "The subscription's name.",
                package => "package": "The package (edition) subscribed to.",
            ],
            ints: [
                purchased_user_seats => "purchasedUserSeats": "User seats purchased.",
                purchased_units => "purchasedUnits": "Units purchased.",
                microsoft_license_assigned => "microsoftLicenseAssigned":
                    "Microsoft licences assigned.",
                microsoft_license_available => "microsoftLicenseAvailable":
                    "Microsoft licences available.",
            ],
        }
    };
}
pub(crate) use with_product_scalars;

/// Calls `$then!` with `Customer`'s text fields: the Rust name (also the
/// [`Customer`](crate::domain::Customer) field, normalised when the snapshot is built), the
/// GraphQL name and the description; the resolvers and the fast executor's plan read it.
macro_rules! with_customer_texts {
    ($then:ident) => {
        $then! {
            texts: [
                organization => "organization":
                    "The organisation's name; null when the upstream has none.",
                email => "email":
                    "The customer's e-mail address (the upstream's `customer` field); null when it has none.",
            ],
        }
    };
}
pub(crate) use with_customer_texts;

/// Generates [`PRODUCT_SCALARS`], [`PRODUCT_TEXTS`] and [`PRODUCT_INTS`] from the table.
macro_rules! scalar_names {
    (
        texts: [$($text:ident => $text_name:literal: $text_doc:literal),+ $(,)?],
        ints: [$($int:ident => $int_name:literal: $int_doc:literal),+ $(,)?] $(,)?
    ) => {
        /// The table's text fields of `Product`, by GraphQL name.
        pub const PRODUCT_TEXTS: &[&str] = &[$($text_name),+];

        /// The table's Int fields of `Product`, by GraphQL name.
        pub const PRODUCT_INTS: &[&str] = &[$($int_name),+];

        /// Every scalar field of `Product` by its GraphQL name: the table's, and `id`,
        /// `customerId`, `service` and the two dates.
        pub const PRODUCT_SCALARS: &[&str] = &[
            "id",
            "customerId",
            "service",
            "expirationDate",
            "contractEndDate",
            $($text_name,)+
            $($int_name,)+
        ];
    };
}

with_product_scalars!(scalar_names);
