//! The only module that talks to the app core. Every operation is one [`Call`]: a Tauri
//! command name and an HTTP method + path, so one [`Transport`] or the other can carry it.
//! Today there is the browser transport (JSON over HTTP to `homerehab-app` on loopback); the
//! Tauri transport (`window.__TAURI__.core.invoke(command, args)`) is added here later, and no
//! page changes.

use homerehab_app_api::*;
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;

/// How calls reach the app core.
#[derive(Clone, Copy, Debug)]
enum Transport {
    /// `homerehab-app`'s local HTTP API, same origin as the page.
    Http,
}

fn transport() -> Transport {
    Transport::Http
}

#[derive(Clone, Copy)]
enum Method {
    Get,
    Post,
}

/// One operation, described for every transport.
struct Call {
    /// The Tauri command this will be (`start_session`); unused by the HTTP transport.
    #[allow(dead_code)]
    command: &'static str,
    method: Method,
    path: String,
    body: Option<Value>,
}

impl Call {
    fn get(command: &'static str, path: String) -> Self {
        Call {
            command,
            method: Method::Get,
            path,
            body: None,
        }
    }
    fn post(command: &'static str, path: String, body: Option<impl Serialize>) -> Self {
        Call {
            command,
            method: Method::Post,
            path,
            body: body.map(|b| serde_json::to_value(b).expect("DTOs serialize")),
        }
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
    }
}

async fn http<T: DeserializeOwned>(c: Call) -> Result<T, ApiError> {
    use gloo_net::http::Request;
    let url = format!("/api{}", c.path);
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
    let resp = req.map_err(|e| failed(format!("the app did not answer: {e}")))?;
    if resp.ok() {
        resp.json::<T>().await.map_err(failed)
    } else {
        Err(resp
            .json::<ApiError>()
            .await
            .unwrap_or_else(|_| failed(format!("the app answered {}", resp.status()))))
    }
}

/// Where an illustration named by the app core can be loaded from.
pub fn asset_url(path: &str) -> String {
    match transport() {
        Transport::Http => path.to_string(),
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
    call(Call::get(
        "course_detail",
        format!("/courses/{course}?lang={lang}"),
    ))
    .await
}

pub async fn start_session(course: &str) -> Result<StartedSession, ApiError> {
    let path = format!("/courses/{course}/sessions");
    call(Call::post("start_session", path, None::<()>)).await
}

pub async fn log_set(
    course: &str,
    session: &str,
    req: LogSetRequest,
) -> Result<SetLogged, ApiError> {
    let path = format!("/courses/{course}/sessions/{session}/sets");
    call(Call::post("log_set", path, Some(req))).await
}

pub async fn record_feedback(
    course: &str,
    session: &str,
    req: FeedbackRequest,
) -> Result<Saved, ApiError> {
    let path = format!("/courses/{course}/sessions/{session}/feedback");
    call(Call::post("record_feedback", path, Some(req))).await
}

pub async fn finish_session(
    course: &str,
    session: &str,
    req: FinishRequest,
) -> Result<SessionSummary, ApiError> {
    let path = format!("/courses/{course}/sessions/{session}/finish");
    call(Call::post("finish_session", path, Some(req))).await
}

pub async fn not_carried_out(
    course: &str,
    req: NotCarriedOutRequest,
) -> Result<SessionSummary, ApiError> {
    let path = format!("/courses/{course}/not-carried-out");
    call(Call::post("not_carried_out", path, Some(req))).await
}
