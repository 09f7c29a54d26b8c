// urql with graphcache's `relayPagination` against a gateway in safelist mode, whose manifest
// GraphQL Code Generator's client preset generated from operations.graphql: every operation
// is sent by `documentId` only, graphcache still normalises and merges the pages (it keeps the
// documents; only what goes over the wire is the id), and a document outside the manifest is
// refused. Usage: GATEWAY_URL=… GATEWAY_TOKEN=… MANIFEST=gql/persisted-documents.json node urql.mjs
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { Client, fetchExchange, gql, makeOperation } from '@urql/core';
import { cacheExchange } from '@urql/exchange-graphcache';
import { relayPagination } from '@urql/exchange-graphcache/extras';
import { map, pipe } from 'wonka';

const { GATEWAY_URL: url, GATEWAY_TOKEN: token, MANIFEST: manifest } = process.env;
if (!url || !token || !manifest) {
  console.error('set GATEWAY_URL, GATEWAY_TOKEN and MANIFEST');
  process.exit(2);
}

// The manifest's ids by operation name.
const ids = new Map(
  Object.entries(JSON.parse(readFileSync(manifest, 'utf8'))).map(([id, text]) => [
    /^\s*(?:query|mutation)\s+(\w+)/.exec(text)[1],
    id,
  ]),
);
assert.ok(ids.has('Walk'), `the manifest holds Walk: ${[...ids.keys()]}`);

// Sends each operation as its manifest id (urql sends `documentId` for a document that has one
// and no definitions), and hands the answer back under the operation graphcache asked with.
const persistedDocuments = ({ forward }) => (operations$) => {
  const asked = new Map();
  return pipe(
    operations$,
    map((operation) => {
      if (operation.kind === 'teardown') return operation;
      const name = operation.query.definitions.find((d) => d.kind === 'OperationDefinition')?.name?.value;
      const documentId = ids.get(name);
      if (!documentId) return operation;
      asked.set(operation.key, operation);
      return makeOperation(operation.kind, { ...operation, query: { kind: 'Document', definitions: [], documentId } }, operation.context);
    }),
    forward,
    map((result) => ({ ...result, operation: asked.get(result.operation.key) ?? result.operation })),
  );
};

const client = new Client({
  url,
  fetchOptions: { headers: { authorization: `Bearer ${token}` } },
  requestPolicy: 'network-only',
  exchanges: [
    cacheExchange({ resolvers: { Query: { customers: relayPagination() } } }),
    persistedDocuments,
    fetchExchange,
  ],
});

const WALK = gql`
  query Walk($first: Int, $after: String) {
    customers(first: $first, after: $after) {
      __typename
      edges { __typename cursor node { __typename id email products { __typename id service } } }
      pageInfo { __typename hasNextPage endCursor }
    }
  }
`;
let result = await client.query(WALK, { first: 50 }).toPromise();
assert.ifError(result.error);
let pages = 1;
while (result.data.customers.pageInfo.hasNextPage) {
  const after = result.data.customers.pageInfo.endCursor;
  result = await client.query(WALK, { first: 50, after }).toPromise();
  assert.ifError(result.error);
  pages += 1;
}
const merged = await client.query(WALK, { first: 50 }, { requestPolicy: 'cache-only' }).toPromise();
const walked = merged.data.customers.edges.map((edge) => edge.node.id);
assert.equal(new Set(walked).size, walked.length, 'no customer twice');
assert.ok(pages >= 3 && walked.length > 100, `${walked.length} customers in ${pages} pages`);

// Anything but a manifest document is refused.
const other = await client.query(gql`query Other { customers(first: 1) { totalCount } }`, {}).toPromise();
assert.equal(other.error?.response?.status, 400, `refused: ${other.error}`);
assert.match(JSON.stringify(other.error?.graphQLErrors ?? other.error), /PERSISTED_DOCUMENT_REQUIRED|only persisted documents/);

console.log(
  `urql with graphcache relayPagination: ${walked.length} customers in ${pages} pages by documentId ` +
    `from a GraphQL Code Generator manifest, in safelist mode; other documents refused`,
);
