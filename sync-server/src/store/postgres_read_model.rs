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
/// the whole round one read of the pending versions, one delete per read-model table and one
/// insert per table with rows ([`insert_rows`]), then one settle per document. A document
/// another projector settled, or one changed since it was read, is not written; one changed
/// while the round ran stays pending (its rows are projected again).
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
    let mut derived: Vec<(Uuid, &DocumentRows)> = Vec::with_capacity(claimed.len());
    for p in claimed.iter().map(|&i| &round[i]) {
        match &p.rows {
            Ok(rows) => derived.push((p.doc.0, rows)),
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
    insert_rows(tx, &derived)?;
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

/// Appended to the migrations: the citizens who died or moved, read from an index ordered by
/// status and end reason (SQLite's `MIGRATION_CITIZENS_LEFT`, which says why).
pub(super) const CITIZENS_LEFT: &str =
    "CREATE INDEX rm_courses_left ON rm_courses(status, end_reason, citizen_id);";

/// Appended after [`CITIZENS_LEFT`]: with the courses' start dates, which the query that dates
/// when each citizen left reads (SQLite's `MIGRATION_CITIZENS_LEFT_DATED`).
pub(super) const CITIZENS_LEFT_DATED: &str = "
CREATE INDEX rm_courses_left_dated ON rm_courses(status, end_reason, citizen_id, start_date);
DROP INDEX rm_courses_left;";

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

/// One table's rows of every document given, each with the document it comes from.
fn rows_of_table<'a, R>(
    docs: &[(Uuid, &'a DocumentRows)],
    table: impl Fn(&'a DocumentRows) -> &'a [R],
) -> (Vec<Uuid>, Vec<&'a R>) {
    docs.iter()
        .flat_map(|&(doc, rows)| table(rows).iter().map(move |row| (doc, row)))
        .unzip()
}

/// One column of `rows`, as the array a statement unnests.
fn column<'a, R, T>(rows: &[&'a R], value: impl Fn(&'a R) -> T) -> Vec<T> {
    rows.iter().map(|&row| value(row)).collect()
}

/// Runs an `INSERT … SELECT * FROM UNNEST(…)` of one table's rows, given as one array per
/// column, `doc_ids` (each row's document) the first.
fn insert_unnested(
    tx: &mut impl GenericClient,
    doc_ids: &[Uuid],
    sql: &str,
    columns: &[(&(dyn ToSql + Sync), Type)],
) -> Result<()> {
    // No rows: no statement.
    if doc_ids.is_empty() {
        return Ok(());
    }
    let mut params: Vec<(&(dyn ToSql + Sync), Type)> = vec![(&doc_ids, Type::UUID_ARRAY)];
    params.extend(columns.iter().cloned());
    tx.query_typed(sql, &params)?;
    Ok(())
}

/// Inserts the rows of `docs` (each document's id and its rows): one statement per table that
/// has rows, with its columns as arrays — one round trip per table however many documents a
/// round holds (a statement per document and table made the projector a sixth of the server's
/// CPU over an upload, docs/benchmarks.md).
pub(super) fn insert_rows(
    tx: &mut impl GenericClient,
    docs: &[(Uuid, &DocumentRows)],
) -> Result<()> {
    let (doc_ids, rows) = rows_of_table(docs, |d| &d.citizens);
    insert_unnested(
        tx,
        &doc_ids,
        "INSERT INTO rm_citizens (doc_id, citizen_id, team_id, birth_year, sex, active)
         SELECT * FROM UNNEST($1, $2, $3, $4, $5, $6)",
        &[
            (&column(&rows, |c| c.citizen_id.as_str()), Type::TEXT_ARRAY),
            (&column(&rows, |c| c.team_id.as_str()), Type::TEXT_ARRAY),
            (&column(&rows, |c| c.birth_year), Type::INT4_ARRAY),
            (&column(&rows, |c| c.sex.as_deref()), Type::TEXT_ARRAY),
            (&column(&rows, |c| c.active), Type::BOOL_ARRAY),
        ],
    )?;
    let (doc_ids, rows) = rows_of_table(docs, |d| &d.referrals);
    insert_unnested(
        tx,
        &doc_ids,
        "INSERT INTO rm_referrals (doc_id, referral_id, citizen_id, team_id, referred_on,
           referred_by, screened_on, screened_by, outcome, not_included_reason, course_id)
         SELECT * FROM UNNEST($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        &[
            (&column(&rows, |r| r.referral_id.as_str()), Type::TEXT_ARRAY),
            (&column(&rows, |r| r.citizen_id.as_str()), Type::TEXT_ARRAY),
            (&column(&rows, |r| r.team_id.as_str()), Type::TEXT_ARRAY),
            (&column(&rows, |r| r.referred_on.as_str()), Type::TEXT_ARRAY),
            (&column(&rows, |r| r.referred_by.as_str()), Type::TEXT_ARRAY),
            (
                &column(&rows, |r| r.screened_on.as_deref()),
                Type::TEXT_ARRAY,
            ),
            (
                &column(&rows, |r| r.screened_by.as_deref()),
                Type::TEXT_ARRAY,
            ),
            (&column(&rows, |r| r.outcome.as_deref()), Type::TEXT_ARRAY),
            (
                &column(&rows, |r| r.not_included_reason.as_deref()),
                Type::TEXT_ARRAY,
            ),
            (&column(&rows, |r| r.course_id.as_deref()), Type::TEXT_ARRAY),
        ],
    )?;
    let (doc_ids, rows) = rows_of_table(docs, |d| &d.care_grants);
    insert_unnested(
        tx,
        &doc_ids,
        "INSERT INTO rm_care_grants (doc_id, citizen_id, team_id, effective, minutes_per_week,
           service_code, recorded_on)
         SELECT * FROM UNNEST($1, $2, $3, $4, $5, $6, $7)",
        &[
            (&column(&rows, |g| g.citizen_id.as_str()), Type::TEXT_ARRAY),
            (&column(&rows, |g| g.team_id.as_str()), Type::TEXT_ARRAY),
            (&column(&rows, |g| g.effective.as_str()), Type::TEXT_ARRAY),
            (
                &column(&rows, |g| wide(g.minutes_per_week)),
                Type::INT8_ARRAY,
            ),
            (
                &column(&rows, |g| g.service_code.as_deref()),
                Type::TEXT_ARRAY,
            ),
            (&column(&rows, |g| g.recorded_on.as_str()), Type::TEXT_ARRAY),
        ],
    )?;
    let (doc_ids, rows) = rows_of_table(docs, |d| &d.courses);
    insert_unnested(
        tx,
        &doc_ids,
        "INSERT INTO rm_courses (doc_id, course_id, citizen_id, team_id, legal_basis,
           start_date, planned_weeks, sessions_per_week, status, responsible_therapist,
           created_at, end_reason)
         SELECT * FROM UNNEST($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
        &[
            (&column(&rows, |c| c.course_id.as_str()), Type::TEXT_ARRAY),
            (&column(&rows, |c| c.citizen_id.as_str()), Type::TEXT_ARRAY),
            (&column(&rows, |c| c.team_id.as_str()), Type::TEXT_ARRAY),
            (&column(&rows, |c| c.legal_basis.as_str()), Type::TEXT_ARRAY),
            (&column(&rows, |c| c.start_date.as_str()), Type::TEXT_ARRAY),
            (&column(&rows, |c| wide(c.planned_weeks)), Type::INT8_ARRAY),
            (
                &column(&rows, |c| wide(c.sessions_per_week)),
                Type::INT8_ARRAY,
            ),
            (&column(&rows, |c| c.status.as_str()), Type::TEXT_ARRAY),
            (
                &column(&rows, |c| c.responsible_therapist.as_str()),
                Type::TEXT_ARRAY,
            ),
            (&column(&rows, |c| c.created_at), Type::INT8_ARRAY),
            (
                &column(&rows, |c| c.end_reason.as_deref()),
                Type::TEXT_ARRAY,
            ),
        ],
    )?;
    let (doc_ids, rows) = rows_of_table(docs, |d| &d.goals);
    insert_unnested(
        tx,
        &doc_ids,
        "INSERT INTO rm_goals (doc_id, course_id, position, attainment)
         SELECT * FROM UNNEST($1, $2, $3, $4)",
        &[
            (&column(&rows, |g| g.course_id.as_str()), Type::TEXT_ARRAY),
            (&column(&rows, |g| wide(g.position)), Type::INT8_ARRAY),
            (
                &column(&rows, |g| g.attainment.as_deref()),
                Type::TEXT_ARRAY,
            ),
        ],
    )?;
    let (doc_ids, rows) = rows_of_table(docs, |d| &d.test_results);
    insert_unnested(
        tx,
        &doc_ids,
        "INSERT INTO rm_test_results (doc_id, result_id, course_id, test, phase, value, date,
           measured_by)
         SELECT * FROM UNNEST($1, $2, $3, $4, $5, $6, $7, $8)",
        &[
            (&column(&rows, |t| t.result_id.as_str()), Type::TEXT_ARRAY),
            (&column(&rows, |t| t.course_id.as_str()), Type::TEXT_ARRAY),
            (&column(&rows, |t| t.test.as_str()), Type::TEXT_ARRAY),
            (&column(&rows, |t| t.phase.as_str()), Type::TEXT_ARRAY),
            (&column(&rows, |t| t.value), Type::FLOAT8_ARRAY),
            (&column(&rows, |t| t.date.as_str()), Type::TEXT_ARRAY),
            (&column(&rows, |t| t.measured_by.as_str()), Type::TEXT_ARRAY),
        ],
    )?;
    let (doc_ids, rows) = rows_of_table(docs, |d| &d.sessions);
    insert_unnested(
        tx,
        &doc_ids,
        "INSERT INTO rm_sessions (doc_id, session_id, course_id, performed_by, started_at,
           ended_at, status, not_carried_out, set_count, general_condition)
         SELECT * FROM UNNEST($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        &[
            (&column(&rows, |s| s.session_id.as_str()), Type::TEXT_ARRAY),
            (&column(&rows, |s| s.course_id.as_str()), Type::TEXT_ARRAY),
            (
                &column(&rows, |s| s.performed_by.as_str()),
                Type::TEXT_ARRAY,
            ),
            (&column(&rows, |s| s.started_at), Type::INT8_ARRAY),
            (&column(&rows, |s| s.ended_at), Type::INT8_ARRAY),
            (&column(&rows, |s| s.status.as_str()), Type::TEXT_ARRAY),
            (
                &column(&rows, |s| s.not_carried_out.as_deref()),
                Type::TEXT_ARRAY,
            ),
            (&column(&rows, |s| wide(s.set_count)), Type::INT8_ARRAY),
            (
                &column(&rows, |s| s.general_condition.map(i16::from)),
                Type::INT2_ARRAY,
            ),
        ],
    )?;
    let (doc_ids, rows) = rows_of_table(docs, |d| &d.work);
    insert_unnested(
        tx,
        &doc_ids,
        "INSERT INTO rm_work (doc_id, user_id, work, last_on) SELECT * FROM UNNEST($1, $2, $3, $4)",
        &[
            (&column(&rows, |w| w.user_id.as_str()), Type::TEXT_ARRAY),
            (&column(&rows, |w| w.work.as_str()), Type::TEXT_ARRAY),
            (&column(&rows, |w| w.done_on.as_str()), Type::TEXT_ARRAY),
        ],
    )?;
    let (doc_ids, rows) = rows_of_table(docs, |d| &d.deliveries);
    insert_unnested(
        tx,
        &doc_ids,
        "INSERT INTO rm_deliveries (doc_id, course_id, delivered) SELECT * FROM UNNEST($1, $2, $3)",
        &[
            (&column(&rows, |d| d.course_id.as_str()), Type::TEXT_ARRAY),
            (&column(&rows, |d| wide(d.delivered)), Type::INT8_ARRAY),
        ],
    )?;
    let (doc_ids, rows) = rows_of_table(docs, |d| &d.effect_settings);
    insert_unnested(
        tx,
        &doc_ids,
        "INSERT INTO rm_effect_settings (doc_id, settings_json) SELECT * FROM UNNEST($1, $2)",
        &[(
            &column(&rows, |e| e.settings_json.as_str()),
            Type::TEXT_ARRAY,
        )],
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
    use crate::store::postgres_pool::TestDatabase;

    /// A database of its own with the read model's tables, as its migrations make them (they
    /// read `documents`); `None` without a test cluster.
    fn scratch(prefix: &str) -> Option<TestDatabase> {
        let db = TestDatabase::create(prefix)?;
        let mut client = db.connect();
        client
            .batch_execute("CREATE TABLE documents (id UUID PRIMARY KEY, kind TEXT)")
            .unwrap();
        for migration in [
            SCHEMA,
            WORK_DAYS,
            GRANTS_RECORDED,
            CITIZENS_LEFT,
            CITIZENS_LEFT_DATED,
        ] {
            client.batch_execute(migration).unwrap();
        }
        Some(db)
    }

    /// Rows of one document, a row in every table, `n` varying every value and `None` where
    /// a column may be empty.
    fn rows_numbered(n: u32, empty: bool) -> DocumentRows {
        let some = |s: String| (!empty).then_some(s);
        let mut rows = DocumentRows {
            citizens: vec![CitizenRow {
                citizen_id: format!("citizen {n}"),
                team_id: format!("team {n}"),
                birth_year: (!empty).then_some(1930 + n as i32),
                sex: some(format!("sex {n}")),
                active: n.is_multiple_of(2),
            }],
            referrals: vec![ReferralRow {
                referral_id: format!("referral {n}"),
                citizen_id: format!("citizen {n}"),
                team_id: format!("team {n}"),
                referred_on: format!("2026-01-{:02}", n + 1),
                referred_by: format!("therapist {n}"),
                screened_on: some(format!("2026-02-{:02}", n + 1)),
                screened_by: some(format!("screener {n}")),
                outcome: some(format!("outcome {n}")),
                not_included_reason: some(format!("reason {n}")),
                course_id: some(format!("course {n}")),
            }],
            care_grants: vec![CareGrantRow {
                citizen_id: format!("citizen {n}"),
                team_id: format!("team {n}"),
                effective: format!("2026-03-{:02}", n + 1),
                minutes_per_week: 60 + n,
                service_code: some(format!("code {n}")),
                recorded_on: format!("2026-03-{:02}", n + 2),
            }],
            courses: vec![CourseRow {
                course_id: format!("course {n}"),
                citizen_id: format!("citizen {n}"),
                team_id: format!("team {n}"),
                legal_basis: format!("basis {n}"),
                start_date: format!("2026-04-{:02}", n + 1),
                planned_weeks: 10 + n,
                sessions_per_week: 1 + n,
                status: format!("status {n}"),
                responsible_therapist: format!("therapist {n}"),
                created_at: 1_700_000_000_000 + i64::from(n),
                end_reason: some(format!("end {n}")),
            }],
            goals: vec![GoalRow {
                course_id: format!("course {n}"),
                position: n,
                attainment: some(format!("attained {n}")),
            }],
            test_results: vec![TestResultRow {
                result_id: format!("result {n}"),
                course_id: format!("course {n}"),
                test: format!("test {n}"),
                phase: format!("phase {n}"),
                value: 0.5 + f64::from(n),
                date: format!("2026-05-{:02}", n + 1),
                measured_by: format!("therapist {n}"),
            }],
            sessions: (0..3)
                .map(|k| SessionRow {
                    session_id: format!("session {n}.{k}"),
                    course_id: format!("course {n}"),
                    performed_by: format!("assistant {n}"),
                    started_at: 1_700_000_000_000 + i64::from(n * 10 + k),
                    ended_at: (!empty).then_some(1_700_000_100_000 + i64::from(n * 10 + k)),
                    status: format!("status {k}"),
                    not_carried_out: some(format!("why {k}")),
                    set_count: n + k,
                    general_condition: (!empty).then_some(n as u8 + 1),
                })
                .collect(),
            work: vec![WorkRow {
                user_id: format!("user {n}"),
                work: format!("work {n}"),
                done_on: format!("2026-06-{:02}", n + 1),
            }],
            deliveries: vec![DeliveryRow {
                course_id: format!("course {n}"),
                delivered: n * 3,
            }],
            effect_settings: vec![EffectSettingsRow {
                settings_json: format!("{{\"n\":{n}}}"),
            }],
        };
        rows.sort();
        rows
    }

    /// Rows of several documents inserted together: each document reads back exactly its own,
    /// empty values as empty, and a document without rows has none. Needs a PostgreSQL server (`scripts/with-postgres`); says so and passes without.
    #[test]
    fn a_rounds_rows_are_stored_each_under_its_document() {
        let Some(scratch) = scratch("rm_rows") else {
            return;
        };
        let mut client = scratch.connect();
        let docs: Vec<(Uuid, DocumentRows)> = (0..3)
            .map(|n| (Uuid::new_v4(), rows_numbered(n, n == 1)))
            .chain([(Uuid::new_v4(), DocumentRows::default())])
            .collect();
        let given: Vec<(Uuid, &DocumentRows)> = docs.iter().map(|(id, r)| (*id, r)).collect();
        let mut tx = client.transaction().unwrap();
        insert_rows(&mut tx, &given).unwrap();
        tx.commit().unwrap();
        for (id, rows) in &docs {
            assert_eq!(&stored_rows(&mut client, *id).unwrap(), rows);
        }
        let sessions: i64 = client
            .query_one("SELECT COUNT(*) FROM rm_sessions", &[])
            .unwrap()
            .get(0);
        assert_eq!(sessions, 9);
        // Nothing at all: no statement, no error.
        insert_rows(&mut client, &[]).unwrap();
    }

    /// A round whose rows could not be derived for one document: that one is set aside with
    /// its error, the others' rows are written, and every one of them is settled. Needs a
    /// PostgreSQL server.
    #[test]
    fn a_failed_projection_is_set_aside_and_the_rest_of_its_round_written() {
        let Some(scratch) = scratch("rm_failed") else {
            return;
        };
        let mut client = scratch.connect();
        let mut prepared = super::super::postgres_pool::Prepared::default();
        let mut ids: Vec<Uuid> = (0..3).map(|_| Uuid::new_v4()).collect();
        ids.sort();
        for id in &ids {
            mark_pending(&mut client, &mut prepared, *id).unwrap();
        }
        let versions = pending_versions(&mut client, &ids).unwrap();
        let round: Vec<crate::store::Projection> = ids
            .iter()
            .enumerate()
            .map(|(n, id)| crate::store::Projection {
                doc: homerehab_shared::ids::DocumentId(*id),
                version: versions[id],
                rows: match n {
                    1 => Err("the log could not be read".into()),
                    n => Ok(rows_numbered(n as u32, false)),
                },
            })
            .collect();
        let mut tx = client.transaction().unwrap();
        assert_eq!(write_round(&mut tx, &round, 7).unwrap(), [true, true, true]);
        tx.commit().unwrap();
        assert_eq!(
            stored_rows(&mut client, ids[0]).unwrap(),
            rows_numbered(0, false)
        );
        assert_eq!(
            stored_rows(&mut client, ids[1]).unwrap(),
            DocumentRows::default()
        );
        assert_eq!(
            stored_rows(&mut client, ids[2]).unwrap(),
            rows_numbered(2, false)
        );
        let failed: Vec<(Uuid, String, i64)> = client
            .query("SELECT doc_id, error, at FROM rm_failures", &[])
            .unwrap()
            .iter()
            .map(|r| (r.get(0), r.get(1), r.get(2)))
            .collect();
        assert_eq!(
            failed,
            [(ids[1], "the log could not be read".to_string(), 7)]
        );
        assert_eq!(pending_count(&mut client).unwrap(), 0);
    }

    /// A projector's round and a sync marking the same document pending: the sync waits for
    /// nothing (it waited for the round's commit while the round held the pending row), and
    /// the round, finding the document changed since it read it, leaves it pending. Another
    /// projector's claim, or an erasure, waits for the round. Needs a PostgreSQL server.
    #[test]
    fn a_sync_marks_a_document_pending_without_waiting_for_a_projectors_round() {
        let Some(scratch) = scratch("rm_turns") else {
            return;
        };
        let (mut projector, mut sync, mut other) =
            (scratch.connect(), scratch.connect(), scratch.connect());
        // Whoever would wait gives up after a moment instead, with an error.
        for c in [&mut sync, &mut other] {
            c.batch_execute("SET lock_timeout = '500ms'").unwrap();
        }
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
    }
}
