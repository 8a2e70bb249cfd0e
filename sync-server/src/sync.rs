//! The bridge between the sans-IO sync core ([`homerehab_shared::sync::serve_sync`]) and the
//! [`Store`]: [`SyncStorage`] implements `ServerStorage` over a store and a bounded LRU cache
//! of loaded documents, and [`Syncer`] serves one encoded request end to end.

use crate::config::QuarantineLimits;
use crate::error::{Error, Result};
use crate::metrics;
use crate::store::{now_ms, DocumentCommit, LoadedDocuments, Store};
use crate::turns::DocumentTurns;
use automerge::{ActorId, Automerge, ReadDoc};
use homerehab_shared::admission::SessionValues;
use homerehab_shared::audit::{AuditRecord, Delivery, RecentDeliveries};
use homerehab_shared::auth::{authorize, may_offer_changes, Access, Principal};
use homerehab_shared::device_registry::HandOverSync;
use homerehab_shared::docs::{read_header, Header};
use homerehab_shared::ids::{DeviceId, DocumentId};
use homerehab_shared::read_model::SessionsWritten;
use homerehab_shared::sync::wire::{self, from_hashes, to_hashes, Limits};
use homerehab_shared::sync::{
    changes_since_kept, chunks, serve_sync, Hash, Quarantine, SavedDocument, ServeStats,
    ServerStorage,
};
use lru::LruCache;
use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

/// Loaded documents, most recently used kept, within a memory budget: memory does not grow
/// with the number or the size of documents; unchanged documents never enter it (they are
/// answered from heads).
pub struct DocCache {
    lru: LruCache<DocumentId, (Arc<Automerge>, usize)>,
    /// Estimated bytes the cached documents take.
    used: usize,
    budget: usize,
    /// Answers already built: the changes between two sets of heads of a document (see
    /// [`AnswerKey`]), within an eighth of the budget. A morning's reconnects are a team's
    /// tablets at the same heads asking for the same changes, and each bundle built walks the
    /// whole document.
    answers: LruCache<AnswerKey, Arc<[u8]>>,
    answers_used: usize,
    /// What admission read of the session logs committed since the projector last took them
    /// ([`SessionsWritten`]), within a sixteenth of the budget: the projector derives their
    /// rows from these instead of reading the sessions again.
    written: LruCache<DocumentId, SessionsWritten>,
    written_used: usize,
    /// What admission last read of session logs, as values at their heads then
    /// ([`SessionValues`]), within a sixteenth of the budget: the next set logged in a session
    /// is grown from it instead of the session read again. Each with its weight.
    session_values: LruCache<DocumentId, (SessionValues, usize)>,
    session_values_used: usize,
    /// The raw bytes of changes this server committed lately, by hash (with their document),
    /// within a sixteenth of the budget: an answer whose changes are all here is those bytes
    /// (`changes_since_kept`) instead of a bundle rebuilt from the document. In a morning's
    /// burst a busy log takes a set from one tablet after another and each new state of it
    /// missed the answers above: a fifth of the server's CPU in PostgreSQL's burst went to
    /// rebuilding bundles (docs/benchmarks.md).
    raw_changes: LruCache<Hash, (DocumentId, Arc<[u8]>)>,
    raw_changes_used: usize,
    /// Copies being committed (with their weights), until the commit has returned: between
    /// the store showing a commit and the cache taking its copy, another sync reads the new
    /// heads and found only the older copy — and decoded the whole document again (one team
    /// of 50 syncing: 486 decodes in 10 s). Served only to a sync that read exactly their
    /// heads from the store, so only what the disk already holds.
    committing: HashMap<DocumentId, Vec<(Arc<Automerge>, usize)>>,
}

/// A document, the heads a device holds and the heads the server answered from: the changes
/// between them are always the same bytes (a rewritten document has other hashes).
#[derive(Clone, PartialEq, Eq, Hash)]
struct AnswerKey {
    doc: DocumentId,
    device_heads: Vec<Hash>,
    server_heads: Vec<Hash>,
}

impl AnswerKey {
    /// Bytes an entry takes besides its answer.
    fn weight(&self) -> usize {
        std::mem::size_of::<Self>() + 32 * (self.device_heads.len() + self.server_heads.len())
    }
}

/// Bytes a kept raw change takes besides its bytes (its hash twice, the document, the entry).
const RAW_CHANGE_OVERHEAD: usize = 128;

/// Memory a loaded document takes per byte of its saved form. Automerge's saved form is
/// column-compressed: session logs measured 31–74 in memory per saved byte (automerge 0.12,
/// counted by allocator, docs/benchmarks.md); the upper end, so the budget is not overrun.
pub const MEMORY_PER_SAVED_BYTE: usize = 64;

/// Memory a loaded document grows by per byte of raw changes applied to it. Raw changes are
/// not compressed: a session log grown set by set, one change per set, measured 1.3–3.1 in
/// memory per raw byte (1 to 30 sessions, automerge 0.12, counted by allocator,
/// docs/benchmarks.md); weighed at 64 like saved bytes, a busy log's growth was overstated
/// some 40× and the cache evicted and decoded again the logs it was serving.
pub const MEMORY_PER_CHANGE_BYTE: usize = 4;

/// The cache's weight of `doc` after a commit that brought `new_changes`: a whole document
/// weighs as loaded from its saved bytes; raw changes add to what it weighed before.
fn grown_weight(before: usize, new_changes: &[u8], whole: bool) -> usize {
    if whole {
        new_changes.len() * MEMORY_PER_SAVED_BYTE
    } else {
        before + new_changes.len() * MEMORY_PER_CHANGE_BYTE
    }
}

impl DocCache {
    /// A cache that keeps loaded documents up to about `budget_bytes` of memory (always at
    /// least the last one used).
    pub fn new(budget_bytes: usize) -> Self {
        DocCache {
            lru: LruCache::unbounded(),
            used: 0,
            budget: budget_bytes,
            answers: LruCache::unbounded(),
            answers_used: 0,
            written: LruCache::unbounded(),
            written_used: 0,
            session_values: LruCache::unbounded(),
            session_values_used: 0,
            raw_changes: LruCache::unbounded(),
            raw_changes_used: 0,
            committing: HashMap::new(),
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
    /// Estimated memory of the cached documents, in bytes.
    pub fn used_bytes(&self) -> usize {
        self.used
    }
    fn get(&mut self, id: DocumentId) -> Option<(Arc<Automerge>, usize)> {
        self.lru.get(&id).cloned()
    }
    /// Keeps `doc`, of about `weight` bytes in memory, evicting the least recently used
    /// beyond the budget. Answers the copies it let go of, for the caller to drop after the
    /// lock: freeing a document under it kept every other sync waiting.
    #[must_use]
    fn put(&mut self, id: DocumentId, doc: Arc<Automerge>, weight: usize) -> Vec<Arc<Automerge>> {
        let mut released = Vec::new();
        if let Some((old, w)) = self.lru.put(id, (doc, weight)) {
            self.used -= w;
            released.push(old);
        }
        self.used += weight;
        while self.used > self.budget && self.lru.len() > 1 {
            match self.lru.pop_lru() {
                Some((_, (old, w))) => {
                    self.used -= w;
                    released.push(old);
                }
                None => break,
            }
        }
        released
    }
    /// A copy being committed, at exactly `heads`.
    fn committing_at(&self, id: DocumentId, heads: &[Hash]) -> Option<(Arc<Automerge>, usize)> {
        self.committing
            .get(&id)?
            .iter()
            .find(|(doc, _)| to_hashes(&doc.get_heads()) == heads)
            .cloned()
    }
    fn commit_started(&mut self, id: DocumentId, doc: Arc<Automerge>, weight: usize) {
        self.committing.entry(id).or_default().push((doc, weight));
    }
    fn commit_ended(&mut self, id: DocumentId, doc: &Arc<Automerge>) {
        if let Some(copies) = self.committing.get_mut(&id) {
            copies.retain(|(d, _)| !Arc::ptr_eq(d, doc));
            if copies.is_empty() {
                self.committing.remove(&id);
            }
        }
    }
    fn pop(&mut self, id: DocumentId) {
        if let Some((_, w)) = self.lru.pop(&id) {
            self.used -= w;
        }
    }
    fn answer(&mut self, key: &AnswerKey) -> Option<Arc<[u8]>> {
        self.answers.get(key).cloned()
    }
    fn keep_answer(&mut self, key: AnswerKey, answer: Arc<[u8]>) {
        let weight = key.weight() + answer.len();
        let budget = self.budget / 8;
        if weight > budget {
            return;
        }
        if let Some((old_key, old)) = self.answers.push(key, answer) {
            self.answers_used -= old_key.weight() + old.len();
        }
        self.answers_used += weight;
        while self.answers_used > budget {
            match self.answers.pop_lru() {
                Some((k, a)) => self.answers_used -= k.weight() + a.len(),
                None => break,
            }
        }
    }
    /// Keeps the raw change chunks among `bytes`, committed to `id`.
    fn keep_raw_changes(&mut self, id: DocumentId, bytes: &[u8]) {
        let budget = self.budget / 16;
        for (hash, raw) in chunks::change_chunks(bytes) {
            let weight = RAW_CHANGE_OVERHEAD + raw.len();
            if weight > budget {
                continue;
            }
            if let Some((_, (_, old))) = self.raw_changes.push(hash, (id, Arc::from(raw))) {
                self.raw_changes_used -= RAW_CHANGE_OVERHEAD + old.len();
            }
            self.raw_changes_used += weight;
        }
        while self.raw_changes_used > budget {
            match self.raw_changes.pop_lru() {
                Some((_, (_, raw))) => self.raw_changes_used -= RAW_CHANGE_OVERHEAD + raw.len(),
                None => break,
            }
        }
    }
    /// The raw bytes of change `hash`, if kept.
    fn raw_change(&self, hash: &automerge::ChangeHash) -> Option<Arc<[u8]>> {
        self.raw_changes.peek(&hash.0).map(|(_, raw)| raw.clone())
    }
    /// Keeps what admission read of a committed log, after what is kept of it already.
    fn keep_written(&mut self, id: DocumentId, written: SessionsWritten) {
        let written = match self.take_written(id) {
            Some(kept) => kept.then(written),
            None => written,
        };
        let weight = written.weight();
        let budget = self.budget / 16;
        if weight > budget {
            return;
        }
        self.written.push(id, written);
        self.written_used += weight;
        while self.written_used > budget {
            match self.written.pop_lru() {
                Some((_, w)) => self.written_used -= w.weight(),
                None => break,
            }
        }
    }
    fn take_written(&mut self, id: DocumentId) -> Option<SessionsWritten> {
        let written = self.written.pop(&id)?;
        self.written_used -= written.weight();
        Some(written)
    }
    fn keep_session_values(&mut self, id: DocumentId, values: SessionValues) {
        self.take_session_values(id);
        let weight = values.weight();
        let budget = self.budget / 16;
        if weight > budget {
            return;
        }
        self.session_values.push(id, (values, weight));
        self.session_values_used += weight;
        while self.session_values_used > budget {
            match self.session_values.pop_lru() {
                Some((_, (_, w))) => self.session_values_used -= w,
                None => break,
            }
        }
    }
    fn take_session_values(&mut self, id: DocumentId) -> Option<SessionValues> {
        let (values, weight) = self.session_values.pop(&id)?;
        self.session_values_used -= weight;
        Some(values)
    }
    /// Drops the document, what was read of it and every answer built from it.
    fn forget(&mut self, id: DocumentId) {
        self.pop(id);
        self.take_written(id);
        self.take_session_values(id);
        let gone: Vec<AnswerKey> = self
            .answers
            .iter()
            .filter(|(k, _)| k.doc == id)
            .map(|(k, _)| k.clone())
            .collect();
        for key in gone {
            if let Some(a) = self.answers.pop(&key) {
                self.answers_used -= key.weight() + a.len();
            }
        }
        let gone: Vec<Hash> = self
            .raw_changes
            .iter()
            .filter(|(_, (doc, _))| *doc == id)
            .map(|(hash, _)| *hash)
            .collect();
        for hash in gone {
            if let Some((_, raw)) = self.raw_changes.pop(&hash) {
                self.raw_changes_used -= RAW_CHANGE_OVERHEAD + raw.len();
            }
        }
    }
}

/// The copies of one flush shown as being committed ([`DocCache::committing_at`]) until it
/// returns, however it returns.
struct Committing<'a> {
    cache: &'a Mutex<DocCache>,
    copies: Vec<(DocumentId, Arc<Automerge>)>,
}

impl<'a> Committing<'a> {
    fn start(cache: &'a Mutex<DocCache>, staged: &[Staged], weights: &[usize]) -> Self {
        if staged.is_empty() {
            // Most syncs commit nothing: no lock taken.
            return Committing {
                cache,
                copies: vec![],
            };
        }
        let mut locked = cache.lock().unwrap_or_else(PoisonError::into_inner);
        let copies = staged
            .iter()
            .zip(weights)
            .map(|(s, weight)| {
                locked.commit_started(s.header.id, s.doc.clone(), *weight);
                (s.header.id, s.doc.clone())
            })
            .collect();
        Committing { cache, copies }
    }
}

impl Drop for Committing<'_> {
    fn drop(&mut self) {
        if self.copies.is_empty() {
            return;
        }
        let mut cache = self.cache.lock().unwrap_or_else(PoisonError::into_inner);
        for (id, doc) in &self.copies {
            cache.commit_ended(*id, doc);
        }
    }
}

/// An admitted document waiting for `flush`, with the bytes that carried its new changes
/// (`whole`: one saved document that loads alone to `doc`, kept as its snapshot).
struct Staged {
    header: Header,
    doc: Arc<Automerge>,
    new_changes: Vec<u8>,
    whole: bool,
}

/// `ServerStorage` for one attempt at serving a request: a store plus the shared cache.
pub struct SyncStorage<'a> {
    pub store: &'a dyn Store,
    pub cache: &'a Mutex<DocCache>,
    pub quarantine_limits: QuarantineLimits,
    /// The device syncing: a revoked device's actors write only in its own hand-over.
    pub device: Option<DeviceId>,
    /// Stored heads of the documents `who` may read, as `visible` found them: a cached copy
    /// is used only while its heads are these (another server may have moved the document).
    stored_heads: HashMap<DocumentId, Vec<Hash>>,
    /// The headers of those documents: what the audit log records of a document sent.
    headers: HashMap<DocumentId, Header>,
    /// The generations of the rewritten documents among them (issue #14; absent: 0).
    generations: HashMap<DocumentId, u32>,
    /// The stored heads each loaded document was built on: the base its commit is checked
    /// against (see [`crate::store::DocumentCommit::base`]).
    bases: HashMap<DocumentId, Vec<Hash>>,
    /// Admitted documents not yet written; `flush` writes them in one transaction.
    staged: Vec<Staged>,
    /// What admission read of the staged session logs, in the order staged: kept in the cache
    /// once `flush` made them durable.
    staged_written: Vec<(DocumentId, SessionsWritten)>,
    /// The cache's weight of each loaded document (see [`DocCache::put`]).
    weights: HashMap<DocumentId, usize>,
    /// The audit log's records of the answer about to leave: `flush` commits them with the
    /// staged documents.
    sent: Vec<AuditRecord>,
    /// The deliveries those records record, remembered once they are durable.
    sent_deliveries: Vec<Delivery>,
    /// The server's deliveries recorded lately: one not an hour old is not recorded again.
    /// `None`: every delivery is recorded.
    pub recent_deliveries: Option<&'a Mutex<RecentDeliveries>>,
}

impl<'a> SyncStorage<'a> {
    pub fn new(store: &'a dyn Store, cache: &'a Mutex<DocCache>) -> Self {
        SyncStorage {
            store,
            cache,
            quarantine_limits: QuarantineLimits::default(),
            device: None,
            stored_heads: HashMap::new(),
            headers: HashMap::new(),
            generations: HashMap::new(),
            bases: HashMap::new(),
            staged: Vec::new(),
            staged_written: Vec::new(),
            weights: HashMap::new(),
            sent: Vec::new(),
            sent_deliveries: Vec::new(),
            recent_deliveries: None,
        }
    }

    fn staged(&self, id: DocumentId) -> Option<&Staged> {
        self.staged.iter().rev().find(|s| s.header.id == id)
    }

    fn cache(&self) -> std::sync::MutexGuard<'_, DocCache> {
        // Held for one lookup or insert only, never across a load or a commit.
        self.cache.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The cached copy of `id` (and its weight) if it is the stored document as far as this
    /// sync knows: at the heads `visible` read, or past them (another sync of this server
    /// committed since; the cache never runs ahead of the store). A copy that lacks any of
    /// those heads is behind the store; then a copy another sync of this server is committing
    /// is taken if it is at exactly those heads (the store already shows its commit).
    fn cached(&self, id: DocumentId) -> Option<(Arc<Automerge>, usize)> {
        let stored = self.stored_heads.get(&id);
        // The lock is held for the look-ups only, not while the change graph is asked.
        let cached = self.cache().get(id);
        if let Some((doc, weight)) = cached {
            let fresh = match stored {
                // A document rewritten without its history (issue #14): at exactly the heads
                // read. A new generation's heads can be within the old one's (a roster whose
                // rewrite wrote nothing: its last citizen erased), so a copy of the old
                // generation, kept by a server that did not erase it, would pass for past them.
                Some(stored) if self.generations.contains_key(&id) => {
                    to_hashes(&doc.get_heads()) == *stored
                }
                // Asked of the change graph: a burst's syncs commit to the logs others answer
                // from, and each copy taken for stale was decoded again from the store
                // (PostgreSQL's burst: 29 % of the server's CPU).
                Some(stored) => {
                    to_hashes(&doc.get_heads()) == *stored
                        || doc.get_missing_deps(&from_hashes(stored)).is_empty()
                }
                // Not among the visible documents (a header lookup): the commit's check still
                // catches a stale copy.
                None => true,
            };
            if fresh {
                return Some((doc, weight));
            }
        }
        self.cache().committing_at(id, stored?)
    }
}

impl ServerStorage for SyncStorage<'_> {
    type Error = Error;

    fn visible(&mut self, who: &Principal) -> Result<Vec<(Header, Vec<Hash>)>> {
        let teams: Vec<_> = who.teams().collect();
        // The municipality's library belongs to no team; its id is derived.
        let wider: Vec<_> = who
            .municipality_id
            .map(DocumentId::library_of)
            .into_iter()
            .collect();
        let mut docs = self.store.visible_documents(&teams, &wider)?;
        docs.retain(|d| authorize(who, &d.header, Access::Read).is_ok());
        self.stored_heads = docs
            .iter()
            .map(|d| (d.header.id, d.heads.clone()))
            .collect();
        self.headers = docs.iter().map(|d| (d.header.id, d.header)).collect();
        self.generations = docs
            .iter()
            .filter(|d| d.generation != 0)
            .map(|d| (d.header.id, d.generation))
            .collect();
        Ok(docs.into_iter().map(|d| (d.header, d.heads)).collect())
    }

    fn header(&mut self, id: DocumentId) -> Result<Option<Header>> {
        if let Some(s) = self.staged(id) {
            return Ok(Some(s.header));
        }
        self.store.document_header(id)
    }

    fn load(&mut self, id: DocumentId) -> Result<Option<Arc<Automerge>>> {
        if let Some(s) = self.staged(id) {
            return Ok(Some(s.doc.clone()));
        }
        let doc = match self.cached(id) {
            Some((doc, weight)) => {
                metrics::cache_hit();
                self.weights.insert(id, weight);
                doc
            }
            None => {
                metrics::cache_miss();
                // As stored (one read), so its size is known for the cache's budget.
                let Some((_, saved)) = self.store.saved_document(id)? else {
                    return Ok(None);
                };
                let doc = Automerge::load(&saved)
                    .map_err(|e| Error::CorruptDocument(id, e.to_string()))?;
                // A stored document only grows, except when it is rewritten as a new
                // generation: one that lacks the heads `visible` read was rewritten since, and
                // this sync, which answers at the generation it read, is served again.
                if let Some(stored) = self.stored_heads.get(&id) {
                    if !doc.get_missing_deps(&from_hashes(stored)).is_empty() {
                        return Err(Error::DocumentMoved(id));
                    }
                }
                let doc = Arc::new(doc);
                let weight = saved.len() * MEMORY_PER_SAVED_BYTE;
                let released = self.cache().put(id, doc.clone(), weight);
                drop(released);
                self.weights.insert(id, weight);
                doc
            }
        };
        self.bases
            .entry(id)
            .or_insert_with(|| to_hashes(&doc.get_heads()));
        Ok(Some(doc))
    }

    fn saved(&mut self, id: DocumentId) -> Result<Option<SavedDocument>> {
        if let Some(s) = self.staged(id) {
            return Ok(Some((to_hashes(&s.doc.get_heads()), s.doc.save())));
        }
        // As stored: a cold pull of thousands of documents decodes none of them.
        self.store.saved_document(id)
    }

    fn generation(&mut self, id: DocumentId) -> Result<u32> {
        match self.generations.get(&id) {
            Some(g) => Ok(*g),
            None if self.stored_heads.contains_key(&id) => Ok(0),
            None => self.store.generation(id),
        }
    }

    fn erased(&mut self, id: DocumentId) -> Result<bool> {
        self.store.is_erased(id)
    }

    fn old_generation_hashes(&mut self, id: DocumentId, among: &[Hash]) -> Result<Vec<Hash>> {
        if among.is_empty() {
            return Ok(vec![]);
        }
        self.store.old_generation_hashes(id, among)
    }

    fn registered_actors(
        &mut self,
        who: &Principal,
        among: &[ActorId],
    ) -> Result<HashSet<ActorId>> {
        self.store.actors_for_sync(who.user_id, self.device, among)
    }

    fn commit(
        &mut self,
        header: &Header,
        doc: Arc<Automerge>,
        new_changes: Vec<u8>,
        whole: bool,
    ) -> Result<()> {
        self.staged.push(Staged {
            header: *header,
            doc,
            new_changes,
            whole,
        });
        Ok(())
    }

    fn flush(&mut self) -> Result<()> {
        let staged = std::mem::take(&mut self.staged);
        let written = std::mem::take(&mut self.staged_written);
        // Grown by the new changes (a new document: all of them).
        let weights: Vec<usize> = staged
            .iter()
            .map(|s| {
                let before = self.weights.get(&s.header.id).copied().unwrap_or(0);
                grown_weight(before, &s.new_changes, s.whole)
            })
            .collect();
        let _committing = Committing::start(self.cache, &staged, &weights);
        let batch: Vec<DocumentCommit<'_>> = staged
            .iter()
            .map(|s| DocumentCommit {
                header: &s.header,
                // Never loaded: new to the server.
                base: self.bases.get(&s.header.id).map_or(&[], Vec::as_slice),
                doc: &s.doc,
                new_changes: &s.new_changes,
                whole: s.whole,
            })
            .collect();
        let sent = std::mem::take(&mut self.sent);
        let delivered = std::mem::take(&mut self.sent_deliveries);
        if let Err(e) = self.store.commit_sync(&batch, &sent) {
            if let Error::DocumentMoved(id) = e {
                // Our copy is behind the store: never serve it again.
                self.cache().pop(id);
            }
            return Err(e);
        }
        drop(batch);
        // Remembered only now that the records are durable: a failed commit forgets nothing
        // it should record.
        if let (Some(recent), Some(first)) = (self.recent_deliveries, sent.first()) {
            let mut recent = recent.lock().unwrap_or_else(PoisonError::into_inner);
            for delivery in delivered {
                recent.recorded(delivery, first.recorded_at);
            }
        }
        // Cached only after the store committed: the cache never runs ahead of the disk.
        let mut cache = self.cache.lock().unwrap_or_else(PoisonError::into_inner);
        let mut released = Vec::new();
        for (s, weight) in staged.iter().zip(weights) {
            self.weights.insert(s.header.id, weight);
            released.extend(cache.put(s.header.id, s.doc.clone(), weight));
        }
        for (id, written) in written {
            cache.keep_written(id, written);
        }
        for s in staged.iter().filter(|s| !s.whole) {
            cache.keep_raw_changes(s.header.id, &s.new_changes);
        }
        drop(cache);
        drop(released);
        Ok(())
    }

    fn sessions_written(&mut self, id: DocumentId, written: SessionsWritten) {
        self.staged_written.push((id, written));
    }

    fn session_values(&mut self, id: DocumentId) -> Option<SessionValues> {
        self.cache().take_session_values(id)
    }

    fn keep_session_values(&mut self, id: DocumentId, values: SessionValues) {
        self.cache().keep_session_values(id, values);
    }

    fn answering(&mut self, who: &Principal, replies: &[wire::Reply]) {
        // Which citizens' documents leave for the device is logged before the answer does.
        // The server-wide memory is locked only for an answer that carries changes to a named
        // device: an unchanged reconnect records nothing and does not wait for it.
        let delivers = self.device.is_some() && replies.iter().any(|r| !r.changes.is_empty());
        let recent = self
            .recent_deliveries
            .filter(|_| delivers)
            .map(|r| r.lock().unwrap_or_else(PoisonError::into_inner));
        (self.sent, self.sent_deliveries) = crate::audit::sync_records(
            who,
            self.device,
            &self.headers,
            replies,
            now_ms(),
            recent.as_deref(),
        );
    }

    fn changes_since(&mut self, id: DocumentId, doc: &Automerge, device_heads: &[Hash]) -> Vec<u8> {
        let key = AnswerKey {
            doc: id,
            device_heads: device_heads.to_vec(),
            server_heads: to_hashes(&doc.get_heads()),
        };
        if let Some(answer) = self.cache().answer(&key) {
            metrics::answer_reused();
            return answer.to_vec();
        }
        let answer = changes_since_kept(doc, &from_hashes(device_heads), |hash| {
            self.cache().raw_change(hash)
        });
        metrics::answer_built();
        if !answer.is_empty() {
            self.cache().keep_answer(key, Arc::from(answer.as_slice()));
        }
        answer
    }

    fn quarantine(
        &mut self,
        id: DocumentId,
        generation: u32,
        who: &Principal,
        changes: &[u8],
        reason: &str,
    ) -> Result<Quarantine> {
        let kept = self.store.quarantine(
            id,
            generation,
            who.user_id,
            changes,
            reason,
            &self.quarantine_limits,
        )?;
        // Every refusal is logged once, with its reason, by `Syncer::handle`.
        tracing::debug!(doc = %id, bytes = changes.len(), ?kept, "quarantine");
        Ok(kept)
    }
}

impl LoadedDocuments for Syncer {
    fn loaded(&self, id: DocumentId, heads: &[Hash]) -> Option<Arc<Automerge>> {
        let cache = self.cache.lock().unwrap_or_else(PoisonError::into_inner);
        // Looked at, not used: a projection does not keep a document in the syncs' cache.
        let (doc, _) = cache.lru.peek(&id)?;
        (to_hashes(&doc.get_heads()) == heads).then(|| doc.clone())
    }

    fn sessions_written(&self, id: DocumentId) -> Option<SessionsWritten> {
        self.cache
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take_written(id)
    }
}

/// How often a sync is served again when a document moved under it, before the device is
/// told to come back (503): enough for a burst on one course, bounded so no request spins.
const ATTEMPTS: u32 = 8;

/// Serves sync requests against a store. Blocking: call it from `spawn_blocking`. Syncs run
/// in parallel, in this process and across servers sharing a database: each commit checks
/// that the documents it grew are still at the heads they were loaded at, and a sync whose
/// documents moved is served again from the store (optimistic concurrency: no database lock
/// is held while changes are admitted, so syncs of different documents never wait for each
/// other). Within this process, syncs that change the same document take turns
/// ([`DocumentTurns`]), so they queue instead of colliding at that check.
pub struct Syncer {
    store: Arc<dyn Store>,
    cache: Mutex<DocCache>,
    turns: DocumentTurns,
    limits: Limits,
    quarantine_limits: QuarantineLimits,
    /// Syncs served again because a document moved under them (another server's commit).
    served_again: AtomicU64,
    /// The deliveries to devices this server recorded in the audit log lately.
    recent_deliveries: Mutex<RecentDeliveries>,
}

impl Syncer {
    pub fn new(
        store: Arc<dyn Store>,
        cache_bytes: usize,
        limits: Limits,
        quarantine_limits: QuarantineLimits,
    ) -> Self {
        Syncer {
            store,
            cache: Mutex::new(DocCache::new(cache_bytes)),
            turns: DocumentTurns::default(),
            limits,
            quarantine_limits,
            served_again: AtomicU64::new(0),
            recent_deliveries: Mutex::new(RecentDeliveries::default()),
        }
    }

    /// The documents a sync takes turns on: those it offers changes to that `who` may change
    /// (`auth::may_offer_changes`) or that are not stored yet (two syncs may create one).
    /// Not another team's: their changes are refused unstored, so a turn on them would only
    /// let a user hold up everyone changing that document for as long as their own request
    /// runs. Headers never change, so one look-up before the turns is enough: a cached copy's
    /// own (its genesis), else the store's, for all the others at once.
    fn turns_to_take(&self, who: &Principal, req: &wire::SyncRequest) -> Result<Vec<DocumentId>> {
        let changed: Vec<DocumentId> = req
            .offers
            .iter()
            .filter(|o| !o.changes.is_empty())
            .map(|o| o.doc)
            .collect();
        if changed.is_empty() {
            return Ok(changed);
        }
        let mut stored: HashMap<DocumentId, Header> = HashMap::new();
        let mut ask = Vec::new();
        {
            let mut cache = self.cache.lock().unwrap_or_else(PoisonError::into_inner);
            for &id in &changed {
                match cache
                    .get(id)
                    .and_then(|(doc, _)| read_header(&doc, id).ok())
                {
                    Some(header) => {
                        stored.insert(id, header);
                    }
                    None => ask.push(id),
                }
            }
        }
        if !ask.is_empty() {
            for (header, _) in self.store.document_heads_by_id(&ask)? {
                stored.insert(header.id, header);
            }
        }
        Ok(changed
            .into_iter()
            .filter(|id| {
                stored
                    .get(id)
                    .is_none_or(|header| may_offer_changes(who, header).is_ok())
            })
            .collect())
    }

    /// Decodes a request body, serves it for `who` and returns the encoded response. Nothing
    /// is stored unless the body decodes. (`POST /v1/sync` weighs the body first:
    /// `http::serve_in_slots`.)
    pub fn handle(&self, who: &Principal, body: &[u8]) -> Result<(Vec<u8>, ServeStats)> {
        match self.inflate(who, body, usize::MAX)? {
            wire::Inflated::Within(raw) => self
                .handle_inflated(who, None, raw)
                .map(|(encoded, stats, _)| (encoded, stats)),
            // An unlimited budget ends at the limit, which is an error.
            wire::Inflated::Beyond { .. } => Err(Error::Wire(wire::WireError::TooLarge(
                self.limits.max_decompressed,
            ))),
        }
    }

    /// Inflates a request body into at most `budget` bytes ([`wire::inflate_request`]).
    pub fn inflate(&self, who: &Principal, body: &[u8], budget: usize) -> Result<wire::Inflated> {
        Ok(wire::inflate_request(body, budget, &self.limits).inspect_err(|e| refused(who, e))?)
    }

    /// Serves a body [`Syncer::inflate`] inflated for `who` on `device`, also saying whether
    /// the device had anything left to hand over (for a revoked device's hand-over); the
    /// inflated bytes are let go once decoded (the request holds its own copy of every change).
    pub fn handle_inflated(
        &self,
        who: &Principal,
        device: Option<DeviceId>,
        raw: Vec<u8>,
    ) -> Result<(Vec<u8>, ServeStats, HandOverSync)> {
        let req =
            wire::decode_inflated_request(&raw, &self.limits).inspect_err(|e| refused(who, e))?;
        drop(raw);
        let offered_changes = req.offers.iter().any(|o| !o.changes.is_empty());
        // Before anything is read: what the sync loads is what the one before it committed.
        let turns = self.turns.take(self.turns_to_take(who, &req)?);
        if turns.waited {
            metrics::sync_waited_turn();
        }
        let mut attempt = 1;
        let (resp, stats) = loop {
            let mut storage = SyncStorage::new(self.store.as_ref(), &self.cache);
            storage.quarantine_limits = self.quarantine_limits;
            storage.device = device;
            storage.recent_deliveries = Some(&self.recent_deliveries);
            match serve_sync(&mut storage, who, &req) {
                Err(Error::DocumentMoved(doc)) if attempt < ATTEMPTS => {
                    metrics::sync_retried();
                    self.served_again.fetch_add(1, Ordering::Relaxed);
                    tracing::debug!(%doc, attempt, "document moved during the sync; serving it again");
                    // Spread the retries of syncs that collided so they do not collide again.
                    let jitter = rand::random::<u64>() % (1 << attempt.min(6));
                    std::thread::sleep(std::time::Duration::from_millis(jitter));
                    attempt += 1;
                }
                // The audit log's records of the answer were committed with its documents.
                other => break other?,
            }
        };
        drop(turns);
        let hand_over = HandOverSync {
            offered_changes,
            asked_whole: resp
                .replies
                .iter()
                .any(|r| r.status == wire::ReplyStatus::SendFull),
            // Said by the device in headers; the handler adds them.
            parked_work: false,
            look_ups_waiting: false,
        };
        // A refusal is the client's problem (or a hostile client's), not the server's: WARN.
        for reply in &resp.replies {
            if let wire::ReplyStatus::Rejected(reason) = &reply.status {
                let reason = loggable(reason);
                tracing::warn!(doc = %reply.doc, user = %who.user_id, %reason, "changes refused");
            }
        }
        Ok((wire::encode(&resp), stats, hand_over))
    }

    /// Drops cached copies of these documents (after an erasure: the old generation must not
    /// stay in memory; it would never be served, its heads are no longer the stored ones).
    pub fn forget(&self, ids: &[DocumentId]) {
        let mut cache = self.cache.lock().unwrap_or_else(PoisonError::into_inner);
        for id in ids {
            cache.forget(*id);
        }
    }

    /// Syncs served again since start because a document moved under them: with turns taken
    /// per document, only another server's commit moves one.
    pub fn served_again(&self) -> u64 {
        self.served_again.load(Ordering::Relaxed)
    }

    /// Number of documents currently cached.
    pub fn cached(&self) -> usize {
        self.cache
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }
}

/// A refusal's reason as the log may hold it: what the client wrote is quoted in it (`'…' is
/// not a date`), and a client can write a citizen's name anywhere, so the quoted parts are
/// left out, and the rest is cut short (docs/security.md §4: nothing sensitive in logs).
fn loggable(reason: &str) -> String {
    const QUOTES: [(char, char); 4] = [('\'', '\''), ('`', '`'), ('"', '"'), ('«', '»')];
    let mut out = String::new();
    let mut closing = None;
    for c in reason.chars() {
        match closing {
            Some(end) if c == end => {
                out.push('…');
                out.push(c);
                closing = None;
            }
            Some(_) => {}
            None => {
                out.push(c);
                closing = QUOTES
                    .iter()
                    .find(|(open, _)| *open == c)
                    .map(|(_, end)| *end);
            }
        }
        if out.chars().count() >= 160 {
            out.push('…');
            break;
        }
    }
    out
}

/// A request that does not decode is the client's fault, not the server's: a warning with the
/// reason, and a count.
fn refused(who: &Principal, e: &wire::WireError) {
    tracing::warn!(user = %who.user_id, reason = %e, "sync request refused: it does not decode");
    metrics::client_error("malformed_request");
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_refusal_is_logged_without_what_the_client_wrote() {
        assert_eq!(
            super::loggable("'Karen Jensen' is not a date (YYYY-MM-DD)"),
            "'…' is not a date (YYYY-MM-DD)"
        );
        assert_eq!(
            super::loggable("`Søren` is not a place; use home or clinic"),
            "`…` is not a place; use home or clinic"
        );
        // An unclosed quote hides the rest; a long reason is cut.
        assert_eq!(super::loggable("'Karen"), "'");
        assert!(super::loggable(&"x".repeat(1_000)).chars().count() <= 161);
    }

    use super::*;
    use crate::store::SqliteStore;
    #[allow(unused_imports)]
    use crate::store::{AccountStore, DocumentStore, EvidenceStore, MediaStore, ReadModelStore};
    use homerehab_shared::docs::genesis;
    use homerehab_shared::ids::TeamId;

    /// The projector reads a document from the syncs' cache only while the cached copy is the
    /// stored one; a copy behind the store (another server committed) is not used.
    #[test]
    fn a_projection_reads_a_cached_document_only_at_the_stored_heads() {
        let dir = tempfile::tempdir().unwrap();
        let store: Arc<dyn Store> =
            Arc::new(SqliteStore::open(&dir.path().join("db.sqlite3")).unwrap());
        let header = Header::course(TeamId::new(), homerehab_shared::ids::CourseId::new());
        let doc = genesis(&header);
        store.commit_document(&header, &[], &doc, &[]).unwrap();
        let syncer = Syncer::new(
            store.clone(),
            1 << 20,
            Limits::default(),
            QuarantineLimits::default(),
        );
        let stored = to_hashes(&doc.get_heads());
        assert!(
            syncer.loaded(header.id, &stored).is_none(),
            "not loaded yet"
        );
        let mut storage = SyncStorage::new(store.as_ref(), &syncer.cache);
        storage.load(header.id).unwrap();
        let loaded = syncer
            .loaded(header.id, &stored)
            .expect("loaded at the stored heads");
        assert_eq!(to_hashes(&loaded.get_heads()), stored);
        assert!(
            syncer.loaded(header.id, &[[7; 32]]).is_none(),
            "a copy behind the store"
        );
        // Its rows are the stored document's, read from the cache.
        let mut memo = crate::store::ProjectionMemo::new(1 << 20).reading_from(Arc::new(syncer));
        let rows = store
            .derive_rows_after(header.id, &mut memo)
            .unwrap()
            .unwrap();
        assert_eq!(rows, store.derive_rows(header.id).unwrap().unwrap());
    }

    /// What admission read of a committed log reaches the projector, which then answers the
    /// log's rows without reading it — the rows of the whole log — and only while it leads to
    /// the stored heads: a log another server moved is read.
    #[test]
    fn a_projection_takes_what_admission_read_of_a_log_only_up_to_the_stored_heads() {
        use homerehab_shared::docs;
        use homerehab_shared::model::{Role, SessionLog};
        use homerehab_shared::sync::raw_changes_since;
        let dir = tempfile::tempdir().unwrap();
        let store: Arc<dyn Store> =
            Arc::new(SqliteStore::open(&dir.path().join("db.sqlite3")).unwrap());
        let municipality = store.ensure_municipality("Kommune").unwrap();
        let team = store.ensure_team(municipality, "Team").unwrap();
        let course = homerehab_shared::ids::CourseId::new();
        let header = Header::session_log(team, course);
        let stored = genesis(&header);
        store.commit_document(&header, &[], &stored, &[]).unwrap();
        let user_id = store
            .create_user(&crate::store::NewUser {
                username: "assistent".into(),
                display_name: "Assistent".into(),
                password_hash: "$argon2id$...".into(),
                role: Role::Assistant,
                team_id: team,
                granted_teams: vec![],
            })
            .unwrap();
        let who = Principal {
            user_id,
            role: Role::Assistant,
            team_id: team,
            granted_teams: vec![],
            municipality_id: Some(municipality),
        };
        let tablet_actor = ActorId::random();
        store.register_actor(user_id, &tablet_actor).unwrap();
        let mut tablet = stored.fork().with_actor(tablet_actor);
        let syncer = Arc::new(Syncer::new(
            store.clone(),
            1 << 20,
            Limits::default(),
            QuarantineLimits::default(),
        ));
        let mut memo = crate::store::ProjectionMemo::new(1 << 20).reading_from(syncer.clone());
        // The log projected once, as the projector does when it is created.
        store
            .derive_rows_after(header.id, &mut memo)
            .unwrap()
            .unwrap();
        let read = memo.unread();
        // A sync of this server (`serve_sync` itself) admits two new sessions.
        let sync = |tablet: &Automerge| {
            let (server_heads, _) = store.saved_document(header.id).unwrap().unwrap();
            let request = homerehab_shared::sync::SyncRequest {
                protocol: homerehab_shared::sync::PROTOCOL_VERSION,
                offers: vec![homerehab_shared::sync::Offer {
                    doc: header.id,
                    heads: to_hashes(&tablet.get_heads()),
                    changes: raw_changes_since(tablet, &from_hashes(&server_heads)),
                    generation: 0,
                }],
            };
            let mut storage = SyncStorage::new(store.as_ref(), &syncer.cache);
            let (_, stats) =
                homerehab_shared::sync::serve_sync(&mut storage, &who, &request).unwrap();
            assert_eq!(stats.accepted, 1, "{stats:?}");
        };
        for at in [1_000, 2_000] {
            let session = SessionLog::start(course, who.user_id, None, at);
            docs::put_session(&mut tablet, &session, at).unwrap();
        }
        sync(&tablet);
        // What admission read is kept for the log's next sync, at the heads stored.
        let values_at = || {
            let cache = syncer.cache.lock().unwrap();
            let (values, _) = cache.session_values.peek(&header.id)?;
            Some(values.heads().to_vec())
        };
        let stored_heads = |store: &Arc<dyn Store>| {
            let (heads, _) = store.saved_document(header.id).unwrap().unwrap();
            from_hashes(&heads)
        };
        assert_eq!(values_at(), Some(stored_heads(&store)));
        let rows = store
            .derive_rows_after(header.id, &mut memo)
            .unwrap()
            .unwrap();
        assert_eq!(memo.unread(), read + 1, "answered from what admission read");
        assert_eq!(rows, store.derive_rows(header.id).unwrap().unwrap());
        assert_eq!(rows.sessions.len(), 2);
        // Another server moves the log after this one's sync: what this one read stops short
        // of the stored heads, so the log is read.
        let session = SessionLog::start(course, who.user_id, None, 3_000);
        docs::put_session(&mut tablet, &session, 3_000).unwrap();
        sync(&tablet);
        assert_eq!(
            values_at(),
            Some(stored_heads(&store)),
            "taken and kept again"
        );
        let mut elsewhere = tablet.fork();
        docs::finish_session(&mut elsewhere, session.id, Some(3), None, 3_500).unwrap();
        let base = to_hashes(&tablet.get_heads());
        let moved = raw_changes_since(&elsewhere, &tablet.get_heads());
        store
            .commit_document(&header, &base, &elsewhere, &moved)
            .unwrap();
        let rows = store
            .derive_rows_after(header.id, &mut memo)
            .unwrap()
            .unwrap();
        assert_eq!(
            memo.unread(),
            read + 1,
            "not answered from a read behind the store"
        );
        assert_eq!(rows, store.derive_rows(header.id).unwrap().unwrap());
        assert_eq!(rows.deliveries[0].delivered, 1);
    }

    /// A course stored at its genesis, in a fresh store.
    fn a_stored_course() -> (tempfile::TempDir, SqliteStore, Header, Automerge) {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("db.sqlite3")).unwrap();
        let header = Header::course(TeamId::new(), homerehab_shared::ids::CourseId::new());
        let doc = genesis(&header);
        store.commit_document(&header, &[], &doc, &[]).unwrap();
        (dir, store, header, doc)
    }

    /// A sync takes turns on the documents it may change and on those not stored yet, never
    /// on another team's: a user could otherwise hold up everyone changing a document they may
    /// not touch for as long as their own request runs.
    #[test]
    fn a_sync_takes_no_turn_on_a_document_it_may_not_change() {
        use homerehab_shared::model::Role;
        let (_dir, store, header, _) = a_stored_course();
        let syncer = Syncer::new(
            Arc::new(store),
            1 << 20,
            Limits::default(),
            QuarantineLimits::default(),
        );
        let therapist = |team_id| Principal {
            user_id: homerehab_shared::ids::UserId::new(),
            role: Role::Therapist,
            team_id,
            granted_teams: vec![],
            municipality_id: None,
        };
        let new_doc = DocumentId::new();
        let offer = |doc, changes: &[u8]| wire::Offer {
            doc,
            heads: vec![],
            changes: changes.to_vec(),
            generation: 0,
        };
        let req = wire::SyncRequest {
            protocol: wire::PROTOCOL_VERSION,
            offers: vec![
                offer(header.id, b"changes"),
                offer(new_doc, b"changes"),
                offer(DocumentId::new(), b""),
            ],
        };
        let own = syncer
            .turns_to_take(&therapist(header.team_id), &req)
            .unwrap();
        assert_eq!(own, [header.id, new_doc]);
        let other = syncer
            .turns_to_take(&therapist(TeamId::new()), &req)
            .unwrap();
        assert_eq!(other, [new_doc], "not another team's course");
        // A copy in the cache answers its own header: one the store has not committed yet
        // (this server is committing it) is another team's all the same.
        let cached = Header::course(TeamId::new(), homerehab_shared::ids::CourseId::new());
        let evicted = syncer
            .cache
            .lock()
            .unwrap()
            .put(cached.id, Arc::new(genesis(&cached)), 1);
        assert!(evicted.is_empty());
        let req = wire::SyncRequest {
            protocol: wire::PROTOCOL_VERSION,
            offers: vec![offer(cached.id, b"changes")],
        };
        let turns = syncer
            .turns_to_take(&therapist(header.team_id), &req)
            .unwrap();
        assert!(turns.is_empty(), "{turns:?}");
        let turns = syncer
            .turns_to_take(&therapist(cached.team_id), &req)
            .unwrap();
        assert_eq!(turns, [cached.id]);
    }

    /// `doc` with one more change (`x` put to `n`), not stored.
    fn edited(doc: &Automerge, n: i64) -> Automerge {
        use automerge::transaction::Transactable;
        let mut doc = doc.fork();
        let mut tx = doc.transaction();
        tx.put(automerge::ROOT, "x", n).unwrap();
        tx.commit();
        doc
    }

    /// A cached copy past the heads a sync's `visible` read (this server committed since) is
    /// used; one behind them (another server committed) is decoded again from the store.
    #[test]
    fn a_cached_copy_is_used_at_or_past_the_heads_the_sync_saw_never_behind() {
        let (_dir, store, header, seen) = a_stored_course();
        let later = edited(&seen, 1);
        let seen_heads = to_hashes(&seen.get_heads());
        let later_heads = to_hashes(&later.get_heads());
        let change = homerehab_shared::sync::raw_changes_since(&later, &seen.get_heads());
        store
            .commit_document(&header, &seen_heads, &later, &change)
            .unwrap();
        let cache = Mutex::new(DocCache::new(1 << 20));
        let later = Arc::new(later);
        let _ = cache.lock().unwrap().put(header.id, later.clone(), 1);
        // The sync saw the document before the commit that put the cached copy there.
        let mut storage = SyncStorage::new(&store, &cache);
        storage.stored_heads.insert(header.id, seen_heads.clone());
        let loaded = storage.load(header.id).unwrap().unwrap();
        assert!(
            Arc::ptr_eq(&loaded, &later),
            "the cached copy, not decoded again"
        );
        // A copy behind what the sync saw is not used.
        let behind = Arc::new(seen);
        let _ = cache.lock().unwrap().put(header.id, behind.clone(), 1);
        let mut storage = SyncStorage::new(&store, &cache);
        storage.stored_heads.insert(header.id, later_heads.clone());
        let loaded = storage.load(header.id).unwrap().unwrap();
        assert!(!Arc::ptr_eq(&loaded, &behind));
        assert_eq!(to_hashes(&loaded.get_heads()), later_heads);
    }

    /// A document rewritten as a new generation whose heads lie within the old one's (a
    /// roster whose last citizen was erased: the rewrite writes nothing): a copy of the old
    /// generation cached by a server that did not erase it is not taken for the new one, and a
    /// sync that read the old generation and meets the new one in the store is served again.
    #[test]
    fn a_copy_of_an_older_generation_is_never_taken_for_the_new_one() {
        use crate::store::{DocumentRewrite, ErasureCommit, ErasureStore};
        let (_dir, store, header, fresh) = a_stored_course();
        let old = edited(&fresh, 1);
        let fresh_heads = to_hashes(&fresh.get_heads());
        let old_heads = to_hashes(&old.get_heads());
        let change = homerehab_shared::sync::raw_changes_since(&old, &fresh.get_heads());
        store
            .commit_document(&header, &fresh_heads, &old, &change)
            .unwrap();
        let old_hashes: Vec<Hash> = old.get_changes(&[]).iter().map(|c| c.hash().0).collect();
        // Generation 1 is the genesis alone: its heads are within generation 0's.
        store
            .erase(&ErasureCommit {
                deleted: &[],
                rewritten: &[DocumentRewrite {
                    header: &header,
                    base: &old_heads,
                    doc: &fresh,
                    generation: 1,
                    old_hashes: &old_hashes,
                }],
                ledger: &[],
            })
            .unwrap();
        let cache = Mutex::new(DocCache::new(1 << 20));
        let old = Arc::new(old);
        let _ = cache.lock().unwrap().put(header.id, old.clone(), 1);
        // A sync that read generation 1.
        let mut storage = SyncStorage::new(&store, &cache);
        storage.stored_heads.insert(header.id, fresh_heads.clone());
        storage.generations.insert(header.id, 1);
        let loaded = storage.load(header.id).unwrap().unwrap();
        assert!(!Arc::ptr_eq(&loaded, &old), "the old generation's copy");
        assert_eq!(to_hashes(&loaded.get_heads()), fresh_heads);
        // A sync that read generation 0 before the erasure, its copy no longer cached.
        cache.lock().unwrap().forget(header.id);
        let mut storage = SyncStorage::new(&store, &cache);
        storage.stored_heads.insert(header.id, old_heads.clone());
        assert!(matches!(
            storage.load(header.id),
            Err(Error::DocumentMoved(id)) if id == header.id
        ));
    }

    /// Between the store's commit and the cache's, a sync that read the new heads takes the
    /// copy being committed, not the older cached one decoded again; a copy being committed at
    /// other heads than the store shows (its commit not yet, or never, stored) is not used.
    #[test]
    fn a_copy_being_committed_is_used_only_at_the_heads_the_store_shows() {
        let (_dir, store, header, seen) = a_stored_course();
        let (committed, not_stored) = (Arc::new(edited(&seen, 1)), Arc::new(edited(&seen, 2)));
        let seen_heads = to_hashes(&seen.get_heads());
        let change = homerehab_shared::sync::raw_changes_since(&committed, &seen.get_heads());
        store
            .commit_document(&header, &seen_heads, &committed, &change)
            .unwrap();
        let committed_heads = to_hashes(&committed.get_heads());
        let cache = Mutex::new(DocCache::new(1 << 20));
        let behind = Arc::new(seen);
        let _ = cache.lock().unwrap().put(header.id, behind.clone(), 1);
        let load = || {
            let mut storage = SyncStorage::new(&store, &cache);
            storage
                .stored_heads
                .insert(header.id, committed_heads.clone());
            storage.load(header.id).unwrap().unwrap()
        };
        // Another sync's commit of a state the store does not hold: decoded from the store.
        cache
            .lock()
            .unwrap()
            .commit_started(header.id, not_stored.clone(), 1);
        let loaded = load();
        assert!(!Arc::ptr_eq(&loaded, &not_stored) && !Arc::ptr_eq(&loaded, &behind));
        assert_eq!(to_hashes(&loaded.get_heads()), committed_heads);
        // The commit the store shows, still being committed: its copy.
        let _ = cache.lock().unwrap().put(header.id, behind.clone(), 1);
        cache
            .lock()
            .unwrap()
            .commit_started(header.id, committed.clone(), 1);
        assert!(Arc::ptr_eq(&load(), &committed), "the copy being committed");
        // Once that commit returned, its copy is no longer shown as being committed.
        let _ = cache.lock().unwrap().put(header.id, behind.clone(), 1);
        cache.lock().unwrap().commit_ended(header.id, &committed);
        cache.lock().unwrap().commit_ended(header.id, &not_stored);
        assert!(cache.lock().unwrap().committing.is_empty());
        assert!(!Arc::ptr_eq(&load(), &committed));
    }

    /// What an answer carries is recorded in the commit of the documents it stored: not when
    /// they moved under the sync (served again, the attempt's answer never left), and once
    /// when they commit.
    #[test]
    fn an_answer_is_recorded_with_its_documents_and_not_when_they_moved() {
        use crate::store::AuditStore;
        use homerehab_shared::audit::AuditAction;
        use homerehab_shared::model::Role;
        let (_dir, store, header, seen) = a_stored_course();
        let who = Principal {
            user_id: homerehab_shared::ids::UserId::new(),
            role: Role::Therapist,
            team_id: header.team_id,
            granted_teams: vec![],
            municipality_id: None,
        };
        let cache = Mutex::new(DocCache::new(1 << 20));
        let recent = Mutex::new(RecentDeliveries::default());
        let device = homerehab_shared::ids::DeviceId::new();
        let attempt = |edit: i64| {
            let mut storage = SyncStorage::new(&store, &cache);
            storage.device = Some(device);
            storage.recent_deliveries = Some(&recent);
            let loaded = storage.load(header.id).unwrap().unwrap();
            let grown = edited(&loaded, edit);
            let change = homerehab_shared::sync::raw_changes_since(&grown, &loaded.get_heads());
            storage
                .commit(&header, Arc::new(grown), change.clone(), false)
                .unwrap();
            let reply = wire::Reply {
                doc: header.id,
                status: wire::ReplyStatus::Synced,
                heads: vec![],
                changes: change,
                header: Some(header),
                generation: 0,
            };
            storage.answering(&who, &[reply]);
            storage
        };
        let mut moved = attempt(1);
        // Another server commits to the course after this sync loaded it.
        let elsewhere = edited(&seen, 2);
        let change = homerehab_shared::sync::raw_changes_since(&elsewhere, &seen.get_heads());
        store
            .commit_document(&header, &to_hashes(&seen.get_heads()), &elsewhere, &change)
            .unwrap();
        assert!(matches!(moved.flush(), Err(Error::DocumentMoved(id)) if id == header.id));
        assert!(
            store.audit_entries(0, 10).unwrap().is_empty(),
            "nothing recorded of an answer that never left"
        );
        assert!(
            recent.lock().unwrap().is_empty(),
            "nor remembered as recorded"
        );
        attempt(3).flush().unwrap();
        let entries = store.audit_entries(0, 10).unwrap();
        assert_eq!(entries.len(), 1, "{entries:?}");
        let entry = entries[0].as_ref().unwrap();
        assert_eq!(entry.record.action, AuditAction::SyncedCourse);
        assert_eq!(entry.record.course, header.course_id);
        assert_eq!(entry.record.user, Some(who.user_id));
        assert_eq!(entry.record.device, Some(device));
        // The device's next sync within the hour brings more of the course: the record above
        // stands for it.
        attempt(4).flush().unwrap();
        assert_eq!(store.audit_entries(0, 10).unwrap().len(), 1);
    }

    #[test]
    fn the_cache_evicts_beyond_its_memory_budget() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("db.sqlite3")).unwrap();
        let team = TeamId::new();
        let headers: Vec<Header> = (0..3)
            .map(|_| Header::course(team, homerehab_shared::ids::CourseId::new()))
            .collect();
        for h in &headers {
            store.commit_document(h, &[], &genesis(h), &[]).unwrap();
        }
        // Room for two of these documents, not three.
        let weight = genesis(&headers[0]).save().len() * MEMORY_PER_SAVED_BYTE;
        let cache = Mutex::new(DocCache::new(weight * 5 / 2));
        let mut storage = SyncStorage::new(&store, &cache);
        for h in &headers {
            assert!(storage.load(h.id).unwrap().is_some());
        }
        let cache = cache.into_inner().unwrap();
        assert_eq!(cache.len(), 2);
        assert!(cache.used_bytes() <= weight * 5 / 2);
        assert!(!cache.contains(headers[0].id));
        assert!(cache.contains(headers[1].id) && cache.contains(headers[2].id));
        // A budget smaller than one document still keeps the last one used.
        let cache = Mutex::new(DocCache::new(1));
        let mut storage = SyncStorage::new(&store, &cache);
        for h in &headers {
            assert!(storage.load(h.id).unwrap().is_some());
        }
        assert_eq!(cache.into_inner().unwrap().len(), 1);
    }

    /// A session log grown one set at a time, as a busy tablet's syncs bring it, weighs about
    /// what the same log weighs loaded from its saved bytes: not many times more, or the cache
    /// evicts the logs it is serving and decodes them again (one team of 50: 2,656 decodes in
    /// 10 s with raw bytes weighed as saved ones).
    #[test]
    fn a_log_grown_set_by_set_weighs_about_what_it_weighs_loaded() {
        use homerehab_shared::ids::{CourseId, ProgramExerciseId, UserId};
        use homerehab_shared::model::{SessionLog, SetLog};
        let course = CourseId::new();
        let header = Header::session_log(TeamId::new(), course);
        let mut log = genesis(&header).with_actor(automerge::ActorId::random());
        let mut weight = log.save().len() * MEMORY_PER_SAVED_BYTE;
        let line = ProgramExerciseId::new();
        for _ in 0..10 {
            let at = 1_700_000_000_000;
            let session = SessionLog::start(course, UserId::new(), None, at);
            homerehab_shared::docs::put_session(&mut log, &session, at).unwrap();
            for reps in 0..24 {
                let before = log.get_heads();
                let set = SetLog {
                    reps: Some(reps),
                    duration_s: None,
                    load_kg: Some(2.0),
                    at,
                };
                homerehab_shared::docs::log_set(
                    &mut log,
                    session.id,
                    line,
                    "sit-to-stand",
                    &set,
                    at,
                )
                .unwrap();
                let change = homerehab_shared::sync::raw_changes_since(&log, &before);
                weight = grown_weight(weight, &change, false);
            }
        }
        let loaded = log.save().len() * MEMORY_PER_SAVED_BYTE;
        assert!(
            weight <= 3 * loaded,
            "grown {weight} B against {loaded} B loaded"
        );
        // A whole document weighs as loaded, whatever it weighed before.
        assert_eq!(grown_weight(weight, &log.save(), true), loaded);
    }

    #[test]
    fn an_answer_is_the_committed_raw_changes_when_all_are_kept_and_none_after_a_forget() {
        let (_dir, store, header, genesis_doc) = a_stored_course();
        let device = to_hashes(&genesis_doc.get_heads());
        let cache = Mutex::new(DocCache::new(1 << 20));
        // Two tablets' concurrent edits, committed one sync after the other.
        let (first, second) = (edited(&genesis_doc, 1), edited(&genesis_doc, 2));
        let mut raw = Vec::new();
        let mut server = genesis_doc.clone();
        for tablet in [&first, &second] {
            let change =
                homerehab_shared::sync::raw_changes_since(tablet, &genesis_doc.get_heads());
            server.load_incremental(&change).unwrap();
            let mut storage = SyncStorage::new(&store, &cache);
            storage.load(header.id).unwrap();
            storage
                .commit(&header, Arc::new(server.clone()), change.clone(), false)
                .unwrap();
            storage.flush().unwrap();
            raw.push(change);
        }
        assert_eq!(cache.lock().unwrap().raw_changes.len(), 2);
        // A third tablet, still at genesis: the two changes as they came, in the document's
        // order, and they bring it to the server's heads.
        let mut storage = SyncStorage::new(&store, &cache);
        let answer = storage.changes_since(header.id, &server, &device);
        let in_order: Vec<u8> = server
            .get_changes(&genesis_doc.get_heads())
            .iter()
            .flat_map(|c| c.raw_bytes().to_vec())
            .collect();
        assert_eq!(answer, in_order);
        assert!(
            answer == [raw[0].clone(), raw[1].clone()].concat()
                || answer == [raw[1].clone(), raw[0].clone()].concat()
        );
        let mut at_device = genesis_doc.clone();
        at_device.load_incremental(&answer).unwrap();
        assert_eq!(at_device.get_heads(), server.get_heads());
        // An erasure forgets them (they may hold what was erased); the answer is built again,
        // as a bundle, and brings the device as far.
        cache.lock().unwrap().forget(header.id);
        {
            let cache = cache.lock().unwrap();
            assert!(cache.raw_changes.is_empty());
            assert_eq!(cache.raw_changes_used, 0);
        }
        let built = storage.changes_since(header.id, &server, &device);
        assert_ne!(built, answer);
        let mut at_device = genesis_doc.clone();
        at_device.load_incremental(&built).unwrap();
        assert_eq!(at_device.get_heads(), server.get_heads());
        // A budget too small keeps none.
        let mut small = DocCache::new(16);
        small.keep_raw_changes(header.id, &raw[0]);
        assert!(small.raw_changes.is_empty());
        assert_eq!(small.raw_changes_used, 0);
    }

    #[test]
    fn an_answer_is_reused_only_for_the_same_heads_and_forgotten_with_its_document() {
        use automerge::transaction::Transactable;
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("db.sqlite3")).unwrap();
        let header = Header::course(TeamId::new(), homerehab_shared::ids::CourseId::new());
        let mut doc = genesis(&header);
        let device = to_hashes(&doc.get_heads());
        let edit = |doc: &mut Automerge, v: i64| {
            let mut tx = doc.transaction();
            tx.put(automerge::ROOT, "x", v).unwrap();
            tx.commit();
        };
        edit(&mut doc, 1);
        let cache = Mutex::new(DocCache::new(1 << 20));
        let mut storage = SyncStorage::new(&store, &cache);
        assert!(!storage.changes_since(header.id, &doc, &device).is_empty());
        assert_eq!(cache.lock().unwrap().answers.len(), 1);
        // The same question is answered from the cache: a kept answer is what comes back, not
        // one built again (the stand-in below could never be built from the document).
        let key = AnswerKey {
            doc: header.id,
            device_heads: device.clone(),
            server_heads: to_hashes(&doc.get_heads()),
        };
        let stand_in: Arc<[u8]> = Arc::from(&b"kept"[..]);
        cache.lock().unwrap().keep_answer(key, stand_in);
        assert_eq!(storage.changes_since(header.id, &doc, &device), b"kept");
        assert_eq!(cache.lock().unwrap().answers.len(), 1);
        // The document moved on: a new answer, which brings a device all the way.
        edit(&mut doc, 2);
        let second = storage.changes_since(header.id, &doc, &device);
        let mut at_device = genesis(&header);
        at_device.load_incremental(&second).unwrap();
        assert_eq!(at_device.get_heads(), doc.get_heads());
        assert_eq!(cache.lock().unwrap().answers.len(), 2);
        // An erasure forgets the document's answers (they may hold what was erased).
        cache.lock().unwrap().forget(header.id);
        let cache = cache.into_inner().unwrap();
        assert!(cache.answers.is_empty());
        assert_eq!(cache.answers_used, 0);
        // A budget too small for any answer keeps none.
        let cache = Mutex::new(DocCache::new(8));
        let mut storage = SyncStorage::new(&store, &cache);
        assert_eq!(storage.changes_since(header.id, &doc, &device), second);
        assert!(cache.into_inner().unwrap().answers.is_empty());
    }
}
