//! The municipality's effect settings over the local API's router (no sockets): the shipped
//! settings until the library's editor sets its own; invalid input refused with nothing
//! stored; then the effect summary judges with the municipality's meaningful change (and says
//! so), care-time follow-ups move to its offsets, and screenings ask its criteria while an
//! older screening still names a retired one.

mod common;
use common::{create_course_with_one_line, router, LocalApi, OFFLINE};

use axum::http::StatusCode;
use homerehab_app_api as api;
use homerehab_core::store::{now_ms, Identity, Store};
use homerehab_shared::effect::change::Sex;
use homerehab_shared::effect::iso;
use homerehab_shared::ids::*;
use homerehab_shared::model::*;
use homerehab_shared::schedule::date_of;

const DAY_MS: i64 = 86_400_000;

fn day(days_ago: i64) -> String {
    iso(date_of(now_ms() - days_ago * DAY_MS))
}

/// A store signed in as `role` of a municipality (the settings live in its library).
fn store(
    dir: &std::path::Path,
    role: Role,
    municipality: MunicipalityId,
) -> (Store, UserId, TeamId) {
    let store = Store::open(dir).unwrap();
    let (me, team) = (UserId::new(), TeamId::new());
    store
        .set_identity(&Identity {
            user_id: me,
            username: "bruger".into(),
            display_name: "Mette Sørensen".into(),
            role,
            team_id: team,
            server_url: OFFLINE.into(),
            token: "t".into(),
            expires_at: now_ms() + 3_600_000,
            municipality_id: Some(municipality),
            granted_teams: vec![],
        })
        .unwrap();
    (store, me, team)
}

/// A therapist's device with Karen's 12-week course that began 200 days ago: chair stand
/// 8 → 11 (+3: improved by the shipped 2.5), 420 → 330 min/week of home care.
fn therapist(municipality: MunicipalityId) -> (LocalApi, CourseId, CitizenId, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let (mut store, me, team) = store(dir.path(), Role::Therapist, municipality);
    let citizen = Citizen {
        id: CitizenId::new(),
        name: "Karen Jensen".into(),
        local_ref: "TK-1".into(),
        address: None,
        assigned: [(me.to_string(), true)].into(),
        active: true,
        birth_year: Some(1948),
        sex: Some(Sex::Female),
    };
    store.put_citizen(&citizen).unwrap();
    let course = Course {
        status: CourseStatus::Active,
        ..Course::new(citizen.id, team, me, &day(200), now_ms())
    };
    create_course_with_one_line(&mut store, &course);
    for (phase, days_ago, value) in [
        (AssessmentPhase::Start, 198, 8.0),
        (AssessmentPhase::End, 120, 11.0),
    ] {
        let a = Assessment {
            id: AssessmentId::new(),
            kind: "chair_stand_30s".into(),
            value,
            unit: "reps".into(),
            date: day(days_ago),
            phase,
            by: me,
            note: None,
            place: None,
        };
        store.add_assessment(course.id, &a).unwrap();
    }
    std::fs::create_dir(dir.path().join("dist")).unwrap();
    (
        router(store, dir.path(), OFFLINE),
        course.id,
        citizen.id,
        dir,
    )
}

const ALL_SHIPPED_CRITERIA: [&str; 6] = [
    "follows_instructions",
    "rises_from_chair",
    "wants_to_train",
    "no_contraindication",
    "home_allows_training",
    "expected_to_benefit",
];

fn answers(keys: &[&str]) -> String {
    let a: Vec<String> = keys
        .iter()
        .map(|k| format!(r#"{{"key":"{k}","met":true}}"#))
        .collect();
    format!(
        r#"{{"criteria":[{}],"outcome":"included","reason":null,"note":null}}"#,
        a.join(",")
    )
}

#[tokio::test]
async fn the_municipality_s_settings_drive_summary_follow_ups_and_screening() {
    let municipality = MunicipalityId::new();
    let (d, c, citizen, _dir) = therapist(municipality);

    // Shipped settings first.
    let shipped: api::EffectSettingsView = d.ok("GET", "/api/effect-settings", None).await;
    let chair = shipped
        .changes
        .iter()
        .find(|c| c.test == "chair_stand_30s")
        .unwrap();
    assert_eq!((chair.shipped_value, chair.value), (Some(2.5), None));
    let berg = shipped
        .changes
        .iter()
        .find(|c| c.test == "berg_balance")
        .unwrap();
    assert_eq!(berg.shipped_value, None, "listed, with no shipped value");
    assert_eq!(chair.label_da, "30 sekunders rejse-sætte-sig");
    assert_eq!(shipped.follow_up_offsets, [77, 365]);
    assert_eq!(shipped.criteria.len(), 6);
    assert!(shipped.criteria.iter().all(|c| c.shipped && !c.retired));
    let s: api::EffectSummary = d.ok("GET", &format!("/api/courses/{c}/effect"), None).await;
    assert_eq!(s.tests[0].judgement.as_deref(), Some("improved"));

    // A referral screened now, with the shipped checklist (all six criteria).
    let referral: api::ReferralView = d
        .ok(
            "POST",
            &format!("/api/citizens/{citizen}/referrals"),
            Some(r#"{"referred_on":"2026-11-02","note":null}"#),
        )
        .await;
    let screen = format!("/api/referrals/{}/screening", referral.referral_id);
    let _: api::ReferralView = d
        .ok("POST", &screen, Some(&answers(&ALL_SHIPPED_CRITERIA)))
        .await;

    // Invalid settings: refused, and nothing is stored (not even the library document).
    let settings = |changes: &str, offsets: &str, criteria: &str| {
        format!(
            r#"{{"changes":{changes},"follow_up_offsets":{offsets},"criteria":{criteria},"reasons":[],"default_test_plan":null}}"#
        )
    };
    let retire_all = format!(
        "[{}]",
        ALL_SHIPPED_CRITERIA
            .iter()
            .map(|k| format!(r#"{{"key":"{k}","da":"x","en":"x","retired":true}}"#))
            .collect::<Vec<_>>()
            .join(",")
    );
    for (bad, says) in [
        (
            settings(
                r#"[{"test":"chair_stand_30s","value":0,"source":"x"}]"#,
                "[]",
                "[]",
            ),
            "positive",
        ),
        (
            settings(
                r#"[{"test":"chair_stand_30s","value":-2,"source":"x"}]"#,
                "[]",
                "[]",
            ),
            "positive",
        ),
        (
            settings(r#"[{"test":"eq5d","value":0.1,"source":"x"}]"#, "[]", "[]"),
            "eq5d",
        ),
        (
            settings(r#"[{"test":"who5","value":8,"source":" "}]"#, "[]", "[]"),
            "characters",
        ),
        (settings("[]", "[365,77]", "[]"), "increasing"),
        (settings("[]", "[0]", "[]"), "1–1095"),
        (settings("[]", "[30,77,180,365,730]", "[]"), "1–4"),
        (settings("[]", "[]", &retire_all), "at least one"),
        (
            settings(
                "[]",
                "[]",
                r#"[{"key":"Ikke OK","da":"x","en":"x","retired":false}]"#,
            ),
            "a–z",
        ),
        (
            settings(
                "[]",
                "[]",
                r#"[{"key":"","da":"","en":"","retired":false}]"#,
            ),
            "characters",
        ),
    ] {
        let (status, e) = d.err("POST", "/api/effect-settings", Some(&bad)).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
        assert!(e.message.contains(says), "{bad}: {}", e.message);
    }
    assert!(d.store.lock().unwrap().library_doc().unwrap().is_none());
    let still: api::EffectSettingsView = d.ok("GET", "/api/effect-settings", None).await;
    assert_eq!(still, shipped);

    // The municipality's own: chair stand 4 stands, follow-ups at 30 and 77 days, a criterion
    // retired and one added, a reason renamed, a default test plan.
    let mut criteria: Vec<String> = ALL_SHIPPED_CRITERIA
        .iter()
        .map(|k| {
            let retired = *k == "home_allows_training";
            let da = if retired {
                "Hjemmet giver plads (udgået)"
            } else {
                k
            };
            format!(r#"{{"key":"{k}","da":"{da}","en":"{k}","retired":{retired}}}"#)
        })
        .collect();
    criteria.push(r#"{"key":"","da":"Kan gå 10 meter","en":"","retired":false}"#.into());
    let body = format!(
        r#"{{"changes":[{{"test":"chair_stand_30s","value":4,"source":"Aarhus Kommune 2026"}}],
            "follow_up_offsets":[30,77],
            "criteria":[{}],
            "reasons":[{{"key":"declined","da":"Borgeren siger nej tak","en":"Says no thanks","retired":false}}],
            "default_test_plan":{{"start":["timed_up_and_go"],"mid":[],"end":["timed_up_and_go"]}}}}"#,
        criteria.join(",")
    );
    let set: api::EffectSettingsView = d.ok("POST", "/api/effect-settings", Some(&body)).await;
    let chair = set
        .changes
        .iter()
        .find(|c| c.test == "chair_stand_30s")
        .unwrap();
    assert_eq!(
        (chair.value, chair.source.as_deref()),
        (Some(4.0), Some("Aarhus Kommune 2026"))
    );
    assert_eq!(
        chair.shipped_value,
        Some(2.5),
        "the shipped value is still shown beside it"
    );
    assert_eq!(set.follow_up_offsets, [30, 77]);
    assert_eq!(set.criteria.len(), 7);
    let added = &set.criteria[6];
    assert!(!added.shipped && added.key.starts_with("kan_"), "{added:?}");
    assert_eq!(
        added.en, "Kan gå 10 meter",
        "Danish stands in for a missing English text"
    );
    assert_eq!(set.reasons[0].da, "Borgeren siger nej tak");
    assert_eq!(set.reasons.len(), 7, "reasons left out are kept");
    assert_eq!(
        set.default_test_plan.as_ref().map(|p| p.start.clone()),
        Some(vec!["timed_up_and_go".to_string()])
    );
    let read: api::EffectSettingsView = d.ok("GET", "/api/effect-settings", None).await;
    assert_eq!(read, set);
    // The same edit sent again (its answer was lost): the added criterion is not added twice.
    let again: api::EffectSettingsView = d.ok("POST", "/api/effect-settings", Some(&body)).await;
    assert_eq!(again.criteria.len(), 7);
    assert_eq!(again.criteria[6].key, added.key);
    // A new course without a template starts with the municipality's default plan; a
    // template's own plan still comes first.
    let plan: api::TestPlanView = d.ok("GET", "/api/test-plan/default", None).await;
    assert_eq!(
        (plan.start.as_slice(), plan.end.as_slice()),
        (
            ["timed_up_and_go".to_string()].as_slice(),
            ["timed_up_and_go".to_string()].as_slice()
        )
    );
    let templates: Vec<api::TemplateView> = d.ok("GET", "/api/templates?lang=da", None).await;
    assert!(templates
        .iter()
        .any(|t| t.test_plan.start.contains(&"chair_stand_30s".to_string())));
    assert!(templates
        .iter()
        .any(|t| t.test_plan.start == ["timed_up_and_go"]));

    // The summary judges +3 against the municipality's 4: maintained, and says whose value.
    let s: api::EffectSummary = d.ok("GET", &format!("/api/courses/{c}/effect"), None).await;
    let chair = &s.tests[0];
    assert_eq!(chair.judgement.as_deref(), Some("maintained"));
    assert_eq!(chair.meaningful_change, Some(4.0));
    assert_eq!(
        chair.meaningful_change_source.as_deref(),
        Some("Kommunens værdi: Aarhus Kommune 2026")
    );
    let offsets: Vec<u32> = s.care_follow_ups.iter().map(|f| f.offset_days).collect();
    assert_eq!(offsets, [30, 77]);
    let worklist: Vec<api::CareFollowUpDue> = d.ok("GET", "/api/care-time/follow-ups", None).await;
    let mut offsets: Vec<u32> = worklist.iter().map(|f| f.offset_days).collect();
    offsets.sort();
    assert_eq!(offsets, [30, 77]);

    // New screenings ask the municipality's checklist: the retired criterion is not asked.
    let setup: api::ScreeningSetup = d.ok("GET", "/api/screening-setup?lang=da", None).await;
    let keys: Vec<&str> = setup.criteria.iter().map(|c| c.key.as_str()).collect();
    assert!(!keys.contains(&"home_allows_training"));
    assert_eq!(setup.criteria.last().unwrap().text, "Kan gå 10 meter");
    assert_eq!(setup.reasons[0].text, "Borgeren siger nej tak");
    let second: api::ReferralView = d
        .ok(
            "POST",
            &format!("/api/citizens/{citizen}/referrals"),
            Some(r#"{"referred_on":"2026-11-20","note":null}"#),
        )
        .await;
    let screen2 = format!("/api/referrals/{}/screening", second.referral_id);
    let (status, _) = d
        .err("POST", &screen2, Some(&answers(&ALL_SHIPPED_CRITERIA)))
        .await;
    assert_eq!(
        status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "a retired criterion is not asked"
    );
    let _: api::ReferralView = d.ok("POST", &screen2, Some(&answers(&keys))).await;

    // The first screening still names the retired criterion, with its text.
    let list: Vec<api::ReferralView> = d.ok("GET", "/api/referrals?lang=da", None).await;
    let first = list
        .iter()
        .find(|r| r.referral_id == referral.referral_id)
        .unwrap();
    let home = first
        .criteria
        .iter()
        .find(|c| c.key == "home_allows_training")
        .unwrap();
    assert_eq!(home.text, "Hjemmet giver plads (udgået)");

    // Back to the shipped value and offsets: an empty record (criteria keep their state).
    let reset: api::EffectSettingsView = d
        .ok(
            "POST",
            "/api/effect-settings",
            Some(&settings("[]", "[]", "[]")),
        )
        .await;
    assert_eq!(reset.follow_up_offsets, [77, 365]);
    assert!(reset.changes.iter().all(|c| c.value.is_none()));
    assert_eq!(reset.criteria.len(), 7);
    let s: api::EffectSummary = d.ok("GET", &format!("/api/courses/{c}/effect"), None).await;
    assert_eq!(s.tests[0].judgement.as_deref(), Some("improved"));
}

#[tokio::test]
async fn a_leader_reads_the_settings_but_only_the_library_s_editors_set_them() {
    let dir = tempfile::tempdir().unwrap();
    let (store, _, _) = store(dir.path(), Role::Leader, MunicipalityId::new());
    std::fs::create_dir(dir.path().join("dist")).unwrap();
    let leader = router(store, dir.path(), OFFLINE);
    let read: api::EffectSettingsView = leader.ok("GET", "/api/effect-settings", None).await;
    assert_eq!(read.follow_up_offsets, [77, 365]);
    let (status, _) = leader
        .err(
            "POST",
            "/api/effect-settings",
            Some(r#"{"changes":[],"follow_up_offsets":[30],"criteria":[],"reasons":[],"default_test_plan":null}"#),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}
