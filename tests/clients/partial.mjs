// Apollo Client 4 with `errorPolicy: 'all'` on partial answers from the gateway: a failed
// nullable field must reach the application as null (not missing), and a failed non-null
// root field as no data at all. Usage: GATEWAY_URL=… GATEWAY_TOKEN=… UPSTREAM_URL=… node partial.mjs
import assert from 'node:assert/strict';
import { ApolloClient, HttpLink, InMemoryCache, gql } from '@apollo/client';

const { GATEWAY_URL: url, GATEWAY_TOKEN: token, UPSTREAM_URL: upstream } = process.env;
if (!url || !token || !upstream) {
  console.error('set GATEWAY_URL, GATEWAY_TOKEN and UPSTREAM_URL');
  process.exit(2);
}

// Every upstream request fails from now on, and nothing is cached yet.
const fault = await fetch(`${upstream}/__mock/fault`, {
  method: 'PUT',
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify({ kind: 'server_error', status: 503 }),
});
assert.ok(fault.ok, `the mock took the fault: HTTP ${fault.status}`);

const client = new ApolloClient({
  link: new HttpLink({ uri: url, headers: { authorization: `Bearer ${token}` } }),
  cache: new InMemoryCache(),
});
const ask = (query) => client.query({ query: gql(query), errorPolicy: 'all', fetchPolicy: 'network-only' });

const nullable = await ask('query Nullable { __typename customer(id: "c1") { id } }');
assert.ok(nullable.error, 'the upstream failure is reported');
assert.equal(nullable.data.__typename, 'Query');
assert.ok('customer' in nullable.data, `customer is present: ${JSON.stringify(nullable.data)}`);
assert.equal(nullable.data.customer, null);

const nonNull = await ask('query NonNull { __typename a: customer(id: "c1") { id } products { service } }');
assert.ok(nonNull.error, 'the upstream failure is reported');
assert.equal(nonNull.data ?? null, null, `products is non-null, so no data: ${JSON.stringify(nonNull.data)}`);

// The upstream answers again, for the checks that follow.
const cleared = await fetch(`${upstream}/__mock/fault`, {
  method: 'PUT',
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify({ kind: 'none' }),
});
assert.ok(cleared.ok, `the mock cleared the fault: HTTP ${cleared.status}`);

console.log('Apollo Client 4 (errorPolicy all): a failed field is null, a failed non-null root field nulls data');
