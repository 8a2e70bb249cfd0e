//! `seed-demo --evidence`: a year of referrals, screenings, completed courses with start and
//! end tests, WHO-5s in sessions, home-care grants before and after, staff training dates,
//! targets and prices, for the leaders' evidence screens (issue #12); and two more
//! municipalities so the benchmark has neighbours (Haderslev, anonymous; Aarhus, named).
//!
//! The demo municipality's evidence lives in a team of its own ("Hjemmetræning Vest"), so the
//! plain demo's teams, rosters and courses stay exactly as other tests know them, and the
//! demo leader (of "Hjemmetræning Nord") sees Vest's figures but not its staff's names.
//! Idempotent like the demo: users by username, documents by ids derived from the team.

use crate::auth::Passwords;
use crate::error::Result;
use crate::seed::{server_actor, DEMO_PASSWORD, MUNICIPALITY};
use crate::store::{NewUser, Store};
use automerge::Automerge;
use homerehab_shared::docs::{self, genesis, Header, ProgramEdit};
use homerehab_shared::effect::change::Sex;
use homerehab_shared::evidence::business_case::{Prices, DEFAULT_HOURS_PER_FTE};
use homerehab_shared::evidence::report::EvidenceSettings;
use homerehab_shared::evidence::targets::{TargetKind, YearlyTarget};
use homerehab_shared::ids::*;
use homerehab_shared::model::*;
use uuid::Uuid;

const DAY_MS: Millis = 86_400_000;

/// (municipality, team, citizens, agreed to be named, staff: (username, name, role))
type Place = (
    &'static str,
    &'static str,
    usize,
    bool,
    &'static [(&'static str, &'static str, Role)],
);

const PLACES: [Place; 3] = [
    (
        MUNICIPALITY,
        "Hjemmetræning Vest",
        36,
        true,
        &[
            ("terapeut3", "Rikke Dahl", Role::Therapist),
            ("terapeut4", "Ole Brandt", Role::Therapist),
            ("assistent5", "Pia Vestergaard", Role::Assistant),
            ("assistent6", "Kim Lauridsen", Role::Assistant),
            ("assistent7", "Susanne Krogh", Role::Assistant),
        ],
    ),
    (
        "Haderslev Kommune",
        "Træning i eget hjem",
        40,
        false,
        &[
            ("leder-haderslev", "Jette Bundgaard", Role::Leader),
            ("admin-haderslev", "Carsten Ravn", Role::Admin),
            ("terapeut-haderslev", "Lise Hald", Role::Therapist),
            ("assistent-haderslev", "Morten Friis", Role::Assistant),
        ],
    ),
    (
        "Aarhus Kommune",
        "Hverdagsrehabilitering Syd",
        30,
        true,
        &[
            ("leder-aarhus", "Helle Skov", Role::Leader),
            ("terapeut-aarhus", "Peter Lund", Role::Therapist),
            ("assistent-aarhus", "Nadia Holm", Role::Assistant),
        ],
    ),
];

fn derived(team: TeamId, what: &str, i: usize) -> Uuid {
    Uuid::new_v5(&team.0, format!("homerehab-evidence/{what}/{i}").as_bytes())
}

fn iso(ms: Millis) -> String {
    homerehab_shared::effect::iso(homerehab_shared::schedule::date_of(ms))
}

/// Seeds the evidence demo; returns the documents created.
pub fn seed_evidence(store: &dyn Store, passwords: &Passwords, now: Millis) -> Result<usize> {
    let mut created = 0;
    let hash = passwords.hash(DEMO_PASSWORD)?;
    let year = homerehab_shared::schedule::date_of(now).year();
    for (p, (municipality_name, team_name, citizens, named, staff)) in PLACES.iter().enumerate() {
        let municipality = store.ensure_municipality(municipality_name)?;
        let team = store.ensure_team(municipality, team_name)?;
        let mut users = Vec::new();
        for (username, name, role) in staff.iter() {
            let id = match store.user_by_username(username)? {
                Some(u) => u.user.id,
                None => store.create_user(&NewUser {
                    username: (*username).into(),
                    display_name: (*name).into(),
                    password_hash: hash.clone(),
                    role: *role,
                    team_id: team,
                    granted_teams: vec![],
                })?,
            };
            users.push((id, *role, *username));
        }
        // Most staff trained early in the year; one assistant never was.
        for (k, (_, role, username)) in users.iter().enumerate() {
            if *role != Role::Assistant || k % 3 != 0 {
                store.record_training(username, &format!("{year}-0{}-1{}", 1 + k % 3, k % 10))?;
            }
        }
        let therapists: Vec<UserId> = pick(&users, Role::Therapist);
        let assistants: Vec<UserId> = pick(&users, Role::Assistant);
        created += seed_place(store, team, &therapists, &assistants, *citizens, p, now)?;
        if store.evidence_settings(municipality)? == EvidenceSettings::default() {
            let by = users
                .iter()
                .find(|(_, r, _)| *r == Role::Admin)
                .or(users.first())
                .map(|(id, _, _)| *id)
                .expect("every place has staff");
            store.set_evidence_settings(
                municipality,
                &settings(year, *citizens as u32, users.len() as u32, *named),
                by,
            )?;
        }
    }
    // The plain demo's staff were trained too (the admin records it), all but one assistant.
    for username in [
        "terapeut1",
        "assistent1",
        "terapeut2",
        "assistent3",
        "assistent4",
    ] {
        store.record_training(username, &format!("{year}-02-03"))?;
    }
    Ok(created)
}

fn pick(users: &[(UserId, Role, &str)], role: Role) -> Vec<UserId> {
    users
        .iter()
        .filter(|(_, r, _)| *r == role)
        .map(|(id, _, _)| *id)
        .collect()
}

fn settings(year: i32, citizens: u32, staff: u32, named: bool) -> EvidenceSettings {
    let target = |kind, year, target| YearlyTarget { kind, year, target };
    EvidenceSettings {
        targets: vec![
            target(TargetKind::CitizensThroughCourses, year, citizens),
            target(TargetKind::CitizensThroughCourses, year - 1, citizens / 2),
            target(TargetKind::StaffTrained, year, staff),
            target(TargetKind::StaffActive, year, staff),
        ],
        prices: Some(Prices {
            dkk_per_home_care_hour: 450.0,
            dkk_per_assistant_hour: 380.0,
            dkk_per_therapist_hour: 460.0,
            therapist_hours_per_course: 6.0,
            assistant_minutes_per_session: 20.0,
            licence_dkk_per_year: 60_000.0,
            tablets_dkk_per_year: 12_000.0,
            hours_per_fte: DEFAULT_HOURS_PER_FTE,
            effect_days: 365.0,
        }),
        agreed_to_be_named: named,
        comparison_group: None,
    }
}

fn seed_place(
    store: &dyn Store,
    team: TeamId,
    therapists: &[UserId],
    assistants: &[UserId],
    citizens: usize,
    place: usize,
    now: Millis,
) -> Result<usize> {
    let roster_header = Header::roster(team);
    if store.document_header(roster_header.id)?.is_some() {
        return Ok(0);
    }
    let mut created = 0;
    let mut roster = genesis(&roster_header).with_actor(server_actor());
    const REASONS: [&str; 3] = ["declined", "not_expected_to_benefit", "home_unsuitable"];
    for k in 0..citizens {
        let therapist = therapists[k % therapists.len()];
        let assistant = assistants[k % assistants.len()];
        let citizen = Citizen {
            id: CitizenId(derived(team, "citizen", k)),
            name: format!("Borger {}", k + 1),
            local_ref: format!("EV-{place}-{:04}", 100 + k),
            address: None,
            assigned: [(assistant.to_string(), true)].into(),
            active: true,
            birth_year: Some(1934 + (k % 20) as i32),
            sex: Some(if k % 3 == 0 { Sex::Male } else { Sex::Female }),
        };
        // Referrals spread over the last eleven months, oldest first.
        let referred = now - (330 - (k * 300 / citizens) as i64) * DAY_MS;
        docs::put_citizen(&mut roster, &citizen, referred)?;
        let referral = ReferralRecord {
            id: ReferralId(derived(team, "referral", k)),
            citizen_id: citizen.id,
            referred_on: iso(referred),
            referred_by: therapist,
            note: None,
            recorded_at: referred,
            screening: None,
            course_id: None,
        };
        docs::put_referral(&mut roster, &referral, referred)?;
        let included = k % 6 != 5;
        let screening = ScreeningRecord {
            criteria: [("wants_to_train".to_string(), included)].into(),
            not_included_reason: (!included).then(|| REASONS[(k / 6) % 3].to_string()),
            note: None,
            screened_on: iso(referred + 3 * DAY_MS),
            screened_by: therapist,
        };
        docs::screen_referral(&mut roster, referral.id, &screening, referred + 3 * DAY_MS)?;
        if !included {
            continue;
        }
        let course_id = CourseId(derived(team, "course", k));
        docs::link_referral_course(&mut roster, referral.id, course_id, referred + 4 * DAY_MS)?;
        let start = referred + 7 * DAY_MS;
        let weeks = 10;
        let end = start + (weeks * 7 - 1) * DAY_MS;
        let status = if end >= now {
            CourseStatus::Active
        } else if k % 9 == 4 {
            CourseStatus::EndedEarly
        } else {
            CourseStatus::Completed
        };
        // Care time: a grant before the course for two in three; after it, less for most.
        let baseline = 240 + ((k * 37 + place * 11) % 220) as u32;
        if k % 3 != 2 {
            grant(
                &mut roster,
                citizen.id,
                start - 200 * DAY_MS,
                baseline,
                therapist,
                now,
            )?;
            let cut = ((k * 13 + place * 7) % 100) as u32;
            let after = if k % 7 == 6 {
                baseline + 30
            } else {
                baseline - cut.min(baseline)
            };
            grant(
                &mut roster,
                citizen.id,
                end + 20 * DAY_MS,
                after,
                therapist,
                now,
            )?;
        }
        created += seed_course(
            store,
            team,
            &citizen,
            course_id,
            (therapist, assistant),
            (start, end, now, weeks as u32),
            status,
            k + place,
        )?;
    }
    created += crate::seed::commit_new(store, &roster_header, &roster)?;
    Ok(created)
}

/// A grant as the municipality's latest import (`recorded_at`, the seed's today) holds it:
/// a follow-up is known only from grants recorded on or after its day
/// (`effect::care_time::known_on`).
fn grant(
    roster: &mut Automerge,
    citizen: CitizenId,
    effective: Millis,
    minutes_per_week: u32,
    by: UserId,
    recorded_at: Millis,
) -> Result<()> {
    docs::put_care_grant(
        roster,
        &CareGrantRecord {
            citizen_id: citizen,
            effective: iso(effective),
            minutes_per_week,
            service_code: Some("FSIII-1.2".into()),
            recorded_by: by,
            recorded_at,
        },
        recorded_at,
    )?;
    Ok(())
}

#[allow(clippy::too_many_arguments)]
fn seed_course(
    store: &dyn Store,
    team: TeamId,
    citizen: &Citizen,
    course_id: CourseId,
    (therapist, assistant): (UserId, UserId),
    (start, end, now, weeks): (Millis, Millis, Millis, u32),
    status: CourseStatus,
    salt: usize,
) -> Result<usize> {
    let header = Header::course(team, course_id);
    if store.document_header(header.id)?.is_some() {
        return Ok(0);
    }
    let course = Course {
        id: course_id,
        citizen_id: citizen.id,
        team_id: team,
        legal_basis: LegalBasis("SEL §83a".into()),
        start_date: iso(start),
        planned_weeks: weeks,
        sessions_per_week: 1,
        minutes_per_session: 15,
        goals: vec!["Kunne rejse sig fra en stol uden at bruge armlænene".into()],
        status,
        status_reason: (status == CourseStatus::EndedEarly)
            .then(|| "Borgeren ønskede at stoppe".into()),
        responsible_therapist: therapist,
        created_at: start - DAY_MS,
        // A spread of coded reasons, so the funnel's breakdown has something to show.
        end_reason: (status == CourseStatus::EndedEarly)
            .then(|| ["citizen_stopped", "hospitalised", "illness"][salt % 3].to_string()),
    };
    let mut doc = genesis(&header).with_actor(server_actor());
    docs::put_course(&mut doc, &course, course.created_at)?;
    let line = ProgramExercise {
        id: ProgramExerciseId(derived(team, &format!("line/{salt}"), 0)),
        exercise_ref: "sit-to-stand".into(),
        position: 1.0,
        dosage: Dosage::reps(3, 10),
        instructions: None,
    };
    let revision = docs::edit_program(
        &mut doc,
        &[ProgramEdit::Upsert(line.clone())],
        therapist,
        "Første program",
        None,
        course.created_at,
    )?;
    let test = |phase, value: f64, at: Millis| Assessment {
        id: AssessmentId(Uuid::new_v5(
            &course_id.0,
            format!("{phase:?}/{at}").as_bytes(),
        )),
        kind: "chair_stand_30s".into(),
        value,
        unit: "reps".into(),
        date: iso(at),
        phase,
        by: therapist,
        note: None,
        place: Some(MeasuredAt::Home),
    };
    let first = 7.0 + (salt % 5) as f64;
    docs::put_assessment(&mut doc, &test(AssessmentPhase::Start, first, start), start)?;
    let done = status == CourseStatus::Completed;
    if done && salt % 5 != 3 {
        // Most gain 2–4 repetitions, some hold, a few lose.
        let change = [3.0, 2.0, 0.0, 4.0, -3.0, 2.0, 1.0][salt % 7];
        docs::put_assessment(
            &mut doc,
            &test(AssessmentPhase::End, first + change, end),
            end,
        )?;
    }
    let log_header = Header::session_log(team, course_id);
    let mut log = genesis(&log_header).with_actor(server_actor());
    let last = if done { end } else { now.min(end) };
    let mut at = start + 10 * 3_600_000;
    let mut n = 0;
    while at < last {
        let id = SessionId(Uuid::new_v5(
            &course_id.0,
            format!("session/{at}").as_bytes(),
        ));
        let session = SessionLog {
            id,
            ..SessionLog::start(course_id, assistant, Some(revision), at)
        };
        if (salt + n) % 8 == 7 {
            docs::put_session(
                &mut log,
                &session.not_carried_out(NotCarriedOutReason::NotAtHome, None),
                at,
            )?;
        } else {
            docs::put_session(&mut log, &session, at)?;
            let first_week = n == 0;
            let last_week = at + 7 * DAY_MS >= end;
            if done && (first_week || last_week) && !salt.is_multiple_of(4) {
                let phase = if first_week {
                    AssessmentPhase::Start
                } else {
                    AssessmentPhase::End
                };
                docs::start_who5(&mut log, id, phase, assistant, MeasuredAt::Home, at)?;
                let base = 2 + (salt % 2) as u8;
                let lift = u8::from(!first_week) * [1, 0, 1, 1, 0][salt % 5];
                for item in 0..5 {
                    docs::record_who5_answer(&mut log, id, item, (base + lift).min(5), at)?;
                }
            }
            docs::log_set(
                &mut log,
                id,
                line.id,
                &line.exercise_ref,
                &SetLog {
                    reps: Some(10),
                    duration_s: None,
                    load_kg: None,
                    at: at + 60_000,
                },
                at + 60_000,
            )?;
            docs::finish_session(&mut log, id, Some(4), None, at + 15 * 60_000)?;
        }
        at += 7 * DAY_MS;
        n += 1;
    }
    Ok(crate::seed::commit_new(store, &log_header, &log)?
        + crate::seed::commit_new(store, &header, &doc)?)
}
