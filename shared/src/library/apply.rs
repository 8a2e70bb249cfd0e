//! Starting a program from the library: one library exercise, or a whole template, becomes
//! program lines with their dose, ready for [`crate::docs::edit_program`].

use super::text::Lang;
use super::{Library, LibraryError};
use crate::ids::{CitizenId, ProgramExerciseId, TeamId, UserId};
use crate::model::{Course, CourseStatus, LegalBasis, Millis, ProgramExercise};

/// What a template fills in for a new course; the therapist adjusts it before saving.
#[derive(Clone, Debug, PartialEq)]
pub struct CourseDraft {
    pub legal_basis: LegalBasis,
    pub planned_weeks: u32,
    pub sessions_per_week: u32,
    pub minutes_per_session: u32,
    pub goals: Vec<String>,
    pub status: CourseStatus,
    pub program: Vec<ProgramExercise>,
    /// The template's own test plan, if it carries one.
    pub test_plan: Option<crate::effect::plan::TestPlan>,
}

impl Library {
    /// A program line for a library exercise with its default dose, at `position`.
    pub fn program_line(
        &self,
        exercise: &str,
        position: f64,
        lang: Lang,
    ) -> Result<ProgramExercise, LibraryError> {
        let e = self
            .current(exercise)
            .ok_or_else(|| LibraryError::UnknownExercise {
                owner: "program".into(),
                relation: "line",
                target: exercise.to_string(),
            })?;
        Ok(ProgramExercise {
            id: ProgramExerciseId::new(),
            exercise_ref: e.id.to_string(),
            position,
            dosage: e.dosage.to_program(lang),
            instructions: None,
        })
    }

    /// The course frame, goals and program of a template, in `lang`: one step from template to
    /// course.
    pub fn draft_from_template(
        &self,
        template: &str,
        lang: Lang,
    ) -> Result<CourseDraft, LibraryError> {
        let t = self
            .templates
            .get(template)
            .ok_or_else(|| LibraryError::UnknownExercise {
                owner: "course".into(),
                relation: "template",
                target: template.to_string(),
            })?;
        let mut program = Vec::with_capacity(t.exercises.len());
        for (i, entry) in t.exercises.iter().enumerate() {
            let mut line = self.program_line(entry.exercise.as_str(), (i + 1) as f64, lang)?;
            if let Some(d) = &entry.dosage {
                line.dosage = d.to_program(lang);
            }
            if let Some(note) = entry.note.as_ref().and_then(|n| super::pick(n, lang)) {
                line.instructions = Some(note.clone());
            }
            program.push(line);
        }
        let text = super::pick(&t.text, lang).expect("a validated template has text");
        Ok(CourseDraft {
            legal_basis: t.legal_basis.clone(),
            planned_weeks: u32::from(t.frame.weeks),
            sessions_per_week: u32::from(t.frame.sessions_per_week),
            minutes_per_session: u32::from(t.frame.minutes_per_session),
            goals: text.goals.clone(),
            status: CourseStatus::Planned,
            program,
            test_plan: t.test_plan.clone(),
        })
    }
}

impl CourseDraft {
    /// The course record for `citizen`, starting on `start_date` (ISO), owned by `therapist`.
    pub fn course(
        &self,
        citizen: CitizenId,
        team: TeamId,
        therapist: UserId,
        start_date: &str,
        now: Millis,
    ) -> Course {
        Course {
            legal_basis: self.legal_basis.clone(),
            planned_weeks: self.planned_weeks,
            sessions_per_week: self.sessions_per_week,
            minutes_per_session: self.minutes_per_session,
            goals: self.goals.clone(),
            status: self.status,
            ..Course::new(citizen, team, therapist, start_date, now)
        }
    }
}
