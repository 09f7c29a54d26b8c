//! What the handling of one request notes for its access-log line: the operation, the
//! persisted document named, and where the answer came from. A task-local the access log sets
//! up around the request, so the stage that knows a fact notes it where it learns it; outside
//! such a scope (the log off, a background task) noting costs nothing and keeps nothing.

use std::{cell::RefCell, future::Future};

use futures::FutureExt as _;

tokio::task_local! {
    static NOTED: RefCell<Noted>;
}

/// What was noted about one request.
#[derive(Debug, Default)]
pub(crate) struct Noted {
    /// The operation answered, by name.
    pub(crate) operation: Option<String>,
    /// The persisted document named (`sha256:` and its first 16 hex digits).
    pub(crate) document: Option<String>,
    /// Where the answer came from (`reused`, `fresh`, `stale`, `not_modified`, `timeout`,
    /// `error`).
    pub(crate) source: Option<&'static str>,
}

/// Runs `work` noting into a record of its own, and gives what was noted.
pub(crate) fn scope<F: Future>(work: F) -> impl Future<Output = (F::Output, Noted)> {
    // What was noted is taken inside the scope, as `work` completes; a plain function with
    // `map`, as an `async fn` would hold `work` twice.
    NOTED.scope(
        RefCell::new(Noted::default()),
        work.map(|output| (output, NOTED.with(RefCell::take))),
    )
}

/// Notes the answer's operation and where it came from.
pub(crate) fn answered(operation: Option<&str>, source: &'static str) {
    let _ = NOTED.try_with(|noted| {
        let mut noted = noted.borrow_mut();
        noted.operation = operation.map(str::to_owned);
        noted.source = Some(source);
    });
}

/// Notes the MCP tool the request called, as its operation.
pub(crate) fn tool(name: &str) {
    let _ = NOTED.try_with(|noted| {
        let mut noted = noted.borrow_mut();
        noted.operation = Some(name.to_owned());
        noted.source = Some("mcp");
    });
}

/// Notes the persisted document the request named (its hash).
pub(crate) fn document(hash: &str) {
    let _ = NOTED.try_with(|noted| {
        noted.borrow_mut().document = Some(format!("sha256:{}", &hash[..hash.len().min(16)]));
    });
}
