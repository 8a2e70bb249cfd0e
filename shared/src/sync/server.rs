//! The server side of a sync: compare offered heads with stored heads, admit offered changes,
//! answer with what the device lacks.

use super::wire::{
    from_hashes, to_hashes, Hash, Reply, ReplyStatus, SyncRequest, SyncResponse, PROTOCOL_VERSION,
};
use crate::admission::{admit_or_refuse, AdmissionRefusal, Admitted, Rejection};
use crate::auth::{authorize, may_offer_changes, Access, Principal};
use crate::docs::{DocumentKind, Header};
use crate::ids::DocumentId;
use automerge::{ActorId, Automerge, ReadDoc};
use std::collections::{HashMap, HashSet};
use std::sync::Arc;

/// A stored document's heads and its bytes as `load_incremental` reads them.
pub type SavedDocument = (Vec<Hash>, Vec<u8>);

/// What the server keeps. Implemented over SQLite (and later PostgreSQL) by the sync server,
/// and in memory by [`super::sim`].
pub trait ServerStorage {
    type Error: std::error::Error + Send + Sync + 'static;
    /// Header and stored heads of every document `who` may read.
    fn visible(&mut self, who: &Principal) -> Result<Vec<(Header, Vec<Hash>)>, Self::Error>;
    /// Header of any stored document.
    fn header(&mut self, id: DocumentId) -> Result<Option<Header>, Self::Error>;
    fn load(&mut self, id: DocumentId) -> Result<Option<Arc<Automerge>>, Self::Error>;
    /// A stored document as bytes that `load_incremental` reads (a saved document, maybe
    /// followed by chunks of changes), with the heads they lead to: what a device that lacks
    /// the document is sent, without decoding and re-encoding it here.
    fn saved(&mut self, id: DocumentId) -> Result<Option<SavedDocument>, Self::Error>;
    /// Actor ids registered to `who`'s devices.
    fn actors(&mut self, who: &Principal) -> Result<HashSet<ActorId>, Self::Error>;
    /// Stages an admitted document; `new_changes` are the bytes that carried what is new (a
    /// bundle, raw changes or a saved document, as `load_incremental` reads them). The document
    /// is shared, not copied: a cache may keep the same `Arc`. Staged documents must be visible
    /// to `header` and `load` at once, and durable after [`ServerStorage::flush`].
    fn commit(
        &mut self,
        header: &Header,
        doc: Arc<Automerge>,
        new_changes: Vec<u8>,
    ) -> Result<(), Self::Error>;
    /// Makes every staged commit durable (one transaction); [`serve_sync`] calls it before it
    /// returns the answer.
    fn flush(&mut self) -> Result<(), Self::Error>;
    /// Keeps refused changes aside with the reason, unless the quarantine's limits for this
    /// user or document are reached. [`serve_sync`] calls it only for changes that could have
    /// been legitimate (see [`AdmissionRefusal`]).
    fn quarantine(
        &mut self,
        id: DocumentId,
        who: &Principal,
        changes: &[u8],
        reason: &str,
    ) -> Result<Quarantine, Self::Error>;
}

/// What became of refused changes offered for quarantine.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Quarantine {
    /// Stored (or already stored: a device retries until a person sorts it out).
    Kept,
    /// Not stored: the user's or the document's quarantine is full.
    Full,
}

/// Counts for metrics.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ServeStats {
    pub unchanged: u32,
    pub loaded: u32,
    pub accepted: u32,
    pub rejected: u32,
    pub sent_new: u32,
    /// Refused change sets kept in quarantine, and their bytes.
    pub quarantined: u32,
    pub quarantined_bytes: u64,
    /// Refused change sets not kept because the quarantine is full, and their bytes.
    pub quarantine_full: u32,
    pub quarantine_full_bytes: u64,
    /// Refused change sets never kept (not the user's own, or not theirs to write).
    pub dropped: u32,
    pub dropped_bytes: u64,
    /// Change sets that did not decode (client garbage, counted apart from server faults).
    pub corrupt: u32,
}

/// Refuses `changes` and decides what is kept: only a refusal of the user's own changes in a
/// document they may write goes to quarantine (capped by the storage); everything else is
/// answered and dropped, since the device keeps its changes anyway. Returns the reason to send.
fn set_aside<S: ServerStorage>(
    storage: &mut S,
    stats: &mut ServeStats,
    doc: DocumentId,
    who: &Principal,
    changes: &[u8],
    refusal: AdmissionRefusal,
) -> Result<String, S::Error> {
    stats.rejected += 1;
    if matches!(*refusal.rejection, Rejection::Corrupt(_)) {
        stats.corrupt += 1;
    }
    let reason = refusal.rejection.to_string();
    let kept = if refusal.from_writer {
        storage.quarantine(doc, who, changes, &reason)?
    } else {
        Quarantine::Full
    };
    match (refusal.from_writer, kept) {
        (true, Quarantine::Kept) => {
            stats.quarantined += 1;
            stats.quarantined_bytes += changes.len() as u64;
            Ok(reason)
        }
        (true, Quarantine::Full) => {
            stats.quarantine_full += 1;
            stats.quarantine_full_bytes += changes.len() as u64;
            Ok(format!(
                "{reason}; the server's quarantine for this user or document is full, so these \
                 changes were not kept there (the device keeps them)"
            ))
        }
        (false, _) => {
            stats.dropped += 1;
            stats.dropped_bytes += changes.len() as u64;
            Ok(reason)
        }
    }
}

fn refuse(doc: DocumentId, status: ReplyStatus) -> Reply {
    Reply {
        doc,
        status,
        heads: vec![],
        changes: vec![],
        header: None,
        generation: 0,
    }
}

/// Serves one sync request for the authenticated `who`. Borrowed, so a server can serve the
/// same request again when its storage says a document moved meanwhile.
pub fn serve_sync<S: ServerStorage>(
    storage: &mut S,
    who: &Principal,
    req: &SyncRequest,
) -> Result<(SyncResponse, ServeStats), S::Error> {
    let mut stats = ServeStats::default();
    let visible: HashMap<DocumentId, (Header, Vec<Hash>)> = storage
        .visible(who)?
        .into_iter()
        .map(|(h, heads)| (h.id, (h, heads)))
        .collect();
    let mut actors: Option<HashSet<ActorId>> = None;
    let mut replies = Vec::new();
    let mut offered = HashSet::new();
    let mut created: Vec<(Admitted, &[Hash], &[u8])> = Vec::new();

    for offer in &req.offers {
        offered.insert(offer.doc);
        match visible.get(&offer.doc) {
            Some((_, stored)) if offer.changes.is_empty() && *stored == offer.heads => {
                stats.unchanged += 1
            }
            Some((header, _)) => {
                stats.loaded += 1;
                let Some(current) = storage.load(offer.doc)? else {
                    replies.push(refuse(offer.doc, ReplyStatus::SendFull));
                    continue;
                };
                let mut doc: Arc<Automerge> = current;
                if !offer.changes.is_empty() {
                    if let Err(forbidden) = may_offer_changes(who, header) {
                        // Not theirs to write: answered, never stored.
                        let refusal = AdmissionRefusal::from(Rejection::from(forbidden));
                        let reason = set_aside(
                            storage,
                            &mut stats,
                            offer.doc,
                            who,
                            &offer.changes,
                            refusal,
                        )?;
                        replies.push(reply_with(
                            &doc,
                            offer.doc,
                            ReplyStatus::Rejected(reason),
                            &offer.heads,
                        ));
                        continue;
                    }
                    let actors = match &actors {
                        Some(a) => a,
                        None => actors.insert(storage.actors(who)?),
                    };
                    match admit_or_refuse(
                        offer.doc,
                        Some(&doc),
                        &offer.changes,
                        &from_hashes(&offer.heads),
                        who,
                        actors,
                    ) {
                        Ok(adm) if adm.new_changes.is_empty() => {}
                        Ok(adm) => {
                            stats.accepted += 1;
                            let header = adm.header;
                            doc = Arc::new(adm.doc);
                            // Stored as it came: re-encoding the new changes would cost CPU
                            // and `load_incremental` skips any it already has.
                            storage.commit(&header, doc.clone(), offer.changes.clone())?;
                        }
                        Err(r) if r.rejection.wants_full_document() => {
                            replies.push(reply_with(
                                &doc,
                                offer.doc,
                                ReplyStatus::SendFull,
                                &offer.heads,
                            ));
                            continue;
                        }
                        Err(r) => {
                            let reason =
                                set_aside(storage, &mut stats, offer.doc, who, &offer.changes, r)?;
                            replies.push(reply_with(
                                &doc,
                                offer.doc,
                                ReplyStatus::Rejected(reason),
                                &offer.heads,
                            ));
                            continue;
                        }
                    }
                }
                // The device has changes the server has never seen and did not send them.
                let heads = from_hashes(&offer.heads);
                let status = if doc.get_missing_deps(&heads).is_empty() {
                    ReplyStatus::Synced
                } else {
                    ReplyStatus::SendFull
                };
                replies.push(reply_with(&doc, offer.doc, status, &offer.heads));
            }
            None => {
                if storage.header(offer.doc)?.is_some() {
                    replies.push(refuse(offer.doc, ReplyStatus::Forbidden));
                    continue;
                }
                if offer.changes.is_empty() {
                    // The device holds a document the server lost or never got: ask for all of it.
                    replies.push(refuse(offer.doc, ReplyStatus::SendFull));
                    continue;
                }
                let actors = match &actors {
                    Some(a) => a,
                    None => actors.insert(storage.actors(who)?),
                };
                match admit_or_refuse(
                    offer.doc,
                    None,
                    &offer.changes,
                    &from_hashes(&offer.heads),
                    who,
                    actors,
                ) {
                    Ok(adm) => created.push((adm, &offer.heads, &offer.changes)),
                    Err(r) => {
                        let reason =
                            set_aside(storage, &mut stats, offer.doc, who, &offer.changes, r)?;
                        replies.push(refuse(offer.doc, ReplyStatus::Rejected(reason)));
                    }
                }
            }
        }
    }

    // New documents: courses before their session logs, and a log only for a course of its team.
    created.sort_by_key(|(a, _, _)| a.header.kind == DocumentKind::SessionLog);
    for (adm, offered_heads, raw) in created {
        let header = adm.header;
        if let (DocumentKind::SessionLog, Some(course)) = (header.kind, header.course_id) {
            let course_header = storage.header(DocumentId::course_of(course))?;
            if course_header.map(|h| h.team_id) != Some(header.team_id) {
                // Admitted, so the user's own changes: kept if the document is theirs to write.
                let refusal = AdmissionRefusal {
                    rejection: Box::new(Rejection::CourseNotOnServer),
                    from_writer: authorize(who, &header, Access::Write).is_ok(),
                };
                let reason = set_aside(storage, &mut stats, header.id, who, raw, refusal)?;
                replies.push(refuse(header.id, ReplyStatus::Rejected(reason)));
                continue;
            }
        }
        stats.accepted += 1;
        let doc = Arc::new(adm.doc);
        storage.commit(&header, doc.clone(), raw.to_vec())?;
        replies.push(reply_with(
            &doc,
            header.id,
            ReplyStatus::Synced,
            offered_heads,
        ));
    }

    // Documents the device may read and does not have yet.
    for (id, (header, _)) in &visible {
        if offered.contains(id) {
            continue;
        }
        if let Some((heads, changes)) = storage.saved(*id)? {
            stats.sent_new += 1;
            replies.push(Reply {
                doc: *id,
                status: ReplyStatus::New,
                heads,
                changes,
                header: Some(*header),
                generation: 0,
            });
        }
    }
    storage.flush()?;
    Ok((
        SyncResponse {
            protocol: PROTOCOL_VERSION,
            replies,
            unchanged: stats.unchanged,
        },
        stats,
    ))
}

fn reply_with(
    doc: &Automerge,
    id: DocumentId,
    status: ReplyStatus,
    device_heads: &[Hash],
) -> Reply {
    let changes = super::changes::changes_since(doc, &from_hashes(device_heads));
    Reply {
        doc: id,
        status,
        heads: to_hashes(&doc.get_heads()),
        changes,
        header: None,
        generation: 0,
    }
}
