use homerehab_shared::docs::SchemaError;

/// Everything the app core can fail with, phrased for the person holding the tablet.
#[derive(Debug, thiserror::Error)]
pub enum CoreError {
    #[error("the local database could not be used: {0}")]
    Database(#[from] rusqlite::Error),
    #[error(
        "the local database is damaged or is not a Homerehab database ({0}); it was left untouched"
    )]
    Corrupt(String),
    /// Another process (or another open store in this one) holds the data folder.
    #[error("this data folder is in use by another Homerehab process{}; close it first", pid.map(|p| format!(" (pid {p})")).unwrap_or_default())]
    InUse { pid: Option<u32> },
    #[error("the data folder could not be used: {0}")]
    Folder(String),
    /// Stored bytes that cannot be read; they are kept, never deleted.
    #[error(
        "stored data is damaged and was kept aside: {0}; export it with `homerehab export-support`"
    )]
    Damaged(String),
    #[error("the local database could not be upgraded: {0}")]
    Migration(#[from] rusqlite_migration::Error),
    /// The data on the device was written by a newer app (an update taken back): it is not
    /// damaged, and must not be reset; the newest app opens it.
    #[error("this app is older than the data on this device ({0}); install the newest version of the app — nothing on this device was changed or deleted")]
    AppTooOld(String),
    #[error("a stored document could not be read: {0}")]
    Document(String),
    #[error(transparent)]
    Schema(#[from] SchemaError),
    #[error("{0} was not found on this device")]
    NotFound(String),
    #[error("not signed in on this device")]
    NotSignedIn,
    #[error("the server could not be reached: {0}")]
    Offline(String),
    #[error("the server refused the request ({status}): {message}")]
    Server { status: u16, message: String },
    #[error("sign-in failed: {0}")]
    SignIn(String),
    /// The server refuses sign-in for a while after repeated wrong passwords.
    #[error("too many wrong passwords; try again later: {0}")]
    SignInThrottled(String),
    /// The server answered 503: busy (signing others in, others syncing the same documents)
    /// or without its database. It stored nothing; trying again in a moment helps.
    #[error("the server is busy; nothing was lost, try again in a moment: {0}")]
    Busy(String),
    /// The server does not speak this app's sync protocol (a server upgraded past it): the
    /// app must be updated to sync. Its work stays on the device.
    #[error("the server needs a newer app to sync; update the app (nothing on this device was lost): {0}")]
    UpdateRequired(String),
    /// The server speaks an older sync protocol than this app: it is upgraded after the app
    /// (a rolling upgrade). Nothing for the user to do; the next sync after the server's
    /// upgrade goes through. Its work stays on the device.
    #[error("the server is being updated to this app's version; nothing on this device was lost, it syncs once the server is updated: {0}")]
    ServerBehind(String),
    #[error("the exercise library could not be read: {0}")]
    Library(String),
    #[error("the server's answer could not be read: {0}")]
    Protocol(String),
    #[error("a PIN is 4–6 digits")]
    InvalidPin,
    #[error("wrong PIN: {attempts_left} attempt(s) left")]
    WrongPin { attempts_left: u32 },
    #[error("no PIN is set on this device: choose one first")]
    NoPin,
    #[error("the app is locked: unlock it with the PIN")]
    Locked,
    #[error("too many wrong PINs: sign in again while online")]
    SignInRequired,
    /// The server no longer takes this device's sign-in (it expired, or was ended elsewhere):
    /// nothing goes until the person signs in again. Their work stays on the device.
    #[error("the sign-in has ended: sign in again to send the changes ({0})")]
    SignInExpired(String),
    /// An online sign-in by someone who never signed in on this device, while its data is
    /// locked: only a user who has (with their PIN or their sign-in) can open it.
    #[error("this device holds another user's locked data: they must unlock it or sign in first")]
    SealedForOthers,
    #[error("not allowed: {0}")]
    Forbidden(#[from] homerehab_shared::auth::Forbidden),
    #[error("media: {0}")]
    Media(String),
    /// The server says this device was revoked (its data is erased once everything on it was
    /// handed over).
    #[error("{}", .0.sentence())]
    DeviceRevoked(homerehab_shared::api::RevokeNotice),
}

impl CoreError {
    /// Whether retrying later can help (network trouble, server busy) rather than a fault
    /// that needs a person (wrong password, damaged database).
    pub fn is_transient(&self) -> bool {
        match self {
            CoreError::Offline(_) | CoreError::Busy(_) => true,
            CoreError::Server { status, .. } => *status >= 500 || *status == 429,
            _ => false,
        }
    }
}

impl From<automerge::AutomergeError> for CoreError {
    fn from(e: automerge::AutomergeError) -> Self {
        CoreError::Document(e.to_string())
    }
}

pub type Result<T, E = CoreError> = std::result::Result<T, E>;
