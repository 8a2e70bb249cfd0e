//! The only module that talks to the app. Every operation is declared once in
//! `homerehab_app_api::operations`; [`call`] takes its typed request and either [`Transport`]
//! carries it, so no page knows which one does:
//!
//! - in the Tauri shell (`window.__TAURI__` exists): `invoke("call", {operation, request})`,
//!   the shell's one command (`app/shell/src/commands.rs`);
//! - in a browser: JSON over HTTP to `homerehab-app` on loopback, same origin: the declared
//!   method and path with the path parameters filled in, the query's fields as the query
//!   string, the body as JSON, and the app's launch key in a header ([`adopt_launch_key`]).

use homerehab_app_api::*;
use serde::de::DeserializeOwned;
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

/// Where this tab keeps the launch key: `sessionStorage` is per origin, so per port, unlike
/// a cookie, which the browser sends to every port of the host (another user's server on
/// loopback too); and it ends with the tab.
const KEY_STORAGE: &str = "homerehab-key";

/// The header the launch key travels in (`homerehab_local_api::http::KEY_HEADER`).
const KEY_HEADER: &str = "x-homerehab-key";

/// Takes the launch key from the address the app printed (`/#key=…`; `?key=…` too), keeps it
/// in this tab's `sessionStorage` and takes it out of the address bar and the history. Called
/// once at start, before any call (a reload finds the key kept), and when the address's
/// fragment changes: the printed address opened in a tab already showing the app changes
/// only its fragment, which loads no page. Answers whether a key was found.
pub fn adopt_launch_key() -> bool {
    let Some(window) = web_sys::window() else {
        return false;
    };
    let location = window.location();
    let (hash, search) = (
        location.hash().unwrap_or_default(),
        location.search().unwrap_or_default(),
    );
    let key = [hash.strip_prefix('#'), search.strip_prefix('?')]
        .into_iter()
        .flatten()
        .flat_map(|params| params.split('&'))
        .find_map(|param| param.strip_prefix("key="))
        .map(str::to_string);
    let Some(key) = key else {
        return false;
    };
    if let Ok(Some(storage)) = window.session_storage() {
        let _ = storage.set_item(KEY_STORAGE, &key);
    }
    let path = location.pathname().unwrap_or_else(|_| "/".into());
    if let Ok(history) = window.history() {
        let _ = history.replace_state_with_url(&JsValue::NULL, "", Some(&path));
    }
    true
}

/// The launch key this tab was opened with, if any.
fn launch_key() -> Option<String> {
    web_sys::window()?
        .session_storage()
        .ok()??
        .get_item(KEY_STORAGE)
        .ok()?
}

/// A request to the local API, with the launch key.
fn keyed(req: gloo_net::http::RequestBuilder) -> gloo_net::http::RequestBuilder {
    match launch_key() {
        Some(key) => req.header(KEY_HEADER, &key),
        None => req,
    }
}

thread_local! {
    /// The media key ([`learn_media_key`]), for the media's addresses.
    static MEDIA_KEY: std::cell::RefCell<Option<String>> = const { std::cell::RefCell::new(None) };
}

/// Asks the local API for the media key, which the media's addresses carry: an `<img>` or
/// `<video>` cannot send the launch key's header (`GET /api/media-key`, browser only). Called
/// at start, before any page shows a photo.
pub async fn learn_media_key() {
    if matches!(transport(), Transport::Tauri) {
        return;
    }
    let req = keyed(gloo_net::http::Request::get("/api/media-key"))
        .send()
        .await;
    if let Ok(answer) = answer::<BrowserMediaKey>(req).await {
        MEDIA_KEY.with(|k| *k.borrow_mut() = Some(answer.media_key));
    }
}

/// An HTTP URL under `/api`: the path parameters fill `{name}` in the declared path, the
/// query's fields (those not `null`) become the query string. Not generic, so the wasm holds
/// it once rather than once per operation.
fn url_of(path: &str, params: Vec<(&'static str, String)>, query: Value) -> String {
    let mut path = format!("/api{path}");
    for (name, value) in params {
        path = path.replace(&format!("{{{name}}}"), &enc(&value));
    }
    let text = |value: &Value| match value {
        Value::String(s) => enc(s),
        other => enc(&other.to_string()),
    };
    let query: Vec<String> = match query {
        Value::Object(fields) => (fields.iter())
            .filter(|(_, v)| !v.is_null())
            .map(|(k, v)| format!("{k}={}", text(v)))
            .collect(),
        _ => vec![],
    };
    if !query.is_empty() {
        path.push('?');
        path.push_str(&query.join("&"));
    }
    path
}

fn failed(message: impl ToString) -> ApiError {
    ApiError {
        kind: ErrorKind::Internal,
        message: message.to_string(),
        attempts_left: None,
    }
}

/// Calls operation `O` (declared in `homerehab_app_api::operations`) with its request, over
/// whichever transport this page has. Only the (de)serialization is generic; the transports
/// carry JSON values.
pub async fn call<O: Operation>(request: O::Request) -> Result<O::Response, ApiError> {
    let answer = match transport() {
        Transport::Http => {
            let (params, query, body) = O::split(request);
            let query = serde_json::to_value(query).map_err(failed)?;
            let body = serde_json::to_value(body).map_err(failed)?;
            let url = url_of(O::PATH, params, query);
            http(O::METHOD, url, (!body.is_null()).then_some(body)).await?
        }
        Transport::Tauri => {
            let request = serde_json::to_value(request).map_err(failed)?;
            tauri(O::NAME, request).await?
        }
    };
    serde_json::from_value(answer).map_err(failed)
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

async fn http(method: Method, url: String, body: Option<Value>) -> Result<Value, ApiError> {
    use gloo_net::http::Request;
    let req = match (method, body) {
        (Method::Get, _) => keyed(Request::get(&url)).send().await,
        (Method::Post, Some(body)) => {
            keyed(Request::post(&url))
                .json(&body)
                .map_err(failed)?
                .send()
                .await
        }
        (Method::Post, None) => keyed(Request::post(&url)).send().await,
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

/// The shell's one command: `call(operation, request)`.
async fn tauri(operation: &str, request: Value) -> Result<Value, ApiError> {
    let mut args = Map::new();
    args.insert("operation".into(), Value::String(operation.into()));
    args.insert("request".into(), request);
    match tauri_invoke("call", to_js(&Value::Object(args))?).await {
        Ok(answer) => from_js(&answer).ok_or_else(|| failed("the app answered no JSON")),
        // The operation's `{kind, message}`, or Tauri's own message.
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
/// (`app/shell/src/media.rs`), addressed by Tauri's `convertFileSrc`; in a browser they carry
/// the media key ([`learn_media_key`]).
pub fn asset_url(path: &str) -> String {
    match (transport(), path.strip_prefix("/media/")) {
        (Transport::Tauri, Some(sha256)) => tauri_convert_file_src(sha256, "media"),
        (Transport::Http, Some(_)) => match MEDIA_KEY.with(|k| k.borrow().clone()) {
            Some(key) => format!("{path}?k={}", enc(&key)),
            None => path.to_string(),
        },
        _ => path.to_string(),
    }
}

// The pages' calls: each builds its operation's request (path, command and method come from
// the declaration). A new operation needs no wrapper: `call::<op::name::Op>(request)`.

const NO: NoQuery = NoQuery {};

fn lang_of(lang: &str) -> LangQuery {
    LangQuery::of(lang)
}

pub async fn me() -> Result<Option<Me>, ApiError> {
    call::<op::me::Op>(op::me::Request {
        query: NO,
        body: (),
    })
    .await
}

pub async fn login(username: String, password: String) -> Result<Me, ApiError> {
    let body = LoginRequest { username, password };
    call::<op::login::Op>(op::login::Request { query: NO, body }).await
}

/// Chooses the PIN (right after sign-in, or while unlocked).
pub async fn set_pin(pin: String) -> Result<Status, ApiError> {
    let body = PinRequest { pin };
    call::<op::set_pin::Op>(op::set_pin::Request { query: NO, body }).await
}

/// Opens the app; a wrong PIN is `wrong_pin` with `attempts_left`.
pub async fn unlock(pin: String) -> Result<Status, ApiError> {
    let body = PinRequest { pin };
    call::<op::unlock::Op>(op::unlock::Request { query: NO, body }).await
}

pub async fn lock() -> Result<Status, ApiError> {
    call::<op::lock::Op>(op::lock::Request {
        query: NO,
        body: (),
    })
    .await
}

/// The person used the app (a tap, a key): the idle lock counts from now.
pub async fn touch() -> Result<homerehab_app_api::LockState, ApiError> {
    call::<op::touch::Op>(op::touch::Request {
        query: NO,
        body: (),
    })
    .await
}

pub async fn status() -> Result<Status, ApiError> {
    call::<op::status::Op>(op::status::Request {
        query: NO,
        body: (),
    })
    .await
}

pub async fn sync_now() -> Result<Status, ApiError> {
    call::<op::sync_now::Op>(op::sync_now::Request {
        query: NO,
        body: (),
    })
    .await
}

pub async fn visits() -> Result<Vec<Visit>, ApiError> {
    call::<op::visits::Op>(op::visits::Request {
        query: NO,
        body: (),
    })
    .await
}

pub async fn course(course: &str, lang: &str) -> Result<CourseDetail, ApiError> {
    call::<op::course_detail::Op>(op::course_detail::Request {
        course: course.into(),
        query: lang_of(lang),
        body: (),
    })
    .await
}

pub async fn start_session(course: &str) -> Result<StartedSession, ApiError> {
    call::<op::start_session::Op>(op::start_session::Request {
        course: course.into(),
        query: NO,
        body: (),
    })
    .await
}

pub async fn log_set(
    course: &str,
    session: &str,
    body: LogSetRequest,
) -> Result<SetLogged, ApiError> {
    call::<op::log_set::Op>(op::log_set::Request {
        course: course.into(),
        session: session.into(),
        query: NO,
        body,
    })
    .await
}

pub async fn record_feedback(
    course: &str,
    session: &str,
    body: FeedbackRequest,
) -> Result<Saved, ApiError> {
    call::<op::record_feedback::Op>(op::record_feedback::Request {
        course: course.into(),
        session: session.into(),
        query: NO,
        body,
    })
    .await
}

pub async fn finish_session(
    course: &str,
    session: &str,
    body: FinishRequest,
) -> Result<SessionSummary, ApiError> {
    call::<op::finish_session::Op>(op::finish_session::Request {
        course: course.into(),
        session: session.into(),
        query: NO,
        body,
    })
    .await
}

/// A session's summary (no page asks for a past one yet).
#[allow(dead_code)]
pub async fn session_summary(course: &str, session: &str) -> Result<SessionSummary, ApiError> {
    call::<op::session_summary::Op>(op::session_summary::Request {
        course: course.into(),
        session: session.into(),
        query: NO,
        body: (),
    })
    .await
}

pub async fn not_carried_out(
    course: &str,
    body: NotCarriedOutRequest,
) -> Result<SessionSummary, ApiError> {
    call::<op::not_carried_out::Op>(op::not_carried_out::Request {
        course: course.into(),
        query: NO,
        body,
    })
    .await
}

// ---- therapist and leader ------------------------------------------------------------------

pub async fn caseload() -> Result<Vec<CaseloadRow>, ApiError> {
    call::<op::caseload::Op>(op::caseload::Request {
        query: NO,
        body: (),
    })
    .await
}

pub async fn citizens() -> Result<Vec<CitizenView>, ApiError> {
    call::<op::citizens::Op>(op::citizens::Request {
        query: NO,
        body: (),
    })
    .await
}

pub async fn create_citizen(body: NewCitizen) -> Result<CitizenView, ApiError> {
    call::<op::create_citizen::Op>(op::create_citizen::Request { query: NO, body }).await
}

pub async fn staff() -> Result<Vec<StaffMember>, ApiError> {
    call::<op::staff::Op>(op::staff::Request {
        query: NO,
        body: (),
    })
    .await
}

pub async fn templates(lang: &str) -> Result<Vec<TemplateView>, ApiError> {
    let query = lang_of(lang);
    call::<op::templates::Op>(op::templates::Request { query, body: () }).await
}

pub async fn legal_bases() -> Result<LegalBases, ApiError> {
    call::<op::legal_bases::Op>(op::legal_bases::Request {
        query: NO,
        body: (),
    })
    .await
}

pub async fn create_course(body: NewCourse) -> Result<CourseCreated, ApiError> {
    call::<op::create_course::Op>(op::create_course::Request { query: NO, body }).await
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
    call::<op::search_library::Op>(op::search_library::Request { query, body: () }).await
}

/// The citizen's copy of the program, to print.
pub async fn program_sheet(course: &str, lang: &str) -> Result<ProgramSheet, ApiError> {
    call::<op::program_sheet::Op>(op::program_sheet::Request {
        course: course.into(),
        query: lang_of(lang),
        body: (),
    })
    .await
}

pub async fn program(course: &str, lang: &str) -> Result<ProgramView, ApiError> {
    call::<op::program::Op>(op::program::Request {
        course: course.into(),
        query: lang_of(lang),
        body: (),
    })
    .await
}

pub async fn save_program(course: &str, body: SaveProgram) -> Result<ProgramView, ApiError> {
    call::<op::save_program::Op>(op::save_program::Request {
        course: course.into(),
        query: LangQuery::default(),
        body,
    })
    .await
}

pub async fn history(course: &str, lang: &str) -> Result<CourseHistory, ApiError> {
    call::<op::history::Op>(op::history::Request {
        course: course.into(),
        query: lang_of(lang),
        body: (),
    })
    .await
}

pub async fn assessment_kinds(lang: &str) -> Result<Vec<AssessmentKindView>, ApiError> {
    let query = lang_of(lang);
    call::<op::assessment_kinds::Op>(op::assessment_kinds::Request { query, body: () }).await
}

pub async fn add_assessment(course: &str, body: NewAssessment) -> Result<AssessmentView, ApiError> {
    call::<op::add_assessment::Op>(op::add_assessment::Request {
        course: course.into(),
        query: LangQuery::default(),
        body,
    })
    .await
}

pub async fn set_course_status(course: &str, body: CourseStatusChange) -> Result<Saved, ApiError> {
    call::<op::set_course_status::Op>(op::set_course_status::Request {
        course: course.into(),
        query: NO,
        body,
    })
    .await
}

pub async fn overview() -> Result<TeamOverview, ApiError> {
    call::<op::overview::Op>(op::overview::Request {
        query: NO,
        body: (),
    })
    .await
}

// ---- the municipality's own library and media ------------------------------------------------
// Uploading a photo or video is not an operation: its body is the file's bytes, not JSON
// (`POST /api/library/exercises/{exercise}/media?file_name=..&owner=..`, see
// `homerehab_app_api::MediaUploadQuery`). A program line's media are `/media/<sha256>`
// (`asset_url`), served only once verified on the device.

pub async fn put_local_exercise(body: LocalExerciseInput) -> Result<LocalItemSaved, ApiError> {
    call::<op::put_local_exercise::Op>(op::put_local_exercise::Request { query: NO, body }).await
}

pub async fn put_local_template(body: LocalTemplateInput) -> Result<LocalItemSaved, ApiError> {
    call::<op::put_local_template::Op>(op::put_local_template::Request { query: NO, body }).await
}

pub async fn withdraw_media(sha256: &str) -> Result<Saved, ApiError> {
    call::<op::withdraw_media::Op>(op::withdraw_media::Request {
        sha256: sha256.into(),
        query: NO,
        body: (),
    })
    .await
}

pub async fn media_status() -> Result<MediaStatus, ApiError> {
    call::<op::media_status::Op>(op::media_status::Request {
        query: NO,
        body: (),
    })
    .await
}

pub async fn prefetch_media() -> Result<MediaStatus, ApiError> {
    call::<op::prefetch_media::Op>(op::prefetch_media::Request {
        query: NO,
        body: (),
    })
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
    let req = keyed(gloo_net::http::Request::post(&url))
        .header("Content-Type", &content_type)
        .body(wasm_bindgen::JsValue::from(file))
        .map_err(failed)?;
    answer(req.send().await).await
}

// #11 intake: referral, screening, care time ---------------------------------------------------

pub async fn import_care_time(body: ImportCareTime) -> Result<ImportReport, ApiError> {
    call::<op::import_care_time::Op>(op::import_care_time::Request { query: NO, body }).await
}

pub async fn add_care_grant(citizen: &str, body: NewCareGrant) -> Result<Saved, ApiError> {
    call::<op::add_care_grant::Op>(op::add_care_grant::Request {
        citizen: citizen.into(),
        query: NO,
        body,
    })
    .await
}

pub async fn record_care_ended(citizen: &str, date: String) -> Result<Saved, ApiError> {
    call::<op::record_care_ended::Op>(op::record_care_ended::Request {
        citizen: citizen.into(),
        query: NO,
        body: CareEnded { date },
    })
    .await
}

// #11 intake end

// #14 devices
/// The staff's devices, from the server.
/// A citizen's access report, from the server's audit log.
pub async fn access_report(citizen: &str) -> Result<AccessReportView, ApiError> {
    call::<op::access_report::Op>(op::access_report::Request {
        citizen: citizen.into(),
        query: NO,
        body: (),
    })
    .await
}

/// One file of the municipality's BI feed for `from`–`to`, from the server (online only).
pub async fn bi_export(table: &str, from: String, to: String) -> Result<BiExportFile, ApiError> {
    call::<op::bi_export::Op>(op::bi_export::Request {
        table: table.into(),
        query: BiExportQuery { from, to },
        body: (),
    })
    .await
}

pub async fn devices() -> Result<Vec<DeviceRow>, ApiError> {
    call::<op::devices::Op>(op::devices::Request {
        query: NO,
        body: (),
    })
    .await
}

/// Revokes a device with a reason (the device shows it after erasing its data).
pub async fn revoke_device(device: &str, reason: String) -> Result<DeviceRow, ApiError> {
    call::<op::revoke_device::Op>(op::revoke_device::Request {
        device: device.into(),
        query: NO,
        body: RevokeDeviceRequest { reason },
    })
    .await
}

/// Ends every sign-in of a user on the server.
pub async fn sign_out_everywhere(user: &str) -> Result<SignedOutEverywhere, ApiError> {
    call::<op::sign_out_everywhere::Op>(op::sign_out_everywhere::Request {
        user: user.into(),
        query: NO,
        body: (),
    })
    .await
}

pub async fn retention() -> Result<RetentionView, ApiError> {
    call::<op::retention::Op>(op::retention::Request {
        query: NO,
        body: (),
    })
    .await
}

pub async fn set_retention(years: RetentionYears) -> Result<RetentionView, ApiError> {
    call::<op::set_retention::Op>(op::set_retention::Request {
        query: NO,
        body: years,
    })
    .await
}

pub async fn retention_due() -> Result<RetentionDueView, ApiError> {
    call::<op::retention_due::Op>(op::retention_due::Request {
        query: NO,
        body: (),
    })
    .await
}

pub async fn erase_citizen(
    citizen: &str,
    reason: &str,
    force: bool,
) -> Result<ErasureReceiptView, ApiError> {
    call::<op::erase_citizen::Op>(op::erase_citizen::Request {
        citizen: citizen.into(),
        query: NO,
        body: EraseCitizenBody {
            reason: reason.into(),
            force,
        },
    })
    .await
}

/// Signs out on this device (and ends the sign-in on the server).
pub async fn sign_out() -> Result<Status, ApiError> {
    call::<op::sign_out::Op>(op::sign_out::Request {
        query: NO,
        body: (),
    })
    .await
}
// #14 devices end
