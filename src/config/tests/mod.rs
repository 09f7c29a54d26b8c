use std::time::Duration;

use super::*;
use crate::{cache::DEFAULT_ANSWER_BYTES, telemetry::LogFormat};

mod credentials;

const SECRET: &str = "0123456789abcdef0123456789abcdef";

fn load(pairs: &[(&str, &str)]) -> Result<Settings, ConfigError> {
    Settings::load(None, |name| {
        pairs
            .iter()
            .find(|(key, _)| *key == name)
            .map(|(_, value)| (*value).to_owned())
    })
}

fn minimal() -> Vec<(&'static str, &'static str)> {
    vec![
        ("GATEWAY_UPSTREAM_TOKEN", "app-token"),
        ("GATEWAY_JWT_SECRET", SECRET),
    ]
}

fn error_line(pairs: &[(&str, &str)]) -> String {
    load(pairs).unwrap_err().to_string()
}

#[test]
fn jwks_timing_has_defaults_and_bounds() {
    let settings = load(&minimal()).unwrap();
    assert_eq!(settings.jwt.jwks_refresh, Duration::from_secs(300));
    assert_eq!(settings.jwt.jwks_min_refetch, Duration::from_secs(30));
    let mut pairs = minimal();
    pairs.push(("GATEWAY_JWT_JWKS_REFRESH_SECS", "0"));
    assert!(
        error_line(&pairs).starts_with("GATEWAY_JWT_JWKS_REFRESH_SECS ([jwt] jwks_refresh_secs)")
    );
}

#[test]
fn defaults_follow_the_contract() {
    let settings = load(&minimal()).unwrap();
    assert_eq!(settings.listen.to_string(), "127.0.0.1:8080");
    assert_eq!(
        settings.upstream.url.as_str(),
        "https://graph.avepointonlineservices.com/"
    );
    assert_eq!(
        settings.upstream.scope,
        "elements.license.read.all elements.customers.read.all elements.jobs.read.all elements.cbprotected.read.all"
    );
    assert_eq!(settings.upstream.page_size, 100);
    assert_eq!(settings.upstream.concurrency, 8);
    assert_eq!(settings.upstream.pages_ahead, 7);
    assert_eq!(settings.upstream.timeout, Duration::from_millis(10_000));
    assert_eq!(settings.cache.ttl, Duration::from_secs(60));
    assert_eq!(settings.cache.stale, Duration::from_secs(600));
    assert_eq!(settings.jwt.leeway_secs, 30);
}

#[test]
fn resilience_and_limits_have_defaults_and_name_their_section() {
    let settings = load(&minimal()).unwrap();
    assert_eq!(settings.upstream.resilience, Resilience::default());
    assert_eq!(settings.limits, Limits::default());
    let mut pairs = minimal();
    pairs.push(("GATEWAY_LIMITS_DEPTH", "0"));
    assert!(error_line(&pairs).starts_with("GATEWAY_LIMITS_DEPTH ([limits] depth)"));
    let mut pairs = minimal();
    pairs.push(("GATEWAY_UPSTREAM_MAX_ATTEMPTS", "11"));
    assert!(error_line(&pairs).starts_with("GATEWAY_UPSTREAM_MAX_ATTEMPTS ([upstream]"));
    let mut pairs = minimal();
    pairs.push(("GATEWAY_LIMITS_RATE_PER_MINUTE", "120"));
    assert_eq!(load(&pairs).unwrap().limits.rate_burst, 120);
    pairs.push(("GATEWAY_LIMITS_RATE_BURST", "0"));
    assert!(error_line(&pairs).starts_with("GATEWAY_LIMITS_RATE_BURST"));
}

#[test]
fn shutdown_and_telemetry_have_defaults_and_refuse_bad_values() {
    let settings = load(&minimal()).unwrap();
    assert_eq!(settings.cache.answer_bytes, DEFAULT_ANSWER_BYTES);
    assert_eq!(settings.shutdown, ShutdownSettings::default());
    assert_eq!(settings.telemetry, TelemetrySettings::default());
    let mut pairs = minimal();
    pairs.extend([
        ("GATEWAY_SHUTDOWN_DELAY_MS", "1500"),
        ("GATEWAY_CACHE_ANSWER_BYTES", "0"),
        ("GATEWAY_LOG_FORMAT", "JSON"),
        ("GATEWAY_LOG_LEVEL", "warn,elements_gateway=debug"),
    ]);
    let settings = load(&pairs).unwrap();
    assert_eq!(settings.shutdown.delay, Duration::from_millis(1500));
    assert_eq!(settings.cache.answer_bytes, 0);
    assert_eq!(settings.telemetry.log_format, LogFormat::Json);
    assert_eq!(settings.telemetry.log_level, "warn,elements_gateway=debug");
    let mut pairs = minimal();
    pairs.push(("GATEWAY_LOG_FORMAT", "xml"));
    assert!(error_line(&pairs).starts_with("GATEWAY_LOG_FORMAT ([log] format)"));
    let mut pairs = minimal();
    pairs.push(("GATEWAY_LOG_LEVEL", "elements_gateway=loud"));
    assert!(error_line(&pairs).starts_with("GATEWAY_LOG_LEVEL ([log] level)"));
    let only_env = TelemetrySettings::from_env(|name| {
        (name == "GATEWAY_TRACING_OTLP_ENDPOINT").then(|| "http://collector:4318".to_owned())
    })
    .unwrap();
    assert_eq!(
        only_env.otlp_endpoint.map(String::from).as_deref(),
        Some("http://collector:4318/")
    );
}

#[test]
fn bad_numbers_name_the_setting_in_both_forms() {
    let mut pairs = minimal();
    pairs.push(("GATEWAY_UPSTREAM_PAGE_SIZE", "500"));
    assert_eq!(
        error_line(&pairs),
        "GATEWAY_UPSTREAM_PAGE_SIZE ([upstream] page_size): expected a whole number from 1 to 100, got \"500\" (set in the environment)"
    );
}

#[test]
fn errors_say_where_the_value_was_set_and_text_is_never_reinterpreted() {
    let dir = std::env::temp_dir().join(format!("gateway-sources-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("gateway.toml");
    let load_file = |text: &str, env: &[(&str, &str)]| {
        std::fs::write(&path, text).unwrap();
        Settings::load(Some(&path), |name| {
            env.iter()
                .find(|(key, _)| *key == name)
                .map(|(_, value)| (*value).to_owned())
        })
    };
    let secrets = format!("[upstream]\ntoken = \"t\"\n[jwt]\nsecret = \"{SECRET}\"\n");
    let line = load_file(&format!("{secrets}[limits]\ndepth = 0\n"), &[])
        .unwrap_err()
        .to_string();
    assert!(
        line.starts_with("GATEWAY_LIMITS_DEPTH ([limits] depth): expected"),
        "{line}"
    );
    assert!(
        line.ends_with(&format!("(set in {})", path.display())),
        "{line}"
    );
    let line = load_file(&format!("{secrets}[limits]\ndepth = [1]\n"), &[])
        .unwrap_err()
        .to_string();
    assert!(
        line.starts_with("GATEWAY_LIMITS_DEPTH ([limits] depth)"),
        "{line}"
    );
    // A rule's refusal names where the value came from too.
    let line = load_file(&secrets, &[("GATEWAY_JWT_SECRET", "short")])
        .unwrap_err()
        .to_string();
    assert!(line.ends_with("(set in the environment)"), "{line}");
    assert!(!line.contains("short"), "{line}");
    // Digits stay the same text: a token is not read as a number.
    let settings = load_file(
        "",
        &[
            ("GATEWAY_UPSTREAM_TOKEN", "007"),
            ("GATEWAY_JWT_SECRET", SECRET),
        ],
    )
    .unwrap();
    match settings.upstream.credentials {
        UpstreamCredentials::Token(token) => assert_eq!(token.expose(), "007"),
        other => panic!("{other:?}"),
    }
    let line = load_file("upstream = 5\n", &[]).unwrap_err().to_string();
    assert!(line.contains("upstream"), "{line}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn urls_and_addresses_are_checked() {
    let mut pairs = minimal();
    pairs.push(("GATEWAY_UPSTREAM_URL", "ftp://example.com"));
    assert!(error_line(&pairs).starts_with("GATEWAY_UPSTREAM_URL ([upstream] url)"));
    let mut pairs = minimal();
    pairs.push(("GATEWAY_LISTEN", "localhost"));
    assert!(error_line(&pairs).starts_with("GATEWAY_LISTEN (listen)"));
}

#[test]
fn the_file_is_read_by_section_and_the_environment_wins() {
    let dir = std::env::temp_dir().join(format!("gateway-config-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("gateway.toml");
    std::fs::write(
            &path,
            format!(
                "listen = \"127.0.0.1:9000\"\n[upstream]\ntoken = \"t\"\npage_size = 40\ntimeout_ms = \"2500\"\n[jwt]\nsecret = \"{SECRET}\"\n"
            ),
        )
        .unwrap();
    let settings = Settings::load(Some(&path), |name| {
        (name == "GATEWAY_UPSTREAM_PAGE_SIZE").then(|| "20".to_owned())
    })
    .unwrap();
    assert_eq!(settings.listen.port(), 9000);
    assert_eq!(settings.upstream.page_size, 20);
    assert_eq!(settings.upstream.timeout, Duration::from_millis(2500));

    std::fs::write(&path, "[upstream]\ntimout_ms = 5\n").unwrap();
    let line = Settings::load(Some(&path), |_| None)
        .unwrap_err()
        .to_string();
    assert!(
        line.ends_with("unknown setting `[upstream] timout_ms`"),
        "{line}"
    );
    std::fs::write(&path, "[upstream\n").unwrap();
    let line = Settings::load(Some(&path), |_| None)
        .unwrap_err()
        .to_string();
    assert!(line.contains("is not valid TOML"), "{line}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn hardening_settings_have_the_contract_defaults_and_bounds() {
    let settings = load(&minimal()).unwrap();
    assert_eq!(settings.upstream.max_body_bytes, 67_108_864);
    assert_eq!(settings.upstream.max_pages, 1000);
    assert_eq!(settings.limits.header_timeout, Duration::from_secs(10));
    assert_eq!(settings.limits.connections, 4096);
    assert_eq!(settings.limits.subscriptions_per_caller, 20);
    assert!(settings.introspection);
    assert_eq!(settings.metrics_listen, None);
    assert_eq!(settings.jwt.all_customers_scope, None);
    let mut pairs = minimal();
    pairs.extend([
        ("GATEWAY_INTROSPECTION", "false"),
        ("GATEWAY_METRICS_LISTEN", "0.0.0.0:9090"),
        ("GATEWAY_UPSTREAM_MAX_PAGES", "5"),
        ("GATEWAY_JWT_ALL_CUSTOMERS_SCOPE", "customers.all"),
    ]);
    let settings = load(&pairs).unwrap();
    assert!(!settings.introspection);
    assert_eq!(settings.metrics_listen.unwrap().port(), 9090);
    assert_eq!(settings.upstream.max_pages, 5);
    for (name, bad) in [
        ("GATEWAY_UPSTREAM_MAX_PAGES", "0"),
        ("GATEWAY_UPSTREAM_MAX_BODY_BYTES", "10"),
        ("GATEWAY_LIMITS_HEADER_TIMEOUT_MS", "0"),
        ("GATEWAY_LIMITS_CONNECTIONS", "0"),
        ("GATEWAY_LIMITS_SUBSCRIPTIONS_PER_CALLER", "many"),
        ("GATEWAY_LIMITS_SUBSCRIPTIONS_PER_CALLER", "100001"),
        ("GATEWAY_INTROSPECTION", "off"),
        ("GATEWAY_METRICS_LISTEN", "nine"),
        ("GATEWAY_METRICS_LISTEN", "127.0.0.1:8080"),
    ] {
        let mut pairs = minimal();
        pairs.push((name, bad));
        assert!(error_line(&pairs).starts_with(name), "{name}={bad}");
    }
    assert_eq!(
        Setting::named("GATEWAY_METRICS_LISTEN").to_string(),
        "GATEWAY_METRICS_LISTEN ([metrics] listen)"
    );
    assert_eq!(
        Setting::named("GATEWAY_ALLOW_INSECURE_URLS").to_string(),
        "GATEWAY_ALLOW_INSECURE_URLS (allow_insecure_urls)"
    );
}

/// The configuration reference (`docs/configuration.md`) documents every setting the code
/// reads, each once, and no other.
#[test]
fn the_configuration_reference_lists_every_setting_once() {
    let reference = include_str!("../../../docs/configuration.md");
    let documented: Vec<&str> = reference
        .lines()
        .filter_map(|line| line.strip_prefix("| `GATEWAY_"))
        .filter_map(|rest| rest.split('`').next())
        .collect();
    let mut listed: Vec<String> = documented
        .iter()
        .map(|name| format!("GATEWAY_{name}"))
        .collect();
    let count = listed.len();
    listed.sort();
    listed.dedup();
    assert_eq!(listed.len(), count, "a setting is documented twice");
    let mut read: Vec<String> = super::VARIABLES
        .iter()
        .map(|name| name.to_string())
        .collect();
    read.sort();
    assert_eq!(listed, read);
}
