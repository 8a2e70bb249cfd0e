//! What the local API's test binaries share: the router over a store, as `homerehab-app`
//! builds it, and calling it without sockets.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use homerehab_app_api as api;
use homerehab_app_service::Core;
use homerehab_core::store::{now_ms, Identity, Store};
use homerehab_local_api::http::{self, Dirs};
use homerehab_shared::ids::{TeamId, UserId};
use homerehab_shared::model::Role;
use http_body_util::BodyExt;
use serde::de::DeserializeOwned;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use tower::ServiceExt;

/// A sync server that is not there: nothing listens on port 9 of loopback, so every sync fails
/// as offline.
pub const OFFLINE: &str = "http://127.0.0.1:9";

/// The launch key the tests' app is started with; every call carries it as a program does.
pub const TEST_KEY: &str = "test-launch-key-0123456789abcdef-0123";

/// Stores `course` with one program line (sit-to-stand, 2 × 10): a course as the effect
/// tests need one, its exercises beside the point.
#[allow(dead_code)] // not every test binary makes courses this way
pub fn create_course_with_one_line(store: &mut Store, course: &homerehab_shared::model::Course) {
    use homerehab_shared::model::{Dosage, ProgramExercise};
    store
        .create_course(
            course,
            &[ProgramExercise::new(
                "sit-to-stand",
                1.0,
                Dosage::reps(2, 10),
            )],
        )
        .unwrap();
}

/// A store in `dir` signed in (to [`OFFLINE`]) as a new user with `role` in a new team; the
/// user's and the team's ids.
#[allow(dead_code)] // not every test binary signs in this way
pub fn signed_in(
    dir: &Path,
    role: Role,
    username: &str,
    display_name: &str,
) -> (Store, UserId, TeamId) {
    let store = Store::open(dir).unwrap();
    let (me, team) = (UserId::new(), TeamId::new());
    store
        .set_identity(&Identity {
            user_id: me,
            username: username.into(),
            display_name: display_name.into(),
            role,
            team_id: team,
            server_url: OFFLINE.into(),
            token: "t".into(),
            expires_at: now_ms() + 3_600_000,
            municipality_id: None,
            granted_teams: vec![],
        })
        .unwrap();
    (store, me, team)
}

pub fn assets() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../assets")
}

/// The local API over `store` (UI files in `dir/dist`), signing in to the sync server at
/// `server`.
pub fn router(store: Store, dir: &Path, server: &str) -> LocalApi {
    let library = homerehab_core::library::load(&assets()).unwrap();
    let store = Arc::new(Mutex::new(store));
    let core = Core::new(store.clone(), Arc::new(library), server.into());
    LocalApi {
        store,
        app: http::app(
            Arc::new(core),
            &Dirs {
                ui: dir.join("dist"),
                illustrations: assets().join("illustrations"),
            },
            http::LaunchKey::given(TEST_KEY).unwrap(),
        ),
    }
}

/// One device's local API, called request by request.
pub struct LocalApi {
    /// The app's own store (the data folder is locked to it: no second store may open there).
    #[allow(dead_code)] // not every test binary reads it
    pub store: homerehab_core::store::SharedStore,
    pub app: axum::Router,
}

impl LocalApi {
    pub async fn call(&self, method: &str, uri: &str, body: Option<&str>) -> (StatusCode, Vec<u8>) {
        let mut req = Request::builder()
            .method(method)
            .uri(uri)
            .header(http::KEY_HEADER, TEST_KEY);
        if body.is_some() {
            req = req.header("content-type", "application/json");
        }
        let req = req
            .body(body.map_or_else(Body::empty, |b| Body::from(b.to_string())))
            .unwrap();
        let resp = self.app.clone().oneshot(req).await.unwrap();
        let status = resp.status();
        let bytes = resp.into_body().collect().await.unwrap().to_bytes();
        (status, bytes.to_vec())
    }

    /// The answer of a call that must succeed.
    pub async fn ok<T: DeserializeOwned>(&self, method: &str, uri: &str, body: Option<&str>) -> T {
        let (status, bytes) = self.call(method, uri, body).await;
        assert_eq!(
            status,
            StatusCode::OK,
            "{method} {uri}: {}",
            String::from_utf8_lossy(&bytes)
        );
        serde_json::from_slice(&bytes).unwrap()
    }

    /// The status and `{kind, message}` of a call that must fail.
    pub async fn err(
        &self,
        method: &str,
        uri: &str,
        body: Option<&str>,
    ) -> (StatusCode, api::ApiError) {
        let (status, bytes) = self.call(method, uri, body).await;
        assert!(
            !status.is_success(),
            "{method} {uri}: {}",
            String::from_utf8_lossy(&bytes)
        );
        (status, serde_json::from_slice(&bytes).unwrap())
    }
}

#[allow(dead_code)]
pub const PASSWORD: &str = "korrekt-hest-batteri";

#[allow(dead_code)] // not every test binary syncs
/// The real `sync-server` binary on a loopback port, with one team and its staff.
pub struct SyncServer {
    pub url: String,
    child: std::process::Child,
    _dir: tempfile::TempDir,
}

impl Drop for SyncServer {
    fn drop(&mut self) {
        self.child.kill().ok();
        self.child.wait().ok();
    }
}

#[allow(dead_code)]
fn sync_server_binary() -> PathBuf {
    let mut dir = std::env::current_exe()
        .unwrap()
        .parent()
        .unwrap()
        .to_path_buf();
    if dir.ends_with("deps") {
        dir.pop();
    }
    let bin = dir.join("sync-server");
    assert!(
        bin.exists(),
        "{} is not built; run `cargo build --workspace --bins` first (scripts/test does)",
        bin.display()
    );
    bin
}

#[allow(dead_code)]
impl SyncServer {
    pub fn start(users: &[(&str, &str)]) -> SyncServer {
        Self::start_with(users, &[])
    }

    /// A server with its own settings from `env` (`HOMEREHAB_TOKEN_TTL_SECS`, …).
    pub fn start_with(users: &[(&str, &str)], env: &[(&str, &str)]) -> SyncServer {
        let dir = tempfile::tempdir().unwrap();
        let admin = |args: &[&str]| {
            let out = std::process::Command::new(sync_server_binary())
                .arg("--data-dir")
                .arg(dir.path())
                .args(args)
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "{args:?}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        };
        admin(&["create-team", "--name", "Hjemmetræning Nord"]);
        for (username, role) in users {
            admin(&[
                "create-user",
                "--username",
                username,
                "--role",
                role,
                "--team",
                "Hjemmetræning Nord",
                "--password",
                PASSWORD,
            ]);
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = std::process::Command::new(sync_server_binary())
            .arg("--data-dir")
            .arg(dir.path())
            .arg("--bind")
            .arg(format!("127.0.0.1:{port}"))
            .arg("serve")
            .env("RUST_LOG", "warn")
            .envs(env.iter().copied())
            .stdout(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                std::time::Instant::now() < deadline,
                "sync-server did not start"
            );
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        SyncServer {
            url: format!("http://127.0.0.1:{port}"),
            child,
            _dir: dir,
        }
    }
}

/// A device: the local API over its own store in a temp dir.
#[allow(dead_code)] // not every test binary syncs
pub struct Device {
    pub api: LocalApi,
    _dir: tempfile::TempDir,
}

impl std::ops::Deref for Device {
    type Target = LocalApi;
    fn deref(&self) -> &LocalApi {
        &self.api
    }
}

#[allow(dead_code)]
impl SyncServer {
    /// A fresh device signed in as `username` through the local API, synced once.
    pub async fn device(&self, username: &str) -> Device {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        std::fs::create_dir(dir.path().join("dist")).unwrap();
        let d = Device {
            api: router(store, dir.path(), &self.url),
            _dir: dir,
        };
        let body = format!(r#"{{"username":"{username}","password":"{PASSWORD}"}}"#);
        let _: api::Me = d.ok("POST", "/api/login", Some(&body)).await;
        d.sync().await;
        d
    }
}

#[allow(dead_code)]
impl Device {
    /// Syncs now; the status after it.
    pub async fn sync(&self) -> api::Status {
        self.ok("POST", "/api/sync", None).await
    }

    pub async fn post<T: DeserializeOwned>(&self, uri: &str, body: &serde_json::Value) -> T {
        self.ok("POST", uri, Some(&body.to_string())).await
    }
}
