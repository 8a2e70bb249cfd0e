//! [`Core::open`]: the app assembled from its settings, the same way for both binaries.

use crate::app_core::Core;
use homerehab_core::error::CoreError;
use homerehab_core::{client, library, store::Store};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// What the app needs to start (the binaries fill it from their command lines).
#[derive(Clone, Debug)]
pub struct Settings {
    /// Folder of the device's local store (created when missing).
    pub data_dir: PathBuf,
    /// The sync server to sign in to.
    pub server_url: String,
    /// The exercise library (`assets`).
    pub assets_dir: PathBuf,
    /// Minutes without use after which the app locks itself (0: never). Needs a PIN.
    pub lock_after_minutes: u64,
    /// Room for the programs' photos and videos, in MiB.
    pub media_budget_mb: u64,
    /// Seconds between background syncs (sooner after a failure, with backoff).
    pub sync_interval: Duration,
}

/// Why the app could not open.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error("loading the exercise library")]
    Library(#[source] CoreError),
    #[error("creating {0}")]
    DataDir(String, #[source] std::io::Error),
    #[error("opening the local store")]
    Store(#[source] CoreError),
}

impl Core {
    /// Loads the library, opens the store (refused at once when another process holds the
    /// folder), sets the idle lock and the media budget, and starts the background sync on the
    /// current tokio runtime (it runs for the life of the process).
    pub fn open(settings: &Settings) -> Result<Core, OpenError> {
        let library = library::load(&settings.assets_dir).map_err(OpenError::Library)?;
        std::fs::create_dir_all(&settings.data_dir)
            .map_err(|e| OpenError::DataDir(settings.data_dir.display().to_string(), e))?;
        let mut store = Store::open(&settings.data_dir).map_err(OpenError::Store)?;
        // With a PIN set the app starts locked (the store's gate starts closed).
        store.set_idle_lock(settings.lock_after_minutes.saturating_mul(60_000) as i64);
        store.set_media_budget(settings.media_budget_mb.saturating_mul(1 << 20));
        let store = Arc::new(Mutex::new(store));
        let _sync = client::spawn_background(store.clone(), settings.sync_interval);
        Ok(Core::new(
            store,
            Arc::new(library),
            settings.server_url.clone(),
        ))
    }
}
