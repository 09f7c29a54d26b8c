// The gateway's GraphiQL page: GraphiQL from its npm package, bundled with React so the page
// needs nothing beyond the gateway itself.
import { createGraphiQLFetcher } from '@graphiql/toolkit';
import { GraphiQL } from 'graphiql';
import { createClient } from 'graphql-sse';
import 'graphiql/graphiql.css';
import React from 'react';
import { createRoot } from 'react-dom/client';

// `serve --demo` puts its caller token in the page (a real deployment never does).
const demoHeaders = document.getElementById('graphiql').dataset.headers;

const defaultQuery = `# ${
  demoHeaders
    ? "The demo's caller token is in the Headers tab below: run this query."
    : 'Put your caller token in the Headers tab below, then run this query.'
}
query ExpiringSoon {
  products(filter: { expiringBefore: "2026-12-31T00:00:00Z" }) {
    service
    expirationDate
    customer { organization email }
  }
}
`;

const defaultHeaders =
  demoHeaders ??
  `{
  "Authorization": "Bearer <paste your token here>"
}`;

const url = window.location.pathname;
const http = createGraphiQLFetcher({ url });

// Whether the operation to run is a subscription.
function isSubscription(params, documentAST) {
  const operations = (documentAST?.definitions ?? []).filter(
    (definition) => definition.kind === 'OperationDefinition',
  );
  const chosen = params.operationName
    ? operations.find((operation) => operation.name?.value === params.operationName)
    : operations.length === 1 && operations[0];
  return chosen?.operation === 'subscription';
}

// Queries over HTTP; subscriptions over GraphQL over SSE (graphql-sse), with the headers of
// the Headers tab, so the caller token reaches both. GraphiQL shows each answer as it comes.
function fetcher(params, opts) {
  if (!isSubscription(params, opts?.documentAST)) {
    return http(params, opts);
  }
  // Stopping the run in GraphiQL ends the iteration, which closes the stream.
  return createClient({ url, headers: opts?.headers ?? {} }).iterate(params);
}

createRoot(document.getElementById('graphiql')).render(
  React.createElement(GraphiQL, {
    fetcher,
    defaultQuery,
    defaultHeaders,
    defaultEditorToolsVisibility: 'headers',
    shouldPersistHeaders: false,
  }),
);
