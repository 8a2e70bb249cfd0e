//! What one side sends the other: the changes a document has beyond some heads, as raw
//! change chunks (a device's upload) or as one bundle (the server's answer).

use automerge::{Automerge, ChangeHash};

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
    doc.get_changes(&known(doc, since))
}

/// The hashes of `since` that `doc` holds.
fn known(doc: &Automerge, since: &[ChangeHash]) -> Vec<ChangeHash> {
    since
        .iter()
        .copied()
        .filter(|h| crate::docs::has_change(doc, h))
        .collect()
}

/// The changes of `doc` that are not in the history of `since`, encoded for the wire as one
/// Automerge *bundle* (columnar and compressed like a saved document, with dependencies inside
/// the bundle referenced by index instead of a 32-byte hash each), which `load_incremental`
/// reads like raw changes. Hashes in `since` that `doc` does not know are ignored. Empty when
/// nothing is new.
pub fn changes_since(doc: &Automerge, since: &[ChangeHash]) -> Vec<u8> {
    let known = known(doc, since);
    // Which changes, from the change graph alone: building them (`get_changes`) walks the
    // op set once more than the bundle does, a fifth of a busy server's CPU (issue #13).
    let hashes: Vec<ChangeHash> = doc
        .get_changes_meta(&known)
        .into_iter()
        .map(|c| c.hash)
        .collect();
    if hashes.is_empty() {
        return Vec::new();
    }
    match doc.bundle(hashes) {
        Ok(bundle) => bundle.bytes().to_vec(),
        // The bundle format is marked experimental upstream; raw changes always work.
        Err(_) => doc
            .get_changes(&known)
            .iter()
            .flat_map(|c| c.raw_bytes().to_vec())
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use automerge::transaction::Transactable;

    fn edit(doc: &mut Automerge, key: &str) {
        let mut tx = doc.transaction();
        tx.put(automerge::ROOT, key, 1_i64).unwrap();
        tx.commit();
    }

    #[test]
    fn what_is_sent_is_exactly_what_the_other_side_lacks() {
        let mut doc = Automerge::new();
        edit(&mut doc, "a");
        let at_a = doc.get_heads();
        let mut theirs = doc.fork();
        edit(&mut doc, "b");
        edit(&mut doc, "c");
        // Nothing new beyond the heads: nothing sent.
        assert!(changes_since(&doc, &doc.get_heads()).is_empty());
        // From `a`: the two changes after it, and they bring the other side to these heads.
        let bytes = changes_since(&doc, &at_a);
        assert!(!bytes.is_empty());
        theirs.load_incremental(&bytes).unwrap();
        assert_eq!(theirs.get_heads(), doc.get_heads());
        assert!(!raw_changes_since(&doc, &at_a).is_empty());
        // A hash the document never held is ignored: everything is sent.
        let unknown = ChangeHash([7; 32]);
        let mut fresh = Automerge::new();
        fresh
            .load_incremental(&changes_since(&doc, &[unknown]))
            .unwrap();
        assert_eq!(fresh.get_heads(), doc.get_heads());
        assert!(!crate::docs::has_change(&doc, &unknown));
        assert!(crate::docs::has_change(&doc, &at_a[0]));
    }
}
