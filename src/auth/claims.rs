//! What a verified token says about its caller.

use std::{collections::HashSet, sync::Arc};

use serde_json::{Map, Value};

use super::AuthError;

/// Which customers a caller may see (`GATEWAY_JWT_CUSTOMER_CLAIM`).
///
/// The cache is shared by every caller; this is applied to answers after it, so it can
/// never leak into what another caller sees.
#[derive(Debug, Clone, Default)]
pub enum CustomerAccess {
    /// Every customer: no claim is configured, or the token does not carry it.
    #[default]
    All,
    /// Only these customer ids.
    Only(Arc<HashSet<String>>),
}

impl CustomerAccess {
    /// Whether the caller may see the customer with this id.
    pub fn allows(&self, customer_id: &str) -> bool {
        match self {
            Self::All => true,
            Self::Only(ids) => ids.contains(customer_id),
        }
    }
}

/// A caller whose token was accepted.
#[derive(Debug, Clone)]
pub struct Caller {
    /// The token's `sub`, when it has one.
    pub subject: Option<String>,
    /// The customers this caller may see.
    pub access: CustomerAccess,
    scopes: Vec<String>,
}

impl Caller {
    /// Reads the caller from verified claims; `customer_claim` names the claim that limits
    /// which customers it sees. A claim that is present but not a list of strings refuses the
    /// token: guessing what it meant could show a caller more than it may see.
    pub(super) fn from_claims(
        claims: Map<String, Value>,
        customer_claim: Option<&str>,
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
        let access = match customer_claim.map(|name| (name, claims.get(name))) {
            None | Some((_, None)) => CustomerAccess::All,
            Some((_, Some(Value::Array(ids)))) if ids.iter().all(Value::is_string) => {
                CustomerAccess::Only(Arc::new(
                    ids.iter()
                        .filter_map(Value::as_str)
                        .map(str::to_owned)
                        .collect(),
                ))
            }
            Some((name, Some(_))) => return Err(AuthError::BadCustomerClaim(name.to_owned())),
        };
        Ok(Self {
            subject: claims.get("sub").and_then(Value::as_str).map(str::to_owned),
            access,
            scopes,
        })
    }

    /// Whether `scope` is among the token's `scope` or `scp` values.
    pub fn has_scope(&self, scope: &str) -> bool {
        self.scopes.iter().any(|held| held == scope)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn caller(claims: Value, claim: Option<&str>) -> Result<Caller, AuthError> {
        let Value::Object(claims) = claims else {
            unreachable!()
        };
        Caller::from_claims(claims, claim)
    }

    #[test]
    fn the_customer_claim_limits_access_only_when_configured_and_present() {
        let listed = json!({ "customers": ["a", "b"] });
        let limited = caller(listed.clone(), Some("customers")).unwrap();
        assert!(limited.access.allows("a") && !limited.access.allows("c"));
        let unconfigured = caller(listed, None).unwrap();
        assert!(unconfigured.access.allows("c"));
        let absent = caller(json!({}), Some("customers")).unwrap();
        assert!(absent.access.allows("c"));
        let empty = caller(json!({ "customers": [] }), Some("customers")).unwrap();
        assert!(!empty.access.allows("a"));
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
