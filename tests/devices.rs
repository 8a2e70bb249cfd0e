//! The device registry with real processes (issue #14): a leader revokes a lost tablet, the
//! tablet hands over its unsynced sessions and then erases its data (checked on disk), its old
//! token is refused; a tablet killed while erasing finishes at its next start; another
//! municipality's leader cannot list or revoke; sign out everywhere ends every sign-in; the
//! app's sign-out ends its token on the server.

use homerehab_app_api::{op, LockState, NoQuery};
use homerehab_app_service::Core;
use homerehab_core::client;
use homerehab_core::error::CoreError;
use homerehab_scenarios::*;
use homerehab_shared::ids::*;
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

const CITIZEN: &str = "Inger Sørensen";

struct Team {
    _tmp: tempfile::TempDir,
    tmp: std::path::PathBuf,
    server: Server,
    laptop: Device,
    leader: Device,
    course: CourseId,
}

/// A therapist's laptop with a citizen's course synced, and a leader signed in.
async fn team() -> Team {
    let tmp = tempfile::tempdir().unwrap();
    let server = Server::start(&tmp.path().join("server"));
    server.create_team("Hjemmepleje Nord");
    server.create_user("terapeut", "therapist", "Hjemmepleje Nord");
    server.create_user("assistent", "assistant", "Hjemmepleje Nord");
    server.admin(&[
        "create-user",
        "--username",
        "leder",
        "--display-name",
        "Lis Ærø",
        "--role",
        "leader",
        "--team",
        "Hjemmepleje Nord",
        "--password",
        PASSWORD,
    ]);
    let laptop = Device::login(&tmp.path().join("laptop"), &server, "terapeut").await;
    let cit = citizen(CITIZEN);
    laptop.store().put_citizen(&cit).unwrap();
    let course = create_course(&laptop, cit.id);
    laptop.sync().await;
    let leader = Device::login(&tmp.path().join("leader"), &server, "leder").await;
    Team {
        tmp: tmp.path().to_path_buf(),
        _tmp: tmp,
        server,
        laptop,
        leader,
        course,
    }
}

/// The app service over a device's store (what both transports call).
fn app_over(device: &Device, server: &Server) -> Core {
    Core::new(device.store.clone(), shipped_library(), server.url())
}

fn session_ids(d: &Device, course: CourseId) -> Vec<SessionId> {
    let log = d.store().session_log(course).unwrap();
    log.sessions.values().map(|s| s.id).collect()
}

/// The status of a raw request with `token` to the real server.
async fn status_with(server: &Server, token: &str, method: &str, path: &str) -> u16 {
    let http = reqwest::Client::new();
    let url = format!("{}{path}", server.url());
    let req = match method {
        "GET" => http.get(url),
        _ => http.post(url).body(Vec::<u8>::new()),
    };
    req.bearer_auth(token)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

/// Every file under `dir`, with its bytes.
fn files_under(dir: &Path) -> Vec<(String, Vec<u8>)> {
    every_file(dir)
        .into_iter()
        .map(|(path, bytes)| (path.strip_prefix(dir).unwrap().display().to_string(), bytes))
        .collect()
}

/// Nothing of the tablet's work or sign-in is left in its folder: no citizen name, no token,
/// no media, no PIN hash; only the notice, the lock and a new empty store.
fn assert_erased(dir: &Path, old_token: &str) {
    assert!(!dir.join("media").exists(), "the media folder is gone");
    let files = files_under(dir);
    let names: Vec<&str> = files.iter().map(|(n, _)| n.as_str()).collect();
    for name in &names {
        assert!(
            ["homerehab.lock", "revoked.json"].contains(name)
                || name.starts_with("homerehab.sqlite3"),
            "unexpected file {name} in {names:?}"
        );
    }
    for (name, bytes) in &files {
        assert!(
            !contains_bytes(bytes, CITIZEN.as_bytes()),
            "{name} holds the citizen's name"
        );
        assert!(
            !contains_bytes(bytes, old_token.as_bytes()),
            "{name} holds the old token"
        );
        assert!(
            !contains_bytes(bytes, b"Borger i godt hum"),
            "{name} holds a session note"
        );
        assert!(
            !contains_bytes(bytes, b"$argon2"),
            "{name} holds a PIN hash"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoked_tablet_hands_over_its_unsynced_sessions_then_erases_its_store_and_its_token_is_refused(
) {
    let t = team().await;
    let dir = t.tmp.join("tablet");
    let tablet = Device::login(&dir, &t.server, "assistent").await;
    tablet.sync().await;
    tablet.store().set_pin("2468").unwrap();
    std::fs::create_dir_all(dir.join("media")).unwrap();
    std::fs::write(dir.join("media").join("photo"), b"exercise photo").unwrap();
    // Offline, the assistant logs two sessions: legitimate work not yet on the server.
    let logged = [
        log_session(&tablet, t.course),
        log_session(&tablet, t.course),
    ];
    let old_token = tablet.me().token;
    let device = tablet.store().device_id().unwrap();

    // The leader finds the tablet in the list and revokes it.
    let listed = client::devices(&t.leader.store).await.unwrap();
    let row = listed
        .iter()
        .find(|d| d.id == device)
        .expect("the tablet is listed");
    assert_eq!(row.username, "assistent");
    assert_eq!(row.app_version, client::APP_VERSION);
    client::revoke_device(&t.leader.store, device, "Glemt i bussen, linje 5")
        .await
        .unwrap();

    // At its next contact the tablet hands over, then erases, and says why.
    match client::sync_now(&tablet.store).await {
        Err(CoreError::DeviceRevoked(notice)) => {
            assert_eq!(notice.revoked_by, "Lis Ærø");
            assert_eq!(notice.reason, "Glemt i bussen, linje 5");
        }
        other => panic!("expected the revocation, got {other:?}"),
    }
    t.laptop.sync().await;
    let on_server = session_ids(&t.laptop, t.course);
    for s in logged {
        assert!(on_server.contains(&s), "session {s} was handed over");
    }
    assert!(tablet.store().identity().unwrap().is_none());
    let notice = tablet.store().revocation().expect("the notice is kept");
    assert_eq!(notice.reason, "Glemt i bussen, linje 5");
    // The app's status op says it on the next screen.
    let app = app_over(&tablet, &t.server);
    let status = app
        .call::<op::status::Op>(op::status::Request {
            query: NoQuery {},
            body: (),
        })
        .await
        .unwrap();
    let revoked = status.revoked.expect("the status says revoked");
    assert_eq!(
        (revoked.by.as_str(), revoked.reason.as_str()),
        ("Lis Ærø", "Glemt i bussen, linje 5")
    );
    assert!(!status.signed_in);
    drop(app);
    drop(tablet);
    assert_erased(&dir, &old_token);

    // The old token is refused everywhere now, sync included.
    assert_eq!(
        status_with(&t.server, &old_token, "POST", "/v1/sync").await,
        401
    );
    assert_eq!(
        status_with(&t.server, &old_token, "GET", "/v1/team").await,
        401
    );
    let after = client::devices(&t.leader.store).await.unwrap();
    let row = after.iter().find(|d| d.id == device).unwrap();
    assert!(row.revoked.as_ref().unwrap().handed_over_at.is_some());

    // Restarted, the app opens empty and still says why.
    let reopened = Device::open(&dir);
    assert_eq!(reopened.store().revocation(), Some(notice));
    assert!(reopened.store().courses().unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoked_tablet_killed_while_erasing_finishes_the_erasure_at_its_next_start() {
    let t = team().await;
    let dir = t.tmp.join("tablet");
    let url = t.server.url();
    succeeded(run_device_cli(
        &dir,
        &[
            "login",
            "--server",
            &url,
            "--username",
            "assistent",
            "--password",
            PASSWORD,
        ],
    ));
    succeeded(run_device_cli(&dir, &["sync"]));
    succeeded(run_device_cli(
        &dir,
        &["log-session", "--course", &t.course.to_string()],
    ));
    let (device, old_token) = {
        let d = Device::open(&dir);
        let id = d.store().device_id().unwrap();
        (id, d.me().token)
    };
    client::revoke_device(&t.leader.store, device, "Stjålet")
        .await
        .unwrap();

    // A sync whose erasure is slowed down, killed as soon as the erasure has begun.
    let mut sync = device_cli(&dir)
        .arg("sync")
        .env("RUST_LOG", "warn")
        .env("HOMEREHAB_ERASE_STEP_MS", "3000")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let notice = dir.join("revoked.json");
    let deadline = Instant::now() + Duration::from_secs(30);
    while !notice.exists() {
        assert!(Instant::now() < deadline, "the erasure never began");
        std::thread::sleep(Duration::from_millis(20));
    }
    sync.kill().unwrap();
    sync.wait().unwrap();
    let begun = std::fs::read_to_string(&notice).unwrap();
    assert!(begun.contains("\"erased\":false"), "{begun}");
    assert!(
        dir.join("homerehab.sqlite3").exists(),
        "killed before the database went"
    );

    // The handed-over session is on the server already.
    t.laptop.sync().await;
    assert_eq!(session_ids(&t.laptop, t.course).len(), 1);

    // The next start finishes the erasure before anything is read, and says why.
    let status: serde_json::Value =
        serde_json::from_str(&succeeded(run_device_cli(&dir, &["status"]))).unwrap();
    assert_eq!(status["revoked"]["reason"], "Stjålet");
    assert_eq!(status["revoked"]["revoked_by"], "Lis Ærø");
    assert!(std::fs::read_to_string(&notice)
        .unwrap()
        .contains("\"erased\":true"));
    assert_erased(&dir, &old_token);
    assert_eq!(
        status_with(&t.server, &old_token, "POST", "/v1/sync").await,
        401
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_municipalitys_leader_can_neither_list_nor_revoke_a_device() {
    let t = team().await;
    t.server.admin(&[
        "create-team",
        "--name",
        "Syd",
        "--municipality",
        "Haderslev Kommune",
    ]);
    t.server.create_user("leder-haderslev", "leader", "Syd");
    let far = Device::login(&t.tmp.join("far"), &t.server, "leder-haderslev").await;
    let tablet = Device::login(&t.tmp.join("tablet"), &t.server, "assistent").await;
    let device = tablet.store().device_id().unwrap();

    let seen = client::devices(&far.store).await.unwrap();
    assert!(seen.iter().all(|d| d.id != device), "{seen:?}");
    assert!(
        seen.iter().all(|d| d.username == "leder-haderslev"),
        "only their own: {seen:?}"
    );
    match client::revoke_device(&far.store, device, "Forsøg").await {
        Err(CoreError::Server { status: 404, .. }) => {}
        other => panic!("expected 404, got {other:?}"),
    }
    // An assistant of the same municipality may not either.
    match client::devices(&tablet.store).await {
        Err(CoreError::Server { status: 403, .. }) => {}
        other => panic!("expected 403, got {other:?}"),
    }
    // The tablet works on.
    tablet.sync().await;
    let listed = client::devices(&t.leader.store).await.unwrap();
    assert!(listed
        .iter()
        .find(|d| d.id == device)
        .unwrap()
        .revoked
        .is_none());
    // The leader's app marks the leader's own device in the list.
    let rows = app_over(&t.leader, &t.server)
        .call::<op::devices::Op>(op::devices::Request {
            query: NoQuery {},
            body: (),
        })
        .await
        .unwrap();
    let own = t.leader.store().device_id().unwrap().to_string();
    let marked: Vec<&str> = rows
        .iter()
        .filter(|r| r.this_device)
        .map(|r| r.id.as_str())
        .collect();
    assert_eq!(marked, [own.as_str()]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_out_everywhere_makes_every_token_of_the_user_401_and_sign_out_ends_its_own() {
    let t = team().await;
    let tablet = Device::login(&t.tmp.join("tablet"), &t.server, "assistent").await;
    let phone = Device::login(&t.tmp.join("phone"), &t.server, "assistent").await;
    let spare = Device::login(&t.tmp.join("spare"), &t.server, "assistent").await;
    let tokens = [tablet.me().token, phone.me().token, spare.me().token];
    for token in &tokens {
        assert_eq!(status_with(&t.server, token, "GET", "/v1/team").await, 200);
    }
    // The app's sign-out ends the spare's token on the server, not just here.
    let status = app_over(&spare, &t.server)
        .call::<op::sign_out::Op>(op::sign_out::Request {
            query: NoQuery {},
            body: (),
        })
        .await
        .unwrap();
    assert_eq!(status.lock, LockState::SignInRequired);
    assert_eq!(
        status_with(&t.server, &tokens[2], "GET", "/v1/team").await,
        401
    );
    assert!(spare.store().identity().unwrap().unwrap().token.is_empty());
    // Signed out, the device syncs no more until someone signs in.
    assert!(matches!(
        client::sync_now(&spare.store).await,
        Err(CoreError::NotSignedIn)
    ));

    // The leader signs the assistant out everywhere: every token is refused.
    let user = tablet.me().user_id;
    let ended = client::sign_out_everywhere(&t.leader.store, user)
        .await
        .unwrap();
    assert_eq!(ended.ended, 2);
    for token in &tokens {
        assert_eq!(status_with(&t.server, token, "GET", "/v1/team").await, 401);
        assert_eq!(status_with(&t.server, token, "POST", "/v1/sync").await, 401);
    }
    // Their work stays on the devices; signing in again goes on with it.
    client::login(&tablet.store, &t.server.url(), "assistent", PASSWORD)
        .await
        .unwrap();
    tablet.sync().await;
    // An operator ends the therapist's sign-ins from the command line.
    let laptop_token = t.laptop.me().token;
    assert_eq!(
        status_with(&t.server, &laptop_token, "GET", "/v1/team").await,
        200
    );
    t.server.admin(&["sign-out-everywhere", "terapeut"]);
    assert_eq!(
        status_with(&t.server, &laptop_token, "GET", "/v1/team").await,
        401
    );
    // The leader is untouched, and may sign themselves out everywhere too.
    let me = t.leader.me().user_id;
    client::sign_out_everywhere(&t.leader.store, me)
        .await
        .unwrap();
    assert_eq!(
        status_with(&t.server, &t.leader.me().token, "GET", "/v1/team").await,
        401
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoked_shared_tablet_erases_only_after_the_parked_users_work_was_handed_over() {
    let t = team().await;
    t.server
        .create_user("assistent2", "assistant", "Hjemmepleje Nord");
    let dir = t.tmp.join("tablet");
    let tablet = Device::login(&dir, &t.server, "assistent").await;
    tablet.sync().await;
    let first = log_session(&tablet, t.course);
    // The first assistant's sign-in expired before the tablet changed hands: their session
    // cannot go with the next one's token and is parked for them.
    let mut first_user = tablet.me();
    first_user.token = "0ld-t0ken-that-expired".into();
    tablet.store().set_identity(&first_user).unwrap();
    client::login(&tablet.store, &t.server.url(), "assistent2", PASSWORD)
        .await
        .unwrap();
    assert_eq!(tablet.store().sync_status().unwrap().parked.len(), 1);
    let device = tablet.store().device_id().unwrap();
    client::revoke_device(&t.leader.store, device, "Tabt")
        .await
        .unwrap();

    // The second assistant has nothing to hand over, but the parked work holds the erasure.
    assert!(matches!(
        client::sync_now(&tablet.store).await,
        Err(CoreError::DeviceRevoked(_))
    ));
    assert!(tablet.store().identity().unwrap().is_some(), "not erased");
    assert_eq!(tablet.store().sync_status().unwrap().parked.len(), 1);
    let listed = client::devices(&t.leader.store).await.unwrap();
    let row = listed.iter().find(|d| d.id == device).unwrap();
    assert_eq!(
        row.revoked.as_ref().unwrap().handed_over_at,
        None,
        "still open"
    );
    // The second assistant signs out: told the tablet is revoked, and signed out all the
    // same, so whoever picks the tablet up next reads nothing of theirs.
    assert!(matches!(
        client::sign_out(&tablet.store).await,
        Err(CoreError::DeviceRevoked(_))
    ));
    assert!(tablet.store().identity().unwrap().unwrap().token.is_empty());
    assert!(matches!(
        tablet
            .store()
            .require_unlocked(homerehab_core::store::now_ms()),
        Err(CoreError::Locked)
    ));

    // The first assistant signs in on the revoked tablet; their session is handed over, and
    // only then is the tablet erased.
    client::login(&tablet.store, &t.server.url(), "assistent", PASSWORD)
        .await
        .unwrap();
    assert!(matches!(
        client::sync_now(&tablet.store).await,
        Err(CoreError::DeviceRevoked(_))
    ));
    t.laptop.sync().await;
    assert_eq!(session_ids(&t.laptop, t.course), vec![first]);
    assert!(tablet.store().identity().unwrap().is_none(), "erased");
    drop(tablet);
    assert_erased(&dir, &first_user.token);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nobody_signs_in_on_a_tablet_that_was_revoked_and_erased_while_changing_hands() {
    let t = team().await;
    t.server
        .create_user("assistent2", "assistant", "Hjemmepleje Nord");
    let dir = t.tmp.join("tablet");
    let tablet = Device::login(&dir, &t.server, "assistent").await;
    tablet.sync().await;
    let device = tablet.store().device_id().unwrap();
    client::revoke_device(&t.leader.store, device, "Tabt")
        .await
        .unwrap();
    // The next person signs in: the first one's sync at the hand-over finds the tablet
    // revoked with nothing left, and erases it. The sign-in stops there.
    let err = client::login(&tablet.store, &t.server.url(), "assistent2", PASSWORD)
        .await
        .unwrap_err();
    assert!(matches!(err, CoreError::DeviceRevoked(_)), "{err}");
    assert!(
        tablet.store().identity().unwrap().is_none(),
        "nobody signed in"
    );
    assert!(tablet.store().revocation().is_some(), "the notice is shown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoked_tablet_sends_its_look_ups_to_the_access_log_before_it_erases() {
    use homerehab_shared::audit::AuditAction;
    let t = team().await;
    let dir = t.tmp.join("tablet");
    let tablet = Device::login(&dir, &t.server, "assistent").await;
    tablet.sync().await;
    // Offline, the assistant opened the course: nothing else waits to be sent.
    let me = tablet.me();
    tablet
        .store()
        .record_look_up(
            me.user_id,
            AuditAction::OpenedCourse,
            t.course,
            homerehab_core::store::now_ms(),
        )
        .unwrap();
    assert_eq!(tablet.store().sync_status().unwrap().waiting, 0);
    let device = tablet.store().device_id().unwrap();
    client::revoke_device(&t.leader.store, device, "Fratrådt")
        .await
        .unwrap();
    assert!(matches!(
        client::sync_now(&tablet.store).await,
        Err(CoreError::DeviceRevoked(_))
    ));
    assert!(tablet.store().identity().unwrap().is_none(), "erased");
    // The look-up reached the access log before the hand-over closed.
    let opened = format!(
        "SELECT COUNT(*) FROM audit_log WHERE action = 'opened_course' AND user_id = '{}'",
        me.user_id
    );
    assert_eq!(t.server.db().count(&opened), 1);
}
