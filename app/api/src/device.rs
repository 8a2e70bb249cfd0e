//! Sign-in, the app lock, who is signed in and what they may do, the sync status, and the one
//! error shape of every operation.

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
    /// This device was revoked by a leader or admin; its data was erased once everything on
    /// it had reached the server (`Status::revoked` says by whom and why).
    DeviceRevoked,
    /// The browser page was not opened from the address the app showed when it started (it
    /// carries the app's launch key): the local API answers no one else on this machine.
    LaunchKey,
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
    /// The leaders' evidence from the server.
    SeeEvidence,
    /// Set the municipality's targets, prices, naming and comparison group.
    SetEvidenceSettings,
    /// List the staff's devices, revoke one, sign a colleague out everywhere.
    ManageDevices,
    /// A citizen's access report from the audit log.
    SeeAccessLog,
    /// The municipality's retention and a citizen's erasure (issue #14).
    ManageRetention,
    /// The municipality's tables as CSV for its BI warehouse (pulled from the server).
    ExportData,
    /// The municipality's courses and visits as FHIR for its care record system (server only).
    ExportCareRecords,
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
    /// The server needs a newer app to sync (a newer sync protocol): changes are kept on the
    /// device until the app is updated.
    UpdateRequired,
    /// The server speaks an older sync protocol than this app (it is upgraded after the app):
    /// changes are kept on the device and go with the first sync after the server's upgrade.
    ServerBehind,
    /// The server no longer takes this sign-in (it expired, or was ended on another device):
    /// changes are kept on the device and go once the person signs in again.
    SignInAgain,
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
    /// Courses the municipality erased (retention or a citizen's erasure, issue #14) that
    /// left this device: "N forløb er slettet efter kommunens beslutning".
    #[serde(default)]
    pub erased_courses: u32,
    /// This device was revoked and its data erased: by whom, when and why (shown until
    /// someone signs in again).
    #[serde(default)]
    pub revoked: Option<Revoked>,
}

/// A revocation as the device shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Revoked {
    pub by: String,
    pub reason: String,
    pub at: Millis,
}

/// A device as a leader or admin sees it (`GET /api/devices`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceRow {
    pub id: String,
    pub user_id: String,
    pub username: String,
    pub display_name: String,
    pub first_seen: Millis,
    pub last_seen: Millis,
    pub app_version: String,
    /// The device this list is shown on (revoking it erases what is on screen).
    #[serde(default)]
    pub this_device: bool,
    /// Present once revoked.
    pub revoked: Option<DeviceRevokedRow>,
}

/// A citizen's access report (#14), from the server's audit log: who looked at the record,
/// when, what and why (`GET /api/citizens/{citizen}/access-report`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessReportView {
    pub citizen_id: String,
    /// The citizen's name from this device's roster; empty when the device does not hold it.
    pub citizen_name: String,
    /// When the server made the report (its look-up is in it too).
    pub made_at: Millis,
    /// The same in Danish local time, `dd-mm-åååå tt:mm`.
    pub made_at_text: String,
    pub lines: Vec<AccessLineView>,
    /// The same report as the server's CSV (`;`-separated, with a BOM) for a download link.
    pub csv: String,
}

/// One look-up in an access report, in Danish.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessLineView {
    pub entry: u64,
    pub at: Millis,
    /// Danish local time, `dd-mm-åååå tt:mm`.
    pub at_text: String,
    pub who: String,
    pub role: String,
    pub what: String,
    pub purpose: String,
    pub device: Option<String>,
}

/// A revocation in the device list.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceRevokedRow {
    pub at: Millis,
    pub by_name: String,
    pub reason: String,
    /// When it handed over its last changes and erased its data (absent until it did).
    pub handed_over_at: Option<Millis>,
}

/// `POST /api/devices/{id}/revoke`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RevokeDeviceRequest {
    pub reason: String,
}

/// The answer to `POST /api/users/{id}/sign-out-everywhere`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignedOutEverywhere {
    /// Sign-ins ended on the server.
    pub ended: u32,
}
