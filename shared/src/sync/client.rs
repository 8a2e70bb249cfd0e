//! The device side of a sync: offer every document with its heads and unsent changes, absorb
//! what the server returns, send whole documents when the server asks.
//!
//! A sync is split into requests of bounded size ([`REQUEST_CHANGE_BYTES`], issue #13): each
//! request carries the unsent changes of a prefix of the documents (in the order
//! [`ClientStorage::offers`] lists them) and offers every other document only at the heads the
//! server confirmed, so no request nears the server's body limit or a timeout and the server's
//! memory does not grow with what a device kept offline ([`split_offers`]).

use super::wire::{Hash, Offer, ReplyStatus, SyncRequest, SyncResponse, PROTOCOL_VERSION};
use crate::docs::Header;
use crate::ids::DocumentId;
use std::collections::HashSet;

/// How many bytes of changes (or whole documents) one sync request carries at most: well below
/// the server's body limit (16 MiB), small enough that the server admits it in a few seconds.
/// One document whose changes alone exceed it still goes, alone.
pub const REQUEST_CHANGE_BYTES: usize = 2 << 20;

/// What a device keeps. Implemented over SQLite by the app core, in memory by [`super::sim`].
pub trait ClientStorage {
    type Error: std::error::Error + Send + Sync + 'static;
    /// Squashes, per document to be offered, the device's own changes that no other peer can
    /// have seen — beyond the heads last [`sending`](Self::sending) and the heads the server
    /// confirmed — into one change ([`super::squash::squash_unseen`]), storing the result in
    /// place of the originals atomically; a document whose squash is declined keeps its
    /// changes. Returns how many documents were squashed.
    fn squash_unseen(&mut self) -> Result<u32, Self::Error>;
    /// Records durably, before the request leaves, that changes leading to these heads are
    /// being sent: from now on they may have reached the server (its answer may be lost), so
    /// they are never squashed.
    fn sending(&mut self, sent: &[(DocumentId, Vec<Hash>)]) -> Result<(), Self::Error>;
    /// Every local document with its heads and the heads the server last confirmed; one with
    /// changes made since then is listed [`PendingOffer::unbuilt`], its changes built by
    /// [`Self::unsent`] only when a request has room for them. Rosters and courses come before
    /// session logs (a log needs its course first), in an order that does not change between
    /// calls, so the requests a sync is split into are stable ([`split_offers`]).
    fn offers(&mut self) -> Result<Vec<PendingOffer>, Self::Error>;
    /// The offer of a document [`Self::offers`] listed unbuilt: its heads and the changes made
    /// since the heads the server confirmed, from one copy (the heads are recorded as sent, so
    /// they cover every change offered). `None`: not offered in this request (gone, or
    /// unreadable — one document must not stop every other's sync).
    fn unsent(&mut self, id: DocumentId) -> Result<Option<UnsentChanges>, Self::Error>;
    /// The whole saved document with its heads.
    fn whole(&mut self, id: DocumentId) -> Result<Option<WholeDocument>, Self::Error>;
    /// Applies changes from the server and records the heads it confirmed. `header` is given
    /// for a document new to this device, with its `generation` (stored with it). A document
    /// the device holds changes generation only by [`Self::replaced`]: bytes of another
    /// generation than the held copy's change nothing (merged, they would bring an erased
    /// citizen back with the old copy's history).
    fn absorb(
        &mut self,
        id: DocumentId,
        header: Option<&Header>,
        generation: u32,
        changes: &[u8],
        server_heads: &[Hash],
    ) -> Result<(), Self::Error>;
    /// The server erased these documents (issue #14): delete each with everything derived from
    /// it, unsent changes included, and never offer it again.
    fn erased(&mut self, ids: &[DocumentId]) -> Result<(), Self::Error>;
    /// The server rewrote the document without its history as `generation` (`saved` whole):
    /// replace the copy, re-applying the unsent changes other than `absorbed` as one new change
    /// ([`super::rebase::rebase_unsent`]), to be offered at the next sync. Never merge the old
    /// generation's changes into the new one. Returns whether a rebased change waits.
    fn replaced(
        &mut self,
        id: DocumentId,
        generation: u32,
        saved: &[u8],
        absorbed: &[Hash],
    ) -> Result<bool, Self::Error>;
    /// The server did not take the document's changes: keep them and remember why, at the
    /// document's current heads (see [`plan_offer`]). A later `absorb` that leaves nothing
    /// unsent forgets the refusal.
    fn refused(&mut self, id: DocumentId, refusal: &Refusal) -> Result<(), Self::Error>;
}

/// Why the server did not take a document's changes. The changes stay on the device.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// The server refused the changes (and may have kept them aside); its reason says why.
    Rejected(String),
    /// The signed-in user may not read or write this document.
    Forbidden,
    /// The server still missed earlier history after the whole document was sent.
    Unresolved,
}

impl Refusal {
    /// A stable name for storing and for the UI (`rejected`, `forbidden`, `unresolved`).
    pub fn kind(&self) -> &'static str {
        match self {
            Refusal::Rejected(_) => "rejected",
            Refusal::Forbidden => "forbidden",
            Refusal::Unresolved => "unresolved",
        }
    }

    /// The server's own words, where it gave any.
    pub fn detail(&self) -> &str {
        match self {
            Refusal::Rejected(reason) => reason,
            Refusal::Forbidden => "this user may not read or write the document",
            Refusal::Unresolved => "the server could not take the whole document",
        }
    }

    /// Back from [`Refusal::kind`] and [`Refusal::detail`]; `None` for an unknown kind.
    pub fn from_parts(kind: &str, detail: &str) -> Option<Refusal> {
        match kind {
            "rejected" => Some(Refusal::Rejected(detail.to_string())),
            "forbidden" => Some(Refusal::Forbidden),
            "unresolved" => Some(Refusal::Unresolved),
            _ => None,
        }
    }
}

/// What a device offers for one document.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum OfferPlan {
    /// Its heads and the changes the server has not confirmed (none when nothing is new).
    Changes,
    /// Only the heads the server last confirmed, no changes: the changes on top were refused
    /// and have not changed since, so sending them again would only be refused again; the
    /// server still answers with what others added meanwhile.
    ServerHeadsOnly(Vec<Hash>),
    /// Not offered at all: refused as a whole (forbidden, or never accepted) and unchanged.
    Skip,
}

/// The rule for refused documents: refused changes are kept, and offered again only once the
/// document has changed since the refusal (or the refusal was forgotten, at a new sign-in), so
/// a refusal is neither dropped nor retried forever.
pub fn plan_offer(
    heads: &[Hash],
    server_heads: Option<&[Hash]>,
    refused_at: Option<(&Refusal, &[Hash])>,
) -> OfferPlan {
    match refused_at {
        Some((refusal, at)) if at == heads => match (refusal, server_heads) {
            (Refusal::Forbidden, _) | (_, None) => OfferPlan::Skip,
            (_, Some(confirmed)) => OfferPlan::ServerHeadsOnly(confirmed.to_vec()),
        },
        _ => OfferPlan::Changes,
    }
}

/// A document as [`ClientStorage::offers`] lists it: its offer, and the heads the server last
/// confirmed (`None`: the server never confirmed any), offered instead while its changes wait
/// for a later request of the sync.
#[derive(Clone, Debug, PartialEq)]
pub struct PendingOffer {
    pub offer: Offer,
    pub confirmed: Option<Vec<Hash>>,
    /// What its changes weigh against a request's budget: the size of the raw changes they
    /// carry, also when they go as the whole document (`offer_changes`).
    pub weight: usize,
    /// It has unsent changes, not built yet (`offer.changes` empty, `weight` 0):
    /// [`ClientStorage::unsent`] builds them when a request reaches it with room. A sync
    /// split into k requests built every waiting document's changes k times (300 courses in 7
    /// requests: about 1,200 builds of whole session logs for 300 sent).
    pub unbuilt: bool,
}

/// What [`ClientStorage::unsent`] builds: a document's heads and its unsent changes.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct UnsentChanges {
    pub heads: Vec<Hash>,
    pub changes: super::OfferedChanges,
}

/// One request's offers, as [`split_offers`] chose them.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RequestOffers {
    /// What goes in the request: every document, with changes or at the server's heads.
    pub offers: Vec<Offer>,
    /// The documents whose changes go in this request.
    pub carried: Vec<DocumentId>,
    /// Documents whose changes wait for a later request of this sync.
    pub deferred: u32,
}

/// The rule for splitting a sync (issue #13): the change-carrying offers go in `pending`'s
/// order while their changes fit in `budget` bytes after `used` (the first always goes, however
/// large); from the first that does not fit on, every change waits for a later request, so
/// a session log never goes before its course and a retry splits the same way. A document
/// whose changes wait, or whose changes already went in an earlier request of this sync
/// (`carried_before`, never sent twice in one sync), is offered at the heads the server
/// confirmed, without changes — the server answers with what others added meanwhile and does
/// not ask for the document whole — or, when the server never confirmed any, not at all (the
/// server, which does not hold it, has nothing to answer).
///
/// `unsent` builds the changes of an [unbuilt](PendingOffer::unbuilt) offer
/// ([`ClientStorage::unsent`]): asked only for the documents this request reaches before it
/// is full, and for the one that finds it full.
pub fn split_offers<E>(
    pending: Vec<PendingOffer>,
    carried_before: &HashSet<DocumentId>,
    mut used: usize,
    budget: usize,
    mut unsent: impl FnMut(DocumentId) -> Result<Option<UnsentChanges>, E>,
) -> Result<RequestOffers, E> {
    let mut out = RequestOffers::default();
    let mut full = false;
    for PendingOffer {
        mut offer,
        confirmed,
        mut weight,
        unbuilt,
    } in pending
    {
        if offer.changes.is_empty() && !unbuilt {
            out.offers.push(offer);
            continue;
        }
        let again = carried_before.contains(&offer.doc);
        if !again && !full {
            if unbuilt {
                let Some(built) = unsent(offer.doc)? else {
                    continue;
                };
                offer.heads = built.heads;
                offer.changes = built.changes.bytes;
                weight = built.changes.weight;
                if offer.changes.is_empty() {
                    out.offers.push(offer);
                    continue;
                }
            }
            if used == 0 || used + weight <= budget {
                used += weight;
                out.carried.push(offer.doc);
                out.offers.push(offer);
                continue;
            }
            full = true;
        }
        if !again {
            out.deferred += 1;
        }
        if let Some(heads) = confirmed {
            out.offers.push(Offer {
                doc: offer.doc,
                heads,
                changes: Vec::new(),
                generation: offer.generation,
            });
        }
    }
    Ok(out)
}

/// A whole saved document, sent when the server misses history.
pub struct WholeDocument {
    pub heads: Vec<Hash>,
    pub saved: Vec<u8>,
    pub generation: u32,
}

/// The heads each offer that carries changes sends.
fn sent_by(offers: &[Offer]) -> Vec<(DocumentId, Vec<Hash>)> {
    offers
        .iter()
        .filter(|o| !o.changes.is_empty())
        .map(|o| (o.doc, o.heads.clone()))
        .collect()
}

/// What one sync did, for the status line and the tests.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SyncReport {
    /// Requests sent (each one round trip): more than one when the changes were split
    /// ([`REQUEST_CHANGE_BYTES`]) or the server asked for whole documents.
    pub round_trips: u32,
    /// Documents offered in the first request, and those its answer found unchanged (a
    /// document whose changes waited for a later request counts there as unchanged).
    pub offered: u32,
    pub unchanged: u32,
    /// Documents whose changes went up, over every request of the sync.
    pub pushed: u32,
    pub received: u32,
    pub new_documents: u32,
    /// Documents whose unsent changes were squashed into one before they were offered.
    pub squashed: u32,
    /// Documents whose changes the server refused, with its reason (kept on the device).
    pub rejected: Vec<(DocumentId, String)>,
    pub forbidden: Vec<DocumentId>,
    /// Documents the server still wanted whole after the second round.
    pub unresolved: Vec<DocumentId>,
    /// Documents the server erased, deleted from the device (issue #14).
    pub erased: Vec<DocumentId>,
    /// Documents the server rewrote, replaced by their new generation; unsent work on them was
    /// rebased and waits for the next sync.
    pub replaced: Vec<DocumentId>,
}

/// One sync in progress. Drive it with any transport:
/// `begin` → send → `on_response` → (send the next request, if any → `on_response`)… →
/// `report`. A sync sends requests until every document's changes went in one of them
/// ([`split_offers`]) and every document the server asked to see whole was sent whole once.
pub struct ClientRound {
    report: SyncReport,
    budget: usize,
    /// Documents whose changes (or whole copy) went in a request of this sync.
    carried: HashSet<DocumentId>,
    /// Documents the server asked to see whole, not sent yet, in the order it asked.
    want_whole: Vec<DocumentId>,
    /// Documents sent whole in this sync: asked again, they are unresolved.
    sent_whole: HashSet<DocumentId>,
    /// Whether the last request left changes for a later one.
    deferred: bool,
    answered: bool,
}

impl ClientRound {
    /// Squashes what no one has seen and hands back the first request, its changes within
    /// [`REQUEST_CHANGE_BYTES`].
    pub fn begin<S: ClientStorage>(storage: &mut S) -> Result<(Self, SyncRequest), S::Error> {
        Self::begin_with_budget(storage, REQUEST_CHANGE_BYTES)
    }

    /// [`Self::begin`] with another request budget (at least 1 byte; tests and the device's
    /// `HOMEREHAB_SYNC_REQUEST_BYTES` use smaller ones).
    pub fn begin_with_budget<S: ClientStorage>(
        storage: &mut S,
        budget: usize,
    ) -> Result<(Self, SyncRequest), S::Error> {
        let squashed = storage.squash_unseen()?;
        let mut round = ClientRound {
            report: SyncReport {
                squashed,
                ..Default::default()
            },
            budget: budget.max(1),
            carried: HashSet::new(),
            want_whole: Vec::new(),
            sent_whole: HashSet::new(),
            deferred: false,
            answered: false,
        };
        let req = round.next_request(storage)?;
        round.report.offered = req.offers.len() as u32;
        Ok((round, req))
    }

    /// Builds the next request: the documents asked whole first, then the changes that fit
    /// ([`split_offers`]); records what it sends before handing it back to be sent.
    fn next_request<S: ClientStorage>(&mut self, storage: &mut S) -> Result<SyncRequest, S::Error> {
        let mut used = 0;
        let mut whole = Vec::new();
        while let Some(&id) = self.want_whole.first() {
            let Some(doc) = storage.whole(id)? else {
                // Gone from the device meanwhile: nothing to send; asked again, unresolved.
                self.want_whole.remove(0);
                self.sent_whole.insert(id);
                continue;
            };
            if used > 0 && used + doc.saved.len() > self.budget {
                break; // the next request's
            }
            self.want_whole.remove(0);
            self.sent_whole.insert(id);
            self.carried.insert(id);
            used += doc.saved.len();
            whole.push(Offer {
                doc: id,
                heads: doc.heads,
                changes: doc.saved,
                generation: doc.generation,
            });
        }
        let whole_ids: HashSet<DocumentId> = whole.iter().map(|o| o.doc).collect();
        let pending: Vec<PendingOffer> = storage
            .offers()?
            .into_iter()
            .filter(|p| !whole_ids.contains(&p.offer.doc))
            .collect();
        // A document still to go whole carries no changes meanwhile: the server lacks their
        // history.
        let mut not_again = self.carried.clone();
        not_again.extend(self.want_whole.iter().copied());
        let split = split_offers(pending, &not_again, used, self.budget, |id| {
            storage.unsent(id)
        })?;
        self.report.pushed += split.carried.len() as u32;
        self.carried.extend(split.carried);
        self.deferred = split.deferred > 0;
        let mut offers = whole;
        offers.extend(split.offers);
        storage.sending(&sent_by(&offers))?;
        self.report.round_trips += 1;
        Ok(SyncRequest {
            protocol: PROTOCOL_VERSION,
            offers,
        })
    }

    /// Absorbs a response; returns the next request while changes wait or the server asked
    /// for whole documents not yet sent.
    pub fn on_response<S: ClientStorage>(
        &mut self,
        storage: &mut S,
        resp: SyncResponse,
    ) -> Result<Option<SyncRequest>, S::Error> {
        if !self.answered {
            self.report.unchanged = resp.unchanged;
            self.answered = true;
        }
        let mut want_full = Vec::new();
        let mut erased = Vec::new();
        for reply in resp.replies {
            match &reply.status {
                ReplyStatus::Forbidden => {
                    self.report.forbidden.push(reply.doc);
                    storage.refused(reply.doc, &Refusal::Forbidden)?;
                    continue;
                }
                ReplyStatus::Rejected(reason) => {
                    self.report.rejected.push((reply.doc, reason.clone()))
                }
                ReplyStatus::SendFull => want_full.push(reply.doc),
                ReplyStatus::New => self.report.new_documents += 1,
                ReplyStatus::Synced => {}
                ReplyStatus::Erased => {
                    erased.push(reply.doc);
                    continue;
                }
                // The new generation replaces the copy; its bytes are never merged into it.
                ReplyStatus::Replaced { absorbed } => {
                    storage.replaced(reply.doc, reply.generation, &reply.changes, absorbed)?;
                    self.report.replaced.push(reply.doc);
                    // The rebased change waits for the next sync, not a later request.
                    self.carried.insert(reply.doc);
                    continue;
                }
            }
            if !reply.changes.is_empty() {
                self.report.received += 1;
            }
            // A rejected document's heads are the server's; absorbing them keeps the refused
            // local changes pending (they stay on the device, offered again once they change).
            if !reply.heads.is_empty() || !reply.changes.is_empty() {
                storage.absorb(
                    reply.doc,
                    reply.header.as_ref(),
                    reply.generation,
                    &reply.changes,
                    &reply.heads,
                )?;
            }
            // Recorded after the absorb, at the heads that now hold the refused changes.
            if let ReplyStatus::Rejected(reason) = &reply.status {
                storage.refused(reply.doc, &Refusal::Rejected(reason.clone()))?;
            }
        }
        // Erased documents go in one step (the store scrubs its files once).
        if !erased.is_empty() {
            storage.erased(&erased)?;
            self.report.erased.extend(erased);
        }
        for id in want_full {
            if self.sent_whole.contains(&id) {
                // Sent whole once in this sync and still missing history: kept, and said so.
                if !self.report.unresolved.contains(&id) {
                    storage.refused(id, &Refusal::Unresolved)?;
                    self.report.unresolved.push(id);
                }
            } else if !self.want_whole.contains(&id) {
                self.want_whole.push(id);
            }
        }
        if self.want_whole.is_empty() && !self.deferred {
            return Ok(None);
        }
        self.next_request(storage).map(Some)
    }

    pub fn report(self) -> SyncReport {
        self.report
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pending(n: u8, change_bytes: usize, confirmed: Option<Hash>) -> PendingOffer {
        PendingOffer {
            offer: Offer {
                doc: DocumentId(uuid::Uuid::from_bytes([n; 16])),
                heads: vec![[n; 32]],
                changes: vec![n; change_bytes],
                generation: 0,
            },
            confirmed: confirmed.map(|h| vec![h]),
            weight: change_bytes,
            unbuilt: false,
        }
    }

    /// `split_offers` over offers built up front.
    fn split_built(
        list: Vec<PendingOffer>,
        carried: &HashSet<DocumentId>,
        used: usize,
        budget: usize,
    ) -> RequestOffers {
        split_offers(list, carried, used, budget, |_| -> Result<_, ()> {
            unreachable!("every offer is built")
        })
        .unwrap()
    }

    fn ids(offers: &[Offer]) -> Vec<(u8, usize)> {
        offers
            .iter()
            .map(|o| (o.doc.0.as_bytes()[0], o.changes.len()))
            .collect()
    }

    #[test]
    fn changes_go_in_order_while_they_fit_and_the_rest_waits_at_the_servers_heads() {
        let list = vec![
            pending(1, 0, Some([1; 32])), // nothing new: offered as it is
            pending(2, 40, Some([20; 32])),
            pending(3, 50, None),
            pending(4, 30, Some([40; 32])), // would fit, but waits: the order is kept
            pending(5, 10, None),           // never confirmed: not offered yet
        ];
        let split = split_built(list.clone(), &HashSet::new(), 0, 100);
        assert_eq!(ids(&split.offers), [(1, 0), (2, 40), (3, 50), (4, 0)]);
        assert_eq!(split.offers[3].heads, vec![[40; 32]], "the server's heads");
        assert_eq!(split.deferred, 2);
        assert_eq!(split.carried.len(), 2);

        // The next request: what went is not carried again, the rest goes.
        let carried: HashSet<DocumentId> = split.carried.into_iter().collect();
        let next = split_built(list, &carried, 0, 100);
        assert_eq!(ids(&next.offers), [(1, 0), (2, 0), (4, 30), (5, 10)]);
        assert_eq!(next.deferred, 0);
        assert_eq!(next.offers[1].heads, vec![[20; 32]]);
    }

    /// Unbuilt offers are built only as far as the request reaches: up to the first whose
    /// changes do not fit; never one that went earlier in the sync; one the storage cannot
    /// build is left out of the request.
    #[test]
    fn waiting_changes_are_built_only_when_a_request_reaches_them() {
        let waiting = |n: u8| {
            let mut p = pending(n, 0, Some([n; 32]));
            p.unbuilt = true;
            p
        };
        let list: Vec<PendingOffer> = (1..=6).map(waiting).collect();
        let mut asked = Vec::new();
        let split = split_offers(
            list,
            &[DocumentId(uuid::Uuid::from_bytes([1; 16]))].into(),
            0,
            100,
            |id| -> Result<_, ()> {
                let n = id.0.as_bytes()[0];
                asked.push(n);
                Ok((n != 2).then(|| UnsentChanges {
                    heads: vec![[n + 100; 32]],
                    changes: super::super::OfferedChanges {
                        bytes: vec![n; 40],
                        weight: 40,
                    },
                }))
            },
        )
        .unwrap();
        // 1 went before, 2 cannot be built, 3 and 4 fit, 5 finds the request full, 6 waits.
        assert_eq!(asked, [2, 3, 4, 5]);
        assert_eq!(
            ids(&split.offers),
            [(1, 0), (3, 40), (4, 40), (5, 0), (6, 0)]
        );
        assert_eq!(
            split.offers[1].heads,
            vec![[103; 32]],
            "the built copy's heads"
        );
        assert_eq!(split.offers[3].heads, vec![[5; 32]], "the server's heads");
        assert_eq!(split.deferred, 2);
    }

    #[test]
    fn a_document_larger_than_the_budget_goes_alone() {
        let list = vec![pending(1, 500, None), pending(2, 1, Some([2; 32]))];
        let split = split_built(list.clone(), &HashSet::new(), 0, 100);
        assert_eq!(ids(&split.offers), [(1, 500), (2, 0)]);
        assert_eq!(split.deferred, 1);
        // After whole documents took the budget, nothing more goes in this request.
        let split = split_built(list, &HashSet::new(), 100, 100);
        assert_eq!(ids(&split.offers), [(2, 0)]);
        assert!(split.carried.is_empty());
        assert_eq!(split.deferred, 2);
    }
}
