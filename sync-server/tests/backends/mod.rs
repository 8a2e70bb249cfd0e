//! The storage backends a test runs against: a fresh SQLite file always, and a fresh
//! PostgreSQL database when `HOMEREHAB_TEST_POSTGRES` names a server (`scripts/with-postgres`
//! starts one): `CREATE DATABASE` with a random name per test, dropped when the test ends.

#![allow(dead_code)] // each test file uses a part

use homerehab_sync_server::store::{PostgresStore, SqliteStore, Store};
use std::path::PathBuf;
use std::sync::Arc;

pub const POSTGRES_ENV: &str = "HOMEREHAB_TEST_POSTGRES";

pub enum Backend {
    Sqlite {
        _dir: tempfile::TempDir,
        path: PathBuf,
    },
    Postgres {
        /// The server's maintenance database, where this one is created and dropped.
        admin: String,
        name: String,
        url: String,
    },
}

/// `url` with its database (the path's last segment) replaced by `name`.
pub fn with_database(url: &str, name: &str) -> String {
    let (server, _) = url
        .rsplit_once('/')
        .filter(|(server, _)| server.contains("//"))
        .expect("a postgres://…/DATABASE URL");
    format!("{server}/{name}")
}

/// A fresh PostgreSQL database on the test server, if there is one: its name and URL.
pub fn create_postgres_database() -> Option<(String, String, String)> {
    let admin = std::env::var(POSTGRES_ENV).ok().filter(|u| !u.is_empty())?;
    let name = format!("homerehab_test_{}", uuid::Uuid::new_v4().simple());
    let mut client = postgres::Client::connect(&admin, postgres::NoTls).expect("connect");
    client
        .batch_execute(&format!("CREATE DATABASE {name}"))
        .expect("create database");
    let url = with_database(&admin, &name);
    Some((admin, name, url))
}

pub fn drop_postgres_database(admin: &str, name: &str) {
    if let Ok(mut client) = postgres::Client::connect(admin, postgres::NoTls) {
        let _ = client.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
    }
}

impl Backend {
    pub fn sqlite() -> Backend {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("homerehab.sqlite3");
        Backend::Sqlite { _dir: dir, path }
    }

    /// `None` when no PostgreSQL server is given (the test then says so and passes).
    pub fn postgres() -> Option<Backend> {
        let (admin, name, url) = create_postgres_database()?;
        Some(Backend::Postgres { admin, name, url })
    }

    /// A fresh PostgreSQL database for a test of PostgreSQL alone; `None` (the test says so
    /// and passes) when no PostgreSQL server is given.
    pub fn postgres_alone() -> Option<Backend> {
        let backend = Backend::postgres();
        if backend.is_none() {
            eprintln!("{POSTGRES_ENV} is not set: PostgreSQL not tested");
        }
        backend
    }

    /// The URL of the PostgreSQL database (a test of PostgreSQL alone).
    pub fn url(&self) -> &str {
        match self {
            Backend::Postgres { url, .. } => url,
            Backend::Sqlite { .. } => panic!("SQLite has no URL"),
        }
    }

    pub fn name(&self) -> &'static str {
        match self {
            Backend::Sqlite { .. } => "SQLite",
            Backend::Postgres { .. } => "PostgreSQL",
        }
    }

    /// A store over this backend's database (another one each call, as another server would
    /// open it).
    pub fn open(&self) -> Arc<dyn Store> {
        match self {
            Backend::Sqlite { path, .. } => Arc::new(SqliteStore::open(path).unwrap()),
            Backend::Postgres { url, .. } => Arc::new(PostgresStore::open(url, None).unwrap()),
        }
    }

    /// The SQLite database file, for tests that read its raw bytes.
    pub fn sqlite_path(&self) -> Option<PathBuf> {
        match self {
            Backend::Sqlite { path, .. } => Some(path.clone()),
            Backend::Postgres { .. } => None,
        }
    }

    /// Like [`Backend::open`], compacting as soon as the chunks outweigh the snapshot.
    pub fn open_compacting_eagerly(&self) -> Arc<dyn Store> {
        match self {
            Backend::Sqlite { path, .. } => {
                Arc::new(SqliteStore::open(path).unwrap().compact_eagerly())
            }
            Backend::Postgres { url, .. } => {
                Arc::new(PostgresStore::open(url, None).unwrap().compact_eagerly())
            }
        }
    }

    /// Runs SQL straight on the database, as an intruder or a broken tool would (each backend
    /// its own dialect).
    pub fn execute(&self, sqlite: &str, postgres: &str) {
        match self {
            Backend::Sqlite { path, .. } => {
                rusqlite::Connection::open(path)
                    .unwrap()
                    .execute_batch(sqlite)
                    .unwrap();
            }
            Backend::Postgres { url, .. } => {
                postgres::Client::connect(url, postgres::NoTls)
                    .unwrap()
                    .batch_execute(postgres)
                    .unwrap();
            }
        }
    }

    /// One number from SQL that reads the same in both dialects.
    pub fn count(&self, sql: &str) -> i64 {
        match self {
            Backend::Sqlite { path, .. } => rusqlite::Connection::open(path)
                .unwrap()
                .query_row(sql, [], |r| r.get(0))
                .unwrap(),
            Backend::Postgres { url, .. } => postgres::Client::connect(url, postgres::NoTls)
                .unwrap()
                .query_one(sql, &[])
                .unwrap()
                .get(0),
        }
    }
}

impl Drop for Backend {
    fn drop(&mut self) {
        if let Backend::Postgres { admin, name, .. } = self {
            drop_postgres_database(admin, name);
        }
    }
}

/// Generates, for each `fn test(backend: &Backend)` named, a test on SQLite (module `sqlite`)
/// and one on PostgreSQL (module `postgres`; it says so and passes when no server is given).
#[macro_export]
macro_rules! on_both_backends {
    ($($test:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[test]
                fn $test() {
                    super::$test(&super::backends::Backend::sqlite());
                }
            )*
        }
        mod postgres {
            $(
                #[test]
                fn $test() {
                    match super::backends::Backend::postgres() {
                        Some(backend) => super::$test(&backend),
                        None => eprintln!(
                            "{} is not set: {} not run on PostgreSQL",
                            super::backends::POSTGRES_ENV,
                            stringify!($test)
                        ),
                    }
                }
            )*
        }
    };
}
