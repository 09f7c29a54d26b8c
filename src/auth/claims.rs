//! What a verified token says about its caller.

use std::{
    collections::HashSet,
    hash::{DefaultHasher, Hash, Hasher},
    sync::{Arc, Mutex, MutexGuard},
};

use serde_json::{Map, Value};

use super::AuthError;
use crate::domain::Snapshot;

/// Which customers a caller may see (`GATEWAY_JWT_CUSTOMER_CLAIM`).
///
/// The cache is shared by every caller; this is applied to answers after it, so it can
/// never leak into what another caller sees. Equal for equal sets of ids, whatever their
/// order, so it can key answers kept for reuse.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub(crate) enum CustomerAccess {
    /// Every customer: no claim is configured, or the token holds the scope that sees all.
    #[default]
    All,
    /// Only these customer ids.
    Only(Arc<CustomerIds>),
}

/// The customer ids a token names, with a digest of the set made once, so keying an answer
/// by them costs nothing per request.
#[derive(Debug)]
pub(crate) struct CustomerIds {
    /// Hashed with foldhash, seeded per process: a caller's every listed customer may be
    /// tested against the set.
    ids: HashSet<String, foldhash::fast::RandomState>,
    /// The same for the same ids in any order (a sum of each id's hash).
    digest: u64,
    /// Where the ids stand in the snapshot last asked about, by its generation
    /// ([`CustomerIds::positions_in`]).
    positions: Mutex<Option<(u64, Arc<[usize]>)>>,
}

impl CustomerIds {
    /// The set of these ids.
    pub(crate) fn new(ids: impl IntoIterator<Item = String>) -> Self {
        let ids: HashSet<String, _> = ids.into_iter().collect();
        let digest = ids.iter().fold(0u64, |sum, id| {
            let mut hasher = DefaultHasher::new();
            id.hash(&mut hasher);
            sum.wrapping_add(hasher.finish())
        });
        Self {
            ids,
            digest,
            positions: Mutex::default(),
        }
    }

    /// Whether `id` is among them.
    pub(crate) fn contains(&self, id: &str) -> bool {
        self.ids.contains(id)
    }

    /// The ids, in no particular order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = &str> {
        self.ids.iter().map(String::as_str)
    }

    /// The positions of the ids in `snapshot`'s listing, in listing order (ids it does not
    /// list left out): a listing of a few allowed customers looks them up rather than testing
    /// every customer against the set. Kept for the snapshot last asked about, since a
    /// caller's requests mostly read the same one: its next pages cost no lookups.
    pub(crate) fn positions_in(&self, snapshot: &Snapshot) -> Arc<[usize]> {
        let generation = snapshot.generation();
        let kept = self.kept_positions();
        if let Some((kept_generation, positions)) = kept.as_ref()
            && *kept_generation == generation
        {
            return Arc::clone(positions);
        }
        drop(kept);
        let mut positions: Vec<usize> = self
            .ids
            .iter()
            .filter_map(|id| snapshot.position(id))
            .collect();
        positions.sort_unstable();
        let positions: Arc<[usize]> = positions.into();
        *self.kept_positions() = Some((generation, Arc::clone(&positions)));
        positions
    }

    fn kept_positions(&self) -> MutexGuard<'_, Option<(u64, Arc<[usize]>)>> {
        // A panic while the lock was held cannot leave the slot half written.
        self.positions
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// How many ids there are.
    pub(crate) fn len(&self) -> usize {
        self.ids.len()
    }
}

impl PartialEq for CustomerIds {
    fn eq(&self, other: &Self) -> bool {
        std::ptr::eq(self, other) || (self.digest == other.digest && self.ids == other.ids)
    }
}

impl Eq for CustomerIds {}

impl Hash for CustomerIds {
    fn hash<H: Hasher>(&self, state: &mut H) {
        state.write_usize(self.ids.len());
        state.write_u64(self.digest);
    }
}

impl CustomerAccess {
    /// Whether the caller may see the customer with this id.
    pub(crate) fn allows(&self, customer_id: &str) -> bool {
        match self {
            Self::All => true,
            Self::Only(ids) => ids.contains(customer_id),
        }
    }
}

/// How tokens are scoped to customers (`GATEWAY_JWT_CUSTOMER_CLAIM` and
/// `GATEWAY_JWT_ALL_CUSTOMERS_SCOPE`).
#[derive(Debug, Clone, Default)]
pub(crate) struct CustomerScoping {
    /// The claim listing the customer ids a caller may see.
    pub claim: Option<String>,
    /// A scope that lets a token without the claim see every customer.
    pub all_customers_scope: Option<String>,
}

/// A caller whose token was accepted.
#[derive(Debug, Clone)]
pub(crate) struct Caller {
    /// The token's `sub`, when it has one. (Shared, as the scopes are: a verified caller is
    /// cloned out of the verified-token cache on every request.)
    pub subject: Option<Arc<str>>,
    /// The customers this caller may see.
    pub access: CustomerAccess,
    /// When the token expires (its `exp`, Unix seconds): a stream opened with it ends then.
    pub expires_at: Option<u64>,
    scopes: Arc<[String]>,
}

impl Caller {
    /// Reads the caller from verified claims; `scoping` names the claim that limits which
    /// customers it sees. Scoping fails closed: a claim that is present but not a list of
    /// strings refuses the token (guessing what it meant could show more than it may see), and
    /// so does a token without the claim, unless it holds the scope that sees every customer
    /// (identity providers commonly leave an empty list claim out).
    pub(super) fn from_claims(
        claims: Map<String, Value>,
        scoping: &CustomerScoping,
    ) -> Result<Self, AuthError> {
        let mut scopes = Vec::new();
        if let Some(Value::String(scope)) = claims.get("scope") {
            scopes.extend(scope.split_whitespace().map(str::to_owned));
        }
        match claims.get("scp") {
            Some(Value::String(scp)) => scopes.extend(scp.split_whitespace().map(str::to_owned)),
            Some(Value::Array(list)) => {
                scopes.extend(list.iter().filter_map(Value::as_str).map(str::to_owned))
            }
            _ => {}
        }
        let all_scope = scoping.all_customers_scope.as_deref();
        let access = match scoping
            .claim
            .as_deref()
            .map(|name| (name, claims.get(name)))
        {
            None => CustomerAccess::All,
            Some((_, None)) if all_scope.is_some_and(|all| scopes.iter().any(|s| s == all)) => {
                CustomerAccess::All
            }
            Some((name, None)) => return Err(AuthError::MissingCustomerClaim(name.to_owned())),
            Some((_, Some(Value::Array(ids)))) if ids.iter().all(Value::is_string) => {
                CustomerAccess::Only(Arc::new(CustomerIds::new(
                    ids.iter().filter_map(Value::as_str).map(str::to_owned),
                )))
            }
            Some((name, Some(_))) => return Err(AuthError::BadCustomerClaim(name.to_owned())),
        };
        Ok(Self {
            subject: claims.get("sub").and_then(Value::as_str).map(Arc::from),
            access,
            expires_at: claims.get("exp").and_then(Value::as_u64),
            scopes: scopes.into(),
        })
    }

    /// Whether `scope` is among the token's `scope` or `scp` values.
    pub(crate) fn has_scope(&self, scope: &str) -> bool {
        self.scopes.iter().any(|held| held == scope)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    /// A snapshot listing these customer ids, in this order.
    fn listing(ids: &[&str]) -> Snapshot {
        let customers = ids
            .iter()
            .map(|id| {
                let wire: crate::domain::RawCustomer =
                    serde_json::from_value(json!({ "customerId": id, "products": [] })).unwrap();
                crate::domain::Customer::from_wire(wire)
            })
            .collect();
        Snapshot::new(customers)
    }

    #[test]
    fn the_ids_positions_are_in_listing_order_and_kept_for_the_snapshot_last_asked_about() {
        let ids = CustomerIds::new(["c7", "c2", "unlisted"].map(str::to_owned));
        let first = listing(&["c0", "c1", "c2", "c3", "c4", "c5", "c6", "c7"]);
        let positions = ids.positions_in(&first);
        assert_eq!(*positions, [2, 7]);
        assert!(Arc::ptr_eq(&positions, &ids.positions_in(&first)));
        let reordered = listing(&["c7", "c0", "c2"]);
        assert_eq!(*ids.positions_in(&reordered), [0, 2]);
        assert_eq!(*ids.positions_in(&first), [2, 7]);
    }

    fn scoping(claim: Option<&str>, all: Option<&str>) -> CustomerScoping {
        CustomerScoping {
            claim: claim.map(str::to_owned),
            all_customers_scope: all.map(str::to_owned),
        }
    }

    fn caller(claims: Value, claim: Option<&str>) -> Result<Caller, AuthError> {
        caller_with(claims, &scoping(claim, None))
    }

    fn caller_with(claims: Value, scoping: &CustomerScoping) -> Result<Caller, AuthError> {
        let Value::Object(claims) = claims else {
            unreachable!()
        };
        Caller::from_claims(claims, scoping)
    }

    #[test]
    fn the_customer_claim_limits_access_only_when_configured() {
        let listed = json!({ "customers": ["a", "b"] });
        let limited = caller(listed.clone(), Some("customers")).unwrap();
        assert!(limited.access.allows("a") && !limited.access.allows("c"));
        let unconfigured = caller(listed, None).unwrap();
        assert!(unconfigured.access.allows("c"));
        let empty = caller(json!({ "customers": [] }), Some("customers")).unwrap();
        assert!(!empty.access.allows("a"));
    }

    #[test]
    fn a_token_without_the_claim_is_refused_unless_it_holds_the_all_customers_scope() {
        assert_eq!(
            caller(json!({ "scope": "read" }), Some("customers")).unwrap_err(),
            AuthError::MissingCustomerClaim("customers".into())
        );
        let rules = scoping(Some("customers"), Some("customers.all"));
        assert!(caller_with(json!({ "scope": "read" }), &rules).is_err());
        let all = caller_with(json!({ "scp": ["customers.all"] }), &rules).unwrap();
        assert!(all.access.allows("anyone"));
        // The claim, when present, wins over the scope.
        let both = caller_with(
            json!({ "scope": "customers.all", "customers": ["a"] }),
            &rules,
        );
        assert!(!both.unwrap().access.allows("b"));
        assert!(AuthError::MissingCustomerClaim("c".into()).is_forbidden());
    }

    #[test]
    fn a_customer_claim_that_is_not_a_list_of_strings_refuses_the_token() {
        for bad in [json!("a"), json!([1, 2]), json!({ "a": true }), json!(null)] {
            let refused = caller(json!({ "customers": bad }), Some("customers")).unwrap_err();
            assert_eq!(refused, AuthError::BadCustomerClaim("customers".into()));
        }
    }

    #[test]
    fn scopes_come_from_scope_and_scp() {
        let both = caller(json!({ "scope": "a b", "scp": ["c"] }), None).unwrap();
        assert!(both.has_scope("a") && both.has_scope("b") && both.has_scope("c"));
        let listed = caller(json!({ "scp": "d e" }), None).unwrap();
        assert!(listed.has_scope("e") && !listed.has_scope("a"));
    }
}
