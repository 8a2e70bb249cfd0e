//! Today's visits, a course as the assistant sees it, and the guided session: start, log a
//! set, feedback, finish, "not carried out", the summary.

use super::convert::*;
use super::municipal_library::line_media;
use crate::app_core::Core;
use crate::error::{Error, Result};
use homerehab_app_api as api;
use homerehab_core::error::CoreError;
use homerehab_core::store::{now_ms, Store};
use homerehab_shared::auth::Capability;
use homerehab_shared::docs::{self, ExerciseFeedback};
use homerehab_shared::ids::{CourseId, DocumentId, ProgramExerciseId, SessionId};
use homerehab_shared::library::Lang;
use homerehab_shared::model::{self, Millis, SessionLog, SetLog};
use homerehab_shared::schedule;

// ---- today's visits ------------------------------------------------------------------------

/// Active courses of the citizens the signed-in person visits (every active course of the team
/// for those who follow the team's courses, or while the roster has not arrived), due ones
/// first.
pub fn visits(core: &Core, now: Millis) -> Result<Vec<api::Visit>> {
    let mut store = core.data()?;
    let me = store.identity()?.ok_or(CoreError::NotSignedIn)?;
    // Who follows the team's courses sees all of them; others their own visits.
    let only_for = (!crate::capability::may(&me, Capability::FollowCourses)).then_some(me.user_id);
    let mut out: Vec<api::Visit> = store
        .visit_rows(schedule::week_start(now), only_for)?
        .into_iter()
        .map(|row| api::Visit {
            course_id: row.course_id.to_string(),
            // Empty until the roster arrives; the UI says so in its language.
            citizen_name: row.citizen_name.unwrap_or_default(),
            address: row.address,
            legal_basis: row.legal_basis,
            sessions_this_week: row.sessions_this_week,
            sessions_per_week: row.sessions_per_week,
            due: schedule::is_due(row.sessions_this_week, row.sessions_per_week),
            last_session_at: row.last_session_at,
            tests_due: Vec::new(),
        })
        .collect();
    // The assistant measures the WHO-5 with the citizen, and the physical tests the therapist
    // delegated; the others are the therapist's.
    for visit in &mut out {
        let id = course_id(&visit.course_id)?;
        visit.tests_due =
            super::effect::prompts(&mut store, id, now, |d| d.test == "who5" || d.delegated)?;
    }
    out.sort_by(|a, b| {
        b.due
            .cmp(&a.due)
            .then_with(|| a.citizen_name.cmp(&b.citizen_name))
    });
    Ok(out)
}

pub fn course_detail(core: &Core, course: &str, lang: Lang) -> Result<api::CourseDetail> {
    let id = course_id(course)?;
    let mut store = core.data()?;
    let library = store.library(&core.library)?;
    let local = store.library_doc()?;
    let doc = store.course_doc(id)?;
    let c = doc
        .course
        .as_ref()
        .ok_or_else(|| Error::not_found("the course has no record on this device yet"))?;
    let citizen_name = store
        .courses()?
        .into_iter()
        .find(|r| r.id == id)
        .and_then(|r| r.citizen_name)
        .unwrap_or_default();
    Ok(api::CourseDetail {
        course_id: id.to_string(),
        citizen_name,
        legal_basis: c.legal_basis.0.clone(),
        goals: c.goals.clone(),
        sessions_per_week: c.sessions_per_week,
        revision_number: doc.program.revision_list().len() as u32,
        lines: doc
            .program
            .ordered()
            .into_iter()
            .map(|l| api::ProgramLineView {
                media: line_media(&store, local.as_ref(), &l.exercise_ref),
                ..line_view(&library, l, lang)
            })
            .collect(),
        test_plan: super::convert::plan_view(&doc.test_plan()),
    })
}

// ---- the session -----------------------------------------------------------------------------

pub fn start_session(core: &Core, course: &str) -> Result<api::StartedSession> {
    let id = course_id(course)?;
    let mut store = core.data()?;
    let session = store.resume_or_start_session(id)?;
    let revisions = store.course_doc(id)?.program.revision_list().len() as u32;
    Ok(api::StartedSession {
        session_id: session.id.to_string(),
        revision_number: revisions,
        sets_done: session
            .exercises
            .iter()
            .map(|(line, e)| (line.clone(), e.sets.len() as u32))
            .filter(|(_, n)| *n > 0)
            .collect(),
    })
}

/// The program line a request names, from the course's current program.
fn read_session(store: &mut Store, course: CourseId, session: SessionId) -> Result<SessionLog> {
    let doc = store.document(DocumentId::session_log_of(course))?;
    docs::read_session(doc, &session.to_string())
        .map_err(CoreError::from)?
        .ok_or_else(|| Error::not_found("the session is not on this device"))
}

/// Logs one set; durable when this returns. Answers the line's set count in the session.
pub fn log_set(
    core: &Core,
    course: &str,
    session: &str,
    req: api::LogSetRequest,
) -> Result<api::SetLogged> {
    let (course, session) = (course_id(course)?, session_id(session)?);
    let mut store = core.data()?;
    let entry = homerehab_shared::model::LogSet {
        course,
        session,
        line: parse("program line", &req.line_id)?,
        set: SetLog {
            reps: req.reps,
            duration_s: req.duration_s,
            load_kg: req.load_kg,
            at: now_ms(),
        },
    };
    let sets_done = store.log_set(&entry)?;
    Ok(api::SetLogged { sets_done })
}

pub fn record_feedback(
    core: &Core,
    course: &str,
    session: &str,
    req: api::FeedbackRequest,
) -> Result<api::Saved> {
    let (course, session) = (course_id(course)?, session_id(session)?);
    let fb = ExerciseFeedback {
        outcome: outcome_in(req.outcome),
        skip_reason: non_empty(req.skip_reason),
        borg: scale(model::BORG, req.borg)?,
        pain: scale(model::PAIN, req.pain)?,
        note: non_empty(req.note),
    };
    let line: ProgramExerciseId = parse("program line", &req.line_id)?;
    core.data()?.record_feedback(course, session, line, &fb)?;
    Ok(api::Saved { saved: true })
}

pub fn finish_session(
    core: &Core,
    course: &str,
    session: &str,
    req: api::FinishRequest,
) -> Result<api::SessionSummary> {
    let (course, session) = (course_id(course)?, session_id(session)?);
    let close = homerehab_shared::model::SessionClose {
        course,
        session,
        general_condition: scale(model::GENERAL_CONDITION, req.general_condition)?,
        note: non_empty(req.note),
    };
    let mut store = core.data()?;
    store.finish_session(&close)?;
    summary_of(&mut store, course, session)
}

pub fn not_carried_out(
    core: &Core,
    course: &str,
    req: api::NotCarriedOutRequest,
) -> Result<api::SessionSummary> {
    let course = course_id(course)?;
    let mut store = core.data()?;
    let id = store.session_not_carried_out(course, reason_in(req.reason), non_empty(req.note))?;
    summary_of(&mut store, course, id)
}

fn summary_of(
    store: &mut Store,
    course: CourseId,
    session: SessionId,
) -> Result<api::SessionSummary> {
    let log = read_session(store, course, session)?;
    let order = store.course_doc(course)?.program;
    let position = |line: &str| order.exercises.get(line).map_or(f64::MAX, |l| l.position);
    let mut exercises: Vec<_> = log.exercises.iter().collect();
    exercises.sort_by(|a, b| position(a.0).total_cmp(&position(b.0)));
    Ok(api::SessionSummary {
        session_id: log.id.to_string(),
        status: status_label(log.status).to_string(),
        started_at: log.started_at,
        ended_at: log.ended_at,
        general_condition: log.general_condition,
        note: log.note.clone(),
        exercises: exercises
            .into_iter()
            .map(|(line, e)| api::ExerciseSummary {
                line_id: line.clone(),
                exercise_ref: e.exercise_ref.clone(),
                sets_done: e.sets.len() as u32,
                outcome: e.outcome.map(outcome_out),
                borg: e.borg,
                pain: e.pain,
            })
            .collect(),
    })
}

pub fn session_summary(core: &Core, course: &str, session: &str) -> Result<api::SessionSummary> {
    let (course, session) = (course_id(course)?, session_id(session)?);
    let mut store = core.data()?;
    summary_of(&mut store, course, session)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scales_refuse_values_out_of_range() {
        assert_eq!(scale(model::PAIN, Some(10)), Ok(Some(10)));
        assert_eq!(scale(model::PAIN, None), Ok(None));
        assert_eq!(
            scale(model::PAIN, Some(11)).unwrap_err().kind(),
            api::ErrorKind::Invalid
        );
        assert!(scale(model::GENERAL_CONDITION, Some(0)).is_err());
    }
}
