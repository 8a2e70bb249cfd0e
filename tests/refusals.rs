//! Refusals reach the device with a reason per document, and the refused changes are kept
//! there — neither dropped nor sent again on every sync (issue #9, finding 4). The real
//! `sync-server` process, real device stores, the real `homerehab` CLI.

use homerehab_core::client;
use homerehab_scenarios::*;
use homerehab_shared::docs::{CourseDoc, ProgramEdit, SessionLogDoc};
use homerehab_shared::ids::*;
use homerehab_shared::sync::Refusal;
use std::path::Path;

/// `homerehab status` on a device folder, as JSON.
fn cli_status(dir: &Path) -> serde_json::Value {
    let out = device_cli(dir)
        .arg("status")
        .output()
        .expect("run homerehab status");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("status is JSON")
}

fn has_line(course: &CourseDoc, exercise: &str) -> bool {
    course
        .program
        .exercises
        .values()
        .any(|l| l.exercise_ref == exercise)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_change_is_kept_shown_with_its_reason_and_not_sent_again() {
    let tmp = tempfile::tempdir().unwrap();
    let server = Server::start(&tmp.path().join("server"));
    server.create_team("Hjemmepleje Nord");
    server.create_user("terapeut", "therapist", "Hjemmepleje Nord");
    server.create_user("leder", "leader", "Hjemmepleje Nord");
    let laptop = Device::login(&tmp.path().join("laptop"), &server, "terapeut").await;
    let cit = citizen("Bodil Madsen");
    laptop.store().put_citizen(&cit).unwrap();
    let course = create_course(&laptop, cit.id);
    laptop.sync().await;

    // A leader may read the course but write nothing; their device edits the program anyway
    // (the app refuses this before it is written; the server must refuse it too).
    let leader_dir = tmp.path().join("leader");
    let leader = Device::login(&leader_dir, &server, "leder").await;
    leader.sync().await;
    revise_program(
        &leader,
        course,
        &[ProgramEdit::Upsert(program_line("wall-push-up", 9.0, 2))],
        "Lederens ændring",
    );
    let (first, up1) = client::sync_now(&leader.store).await.unwrap();
    let course_doc = DocumentId::course_of(course);
    assert_eq!(first.rejected.len(), 1, "{first:?}");
    assert_eq!(first.rejected[0].0, course_doc);

    // The device says why, per document, and keeps the change: not an error, not dropped.
    {
        let store = leader.store();
        let refusals = store.refusals().unwrap();
        assert_eq!(refusals.len(), 1, "{refusals:?}");
        assert_eq!(refusals[0].header.id, course_doc);
        assert_eq!(refusals[0].citizen_name.as_deref(), Some("Bodil Madsen"));
        assert!(refusals[0].unsent);
        let Refusal::Rejected(reason) = &refusals[0].refusal else {
            panic!("{:?}", refusals[0].refusal)
        };
        assert!(!reason.is_empty());
        let status = store.sync_status().unwrap();
        assert_eq!(status.waiting, 1);
        assert_eq!(
            status.last_error, None,
            "a refusal is not a lost connection"
        );
    }

    // The next sync does not send the refused change again, and still keeps it.
    let (second, up2) = client::sync_now(&leader.store).await.unwrap();
    assert!(
        second.rejected.is_empty() && second.pushed == 0,
        "{second:?}"
    );
    assert!(
        up2.bytes_up < up1.bytes_up,
        "sent again: {} then {} bytes",
        up1.bytes_up,
        up2.bytes_up
    );
    assert!(has_line(
        &leader.store().course_doc(course).unwrap(),
        "wall-push-up"
    ));

    // The therapist's later revision still reaches the leader, on top of the kept change.
    revise_program(
        &laptop,
        course,
        &[ProgramEdit::Upsert(program_line("step-up", 4.0, 3))],
        "Trappetræning",
    );
    laptop.sync().await;
    let (third, _) = client::sync_now(&leader.store).await.unwrap();
    assert!(
        third.rejected.is_empty() && third.received >= 1,
        "{third:?}"
    );
    let merged = leader.store().course_doc(course).unwrap();
    assert!(has_line(&merged, "step-up") && has_line(&merged, "wall-push-up"));
    assert_eq!(leader.store().refusals().unwrap().len(), 1);
    // The server never took it.
    laptop.sync().await;
    assert!(!has_line(
        &laptop.store().course_doc(course).unwrap(),
        "wall-push-up"
    ));

    // The CLI shows the same, from the file.
    drop(leader);
    let status = cli_status(&leader_dir);
    let refused = status["refused"].as_array().expect("refused is listed");
    assert_eq!(refused.len(), 1, "{status}");
    assert_eq!(refused[0]["doc"], course_doc.to_string());
    assert_eq!(refused[0]["refusal"], "rejected");
    assert_eq!(refused[0]["unsent"], true);
    assert!(!refused[0]["reason"].as_str().unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn work_on_a_team_the_user_lost_access_to_is_refused_with_a_reason_and_delivered_later() {
    let tmp = tempfile::tempdir().unwrap();
    let server = Server::start(&tmp.path().join("server"));
    server.create_team("Hjemmepleje Nord");
    server.create_team("Hjemmepleje Syd");
    server.create_user("terapeut2", "therapist", "Hjemmepleje Syd");
    // A substitute of team Nord who also serves Syd.
    server.admin(&[
        "create-user",
        "--username",
        "vikar",
        "--role",
        "assistant",
        "--team",
        "Hjemmepleje Nord",
        "--grant",
        "Hjemmepleje Syd",
        "--password",
        PASSWORD,
    ]);
    let laptop = Device::login(&tmp.path().join("laptop"), &server, "terapeut2").await;
    let cit = citizen("Poul Eriksen");
    laptop.store().put_citizen(&cit).unwrap();
    let course = create_course(&laptop, cit.id);
    let other = citizen("Grethe Holm");
    laptop.store().put_citizen(&other).unwrap();
    let untouched = create_course(&laptop, other.id);
    laptop.sync().await;
    let tablet = Device::login(&tmp.path().join("tablet"), &server, "vikar").await;
    tablet.sync().await;
    assert_eq!(tablet.store().courses().unwrap().len(), 2);

    // Offline, the substitute guides a session; meanwhile Syd's grant is withdrawn (there is
    // no admin command for that yet: straight in the server's database).
    let session = log_session(&tablet, course);
    let db = server.db();
    assert_eq!(db.count("SELECT COUNT(*) FROM user_grants"), 1);
    db.execute("DELETE FROM user_grants");

    let (first, _) = client::sync_now(&tablet.store).await.unwrap();
    let log = DocumentId::session_log_of(course);
    assert!(first.forbidden.contains(&log), "{first:?}");
    {
        let store = tablet.store();
        let refusals = store.refusals().unwrap();
        let on_log = refusals
            .iter()
            .find(|r| r.header.id == log)
            .expect("the session log's refusal is kept");
        assert_eq!(on_log.refusal, Refusal::Forbidden);
        assert!(on_log.unsent);
        assert_eq!(store.sync_status().unwrap().waiting, 1);
        assert_eq!(store.sessions(course).unwrap().len(), 1);
        // What she may no longer read and holds no work of hers leaves the device; the course
        // her kept work belongs to stays, so the refusal says whose it is.
        let listed: Vec<CourseId> = store.courses().unwrap().iter().map(|c| c.id).collect();
        assert_eq!(listed, vec![course]);
        assert!(store.all_heads().unwrap().iter().all(|(id, _)| {
            *id != DocumentId::course_of(untouched) && *id != DocumentId::session_log_of(untouched)
        }));
        assert_eq!(on_log.citizen_name.as_deref(), Some("Poul Eriksen"));
    }
    // Not offered again while nothing changed.
    let (second, _) = client::sync_now(&tablet.store).await.unwrap();
    assert!(second.forbidden.is_empty(), "{second:?}");
    assert!(second.offered < first.offered, "{first:?} then {second:?}");

    // The grant is given back; at the next sign-in the kept session is delivered.
    db.execute(
        "INSERT INTO user_grants (user_id, team_id) SELECT u.id, t.id FROM users u, teams t
         WHERE u.username = 'vikar' AND t.name = 'Hjemmepleje Syd'",
    );
    assert_eq!(db.count("SELECT COUNT(*) FROM user_grants"), 1);
    client::login(&tablet.store, &server.url(), "vikar", PASSWORD)
        .await
        .unwrap();
    // A sign-in forgets the PIN: the person chooses one again (so a restart opens offline).
    tablet.store().set_pin(TEST_PIN).unwrap();
    tablet.sync().await;
    assert!(tablet.store().refusals().unwrap().is_empty());
    assert_eq!(tablet.store().sync_status().unwrap().waiting, 0);
    laptop.sync().await;
    let delivered: SessionLogDoc = laptop.store().session_log(course).unwrap();
    assert_eq!(
        delivered
            .sessions
            .values()
            .filter(|s| s.id == session)
            .count(),
        1
    );
    // The device store reopens with nothing refused.
    drop(tablet);
    let reopened = open_store(&tmp.path().join("tablet")).unwrap();
    assert!(reopened.refusals().unwrap().is_empty());
}

/// A grant opens another team's citizens: the CLI grants only teams of the user's own
/// municipality, so an operator's typo cannot open one municipality's records to another's staff.
#[test]
fn a_user_is_granted_no_team_of_another_municipality() {
    let tmp = tempfile::tempdir().unwrap();
    let server = Server::start(&tmp.path().join("server"));
    server.create_team("Hjemmepleje Nord");
    server.create_team("Hjemmepleje Vest");
    server.admin(&[
        "create-team",
        "--name",
        "Hjemmepleje Syd",
        "--municipality",
        "Haderslev Kommune",
    ]);
    let create = |username: &str, grant: &str| {
        server
            .command()
            .args([
                "create-user",
                "--username",
                username,
                "--role",
                "assistant",
                "--team",
                "Hjemmepleje Nord",
                "--grant",
                grant,
                "--password",
                PASSWORD,
            ])
            .output()
            .expect("run sync-server")
    };
    let across = create("vikar-syd", "Hjemmepleje Syd");
    assert!(!across.status.success());
    assert!(
        String::from_utf8_lossy(&across.stderr).contains("another municipality"),
        "{}",
        String::from_utf8_lossy(&across.stderr)
    );
    // Nothing was created: the username is still free for a grant within the municipality.
    let within = create("vikar-syd", "Hjemmepleje Vest");
    assert!(
        within.status.success(),
        "{}",
        String::from_utf8_lossy(&within.stderr)
    );
}
