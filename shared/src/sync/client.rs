//! The device side of a sync: offer every document with its heads and unsent changes, absorb
//! what the server returns, send whole documents when the server asks.

use super::wire::{Hash, Offer, ReplyStatus, SyncRequest, SyncResponse, PROTOCOL_VERSION};
use crate::docs::Header;
use crate::ids::DocumentId;

/// What a device keeps. Implemented over SQLite by the app core, in memory by [`super::sim`].
pub trait ClientStorage {
    type Error: std::error::Error + Send + Sync + 'static;
    /// Every local document with its heads and the changes made since the heads the server last
    /// confirmed. Rosters and courses come before session logs (a log needs its course first).
    fn offers(&mut self) -> Result<Vec<Offer>, Self::Error>;
    /// The whole saved document with its heads.
    fn whole(&mut self, id: DocumentId) -> Result<Option<WholeDocument>, Self::Error>;
    /// Applies changes from the server and records the heads it confirmed. `header` is given
    /// for a document new to this device.
    fn absorb(
        &mut self,
        id: DocumentId,
        header: Option<&Header>,
        changes: &[u8],
        server_heads: &[Hash],
    ) -> Result<(), Self::Error>;
}

/// A whole saved document, sent when the server misses history.
pub struct WholeDocument {
    pub heads: Vec<Hash>,
    pub saved: Vec<u8>,
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
    /// Documents whose changes the server refused, with its reason (kept on the device).
    pub rejected: Vec<(DocumentId, String)>,
    pub forbidden: Vec<DocumentId>,
    /// Documents the server still wanted whole after the second round.
    pub unresolved: Vec<DocumentId>,
}

/// One sync in progress. Drive it with any transport:
/// `begin` → send → `on_response` → (send the follow-up, if any → `on_response`) → `report`.
pub struct ClientRound {
    report: SyncReport,
    second: bool,
}

impl ClientRound {
    pub fn begin<S: ClientStorage>(storage: &mut S) -> Result<(Self, SyncRequest), S::Error> {
        let offers = storage.offers()?;
        let report = SyncReport {
            round_trips: 1,
            offered: offers.len() as u32,
            pushed: offers.iter().filter(|o| !o.changes.is_empty()).count() as u32,
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
        for reply in resp.replies {
            match &reply.status {
                ReplyStatus::Forbidden => {
                    self.report.forbidden.push(reply.doc);
                    continue;
                }
                ReplyStatus::Rejected(reason) => {
                    self.report.rejected.push((reply.doc, reason.clone()))
                }
                ReplyStatus::SendFull => want_full.push(reply.doc),
                ReplyStatus::New => self.report.new_documents += 1,
                ReplyStatus::Synced => {}
            }
            if !reply.changes.is_empty() {
                self.report.received += 1;
            }
            // A rejected document's heads are the server's; absorbing them keeps the refused
            // local changes pending (they stay on the device and are offered again).
            if !reply.heads.is_empty() || !reply.changes.is_empty() {
                storage.absorb(
                    reply.doc,
                    reply.header.as_ref(),
                    &reply.changes,
                    &reply.heads,
                )?;
            }
        }
        if want_full.is_empty() {
            return Ok(None);
        }
        if self.second {
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
                });
            }
        }
        Ok(Some(SyncRequest {
            protocol: PROTOCOL_VERSION,
            offers,
        }))
    }

    pub fn report(self) -> SyncReport {
        self.report
    }
}
