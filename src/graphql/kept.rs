//! One value kept with a document between requests (its latest plan, its latest walk by the
//! limits), weighed against a budget every document of the gateway shares. What is kept can
//! be much larger than the document's text (fragments are inlined, the variables copied), so
//! the documents cache's own bound does not cover it; past the budget, nothing more is kept
//! and requests do the work again, as if nothing were kept at all.

use std::sync::{
    Arc, Mutex, MutexGuard,
    atomic::{AtomicUsize, Ordering},
};

/// The most that values kept with documents weigh in all.
pub(crate) const KEPT_BYTES: usize = 4 * 1024 * 1024;

/// The weight of the values kept, shared by every document of one gateway.
#[derive(Debug, Default)]
pub(crate) struct Budget(AtomicUsize);

impl Budget {
    /// Takes `weight` from the budget when it fits.
    fn take(&self, weight: usize) -> bool {
        self.0
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |used| {
                used.checked_add(weight).filter(|&sum| sum <= KEPT_BYTES)
            })
            .is_ok()
    }

    fn give_back(&self, weight: usize) {
        self.0.fetch_sub(weight, Ordering::Relaxed);
    }

    /// The weight of the values kept now.
    #[cfg(test)]
    pub(crate) fn used(&self) -> usize {
        self.0.load(Ordering::Relaxed)
    }
}

/// One document's latest value of a kind, with its weight.
#[derive(Debug)]
pub(crate) struct KeptOne<T> {
    /// Where the kept value is counted; `None` keeps nothing.
    budget: Option<Arc<Budget>>,
    slot: Mutex<Option<(Arc<T>, usize)>>,
}

impl<T> KeptOne<T> {
    /// Keeps values within `budget`, or none.
    pub(crate) fn new(budget: Option<Arc<Budget>>) -> Self {
        Self {
            budget,
            slot: Mutex::new(None),
        }
    }

    /// The kept value, when `wanted` accepts it.
    pub(crate) fn get(&self, wanted: impl FnOnce(&T) -> bool) -> Option<Arc<T>> {
        let slot = self.slot();
        let (value, _) = slot.as_ref()?;
        wanted(value).then(|| Arc::clone(value))
    }

    /// Keeps `value`, weighing `weight` bytes, in place of the one kept, when the budget
    /// allows; hands it back otherwise.
    pub(crate) fn keep(&self, value: T, weight: usize) -> Result<Arc<T>, T> {
        let Some(budget) = self.budget.as_ref().filter(|budget| budget.take(weight)) else {
            return Err(value);
        };
        let value = Arc::new(value);
        if let Some((_, old)) = self.slot().replace((Arc::clone(&value), weight)) {
            budget.give_back(old);
        }
        Ok(value)
    }

    fn slot(&self) -> MutexGuard<'_, Option<(Arc<T>, usize)>> {
        // A panic while the lock was held cannot leave the slot half written.
        self.slot
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl<T> Drop for KeptOne<T> {
    fn drop(&mut self) {
        let slot = self
            .slot
            .get_mut()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if let (Some(budget), Some((_, weight))) = (&self.budget, slot.take()) {
            budget.give_back(weight);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_kept_value_is_counted_until_replaced_or_dropped() {
        let budget = Arc::new(Budget::default());
        let kept = KeptOne::new(Some(Arc::clone(&budget)));
        assert!(kept.get(|_: &u32| true).is_none());
        assert_eq!(*kept.keep(1, 100).unwrap(), 1);
        assert_eq!(budget.used(), 100);
        assert!(kept.get(|value| *value == 1).is_some());
        assert!(kept.get(|value| *value == 2).is_none());
        kept.keep(2, 30).unwrap();
        assert_eq!(budget.used(), 30);
        assert!(kept.get(|value| *value == 2).is_some());
        drop(kept);
        assert_eq!(budget.used(), 0);
    }

    #[test]
    fn past_the_budget_a_value_is_handed_back() {
        let budget = Arc::new(Budget::default());
        let first = KeptOne::new(Some(Arc::clone(&budget)));
        first.keep("big", KEPT_BYTES - 10).unwrap();
        let second = KeptOne::new(Some(Arc::clone(&budget)));
        assert_eq!(second.keep("more", 11), Err("more"));
        assert!(second.get(|_| true).is_none());
        second.keep("fits", 10).unwrap();
        assert_eq!(budget.used(), KEPT_BYTES);
        drop(first);
        assert_eq!(budget.used(), 10);
    }

    #[test]
    fn without_a_budget_nothing_is_kept() {
        let kept = KeptOne::new(None);
        assert_eq!(kept.keep(1, 1), Err(1));
        assert!(kept.get(|_| true).is_none());
    }
}
