//! Issue #11's operations over the local API's router (no sockets): a therapist's device sets
//! a test plan, rates goals, enters home-care grants and reads what is due and the course's
//! effect summary; an assistant's device records a WHO-5 one tap at a time.

mod common;
use common::{create_course_with_one_line, router, signed_in, LocalApi, OFFLINE};

use axum::http::StatusCode;
use homerehab_app_api as api;
use homerehab_core::store::now_ms;
use homerehab_shared::effect::change::Sex;
use homerehab_shared::effect::iso;
use homerehab_shared::ids::*;
use homerehab_shared::model::*;
use homerehab_shared::schedule::date_of;

const DAY_MS: i64 = 86_400_000;

struct Device {
    api: LocalApi,
    course: CourseId,
    citizen: CitizenId,
    _dir: tempfile::TempDir,
}

impl std::ops::Deref for Device {
    type Target = LocalApi;
    fn deref(&self) -> &LocalApi {
        &self.api
    }
}

impl Device {
    /// Records that the device's citizen's home care ended `days_ago`, where that must be
    /// refused: the status and message of the refusal.
    async fn care_ended_refused(&self, days_ago: i64) -> (StatusCode, String) {
        let (status, error) = self
            .err(
                "POST",
                &format!("/api/citizens/{}/care-ended", self.citizen),
                Some(&format!(r#"{{"date":"{}"}}"#, day(days_ago))),
            )
            .await;
        (status, error.message)
    }

    /// Sets a course's status through the API (a JSON body of `/api/courses/{id}/status`).
    async fn set_status(&self, course: CourseId, body: &str) {
        let _: api::Saved = self
            .ok("POST", &format!("/api/courses/{course}/status"), Some(body))
            .await;
    }

    /// The device's citizen dies during a course of theirs begun `days_ago`.
    async fn dies_during_a_course_begun(&self, days_ago: i64) {
        let course = Course {
            status: CourseStatus::Active,
            ..Course::new(
                self.citizen,
                self.team(),
                UserId::new(),
                &day(days_ago),
                now_ms(),
            )
        };
        create_course_with_one_line(&mut self.store.lock().unwrap(), &course);
        self.set_status(
            course.id,
            r#"{"status":"ended_early","reason":null,"end_reason":"died"}"#,
        )
        .await;
    }

    /// The device's course is not followed up because its citizen left, and the worklist asks
    /// of none of their courses.
    async fn assert_left_out(&self) {
        assert_eq!(
            self.care_follow_up_flags().await,
            [(false, true, true), (false, true, true)]
        );
        let list: Vec<api::CareFollowUpDue> =
            self.ok("GET", "/api/care-time/follow-ups", None).await;
        assert!(list.is_empty(), "{list:?}");
    }

    /// Each care-time follow-up of the device's course in its effect summary: whether it
    /// awaits grants, is not followed up, and whether because the citizen left.
    async fn care_follow_up_flags(&self) -> Vec<(bool, bool, bool)> {
        let s: api::EffectSummary = self
            .ok("GET", &format!("/api/courses/{}/effect", self.course), None)
            .await;
        s.care_follow_ups
            .iter()
            .map(|f| (f.awaiting_grants, f.not_followed_up, f.citizen_left))
            .collect()
    }

    fn team(&self) -> TeamId {
        self.store
            .lock()
            .unwrap()
            .identity()
            .unwrap()
            .unwrap()
            .team_id
    }

    /// One of the course's citizen's grants as an import 150 days ago held it.
    fn grant_recorded_150_days_ago(&self, effective: String, minutes: u32, code: Option<&str>) {
        let grant = CareGrantRecord {
            citizen_id: self.citizen,
            effective,
            minutes_per_week: minutes,
            service_code: code.map(Into::into),
            recorded_by: UserId::new(),
            recorded_at: now_ms() - 150 * DAY_MS,
        };
        let team = self.team();
        self.store
            .lock()
            .unwrap()
            .put_care_grant(team, &grant)
            .unwrap();
    }

    /// Another citizen on the roster, without a course.
    fn another_citizen(&self, name: &str, local_ref: &str, active: bool) -> Citizen {
        let citizen = Citizen {
            id: CitizenId::new(),
            name: name.into(),
            local_ref: local_ref.into(),
            address: None,
            assigned: Default::default(),
            active,
            birth_year: None,
            sex: None,
        };
        self.store.lock().unwrap().put_citizen(&citizen).unwrap();
        citizen
    }
}

fn day(days_ago: i64) -> String {
    iso(date_of(now_ms() - days_ago * DAY_MS))
}

/// A device signed in as `role`, with a woman born 1948 and her 12-week course that began
/// 200 days ago (so it ended 117 days ago: the 77-day follow-up has come, the year's has not).
fn device(role: Role) -> Device {
    let dir = tempfile::tempdir().unwrap();
    let (mut store, me, team) = signed_in(dir.path(), role, "bruger", "Mette Sørensen");
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
        goals: vec!["Gå til købmanden".into(), "Gå på trapper".into()],
        status: CourseStatus::Active,
        ..Course::new(citizen.id, team, me, &day(200), now_ms())
    };
    create_course_with_one_line(&mut store, &course);
    std::fs::create_dir(dir.path().join("dist")).unwrap();
    Device {
        api: router(store, dir.path(), OFFLINE),
        course: course.id,
        citizen: citizen.id,
        _dir: dir,
    }
}

fn result(kind: &str, phase: AssessmentPhase, days_ago: i64, value: f64) -> Assessment {
    Assessment {
        id: AssessmentId::new(),
        kind: kind.into(),
        value,
        unit: homerehab_shared::assessment::kind_of(kind)
            .unwrap()
            .unit
            .to_string(),
        date: day(days_ago),
        phase,
        by: UserId::new(),
        note: None,
        place: None,
    }
}

#[tokio::test]
async fn start_opens_the_visits_session_again_with_its_sets() {
    let d = device(Role::Assistant);
    let c = d.course;
    let detail: api::CourseDetail = d.ok("GET", &format!("/api/courses/{c}"), None).await;
    let line = detail.lines[0].line_id.clone();
    let first: api::StartedSession = d
        .ok("POST", &format!("/api/courses/{c}/sessions"), None)
        .await;
    assert!(first.sets_done.is_empty());
    let s = &first.session_id;
    let body = format!(r#"{{"line_id":"{line}","reps":10}}"#);
    let _: api::SetLogged = d
        .ok(
            "POST",
            &format!("/api/courses/{c}/sessions/{s}/sets"),
            Some(&body),
        )
        .await;
    // A second tap on "start", or the app restarted mid-visit: the same session, its set kept.
    let again: api::StartedSession = d
        .ok("POST", &format!("/api/courses/{c}/sessions"), None)
        .await;
    assert_eq!(&again.session_id, s);
    assert_eq!(again.sets_done.get(&line), Some(&1));
}

#[tokio::test]
async fn an_assistant_records_a_who5_one_tap_at_a_time() {
    let d = device(Role::Assistant);
    let c = d.course;
    let started: api::StartedSession = d
        .ok("POST", &format!("/api/courses/{c}/sessions"), None)
        .await;
    let s = started.session_id;
    let who5 = format!("/api/courses/{c}/sessions/{s}/who5");
    let answers = format!("{who5}/answers");
    // No WHO-5 begun in the session: a clear error, nothing stored.
    let (status, _) = d
        .err("POST", &answers, Some(r#"{"item":1,"answer":3}"#))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = d
        .err("POST", &who5, Some(r#"{"phase":"start","place":"garden"}"#))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    // The phase is one due now: the course plans no midway WHO-5.
    let (status, e) = d
        .err("POST", &who5, Some(r#"{"phase":"midway","place":"home"}"#))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{e:?}");
    let p: api::Who5Progress = d
        .ok("POST", &who5, Some(r#"{"phase":"start","place":"home"}"#))
        .await;
    assert_eq!(p.missing, [1, 2, 3, 4, 5]);
    let p: api::Who5Progress = d
        .ok("POST", &answers, Some(r#"{"item":2,"answer":4}"#))
        .await;
    assert_eq!((p.missing.clone(), p.percent), (vec![1, 3, 4, 5], None));
    // Resumed with another phase (a stale screen): the answers stay under the start phase.
    let p: api::Who5Progress = d
        .ok("POST", &who5, Some(r#"{"phase":"end","place":"clinic"}"#))
        .await;
    assert_eq!(p.missing, [1, 3, 4, 5]);
    assert_eq!(p.answers[1], Some(4));
    for bad in [
        r#"{"item":0,"answer":3}"#,
        r#"{"item":6,"answer":3}"#,
        r#"{"item":1,"answer":6}"#,
    ] {
        let (status, e) = d.err("POST", &answers, Some(bad)).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}: {e:?}");
    }
    let mut last = p;
    for (item, answer) in [(1, 3), (3, 2), (4, 1), (5, 3)] {
        let body = format!(r#"{{"item":{item},"answer":{answer}}}"#);
        last = d.ok("POST", &answers, Some(&body)).await;
    }
    assert_eq!((last.raw, last.percent), (Some(13), Some(52)));
    assert!(last.missing.is_empty());
    // Each answer is in the session log as the assistant's, at home.
    let log = d.store.lock().unwrap().session_log(c).unwrap();
    let w = log.sessions[&s].who5.clone().unwrap();
    assert_eq!(
        (w.place, w.phase),
        (MeasuredAt::Home, AssessmentPhase::Start)
    );
    assert_eq!(w.answers.len(), 5);
    // An assistant may not plan tests or rate goals.
    let (status, _) = d
        .err(
            "POST",
            &format!("/api/courses/{c}/test-plan"),
            Some(r#"{"start":["who5"],"mid":[],"end":["who5"]}"#),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    // Nor record that a citizen's home care ended: grants are the roster's.
    assert_eq!(d.care_ended_refused(50).await.0, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn a_therapist_plans_rates_enters_care_time_and_reads_the_effect_summary() {
    let d = device(Role::Therapist);
    let (c, citizen) = (d.course, d.citizen);

    // The default plan: chair stand and WHO-5 at start and end, all overdue by now.
    let due: Vec<api::DueTestView> = d
        .ok("GET", &format!("/api/courses/{c}/due-tests"), None)
        .await;
    assert_eq!(due.len(), 4, "{due:?}");
    assert!(due.iter().all(|t| t.status == "overdue"));
    let (status, _) = d
        .err(
            "POST",
            &format!("/api/courses/{c}/test-plan"),
            Some(r#"{"start":["eq5d"],"mid":[],"end":[]}"#),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let plan: api::TestPlanView = d
        .ok(
            "POST",
            &format!("/api/courses/{c}/test-plan"),
            Some(r#"{"start":["chair_stand_30s","who5","timed_up_and_go"],"mid":[],"end":["chair_stand_30s","who5","timed_up_and_go"]}"#),
        )
        .await;
    assert_eq!(plan.start.len(), 3);

    // Results: chair stand and TUG at start and end; WHO-5 answered in two sessions (written
    // straight to the store: on a real team the assistant's device does it and syncs).
    {
        let mut store = d.store.lock().unwrap();
        for a in [
            result("chair_stand_30s", AssessmentPhase::Start, 198, 8.0),
            result("chair_stand_30s", AssessmentPhase::End, 120, 12.0),
            result("timed_up_and_go", AssessmentPhase::Start, 198, 16.0),
        ] {
            store.add_assessment(c, &a).unwrap();
        }
        for (phase, answer) in [(AssessmentPhase::Start, 2), (AssessmentPhase::End, 3)] {
            let s = store.start_session(c).unwrap();
            store
                .start_who5(c, s.id, phase, MeasuredAt::Clinic)
                .unwrap();
            for item in 0..5 {
                store.record_who5_answer(c, s.id, item, answer).unwrap();
            }
        }
    }
    let due: Vec<api::DueTestView> = d
        .ok("GET", &format!("/api/courses/{c}/due-tests"), None)
        .await;
    let due: Vec<(&str, &str)> = due
        .iter()
        .map(|t| (t.test.as_str(), t.phase.as_str()))
        .collect();
    assert_eq!(due, [("timed_up_and_go", "end")]);

    // Goals: one rated, the other not; a goal the course does not have is refused.
    let _: api::Saved = d
        .ok(
            "POST",
            &format!("/api/courses/{c}/goals"),
            Some(
                r#"{"goal":"Gå på trapper","attainment":"partly_achieved","note":"med gelænder"}"#,
            ),
        )
        .await;
    for bad in [
        r#"{"goal":"Cykle","attainment":"achieved","note":null}"#,
        r#"{"goal":"Gå på trapper","attainment":"mostly","note":null}"#,
    ] {
        let (status, _) = d
            .err("POST", &format!("/api/courses/{c}/goals"), Some(bad))
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
    }

    // Home care: 420 min/week before the course, 330 after it; the same grant twice is one.
    let grants = format!("/api/citizens/{citizen}/care-grants");
    for (days_ago, minutes) in [(230, 420), (100, 330), (100, 330)] {
        let body = format!(
            r#"{{"effective":"{}","minutes_per_week":{minutes},"service_code":"1.1"}}"#,
            day(days_ago)
        );
        let _: api::Saved = d.ok("POST", &grants, Some(&body)).await;
    }
    let (status, _) = d
        .err(
            "POST",
            &grants,
            Some(r#"{"effective":"i går","minutes_per_week":10,"service_code":null}"#),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (status, _) = d
        .err(
            "POST",
            &format!("/api/citizens/{}/care-grants", CitizenId::new()),
            Some(r#"{"effective":"2026-01-01","minutes_per_week":10,"service_code":null}"#),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let team = d.store.lock().unwrap().identity().unwrap().unwrap().team_id;
    assert_eq!(
        d.store
            .lock()
            .unwrap()
            .roster(team)
            .unwrap()
            .all_care_grants()
            .len(),
        2
    );

    let s: api::EffectSummary = d.ok("GET", &format!("/api/courses/{c}/effect"), None).await;
    let tests: Vec<(&str, Option<&str>)> = s
        .tests
        .iter()
        .map(|t| (t.test.as_str(), t.judgement.as_deref()))
        .collect();
    assert_eq!(
        tests,
        [
            ("chair_stand_30s", Some("improved")),
            ("who5", Some("improved")),
            ("timed_up_and_go", Some("incomplete")),
        ]
    );
    assert_eq!((s.tests[1].start, s.tests[1].end), (Some(40.0), Some(60.0)));
    // Each judgement says which meaningful change it used, and where that comes from.
    let chair = &s.tests[0];
    assert_eq!(
        (
            chair.label.as_str(),
            chair.unit.as_str(),
            chair.meaningful_change
        ),
        ("30 sekunders rejse-sætte-sig", "gange", Some(2.5))
    );
    assert!(chair
        .meaningful_change_source
        .as_deref()
        .is_some_and(|s| s.contains("MDC")));
    assert_eq!(s.tests[1].unit, "point");
    let detail: api::CourseDetail = d.ok("GET", &format!("/api/courses/{c}"), None).await;
    assert!(detail.test_plan.end.contains(&"who5".to_string()));
    // 78 years old, mean 17 stands: 12 is below.
    assert_eq!(s.tests[0].norm_mean, Some(17.0));
    assert_eq!(s.tests[0].norm_position.as_deref(), Some("below"));
    assert_eq!(s.goals.len(), 2);
    assert_eq!(s.goals[0].attainment, None);
    assert_eq!(s.goals[1].attainment.as_deref(), Some("partly_achieved"));
    assert_eq!(s.care_baseline_minutes_per_week, Some(420));
    assert_eq!(s.care_follow_ups[0].offset_days, 77);
    assert_eq!(s.care_follow_ups[0].minutes_per_week, Some(330));
    assert_eq!(s.care_follow_ups[0].change_minutes, Some(-90));
    assert_eq!(
        s.care_follow_ups[1].minutes_per_week, None,
        "a year has not passed"
    );
    // Two sessions begun (for the WHO-5s), none finished; 12 weeks × 3 planned.
    assert_eq!((s.sessions_done, s.sessions_planned), (0, 36));
}

#[tokio::test]
async fn a_care_time_file_imports_once_and_reports_every_bad_line() {
    let d = device(Role::Therapist);
    let file = "\u{feff}Borgerreference;Virkningsdato;Minutter_pr_uge;Ydelseskode\n\
                TK-1;01-11-2025;420;1.1\n\
                TK-1;20-04-2026;330;1.1\n\
                TK-1;20-04-2026;330;1.1\n\
                Søren Ærø;01-01-2026;100;1.1\n\
                TK-1;31-02-2026;100;1.1\n";
    let body = |choice: &str| serde_json::json!({ "file": file, "choice": choice }).to_string();
    let grants = || {
        let mut store = d.store.lock().unwrap();
        let team = store.identity().unwrap().unwrap().team_id;
        // What the roster holds, and what the device's table (the summary's source) shows.
        let stored = store.roster(team).unwrap().all_care_grants().len();
        assert_eq!(store.care_grants(team, None).unwrap().len(), stored);
        stored
    };
    let url = "/api/care-time/import";
    // With bad lines, all-or-nothing stores nothing and says why, line by line.
    let r: api::ImportReport = d.ok("POST", url, Some(&body("all_or_nothing"))).await;
    assert!(!r.applied);
    assert_eq!(r.imported, 0);
    let bad: Vec<(u64, &str)> = r.bad.iter().map(|b| (b.line, b.problem.as_str())).collect();
    assert_eq!(bad, [(5, "unknown_citizen"), (6, "bad_date")]);
    assert_eq!(r.bad[0].detail.as_deref(), Some("Søren Ærø"));
    assert_eq!(grants(), 0);
    // The user chooses the good lines: two grants, the identical line once.
    let r: api::ImportReport = d.ok("POST", url, Some(&body("good_lines"))).await;
    assert!(r.applied);
    assert_eq!(r.imported, 2);
    assert_eq!(r.duplicates, [(4, 3)]);
    assert_eq!(r.bad.len(), 2);
    assert_eq!(grants(), 2);
    // The same file again adds no grant; it confirms the citizen's grants as of today (one
    // recorded again), so their care-time follow-ups can be known.
    let r: api::ImportReport = d.ok("POST", url, Some(&body("good_lines"))).await;
    assert!(r.applied);
    assert_eq!(r.imported, 0);
    assert_eq!(r.already_present, [2, 3]);
    assert_eq!(grants(), 2);
    let (status, _) = d.err("POST", url, Some(&body("some"))).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (status, _) = d
        .err("POST", url, Some(r#"{"file":"","choice":"good_lines"}"#))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    // A file of garbage: the first lines listed, every one counted.
    let mut garbage = String::from("Borgerreference;Virkningsdato;Minutter_pr_uge\n");
    for i in 0..2_500 {
        garbage.push_str(&format!("K-{i};not a date;60\n"));
    }
    let body = serde_json::json!({ "file": garbage, "choice": "good_lines" }).to_string();
    let r: api::ImportReport = d.ok("POST", url, Some(&body)).await;
    assert_eq!(r.bad_total, 2_500);
    assert_eq!(
        r.bad.len(),
        homerehab_shared::effect::import::MAX_LISTED_LINES
    );
    assert_eq!(
        (r.bad[0].line, r.bad[999].line),
        (2, 1_001),
        "the first, in order"
    );
}

/// A monthly export names only the citizens who receive home care. An import lists those
/// waiting for a follow-up whom it left out (not one a bad line names); a person records the
/// day their care ended, which ends every service, and the follow-up is known: 0 minutes.
#[tokio::test]
async fn an_import_asks_about_citizens_waiting_for_a_follow_up_and_not_in_the_file() {
    let d = device(Role::Therapist);
    let team = d.team();
    // TK-1's grants as an import 150 days ago held them: two services, 480 min a week.
    d.grant_recorded_150_days_ago(day(400), 420, Some("1.1"));
    d.grant_recorded_150_days_ago(day(300), 60, Some("2.2"));
    d.another_citizen("Ole Hansen", "TK-2", true);
    // TK-3 waits for the same follow-up but is no longer active (died, moved away): not in
    // any export, and no outcome of the course.
    let gone = d.another_citizen("Inger Flyttet", "TK-3", false).id;
    let course = Course {
        status: CourseStatus::Active,
        ..Course::new(gone, team, UserId::new(), &day(200), now_ms())
    };
    create_course_with_one_line(&mut d.store.lock().unwrap(), &course);
    let follow_ups: Vec<api::CareFollowUpDue> =
        d.ok("GET", "/api/care-time/follow-ups", None).await;
    let karen = d.citizen.to_string();
    let due = follow_ups
        .iter()
        .find(|f| f.offset_days == 77 && f.citizen_id == karen)
        .unwrap();
    assert_eq!(due.status, "due");
    let import =
        |file: &str| serde_json::json!({ "file": file, "choice": "good_lines" }).to_string();
    let url = "/api/care-time/import";
    // TK-2's export only: TK-1 is asked about, with what they had on the follow-up's day.
    let only_tk2 = import("Borgerreference;Virkningsdato;Minutter_pr_uge\nTK-2;01-01-2026;100\n");
    let r: api::ImportReport = d.ok("POST", url, Some(&only_tk2)).await;
    assert!(r.applied);
    let recorded = day(150);
    assert_eq!(r.not_in_file.len(), 1);
    let asked = &r.not_in_file[0];
    assert_eq!(
        (asked.local_ref.as_str(), asked.citizen_name.as_str()),
        ("TK-1", "Karen Jensen")
    );
    assert_eq!(asked.follow_up_date, due.date);
    assert_eq!(asked.minutes_per_week, Some(480));
    assert_eq!(asked.last_recorded.as_deref(), Some(recorded.as_str()));
    assert_eq!(asked.ended_since, None);
    // The days offered: from the day after that recording to the follow-up's day.
    assert_eq!(asked.first_end_day.as_deref(), Some(day(149).as_str()));
    assert_eq!(asked.last_end_day.as_deref(), Some(due.date.as_str()));
    // A line naming TK-1 that is bad (it contradicts a stored grant): reported, not asked.
    let bad_tk1 = import(&format!(
        "Borgerreference;Virkningsdato;Minutter_pr_uge;Ydelseskode\nTK-2;01-01-2026;100;\nTK-1;{};999;1.1\n",
        day(400)
    ));
    let r: api::ImportReport = d.ok("POST", url, Some(&bad_tk1)).await;
    assert_eq!(r.bad.len(), 1);
    assert!(r.not_in_file.is_empty(), "{:?}", r.not_in_file);

    let ended = format!("/api/citizens/{}/care-ended", d.citizen);
    let on = |date: &str| format!(r#"{{"date":"{date}"}}"#);
    let (status, _) = d.err("POST", &ended, Some(&on(&day(-1)))).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "a day to come");
    let (status, _) = d.err("POST", &ended, Some(&on("2026-02-30"))).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (status, _) = d
        .err(
            "POST",
            &format!("/api/citizens/{}/care-ended", CitizenId::new()),
            Some(&on(&day(50))),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = d
        .err(
            "POST",
            &format!("/api/citizens/{gone}/care-ended"),
            Some(&on(&day(50))),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "no longer active");
    // Not a day the last recording covers, nor one after the waiting follow-up: that day's
    // minutes would still be unknown, yet counted.
    for refused in [day(150), day(151), day(30), day(0)] {
        let (status, _) = d.err("POST", &ended, Some(&on(&refused))).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{refused}");
    }
    // Home care ended 50 days ago, before the follow-up's day: 0 minutes then, every service.
    let _: api::Saved = d.ok("POST", &ended, Some(&on(&day(50)))).await;
    let grants: Vec<(String, u32, Option<String>)> = {
        let store = d.store.lock().unwrap();
        let mut g: Vec<_> = store
            .care_grants(team, Some(d.citizen))
            .unwrap()
            .into_iter()
            .filter(|g| g.minutes_per_week == 0)
            .map(|g| (g.effective, g.minutes_per_week, g.service_code))
            .collect();
        g.sort();
        g
    };
    assert_eq!(
        grants,
        [
            (day(50), 0, Some("1.1".to_string())),
            (day(50), 0, Some("2.2".to_string()))
        ]
    );
    let follow_ups: Vec<api::CareFollowUpDue> =
        d.ok("GET", "/api/care-time/follow-ups", None).await;
    let known = follow_ups
        .iter()
        .find(|f| f.offset_days == 77 && f.citizen_id == karen)
        .unwrap();
    assert_eq!(
        (known.status.as_str(), known.minutes_per_week),
        ("recorded", Some(0))
    );
    let s: api::EffectSummary = d
        .ok("GET", &format!("/api/courses/{}/effect", d.course), None)
        .await;
    assert_eq!(s.care_follow_ups[0].change_minutes, Some(-480));
    // Asked no more.
    let r: api::ImportReport = d.ok("POST", url, Some(&only_tk2)).await;
    assert!(r.not_in_file.is_empty());
}

/// A citizen whose grants already say their home care ended (a year's follow-up after the one
/// that found it) is asked whether they are still without it; recording that day again says so,
/// though it lies before the last recording.
#[tokio::test]
async fn a_citizen_recorded_without_home_care_is_confirmed_still_without_it() {
    let d = device(Role::Therapist);
    d.grant_recorded_150_days_ago(day(400), 420, Some("1.1"));
    d.grant_recorded_150_days_ago(day(160), 0, Some("1.1"));
    let file = serde_json::json!({
        "file": "Borgerreference;Virkningsdato;Minutter_pr_uge\nTK-9;01-01-2026;100\n",
        "choice": "good_lines",
    })
    .to_string();
    // TK-9 is no one's: the file is bad, nothing stored, nothing asked.
    let r: api::ImportReport = d.ok("POST", "/api/care-time/import", Some(&file)).await;
    assert!(!r.applied && r.not_in_file.is_empty());
    d.another_citizen("Ole Hansen", "TK-9", true);
    let r: api::ImportReport = d.ok("POST", "/api/care-time/import", Some(&file)).await;
    let asked = &r.not_in_file[0];
    let ended_on = day(160);
    assert_eq!(
        (asked.minutes_per_week, asked.ended_since.as_deref()),
        (Some(0), Some(ended_on.as_str()))
    );
    let ended = format!("/api/citizens/{}/care-ended", d.citizen);
    // Another day before the last recording is still refused.
    let (status, _) = d
        .err(
            "POST",
            &ended,
            Some(&format!(r#"{{"date":"{}"}}"#, day(170))),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let _: api::Saved = d
        .ok("POST", &ended, Some(&format!(r#"{{"date":"{ended_on}"}}"#)))
        .await;
    let follow_ups: Vec<api::CareFollowUpDue> =
        d.ok("GET", "/api/care-time/follow-ups", None).await;
    let f = follow_ups.iter().find(|f| f.offset_days == 77).unwrap();
    assert_eq!(
        (f.status.as_str(), f.minutes_per_week),
        ("recorded", Some(0))
    );
}

/// A citizen whose course ended early because they died is not asked about, and their home
/// care is not recorded as ended: no outcome of a course.
#[tokio::test]
async fn a_citizen_who_died_is_not_counted_as_leaving_home_care() {
    let d = device(Role::Therapist);
    d.grant_recorded_150_days_ago(day(400), 420, None);
    d.another_citizen("Ole Hansen", "TK-9", true);
    let list: Vec<api::CareFollowUpDue> = d.ok("GET", "/api/care-time/follow-ups", None).await;
    assert_eq!(list.len(), 2, "77 days due, a year upcoming");
    d.set_status(
        d.course,
        r#"{"status":"ended_early","reason":null,"end_reason":"died"}"#,
    )
    .await;
    // No longer on the list of follow-ups to fetch grants for.
    let list: Vec<api::CareFollowUpDue> = d.ok("GET", "/api/care-time/follow-ups", None).await;
    assert!(list.is_empty(), "{list:?}");
    let file = serde_json::json!({
        "file": "Borgerreference;Virkningsdato;Minutter_pr_uge\nTK-9;01-01-2026;100\n",
        "choice": "good_lines",
    })
    .to_string();
    let r: api::ImportReport = d.ok("POST", "/api/care-time/import", Some(&file)).await;
    assert!(r.applied);
    assert!(r.not_in_file.is_empty(), "{:?}", r.not_in_file);
    // A course planned for next month has not begun: it is no return.
    let planned = Course::new(d.citizen, d.team(), UserId::new(), &day(-30), now_ms());
    assert_eq!(planned.status, CourseStatus::Planned);
    create_course_with_one_line(&mut d.store.lock().unwrap(), &planned);
    let (status, message) = d.care_ended_refused(50).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        message.contains("left home care for another reason"),
        "{message}"
    );
}

/// A citizen who moved and came back: the course begun after the one that ended with the move
/// is followed up as any other (its summary, the worklist, and the end of home care may be
/// recorded); a course completed before the move stays left out.
#[tokio::test]
async fn a_citizen_who_moved_and_came_back_is_followed_up_on_the_course_begun_since() {
    let d = device(Role::Therapist);
    d.grant_recorded_150_days_ago(day(400), 420, None);
    let course_begun = |days_ago: i64| Course {
        status: CourseStatus::Active,
        ..Course::new(d.citizen, d.team(), UserId::new(), &day(days_ago), now_ms())
    };
    // Completed a year and a half ago, then a course that ended because she moved away.
    let before_the_move = course_begun(500);
    let moved = course_begun(300);
    for c in [&before_the_move, &moved] {
        create_course_with_one_line(&mut d.store.lock().unwrap(), c);
    }
    d.set_status(
        before_the_move.id,
        r#"{"status":"completed","reason":null,"end_reason":null}"#,
    )
    .await;
    d.set_status(
        moved.id,
        r#"{"status":"ended_early","reason":null,"end_reason":"moved"}"#,
    )
    .await;
    // She came back: the device's course, begun 200 days ago, is completed.
    d.set_status(
        d.course,
        r#"{"status":"completed","reason":null,"end_reason":null}"#,
    )
    .await;
    assert_eq!(
        d.care_follow_up_flags().await,
        [(true, false, false), (false, false, false)]
    );
    let list: Vec<api::CareFollowUpDue> = d.ok("GET", "/api/care-time/follow-ups", None).await;
    assert!(!list.is_empty());
    assert!(
        list.iter().all(|f| f.course_id == d.course.to_string()),
        "only the course begun since the move: {list:?}"
    );
    let _: api::Saved = d
        .ok(
            "POST",
            &format!("/api/citizens/{}/care-ended", d.citizen),
            Some(&format!(r#"{{"date":"{}"}}"#, day(50))),
        )
        .await;
    // She died since, during a course begun 20 days ago: the last such course dates it, so the
    // course begun after the move is left out now too.
    d.dies_during_a_course_begun(20).await;
    d.assert_left_out().await;
}

/// A course completed before its citizen died (a later course of theirs ended early so) is not
/// followed up either: its summary says why instead of waiting for grants for ever, as the
/// worklist already leaves the citizen out.
#[tokio::test]
async fn a_completed_course_of_a_citizen_who_died_since_says_so_instead_of_waiting() {
    let d = device(Role::Therapist);
    d.set_status(
        d.course,
        r#"{"status":"completed","reason":null,"end_reason":null}"#,
    )
    .await;
    assert_eq!(
        d.care_follow_up_flags().await,
        [(true, false, false), (false, false, false)]
    );
    // A second course of the same citizen, begun since, ended because they died; the worklist
    // leaves the citizen out as well.
    d.dies_during_a_course_begun(20).await;
    d.assert_left_out().await;
}

#[tokio::test]
async fn visits_and_the_caseload_prompt_for_the_tests_that_are_due() {
    // The course began 200 days ago: its start and end weeks have passed without results.
    let tablet = device(Role::Assistant);
    let visits: Vec<api::Visit> = tablet.ok("GET", "/api/visits", None).await;
    let due: Vec<(String, String, String)> = visits[0]
        .tests_due
        .iter()
        .map(|d| (d.test.clone(), d.phase.clone(), d.status.clone()))
        .collect();
    // The assistant is prompted for what she measures: the WHO-5, not the chair stand.
    assert_eq!(
        due,
        [
            ("who5".into(), "start".into(), "overdue".into()),
            ("who5".into(), "end".into(), "overdue".into())
        ]
    );
    assert_eq!(visits[0].tests_due[0].label, "WHO-5 trivselsindeks");

    let laptop = device(Role::Therapist);
    let c = laptop.course;
    let rows: Vec<api::CaseloadRow> = laptop.ok("GET", "/api/caseload", None).await;
    assert_eq!(rows[0].tests_due.len(), 4, "{:?}", rows[0].tests_due);
    let _: api::AssessmentView = laptop
        .ok(
            "POST",
            &format!("/api/courses/{c}/assessments"),
            Some(&format!(
                r#"{{"kind":"chair_stand_30s","value":9,"date":"{}","phase":"start","note":null}}"#,
                day(199)
            )),
        )
        .await;
    let rows: Vec<api::CaseloadRow> = laptop.ok("GET", "/api/caseload", None).await;
    let left: Vec<&str> = rows[0].tests_due.iter().map(|d| d.test.as_str()).collect();
    assert_eq!(left, ["who5", "chair_stand_30s", "who5"]);

    // The WHO-5's wording comes from shared, in the language asked for.
    let da: api::Who5Questionnaire = tablet.ok("GET", "/api/who5?lang=da", None).await;
    assert_eq!(da.items.len(), 5);
    assert_eq!(da.answers.len(), 6);
    assert_eq!(da.answers[5], "Hele tiden");
    assert_eq!(da.lead, "I de sidste 2 uger …");
    let en: api::Who5Questionnaire = tablet.ok("GET", "/api/who5?lang=en", None).await;
    assert_eq!(en.answers[0], "At no time");
}

/// Follow-ups are asked for only of courses that are, or may still be, in the leaders' figures:
/// a paused course may complete; one that ended early (here: in hospital) never counts.
#[tokio::test]
async fn a_course_that_ended_early_has_no_care_time_follow_ups_to_fetch() {
    let d = device(Role::Therapist);
    let status = |body: &'static str| {
        let d = &d;
        async move {
            d.set_status(d.course, body).await;
            let list: Vec<api::CareFollowUpDue> =
                d.ok("GET", "/api/care-time/follow-ups", None).await;
            list.len()
        }
    };
    assert_eq!(
        status(r#"{"status":"paused","reason":null,"end_reason":null}"#).await,
        2
    );
    assert_eq!(
        d.care_follow_up_flags().await,
        [(true, false, false), (false, false, false)]
    );
    assert_eq!(
        status(r#"{"status":"ended_early","reason":null,"end_reason":"hospitalised"}"#).await,
        0
    );
    // The course's own summary says so instead of waiting for grants.
    assert_eq!(
        d.care_follow_up_flags().await,
        [(false, true, false), (false, true, false)]
    );
}

#[tokio::test]
async fn care_time_follow_ups_are_due_until_grants_are_recorded_after_their_day() {
    // The course began 200 days ago and ended ≈ 116 days ago: its 77-day follow-up has come.
    let d = device(Role::Therapist);
    let list: Vec<api::CareFollowUpDue> = d.ok("GET", "/api/care-time/follow-ups", None).await;
    let states: Vec<(u32, &str)> = list
        .iter()
        .map(|f| (f.offset_days, f.status.as_str()))
        .collect();
    assert_eq!(states, [(77, "due"), (365, "upcoming")]);
    assert_eq!(list[0].local_ref, "TK-1");
    assert_eq!(list[0].minutes_per_week, None);

    // Today's grants from the care record system settle it, with the minutes on its day.
    for (effective, minutes) in [(day(400), 420), (day(100), 210)] {
        let _: api::Saved = d
            .ok(
                "POST",
                &format!("/api/citizens/{}/care-grants", d.citizen),
                Some(&format!(
                    r#"{{"effective":"{effective}","minutes_per_week":{minutes},"service_code":null}}"#
                )),
            )
            .await;
    }
    let list: Vec<api::CareFollowUpDue> = d.ok("GET", "/api/care-time/follow-ups", None).await;
    let recorded = list.iter().find(|f| f.offset_days == 77).unwrap();
    assert_eq!(recorded.status, "recorded");
    // 77 days after the end (≈ 39 days ago) the 100-day-old grant was in force.
    assert_eq!(recorded.minutes_per_week, Some(210));
    let grants: Vec<api::CareGrantView> = d
        .ok(
            "GET",
            &format!("/api/citizens/{}/care-grants", d.citizen),
            None,
        )
        .await;
    assert_eq!(
        grants
            .iter()
            .map(|g| g.minutes_per_week)
            .collect::<Vec<_>>(),
        [210, 420],
        "newest first"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_larger_than_a_form_imports_and_its_progress_can_be_read_meanwhile() {
    let d = std::sync::Arc::new(device(Role::Therapist));
    // ≈ 2.5 MB: more than axum's default 2 MB body, for citizens this team does not know.
    let mut file = String::from("borger;dato;minutter;ydelse\n");
    for i in 0..80_000 {
        file.push_str(&format!("UKENDT-{i:06};2026-01-05;{};1.1\n", 60 + i % 300));
    }
    let body = serde_json::json!({ "file": file, "choice": "good_lines" }).to_string();
    assert!(body.len() > 2 << 20, "{} bytes", body.len());
    let importer = {
        let d = d.clone();
        tokio::spawn(async move {
            let (status, bytes) = d.call("POST", "/api/care-time/import", Some(&body)).await;
            assert_eq!(
                status,
                StatusCode::OK,
                "{}",
                String::from_utf8_lossy(&bytes)
            );
            serde_json::from_slice::<api::ImportReport>(&bytes).unwrap()
        })
    };
    let mut seen_running = false;
    while !importer.is_finished() {
        let p: api::ImportProgress = d.ok("GET", "/api/care-time/import/progress", None).await;
        seen_running |= p.running && p.lines_total == Some(80_002);
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    let report = importer.await.unwrap();
    assert_eq!((report.imported, report.bad_total), (0, 80_000));
    assert_eq!(
        report.bad.len(),
        homerehab_shared::effect::import::MAX_LISTED_LINES
    );
    assert_eq!(report.bad[0].problem, "unknown_citizen");
    assert!(
        seen_running,
        "the progress was never seen while the import ran"
    );
    let p: api::ImportProgress = d.ok("GET", "/api/care-time/import/progress", None).await;
    assert_eq!((p.running, p.phase.as_str()), (false, "done"));
}
