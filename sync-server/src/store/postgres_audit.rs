//! The audit log's SQL for PostgreSQL (issue #14): statement for statement the SQLite log's
//! (`sqlite_audit`), appended under a transaction-scoped advisory lock so that every server
//! sharing the database takes turns and builds one chain.

use super::audit_rows::{continue_from, of_citizen_sql, to_append, AuditRow, AUDIT_COLUMNS};
use super::StoredAuditEntry;
use crate::error::Result;
use homerehab_shared::audit::AuditRecord;
use homerehab_shared::ids::{CitizenId, MunicipalityId, TeamId};
use postgres::types::{ToSql, Type};
use postgres::{GenericClient, Row};
use std::collections::HashSet;
use uuid::Uuid;

/// Appended to the PostgreSQL migrations.
pub(super) const SCHEMA: &str = super::audit_rows::audit_schema!("BYTEA");

/// The advisory lock every append holds until its transaction ends ("HrAudit").
const AUDIT_LOCK: i64 = 0x4872_4175_6469_7400;

/// Rows per `INSERT`: 15 parameters each, well under PostgreSQL's 65,535.
const INSERT_ROWS: usize = 500;

fn row_at(r: &Row) -> Result<AuditRow> {
    Ok(AuditRow {
        seq: r.try_get(0)?,
        entry_id: r.try_get(1)?,
        recorded_at: r.try_get(2)?,
        occurred_at: r.try_get(3)?,
        user_id: r.try_get(4)?,
        role: r.try_get(5)?,
        device_id: r.try_get(6)?,
        action: r.try_get(7)?,
        purpose: r.try_get(8)?,
        team_id: r.try_get(9)?,
        citizen_id: r.try_get(10)?,
        course_id: r.try_get(11)?,
        target: r.try_get(12)?,
        prev_hash: r.try_get(13)?,
        hash: r.try_get(14)?,
    })
}

pub(super) fn append(client: &mut impl GenericClient, records: &[AuditRecord]) -> Result<usize> {
    if records.is_empty() {
        return Ok(0);
    }
    let mut tx = client.transaction()?;
    // Typed statements: one round trip each, not a prepare and an execute, while every
    // server's appends queue on the chain's lock (a burst's 900 answered syncs each append).
    tx.query_typed(
        "SELECT pg_advisory_xact_lock($1)",
        &[(&AUDIT_LOCK, Type::INT8)],
    )?;
    let last = tx
        .query_typed_opt(
            "SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1",
            &[],
        )?
        .map(|r| -> Result<(i64, Vec<u8>)> { Ok((r.try_get(0)?, r.try_get(1)?)) })
        .transpose()?;
    let ids: Vec<String> = records.iter().map(|r| r.entry_id.to_string()).collect();
    let known: HashSet<String> = tx
        .query_typed(
            "SELECT entry_id FROM audit_log WHERE entry_id = ANY($1)",
            &[(&ids, Type::TEXT_ARRAY)],
        )?
        .iter()
        .map(|r| r.try_get(0))
        .collect::<std::result::Result<_, _>>()?;
    let entries = to_append(records, continue_from(last), &known);
    let rows: Vec<AuditRow> = entries.iter().map(AuditRow::of).collect();
    for chunk in rows.chunks(INSERT_ROWS) {
        let mut sql = format!("INSERT INTO audit_log ({AUDIT_COLUMNS}) VALUES ");
        let mut params: Vec<(&(dyn ToSql + Sync), Type)> = Vec::with_capacity(chunk.len() * 15);
        for (i, r) in chunk.iter().enumerate() {
            let base = i * 15;
            let marks: Vec<String> = (1..=15).map(|k| format!("${}", base + k)).collect();
            if i > 0 {
                sql.push(',');
            }
            sql.push_str(&format!("({})", marks.join(",")));
            params.extend_from_slice(&[
                (&r.seq, Type::INT8),
                (&r.entry_id, Type::TEXT),
                (&r.recorded_at, Type::INT8),
                (&r.occurred_at, Type::INT8),
                (&r.user_id, Type::TEXT),
                (&r.role, Type::TEXT),
                (&r.device_id, Type::TEXT),
                (&r.action, Type::TEXT),
                (&r.purpose, Type::TEXT),
                (&r.team_id, Type::TEXT),
                (&r.citizen_id, Type::TEXT),
                (&r.course_id, Type::TEXT),
                (&r.target, Type::TEXT),
                (&r.prev_hash, Type::BYTEA),
                (&r.hash, Type::BYTEA),
            ]);
        }
        tx.query_typed(&sql, &params)?;
    }
    tx.commit()?;
    Ok(entries.len())
}

pub(super) fn entries(
    client: &mut impl GenericClient,
    after: u64,
    limit: usize,
) -> Result<Vec<StoredAuditEntry>> {
    let rows = client.query(
        &format!("SELECT {AUDIT_COLUMNS} FROM audit_log WHERE seq > $1 ORDER BY seq LIMIT $2"),
        &[&(after as i64), &(limit as i64)],
    )?;
    rows.iter().map(|r| Ok(row_at(r)?.entry())).collect()
}

pub(super) fn of_citizen(
    client: &mut impl GenericClient,
    citizen: CitizenId,
) -> Result<Vec<StoredAuditEntry>> {
    let rows = client.query(&of_citizen_sql("$1"), &[&citizen.to_string()])?;
    rows.iter().map(|r| Ok(row_at(r)?.entry())).collect()
}

pub(super) fn citizen_home(
    client: &mut impl GenericClient,
    citizen: CitizenId,
) -> Result<Option<(TeamId, MunicipalityId)>> {
    let row = client.query_opt(
        "SELECT c.team_id, t.municipality_id FROM rm_citizens c
             JOIN teams t ON t.id::text = c.team_id
             WHERE c.citizen_id = $1 LIMIT 1",
        &[&citizen.to_string()],
    )?;
    let Some(row) = row else {
        return Ok(None);
    };
    let team: String = row.try_get(0)?;
    let municipality: Uuid = row.try_get(1)?;
    Ok(Uuid::parse_str(&team)
        .ok()
        .map(|t| (TeamId(t), MunicipalityId(municipality))))
}
