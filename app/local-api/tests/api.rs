//! The local API end to end over its router (no sockets): a signed-in device with one course
//! plays a whole session, and every kind of bad request gets the `{kind, message}` error.

mod common;
use common::{router, signed_in, LocalApi, OFFLINE};
use homerehab_local_api::http;

use axum::http::StatusCode;
use homerehab_app_api as api;
use homerehab_core::store::{now_ms, Store};
use homerehab_shared::ids::*;
use homerehab_shared::model::*;

struct Device {
    api: LocalApi,
    course: CourseId,
    team: TeamId,
    _dir: tempfile::TempDir,
}

fn line(exercise: &str, position: f64, sets: u32) -> ProgramExercise {
    ProgramExercise {
        instructions: Some("Hold fast i køkkenbordet".into()),
        ..ProgramExercise::new(exercise, position, Dosage::reps(sets, 10))
    }
}

/// A device signed in as an assistant (to a server that is not there), with one citizen
/// assigned to them and one active course of two exercises: one from the library, one not.
fn device() -> Device {
    let dir = tempfile::tempdir().unwrap();
    let (mut store, me, team) =
        signed_in(dir.path(), Role::Assistant, "assistent1", "Lone Mikkelsen");
    let citizen = Citizen {
        id: CitizenId::new(),
        name: "Karen Jensen".into(),
        local_ref: "TK-1".into(),
        address: Some("Storegade 12, 7700 Thisted".into()),
        assigned: [(me.to_string(), true)].into(),
        active: true,
        birth_year: None,
        sex: None,
    };
    store.put_citizen(&citizen).unwrap();
    let course = Course {
        sessions_per_week: 2,
        goals: vec!["Rejse sig uden armlæn".into()],
        status: CourseStatus::Active,
        ..Course::new(citizen.id, team, UserId::new(), "2026-01-05", now_ms())
    };
    store
        .create_course(
            &course,
            &[
                line("wall-push-up", 2.0, 1),
                line("sit-to-stand", 1.0, 2),
                line("not-in-library", 3.0, 1),
            ],
        )
        .unwrap();
    let ui = dir.path().join("dist");
    std::fs::create_dir(&ui).unwrap();
    std::fs::write(ui.join("index.html"), "<html>ui</html>").unwrap();
    Device {
        api: router(store, dir.path(), OFFLINE),
        course: course.id,
        team,
        _dir: dir,
    }
}

// Nothing listens on port 9 of loopback: every sync fails as offline.

impl std::ops::Deref for Device {
    type Target = LocalApi;
    fn deref(&self) -> &LocalApi {
        &self.api
    }
}

#[tokio::test]
async fn a_whole_session_is_logged_through_the_api() {
    let d = device();
    let c = d.course;

    let visits: Vec<api::Visit> = d.ok("GET", "/api/visits", None).await;
    assert_eq!(visits.len(), 1);
    assert_eq!(visits[0].citizen_name, "Karen Jensen");
    assert_eq!(
        (visits[0].sessions_this_week, visits[0].sessions_per_week),
        (0, 2)
    );
    assert!(visits[0].due);

    let detail: api::CourseDetail = d.ok("GET", &format!("/api/courses/{c}"), None).await;
    let refs: Vec<_> = detail
        .lines
        .iter()
        .map(|l| l.exercise_ref.as_str())
        .collect();
    assert_eq!(
        refs,
        ["sit-to-stand", "wall-push-up", "not-in-library"],
        "program order"
    );
    assert_eq!(detail.lines[0].title, "Rejse-sætte-sig");
    assert_eq!(
        detail.lines[0].illustration.as_deref(),
        Some("/illustrations/sit-to-stand.svg")
    );
    assert_eq!(detail.lines[2].title, "Not in library");
    assert_eq!(detail.lines[2].illustration, None);
    let english: api::CourseDetail = d
        .ok("GET", &format!("/api/courses/{c}?lang=en"), None)
        .await;
    assert_eq!(english.lines[0].title, "Sit to stand");

    let started: api::StartedSession = d
        .ok("POST", &format!("/api/courses/{c}/sessions"), None)
        .await;
    assert_eq!(started.revision_number, 1);
    let s = started.session_id;
    let first = &detail.lines[0].line_id;
    for want in 1..=2 {
        let body = format!(r#"{{"line_id":"{first}","reps":10,"duration_s":null,"load_kg":null}}"#);
        let logged: api::SetLogged = d
            .ok(
                "POST",
                &format!("/api/courses/{c}/sessions/{s}/sets"),
                Some(&body),
            )
            .await;
        assert_eq!(logged.sets_done, want);
    }
    let fb = format!(
        r#"{{"line_id":"{first}","outcome":"done","skip_reason":null,"borg":4,"pain":2,"note":" "}}"#
    );
    let _: api::Saved = d
        .ok(
            "POST",
            &format!("/api/courses/{c}/sessions/{s}/feedback"),
            Some(&fb),
        )
        .await;
    let second = &detail.lines[1].line_id;
    let skip = format!(
        r#"{{"line_id":"{second}","outcome":"skipped","skip_reason":"Ondt i skulderen","borg":null,"pain":6,"note":null}}"#
    );
    let _: api::Saved = d
        .ok(
            "POST",
            &format!("/api/courses/{c}/sessions/{s}/feedback"),
            Some(&skip),
        )
        .await;
    let summary: api::SessionSummary = d
        .ok(
            "POST",
            &format!("/api/courses/{c}/sessions/{s}/finish"),
            Some(r#"{"general_condition":4,"note":"God dag"}"#),
        )
        .await;
    assert_eq!(summary.status, "completed");
    assert_eq!(summary.general_condition, Some(4));
    let lines: Vec<_> = summary
        .exercises
        .iter()
        .map(|e| (e.exercise_ref.as_str(), e.sets_done, e.outcome, e.pain))
        .collect();
    assert_eq!(
        lines,
        [
            ("sit-to-stand", 2, Some(api::Outcome::Done), Some(2)),
            ("wall-push-up", 0, Some(api::Outcome::Skipped), Some(6)),
        ]
    );
    let again: api::SessionSummary = d
        .ok("GET", &format!("/api/courses/{c}/sessions/{s}"), None)
        .await;
    assert_eq!(again, summary);

    let visits: Vec<api::Visit> = d.ok("GET", "/api/visits", None).await;
    assert_eq!(visits[0].sessions_this_week, 1);

    // Not carried out: recorded, and it does not count as a session done this week.
    let nco: api::SessionSummary = d
        .ok(
            "POST",
            &format!("/api/courses/{c}/not-carried-out"),
            Some(r#"{"reason":"not_at_home","note":null}"#),
        )
        .await;
    assert_eq!(nco.status, "not_carried_out");
    let visits: Vec<api::Visit> = d.ok("GET", "/api/visits", None).await;
    assert_eq!(visits[0].sessions_this_week, 1);
    assert!(visits[0].due);

    // Everything waits for a server that is not there.
    let status: api::Status = d.ok("GET", "/api/status", None).await;
    assert_eq!(
        (status.state, status.signed_in),
        (api::SyncState::Waiting, true)
    );
    assert!(status.waiting >= 1, "{status:?}");
    let (code, e) = d.err("POST", "/api/sync", None).await;
    assert_eq!(
        (code, e.kind),
        (StatusCode::SERVICE_UNAVAILABLE, api::ErrorKind::Offline)
    );
    let status: api::Status = d.ok("GET", "/api/status", None).await;
    assert_eq!(status.state, api::SyncState::Offline);
    assert!(status.waiting >= 1);
}

#[tokio::test]
async fn bad_requests_get_the_one_error_shape() {
    let d = device();
    let c = d.course;
    let (code, e) = d.err("GET", "/api/courses/not-a-uuid", None).await;
    assert_eq!(
        (code, e.kind),
        (StatusCode::UNPROCESSABLE_ENTITY, api::ErrorKind::Invalid)
    );
    let (code, e) = d
        .err("GET", &format!("/api/courses/{}", CourseId::new()), None)
        .await;
    assert_eq!(
        (code, e.kind),
        (StatusCode::NOT_FOUND, api::ErrorKind::NotFound)
    );
    let (_, e) = d
        .err(
            "POST",
            &format!("/api/courses/{c}/not-carried-out"),
            Some("{nope"),
        )
        .await;
    assert_eq!(e.kind, api::ErrorKind::Invalid);
    let (_, e) = d.err("GET", "/api/no-such-thing", None).await;
    assert_eq!(e.kind, api::ErrorKind::NotFound);

    let started: api::StartedSession = d
        .ok("POST", &format!("/api/courses/{c}/sessions"), None)
        .await;
    let s = started.session_id;
    let detail: api::CourseDetail = d.ok("GET", &format!("/api/courses/{c}"), None).await;
    let l = &detail.lines[0].line_id;
    let pain = format!(
        r#"{{"line_id":"{l}","outcome":"done","skip_reason":null,"borg":3,"pain":11,"note":null}}"#
    );
    let (code, e) = d
        .err(
            "POST",
            &format!("/api/courses/{c}/sessions/{s}/feedback"),
            Some(&pain),
        )
        .await;
    assert_eq!(
        (code, e.kind),
        (StatusCode::UNPROCESSABLE_ENTITY, api::ErrorKind::Invalid)
    );
    assert!(e.message.contains("pain"), "{}", e.message);
    let stranger = format!(
        r#"{{"line_id":"{}","reps":1,"duration_s":null,"load_kg":null}}"#,
        ProgramExerciseId::new()
    );
    let (_, e) = d
        .err(
            "POST",
            &format!("/api/courses/{c}/sessions/{s}/sets"),
            Some(&stranger),
        )
        .await;
    assert_eq!(e.kind, api::ErrorKind::NotFound);
    let (_, e) = d
        .err(
            "POST",
            &format!("/api/courses/{c}/sessions/{s}/finish"),
            Some(r#"{"general_condition":6,"note":null}"#),
        )
        .await;
    assert_eq!(e.kind, api::ErrorKind::Invalid);
}

/// A web page elsewhere reaches a loopback port too: by making its own name resolve to
/// 127.0.0.1 (DNS rebinding: the Host header names it) or by sending across sites (Origin,
/// Sec-Fetch-Site). Both are refused, also a change that takes no body (`POST /api/lock`);
/// the app's own page on loopback is served.
#[tokio::test]
async fn only_the_apps_own_page_on_loopback_may_call_it() {
    use axum::body::Body;
    use axum::http::Request;
    use tower::ServiceExt;
    let d = device();
    let send = |method: &str, uri: &str, headers: &[(&str, &str)]| {
        let mut req = Request::builder()
            .method(method)
            .uri(uri)
            .header(http::KEY_HEADER, common::TEST_KEY);
        for (name, value) in headers {
            req = req.header(*name, *value);
        }
        let app = d.api.app.clone();
        let req = req.body(Body::empty()).unwrap();
        async move { app.oneshot(req).await.unwrap().status() }
    };
    let own = [
        ("host", "127.0.0.1:8080"),
        ("origin", "http://127.0.0.1:8080"),
    ];
    assert_eq!(send("GET", "/api/me", &own[..1]).await, StatusCode::OK);
    assert_eq!(
        send("GET", "/api/me", &[("host", "localhost:8080")]).await,
        StatusCode::OK
    );
    assert_eq!(
        send("GET", "/api/me", &[("host", "[::1]:8080")]).await,
        StatusCode::OK
    );
    for host in [
        "evil.example:8080",
        "evil.example",
        "127.0.0.1.evil.example:80",
    ] {
        assert_eq!(
            send("GET", "/api/visits", &[("host", host)]).await,
            StatusCode::FORBIDDEN,
            "{host}"
        );
    }
    for cross in [
        [
            ("host", "127.0.0.1:8080"),
            ("origin", "http://evil.example"),
        ],
        [("host", "127.0.0.1:8080"), ("origin", "null")],
        [("host", "127.0.0.1:8080"), ("sec-fetch-site", "cross-site")],
        // Another program's page on this machine (another user's web server on a loopback
        // port of its own): the same site to the browser.
        [
            ("host", "127.0.0.1:8080"),
            ("origin", "http://127.0.0.1:9000"),
        ],
        [("host", "127.0.0.1:8080"), ("sec-fetch-site", "same-site")],
    ] {
        assert_eq!(
            send("POST", "/api/lock", &cross).await,
            StatusCode::FORBIDDEN,
            "{cross:?}"
        );
    }
    // Nor a read from such a page: it is recorded in the access log and keeps the app open.
    assert_eq!(
        send(
            "GET",
            "/api/visits",
            &[("host", "127.0.0.1:8080"), ("sec-fetch-site", "same-site")]
        )
        .await,
        StatusCode::FORBIDDEN
    );
    // The app's own page may, and an address opened in the browser.
    assert_ne!(send("POST", "/api/lock", &own).await, StatusCode::FORBIDDEN);
    assert_eq!(
        send(
            "GET",
            "/api/me",
            &[
                ("host", "127.0.0.1:8080"),
                ("sec-fetch-site", "same-origin")
            ]
        )
        .await,
        StatusCode::OK
    );
    assert_eq!(
        send(
            "GET",
            "/api/me",
            &[("host", "127.0.0.1:8080"), ("sec-fetch-site", "none")]
        )
        .await,
        StatusCode::OK
    );
}

/// The API's answers (names, addresses, notes) are never kept in the browser's disk cache,
/// where the store's encryption does not reach.
#[tokio::test]
async fn the_apis_answers_are_not_cached_by_the_browser() {
    use axum::body::Body;
    use axum::http::Request;
    use tower::ServiceExt;
    let d = device();
    for uri in ["/api/me", "/api/no-such-thing"] {
        let req = Request::builder()
            .uri(uri)
            .header("host", "127.0.0.1:8080")
            .header(http::KEY_HEADER, common::TEST_KEY)
            .body(Body::empty())
            .unwrap();
        let resp = d.api.app.clone().oneshot(req).await.unwrap();
        assert_eq!(
            resp.headers().get("cache-control").map(|v| v.as_bytes()),
            Some(b"no-store".as_slice()),
            "{uri}"
        );
    }
}

/// Loopback is shared by every user of the machine: the API and the media answer only the
/// launch key, which the page sends in a header (never a cookie: cookies go to every port of
/// the host, so another user's server on loopback would receive it); the media also open
/// with the media key in their address, which opens nothing else; the UI's files and the
/// drawings hold no one's data.
#[tokio::test]
async fn only_a_page_opened_with_the_launch_key_reaches_the_data() {
    use axum::body::Body;
    use axum::http::{header, Request, Response};
    use tower::ServiceExt;
    let d = device();
    let send = |method: &str, uri: &str, headers: Vec<(&str, String)>| {
        let mut req = Request::builder()
            .method(method)
            .uri(uri)
            .header("host", "127.0.0.1:8378");
        for (name, value) in headers {
            req = req.header(name, value);
        }
        let app = d.api.app.clone();
        let req = req.body(Body::empty()).unwrap();
        async move { app.oneshot(req).await.unwrap() }
    };
    let json = |resp: Response<Body>| async move {
        let bytes = http_body_util::BodyExt::collect(resp.into_body())
            .await
            .unwrap()
            .to_bytes();
        serde_json::from_slice::<serde_json::Value>(&bytes).unwrap()
    };
    let with_key = || vec![(http::KEY_HEADER, common::TEST_KEY.to_string())];
    // The page learns the media key with the launch key.
    let answer = send("GET", http::MEDIA_KEY_PATH, with_key()).await;
    assert_eq!(answer.status(), StatusCode::OK);
    let media_key = json(answer).await["media_key"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(media_key.len(), 64);
    assert_ne!(media_key, common::TEST_KEY);
    // Another user's process on the same machine, with no key or a wrong one; and the keys
    // where they do not open anything: the launch key in a cookie (as the app once set it)
    // or an address, the media key on the API or in a header.
    let wrong = "test-launch-key-0123456789abcdef-0124".to_string();
    let refused: Vec<(Vec<(&str, String)>, &str)> = vec![
        (vec![], ""),
        (vec![(http::KEY_HEADER, wrong.clone())], ""),
        (
            vec![("cookie", format!("homerehab-key-8378={}", common::TEST_KEY))],
            "",
        ),
        (vec![], "?key=test-launch-key-0123456789abcdef-0123"),
        (vec![(http::KEY_HEADER, media_key.clone())], ""),
        (vec![], "?k=test-launch-key-0123456789abcdef-0123"),
    ];
    for (headers, query) in &refused {
        for (method, path) in [
            ("GET", "/api/me"),
            ("GET", "/api/visits"),
            ("POST", "/api/lock"),
            ("GET", http::MEDIA_KEY_PATH),
            ("GET", "/media/00"),
        ] {
            let uri = format!("{path}{query}");
            let resp = send(method, &uri, headers.clone()).await;
            assert_eq!(
                resp.status(),
                StatusCode::UNAUTHORIZED,
                "{method} {uri} {headers:?}"
            );
            assert_eq!(json(resp).await["kind"], "launch_key");
        }
    }
    // The media key opens a read of the media, and nothing else.
    for (method, uri) in [
        ("GET", format!("/api/me?k={media_key}")),
        ("GET", format!("{}?k={media_key}", http::MEDIA_KEY_PATH)),
        ("POST", format!("/media/00?k={media_key}")),
        ("GET", format!("/media/00?k={wrong}")),
    ] {
        let resp = send(method, &uri, vec![]).await;
        assert_eq!(resp.status(), StatusCode::UNAUTHORIZED, "{method} {uri}");
    }
    let media = send("GET", &format!("/media/00?k={media_key}"), vec![]).await;
    assert_ne!(media.status(), StatusCode::UNAUTHORIZED);
    assert_ne!(media.status(), StatusCode::FORBIDDEN);
    let me = send("GET", "/api/me", with_key()).await;
    assert_eq!(me.status(), StatusCode::OK);
    // Opening the printed address sets no cookie and sends the page as it is: the key is in
    // its fragment, which no request carries; an address with `?key=` is served the page too.
    for uri in ["/", &format!("/?key={}", common::TEST_KEY)] {
        let opened = send("GET", uri, vec![]).await;
        assert!(opened.headers().get(header::SET_COOKIE).is_none(), "{uri}");
        assert_ne!(opened.status(), StatusCode::UNAUTHORIZED, "{uri}");
        assert_eq!(
            opened.headers()[header::REFERRER_POLICY],
            "no-referrer",
            "{uri}"
        );
    }
    // A page of a browser that still holds the key in the cookie an earlier version set is
    // told to drop it (the browser would go on sending it to every loopback port).
    let cookie = format!("other=1; homerehab-key-8378={}", common::TEST_KEY);
    let page = send("GET", "/", vec![("cookie", cookie)]).await;
    let cleared: Vec<&str> = page
        .headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap())
        .collect();
    assert_eq!(cleared.len(), 1, "{cleared:?}");
    assert!(
        cleared[0].starts_with("homerehab-key-8378=;") && cleared[0].contains("Max-Age=0"),
        "{cleared:?}"
    );
    // The media key follows from the launch key one way: the same after a restart with a
    // launcher's fixed key, so the open page's photos keep working.
    let again = device();
    let answer = again
        .api
        .app
        .clone()
        .oneshot(
            Request::builder()
                .uri(http::MEDIA_KEY_PATH)
                .header("host", "127.0.0.1:8378")
                .header(http::KEY_HEADER, common::TEST_KEY)
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(json(answer).await["media_key"], media_key.as_str());
    // The drawings need no key.
    let drawing = send("GET", "/illustrations/sit-to-stand.svg", vec![]).await;
    assert_eq!(drawing.status(), StatusCode::OK);
    // A key given at start must be long and plain enough for an address and a header.
    assert!(http::LaunchKey::given("short").is_none());
    assert!(http::LaunchKey::given("a key with spaces in it that is long enough").is_none());
    assert_eq!(http::LaunchKey::random().as_str().len(), 64);
}

#[tokio::test]
async fn serves_the_ui_and_the_illustrations() {
    let d = device();
    let (code, body) = d.call("GET", "/illustrations/sit-to-stand.svg", None).await;
    assert_eq!(code, StatusCode::OK);
    assert!(String::from_utf8_lossy(&body).starts_with("<svg"));
    // Any other path is the single-page UI.
    let (code, body) = d.call("GET", "/visits/somewhere", None).await;
    assert_eq!(
        (code, body.as_slice()),
        (StatusCode::OK, b"<html>ui</html>".as_slice())
    );
    let me: Option<api::Me> = d.ok("GET", "/api/me", None).await;
    assert_eq!(me.map(|m| m.role).as_deref(), Some("assistant"));
}

impl Device {
    /// The app process restarts on the same store (idle lock after `idle_ms`).
    fn restart(&mut self, idle_ms: i64) {
        // The old app process ends (and lets go of the data folder) before the new one starts.
        let between = Store::open(&self._dir.path().join("between")).unwrap();
        self.api = router(between, self._dir.path(), OFFLINE);
        let mut store = Store::open(self._dir.path()).unwrap();
        store.set_idle_lock(idle_ms);
        self.api = router(store, self._dir.path(), OFFLINE);
    }

    async fn lock_state(&self) -> api::LockState {
        self.ok::<api::Status>("GET", "/api/status", None)
            .await
            .lock
    }
}

const PIN_2468: &str = r#"{"pin":"2468"}"#;
const PIN_1111: &str = r#"{"pin":"1111"}"#;

#[tokio::test]
async fn a_pin_locks_the_data_and_opens_it_again() {
    let mut d = device();
    let c = d.course;
    // Signed in, no PIN yet: open, and a PIN may be chosen (4–6 digits).
    assert_eq!(d.lock_state().await, api::LockState::NoPin);
    let (code, e) = d.err("POST", "/api/pin", Some(r#"{"pin":"12"}"#)).await;
    assert_eq!(
        (code, e.kind),
        (StatusCode::UNPROCESSABLE_ENTITY, api::ErrorKind::Invalid)
    );
    let s: api::Status = d.ok("POST", "/api/pin", Some(PIN_2468)).await;
    assert_eq!(s.lock, api::LockState::Unlocked);
    let _: Vec<api::Visit> = d.ok("GET", "/api/visits", None).await;

    // Locked by hand: every data endpoint answers 423 `locked`; status and me still answer.
    let s: api::Status = d.ok("POST", "/api/lock", None).await;
    assert_eq!(s.lock, api::LockState::Locked);
    for (method, uri) in [
        ("GET", "/api/visits".to_string()),
        ("GET", format!("/api/courses/{c}")),
        ("POST", format!("/api/courses/{c}/sessions")),
    ] {
        let (code, e) = d.err(method, &uri, None).await;
        assert_eq!(
            (code, e.kind),
            (StatusCode::LOCKED, api::ErrorKind::Locked),
            "{uri}"
        );
    }
    let (code, e) = d
        .err(
            "POST",
            &format!("/api/courses/{c}/not-carried-out"),
            Some(r#"{"reason":"ill","note":null}"#),
        )
        .await;
    assert_eq!((code, e.kind), (StatusCode::LOCKED, api::ErrorKind::Locked));
    let me: Option<api::Me> = d.ok("GET", "/api/me", None).await;
    assert!(me.is_some());
    // Status answers too, but names no citizen: a refused change shows without its name.
    {
        use homerehab_shared::sync::client::{ClientStorage, Refusal};
        let header = homerehab_shared::docs::Header::course(d.team, c);
        let mut store = d.api.store.lock().unwrap();
        ClientStorage::refused(&mut *store, header.id, &Refusal::Rejected("test".into())).unwrap();
    }
    let s: api::Status = d.ok("GET", "/api/status", None).await;
    assert_eq!(s.refused.len(), 1);
    assert_eq!(s.refused[0].citizen_name, None, "no name while locked");
    // A locked app cannot get a new PIN without the old one.
    let (code, _) = d.err("POST", "/api/pin", Some(PIN_1111)).await;
    assert_eq!(code, StatusCode::LOCKED);

    let (code, e) = d.err("POST", "/api/unlock", Some(PIN_1111)).await;
    assert_eq!(
        (code, e.kind, e.attempts_left),
        (StatusCode::FORBIDDEN, api::ErrorKind::WrongPin, Some(4))
    );
    let s: api::Status = d.ok("POST", "/api/unlock", Some(PIN_2468)).await;
    assert_eq!(s.lock, api::LockState::Unlocked);
    assert_eq!(
        s.refused[0].citizen_name.as_deref(),
        Some("Karen Jensen"),
        "named again once open"
    );
    let visits: Vec<api::Visit> = d.ok("GET", "/api/visits", None).await;
    assert_eq!(visits.len(), 1);

    // The app process restarts: locked, until the PIN opens it.
    d.restart(600_000);
    assert_eq!(d.lock_state().await, api::LockState::Locked);
    let (code, _) = d.err("GET", "/api/visits", None).await;
    assert_eq!(code, StatusCode::LOCKED);
    let _: api::Status = d.ok("POST", "/api/unlock", Some(PIN_2468)).await;
    let _: Vec<api::Visit> = d.ok("GET", "/api/visits", None).await;
}

#[tokio::test]
async fn five_wrong_pins_require_signing_in_again_and_keep_the_data() {
    let mut d = device();
    let started: api::StartedSession = d
        .ok("POST", &format!("/api/courses/{}/sessions", d.course), None)
        .await;
    let _: api::Status = d.ok("POST", "/api/pin", Some(PIN_2468)).await;
    let waiting = d
        .ok::<api::Status>("GET", "/api/status", None)
        .await
        .waiting;
    d.restart(600_000);
    for left in [4, 3, 2, 1, 0] {
        let (_, e) = d.err("POST", "/api/unlock", Some(PIN_1111)).await;
        assert_eq!(
            (e.kind, e.attempts_left),
            (api::ErrorKind::WrongPin, Some(left))
        );
    }
    let status: api::Status = d.ok("GET", "/api/status", None).await;
    assert_eq!(status.lock, api::LockState::SignInRequired);
    assert_eq!(status.waiting, waiting, "the outbox is kept");
    let (code, e) = d.err("POST", "/api/unlock", Some(PIN_2468)).await;
    assert_eq!(
        (code, e.kind),
        (StatusCode::UNAUTHORIZED, api::ErrorKind::NotSignedIn)
    );
    let (code, _) = d.err("GET", "/api/visits", None).await;
    assert_eq!(code, StatusCode::LOCKED);
    // Sign-in needs the server (not there): the device stays as it is.
    let (_, e) = d
        .err(
            "POST",
            "/api/login",
            Some(r#"{"username":"assistent1","password":"x"}"#),
        )
        .await;
    assert_eq!(e.kind, api::ErrorKind::Offline);
    assert_eq!(d.lock_state().await, api::LockState::SignInRequired);
    // The session started before the lockout is still on the device (read with the core).
    drop(d.api);
    let store = Store::open(d._dir.path()).unwrap();
    assert_eq!(store.sessions(d.course).unwrap().len(), 1);
    assert_eq!(
        store.sessions(d.course).unwrap()[0].id.to_string(),
        started.session_id
    );
}

#[tokio::test]
async fn an_idle_app_locks_itself() {
    let mut d = device();
    let _: api::Status = d.ok("POST", "/api/pin", Some(PIN_2468)).await;
    // Idle 1.5 s: wide enough that a loaded machine's slow calls between uses stay inside it.
    d.restart(1500);
    let _: api::Status = d.ok("POST", "/api/unlock", Some(PIN_2468)).await;
    for _ in 0..4 {
        // Use (a tap: the UI says so) keeps it open (4 × 0.5 s > 1.5 s)…
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
        let state: api::LockState = d.ok("POST", "/api/touch", None).await;
        assert_eq!(state, api::LockState::Unlocked);
        let _: Vec<api::Visit> = d.ok("GET", "/api/visits", None).await;
    }
    // …and the screens reloading themselves after each background sync, and the status
    // bar's polling, are not use: the tablet left on the visits page locks.
    for _ in 0..4 {
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
        let _: api::Status = d.ok("GET", "/api/status", None).await;
        if d.lock_state().await == api::LockState::Unlocked {
            let _: Vec<api::Visit> = d.ok("GET", "/api/visits", None).await;
        }
    }
    assert_eq!(d.lock_state().await, api::LockState::Locked);
    let state: api::LockState = d.ok("POST", "/api/touch", None).await;
    assert_eq!(state, api::LockState::Locked, "a tap does not open it");
    let (code, e) = d.err("GET", "/api/visits", None).await;
    assert_eq!((code, e.kind), (StatusCode::LOCKED, api::ErrorKind::Locked));
}
