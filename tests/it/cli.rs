//! The binary itself: `schema`, start-up configuration errors, and `serve --demo`.

use std::process::Stdio;

use serde_json::{Value, json};

use crate::common::process::{Running, gateway_command};

const SCHEMA_FILE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/schema/schema.graphql");

#[test]
fn the_checked_in_sdl_matches_the_schema() {
    let sdl = elements_gateway::sdl();
    if std::env::var_os("UPDATE_SCHEMA").is_some() {
        std::fs::write(SCHEMA_FILE, &sdl).unwrap();
    }
    let checked_in = std::fs::read_to_string(SCHEMA_FILE).unwrap();
    assert!(
        checked_in == sdl,
        "schema/schema.graphql is out of date: run `UPDATE_SCHEMA=1 cargo test schema` and commit it"
    );
}

#[test]
fn the_schema_command_prints_the_checked_in_sdl() {
    let output = gateway_command().arg("schema").output().unwrap();
    assert!(output.status.success());
    assert_eq!(
        String::from_utf8(output.stdout).unwrap(),
        std::fs::read_to_string(SCHEMA_FILE).unwrap()
    );
}

/// Runs `serve` with `env` and returns (exit success, stderr); it must exit by itself.
fn serve_with(env: &[(&str, &str)], args: &[&str]) -> (bool, String) {
    let mut command = gateway_command();
    command
        .arg("serve")
        .args(args)
        .env("GATEWAY_LISTEN", "127.0.0.1:0");
    for (name, value) in env {
        command.env(name, value);
    }
    let output = command.output().unwrap();
    (
        output.status.success(),
        String::from_utf8(output.stderr).unwrap(),
    )
}

const GOOD: [(&str, &str); 2] = [
    ("GATEWAY_UPSTREAM_TOKEN", "app-token"),
    ("GATEWAY_JWT_SECRET", "0123456789abcdef0123456789abcdef"),
];

#[test]
fn configuration_errors_stop_start_up_with_one_line_naming_the_setting() {
    let cases: Vec<(Vec<(&str, &str)>, &str)> = vec![
        (vec![GOOD[1]], "GATEWAY_UPSTREAM_TOKEN"),
        (vec![GOOD[0]], "GATEWAY_JWT_SECRET"),
        (
            vec![GOOD[0], GOOD[1], ("GATEWAY_UPSTREAM_PAGE_SIZE", "0")],
            "GATEWAY_UPSTREAM_PAGE_SIZE ([upstream] page_size)",
        ),
        (
            vec![GOOD[0], GOOD[1], ("GATEWAY_UPSTREAM_TIMEOUT_MS", "soon")],
            "GATEWAY_UPSTREAM_TIMEOUT_MS",
        ),
        (
            vec![
                GOOD[0],
                GOOD[1],
                (
                    "GATEWAY_UPSTREAM_TOKEN_URL",
                    "https://id.test/connect/token",
                ),
            ],
            "GATEWAY_UPSTREAM_TOKEN",
        ),
        (
            vec![GOOD[0], ("GATEWAY_JWT_SECRET", "too-short")],
            "GATEWAY_JWT_SECRET",
        ),
        (
            vec![GOOD[0], GOOD[1], ("GATEWAY_LISTEN", "nowhere")],
            "GATEWAY_LISTEN",
        ),
        (
            vec![GOOD[0], GOOD[1], ("GATEWAY_LOG_FORMAT", "yaml")],
            "GATEWAY_LOG_FORMAT ([log] format)",
        ),
        (
            vec![
                GOOD[0],
                GOOD[1],
                ("GATEWAY_UPSTREAM_URL", "http://graph.example.com"),
            ],
            "GATEWAY_UPSTREAM_URL ([upstream] url): must be an https:// URL",
        ),
        (
            vec![
                GOOD[0],
                GOOD[1],
                ("GATEWAY_JWT_JWKS_URL", "https://login.example.com/keys"),
                ("GATEWAY_JWT_AUDIENCE", "api://gateway"),
            ],
            "GATEWAY_JWT_ISSUER ([jwt] issuer): required with GATEWAY_JWT_JWKS_URL",
        ),
    ];
    #[cfg(not(feature = "otlp"))]
    let cases = [
        cases,
        vec![(
            vec![
                GOOD[0],
                GOOD[1],
                ("GATEWAY_TRACING_OTLP_ENDPOINT", "http://127.0.0.1:4318"),
            ],
            "GATEWAY_TRACING_OTLP_ENDPOINT ([tracing] otlp_endpoint): this build has no OTLP export",
        )],
    ]
    .concat();
    for (env, setting) in cases {
        let (ok, stderr) = serve_with(&env, &[]);
        assert!(!ok, "{setting}: start-up should fail");
        let lines: Vec<&str> = stderr.lines().collect();
        assert_eq!(lines.len(), 1, "one line: {stderr}");
        assert!(lines[0].contains(setting), "{setting} named in: {stderr}");
        assert!(
            !stderr.contains("too-short") && !stderr.contains("app-token"),
            "no secret: {stderr}"
        );
    }
}

#[test]
fn a_bad_config_file_is_named() {
    let dir = std::env::temp_dir().join(format!("gateway-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("gateway.toml");
    std::fs::write(&file, "[upstream]\npage_sise = 10\n").unwrap();
    let (ok, stderr) = serve_with(&GOOD, &["--config", file.to_str().unwrap()]);
    assert!(!ok);
    assert!(
        stderr.contains("unknown setting `[upstream] page_sise`"),
        "{stderr}"
    );
    let (ok, stderr) = serve_with(
        &GOOD,
        &["--config", dir.join("absent.toml").to_str().unwrap()],
    );
    assert!(!ok);
    assert!(stderr.contains("cannot read config file"), "{stderr}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn the_demo_serves_with_no_setup_and_prints_a_working_token() {
    let mut demo = gateway_command();
    demo.args(["serve", "--demo"])
        .env("GATEWAY_LISTEN", "127.0.0.1:0")
        .stderr(Stdio::null());
    let mut demo = Running::start(demo);
    let url = demo.line_after("elements-gateway listening on ").await;
    let token = demo.line_after("Authorization: Bearer ").await;
    let client = reqwest::Client::new();
    let answer: Value = client
        .post(&url)
        .bearer_auth(&token)
        .json(&json!({ "query": "{ customers(first: 2) { totalCount nodes { id } } products(filter: {expiringBefore: \"2027-01-01T00:00:00Z\"}) { service expirationDate customer { organization } } }" }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(answer.get("errors").is_none(), "{answer}");
    assert_eq!(
        answer["data"]["customers"]["nodes"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    assert!(!answer["data"]["products"].as_array().unwrap().is_empty());
    let page = client
        .get(&url)
        .header("accept", "text/html")
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(
        html.contains(&format!(
            "data-headers=\"{{\n  &quot;Authorization&quot;: &quot;Bearer {token}&quot;\n}}\""
        )),
        "the demo's GraphiQL carries its token:\n{html}"
    );
}

/// A token from the mock's token endpoint for the client `cli-app`, after a wrong secret is
/// refused.
async fn issued_token(client: &reqwest::Client, base: &str) -> String {
    let grant = |secret: &str| {
        client
            .post(format!("{base}/connect/token"))
            .form(&[
                ("grant_type", "client_credentials"),
                ("client_id", "cli-app"),
                ("client_secret", secret),
                ("scope", "elements.license.read.all"),
            ])
            .send()
    };
    let denied = grant("not-it").await.unwrap();
    assert_eq!(denied.status(), 401);
    let denied: Value = denied.json().await.unwrap();
    assert_eq!(denied["error"], "invalid_client");
    let granted: Value = grant("cli-secret").await.unwrap().json().await.unwrap();
    assert_eq!(granted["expires_in"], 3600);
    granted["access_token"].as_str().unwrap().to_owned()
}

/// `mock-upstream` with 7 customers of 2 products, pages of at most 5, a fixed token and a
/// client-credentials app.
fn mock_command() -> std::process::Command {
    let mut mock = gateway_command();
    mock.args([
        "mock-upstream",
        "--listen",
        "127.0.0.1:0",
        "--customers",
        "7",
    ])
    .args([
        "--products-per-customer",
        "2",
        "--token",
        "cli-token",
        "--page-cap",
        "5",
    ])
    .args(["--client-id", "cli-app", "--client-secret", "cli-secret"])
    .stderr(Stdio::null());
    mock
}

#[tokio::test]
async fn the_mock_upstream_command_serves_pages_tokens_and_faults() {
    let mut mock = Running::start(mock_command());
    let listening = mock.line_after("mock upstream listening on ").await;
    let base = listening.split_whitespace().next().unwrap().to_owned();
    let client = reqwest::Client::new();
    let batch = |page: u32, token: &str, body: Value| {
        client
            .post(format!(
                "{base}{}?pageIndex={page}&pageSize=100",
                elements_gateway::BATCH_PATH
            ))
            .bearer_auth(token)
            .json(&body)
            .send()
    };
    let page: Value = batch(2, "cli-token", json!({}))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        page["metadata"],
        json!({ "pageIndex": 2, "pageSize": 5, "totalCount": 7 })
    );
    assert_eq!(page["data"].as_array().unwrap().len(), 2);
    assert_eq!(page["data"][0]["products"].as_array().unwrap().len(), 2);

    // The older single-id body form is accepted too.
    let id = page["data"][0]["customerId"].clone();
    let single: Value = batch(1, "cli-token", json!({ "customerId": id }))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(single["metadata"]["totalCount"], 1);
    assert_eq!(single["data"][0]["customerId"], id);

    let refused = batch(1, "wrong", json!({})).await.unwrap();
    assert_eq!(refused.status(), 401);

    // The token endpoint grants client credentials; the batch endpoint takes what it issues.
    let issued = issued_token(&client, &base).await;
    assert_eq!(batch(1, &issued, json!({})).await.unwrap().status(), 200);

    let switched = client
        .put(format!("{base}/__mock/fault"))
        .json(&json!({ "kind": "server_error", "status": 503 }))
        .send()
        .await
        .unwrap();
    assert_eq!(switched.status(), 204);
    let failing = batch(1, "cli-token", json!({})).await.unwrap();
    assert_eq!(failing.status(), 503);
    let stats: Value = client
        .get(format!("{base}/__mock/stats"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(stats["requests"], 5);
    assert_eq!(stats["token_requests"], 2);
}
