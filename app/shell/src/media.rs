//! The `media:` protocol: a verified photo or video from the device's store, as
//! `homerehab-app` serves `/media/<sha256>` (the UI's `asset_url` turns one into the other
//! with Tauri's `convertFileSrc`). Behind the app lock like the data. A `Range` is answered as
//! the local API answers it (`ops::media_range`: at most 4 MiB a part), so a video is decrypted
//! and held a part at a time as it plays, not whole in the tablet's memory.

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
    let range = request
        .headers()
        .get(header::RANGE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    // Off the UI thread: the file may be a video.
    tauri::async_runtime::spawn_blocking(move || {
        let core = app.state::<Core>();
        // Decrypted in memory, the range asked only: the file on disk is encrypted (#14).
        let part = ops::media_part(&core, &sha256, |total| {
            ops::media_range(range.as_deref(), total)
        });
        responder.respond(answer(part));
    });
}

fn answer(found: Result<ops::MediaPart>) -> Response<Vec<u8>> {
    let response = match found {
        Ok(part) => {
            let builder = Response::builder()
                .header(header::CONTENT_TYPE, part.content_type)
                .header(header::ACCEPT_RANGES, "bytes")
                .header(header::CACHE_CONTROL, "private, no-store");
            match part.range {
                None => builder.body(part.bytes),
                Some(Some((start, end))) => builder
                    .status(StatusCode::PARTIAL_CONTENT)
                    .header(
                        header::CONTENT_RANGE,
                        format!("bytes {start}-{end}/{}", part.total),
                    )
                    .body(part.bytes),
                Some(None) => builder
                    .status(StatusCode::RANGE_NOT_SATISFIABLE)
                    .header(header::CONTENT_RANGE, format!("bytes */{}", part.total))
                    .body(Vec::new()),
            }
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn part(range: Option<Option<(u64, u64)>>, bytes: &[u8]) -> Result<ops::MediaPart> {
        Ok(ops::MediaPart {
            total: 10 << 20,
            range,
            bytes: bytes.to_vec(),
            content_type: "video/mp4".into(),
        })
    }

    /// A player's ranged request gets its part with where it lies, as the local API answers.
    #[test]
    fn a_range_is_answered_as_a_part_of_the_whole() {
        let whole = answer(part(None, b"abc"));
        assert_eq!(whole.status(), StatusCode::OK);
        assert_eq!(whole.headers()[header::ACCEPT_RANGES], "bytes");
        let first = answer(part(Some(Some((0, 2))), b"abc"));
        assert_eq!(first.status(), StatusCode::PARTIAL_CONTENT);
        assert_eq!(first.headers()[header::CONTENT_RANGE], "bytes 0-2/10485760");
        assert_eq!(first.body(), b"abc");
        let past = answer(part(Some(None), b""));
        assert_eq!(past.status(), StatusCode::RANGE_NOT_SATISFIABLE);
        assert_eq!(past.headers()[header::CONTENT_RANGE], "bytes */10485760");
    }
}
