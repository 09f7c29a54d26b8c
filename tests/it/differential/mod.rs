//! The fast executor against async-graphql's: generated requests (see [`generate`]) sent to
//! a gateway with both executors and to one with async-graphql's alone, over identical mock
//! upstreams, must get byte-identical answers, errors included, for unrestricted and
//! restricted callers, from fresh data and while the upstream fails.
//!
//! `DIFFERENTIAL_SEED` and `DIFFERENTIAL_CASES` change the run (CI keeps the defaults); a
//! failure prints the seed, the case number and the request.

mod generate;

use jsonwebtoken::Algorithm;
use proptest::test_runner::{RngAlgorithm, TestRng};
use serde_json::{Value, json};

use crate::common::{Options, SECRET, TestGateway, sign, spawn_with, valid_claims};
use elements_gateway::mock_upstream::Fault;
use generate::{Case, Generator};

const CLAIM: &str = "elements_customers";
const ALL_CUSTOMERS: &str = "elements.customers.all";

fn setting(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or(default)
}

async fn gateway(reference: bool) -> TestGateway {
    let mut options = Options::default()
        .set("GATEWAY_CACHE_ANSWER_BYTES", 0)
        .set("GATEWAY_JWT_CUSTOMER_CLAIM", CLAIM)
        .set("GATEWAY_JWT_ALL_CUSTOMERS_SCOPE", ALL_CUSTOMERS)
        .set("GATEWAY_LIMITS_RATE_PER_MINUTE", 0);
    if reference {
        options = options.reference_only();
    }
    spawn_with(options).await
}

/// A token for every customer, or for `ids` alone.
fn token(ids: Option<&[String]>) -> String {
    let mut claims = valid_claims();
    match ids {
        Some(ids) => claims[CLAIM] = json!(ids),
        None => claims["scope"] = json!(format!("read {ALL_CUSTOMERS}")),
    }
    sign(&claims, Algorithm::HS256, SECRET)
}

/// The status and the exact bytes of the answer to `case`, its request id (quoted by an
/// internal error) written as `<id>`.
async fn answer(gateway: &TestGateway, case: &Case, token: &str) -> (u16, String) {
    let body = json!({ "query": case.query, "variables": case.variables });
    let response = gateway.post(&body, Some(token)).await;
    let status = response.status().as_u16();
    let id = response.headers()["x-request-id"]
        .to_str()
        .unwrap()
        .to_owned();
    let text = response.text().await.unwrap().replace(&id, "<id>");
    (status, without_countdown(&text))
}

/// `text` with the open circuit's countdown ("for the next 9s") written as `Ns`: it depends
/// on when the request came, not on the executor.
fn without_countdown(text: &str) -> String {
    const MARK: &str = "for the next ";
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find(MARK) {
        let (before, after) = rest.split_at(at + MARK.len());
        out.push_str(before);
        rest = after.trim_start_matches(|c: char| c.is_ascii_digit());
        out.push('N');
    }
    out.push_str(rest);
    out
}

/// Runs each case on both gateways and requires equal answers.
async fn compare(fast: &TestGateway, reference: &TestGateway, cases: &[(Case, String)], seed: u64) {
    for (number, (case, token)) in cases.iter().enumerate() {
        // The first sight of a document is async-graphql's: it validates it. The reference
        // gets the request twice too, so both upstreams see the same traffic.
        answer(fast, case, token).await;
        answer(reference, case, token).await;
        let ours = answer(fast, case, token).await;
        let theirs = answer(reference, case, token).await;
        assert_eq!(
            ours,
            theirs,
            "seed {seed}, case {number}: the executors disagree on\n{}\nvariables {}",
            case.query,
            Value::Object(case.variables.clone())
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_fast_executor_answers_exactly_as_async_graphql() {
    let seed = setting("DIFFERENTIAL_SEED", 17);
    let count = setting("DIFFERENTIAL_CASES", 400) as usize;
    let (fast, reference) = tokio::join!(gateway(false), gateway(true));
    let ids = fast.upstream_ids();
    assert_eq!(
        ids,
        reference.upstream_ids(),
        "both upstreams hold the same data"
    );
    let mut seed_bytes = [0u8; 32];
    seed_bytes[..8].copy_from_slice(&seed.to_le_bytes());
    let mut rng = TestRng::from_seed(RngAlgorithm::ChaCha, &seed_bytes);
    let everyone = token(None);
    let restricted = token(Some(&ids[3..15]));
    let cases: Vec<(Case, String)> = (0..count)
        .map(|number| {
            let case = Generator::new(&mut rng, &ids).case();
            let token = if number % 3 == 2 {
                &restricted
            } else {
                &everyone
            };
            (case, token.clone())
        })
        .collect();

    compare(&fast, &reference, &cases, seed).await;
    let executed = fast
        .metric("gateway_graphql_executions_total{executor=\"fast\"}")
        .await;
    eprintln!("the fast executor answered {executed} of {count} cases");
    assert!(
        executed >= (count / 2) as f64,
        "the fast executor answered only {executed} of {count} cases"
    );
    let by_reference = reference
        .metric("gateway_graphql_executions_total{executor=\"fast\"}")
        .await;
    assert_eq!(
        by_reference, 0.0,
        "the reference gateway ran only async-graphql"
    );

    // A fresh pair whose upstream fails from the start: root fields fail and nulls
    // propagate. Both gateways get the same requests in the same order, so their circuit
    // breakers agree.
    let (fast, reference) = tokio::join!(gateway(false), gateway(true));
    for gateway in [&fast, &reference] {
        gateway
            .upstream
            .set_fault(Fault::ServerError { status: 503 });
    }
    compare(&fast, &reference, &cases[..count / 4], seed).await;
}
