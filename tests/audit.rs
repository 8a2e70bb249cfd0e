//! The audit log and the citizen's access report with real processes (issue #14, items 3 and
//! 4): a therapist opens a citizen's course and history in the app (`homerehab-app`, a real
//! process) while the server is down, syncs later, and the admin's access report lists those
//! look-ups with the therapist's name and role, beside the tablet that received the course in a
//! sync; the report's own look-up is in the next report; another municipality's admin gets
//! 404; a device cannot submit look-ups of another user; an edited row of the server's log is
//! found by `sync-server audit-verify`.

use homerehab_scenarios::*;
use homerehab_shared::audit::{AuditAction, AuditUpload, DeviceAuditEntry};
use homerehab_shared::docs::ProgramEdit;
use homerehab_shared::ids::*;
use std::time::{Duration, Instant};

const NORD: &str = "Hjemmepleje Nord";
const CITIZEN: &str = "Inger Sørensen";

fn named_user(server: &Server, username: &str, name: &str, role: &str, team: &str) {
    server.admin(&[
        "create-user",
        "--username",
        username,
        "--display-name",
        name,
        "--role",
        role,
        "--team",
        team,
        "--password",
        PASSWORD,
    ]);
}

/// The access report's CSV once the read model knows the citizen (it catches up off the
/// sync's path).
async fn report_csv(server: &Server, token: &str, citizen: CitizenId) -> String {
    let path = format!("/v1/citizens/{citizen}/access-report.csv");
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let resp = server.get(token, &path).await;
        if resp.status() == 200 {
            assert_eq!(
                resp.headers()["content-type"],
                "text/csv; charset=utf-8",
                "a CSV"
            );
            assert_eq!(resp.headers()["cache-control"], "no-store");
            let bytes = resp.bytes().await.unwrap();
            assert!(
                bytes.starts_with("\u{feff}".as_bytes()),
                "a BOM, so Danish Excel reads it as UTF-8"
            );
            return String::from_utf8(bytes.to_vec()).unwrap();
        }
        assert_eq!(resp.status(), 404, "{}", resp.text().await.unwrap());
        assert!(
            Instant::now() < deadline,
            "the read model never knew the citizen"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn audit_verify(server: &Server) -> (bool, String) {
    let out = server.command().arg("audit-verify").output().unwrap();
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_course_opened_offline_is_in_the_citizens_access_report_after_sync_and_an_edited_row_is_found(
) {
    let tmp = tempfile::tempdir().unwrap();
    let mut server = Server::start(&tmp.path().join("server"));
    server.create_team(NORD);
    server.admin(&[
        "create-team",
        "--name",
        "Hjemmepleje Syd",
        "--municipality",
        "Haderslev Kommune",
    ]);
    named_user(&server, "terapeut", "Tove Terapeut", "therapist", NORD);
    named_user(&server, "assistent", "Anna Assistent", "assistant", NORD);
    named_user(&server, "admin", "Ada Admin", "admin", NORD);
    named_user(&server, "admin-syd", "Sune Syd", "admin", "Hjemmepleje Syd");
    // A team of Nord's municipality whose therapist may not read Nord's courses (as after a
    // move from Nord, or a withdrawn grant).
    server.create_team("Hjemmetræning Øst");
    named_user(
        &server,
        "terapeut-oest",
        "Ole Øst",
        "therapist",
        "Hjemmetræning Øst",
    );

    // The therapist's laptop creates the citizen and the course; the tablet receives them.
    let laptop_dir = tmp.path().join("laptop");
    let laptop = Device::login(&laptop_dir, &server, "terapeut").await;
    let cit = citizen(CITIZEN);
    laptop.store().put_citizen(&cit).unwrap();
    let course = create_course(&laptop, cit.id);
    laptop.sync().await;
    let therapist = laptop.me();
    drop(laptop);
    let tablet = Device::login(&tmp.path().join("tablet"), &server, "assistent").await;
    tablet.sync().await;
    let tablet_device = tablet.store().device_id().unwrap();

    // Offline: the server is down while the therapist opens the course and its history in
    // the app (a real process over the laptop's folder).
    server.kill();
    let offline_from = homerehab_core::store::now_ms();
    {
        let app = AppProcess::start(&laptop_dir, &server.url());
        app.unlock().await;
        let (status, detail) = app.get(&format!("/courses/{course}")).await;
        assert_eq!(status, 200, "{detail}");
        let (status, history) = app.get(&format!("/courses/{course}/history")).await;
        assert_eq!(status, 200, "{history}");
    }
    let offline_to = homerehab_core::store::now_ms();
    let laptop = Device::open(&laptop_dir);
    let waiting = laptop
        .store()
        .unsent_look_ups(therapist.user_id, 100)
        .unwrap();
    assert_eq!(
        waiting.iter().map(|e| e.action).collect::<Vec<_>>(),
        [AuditAction::OpenedCourse, AuditAction::OpenedHistory],
        "kept on the device while offline"
    );
    assert!(waiting
        .iter()
        .all(|e| e.at >= offline_from && e.at <= offline_to && e.course_id == course));

    // Online again: the sync sends them after the documents; a second sync sends nothing.
    server.restart();
    laptop.sync().await;
    assert!(laptop
        .store()
        .unsent_look_ups(therapist.user_id, 100)
        .unwrap()
        .is_empty());
    let opened =
        "SELECT COUNT(*) FROM audit_log WHERE action IN ('opened_course', 'opened_history')";
    assert_eq!(server.db().count(opened), 2);
    laptop.sync().await;
    assert_eq!(server.db().count(opened), 2, "sent once");

    // The tablet's copy of the course is recorded once an hour, not at every sync that brings
    // more of it: the therapist revises the program twice, the tablet's sync brings each.
    let sent_to_tablet = format!(
        "SELECT COUNT(*) FROM audit_log WHERE action = 'synced_course' AND device_id = '{tablet_device}'"
    );
    let before = server.db().count(&sent_to_tablet);
    assert_eq!(before, 1, "the tablet's first sync");
    for (i, exercise) in ["wall-push-up", "seated-knee-extension"].iter().enumerate() {
        revise_program(
            &laptop,
            course,
            &[ProgramEdit::Upsert(program_line(
                exercise,
                4.0 + i as f64,
                2,
            ))],
            "Øvelse tilføjet",
        );
        laptop.sync().await;
        assert_eq!(
            tablet.sync().await.received,
            1,
            "the revision reaches the tablet"
        );
        assert_eq!(
            server.db().count(&sent_to_tablet),
            2,
            "the first delivery since the server started is recorded, the next within the hour is not"
        );
    }

    // The admin's access report: the therapist's look-ups with name and role, the tablet's
    // copy, and the report's own look-up.
    let admin = Device::login(&tmp.path().join("admin"), &server, "admin").await;
    let admin_token = admin.me().token;
    let csv = report_csv(&server, &admin_token, cit.id).await;
    let lines: Vec<&str> = csv.lines().collect();
    assert!(
        lines[0].starts_with("\u{feff}Løbenummer;Tidspunkt (dansk tid);Medarbejder;Rolle;Handling;Formål;Enhed;Forløb"),
        "{}",
        lines[0]
    );
    let row = |who: &str, what: &str| {
        lines
            .iter()
            .find(|l| l.contains(&format!(";{who};")) && l.contains(&format!(";{what};")))
            .copied()
    };
    let course_opened = row("Tove Terapeut", "Forløb åbnet").unwrap_or_else(|| panic!("{csv}"));
    assert!(course_opened.contains(";Terapeut;Forløb åbnet;Hjemmetræning (besøg);"));
    assert!(course_opened.ends_with(&course.to_string()));
    assert!(row("Tove Terapeut", "Historik åbnet").is_some(), "{csv}");
    let synced =
        row("Anna Assistent", "Forløb overført til enhed").unwrap_or_else(|| panic!("{csv}"));
    assert!(synced.contains(";Træningsassistent;"));
    assert!(
        synced.contains(&tablet_device.to_string()),
        "the device: {synced}"
    );
    assert!(row("Anna Assistent", "Holdets borgerliste overført til enhed").is_some());
    assert!(
        row("Ada Admin", "Adgangsrapport (udtræk af loggen)").is_some(),
        "{csv}"
    );
    assert!(
        !csv.contains(CITIZEN),
        "no citizen's name in the log or the report"
    );

    // The JSON form is the same report, with the look-up of the CSV above in it too.
    let json: serde_json::Value = server
        .get(
            &admin_token,
            &format!("/v1/citizens/{}/access-report", cit.id),
        )
        .await
        .json()
        .await
        .unwrap();
    let reports = json["lines"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|l| l["what"] == "Adgangsrapport (udtræk af loggen)")
        .count();
    assert_eq!(reports, 2, "each look-up of the log is logged");

    // Another municipality's admin: as if the citizen did not exist. A therapist: not theirs.
    let syd = Device::login(&tmp.path().join("syd"), &server, "admin-syd").await;
    let path = format!("/v1/citizens/{}/access-report.csv", cit.id);
    assert_eq!(server.get(&syd.me().token, &path).await.status(), 404);
    assert_eq!(server.get(&therapist.token, &path).await.status(), 403);
    let unknown = format!("/v1/citizens/{}/access-report.csv", CitizenId::new());
    assert_eq!(server.get(&admin_token, &unknown).await.status(), 404);

    // The tablet cannot put look-ups in the therapist's name.
    let forged = AuditUpload {
        entries: vec![DeviceAuditEntry {
            entry_id: uuid::Uuid::new_v4(),
            at: 1,
            user_id: therapist.user_id,
            action: AuditAction::OpenedSummary,
            course_id: course,
        }],
    };
    let resp = reqwest::Client::new()
        .post(format!("{}/v1/audit", server.url()))
        .bearer_auth(tablet.me().token)
        .json(&forged)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 403);
    assert_eq!(
        server
            .db()
            .count("SELECT COUNT(*) FROM audit_log WHERE action = 'opened_summary'"),
        0
    );

    // A look-up of a course the user can no longer read, sent after the access went: kept
    // within their own municipality (the citizen's report must show it), refused for another
    // municipality's course.
    let post_look_up = |user: &Device, action: AuditAction| {
        let me = user.me();
        let upload = AuditUpload {
            entries: vec![DeviceAuditEntry {
                entry_id: uuid::Uuid::new_v4(),
                at: 2,
                user_id: me.user_id,
                action,
                course_id: course,
            }],
        };
        let url = format!("{}/v1/audit", server.url());
        async move {
            let resp = reqwest::Client::new()
                .post(url)
                .bearer_auth(me.token)
                .json(&upload)
                .send()
                .await
                .unwrap();
            assert_eq!(resp.status(), 200);
            resp.json::<homerehab_shared::audit::AuditReceipt>()
                .await
                .unwrap()
        }
    };
    let before_history = server
        .db()
        .count("SELECT COUNT(*) FROM audit_log WHERE action = 'opened_history'");
    let moved = Device::login(&tmp.path().join("oest"), &server, "terapeut-oest").await;
    let receipt = post_look_up(&moved, AuditAction::OpenedHistory).await;
    assert_eq!(receipt.kept.len(), 1, "{receipt:?}");
    let receipt = post_look_up(&syd, AuditAction::OpenedHistory).await;
    assert_eq!(receipt.refused.len(), 1, "{receipt:?}");
    assert_eq!(
        server
            .db()
            .count("SELECT COUNT(*) FROM audit_log WHERE action = 'opened_history'"),
        before_history + 1
    );

    // The chain holds; an edited row (a look-up given to the assistant) is named.
    let (ok, said) = audit_verify(&server);
    assert!(ok, "{said}");
    let entries = server.db().count("SELECT COUNT(*) FROM audit_log");
    assert!(said.contains(&format!("{entries} entries")), "{said}");
    let head = said
        .split("head ")
        .nth(1)
        .and_then(|h| h.split_whitespace().next())
        .unwrap_or_else(|| panic!("{said}"))
        .to_string();
    let out = server
        .command()
        .args(["audit-verify", "--kept", &head])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let seq = server
        .db()
        .count("SELECT MIN(seq) FROM audit_log WHERE action = 'opened_history'");
    let assistant = tablet.me().user_id;
    server.db().execute(&format!(
        "UPDATE audit_log SET user_id = '{assistant}', role = 'assistant' WHERE seq = {seq}"
    ));
    let (ok, said) = audit_verify(&server);
    assert!(!ok, "the edit went unnoticed: {said}");
    assert!(
        said.contains(&format!("BROKEN at entry {seq}"))
            && said.contains(&format!("entry {seq} was changed after it was written")),
        "{said}"
    );
}
