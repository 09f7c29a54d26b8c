//! The series of the MCP endpoint: tool calls, by tool.

use prometheus::{IntCounterVec, Registry};

use super::{Metrics, counters};

/// What agents asked of `/mcp`.
#[derive(Debug)]
pub(super) struct McpSeries {
    calls: IntCounterVec,
}

impl McpSeries {
    /// The series, registered in `r`.
    pub(super) fn register(r: &Registry) -> Self {
        Self {
            calls: counters(
                r,
                "gateway_mcp_tool_calls_total",
                "MCP tool calls, by tool (a manifest operation's name as the operation label is bounded, `schema`, `execute`).",
                &["tool"],
            ),
        }
    }
}

impl Metrics {
    /// An agent called `tool`.
    pub(crate) fn mcp_tool_call(&self, tool: &str) {
        let label = self.operation_label(Some(tool));
        self.mcp.calls.with_label_values(&[label]).inc();
    }
}
