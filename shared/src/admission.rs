//! The server's gate for incoming changes: apply them to a copy, check schema, header and the
//! author's rights, and only then hand the copy back to be stored (Automerge #807's advice).
//! A rejected change is never applied; the caller keeps it aside with the reason.

use crate::auth::{authorize, Access, Forbidden, Principal};
use crate::docs::{
    genesis, genesis_actor, read_header, CourseDoc, DocumentKind, Header, RosterDoc, SchemaError,
};
use crate::ids::DocumentId;
use crate::model::Role;
use automerge::{ActorId, Automerge, ChangeHash, PatchAction, Prop, ReadDoc};
use std::collections::{BTreeSet, HashSet};

#[derive(Debug, thiserror::Error)]
pub enum Rejection {
    #[error("the change data is corrupt: {0}")]
    Corrupt(String),
    #[error("changes refer to earlier changes the server does not have")]
    MissingDependencies,
    #[error("a change was made by a device not registered to this user")]
    ForeignActor,
    #[error(transparent)]
    Forbidden(#[from] Forbidden),
    #[error(transparent)]
    Schema(#[from] SchemaError),
    #[error("a document's kind, team or course cannot change")]
    HeaderChanged,
    #[error("session logs are append-only: {0}")]
    NotAppendOnly(String),
}

impl Rejection {
    /// Whether the client should send the whole document instead of a delta.
    pub fn wants_full_document(&self) -> bool {
        matches!(self, Rejection::MissingDependencies)
    }
}

/// A document that passed admission, with what was new in it.
pub struct Admitted {
    pub doc: Automerge,
    pub header: Header,
    /// Hashes of the changes that were not in the stored document.
    pub new_changes: Vec<ChangeHash>,
}

/// Applies `incoming` (a bundle, raw changes or a saved document) to a copy of `current`
/// (None: a new document) and checks them for `who`. `claimed_heads` are the heads the device
/// says it has; `actors` are the actor ids registered to `who`'s devices.
pub fn admit(
    id: DocumentId,
    current: Option<&Automerge>,
    incoming: &[u8],
    claimed_heads: &[ChangeHash],
    who: &Principal,
    actors: &HashSet<ActorId>,
) -> Result<Admitted, Rejection> {
    let before_heads = current.map(|d| d.get_heads()).unwrap_or_default();
    let mut copy = match current {
        Some(d) => d.fork(),
        None => Automerge::new(),
    };
    copy.load_incremental(incoming)
        .map_err(|e| Rejection::Corrupt(e.to_string()))?;
    if !copy.get_missing_deps(&[]).is_empty() {
        return Err(Rejection::MissingDependencies);
    }
    // Automerge skips a damaged trailing chunk silently; the device's own heads expose it.
    if !copy.get_missing_deps(claimed_heads).is_empty() {
        return Err(Rejection::Corrupt(
            "the changes sent do not reach the heads the device reported (truncated or damaged data)".into(),
        ));
    }
    // Metadata only: rebuilding whole `Change`s would re-encode every op.
    let new_changes = copy.get_changes_meta(&before_heads);
    if new_changes.is_empty() {
        let header = read_header(&copy, id)?;
        return Ok(Admitted {
            doc: copy,
            header,
            new_changes: vec![],
        });
    }
    let header = read_header(&copy, id)?;
    if let Some(cur) = current {
        if read_header(cur, id)? != header {
            return Err(Rejection::HeaderChanged);
        }
    }
    // Every change must come from this user's devices, except the deterministic genesis.
    let genesis_author = genesis_actor(id);
    let mut genesis_hashes: Option<Vec<ChangeHash>> = None; // built only when needed
    let mut only_genesis = true;
    for c in &new_changes {
        let is_genesis = *c.actor == genesis_author
            && genesis_hashes
                .get_or_insert_with(|| genesis(&header).get_heads())
                .contains(&c.hash);
        if !is_genesis && !actors.contains(&*c.actor) {
            return Err(Rejection::ForeignActor);
        }
        only_genesis &= is_genesis;
    }
    if only_genesis {
        // The genesis is fixed by the header, so whoever may read a document may create its
        // empty shell (a therapist creates the session log of a new course this way).
        authorize(who, &header, Access::Read)?;
        return Ok(Admitted {
            new_changes: new_changes.iter().map(|c| c.hash).collect(),
            doc: copy,
            header,
        });
    }
    authorize(who, &header, Access::Write)?;
    match header.kind {
        DocumentKind::Roster => {
            RosterDoc::read(&copy)?;
        }
        DocumentKind::Course => {
            CourseDoc::read(&copy)?;
        }
        DocumentKind::SessionLog => check_session_log(&copy, current, who)?,
        DocumentKind::Library => {
            crate::municipal::LibraryDoc::read(&copy)?;
        }
    }
    Ok(Admitted {
        new_changes: new_changes.iter().map(|c| c.hash).collect(),
        doc: copy,
        header,
    })
}

/// Session logs: an assistant may add sessions and extend their own; nothing else.
fn check_session_log(
    after: &Automerge,
    before: Option<&Automerge>,
    who: &Principal,
) -> Result<(), Rejection> {
    if who.role != Role::Assistant {
        return Err(Rejection::NotAppendOnly(
            "only assistants log sessions".into(),
        ));
    }
    let after_heads = after.get_heads();
    let before_heads = before.map(|d| d.get_heads()).unwrap_or_default();
    let before_is_empty = before.is_none();
    let mut touched = BTreeSet::new();
    for patch in after.diff(&before_heads, &after_heads) {
        match patch.path.as_slice() {
            // A put at the root: only the genesis of a new document may do that.
            [] if before_is_empty => {}
            [] => {
                return Err(Rejection::NotAppendOnly(
                    "the document's root cannot change".into(),
                ))
            }
            [(_, Prop::Map(k))] if k == "sessions" => match &patch.action {
                PatchAction::PutMap { key, .. } => {
                    touched.insert(key.clone());
                }
                _ => {
                    return Err(Rejection::NotAppendOnly(
                        "sessions cannot be deleted".into(),
                    ))
                }
            },
            [(_, Prop::Map(k)), (_, Prop::Map(session)), ..] if k == "sessions" => {
                touched.insert(session.clone());
            }
            _ => {
                return Err(Rejection::NotAppendOnly(
                    "unexpected change outside the sessions".into(),
                ))
            }
        }
    }
    for key in touched {
        let now = crate::docs::read_session(after, &key)?
            .ok_or(Rejection::NotAppendOnly("a session vanished".into()))?;
        now.validate().map_err(SchemaError::from)?;
        if now.id.to_string() != key {
            return Err(Rejection::NotAppendOnly(
                "a session is filed under another id".into(),
            ));
        }
        if now.performed_by != who.user_id {
            return Err(Rejection::NotAppendOnly(
                "a session can only be written by the assistant who performs it".into(),
            ));
        }
        if let Some(b) = before {
            if let Some(old) = crate::docs::read_session(b, &key)? {
                if old.performed_by != who.user_id {
                    return Err(Rejection::NotAppendOnly(
                        "another assistant's session cannot be changed".into(),
                    ));
                }
            }
        }
    }
    Ok(())
}
