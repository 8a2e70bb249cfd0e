//! The relational rows that mirror each document (citizens, courses, program lines,
//! sessions), refreshed in the transaction that changes the document.

use super::columns::label;
use crate::error::Result;
use automerge::Automerge;
use homerehab_shared::docs::touched::TouchedRecords;
use homerehab_shared::docs::{self, CourseDoc, DocumentKind, Header, RosterDoc, SchemaError};
use homerehab_shared::ids::{CitizenId, SessionId};
use homerehab_shared::model::{CareGrantRecord, Citizen, SessionLog};
use rusqlite::{params, Connection};

/// Which projection rows an edit refreshes.
pub(super) enum Projection<'a> {
    Whole,
    /// Nothing projected changed (a containers change, a referral: read from the document).
    Unchanged,
    /// One citizen on a roster changed (not the roster's care grants, which may be many).
    Citizen(CitizenId),
    /// These care grants were written on a roster, as they were written.
    CareGrants(&'a [CareGrantRecord]),
    Session(SessionId),
    /// One set was added to a session: only its count changes (the hot path while guiding).
    SetLogged(SessionId),
    /// The records absorbed changes touched (`docs::touched::touched_records`); a course is read whole.
    Records(&'a TouchedRecords),
}

/// Refreshes the relational rows that mirror a document.
pub(super) fn project(
    tx: &Connection,
    header: &Header,
    doc: &Automerge,
    scope: &Projection<'_>,
) -> Result<()> {
    match (header.kind, scope) {
        (_, Projection::Unchanged) => {}
        // The municipality's library is read from its document (it is small); nothing to
        // project.
        (DocumentKind::Library, _) => {}
        (DocumentKind::SessionLog, Projection::SetLogged(id)) => {
            tx.execute(
                "UPDATE sessions SET set_count = set_count + 1 WHERE id = ?1",
                [id.to_string()],
            )?;
        }
        (DocumentKind::SessionLog, Projection::Session(id)) => {
            if let Some(s) = docs::read_session_quickly(doc, &id.to_string())? {
                project_session(tx, &s)?;
            }
        }
        (DocumentKind::SessionLog, Projection::Records(touched)) => {
            for key in &touched.sessions {
                project_stored_session(tx, doc, key)?;
            }
        }
        // Every session read in one pass over the log, each validated (not autosurgeon's field
        // by field): most of a cold pull's cost was reading 30 sessions per course (issue #13).
        (DocumentKind::SessionLog, _) => {
            for session in docs::SessionLogDoc::read_sessions(doc)?.values() {
                project_session(tx, session)?;
            }
        }
        // Rows from the records the edit just wrote (and validated): reading 100,000 of them
        // back from the document would double an import's time.
        (DocumentKind::Roster, Projection::CareGrants(grants)) => {
            project_care_grants(tx, header, *grants)?;
        }
        (DocumentKind::Roster, Projection::Citizen(id)) => {
            if let Some(c) = docs::read_citizen(doc, *id)? {
                project_citizens(tx, header, [&c])?;
            }
        }
        (DocumentKind::Roster, Projection::Records(touched)) => {
            let mut citizens = Vec::with_capacity(touched.citizens.len());
            for id in &touched.citizens {
                // Validated as a whole roster's reading validates every citizen.
                if let Some(c) = docs::read_citizen(doc, *id)? {
                    c.validate().map_err(SchemaError::from)?;
                    citizens.push(c);
                }
            }
            project_citizens(tx, header, &citizens)?;
            if touched.care_grants {
                let roster = RosterDoc::read(doc)?;
                project_care_grants(tx, header, roster.all_care_grants().values())?;
            }
        }
        (DocumentKind::Roster, _) => {
            let roster = RosterDoc::read(doc)?;
            project_citizens(tx, header, roster.citizens.values())?;
            project_care_grants(tx, header, roster.all_care_grants().values())?;
        }
        (DocumentKind::Course, _) => {
            let c = CourseDoc::read(doc)?;
            let Some(course) = &c.course else {
                return Ok(());
            };
            let cid = course.id.to_string();
            let conflicts = docs::program_conflicts(doc)?.len() as i64;
            tx.prepare_cached(
                "INSERT OR REPLACE INTO courses (id, citizen_id, team_id, legal_basis, start_date,
                    planned_weeks, sessions_per_week, minutes_per_session, status,
                    responsible_therapist, current_revision, revision_count, program_conflicts,
                    end_reason)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
            )?
            .execute(params![
                cid,
                course.citizen_id.to_string(),
                course.team_id.to_string(),
                course.legal_basis.0,
                course.start_date,
                course.planned_weeks,
                course.sessions_per_week,
                course.minutes_per_session,
                label(&course.status),
                course.responsible_therapist.to_string(),
                c.program.latest_revision().map(|r| r.id.to_string()),
                c.program.revisions.len() as i64,
                conflicts,
                course.end_reason,
            ])?;
            tx.prepare_cached("DELETE FROM program_lines WHERE course_id = ?1")?
                .execute([&cid])?;
            let mut line_row = tx.prepare_cached(
                "INSERT INTO program_lines VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            )?;
            for line in c.program.exercises.values() {
                line_row.execute(params![
                    cid,
                    line.id.to_string(),
                    line.exercise_ref,
                    line.position,
                    line.dosage.sets,
                    line.dosage.reps,
                    line.dosage.duration_s,
                    line.dosage.load
                ])?;
            }
        }
    }
    Ok(())
}

fn project_citizens<'a>(
    tx: &Connection,
    header: &Header,
    citizens: impl IntoIterator<Item = &'a Citizen>,
) -> Result<()> {
    let mut put = tx.prepare_cached(
        "INSERT OR REPLACE INTO citizens
           (id, team_id, name, local_ref, active, address, birth_year, sex)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )?;
    let mut unassign =
        tx.prepare_cached("DELETE FROM citizen_assignments WHERE citizen_id = ?1")?;
    let mut assign = tx.prepare_cached("INSERT INTO citizen_assignments VALUES (?1, ?2)")?;
    for c in citizens {
        let id = c.id.to_string();
        put.execute(params![
            id,
            header.team_id.to_string(),
            c.name,
            c.local_ref,
            c.active,
            c.address,
            c.birth_year,
            c.sex.map(|s| label(&s)),
        ])?;
        unassign.execute([&id])?;
        for (user, on) in &c.assigned {
            if *on {
                assign.execute(params![id, user])?;
            }
        }
    }
    Ok(())
}

fn project_care_grants<'a>(
    tx: &Connection,
    header: &Header,
    grants: impl IntoIterator<Item = &'a CareGrantRecord>,
) -> Result<()> {
    // For one key the latest recording wins, in `shared::model::latest_care_grants`' order.
    let mut put = tx.prepare_cached(
        "INSERT INTO care_grants (key, team_id, citizen_id, effective,
            minutes_per_week, service_code, recorded_by, recorded_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
         ON CONFLICT (key) DO UPDATE SET team_id = excluded.team_id,
            minutes_per_week = excluded.minutes_per_week, recorded_by = excluded.recorded_by,
            recorded_at = excluded.recorded_at
         WHERE (excluded.recorded_at, excluded.recorded_by, excluded.minutes_per_week)
             > (care_grants.recorded_at, care_grants.recorded_by, care_grants.minutes_per_week)",
    )?;
    let team = header.team_id.to_string();
    for g in grants {
        put.execute(params![
            g.key(),
            team,
            g.citizen_id.to_string(),
            g.effective,
            g.minutes_per_week,
            g.service_code,
            g.recorded_by.to_string(),
            g.recorded_at,
        ])?;
    }
    Ok(())
}

/// The session stored under `key`, validated as a whole log's reading validates each.
fn project_stored_session(tx: &Connection, doc: &Automerge, key: &str) -> Result<()> {
    if let Some(s) = docs::read_session_quickly(doc, key)? {
        s.validate().map_err(SchemaError::from)?;
        project_session(tx, &s)?;
    }
    Ok(())
}

fn project_session(tx: &Connection, s: &SessionLog) -> Result<()> {
    let max_pain = s.exercises.values().filter_map(|e| e.pain).max();
    tx.prepare_cached(
        "INSERT OR REPLACE INTO sessions (id, course_id, performed_by, program_revision, started_at,
            ended_at, status, not_carried_out, general_condition, set_count, max_pain)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
    )?
    .execute(params![
            s.id.to_string(),
            s.course_id.to_string(),
            s.performed_by.to_string(),
            s.program_revision.map(|r| r.to_string()),
            s.started_at,
            s.ended_at,
            label(&s.status),
            s.not_carried_out.map(|r| label(&r)),
            s.general_condition,
            s.set_count() as i64,
            max_pain,
        ],
    )?;
    Ok(())
}
