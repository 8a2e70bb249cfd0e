//! `seed-demo`: a demo municipality with two teams, their staff, twenty citizens, their
//! courses, programs and some logged history, and the municipality's own library (one exercise
//! and one template of its own). Idempotent: users are matched by username and
//! documents by ids derived from the team, so a second run adds only what is missing.
//!
//! The documents are server-authored: built from their genesis with a server actor through
//! the `docs` write functions, and committed straight into the store (no admission).

use crate::auth::Passwords;
use crate::error::Result;
use crate::store::{NewUser, Store};
use automerge::Automerge;
use homerehab_shared::docs::{self, genesis, ExerciseFeedback, Header, ProgramEdit};
use homerehab_shared::ids::*;
use homerehab_shared::model::*;
use uuid::Uuid;

/// The password of every demo user.
pub const DEMO_PASSWORD: &str = "demo1234";
pub const MUNICIPALITY: &str = "Thisted Kommune";
pub const TEAMS: [&str; 2] = ["Hjemmetræning Nord", "Hjemmetræning Syd"];

/// (username, display name, role, team index)
pub const USERS: [(&str, &str, Role, usize); 9] = [
    ("terapeut1", "Mette Kjær", Role::Therapist, 0),
    ("assistent1", "Lone Mikkelsen", Role::Assistant, 0),
    ("assistent2", "Jonas Bak", Role::Assistant, 0),
    ("leder1", "Hanne Thomsen", Role::Leader, 0),
    ("admin", "Søren Vestergaard", Role::Admin, 0),
    ("terapeut2", "Anders Holm", Role::Therapist, 1),
    ("assistent3", "Camilla Søndergaard", Role::Assistant, 1),
    ("assistent4", "Mads Christiansen", Role::Assistant, 1),
    ("leder2", "Birgitte Nørgaard", Role::Leader, 1),
];

const CITIZENS: [(&str, &str); 20] = [
    ("Karen Jensen", "Storegade 12, 7700 Thisted"),
    ("Poul Nielsen", "Vestergade 4, 7700 Thisted"),
    ("Inger Hansen", "Byvej 3, 7730 Hanstholm"),
    ("Jørgen Pedersen", "Strandvejen 17, 7700 Thisted"),
    ("Kirsten Andersen", "Skolevej 9, 7741 Frøstrup"),
    ("Erik Christensen", "Havnevej 21, 7730 Hanstholm"),
    ("Grethe Larsen", "Kirkevej 6, 7700 Thisted"),
    ("Bent Sørensen", "Møllevej 14, 7742 Vesløs"),
    ("Ruth Rasmussen", "Toftevej 2, 7700 Thisted"),
    ("Henning Jørgensen", "Nørregade 30, 7700 Thisted"),
    ("Else Madsen", "Bredgade 20, 7760 Hurup"),
    ("Svend Kristensen", "Østergade 8, 7752 Snedsted"),
    ("Bodil Olsen", "Præstevej 2, 7770 Vestervig"),
    ("Arne Thomsen", "Søndergade 11, 7760 Hurup"),
    ("Ingrid Poulsen", "Lyngvej 5, 7755 Bedsted"),
    ("Knud Johansen", "Vindingvej 7, 7752 Snedsted"),
    ("Anna Møller", "Engvej 19, 7760 Hurup"),
    ("Niels Mortensen", "Agger Tange 1, 7770 Vestervig"),
    ("Edith Frederiksen", "Gl. Landevej 13, 7755 Bedsted"),
    ("Verner Laursen", "Ballerumvej 4, 7700 Thisted"),
];

const GOALS: [&str; 5] = [
    "Kunne rejse sig fra en stol uden at bruge armlænene",
    "Gå til købmanden uden rollator",
    "Gå på trapper til 1. sal med støtte i gelænderet",
    "Færre fald: stå sikkert under madlavning",
    "Selv komme ind og ud af brusenichen",
];

/// (exercise ref, sets, reps, duration s, load, side)
type Line = (
    &'static str,
    u32,
    Option<u32>,
    Option<u32>,
    Option<&'static str>,
    Side,
);
const EXERCISES: [Line; 8] = [
    ("sit-to-stand", 3, Some(10), None, None, Side::Both),
    ("heel-raises-standing", 2, Some(12), None, None, Side::Both),
    ("tandem-stance", 3, None, Some(30), None, Side::None),
    ("step-up-forward", 2, Some(8), None, None, Side::Both),
    ("wall-push-up", 2, Some(10), None, None, Side::None),
    (
        "seated-knee-extension",
        3,
        Some(10),
        None,
        Some("1 kg"),
        Side::Both,
    ),
    ("bridging", 2, Some(10), None, None, Side::None),
    ("marching-in-place", 2, None, Some(60), None, Side::None),
];

const DAY_MS: Millis = 86_400_000;
const WEEK_MS: Millis = 7 * DAY_MS;

/// What a seed run did.
#[derive(Debug, Default)]
pub struct SeedReport {
    /// (username, display name, role, team name, created now)
    pub users: Vec<(String, String, Role, String, bool)>,
    pub documents_created: usize,
}

/// The actor of every server-authored change; refused at registration, so no device can
/// write as it.
pub use homerehab_shared::docs::server_actor;

fn derived(team: TeamId, what: &str, i: usize) -> Uuid {
    Uuid::new_v5(&team.0, format!("homerehab-demo/{what}/{i}").as_bytes())
}

fn iso_date(ms: Millis) -> String {
    time::OffsetDateTime::from_unix_timestamp(ms / 1000)
        .map(|t| t.date().to_string())
        .unwrap_or_else(|_| "2026-01-01".into())
}

/// How much demo data: the default is the demo (10 citizens per team, 2–8 weeks of history);
/// benchmarks ask for more.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SeedSize {
    pub citizens_per_team: usize,
    /// Every started course gets this many weeks of sessions (else 2–8 weeks, ≤ 12 sessions).
    pub history_weeks: Option<u32>,
}

impl Default for SeedSize {
    fn default() -> Self {
        SeedSize {
            citizens_per_team: 10,
            history_weeks: None,
        }
    }
}

pub fn seed_demo(store: &dyn Store, passwords: &Passwords, now: Millis) -> Result<SeedReport> {
    seed_demo_sized(store, passwords, now, SeedSize::default())
}

pub fn seed_demo_sized(
    store: &dyn Store,
    passwords: &Passwords,
    now: Millis,
    size: SeedSize,
) -> Result<SeedReport> {
    let mut report = SeedReport::default();
    let municipality = store.ensure_municipality(MUNICIPALITY)?;
    let teams = [
        store.ensure_team(municipality, TEAMS[0])?,
        store.ensure_team(municipality, TEAMS[1])?,
    ];
    // Hashed once: argon2 is deliberately slow and every demo user has the same password.
    let mut hash = None;
    let mut staff: Vec<Vec<(UserId, Role)>> = vec![vec![], vec![]];
    for (username, display_name, role, team) in USERS {
        let (id, created) = match store.user_by_username(username)? {
            Some(u) => (u.user.id, false),
            None => {
                let password_hash = match &hash {
                    Some(h) => String::clone(h),
                    None => hash.insert(passwords.hash(DEMO_PASSWORD)?).clone(),
                };
                let id = store.create_user(&NewUser {
                    username: username.into(),
                    display_name: display_name.into(),
                    password_hash,
                    role,
                    team_id: teams[team],
                    granted_teams: vec![],
                })?;
                (id, true)
            }
        };
        staff[team].push((id, role));
        report.users.push((
            username.into(),
            display_name.into(),
            role,
            TEAMS[team].into(),
            created,
        ));
    }
    for (t, team) in teams.into_iter().enumerate() {
        let of = |role| -> Vec<UserId> {
            staff[t]
                .iter()
                .filter(|(_, r)| *r == role)
                .map(|(id, _)| *id)
                .collect()
        };
        let team_staff = TeamStaff {
            therapist: of(Role::Therapist)[0],
            assistants: of(Role::Assistant),
        };
        // The team's ten names, numbered from the second round on ("Karen Jensen 2").
        let citizens: Vec<(String, &str)> = (0..size.citizens_per_team)
            .map(|k| {
                let (name, address) = CITIZENS[t * 10 + k % 10];
                match k / 10 {
                    0 => (name.to_string(), address),
                    round => (format!("{name} {}", round + 1), address),
                }
            })
            .collect();
        report.documents_created +=
            seed_team(store, team, &team_staff, &citizens, t * 10, now, size)?;
    }
    let therapist = staff[0]
        .iter()
        .find(|(_, r)| *r == Role::Therapist)
        .map(|(id, _)| *id)
        .expect("the demo has a therapist");
    report.documents_created += seed_library(store, municipality, therapist, now)?;
    Ok(report)
}

/// The demo municipality's own exercise (stairs at home, with its own rail) and template.
pub const DEMO_EXERCISE: &str = "m-trappe-ved-eget-gelaender";
pub const DEMO_TEMPLATE: &str = "m-hjem-efter-indlaeggelse";

fn seed_library(
    store: &dyn Store,
    municipality: MunicipalityId,
    therapist: UserId,
    now: Millis,
) -> Result<usize> {
    use homerehab_shared::municipal::{self, *};
    use std::collections::BTreeMap;
    let header = Header::library(municipality);
    if store.document_header(header.id)?.is_some() {
        return Ok(0);
    }
    let mut doc = genesis(&header).with_actor(server_actor());
    let text = |title: &str, summary: &str, steps: &[&str], safety: &[&str]| LocalText {
        title: title.into(),
        summary: summary.into(),
        steps: steps.iter().map(|s| s.to_string()).collect(),
        key_points: vec![],
        common_errors: vec![],
        safety: safety.iter().map(|s| s.to_string()).collect(),
    };
    let exercise = LocalExercise {
        id: DEMO_EXERCISE.into(),
        version: 1,
        retired: false,
        category: "gait_endurance".into(),
        position: "standing".into(),
        equipment: vec!["stairs".into()],
        body_areas: vec!["hip".into(), "knee".into()],
        difficulty: 3,
        dosage: Dosage {
            rest_s: Some(90),
            ..Dosage::reps(2, 5)
        },
        text: BTreeMap::from([
            (
                "da".to_string(),
                text(
                    "Trappe ved eget gelænder",
                    "Træner trappegang på borgerens egen trappe, med fast greb i gelænderet.",
                    &[
                        "Stil dig ved nederste trin med hånden på gelænderet.",
                        "Gå op ad tre trin, det stærke ben først.",
                        "Vend, og gå ned igen, det svage ben først.",
                    ],
                    &["Assistenten står nedenfor borgeren."],
                ),
            ),
            (
                "en".to_string(),
                text(
                    "Stairs at home, with the rail",
                    "Practises stairs on the citizen's own staircase, holding the rail.",
                    &[
                        "Stand at the bottom step with a hand on the rail.",
                        "Walk up three steps, stronger leg first.",
                        "Turn, and walk down again, weaker leg first.",
                    ],
                    &["The assistant stands below the citizen."],
                ),
            ),
        ]),
        media: BTreeMap::new(),
        updated_by: therapist,
        updated_at: now,
    };
    municipal::put_exercise(&mut doc, &exercise, now)?;
    let line = |exercise: &str, note: Option<&str>| LocalTemplateLine {
        exercise: exercise.into(),
        dosage: None,
        note: note.map(str::to_string),
    };
    let template = LocalTemplate {
        id: DEMO_TEMPLATE.into(),
        version: 1,
        retired: false,
        legal_basis: "SEL §83a".into(),
        weeks: 8,
        sessions_per_week: 2,
        minutes_per_session: 30,
        text: BTreeMap::from([(
            "da".to_string(),
            LocalTemplateText {
                title: "Hjem efter indlæggelse".into(),
                description: "Thisted Kommunes forløb for borgere, der lige er kommet hjem: \
                              rejse sig, gå og trapper i eget hjem."
                    .into(),
                goals: vec!["Klare trappen til soveværelset selv".into()],
            },
        )]),
        exercises: vec![
            line("marching-in-place", Some("Opvarmning")),
            line("sit-to-stand", None),
            line(DEMO_EXERCISE, None),
            line("heel-raises-standing", None),
        ],
        updated_by: therapist,
        updated_at: now,
        test_plan: None,
    };
    municipal::put_template(&mut doc, &template, now)?;
    commit_new(store, &header, &doc)
}

struct TeamStaff {
    therapist: UserId,
    assistants: Vec<UserId>,
}

pub(crate) fn commit_new(store: &dyn Store, header: &Header, doc: &Automerge) -> Result<usize> {
    if store.document_header(header.id)?.is_some() {
        return Ok(0);
    }
    store.commit_document(header, &[], doc, &[])?;
    Ok(1)
}

fn seed_team(
    store: &dyn Store,
    team: TeamId,
    staff: &TeamStaff,
    citizens: &[(String, &str)],
    offset: usize,
    now: Millis,
    size: SeedSize,
) -> Result<usize> {
    let mut created = 0;
    let roster_header = Header::roster(team);
    let mut roster = genesis(&roster_header).with_actor(server_actor());
    for (i, (name, address)) in citizens.iter().enumerate() {
        let n = offset + i;
        let citizen = Citizen {
            id: CitizenId(derived(team, "citizen", i)),
            name: name.clone(),
            local_ref: format!("TK-2026-{:04}", 311 + n * 17),
            address: Some(address.to_string()),
            assigned: [(
                staff.assistants[i % staff.assistants.len()].to_string(),
                true,
            )]
            .into(),
            active: true,
            birth_year: None,
            sex: None,
        };
        docs::put_citizen(&mut roster, &citizen, now - 9 * WEEK_MS)?;
        created += seed_course(
            store,
            team,
            staff,
            &citizen,
            (i, n),
            now,
            size.history_weeks,
        )?;
    }
    created += commit_new(store, &roster_header, &roster)?;
    Ok(created)
}

fn seed_course(
    store: &dyn Store,
    team: TeamId,
    staff: &TeamStaff,
    citizen: &Citizen,
    (i, n): (usize, usize),
    now: Millis,
    history_weeks: Option<u32>,
) -> Result<usize> {
    let course_id = CourseId(derived(team, "course", i));
    let header = Header::course(team, course_id);
    if store.document_header(header.id)?.is_some() {
        return Ok(0);
    }
    let (status, reason) = match n % 7 {
        0 => (CourseStatus::Planned, None),
        3 => (
            CourseStatus::Paused,
            Some("Indlagt på Aalborg Universitetshospital"),
        ),
        5 if n > 10 => (CourseStatus::Completed, None),
        6 if n < 10 => (CourseStatus::EndedEarly, Some("Borgeren ønskede at stoppe")),
        _ => (CourseStatus::Active, None),
    };
    let weeks_ago = match (status, history_weeks) {
        (CourseStatus::Planned, _) => 0,
        (_, Some(w)) => i64::from(w),
        _ => 2 + (n % 7) as i64,
    };
    let start = now - weeks_ago * WEEK_MS - DAY_MS;
    let planned_weeks = (10 + (n % 3) as u32).max(weeks_ago as u32 + 2);
    let sessions_per_week = 2 + (n % 2) as u32;
    let course = Course {
        id: course_id,
        citizen_id: citizen.id,
        team_id: team,
        legal_basis: LegalBasis(LegalBasis::KNOWN[n % 5].to_string()),
        start_date: iso_date(start),
        planned_weeks,
        sessions_per_week,
        minutes_per_session: 15,
        goals: vec![
            GOALS[n % GOALS.len()].to_string(),
            GOALS[(n + 2) % GOALS.len()].to_string(),
        ],
        status,
        status_reason: reason.map(str::to_string),
        responsible_therapist: staff.therapist,
        created_at: start - 3 * DAY_MS,
        end_reason: (status == CourseStatus::EndedEarly).then(|| "citizen_stopped".into()),
    };
    let mut doc = genesis(&header).with_actor(server_actor());
    docs::put_course(&mut doc, &course, course.created_at)?;
    let count = 4 + n % 3;
    let lines: Vec<ProgramExercise> = (0..count)
        .map(|k| {
            let (exercise_ref, sets, reps, duration_s, load, side) = EXERCISES[(n + k) % 8];
            ProgramExercise {
                id: ProgramExerciseId(derived(team, &format!("line/{i}"), k)),
                exercise_ref: exercise_ref.into(),
                position: (k + 1) as f64,
                dosage: Dosage {
                    sets,
                    reps,
                    duration_s,
                    hold_s: None,
                    rest_s: Some(60),
                    load: load.map(str::to_string),
                    side,
                },
                instructions: (k == 0).then(|| "Hold fast i køkkenbordet ved behov".to_string()),
            }
        })
        .collect();
    let edits: Vec<ProgramEdit> = lines.iter().cloned().map(ProgramEdit::Upsert).collect();
    let revision = docs::edit_program(
        &mut doc,
        &edits,
        staff.therapist,
        "Første program",
        None,
        course.created_at,
    )?;
    let log_header = Header::session_log(team, course_id);
    let mut log = genesis(&log_header).with_actor(server_actor());
    if status != CourseStatus::Planned {
        let assistant = staff.assistants[i % staff.assistants.len()];
        let last = match (status, history_weeks) {
            (CourseStatus::Active, _) | (_, Some(_)) => now,
            _ => start + 2 * WEEK_MS,
        };
        let most = history_weeks.map_or(12, |w| w as usize * sessions_per_week as usize);
        let gap = WEEK_MS / sessions_per_week as Millis;
        let mut at = start + 10 * 3_600_000;
        let mut k = 0;
        while at < last - DAY_MS && k < most {
            log_session(&mut log, course_id, assistant, revision, &lines, at, n + k)?;
            at += gap;
            k += 1;
        }
    }
    // The log first: the course's presence is what marks this citizen as seeded.
    Ok(commit_new(store, &log_header, &log)? + commit_new(store, &header, &doc)?)
}

fn log_session(
    log: &mut Automerge,
    course_id: CourseId,
    assistant: UserId,
    revision: RevisionId,
    lines: &[ProgramExercise],
    at: Millis,
    salt: usize,
) -> Result<()> {
    let id = SessionId(Uuid::new_v5(
        &course_id.0,
        format!("session/{at}").as_bytes(),
    ));
    let session = SessionLog {
        id,
        ..SessionLog::start(course_id, assistant, Some(revision), at)
    };
    // Every ninth session did not take place.
    if salt % 9 == 4 {
        let reason = if salt.is_multiple_of(2) {
            NotCarriedOutReason::Ill
        } else {
            NotCarriedOutReason::NotAtHome
        };
        let session =
            session.not_carried_out(reason, Some("Borgeren var ikke hjemme ved besøget".into()));
        docs::put_session(log, &session, at)?;
        return Ok(());
    }
    docs::put_session(log, &session, at)?;
    let mut t = at;
    for (k, line) in lines.iter().enumerate() {
        for _ in 0..line.dosage.sets {
            t += 60_000;
            let set = SetLog {
                reps: line
                    .dosage
                    .reps
                    .map(|r| r.saturating_sub(((salt + k) % 3) as u32)),
                duration_s: line.dosage.duration_s,
                load_kg: line.dosage.load.as_ref().map(|_| 1.0),
                at: t,
            };
            docs::log_set(log, id, line.id, &line.exercise_ref, &set, t)?;
        }
        let feedback = ExerciseFeedback {
            outcome: ExerciseOutcome::Done,
            skip_reason: None,
            borg: Some(3 + ((salt + k) % 4) as u8),
            pain: Some(((salt * 7 + k) % 4) as u8),
            note: None,
        };
        docs::record_feedback(log, id, line.id, &line.exercise_ref, &feedback, t)?;
    }
    let condition = 3 + (salt % 3) as u8;
    docs::finish_session(
        log,
        id,
        Some(condition),
        Some("God træning i dag"),
        t + 60_000,
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    #[allow(unused_imports)]
    use crate::store::{AccountStore, DocumentStore, EvidenceStore, MediaStore, ReadModelStore};

    #[test]
    fn demo_programs_use_exercises_from_the_shipped_library() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../assets/exercises");
        for (id, ..) in EXERCISES {
            assert!(
                dir.join(format!("{id}.toml")).exists(),
                "{id} is not in assets/exercises"
            );
        }
    }
    use crate::config::PasswordCost;
    use crate::store::{now_ms, SqliteStore};
    use homerehab_shared::docs::{CourseDoc, RosterDoc, SessionLogDoc};

    #[test]
    fn seeding_twice_creates_everything_once_and_documents_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("db.sqlite3")).unwrap();
        let passwords = Passwords::new(PasswordCost::Insecure);
        let now = now_ms();
        let first = seed_demo(&store, &passwords, now).unwrap();
        assert_eq!(first.documents_created, 2 + 20 * 2 + 1);
        assert!(first.users.iter().all(|u| u.4));
        let second = seed_demo(&store, &passwords, now).unwrap();
        assert_eq!(second.documents_created, 0);
        assert!(second.users.iter().all(|u| !u.4));

        let team = store.find_team(TEAMS[0]).unwrap().unwrap();
        let docs = store.document_heads(&[team]).unwrap();
        assert_eq!(docs.len(), 21);
        let (mut sessions, mut not_carried_out) = (0, 0);
        for (h, _) in docs {
            let doc = store.load_document(h.id).unwrap().unwrap();
            match h.kind {
                docs::DocumentKind::Roster => {
                    assert_eq!(RosterDoc::read(&doc).unwrap().citizens.len(), 10)
                }
                docs::DocumentKind::Course => {
                    let c = CourseDoc::read(&doc).unwrap();
                    assert!((4..=6).contains(&c.program.exercises.len()));
                }
                docs::DocumentKind::Library => unreachable!("a library belongs to no team"),
                docs::DocumentKind::SessionLog => {
                    let log = SessionLogDoc::read(&doc).unwrap();
                    sessions += log.sessions.len();
                    not_carried_out += log
                        .sessions
                        .values()
                        .filter(|s| s.status == SessionStatus::NotCarriedOut)
                        .count();
                }
            }
        }
        assert!(sessions > 20, "{sessions}");
        assert!(not_carried_out >= 1);

        let municipality = store.ensure_municipality(MUNICIPALITY).unwrap();
        let library = store
            .load_document(DocumentId::library_of(municipality))
            .unwrap()
            .unwrap();
        let library = homerehab_shared::municipal::LibraryDoc::read(&library).unwrap();
        assert!(library.exercises.contains_key(DEMO_EXERCISE));
        assert!(library.templates.contains_key(DEMO_TEMPLATE));
    }

    #[test]
    fn a_sized_seed_gives_more_citizens_and_longer_history() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("db.sqlite3")).unwrap();
        let passwords = Passwords::new(PasswordCost::Insecure);
        let size = SeedSize {
            citizens_per_team: 12,
            // A year is `scripts/bench app`'s; 8 weeks already passes the demo's 12 sessions.
            history_weeks: Some(8),
        };
        seed_demo_sized(&store, &passwords, now_ms(), size).unwrap();
        let team = store.find_team(TEAMS[0]).unwrap().unwrap();
        let (mut names, mut longest) = (vec![], 0);
        for (h, _) in store.document_heads(&[team]).unwrap() {
            let doc = store.load_document(h.id).unwrap().unwrap();
            match h.kind {
                docs::DocumentKind::Roster => {
                    names = RosterDoc::read(&doc)
                        .unwrap()
                        .citizens
                        .into_values()
                        .map(|c| c.name)
                        .collect();
                }
                docs::DocumentKind::SessionLog => {
                    longest = longest.max(SessionLogDoc::read(&doc).unwrap().sessions.len());
                }
                _ => {}
            }
        }
        assert_eq!(names.len(), 12);
        assert!(names.contains(&"Karen Jensen 2".to_string()), "{names:?}");
        // 8 weeks at 2–3 sessions a week.
        assert!(longest >= 16, "{longest}");
    }
}
