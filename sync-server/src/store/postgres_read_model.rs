//! The read model's SQL for PostgreSQL: the same `rm_*` tables, cursor and rules as
//! `sqlite_read_model` (see its doc comment), rows from
//! [`homerehab_shared::read_model::rows_of`]. Ids from documents are `TEXT COLLATE "C"`, so
//! they sort by bytes; the document a row comes from is `doc_id UUID`.
//!
//! Several servers may project at once ([`write_round`]). Projectors of one document take
//! turns on an advisory lock ([`lock_projection`]), held to the end of their round's transaction; the later one reads the
//! document's pending version after the first committed, so of two projectors of one document
//! one writes rows and the other finds it settled. The `rm_pending` row itself is deleted at the
//! version read only at the end of the round ([`settle`]): a sync marking the document pending
//! again waits for no projector's whole round (it did, holding its own documents' row locks
//! meanwhile), and a commit in between leaves the document pending, to be projected again.

use crate::error::{Error, Result};
use homerehab_shared::read_model::{
    CareGrantRow, CitizenRow, CourseRow, DeliveryRow, DocumentRows, EffectSettingsRow, GoalRow,
    ReferralRow, SessionRow, TestResultRow, WorkRow,
};
use postgres::types::{ToSql, Type};
use postgres::GenericClient;
use uuid::Uuid;

/// The read model's tables with every column and index SQLite's migrations gave them.
pub(super) const SCHEMA: &str = r#"
CREATE TABLE rm_pending (doc_id UUID PRIMARY KEY, version BIGINT NOT NULL);
INSERT INTO rm_pending (doc_id, version) SELECT id, 1 FROM documents;
CREATE TABLE rm_failures (doc_id UUID PRIMARY KEY, error TEXT NOT NULL, at BIGINT NOT NULL);
CREATE TABLE rm_citizens (
    doc_id UUID NOT NULL, citizen_id TEXT COLLATE "C" NOT NULL, team_id TEXT COLLATE "C" NOT NULL,
    birth_year INTEGER, sex TEXT COLLATE "C", active BOOLEAN NOT NULL
);
CREATE INDEX rm_citizens_doc ON rm_citizens(doc_id);
CREATE INDEX rm_citizens_team ON rm_citizens(team_id);
CREATE TABLE rm_referrals (
    doc_id UUID NOT NULL, referral_id TEXT COLLATE "C" NOT NULL,
    citizen_id TEXT COLLATE "C" NOT NULL, team_id TEXT COLLATE "C" NOT NULL,
    referred_on TEXT COLLATE "C" NOT NULL, referred_by TEXT COLLATE "C" NOT NULL,
    screened_on TEXT COLLATE "C", screened_by TEXT COLLATE "C", outcome TEXT COLLATE "C",
    not_included_reason TEXT COLLATE "C", course_id TEXT COLLATE "C"
);
CREATE INDEX rm_referrals_doc ON rm_referrals(doc_id);
CREATE INDEX rm_referrals_team ON rm_referrals(team_id, referred_on);
CREATE TABLE rm_care_grants (
    doc_id UUID NOT NULL, citizen_id TEXT COLLATE "C" NOT NULL, team_id TEXT COLLATE "C" NOT NULL,
    effective TEXT COLLATE "C" NOT NULL, minutes_per_week BIGINT NOT NULL,
    service_code TEXT COLLATE "C"
);
CREATE INDEX rm_care_grants_doc ON rm_care_grants(doc_id);
CREATE INDEX rm_care_grants_facts ON rm_care_grants(
    citizen_id, effective, service_code NULLS FIRST, minutes_per_week
);
CREATE TABLE rm_courses (
    doc_id UUID NOT NULL, course_id TEXT COLLATE "C" NOT NULL,
    citizen_id TEXT COLLATE "C" NOT NULL, team_id TEXT COLLATE "C" NOT NULL,
    legal_basis TEXT COLLATE "C" NOT NULL, start_date TEXT COLLATE "C" NOT NULL,
    planned_weeks BIGINT NOT NULL, sessions_per_week BIGINT NOT NULL,
    status TEXT COLLATE "C" NOT NULL, responsible_therapist TEXT COLLATE "C" NOT NULL,
    created_at BIGINT NOT NULL, end_reason TEXT COLLATE "C"
);
CREATE INDEX rm_courses_doc ON rm_courses(doc_id);
CREATE INDEX rm_courses_team ON rm_courses(team_id, start_date);
CREATE INDEX rm_courses_course ON rm_courses(course_id);
CREATE INDEX rm_courses_status ON rm_courses(status, team_id);
CREATE INDEX rm_courses_cohort ON rm_courses(status, course_id, start_date);
CREATE TABLE rm_goals (
    doc_id UUID NOT NULL, course_id TEXT COLLATE "C" NOT NULL, position BIGINT NOT NULL,
    attainment TEXT COLLATE "C"
);
CREATE INDEX rm_goals_doc ON rm_goals(doc_id);
CREATE TABLE rm_test_results (
    doc_id UUID NOT NULL, result_id TEXT COLLATE "C" NOT NULL, course_id TEXT COLLATE "C" NOT NULL,
    test TEXT COLLATE "C" NOT NULL, phase TEXT COLLATE "C" NOT NULL, value DOUBLE PRECISION NOT NULL,
    date TEXT COLLATE "C" NOT NULL, measured_by TEXT COLLATE "C" NOT NULL
);
CREATE INDEX rm_test_results_doc ON rm_test_results(doc_id);
CREATE INDEX rm_test_results_course ON rm_test_results(course_id, result_id);
CREATE TABLE rm_sessions (
    doc_id UUID NOT NULL, session_id TEXT COLLATE "C" NOT NULL, course_id TEXT COLLATE "C" NOT NULL,
    performed_by TEXT COLLATE "C" NOT NULL, started_at BIGINT NOT NULL, ended_at BIGINT,
    status TEXT COLLATE "C" NOT NULL, not_carried_out TEXT COLLATE "C", set_count BIGINT NOT NULL,
    general_condition SMALLINT
);
CREATE INDEX rm_sessions_doc ON rm_sessions(doc_id);
CREATE INDEX rm_sessions_course ON rm_sessions(course_id, started_at);
CREATE TABLE rm_work (
    doc_id UUID NOT NULL, user_id TEXT COLLATE "C" NOT NULL, work TEXT COLLATE "C" NOT NULL,
    last_on TEXT COLLATE "C" NOT NULL
);
CREATE INDEX rm_work_doc ON rm_work(doc_id);
CREATE INDEX rm_work_user ON rm_work(user_id, work, last_on);
CREATE TABLE rm_deliveries (
    doc_id UUID NOT NULL, course_id TEXT COLLATE "C" NOT NULL, delivered BIGINT NOT NULL
);
CREATE INDEX rm_deliveries_doc ON rm_deliveries(doc_id);
CREATE INDEX rm_deliveries_sum ON rm_deliveries(course_id, delivered);
CREATE TABLE rm_effect_settings (doc_id UUID NOT NULL, settings_json TEXT NOT NULL);
CREATE INDEX rm_effect_settings_doc ON rm_effect_settings(doc_id);
"#;

/// Every read-model table of a document's rows.
pub(super) const TABLES: [&str; 10] = [
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

/// The statement that marks document `$1` pending (its rows are due again) where `$cond` holds:
/// an SQL condition, `"TRUE"` or that a CTE of the statement it ends wrote a row (the commits
/// `postgres::GROWN_AT_BASE` and `REPLACED_AT_BASE` mark the document in the same statement).
///
/// The version is the marking transaction's id, which no other transaction has: counted from
/// 1, a mark made after another projector had settled (and deleted) the row was version 1
/// again, and a projector still holding rows read at the old 1 settled with them (stale rows
/// for good, or an erased citizen's written back).
macro_rules! mark_pending_where_sql {
    ($cond:literal) => {
        concat!(
            "INSERT INTO rm_pending (doc_id, version) \
             SELECT $1, pg_current_xact_id()::text::bigint WHERE ",
            $cond,
            " ON CONFLICT (doc_id) DO UPDATE SET version = excluded.version"
        )
    };
}
pub(super) use mark_pending_where_sql;

/// In the sync's transaction: the document changed, so its rows are due again.
pub(super) fn mark_pending(
    tx: &mut impl GenericClient,
    prepared: &mut super::postgres_pool::Prepared,
    doc: Uuid,
) -> Result<()> {
    prepared.query(tx, mark_pending_where_sql!("TRUE"), &[(&doc, Type::UUID)])?;
    Ok(())
}

/// Up to `limit` pending documents and the version each was pending at, from a random place
/// in the key order onwards (wrapping around): the projectors of several servers mostly take
/// different documents rather than all deriving the same first ones.
pub(super) fn pending(client: &mut impl GenericClient, limit: usize) -> Result<Vec<(Uuid, i64)>> {
    client
        .query(
            "(SELECT doc_id, version FROM rm_pending WHERE doc_id >= $1 ORDER BY doc_id LIMIT $2)
             UNION ALL
             (SELECT doc_id, version FROM rm_pending WHERE doc_id < $1 ORDER BY doc_id LIMIT $2)
             LIMIT $2",
            &[&Uuid::new_v4(), &(limit as i64)],
        )?
        .iter()
        .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
        .collect()
}

pub(super) fn pending_count(client: &mut impl GenericClient) -> Result<u64> {
    let n: i64 = client
        .query_one("SELECT COUNT(*) FROM rm_pending", &[])?
        .try_get(0)?;
    Ok(n as u64)
}

/// The advisory lock class of the projectors' turns (`pg_advisory_xact_lock(int, int)`: a key
/// space apart from the documents' single-key locks).
const PROJECTOR_LOCK_CLASS: i32 = 0x726d; // "rm"

/// Writes a projection round (its documents in the order of their ids) in the caller's
/// transaction and returns which were settled. In round trips: one turn per document, then for
/// the whole round one read of the pending versions and one delete per read-model table, then
/// each document's new rows (a statement per table it has rows in), then one settle per
/// document. A document another projector settled, or one changed since it was read, is not
/// written; one changed while the round ran stays pending (its rows are projected again).
pub(super) fn write_round(
    tx: &mut impl GenericClient,
    round: &[super::Projection],
    now: i64,
) -> Result<Vec<bool>> {
    for p in round {
        lock_projection(tx, p.doc.0)?;
    }
    let ids: Vec<Uuid> = round.iter().map(|p| p.doc.0).collect();
    let pending = pending_versions(tx, &ids)?;
    // The round's projections still current: by their place in the round.
    let claimed: Vec<usize> = (0..round.len())
        .filter(|&i| pending.get(&round[i].doc.0) == Some(&round[i].version))
        .collect();
    let mut settled = vec![false; round.len()];
    if claimed.is_empty() {
        // Every one changed again or was settled by another projector: nothing to write.
        return Ok(settled);
    }
    let claimed_ids: Vec<Uuid> = claimed.iter().map(|&i| round[i].doc.0).collect();
    delete_rows_of(tx, &claimed_ids)?;
    tx.query_typed(
        "DELETE FROM rm_failures WHERE doc_id = ANY($1)",
        &[(&claimed_ids, Type::UUID_ARRAY)],
    )?;
    for p in claimed.iter().map(|&i| &round[i]) {
        match &p.rows {
            Ok(rows) => insert_rows(tx, p.doc.0, rows)?,
            // Set aside (see `sqlite_read_model::fail`).
            Err(error) => {
                tx.query_typed(
                    "INSERT INTO rm_failures (doc_id, error, at) VALUES ($1, $2, $3)",
                    &[
                        (&p.doc.0, Type::UUID),
                        (error, Type::TEXT),
                        (&now, Type::INT8),
                    ],
                )?;
            }
        }
    }
    let written: Vec<(Uuid, i64)> = claimed
        .iter()
        .map(|&i| (round[i].doc.0, round[i].version))
        .collect();
    for (&i, done) in claimed.iter().zip(settle(tx, &written)?) {
        settled[i] = done;
    }
    Ok(settled)
}

/// The version each of `docs` is pending at (absent: not pending), read without locking a row
/// a sync writes.
fn pending_versions(
    tx: &mut impl GenericClient,
    docs: &[Uuid],
) -> Result<std::collections::HashMap<Uuid, i64>> {
    tx.query_typed(
        "SELECT doc_id, version FROM rm_pending WHERE doc_id = ANY($1)",
        &[(&docs, Type::UUID_ARRAY)],
    )?
    .iter()
    .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
    .collect()
}

/// Waits for any projector writing `doc`'s rows to commit, and keeps others from starting
/// until this transaction ends: projectors of one document take turns on it, and an erasure
/// takes it, so no row of an erased document is written beside its delete. Take several in
/// the order of the documents' ids.
pub(super) fn lock_projection(tx: &mut impl GenericClient, doc: Uuid) -> Result<()> {
    let key = i32::from_be_bytes(doc.as_bytes()[..4].try_into().expect("16 bytes"));
    tx.query_typed(
        "SELECT pg_advisory_xact_lock($1, $2)",
        &[(&PROJECTOR_LOCK_CLASS, Type::INT4), (&key, Type::INT4)],
    )?;
    Ok(())
}

/// At the end of a round, for each document written (in the order of their ids, as syncs mark
/// them pending): whether it is still pending at the version its rows were derived from, now
/// settled. One changed since stays pending: its rows are projected again.
fn settle(tx: &mut impl GenericClient, written: &[(Uuid, i64)]) -> Result<Vec<bool>> {
    if written.is_empty() {
        return Ok(vec![]);
    }
    let statement = tx.prepare("DELETE FROM rm_pending WHERE doc_id = $1 AND version = $2")?;
    written
        .iter()
        .map(|(doc, version)| Ok(tx.execute(&statement, &[doc, version])? == 1))
        .collect()
}

pub(super) fn failure_count(client: &mut impl GenericClient) -> Result<u64> {
    let n: i64 = client
        .query_one("SELECT COUNT(*) FROM rm_failures", &[])?
        .try_get(0)?;
    Ok(n as u64)
}

/// Appended to the migrations: `rm_work` holds every day of each kind of work, not only the
/// latest (SQLite's `MIGRATION_WORK_DAYS`, where the column's kept name is explained: servers
/// of the release before keep working beside this one); courses and session logs are
/// projected again, also dating their work and WHO-5 by the Danish day.
pub(super) const WORK_DAYS: &str = r#"
INSERT INTO rm_pending (doc_id, version) SELECT id, 1 FROM documents
    WHERE kind IN ('course', 'session_log')
    ON CONFLICT (doc_id) DO UPDATE SET version = rm_pending.version + 1;
"#;

/// Appended to the migrations: a grant row says when it was recorded (SQLite's
/// `MIGRATION_GRANTS_RECORDED`, which says why); rosters are projected again to fill it, with
/// a fresh mark as `reset` makes one.
pub(super) const GRANTS_RECORDED: &str = r#"
ALTER TABLE rm_care_grants ADD COLUMN recorded_on TEXT;
DROP INDEX rm_care_grants_facts;
CREATE INDEX rm_care_grants_facts ON rm_care_grants(
    citizen_id, effective, service_code NULLS FIRST, minutes_per_week
) INCLUDE (recorded_on);
INSERT INTO rm_pending (doc_id, version)
    SELECT id, pg_current_xact_id()::text::bigint FROM documents WHERE kind = 'roster'
    ON CONFLICT (doc_id) DO UPDATE SET version = excluded.version;
"#;

/// `ReadModelStore::remark_grants_without_day`.
pub(super) const REMARK_GRANTS_WITHOUT_DAY: &str = "
INSERT INTO rm_pending (doc_id, version)
    SELECT doc_id, pg_current_xact_id()::text::bigint
    FROM (SELECT DISTINCT doc_id FROM rm_care_grants WHERE recorded_on IS NULL) AS without_day
    ON CONFLICT (doc_id) DO UPDATE SET version = excluded.version";

/// Empties the tables and marks every document pending: the start of a rebuild.
pub(super) fn reset(tx: &mut impl GenericClient) -> Result<()> {
    tx.batch_execute(&format!("TRUNCATE {}, rm_failures", TABLES.join(", ")))?;
    tx.execute(
        "INSERT INTO rm_pending (doc_id, version)
         SELECT id, pg_current_xact_id()::text::bigint FROM documents
         ON CONFLICT (doc_id) DO UPDATE SET version = excluded.version",
        &[],
    )?;
    Ok(())
}

/// Deletes the read model's rows of `docs`: one statement per table however many.
pub(super) fn delete_rows_of(tx: &mut impl GenericClient, docs: &[Uuid]) -> Result<()> {
    if docs.is_empty() {
        return Ok(());
    }
    for table in TABLES {
        tx.query_typed(
            &format!("DELETE FROM {table} WHERE doc_id = ANY($1)"),
            &[(&docs, Type::UUID_ARRAY)],
        )?;
    }
    Ok(())
}

fn wide(n: u32) -> i64 {
    i64::from(n)
}

pub(super) fn narrow(n: i64, what: &str) -> Result<u32> {
    u32::try_from(n).map_err(|_| Error::Corrupt(format!("{what} of {n} in the read model")))
}

/// One value of a row to insert.
type Value<'a> = &'a (dyn ToSql + Sync);

/// Inserts `rows` (each the values of `columns`, in order) into `table`: one statement per up
/// to [`MAX_PARAMETERS`] values rather than one round trip per row (a year of sessions is
/// hundreds of rows).
fn insert_all(
    tx: &mut impl GenericClient,
    table: &str,
    columns: &[&str],
    rows: &[Vec<Value<'_>>],
) -> Result<()> {
    insert_all_within(tx, table, columns, rows, MAX_PARAMETERS)
}

fn insert_all_within(
    tx: &mut impl GenericClient,
    table: &str,
    columns: &[&str],
    rows: &[Vec<Value<'_>>],
    max_parameters: usize,
) -> Result<()> {
    let per_statement = (max_parameters / columns.len()).max(1);
    for chunk in rows.chunks(per_statement) {
        let mut sql = format!("INSERT INTO {table} ({}) VALUES ", columns.join(", "));
        let mut values: Vec<Value<'_>> = Vec::with_capacity(chunk.len() * columns.len());
        for (i, row) in chunk.iter().enumerate() {
            debug_assert_eq!(row.len(), columns.len());
            sql.push_str(if i == 0 { "(" } else { ", (" });
            for (j, value) in row.iter().enumerate() {
                values.push(*value);
                if j > 0 {
                    sql.push_str(", ");
                }
                sql.push_str(&format!("${}", values.len()));
            }
            sql.push(')');
        }
        tx.execute(&sql, &values)?;
    }
    Ok(())
}

/// Parameters of one statement: PostgreSQL takes at most 65,535.
const MAX_PARAMETERS: usize = 60_000;

pub(super) fn insert_rows(
    tx: &mut impl GenericClient,
    doc: Uuid,
    rows: &DocumentRows,
) -> Result<()> {
    let doc: Value<'_> = &doc;
    insert_all(
        tx,
        "rm_citizens",
        &[
            "doc_id",
            "citizen_id",
            "team_id",
            "birth_year",
            "sex",
            "active",
        ],
        &rows
            .citizens
            .iter()
            .map(|c| -> Vec<Value<'_>> {
                vec![
                    doc,
                    &c.citizen_id,
                    &c.team_id,
                    &c.birth_year,
                    &c.sex,
                    &c.active,
                ]
            })
            .collect::<Vec<_>>(),
    )?;
    insert_all(
        tx,
        "rm_referrals",
        &[
            "doc_id",
            "referral_id",
            "citizen_id",
            "team_id",
            "referred_on",
            "referred_by",
            "screened_on",
            "screened_by",
            "outcome",
            "not_included_reason",
            "course_id",
        ],
        &rows
            .referrals
            .iter()
            .map(|r| -> Vec<Value<'_>> {
                vec![
                    doc,
                    &r.referral_id,
                    &r.citizen_id,
                    &r.team_id,
                    &r.referred_on,
                    &r.referred_by,
                    &r.screened_on,
                    &r.screened_by,
                    &r.outcome,
                    &r.not_included_reason,
                    &r.course_id,
                ]
            })
            .collect::<Vec<_>>(),
    )?;
    let minutes: Vec<i64> = rows
        .care_grants
        .iter()
        .map(|g| wide(g.minutes_per_week))
        .collect();
    insert_all(
        tx,
        "rm_care_grants",
        &[
            "doc_id",
            "citizen_id",
            "team_id",
            "effective",
            "minutes_per_week",
            "service_code",
            "recorded_on",
        ],
        &rows
            .care_grants
            .iter()
            .zip(&minutes)
            .map(|(g, minutes)| -> Vec<Value<'_>> {
                vec![
                    doc,
                    &g.citizen_id,
                    &g.team_id,
                    &g.effective,
                    minutes,
                    &g.service_code,
                    &g.recorded_on,
                ]
            })
            .collect::<Vec<_>>(),
    )?;
    let weeks: Vec<(i64, i64)> = rows
        .courses
        .iter()
        .map(|c| (wide(c.planned_weeks), wide(c.sessions_per_week)))
        .collect();
    insert_all(
        tx,
        "rm_courses",
        &[
            "doc_id",
            "course_id",
            "citizen_id",
            "team_id",
            "legal_basis",
            "start_date",
            "planned_weeks",
            "sessions_per_week",
            "status",
            "responsible_therapist",
            "created_at",
            "end_reason",
        ],
        &rows
            .courses
            .iter()
            .zip(&weeks)
            .map(|(c, (planned, per_week))| -> Vec<Value<'_>> {
                vec![
                    doc,
                    &c.course_id,
                    &c.citizen_id,
                    &c.team_id,
                    &c.legal_basis,
                    &c.start_date,
                    planned,
                    per_week,
                    &c.status,
                    &c.responsible_therapist,
                    &c.created_at,
                    &c.end_reason,
                ]
            })
            .collect::<Vec<_>>(),
    )?;
    let positions: Vec<i64> = rows.goals.iter().map(|g| wide(g.position)).collect();
    insert_all(
        tx,
        "rm_goals",
        &["doc_id", "course_id", "position", "attainment"],
        &rows
            .goals
            .iter()
            .zip(&positions)
            .map(|(g, position)| -> Vec<Value<'_>> {
                vec![doc, &g.course_id, position, &g.attainment]
            })
            .collect::<Vec<_>>(),
    )?;
    insert_all(
        tx,
        "rm_test_results",
        &[
            "doc_id",
            "result_id",
            "course_id",
            "test",
            "phase",
            "value",
            "date",
            "measured_by",
        ],
        &rows
            .test_results
            .iter()
            .map(|t| -> Vec<Value<'_>> {
                vec![
                    doc,
                    &t.result_id,
                    &t.course_id,
                    &t.test,
                    &t.phase,
                    &t.value,
                    &t.date,
                    &t.measured_by,
                ]
            })
            .collect::<Vec<_>>(),
    )?;
    let counts: Vec<(i64, Option<i16>)> = rows
        .sessions
        .iter()
        .map(|s| (wide(s.set_count), s.general_condition.map(i16::from)))
        .collect();
    insert_all(
        tx,
        "rm_sessions",
        &[
            "doc_id",
            "session_id",
            "course_id",
            "performed_by",
            "started_at",
            "ended_at",
            "status",
            "not_carried_out",
            "set_count",
            "general_condition",
        ],
        &rows
            .sessions
            .iter()
            .zip(&counts)
            .map(|(s, (sets, condition))| -> Vec<Value<'_>> {
                vec![
                    doc,
                    &s.session_id,
                    &s.course_id,
                    &s.performed_by,
                    &s.started_at,
                    &s.ended_at,
                    &s.status,
                    &s.not_carried_out,
                    sets,
                    condition,
                ]
            })
            .collect::<Vec<_>>(),
    )?;
    insert_all(
        tx,
        "rm_work",
        &["doc_id", "user_id", "work", "last_on"],
        &rows
            .work
            .iter()
            .map(|w| -> Vec<Value<'_>> { vec![doc, &w.user_id, &w.work, &w.done_on] })
            .collect::<Vec<_>>(),
    )?;
    let delivered: Vec<i64> = rows.deliveries.iter().map(|d| wide(d.delivered)).collect();
    insert_all(
        tx,
        "rm_deliveries",
        &["doc_id", "course_id", "delivered"],
        &rows
            .deliveries
            .iter()
            .zip(&delivered)
            .map(|(d, delivered)| -> Vec<Value<'_>> { vec![doc, &d.course_id, delivered] })
            .collect::<Vec<_>>(),
    )?;
    insert_all(
        tx,
        "rm_effect_settings",
        &["doc_id", "settings_json"],
        &rows
            .effect_settings
            .iter()
            .map(|e| -> Vec<Value<'_>> { vec![doc, &e.settings_json] })
            .collect::<Vec<_>>(),
    )?;
    Ok(())
}

/// The rows stored for `doc`, in a canonical order (so stored and derived rows compare).
pub(super) fn stored_rows(client: &mut impl GenericClient, doc: Uuid) -> Result<DocumentRows> {
    fn all<T>(
        client: &mut impl GenericClient,
        sql: &str,
        doc: Uuid,
        row: impl Fn(&postgres::Row) -> Result<T>,
    ) -> Result<Vec<T>> {
        client.query(sql, &[&doc])?.iter().map(row).collect()
    }
    let mut rows = DocumentRows {
        citizens: all(
            client,
            "SELECT citizen_id, team_id, birth_year, sex, active FROM rm_citizens WHERE doc_id = $1",
            doc,
            |r| {
                Ok(CitizenRow {
                    citizen_id: r.try_get(0)?,
                    team_id: r.try_get(1)?,
                    birth_year: r.try_get(2)?,
                    sex: r.try_get(3)?,
                    active: r.try_get(4)?,
                })
            },
        )?,
        referrals: all(
            client,
            "SELECT referral_id, citizen_id, team_id, referred_on, referred_by, screened_on,
               screened_by, outcome, not_included_reason, course_id
             FROM rm_referrals WHERE doc_id = $1",
            doc,
            |r| {
                Ok(ReferralRow {
                    referral_id: r.try_get(0)?,
                    citizen_id: r.try_get(1)?,
                    team_id: r.try_get(2)?,
                    referred_on: r.try_get(3)?,
                    referred_by: r.try_get(4)?,
                    screened_on: r.try_get(5)?,
                    screened_by: r.try_get(6)?,
                    outcome: r.try_get(7)?,
                    not_included_reason: r.try_get(8)?,
                    course_id: r.try_get(9)?,
                })
            },
        )?,
        care_grants: all(
            client,
            "SELECT citizen_id, team_id, effective, minutes_per_week, service_code,
               COALESCE(recorded_on, '')
             FROM rm_care_grants WHERE doc_id = $1",
            doc,
            |r| {
                Ok(CareGrantRow {
                    citizen_id: r.try_get(0)?,
                    team_id: r.try_get(1)?,
                    effective: r.try_get(2)?,
                    minutes_per_week: narrow(r.try_get(3)?, "minutes per week")?,
                    service_code: r.try_get(4)?,
                    recorded_on: r.try_get(5)?,
                })
            },
        )?,
        courses: all(
            client,
            "SELECT course_id, citizen_id, team_id, legal_basis, start_date, planned_weeks,
               sessions_per_week, status, responsible_therapist, created_at, end_reason
             FROM rm_courses WHERE doc_id = $1",
            doc,
            |r| {
                Ok(CourseRow {
                    course_id: r.try_get(0)?,
                    citizen_id: r.try_get(1)?,
                    team_id: r.try_get(2)?,
                    legal_basis: r.try_get(3)?,
                    start_date: r.try_get(4)?,
                    planned_weeks: narrow(r.try_get(5)?, "planned weeks")?,
                    sessions_per_week: narrow(r.try_get(6)?, "sessions per week")?,
                    status: r.try_get(7)?,
                    responsible_therapist: r.try_get(8)?,
                    created_at: r.try_get(9)?,
                    end_reason: r.try_get(10)?,
                })
            },
        )?,
        goals: all(
            client,
            "SELECT course_id, position, attainment FROM rm_goals WHERE doc_id = $1",
            doc,
            |r| {
                Ok(GoalRow {
                    course_id: r.try_get(0)?,
                    position: narrow(r.try_get(1)?, "a goal's position")?,
                    attainment: r.try_get(2)?,
                })
            },
        )?,
        test_results: all(
            client,
            "SELECT result_id, course_id, test, phase, value, date, measured_by
             FROM rm_test_results WHERE doc_id = $1",
            doc,
            |r| {
                Ok(TestResultRow {
                    result_id: r.try_get(0)?,
                    course_id: r.try_get(1)?,
                    test: r.try_get(2)?,
                    phase: r.try_get(3)?,
                    value: r.try_get(4)?,
                    date: r.try_get(5)?,
                    measured_by: r.try_get(6)?,
                })
            },
        )?,
        sessions: all(
            client,
            "SELECT session_id, course_id, performed_by, started_at, ended_at, status,
               not_carried_out, set_count, general_condition FROM rm_sessions WHERE doc_id = $1",
            doc,
            |r| {
                Ok(SessionRow {
                    session_id: r.try_get(0)?,
                    course_id: r.try_get(1)?,
                    performed_by: r.try_get(2)?,
                    started_at: r.try_get(3)?,
                    ended_at: r.try_get(4)?,
                    status: r.try_get(5)?,
                    not_carried_out: r.try_get(6)?,
                    set_count: narrow(r.try_get(7)?, "a set count")?,
                    general_condition: r
                        .try_get::<_, Option<i16>>(8)?
                        .map(|g| {
                            u8::try_from(g).map_err(|_| {
                                Error::Corrupt(format!("general condition {g} in the read model"))
                            })
                        })
                        .transpose()?,
                })
            },
        )?,
        work: all(
            client,
            "SELECT user_id, work, last_on FROM rm_work WHERE doc_id = $1",
            doc,
            |r| {
                Ok(WorkRow {
                    user_id: r.try_get(0)?,
                    work: r.try_get(1)?,
                    done_on: r.try_get(2)?,
                })
            },
        )?,
        deliveries: all(
            client,
            "SELECT course_id, delivered FROM rm_deliveries WHERE doc_id = $1",
            doc,
            |r| {
                Ok(DeliveryRow {
                    course_id: r.try_get(0)?,
                    delivered: narrow(r.try_get(1)?, "sessions delivered")?,
                })
            },
        )?,
        effect_settings: all(
            client,
            "SELECT settings_json FROM rm_effect_settings WHERE doc_id = $1",
            doc,
            |r| {
                Ok(EffectSettingsRow {
                    settings_json: r.try_get(0)?,
                })
            },
        )?,
    };
    rows.sort();
    Ok(rows)
}

/// Every document id the store holds and whether it is pending.
pub(super) fn documents(client: &mut impl GenericClient) -> Result<Vec<(Uuid, bool)>> {
    client
        .query(
            "SELECT d.id, p.doc_id IS NOT NULL FROM documents d
             LEFT JOIN rm_pending p ON p.doc_id = d.id ORDER BY d.id",
            &[],
        )?
        .iter()
        .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Rows beyond one statement's parameters go in further statements, every one of them.
    /// Needs a PostgreSQL server (`scripts/with-postgres`); says so and passes without.
    #[test]
    fn rows_beyond_one_statement_are_all_inserted() {
        let Some(mut client) = super::super::postgres_pool::test_client() else {
            return;
        };
        // A table of this session only: nothing to clean up.
        client
            .batch_execute("CREATE TEMP TABLE t (a BIGINT NOT NULL, b TEXT)")
            .unwrap();
        let rows: Vec<(i64, Option<String>)> = (0..25)
            .map(|i| (i, (i % 3 != 0).then(|| format!("r{i}"))))
            .collect();
        let values: Vec<Vec<Value<'_>>> = rows
            .iter()
            .map(|(a, b)| -> Vec<Value<'_>> { vec![a, b] })
            .collect();
        // Five values per statement: two rows each, thirteen statements.
        insert_all_within(&mut client, "t", &["a", "b"], &values, 5).unwrap();
        let row = client
            .query_one("SELECT COUNT(*), SUM(a)::BIGINT, COUNT(b) FROM t", &[])
            .unwrap();
        let (count, sum, named): (i64, i64, i64) = (row.get(0), row.get(1), row.get(2));
        assert_eq!((count, sum, named), (25, 300, 16));
        insert_all(&mut client, "t", &["a", "b"], &[]).unwrap();
    }

    /// A projector's round and a sync marking the same document pending: the sync waits for
    /// nothing (it waited for the round's commit while the round held the pending row), and
    /// the round, finding the document changed since it read it, leaves it pending. Another
    /// projector's claim, or an erasure, waits for the round. Needs a PostgreSQL server.
    #[test]
    fn a_sync_marks_a_document_pending_without_waiting_for_a_projectors_round() {
        let Some(mut admin) = super::super::postgres_pool::test_client() else {
            return;
        };
        let db = format!("rm_turns_{}", Uuid::new_v4().simple());
        admin
            .batch_execute(&format!("CREATE DATABASE {db}"))
            .unwrap();
        let url = std::env::var("HOMEREHAB_TEST_POSTGRES").unwrap();
        let url = format!("{}/{db}", url.rsplit_once('/').unwrap().0);
        let connect = || postgres::Client::connect(&url, postgres::NoTls).unwrap();
        let (mut projector, mut sync, mut other) = (connect(), connect(), connect());
        // Whoever would wait gives up after a moment instead, with an error.
        for c in [&mut sync, &mut other] {
            c.batch_execute("SET lock_timeout = '500ms'").unwrap();
        }
        // The read model's tables (their migration reads `documents`).
        projector
            .batch_execute("CREATE TABLE documents (id UUID PRIMARY KEY)")
            .unwrap();
        projector.batch_execute(SCHEMA).unwrap();
        let doc = Uuid::new_v4();
        let mut prepared = super::super::postgres_pool::Prepared::default();
        mark_pending(&mut sync, &mut prepared, doc).unwrap();

        let mut round = projector.transaction().unwrap();
        lock_projection(&mut round, doc).unwrap();
        let first = pending_versions(&mut round, &[doc]).unwrap()[&doc];
        // Mid-round: a sync commits a change to the document.
        mark_pending(&mut sync, &mut prepared, doc).unwrap();
        // A second projector, or an erasure, waits for the round.
        let mut waiting = other.transaction().unwrap();
        assert!(lock_projection(&mut waiting, doc).is_err());
        drop(waiting);
        assert_eq!(settle(&mut round, &[(doc, first)]).unwrap(), [false]);
        round.commit().unwrap();

        // The next round: read before the change, not written; read after it, settled.
        let projection = |version| crate::store::Projection {
            doc: homerehab_shared::ids::DocumentId(doc),
            version,
            rows: Ok(DocumentRows::default()),
        };
        let second = {
            let mut read = projector.transaction().unwrap();
            pending_versions(&mut read, &[doc]).unwrap()[&doc]
        };
        let mut next = projector.transaction().unwrap();
        assert_eq!(
            write_round(&mut next, &[projection(first)], 0).unwrap(),
            [false]
        );
        assert_eq!(
            write_round(&mut next, &[projection(second)], 0).unwrap(),
            [true]
        );
        next.commit().unwrap();
        let left: i64 = sync
            .query_one("SELECT COUNT(*) FROM rm_pending", &[])
            .unwrap()
            .get(0);
        assert_eq!(left, 0);
        // Two projectors read the document at one version; one settles it (the row goes), a
        // sync marks it again, and the other comes late with rows read before that sync: the
        // new mark must not look like the one it read.
        mark_pending(&mut sync, &mut prepared, doc).unwrap();
        let read = {
            let mut read = projector.transaction().unwrap();
            pending_versions(&mut read, &[doc]).unwrap()[&doc]
        };
        let mut settled = projector.transaction().unwrap();
        assert_eq!(
            write_round(&mut settled, &[projection(read)], 0).unwrap(),
            [true]
        );
        settled.commit().unwrap();
        mark_pending(&mut sync, &mut prepared, doc).unwrap();
        let mut late = projector.transaction().unwrap();
        assert_eq!(
            write_round(&mut late, &[projection(read)], 0).unwrap(),
            [false],
            "rows read before the last commit settled it"
        );
        late.commit().unwrap();

        drop((projector, sync, other));
        admin
            .batch_execute(&format!("DROP DATABASE {db} WITH (FORCE)"))
            .unwrap();
    }
}
