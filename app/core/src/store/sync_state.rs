//! What the device knows about syncing: the status line, the outbox, the heads the server
//! confirmed, the documents it refused and why, and the [`ClientStorage`] a sync round runs
//! over.

use super::clock::now_ms;
use super::columns::{blob_to_heads, document_id, heads_to_blob, id_blob};
use super::database::Store;
use super::documents::{append_changes, insert_document};
use super::projection::{project, Projection};
use crate::error::{CoreError, Result};
use automerge::{Automerge, ChangeHash};
use homerehab_shared::auth::{authorize, Access};
use homerehab_shared::docs::{self, DocumentKind, Header};
use homerehab_shared::ids::*;
use homerehab_shared::model::Millis;
use homerehab_shared::sync::client::WholeDocument;
use homerehab_shared::sync::{
    plan_offer, ClientStorage, Hash, Offer, OfferPlan, PendingOffer, Refusal,
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

    pub fn record_sync_outcome(&self, error: Option<String>) -> Result<()> {
        let mut s = self.sync_status()?;
        match error {
            None => {
                s.last_success = Some(now_ms());
                s.last_error = None;
            }
            Some(e) => s.last_error = Some(e),
        }
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
                        },
                    ));
                    continue;
                }
                OfferPlan::Changes => {}
            }
            // Heads and changes from one copy: the heads are recorded as sent
            // (`ClientStorage::sending`), so they must cover every change in the offer.
            let (heads, changes) = if dirty {
                let since = server_heads
                    .as_deref()
                    .map(blob_to_heads)
                    .unwrap_or_default();
                match self.load(id) {
                    Ok(Some(doc)) => (
                        doc.get_heads().iter().map(|h| h.0).collect(),
                        homerehab_shared::sync::raw_changes_since(doc, &since),
                    ),
                    Ok(None) => return Err(CoreError::NotFound(id.to_string())),
                    // An unreadable snapshot must not stop every other document's sync.
                    Err(e @ CoreError::Damaged(_)) => {
                        tracing::error!(doc = %id, error = %e, "not offered");
                        continue;
                    }
                    Err(e) => return Err(e),
                }
            } else {
                (
                    blob_to_heads(&heads).iter().map(|h| h.0).collect(),
                    Vec::new(),
                )
            };
            ranked.push((
                kind_rank(&kind),
                PendingOffer {
                    offer: Offer {
                        doc: id,
                        heads,
                        changes,
                        generation,
                    },
                    confirmed,
                },
            ));
        }
        // By kind, then by id: the same order at every call, so a split sync is stable.
        ranked.sort_by_key(|(rank, o)| (*rank, o.offer.doc));
        Ok(ranked.into_iter().map(|(_, o)| o).collect())
    }

    fn whole(&mut self, id: DocumentId) -> Result<Option<WholeDocument>> {
        let generation = self.generation(id)?.unwrap_or(0);
        Ok(self.load(id)?.map(|d| WholeDocument {
            heads: d.get_heads().iter().map(|h| h.0).collect(),
            saved: d.save(),
            generation,
        }))
    }

    fn absorb(
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
                    doc.load_incremental(changes)?;
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
            let parked = s.is_parked(id)?;
            let actor = s.actor.clone();
            let doc = s
                .load(id)?
                .ok_or_else(|| CoreError::NotFound(id.to_string()))?;
            let before = doc.get_heads();
            let mut copy = doc.fork();
            copy.load_incremental(changes)?;
            let added: Vec<u8> = copy
                .get_changes(&before)
                .iter()
                .flat_map(|c| c.raw_bytes().to_vec())
                .collect();
            let unsent = copy.get_changes(&server_heads).is_empty();
            copy.set_actor(actor.clone());
            if !added.is_empty() {
                if let Some(mut whole) = append_changes(&s.conn, &header, &copy, &added)? {
                    whole.set_actor(actor);
                    copy = whole;
                }
                // A parked document stays hidden: it is projected when its user is back.
                if !parked {
                    project(&s.conn, &header, &copy, &Projection::Whole)?;
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
