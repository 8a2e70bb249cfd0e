//! The server's read model (issue #12's foundation) with the real `sync-server`: what devices
//! sync is projected into the evidence tables behind a cursor that catches up, with no names
//! in them; `sync-server reproject --check` finds a row that no longer says what its document
//! says, and `sync-server reproject` rebuilds the tables to the documents' rows.

use homerehab_core::store::now_ms;
use homerehab_scenarios::*;
use homerehab_shared::ids::{AssessmentId, ReferralId};
use homerehab_shared::model::*;
use std::time::{Duration, Instant};

fn count(db: &ServerDb, sql: &str) -> i64 {
    db.count(sql)
}

/// `sync-server reproject [--check]` on the server's database: (succeeded, what it printed).
fn reproject(server: &Server, check: bool) -> (bool, String) {
    let mut cmd = server.command();
    cmd.arg("reproject");
    if check {
        cmd.arg("--check");
    }
    let out = cmd.output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_devices_sync_reaches_the_read_model_and_a_rebuild_gives_the_same_rows() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("server");
    let mut server = Server::start(&data);
    server.create_team("Hjemmepleje Nord");
    server.create_user("terapeut1", "therapist", "Hjemmepleje Nord");
    server.create_user("assistent1", "assistant", "Hjemmepleje Nord");
    let laptop = Device::login(&tmp.path().join("laptop"), &server, "terapeut1").await;
    let tablet = Device::login(&tmp.path().join("tablet"), &server, "assistent1").await;

    let me = laptop.me();
    let mut karen = citizen("Karen Jensen");
    karen.birth_year = Some(1948);
    karen.assigned.insert(tablet.me().user_id.to_string(), true);
    laptop.store().put_citizen(&karen).unwrap();
    let course = Course {
        goals: vec!["Gå til købmanden".into()],
        status: CourseStatus::Active,
        ..Course::new(karen.id, me.team_id, me.user_id, "2026-03-02", now_ms())
    };
    laptop
        .store()
        .create_course(&course, &[program_line("sit-to-stand", 1.0, 2)])
        .unwrap();
    laptop
        .store()
        .add_assessment(
            course.id,
            &Assessment {
                id: AssessmentId::new(),
                kind: "chair_stand_30s".into(),
                value: 8.0,
                unit: "reps".into(),
                date: "2026-03-03".into(),
                phase: AssessmentPhase::Start,
                by: me.user_id,
                note: Some("Karen var træt".into()),
                place: None,
            },
        )
        .unwrap();
    // Karen's referral, screened and included, and an imported care-time file of two grants.
    let referral = ReferralRecord {
        id: ReferralId::new(),
        citizen_id: karen.id,
        referred_on: "2026-02-20".into(),
        referred_by: me.user_id,
        note: Some("Karen falder ofte".into()),
        recorded_at: now_ms(),
        screening: None,
        course_id: None,
    };
    laptop.store().put_referral(me.team_id, &referral).unwrap();
    let screening = ScreeningRecord {
        criteria: [("wants_to_train".to_string(), true)].into(),
        not_included_reason: None,
        note: None,
        screened_on: "2026-02-25".into(),
        screened_by: me.user_id,
    };
    laptop
        .store()
        .screen_referral(me.team_id, referral.id, &screening)
        .unwrap();
    let at = now_ms();
    let grant = |effective: &str, minutes| CareGrantRecord {
        citizen_id: karen.id,
        effective: effective.into(),
        minutes_per_week: minutes,
        service_code: None,
        recorded_by: me.user_id,
        recorded_at: at,
    };
    laptop
        .store()
        .put_care_grants(
            me.team_id,
            &[grant("2026-01-01", 420), grant("2026-07-01", 300)],
        )
        .unwrap();
    laptop.sync().await;
    tablet.sync().await;
    log_session(&tablet, course.id);
    tablet.sync().await;

    // The projector catches up on its own while the server runs.
    let server_db = server.db();
    let deadline = Instant::now() + Duration::from_secs(20);
    while count(&server_db, "SELECT COUNT(*) FROM rm_pending") > 0
        || count(&server_db, "SELECT COUNT(*) FROM rm_sessions") == 0
    {
        assert!(Instant::now() < deadline, "the read model did not catch up");
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(count(&server_db, "SELECT COUNT(*) FROM rm_citizens"), 1);
    assert_eq!(
        count(
            &server_db,
            "SELECT COUNT(*) FROM rm_courses WHERE status = 'active'"
        ),
        1
    );
    assert_eq!(
        count(
            &server_db,
            "SELECT COUNT(*) FROM rm_test_results WHERE test = 'chair_stand_30s' AND value = 8"
        ),
        1
    );
    assert_eq!(
        count(
            &server_db,
            "SELECT COUNT(*) FROM rm_sessions WHERE status = 'completed' AND set_count = 2"
        ),
        1
    );
    assert_eq!(
        count(
            &server_db,
            "SELECT COUNT(*) FROM rm_referrals WHERE outcome = 'included' AND screened_on = '2026-02-25'"
        ),
        1
    );
    assert_eq!(
        count(
            &server_db,
            "SELECT SUM(minutes_per_week) FROM rm_care_grants"
        ),
        720
    );
    // No name, note or goal text in any evidence table.
    for (table, columns) in [
        ("rm_citizens", "citizen_id || team_id || COALESCE(sex, '')"),
        ("rm_courses", "legal_basis || status || start_date"),
        ("rm_test_results", "test || phase || date"),
        ("rm_referrals", "referred_on || COALESCE(outcome, '')"),
    ] {
        let leaked = count(
            &server_db,
            &format!(
                "SELECT COUNT(*) FROM {table} WHERE {columns} LIKE '%Karen%' OR {columns} LIKE '%træt%' OR {columns} LIKE '%falder%'"
            ),
        );
        assert_eq!(leaked, 0, "{table}");
    }
    server.kill();

    let (ok, text) = reproject(&server, true);
    assert!(ok && text.contains(" 0 differ"), "{text}");
    // A row that no longer says what its document says is found ...
    server_db.execute("UPDATE rm_sessions SET set_count = 99");
    let (ok, text) = reproject(&server, true);
    assert!(!ok && text.contains(" 1 differ"), "{text}");
    // ... and a rebuild from the documents mends it.
    let (ok, text) = reproject(&server, false);
    assert!(ok, "{text}");
    let (ok, text) = reproject(&server, true);
    assert!(
        ok && text.contains(" 0 differ") && text.contains("0 waiting"),
        "{text}"
    );
    assert_eq!(
        count(
            &server_db,
            "SELECT COUNT(*) FROM rm_sessions WHERE set_count = 2"
        ),
        1
    );

    // After a restart, new work is projected again.
    server.restart();
    log_session(&tablet, course.id);
    tablet.sync().await;
    let deadline = Instant::now() + Duration::from_secs(20);
    while count(&server_db, "SELECT COUNT(*) FROM rm_sessions") < 2 {
        assert!(
            Instant::now() < deadline,
            "the second session did not reach the read model"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}
