// An agent's view through the official MCP client (`@modelcontextprotocol/sdk`, streamable
// HTTP): the tools listed (the manifest's named queries, `schema`, `execute` unless the
// gateway is in safelist mode), a manifest tool called with arguments, `execute` with a query,
// `schema` for one type; a request without a token refused with 401 and the challenge naming
// the protected resource's metadata (RFC 9728), which names the issuer.
// Usage: GATEWAY_URL=… GATEWAY_TOKEN=… [SAFELIST=1] node mcp.mjs
import assert from 'node:assert/strict';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';

const { GATEWAY_URL: url, GATEWAY_TOKEN: token, SAFELIST: safelist } = process.env;
if (!url || !token) {
  console.error('set GATEWAY_URL and GATEWAY_TOKEN');
  process.exit(2);
}
const endpoint = new URL('/mcp', url);

const anonymous = await fetch(endpoint, {
  method: 'POST',
  headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
  body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }),
});
assert.equal(anonymous.status, 401);
const challenge = anonymous.headers.get('www-authenticate');
const metadataUrl = challenge.match(/resource_metadata="([^"]+)"/)?.[1];
assert.ok(metadataUrl, `the challenge names the metadata: ${challenge}`);
const metadata = await fetch(metadataUrl).then((response) => response.json());
assert.equal(metadata.resource, endpoint.href);

const client = new Client({ name: 'elements-gateway-tests', version: '1.0.0' });
await client.connect(
  new StreamableHTTPClientTransport(endpoint, { requestInit: { headers: { authorization: `Bearer ${token}` } } }),
);
const { tools } = await client.listTools();
const names = tools.map((tool) => tool.name);
assert.ok(names.includes('schema'), names.join(', '));
assert.equal(names.includes('execute'), !safelist, names.join(', '));

const customer = await client.callTool({ name: 'schema', arguments: { type: 'Customer' } });
assert.match(customer.content[0].text, /type Customer/);

const manifestTools = tools.filter((tool) => !['schema', 'execute'].includes(tool.name));
assert.ok(manifestTools.length > 0, 'the manifest gives tools');
for (const tool of manifestTools) {
  assert.ok(tool.description && tool.inputSchema.type === 'object', JSON.stringify(tool));
}
if (!safelist) {
  const executed = await client.callTool({
    name: 'execute',
    arguments: { query: '{ customers(first: 2) { totalCount nodes { id organization } } }' },
  });
  assert.equal(executed.isError, false, JSON.stringify(executed));
  assert.equal(executed.structuredContent.data.customers.nodes.length, 2);
  assert.equal(JSON.parse(executed.content[0].text).data.customers.totalCount, executed.structuredContent.data.customers.totalCount);
  const page = manifestTools.find((tool) => tool.name === 'CustomerPage');
  if (page) {
    const id = executed.structuredContent.data.customers.nodes[0].id;
    const customer = await client.callTool({ name: 'CustomerPage', arguments: { id } });
    assert.equal(customer.isError, false, JSON.stringify(customer));
    assert.equal(customer.structuredContent.data.customer.id, id);
    assert.deepEqual(page.inputSchema.required, ['id']);
  }
  let bomb = 'query { ...F0 }';
  for (let level = 0; level < 40; level += 1) bomb += ` fragment F${level} on Query { ...F${level + 1} ...F${level + 1} }`;
  bomb += ' fragment F40 on Query { ...Nope }';
  const refused = await client.callTool({ name: 'execute', arguments: { query: bomb } });
  assert.equal(refused.isError, true);
  assert.equal(refused.structuredContent.errors[0].extensions.code, 'GRAPHQL_VALIDATION_FAILED');
}
console.log(`MCP: ${names.length} tools (${names.join(', ')})`);
await client.close();
