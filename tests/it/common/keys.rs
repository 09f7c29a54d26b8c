//! Test keys (checked in under `tests/fixtures/keys`), tokens signed with them, and a JWKS
//! server on loopback whose keys and health a test can change.

use std::{
    net::SocketAddr,
    path::PathBuf,
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
};

use axum::{Json, Router, extract::State, http::StatusCode, response::IntoResponse, routing::get};
use jsonwebtoken::{Algorithm, EncodingKey, Header, jwk::Jwk};
use serde_json::{Value, json};
use tokio::{net::TcpListener, sync::oneshot};

/// A file of `tests/fixtures/keys`.
pub(crate) fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/keys")
        .join(name)
}

fn encoding_key(private_key: &str, algorithm: Algorithm) -> EncodingKey {
    let pem = std::fs::read(fixture(private_key)).unwrap();
    match algorithm {
        Algorithm::ES256 | Algorithm::ES384 => EncodingKey::from_ec_pem(&pem).unwrap(),
        _ => EncodingKey::from_rsa_pem(&pem).unwrap(),
    }
}

/// `claims` signed with the fixture `private_key`, naming `kid` when given.
pub(crate) fn sign_with(
    claims: &Value,
    algorithm: Algorithm,
    kid: Option<&str>,
    private_key: &str,
) -> String {
    let mut header = Header::new(algorithm);
    header.kid = kid.map(str::to_owned);
    jsonwebtoken::encode(&header, claims, &encoding_key(private_key, algorithm)).unwrap()
}

/// The public JWK of the fixture `private_key`, for `algorithm`, with `kid`.
pub(crate) fn jwk(private_key: &str, algorithm: Algorithm, kid: &str) -> Value {
    let mut jwk = Jwk::from_encoding_key(&encoding_key(private_key, algorithm), algorithm).unwrap();
    jwk.common.key_id = Some(kid.to_owned());
    serde_json::to_value(jwk).unwrap()
}

struct JwksState {
    keys: Mutex<Vec<Value>>,
    failing: AtomicBool,
    fetches: AtomicU64,
}

/// A JWKS endpoint on loopback; stops when dropped.
pub(crate) struct JwksServer {
    addr: SocketAddr,
    state: Arc<JwksState>,
    _stop: oneshot::Sender<()>,
}

impl JwksServer {
    /// A JWKS endpoint on an ephemeral port publishing `keys`.
    pub(crate) async fn spawn(keys: Vec<Value>) -> Self {
        let state = Arc::new(JwksState {
            keys: Mutex::new(keys),
            failing: AtomicBool::new(false),
            fetches: AtomicU64::new(0),
        });
        let app = Router::new()
            .route("/.well-known/jwks.json", get(serve_keys))
            .with_state(Arc::clone(&state));
        let listener = TcpListener::bind(("127.0.0.1", 0)).await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop, stopped) = oneshot::channel::<()>();
        tokio::spawn(async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    let _ = stopped.await;
                })
                .await;
        });
        Self {
            addr,
            state,
            _stop: stop,
        }
    }

    /// Where the keys are published.
    pub(crate) fn url(&self) -> String {
        format!("http://{}/.well-known/jwks.json", self.addr)
    }

    /// Publishes these keys from now on (a rotation).
    pub(crate) fn set_keys(&self, keys: Vec<Value>) {
        *self.state.keys.lock().unwrap() = keys;
    }

    /// Answers 503 while `failing`.
    pub(crate) fn set_failing(&self, failing: bool) {
        self.state.failing.store(failing, Ordering::SeqCst);
    }

    /// Requests received so far.
    pub(crate) fn fetches(&self) -> u64 {
        self.state.fetches.load(Ordering::SeqCst)
    }
}

async fn serve_keys(State(state): State<Arc<JwksState>>) -> impl IntoResponse {
    state.fetches.fetch_add(1, Ordering::SeqCst);
    if state.failing.load(Ordering::SeqCst) {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({ "error": "down" })),
        );
    }
    let keys = state.keys.lock().unwrap().clone();
    (StatusCode::OK, Json(json!({ "keys": keys })))
}
