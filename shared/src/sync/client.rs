//! The device side of a sync: offer every document with its heads and unsent changes, absorb
//! what the server returns, send whole documents when the server asks.

use super::wire::{Hash, Offer, ReplyStatus, SyncRequest, SyncResponse, PROTOCOL_VERSION};
use crate::docs::Header;
use crate::ids::DocumentId;

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
    /// Every local document with its heads and the changes made since the heads the server last
    /// confirmed. Rosters and courses come before session logs (a log needs its course first).
    fn offers(&mut self) -> Result<Vec<Offer>, Self::Error>;
    /// The whole saved document with its heads.
    fn whole(&mut self, id: DocumentId) -> Result<Option<WholeDocument>, Self::Error>;
    /// Applies changes from the server and records the heads it confirmed. `header` is given
    /// for a document new to this device, with its `generation` (stored with it; ignored for
    /// a document the device holds, whose generation changes only by [`Self::replaced`]).
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
    pub round_trips: u32,
    pub offered: u32,
    pub unchanged: u32,
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
/// `begin` → send → `on_response` → (send the follow-up, if any → `on_response`) → `report`.
pub struct ClientRound {
    report: SyncReport,
    second: bool,
}

impl ClientRound {
    /// Squashes what no one has seen, builds the offers, and records what they send before
    /// handing the request back to be sent.
    pub fn begin<S: ClientStorage>(storage: &mut S) -> Result<(Self, SyncRequest), S::Error> {
        let squashed = storage.squash_unseen()?;
        let offers = storage.offers()?;
        storage.sending(&sent_by(&offers))?;
        let report = SyncReport {
            round_trips: 1,
            offered: offers.len() as u32,
            pushed: offers.iter().filter(|o| !o.changes.is_empty()).count() as u32,
            squashed,
            ..Default::default()
        };
        Ok((
            ClientRound {
                report,
                second: false,
            },
            SyncRequest {
                protocol: PROTOCOL_VERSION,
                offers,
            },
        ))
    }

    /// Absorbs a response; returns the follow-up request when the server asked for whole
    /// documents (at most once per sync).
    pub fn on_response<S: ClientStorage>(
        &mut self,
        storage: &mut S,
        resp: SyncResponse,
    ) -> Result<Option<SyncRequest>, S::Error> {
        if !self.second {
            self.report.unchanged = resp.unchanged;
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
        if want_full.is_empty() {
            return Ok(None);
        }
        if self.second {
            for id in &want_full {
                storage.refused(*id, &Refusal::Unresolved)?;
            }
            self.report.unresolved = want_full;
            return Ok(None);
        }
        self.second = true;
        self.report.round_trips += 1;
        let mut offers = Vec::new();
        for id in want_full {
            if let Some(whole) = storage.whole(id)? {
                offers.push(Offer {
                    doc: id,
                    heads: whole.heads,
                    changes: whole.saved,
                    generation: whole.generation,
                });
            }
        }
        storage.sending(&sent_by(&offers))?;
        Ok(Some(SyncRequest {
            protocol: PROTOCOL_VERSION,
            offers,
        }))
    }

    pub fn report(self) -> SyncReport {
        self.report
    }
}
