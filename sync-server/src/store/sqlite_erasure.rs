//! Retention and erasure in SQLite (issue #14 item 5): generations, old generations' change
//! hashes, tombstones, the erasure ledger, retention settings and the read model's facts.
//!
//! The connections that write documents run with `PRAGMA secure_delete = ON` (set in
//! `SqliteStore::open`), so a deleted row's bytes are overwritten in the page, and a freed
//! page is zeroed; [`scrub`] then checkpoints the WAL with `TRUNCATE`, so no WAL frame keeps
//! an old page image.

use super::retention_rows::{assemble, CitizenRow, CourseRow, GrantRow, ReferralRow};
use super::sqlite_read_model as read_model;
use super::{ErasureCommit, LedgerEntry};
use crate::error::{Error, Result};
use homerehab_shared::audit::AuditAction;
use homerehab_shared::ids::{DocumentId, MunicipalityId, TeamId, UserId};
use homerehab_shared::read_model::rows_of;
use homerehab_shared::retention::{CitizenFacts, RetentionSettings};
use homerehab_shared::sync::Hash;
use rusqlite::{params, Connection, OptionalExtension, Transaction};

/// Appended to the store's migrations.
pub(super) const MIGRATION: &str = r#"
CREATE TABLE document_generations (
    doc_id     BLOB PRIMARY KEY,
    generation INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE old_generation_changes (
    doc_id BLOB NOT NULL,
    hash   BLOB NOT NULL,
    PRIMARY KEY (doc_id, hash)
) WITHOUT ROWID;
CREATE TABLE erased_documents (
    id        BLOB PRIMARY KEY,
    erased_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE erasure_ledger (
    seq             INTEGER PRIMARY KEY AUTOINCREMENT,
    at              INTEGER NOT NULL,
    municipality_id BLOB NOT NULL,
    erasure         TEXT NOT NULL,
    by_user         BLOB,
    action          TEXT NOT NULL
);
CREATE TABLE retention_settings (
    municipality_id BLOB PRIMARY KEY,
    settings        TEXT NOT NULL,
    updated_by      BLOB
) WITHOUT ROWID;
"#;

/// Appended after [`MIGRATION`] (2026-12-07): a document's generation is a column of its row.
/// Every sync reads each visible document's generation; from the covering index that now holds
/// it, not by probing a mostly empty table once per document (with stepping the index, 4.7 %
/// of the server's samples with one team of 50). The table stays for servers of the release
/// before, which read and write it during a rolling upgrade: this release writes both, and a
/// trigger carries what an older server writes into the table onto the row. A later release
/// drops the table and the triggers.
pub(super) const MIGRATION_GENERATION_COLUMN: &str = r#"
ALTER TABLE documents ADD COLUMN generation INTEGER NOT NULL DEFAULT 0;
UPDATE documents SET generation =
    (SELECT g.generation FROM document_generations g WHERE g.doc_id = documents.id)
 WHERE id IN (SELECT doc_id FROM document_generations);
CREATE TRIGGER document_generation_inserted AFTER INSERT ON document_generations
BEGIN
    UPDATE documents SET generation = NEW.generation WHERE id = NEW.doc_id;
END;
CREATE TRIGGER document_generation_updated AFTER UPDATE ON document_generations
BEGIN
    UPDATE documents SET generation = NEW.generation WHERE id = NEW.doc_id;
END;
CREATE INDEX documents_team_generation
    ON documents(team_id, id, kind, course_id, heads, generation);
DROP INDEX documents_team_heads;
"#;

pub(super) fn generation(conn: &Connection, id: DocumentId) -> Result<u32> {
    Ok(conn
        .prepare_cached("SELECT generation FROM documents WHERE id = ?1")?
        .query_row([id.as_bytes().as_slice()], |r| r.get(0))
        .optional()?
        .unwrap_or(0))
}

pub(super) fn is_erased(conn: &Connection, id: DocumentId) -> Result<bool> {
    Ok(conn
        .prepare_cached("SELECT 1 FROM erased_documents WHERE id = ?1")?
        .query_row([id.as_bytes().as_slice()], |_| Ok(()))
        .optional()?
        .is_some())
}

pub(super) fn old_generation_hashes(
    conn: &Connection,
    id: DocumentId,
    among: &[Hash],
) -> Result<Vec<Hash>> {
    let mut stmt = conn
        .prepare_cached("SELECT 1 FROM old_generation_changes WHERE doc_id = ?1 AND hash = ?2")?;
    let mut out = Vec::new();
    for h in among {
        if stmt
            .query_row(params![id.as_bytes().as_slice(), h.as_slice()], |_| Ok(()))
            .optional()?
            .is_some()
        {
            out.push(*h);
        }
    }
    Ok(out)
}

/// [`super::ErasureStore::erase`] inside the caller's `IMMEDIATE` transaction.
pub(super) fn erase(tx: &Transaction<'_>, e: &ErasureCommit<'_>, now: i64) -> Result<()> {
    for r in e.rewritten {
        let id = r.header.id.as_bytes().as_slice();
        let stored: Option<Vec<u8>> = tx
            .prepare_cached("SELECT heads FROM documents WHERE id = ?1")?
            .query_row([id], |row| row.get(0))
            .optional()?;
        if super::documents::moved(r.base, stored.as_deref()) || stored.is_none() {
            return Err(Error::DocumentMoved(r.header.id));
        }
        tx.prepare_cached("DELETE FROM doc_changes WHERE doc_id = ?1")?
            .execute([id])?;
        tx.prepare_cached(
            "UPDATE documents SET heads = ?2, incremental_bytes = 0, updated_at = ?3,
               snapshot = ?4, generation = ?5 WHERE id = ?1",
        )?
        .execute(params![
            id,
            super::documents::heads_bytes(r.doc),
            now,
            r.doc.save(),
            r.generation
        ])?;
        let mut keep = tx.prepare_cached(
            "INSERT OR IGNORE INTO old_generation_changes (doc_id, hash) VALUES (?1, ?2)",
        )?;
        for h in r.old_hashes {
            keep.execute(params![id, h.as_slice()])?;
        }
        // For servers of the release before, during a rolling upgrade
        // ([`MIGRATION_GENERATION_COLUMN`]).
        tx.prepare_cached(
            "INSERT INTO document_generations (doc_id, generation) VALUES (?1, ?2)
             ON CONFLICT (doc_id) DO UPDATE SET generation = excluded.generation",
        )?
        .execute(params![id, r.generation])?;
        // Refused change sets of the old generation hold what was erased, and can never be
        // admitted onto the new one.
        tx.prepare_cached("DELETE FROM quarantine WHERE doc_id = ?1")?
            .execute([id])?;
        // The read model follows at once: the rows of the new generation.
        let rows = rows_of(r.header, r.doc)?;
        read_model::delete_rows(tx, id)?;
        read_model::insert_rows(tx, id, &rows)?;
        tx.prepare_cached("DELETE FROM rm_pending WHERE doc_id = ?1")?
            .execute([id])?;
        tx.prepare_cached("DELETE FROM rm_failures WHERE doc_id = ?1")?
            .execute([id])?;
    }
    for doc in e.deleted {
        let id = doc.as_bytes().as_slice();
        read_model::delete_rows(tx, id)?;
        for delete in [
            "DELETE FROM doc_changes WHERE doc_id = ?1",
            "DELETE FROM documents WHERE id = ?1",
            "DELETE FROM quarantine WHERE doc_id = ?1",
            "DELETE FROM rm_pending WHERE doc_id = ?1",
            "DELETE FROM rm_failures WHERE doc_id = ?1",
            "DELETE FROM document_generations WHERE doc_id = ?1",
            "DELETE FROM old_generation_changes WHERE doc_id = ?1",
        ] {
            tx.prepare_cached(delete)?.execute([id])?;
        }
        tx.prepare_cached(
            "INSERT OR IGNORE INTO erased_documents (id, erased_at) VALUES (?1, ?2)",
        )?
        .execute(params![id, now])?;
    }
    for entry in e.ledger {
        tx.prepare_cached(
            "INSERT INTO erasure_ledger (at, municipality_id, erasure, by_user, action)
             VALUES (?1, ?2, ?3, ?4, ?5)",
        )?
        .execute(params![
            entry.at,
            entry.municipality.as_bytes().as_slice(),
            serde_json::to_string(&entry.erasure).map_err(|e| Error::Invalid(e.to_string()))?,
            entry.by.map(|u| u.as_bytes().to_vec()),
            entry.action.as_str(),
        ])?;
    }
    Ok(())
}

/// Checkpoints the WAL into the database and truncates it, a few times while readers hold
/// it back; says whether it got through.
pub(super) fn scrub(conn: &Connection) -> Result<bool> {
    for _ in 0..50 {
        let busy: i64 = conn
            .prepare_cached("PRAGMA wal_checkpoint(TRUNCATE)")?
            .query_row([], |r| r.get(0))?;
        if busy == 0 {
            return Ok(true);
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    Ok(false)
}

pub(super) fn ledger(conn: &Connection) -> Result<Vec<LedgerEntry>> {
    let mut stmt = conn.prepare(
        "SELECT at, municipality_id, erasure, by_user, action FROM erasure_ledger ORDER BY seq",
    )?;
    let rows = stmt
        .query_map([], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, Vec<u8>>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, Option<Vec<u8>>>(3)?,
                r.get::<_, String>(4)?,
            ))
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    let uuid = |b: &[u8]| {
        uuid::Uuid::from_slice(b).map_err(|_| Error::Corrupt("an id in the erasure ledger".into()))
    };
    rows.into_iter()
        .map(|(at, m, erasure, by, action)| {
            Ok(LedgerEntry {
                at,
                municipality: MunicipalityId(uuid(&m)?),
                erasure: serde_json::from_str(&erasure)
                    .map_err(|_| Error::Corrupt("an erasure in the ledger".into()))?,
                by: by.as_deref().map(uuid).transpose()?.map(UserId),
                action: AuditAction::parse(&action)
                    .ok_or_else(|| Error::Corrupt("an action in the erasure ledger".into()))?,
            })
        })
        .collect()
}

pub(super) fn retention_settings(
    conn: &Connection,
    municipality: MunicipalityId,
) -> Result<RetentionSettings> {
    let stored: Option<String> = conn
        .prepare_cached("SELECT settings FROM retention_settings WHERE municipality_id = ?1")?
        .query_row([municipality.as_bytes().as_slice()], |r| r.get(0))
        .optional()?;
    match stored {
        None => Ok(RetentionSettings::default()),
        Some(json) => serde_json::from_str(&json)
            .map_err(|_| Error::Corrupt("a municipality's retention settings".into())),
    }
}

pub(super) fn set_retention_settings(
    conn: &Connection,
    municipality: MunicipalityId,
    settings: &RetentionSettings,
    by: Option<UserId>,
) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO retention_settings (municipality_id, settings, updated_by) VALUES (?1, ?2, ?3)
         ON CONFLICT (municipality_id) DO UPDATE SET settings = excluded.settings,
           updated_by = excluded.updated_by",
    )?
    .execute(params![
        municipality.as_bytes().as_slice(),
        serde_json::to_string(settings).map_err(|e| Error::Invalid(e.to_string()))?,
        by.map(|u| u.as_bytes().to_vec()),
    ])?;
    Ok(())
}

pub(super) fn retention_facts(conn: &Connection, teams: &[TeamId]) -> Result<Vec<CitizenFacts>> {
    let (mut citizens, mut courses, mut referrals, mut grants) = (
        Vec::<CitizenRow>::new(),
        Vec::<CourseRow>::new(),
        Vec::<ReferralRow>::new(),
        Vec::<GrantRow>::new(),
    );
    for team in teams {
        let team = team.to_string();
        let mut stmt = conn.prepare_cached(
            "SELECT citizen_id, team_id, active FROM rm_citizens WHERE team_id = ?1",
        )?;
        for row in stmt.query_map([&team], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))? {
            citizens.push(row?);
        }
        let mut stmt = conn.prepare_cached(
            "SELECT c.course_id, c.citizen_id, c.team_id, c.status, c.start_date,
               (SELECT MAX(COALESCE(s.ended_at, s.started_at)) FROM rm_sessions s
                 WHERE s.course_id = c.course_id),
               (SELECT MAX(t.date) FROM rm_test_results t WHERE t.course_id = c.course_id)
             FROM rm_courses c WHERE c.team_id = ?1",
        )?;
        for row in stmt.query_map([&team], |r| {
            Ok((
                r.get(0)?,
                r.get(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
                r.get(5)?,
                r.get(6)?,
            ))
        })? {
            courses.push(row?);
        }
        let mut stmt = conn.prepare_cached(
            "SELECT referral_id, citizen_id, team_id, referred_on, screened_on, course_id
             FROM rm_referrals WHERE team_id = ?1",
        )?;
        for row in stmt.query_map([&team], |r| {
            Ok((
                r.get(0)?,
                r.get(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
                r.get(5)?,
            ))
        })? {
            referrals.push(row?);
        }
        let mut stmt = conn.prepare_cached(
            "SELECT citizen_id, team_id, effective, service_code FROM rm_care_grants
             WHERE team_id = ?1",
        )?;
        for row in stmt.query_map([&team], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
        })? {
            grants.push(row?);
        }
    }
    assemble(citizens, courses, referrals, grants)
}
