//! #14 item 5: the municipality's retention and a citizen's erasure, for its administrator.
//! The server decides (the legal minimum, running courses, who may); these carry its answers.

use serde::{Deserialize, Serialize};

/// Years each kind of record is kept, as the municipality set them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RetentionYears {
    /// A course and its session log, after the course ended (its last entry).
    pub course_years: u32,
    /// A referral that led to no course, after its screening.
    pub referral_years: u32,
    /// A home-care grant, after a later grant of the same service replaced it.
    pub care_grant_years: u32,
}

/// The settings with the range the law and the server allow, per kind.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RetentionView {
    pub years: RetentionYears,
    pub minimum: RetentionYears,
    pub maximum_years: u32,
}

/// What the retention job would erase today in the municipality: counts, and one line per
/// record (the citizen's name only where this device holds the roster).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RetentionDueView {
    /// The day judged, `dd-mm-åååå`.
    pub today: String,
    pub courses: u32,
    pub referrals: u32,
    pub care_grants: u32,
    pub citizens: u32,
    pub lines: Vec<RetentionDueLine>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RetentionDueLine {
    /// `course`, `referral`, `care_grant` or `citizen`.
    pub kind: String,
    pub citizen_id: String,
    /// From this device's roster; empty when it does not hold the citizen.
    pub citizen_name: String,
}

/// Why a citizen is erased: `citizen_request` (GDPR art. 17, only past the legal minimum),
/// `recorded_in_error` (the wrong person, a duplicate) or `order` (a court, the Data
/// Protection Agency).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EraseCitizenBody {
    pub reason: String,
    /// Erase although a course is still planned, active or paused.
    #[serde(default)]
    pub force: bool,
}

/// What the server erased.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErasureReceiptView {
    pub citizen_id: String,
    /// Courses and session logs deleted.
    pub deleted_documents: u32,
    /// Team rosters rewritten without the citizen.
    pub rewritten_documents: u32,
    /// Danish local time, `dd-mm-åååå tt:mm`.
    pub erased_at_text: String,
}
