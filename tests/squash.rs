//! Issue #13: a device squashes its own unsent changes into one change per document before a
//! sync. The real sync-server binary on loopback, real device stores, and the `homerehab` CLI
//! killed in the middle of a squash.

use automerge::{ActorId, ChangeHash};
use homerehab_scenarios::*;
use homerehab_shared::ids::*;
use std::io::{BufRead, BufReader};
use std::process::Stdio;

/// A therapist's laptop with a course, and an assistant's tablet holding it.
async fn course_on_a_tablet(tmp: &std::path::Path) -> (Server, Device, Device, CourseId) {
    let server = Server::start(&tmp.join("server"));
    server.create_team("Hjemmepleje Syd");
    server.create_user("terapeut", "therapist", "Hjemmepleje Syd");
    server.create_user("assistent", "assistant", "Hjemmepleje Syd");
    let laptop = Device::login(&tmp.join("laptop"), &server, "terapeut").await;
    let tablet = Device::login(&tmp.join("tablet"), &server, "assistent").await;
    let cit = citizen("Inger Holm");
    laptop.store().put_citizen(&cit).unwrap();
    let course = create_course(&laptop, cit.id);
    laptop.sync().await;
    tablet.sync().await;
    (server, laptop, tablet, course)
}

/// How the server stores `doc`, read through its own store beside it (off the async runtime:
/// the PostgreSQL client blocks).
fn footprint(server: &Server, doc: DocumentId) -> homerehab_sync_server::store::DocumentFootprint {
    tokio::task::block_in_place(|| server.store().document_footprint(doc).unwrap().unwrap())
}

/// `actor`'s changes in `doc` beyond `since`.
fn changes_by(doc: &automerge::Automerge, actor: &ActorId, since: &[ChangeHash]) -> usize {
    doc.get_changes_meta(since)
        .iter()
        .filter(|c| *c.actor == *actor)
        .count()
}

/// Every session of the course as the laptop has it from the server: its id and set count.
fn sessions_on_the_laptop(laptop: &Device, course: CourseId) -> Vec<(SessionId, usize)> {
    let log = laptop.store().session_log(course).unwrap();
    let mut out: Vec<_> = log
        .sessions
        .values()
        .map(|s| (s.id, s.set_count()))
        .collect();
    out.sort();
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sets_logged_offline_reach_the_server_as_one_change_per_document_per_sync() {
    let tmp = tempfile::tempdir().unwrap();
    let (server, laptop, tablet, course) = course_on_a_tablet(tmp.path()).await;
    let log = DocumentId::session_log_of(course);
    let actor = tablet.store().actor().clone();
    let start = laptop.store().document(log).unwrap().get_heads();

    // A month offline: 30 whole sessions, each 24 sets + 3 feedbacks + start and finish. Squashed,
    // they are far more bytes than the log saved whole, so they go up as the whole document
    // (`offer_changes`); the next stretch below goes as a change.
    let mut logged: Vec<SessionId> = (0..30).map(|_| log_session(&tablet, course)).collect();
    let made = changes_by(tablet.store().document(log).unwrap(), &actor, &start);
    assert_eq!(made, 30 * 29, "one change per set on the tablet");
    {
        let mut store = tablet.store();
        let squashed = match homerehab_shared::sync::squash_unseen(
            store.document(log).unwrap(),
            &actor,
            &start,
        ) {
            homerehab_shared::sync::Squash::Squashed { doc, .. } => doc,
            other => panic!("{other:?}"),
        };
        let offered = homerehab_shared::sync::offer_changes(&squashed, &start);
        let framed = homerehab_shared::sync::chunks::split(&offered.bytes).unwrap();
        assert_eq!(framed.len(), 1);
        assert_eq!(
            framed[0].kind,
            homerehab_shared::sync::chunks::DOCUMENT,
            "sent whole"
        );
        assert!(offered.bytes.len() * 4 <= offered.weight);
    }
    let report = tablet.sync().await;
    assert_eq!(report.squashed, 1, "{report:?}");

    // What the server stored, as a fresh pull from it shows: one change from the tablet.
    laptop.sync().await;
    let on_server = laptop.store().document(log).unwrap().clone();
    assert_eq!(changes_by(&on_server, &actor, &start), 1);
    let sessions = sessions_on_the_laptop(&laptop, course);
    logged.sort();
    assert_eq!(
        sessions.iter().map(|(id, _)| *id).collect::<Vec<_>>(),
        logged
    );
    assert!(sessions.iter().all(|(_, sets)| *sets == 24), "{sessions:?}");

    // No chunk beside the snapshot. (A compaction of the raw change would leave none either;
    // that it went whole is shown above, and the store contract test shows the bytes kept.)
    let stored = footprint(&server, log);
    assert_eq!(
        (stored.chunks, stored.incremental_bytes),
        (0, 0),
        "{stored:?}"
    );

    // The next offline stretch: one more change, after the first, kept as a chunk.
    logged.extend((0..3).map(|_| log_session(&tablet, course)));
    assert_eq!(tablet.sync().await.squashed, 1);
    let stored = footprint(&server, log);
    assert_eq!(stored.chunks, 1, "{stored:?}");
    laptop.sync().await;
    let on_server = laptop.store().document(log).unwrap().clone();
    assert_eq!(changes_by(&on_server, &actor, &start), 2);
    logged.sort();
    let sessions = sessions_on_the_laptop(&laptop, course);
    assert_eq!(
        sessions.iter().map(|(id, _)| *id).collect::<Vec<_>>(),
        logged
    );
    assert!(sessions.iter().all(|(_, sets)| *sets == 24), "{sessions:?}");
    assert_eq!(
        tablet.store().all_heads().unwrap(),
        laptop.store().all_heads().unwrap(),
        "the tablet holds what the server holds"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tablet_killed_mid_squash_keeps_every_set_and_syncs_each_once() {
    let tmp = tempfile::tempdir().unwrap();
    let (_server, laptop, tablet, course) = course_on_a_tablet(tmp.path()).await;
    let log = DocumentId::session_log_of(course);
    let mut logged: Vec<SessionId> = (0..4).map(|_| log_session(&tablet, course)).collect();
    let dir = tablet.dir.clone();
    let rows = || -> i64 {
        // The store is encrypted: opened with its key, as another reader would.
        let db = rusqlite::Connection::open(dir.join("homerehab.sqlite3")).unwrap();
        db.pragma_update(None, "key", device_key(&dir)).unwrap();
        db.query_row(
            "SELECT COUNT(*) FROM doc_changes WHERE doc_id = ?1",
            [log.as_bytes().as_slice()],
            |r| r.get(0),
        )
        .unwrap()
    };
    let rows_before = rows();
    assert!(rows_before >= 4 * 29, "{rows_before}");
    let heads_before = tablet.store().document(log).unwrap().get_heads();
    // Let go of the store: the CLI process is the only one to open the folder.
    drop(tablet);

    let mut child = device_cli(&dir)
        .arg("sync")
        .env("HOMEREHAB_SQUASH_PAUSE_MS", "30000")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = BufReader::new(child.stderr.take().unwrap());
    let mut paused = false;
    for line in stderr.lines() {
        if line.unwrap().contains("squash written, not committed") {
            paused = true;
            break;
        }
    }
    assert!(paused, "the CLI never reached the squash");
    child.kill().unwrap(); // SIGKILL: written, not committed
    child.wait().unwrap();

    assert_eq!(rows(), rows_before, "every original change row is there");
    let tablet = Device::open(&dir);
    assert_eq!(
        tablet.store().document(log).unwrap().get_heads(),
        heads_before
    );
    assert!(tablet
        .store()
        .sessions(course)
        .unwrap()
        .iter()
        .all(|s| s.set_count == 24));
    assert_eq!(tablet.store().sync_status().unwrap().damaged, 0);

    // The next sync squashes again, and the server gets each set once.
    logged.push(log_session(&tablet, course));
    assert_eq!(tablet.sync().await.squashed, 1);
    laptop.sync().await;
    logged.sort();
    let sessions = sessions_on_the_laptop(&laptop, course);
    assert_eq!(
        sessions.iter().map(|(id, _)| *id).collect::<Vec<_>>(),
        logged
    );
    assert!(sessions.iter().all(|(_, sets)| *sets == 24), "{sessions:?}");
    drop(tablet);
    let reopened = open_store(&dir).unwrap();
    assert_eq!(reopened.sync_status().unwrap().waiting, 0);
}
