//! Issue #14 item 5 end to end, with real processes: a citizen erased on the server by the
//! municipality's admin while a therapist's laptop and an assistant's tablet hold their course,
//! and the tablet holds unsent work for them and for another citizen. After every device
//! synced, no byte of the erased citizen's name or notes is left in the server's database files
//! (the WAL too), in either device's store — read through SQLCipher's decrypted pages, free
//! pages included, and as raw files — nor in an export (the evidence API's answer, the access
//! report's CSV); the other citizen's unsent session arrived; the course is gone from both
//! devices' screens; and a device offering the erased document later is told `Erased`.

use homerehab_scenarios::*;
use homerehab_shared::api::{EraseCitizenRequest, ErasureReason};
use homerehab_shared::docs::{genesis, Header};
use homerehab_shared::ids::*;
use homerehab_shared::sync::wire::{self, Limits};
use homerehab_shared::sync::{Offer, ReplyStatus, SyncRequest, PROTOCOL_VERSION};
use std::path::Path;
use std::process::Command;

const TEAM: &str = "Hjemmepleje Vest";
const ERASED: &str = "Agnete Slettesen-Holm";
const ERASED_ADDRESS: &str = "Æblehaven 13, 7700 Thisted";
/// A note from a confirmed session and one from the tablet's unsent session.
const NOTES: [&str; 2] = [
    "Faldt i badet i nat, ondt i venstre knæ",
    "Svimmel ved opstart, målte blodtryk 150/95",
];
const STAYS: &str = "Bent Bliversen-Lund";
const STAYS_NOTE: &str = "Gik en tur rundt om søen";

fn contains(haystack: &[u8], needle: &str) -> bool {
    contains_bytes(haystack, needle.as_bytes())
}

/// What the erased citizen was: none of it may be found.
fn secrets() -> Vec<&'static str> {
    [ERASED, ERASED_ADDRESS].into_iter().chain(NOTES).collect()
}

fn assert_none_in(what: &str, bytes: &[u8]) {
    for secret in secrets() {
        assert!(!contains(bytes, secret), "{secret:?} is still in {what}");
    }
}

// ---- SQLCipher's pages, decrypted --------------------------------------------------------------

/// SQLCipher 4's defaults, which the device store keeps: 4096-byte pages, each ending in a
/// reserve of a 16-byte IV and a 64-byte HMAC; the first page begins with the 16-byte salt.
const PAGE: usize = 4096;
const RESERVE: usize = 80;
const SALT: usize = 16;

/// One page decrypted (AES-256-CBC under the raw data key, the page's own IV) by the `openssl`
/// command, which every test machine has (SQLCipher links its libcrypto).
fn decrypt_page(key_hex: &str, page: &[u8], first: bool) -> Vec<u8> {
    let start = if first { SALT } else { 0 };
    let iv = &page[PAGE - RESERVE..PAGE - RESERVE + 16];
    let tmp = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(tmp.path(), &page[start..PAGE - RESERVE]).unwrap();
    let out = Command::new("openssl")
        .args(["enc", "-d", "-aes-256-cbc", "-nopad", "-K", key_hex, "-iv"])
        .arg(hex::encode(iv))
        .arg("-in")
        .arg(tmp.path())
        .output()
        .expect("run openssl");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// Every page of the encrypted database and of its WAL, decrypted, free pages and old WAL
/// frames included (SQLite reads only live pages; this reads all of them).
fn decrypted_pages(dir: &Path) -> Vec<u8> {
    let literal = device_key(dir);
    let key_hex = literal
        .trim_start_matches("x'")
        .trim_end_matches('\'')
        .to_string();
    let mut plain = Vec::new();
    let db = std::fs::read(dir.join("homerehab.sqlite3")).unwrap();
    assert_eq!(db.len() % PAGE, 0, "whole pages");
    for (n, page) in db.chunks(PAGE).enumerate() {
        let clear = decrypt_page(&key_hex, page, n == 0);
        if n == 0 {
            // Proof the decryption is right: the header's page size and payload fractions.
            assert_eq!(&clear[..2], &[0x10, 0x00], "page size 4096");
            assert_eq!(&clear[5..8], &[64, 32, 32], "SQLite's header");
        }
        plain.extend(clear);
    }
    if let Ok(wal) = std::fs::read(dir.join("homerehab.sqlite3-wal")) {
        // A 32-byte header, then frames of a 24-byte header and a page.
        for frame in wal.get(32..).unwrap_or_default().chunks(24 + PAGE) {
            if frame.len() < 24 + PAGE {
                break;
            }
            let page_no = u32::from_be_bytes(frame[..4].try_into().unwrap());
            plain.extend(decrypt_page(&key_hex, &frame[24..], page_no == 1));
        }
    }
    plain
}

// ---- the server's side -----------------------------------------------------------------------

/// The admin erases the citizen through the server's HTTP API.
async fn erase_citizen(server: &Server, admin_token: &str, citizen: CitizenId) {
    let resp = reqwest::Client::new()
        .post(format!("{}/v1/citizens/{citizen}/erase", server.url()))
        .bearer_auth(admin_token)
        // Recorded in error (the wrong person): no retention duty keeps it; forced past the
        // course still running.
        .json(&EraseCitizenRequest {
            reason: ErasureReason::RecordedInError,
            force: true,
        })
        .send()
        .await
        .unwrap();
    let status = resp.status();
    assert!(
        status.is_success(),
        "{status}: {}",
        resp.text().await.unwrap()
    );
}

async fn get_text(server: &Server, token: &str, path: &str) -> (u16, String) {
    let resp = server.get(token, path).await;
    (resp.status().as_u16(), resp.text().await.unwrap())
}

/// One sync request sent by hand (as an old or offline device would), its answer decoded.
async fn offer(server: &Server, token: &str, offers: Vec<Offer>) -> Vec<(DocumentId, ReplyStatus)> {
    let req = SyncRequest {
        protocol: PROTOCOL_VERSION,
        offers,
    };
    let resp = reqwest::Client::new()
        .post(format!("{}/v1/sync", server.url()))
        .bearer_auth(token)
        .header("content-type", "application/octet-stream")
        .body(wire::encode(&req))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let answer = wire::decode_response(&resp.bytes().await.unwrap(), &Limits::default()).unwrap();
    answer
        .replies
        .into_iter()
        .map(|r| (r.doc, r.status))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_erased_citizen_leaves_no_byte_on_the_server_any_device_or_any_export() {
    let tmp = tempfile::tempdir().unwrap();
    let server = Server::start(&tmp.path().join("server"));
    server.create_team(TEAM);
    server.create_user("terapeut", "therapist", TEAM);
    server.create_user("assistent", "assistant", TEAM);
    server.create_user("admin", "admin", TEAM);
    server.create_user("leder", "leader", TEAM);

    // The therapist's laptop: two citizens, a course each.
    let laptop = Device::login(&tmp.path().join("laptop"), &server, "terapeut").await;
    let mut erased = citizen(ERASED);
    erased.address = Some(ERASED_ADDRESS.into());
    let stays = citizen(STAYS);
    laptop.store().put_citizen(&erased).unwrap();
    laptop.store().put_citizen(&stays).unwrap();
    let erased_course = create_course(&laptop, erased.id);
    let kept_course = create_course(&laptop, stays.id);
    laptop.sync().await;

    // The assistant's tablet: a session of each, with notes, confirmed by a sync.
    let tablet = Device::login(&tmp.path().join("tablet"), &server, "assistent").await;
    tablet.sync().await;
    let noted = |course: CourseId, note: &str| log_session_noted(&tablet, course, note);
    noted(erased_course, NOTES[0]);
    let confirmed_session = noted(kept_course, "Fin dag");
    tablet.sync().await;
    laptop.sync().await;

    // Offline on the tablet: unsent sessions for both citizens.
    noted(erased_course, NOTES[1]);
    let unsent_session = noted(kept_course, STAYS_NOTE);
    let offered_later = tablet
        .store()
        .document(DocumentId::course_of(erased_course))
        .unwrap()
        .save();

    // The admin erases the citizen.
    let admin = seeds_cohort::token(&server, "admin").await;
    erase_citizen(&server, &admin, erased.id).await;

    // Every device syncs; the tablet's rebased and unsent work goes up, the laptop fetches it.
    let report = tablet.sync().await;
    assert_eq!(report.erased.len(), 2, "course and session log: {report:?}");
    let report = laptop.sync().await;
    assert_eq!(report.erased.len(), 2, "{report:?}");
    tablet.sync().await;
    laptop.sync().await;

    // The other citizen's unsent session arrived, with every set; the erased course is gone
    // from both devices' screens, and the notice tells of it.
    for device in [&laptop, &tablet] {
        let store = device.store();
        let sessions = store.sessions(kept_course).unwrap();
        assert!(sessions.iter().any(|s| s.id == confirmed_session));
        let arrived = sessions
            .iter()
            .find(|s| s.id == unsent_session)
            .expect("arrived");
        assert_eq!(arrived.set_count, 24);
        let courses: Vec<CourseId> = store.courses().unwrap().iter().map(|c| c.id).collect();
        assert!(!courses.contains(&erased_course), "{courses:?}");
        assert!(courses.contains(&kept_course));
        let names: Vec<String> = store
            .citizen_rows()
            .unwrap()
            .into_iter()
            .map(|c| c.name)
            .collect();
        assert_eq!(names, [STAYS]);
        assert!(store.sessions(erased_course).unwrap().is_empty());
        assert_eq!(store.sync_status().unwrap().erased_courses, 1);
    }

    // A device offering the erased document later (a copy from before) is told `Erased`, and
    // the server does not take it back.
    let course_doc = DocumentId::course_of(erased_course);
    let answer = offer(
        &server,
        &tablet.me().token,
        vec![Offer {
            doc: course_doc,
            heads: vec![],
            changes: offered_later,
            generation: 0,
        }],
    )
    .await;
    assert!(
        answer.contains(&(course_doc, ReplyStatus::Erased)),
        "{answer:?}"
    );
    let fresh = Header::course(laptop.me().team_id, erased_course);
    let answer = offer(
        &server,
        &laptop.me().token,
        vec![Offer {
            doc: course_doc,
            heads: genesis(&fresh).get_heads().iter().map(|h| h.0).collect(),
            changes: genesis(&fresh).save(),
            generation: 0,
        }],
    )
    .await;
    assert!(
        answer.contains(&(course_doc, ReplyStatus::Erased)),
        "{answer:?}"
    );

    // Exports: the evidence API's answer and the access report's CSV.
    let leader = seeds_cohort::token(&server, "leder").await;
    let year = homerehab_shared::schedule::date_of(homerehab_core::store::now_ms()).year();
    let (status, evidence) = get_text(
        &server,
        &leader,
        &format!("/v1/evidence?from={year}-01-01&to={year}-12-31"),
    )
    .await;
    assert_eq!(status, 200, "{evidence}");
    assert_none_in("the evidence API's answer", evidence.as_bytes());
    for who in [erased.id, stays.id] {
        let (_, csv) = get_text(
            &server,
            &admin,
            &format!("/v1/citizens/{who}/access-report.csv"),
        )
        .await;
        assert_none_in("an access report", csv.as_bytes());
    }

    // The devices' stores: each document as Automerge saves it uncompressed, every decrypted
    // page (free ones and old WAL frames too) and every raw file.
    for device in [&laptop, &tablet] {
        let ids: Vec<DocumentId> = device
            .store()
            .all_heads()
            .unwrap()
            .into_iter()
            .map(|(id, _)| id)
            .collect();
        for id in ids {
            let bytes = device.store().document(id).unwrap().save_nocompress();
            assert_none_in("a device's document", &bytes);
        }
    }
    // While the apps run (their WALs in place), and after they closed.
    let (laptop_dir, tablet_dir) = (laptop.dir.clone(), tablet.dir.clone());
    let check_devices = || {
        for dir in [&laptop_dir, &tablet_dir] {
            let pages = decrypted_pages(dir);
            assert!(contains(&pages, STAYS), "the decryption finds what stays");
            assert_none_in(&format!("{}'s decrypted pages", dir.display()), &pages);
            for (path, bytes) in every_file(dir) {
                assert_none_in(&path.display().to_string(), &bytes);
            }
        }
    };
    check_devices();
    drop((laptop, tablet));
    check_devices();

    // What the server holds now, as a device that never saw the citizen pulls it: every
    // document saved uncompressed (on PostgreSQL, the live rows; its dead tuples and WAL are the
    // cluster's, docs/security.md §3.9).
    let fresh = Device::login(&tmp.path().join("fresh"), &server, "terapeut").await;
    fresh.sync().await;
    let ids: Vec<DocumentId> = fresh
        .store()
        .all_heads()
        .unwrap()
        .into_iter()
        .map(|(id, _)| id)
        .collect();
    assert!(
        !ids.is_empty(),
        "the fresh laptop pulled the team's documents"
    );
    let mut pulled = Vec::new();
    for id in ids {
        pulled.extend(fresh.store().document(id).unwrap().save_nocompress());
    }
    assert_none_in("what the server sends a fresh device", &pulled);
    assert!(contains(&pulled, STAYS), "the fresh device holds who stays");
    drop(fresh);
    // The server's files: the database, its WAL, and everything else in its folder (SQLite:
    // the database is the server's own file).
    if !server.on_postgres() {
        let server_dir = server.data_dir.clone();
        for (path, bytes) in every_file(&server_dir) {
            assert_none_in(&path.display().to_string(), &bytes);
        }
        assert!(
            every_file(&server_dir)
                .iter()
                .any(|(_, b)| contains(b, STAYS)),
            "the server's files hold the citizen who stays (so the search would find a name)"
        );
    }
    // The server's log, kept beside its folder: no citizen's name at all, erased or not.
    let log = std::fs::read(server.log_path()).unwrap_or_default();
    assert_none_in("the server's log", &log);
    assert!(!contains(&log, STAYS), "the server's log names no citizen");
    drop(server);
}

/// The check above reads what it claims to: a device store's decrypted pages show the names it
/// holds, which its raw files do not.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_device_stores_decrypted_pages_show_what_its_raw_files_hide() {
    let tmp = tempfile::tempdir().unwrap();
    let server = Server::start(&tmp.path().join("server"));
    server.create_team(TEAM);
    server.create_user("terapeut", "therapist", TEAM);
    let laptop = Device::login(&tmp.path().join("laptop"), &server, "terapeut").await;
    let someone = citizen(STAYS);
    laptop.store().put_citizen(&someone).unwrap();
    create_course(&laptop, someone.id);
    laptop.sync().await;
    let dir = laptop.dir.clone();
    drop(laptop);
    assert!(contains(&decrypted_pages(&dir), STAYS));
    for (path, bytes) in every_file(&dir) {
        assert!(!contains(&bytes, STAYS), "{} in clear", path.display());
    }
}
