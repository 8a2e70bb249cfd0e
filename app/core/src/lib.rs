//! The Homerehab app core: everything the app does, without a UI.
//!
//! - [`store::Store`]: the local SQLite store — documents, outbox, sync state, projections —
//!   and the domain operations (create a course, start a session, log a set…);
//! - [`library`]: the shipped exercise library, loaded from `assets/`;
//! - [`keys`]: the store's data key and the slots (PIN, server secret) that wrap it;
//! - [`lock`]: the app lock (PIN after an online sign-in, idle lock, lockout);
//! - [`client`]: sign-in, sync rounds over HTTP and background sync (with a media prefetch
//!   after each successful sync);
//! - [`media`]: photos and videos — upload, and prefetch within a storage budget, resumable
//!   and verified by SHA-256;
//! - [`error::CoreError`]: the one error type.
//!
//! The Tauri shell, the local HTTP API for browsers and the `homerehab` CLI all call these.
//!
//! ```no_run
//! # async fn demo() -> Result<(), homerehab_core::error::CoreError> {
//! use std::sync::{Arc, Mutex};
//! let store = Arc::new(Mutex::new(homerehab_core::store::Store::open("/tmp/tablet".as_ref())?));
//! homerehab_core::client::login(&store, "http://127.0.0.1:8377", "assistent1", "demo1234").await?;
//! let (report, _) = homerehab_core::client::sync_now(&store).await?;
//! println!("{} documents new", report.new_documents);
//! # Ok(()) }
//! ```
pub mod client;
pub mod error;
pub mod keys;
pub mod library;
pub mod lock;
pub mod media;
pub mod sealed_file;
pub mod store;
