//! Documents the municipality erased (issue #14 item 5: retention, or a citizen's erasure)
//! leave the device whole, and the file keeps no byte of them.
//!
//! - **Erased** (the server answered `Erased`): the document's row, its change rows, every
//!   projection row derived from it (`projection`), its refusal, its damaged change rows, its
//!   parking and outbox entry go in one write transaction. Unsent changes to it are dropped:
//!   the erasure is the municipality's lawful decision, and the server's audit log records it.
//! - **Replaced** (a new generation, rewritten on the server without its history): the snapshot
//!   becomes the new generation with the device's unsent work re-applied as one change
//!   (`shared::sync::rebase`); the old generation's change rows and damaged rows go, and the
//!   projection is rebuilt from the new one (so an erased citizen's rows go too).
//!
//! **No byte left.** The connection runs with `PRAGMA secure_delete = ON` (`schema::prepare`):
//! SQLite zeroes deleted cells and freed pages (inside SQLCipher's encryption, so the decrypted
//! page is zeros). Afterwards [`Store::scrub_files`] checkpoints the WAL, rebuilds the file
//! with `VACUUM` (pages freed before secure deletion existed — a store from an older version —
//! and old page images are not carried over) and truncates the WAL, which otherwise keeps old
//! page images until they are overwritten.

use super::clock::now_ms;
use super::columns::{blob_to_heads, heads_to_blob, id_blob};
use super::database::Store;
use super::documents::read_document;
use super::handover::unproject;
use super::projection::{project, Projection};
use crate::error::{CoreError, Result};
use automerge::{Automerge, ChangeHash};
use homerehab_shared::docs::{self, DocumentKind, Header};
use homerehab_shared::ids::DocumentId;
use homerehab_shared::sync::rebase_unsent;
use rusqlite::{params, Connection, OptionalExtension};

/// The tables keyed by a document id that hold something of the document.
const DOCUMENT_TABLES: [&str; 6] = [
    "doc_changes",
    "damaged_changes",
    "refusals",
    "parked",
    "outbox",
    "documents",
];

/// The `meta` key that says an erasure's scrub of the files is owed: set in the erasure's
/// write transaction, deleted once the WAL held no image of the deleted pages.
const SCRUB_PENDING: &str = "scrub_pending";

/// What replacing a document with a new generation did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Replacement {
    /// The device's unsent changes were re-applied as one change, to be sent at the next sync.
    pub rebased: bool,
    /// Edits left out: they touched what the new generation no longer holds.
    pub dropped: usize,
}

impl Store {
    /// Deletes documents the server says were erased, with every row derived from them, in
    /// one write transaction, then scrubs the files. Returns how many courses were erased.
    pub fn erase_documents(&mut self, ids: &[DocumentId]) -> Result<u32> {
        let courses = self.delete_erased(ids)?;
        self.scrub_files()?;
        Ok(courses)
    }

    /// The rows of [`Self::erase_documents`], with the scrub it owes said on disk in the same
    /// transaction ([`SCRUB_PENDING`]): killed before the scrub, the next open does it.
    fn delete_erased(&mut self, ids: &[DocumentId]) -> Result<u32> {
        self.in_write_tx(|s| {
            let mut courses = 0;
            for id in ids {
                let Some(header) = s.header_of(*id)? else {
                    continue;
                };
                delete_document(&s.conn, &header)?;
                s.loaded.remove(id);
                if header.kind == DocumentKind::Course {
                    courses += 1;
                }
            }
            if courses > 0 {
                s.count_erased_courses(courses)?;
            }
            s.set_meta(SCRUB_PENDING, &[1])?;
            Ok(courses)
        })
    }

    /// Replaces a document with its new `generation` (`saved`: the generation saved whole,
    /// whose heads the server holds), re-applying the device's unsent changes — those beyond
    /// the heads the server confirmed and the changes it `absorbed` — as one change. One write
    /// transaction; then the files are scrubbed of the old generation.
    pub fn replace_generation(
        &mut self,
        id: DocumentId,
        generation: u32,
        saved: &[u8],
        absorbed: &[ChangeHash],
    ) -> Result<Replacement> {
        let new = super::sync_state::received(|| Automerge::load(saved))?;
        let out = self.in_write_tx(|s| {
            let header = s
                .header_of(id)?
                .ok_or_else(|| CoreError::NotFound(id.to_string()))?;
            if docs::read_header(&new, id)? != header {
                return Err(CoreError::Protocol(
                    "a new generation's header does not match the document".into(),
                ));
            }
            // A late answer (two syncs at once, or one begun before the copy was replaced):
            // replacing again would put an older snapshot back and drop edits made since.
            let held = s.generation(id)?.unwrap_or(0);
            if generation <= held {
                tracing::info!(doc = %id, held, generation, "not replaced: not newer than the copy");
                return Ok(None);
            }
            let confirmed: Vec<ChangeHash> = s
                .conn
                .query_row(
                    "SELECT server_heads FROM documents WHERE doc_id = ?1",
                    [id_blob(&id)],
                    |r| r.get::<_, Option<Vec<u8>>>(0),
                )?
                .map(|b| blob_to_heads(&b))
                .unwrap_or_default();
            // From disk, not the cache: another writer's unsent rows count too.
            let old = match read_document(&s.conn, id, false)? {
                Some((doc, _)) => doc,
                None => return Err(CoreError::NotFound(id.to_string())),
            };
            let rebased = rebase_unsent(&old, &confirmed, absorbed, &new, &s.actor);
            let unsent = rebased.has_new_change(&new);
            let mut doc = rebased.doc;
            let server_heads = new.get_heads();
            for table in ["doc_changes", "damaged_changes", "refusals"] {
                s.conn.execute(
                    &format!("DELETE FROM {table} WHERE doc_id = ?1"),
                    [id_blob(&id)],
                )?;
            }
            // Nothing of the new generation was sent but what the server holds: only the
            // re-applied change may be squashed, never across the replace.
            s.conn.execute(
                "UPDATE documents SET snapshot = ?2, heads = ?3, server_heads = ?4,
                    sent_heads = ?4, incremental_bytes = 0, generation = ?5
                 WHERE doc_id = ?1",
                params![
                    id_blob(&id),
                    doc.save(),
                    heads_to_blob(&doc.get_heads()),
                    heads_to_blob(&server_heads),
                    generation
                ],
            )?;
            if unsent {
                s.conn.execute(
                    "INSERT OR IGNORE INTO outbox (doc_id, since) VALUES (?1, ?2)",
                    params![id_blob(&id), now_ms()],
                )?;
            } else {
                s.conn
                    .execute("DELETE FROM outbox WHERE doc_id = ?1", [id_blob(&id)])?;
            }
            if !s.is_parked(id)? {
                unproject(&s.conn, &header)?;
                project(&s.conn, &header, &doc, &Projection::Whole)?;
            }
            s.set_meta(SCRUB_PENDING, &[1])?;
            doc.set_actor(s.actor.clone());
            s.loaded.insert(id, doc);
            Ok(Some(Replacement {
                rebased: unsent,
                dropped: rebased.dropped,
            }))
        })?;
        let Some(out) = out else {
            return Ok(Replacement::default());
        };
        if out.dropped > 0 {
            tracing::info!(doc = %id, dropped = out.dropped, "unsent edits to erased data dropped");
        }
        self.scrub_files()?;
        Ok(out)
    }

    /// The generation of a stored document (0 until the server first rewrites it).
    pub fn generation(&self, id: DocumentId) -> Result<Option<u32>> {
        Ok(self
            .conn
            .query_row(
                "SELECT generation FROM documents WHERE doc_id = ?1",
                [id_blob(&id)],
                |r| r.get(0),
            )
            .optional()?)
    }

    /// Leaves no page image of deleted data in the files: the WAL checkpointed into the
    /// database, the database rebuilt without free pages, the WAL truncated to nothing.
    pub fn scrub_files(&mut self) -> Result<()> {
        self.readable()?;
        let checkpoint = |conn: &Connection| -> Result<bool> {
            let busy: i64 = conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| r.get(0))?;
            if busy != 0 {
                // Another connection reads: the pages are zeroed (secure_delete) but old images
                // stay in the WAL until the next scrub.
                tracing::warn!("the WAL could not be truncated after an erasure; retried later");
            }
            Ok(busy == 0)
        };
        let truncated = checkpoint(&self.conn)?;
        self.conn.execute_batch("VACUUM")?;
        if truncated {
            // No image of the deleted pages is left in the WAL: the scrub is no longer owed
            // (said before the last checkpoint, so that one truncates this write too).
            self.delete_meta(SCRUB_PENDING)?;
        }
        checkpoint(&self.conn)?;
        // VACUUM is a write of this connection: the cache is still what is on disk.
        self.data_version = self.current_data_version()?;
        Ok(())
    }

    /// Scrubs the files if an erasure's scrub was owed (the app was killed between the
    /// erasure's commit and its scrub).
    pub(super) fn scrub_if_owed(&mut self) -> Result<()> {
        if self.meta(SCRUB_PENDING)?.is_some() {
            tracing::info!("an erasure's scrub was owed: scrubbing the files");
            self.scrub_files()?;
        }
        Ok(())
    }

    /// Adds to the count of erased courses the status line tells of.
    fn count_erased_courses(&mut self, n: u32) -> Result<()> {
        // `sync_status` has already dropped a count older than the notice's week.
        let mut s = self.sync_status()?;
        s.erased_courses += n;
        s.erased_at = Some(now_ms());
        self.set_meta(
            "sync_status",
            &serde_json::to_vec(&s).expect("serializable"),
        )
    }
}

/// Deletes a document and every row that holds something of it. Call inside a write
/// transaction.
pub(super) fn delete_document(conn: &Connection, header: &Header) -> Result<()> {
    unproject(conn, header)?;
    for table in DOCUMENT_TABLES {
        conn.execute(
            &format!("DELETE FROM {table} WHERE doc_id = ?1"),
            [id_blob(&header.id)],
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::fixtures::{course_with_a_logged_set, signed_in};
    use homerehab_shared::ids::*;
    use homerehab_shared::model::*;

    fn count(store: &Store, sql: &str, id: &str) -> i64 {
        store.conn.query_row(sql, [id], |r| r.get(0)).unwrap()
    }

    fn files_of(dir: &std::path::Path) -> Vec<u8> {
        let mut all = Vec::new();
        for suffix in ["", "-wal"] {
            if let Ok(b) = std::fs::read(dir.join(format!("homerehab.sqlite3{suffix}"))) {
                all.extend(b);
            }
        }
        all
    }

    fn contains(haystack: &[u8], needle: &str) -> bool {
        haystack
            .windows(needle.len())
            .any(|w| w == needle.as_bytes())
    }

    /// A course with a logged set whose session closed with `note`.
    fn course_with_a_note(store: &mut Store, team: TeamId, note: &str) -> CourseId {
        let course = course_with_a_logged_set(store, team);
        let session = store.sessions(course).unwrap()[0].id;
        store
            .finish_session(&SessionClose {
                course,
                session,
                general_condition: Some(3),
                note: Some(note.into()),
            })
            .unwrap();
        course
    }

    /// Killed between an erasure's commit and its scrub (its files copied at that moment, as
    /// a crash leaves them): the next open scrubs, so no page image of the erased course is
    /// left in the WAL.
    #[test]
    fn an_erasure_killed_before_its_scrub_is_scrubbed_at_the_next_open() {
        let dir = tempfile::tempdir().unwrap();
        let team = TeamId::new();
        let mut store = signed_in(dir.path(), Role::Therapist, team);
        let note = "Hemmelig note om hoften";
        let course = course_with_a_note(&mut store, team, note);
        let log = DocumentId::session_log_of(course);
        store
            .delete_erased(&[DocumentId::course_of(course), log])
            .unwrap();
        let crashed = tempfile::tempdir().unwrap();
        for suffix in ["", "-wal"] {
            let name = format!("homerehab.sqlite3{suffix}");
            std::fs::copy(dir.path().join(&name), crashed.path().join(&name)).unwrap();
        }
        assert!(
            contains(&files_of(crashed.path()), note),
            "the WAL still holds the note when the scrub has not run"
        );
        let reopened = Store::open(crashed.path()).unwrap();
        assert!(!contains(&files_of(crashed.path()), note));
        assert_eq!(reopened.meta(SCRUB_PENDING).unwrap(), None);
        drop(store);
    }

    #[test]
    fn an_erased_course_leaves_no_row_and_no_byte_in_the_files() {
        let dir = tempfile::tempdir().unwrap();
        let team = TeamId::new();
        let mut store = signed_in(dir.path(), Role::Therapist, team);
        let note = "Hemmelig note om knæet";
        let course = course_with_a_note(&mut store, team, note);
        let kept = course_with_a_logged_set(&mut store, team);
        assert!(
            contains(&files_of(dir.path()), note),
            "the note is in the files to begin with"
        );
        // Unsent changes and a refusal: they go too.
        let log = DocumentId::session_log_of(course);
        store
            .conn
            .execute(
                "INSERT INTO refusals (doc_id, kind, reason, heads, at) VALUES (?1, 'rejected', 'x', x'', 0)",
                [id_blob(&log)],
            )
            .unwrap();
        let erased = store
            .erase_documents(&[DocumentId::course_of(course), log])
            .unwrap();
        assert_eq!(erased, 1);
        let cid = course.to_string();
        for (table, sql) in [
            ("courses", "SELECT COUNT(*) FROM courses WHERE id = ?1"),
            (
                "program_lines",
                "SELECT COUNT(*) FROM program_lines WHERE course_id = ?1",
            ),
            (
                "sessions",
                "SELECT COUNT(*) FROM sessions WHERE course_id = ?1",
            ),
        ] {
            assert_eq!(count(&store, sql, &cid), 0, "{table}");
        }
        for table in DOCUMENT_TABLES {
            let n: i64 = store
                .conn
                .query_row(
                    &format!("SELECT COUNT(*) FROM {table} WHERE doc_id IN (?1, ?2)"),
                    params![id_blob(&DocumentId::course_of(course)), id_blob(&log)],
                    |r| r.get(0),
                )
                .unwrap();
            assert_eq!(n, 0, "{table}");
        }
        assert_eq!(store.sync_status().unwrap().erased_courses, 1);
        // The notice goes after a week.
        let mut status = store.sync_status().unwrap();
        status.erased_at = Some(now_ms() - super::super::sync_state::ERASURE_NOTICE_MS - 1);
        store
            .set_meta("sync_status", &serde_json::to_vec(&status).unwrap())
            .unwrap();
        assert_eq!(store.sync_status().unwrap().erased_courses, 0);
        assert_eq!(
            store.sync_status().unwrap().waiting,
            2,
            "only the other course and its log wait"
        );
        // The other course is whole.
        assert_eq!(store.sessions(kept).unwrap()[0].set_count, 1);
        // While the app runs (its WAL in place), and after it closed.
        let check = || {
            let files = files_of(dir.path());
            assert!(!contains(&files, note), "the note survived in the files");
            assert!(
                !contains(&files, &cid),
                "the course id survived in the files"
            );
        };
        check();
        drop(store);
        check();
        let mut store = Store::open(dir.path()).unwrap();
        assert!(store.course_doc(course).is_err());
        assert_eq!(store.sessions(kept).unwrap()[0].set_count, 1);
    }

    #[test]
    fn a_replaced_roster_keeps_unsent_work_and_drops_the_erased_citizen() {
        let dir = tempfile::tempdir().unwrap();
        let team = TeamId::new();
        let mut store = signed_in(dir.path(), Role::Therapist, team);
        let citizen = |name: &str| Citizen {
            id: CitizenId::new(),
            name: name.into(),
            local_ref: "S-1".into(),
            address: None,
            assigned: Default::default(),
            active: true,
            birth_year: None,
            sex: None,
        };
        let (erased, stays, added) = (
            citizen("Ada Slettesen"),
            citizen("Bo Bliversen"),
            citizen("Cy Nyborg"),
        );
        store.put_citizen(&erased).unwrap();
        store.put_citizen(&stays).unwrap();
        let roster = DocumentId::roster_of(team);
        // The server confirmed what is there so far.
        let confirmed = store.document(roster).unwrap().get_heads();
        store
            .conn
            .execute(
                "UPDATE documents SET server_heads = ?2, sent_heads = ?2 WHERE doc_id = ?1",
                params![id_blob(&roster), heads_to_blob(&confirmed)],
            )
            .unwrap();
        // Offline: a new citizen, and an edit to the one being erased.
        store.put_citizen(&added).unwrap();
        let mut renamed = erased.clone();
        renamed.name = "Ada Omdøbt".into();
        store.put_citizen(&renamed).unwrap();
        // The server's new generation: the roster without the erased citizen.
        let old = store.document(roster).unwrap().fork_at(&confirmed).unwrap();
        let value = homerehab_shared::docs::RosterDoc::read(&old).unwrap();
        let mut new = homerehab_shared::docs::genesis(&Header::roster(team))
            .with_actor(homerehab_shared::docs::server_actor());
        for c in value.citizens.values().filter(|c| c.id != erased.id) {
            homerehab_shared::docs::put_citizen(&mut new, c, 5).unwrap();
        }
        let out = store
            .replace_generation(roster, 1, &new.save(), &[])
            .unwrap();
        assert!(out.rebased);
        assert!(out.dropped >= 1);
        assert_eq!(store.generation(roster).unwrap(), Some(1));
        let names: Vec<String> = store
            .conn
            .prepare("SELECT name FROM citizens ORDER BY name")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        assert_eq!(names, ["Bo Bliversen", "Cy Nyborg"]);
        assert_eq!(
            store.sync_status().unwrap().waiting,
            1,
            "the new citizen waits to be sent"
        );
        // Later edits squash with the rebased change, never across the replace: the new
        // generation's change stays, the value is kept.
        store.put_citizen(&citizen("Di Senere")).unwrap();
        // The same generation again (a second sync's late answer) changes nothing: the edit
        // made since stays.
        let again = store
            .replace_generation(roster, 1, &new.save(), &[])
            .unwrap();
        assert!(!again.rebased && again.dropped == 0);
        assert_eq!(store.roster_citizens(team).unwrap().len(), 3);
        store.put_citizen(&citizen("Ej Sidst")).unwrap();
        let value = store.document(roster).unwrap().hydrate(None);
        assert_eq!(store.squash_unseen_changes().unwrap(), 1);
        let doc = store.document(roster).unwrap();
        assert_eq!(doc.hydrate(None), value);
        for h in new.get_heads() {
            assert!(
                doc.get_change_meta_by_hash(&h).is_some(),
                "the new generation was rewritten"
            );
        }
        let mine = doc.get_changes_meta(&new.get_heads());
        assert_eq!(mine.len(), 1, "one change on top of the new generation");
        // While the app runs (its WAL in place), and after it closed.
        let check = || {
            let files = files_of(dir.path());
            for secret in ["Ada Slettesen", "Ada Omdøbt"] {
                assert!(!contains(&files, secret), "{secret} survived in the files");
            }
        };
        check();
        drop(store);
        check();
        let mut store = Store::open(dir.path()).unwrap();
        let citizens =
            homerehab_shared::docs::read_citizens(store.document(roster).unwrap()).unwrap();
        assert_eq!(citizens.len(), 4, "the two kept and the two added since");
        // A newer generation, then the older one's late answer: the newer copy stays.
        let mut newer = new
            .fork()
            .with_actor(homerehab_shared::docs::server_actor());
        let later = citizen("Fi Nyere");
        homerehab_shared::docs::put_citizen(&mut newer, &later, 6).unwrap();
        store
            .replace_generation(roster, 2, &newer.save(), &[])
            .unwrap();
        store
            .replace_generation(roster, 1, &new.save(), &[])
            .unwrap();
        assert_eq!(store.generation(roster).unwrap(), Some(2));
        assert!(store.roster_citizen(team, later.id).unwrap().is_some());
    }
}
