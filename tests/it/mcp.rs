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

async fn rpc(gateway: &TestGateway, token: &str, method: &str, params: Value) -> Value {
    let response = gateway
        .client
        .post(gateway.url("/mcp"))
        .bearer_auth(token)
        .header("accept", "application/json, text/event-stream")
        .json(&json!({ "jsonrpc": "2.0", "id": 1, "method": method, "params": params }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let answer: Value = response.json().await.unwrap();
    answer["result"].clone()
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
    let listed = rpc(&gateway, &token(), "tools/list", json!({})).await;
    let names: Vec<&str> = listed["tools"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|tool| tool["name"].as_str())
        .collect();
    assert_eq!(names, ["FirstCustomers", "schema"]);
    let refused = call(
        &gateway,
        &token(),
        "execute",
        json!({ "query": "{ __typename }" }),
    )
    .await;
    assert!(refused.is_null(), "no such tool: {refused}");
    let closed = spawn_with(Options::default().set("GATEWAY_INTROSPECTION", false)).await;
    let listed = rpc(&closed, &token(), "tools/list", json!({})).await;
    let names: Vec<&str> = listed["tools"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|tool| tool["name"].as_str())
        .collect();
    assert_eq!(names, ["execute"], "no schema with introspection off");
    let refused = call(&closed, &token(), "schema", json!({})).await;
    assert!(refused.is_null(), "no such tool: {refused}");
    let off = spawn_with(Options::default().set("GATEWAY_MCP", false)).await;
    let response = off
        .client
        .post(off.url("/mcp"))
        .bearer_auth(token())
        .json(&json!({ "jsonrpc": "2.0", "id": 1, "method": "tools/list" }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
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
