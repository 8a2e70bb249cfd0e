//! The JSON messages of the HTTP API besides sync (sign-in and errors), shared by the server
//! and the device so the two cannot drift apart. Frozen by the protocol: add fields only.

use crate::ids::{DeviceId, TeamId, UserId};
use crate::model::{Millis, Role};
use serde::{Deserialize, Serialize};
use std::fmt;

/// `POST /v1/login`.
#[derive(Clone, Serialize, Deserialize)]
pub struct LoginRequest {
    pub username: String,
    pub password: String,
    /// The device's Automerge actor id for this user: 32 hex characters (16 bytes).
    pub actor_id: String,
    /// The device's own id, generated at its first sign-in and kept (issue #14's registry).
    /// Absent from older apps: the server then names the device after the actor id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device_id: Option<DeviceId>,
    /// The app's version, shown in the device list. Absent from older apps.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app_version: Option<String>,
}

impl fmt::Debug for LoginRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LoginRequest")
            .field("username", &self.username)
            .field("password", &"[redacted]")
            .field("actor_id", &self.actor_id)
            .field("device_id", &self.device_id)
            .field("app_version", &self.app_version)
            .finish()
    }
}

/// The answer to a successful sign-in.
#[derive(Clone, Serialize, Deserialize)]
pub struct LoginResponse {
    pub token: String,
    /// Unix milliseconds.
    pub expires_at: Millis,
    pub user: UserInfo,
    /// The user's team and its members, so the device can name colleagues offline. Absent
    /// from older servers.
    #[serde(default)]
    pub team: Option<TeamInfo>,
    /// 64 hex characters: the secret the server keeps for this user on this device (issue
    /// #14). It wraps the device store's data key, so a forgotten PIN is recovered by an
    /// online sign-in. Handed out only here. Absent from older servers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device_secret: Option<String>,
}

impl fmt::Debug for LoginResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LoginResponse")
            .field("token", &"[redacted]")
            .field("expires_at", &self.expires_at)
            .field("user", &self.user)
            .field("team", &self.team)
            .field("device_secret", &"[redacted]")
            .finish()
    }
}

/// The signed-in user as the device needs to know them.
pub use crate::model::User as UserInfo;

/// A team's staff directory: `GET /v1/team`, and part of the login answer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TeamInfo {
    pub team_id: TeamId,
    pub name: String,
    pub members: Vec<TeamMember>,
}

/// A member of a team as colleagues see them (no username, nothing secret).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TeamMember {
    pub user_id: UserId,
    pub display_name: String,
    pub role: Role,
}

/// Every 4xx/5xx answer: a machine-readable kind and a sentence for people.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    pub error: String,
    pub message: String,
}

/// [`ErrorBody::error`] of a sync request in a protocol version the server does not speak
/// (400): the app must be updated before it can sync; nothing it holds is touched.
pub const UNSUPPORTED_PROTOCOL: &str = "unsupported_protocol";

/// The response header on an [`UNSUPPORTED_PROTOCOL`] answer that names the sync protocol
/// version the server speaks: an app newer than its server (the server's upgrade comes later
/// in a rolling upgrade) waits for the server instead of telling its user to update
/// ([`crate::sync::wire::protocol_gap`]).
pub const SYNC_PROTOCOL_HEADER: &str = "homerehab-sync-protocol";

// ---- the device registry (issue #14) ----------------------------------------------------------

/// The response header that tells a revoked device so, on the hand-over sync's answer and on
/// every refusal after it; the sync's wire format stays as it is. Its value is
/// [`RevokeNotice::to_header`].
pub const DEVICE_REVOKED_HEADER: &str = "homerehab-device-revoked";

/// The request header a device sends with a sync while another user's unsent work is parked
/// on it (value: the number of such documents): a revoked device's hand-over then stays open.
pub const PARKED_WORK_HEADER: &str = "homerehab-parked-work";

/// The request header a device sends with a sync while the signed-in user's look-ups
/// (`POST /v1/audit`, sent after the sync) wait on it (value: how many, at least): a revoked
/// device's hand-over then stays open for them, or the access log would lose them.
pub const LOOK_UPS_WAITING_HEADER: &str = "homerehab-look-ups-waiting";

/// The error kind (`ErrorBody::error`) of a request refused because its device was revoked.
pub const DEVICE_REVOKED_ERROR: &str = "device_revoked";

/// Who revoked a device, when and why: what the device shows after it erased its data.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RevokeNotice {
    /// Unix milliseconds.
    pub revoked_at: Millis,
    /// The display name of the leader or admin who revoked it.
    pub revoked_by: String,
    pub reason: String,
}

impl RevokeNotice {
    /// The notice as a header value: its JSON, percent-encoded (a header is ASCII; names and
    /// reasons are Danish).
    pub fn to_header(&self) -> String {
        let json = serde_json::to_string(self).expect("a notice serializes");
        let mut out = String::with_capacity(json.len());
        for b in json.bytes() {
            if b.is_ascii_alphanumeric() || b"-_.~ :,{}\"".contains(&b) {
                out.push(b as char);
            } else {
                out.push_str(&format!("%{b:02X}"));
            }
        }
        out
    }

    /// Back from [`RevokeNotice::to_header`]; `None` for anything else.
    pub fn from_header(value: &str) -> Option<RevokeNotice> {
        let bytes = value.as_bytes();
        let mut raw = Vec::with_capacity(bytes.len());
        let mut i = 0;
        while i < bytes.len() {
            if bytes[i] == b'%' {
                let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
                raw.push(u8::from_str_radix(hex, 16).ok()?);
                i += 3;
            } else {
                raw.push(bytes[i]);
                i += 1;
            }
        }
        serde_json::from_slice(&raw).ok()
    }

    /// The sentence a person reads, in English (the UI words it in Danish).
    pub fn sentence(&self) -> String {
        format!(
            "this device was revoked by {} because: {}",
            self.revoked_by, self.reason
        )
    }
}

/// A device as a leader or admin sees it: `GET /v1/devices`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceView {
    pub id: DeviceId,
    /// The user who signed in on it last (a shared tablet changes hands).
    pub user_id: UserId,
    pub username: String,
    pub display_name: String,
    pub team_id: TeamId,
    /// Unix milliseconds: its first sign-in, and its last contact (to the minute).
    pub first_seen: Millis,
    pub last_seen: Millis,
    pub app_version: String,
    /// Present once revoked.
    pub revoked: Option<DeviceRevocation>,
}

/// A revocation as the device list shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceRevocation {
    pub at: Millis,
    pub by: UserId,
    pub by_name: String,
    pub reason: String,
    /// When the device handed over its last changes and was told to erase its data; absent
    /// while it has not been heard from (its hand-over stays open for a bounded time).
    pub handed_over_at: Option<Millis>,
}

/// `POST /v1/devices/{id}/revoke`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RevokeRequest {
    pub reason: String,
}

/// The answer to `POST /v1/users/{id}/sign-out-everywhere`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignedOutEverywhere {
    /// Sign-ins (tokens) ended.
    pub ended: u32,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_revoke_notice_travels_in_a_header_and_back() {
        let notice = RevokeNotice {
            revoked_at: 1_764_590_000_000,
            revoked_by: "Søren Ø. Æbelø".into(),
            reason: "Tabt i bussen; 100% sikker\r\nX-Evil: 1".into(),
        };
        let value = notice.to_header();
        assert!(value.is_ascii(), "{value}");
        assert!(!value.contains('\n') && !value.contains('\r'), "{value}");
        assert!(axum_free_header_check(&value), "{value}");
        assert_eq!(RevokeNotice::from_header(&value), Some(notice));
        for bad in ["", "%", "%zz", "not json", "%7B"] {
            assert_eq!(RevokeNotice::from_header(bad), None, "{bad}");
        }
    }

    /// What `http::HeaderValue` accepts: visible ASCII and spaces (shared has no http crate).
    fn axum_free_header_check(v: &str) -> bool {
        v.bytes()
            .all(|b| b == b' ' || b == b'\t' || (0x21..0x7f).contains(&b))
    }

    #[test]
    fn an_older_apps_sign_in_has_no_device_and_still_reads() {
        let old = r#"{"username":"a","password":"b","actor_id":"00"}"#;
        let req: LoginRequest = serde_json::from_str(old).unwrap();
        assert_eq!((req.device_id, req.app_version.as_deref()), (None, None));
        let json = serde_json::to_string(&req).unwrap();
        assert!(!json.contains("device_id"), "{json}");
    }
}

/// `GET`/`PUT /v1/retention`: the municipality's retention, years per kind of record (issue
/// #14 item 5; `PUT` answers 400 `invalid` below the legal minimum or above 30 years).
pub use crate::retention::RetentionSettings;

/// Why an admin erases a citizen: coded, and recorded in the audit log as the entry's action
/// (free text could carry what was erased).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErasureReason {
    /// The citizen asked (GDPR art. 17). Refused (409 `within_retention`) while any record of
    /// theirs is within the legal minimum: a health professional's record is kept 5 years after
    /// its last entry, and the right to erasure yields to that duty (art. 17(3)(b)).
    CitizenRequest,
    /// Recorded in error: the wrong person, or a duplicate.
    RecordedInError,
    /// Ordered by an authority (a court, the Data Protection Agency).
    Order,
}

/// `POST /v1/citizens/{id}/erase` (admins of the citizen's municipality; 404 for another
/// municipality's or an unknown citizen, 403 without the right).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EraseCitizenRequest {
    pub reason: ErasureReason,
    /// Erase even while a course is planned, active or paused (409 `course_active` without
    /// it). Never overrides the legal minimum for a citizen's request.
    #[serde(default)]
    pub force: bool,
}

/// The answer to `POST /v1/citizens/{id}/erase`: what was erased, by id.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErasureReceipt {
    pub citizen_id: crate::ids::CitizenId,
    /// Courses and session logs deleted (their ids are never used again).
    pub deleted_documents: Vec<crate::ids::DocumentId>,
    /// Rosters rewritten without the citizen, as a new generation.
    pub rewritten_documents: Vec<crate::ids::DocumentId>,
    pub erased_at: Millis,
}

/// `GET /v1/retention/due[?today=YYYY-MM-DD]`: what the retention job would erase in the
/// asker's municipality, counts and ids, no names.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RetentionDue {
    /// The day judged (ISO date).
    pub today: String,
    pub settings: RetentionSettings,
    /// Courses (with their session logs) to delete.
    pub courses: u32,
    /// Referrals that led to no course, to remove from the roster.
    pub referrals: u32,
    /// Replaced care grants to remove from the roster.
    pub care_grants: u32,
    /// Citizens to remove from the roster with everything of theirs.
    pub citizens: u32,
    pub erasures: Vec<crate::retention::Erasure>,
}
