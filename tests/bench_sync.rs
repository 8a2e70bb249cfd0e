//! `scripts/bench sync`: the sync benchmark against the real server on loopback.
//!
//! Prints figures as it goes; the last line is one JSON object (keys fixed by issue #3).

use homerehab_core::client;
use homerehab_scenarios::*;
use homerehab_shared::ids::*;
use homerehab_shared::model::*;
use homerehab_shared::sync::{wire, ClientRound};
use std::time::Instant;

const DOCS_COURSES: usize = 100; // 100 courses = 200 documents (course + session log)
const CHANGED: usize = 10;
const ROUNDS: usize = 10;

fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> anyhow::Result<()> {
    let tmp = tempfile::tempdir()?;
    let server = Server::start(&tmp.path().join("server"));
    server.create_team("Bench");
    server.create_user("terapeut", "therapist", "Bench");
    server.create_user("assistent", "assistant", "Bench");
    let laptop = Device::login(&tmp.path().join("laptop"), &server, "terapeut").await;
    let courses: Vec<CourseId> = (0..DOCS_COURSES)
        .map(|_| create_course(&laptop, CitizenId::new()))
        .collect();
    laptop.sync().await;
    let tablet = Device::login(&tmp.path().join("tablet"), &server, "assistent").await;
    tablet.sync().await;
    let docs_total = tablet.store().document_count()? as usize;
    println!("setup: {docs_total} documents on the tablet");

    // 1. Reconnect with 200 documents of which 10 changed, repeated for stable CPU figures.
    let (mut rt, mut up, mut down) = (0u32, 0usize, 0usize);
    let mut cpu_changed = 0.0;
    for r in 0..ROUNDS {
        for c in courses
            .iter()
            .skip(r * CHANGED % DOCS_COURSES)
            .take(CHANGED)
        {
            log_session(&tablet, *c);
        }
        let cpu0 = server.cpu_ms();
        let (report, traffic) = client::sync_now(&tablet.store).await?;
        cpu_changed += server.cpu_ms() - cpu0;
        assert_eq!(report.pushed as usize, CHANGED);
        rt = rt.max(report.round_trips);
        up += traffic.bytes_up;
        down += traffic.bytes_down;
    }
    let (bytes_up, bytes_down) = (up / ROUNDS, down / ROUNDS);
    println!("reconnect {docs_total} docs, {CHANGED} changed: {rt} round trips, {bytes_up} B up, {bytes_down} B down");

    // 2. Unchanged reconnects: the server answers from stored heads.
    let unchanged_rounds = 50;
    let cpu0 = server.cpu_ms();
    let mut unchanged_up = 0;
    for _ in 0..unchanged_rounds {
        let (report, traffic) = client::sync_now(&tablet.store).await?;
        assert_eq!(report.unchanged as usize, docs_total);
        unchanged_up = traffic.bytes_up;
    }
    let cpu_unchanged = server.cpu_ms() - cpu0;
    let per_unchanged = cpu_unchanged / (unchanged_rounds * docs_total) as f64;
    // The changed rounds also carried 190 unchanged entries each; subtract their share.
    let per_changed = (cpu_changed - per_unchanged * ((docs_total - CHANGED) * ROUNDS) as f64)
        / (CHANGED * ROUNDS) as f64;
    println!(
        "server CPU: {per_changed:.3} ms per changed doc, {per_unchanged:.4} ms per unchanged doc"
    );

    // 3. Bytes up for one 24-set session: a sync with one changed document minus the manifest.
    log_session(&tablet, courses[0]);
    let (_, traffic) = client::sync_now(&tablet.store).await?;
    let session_bytes = traffic.bytes_up.saturating_sub(unchanged_up);
    println!(
        "one 24-set session: {session_bytes} B up (compressed, over the {unchanged_up} B manifest)"
    );

    // 4. Time to durably log one set (SQLite commit with synchronous=FULL).
    let mut times = Vec::new();
    {
        let mut s = tablet.store();
        let lines: Vec<_> = s
            .course_doc(courses[1])?
            .program
            .ordered()
            .into_iter()
            .cloned()
            .collect();
        // 4 sessions × 3 exercises × 50 sets (the most one exercise takes) = 600 timed sets.
        for _ in 0..4 {
            let session = s.start_session(courses[1])?;
            for line in &lines {
                for i in 0..MAX_SETS_PER_EXERCISE as i64 {
                    let entry = LogSet {
                        course: courses[1],
                        session: session.id,
                        line: line.id,
                        set: SetLog {
                            reps: Some(10),
                            duration_s: None,
                            load_kg: None,
                            at: homerehab_core::store::now_ms() + i,
                        },
                    };
                    let t0 = Instant::now();
                    s.log_set(&entry)?;
                    times.push(t0.elapsed().as_secs_f64() * 1000.0);
                }
            }
        }
    }
    times.sort_by(f64::total_cmp);
    let (p50, p99) = (percentile(&times, 0.5), percentile(&times, 0.99));
    println!("log one set: p50 {p50:.3} ms, p99 {p99:.3} ms");

    // 4b. The same taps as the app's operation made them before issue #10: read the course
    // document to find the line, write, then re-read the session to count its sets. The
    // operation is now the one `log_set` call above.
    let mut taps = Vec::new();
    {
        let mut s = tablet.store();
        let course = courses[2];
        let lines: Vec<_> = s
            .course_doc(course)?
            .program
            .ordered()
            .into_iter()
            .map(|l| l.id)
            .collect();
        for _ in 0..4 {
            let session = s.start_session(course)?;
            for line in &lines {
                for i in 0..MAX_SETS_PER_EXERCISE as i64 {
                    let t0 = Instant::now();
                    let found = s.course_doc(course)?.program.exercises[&line.to_string()].id;
                    s.log_set(&LogSet {
                        course,
                        session: session.id,
                        line: found,
                        set: SetLog {
                            reps: Some(10),
                            duration_s: None,
                            load_kg: None,
                            at: homerehab_core::store::now_ms() + i,
                        },
                    })?;
                    let log = homerehab_shared::docs::read_session(
                        s.document(DocumentId::session_log_of(course))?,
                        &session.id.to_string(),
                    )?
                    .expect("just written");
                    std::hint::black_box(log.exercises[&line.to_string()].sets.len());
                    taps.push(t0.elapsed().as_secs_f64() * 1000.0);
                }
            }
        }
    }
    taps.sort_by(f64::total_cmp);
    let (tap50, tap99) = (percentile(&taps, 0.5), percentile(&taps, 0.99));
    println!("a tap as the operation made it before #10 (course read + write + session re-read): p50 {tap50:.3} ms, p99 {tap99:.3} ms");

    // 4d. The encryption's own cost on a logged set, A/B at the same moment: two stores
    // with the same course, one plain (never signed in: nothing encrypts it) and one
    // encrypted, their sets logged alternately so both see the same load and fsyncs.
    let ab = |name: &str, encrypted: bool| -> anyhow::Result<(Device, CourseId)> {
        let dir = tmp.path().join(name);
        let store = homerehab_core::store::Store::open(&dir)?;
        let me = homerehab_core::store::Identity {
            user_id: UserId::new(),
            username: "ab".into(),
            display_name: "AB".into(),
            role: Role::Therapist,
            team_id: TeamId::new(),
            server_url: server.url(),
            token: "bench".into(),
            expires_at: i64::MAX,
            municipality_id: None,
            granted_teams: vec![],
        };
        store.set_identity(&me)?;
        let device = Device {
            dir,
            store: std::sync::Arc::new(std::sync::Mutex::new(store)),
        };
        if encrypted {
            let secret = homerehab_core::keys::ServerSecret::from_hex(&"5a".repeat(32))?;
            device.store().secure_for(me.user_id, &secret)?;
        }
        let course = create_course(&device, CitizenId::new());
        Ok((device, course))
    };
    let (plain, plain_course) = ab("ab-plain", false)?;
    let (sealed, sealed_course) = ab("ab-encrypted", true)?;
    anyhow::ensure!(!plain.store().is_encrypted() && sealed.store().is_encrypted());
    let (mut plain_times, mut sealed_times) = (Vec::new(), Vec::new());
    {
        let mut ps = plain.store();
        let mut es = sealed.store();
        let line_of = |s: &mut homerehab_core::store::Store, c| -> anyhow::Result<_> {
            Ok(s.course_doc(c)?.program.ordered()[0].id)
        };
        let (pl, el) = (
            line_of(&mut ps, plain_course)?,
            line_of(&mut es, sealed_course)?,
        );
        let mut sessions = (
            ps.start_session(plain_course)?.id,
            es.start_session(sealed_course)?.id,
        );
        for i in 0..600i64 {
            if i % 50 == 0 && i > 0 {
                sessions = (
                    ps.start_session(plain_course)?.id,
                    es.start_session(sealed_course)?.id,
                );
            }
            let set = SetLog {
                reps: Some(10),
                duration_s: None,
                load_kg: None,
                at: homerehab_core::store::now_ms() + i,
            };
            for (s, course, session, line, times) in [
                (&mut ps, plain_course, sessions.0, pl, &mut plain_times),
                (&mut es, sealed_course, sessions.1, el, &mut sealed_times),
            ] {
                let entry = LogSet {
                    course,
                    session,
                    line,
                    set: set.clone(),
                };
                let t0 = Instant::now();
                s.log_set(&entry)?;
                times.push(t0.elapsed().as_secs_f64() * 1000.0);
            }
        }
    }
    plain_times.sort_by(f64::total_cmp);
    sealed_times.sort_by(f64::total_cmp);
    let (plain50, plain99) = (
        percentile(&plain_times, 0.5),
        percentile(&plain_times, 0.99),
    );
    let (sealed50, sealed99) = (
        percentile(&sealed_times, 0.5),
        percentile(&sealed_times, 0.99),
    );
    println!(
        "log one set, same moment: plain p50 {plain50:.3} / p99 {plain99:.3} ms; encrypted p50 {sealed50:.3} / p99 {sealed99:.3} ms"
    );

    // 4c. Start → today's visits with the encrypted store (issue #14): the tablet's app
    // restarted — the store opened (sealed), the PIN's argon2id unwrap of the data key, the
    // database keyed and checked, then the visits query over its 100 courses.
    let tablet_dir = tablet.dir.clone();
    drop(tablet);
    let mut starts = Vec::new();
    let mut unwraps = Vec::new();
    for _ in 0..5 {
        let t0 = Instant::now();
        let mut s = homerehab_core::store::Store::open(&tablet_dir)?;
        anyhow::ensure!(s.is_sealed(), "the store is encrypted");
        let t1 = Instant::now();
        s.unlock(TEST_PIN)?;
        unwraps.push(t1.elapsed().as_secs_f64() * 1000.0);
        let now = homerehab_core::store::now_ms();
        let rows = s.visit_rows(homerehab_shared::schedule::week_start(now), None)?;
        anyhow::ensure!(rows.len() == DOCS_COURSES, "{} visits", rows.len());
        starts.push(t0.elapsed().as_secs_f64() * 1000.0);
    }
    starts.sort_by(f64::total_cmp);
    unwraps.sort_by(f64::total_cmp);
    let (start_median, start_max) = (starts[2], starts[4]);
    println!(
        "start → today's visits (open, PIN unwrap, {DOCS_COURSES} visits): median {start_median:.1} ms, max {start_max:.1} ms; of which the PIN unwrap + keyed open median {:.1} ms",
        unwraps[2]
    );

    // 5. Throughput: 50 concurrent tablets, each pushing changed documents.
    let clients = 50;
    let per_client = 4;
    let mut tablets = Vec::new();
    for i in 0..clients {
        let d = Device::login(&tmp.path().join(format!("t{i}")), &server, "assistent").await;
        d.sync().await;
        tablets.push(d);
    }
    for (i, d) in tablets.iter().enumerate() {
        for k in 0..per_client {
            log_session(d, courses[(i * per_client + k) % DOCS_COURSES]);
        }
    }
    // Requests are prepared first and fired together, so the figure is the server's: the
    // 50 devices' own work (absorbing the answers) runs in this process and would compete.
    let http = reqwest::Client::new();
    let mut requests = Vec::new();
    let mut pushed = 0;
    for d in &tablets {
        let mut s = d.store();
        let me = s.identity()?.expect("signed in");
        let (_, req) = ClientRound::begin(&mut *s)?;
        pushed += req.offers.iter().filter(|o| !o.changes.is_empty()).count();
        requests.push((me.token, wire::encode(&req)));
    }
    let url = format!("{}/v1/sync", server.url());
    let t0 = Instant::now();
    let handles: Vec<_> = requests
        .into_iter()
        .map(|(token, body)| {
            let (http, url) = (http.clone(), url.clone());
            tokio::spawn(async move {
                let resp = http.post(url).bearer_auth(token).body(body).send().await?;
                anyhow::ensure!(resp.status().is_success(), "sync failed: {}", resp.status());
                resp.bytes().await?;
                Ok(())
            })
        })
        .collect();
    for h in handles {
        h.await??;
    }
    let secs = t0.elapsed().as_secs_f64();
    let changed_docs_per_s = pushed as f64 / secs;
    println!("{clients} concurrent clients: {pushed} changed docs in {secs:.2} s = {changed_docs_per_s:.0} changed docs/s");

    println!(
        "{}",
        serde_json::json!({
            "docs_total": docs_total,
            "docs_changed": CHANGED,
            "round_trips": rt,
            "bytes_up": bytes_up,
            "bytes_down": bytes_down,
            "server_cpu_ms_per_changed_doc": (per_changed * 1000.0).round() / 1000.0,
            "server_cpu_ms_per_unchanged_doc": (per_unchanged * 10000.0).round() / 10000.0,
            "session_bytes_up_compressed": session_bytes,
            "log_set_ms_p50": (p50 * 1000.0).round() / 1000.0,
            "log_set_ms_p99": (p99 * 1000.0).round() / 1000.0,
            "tap_as_before_10_ms_p50": (tap50 * 1000.0).round() / 1000.0,
            "tap_as_before_10_ms_p99": (tap99 * 1000.0).round() / 1000.0,
            "changed_docs_per_s": changed_docs_per_s.round(),
            "log_set_plain_ms_p50": (plain50 * 1000.0).round() / 1000.0,
            "log_set_plain_ms_p99": (plain99 * 1000.0).round() / 1000.0,
            "log_set_encrypted_ms_p50": (sealed50 * 1000.0).round() / 1000.0,
            "log_set_encrypted_ms_p99": (sealed99 * 1000.0).round() / 1000.0,
            "start_to_visits_ms_median": (start_median * 10.0).round() / 10.0,
            "start_to_visits_ms_max": (start_max * 10.0).round() / 10.0,
        })
    );
    Ok(())
}
