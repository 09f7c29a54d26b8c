//! What the fast executor keeps of a document between requests: the size of its latest answer
//! and the latest plan it was bound to. A document sent again mostly comes with the same
//! operation and variables (none at all, or the same page), and then the binding, which
//! allocates every key and coerces every argument, is skipped. Plans are weighed against the
//! gateway's [budget](crate::graphql::kept) for what documents keep.

use std::sync::{
    Arc,
    atomic::{AtomicUsize, Ordering},
};

use async_graphql::Variables;

use super::plan::Plan;
use crate::graphql::{
    kept::{Budget, KeptOne},
    variables::{KEPT_VARIABLES_BYTES, weight_within},
};

/// A plan with what it was bound for.
#[derive(Debug)]
pub(super) struct Bound {
    operation: Option<String>,
    variables: Variables,
    plan: Plan,
}

/// One document's kept answer size and plan.
#[derive(Debug)]
pub(crate) struct Kept {
    answer_bytes: AtomicUsize,
    plan: KeptOne<Bound>,
}

impl Kept {
    /// Keeps plans within `budget`, or none.
    pub(crate) fn new(budget: Option<Arc<Budget>>) -> Self {
        Self {
            answer_bytes: AtomicUsize::new(0),
            plan: KeptOne::new(budget),
        }
    }

    /// How many bytes to set aside for an answer: the latest one's size, within bounds.
    pub(super) fn answer_capacity(&self) -> usize {
        self.answer_bytes
            .load(Ordering::Relaxed)
            .clamp(4 * 1024, 4 * 1024 * 1024)
    }

    /// Notes the size of an answer.
    pub(crate) fn answered(&self, bytes: usize) {
        self.answer_bytes.store(bytes, Ordering::Relaxed);
    }

    /// The kept plan, when it was bound for `operation` and `variables`.
    pub(super) fn plan(&self, operation: Option<&str>, variables: &Variables) -> Option<Held> {
        self.plan
            .get(|kept| kept.operation.as_deref() == operation && kept.variables == *variables)
            .map(Held::Kept)
    }

    /// Keeps `plan`, bound for `operation` and `variables`, in place of the one kept, when
    /// the variables are small enough to copy and the budget allows; returns it either way.
    pub(super) fn keep(&self, operation: Option<&str>, variables: &Variables, plan: Plan) -> Held {
        let Some(copied) = weight_within(variables, KEPT_VARIABLES_BYTES) else {
            return Held::Own(plan);
        };
        let weight = plan.weight + copied + operation.map_or(0, str::len);
        let bound = Bound {
            operation: operation.map(str::to_owned),
            variables: variables.clone(),
            plan,
        };
        match self.plan.keep(bound, weight) {
            Ok(kept) => Held::Kept(kept),
            Err(bound) => Held::Own(bound.plan),
        }
    }
}

/// The plan a request runs: the kept one, or its own.
#[derive(Debug)]
pub(super) enum Held {
    Kept(Arc<Bound>),
    Own(Plan),
}

impl Held {
    /// The plan to run, whichever holds it.
    pub(super) fn plan(&self) -> &Plan {
        match self {
            Self::Kept(bound) => &bound.plan,
            Self::Own(plan) => plan,
        }
    }
}

#[cfg(test)]
mod tests {
    use async_graphql::{Name, Value, parser::parse_query};

    use super::*;
    use crate::graphql::{
        chosen_operation,
        fast::{bind::bind, plan::ENTRY_BYTES},
    };

    fn plan(query: &str, variables: &Variables) -> Plan {
        let document = parse_query(query).unwrap();
        let (_, operation) = chosen_operation(&document, None).unwrap();
        bind(&document, &operation.node, variables).unwrap()
    }

    fn first(count: i32) -> Variables {
        Variables::from_value(Value::from_json(serde_json::json!({ "first": count })).unwrap())
    }

    const PAGE: &str = "query Page($first: Int) { customers(first: $first) { nodes { id } } }";

    #[test]
    fn a_plan_is_found_again_only_for_its_operation_and_variables() {
        let budget = Arc::new(Budget::default());
        let kept = Kept::new(Some(Arc::clone(&budget)));
        assert!(kept.plan(Some("Page"), &first(5)).is_none());
        let copied = weight_within(&first(5), KEPT_VARIABLES_BYTES).unwrap();
        let weight = plan(PAGE, &first(5)).weight + copied + "Page".len();
        assert!(weight > 3 * ENTRY_BYTES, "{weight}");
        assert!(matches!(
            kept.keep(Some("Page"), &first(5), plan(PAGE, &first(5))),
            Held::Kept(_)
        ));
        assert_eq!(budget.used(), weight);
        assert!(kept.plan(Some("Page"), &first(5)).is_some());
        assert!(kept.plan(Some("Page"), &first(6)).is_none());
        assert!(kept.plan(None, &first(5)).is_none());
        assert!(kept.plan(Some("Other"), &first(5)).is_none());
        // The next variables take the slot, and the budget counts one plan.
        kept.keep(Some("Page"), &first(6), plan(PAGE, &first(6)));
        assert!(kept.plan(Some("Page"), &first(5)).is_none());
        assert!(kept.plan(Some("Page"), &first(6)).is_some());
        assert_eq!(budget.used(), weight);
        drop(kept);
        assert_eq!(budget.used(), 0);
    }

    #[test]
    fn plans_with_large_variables_are_used_once_and_not_kept() {
        let budget = Arc::new(Budget::default());
        let kept = Kept::new(Some(Arc::clone(&budget)));
        let large = Variables::from_json(serde_json::json!({
            "first": 5,
            "unused": "x".repeat(KEPT_VARIABLES_BYTES),
        }));
        let held = kept.keep(None, &large, plan(PAGE, &large));
        assert!(matches!(held, Held::Own(_)));
        assert_eq!(held.plan().roots[0].key.name, Name::new("customers"));
        assert!(kept.plan(None, &large).is_none());
        assert_eq!(budget.used(), 0);
    }

    #[test]
    fn a_plan_past_the_budget_is_used_once_and_not_kept() {
        let budget = Arc::new(Budget::default());
        let filler = KeptOne::new(Some(Arc::clone(&budget)));
        filler.keep((), crate::graphql::kept::KEPT_BYTES).unwrap();
        let kept = Kept::new(Some(Arc::clone(&budget)));
        let held = kept.keep(None, &first(5), plan(PAGE, &first(5)));
        assert!(matches!(held, Held::Own(_)));
        assert!(kept.plan(None, &first(5)).is_none());
        drop(filler);
        assert!(matches!(
            kept.keep(None, &first(5), plan(PAGE, &first(5))),
            Held::Kept(_)
        ));
    }

    #[test]
    fn a_document_without_a_budget_keeps_no_plan() {
        let kept = Kept::new(None);
        kept.keep(None, &first(5), plan(PAGE, &first(5)));
        assert!(kept.plan(None, &first(5)).is_none());
    }

    #[test]
    fn a_long_text_argument_weighs_its_length() {
        let search = |text: &str| {
            let query = format!("{{ customers(search: \"{text}\") {{ totalCount }} }}");
            plan(&query, &Variables::default()).weight
        };
        assert_eq!(search(&"x".repeat(10_000)) - search("x"), 9_999);
    }
}
