//! A document on disk: its snapshot and the change rows after it, read back (setting aside
//! rows that cannot be applied) and compacted once the rows outgrow the snapshot.

use super::clock::now_ms;
use super::columns::{heads_to_blob, id_blob};
use crate::error::{CoreError, Result};
use automerge::{Automerge, ChangeHash, ReadDoc};
use homerehab_shared::docs::Header;
use homerehab_shared::ids::DocumentId;
use homerehab_shared::sync::compaction;
use rusqlite::{params, Connection, OptionalExtension};

pub(super) fn insert_document(
    tx: &Connection,
    header: &Header,
    doc: &Automerge,
    server_heads: Option<&[ChangeHash]>,
) -> Result<()> {
    tx.execute(
        "INSERT INTO documents (doc_id, kind, team_id, course_id, heads, server_heads, snapshot, incremental_bytes)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 0)",
        params![
            id_blob(&header.id),
            header.kind.as_str(),
            header.team_id.as_bytes().as_slice(),
            header.course_id.map(|c| c.as_bytes().to_vec()),
            heads_to_blob(&doc.get_heads()),
            server_heads.map(heads_to_blob),
            doc.save(),
        ],
    )?;
    Ok(())
}

/// Appends raw changes to a document's log, compacting when the log outgrows the snapshot.
/// Returns the whole document when it compacted (the caller's copy may lack rows of another
/// writer). Call inside a write transaction.
pub(super) fn append_changes(
    tx: &Connection,
    header: &Header,
    doc: &Automerge,
    changes: &[u8],
) -> Result<Option<Automerge>> {
    let id = id_blob(&header.id);
    tx.execute(
        "INSERT INTO doc_changes (doc_id, bytes) VALUES (?1, ?2)",
        params![id, changes],
    )?;
    let (incremental, snapshot): (i64, i64) = tx.query_row(
        "UPDATE documents SET heads = ?2, incremental_bytes = incremental_bytes + ?3 WHERE doc_id = ?1
         RETURNING incremental_bytes, length(snapshot)",
        params![id, heads_to_blob(&doc.get_heads()), changes.len() as i64],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    // Compact once the change log outgrows the snapshot (automerge-repo's rule), not for tiny
    // documents: one policy with the server's backends.
    if !compaction::is_due(incremental, snapshot, compaction::MIN_BYTES) {
        return Ok(None);
    }
    // Compact what is on disk, not this copy: a row another writer added that this copy never
    // loaded must end up in the snapshot, never just deleted.
    let Some((mut whole, last_row)) = read_document(tx, header.id, true)? else {
        return Ok(None);
    };
    whole.merge(&mut doc.clone())?;
    let Some(last_row) = last_row.filter(|_| whole.get_missing_deps(&[]).is_empty()) else {
        // Some stored change waits for one that is not here (kept aside as damaged): keep
        // every row rather than save a snapshot without it.
        tracing::warn!(doc = %header.id, "not compacting: a stored change lacks its dependency");
        return Ok(None);
    };
    tx.execute(
        "UPDATE documents SET snapshot = ?2, heads = ?3, incremental_bytes = 0 WHERE doc_id = ?1",
        params![id, whole.save(), heads_to_blob(&whole.get_heads())],
    )?;
    tx.execute(
        "DELETE FROM doc_changes WHERE doc_id = ?1 AND seq <= ?2",
        params![id, last_row],
    )?;
    Ok(Some(whole))
}

/// The changes in one stored row (raw changes one after another), or why they cannot be read.
fn changes_in_row(bytes: &[u8]) -> std::result::Result<Vec<automerge::Change>, String> {
    homerehab_shared::sync::chunks::split(bytes)
        .map_err(|e| e.to_string())?
        .into_iter()
        .map(|c| automerge::Change::try_from(c.bytes).map_err(|e| e.to_string()))
        .collect()
}

/// Reads a document from disk: its snapshot and every change row. A row that cannot be
/// applied (two different changes with one actor and sequence number, corrupt bytes) is moved
/// byte for byte into `damaged_changes` with the reason, and the rest loads. `strict` also
/// checks that every change of every row is in the document (before compaction deletes rows).
/// Returns the document and the last change row read, or `None` as that row when some row's
/// change is not in the document (it waits for a change that is not there): then nothing may
/// be deleted.
pub(super) fn read_document(
    conn: &Connection,
    id: DocumentId,
    strict: bool,
) -> Result<Option<(Automerge, Option<i64>)>> {
    // Snapshot and rows from one read of the file (a savepoint is a transaction when none is
    // open): another process's compaction must not fall between the two queries.
    conn.execute_batch("SAVEPOINT read_document")?;
    let read = read_document_rows(conn, id, strict);
    match &read {
        Ok(_) => conn.execute_batch("RELEASE read_document")?,
        Err(_) => {
            let _ = conn.execute_batch("ROLLBACK TO read_document; RELEASE read_document");
        }
    }
    read
}

fn read_document_rows(
    conn: &Connection,
    id: DocumentId,
    strict: bool,
) -> Result<Option<(Automerge, Option<i64>)>> {
    let Some(snapshot) = conn
        .query_row(
            "SELECT snapshot FROM documents WHERE doc_id = ?1",
            [id_blob(&id)],
            |r| r.get::<_, Vec<u8>>(0),
        )
        .optional()?
    else {
        return Ok(None);
    };
    let rows: Vec<(i64, Vec<u8>)> = conn
        .prepare_cached("SELECT seq, bytes FROM doc_changes WHERE doc_id = ?1 ORDER BY seq")?
        .query_map([id_blob(&id)], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<rusqlite::Result<_>>()?;
    let mut damaged: Vec<(i64, String)> = Vec::new();
    let mut complete: bool;
    // A failed row may have changed the copy half-way: start again without it.
    let doc = 'attempt: loop {
        complete = true;
        let mut doc = Automerge::load(&snapshot)
            .map_err(|e| CoreError::Damaged(format!("the snapshot of document {id}: {e}")))?;
        for (seq, bytes) in &rows {
            if damaged.iter().any(|(s, _)| s == seq) {
                continue;
            }
            let problem = match doc.load_incremental(bytes) {
                Err(e) => Some(e.to_string()),
                // Nothing applied (a load skips unreadable bytes quietly), or before compaction:
                // every change of the row must parse and be in the document.
                Ok(n) if n == 0 || strict => match changes_in_row(bytes) {
                    Err(e) => Some(e),
                    Ok(changes) => {
                        if changes
                            .iter()
                            .any(|c| !homerehab_shared::docs::has_change(&doc, &c.hash()))
                        {
                            complete = false;
                        }
                        None
                    }
                },
                Ok(_) => None,
            };
            if let Some(problem) = problem {
                damaged.push((*seq, problem));
                continue 'attempt;
            }
        }
        break doc;
    };
    if !damaged.is_empty() {
        set_aside(conn, id, &damaged)?;
    }
    let last_row = rows.last().map(|(seq, _)| *seq).unwrap_or(0);
    Ok(Some((doc, complete.then_some(last_row))))
}

/// Moves change rows that cannot be applied into `damaged_changes`, byte for byte, in one
/// step (a savepoint works inside and outside a transaction).
fn set_aside(conn: &Connection, id: DocumentId, rows: &[(i64, String)]) -> Result<()> {
    conn.execute_batch("SAVEPOINT set_aside")?;
    let moved = (|| -> Result<()> {
        for (seq, problem) in rows {
            tracing::error!(doc = %id, row = seq, error = %problem, "a stored change cannot be applied; kept aside");
            conn.execute(
                "INSERT INTO damaged_changes (doc_id, original_seq, bytes, error, found_at)
                 SELECT doc_id, seq, bytes, ?2, ?3 FROM doc_changes WHERE seq = ?1",
                params![seq, problem, now_ms()],
            )?;
            conn.execute("DELETE FROM doc_changes WHERE seq = ?1", [seq])?;
        }
        Ok(())
    })();
    match moved {
        Ok(()) => conn.execute_batch("RELEASE set_aside")?,
        Err(e) => {
            let _ = conn.execute_batch("ROLLBACK TO set_aside; RELEASE set_aside");
            return Err(e);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::fixtures::{course_with_a_logged_set, signed_in};
    use crate::store::{export_support, Store};
    use automerge::ActorId;
    use homerehab_shared::docs;
    use homerehab_shared::ids::*;
    use homerehab_shared::model::*;
    use std::path::Path;

    /// A connection to the store's file that ignores the folder lock: an older binary, or a
    /// second process from before the lock.
    fn other_writer(dir: &Path) -> Connection {
        let c = Connection::open(dir.join("homerehab.sqlite3")).unwrap();
        c.busy_timeout(std::time::Duration::from_secs(5)).unwrap();
        c
    }

    /// A change to `course`'s session log made elsewhere (on a copy with `actor`): a new session.
    fn session_made_elsewhere(
        store: &mut Store,
        course: CourseId,
        actor: ActorId,
    ) -> (SessionId, Vec<u8>) {
        let log = DocumentId::session_log_of(course);
        let mut copy = store.document(log).unwrap().fork();
        copy.set_actor(actor);
        let before = copy.get_heads();
        let session = SessionLog::start(course, UserId::new(), None, 5);
        docs::put_session(&mut copy, &session, 5).unwrap();
        let bytes = copy
            .get_changes(&before)
            .iter()
            .flat_map(|c| c.raw_bytes().to_vec())
            .collect();
        (session.id, bytes)
    }

    fn insert_row(dir: &Path, course: CourseId, bytes: &[u8]) {
        other_writer(dir)
            .execute(
                "INSERT INTO doc_changes (doc_id, bytes) VALUES (?1, ?2)",
                params![id_blob(&DocumentId::session_log_of(course)), bytes],
            )
            .unwrap();
    }

    #[test]
    fn a_change_another_writer_stored_survives_compaction() {
        let dir = tempfile::tempdir().unwrap();
        let team = TeamId::new();
        let mut store = signed_in(dir.path(), Role::Assistant, team);
        let course = course_with_a_logged_set(&mut store, team);
        let (elsewhere, bytes) = session_made_elsewhere(&mut store, course, ActorId::random());
        // This store has the log in memory; the other writer's row is not in that copy.
        insert_row(dir.path(), course, &bytes);
        let log = DocumentId::session_log_of(course);
        let rows = |s: &Store| -> i64 {
            s.conn
                .query_row(
                    "SELECT COUNT(*) FROM doc_changes WHERE doc_id = ?1",
                    [id_blob(&log)],
                    |r| r.get(0),
                )
                .unwrap()
        };
        let line = store.course_doc(course).unwrap().program.ordered()[0].clone();
        let session = store.sessions(course).unwrap()[0].id;
        let set = SetLog {
            reps: Some(10),
            duration_s: None,
            load_kg: None,
            at: 2,
        };
        let mut most = 0;
        let mut session = session;
        for n in 1.. {
            if n % 40 == 0 {
                session = store.start_session(course).unwrap().id;
            }
            store
                .log_set(&LogSet {
                    course,
                    session,
                    line: line.id,
                    set: set.clone(),
                })
                .unwrap();
            let now = rows(&store);
            if now < most {
                break; // compacted
            }
            most = now;
            assert!(most < 5_000, "never compacted");
        }
        drop(store);
        let mut store = Store::open(dir.path()).unwrap();
        let sessions = store.session_log(course).unwrap().sessions;
        assert!(
            sessions.contains_key(&elsewhere.to_string()),
            "the other writer's session was lost"
        );
        assert_eq!(store.sync_status().unwrap().damaged, 0);
    }

    #[test]
    fn a_duplicate_sequence_number_is_kept_aside_and_the_store_keeps_working() {
        let dir = tempfile::tempdir().unwrap();
        let team = TeamId::new();
        let mut store = signed_in(dir.path(), Role::Assistant, team);
        let course = course_with_a_logged_set(&mut store, team);
        let me = store.actor().clone();
        // Another process with this device's actor and the same in-memory copy: its next
        // change has the sequence number this store's next change gets.
        let (_, theirs) = session_made_elsewhere(&mut store, course, me);
        let mine = store.start_session(course).unwrap();
        insert_row(dir.path(), course, &theirs);
        // The identical bytes twice are one change, not damage.
        let log = DocumentId::session_log_of(course);
        let own_row: Vec<u8> = store
            .conn
            .query_row(
                "SELECT bytes FROM doc_changes WHERE doc_id = ?1 ORDER BY seq DESC LIMIT 1 OFFSET 1",
                [id_blob(&log)],
                |r| r.get(0),
            )
            .unwrap();
        insert_row(dir.path(), course, &own_row);
        drop(store);
        let mut store = Store::open(dir.path()).unwrap();
        let sessions = store.session_log(course).unwrap().sessions;
        assert!(sessions.contains_key(&mine.id.to_string()));
        let status = store.sync_status().unwrap();
        assert_eq!(status.damaged, 1, "{status:?}");
        let kept: Vec<u8> = store
            .conn
            .query_row("SELECT bytes FROM damaged_changes", [], |r| r.get(0))
            .unwrap();
        assert_eq!(kept, theirs, "kept byte for byte");
        // Still writable, and reads cleanly after a restart.
        let line = store.course_doc(course).unwrap().program.ordered()[0].clone();
        let set = SetLog {
            reps: Some(7),
            duration_s: None,
            load_kg: None,
            at: 3,
        };
        store
            .log_set(&LogSet {
                course,
                session: mine.id,
                line: line.id,
                set: set.clone(),
            })
            .unwrap();
        drop(store);
        let mut store = Store::open(dir.path()).unwrap();
        assert_eq!(
            store.session_log(course).unwrap().sessions[&mine.id.to_string()].set_count(),
            1
        );
        assert_eq!(store.sync_status().unwrap().damaged, 1);
        let out = dir.path().join("support.sqlite3");
        export_support(dir.path(), &out, None).unwrap();
        let exported: Vec<u8> = Connection::open(&out)
            .unwrap()
            .query_row("SELECT bytes FROM damaged_changes", [], |r| r.get(0))
            .unwrap();
        assert_eq!(exported, theirs);
    }
}
