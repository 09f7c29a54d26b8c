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
import { filter, firstValueFrom } from 'rxjs';

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
// `fetchMore` on a watched query: each page is fetched and merged into the one cached list
// (the field's only key argument is `search`), which the cache then answers for the query.
async function walk(client, query, variables, next) {
  const watched = client.watchQuery({ query, variables });
  const subscription = watched.subscribe(() => {});
  let page = await firstValueFrom(watched.pipe(filter((result) => result.dataState === 'complete')));
  let pages = 1;
  for (let more = next(page.data); more; more = next(page.data)) {
    page = await watched.fetchMore({ variables: more });
    pages += 1;
  }
  const merged = client.cache.readQuery({ query, variables });
  subscription.unsubscribe();
  return { merged, pages };
}

const { merged, pages } = await walk(forwards, FORWARD, { first: 50 }, (data) =>
  data.customers.pageInfo.hasNextPage ? { first: 50, after: data.customers.pageInfo.endCursor } : null,
);
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
const back = await walk(backwards, BACKWARD, { last: 50 }, (data) =>
  data.customers.pageInfo.hasPreviousPage
    ? { last: 50, before: data.customers.pageInfo.startCursor }
    : null,
);
assert.deepEqual(ids(back.merged), all, 'backwards: every customer once, in order');
assert.equal(back.pages, pages, 'as many pages backwards as forwards');

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
