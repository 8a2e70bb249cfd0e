//! The HTTP API: [`app`] builds the router, [`serve`] runs it. Handlers translate HTTP to
//! service calls ([`AuthService`], [`Syncer`]) and errors to [`ApiError`]; blocking work
//! (SQLite, argon2, CRDT merges) runs in `spawn_blocking`.
//!
//! | route            | body                          | answer                          |
//! |------------------|-------------------------------|---------------------------------|
//! | `POST /v1/login` | JSON [`LoginRequest`]         | JSON [`LoginResponse`]          |
//! | `POST /v1/sync`  | `wire::encode(SyncRequest)`   | `wire::encode(SyncResponse)`    |
//! | `POST /v1/logout`| —                             | 204                             |
//! | `GET /healthz`   | —                             | `ok` when the database answers  |
//! | `GET /metrics`   | —                             | Prometheus text                 |

use crate::auth::{bearer, AuthService, Authenticated};
use crate::config::Config;
use crate::error::{Error, Result};
use crate::metrics;
use crate::store::{SqliteStore, Store};
use crate::sync::Syncer;
use automerge::ActorId;
use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, JsonRejection};
use axum::extract::{DefaultBodyLimit, FromRef, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{middleware, Json, Router};
use homerehab_shared::sync::wire::{Limits, WireError};
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
    max_body_bytes: usize,
}

impl FromRef<AppState> for Arc<AuthService> {
    fn from_ref(state: &AppState) -> Self {
        state.auth.clone()
    }
}

impl AppState {
    /// Opens the SQLite database under `config.data_dir`.
    pub fn open(config: &Config) -> Result<Self> {
        let store = SqliteStore::open(&config.database_path())?;
        Ok(AppState::new(Arc::new(store), config))
    }

    pub fn new(store: Arc<dyn Store>, config: &Config) -> Self {
        let limits = Limits {
            max_decompressed: config.max_decompressed_bytes,
            ..Limits::default()
        };
        AppState {
            auth: Arc::new(AuthService::new(store.clone(), config)),
            syncer: Arc::new(Syncer::new(store.clone(), config.cache_capacity, limits)),
            store,
            max_body_bytes: config.max_body_bytes,
        }
    }
}

pub fn app(state: AppState) -> Router {
    metrics::handle();
    Router::new()
        .route("/v1/login", post(login))
        .route("/v1/sync", post(sync))
        .route("/v1/logout", post(logout))
        .route("/healthz", get(healthz))
        .route("/metrics", get(prometheus))
        // The last layer added runs first: trace, then count, then bound the body.
        .layer(DefaultBodyLimit::max(state.max_body_bytes))
        .layer(middleware::from_fn(metrics::track_requests))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

/// Serves `app(state)` on `listener` until `shutdown` completes, then finishes open requests.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, app(state))
        .with_graceful_shutdown(shutdown)
        .await
}

/// `POST /v1/login`. Frozen by protocol version 1 (docs/sync-protocol.md).
pub use homerehab_shared::api::{LoginRequest, LoginResponse, UserInfo};

fn parse_actor(hex_id: &str) -> Result<ActorId, ApiError> {
    let mut raw = [0u8; 16];
    hex::decode_to_slice(hex_id, &mut raw).map_err(|_| ApiError::BadRequest {
        kind: "invalid",
        message: "actor_id must be 32 hex characters (a 16-byte Automerge actor id)".into(),
    })?;
    Ok(ActorId::from(raw.as_slice()))
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

async fn login(
    State(state): State<AppState>,
    payload: Result<Json<LoginRequest>, JsonRejection>,
) -> Result<Json<LoginResponse>, ApiError> {
    let Json(req) = payload.map_err(|e| ApiError::body(e.status(), e.body_text()))?;
    let actor = parse_actor(&req.actor_id)?;
    let auth = state.auth.clone();
    let login = blocking(move || auth.login(&req.username, &req.password, &actor))
        .await?
        .ok_or(ApiError::Unauthorized("wrong username or password"))?;
    tracing::info!(user = %login.user.user.id, "login");
    Ok(Json(LoginResponse {
        token: login.token,
        expires_at: login.expires_at,
        user: login.user.user,
    }))
}

async fn sync(
    State(state): State<AppState>,
    Authenticated(who): Authenticated,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let body = body.map_err(|e| ApiError::body(e.status(), e.body_text()))?;
    let started = Instant::now();
    let user = who.user_id;
    let syncer = state.syncer.clone();
    let (encoded, stats) = blocking(move || syncer.handle(&who, &body)).await?;
    metrics::record_sync(&stats, started.elapsed());
    tracing::info!(%user, ?stats, elapsed_ms = started.elapsed().as_millis() as u64, "sync");
    Ok((
        [(header::CONTENT_TYPE, "application/octet-stream")],
        encoded,
    )
        .into_response())
}

async fn logout(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let auth = state.auth.clone();
    let token = match bearer(&headers) {
        Ok(t) => t.to_owned(),
        Err(e) => return e.into_response(),
    };
    let done = tokio::task::spawn_blocking(move || {
        auth.authenticate(&token)?;
        auth.logout(&token)
    })
    .await;
    match done {
        Ok(Ok(())) => StatusCode::NO_CONTENT.into_response(),
        Ok(Err(rejection)) => rejection.into_response(),
        Err(e) => ApiError::Internal(Error::Task(e.to_string())).into_response(),
    }
}

async fn healthz(State(state): State<AppState>) -> Response {
    let store = state.store.clone();
    match blocking(move || store.ping()).await {
        Ok(()) => (StatusCode::OK, "ok").into_response(),
        Err(e) => {
            tracing::error!(error = ?e, "health check failed");
            (StatusCode::SERVICE_UNAVAILABLE, "database unavailable").into_response()
        }
    }
}

async fn prometheus() -> Response {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        metrics::render(),
    )
        .into_response()
}

/// Every error a handler returns; answered as JSON `{"error": kind, "message": text}`.
#[derive(Debug)]
pub enum ApiError {
    /// 400: the body is not valid JSON, not a sync message, or of another protocol version.
    BadRequest { kind: &'static str, message: String },
    /// 401: no token, an unknown or expired one, or a wrong password.
    Unauthorized(&'static str),
    /// 403: authenticated, but not allowed.
    Forbidden(String),
    /// 413: the body exceeds the limit, compressed or decompressed.
    PayloadTooLarge(String),
    /// 500: logged here, never sent.
    Internal(Error),
}

impl ApiError {
    /// From a body extractor's rejection, keeping its 413.
    fn body(status: StatusCode, message: String) -> ApiError {
        if status == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::PayloadTooLarge(message)
        } else {
            ApiError::BadRequest {
                kind: "malformed",
                message,
            }
        }
    }
}

impl From<Error> for ApiError {
    fn from(e: Error) -> Self {
        match e {
            Error::Wire(WireError::Version(_)) => ApiError::BadRequest {
                kind: "unsupported_protocol",
                message: e.to_string(),
            },
            Error::Wire(WireError::TooLarge(_)) => ApiError::PayloadTooLarge(e.to_string()),
            Error::Wire(_) => ApiError::BadRequest {
                kind: "malformed",
                message: e.to_string(),
            },
            Error::Invalid(message) => ApiError::BadRequest {
                kind: "invalid",
                message,
            },
            Error::ActorTaken => ApiError::Forbidden(e.to_string()),
            e => ApiError::Internal(e),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, kind, message) = match self {
            ApiError::BadRequest { kind, message } => (StatusCode::BAD_REQUEST, kind, message),
            ApiError::Unauthorized(m) => (StatusCode::UNAUTHORIZED, "unauthorized", m.to_string()),
            ApiError::Forbidden(m) => (StatusCode::FORBIDDEN, "forbidden", m),
            ApiError::PayloadTooLarge(m) => (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large", m),
            ApiError::Internal(e) => {
                tracing::error!(error = %e, "internal error");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal",
                    "internal server error".to_string(),
                )
            }
        };
        let body = Json(homerehab_shared::api::ErrorBody {
            error: kind.to_string(),
            message: message.to_string(),
        });
        if status == StatusCode::UNAUTHORIZED {
            return (status, [(header::WWW_AUTHENTICATE, "Bearer")], body).into_response();
        }
        (status, body).into_response()
    }
}
