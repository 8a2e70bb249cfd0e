//! The `media:` protocol: a verified photo or video from the device's store, as
//! `homerehab-app` serves `/media/<sha256>` (the UI's `asset_url` turns one into the other
//! with Tauri's `convertFileSrc`). Behind the app lock like the data. Answers the whole file
//! (no `Range`).

use homerehab_app_api::ErrorKind;
use homerehab_app_service::{ops, Core, Result};
use tauri::http::{header, Request, Response, StatusCode};
use tauri::{Manager, Runtime, UriSchemeContext, UriSchemeResponder};

/// `media://localhost/<sha256>` (`http://media.localhost/<sha256>` on Windows and Android).
pub const SCHEME: &str = "media";

pub fn serve<R: Runtime>(
    ctx: UriSchemeContext<'_, R>,
    request: Request<Vec<u8>>,
    responder: UriSchemeResponder,
) {
    let app = ctx.app_handle().clone();
    let sha256 = request.uri().path().trim_start_matches('/').to_string();
    // Off the UI thread: the file may be a video.
    tauri::async_runtime::spawn_blocking(move || {
        let core = app.state::<Core>();
        responder.respond(answer(read(&core, &sha256)));
    });
}

fn read(core: &Core, sha256: &str) -> Result<(Vec<u8>, String)> {
    // Decrypted in memory: the file on disk is encrypted (issue #14).
    ops::media_file(core, sha256)
}

fn answer(found: Result<(Vec<u8>, String)>) -> Response<Vec<u8>> {
    let response = match found {
        Ok((bytes, content_type)) => Response::builder()
            .header(header::CONTENT_TYPE, content_type)
            .header(header::CACHE_CONTROL, "private, no-store")
            .body(bytes),
        Err(e) => Response::builder()
            .status(status(e.kind()))
            .header(header::CONTENT_TYPE, "text/plain")
            .body(e.to_string().into_bytes()),
    };
    response.unwrap_or_else(|_| Response::new(Vec::new()))
}

/// The few answers a media request can get (the local API's `error::status` maps every kind;
/// the shell does not link it).
fn status(kind: ErrorKind) -> StatusCode {
    match kind {
        ErrorKind::NotFound => StatusCode::NOT_FOUND,
        ErrorKind::Locked => StatusCode::LOCKED,
        ErrorKind::NotSignedIn => StatusCode::UNAUTHORIZED,
        ErrorKind::Invalid => StatusCode::UNPROCESSABLE_ENTITY,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    }
}
