//! What the device knows about syncing: the status line, the outbox, the heads the server
//! confirmed, the documents it refused and why, and the [`ClientStorage`] a sync round runs
//! over.

use super::clock::now_ms;
use super::columns::{blob_to_heads, document_id, heads_to_blob, id_blob};
use super::database::Store;
use super::documents::{append_changes, insert_document};
use super::projection::{project, Projection};
use crate::error::{CoreError, Result};
use automerge::{Automerge, AutomergeError, ChangeHash};
use homerehab_shared::auth::{authorize, Access};
use homerehab_shared::docs::touched::{touched_records, Touched};
use homerehab_shared::docs::{self, DocumentKind, Header};
use homerehab_shared::ids::*;
use homerehab_shared::model::Millis;
use homerehab_shared::sync::client::WholeDocument;
use homerehab_shared::sync::{
    plan_offer, ClientStorage, Hash, Offer, OfferPlan, PendingOffer, Refusal, UnsentChanges,
};
use rusqlite::{params, OptionalExtension};

/// Sync status for the status line: last success, documents waiting, last error.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SyncStatus {
    pub last_success: Option<Millis>,
    pub waiting: u32,
    pub last_error: Option<String>,
    /// Stored changes that could not be applied and were kept aside (`export-support`).
    #[serde(default)]
    pub damaged: u32,
    /// Documents kept hidden for another user's unsent work, by that user's name.
    #[serde(default)]
    pub parked: Vec<(String, u32)>,
    /// Courses the municipality erased (issue #14) that left this device, for the notice;
    /// counted from the first erasure within [`ERASURE_NOTICE_MS`] of the last one.
    #[serde(default)]
    pub erased_courses: u32,
    /// When the last erasure reached this device.
    #[serde(default)]
    pub erased_at: Option<Millis>,
    /// The last sync failed because the server needs a newer app
    /// ([`CoreError::UpdateRequired`]): the status says "update the app", not "offline".
    #[serde(default)]
    pub update_required: bool,
    /// The last sync failed because the server is older than the app
    /// ([`CoreError::ServerBehind`]): the status says the server is being updated.
    #[serde(default)]
    pub server_behind: bool,
    /// The last sync failed because the server no longer takes this sign-in
    /// ([`CoreError::SignInExpired`]): the status says "sign in again", not "offline", since
    /// waiting will not mend it.
    #[serde(default)]
    pub sign_in_expired: bool,
}

/// How long the notice of erased courses stays in the status line: long enough that a
/// colleague on the next shift who finds a course gone reads why, short enough to go away.
pub const ERASURE_NOTICE_MS: Millis = 7 * 24 * 3600 * 1000;

/// A document the server refused, as the status line and the affected screen show it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RefusedDocument {
    pub header: Header,
    /// The course's citizen, where the document belongs to a course on this device.
    pub citizen_name: Option<String>,
    pub refusal: Refusal,
    pub at: Millis,
    /// Whether refused changes still wait on the device (they are never dropped).
    pub unsent: bool,
}

impl Store {
    pub fn sync_status(&self) -> Result<SyncStatus> {
        let mut s: SyncStatus = self
            .meta("sync_status")?
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default();
        s.waiting = self.conn.query_row(
            "SELECT COUNT(*) FROM outbox WHERE doc_id NOT IN (SELECT doc_id FROM parked)",
            [],
            |r| r.get(0),
        )?;
        s.damaged = self
            .conn
            .query_row("SELECT COUNT(*) FROM damaged_changes", [], |r| r.get(0))?;
        s.parked = self
            .conn
            .prepare("SELECT display_name, COUNT(*) FROM parked GROUP BY user_id ORDER BY 1")?
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<rusqlite::Result<_>>()?;
        if s.erased_at
            .is_none_or(|at| now_ms().saturating_sub(at) > ERASURE_NOTICE_MS)
        {
            s.erased_courses = 0;
        }
        Ok(s)
    }

    /// Documents whose changes the server refused, with why; the changes stay on the device
    /// (`unsent`) until they are accepted or a new sign-in offers them again.
    pub fn refusals(&self) -> Result<Vec<RefusedDocument>> {
        let mut stmt = self.conn.prepare(
            "SELECT r.doc_id, r.kind, r.reason, r.at, o.doc_id IS NOT NULL
             FROM refusals r LEFT JOIN outbox o ON o.doc_id = r.doc_id ORDER BY r.at, r.doc_id",
        )?;
        let rows: Vec<(Vec<u8>, String, String, Millis, bool)> = stmt
            .query_map([], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
            })?
            .collect::<rusqlite::Result<_>>()?;
        let mut out = Vec::with_capacity(rows.len());
        for (id, kind, reason, at, unsent) in rows {
            let id = document_id(&id)?;
            let (Some(header), Some(refusal)) =
                (self.header_of(id)?, Refusal::from_parts(&kind, &reason))
            else {
                continue;
            };
            let citizen_name = match header.course_id {
                Some(course) => self
                    .conn
                    .query_row(
                        "SELECT z.name FROM courses c JOIN citizens z ON z.id = c.citizen_id
                         WHERE c.id = ?1",
                        [course.to_string()],
                        |r| r.get(0),
                    )
                    .optional()?,
                None => None,
            };
            out.push(RefusedDocument {
                header,
                citizen_name,
                refusal,
                at,
                unsent,
            });
        }
        Ok(out)
    }

    /// Records how the last sync went: its error, if it failed.
    pub fn record_sync_outcome(&self, error: Option<&CoreError>) -> Result<()> {
        let mut s = self.sync_status()?;
        match error {
            None => {
                s.last_success = Some(now_ms());
                s.last_error = None;
            }
            Some(e) => s.last_error = Some(e.to_string()),
        }
        s.update_required = matches!(error, Some(CoreError::UpdateRequired(_)));
        s.server_behind = matches!(error, Some(CoreError::ServerBehind(_)));
        s.sign_in_expired = matches!(error, Some(CoreError::SignInExpired(_)));
        self.set_meta(
            "sync_status",
            &serde_json::to_vec(&s).expect("serializable"),
        )
    }
}

fn kind_rank(k: &str) -> u8 {
    match DocumentKind::parse(k) {
        Some(DocumentKind::Roster | DocumentKind::Library) => 0,
        Some(DocumentKind::Course) => 1,
        _ => 2,
    }
}

impl ClientStorage for Store {
    type Error = CoreError;

    fn squash_unseen(&mut self) -> Result<u32> {
        self.squash_unseen_changes()
    }

    fn sending(&mut self, sent: &[(DocumentId, Vec<Hash>)]) -> Result<()> {
        self.record_sending(sent)
    }

    fn offers(&mut self) -> Result<Vec<PendingOffer>> {
        let mut stmt = self.conn.prepare(
            "SELECT d.doc_id, d.kind, d.heads, d.server_heads, o.doc_id IS NOT NULL,
                    r.kind, r.reason, r.heads, d.generation
             FROM documents d LEFT JOIN outbox o ON o.doc_id = d.doc_id
             LEFT JOIN refusals r ON r.doc_id = d.doc_id
             WHERE d.doc_id NOT IN (SELECT doc_id FROM parked)",
        )?;
        /// id, kind, heads, server heads, in the outbox, refusal (kind, reason, heads),
        /// generation
        type Row = (
            Vec<u8>,
            String,
            Vec<u8>,
            Option<Vec<u8>>,
            bool,
            Option<(String, String, Vec<u8>)>,
            u32,
        );
        let rows: Vec<Row> = stmt
            .query_map([], |r| {
                let refusal = match r.get::<_, Option<String>>(5)? {
                    Some(kind) => Some((kind, r.get(6)?, r.get(7)?)),
                    None => None,
                };
                Ok((
                    r.get(0)?,
                    r.get(1)?,
                    r.get(2)?,
                    r.get(3)?,
                    r.get(4)?,
                    refusal,
                    r.get(8)?,
                ))
            })?
            .collect::<rusqlite::Result<_>>()?;
        drop(stmt);
        let mut ranked = Vec::with_capacity(rows.len());
        for (id, kind, heads, server_heads, dirty, refusal, generation) in rows {
            let id = document_id(&id)?;
            let as_hashes =
                |b: &[u8]| -> Vec<Hash> { blob_to_heads(b).iter().map(|h| h.0).collect() };
            let refusal = refusal.and_then(|(kind, reason, at)| {
                Refusal::from_parts(&kind, &reason).map(|r| (r, as_hashes(&at)))
            });
            let confirmed = server_heads.as_deref().map(as_hashes);
            match plan_offer(
                &as_hashes(&heads),
                confirmed.as_deref(),
                refusal.as_ref().map(|(r, at)| (r, at.as_slice())),
            ) {
                OfferPlan::Skip => continue,
                OfferPlan::ServerHeadsOnly(heads) => {
                    ranked.push((
                        kind_rank(&kind),
                        PendingOffer {
                            offer: Offer {
                                doc: id,
                                heads,
                                changes: Vec::new(),
                                generation,
                            },
                            confirmed,
                            weight: 0,
                            unbuilt: false,
                        },
                    ));
                    continue;
                }
                OfferPlan::Changes => {}
            }
            // Changes waiting are built only when a request has room for them (`unsent`).
            ranked.push((
                kind_rank(&kind),
                PendingOffer {
                    offer: Offer {
                        doc: id,
                        heads: blob_to_heads(&heads).iter().map(|h| h.0).collect(),
                        changes: Vec::new(),
                        generation,
                    },
                    confirmed,
                    weight: 0,
                    unbuilt: dirty,
                },
            ));
        }
        // By kind, then by id: the same order at every call, so a split sync is stable.
        ranked.sort_by_key(|(rank, o)| (*rank, o.offer.doc));
        Ok(ranked.into_iter().map(|(_, o)| o).collect())
    }

    fn unsent(&mut self, id: DocumentId) -> Result<Option<UnsentChanges>> {
        let server_heads: Option<Option<Vec<u8>>> = self
            .conn
            .query_row(
                "SELECT server_heads FROM documents WHERE doc_id = ?1",
                [id_blob(&id)],
                |r| r.get(0),
            )
            .optional()?;
        let Some(server_heads) = server_heads else {
            return Ok(None);
        };
        let since = server_heads
            .as_deref()
            .map(blob_to_heads)
            .unwrap_or_default();
        // Heads and changes from one copy: the heads are recorded as sent
        // (`ClientStorage::sending`), so they must cover every change in the offer.
        match self.load(id) {
            Ok(Some(doc)) => Ok(Some(UnsentChanges {
                heads: doc.get_heads().iter().map(|h| h.0).collect(),
                changes: homerehab_shared::sync::offer_changes(doc, &since),
            })),
            Ok(None) => Err(CoreError::NotFound(id.to_string())),
            // An unreadable snapshot must not stop every other document's sync.
            Err(e @ CoreError::Damaged(_)) => {
                tracing::error!(doc = %id, error = %e, "not offered");
                Ok(None)
            }
            Err(e) => Err(e),
        }
    }

    fn whole(&mut self, id: DocumentId) -> Result<Option<WholeDocument>> {
        let generation = self.generation(id)?.unwrap_or(0);
        Ok(self.load(id)?.map(|d| WholeDocument {
            heads: d.get_heads().iter().map(|h| h.0).collect(),
            saved: d.save(),
            generation,
        }))
    }

    /// Absorbs one reply. A reply this device cannot take (bytes that do not decode, a header
    /// that does not match, a record that fails its rules) changes nothing here: its bytes are
    /// kept aside for support (`damaged_changes`, counted in the status) and the sync goes on
    /// with the other documents, so one bad document never stops every later sync. Trouble of
    /// the store itself (the disk) still fails the sync.
    fn absorb(
        &mut self,
        id: DocumentId,
        header: Option<&Header>,
        generation: u32,
        changes: &[u8],
        server_heads: &[Hash],
    ) -> Result<()> {
        match self.absorb_reply(id, header, generation, changes, server_heads) {
            Err(e @ (CoreError::Protocol(_) | CoreError::Document(_) | CoreError::Schema(_))) => {
                self.keep_aside_from_server(id, changes, &e)
            }
            other => other,
        }
    }

    fn erased(&mut self, ids: &[DocumentId]) -> Result<()> {
        let courses = self.erase_documents(ids)?;
        tracing::info!(
            documents = ids.len(),
            courses,
            "documents erased by the municipality removed"
        );
        Ok(())
    }

    fn replaced(
        &mut self,
        id: DocumentId,
        generation: u32,
        saved: &[u8],
        absorbed: &[Hash],
    ) -> Result<bool> {
        let absorbed: Vec<ChangeHash> = absorbed.iter().map(|h| ChangeHash(*h)).collect();
        Ok(self
            .replace_generation(id, generation, saved, &absorbed)?
            .rebased)
    }

    fn refused(&mut self, id: DocumentId, refusal: &Refusal) -> Result<()> {
        // A document this user may no longer read leaves the device once nothing of it waits.
        if *refusal == Refusal::Forbidden && self.in_write_tx(|s| s.forget_unreadable(id))? {
            tracing::info!(doc = %id, "removed: the signed-in user may no longer read it");
            return Ok(());
        }
        self.conn.execute(
            "INSERT OR REPLACE INTO refusals (doc_id, kind, reason, heads, at)
             SELECT doc_id, ?2, ?3, heads, ?4 FROM documents WHERE doc_id = ?1",
            params![id_blob(&id), refusal.kind(), refusal.detail(), now_ms()],
        )?;
        Ok(())
    }
}

impl Store {
    /// Keeps a reply's bytes this device could not take, once (the server sends the same
    /// again at every sync until it changes).
    fn keep_aside_from_server(
        &mut self,
        id: DocumentId,
        changes: &[u8],
        error: &CoreError,
    ) -> Result<()> {
        tracing::error!(doc = %id, error = %error, "the server's copy cannot be taken here; kept aside");
        self.conn.execute(
            "INSERT INTO damaged_changes (doc_id, original_seq, bytes, error, found_at)
             SELECT ?1, 0, ?2, ?3, ?4
             WHERE NOT EXISTS (SELECT 1 FROM damaged_changes WHERE doc_id = ?1 AND bytes = ?2)",
            params![
                id_blob(&id),
                changes,
                format!("from the server: {error}"),
                now_ms()
            ],
        )?;
        Ok(())
    }

    fn absorb_reply(
        &mut self,
        id: DocumentId,
        header: Option<&Header>,
        generation: u32,
        changes: &[u8],
        server_heads: &[Hash],
    ) -> Result<()> {
        let server_heads: Vec<ChangeHash> = server_heads.iter().map(|h| ChangeHash(*h)).collect();
        // One write transaction, decided on what is on disk: another writer's rows count for
        // what is still unsent.
        self.in_write_tx(|s| {
            let header = match s.header_of(id)? {
                Some(h) => h,
                None => {
                    let h = *header.ok_or_else(|| {
                        CoreError::Protocol("a new document came without its header".into())
                    })?;
                    if h.id != id || !h.is_consistent() {
                        return Err(CoreError::Protocol(
                            "a new document's header does not match its id".into(),
                        ));
                    }
                    // A round begun before a change of user may bring the previous user's
                    // documents: the server keeps them; this device does not show them.
                    if let Some(me) = s.identity()? {
                        if authorize(&me.principal(), &h, Access::Read).is_err() {
                            tracing::info!(doc = %id, "not kept: the signed-in user may not read it");
                            return Ok(());
                        }
                    }
                    // Apply to a scratch copy first: a bad document from the server changes nothing here.
                    let mut doc = Automerge::new();
                    received(|| doc.load_incremental(changes))?;
                    docs::read_header(&doc, id)?;
                    insert_document(&s.conn, &h, &doc, Some(&server_heads))?;
                    s.conn.execute(
                        "UPDATE documents SET generation = ?2 WHERE doc_id = ?1",
                        params![id_blob(&id), generation],
                    )?;
                    project(&s.conn, &h, &doc, &Projection::Whole)?;
                    s.loaded.remove(&id);
                    return Ok(());
                }
            };
            // Another generation's bytes are never merged into this copy (issue #14): merged,
            // an erased citizen would come back with the old copy's history. A newer one (sent
            // whole for a parked copy, which is not offered) replaces the copy when it is next
            // offered ([`ClientStorage::replaced`]); an older one is a stale answer of a round
            // begun before the copy was replaced.
            let held = s.generation(id)?.unwrap_or(0);
            if held != generation {
                tracing::info!(doc = %id, held, generation, "not merged: another generation");
                return Ok(());
            }
            let parked = s.is_parked(id)?;
            let actor = s.actor.clone();
            let doc = s
                .load(id)?
                .ok_or_else(|| CoreError::NotFound(id.to_string()))?;
            let before = doc.get_heads();
            let mut copy = doc.fork();
            received(|| copy.load_incremental(changes))?;
            let added: Vec<u8> = copy
                .get_changes(&before)
                .iter()
                .flat_map(|c| c.raw_bytes().to_vec())
                .collect();
            let unsent = copy.get_changes(&server_heads).is_empty();
            copy.set_actor(actor.clone());
            if !added.is_empty() {
                // Only the records the changes touched are refreshed (a course, or anything the
                // rule is unsure of, whole): the rows end as a whole re-projection leaves them.
                let touched = if parked {
                    None
                } else {
                    Some(touched_records(
                        header.kind,
                        &copy,
                        &before,
                        &copy.get_heads(),
                    ))
                };
                if let Some(mut whole) = append_changes(&s.conn, &header, &copy, &added)? {
                    whole.set_actor(actor);
                    copy = whole;
                }
                // A parked document stays hidden: it is projected when its user is back.
                if let Some(touched) = &touched {
                    let scope = match touched {
                        Touched::Whole => Projection::Whole,
                        Touched::Records(records) => Projection::Records(records),
                    };
                    project(&s.conn, &header, &copy, &scope)?;
                }
            }
            s.conn.execute(
                "UPDATE documents SET server_heads = ?2 WHERE doc_id = ?1",
                params![id_blob(&id), heads_to_blob(&server_heads)],
            )?;
            if unsent {
                s.conn
                    .execute("DELETE FROM outbox WHERE doc_id = ?1", [id_blob(&id)])?;
                s.conn
                    .execute("DELETE FROM refusals WHERE doc_id = ?1", [id_blob(&id)])?;
            } else {
                // Others' changes arrived on top of refused ones: still the same refused
                // changes.
                s.conn.execute(
                    "UPDATE refusals SET heads = ?3 WHERE doc_id = ?1 AND heads = ?2",
                    params![
                        id_blob(&id),
                        heads_to_blob(&before),
                        heads_to_blob(&copy.get_heads())
                    ],
                )?;
            }
            s.loaded.insert(id, copy);
            Ok(())
        })
    }
}

/// Decodes what the server sent (`decode` applies it to a scratch copy, or loads it). It came
/// over the network, and Automerge's decoders have panicked on crafted bytes
/// (docs/upstream/automerge-panic.md): a panic is a clear error here, the copy dropped and
/// nothing stored, never a crashed app.
pub(super) fn received<T>(
    decode: impl FnOnce() -> std::result::Result<T, AutomergeError>,
) -> Result<T> {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(decode)) {
        Ok(decoded) => Ok(decoded?),
        Err(_) => Err(CoreError::Protocol(
            "the server sent changes that cannot be decoded".into(),
        )),
    }
}

#[cfg(test)]
mod tests {
    //! An absorbed change refreshes only the records it touched; the rows must end exactly as a
    //! whole re-projection of every document leaves them.
    use super::*;
    use crate::store::fixtures::{citizen, signed_in};
    use automerge::transaction::Transactable;
    use automerge::{ActorId, ReadDoc};
    use homerehab_shared::docs::rewrite::{rewrite_roster_without, RosterErasure};
    use homerehab_shared::model::*;
    use proptest::prelude::*;

    /// Every projection table, row by row, in a fixed order.
    fn rows(store: &Store) -> Vec<String> {
        let mut out = Vec::new();
        for table in [
            "citizens",
            "citizen_assignments",
            "courses",
            "program_lines",
            "sessions",
            "care_grants",
        ] {
            let mut stmt = store
                .conn
                .prepare(&format!("SELECT * FROM {table} ORDER BY 1, 2"))
                .unwrap();
            let n = stmt.column_count();
            let table_rows: Vec<String> = stmt
                .query_map([], |r| {
                    let mut row = format!("{table}:");
                    for i in 0..n {
                        row.push_str(&format!("{:?}|", r.get_ref(i)?));
                    }
                    Ok(row)
                })
                .unwrap()
                .collect::<rusqlite::Result<_>>()
                .unwrap();
            out.extend(table_rows);
        }
        out
    }

    /// The rows now, and after every document is projected whole again: they must be equal.
    fn assert_as_whole(store: &mut Store) {
        let now = rows(store);
        store.reproject_all().unwrap();
        assert_eq!(
            now,
            rows(store),
            "per-record rows differ from a whole projection"
        );
    }

    fn hashes(doc: &Automerge) -> Vec<Hash> {
        doc.get_heads().iter().map(|h| h.0).collect()
    }

    /// The server's copy of one document and what the device was last sent of it.
    struct Remote {
        header: Header,
        doc: Automerge,
        generation: u32,
        /// Heads the device absorbed last; `None` before it holds the document.
        sent: Option<Vec<ChangeHash>>,
    }

    impl Remote {
        fn new(header: Header) -> Remote {
            Remote {
                header,
                doc: docs::genesis(&header).with_actor(ActorId::random()),
                generation: 0,
                sent: None,
            }
        }

        /// An edit by the server's copy's writer, or two concurrent ones by two devices.
        fn edit(&mut self, concurrent: bool, f: impl Fn(&mut Automerge, u8)) {
            if concurrent {
                let mut a = self.doc.fork().with_actor(ActorId::random());
                let mut b = self.doc.fork().with_actor(ActorId::random());
                f(&mut a, 0);
                f(&mut b, 1);
                self.doc.merge(&mut a).unwrap();
                self.doc.merge(&mut b).unwrap();
            } else {
                f(&mut self.doc, 0);
            }
        }

        /// The device absorbs what it has not had (the whole document when it is new).
        fn sync(&mut self, store: &mut Store) {
            match &self.sent {
                None => store
                    .absorb(
                        self.header.id,
                        Some(&self.header),
                        self.generation,
                        &self.doc.save(),
                        &hashes(&self.doc),
                    )
                    .unwrap(),
                Some(since) => store
                    .absorb(
                        self.header.id,
                        None,
                        self.generation,
                        &homerehab_shared::sync::raw_changes_since(&self.doc, since),
                        &hashes(&self.doc),
                    )
                    .unwrap(),
            }
            self.sent = Some(self.doc.get_heads());
        }
    }

    #[derive(Clone, Debug)]
    enum Edit {
        Citizen {
            slot: usize,
            variant: u8,
            concurrent: bool,
        },
        DeleteCitizen {
            slot: usize,
        },
        Grant {
            slot: usize,
            minutes: u32,
        },
        LocalCitizen {
            slot: usize,
            variant: u8,
        },
        StartSession {
            concurrent: bool,
        },
        LogSet {
            session: usize,
            concurrent: bool,
        },
        Finish {
            session: usize,
            concurrent: bool,
        },
        ReplaceRoster {
            slot: usize,
        },
        Sync,
    }

    fn edit() -> impl Strategy<Value = Edit> {
        prop_oneof![
            3 => (0..6usize, any::<u8>(), any::<bool>())
                .prop_map(|(slot, variant, concurrent)| Edit::Citizen { slot, variant, concurrent }),
            1 => (0..6usize).prop_map(|slot| Edit::DeleteCitizen { slot }),
            1 => (0..6usize, 1..600u32).prop_map(|(slot, minutes)| Edit::Grant { slot, minutes }),
            1 => (0..6usize, any::<u8>())
                .prop_map(|(slot, variant)| Edit::LocalCitizen { slot, variant }),
            2 => any::<bool>().prop_map(|concurrent| Edit::StartSession { concurrent }),
            3 => (0..8usize, any::<bool>())
                .prop_map(|(session, concurrent)| Edit::LogSet { session, concurrent }),
            1 => (0..8usize, any::<bool>())
                .prop_map(|(session, concurrent)| Edit::Finish { session, concurrent }),
            1 => (0..6usize).prop_map(|slot| Edit::ReplaceRoster { slot }),
            3 => Just(Edit::Sync),
        ]
    }

    fn run(edits: &[Edit]) {
        let dir = tempfile::tempdir().unwrap();
        let team = TeamId::new();
        let mut store = signed_in(dir.path(), Role::Therapist, team);
        let me = store.identity().unwrap().unwrap().user_id;
        let slots: Vec<CitizenId> = (0..6).map(|_| CitizenId::new()).collect();
        let course = CourseId::new();
        let line = ProgramExerciseId::new();
        let mut roster = Remote::new(Header::roster(team));
        let mut log = Remote::new(Header::session_log(team, course));
        let mut sessions: Vec<SessionId> = Vec::new();
        for c in &slots[..3] {
            docs::put_citizen(&mut roster.doc, &citizen(*c, "Start"), 1).unwrap();
        }
        roster.sync(&mut store);
        log.sync(&mut store);
        for e in edits {
            match e {
                Edit::Citizen {
                    slot,
                    variant,
                    concurrent,
                } => {
                    roster.edit(*concurrent, |doc, who| {
                        let mut c = citizen(slots[*slot], &format!("B{variant}-{who}"));
                        c.address = (variant % 3 == 0).then(|| format!("Vej {who}"));
                        c.assigned.insert(format!("{variant}"), who == 0);
                        docs::put_citizen(doc, &c, 2).unwrap();
                    });
                }
                Edit::DeleteCitizen { slot } => {
                    let key = slots[*slot].to_string();
                    let mut tx = roster.doc.transaction();
                    let citizens = tx.get(automerge::ROOT, "citizens").unwrap().unwrap().1;
                    if tx.get(&citizens, key.as_str()).unwrap().is_some() {
                        tx.delete(&citizens, key.as_str()).unwrap();
                    }
                    tx.commit();
                }
                Edit::Grant { slot, minutes } => {
                    let grant = CareGrantRecord {
                        citizen_id: slots[*slot],
                        effective: "2026-01-05".into(),
                        minutes_per_week: *minutes,
                        service_code: Some("1.1".into()),
                        recorded_by: me,
                        recorded_at: 3 + *minutes as i64,
                    };
                    docs::put_care_grant(&mut roster.doc, &grant, 3).unwrap();
                }
                Edit::LocalCitizen { slot, variant } => {
                    store
                        .put_citizen(&citizen(slots[*slot], &format!("Lokal{variant}")))
                        .unwrap();
                }
                Edit::StartSession { concurrent } => {
                    let s = SessionLog::start(course, me, None, 4);
                    sessions.push(s.id);
                    log.edit(*concurrent, |doc, who| {
                        let mut s = s.clone();
                        s.started_at += who as i64;
                        docs::put_session(doc, &s, 4).unwrap();
                    });
                }
                Edit::LogSet {
                    session,
                    concurrent,
                } => {
                    let Some(id) = sessions.get(*session) else {
                        continue;
                    };
                    log.edit(*concurrent, |doc, who| {
                        let set = SetLog {
                            reps: Some(5 + who as u32),
                            duration_s: None,
                            load_kg: None,
                            at: 5,
                        };
                        docs::log_set(doc, *id, line, "sit-to-stand", &set, 5).unwrap();
                    });
                }
                Edit::Finish {
                    session,
                    concurrent,
                } => {
                    let Some(id) = sessions.get(*session) else {
                        continue;
                    };
                    log.edit(*concurrent, |doc, who| {
                        docs::finish_session(doc, *id, Some(2 + who), None, 6).unwrap();
                    });
                }
                Edit::ReplaceRoster { slot } => {
                    // The server rewrites the roster without one citizen (erasure); the
                    // device takes the new generation, then absorbs on top of it.
                    roster.sync(&mut store);
                    let erasure = RosterErasure {
                        citizens: [slots[*slot]].into_iter().collect(),
                        ..Default::default()
                    };
                    let (new, _) = rewrite_roster_without(&roster.doc, team, &erasure, 7).unwrap();
                    roster.doc = new.with_actor(ActorId::random());
                    roster.generation += 1;
                    store
                        .replaced(roster.header.id, roster.generation, &roster.doc.save(), &[])
                        .unwrap();
                    roster.sent = Some(roster.doc.get_heads());
                }
                Edit::Sync => {
                    roster.sync(&mut store);
                    log.sync(&mut store);
                }
            }
        }
        roster.sync(&mut store);
        log.sync(&mut store);
        assert_as_whole(&mut store);
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 32, ..ProptestConfig::default() })]
        #[test]
        fn absorbed_changes_leave_the_rows_a_whole_projection_would(
            edits in prop::collection::vec(edit(), 1..24)
        ) {
            run(&edits);
        }
    }

    /// "Update the app" lasts from the sync that was told so until one succeeds, and
    /// survives the app being closed; any other failure is not it.
    #[test]
    fn update_required_is_kept_until_a_sync_succeeds_and_only_for_that_refusal() {
        let dir = tempfile::tempdir().unwrap();
        let store = signed_in(dir.path(), Role::Assistant, TeamId::new());
        store
            .record_sync_outcome(Some(&CoreError::UpdateRequired("version 4".into())))
            .unwrap();
        drop(store);
        let store = Store::open(dir.path()).unwrap();
        let s = store.sync_status().unwrap();
        assert!(s.update_required);
        assert!(s.last_error.unwrap().contains("update the app"));
        store.record_sync_outcome(None).unwrap();
        assert!(!store.sync_status().unwrap().update_required);
        store
            .record_sync_outcome(Some(&CoreError::Offline("no route".into())))
            .unwrap();
        let s = store.sync_status().unwrap();
        assert!(!s.update_required && s.last_error.is_some());
        // A server behind the app is its own state, not "update the app".
        store
            .record_sync_outcome(Some(&CoreError::ServerBehind("speaks 3".into())))
            .unwrap();
        let s = store.sync_status().unwrap();
        assert!(s.server_behind && !s.update_required);
        assert!(s
            .last_error
            .unwrap()
            .contains("nothing on this device was lost"));
        store.record_sync_outcome(None).unwrap();
        assert!(!store.sync_status().unwrap().server_behind);
        // An ended sign-in is its own state too: someone must sign in again.
        store
            .record_sync_outcome(Some(&CoreError::SignInExpired("the token expired".into())))
            .unwrap();
        let s = store.sync_status().unwrap();
        assert!(s.sign_in_expired && !s.server_behind && !s.update_required);
        store.record_sync_outcome(None).unwrap();
        assert!(!store.sync_status().unwrap().sign_in_expired);
    }

    #[test]
    fn one_citizen_changed_on_a_500_citizen_roster_refreshes_that_row_only() {
        let dir = tempfile::tempdir().unwrap();
        let team = TeamId::new();
        let mut store = signed_in(dir.path(), Role::Therapist, team);
        let mut roster = Remote::new(Header::roster(team));
        let all: Vec<Citizen> = (0..500)
            .map(|i| citizen(CitizenId::new(), &format!("B{i}")))
            .collect();
        for c in &all {
            docs::put_citizen(&mut roster.doc, c, 1).unwrap();
        }
        roster.sync(&mut store);
        // A row changed behind the projection's back stays as it is: only the touched citizen
        // is read again.
        store
            .conn
            .execute(
                "UPDATE citizens SET name = 'stale' WHERE id = ?1",
                [all[3].id.to_string()],
            )
            .unwrap();
        let mut changed = all[250].clone();
        changed.name = "Ændret".into();
        docs::put_citizen(&mut roster.doc, &changed, 2).unwrap();
        roster.sync(&mut store);
        let name = |store: &Store, id: CitizenId| -> String {
            store
                .conn
                .query_row(
                    "SELECT name FROM citizens WHERE id = ?1",
                    [id.to_string()],
                    |r| r.get(0),
                )
                .unwrap()
        };
        assert_eq!(name(&store, all[250].id), "Ændret");
        assert_eq!(
            name(&store, all[3].id),
            "stale",
            "an untouched citizen was re-projected"
        );
        store.reproject_all().unwrap();
        assert_eq!(name(&store, all[3].id), "B3");
    }

    #[test]
    fn an_invalid_session_absorbed_is_refused_as_a_whole_reading_refuses_it() {
        let dir = tempfile::tempdir().unwrap();
        let (team, course) = (TeamId::new(), CourseId::new());
        let mut store = signed_in(dir.path(), Role::Therapist, team);
        let mut log = Remote::new(Header::session_log(team, course));
        let s = SessionLog::start(course, UserId::new(), None, 4);
        docs::put_session(&mut log.doc, &s, 4).unwrap();
        log.sync(&mut store);
        // A general condition out of range, written past the app's checks.
        let mut tx = log.doc.transaction();
        let sessions = tx.get(automerge::ROOT, "sessions").unwrap().unwrap().1;
        let session = tx
            .get(&sessions, s.id.to_string().as_str())
            .unwrap()
            .unwrap()
            .1;
        tx.put(&session, "general_condition", 99_u64).unwrap();
        tx.commit();
        let before = rows(&store);
        let held = store.load(log.header.id).unwrap().unwrap().get_heads();
        let changes =
            homerehab_shared::sync::raw_changes_since(&log.doc, log.sent.as_ref().unwrap());
        assert!(store
            .absorb_reply(log.header.id, None, 0, &changes, &hashes(&log.doc))
            .is_err());
        assert_eq!(rows(&store), before, "nothing of the refused absorb stays");
        // As the sync absorbs it: kept aside once, however often the server sends it, and the
        // sync goes on with the other documents.
        for _ in 0..2 {
            store
                .absorb(log.header.id, None, 0, &changes, &hashes(&log.doc))
                .unwrap();
        }
        assert_eq!(rows(&store), before);
        assert_eq!(store.sync_status().unwrap().damaged, 1);
        assert_eq!(
            store.load(log.header.id).unwrap().unwrap().get_heads(),
            held
        );
    }

    /// A held copy takes changes of its own generation only: a newer generation whole (the
    /// server sends one for a parked copy, which is not offered) or an older one's changes (a
    /// round begun before the copy was replaced) change nothing, heads confirmed included.
    #[test]
    fn another_generations_bytes_are_never_merged_into_a_held_copy() {
        let dir = tempfile::tempdir().unwrap();
        let (team, course) = (TeamId::new(), CourseId::new());
        let mut store = signed_in(dir.path(), Role::Therapist, team);
        let mut log = Remote::new(Header::session_log(team, course));
        let first = SessionLog::start(course, UserId::new(), None, 4);
        docs::put_session(&mut log.doc, &first, 4).unwrap();
        log.sync(&mut store);
        let id = log.header.id;
        let (before_rows, before_heads, before_confirmed) = (
            rows(&store),
            store.load(id).unwrap().unwrap().get_heads(),
            store_server_heads(&store, id),
        );
        // The server's generation 1: rewritten from the genesis, another session in it.
        let mut next = docs::genesis(&log.header).with_actor(ActorId::random());
        let other = SessionLog::start(course, UserId::new(), None, 5);
        docs::put_session(&mut next, &other, 5).unwrap();
        store
            .absorb(id, None, 1, &next.save(), &hashes(&next))
            .unwrap();
        assert_eq!(
            rows(&store),
            before_rows,
            "nothing of generation 1 projected"
        );
        assert_eq!(store.load(id).unwrap().unwrap().get_heads(), before_heads);
        assert_eq!(store_server_heads(&store, id), before_confirmed);
        // Replaced by generation 1, the copy takes no more of generation 0.
        store.replace_generation(id, 1, &next.save(), &[]).unwrap();
        let replaced = store.load(id).unwrap().unwrap().get_heads();
        let late = SessionLog::start(course, UserId::new(), None, 6);
        docs::put_session(&mut log.doc, &late, 6).unwrap();
        store
            .absorb(
                id,
                None,
                0,
                &homerehab_shared::sync::raw_changes_since(&log.doc, log.sent.as_ref().unwrap()),
                &hashes(&log.doc),
            )
            .unwrap();
        assert_eq!(store.load(id).unwrap().unwrap().get_heads(), replaced);
        // Its own generation's changes are taken as ever.
        let third = SessionLog::start(course, UserId::new(), None, 7);
        let known = next.get_heads();
        docs::put_session(&mut next, &third, 7).unwrap();
        store
            .absorb(
                id,
                None,
                1,
                &homerehab_shared::sync::raw_changes_since(&next, &known),
                &hashes(&next),
            )
            .unwrap();
        assert_eq!(
            store.load(id).unwrap().unwrap().get_heads(),
            next.get_heads()
        );
    }

    fn store_server_heads(store: &Store, id: DocumentId) -> Vec<u8> {
        store
            .conn
            .query_row(
                "SELECT server_heads FROM documents WHERE doc_id = ?1",
                [id_blob(&id)],
                |r| r.get::<_, Option<Vec<u8>>>(0),
            )
            .unwrap()
            .unwrap_or_default()
    }

    /// Bytes that make Automerge's bundle decoder panic (a fuzz crasher kept in the
    /// repository), as the server's changes for a document the device holds and for a new one,
    /// and as a new generation of the held one: a clear error each time, nothing stored.
    #[test]
    fn bytes_from_the_server_that_panic_automerge_are_a_clear_error() {
        let crasher = std::fs::read(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../fuzz/fixtures/admission/hexane-leb128-eof-in-bundle"
        ))
        .unwrap();
        // The fuzz input's two framing bytes, then the bundle.
        let bundle = &crasher[2..];
        assert!(
            std::panic::catch_unwind(|| Automerge::new().load_incremental(bundle)).is_err(),
            "Automerge no longer panics on this input: the test shows nothing"
        );
        let dir = tempfile::tempdir().unwrap();
        let (team, course) = (TeamId::new(), CourseId::new());
        let mut store = signed_in(dir.path(), Role::Therapist, team);
        let mut log = Remote::new(Header::session_log(team, course));
        log.sync(&mut store);
        let before = rows(&store);
        let held = store.load(log.header.id).unwrap().unwrap().get_heads();
        let new_log = Header::session_log(team, CourseId::new());
        for (doc, header) in [(log.header.id, None), (new_log.id, Some(new_log))] {
            match store.absorb_reply(doc, header.as_ref(), 0, bundle, &[]) {
                Err(CoreError::Protocol(m)) => assert!(m.contains("cannot be decoded"), "{m}"),
                other => panic!("{other:?}"),
            }
            // The sync keeps the bytes aside and goes on.
            store.absorb(doc, header.as_ref(), 0, bundle, &[]).unwrap();
        }
        assert_eq!(store.sync_status().unwrap().damaged, 2);
        assert!(store.header_of(new_log.id).unwrap().is_none(), "not stored");
        match store.replace_generation(log.header.id, 1, bundle, &[]) {
            Err(CoreError::Protocol(m)) => assert!(m.contains("cannot be decoded"), "{m}"),
            other => panic!("{:?}", other.map(drop)),
        }
        assert_eq!(rows(&store), before);
        assert_eq!(
            store.load(log.header.id).unwrap().unwrap().get_heads(),
            held
        );
    }
}
