//! The Homerehab sync server: authenticates users, authorizes and admits their CRDT changes,
//! and keeps every document durably in SQLite.
//!
//! The deciding happens in `homerehab_shared` (`sync::serve_sync`, `admission`, `auth`); this
//! crate does the I/O around it:
//!
//! - [`http`]: the axum API ([`http::app`], [`http::serve`]);
//! - [`api_error`]: [`api_error::ApiError`], what a handler or extractor answers on failure;
//! - [`audit`]: the audit log — what a sync sent, a device's look-ups, a citizen's access
//!   report, the chain's walk (`audit-verify`);
//! - [`auth`]: argon2 logins, hashed bearer tokens, the [`auth::Authenticated`] extractor;
//! - [`sync`]: `ServerStorage` over a [`store::Store`] with an LRU cache of loaded documents;
//! - [`store`]: the [`store::Store`] trait and [`store::SqliteStore`], the only place with SQL;
//! - [`media`]: photos and videos as files named by their SHA-256, verified before kept;
//! - [`config`]: command line, `HOMEREHAB_*` environment and TOML file;
//! - [`evidence`]: the leaders' evidence — who may ask, facts from the store into
//!   `shared::evidence::report`;
//! - [`seed`]: the `seed-demo` data; [`seed_evidence`]: `seed-demo --evidence`, a year of
//!   evidence and two more municipalities;
//! - [`metrics`]: Prometheus counters and histograms;
//! - [`in_flight`]: how many requests one device may have in flight at once;
//! - [`memory`]: malloc's arenas bounded, the heap trimmed when syncs and sign-ins go idle;
//! - [`projector`]: keeps the read model (`shared::read_model`) caught up with the documents.
//!
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! use homerehab_sync_server::{config::Config, http};
//! let config = Config::default();
//! let state = http::AppState::open(&config)?;
//! let listener = http::listen(config.bind)?;
//! http::serve(listener, state, std::future::pending()).await?;
//! # Ok(()) }
//! ```
//!
//! Invariants: a sync is answered only after its changes are committed to disk; rejected
//! changes are quarantined, never applied; tokens and passwords are stored only hashed and
//! never logged; one server process per database (the document cache is not shared).

pub mod api_error;
pub mod audit;
pub mod auth;
pub mod care_record;
pub mod config;
pub mod devices;
pub mod erasure;
pub mod error;
pub mod evidence;
pub mod http;
pub mod in_flight;
pub mod media;
pub mod memory;
pub mod metrics;
pub mod projector;
pub mod seed;
pub mod seed_evidence;
pub mod store;
pub mod sync;
pub mod turns;

pub use error::{Error, Result};
