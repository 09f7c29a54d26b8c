//! What a verified token says about its caller.

use serde_json::{Map, Value};

/// A caller whose token was accepted.
#[derive(Debug, Clone)]
pub struct Caller {
    /// The token's `sub`, when it has one.
    pub subject: Option<String>,
    scopes: Vec<String>,
}

impl Caller {
    pub(super) fn from_claims(claims: Map<String, Value>) -> Self {
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
        Self {
            subject: claims.get("sub").and_then(Value::as_str).map(str::to_owned),
            scopes,
        }
    }

    /// Whether `scope` is among the token's `scope` or `scp` values.
    pub fn has_scope(&self, scope: &str) -> bool {
        self.scopes.iter().any(|held| held == scope)
    }
}
