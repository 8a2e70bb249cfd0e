//! The one error of the local API: an [`ApiError`] (`{kind, message}`) with its HTTP status.
//! Core errors are translated here and nowhere else.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use homerehab_app_api::{ApiError, ErrorKind};
use homerehab_core::error::CoreError;
use homerehab_shared::docs::SchemaError;

/// What every operation fails with; serializes as `{kind, message}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error(pub ApiError);

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Error(ApiError {
            kind,
            message: message.into(),
            attempts_left: None,
        })
    }

    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Invalid, message)
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::NotFound, message)
    }

    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Forbidden, message)
    }

    pub fn kind(&self) -> ErrorKind {
        self.0.kind
    }

    /// The HTTP status of this error (also the Tauri shell's `media:` protocol answers it).
    pub fn status(&self) -> StatusCode {
        match self.0.kind {
            ErrorKind::Invalid => StatusCode::UNPROCESSABLE_ENTITY,
            ErrorKind::NotSignedIn | ErrorKind::SignIn => StatusCode::UNAUTHORIZED,
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
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?}: {}", self.0.kind, self.0.message)
    }
}

impl std::error::Error for Error {}

/// As its [`ApiError`] (`{kind, message}`): what the Tauri commands answer when they fail, the
/// same JSON the HTTP transport sends.
impl serde::Serialize for Error {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(serializer)
    }
}

impl From<CoreError> for Error {
    fn from(e: CoreError) -> Self {
        let kind = match &e {
            CoreError::NotFound(_) => ErrorKind::NotFound,
            CoreError::NotSignedIn | CoreError::SignInRequired => ErrorKind::NotSignedIn,
            CoreError::InvalidPin | CoreError::NoPin => ErrorKind::Invalid,
            CoreError::Locked => ErrorKind::Locked,
            CoreError::WrongPin { .. } => ErrorKind::WrongPin,
            CoreError::SignIn(_) => ErrorKind::SignIn,
            CoreError::SignInThrottled(_) => ErrorKind::TooManyAttempts,
            CoreError::SignInBusy(_) => ErrorKind::Busy,
            CoreError::Offline(_) => ErrorKind::Offline,
            CoreError::Server { .. } => ErrorKind::Server,
            CoreError::Schema(SchemaError::Invalid(_)) => ErrorKind::Invalid,
            CoreError::Schema(SchemaError::NotFound(_)) => ErrorKind::NotFound,
            // Database, damaged documents, protocol trouble and whatever the core adds later:
            // the device itself failed.
            _ => ErrorKind::Internal,
        };
        let mut error = Error::new(kind, e.to_string());
        if let CoreError::WrongPin { attempts_left } = e {
            error.0.attempts_left = Some(attempts_left);
        }
        error
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
