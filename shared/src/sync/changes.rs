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

/// Below this many bytes of changes a device sends them as they are, without saving the whole
/// document to compare: a set or a session is a few hundred bytes.
pub const WHOLE_WORTH_BYTES: usize = 16 * 1024;

/// What a device offers of `doc` beyond `since` (the heads the server confirmed): the raw
/// changes ([`raw_changes_since`]), or the whole saved document when that is at most a quarter
/// of their size — a course's first month offline is 45 KB of changes and a 4 KB document.
/// The server loads a whole document in about half the time it parses and applies the same
/// operations as changes (its columns come sorted and compressed) and keeps it as the stored
/// snapshot without saving it again; a quarter keeps the document's older part small beside
/// the new. Either form carries everything beyond `since`, and the server takes both.
pub fn offer_changes(doc: &Automerge, since: &[ChangeHash]) -> OfferedChanges {
    let raw = raw_changes_since(doc, since);
    let weight = raw.len();
    if weight < WHOLE_WORTH_BYTES {
        return OfferedChanges { bytes: raw, weight };
    }
    let saved = doc.save();
    let bytes = if saved.len().saturating_mul(4) <= weight {
        saved
    } else {
        raw
    };
    OfferedChanges { bytes, weight }
}

/// What [`offer_changes`] offers: the bytes, and the size of the raw changes they carry —
/// what the offer weighs against a request's budget (`REQUEST_CHANGE_BYTES`): the server's
/// work and memory for it follow the operations, not how well they compress.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct OfferedChanges {
    pub bytes: Vec<u8>,
    pub weight: usize,
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
    changes_since_kept(doc, since, |_| None)
}

/// [`changes_since`], or, when `kept` has the raw bytes of every change the answer needs (a
/// server keeps those it took lately), those bytes one after the other: a bundle is rebuilt
/// from the whole op set, 1-3 ms in a burst for a session log that 30 tablets wrote to
/// at once, while the raw changes are already there. They are larger than the bundle (hashes
/// and actors in full) and `load_incremental` reads both.
pub fn changes_since_kept(
    doc: &Automerge,
    since: &[ChangeHash],
    kept: impl Fn(&ChangeHash) -> Option<std::sync::Arc<[u8]>>,
) -> Vec<u8> {
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
    let raw: Option<Vec<_>> = hashes.iter().map(&kept).collect();
    if let Some(raw) = raw {
        return raw.concat();
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

    /// A little sent as changes; much over a small past as the whole document; much over a
    /// large past as changes again. Whichever form, the other side reaches the same heads.
    #[test]
    fn a_device_offers_its_changes_or_its_whole_document_whichever_is_far_smaller() {
        let mut doc = Automerge::new();
        edit(&mut doc, "start");
        let base = doc.get_heads();
        let mut server = doc.fork();
        // Sets as a session log holds them: a list of strings, one change for a month (as
        // the device squashes it).
        let many = |doc: &mut Automerge, from: usize, n: usize| {
            let mut tx = doc.transaction();
            let sets = tx
                .put_object(
                    automerge::ROOT,
                    format!("sets{from}"),
                    automerge::ObjType::List,
                )
                .unwrap();
            for i in from..from + n {
                let set = format!(
                    "[{},null,2.5,{}]",
                    8 + i % 3,
                    1_700_000_000_000_i64 + i as i64 * 1_000
                );
                tx.insert(&sets, i - from, set).unwrap();
            }
            tx.commit();
        };
        let is_document = |bytes: &[u8]| {
            crate::sync::chunks::split(bytes).unwrap()[0].kind == crate::sync::chunks::DOCUMENT
        };
        // A set's worth: as it is.
        edit(&mut doc, "a");
        let small = offer_changes(&doc, &base);
        assert_eq!(small.bytes, raw_changes_since(&doc, &base));
        assert_eq!(small.weight, small.bytes.len());
        // A month's worth over a fresh document: whole, and far smaller.
        many(&mut doc, 0, 1_000);
        let offered = offer_changes(&doc, &base);
        assert!(is_document(&offered.bytes));
        // It weighs what it carries, not its bytes.
        assert_eq!(offered.weight, raw_changes_since(&doc, &base).len());
        assert!(offered.bytes.len() * 4 <= offered.weight);
        server.load_incremental(&offered.bytes).unwrap();
        assert_eq!(server.get_heads(), doc.get_heads());
        // A month's worth over a year: the past is not sent along.
        let mut year = doc.fork();
        for month in 1..5 {
            many(&mut year, month * 10_000, 1_000);
        }
        let past = year.get_heads();
        many(&mut year, 200_000, 1_000);
        let raw = raw_changes_since(&year, &past);
        assert!(raw.len() >= WHOLE_WORTH_BYTES);
        assert_eq!(offer_changes(&year, &past).bytes, raw);
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

    /// Kept raw changes answer only when they are all there; either way the other side reaches
    /// the same heads.
    #[test]
    fn kept_raw_changes_answer_when_all_are_kept_and_the_bundle_otherwise() {
        let mut doc = Automerge::new();
        edit(&mut doc, "a");
        let at_a = doc.get_heads();
        edit(&mut doc, "b");
        edit(&mut doc, "c");
        let kept: std::collections::HashMap<ChangeHash, std::sync::Arc<[u8]>> = doc
            .get_changes(&at_a)
            .iter()
            .map(|c| (c.hash(), std::sync::Arc::from(c.raw_bytes())))
            .collect();
        let from_kept = changes_since_kept(&doc, &at_a, |h| kept.get(h).cloned());
        assert_eq!(from_kept, raw_changes_since(&doc, &at_a));
        let one_missing = changes_since_kept(&doc, &at_a, |h| {
            kept.get(h).filter(|_| *h != doc.get_heads()[0]).cloned()
        });
        assert_eq!(one_missing, changes_since(&doc, &at_a));
        for bytes in [from_kept, one_missing] {
            let mut theirs = doc.fork_at(&at_a).unwrap();
            theirs.load_incremental(&bytes).unwrap();
            assert_eq!(theirs.get_heads(), doc.get_heads());
        }
        // Nothing new: nothing sent, whatever is kept.
        assert!(changes_since_kept(&doc, &doc.get_heads(), |h| kept.get(h).cloned()).is_empty());
    }
}
