//! The only module that talks to the app core. Every operation is one [`Call`]: a Tauri
//! command name, an HTTP method + path, its named arguments and its body, so either
//! [`Transport`] can carry it and no page knows which one does:
//!
//! - in the Tauri shell (`window.__TAURI__` exists): `invoke(command, {args…, body})`, answered
//!   by the `#[tauri::command]` of that name in `app/shell/src/commands.rs`;
//! - in a browser: JSON over HTTP to `homerehab-app` on loopback, same origin. An argument
//!   named in the path (`/courses/{course}`) is put there, the others go to the query string.
//!
//! Adding an operation: `Call::get("cmd", "/path/{arg}".into()).arg("arg", v)` (or `post`
//! with a body) here, the route in `app/local-api/src/http.rs`, and the command in
//! `app/shell/src/commands.rs` (the shell's test checks the names match).

use homerehab_app_api::*;
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::{Map, Value};
use wasm_bindgen::prelude::*;

/// How calls reach the app core.
#[derive(Clone, Copy, Debug)]
enum Transport {
    /// `homerehab-app`'s local HTTP API, same origin as the page.
    Http,
    /// The Tauri shell's commands (`window.__TAURI__.core.invoke`).
    Tauri,
}

fn transport() -> Transport {
    // `app.withGlobalTauri` puts `__TAURI__` on the window before the page's scripts run.
    let tauri = web_sys::window()
        .and_then(|w| js_sys::Reflect::get(&w, &JsValue::from_str("__TAURI__")).ok())
        .is_some_and(|t| !t.is_undefined() && !t.is_null());
    if tauri {
        Transport::Tauri
    } else {
        Transport::Http
    }
}

#[wasm_bindgen]
extern "C" {
    /// Tauri's `invoke`; `catch`, so a failing command is an `Err` (its `{kind, message}`),
    /// not a panic.
    #[wasm_bindgen(js_namespace = ["window", "__TAURI__", "core"], js_name = invoke, catch)]
    async fn tauri_invoke(command: &str, args: JsValue) -> Result<JsValue, JsValue>;

    /// Tauri's URL of a custom protocol's resource (`media://localhost/<path>` on Linux).
    #[wasm_bindgen(js_namespace = ["window", "__TAURI__", "core"], js_name = convertFileSrc)]
    fn tauri_convert_file_src(path: &str, protocol: &str) -> String;
}

#[derive(Clone, Copy)]
enum Method {
    Get,
    Post,
}

/// One operation, described for every transport.
struct Call {
    /// The Tauri command (`start_session`).
    command: &'static str,
    method: Method,
    /// The HTTP path under `/api`; `{name}` stands for the argument `name`.
    path: String,
    /// Named arguments (`course`, `session`, `lang`…): Tauri command arguments; over HTTP
    /// path segments or query parameters (an object's fields are query parameters).
    args: Map<String, Value>,
    /// The request: the command's `body` argument; the HTTP JSON body.
    body: Option<Value>,
}

impl Call {
    fn get(command: &'static str, path: String) -> Self {
        Call {
            command,
            method: Method::Get,
            path,
            args: Map::new(),
            body: None,
        }
    }

    fn post(command: &'static str, path: String, body: Option<impl Serialize>) -> Self {
        Call {
            command,
            method: Method::Post,
            path,
            args: Map::new(),
            body: body.map(|b| serde_json::to_value(b).expect("DTOs serialize")),
        }
    }

    /// A named argument; `None` is left out.
    fn arg(mut self, name: &str, value: impl Serialize) -> Self {
        let value = serde_json::to_value(value).expect("arguments serialize");
        if !value.is_null() {
            self.args.insert(name.to_string(), value);
        }
        self
    }

    /// `/api` + the path with its arguments filled in + the other arguments as the query.
    fn url(&self) -> String {
        let mut path = format!("/api{}", self.path);
        let mut query = Vec::new();
        let text = |value: &Value| match value {
            Value::String(s) => enc(s),
            other => enc(&other.to_string()),
        };
        for (name, value) in &self.args {
            let slot = format!("{{{name}}}");
            match value {
                _ if path.contains(&slot) => path = path.replace(&slot, &text(value)),
                // A query object (`LibraryQuery`): its fields are the parameters.
                Value::Object(fields) => query.extend(
                    (fields.iter())
                        .filter(|(_, v)| !v.is_null())
                        .map(|(k, v)| format!("{k}={}", text(v))),
                ),
                _ => query.push(format!("{name}={}", text(value))),
            }
        }
        if !query.is_empty() {
            path.push(if path.contains('?') { '&' } else { '?' });
            path.push_str(&query.join("&"));
        }
        path
    }
}

fn failed(message: impl ToString) -> ApiError {
    ApiError {
        kind: ErrorKind::Internal,
        message: message.to_string(),
        attempts_left: None,
    }
}

async fn call<T: DeserializeOwned>(c: Call) -> Result<T, ApiError> {
    match transport() {
        Transport::Http => http(c).await,
        Transport::Tauri => tauri(c).await,
    }
}

/// An answer of the local HTTP API as the DTO, or its `ApiError`.
async fn answer<T: DeserializeOwned>(
    resp: Result<gloo_net::http::Response, gloo_net::Error>,
) -> Result<T, ApiError> {
    let resp = resp.map_err(|e| failed(format!("the app did not answer: {e}")))?;
    if resp.ok() {
        resp.json::<T>().await.map_err(failed)
    } else {
        Err(resp
            .json::<ApiError>()
            .await
            .unwrap_or_else(|_| failed(format!("the app answered {}", resp.status()))))
    }
}

async fn http<T: DeserializeOwned>(c: Call) -> Result<T, ApiError> {
    use gloo_net::http::Request;
    let url = c.url();
    let req = match (c.method, c.body) {
        (Method::Get, _) => Request::get(&url).send().await,
        (Method::Post, Some(body)) => {
            Request::post(&url)
                .json(&body)
                .map_err(failed)?
                .send()
                .await
        }
        (Method::Post, None) => Request::post(&url).send().await,
    };
    answer(req).await
}

/// JSON text → JS value and back: the DTOs cross the boundary as JSON, as over HTTP.
fn to_js(value: &Value) -> Result<JsValue, ApiError> {
    js_sys::JSON::parse(&value.to_string()).map_err(|_| failed("arguments are not JSON"))
}

fn from_js(value: &JsValue) -> Option<Value> {
    if value.is_undefined() {
        return Some(Value::Null);
    }
    let text: String = js_sys::JSON::stringify(value).ok()?.into();
    serde_json::from_str(&text).ok()
}

async fn tauri<T: DeserializeOwned>(c: Call) -> Result<T, ApiError> {
    let mut args = c.args;
    if let Some(body) = c.body {
        args.insert("body".into(), body);
    }
    match tauri_invoke(c.command, to_js(&Value::Object(args))?).await {
        Ok(answer) => {
            let value = from_js(&answer).ok_or_else(|| failed("the app answered no JSON"))?;
            serde_json::from_value(value).map_err(failed)
        }
        // The command's `{kind, message}`, or Tauri's own message (e.g. a missing argument).
        Err(e) => Err(from_js(&e)
            .and_then(|v| serde_json::from_value::<ApiError>(v).ok())
            .unwrap_or_else(|| failed(e.as_string().unwrap_or_else(|| format!("{e:?}"))))),
    }
}

fn enc(s: &str) -> String {
    js_sys::encode_uri_component(s).into()
}

/// Where an illustration or photo named by the app core can be loaded from. Illustrations
/// (`/illustrations/x.svg`) have the same path in both transports: `homerehab-app` serves the
/// library's folder, and trunk copies it into the built UI that the Tauri shell embeds. The
/// device's media (`/media/<sha256>`) come from the shell's `media:` protocol
/// (`app/shell/src/media.rs`), addressed by Tauri's `convertFileSrc`.
pub fn asset_url(path: &str) -> String {
    match (transport(), path.strip_prefix("/media/")) {
        (Transport::Tauri, Some(sha256)) => tauri_convert_file_src(sha256, "media"),
        _ => path.to_string(),
    }
}

pub async fn me() -> Result<Option<Me>, ApiError> {
    call(Call::get("me", "/me".into())).await
}

pub async fn login(username: String, password: String) -> Result<Me, ApiError> {
    let req = LoginRequest { username, password };
    call(Call::post("login", "/login".into(), Some(req))).await
}

/// Chooses the PIN (right after sign-in, or while unlocked).
pub async fn set_pin(pin: String) -> Result<Status, ApiError> {
    call(Call::post(
        "set_pin",
        "/pin".into(),
        Some(PinRequest { pin }),
    ))
    .await
}

/// Opens the app; a wrong PIN is `wrong_pin` with `attempts_left`.
pub async fn unlock(pin: String) -> Result<Status, ApiError> {
    call(Call::post(
        "unlock",
        "/unlock".into(),
        Some(PinRequest { pin }),
    ))
    .await
}

pub async fn lock() -> Result<Status, ApiError> {
    call(Call::post("lock", "/lock".into(), None::<()>)).await
}

pub async fn status() -> Result<Status, ApiError> {
    call(Call::get("status", "/status".into())).await
}

pub async fn sync_now() -> Result<Status, ApiError> {
    call(Call::post("sync_now", "/sync".into(), None::<()>)).await
}

pub async fn visits() -> Result<Vec<Visit>, ApiError> {
    call(Call::get("visits", "/visits".into())).await
}

pub async fn course(course: &str, lang: &str) -> Result<CourseDetail, ApiError> {
    let c = Call::get("course_detail", "/courses/{course}".into());
    call(c.arg("course", course).arg("lang", lang)).await
}

pub async fn start_session(course: &str) -> Result<StartedSession, ApiError> {
    let c = Call::post(
        "start_session",
        "/courses/{course}/sessions".into(),
        None::<()>,
    );
    call(c.arg("course", course)).await
}

pub async fn log_set(
    course: &str,
    session: &str,
    req: LogSetRequest,
) -> Result<SetLogged, ApiError> {
    let path = "/courses/{course}/sessions/{session}/sets".into();
    let c = Call::post("log_set", path, Some(req));
    call(c.arg("course", course).arg("session", session)).await
}

pub async fn record_feedback(
    course: &str,
    session: &str,
    req: FeedbackRequest,
) -> Result<Saved, ApiError> {
    let path = "/courses/{course}/sessions/{session}/feedback".into();
    let c = Call::post("record_feedback", path, Some(req));
    call(c.arg("course", course).arg("session", session)).await
}

pub async fn finish_session(
    course: &str,
    session: &str,
    req: FinishRequest,
) -> Result<SessionSummary, ApiError> {
    let path = "/courses/{course}/sessions/{session}/finish".into();
    let c = Call::post("finish_session", path, Some(req));
    call(c.arg("course", course).arg("session", session)).await
}

/// A session's summary (no page asks for a past one yet).
#[allow(dead_code)]
pub async fn session_summary(course: &str, session: &str) -> Result<SessionSummary, ApiError> {
    let c = Call::get(
        "session_summary",
        "/courses/{course}/sessions/{session}".into(),
    );
    call(c.arg("course", course).arg("session", session)).await
}

pub async fn not_carried_out(
    course: &str,
    req: NotCarriedOutRequest,
) -> Result<SessionSummary, ApiError> {
    let path = "/courses/{course}/not-carried-out".into();
    call(Call::post("not_carried_out", path, Some(req)).arg("course", course)).await
}

// ---- therapist and leader ------------------------------------------------------------------

pub async fn caseload() -> Result<Vec<CaseloadRow>, ApiError> {
    call(Call::get("caseload", "/caseload".into())).await
}

pub async fn citizens() -> Result<Vec<CitizenView>, ApiError> {
    call(Call::get("citizens", "/citizens".into())).await
}

pub async fn create_citizen(req: NewCitizen) -> Result<CitizenView, ApiError> {
    call(Call::post("create_citizen", "/citizens".into(), Some(req))).await
}

pub async fn staff() -> Result<Vec<StaffMember>, ApiError> {
    call(Call::get("staff", "/staff".into())).await
}

pub async fn templates(lang: &str) -> Result<Vec<TemplateView>, ApiError> {
    call(Call::get("templates", "/templates".into()).arg("lang", lang)).await
}

pub async fn legal_bases() -> Result<LegalBases, ApiError> {
    call(Call::get("legal_bases", "/legal-bases".into())).await
}

pub async fn create_course(req: NewCourse) -> Result<CourseCreated, ApiError> {
    call(Call::post("create_course", "/courses".into(), Some(req))).await
}

/// Over HTTP the query's fields are the query string (`?q=..&position=..`).
pub async fn search_library(q: &LibraryQuery) -> Result<LibrarySearch, ApiError> {
    // An empty filter means any: leave it out.
    let set = |v: &Option<String>| v.clone().filter(|v| !v.is_empty());
    let query = LibraryQuery {
        q: q.q.clone(),
        position: set(&q.position),
        equipment: set(&q.equipment),
        body_area: set(&q.body_area),
        category: set(&q.category),
        lang: set(&q.lang),
    };
    call(Call::get("search_library", "/library".into()).arg("query", query)).await
}

pub async fn program(course: &str, lang: &str) -> Result<ProgramView, ApiError> {
    let c = Call::get("program", "/courses/{course}/program".into());
    call(c.arg("course", course).arg("lang", lang)).await
}

pub async fn save_program(course: &str, req: SaveProgram) -> Result<ProgramView, ApiError> {
    let path = "/courses/{course}/program".into();
    call(Call::post("save_program", path, Some(req)).arg("course", course)).await
}

pub async fn history(course: &str, lang: &str) -> Result<CourseHistory, ApiError> {
    let c = Call::get("history", "/courses/{course}/history".into());
    call(c.arg("course", course).arg("lang", lang)).await
}

pub async fn assessment_kinds(lang: &str) -> Result<Vec<AssessmentKindView>, ApiError> {
    let c = Call::get("assessment_kinds", "/assessment-kinds".into());
    call(c.arg("lang", lang)).await
}

pub async fn add_assessment(course: &str, req: NewAssessment) -> Result<AssessmentView, ApiError> {
    let path = "/courses/{course}/assessments".into();
    call(Call::post("add_assessment", path, Some(req)).arg("course", course)).await
}

pub async fn set_course_status(course: &str, req: CourseStatusChange) -> Result<Saved, ApiError> {
    let path = "/courses/{course}/status".into();
    call(Call::post("set_course_status", path, Some(req)).arg("course", course)).await
}

pub async fn overview() -> Result<TeamOverview, ApiError> {
    call(Call::get("overview", "/overview".into())).await
}

// ---- the municipality's own library and media ------------------------------------------------
// Uploading a photo or video is not a `Call`: its body is the file's bytes, not JSON
// (`POST /api/library/exercises/{exercise}/media?file_name=..&owner=..`, see
// `homerehab_app_api::MediaUploadQuery`). A program line's media are `/media/<sha256>`
// (`asset_url`), served only once verified on the device.

pub async fn put_local_exercise(req: LocalExerciseInput) -> Result<LocalItemSaved, ApiError> {
    let c = Call::post("put_local_exercise", "/library/exercises".into(), Some(req));
    call(c).await
}

pub async fn put_local_template(req: LocalTemplateInput) -> Result<LocalItemSaved, ApiError> {
    let c = Call::post("put_local_template", "/library/templates".into(), Some(req));
    call(c).await
}

pub async fn withdraw_media(sha256: &str) -> Result<Saved, ApiError> {
    let path = "/library/media/{sha256}/withdraw".into();
    call(Call::post("withdraw_media", path, None::<()>).arg("sha256", sha256)).await
}

pub async fn media_status() -> Result<MediaStatus, ApiError> {
    call(Call::get("media_status", "/media/status".into())).await
}

pub async fn prefetch_media() -> Result<MediaStatus, ApiError> {
    call(Call::post(
        "prefetch_media",
        "/media/prefetch".into(),
        None::<()>,
    ))
    .await
}

/// Uploads a photo or video for a municipality exercise: the file's bytes as the body, the
/// rights and consent in the query. Browser transport only (the Tauri commands take JSON).
pub async fn upload_media(
    exercise: &str,
    q: &MediaUploadQuery,
    file: web_sys::File,
) -> Result<MediaView, ApiError> {
    if matches!(transport(), Transport::Tauri) {
        return Err(failed(
            "Upload of photos and videos works in the browser version for now.",
        ));
    }
    let mut url = format!(
        "/api/library/exercises/{}/media?file_name={}&owner={}&shows_person={}",
        enc(exercise),
        enc(&q.file_name),
        enc(&q.owner),
        q.shows_person
    );
    for (key, value) in [
        ("consent_who", &q.consent_who),
        ("consent_date", &q.consent_date),
        ("consent_scope", &q.consent_scope),
    ] {
        if let Some(v) = value.as_deref().filter(|v| !v.is_empty()) {
            url.push_str(&format!("&{key}={}", enc(v)));
        }
    }
    let content_type = file.type_();
    let req = gloo_net::http::Request::post(&url)
        .header("Content-Type", &content_type)
        .body(wasm_bindgen::JsValue::from(file))
        .map_err(failed)?;
    answer(req.send().await).await
}
