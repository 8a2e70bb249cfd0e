//! When a stored document is compacted: one policy for the device's store and every server
//! backend. A document is stored as a snapshot plus incremental chunks (the changes of each
//! commit as they came); compacting saves the whole document as the new snapshot and drops the
//! chunks.

/// Chunks below this total are never compacted: for small documents, `save()` on every other
/// commit would cost more CPU than the chunks cost disk.
pub const MIN_BYTES: i64 = 32 * 1024;

/// Whether a document with `incremental` bytes of chunks beside a `snapshot` of that many bytes
/// is compacted now: once the chunks outweigh the snapshot and `floor` (normally
/// [`MIN_BYTES`]; 0 compacts small documents too, for tests). Loading costs the snapshot
/// plus every chunk, so this keeps a load within about twice the document's saved size, and
/// the saves it costs shrink geometrically as the document grows.
pub fn is_due(incremental: i64, snapshot: i64, floor: i64) -> bool {
    incremental > snapshot.max(floor)
}

/// Whether a commit stores a new snapshot (and drops the chunks): when it is due
/// ([`is_due`]), or when the new changes came as one saved document that loads alone to the
/// committed document (`whole`: a device sent it so, see `sync::offer_changes`). Then the
/// bytes at hand are the snapshot: the server neither saves nor keeps a chunk that repeats
/// what the snapshot holds.
pub fn snapshot_now(whole: bool, incremental: i64, snapshot: i64, floor: i64) -> bool {
    whole || is_due(incremental, snapshot, floor)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_documents_wait_for_the_floor_and_large_ones_for_their_snapshot() {
        assert!(!is_due(MIN_BYTES, 100, MIN_BYTES));
        assert!(is_due(MIN_BYTES + 1, 100, MIN_BYTES));
        assert!(!is_due(200_000, 200_000, MIN_BYTES));
        assert!(is_due(200_001, 200_000, MIN_BYTES));
        assert!(is_due(101, 100, 0));
    }

    #[test]
    fn a_whole_document_is_the_snapshot_whatever_the_sizes() {
        assert!(snapshot_now(true, 10, 1_000_000, MIN_BYTES));
        assert!(!snapshot_now(false, 10, 1_000_000, MIN_BYTES));
        assert!(snapshot_now(false, MIN_BYTES + 1, 100, MIN_BYTES));
    }
}
