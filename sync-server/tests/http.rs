//! The HTTP API end to end: `app()` driven with `oneshot`, real SQLite files in temp dirs, and
//! the shared crate's in-memory device as the client.

mod backends;

use automerge::ActorId;
use axum::body::{Body, Bytes};
use axum::http::{header, Request, StatusCode};
use axum::Router;
use homerehab_shared::docs::{self, genesis, Header, SessionLogDoc};
use homerehab_shared::ids::*;
use homerehab_shared::model::*;
use homerehab_shared::sync::sim::MemoryDevice;
use homerehab_shared::sync::wire::{self, Limits};
use homerehab_shared::sync::{
    ClientRound, Offer, ReplyStatus, SyncReport, SyncRequest, SyncResponse, PROTOCOL_VERSION,
};
use homerehab_sync_server::auth::Passwords;
use homerehab_sync_server::config::{Config, PasswordCost};
use homerehab_sync_server::http::{app, AppState, LoginResponse};
use homerehab_sync_server::seed::server_actor;
use homerehab_sync_server::store::{NewUser, Store};
use http_body_util::BodyExt;
use std::time::Duration;
use tower::ServiceExt;

const PASSWORD: &str = "demo1234";

struct Fixture {
    _dir: tempfile::TempDir,
    config: Config,
    state: AppState,
    app: Router,
    team1: TeamId,
    /// A course of team 1 and one of team 2, each with its session log on the server.
    course1: CourseId,
    course2: CourseId,
}

fn fixture() -> Fixture {
    fixture_with(|_| {})
}

fn fixture_with(adjust: impl FnOnce(&mut Config)) -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let mut config = Config::for_tests(dir.path());
    adjust(&mut config);
    let state = AppState::open(&config).unwrap();
    let store = state.store.as_ref();
    let m = store.ensure_municipality("Test Kommune").unwrap();
    let team1 = store.ensure_team(m, "Nord").unwrap();
    let team2 = store.ensure_team(m, "Syd").unwrap();
    let hash = Passwords::new(PasswordCost::Insecure)
        .hash(PASSWORD)
        .unwrap();
    let mut therapist = None;
    for (username, role, team) in [
        ("assistent1", Role::Assistant, team1),
        ("terapeut1", Role::Therapist, team1),
        ("assistent3", Role::Assistant, team2),
        ("leder3", Role::Leader, team2),
    ] {
        let id = store
            .create_user(&NewUser {
                username: username.into(),
                display_name: username.into(),
                password_hash: hash.clone(),
                role,
                team_id: team,
                granted_teams: vec![],
            })
            .unwrap();
        if role == Role::Therapist {
            therapist = Some(id);
        }
    }
    let course1 = seed_course(store, team1, therapist.unwrap());
    let course2 = seed_course(store, team2, therapist.unwrap());
    let app = app(state.clone());
    Fixture {
        _dir: dir,
        config,
        state,
        app,
        team1,
        course1,
        course2,
    }
}

fn seed_course(store: &dyn Store, team: TeamId, therapist: UserId) -> CourseId {
    let id = CourseId::new();
    let header = Header::course(team, id);
    let mut doc = genesis(&header).with_actor(server_actor());
    let course = Course {
        id,
        legal_basis: LegalBasis("SEL §86 stk. 2".into()),
        sessions_per_week: 2,
        status: CourseStatus::Active,
        ..Course::new(CitizenId::new(), team, therapist, "2026-01-05", 1_000)
    };
    docs::put_course(&mut doc, &course, 1_000).unwrap();
    store
        .commit_document(
            &header,
            &store.stored_heads(header.id).unwrap().unwrap_or_default(),
            &doc,
            &[],
        )
        .unwrap();
    let log = Header::session_log(team, id);
    store
        .commit_document(
            &log,
            &store.stored_heads(log.id).unwrap().unwrap_or_default(),
            &genesis(&log),
            &[],
        )
        .unwrap();
    id
}

async fn call(app: &Router, req: Request<Body>) -> (StatusCode, Bytes) {
    let resp = app.clone().oneshot(req).await.unwrap();
    let status = resp.status();
    (status, resp.into_body().collect().await.unwrap().to_bytes())
}

fn login_request(username: &str, password: &str, actor: &str) -> Request<Body> {
    let body = serde_json::json!({ "username": username, "password": password, "actor_id": actor });
    Request::post("/v1/login")
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(body.to_string()))
        .unwrap()
}

fn fresh_actor() -> ActorId {
    ActorId::from(uuid::Uuid::new_v4().as_bytes().as_slice())
}

async fn login(app: &Router, username: &str, actor: &ActorId) -> String {
    let (status, body) = call(
        app,
        login_request(username, PASSWORD, &actor.to_hex_string()),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&body));
    serde_json::from_slice::<LoginResponse>(&body)
        .unwrap()
        .token
}

/// `request` with `token` and a JSON `body`.
fn json_request(request: axum::http::request::Builder, token: &str, body: String) -> Request<Body> {
    request
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(body))
        .unwrap()
}

fn sync_request(token: Option<&str>, body: Vec<u8>) -> Request<Body> {
    let mut req =
        Request::post("/v1/sync").header(header::CONTENT_TYPE, "application/octet-stream");
    if let Some(t) = token {
        req = req.header(header::AUTHORIZATION, format!("Bearer {t}"));
    }
    req.body(Body::from(body)).unwrap()
}

async fn post_sync(app: &Router, token: &str, body: Vec<u8>) -> SyncResponse {
    let (status, body) = call(app, sync_request(Some(token), body)).await;
    assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&body));
    wire::decode_response(&body, &Limits::default()).unwrap()
}

/// One complete device sync over HTTP.
async fn device_sync(app: &Router, token: &str, device: &mut MemoryDevice) -> SyncReport {
    let (mut round, mut req) = ClientRound::begin(device).unwrap();
    loop {
        let resp = post_sync(app, token, wire::encode(&req)).await;
        match round.on_response(device, resp).unwrap() {
            Some(next) => req = next,
            None => return round.report(),
        }
    }
}

fn error_kind(body: &[u8]) -> String {
    let v: serde_json::Value = serde_json::from_slice(body).unwrap();
    v["error"].as_str().unwrap().to_string()
}

/// An assistant's device that has synced once and logged one session with two sets.
async fn device_with_a_session(
    f: &Fixture,
    token: &str,
    actor: &ActorId,
) -> (MemoryDevice, SessionId) {
    let mut device = MemoryDevice::default();
    let report = device_sync(&f.app, token, &mut device).await;
    assert_eq!(
        report.new_documents, 2,
        "course and log of the own team only"
    );
    let log_id = DocumentId::session_log_of(f.course1);
    let doc = device.doc_mut(log_id).unwrap();
    doc.set_actor(actor.clone());
    let user = f
        .state
        .store
        .user_by_username("assistent1")
        .unwrap()
        .unwrap()
        .user
        .id;
    let session = SessionLog::start(f.course1, user, None, 10_000);
    docs::put_session(doc, &session, 10_000).unwrap();
    let set = SetLog {
        reps: Some(10),
        duration_s: None,
        load_kg: None,
        at: 11_000,
    };
    let line = ProgramExerciseId::new();
    docs::log_set(doc, session.id, line, "sit-to-stand", &set, 11_000).unwrap();
    docs::log_set(doc, session.id, line, "sit-to-stand", &set, 12_000).unwrap();
    (device, session.id)
}

fn stored_sessions(store: &dyn Store, course: CourseId) -> usize {
    let doc = store
        .load_document(DocumentId::session_log_of(course))
        .unwrap()
        .unwrap();
    SessionLogDoc::read(&doc).unwrap().sessions.len()
}

#[tokio::test]
async fn login_answers_token_and_user() {
    let f = fixture();
    let actor = fresh_actor();
    let (status, body) = call(
        &f.app,
        login_request("assistent1", PASSWORD, &actor.to_hex_string()),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let resp: LoginResponse = serde_json::from_slice(&body).unwrap();
    assert_eq!(resp.token.len(), 64);
    assert_eq!(resp.user.role, Role::Assistant);
    assert_eq!(resp.user.team_id, f.team1);
    assert!(resp.expires_at > homerehab_sync_server::store::now_ms());
    assert!(f
        .state
        .store
        .actors_of(resp.user.id)
        .unwrap()
        .contains(&actor));
}

#[tokio::test]
async fn login_and_team_name_the_team_and_its_members() {
    let f = fixture();
    let (status, body) = call(
        &f.app,
        login_request("terapeut1", PASSWORD, &fresh_actor().to_hex_string()),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let resp: LoginResponse = serde_json::from_slice(&body).unwrap();
    let team = resp.team.expect("the login answer carries the team");
    assert_eq!((team.team_id, team.name.as_str()), (f.team1, "Nord"));
    let members: Vec<_> = team
        .members
        .iter()
        .map(|m| (m.display_name.as_str(), m.role))
        .collect();
    assert_eq!(
        members,
        [
            ("assistent1", Role::Assistant),
            ("terapeut1", Role::Therapist)
        ],
        "own team only"
    );
    let get = |token: Option<&str>| {
        let mut req = Request::get("/v1/team");
        if let Some(t) = token {
            req = req.header(header::AUTHORIZATION, format!("Bearer {t}"));
        }
        req.body(Body::empty()).unwrap()
    };
    let (status, body) = call(&f.app, get(Some(&resp.token))).await;
    assert_eq!(status, StatusCode::OK);
    let again: homerehab_shared::api::TeamInfo = serde_json::from_slice(&body).unwrap();
    assert_eq!(again, team);
    let (status, _) = call(&f.app, get(None)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    // An older client's answer type ignores the new field; an older server's answer parses.
    let old = serde_json::json!({"token": "t", "expires_at": 1, "user": serde_json::to_value(&resp.user).unwrap()});
    assert!(serde_json::from_value::<LoginResponse>(old)
        .unwrap()
        .team
        .is_none());
}

#[tokio::test]
async fn login_refuses_wrong_password_unknown_user_and_bad_actor_ids() {
    let f = fixture();
    let actor = fresh_actor().to_hex_string();
    for (user, pw) in [("assistent1", "wrong-password"), ("nobody", PASSWORD)] {
        let (status, body) = call(&f.app, login_request(user, pw, &actor)).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert_eq!(error_kind(&body), "unauthorized");
    }
    let (status, _) = call(&f.app, login_request("assistent1", PASSWORD, "xyz")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let bad_json = Request::post("/v1/login")
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from("{\"username\":"))
        .unwrap();
    let (status, body) = call(&f.app, bad_json).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(error_kind(&body), "malformed");
}

#[tokio::test]
async fn repeated_wrong_passwords_throttle_that_username_only() {
    let f = fixture();
    let actor = fresh_actor().to_hex_string();
    for _ in 0..homerehab_sync_server::auth::MAX_FAILED_LOGINS {
        let (status, _) = call(&f.app, login_request("assistent1", "guess-again", &actor)).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
    // Now even the right password waits, and the answer says for how long.
    let resp = f
        .app
        .clone()
        .oneshot(login_request("Assistent1", PASSWORD, &actor))
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry: u64 = resp.headers()[header::RETRY_AFTER]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=15 * 60).contains(&retry), "{retry}");
    let body = resp.into_body().collect().await.unwrap().to_bytes();
    assert_eq!(error_kind(&body), "too_many_attempts");
    // Another user signs in as usual.
    login(&f.app, "terapeut1", &fresh_actor()).await;
}

#[tokio::test]
async fn an_actor_id_belongs_to_one_user() {
    let f = fixture();
    let actor = fresh_actor();
    login(&f.app, "assistent1", &actor).await;
    login(&f.app, "assistent1", &actor).await; // the same device logging in again
    let (status, body) = call(
        &f.app,
        login_request("terapeut1", PASSWORD, &actor.to_hex_string()),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(error_kind(&body), "forbidden");
}

#[tokio::test]
async fn sync_needs_a_valid_unexpired_token() {
    let f = fixture();
    let body = wire::encode(&SyncRequest {
        protocol: PROTOCOL_VERSION,
        offers: vec![],
    });
    for token in [None, Some("not-hex"), Some(&*"ab".repeat(32))] {
        let (status, body) = call(&f.app, sync_request(token, body.clone())).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{token:?}");
        assert_eq!(error_kind(&body), "unauthorized");
    }

    let expired = fixture_with(|c| c.token_ttl = Duration::ZERO);
    let token = login(&expired.app, "assistent1", &fresh_actor()).await;
    let (status, body) = call(&expired.app, sync_request(Some(&token), body)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(String::from_utf8_lossy(&body).contains("expired"));
}

#[tokio::test]
async fn logout_ends_the_token() {
    let f = fixture();
    let token = login(&f.app, "assistent1", &fresh_actor()).await;
    let logout = Request::post("/v1/logout")
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .body(Body::empty())
        .unwrap();
    assert_eq!(call(&f.app, logout).await.0, StatusCode::NO_CONTENT);
    let body = wire::encode(&SyncRequest {
        protocol: PROTOCOL_VERSION,
        offers: vec![],
    });
    assert_eq!(
        call(&f.app, sync_request(Some(&token), body)).await.0,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn bad_bodies_are_400_and_store_nothing() {
    let f = fixture();
    let actor = fresh_actor();
    let token = login(&f.app, "assistent1", &actor).await;
    let (device, _) = device_with_a_session(&f, &token, &actor).await;
    let mut device = device;
    let (_, req) = ClientRound::begin(&mut device).unwrap();
    let valid = wire::encode(&req);
    let wrong_version = wire::encode(&SyncRequest {
        protocol: PROTOCOL_VERSION + 1,
        offers: req.offers.clone(),
    });
    for (body, kind) in [
        (b"garbage".to_vec(), "malformed"),
        (valid[..valid.len() / 2].to_vec(), "malformed"),
        (wrong_version, homerehab_shared::api::UNSUPPORTED_PROTOCOL),
    ] {
        let (status, resp) = call(&f.app, sync_request(Some(&token), body)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(error_kind(&resp), kind);
    }
    assert_eq!(stored_sessions(f.state.store.as_ref(), f.course1), 0);
    // The refusal of another version names the server's, for an app to tell whether it or the
    // server is behind (`wire::protocol_gap`), older and newer alike.
    for other in [PROTOCOL_VERSION - 1, PROTOCOL_VERSION + 1] {
        let body = wire::encode(&SyncRequest {
            protocol: other,
            offers: req.offers.clone(),
        });
        let resp = f
            .app
            .clone()
            .oneshot(sync_request(Some(&token), body))
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
        let speaks = resp
            .headers()
            .get(homerehab_shared::api::SYNC_PROTOCOL_HEADER)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        assert_eq!(speaks, Some(PROTOCOL_VERSION.to_string()));
        let body = resp.into_body().collect().await.unwrap().to_bytes();
        let message = serde_json::from_slice::<homerehab_shared::api::ErrorBody>(&body)
            .unwrap()
            .message;
        // As the app of that version reads it: the older is told to update, the newer waits
        // for the server; the sentence alone says the same.
        let expected = if other < PROTOCOL_VERSION {
            wire::ProtocolGap::AppBehind
        } else {
            wire::ProtocolGap::ServerBehind
        };
        assert_eq!(
            wire::protocol_gap(other, speaks.as_deref(), &message),
            expected
        );
        assert_eq!(wire::protocol_gap(other, None, &message), expected);
    }
}

#[tokio::test]
async fn oversized_bodies_are_413() {
    let f = fixture_with(|c| {
        c.max_body_bytes = 4096;
        c.max_decompressed_bytes = 1 << 16;
    });
    let token = login(&f.app, "assistent1", &fresh_actor()).await;
    let (status, body) = call(&f.app, sync_request(Some(&token), vec![0; 8192])).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(error_kind(&body), "payload_too_large");

    // Small on the wire, too large once inflated: compressed as an attacker would, at the
    // best level (the wire's own encoder uses the fastest).
    let raw = postcard::to_stdvec(&SyncRequest {
        protocol: PROTOCOL_VERSION,
        offers: vec![Offer {
            doc: DocumentId::new(),
            heads: vec![],
            changes: vec![0; 1 << 20],
            generation: 0,
        }],
    })
    .unwrap();
    let mut deflate = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::best());
    std::io::Write::write_all(&mut deflate, &raw).unwrap();
    let bomb = deflate.finish().unwrap();
    assert!(bomb.len() < 4096, "{} bytes", bomb.len());
    let (status, _) = call(&f.app, sync_request(Some(&token), bomb)).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);

    // A sign-in is not read up to the sync's limit: 64 KiB of password is refused unread.
    let f = fixture();
    let long = "x".repeat(64 * 1024);
    let (status, _) = call(
        &f.app,
        login_request("assistent1", &long, &fresh_actor().to_hex_string()),
    )
    .await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);

    // Nor is any body but a sync's and a batch of look-ups: settings of 100 KiB are refused
    // unread (before who may change them is asked), while a sync of that size is read.
    let leader = login(&f.app, "leder3", &fresh_actor()).await;
    let padded = serde_json::json!({ "padding": "x".repeat(100 * 1024) }).to_string();
    let req = json_request(Request::put("/v1/evidence/settings"), &leader, padded);
    let (status, body) = call(&f.app, req).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(error_kind(&body), "payload_too_large");
    let token = login(&f.app, "assistent1", &fresh_actor()).await;
    let (status, body) = call(&f.app, sync_request(Some(&token), vec![0; 100 * 1024])).await;
    assert_eq!(
        status,
        StatusCode::BAD_REQUEST,
        "read, and refused as garbage"
    );
    assert_eq!(error_kind(&body), "malformed");
    // A batch of look-ups is read to the sync's limit too: a thousand of them are some 200 KB.
    let padded = format!("{{{}}}", " ".repeat(100 * 1024));
    let req = json_request(Request::post("/v1/audit"), &token, padded);
    let (status, body) = call(&f.app, req).await;
    assert_eq!(
        status,
        StatusCode::BAD_REQUEST,
        "read, and refused: no look-ups in it"
    );
    assert_eq!(error_kind(&body), "malformed");
}

/// One device may have two requests in flight: a third is answered 503 with `Retry-After`
/// before its body is read, the user's other device goes on meanwhile, and the device may send
/// again once one of its two is over, whether it ended or was given up (one token cannot make
/// the server hold more than two requests).
#[tokio::test]
async fn a_device_with_two_requests_in_flight_is_turned_away_unread() {
    let f = fixture();
    let token = login(&f.app, "assistent1", &fresh_actor()).await;
    // The same user's other device (a device is named after its actor when it sends no id).
    let other = login(&f.app, "assistent1", &fresh_actor()).await;
    let empty = || {
        wire::encode(&SyncRequest {
            protocol: PROTOCOL_VERSION,
            offers: vec![],
        })
    };
    // Two syncs whose bodies stall after their first bytes: the connection open, nothing more.
    let mut senders = Vec::new();
    let mut stalled = Vec::new();
    for _ in 0..2 {
        let (mut sender, body) = http_body_util::Channel::<Bytes, std::convert::Infallible>::new(1);
        sender
            .send_data(Bytes::from(empty()[..2].to_vec()))
            .await
            .unwrap();
        senders.push(sender);
        let req = Request::post("/v1/sync")
            .header(header::AUTHORIZATION, format!("Bearer {token}"))
            .body(Body::new(body))
            .unwrap();
        stalled.push(tokio::spawn(f.app.clone().oneshot(req)));
    }
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while f.state.requests_in_flight() < 2 {
        assert!(
            std::time::Instant::now() < deadline,
            "both requests are in flight"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }

    let resp = f
        .app
        .clone()
        .oneshot(sync_request(Some(&token), empty()))
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(
        resp.headers().get(header::RETRY_AFTER).unwrap(),
        "1",
        "the app waits a second and sends it again"
    );
    let body = resp.into_body().collect().await.unwrap().to_bytes();
    assert_eq!(error_kind(&body), "busy");
    // A batch of look-ups for the access log counts with the device's syncs.
    let req = json_request(Request::post("/v1/audit"), &token, "{}".into());
    assert_eq!(call(&f.app, req).await.0, StatusCode::SERVICE_UNAVAILABLE);
    // The user's other device is not held up.
    post_sync(&f.app, &other, empty()).await;
    assert_eq!(f.state.requests_in_flight(), 2);

    // One stalled upload ends (the body ends short): the device may send again.
    drop(senders.remove(0));
    let ended = stalled.remove(0).await.unwrap().unwrap();
    assert_eq!(ended.status(), StatusCode::BAD_REQUEST, "half a request");
    post_sync(&f.app, &token, empty()).await;
    // The other is given up midway (the server drops the request, as when its connection
    // goes): its turn goes with it.
    let given_up = stalled.remove(0);
    given_up.abort();
    assert!(given_up.await.unwrap_err().is_cancelled());
    assert_eq!(f.state.requests_in_flight(), 0);
    drop(senders);
}

#[tokio::test]
async fn another_teams_document_is_refused_and_nothing_stored() {
    let f = fixture();
    let actor = fresh_actor();
    let token = login(&f.app, "assistent1", &actor).await;
    let store = f.state.store.as_ref();

    // An existing log of team 2.
    let other = Header::session_log(
        store
            .document_header(DocumentId::session_log_of(f.course2))
            .unwrap()
            .unwrap()
            .team_id,
        f.course2,
    );
    let before = store.document_heads(&[other.team_id]).unwrap();
    let mut doc = genesis(&other).with_actor(actor.clone());
    let session = SessionLog::start(f.course2, UserId::new(), None, 1);
    docs::put_session(&mut doc, &session, 1).unwrap();
    // And a new course claiming team 2.
    let new_course = Header::course(other.team_id, CourseId::new());
    let new_doc = genesis(&new_course).with_actor(actor.clone());
    let req = SyncRequest {
        protocol: PROTOCOL_VERSION,
        offers: vec![
            Offer {
                doc: other.id,
                heads: doc.get_heads().iter().map(|h| h.0).collect(),
                changes: doc.save(),
                generation: 0,
            },
            Offer {
                doc: new_course.id,
                heads: new_doc.get_heads().iter().map(|h| h.0).collect(),
                changes: new_doc.save(),
                generation: 0,
            },
        ],
    };
    let resp = post_sync(&f.app, &token, wire::encode(&req)).await;
    let status_of = |id| {
        resp.replies
            .iter()
            .find(|r| r.doc == id)
            .unwrap()
            .status
            .clone()
    };
    assert_eq!(status_of(other.id), ReplyStatus::Forbidden);
    assert!(matches!(status_of(new_course.id), ReplyStatus::Rejected(_)));
    assert_eq!(store.document_heads(&[other.team_id]).unwrap(), before);
    assert!(store.document_header(new_course.id).unwrap().is_none());
    assert_eq!(stored_sessions(store, f.course2), 0);
    // Not theirs to write: answered, and not a byte kept.
    assert_eq!(store.quarantined(new_course.id).unwrap(), 0);
}

#[tokio::test]
async fn an_assistants_push_is_stored_and_survives_reopening() {
    let f = fixture();
    let actor = fresh_actor();
    let token = login(&f.app, "assistent1", &actor).await;
    let (mut device, session) = device_with_a_session(&f, &token, &actor).await;
    let report = device_sync(&f.app, &token, &mut device).await;
    assert_eq!((report.pushed, report.round_trips), (1, 1));
    assert!(
        report.rejected.is_empty() && report.forbidden.is_empty(),
        "{report:?}"
    );

    let log_id = DocumentId::session_log_of(f.course1);
    let device_heads = device.docs[&log_id].1.get_heads();
    // Drop everything but the directory, then open the database afresh.
    let Fixture {
        _dir,
        config,
        state,
        app: old_app,
        ..
    } = f;
    drop((state, old_app));
    let reopened = AppState::open(&config).unwrap();
    let doc = reopened.store.load_document(log_id).unwrap().unwrap();
    assert_eq!(doc.get_heads(), device_heads);
    let log = SessionLogDoc::read(&doc).unwrap();
    assert_eq!(log.sessions[&session.to_string()].set_count(), 2);

    // A further sync of the unchanged device costs nothing on the way down.
    let app = app(reopened);
    let token = login(&app, "assistent1", &actor).await;
    let report = device_sync(&app, &token, &mut device).await;
    assert_eq!((report.unchanged, report.received), (2, 0));
}

#[tokio::test]
async fn replaying_a_request_stores_its_sessions_once() {
    let f = fixture();
    let actor = fresh_actor();
    let token = login(&f.app, "assistent1", &actor).await;
    let (mut device, _) = device_with_a_session(&f, &token, &actor).await;
    let (_, req) = ClientRound::begin(&mut device).unwrap();
    let body = wire::encode(&req);
    let log_id = DocumentId::session_log_of(f.course1);
    let first = post_sync(&f.app, &token, body.clone()).await;
    let footprint = f.state.store.document_footprint(log_id).unwrap();
    let second = post_sync(&f.app, &token, body).await;
    assert_eq!(first, second);
    assert_eq!(f.state.store.document_footprint(log_id).unwrap(), footprint);
    assert_eq!(stored_sessions(f.state.store.as_ref(), f.course1), 1);
}

#[tokio::test]
async fn health_and_metrics() {
    let f = fixture();
    let get = |uri| Request::get(uri).body(Body::empty()).unwrap();
    let (status, body) = call(&f.app, get("/healthz")).await;
    assert_eq!((status, &body[..]), (StatusCode::OK, &b"ok"[..]));
    let token = login(&f.app, "assistent1", &fresh_actor()).await;
    let mut device = MemoryDevice::default();
    device_sync(&f.app, &token, &mut device).await;
    let (status, body) = call(&f.app, get("/metrics")).await;
    assert_eq!(status, StatusCode::OK);
    let text = String::from_utf8(body.to_vec()).unwrap();
    for needle in [
        "homerehab_http_requests_total{route=\"/v1/login\",status=\"200\"}",
        "homerehab_sync_documents_total{outcome=\"sent_new\"}",
        "homerehab_sync_duration_seconds_bucket",
    ] {
        assert!(text.contains(needle), "{needle} missing from\n{text}");
    }
}

/// A deterministic stream of positions and bit flips (xorshift).
fn flips(seed: u64) -> impl Iterator<Item = u64> {
    let mut x = seed;
    std::iter::repeat_with(move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    })
}

fn log_reply(resp: &SyncResponse, log: DocumentId) -> ReplyStatus {
    resp.replies
        .iter()
        .find(|r| r.doc == log)
        .unwrap()
        .status
        .clone()
}

#[tokio::test]
async fn byte_flipped_bundles_never_answer_500_and_keep_nothing() {
    let f = fixture();
    let actor = fresh_actor();
    let token = login(&f.app, "assistent1", &actor).await;
    let (mut device, _) = device_with_a_session(&f, &token, &actor).await;
    let (_, req) = ClientRound::begin(&mut device).unwrap();
    let log = DocumentId::session_log_of(f.course1);
    let offer = req.offers.iter().position(|o| o.doc == log).unwrap();
    let bundle = req.offers[offer].changes.clone();
    assert!(!bundle.is_empty());
    let mut refused = 0;
    for r in flips(0x9e37_79b9_7f4a_7c15).take(400) {
        let mut mutated = req.clone();
        let changes = &mut mutated.offers[offer].changes;
        let at = (r >> 8) as usize % changes.len();
        changes[at] ^= 1 << (r % 8); // one flipped bit
        if r % 3 == 0 {
            changes[(at * 7 + 11) % bundle.len()] = (r >> 40) as u8; // and a rewritten byte
        }
        let (status, body) = call(&f.app, sync_request(Some(&token), wire::encode(&mutated))).await;
        assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&body));
        let resp = wire::decode_response(&body, &Limits::default()).unwrap();
        if matches!(log_reply(&resp, log), ReplyStatus::Rejected(_)) {
            refused += 1;
        }
    }
    assert!(refused > 300, "{refused} of 400 refused");
    let store = f.state.store.as_ref();
    // Damaged bytes show no author: never kept, never applied.
    assert_eq!(store.quarantined(log).unwrap(), 0);
    assert_eq!(stored_sessions(store, f.course1), 0);
    // The untouched request still goes through.
    let resp = post_sync(&f.app, &token, wire::encode(&req)).await;
    assert_eq!(log_reply(&resp, log), ReplyStatus::Synced);
    assert_eq!(stored_sessions(store, f.course1), 1);
}

/// A change to `course` as `actor` that breaks the course schema: the course record replaced
/// by a string of `bytes` bytes (and `key` set, so each call's bytes differ).
fn course_change(f: &Fixture, course: CourseId, actor: &ActorId, key: &str, bytes: usize) -> Offer {
    use automerge::transaction::Transactable;
    course_offer(f, course, actor, |tx| {
        tx.put(automerge::ROOT, "course", "x".repeat(bytes))
            .unwrap();
        tx.put(automerge::ROOT, key, 1).unwrap();
    })
}

/// An offer of `actor`'s change to the stored course document, made by `edit`.
fn course_offer(
    f: &Fixture,
    course: CourseId,
    actor: &ActorId,
    edit: impl FnOnce(&mut automerge::transaction::Transaction<'_>),
) -> Offer {
    let id = DocumentId::course_of(course);
    let stored = f.state.store.load_document(id).unwrap().unwrap();
    let mut doc = stored.fork().with_actor(actor.clone());
    let mut tx = doc.transaction();
    edit(&mut tx);
    tx.commit();
    Offer {
        doc: id,
        heads: wire::to_hashes(&doc.get_heads()),
        changes: homerehab_shared::sync::raw_changes_since(&doc, &stored.get_heads()),
        generation: 0,
    }
}

async fn metrics_text(app: &Router) -> String {
    let (_, body) = call(app, Request::get("/metrics").body(Body::empty()).unwrap()).await;
    String::from_utf8(body.to_vec()).unwrap()
}

/// A request that inflates past the slots its compressed size takes (so it is weighed again
/// once counted) is served as any other: the therapist's change is stored.
#[tokio::test]
async fn a_request_inflating_past_its_compressed_weight_is_served() {
    let f = fixture();
    let actor = fresh_actor();
    let token = login(&f.app, "terapeut1", &actor).await;
    // 2,500 goals of 480 characters: past a MiB, and as valid as a course may be.
    let offer = course_offer(&f, f.course1, &actor, |tx| {
        use automerge::transaction::Transactable;
        use automerge::ReadDoc;
        let (_, course) = tx.get(automerge::ROOT, "course").unwrap().unwrap();
        let (_, goals) = tx.get(&course, "goals").unwrap().unwrap();
        for n in 0..2_500 {
            let at = tx.length(&goals);
            tx.insert(&goals, at, format!("{n:>480}")).unwrap();
        }
    });
    let body = wire::encode(&SyncRequest {
        protocol: PROTOCOL_VERSION,
        offers: vec![offer.clone()],
    });
    // One slot on the wire, past that slot's MiB inflated.
    assert!(body.len() < 1 << 20, "{} bytes on the wire", body.len());
    assert!(matches!(
        wire::inflate_request(&body, (1 << 20) - 1, &wire::Limits::default()),
        Ok(wire::Inflated::Beyond { .. })
    ));
    let resp = post_sync(&f.app, &token, body).await;
    assert_eq!(log_reply(&resp, offer.doc), ReplyStatus::Synced);
    let stored = f.state.store.load_document(offer.doc).unwrap().unwrap();
    assert_eq!(wire::to_hashes(&stored.get_heads()), offer.heads);
}

#[tokio::test]
async fn a_leaders_write_is_refused_without_storing_it() {
    let f = fixture();
    let actor = fresh_actor();
    let token = login(&f.app, "leder3", &actor).await;
    // Small on the wire, megabytes once unpacked, as in the report.
    let offer = course_change(&f, f.course2, &actor, "leader", 4 << 20);
    let req = SyncRequest {
        protocol: PROTOCOL_VERSION,
        offers: vec![offer.clone()],
    };
    let team2 = f
        .state
        .store
        .document_header(offer.doc)
        .unwrap()
        .unwrap()
        .team_id;
    let before = f.state.store.document_heads(&[team2]).unwrap();
    for _ in 0..3 {
        let resp = post_sync(&f.app, &token, wire::encode(&req)).await;
        assert!(matches!(
            log_reply(&resp, offer.doc),
            ReplyStatus::Rejected(_)
        ));
    }
    let store = f.state.store.as_ref();
    assert_eq!(store.quarantined(offer.doc).unwrap(), 0);
    assert_eq!(store.document_heads(&[team2]).unwrap(), before);
    assert!(metrics_text(&f.app)
        .await
        .contains("homerehab_refused_change_sets_total{fate=\"dropped\"}"));
}

#[tokio::test]
async fn the_quarantine_is_capped_with_a_clear_answer_and_can_be_purged() {
    use homerehab_sync_server::store::QuarantineScope;
    let f = fixture_with(|c| c.quarantine.user_entries = 2);
    let actor = fresh_actor();
    let token = login(&f.app, "terapeut1", &actor).await;
    let mut reasons = vec![];
    for i in 0..3 {
        let offer = course_change(&f, f.course1, &actor, &format!("unknown{i}"), 10);
        let resp = post_sync(
            &f.app,
            &token,
            wire::encode(&SyncRequest {
                protocol: PROTOCOL_VERSION,
                offers: vec![offer.clone()],
            }),
        )
        .await;
        match log_reply(&resp, offer.doc) {
            ReplyStatus::Rejected(reason) => reasons.push(reason),
            other => panic!("{other:?}"),
        }
    }
    let store = f.state.store.as_ref();
    let course = DocumentId::course_of(f.course1);
    // The therapist's own device, a document they may write: kept, up to the cap.
    assert_eq!(store.quarantined(course).unwrap(), 2);
    assert!(!reasons[1].contains("full"), "{}", reasons[1]);
    assert!(
        reasons[2].contains("quarantine") && reasons[2].contains("full"),
        "{}",
        reasons[2]
    );
    let text = metrics_text(&f.app).await;
    for fate in ["kept", "full"] {
        let needle = format!("homerehab_refused_change_sets_total{{fate=\"{fate}\"}}");
        assert!(text.contains(&needle), "{needle}");
    }
    // An admin sees it and purges it.
    let listed = store.quarantine_list(&QuarantineScope::default()).unwrap();
    assert_eq!(listed.len(), 2);
    assert!(listed.iter().all(|e| e.doc == course && e.bytes > 0));
    let user = listed[0].user;
    let other_user = QuarantineScope {
        user: Some(UserId::new()),
        ..Default::default()
    };
    assert_eq!(store.quarantine_purge(&other_user).unwrap(), 0);
    let theirs = QuarantineScope {
        user: Some(user),
        ..Default::default()
    };
    assert_eq!(store.quarantine_purge(&theirs).unwrap(), 2);
    assert_eq!(store.quarantined(course).unwrap(), 0);
}

#[tokio::test]
async fn reserved_actor_ids_cannot_sign_in() {
    let f = fixture();
    let reserved = [
        server_actor(),
        // The genesis actor of a stored document, and of a team's roster not stored yet.
        homerehab_shared::docs::genesis_actor(DocumentId::course_of(f.course1)),
        homerehab_shared::docs::genesis_actor(DocumentId::roster_of(f.team1)),
    ];
    for actor in reserved {
        let (status, body) = call(
            &f.app,
            login_request("assistent1", PASSWORD, &actor.to_hex_string()),
        )
        .await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{actor}");
        assert!(String::from_utf8_lossy(&body).contains("reserved"));
    }
    login(&f.app, "assistent1", &fresh_actor()).await;
}

#[tokio::test]
async fn trailing_bytes_and_changes_without_heads_are_refused() {
    let f = fixture();
    let actor = fresh_actor();
    let token = login(&f.app, "assistent1", &actor).await;
    let (mut device, _) = device_with_a_session(&f, &token, &actor).await;
    let (_, req) = ClientRound::begin(&mut device).unwrap();
    let log = DocumentId::session_log_of(f.course1);
    let offer = req.offers.iter().position(|o| o.doc == log).unwrap();
    let mut trailing = req.clone();
    trailing.offers[offer]
        .changes
        .extend_from_slice(b"and then some");
    let mut headless = req.clone();
    headless.offers[offer].heads.clear();
    let mut garbage = req.clone();
    garbage.offers[offer] = Offer {
        doc: log,
        heads: vec![],
        changes: b"not automerge at all".to_vec(),
        generation: 0,
    };
    for bad in [trailing, headless, garbage] {
        let resp = post_sync(&f.app, &token, wire::encode(&bad)).await;
        assert!(
            matches!(log_reply(&resp, log), ReplyStatus::Rejected(ref r) if r.contains("corrupt")),
            "{:?}",
            log_reply(&resp, log)
        );
    }
    assert_eq!(stored_sessions(f.state.store.as_ref(), f.course1), 0);
    assert!(metrics_text(&f.app)
        .await
        .contains("homerehab_client_errors_total{kind=\"corrupt_changes\"}"));
}

#[tokio::test]
async fn the_bearer_scheme_is_case_insensitive() {
    let f = fixture();
    let token = login(&f.app, "assistent1", &fresh_actor()).await;
    let body = wire::encode(&SyncRequest {
        protocol: PROTOCOL_VERSION,
        offers: vec![],
    });
    for scheme in ["bearer", "BEARER", "Bearer"] {
        let req = Request::post("/v1/sync")
            .header(header::AUTHORIZATION, format!("{scheme} {token}"))
            .body(Body::from(body.clone()))
            .unwrap();
        assert_eq!(call(&f.app, req).await.0, StatusCode::OK, "{scheme}");
    }
}

#[tokio::test]
async fn undecodable_requests_are_counted_as_client_errors() {
    let f = fixture();
    let token = login(&f.app, "assistent1", &fresh_actor()).await;
    let (status, _) = call(&f.app, sync_request(Some(&token), b"garbage".to_vec())).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(metrics_text(&f.app)
        .await
        .contains("homerehab_client_errors_total{kind=\"malformed_request\"}"));
}

/// The fixture's server on a loopback port, for clients that speak raw HTTP; abort the
/// handle to stop it.
async fn serve_on_loopback(f: &Fixture) -> (std::net::SocketAddr, tokio::task::JoinHandle<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let state = f.state.clone();
    let server = tokio::spawn(async move {
        let _ = homerehab_sync_server::http::serve(listener, state, std::future::pending()).await;
    });
    (addr, server)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_oversize_upload_that_declares_its_length_reads_its_413() {
    use std::io::{Read, Write};
    // 15 MiB: more than loopback socket buffers take in unread (the old server reset the
    // connection after about 4 MB), so the client finishes writing only if the server reads.
    let limit = 8u64 << 20;
    let f = fixture_with(|c| c.max_media_bytes = limit);
    let token = login(&f.app, "terapeut1", &fresh_actor()).await;
    let (addr, server) = serve_on_loopback(&f).await;
    // A plain client that sends the whole declared body before it reads the answer.
    let answer = tokio::task::spawn_blocking(move || {
        let mut conn = std::net::TcpStream::connect(addr).unwrap();
        conn.set_read_timeout(Some(Duration::from_secs(30)))
            .unwrap();
        let size = limit + (7 << 20);
        write!(
            conn,
            "PUT /v1/media/{} HTTP/1.1\r\nHost: test\r\nAuthorization: Bearer {token}\r\n\
             Content-Type: image/jpeg\r\nContent-Length: {size}\r\n\r\n",
            "ab".repeat(32)
        )
        .unwrap();
        let chunk = vec![7u8; 64 << 10];
        let mut sent = 0;
        while sent < size {
            let n = chunk.len().min((size - sent) as usize);
            conn.write_all(&chunk[..n])
                .unwrap_or_else(|e| panic!("writing the body after {sent} bytes: {e}"));
            sent += n as u64;
        }
        let mut head = [0u8; 12];
        conn.read_exact(&mut head).unwrap();
        String::from_utf8_lossy(&head).into_owned()
    })
    .await
    .unwrap();
    assert_eq!(answer, "HTTP/1.1 413");
    server.abort();
}

/// Without a valid token, an upload gets its 401 and no more than a MiB of the server's
/// reading: one declared larger is not read at all, and the connection is closed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_strangers_upload_is_not_read() {
    use std::io::{Read, Write};
    let f = fixture_with(|c| c.max_media_bytes = 8 << 20);
    let (addr, server) = serve_on_loopback(&f).await;
    let answer = tokio::task::spawn_blocking(move || {
        let mut conn = std::net::TcpStream::connect(addr).unwrap();
        conn.set_read_timeout(Some(Duration::from_secs(30)))
            .unwrap();
        write!(
            conn,
            "PUT /v1/media/{} HTTP/1.1\r\nHost: test\r\nAuthorization: Bearer nobody\r\n\
             Content-Type: image/jpeg\r\nContent-Length: {}\r\n\r\n",
            "ab".repeat(32),
            2 << 20
        )
        .unwrap();
        let mut answer = Vec::new();
        conn.read_to_end(&mut answer).unwrap();
        String::from_utf8_lossy(&answer).to_lowercase()
    })
    .await
    .unwrap();
    assert!(answer.starts_with("http/1.1 401"), "{answer}");
    assert!(answer.contains("connection: close"), "{answer}");
    server.abort();
}

fn media_request(method: &str, token: &str, sha256: &str, body: Vec<u8>) -> Request<Body> {
    Request::builder()
        .method(method)
        .uri(format!("/v1/media/{sha256}"))
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .header(header::CONTENT_TYPE, "image/jpeg")
        .body(Body::from(body))
        .unwrap()
}

/// A user with the library right cannot fill the disk every municipality shares: the
/// municipality's uploads stop at its quota with a clear answer, and nothing past it is kept;
/// the same file again is no growth.
#[tokio::test]
async fn a_municipalitys_media_stop_at_its_quota_and_nothing_past_it_is_kept() {
    use sha2::{Digest, Sha256};
    let f = fixture_with(|c| c.media_quota_bytes = 10_000);
    let token = login(&f.app, "terapeut1", &fresh_actor()).await;
    let name = |bytes: &[u8]| hex::encode(Sha256::digest(bytes));
    let (first, second, third) = (vec![1u8; 6_000], vec![2u8; 5_000], vec![3u8; 4_000]);
    for _ in 0..2 {
        let put = media_request("PUT", &token, &name(&first), first.clone());
        assert_eq!(call(&f.app, put).await.0, StatusCode::CREATED);
    }
    // Past the quota, streamed without a length and declared: refused, nothing kept.
    let streamed = media_request("PUT", &token, &name(&second), second.clone());
    let mut declared = media_request("PUT", &token, &name(&second), second.clone());
    declared
        .headers_mut()
        .insert(header::CONTENT_LENGTH, second.len().into());
    for put in [streamed, declared] {
        let (status, body) = call(&f.app, put).await;
        assert_eq!(status, StatusCode::CONFLICT);
        let answer: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(answer["error"], "media_quota_full", "{answer}");
        let get = media_request("GET", &token, &name(&second), vec![]);
        assert_eq!(call(&f.app, get).await.0, StatusCode::NOT_FOUND);
    }
    // What is left of it still takes a file that fits.
    let put = media_request("PUT", &token, &name(&third), third.clone());
    assert_eq!(call(&f.app, put).await.0, StatusCode::CREATED);
}

#[tokio::test]
async fn a_photo_withdrawn_in_the_library_is_no_longer_served() {
    use homerehab_shared::municipal::{put_media, withdraw_media, MediaItem};
    use sha2::{Digest, Sha256};
    let f = fixture();
    let token = login(&f.app, "terapeut1", &fresh_actor()).await;
    let photos = [vec![1u8; 3_000], vec![2u8; 4_000]];
    let names: Vec<String> = photos
        .iter()
        .map(|p| hex::encode(Sha256::digest(p)))
        .collect();
    for (photo, name) in photos.iter().zip(&names) {
        let (status, _) = call(&f.app, media_request("PUT", &token, name, photo.clone())).await;
        assert_eq!(status, StatusCode::CREATED);
    }
    // The municipality's library records both; a device later withdraws the first. Committed
    // the way a sync commits it.
    let store = f.state.store.as_ref();
    let library = Header::library(store.ensure_municipality("Test Kommune").unwrap());
    let mut doc = genesis(&library).with_actor(fresh_actor());
    for (photo, name) in photos.iter().zip(&names) {
        let item = MediaItem {
            sha256: name.clone(),
            content_type: "image/jpeg".into(),
            byte_size: photo.len() as u64,
            file_name: "knae.jpg".into(),
            shows_person: false,
            consent: None,
            owner: "Test Kommune".into(),
            withdrawn: false,
            added_by: UserId::new(),
            added_at: 1_000,
        };
        put_media(&mut doc, &item, 1_000).unwrap();
    }
    store
        .commit_document(
            &library,
            &store.stored_heads(library.id).unwrap().unwrap_or_default(),
            &doc,
            &[],
        )
        .unwrap();
    let (status, body) = call(&f.app, media_request("GET", &token, &names[0], vec![])).await;
    assert_eq!((status, body.to_vec()), (StatusCode::OK, photos[0].clone()));

    let before = doc.get_heads();
    withdraw_media(&mut doc, &names[0], 2_000).unwrap();
    let changes: Vec<u8> = doc
        .get_changes(&before)
        .iter()
        .flat_map(|c| c.raw_bytes().to_vec())
        .collect();
    store
        .commit_document(
            &library,
            &store.stored_heads(library.id).unwrap().unwrap_or_default(),
            &doc,
            &changes,
        )
        .unwrap();

    for method in ["GET", "HEAD"] {
        let (status, body) = call(&f.app, media_request(method, &token, &names[0], vec![])).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{method}");
        assert!(!body.windows(16).any(|w| w == &photos[0][..16]), "{method}");
    }
    let mut resume = media_request("GET", &token, &names[0], vec![]);
    resume
        .headers_mut()
        .insert(header::RANGE, "bytes=100-".parse().unwrap());
    assert_eq!(call(&f.app, resume).await.0, StatusCode::NOT_FOUND);
    // Uploading the same bytes again does not bring it back.
    let (status, _) = call(
        &f.app,
        media_request("PUT", &token, &names[0], photos[0].clone()),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, _) = call(&f.app, media_request("GET", &token, &names[0], vec![])).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // The photo not withdrawn is still served.
    let (status, body) = call(&f.app, media_request("GET", &token, &names[1], vec![])).await;
    assert_eq!((status, body.to_vec()), (StatusCode::OK, photos[1].clone()));
}

/// The readiness check asks the database: 200 while it answers, 503 once it is gone (here a
/// PostgreSQL database dropped under a running server).
#[tokio::test]
async fn ready_says_whether_the_database_answers() {
    let get = |uri| Request::get(uri).body(Body::empty()).unwrap();
    let f = fixture();
    assert_eq!(call(&f.app, get("/ready")).await.0, StatusCode::OK);
    // The blocking client, as everything PostgreSQL here: off the async thread.
    let created = tokio::task::spawn_blocking(backends::create_postgres_database);
    let Some((admin, name, url)) = created.await.unwrap() else {
        eprintln!(
            "{} is not set: PostgreSQL not tested",
            backends::POSTGRES_ENV
        );
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    // Opening connects and migrates, which blocks: off the async thread, as `serve` does.
    let store = tokio::task::spawn_blocking(move || {
        std::sync::Arc::new(homerehab_sync_server::store::PostgresStore::open(&url, None).unwrap())
    })
    .await
    .unwrap();
    let app = app(AppState::new(store, &Config::for_tests(dir.path())).unwrap());
    let (status, body) = call(&app, get("/ready")).await;
    assert_eq!((status, &body[..]), (StatusCode::OK, &b"ok"[..]));
    tokio::task::spawn_blocking(move || backends::drop_postgres_database(&admin, &name))
        .await
        .unwrap();
    // The answer is at most a second old (a flood of asks shares one ask of the database).
    tokio::time::sleep(std::time::Duration::from_millis(1_100)).await;
    let (status, body) = call(&app, get("/ready")).await;
    assert_eq!(
        (status, &body[..]),
        (
            StatusCode::SERVICE_UNAVAILABLE,
            &b"database unavailable"[..]
        )
    );
    // A request that needs the database is told to come back, not that the server failed.
    let resp = app
        .clone()
        .oneshot(login_request(
            "assistent1",
            "korrekt-hest",
            &fresh_actor().to_string(),
        ))
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(resp.headers()[header::RETRY_AFTER], "5");
}

// ---- the device registry (issue #14) ----------------------------------------------------------

fn login_on_device(username: &str, actor: &ActorId, device: DeviceId) -> Request<Body> {
    let body = serde_json::json!({
        "username": username,
        "password": PASSWORD,
        "actor_id": actor.to_hex_string(),
        "device_id": device,
        "app_version": "0.9.1",
    });
    Request::post("/v1/login")
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(body.to_string()))
        .unwrap()
}

async fn login_device(app: &Router, username: &str, actor: &ActorId, device: DeviceId) -> String {
    let (status, body) = call(app, login_on_device(username, actor, device)).await;
    assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&body));
    serde_json::from_slice::<LoginResponse>(&body)
        .unwrap()
        .token
}

fn authed(method: &str, uri: &str, token: &str, json: Option<serde_json::Value>) -> Request<Body> {
    let req = Request::builder()
        .method(method)
        .uri(uri)
        .header(header::AUTHORIZATION, format!("Bearer {token}"));
    match json {
        Some(v) => req
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(v.to_string()))
            .unwrap(),
        None => req.body(Body::empty()).unwrap(),
    }
}

/// The status, the revoke header's notice (if any) and the body.
async fn call_revoked(
    app: &Router,
    req: Request<Body>,
) -> (
    StatusCode,
    Option<homerehab_shared::api::RevokeNotice>,
    Bytes,
) {
    let resp = app.clone().oneshot(req).await.unwrap();
    let status = resp.status();
    let notice = resp
        .headers()
        .get(homerehab_shared::api::DEVICE_REVOKED_HEADER)
        .and_then(|v| v.to_str().ok())
        .and_then(homerehab_shared::api::RevokeNotice::from_header);
    (
        status,
        notice,
        resp.into_body().collect().await.unwrap().to_bytes(),
    )
}

async fn revoke(app: &Router, token: &str, device: DeviceId, reason: &str) -> (StatusCode, Bytes) {
    call(
        app,
        authed(
            "POST",
            &format!("/v1/devices/{device}/revoke"),
            token,
            Some(serde_json::json!({ "reason": reason })),
        ),
    )
    .await
}

#[tokio::test]
async fn a_revoked_device_hands_over_its_work_even_when_an_answer_is_lost_then_is_refused() {
    let f = fixture();
    let actor = fresh_actor();
    let tablet = DeviceId::new();
    let token = login_device(&f.app, "assistent1", &actor, tablet).await;
    let leader = login(&f.app, "leder3", &fresh_actor()).await;
    let (mut device, _session) = device_with_a_session(&f, &token, &actor).await;

    // The leader lists the tablet and revokes it.
    let (status, body) = call(&f.app, authed("GET", "/v1/devices", &leader, None)).await;
    assert_eq!(status, StatusCode::OK);
    let devices: Vec<homerehab_shared::api::DeviceView> = serde_json::from_slice(&body).unwrap();
    let listed = devices.iter().find(|d| d.id == tablet).expect("listed");
    assert_eq!(
        (listed.username.as_str(), listed.app_version.as_str()),
        ("assistent1", "0.9.1")
    );
    assert!(listed.revoked.is_none());
    let (status, body) = revoke(&f.app, &leader, tablet, "Glemt i bussen").await;
    assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&body));

    // From now on the token does nothing but hand over.
    let (status, notice, body) =
        call_revoked(&f.app, authed("GET", "/v1/team", &token, None)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(error_kind(&body), "device_revoked");
    let notice = notice.expect("the refusal says it is revoked");
    assert_eq!(
        (notice.revoked_by.as_str(), notice.reason.as_str()),
        ("leder3", "Glemt i bussen")
    );

    // The hand-over: the unsynced session is admitted and stored as usual.
    let (_, req) = ClientRound::begin(&mut device).unwrap();
    assert!(req.offers.iter().any(|o| !o.changes.is_empty()));
    let body = wire::encode(&req);
    let (status, told, _) = call_revoked(&f.app, sync_request(Some(&token), body.clone())).await;
    assert_eq!(status, StatusCode::OK);
    assert!(told.is_some(), "the answer says revoked");
    assert_eq!(stored_sessions(f.state.store.as_ref(), f.course1), 1);
    // Its answer is lost: the device sends the same again and is still served.
    let (status, told, answer) = call_revoked(&f.app, sync_request(Some(&token), body)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(told.is_some());
    assert_eq!(
        stored_sessions(f.state.store.as_ref(), f.course1),
        1,
        "stored once"
    );
    let resp = wire::decode_response(&answer, &Limits::default()).unwrap();
    let (mut round, _) = ClientRound::begin(&mut device).unwrap();
    assert!(round.on_response(&mut device, resp).unwrap().is_none());
    // Nothing left: this sync completes the hand-over …
    let (_, req) = ClientRound::begin(&mut device).unwrap();
    assert!(req.offers.iter().all(|o| o.changes.is_empty()));
    let (status, told, _) =
        call_revoked(&f.app, sync_request(Some(&token), wire::encode(&req))).await;
    assert_eq!((status, told.is_some()), (StatusCode::OK, true));
    let (status, body) = call(&f.app, authed("GET", "/v1/devices", &leader, None)).await;
    assert_eq!(status, StatusCode::OK);
    let devices: Vec<homerehab_shared::api::DeviceView> = serde_json::from_slice(&body).unwrap();
    let listed = devices.iter().find(|d| d.id == tablet).unwrap();
    assert!(listed.revoked.as_ref().unwrap().handed_over_at.is_some());
    // … and after it the token gets 401 everywhere, sync included, and so does a sign-in on
    // the tablet.
    for req in [
        sync_request(Some(&token), wire::encode(&req)),
        authed("GET", "/v1/team", &token, None),
        login_on_device("assistent1", &actor, tablet),
    ] {
        let (status, notice, body) = call_revoked(&f.app, req).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert_eq!(error_kind(&body), "device_revoked");
        assert!(notice.is_some());
    }
    // The person is not locked out: another device signs in.
    login_device(&f.app, "assistent1", &fresh_actor(), DeviceId::new()).await;
}

#[tokio::test]
async fn a_revoked_devices_actor_writes_nowhere_else_and_its_window_ends() {
    let f = fixture();
    let actor = fresh_actor();
    let tablet = DeviceId::new();
    let token = login_device(&f.app, "assistent1", &actor, tablet).await;
    let (mut device, _) = device_with_a_session(&f, &token, &actor).await;
    let leader = login(&f.app, "leder3", &fresh_actor()).await;
    assert_eq!(
        revoke(&f.app, &leader, tablet, "Stjålet").await.0,
        StatusCode::OK
    );
    // The same person on a laptop offers the tablet's changes: its actor is refused there.
    let laptop = login_device(&f.app, "assistent1", &fresh_actor(), DeviceId::new()).await;
    let report = device_sync(&f.app, &laptop, &mut device).await;
    assert_eq!(report.rejected.len(), 1, "{report:?}");
    assert_eq!(stored_sessions(f.state.store.as_ref(), f.course1), 0);

    // A device revoked longer ago than the hand-over window is closed though it never came.
    let other = DeviceId::new();
    let stale = login_device(&f.app, "assistent1", &fresh_actor(), other).await;
    let by = f
        .state
        .store
        .user_by_username("leder3")
        .unwrap()
        .unwrap()
        .user
        .id;
    let long_ago = homerehab_sync_server::store::now_ms()
        - homerehab_shared::device_registry::HANDOVER_WINDOW_MS
        - 1;
    f.state
        .store
        .revoke_device(other, by, "Væk", long_ago)
        .unwrap();
    let (status, _, body) = call_revoked(&f.app, sync_request(Some(&stale), vec![])).await;
    assert_eq!(
        (status, error_kind(&body).as_str()),
        (StatusCode::UNAUTHORIZED, "device_revoked")
    );
}

#[tokio::test]
async fn devices_are_managed_within_the_municipality_by_those_who_may() {
    let f = fixture();
    let store = f.state.store.as_ref();
    let elsewhere = store.ensure_municipality("Anden Kommune").unwrap();
    let far = store.ensure_team(elsewhere, "Vest").unwrap();
    let hash = Passwords::new(PasswordCost::Insecure)
        .hash(PASSWORD)
        .unwrap();
    store
        .create_user(&NewUser {
            username: "leder-andetsteds".into(),
            display_name: "Leder Andetsteds".into(),
            password_hash: hash,
            role: Role::Leader,
            team_id: far,
            granted_teams: vec![],
        })
        .unwrap();
    let tablet = DeviceId::new();
    let token = login_device(&f.app, "assistent1", &fresh_actor(), tablet).await;
    let stranger = login(&f.app, "leder-andetsteds", &fresh_actor()).await;
    let assistant = login(&f.app, "assistent3", &fresh_actor()).await;

    // Another municipality's leader sees none of ours and cannot revoke: 404.
    let (status, body) = call(&f.app, authed("GET", "/v1/devices", &stranger, None)).await;
    assert_eq!(status, StatusCode::OK);
    let seen: Vec<homerehab_shared::api::DeviceView> = serde_json::from_slice(&body).unwrap();
    assert!(seen.iter().all(|d| d.id != tablet), "{seen:?}");
    assert_eq!(
        revoke(&f.app, &stranger, tablet, "x").await.0,
        StatusCode::NOT_FOUND
    );
    // An assistant of the same municipality may not: 403.
    let (status, _) = call(&f.app, authed("GET", "/v1/devices", &assistant, None)).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(
        revoke(&f.app, &assistant, tablet, "x").await.0,
        StatusCode::FORBIDDEN
    );
    // Nor can they sign in under our tablet's id (it would move the tablet to them).
    let (status, _) = call(
        &f.app,
        login_on_device("leder-andetsteds", &fresh_actor(), tablet),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    // Bad input is a clear 400, an unknown device 404.
    let leader = login(&f.app, "leder3", &fresh_actor()).await;
    assert_eq!(
        revoke(&f.app, &leader, tablet, "  ").await.0,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        revoke(&f.app, &leader, DeviceId::new(), "x").await.0,
        StatusCode::NOT_FOUND
    );
    let (status, _) = call(
        &f.app,
        authed(
            "POST",
            "/v1/devices/not-an-id/revoke",
            &leader,
            Some(serde_json::json!({"reason": "x"})),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    // Nothing of that touched the tablet.
    assert_eq!(
        call(&f.app, authed("GET", "/v1/team", &token, None))
            .await
            .0,
        StatusCode::OK
    );
}

#[tokio::test]
async fn sign_out_everywhere_ends_every_token_of_the_user_and_only_theirs() {
    let f = fixture();
    let user = |name: &str| {
        f.state
            .store
            .user_by_username(name)
            .unwrap()
            .unwrap()
            .user
            .id
    };
    let a = login_device(&f.app, "assistent1", &fresh_actor(), DeviceId::new()).await;
    let b = login_device(&f.app, "assistent1", &fresh_actor(), DeviceId::new()).await;
    let therapist = login(&f.app, "terapeut1", &fresh_actor()).await;
    let leader = login(&f.app, "leder3", &fresh_actor()).await;
    let url = |id: UserId| format!("/v1/users/{id}/sign-out-everywhere");

    // A colleague without the right may not; the leader may.
    let (status, _) = call(
        &f.app,
        authed("POST", &url(user("assistent1")), &therapist, None),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, body) = call(
        &f.app,
        authed("POST", &url(user("assistent1")), &leader, None),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let ended: homerehab_shared::api::SignedOutEverywhere = serde_json::from_slice(&body).unwrap();
    assert_eq!(ended.ended, 2);
    for token in [&a, &b] {
        assert_eq!(
            call(&f.app, authed("GET", "/v1/team", token, None)).await.0,
            StatusCode::UNAUTHORIZED
        );
    }
    assert_eq!(
        call(&f.app, authed("GET", "/v1/team", &therapist, None))
            .await
            .0,
        StatusCode::OK
    );
    // Anyone may sign themselves out everywhere; an unknown user is 404.
    let (status, _) = call(
        &f.app,
        authed("POST", &url(user("terapeut1")), &therapist, None),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        call(&f.app, authed("GET", "/v1/team", &therapist, None))
            .await
            .0,
        StatusCode::UNAUTHORIZED
    );
    let (status, _) = call(&f.app, authed("POST", &url(UserId::new()), &leader, None)).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_revoked_shared_tablet_stays_open_while_another_users_work_is_parked_on_it() {
    let f = fixture();
    let tablet = DeviceId::new();
    let token = login_device(&f.app, "assistent1", &fresh_actor(), tablet).await;
    let leader = login(&f.app, "leder3", &fresh_actor()).await;
    assert_eq!(
        revoke(&f.app, &leader, tablet, "Tabt").await.0,
        StatusCode::OK
    );
    let nothing = wire::encode(&SyncRequest {
        protocol: PROTOCOL_VERSION,
        offers: vec![],
    });
    let parked = |n: &str| {
        let mut req = sync_request(Some(&token), nothing.clone());
        req.headers_mut().insert(
            homerehab_shared::api::PARKED_WORK_HEADER,
            n.parse().unwrap(),
        );
        req
    };
    // Nothing of this user's left, but a colleague's work waits for their sign-in: open.
    for _ in 0..2 {
        let (status, told, _) = call_revoked(&f.app, parked("3")).await;
        assert_eq!((status, told.is_some()), (StatusCode::OK, true));
    }
    // The colleague may sign in on the revoked tablet meanwhile (their token hands over only).
    let colleague = login_device(&f.app, "terapeut1", &fresh_actor(), tablet).await;
    let (status, _, _) = call_revoked(&f.app, authed("GET", "/v1/team", &colleague, None)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    // Nothing parked any more: the hand-over completes and the tablet is closed.
    let (status, told, _) =
        call_revoked(&f.app, sync_request(Some(&colleague), nothing.clone())).await;
    assert_eq!((status, told.is_some()), (StatusCode::OK, true));
    let (status, _, body) = call_revoked(&f.app, parked("1")).await;
    assert_eq!(
        (status, error_kind(&body).as_str()),
        (StatusCode::UNAUTHORIZED, "device_revoked")
    );
}

/// Issue #14's encrypted device store: the secret that wraps a device store's data key is the
/// same at every sign-in of one user on one device, another for another user or device, and
/// is never printed.
#[tokio::test]
async fn a_device_key_secret_is_kept_per_user_and_device_and_handed_out_at_sign_in() {
    let f = fixture();
    let (tablet, laptop) = (DeviceId::new(), DeviceId::new());
    let secret_of = |body: &[u8]| -> String {
        let resp: LoginResponse = serde_json::from_slice(body).unwrap();
        assert!(!format!("{resp:?}").contains(resp.device_secret.as_deref().unwrap()));
        resp.device_secret.expect("a device key secret")
    };
    let actor = fresh_actor();
    let (status, first) = call(&f.app, login_on_device("assistent1", &actor, tablet)).await;
    assert_eq!(status, StatusCode::OK);
    let first = secret_of(&first);
    assert_eq!(first.len(), 64);
    assert!(first.bytes().all(|b| b.is_ascii_hexdigit()));
    let (_, again) = call(&f.app, login_on_device("assistent1", &actor, tablet)).await;
    assert_eq!(secret_of(&again), first, "the same user on the same device");
    let (_, colleague) = call(&f.app, login_on_device("terapeut1", &fresh_actor(), tablet)).await;
    assert_ne!(
        secret_of(&colleague),
        first,
        "another user of the shared tablet"
    );
    let (_, other) = call(&f.app, login_on_device("assistent1", &actor, laptop)).await;
    assert_ne!(secret_of(&other), first, "another device");
    // A wrong password gets no secret.
    let (status, body) = call(
        &f.app,
        login_request("assistent1", "forkert", &actor.to_hex_string()),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(!String::from_utf8_lossy(&body).contains(&first));
}
