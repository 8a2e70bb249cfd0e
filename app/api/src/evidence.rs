//! The leaders' evidence (#12): the server's answer (`homerehab_shared::evidence::report::
//! EvidenceReport`) as the UI reads it, the municipality's evidence settings, and what the
//! device adds (when it was fetched, whether it is the offline copy).
//!
//! These mirror the shared types field for field, with dates as ISO strings and roles, units
//! and reason keys as their wire strings; the service's test round-trips a whole report
//! through them, so a field the server adds and this file lacks fails a test rather than
//! vanishing from the screens. No arithmetic here: every figure is the server's.

use serde::{Deserialize, Serialize};

/// `GET /api/evidence`'s query: the period (ISO dates, both included) and, to drill down, a
/// team and then one of its therapists (a user id). Without dates the service answers for this
/// calendar year so far.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EvidenceQuery {
    pub from: Option<String>,
    pub to: Option<String>,
    pub team: Option<String>,
    #[serde(default)]
    pub therapist: Option<String>,
}

/// `GET /api/bi-export/{table}`: the period of one file of the municipality's BI feed (both
/// asked for; a missing one is the service's clear "not a date").
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct BiExportQuery {
    pub from: String,
    pub to: String,
}

/// One file of the BI feed, for a download link: its name and its CSV (docs/bi-export.md).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BiExportFile {
    pub file_name: String,
    pub csv: String,
}

/// `GET /api/evidence`: the report and where it came from.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EvidenceView {
    pub report: EvidenceReport,
    /// When the device got this answer from the server (ms since the epoch).
    pub fetched_at: i64,
    /// The server could not be reached: this is the last answer kept on the device.
    pub offline: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Named {
    pub id: String,
    pub name: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Period {
    pub start: String,
    pub end: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Scope {
    pub period: Period,
    pub as_of: String,
}

/// What the benchmark compares: whole calendar quarters that have ended (not the period asked;
/// the last that has while none of the period's has), judged as of the last quarter's end
/// before the day asked.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BenchmarkScope {
    pub quarters: Vec<Period>,
    pub as_of: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TargetKind {
    CitizensThroughCourses,
    StaffTrained,
    StaffActive,
}

impl TargetKind {
    pub const ALL: [TargetKind; 3] = [
        TargetKind::CitizensThroughCourses,
        TargetKind::StaffTrained,
        TargetKind::StaffActive,
    ];
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Light {
    Green,
    Yellow,
    Red,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TargetStatus {
    pub kind: TargetKind,
    pub period: Period,
    pub as_of: String,
    pub target: f64,
    pub reached: u32,
    pub share_reached: Option<f64>,
    pub percent_reached: Option<u32>,
    pub met: bool,
    pub expected_by_date: f64,
    pub share_expected: Option<f64>,
    pub percent_expected: Option<u32>,
    pub projected_percent: Option<u32>,
    pub light: Option<Light>,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StageCounts {
    pub referred: u32,
    pub screened: u32,
    pub included: u32,
    pub not_included: u32,
    pub started: u32,
    pub completed: u32,
    pub ended_early: u32,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TeamMonth {
    pub team_id: String,
    pub month: String,
    pub counts: StageCounts,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TeamCounts {
    pub team_id: String,
    pub counts: StageCounts,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MonthCounts {
    pub month: String,
    pub counts: StageCounts,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReasonCount {
    /// The municipality's reason key; `None` is "no reason recorded".
    pub reason: Option<String>,
    pub count: u32,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Funnel {
    pub total: StageCounts,
    pub by_team_month: Vec<TeamMonth>,
    pub by_team: Vec<TeamCounts>,
    pub by_month: Vec<MonthCounts>,
    pub not_included_by_reason: Vec<ReasonCount>,
    pub ended_early_by_reason: Vec<ReasonCount>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Recruitment {
    /// `team` or `therapist`.
    pub unit: String,
    pub id: String,
    pub referred: u32,
    pub completed: u32,
    pub median_referred: f64,
    pub median_completed: f64,
    pub refers_few: bool,
    pub completes_few: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrainedNotActive {
    pub user_id: String,
    pub name: String,
    pub trained_on: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StaffGroup {
    pub team_id: String,
    /// The role's wire name (`assistant`, `therapist`, …), only displayed.
    pub role: String,
    pub with_access: u32,
    pub trained: u32,
    pub active: u32,
    pub trained_not_active: Vec<TrainedNotActive>,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StaffTotals {
    pub with_access: u32,
    pub trained: u32,
    pub active: u32,
    pub trained_not_active: u32,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StaffInUse {
    pub as_of: String,
    pub groups: Vec<StaffGroup>,
    pub totals: StaffTotals,
}

/// "28 of 42": `percent` is whole and rounded by the server.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Share {
    pub part: u32,
    pub whole: u32,
    pub ratio: Option<f64>,
    pub percent: Option<u32>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct JudgementCounts {
    pub test: String,
    pub improved: u32,
    pub maintained: u32,
    pub declined: u32,
    pub incomplete: u32,
    pub complete: u32,
    pub improved_or_maintained: Share,
}

#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct FollowUpShare {
    pub offset_days: u32,
    pub share: Share,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Completeness {
    /// The people behind the courses (a citizen with two courses counts once).
    pub citizens: u32,
    pub with_start_and_end_test: Share,
    pub with_who5_start_and_end: Share,
    pub with_care_time: Vec<FollowUpShare>,
}

#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Interval {
    pub low: f64,
    pub high: f64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CareTimeEffect {
    pub offset_days: u32,
    pub n: u32,
    pub mean_before_minutes_per_day: Option<f64>,
    pub mean_after_minutes_per_day: Option<f64>,
    pub mean_change_minutes_per_day: Option<f64>,
    pub change_percent: Option<f64>,
    pub ci95_change_minutes_per_day: Option<Interval>,
    pub ci95_change_percent: Option<Interval>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SessionDelivery {
    pub courses: u32,
    pub planned: u64,
    pub delivered: u64,
    pub adherence: Option<f64>,
    pub adherence_percent: Option<u32>,
    pub mean_delivered_per_course: Option<f64>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EffectEvidence {
    pub completeness: Completeness,
    pub tests: Vec<JudgementCounts>,
    pub who5: JudgementCounts,
    pub care_time: Vec<CareTimeEffect>,
    pub sessions: SessionDelivery,
}

/// The municipality's prices for the business case (all DKK, hours or minutes as named).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Prices {
    pub dkk_per_home_care_hour: f64,
    pub dkk_per_assistant_hour: f64,
    pub dkk_per_therapist_hour: f64,
    pub therapist_hours_per_course: f64,
    pub assistant_minutes_per_session: f64,
    pub licence_dkk_per_year: f64,
    pub tablets_dkk_per_year: f64,
    pub hours_per_fte: f64,
    pub effect_days: f64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Outcomes {
    pub minutes_per_day_saved_per_citizen: f64,
    pub citizens_per_year: u32,
    pub sessions_per_course: f64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Input {
    pub label_da: String,
    pub value: f64,
    pub unit: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Line {
    pub key: String,
    pub label_da: String,
    pub formula_da: String,
    pub worked_da: String,
    pub inputs: Vec<Input>,
    pub value: Option<f64>,
    pub unit: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BusinessCase {
    pub lines: Vec<Line>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BusinessCaseSection {
    pub prices: Prices,
    pub outcomes: Outcomes,
    pub offset_days: u32,
    pub lines: BusinessCase,
}

/// A benchmark figure, or that it is hidden (fewer than `below` citizens behind it, or it
/// would give such a figure away).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Figure<T> {
    Shown(T),
    Suppressed { below: u32 },
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TestFigure {
    pub test: String,
    pub figure: Figure<f64>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FollowUpFigure {
    pub offset_days: u32,
    pub figure: Figure<f64>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Indicators {
    pub citizens_through_courses: Figure<u32>,
    pub share_tested: Figure<f64>,
    pub tests_improved_or_maintained: Vec<TestFigure>,
    pub who5_improved_or_maintained: Figure<f64>,
    pub care_time_change_percent: Vec<FollowUpFigure>,
    pub adherence: Figure<f64>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BenchmarkRow {
    /// The name, or "Kommune B" for one anonymised.
    pub label: String,
    pub own: bool,
    pub named: bool,
    pub figures: Indicators,
}

/// The evidence API's answer and the report's content.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EvidenceReport {
    pub municipality: Named,
    pub teams: Vec<Named>,
    pub team: Option<Named>,
    /// The therapist drilled down to (of `team`).
    #[serde(default)]
    pub therapist: Option<Named>,
    pub scope: Scope,
    pub targets: Vec<TargetStatus>,
    pub targets_missing: Vec<TargetKind>,
    pub funnel: Funnel,
    pub teams_recruiting: Vec<Recruitment>,
    pub therapists_recruiting: Vec<Recruitment>,
    pub staff: StaffInUse,
    pub effect: EffectEvidence,
    pub business_case: Option<BusinessCaseSection>,
    pub benchmark: Vec<BenchmarkRow>,
    /// `None` only from a server before the benchmark compared quarters.
    #[serde(default)]
    pub benchmark_scope: Option<BenchmarkScope>,
    pub min_citizens: u32,
    /// `effect` (and the business case) or `reasons`: withheld, fewer than `min_citizens`
    /// citizens of a team the viewer does not serve.
    #[serde(default)]
    pub suppressed: Vec<String>,
    /// The people the viewer may see named; anyone else is "a therapist in another team".
    pub people: Vec<Named>,
}

impl EvidenceReport {
    /// Whether a section (`effect`, `reasons`) was withheld for too few citizens.
    pub fn withheld(&self, section: &str) -> bool {
        self.suppressed.iter().any(|s| s == section)
    }

    /// A team's name from the answer's list (its id when unknown).
    pub fn team_name(&self, id: &str) -> String {
        self.teams
            .iter()
            .find(|t| t.id == id)
            .map(|t| t.name.clone())
            .unwrap_or_else(|| id.to_string())
    }

    /// A person's name when the viewer may see it.
    pub fn person_name(&self, id: &str) -> Option<&str> {
        self.people
            .iter()
            .find(|p| p.id == id)
            .map(|p| p.name.as_str())
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct YearlyTarget {
    pub kind: TargetKind,
    pub year: i32,
    pub target: u32,
}

/// `GET /api/evidence/settings`, and the body of `POST` (set by the municipality's admin).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct EvidenceSettings {
    #[serde(default)]
    pub targets: Vec<YearlyTarget>,
    #[serde(default)]
    pub prices: Option<Prices>,
    #[serde(default)]
    pub agreed_to_be_named: bool,
    /// Municipality ids to compare with; `None` is every municipality on the server.
    #[serde(default)]
    pub comparison_group: Option<Vec<String>>,
}
