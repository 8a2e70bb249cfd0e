//! What every backend does with a stored document apart from its SQL: decode it from its
//! snapshot and incremental chunks, pack its heads into one column, check a commit's base, read
//! the media its library withdraws, and tell which actors are reserved (when to compact is
//! `homerehab_shared::sync::compaction`, shared with the device). Written once here so the
//! SQLite and PostgreSQL backends cannot drift apart.

use crate::error::{Error, Result};
use automerge::{ActorId, Automerge};
use homerehab_shared::ids::{DocumentId, MunicipalityId, TeamId};
use homerehab_shared::model::Millis;
use homerehab_shared::sync::Hash;

/// The device registry's select, the same text in both dialects: a device `d` with its user
/// `u`, the user's team `t` and the revoker `r`. Each backend's `device_at` reads its columns
/// in this order.
pub(super) const DEVICE_SELECT: &str = "SELECT d.id, d.user_id, u.username, u.display_name,
    u.team_id, t.municipality_id, d.first_seen, d.last_seen, d.app_version, d.revoked_at,
    d.revoked_by, r.display_name, d.revoke_reason, d.handed_over_at
    FROM devices d JOIN users u ON u.id = d.user_id
    JOIN teams t ON t.id = u.team_id
    LEFT JOIN users r ON r.id = d.revoked_by";

/// The snapshot a commit stores: the device's own saved document when it came whole
/// ([`super::DocumentCommit::whole`]), else the document saved here.
pub fn snapshot_of<'a>(c: &super::DocumentCommit<'a>) -> std::borrow::Cow<'a, [u8]> {
    if c.whole {
        std::borrow::Cow::Borrowed(c.new_changes)
    } else {
        std::borrow::Cow::Owned(c.doc.save())
    }
}

/// The heads of `doc` as one column: 32-byte hashes back to back.
pub fn heads_bytes(doc: &Automerge) -> Vec<u8> {
    doc.get_heads().iter().flat_map(|h| h.0).collect()
}

/// The heads column of document `id` read back.
pub fn heads_from_bytes(id: DocumentId, bytes: &[u8]) -> Result<Vec<Hash>> {
    if !bytes.len().is_multiple_of(32) {
        return Err(Error::CorruptDocument(
            id,
            "heads column is not 32-byte hashes".into(),
        ));
    }
    Ok(bytes
        .chunks_exact(32)
        .map(|c| c.try_into().expect("chunks of 32"))
        .collect())
}

/// Whether a document moved since a commit's `base` was read (the optimistic check of
/// `DocumentCommit::base`): `stored` is its heads column now, `None` when it is not stored. A
/// new document (empty base) must not exist; a stored one must still have exactly its base.
pub fn moved(base: &[Hash], stored: Option<&[u8]>) -> bool {
    match stored {
        None => !base.is_empty(),
        Some(stored) => base.is_empty() || stored != base.concat().as_slice(),
    }
}

/// A stored document as the one buffer `load_incremental` reads, for a device that lacks it:
/// the saved snapshot followed by every chunk of changes, nothing decoded.
pub fn saved_bytes(mut snapshot: Vec<u8>, chunks: Vec<Vec<u8>>) -> Vec<u8> {
    snapshot.reserve(chunks.iter().map(Vec::len).sum());
    for chunk in chunks {
        snapshot.extend_from_slice(&chunk);
    }
    snapshot
}

/// A counted sign-in attempt (`count` after counting, capped at `max + 1`, in a window that
/// began at `since`) allowed, or refused until the window ends.
pub fn sign_in_verdict(
    count: i64,
    since: Millis,
    window_ms: Millis,
    max: u32,
) -> std::result::Result<(), Millis> {
    if count > i64::from(max) {
        Err(since + window_ms)
    } else {
        Ok(())
    }
}

/// A stored document loaded: its snapshot, then its incremental chunks in order.
pub fn decode(id: DocumentId, snapshot: &[u8], chunks: &[Vec<u8>]) -> Result<Automerge> {
    let corrupt = |e: automerge::AutomergeError| Error::CorruptDocument(id, e.to_string());
    let mut doc = Automerge::load(snapshot).map_err(corrupt)?;
    for chunk in chunks {
        doc.load_incremental(chunk).map_err(corrupt)?;
    }
    Ok(doc)
}

/// The media a library document withdraws (`municipal::withdrawn_media`, the one rule).
pub fn withdrawn_media(library: DocumentId, doc: &Automerge) -> Result<Vec<String>> {
    homerehab_shared::municipal::withdrawn_media(doc)
        .map_err(|e| Error::CorruptDocument(library, e.to_string()))
}

/// The document `actor` would be the genesis actor of, if it has a document id's length.
pub fn actor_as_document(actor: &ActorId) -> Option<DocumentId> {
    uuid::Uuid::from_slice(actor.to_bytes())
        .ok()
        .map(DocumentId)
}

/// Whether `actor` is nobody's device, given the server's teams and municipalities: the
/// server's own, or the genesis actor of a team's roster or a municipality's library, which
/// exist (or will) under ids derived from them. A backend checks stored documents itself
/// ([`actor_as_document`]).
pub fn reserved_by_derivation(
    actor: &ActorId,
    teams: &[TeamId],
    municipalities: &[MunicipalityId],
) -> bool {
    use homerehab_shared::docs::is_reserved_actor;
    is_reserved_actor(actor, None)
        || teams
            .iter()
            .map(|t| DocumentId::roster_of(*t))
            .chain(municipalities.iter().map(|m| DocumentId::library_of(*m)))
            .any(|id| is_reserved_actor(actor, Some(id)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_document_moved_unless_it_is_exactly_at_its_base() {
        let (a, b) = ([1u8; 32], [2u8; 32]);
        assert!(!moved(&[], None), "new and still absent");
        assert!(moved(&[], Some(&a)), "new, but another sync stored it");
        assert!(moved(&[a], None), "stored, but gone");
        assert!(!moved(&[a, b], Some(&[a, b].concat())));
        assert!(moved(&[a], Some(&[a, b].concat())), "grown meanwhile");
    }

    #[test]
    fn a_snapshot_and_its_chunks_load_as_one_buffer() {
        use automerge::transaction::Transactable;
        let mut doc = Automerge::new();
        let mut tx = doc.transaction();
        tx.put(automerge::ROOT, "a", 1).unwrap();
        tx.commit();
        let snapshot = doc.save();
        let before = doc.get_heads();
        let mut tx = doc.transaction();
        tx.put(automerge::ROOT, "b", 2).unwrap();
        tx.commit();
        let chunk: Vec<u8> = doc
            .get_changes(&before)
            .iter()
            .flat_map(|c| c.raw_bytes().to_vec())
            .collect();
        let mut pulled = Automerge::new();
        pulled
            .load_incremental(&saved_bytes(snapshot, vec![chunk]))
            .unwrap();
        assert_eq!(pulled.get_heads(), doc.get_heads());
    }

    #[test]
    fn heads_round_trip_and_a_torn_column_is_corrupt() {
        let doc = Automerge::new();
        let id = DocumentId::new();
        assert!(heads_from_bytes(id, &heads_bytes(&doc)).unwrap().is_empty());
        assert!(matches!(
            heads_from_bytes(id, &[0; 31]),
            Err(Error::CorruptDocument(..))
        ));
    }
}
