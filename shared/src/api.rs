//! The JSON messages of the HTTP API besides sync (sign-in and errors), shared by the server
//! and the device so the two cannot drift apart. Frozen by the protocol: add fields only.

use crate::ids::{TeamId, UserId};
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
}

impl fmt::Debug for LoginRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LoginRequest")
            .field("username", &self.username)
            .field("password", &"[redacted]")
            .field("actor_id", &self.actor_id)
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
}

impl fmt::Debug for LoginResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LoginResponse")
            .field("token", &"[redacted]")
            .field("expires_at", &self.expires_at)
            .field("user", &self.user)
            .field("team", &self.team)
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
