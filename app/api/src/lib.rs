//! The messages between the Homerehab UI and the app core, as plain serde types.
//!
//! Both transports carry exactly these: the local HTTP API (`homerehab-local-api`, for browsers
//! and the end-to-end tests) and, later, the Tauri commands. The UI (wasm) and the native side
//! compile this same crate, so the two cannot drift apart. Ids travel as strings (UUIDs); the
//! native side parses them into the domain's typed ids.
//!
//! Errors are always [`ApiError`]: `{"kind": "...", "message": "..."}`.

use serde::{Deserialize, Serialize};

/// Unix time in milliseconds.
pub type Millis = i64;

/// The one error shape of every operation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiError {
    pub kind: ErrorKind,
    /// Said so the person holding the tablet can act on it.
    pub message: String,
    /// With `wrong_pin`: PIN attempts left before an online sign-in is required.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attempts_left: Option<u32>,
}

/// What went wrong, for the UI to choose what to show.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// The request itself was malformed (bad id, bad JSON, value out of range).
    Invalid,
    /// No one is signed in on this device.
    NotSignedIn,
    /// Wrong username or password.
    SignIn,
    /// The thing asked for is not on this device.
    NotFound,
    /// The sync server could not be reached; work goes on offline.
    Offline,
    /// The sync server answered with a refusal.
    Server,
    /// The device itself failed (database, damaged document).
    Internal,
    /// The app is locked: unlock it with the PIN (or, after too many wrong PINs, sign in).
    Locked,
    /// The PIN was wrong; `attempts_left` says how many tries remain.
    WrongPin,
    /// Too many wrong passwords for this username: the server refuses sign-in for a while.
    TooManyAttempts,
    /// The server is busy checking other sign-ins: try again in a moment.
    Busy,
    /// The signed-in person's role may not do this (an assistant editing a program, a leader
    /// creating a course).
    Forbidden,
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

/// `POST /api/login`. The password is never logged.
#[derive(Clone, Serialize, Deserialize)]
pub struct LoginRequest {
    pub username: String,
    pub password: String,
}

impl std::fmt::Debug for LoginRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoginRequest")
            .field("username", &self.username)
            .field("password", &"[redacted]")
            .finish()
    }
}

/// `POST /api/pin` (choose the PIN) and `POST /api/unlock`. The PIN is never logged.
#[derive(Clone, Serialize, Deserialize)]
pub struct PinRequest {
    /// 4–6 digits.
    pub pin: String,
}

impl std::fmt::Debug for PinRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PinRequest { pin: [redacted] }")
    }
}

/// What stands between the person and the data (part of [`Status`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LockState {
    /// No one has signed in on this device.
    #[default]
    SignedOut,
    /// Too many wrong PINs: sign in again online (everything logged is kept).
    SignInRequired,
    /// Signed in, no PIN chosen yet: open; choose a PIN.
    NoPin,
    /// Unlock with the PIN.
    Locked,
    /// Open.
    Unlocked,
}

/// Who is signed in on this device (`GET /api/me`, answer to login).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Me {
    pub username: String,
    pub display_name: String,
    /// `assistant`, `therapist`, `leader` or `admin` (to display; what the person may do is
    /// `capabilities`).
    pub role: String,
    /// What the person may do: the UI chooses tabs, home page and edit buttons from these.
    #[serde(default)]
    pub capabilities: Vec<Capability>,
}

impl Me {
    pub fn may(&self, capability: Capability) -> bool {
        self.capabilities.contains(&capability)
    }
}

/// What a signed-in person may do (the mirror of `homerehab_shared::auth::Capability`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Capability {
    /// Today's visits, a course, a session.
    ReadCourses,
    /// Guide a session and write its log.
    RunSessions,
    /// Follow all the team's courses: caseload, citizens, staff, programs, history, templates.
    FollowCourses,
    /// Add citizens to the team's roster.
    ManageCitizens,
    /// Create courses, change their program and status, record assessments.
    PrescribeCourses,
    /// Read the municipality's own exercises, templates and media.
    ReadLibrary,
    /// Add and change the municipality's exercises, templates and media.
    EditLibrary,
    /// The leader's overview.
    SeeOverview,
}

/// The sync state the status bar shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SyncState {
    /// The last attempt failed: changes are kept on the device.
    Offline,
    /// A sync is running now.
    Syncing,
    /// Nothing waits to be sent and the last sync succeeded.
    Synced,
    /// Changes wait for the next sync.
    Waiting,
    /// The server refused some changes; they are kept on the device and `refused` says why.
    Refused,
}

/// Changes of one document the server refused (`Status::refused`); kept on the device.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefusedChange {
    /// `course`, `session_log`, `roster` or `library`.
    pub document: String,
    /// The course it belongs to (courses and session logs).
    pub course_id: Option<String>,
    pub citizen_name: Option<String>,
    /// `rejected` (the server refused the changes), `forbidden` (this user may not read or
    /// write the document) or `unresolved` (the server could not take the whole document).
    pub refusal: String,
    /// The server's own words.
    pub detail: String,
    pub at: Millis,
    /// Whether the refused changes still wait on the device.
    pub unsent: bool,
}

/// `GET /api/status`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Status {
    pub state: SyncState,
    /// Documents with changes the server has not confirmed yet.
    pub waiting: u32,
    pub last_sync: Option<Millis>,
    pub last_error: Option<String>,
    pub signed_in: bool,
    /// Locked or open; also the answer to `POST /api/pin`, `/api/unlock` and `/api/lock`.
    #[serde(default)]
    pub lock: LockState,
    /// Documents whose changes the server refused, with why.
    #[serde(default)]
    pub refused: Vec<RefusedChange>,
    /// Another user's unsent work kept hidden on this device until they sign in again:
    /// (their name, documents).
    #[serde(default)]
    pub parked: Vec<(String, u32)>,
    /// Stored changes that could not be read and were kept aside for support.
    #[serde(default)]
    pub damaged: u32,
}

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
}

/// A program line's dosage as prescribed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DosageView {
    pub sets: u32,
    pub reps: Option<u32>,
    pub duration_s: Option<u32>,
    pub hold_s: Option<u32>,
    pub rest_s: Option<u32>,
    pub load: Option<String>,
    /// `none`, `left`, `right` or `both`.
    pub side: String,
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
}

/// Answer to `POST /api/courses/{id}/sessions`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StartedSession {
    pub session_id: String,
    pub revision_number: u32,
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

mod media;
mod operations;
mod therapist;
pub use media::*;
pub use operations::*;
pub use therapist::*;
