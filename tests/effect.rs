//! Issue #11's data through the real `sync-server`: two therapists rate different goals and
//! enter grants offline — each device creating the new maps on its own — and after syncing
//! both see everything; an assistant's WHO-5, answered per tap in a session, reaches the
//! therapist. Nothing is refused on the way.

use homerehab_core::store::now_ms;
use homerehab_scenarios::*;
use homerehab_shared::effect::goals::{Attainment, GoalFollowUp};
use homerehab_shared::effect::who5::Who5Score;
use homerehab_shared::ids::*;
use homerehab_shared::model::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn effect_data_made_offline_on_three_devices_merges_through_the_server() {
    let tmp = tempfile::tempdir().unwrap();
    let server = Server::start(&tmp.path().join("server"));
    server.create_team("Hjemmepleje Nord");
    server.create_user("terapeut1", "therapist", "Hjemmepleje Nord");
    server.create_user("terapeut2", "therapist", "Hjemmepleje Nord");
    server.create_user("assistent1", "assistant", "Hjemmepleje Nord");
    let laptop1 = Device::login(&tmp.path().join("l1"), &server, "terapeut1").await;
    let laptop2 = Device::login(&tmp.path().join("l2"), &server, "terapeut2").await;
    let tablet = Device::login(&tmp.path().join("t"), &server, "assistent1").await;

    let me = laptop1.me();
    let mut karen = citizen("Karen Jensen");
    karen.assigned.insert(tablet.me().user_id.to_string(), true);
    laptop1.store().put_citizen(&karen).unwrap();
    let course = Course {
        goals: vec!["Gå til købmanden".into(), "Gå på trapper".into()],
        status: CourseStatus::Active,
        ..Course::new(karen.id, me.team_id, me.user_id, "2026-03-02", now_ms())
    };
    laptop1
        .store()
        .create_course(&course, &[program_line("sit-to-stand", 1.0, 2)])
        .unwrap();
    laptop1.sync().await;
    laptop2.sync().await;
    tablet.sync().await;

    // Offline on both laptops: neither document has the new maps yet.
    let rate = |goal: &str, a: Attainment| GoalFollowUp {
        goal: goal.into(),
        attainment: Some(a),
        note: None,
    };
    let grant = |by: UserId, effective: &str, minutes: u32| CareGrantRecord {
        citizen_id: karen.id,
        effective: effective.into(),
        minutes_per_week: minutes,
        service_code: Some("1.1".into()),
        recorded_by: by,
        recorded_at: now_ms(),
    };
    laptop1
        .store()
        .set_goal_attainment(course.id, &rate("Gå til købmanden", Attainment::Achieved))
        .unwrap();
    laptop1
        .store()
        .put_care_grant(me.team_id, &grant(me.user_id, "2026-01-05", 420))
        .unwrap();
    let other = laptop2.me().user_id;
    laptop2
        .store()
        .set_goal_attainment(course.id, &rate("Gå på trapper", Attainment::NotAchieved))
        .unwrap();
    laptop2
        .store()
        .put_care_grant(me.team_id, &grant(other, "2026-07-01", 330))
        .unwrap();

    // The assistant's WHO-5, one tap at a time, in a session.
    let session = tablet.store().start_session(course.id).unwrap();
    tablet
        .store()
        .start_who5(
            course.id,
            session.id,
            AssessmentPhase::Start,
            MeasuredAt::Home,
        )
        .unwrap();
    for (item, answer) in [(0, 3), (1, 2), (2, 4), (3, 1), (4, 3)] {
        tablet
            .store()
            .record_who5_answer(course.id, session.id, item, answer)
            .unwrap();
    }

    for device in [&laptop1, &laptop2, &tablet, &laptop1, &laptop2] {
        device.sync().await;
    }
    for laptop in [&laptop1, &laptop2] {
        let doc = laptop.store().course_doc(course.id).unwrap();
        assert_eq!(doc.goal_attainment.len(), 2, "{:?}", doc.goal_attainment);
        let roster = laptop.store().roster(me.team_id).unwrap();
        let grants = roster.all_care_grants();
        assert_eq!(grants.len(), 2, "{grants:?}");
        // Projected from the synced roster into the table the summary reads.
        let projected = laptop.store().care_grants(me.team_id, None).unwrap();
        assert_eq!(projected.len(), 2, "{projected:?}");
    }
    let log = laptop1.store().session_log(course.id).unwrap();
    let who5 = log.sessions[&session.id.to_string()].who5.clone().unwrap();
    assert_eq!(
        who5.answers().score(),
        Who5Score::Complete {
            raw: 13,
            percent: 52
        }
    );
}

/// Issue #11's referral and screening through the real `sync-server`: a therapist refers and
/// screens offline on her laptop while her second device refers another citizen offline, each
/// creating the roster's referrals map on its own; after syncing, both devices hold both
/// referrals, the screening with its reason, and nothing is refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn referrals_made_offline_on_two_devices_both_arrive_with_their_screening() {
    use std::collections::BTreeMap;
    let tmp = tempfile::tempdir().unwrap();
    let server = Server::start(&tmp.path().join("server"));
    server.create_team("Hjemmepleje Nord");
    server.create_user("terapeut1", "therapist", "Hjemmepleje Nord");
    let laptop = Device::login(&tmp.path().join("l"), &server, "terapeut1").await;
    let other = Device::login(&tmp.path().join("o"), &server, "terapeut1").await;
    let me = laptop.me();
    let (karen, ole) = (citizen("Karen Jensen"), citizen("Ole Hansen"));
    laptop.store().put_citizen(&karen).unwrap();
    laptop.store().put_citizen(&ole).unwrap();
    laptop.sync().await;
    other.sync().await;

    let referral = |citizen: CitizenId| ReferralRecord {
        id: ReferralId::new(),
        citizen_id: citizen,
        referred_on: "2026-11-02".into(),
        referred_by: me.user_id,
        note: None,
        recorded_at: now_ms(),
        screening: None,
        course_id: None,
    };
    let karens = referral(karen.id);
    laptop.store().put_referral(me.team_id, &karens).unwrap();
    let declined = ScreeningRecord {
        criteria: BTreeMap::from([("wants_to_train".to_string(), false)]),
        not_included_reason: Some("declined".into()),
        note: None,
        screened_on: "2026-11-03".into(),
        screened_by: me.user_id,
    };
    laptop
        .store()
        .screen_referral(me.team_id, karens.id, &declined)
        .unwrap();
    let oles = referral(ole.id);
    other.store().put_referral(me.team_id, &oles).unwrap();

    for device in [&laptop, &other, &laptop] {
        let report = device.sync().await;
        assert!(report.rejected.is_empty(), "{:?}", report.rejected);
    }
    for device in [&laptop, &other] {
        let roster = device.store().roster(me.team_id).unwrap();
        assert_eq!(roster.referrals.len(), 2, "{:?}", roster.referrals.keys());
        let k = &roster.referrals[&karens.id.to_string()];
        assert_eq!(k.screening.as_ref(), Some(&declined));
        assert!(roster.referrals[&oles.id.to_string()].screening.is_none());
    }
}
