//! What the fast executor keeps of a document between requests: the size of its latest answer
//! and the latest plan it was bound to. A document sent again mostly comes with the same
//! operation and variables (none at all, or the same page), and then the binding, which
//! allocates every key and coerces every argument, is skipped.
//!
//! Plans can be much larger than their text (fragments are inlined), so the plans kept across
//! all documents weigh at most [`PLAN_BYTES`]; past that, a document is bound at every
//! request, as without the slot.

use std::sync::{
    Arc, Mutex,
    atomic::{AtomicUsize, Ordering},
};

use async_graphql::Variables;

use super::plan::Plan;

/// The most the plans kept across all documents weigh, by [`Plan::weight`](super::plan::Plan).
pub(crate) const PLAN_BYTES: usize = 4 * 1024 * 1024;

/// The weight of the plans kept, shared by every document of one gateway.
#[derive(Debug, Default)]
pub(crate) struct PlanBudget(AtomicUsize);

impl PlanBudget {
    /// Takes `weight` from the budget when it fits.
    fn take(&self, weight: usize) -> bool {
        self.0
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |used| {
                used.checked_add(weight).filter(|&sum| sum <= PLAN_BYTES)
            })
            .is_ok()
    }

    fn give_back(&self, weight: usize) {
        self.0.fetch_sub(weight, Ordering::Relaxed);
    }

    /// The weight of the plans kept now.
    #[cfg(test)]
    pub(crate) fn used(&self) -> usize {
        self.0.load(Ordering::Relaxed)
    }
}

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
    /// Where kept plans are counted; `None` keeps none.
    budget: Option<Arc<PlanBudget>>,
    plan: Mutex<Option<Arc<Bound>>>,
}

impl Kept {
    /// Keeps plans within `budget`, or none.
    pub(crate) fn new(budget: Option<Arc<PlanBudget>>) -> Self {
        Self {
            answer_bytes: AtomicUsize::new(0),
            budget,
            plan: Mutex::new(None),
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
        let kept = self.slot().clone()?;
        (kept.operation.as_deref() == operation && kept.variables == *variables)
            .then_some(Held::Kept(kept))
    }

    /// Keeps `plan`, bound for `operation` and `variables`, in place of the one kept, when
    /// the budget allows; returns it either way.
    pub(super) fn keep(&self, operation: Option<&str>, variables: &Variables, plan: Plan) -> Held {
        let Some(budget) = self
            .budget
            .as_ref()
            .filter(|budget| budget.take(plan.weight))
        else {
            return Held::Own(plan);
        };
        let bound = Arc::new(Bound {
            operation: operation.map(str::to_owned),
            variables: variables.clone(),
            plan,
        });
        if let Some(old) = self.slot().replace(Arc::clone(&bound)) {
            budget.give_back(old.plan.weight);
        }
        Held::Kept(bound)
    }

    fn slot(&self) -> std::sync::MutexGuard<'_, Option<Arc<Bound>>> {
        // A panic while the lock was held cannot leave the slot half written.
        self.plan
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl Drop for Kept {
    fn drop(&mut self) {
        let kept = self
            .plan
            .get_mut()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if let (Some(budget), Some(kept)) = (&self.budget, kept.take()) {
            budget.give_back(kept.plan.weight);
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
        let budget = Arc::new(PlanBudget::default());
        let kept = Kept::new(Some(Arc::clone(&budget)));
        assert!(kept.plan(Some("Page"), &first(5)).is_none());
        let weight = plan(PAGE, &first(5)).weight;
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
    fn plans_past_the_budget_are_used_once_and_not_kept() {
        let budget = Arc::new(PlanBudget::default());
        let weight = plan(PAGE, &first(5)).weight;
        let fitting = PLAN_BYTES / weight;
        let documents: Vec<Kept> = (0..=fitting)
            .map(|_| Kept::new(Some(Arc::clone(&budget))))
            .collect();
        for kept in &documents[..fitting] {
            kept.keep(None, &first(5), plan(PAGE, &first(5)));
        }
        let last = &documents[fitting];
        let held = last.keep(None, &first(5), plan(PAGE, &first(5)));
        assert!(matches!(held, Held::Own(_)));
        assert_eq!(held.plan().roots[0].key.name, Name::new("customers"));
        assert!(last.plan(None, &first(5)).is_none());
        assert_eq!(budget.used(), fitting * weight);
        drop(documents);
        assert_eq!(budget.used(), 0);
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
