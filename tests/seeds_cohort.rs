//! The seeds' cohorts built through the real server's CLI, API and sync, as municipalities
//! would: Aarhus' effect (seeds/002: 174 referred; care time for 64 before and 77 days after,
//! 52.81 → 41.29 min/day; 42 with start and end 30-s chair stands, 28 improved or maintained;
//! 35 with WHO-5, 25 improved or maintained) and the Thisted/Haderslev evaluation's Tabel 4
//! (seeds/000: 207 citizens through courses of 1,250 targeted; 108 trained of 84 targeted; 63
//! using it), plus a small third municipality whose figures the benchmark must suppress.
//!
//! Used by the evidence scenario (`tests/evidence.rs`) and, through the `seeds-cohort`
//! binary, by the browser test that prints the evaluation report.

use crate::{citizen, program_line, Device, Server, PASSWORD};
use homerehab_core::store::now_ms;
use homerehab_shared::ids::*;
use homerehab_shared::model::*;
use serde_json::json;
use std::path::Path;

pub const AARHUS: &str = "Aarhus Kommune";
pub const THISTED: &str = "Thisted Kommune";
pub const SMALL: &str = "Lemvig Kommune";
pub const AARHUS_LEADER: &str = "aarhus-leder";
pub const THISTED_LEADER: &str = "thisted-leder";
pub const THISTED_ADMIN: &str = "thisted-admin";
pub const AARHUS_ASSISTANT: &str = "aarhus-assistent";
pub const AARHUS_THERAPIST: &str = "aarhus-terapeut";
pub const AARHUS_TEAM: &str = "Aarhus Hverdagsrehabilitering";
pub const THISTED_TEAM: &str = "Thisted Hjemmetræning Nord";

/// The period the cohorts are in: last year and this, like the evaluation's project years.
#[derive(Clone, Debug)]
pub struct SeedsCohort {
    pub from: String,
    pub to: String,
    pub last_year: i32,
}

impl SeedsCohort {
    pub fn query(&self) -> String {
        format!("from={}&to={}", self.from, self.to)
    }
}

fn this_year() -> i32 {
    homerehab_shared::schedule::date_of(now_ms()).year()
}

/// Signs in over HTTP (not as a device) for the admin's settings call.
pub async fn token(server: &Server, username: &str) -> String {
    token_of_device(server, username, None).await
}

/// Signs in as `username`, as the device `device` when given (a program such as a BI job that
/// keeps one device id, so it is one row in the device list and can be revoked).
pub async fn token_of_device(server: &Server, username: &str, device: Option<&str>) -> String {
    let actor = hex::encode(uuid::Uuid::new_v4().as_bytes());
    let mut body = json!({"username": username, "password": PASSWORD, "actor_id": actor});
    if let Some(device) = device {
        body["device_id"] = json!(device);
        body["app_version"] = json!("BI-udtræk");
    }
    let r: serde_json::Value = reqwest::Client::new()
        .post(format!("{}/v1/login", server.url()))
        .json(&body)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    r["token"].as_str().expect("a token").to_string()
}

fn team(server: &Server, name: &str, municipality: &str) {
    server.admin(&[
        "create-team",
        "--name",
        name,
        "--municipality",
        municipality,
    ]);
}

/// Builds all three municipalities; devices keep their files under `devices`.
pub async fn build(server: &Server, devices: &Path) -> SeedsCohort {
    let year = this_year();
    let cohort = SeedsCohort {
        from: format!("{}-01-01", year - 1),
        to: format!("{year}-12-31"),
        last_year: year - 1,
    };
    let t = std::time::Instant::now();
    aarhus(server, devices, year - 1).await;
    eprintln!("seeds cohort: Aarhus in {:?}", t.elapsed());
    thisted(server, devices, year - 1).await;
    eprintln!("seeds cohort: Thisted in {:?}", t.elapsed());
    small(server, devices, year - 1).await;
    cohort
}

/// A 12-week course from `start`, running.
fn running_course(device: &Device, citizen: CitizenId, start: &str) -> Course {
    let me = device.me();
    let course = Course {
        status: CourseStatus::Active,
        planned_weeks: 12,
        sessions_per_week: 3,
        ..Course::new(citizen, me.team_id, me.user_id, start, now_ms())
    };
    device
        .store()
        .create_course(&course, &[program_line("sit-to-stand", 1.0, 1)])
        .unwrap();
    course
}

/// The therapist records a referral on `referred_on` and screens it on `screened_on`:
/// included. The course is linked to it once made.
fn refer_and_include(
    laptop: &Device,
    citizen: CitizenId,
    referred_on: &str,
    screened_on: &str,
) -> ReferralRecord {
    let me = laptop.me();
    let referral = ReferralRecord {
        id: ReferralId::new(),
        citizen_id: citizen,
        referred_on: referred_on.into(),
        referred_by: me.user_id,
        note: None,
        recorded_at: now_ms(),
        screening: None,
        course_id: None,
    };
    let mut s = laptop.store();
    s.put_referral(me.team_id, &referral).unwrap();
    s.screen_referral(
        me.team_id,
        referral.id,
        &ScreeningRecord {
            criteria: [("wants_to_train".to_string(), true)].into(),
            not_included_reason: None,
            note: None,
            screened_on: screened_on.into(),
            screened_by: me.user_id,
        },
    )
    .unwrap();
    referral
}

/// The therapist marks the courses completed (after the server has them running: a course
/// begins planned or active) and syncs.
async fn complete(device: &Device, courses: Vec<Course>) {
    for mut course in courses {
        course
            .change_status(CourseStatus::Completed, None, None)
            .unwrap();
        device.store().update_course(&course).unwrap();
    }
    device.sync().await;
}

fn result(kind: &str, phase: AssessmentPhase, value: f64, date: &str, by: UserId) -> Assessment {
    Assessment {
        id: AssessmentId::new(),
        kind: kind.into(),
        value,
        unit: "reps".into(),
        date: date.into(),
        phase,
        by,
        note: None,
        place: Some(MeasuredAt::Home),
    }
}

/// Aarhus: 174 citizens referred, screened, through 12-week courses in `year`.
async fn aarhus(server: &Server, devices: &Path, year: i32) {
    team(server, AARHUS_TEAM, AARHUS);
    server.create_user(AARHUS_THERAPIST, "therapist", AARHUS_TEAM);
    server.create_user(AARHUS_ASSISTANT, "assistant", AARHUS_TEAM);
    server.create_user(AARHUS_LEADER, "leader", AARHUS_TEAM);
    let laptop = Device::login(&devices.join("aarhus-laptop"), server, AARHUS_THERAPIST).await;
    let me = laptop.me();
    let start = format!("{year}-03-02");
    // 12 weeks from 2 March end on 24 May; the end test in the last week.
    let end = format!("{year}-05-24");
    // Home-care minutes per week before and 77 days after (the seeds' own arithmetic,
    // shared/src/evidence/seeds.rs): 63 spread citizens and a 64th that makes the sums.
    let mut before: Vec<u32> = (0..63).map(|i| 225 + (i * 53) % 300).collect();
    let mut after: Vec<u32> = before
        .iter()
        .enumerate()
        .map(|(i, b)| b - (i as u32 * 29) % 160)
        .collect();
    before.push(23_659 - before.iter().sum::<u32>());
    after.push(18_498 - after.iter().sum::<u32>());
    let mut courses = Vec::new();
    let mut grants = Vec::new();
    // One import, as the care record system's file arrives: recorded by one user at one time.
    let recorded_at = now_ms();
    for i in 0..174usize {
        let mut c = citizen(&format!("Aarhus-borger {i}"));
        c.birth_year = Some(1940 + (i % 15) as i32);
        laptop.store().put_citizen(&c).unwrap();
        let referral = refer_and_include(
            &laptop,
            c.id,
            &format!("{year}-02-0{}", 2 + i % 7),
            &format!("{year}-02-1{}", i % 7),
        );
        let course = running_course(&laptop, c.id, &start);
        laptop
            .store()
            .link_referral_course(me.team_id, referral.id, course.id)
            .unwrap();
        // 72 tested at the start, 42 of them at the end: 17 up by 3, 11 up by 1, 14 down by 3.
        if i < 72 {
            let chair = "chair_stand_30s";
            let mut s = laptop.store();
            s.add_assessment(
                course.id,
                &result(chair, AssessmentPhase::Start, 9.0, &start, me.user_id),
            )
            .unwrap();
            let end_value = match i {
                0..=16 => Some(12.0),
                17..=27 => Some(10.0),
                28..=41 => Some(6.0),
                _ => None,
            };
            if let Some(v) = end_value {
                s.add_assessment(
                    course.id,
                    &result(chair, AssessmentPhase::End, v, &end, me.user_id),
                )
                .unwrap();
            }
        }
        if i >= 110 {
            let k = i - 110;
            for (effective, minutes) in [
                (format!("{}-12-01", year - 1), before[k]),
                (format!("{year}-06-10"), after[k]),
            ] {
                grants.push(CareGrantRecord {
                    citizen_id: c.id,
                    effective,
                    minutes_per_week: minutes,
                    service_code: None,
                    recorded_by: me.user_id,
                    recorded_at,
                });
            }
        }
        courses.push(course);
    }
    laptop.store().put_care_grants(me.team_id, &grants).unwrap();
    laptop.sync().await;

    // WHO-5 on the assistant's tablet: 55 at the start (48 points), 35 of them again at the
    // end: 12 at 60, 13 at 52, 10 at 36.
    let tablet = Device::login(&devices.join("aarhus-tablet"), server, AARHUS_ASSISTANT).await;
    tablet.sync().await;
    for (i, course) in courses.iter().enumerate().take(155).skip(100) {
        let course = course.id;
        who5(&tablet, course, AssessmentPhase::Start, [3, 3, 2, 2, 2]);
        let end = match i {
            100..=111 => Some([3, 3, 3, 3, 3]),
            112..=124 => Some([3, 3, 3, 2, 2]),
            125..=134 => Some([2, 2, 2, 2, 1]),
            _ => None,
        };
        if let Some(answers) = end {
            who5(&tablet, course, AssessmentPhase::End, answers);
        }
    }
    tablet.sync().await;
    laptop.sync().await;
    complete(&laptop, courses).await;
}

/// One visit with a WHO-5 of `answers` (0–5 each), saved per tap as the tablet does.
fn who5(tablet: &Device, course: CourseId, phase: AssessmentPhase, answers: [u8; 5]) {
    let mut s = tablet.store();
    let session = s.start_session(course).unwrap();
    s.start_who5(course, session.id, phase, MeasuredAt::Home)
        .unwrap();
    for (item, answer) in answers.into_iter().enumerate() {
        s.record_who5_answer(course, session.id, item, answer)
            .unwrap();
    }
}

/// Thisted: 207 citizens through courses in `year`; 120 staff of whom 108 trained in the
/// period and 63 did their role's work in the last 28 days; targets set by the admin.
async fn thisted(server: &Server, devices: &Path, year: i32) {
    const SYD: &str = "Thisted Hjemmetræning Syd";
    let t0 = std::time::Instant::now();
    team(server, THISTED_TEAM, THISTED);
    team(server, SYD, THISTED);
    server.create_user("thisted-terapeut", "therapist", THISTED_TEAM);
    server.create_user("thisted-terapeut-syd", "therapist", SYD);
    server.create_user(THISTED_LEADER, "leader", THISTED_TEAM);
    server.create_user(THISTED_ADMIN, "admin", THISTED_TEAM);
    // 118 assistants: 106 trained, 61 of them active.
    for k in 0..118 {
        server.create_user(&format!("medarbejder-{k:03}"), "assistant", SYD);
    }
    let trained_on = format!("{year}-05-01");
    let mut trained: Vec<String> = vec!["thisted-terapeut".into(), "thisted-terapeut-syd".into()];
    trained.extend((0..106).map(|k| format!("medarbejder-{k:03}")));
    let mut args = vec!["record-training", "--on", &trained_on];
    args.extend(trained.iter().map(String::as_str));
    server.admin(&args);
    eprintln!("seeds cohort: Thisted's staff made at {:?}", t0.elapsed());

    let laptop = Device::login(&devices.join("thisted-laptop"), server, "thisted-terapeut").await;
    let mut courses = Vec::new();
    for i in 0..207 {
        let c = citizen(&format!("Thisted-borger {i}"));
        laptop.store().put_citizen(&c).unwrap();
        let month = 1 + i % 9;
        let start = format!("{year}-{month:02}-0{}", 1 + i % 7);
        courses.push(running_course(&laptop, c.id, &start));
    }
    laptop.sync().await;
    complete(&laptop, courses).await;
    ended_early(&laptop, year).await;
    eprintln!("seeds cohort: Thisted's courses made at {:?}", t0.elapsed());

    // Syd's one running course, where the active assistants log a visit each.
    let syd = Device::login(&devices.join("thisted-syd"), server, "thisted-terapeut-syd").await;
    let c = citizen("Thisted-borger Syd");
    syd.store().put_citizen(&c).unwrap();
    let course = crate::create_course(&syd, c.id);
    syd.sync().await;
    for k in 0..61 {
        let tablet = Device::login(
            &devices.join(format!("thisted-tablet-{k}")),
            server,
            &format!("medarbejder-{k:03}"),
        )
        .await;
        tablet.sync().await;
        crate::log_session(&tablet, course);
        tablet.sync().await;
    }

    // The admin sets the project's targets (Tabel 4): 500 + 750 citizens, 84 staff trained
    // (in the first year), 84 using it.
    let admin = token(server, THISTED_ADMIN).await;
    let targets = json!({
        "targets": [
            {"kind": "citizens_through_courses", "year": year, "target": 500},
            {"kind": "citizens_through_courses", "year": year + 1, "target": 750},
            {"kind": "staff_trained", "year": year, "target": 84},
            {"kind": "staff_trained", "year": year + 1, "target": 0},
            {"kind": "staff_active", "year": year + 1, "target": 84},
        ],
        "prices": null,
        "agreed_to_be_named": false,
        "comparison_group": null
    });
    let r = reqwest::Client::new()
        .put(format!("{}/v1/evidence/settings", server.url()))
        .bearer_auth(admin)
        .json(&targets)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
}

/// Three more Thisted citizens referred, screened and included, whose courses end early:
/// two admitted to hospital, one who wants to stop (with the therapist's words, which stay in
/// the course document). The funnel counts them by their coded reason.
async fn ended_early(laptop: &Device, year: i32) {
    let me = laptop.me();
    let mut courses = Vec::new();
    for (i, (reason, words)) in [
        ("hospitalised", None),
        ("citizen_stopped", Some("Borgeren orker ikke mere")),
        ("hospitalised", Some("Indlagt med lungebetændelse")),
    ]
    .into_iter()
    .enumerate()
    {
        let c = citizen(&format!("Thisted-borger afbrudt {i}"));
        laptop.store().put_citizen(&c).unwrap();
        let referral = refer_and_include(
            laptop,
            c.id,
            &format!("{year}-10-0{}", i + 1),
            &format!("{year}-10-0{}", i + 2),
        );
        let course = running_course(laptop, c.id, &format!("{year}-10-12"));
        laptop
            .store()
            .link_referral_course(me.team_id, referral.id, course.id)
            .unwrap();
        courses.push((course, reason, words));
    }
    laptop.sync().await;
    for (mut course, reason, words) in courses {
        course
            .change_status(
                CourseStatus::EndedEarly,
                words.map(str::to_string),
                Some(reason),
            )
            .unwrap();
        laptop.store().update_course(&course).unwrap();
    }
    laptop.sync().await;
}

/// Lemvig: three citizens through courses, too few to show beside the others.
async fn small(server: &Server, devices: &Path, year: i32) {
    team(server, "Lemvig Træning", SMALL);
    server.create_user("lemvig-terapeut", "therapist", "Lemvig Træning");
    let laptop = Device::login(&devices.join("lemvig"), server, "lemvig-terapeut").await;
    let mut courses = Vec::new();
    for i in 0..3 {
        let c = citizen(&format!("Lemvig-borger {i}"));
        laptop.store().put_citizen(&c).unwrap();
        courses.push(running_course(
            &laptop,
            c.id,
            &format!("{year}-04-0{}", i + 1),
        ));
    }
    laptop.sync().await;
    complete(&laptop, courses).await;
}
