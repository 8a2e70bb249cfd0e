//! The audit log's SQL for SQLite (issue #14): `audit_log`, appended under `BEGIN IMMEDIATE`
//! so that processes sharing the file take turns and build one chain. What both backends share
//! is in `audit_rows`; the chain's rules in `homerehab_shared::audit`.

use super::audit_rows::{
    continue_from, may_be_logged, of_citizen_sql, to_append, AuditRow, AUDIT_COLUMNS,
};
use super::StoredAuditEntry;
use crate::error::Result;
use homerehab_shared::audit::AuditRecord;
use homerehab_shared::ids::{CitizenId, MunicipalityId, TeamId};
use rusqlite::{params, Connection, OptionalExtension, Row};
use std::collections::HashSet;
use uuid::Uuid;

/// Appended to the store's migrations.
pub(super) const MIGRATION: &str = super::audit_rows::audit_schema!("BLOB");

fn row_at(r: &Row<'_>) -> rusqlite::Result<AuditRow> {
    Ok(AuditRow {
        seq: r.get(0)?,
        entry_id: r.get(1)?,
        recorded_at: r.get(2)?,
        occurred_at: r.get(3)?,
        user_id: r.get(4)?,
        role: r.get(5)?,
        device_id: r.get(6)?,
        action: r.get(7)?,
        purpose: r.get(8)?,
        team_id: r.get(9)?,
        citizen_id: r.get(10)?,
        course_id: r.get(11)?,
        target: r.get(12)?,
        prev_hash: r.get(13)?,
        hash: r.get(14)?,
    })
}

/// Appends `records` inside the caller's write transaction: it must hold the write lock
/// (`BEGIN IMMEDIATE`) before the last entry is read, so no other process appends after the
/// same entry. The store runs it in its group commit, beside the documents of the syncs that
/// arrived together (one fsync for all).
pub(super) fn append_in(tx: &Connection, records: &[AuditRecord]) -> Result<usize> {
    let last = tx
        .prepare_cached("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1")?
        .query_row([], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, Vec<u8>>(1)?)))
        .optional()?;
    let mut known = HashSet::new();
    {
        let mut find = tx.prepare_cached("SELECT 1 FROM audit_log WHERE entry_id = ?1")?;
        // Every id: here a look-up is an index probe in this process, not a round trip.
        for id in may_be_logged(records, true) {
            if find.exists([&id])? {
                known.insert(id);
            }
        }
    }
    let entries = to_append(records, continue_from(last), &known);
    {
        let mut insert = tx.prepare_cached(&format!(
            "INSERT INTO audit_log ({AUDIT_COLUMNS})
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)"
        ))?;
        for e in &entries {
            let r = AuditRow::of(e);
            insert.execute(params![
                r.seq,
                r.entry_id,
                r.recorded_at,
                r.occurred_at,
                r.user_id,
                r.role,
                r.device_id,
                r.action,
                r.purpose,
                r.team_id,
                r.citizen_id,
                r.course_id,
                r.target,
                r.prev_hash,
                r.hash
            ])?;
        }
    }
    Ok(entries.len())
}

pub(super) fn entries(
    conn: &Connection,
    after: u64,
    limit: usize,
) -> Result<Vec<StoredAuditEntry>> {
    let mut stmt = conn.prepare_cached(&format!(
        // Cast: a bare bound LIMIT expires the statement at every binding (see
        // `sqlite_read_model::pending`).
        "SELECT {AUDIT_COLUMNS} FROM audit_log WHERE seq > ?1 ORDER BY seq LIMIT CAST(?2 AS INTEGER)"
    ))?;
    let rows = stmt
        .query_map(params![after as i64, limit as i64], row_at)?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows.into_iter().map(AuditRow::entry).collect())
}

pub(super) fn of_citizen(conn: &Connection, citizen: CitizenId) -> Result<Vec<StoredAuditEntry>> {
    let mut stmt = conn.prepare_cached(&of_citizen_sql("?1"))?;
    let rows = stmt
        .query_map([citizen.to_string()], row_at)?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows.into_iter().map(AuditRow::entry).collect())
}

pub(super) fn citizen_home(
    conn: &Connection,
    citizen: CitizenId,
) -> Result<Option<(TeamId, MunicipalityId)>> {
    let team: Option<String> = conn
        .prepare_cached("SELECT team_id FROM rm_citizens WHERE citizen_id = ?1 LIMIT 1")?
        .query_row([citizen.to_string()], |r| r.get(0))
        .optional()?;
    let Some(team) = team.and_then(|t| Uuid::parse_str(&t).ok()) else {
        return Ok(None);
    };
    let municipality: Option<Vec<u8>> = conn
        .prepare_cached("SELECT municipality_id FROM teams WHERE id = ?1")?
        .query_row([team.as_bytes().as_slice()], |r| r.get(0))
        .optional()?;
    Ok(municipality
        .and_then(|m| Uuid::from_slice(&m).ok())
        .map(|m| (TeamId(team), MunicipalityId(m))))
}
