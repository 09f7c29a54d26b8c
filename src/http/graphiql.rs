//! The GraphiQL page served on `GET /graphql` to browsers (no token needed to load it; the
//! queries it sends still need one, entered in its Headers tab).
//!
//! This page loads GraphiQL from a CDN; it opens with an example query and an
//! `Authorization` header to fill in.

use axum::{
    http::header,
    response::{IntoResponse, Response},
};

const PAGE: &str = r#"<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>elements-gateway · GraphiQL</title>
  <link rel="stylesheet" href="https://unpkg.com/graphiql@3/graphiql.min.css">
  <style>body { margin: 0; } #graphiql { height: 100vh; }</style>
</head>
<body>
  <div id="graphiql">Loading GraphiQL…</div>
  <script crossorigin src="https://unpkg.com/react@18/umd/react.production.min.js"></script>
  <script crossorigin src="https://unpkg.com/react-dom@18/umd/react-dom.production.min.js"></script>
  <script crossorigin src="https://unpkg.com/graphiql@3/graphiql.min.js"></script>
  <script>
    const fetcher = GraphiQL.createFetcher({ url: window.location.pathname });
    const defaultQuery = `# Paste your token into the Headers tab below, then run this query.
query ExpiringSoon {
  products(filter: { expiringBefore: "2026-12-31T00:00:00Z" }) {
    service
    expirationDate
    customer { organization email }
  }
}
`;
    ReactDOM.createRoot(document.getElementById('graphiql')).render(
      React.createElement(GraphiQL, {
        fetcher,
        defaultQuery,
        defaultHeaders: '{\n  "Authorization": "Bearer <paste your token here>"\n}',
        defaultEditorToolsVisibility: 'headers',
        shouldPersistHeaders: false,
      }),
    );
  </script>
</body>
</html>
"#;

/// The page.
pub(super) fn page() -> Response {
    ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], PAGE).into_response()
}
