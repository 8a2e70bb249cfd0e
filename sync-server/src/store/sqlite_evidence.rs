//! The evidence queries' SQL for SQLite (issue #12): facts for `evidence::report`, read from
//! the read model's `rm_*` tables (`sqlite_read_model`) and the users and teams, never from a
//! document; and the municipality's evidence settings.
//!
//! Ids in the read model are text (`TeamId`'s display form), in the server's own tables
//! bytes; the functions here take and give domain ids and do the translation once.

use super::evidence_facts::{
    citizens_left_query, cohort_start_dates, corrupt, mark_citizens_left, staff_member, GrantMerge,
    ReferralRow, ResultMerge,
};
use super::export_sql::export_query;
use crate::error::Result;
use homerehab_shared::evidence::funnel::ReferralFacts;
use homerehab_shared::evidence::report::{CourseFacts, EvidenceSettings};
use homerehab_shared::evidence::staff::StaffMember;
use homerehab_shared::evidence::targets::Period;
use homerehab_shared::export::{period_instants, Cell, ExportTable};
use homerehab_shared::ids::{MunicipalityId, TeamId, UserId};
use rusqlite::types::ValueRef;
use rusqlite::{params, params_from_iter, Connection, OptionalExtension};
use std::collections::HashMap;
use uuid::Uuid;

/// Appended to the store's migrations.
pub(super) const MIGRATION: &str = r#"
CREATE TABLE evidence_settings (
    municipality_id BLOB PRIMARY KEY REFERENCES municipalities(id),
    settings        TEXT NOT NULL,
    updated_at      INTEGER NOT NULL,
    updated_by      BLOB NOT NULL REFERENCES users(id)
);
"#;

/// `?, ?, ?` for `n` parameters after the first `skip`.
fn placeholders(skip: usize, n: usize) -> String {
    (0..n)
        .map(|i| format!("?{}", skip + i + 1))
        .collect::<Vec<_>>()
        .join(", ")
}

fn team_texts(teams: &[TeamId]) -> Vec<String> {
    teams.iter().map(|t| t.to_string()).collect()
}

/// Column `i` of `row` as text, borrowed rather than copied.
fn text<'r>(row: &'r rusqlite::Row, i: usize) -> Result<&'r str> {
    row.get_ref(i)?
        .as_str()
        .map_err(|e| corrupt("a text column", e))
}

pub(super) fn settings(conn: &Connection, m: MunicipalityId) -> Result<EvidenceSettings> {
    let json: Option<String> = conn
        .prepare_cached("SELECT settings FROM evidence_settings WHERE municipality_id = ?1")?
        .query_row([m.0.as_bytes().as_slice()], |r| r.get(0))
        .optional()?;
    match json {
        Some(j) => serde_json::from_str(&j).map_err(|e| corrupt("evidence settings", e)),
        None => Ok(EvidenceSettings::default()),
    }
}

pub(super) fn all_settings(conn: &Connection) -> Result<Vec<(MunicipalityId, EvidenceSettings)>> {
    let mut stmt =
        conn.prepare_cached("SELECT municipality_id, settings FROM evidence_settings")?;
    let rows = stmt
        .query_map([], |r| {
            Ok((r.get::<_, Vec<u8>>(0)?, r.get::<_, String>(1)?))
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    rows.into_iter()
        .map(|(id, json)| {
            let id = Uuid::from_slice(&id).map_err(|e| corrupt("a municipality id", e))?;
            let s = serde_json::from_str(&json).map_err(|e| corrupt("evidence settings", e))?;
            Ok((MunicipalityId(id), s))
        })
        .collect()
}

pub(super) fn set_settings(
    conn: &Connection,
    m: MunicipalityId,
    settings: &EvidenceSettings,
    by: UserId,
    now: i64,
) -> Result<()> {
    let json = serde_json::to_string(settings).map_err(|e| corrupt("evidence settings", e))?;
    conn.prepare_cached(
        "INSERT INTO evidence_settings (municipality_id, settings, updated_at, updated_by)
         VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (municipality_id) DO UPDATE
           SET settings = excluded.settings, updated_at = excluded.updated_at,
               updated_by = excluded.updated_by",
    )?
    .execute(params![
        m.0.as_bytes().as_slice(),
        json,
        now,
        by.0.as_bytes().as_slice()
    ])?;
    Ok(())
}

/// The library's stored effect settings as projected (`None` before the library has any).
pub(super) fn effect_settings_json(conn: &Connection, library: &[u8]) -> Result<Option<String>> {
    Ok(conn
        .prepare_cached("SELECT settings_json FROM rm_effect_settings WHERE doc_id = ?1")?
        .query_row([library], |r| r.get(0))
        .optional()?)
}

/// Referrals of `teams` made in `period`, with how far each went.
pub(super) fn referrals(
    conn: &Connection,
    teams: &[TeamId],
    period: Period,
) -> Result<Vec<ReferralFacts>> {
    if teams.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!(
        "SELECT r.team_id, r.referred_on, r.screened_on IS NOT NULL, r.screened_by, r.outcome,
                r.not_included_reason, c.status, c.responsible_therapist, c.end_reason
         FROM rm_referrals r LEFT JOIN rm_courses c ON c.course_id = r.course_id
         WHERE r.referred_on BETWEEN ?1 AND ?2 AND r.team_id IN ({})
         ORDER BY r.referral_id",
        placeholders(2, teams.len())
    );
    let mut values = vec![
        homerehab_shared::effect::iso(period.start),
        homerehab_shared::effect::iso(period.end),
    ];
    values.extend(team_texts(teams));
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt
        .query_map(params_from_iter(values.iter()), |r| {
            Ok(ReferralRow {
                team_id: r.get(0)?,
                referred_on: r.get(1)?,
                screened: r.get(2)?,
                screened_by: r.get(3)?,
                outcome: r.get(4)?,
                not_included_reason: r.get(5)?,
                course_status: r.get(6)?,
                responsible_therapist: r.get(7)?,
                end_reason: r.get(8)?,
            })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows.into_iter().map(ReferralRow::facts).collect())
}

/// The users of `teams` with their training date and the last day of each kind of work on or
/// before `as_of`.
pub(super) fn staff(
    conn: &Connection,
    teams: &[TeamId],
    as_of: time::Date,
) -> Result<Vec<StaffMember>> {
    if teams.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!(
        "SELECT id, display_name, role, team_id, trained_on FROM users WHERE team_id IN ({})
         ORDER BY id",
        placeholders(0, teams.len())
    );
    let ids: Vec<&[u8]> = teams.iter().map(|t| t.0.as_bytes().as_slice()).collect();
    let mut stmt = conn.prepare_cached(&sql)?;
    let users = stmt
        .query_map(params_from_iter(ids.iter()), |r| {
            Ok((
                r.get::<_, Vec<u8>>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, Vec<u8>>(3)?,
                r.get::<_, Option<String>>(4)?,
            ))
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    let mut work = conn.prepare_cached(&format!(
        "SELECT k.column1, (SELECT MAX(last_on) FROM rm_work
           WHERE user_id = ?1 AND work = k.column1 AND last_on <= ?2)
         FROM (VALUES {}) AS k",
        super::evidence_facts::work_kinds_values()
    ))?;
    let as_of = homerehab_shared::effect::iso(as_of);
    let mut out = Vec::with_capacity(users.len());
    for (id, name, role, team, trained_on) in users {
        let id = Uuid::from_slice(&id).map_err(|e| corrupt("a user id", e))?;
        let team = Uuid::from_slice(&team).map_err(|e| corrupt("a team id", e))?;
        let last_work = work
            .query_map(params![id.to_string(), as_of], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, Option<String>>(1)?))
            })?
            .filter_map(|r| r.map(|(w, on)| on.map(|on| (w, on))).transpose())
            .collect::<rusqlite::Result<Vec<_>>>()?;
        out.push(staff_member(
            id,
            name,
            &role,
            team,
            trained_on.as_deref(),
            last_work,
        )?);
    }
    Ok(out)
}

/// Completed courses of `teams` (every team when `None`) that may have ended in `period`
/// (their start no later than its end and no earlier than the longest course before it), with
/// their start/end results, their citizens' care grants and their sessions delivered. The
/// caller keeps those whose planned end lies in the period (`report::planned_end`). Ordered,
/// so the same question gets the same answer to the last digit (sums of floats depend on
/// their order), also after the read model is rebuilt.
pub(super) fn completed_courses(
    conn: &Connection,
    teams: Option<&[TeamId]>,
    period: Period,
) -> Result<Vec<CourseFacts>> {
    let (earliest, latest) = cohort_start_dates(period);
    let mut values = vec![earliest, latest];
    // The index is named: without statistics the planner reads a few teams' courses from the
    // whole cohort's index too, as it is already in course order (docs/benchmarks.md #12).
    let (index, team_filter) = match teams {
        Some([]) => return Ok(Vec::new()),
        Some(teams) => {
            values.extend(team_texts(teams));
            let filter = format!("AND c.team_id IN ({})", placeholders(2, teams.len()));
            ("rm_courses_team", filter)
        }
        None => ("rm_courses_cohort", String::new()),
    };
    let cohort = format!(
        "FROM rm_courses c INDEXED BY {index} WHERE c.status = 'completed'
           AND c.start_date BETWEEN ?1 AND ?2 {team_filter}"
    );
    let mut courses: Vec<CourseFacts> = conn
        .prepare(&format!(
            "SELECT c.course_id, c.citizen_id, c.team_id, c.start_date, c.planned_weeks,
                    c.sessions_per_week,
                    COALESCE((SELECT SUM(d.delivered) FROM rm_deliveries d
                              WHERE d.course_id = c.course_id), 0),
                    c.responsible_therapist
             {cohort} ORDER BY c.course_id"
        ))?
        .query_map(params_from_iter(values.iter()), |r| {
            Ok(CourseFacts {
                course_id: r.get(0)?,
                citizen_id: r.get(1)?,
                team_id: r.get(2)?,
                responsible_therapist: r.get(7)?,
                start_date: r.get(3)?,
                planned_weeks: r.get(4)?,
                sessions_per_week: r.get(5)?,
                sessions_delivered: r.get(6)?,
                results: Vec::new(),
                grants: Vec::new(),
                grants_recorded_until: None,
                citizen_left: false,
            })
        })?
        .collect::<rusqlite::Result<_>>()?;
    // Results and grants are read in one pass each, ordered like the courses (by id) and like
    // a sorted list of the courses' citizens, and merged in: no maps keyed by string ids, and
    // the indexes of `MIGRATION_BENCHMARK_INDEXES` give that order without a sort.
    let mut results = conn.prepare(&format!(
        "SELECT t.course_id, t.test, t.phase, t.value, t.date
         FROM rm_test_results t
         WHERE t.course_id IN (SELECT c.course_id {cohort}) AND t.phase IN ('start', 'end')
         ORDER BY t.course_id, t.result_id"
    ))?;
    let mut rows = results.query(params_from_iter(values.iter()))?;
    let mut merge = ResultMerge::new();
    while let Some(r) = rows.next()? {
        merge.add(
            &mut courses,
            text(r, 0)?,
            r.get(1)?,
            text(r, 2)?,
            r.get(3)?,
            r.get(4)?,
        );
    }
    // Minutes last: grants of one day and service then have one order, also after a rebuild.
    let mut grants = conn.prepare(&format!(
        "SELECT g.citizen_id, g.effective, g.minutes_per_week, g.service_code, g.recorded_on
         FROM rm_care_grants g
         WHERE g.citizen_id IN (SELECT c.citizen_id {cohort})
         ORDER BY g.citizen_id, g.effective, g.service_code, g.minutes_per_week"
    ))?;
    let mut rows = grants.query(params_from_iter(values.iter()))?;
    let mut merge = GrantMerge::new(&courses);
    while let Some(r) = rows.next()? {
        let (citizen, effective) = (text(r, 0)?, text(r, 1)?);
        merge.add(
            &mut courses,
            citizen,
            effective,
            r.get(2)?,
            r.get(3)?,
            r.get(4)?,
        );
    }
    // Their care time is not counted: a death is no saving.
    let left: HashMap<String, String> = conn
        .prepare(&citizens_left_query(&cohort))?
        .query_map(params_from_iter(values.iter()), |r| {
            Ok((r.get(0)?, r.get(1)?))
        })?
        .collect::<rusqlite::Result<_>>()?;
    mark_citizens_left(&mut courses, &left);
    Ok(courses)
}

/// The BI feed's rows of `table` for `teams` within `period` (`export_sql`), each field as
/// SQLite holds it (a boolean as 0 or 1, which `shared::export` writes as `true`/`false`).
pub(super) fn export_rows(
    conn: &Connection,
    table: ExportTable,
    teams: &[TeamId],
    period: &Period,
) -> Result<Vec<Vec<Cell>>> {
    if teams.is_empty() {
        return Ok(Vec::new());
    }
    let sql = export_query(table, |column| {
        format!("{column} IN (SELECT value FROM json_each($1))")
    })?;
    let teams = serde_json::to_string(&team_texts(teams)).map_err(|e| corrupt("team ids", e))?;
    let mut stmt = conn.prepare_cached(&sql)?;
    let width = stmt.column_count();
    let mut rows = match table.period_column() {
        None => stmt.query(rusqlite::named_params! {"$1": teams})?,
        Some(_) if table == ExportTable::Sessions => {
            let (from, to) = period_instants(period);
            stmt.query(rusqlite::named_params! {"$1": teams, "$2": from, "$3": to})?
        }
        Some(_) => {
            let (from, to) = (
                homerehab_shared::effect::iso(period.start),
                homerehab_shared::effect::iso(period.end),
            );
            stmt.query(rusqlite::named_params! {"$1": teams, "$2": from, "$3": to})?
        }
    };
    let mut out = Vec::new();
    while let Some(row) = rows.next()? {
        let cells = (0..width)
            .map(|i| {
                Ok(match row.get_ref(i)? {
                    ValueRef::Null => Cell::Null,
                    ValueRef::Integer(n) => Cell::Integer(n),
                    ValueRef::Real(x) => Cell::Decimal(x),
                    ValueRef::Text(t) => Cell::Text(
                        std::str::from_utf8(t)
                            .map_err(|e| corrupt("a text column", e))?
                            .to_owned(),
                    ),
                    ValueRef::Blob(_) => return Err(corrupt("a text column", "a blob")),
                })
            })
            .collect::<Result<Vec<_>>>()?;
        out.push(cells);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::SqliteStore;
    #[allow(unused_imports)]
    use crate::store::{AccountStore, DocumentStore, EvidenceStore, MediaStore, ReadModelStore};
    use time::macros::date;

    fn course(conn: &Connection, id: &str, citizen: &str, team: &str, start: &str, status: &str) {
        conn.execute(
            "INSERT INTO rm_courses (doc_id, course_id, citizen_id, team_id, legal_basis,
               start_date, planned_weeks, sessions_per_week, status, responsible_therapist,
               created_at) VALUES (x'01', ?1, ?2, ?3, 'SEL §83a', ?4, 12, 2, ?5, 't', 0)",
            params![id, citizen, team, start, status],
        )
        .unwrap();
    }

    fn result(conn: &Connection, id: &str, course: &str, phase: &str, value: f64) {
        conn.execute(
            "INSERT INTO rm_test_results (doc_id, result_id, course_id, test, phase, value, date,
               measured_by) VALUES (x'01', ?1, ?2, 'who5', ?3, ?4, '2026-01-05', 't')",
            params![id, course, phase, value],
        )
        .unwrap();
    }

    fn grant(conn: &Connection, citizen: &str, effective: &str, minutes: u32) {
        conn.execute(
            "INSERT INTO rm_care_grants (doc_id, citizen_id, team_id, effective, minutes_per_week,
               service_code, recorded_on) VALUES (x'01', ?1, 'x', ?2, ?3, NULL, '2026-06-01')",
            params![citizen, effective, minutes],
        )
        .unwrap();
    }

    /// The citizens who died or moved are read from an index ordered by status and end reason,
    /// not from every course that ended early (each a row of its own to read).
    #[test]
    fn the_citizens_who_left_are_read_from_their_covering_index() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("db.sqlite3")).unwrap();
        let cohort = "FROM rm_courses c INDEXED BY rm_courses_cohort
                      WHERE c.status = 'completed' AND c.start_date BETWEEN ?1 AND ?2";
        let plan = crate::store::sqlite::query_plan(
            &store.conn(),
            &citizens_left_query(cohort),
            ["2026-01-01", "2026-12-31"],
        );
        assert!(
            plan.iter()
                .any(|step| step.contains("USING COVERING INDEX rm_courses_left_dated")),
            "{plan:?}"
        );
    }

    /// Results and grants are merged into their courses by id in one pass each: only the
    /// cohort's, each course its own results by result id, every course of a citizen the
    /// citizen's grants in order; the same with and without a team filter.
    #[test]
    fn completed_courses_carry_their_own_results_and_their_citizens_grants() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("db.sqlite3")).unwrap();
        let (north, south) = (TeamId::new(), TeamId::new());
        let (n, s) = (north.to_string(), south.to_string());
        {
            let conn = store.conn();
            course(&conn, "c-b", "anna", &n, "2026-01-05", "completed");
            course(&conn, "c-a", "anna", &s, "2025-09-01", "completed");
            course(&conn, "c-c", "bent", &n, "2026-02-02", "completed");
            course(&conn, "c-running", "carl", &n, "2026-02-02", "active");
            course(&conn, "c-old", "dora", &n, "2019-01-07", "completed");
            result(&conn, "r2", "c-b", "end", 60.0);
            result(&conn, "r1", "c-b", "start", 40.0);
            result(&conn, "r3", "c-b", "mid", 50.0);
            result(&conn, "r9", "c-a", "start", 30.0);
            result(&conn, "r4", "c-running", "start", 10.0);
            result(&conn, "r5", "c-old", "start", 10.0);
            result(&conn, "r6", "c-zz", "start", 10.0);
            grant(&conn, "anna", "2026-03-01", 120);
            grant(&conn, "anna", "2025-01-01", 300);
            grant(&conn, "anna", "not a date", 1);
            grant(&conn, "carl", "2025-01-01", 60);
            conn.execute_batch(
                "INSERT INTO rm_deliveries (doc_id, course_id, delivered)
                 VALUES (x'01', 'c-b', 7), (x'02', 'c-b', 5);",
            )
            .unwrap();
        }
        let period = Period::new(date!(2026 - 01 - 01), date!(2026 - 12 - 31)).unwrap();
        let all = store.completed_courses(None, period).unwrap();
        let ids: Vec<&str> = all.iter().map(|c| c.course_id.as_str()).collect();
        assert_eq!(ids, ["c-a", "c-b", "c-c"]);
        let values = |c: &CourseFacts| c.results.iter().map(|r| r.value).collect::<Vec<_>>();
        assert_eq!(values(&all[0]), [30.0]);
        assert_eq!(values(&all[1]), [40.0, 60.0]);
        assert!(all[2].results.is_empty());
        let minutes = |c: &CourseFacts| {
            c.grants
                .iter()
                .map(|g| g.minutes_per_week)
                .collect::<Vec<_>>()
        };
        assert_eq!(minutes(&all[0]), [300, 120]);
        assert_eq!(minutes(&all[1]), [300, 120]);
        assert!(all[2].grants.is_empty());
        assert_eq!(all[1].sessions_delivered, 12);
        assert_eq!(all[0].sessions_delivered, 0);

        let north_only = store.completed_courses(Some(&[north]), period).unwrap();
        assert_eq!(north_only, [all[1].clone(), all[2].clone()]);
        assert!(store
            .completed_courses(Some(&[]), period)
            .unwrap()
            .is_empty());
    }
}
