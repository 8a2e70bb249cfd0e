//! Before a sync, each offered document's own changes that no other peer can have seen are
//! squashed into one change (`homerehab_shared::sync::squash`, which decides what may be
//! rewritten and checks the result), and the squashed document replaces the stored one —
//! snapshot, change rows and heads — in one write transaction, so a crash leaves either the
//! originals or the squashed document, never a mix. What was sent is recorded in
//! `documents.sent_heads` before the request leaves ([`Store::record_sending`]).

use super::columns::{blob_to_heads, document_id, heads_to_blob, id_blob};
use super::database::Store;
use super::documents::read_document;
use crate::error::{CoreError, Result};
use automerge::{Automerge, ChangeHash};
use homerehab_shared::ids::DocumentId;
use homerehab_shared::sync::{foldable, squash_unseen, Hash, Squash};
use rusqlite::{params, Connection, OptionalExtension};

impl Store {
    /// Squashes every document waiting to be sent (not another user's parked work). Returns
    /// how many were squashed.
    pub(super) fn squash_unseen_changes(&mut self) -> Result<u32> {
        let ids: Vec<Vec<u8>> = self
            .conn
            .prepare("SELECT doc_id FROM outbox WHERE doc_id NOT IN (SELECT doc_id FROM parked)")?
            .query_map([], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        let mut squashed = 0;
        for id in ids {
            let id = document_id(&id)?;
            // Decided on the cached copy first, from changes' metadata: most documents have
            // nothing to fold and need no write transaction nor a read from disk.
            let Some(seen) = seen_heads(&self.conn, id)? else {
                continue;
            };
            let actor = self.actor.clone();
            match self.load(id) {
                Ok(Some(doc)) if foldable(doc, &actor, &seen) >= 2 => {}
                Ok(_) | Err(CoreError::Damaged(_)) => continue,
                Err(e) => return Err(e),
            }
            if self.squash_document(id, |_| Ok(()))? {
                squashed += 1;
            }
        }
        Ok(squashed)
    }

    /// Squashes one document's unseen changes from what is on disk. `before_commit` runs after
    /// the writes, inside the transaction (tests fail there to show a crash changes nothing).
    pub(super) fn squash_document(
        &mut self,
        id: DocumentId,
        before_commit: impl FnOnce(&Connection) -> Result<()>,
    ) -> Result<bool> {
        self.in_write_tx(|s| {
            let Some(seen) = seen_heads(&s.conn, id)? else {
                return Ok(false);
            };
            // Strict: every row's changes must be in the document, or no row may be deleted.
            let Some((doc, Some(last_row))) = read_document(&s.conn, id, true)? else {
                return Ok(false);
            };
            let (mut squashed, folded) = match squash_unseen(&doc, &s.actor, &seen) {
                Squash::Nothing => return Ok(false),
                Squash::Declined(why) => {
                    tracing::warn!(doc = %id, why, "not squashed: the original changes are sent");
                    return Ok(false);
                }
                Squash::Squashed { doc, folded } => (*doc, folded),
            };
            replace_document(&s.conn, id, &squashed, last_row)?;
            pause_for_tests();
            before_commit(&s.conn)?;
            tracing::debug!(doc = %id, folded, "squashed unsent changes into one");
            squashed.set_actor(s.actor.clone());
            s.loaded.insert(id, squashed);
            Ok(true)
        })
    }

    /// Records that the changes leading to `heads` are being sent for each document, before the
    /// request leaves: they may reach the server even if its answer is lost.
    pub(super) fn record_sending(&mut self, sent: &[(DocumentId, Vec<Hash>)]) -> Result<()> {
        if sent.is_empty() {
            return Ok(());
        }
        self.in_write_tx(|s| {
            for (id, heads) in sent {
                let heads: Vec<ChangeHash> = heads.iter().map(|h| ChangeHash(*h)).collect();
                s.conn.execute(
                    "UPDATE documents SET sent_heads = ?2 WHERE doc_id = ?1",
                    params![id_blob(id), heads_to_blob(&heads)],
                )?;
            }
            Ok(())
        })
    }
}

/// The heads beyond which no peer can have seen this document's changes: those last sent and
/// those the server confirmed. `None` for a document not stored.
fn seen_heads(conn: &Connection, id: DocumentId) -> Result<Option<Vec<ChangeHash>>> {
    /// The heads last sent, and those the server confirmed, as stored.
    type SentAndConfirmed = (Option<Vec<u8>>, Option<Vec<u8>>);
    let row: Option<SentAndConfirmed> = conn
        .query_row(
            "SELECT sent_heads, server_heads FROM documents WHERE doc_id = ?1",
            [id_blob(&id)],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    Ok(row.map(|(sent, confirmed)| {
        [sent, confirmed]
            .into_iter()
            .flatten()
            .flat_map(|b| blob_to_heads(&b))
            .collect()
    }))
}

/// The squashed document in place of the stored one: its snapshot, no change rows up to
/// `last_row` (all read into it), its heads. Call inside a write transaction.
fn replace_document(
    conn: &Connection,
    id: DocumentId,
    doc: &Automerge,
    last_row: i64,
) -> Result<()> {
    conn.execute(
        "UPDATE documents SET snapshot = ?2, heads = ?3, incremental_bytes = 0 WHERE doc_id = ?1",
        params![id_blob(&id), doc.save(), heads_to_blob(&doc.get_heads())],
    )?;
    conn.execute(
        "DELETE FROM doc_changes WHERE doc_id = ?1 AND seq <= ?2",
        params![id_blob(&id), last_row],
    )?;
    Ok(())
}

/// The scenario test that kills a device mid-squash sets `HOMEREHAB_SQUASH_PAUSE_MS`: the
/// squash then says so on stderr and waits, written but not committed. Unset (always, outside
/// that test) it costs one lookup per squashed document.
fn pause_for_tests() {
    if let Some(ms) = std::env::var("HOMEREHAB_SQUASH_PAUSE_MS")
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
    {
        eprintln!("squash written, not committed");
        std::thread::sleep(std::time::Duration::from_millis(ms));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::CoreError;
    use crate::store::fixtures::{course_with_a_logged_set, signed_in};
    use homerehab_shared::ids::*;
    use homerehab_shared::model::*;
    use homerehab_shared::sync::{ClientRound, ClientStorage};

    /// Logs `n` more sets in the course's first session.
    fn log_sets(store: &mut Store, course: CourseId, n: usize) {
        let line = store.course_doc(course).unwrap().program.ordered()[0].id;
        let session = store.sessions(course).unwrap()[0].id;
        for i in 0..n {
            store
                .log_set(&LogSet {
                    course,
                    session,
                    line,
                    set: SetLog {
                        reps: Some(5 + i as u32 % 5),
                        duration_s: None,
                        load_kg: None,
                        at: 2 + i as i64,
                    },
                })
                .unwrap();
        }
    }

    fn rows(store: &Store, id: DocumentId) -> i64 {
        store
            .conn
            .query_row(
                "SELECT COUNT(*) FROM doc_changes WHERE doc_id = ?1",
                [id_blob(&id)],
                |r| r.get(0),
            )
            .unwrap()
    }

    fn own_changes_since(store: &mut Store, id: DocumentId, since: &[ChangeHash]) -> usize {
        let me = store.actor().clone();
        store
            .document(id)
            .unwrap()
            .get_changes_meta(since)
            .iter()
            .filter(|c| *c.actor == me)
            .count()
    }

    #[test]
    fn unsent_changes_are_stored_squashed_and_read_back_the_same() {
        let dir = tempfile::tempdir().unwrap();
        let team = TeamId::new();
        let mut store = signed_in(dir.path(), Role::Assistant, team);
        let course = course_with_a_logged_set(&mut store, team);
        log_sets(&mut store, course, 30);
        let log = DocumentId::session_log_of(course);
        let value = store.document(log).unwrap().hydrate(None);
        assert!(own_changes_since(&mut store, log, &[]) > 30);
        assert!(store.squash_unseen_changes().unwrap() >= 1);
        assert_eq!(rows(&store, log), 0, "the change rows are replaced");
        assert_eq!(own_changes_since(&mut store, log, &[]), 1);
        drop(store);
        let mut store = Store::open(dir.path()).unwrap();
        assert_eq!(store.document(log).unwrap().hydrate(None), value);
        assert_eq!(store.sessions(course).unwrap()[0].set_count, 31);
        assert_eq!(store.sync_status().unwrap().damaged, 0);
        // The document stays writable by this device after the squash.
        log_sets(&mut store, course, 1);
        drop(store);
        let mut store = Store::open(dir.path()).unwrap();
        assert_eq!(store.sessions(course).unwrap()[0].set_count, 32);
        assert_eq!(
            store
                .session_log(course)
                .unwrap()
                .sessions
                .values()
                .next()
                .unwrap()
                .set_count(),
            32
        );
    }

    #[test]
    fn a_crash_before_the_squash_commits_leaves_the_originals_intact_and_readable() {
        let dir = tempfile::tempdir().unwrap();
        let team = TeamId::new();
        let mut store = signed_in(dir.path(), Role::Assistant, team);
        let course = course_with_a_logged_set(&mut store, team);
        log_sets(&mut store, course, 20);
        let log = DocumentId::session_log_of(course);
        let (rows_before, heads_before) =
            (rows(&store, log), store.document(log).unwrap().get_heads());
        let failed = store.squash_document(log, |conn| {
            // Written, not committed: the squashed snapshot is in place inside the transaction.
            let left: i64 = conn.query_row(
                "SELECT COUNT(*) FROM doc_changes WHERE doc_id = ?1",
                [id_blob(&log)],
                |r| r.get(0),
            )?;
            assert_eq!(left, 0);
            Err(CoreError::Protocol("the process dies here".into()))
        });
        assert!(failed.is_err());
        drop(store);
        let mut store = Store::open(dir.path()).unwrap();
        assert_eq!(
            rows(&store, log),
            rows_before,
            "every original change row is there"
        );
        assert_eq!(store.document(log).unwrap().get_heads(), heads_before);
        assert_eq!(store.sessions(course).unwrap()[0].set_count, 21);
        assert_eq!(store.sync_status().unwrap().damaged, 0);
        // And the next attempt squashes.
        assert!(store.squash_document(log, |_| Ok(())).unwrap());
        assert_eq!(store.sessions(course).unwrap()[0].set_count, 21);
    }

    #[test]
    fn changes_in_a_request_are_never_squashed_even_without_an_answer() {
        let dir = tempfile::tempdir().unwrap();
        let team = TeamId::new();
        let mut store = signed_in(dir.path(), Role::Assistant, team);
        let course = course_with_a_logged_set(&mut store, team);
        log_sets(&mut store, course, 10);
        let log = DocumentId::session_log_of(course);
        // A round begins (squash, offers, recorded as sent); its answer never comes.
        let (round, request) = ClientRound::begin(&mut store).unwrap();
        assert!(round.report().squashed >= 1);
        let offered = request.offers.iter().find(|o| o.doc == log).unwrap();
        let sent: Vec<ChangeHash> = offered.heads.iter().map(|h| ChangeHash(*h)).collect();
        let sent_changes: Vec<ChangeHash> = store
            .document(log)
            .unwrap()
            .get_changes_meta(&[])
            .iter()
            .map(|c| c.hash)
            .collect();
        drop(store);
        // Recorded durably: a restart still knows.
        let mut store = Store::open(dir.path()).unwrap();
        log_sets(&mut store, course, 10);
        assert_eq!(store.squash_unseen().unwrap(), 1);
        let doc = store.document(log).unwrap();
        for h in &sent_changes {
            assert!(
                doc.get_change_meta_by_hash(h).is_some(),
                "a sent change was rewritten"
            );
        }
        assert_eq!(
            doc.get_changes_meta(&sent).len(),
            1,
            "the new sets, as one change"
        );
        assert_eq!(store.sessions(course).unwrap()[0].set_count, 21);
    }
}
