//! The persisted-documents settings (`[persisted_documents]`).

use std::path::PathBuf;

use serde::Deserialize;

use crate::de;

/// Where the manifest is, and whether only its documents run.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PersistedSettings {
    /// `GATEWAY_PERSISTED_DOCUMENTS_FILE`: the manifest (default: none).
    #[serde(deserialize_with = "de::path")]
    pub file: Option<PathBuf>,
    /// `GATEWAY_PERSISTED_DOCUMENTS_ONLY`: only manifest documents run (default `false`).
    #[serde(deserialize_with = "de::flag")]
    pub only: bool,
}
