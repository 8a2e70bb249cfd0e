//! The crate's one error type. HTTP status codes are chosen in [`crate::http`], not here.

use homerehab_shared::ids::DocumentId;
use homerehab_shared::sync::wire::WireError;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("database error: {0}")]
    Db(#[from] rusqlite::Error),
    /// Shown with its SQLSTATE: the client's own text of a server error is only "db error",
    /// and the server's message may quote the values it refused.
    #[error("PostgreSQL: {}{}", .0, sqlstate(.0))]
    Postgres(postgres::Error),
    /// The database closed the connection or is shutting down or starting (SQLSTATE classes
    /// 08 and 57): nothing was stored, and a later try gets a fresh connection.
    #[error("PostgreSQL is unavailable: {0}")]
    DatabaseUnavailable(postgres::Error),
    /// No pooled PostgreSQL connection could be had in time (the database is down or full).
    #[error("PostgreSQL connection: {0}")]
    Pool(#[from] r2d2_postgres::r2d2::Error),
    #[error("database migration failed: {0}")]
    Migration(#[from] rusqlite_migration::Error),
    #[error("stored document {0} cannot be loaded: {1}")]
    CorruptDocument(DocumentId, String),
    #[error("stored data is inconsistent: {0}")]
    Corrupt(String),
    /// The request body is not a sync message this server accepts.
    #[error(transparent)]
    Wire(#[from] WireError),
    /// Server-authored content (the demo seed) that the schema refuses.
    #[error("document content: {0}")]
    Schema(#[from] homerehab_shared::docs::SchemaError),
    #[error("{0}")]
    Invalid(String),
    /// Another sync (in this process or another server) changed the document since it was
    /// loaded: nothing of the batch was stored, and the sync is served again from the store.
    #[error("document {0} changed while this sync was served")]
    DocumentMoved(DocumentId),
    /// The transaction holding a batch of documents did not commit; nothing of it is stored.
    #[error("the database did not commit: {0}")]
    CommitFailed(String),
    #[error("{0} already exists")]
    AlreadyExists(String),
    #[error("{0} not found")]
    NotFound(String),
    #[error("this device id is registered to another user; generate a fresh one")]
    ActorTaken,
    #[error("this device id is reserved (the server's or a document's own); generate a fresh one")]
    ActorReserved,
    #[error("this device id is registered in another municipality; generate a fresh one")]
    DeviceTaken,
    #[error("could not hash the password: {0}")]
    PasswordHash(String),
    #[error("configuration: {0}")]
    Config(String),
    #[error(transparent)]
    Io(#[from] std::io::Error),
    #[error("a worker task failed: {0}")]
    Task(String),
    #[error("the file is larger than {0} bytes")]
    MediaTooLarge(u64),
    #[error(
        "the municipality's photos and videos would take more than {0} bytes on the server \
         (media_quota_bytes); nothing was kept"
    )]
    MediaQuotaFull(u64),
    #[error("the bytes sent do not have the SHA-256 they were sent under; nothing was kept")]
    MediaMismatch,
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// PostgreSQL ended the transaction to break a deadlock or a serialization conflict
    /// with another (SQLSTATE 40P01, 40001): nothing of it was stored; trying again is right.
    pub fn is_transient_conflict(&self) -> bool {
        matches!(self, Error::Postgres(e)
            if e.code().is_some_and(|c| matches!(c.code(), "40P01" | "40001")))
    }

    /// SQLite's lock not had within the busy timeout: other writers held the database (a
    /// burst). The statement did nothing; a later try may succeed.
    pub fn is_database_busy(&self) -> bool {
        matches!(
            self,
            Error::Db(rusqlite::Error::SqliteFailure(f, _))
                if matches!(f.code, rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked)
        )
    }
}

/// " (SQLSTATE 40P01)" for an error the database answered with, else nothing.
fn sqlstate(e: &postgres::Error) -> String {
    e.code()
        .map(|c| format!(" (SQLSTATE {})", c.code()))
        .unwrap_or_default()
}

impl From<postgres::Error> for Error {
    fn from(e: postgres::Error) -> Self {
        let code = e.code().map(|c| c.code());
        if e.is_closed() || code.is_some_and(|c| c.starts_with("08") || c.starts_with("57")) {
            Error::DatabaseUnavailable(e)
        } else {
            Error::Postgres(e)
        }
    }
}
