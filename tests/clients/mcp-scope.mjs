// The claim scope through every MCP tool, with the official client: a gateway that scopes
// callers by `elements_customers` (its JWT secret known here, so tokens can be minted) and
// serves the codegen manifest; a caller scoped to two customers sees those two, and only
// those, through `execute` and through the manifest's `Walk` tool.
// Usage: GATEWAY_URL=… JWT_SECRET=… node mcp-scope.mjs
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';

const { GATEWAY_URL: url, JWT_SECRET: secret } = process.env;
if (!url || !secret) {
  console.error('set GATEWAY_URL and JWT_SECRET');
  process.exit(2);
}

/** An HS256 token with `claims`. */
function mint(claims) {
  const encode = (value) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const body = `${encode({ alg: 'HS256', typ: 'JWT' })}.${encode({ exp: Math.floor(Date.now() / 1000) + 600, ...claims })}`;
  return `${body}.${createHmac('sha256', secret).update(body).digest('base64url')}`;
}

/** An MCP client for the caller of `token`. */
async function connect(token) {
  const client = new Client({ name: 'elements-gateway-scope-test', version: '1.0.0' });
  await client.connect(
    new StreamableHTTPClientTransport(new URL('/mcp', url), {
      requestInit: { headers: { authorization: `Bearer ${token}` } },
    }),
  );
  return client;
}

const everyone = await connect(mint({ sub: 'admin', scope: 'customers.all' }));
const all = await everyone.callTool({ name: 'execute', arguments: { query: '{ customers(first: 1000) { nodes { id } } }' } });
const ids = all.structuredContent.data.customers.nodes.map((node) => node.id);
assert.ok(ids.length > 10, `every customer: ${ids.length}`);

const mine = [ids[4], ids[9]];
const scoped = await connect(mint({ sub: 'partner-user', elements_customers: mine }));
const executed = await scoped.callTool({ name: 'execute', arguments: { query: '{ customers(first: 1000) { totalCount nodes { id } } }' } });
assert.equal(executed.structuredContent.data.customers.totalCount, 2);
assert.deepEqual(executed.structuredContent.data.customers.nodes.map((node) => node.id).sort(), [...mine].sort());
const walked = await scoped.callTool({ name: 'Walk', arguments: { first: 100 } });
assert.equal(walked.isError, false, JSON.stringify(walked));
const seen = walked.structuredContent.data.customers.edges.map((edge) => edge.node.id).sort();
assert.deepEqual(seen, [...mine].sort());
const other = await scoped.callTool({ name: 'execute', arguments: { query: `{ customer(id: "${ids[0]}") { id } }` } });
assert.equal(other.structuredContent.data.customer, null, 'another customer is not there');
console.log('MCP: a scoped caller sees its 2 customers, and only those, through execute and Walk');
await Promise.all([everyone.close(), scoped.close()]);
