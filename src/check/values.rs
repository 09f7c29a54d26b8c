//! Every setting's effective value, by its `GATEWAY_*` name, written as an operator would
//! set it (milliseconds for `_MS`, seconds for `_SECS`), secrets as `<set>`.

use std::{fmt::Display, path::Path, time::Duration};

use crate::{
    config::{ClientAuthentication, Setting, Settings, UpstreamCredentials, Written},
    secret::Secret,
};

/// Each setting's name and effective value, in [`crate::config::VARIABLES`]' order.
/// `GATEWAY_ALLOW_INSECURE_URLS` is applied while the settings load and not kept in them, so
/// its value is the one `written` holds, or its default.
pub(super) fn effective(settings: &Settings, written: &[Written]) -> Vec<(&'static str, String)> {
    let insecure = written
        .iter()
        .find(|set| set.setting == Setting::named("GATEWAY_ALLOW_INSECURE_URLS"))
        .map_or_else(|| false.to_string(), |set| set.value.clone());
    let mut values = upstream(settings);
    values.extend(callers(settings));
    values.push(("GATEWAY_ALLOW_INSECURE_URLS", insecure));
    values.extend(serving(settings));
    values
}

fn upstream(s: &Settings) -> Vec<(&'static str, String)> {
    let u = &s.upstream;
    let (token, token_url, client_id, secret, key_file, cert_file) = match &u.credentials {
        UpstreamCredentials::Token(token) => (
            secret_of(Some(token)),
            none(),
            none(),
            none(),
            none(),
            none(),
        ),
        UpstreamCredentials::ClientCredentials {
            token_url,
            client_id,
            authentication,
        } => {
            let (secret, key, cert) = match authentication {
                ClientAuthentication::Secret(secret) => (secret_of(Some(secret)), none(), none()),
                ClientAuthentication::Assertion {
                    key_file,
                    cert_file,
                } => (none(), path(key_file), path(cert_file)),
            };
            (
                none(),
                token_url.to_string(),
                client_id.clone(),
                secret,
                key,
                cert,
            )
        }
    };
    let r = &u.resilience;
    vec![
        ("GATEWAY_LISTEN", s.listen.to_string()),
        ("GATEWAY_UPSTREAM_URL", u.url.to_string()),
        ("GATEWAY_UPSTREAM_TOKEN", token),
        ("GATEWAY_UPSTREAM_TOKEN_URL", token_url),
        ("GATEWAY_UPSTREAM_CLIENT_ID", client_id),
        ("GATEWAY_UPSTREAM_CLIENT_SECRET", secret),
        ("GATEWAY_UPSTREAM_CLIENT_ASSERTION_KEY_FILE", key_file),
        ("GATEWAY_UPSTREAM_CLIENT_CERT_FILE", cert_file),
        ("GATEWAY_UPSTREAM_SCOPE", u.scope.clone()),
        ("GATEWAY_UPSTREAM_PAGE_SIZE", u.page_size.to_string()),
        ("GATEWAY_UPSTREAM_CONCURRENCY", u.concurrency.to_string()),
        ("GATEWAY_UPSTREAM_PAGES_AHEAD", u.pages_ahead.to_string()),
        ("GATEWAY_UPSTREAM_TIMEOUT_MS", millis(u.timeout)),
        ("GATEWAY_UPSTREAM_MAX_ATTEMPTS", r.max_attempts.to_string()),
        ("GATEWAY_UPSTREAM_BACKOFF_MS", millis(r.backoff)),
        (
            "GATEWAY_UPSTREAM_RETRY_AFTER_MAX_SECS",
            secs(r.retry_after_max),
        ),
        (
            "GATEWAY_UPSTREAM_BREAKER_FAILURES",
            r.breaker_failures.to_string(),
        ),
        (
            "GATEWAY_UPSTREAM_BREAKER_COOLDOWN_MS",
            millis(r.breaker_cooldown),
        ),
        (
            "GATEWAY_UPSTREAM_MAX_BODY_BYTES",
            u.max_body_bytes.to_string(),
        ),
        ("GATEWAY_UPSTREAM_MAX_PAGES", u.max_pages.to_string()),
        ("GATEWAY_CACHE_TTL_SECS", secs(s.cache.ttl)),
        ("GATEWAY_CACHE_STALE_SECS", secs(s.cache.stale)),
        (
            "GATEWAY_CACHE_ANSWER_BYTES",
            s.cache.answer_bytes.to_string(),
        ),
        (
            "GATEWAY_CACHE_JOBS_TTL_SECS",
            s.cache.jobs_ttl.as_secs().to_string(),
        ),
    ]
}

fn callers(s: &Settings) -> Vec<(&'static str, String)> {
    let (j, l) = (&s.jwt, &s.limits);
    vec![
        ("GATEWAY_JWT_SECRET", secret_of(j.secret.as_ref())),
        (
            "GATEWAY_JWT_PUBLIC_KEY_FILE",
            optional(j.public_key_file.as_deref().map(Path::display)),
        ),
        ("GATEWAY_JWT_JWKS_URL", optional(j.jwks_url.as_ref())),
        ("GATEWAY_JWT_JWKS_REFRESH_SECS", secs(j.jwks_refresh)),
        (
            "GATEWAY_JWT_JWKS_MIN_REFETCH_SECS",
            secs(j.jwks_min_refetch),
        ),
        ("GATEWAY_JWT_ISSUER", optional(j.issuer.as_ref())),
        ("GATEWAY_JWT_AUDIENCE", optional(j.audience.as_ref())),
        (
            "GATEWAY_JWT_REQUIRED_SCOPE",
            optional(j.required_scope.as_ref()),
        ),
        ("GATEWAY_JWT_LEEWAY_SECS", j.leeway_secs.to_string()),
        (
            "GATEWAY_JWT_CUSTOMER_CLAIM",
            optional(j.customer_claim.as_ref()),
        ),
        (
            "GATEWAY_JWT_ALL_CUSTOMERS_SCOPE",
            optional(j.all_customers_scope.as_ref()),
        ),
        ("GATEWAY_LIMITS_DEPTH", l.depth.to_string()),
        ("GATEWAY_LIMITS_COMPLEXITY", l.complexity.to_string()),
        ("GATEWAY_LIMITS_ROOT_FIELDS", l.root_fields.to_string()),
        ("GATEWAY_LIMITS_ALIASES", l.aliases.to_string()),
        ("GATEWAY_LIMITS_BODY_BYTES", l.body_bytes.to_string()),
        ("GATEWAY_LIMITS_QUERY_BYTES", l.query_bytes.to_string()),
        ("GATEWAY_LIMITS_HEADER_BYTES", l.header_bytes.to_string()),
        (
            "GATEWAY_LIMITS_REQUEST_TIMEOUT_MS",
            millis(l.request_timeout),
        ),
        (
            "GATEWAY_LIMITS_RATE_PER_MINUTE",
            l.rate_per_minute.to_string(),
        ),
        ("GATEWAY_LIMITS_RATE_BURST", l.rate_burst.to_string()),
        ("GATEWAY_LIMITS_HEADER_TIMEOUT_MS", millis(l.header_timeout)),
        ("GATEWAY_LIMITS_CONNECTIONS", l.connections.to_string()),
        (
            "GATEWAY_LIMITS_UPSTREAM_REQUESTS",
            l.upstream_requests.to_string(),
        ),
        (
            "GATEWAY_LIMITS_SUBSCRIPTIONS_PER_CALLER",
            l.subscriptions_per_caller.to_string(),
        ),
        ("GATEWAY_LIMITS_BATCH", l.batch.to_string()),
    ]
}

fn serving(s: &Settings) -> Vec<(&'static str, String)> {
    let t = &s.telemetry;
    vec![
        ("GATEWAY_INTROSPECTION", s.introspection.to_string()),
        ("GATEWAY_MCP", s.mcp.to_string()),
        (
            "GATEWAY_METRICS_LISTEN",
            optional(s.metrics_listen.as_ref()),
        ),
        ("GATEWAY_REDIS_URL", secret_of(s.redis.url.as_ref())),
        (
            "GATEWAY_REDIS_PASSWORD",
            secret_of(s.redis.password.as_ref()),
        ),
        ("GATEWAY_REDIS_PREFIX", s.redis.prefix().to_owned()),
        (
            "GATEWAY_PERSISTED_DOCUMENTS_FILE",
            optional(s.persisted.file.as_deref().map(Path::display)),
        ),
        (
            "GATEWAY_PERSISTED_DOCUMENTS_ONLY",
            s.persisted.only.to_string(),
        ),
        ("GATEWAY_SHUTDOWN_DELAY_MS", millis(s.shutdown.delay)),
        ("GATEWAY_SHUTDOWN_TIMEOUT_SECS", secs(s.shutdown.timeout)),
        (
            "GATEWAY_LOG_FORMAT",
            format!("{:?}", t.log_format).to_lowercase(),
        ),
        ("GATEWAY_LOG_LEVEL", t.log_level.clone()),
        ("GATEWAY_LOG_REQUESTS", t.log_requests.to_string()),
        (
            "GATEWAY_TRACING_OTLP_ENDPOINT",
            optional(t.otlp_endpoint.as_ref()),
        ),
    ]
}

fn none() -> String {
    "none".to_owned()
}

fn optional(value: Option<impl Display>) -> String {
    value.map_or_else(none, |value| value.to_string())
}

fn secret_of(secret: Option<&Secret>) -> String {
    secret.map_or_else(none, |_| "<set>".to_owned())
}

fn path(path: &Path) -> String {
    path.display().to_string()
}

fn millis(duration: Duration) -> String {
    duration.as_millis().to_string()
}

fn secs(duration: Duration) -> String {
    duration.as_secs().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::VARIABLES;

    #[test]
    fn every_setting_has_one_row_in_order() {
        let settings = Settings::load(None, |name| match name {
            "GATEWAY_UPSTREAM_TOKEN" => Some("app-token".into()),
            "GATEWAY_JWT_SECRET" => Some("caller-secret-0123456789abcdef0123".into()),
            _ => None,
        })
        .unwrap();
        let values = effective(&settings, &[]);
        let names: Vec<&str> = values.iter().map(|(name, _)| *name).collect();
        assert_eq!(names, VARIABLES);
        let value = |wanted: &str| &values.iter().find(|(name, _)| *name == wanted).unwrap().1;
        assert_eq!(value("GATEWAY_UPSTREAM_TOKEN"), "<set>");
        assert_eq!(value("GATEWAY_UPSTREAM_TIMEOUT_MS"), "10000");
        assert_eq!(value("GATEWAY_CACHE_TTL_SECS"), "60");
        assert_eq!(value("GATEWAY_UPSTREAM_CLIENT_ID"), "none");
        assert_eq!(value("GATEWAY_LOG_FORMAT"), "text");
        assert_eq!(value("GATEWAY_ALLOW_INSECURE_URLS"), "false");
        assert!(!values.iter().any(|(_, value)| value.contains("app-token")));
    }

    #[test]
    fn client_credentials_show_their_url_and_id_and_hide_the_secret() {
        let settings = Settings::load(None, |name| match name {
            "GATEWAY_UPSTREAM_TOKEN_URL" => Some("https://login.example/connect/token".into()),
            "GATEWAY_UPSTREAM_CLIENT_ID" => Some("partner-app".into()),
            "GATEWAY_UPSTREAM_CLIENT_SECRET" => Some("client-secret-value".into()),
            "GATEWAY_JWT_SECRET" => Some("caller-secret-0123456789abcdef0123".into()),
            _ => None,
        })
        .unwrap();
        let values = effective(&settings, &[]);
        let value = |wanted: &str| &values.iter().find(|(name, _)| *name == wanted).unwrap().1;
        assert_eq!(value("GATEWAY_UPSTREAM_TOKEN"), "none");
        assert_eq!(
            value("GATEWAY_UPSTREAM_TOKEN_URL"),
            "https://login.example/connect/token"
        );
        assert_eq!(value("GATEWAY_UPSTREAM_CLIENT_ID"), "partner-app");
        assert_eq!(value("GATEWAY_UPSTREAM_CLIENT_SECRET"), "<set>");
        assert!(
            !values
                .iter()
                .any(|(_, value)| value.contains("secret-value"))
        );
    }
}
