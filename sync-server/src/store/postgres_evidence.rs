//! The evidence queries' SQL for PostgreSQL: the same questions as `sqlite_evidence`, their
//! rows turned into facts by `evidence_facts` (written once for both backends). Orders that a
//! merge relies on are explicit, with SQLite's NULLs-first where a column may be NULL.

use super::evidence_facts::{
    citizens_left_query, cohort_start_dates, corrupt, mark_citizens_left, staff_member, GrantMerge,
    ReferralRow, ResultMerge,
};
use super::export_sql::export_query;
use super::postgres_read_model::narrow;
use crate::error::Result;
use homerehab_shared::evidence::funnel::ReferralFacts;
use homerehab_shared::evidence::report::{CourseFacts, EvidenceSettings};
use homerehab_shared::evidence::staff::StaffMember;
use homerehab_shared::evidence::targets::Period;
use homerehab_shared::export::{period_instants, Cell, ExportTable};
use homerehab_shared::ids::{MunicipalityId, TeamId, UserId};
use postgres::types::{ToSql, Type};
use postgres::GenericClient;
use std::collections::HashMap;
use uuid::Uuid;

/// A municipality's evidence settings, as JSON of `evidence::report::EvidenceSettings`.
pub(super) const SCHEMA: &str = r#"
CREATE TABLE evidence_settings (
    municipality_id UUID PRIMARY KEY REFERENCES municipalities(id),
    settings        TEXT NOT NULL,
    updated_at      BIGINT NOT NULL,
    updated_by      UUID NOT NULL REFERENCES users(id)
);
"#;

fn team_texts(teams: &[TeamId]) -> Vec<String> {
    teams.iter().map(|t| t.to_string()).collect()
}

pub(super) fn settings(
    client: &mut impl GenericClient,
    m: MunicipalityId,
) -> Result<EvidenceSettings> {
    let row = client.query_opt(
        "SELECT settings FROM evidence_settings WHERE municipality_id = $1",
        &[&m.0],
    )?;
    match row {
        Some(r) => serde_json::from_str(r.try_get(0)?).map_err(|e| corrupt("evidence settings", e)),
        None => Ok(EvidenceSettings::default()),
    }
}

pub(super) fn all_settings(
    client: &mut impl GenericClient,
) -> Result<Vec<(MunicipalityId, EvidenceSettings)>> {
    client
        .query(
            "SELECT municipality_id, settings FROM evidence_settings",
            &[],
        )?
        .iter()
        .map(|r| {
            let s =
                serde_json::from_str(r.try_get(1)?).map_err(|e| corrupt("evidence settings", e))?;
            Ok((MunicipalityId(r.try_get(0)?), s))
        })
        .collect()
}

pub(super) fn set_settings(
    client: &mut impl GenericClient,
    m: MunicipalityId,
    settings: &EvidenceSettings,
    by: UserId,
    now: i64,
) -> Result<()> {
    let json = serde_json::to_string(settings).map_err(|e| corrupt("evidence settings", e))?;
    client.execute(
        "INSERT INTO evidence_settings (municipality_id, settings, updated_at, updated_by)
         VALUES ($1, $2, $3, $4)
         ON CONFLICT (municipality_id) DO UPDATE
           SET settings = excluded.settings, updated_at = excluded.updated_at,
               updated_by = excluded.updated_by",
        &[&m.0, &json, &now, &by.0],
    )?;
    Ok(())
}

/// The library's stored effect settings as projected (`None` before the library has any).
pub(super) fn effect_settings_json(
    client: &mut impl GenericClient,
    library: Uuid,
) -> Result<Option<String>> {
    Ok(client
        .query_opt(
            "SELECT settings_json FROM rm_effect_settings WHERE doc_id = $1 LIMIT 1",
            &[&library],
        )?
        .map(|r| r.try_get(0))
        .transpose()?)
}

/// Referrals of `teams` made in `period`, with how far each went.
pub(super) fn referrals(
    client: &mut impl GenericClient,
    teams: &[TeamId],
    period: Period,
) -> Result<Vec<ReferralFacts>> {
    if teams.is_empty() {
        return Ok(Vec::new());
    }
    let (start, end) = (
        homerehab_shared::effect::iso(period.start),
        homerehab_shared::effect::iso(period.end),
    );
    client
        .query(
            "SELECT r.team_id, r.referred_on, r.screened_on IS NOT NULL, r.screened_by, r.outcome,
                    r.not_included_reason, c.status, c.responsible_therapist, c.end_reason
             FROM rm_referrals r LEFT JOIN rm_courses c ON c.course_id = r.course_id
             WHERE r.referred_on BETWEEN $1 AND $2 AND r.team_id = ANY($3)
             ORDER BY r.referral_id",
            &[&start, &end, &team_texts(teams)],
        )?
        .iter()
        .map(|r| {
            Ok(ReferralRow {
                team_id: r.try_get(0)?,
                referred_on: r.try_get(1)?,
                screened: r.try_get(2)?,
                screened_by: r.try_get(3)?,
                outcome: r.try_get(4)?,
                not_included_reason: r.try_get(5)?,
                course_status: r.try_get(6)?,
                responsible_therapist: r.try_get(7)?,
                end_reason: r.try_get(8)?,
            }
            .facts())
        })
        .collect()
}

/// The users of `teams` with their training date and the last day of each kind of work on or
/// before `as_of`.
pub(super) fn staff(
    client: &mut impl GenericClient,
    teams: &[TeamId],
    as_of: time::Date,
) -> Result<Vec<StaffMember>> {
    if teams.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<Uuid> = teams.iter().map(|t| t.0).collect();
    let users = client.query(
        "SELECT id, display_name, role, team_id, trained_on FROM users WHERE team_id = ANY($1)
         ORDER BY id",
        &[&ids],
    )?;
    let work = client.prepare(&format!(
        "SELECT k.work, (SELECT MAX(last_on) FROM rm_work
           WHERE user_id = $1 AND work = k.work AND last_on <= $2)
         FROM (VALUES {}) AS k(work)",
        super::evidence_facts::work_kinds_values()
    ))?;
    let as_of = homerehab_shared::effect::iso(as_of);
    let mut out = Vec::with_capacity(users.len());
    for u in users {
        let id: Uuid = u.try_get(0)?;
        let last_work = client
            .query(&work, &[&id.to_string(), &as_of])?
            .iter()
            .filter_map(
                |r| match (r.try_get(0), r.try_get::<_, Option<String>>(1)) {
                    (Ok(w), Ok(on)) => on.map(|on| Ok((w, on))),
                    (Err(e), _) | (_, Err(e)) => Some(Err(e.into())),
                },
            )
            .collect::<Result<Vec<(String, String)>>>()?;
        out.push(staff_member(
            id,
            u.try_get(1)?,
            u.try_get(2)?,
            u.try_get(3)?,
            u.try_get(4)?,
            last_work,
        )?);
    }
    Ok(out)
}

/// Completed courses of `teams` (every team when `None`) that may have ended in `period`, with
/// results, grants and sessions delivered (see `sqlite_evidence::completed_courses`).
pub(super) fn completed_courses(
    client: &mut impl GenericClient,
    teams: Option<&[TeamId]>,
    period: Period,
) -> Result<Vec<CourseFacts>> {
    let (earliest, latest) = cohort_start_dates(period);
    let team_texts = match teams {
        Some([]) => return Ok(Vec::new()),
        Some(teams) => Some(team_texts(teams)),
        None => None,
    };
    let mut params: Vec<&(dyn ToSql + Sync)> = vec![&earliest, &latest];
    let team_filter = match &team_texts {
        Some(texts) => {
            params.push(texts);
            "AND c.team_id = ANY($3)"
        }
        None => "",
    };
    let cohort = format!(
        "FROM rm_courses c WHERE c.status = 'completed'
           AND c.start_date BETWEEN $1 AND $2 {team_filter}"
    );
    let mut courses = client
        .query(
            &format!(
                "SELECT c.course_id, c.citizen_id, c.team_id, c.start_date, c.planned_weeks,
                        c.sessions_per_week,
                        COALESCE((SELECT SUM(d.delivered) FROM rm_deliveries d
                                  WHERE d.course_id = c.course_id), 0)::BIGINT,
                        c.responsible_therapist
                 {cohort} ORDER BY c.course_id"
            ),
            &params,
        )?
        .iter()
        .map(|r| {
            Ok(CourseFacts {
                course_id: r.try_get(0)?,
                citizen_id: r.try_get(1)?,
                team_id: r.try_get(2)?,
                responsible_therapist: r.try_get(7)?,
                start_date: r.try_get(3)?,
                planned_weeks: narrow(r.try_get(4)?, "planned weeks")?,
                sessions_per_week: narrow(r.try_get(5)?, "sessions per week")?,
                sessions_delivered: narrow(r.try_get(6)?, "sessions delivered")?,
                results: Vec::new(),
                grants: Vec::new(),
                grants_recorded_until: None,
                citizen_left: false,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    let mut merge = ResultMerge::new();
    for r in client.query(
        &format!(
            "SELECT t.course_id, t.test, t.phase, t.value, t.date
             FROM rm_test_results t
             WHERE t.course_id IN (SELECT c.course_id {cohort}) AND t.phase IN ('start', 'end')
             ORDER BY t.course_id, t.result_id"
        ),
        &params,
    )? {
        merge.add(
            &mut courses,
            r.try_get(0)?,
            r.try_get(1)?,
            r.try_get(2)?,
            r.try_get(3)?,
            r.try_get(4)?,
        );
    }
    let mut merge = GrantMerge::new(&courses);
    for r in client.query(
        &format!(
            "SELECT g.citizen_id, g.effective, g.minutes_per_week, g.service_code, g.recorded_on
             FROM rm_care_grants g
             WHERE g.citizen_id IN (SELECT c.citizen_id {cohort})
             ORDER BY g.citizen_id, g.effective, g.service_code NULLS FIRST, g.minutes_per_week"
        ),
        &params,
    )? {
        merge.add(
            &mut courses,
            r.try_get(0)?,
            r.try_get(1)?,
            narrow(r.try_get(2)?, "minutes per week")?,
            r.try_get(3)?,
            r.try_get(4)?,
        );
    }
    // Their care time is not counted: a death is no saving.
    let left: HashMap<String, String> = client
        .query(&citizens_left_query(&cohort), &params)?
        .iter()
        .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
        .collect::<std::result::Result<_, postgres::Error>>()?;
    mark_citizens_left(&mut courses, &left);
    Ok(courses)
}

/// The BI feed's rows of `table` for `teams` within `period` (`export_sql`), each field by its
/// column's type.
pub(super) fn export_rows(
    client: &mut impl GenericClient,
    table: ExportTable,
    teams: &[TeamId],
    period: &Period,
) -> Result<Vec<Vec<Cell>>> {
    if teams.is_empty() {
        return Ok(Vec::new());
    }
    let sql = export_query(table, |column| format!("{column} = ANY($1)"))?;
    let teams = team_texts(teams);
    let (dates, instants);
    let params: Vec<&(dyn ToSql + Sync)> = match table.period_column() {
        None => vec![&teams],
        Some(_) if table == ExportTable::Sessions => {
            instants = period_instants(period);
            vec![&teams, &instants.0, &instants.1]
        }
        Some(_) => {
            dates = (
                homerehab_shared::effect::iso(period.start),
                homerehab_shared::effect::iso(period.end),
            );
            vec![&teams, &dates.0, &dates.1]
        }
    };
    client
        .query(sql.as_str(), &params)?
        .iter()
        .map(|row| {
            row.columns()
                .iter()
                .enumerate()
                .map(|(i, column)| export_cell(row, i, column.type_()))
                .collect()
        })
        .collect()
}

fn export_cell(row: &postgres::Row, i: usize, kind: &Type) -> Result<Cell> {
    let cell = |value: Option<Cell>| value.unwrap_or(Cell::Null);
    Ok(match *kind {
        Type::TEXT | Type::VARCHAR => cell(row.try_get::<_, Option<String>>(i)?.map(Cell::Text)),
        Type::INT2 => cell(
            row.try_get::<_, Option<i16>>(i)?
                .map(|n| Cell::Integer(n.into())),
        ),
        Type::INT4 => cell(
            row.try_get::<_, Option<i32>>(i)?
                .map(|n| Cell::Integer(n.into())),
        ),
        Type::INT8 => cell(row.try_get::<_, Option<i64>>(i)?.map(Cell::Integer)),
        Type::FLOAT8 => cell(row.try_get::<_, Option<f64>>(i)?.map(Cell::Decimal)),
        Type::BOOL => cell(row.try_get::<_, Option<bool>>(i)?.map(Cell::Boolean)),
        ref other => return Err(corrupt("an exported column", other)),
    })
}
