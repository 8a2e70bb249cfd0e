//! Issue #11's referral, screening and care-time calls: typed calls of the operations declared
//! in `homerehab_app_api`'s table, with the signatures the intake pages use.

use crate::api::call;
use homerehab_app_api::{
    op, ApiError, CitizenView, CourseCreated, LangQuery, NewCitizen, NewCourse, NoQuery,
};
pub use homerehab_app_api::{
    CareFollowUpDue, CareGrantView, CriterionAnswer, ImportProgress, NewReferral, ReferralFunnel,
    ReferralView, ScreeningRequest, ScreeningSetup,
};

const NO: NoQuery = NoQuery {};

pub async fn refer_citizen(citizen: &str, referral: NewReferral) -> Result<ReferralView, ApiError> {
    call::<op::refer_citizen::Op>(op::refer_citizen::Request {
        citizen: citizen.to_string(),
        query: NO,
        body: referral,
    })
    .await
}

pub async fn referrals(l: &str) -> Result<Vec<ReferralView>, ApiError> {
    call::<op::referrals::Op>(op::referrals::Request {
        query: LangQuery::of(l),
        body: (),
    })
    .await
}

pub async fn screening_setup(l: &str) -> Result<ScreeningSetup, ApiError> {
    call::<op::screening_setup::Op>(op::screening_setup::Request {
        query: LangQuery::of(l),
        body: (),
    })
    .await
}

pub async fn screen_referral(
    referral: &str,
    l: &str,
    request: ScreeningRequest,
) -> Result<ReferralView, ApiError> {
    call::<op::screen_referral::Op>(op::screen_referral::Request {
        referral: referral.to_string(),
        query: LangQuery::of(l),
        body: request,
    })
    .await
}

pub async fn referral_funnel(l: &str) -> Result<ReferralFunnel, ApiError> {
    call::<op::referral_funnel::Op>(op::referral_funnel::Request {
        query: LangQuery::of(l),
        body: (),
    })
    .await
}

pub async fn import_progress() -> Result<ImportProgress, ApiError> {
    call::<op::import_progress::Op>(op::import_progress::Request {
        query: NO,
        body: (),
    })
    .await
}

pub async fn care_follow_ups() -> Result<Vec<CareFollowUpDue>, ApiError> {
    call::<op::care_follow_ups::Op>(op::care_follow_ups::Request {
        query: NO,
        body: (),
    })
    .await
}

pub async fn care_grants(citizen: &str) -> Result<Vec<CareGrantView>, ApiError> {
    call::<op::care_grants::Op>(op::care_grants::Request {
        citizen: citizen.to_string(),
        query: NO,
        body: (),
    })
    .await
}

/// `create_citizen` with the optional `birth_year` and `sex` (`female`/`male`).
pub async fn create_citizen(
    citizen: NewCitizen,
    birth_year: Option<u16>,
    sex: Option<String>,
) -> Result<CitizenView, ApiError> {
    crate::api::create_citizen(NewCitizen {
        birth_year,
        sex,
        ..citizen
    })
    .await
}

/// `create_course` linked to the included referral it comes from, if any.
pub async fn create_course(
    course: NewCourse,
    referral_id: Option<String>,
) -> Result<CourseCreated, ApiError> {
    crate::api::create_course(NewCourse {
        referral_id,
        ..course
    })
    .await
}
