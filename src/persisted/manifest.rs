//! The manifest of persisted documents (`GATEWAY_PERSISTED_DOCUMENTS_FILE`), read once at
//! start: Apollo's persisted-query list (`@apollo/persisted-query-lists`, `generate-persisted-
//! query-manifest`), or the plain `{ "<hash>": "<document>" }` map that GraphQL Code
//! Generator's client preset writes. Every hash is checked to be its document's SHA-256 here;
//! the application validates every document against the schema before it listens.

use std::{collections::HashMap, path::Path, sync::Arc};

use serde::Deserialize;

use super::sha256_hex;

/// The manifest's documents by their SHA-256 (lower-case hex).
#[derive(Debug, Default)]
pub(crate) struct Manifest {
    documents: HashMap<String, Arc<str>>,
}

/// Apollo's persisted-query manifest.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ApolloManifest {
    format: String,
    version: u32,
    operations: Vec<ApolloOperation>,
}

#[derive(Deserialize)]
struct ApolloOperation {
    id: String,
    body: String,
}

impl Manifest {
    /// Reads and checks the manifest at `path`; each error names the entry.
    pub(crate) fn load(path: &Path) -> Result<Self, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|error| format!("cannot read {}: {error}", path.display()))?;
        Self::parse(&text)
    }

    /// Like [`Manifest::load`], from the manifest's text.
    pub(crate) fn parse(text: &str) -> Result<Self, String> {
        let value: serde_json::Value =
            serde_json::from_str(text).map_err(|error| format!("is not JSON: {error}"))?;
        let entries: Vec<(String, String)> = if value.get("format").is_some() {
            let apollo: ApolloManifest = serde_json::from_value(value)
                .map_err(|error| format!("is not an Apollo persisted-query manifest: {error}"))?;
            if apollo.format != "apollo-persisted-query-manifest" || apollo.version != 1 {
                return Err(format!(
                    "has format `{}` version {}: only apollo-persisted-query-manifest version 1 is read",
                    apollo.format, apollo.version
                ));
            }
            apollo
                .operations
                .into_iter()
                .map(|op| (op.id, op.body))
                .collect()
        } else {
            let map: HashMap<String, String> = serde_json::from_value(value).map_err(|_| {
                "must be an Apollo persisted-query manifest or a JSON object of hash to document"
                    .to_owned()
            })?;
            map.into_iter().collect()
        };
        let mut documents = HashMap::with_capacity(entries.len());
        for (id, body) in entries {
            let hash = normalised_id(&id)
                .ok_or_else(|| format!("entry `{id}`: the id is not a SHA-256 (64 hex digits, optionally after `sha256:`)"))?;
            if sha256_hex(&body) != hash {
                return Err(format!(
                    "entry `{id}`: the id is not the SHA-256 of its document"
                ));
            }
            documents.insert(hash, Arc::from(body));
        }
        Ok(Self { documents })
    }

    /// Every document with its hash.
    pub(crate) fn documents(&self) -> impl Iterator<Item = (&str, &str)> {
        self.documents
            .iter()
            .map(|(hash, text)| (hash.as_str(), &**text))
    }

    /// The document with this hash (lower-case hex).
    pub(crate) fn get(&self, hash: &str) -> Option<&Arc<str>> {
        self.documents.get(hash)
    }

    /// How many documents it holds.
    pub(crate) fn len(&self) -> usize {
        self.documents.len()
    }

    /// Whether it holds none.
    pub(crate) fn is_empty(&self) -> bool {
        self.documents.is_empty()
    }
}

/// `sha256:<hex>` or the bare hex, as lower-case hex; `None` for anything else.
pub(crate) fn normalised_id(id: &str) -> Option<String> {
    let hex = id.strip_prefix("sha256:").unwrap_or(id);
    (hex.len() == 64 && hex.bytes().all(|byte| byte.is_ascii_hexdigit()))
        .then(|| hex.to_ascii_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOC: &str = "query Q { customers { totalCount } }";

    #[test]
    fn both_formats_are_read_and_ids_are_checked() {
        let hash = sha256_hex(DOC);
        let plain = serde_json::json!({ format!("sha256:{hash}"): DOC }).to_string();
        assert_eq!(
            Manifest::parse(&plain)
                .unwrap()
                .get(&hash)
                .unwrap()
                .as_ref(),
            DOC
        );
        let apollo = serde_json::json!({
            "format": "apollo-persisted-query-manifest",
            "version": 1,
            "operations": [{ "id": hash, "name": "Q", "type": "query", "body": DOC }],
        })
        .to_string();
        assert_eq!(Manifest::parse(&apollo).unwrap().len(), 1);

        let wrong = serde_json::json!({ "0".repeat(64): DOC }).to_string();
        let error = Manifest::parse(&wrong).unwrap_err();
        assert!(
            error.contains(&"0".repeat(64)) && error.contains("not the SHA-256"),
            "{error}"
        );
        let short = serde_json::json!({ "abc": DOC }).to_string();
        assert!(Manifest::parse(&short).unwrap_err().contains("entry `abc`"));
        assert!(Manifest::parse("[1]").is_err());
    }
}
