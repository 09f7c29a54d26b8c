//! The GraphiQL page served on `GET /graphql` to browsers (no token needed to load it; the
//! queries it sends still need one, entered in its Headers tab).
//!
//! A build with the UI bundle (`ui/`, embedded by `build.rs`) serves GraphiQL and all its
//! assets itself, under `/graphiql/`, so the page works where no CDN can be reached; its
//! Content-Security-Policy allows nothing from elsewhere. A build without the bundle serves a
//! page that loads GraphiQL from a CDN at pinned versions checked by Subresource Integrity,
//! under the same policy widened to that CDN, and the gateway says so when it starts. Either
//! page opens with an example query and an `Authorization` header to fill in, and neither may
//! be framed (`frame-ancestors 'none'`).

use axum::{
    extract::Path,
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};

use super::compress;
use crate::memo::Coding;

/// Whether this build serves GraphiQL's assets itself.
pub const BUNDLED: bool = cfg!(graphiql_bundled);

/// The page.
pub(super) fn page(safelist: bool) -> Response {
    let mut html = page_html();
    if safelist {
        html = html.replacen("<body>", &format!("<body>\n  {SAFELIST_NOTICE}"), 1);
    }
    let mut response = ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], html).into_response();
    response.headers_mut().insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(policy()),
    );
    response
}

/// What the page says in safelist mode, above GraphiQL.
const SAFELIST_NOTICE: &str = "<div role=\"note\" style=\"padding: 6px 12px; background: #fff3cd; \
font: 14px sans-serif\">Only persisted documents run on this gateway \
(GATEWAY_PERSISTED_DOCUMENTS_ONLY): a query typed here is refused unless its manifest holds \
it.</div>";

/// The bundled page allows nothing from elsewhere.
#[cfg(graphiql_bundled)]
fn policy() -> &'static str {
    "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; \
     font-src 'self' data:; connect-src 'self'; frame-ancestors 'none'"
}

#[cfg(not(graphiql_bundled))]
fn policy() -> &'static str {
    cdn_policy()
}

#[cfg(graphiql_bundled)]
fn page_html() -> String {
    format!(
        r#"<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>elements-gateway · GraphiQL</title>
  <link rel="stylesheet" href="/graphiql/graphiql.css?v={version}">
  <style>body {{ margin: 0; }} #graphiql {{ height: 100vh; }}</style>
</head>
<body>
  <div id="graphiql">Loading GraphiQL…</div>
  <script src="/graphiql/graphiql.js?v={version}"></script>
</body>
</html>
"#,
        version = env!("GRAPHIQL_VERSION")
    )
}

#[cfg(not(graphiql_bundled))]
fn page_html() -> String {
    cdn_page_html()
}

/// `GET /graphiql/{file}`: the embedded bundle, gzip-compressed when the browser accepts it.
/// The URLs carry the bundle's hash, so the answers may be cached for good.
pub(super) async fn asset(Path(file): Path<String>, headers: HeaderMap) -> Response {
    let Some((content_type, plain, gzipped)) = bundle(&file) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let accepts_gzip = compress::is_accepted(&headers, Coding::Gzip);
    let mut response = if accepts_gzip {
        let mut response = gzipped.into_response();
        response
            .headers_mut()
            .insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
        response
    } else {
        plain.into_response()
    };
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=31536000, immutable"),
    );
    response
}

/// One embedded file: its type, its bytes, and its gzip form.
type Asset = (&'static str, &'static [u8], &'static [u8]);

#[cfg(graphiql_bundled)]
fn bundle(file: &str) -> Option<Asset> {
    macro_rules! embedded {
        ($name:literal) => {
            (
                include_bytes!(concat!(env!("GRAPHIQL_DIST"), "/", $name)).as_slice(),
                include_bytes!(concat!(env!("GRAPHIQL_DIST"), "/", $name, ".gz")).as_slice(),
            )
        };
    }
    let (content_type, (plain, gzipped)) = match file {
        "graphiql.js" => ("text/javascript; charset=utf-8", embedded!("graphiql.js")),
        "graphiql.css" => ("text/css; charset=utf-8", embedded!("graphiql.css")),
        _ => return None,
    };
    Some((content_type, plain, gzipped))
}

#[cfg(not(graphiql_bundled))]
fn bundle(_file: &str) -> Option<Asset> {
    None
}

/// The page of a build without the UI bundle: GraphiQL from unpkg, at exact versions, each
/// file checked by its Subresource Integrity hash (the same files `ui/` bundles, as npm
/// publishes them), so a changed or compromised CDN file is not run.
#[cfg_attr(graphiql_bundled, allow(dead_code))]
const CDN_PAGE_HEAD: &str = r#"<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>elements-gateway · GraphiQL</title>
  <link rel="stylesheet" href="https://unpkg.com/graphiql@3.8.3/graphiql.min.css" integrity="sha384-Mq3vbRBY71jfjQAt/DcjxUIYY33ksal4cgdRt9U/hNPvHBCaT2JfJ/PTRiPKf0aM" crossorigin="anonymous">
  <style>body { margin: 0; } #graphiql { height: 100vh; }</style>
</head>
<body>
  <!-- This gateway was built without its UI bundle (ui/): GraphiQL comes from a CDN. -->
  <div id="graphiql">Loading GraphiQL from unpkg.com…</div>
  <script src="https://unpkg.com/react@18.3.1/umd/react.production.min.js" integrity="sha384-DGyLxAyjq0f9SPpVevD6IgztCFlnMF6oW/XQGmfe+IsZ8TqEiDrcHkMLKI6fiB/Z" crossorigin="anonymous"></script>
  <script src="https://unpkg.com/react-dom@18.3.1/umd/react-dom.production.min.js" integrity="sha384-gTGxhz21lVGYNMcdJOyq01Edg0jhn/c22nsx0kyqP0TxaV5WVdsSH1fSDUf5YJj1" crossorigin="anonymous"></script>
  <script src="https://unpkg.com/graphiql@3.8.3/graphiql.min.js" integrity="sha384-HbRVEFG0JGJZeAHCJ9Xm2+tpknBQ7QZmNlO/DgZtkZ0aJSypT96YYGRNod99l9Ie" crossorigin="anonymous"></script>
  <script>"#;

/// The CDN page's one inline script; the CSP allows it by its hash.
#[cfg_attr(graphiql_bundled, allow(dead_code))]
const CDN_PAGE_SCRIPT: &str = r#"
    const fetcher = GraphiQL.createFetcher({ url: window.location.pathname });
    const defaultQuery = `# Put your caller token in the Headers tab below, then run this query.
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
  "#;

#[cfg_attr(graphiql_bundled, allow(dead_code))]
const CDN_PAGE_TAIL: &str = "</script>\n</body>\n</html>\n";

/// The CDN page. Compiled in every build, so that its test runs in the bundled builds too.
#[cfg_attr(graphiql_bundled, allow(dead_code))]
fn cdn_page_html() -> String {
    [CDN_PAGE_HEAD, CDN_PAGE_SCRIPT, CDN_PAGE_TAIL].concat()
}

/// The CDN page's policy: the bundled page's, with unpkg.com added for scripts and styles and
/// the inline script allowed by its SHA-256.
#[cfg_attr(graphiql_bundled, allow(dead_code))]
fn cdn_policy() -> &'static str {
    use base64::{Engine, engine::general_purpose::STANDARD};
    static POLICY: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
        let digest =
            aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, CDN_PAGE_SCRIPT.as_bytes());
        format!(
            "default-src 'self'; script-src 'self' https://unpkg.com 'sha256-{}'; \
             style-src 'self' 'unsafe-inline' https://unpkg.com; img-src 'self' data:; \
             font-src 'self' data:; connect-src 'self'; frame-ancestors 'none'",
            STANDARD.encode(digest.as_ref())
        )
    });
    &POLICY
}

#[cfg(test)]
mod tests {
    use super::*;

    fn script_sources(policy: &str) -> &str {
        policy
            .split(';')
            .find(|directive| directive.trim().starts_with("script-src"))
            .unwrap_or_default()
    }

    #[test]
    fn the_page_served_may_not_be_framed_and_loads_nothing_unpinned() {
        let response = page(false);
        let policy = response.headers()[header::CONTENT_SECURITY_POLICY]
            .to_str()
            .unwrap()
            .to_owned();
        assert!(policy.contains("frame-ancestors 'none'"), "{policy}");
        assert!(
            !script_sources(&policy).contains("unsafe-inline"),
            "{policy}"
        );
        for url in page_html().split("https://").skip(1) {
            let url = url.split('"').next().unwrap();
            assert!(
                !url.contains("@3/") && !url.contains("@18/"),
                "floating: {url}"
            );
        }
    }

    /// Whichever page this build serves, the CDN page is checked too.
    #[test]
    fn the_cdn_page_pins_every_file_and_allows_its_one_inline_script_by_hash() {
        let html = cdn_page_html();
        assert_eq!(html.matches("https://unpkg.com/").count(), 4);
        assert_eq!(html.matches("integrity=\"sha384-").count(), 4);
        for url in html.split("https://unpkg.com/").skip(1) {
            let package = url.split('/').next().unwrap();
            let version = package.rsplit('@').next().unwrap();
            assert_eq!(
                version.split('.').count(),
                3,
                "not an exact version: {package}"
            );
        }
        let policy = cdn_policy();
        assert!(policy.contains("frame-ancestors 'none'"), "{policy}");
        assert!(script_sources(policy).contains("'sha256-"), "{policy}");
        assert!(
            !script_sources(policy).contains("unsafe-inline"),
            "{policy}"
        );
    }
}
