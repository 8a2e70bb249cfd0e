//! In-memory device and server storage and a simulated network, so the sync core can be
//! exercised (and property-tested) without processes or sockets. Every message still goes
//! through the real codec.

use super::client::{
    plan_offer, ClientRound, ClientStorage, OfferPlan, PendingOffer, Refusal, SyncReport,
    UnsentChanges, WholeDocument, REQUEST_CHANGE_BYTES,
};
use super::server::{serve_sync, ServerStorage};
use super::wire::{self, from_hashes, to_hashes, Hash, Limits, Offer};
use crate::admission::Authors;
use crate::auth::{authorize, Access, Principal};
use crate::docs::{DocumentKind, Header};
use crate::ids::{DocumentId, UserId};
use automerge::{ActorId, Automerge, ChangeHash};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::convert::Infallible;
use std::sync::Arc;

/// A server that keeps everything in memory.
#[derive(Default)]
pub struct MemoryServer {
    pub docs: BTreeMap<DocumentId, (Header, Arc<Automerge>)>,
    pub actors: HashMap<UserId, HashSet<ActorId>>,
    pub quarantined: Vec<(DocumentId, String)>,
    /// Documents rewritten without their history (issue #14): their generation and the hashes
    /// of every older generation's changes.
    pub generations: HashMap<DocumentId, (u32, HashSet<Hash>)>,
    /// Erased documents, answered `Erased` for ever.
    pub tombstones: HashSet<DocumentId>,
    /// What admission last read of each session log, as the sync server keeps it, so the
    /// simulations admit sessions grown from it as the server does.
    pub session_values: HashMap<DocumentId, crate::admission::SessionValues>,
}

impl MemoryServer {
    /// Erases a document, as the server's erasure does.
    pub fn erase(&mut self, id: DocumentId) {
        self.docs.remove(&id);
        self.generations.remove(&id);
        self.tombstones.insert(id);
    }

    /// Replaces a document with its next generation `new` (rewritten without its history),
    /// keeping only the hashes of the old one's changes.
    pub fn rewrite(&mut self, id: DocumentId, new: Automerge) {
        let (header, old) = self.docs.remove(&id).expect("a stored document");
        let entry = self.generations.entry(id).or_default();
        entry.0 += 1;
        entry
            .1
            .extend(old.get_changes_meta(&[]).iter().map(|c| c.hash.0));
        self.docs.insert(id, (header, Arc::new(new)));
    }
}

#[derive(Debug, thiserror::Error)]
#[error("simulated network: {0}")]
pub struct SimError(String);

impl ServerStorage for MemoryServer {
    type Error = Infallible;
    fn visible(&mut self, who: &Principal) -> Result<Vec<(Header, Vec<Hash>)>, Infallible> {
        Ok(self
            .docs
            .values()
            .filter(|(h, _)| authorize(who, h, Access::Read).is_ok())
            .map(|(h, d)| (*h, to_hashes(&d.get_heads())))
            .collect())
    }
    fn header(&mut self, id: DocumentId) -> Result<Option<Header>, Infallible> {
        Ok(self.docs.get(&id).map(|(h, _)| *h))
    }
    fn load(&mut self, id: DocumentId) -> Result<Option<Arc<Automerge>>, Infallible> {
        Ok(self.docs.get(&id).map(|(_, d)| d.clone()))
    }
    fn saved(&mut self, id: DocumentId) -> Result<Option<super::SavedDocument>, Infallible> {
        Ok(self
            .docs
            .get(&id)
            .map(|(_, d)| (to_hashes(&d.get_heads()), d.save())))
    }
    fn registered_actors(
        &mut self,
        who: &Principal,
        among: &[ActorId],
    ) -> Result<HashSet<ActorId>, Infallible> {
        let Some(mut theirs) = self.actors.get(&who.user_id) else {
            return Ok(HashSet::new());
        };
        Ok(theirs.registered(among))
    }
    fn commit(
        &mut self,
        header: &Header,
        doc: Arc<Automerge>,
        _new: Vec<u8>,
        _whole: bool,
    ) -> Result<(), Infallible> {
        self.docs.insert(header.id, (*header, doc));
        Ok(())
    }
    fn flush(&mut self) -> Result<(), Infallible> {
        Ok(())
    }
    fn session_values(&mut self, id: DocumentId) -> Option<crate::admission::SessionValues> {
        self.session_values.remove(&id)
    }
    fn keep_session_values(&mut self, id: DocumentId, values: crate::admission::SessionValues) {
        self.session_values.insert(id, values);
    }
    fn generation(&mut self, id: DocumentId) -> Result<u32, Infallible> {
        Ok(self.generations.get(&id).map(|g| g.0).unwrap_or(0))
    }
    fn erased(&mut self, id: DocumentId) -> Result<bool, Infallible> {
        Ok(self.tombstones.contains(&id))
    }
    fn old_generation_hashes(
        &mut self,
        id: DocumentId,
        among: &[Hash],
    ) -> Result<Vec<Hash>, Infallible> {
        let old = self.generations.get(&id).map(|g| &g.1);
        Ok(among
            .iter()
            .filter(|h| old.is_some_and(|o| o.contains(*h)))
            .copied()
            .collect())
    }
    fn quarantine(
        &mut self,
        id: DocumentId,
        _generation: u32,
        _who: &Principal,
        _c: &[u8],
        reason: &str,
    ) -> Result<super::server::Quarantine, Infallible> {
        self.quarantined.push((id, reason.to_string()));
        Ok(super::server::Quarantine::Kept)
    }
}

/// A device that keeps its documents in memory.
#[derive(Default)]
pub struct MemoryDevice {
    pub docs: BTreeMap<DocumentId, (Header, Automerge)>,
    /// Heads the server last confirmed, per document.
    pub server_heads: HashMap<DocumentId, Vec<ChangeHash>>,
    /// Refused documents: why, and the heads that hold the refused changes.
    pub refusals: HashMap<DocumentId, (Refusal, Vec<Hash>)>,
    /// Heads last sent, per document (the server may hold them though it never answered).
    pub sent_heads: HashMap<DocumentId, Vec<ChangeHash>>,
    /// Documents whose squash was declined, with why (the originals were sent).
    pub declined: Vec<(DocumentId, String)>,
    /// The generation of each document held (absent: 0).
    pub generations: HashMap<DocumentId, u32>,
    /// Edits left out by rebases onto new generations (they touched erased data).
    pub dropped: usize,
    /// Offers built with changes to send ([`ClientStorage::unsent`]).
    pub built: usize,
}

impl MemoryDevice {
    pub fn insert(&mut self, header: Header, doc: Automerge) {
        self.docs.insert(header.id, (header, doc));
    }
    pub fn doc_mut(&mut self, id: DocumentId) -> Option<&mut Automerge> {
        self.docs.get_mut(&id).map(|(_, d)| d)
    }

    /// [`ClientStorage::squash_unseen`] over the documents `skip` does not name (a bench's
    /// device holding changes it has not applied leaves those copies alone, without taking
    /// them out of the map and back: that was a fifth of its CPU per changed document).
    pub fn squash_unseen_except(
        &mut self,
        skip: impl Fn(&DocumentId) -> bool,
    ) -> Result<u32, SimError> {
        let mut squashed = 0;
        for (id, (_, doc)) in self.docs.iter_mut() {
            if skip(id) || !has_unconfirmed_changes(doc, self.server_heads.get(id)) {
                continue;
            }
            let seen: Vec<ChangeHash> = [self.sent_heads.get(id), self.server_heads.get(id)]
                .into_iter()
                .flatten()
                .flatten()
                .copied()
                .collect();
            // A device writes with the document's actor (see `World`s and the benches).
            let actor = doc.get_actor().clone();
            match super::squash::squash_unseen(doc, &actor, &seen) {
                super::squash::Squash::Nothing => {}
                super::squash::Squash::Squashed { doc: new, .. } => {
                    *doc = *new;
                    squashed += 1;
                }
                super::squash::Squash::Declined(why) => self.declined.push((*id, why)),
            }
        }
        Ok(squashed)
    }
}

/// Whether `doc` holds a change beyond the heads the server confirmed (`None`: none
/// confirmed): what the app's store keeps in its outbox. Nothing else can be squashed or sent.
pub fn has_unconfirmed_changes(doc: &Automerge, confirmed: Option<&Vec<ChangeHash>>) -> bool {
    confirmed.is_none_or(|confirmed| doc.get_heads().iter().any(|h| !confirmed.contains(h)))
}

fn kind_rank(k: DocumentKind) -> u8 {
    match k {
        DocumentKind::Roster | DocumentKind::Library => 0,
        DocumentKind::Course => 1,
        DocumentKind::SessionLog => 2,
    }
}

impl ClientStorage for MemoryDevice {
    type Error = SimError;
    fn squash_unseen(&mut self) -> Result<u32, SimError> {
        self.squash_unseen_except(|_| false)
    }
    fn sending(&mut self, sent: &[(DocumentId, Vec<Hash>)]) -> Result<(), SimError> {
        for (id, heads) in sent {
            self.sent_heads.insert(*id, from_hashes(heads));
        }
        Ok(())
    }
    fn offers(&mut self) -> Result<Vec<PendingOffer>, SimError> {
        let mut docs: Vec<_> = self.docs.iter().collect();
        docs.sort_by_key(|(_, (h, _))| kind_rank(h.kind));
        let mut offers = Vec::new();
        for (id, (_, doc)) in docs {
            let generation = self.generations.get(id).copied().unwrap_or(0);
            let heads = to_hashes(&doc.get_heads());
            let confirmed = self.server_heads.get(id).map(|h| to_hashes(h));
            let refused = self.refusals.get(id).map(|(r, at)| (r, at.as_slice()));
            let (heads, unbuilt) = match plan_offer(&heads, confirmed.as_deref(), refused) {
                OfferPlan::Skip => continue,
                OfferPlan::ServerHeadsOnly(heads) => (heads, false),
                // Built only for a document with changes the server has not confirmed, as
                // the app's store builds only what its outbox lists.
                OfferPlan::Changes => (
                    heads,
                    has_unconfirmed_changes(doc, self.server_heads.get(id)),
                ),
            };
            offers.push(PendingOffer {
                offer: Offer {
                    doc: *id,
                    heads,
                    changes: vec![],
                    generation,
                },
                confirmed,
                weight: 0,
                unbuilt,
            });
        }
        Ok(offers)
    }
    fn unsent(&mut self, id: DocumentId) -> Result<Option<UnsentChanges>, SimError> {
        let Some((_, doc)) = self.docs.get(&id) else {
            return Ok(None);
        };
        let since = self.server_heads.get(&id).cloned().unwrap_or_default();
        let changes = super::offer_changes(doc, &since);
        if !changes.bytes.is_empty() {
            self.built += 1;
        }
        Ok(Some(UnsentChanges {
            heads: to_hashes(&doc.get_heads()),
            changes,
        }))
    }
    fn whole(&mut self, id: DocumentId) -> Result<Option<WholeDocument>, SimError> {
        Ok(self.docs.get(&id).map(|(_, d)| WholeDocument {
            heads: to_hashes(&d.get_heads()),
            saved: d.save(),
            generation: self.generations.get(&id).copied().unwrap_or(0),
        }))
    }
    fn absorb(
        &mut self,
        id: DocumentId,
        header: Option<&Header>,
        generation: u32,
        changes: &[u8],
        heads: &[Hash],
    ) -> Result<(), SimError> {
        let (_, doc) = match self.docs.entry(id) {
            // Another generation's bytes are never merged into a held copy (as the app's store).
            std::collections::btree_map::Entry::Occupied(_)
                if self.generations.get(&id).copied().unwrap_or(0) != generation =>
            {
                return Ok(());
            }
            std::collections::btree_map::Entry::Occupied(e) => e.into_mut(),
            std::collections::btree_map::Entry::Vacant(e) => {
                let h =
                    header.ok_or_else(|| SimError("a new document came without header".into()))?;
                self.generations.insert(id, generation);
                e.insert((*h, Automerge::new()))
            }
        };
        let before = to_hashes(&doc.get_heads());
        doc.load_incremental(changes)
            .map_err(|e| SimError(e.to_string()))?;
        let server_heads = from_hashes(heads);
        let unsent = !doc.get_changes(&server_heads).is_empty();
        let after = to_hashes(&doc.get_heads());
        match self.refusals.get_mut(&id) {
            // The refused changes are still all that is unsent: they stay refused.
            Some((_, at)) if unsent && *at == before => *at = after,
            Some(_) if !unsent => {
                self.refusals.remove(&id);
            }
            _ => {}
        }
        self.server_heads.insert(id, server_heads);
        Ok(())
    }
    fn erased(&mut self, ids: &[DocumentId]) -> Result<(), SimError> {
        for id in ids {
            self.docs.remove(id);
            self.server_heads.remove(id);
            self.sent_heads.remove(id);
            self.refusals.remove(id);
            self.generations.remove(id);
        }
        Ok(())
    }
    fn replaced(
        &mut self,
        id: DocumentId,
        generation: u32,
        saved: &[u8],
        absorbed: &[Hash],
    ) -> Result<bool, SimError> {
        let new = Automerge::load(saved).map_err(|e| SimError(e.to_string()))?;
        let Some((_, old)) = self.docs.get_mut(&id) else {
            return Err(SimError(
                "a replaced document this device does not hold".into(),
            ));
        };
        let confirmed = self.server_heads.get(&id).cloned().unwrap_or_default();
        let actor = old.get_actor().clone();
        let rebased =
            super::rebase::rebase_unsent(old, &confirmed, &from_hashes(absorbed), &new, &actor);
        let waits = rebased.has_new_change(&new);
        self.dropped += rebased.dropped;
        *old = rebased.doc;
        // What the server holds is the new generation: nothing beyond it was sent, so the squash
        // never folds across the replace.
        self.server_heads.insert(id, new.get_heads());
        self.sent_heads.insert(id, new.get_heads());
        self.refusals.remove(&id);
        self.generations.insert(id, generation);
        Ok(waits)
    }
    fn refused(&mut self, id: DocumentId, refusal: &Refusal) -> Result<(), SimError> {
        let heads = self
            .docs
            .get(&id)
            .map(|(_, d)| to_hashes(&d.get_heads()))
            .unwrap_or_default();
        self.refusals.insert(id, (refusal.clone(), heads));
        Ok(())
    }
}

/// Byte counts of a simulated sync.
#[derive(Clone, Debug, Default)]
pub struct Traffic {
    pub bytes_up: usize,
    pub bytes_down: usize,
    /// Each request of the sync that was answered, in order.
    pub requests: Vec<RequestTraffic>,
}

/// What one request of a simulated sync carried and what its answer held.
#[derive(Clone, Debug, Default)]
pub struct RequestTraffic {
    /// Offers in the request, and those that carried changes (or a whole document).
    pub offers: usize,
    pub carrying: usize,
    /// Bytes of changes the request carried.
    pub change_bytes: usize,
    /// Replies in the answer, and the bytes of changes they held.
    pub replies: usize,
    pub reply_change_bytes: usize,
}

/// What the simulated network does with one request of a sync.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Delivery {
    /// Served and answered.
    Delivered,
    /// Served (the server admitted and stored what it carried); the answer never arrives.
    AnswerLost,
    /// Never reaches the server (the device cannot tell it from a lost answer).
    RequestLost,
}

/// What a simulated sync did: the report, or how many requests went before one was lost.
#[derive(Clone, Debug)]
pub enum SyncOutcome {
    Done(SyncReport, Traffic),
    /// The sync stopped at this request (counted from 1), as a transport error stops it.
    Lost {
        at: u32,
    },
}

/// Runs one sync of `device` (acting as `who`) against `server` through the codec, each request
/// carrying at most `budget` bytes of changes; `delivery` decides the fate of request n (from 1).
pub fn sync_over(
    device: &mut MemoryDevice,
    server: &mut MemoryServer,
    who: &Principal,
    budget: usize,
    mut delivery: impl FnMut(u32) -> Delivery,
) -> Result<SyncOutcome, SimError> {
    let limits = Limits::default();
    let mut traffic = Traffic::default();
    let (mut round, mut req) = ClientRound::begin_with_budget(device, budget)?;
    let mut n = 0;
    loop {
        n += 1;
        let up = wire::encode(&req);
        traffic.bytes_up += up.len();
        let fate = delivery(n);
        if fate == Delivery::RequestLost {
            return Ok(SyncOutcome::Lost { at: n });
        }
        let req_at_server =
            wire::decode_request(&up, &limits).map_err(|e| SimError(e.to_string()))?;
        let (resp, _) = serve_sync(server, who, &req_at_server).map_err(|e| match e {})?;
        if fate == Delivery::AnswerLost {
            return Ok(SyncOutcome::Lost { at: n });
        }
        let down = wire::encode(&resp);
        traffic.bytes_down += down.len();
        let resp = wire::decode_response(&down, &limits).map_err(|e| SimError(e.to_string()))?;
        let carrying: Vec<usize> = req
            .offers
            .iter()
            .map(|o| o.changes.len())
            .filter(|n| *n > 0)
            .collect();
        traffic.requests.push(RequestTraffic {
            offers: req.offers.len(),
            carrying: carrying.len(),
            change_bytes: carrying.iter().sum(),
            replies: resp.replies.len(),
            reply_change_bytes: resp.replies.iter().map(|r| r.changes.len()).sum(),
        });
        match round.on_response(device, resp)? {
            Some(next) => req = next,
            None => break,
        }
    }
    Ok(SyncOutcome::Done(round.report(), traffic))
}

/// A sync whose first answer is lost on the way back: the server admitted and stored what
/// was sent, the device learns nothing.
pub fn sync_answer_lost(
    device: &mut MemoryDevice,
    server: &mut MemoryServer,
    who: &Principal,
) -> Result<(), SimError> {
    sync_over(device, server, who, REQUEST_CHANGE_BYTES, |_| {
        Delivery::AnswerLost
    })
    .map(|_| ())
}

/// A sync whose request never reaches the server (the device cannot tell it from a lost
/// answer).
pub fn sync_request_lost(device: &mut MemoryDevice) -> Result<(), SimError> {
    ClientRound::begin(device)?;
    Ok(())
}

/// Runs one complete sync of `device` (acting as `who`) against `server`, through the codec.
pub fn sync(
    device: &mut MemoryDevice,
    server: &mut MemoryServer,
    who: &Principal,
) -> Result<(SyncReport, Traffic), SimError> {
    sync_split(device, server, who, REQUEST_CHANGE_BYTES)
}

/// [`sync`] with requests of at most `budget` bytes of changes.
pub fn sync_split(
    device: &mut MemoryDevice,
    server: &mut MemoryServer,
    who: &Principal,
    budget: usize,
) -> Result<(SyncReport, Traffic), SimError> {
    match sync_over(device, server, who, budget, |_| Delivery::Delivered)? {
        SyncOutcome::Done(report, traffic) => Ok((report, traffic)),
        SyncOutcome::Lost { at } => Err(SimError(format!("request {at} was lost"))),
    }
}
