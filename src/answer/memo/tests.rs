//! The memo's keys, reuse rules and sharing.

use std::{
    hash::{Hash, Hasher},
    time::Duration,
};

use super::*;
use crate::auth::CustomerIds;
use crate::{
    cache::{Provenance, Staleness},
    graphql::{AnswerClass, Executor},
};

fn answer(body: &str, failed: bool, provenance: Provenance) -> Answer {
    Answer {
        body: Bytes::from(body.to_owned()),
        class: AnswerClass::Data,
        failed,
        quotes_id: false,
        upstream_fault: false,
        provenance,
        operation: None,
        executor: Executor::Fast,
    }
}

fn key(query: &str) -> RequestKey {
    RequestKey::new(
        &CustomerAccess::All,
        &GraphqlRequest {
            query: query.into(),
            ..GraphqlRequest::default()
        },
    )
}

async fn run(memo: &Memo, query: &str, generation: u64, answer: Answer) -> bool {
    let (outcome, joined) = memo
        .run_or_join(key(query), Bytes::new(), Some(generation), || async move {
            Ok(answer)
        })
        .await;
    assert!(!joined);
    assert!(matches!(
        outcome,
        Some(Outcome::Answered { shared: true, .. })
    ));
    memo.reused(generation, &key(query), Instant::now())
        .is_some()
}

#[tokio::test]
async fn only_error_free_answers_of_one_fresh_snapshot_are_kept() {
    let memo = Memo::new(1 << 24).unwrap();
    let fresh = Provenance::snapshot(7, None);
    assert!(run(&memo, "a", 7, answer("{}", false, fresh)).await);
    assert!(
        !run(&memo, "b", 7, answer("{}", true, fresh)).await,
        "an error"
    );
    let stale = Provenance::snapshot(
        7,
        Some(Staleness {
            age: Duration::from_secs(90),
            upstream_error: None,
        }),
    );
    assert!(
        !run(&memo, "c", 7, answer("{}", false, stale)).await,
        "stale data"
    );
    let other = Provenance::snapshot(6, None);
    assert!(
        !run(&memo, "d", 7, answer("{}", false, other)).await,
        "another snapshot"
    );
    let huge = "x".repeat(MAX_KEPT_ANSWER + 1);
    let huge: &'static str = Box::leak(huge.into_boxed_str());
    assert!(
        !run(&memo, "e", 7, answer(huge, false, fresh)).await,
        "over 1 MiB"
    );
    assert!(
        memo.reused(8, &key("a"), Instant::now()).is_none(),
        "a newer snapshot"
    );
}

#[tokio::test]
async fn an_answer_that_quotes_its_request_id_is_not_shared() {
    let memo = Memo::new(1 << 24).unwrap();
    let mut quoting = answer("{}", true, Provenance::default());
    quoting.quotes_id = true;
    let (outcome, _) = memo
        .run_or_join(
            key("q"),
            Bytes::new(),
            Some(1),
            || async move { Ok(quoting) },
        )
        .await;
    assert!(matches!(
        outcome,
        Some(Outcome::Answered { shared: false, .. })
    ));
    let (outcome, _) = memo
        .run_or_join(key("t"), Bytes::new(), Some(1), || async {
            Err(ExecuteError::TimedOut)
        })
        .await;
    assert!(matches!(outcome, Some(Outcome::TimedOut)));
}

#[test]
fn keys_follow_the_request_and_the_scope_not_how_they_were_written() {
    let request = |variables: serde_json::Value| GraphqlRequest {
        query: "query($a: Int, $b: Int) { x }".into(),
        variables: variables.as_object().unwrap().clone(),
        ..GraphqlRequest::default()
    };
    let one = request(serde_json::json!({ "a": 1, "b": 2 }));
    let reordered = request(serde_json::json!({ "b": 2, "a": 1 }));
    let all = CustomerAccess::All;
    assert_eq!(
        RequestKey::new(&all, &one),
        RequestKey::new(&all, &reordered)
    );
    let other = request(serde_json::json!({ "a": 1, "b": 3 }));
    assert_ne!(RequestKey::new(&all, &one), RequestKey::new(&all, &other));

    let scope = |ids: &[&str]| {
        CustomerAccess::Only(Arc::new(CustomerIds::new(
            ids.iter().map(|id| (*id).to_owned()),
        )))
    };
    let ab = RequestKey::new(&scope(&["a", "b"]), &one);
    let ba = RequestKey::new(&scope(&["b", "a"]), &one);
    let ac = RequestKey::new(&scope(&["a", "c"]), &one);
    assert_eq!(ab, ba, "the same customers, in another order");
    let hash = |key: &RequestKey| {
        let mut hasher = std::hash::DefaultHasher::new();
        key.hash(&mut hasher);
        hasher.finish()
    };
    assert_eq!(hash(&ab), hash(&ba));
    assert_ne!(ab, ac, "other customers: never the same answer");
    assert_ne!(ab, RequestKey::new(&all, &one), "a scope is not everyone");
}

#[tokio::test]
async fn a_body_finds_its_answer_only_in_the_scope_that_asked_it() {
    let memo = Memo::new(1 << 24).unwrap();
    let scope = |id: &str| CustomerAccess::Only(Arc::new(CustomerIds::new([id.to_owned()])));
    let request = GraphqlRequest {
        query: "{ customers { totalCount } }".into(),
        ..GraphqlRequest::default()
    };
    let body = Bytes::from_static(br#"{"query":"{ customers { totalCount } }"}"#);
    let fresh = Provenance::snapshot(3, None);
    memo.run_or_join(
        RequestKey::new(&scope("a"), &request),
        body.clone(),
        Some(3),
        || async move { Ok(answer("{}", false, fresh)) },
    )
    .await;
    assert!(
        memo.reused_body(3, &scope("a"), &body, Instant::now())
            .is_some()
    );
    assert!(
        memo.reused_body(3, &scope("b"), &body, Instant::now())
            .is_none(),
        "another scope"
    );
    assert!(
        memo.reused_body(3, &CustomerAccess::All, &body, Instant::now())
            .is_none(),
        "everyone"
    );
    assert!(
        memo.reused_body(4, &scope("a"), &body, Instant::now())
            .is_none(),
        "a newer snapshot"
    );
    assert!(
        memo.reused(3, &RequestKey::new(&scope("b"), &request), Instant::now())
            .is_none()
    );
}
