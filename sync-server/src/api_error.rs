//! The HTTP face of the server's errors: [`ApiError`], what a handler or extractor answers,
//! and how an [`Error`] maps to a status. Its own module so that the handlers ([`crate::http`])
//! and the bearer-token extractor ([`crate::auth`]) both use it without needing each other.

use crate::error::Error;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use homerehab_shared::sync::wire::WireError;

/// Every error a handler returns; answered as JSON `{"error": kind, "message": text}`.
#[derive(Debug)]
pub enum ApiError {
    /// 400: the body is not valid JSON or not a sync message.
    BadRequest { kind: &'static str, message: String },
    /// 400 (`unsupported_protocol`): a sync message of another protocol version; the
    /// `homerehab-sync-protocol` header names the server's, so the app can tell whether it or
    /// the server is behind.
    UnsupportedProtocol(String),
    /// 401: no token, an unknown or expired one, or a wrong password.
    Unauthorized(&'static str),
    /// 401 (`device_revoked`): the token's device was revoked; the notice says by whom and why,
    /// in the body's message and in the `homerehab-device-revoked` header.
    DeviceRevoked(homerehab_shared::api::RevokeNotice),
    /// 403: authenticated, but not allowed.
    Forbidden(String),
    /// 404: nothing there for this user.
    NotFound(String),
    /// 409: the request is understood and allowed, but the state forbids it now (an erasure
    /// the law does not allow yet); `kind` says which rule.
    Conflict { kind: &'static str, message: String },
    /// 413: the body exceeds the limit, compressed or decompressed.
    PayloadTooLarge(String),
    /// 429: too many wrong passwords for this username; `Retry-After` says when to try again.
    TooManyRequests { retry_after_s: u64 },
    /// 503: every password worker is busy and the sign-in queue is full; `Retry-After: 1`.
    Busy,
    /// 503: the device has `in_flight::REQUESTS_PER_DEVICE` requests in flight already; this
    /// one's body was not read; `Retry-After: 1`.
    DeviceBusy,
    /// 503: a document of the sync kept changing under it (other syncs of the same documents
    /// won every retry); nothing was stored; `Retry-After: 1`.
    Contended,
    /// 503: no database connection could be had in time (the database is down or every
    /// connection busy), the database closed the one used, or SQLite's lock was not had
    /// within its busy timeout; logged here; `Retry-After: 5`.
    Unavailable(Error),
    /// 500: logged here, never sent.
    Internal(Error),
}

impl ApiError {
    /// From a body extractor's rejection, keeping its 413.
    pub(crate) fn body(status: StatusCode, message: String) -> ApiError {
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
        if e.is_database_busy() {
            return ApiError::Unavailable(e);
        }
        match e {
            Error::Wire(WireError::Version(_)) => ApiError::UnsupportedProtocol(e.to_string()),
            Error::Wire(WireError::TooLarge(_)) => ApiError::PayloadTooLarge(e.to_string()),
            Error::Wire(_) => ApiError::BadRequest {
                kind: "malformed",
                message: e.to_string(),
            },
            Error::Invalid(message) => ApiError::BadRequest {
                kind: "invalid",
                message,
            },
            Error::ActorTaken | Error::ActorReserved | Error::DeviceTaken => {
                ApiError::Forbidden(e.to_string())
            }
            Error::DocumentMoved(_) => ApiError::Contended,
            // No connection in time, or one the database closed or is ending (restarted,
            // shutting down): the pool drops that connection, the next one is fresh.
            Error::Pool(_) | Error::DatabaseUnavailable(_) => ApiError::Unavailable(e),
            Error::MediaTooLarge(_) => ApiError::PayloadTooLarge(e.to_string()),
            Error::MediaQuotaFull(_) => ApiError::Conflict {
                kind: "media_quota_full",
                message: e.to_string(),
            },
            Error::MediaMismatch => ApiError::BadRequest {
                kind: "hash_mismatch",
                message: e.to_string(),
            },
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
            ApiError::NotFound(m) => (StatusCode::NOT_FOUND, "not_found", m),
            ApiError::Conflict { kind, message } => (StatusCode::CONFLICT, kind, message),
            ApiError::PayloadTooLarge(m) => (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large", m),
            ApiError::TooManyRequests { retry_after_s } => {
                let body = Json(homerehab_shared::api::ErrorBody {
                    error: "too_many_attempts".into(),
                    message: format!(
                        "too many wrong passwords; try again in {} minutes",
                        retry_after_s.div_ceil(60)
                    ),
                });
                let retry = [(header::RETRY_AFTER, retry_after_s.to_string())];
                return (StatusCode::TOO_MANY_REQUESTS, retry, body).into_response();
            }
            ApiError::DeviceRevoked(notice) => {
                let body = Json(homerehab_shared::api::ErrorBody {
                    error: homerehab_shared::api::DEVICE_REVOKED_ERROR.into(),
                    message: notice.sentence(),
                });
                let headers = [
                    (header::WWW_AUTHENTICATE, "Bearer".to_string()),
                    (
                        header::HeaderName::from_static(
                            homerehab_shared::api::DEVICE_REVOKED_HEADER,
                        ),
                        notice.to_header(),
                    ),
                ];
                return (StatusCode::UNAUTHORIZED, headers, body).into_response();
            }
            ApiError::Contended => {
                let body = Json(homerehab_shared::api::ErrorBody {
                    error: "busy".into(),
                    message: "others are syncing the same documents; nothing was stored, try \
                              again in a moment"
                        .into(),
                });
                let retry = [(header::RETRY_AFTER, "1")];
                return (StatusCode::SERVICE_UNAVAILABLE, retry, body).into_response();
            }
            ApiError::UnsupportedProtocol(message) => {
                let body = Json(homerehab_shared::api::ErrorBody {
                    error: homerehab_shared::api::UNSUPPORTED_PROTOCOL.into(),
                    message,
                });
                let speaks = [(
                    header::HeaderName::from_static(homerehab_shared::api::SYNC_PROTOCOL_HEADER),
                    homerehab_shared::sync::PROTOCOL_VERSION.to_string(),
                )];
                return (StatusCode::BAD_REQUEST, speaks, body).into_response();
            }
            ApiError::Busy => {
                let body = Json(homerehab_shared::api::ErrorBody {
                    error: "busy".into(),
                    message: "the server is busy signing others in; try again in a moment".into(),
                });
                let retry = [(header::RETRY_AFTER, "1")];
                return (StatusCode::SERVICE_UNAVAILABLE, retry, body).into_response();
            }
            ApiError::DeviceBusy => {
                let body = Json(homerehab_shared::api::ErrorBody {
                    error: "busy".into(),
                    message: format!(
                        "this device has {} requests in progress already; try again when they \
                         are answered",
                        crate::in_flight::REQUESTS_PER_DEVICE
                    ),
                });
                let retry = [(header::RETRY_AFTER, "1")];
                return (StatusCode::SERVICE_UNAVAILABLE, retry, body).into_response();
            }
            ApiError::Unavailable(e) => {
                tracing::error!(error = %e, "database unavailable");
                let body = Json(homerehab_shared::api::ErrorBody {
                    error: "unavailable".into(),
                    message: "the server's database is busy or cannot be reached; try again \
                              in a moment"
                        .into(),
                });
                let retry = [(header::RETRY_AFTER, "5")];
                return (StatusCode::SERVICE_UNAVAILABLE, retry, body).into_response();
            }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn status(e: Error) -> StatusCode {
        ApiError::from(e).into_response().status()
    }

    #[test]
    fn a_busy_sqlite_is_a_503_to_try_again_not_a_500() {
        for code in [rusqlite::ffi::SQLITE_BUSY, rusqlite::ffi::SQLITE_LOCKED] {
            let busy = Error::Db(rusqlite::Error::SqliteFailure(
                rusqlite::ffi::Error::new(code),
                Some("database is locked".into()),
            ));
            assert!(busy.is_database_busy());
            let response = ApiError::from(busy).into_response();
            assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
            assert!(response.headers().contains_key(header::RETRY_AFTER));
        }
        // Any other database fault stays the server's own.
        let full = Error::Db(rusqlite::Error::SqliteFailure(
            rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_FULL),
            None,
        ));
        assert!(!full.is_database_busy());
        assert_eq!(status(full), StatusCode::INTERNAL_SERVER_ERROR);
    }

    #[test]
    fn a_token_check_that_found_the_database_busy_is_a_503_too() {
        let busy = Error::Db(rusqlite::Error::SqliteFailure(
            rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_BUSY),
            None,
        ));
        let response = crate::auth::AuthRejection::Internal(busy).into_response();
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert!(response.headers().contains_key(header::RETRY_AFTER));
    }
}
