//! A deterministic sample of customers and products in the upstream's own wire form.
//!
//! The same seed always gives the same data. Values are written the way the real upstream
//! writes them, odd cases included: `"N/A"` and missing fields, every historical date form,
//! 7-digit fractions, unparseable numbers and dates, and non-ASCII names.

use serde::Serialize;

use crate::domain::RawProduct;

/// A customer as the mock upstream sends it.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MockCustomer {
    /// Stable id derived from the seed.
    pub customer_id: String,
    /// Organisation name, sometimes `"N/A"`.
    pub organization: String,
    /// E-mail address, sometimes `"N/A"`.
    pub customer: String,
    /// Products, exactly as many as asked for.
    pub products: Vec<RawProduct>,
}

/// SplitMix64: tiny, fast, and stable across versions (a dataset must not change when a
/// random-number crate does).
pub(super) struct Rng(pub(super) u64);

impl Rng {
    /// The next number of the sequence.
    pub(super) fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number below `bound` (0 when `bound` is 0).
    pub(super) fn below(&mut self, bound: u64) -> u64 {
        self.next() % bound.max(1)
    }

    /// One of `items`.
    pub(super) fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len() as u64) as usize]
    }

    /// True `percent` times in 100.
    pub(super) fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
}

const PREFIXES: &[&str] = &[
    "Northwind",
    "Contoso",
    "Fabrikam",
    "Tailspin",
    "Adventure",
    "Litware",
    "Proseware",
    "Woodgrove",
    "Fourth Coffee",
    "Alpine",
    "Blue Yonder",
    "Coho",
    "Humongous",
    "Lucerne",
    "Margie's",
    "Trey",
    "Wingtip",
    "Wide World",
    "Zürich",
    "Ångström",
    "東京",
    "Café Olé",
];
const SUFFIXES: &[&str] = &[
    "Traders",
    "Insurance",
    "Bank",
    "Logistics",
    "Airlines",
    "Research",
    "Labs",
    "Health",
    "Winery",
    "Publishing",
    "Toys",
    "Importers",
    "Systems",
    "Partners",
    "Versicherungen",
    "ソリューションズ",
];
const FORMS: &[&str] = &[
    "Ltd",
    "Inc.",
    "GmbH",
    "AG",
    "LLC",
    "S.A.",
    "株式会社",
    "plc",
];
const SERVICES: &[&str] = &[
    "Cloud Backup for Microsoft 365",
    "Cloud Backup for Salesforce",
    "Cloud Backup for Google Workspace",
    "Cloud Governance",
    "Cloud Management",
    "Cloud Archiving",
    "Policies & Insights",
    "Fly Migration",
    "Opus",
];
const MODELS: &[&str] = &["Subscription", "Subscription", "Trial", "Perpetual", "N/A"];
const CAPACITIES: &[&str] = &["500 GB", "1 TB", "5 TB", "10 TB", "Unlimited", "N/A"];
const STORAGE: &[&str] = &["AvePoint Storage", "Bring your own storage", "N/A"];
const RETENTION: &[&str] = &["1 year", "3 years", "7 years", "Unlimited", "N/A"];
const CHANGES: &[&str] = &["New", "Renewal", "Upgrade", "Downgrade", "N/A"];
const SOURCES: &[&str] = &["Partner portal", "Marketplace", "Direct", "N/A"];
const PAYMENTS: &[&str] = &["Invoice", "Credit card", "Prepaid", "N/A"];
const PACKAGES: &[&str] = &["Essentials", "Standard", "Enterprise", "N/A"];

/// Builds `customers` customers with `products_per_customer` products each from `seed`.
pub fn generate(customers: usize, products_per_customer: usize, seed: u64) -> Vec<MockCustomer> {
    let mut rng = Rng(seed);
    (0..customers)
        .map(|index| {
            let id = format!(
                "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
                rng.next() as u32,
                rng.next() as u16,
                rng.below(0x1000),
                0x8000 | (rng.next() as u16 & 0x3fff),
                rng.next() & 0xffff_ffff_ffff
            );
            let organization = if rng.chance(3) {
                "N/A".to_owned()
            } else {
                format!(
                    "{} {} {} {}",
                    rng.pick(PREFIXES),
                    rng.pick(SUFFIXES),
                    rng.pick(FORMS),
                    index + 1
                )
            };
            let customer = if rng.chance(5) {
                "N/A".to_owned()
            } else {
                format!("admin{}@customer{}.example.com", index + 1, index + 1)
            };
            let products = (0..products_per_customer)
                .map(|_| product(&mut rng))
                .collect();
            MockCustomer {
                customer_id: id,
                organization,
                customer,
                products,
            }
        })
        .collect()
}

/// The upstream fields with a distribution of their own in [`product`]; any other field of
/// the upstream's list (one added to `domain/raw.rs`) gets [`fill_unshaped`]'s text, so the
/// mock needs no change for it.
const SHAPED: [&str; 18] = [
    "service",
    "subscriptionModel",
    "purchasedUserSeats",
    "purchasedUnits",
    "microsoftLicenseAssigned",
    "microsoftLicenseAvailable",
    "purchasedCapacity",
    "protectedCapacity",
    "storage",
    "retention",
    "consumedStorage",
    "expirationDate",
    "change",
    "source",
    "paymentType",
    "subscriptionName",
    "package",
    "contractEndDate",
];

/// Generates [`fill_unshaped`] from the upstream's field list.
macro_rules! unshaped_filler {
    ($($field:ident => $json:literal),+ $(,)?) => {
        /// Gives every upstream field without a distribution of its own a text like the
        /// upstream's: usually its name and a number, sometimes `"N/A"`.
        fn fill_unshaped(raw: &mut RawProduct, rng: &mut Rng) {
            $(
                if !SHAPED.contains(&$json) {
                    raw.$field = Some(if rng.chance(10) {
                        "N/A".into()
                    } else {
                        format!("{} {}", $json, rng.below(100)).into()
                    });
                }
            )+
        }
    };
}

crate::domain::with_raw_fields!(unshaped_filler);

#[allow(
    clippy::needless_update,
    reason = "a field added to the upstream's list gets fill_unshaped's value, not a compile error here"
)]
fn product(rng: &mut Rng) -> RawProduct {
    let service = rng.pick(SERVICES);
    let seats = count(rng, 5000);
    let some = |text: &str| Some(Box::<str>::from(text));
    let mut raw = RawProduct {
        service: if rng.chance(2) {
            some("N/A")
        } else {
            some(service)
        },
        subscription_model: some(rng.pick(MODELS)),
        purchased_user_seats: seats.clone(),
        purchased_units: count(rng, 200),
        microsoft_license_assigned: count(rng, 5000),
        microsoft_license_available: count(rng, 500),
        purchased_capacity: some(rng.pick(CAPACITIES)),
        protected_capacity: some(rng.pick(CAPACITIES)),
        storage: some(rng.pick(STORAGE)),
        retention: some(rng.pick(RETENTION)),
        consumed_storage: Some(format!("{}.{:02} GB", rng.below(4000), rng.below(100)).into()),
        expiration_date: date(rng),
        change: some(rng.pick(CHANGES)),
        source: if rng.chance(10) {
            None
        } else {
            some(rng.pick(SOURCES))
        },
        payment_type: some(rng.pick(PAYMENTS)),
        subscription_name: Some(
            format!("{service} ({} seats)", seats.as_deref().unwrap_or("N/A")).into(),
        ),
        package: some(rng.pick(PACKAGES)),
        contract_end_date: date(rng),
        ..RawProduct::default()
    };
    fill_unshaped(&mut raw, rng);
    raw
}

/// A count as text: usually a number, sometimes `"N/A"`, rarely text that is not a number.
fn count(rng: &mut Rng, max: u64) -> Option<Box<str>> {
    let text = match rng.below(20) {
        0 | 1 => "N/A".to_owned(),
        2 => "unlimited".to_owned(),
        _ => rng.below(max).to_string(),
    };
    Some(text.into())
}

/// A date between 2025-01-01 and 2028-12-31 in one of the upstream's forms, or a placeholder.
fn date(rng: &mut Rng) -> Option<Box<str>> {
    let day = chrono::NaiveDate::from_ymd_opt(2025, 1, 1).unwrap_or_default()
        + chrono::Days::new(rng.below(4 * 365));
    let (y, m, d) = (day.format("%Y"), day.format("%m"), day.format("%d"));
    let text = match rng.below(20) {
        0..=5 => format!("{y}-{m}-{d}T00:00:00Z"),
        6 | 7 => format!(
            "{y}-{m}-{d}T{:02}:{:02}:00.{:07}Z",
            rng.below(24),
            rng.below(60),
            rng.below(10_000_000)
        ),
        8..=10 => format!("{y}/{m}/{d}"),
        11..=13 => format!("{y}-{m}-{d}"),
        14 | 15 => format!("{m}/{d}/{y}"),
        16 | 17 => "N/A".to_owned(),
        18 => "TBD".to_owned(),
        _ => return None,
    };
    Some(text.into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_seed_gives_the_same_data_and_another_seed_differs() {
        let a = serde_json::to_string(&generate(30, 4, 7)).unwrap();
        let b = serde_json::to_string(&generate(30, 4, 7)).unwrap();
        let c = serde_json::to_string(&generate(30, 4, 8)).unwrap();
        assert_eq!(a, b);
        assert_ne!(a, c);
    }

    #[test]
    fn ids_are_unique_and_counts_exact() {
        let data = generate(2000, 3, 1);
        let ids: std::collections::HashSet<_> = data.iter().map(|c| &c.customer_id).collect();
        assert_eq!(ids.len(), 2000);
        assert!(data.iter().all(|c| c.products.len() == 3));
    }
}
