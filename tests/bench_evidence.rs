//! `scripts/bench evidence`: the leaders' evidence at national scale. A real server database
//! (SQLite, the server's own migrations) with 98 municipalities, 30,000 courses and 1,000,000
//! sessions generated straight into the read model's tables (documents that size would take
//! hours to write; the evidence never reads a document). Then:
//! - each evidence query's server time (p50 / p95 over many municipalities): referrals,
//!   staff, the municipality's completed courses, every municipality's (the benchmark), and
//!   the whole report as `evidence::report` computes it; a year of one municipality's
//!   sessions, courses and test results pulled as the BI feed's CSV; a month and a quarter
//!   of one municipality's care records as FHIR;
//! - the report over HTTP from the real `sync-server` process on that database;
//! - rebuilding the read model from documents (`Store::reproject`) on the demo seed with a
//!   year of history, per document and per session.
//!
//! Prints the figures; the last line is one JSON object. `EVIDENCE_COURSES` and
//! `EVIDENCE_SESSIONS` change the size.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use homerehab_scenarios::bin_dir;
use homerehab_shared::auth::Principal;
use homerehab_shared::evidence::targets::Period;
use homerehab_shared::ids::TeamId;
use homerehab_shared::model::Role;
use homerehab_sync_server::auth::Passwords;
use homerehab_sync_server::config::PasswordCost;
use homerehab_sync_server::evidence::{
    municipality_effects, report, BenchmarkCache, EvidenceQuery,
};
use homerehab_sync_server::seed::{seed_demo_sized, SeedSize};
use homerehab_sync_server::store::{
    AccountStore, EvidenceStore, NewUser, ReadModelStore, SqliteStore,
};
use rusqlite::params;
use time::macros::date;

const MUNICIPALITIES: usize = 98;
const TEAMS_PER: usize = 3;
const PASSWORD: &str = "bench-evidence-1";

fn env(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

/// p50 and p95 in milliseconds of `runs` calls of `f(i)`.
fn time(runs: usize, mut f: impl FnMut(usize)) -> (f64, f64) {
    let mut ms: Vec<f64> = (0..runs)
        .map(|i| {
            let t = Instant::now();
            f(i);
            t.elapsed().as_secs_f64() * 1000.0
        })
        .collect();
    ms.sort_by(f64::total_cmp);
    (percentile(&ms, 0.5), percentile(&ms, 0.95))
}

struct Place {
    teams: Vec<TeamId>,
    leader: Principal,
}

fn main() {
    let courses = env("EVIDENCE_COURSES", 30_000);
    let sessions = env("EVIDENCE_SESSIONS", 1_000_000);
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("server");
    std::fs::create_dir_all(&data).unwrap();
    let db_path = data.join("homerehab.sqlite3");
    let store = SqliteStore::open(&db_path).unwrap();
    let passwords = Passwords::new(PasswordCost::Insecure);
    let hash = passwords.hash(PASSWORD).unwrap();

    // Municipalities, teams and staff through the store, as the admin CLI makes them.
    let t = Instant::now();
    let mut places = Vec::new();
    let mut staff_ids: Vec<Vec<String>> = Vec::new();
    for m in 0..MUNICIPALITIES {
        let municipality = store
            .ensure_municipality(&format!("Kommune {m:02}"))
            .unwrap();
        let teams: Vec<TeamId> = (0..TEAMS_PER)
            .map(|k| {
                store
                    .ensure_team(municipality, &format!("Team {k}"))
                    .unwrap()
            })
            .collect();
        let mut ids = Vec::new();
        let mut leader = None;
        for (k, team) in teams.iter().enumerate() {
            for (u, role) in [
                Role::Therapist,
                Role::Therapist,
                Role::Assistant,
                Role::Assistant,
                Role::Assistant,
                Role::Assistant,
                Role::Leader,
            ]
            .into_iter()
            .enumerate()
            {
                let id = store
                    .create_user(&NewUser {
                        username: format!("m{m}-t{k}-u{u}"),
                        display_name: format!("Medarbejder {m}.{k}.{u}"),
                        password_hash: hash.clone(),
                        role,
                        team_id: *team,
                        granted_teams: vec![],
                    })
                    .unwrap();
                if role == Role::Leader && leader.is_none() {
                    leader = Some(store.user_by_username(&format!("m{m}-t{k}-u{u}")).unwrap());
                }
                if u < 6 {
                    ids.push(id.to_string());
                }
                if u % 2 == 0 {
                    store
                        .record_training(&format!("m{m}-t{k}-u{u}"), "2026-02-01")
                        .unwrap();
                }
            }
        }
        staff_ids.push(ids);
        places.push(Place {
            teams,
            leader: leader.unwrap().unwrap().principal(),
        });
    }
    drop(store);

    // The read model's rows, straight into its tables in one transaction.
    let mut conn = rusqlite::Connection::open(&db_path).unwrap();
    let tx = conn.transaction().unwrap();
    let doc = |kind: u8, i: usize| -> Vec<u8> {
        let mut b = vec![kind];
        b.extend_from_slice(&(i as u64).to_be_bytes());
        b
    };
    let sessions_per_course = sessions / courses.max(1);
    {
        let mut course = tx
            .prepare(
                "INSERT INTO rm_courses (doc_id, course_id, citizen_id, team_id, legal_basis,
                   start_date, planned_weeks, sessions_per_week, status, responsible_therapist,
                   created_at) VALUES (?1, ?2, ?3, ?4, 'SEL §83a', ?5, 12, 3, ?6, ?7, 0)",
            )
            .unwrap();
        let mut citizen = tx
            .prepare(
                "INSERT INTO rm_citizens (doc_id, citizen_id, team_id, birth_year, sex, active)
                 VALUES (?1, ?2, ?3, 1940, 'female', 1)",
            )
            .unwrap();
        let mut referral = tx
            .prepare(
                "INSERT INTO rm_referrals (doc_id, referral_id, citizen_id, team_id, referred_on,
                   referred_by, screened_on, screened_by, outcome, not_included_reason, course_id)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?5, ?6, ?7, ?8, ?9)",
            )
            .unwrap();
        let mut result = tx
            .prepare(
                "INSERT INTO rm_test_results (doc_id, result_id, course_id, test, phase, value,
                   date, measured_by) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            )
            .unwrap();
        let mut grant = tx
            .prepare(
                // Imported on the day of the figures, so every follow-up that has come is known.
                "INSERT INTO rm_care_grants (doc_id, citizen_id, team_id, effective,
                   minutes_per_week, service_code, recorded_on)
                 VALUES (?1, ?2, ?3, ?4, ?5, NULL, '2026-12-01')",
            )
            .unwrap();
        let mut session = tx
            .prepare(
                "INSERT INTO rm_sessions (doc_id, session_id, course_id, performed_by,
                   started_at, ended_at, status, not_carried_out, set_count, general_condition)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, NULL, 12, 4)",
            )
            .unwrap();
        let mut delivery = tx
            .prepare("INSERT INTO rm_deliveries (doc_id, course_id, delivered) VALUES (?1, ?2, ?3)")
            .unwrap();
        let mut work = tx
            .prepare("INSERT INTO rm_work (doc_id, user_id, work, last_on) VALUES (?1, ?2, ?3, ?4)")
            .unwrap();
        for c in 0..courses {
            let m = c % MUNICIPALITIES;
            let place = &places[m];
            let team = place.teams[c % TEAMS_PER].to_string();
            let staff = &staff_ids[m];
            let therapist = &staff[(c / MUNICIPALITIES) % 2];
            let assistant = &staff[2 + (c / MUNICIPALITIES) % 4];
            // Shaped as the UUIDs real ids are (the care record feed names courses by them).
            let (course_id, citizen_id) = (
                format!("00000000-0000-4000-8000-{c:012}"),
                format!("00000000-0000-4000-9000-{c:012}"),
            );
            // Starts spread over 2025–2026; most completed, some running or ended early.
            let start = date!(2025 - 01 - 06) + time::Duration::days((c * 7 % 640) as i64);
            let status = match c % 10 {
                0 => "active",
                1 => "ended_early",
                _ => "completed",
            };
            course
                .execute(params![
                    doc(1, c),
                    course_id,
                    citizen_id,
                    team,
                    start.to_string(),
                    status,
                    therapist
                ])
                .unwrap();
            citizen
                .execute(params![doc(0, m), citizen_id, team])
                .unwrap();
            let included = c % 7 != 3;
            referral
                .execute(params![
                    doc(0, m),
                    format!("referral-{c}"),
                    citizen_id,
                    team,
                    (start - time::Duration::days(10)).to_string(),
                    therapist,
                    if included { "included" } else { "not_included" },
                    (!included).then_some("declined"),
                    included.then_some(course_id.clone())
                ])
                .unwrap();
            let end = start + time::Duration::days(83);
            for (k, (test, phase, value, on)) in [
                ("chair_stand_30s", "start", 8.0 + (c % 4) as f64, start),
                ("chair_stand_30s", "end", 8.0 + (c % 7) as f64, end),
                ("who5", "start", 44.0 + (c % 5) as f64 * 4.0, start),
                ("who5", "end", 40.0 + (c % 9) as f64 * 4.0, end),
            ]
            .into_iter()
            .enumerate()
            {
                if k % 2 == 1 && c % 3 == 0 {
                    continue; // a third have no end result
                }
                result
                    .execute(params![
                        doc(1, c),
                        format!("r-{c}-{k}"),
                        course_id,
                        test,
                        phase,
                        value,
                        on.to_string(),
                        therapist
                    ])
                    .unwrap();
            }
            if c % 2 == 0 {
                grant
                    .execute(params![
                        doc(0, m),
                        citizen_id,
                        team,
                        "2024-06-01",
                        300 + (c % 200) as i64
                    ])
                    .unwrap();
                grant
                    .execute(params![
                        doc(0, m),
                        citizen_id,
                        team,
                        (end + time::Duration::days(20)).to_string(),
                        260 + (c % 150) as i64
                    ])
                    .unwrap();
            }
            let log = doc(2, c);
            let start_ms = (start - date!(1970 - 01 - 01)).whole_days() * 86_400_000;
            for s in 0..sessions_per_course {
                let at = start_ms + (s as i64) * 2 * 86_400_000;
                let status = if s % 9 == 8 {
                    "not_carried_out"
                } else {
                    "completed"
                };
                session
                    .execute(params![
                        log,
                        format!("s-{c}-{s}"),
                        course_id,
                        assistant,
                        at,
                        at + 900_000,
                        status
                    ])
                    .unwrap();
                // One row per day of work, as the projection writes them.
                let day = start + time::Duration::days(2 * s as i64);
                work.execute(params![log, assistant, "logged_session", day.to_string()])
                    .unwrap();
            }
            delivery
                .execute(params![
                    log,
                    course_id,
                    (sessions_per_course - sessions_per_course / 9) as i64
                ])
                .unwrap();
            work.execute(params![
                doc(1, c),
                therapist,
                "edited_program",
                start.to_string()
            ])
            .unwrap();
        }
    }
    tx.commit().unwrap();
    drop(conn);
    let generated_s = t.elapsed().as_secs_f64();
    println!(
        "generated: {MUNICIPALITIES} municipalities, {courses} courses, {} sessions in {generated_s:.1} s",
        sessions_per_course * courses
    );

    let store = SqliteStore::open(&db_path).unwrap();
    let period = Period::new(date!(2025 - 01 - 01), date!(2026 - 12 - 31)).unwrap();
    let today = date!(2026 - 12 - 01);
    let runs = 40;
    let mut figures = serde_json::Map::new();
    let mut line = |name: &str, (p50, p95): (f64, f64)| {
        println!("{name:<40} p50 {p50:>8.1} ms   p95 {p95:>8.1} ms");
        figures.insert(
            format!("{name}_p50_ms"),
            serde_json::json!((p50 * 10.0).round() / 10.0),
        );
        figures.insert(
            format!("{name}_p95_ms"),
            serde_json::json!((p95 * 10.0).round() / 10.0),
        );
    };
    let pick = |i: usize| &places[(i * 37) % MUNICIPALITIES];
    line(
        "referrals (one municipality)",
        time(runs, |i| {
            store.evidence_referrals(&pick(i).teams, period).unwrap();
        }),
    );
    line(
        "staff (one municipality)",
        time(runs, |i| {
            store
                .evidence_staff(&pick(i).teams, date!(2026 - 12 - 01))
                .unwrap();
        }),
    );
    line(
        "completed courses (one municipality)",
        time(runs, |i| {
            store
                .completed_courses(Some(&pick(i).teams), period)
                .unwrap();
        }),
    );
    line(
        "completed courses (all, the benchmark)",
        time(10, |_| {
            store.completed_courses(None, period).unwrap();
        }),
    );
    let q = EvidenceQuery {
        from: period.start,
        to: period.end,
        team: None,
        therapist: None,
        as_of: None,
    };
    let suppression = Default::default();
    // Seven whole quarters, 2025 Q1 to 2026 Q3, judged as of 30 September 2026.
    let bench_scope = homerehab_shared::evidence::report::BenchmarkScope::of(period, today)
        .expect("quarters of the period have ended");
    line(
        "benchmark, computed (all municipalities)",
        time(10, |_| {
            let teams = store.teams().unwrap();
            let municipalities = store.municipalities().unwrap();
            municipality_effects(
                &store,
                &teams,
                &municipalities,
                &Default::default(),
                &bench_scope,
            )
            .unwrap();
        }),
    );
    // Each report with the benchmark computed afresh (a cache per call), then as the server
    // answers: the benchmark kept (BENCHMARK_MAX_AGE), the own municipality live.
    line(
        "report, benchmark computed",
        time(10, |i| {
            report(
                &store,
                &pick(i).leader,
                &q,
                today,
                suppression,
                &BenchmarkCache::default(),
            )
            .unwrap();
        }),
    );
    let kept = BenchmarkCache::default();
    report(&store, &pick(0).leader, &q, today, suppression, &kept).unwrap();
    line(
        "report, benchmark kept",
        time(runs, |i| {
            report(&store, &pick(i).leader, &q, today, suppression, &kept).unwrap();
        }),
    );
    let sample = report(&store, &pick(0).leader, &q, today, suppression, &kept).unwrap();
    println!(
        "  one report: {} citizens through courses, {} benchmark rows, {} KiB of JSON",
        sample.effect.completeness.citizens,
        sample.benchmark.len(),
        serde_json::to_vec(&sample).unwrap().len() / 1024
    );
    // The BI feed: a year of one municipality's table as its admin pulls it (the rows read,
    // written as CSV and the pull put in the audit log).
    let year = Period::new(date!(2026 - 01 - 01), date!(2026 - 12 - 31)).unwrap();
    let admin_of = |i: usize| Principal {
        role: Role::Admin,
        ..pick(i).leader.clone()
    };
    for table in ["sessions", "courses", "test_results"] {
        let mut bytes = 0;
        line(
            &format!("BI export, a year of {table} (one municipality)"),
            time(runs, |i| {
                let (_, file) = homerehab_sync_server::evidence::export(
                    &store,
                    &admin_of(i),
                    table,
                    year,
                    Default::default(),
                    homerehab_sync_server::store::now_ms(),
                )
                .unwrap();
                bytes = file.len();
            }),
        );
        println!("  one file: {} KiB", bytes / 1024);
    }
    // The care record feed: a month and a quarter of one municipality as FHIR (its rows read,
    // its rosters' case references, the Bundle written, each course put in the audit log).
    for (name, period) in [
        (
            "a month",
            Period::new(date!(2026 - 03 - 01), date!(2026 - 03 - 31)).unwrap(),
        ),
        (
            "a quarter",
            Period::new(date!(2026 - 01 - 01), date!(2026 - 03 - 31)).unwrap(),
        ),
    ] {
        let mut bytes = 0;
        line(
            &format!("care records, {name} (one municipality, FHIR)"),
            time(runs, |i| {
                bytes = homerehab_sync_server::care_record::pull(
                    &store,
                    &admin_of(i),
                    period,
                    homerehab_sync_server::store::now_ms(),
                )
                .unwrap()
                .len();
            }),
        );
        println!("  one Bundle: {} KiB", bytes / 1024);
    }
    drop(store);

    // The report over HTTP from the real server process on this database.
    let port = homerehab_scenarios::free_port();
    let mut server = Command::new(bin_dir().join("sync-server"))
        .arg("--data-dir")
        .arg(&data)
        .arg("--bind")
        .arg(format!("127.0.0.1:{port}"))
        .arg("serve")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .spawn()
        .expect("the release sync-server (scripts/bench builds it)");
    let url = format!("http://127.0.0.1:{port}");
    let deadline = Instant::now() + Duration::from_secs(30);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "the server did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    let rt = tokio::runtime::Runtime::new().unwrap();
    let http = rt.block_on(async {
        let client = reqwest::Client::new();
        let login: serde_json::Value = client
            .post(format!("{url}/v1/login"))
            .json(
                &serde_json::json!({"username": "m0-t0-u6", "password": PASSWORD,
                "actor_id": "00112233445566778899aabbccddeeff"}),
            )
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let token = login["token"].as_str().expect("a token").to_string();
        let mut ms = Vec::new();
        for _ in 0..41 {
            let t = Instant::now();
            let r = client
                .get(format!(
                    "{url}/v1/evidence?from=2025-01-01&to=2026-12-31&as_of=2026-12-01"
                ))
                .bearer_auth(&token)
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 200);
            r.bytes().await.unwrap();
            ms.push(t.elapsed().as_secs_f64() * 1000.0);
        }
        // The first computed the benchmark; the rest found it kept.
        let first = ms.remove(0);
        println!("report over HTTP, first (benchmark computed): {first:.1} ms");
        ms.sort_by(f64::total_cmp);
        (percentile(&ms, 0.5), percentile(&ms, 0.95))
    });
    server.kill().ok();
    server.wait().ok();
    line("report over HTTP, benchmark kept", http);

    // Rebuilding the read model from documents: the demo seed with a year of sessions.
    let rebuild_dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&rebuild_dir.path().join("db.sqlite3")).unwrap();
    let seeded = seed_demo_sized(
        &store,
        &passwords,
        homerehab_core::store::now_ms(),
        SeedSize {
            citizens_per_team: 50,
            history_weeks: Some(52),
        },
    )
    .unwrap();
    let t = Instant::now();
    let rebuilt = store.reproject().unwrap();
    let rebuild_s = t.elapsed().as_secs_f64();
    let sessions_rebuilt: i64 = rusqlite::Connection::open(rebuild_dir.path().join("db.sqlite3"))
        .unwrap()
        .query_row("SELECT COUNT(*) FROM rm_sessions", [], |r| r.get(0))
        .unwrap();
    let per_doc_ms = rebuild_s * 1000.0 / rebuilt.projected.max(1) as f64;
    let sessions_per_s = sessions_rebuilt as f64 / rebuild_s;
    println!(
        "rebuild from documents: {} documents ({} sessions) in {rebuild_s:.1} s: {per_doc_ms:.1} ms a document, {sessions_per_s:.0} sessions/s (seeded {} documents)",
        rebuilt.projected, sessions_rebuilt, seeded.documents_created
    );
    println!(
        "  so 1,000,000 sessions would take about {:.0} min to rebuild",
        1_000_000.0 / sessions_per_s / 60.0
    );
    figures.insert("courses".into(), courses.into());
    figures.insert("sessions".into(), (sessions_per_course * courses).into());
    figures.insert("municipalities".into(), MUNICIPALITIES.into());
    figures.insert("rebuild_documents".into(), rebuilt.projected.into());
    figures.insert("rebuild_sessions".into(), sessions_rebuilt.into());
    figures.insert(
        "rebuild_s".into(),
        ((rebuild_s * 10.0).round() / 10.0).into(),
    );
    figures.insert(
        "rebuild_sessions_per_s".into(),
        (sessions_per_s.round()).into(),
    );
    println!("{}", serde_json::Value::Object(figures));
}
