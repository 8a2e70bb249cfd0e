//! The app service over loopback HTTP: the browser transport of the Homerehab UI.
//!
//! - [`http`]: the axum router — one generic route per operation declared in
//!   `homerehab_app_api::operations` under `/api`, the media upload and `/media/{sha256}`
//!   written by hand (their bodies are bytes), the library's illustrations under
//!   `/illustrations`, and the built UI (`app/ui/dist`) for everything else;
//! - [`error::Error`]: the service's `{kind, message}` with its HTTP status.
//!
//! The operations themselves are `homerehab-app-service`'s ([`ops`] re-exports them).
//!
//! ```no_run
//! # async fn demo() -> anyhow::Result<()> {
//! use homerehab_app_service::Core;
//! use homerehab_local_api::http;
//! use std::sync::{Arc, Mutex};
//! let store = homerehab_core::store::Store::open("/tmp/tablet".as_ref())?;
//! let library = homerehab_core::library::load("assets".as_ref())?;
//! let core = Arc::new(Core::new(Arc::new(Mutex::new(store)), Arc::new(library), "http://127.0.0.1:8377".into()));
//! let key = http::LaunchKey::random(); // shown to the person in the address to open
//! let app = http::app(core, &http::Dirs { ui: "app/ui/dist".into(), illustrations: "assets/illustrations".into() }, key);
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:8378").await?;
//! axum::serve(listener, app).await?;
//! # Ok(()) }
//! ```
pub mod error;
pub mod http;
pub use homerehab_app_service::ops;
