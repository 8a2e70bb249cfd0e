//! One device folder, several processes (issue #9, finding 1), and a shared tablet changing
//! hands (finding 5): the real `homerehab` CLI, `homerehab-app` and `sync-server` processes on
//! real SQLite files. "Another process" that ignores the folder lock — an older binary — is
//! this test process writing to the store's file with rusqlite.

use automerge::{ActorId, Automerge};
use homerehab_core::client;
use homerehab_core::store::now_ms;
use homerehab_scenarios::*;
use homerehab_shared::docs;
use homerehab_shared::ids::*;
use homerehab_shared::model::*;
use rusqlite::{params, Connection};
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

struct Team {
    tmp: tempfile::TempDir,
    server: Server,
    laptop: Device,
    course: CourseId,
}

/// A therapist's course with a 24-set program, synced; its assistant's tablet is `tablet_dir`.
async fn team_with_course() -> Team {
    let tmp = tempfile::tempdir().unwrap();
    let server = Server::start(&tmp.path().join("server"));
    server.create_team("Hjemmepleje Nord");
    server.create_user("terapeut", "therapist", "Hjemmepleje Nord");
    server.create_user("assistent1", "assistant", "Hjemmepleje Nord");
    let laptop = Device::login(&tmp.path().join("laptop"), &server, "terapeut").await;
    let citizen = citizen("Karen Madsen");
    laptop.store().put_citizen(&citizen).unwrap();
    let course = create_course(&laptop, citizen.id);
    laptop.sync().await;
    let tablet = Device::login(&tmp.path().join("tablet"), &server, "assistent1").await;
    tablet.sync().await;
    Team {
        tmp,
        server,
        laptop,
        course,
    }
}

impl Team {
    fn tablet_dir(&self) -> std::path::PathBuf {
        self.tmp.path().join("tablet")
    }
}

/// The store's file, opened as another process that knows nothing of the folder lock.
fn older_binary(dir: &Path) -> Connection {
    let c = Connection::open(dir.join("homerehab.sqlite3")).unwrap();
    // The store is encrypted: another writer needs the key too.
    c.pragma_update(None, "key", device_key(dir)).unwrap();
    c.busy_timeout(Duration::from_secs(10)).unwrap();
    c
}

/// A document as it is on disk: snapshot and change rows.
fn doc_on_disk(c: &Connection, id: DocumentId) -> Automerge {
    let snapshot: Vec<u8> = c
        .query_row(
            "SELECT snapshot FROM documents WHERE doc_id = ?1",
            [id.as_bytes().as_slice()],
            |r| r.get(0),
        )
        .unwrap();
    let mut doc = Automerge::load(&snapshot).unwrap();
    let mut stmt = c
        .prepare("SELECT bytes FROM doc_changes WHERE doc_id = ?1 ORDER BY seq")
        .unwrap();
    let rows = stmt
        .query_map([id.as_bytes().as_slice()], |r| r.get::<_, Vec<u8>>(0))
        .unwrap();
    for bytes in rows {
        doc.load_incremental(&bytes.unwrap()).unwrap();
    }
    doc
}

/// A new session in `doc` (a session log) made with `actor`: its raw change bytes.
fn session_change(
    doc: &Automerge,
    actor: ActorId,
    course: CourseId,
    by: UserId,
) -> (SessionId, Vec<u8>) {
    let mut copy = doc.fork();
    copy.set_actor(actor);
    let before = copy.get_heads();
    let session = SessionLog::start(course, by, None, now_ms())
        .not_carried_out(NotCarriedOutReason::NotAtHome, None);
    docs::put_session(&mut copy, &session, now_ms()).unwrap();
    let bytes = copy
        .get_changes(&before)
        .iter()
        .flat_map(|c| c.raw_bytes().to_vec())
        .collect();
    (session.id, bytes)
}

fn device_actor(c: &Connection) -> ActorId {
    let bytes: Vec<u8> = c
        .query_row("SELECT value FROM meta WHERE key = 'actor'", [], |r| {
            r.get(0)
        })
        .unwrap();
    ActorId::from(bytes.as_slice())
}

/// The sessions of `course` on the server, as the therapist's laptop receives them.
async fn sessions_on_server(t: &Team) -> Vec<SessionId> {
    t.laptop.sync().await;
    let log = t.laptop.store().session_log(t.course).unwrap();
    log.sessions.values().map(|s| s.id).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_process_on_a_data_folder_is_refused_and_changes_nothing() {
    let t = team_with_course().await;
    let dir = t.tablet_dir();
    let file = dir.join("homerehab.sqlite3");
    let app = AppProcess::start(&dir, &t.server.url());
    // Let the app's first background sync finish, then take the file as it is.
    std::thread::sleep(Duration::from_millis(1500));
    let before = std::fs::read(&file).unwrap();
    let out = run_device_cli(&dir, &["log-session", "--course", &t.course.to_string()]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "a second process was let in");
    assert!(
        stderr.contains(&format!(
            "in use by another Homerehab process (pid {})",
            app.pid()
        )),
        "{stderr}"
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "",
        "nothing was confirmed"
    );
    assert!(
        std::fs::read(&file).unwrap() == before,
        "the refused process changed the store"
    );
    // A second app on the same folder does not start either.
    let second = Command::new(binary("homerehab-app"))
        .arg("--data-dir")
        .arg(&dir)
        .arg("--bind")
        .arg("127.0.0.1:0")
        .output()
        .unwrap();
    assert!(!second.status.success());
    assert!(String::from_utf8_lossy(&second.stderr).contains("in use by another Homerehab process"));
    // Once the app is gone the folder is free again.
    drop(app);
    succeeded(run_device_cli(
        &dir,
        &["log-session", "--course", &t.course.to_string()],
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_change_another_process_stored_survives_compaction_and_reaches_the_server() {
    let t = team_with_course().await;
    let dir = t.tablet_dir();
    let log = DocumentId::session_log_of(t.course);
    let me = Device::open(&dir).me();
    // The other process has its own actor registered for the same user (its own sign-in).
    let other = ActorId::random();
    let resp = reqwest::Client::new()
        .post(format!("{}/v1/login", t.server.url()))
        .json(&serde_json::json!({
            "username": "assistent1", "password": PASSWORD, "actor_id": other.to_hex_string()
        }))
        .send()
        .await
        .unwrap();
    assert!(resp.status().is_success());
    // Fill the log until about 100 more sets make it compact: late in the CLI's run below.
    {
        let tablet = Device::open(&dir);
        let db = older_binary(&dir);
        let mut s = tablet.store();
        let line = s.course_doc(t.course).unwrap().program.ordered()[0].clone();
        let mut session = s.start_session(t.course).unwrap().id;
        let set = SetLog {
            reps: Some(10),
            duration_s: None,
            load_kg: None,
            at: now_ms(),
        };
        let mut previous = i64::MAX;
        for n in 1u32.. {
            if n % 40 == 0 {
                session = s.start_session(t.course).unwrap().id;
            }
            s.log_set(&LogSet {
                course: t.course,
                session,
                line: line.id,
                set: set.clone(),
            })
            .unwrap();
            let (incremental, snapshot): (i64, i64) = db
                .query_row(
                    "SELECT incremental_bytes, length(snapshot) FROM documents WHERE doc_id = ?1",
                    [log.as_bytes().as_slice()],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .unwrap();
            let per_set = incremental - previous;
            previous = incremental;
            if n % 40 != 0 && per_set > 0 && incremental + 100 * per_set > snapshot.max(32 * 1024) {
                break;
            }
        }
    }

    // The other process holds SQLite's write lock while the CLI starts: the CLI reads the
    // course and the log (an older CLI keeps the log in memory) and then waits for the lock
    // (its busy timeout is 5 s) while the other process adds its change.
    let db = older_binary(&dir);
    db.execute_batch("BEGIN IMMEDIATE").unwrap();
    let mut cli_run = device_cli(&dir)
        .args([
            "log-session",
            "--course",
            &t.course.to_string(),
            "--sets",
            "50",
        ])
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(2000));
    let (elsewhere, bytes) = session_change(&doc_on_disk(&db, log), other, t.course, me.user_id);
    let row: i64 = db
        .query_row(
            "INSERT INTO doc_changes (doc_id, bytes) VALUES (?1, ?2) RETURNING seq",
            params![log.as_bytes().as_slice(), bytes],
            |r| r.get(0),
        )
        .unwrap();
    db.execute(
        "INSERT OR IGNORE INTO outbox (doc_id, since) VALUES (?1, ?2)",
        params![log.as_bytes().as_slice(), now_ms()],
    )
    .unwrap();
    db.execute_batch("COMMIT").unwrap();
    let mut lines = BufReader::new(cli_run.stdout.take().unwrap()).lines();
    let first = lines.next().unwrap().unwrap();
    assert!(first.starts_with("session "), "{first}");
    let rest: Vec<String> = lines.map(|l| l.unwrap()).collect();
    assert!(cli_run.wait().unwrap().success());
    assert_eq!(rest.last().unwrap(), "finished 150 sets");
    // The CLI compacted the log after the row was added: the row itself is gone.
    let still: i64 = db
        .query_row(
            "SELECT COUNT(*) FROM doc_changes WHERE seq = ?1",
            [row],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(
        still, 0,
        "no compaction after the row was added; the test proves nothing"
    );
    drop(db);

    let synced = succeeded(run_device_cli(&dir, &["sync"]));
    assert!(synced.contains(r#""rejected":[]"#), "{synced}");
    let status = succeeded(run_device_cli(&dir, &["status"]));
    assert!(status.contains(r#""waiting":0"#), "{status}");
    let on_server = sessions_on_server(&t).await;
    assert!(
        on_server.contains(&elsewhere),
        "the other process's session never reached the server"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_duplicate_sequence_number_is_kept_aside_reported_and_exported() {
    let t = team_with_course().await;
    let dir = t.tablet_dir();
    let log = DocumentId::session_log_of(t.course);
    let me = Device::open(&dir).me();
    // Another process's copy of the log, as it was before the CLI's session: its next change
    // with the device's one actor gets the same sequence number as the CLI's first.
    let db = older_binary(&dir);
    let (_, theirs) = session_change(
        &doc_on_disk(&db, log),
        device_actor(&db),
        t.course,
        me.user_id,
    );
    drop(db);
    let logged = succeeded(run_device_cli(
        &dir,
        &["log-session", "--course", &t.course.to_string()],
    ));
    assert!(logged.contains("finished 24 sets"), "{logged}");
    let db = older_binary(&dir);
    db.execute(
        "INSERT INTO doc_changes (doc_id, bytes) VALUES (?1, ?2)",
        params![log.as_bytes().as_slice(), theirs],
    )
    .unwrap();
    drop(db);

    // The store keeps working: it syncs, logs, and says what it kept aside.
    let synced = succeeded(run_device_cli(&dir, &["sync"]));
    assert!(synced.contains(r#""rejected":[]"#), "{synced}");
    succeeded(run_device_cli(
        &dir,
        &[
            "not-carried-out",
            "--course",
            &t.course.to_string(),
            "--reason",
            "ill",
        ],
    ));
    succeeded(run_device_cli(&dir, &["sync"]));
    let status: serde_json::Value =
        serde_json::from_str(&succeeded(run_device_cli(&dir, &["status"]))).unwrap();
    assert_eq!(status["damaged"], 1, "{status}");
    assert_eq!(status["waiting"], 0, "{status}");
    assert_eq!(sessions_on_server(&t).await.len(), 2);
    // Every byte is kept, and the support export holds it.
    let out = t.tmp.path().join("support.sqlite3");
    succeeded(run_device_cli(
        &dir,
        &["export-support", "--out", out.to_str().unwrap()],
    ));
    // Encrypted as the store is, with its key file beside it.
    let export = Connection::open(&out).unwrap();
    let exported_keys =
        homerehab_core::keys::KeyFile::read_from(&out.with_extension("sqlite3.keys"))
            .unwrap()
            .expect("the key file is exported with it");
    let key = exported_keys.open_with_pin(TEST_PIN).unwrap().unwrap();
    export
        .pragma_update(None, "key", key.sqlcipher_literal().as_str())
        .unwrap();
    let kept: Vec<u8> = export
        .query_row("SELECT bytes FROM damaged_changes", [], |r| r.get(0))
        .unwrap();
    assert_eq!(kept, theirs);
}

/// Teams Syd and Nord; Syd's therapist has ten courses on the server.
struct TwoTeams {
    tmp: tempfile::TempDir,
    server: Server,
    syd_laptop: Device,
    courses: Vec<CourseId>,
}

async fn two_teams() -> TwoTeams {
    let tmp = tempfile::tempdir().unwrap();
    let server = Server::start(&tmp.path().join("server"));
    server.create_team("Syd");
    server.create_team("Nord");
    server.create_user("syd-terapeut", "therapist", "Syd");
    server.create_user("syd-assistent", "assistant", "Syd");
    server.create_user("nord-terapeut", "therapist", "Nord");
    let syd_laptop = Device::login(&tmp.path().join("laptop"), &server, "syd-terapeut").await;
    let mut courses = Vec::new();
    for i in 0..10 {
        let c = citizen(&format!("Borger {i} i Syd"));
        syd_laptop.store().put_citizen(&c).unwrap();
        courses.push(create_course(&syd_laptop, c.id));
    }
    syd_laptop.sync().await;
    TwoTeams {
        tmp,
        server,
        syd_laptop,
        courses,
    }
}

impl TwoTeams {
    /// Sessions of `course` on the server, as Syd's therapist receives them.
    async fn sessions_on_server(&self, course: CourseId) -> usize {
        self.syd_laptop.sync().await;
        self.syd_laptop
            .store()
            .session_log(course)
            .unwrap()
            .sessions
            .len()
    }

    async fn sign_in(&self, tablet: &Device, username: &str) {
        client::login(&tablet.store, &self.server.url(), username, PASSWORD)
            .await
            .expect("sign in");
    }
}

/// Nothing of team Syd is listed on `tablet`.
fn shows_nothing_of_syd(tablet: &Device, syd: &TwoTeams) {
    let mut s = tablet.store();
    assert_eq!(s.courses().unwrap(), vec![], "Syd's courses are listed");
    assert_eq!(
        s.citizen_rows().unwrap(),
        vec![],
        "Syd's citizens are listed"
    );
    assert!(s.caseload_facts(0).unwrap().is_empty());
    for c in &syd.courses {
        assert!(
            s.sessions(*c).unwrap().is_empty(),
            "Syd's sessions are listed"
        );
        assert!(s.course_doc(*c).is_err(), "Syd's course can be read");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shared_tablet_shows_the_next_user_only_what_they_may_read() {
    let t = two_teams().await;
    let tablet = Device::login(&t.tmp.path().join("tablet"), &t.server, "syd-assistent").await;
    tablet.sync().await;
    assert_eq!(tablet.store().courses().unwrap().len(), 10);
    // Two sessions logged offline, not synced.
    log_session(&tablet, t.courses[0]);
    log_session(&tablet, t.courses[1]);

    t.sign_in(&tablet, "nord-terapeut").await;
    shows_nothing_of_syd(&tablet, &t);
    let status = tablet.store().sync_status().unwrap();
    assert_eq!((status.waiting, status.parked), (0, vec![]));
    let held: Vec<DocumentId> = tablet
        .store()
        .all_heads()
        .unwrap()
        .into_iter()
        .map(|(id, _)| id)
        .collect();
    for c in &t.courses {
        assert!(
            !held.contains(&DocumentId::course_of(*c)),
            "Syd's course is still on the device"
        );
        assert!(!held.contains(&DocumentId::session_log_of(*c)));
    }
    // Syd's offline sessions went to the server first, exactly once.
    assert_eq!(t.sessions_on_server(t.courses[0]).await, 1);
    assert_eq!(t.sessions_on_server(t.courses[1]).await, 1);
    // The therapist of Nord works and syncs as usual.
    tablet.sync().await;
    shows_nothing_of_syd(&tablet, &t);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn work_that_cannot_be_pushed_at_a_handover_is_parked_until_its_user_is_back() {
    let t = two_teams().await;
    let tablet = Device::login(&t.tmp.path().join("tablet"), &t.server, "syd-assistent").await;
    tablet.sync().await;
    let session = log_session(&tablet, t.courses[0]);
    // The push at the handover is impossible: Syd's sign-in has expired.
    let mut syd = tablet.me();
    syd.token = "expired".into();
    tablet.store().set_identity(&syd).unwrap();

    t.sign_in(&tablet, "nord-terapeut").await;
    shows_nothing_of_syd(&tablet, &t);
    let status = tablet.store().sync_status().unwrap();
    assert_eq!(
        status.parked,
        vec![(syd.display_name.clone(), 1)],
        "{status:?}"
    );
    assert_eq!(status.waiting, 0, "Nord has nothing to send");
    tablet.sync().await;
    shows_nothing_of_syd(&tablet, &t);
    assert_eq!(t.sessions_on_server(t.courses[0]).await, 0);

    // Syd's assistant is back: the parked work is shown and delivered, once.
    t.sign_in(&tablet, "syd-assistent").await;
    assert_eq!(tablet.store().sync_status().unwrap().parked, vec![]);
    assert_eq!(
        tablet.store().sessions(t.courses[0]).unwrap()[0].id,
        session
    );
    tablet.sync().await;
    assert_eq!(tablet.store().courses().unwrap().len(), 10);
    assert_eq!(tablet.store().sync_status().unwrap().waiting, 0);
    assert_eq!(t.sessions_on_server(t.courses[0]).await, 1);
}

/// A colleague of the same team on the shared tablet: the course stays (nothing of it is
/// unsent), its session log is parked for its user; the caseload still answers, with the
/// course and nothing to prompt from the log it cannot read.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_parked_session_log_leaves_the_next_users_caseload_working() {
    use homerehab_app_api::{op, NoQuery};
    let t = two_teams().await;
    let tablet = Device::login(&t.tmp.path().join("tablet"), &t.server, "syd-assistent").await;
    tablet.sync().await;
    log_session(&tablet, t.courses[0]);
    let mut syd = tablet.me();
    syd.token = "expired".into();
    tablet.store().set_identity(&syd).unwrap();
    t.sign_in(&tablet, "syd-terapeut").await;
    assert_eq!(tablet.store().sync_status().unwrap().parked.len(), 1);
    let app =
        homerehab_app_service::Core::new(tablet.store.clone(), shipped_library(), t.server.url());
    let rows = app
        .call::<op::caseload::Op>(op::caseload::Request {
            query: NoQuery {},
            body: (),
        })
        .await
        .expect("the caseload answers");
    assert!(
        rows.iter().any(|r| r.course_id == t.courses[0].to_string()),
        "the course is listed"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_sign_in_of_another_user_leaves_the_device_working() {
    let t = two_teams().await;
    let tablet = Device::login(&t.tmp.path().join("tablet"), &t.server, "syd-assistent").await;
    tablet.sync().await;
    let refused = client::login(&tablet.store, &t.server.url(), "nord-terapeut", "forkert").await;
    assert!(refused.is_err());
    log_session(&tablet, t.courses[0]);
    // Device::sync asserts that nothing was refused: the actor is still Syd's registered one.
    tablet.sync().await;
    assert_eq!(t.sessions_on_server(t.courses[0]).await, 1);
}
