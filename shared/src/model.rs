//! The domain: citizens, courses, programs, session logs and assessments, with their validation.
//!
//! These types are what the CRDT documents hold (see [`crate::docs`]); they derive
//! `Reconcile`/`Hydrate` so the mapping to Automerge is mechanical. Timestamps are Unix
//! milliseconds (UTC); calendar dates are ISO `YYYY-MM-DD` strings, checked by [`parse_date`].
//! Collections that devices edit concurrently are maps keyed by id (never lists), so concurrent
//! inserts merge without conflicts; order, where it matters, is a `position` field.

use crate::ids::*;
use autosurgeon::{Hydrate, Reconcile};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Most sets one exercise can have in one session.
pub const MAX_SETS_PER_EXERCISE: usize = 50;

/// Unix time in milliseconds.
pub type Millis = i64;

/// What a user may do is decided by the role (see [`crate::auth`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, Reconcile, Hydrate)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// SOSU helper or training assistant: guides sessions and logs them.
    Assistant,
    /// Physio- or occupational therapist: owns courses and programs.
    Therapist,
    /// Team leader: reads everything of the team.
    Leader,
    /// Administrator: manages the roster.
    Admin,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Assistant => "assistant",
            Role::Therapist => "therapist",
            Role::Leader => "leader",
            Role::Admin => "admin",
        }
    }
    pub fn parse(s: &str) -> Option<Role> {
        Some(match s {
            "assistant" => Role::Assistant,
            "therapist" => Role::Therapist,
            "leader" => Role::Leader,
            "admin" => Role::Admin,
            _ => return None,
        })
    }
}

/// A municipality (kommune): the owner of the data and the unit of benchmarking.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Municipality {
    pub id: MunicipalityId,
    pub name: String,
}

/// A home-care team: the unit that shares citizens, courses and logs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Team {
    pub id: TeamId,
    pub municipality_id: MunicipalityId,
    pub name: String,
}

/// A person who signs in, with the role that decides what they may do.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    pub id: UserId,
    pub username: String,
    pub display_name: String,
    pub role: Role,
    pub team_id: TeamId,
    /// Further teams the user serves (e.g. a therapist covering a neighbouring team).
    pub granted_teams: Vec<TeamId>,
    /// The municipality of the user's team (whose library the user reads). Added after
    /// protocol version 1's sign-in answer, so absent from older servers.
    #[serde(default)]
    pub municipality_id: Option<MunicipalityId>,
}

/// A citizen on a team's roster. No CPR number: the municipality-local reference links to the
/// municipality's own systems.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, Reconcile, Hydrate)]
pub struct Citizen {
    pub id: CitizenId,
    pub name: String,
    /// The municipality's own reference (e.g. case number), not a CPR number.
    pub local_ref: String,
    pub address: Option<String>,
    /// Assistants (user ids as strings) who visit this citizen; a map so concurrent assignments merge.
    pub assigned: BTreeMap<String, bool>,
    pub active: bool,
    /// For age/sex norms (issue #11); optional, no CPR needed. Absent in older documents.
    #[serde(default)]
    #[autosurgeon(missing = "Default::default")]
    pub birth_year: Option<i32>,
    #[serde(default)]
    #[autosurgeon(missing = "Default::default")]
    pub sex: Option<Sex>,
}

/// A citizen's sex as recorded (optional), for comparing test results with age/sex norms.
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    Serialize,
    Deserialize,
    autosurgeon::Reconcile,
    autosurgeon::Hydrate,
)]
#[serde(rename_all = "snake_case")]
pub enum Sex {
    Female,
    Male,
}

/// The legal basis of a course. Data, not a closed enum: the law changes (Ældreloven moved
/// people out of SEL §83/§83a/§86), so municipalities must be able to record new ones.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, Reconcile, Hydrate)]
#[serde(transparent)]
pub struct LegalBasis(pub String);

impl LegalBasis {
    /// The bases in use today, in the order a therapist meets them.
    pub const KNOWN: [&'static str; 7] = [
        "SEL §83a",
        "SEL §83",
        "SEL §86 stk. 1",
        "SEL §86 stk. 2",
        "Sundhedsloven §140",
        "Ældreloven",
        "Andet",
    ];
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Reconcile, Hydrate)]
#[serde(rename_all = "snake_case")]
pub enum CourseStatus {
    Planned,
    Active,
    Paused,
    Completed,
    EndedEarly,
}

impl CourseStatus {
    pub const ALL: [CourseStatus; 5] = [
        CourseStatus::Planned,
        CourseStatus::Active,
        CourseStatus::Paused,
        CourseStatus::Completed,
        CourseStatus::EndedEarly,
    ];

    /// The stored and transported name (the serde name).
    pub fn as_str(self) -> &'static str {
        match self {
            CourseStatus::Planned => "planned",
            CourseStatus::Active => "active",
            CourseStatus::Paused => "paused",
            CourseStatus::Completed => "completed",
            CourseStatus::EndedEarly => "ended_early",
        }
    }

    pub fn parse(s: &str) -> Option<CourseStatus> {
        Self::ALL.into_iter().find(|c| c.as_str() == s)
    }

    /// The status a new course begins with: active from its start date on, planned before.
    pub fn first(start: time::Date, today: time::Date) -> CourseStatus {
        if today >= start {
            CourseStatus::Active
        } else {
            CourseStatus::Planned
        }
    }

    /// Whether a course's care-time follow-ups are asked for: those of a course that is, or
    /// may still be, in the leaders' effect figures — completed, or running or paused and so
    /// still able to complete. A course not begun has no end to follow; one that ended early is
    /// not in the figures (the server's `completed_courses`), so fetching its grants would be
    /// work that counts nowhere.
    pub fn follows_up_care_time(self) -> bool {
        matches!(
            self,
            CourseStatus::Active | CourseStatus::Paused | CourseStatus::Completed
        )
    }

    /// Whether a course may begin with this status: planned or active, never one that only a
    /// course that ran can have (paused, completed, ended early).
    pub fn may_begin(self) -> bool {
        matches!(self, CourseStatus::Planned | CourseStatus::Active)
    }
}

/// A training course (træningsforløb) for one citizen.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, Reconcile, Hydrate)]
pub struct Course {
    pub id: CourseId,
    pub citizen_id: CitizenId,
    pub team_id: TeamId,
    pub legal_basis: LegalBasis,
    /// ISO date.
    pub start_date: String,
    pub planned_weeks: u32,
    pub sessions_per_week: u32,
    pub minutes_per_session: u32,
    pub goals: Vec<String>,
    pub status: CourseStatus,
    /// The therapist's words on why a course ended early or was paused.
    pub status_reason: Option<String>,
    pub responsible_therapist: UserId,
    pub created_at: Millis,
    /// Why a course ended early, as a key of [`END_REASONS`]: what the leaders' funnel counts.
    /// `None` for any other status, and for courses ended before the key existed (those have
    /// only `status_reason`, and count as "no reason recorded").
    #[autosurgeon(missing = "Option::default")]
    #[serde(default)]
    pub end_reason: Option<String>,
}

/// How long and how much a course is planned: weeks (1–104), sessions a week (1–14) and
/// minutes a session (1–240), as [`Course::validate_stored`] bounds them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CourseFrame {
    pub planned_weeks: u32,
    pub sessions_per_week: u32,
    pub minutes_per_session: u32,
}

/// Why a course ends early: key, Danish and English. One list for every municipality, not
/// edited locally, so the benchmark across municipalities compares like with like. Keys are
/// stored, so one is never renamed or removed.
pub const END_REASONS: [(&str, &str, &str); 7] = [
    ("hospitalised", "Indlagt på sygehus", "Admitted to hospital"),
    (
        "illness",
        "Sygdom eller forværring",
        "Illness or deterioration",
    ),
    (
        "citizen_stopped",
        "Borgeren ønsker at stoppe",
        "The citizen wants to stop",
    ),
    (
        "other_service",
        "Overgår til et andet tilbud",
        "Moves on to another service",
    ),
    (
        "moved",
        "Fraflyttet eller i plejebolig",
        "Moved away or into a care home",
    ),
    ("died", "Død", "Died"),
    ("other", "Andet (se note)", "Other (see note)"),
];

/// Whether `key` is one of [`END_REASONS`].
pub fn is_end_reason(key: &str) -> bool {
    END_REASONS.iter().any(|(k, _, _)| *k == key)
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Reconcile, Hydrate)]
#[serde(rename_all = "snake_case")]
pub enum Side {
    None,
    Left,
    Right,
    Both,
}

/// How much of an exercise: sets × (reps or seconds), hold, rest, load.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, Reconcile, Hydrate)]
pub struct Dosage {
    pub sets: u32,
    pub reps: Option<u32>,
    pub duration_s: Option<u32>,
    pub hold_s: Option<u32>,
    pub rest_s: Option<u32>,
    /// Load or equipment as the therapist writes it ("2 kg", "grøn elastik").
    pub load: Option<String>,
    pub side: Side,
}

/// One exercise line of a program.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, Reconcile, Hydrate)]
pub struct ProgramExercise {
    pub id: ProgramExerciseId,
    /// The library exercise this line uses (e.g. `sit-to-stand`).
    pub exercise_ref: String,
    /// Sort key; fractional so an insert between two lines touches only the new line.
    pub position: f64,
    pub dosage: Dosage,
    /// Per-citizen instructions from the therapist.
    pub instructions: Option<String>,
}

/// A listed revision of a program: who changed what, when, and the program as it then was.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, Reconcile, Hydrate)]
pub struct ProgramRevision {
    pub id: RevisionId,
    pub at: Millis,
    pub by: UserId,
    pub summary: String,
    /// The program lines, ordered by position, as they were after this revision.
    pub exercises: Vec<ProgramExercise>,
    /// The revision the editor started from: the latest one of the program it was written on
    /// (`rules::check_builds_on_latest`). `None` for a program's first revision, and
    /// for revisions written before this field existed (absent from the document).
    #[autosurgeon(missing = "Option::default")]
    #[serde(default)]
    pub based_on: Option<RevisionId>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Reconcile, Hydrate)]
#[serde(rename_all = "snake_case")]
pub enum AssessmentPhase {
    Start,
    Midway,
    End,
    FollowUp,
}

/// A measurement on a course (a later issue supplies the test catalogue: 30-s chair stand, TUG…).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, Reconcile, Hydrate)]
pub struct Assessment {
    pub id: AssessmentId,
    /// Test type key, e.g. `chair_stand_30s`.
    pub kind: String,
    pub value: f64,
    pub unit: String,
    pub date: String,
    pub phase: AssessmentPhase,
    /// Who measured it: the therapist, or the assistant a test was delegated to.
    pub by: UserId,
    pub note: Option<String>,
    /// Where it was measured. `None` in assessments written before it was recorded (shown
    /// as unknown).
    #[serde(default)]
    #[autosurgeon(missing = "Default::default")]
    pub place: Option<MeasuredAt>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Reconcile, Hydrate)]
#[serde(rename_all = "snake_case")]
pub enum SessionStatus {
    InProgress,
    Completed,
    NotCarriedOut,
}

/// Why a planned session did not take place.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Reconcile, Hydrate)]
#[serde(rename_all = "snake_case")]
pub enum NotCarriedOutReason {
    Ill,
    Declined,
    NotAtHome,
    Hospitalised,
    Other,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Reconcile, Hydrate)]
#[serde(rename_all = "snake_case")]
pub enum ExerciseOutcome {
    Done,
    Partly,
    Skipped,
}

/// One set as actually performed.
///
/// In the document a set is one string scalar ([`SetLog::encode`]), not a map of four fields
/// (issue #13): a set is the commonest thing a session holds, and as a map it was five
/// Automerge operations (the map and its four keys) where one does. A month offline is ~700
/// sets; the server's CPU per uploaded course about halved (docs/benchmarks.md). A set is
/// appended whole and never edited field by field, so nothing merges finer. Sets written as
/// maps before are still read (see the `Hydrate` impl); a version 3 app could not read these,
/// so the sync protocol is version 4.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SetLog {
    pub reps: Option<u32>,
    pub duration_s: Option<u32>,
    pub load_kg: Option<f64>,
    pub at: Millis,
}

/// The stored form of a set: a JSON array `[reps, duration_s, load_kg, at]`.
type EncodedSet = (Option<u32>, Option<u32>, Option<f64>, Millis);

impl SetLog {
    /// The set as the document stores it: one string.
    pub fn encode(&self) -> String {
        let e: EncodedSet = (self.reps, self.duration_s, self.load_kg, self.at);
        serde_json::to_string(&e).unwrap_or_default()
    }

    /// Reads [`SetLog::encode`]'s string; `None` for anything else.
    pub fn decode(s: &str) -> Option<SetLog> {
        let (reps, duration_s, load_kg, at): EncodedSet = serde_json::from_str(s).ok()?;
        Some(SetLog {
            reps,
            duration_s,
            load_kg,
            at,
        })
    }
}

impl Reconcile for SetLog {
    type Key<'a> = autosurgeon::reconcile::NoKey;

    fn reconcile<R: autosurgeon::Reconciler>(&self, mut reconciler: R) -> Result<(), R::Error> {
        reconciler.str(self.encode())
    }
}

impl Hydrate for SetLog {
    fn hydrate_string(s: &str) -> Result<Self, autosurgeon::HydrateError> {
        // The string itself is not repeated: refusals reach the device and the logs.
        SetLog::decode(s).ok_or_else(|| {
            autosurgeon::HydrateError::unexpected(
                "a set as [reps, duration_s, load_kg, at]",
                "another string".into(),
            )
        })
    }

    /// A set written before sets were one string.
    fn hydrate_map<D: autosurgeon::ReadDoc>(
        doc: &D,
        obj: &automerge::ObjId,
    ) -> Result<Self, autosurgeon::HydrateError> {
        let f = SetLogFields::hydrate_map(doc, obj)?;
        Ok(SetLog {
            reps: f.reps,
            duration_s: f.duration_s,
            load_kg: f.load_kg,
            at: f.at,
        })
    }
}

/// A set as a map, as it was written before issue #13: read, never written.
#[derive(Hydrate)]
struct SetLogFields {
    reps: Option<u32>,
    duration_s: Option<u32>,
    load_kg: Option<f64>,
    at: Millis,
}

/// One tap in a guided session: a set performed on one program line of a session. The device
/// stores it as one change of the session log.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LogSet {
    pub course: CourseId,
    pub session: SessionId,
    pub line: ProgramExerciseId,
    pub set: SetLog,
}

/// Closing a session: how the citizen was overall and the assistant's note.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SessionClose {
    pub course: CourseId,
    pub session: SessionId,
    /// The citizen's general condition on the session's scale.
    pub general_condition: Option<u8>,
    pub note: Option<String>,
}

/// How one program exercise went in one session.
///
/// In the document the assistant's feedback (outcome, skip reason, Borg, pain, note) is one
/// string scalar under `feedback` ([`ExerciseLog::encode_feedback`]), absent until given, not
/// five keys written as nulls when the exercise begins and again when the feedback comes
/// (issue #13: ten operations where one does). The feedback is always written whole, so
/// nothing merges finer. Exercises written with five keys before are still read (see the
/// `Hydrate` impl); a version 4 app could not read these, so the sync protocol is version 5.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ExerciseLog {
    pub program_exercise_id: ProgramExerciseId,
    pub exercise_ref: String,
    pub outcome: Option<ExerciseOutcome>,
    pub skip_reason: Option<String>,
    pub sets: Vec<SetLog>,
    /// Borg CR10 exertion, 0–10.
    pub borg: Option<u8>,
    /// Pain NRS, 0–10.
    pub pain: Option<u8>,
    pub note: Option<String>,
}

/// One training session (or a session that did not take place), as the assistant logged it.
///
/// In the document a field that is `None` has no key (issue #13: a begun session wrote six
/// nulls, most of them overwritten when it ended); sessions written with nulls are read the
/// same. A version 4 app could not read a missing key, so the sync protocol is version 5.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, Hydrate)]
pub struct SessionLog {
    pub id: SessionId,
    pub course_id: CourseId,
    pub performed_by: UserId,
    /// The program revision the session was performed against.
    #[autosurgeon(missing = "Default::default")]
    pub program_revision: Option<RevisionId>,
    pub started_at: Millis,
    #[autosurgeon(missing = "Default::default")]
    pub ended_at: Option<Millis>,
    pub status: SessionStatus,
    #[autosurgeon(missing = "Default::default")]
    pub not_carried_out: Option<NotCarriedOutReason>,
    /// General condition / form of the day, 1 (poor) – 5 (very good).
    #[autosurgeon(missing = "Default::default")]
    pub general_condition: Option<u8>,
    #[autosurgeon(missing = "Default::default")]
    pub note: Option<String>,
    /// Keyed by program exercise id.
    pub exercises: BTreeMap<String, ExerciseLog>,
    /// A WHO-5 the citizen answered during this visit. It lives in the session because the
    /// session log is the document the assistant may write (issue #11: the assistant sits with
    /// the citizen). Absent in older documents.
    #[serde(default)]
    #[autosurgeon(missing = "Default::default")]
    pub who5: Option<Who5Record>,
}

/// The stored form of an exercise's feedback: a JSON array
/// `[outcome, skip_reason, borg, pain, note]`.
type EncodedFeedback = (
    Option<ExerciseOutcome>,
    Option<String>,
    Option<u8>,
    Option<u8>,
    Option<String>,
);

impl ExerciseLog {
    /// The feedback as the document stores it: one string, `None` while none was given.
    pub fn encode_feedback(&self) -> Option<String> {
        let f: EncodedFeedback = (
            self.outcome,
            self.skip_reason.clone(),
            self.borg,
            self.pain,
            self.note.clone(),
        );
        if f == (None, None, None, None, None) {
            return None;
        }
        serde_json::to_string(&f).ok()
    }

    /// `self` with the feedback [`ExerciseLog::encode_feedback`] wrote; `None` for any other
    /// string.
    pub fn with_feedback(self, encoded: &str) -> Option<ExerciseLog> {
        let (outcome, skip_reason, borg, pain, note): EncodedFeedback =
            serde_json::from_str(encoded).ok()?;
        Some(ExerciseLog {
            outcome,
            skip_reason,
            borg,
            pain,
            note,
            ..self
        })
    }
}

/// The keys an exercise's feedback had before it was one string: read, never written.
const FEEDBACK_KEYS_BEFORE: [&str; 5] = ["outcome", "skip_reason", "borg", "pain", "note"];

/// `value` under `key`, or no key at all for `None` (not a null; one written before is removed).
fn put_some<M: autosurgeon::reconcile::MapReconciler, T: Reconcile>(
    map: &mut M,
    key: &str,
    value: Option<T>,
) -> Result<(), M::Error> {
    match value {
        Some(v) => map.put(key, v),
        None if map.entry(key).is_some() => map.delete(key),
        None => Ok(()),
    }
}

impl Reconcile for ExerciseLog {
    type Key<'a> = autosurgeon::reconcile::NoKey;

    fn reconcile<R: autosurgeon::Reconciler>(&self, mut reconciler: R) -> Result<(), R::Error> {
        use autosurgeon::reconcile::MapReconciler;
        let mut map = reconciler.map()?;
        map.put("program_exercise_id", self.program_exercise_id)?;
        map.put("exercise_ref", &self.exercise_ref)?;
        map.put("sets", &self.sets)?;
        put_some(&mut map, "feedback", self.encode_feedback())?;
        // The feedback as five keys, as written before, would only shadow nothing: gone.
        for key in FEEDBACK_KEYS_BEFORE {
            put_some(&mut map, key, None::<u8>)?;
        }
        Ok(())
    }
}

impl Hydrate for ExerciseLog {
    fn hydrate_map<D: autosurgeon::ReadDoc>(
        doc: &D,
        obj: &automerge::ObjId,
    ) -> Result<Self, autosurgeon::HydrateError> {
        let f = ExerciseLogFields::hydrate_map(doc, obj)?;
        let log = ExerciseLog {
            program_exercise_id: f.program_exercise_id,
            exercise_ref: f.exercise_ref,
            outcome: f.outcome,
            skip_reason: f.skip_reason,
            sets: f.sets,
            borg: f.borg,
            pain: f.pain,
            note: f.note,
        };
        match f.feedback {
            // The string, when there is one, is the feedback (the keys are from before it).
            Some(encoded) => log.with_feedback(&encoded).ok_or_else(|| {
                autosurgeon::HydrateError::unexpected(
                    "an exercise's feedback as [outcome, skip_reason, borg, pain, note]",
                    "another string".into(),
                )
            }),
            None => Ok(log),
        }
    }
}

/// An exercise as stored: the feedback string, or the five keys written before it.
#[derive(Hydrate)]
struct ExerciseLogFields {
    program_exercise_id: ProgramExerciseId,
    exercise_ref: String,
    sets: Vec<SetLog>,
    #[autosurgeon(missing = "Default::default")]
    feedback: Option<String>,
    #[autosurgeon(missing = "Default::default")]
    outcome: Option<ExerciseOutcome>,
    #[autosurgeon(missing = "Default::default")]
    skip_reason: Option<String>,
    #[autosurgeon(missing = "Default::default")]
    borg: Option<u8>,
    #[autosurgeon(missing = "Default::default")]
    pain: Option<u8>,
    #[autosurgeon(missing = "Default::default")]
    note: Option<String>,
}

impl Reconcile for SessionLog {
    type Key<'a> = autosurgeon::reconcile::NoKey;

    fn reconcile<R: autosurgeon::Reconciler>(&self, mut reconciler: R) -> Result<(), R::Error> {
        use autosurgeon::reconcile::MapReconciler;
        let mut map = reconciler.map()?;
        map.put("id", self.id)?;
        map.put("course_id", self.course_id)?;
        map.put("performed_by", self.performed_by)?;
        put_some(&mut map, "program_revision", self.program_revision)?;
        map.put("started_at", self.started_at)?;
        put_some(&mut map, "ended_at", self.ended_at)?;
        map.put("status", self.status)?;
        put_some(&mut map, "not_carried_out", self.not_carried_out)?;
        put_some(&mut map, "general_condition", self.general_condition)?;
        put_some(&mut map, "note", self.note.as_ref())?;
        map.put("exercises", &self.exercises)?;
        put_some(&mut map, "who5", self.who5.as_ref())
    }
}

/// A grant of home care as the roster stores it (issue #11): per citizen, because grants
/// outlive courses and the care-time import resolves citizens by the roster's `local_ref`.
///
/// In the document a grant is one string scalar (see [`CareGrantRecord::encode`]), not a map of
/// six fields: a care-record export brings 100,000 grants at once, and one operation per grant
/// instead of seven keeps the roster's size, its load time and the import's memory within
/// bounds. A grant is written whole and never edited field by field, so nothing merges finer.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CareGrantRecord {
    pub citizen_id: CitizenId,
    /// ISO date the grant took effect.
    pub effective: String,
    pub minutes_per_week: u32,
    /// The FSIII service code, when known.
    pub service_code: Option<String>,
    pub recorded_by: UserId,
    pub recorded_at: Millis,
}

/// A citizen referred for a training course, as the roster stores it (issue #11): before any
/// course exists, and kept whatever the screening decides, so every referral is counted.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, Reconcile, Hydrate)]
pub struct ReferralRecord {
    pub id: ReferralId,
    pub citizen_id: CitizenId,
    /// ISO date of the referral.
    pub referred_on: String,
    pub referred_by: UserId,
    pub note: Option<String>,
    pub recorded_at: Millis,
    /// Absent until screened; written once.
    pub screening: Option<ScreeningRecord>,
    /// The course created from an included referral.
    pub course_id: Option<CourseId>,
}

/// A referral's screening as stored: each criterion's answer by key, and the outcome.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, Reconcile, Hydrate)]
pub struct ScreeningRecord {
    pub criteria: BTreeMap<String, bool>,
    /// `None` for included; the reason's key for not included.
    pub not_included_reason: Option<String>,
    pub note: Option<String>,
    /// ISO date.
    pub screened_on: String,
    pub screened_by: UserId,
}

impl ScreeningRecord {
    pub fn included(&self) -> bool {
        self.not_included_reason.is_none()
    }
}

impl ReferralRecord {
    pub fn validate(&self) -> Result<(), Invalid> {
        let problem = |field: &str, problem: &str| Invalid {
            field: field.into(),
            problem: problem.into(),
        };
        parse_date(&self.referred_on)?;
        if self.note.as_ref().is_some_and(|n| n.chars().count() > 4000) {
            return Err(problem(
                "referral.note",
                "a note is longer than 4000 characters",
            ));
        }
        if let Some(s) = &self.screening {
            parse_date(&s.screened_on)?;
            if s.note.as_ref().is_some_and(|n| n.chars().count() > 4000) {
                return Err(problem(
                    "screening.note",
                    "a note is longer than 4000 characters",
                ));
            }
            if s.criteria.len() > 100 {
                return Err(problem("screening.criteria", "more than 100 criteria"));
            }
        }
        if self.course_id.is_some() && !self.screening.as_ref().is_some_and(|s| s.included()) {
            return Err(problem(
                "referral.course_id",
                "only an included referral leads to a course",
            ));
        }
        Ok(())
    }
}

/// Most minutes a week a grant can hold (every minute of a week).
pub const MAX_CARE_MINUTES_PER_WEEK: u32 = 7 * 24 * 60;

/// One care-time import as the roster stores it (issue #11): the grants of a file that were
/// new, recorded by one user at one time, as one bytes scalar (postcard) under the import's id.
/// A care-record export brings up to 100,000 grants: one operation per import instead of one
/// per grant keeps the import within seconds and the roster small. Grants are read back as
/// [`CareGrantRecord`]s; for one key the latest recording wins ([`latest_care_grants`]).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CareGrantImport {
    pub recorded_by: UserId,
    pub recorded_at: Millis,
    pub grants: Vec<ImportedGrant>,
}

/// A grant inside a [`CareGrantImport`]: who recorded it and when are the import's.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ImportedGrant {
    pub citizen_id: CitizenId,
    /// ISO date the grant took effect.
    pub effective: String,
    pub minutes_per_week: u32,
    pub service_code: Option<String>,
}

/// Most grants one import may hold (ten times the largest export a municipality reported).
pub const MAX_GRANTS_PER_IMPORT: usize = 1_000_000;

impl CareGrantImport {
    /// The import of `records`, which must all be recorded by one user at one time; `None`
    /// for none or for mixed recordings.
    pub fn of(records: &[CareGrantRecord]) -> Option<CareGrantImport> {
        let first = records.first()?;
        if records
            .iter()
            .any(|r| r.recorded_by != first.recorded_by || r.recorded_at != first.recorded_at)
        {
            return None;
        }
        Some(CareGrantImport {
            recorded_by: first.recorded_by,
            recorded_at: first.recorded_at,
            grants: records
                .iter()
                .map(|r| ImportedGrant {
                    citizen_id: r.citizen_id,
                    effective: r.effective.clone(),
                    minutes_per_week: r.minutes_per_week,
                    service_code: r.service_code.clone(),
                })
                .collect(),
        })
    }

    /// The import's grants as records.
    pub fn records(&self) -> impl Iterator<Item = CareGrantRecord> + '_ {
        self.grants.iter().map(|g| CareGrantRecord {
            citizen_id: g.citizen_id,
            effective: g.effective.clone(),
            minutes_per_week: g.minutes_per_week,
            service_code: g.service_code.clone(),
            recorded_by: self.recorded_by,
            recorded_at: self.recorded_at,
        })
    }

    pub fn validate(&self) -> Result<(), Invalid> {
        if self.grants.is_empty() || self.grants.len() > MAX_GRANTS_PER_IMPORT {
            return Err(invalid(
                "care_grant_imports",
                format!(
                    "an import holds 1–{MAX_GRANTS_PER_IMPORT} grants, not {}",
                    self.grants.len()
                ),
            ));
        }
        self.records().try_for_each(|r| r.validate())
    }
}

/// Every grant by key, the latest recording of a key winning (then the greater recorder and
/// minutes, so every device and the server pick the same one). The device's projection
/// applies the same order in SQL.
pub fn latest_care_grants(
    grants: impl IntoIterator<Item = CareGrantRecord>,
) -> BTreeMap<String, CareGrantRecord> {
    let rank = |g: &CareGrantRecord| (g.recorded_at, g.recorded_by.to_string(), g.minutes_per_week);
    let mut out: BTreeMap<String, CareGrantRecord> = BTreeMap::new();
    for g in grants {
        let key = g.key();
        if out.get(&key).is_none_or(|kept| rank(kept) < rank(&g)) {
            out.insert(key, g);
        }
    }
    out
}

/// The stored form: a JSON array `[citizen, effective, minutes, service, by, at]`.
type EncodedGrant = (CitizenId, String, u32, Option<String>, UserId, Millis);

impl CareGrantRecord {
    /// The grant as the document stores it: one string.
    pub fn encode(&self) -> String {
        let e: (&CitizenId, &str, u32, &Option<String>, &UserId, Millis) = (
            &self.citizen_id,
            &self.effective,
            self.minutes_per_week,
            &self.service_code,
            &self.recorded_by,
            self.recorded_at,
        );
        serde_json::to_string(&e).unwrap_or_default()
    }

    /// Reads [`CareGrantRecord::encode`]'s string; `None` for anything else.
    pub fn decode(s: &str) -> Option<CareGrantRecord> {
        let (citizen_id, effective, minutes_per_week, service_code, recorded_by, recorded_at): EncodedGrant =
            serde_json::from_str(s).ok()?;
        Some(CareGrantRecord {
            citizen_id,
            effective,
            minutes_per_week,
            service_code,
            recorded_by,
            recorded_at,
        })
    }

    /// The grant's key on the roster: one grant per citizen, service and effective date, so
    /// entering or importing the same grant again replaces it instead of adding a second.
    pub fn key(&self) -> String {
        format!(
            "{}/{}/{}",
            self.citizen_id,
            self.effective,
            self.service_code.as_deref().unwrap_or("")
        )
    }

    pub fn grant(&self) -> Result<crate::effect::care_time::CareGrant, Invalid> {
        Ok(crate::effect::care_time::CareGrant {
            effective: parse_date(&self.effective)?,
            minutes_per_week: self.minutes_per_week,
            service_code: self.service_code.clone(),
        })
    }

    pub fn validate(&self) -> Result<(), Invalid> {
        parse_date(&self.effective)?;
        if self.minutes_per_week > MAX_CARE_MINUTES_PER_WEEK {
            return Err(invalid(
                "care_grant.minutes_per_week",
                format!("{} is more than a week has", self.minutes_per_week),
            ));
        }
        if let Some(code) = &self.service_code {
            check_text("care_grant.service_code", code, 40)?;
        }
        Ok(())
    }
}

/// Where a result was measured.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Reconcile, Hydrate)]
#[serde(rename_all = "snake_case")]
pub enum MeasuredAt {
    Home,
    Clinic,
}

impl MeasuredAt {
    /// The wire name (`home`, `clinic`).
    pub fn as_str(self) -> &'static str {
        match self {
            MeasuredAt::Home => "home",
            MeasuredAt::Clinic => "clinic",
        }
    }

    pub fn parse(s: &str) -> Result<MeasuredAt, Invalid> {
        match s {
            "home" => Ok(MeasuredAt::Home),
            "clinic" => Ok(MeasuredAt::Clinic),
            other => Err(invalid(
                "place",
                format!("`{other}` is not a place; use home or clinic"),
            )),
        }
    }
}

/// A WHO-5 as stored: its phase, who sat with the citizen and where, and the answers so far,
/// keyed by item number "1"–"5" so each tap is its own write and two taps never conflict.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, Reconcile, Hydrate)]
pub struct Who5Record {
    pub phase: AssessmentPhase,
    pub by: UserId,
    pub place: MeasuredAt,
    pub started_at: Millis,
    pub answers: BTreeMap<String, u8>,
}

impl Who5Record {
    /// The key an item (0-based, as in [`crate::effect::who5::ITEMS`]) is stored under.
    pub fn item_key(item: usize) -> String {
        (item + 1).to_string()
    }

    /// The answers in item order, for scoring.
    pub fn answers(&self) -> crate::effect::who5::Who5Answers {
        let mut a = crate::effect::who5::Who5Answers::default();
        for (i, slot) in a.0.iter_mut().enumerate() {
            *slot = self.answers.get(&Self::item_key(i)).copied();
        }
        a
    }

    pub fn validate(&self) -> Result<(), Invalid> {
        for (key, answer) in &self.answers {
            if !(1..=5).any(|i| key == &i.to_string()) {
                return Err(invalid("who5.answers", format!("no item `{key}`")));
            }
            if *answer > crate::effect::who5::MAX_ANSWER {
                return Err(invalid("who5.answers", format!("{answer} is above 5")));
            }
        }
        Ok(())
    }
}

/// A rule the data broke, said so a user can act on it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {problem}")]
pub struct Invalid {
    pub field: String,
    pub problem: String,
}

fn invalid(field: impl Into<String>, problem: impl Into<String>) -> Invalid {
    Invalid {
        field: field.into(),
        problem: problem.into(),
    }
}

/// Parses an ISO `YYYY-MM-DD` date: exactly that, ten characters, so dates stored as text
/// order as their text does (`time`'s year also takes a sign, `+2027-01-01`, which sorts
/// before every other date).
pub fn parse_date(s: &str) -> Result<time::Date, Invalid> {
    let not_a_date = || invalid("date", format!("'{s}' is not a date (YYYY-MM-DD)"));
    if s.len() != 10 || !s.starts_with(|c: char| c.is_ascii_digit()) {
        return Err(not_a_date());
    }
    time::Date::parse(
        s,
        &time::macros::format_description!("[year]-[month]-[day]"),
    )
    .map_err(|_| not_a_date())
}

/// A rating on a closed scale of whole numbers: the one definition the device's operations,
/// the document writers and the server's admission all check a rating against.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Scale {
    /// The field as an error names it (`session.general_condition`).
    pub field: &'static str,
    pub min: u8,
    pub max: u8,
}

/// General condition / form of the day: 1 (poor) – 5 (very good).
pub const GENERAL_CONDITION: Scale = Scale {
    field: "session.general_condition",
    min: 1,
    max: 5,
};
/// Borg CR10 exertion: 0 (nothing at all) – 10 (maximal).
pub const BORG: Scale = Scale {
    field: "exercise.borg",
    min: 0,
    max: 10,
};
/// Pain on the numeric rating scale: 0 (none) – 10 (worst imaginable).
pub const PAIN: Scale = Scale {
    field: "exercise.pain",
    min: 0,
    max: 10,
};

impl Scale {
    /// A rating not given is always fine; a given one must be on the scale.
    pub fn check(self, rating: Option<u8>) -> Result<(), Invalid> {
        match rating {
            Some(v) if !(self.min..=self.max).contains(&v) => Err(invalid(
                self.field,
                format!("must be {}–{}, got {v}", self.min, self.max),
            )),
            _ => Ok(()),
        }
    }
}

/// Whether `s` looks like a Danish CPR number (DDMMYY-SSSS, with or without the dash or
/// spaces). Homerehab never stores one: a citizen is referred to by the municipality's own
/// case number.
pub fn looks_like_cpr(s: &str) -> bool {
    let mut digits = 0;
    for c in s.chars().filter(|c| !c.is_whitespace() && *c != '-') {
        if !c.is_ascii_digit() {
            return false;
        }
        digits += 1;
    }
    digits == 10
}

fn check_text(field: &str, s: &str, max: usize) -> Result<(), Invalid> {
    if s.chars().count() > max {
        return Err(invalid(field, format!("longer than {max} characters")));
    }
    Ok(())
}

impl Citizen {
    pub fn validate(&self) -> Result<(), Invalid> {
        if self.name.trim().is_empty() {
            return Err(invalid("citizen.name", "is empty"));
        }
        check_text("citizen.name", &self.name, 200)?;
        check_text("citizen.local_ref", &self.local_ref, 100)?;
        if let Some(year) = self.birth_year {
            if !(1900..=2100).contains(&year) {
                return Err(invalid(
                    "citizen.birth_year",
                    format!("{year} is not a birth year"),
                ));
            }
        }
        if looks_like_cpr(&self.local_ref) {
            return Err(invalid(
                "citizen.local_ref",
                "looks like a CPR number: use the municipality's case number instead",
            ));
        }
        Ok(())
    }
}

impl Course {
    /// A planned course in the typical frame the seeds describe (SEL §83a, 12 weeks, 3 sessions
    /// of 15 minutes a week); callers change what differs with struct update syntax.
    pub fn new(
        citizen: CitizenId,
        team: TeamId,
        therapist: UserId,
        start_date: &str,
        now: Millis,
    ) -> Course {
        Course {
            id: CourseId::new(),
            citizen_id: citizen,
            team_id: team,
            legal_basis: LegalBasis("SEL §83a".into()),
            start_date: start_date.to_string(),
            planned_weeks: 12,
            sessions_per_week: 3,
            minutes_per_session: 15,
            goals: Vec::new(),
            status: CourseStatus::Planned,
            status_reason: None,
            responsible_therapist: therapist,
            created_at: now,
            end_reason: None,
        }
    }

    /// Moves the course on: planned → active, active ⇄ paused, active or paused → completed,
    /// and any open course → ended early, with a key of [`END_REASONS`] (`end_reason`) and
    /// the therapist's words (`note`, which a pause may also give; "other" needs them).
    /// A completed or ended course stays so: a new course is made instead.
    pub fn change_status(
        &mut self,
        next: CourseStatus,
        note: Option<String>,
        end_reason: Option<&str>,
    ) -> Result<(), Invalid> {
        use CourseStatus::*;
        let allowed = matches!(
            (self.status, next),
            (Planned, Active)
                | (Active, Paused)
                | (Paused, Active)
                | (Active | Paused, Completed)
                | (Planned | Active | Paused, EndedEarly)
        );
        if !allowed {
            return Err(invalid(
                "course.status",
                format!("a {:?} course cannot become {:?}", self.status, next),
            ));
        }
        let note = note.map(|r| r.trim().to_string()).filter(|r| !r.is_empty());
        // Words alone were enough once (`validate` still reads such courses); a new ending
        // names its key, and "other" says what it was.
        match (next, end_reason) {
            (EndedEarly, None) => {
                return Err(invalid(
                    "course.end_reason",
                    "say why the course ended early",
                ))
            }
            (EndedEarly, Some("other")) if note.is_none() => {
                return Err(invalid(
                    "course.status_reason",
                    "write why the course ended early",
                ))
            }
            _ => {}
        }
        // Checked whole before it replaces the course, so a refused change leaves it as it was.
        let changed = Course {
            status: next,
            status_reason: note,
            end_reason: end_reason.map(str::to_string),
            ..self.clone()
        };
        changed.validate()?;
        *self = changed;
        Ok(())
    }

    /// How long and how much the course is planned: its frame.
    pub fn frame(&self) -> CourseFrame {
        CourseFrame {
            planned_weeks: self.planned_weeks,
            sessions_per_week: self.sessions_per_week,
            minutes_per_session: self.minutes_per_session,
        }
    }

    /// A new frame for a course that has not ended: shorter for a citizen who manages on their
    /// own sooner, longer or more often for one who needs it (the Thisted/Haderslev evaluation:
    /// fixed ten-week frames kept self-reliant citizens in training). The planned last day
    /// moves with it, and so do the end tests' window and the leaders' cohort of the period
    /// it ends in; it can move to this week at the earliest (`today`), never into weeks gone,
    /// whose figures may have been reported. A completed or ended course keeps the frame it
    /// ran with: the figures already count it (admission refuses a change to it too,
    /// [`crate::rules::check_course_as_written`]). The frame has no history: a new number of
    /// sessions a week counts for the whole course, weeks gone included.
    pub fn change_frame(&mut self, frame: CourseFrame, today: time::Date) -> Result<(), Invalid> {
        if !matches!(
            self.status,
            CourseStatus::Planned | CourseStatus::Active | CourseStatus::Paused
        ) {
            return Err(invalid(
                "course.frame",
                format!(
                    "a {} course keeps the frame it ran with",
                    self.status.as_str()
                ),
            ));
        }
        if let Ok(start) = parse_date(&self.start_date) {
            let week = (today - start).whole_days().div_euclid(7) + 1;
            if week > i64::from(frame.planned_weeks) {
                return Err(invalid(
                    "course.planned_weeks",
                    format!(
                        "the course is in its week {week}: it can end this week at the earliest"
                    ),
                ));
            }
        }
        // Checked whole before it replaces the course, so a refused change leaves it as it was.
        let changed = Course {
            planned_weeks: frame.planned_weeks,
            sessions_per_week: frame.sessions_per_week,
            minutes_per_session: frame.minutes_per_session,
            ..self.clone()
        };
        changed.validate()?;
        *self = changed;
        Ok(())
    }

    pub fn validate(&self) -> Result<(), Invalid> {
        self.validate_stored()?;
        match (&self.end_reason, self.status) {
            (Some(_), status) if status != CourseStatus::EndedEarly => {
                return Err(invalid(
                    "course.end_reason",
                    "only a course ended early has an end reason",
                ))
            }
            // Courses ended before the key existed carry only the therapist's words.
            (None, CourseStatus::EndedEarly)
                if self
                    .status_reason
                    .as_deref()
                    .is_none_or(|r| r.trim().is_empty()) =>
            {
                return Err(invalid(
                    "course.end_reason",
                    "a course ended early needs a reason",
                ))
            }
            _ => {}
        }
        Ok(())
    }

    /// What a stored course must be, whoever wrote it: [`Course::validate`] without the
    /// agreement of status and end reason, which two therapists changing the status at once
    /// can break in the merge (one pauses, the other ends early: the pause wins the status,
    /// the early end's reason stays; or the other way round, the reason lost). Refusing that
    /// refused the second therapist's change for good, and their laptop set the course
    /// aside. Readers take an end reason only with an early end (`evidence::funnel`), and a
    /// status change by the app checks the pair again (`Course::change_status`).
    pub fn validate_stored(&self) -> Result<(), Invalid> {
        if self.legal_basis.0.trim().is_empty() {
            return Err(invalid("course.legal_basis", "is empty"));
        }
        check_text("course.legal_basis", &self.legal_basis.0, 100)?;
        parse_date(&self.start_date).map_err(|e| invalid("course.start_date", e.problem))?;
        if !(1..=104).contains(&self.planned_weeks) {
            return Err(invalid("course.planned_weeks", "must be 1–104"));
        }
        if !(1..=14).contains(&self.sessions_per_week) {
            return Err(invalid("course.sessions_per_week", "must be 1–14"));
        }
        if !(1..=240).contains(&self.minutes_per_session) {
            return Err(invalid("course.minutes_per_session", "must be 1–240"));
        }
        for g in &self.goals {
            check_text("course.goals", g, 1000)?;
        }
        if let Some(key) = &self.end_reason {
            if !is_end_reason(key) {
                return Err(invalid(
                    "course.end_reason",
                    format!("`{key}` is not a reason a course ends early"),
                ));
            }
        }
        Ok(())
    }
}

impl Dosage {
    /// `sets` × `reps` on both sides with a minute's rest: the common starting dose.
    pub fn reps(sets: u32, reps: u32) -> Dosage {
        Dosage {
            sets,
            reps: Some(reps),
            duration_s: None,
            hold_s: None,
            rest_s: Some(60),
            load: None,
            side: Side::Both,
        }
    }

    pub fn validate(&self) -> Result<(), Invalid> {
        if !(1..=20).contains(&self.sets) {
            return Err(invalid("dosage.sets", "must be 1–20"));
        }
        match (self.reps, self.duration_s) {
            (None, None) => return Err(invalid("dosage", "needs repetitions or a duration")),
            (Some(r), _) if !(1..=200).contains(&r) => {
                return Err(invalid("dosage.reps", "must be 1–200"))
            }
            (_, Some(d)) if !(1..=3600).contains(&d) => {
                return Err(invalid("dosage.duration_s", "must be 1–3600 seconds"))
            }
            _ => {}
        }
        if self.hold_s.is_some_and(|h| h > 600) {
            return Err(invalid("dosage.hold_s", "must be at most 600 seconds"));
        }
        if self.rest_s.is_some_and(|r| r > 1800) {
            return Err(invalid("dosage.rest_s", "must be at most 1800 seconds"));
        }
        if let Some(l) = &self.load {
            check_text("dosage.load", l, 100)?;
        }
        Ok(())
    }
}

impl ProgramExercise {
    /// A new program line for library exercise `exercise_ref`.
    pub fn new(exercise_ref: &str, position: f64, dosage: Dosage) -> ProgramExercise {
        ProgramExercise {
            id: ProgramExerciseId::new(),
            exercise_ref: exercise_ref.to_string(),
            position,
            dosage,
            instructions: None,
        }
    }

    pub fn validate(&self) -> Result<(), Invalid> {
        if self.exercise_ref.trim().is_empty() {
            return Err(invalid("program.exercise_ref", "is empty"));
        }
        if !self.position.is_finite() {
            return Err(invalid("program.position", "is not a number"));
        }
        if let Some(i) = &self.instructions {
            check_text("program.instructions", i, 4000)?;
        }
        self.dosage.validate()
    }
}

impl Assessment {
    pub fn validate(&self) -> Result<(), Invalid> {
        if self.kind.trim().is_empty() {
            return Err(invalid("assessment.kind", "is empty"));
        }
        if !self.value.is_finite() {
            return Err(invalid("assessment.value", "is not a number"));
        }
        parse_date(&self.date).map(|_| ())
    }
}

impl SetLog {
    pub fn validate(&self) -> Result<(), Invalid> {
        if self.reps.is_some_and(|r| r > 500) {
            return Err(invalid("set.reps", "must be at most 500"));
        }
        if self.load_kg.is_some_and(|l| !(0.0..=500.0).contains(&l)) {
            return Err(invalid("set.load_kg", "must be 0–500 kg"));
        }
        Ok(())
    }
}

impl ExerciseLog {
    pub fn validate(&self) -> Result<(), Invalid> {
        BORG.check(self.borg)?;
        PAIN.check(self.pain)?;
        if self.sets.len() > MAX_SETS_PER_EXERCISE {
            return Err(invalid(
                "exercise.sets",
                format!("more than {MAX_SETS_PER_EXERCISE} sets"),
            ));
        }
        if self.outcome == Some(ExerciseOutcome::Skipped)
            && self
                .skip_reason
                .as_deref()
                .is_none_or(|r| r.trim().is_empty())
        {
            return Err(invalid(
                "exercise.skip_reason",
                "a skipped exercise needs a reason",
            ));
        }
        if let Some(n) = &self.note {
            check_text("exercise.note", n, 4000)?;
        }
        self.sets.iter().try_for_each(SetLog::validate)
    }
}

impl SessionLog {
    /// A session begun now by `by` against `revision`, with nothing logged yet.
    pub fn start(
        course_id: CourseId,
        by: UserId,
        revision: Option<RevisionId>,
        at: Millis,
    ) -> SessionLog {
        SessionLog {
            id: SessionId::new(),
            course_id,
            performed_by: by,
            program_revision: revision,
            started_at: at,
            ended_at: None,
            status: SessionStatus::InProgress,
            not_carried_out: None,
            general_condition: None,
            note: None,
            exercises: BTreeMap::new(),
            who5: None,
        }
    }

    /// A planned session that did not take place, and why.
    pub fn not_carried_out(self, reason: NotCarriedOutReason, note: Option<String>) -> SessionLog {
        SessionLog {
            ended_at: Some(self.started_at),
            status: SessionStatus::NotCarriedOut,
            not_carried_out: Some(reason),
            note,
            ..self
        }
    }

    pub fn validate(&self) -> Result<(), Invalid> {
        GENERAL_CONDITION.check(self.general_condition)?;
        if let Some(end) = self.ended_at {
            if end < self.started_at {
                return Err(invalid("session.ended_at", "is before the start"));
            }
        }
        match (self.status, self.not_carried_out) {
            (SessionStatus::NotCarriedOut, None) => {
                return Err(invalid("session.not_carried_out", "needs a reason"))
            }
            (SessionStatus::InProgress | SessionStatus::Completed, Some(_)) => {
                return Err(invalid(
                    "session.not_carried_out",
                    "set on a session that took place",
                ))
            }
            _ => {}
        }
        if self.exercises.len() > 100 {
            return Err(invalid("session.exercises", "more than 100 exercises"));
        }
        if let Some(n) = &self.note {
            check_text("session.note", n, 4000)?;
        }
        if let Some(w) = &self.who5 {
            w.validate()?;
        }
        self.exercises.values().try_for_each(ExerciseLog::validate)
    }

    /// Number of sets logged in the session.
    pub fn set_count(&self) -> usize {
        self.exercises.values().map(|e| e.sets.len()).sum()
    }
}

impl Reconcile for CareGrantRecord {
    type Key<'a> = autosurgeon::reconcile::NoKey;

    fn reconcile<R: autosurgeon::Reconciler>(&self, mut reconciler: R) -> Result<(), R::Error> {
        reconciler.str(self.encode())
    }
}

impl Reconcile for CareGrantImport {
    type Key<'a> = autosurgeon::reconcile::NoKey;

    fn reconcile<R: autosurgeon::Reconciler>(&self, mut reconciler: R) -> Result<(), R::Error> {
        reconciler.bytes(postcard::to_stdvec(self).unwrap_or_default())
    }
}

impl Hydrate for CareGrantImport {
    fn hydrate_bytes(bytes: &[u8]) -> Result<Self, autosurgeon::HydrateError> {
        postcard::from_bytes(bytes)
            .map_err(|e| autosurgeon::HydrateError::unexpected("a care-time import", e.to_string()))
    }
}

impl Hydrate for CareGrantRecord {
    fn hydrate_string(s: &str) -> Result<Self, autosurgeon::HydrateError> {
        CareGrantRecord::decode(s).ok_or_else(|| {
            autosurgeon::HydrateError::unexpected(
                "a care grant `[citizen, effective, minutes, service, by, at]`",
                s.chars().take(80).collect(),
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn dosage() -> Dosage {
        Dosage::reps(3, 10)
    }

    /// Care-time follow-ups are asked for only of courses that are, or may still be, in the
    /// leaders' figures.
    #[test]
    fn only_a_course_that_may_complete_has_its_care_time_followed_up() {
        let followed: Vec<CourseStatus> = CourseStatus::ALL
            .into_iter()
            .filter(|s| s.follows_up_care_time())
            .collect();
        assert_eq!(
            followed,
            [
                CourseStatus::Active,
                CourseStatus::Paused,
                CourseStatus::Completed
            ],
            "not a course not begun, nor one that ended early"
        );
    }

    #[test]
    fn a_care_grant_is_stored_as_one_string_and_read_back_whole() {
        let g = CareGrantRecord {
            citizen_id: CitizenId::new(),
            effective: "2024-03-01".into(),
            minutes_per_week: 245,
            service_code: Some("Personlig pleje; \"bad\"".into()),
            recorded_by: UserId::new(),
            recorded_at: 1_700_000_000_000,
        };
        let mut doc = automerge::AutoCommit::new();
        autosurgeon::reconcile_prop(&mut doc, automerge::ROOT, "g", &g).unwrap();
        match automerge::ReadDoc::get(&doc, &automerge::ROOT, "g").unwrap() {
            Some((automerge::Value::Scalar(s), _)) => assert!(s.is_str(), "{s:?}"),
            other => panic!("not one scalar: {other:?}"),
        }
        let back: CareGrantRecord = autosurgeon::hydrate_prop(&doc, automerge::ROOT, "g").unwrap();
        assert_eq!(back, g);
        let none = CareGrantRecord {
            service_code: None,
            ..g
        };
        assert_eq!(CareGrantRecord::decode(&none.encode()), Some(none));
        // Anything else under the key is a clear hydrate error, never a panic.
        for junk in ["", "[]", "[1,2,3]", "{\"a\":1}", "not json"] {
            assert_eq!(CareGrantRecord::decode(junk), None, "{junk}");
            autosurgeon::reconcile_prop(&mut doc, automerge::ROOT, "j", junk).unwrap();
            assert!(autosurgeon::hydrate_prop::<_, CareGrantRecord, _, _>(
                &doc,
                automerge::ROOT,
                "j"
            )
            .is_err());
        }
    }

    #[test]
    fn course_status_names_are_the_serde_names() {
        for c in CourseStatus::ALL {
            assert_eq!(serde_json::to_value(c).unwrap(), c.as_str());
            assert_eq!(CourseStatus::parse(c.as_str()), Some(c));
        }
        assert_eq!(CourseStatus::parse("sleeping"), None);
    }

    #[test]
    fn a_course_frame_changes_while_it_runs_within_bounds_and_not_after_its_end() {
        let mut c = Course::new(
            CitizenId::new(),
            TeamId::new(),
            UserId::new(),
            "2026-11-02",
            0,
        );
        let shorter = CourseFrame {
            planned_weeks: 7,
            sessions_per_week: 2,
            minutes_per_session: 20,
        };
        let today = time::macros::date!(2026 - 11 - 02);
        c.change_frame(shorter, today).unwrap();
        assert_eq!(c.frame(), shorter);
        c.change_status(CourseStatus::Active, None, None).unwrap();
        for wrong in [
            CourseFrame {
                planned_weeks: 0,
                ..shorter
            },
            CourseFrame {
                planned_weeks: 105,
                ..shorter
            },
            CourseFrame {
                sessions_per_week: 15,
                ..shorter
            },
            CourseFrame {
                minutes_per_session: 0,
                ..shorter
            },
        ] {
            assert!(c.change_frame(wrong, today).is_err(), "{wrong:?}");
            assert_eq!(
                c.frame(),
                shorter,
                "a refused frame leaves the course as it was"
            );
        }
        c.change_status(CourseStatus::Paused, None, None).unwrap();
        let longer = CourseFrame {
            planned_weeks: 14,
            ..shorter
        };
        c.change_frame(longer, today).unwrap();
        // In its week 9 (the 60th day), it can end in week 9, not before.
        let week_9 = time::macros::date!(2026 - 12 - 31);
        let err = c
            .change_frame(
                CourseFrame {
                    planned_weeks: 8,
                    ..longer
                },
                week_9,
            )
            .unwrap_err();
        assert!(err.problem.contains("week 9"), "{err:?}");
        c.change_frame(
            CourseFrame {
                planned_weeks: 9,
                ..longer
            },
            week_9,
        )
        .unwrap();
        c.change_frame(longer, week_9).unwrap();
        c.change_status(CourseStatus::Active, None, None).unwrap();
        c.change_status(CourseStatus::Completed, None, None)
            .unwrap();
        let err = c.change_frame(shorter, today).unwrap_err();
        assert_eq!(err.field, "course.frame");
        assert_eq!(c.frame(), longer);
    }

    #[test]
    fn a_course_moves_on_but_never_back_from_its_end() {
        use CourseStatus::*;
        let mut c = Course::new(
            CitizenId::new(),
            TeamId::new(),
            UserId::new(),
            "2026-11-02",
            0,
        );
        assert!(
            c.change_status(Completed, None, None).is_err(),
            "planned cannot complete"
        );
        c.change_status(Active, None, None).unwrap();
        c.change_status(Paused, Some("Indlagt".into()), None)
            .unwrap();
        assert_eq!(c.status_reason.as_deref(), Some("Indlagt"));
        let err = c
            .change_status(Active, None, Some("hospitalised"))
            .unwrap_err();
        assert_eq!(err.field, "course.end_reason", "only ending early has one");
        c.change_status(Active, None, None).unwrap();
        assert_eq!(c.status_reason, None);
        let err = c
            .change_status(EndedEarly, Some("Indlagt".into()), None)
            .unwrap_err();
        assert_eq!(
            err.field, "course.end_reason",
            "words alone are not counted"
        );
        let err = c
            .change_status(EndedEarly, None, Some("tired_of_it"))
            .unwrap_err();
        assert_eq!(err.field, "course.end_reason");
        let err = c
            .change_status(EndedEarly, Some("  ".into()), Some("other"))
            .unwrap_err();
        assert_eq!(err.field, "course.status_reason", "other needs words");
        assert_eq!(c.status, Active, "a refused change leaves the course");
        c.change_status(Completed, None, None).unwrap();
        assert!(
            c.change_status(Active, None, None).is_err(),
            "a completed course stays so"
        );
    }

    #[test]
    fn a_course_ends_early_with_a_coded_reason_and_optional_words() {
        let mut c = Course::new(
            CitizenId::new(),
            TeamId::new(),
            UserId::new(),
            "2026-11-02",
            0,
        );
        c.change_status(CourseStatus::Active, None, None).unwrap();
        c.change_status(CourseStatus::EndedEarly, None, Some("hospitalised"))
            .unwrap();
        assert_eq!(c.end_reason.as_deref(), Some("hospitalised"));
        assert_eq!(c.status_reason, None);
        // A course ended before the key existed: its words alone still read as valid.
        let legacy = Course {
            end_reason: None,
            status_reason: Some("Borgeren flyttede".into()),
            ..c.clone()
        };
        legacy.validate().unwrap();
        let neither = Course {
            end_reason: None,
            ..c.clone()
        };
        assert_eq!(neither.validate().unwrap_err().field, "course.end_reason");
        // Every key is unique and has both texts.
        let keys: std::collections::BTreeSet<_> = END_REASONS.iter().map(|r| r.0).collect();
        assert_eq!(keys.len(), END_REASONS.len());
        assert!(END_REASONS
            .iter()
            .all(|(_, da, en)| !da.is_empty() && !en.is_empty()));
    }

    #[test]
    fn dosage_needs_reps_or_duration() {
        let mut d = dosage();
        assert!(d.validate().is_ok());
        d.reps = None;
        assert_eq!(d.validate().unwrap_err().field, "dosage");
        d.duration_s = Some(30);
        assert!(d.validate().is_ok());
        d.sets = 0;
        assert!(d.validate().is_err());
    }

    #[test]
    fn scales_are_bounded() {
        let mut e = ExerciseLog {
            program_exercise_id: ProgramExerciseId::new(),
            exercise_ref: "sit-to-stand".into(),
            outcome: Some(ExerciseOutcome::Done),
            skip_reason: None,
            sets: vec![],
            borg: Some(10),
            pain: Some(0),
            note: None,
        };
        assert!(e.validate().is_ok());
        e.borg = Some(11);
        assert_eq!(e.validate().unwrap_err().field, "exercise.borg");
        e.borg = None;
        e.outcome = Some(ExerciseOutcome::Skipped);
        assert_eq!(e.validate().unwrap_err().field, "exercise.skip_reason");
    }

    #[test]
    fn cpr_numbers_are_recognised_and_refused_as_a_citizens_reference() {
        assert!(looks_like_cpr("010203-1234"));
        assert!(looks_like_cpr("0102031234"));
        assert!(looks_like_cpr(" 010203 1234 "));
        assert!(!looks_like_cpr("TK-2026-0311"));
        assert!(!looks_like_cpr("12345"));
        assert!(!looks_like_cpr("01020312345"));
        let mut c = Citizen {
            id: CitizenId::new(),
            name: "Bodil".into(),
            local_ref: "SAG-2026-0042".into(),
            address: None,
            assigned: BTreeMap::new(),
            active: true,
            birth_year: None,
            sex: None,
        };
        assert!(c.validate().is_ok());
        c.local_ref = "010203-1234".into();
        assert_eq!(c.validate().unwrap_err().field, "citizen.local_ref");
    }

    #[test]
    fn ratings_are_on_their_scales() {
        assert!(GENERAL_CONDITION.check(None).is_ok());
        for ok in 1..=5 {
            assert!(GENERAL_CONDITION.check(Some(ok)).is_ok());
        }
        for bad in [0, 6, 255] {
            let e = GENERAL_CONDITION.check(Some(bad)).unwrap_err();
            assert_eq!(e.field, "session.general_condition");
            assert!(e.problem.contains("1–5"), "{e}");
        }
        assert!(BORG.check(Some(0)).is_ok() && BORG.check(Some(11)).is_err());
        assert!(PAIN.check(Some(10)).is_ok() && PAIN.check(Some(11)).is_err());
        let mut s = SessionLog::start(CourseId::new(), UserId::new(), None, 0);
        s.general_condition = Some(0);
        assert_eq!(s.validate().unwrap_err().field, "session.general_condition");
    }

    #[test]
    fn dates_are_checked() {
        assert!(parse_date("2026-02-28").is_ok());
        assert!(parse_date("2026-02-30").is_err());
        assert!(parse_date("28/02/2026").is_err());
        // Only the plain form, which orders as its text does.
        for signed in ["+2026-02-28", "-2026-02-28", "+02026-02-28"] {
            assert!(parse_date(signed).is_err(), "{signed}");
        }
    }
}
