//! Issue #11's referral, screening and care-time calls, as /work/contract-11.md fixes them.
//!
//! The operations are being added to `homerehab_app_api`'s table in parallel (branches
//! `effect-screening` and `effect-caretime`); until this branch has them, their messages are
//! mirrored here field for field and called through [`api::call_contract`] over the same
//! transports. When the table has them, this module shrinks to `pub use` and typed calls.

use crate::api::call_contract;
use homerehab_app_api::{ApiError, CitizenView, CourseCreated, Method, NewCitizen, NewCourse};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LabelledView {
    pub key: String,
    pub text: String,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScreeningSetup {
    pub criteria: Vec<LabelledView>,
    pub reasons: Vec<LabelledView>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewReferral {
    pub referred_on: String,
    pub note: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CriterionAnswer {
    pub key: String,
    pub met: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScreeningRequest {
    pub criteria: Vec<CriterionAnswer>,
    /// `included` or `not_included`
    pub outcome: String,
    pub reason: Option<String>,
    pub note: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReferralView {
    pub referral_id: String,
    pub citizen_id: String,
    pub citizen_name: String,
    pub referred_on: String,
    pub referred_by_name: String,
    pub note: Option<String>,
    /// `awaiting_screening`, `included` or `not_included`
    pub status: String,
    #[serde(default)]
    pub criteria: Vec<CriterionAnswer>,
    pub reason: Option<String>,
    pub reason_text: Option<String>,
    pub screened_on: Option<String>,
    pub screened_by_name: Option<String>,
    pub course_id: Option<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReferralFunnel {
    pub referred: u32,
    pub awaiting_screening: u32,
    pub included: u32,
    pub not_included: u32,
    pub not_included_by_reason: Vec<(String, String, u32)>,
    pub courses_created: u32,
    pub courses_completed: u32,
    pub courses_ended_early: u32,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportProgress {
    pub running: bool,
    /// `reading`, `checking`, `saving` or `done`
    pub phase: String,
    pub lines_done: u64,
    pub lines_total: Option<u64>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CareFollowUpDue {
    pub course_id: String,
    pub citizen_id: String,
    pub citizen_name: String,
    pub local_ref: String,
    pub offset_days: u32,
    pub date: String,
    /// `upcoming`, `due` or `recorded`
    pub status: String,
    pub minutes_per_week: Option<u32>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CareGrantView {
    pub effective: String,
    pub minutes_per_week: u32,
    pub service_code: Option<String>,
    pub recorded_by_name: String,
    pub recorded_at: i64,
}

fn lang(lang: &str) -> Value {
    json!({ "lang": lang })
}

fn body<T: Serialize>(value: &T) -> Value {
    serde_json::to_value(value).unwrap_or(Value::Null)
}

pub async fn refer_citizen(citizen: &str, referral: NewReferral) -> Result<ReferralView, ApiError> {
    let params = vec![("citizen", citizen.to_string())];
    let b = body(&referral);
    call_contract(
        "refer_citizen",
        Method::Post,
        "/citizens/{citizen}/referrals",
        params,
        json!({}),
        b,
    )
    .await
}

pub async fn referrals(l: &str) -> Result<Vec<ReferralView>, ApiError> {
    call_contract(
        "referrals",
        Method::Get,
        "/referrals",
        vec![],
        lang(l),
        Value::Null,
    )
    .await
}

pub async fn screening_setup(l: &str) -> Result<ScreeningSetup, ApiError> {
    call_contract(
        "screening_setup",
        Method::Get,
        "/screening-setup",
        vec![],
        lang(l),
        Value::Null,
    )
    .await
}

pub async fn screen_referral(
    referral: &str,
    l: &str,
    request: ScreeningRequest,
) -> Result<ReferralView, ApiError> {
    let params = vec![("referral", referral.to_string())];
    let b = body(&request);
    call_contract(
        "screen_referral",
        Method::Post,
        "/referrals/{referral}/screening",
        params,
        lang(l),
        b,
    )
    .await
}

pub async fn referral_funnel(l: &str) -> Result<ReferralFunnel, ApiError> {
    call_contract(
        "referral_funnel",
        Method::Get,
        "/referrals/funnel",
        vec![],
        lang(l),
        Value::Null,
    )
    .await
}

pub async fn import_progress() -> Result<ImportProgress, ApiError> {
    call_contract(
        "import_progress",
        Method::Get,
        "/care-time/import/progress",
        vec![],
        json!({}),
        Value::Null,
    )
    .await
}

pub async fn care_follow_ups() -> Result<Vec<CareFollowUpDue>, ApiError> {
    call_contract(
        "care_follow_ups",
        Method::Get,
        "/care-time/follow-ups",
        vec![],
        json!({}),
        Value::Null,
    )
    .await
}

pub async fn care_grants(citizen: &str) -> Result<Vec<CareGrantView>, ApiError> {
    let params = vec![("citizen", citizen.to_string())];
    call_contract(
        "care_grants",
        Method::Get,
        "/citizens/{citizen}/care-grants",
        params,
        json!({}),
        Value::Null,
    )
    .await
}

/// `create_citizen` with the contract's optional `birth_year` and `sex` (`female`/`male`).
pub async fn create_citizen(
    citizen: NewCitizen,
    birth_year: Option<u16>,
    sex: Option<String>,
) -> Result<CitizenView, ApiError> {
    let mut b = body(&citizen);
    b["birth_year"] = json!(birth_year);
    b["sex"] = json!(sex);
    call_contract(
        "create_citizen",
        Method::Post,
        "/citizens",
        vec![],
        json!({}),
        b,
    )
    .await
}

/// `create_course` with the contract's `referral_id`: the course is linked to that referral.
pub async fn create_course(
    course: NewCourse,
    referral_id: Option<String>,
) -> Result<CourseCreated, ApiError> {
    let mut b = body(&course);
    b["referral_id"] = json!(referral_id);
    call_contract(
        "create_course",
        Method::Post,
        "/courses",
        vec![],
        json!({}),
        b,
    )
    .await
}
