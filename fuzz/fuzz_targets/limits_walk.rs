//! The limits walk over arbitrary documents: whatever the text, checking it must end quickly
//! (libFuzzer's `-timeout` catches a walk that is not linear), never panic, and agree with
//! itself: an accepted document's estimate is within the limit, and the same document checked
//! twice gives the same answer.

#![no_main]

use async_graphql::{Variables, parser::parse_query};
use elements_gateway::{ListSizes, QueryLimits, check_limits};
use libfuzzer_sys::fuzz_target;

const LIMITS: QueryLimits = QueryLimits {
    depth: 15,
    complexity: 50_000,
    root_fields: 20,
    aliases: 30,
    introspection: true,
};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(document) = parse_query(text) else {
        return;
    };
    let names: Vec<Option<String>> = std::iter::once(None)
        .chain(
            document
                .operations
                .iter()
                .map(|(name, _)| name.map(|name| name.to_string())),
        )
        .collect();
    for name in names {
        let check = || {
            check_limits(
                &document,
                name.as_deref(),
                &Variables::default(),
                LIMITS,
                ListSizes::default(),
            )
        };
        let first = check();
        if let Ok(Some(measure)) = &first {
            assert!(measure.cost <= LIMITS.complexity as u64);
            assert!(measure.depth <= LIMITS.depth);
        }
        assert_eq!(format!("{first:?}"), format!("{:?}", check()));
    }
});
