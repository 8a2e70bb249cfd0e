//! The router: one handler per endpoint, each translating HTTP to an [`ops`] call and back.
//!
//! Only loopback is meant to reach it. It enables no CORS, and JSON bodies must carry
//! `Content-Type: application/json`, so a web page on another origin cannot post to it.

use crate::error::{Error, Result};
use crate::ops::{self, Core};
use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, Path, Query, Request, State};
use axum::routing::{get, post};
use axum::{Json, Router};
use homerehab_app_api as api;
use homerehab_core::store::now_ms;
use serde::de::DeserializeOwned;
use serde::Deserialize;
use std::path::PathBuf;
use std::sync::Arc;
use tower_http::services::{ServeDir, ServeFile};

type AppState = Arc<Core>;

/// Where the static files are.
#[derive(Clone, Debug)]
pub struct Dirs {
    /// The built UI (`app/ui/dist`); `index.html` answers every path it does not have.
    pub ui: PathBuf,
    /// The library's SVGs (`assets/illustrations`).
    pub illustrations: PathBuf,
}

/// A JSON body whose rejection (bad JSON, wrong content type) is our `{kind, message}` error.
pub struct Body<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for Body<T> {
    type Rejection = Error;

    async fn from_request(req: Request, state: &S) -> Result<Self> {
        Json::<T>::from_request(req, state)
            .await
            .map(|Json(v)| Body(v))
            .map_err(|e: JsonRejection| Error::invalid(e.body_text()))
    }
}

#[derive(Deserialize)]
struct LangQuery {
    lang: Option<String>,
}

pub fn app(core: Arc<Core>, dirs: &Dirs) -> Router {
    let api = Router::new()
        .route("/login", post(login))
        .route("/me", get(me))
        .route("/status", get(status))
        .route("/sync", post(sync))
        .route("/pin", post(set_pin))
        .route("/unlock", post(unlock))
        .route("/lock", post(lock))
        .route("/visits", get(visits))
        .route("/courses/{course}", get(course))
        .route("/courses/{course}/sessions", post(start_session))
        .route("/courses/{course}/sessions/{session}", get(session_summary))
        .route("/courses/{course}/sessions/{session}/sets", post(log_set))
        .route(
            "/courses/{course}/sessions/{session}/feedback",
            post(feedback),
        )
        .route("/courses/{course}/sessions/{session}/finish", post(finish))
        .route("/courses/{course}/not-carried-out", post(not_carried_out))
        .fallback(|| async { Error::not_found("no such API endpoint") })
        .with_state(core);
    let ui = ServeDir::new(&dirs.ui).fallback(ServeFile::new(dirs.ui.join("index.html")));
    Router::new()
        .nest("/api", api)
        .nest_service("/illustrations", ServeDir::new(&dirs.illustrations))
        .fallback_service(ui)
}

async fn login(
    State(core): State<AppState>,
    Body(req): Body<api::LoginRequest>,
) -> Result<Json<api::Me>> {
    ops::login(&core, req).await.map(Json)
}

async fn me(State(core): State<AppState>) -> Result<Json<Option<api::Me>>> {
    ops::me(&core).map(Json)
}

async fn status(State(core): State<AppState>) -> Result<Json<api::Status>> {
    ops::status(&core).map(Json)
}

async fn sync(State(core): State<AppState>) -> Result<Json<api::Status>> {
    ops::sync_now(&core).await.map(Json)
}

async fn set_pin(
    State(core): State<AppState>,
    Body(req): Body<api::PinRequest>,
) -> Result<Json<api::Status>> {
    ops::set_pin(&core, req).map(Json)
}

async fn unlock(
    State(core): State<AppState>,
    Body(req): Body<api::PinRequest>,
) -> Result<Json<api::Status>> {
    ops::unlock(&core, req).map(Json)
}

async fn lock(State(core): State<AppState>) -> Result<Json<api::Status>> {
    ops::lock(&core).map(Json)
}

async fn visits(State(core): State<AppState>) -> Result<Json<Vec<api::Visit>>> {
    ops::visits(&core, now_ms()).map(Json)
}

async fn course(
    State(core): State<AppState>,
    Path(course): Path<String>,
    Query(q): Query<LangQuery>,
) -> Result<Json<api::CourseDetail>> {
    ops::course_detail(&core, &course, ops::lang(q.lang.as_deref())).map(Json)
}

async fn start_session(
    State(core): State<AppState>,
    Path(course): Path<String>,
) -> Result<Json<api::StartedSession>> {
    ops::start_session(&core, &course).map(Json)
}

async fn session_summary(
    State(core): State<AppState>,
    Path((course, session)): Path<(String, String)>,
) -> Result<Json<api::SessionSummary>> {
    ops::session_summary(&core, &course, &session).map(Json)
}

async fn log_set(
    State(core): State<AppState>,
    Path((course, session)): Path<(String, String)>,
    Body(req): Body<api::LogSetRequest>,
) -> Result<Json<api::SetLogged>> {
    ops::log_set(&core, &course, &session, req).map(Json)
}

async fn feedback(
    State(core): State<AppState>,
    Path((course, session)): Path<(String, String)>,
    Body(req): Body<api::FeedbackRequest>,
) -> Result<Json<api::Saved>> {
    ops::record_feedback(&core, &course, &session, req).map(Json)
}

async fn finish(
    State(core): State<AppState>,
    Path((course, session)): Path<(String, String)>,
    Body(req): Body<api::FinishRequest>,
) -> Result<Json<api::SessionSummary>> {
    ops::finish_session(&core, &course, &session, req).map(Json)
}

async fn not_carried_out(
    State(core): State<AppState>,
    Path(course): Path<String>,
    Body(req): Body<api::NotCarriedOutRequest>,
) -> Result<Json<api::SessionSummary>> {
    ops::not_carried_out(&core, &course, req).map(Json)
}
