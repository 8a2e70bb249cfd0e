//! The offline-first scenario end to end: the real sync-server binary on loopback, three
//! device stores (two tablets, one laptop) in temp dirs, real SQLite files everywhere.

use homerehab_scenarios::*;
use homerehab_shared::docs::{CourseDoc, ProgramEdit, SessionLogDoc};
use homerehab_shared::ids::*;
use std::collections::BTreeSet;
use std::io::{BufRead, BufReader};
use std::process::Stdio;

struct Team {
    _tmp: tempfile::TempDir,
    server: Server,
    laptop: Device,
    tablets: [Device; 2],
}

async fn team() -> Team {
    let tmp = tempfile::tempdir().unwrap();
    let server = Server::start(&tmp.path().join("server"));
    server.create_team("Hjemmepleje Nord");
    server.create_user("terapeut", "therapist", "Hjemmepleje Nord");
    server.create_user("assistent1", "assistant", "Hjemmepleje Nord");
    server.create_user("assistent2", "assistant", "Hjemmepleje Nord");
    let laptop = Device::login(&tmp.path().join("laptop"), &server, "terapeut").await;
    let t1 = Device::login(&tmp.path().join("tablet1"), &server, "assistent1").await;
    let t2 = Device::login(&tmp.path().join("tablet2"), &server, "assistent2").await;
    Team {
        _tmp: tmp,
        server,
        laptop,
        tablets: [t1, t2],
    }
}

/// Syncs every device twice and checks that all hold exactly the same documents and heads.
async fn converge(devices: &[&Device]) {
    for _ in 0..2 {
        for d in devices {
            d.sync().await;
        }
    }
    let first = devices[0].store().all_heads().unwrap();
    for d in &devices[1..] {
        assert_eq!(
            d.store().all_heads().unwrap(),
            first,
            "devices did not converge"
        );
    }
}

fn session_ids(d: &Device, course: CourseId) -> Vec<SessionId> {
    let log: SessionLogDoc = d.store().session_log(course).unwrap();
    log.sessions.values().map(|s| s.id).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offline_edits_on_three_devices_converge_with_nothing_lost() {
    let t = team().await;
    let [t1, t2] = &t.tablets;
    let cit = citizen("Inger Sørensen");
    t.laptop.store().put_citizen(&cit).unwrap();
    let course = create_course(&t.laptop, cit.id);
    let first = t.laptop.sync().await;
    assert!(first.round_trips <= 2);
    t1.sync().await;
    t2.sync().await;
    assert_eq!(t1.store().courses().unwrap().len(), 1);

    // Everyone offline. Two tablets log sessions for the same citizen on the same day …
    let mut logged = vec![
        log_session(t1, course),
        log_session(t2, course),
        log_session(t1, course),
    ];
    // … while the therapist changes a dosage, adds an exercise and removes one.
    let program = t.laptop.store().course_doc(course).unwrap().program;
    let lines: Vec<_> = program.ordered().into_iter().cloned().collect();
    let mut harder = lines[0].clone();
    harder.dosage.reps = Some(15);
    let edits = [
        ProgramEdit::Upsert(harder),
        ProgramEdit::Upsert(program_line("step-up-forward", 4.0, 2)),
        ProgramEdit::Remove(lines[2].id),
    ];
    let new_rev = revise_program(&t.laptop, course, &edits, "Progression uge 3");

    // Connectivity returns in a scrambled order.
    t2.sync().await;
    t.laptop.sync().await;
    t1.sync().await;
    converge(&[&t.laptop, t1, t2]).await;

    let ids = session_ids(&t.laptop, course);
    let unique: BTreeSet<_> = ids.iter().collect();
    assert_eq!(ids.len(), 3, "every session present");
    assert_eq!(unique.len(), 3, "no session twice");
    let log = t.laptop.store().session_log(course).unwrap();
    let old_rev = program.latest_revision().unwrap().id;
    assert!(log
        .sessions
        .values()
        .all(|s| s.program_revision == Some(old_rev) && s.set_count() == 24));
    let doc: CourseDoc = t2.store().course_doc(course).unwrap();
    assert_eq!(doc.program.revision_list().len(), 2);
    let refs: Vec<_> = doc
        .program
        .ordered()
        .iter()
        .map(|l| (l.exercise_ref.clone(), l.dosage.reps))
        .collect();
    assert_eq!(
        refs,
        vec![
            ("sit-to-stand".into(), Some(15)),
            ("heel-raises-standing".into(), Some(10)),
            ("step-up-forward".into(), Some(10))
        ]
    );
    // Only one device edited the program, so nothing is in conflict.
    assert!(t
        .laptop
        .store()
        .program_conflicts(course)
        .unwrap()
        .is_empty());
    // The projections the UI reads agree with the documents.
    assert_eq!(t.laptop.store().sessions(course).unwrap().len(), 3);

    // The next session on a tablet runs against the therapist's new revision.
    logged.push(log_session(t2, course));
    converge(&[&t.laptop, t1, t2]).await;
    let log = t1.store().session_log(course).unwrap();
    assert_eq!(
        log.sessions[&logged[3].to_string()].program_revision,
        Some(new_rev)
    );
    assert_eq!(t1.store().sync_status().unwrap().waiting, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_killed_mid_sync_loses_nothing() {
    let mut t = team().await;
    let cit = citizen("Poul Kristensen");
    t.laptop.store().put_citizen(&cit).unwrap();
    let course = create_course(&t.laptop, cit.id);
    t.laptop.sync().await;
    for d in &t.tablets {
        d.sync().await;
    }
    let mut logged = Vec::new();
    for round in 0..6u64 {
        for d in &t.tablets {
            logged.push(log_session(d, course));
        }
        // Sync both tablets concurrently and SIGKILL the server at a varying moment.
        let syncs: Vec<_> = t
            .tablets
            .iter()
            .map(|d| {
                let store = d.store.clone();
                tokio::spawn(
                    async move { homerehab_core::client::sync_now(&store).await.map(|_| ()) },
                )
            })
            .collect();
        tokio::time::sleep(std::time::Duration::from_millis(round * 2)).await;
        t.server.kill();
        for s in syncs {
            // Either outcome is fine; what matters is that nothing is lost.
            let _ = s.await.unwrap();
        }
        t.server.kill();
        t.server.restart();
    }
    converge(&[&t.laptop, &t.tablets[0], &t.tablets[1]]).await;
    let got: BTreeSet<_> = session_ids(&t.laptop, course).into_iter().collect();
    let want: BTreeSet<_> = logged.into_iter().collect();
    assert_eq!(got, want);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tablet_killed_mid_write_keeps_every_confirmed_set() {
    let t = team().await;
    let cit = citizen("Karen Madsen");
    t.laptop.store().put_citizen(&cit).unwrap();
    let course = create_course(&t.laptop, cit.id);
    t.laptop.sync().await;
    let tablet = &t.tablets[0];
    tablet.sync().await;
    let dir = tablet.dir.clone();
    // Let go of the store so the CLI process is the only writer, as on a real tablet.
    drop(t.tablets);

    let mut child = device_cli(&dir)
        .args([
            "log-session",
            "--course",
            &course.to_string(),
            "--sets",
            "50",
        ])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut confirmed = 0u32;
    while let Some(Ok(line)) = lines.next() {
        if let Some(n) = line.strip_prefix("confirmed ") {
            confirmed = n.parse().unwrap();
            if confirmed >= 100 {
                break;
            }
        }
    }
    child.kill().unwrap(); // SIGKILL, mid-write
    child.wait().unwrap();
    assert!(confirmed >= 100);

    let store = open_store(&dir).expect("the store opens cleanly after a kill");
    let rows = store.sessions(course).unwrap();
    assert_eq!(rows.len(), 1);
    assert!(
        rows[0].set_count >= confirmed,
        "{} sets stored, {confirmed} confirmed",
        rows[0].set_count
    );
    drop(store);
    // And the survivor syncs it all to the server.
    let tablet = Device::open(&dir);
    tablet.sync().await;
    t.laptop.sync().await;
    let log = t.laptop.store().session_log(course).unwrap();
    assert!(log.sessions.values().next().unwrap().set_count() as u32 >= confirmed);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn background_sync_reports_offline_and_catches_up_when_the_server_returns() {
    let mut t = team().await;
    let cit = citizen("Else Poulsen");
    t.laptop.store().put_citizen(&cit).unwrap();
    let course = create_course(&t.laptop, cit.id);
    t.laptop.sync().await;
    let tablet = &t.tablets[0];
    tablet.sync().await;

    t.server.kill();
    log_session(tablet, course);
    let bg = homerehab_core::client::spawn_background(
        tablet.store.clone(),
        std::time::Duration::from_millis(100),
    );
    let status = || tablet.store().sync_status().unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while status().last_error.is_none() && std::time::Instant::now() < deadline {
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let offline = status();
    assert!(offline.last_error.unwrap().contains("could not be reached"));
    assert_eq!(offline.waiting, 1, "the session log waits in the outbox");

    t.server.restart();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    // The outbox empties inside the round; the outcome is recorded when the round ends.
    while (status().waiting > 0 || status().last_error.is_some())
        && std::time::Instant::now() < deadline
    {
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    bg.abort();
    let back = status();
    assert_eq!(back.waiting, 0);
    assert!(back.last_error.is_none() && back.last_success.is_some());
    t.laptop.sync().await;
    assert_eq!(session_ids(&t.laptop, course).len(), 1);
}
