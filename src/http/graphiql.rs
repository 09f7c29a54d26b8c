//! The GraphiQL page served on `GET /graphql` to browsers (no token needed to load it; the
//! queries it sends still need one, entered in its Headers tab).
//!
//! GraphiQL and all its assets come from the gateway itself, under `/graphiql/`: the bundle
//! `ui/` builds is committed under `ui/dist` and embedded by `build.rs`, so the page works
//! where no CDN can be reached, and its Content-Security-Policy allows nothing from elsewhere.
//! The page opens with an example query and an `Authorization` header to fill in (in
//! `serve --demo` only, filled in with the demo's token, so the schema and the example work at
//! the first click), and may not be framed (`frame-ancestors 'none'`).

use axum::{
    extract::Path,
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};

use super::compress;
use crate::answer::Coding;

/// The page; in `serve --demo`, with the demo's caller token in the Headers tab.
pub(super) fn page(safelist: bool, demo_token: Option<&String>) -> Response {
    let mut html = page_html();
    if let Some(token) = demo_token {
        let headers = serde_json::json!({ "Authorization": format!("Bearer {token}") });
        let headers = serde_json::to_string_pretty(&headers).unwrap_or_default();
        html = html.replacen(
            "<div id=\"graphiql\">",
            &format!(
                "<div id=\"graphiql\" data-headers=\"{}\">",
                attribute(&headers)
            ),
            1,
        );
    }
    if safelist {
        html = html.replacen("<body>", &format!("<body>\n  {SAFELIST_NOTICE}"), 1);
    }
    let mut response = ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], html).into_response();
    response.headers_mut().insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(POLICY),
    );
    response
}

/// `text` escaped for an HTML attribute value in double quotes.
fn attribute(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        match c {
            '&' => escaped.push_str("&amp;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&#39;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            _ => escaped.push(c),
        }
    }
    escaped
}

/// What the page says in safelist mode, above GraphiQL.
const SAFELIST_NOTICE: &str = "<div role=\"note\" style=\"padding: 6px 12px; background: #fff3cd; \
font: 14px sans-serif\">Only persisted documents run on this gateway \
(GATEWAY_PERSISTED_DOCUMENTS_ONLY): a query typed here is refused unless its manifest holds \
it.</div>";

/// The page allows nothing from elsewhere.
const POLICY: &str = "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; \
     font-src 'self' data:; connect-src 'self'; frame-ancestors 'none'";

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

fn bundle(file: &str) -> Option<Asset> {
    macro_rules! embedded {
        ($name:literal) => {
            (
                include_bytes!(concat!(env!("GRAPHIQL_DIST"), "/", $name)).as_slice(),
                include_bytes!(concat!(env!("OUT_DIR"), "/", $name, ".gz")).as_slice(),
            )
        };
    }
    let (content_type, (plain, gzipped)) = match file {
        "graphiql.js" => ("text/javascript; charset=utf-8", embedded!("graphiql.js")),
        "graphiql.css" => ("text/css; charset=utf-8", embedded!("graphiql.css")),
        "THIRD-PARTY-LICENSES.txt" => (
            "text/plain; charset=utf-8",
            embedded!("THIRD-PARTY-LICENSES.txt"),
        ),
        _ => return None,
    };
    Some((content_type, plain, gzipped))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_may_not_be_framed_and_loads_nothing_from_elsewhere() {
        let response = page(false, None);
        let policy = response.headers()[header::CONTENT_SECURITY_POLICY]
            .to_str()
            .unwrap()
            .to_owned();
        assert!(policy.starts_with("default-src 'self';"), "{policy}");
        assert!(policy.contains("frame-ancestors 'none'"), "{policy}");
        assert!(
            !policy.contains("script-src"),
            "scripts fall to 'self': {policy}"
        );
        let html = page_html();
        assert!(!html.contains("https://"), "{html}");
        assert!(!html.contains("<script>"), "no inline script: {html}");
    }

    #[test]
    fn every_file_the_page_names_is_embedded_with_its_gzip_copy() {
        let html = page_html();
        let named: Vec<&str> = html
            .split('"')
            .filter_map(|part| part.strip_prefix("/graphiql/"))
            .map(|file| file.split('?').next().unwrap())
            .collect();
        assert_eq!(named, ["graphiql.css", "graphiql.js"]);
        for file in named.into_iter().chain(["THIRD-PARTY-LICENSES.txt"]) {
            let (_, plain, gzipped) = bundle(file).unwrap_or_else(|| panic!("{file}"));
            let mut unzipped = Vec::new();
            std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(gzipped), &mut unzipped)
                .unwrap();
            assert!(unzipped == plain, "{file}: the gzip copy is the same file");
        }
        assert!(bundle("../Cargo.toml").is_none());
    }

    #[test]
    fn an_attribute_value_cannot_close_its_quotes_or_open_a_tag() {
        assert_eq!(
            attribute(r#"{"a":"<b>'&"}"#),
            "{&quot;a&quot;:&quot;&lt;b&gt;&#39;&amp;&quot;}"
        );
    }
}
