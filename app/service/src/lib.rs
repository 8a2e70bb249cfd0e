//! The app without a transport: the operations the UI calls (declared once in
//! `homerehab_app_api::operations`), who may call them, and the one way to open the app.
//!
//! - [`ops`]: the operations as plain functions over [`Core`] (store, library, server URL);
//! - [`Core::call`]: the checked entry point — the operation's capability first, then the
//!   operation — and [`Core::call_by_name`] for transports that carry JSON by name (Tauri);
//! - [`Core::open`]: store, library, idle lock, media budget and background sync from
//!   [`Settings`], for both binaries (`homerehab-app`, `homerehab-desktop`);
//! - [`Error`]: the one error, answered as `{kind, message}` by every transport.
//!
//! The transports (`homerehab-local-api` over loopback HTTP, `homerehab-shell` over Tauri)
//! only translate; no HTTP or Tauri type appears here.

mod app_core;
pub mod capability;
pub mod error;
mod operations;
pub mod ops;
mod settings;

pub use app_core::Core;
pub use error::{Error, Result};
pub use settings::Settings;
