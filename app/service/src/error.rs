//! The one error of the app service. Every transport answers it as its [`ApiError`]
//! (`{kind, message}`); the HTTP status of each kind is the local API's business.

use homerehab_app_api::{ApiError, ErrorKind};
use homerehab_core::error::CoreError;
use homerehab_shared::docs::SchemaError;

/// What every operation fails with.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The request itself is malformed (bad id, value out of range).
    #[error("{0}")]
    Invalid(String),
    /// What was asked for is not on this device.
    #[error("{0}")]
    NotFound(String),
    /// The signed-in person may not do this.
    #[error("{0}")]
    Forbidden(String),
    /// The device itself failed (an answer that would not serialize).
    #[error("{0}")]
    Internal(String),
    /// The app core failed or refused.
    #[error(transparent)]
    Core(#[from] CoreError),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn invalid(message: impl Into<String>) -> Self {
        Error::Invalid(message.into())
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Error::NotFound(message.into())
    }

    pub fn forbidden(message: impl Into<String>) -> Self {
        Error::Forbidden(message.into())
    }

    /// A server's refusal of a request the app forwarded (evidence, device registry): its
    /// message is the answer, under the app's own kind of error.
    pub fn refused_by_server(e: CoreError) -> Self {
        match e {
            CoreError::Server {
                status: 400,
                message,
            } => Error::Invalid(message),
            CoreError::Server {
                status: 403,
                message,
            } => Error::Forbidden(message),
            CoreError::Server {
                status: 404,
                message,
            } => Error::NotFound(message),
            e => Error::Core(e),
        }
    }

    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::Invalid(_) => ErrorKind::Invalid,
            Error::NotFound(_) => ErrorKind::NotFound,
            Error::Forbidden(_) => ErrorKind::Forbidden,
            Error::Internal(_) => ErrorKind::Internal,
            Error::Core(e) => match e {
                CoreError::NotFound(_) => ErrorKind::NotFound,
                CoreError::NotSignedIn | CoreError::SignInRequired => ErrorKind::NotSignedIn,
                CoreError::InvalidPin | CoreError::NoPin => ErrorKind::Invalid,
                CoreError::Locked => ErrorKind::Locked,
                CoreError::WrongPin { .. } => ErrorKind::WrongPin,
                CoreError::SignIn(_) | CoreError::SealedForOthers | CoreError::SignInExpired(_) => {
                    ErrorKind::SignIn
                }
                CoreError::SignInThrottled(_) => ErrorKind::TooManyAttempts,
                CoreError::Busy(_) => ErrorKind::Busy,
                CoreError::Offline(_) => ErrorKind::Offline,
                CoreError::Server { .. }
                | CoreError::UpdateRequired(_)
                | CoreError::ServerBehind(_) => ErrorKind::Server,
                CoreError::DeviceRevoked(_) => ErrorKind::DeviceRevoked,
                CoreError::Schema(SchemaError::Invalid(_)) => ErrorKind::Invalid,
                CoreError::Schema(SchemaError::NotFound(_)) => ErrorKind::NotFound,
                // Database, damaged documents, protocol trouble and whatever the core adds
                // later: the device itself failed.
                _ => ErrorKind::Internal,
            },
        }
    }

    /// As every transport answers it: `{kind, message}` (+ `attempts_left` for `wrong_pin`).
    pub fn to_api(&self) -> ApiError {
        ApiError {
            kind: self.kind(),
            message: self.to_string(),
            attempts_left: match self {
                Error::Core(CoreError::WrongPin { attempts_left }) => Some(*attempts_left),
                _ => None,
            },
        }
    }
}

/// Two errors are equal when they answer the same `{kind, message}`.
impl PartialEq for Error {
    fn eq(&self, other: &Self) -> bool {
        self.to_api() == other.to_api()
    }
}

impl From<Error> for ApiError {
    fn from(e: Error) -> Self {
        e.to_api()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn core_errors_keep_their_kind_and_a_wrong_pin_its_attempts() {
        let e = Error::from(CoreError::WrongPin { attempts_left: 3 }).to_api();
        assert_eq!((e.kind, e.attempts_left), (ErrorKind::WrongPin, Some(3)));
        assert_eq!(Error::from(CoreError::Locked).kind(), ErrorKind::Locked);
        let e = Error::forbidden("no").to_api();
        assert_eq!((e.kind, e.message.as_str()), (ErrorKind::Forbidden, "no"));
    }
}
