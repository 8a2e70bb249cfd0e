//! The router: one handler per endpoint, each translating HTTP to an [`ops`] call and back.
//!
//! Only loopback is meant to reach it. It enables no CORS, and JSON bodies must carry
//! `Content-Type: application/json`, so a web page on another origin cannot post to it.

use crate::error::{Error, Result};
use crate::ops::{self, Core};
use axum::extract::rejection::{JsonRejection, QueryRejection};
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
    let core_for_media = core.clone();
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
        .route("/caseload", get(caseload))
        .route("/citizens", get(citizens).post(create_citizen))
        .route("/staff", get(staff))
        .route("/templates", get(templates))
        .route("/legal-bases", get(legal_bases))
        .route("/courses", post(create_course))
        .route("/library", get(search_library))
        .route("/courses/{course}/program", get(program).post(save_program))
        .route("/courses/{course}/history", get(history))
        .route("/assessment-kinds", get(assessment_kinds))
        .route("/courses/{course}/assessments", post(add_assessment))
        .route("/overview", get(overview))
        .route("/courses/{course}/status", post(set_course_status))
        .route("/library/exercises", post(put_local_exercise))
        .route("/library/templates", post(put_local_template))
        .route(
            "/library/exercises/{exercise}/media",
            post(upload_media).layer(axum::extract::DefaultBodyLimit::max(MAX_UPLOAD_BYTES)),
        )
        .route("/library/media/{sha256}/withdraw", post(withdraw_media))
        .route("/media/status", get(media_status))
        .route("/media/prefetch", post(prefetch_media))
        .fallback(|| async { Error::not_found("no such API endpoint") })
        .with_state(core);
    let ui = ServeDir::new(&dirs.ui).fallback(ServeFile::new(dirs.ui.join("index.html")));
    Router::new()
        .nest("/api", api)
        .nest_service("/illustrations", ServeDir::new(&dirs.illustrations))
        .route("/media/{sha256}", get(media).with_state(core_for_media))
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

// ---- the therapist's and the leader's views -------------------------------------------------

fn lang_of(q: &LangQuery) -> homerehab_shared::library::Lang {
    ops::lang(q.lang.as_deref())
}

async fn caseload(State(core): State<AppState>) -> Result<Json<Vec<api::CaseloadRow>>> {
    ops::caseload(&core).map(Json)
}

async fn citizens(State(core): State<AppState>) -> Result<Json<Vec<api::CitizenView>>> {
    ops::citizens(&core).map(Json)
}

async fn create_citizen(
    State(core): State<AppState>,
    Body(req): Body<api::NewCitizen>,
) -> Result<Json<api::CitizenView>> {
    ops::create_citizen(&core, req).map(Json)
}

async fn staff(State(core): State<AppState>) -> Result<Json<Vec<api::StaffMember>>> {
    ops::staff(&core).map(Json)
}

async fn templates(
    State(core): State<AppState>,
    Query(q): Query<LangQuery>,
) -> Result<Json<Vec<api::TemplateView>>> {
    ops::templates(&core, lang_of(&q)).map(Json)
}

async fn legal_bases(State(core): State<AppState>) -> Result<Json<api::LegalBases>> {
    ops::legal_bases(&core).map(Json)
}

async fn create_course(
    State(core): State<AppState>,
    Body(req): Body<api::NewCourse>,
) -> Result<Json<api::CourseCreated>> {
    ops::create_course(&core, req).map(Json)
}

async fn search_library(
    State(core): State<AppState>,
    q: std::result::Result<Query<api::LibraryQuery>, QueryRejection>,
) -> Result<Json<api::LibrarySearch>> {
    let Query(q) = q.map_err(|e| Error::invalid(e.body_text()))?;
    ops::search_library(&core, q).map(Json)
}

async fn program(
    State(core): State<AppState>,
    Path(course): Path<String>,
    Query(q): Query<LangQuery>,
) -> Result<Json<api::ProgramView>> {
    ops::program(&core, &course, lang_of(&q)).map(Json)
}

async fn save_program(
    State(core): State<AppState>,
    Path(course): Path<String>,
    Query(q): Query<LangQuery>,
    Body(req): Body<api::SaveProgram>,
) -> Result<Json<api::ProgramView>> {
    ops::save_program(&core, &course, req, lang_of(&q)).map(Json)
}

async fn history(
    State(core): State<AppState>,
    Path(course): Path<String>,
    Query(q): Query<LangQuery>,
) -> Result<Json<api::CourseHistory>> {
    ops::history(&core, &course, lang_of(&q)).map(Json)
}

async fn assessment_kinds(
    State(core): State<AppState>,
    Query(q): Query<LangQuery>,
) -> Result<Json<Vec<api::AssessmentKindView>>> {
    ops::assessment_kinds(&core, lang_of(&q)).map(Json)
}

async fn add_assessment(
    State(core): State<AppState>,
    Path(course): Path<String>,
    Query(q): Query<LangQuery>,
    Body(req): Body<api::NewAssessment>,
) -> Result<Json<api::AssessmentView>> {
    ops::add_assessment(&core, &course, req, lang_of(&q)).map(Json)
}

async fn overview(State(core): State<AppState>) -> Result<Json<api::TeamOverview>> {
    ops::overview(&core).map(Json)
}

// ---- the municipality's library and media ----------------------------------------------------

/// Largest photo or video the UI may upload through the local API.
const MAX_UPLOAD_BYTES: usize = 256 << 20;

async fn put_local_exercise(
    State(core): State<AppState>,
    Body(req): Body<api::LocalExerciseInput>,
) -> Result<Json<api::LocalItemSaved>> {
    ops::put_local_exercise(&core, req).map(Json)
}

async fn put_local_template(
    State(core): State<AppState>,
    Body(req): Body<api::LocalTemplateInput>,
) -> Result<Json<api::LocalItemSaved>> {
    ops::put_local_template(&core, req).map(Json)
}

async fn upload_media(
    State(core): State<AppState>,
    Path(exercise): Path<String>,
    q: std::result::Result<Query<api::MediaUploadQuery>, QueryRejection>,
    headers: axum::http::HeaderMap,
    body: axum::body::Bytes,
) -> Result<Json<api::MediaView>> {
    let Query(q) = q.map_err(|e| Error::invalid(e.body_text()))?;
    let content_type = headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    ops::upload_media(&core, &exercise, q, content_type, body.to_vec())
        .await
        .map(Json)
}

async fn set_course_status(
    State(core): State<AppState>,
    Path(course): Path<String>,
    Body(req): Body<api::CourseStatusChange>,
) -> Result<Json<api::Saved>> {
    ops::set_course_status(&core, &course, req).map(Json)
}

async fn withdraw_media(
    State(core): State<AppState>,
    Path(sha256): Path<String>,
) -> Result<Json<api::Saved>> {
    ops::withdraw_media(&core, &sha256).map(Json)
}

async fn media_status(State(core): State<AppState>) -> Result<Json<api::MediaStatus>> {
    ops::media_status(&core).map(Json)
}

async fn prefetch_media(State(core): State<AppState>) -> Result<Json<api::MediaStatus>> {
    ops::prefetch_media(&core).await.map(Json)
}

/// `GET /media/{sha256}`: a verified photo or video from the device (behind the app lock, like
/// the data; `Range` works for video seeking).
async fn media(
    State(core): State<AppState>,
    Path(sha256): Path<String>,
    req: Request,
) -> std::result::Result<axum::response::Response, Error> {
    use axum::http::{header, HeaderValue};
    let (path, content_type) = ops::media_file(&core, &sha256)?;
    let mut resp = ServeFile::new(path)
        .try_call(req)
        .await
        .map_err(|e| Error::not_found(e.to_string()))?
        .map(axum::body::Body::new);
    if let Ok(v) = HeaderValue::from_str(&content_type) {
        resp.headers_mut().insert(header::CONTENT_TYPE, v);
    }
    resp.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, no-store"),
    );
    Ok(resp)
}
