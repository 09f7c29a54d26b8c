//! `/mcp` behind the caller JWT, spoken to as JSON-RPC over plain HTTP (the official npm
//! client runs in `tests/clients/mcp.mjs`): the challenge and the metadata without a token, the
//! claim scope through every tool, safelist mode without `execute`, introspection off without
//! `schema`, and `GATEWAY_MCP=false`.

use serde_json::{Value, json};

use crate::{
    common::{ISSUER, Options, TestGateway, spawn_with, token},
    customer_claim,
    persisted::manifest,
};

/// The result of calling `tool` with `arguments` as the caller of `token`.
async fn call(gateway: &TestGateway, token: &str, tool: &str, arguments: Value) -> Value {
    rpc(
        gateway,
        token,
        "tools/call",
        json!({ "name": tool, "arguments": arguments }),
    )
    .await
}

/// The `result` of a JSON-RPC call of `method` as the caller of `token`.
async fn rpc(gateway: &TestGateway, token: &str, method: &str, params: Value) -> Value {
    envelope(gateway, token, method, params).await["result"].clone()
}

/// The whole JSON-RPC answer to a call of `method` (its `result` or its `error`).
async fn envelope(gateway: &TestGateway, token: &str, method: &str, params: Value) -> Value {
    let message = json!({ "jsonrpc": "2.0", "id": 1, "method": method, "params": params });
    let response = send(gateway, token, &message).await;
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

/// The HTTP response to the JSON-RPC `message` posted to `/mcp` as the caller of `token`.
async fn send(gateway: &TestGateway, token: &str, message: &Value) -> reqwest::Response {
    gateway
        .client
        .post(gateway.url("/mcp"))
        .bearer_auth(token)
        .header("accept", "application/json, text/event-stream")
        .json(message)
        .send()
        .await
        .unwrap()
}

/// The names of the tools `gateway` lists.
async fn tool_names(gateway: &TestGateway) -> Vec<String> {
    let listed = rpc(gateway, &token(), "tools/list", json!({})).await;
    listed["tools"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|tool| tool["name"].as_str().map(str::to_owned))
        .collect()
}

/// Asserts that calling `tool` on `gateway` is refused as no such tool.
async fn assert_no_tool(gateway: &TestGateway, tool: &str, arguments: Value) {
    let answer = envelope(
        gateway,
        &token(),
        "tools/call",
        json!({ "name": tool, "arguments": arguments }),
    )
    .await;
    let message = answer["error"]["message"].as_str().unwrap_or_default();
    assert_eq!(message, format!("no tool named {tool}"), "{answer}");
}

const PAGE: &str = "# The first customers, with their ids.\nquery FirstCustomers($first: Int!) { customers(first: $first) { totalCount nodes { id } } }\n";

#[tokio::test]
async fn a_claim_scoped_caller_sees_only_its_customers_through_every_tool() {
    let path = manifest("mcp-claims", &[PAGE]);
    let gateway = customer_claim::gateway_with(
        Options::default().set("GATEWAY_PERSISTED_DOCUMENTS_FILE", path.display()),
    )
    .await;
    let ids = gateway.upstream_ids();
    let scoped = customer_claim::token_for(Some(&[ids[2].clone()]));
    let listed = rpc(&gateway, &scoped, "tools/list", json!({})).await;
    let tool = listed["tools"]
        .as_array()
        .unwrap()
        .iter()
        .find(|tool| tool["name"] == "FirstCustomers")
        .cloned()
        .expect("the manifest's query is a tool");
    assert_eq!(tool["description"], "The first customers, with their ids.");
    assert_eq!(tool["inputSchema"]["required"], json!(["first"]));
    let through_tool = call(&gateway, &scoped, "FirstCustomers", json!({ "first": 10 })).await;
    assert_eq!(
        through_tool["structuredContent"]["data"]["customers"]["totalCount"],
        1
    );
    let executed = call(
        &gateway,
        &scoped,
        "execute",
        json!({ "query": "{ customers { nodes { id } } }" }),
    )
    .await;
    assert_eq!(
        executed["structuredContent"]["data"]["customers"]["nodes"],
        json!([{ "id": ids[2] }])
    );
    for tool in ["FirstCustomers", "execute"] {
        let series = format!("gateway_mcp_tool_calls_total{{tool=\"{tool}\"}}");
        assert_eq!(gateway.metric(&series).await, 1.0, "{series}");
    }
}

#[tokio::test]
async fn without_a_token_the_challenge_names_the_metadata_which_names_the_issuer() {
    let gateway = spawn_with(Options::default()).await;
    let refused = gateway
        .client
        .post(gateway.url("/mcp"))
        .json(&json!({ "jsonrpc": "2.0", "id": 1, "method": "tools/list" }))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 401);
    let challenge = refused.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .to_owned();
    let metadata_url = challenge
        .split("resource_metadata=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap_or_else(|| panic!("{challenge}"));
    assert!(metadata_url.ends_with("/.well-known/oauth-protected-resource"));
    let metadata: Value = gateway
        .get("/.well-known/oauth-protected-resource")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(metadata["authorization_servers"], json!([ISSUER]));
    assert!(metadata["resource"].as_str().unwrap().ends_with("/mcp"));
}

#[tokio::test]
async fn safelist_mode_offers_no_execute_introspection_off_no_schema_and_mcp_can_be_off() {
    let path = manifest("mcp-safelist", &[PAGE]);
    let gateway = spawn_with(
        Options::default()
            .set("GATEWAY_PERSISTED_DOCUMENTS_FILE", path.display())
            .set("GATEWAY_PERSISTED_DOCUMENTS_ONLY", true),
    )
    .await;
    assert_eq!(tool_names(&gateway).await, ["FirstCustomers", "schema"]);
    assert_no_tool(&gateway, "execute", json!({ "query": "{ __typename }" })).await;
    let closed = spawn_with(Options::default().set("GATEWAY_INTROSPECTION", false)).await;
    assert_eq!(
        tool_names(&closed).await,
        ["execute"],
        "no schema with introspection off"
    );
    assert_no_tool(&closed, "schema", json!({})).await;
    let off = spawn_with(Options::default().set("GATEWAY_MCP", false)).await;
    let list = json!({ "jsonrpc": "2.0", "id": 1, "method": "tools/list" });
    assert_eq!(send(&off, &token(), &list).await.status(), 404);
}

#[tokio::test]
async fn the_access_log_names_the_tool_called() {
    let traffic = async |url: &str| {
        let mcp = url.replace("/graphql", "/mcp");
        let response = reqwest::Client::new()
            .post(mcp)
            .bearer_auth(token())
            .header("accept", "application/json, text/event-stream")
            .header("x-request-id", "agent-call")
            .json(&json!({ "jsonrpc": "2.0", "id": 1, "method": "tools/call",
                "params": { "name": "execute", "arguments": { "query": "{ __typename }" } } }))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
    };
    let lines = crate::access_log::json_access_lines(&[], traffic).await;
    let line = lines
        .iter()
        .find(|line| crate::access_log::request_id(line) == "agent-call")
        .expect("the call's line");
    assert_eq!(line["fields"]["path"], "/mcp");
    assert_eq!(line["fields"]["operation"], "execute");
    assert_eq!(line["fields"]["source"], "mcp");
}

#[tokio::test]
async fn the_rate_limit_and_the_body_limit_refuse_as_on_graphql() {
    let gateway = spawn_with(
        Options::default()
            .set("GATEWAY_LIMITS_RATE_PER_MINUTE", 60)
            .set("GATEWAY_LIMITS_RATE_BURST", 1),
    )
    .await;
    let list = json!({ "jsonrpc": "2.0", "id": 1, "method": "tools/list" });
    assert_eq!(send(&gateway, &token(), &list).await.status(), 200);
    let limited = send(&gateway, &token(), &list).await;
    assert_eq!(limited.status(), 429);
    assert_eq!(limited.headers()["retry-after"], "1");
    let body: Value = limited.json().await.unwrap();
    assert_eq!(body["errors"][0]["extensions"]["code"], "RATE_LIMITED");

    let roomy = spawn_with(Options::default().set("GATEWAY_LIMITS_BODY_BYTES", 4096)).await;
    let query = format!("{{ __typename }} # {}", "x".repeat(5000));
    let call = json!({ "jsonrpc": "2.0", "id": 1, "method": "tools/call",
        "params": { "name": "execute", "arguments": { "query": query } } });
    let too_large = send(&roomy, &token(), &call).await;
    assert_eq!(too_large.status(), 413);
    let body: Value = too_large.json().await.unwrap();
    assert_eq!(body["errors"][0]["extensions"]["code"], "PAYLOAD_TOO_LARGE");
}
