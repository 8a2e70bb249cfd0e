//! Issue #11's test plan from a template and a test delegated to the assistant, end to end
//! through the real `sync-server` process: a therapist creates a course from a template (its
//! plan comes from the template), delegates the 30-s chair stand; the assistant's tablet, offline,
//! records it during a visit (and is refused a test not delegated and a value out of range);
//! after syncing, the server admitted it and the therapist sees who measured it and where.

mod common;
use common::{Device, SyncServer};

use axum::http::StatusCode;
use homerehab_app_api as api;
use homerehab_core::store::now_ms;

impl Device {
    async fn refused(&self, uri: &str, body: &serde_json::Value) -> (StatusCode, api::ApiError) {
        self.err("POST", uri, Some(&body.to_string())).await
    }
}

fn iso_days_ago(days: i64) -> String {
    homerehab_shared::effect::iso(homerehab_shared::schedule::date_of(
        now_ms() - days * 86_400_000,
    ))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_delegated_chair_stand_is_recorded_on_the_tablet_and_seen_by_the_therapist() {
    let server = SyncServer::start(&[("terapeut1", "therapist"), ("assistent1", "assistant")]);
    let laptop = server.device("terapeut1").await;
    let staff: Vec<api::StaffMember> = laptop.ok("GET", "/api/staff", None).await;
    let assistant = staff.iter().find(|s| s.role == "assistant").unwrap();

    // Templates show the plan a course from them gets: their own, else the shipped default.
    let templates: Vec<api::TemplateView> = laptop.ok("GET", "/api/templates", None).await;
    let hip = templates
        .iter()
        .find(|t| t.template_id == "after-hip-fracture")
        .unwrap();
    assert_eq!(
        hip.test_plan.start,
        ["chair_stand_30s", "timed_up_and_go", "who5"]
    );
    assert_eq!(hip.test_plan.mid, ["timed_up_and_go"]);
    let balance = templates
        .iter()
        .find(|t| t.template_id == "balance")
        .unwrap();
    assert_eq!(balance.test_plan.start, ["chair_stand_30s", "who5"]);

    let citizen: api::CitizenView = laptop
        .post(
            "/api/citizens",
            &serde_json::json!({"name": "Karen Jensen", "local_ref": "TK-7",
                "address": "Storegade 12", "assigned": [assistant.user_id]}),
        )
        .await;
    let new_course = |template: &str, plan: Option<serde_json::Value>| {
        serde_json::json!({
            "citizen_id": citizen.citizen_id, "template_id": template,
            "legal_basis": "Sundhedsloven §140", "start_date": iso_days_ago(2),
            "planned_weeks": 10, "sessions_per_week": 2, "minutes_per_session": 30,
            "goals": ["Rejse sig fra stol uden hjælp"], "test_plan": plan,
        })
    };
    // The plan as edited before creating: checked like any plan.
    let (code, e) = laptop
        .refused(
            "/api/courses",
            &new_course(
                "after-hip-fracture",
                Some(
                    serde_json::json!({"start": ["who5"], "mid": [], "end": ["who5"],
                    "delegated": ["who5"]}),
                ),
            ),
        )
        .await;
    assert_eq!(code, StatusCode::UNPROCESSABLE_ENTITY, "{e:?}");
    let created: api::CourseCreated = laptop
        .post("/api/courses", &new_course("after-hip-fracture", None))
        .await;
    let c = created.course_id;
    let detail: api::CourseDetail = laptop.ok("GET", &format!("/api/courses/{c}"), None).await;
    assert_eq!(detail.test_plan, hip.test_plan, "the template's plan");

    // The therapist delegates the chair stand.
    let mut plan = detail.test_plan.clone();
    plan.delegated = vec!["chair_stand_30s".into()];
    let saved: api::TestPlanView = laptop
        .post(
            &format!("/api/courses/{c}/test-plan"),
            &serde_json::to_value(&plan).unwrap(),
        )
        .await;
    assert_eq!(saved.delegated, ["chair_stand_30s"]);
    assert_eq!(laptop.sync().await.waiting, 0);

    // The tablet: the visit prompts for the WHO-5 and the delegated chair stand, not the TUG.
    let tablet = server.device("assistent1").await;
    let visits: Vec<api::Visit> = tablet.ok("GET", "/api/visits", None).await;
    let mut prompted: Vec<(&str, bool)> = visits[0]
        .tests_due
        .iter()
        .map(|d| (d.test.as_str(), d.delegated))
        .collect();
    prompted.sort();
    assert_eq!(prompted, [("chair_stand_30s", true), ("who5", false)]);
    let form: api::DelegatedTestForm = tablet
        .ok(
            "GET",
            &format!("/api/courses/{c}/delegated-tests/chair_stand_30s?lang=da"),
            None,
        )
        .await;
    assert_eq!(
        (
            form.phase.as_str(),
            form.unit.as_str(),
            form.min,
            form.max,
            form.whole
        ),
        ("start", "gange", 0.0, 60.0, true)
    );
    assert_eq!(form.citizen_name, "Karen Jensen");
    let (code, _) = tablet
        .err(
            "GET",
            &format!("/api/courses/{c}/delegated-tests/timed_up_and_go"),
            None,
        )
        .await;
    assert_eq!(code, StatusCode::FORBIDDEN);

    // Offline from here (the server is still there, the tablet just does not sync yet).
    let record = |test: &str, value: f64| serde_json::json!({"test": test, "phase": "start", "value": value, "place": "home"});
    let uri = format!("/api/courses/{c}/delegated-tests");
    // Not delegated: refused, clearly.
    let (code, e) = tablet.refused(&uri, &record("timed_up_and_go", 14.0)).await;
    assert_eq!(
        (code, e.kind),
        (StatusCode::FORBIDDEN, api::ErrorKind::Forbidden)
    );
    assert!(e.message.contains("not delegated"), "{}", e.message);
    // Outside the test's range, or half a stand.
    for bad in [61.0, -1.0, 8.5] {
        let (code, e) = tablet.refused(&uri, &record("chair_stand_30s", bad)).await;
        assert_eq!(code, StatusCode::UNPROCESSABLE_ENTITY, "{bad}: {e:?}");
    }
    // The phase is the one due now, not the request's: an end result now is refused.
    let mut stale = record("chair_stand_30s", 9.0);
    stale["phase"] = "end".into();
    let (code, e) = tablet.refused(&uri, &stale).await;
    assert_eq!(code, StatusCode::UNPROCESSABLE_ENTITY, "{e:?}");
    assert!(e.message.contains("is due now"), "{}", e.message);
    let recorded: api::AssessmentView = tablet.post(&uri, &record("chair_stand_30s", 9.0)).await;
    // A second tap does not record the start result twice.
    let (code, e) = tablet.refused(&uri, &record("chair_stand_30s", 9.0)).await;
    assert_eq!(code, StatusCode::UNPROCESSABLE_ENTITY, "{e:?}");
    assert_eq!(
        (
            recorded.value,
            recorded.phase.as_str(),
            recorded.place.as_deref()
        ),
        (9.0, "start", Some("home"))
    );
    assert_eq!(recorded.by_name, assistant.display_name);
    // Recorded: no longer prompted.
    let due: Vec<api::DueTestView> = tablet
        .ok("GET", &format!("/api/courses/{c}/due-tests"), None)
        .await;
    assert!(!due
        .iter()
        .any(|d| d.test == "chair_stand_30s" && d.phase == "start"));
    // The therapist's own operations stay the therapist's.
    let (code, _) = tablet
        .refused(
            &format!("/api/courses/{c}/assessments"),
            &serde_json::json!({"kind": "timed_up_and_go", "value": 14.0,
                "date": iso_days_ago(0), "phase": "start", "note": null}),
        )
        .await;
    assert_eq!(code, StatusCode::FORBIDDEN);

    // Synced: the server admits the assistant's result (nothing refused, nothing waiting).
    let status = tablet.sync().await;
    assert_eq!(status.waiting, 0, "{status:?}");
    assert!(status.refused.is_empty(), "{status:?}");
    laptop.sync().await;
    let history: api::CourseHistory = laptop
        .ok("GET", &format!("/api/courses/{c}/history"), None)
        .await;
    let chair_stands: Vec<_> = history
        .assessments
        .iter()
        .filter(|a| a.kind == "chair_stand_30s")
        .collect();
    assert_eq!(chair_stands.len(), 1, "{chair_stands:?}");
    let a = chair_stands[0];
    assert_eq!(
        (a.value, a.by_name.as_str(), a.place.as_deref()),
        (9.0, assistant.display_name.as_str(), Some("home"))
    );
    // The therapist's own results say where too; a place that is not one is refused.
    let assess = |place: &str| {
        serde_json::json!({"kind": "timed_up_and_go", "value": 14.5, "date": iso_days_ago(0),
            "phase": "start", "note": null, "place": place})
    };
    let uri = format!("/api/courses/{c}/assessments");
    let (code, _) = laptop.refused(&uri, &assess("garage")).await;
    assert_eq!(code, StatusCode::UNPROCESSABLE_ENTITY);
    let tug: api::AssessmentView = laptop.post(&uri, &assess("clinic")).await;
    assert_eq!(tug.place.as_deref(), Some("clinic"));
    let summary: api::EffectSummary = laptop
        .ok("GET", &format!("/api/courses/{c}/effect"), None)
        .await;
    let chair = summary
        .tests
        .iter()
        .find(|t| t.test == "chair_stand_30s")
        .unwrap();
    assert_eq!(chair.start, Some(9.0));
    assert_eq!(
        (chair.start_by.as_deref(), chair.start_place.as_deref()),
        (Some(assistant.display_name.as_str()), Some("home"))
    );
    let tug = summary
        .tests
        .iter()
        .find(|t| t.test == "timed_up_and_go")
        .unwrap();
    assert_eq!(tug.start_place.as_deref(), Some("clinic"));
}
