//! A shared tablet changing hands. When a different user signs in, the device keeps only what
//! that user may read (`shared::auth::authorize`, the server's rule): documents they may not
//! read are removed with their projection rows, and a document that still holds unsent work of
//! the previous user (it could not be pushed, or the new user could not push it: the changes
//! are the previous user's actor's) is *parked* — kept byte for byte, hidden from every view
//! and from sync offers, until that user signs in on the device again.

use super::clock::now_ms;
use super::columns::id_blob;
use super::database::Store;
use super::identity::Identity;
use super::projection::{project, Projection};
use crate::error::{CoreError, Result};
use automerge::ActorId;
use homerehab_shared::auth::{authorize, Access, Principal};
use homerehab_shared::docs::{DocumentKind, Header};
use homerehab_shared::ids::*;
use rusqlite::{params, Connection};

/// What a change of user did on the device.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Handover {
    /// Documents the new user may not read, removed (nothing of them was unsent).
    pub removed: u32,
    /// Documents parked for the previous user's unsent work.
    pub parked: u32,
    /// The new user's own parked documents, shown and offered again.
    pub unparked: u32,
}

impl Store {
    /// Records a successful online sign-in of `next` (as `principal`, with the actor the server
    /// registered for them) in one transaction: the identity, the actor, and — when the
    /// previous user was someone else — the handover of the documents on the device.
    pub fn switch_user(&mut self, next: &Identity, actor: ActorId) -> Result<Handover> {
        let principal = &next.principal();
        let report = self.in_write_tx(|s| {
            let previous = s.identity()?;
            let mut report = Handover::default();
            if let Some(previous) = previous.filter(|p| p.user_id != next.user_id) {
                s.hand_over(&previous, principal, &mut report)?;
            }
            report.unparked = s.unpark(next.user_id)?;
            // Evidence answers hold what their user may see: never shown to the next one.
            s.drop_evidence_of_others(&next.user_id.to_string())?;
            s.set_meta("actor", actor.to_bytes())?;
            s.set_identity(next)?;
            Ok(report)
        })?;
        self.actor = actor;
        self.loaded.clear();
        self.merged = None;
        if report != Handover::default() {
            tracing::info!(
                removed = report.removed,
                parked = report.parked,
                unparked = report.unparked,
                "documents handed over to the signed-in user"
            );
        }
        Ok(report)
    }

    fn hand_over(
        &mut self,
        previous: &Identity,
        next: &Principal,
        report: &mut Handover,
    ) -> Result<()> {
        type Row = (Vec<u8>, bool, bool);
        let rows: Vec<Row> = self
            .conn
            .prepare(
                "SELECT d.doc_id, o.doc_id IS NOT NULL, p.doc_id IS NOT NULL FROM documents d
                 LEFT JOIN outbox o ON o.doc_id = d.doc_id LEFT JOIN parked p ON p.doc_id = d.doc_id",
            )?
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
            .collect::<rusqlite::Result<_>>()?;
        for (id, unsent, parked) in rows {
            let id = DocumentId(
                uuid::Uuid::from_slice(&id).map_err(|e| CoreError::Document(e.to_string()))?,
            );
            let Some(header) = self.header_of(id)? else {
                continue;
            };
            if parked {
                // Already waiting for its own user (who may be the one signing in: unparked next).
                continue;
            }
            if unsent {
                self.conn.execute(
                    "INSERT INTO parked (doc_id, user_id, display_name, since) VALUES (?1, ?2, ?3, ?4)",
                    params![
                        id_blob(&id),
                        previous.user_id.to_string(),
                        previous.display_name,
                        now_ms()
                    ],
                )?;
                unproject(&self.conn, &header)?;
                report.parked += 1;
            } else if authorize(next, &header, Access::Read).is_err() {
                self.remove_document(&header)?;
                report.removed += 1;
            }
        }
        // Staff directories of teams the new user does not serve.
        let teams: Vec<String> = next.teams().map(|t| t.to_string()).collect();
        let keep = teams
            .iter()
            .map(|t| format!("'{t}'"))
            .collect::<Vec<_>>()
            .join(",");
        // The ids are formatted UUIDs, never text from outside.
        self.conn.execute_batch(&format!(
            "DELETE FROM staff WHERE team_id NOT IN ({keep});
             DELETE FROM teams WHERE team_id NOT IN ({keep});"
        ))?;
        Ok(())
    }

    /// Removes a document and every row that mirrors it; only for documents with nothing
    /// unsent (the server holds all of it).
    fn remove_document(&mut self, header: &Header) -> Result<()> {
        let id = id_blob(&header.id);
        unproject(&self.conn, header)?;
        for table in ["doc_changes", "documents", "refusals"] {
            self.conn
                .execute(&format!("DELETE FROM {table} WHERE doc_id = ?1"), [id])?;
        }
        self.loaded.remove(&header.id);
        Ok(())
    }

    /// The server says the signed-in user may no longer read `id` (moved to another team, a
    /// grant withdrawn): it leaves the device, unless it or a document of the same course (or,
    /// for a roster, of the same team) still holds unsent work — that work stays, and with it
    /// what tells the person whose it is. Returns whether it was removed.
    pub(super) fn forget_unreadable(&mut self, id: DocumentId) -> Result<bool> {
        let Some(header) = self.header_of(id)? else {
            return Ok(false);
        };
        let needed: bool = self.conn.query_row(
            "SELECT EXISTS (SELECT 1 FROM outbox o JOIN documents d ON d.doc_id = o.doc_id
                            WHERE d.doc_id = ?1 OR (?2 IS NOT NULL AND d.course_id = ?2)
                               OR (?3 AND d.team_id = ?4))
                 OR EXISTS (SELECT 1 FROM parked WHERE doc_id = ?1)",
            params![
                id_blob(&id),
                header.course_id.map(|c| c.as_bytes().to_vec()),
                header.kind == DocumentKind::Roster,
                header.team_id.as_bytes().as_slice(),
            ],
            |r| r.get(0),
        )?;
        if needed {
            return Ok(false);
        }
        self.remove_document(&header)?;
        Ok(true)
    }

    /// Shows and offers again the documents parked for `user`; returns how many.
    fn unpark(&mut self, user: UserId) -> Result<u32> {
        let ids: Vec<Vec<u8>> = self
            .conn
            .prepare("SELECT doc_id FROM parked WHERE user_id = ?1")?
            .query_map([user.to_string()], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        self.conn
            .execute("DELETE FROM parked WHERE user_id = ?1", [user.to_string()])?;
        for id in &ids {
            let id = DocumentId(
                uuid::Uuid::from_slice(id).map_err(|e| CoreError::Document(e.to_string()))?,
            );
            let Some(header) = self.header_of(id)? else {
                continue;
            };
            let Some(doc) = self.load(id)? else { continue };
            let doc = doc.clone();
            project(&self.conn, &header, &doc, &Projection::Whole)?;
        }
        Ok(ids.len() as u32)
    }
}

/// Removes the projection rows that mirror a document, so no view shows it.
pub(super) fn unproject(conn: &Connection, header: &Header) -> Result<()> {
    match header.kind {
        DocumentKind::Roster => {
            let team = header.team_id.to_string();
            conn.execute(
                "DELETE FROM citizen_assignments WHERE citizen_id IN (SELECT id FROM citizens WHERE team_id = ?1)",
                [&team],
            )?;
            conn.execute("DELETE FROM citizens WHERE team_id = ?1", [&team])?;
            conn.execute("DELETE FROM care_grants WHERE team_id = ?1", [&team])?;
        }
        DocumentKind::Course => {
            if let Some(course) = header.course_id {
                let course = course.to_string();
                conn.execute("DELETE FROM program_lines WHERE course_id = ?1", [&course])?;
                conn.execute("DELETE FROM courses WHERE id = ?1", [&course])?;
            }
        }
        DocumentKind::SessionLog => {
            if let Some(course) = header.course_id {
                conn.execute(
                    "DELETE FROM sessions WHERE course_id = ?1",
                    [course.to_string()],
                )?;
            }
        }
        // Read from its document, never projected.
        DocumentKind::Library => {}
    }
    Ok(())
}
