//! The rules that combine settings: which upstream credentials, which caller keys, secure
//! URLs, the two listeners, the burst. Each value's own range was checked as it was read
//! (`raw`); each failure here is one line naming the setting.

use reqwest::Url;

use super::{
    ClientAuthentication, ConfigError, DEFAULT_SCOPE, DEFAULT_UPSTREAM_URL, JwtSettings, Limits,
    Resilience, Settings, TelemetrySettings, UpstreamCredentials, UpstreamSection,
    UpstreamSettings, raw::RawSettings, sources::problem,
};
use crate::shared::{self, settings::RedisSettings};

/// The settings, once every rule holds.
pub(super) fn validate(raw: RawSettings) -> Result<Settings, ConfigError> {
    let upstream = upstream(raw.upstream)?;
    check_jwt(&raw.jwt)?;
    if !raw.allow_insecure_urls {
        require_secure_urls(&upstream, &raw.jwt)?;
    }
    check_redis(&raw.redis, raw.allow_insecure_urls)?;
    if raw.persisted_documents.only && raw.persisted_documents.file.is_none() {
        return Err(problem(
            "GATEWAY_PERSISTED_DOCUMENTS_ONLY",
            "needs GATEWAY_PERSISTED_DOCUMENTS_FILE: the manifest of the documents that may run",
        ));
    }
    let metrics_listen = raw.metrics.listen;
    if metrics_listen == Some(raw.listen) && raw.listen.port() != 0 {
        return Err(problem(
            "GATEWAY_METRICS_LISTEN",
            "must differ from GATEWAY_LISTEN",
        ));
    }
    Ok(Settings {
        listen: raw.listen,
        upstream,
        cache: raw.cache,
        jwt: raw.jwt,
        limits: limits(raw.limits)?,
        shutdown: raw.shutdown,
        telemetry: TelemetrySettings::from_sections(raw.log, raw.tracing),
        introspection: raw.introspection,
        mcp: raw.mcp,
        metrics_listen,
        redis: raw.redis,
        persisted: raw.persisted_documents,
    })
}

/// A Redis URL the client accepts; no password in clear off loopback unless allowed.
fn check_redis(redis: &RedisSettings, allow_insecure: bool) -> Result<(), ConfigError> {
    let checked = shared::check(redis).map_err(|error| problem("GATEWAY_REDIS_URL", error.0))?;
    if !allow_insecure && checked.password_in_clear {
        return Err(problem(
            "GATEWAY_REDIS_URL",
            "sends its password unencrypted off loopback: use rediss:// (or set GATEWAY_ALLOW_INSECURE_URLS)",
        ));
    }
    if redis.url.is_none() && redis.password.is_some() {
        return Err(problem(
            "GATEWAY_REDIS_PASSWORD",
            "is set without GATEWAY_REDIS_URL",
        ));
    }
    Ok(())
}

/// The burst: as given, or the rate per minute; at least 1 while there is a rate.
fn limits(mut limits: Limits) -> Result<Limits, ConfigError> {
    limits.rate_burst = limits.burst_given.unwrap_or(limits.rate_per_minute);
    if limits.rate_per_minute > 0 && limits.rate_burst == 0 {
        return Err(problem(
            "GATEWAY_LIMITS_RATE_BURST",
            "must be at least 1 when GATEWAY_LIMITS_RATE_PER_MINUTE is set",
        ));
    }
    Ok(limits)
}

fn upstream(raw: UpstreamSection) -> Result<UpstreamSettings, ConfigError> {
    let resilience = Resilience {
        max_attempts: raw.max_attempts,
        backoff: raw.backoff,
        retry_after_max: raw.retry_after_max,
        breaker_failures: raw.breaker_failures,
        breaker_cooldown: raw.breaker_cooldown,
    };
    Ok(UpstreamSettings {
        url: raw
            .url
            .clone()
            .unwrap_or_else(|| Url::parse(DEFAULT_UPSTREAM_URL).expect("the default URL parses")),
        scope: raw.scope.clone().unwrap_or_else(|| DEFAULT_SCOPE.into()),
        page_size: raw.page_size,
        concurrency: raw.concurrency,
        pages_ahead: raw.pages_ahead,
        timeout: raw.timeout,
        resilience,
        max_body_bytes: raw.max_body_bytes,
        max_pages: raw.max_pages,
        credentials: upstream_credentials(raw)?,
    })
}

/// Whether `url`'s host is this machine: plain HTTP there never crosses a network.
fn is_loopback(url: &Url) -> bool {
    url.host_str().is_some_and(|host| {
        host.eq_ignore_ascii_case("localhost")
            || host
                .trim_start_matches('[')
                .trim_end_matches(']')
                .parse::<std::net::IpAddr>()
                .is_ok_and(|address| address.is_loopback())
    })
}

/// Refuses `http://` for the URLs that carry or vouch for secrets (the upstream gets the app
/// token, the identity service the client secret, the JWKS decides who may call), unless the
/// host is loopback or `GATEWAY_ALLOW_INSECURE_URLS` is `true`.
fn require_secure_urls(upstream: &UpstreamSettings, jwt: &JwtSettings) -> Result<(), ConfigError> {
    let token_url = match &upstream.credentials {
        UpstreamCredentials::ClientCredentials { token_url, .. } => Some(token_url),
        UpstreamCredentials::Token(_) => None,
    };
    let urls = [
        ("GATEWAY_UPSTREAM_URL", Some(&upstream.url)),
        ("GATEWAY_UPSTREAM_TOKEN_URL", token_url),
        ("GATEWAY_JWT_JWKS_URL", jwt.jwks_url.as_ref()),
    ];
    for (name, url) in urls {
        if let Some(url) = url
            && url.scheme() != "https"
            && !is_loopback(url)
        {
            return Err(problem(
                name,
                "must be an https:// URL off loopback (or set GATEWAY_ALLOW_INSECURE_URLS=true)",
            ));
        }
    }
    Ok(())
}

fn upstream_credentials(raw: UpstreamSection) -> Result<UpstreamCredentials, ConfigError> {
    let UpstreamSection {
        token,
        token_url,
        client_id,
        client_secret,
        client_assertion_key_file: key_file,
        client_cert_file: cert_file,
        ..
    } = raw;
    let any_client_setting = token_url.is_some()
        || client_id.is_some()
        || client_secret.is_some()
        || key_file.is_some()
        || cert_file.is_some();
    if let Some(token) = token {
        if any_client_setting {
            return Err(problem(
                "GATEWAY_UPSTREAM_TOKEN",
                "set either a fixed upstream token or client credentials (GATEWAY_UPSTREAM_TOKEN_URL …), not both",
            ));
        }
        return Ok(UpstreamCredentials::Token(token));
    }
    let Some(token_url) = token_url else {
        return Err(if any_client_setting {
            problem(
                "GATEWAY_UPSTREAM_TOKEN_URL",
                "required with client credentials",
            )
        } else {
            problem(
                "GATEWAY_UPSTREAM_TOKEN",
                "no upstream credentials: set GATEWAY_UPSTREAM_TOKEN, or GATEWAY_UPSTREAM_TOKEN_URL with a client id and secret",
            )
        });
    };
    let client_id = client_id.ok_or_else(|| {
        problem(
            "GATEWAY_UPSTREAM_CLIENT_ID",
            "required with GATEWAY_UPSTREAM_TOKEN_URL",
        )
    })?;
    let authentication = match (client_secret, key_file, cert_file) {
        (Some(secret), None, None) => ClientAuthentication::Secret(secret),
        (None, Some(key_file), Some(cert_file)) => ClientAuthentication::Assertion {
            key_file,
            cert_file,
        },
        (None, Some(_), None) => {
            return Err(problem(
                "GATEWAY_UPSTREAM_CLIENT_CERT_FILE",
                "required with GATEWAY_UPSTREAM_CLIENT_ASSERTION_KEY_FILE",
            ));
        }
        (None, None, Some(_)) => {
            return Err(problem(
                "GATEWAY_UPSTREAM_CLIENT_ASSERTION_KEY_FILE",
                "required with GATEWAY_UPSTREAM_CLIENT_CERT_FILE",
            ));
        }
        (Some(_), _, _) => {
            return Err(problem(
                "GATEWAY_UPSTREAM_CLIENT_SECRET",
                "set either a client secret or a client assertion key and certificate, not both",
            ));
        }
        (None, None, None) => {
            return Err(problem(
                "GATEWAY_UPSTREAM_CLIENT_SECRET",
                "required with GATEWAY_UPSTREAM_TOKEN_URL (or an assertion key and certificate)",
            ));
        }
    };
    Ok(UpstreamCredentials::ClientCredentials {
        token_url,
        client_id,
        authentication,
    })
}

/// Shortest HS256 secret accepted: 256 bits, as RFC 7518 §3.2 requires.
const MIN_SECRET_BYTES: usize = 32;

/// The caller-key rules: a long enough shared secret, a JWKS only with an issuer and an
/// audience, and at least one key.
fn check_jwt(settings: &JwtSettings) -> Result<(), ConfigError> {
    if settings
        .secret
        .as_ref()
        .is_some_and(|secret| secret.expose().len() < MIN_SECRET_BYTES)
    {
        return Err(problem(
            "GATEWAY_JWT_SECRET",
            format!("must be at least {MIN_SECRET_BYTES} bytes (256 bits) for HS256"),
        ));
    }
    if settings.jwks_url.is_some() {
        // A JWKS is often shared by every application of a tenant: without both checks a
        // token minted for any of them would be accepted.
        for (name, value) in [
            ("GATEWAY_JWT_ISSUER", &settings.issuer),
            ("GATEWAY_JWT_AUDIENCE", &settings.audience),
        ] {
            if value.is_none() {
                return Err(problem(name, "required with GATEWAY_JWT_JWKS_URL"));
            }
        }
    }
    if settings.secret.is_none()
        && settings.public_key_file.is_none()
        && settings.jwks_url.is_none()
    {
        return Err(problem(
            "GATEWAY_JWT_SECRET",
            "no caller key: set GATEWAY_JWT_SECRET, GATEWAY_JWT_PUBLIC_KEY_FILE or GATEWAY_JWT_JWKS_URL",
        ));
    }
    Ok(())
}
