//! Persistence: the [`Store`] trait that the handlers, the auth service and the sync adapter
//! use, and its one implementation, [`SqliteStore`]. SQL lives only in [`sqlite`] and its
//! read model's [`sqlite_read_model`]; a PostgreSQL backend would be a sibling module
//! implementing the same trait and the same read-model tables.
//!
//! The store sees documents as bytes plus the few header columns it indexes: a snapshot
//! (`Automerge::save`) and incremental chunks of raw changes appended on every accepted sync,
//! folded into a new snapshot once the chunks outweigh it.

mod audit_rows;
mod documents;
mod evidence_facts;
mod interface;
pub mod postgres;
mod postgres_audit;
mod postgres_devices;
mod postgres_erasure;
mod postgres_evidence;
mod postgres_pool;
mod postgres_read_model;
mod retention_rows;
pub mod sqlite;
mod sqlite_audit;
mod sqlite_devices;
mod sqlite_erasure;
mod sqlite_evidence;
mod sqlite_read_model;

pub use interface::*;
pub use postgres::PostgresStore;
pub use sqlite::SqliteStore;

/// Opens the configured database and brings its schema up to date: PostgreSQL for a
/// `postgres://` URL, else the SQLite file. Blocking: not from an async task.
pub fn open(database: &crate::config::Database) -> crate::error::Result<Box<dyn Store>> {
    Ok(match database {
        crate::config::Database::Sqlite(path) => Box::new(SqliteStore::open(path)?),
        crate::config::Database::Postgres { url, ca } => {
            Box::new(PostgresStore::open(url.expose(), ca.as_deref())?)
        }
    })
}
