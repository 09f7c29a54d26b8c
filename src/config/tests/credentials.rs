//! Secrets and credentials: never echoed or shown, exactly one kind of upstream credential,
//! a caller key required, a JWKS only with an issuer and an audience, and secret-bearing URLs
//! on HTTPS off loopback.

use super::*;

#[test]
fn debug_output_never_shows_a_secret() {
    let with_token = load(&minimal()).unwrap();
    let with_client = load(&[
        (
            "GATEWAY_UPSTREAM_TOKEN_URL",
            "https://id.test/connect/token",
        ),
        ("GATEWAY_UPSTREAM_CLIENT_ID", "app"),
        ("GATEWAY_UPSTREAM_CLIENT_SECRET", "client-secret-value"),
        ("GATEWAY_JWT_SECRET", SECRET),
    ])
    .unwrap();
    let shown = format!("{with_token:?} {with_client:?}");
    for secret in ["app-token", "client-secret-value", SECRET] {
        assert!(!shown.contains(secret), "{shown}");
    }
    assert!(shown.contains("[redacted]"));
}

#[test]
fn secrets_are_never_echoed() {
    let line = error_line(&[
        ("GATEWAY_UPSTREAM_TOKEN", "app-token"),
        ("GATEWAY_JWT_SECRET", "short-secret-value"),
    ]);
    assert!(line.starts_with("GATEWAY_JWT_SECRET ([jwt] secret): must be at least 32 bytes"));
    assert!(!line.contains("short-secret-value"));
}

#[test]
fn credentials_must_be_exactly_one_kind() {
    assert!(error_line(&[("GATEWAY_JWT_SECRET", SECRET)]).starts_with("GATEWAY_UPSTREAM_TOKEN"));
    let mut both = minimal();
    both.push((
        "GATEWAY_UPSTREAM_TOKEN_URL",
        "https://id.example/connect/token",
    ));
    assert!(error_line(&both).contains("not both"));
    let line = error_line(&[
        ("GATEWAY_JWT_SECRET", SECRET),
        (
            "GATEWAY_UPSTREAM_TOKEN_URL",
            "https://id.example/connect/token",
        ),
        ("GATEWAY_UPSTREAM_CLIENT_ID", "app"),
    ]);
    assert!(line.starts_with("GATEWAY_UPSTREAM_CLIENT_SECRET"), "{line}");
    let settings = load(&[
        ("GATEWAY_JWT_SECRET", SECRET),
        (
            "GATEWAY_UPSTREAM_TOKEN_URL",
            "https://id.example/connect/token",
        ),
        ("GATEWAY_UPSTREAM_CLIENT_ID", "app"),
        ("GATEWAY_UPSTREAM_CLIENT_SECRET", "s3cret"),
    ])
    .unwrap();
    assert!(matches!(
        settings.upstream.credentials,
        UpstreamCredentials::ClientCredentials { .. }
    ));
}

#[test]
fn a_caller_key_is_required() {
    assert!(error_line(&[("GATEWAY_UPSTREAM_TOKEN", "t")]).contains("no caller key"),);
}

#[test]
fn secret_bearing_urls_must_be_https_off_loopback() {
    let with = |extra: &[(&'static str, &'static str)]| {
        let mut pairs = minimal();
        pairs.extend_from_slice(extra);
        load(&pairs)
    };
    for (name, url) in [
        ("GATEWAY_UPSTREAM_URL", "http://graph.example.com"),
        ("GATEWAY_JWT_JWKS_URL", "http://login.example.com/keys"),
    ] {
        let mut extra = vec![(name, url)];
        if name == "GATEWAY_JWT_JWKS_URL" {
            extra.extend([("GATEWAY_JWT_ISSUER", "i"), ("GATEWAY_JWT_AUDIENCE", "a")]);
        }
        let line = with(&extra).unwrap_err().to_string();
        assert!(line.starts_with(name), "{line}");
        assert!(line.contains("GATEWAY_ALLOW_INSECURE_URLS"), "{line}");
        extra.push(("GATEWAY_ALLOW_INSECURE_URLS", "true"));
        assert!(with(&extra).is_ok());
    }
    let client = [
        (
            "GATEWAY_UPSTREAM_TOKEN_URL",
            "http://id.example.com/connect/token",
        ),
        ("GATEWAY_UPSTREAM_CLIENT_ID", "app"),
        ("GATEWAY_UPSTREAM_CLIENT_SECRET", "s"),
        ("GATEWAY_JWT_SECRET", SECRET),
    ];
    let line = load(&client).unwrap_err().to_string();
    assert!(line.starts_with("GATEWAY_UPSTREAM_TOKEN_URL"), "{line}");
    for loopback in [
        "http://127.0.0.1:9000",
        "http://localhost:9000",
        "http://[::1]:9000",
    ] {
        let pairs = [
            ("GATEWAY_UPSTREAM_TOKEN", "t"),
            ("GATEWAY_JWT_SECRET", SECRET),
            ("GATEWAY_UPSTREAM_URL", loopback),
        ];
        assert!(load(&pairs).is_ok(), "{loopback}");
    }
    let line = with(&[("GATEWAY_ALLOW_INSECURE_URLS", "yes")])
        .unwrap_err()
        .to_string();
    assert!(line.starts_with("GATEWAY_ALLOW_INSECURE_URLS"), "{line}");
}

#[test]
fn a_jwks_needs_an_issuer_and_an_audience() {
    let mut pairs = minimal();
    pairs.push(("GATEWAY_JWT_JWKS_URL", "https://login.example.com/keys"));
    assert!(error_line(&pairs).starts_with("GATEWAY_JWT_ISSUER"));
    pairs.push(("GATEWAY_JWT_ISSUER", "https://login.example.com/"));
    assert!(error_line(&pairs).starts_with("GATEWAY_JWT_AUDIENCE"));
    pairs.push(("GATEWAY_JWT_AUDIENCE", "api://gateway"));
    assert!(load(&pairs).is_ok());
}
