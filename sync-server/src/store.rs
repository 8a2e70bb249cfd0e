//! Persistence: the [`Store`] trait that the handlers, the auth service and the sync adapter
//! use, and its two implementations, [`SqliteStore`] and [`PostgresStore`]. SQL lives only in
//! each backend's modules (`sqlite*`, `postgres*`), which keep the same tables, the read
//! model's too; what their rows mean is written once (`documents`, `evidence_facts`,
//! `retention_rows`, `audit_rows`).
//!
//! The store sees documents as bytes plus the few header columns it indexes: a snapshot
//! (`Automerge::save`) and incremental chunks of raw changes appended on every accepted sync,
//! folded into a new snapshot once the chunks outweigh it.

mod audit_rows;
mod documents;
mod evidence_facts;
mod export_sql;
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

/// Checks each document of `team` that a sync may see against `expected` (id, generation), as
/// the sync reads it and as [`ErasureStore::generation`] does; in any order.
#[cfg(test)]
fn assert_generations(
    store: &dyn Store,
    team: homerehab_shared::ids::TeamId,
    expected: &[(homerehab_shared::ids::DocumentId, u32)],
) {
    let mut seen: Vec<_> = store
        .visible_documents(&[team], &[])
        .unwrap()
        .into_iter()
        .map(|d| (d.header.id, d.generation))
        .collect();
    seen.sort();
    let mut expected = expected.to_vec();
    expected.sort();
    assert_eq!(seen, expected);
    for (id, generation) in expected {
        assert_eq!(store.generation(id).unwrap(), generation);
    }
}
