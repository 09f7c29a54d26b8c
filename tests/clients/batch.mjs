// Apollo Client 4's BatchHttpLink against the gateway: queries issued together go out in one
// POST (a JSON array), every answer comes back to its own query, and an operation the gateway
// refuses fails alone. A batch over GATEWAY_LIMITS_BATCH is refused with 400.
// Usage: GATEWAY_URL=… GATEWAY_TOKEN=… node batch.mjs (the default GATEWAY_LIMITS_BATCH, 10)
import assert from 'node:assert/strict';
import { ApolloClient, InMemoryCache, gql } from '@apollo/client';
import { BatchHttpLink } from '@apollo/client/link/batch-http';

const { GATEWAY_URL: url, GATEWAY_TOKEN: token } = process.env;
if (!url || !token) {
  console.error('set GATEWAY_URL and GATEWAY_TOKEN');
  process.exit(2);
}
const headers = { authorization: `Bearer ${token}` };
let posts = 0;
const counted = (input, init) => {
  posts += 1;
  return fetch(input, init);
};
const client = new ApolloClient({
  link: new BatchHttpLink({ uri: url, headers, batchMax: 10, batchInterval: 20, fetch: counted }),
  cache: new InMemoryCache(),
});
const page = (first) => gql(`query Page${first} { customers(first: ${first}) { totalCount nodes { id organization } } }`);
const answers = await Promise.all(
  [1, 2, 3].map((first) => client.query({ query: page(first), fetchPolicy: 'network-only' })),
);
assert.equal(posts, 1, 'three queries in one POST');
answers.forEach((answer, index) => {
  assert.equal(answer.data.customers.nodes.length, index + 1, JSON.stringify(answer.data));
});
const [good, bad] = await Promise.all([
  client.query({ query: page(4), fetchPolicy: 'network-only', errorPolicy: 'all' }),
  client.query({ query: gql('query Bad { customers(first: 1, last: 1) { totalCount } }'), fetchPolicy: 'network-only', errorPolicy: 'all' }),
]);
assert.equal(good.data.customers.nodes.length, 4);
assert.ok(bad.error, 'the bad operation fails alone');
const tooMany = await fetch(url, {
  method: 'POST',
  headers: { ...headers, 'content-type': 'application/json' },
  body: JSON.stringify(Array.from({ length: 11 }, () => ({ query: '{ __typename }' }))),
});
assert.equal(tooMany.status, 400);
assert.match(await tooMany.text(), /GATEWAY_LIMITS_BATCH/);
console.log(`BatchHttpLink: ${answers.length + 2} queries in ${posts} POSTs, each answered in its place`);
