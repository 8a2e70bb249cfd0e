//! How values are kept in the store's columns: document ids and heads as blobs, enums as
//! their serde labels.

use crate::error::{CoreError, Result};
use automerge::ChangeHash;
use homerehab_shared::ids::DocumentId;

pub(super) fn heads_to_blob(heads: &[ChangeHash]) -> Vec<u8> {
    heads.iter().flat_map(|h| h.0).collect()
}

pub(super) fn blob_to_heads(b: &[u8]) -> Vec<ChangeHash> {
    b.chunks_exact(32)
        .map(|c| ChangeHash(c.try_into().expect("32-byte chunks")))
        .collect()
}

pub(super) fn id_blob(id: &DocumentId) -> &[u8] {
    id.as_bytes().as_slice()
}

/// A document id read back from its blob column.
pub(super) fn document_id(blob: &[u8]) -> Result<DocumentId> {
    Ok(DocumentId(
        uuid::Uuid::from_slice(blob).map_err(|e| CoreError::Document(e.to_string()))?,
    ))
}

/// A value read back from its [`label`] column; `None` for a label it does not have.
pub(super) fn from_label<T: serde::de::DeserializeOwned>(label: &str) -> Option<T> {
    serde_json::from_value(serde_json::Value::String(label.to_string())).ok()
}

pub(super) fn label<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_value(v)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}
