//! The rules of each section: ranges, defaults and the combinations that must hold, each
//! failure one line naming the setting.

use std::{path::PathBuf, time::Duration};

use reqwest::Url;

use super::{
    ClientAuthentication, ConfigError, JwtSettings, Limits, LogFormat, Resilience,
    ShutdownSettings, TelemetrySettings, UpstreamCredentials, UpstreamSettings,
    sources::{Sources, invalid, problem},
};
use crate::secret::Secret;

pub(super) fn shutdown(sources: &Sources) -> Result<ShutdownSettings, ConfigError> {
    let defaults = ShutdownSettings::default();
    Ok(ShutdownSettings {
        delay: sources.millis("GATEWAY_SHUTDOWN_DELAY_MS", defaults.delay, (0, 600_000))?,
        timeout: sources.seconds(
            "GATEWAY_SHUTDOWN_TIMEOUT_SECS",
            defaults.timeout,
            (0, 3_600),
        )?,
    })
}

pub(super) fn telemetry(sources: &Sources) -> Result<TelemetrySettings, ConfigError> {
    let defaults = TelemetrySettings::default();
    let log_format = match sources.get("GATEWAY_LOG_FORMAT") {
        None => defaults.log_format,
        Some((setting, value)) => match value.trim().to_ascii_lowercase().as_str() {
            "text" => LogFormat::Text,
            "json" => LogFormat::Json,
            _ => return Err(invalid(setting, value, "`text` or `json`")),
        },
    };
    let log_level = match sources.get("GATEWAY_LOG_LEVEL") {
        None => defaults.log_level,
        Some((setting, value)) => {
            tracing_subscriber::EnvFilter::builder()
                .parse(value.trim())
                .map_err(|_| {
                    invalid(
                        setting,
                        value,
                        "a log filter such as `info` or `warn,elements_gateway=debug`",
                    )
                })?;
            value.trim().to_owned()
        }
    };
    Ok(TelemetrySettings {
        log_format,
        log_level,
        otlp_endpoint: sources.url("GATEWAY_TRACING_OTLP_ENDPOINT")?,
    })
}

pub(super) fn resilience(sources: &Sources) -> Result<Resilience, ConfigError> {
    let defaults = Resilience::default();
    Ok(Resilience {
        max_attempts: sources.number(
            "GATEWAY_UPSTREAM_MAX_ATTEMPTS",
            defaults.max_attempts.into(),
            (1, 10),
        )? as u32,
        backoff: sources.millis("GATEWAY_UPSTREAM_BACKOFF_MS", defaults.backoff, (1, 60_000))?,
        retry_after_max: sources.seconds(
            "GATEWAY_UPSTREAM_RETRY_AFTER_MAX_SECS",
            defaults.retry_after_max,
            (0, 3_600),
        )?,
        breaker_failures: sources.number(
            "GATEWAY_UPSTREAM_BREAKER_FAILURES",
            defaults.breaker_failures.into(),
            (0, 1_000),
        )? as u32,
        breaker_cooldown: sources.millis(
            "GATEWAY_UPSTREAM_BREAKER_COOLDOWN_MS",
            defaults.breaker_cooldown,
            (1, 3_600_000),
        )?,
    })
}

pub(super) fn limits(sources: &Sources) -> Result<Limits, ConfigError> {
    let defaults = Limits::default();
    let size = |name, default: usize, max: u64| {
        sources
            .number(name, default as u64, (1, max))
            .map(|value| value as usize)
    };
    let rate_per_minute = sources.number(
        "GATEWAY_LIMITS_RATE_PER_MINUTE",
        defaults.rate_per_minute.into(),
        (0, 1_000_000),
    )? as u32;
    let rate_burst = sources.number(
        "GATEWAY_LIMITS_RATE_BURST",
        rate_per_minute.into(),
        (0, 1_000_000),
    )? as u32;
    if rate_per_minute > 0 && rate_burst == 0 {
        return Err(problem(
            "GATEWAY_LIMITS_RATE_BURST",
            "must be at least 1 when GATEWAY_LIMITS_RATE_PER_MINUTE is set",
        ));
    }
    Ok(Limits {
        depth: size("GATEWAY_LIMITS_DEPTH", defaults.depth, 1_000)?,
        complexity: size(
            "GATEWAY_LIMITS_COMPLEXITY",
            defaults.complexity,
            100_000_000,
        )?,
        root_fields: size("GATEWAY_LIMITS_ROOT_FIELDS", defaults.root_fields, 10_000)?,
        aliases: sources.number(
            "GATEWAY_LIMITS_ALIASES",
            defaults.aliases as u64,
            (0, 10_000),
        )? as usize,
        body_bytes: size("GATEWAY_LIMITS_BODY_BYTES", defaults.body_bytes, 1 << 30)?,
        query_bytes: size("GATEWAY_LIMITS_QUERY_BYTES", defaults.query_bytes, 1 << 30)?,
        header_bytes: size(
            "GATEWAY_LIMITS_HEADER_BYTES",
            defaults.header_bytes,
            256 * 1024,
        )?,
        request_timeout: sources.millis(
            "GATEWAY_LIMITS_REQUEST_TIMEOUT_MS",
            defaults.request_timeout,
            (1, 3_600_000),
        )?,
        rate_per_minute,
        rate_burst,
        header_timeout: sources.millis(
            "GATEWAY_LIMITS_HEADER_TIMEOUT_MS",
            defaults.header_timeout,
            (1, 600_000),
        )?,
        connections: size(
            "GATEWAY_LIMITS_CONNECTIONS",
            defaults.connections,
            1_000_000,
        )?,
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
pub(super) fn require_secure_urls(
    sources: &Sources,
    upstream: &UpstreamSettings,
    jwt: &JwtSettings,
) -> Result<(), ConfigError> {
    if sources.parsed("GATEWAY_ALLOW_INSECURE_URLS", false, "`true` or `false`")? {
        return Ok(());
    }
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

pub(super) fn upstream_credentials(sources: &Sources) -> Result<UpstreamCredentials, ConfigError> {
    let token = sources.text("GATEWAY_UPSTREAM_TOKEN");
    let token_url = sources.url("GATEWAY_UPSTREAM_TOKEN_URL")?;
    let client_id = sources.text("GATEWAY_UPSTREAM_CLIENT_ID");
    let client_secret = sources.text("GATEWAY_UPSTREAM_CLIENT_SECRET");
    let key_file = sources.text("GATEWAY_UPSTREAM_CLIENT_ASSERTION_KEY_FILE");
    let cert_file = sources.text("GATEWAY_UPSTREAM_CLIENT_CERT_FILE");
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
        return Ok(UpstreamCredentials::Token(Secret::new(token)));
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
        (Some(secret), None, None) => ClientAuthentication::Secret(Secret::new(secret)),
        (None, Some(key), Some(cert)) => ClientAuthentication::Assertion {
            key_file: key.into(),
            cert_file: cert.into(),
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

pub(super) fn jwt_settings(sources: &Sources) -> Result<JwtSettings, ConfigError> {
    let secret = sources.text("GATEWAY_JWT_SECRET");
    if secret
        .as_ref()
        .is_some_and(|secret| secret.len() < MIN_SECRET_BYTES)
    {
        return Err(problem(
            "GATEWAY_JWT_SECRET",
            format!("must be at least {MIN_SECRET_BYTES} bytes (256 bits) for HS256"),
        ));
    }
    let settings = JwtSettings {
        secret: secret.map(Secret::new),
        public_key_file: sources
            .text("GATEWAY_JWT_PUBLIC_KEY_FILE")
            .map(PathBuf::from),
        jwks_url: sources.url("GATEWAY_JWT_JWKS_URL")?,
        jwks_refresh: sources.seconds(
            "GATEWAY_JWT_JWKS_REFRESH_SECS",
            Duration::from_secs(300),
            (1, 86_400),
        )?,
        jwks_min_refetch: sources.seconds(
            "GATEWAY_JWT_JWKS_MIN_REFETCH_SECS",
            Duration::from_secs(30),
            (0, 3_600),
        )?,
        issuer: sources.text("GATEWAY_JWT_ISSUER"),
        audience: sources.text("GATEWAY_JWT_AUDIENCE"),
        required_scope: sources.text("GATEWAY_JWT_REQUIRED_SCOPE"),
        leeway_secs: sources.number("GATEWAY_JWT_LEEWAY_SECS", 30, (0, 3_600))?,
        customer_claim: sources.text("GATEWAY_JWT_CUSTOMER_CLAIM"),
        all_customers_scope: sources.text("GATEWAY_JWT_ALL_CUSTOMERS_SCOPE"),
    };
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
    Ok(settings)
}
