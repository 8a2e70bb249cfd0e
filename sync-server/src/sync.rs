//! The bridge between the sans-IO sync core ([`homerehab_shared::sync::serve_sync`]) and the
//! [`Store`]: [`SyncStorage`] implements `ServerStorage` over a store and a bounded LRU cache
//! of loaded documents, and [`Syncer`] serves one encoded request end to end.

use crate::config::QuarantineLimits;
use crate::error::{Error, Result};
use crate::metrics;
use crate::store::{DocumentCommit, Store};
use automerge::{ActorId, Automerge};
use homerehab_shared::auth::{authorize, Access, Principal};
use homerehab_shared::device_registry::HandOverSync;
use homerehab_shared::docs::Header;
use homerehab_shared::ids::{DeviceId, DocumentId};
use homerehab_shared::sync::wire::{self, Limits};
use homerehab_shared::sync::{serve_sync, Hash, Quarantine, ServeStats, ServerStorage};
use lru::LruCache;
use std::collections::HashSet;
use std::num::NonZeroUsize;
use std::sync::{Arc, Mutex, PoisonError};

/// Loaded documents, most recently used kept. Bounded, so memory does not grow with the
/// number of documents; unchanged documents never enter it (they are answered from heads).
pub struct DocCache {
    lru: LruCache<DocumentId, Arc<Automerge>>,
}

impl DocCache {
    pub fn new(capacity: usize) -> Self {
        DocCache {
            lru: LruCache::new(NonZeroUsize::new(capacity).unwrap_or(NonZeroUsize::MIN)),
        }
    }
    pub fn len(&self) -> usize {
        self.lru.len()
    }
    pub fn is_empty(&self) -> bool {
        self.lru.is_empty()
    }
    pub fn contains(&self, id: DocumentId) -> bool {
        self.lru.contains(&id)
    }
}

/// `ServerStorage` for one request: a store plus the shared cache.
pub struct SyncStorage<'a> {
    pub store: &'a dyn Store,
    pub cache: &'a mut DocCache,
    pub quarantine_limits: QuarantineLimits,
    /// The device syncing: a revoked device's actors write only in its own hand-over.
    pub device: Option<DeviceId>,
    /// Admitted documents not yet written; `flush` writes them in one transaction.
    staged: Vec<(Header, Arc<Automerge>, Vec<u8>)>,
}

impl<'a> SyncStorage<'a> {
    pub fn new(store: &'a dyn Store, cache: &'a mut DocCache) -> Self {
        SyncStorage {
            store,
            cache,
            quarantine_limits: QuarantineLimits::default(),
            device: None,
            staged: Vec::new(),
        }
    }

    fn staged(&self, id: DocumentId) -> Option<&(Header, Arc<Automerge>, Vec<u8>)> {
        self.staged.iter().rev().find(|(h, _, _)| h.id == id)
    }
}

impl ServerStorage for SyncStorage<'_> {
    type Error = Error;

    fn visible(&mut self, who: &Principal) -> Result<Vec<(Header, Vec<Hash>)>> {
        let teams: Vec<_> = who.teams().collect();
        let mut docs = self.store.document_heads(&teams)?;
        // The municipality's library belongs to no team; its id is derived.
        let wider: Vec<_> = who
            .municipality_id
            .map(DocumentId::library_of)
            .into_iter()
            .collect();
        docs.extend(self.store.document_heads_by_id(&wider)?);
        docs.retain(|(h, _)| authorize(who, h, Access::Read).is_ok());
        Ok(docs)
    }

    fn header(&mut self, id: DocumentId) -> Result<Option<Header>> {
        if let Some((h, _, _)) = self.staged(id) {
            return Ok(Some(*h));
        }
        self.store.document_header(id)
    }

    fn load(&mut self, id: DocumentId) -> Result<Option<Arc<Automerge>>> {
        if let Some((_, doc, _)) = self.staged(id) {
            return Ok(Some(doc.clone()));
        }
        if let Some(doc) = self.cache.lru.get(&id) {
            metrics::cache_hit();
            return Ok(Some(doc.clone()));
        }
        metrics::cache_miss();
        let Some(doc) = self.store.load_document(id)? else {
            return Ok(None);
        };
        let doc = Arc::new(doc);
        self.cache.lru.put(id, doc.clone());
        Ok(Some(doc))
    }

    fn actors(&mut self, who: &Principal) -> Result<HashSet<ActorId>> {
        self.store.actors_for_sync(who.user_id, self.device)
    }

    fn commit(&mut self, header: &Header, doc: Arc<Automerge>, new_changes: Vec<u8>) -> Result<()> {
        self.staged.push((*header, doc, new_changes));
        Ok(())
    }

    fn flush(&mut self) -> Result<()> {
        let staged = std::mem::take(&mut self.staged);
        let batch: Vec<DocumentCommit<'_>> = staged
            .iter()
            .map(|(header, doc, new_changes)| DocumentCommit {
                header,
                doc,
                new_changes,
            })
            .collect();
        self.store.commit_documents(&batch)?;
        // Cached only after the store committed: the cache never runs ahead of the disk.
        for (header, doc, _) in staged {
            self.cache.lru.put(header.id, doc);
        }
        Ok(())
    }

    fn quarantine(
        &mut self,
        id: DocumentId,
        who: &Principal,
        changes: &[u8],
        reason: &str,
    ) -> Result<Quarantine> {
        let kept =
            self.store
                .quarantine(id, who.user_id, changes, reason, &self.quarantine_limits)?;
        // Every refusal is logged once, with its reason, by `Syncer::handle`.
        tracing::debug!(doc = %id, bytes = changes.len(), ?kept, "quarantine");
        Ok(kept)
    }
}

/// Serves sync requests against a store. Blocking: call it from `spawn_blocking`.
pub struct Syncer {
    store: Arc<dyn Store>,
    cache: Mutex<DocCache>,
    limits: Limits,
    quarantine_limits: QuarantineLimits,
}

impl Syncer {
    pub fn new(
        store: Arc<dyn Store>,
        cache_capacity: usize,
        limits: Limits,
        quarantine_limits: QuarantineLimits,
    ) -> Self {
        Syncer {
            store,
            cache: Mutex::new(DocCache::new(cache_capacity)),
            limits,
            quarantine_limits,
        }
    }

    /// Decodes a request body, serves it for `who` and returns the encoded response. Nothing
    /// is stored unless the body decodes.
    pub fn handle(&self, who: &Principal, body: &[u8]) -> Result<(Vec<u8>, ServeStats)> {
        self.handle_from(who, None, body)
            .map(|(encoded, stats, _)| (encoded, stats))
    }

    /// [`Syncer::handle`] for a request from `device`, also saying whether the device had
    /// anything left to hand over (for a revoked device's hand-over).
    pub fn handle_from(
        &self,
        who: &Principal,
        device: Option<DeviceId>,
        body: &[u8],
    ) -> Result<(Vec<u8>, ServeStats, HandOverSync)> {
        let req = wire::decode_request(body, &self.limits).inspect_err(|e| {
            // The client's fault, not the server's: a warning with the reason, and a count.
            tracing::warn!(user = %who.user_id, reason = %e, "sync request refused: it does not decode");
            metrics::client_error("malformed_request");
        })?;
        // One sync at a time: two concurrent syncs of one document would each commit their
        // own merge and the later would overwrite the other's heads. SQLite has one writer
        // anyway; a server database backend would lock per document instead.
        let mut cache = self.cache.lock().unwrap_or_else(PoisonError::into_inner);
        let mut storage = SyncStorage::new(self.store.as_ref(), &mut cache);
        storage.quarantine_limits = self.quarantine_limits;
        storage.device = device;
        let offered_changes = req.offers.iter().any(|o| !o.changes.is_empty());
        let (resp, stats) = serve_sync(&mut storage, who, req)?;
        let hand_over = HandOverSync {
            offered_changes,
            asked_whole: resp
                .replies
                .iter()
                .any(|r| r.status == wire::ReplyStatus::SendFull),
        };
        drop(cache);
        // A refusal is the client's problem (or a hostile client's), not the server's: WARN.
        for reply in &resp.replies {
            if let wire::ReplyStatus::Rejected(reason) = &reply.status {
                tracing::warn!(doc = %reply.doc, user = %who.user_id, %reason, "changes refused");
            }
        }
        Ok((wire::encode(&resp), stats, hand_over))
    }

    /// Number of documents currently cached.
    pub fn cached(&self) -> usize {
        self.cache
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::SqliteStore;
    use homerehab_shared::docs::genesis;
    use homerehab_shared::ids::TeamId;

    #[test]
    fn the_cache_evicts_beyond_capacity() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("db.sqlite3")).unwrap();
        let team = TeamId::new();
        let headers: Vec<Header> = (0..3)
            .map(|_| Header::course(team, homerehab_shared::ids::CourseId::new()))
            .collect();
        for h in &headers {
            store.commit_document(h, &genesis(h), &[]).unwrap();
        }
        let mut cache = DocCache::new(2);
        let mut storage = SyncStorage::new(&store, &mut cache);
        for h in &headers {
            assert!(storage.load(h.id).unwrap().is_some());
        }
        assert_eq!(cache.len(), 2);
        assert!(!cache.contains(headers[0].id));
        assert!(cache.contains(headers[1].id) && cache.contains(headers[2].id));
    }
}
