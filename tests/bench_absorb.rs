//! `scripts/bench absorb`: the device absorbing a pull (issue #13 item 5), in process through
//! the device store's own `ClientStorage` (real SQLite file in a temp dir, no network).
//!
//! 1. A fresh device's first sync of N courses (N = 100 and 300; `ABSORB_COURSES` overrides,
//!    comma-separated): a roster of N citizens, and per course its course document and a
//!    session log of 30 sessions (24 sets each, written by the same `shared::docs` writers as
//!    the app's and folded into one change by `squash_unseen`, as a device uploads them),
//!    handed to the device as the server sends a new document (its saved bytes).
//! 2. A roster of 500 citizens the device holds; a sync brings a change to ONE citizen: the
//!    absorb's time (median of 20, each another citizen).
//! 3. A session log of 30 sessions the device holds; a sync brings one more set: the absorb.
//! 4. Creating courses on a device through the app service (a citizen and a course each),
//!    timed per hundred (`ABSORB_CREATE`, default 500).
//!
//! Device CPU is the process's own (`getrusage`); the last line is one JSON object.

use std::sync::{Arc, Mutex};
use std::time::Instant;

use automerge::{ActorId, Automerge};
use homerehab_app_api as api;
use homerehab_app_service::{ops, Core};
use homerehab_core::store::{now_ms, Identity, Store};
use homerehab_scenarios::{citizen, program_line, shipped_library};
use homerehab_shared::docs::{self, ExerciseFeedback, Header};
use homerehab_shared::ids::*;
use homerehab_shared::model::*;
use homerehab_shared::sync::{squash_unseen, ClientStorage, Squash};

const SESSIONS: usize = 30;
const SETS_PER_LINE: u32 = 8;

/// CPU seconds this process used (user + system).
fn cpu_s() -> f64 {
    let mut u: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut u) };
    let s = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    s(u.ru_utime) + s(u.ru_stime)
}

fn therapist_device(team: TeamId, me: UserId) -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    store
        .set_identity(&Identity {
            user_id: me,
            username: "terapeut".into(),
            display_name: "Terapeut".into(),
            role: Role::Therapist,
            team_id: team,
            server_url: "http://127.0.0.1:9".into(),
            token: "t".into(),
            expires_at: now_ms() + 3_600_000,
            municipality_id: None,
            granted_teams: vec![],
        })
        .unwrap();
    (dir, store)
}

/// A whole guided session, as the app writes it: one change per set, per exercise's feedback,
/// at start and at finish.
fn log_session(log: &mut Automerge, course: CourseId, by: UserId, lines: &[ProgramExercise]) {
    let at = now_ms();
    let session = SessionLog::start(course, by, None, at);
    docs::put_session(log, &session, at).unwrap();
    for line in lines {
        for i in 0..SETS_PER_LINE {
            let set = SetLog {
                reps: Some(8 + i % 3),
                duration_s: None,
                load_kg: Some(2.0),
                at,
            };
            docs::log_set(log, session.id, line.id, &line.exercise_ref, &set, at).unwrap();
        }
        let fb = ExerciseFeedback {
            outcome: ExerciseOutcome::Done,
            skip_reason: None,
            borg: Some(5),
            pain: Some(2),
            note: None,
        };
        docs::record_feedback(log, session.id, line.id, &line.exercise_ref, &fb, at).unwrap();
    }
    docs::finish_session(log, session.id, Some(4), Some("Borger i godt humør"), at).unwrap();
}

/// One document as the server sends it new: header, saved bytes, heads.
struct Sent {
    header: Header,
    saved: Vec<u8>,
    heads: Vec<[u8; 32]>,
}

fn sent(header: Header, doc: &Automerge) -> Sent {
    Sent {
        header,
        saved: doc.save(),
        heads: doc.get_heads().iter().map(|h| h.0).collect(),
    }
}

/// The team's documents for `n` courses: the roster first, then courses, then logs (the
/// server's order).
fn team_documents(team: TeamId, me: UserId, n: usize) -> Vec<Sent> {
    let tablet = ActorId::random();
    let roster_header = Header::roster(team);
    let mut roster = docs::genesis(&roster_header).with_actor(tablet.clone());
    let mut courses = Vec::new();
    let mut logs = Vec::new();
    let lines = vec![
        program_line("sit-to-stand", 1.0, 8),
        program_line("heel-raise", 2.0, 8),
        program_line("step-up", 3.0, 8),
    ];
    for i in 0..n {
        let c = citizen(&format!("Borger {i}"));
        docs::put_citizen(&mut roster, &c, now_ms()).unwrap();
        let course = Course {
            status: CourseStatus::Active,
            ..Course::new(c.id, team, me, "2024-01-08", now_ms())
        };
        let header = Header::course(team, course.id);
        let mut doc = docs::genesis(&header).with_actor(tablet.clone());
        docs::put_course(&mut doc, &course, now_ms()).unwrap();
        let edits: Vec<_> = lines
            .iter()
            .cloned()
            .map(docs::ProgramEdit::Upsert)
            .collect();
        docs::edit_program(&mut doc, &edits, me, "Program oprettet", None, now_ms()).unwrap();
        courses.push(sent(header, &doc));
        let header = Header::session_log(team, course.id);
        let genesis = docs::genesis(&header);
        let mut log = genesis.fork().with_actor(tablet.clone());
        for _ in 0..SESSIONS {
            log_session(&mut log, course.id, me, &lines);
        }
        let log = match squash_unseen(&log, &tablet, &genesis.get_heads()) {
            Squash::Squashed { doc, .. } => *doc,
            other => panic!("the device squashes its sessions: {other:?}"),
        };
        logs.push(sent(header, &log));
    }
    let mut all = vec![sent(roster_header, &roster)];
    all.extend(courses);
    all.extend(logs);
    all
}

fn absorb_new(store: &mut Store, d: &Sent) {
    store
        .absorb(d.header.id, Some(&d.header), 0, &d.saved, &d.heads)
        .unwrap();
}

/// A fresh device's first sync of `n` courses: (wall s, CPU s).
fn cold_pull(n: usize) -> (f64, f64) {
    let (team, me) = (TeamId::new(), UserId::new());
    let t = Instant::now();
    let documents = team_documents(team, me, n);
    println!(
        "  set-up: {} documents for {n} courses written in {:.1} s",
        documents.len(),
        t.elapsed().as_secs_f64()
    );
    let (_dir, mut store) = therapist_device(team, me);
    let (t, cpu) = (Instant::now(), cpu_s());
    for d in &documents {
        absorb_new(&mut store, d);
    }
    let (wall, cpu) = (t.elapsed().as_secs_f64(), cpu_s() - cpu);
    let sessions: u32 = store
        .courses()
        .unwrap()
        .iter()
        .map(|c| c.sessions_logged)
        .sum();
    assert_eq!(sessions as usize, n * SESSIONS, "every session projected");
    (wall, cpu)
}

/// Median seconds of `f` over `runs` calls, each given its run's number.
fn median_s(runs: usize, mut f: impl FnMut(usize)) -> f64 {
    let mut times: Vec<f64> = (0..runs)
        .map(|i| {
            let t = Instant::now();
            f(i);
            t.elapsed().as_secs_f64()
        })
        .collect();
    times.sort_by(|a, b| a.total_cmp(b));
    times[times.len() / 2]
}

/// A 500-citizen roster the device holds; each run absorbs a change to one citizen.
fn one_citizen_changed(citizens: usize, runs: usize) -> f64 {
    let (team, me) = (TeamId::new(), UserId::new());
    let header = Header::roster(team);
    let mut server = docs::genesis(&header).with_actor(ActorId::random());
    let mut all = Vec::new();
    for i in 0..citizens {
        let c = citizen(&format!("Borger {i}"));
        docs::put_citizen(&mut server, &c, now_ms()).unwrap();
        all.push(c);
    }
    let (_dir, mut store) = therapist_device(team, me);
    absorb_new(&mut store, &sent(header, &server));
    median_s(runs, |i| {
        let before = server.get_heads();
        let mut c = all[i * 7 % citizens].clone();
        c.address = Some(format!("Vejen {i}"));
        docs::put_citizen(&mut server, &c, now_ms()).unwrap();
        let changes = homerehab_shared::sync::raw_changes_since(&server, &before);
        let heads: Vec<[u8; 32]> = server.get_heads().iter().map(|h| h.0).collect();
        store.absorb(header.id, None, 0, &changes, &heads).unwrap();
    })
}

/// A 30-session log the device holds; each run absorbs one more set in its last session.
fn one_set_logged(runs: usize) -> f64 {
    let (team, me) = (TeamId::new(), UserId::new());
    let course = CourseId::new();
    let header = Header::session_log(team, course);
    let line = program_line("sit-to-stand", 1.0, 8);
    let mut server = docs::genesis(&header).with_actor(ActorId::random());
    for _ in 0..SESSIONS {
        log_session(&mut server, course, me, std::slice::from_ref(&line));
    }
    let last = SessionLog::start(course, me, None, now_ms());
    docs::put_session(&mut server, &last, now_ms()).unwrap();
    let (_dir, mut store) = therapist_device(team, me);
    absorb_new(&mut store, &sent(header, &server));
    median_s(runs, |i| {
        let before = server.get_heads();
        let set = SetLog {
            reps: Some(i as u32 % 12),
            duration_s: None,
            load_kg: None,
            at: now_ms(),
        };
        docs::log_set(
            &mut server,
            last.id,
            line.id,
            &line.exercise_ref,
            &set,
            now_ms(),
        )
        .unwrap();
        let changes = homerehab_shared::sync::raw_changes_since(&server, &before);
        let heads: Vec<[u8; 32]> = server.get_heads().iter().map(|h| h.0).collect();
        store.absorb(header.id, None, 0, &changes, &heads).unwrap();
    })
}

/// Creating `n` courses (a citizen and a course each) on one device through the app service,
/// as the therapist's screens do: seconds per hundred.
fn creating_courses(n: usize) -> Vec<f64> {
    let (team, me) = (TeamId::new(), UserId::new());
    let (_dir, store) = therapist_device(team, me);
    let core = Core::new(
        Arc::new(Mutex::new(store)),
        shipped_library(),
        "http://127.0.0.1:9".into(),
    );
    let mut per_hundred = Vec::new();
    let mut t = Instant::now();
    for i in 0..n {
        let citizen = ops::create_citizen(
            &core,
            api::NewCitizen {
                name: format!("Borger {i}"),
                local_ref: format!("K-{i:05}"),
                address: None,
                assigned: vec![],
                birth_year: None,
                sex: None,
            },
        )
        .expect("a citizen");
        ops::create_course(
            &core,
            api::NewCourse {
                citizen_id: citizen.citizen_id,
                template_id: None,
                legal_basis: "SEL §83a".into(),
                start_date: "2024-01-08".into(),
                planned_weeks: 12,
                sessions_per_week: 2,
                minutes_per_session: 45,
                goals: vec!["Kan gå på trapper igen".into()],
                referral_id: None,
                test_plan: None,
            },
        )
        .expect("a course");
        if (i + 1) % 100 == 0 {
            per_hundred.push(t.elapsed().as_secs_f64());
            t = Instant::now();
        }
    }
    per_hundred
}

fn main() {
    let sizes: Vec<usize> = std::env::var("ABSORB_COURSES")
        .ok()
        .map(|s| s.split(',').filter_map(|n| n.trim().parse().ok()).collect())
        .unwrap_or_else(|| vec![100, 300]);
    let create: usize = std::env::var("ABSORB_CREATE")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(500);
    let mut json = Vec::new();
    for n in &sizes {
        let (wall, cpu) = cold_pull(*n);
        println!(
            "first sync of {n} courses × {SESSIONS} sessions ({} documents): {wall:.2} s wall, {cpu:.2} s CPU, {:.1} ms CPU per course",
            2 * n + 1,
            cpu * 1000.0 / *n as f64
        );
        json.push(format!(
            "\"cold_pull_{n}\":{{\"wall_s\":{wall:.3},\"cpu_s\":{cpu:.3},\"cpu_ms_per_course\":{:.2}}}",
            cpu * 1000.0 / *n as f64
        ));
    }
    let citizen_ms = one_citizen_changed(500, 20) * 1000.0;
    println!("a change to one citizen on a 500-citizen roster, absorbed: {citizen_ms:.2} ms (median of 20)");
    let set_ms = one_set_logged(20) * 1000.0;
    println!("one more set in a 30-session log, absorbed: {set_ms:.2} ms (median of 20)");
    let hundreds = creating_courses(create);
    println!(
        "creating {create} courses on one device, s per hundred: {}",
        hundreds
            .iter()
            .map(|s| format!("{s:.2}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    json.push(format!("\"one_citizen_of_500_ms\":{citizen_ms:.3}"));
    json.push(format!("\"one_set_in_30_session_log_ms\":{set_ms:.3}"));
    json.push(format!(
        "\"create_courses_s_per_hundred\":[{}]",
        hundreds
            .iter()
            .map(|s| format!("{s:.3}"))
            .collect::<Vec<_>>()
            .join(",")
    ));
    println!("{{{}}}", json.join(","));
}
