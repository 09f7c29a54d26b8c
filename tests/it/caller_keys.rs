//! Caller keys beyond the shared secret: PEM public keys and a JWKS endpoint, rotation,
//! bounded refetching, outages, and the algorithm-confusion attack.

use elements_gateway::{Application, Settings};
use jsonwebtoken::Algorithm;
use serde_json::json;

use crate::{
    auth::{assert_refused, unsigned},
    common::{
        Options, SECRET, TestGateway, eventually,
        keys::{JwksServer, fixture, jwk, sign_with},
        sign, spawn_with, valid_claims,
    },
};

const QUERY: &str = "{ customers { totalCount } }";

/// A PEM file holding the public keys of these fixtures, one after another.
fn pem_bundle(name: &str, fixtures: &[&str]) -> std::path::PathBuf {
    let text: String = fixtures
        .iter()
        .map(|file| std::fs::read_to_string(fixture(file)).unwrap())
        .collect();
    let path = std::env::temp_dir().join(format!(
        "elements-gateway-{}-{name}.pem",
        std::process::id()
    ));
    std::fs::write(&path, text).unwrap();
    path
}

async fn assert_accepted(gateway: &TestGateway, token: &str) {
    let response = gateway.post(&json!({ "query": QUERY }), Some(token)).await;
    assert_eq!(response.status(), 200, "{}", response.text().await.unwrap());
}

fn bearer(token: &str) -> String {
    format!("Bearer {token}")
}

#[tokio::test]
async fn pem_keys_accept_each_algorithm_their_type_allows_next_to_the_secret() {
    let bundle = pem_bundle(
        "all-types",
        &["rsa-1.pub.pem", "ec-p256.pub.pem", "ec-p384.pub.pem"],
    );
    let gateway =
        spawn_with(Options::default().set("GATEWAY_JWT_PUBLIC_KEY_FILE", bundle.display())).await;
    let claims = valid_claims();
    for (algorithm, key) in [
        (Algorithm::RS256, "rsa-1.key"),
        (Algorithm::RS384, "rsa-1.key"),
        (Algorithm::RS512, "rsa-1.key"),
        (Algorithm::PS256, "rsa-1.key"),
        (Algorithm::ES256, "ec-p256.key"),
        (Algorithm::ES384, "ec-p384.key"),
    ] {
        assert_accepted(&gateway, &sign_with(&claims, algorithm, None, key)).await;
    }
    assert_accepted(&gateway, &sign(&claims, Algorithm::HS256, SECRET)).await;
    // A key nobody configured, of a configured type: a bad signature.
    let stranger = sign_with(&claims, Algorithm::RS256, None, "rsa-2.key");
    assert_refused(&gateway, Some(&bearer(&stranger)), "bad_signature").await;
    // Expiry is enforced for key-signed tokens as for HS256 ones.
    let mut expired = valid_claims();
    expired["exp"] = json!(expired["iat"].as_u64().unwrap() - 3600);
    let expired = sign_with(&expired, Algorithm::ES256, None, "ec-p256.key");
    assert_refused(&gateway, Some(&bearer(&expired)), "expired").await;
}

#[tokio::test]
async fn the_public_key_is_never_used_as_an_hmac_secret() {
    // The classic algorithm-confusion forgery: HS256 with the (public) PEM text as the secret.
    let pem = std::fs::read_to_string(fixture("rsa-1.pub.pem")).unwrap();
    let forged = sign(&valid_claims(), Algorithm::HS256, &pem);
    let pem_only = spawn_with(Options::default().set("GATEWAY_JWT_SECRET", "").set(
        "GATEWAY_JWT_PUBLIC_KEY_FILE",
        fixture("rsa-1.pub.pem").display(),
    ))
    .await;
    assert_refused(&pem_only, Some(&bearer(&forged)), "algorithm_not_allowed").await;
    // With a shared secret configured too, HS256 is allowed, but only checked with the secret.
    let both = spawn_with(Options::default().set(
        "GATEWAY_JWT_PUBLIC_KEY_FILE",
        fixture("rsa-1.pub.pem").display(),
    ))
    .await;
    assert_refused(&both, Some(&bearer(&forged)), "bad_signature").await;
    // An EC algorithm against an RSA-only configuration, and `none`, are refused by name.
    let ec = sign_with(&valid_claims(), Algorithm::ES256, None, "ec-p256.key");
    assert_refused(&pem_only, Some(&bearer(&ec)), "algorithm_not_allowed").await;
    let none = unsigned(&valid_claims());
    assert_refused(&pem_only, Some(&bearer(&none)), "algorithm_not_allowed").await;
    assert_accepted(
        &pem_only,
        &sign_with(&valid_claims(), Algorithm::RS256, None, "rsa-1.key"),
    )
    .await;
}

#[tokio::test]
async fn an_unusable_key_file_stops_start_up_naming_the_setting() {
    for (file, expected) in [
        (fixture("rsa-1.key"), "private key"),
        (fixture("missing.pem"), "cannot read"),
        (fixture("generate.sh"), "no PEM public key"),
    ] {
        let env = |name: &str| match name {
            "GATEWAY_LISTEN" => Some("127.0.0.1:0".to_owned()),
            "GATEWAY_UPSTREAM_TOKEN" => Some("t".to_owned()),
            "GATEWAY_JWT_PUBLIC_KEY_FILE" => Some(file.display().to_string()),
            _ => None,
        };
        let settings = Settings::load(None, env).unwrap();
        let error = Application::build(settings).await.unwrap_err().to_string();
        assert!(
            error.starts_with("GATEWAY_JWT_PUBLIC_KEY_FILE ([jwt] public_key_file): "),
            "{error}"
        );
        assert!(error.contains(expected), "{error}");
        assert!(!error.contains("MII"), "key material in {error}");
    }
}

/// A gateway that trusts only `jwks`, refreshing every `refresh` seconds.
async fn jwks_gateway(jwks: &JwksServer, refresh: u64, min_refetch: u64) -> TestGateway {
    spawn_with(
        Options::default()
            .set("GATEWAY_JWT_SECRET", "")
            .set("GATEWAY_JWT_JWKS_URL", jwks.url())
            .set("GATEWAY_JWT_JWKS_REFRESH_SECS", refresh)
            .set("GATEWAY_JWT_JWKS_MIN_REFETCH_SECS", min_refetch)
            .without_waiting_for_ready(),
    )
    .await
}

#[tokio::test]
async fn readiness_waits_for_the_jwks_and_its_keys_verify_by_kid() {
    let jwks = JwksServer::spawn(vec![
        jwk("rsa-1.key", Algorithm::RS256, "rsa-1"),
        jwk("ec-p256.key", Algorithm::ES256, "ec-1"),
    ])
    .await;
    jwks.set_failing(true);
    let gateway = jwks_gateway(&jwks, 1, 0).await;
    eventually("the first fetch has failed", async || jwks.fetches() >= 1).await;
    let readyz = gateway.get("/readyz").await;
    assert_eq!(readyz.status(), 503);
    assert!(readyz.text().await.unwrap().contains("JWKS"));
    jwks.set_failing(false);
    eventually("the gateway is ready", async || gateway.is_ready().await).await;
    let claims = valid_claims();
    assert_accepted(
        &gateway,
        &sign_with(&claims, Algorithm::RS256, Some("rsa-1"), "rsa-1.key"),
    )
    .await;
    assert_accepted(
        &gateway,
        &sign_with(&claims, Algorithm::ES256, Some("ec-1"), "ec-p256.key"),
    )
    .await;
    // A JWK with `alg` allows only that algorithm, even with the right key.
    let other_alg = sign_with(&claims, Algorithm::PS256, Some("rsa-1"), "rsa-1.key");
    assert_refused(&gateway, Some(&bearer(&other_alg)), "no_matching_key").await;
    // No `kid`: every key of the right type is tried.
    assert_accepted(
        &gateway,
        &sign_with(&claims, Algorithm::ES256, None, "ec-p256.key"),
    )
    .await;
    assert_eq!(
        gateway.metric("gateway_jwks_keys").await,
        2.0,
        "two keys in use"
    );
}

#[tokio::test]
async fn keys_rotate_without_a_restart() {
    let jwks = JwksServer::spawn(vec![jwk("rsa-1.key", Algorithm::RS256, "2026-a")]).await;
    let gateway = jwks_gateway(&jwks, 3600, 0).await;
    gateway.wait_until_ready().await;
    let claims = valid_claims();
    let old = sign_with(&claims, Algorithm::RS256, Some("2026-a"), "rsa-1.key");
    assert_accepted(&gateway, &old).await;
    // The provider rotates: a new key, the old one withdrawn.
    jwks.set_keys(vec![jwk("rsa-2.key", Algorithm::RS256, "2026-b")]);
    let new = sign_with(&claims, Algorithm::RS256, Some("2026-b"), "rsa-2.key");
    assert_accepted(&gateway, &new).await;
    assert_eq!(
        gateway
            .metric("gateway_jwks_fetches_total{trigger=\"unknown_kid\",outcome=\"ok\"}")
            .await,
        1.0
    );
    assert_refused(&gateway, Some(&bearer(&old)), "no_matching_key").await;
}

#[tokio::test]
async fn a_flood_of_unknown_kids_cannot_hammer_the_identity_provider() {
    let jwks = JwksServer::spawn(vec![jwk("rsa-1.key", Algorithm::RS256, "real")]).await;
    let gateway = jwks_gateway(&jwks, 3600, 60).await;
    gateway.wait_until_ready().await;
    let fetched_at_start = jwks.fetches();
    let upstream_before = gateway.upstream_requests();
    let claims = valid_claims();
    let refusals = (0..200).map(|n| {
        let token = sign_with(
            &claims,
            Algorithm::RS256,
            Some(&format!("forged-{n}")),
            "rsa-2.key",
        );
        let gateway = &gateway;
        async move {
            gateway
                .post(&json!({ "query": QUERY }), Some(&token))
                .await
                .status()
        }
    });
    let statuses = futures::future::join_all(refusals).await;
    assert!(statuses.iter().all(|status| *status == 401), "{statuses:?}");
    assert!(
        jwks.fetches() <= fetched_at_start + 1,
        "{} JWKS fetches for 200 unknown kids",
        jwks.fetches() - fetched_at_start
    );
    assert!(
        gateway
            .metric("gateway_jwks_refetches_suppressed_total")
            .await
            >= 199.0
    );
    assert_eq!(gateway.upstream_requests(), upstream_before);
    // The real key still works.
    assert_accepted(
        &gateway,
        &sign_with(&claims, Algorithm::RS256, Some("real"), "rsa-1.key"),
    )
    .await;
}

#[tokio::test]
async fn a_jwks_outage_keeps_the_last_good_keys_and_says_so() {
    let jwks = JwksServer::spawn(vec![jwk("ec-p384.key", Algorithm::ES384, "k")]).await;
    let gateway = jwks_gateway(&jwks, 1, 0).await;
    gateway.wait_until_ready().await;
    jwks.set_failing(true);
    let failures = "gateway_jwks_fetches_total{trigger=\"periodic\",outcome=\"error\"}";
    eventually("a periodic fetch has failed", async || {
        gateway.metric(failures).await >= 1.0
    })
    .await;
    let token = sign_with(&valid_claims(), Algorithm::ES384, Some("k"), "ec-p384.key");
    assert_accepted(&gateway, &token).await;
    assert!(
        gateway.is_ready().await,
        "still ready on the last good keys"
    );
    assert_eq!(gateway.metric("gateway_jwks_keys").await, 1.0);
}
