// What a production front end does, with the real Apollo Client 4: walks every customer with
// `relayStylePagination` and `fetchMore`, forwards and then backwards, keys products by their
// `id`, and sends persisted queries over GET through its persisted-queries link, the repeat
// answered `304 Not Modified` to a fetch that keeps ETags as a browser's HTTP cache would.
// Usage: GATEWAY_URL=… GATEWAY_TOKEN=… node frontend.mjs
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { ApolloClient, HttpLink, InMemoryCache, gql } from '@apollo/client';
import { PersistedQueryLink } from '@apollo/client/link/persisted-queries';
import { relayStylePagination } from '@apollo/client/utilities';

const { GATEWAY_URL: url, GATEWAY_TOKEN: token } = process.env;
if (!url || !token) {
  console.error('set GATEWAY_URL and GATEWAY_TOKEN');
  process.exit(2);
}
const headers = { authorization: `Bearer ${token}` };

// The upstream may have failed just before (partial.mjs): wait out the gateway's circuit
// breaker, a few seconds at most.
let everyone;
for (let attempt = 0; attempt < 60 && !everyone?.data; attempt += 1) {
  if (attempt > 0) await new Promise((resolve) => setTimeout(resolve, 500));
  everyone = await fetch(url, {
    method: 'POST',
    headers: { ...headers, 'content-type': 'application/json' },
    body: JSON.stringify({ query: '{ customers(first: 1000) { totalCount nodes { id } } }' }),
  }).then((response) => response.json());
}
assert.ok(everyone?.data, `the gateway answers: ${JSON.stringify(everyone)}`);
const all = everyone.data.customers.nodes.map((node) => node.id);
assert.equal(all.length, everyone.data.customers.totalCount);
assert.ok(all.length > 100, `enough customers for several pages: ${all.length}`);

function paging() {
  return new ApolloClient({
    link: new HttpLink({ uri: url, headers }),
    cache: new InMemoryCache({
      typePolicies: { Query: { fields: { customers: relayStylePagination(['search']) } } },
    }),
  });
}
const ids = (data) => data.customers.edges.map((edge) => edge.node.id);

// Forwards: `first`/`after`, 50 at a time.
const forwards = paging();
const FORWARD = gql`query Forward($first: Int, $after: String) {
  customers(first: $first, after: $after) {
    edges { cursor node { id products { id service } } }
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
  }
}`;
// Each page is fetched and merged into the one cached list (the field's only key argument is
// `search`), as `fetchMore` does; what the cache answers is the merged list.
const more = (client, query, variables) =>
  client.query({ query, variables, fetchPolicy: 'network-only' });
let result = await more(forwards, FORWARD, { first: 50 });
let pages = 1;
while (result.data.customers.pageInfo.hasNextPage) {
  const after = result.data.customers.pageInfo.endCursor;
  result = await more(forwards, FORWARD, { first: 50, after });
  pages += 1;
}
const merged = forwards.cache.readQuery({ query: FORWARD, variables: { first: 50 } });
assert.deepEqual(ids(merged), all, 'forwards: every customer once, in order');
assert.ok(pages >= 3, `${pages} pages`);

// Products are normalised by their id: each is one cache entry.
const product = merged.customers.edges[0].node.products[0];
const key = forwards.cache.identify({ __typename: 'Product', id: product.id });
assert.ok(forwards.cache.extract()[key], `product ${key} is in the cache`);

// Backwards: `last`/`before` from the end, merged into one list the same way.
const backwards = paging();
const BACKWARD = gql`query Backward($last: Int, $before: String) {
  customers(last: $last, before: $before) {
    edges { cursor node { id } }
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
  }
}`;
let page = await more(backwards, BACKWARD, { last: 50 });
assert.equal(page.data.customers.pageInfo.hasNextPage, false, 'the last page has nothing after it');
while (page.data.customers.pageInfo.hasPreviousPage) {
  const before = page.data.customers.pageInfo.startCursor;
  page = await more(backwards, BACKWARD, { last: 50, before });
}
const walkedBack = backwards.cache.readQuery({ query: BACKWARD, variables: { last: 50 } });
assert.deepEqual(ids(walkedBack), all, 'backwards: every customer once, in order');

// Persisted queries over GET, and the HTTP cache: a fetch that keeps each GET answer's ETag
// and asks again with If-None-Match, as a browser does.
const seen = [];
const kept = new Map();
async function caching(input, init = {}) {
  const method = init.method ?? 'GET';
  const requestHeaders = new Headers(init.headers);
  const known = method === 'GET' ? kept.get(String(input)) : undefined;
  if (known) requestHeaders.set('if-none-match', known.etag);
  const response = await fetch(input, { ...init, headers: requestHeaders });
  seen.push(`${method} ${response.status}`);
  if (response.status === 304 && known) {
    return new Response(known.body, { status: 200, headers: known.headers });
  }
  const etag = response.headers.get('etag');
  if (method === 'GET' && etag) {
    const body = await response.clone().text();
    kept.set(String(input), { etag, body, headers: response.headers });
  }
  return response;
}
const persisted = new ApolloClient({
  link: new PersistedQueryLink({
    sha256: (text) => createHash('sha256').update(text).digest('hex'),
    useGETForHashedQueries: true,
  }).concat(new HttpLink({ uri: url, headers, fetch: caching })),
  cache: new InMemoryCache(),
});
const TOTAL = gql`query Total { customers(first: 3) { totalCount nodes { id } } }`;
const first = await persisted.query({ query: TOTAL, fetchPolicy: 'network-only' });
assert.equal(first.data.customers.totalCount, all.length);
assert.deepEqual(seen, ['GET 400', 'POST 200'], 'unknown hash, then the query registered');
const second = await persisted.query({ query: TOTAL, fetchPolicy: 'network-only' });
const third = await persisted.query({ query: TOTAL, fetchPolicy: 'network-only' });
assert.deepEqual(second.data, first.data);
assert.deepEqual(third.data, first.data);
assert.deepEqual(
  seen.slice(2),
  ['GET 200', 'GET 304'],
  'the hash alone over GET, then Not Modified for the tag the cache kept',
);

console.log(
  `Apollo Client 4: ${all.length} customers walked forwards (${pages} pages) and backwards, ` +
    `products keyed by id, persisted queries over GET answered 304 on repeat`,
);
