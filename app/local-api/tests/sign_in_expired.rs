//! A sign-in the server no longer takes (its token expired overnight while the tablet was
//! opened with the PIN): the status says "sign in again" instead of "offline", since waiting
//! will not mend it, and signing in again sends the work kept on the device.

mod common;

use common::{SyncServer, PASSWORD};
use homerehab_app_api as api;
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_sign_in_asks_for_a_new_one_and_the_work_waits_for_it() {
    let server = SyncServer::start_with(
        &[("terapeut1", "therapist")],
        &[("HOMEREHAB_TOKEN_TTL_SECS", "2")],
    );
    let laptop = server.device("terapeut1").await;
    assert_eq!(laptop.sync().await.state, api::SyncState::Synced);
    tokio::time::sleep(Duration::from_millis(2_500)).await;

    // Work goes on after the token expired; the sync cannot send it.
    let _: api::CitizenView = laptop
        .post(
            "/api/citizens",
            &serde_json::json!({"name": "Karen Jensen", "local_ref": "TK-1", "assigned": []}),
        )
        .await;
    let (_, e) = laptop.err("POST", "/api/sync", None).await;
    assert_eq!(e.kind, api::ErrorKind::SignIn, "{e:?}");
    let status: api::Status = laptop.ok("GET", "/api/status", None).await;
    assert_eq!(status.state, api::SyncState::SignInAgain, "{status:?}");
    assert_eq!(status.waiting, 1);
    assert!(status.signed_in);

    // Signing out and in again keeps the work and sends it.
    let _: api::Status = laptop.ok("POST", "/api/sign-out", None).await;
    let body = format!(r#"{{"username":"terapeut1","password":"{PASSWORD}"}}"#);
    let _: api::Me = laptop.ok("POST", "/api/login", Some(&body)).await;
    let status = laptop.sync().await;
    assert_eq!(
        (status.state, status.waiting),
        (api::SyncState::Synced, 0),
        "{status:?}"
    );
    // It reached the server: another device of the same team reads it.
    let other = server.device("terapeut1").await;
    let citizens: Vec<api::CitizenView> = other.ok("GET", "/api/citizens", None).await;
    assert_eq!(citizens.len(), 1);
}
