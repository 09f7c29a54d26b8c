//! The latest walk of a document, kept with what it depends on: the operation, the
//! variables, the limits and the snapshot its list sizes came from. A document sent again
//! with the same of each is not walked again; its cost and upstream requests are still priced
//! for the caller at every request. Only a walk that ties no upstream reads to customers is
//! kept (its summary is a few words), weighed against the gateway's
//! [budget](crate::graphql::kept) for what documents keep.

use std::sync::Arc;

use async_graphql::{Variables, parser::types::ExecutableDocument};

use super::{QueryLimits, walk::Summary};
use crate::graphql::{
    kept::{Budget, KeptOne},
    variables::{KEPT_VARIABLES_BYTES, weight_within},
};

/// A parsed document with, when it has one, its slot for a kept walk.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Walkable<'a> {
    /// The document.
    pub parsed: &'a ExecutableDocument,
    /// Where its latest walk is kept; `None` walks it every time.
    pub kept: Option<&'a KeptWalk>,
}

/// What a walk depends on besides the document.
#[derive(Debug, PartialEq)]
pub(super) struct WalkKey<'a> {
    pub operation: Option<&'a str>,
    pub variables: &'a Variables,
    pub limits: QueryLimits,
    /// The generation of the snapshot the list sizes came from; `None` while none is cached.
    pub generation: Option<u64>,
}

#[derive(Debug)]
struct Walked {
    operation: Option<String>,
    variables: Variables,
    limits: QueryLimits,
    generation: Option<u64>,
    summary: Arc<Summary>,
}

impl Walked {
    fn key(&self) -> WalkKey<'_> {
        WalkKey {
            operation: self.operation.as_deref(),
            variables: &self.variables,
            limits: self.limits,
            generation: self.generation,
        }
    }
}

/// What a kept walk weighs besides its variables and operation name: the entry, the summary
/// and its few read sites, about.
const WALK_BYTES: usize = 512;

/// One document's latest walk.
#[derive(Debug)]
pub(crate) struct KeptWalk(KeptOne<Walked>);

impl KeptWalk {
    /// Keeps walks within `budget`, or none.
    pub(crate) fn new(budget: Option<Arc<Budget>>) -> Self {
        Self(KeptOne::new(budget))
    }

    /// The kept summary, when it was walked for `key`.
    pub(super) fn get(&self, key: &WalkKey<'_>) -> Option<Arc<Summary>> {
        let walked = self.0.get(|walked| walked.key() == *key)?;
        Some(Arc::clone(&walked.summary))
    }

    /// Keeps `summary`, walked for `key`, when it ties no reads to customers, its variables
    /// are small enough to copy and the budget allows.
    pub(super) fn keep(&self, key: &WalkKey<'_>, summary: &Arc<Summary>) {
        if !summary.fan.reads.is_empty() {
            return;
        }
        let Some(copied) = weight_within(key.variables, KEPT_VARIABLES_BYTES) else {
            return;
        };
        let walked = Walked {
            operation: key.operation.map(str::to_owned),
            variables: key.variables.clone(),
            limits: key.limits,
            generation: key.generation,
            summary: Arc::clone(summary),
        };
        let weight = WALK_BYTES + copied + key.operation.map_or(0, str::len);
        // Past the budget, the document is walked at every request.
        let _ = self.0.keep(walked, weight);
    }
}

#[cfg(test)]
mod tests {
    use async_graphql::{Value, parser::parse_query};

    use super::*;
    use crate::graphql::{
        limits::{ListSizes, walk::Walk},
        operation::chosen,
    };

    const LIMITS: QueryLimits = crate::graphql::limits::tests::DEFAULTS;

    fn walked(query: &str) -> Arc<Summary> {
        let document = parse_query(query).unwrap();
        let (_, operation) = chosen(&document, None).unwrap();
        let variables = Variables::default();
        let walk = Walk::new(
            &document,
            &operation.node,
            &variables,
            LIMITS,
            ListSizes::default(),
        );
        Arc::new(walk.run().unwrap())
    }

    fn first(count: i32) -> Variables {
        Variables::from_value(Value::from_json(serde_json::json!({ "first": count })).unwrap())
    }

    #[test]
    fn a_walk_is_found_again_only_for_the_same_operation_variables_limits_and_snapshot() {
        let kept = KeptWalk::new(Some(Arc::default()));
        let variables = first(5);
        let key = WalkKey {
            operation: Some("Page"),
            variables: &variables,
            limits: LIMITS,
            generation: Some(7),
        };
        assert!(kept.get(&key).is_none());
        let summary = walked("{ customers { nodes { id } } }");
        kept.keep(&key, &summary);
        assert!(Arc::ptr_eq(&kept.get(&key).unwrap(), &summary));
        let other_variables = first(6);
        let others = [
            WalkKey {
                operation: None,
                ..key
            },
            WalkKey {
                variables: &other_variables,
                ..key
            },
            WalkKey {
                limits: QueryLimits { depth: 3, ..LIMITS },
                ..key
            },
            WalkKey {
                generation: Some(8),
                ..key
            },
            WalkKey {
                generation: None,
                ..key
            },
        ];
        for other in others {
            assert!(kept.get(&other).is_none(), "{other:?}");
        }
    }

    #[test]
    fn a_walk_with_large_variables_is_not_kept() {
        let kept = KeptWalk::new(Some(Arc::default()));
        let variables = Variables::from_json(serde_json::json!({
            "unused": "x".repeat(KEPT_VARIABLES_BYTES),
        }));
        let key = WalkKey {
            operation: None,
            variables: &variables,
            limits: LIMITS,
            generation: Some(1),
        };
        kept.keep(&key, &walked("{ customers { totalCount } }"));
        assert!(kept.get(&key).is_none());
    }

    #[test]
    fn a_walk_that_ties_reads_to_customers_is_not_kept() {
        let kept = KeptWalk::new(Some(Arc::default()));
        let variables = Variables::default();
        let key = WalkKey {
            operation: None,
            variables: &variables,
            limits: LIMITS,
            generation: Some(1),
        };
        let summary = walked(r#"{ customer(id: "c1") { backupJobs { totalCount } } }"#);
        assert!(!summary.fan.reads.is_empty());
        kept.keep(&key, &summary);
        assert!(kept.get(&key).is_none());
    }
}
