//! Issue #11's referral and screening messages: a citizen referred before any course exists,
//! screened against the municipality's inclusion criteria, included (a course follows) or not
//! included with a reason; and the funnel that counts every referral.

use serde::{Deserialize, Serialize};

/// A criterion or a reason: its stable key and its text in the requested language.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LabelledView {
    pub key: String,
    pub text: String,
}

/// `GET /api/screening-setup?lang=da`: the checklist and the reasons for not including.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScreeningSetup {
    pub criteria: Vec<LabelledView>,
    pub reasons: Vec<LabelledView>,
}

/// `POST /api/citizens/{citizen}/referrals`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewReferral {
    /// ISO date.
    pub referred_on: String,
    pub note: Option<String>,
}

/// One criterion answered.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CriterionAnswer {
    pub key: String,
    pub met: bool,
    /// In a screening read back: the criterion's text (a retired one's too); ignored on input.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub text: String,
}

/// `POST /api/referrals/{referral}/screening`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScreeningRequest {
    pub criteria: Vec<CriterionAnswer>,
    /// `included` or `not_included`.
    pub outcome: String,
    /// A reason key from the setup; required when not included.
    pub reason: Option<String>,
    pub note: Option<String>,
}

/// A referral and where it stands.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReferralView {
    pub referral_id: String,
    pub citizen_id: String,
    pub citizen_name: String,
    /// ISO date.
    pub referred_on: String,
    pub referred_by_name: String,
    pub note: Option<String>,
    /// `awaiting_screening`, `included` or `not_included`.
    pub status: String,
    /// Empty before screening.
    pub criteria: Vec<CriterionAnswer>,
    /// The reason's key, when not included.
    pub reason: Option<String>,
    /// The reason in the requested language.
    pub reason_text: Option<String>,
    /// ISO date.
    pub screened_on: Option<String>,
    pub screened_by_name: Option<String>,
    /// The course created from it (`NewCourse::referral_id`).
    pub course_id: Option<String>,
}

/// `GET /api/referrals/funnel`: every referral counted, from referral to course end.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReferralFunnel {
    pub referred: u32,
    pub awaiting_screening: u32,
    pub included: u32,
    pub not_included: u32,
    /// (reason key, reason text, count), most frequent first.
    pub not_included_by_reason: Vec<(String, String, u32)>,
    pub courses_created: u32,
    pub courses_completed: u32,
    pub courses_ended_early: u32,
}
