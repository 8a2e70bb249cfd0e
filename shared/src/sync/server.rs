//! The server side of a sync: compare offered heads with stored heads, admit offered changes,
//! answer with what the device lacks.

use super::wire::{
    from_hashes, to_hashes, Hash, Reply, ReplyStatus, SyncRequest, SyncResponse, PROTOCOL_VERSION,
};
use crate::admission::{
    admit_or_refuse_knowing, AdmissionRefusal, Admitted, Authors, Rejection, SessionValues,
};
use crate::auth::{authorize, may_offer_changes, Access, Principal};
use crate::docs::{DocumentKind, Header};
use crate::ids::DocumentId;
use crate::read_model::SessionsWritten;
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
    /// Those of `among` that are registered to `who`'s devices (and may write in this sync).
    fn registered_actors(
        &mut self,
        who: &Principal,
        among: &[ActorId],
    ) -> Result<HashSet<ActorId>, Self::Error>;
    /// Stages an admitted document; `new_changes` are the bytes that carried what is new (a
    /// bundle, raw changes or a saved document, as `load_incremental` reads them); `whole`: they
    /// are one saved document that loads, alone, to `doc` ([`Admitted::whole`]), so a storage
    /// may keep them as its snapshot. The document is shared, not copied: a cache may keep the
    /// same `Arc`. Staged documents must be visible to `header` and `load` at once, and durable
    /// after [`ServerStorage::flush`].
    fn commit(
        &mut self,
        header: &Header,
        doc: Arc<Automerge>,
        new_changes: Vec<u8>,
        whole: bool,
    ) -> Result<(), Self::Error>;
    /// Makes every staged commit durable (one transaction); [`serve_sync`] calls it before it
    /// returns the answer.
    fn flush(&mut self) -> Result<(), Self::Error>;
    /// The answer about to leave for `who`'s device, told just before [`ServerStorage::flush`]:
    /// a storage that records what leaves (an audit log) makes that record durable with the
    /// staged commits, so the answer is never sent unrecorded and a sync pays for one
    /// transaction, not two.
    fn answering(&mut self, who: &Principal, replies: &[Reply]) {
        let _ = (who, replies);
    }
    /// Keeps refused changes aside with the reason, unless the quarantine's limits for this
    /// user or document are reached. [`serve_sync`] calls it only for changes that could have
    /// been legitimate (see [`AdmissionRefusal`]). `generation` is the document's generation
    /// this sync read (0 for one the server does not hold): a storage keeps nothing for a
    /// document erased or rewritten since (an erasure drops the document's quarantine, and the
    /// offered bytes may carry what it erased) and answers that the document moved.
    fn quarantine(
        &mut self,
        id: DocumentId,
        generation: u32,
        who: &Principal,
        changes: &[u8],
        reason: &str,
    ) -> Result<Quarantine, Self::Error>;
    /// The changes of `doc` (document `id` as this sync holds it) that a device at
    /// `device_heads` lacks, as [`super::changes::changes_since`] encodes them. A storage may
    /// keep answers for devices that ask the same: a morning's reconnects are a team's tablets
    /// at the same heads, and building the bundle walks the whole document.
    fn changes_since(&mut self, id: DocumentId, doc: &Automerge, device_heads: &[Hash]) -> Vec<u8> {
        let _ = id;
        super::changes::changes_since(doc, &from_hashes(device_heads))
    }
    /// The sessions admission read of a session log just staged with [`ServerStorage::commit`]
    /// (see [`SessionsWritten`]): a storage with a read model may keep them, so its projection
    /// need not read them again. Only a commit that becomes durable may be projected from them.
    fn sessions_written(&mut self, id: DocumentId, written: SessionsWritten) {
        let _ = (id, written);
    }
    /// What admission last read of session log `id` ([`Admitted::session_values`]), taken for
    /// the next admission of the log, which uses it only at its heads. The default keeps none.
    fn session_values(&mut self, id: DocumentId) -> Option<SessionValues> {
        let _ = id;
        None
    }
    /// Keeps what admission read of session log `id` for [`ServerStorage::session_values`]:
    /// values at the heads they name, so right whether or not the commit becomes durable.
    fn keep_session_values(&mut self, id: DocumentId, values: SessionValues) {
        let _ = (id, values);
    }
    /// The generation of a stored document (0 until it is first rewritten without its history,
    /// issue #14). The default serves a storage that never rewrites.
    fn generation(&mut self, id: DocumentId) -> Result<u32, Self::Error> {
        let _ = id;
        Ok(0)
    }
    /// Whether the document was erased: its id is answered [`ReplyStatus::Erased`] for ever.
    fn erased(&mut self, id: DocumentId) -> Result<bool, Self::Error> {
        let _ = id;
        Ok(false)
    }
    /// Which of `among` were changes of an older generation of `id` (hashes only are kept).
    fn old_generation_hashes(
        &mut self,
        id: DocumentId,
        among: &[Hash],
    ) -> Result<Vec<Hash>, Self::Error> {
        let _ = (id, among);
        Ok(vec![])
    }
}

/// The hashes of the raw change chunks in `bytes` ([`super::chunks::change_chunks`]).
fn change_hashes(bytes: &[u8]) -> Vec<Hash> {
    super::chunks::change_chunks(bytes)
        .into_iter()
        .map(|(hash, _)| hash)
        .collect()
}

/// The answer to an offer of an older generation: the new generation whole, and which of the
/// offered changes it already holds the effect of. Nothing offered is stored.
fn replaced<S: ServerStorage>(
    storage: &mut S,
    id: DocumentId,
    offered: &[u8],
    generation: u32,
) -> Result<Reply, S::Error> {
    let absorbed = storage.old_generation_hashes(id, &change_hashes(offered))?;
    let (heads, changes) = storage.saved(id)?.unwrap_or_default();
    Ok(Reply {
        doc: id,
        status: ReplyStatus::Replaced { absorbed },
        heads,
        changes,
        header: None,
        generation,
    })
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
    /// Offers of an older generation, answered with the new one (issue #14).
    pub replaced: u32,
    /// Offers of an erased document.
    pub erased: u32,
}

/// Refuses `changes` and decides what is kept: only a refusal of the user's own changes in a
/// document they may write goes to quarantine (capped by the storage); everything else is
/// answered and dropped, since the device keeps its changes anyway. Returns the reason to send.
fn set_aside<S: ServerStorage>(
    storage: &mut S,
    stats: &mut ServeStats,
    doc: DocumentId,
    generation: u32,
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
        storage.quarantine(doc, generation, who, changes, &reason)?
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

/// Stages an admitted document with the bytes that carried its new changes, and hands the
/// storage what admission read of a session log's sessions.
fn stage<S: ServerStorage>(
    storage: &mut S,
    adm: Admitted,
    new_changes: Vec<u8>,
) -> Result<Arc<Automerge>, S::Error> {
    if let Some(values) = adm.session_values.filter(|v| !v.is_empty()) {
        storage.keep_session_values(adm.header.id, values);
    }
    let doc = Arc::new(adm.doc);
    storage.commit(&adm.header, doc.clone(), new_changes, adm.whole)?;
    if let Some(read) = adm.sessions_read {
        let written = SessionsWritten::of(&read, doc.get_heads());
        storage.sessions_written(adm.header.id, written);
    }
    Ok(doc)
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

/// What a sync learnt of the actors its changes name: each is asked of the storage once.
#[derive(Default)]
struct KnownActors(HashMap<ActorId, bool>);

impl KnownActors {
    /// These known actors and `storage`, as admission asks for them.
    fn of<'a, S: ServerStorage>(
        &'a mut self,
        storage: &'a mut S,
        who: &'a Principal,
    ) -> StoredAuthors<'a, S> {
        StoredAuthors {
            known: self,
            storage,
            who,
            failed: None,
        }
    }
}

/// How asking the storage about actors failed.
enum AskFailed<E> {
    Error(E),
    /// Caught here, because admission's panic boundary would make it a refusal of the device's
    /// changes as corrupt: it is the server's failure, so it goes on as a panic outside it.
    Panic(Box<dyn std::any::Any + Send>),
}

/// [`Authors`] over a storage. Admission cannot carry a storage error, so one is kept here:
/// admission sees the actors as not registered, and [`StoredAuthors::failed`] returns the
/// error (or resumes the storage's panic) before its refusal is used.
struct StoredAuthors<'a, S: ServerStorage> {
    known: &'a mut KnownActors,
    storage: &'a mut S,
    who: &'a Principal,
    failed: Option<AskFailed<S::Error>>,
}

impl<S: ServerStorage> StoredAuthors<'_, S> {
    fn failed(self) -> Result<(), S::Error> {
        match self.failed {
            None => Ok(()),
            Some(AskFailed::Error(e)) => Err(e),
            Some(AskFailed::Panic(panic)) => std::panic::resume_unwind(panic),
        }
    }
}

impl<S: ServerStorage> Authors for StoredAuthors<'_, S> {
    fn registered(&mut self, among: &[ActorId]) -> HashSet<ActorId> {
        if self.failed.is_some() {
            return HashSet::new();
        }
        let unknown: Vec<ActorId> = among
            .iter()
            .filter(|a| !self.known.0.contains_key(*a))
            .cloned()
            .collect();
        if !unknown.is_empty() {
            let (storage, who) = (&mut *self.storage, self.who);
            let asked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                storage.registered_actors(who, &unknown)
            }));
            match asked {
                Ok(Ok(registered)) => {
                    for a in unknown {
                        let is = registered.contains(&a);
                        self.known.0.insert(a, is);
                    }
                }
                Ok(Err(e)) => {
                    self.failed = Some(AskFailed::Error(e));
                    return HashSet::new();
                }
                Err(panic) => {
                    self.failed = Some(AskFailed::Panic(panic));
                    return HashSet::new();
                }
            }
        }
        among
            .iter()
            .filter(|a| self.known.0.get(*a) == Some(&true))
            .cloned()
            .collect()
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
    let mut actors = KnownActors::default();
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
                // Issue #14: a copy of an older generation is replaced, never merged: its
                // changes (and the erased values they may carry) are not stored.
                let generation = storage.generation(offer.doc)?;
                if offer.generation < generation {
                    stats.replaced += 1;
                    replies.push(replaced(storage, offer.doc, &offer.changes, generation)?);
                    continue;
                }
                if offer.generation > generation {
                    // Only a server restored from a backup older than an erasure answers
                    // this: the ledger must be applied again before it serves.
                    replies.push(refuse(
                        offer.doc,
                        ReplyStatus::Rejected(format!(
                            "this device holds generation {} of the document, newer than the \
                             server's {generation}; ask the administrator (the erasure ledger \
                             must be applied again)",
                            offer.generation
                        )),
                    ));
                    continue;
                }
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
                            generation,
                            who,
                            &offer.changes,
                            refusal,
                        )?;
                        replies.push(reply_with(
                            storage,
                            &doc,
                            offer.doc,
                            ReplyStatus::Rejected(reason),
                            &offer.heads,
                            generation,
                        ));
                        continue;
                    }
                    let known = match header.kind {
                        DocumentKind::SessionLog => storage.session_values(offer.doc),
                        _ => None,
                    };
                    let mut authors = actors.of(storage, who);
                    let admitted = admit_or_refuse_knowing(
                        offer.doc,
                        Some(&doc),
                        &offer.changes,
                        &from_hashes(&offer.heads),
                        who,
                        &mut authors,
                        known,
                    );
                    authors.failed()?;
                    match admitted {
                        Ok(adm) if adm.new_changes.is_empty() => {}
                        Ok(adm) => {
                            stats.accepted += 1;
                            // Stored as it came: re-encoding the new changes would cost CPU
                            // and `load_incremental` skips any it already has.
                            doc = stage(storage, adm, offer.changes.clone())?;
                        }
                        Err(r) if r.rejection.wants_full_document() => {
                            replies.push(reply_with(
                                storage,
                                &doc,
                                offer.doc,
                                ReplyStatus::SendFull,
                                &offer.heads,
                                generation,
                            ));
                            continue;
                        }
                        Err(r) => {
                            let reason = set_aside(
                                storage,
                                &mut stats,
                                offer.doc,
                                generation,
                                who,
                                &offer.changes,
                                r,
                            )?;
                            replies.push(reply_with(
                                storage,
                                &doc,
                                offer.doc,
                                ReplyStatus::Rejected(reason),
                                &offer.heads,
                                generation,
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
                replies.push(reply_with(
                    storage,
                    &doc,
                    offer.doc,
                    status,
                    &offer.heads,
                    generation,
                ));
            }
            None => {
                if storage.erased(offer.doc)? {
                    // Never stored again, whatever the device holds or sends.
                    stats.erased += 1;
                    replies.push(refuse(offer.doc, ReplyStatus::Erased));
                    continue;
                }
                if storage.header(offer.doc)?.is_some() {
                    replies.push(refuse(offer.doc, ReplyStatus::Forbidden));
                    continue;
                }
                if offer.changes.is_empty() {
                    // The device holds a document the server lost or never got: ask for all of it.
                    replies.push(refuse(offer.doc, ReplyStatus::SendFull));
                    continue;
                }
                let mut authors = actors.of(storage, who);
                let admitted = admit_or_refuse_knowing(
                    offer.doc,
                    None,
                    &offer.changes,
                    &from_hashes(&offer.heads),
                    who,
                    &mut authors,
                    None,
                );
                authors.failed()?;
                match admitted {
                    Ok(adm) => created.push((adm, &offer.heads, &offer.changes)),
                    Err(r) => {
                        let reason =
                            set_aside(storage, &mut stats, offer.doc, 0, who, &offer.changes, r)?;
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
                let reason = set_aside(storage, &mut stats, header.id, 0, who, raw, refusal)?;
                replies.push(refuse(header.id, ReplyStatus::Rejected(reason)));
                continue;
            }
        }
        stats.accepted += 1;
        let doc = stage(storage, adm, raw.to_vec())?;
        replies.push(reply_with(
            storage,
            &doc,
            header.id,
            ReplyStatus::Synced,
            offered_heads,
            0,
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
                generation: storage.generation(*id)?,
            });
        }
    }
    storage.answering(who, &replies);
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

fn reply_with<S: ServerStorage>(
    storage: &mut S,
    doc: &Automerge,
    id: DocumentId,
    status: ReplyStatus,
    device_heads: &[Hash],
    generation: u32,
) -> Reply {
    let changes = storage.changes_since(id, doc, device_heads);
    Reply {
        doc: id,
        status,
        heads: to_hashes(&doc.get_heads()),
        changes,
        header: None,
        generation,
    }
}

#[cfg(test)]
mod tests {
    //! Generations and tombstones (issue #14) over the in-memory server, served directly (the
    //! simulated device's handling of the new statuses is the device side's).
    use super::*;
    use crate::docs::{self, rewrite::RosterErasure};
    use crate::ids::{CitizenId, CourseId, TeamId, UserId};
    use crate::model::{Citizen, Role};
    use crate::sync::sim::MemoryServer;
    use crate::sync::wire::{Offer, SyncRequest};
    use crate::sync::{raw_changes_since, PROTOCOL_VERSION};
    use automerge::ChangeHash;
    use std::collections::BTreeMap;

    const NOW: i64 = 1_790_000_000_000;

    fn citizen(name: &str) -> Citizen {
        Citizen {
            id: CitizenId::new(),
            name: name.into(),
            local_ref: "x".into(),
            address: None,
            assigned: BTreeMap::new(),
            active: true,
            birth_year: None,
            sex: None,
        }
    }

    struct World {
        server: MemoryServer,
        therapist: Principal,
        actor: ActorId,
        roster: Header,
        gone: Citizen,
        kept: Citizen,
    }

    fn world() -> World {
        let team = TeamId::new();
        let therapist = Principal {
            user_id: UserId::new(),
            role: Role::Therapist,
            team_id: team,
            granted_teams: vec![],
            municipality_id: None,
        };
        let actor = ActorId::random();
        let roster = Header::roster(team);
        let mut doc = docs::genesis(&roster).with_actor(actor.clone());
        let (gone, kept) = (citizen("Gitte Gone"), citizen("Karl Kept"));
        docs::put_citizen(&mut doc, &gone, NOW).unwrap();
        docs::put_citizen(&mut doc, &kept, NOW).unwrap();
        let mut server = MemoryServer::default();
        server
            .actors
            .entry(therapist.user_id)
            .or_default()
            .insert(actor.clone());
        server.docs.insert(roster.id, (roster, Arc::new(doc)));
        World {
            server,
            therapist,
            actor,
            roster,
            gone,
            kept,
        }
    }

    impl World {
        fn doc(&self) -> Automerge {
            (*self.server.docs[&self.roster.id].1).clone()
        }
        /// The server erases `gone`: the roster's next generation.
        fn erase(&mut self) {
            let old = self.doc();
            let what = RosterErasure {
                citizens: [self.gone.id].into(),
                ..Default::default()
            };
            let (new, _) =
                docs::rewrite::rewrite_roster_without(&old, self.roster.team_id, &what, NOW)
                    .unwrap();
            self.server.rewrite(self.roster.id, new);
        }
        fn serve(&mut self, offers: Vec<Offer>) -> SyncResponse {
            let req = SyncRequest {
                protocol: PROTOCOL_VERSION,
                offers,
            };
            serve_sync(&mut self.server, &self.therapist, &req)
                .unwrap()
                .0
        }
    }

    fn offer(doc: &Automerge, since: &[ChangeHash], generation: u32, id: DocumentId) -> Offer {
        Offer {
            doc: id,
            heads: to_hashes(&doc.get_heads()),
            changes: raw_changes_since(doc, since),
            generation,
        }
    }

    #[test]
    fn an_offer_of_the_old_generation_is_replaced_never_merged() {
        let mut w = world();
        // The device's copy: the server's, plus one change the server already has (sent
        // before the erasure) and one it never saw.
        let mut device = w.doc().with_actor(w.actor.clone());
        let confirmed_before = device.get_heads();
        let mut k = w.kept.clone();
        k.name = "Karl Sent".into();
        docs::put_citizen(&mut device, &k, NOW).unwrap();
        let sent = device.get_heads();
        let resp = w.serve(vec![offer(&device, &confirmed_before, 0, w.roster.id)]);
        assert_eq!(resp.replies[0].status, ReplyStatus::Synced);
        let mut g = w.gone.clone();
        g.name = "Gitte Unsent".into();
        docs::put_citizen(&mut device, &g, NOW).unwrap();
        w.erase();
        let new_heads = to_hashes(&w.doc().get_heads());

        // Offered as generation 0 with both changes (its confirmation was lost).
        let resp = w.serve(vec![offer(&device, &confirmed_before, 0, w.roster.id)]);
        let reply = &resp.replies[0];
        assert_eq!(
            reply.status,
            ReplyStatus::Replaced {
                absorbed: to_hashes(&sent)
            },
            "the change the server had is absorbed, the unsent one is not"
        );
        assert_eq!(reply.generation, 1);
        assert_eq!(reply.heads, new_heads);
        let new = Automerge::load(&reply.changes).unwrap();
        assert_eq!(to_hashes(&new.get_heads()), new_heads);
        // Nothing of the old generation was stored.
        assert_eq!(to_hashes(&w.doc().get_heads()), new_heads);
        let citizens = docs::read_citizens(&w.doc()).unwrap();
        assert!(!citizens.contains_key(&w.gone.id.to_string()));
        assert_eq!(citizens[&w.kept.id.to_string()].name, "Karl Sent");

        // Without changes, an old copy is replaced too.
        let resp = w.serve(vec![offer(&device, &device.get_heads(), 0, w.roster.id)]);
        assert!(matches!(
            &resp.replies[0].status,
            ReplyStatus::Replaced { absorbed } if absorbed.is_empty()
        ));

        // On the new generation, the device's changes are admitted as ever.
        let mut on_new = new.clone().with_actor(w.actor.clone());
        let mut k = w.kept.clone();
        k.name = "Karl Later".into();
        docs::put_citizen(&mut on_new, &k, NOW).unwrap();
        let resp = w.serve(vec![offer(&on_new, &new.get_heads(), 1, w.roster.id)]);
        assert_eq!(resp.replies[0].status, ReplyStatus::Synced);
        assert_eq!(resp.replies[0].generation, 1);
        assert_eq!(
            docs::read_citizens(&w.doc()).unwrap()[&w.kept.id.to_string()].name,
            "Karl Later"
        );
    }

    #[test]
    fn a_new_copy_carries_the_generation_and_a_newer_one_is_refused() {
        let mut w = world();
        w.erase();
        let resp = w.serve(vec![]);
        assert_eq!(resp.replies[0].status, ReplyStatus::New);
        assert_eq!(resp.replies[0].generation, 1);
        // A device claiming a later generation than the server's (a server restored from a
        // backup older than an erasure) is refused, its changes not stored.
        let stored = w.doc();
        let mut doc = stored.clone().with_actor(w.actor.clone());
        docs::put_citizen(&mut doc, &citizen("Nina Newer"), NOW).unwrap();
        let resp = w.serve(vec![offer(&doc, &stored.get_heads(), 2, w.roster.id)]);
        assert!(matches!(resp.replies[0].status, ReplyStatus::Rejected(_)));
        assert_eq!(w.doc().get_heads(), stored.get_heads());
    }

    #[test]
    fn an_erased_document_is_answered_erased_and_never_stored_again() {
        let mut w = world();
        let course = Header::course(w.roster.team_id, CourseId::new());
        let mut doc = docs::genesis(&course).with_actor(w.actor.clone());
        docs::put_citizen(&mut doc, &w.gone, NOW).ok(); // written or not: never stored
        w.server.tombstones.insert(course.id);
        let resp = w.serve(vec![offer(&doc, &[], 0, course.id)]);
        assert_eq!(resp.replies[0].status, ReplyStatus::Erased);
        assert!(resp.replies[0].changes.is_empty() && resp.replies[0].heads.is_empty());
        assert!(!w.server.docs.contains_key(&course.id));
    }

    #[test]
    fn change_hashes_are_read_from_the_framing() {
        let w = world();
        let doc = w.doc();
        let raw = raw_changes_since(&doc, &[]);
        let expected: Vec<Hash> = doc.get_changes(&[]).iter().map(|c| c.hash().0).collect();
        assert_eq!(change_hashes(&raw), expected);
        assert!(change_hashes(b"garbage").is_empty());
    }

    /// [`MemoryServer`] recording which actors a sync asked about, or failing those asks
    /// (`down`: an error; `broken`: a panic).
    struct Asking {
        inner: MemoryServer,
        asked: Vec<Vec<ActorId>>,
        down: bool,
        broken: bool,
    }

    #[derive(Debug, thiserror::Error)]
    #[error("the store is down")]
    struct Down;

    impl ServerStorage for Asking {
        type Error = Down;
        fn visible(&mut self, who: &Principal) -> Result<Vec<(Header, Vec<Hash>)>, Down> {
            Ok(self.inner.visible(who).unwrap_or_else(|e| match e {}))
        }
        fn header(&mut self, id: DocumentId) -> Result<Option<Header>, Down> {
            Ok(self.inner.header(id).unwrap_or_else(|e| match e {}))
        }
        fn load(&mut self, id: DocumentId) -> Result<Option<Arc<Automerge>>, Down> {
            Ok(self.inner.load(id).unwrap_or_else(|e| match e {}))
        }
        fn saved(&mut self, id: DocumentId) -> Result<Option<SavedDocument>, Down> {
            Ok(self.inner.saved(id).unwrap_or_else(|e| match e {}))
        }
        fn registered_actors(
            &mut self,
            who: &Principal,
            among: &[ActorId],
        ) -> Result<HashSet<ActorId>, Down> {
            self.asked.push(among.to_vec());
            if self.down {
                return Err(Down);
            }
            assert!(!self.broken, "the store broke");
            Ok(self
                .inner
                .registered_actors(who, among)
                .unwrap_or_else(|e| match e {}))
        }
        fn commit(
            &mut self,
            header: &Header,
            doc: Arc<Automerge>,
            new_changes: Vec<u8>,
            whole: bool,
        ) -> Result<(), Down> {
            let committed = self.inner.commit(header, doc, new_changes, whole);
            committed.unwrap_or_else(|e| match e {});
            Ok(())
        }
        fn flush(&mut self) -> Result<(), Down> {
            Ok(())
        }
        fn quarantine(
            &mut self,
            id: DocumentId,
            generation: u32,
            who: &Principal,
            changes: &[u8],
            reason: &str,
        ) -> Result<Quarantine, Down> {
            let kept = self.inner.quarantine(id, generation, who, changes, reason);
            Ok(kept.unwrap_or_else(|e| match e {}))
        }
    }

    /// A sync asks its storage only about the actors its new changes name, once each; a
    /// stranger's actor is refused; and a storage that fails to answer fails the sync, storing
    /// nothing, rather than refusing the changes as a stranger's.
    #[test]
    fn a_sync_asks_about_the_actors_its_changes_name_once_and_a_failed_ask_fails_it() {
        let w = world();
        let mut server = Asking {
            inner: w.server,
            asked: vec![],
            down: false,
            broken: false,
        };
        let serve = |server: &mut Asking, offers: Vec<Offer>| {
            let req = SyncRequest {
                protocol: PROTOCOL_VERSION,
                offers,
            };
            serve_sync(server, &w.therapist, &req).map(|(resp, _)| resp)
        };
        // Two changes on what the server holds now.
        let edited_by = |server: &Asking, actor: &ActorId, name: &str| {
            let stored = &server.inner.docs[&w.roster.id].1;
            let mut device = stored.fork().with_actor(actor.clone());
            docs::put_citizen(&mut device, &citizen(name), NOW).unwrap();
            docs::put_citizen(&mut device, &citizen("Anden"), NOW).unwrap();
            offer(&device, &stored.get_heads(), 0, w.roster.id)
        };

        // Two changes by the therapist's actor: asked once, about that actor alone.
        let offered = edited_by(&server, &w.actor, "Hanne");
        let resp = serve(&mut server, vec![offered]).unwrap();
        assert_eq!(resp.replies[0].status, ReplyStatus::Synced);
        assert_eq!(server.asked, vec![vec![w.actor.clone()]]);

        // A stranger's actor: asked about, refused, not stored.
        server.asked.clear();
        let stranger = ActorId::random();
        let heads = server.inner.docs[&w.roster.id].1.get_heads();
        let offered = edited_by(&server, &stranger, "Fremmed");
        let resp = serve(&mut server, vec![offered]).unwrap();
        assert!(matches!(resp.replies[0].status, ReplyStatus::Rejected(_)));
        assert_eq!(server.asked, vec![vec![stranger]]);
        assert_eq!(server.inner.docs[&w.roster.id].1.get_heads(), heads);

        // The storage fails to answer: the sync fails, and nothing is stored.
        server.down = true;
        let offered = edited_by(&server, &w.actor, "Ulla");
        let failed = serve(&mut server, vec![offered]);
        assert!(failed.is_err());
        assert_eq!(server.inner.docs[&w.roster.id].1.get_heads(), heads);

        // The storage panics while asked (inside admission's panic boundary): the panic goes
        // on as the server's own, never a refusal of the device's changes as corrupt.
        (server.down, server.broken) = (false, true);
        let offered = edited_by(&server, &w.actor, "Ulla");
        let broke = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            serve(&mut server, vec![offered.clone()])
        }));
        let message = broke.expect_err("a panic in the store fails the sync");
        assert_eq!(message.downcast_ref::<&str>(), Some(&"the store broke"));
        assert_eq!(server.inner.docs[&w.roster.id].1.get_heads(), heads);
        // Mended, the same offer lands.
        server.broken = false;
        let resp = serve(&mut server, vec![offered]).unwrap();
        assert_eq!(resp.replies[0].status, ReplyStatus::Synced);
    }
}
