//! The tools an agent is given: one per named query of the persisted documents' manifest (its
//! variables as the input, its leading comment as the description), `schema` (the SDL, or one
//! type by name; not offered with introspection off, `GATEWAY_INTROSPECTION=false`) and
//! `execute` (any document; not offered in safelist mode). A tool call runs
//! through the answer stage as `POST /graphql` does, for the caller the request carried; its
//! result holds the GraphQL answer, errors included, as structured content and as text.

use std::{borrow::Cow, sync::Arc};

use axum::body::Bytes;
use rmcp::{
    ErrorData, RoleServer, ServerHandler,
    model::{
        CallToolRequestParams, CallToolResponse, CallToolResult, ContentBlock, Implementation,
        ListToolsResult, PaginatedRequestParams, ServerCapabilities, ServerConfig, Tool,
    },
    service::RequestContext,
};
use serde_json::{Map, Value, json};

use super::super::{AppState, error::HttpError, request_id::RequestId};
use crate::{answer::Reply, auth::Caller, graphql};

/// The MCP server of one request: the app, whose answer stage runs the tools.
#[derive(Clone)]
pub(super) struct Agent {
    state: AppState,
}

impl Agent {
    /// The tools over `state`, run through its answer stage.
    pub(super) fn new(state: AppState) -> Self {
        Self { state }
    }

    /// Every tool offered.
    fn tools(&self) -> Vec<Tool> {
        let mut tools: Vec<Tool> = self
            .state
            .answer
            .tools()
            .iter()
            .map(|tool| {
                Tool::new(
                    tool.name.clone(),
                    tool.description.clone(),
                    Arc::new(tool.input_schema.clone()),
                )
            })
            .collect();
        if self.state.answer.introspection() {
            tools.push(Tool::new(
                "schema",
                "The gateway's GraphQL schema as SDL, with every type's and field's description; \
                 with `type`, only that type's definition.",
                object(json!({ "type": { "type": "string", "description": "a type's name, e.g. Customer" } }), &[]),
            ));
        }
        if !self.state.answer.safelist_only() {
            tools.push(Tool::new(
                "execute",
                "Runs a GraphQL query against the partner's customers, subscriptions, backup \
                 jobs, seats and coverage (read `schema` first). Every limit of the gateway applies.",
                object(
                    json!({
                        "query": { "type": "string", "description": "the GraphQL document" },
                        "variables": { "type": "object", "description": "its variables" },
                        "operationName": { "type": "string", "description": "the operation to run, when the document holds several" },
                    }),
                    &["query"],
                ),
            ));
        }
        tools
    }

    /// Runs tool `name` with `arguments` for `caller`.
    async fn call(
        &self,
        name: &str,
        arguments: Map<String, Value>,
        caller: &Caller,
        request_id: &RequestId,
    ) -> Result<CallToolResult, ErrorData> {
        let body = match name {
            "schema" if self.state.answer.introspection() => {
                let wanted = arguments.get("type").and_then(Value::as_str);
                return match graphql::schema_text(wanted) {
                    Some(text) => Ok(CallToolResult::success(vec![ContentBlock::text(text)])),
                    None => Ok(CallToolResult::error(vec![ContentBlock::text(format!(
                        "the schema has no type named {}",
                        wanted.unwrap_or_default()
                    ))])),
                };
            }
            "execute" if !self.state.answer.safelist_only() => Value::Object(arguments),
            _ => {
                let Some(tool) = self
                    .state
                    .answer
                    .tools()
                    .iter()
                    .find(|tool| tool.name == name)
                else {
                    return Err(ErrorData::invalid_params(
                        format!("no tool named {name}"),
                        None,
                    ));
                };
                json!({
                    "documentId": tool.document,
                    "operationName": tool.name,
                    "variables": arguments,
                })
            }
        };
        let replied = self
            .state
            .answer
            .post(
                &caller.access,
                Bytes::from(body.to_string()),
                request_id.as_str(),
            )
            .await;
        let (answer, failed) = match replied {
            Ok(Reply::Answer { kept, .. }) => (kept.answer.body.clone(), kept.answer.failed),
            Ok(Reply::NotModified(_)) => (Bytes::from_static(b"{}"), false),
            Err(error) => {
                let error = HttpError::answering(error, request_id.clone());
                (Bytes::from(error.body()), true)
            }
        };
        let text = String::from_utf8_lossy(&answer).into_owned();
        let structured = serde_json::from_slice(&answer).unwrap_or(Value::Null);
        let mut result = if failed {
            CallToolResult::error(vec![ContentBlock::text(text)])
        } else {
            CallToolResult::success(vec![ContentBlock::text(text)])
        };
        result.structured_content = Some(structured);
        Ok(result)
    }
}

/// `properties` (a JSON object) as a tool's input schema, `required` naming those that must be
/// given.
fn object(properties: Value, required: &[&str]) -> Arc<Map<String, Value>> {
    let properties = properties.as_object().cloned().unwrap_or_default();
    let required = required.iter().map(|name| Value::from(*name)).collect();
    Arc::new(graphql::object_schema(properties, required))
}

impl ServerHandler for Agent {
    fn get_info(&self) -> ServerConfig {
        let mut info = ServerConfig::new(ServerCapabilities::builder().enable_tools().build());
        info.server_info = Implementation::new("elements-gateway", env!("CARGO_PKG_VERSION"));
        info.instructions = Some(
            "A partner's AvePoint Elements customers as a GraphQL graph: their subscriptions, \
             backup status and jobs, tenant seats and backup coverage. Call the named tools, \
             or read `schema` and run `execute`."
                .into(),
        );
        info
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, ErrorData> {
        Ok(ListToolsResult::with_all_items(self.tools()))
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        let parts = context.extensions.get::<axum::http::request::Parts>();
        let caller = parts.and_then(|parts| parts.extensions.get::<Caller>());
        let Some(caller) = caller else {
            return Err(ErrorData::internal_error("no verified caller", None));
        };
        let Some(request_id) = parts.and_then(|parts| parts.extensions.get::<RequestId>()) else {
            return Err(ErrorData::internal_error("no request id", None));
        };
        let name: Cow<'_, str> = request.name;
        let arguments = request.arguments.unwrap_or_default();
        let result = self.call(&name, arguments, caller, request_id).await?;
        Ok(result.into())
    }
}
