//! What one side sends the other: the changes a document has beyond some heads, as raw
//! change chunks (a device's upload) or as one bundle (the server's answer).

use automerge::{Automerge, ChangeHash, ReadDoc};

/// The changes of `doc` that are not in the history of `since`, as concatenated raw change
/// chunks: what a device uploads. The server takes only change and document chunks from a
/// device (`admission`): Automerge's bundle decoder trusts lengths inside the bundle, so a
/// few hundred crafted bytes can make it allocate gigabytes (docs/upstream/automerge-panic.md).
/// Empty when nothing is new.
pub fn raw_changes_since(doc: &Automerge, since: &[ChangeHash]) -> Vec<u8> {
    changes_after(doc, since)
        .iter()
        .flat_map(|c| c.raw_bytes().to_vec())
        .collect()
}

/// The changes of `doc` not in the history of `since`, ignoring hashes `doc` does not know.
fn changes_after(doc: &Automerge, since: &[ChangeHash]) -> Vec<automerge::Change> {
    let known: Vec<ChangeHash> = since
        .iter()
        .copied()
        .filter(|h| doc.get_change_by_hash(h).is_some())
        .collect();
    doc.get_changes(&known)
}

/// The changes of `doc` that are not in the history of `since`, encoded for the wire as one
/// Automerge *bundle* (columnar and compressed like a saved document, with dependencies inside
/// the bundle referenced by index instead of a 32-byte hash each), which `load_incremental`
/// reads like raw changes. Hashes in `since` that `doc` does not know are ignored. Empty when
/// nothing is new.
pub fn changes_since(doc: &Automerge, since: &[ChangeHash]) -> Vec<u8> {
    let changes = changes_after(doc, since);
    if changes.is_empty() {
        return Vec::new();
    }
    match doc.bundle(changes.iter().map(|c| c.hash())) {
        Ok(bundle) => bundle.bytes().to_vec(),
        // The bundle format is marked experimental upstream; raw changes always work.
        Err(_) => changes
            .iter()
            .flat_map(|c| c.raw_bytes().to_vec())
            .collect(),
    }
}
