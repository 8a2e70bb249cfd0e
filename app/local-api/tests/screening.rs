//! Issue #11's referral and screening over the local API's router (no sockets): referrals on
//! the roster, a screening that ends in not included (with a reason) or included (a course is
//! created from it, linked), the funnel that counts every referral, and who may do what.

mod common;
use common::{router, signed_in, LocalApi, OFFLINE};

use axum::http::StatusCode;
use homerehab_app_api as api;
use homerehab_shared::model::Role;

fn device(role: Role) -> (LocalApi, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let (store, _, _) = signed_in(dir.path(), role, "bruger", "Mette Sørensen");
    std::fs::create_dir(dir.path().join("dist")).unwrap();
    (router(store, dir.path(), OFFLINE), dir)
}

async fn citizen(d: &LocalApi, name: &str, reference: &str) -> api::CitizenView {
    d.ok(
        "POST",
        "/api/citizens",
        Some(&format!(
            r#"{{"name":"{name}","local_ref":"{reference}","address":null,"assigned":[],"birth_year":1948,"sex":"female"}}"#
        )),
    )
    .await
}

fn all_criteria(met: bool) -> String {
    let keys = [
        "follows_instructions",
        "rises_from_chair",
        "wants_to_train",
        "no_contraindication",
        "home_allows_training",
        "expected_to_benefit",
    ];
    let answers: Vec<String> = keys
        .iter()
        .map(|k| format!(r#"{{"key":"{k}","met":{met}}}"#))
        .collect();
    format!("[{}]", answers.join(","))
}

#[tokio::test]
async fn referral_screening_course_and_funnel() {
    let (laptop, _dir) = device(Role::Therapist);
    let karen = citizen(&laptop, "Karen Jensen", "TK-1").await;
    assert_eq!(
        (karen.birth_year, karen.sex.as_deref()),
        (Some(1948), Some("female"))
    );
    let listed: Vec<api::CitizenView> = laptop.ok("GET", "/api/citizens", None).await;
    assert_eq!(listed[0].birth_year, Some(1948), "projected, and read back");
    let poul = citizen(&laptop, "Poul Nielsen", "TK-2").await;
    let (status, _) = laptop
        .err(
            "POST",
            "/api/citizens",
            Some(r#"{"name":"Ole","local_ref":"TK-3","address":null,"assigned":[],"birth_year":1850}"#),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);

    let refer = |c: &api::CitizenView| {
        (
            format!("/api/citizens/{}/referrals", c.citizen_id),
            r#"{"referred_on":"2026-11-02","note":"Faldet to gange"}"#,
        )
    };
    let (path, body) = refer(&karen);
    let karens: api::ReferralView = laptop.ok("POST", &path, Some(body)).await;
    assert_eq!(karens.status, "awaiting_screening");
    let (path, body) = refer(&poul);
    let pouls: api::ReferralView = laptop.ok("POST", &path, Some(body)).await;

    // Not included needs a known reason; then it is kept, with its reason.
    let screen = |r: &api::ReferralView| format!("/api/referrals/{}/screening", r.referral_id);
    let (status, _) = laptop
        .err(
            "POST",
            &screen(&pouls),
            Some(&format!(
                r#"{{"criteria":{},"outcome":"not_included","reason":null,"note":null}}"#,
                all_criteria(false)
            )),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let screened: api::ReferralView = laptop
        .ok(
            "POST",
            &screen(&pouls),
            Some(&format!(
                r#"{{"criteria":{},"outcome":"not_included","reason":"declined","note":null}}"#,
                all_criteria(false)
            )),
        )
        .await;
    assert_eq!(screened.status, "not_included");
    assert_eq!(
        screened.reason_text.as_deref(),
        Some("Ønsker ikke at træne")
    );
    assert_eq!(screened.criteria.len(), 6);
    // The same screening again (a retry whose answer was lost): answered as the first time.
    let again: api::ReferralView = laptop
        .ok(
            "POST",
            &screen(&pouls),
            Some(&format!(
                r#"{{"criteria":{},"outcome":"not_included","reason":"declined","note":null}}"#,
                all_criteria(false)
            )),
        )
        .await;
    assert_eq!(again, screened);
    // A screening is made once.
    let (status, body) = laptop
        .err(
            "POST",
            &screen(&pouls),
            Some(&format!(
                r#"{{"criteria":{},"outcome":"included","reason":null,"note":null}}"#,
                all_criteria(true)
            )),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");

    // A course from Karen's referral before it is screened: refused.
    let templates: Vec<api::TemplateView> = laptop.ok("GET", "/api/templates", None).await;
    let course = |referral: &str| {
        format!(
            r#"{{"citizen_id":"{}","template_id":"{}","legal_basis":"SEL §83a","start_date":"2026-11-09","planned_weeks":12,"sessions_per_week":3,"minutes_per_session":15,"goals":["Gå til købmanden"],"referral_id":"{referral}"}}"#,
            karen.citizen_id, templates[0].template_id
        )
    };
    let (status, _) = laptop
        .err("POST", "/api/courses", Some(&course(&karens.referral_id)))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let included: api::ReferralView = laptop
        .ok(
            "POST",
            &screen(&karens),
            Some(&format!(
                r#"{{"criteria":{},"outcome":"included","reason":null,"note":null}}"#,
                all_criteria(true)
            )),
        )
        .await;
    assert_eq!(included.status, "included");
    let created: api::CourseCreated = laptop
        .ok("POST", "/api/courses", Some(&course(&karens.referral_id)))
        .await;
    // Poul's referral cannot start Karen's course, and Karen's starts one course only.
    let (status, _) = laptop
        .err("POST", "/api/courses", Some(&course(&pouls.referral_id)))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (status, _) = laptop
        .err("POST", "/api/courses", Some(&course(&karens.referral_id)))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);

    let list: Vec<api::ReferralView> = laptop.ok("GET", "/api/referrals", None).await;
    let karens_now = list
        .iter()
        .find(|r| r.referral_id == karens.referral_id)
        .unwrap();
    assert_eq!(
        karens_now.course_id.as_deref(),
        Some(created.course_id.as_str())
    );

    let funnel: api::ReferralFunnel = laptop.ok("GET", "/api/referrals/funnel", None).await;
    assert_eq!(
        (
            funnel.referred,
            funnel.awaiting_screening,
            funnel.included,
            funnel.not_included
        ),
        (2, 0, 1, 1)
    );
    assert_eq!(funnel.courses_created, 1);
    assert_eq!(
        funnel.not_included_by_reason,
        [("declined".into(), "Ønsker ikke at træne".into(), 1)]
    );
    let en: api::ReferralFunnel = laptop
        .ok("GET", "/api/referrals/funnel?lang=en", None)
        .await;
    assert_eq!(en.not_included_by_reason[0].1, "Does not want to train");
}

#[tokio::test]
async fn an_assistant_neither_screens_nor_reads_referrals() {
    let (tablet, _dir) = device(Role::Assistant);
    let (status, _) = tablet.err("GET", "/api/referrals", None).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = tablet
        .err(
            "POST",
            &format!(
                "/api/referrals/{}/screening",
                homerehab_shared::ids::ReferralId::new()
            ),
            Some(r#"{"criteria":[],"outcome":"included","reason":null,"note":null}"#),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let setup: api::ScreeningSetup = {
        let (laptop, _d) = device(Role::Therapist);
        laptop.ok("GET", "/api/screening-setup", None).await
    };
    assert_eq!(setup.criteria.len(), 6);
    assert_eq!(setup.criteria[0].text, "Kan følge instruktioner");
}
