//! Issue #13 item 5: a device whose unsent work exceeds one request's budget sends it in
//! several requests within one sync. The real sync-server binary on loopback (SQLite, or
//! PostgreSQL under `scripts/with-postgres`), real device stores, and the `homerehab` CLI with
//! a small budget (`HOMEREHAB_SYNC_REQUEST_BYTES`).

use homerehab_scenarios::*;
use homerehab_shared::ids::*;
use std::collections::BTreeMap;

const COURSES: usize = 24;

/// The server's count of sync requests answered 200, from `/metrics`.
async fn sync_requests(server: &Server) -> u64 {
    let text = reqwest::get(format!("{}/metrics", server.url()))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    text.lines()
        .filter(|l| {
            l.starts_with("homerehab_http_requests_total{")
                && l.contains("route=\"/v1/sync\"")
                && l.contains("status=\"200\"")
        })
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum::<f64>() as u64
}

/// Every course's sessions in the device's session logs: their ids and set counts.
fn sessions_on(
    device: &Device,
    courses: &[CourseId],
) -> BTreeMap<CourseId, Vec<(SessionId, usize)>> {
    courses
        .iter()
        .map(|c| {
            let log = device.store().session_log(*c).unwrap();
            let mut sessions: Vec<_> = log
                .sessions
                .values()
                .map(|s| (s.id, s.set_count()))
                .collect();
            sessions.sort();
            (*c, sessions)
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_month_offline_goes_up_in_several_requests_and_every_session_lands_once() {
    let tmp = tempfile::tempdir().unwrap();
    let tmp = tmp.path();
    let server = Server::start(&tmp.join("server"));
    server.create_team("Hjemmepleje Nord");
    server.create_user("terapeut", "therapist", "Hjemmepleje Nord");
    server.create_user("assistent", "assistant", "Hjemmepleje Nord");
    let laptop = Device::login(&tmp.join("laptop"), &server, "terapeut").await;
    let courses: Vec<CourseId> = (0..COURSES)
        .map(|i| {
            let cit = citizen(&format!("Borger {i}"));
            laptop.store().put_citizen(&cit).unwrap();
            create_course(&laptop, cit.id)
        })
        .collect();
    laptop.sync().await;
    let tablet = Device::login(&tmp.join("tablet"), &server, "assistent").await;
    tablet.sync().await;

    // Offline: two whole sessions in every course (24 sets each).
    let mut logged: BTreeMap<CourseId, Vec<SessionId>> = BTreeMap::new();
    for c in &courses {
        for _ in 0..2 {
            logged.entry(*c).or_default().push(log_session(&tablet, *c));
        }
    }
    let dir = tablet.dir.clone();
    // Let go of the store: the CLI process is the only one to open the folder.
    drop(tablet);

    // One sync with a budget of a few sessions per request.
    let before = sync_requests(&server).await;
    let out = succeeded(
        device_cli(&dir)
            .arg("sync")
            .env("HOMEREHAB_SYNC_REQUEST_BYTES", "12000")
            .output()
            .unwrap(),
    );
    let report: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    eprintln!("the split sync: {report}");
    let round_trips = report["round_trips"].as_u64().unwrap();
    assert!(round_trips >= 3, "{report}");
    assert_eq!(
        report["pushed"].as_u64().unwrap(),
        COURSES as u64,
        "{report}"
    );
    assert_eq!(
        report["squashed"].as_u64().unwrap(),
        COURSES as u64,
        "{report}"
    );
    assert_eq!(report["rejected"].as_array().unwrap().len(), 0, "{report}");
    // The server answered as many sync requests as the device sent.
    assert_eq!(sync_requests(&server).await - before, round_trips);
    // Every request within the server's body limit, with room to spare: the whole upload
    // went, at most about a budget's worth (plus the offers' heads) at a time.
    let up = report["bytes_up"].as_u64().unwrap();
    assert!(up / round_trips < 16_000, "{report}");

    // Nothing waits on the tablet.
    let tablet = Device::open(&dir);
    assert_eq!(tablet.store().sync_status().unwrap().waiting, 0);
    let again = tablet.sync().await;
    assert_eq!((again.round_trips, again.pushed), (1, 0), "{again:?}");

    // A fresh device pulls every session exactly once, every set once.
    let fresh = Device::login(&tmp.join("fresh"), &server, "terapeut").await;
    fresh.sync().await;
    let on_fresh = sessions_on(&fresh, &courses);
    for (course, ids) in &mut logged {
        ids.sort();
        let pulled = &on_fresh[course];
        assert_eq!(
            pulled.iter().map(|(id, _)| *id).collect::<Vec<_>>(),
            *ids,
            "course {course}"
        );
        assert!(pulled.iter().all(|(_, sets)| *sets == 24), "{pulled:?}");
        assert_eq!(fresh.store().sessions(*course).unwrap().len(), 2);
    }
    assert_eq!(
        fresh.store().all_heads().unwrap(),
        tablet.store().all_heads().unwrap(),
        "the fresh device holds what the tablet holds"
    );
}
