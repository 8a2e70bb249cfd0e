//! Issue #11's messages: a course's test plan and what is due, WHO-5 answered per tap, goal
//! attainment, home-care grants and the course's effect summary.

use serde::{Deserialize, Serialize};

/// `POST /api/courses/{course}/test-plan`, and the plan in force (assessment catalogue keys).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TestPlanView {
    pub start: Vec<String>,
    pub mid: Vec<String>,
    pub end: Vec<String>,
    /// Planned physical tests the therapist delegated to the assistant ("Uddelegeret til
    /// assistent"), who records them on the tablet during a visit.
    #[serde(default)]
    pub delegated: Vec<String>,
}

/// A planned test without a result, and where it stands today.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DueTestView {
    pub test: String,
    /// The test's name in Danish ("30 sekunders rejse-sætte-sig"); the UI names it in English
    /// from the assessment kinds when English is chosen.
    #[serde(default)]
    pub label: String,
    /// `start`, `midway` or `end`.
    pub phase: String,
    /// ISO dates, inclusive.
    pub window_start: String,
    pub window_end: String,
    /// `upcoming`, `due` or `overdue`.
    pub status: String,
    /// Days until its week (upcoming), left in it counting today (due) or past it (overdue).
    pub days: i64,
    /// Delegated to the assistant: recorded on the tablet during a visit.
    #[serde(default)]
    pub delegated: bool,
}

/// `GET /api/courses/{course}/delegated-tests/{test}?lang=`: what the tablet's entry screen
/// of a delegated test shows: the test, its phase due now, its unit and range.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DelegatedTestForm {
    pub course_id: String,
    pub citizen_name: String,
    pub test: String,
    /// The test's name in the requested language.
    pub label: String,
    /// `start`, `midway` or `end`: the phase the result will count for.
    pub phase: String,
    /// The unit as a reader writes it in the requested language ("gange", "sek.").
    pub unit: String,
    pub min: f64,
    pub max: f64,
    /// Counted in whole numbers (stands, points).
    pub whole: bool,
}

/// `POST /api/courses/{course}/delegated-tests`: the result of a delegated test, measured by
/// the signed-in assistant today.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DelegatedTestResult {
    pub test: String,
    /// `start`, `midway` or `end`: the phase the entry screen showed. The result counts for
    /// the phase due now; another one is refused (the screen is stale).
    pub phase: String,
    pub value: f64,
    /// `home` or `clinic`.
    pub place: String,
    #[serde(default)]
    pub note: Option<String>,
}

/// `POST /api/courses/{course}/sessions/{session}/who5`: begins (or resumes) the WHO-5.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StartWho5 {
    /// `start`, `midway`, `end` or `follow_up`.
    pub phase: String,
    /// `home` or `clinic`.
    pub place: String,
}

/// `POST /api/courses/{course}/sessions/{session}/who5/answers`: one tap.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Who5AnswerRequest {
    /// 1–5, as the questionnaire numbers its statements.
    pub item: u8,
    /// 0–5.
    pub answer: u8,
}

/// The WHO-5 so far: answers by item, and the score once all five are in.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Who5Progress {
    pub answers: Vec<Option<u8>>,
    /// Item numbers (1–5) still unanswered; empty when complete.
    pub missing: Vec<u8>,
    /// Raw 0–25 and 0–100, only when all five are answered.
    pub raw: Option<u8>,
    pub percent: Option<u8>,
}

/// `POST /api/courses/{course}/goals`: the attainment of one of the course's goals.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GoalRating {
    pub goal: String,
    /// `achieved`, `partly_achieved` or `not_achieved`.
    pub attainment: String,
    pub note: Option<String>,
}

/// `POST /api/citizens/{citizen}/care-grants`: a grant as the care record system holds it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewCareGrant {
    /// ISO date the grant took effect.
    pub effective: String,
    pub minutes_per_week: u32,
    /// FSIII service code, when known.
    pub service_code: Option<String>,
}

/// One test start → end, judged.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TestOutcomeView {
    pub test: String,
    pub start: Option<f64>,
    pub end: Option<f64>,
    /// `improved`, `maintained`, `declined` or `incomplete`; `None` without a meaningful-change
    /// value for the test.
    pub judgement: Option<String>,
    /// The norm's mean for the citizen's age and sex and `below`/`within`/`above`, when known.
    pub norm_mean: Option<f64>,
    pub norm_position: Option<String>,
    /// The test's name in Danish (the summary is printed in Danish).
    #[serde(default)]
    pub label: String,
    /// The meaningful-change value the judgement used, in the test's unit, and where it comes
    /// from, so a reader can check the judgement.
    #[serde(default)]
    pub meaningful_change: Option<f64>,
    #[serde(default)]
    pub meaningful_change_source: Option<String>,
    /// The test's unit in Danish ("gange", "sek.", "point").
    #[serde(default)]
    pub unit: String,
    /// Who measured the start and end result and where (`home`, `clinic`; `None`: unknown).
    #[serde(default)]
    pub start_by: Option<String>,
    #[serde(default)]
    pub start_place: Option<String>,
    #[serde(default)]
    pub end_by: Option<String>,
    #[serde(default)]
    pub end_place: Option<String>,
}

/// One goal and its attainment (`None` until rated).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GoalView {
    pub goal: String,
    pub attainment: Option<String>,
    pub note: Option<String>,
}

/// Home-care minutes at a follow-up after the course.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CareFollowUpView {
    pub offset_days: u32,
    /// ISO date.
    pub date: String,
    pub minutes_per_week: Option<u32>,
    pub change_minutes: Option<i64>,
    pub change_percent: Option<f64>,
    /// Its day has come, but no grants were recorded since (`care_time::FollowUp`).
    #[serde(default)]
    pub awaiting_grants: bool,
    /// The course's follow-ups are not asked for: it ended early
    /// (`CourseStatus::follows_up_care_time`), or `citizen_left`; either way its care time is
    /// not in the leaders' figures.
    #[serde(default)]
    pub not_followed_up: bool,
    /// The citizen left home care for another reason than a course (a course of theirs ended
    /// early because they died or moved: `care_time::left_for_another_reason`), so no grant
    /// would say anything about this course either.
    #[serde(default)]
    pub citizen_left: bool,
}

/// `GET /api/courses/{course}/effect`: the course's effect summary.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EffectSummary {
    pub tests: Vec<TestOutcomeView>,
    pub goals: Vec<GoalView>,
    pub care_baseline_minutes_per_week: Option<u32>,
    pub care_follow_ups: Vec<CareFollowUpView>,
    pub sessions_done: u32,
    pub sessions_planned: u32,
}

/// `POST /api/care-time/import`: a care-time CSV file exported from the care record system
/// (docs/care-time-import.md) and what to do when some lines are bad.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportCareTime {
    pub file: String,
    /// `good_lines` (import the good ones, report the bad) or `all_or_nothing`.
    pub choice: String,
}

/// A line that was not imported, and why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BadLineView {
    /// 1-based; the header is line 1.
    pub line: u64,
    /// `malformed`, `bad_date`, `unknown_citizen`, `conflicts_with_line`, …
    pub problem: String,
    /// The offending value or the line it conflicts with, as text.
    pub detail: Option<String>,
}

/// What an import did, line by line.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportReport {
    /// Whether anything was stored (false: all-or-nothing with bad lines, or nothing new and
    /// no citizen's grants confirmed).
    pub applied: bool,
    /// New grants stored (not counting the citizens' unchanged grants recorded again as
    /// confirmed today, `effect::import::ImportPlan::confirmed`).
    pub imported: u32,
    /// Lines whose grant was stored already (the same file twice changes nothing).
    pub already_present: Vec<u64>,
    /// (line, same as line): identical lines, imported once; the first
    /// `shared::effect::import::MAX_LISTED_LINES` of them.
    pub duplicates: Vec<(u64, u64)>,
    /// How many identical lines there were in all.
    #[serde(default)]
    pub duplicates_total: u64,
    /// The first `MAX_LISTED_LINES` lines that could not be imported, by line number.
    pub bad: Vec<BadLineView>,
    /// How many lines could not be imported in all.
    #[serde(default)]
    pub bad_total: u64,
    /// Citizens whose care-time follow-up waits for grants and whom the file does not name:
    /// their home care may have ended (`effect::import::ImportPlan::not_named`). Empty when
    /// nothing was applied.
    #[serde(default)]
    pub not_in_file: Vec<NotInFileView>,
}

/// A citizen waiting for a care-time follow-up whom an imported file left out.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NotInFileView {
    pub citizen_id: String,
    pub citizen_name: String,
    pub local_ref: String,
    /// The earliest follow-up day waiting for their grants (ISO date).
    pub follow_up_date: String,
    /// Minutes per week granted on that day as last recorded, if any grant was.
    pub minutes_per_week: Option<u32>,
    /// The day their grants were last recorded: home care can be recorded as ended only after
    /// it, and on or before `follow_up_date` (`care_time::may_end_care_on`).
    pub last_recorded: Option<String>,
    /// The day their home care ended as their grants already say (`care_time::ended_since`):
    /// then the question is whether they are still without it, answered by recording that day
    /// again.
    #[serde(default)]
    pub ended_since: Option<String>,
    /// The days that may be recorded as the day their home care ended, as the date input's
    /// bounds (`care_time::care_end_days`): the first (`None`: no day is too early) and the
    /// last (`None` with the first: no day is left, a grant of minutes takes effect later).
    #[serde(default)]
    pub first_end_day: Option<String>,
    #[serde(default)]
    pub last_end_day: Option<String>,
}

/// `POST /api/citizens/{citizen}/care-ended`: the citizen's home care ended on `date` (ISO):
/// every service granted before it gets 0 minutes from that day
/// (`effect::care_time::home_care_ended`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CareEnded {
    pub date: String,
}

/// `GET /api/who5?lang=da`: the WHO-5 as the citizen reads it (docs/who5.md says where the
/// wording comes from), one statement per screen.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Who5Questionnaire {
    /// "I de sidste 2 uger …", shown above every statement.
    pub lead: String,
    /// The five statements, in order.
    pub items: Vec<String>,
    /// The six answers, indexed by their score 0–5.
    pub answers: Vec<String>,
    /// Shown under the questionnaire.
    pub attribution: String,
}

/// `GET /api/care-time/import/progress`: the import running now (or the last one).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportProgress {
    pub running: bool,
    /// `reading`, `checking`, `saving` or `done`.
    pub phase: String,
    pub lines_done: u64,
    pub lines_total: Option<u64>,
}

/// One care-time follow-up of a course, for the worklist (`GET /api/care-time/follow-ups`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CareFollowUpDue {
    pub course_id: String,
    pub citizen_id: String,
    pub citizen_name: String,
    pub local_ref: String,
    pub offset_days: u32,
    /// ISO date.
    pub date: String,
    /// `upcoming`, `due` (its day has come, no care-time data recorded since) or `recorded`.
    pub status: String,
    /// The minutes a week in force on the date, once recorded.
    pub minutes_per_week: Option<u32>,
}

/// A citizen's home-care grant (`GET /api/citizens/{citizen}/care-grants`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CareGrantView {
    /// ISO date.
    pub effective: String,
    pub minutes_per_week: u32,
    pub service_code: Option<String>,
    pub recorded_by_name: String,
    pub recorded_at: i64,
}
