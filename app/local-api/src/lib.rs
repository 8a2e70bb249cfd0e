//! The app core over loopback HTTP: the browser transport of the Homerehab UI.
//!
//! - [`ops`]: the operations the UI calls (sign in, status, sync, today's visits, course
//!   detail, the guided session…) as plain functions over [`ops::Core`]; the HTTP handlers and
//!   the Tauri commands (`app/shell`) both call these and nothing else;
//! - [`http`]: the axum router — one thin handler per endpoint under `/api`, the library's
//!   illustrations under `/illustrations`, and the built UI (`app/ui/dist`) for everything else;
//! - [`error::Error`]: the one error, serialized as `{kind, message}`.
//!
//! The messages themselves live in `homerehab-app-api`, shared with the UI.
//!
//! ```no_run
//! # async fn demo() -> anyhow::Result<()> {
//! use homerehab_local_api::{http, ops::Core};
//! use std::sync::{Arc, Mutex};
//! let store = homerehab_core::store::Store::open("/tmp/tablet".as_ref())?;
//! let library = homerehab_core::library::load("assets".as_ref())?;
//! let core = Arc::new(Core::new(Arc::new(Mutex::new(store)), Arc::new(library), "http://127.0.0.1:8377".into()));
//! let app = http::app(core, &http::Dirs { ui: "app/ui/dist".into(), illustrations: "assets/illustrations".into() });
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:8378").await?;
//! axum::serve(listener, app).await?;
//! # Ok(()) }
//! ```
pub mod error;
pub mod http;
pub mod ops;
