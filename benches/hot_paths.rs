//! Micro-benchmarks of the hot paths (`cargo bench`): normalising a 10,000-customer snapshot,
//! filtering products by expiry, and executing a warm query in-process through the real router,
//! with and without answer reuse. Figures and history: BENCHMARKS.md.

use std::hint::black_box;

use axum::{Router, body::Body, http::Request};
use chrono::{TimeZone, Utc};
use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use elements_gateway::{
    Application, Customer, ProductFilter, RawCustomer, Settings, Snapshot,
    mock_upstream::{MockOptions, MockUpstream, dataset},
};
use tokio::runtime::Runtime;
use tower::ServiceExt;

const SECRET: &str = "bench-secret-0123456789-abcdefghijklmnop";
const WARM_QUERY: &str = "{ customers(first: 50) { nodes { id organization email products { service expirationDate } } } }";

/// The 10,000 × 5 dataset as the upstream sends it.
fn wire_json() -> Vec<u8> {
    serde_json::to_vec(&dataset::generate(10_000, 5, 1)).expect("the dataset serialises")
}

fn normalise(c: &mut Criterion) {
    let json = wire_json();
    let mut group = c.benchmark_group("snapshot");
    group.sample_size(20);
    group.bench_function("normalise and index 10k customers", |b| {
        b.iter_batched(
            || serde_json::from_slice::<Vec<RawCustomer>>(&json).expect("wire form"),
            |wire| Snapshot::new(wire.into_iter().map(Customer::from_wire).collect()),
            BatchSize::LargeInput,
        );
    });
    group.bench_function("parse, normalise and index 10k customers", |b| {
        b.iter(|| {
            let wire: Vec<RawCustomer> =
                serde_json::from_slice(black_box(&json)).expect("wire form");
            Snapshot::new(wire.into_iter().map(Customer::from_wire).collect())
        });
    });
    group.finish();
}

fn filter(c: &mut Criterion) {
    let wire: Vec<RawCustomer> = serde_json::from_slice(&wire_json()).expect("wire form");
    let snapshot = Snapshot::new(wire.into_iter().map(Customer::from_wire).collect());
    let narrow = ProductFilter {
        expiring_before: Some(Utc.with_ymd_and_hms(2025, 3, 1, 0, 0, 0).unwrap()),
        ..ProductFilter::default()
    };
    let by_service = ProductFilter {
        service: Some("backup".into()),
        ..ProductFilter::default()
    };
    let mut group = c.benchmark_group("products");
    group.bench_function("expiring before (binary-searched range)", |b| {
        b.iter(|| snapshot.products(black_box(&narrow)).len());
    });
    group.bench_function("service contains (full scan of 50k)", |b| {
        b.iter(|| snapshot.products(black_box(&by_service)).len());
    });
    group.finish();
}

struct Warm {
    runtime: Runtime,
    router: Router,
    token: String,
    _upstream: MockUpstream,
}

fn warm_gateway(answer_bytes: u64) -> Warm {
    let runtime = Runtime::new().expect("a runtime");
    let (router, upstream) = runtime.block_on(async {
        let upstream = MockUpstream::spawn(MockOptions {
            customers: 10_000,
            ..MockOptions::default()
        })
        .await
        .expect("the mock starts");
        let env = [
            ("GATEWAY_LISTEN", "127.0.0.1:0".to_owned()),
            ("GATEWAY_UPSTREAM_URL", upstream.url()),
            ("GATEWAY_UPSTREAM_TOKEN", upstream.token().to_owned()),
            ("GATEWAY_JWT_SECRET", SECRET.to_owned()),
            ("GATEWAY_CACHE_TTL_SECS", "86400".to_owned()),
            ("GATEWAY_CACHE_ANSWER_BYTES", answer_bytes.to_string()),
        ];
        let settings = Settings::load(None, |name| {
            env.iter()
                .find(|(key, _)| *key == name)
                .map(|(_, value)| value.clone())
        })
        .expect("settings");
        let app = Application::build(settings)
            .await
            .expect("the gateway builds");
        (app.router(), upstream)
    });
    let token = jsonwebtoken::encode(
        &jsonwebtoken::Header::default(),
        &serde_json::json!({ "sub": "bench", "exp": 4_000_000_000u64 }),
        &jsonwebtoken::EncodingKey::from_secret(SECRET.as_bytes()),
    )
    .expect("a token");
    let warm = Warm {
        runtime,
        router,
        token,
        _upstream: upstream,
    };
    for _ in 0..3 {
        warm.post(WARM_QUERY);
    }
    warm
}

impl Warm {
    fn post(&self, query: &str) -> usize {
        self.runtime.block_on(async {
            let request = Request::post("/graphql")
                .header("content-type", "application/json")
                .header("authorization", format!("Bearer {}", self.token))
                .body(Body::from(
                    serde_json::json!({ "query": query }).to_string(),
                ))
                .expect("a request");
            let response = self
                .router
                .clone()
                .oneshot(request)
                .await
                .expect("an answer");
            assert!(response.status().is_success());
            axum::body::to_bytes(response.into_body(), usize::MAX)
                .await
                .expect("a body")
                .len()
        })
    }
}

fn execute(c: &mut Criterion) {
    let mut group = c.benchmark_group("warm customers(first: 50) in-process");
    let executed = warm_gateway(0);
    group.bench_function("executed", |b| b.iter(|| executed.post(WARM_QUERY)));
    drop(executed);
    let reused = warm_gateway(32 * 1024 * 1024);
    group.bench_function("answer reused", |b| b.iter(|| reused.post(WARM_QUERY)));
    group.finish();
}

criterion_group!(benches, normalise, filter, execute);
criterion_main!(benches);
