//! What the operations work on: the device's store, the exercise library, the sync server.

use crate::error::Result;
use homerehab_core::store::SharedStore;
use homerehab_core::store::{now_ms, Store};
use homerehab_shared::library::search::SearchIndex;
use homerehab_shared::library::Library;
use std::sync::atomic::AtomicUsize;
use std::sync::{Arc, MutexGuard};

/// What the operations work on: the device's store, the exercise library, the sync server.
pub struct Core {
    pub store: SharedStore,
    pub library: Arc<Library>,
    /// The sync server signed in to when the request names none.
    pub server_url: String,
    /// Syncs started through [`sync_now`] and still running (for the status bar).
    pub(crate) syncing: AtomicUsize,
    /// The search index of the library it was built from (shipped + the municipality's);
    /// built again when a sync or an edit changed the municipality's part.
    search: std::sync::Mutex<Option<(Arc<Library>, Arc<SearchIndex>)>>,
    /// The care-time import running now (or the last one), apart from the store's lock so
    /// the UI can read it while the import holds the store.
    pub(crate) import: std::sync::Mutex<homerehab_app_api::ImportProgress>,
}

impl Core {
    pub fn new(store: SharedStore, library: Arc<Library>, server_url: String) -> Self {
        Core {
            store,
            library,
            server_url,
            syncing: AtomicUsize::new(0),
            search: std::sync::Mutex::new(None),
            import: std::sync::Mutex::new(Default::default()),
        }
    }

    pub(crate) fn store(&self) -> MutexGuard<'_, Store> {
        // A panic while holding the lock leaves SQLite consistent (transactions roll back).
        self.store.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The library the user sees now: the shipped one plus the municipality's own exercises
    /// and templates (merged again only when their document changed).
    pub(crate) fn library_in(&self, store: &mut Store) -> Result<Arc<Library>> {
        Ok(store.library(&self.library)?)
    }

    /// The search index of `library`, reused while the library is the same.
    pub(crate) fn search_index(&self, library: &Arc<Library>) -> Arc<SearchIndex> {
        let mut cached = self.search.lock().unwrap_or_else(|p| p.into_inner());
        match &*cached {
            Some((of, index)) if Arc::ptr_eq(of, library) => index.clone(),
            _ => {
                let index = Arc::new(SearchIndex::of(library));
                *cached = Some((library.clone(), index.clone()));
                index
            }
        }
    }

    /// The store for an operation on the data: only while the app is open (unlocked, or no
    /// PIN chosen yet), else `locked`. Counts as use for the idle lock.
    pub(crate) fn data(&self) -> Result<MutexGuard<'_, Store>> {
        let mut store = self.store();
        store.require_unlocked(now_ms())?;
        Ok(store)
    }
}
