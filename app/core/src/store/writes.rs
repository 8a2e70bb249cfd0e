//! The domain operations the app calls: each is one local edit of one document through
//! `homerehab_shared::docs`, committed with its projection rows before it returns.

use super::clock::now_ms;
use super::database::Store;
use super::projection::Projection;
use crate::error::{CoreError, Result};
use homerehab_shared::docs::{self, CourseDoc, Header, RosterDoc, SessionLogDoc};
use homerehab_shared::ids::*;
use homerehab_shared::model::*;

impl Store {
    /// Adds or updates a citizen on the signed-in user's team roster.
    pub fn put_citizen(&mut self, citizen: &Citizen) -> Result<()> {
        let me = self.me()?;
        let header = Header::roster(me.team_id);
        self.ensure_document(&header)?;
        self.write(header.id, Projection::Whole, |doc| {
            docs::put_citizen(doc, citizen, now_ms())
        })
    }

    /// Creates a course with its first program revision and its (empty) session log.
    pub fn create_course(
        &mut self,
        course: &Course,
        program: &[ProgramExercise],
    ) -> Result<RevisionId> {
        let me = self.me()?;
        let header = Header::course(course.team_id, course.id);
        self.ensure_document(&header)?;
        self.write(header.id, Projection::Whole, |doc| {
            docs::put_course(doc, course, now_ms())
        })?;
        let edits: Vec<_> = program
            .iter()
            .cloned()
            .map(docs::ProgramEdit::Upsert)
            .collect();
        let rev = self.write(header.id, Projection::Whole, |doc| {
            docs::edit_program(doc, &edits, me.user_id, "Program oprettet", now_ms())
        })?;
        self.ensure_document(&Header::session_log(course.team_id, course.id))?;
        Ok(rev)
    }

    pub fn update_course(&mut self, course: &Course) -> Result<()> {
        let id = DocumentId::course_of(course.id);
        self.write(id, Projection::Whole, |doc| {
            docs::put_course(doc, course, now_ms())
        })
    }

    /// Changes a program; every call makes one listed revision.
    pub fn edit_program(
        &mut self,
        course: CourseId,
        edits: &[docs::ProgramEdit],
        summary: &str,
    ) -> Result<RevisionId> {
        let me = self.me()?;
        self.write(DocumentId::course_of(course), Projection::Whole, |doc| {
            docs::edit_program(doc, edits, me.user_id, summary, now_ms())
        })
    }

    pub fn add_assessment(&mut self, course: CourseId, a: &Assessment) -> Result<()> {
        self.write(DocumentId::course_of(course), Projection::Whole, |doc| {
            docs::put_assessment(doc, a, now_ms())
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

    /// Logs one performed set. Durable (committed to SQLite) when this returns.
    pub fn log_set(
        &mut self,
        course: CourseId,
        session: SessionId,
        line: &ProgramExercise,
        set: &SetLog,
    ) -> Result<()> {
        let id = DocumentId::session_log_of(course);
        self.write(id, Projection::SetLogged(session), |doc| {
            docs::log_set(doc, session, line.id, &line.exercise_ref, set, set.at)
        })
    }

    pub fn record_feedback(
        &mut self,
        course: CourseId,
        session: SessionId,
        line: &ProgramExercise,
        fb: &docs::ExerciseFeedback,
    ) -> Result<()> {
        let id = DocumentId::session_log_of(course);
        self.write(id, Projection::Session(session), |doc| {
            docs::record_feedback(doc, session, line.id, &line.exercise_ref, fb, now_ms())
        })
    }

    pub fn finish_session(
        &mut self,
        course: CourseId,
        session: SessionId,
        general_condition: Option<u8>,
        note: Option<&str>,
    ) -> Result<()> {
        let id = DocumentId::session_log_of(course);
        self.write(id, Projection::Session(session), |doc| {
            docs::finish_session(doc, session, general_condition, note, now_ms())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::fixtures::signed_in;

    #[test]
    fn a_logged_set_is_projected_and_survives_reopening() {
        let dir = tempfile::tempdir().unwrap();
        let team = TeamId::new();
        let mut store = signed_in(dir.path(), Role::Therapist, team);
        let me = store.identity().unwrap().unwrap();
        let course = Course {
            status: CourseStatus::Active,
            ..Course::new(CitizenId::new(), team, me.user_id, "2026-11-02", 0)
        };
        let line = ProgramExercise::new("sit-to-stand", 1.0, Dosage::reps(3, 10));
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
        store.log_set(course.id, session.id, &line, &set).unwrap();
        store.log_set(course.id, session.id, &line, &set).unwrap();
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
}
