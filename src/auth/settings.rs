//! The caller-token settings (`[jwt]`), read straight from the configuration; the rules
//! between them are checked there too.

use std::{path::PathBuf, time::Duration};

use reqwest::Url;
use serde::Deserialize;

use crate::{de, secret::Secret};

/// Caller-token requirements.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct JwtSettings {
    /// `GATEWAY_JWT_SECRET`: HS256 shared secret, at least 32 bytes.
    #[serde(deserialize_with = "de::secret")]
    pub secret: Option<Secret>,
    /// `GATEWAY_JWT_PUBLIC_KEY_FILE`: PEM public key.
    #[serde(deserialize_with = "de::path")]
    pub public_key_file: Option<PathBuf>,
    /// `GATEWAY_JWT_JWKS_URL`: JWKS endpoint.
    #[serde(deserialize_with = "de::url")]
    pub jwks_url: Option<Url>,
    /// `GATEWAY_JWT_JWKS_REFRESH_SECS`: period of the background JWKS refresh (default 300 s).
    #[serde(
        rename = "jwks_refresh_secs",
        deserialize_with = "de::seconds::<_, 1, 86_400>"
    )]
    pub jwks_refresh: Duration,
    /// `GATEWAY_JWT_JWKS_MIN_REFETCH_SECS`: shortest time between two refetches caused by an
    /// unknown `kid` (default 30 s).
    #[serde(
        rename = "jwks_min_refetch_secs",
        deserialize_with = "de::seconds::<_, 0, 3_600>"
    )]
    pub jwks_min_refetch: Duration,
    /// `GATEWAY_JWT_ISSUER`: required `iss`.
    #[serde(deserialize_with = "de::words")]
    pub issuer: Option<String>,
    /// `GATEWAY_JWT_AUDIENCE`: required `aud`.
    #[serde(deserialize_with = "de::words")]
    pub audience: Option<String>,
    /// `GATEWAY_JWT_REQUIRED_SCOPE`: a scope the caller must hold.
    #[serde(deserialize_with = "de::words")]
    pub required_scope: Option<String>,
    /// `GATEWAY_JWT_LEEWAY_SECS`: clock skew allowed on `exp`/`nbf` (default 30 s).
    #[serde(deserialize_with = "de::number::<_, u64, 0, 3_600>")]
    pub leeway_secs: u64,
    /// `GATEWAY_JWT_CUSTOMER_CLAIM`: claim listing the customers a caller may see; a token
    /// without it is refused unless it holds `all_customers_scope`.
    #[serde(deserialize_with = "de::words")]
    pub customer_claim: Option<String>,
    /// `GATEWAY_JWT_ALL_CUSTOMERS_SCOPE`: a scope that lets a token without the customer
    /// claim see every customer.
    #[serde(deserialize_with = "de::words")]
    pub all_customers_scope: Option<String>,
}

impl Default for JwtSettings {
    /// No key, and the documented defaults for the rest.
    fn default() -> Self {
        Self {
            secret: None,
            public_key_file: None,
            jwks_url: None,
            jwks_refresh: Duration::from_secs(300),
            jwks_min_refetch: Duration::from_secs(30),
            issuer: None,
            audience: None,
            required_scope: None,
            leeway_secs: 30,
            customer_claim: None,
            all_customers_scope: None,
        }
    }
}
