//! Global ids for products, which the upstream gives none: a normalised cache (Apollo, urql
//! graphcache, Relay) needs one per object.
//!
//! A product's id is base64url (no padding) of `product:v1:<customerId>:<digest>:<n>`: the
//! customer it belongs to, the first 8 bytes of the SHA-256 of its 18 upstream fields (as the
//! upstream sent them), and which of that customer's products with the same fields it is, in
//! upstream order. So the id stays the same while the upstream's data for the product do, on
//! every replica and after every restart, and changes when any of its fields does.

use aws_lc_rs::digest::{SHA256, digest};
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};

use super::RawProduct;

const TAG: &str = "product:v1:";

/// What a product's id is made of besides its customer's id: 12 bytes kept per product, the
/// id itself written when it is asked for (50,000 products would otherwise hold 5 MB of ids).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ProductKey {
    digest: [u8; 8],
    occurrence: u32,
}

impl ProductKey {
    /// The key of the first of a customer's products with these upstream fields.
    pub(super) fn first(raw: &RawProduct) -> Self {
        Self {
            digest: fields_digest(raw),
            occurrence: 0,
        }
    }

    /// The key of the `occurrence`-th product with the same fields.
    pub(super) fn nth(self, occurrence: u32) -> Self {
        Self { occurrence, ..self }
    }

    /// The product's global id, for a product of `customer_id`.
    pub fn id(&self, customer_id: &str) -> String {
        let digest = crate::hex::hex(&self.digest);
        URL_SAFE_NO_PAD.encode(format!("{TAG}{customer_id}:{digest}:{}", self.occurrence))
    }
}

/// The first 8 bytes of the SHA-256 of a product's upstream fields as sent.
fn fields_digest(raw: &RawProduct) -> [u8; 8] {
    let fields = serde_json::to_vec(raw).expect("a product serialises");
    let mut digest8 = [0u8; 8];
    digest8.copy_from_slice(&digest(&SHA256, &fields).as_ref()[..8]);
    digest8
}

/// The customer id inside a product id, when `id` is one.
pub(crate) fn product_customer(id: &str) -> Option<String> {
    let bytes = URL_SAFE_NO_PAD.decode(id).ok()?;
    let text = String::from_utf8(bytes).ok()?;
    let rest = text.strip_prefix(TAG)?;
    // The customer id may itself hold colons: the digest and occurrence are the last two parts.
    let mut parts = rest.rsplitn(3, ':');
    let (_occurrence, _digest, customer) = (parts.next()?, parts.next()?, parts.next()?);
    Some(customer.to_owned())
}

const JOB_TAG: &str = "job:v1:";

/// A backup job's global id: base64url of `job:v1:<length of the customer id>:<customer
/// id><job id>`, so either id may hold any character and `node(id:)` knows whose jobs to read.
pub(crate) fn job_global_id(customer_id: &str, job_id: &str) -> String {
    URL_SAFE_NO_PAD.encode(format!(
        "{JOB_TAG}{}:{customer_id}{job_id}",
        customer_id.len()
    ))
}

/// The customer id and the job id inside a job's global id, when `id` is one.
pub(crate) fn job_owner(id: &str) -> Option<(String, String)> {
    let bytes = URL_SAFE_NO_PAD.decode(id).ok()?;
    let text = String::from_utf8(bytes).ok()?;
    let (length, ids) = text.strip_prefix(JOB_TAG)?.split_once(':')?;
    let length: usize = length.parse().ok()?;
    let customer = ids.get(..length)?;
    Some((customer.to_owned(), ids[length..].to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_product_id_names_its_customer_and_nothing_else_is_one() {
        let id = ProductKey::first(&RawProduct::default()).nth(2).id("c:1");
        assert_eq!(product_customer(&id).as_deref(), Some("c:1"));
        assert!(!id.contains(':'), "opaque: {id}");
        assert_eq!(
            product_customer("89025cc1-ec67-455e-890b-54d8d101b5b9"),
            None
        );
        assert_eq!(product_customer("bm9wZQ"), None);
    }

    #[test]
    fn a_job_id_names_its_customer_and_job_whatever_they_hold() {
        for (customer, job) in [("c:1", "j:2"), ("", ""), ("é", "x"), ("12", "345")] {
            let id = job_global_id(customer, job);
            assert_eq!(job_owner(&id), Some((customer.into(), job.into())));
            assert_eq!(product_customer(&id), None);
        }
        let product = ProductKey::first(&RawProduct::default()).id("c");
        assert_eq!(job_owner(&product), None);
        assert_eq!(job_owner(&URL_SAFE_NO_PAD.encode("job:v1:9:c")), None);
        assert_eq!(job_owner("c"), None);
    }
}
