// Live answers through the real clients: graphql-sse's client (what a browser uses), graphql-ws's
// (WebSocket, with the token in `connectionParams`) and Apollo Client 4's GraphQLWsLink behind a
// split link. Each subscribes to one customer, gets the query's answer first, then exactly one
// more after the sample upstream renames the customer (and none while refreshes bring the same
// data); limits and a missing token are refused through each.
// Usage: GATEWAY_URL=… GATEWAY_TOKEN=… UPSTREAM_URL=… node live.mjs (a gateway whose data are
// fresh for a second: GATEWAY_CACHE_TTL_SECS=1).
import assert from 'node:assert/strict';
import { ApolloClient, HttpLink, InMemoryCache, gql, split } from '@apollo/client';
import { GraphQLWsLink } from '@apollo/client/link/subscriptions';
import { getMainDefinition } from '@apollo/client/utilities';
import { createClient as createSseClient } from 'graphql-sse';
import { createClient as createWsClient } from 'graphql-ws';
import WebSocket from 'ws';

const { GATEWAY_URL: url, GATEWAY_TOKEN: token, UPSTREAM_URL: upstream } = process.env;
if (!url || !token || !upstream) {
  console.error('set GATEWAY_URL, GATEWAY_TOKEN and UPSTREAM_URL');
  process.exit(2);
}
const wsUrl = url.replace(/^http/, 'ws');
const authorization = `Bearer ${token}`;
const SUBSCRIPTION = 'subscription Watch($id: ID!) { customer(id: $id) { id organization } }';
const PATIENCE = 30_000;

/** The first customers' ids, one per client. */
async function customerIds() {
  const answer = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization },
    body: JSON.stringify({ query: '{ customers(first: 3) { nodes { id } } }' }),
  }).then((response) => response.json());
  return answer.data.customers.nodes.map((node) => node.id);
}

/** The sum of a metric's series on /metrics. */
async function metric(name) {
  const text = await fetch(url.replace(/\/graphql$/, '/metrics')).then((response) => response.text());
  return text
    .split('\n')
    .filter((line) => line.startsWith(name))
    .reduce((sum, line) => sum + Number(line.split(' ').pop()), 0);
}

/** Waits until the live answers have run `more` more times with the same data. */
async function refreshedWithSameData(more) {
  const series = 'gateway_subscription_evaluations_total{outcome="same"}';
  const start = await metric(series);
  const deadline = Date.now() + PATIENCE;
  while ((await metric(series)) < start + more) {
    assert.ok(Date.now() < deadline, 'the live answers ran again');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Renames customer `id` in the sample upstream. */
async function rename(id, organization) {
  const put = await fetch(`${upstream}/__mock/customers/${id}/organization`, { method: 'PUT', body: organization });
  assert.equal(put.status, 204);
}

/** Answers pushed by a client, read in order. */
class Answers {
  constructor() {
    this.queue = [];
    this.waiting = null;
  }
  push(answer) {
    if (this.waiting) {
      this.waiting(answer);
      this.waiting = null;
    } else {
      this.queue.push(answer);
    }
  }
  next(what) {
    if (this.queue.length > 0) return Promise.resolve(this.queue.shift());
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no answer in time: ${what}`)), PATIENCE);
      this.waiting = (answer) => {
        clearTimeout(timer);
        resolve(answer);
      };
    });
  }
  get pending() {
    return this.queue.length;
  }
}

/** The common check: the query's answer, nothing on same-data refreshes, one change. */
async function watches(name, id, answers) {
  const first = await answers.next(`${name}: the first answer`);
  assert.equal(first.errors, undefined, `${name}: ${JSON.stringify(first)}`);
  assert.equal(first.data.customer.id, id);
  await refreshedWithSameData(2);
  assert.equal(answers.pending, 0, `${name}: nothing sent while the data stay the same`);
  const renamed = `Renamed For ${name}`;
  await rename(id, renamed);
  const changed = await answers.next(`${name}: the change`);
  assert.equal(changed.data.customer.organization, renamed, `${name}: ${JSON.stringify(changed)}`);
  await refreshedWithSameData(2);
  assert.equal(answers.pending, 0, `${name}: the change came once`);
  console.log(`${name}: the first answer, then the change once`);
}

const [sseId, wsId, apolloId] = await customerIds();

// graphql-sse, distinct connections mode.
const sse = createSseClient({ url, headers: { Authorization: authorization }, retryAttempts: 0 });
const sseAnswers = new Answers();
const sseStop = sse.subscribe(
  { query: SUBSCRIPTION, variables: { id: sseId } },
  { next: (answer) => sseAnswers.push(answer), error: (error) => sseAnswers.push({ failed: error }), complete: () => {} },
);
await watches('graphql-sse', sseId, sseAnswers);
sseStop();

// graphql-ws, the token in connection_init.
const ws = createWsClient({
  url: wsUrl,
  webSocketImpl: WebSocket,
  connectionParams: { Authorization: authorization },
  retryAttempts: 0,
});
const wsAnswers = new Answers();
const wsStop = ws.subscribe(
  { query: SUBSCRIPTION, variables: { id: wsId } },
  { next: (answer) => wsAnswers.push(answer), error: (error) => wsAnswers.push({ failed: error }), complete: () => {} },
);
await watches('graphql-ws', wsId, wsAnswers);
wsStop();

// Apollo Client: subscriptions over GraphQLWsLink, the rest over HTTP.
const apolloWs = createWsClient({
  url: wsUrl,
  webSocketImpl: WebSocket,
  connectionParams: { Authorization: authorization },
  retryAttempts: 0,
});
const link = split(
  ({ query }) => {
    const definition = getMainDefinition(query);
    return definition.kind === 'OperationDefinition' && definition.operation === 'subscription';
  },
  new GraphQLWsLink(apolloWs),
  new HttpLink({ uri: url, headers: { authorization } }),
);
const apollo = new ApolloClient({ link, cache: new InMemoryCache() });
const apolloAnswers = new Answers();
const apolloSubscription = apollo
  .subscribe({ query: gql(SUBSCRIPTION), variables: { id: apolloId } })
  .subscribe({ next: (result) => apolloAnswers.push(result), error: (error) => apolloAnswers.push({ failed: error }) });
await watches('Apollo GraphQLWsLink', apolloId, apolloAnswers);
apolloSubscription.unsubscribe();

// Refused through the clients: a fragment bomb (graphql-sse), an operation over the cost
// limit (graphql-ws), and a socket with no token.
let bomb = 'subscription { ...F0 }';
for (let level = 0; level < 40; level += 1) {
  bomb += ` fragment F${level} on Subscription { ...F${level + 1} ...F${level + 1} }`;
}
bomb += ' fragment F40 on Subscription { ...Nope }';
const refusedSse = [];
for await (const answer of sse.iterate({ query: bomb })) refusedSse.push(answer);
assert.equal(refusedSse[0].errors[0].extensions.code, 'GRAPHQL_VALIDATION_FAILED', JSON.stringify(refusedSse));
const costly =
  'subscription { products { customer { products { customer { products { customer { products { customer { id } } } } } } } } }';
await assert.rejects(
  async () => {
    for await (const answer of ws.iterate({ query: costly })) assert.fail(`answered: ${JSON.stringify(answer)}`);
  },
  (errors) => errors[0]?.extensions?.code === 'QUERY_TOO_COMPLEX',
);
const anonymous = createWsClient({ url: wsUrl, webSocketImpl: WebSocket, retryAttempts: 0 });
await assert.rejects(
  async () => {
    for await (const answer of anonymous.iterate({ query: SUBSCRIPTION, variables: { id: wsId } })) {
      assert.fail(`answered: ${JSON.stringify(answer)}`);
    }
  },
  (closed) => closed.code === 4403,
);
console.log('refused through the clients: a fragment bomb, an over-cost operation, no token');
await Promise.all([ws.dispose(), apolloWs.dispose(), anonymous.dispose(), sse.dispose()]);
