//! Issue #14, item 1: the device's store encrypted at rest, with real processes — the
//! `homerehab` CLI and the `homerehab-app` local API on a tablet's folder, the sync server on
//! loopback. What a lost tablet's disk shows, how the app opens again offline, five wrong
//! PINs, and a store from before encryption migrated at its next sign-in.

use homerehab_scenarios::*;
use homerehab_shared::ids::*;
use rusqlite::Connection;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const CITIZEN: &str = "Gudrun Østergaard-Lykke";
const NOTE: &str = "Faldt i nat på badeværelset, ringede selv til datteren";

/// The server, a therapist's laptop with a citizen's course (synced), and the tablet's folder.
struct Team {
    tmp: tempfile::TempDir,
    server: Server,
    laptop: Device,
    course: CourseId,
}

async fn team() -> Team {
    let tmp = tempfile::tempdir().unwrap();
    let server = Server::start(&tmp.path().join("server"));
    server.create_team("Hjemmepleje Vest");
    server.create_user("terapeut", "therapist", "Hjemmepleje Vest");
    server.create_user("assistent", "assistant", "Hjemmepleje Vest");
    let laptop = Device::login(&tmp.path().join("laptop"), &server, "terapeut").await;
    let mut someone = citizen(CITIZEN);
    someone.address = Some("Kirkevej 17, 7700 Thisted".into());
    laptop.store().put_citizen(&someone).unwrap();
    let course = create_course(&laptop, someone.id);
    laptop.sync().await;
    Team {
        tmp,
        server,
        laptop,
        course,
    }
}

impl Team {
    fn tablet(&self) -> PathBuf {
        self.tmp.path().join("tablet")
    }

    /// The tablet signs in through the CLI (choosing the test PIN), fetches the course and
    /// logs a session with a note; it is not synced yet.
    fn tablet_logs_a_session(&self) {
        let dir = self.tablet();
        succeeded(run_device_cli(
            &dir,
            &[
                "login",
                "--server",
                &self.server.url(),
                "--username",
                "assistent",
                "--password",
                PASSWORD,
            ],
        ));
        succeeded(run_device_cli(&dir, &["sync"]));
        let logged = succeeded(run_device_cli(
            &dir,
            &[
                "log-session",
                "--course",
                &self.course.to_string(),
                "--sets",
                "1",
                "--note",
                NOTE,
            ],
        ));
        assert!(logged.contains("finished 3 sets"), "{logged}");
    }

    /// The sessions of the course as the therapist's laptop receives them from the server.
    async fn sessions_on_server(&self) -> usize {
        self.laptop.sync().await;
        let log = self.laptop.store().session_log(self.course).unwrap();
        log.sessions.len()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tablets_files_hold_no_name_note_or_token_and_it_opens_offline_with_the_pin() {
    let mut t = team().await;
    let dir = t.tablet();
    t.tablet_logs_a_session();
    // The app runs on the folder (its own background sync, a photo prefetch) and is killed
    // while running, so the WAL and every side file are there as a lost tablet has them.
    {
        let app = AppProcess::start(&dir, &t.server.url());
        let (_, status) = app
            .post("/unlock", serde_json::json!({ "pin": TEST_PIN }))
            .await;
        assert_eq!(status["lock"], "unlocked", "{status}");
        let (code, visits) = app.get(&format!("/courses/{}", t.course)).await;
        assert_eq!(code, 200);
        assert!(visits.to_string().contains(CITIZEN), "{visits}");
        std::thread::sleep(Duration::from_millis(500));
    }
    let token = Device::open(&dir).me().token;
    assert_eq!(token.len(), 64);

    let files = every_file(&dir);
    let names: Vec<String> = files
        .iter()
        .map(|(p, _)| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert!(names.iter().any(|n| n == "homerehab.sqlite3"), "{names:?}");
    assert!(names.iter().any(|n| n == "homerehab.keys"), "{names:?}");
    for (path, bytes) in &files {
        for secret in [
            CITIZEN.as_bytes(),
            "Østergaard".as_bytes(),
            "Kirkevej 17".as_bytes(),
            "SAG-2026-0042".as_bytes(),
            NOTE.as_bytes(),
            "badeværelset".as_bytes(),
            token.as_bytes(),
            // Not an SQLite file anyone can open, nor a PIN hash to attack.
            b"SQLite format 3",
            b"$argon2",
        ] {
            assert!(
                !contains_bytes(bytes, secret),
                "{} holds {:?}",
                path.display(),
                String::from_utf8_lossy(secret)
            );
        }
    }
    // The therapist's laptop, which typed the name, likewise.
    for (path, bytes) in every_file(&t.tmp.path().join("laptop")) {
        assert!(
            !contains_bytes(&bytes, CITIZEN.as_bytes()),
            "{}",
            path.display()
        );
    }

    // Offline after a restart: locked, nothing answered, until the PIN.
    t.server.kill();
    let app = AppProcess::start(&dir, &t.server.url());
    let (_, status) = app.get("/status").await;
    assert_eq!(status["lock"], "locked", "{status}");
    let (_, me) = app.get("/me").await;
    assert!(
        me.is_null(),
        "who is signed in is inside the encrypted file: {me}"
    );
    let (code, _) = app.get("/visits").await;
    assert_eq!(code, 423, "locked");
    let (code, status) = app
        .post("/unlock", serde_json::json!({ "pin": TEST_PIN }))
        .await;
    assert_eq!(
        (code, &status["lock"]),
        (200, &serde_json::json!("unlocked"))
    );
    let (code, visits) = app.get(&format!("/courses/{}", t.course)).await;
    assert_eq!(code, 200);
    assert!(visits.to_string().contains(CITIZEN), "{visits}");
    let (_, status) = app.get("/status").await;
    assert!(
        status["waiting"].as_u64().unwrap() >= 1,
        "the session waits: {status}"
    );
    drop(app);
    // The CLI too: without the PIN it says how to open the store; with it, it reads.
    let with_pin = run_device_cli(&dir, &["courses"]);
    let out = Command::new(binary("homerehab"))
        .arg("--data-dir")
        .arg(&dir)
        .arg("courses")
        .env_remove("HOMEREHAB_PIN")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("encrypted"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(succeeded(with_pin).contains(&t.course.to_string()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn five_wrong_pins_keep_the_unsynced_session_and_an_online_sign_in_opens_it_again() {
    let t = team().await;
    let dir = t.tablet();
    t.tablet_logs_a_session();
    assert_eq!(t.sessions_on_server().await, 0, "nothing sent yet");
    {
        let app = AppProcess::start(&dir, "http://127.0.0.1:1");
        for left in (0..5).rev() {
            let (code, answer) = app
                .post("/unlock", serde_json::json!({ "pin": "0000" }))
                .await;
            assert_eq!(code, 403, "{answer}");
            assert_eq!(answer["attempts_left"], left, "{answer}");
        }
        let (_, status) = app.get("/status").await;
        assert_eq!(status["lock"], "sign_in_required", "{status}");
        let (code, _) = app
            .post("/unlock", serde_json::json!({ "pin": TEST_PIN }))
            .await;
        assert_ne!(code, 200, "the right PIN no longer opens it");
    }
    // The PIN slot is gone: not even the right PIN opens the store in a new process.
    let keys = homerehab_core::keys::KeyFile::read(&dir).unwrap().unwrap();
    assert!(keys.pin.is_none() && keys.server.len() == 1, "{keys:?}");
    assert!(
        !run_device_cli(&dir, &["sessions", "--course", &t.course.to_string()])
            .status
            .success()
    );
    // An online sign-in opens it, and the session that waited reaches the server.
    succeeded(run_device_cli(
        &dir,
        &[
            "login",
            "--server",
            &t.server.url(),
            "--username",
            "assistent",
            "--password",
            PASSWORD,
        ],
    ));
    let sessions = succeeded(run_device_cli(
        &dir,
        &["sessions", "--course", &t.course.to_string()],
    ));
    assert!(sessions.contains("\"set_count\": 3"), "{sessions}");
    succeeded(run_device_cli(&dir, &["sync"]));
    assert_eq!(t.sessions_on_server().await, 1);
}

/// Turns the tablet's encrypted store back into the plain SQLite file an app from before
/// encryption kept (same schema, documents, outbox and token), without its key file.
fn as_before_encryption(dir: &Path) {
    let db = dir.join("homerehab.sqlite3");
    let plain = dir.join("plain.sqlite3");
    let conn = Connection::open(&db).unwrap();
    conn.pragma_update(None, "key", device_key(dir)).unwrap();
    let version: i64 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    conn.execute(
        "ATTACH DATABASE ?1 AS plain KEY ''",
        [plain.to_str().unwrap()],
    )
    .unwrap();
    conn.query_row("SELECT sqlcipher_export('plain')", [], |_| Ok(()))
        .unwrap();
    conn.execute_batch(&format!(
        "PRAGMA plain.user_version = {version}; DETACH DATABASE plain"
    ))
    .unwrap();
    drop(conn);
    for side in [
        "homerehab.sqlite3-wal",
        "homerehab.sqlite3-shm",
        "homerehab.keys",
    ] {
        let _ = std::fs::remove_file(dir.join(side));
    }
    std::fs::rename(&plain, &db).unwrap();
    assert!(std::fs::read(&db)
        .unwrap()
        .starts_with(b"SQLite format 3\0"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_store_from_before_encryption_is_migrated_at_sign_in_keeping_every_document_and_the_outbox(
) {
    let t = team().await;
    let dir = t.tablet();
    t.tablet_logs_a_session();
    let before = Device::open(&dir).store().all_heads().unwrap();
    as_before_encryption(&dir);
    // The old store opens as it did (no PIN in this format's meta: open), waiting to send.
    let status: serde_json::Value =
        serde_json::from_str(&succeeded(run_device_cli(&dir, &["status"]))).unwrap();
    let waiting = status["waiting"].as_u64().unwrap();
    assert!(waiting >= 1, "{status}");
    let db = std::fs::read(dir.join("homerehab.sqlite3")).unwrap();
    assert!(
        contains_bytes(&db, CITIZEN.as_bytes()),
        "plain before the migration"
    );

    let login = |extra_env: Option<(&str, &str)>| {
        let mut cmd = device_cli(&dir);
        cmd.args([
            "login",
            "--server",
            &t.server.url(),
            "--username",
            "assistent",
            "--password",
            PASSWORD,
        ]);
        if let Some((k, v)) = extra_env {
            cmd.env(k, v);
        }
        cmd
    };
    // Killed in the middle of the migration (the encrypted copy made and the key file
    // written, the copy not yet renamed over the old file): the old store is still the
    // store, whole.
    let mut child = login(Some(("HOMEREHAB_ENCRYPT_STEP_MS", "3000")))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let copy = dir.join("homerehab.sqlite3.encrypting");
    let deadline = Instant::now() + Duration::from_secs(30);
    while !dir.join("homerehab.keys").exists() {
        assert!(Instant::now() < deadline, "the migration did not begin");
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(300));
    child.kill().unwrap();
    child.wait().unwrap();
    let status: serde_json::Value =
        serde_json::from_str(&succeeded(run_device_cli(&dir, &["status"]))).unwrap();
    assert_eq!(status["waiting"].as_u64().unwrap(), waiting, "{status}");
    assert!(!copy.exists(), "the half-made copy is removed");
    assert!(!dir.join("homerehab.keys").exists());

    // The next sign-in migrates it: encrypted, every document and the outbox kept.
    succeeded(login(None).output().unwrap());
    let db = std::fs::read(dir.join("homerehab.sqlite3")).unwrap();
    assert!(!db.starts_with(b"SQLite format 3"));
    for (path, bytes) in every_file(&dir) {
        assert!(
            !contains_bytes(&bytes, CITIZEN.as_bytes()) && !contains_bytes(&bytes, NOTE.as_bytes()),
            "{} still holds the plain data",
            path.display()
        );
    }
    let after = Device::open(&dir);
    assert_eq!(after.store().all_heads().unwrap(), before);
    assert_eq!(after.store().sync_status().unwrap().waiting as u64, waiting);
    drop(after);
    succeeded(run_device_cli(&dir, &["sync"]));
    assert_eq!(t.sessions_on_server().await, 1);
}
