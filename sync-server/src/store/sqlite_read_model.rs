//! The read model's SQL for SQLite (issue #12): the tables the evidence queries read, filled
//! from [`homerehab_shared::read_model::rows_of`]. Every row carries the `doc_id` of the
//! document it comes from, and a document's rows are replaced whole.
//!
//! Kept behind a cursor that catches up rather than written in the sync's transaction: a
//! commit only marks the document pending (`rm_pending`, its version bumped), and
//! [`super::Store::project_pending`] projects pending documents outside the sync's path. So a
//! sync never waits for, and never fails because of, the read model; a document whose rows
//! cannot be derived is set aside in `rm_failures` with the error and retried by
//! `sync-server reproject`.

use crate::error::Result;
use homerehab_shared::read_model::{
    CareGrantRow, CitizenRow, CourseRow, DeliveryRow, DocumentRows, EffectSettingsRow, GoalRow,
    ReferralRow, SessionRow, TestResultRow, WorkRow,
};
use rusqlite::{params, Connection, Transaction};

/// Appended to the store's migrations. Existing documents start pending, so an upgraded
/// server projects what it already holds.
pub(super) const MIGRATION: &str = r#"
CREATE TABLE rm_pending (doc_id BLOB PRIMARY KEY, version INTEGER NOT NULL);
INSERT INTO rm_pending (doc_id, version) SELECT id, 1 FROM documents;
CREATE TABLE rm_failures (doc_id BLOB PRIMARY KEY, error TEXT NOT NULL, at INTEGER NOT NULL);
CREATE TABLE rm_citizens (
    doc_id BLOB NOT NULL, citizen_id TEXT NOT NULL, team_id TEXT NOT NULL,
    birth_year INTEGER, sex TEXT, active INTEGER NOT NULL
);
CREATE INDEX rm_citizens_doc ON rm_citizens(doc_id);
CREATE INDEX rm_citizens_team ON rm_citizens(team_id);
CREATE TABLE rm_care_grants (
    doc_id BLOB NOT NULL, citizen_id TEXT NOT NULL, team_id TEXT NOT NULL, effective TEXT NOT NULL,
    minutes_per_week INTEGER NOT NULL, service_code TEXT
);
CREATE INDEX rm_care_grants_doc ON rm_care_grants(doc_id);
CREATE INDEX rm_care_grants_citizen ON rm_care_grants(citizen_id, effective);
CREATE TABLE rm_courses (
    doc_id BLOB NOT NULL, course_id TEXT NOT NULL, citizen_id TEXT NOT NULL, team_id TEXT NOT NULL,
    legal_basis TEXT NOT NULL, start_date TEXT NOT NULL, planned_weeks INTEGER NOT NULL,
    sessions_per_week INTEGER NOT NULL, status TEXT NOT NULL, responsible_therapist TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE INDEX rm_courses_doc ON rm_courses(doc_id);
CREATE INDEX rm_courses_team ON rm_courses(team_id, start_date);
CREATE TABLE rm_goals (
    doc_id BLOB NOT NULL, course_id TEXT NOT NULL, position INTEGER NOT NULL, attainment TEXT
);
CREATE INDEX rm_goals_doc ON rm_goals(doc_id);
CREATE TABLE rm_test_results (
    doc_id BLOB NOT NULL, result_id TEXT NOT NULL, course_id TEXT NOT NULL, test TEXT NOT NULL,
    phase TEXT NOT NULL, value REAL NOT NULL, date TEXT NOT NULL, measured_by TEXT NOT NULL
);
CREATE INDEX rm_test_results_doc ON rm_test_results(doc_id);
CREATE INDEX rm_test_results_course ON rm_test_results(course_id, test, phase);
CREATE TABLE rm_sessions (
    doc_id BLOB NOT NULL, session_id TEXT NOT NULL, course_id TEXT NOT NULL,
    performed_by TEXT NOT NULL, started_at INTEGER NOT NULL, ended_at INTEGER, status TEXT NOT NULL,
    not_carried_out TEXT, set_count INTEGER NOT NULL, general_condition INTEGER
);
CREATE INDEX rm_sessions_doc ON rm_sessions(doc_id);
CREATE INDEX rm_sessions_course ON rm_sessions(course_id, started_at);
"#;

/// Appended after [`MIGRATION`]: referrals and their screenings (the funnel's first stages).
/// Rosters already held are projected again to fill it.
pub(super) const MIGRATION_REFERRALS: &str = r#"
CREATE TABLE rm_referrals (
    doc_id BLOB NOT NULL, referral_id TEXT NOT NULL, citizen_id TEXT NOT NULL,
    team_id TEXT NOT NULL, referred_on TEXT NOT NULL, referred_by TEXT NOT NULL,
    screened_on TEXT, screened_by TEXT, outcome TEXT, not_included_reason TEXT, course_id TEXT
);
CREATE INDEX rm_referrals_doc ON rm_referrals(doc_id);
CREATE INDEX rm_referrals_team ON rm_referrals(team_id, referred_on);
INSERT INTO rm_pending (doc_id, version) SELECT id, 1 FROM documents WHERE kind = 'roster'
    ON CONFLICT (doc_id) DO UPDATE SET version = version + 1;
"#;

/// Appended after [`MIGRATION_REFERRALS`]: the latest day of each kind of work per user and
/// document (staff active), each course's sessions delivered (adherence without counting a
/// million sessions), the municipality's effect settings from its library, and an index to
/// join courses by id. Every document is projected again to fill them.
pub(super) const MIGRATION_EVIDENCE: &str = r#"
CREATE TABLE rm_work (
    doc_id BLOB NOT NULL, user_id TEXT NOT NULL, work TEXT NOT NULL, last_on TEXT NOT NULL
);
CREATE INDEX rm_work_doc ON rm_work(doc_id);
CREATE INDEX rm_work_user ON rm_work(user_id, work, last_on);
CREATE TABLE rm_deliveries (
    doc_id BLOB NOT NULL, course_id TEXT NOT NULL, delivered INTEGER NOT NULL
);
CREATE INDEX rm_deliveries_doc ON rm_deliveries(doc_id);
CREATE INDEX rm_deliveries_course ON rm_deliveries(course_id);
CREATE TABLE rm_effect_settings (doc_id BLOB NOT NULL, settings_json TEXT NOT NULL);
CREATE INDEX rm_effect_settings_doc ON rm_effect_settings(doc_id);
CREATE INDEX rm_courses_course ON rm_courses(course_id);
CREATE INDEX rm_courses_status ON rm_courses(status, team_id);
INSERT INTO rm_pending (doc_id, version) SELECT id, 1 FROM documents WHERE true
    ON CONFLICT (doc_id) DO UPDATE SET version = version + 1;
"#;

/// Appended after the evidence settings: why a course ended early, as its coded key (the
/// funnel's breakdown). Courses already held are projected again to fill it.
pub(super) const MIGRATION_END_REASONS: &str = r#"
ALTER TABLE rm_courses ADD COLUMN end_reason TEXT;
INSERT INTO rm_pending (doc_id, version) SELECT id, 1 FROM documents WHERE kind = 'course'
    ON CONFLICT (doc_id) DO UPDATE SET version = version + 1;
"#;

/// Appended to the store's migrations: covering indexes for the evidence benchmark across
/// every municipality (`sqlite_evidence::completed_courses` without teams, docs/benchmarks.md
/// #12). Each gives its query's rows in the order it asks for without touching the table: the
/// completed courses by id with what the facts need, a course's sessions delivered, its results
/// by id, a citizen's grants in order. Indexes only, so nothing is projected again.
pub(super) const MIGRATION_BENCHMARK_INDEXES: &str = r#"
CREATE INDEX rm_courses_cohort ON rm_courses(
    status, course_id, start_date, citizen_id, team_id, planned_weeks, sessions_per_week,
    responsible_therapist
);
CREATE INDEX rm_deliveries_sum ON rm_deliveries(course_id, delivered);
CREATE INDEX rm_test_results_facts ON rm_test_results(
    course_id, result_id, phase, test, value, date
);
CREATE INDEX rm_care_grants_facts ON rm_care_grants(
    citizen_id, effective, service_code, minutes_per_week
);
"#;

/// Appended after [`MIGRATION_BENCHMARK_INDEXES`]: `rm_work` holds every day of each kind of
/// work, not only the latest, so staff active as of a past day is right. Its column keeps its
/// name (`last_on`, now each row's day: `WorkRow::done_on`), so a server of the release before
/// still reads and writes it during a rolling upgrade (a row it writes holds a latest day,
/// which stays right as of today; `sync-server reproject` afterwards makes every row a day's).
/// Courses and session logs are projected again to fill it, which also dates their work and
/// WHO-5 by the Danish day (`schedule::date_of`; it was the UTC day).
pub(super) const MIGRATION_WORK_DAYS: &str = r#"
INSERT INTO rm_pending (doc_id, version) SELECT id, 1 FROM documents
    WHERE kind IN ('course', 'session_log')
    ON CONFLICT (doc_id) DO UPDATE SET version = version + 1;
"#;

/// Appended to the migrations: a grant row says when it was recorded, since a care-time
/// follow-up is known only from grants recorded on or after its day (issue #12's care time;
/// `effect::care_time::known_on`); rosters are projected again to fill it. Empty (`NULL`)
/// until then, which reads as "not known" — no follow-up is counted from a guess meanwhile. A
/// fresh mark as `mark_pending` makes one, so a projector of the release before, still
/// running during a rolling upgrade, cannot settle it with rows read earlier.
/// The evidence reads the day with the grants, from the index alone as before.
pub(super) const MIGRATION_GRANTS_RECORDED: &str = r#"
ALTER TABLE rm_care_grants ADD COLUMN recorded_on TEXT;
DROP INDEX rm_care_grants_facts;
CREATE INDEX rm_care_grants_facts ON rm_care_grants(
    citizen_id, effective, service_code, minutes_per_week, recorded_on
);
INSERT INTO rm_pending (doc_id, version) SELECT id, random() FROM documents
    WHERE kind = 'roster'
    ON CONFLICT (doc_id) DO UPDATE SET version = excluded.version;
"#;

/// Appended to the migrations: the citizens who died or moved (`evidence_facts::
/// citizens_left_query`), read from an index ordered by status and end reason, only their range.
/// From `status` alone the query read every course that ended early in the country, and the
/// evidence for one municipality took twice as long.
pub(super) const MIGRATION_CITIZENS_LEFT: &str =
    "CREATE INDEX rm_courses_left ON rm_courses(status, end_reason, citizen_id);";

/// Appended after [`MIGRATION_CITIZENS_LEFT`]: the index holds the courses' start dates too, so
/// the query that dates when each citizen left (`evidence_facts::citizens_left_query`) still
/// reads the index alone.
pub(super) const MIGRATION_CITIZENS_LEFT_DATED: &str = "
CREATE INDEX rm_courses_left_dated ON rm_courses(status, end_reason, citizen_id, start_date);
DROP INDEX rm_courses_left;";

/// `ReadModelStore::remark_grants_without_day`.
pub(super) const REMARK_GRANTS_WITHOUT_DAY: &str = "
INSERT INTO rm_pending (doc_id, version)
    SELECT doc_id, random() FROM (SELECT DISTINCT doc_id FROM rm_care_grants
                                  WHERE recorded_on IS NULL)
    WHERE true
    ON CONFLICT (doc_id) DO UPDATE SET version = excluded.version";

const TABLES: [&str; 10] = [
    "rm_citizens",
    "rm_referrals",
    "rm_care_grants",
    "rm_courses",
    "rm_goals",
    "rm_test_results",
    "rm_sessions",
    "rm_work",
    "rm_deliveries",
    "rm_effect_settings",
];

/// In the sync's transaction: the document changed, so its rows are due again.
///
/// The version a projector settles at must never come back for the document: counted from 1,
/// a mark made after another projector had settled (and deleted) the row was version 1 again,
/// and a projector still holding rows read at the old 1 settled with them — stale rows for
/// good, or an erased citizen's rows written back. SQLite's `random()` is 64 bits.
pub(super) fn mark_pending(tx: &Connection, doc: &[u8]) -> Result<()> {
    tx.prepare_cached(
        "INSERT INTO rm_pending (doc_id, version) VALUES (?1, random())
         ON CONFLICT (doc_id) DO UPDATE SET version = excluded.version",
    )?
    .execute([doc])?;
    Ok(())
}

/// Up to `limit` pending documents and the version each was pending at.
pub(super) fn pending(conn: &Connection, limit: usize) -> Result<Vec<(Vec<u8>, i64)>> {
    // `LIMIT ?1` would be prepared again at every run: SQLite plans a bound LIMIT by its value,
    // so each new binding expires the statement (3 % of the server's CPU samples in an
    // upload). The cast is evaluated when the statement runs instead.
    let mut stmt =
        conn.prepare_cached("SELECT doc_id, version FROM rm_pending LIMIT CAST(?1 AS INTEGER)")?;
    let rows = stmt
        .query_map([limit as i64], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<rusqlite::Result<_>>()?;
    Ok(rows)
}

pub(super) fn pending_count(conn: &Connection) -> Result<u64> {
    Ok(conn
        .prepare_cached("SELECT COUNT(*) FROM rm_pending")?
        .query_row([], |r| r.get::<_, i64>(0))? as u64)
}

/// Whether `doc` is still pending at `version` (no commit since it was read).
fn settle(tx: &Transaction<'_>, doc: &[u8], version: i64) -> Result<bool> {
    Ok(tx
        .prepare_cached("DELETE FROM rm_pending WHERE doc_id = ?1 AND version = ?2")?
        .execute(params![doc, version])?
        == 1)
}

/// Replaces `doc`'s rows with `rows`, if no commit came in since it was read at `version`
/// (then it stays pending and the next round takes the newer document).
pub(super) fn replace(
    tx: &Transaction<'_>,
    doc: &[u8],
    version: i64,
    rows: &DocumentRows,
) -> Result<bool> {
    if !settle(tx, doc, version)? {
        return Ok(false);
    }
    delete_rows(tx, doc)?;
    tx.prepare_cached("DELETE FROM rm_failures WHERE doc_id = ?1")?
        .execute([doc])?;
    insert_rows(tx, doc, rows)?;
    Ok(true)
}

/// Sets aside a document whose rows cannot be derived: its old rows go (they no longer
/// describe it) and the error is kept for `sync-server reproject`.
pub(super) fn fail(
    tx: &Transaction<'_>,
    doc: &[u8],
    version: i64,
    error: &str,
    now: i64,
) -> Result<bool> {
    if !settle(tx, doc, version)? {
        return Ok(false);
    }
    delete_rows(tx, doc)?;
    tx.prepare_cached(
        "INSERT OR REPLACE INTO rm_failures (doc_id, error, at) VALUES (?1, ?2, ?3)",
    )?
    .execute(params![doc, error, now])?;
    Ok(true)
}

pub(super) fn failure_count(conn: &Connection) -> Result<u64> {
    Ok(conn
        .prepare_cached("SELECT COUNT(*) FROM rm_failures")?
        .query_row([], |r| r.get::<_, i64>(0))? as u64)
}

/// Empties the tables and marks every document pending: the start of a rebuild.
pub(super) fn reset(tx: &Transaction<'_>) -> Result<()> {
    for table in TABLES {
        tx.execute(&format!("DELETE FROM {table}"), [])?;
    }
    tx.prepare_cached("DELETE FROM rm_failures")?.execute([])?;
    tx.prepare_cached(
        "INSERT INTO rm_pending (doc_id, version) SELECT id, random() FROM documents WHERE true
         ON CONFLICT (doc_id) DO UPDATE SET version = excluded.version",
    )?
    .execute([])?;
    Ok(())
}

pub(super) fn delete_rows(tx: &Transaction<'_>, doc: &[u8]) -> Result<()> {
    for table in TABLES {
        tx.prepare_cached(&format!("DELETE FROM {table} WHERE doc_id = ?1"))?
            .execute([doc])?;
    }
    Ok(())
}

pub(super) fn insert_rows(tx: &Transaction<'_>, doc: &[u8], rows: &DocumentRows) -> Result<()> {
    let mut stmt = tx.prepare_cached(
        "INSERT INTO rm_citizens (doc_id, citizen_id, team_id, birth_year, sex, active)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?;
    for c in &rows.citizens {
        stmt.execute(params![
            doc,
            c.citizen_id,
            c.team_id,
            c.birth_year,
            c.sex,
            c.active
        ])?;
    }
    let mut stmt = tx.prepare_cached(
        "INSERT INTO rm_referrals (doc_id, referral_id, citizen_id, team_id, referred_on,
           referred_by, screened_on, screened_by, outcome, not_included_reason, course_id)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
    )?;
    for r in &rows.referrals {
        stmt.execute(params![
            doc,
            r.referral_id,
            r.citizen_id,
            r.team_id,
            r.referred_on,
            r.referred_by,
            r.screened_on,
            r.screened_by,
            r.outcome,
            r.not_included_reason,
            r.course_id
        ])?;
    }
    let mut stmt = tx.prepare_cached(
        "INSERT INTO rm_care_grants (doc_id, citizen_id, team_id, effective, minutes_per_week,
           service_code, recorded_on) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?;
    for g in &rows.care_grants {
        stmt.execute(params![
            doc,
            g.citizen_id,
            g.team_id,
            g.effective,
            g.minutes_per_week,
            g.service_code,
            g.recorded_on
        ])?;
    }
    let mut stmt = tx.prepare_cached(
        "INSERT INTO rm_courses (doc_id, course_id, citizen_id, team_id, legal_basis, start_date,
           planned_weeks, sessions_per_week, status, responsible_therapist, created_at,
           end_reason)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
    )?;
    for c in &rows.courses {
        stmt.execute(params![
            doc,
            c.course_id,
            c.citizen_id,
            c.team_id,
            c.legal_basis,
            c.start_date,
            c.planned_weeks,
            c.sessions_per_week,
            c.status,
            c.responsible_therapist,
            c.created_at,
            c.end_reason
        ])?;
    }
    let mut stmt = tx.prepare_cached(
        "INSERT INTO rm_goals (doc_id, course_id, position, attainment) VALUES (?1, ?2, ?3, ?4)",
    )?;
    for g in &rows.goals {
        stmt.execute(params![doc, g.course_id, g.position, g.attainment])?;
    }
    let mut stmt = tx.prepare_cached(
        "INSERT INTO rm_test_results (doc_id, result_id, course_id, test, phase, value, date,
           measured_by) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )?;
    for t in &rows.test_results {
        stmt.execute(params![
            doc,
            t.result_id,
            t.course_id,
            t.test,
            t.phase,
            t.value,
            t.date,
            t.measured_by
        ])?;
    }
    let mut stmt = tx.prepare_cached(
        "INSERT INTO rm_sessions (doc_id, session_id, course_id, performed_by, started_at,
           ended_at, status, not_carried_out, set_count, general_condition)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
    )?;
    for s in &rows.sessions {
        stmt.execute(params![
            doc,
            s.session_id,
            s.course_id,
            s.performed_by,
            s.started_at,
            s.ended_at,
            s.status,
            s.not_carried_out,
            s.set_count,
            s.general_condition
        ])?;
    }
    let mut stmt = tx.prepare_cached(
        "INSERT INTO rm_work (doc_id, user_id, work, last_on) VALUES (?1, ?2, ?3, ?4)",
    )?;
    for w in &rows.work {
        stmt.execute(params![doc, w.user_id, w.work, w.done_on])?;
    }
    let mut stmt = tx.prepare_cached(
        "INSERT INTO rm_deliveries (doc_id, course_id, delivered) VALUES (?1, ?2, ?3)",
    )?;
    for d in &rows.deliveries {
        stmt.execute(params![doc, d.course_id, d.delivered])?;
    }
    let mut stmt = tx
        .prepare_cached("INSERT INTO rm_effect_settings (doc_id, settings_json) VALUES (?1, ?2)")?;
    for e in &rows.effect_settings {
        stmt.execute(params![doc, e.settings_json])?;
    }
    Ok(())
}

/// The rows stored for `doc`, in a canonical order (so stored and derived rows compare).
pub(super) fn stored_rows(conn: &Connection, doc: &[u8]) -> Result<DocumentRows> {
    fn all<T>(
        conn: &Connection,
        sql: &str,
        doc: &[u8],
        row: impl FnMut(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
    ) -> Result<Vec<T>> {
        let mut stmt = conn.prepare_cached(sql)?;
        let rows = stmt
            .query_map([doc], row)?
            .collect::<rusqlite::Result<_>>()?;
        Ok(rows)
    }
    let mut rows = DocumentRows {
        citizens: all(
            conn,
            "SELECT citizen_id, team_id, birth_year, sex, active FROM rm_citizens WHERE doc_id = ?1",
            doc,
            |r| {
                Ok(CitizenRow {
                    citizen_id: r.get(0)?,
                    team_id: r.get(1)?,
                    birth_year: r.get(2)?,
                    sex: r.get(3)?,
                    active: r.get(4)?,
                })
            },
        )?,
        referrals: all(
            conn,
            "SELECT referral_id, citizen_id, team_id, referred_on, referred_by, screened_on,
               screened_by, outcome, not_included_reason, course_id
             FROM rm_referrals WHERE doc_id = ?1",
            doc,
            |r| {
                Ok(ReferralRow {
                    referral_id: r.get(0)?,
                    citizen_id: r.get(1)?,
                    team_id: r.get(2)?,
                    referred_on: r.get(3)?,
                    referred_by: r.get(4)?,
                    screened_on: r.get(5)?,
                    screened_by: r.get(6)?,
                    outcome: r.get(7)?,
                    not_included_reason: r.get(8)?,
                    course_id: r.get(9)?,
                })
            },
        )?,
        care_grants: all(
            conn,
            "SELECT citizen_id, team_id, effective, minutes_per_week, service_code,
               COALESCE(recorded_on, '')
             FROM rm_care_grants WHERE doc_id = ?1",
            doc,
            |r| {
                Ok(CareGrantRow {
                    citizen_id: r.get(0)?,
                    team_id: r.get(1)?,
                    effective: r.get(2)?,
                    minutes_per_week: r.get(3)?,
                    service_code: r.get(4)?,
                    recorded_on: r.get(5)?,
                })
            },
        )?,
        courses: all(
            conn,
            "SELECT course_id, citizen_id, team_id, legal_basis, start_date, planned_weeks,
               sessions_per_week, status, responsible_therapist, created_at, end_reason
             FROM rm_courses WHERE doc_id = ?1",
            doc,
            |r| {
                Ok(CourseRow {
                    course_id: r.get(0)?,
                    citizen_id: r.get(1)?,
                    team_id: r.get(2)?,
                    legal_basis: r.get(3)?,
                    start_date: r.get(4)?,
                    planned_weeks: r.get(5)?,
                    sessions_per_week: r.get(6)?,
                    status: r.get(7)?,
                    responsible_therapist: r.get(8)?,
                    created_at: r.get(9)?,
                    end_reason: r.get(10)?,
                })
            },
        )?,
        goals: all(
            conn,
            "SELECT course_id, position, attainment FROM rm_goals WHERE doc_id = ?1",
            doc,
            |r| {
                Ok(GoalRow {
                    course_id: r.get(0)?,
                    position: r.get(1)?,
                    attainment: r.get(2)?,
                })
            },
        )?,
        test_results: all(
            conn,
            "SELECT result_id, course_id, test, phase, value, date, measured_by
             FROM rm_test_results WHERE doc_id = ?1",
            doc,
            |r| {
                Ok(TestResultRow {
                    result_id: r.get(0)?,
                    course_id: r.get(1)?,
                    test: r.get(2)?,
                    phase: r.get(3)?,
                    value: r.get(4)?,
                    date: r.get(5)?,
                    measured_by: r.get(6)?,
                })
            },
        )?,
        sessions: all(
            conn,
            "SELECT session_id, course_id, performed_by, started_at, ended_at, status,
               not_carried_out, set_count, general_condition FROM rm_sessions WHERE doc_id = ?1",
            doc,
            |r| {
                Ok(SessionRow {
                    session_id: r.get(0)?,
                    course_id: r.get(1)?,
                    performed_by: r.get(2)?,
                    started_at: r.get(3)?,
                    ended_at: r.get(4)?,
                    status: r.get(5)?,
                    not_carried_out: r.get(6)?,
                    set_count: r.get(7)?,
                    general_condition: r.get(8)?,
                })
            },
        )?,
        work: all(
            conn,
            "SELECT user_id, work, last_on FROM rm_work WHERE doc_id = ?1",
            doc,
            |r| {
                Ok(WorkRow {
                    user_id: r.get(0)?,
                    work: r.get(1)?,
                    done_on: r.get(2)?,
                })
            },
        )?,
        deliveries: all(
            conn,
            "SELECT course_id, delivered FROM rm_deliveries WHERE doc_id = ?1",
            doc,
            |r| {
                Ok(DeliveryRow {
                    course_id: r.get(0)?,
                    delivered: r.get(1)?,
                })
            },
        )?,
        effect_settings: all(
            conn,
            "SELECT settings_json FROM rm_effect_settings WHERE doc_id = ?1",
            doc,
            |r| {
                Ok(EffectSettingsRow {
                    settings_json: r.get(0)?,
                })
            },
        )?,
    };
    rows.sort();
    Ok(rows)
}

/// Every document id the store holds and whether it is pending.
pub(super) fn documents(conn: &Connection) -> Result<Vec<(Vec<u8>, bool)>> {
    let mut stmt = conn.prepare(
        "SELECT d.id, p.doc_id IS NOT NULL FROM documents d
         LEFT JOIN rm_pending p ON p.doc_id = d.id ORDER BY d.id",
    )?;
    let rows = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<rusqlite::Result<_>>()?;
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use crate::store::{DocumentStore, SqliteStore};
    use automerge::ActorId;
    use homerehab_shared::docs::{genesis, Header};
    use homerehab_shared::ids::{CourseId, TeamId};

    /// Commits `doc` again at the heads stored (a sync's commit: the document pending again).
    fn commit(store: &SqliteStore, header: &Header, doc: &automerge::Automerge) {
        store
            .commit_document(
                header,
                &store.stored_heads(header.id).unwrap().unwrap_or_default(),
                doc,
                &[],
            )
            .unwrap();
    }

    /// A projector's write of `id`'s rows read at `version`: whether it settled.
    fn replace(store: &SqliteStore, id: &[u8], version: i64) -> bool {
        let mut conn = store.conn();
        let tx = conn.transaction().unwrap();
        let written = super::replace(&tx, id, version, &Default::default()).unwrap();
        tx.commit().unwrap();
        written
    }

    fn a_session_log(store: &SqliteStore) -> (Header, automerge::Automerge) {
        let header = Header::session_log(TeamId::new(), CourseId::new());
        let doc = genesis(&header).with_actor(ActorId::random());
        commit(store, &header, &doc);
        (header, doc)
    }

    #[test]
    fn a_document_changed_while_being_projected_stays_pending() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("db.sqlite3")).unwrap();
        let (header, doc) = a_session_log(&store);
        let (id, version) = super::pending(&store.conn(), 10).unwrap()[0].clone();
        // A sync commits again between reading the document and writing its rows.
        commit(&store, &header, &doc);
        assert!(
            !replace(&store, &id, version),
            "stale rows must not settle a newer version"
        );
        assert_eq!(super::pending_count(&store.conn()).unwrap(), 1);
    }

    /// Two projectors read a document at one version; one settles it (the row goes), a sync
    /// marks it again, and the other, holding rows read before that sync, comes to settle:
    /// the new mark must not look like the one it read.
    #[test]
    fn a_document_marked_again_after_another_projector_settled_it_stays_pending() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("db.sqlite3")).unwrap();
        let (header, doc) = a_session_log(&store);
        for _ in 0..10 {
            let (id, version) = super::pending(&store.conn(), 10).unwrap()[0].clone();
            // Both projectors read it at `version`; the first settles.
            assert!(replace(&store, &id, version));
            commit(&store, &header, &doc);
            assert!(
                !replace(&store, &id, version),
                "rows read before the last commit settled it"
            );
            assert_eq!(super::pending_count(&store.conn()).unwrap(), 1);
        }
    }
}
