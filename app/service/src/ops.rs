//! The operations the UI calls, as plain functions over [`Core`]: DTO in, app core call, DTO
//! out. Both transports reach these through [`Core::call`] (which first checks the operation's
//! capability), so the two cannot behave differently. No SQL here: reads and writes go through
//! `homerehab_core::store::Store`; this module only parses ids and shapes answers.

use crate::error::{Error, Result};
use homerehab_app_api as api;
use homerehab_core::client::{self, SharedStore};
use homerehab_core::error::CoreError;
use homerehab_core::lock::LockState;
use homerehab_core::store::{now_ms, Store};
use homerehab_shared::auth::Capability;
use homerehab_shared::docs::{self, ExerciseFeedback};
use homerehab_shared::ids::{CourseId, DocumentId, ProgramExerciseId, SessionId};
use homerehab_shared::library::search::SearchIndex;
use homerehab_shared::library::{Lang, Library};
use homerehab_shared::model::{
    self, ExerciseOutcome, Millis, ProgramExercise, SessionLog, SessionStatus, SetLog, Side,
};
use homerehab_shared::municipal;
use homerehab_shared::schedule;
use std::str::FromStr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, MutexGuard};

/// What the operations work on: the device's store, the exercise library, the sync server.
pub struct Core {
    pub store: SharedStore,
    pub library: Arc<Library>,
    /// The sync server signed in to when the request names none.
    pub server_url: String,
    /// Syncs started through [`sync_now`] and still running (for the status bar).
    syncing: AtomicUsize,
    /// The search index of the library it was built from (shipped + the municipality's);
    /// built again when a sync or an edit changed the municipality's part.
    search: std::sync::Mutex<Option<(Arc<Library>, Arc<SearchIndex>)>>,
}

impl Core {
    pub fn new(store: SharedStore, library: Arc<Library>, server_url: String) -> Self {
        Core {
            store,
            library,
            server_url,
            syncing: AtomicUsize::new(0),
            search: std::sync::Mutex::new(None),
        }
    }

    fn store(&self) -> MutexGuard<'_, Store> {
        // A panic while holding the lock leaves SQLite consistent (transactions roll back).
        self.store.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The library the user sees now: the shipped one plus the municipality's own exercises
    /// and templates (merged again only when their document changed).
    fn library_in(&self, store: &mut Store) -> Result<Arc<Library>> {
        Ok(store.library(&self.library)?)
    }

    /// The search index of `library`, reused while the library is the same.
    fn search_index(&self, library: &Arc<Library>) -> Arc<SearchIndex> {
        let mut cached = self.search.lock().unwrap_or_else(|p| p.into_inner());
        match &*cached {
            Some((of, index)) if Arc::ptr_eq(of, library) => index.clone(),
            _ => {
                let index = Arc::new(SearchIndex::of(library));
                *cached = Some((library.clone(), index.clone()));
                index
            }
        }
    }

    /// The store for an operation on the data: only while the app is open (unlocked, or no
    /// PIN chosen yet), else `locked`. Counts as use for the idle lock.
    pub(crate) fn data(&self) -> Result<MutexGuard<'_, Store>> {
        let mut store = self.store();
        store.require_unlocked(now_ms())?;
        Ok(store)
    }
}

mod municipal_library;
mod therapist;
pub use municipal_library::*;
pub use therapist::*;

fn parse<T: FromStr>(what: &str, s: &str) -> Result<T> {
    s.parse()
        .map_err(|_| Error::invalid(format!("`{s}` is not a valid {what} id")))
}

fn course_id(s: &str) -> Result<CourseId> {
    parse("course", s)
}

fn session_id(s: &str) -> Result<SessionId> {
    parse("session", s)
}

/// The language of library texts: `en` or Danish (the default).
pub fn lang(code: Option<&str>) -> Lang {
    match code {
        Some("en") => Lang::En,
        _ => Lang::Da,
    }
}

// ---- sign-in and sync ----------------------------------------------------------------------

pub async fn login(core: &Core, req: api::LoginRequest) -> Result<api::Me> {
    let me = client::login(&core.store, &core.server_url, &req.username, &req.password).await?;
    Ok(api::Me {
        capabilities: crate::capability::of(&me),
        username: me.username,
        display_name: me.display_name,
        role: me.role.as_str().to_string(),
    })
}

/// Who is signed in on this device, if anyone (works offline).
pub fn me(core: &Core) -> Result<Option<api::Me>> {
    Ok(core.store().identity()?.map(|me| api::Me {
        capabilities: crate::capability::of(&me),
        username: me.username,
        display_name: me.display_name,
        role: me.role.as_str().to_string(),
    }))
}

pub fn status(core: &Core) -> Result<api::Status> {
    let mut store = core.store();
    let lock = lock_state(store.lock_state(now_ms())?);
    let s = store.sync_status()?;
    let signed_in = store.identity()?.is_some();
    let refused: Vec<api::RefusedChange> = store
        .refusals()?
        .into_iter()
        .map(|r| api::RefusedChange {
            document: r.header.kind.as_str().to_string(),
            course_id: r.header.course_id.map(|c| c.to_string()),
            citizen_name: r.citizen_name,
            refusal: r.refusal.kind().to_string(),
            detail: r.refusal.detail().to_string(),
            at: r.at,
            unsent: r.unsent,
        })
        .collect();
    let state = if core.syncing.load(Ordering::SeqCst) > 0 {
        api::SyncState::Syncing
    } else if s.last_error.is_some() {
        api::SyncState::Offline
    } else if refused.iter().any(|r| r.unsent) {
        api::SyncState::Refused
    } else if s.waiting > 0 {
        api::SyncState::Waiting
    } else {
        api::SyncState::Synced
    };
    Ok(api::Status {
        state,
        waiting: s.waiting,
        last_sync: s.last_success,
        last_error: s.last_error,
        signed_in,
        lock,
        refused,
        parked: s.parked,
        damaged: s.damaged,
    })
}

// ---- the app lock (rules: homerehab_core::lock) ---------------------------------------------

fn lock_state(s: LockState) -> api::LockState {
    match s {
        LockState::SignedOut => api::LockState::SignedOut,
        LockState::SignInRequired => api::LockState::SignInRequired,
        LockState::NoPin => api::LockState::NoPin,
        LockState::Locked => api::LockState::Locked,
        LockState::Unlocked => api::LockState::Unlocked,
    }
}

/// Chooses the PIN: right after sign-in or while unlocked.
pub fn set_pin(core: &Core, req: api::PinRequest) -> Result<api::Status> {
    core.store().set_pin(&req.pin)?;
    status(core)
}

/// Opens the app with the PIN; a wrong one is `wrong_pin` with the attempts left.
pub fn unlock(core: &Core, req: api::PinRequest) -> Result<api::Status> {
    core.store().unlock(&req.pin)?;
    status(core)
}

pub fn lock(core: &Core) -> Result<api::Status> {
    core.store().lock()?;
    status(core)
}

/// Runs one sync now. An unreachable server is an `offline` error; the store has recorded
/// it, so [`status`] says offline afterwards.
pub async fn sync_now(core: &Core) -> Result<api::Status> {
    struct Running<'a>(&'a AtomicUsize);
    impl Drop for Running<'_> {
        fn drop(&mut self) {
            self.0.fetch_sub(1, Ordering::SeqCst);
        }
    }
    core.syncing.fetch_add(1, Ordering::SeqCst);
    let running = Running(&core.syncing);
    let result = client::sync_now(&core.store).await;
    drop(running);
    result?;
    status(core)
}

// ---- today's visits ------------------------------------------------------------------------

/// Active courses of the citizens the signed-in person visits (every active course of the team
/// for those who follow the team's courses, or while the roster has not arrived), due ones
/// first.
pub fn visits(core: &Core, now: Millis) -> Result<Vec<api::Visit>> {
    let store = core.data()?;
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
        })
        .collect();
    out.sort_by(|a, b| {
        b.due
            .cmp(&a.due)
            .then_with(|| a.citizen_name.cmp(&b.citizen_name))
    });
    Ok(out)
}

// ---- course detail ---------------------------------------------------------------------------

fn side_label(side: Side) -> &'static str {
    match side {
        Side::None => "none",
        Side::Left => "left",
        Side::Right => "right",
        Side::Both => "both",
    }
}

fn dosage_view(d: &model::Dosage) -> api::DosageView {
    api::DosageView {
        sets: d.sets,
        reps: d.reps,
        duration_s: d.duration_s,
        hold_s: d.hold_s,
        rest_s: d.rest_s,
        load: d.load.clone(),
        side: side_label(d.side).to_string(),
    }
}

/// An exercise's title in `lang`; one the library does not have is titled by its id.
fn exercise_title(library: &Library, exercise_ref: &str, lang: Lang) -> String {
    if let Some(e) = library.exercise(exercise_ref) {
        return e.text(lang).title.clone();
    }
    let mut t = exercise_ref.replace('-', " ");
    if let Some(first) = t.get_mut(0..1) {
        first.make_ascii_uppercase();
    }
    t
}

/// A program line with the library's text; an exercise the library does not have (an older
/// program, a local exercise) still shows, titled by its id and without an illustration.
fn line_view(library: &Library, line: &ProgramExercise, lang: Lang) -> api::ProgramLineView {
    let exercise = library.exercise(&line.exercise_ref);
    let (title, summary, steps) = match exercise {
        Some(e) => {
            let t = e.text(lang);
            (t.title.clone(), Some(t.summary.clone()), t.steps.clone())
        }
        None => (
            exercise_title(library, &line.exercise_ref, lang),
            None,
            vec![],
        ),
    };
    api::ProgramLineView {
        line_id: line.id.to_string(),
        exercise_ref: line.exercise_ref.clone(),
        title,
        summary,
        steps,
        // A municipality's exercise is shown with its photos and videos, not a drawing.
        illustration: exercise
            .filter(|e| !municipal::is_municipal(e.id.as_str()))
            .map(|e| format!("/illustrations/{}", e.illustration_file())),
        dosage: dosage_view(&line.dosage),
        instructions: line.instructions.clone(),
        media: vec![],
    }
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
    })
}

// ---- the session -----------------------------------------------------------------------------

pub fn start_session(core: &Core, course: &str) -> Result<api::StartedSession> {
    let id = course_id(course)?;
    let mut store = core.data()?;
    let session = store.start_session(id)?;
    let revisions = store.course_doc(id)?.program.revision_list().len() as u32;
    Ok(api::StartedSession {
        session_id: session.id.to_string(),
        revision_number: revisions,
    })
}

/// The program line a request names, from the course's current program.
fn program_line(store: &mut Store, course: CourseId, line: &str) -> Result<ProgramExercise> {
    let line: ProgramExerciseId = parse("program line", line)?;
    store
        .course_doc(course)?
        .program
        .exercises
        .get(&line.to_string())
        .cloned()
        .ok_or_else(|| Error::not_found("the exercise is no longer in the program"))
}

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

fn outcome_in(o: api::Outcome) -> ExerciseOutcome {
    match o {
        api::Outcome::Done => ExerciseOutcome::Done,
        api::Outcome::Partly => ExerciseOutcome::Partly,
        api::Outcome::Skipped => ExerciseOutcome::Skipped,
    }
}

fn outcome_out(o: ExerciseOutcome) -> api::Outcome {
    match o {
        ExerciseOutcome::Done => api::Outcome::Done,
        ExerciseOutcome::Partly => api::Outcome::Partly,
        ExerciseOutcome::Skipped => api::Outcome::Skipped,
    }
}

/// A rating checked against its scale (`homerehab_shared::model`: the server checks the same).
fn scale(scale: model::Scale, v: Option<u8>) -> Result<Option<u8>> {
    scale.check(v).map_err(|e| Error::invalid(e.to_string()))?;
    Ok(v)
}

fn non_empty(s: Option<String>) -> Option<String> {
    s.map(|s| s.trim().to_string()).filter(|s| !s.is_empty())
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
    let mut store = core.data()?;
    let line = program_line(&mut store, course, &req.line_id)?;
    store.record_feedback(course, session, &line, &fb)?;
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

fn reason_in(r: api::NotCarriedOutReason) -> model::NotCarriedOutReason {
    use model::NotCarriedOutReason as R;
    match r {
        api::NotCarriedOutReason::Ill => R::Ill,
        api::NotCarriedOutReason::Declined => R::Declined,
        api::NotCarriedOutReason::NotAtHome => R::NotAtHome,
        api::NotCarriedOutReason::Hospitalised => R::Hospitalised,
        api::NotCarriedOutReason::Other => R::Other,
    }
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

fn status_label(s: SessionStatus) -> &'static str {
    match s {
        SessionStatus::InProgress => "in_progress",
        SessionStatus::Completed => "completed",
        SessionStatus::NotCarriedOut => "not_carried_out",
    }
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
