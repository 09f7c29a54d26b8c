//! The scopes the gateway asks the identity service for, and what it learnt of them. When the
//! service refuses a request for several scopes (`invalid_scope`), the gateway asks for each
//! alone, keeps asking for the granted ones from then on, and logs once which permissions the
//! app registration lacks: the fields that need those answer `UPSTREAM_FORBIDDEN`, everything
//! else works, and the gateway stays ready.

use std::sync::RwLock;

/// What the token client asks for.
#[derive(Debug)]
pub(crate) struct Scopes {
    /// `GATEWAY_UPSTREAM_SCOPE`, word by word.
    asked: Vec<String>,
    /// What the last successful token request asked for; `None` before the first.
    learnt: RwLock<Option<Learnt>>,
}

/// The scopes granted and refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Learnt {
    /// The scopes asked for and granted.
    pub(crate) held: Vec<String>,
    /// The scopes the identity service refused to grant.
    pub(crate) missing: Vec<String>,
}

impl Scopes {
    /// The scopes of `GATEWAY_UPSTREAM_SCOPE` (space-separated).
    pub(crate) fn new(scope: &str) -> Self {
        Self {
            asked: scope.split_whitespace().map(str::to_owned).collect(),
            learnt: RwLock::new(None),
        }
    }

    /// The scope to ask for now: the granted ones once some were refused, otherwise all.
    pub(crate) fn current(&self) -> String {
        match &*self.learnt.read().unwrap_or_else(|p| p.into_inner()) {
            Some(learnt) if !learnt.missing.is_empty() => learnt.held.join(" "),
            _ => self.asked.join(" "),
        }
    }

    /// Every scope asked for, one by one (to find which are refused).
    pub(crate) fn each(&self) -> &[String] {
        &self.asked
    }

    /// A token was granted for [`Scopes::current`]; `missing` are the scopes refused, if the
    /// gateway narrowed its request. Says whether this is news (for the one log line).
    pub(crate) fn granted(&self, missing: Option<Vec<String>>) -> bool {
        let mut learnt = self.learnt.write().unwrap_or_else(|p| p.into_inner());
        let missing = missing
            .or_else(|| learnt.as_ref().map(|known| known.missing.clone()))
            .unwrap_or_default();
        let held = self
            .asked
            .iter()
            .filter(|scope| !missing.contains(scope))
            .cloned()
            .collect();
        let next = Learnt { held, missing };
        let news = learnt.as_ref() != Some(&next);
        *learnt = Some(next);
        news
    }

    /// What the gateway knows of its permissions; `None` before the first token.
    pub(crate) fn learnt(&self) -> Option<Learnt> {
        self.learnt
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn once_some_are_refused_only_the_granted_ones_are_asked_for() {
        let scopes = Scopes::new("a b  c");
        assert_eq!(scopes.current(), "a b c");
        assert_eq!(scopes.learnt(), None);
        assert!(scopes.granted(Some(vec!["b".into()])));
        assert_eq!(scopes.current(), "a c");
        assert!(!scopes.granted(None), "the same again is no news");
        let learnt = scopes.learnt().unwrap();
        assert_eq!(
            (learnt.held, learnt.missing),
            (vec!["a".to_owned(), "c".into()], vec!["b".to_owned()])
        );
    }
}
