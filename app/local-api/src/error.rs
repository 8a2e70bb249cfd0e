//! The local API's error: the service's `{kind, message}` with its HTTP status. The status of
//! each [`ErrorKind`] is decided here and nowhere else.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use homerehab_app_api::{ApiError, ErrorKind};
use homerehab_app_service::Error as ServiceError;

/// What every endpoint fails with; answered as `{kind, message}` with [`status`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error(pub ApiError);

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn invalid(message: impl Into<String>) -> Self {
        ServiceError::invalid(message).into()
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        ServiceError::not_found(message).into()
    }

    pub fn kind(&self) -> ErrorKind {
        self.0.kind
    }

    pub fn status(&self) -> StatusCode {
        status(self.0.kind)
    }
}

/// The HTTP status of an error kind.
pub fn status(kind: ErrorKind) -> StatusCode {
    match kind {
        ErrorKind::Invalid => StatusCode::UNPROCESSABLE_ENTITY,
        ErrorKind::NotSignedIn
        | ErrorKind::SignIn
        | ErrorKind::DeviceRevoked
        | ErrorKind::LaunchKey => StatusCode::UNAUTHORIZED,
        ErrorKind::TooManyAttempts => StatusCode::TOO_MANY_REQUESTS,
        ErrorKind::Busy => StatusCode::SERVICE_UNAVAILABLE,
        ErrorKind::NotFound => StatusCode::NOT_FOUND,
        ErrorKind::Offline => StatusCode::SERVICE_UNAVAILABLE,
        ErrorKind::Server => StatusCode::BAD_GATEWAY,
        ErrorKind::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        ErrorKind::Locked => StatusCode::LOCKED,
        ErrorKind::WrongPin | ErrorKind::Forbidden => StatusCode::FORBIDDEN,
    }
}

impl From<ServiceError> for Error {
    fn from(e: ServiceError) -> Self {
        Error(e.to_api())
    }
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        if self.0.kind == ErrorKind::Internal {
            // The message names no citizen data: core errors describe the store, not its rows.
            tracing::error!(message = %self.0.message, "request failed");
        }
        (self.status(), axum::Json(self.0)).into_response()
    }
}
