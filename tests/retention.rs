//! Retention and erasure with real processes (issue #14 item 5, the server's side): an admin
//! erases a citizen through the HTTP API of the real `sync-server`; afterwards the server's
//! SQLite file and its WAL hold no byte of the citizen's name or a session note, the erased
//! documents' quarantine rows are gone, another municipality's admin got 404 and a therapist
//! 403; the retention job (`sync-server retention`, the CLI) erases a course that ended long
//! ago and keeps a recent one; the devices' next sync goes through; the BI feed's `erasures`
//! file tells the municipality's warehouse what was erased.

use homerehab_scenarios::*;
use homerehab_shared::api::{EraseCitizenRequest, ErasureReason, ErasureReceipt, RetentionDue};
use homerehab_shared::ids::*;
use homerehab_shared::model::*;
use std::time::{Duration, Instant};

const NORD: &str = "Hjemmepleje Nord";
const SYD: &str = "Hjemmepleje Syd";
const NAME: &str = "Gitte Glemmesen";
const NOTE: &str = "Gitte faldt i badet tirsdag";

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w == needle.as_bytes())
}

/// The server's database file and its WAL, as bytes.
fn raw_database(server: &Server, dir: &std::path::Path) -> Vec<u8> {
    assert!(!server.on_postgres());
    let mut bytes = std::fs::read(dir.join("homerehab.sqlite3")).unwrap();
    bytes.extend(std::fs::read(dir.join("homerehab.sqlite3-wal")).unwrap_or_default());
    bytes
}

async fn erase(
    server: &Server,
    token: &str,
    citizen: CitizenId,
    reason: ErasureReason,
    force: bool,
) -> reqwest::Response {
    reqwest::Client::new()
        .post(format!("{}/v1/citizens/{citizen}/erase", server.url()))
        .bearer_auth(token)
        .json(&EraseCitizenRequest { reason, force })
        .send()
        .await
        .unwrap()
}

/// A course of `citizen` started on `start`, synced, then completed (a course reaches the
/// server planned or active first).
async fn ended_course(therapist: &Device, citizen: CitizenId, start: &str) -> CourseId {
    let me = therapist.me();
    let mut course = Course {
        status: CourseStatus::Active,
        ..Course::new(citizen, me.team_id, me.user_id, start, now())
    };
    therapist
        .store()
        .create_course(&course, &[program_line("sit-to-stand", 1.0, 3)])
        .unwrap();
    therapist.sync().await;
    course
        .change_status(CourseStatus::Completed, None, None)
        .unwrap();
    therapist.store().update_course(&course).unwrap();
    course.id
}

fn now() -> Millis {
    homerehab_core::store::now_ms()
}

/// Waits until the server's read model knows `citizen` (the projector runs beside the syncs).
async fn projected(server: &Server, citizen: CitizenId) {
    let deadline = Instant::now() + Duration::from_secs(20);
    let sql = format!("SELECT COUNT(*) FROM rm_citizens WHERE citizen_id = '{citizen}'");
    while server.db().count(&sql) == 0 {
        assert!(Instant::now() < deadline, "the read model never caught up");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn an_erased_citizen_leaves_no_byte_in_the_servers_database_and_retention_erases_old_courses()
{
    let tmp = tempfile::tempdir().unwrap();
    let server_dir = tmp.path().join("server");
    let server = Server::start(&server_dir);
    server.create_team(NORD);
    server.admin(&[
        "create-team",
        "--name",
        SYD,
        "--municipality",
        "Haderslev Kommune",
    ]);
    server.create_user("terapeut", "therapist", NORD);
    server.create_user("assistent", "assistant", NORD);
    server.create_user("admin", "admin", NORD);
    server.create_user("admin-syd", "admin", SYD);

    let laptop = Device::login(&tmp.path().join("laptop"), &server, "terapeut").await;
    let tablet = Device::login(&tmp.path().join("tablet"), &server, "assistent").await;
    let admin = Device::login(&tmp.path().join("admin"), &server, "admin").await;
    let syd = Device::login(&tmp.path().join("syd"), &server, "admin-syd").await;

    // Gitte with a running course and a session whose note names her; Karl with a course that
    // ended in 2015 and Kirsten with one that ended recently.
    let gitte = citizen(NAME);
    let karl = citizen("Karl Gammel");
    let kirsten = citizen("Kirsten Ny");
    for c in [&gitte, &karl, &kirsten] {
        laptop.store().put_citizen(c).unwrap();
    }
    let course = create_course(&laptop, gitte.id);
    let old = ended_course(&laptop, karl.id, "2015-01-05").await;
    let recent = ended_course(&laptop, kirsten.id, "2025-09-01").await;
    laptop.sync().await;
    tablet.sync().await;
    {
        let mut s = tablet.store();
        let visit = s.start_session(course).unwrap();
        s.finish_session(&SessionClose {
            course,
            session: visit.id,
            general_condition: Some(3),
            note: Some(NOTE.into()),
        })
        .unwrap();
    }
    tablet.sync().await;
    projected(&server, gitte.id).await;
    if !server.on_postgres() {
        let before = raw_database(&server, &server_dir);
        assert!(contains(&before, NAME) && contains(&before, NOTE));
    }
    // A refused change set of the session log, kept in quarantine (as a sync would keep one).
    let log = DocumentId::session_log_of(course);
    let quarantined = format!(
        "SELECT COUNT(*) FROM quarantine WHERE doc_id = {}",
        if server.on_postgres() {
            format!("'{}'", log.0)
        } else {
            format!("x'{}'", log.0.simple())
        }
    );
    if server.on_postgres() {
        server.db().execute(&format!(
            "INSERT INTO quarantine (doc_id, user_id, bytes, reason, at, digest) VALUES \
             ('{}', '{}', convert_to('{NOTE}', 'UTF8'), 'refused', 0, '\\x01')",
            log.0,
            tablet.me().user_id
        ));
    } else {
        server.db().execute(&format!(
            "INSERT INTO quarantine (doc_id, user_id, bytes, reason, at, digest) VALUES \
             (x'{}', x'{}', CAST('{NOTE}' AS BLOB), 'refused', 0, x'01')",
            log.0.simple(),
            tablet.me().user_id.0.simple()
        ));
    }
    assert_eq!(server.db().count(&quarantined), 1);

    // Who may erase: not a therapist (403), not another municipality's admin (404). The law's
    // limits: a citizen's request does not override the duty to keep the record; a running
    // course needs `force`.
    let refusals = [
        (
            laptop.me().token,
            ErasureReason::RecordedInError,
            true,
            403,
            None,
        ),
        (
            syd.me().token,
            ErasureReason::RecordedInError,
            true,
            404,
            None,
        ),
        (
            admin.me().token,
            ErasureReason::CitizenRequest,
            true,
            409,
            Some("within_retention"),
        ),
        (
            admin.me().token,
            ErasureReason::RecordedInError,
            false,
            409,
            Some("course_active"),
        ),
    ];
    for (token, reason, force, status, error) in refusals {
        let resp = erase(&server, &token, gitte.id, reason, force).await;
        assert_eq!(resp.status(), status, "{reason:?}, force {force}");
        if let Some(error) = error {
            assert_eq!(
                resp.json::<serde_json::Value>().await.unwrap()["error"],
                error
            );
        }
    }
    let resp = erase(
        &server,
        &admin.me().token,
        gitte.id,
        ErasureReason::RecordedInError,
        true,
    )
    .await;
    assert_eq!(resp.status(), 200);
    let receipt: ErasureReceipt = resp.json().await.unwrap();
    assert_eq!(
        receipt.deleted_documents,
        [DocumentId::course_of(course), log]
    );
    assert_eq!(
        receipt.rewritten_documents,
        [DocumentId::roster_of(laptop.me().team_id)]
    );

    // Gone from the database: the documents, the quarantine, the read model; and on SQLite,
    // no byte of the name or the note in the file or its WAL.
    assert_eq!(server.db().count(&quarantined), 0);
    assert_eq!(
        server.db().count(&format!(
            "SELECT COUNT(*) FROM rm_citizens WHERE citizen_id = '{}'",
            gitte.id
        )),
        0
    );
    if !server.on_postgres() {
        let after = raw_database(&server, &server_dir);
        for needle in [NAME, NOTE, "Glemmesen"] {
            assert!(
                !contains(&after, needle),
                "{needle} is in the database files"
            );
        }
    }
    // A second erasure finds no such citizen.
    let resp = erase(
        &server,
        &admin.me().token,
        gitte.id,
        ErasureReason::RecordedInError,
        true,
    )
    .await;
    assert_eq!(resp.status(), 404);

    // The devices sync on (their handling of the new statuses is the device side's).
    laptop.sync().await;
    tablet.sync().await;

    // Retention: what is due, over HTTP and the CLI, then the job.
    projected(&server, karl.id).await;
    projected(&server, kirsten.id).await;
    let due: RetentionDue = reqwest::Client::new()
        .get(format!("{}/v1/retention/due", server.url()))
        .bearer_auth(admin.me().token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(due.courses, 1, "{due:?}");
    let old_doc = format!(
        "SELECT COUNT(*) FROM documents WHERE id = {}",
        doc_literal(&server, DocumentId::course_of(old))
    );
    let recent_doc = format!(
        "SELECT COUNT(*) FROM documents WHERE id = {}",
        doc_literal(&server, DocumentId::course_of(recent))
    );
    let out = server
        .command()
        .args(["retention", "--dry-run"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let printed = String::from_utf8_lossy(&out.stdout);
    assert!(printed.contains("would erase 1 courses"), "{printed}");
    assert!(printed.contains(&old.to_string()), "{printed}");
    assert!(!printed.contains("Karl"), "no names: {printed}");
    assert_eq!(server.db().count(&old_doc), 1, "a dry run erases nothing");
    let out = server.command().arg("retention").output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(server.db().count(&old_doc), 0);
    assert_eq!(server.db().count(&recent_doc), 1);
    // Ten years on, the recent one goes too.
    let out = server
        .command()
        .args(["retention", "--dry-run", "--today", "2036-01-01"])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains(&recent.to_string()));
    laptop.sync().await;

    // The BI feed tells the municipality's warehouse what to erase too: Gitte (recorded in
    // error) and Karl's old course (by retention); her row is gone from the citizens' file.
    // Another municipality's admin is told nothing of it.
    let year = homerehab_shared::schedule::date_of(now()).year();
    let pull = |token: String, table: &'static str| {
        let url = format!(
            "{}/v1/export/{table}.csv?from={year}-01-01&to={year}-12-31",
            server.url()
        );
        async move {
            let r = reqwest::Client::new()
                .get(url)
                .bearer_auth(token)
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 200, "{table}");
            let body = r.bytes().await.unwrap();
            let mut rows = csv::Reader::from_reader(body.as_ref());
            rows.records()
                .map(|r| r.unwrap().iter().map(String::from).collect::<Vec<_>>())
                .collect::<Vec<_>>()
        }
    };
    let erased = pull(admin.me().token, "erasures").await;
    let line = |citizen: CitizenId, record: &str, id: &str, reason: &str| {
        erased
            .iter()
            .any(|r| r[1] == citizen.to_string() && r[3] == record && r[4] == id && r[5] == reason)
    };
    assert!(
        line(gitte.id, "citizen", "", "erased_recorded_in_error"),
        "{erased:?}"
    );
    assert!(
        line(karl.id, "course", &old.to_string(), "erased_by_retention"),
        "{erased:?}"
    );
    assert!(erased.iter().all(|r| r[0].starts_with(&year.to_string())));
    let citizens = pull(admin.me().token, "citizens").await;
    assert!(citizens.iter().all(|r| r[0] != gitte.id.to_string()));
    assert!(citizens.iter().any(|r| r[0] == karl.id.to_string()));
    assert_eq!(
        pull(syd.me().token, "erasures").await,
        Vec::<Vec<String>>::new()
    );
}

fn doc_literal(server: &Server, id: DocumentId) -> String {
    if server.on_postgres() {
        format!("'{}'", id.0)
    } else {
        format!("x'{}'", id.0.simple())
    }
}
