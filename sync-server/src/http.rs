//! The HTTP API: [`app`] builds the router, [`serve`] runs it. Handlers translate HTTP to
//! service calls ([`AuthService`], [`Syncer`]) and errors to [`ApiError`]; blocking work
//! (SQLite, CRDT merges) runs in `spawn_blocking`, sign-ins (argon2) on the fixed password
//! workers of [`AuthService::login`].
//!
//! | route            | body                          | answer                          |
//! |------------------|-------------------------------|---------------------------------|
//! | `POST /v1/login` | JSON [`LoginRequest`]         | JSON [`LoginResponse`]          |
//! | `POST /v1/sync`  | `wire::encode(SyncRequest)`   | `wire::encode(SyncResponse)`    |
//! | `POST /v1/logout`| —                             | 204                             |
//! | `PUT /v1/media/{sha256}` | the file's bytes (streamed) | 201; 400 hash mismatch, 413 too large |
//! | `GET`/`HEAD /v1/media/{sha256}` | `Range` for resuming | the bytes (206 for a range); 404 not your municipality's, or withdrawn by its library |
//! | `GET /v1/team`   | —                             | JSON [`TeamInfo`]               |
//! | `GET /v1/evidence?from&to[&team][&as_of]` | —    | JSON `EvidenceReport` (leaders) |
//! | `GET`/`PUT /v1/evidence/settings` | JSON `EvidenceSettings` (`PUT`: admins) | the settings |
//! | `GET /v1/evidence/municipalities` | —            | JSON `[{id, name}]`             |
//! | `GET /v1/export` | —                             | JSON `[TableInfo]`: the BI feed's tables (export data) |
//! | `GET /v1/export/{table}[.csv]?from&to[&format=excel]` | — | CSV (RFC 4180, or for Danish Excel) of the municipality's rows (export data; 404 no such table, 400 over a year) |
//! | `GET /v1/care-records?from&to` | —             | FHIR R4 JSON `Bundle` of the municipality's courses, visits and test results (export care records: admins; 400 over a year) |
//! | `GET /v1/devices` | —                            | JSON `[DeviceView]` (manage devices, own municipality) |
//! | `POST /v1/devices/{id}/revoke` | JSON `RevokeRequest` | JSON `DeviceView`; 404 not of your municipality |
//! | `POST /v1/users/{id}/sign-out-everywhere` | —   | JSON `SignedOutEverywhere` (oneself, or manage devices) |
//! | `POST /v1/audit` | JSON `AuditUpload` (the device's own look-ups) | JSON `AuditReceipt`; 403 another user's |
//! | `GET /v1/citizens/{id}/access-report` | —       | JSON `AccessReport` (see access log, own municipality; else 404) |
//! | `GET /v1/citizens/{id}/access-report.csv` | —   | the same as `;`-separated CSV with a BOM (Danish Excel) |
//! | `POST /v1/citizens/{id}/erase` | JSON `EraseCitizenRequest` | JSON `ErasureReceipt` (manage retention, own municipality; else 404; 409 `within_retention` / `course_active`) |
//! | `GET`/`PUT /v1/retention` | JSON `RetentionSettings` (`PUT`) | the municipality's retention (manage retention) |
//! | `GET /v1/retention/due[?today=YYYY-MM-DD]` | — | JSON `RetentionDue`: what the job would erase, ids only |
//! | `GET /healthz`   | —                             | `ok` when the database answers  |
//!
//! A revoked device's token is refused everywhere (401 `device_revoked`, with the
//! `homerehab-device-revoked` header) except by `/v1/sync` while its hand-over is open: its
//! sync is served as usual and the answer carries the header (`shared::device_registry`).
//! | `GET /metrics`   | —                             | Prometheus text                 |

use crate::api_error::ApiError;
use crate::auth::{bearer, AuthService, Authenticated, DeviceOf, LoginOutcome, Session};
use crate::config::Config;
use crate::error::{Error, Result};
use crate::evidence::{EvidenceQuery, Refusal};
use crate::in_flight::{InFlight, InFlightTurn};
use crate::media::MediaFiles;
use crate::metrics;
use crate::store::{now_ms, MediaRecord, Store};
use crate::sync::Syncer;
use automerge::ActorId;
use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, JsonRejection, QueryRejection};
use axum::extract::{DefaultBodyLimit, FromRef, State};
use axum::extract::{Path, Query, Request};
use axum::handler::Handler;
use axum::http::HeaderValue;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{middleware, Json, Router};
use homerehab_shared::auth::{Capability, Principal};
use homerehab_shared::evidence::report::EvidenceSettings;
use homerehab_shared::evidence::targets::Period;
use homerehab_shared::sync::wire::{Inflated, Limits};
use std::future::Future;
use std::sync::Arc;
use std::time::Instant;
use tokio::net::TcpListener;
use tower_http::trace::TraceLayer;

/// What every handler shares.
#[derive(Clone)]
pub struct AppState {
    pub store: Arc<dyn Store>,
    pub auth: Arc<AuthService>,
    pub syncer: Arc<Syncer>,
    pub media: Arc<MediaFiles>,
    /// What syncs may hold at once, weighed by request size (see [`sync_weight`]): many small
    /// syncs run together (most of a small sync is waiting for the database's fsync, shared by
    /// the syncs committing together), a few large ones at a time, so memory stays bounded;
    /// the rest wait here, on no thread.
    sync_slots: Arc<tokio::sync::Semaphore>,
    max_body_bytes: usize,
    max_media_bytes: u64,
    /// What one municipality's media may take in all (`Config::media_quota_bytes`).
    media_quota_bytes: u64,
    suppression: homerehab_shared::evidence::suppression::Suppression,
    benchmark: Arc<crate::evidence::BenchmarkCache>,
    /// Syncs and sign-ins in flight; the heap is trimmed when none are ([`crate::memory`]).
    idle: Arc<crate::memory::Idle>,
    /// Each device's syncs and look-up batches in flight, counted before their bodies are read
    /// ([`crate::in_flight`]).
    in_flight: Arc<InFlight>,
    /// The last readiness answer: asked again at most once a second, one ask at a time, so a
    /// flood of unauthenticated `/ready` takes no database connection from the syncs.
    readiness: Arc<tokio::sync::Mutex<Option<(std::time::Instant, bool)>>>,
    /// How long a connection may keep the server waiting (`Config::idle_timeout`).
    idle_timeout: std::time::Duration,
    /// How long a stopping server waits for requests in flight (`Config::shutdown_grace`).
    shutdown_grace: std::time::Duration,
}

impl FromRef<AppState> for Arc<AuthService> {
    fn from_ref(state: &AppState) -> Self {
        state.auth.clone()
    }
}

impl AppState {
    /// Opens the configured database (`store::open`). Blocking: not from an async task.
    pub fn open(config: &Config) -> Result<Self> {
        let store: Arc<dyn Store> = crate::store::open(&config.database)?.into();
        let state = AppState::new(store, config)?;
        state.media.sweep()?;
        Ok(state)
    }

    /// Also starts the password workers ([`AuthService::new`]).
    pub fn new(store: Arc<dyn Store>, config: &Config) -> Result<Self> {
        let limits = Limits {
            max_decompressed: config.max_decompressed_bytes,
            ..Limits::default()
        };
        Ok(AppState {
            auth: Arc::new(AuthService::new(store.clone(), config)?),
            syncer: Arc::new(Syncer::new(
                store.clone(),
                config.cache_bytes,
                limits,
                config.quarantine,
            )),
            store,
            media: Arc::new(MediaFiles::new(&config.media_dir())),
            sync_slots: Arc::new(tokio::sync::Semaphore::new(SYNC_SLOTS as usize)),
            max_body_bytes: config.max_body_bytes,
            max_media_bytes: config.max_media_bytes,
            media_quota_bytes: config.media_quota_bytes,
            suppression: config.suppression,
            benchmark: Default::default(),
            idle: crate::memory::Idle::new(),
            in_flight: InFlight::new(),
            readiness: Default::default(),
            idle_timeout: config.idle_timeout,
            shutdown_grace: config.shutdown_grace,
        })
    }

    /// Syncs and look-up batches in flight over every device ([`crate::in_flight`]): what a
    /// test waits for before it sends one more.
    pub fn requests_in_flight(&self) -> usize {
        self.in_flight.len()
    }
}

/// Slots for syncs: 64 small ones at once.
const SYNC_SLOTS: u32 = 64;

/// A sync's share of the slots: one, plus one per MiB of inflated request (at most all of
/// them), so a 16 MiB upload waits for a quarter of the slots and memory held by syncs in
/// flight stays within about 64 MiB of requests.
fn sync_weight(inflated_bytes: usize) -> u32 {
    let mib = u32::try_from(inflated_bytes >> 20).unwrap_or(u32::MAX);
    mib.saturating_add(1).min(SYNC_SLOTS)
}

/// What a sync of `weight` slots may inflate its request to: short of its next MiB (what
/// [`sync_weight`] gives `weight` for), or, holding every slot, up to the decoder's limit.
fn inflation_budget(weight: u32) -> usize {
    if weight >= SYNC_SLOTS {
        usize::MAX
    } else {
        ((weight as usize) << 20) - 1
    }
}

/// Serves a sync in slots weighed by what its request inflates to: `inflate` inflates the body
/// within a budget ([`Syncer::inflate`]), `serve` serves what it inflated to, on the same
/// blocking thread while the slots are held. A body weighs what it is compressed to first; a
/// few KB may inflate to the limit, so one that inflates past its budget is counted to the end
/// without being kept, lets its slots go, waits for the slots of its inflated size and is
/// inflated again (a body past the limit is refused when counted, holding its first slots
/// only). A sync waiting for slots holds no inflated request (the first in line gathers slots
/// as they come free, which is how tokio's semaphore stays fair; those who hold slots wait on
/// no slot), so the inflated requests in flight stay within what the slots allow.
async fn serve_in_slots<T: Send + 'static, S: FnOnce(Vec<u8>) -> Result<T> + Send + 'static>(
    slots: &Arc<tokio::sync::Semaphore>,
    compressed_bytes: usize,
    inflate: impl Fn(usize) -> Result<Inflated> + Clone + Send + 'static,
    serve: S,
) -> Result<T, ApiError> {
    /// What a blocking round ends with: served, or beyond its budget, `serve` handed back.
    enum Round<T, S> {
        Served(T),
        Beyond { inflated: usize, serve: S },
    }
    let mut weight = sync_weight(compressed_bytes);
    let mut serve = serve;
    loop {
        // The semaphore is never closed; a closed one would only mean serving without a slot.
        let slot = slots.clone().acquire_many_owned(weight).await.ok();
        let budget = inflation_budget(weight);
        let inflate = inflate.clone();
        let round = blocking(move || match inflate(budget)? {
            Inflated::Within(raw) => {
                let served = serve(raw);
                drop(slot);
                served.map(Round::Served)
            }
            Inflated::Beyond { inflated } => Ok(Round::Beyond { inflated, serve }),
        })
        .await?;
        match round {
            Round::Served(served) => return Ok(served),
            Round::Beyond { inflated, serve: s } => {
                serve = s;
                metrics::sync_reweighed();
                // Its size is known now, so the next round fits; more than the last, so
                // rounds end even if it did not (all the slots have the limit for a budget).
                weight = sync_weight(inflated).max(weight + 1).min(SYNC_SLOTS);
            }
        }
    }
}

/// The most a sign-in's body may hold.
pub const LOGIN_BODY_BYTES: usize = 16 * 1024;

/// The most a body may hold on every route but a sync, a batch of look-ups, a sign-in
/// ([`LOGIN_BODY_BYTES`]) and a media upload (streamed to disk): settings, an erasure's reason,
/// a revocation. Each is read whole before the handler asks who may, so an assistant's token
/// could otherwise have the server hold the sync's limit per request.
pub const SMALL_BODY_BYTES: usize = 64 * 1024;

pub fn app(state: AppState) -> Router {
    metrics::handle();
    Router::new()
        // A sign-in is a few hundred bytes and comes before any credential is checked: it is
        // not read up to the sync's limit.
        .route(
            "/v1/login",
            post(login.layer(DefaultBodyLimit::max(LOGIN_BODY_BYTES))),
        )
        // A device's own uploads are read to the sync's limit, one device's turns bounding
        // how many at once (`crate::in_flight`); the routes with no limit of their own read
        // to [`SMALL_BODY_BYTES`] (the last layer below).
        .route(
            "/v1/sync",
            post(sync.layer(DefaultBodyLimit::max(state.max_body_bytes))),
        )
        .route("/v1/logout", post(logout))
        // Media bodies are streamed to disk under their own limit, not the sync body limit.
        .route(
            "/v1/media/{sha256}",
            put(put_media.layer(DefaultBodyLimit::disable())).get(get_media),
        )
        .route("/v1/team", get(team))
        .route("/v1/devices", get(devices))
        .route("/v1/devices/{id}/revoke", post(revoke_device))
        .route(
            "/v1/users/{id}/sign-out-everywhere",
            post(sign_out_everywhere),
        )
        .route(
            "/v1/audit",
            post(receive_audit.layer(DefaultBodyLimit::max(state.max_body_bytes))),
        )
        .route("/v1/citizens/{id}/access-report", get(access_report))
        .route(
            "/v1/citizens/{id}/access-report.csv",
            get(access_report_csv),
        )
        .route("/v1/citizens/{id}/erase", post(erase_citizen))
        .route("/v1/retention", get(retention).put(set_retention))
        .route("/v1/retention/due", get(retention_due))
        .route("/v1/evidence", get(evidence))
        .route(
            "/v1/evidence/settings",
            get(evidence_settings).put(set_evidence_settings),
        )
        .route("/v1/evidence/municipalities", get(evidence_municipalities))
        .route("/v1/export", get(export_catalogue))
        .route("/v1/export/{table}", get(export_table))
        .route("/v1/care-records", get(care_records))
        .route("/healthz", get(healthz))
        // The readiness check for a load balancer in front of several servers: the same
        // question, whether this server's database answers (docs/postgresql.md).
        .route("/ready", get(healthz))
        .route("/metrics", get(prometheus))
        // The last layer added runs first: trace, then count, then bound the body.
        .layer(DefaultBodyLimit::max(SMALL_BODY_BYTES))
        .layer(middleware::from_fn(metrics::track_requests))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

/// Connections the kernel may queue before the server accepts them. tokio's `bind` asks for
/// 128: when every tablet of a municipality reconnects at once, the rest were dropped and
/// retried a second later (issue #13). The kernel caps it at `net.core.somaxconn` (4096 on
/// current Debian).
pub const LISTEN_BACKLOG: u32 = 4096;

/// A listener on `addr` with [`LISTEN_BACKLOG`]; address reuse on, so a restarted server binds
/// again at once.
pub fn listen(addr: std::net::SocketAddr) -> std::io::Result<TcpListener> {
    let socket = if addr.is_ipv4() {
        tokio::net::TcpSocket::new_v4()?
    } else {
        tokio::net::TcpSocket::new_v6()?
    };
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(LISTEN_BACKLOG)
}

/// Serves `app(state)` on `listener` until `shutdown` completes, then gives the requests in
/// flight up to `Config::shutdown_grace` to finish (idle connections close at once).
///
/// Not `axum::serve`: it gives hyper no timer, so a client could hold a connection for ever by
/// sending a header byte now and then (or nothing at all on a kept-alive connection). Here a
/// connection's headers must arrive within `Config::idle_timeout`, each piece of a body
/// within the same time of the last ([`RequestBodyTimeoutLayer`]), and each write of an answer
/// must be taken by the client within it too; an upload or a download at a slow line's steady
/// pace is not cut off.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    use hyper_util::rt::{TokioIo, TokioTimer};
    use tower_http::timeout::RequestBodyTimeoutLayer;

    let (idle, grace) = (state.idle_timeout, state.shutdown_grace);
    let service = hyper_util::service::TowerToHyperService::new(
        app(state).layer(RequestBodyTimeoutLayer::new(idle)),
    );
    let mut connections = hyper::server::conn::http1::Builder::new();
    connections
        .timer(TokioTimer::new())
        .header_read_timeout(idle);
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                // A connection reset before it was taken, or out of file descriptors: the
                // listener itself is fine; a pause lets descriptors free up.
                Err(e) => {
                    tracing::warn!(error = %e, "accepting a connection failed");
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        // Answers are written whole; waiting to fill a packet only delays them.
        let _ = stream.set_nodelay(true);
        // An answer the client stops taking fails its write after the idle limit too, and the
        // connection with it: a client that asks for a big answer and never reads it would
        // otherwise hold the connection, and what is left of the answer, for ever.
        let mut stream = tokio_io_timeout::TimeoutStream::new(stream);
        stream.set_write_timeout(Some(idle));
        let connection =
            connections.serve_connection(TokioIo::new(Box::pin(stream)), service.clone());
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                // A client gone or too slow: nothing the server can act on.
                tracing::debug!(error = %e, "connection ended");
            }
        });
    }
    drop(listener);
    tokio::select! {
        () = graceful.shutdown() => {}
        () = tokio::time::sleep(grace) => {
            // What is cut off was not answered: its device sends it again (admission takes a
            // change it already holds once).
            tracing::warn!(grace_secs = grace.as_secs(), "requests still in flight at the shutdown deadline are cut off");
        }
    }
    Ok(())
}

/// `POST /v1/login`. Frozen by protocol version 1 (docs/sync-protocol.md).
pub use homerehab_shared::api::{LoginRequest, LoginResponse, TeamInfo, UserInfo};

fn parse_actor(hex_id: &str) -> Result<ActorId, ApiError> {
    let mut raw = [0u8; 16];
    hex::decode_to_slice(hex_id, &mut raw).map_err(|_| ApiError::BadRequest {
        kind: "invalid",
        message: "actor_id must be 32 hex characters (a 16-byte Automerge actor id)".into(),
    })?;
    Ok(ActorId::from(raw.as_slice()))
}

/// `GET /v1/evidence`'s query: ISO dates, a team id.
#[derive(Debug, serde::Deserialize)]
struct EvidenceParams {
    from: String,
    to: String,
    team: Option<String>,
    therapist: Option<String>,
    as_of: Option<String>,
}

/// An optional id in a query (empty is none); anything but a UUID is a clear 400.
fn id_param(name: &str, value: Option<&str>) -> Result<Option<uuid::Uuid>, ApiError> {
    value
        .filter(|v| !v.is_empty())
        .map(|v| {
            uuid::Uuid::parse_str(v).map_err(|_| ApiError::BadRequest {
                kind: "invalid",
                message: format!("`{name}` must be an id"),
            })
        })
        .transpose()
}

/// The period `from`–`to` of a feed's query, both days included.
fn period_param(from: &str, to: &str) -> Result<Period, ApiError> {
    Period::new(date_param("from", from)?, date_param("to", to)?).map_err(|e| {
        ApiError::BadRequest {
            kind: "invalid",
            message: e.to_string(),
        }
    })
}

fn date_param(name: &str, value: &str) -> Result<time::Date, ApiError> {
    homerehab_shared::model::parse_date(value).map_err(|_| ApiError::BadRequest {
        kind: "invalid",
        message: format!("`{name}` must be a date YYYY-MM-DD"),
    })
}

impl From<Refusal> for ApiError {
    fn from(r: Refusal) -> Self {
        match r {
            Refusal::Forbidden(m) => ApiError::Forbidden(m),
            Refusal::NotFound(m) => ApiError::NotFound(m),
            Refusal::Invalid(message) => ApiError::BadRequest {
                kind: "invalid",
                message,
            },
            Refusal::Failed(e) => ApiError::from(e),
        }
    }
}

/// Runs an evidence question off the async threads.
async fn evidence_blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, Refusal> + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| ApiError::Internal(Error::Task(e.to_string())))?
        .map_err(ApiError::from)
}

/// `GET /v1/evidence`: the leaders' evidence for a period (`crate::evidence`).
async fn evidence(
    State(state): State<AppState>,
    Authenticated(who): Authenticated,
    params: Result<Query<EvidenceParams>, QueryRejection>,
) -> Result<Response, ApiError> {
    let p = query_params(params)?;
    let team = id_param("team", p.team.as_deref())?.map(homerehab_shared::ids::TeamId);
    let therapist =
        id_param("therapist", p.therapist.as_deref())?.map(homerehab_shared::ids::UserId);
    let q = EvidenceQuery {
        from: date_param("from", &p.from)?,
        to: date_param("to", &p.to)?,
        team,
        therapist,
        as_of: p
            .as_of
            .as_deref()
            .map(|d| date_param("as_of", d))
            .transpose()?,
    };
    let today = homerehab_shared::schedule::date_of(now_ms());
    let (store, suppression, benchmark) = (
        state.store.clone(),
        state.suppression,
        state.benchmark.clone(),
    );
    let started = Instant::now();
    let report = evidence_blocking(move || {
        let report =
            crate::evidence::report(store.as_ref(), &who, &q, today, suppression, &benchmark)?;
        // An extract of the municipality's figures: logged with its drill-down, no citizen.
        store
            .append_audit(&[homerehab_shared::audit::AuditRecord {
                team: q.team,
                target: q.therapist.map(|t| t.0),
                ..homerehab_shared::audit::AuditRecord::by(
                    &who,
                    homerehab_shared::audit::AuditAction::EvidenceExtract,
                    now_ms(),
                )
            }])
            .map_err(Refusal::Failed)?;
        Ok(report)
    })
    .await?;
    metrics::evidence_report(started.elapsed());
    Ok(private_json(&report))
}

/// Evidence is about people: no cache, proxy or browser may keep it.
fn private_json<T: serde::Serialize>(value: &T) -> Response {
    no_store(Json(value).into_response())
}

/// `response`, marked for no cache, proxy or browser to keep: what it holds is about people.
fn no_store(mut response: Response) -> Response {
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// A query's parameters, or a 400 saying which is wrong.
fn query_params<T>(params: Result<Query<T>, QueryRejection>) -> Result<T, ApiError> {
    params.map(|Query(p)| p).map_err(|e| ApiError::BadRequest {
        kind: "invalid",
        message: e.body_text(),
    })
}

/// `GET /v1/evidence/settings`.
async fn evidence_settings(
    State(state): State<AppState>,
    Authenticated(who): Authenticated,
) -> Result<Response, ApiError> {
    let store = state.store.clone();
    let settings =
        evidence_blocking(move || crate::evidence::settings(store.as_ref(), &who)).await?;
    Ok(private_json(&settings))
}

/// `PUT /v1/evidence/settings`: an admin replaces the municipality's targets, prices, naming
/// and comparison group.
async fn set_evidence_settings(
    State(state): State<AppState>,
    Authenticated(who): Authenticated,
    payload: Result<Json<EvidenceSettings>, JsonRejection>,
) -> Result<Response, ApiError> {
    let Json(settings) = payload.map_err(|e| ApiError::body(e.status(), e.body_text()))?;
    let store = state.store.clone();
    let saved =
        evidence_blocking(move || crate::evidence::set_settings(store.as_ref(), &who, settings))
            .await?;
    Ok(private_json(&saved))
}

/// `GET /v1/evidence/municipalities`: whom a comparison group may name.
async fn evidence_municipalities(
    State(state): State<AppState>,
    Authenticated(who): Authenticated,
) -> Result<Response, ApiError> {
    let store = state.store.clone();
    let list =
        evidence_blocking(move || crate::evidence::municipalities(store.as_ref(), &who)).await?;
    Ok(private_json(&list))
}

/// Runs blocking work off the async threads.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T> + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| ApiError::Internal(Error::Task(e.to_string())))?
        .map_err(ApiError::from)
}

/// Runs a device registry request off the async threads.
async fn registry<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, ApiError> + Send + 'static,
) -> Result<Json<T>, ApiError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| ApiError::Internal(Error::Task(e.to_string())))?
        .map(Json)
}

/// `POST /v1/audit` (`crate::audit::receive`): a device's look-ups, sent after its sync. A
/// revoked device hands them over like its changes.
async fn receive_audit(
    State(state): State<AppState>,
    SyncSession(session, _, _turn): SyncSession,
    payload: Result<Json<homerehab_shared::audit::AuditUpload>, JsonRejection>,
) -> Result<Json<homerehab_shared::audit::AuditReceipt>, ApiError> {
    let Json(upload) = payload.map_err(|e| ApiError::body(e.status(), e.body_text()))?;
    let store = state.store.clone();
    registry(move || {
        crate::audit::receive(store.as_ref(), &session.principal, session.device, &upload)
    })
    .await
}

/// `GET /v1/citizens/{id}/access-report` (`crate::audit::access_report`).
async fn access_report(
    State(state): State<AppState>,
    Authenticated(who): Authenticated,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let store = state.store.clone();
    let Json(report) =
        registry(move || crate::audit::access_report(store.as_ref(), &who, &id)).await?;
    Ok(private_json(&report))
}

/// `GET /v1/citizens/{id}/access-report.csv`: the report for Danish Excel.
async fn access_report_csv(
    State(state): State<AppState>,
    Authenticated(who): Authenticated,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let store = state.store.clone();
    let Json(report) =
        registry(move || crate::audit::access_report(store.as_ref(), &who, &id)).await?;
    Ok(private_file(
        "text/csv; charset=utf-8",
        homerehab_shared::audit::to_csv(&report),
        &format!("adgangsrapport-{}.csv", report.citizen_id),
    ))
}

/// A file to save as `name`, which no cache, proxy or browser may keep.
fn private_file(content_type: &'static str, body: Vec<u8>, name: &str) -> Response {
    let mut response = no_store(([(header::CONTENT_TYPE, content_type)], body).into_response());
    if let Ok(value) = HeaderValue::from_str(&format!("attachment; filename=\"{name}\"")) {
        response
            .headers_mut()
            .insert(header::CONTENT_DISPOSITION, value);
    }
    response
}

/// `GET /v1/export`: the BI feed's tables and their columns (`homerehab_shared::export`).
async fn export_catalogue(Authenticated(who): Authenticated) -> Result<Response, ApiError> {
    Ok(private_json(&crate::evidence::export_catalogue(&who)?))
}

/// A period of the BI feed, both days included.
#[derive(serde::Deserialize)]
struct ExportParams {
    from: String,
    to: String,
    /// `excel` for Danish Excel; else RFC 4180.
    format: Option<String>,
}

/// `GET /v1/export/{table}[.csv]?from&to[&format=excel]`: one table of the municipality's BI feed as CSV
/// (`crate::evidence::export`).
async fn export_table(
    State(state): State<AppState>,
    Authenticated(who): Authenticated,
    Path(table): Path<String>,
    params: Result<Query<ExportParams>, QueryRejection>,
) -> Result<Response, ApiError> {
    let p = query_params(params)?;
    let period = period_param(&p.from, &p.to)?;
    let dialect =
        homerehab_shared::export::Dialect::from_name(p.format.as_deref()).map_err(|e| {
            ApiError::BadRequest {
                kind: "invalid",
                message: e.to_string(),
            }
        })?;
    let store = state.store.clone();
    let (name, file) = evidence_blocking(move || {
        let table = table.strip_suffix(".csv").unwrap_or(&table);
        crate::evidence::export(store.as_ref(), &who, table, period, dialect, now_ms())
    })
    .await?;
    Ok(private_file(
        "text/csv; charset=utf-8; header=present",
        file,
        &name,
    ))
}

/// A period of the care record feed, both days included.
#[derive(serde::Deserialize)]
struct CareRecordParams {
    from: String,
    to: String,
}

/// `GET /v1/care-records?from&to`: the municipality's care records of the period as one FHIR
/// R4 Bundle (`crate::care_record::pull`).
async fn care_records(
    State(state): State<AppState>,
    Authenticated(who): Authenticated,
    params: Result<Query<CareRecordParams>, QueryRejection>,
) -> Result<Response, ApiError> {
    let p = query_params(params)?;
    let period = period_param(&p.from, &p.to)?;
    let store = state.store.clone();
    let body =
        evidence_blocking(move || crate::care_record::pull(store.as_ref(), &who, period, now_ms()))
            .await?;
    Ok(no_store(
        ([(header::CONTENT_TYPE, "application/fhir+json")], body).into_response(),
    ))
}

/// `GET /v1/devices` (`crate::devices::list`).
async fn devices(
    State(state): State<AppState>,
    Authenticated(who): Authenticated,
) -> Result<Json<Vec<homerehab_shared::api::DeviceView>>, ApiError> {
    let store = state.store.clone();
    registry(move || crate::devices::list(store.as_ref(), &who)).await
}

/// `POST /v1/devices/{id}/revoke` (`crate::devices::revoke`).
async fn revoke_device(
    State(state): State<AppState>,
    Authenticated(who): Authenticated,
    Path(id): Path<String>,
    payload: Result<Json<homerehab_shared::api::RevokeRequest>, JsonRejection>,
) -> Result<Json<homerehab_shared::api::DeviceView>, ApiError> {
    let Json(req) = payload.map_err(|e| ApiError::body(e.status(), e.body_text()))?;
    let store = state.store.clone();
    registry(move || crate::devices::revoke(store.as_ref(), &who, &id, &req)).await
}

/// `POST /v1/citizens/{id}/erase` (`crate::erasure::erase_citizen`); the erased documents'
/// cached copies are dropped.
async fn erase_citizen(
    State(state): State<AppState>,
    Authenticated(who): Authenticated,
    Path(id): Path<String>,
    payload: Result<Json<homerehab_shared::api::EraseCitizenRequest>, JsonRejection>,
) -> Result<Json<homerehab_shared::api::ErasureReceipt>, ApiError> {
    let Json(req) = payload.map_err(|e| ApiError::body(e.status(), e.body_text()))?;
    let store = state.store.clone();
    let syncer = state.syncer.clone();
    registry(move || {
        let (receipt, done) = crate::erasure::erase_citizen(
            store.as_ref(),
            &who,
            &id,
            &req,
            crate::erasure::today(),
        )?;
        syncer.forget(&done.deleted);
        syncer.forget(&done.rewritten);
        Ok(receipt)
    })
    .await
}

/// `GET /v1/retention` (`crate::erasure::settings`).
async fn retention(
    State(state): State<AppState>,
    Authenticated(who): Authenticated,
) -> Result<Json<homerehab_shared::api::RetentionSettings>, ApiError> {
    let store = state.store.clone();
    registry(move || crate::erasure::settings(store.as_ref(), &who)).await
}

/// `PUT /v1/retention` (`crate::erasure::set_settings`).
async fn set_retention(
    State(state): State<AppState>,
    Authenticated(who): Authenticated,
    payload: Result<Json<homerehab_shared::api::RetentionSettings>, JsonRejection>,
) -> Result<Json<homerehab_shared::api::RetentionSettings>, ApiError> {
    let Json(settings) = payload.map_err(|e| ApiError::body(e.status(), e.body_text()))?;
    let store = state.store.clone();
    registry(move || crate::erasure::set_settings(store.as_ref(), &who, &settings)).await
}

/// The day `GET /v1/retention/due` judges (today when absent).
#[derive(serde::Deserialize)]
struct DueQuery {
    today: Option<String>,
}

/// `GET /v1/retention/due` (`crate::erasure::due_view`).
async fn retention_due(
    State(state): State<AppState>,
    Authenticated(who): Authenticated,
    query: Result<Query<DueQuery>, QueryRejection>,
) -> Result<Json<homerehab_shared::api::RetentionDue>, ApiError> {
    let Query(q) = query.map_err(|e| ApiError::BadRequest {
        kind: "malformed",
        message: e.body_text(),
    })?;
    let today = match q.today.as_deref() {
        Some(day) => crate::erasure::parse_day(day)?,
        None => crate::erasure::today(),
    };
    let store = state.store.clone();
    registry(move || crate::erasure::due_view(store.as_ref(), &who, today)).await
}

/// `POST /v1/users/{id}/sign-out-everywhere` (`crate::devices::sign_out_everywhere`).
async fn sign_out_everywhere(
    State(state): State<AppState>,
    Authenticated(who): Authenticated,
    Path(id): Path<String>,
) -> Result<Json<homerehab_shared::api::SignedOutEverywhere>, ApiError> {
    let store = state.store.clone();
    registry(move || crate::devices::sign_out_everywhere(store.as_ref(), &who, &id)).await
}

async fn login(
    State(state): State<AppState>,
    payload: Result<Json<LoginRequest>, JsonRejection>,
) -> Result<Json<LoginResponse>, ApiError> {
    let _working = state.idle.working();
    let Json(req) = payload.map_err(|e| ApiError::body(e.status(), e.body_text()))?;
    let device = DeviceOf {
        actor: parse_actor(&req.actor_id)?,
        device: req.device_id,
        app_version: req
            .app_version
            .unwrap_or_default()
            .chars()
            .filter(|c| !c.is_control())
            .take(40)
            .collect(),
    };
    let login = match state.auth.login(req.username, req.password, device).await? {
        LoginOutcome::Accepted(login) => login,
        LoginOutcome::DeviceRevoked(notice) => return Err(ApiError::DeviceRevoked(notice)),
        LoginOutcome::Refused => return Err(ApiError::Unauthorized("wrong username or password")),
        LoginOutcome::Throttled { until } => {
            tracing::warn!("sign-in throttled after repeated wrong passwords");
            return Err(ApiError::TooManyRequests {
                retry_after_s: ((until - now_ms()) / 1000).max(1) as u64,
            });
        }
        LoginOutcome::Busy => {
            // Debug, not warn: a flood would flood the log too. Counted in /metrics as 503s.
            tracing::debug!("sign-in refused: every password worker is busy");
            return Err(ApiError::Busy);
        }
    };
    tracing::info!(user = %login.user.user.id, "login");
    let store = state.store.clone();
    let team_id = login.user.user.team_id;
    let team = blocking(move || store.team_info(team_id)).await?;
    Ok(Json(LoginResponse {
        token: login.token,
        expires_at: login.expires_at,
        user: login.user.user,
        team,
        device_secret: Some(login.device_secret),
    }))
}

/// `GET /v1/team`: the signed-in user's team and its members, refreshed by devices after
/// each sync so names of colleagues who joined later show too.
async fn team(
    State(state): State<AppState>,
    Authenticated(who): Authenticated,
) -> Result<Json<TeamInfo>, ApiError> {
    let store = state.store.clone();
    let team_id = who.team_id;
    blocking(move || store.team_info(team_id))
        .await?
        .map(Json)
        .ok_or_else(|| ApiError::Internal(Error::NotFound(format!("team {team_id}"))))
}

async fn sync(
    State(state): State<AppState>,
    SyncSession(session, waiting, _turn): SyncSession,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let _working = state.idle.working();
    let body = body.map_err(|e| ApiError::body(e.status(), e.body_text()))?;
    let started = Instant::now();
    let Session {
        principal: who,
        device,
        hand_over,
    } = session;
    let user = who.user_id;
    let syncer = state.syncer.clone();
    let compressed_bytes = body.len();
    let inflate = {
        let (syncer, who) = (syncer.clone(), who.clone());
        move |budget| syncer.inflate(&who, &body, budget)
    };
    let serve = move |raw: Vec<u8>| syncer.handle_inflated(&who, device, raw);
    let (encoded, stats, mut handed) =
        serve_in_slots(&state.sync_slots, compressed_bytes, inflate, serve).await?;
    handed.parked_work = waiting.parked_work;
    handed.look_ups_waiting = waiting.look_ups;
    metrics::record_sync(&stats, started.elapsed());
    tracing::info!(%user, ?stats, elapsed_ms = started.elapsed().as_millis() as u64, "sync");
    let mut response = (
        [(header::CONTENT_TYPE, "application/octet-stream")],
        encoded,
    )
        .into_response();
    if let (Some(notice), Some(device)) = (hand_over, device) {
        // Its changes were admitted and committed above; with nothing left to give, the
        // hand-over is complete and the token is refused from now on.
        if handed.completes_handover() {
            let store = state.store.clone();
            blocking(move || store.close_handover(device, now_ms())).await?;
            tracing::info!(%user, %device, "revoked device handed over; closed");
        } else {
            tracing::info!(%user, %device, "revoked device handing over");
        }
        if let Ok(value) = HeaderValue::from_str(&notice.to_header()) {
            response.headers_mut().insert(
                header::HeaderName::from_static(homerehab_shared::api::DEVICE_REVOKED_HEADER),
                value,
            );
        }
    }
    Ok(response)
}

/// The user and device of a sync: like [`Authenticated`], but a revoked device whose
/// hand-over is open passes (its answers say it is revoked). It also holds the device's turn
/// ([`crate::in_flight`]), taken before the body is read and let go when the handler returns
/// (or the request is dropped): a device with its requests in flight already is answered 503
/// unread.
pub struct SyncSession(pub Session, pub WaitingOnDevice, pub InFlightTurn);

/// What the device says still waits on it besides its offers: another user's unsent work
/// parked on it ([`homerehab_shared::api::PARKED_WORK_HEADER`]), the user's look-ups for the
/// access log ([`homerehab_shared::api::LOOK_UPS_WAITING_HEADER`]).
#[derive(Clone, Copy, Debug, Default)]
pub struct WaitingOnDevice {
    pub parked_work: bool,
    pub look_ups: bool,
}

impl axum::extract::FromRequestParts<AppState> for SyncSession {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let token = bearer(&parts.headers)
            .map_err(IntoResponse::into_response)?
            .to_owned();
        let some = |name: &str| {
            parts
                .headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<u32>().ok())
                .is_some_and(|n| n > 0)
        };
        let waiting = WaitingOnDevice {
            parked_work: some(homerehab_shared::api::PARKED_WORK_HEADER),
            look_ups: some(homerehab_shared::api::LOOK_UPS_WAITING_HEADER),
        };
        let session = state
            .auth
            .look_up(move |auth| auth.session(&token))
            .await
            .map_err(IntoResponse::into_response)?;
        let Some(turn) = state
            .in_flight
            .enter(session.principal.user_id, session.device)
        else {
            tracing::debug!(user = %session.principal.user_id, "device busy: request turned away");
            return Err(ApiError::DeviceBusy.into_response());
        };
        Ok(SyncSession(session, waiting, turn))
    }
}

async fn logout(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let token = match bearer(&headers) {
        Ok(t) => t.to_owned(),
        Err(e) => return e.into_response(),
    };
    let done = state
        .auth
        .look_up(move |auth| {
            auth.authenticate(&token)?;
            auth.logout(&token)
        })
        .await;
    match done {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(rejection) => rejection.into_response(),
    }
}

/// The checked media name from the path: it becomes a file name.
fn media_name(sha256: &str) -> Result<&str, ApiError> {
    if homerehab_shared::municipal::is_sha256_hex(sha256) {
        Ok(sha256)
    } else {
        Err(ApiError::BadRequest {
            kind: "invalid",
            message: "a media name is its SHA-256 in 64 lowercase hex characters".into(),
        })
    }
}

/// `PUT /v1/media/{sha256}`: a therapist or admin uploads a photo or video of their
/// municipality. Kept only if the bytes hash to the name; the same bytes again are a no-op.
async fn put_media(
    State(state): State<AppState>,
    who: Result<Authenticated, crate::auth::AuthRejection>,
    Path(sha256): Path<String>,
    headers: HeaderMap,
    body: axum::body::Body,
) -> Response {
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let (refusal, body, budget) = match who {
        // Nobody's: a stranger gets no more of the server's reading than the documented MiB.
        Err(rejection) => (rejection.into_response(), body, STRANGERS_DRAIN),
        Ok(Authenticated(who)) => {
            match store_media(&state, who, &sha256, &headers, declared, body).await {
                Ok(status) => return status.into_response(),
                Err((e, None)) => return e.into_response(),
                Err((e, Some(body))) => {
                    (e.into_response(), body, drain_budget(state.max_media_bytes))
                }
            }
        }
    };
    answer_unread(refusal, body, declared, budget)
}

/// How much of an upload without a valid token is read and thrown away.
const STRANGERS_DRAIN: u64 = 1 << 20;

/// How much of a signed-in user's refused upload is read and thrown away so their app sees the
/// refusal: twice the largest file accepted (at least 1 MiB), read for at most [`DRAIN_TIME`].
fn drain_budget(max_media_bytes: u64) -> u64 {
    max_media_bytes.max(1 << 20).saturating_mul(2)
}

const DRAIN_TIME: std::time::Duration = std::time::Duration::from_secs(60);

/// Answers a refusal before the body was read. A client still sending would have its
/// connection reset by a close with unread data and never see the answer, so the body is read
/// (and dropped) in the background while the answer goes out; a body declared larger than
/// `budget` is not read, and the connection is closed after the answer.
fn answer_unread(
    mut refusal: Response,
    body: axum::body::Body,
    declared: Option<u64>,
    budget: u64,
) -> Response {
    if declared.is_some_and(|n| n > budget) {
        refusal
            .headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
        return refusal;
    }
    tokio::spawn(async move {
        let _ = tokio::time::timeout(DRAIN_TIME, drain(body, budget)).await;
    });
    refusal
}

async fn drain(mut body: axum::body::Body, budget: u64) {
    use http_body_util::BodyExt;
    let mut read = 0u64;
    while let Some(Ok(frame)) = body.frame().await {
        read += frame.data_ref().map_or(0, |d| d.len() as u64);
        if read > budget {
            break;
        }
    }
}

/// Checks and stores an upload; a refusal hands the unread body back (to be drained).
async fn store_media(
    state: &AppState,
    who: Principal,
    sha256: &str,
    headers: &HeaderMap,
    declared: Option<u64>,
    body: axum::body::Body,
) -> Result<StatusCode, (ApiError, Option<axum::body::Body>)> {
    let sha256 = match media_name(sha256) {
        Ok(s) => s.to_string(),
        Err(e) => return Err((e, Some(body))),
    };
    let municipality = match who
        .municipality_id
        .filter(|_| who.may(Capability::EditLibrary))
    {
        Some(m) => m,
        None => {
            let e = ApiError::Forbidden(format!(
                "adding media needs the right to {}",
                Capability::EditLibrary.as_str()
            ));
            return Err((e, Some(body)));
        }
    };
    let Some(content_type) = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .filter(|t| homerehab_shared::municipal::MEDIA_TYPES.contains(t))
        .map(str::to_string)
    else {
        let e = ApiError::BadRequest {
            kind: "invalid",
            message: format!(
                "Content-Type must be one of {}",
                homerehab_shared::municipal::MEDIA_TYPES.join(", ")
            ),
        };
        return Err((e, Some(body)));
    };
    if declared.is_some_and(|n| n > state.max_media_bytes) {
        return Err((
            Error::MediaTooLarge(state.max_media_bytes).into(),
            Some(body),
        ));
    }
    // The municipality's quota: the file may take what is left of it, counted as it streams
    // (an upload without a declared length is held to it too).
    let (store, name) = (state.store.clone(), sha256.clone());
    let held = match blocking(move || store.media_bytes_besides(municipality, &name)).await {
        Ok(held) => held,
        Err(e) => return Err((e, Some(body))),
    };
    let room = state.media_quota_bytes.saturating_sub(held);
    let limit = state.max_media_bytes.min(room);
    let quota_full = || ApiError::from(Error::MediaQuotaFull(state.media_quota_bytes));
    if declared.is_some_and(|n| n > limit) {
        return Err((quota_full(), Some(body)));
    }
    let byte_size = state
        .media
        .put(&sha256, body, limit)
        .await
        .map_err(|e| match e {
            Error::MediaTooLarge(_) if limit < state.max_media_bytes => (quota_full(), None),
            e => (ApiError::from(e), None),
        })?;
    let record = MediaRecord {
        sha256,
        municipality,
        byte_size,
        content_type,
        uploaded_by: who.user_id,
    };
    let store = state.store.clone();
    blocking(move || store.record_media(&record))
        .await
        .map_err(|e| (e, None))?;
    // The hash names the file; nothing about its content or the user's data is logged.
    tracing::info!(user = %who.user_id, byte_size, "media stored");
    Ok(StatusCode::CREATED)
}

/// `GET`/`HEAD /v1/media/{sha256}`: only for users of a municipality that uploaded it and whose
/// library has not withdrawn it (any other answer is 404, so a hash does not tell whether
/// another municipality has the file; a withdrawn one is simply no longer there for its
/// municipality, which the library already says). `Range` resumes an interrupted download
/// (tower-http's `ServeFile`).
async fn get_media(
    State(state): State<AppState>,
    Authenticated(who): Authenticated,
    Path(sha256): Path<String>,
    req: Request,
) -> Result<Response, ApiError> {
    let sha256 = media_name(&sha256)?.to_string();
    let not_found = || ApiError::NotFound("no such media for your municipality".into());
    let Some(municipality) = who.municipality_id else {
        return Err(not_found());
    };
    let store = state.store.clone();
    let name = sha256.clone();
    let record = blocking(move || store.media_of(&name, municipality))
        .await?
        .ok_or_else(not_found)?;
    let path = state.media.path(&sha256);
    let mut resp = tower_http::services::ServeFile::new(&path)
        .try_call(req)
        .await
        .map_err(|e| ApiError::Internal(Error::Io(e)))?
        .map(axum::body::Body::new);
    if resp.status() == StatusCode::NOT_FOUND {
        tracing::error!(media = %sha256, "media recorded but its file is missing");
        return Err(not_found());
    }
    let h = resp.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&record.content_type) {
        h.insert(header::CONTENT_TYPE, v);
    }
    if let Ok(v) = HeaderValue::from_str(&format!("\"{sha256}\"")) {
        h.insert(header::ETAG, v);
    }
    // The name is the content: it never changes, so caches may keep it for good.
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, max-age=31536000, immutable"),
    );
    Ok(resp)
}

async fn healthz(State(state): State<AppState>) -> Response {
    const FRESH: std::time::Duration = std::time::Duration::from_secs(1);
    let mut last = state.readiness.lock().await;
    let ready = match *last {
        Some((at, ready)) if at.elapsed() < FRESH => ready,
        _ => {
            let store = state.store.clone();
            let ready = match blocking(move || store.ping()).await {
                Ok(()) => true,
                Err(e) => {
                    tracing::error!(error = ?e, "health check failed");
                    false
                }
            };
            *last = Some((Instant::now(), ready));
            ready
        }
    };
    drop(last);
    if ready {
        (StatusCode::OK, "ok").into_response()
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "database unavailable").into_response()
    }
}

async fn prometheus() -> Response {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        metrics::render(),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;
    use homerehab_shared::ids::DocumentId;
    use homerehab_shared::sync::wire::{self, Offer, SyncRequest, PROTOCOL_VERSION};
    use std::time::Duration;

    /// An encoded request whose one change inflates to `bytes` and compresses to little.
    fn request_inflating_to(bytes: usize) -> Arc<Vec<u8>> {
        Arc::new(wire::encode(&SyncRequest {
            protocol: PROTOCOL_VERSION,
            offers: vec![Offer {
                doc: DocumentId::new(),
                heads: vec![],
                changes: vec![0; bytes],
                generation: 0,
            }],
        }))
    }

    fn inflater(body: Arc<Vec<u8>>) -> impl Fn(usize) -> Result<Inflated> + Clone + Send {
        move |budget| Ok(wire::inflate_request(&body, budget, &Limits::default())?)
    }

    /// Serves `body` in `slots`, answering what it inflated to and the slots it held then.
    async fn served(
        slots: &Arc<tokio::sync::Semaphore>,
        body: Arc<Vec<u8>>,
    ) -> Result<(Vec<u8>, usize), ApiError> {
        let held = {
            let slots = slots.clone();
            move |raw| Ok((raw, SYNC_SLOTS as usize - slots.available_permits()))
        };
        serve_in_slots(slots, body.len(), inflater(body), held).await
    }

    /// A request of under 100 KB that inflates to 8 MiB is served in the 9 slots of 8 MiB,
    /// not the one of its compressed size: with 4 slots free it waits, and goes when slots are
    /// freed. (Weighed by the compressed size, 64 such requests could hold 4 GiB.)
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_sync_is_served_in_slots_weighed_by_what_its_request_inflates_to() {
        let slots = Arc::new(tokio::sync::Semaphore::new(SYNC_SLOTS as usize));
        let small = request_inflating_to(1000);
        let bomb = request_inflating_to(8 << 20);
        assert_eq!(
            sync_weight(bomb.len()),
            1,
            "{} bytes compressed",
            bomb.len()
        );

        let others = slots.acquire_many(SYNC_SLOTS - 4).await.unwrap();
        let (raw, held) = served(&slots, small).await.unwrap();
        assert_eq!(held, SYNC_SLOTS as usize - 4 + 1);
        let request = wire::decode_inflated_request(&raw, &Limits::default()).unwrap();
        assert_eq!(request.offers[0].changes.len(), 1000);

        let waiting = served(&slots, bomb);
        tokio::pin!(waiting);
        assert!(
            tokio::time::timeout(Duration::from_millis(500), &mut waiting)
                .await
                .is_err(),
            "8 MiB inflated within 4 free slots"
        );
        drop(others);
        let (raw, held) = waiting.await.unwrap();
        assert!(raw.len() > 8 << 20);
        assert_eq!(held, 9, "the slots of 8 MiB and a bit");
        assert_eq!(slots.available_permits(), SYNC_SLOTS as usize);
    }

    /// Past the decoder's limit a request is refused when its first slot's budget runs out and
    /// the rest is counted, without waiting for the slots its size would take: with all but
    /// one slot held by others, it is refused all the same, and holds none afterwards.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_request_past_the_limit_is_refused_from_its_first_slot() {
        let slots = Arc::new(tokio::sync::Semaphore::new(SYNC_SLOTS as usize));
        let others = slots.acquire_many(SYNC_SLOTS - 1).await.unwrap();
        let refused = tokio::time::timeout(
            Duration::from_secs(60),
            served(&slots, request_inflating_to(65 << 20)),
        )
        .await
        .expect("refused without waiting for slots others hold");
        drop(others);
        assert!(
            matches!(refused, Err(ApiError::PayloadTooLarge(_))),
            "{refused:?}"
        );
        assert_eq!(slots.available_permits(), SYNC_SLOTS as usize);
    }
}
