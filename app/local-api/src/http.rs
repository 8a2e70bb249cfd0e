//! The router: one generic route per operation declared in `homerehab_app_api::operations`
//! (its method and path under `/api`), which assembles the request from the path parameters,
//! the query string and the JSON body and hands it to the service's checked [`Core::call`].
//! Written by hand, because their bodies are bytes rather than JSON: the photo/video upload,
//! `GET /media/{sha256}`, the illustrations and the built UI.
//!
//! Only loopback is meant to reach it, and only from a page it served itself
//! ([`loopback_only`]): a request naming another host (a web page whose own name was made to
//! resolve to 127.0.0.1, "DNS rebinding") is refused, and so is a change (any method but
//! GET/HEAD) sent from another origin, even one that needs no body. It enables no CORS, and
//! JSON bodies must carry `Content-Type: application/json`.
//!
//! Loopback is shared by every process and every user of the machine (a municipality's
//! terminal server has dozens), so the API and the media also need the app's [`LaunchKey`]
//! ([`opened_with_key`]): a secret made at start and shown only in the address the app
//! prints (`/#key=…`: a fragment, never sent in a request). The page keeps it in its tab's
//! `sessionStorage` and sends it in [`KEY_HEADER`], as a program does. Not in a cookie:
//! cookies are per host, not per port, so the browser would send it to every other program
//! on loopback (another user's web server on 127.0.0.1:9000 included). An `<img>` or
//! `<video>` cannot send a header, so the media also open with the media key in their address
//! (`/media/{sha256}?k=…`, [`MEDIA_KEY_PATH`]): derived one way from the launch key (so the
//! same across a restart with a launcher's fixed key), it opens the media and nothing else. The UI's own files and the library's drawings hold no one's data and need no
//! key.

use crate::error::{Error, Result};
use crate::ops;
use axum::extract::rejection::QueryRejection;
use axum::extract::{FromRequest, Path, Query, Request, State};
use axum::http::{header, HeaderValue};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, on, post, MethodFilter};
use axum::{Json, Router};
use homerehab_app_api::{self as api, Method, Operation, Visitor};
use homerehab_app_service::Core;
use homerehab_shared::net::is_loopback_host;
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use tower_http::services::{ServeDir, ServeFile};

type AppState = Arc<Core>;

/// The header the page and programs send the launch key in.
pub const KEY_HEADER: &str = "x-homerehab-key";

/// Where the page asks for the media key (`GET`, with the launch key):
/// [`homerehab_app_api::BrowserMediaKey`].
pub const MEDIA_KEY_PATH: &str = "/api/media-key";

/// The query parameter of a media address that carries the media key.
const MEDIA_KEY_PARAM: &str = "k";

/// The secret that says a request comes from the person who started the app (see the
/// module's comment).
#[derive(Clone)]
pub struct LaunchKey(Arc<str>);

impl std::fmt::Debug for LaunchKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LaunchKey(…)")
    }
}

impl LaunchKey {
    /// A new key: 32 random bytes as hex.
    pub fn random() -> LaunchKey {
        let bytes: [u8; 32] = rand::random();
        LaunchKey(
            bytes
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect::<String>()
                .into(),
        )
    }

    /// A key given by whoever starts the app (a launcher, a test): at least 32 characters of
    /// letters, digits, `-` and `_` (it travels in an address and a header).
    pub fn given(key: &str) -> Option<LaunchKey> {
        let fits = key.len() >= 32
            && key
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        fits.then(|| LaunchKey(key.into()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The media key of this launch key: one way (SHA-256 of a label and the key), so a media
    /// address copied out of the page does not give the launch key.
    fn media_key(&self) -> LaunchKey {
        use sha2::{Digest, Sha256};
        let digest = Sha256::new()
            .chain_update(b"homerehab media key\0")
            .chain_update(self.0.as_bytes())
            .finalize();
        LaunchKey(hex::encode(digest).into())
    }

    /// Compared in time that does not depend on where they differ.
    fn opens(&self, offered: &[u8]) -> bool {
        let key = self.0.as_bytes();
        key.len() == offered.len()
            && key.iter().zip(offered).fold(0u8, |d, (a, b)| d | (a ^ b)) == 0
    }
}

/// The keys made at start: the launch key opens the API and the media, the media key only
/// the media (see the module's comment).
#[derive(Clone, Debug)]
struct AppKeys {
    launch: LaunchKey,
    media: LaunchKey,
}

/// Whether the request carries the launch key in [`KEY_HEADER`].
fn carries_key(key: &LaunchKey, headers: &axum::http::HeaderMap) -> bool {
    headers
        .get(KEY_HEADER)
        .is_some_and(|v| key.opens(v.as_bytes()))
}

/// The names of the cookies that earlier versions of the app kept the launch key in
/// (`homerehab-key-<port>`), among those the browser sent.
fn stale_key_cookies(headers: &axum::http::HeaderMap) -> Vec<String> {
    let mut names: Vec<String> = headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|c| c.trim().split_once('=').map(|(n, _)| n.trim()))
        .filter(|n| {
            n.strip_prefix("homerehab-key")
                .is_some_and(|rest| rest.is_empty() || rest.starts_with('-'))
        })
        .filter(|n| n.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'))
        .map(str::to_string)
        .collect();
    names.sort();
    names.dedup();
    names
}

/// The value of `name` in a query string.
fn query_param<'q>(query: &'q str, name: &str) -> Option<&'q str> {
    query
        .split('&')
        .filter_map(|p| p.split_once('='))
        .find(|(n, _)| *n == name)
        .map(|(_, v)| v)
}

/// The API and the media: the paths that answer with someone's data.
fn holds_data(path: &str) -> bool {
    path == "/api" || path.starts_with("/api/") || is_media(path)
}

fn is_media(path: &str) -> bool {
    path == "/media" || path.starts_with("/media/")
}

/// Whether a read of a photo or video carries the media key in its address.
fn opens_media(keys: &AppKeys, req: &Request) -> bool {
    let read = matches!(
        *req.method(),
        axum::http::Method::GET | axum::http::Method::HEAD
    );
    read && is_media(req.uri().path())
        && req
            .uri()
            .query()
            .and_then(|q| query_param(q, MEDIA_KEY_PARAM))
            .is_some_and(|k| keys.media.opens(k.as_bytes()))
}

/// Asks for the launch key on the API and the media, or the media key on the media (see the
/// module's comment).
async fn opened_with_key(State(keys): State<AppKeys>, req: Request, next: Next) -> Response {
    if !holds_data(req.uri().path()) {
        let stale = stale_key_cookies(req.headers());
        let mut resp = next.run(req).await;
        for name in stale {
            // The key the app once kept in a cookie: the browser would go on sending it to
            // every loopback port (a launcher's fixed key still opens the app).
            let clear = format!("{name}=; Max-Age=0; Path=/; HttpOnly; SameSite=Strict");
            if let Ok(v) = HeaderValue::from_str(&clear) {
                resp.headers_mut().append(header::SET_COOKIE, v);
            }
        }
        return resp;
    }
    if carries_key(&keys.launch, req.headers()) || opens_media(&keys, &req) {
        return next.run(req).await;
    }
    tracing::warn!("refused a request without the app's launch key");
    Error(homerehab_app_api::ApiError {
        kind: homerehab_app_api::ErrorKind::LaunchKey,
        message: "open Homerehab from the address it showed when it started (it holds the app's \
                  key); this page was not"
            .into(),
        attempts_left: None,
    })
    .into_response()
}

/// Where the static files are.
#[derive(Clone, Debug)]
pub struct Dirs {
    /// The built UI (`app/ui/dist`); `index.html` answers every path it does not have.
    pub ui: PathBuf,
    /// The library's SVGs (`assets/illustrations`).
    pub illustrations: PathBuf,
}

/// Adds each declared operation's route.
struct Routes(Router<AppState>);

impl Visitor for Routes {
    fn visit<O: Operation>(&mut self) {
        let method = match O::METHOD {
            Method::Get => MethodFilter::GET,
            Method::Post => MethodFilter::POST,
        };
        let routes = std::mem::take(&mut self.0);
        let route = on(method, operation::<O>);
        // A care record system's export is a file, not a form: 100,000 lines are ≈ 4 MB.
        let route = if O::NAME == <api::op::import_care_time::Op as Operation>::NAME {
            route.layer(axum::extract::DefaultBodyLimit::max(MAX_IMPORT_BYTES))
        } else {
            route
        };
        self.0 = routes.route(O::PATH, route);
    }
}

pub fn app(core: Arc<Core>, dirs: &Dirs, key: LaunchKey) -> Router {
    let keys = AppKeys {
        media: key.media_key(),
        launch: key,
    };
    let core_for_media = core.clone();
    let mut routes = Routes(Router::new());
    api::for_each(&mut routes);
    let media_key = keys.media.clone();
    let api = routes
        .0
        .route(
            MEDIA_KEY_PATH.trim_start_matches("/api"),
            get(move || async move {
                Json(api::BrowserMediaKey {
                    media_key: media_key.as_str().to_string(),
                })
            }),
        )
        // Bytes, not JSON: see the module's comment.
        .route(
            "/library/exercises/{exercise}/media",
            post(upload_media).layer(axum::extract::DefaultBodyLimit::max(MAX_UPLOAD_BYTES)),
        )
        .fallback(|| async { Error::not_found("no such API endpoint") })
        .with_state(core)
        // Names, addresses and notes: never in the browser's disk cache, where the store's
        // encryption does not reach.
        .layer(tower_http::set_header::SetResponseHeaderLayer::overriding(
            header::CACHE_CONTROL,
            HeaderValue::from_static("no-store"),
        ));
    let ui = ServeDir::new(&dirs.ui).fallback(ServeFile::new(dirs.ui.join("index.html")));
    Router::new()
        .nest("/api", api)
        .nest_service("/illustrations", ServeDir::new(&dirs.illustrations))
        .route("/media/{sha256}", get(media).with_state(core_for_media))
        .fallback_service(ui)
        .layer(axum::middleware::from_fn_with_state(keys, opened_with_key))
        .layer(axum::middleware::from_fn(loopback_only))
        // The media key is in media addresses: no page's address goes anywhere else.
        .layer(tower_http::set_header::SetResponseHeaderLayer::overriding(
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        ))
}

/// Whether an `Origin` header is this app's own page: the scheme and exactly the host and
/// port the request was sent to. Any loopback port is not enough: another program on the
/// machine (another user's web server on 127.0.0.1:9000) serves pages of the same site.
fn is_own_origin(origin: &HeaderValue, host: Option<&HeaderValue>) -> bool {
    let (Ok(origin), Some(Ok(host))) = (origin.to_str(), host.map(|h| h.to_str())) else {
        return false;
    };
    origin
        .strip_prefix("http://")
        .is_some_and(|o| o.eq_ignore_ascii_case(host) && is_loopback_host(o))
}

/// Whether the browser says the request came from another page than this app's own:
/// `Sec-Fetch-Site` is `same-origin` for the app's page and `none` for an address typed or
/// opened by the launcher; `same-site` is another port of loopback, `cross-site` the web.
fn from_another_page(headers: &axum::http::HeaderMap) -> bool {
    headers
        .get("sec-fetch-site")
        .is_some_and(|v| !matches!(v.as_bytes(), b"same-origin" | b"none"))
}

/// Refuses what a web page elsewhere could send to this loopback port (see the module's
/// comment). A request without a Host header (not from a browser) passes the first check.
pub async fn loopback_only(req: Request, next: Next) -> Response {
    let headers = req.headers();
    let host_ok = headers
        .get(header::HOST)
        .is_none_or(|h| h.to_str().is_ok_and(is_loopback_host));
    let changes = !matches!(
        *req.method(),
        axum::http::Method::GET | axum::http::Method::HEAD
    );
    let data = holds_data(req.uri().path());
    // A read of the API from another page cannot read the answer (no CORS), but a read is
    // looked up in the access log and keeps the app from locking: refused like a change.
    let cross_site = (changes || data)
        && (headers
            .get(header::ORIGIN)
            .is_some_and(|o| !is_own_origin(o, headers.get(header::HOST)))
            || from_another_page(headers));
    if !host_ok || cross_site {
        tracing::warn!(
            host_ok,
            cross_site,
            "refused a request not from a page this app served"
        );
        let e = homerehab_app_service::Error::Forbidden(
            "only the app's own page on this machine may use its API".into(),
        );
        return Error::from(e).into_response();
    }
    next.run(req).await
}

/// Any declared operation: the path parameters, the query (`O::Query`) and, when the
/// operation takes one, the JSON body (`O::Body`; an operation without a body ignores what is
/// sent, as before) make its request.
async fn operation<O: Operation>(
    State(core): State<AppState>,
    path: Option<Path<HashMap<String, String>>>,
    req: Request,
) -> Result<Json<O::Response>> {
    let mut params = path.map(|Path(p)| p).unwrap_or_default();
    let Query(query) = Query::<O::Query>::try_from_uri(req.uri())
        .map_err(|e: QueryRejection| Error::invalid(e.body_text()))?;
    let body = match serde_json::from_value::<O::Body>(serde_json::Value::Null) {
        Ok(none) => none,
        Err(_) => {
            Json::<O::Body>::from_request(req, &())
                .await
                .map_err(|e| Error::invalid(e.body_text()))?
                .0
        }
    };
    let request = O::assemble(&mut |name| params.remove(name), query, body)
        .ok_or_else(|| Error::invalid("a path parameter is missing"))?;
    Ok(Json(core.call::<O>(request).await?))
}

// ---- the municipality's library and media ----------------------------------------------------

/// Largest care-time file the import takes (as JSON): room for several 100,000-line files.
const MAX_IMPORT_BYTES: usize = 64 << 20;

/// Largest photo or video the UI may upload through the local API.
const MAX_UPLOAD_BYTES: usize = 256 << 20;

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
    core.permit(api::Needs::Capability(api::Capability::EditLibrary))?;
    let saved = ops::upload_media(&core, &exercise, q, content_type, body).await?;
    Ok(Json(saved))
}

/// `GET /media/{sha256}`: a verified photo or video from the device (behind the app lock, like
/// the data; `Range` works for video seeking).
async fn media(
    State(core): State<AppState>,
    Path(sha256): Path<String>,
    req: Request,
) -> std::result::Result<axum::response::Response, Error> {
    use axum::http::{header, HeaderValue, StatusCode};
    // The file is encrypted at rest, so `Range` is answered here: only the records a range
    // needs are decrypted, off the async threads and without holding the store, and a range
    // is answered in parts of at most `ops::MAX_MEDIA_RANGE`.
    let range_header = req
        .headers()
        .get(header::RANGE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let part = tokio::task::spawn_blocking(move || {
        ops::media_part(&core, &sha256, |total| {
            ops::media_range(range_header.as_deref(), total)
        })
    })
    .await
    .map_err(|e| Error::from(homerehab_app_service::Error::Internal(e.to_string())))??;
    let (total, range, bytes, content_type) =
        (part.total, part.range, part.bytes, part.content_type);
    let mut resp = match range {
        None => (StatusCode::OK, bytes).into_response(),
        Some(Some((start, end))) => {
            let mut r = (StatusCode::PARTIAL_CONTENT, bytes).into_response();
            if let Ok(v) = HeaderValue::from_str(&format!("bytes {start}-{end}/{total}")) {
                r.headers_mut().insert(header::CONTENT_RANGE, v);
            }
            r
        }
        Some(None) => {
            let mut r = StatusCode::RANGE_NOT_SATISFIABLE.into_response();
            if let Ok(v) = HeaderValue::from_str(&format!("bytes */{total}")) {
                r.headers_mut().insert(header::CONTENT_RANGE, v);
            }
            return Ok(r);
        }
    };
    resp.headers_mut()
        .insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    if let Ok(v) = HeaderValue::from_str(&content_type) {
        resp.headers_mut().insert(header::CONTENT_TYPE, v);
    }
    resp.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, no-store"),
    );
    Ok(resp)
}
