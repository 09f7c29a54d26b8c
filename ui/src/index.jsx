// The gateway's GraphiQL page: GraphiQL from its npm package, bundled with React so the page
// needs nothing beyond the gateway itself.
import { createGraphiQLFetcher } from '@graphiql/toolkit';
import { GraphiQL } from 'graphiql';
import 'graphiql/graphiql.css';
import React from 'react';
import { createRoot } from 'react-dom/client';

const defaultQuery = `# Put your caller token in the Headers tab below, then run this query.
query ExpiringSoon {
  products(filter: { expiringBefore: "2026-12-31T00:00:00Z" }) {
    service
    expirationDate
    customer { organization email }
  }
}
`;

const defaultHeaders = `{
  "Authorization": "Bearer <paste your token here>"
}`;

const fetcher = createGraphiQLFetcher({ url: window.location.pathname });

createRoot(document.getElementById('graphiql')).render(
  React.createElement(GraphiQL, {
    fetcher,
    defaultQuery,
    defaultHeaders,
    defaultEditorToolsVisibility: 'headers',
    shouldPersistHeaders: false,
  }),
);
