//! The therapist's and the leader's messages: caseload, citizens, course creation, the program
//! editor with library search and templates, session history with trends, assessments, and the
//! leader's read-only team overview.

use crate::device::Millis;
use crate::dosage::DosageView;
use crate::session::{Outcome, ProgramLineView};
use serde::{Deserialize, Serialize};

/// Something on a course the therapist should look at (a caseload flag).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum CourseFlag {
    /// No session (carried out or not) for `days` days on an active course.
    NoRecentSession { days: u32 },
    /// Sessions carried out as a share of those planned so far is low.
    LowAdherence { percent: u32 },
    /// A recent session reported pain at or above the threshold.
    HighPain { pain: u8 },
    /// Two devices changed the program concurrently; the therapist should settle it.
    ProgramConflict,
}

/// One row of the therapist's caseload (`GET /api/caseload`), also the leader's course list.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaseloadRow {
    pub course_id: String,
    pub citizen_id: String,
    /// Empty when the citizen is not on this device's roster (yet).
    pub citizen_name: String,
    pub legal_basis: String,
    /// `planned`, `active`, `paused`, `completed` or `ended_early`.
    pub status: String,
    /// ISO date.
    pub start_date: String,
    pub planned_weeks: u32,
    /// 1-based week of the course today (0 before it starts, capped at `planned_weeks` + 1).
    pub week_of_course: u32,
    pub sessions_per_week: u32,
    /// Sessions carried out (completed or in progress) since the course started.
    pub sessions_done: u32,
    /// Sessions planned up to today (`sessions_per_week` × elapsed weeks).
    pub sessions_planned_so_far: u32,
    /// `sessions_done` / `sessions_planned_so_far`, when anything was planned yet.
    pub adherence_percent: Option<u32>,
    pub last_session_at: Option<Millis>,
    /// Highest pain (0–10) reported in the last 14 days.
    pub recent_max_pain: Option<u8>,
    pub revision_number: u32,
    pub responsible_therapist: String,
    pub flags: Vec<CourseFlag>,
    /// Planned tests without a result that are due, overdue or begin within a week
    /// ("starttest mangler", "sluttest om 3 dage"); only for open courses.
    #[serde(default)]
    pub tests_due: Vec<crate::DueTestView>,
}

/// A citizen on the team's roster (`GET /api/citizens`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CitizenView {
    pub citizen_id: String,
    pub name: String,
    /// The municipality's own reference (case number), never a CPR number.
    pub local_ref: String,
    pub address: Option<String>,
    /// User ids of the assistants who visit this citizen.
    pub assigned: Vec<String>,
    /// The citizen's planned, active or paused course, if any.
    pub open_course_id: Option<String>,
    /// For the age/sex norms; optional, no CPR needed.
    #[serde(default)]
    pub birth_year: Option<u16>,
    /// `female` or `male`.
    #[serde(default)]
    pub sex: Option<String>,
}

/// `POST /api/citizens`: put a citizen on the signed-in user's team roster.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewCitizen {
    pub name: String,
    pub local_ref: String,
    pub address: Option<String>,
    /// User ids of the assistants who will visit.
    pub assigned: Vec<String>,
    /// For the age/sex norms; optional, no CPR needed.
    #[serde(default)]
    pub birth_year: Option<u16>,
    /// `female` or `male`.
    #[serde(default)]
    pub sex: Option<String>,
}

/// A member of the signed-in user's team (`GET /api/staff`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StaffMember {
    pub user_id: String,
    pub display_name: String,
    /// `assistant`, `therapist`, `leader` or `admin` (to display).
    pub role: String,
    /// Whether they guide sessions (may be assigned to a course's visits).
    #[serde(default)]
    pub runs_sessions: bool,
}

/// A program template (`GET /api/templates?lang=da`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TemplateView {
    pub template_id: String,
    pub title: String,
    pub description: String,
    pub goals: Vec<String>,
    pub legal_basis: String,
    pub planned_weeks: u32,
    pub sessions_per_week: u32,
    pub minutes_per_session: u32,
    pub exercise_count: u32,
    /// `shipped` (the app's library) or `municipality` (the municipality's own).
    pub source: String,
    /// The test plan a course from this template gets (issue #11): the template's own, else
    /// the municipality's default, else the shipped default.
    #[serde(default)]
    pub test_plan: crate::TestPlanView,
    /// The sources a shipped template cites (issue #15: programmes, guidelines, reviews, as
    /// citations); none for a municipality's own.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub references: Vec<String>,
}

/// The legal bases a therapist chooses from, in order (`GET /api/legal-bases`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LegalBases {
    pub known: Vec<String>,
}

/// `POST /api/courses`: a new course for a citizen, from scratch or from a template. With a
/// template, its exercises become the first program revision; the frame fields given here win
/// over the template's defaults.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewCourse {
    pub citizen_id: String,
    pub template_id: Option<String>,
    pub legal_basis: String,
    /// ISO date.
    pub start_date: String,
    pub planned_weeks: u32,
    pub sessions_per_week: u32,
    pub minutes_per_session: u32,
    pub goals: Vec<String>,
    /// The included referral the course is created from (issue #11), linking the two.
    #[serde(default)]
    pub referral_id: Option<String>,
    /// The test plan as the therapist edited it before creating; `None`: the template's (or
    /// the default) unchanged.
    #[serde(default)]
    pub test_plan: Option<crate::TestPlanView>,
}

/// Answer to `POST /api/courses`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CourseCreated {
    pub course_id: String,
    pub revision_number: u32,
}

/// `GET /api/library?q=..&position=..&equipment=..&body_area=..&category=..&lang=da`: filters
/// are the library's tag keys (`sitting`, `chair`, `legs`, `strength`); empty means any.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LibraryQuery {
    #[serde(default)]
    pub q: String,
    pub position: Option<String>,
    pub equipment: Option<String>,
    pub body_area: Option<String>,
    pub category: Option<String>,
    pub lang: Option<String>,
}

/// One exercise found in the library.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LibraryHit {
    pub exercise_ref: String,
    pub title: String,
    pub summary: String,
    pub illustration: Option<String>,
    pub category: String,
    pub position: String,
    pub equipment: Vec<String>,
    pub body_areas: Vec<String>,
    pub difficulty: u8,
    pub default_dosage: DosageView,
    /// `shipped` or `municipality`.
    pub source: String,
}

/// A filter choice: the tag key and its label in the asked language.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FilterOption {
    pub key: String,
    pub label: String,
}

/// Answer to a library search: the first hits (best first) and how many matched in all.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LibrarySearch {
    pub hits: Vec<LibraryHit>,
    pub total: u32,
    pub categories: Vec<FilterOption>,
    pub positions: Vec<FilterOption>,
    pub equipment: Vec<FilterOption>,
    pub body_areas: Vec<FilterOption>,
}

/// A listed program revision.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RevisionView {
    /// 1-based, oldest first.
    pub number: u32,
    pub at: Millis,
    pub by_name: String,
    pub summary: String,
    pub exercise_count: u32,
}

/// A program field two devices changed concurrently: the value kept and the other one.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProgramConflictView {
    pub line_id: String,
    pub exercise_title: String,
    pub field: String,
    pub kept: String,
    pub other: String,
}

/// `GET /api/courses/{id}/program?lang=da`: what the program editor shows.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProgramView {
    pub course_id: String,
    pub citizen_name: String,
    pub legal_basis: String,
    pub goals: Vec<String>,
    pub planned_weeks: u32,
    pub sessions_per_week: u32,
    pub minutes_per_session: u32,
    pub status: String,
    pub revision_number: u32,
    pub lines: Vec<ProgramLineView>,
    /// Newest first.
    pub revisions: Vec<RevisionView>,
    pub conflicts: Vec<ProgramConflictView>,
}

/// `GET /api/courses/{id}/program-sheet?lang=da`: the citizen's own copy of the program, to
/// print and leave in the home (`homerehab_shared::program_sheet` decides what it holds).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProgramSheet {
    pub course_id: String,
    pub citizen_name: String,
    /// ISO dates: the course's start and its last planned day.
    pub start_date: String,
    pub last_day: String,
    pub planned_weeks: u32,
    pub sessions_per_week: u32,
    pub minutes_per_session: u32,
    pub goals: Vec<String>,
    /// The program's revision printed (1-based), and the day it was made (ISO).
    pub revision_number: u32,
    pub revised_on: Option<String>,
    /// The therapist responsible for the course, and the team.
    pub therapist_name: String,
    pub team_name: String,
    pub lines: Vec<SheetLine>,
    /// The weeks to tick off, from the week the sheet is made in (none past the planned end).
    pub weeks: Vec<SheetWeekView>,
    /// Planned weeks after the last one on the sheet (print a new sheet for them).
    pub weeks_after: u32,
    /// The library's rules for every exercise (stop at chest pain, call 112 …).
    pub general_safety: Vec<String>,
    /// The day the sheet was made (ISO, Danish time): what "printed" says.
    pub made_on: String,
}

/// One exercise on the sheet.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SheetLine {
    pub title: String,
    pub summary: Option<String>,
    pub steps: Vec<String>,
    pub dosage: DosageView,
    /// The therapist's words for this citizen.
    pub instructions: Option<String>,
    /// The library's safety notes for this exercise.
    pub safety: Vec<String>,
    /// Path on the local API of the picture to print: the library's drawing, or a
    /// municipality's photo in which nobody can be recognised; none for an exercise with
    /// neither.
    pub picture: Option<String>,
    /// Photos left off the paper because a person can be recognised in them.
    pub photos_with_person_left_out: u32,
}

/// One week to tick off: its number in the course and its first and last day (ISO).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SheetWeekView {
    pub number: u32,
    pub first_day: String,
    pub last_day: String,
}

/// One line as the editor sends it back: an existing line keeps its `line_id`; a new one has none.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProgramLineEdit {
    pub line_id: Option<String>,
    pub exercise_ref: String,
    pub dosage: DosageView,
    pub instructions: Option<String>,
}

/// `POST /api/courses/{id}/program`: the whole program in its new order. The core turns it into
/// the smallest set of edits (only changed, added, removed or moved lines are written, so a
/// concurrent edit of another line on another device merges) and one listed revision.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SaveProgram {
    /// The revision the editor started from (to say "changed meanwhile" if it moved on).
    pub based_on_revision: u32,
    /// What changed, in the therapist's words; the core writes one when empty.
    pub summary: Option<String>,
    pub lines: Vec<ProgramLineEdit>,
}

/// How one exercise went in one session, for the history.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ExerciseHistory {
    pub line_id: String,
    pub exercise_ref: String,
    pub title: String,
    pub outcome: Option<Outcome>,
    pub skip_reason: Option<String>,
    pub sets_done: u32,
    /// Sum of reps over the sets that counted reps.
    pub reps_total: Option<u32>,
    pub duration_total_s: Option<u32>,
    pub max_load_kg: Option<f64>,
    pub borg: Option<u8>,
    pub pain: Option<u8>,
    pub note: Option<String>,
}

/// One session in a course's history, newest first.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SessionHistoryItem {
    pub session_id: String,
    /// `in_progress`, `completed` or `not_carried_out`.
    pub status: String,
    /// In progress, begun on an earlier day: no "start" opens it again (`schedule::left_open`).
    #[serde(default)]
    pub left_open: bool,
    pub started_at: Millis,
    pub ended_at: Option<Millis>,
    pub performed_by_name: String,
    /// The program revision the session was done against (1-based), if known.
    pub revision_number: Option<u32>,
    pub general_condition: Option<u8>,
    pub note: Option<String>,
    /// `ill`, `declined`, `not_at_home`, `hospitalised` or `other`.
    pub not_carried_out_reason: Option<String>,
    pub exercises: Vec<ExerciseHistory>,
}

/// One point of an exercise's trend: one session.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TrendPoint {
    pub session_id: String,
    pub at: Millis,
    pub reps_total: Option<u32>,
    pub duration_total_s: Option<u32>,
    pub max_load_kg: Option<f64>,
    pub borg: Option<u8>,
    pub pain: Option<u8>,
}

/// An exercise's values across sessions, oldest first (the history chart).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ExerciseTrend {
    pub exercise_ref: String,
    pub title: String,
    pub points: Vec<TrendPoint>,
}

/// `GET /api/courses/{id}/history?lang=da`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CourseHistory {
    pub course_id: String,
    pub citizen_name: String,
    pub sessions: Vec<SessionHistoryItem>,
    pub trends: Vec<ExerciseTrend>,
    pub assessments: Vec<AssessmentView>,
}

/// A test the therapist can record (`GET /api/assessment-kinds?lang=da`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AssessmentKindView {
    /// e.g. `chair_stand_30s`.
    pub kind: String,
    pub label: String,
    pub unit: String,
    pub higher_is_better: bool,
}

/// A recorded assessment.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AssessmentView {
    pub assessment_id: String,
    pub kind: String,
    pub label: String,
    pub value: f64,
    pub unit: String,
    /// ISO date.
    pub date: String,
    /// `start`, `midway`, `end` or `follow_up`.
    pub phase: String,
    pub by_name: String,
    pub note: Option<String>,
    /// `home` or `clinic`; `None` for results recorded before the place was (unknown).
    #[serde(default)]
    pub place: Option<String>,
}

/// `POST /api/courses/{id}/assessments`; the unit comes from the kind.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NewAssessment {
    pub kind: String,
    pub value: f64,
    /// ISO date.
    pub date: String,
    /// `start`, `midway`, `end` or `follow_up`.
    pub phase: String,
    pub note: Option<String>,
    /// Where it was measured: `home` or `clinic`; `None`: not said (shown as unknown).
    #[serde(default)]
    pub place: Option<String>,
}

/// One staff member's use of the app, for the leader.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StaffActivity {
    pub user_id: String,
    pub display_name: String,
    /// To display (what they may do is `runs_sessions`).
    pub role: String,
    /// Whether they guide sessions (then no session in 28 days stands out).
    #[serde(default)]
    pub runs_sessions: bool,
    /// Sessions they logged (carried out or not) in the last 28 days.
    pub sessions_last_28_days: u32,
    pub last_session_at: Option<Millis>,
}

/// `GET /api/overview`: the leader's read-only view of the team.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TeamOverview {
    pub team_name: String,
    pub citizens: u32,
    pub courses_planned: u32,
    pub courses_active: u32,
    pub courses_completed: u32,
    pub courses_ended_early: u32,
    /// Sessions carried out in the last 28 days.
    pub sessions_last_28_days: u32,
    /// Sessions recorded as not carried out in the last 28 days.
    pub not_carried_out_last_28_days: u32,
    /// Over active courses: sessions done / planned so far.
    pub adherence_percent: Option<u32>,
    pub staff: Vec<StaffActivity>,
    pub courses: Vec<CaseloadRow>,
}

/// `POST /api/courses/{id}/status`: pause, resume, complete or end a course early (with why).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CourseStatusChange {
    /// `active`, `paused`, `completed` or `ended_early`.
    pub status: String,
    /// The therapist's words: may say why a course pauses or ends early (needed with the
    /// end reason `other`).
    pub reason: Option<String>,
    /// Required when ending early: a key of `EffectSettingsView::end_reasons`.
    #[serde(default)]
    pub end_reason: Option<String>,
}

/// `POST /api/courses/{id}/frame`: a running course's new length and scope (weeks 1–104,
/// sessions a week 1–14, minutes a session 1–240); a completed or ended course keeps its own.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CourseFrameChange {
    pub planned_weeks: u32,
    pub sessions_per_week: u32,
    pub minutes_per_session: u32,
}
