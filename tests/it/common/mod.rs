//! Spawning a gateway over a mock upstream, and talking to it.

pub(crate) mod keys;
pub(crate) mod process;
mod reading;
pub(crate) mod redis;

use std::{collections::HashMap, net::SocketAddr, sync::Arc, time::Duration};

use elements_gateway::{
    Application, Clock, Settings,
    mock_upstream::{MockClient, MockOptions, MockUpstream, READ_PERMISSIONS},
};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};
use tokio::{sync::oneshot, task::JoinHandle};

pub(crate) use reading::{assert_all_forbidden, error_code, sum_series, upstream_items};

/// The caller secret every test gateway trusts.
pub(crate) const SECRET: &str = "test-secret-0123456789-abcdefghijklmnop";
/// The issuer test tokens name and test gateways require.
pub(crate) const ISSUER: &str = "https://issuer.test";
/// The audience test tokens name and test gateways require.
pub(crate) const AUDIENCE: &str = "elements-gateway-tests";

/// The client id test gateways register at the mock's token endpoint.
pub(crate) const CLIENT_ID: &str = "gateway-tests";
/// The client secret of [`CLIENT_ID`].
pub(crate) const CLIENT_SECRET: &str = "client-secret-for-the-gateway-tests";

/// How the test gateway gets its upstream token.
#[derive(Default, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AppAuth {
    /// `GATEWAY_UPSTREAM_TOKEN`, the mock's fixed token.
    #[default]
    FixedToken,
    /// Client credentials with a client secret.
    ClientSecret,
    /// Client credentials with a signed client assertion (the fixture certificate).
    ClientAssertion,
}

/// How to build a test gateway.
#[derive(Default)]
pub(crate) struct Options {
    pub(crate) mock: MockOptions,
    pub(crate) app_auth: AppAuth,
    /// Extra or overriding `GATEWAY_*` settings.
    pub(crate) settings: Vec<(&'static str, String)>,
    /// Return without waiting for `/readyz` (for an upstream that is meant to be down).
    pub(crate) no_wait: bool,
    /// Answer everything with async-graphql's executor (the differential test's reference).
    pub(crate) reference_only: bool,
}

impl Options {
    /// A mock of `customers` customers with `products` products each.
    pub(crate) fn customers(mut self, customers: usize, products: usize) -> Self {
        self.mock.customers = customers;
        self.mock.products_per_customer = products;
        self
    }

    /// See [`Options::no_wait`].
    pub(crate) fn without_waiting_for_ready(mut self) -> Self {
        self.no_wait = true;
        self
    }

    /// The gateway obtains its upstream token from the mock's token endpoint.
    pub(crate) fn app_auth(mut self, app_auth: AppAuth) -> Self {
        self.app_auth = app_auth;
        self.mock.client = Some(MockClient {
            client_id: CLIENT_ID.into(),
            secret: Some(CLIENT_SECRET.into()),
            certificate_pem: Some(
                std::fs::read_to_string(keys::fixture("client.crt")).expect("fixture"),
            ),
            scope: READ_PERMISSIONS.into(),
        });
        self
    }

    /// See [`Options::reference_only`].
    pub(crate) fn reference_only(mut self) -> Self {
        self.reference_only = true;
        self
    }

    /// One more setting, as the environment variable `name` would give it.
    pub(crate) fn set(mut self, name: &'static str, value: impl ToString) -> Self {
        self.settings.push((name, value.to_string()));
        self
    }
}

/// A gateway serving in this process on an ephemeral port, over its mock upstream, on an
/// injected clock.
pub(crate) struct TestGateway {
    pub(crate) addr: SocketAddr,
    /// Where `/metrics` is served when `GATEWAY_METRICS_LISTEN` sets it apart.
    pub(crate) metrics_addr: Option<SocketAddr>,
    pub(crate) client: reqwest::Client,
    pub(crate) upstream: Arc<MockUpstream>,
    /// The gateway's freshness clock: [`TestGateway::advance`] moves it.
    clock: Clock,
    stop: Option<oneshot::Sender<()>>,
    server: Option<JoinHandle<std::io::Result<()>>>,
}

/// The settings of a gateway on an ephemeral port over `upstream` (its fixed token) that
/// accepts [`token`]s: for test gateways, in-process or the binary.
pub(crate) fn base_settings(upstream: &MockUpstream) -> [(&'static str, String); 6] {
    [
        ("GATEWAY_LISTEN", "127.0.0.1:0".to_owned()),
        ("GATEWAY_UPSTREAM_URL", upstream.url()),
        ("GATEWAY_UPSTREAM_TOKEN", upstream.token().to_owned()),
        ("GATEWAY_JWT_SECRET", SECRET.to_owned()),
        ("GATEWAY_JWT_ISSUER", ISSUER.to_owned()),
        ("GATEWAY_JWT_AUDIENCE", AUDIENCE.to_owned()),
    ]
}

/// Polls `condition` every 25 ms until it holds, for at most 5 s; then fails naming `what`.
pub(crate) async fn eventually(what: &str, mut condition: impl AsyncFnMut() -> bool) {
    for _ in 0..200 {
        if condition().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("timed out waiting until {what}");
}

/// A gateway on the default options over a mock of its own.
pub(crate) async fn spawn() -> TestGateway {
    spawn_with(Options::default()).await
}

/// A gateway on `options` over a mock of its own.
pub(crate) async fn spawn_with(options: Options) -> TestGateway {
    let upstream = MockUpstream::spawn(options.mock.clone())
        .await
        .expect("mock upstream starts");
    spawn_over(Arc::new(upstream), options).await
}

/// A gateway over an upstream that others may share (replicas of one deployment); the
/// options' mock settings are not used.
pub(crate) async fn spawn_over(upstream: Arc<MockUpstream>, options: Options) -> TestGateway {
    let mut env: HashMap<&str, String> = HashMap::from(base_settings(&upstream));
    env.insert("GATEWAY_UPSTREAM_TIMEOUT_MS", "2000".to_owned());
    let client_settings = match options.app_auth {
        AppAuth::FixedToken => vec![],
        AppAuth::ClientSecret => vec![("GATEWAY_UPSTREAM_CLIENT_SECRET", CLIENT_SECRET.to_owned())],
        AppAuth::ClientAssertion => vec![
            (
                "GATEWAY_UPSTREAM_CLIENT_ASSERTION_KEY_FILE",
                keys::fixture("client.key").display().to_string(),
            ),
            (
                "GATEWAY_UPSTREAM_CLIENT_CERT_FILE",
                keys::fixture("client.crt").display().to_string(),
            ),
        ],
    };
    if !client_settings.is_empty() {
        env.remove("GATEWAY_UPSTREAM_TOKEN");
        env.insert("GATEWAY_UPSTREAM_TOKEN_URL", upstream.token_url());
        env.insert("GATEWAY_UPSTREAM_CLIENT_ID", CLIENT_ID.to_owned());
        env.extend(client_settings);
    }
    env.extend(options.settings);
    let settings = Settings::load(None, |name| env.get(name).cloned()).expect("valid settings");
    let clock = Clock::default();
    let mut app = Application::build_with_clock(settings, clock.clone())
        .await
        .expect("gateway builds");
    if options.reference_only {
        app = app.with_reference_executor_only();
    }
    let addr = app.local_addr();
    let metrics_addr = app.metrics_addr();
    let (stop, stopped) = oneshot::channel::<()>();
    let server = tokio::spawn(app.run_until_stopped(async {
        let _ = stopped.await;
    }));
    let gateway = TestGateway {
        addr,
        metrics_addr,
        client: reqwest::Client::new(),
        upstream,
        clock,
        stop: Some(stop),
        server: Some(server),
    };
    if !options.no_wait {
        gateway.wait_until_ready().await;
    }
    gateway
}

/// Claims of a token the test gateways accept.
pub(crate) fn valid_claims() -> Value {
    let now = now();
    json!({ "sub": "tester", "iss": ISSUER, "aud": AUDIENCE, "iat": now, "exp": now + 600 })
}

/// Seconds since the Unix epoch, for the times in a token.
pub(crate) fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// A token signed with `secret` and `algorithm` over `claims`.
pub(crate) fn sign(claims: &Value, algorithm: Algorithm, secret: &str) -> String {
    jsonwebtoken::encode(
        &Header::new(algorithm),
        claims,
        &EncodingKey::from_secret(secret.as_bytes()),
    )
    .unwrap()
}

/// A token every test gateway accepts.
pub(crate) fn token() -> String {
    sign(&valid_claims(), Algorithm::HS256, SECRET)
}

impl TestGateway {
    /// Moves the gateway's freshness clock forward: cached answers age, an open circuit's
    /// cool-down and the app token's life pass, with no waiting.
    pub(crate) fn advance(&self, by: Duration) {
        self.clock.advance(by);
    }

    /// Gives the gateway its shutdown signal, as SIGTERM would.
    pub(crate) fn begin_shutdown(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }

    /// Waits until the gateway has stopped serving; returns how serving ended.
    pub(crate) async fn stopped(&mut self) -> std::io::Result<()> {
        self.server
            .take()
            .expect("the gateway was spawned")
            .await
            .expect("the server task does not panic")
    }

    /// `path` on the gateway.
    pub(crate) fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// The sum of the series on `/metrics` named as `series` (`name` or `name{a="x",b="y"}`)
    /// that carry every label given, in any order; 0 when there are none.
    pub(crate) async fn metric(&self, series: &str) -> f64 {
        let at = self.metrics_addr.unwrap_or(self.addr);
        let text = self
            .client
            .get(format!("http://{at}/metrics"))
            .send()
            .await
            .expect("the gateway answers")
            .text()
            .await
            .unwrap();
        sum_series(&text, series)
    }

    /// `gateway_upstream_pages_ahead_total` for one outcome.
    pub(crate) async fn pages_ahead(&self, outcome: &str) -> f64 {
        self.metric(&format!(
            "gateway_upstream_pages_ahead_total{{outcome=\"{outcome}\"}}"
        ))
        .await
    }

    /// Whether `/readyz` answers 200.
    pub(crate) async fn is_ready(&self) -> bool {
        self.get("/readyz").await.status() == 200
    }

    /// Polls `/readyz` until the gateway is ready (at most 5 s).
    pub(crate) async fn wait_until_ready(&self) {
        eventually("the gateway is ready", async || {
            self.client
                .get(self.url("/readyz"))
                .send()
                .await
                .is_ok_and(|response| response.status() == 200)
        })
        .await;
    }

    /// GETs `path` with no token.
    pub(crate) async fn get(&self, path: &str) -> reqwest::Response {
        self.client
            .get(self.url(path))
            .send()
            .await
            .expect("the gateway answers")
    }

    /// POSTs `body` to /graphql with `token` (none: no Authorization header).
    pub(crate) async fn post(&self, body: &Value, token: Option<&str>) -> reqwest::Response {
        let mut request = self.client.post(self.url("/graphql")).json(body);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        request.send().await.expect("the gateway answers")
    }

    /// Runs `query` with a valid token; expects HTTP 200 and returns the whole answer.
    pub(crate) async fn query(&self, query: &str) -> Value {
        self.query_with(query, json!({})).await
    }

    /// Posts `query` with `variables` under a valid token; returns the answer.
    pub(crate) async fn query_with(&self, query: &str, variables: Value) -> Value {
        let response = self
            .post(
                &json!({ "query": query, "variables": variables }),
                Some(&token()),
            )
            .await;
        assert_eq!(response.status(), 200);
        response.json().await.unwrap()
    }

    /// Runs `query` and returns `data`, failing on any error.
    pub(crate) async fn data(&self, query: &str) -> Value {
        let answer = self.query(query).await;
        assert!(
            answer.get("errors").is_none(),
            "unexpected errors: {answer}"
        );
        answer["data"].clone()
    }

    /// The mock upstream's customer ids, in upstream order.
    pub(crate) fn upstream_ids(&self) -> Vec<String> {
        self.upstream
            .customers()
            .iter()
            .map(|customer| customer.customer_id.clone())
            .collect()
    }

    /// Waits until the snapshot has been refreshed in the background `times` times.
    pub(crate) async fn refreshed(&self, times: f64) {
        let done = "gateway_cache_refreshes_total{cache=\"snapshot\",outcome=\"OK\"}";
        eventually("the refresh finished", async || {
            self.metric(done).await >= times
        })
        .await;
    }

    /// Waits (up to 5 s) until `condition` holds; panics when it never does.
    pub(crate) async fn wait_for(&self, condition: impl Fn() -> bool) {
        eventually("the condition held", async || condition()).await;
    }

    /// Batch requests the mock upstream has received so far.
    pub(crate) fn upstream_requests(&self) -> u64 {
        self.upstream.requests()
    }
}
