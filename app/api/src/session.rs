//! Today's visits, a course as the assistant sees it, and the guided session.

use crate::device::Millis;
use crate::dosage::DosageView;
use crate::media::MediaView;
use serde::{Deserialize, Serialize};

/// One card on "today's visits" (`GET /api/visits`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Visit {
    pub course_id: String,
    /// Empty when the citizen is not on this device's roster (yet).
    pub citizen_name: String,
    pub address: Option<String>,
    pub legal_basis: String,
    /// Sessions carried out (started or completed) since Monday.
    pub sessions_this_week: u32,
    pub sessions_per_week: u32,
    /// Whether a session is still due this week.
    pub due: bool,
    pub last_session_at: Option<Millis>,
    /// Planned tests the assistant measures (the WHO-5, and physical tests the therapist
    /// delegated) that are due, overdue or begin within a week: the visit card's prompt.
    #[serde(default)]
    pub tests_due: Vec<crate::DueTestView>,
}

/// One exercise of the program, with the library's text in the requested language.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProgramLineView {
    pub line_id: String,
    pub exercise_ref: String,
    pub title: String,
    pub summary: Option<String>,
    pub steps: Vec<String>,
    /// Path of the illustration on the local API (`/illustrations/sit-to-stand.svg`), if the
    /// library has the exercise.
    pub illustration: Option<String>,
    pub dosage: DosageView,
    /// The therapist's per-citizen instructions.
    pub instructions: Option<String>,
    /// Photos and videos of a municipality's own exercise, in order (none for shipped ones).
    #[serde(default)]
    pub media: Vec<MediaView>,
}

/// `GET /api/courses/{id}?lang=da`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CourseDetail {
    pub course_id: String,
    pub citizen_name: String,
    pub legal_basis: String,
    pub goals: Vec<String>,
    pub sessions_per_week: u32,
    /// 1-based number of the program's current revision (0 when no program yet).
    pub revision_number: u32,
    pub lines: Vec<ProgramLineView>,
    /// The course's test plan in force (issue #11).
    #[serde(default)]
    pub test_plan: crate::TestPlanView,
}

/// Answer to `POST /api/courses/{id}/sessions`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StartedSession {
    pub session_id: String,
    pub revision_number: u32,
    /// Sets already logged per program line (its `line_id`), when the session was opened
    /// again (the WHO-5 first, an app restarted mid-visit); empty for a new one.
    #[serde(default)]
    pub sets_done: std::collections::BTreeMap<String, u32>,
}

/// `POST /api/courses/{id}/sessions/{sid}/sets`: one performed set, durably stored on return.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LogSetRequest {
    pub line_id: String,
    pub reps: Option<u32>,
    pub duration_s: Option<u32>,
    pub load_kg: Option<f64>,
}

/// Answer to a logged set: how many sets this line now has in the session.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SetLogged {
    pub sets_done: u32,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Done,
    Partly,
    Skipped,
}

/// `POST /api/courses/{id}/sessions/{sid}/feedback`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FeedbackRequest {
    pub line_id: String,
    pub outcome: Outcome,
    pub skip_reason: Option<String>,
    /// Borg CR10, 0–10.
    pub borg: Option<u8>,
    /// Pain NRS, 0–10.
    pub pain: Option<u8>,
    pub note: Option<String>,
}

/// `POST /api/courses/{id}/sessions/{sid}/finish`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FinishRequest {
    /// 1 (poor) – 5 (very good).
    pub general_condition: Option<u8>,
    pub note: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NotCarriedOutReason {
    Ill,
    Declined,
    NotAtHome,
    Hospitalised,
    Other,
}

/// `POST /api/courses/{id}/not-carried-out`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NotCarriedOutRequest {
    pub reason: NotCarriedOutReason,
    pub note: Option<String>,
}

/// One exercise in a session summary.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExerciseSummary {
    pub line_id: String,
    pub exercise_ref: String,
    pub sets_done: u32,
    pub outcome: Option<Outcome>,
    pub borg: Option<u8>,
    pub pain: Option<u8>,
}

/// `GET /api/courses/{id}/sessions/{sid}`: what was logged, for the summary screen.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionSummary {
    pub session_id: String,
    /// `in_progress`, `completed` or `not_carried_out`.
    pub status: String,
    pub started_at: Millis,
    pub ended_at: Option<Millis>,
    pub general_condition: Option<u8>,
    pub note: Option<String>,
    pub exercises: Vec<ExerciseSummary>,
}

/// Answer to operations that only need to say they were stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Saved {
    pub saved: bool,
}
