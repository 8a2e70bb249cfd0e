//! The domain operations the app calls: each is one local edit of one document through
//! `homerehab_shared::docs`, committed with its projection rows before it returns.

use super::clock::now_ms;
use super::columns::from_label;
use super::database::Store;
use super::projection::Projection;
use crate::error::{CoreError, Result};
use homerehab_shared::docs::{self, CourseDoc, Header, RosterDoc, SessionLogDoc};
use homerehab_shared::effect::goals::GoalFollowUp;
use homerehab_shared::effect::plan::TestPlan;
use homerehab_shared::effect::who5::Who5Answers;
use homerehab_shared::ids::*;
use homerehab_shared::model::*;
use std::collections::BTreeMap;

impl Store {
    /// Adds or updates a citizen on the signed-in user's team roster.
    pub fn put_citizen(&mut self, citizen: &Citizen) -> Result<()> {
        let me = self.me()?;
        let header = Header::roster(me.team_id);
        self.ensure_document(&header)?;
        self.write(header.id, Projection::Citizen(citizen.id), |doc| {
            docs::put_citizen(doc, citizen, now_ms())
        })
    }

    /// Creates a course with its first program revision and its (empty) session log.
    pub fn create_course(
        &mut self,
        course: &Course,
        program: &[ProgramExercise],
    ) -> Result<RevisionId> {
        self.create_course_with(course, program, None, None)
    }

    /// Creates a course with its first program revision, its test plan, its (empty) session
    /// log and the link from the referral it answers, all in one transaction: a failure leaves
    /// no half-made course for a retry to duplicate.
    pub fn create_course_with(
        &mut self,
        course: &Course,
        program: &[ProgramExercise],
        test_plan: Option<&TestPlan>,
        referral: Option<ReferralId>,
    ) -> Result<RevisionId> {
        let me = self.me()?;
        self.in_write_tx(|s| {
            let header = Header::course(course.team_id, course.id);
            s.ensure_document(&header)?;
            s.write(header.id, Projection::Whole, |doc| {
                docs::put_course(doc, course, now_ms())
            })?;
            let edits: Vec<_> = program
                .iter()
                .cloned()
                .map(docs::ProgramEdit::Upsert)
                .collect();
            let rev = s.write(header.id, Projection::Whole, |doc| {
                docs::edit_program(doc, &edits, me.user_id, "Program oprettet", None, now_ms())
            })?;
            if let Some(plan) = test_plan {
                s.set_test_plan(course.id, plan)?;
            }
            s.ensure_document(&Header::session_log(course.team_id, course.id))?;
            if let Some(referral) = referral {
                s.link_referral_course(course.team_id, referral, course.id)?;
            }
            Ok(rev)
        })
    }

    pub fn update_course(&mut self, course: &Course) -> Result<()> {
        let id = DocumentId::course_of(course.id);
        self.write(id, Projection::Whole, |doc| {
            docs::put_course(doc, course, now_ms())
        })
    }

    /// Changes a program; every call makes one listed revision, recording `based_on`, the
    /// revision the editor started from (`shared::rules::check_based_on_latest`).
    pub fn edit_program(
        &mut self,
        course: CourseId,
        edits: &[docs::ProgramEdit],
        summary: &str,
        based_on: Option<RevisionId>,
    ) -> Result<RevisionId> {
        let me = self.me()?;
        self.write(DocumentId::course_of(course), Projection::Whole, |doc| {
            docs::edit_program(doc, edits, me.user_id, summary, based_on, now_ms())
        })
    }

    pub fn add_assessment(&mut self, course: CourseId, a: &Assessment) -> Result<()> {
        self.write(DocumentId::course_of(course), Projection::Whole, |doc| {
            docs::put_assessment(doc, a, now_ms())
        })
    }

    /// Stores the document's containers change (issue #11's maps) as its own write when it
    /// lacks it, so the edit that follows never depends on a change only in memory.
    fn ensure_containers(&mut self, id: DocumentId) -> Result<()> {
        self.write(id, Projection::Unchanged, docs::ensure_containers)
    }

    /// Sets a course's test plan (issue #11).
    pub fn set_test_plan(&mut self, course: CourseId, plan: &TestPlan) -> Result<()> {
        self.write(DocumentId::course_of(course), Projection::Whole, |doc| {
            docs::set_test_plan(doc, plan, now_ms())
        })
    }

    /// Rates one goal of a course.
    pub fn set_goal_attainment(
        &mut self,
        course: CourseId,
        follow_up: &GoalFollowUp,
    ) -> Result<()> {
        self.write(DocumentId::course_of(course), Projection::Whole, |doc| {
            docs::set_goal_attainment(doc, follow_up, now_ms())
        })
    }

    /// Adds a home-care grant to the roster of `team` (replacing the same citizen, service and
    /// date).
    pub fn put_care_grant(&mut self, team: TeamId, grant: &CareGrantRecord) -> Result<()> {
        let header = Header::roster(team);
        self.ensure_document(&header)?;
        self.ensure_containers(header.id)?;
        self.write(
            header.id,
            Projection::CareGrants(std::slice::from_ref(grant)),
            |doc| docs::put_care_grant(doc, grant, now_ms()),
        )
    }

    /// Stores an import's grants on the roster of `team` as one change: all or none. The
    /// grants must be recorded by one user at one time (`CareGrantImport::of`).
    pub fn put_care_grants(&mut self, team: TeamId, grants: &[CareGrantRecord]) -> Result<()> {
        let Some(import) = CareGrantImport::of(grants) else {
            return Err(CoreError::Schema(
                Invalid {
                    field: "care_grant_imports".into(),
                    problem: "an import's grants are 1 or more, recorded by one user at one time"
                        .into(),
                }
                .into(),
            ));
        };
        let header = Header::roster(team);
        self.ensure_document(&header)?;
        self.ensure_containers(header.id)?;
        let id = uuid::Uuid::new_v4().to_string();
        self.write(header.id, Projection::CareGrants(grants), |doc| {
            docs::put_care_grant_import(doc, &id, &import, now_ms())
        })
    }

    /// Adds a referral to the roster of `team` (issue #11).
    pub fn put_referral(&mut self, team: TeamId, referral: &ReferralRecord) -> Result<()> {
        let header = Header::roster(team);
        self.ensure_document(&header)?;
        self.ensure_containers(header.id)?;
        self.write(header.id, Projection::Unchanged, |doc| {
            docs::put_referral(doc, referral, now_ms())
        })
    }

    /// Records a referral's screening.
    pub fn screen_referral(
        &mut self,
        team: TeamId,
        referral: ReferralId,
        screening: &ScreeningRecord,
    ) -> Result<()> {
        self.write(DocumentId::roster_of(team), Projection::Unchanged, |doc| {
            docs::screen_referral(doc, referral, screening, now_ms())
        })
    }

    /// Links an included referral to the course created from it.
    pub fn link_referral_course(
        &mut self,
        team: TeamId,
        referral: ReferralId,
        course: CourseId,
    ) -> Result<()> {
        self.write(DocumentId::roster_of(team), Projection::Unchanged, |doc| {
            docs::link_referral_course(doc, referral, course, now_ms())
        })
    }

    /// Begins (or resumes) the WHO-5 of a session, by the signed-in user.
    pub fn start_who5(
        &mut self,
        course: CourseId,
        session: SessionId,
        phase: AssessmentPhase,
        place: MeasuredAt,
    ) -> Result<()> {
        let me = self.me()?;
        let id = DocumentId::session_log_of(course);
        self.write(id, Projection::Session(session), |doc| {
            docs::start_who5(doc, session, phase, me.user_id, place, now_ms())
        })
    }

    /// Saves one WHO-5 answer: one change, durable when this returns. Answers all answers now.
    pub fn record_who5_answer(
        &mut self,
        course: CourseId,
        session: SessionId,
        item: usize,
        answer: u8,
    ) -> Result<Who5Answers> {
        let id = DocumentId::session_log_of(course);
        self.write(id, Projection::Session(session), |doc| {
            docs::record_who5_answer(doc, session, item, answer, now_ms())
        })
    }

    pub fn course_doc(&mut self, course: CourseId) -> Result<CourseDoc> {
        Ok(CourseDoc::read(
            self.document(DocumentId::course_of(course))?,
        )?)
    }

    /// Program fields two devices changed concurrently, for the therapist to settle.
    pub fn program_conflicts(&mut self, course: CourseId) -> Result<Vec<docs::ProgramConflict>> {
        Ok(docs::program_conflicts(
            self.document(DocumentId::course_of(course))?,
        )?)
    }

    pub fn session_log(&mut self, course: CourseId) -> Result<SessionLogDoc> {
        Ok(SessionLogDoc::read(
            self.document(DocumentId::session_log_of(course))?,
        )?)
    }

    pub fn roster(&mut self, team: TeamId) -> Result<RosterDoc> {
        Ok(RosterDoc::read(
            self.document(DocumentId::roster_of(team))?,
        )?)
    }

    /// The citizens on a team's roster, without its care grants.
    pub fn roster_citizens(&mut self, team: TeamId) -> Result<BTreeMap<String, Citizen>> {
        Ok(docs::read_citizens(
            self.document(DocumentId::roster_of(team))?,
        )?)
    }

    /// One citizen on a team's roster, `None` when not on it: read without the others (a
    /// course's creation asked for the whole roster and slowed as it grew, issue #13).
    pub fn roster_citizen(&mut self, team: TeamId, id: CitizenId) -> Result<Option<Citizen>> {
        Ok(docs::read_citizen(
            self.document(DocumentId::roster_of(team))?,
            id,
        )?)
    }

    /// The referrals on a team's roster.
    pub fn referrals(&mut self, team: TeamId) -> Result<BTreeMap<String, ReferralRecord>> {
        Ok(docs::read_referrals(
            self.document(DocumentId::roster_of(team))?,
        )?)
    }

    fn log_header(&mut self, course: CourseId) -> Result<Header> {
        let course_header = self
            .header_of(DocumentId::course_of(course))?
            .ok_or_else(|| CoreError::NotFound(format!("course {course}")))?;
        let header = Header::session_log(course_header.team_id, course);
        self.ensure_document(&header)?;
        Ok(header)
    }

    /// Stores a new session of `course`, performed by the signed-in user against the program's
    /// current revision; `shape` turns the freshly started session into what is recorded.
    fn record_session(
        &mut self,
        course: CourseId,
        shape: impl FnOnce(SessionLog) -> SessionLog,
    ) -> Result<SessionLog> {
        let me = self.me()?;
        let revision = self
            .course_doc(course)?
            .program
            .latest_revision()
            .map(|r| r.id);
        let header = self.log_header(course)?;
        let now = now_ms();
        let session = shape(SessionLog::start(course, me.user_id, revision, now));
        self.write(header.id, Projection::Session(session.id), |doc| {
            docs::put_session(doc, &session, now)
        })?;
        Ok(session)
    }

    /// Starts a session against the program's current revision.
    pub fn start_session(&mut self, course: CourseId) -> Result<SessionLog> {
        self.record_session(course, |s| s)
    }

    /// What "start" on a visit does: opens again the signed-in user's session of today still
    /// in progress (`schedule::session_to_resume`), else starts one — one visit is one session,
    /// however it was begun.
    pub fn resume_or_start_session(&mut self, course: CourseId) -> Result<SessionLog> {
        let me = self.me()?;
        let rows = self.sessions(course)?;
        let resumable = homerehab_shared::schedule::session_to_resume(
            rows.iter().filter_map(|r| {
                from_label(&r.status).map(|s| (r.id, r.performed_by, r.started_at, s))
            }),
            me.user_id,
            now_ms(),
        );
        if let Some(id) = resumable {
            let doc = self.document(DocumentId::session_log_of(course))?;
            if let Some(session) = docs::read_session(doc, &id.to_string())? {
                return Ok(session);
            }
        }
        self.record_session(course, |s| s)
    }

    /// Records a session that did not take place, with the reason.
    pub fn session_not_carried_out(
        &mut self,
        course: CourseId,
        reason: NotCarriedOutReason,
        note: Option<String>,
    ) -> Result<SessionId> {
        Ok(self
            .record_session(course, |s| s.not_carried_out(reason, note))?
            .id)
    }

    /// Logs one performed set: one change of the session log, durable (committed to SQLite)
    /// when this returns. Answers how many sets of that line the session holds now, counted
    /// in the document this call changed. The line is checked against the course's current
    /// program through its projection row (kept in the transaction that changes the course),
    /// so the course document is neither loaded nor read.
    pub fn log_set(&mut self, entry: &LogSet) -> Result<u32> {
        let exercise_ref = self.exercise_of_line(entry.course, entry.line)?;
        let id = DocumentId::session_log_of(entry.course);
        self.write(id, Projection::SetLogged(entry.session), |doc| {
            docs::log_set(
                doc,
                entry.session,
                entry.line,
                &exercise_ref,
                &entry.set,
                entry.set.at,
            )
        })
    }

    /// An exercise's outcome, Borg and pain in a session: one session-log change, the line
    /// checked against its `program_lines` row as for a set (no course document load).
    pub fn record_feedback(
        &mut self,
        course: CourseId,
        session: SessionId,
        line: ProgramExerciseId,
        fb: &docs::ExerciseFeedback,
    ) -> Result<()> {
        let exercise_ref = self.exercise_of_line(course, line)?;
        let id = DocumentId::session_log_of(course);
        self.write(id, Projection::Session(session), |doc| {
            docs::record_feedback(doc, session, line, &exercise_ref, fb, now_ms())
        })
    }

    /// The exercise of a program line: from its projection row (the current program, kept in
    /// the same transaction as the course document), else by the course document's rule
    /// (`ProgramDoc::exercise_of_line`: a line of any revision — refusing one the therapist
    /// removed mid-visit stranded the session). `NotFound` for a line the program never had.
    fn exercise_of_line(&mut self, course: CourseId, line: ProgramExerciseId) -> Result<String> {
        if let Some(exercise) = self.program_line_exercise(course, line)? {
            return Ok(exercise);
        }
        self.course_doc(course)?
            .program
            .exercise_of_line(line)
            .map(str::to_string)
            .ok_or_else(|| CoreError::NotFound(format!("exercise line {line} in the program")))
    }

    /// Closes a session with the citizen's general condition and the assistant's note.
    pub fn finish_session(&mut self, close: &SessionClose) -> Result<()> {
        let id = DocumentId::session_log_of(close.course);
        self.write(id, Projection::Session(close.session), |doc| {
            docs::finish_session(
                doc,
                close.session,
                close.general_condition,
                close.note.as_deref(),
                now_ms(),
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::fixtures::signed_in;

    /// A signed-in therapist's store, and an active course of one program line to create.
    fn active_course_to_create(dir: &std::path::Path) -> (Store, Course, ProgramExercise) {
        let team = TeamId::new();
        let store = signed_in(dir, Role::Therapist, team);
        let me = store.identity().unwrap().unwrap();
        let course = Course {
            status: CourseStatus::Active,
            ..Course::new(CitizenId::new(), team, me.user_id, "2026-11-02", 0)
        };
        let line = ProgramExercise::new("sit-to-stand", 1.0, Dosage::reps(3, 10));
        (store, course, line)
    }

    /// Why a course ended early is in its row (the care-time worklist reads it there, not from
    /// each ended course's document), and a store of the schema before it gets it at the
    /// upgrade's rebuild of the projections.
    #[test]
    fn a_course_rows_end_reason_is_projected_and_filled_on_upgrade() {
        let dir = tempfile::tempdir().unwrap();
        let (mut store, mut course, line) = active_course_to_create(dir.path());
        store
            .create_course(&course, std::slice::from_ref(&line))
            .unwrap();
        assert_eq!(store.courses().unwrap()[0].end_reason, None);
        course
            .change_status(CourseStatus::EndedEarly, None, Some("died"))
            .unwrap();
        store.update_course(&course).unwrap();
        let reason = |store: &Store| store.courses().unwrap()[0].end_reason.clone();
        assert_eq!(reason(&store).as_deref(), Some("died"));
        drop(store);
        // The database as the release before left it: no column, one migration behind.
        let conn = rusqlite::Connection::open(dir.path().join("homerehab.sqlite3")).unwrap();
        conn.execute_batch("ALTER TABLE courses DROP COLUMN end_reason")
            .unwrap();
        let behind = crate::store::schema::MIGRATIONS.len() as i64 - 1;
        conn.pragma_update(None, "user_version", behind).unwrap();
        drop(conn);
        let store = Store::open(dir.path()).unwrap();
        assert_eq!(reason(&store).as_deref(), Some("died"));
    }

    #[test]
    fn a_logged_set_is_projected_and_survives_reopening() {
        let dir = tempfile::tempdir().unwrap();
        let (mut store, course, line) = active_course_to_create(dir.path());
        let rev = store
            .create_course(&course, std::slice::from_ref(&line))
            .unwrap();
        let session = store.start_session(course.id).unwrap();
        assert_eq!(session.program_revision, Some(rev));
        let set = SetLog {
            reps: Some(9),
            duration_s: None,
            load_kg: None,
            at: 1,
        };
        for _ in 0..2 {
            store
                .log_set(&LogSet {
                    course: course.id,
                    session: session.id,
                    line: line.id,
                    set: set.clone(),
                })
                .unwrap();
        }
        drop(store);
        let mut store = Store::open(dir.path()).unwrap();
        assert_eq!(store.sessions(course.id).unwrap()[0].set_count, 2);
        assert_eq!(store.session_log(course.id).unwrap().sessions.len(), 1);
        assert_eq!(
            store.sync_status().unwrap().waiting,
            2,
            "the course and its log wait for sync"
        );
    }

    #[test]
    fn a_course_whose_last_step_fails_is_not_made_at_all() {
        let dir = tempfile::tempdir().unwrap();
        let team = TeamId::new();
        let mut store = signed_in(dir.path(), Role::Therapist, team);
        let me = store.identity().unwrap().unwrap();
        let course = Course::new(CitizenId::new(), team, me.user_id, "2026-11-02", 0);
        let line = ProgramExercise::new("sit-to-stand", 1.0, Dosage::reps(3, 10));
        let documents = store.document_count().unwrap();
        // The referral's link is the last step; the team has no roster to link in.
        let err = store
            .create_course_with(
                &course,
                std::slice::from_ref(&line),
                Some(&TestPlan::default()),
                Some(ReferralId::new()),
            )
            .unwrap_err();
        assert!(matches!(err, CoreError::NotFound(_)), "{err}");
        assert!(store.courses().unwrap().is_empty(), "no half-made course");
        assert_eq!(store.document_count().unwrap(), documents);
        assert_eq!(store.sync_status().unwrap().waiting, 0, "nothing to send");
        // The same course made again, without the failing step, is whole and single.
        store
            .create_course_with(&course, std::slice::from_ref(&line), None, None)
            .unwrap();
        drop(store);
        let mut store = Store::open(dir.path()).unwrap();
        assert_eq!(store.courses().unwrap().len(), 1);
        assert_eq!(
            store
                .course_doc(course.id)
                .unwrap()
                .program
                .revision_list()
                .len(),
            1
        );
    }

    #[test]
    fn start_on_a_visit_opens_the_session_in_progress_again_until_it_is_finished() {
        let dir = tempfile::tempdir().unwrap();
        let (mut store, course, line) = active_course_to_create(dir.path());
        store
            .create_course(&course, std::slice::from_ref(&line))
            .unwrap();
        // The WHO-5 first, then "start" (or a second tap, or the app restarted): one session.
        let first = store.resume_or_start_session(course.id).unwrap();
        store
            .log_set(&one_set(course.id, first.id, line.id))
            .unwrap();
        drop(store);
        let mut store = Store::open(dir.path()).unwrap();
        let again = store.resume_or_start_session(course.id).unwrap();
        assert_eq!(again.id, first.id);
        assert_eq!(again.set_count(), 1, "with what was logged in it");
        assert_eq!(store.sessions(course.id).unwrap().len(), 1);
        // Finished, the next visit is a new session.
        store
            .finish_session(&SessionClose {
                course: course.id,
                session: first.id,
                general_condition: Some(4),
                note: None,
            })
            .unwrap();
        let next = store.resume_or_start_session(course.id).unwrap();
        assert_ne!(next.id, first.id);
        assert_eq!(store.sessions(course.id).unwrap().len(), 2);
    }

    /// A therapist's course with two program lines and a started session, on a store just
    /// reopened (so nothing is in memory).
    fn course_with_two_lines(
        dir: &std::path::Path,
    ) -> (Store, CourseId, SessionId, ProgramExercise, ProgramExercise) {
        let team = TeamId::new();
        let mut store = signed_in(dir, Role::Therapist, team);
        let me = store.identity().unwrap().unwrap();
        let course = Course {
            status: CourseStatus::Active,
            ..Course::new(CitizenId::new(), team, me.user_id, "2026-11-02", 0)
        };
        let a = ProgramExercise::new("sit-to-stand", 1.0, Dosage::reps(3, 10));
        let b = ProgramExercise::new("heel-raise", 2.0, Dosage::reps(2, 12));
        store
            .create_course(&course, &[a.clone(), b.clone()])
            .unwrap();
        let session = store.start_session(course.id).unwrap().id;
        drop(store);
        (Store::open(dir).unwrap(), course.id, session, a, b)
    }

    fn one_set(course: CourseId, session: SessionId, line: ProgramExerciseId) -> LogSet {
        LogSet {
            course,
            session,
            line,
            set: SetLog {
                reps: Some(10),
                duration_s: None,
                load_kg: None,
                at: 7,
            },
        }
    }

    #[test]
    fn logging_a_set_answers_the_lines_sets_and_touches_only_the_session_log() {
        let dir = tempfile::tempdir().unwrap();
        let (mut store, course, session, a, b) = course_with_two_lines(dir.path());
        let counts: Vec<u32> = [a.id, a.id, b.id, a.id]
            .into_iter()
            .map(|line| store.log_set(&one_set(course, session, line)).unwrap())
            .collect();
        assert_eq!(counts, [1, 2, 1, 3]);
        // One document write: the course document was never loaded to find the line.
        assert!(!store.loaded.contains_key(&DocumentId::course_of(course)));
        let stored = store.session_log(course).unwrap().sessions[&session.to_string()].clone();
        assert_eq!(stored.exercises[&a.id.to_string()].sets.len(), 3);
        assert_eq!(
            stored.exercises[&a.id.to_string()].exercise_ref,
            "sit-to-stand"
        );
        assert_eq!(
            stored.exercises[&b.id.to_string()].exercise_ref,
            "heel-raise"
        );
        assert_eq!(store.sessions(course).unwrap()[0].set_count, 4);
        store
            .finish_session(&SessionClose {
                course,
                session,
                general_condition: Some(4),
                note: Some("godt".into()),
            })
            .unwrap();
        let closed = store.session_log(course).unwrap().sessions[&session.to_string()].clone();
        assert_eq!(closed.status, SessionStatus::Completed);
        assert_eq!(
            (closed.general_condition, closed.note.as_deref()),
            (Some(4), Some("godt"))
        );
    }

    #[test]
    fn a_set_or_feedback_for_a_line_the_program_never_had_is_refused_and_nothing_is_stored() {
        let dir = tempfile::tempdir().unwrap();
        let (mut store, course, session, a, _) = course_with_two_lines(dir.path());
        let latest = store
            .course_doc(course)
            .unwrap()
            .program
            .latest_revision()
            .map(|r| r.id);
        store
            .edit_program(
                course,
                &[docs::ProgramEdit::Remove(a.id)],
                "removed",
                latest,
            )
            .unwrap();
        let feedback = docs::ExerciseFeedback {
            outcome: ExerciseOutcome::Done,
            skip_reason: None,
            borg: Some(3),
            pain: None,
            note: None,
        };
        // The line removed while the session ran (the therapist's change synced in mid-visit)
        // is still the one on the assistant's screen: its set and feedback are kept.
        assert_eq!(store.log_set(&one_set(course, session, a.id)).unwrap(), 1);
        store
            .record_feedback(course, session, a.id, &feedback)
            .unwrap();
        assert_eq!(store.sessions(course).unwrap()[0].set_count, 1);
        let heads = store.all_heads().unwrap();
        let never = ProgramExerciseId::new();
        let refused = store.log_set(&one_set(course, session, never));
        assert!(
            matches!(refused, Err(CoreError::NotFound(_))),
            "{refused:?}"
        );
        let refused = store.record_feedback(course, session, never, &feedback);
        assert!(
            matches!(refused, Err(CoreError::NotFound(_))),
            "{refused:?}"
        );
        // An unknown session is refused by the document and rolls back.
        let refused = store.log_set(&one_set(course, SessionId::new(), a.id));
        assert!(refused.is_err());
        assert_eq!(store.all_heads().unwrap(), heads);
        assert_eq!(store.sessions(course).unwrap()[0].set_count, 1);
    }
}
