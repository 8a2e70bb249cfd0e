//! The server's gate for incoming changes: apply them to a copy, check schema, header and the
//! author's rights, and only then hand the copy back to be stored (Automerge #807's advice).
//! A rejected change is never applied; the caller keeps it aside with the reason.

use crate::auth::{authorize, records_delegated_tests, Access, Capability, Forbidden, Principal};
use crate::docs::{
    genesis_actor, own_changes, read_header, server_actor, CourseDoc, DocumentKind, Header,
    RosterDoc, SchemaError,
};
use crate::ids::DocumentId;
use crate::model::SessionLog;
use crate::sync::chunks;
use automerge::legacy::{Key as OpKey, ObjectId as OpObject, OpId, OpType as OpAction};
use automerge::{
    ActorId, Automerge, Change, ChangeHash, LoadOptions, OnPartialLoad, PatchAction, Prop, ReadDoc,
};
use std::collections::{BTreeSet, HashMap, HashSet};
use std::panic::AssertUnwindSafe;

mod grown;
mod replay;

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
    #[error("a session log needs its course on the server first")]
    CourseNotOnServer,
    #[error("an assistant may add to a course only results of tests delegated to them: {0}")]
    NotDelegated(String),
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
    /// A session log's sessions that admission read to judge the new changes.
    pub sessions_read: Option<SessionsRead>,
    /// Those sessions as values, at the admitted document's heads: for the next offer to the
    /// same log ([`admit_or_refuse_knowing`]).
    pub session_values: Option<SessionValues>,
    /// The incoming bytes are one saved document that loads, alone, to `doc`: a store may keep
    /// them as the document's snapshot instead of saving `doc` again.
    pub whole: bool,
}

/// What admission read of a session log's sessions, each as Automerge's `hydrate` shows it, at
/// the log's heads then. Handed back with the next offer to the same log, a session the new
/// changes grow is grown from its value here instead of read again from the document
/// (`grown`): a tablet logs a set per sync, and reading its whole session for each was 13 % of
/// the server's CPU with 50 clients. Used only for a log at exactly these heads.
#[derive(Clone, Debug, Default)]
pub struct SessionValues {
    heads: Vec<ChangeHash>,
    sessions: HashMap<String, automerge::hydrate::Value>,
}

impl SessionValues {
    pub fn heads(&self) -> &[ChangeHash] {
        &self.heads
    }

    pub fn is_empty(&self) -> bool {
        self.sessions.is_empty()
    }

    /// About the bytes the values take in memory.
    pub fn weight(&self) -> usize {
        fn weigh(v: &automerge::hydrate::Value) -> usize {
            use automerge::hydrate::Value;
            // A node and its allocation, by its kind's size (measured order, not exact).
            96 + match v {
                Value::Map(m) => m.iter().map(|(k, e)| k.len() + weigh(&e.value)).sum(),
                Value::List(l) => l.iter().map(|e| weigh(&e.value)).sum(),
                Value::Scalar(automerge::ScalarValue::Str(s)) => s.len(),
                Value::Scalar(automerge::ScalarValue::Bytes(b)) => b.len(),
                _ => 0,
            }
        }
        self.sessions
            .iter()
            .map(|(k, v)| k.len() + weigh(v))
            .sum::<usize>()
            + 32 * self.heads.len()
    }
}

/// The sessions of a session log that changes since `since` wrote, each as it is in the
/// admitted document (filed under its key): every session whose content differs from the log at
/// `since`. The server's read model derives their rows from these instead of reading them again
/// (issue #13: an upload's sessions were read twice).
#[derive(Clone, Debug)]
pub struct SessionsRead {
    /// The heads of the log before the changes (empty: a new log, so every session is here).
    pub since: Vec<ChangeHash>,
    pub sessions: Vec<(String, SessionLog)>,
}

/// Which actor ids are registered to the user's devices and may write in this sync. A set
/// answers from itself; the server asks its store only for the actors a sync's new changes
/// name, so a user's actors — a fresh one each time someone else used the tablet before, so
/// they only grow — are not all read at every sync that brings changes.
pub trait Authors {
    /// Those of `among` (distinct, neither the server's nor a genesis actor) registered to
    /// the user's devices.
    fn registered(&mut self, among: &[ActorId]) -> HashSet<ActorId>;
}

impl Authors for &HashSet<ActorId> {
    fn registered(&mut self, among: &[ActorId]) -> HashSet<ActorId> {
        among
            .iter()
            .filter(|a| self.contains(*a))
            .cloned()
            .collect()
    }
}

/// A refused offer, and whether its bytes may be kept in quarantine: only when every new
/// change was shown to come from the user's own devices (or is the document's genesis) and the
/// user may write the document. Anything else (garbage, a stranger's actor, a reader's write)
/// is refused without keeping a byte, so a hostile request cannot fill the server's disk.
#[derive(Debug)]
pub struct AdmissionRefusal {
    /// Boxed: a refusal is the rare path, and `Rejection` is large.
    pub rejection: Box<Rejection>,
    pub from_writer: bool,
}

impl From<Rejection> for AdmissionRefusal {
    fn from(rejection: Rejection) -> Self {
        AdmissionRefusal {
            rejection: Box::new(rejection),
            from_writer: false,
        }
    }
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
    admit_or_refuse(id, current, incoming, claimed_heads, who, actors).map_err(|r| *r.rejection)
}

/// [`admit`], saying also whether refused bytes may be kept (see [`AdmissionRefusal`]).
///
/// The bytes come from the network: Automerge's decoders have panicked on crafted input
/// (docs/upstream/automerge-panic.md), so everything that touches them runs behind a panic
/// boundary and a panic becomes [`Rejection::Corrupt`]. `current` is only read (`fork`), so a
/// panic leaves nothing half-changed behind.
pub fn admit_or_refuse(
    id: DocumentId,
    current: Option<&Automerge>,
    incoming: &[u8],
    claimed_heads: &[ChangeHash],
    who: &Principal,
    actors: &HashSet<ActorId>,
) -> Result<Admitted, AdmissionRefusal> {
    admit_or_refuse_knowing(
        id,
        current,
        incoming,
        claimed_heads,
        who,
        &mut { actors },
        None,
    )
}

/// [`admit_or_refuse`] with the user's actors asked of `authors` as they are named, and with
/// what admission read of this session log before ([`Admitted::session_values`]), used if
/// `current` is at its heads.
pub fn admit_or_refuse_knowing(
    id: DocumentId,
    current: Option<&Automerge>,
    incoming: &[u8],
    claimed_heads: &[ChangeHash],
    who: &Principal,
    authors: &mut dyn Authors,
    known: Option<SessionValues>,
) -> Result<Admitted, AdmissionRefusal> {
    std::panic::catch_unwind(AssertUnwindSafe(|| {
        admit_checked(id, current, incoming, claimed_heads, who, authors, known)
    }))
    .unwrap_or_else(|_| Err(Rejection::Corrupt("the change data cannot be decoded".into()).into()))
}

/// The chunk types a device may send: a whole document or changes. Bundles are refused before
/// Automerge parses them: its bundle decoder takes run lengths inside the bundle at face value,
/// so 591 crafted bytes can make it allocate 2 GiB — an allocation failure aborts the process,
/// which no panic boundary catches. Devices send raw changes (`sync::raw_changes_since`);
/// compressed change chunks are never produced by them.
const DEVICE_CHUNK_TYPES: [u8; 2] = [chunks::DOCUMENT, chunks::CHANGE];

/// Walks the chunk headers of `incoming` without decoding any column, and refuses a chunk of a
/// type a device does not send.
fn only_device_chunks(incoming: &[u8]) -> Result<(), Rejection> {
    let framed = chunks::split(incoming).map_err(|e| Rejection::Corrupt(e.to_string()))?;
    if let Some(c) = framed
        .iter()
        .find(|c| !DEVICE_CHUNK_TYPES.contains(&c.kind))
    {
        return Err(Rejection::Corrupt(format!(
            "a device sends changes or whole documents, not chunks of type {}",
            c.kind
        )));
    }
    // What Automerge would take at face value is measured first: a whole document's
    // compressed columns as inflated, a change's columns by their runs.
    for c in &framed {
        match c.kind {
            chunks::DOCUMENT => chunks::document_within(c, chunks::MAX_INFLATED_DOCUMENT),
            _ => chunks::change_within(c, chunks::MAX_VALUES_PER_CHANGE_COLUMN),
        }
        .map_err(|e| Rejection::Corrupt(e.to_string()))?;
    }
    Ok(())
}

/// What [`load_strictly`] made of the incoming bytes.
struct Loaded {
    /// `current` with the incoming bytes.
    copy: Automerge,
    /// The incoming changes as decoded, when they came as raw changes.
    decoded: Vec<Change>,
    /// The bytes are one saved document and `copy` is it, loaded alone ([`Admitted::whole`]).
    whole: bool,
}

/// Parses `incoming` strictly into a copy of `current`: every byte must belong to a well-formed
/// chunk (Automerge's `load_incremental` skips a damaged or trailing chunk silently). Answers
/// the copy and, when `incoming` is raw changes, those changes as decoded (read again by
/// [`sessions_written`] rather than decoded twice).
fn load_strictly(current: Option<&Automerge>, incoming: &[u8]) -> Result<Loaded, Rejection> {
    let strict = || LoadOptions::new().on_partial_load(OnPartialLoad::Error);
    let corrupt = |e: automerge::AutomergeError| Rejection::Corrupt(e.to_string());
    match current {
        // A new document must come whole, so the strict load is the load.
        None => Automerge::load_with_options(incoming, strict())
            .map(|copy| Loaded {
                copy,
                decoded: Vec::new(),
                whole: chunks::split(incoming).is_ok_and(|framed| is_one_document(&framed)),
            })
            .map_err(|e| match e {
                automerge::AutomergeError::MissingDeps => Rejection::MissingDependencies,
                e => corrupt(e),
            }),
        Some(doc) => {
            let framed = chunks::split(incoming).map_err(|e| Rejection::Corrupt(e.to_string()))?;
            if framed.iter().all(|c| c.kind == chunks::CHANGE) && !doc.get_heads().is_empty() {
                // Raw changes (what a device sends): each one decoded on its own proves it is
                // well formed, without building a document of them first.
                let decoded = framed
                    .iter()
                    .map(|c| {
                        let change = Change::try_from(c.bytes)
                            .map_err(|e| Rejection::Corrupt(e.to_string()))?;
                        // Automerge's loader skips a chunk whose checksum is wrong, so every
                        // later load of what is stored would: refused here, where it is decoded.
                        if c.bytes.get(4..8) != change.hash().0.get(..4) {
                            return Err(Rejection::Corrupt(
                                "a change's checksum does not match its contents".into(),
                            ));
                        }
                        Ok(change)
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                // Applied as decoded: `load_incremental` would parse every change again.
                let mut copy = doc.fork();
                copy.apply_changes(decoded.iter().cloned())
                    .map_err(corrupt)?;
                Ok(Loaded {
                    copy,
                    decoded,
                    whole: false,
                })
            } else {
                // A whole document among them: it parses only as a document. Changes on their
                // own lack the stored history: missing dependencies here only mean the bytes
                // parsed to the end; the copy checks them against the history.
                let loaded = match Automerge::load_with_options(incoming, strict()) {
                    Ok(loaded) => Some(loaded),
                    Err(automerge::AutomergeError::MissingDeps) => None,
                    Err(e) => return Err(corrupt(e)),
                };
                // A device's whole document that holds all the stored one does is the merge:
                // taken as loaded, in about half the time applying its changes takes (the
                // columns come sorted). Histories are closed under dependencies, so holding
                // the stored heads is holding everything stored.
                if let Some(loaded) = loaded {
                    if is_one_document(&framed)
                        && loaded.get_missing_deps(&doc.get_heads()).is_empty()
                    {
                        return Ok(Loaded {
                            copy: loaded,
                            decoded: Vec::new(),
                            whole: true,
                        });
                    }
                }
                let mut copy = doc.fork();
                copy.load_incremental(incoming).map_err(corrupt)?;
                Ok(Loaded {
                    copy,
                    decoded: Vec::new(),
                    whole: false,
                })
            }
        }
    }
}

/// Whether the incoming chunks are exactly one saved document (no changes after it).
fn is_one_document(framed: &[chunks::Chunk<'_>]) -> bool {
    matches!(framed, [only] if only.kind == chunks::DOCUMENT)
}

fn admit_checked(
    id: DocumentId,
    current: Option<&Automerge>,
    incoming: &[u8],
    claimed_heads: &[ChangeHash],
    who: &Principal,
    authors: &mut dyn Authors,
    known: Option<SessionValues>,
) -> Result<Admitted, AdmissionRefusal> {
    // Every document starts with its genesis, so a device always has heads; changes offered
    // with none are not from a device of ours.
    if claimed_heads.is_empty() && !incoming.is_empty() {
        return Err(
            Rejection::Corrupt("changes were sent without the heads they lead to".into()).into(),
        );
    }
    let before_heads = current.map(|d| d.get_heads()).unwrap_or_default();
    only_device_chunks(incoming)?;
    let Loaded {
        copy,
        decoded,
        whole,
    } = load_strictly(current, incoming)?;
    if !copy.get_missing_deps(&[]).is_empty() {
        return Err(Rejection::MissingDependencies.into());
    }
    // The device's own heads expose changes it meant to send that did not arrive.
    if !copy.get_missing_deps(claimed_heads).is_empty() {
        return Err(Rejection::Corrupt(
            "the changes sent do not reach the heads the device reported (truncated or damaged data)".into(),
        ).into());
    }
    // Metadata only: rebuilding whole `Change`s would re-encode every op.
    let new_changes = copy.get_changes_meta(&before_heads);
    if new_changes.is_empty() {
        let header = read_header(&copy, id).map_err(Rejection::from)?;
        return Ok(Admitted {
            doc: copy,
            header,
            new_changes: vec![],
            sessions_read: None,
            session_values: None,
            whole,
        });
    }
    // Authorship first: every change must come from this user's devices, except the
    // deterministic genesis. The genesis actor and the server's actor are nobody's device.
    let genesis_author = genesis_actor(id);
    let server = server_actor();
    let mut named: HashSet<&ActorId> = HashSet::new();
    for c in &new_changes {
        if *c.actor == server {
            return Err(Rejection::ForeignActor.into());
        }
        if *c.actor != genesis_author {
            named.insert(&*c.actor);
        }
    }
    if !named.is_empty() {
        let named: Vec<ActorId> = named.into_iter().cloned().collect();
        let registered = authors.registered(&named);
        if named.iter().any(|a| !registered.contains(a)) {
            return Err(Rejection::ForeignActor.into());
        }
    }
    let header = read_header(&copy, id).map_err(Rejection::from)?;
    if let Some(cur) = current {
        if read_header(cur, id).map_err(Rejection::from)? != header {
            return Err(Rejection::HeaderChanged.into());
        }
    }
    let mut genesis_hashes: Option<Vec<ChangeHash>> = None; // built only when needed
    let mut only_genesis = true;
    for c in &new_changes {
        if *c.actor == genesis_author {
            let genesis_hashes = genesis_hashes.get_or_insert_with(|| own_changes(&header));
            if !genesis_hashes.contains(&c.hash) {
                // Written under the document's own id, but not its genesis: forged.
                return Err(Rejection::ForeignActor.into());
            }
        } else {
            only_genesis = false;
        }
    }
    if only_genesis {
        // The genesis is fixed by the header, so whoever may read a document may create its
        // empty shell (a therapist creates the session log of a new course this way).
        authorize(who, &header, Access::Read).map_err(Rejection::from)?;
        // A genesis writes no session.
        let sessions_read = (header.kind == DocumentKind::SessionLog).then(|| SessionsRead {
            since: before_heads,
            sessions: vec![],
        });
        return Ok(Admitted {
            new_changes: new_changes.iter().map(|c| c.hash).collect(),
            doc: copy,
            header,
            sessions_read,
            session_values: None,
            whole,
        });
    }
    // An assistant may add results of delegated tests to a course they may not otherwise write
    // (issue #11); what they added is checked below, result by result.
    let delegated_only = match authorize(who, &header, Access::Write) {
        Ok(()) => false,
        Err(_) if records_delegated_tests(who, &header) => true,
        Err(forbidden) => return Err(Rejection::from(forbidden).into()),
    };
    // From here on the changes are the user's own, in a document they may write: a refusal
    // is a device's mistake worth keeping for a person to look at.
    let from_writer = |rejection: Rejection| AdmissionRefusal {
        rejection: Box::new(rejection),
        from_writer: true,
    };
    let mut sessions_read = None;
    let mut session_values = None;
    match header.kind {
        DocumentKind::Roster => {
            RosterDoc::read(&copy).map_err(|e| from_writer(e.into()))?;
        }
        DocumentKind::Course => {
            if delegated_only {
                // Anything but new results is not theirs to write: refused, not kept.
                only_new_results(current, &copy)?;
            }
            let after = CourseDoc::read(&copy).map_err(|e| from_writer(e.into()))?;
            if delegated_only {
                check_delegated_results(current, &copy, &after, header.id, who)
                    .map_err(from_writer)?;
            }
            crate::rules::check_course_change(current, &copy, &after)
                .map_err(|e| from_writer(SchemaError::from(e).into()))?;
            let written: Vec<(ChangeHash, Vec<ChangeHash>)> = new_changes
                .iter()
                .map(|c| (c.hash, c.deps.clone()))
                .collect();
            crate::rules::check_course_as_written(&copy, &after, &written)
                .map_err(|e| from_writer(SchemaError::from(e).into()))?;
        }
        DocumentKind::SessionLog => {
            let hashes: Vec<ChangeHash> = new_changes.iter().map(|c| c.hash).collect();
            let (sessions, values) =
                check_session_log(&copy, current, who, &hashes, decoded, known)
                    .map_err(from_writer)?;
            sessions_read = Some(SessionsRead {
                since: before_heads,
                sessions,
            });
            session_values = Some(values);
        }
        DocumentKind::Library => {
            crate::municipal::LibraryDoc::read(&copy).map_err(|e| from_writer(e.into()))?;
        }
    }
    Ok(Admitted {
        new_changes: new_changes.iter().map(|c| c.hash).collect(),
        doc: copy,
        header,
        sessions_read,
        session_values,
        whole,
    })
}

fn assessments_at(doc: &Automerge, heads: &[ChangeHash]) -> BTreeSet<String> {
    match doc.get_at(automerge::ROOT, "assessments", heads) {
        Ok(Some((automerge::Value::Object(automerge::ObjType::Map), obj))) => {
            doc.keys_at(&obj, heads).collect()
        }
        _ => BTreeSet::new(),
    }
}

/// A course changed by someone who may only record delegated tests: the changes may add new
/// entries to `assessments` and change nothing else, neither in the document nor in a result
/// already stored.
fn only_new_results(before: Option<&Automerge>, after: &Automerge) -> Result<(), Rejection> {
    let refuse = |why: &str| Rejection::NotDelegated(why.to_string());
    let Some(before) = before else {
        return Err(refuse("a course is created by its therapist"));
    };
    let before_heads = before.get_heads();
    let held = assessments_at(after, &before_heads);
    for patch in after.diff(&before_heads, &after.get_heads()) {
        let new_entry = match (patch.path.as_slice(), &patch.action) {
            ([(_, Prop::Map(k))], PatchAction::PutMap { key, .. }) if k == "assessments" => {
                Some(key.clone())
            }
            ([(_, Prop::Map(k)), (_, Prop::Map(entry)), ..], _) if k == "assessments" => {
                Some(entry.clone())
            }
            _ => None,
        };
        match new_entry {
            Some(key) if !held.contains(&key) => {}
            Some(_) => return Err(refuse("a recorded result cannot be changed")),
            None => return Err(refuse("nothing but test results may change")),
        }
    }
    Ok(())
}

/// Every result [`only_new_results`] let through: measured by `who` and one the course's test
/// plan lets an assistant record ([`crate::effect::plan::TestPlan::check_delegated_result`]) —
/// the plan as the change's author saw it (the document at the change's dependencies), so a
/// test measured while it was delegated is kept even if the therapist withdrew the delegation
/// meanwhile.
fn check_delegated_results(
    before: Option<&Automerge>,
    after: &Automerge,
    now: &CourseDoc,
    id: DocumentId,
    who: &Principal,
) -> Result<(), Rejection> {
    let refuse = |why: String| Rejection::NotDelegated(why);
    let before_heads = before.map(|b| b.get_heads()).unwrap_or_default();
    let genesis_author = genesis_actor(id);
    for change in after.get_changes_meta(&before_heads) {
        if *change.actor == genesis_author {
            continue;
        }
        let seen = assessments_at(after, &change.deps);
        let added: Vec<String> = assessments_at(after, &[change.hash])
            .into_iter()
            .filter(|k| !seen.contains(k))
            .collect();
        if added.is_empty() {
            continue;
        }
        let plan = CourseDoc::read(&after.fork_at(&change.deps).map_err(corrupt)?)?.test_plan();
        for key in added {
            let a = now
                .assessments
                .get(&key)
                .ok_or_else(|| refuse("a result vanished".into()))?;
            if a.id.to_string() != key {
                return Err(refuse("a result is filed under another id".into()));
            }
            if a.by != who.user_id {
                return Err(refuse(
                    "a delegated test is recorded by the assistant who measured it".into(),
                ));
            }
            plan.check_delegated_result(&a.kind, a.phase, a.value)
                .map_err(|e| refuse(e.to_string()))?;
        }
    }
    Ok(())
}

fn corrupt(e: automerge::AutomergeError) -> Rejection {
    Rejection::Corrupt(e.to_string())
}

/// Session logs: an assistant may add sessions and extend their own; nothing else.
///
/// Two ways to find the sessions the new changes touched, with one verdict. First from the
/// changes' own operations ([`sessions_written`]): the work follows the size of the change, not
/// of the log, and it may only answer more sessions than the diff would, never fewer. When
/// that finds nothing unusual and every session it found passes [`check_sessions`], the diff's
/// sessions (a subset) pass too: admitted. Anything else — an operation outside a session, a
/// session that fails, changes not at hand — is judged by the diff between the document before
/// and after, as before, so a refusal and its reason are exactly the diff's.
///
/// Answers the sessions it read: either way, every session whose content the changes changed.
fn check_session_log(
    after: &Automerge,
    before: Option<&Automerge>,
    who: &Principal,
    new_changes: &[ChangeHash],
    decoded: Vec<Change>,
    known: Option<SessionValues>,
) -> Result<(Vec<(String, SessionLog)>, SessionValues), Rejection> {
    if !who.may(Capability::RunSessions) {
        return Err(Rejection::NotAppendOnly(format!(
            "logging sessions needs the right to {}",
            Capability::RunSessions.as_str()
        )));
    }
    // What was read before, if it is of the log these changes follow on from.
    let mut known = match (known, before) {
        (Some(k), Some(b)) if same_heads(&k.heads, &b.get_heads()) => k.sessions,
        _ => HashMap::new(),
    };
    let values = |read: &[(String, SessionLog)], sessions| SessionValues {
        heads: after.get_heads(),
        sessions: latest_only(read, sessions),
    };
    if decoded.is_empty() {
        // The changes came inside a whole document, so their operations are not at hand:
        // rebuilding them from the loaded document cost more than reading the sessions.
        if let Some(touched) = every_session_new(after, before) {
            let (read, sessions) = check_sessions(after, before, who, &touched, None, &mut known)?;
            let values = values(&read, sessions);
            return Ok((read, values));
        }
    }
    if let Some(written) = sessions_written(after, before.is_none(), new_changes, decoded) {
        if let Ok((read, sessions)) = check_sessions(
            after,
            before,
            who,
            &written.touched,
            Some(&written),
            &mut known,
        ) {
            let values = values(&read, sessions);
            return Ok((read, values));
        }
    }
    let touched = sessions_in_diff(after, before)?;
    let (read, sessions) = check_sessions(after, before, who, &touched, None, &mut known)?;
    let values = values(&read, sessions);
    Ok((read, values))
}

/// The sessions the diff between `before` and `after` reaches, without taking the diff, where
/// that is sure: `before` held no session and the changes left its root as it was (the same
/// operations visible under every key, `sessions` among them, and no other object there).
/// Then every patch is in the `sessions` map that was empty: each of its keys is a new
/// session, touched; nothing can have been deleted. `None`: take the diff.
fn every_session_new(after: &Automerge, before: Option<&Automerge>) -> Option<BTreeSet<String>> {
    let before = before?;
    let root_keys: Vec<String> = before.keys(automerge::ROOT).collect();
    if after.length(automerge::ROOT) != root_keys.len() {
        return None;
    }
    let mut sessions = None;
    for key in &root_keys {
        let (now, then) = (
            after.get_all(automerge::ROOT, key.as_str()).ok()?,
            before.get_all(automerge::ROOT, key.as_str()).ok()?,
        );
        if now.len() != 1 || then.len() != 1 || now[0].1 != then[0].1 {
            return None;
        }
        match (&now[0].0, key.as_str()) {
            (automerge::Value::Object(automerge::ObjType::Map), "sessions") => {
                sessions = Some(now[0].1.clone())
            }
            (automerge::Value::Scalar(_), _) => {}
            _ => return None,
        }
    }
    let sessions = sessions?;
    if before.length(&sessions) != 0 {
        return None;
    }
    Some(after.keys(&sessions).collect())
}

/// Sessions kept as values per log ([`SessionValues`]): a tablet adds to the session it
/// started last; an upload's older sessions would only take the cache's memory.
const KEPT_SESSIONS: usize = 4;

/// The values of the [`KEPT_SESSIONS`] sessions started last among those read.
fn latest_only(
    read: &[(String, SessionLog)],
    mut values: HashMap<String, automerge::hydrate::Value>,
) -> HashMap<String, automerge::hydrate::Value> {
    if values.len() > KEPT_SESSIONS {
        let keep = started_last(read.iter().map(|(k, s)| (k.as_str(), s)));
        values.retain(|k, _| keep.contains(k.as_str()));
    }
    values
}

/// The keys of the [`KEPT_SESSIONS`] sessions started last among `sessions`.
fn started_last<'a>(sessions: impl Iterator<Item = (&'a str, &'a SessionLog)>) -> HashSet<&'a str> {
    let mut newest: Vec<(&str, &SessionLog)> = sessions.collect();
    newest.sort_by_key(|(_, s)| std::cmp::Reverse(s.started_at));
    newest
        .into_iter()
        .take(KEPT_SESSIONS)
        .map(|(k, _)| k)
        .collect()
}

fn same_heads(a: &[ChangeHash], b: &[ChangeHash]) -> bool {
    let (mut a, mut b) = (a.to_vec(), b.to_vec());
    a.sort_unstable();
    b.sort_unstable();
    a == b
}

/// The sessions the diff between `before` and `after` reaches, refusing a change anywhere else
/// in the log (the root, a deleted session).
fn sessions_in_diff(
    after: &Automerge,
    before: Option<&Automerge>,
) -> Result<BTreeSet<String>, Rejection> {
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
    Ok(touched)
}

/// Each touched session as it is now: valid, filed under its own id, performed by `who`, and
/// not another assistant's before. Answers them, as read.
fn check_sessions(
    after: &Automerge,
    before: Option<&Automerge>,
    who: &Principal,
    touched: &BTreeSet<String>,
    written: Option<&Written>,
    known: &mut HashMap<String, automerge::hydrate::Value>,
) -> Result<ReadSessions, Rejection> {
    let mut read = Vec::with_capacity(touched.len());
    let mut values = HashMap::with_capacity(touched.len());
    if touched.is_empty() {
        return Ok((read, values));
    }
    // Each map found once, not again for every session. A log that held no session before
    // has no performer to compare with (a course's first month, sent whole).
    let after_sessions = crate::docs::sessions_map(after)?;
    let before = match before {
        Some(b) => Some((b, crate::docs::sessions_map(b)?)).filter(|(b, s)| b.length(s) > 0),
        None => None,
    };
    // Most of the log's sessions read (a month sent whole): all of them in one pass, which
    // costs less than reading each of them on its own, and borrowed from the document: only
    // the values kept for the next sync (`latest_only`) are made into owned values, after.
    let mut in_one_pass: HashMap<_, _> = match written {
        None if touched.len() > 1 && touched.len() * 2 >= after.length(&after_sessions) => {
            crate::docs::one_pass::nodes_in_map(after, &after_sessions)
                .unwrap_or_default()
                .into_iter()
                .collect()
        }
        _ => HashMap::new(),
    };
    let mut read_in_one_pass = HashMap::new();
    for key in touched {
        let in_one_pass = in_one_pass.remove(key.as_str()).and_then(|node| {
            let session = crate::docs::session_from(&node)?;
            Some((session, node))
        });
        // Read in one pass, or made by the changes, or grown by them from what was read
        // before; else read.
        let (now, value) = match in_one_pass {
            Some((session, node)) => {
                read_in_one_pass.insert(key.as_str(), node);
                (session, None)
            }
            None => {
                let value = written.and_then(|w| {
                    w.made_value(key)
                        .or_else(|| w.grown(after, key, known.remove(key)?))
                });
                match value.as_ref().and_then(crate::docs::session_from) {
                    Some(session) => (session, value),
                    None => crate::docs::read_session_and_value_in(after, &after_sessions, key)?
                        .ok_or(Rejection::NotAppendOnly("a session vanished".into()))?,
                }
            }
        };
        now.validate().map_err(SchemaError::from)?;
        if now.id.to_string() != *key {
            return Err(Rejection::NotAppendOnly(
                "a session is filed under another id".into(),
            ));
        }
        if now.performed_by != who.user_id {
            return Err(Rejection::NotAppendOnly(
                "a session can only be written by the assistant who performs it".into(),
            ));
        }
        if let Some((b, sessions)) = &before {
            // Only who performs it: reading the whole session again was half of a one-set
            // sync's admission.
            if let Some(performer) = crate::docs::session_performer_in(b, sessions, key)? {
                if performer != who.user_id {
                    return Err(Rejection::NotAppendOnly(
                        "another assistant's session cannot be changed".into(),
                    ));
                }
            }
        }
        if let Some(value) = value {
            values.insert(key.clone(), value);
        }
        read.push((key.clone(), now));
    }
    // Of those read in one pass, values only for the sessions kept (`latest_only`).
    if !read_in_one_pass.is_empty() {
        for key in started_last(read.iter().map(|(k, s)| (k.as_str(), s))) {
            if let Some(node) = read_in_one_pass.get(key) {
                values.insert(key.to_string(), node.to_hydrate());
            }
        }
    }
    Ok((read, values))
}

/// The sessions read (each filed under its key), and the values of those kept for the next
/// sync: every one read as a value, and of those read in one pass the [`KEPT_SESSIONS`]
/// started last.
type ReadSessions = (
    Vec<(String, SessionLog)>,
    HashMap<String, automerge::hydrate::Value>,
);

/// Where in a session log an object is.
#[derive(Clone, Debug, PartialEq)]
enum Place {
    Root,
    /// The `sessions` map at the root.
    Sessions,
    /// Inside the session filed under this key.
    Session(String),
    Elsewhere,
}

/// Objects nested deeper than this below a session are not what a device writes.
const MAX_DEPTH: usize = 16;

/// The sessions the new changes (`new_changes`, of which `decoded` should hold every one; a
/// new document's are read from `after`) write into, found from their operations: each
/// operation's object placed by following the objects the changes made back to one the
/// document held before, whose path `after` gives. Answers `None` — let the diff decide — for
/// anything a device logging sessions does not do: an operation at the root (but in a new
/// document's), anywhere outside the sessions, a session entry deleted, overwritten or in
/// conflict, an object the document cannot place or no longer shows.
///
/// Every session the diff reaches is answered: a visible change under `sessions/<key>` is an
/// operation in an object placed in that session (an Automerge object never moves from where
/// it was made) or an entry put in `sessions` itself.
fn sessions_written(
    after: &Automerge,
    new_doc: bool,
    new_changes: &[ChangeHash],
    decoded: Vec<Change>,
) -> Option<Written> {
    let mut by_hash: HashMap<ChangeHash, Change> =
        decoded.into_iter().map(|c| (c.hash(), c)).collect();
    let mut changes = Vec::with_capacity(new_changes.len());
    for hash in new_changes {
        changes.push(match by_hash.remove(hash) {
            Some(c) => c.decode(),
            None => after.get_change_by_hash(hash)?.decode(),
        });
    }
    // Every object the new changes made, and where.
    let mut made: foldhash::HashMap<OpId, (OpObject, OpKey)> = Default::default();
    for change in &changes {
        for (i, op) in change.operations.iter().enumerate() {
            if let OpAction::Make(_) = op.action {
                let id = OpId(change.start_op.get() + i as u64, change.actor_id.clone());
                made.insert(id, (op.obj.clone(), op.key.clone()));
            }
        }
    }
    let mut placed: foldhash::HashMap<OpId, Place> = Default::default();
    let mut touched = BTreeSet::new();
    let mut entries = Vec::new();
    let mut made_sessions = HashMap::new();
    let mut held: HashMap<String, Vec<grown::HeldOp>> = HashMap::new();
    for change in &changes {
        for (i, op) in change.operations.iter().enumerate() {
            match place(after, &made, &mut placed, &op.obj)? {
                Place::Root if new_doc => {}
                Place::Sessions => match (&op.action, &op.key) {
                    (OpAction::Make(_) | OpAction::Put(_), OpKey::Map(key))
                        if op.pred.is_empty() =>
                    {
                        touched.insert(key.to_string());
                        entries.push(key.to_string());
                        if let OpAction::Make(_) = op.action {
                            let id =
                                OpId(change.start_op.get() + i as u64, change.actor_id.clone());
                            made_sessions.insert(key.to_string(), id);
                        }
                    }
                    _ => return None,
                },
                Place::Session(key) => {
                    if let OpObject::Id(obj) = &op.obj {
                        if !made.contains_key(obj) {
                            held.entry(key.clone()).or_default().push(grown::HeldOp {
                                obj: obj.clone(),
                                id: OpId(change.start_op.get() + i as u64, change.actor_id.clone()),
                                key: op.key.clone(),
                                insert: op.insert,
                                makes: matches!(op.action, OpAction::Make(_)),
                            });
                        }
                    }
                    touched.insert(key);
                }
                Place::Root | Place::Elsewhere => return None,
            }
        }
    }
    if !entries.is_empty() {
        // A new entry is the only value under its key: nothing overwritten, no conflict.
        let sessions = match after.get(automerge::ROOT, "sessions").ok()?? {
            (automerge::Value::Object(automerge::ObjType::Map), obj) => obj,
            _ => return None,
        };
        for key in entries {
            if after.get_all(&sessions, key.as_str()).ok()?.len() != 1 {
                return None;
            }
        }
    }
    // Sessions made here, and what was made in sessions held before, are read from the
    // operations that made them, not from `after`.
    let replayed = if made.is_empty() {
        None
    } else {
        replay::Made::replay(&changes)
    };
    Some(Written {
        touched,
        made: replayed,
        made_sessions,
        held,
    })
}

/// What [`sessions_written`] found: the sessions the new changes touched; the objects they
/// made, replayed when the changes allow it ([`replay::Made::replay`]); the sessions they made
/// (each by the operation that made its object); and their operations on objects the sessions
/// held before.
struct Written {
    touched: BTreeSet<String>,
    made: Option<replay::Made>,
    made_sessions: HashMap<String, OpId>,
    held: HashMap<String, Vec<grown::HeldOp>>,
}

impl Written {
    /// The session filed under `key` as its operations made it, when this can say.
    fn made_value(&self, key: &str) -> Option<automerge::hydrate::Value> {
        self.made.as_ref()?.hydrate(self.made_sessions.get(key)?)
    }

    /// The session filed under `key`, `old` before the changes, grown by them (`grown`).
    fn grown(
        &self,
        after: &Automerge,
        key: &str,
        old: automerge::hydrate::Value,
    ) -> Option<automerge::hydrate::Value> {
        if self.made_sessions.contains_key(key) {
            return None;
        }
        grown::grow(after, key, old, self.held.get(key)?, self.made.as_ref())
    }

    #[cfg(test)]
    fn made_session(&self, key: &str) -> Option<SessionLog> {
        crate::docs::session_from(&self.made_value(key)?)
    }
}

/// The sessions of a session log that its changes since `heads` wrote ([`sessions_written`]):
/// what the server's read model re-reads of a log it last projected at `heads`. `None`: read
/// the whole log (a change this rule does not expect, or heads the log does not hold — a
/// rewritten generation).
pub fn sessions_written_since(doc: &Automerge, heads: &[ChangeHash]) -> Option<BTreeSet<String>> {
    if heads.is_empty() || !doc.get_missing_deps(heads).is_empty() {
        return None;
    }
    let changes = doc.get_changes(heads);
    let hashes: Vec<ChangeHash> = changes.iter().map(Change::hash).collect();
    sessions_written(doc, false, &hashes, changes).map(|w| w.touched)
}

/// Where `obj` is (see [`Place`]); `None` when the document cannot say.
fn place(
    doc: &Automerge,
    made: &foldhash::HashMap<OpId, (OpObject, OpKey)>,
    placed: &mut foldhash::HashMap<OpId, Place>,
    obj: &OpObject,
) -> Option<Place> {
    let OpObject::Id(start) = obj else {
        return Some(Place::Root);
    };
    if let Some(p) = placed.get(start) {
        return Some(p.clone());
    }
    // Up through the objects the changes made, to one placed already or held before.
    let mut keys: Vec<&OpKey> = Vec::new();
    let mut at = start;
    let anchor = loop {
        if let Some(p) = placed.get(at) {
            break p.clone();
        }
        match made.get(at) {
            Some((OpObject::Root, key)) => {
                keys.push(key);
                break Place::Root;
            }
            Some((OpObject::Id(parent), key)) => {
                keys.push(key);
                at = parent;
            }
            None => break place_held(doc, at)?,
        }
        if keys.len() > MAX_DEPTH {
            return None;
        }
    };
    let found = keys
        .iter()
        .rev()
        .fold(anchor, |outer, key| match (outer, key) {
            (Place::Root, OpKey::Map(k)) if k == "sessions" => Place::Sessions,
            (Place::Sessions, OpKey::Map(k)) => Place::Session(k.to_string()),
            (Place::Session(k), _) => Place::Session(k),
            _ => Place::Elsewhere,
        });
    placed.insert(start.clone(), found.clone());
    Some(found)
}

/// Where an object the document held before the new changes is, from its path now.
fn place_held(doc: &Automerge, id: &OpId) -> Option<Place> {
    let (_, path) = grown::visible_path(doc, id)?;
    Some(match path.as_slice() {
        [] => return None,
        [Prop::Map(s)] if s == "sessions" => Place::Sessions,
        [Prop::Map(s), Prop::Map(key), ..] if s == "sessions" => Place::Session(key.clone()),
        _ => Place::Elsewhere,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::docs::genesis;
    use crate::ids::{CourseId, MunicipalityId, TeamId, UserId};
    use crate::model::Role;
    use crate::sync::{changes_since, raw_changes_since};
    use automerge::transaction::Transactable;

    fn therapist(team: TeamId) -> Principal {
        Principal {
            user_id: UserId::new(),
            role: Role::Therapist,
            team_id: team,
            granted_teams: vec![],
            municipality_id: Some(MunicipalityId::new()),
        }
    }

    /// A stored course and one change to it by `actor` (`key` set at the root).
    fn course_and_change(actor: ActorId, key: &str) -> (Header, Automerge, Automerge) {
        let header = Header::course(TeamId::new(), CourseId::new());
        let stored = genesis(&header);
        let mut edited = stored.fork().with_actor(actor);
        let mut tx = edited.transaction();
        tx.put(automerge::ROOT, key, 1).unwrap();
        tx.commit();
        (header, stored, edited)
    }

    fn offer(
        header: &Header,
        stored: &Automerge,
        edited: &Automerge,
        who: &Principal,
        actors: &[ActorId],
    ) -> Result<Admitted, AdmissionRefusal> {
        admit_or_refuse(
            header.id,
            Some(stored),
            &raw_changes_since(edited, &stored.get_heads()),
            &edited.get_heads(),
            who,
            &actors.iter().cloned().collect(),
        )
    }

    #[test]
    fn a_whole_document_that_would_inflate_past_the_limit_is_refused_before_automerge_reads_it() {
        use std::io::Write;
        // Automerge would inflate this column whole (129 MiB from about 130 KiB) before
        // checking anything; admission measures it streaming and refuses it.
        let mut zeros = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::fast());
        let block = vec![0u8; 1 << 20];
        for _ in 0..=(chunks::MAX_INFLATED_DOCUMENT >> 20) {
            zeros.write_all(&block).unwrap();
        }
        let bomb =
            crate::sync::chunks::tests::document_of_one_column(&zeros.finish().unwrap(), true);
        let header = Header::course(TeamId::new(), CourseId::new());
        let why = corrupt(&header, None, &bomb);
        assert!(why.contains("inflates to more than"), "{why}");
    }

    /// Why `incoming`, offered to `header`'s document (held as `stored`) with a head it does
    /// not lead to, is refused as corrupt.
    fn corrupt(header: &Header, stored: Option<&Automerge>, incoming: &[u8]) -> String {
        let refused = admit_or_refuse(
            header.id,
            stored,
            incoming,
            &[ChangeHash([7; 32])],
            &therapist(header.team_id),
            &HashSet::new(),
        )
        .err()
        .expect("refused");
        match *refused.rejection {
            Rejection::Corrupt(why) => why,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_change_whose_runs_say_billions_of_ops_is_refused_before_automerge_walks_them() {
        let (header, stored, _) = course_and_change(ActorId::random(), "x");
        let run = crate::sync::chunks::tests::change_of_one_run_of_2_62();
        let why = corrupt(&header, Some(&stored), &run);
        assert!(why.contains("values"), "{why}");
    }

    #[test]
    fn the_servers_actor_and_a_documents_own_actor_write_for_nobody() {
        let (header, stored, _) = course_and_change(ActorId::random(), "x");
        let who = therapist(header.team_id);
        for forged in [server_actor(), genesis_actor(header.id)] {
            let mut edited = stored.fork().with_actor(forged.clone());
            let mut tx = edited.transaction();
            tx.put(automerge::ROOT, "x", 1).unwrap();
            tx.commit();
            // Refused even if a device had once registered it.
            let refused = offer(&header, &stored, &edited, &who, &[forged])
                .err()
                .expect("refused");
            assert!(
                matches!(*refused.rejection, Rejection::ForeignActor) && !refused.from_writer,
                "{refused:?}"
            );
        }
    }

    #[test]
    fn only_a_writers_own_refused_changes_may_be_kept() {
        let mine = ActorId::random();
        let (header, stored, edited) = course_and_change(mine.clone(), "course");
        let who = therapist(header.team_id);
        // Their own device, their document, a schema violation: worth keeping.
        let refused = offer(&header, &stored, &edited, &who, std::slice::from_ref(&mine))
            .err()
            .expect("refused");
        assert!(matches!(*refused.rejection, Rejection::Schema(_)) && refused.from_writer);
        // Someone else's device: not kept.
        let refused = offer(&header, &stored, &edited, &who, &[])
            .err()
            .expect("refused");
        assert!(matches!(*refused.rejection, Rejection::ForeignActor) && !refused.from_writer);
        // Another team's therapist: not theirs to write, not kept.
        let stranger = therapist(TeamId::new());
        let refused = offer(&header, &stored, &edited, &stranger, &[mine])
            .err()
            .expect("refused");
        assert!(matches!(*refused.rejection, Rejection::Forbidden(_)) && !refused.from_writer);
    }

    #[test]
    fn bytes_must_parse_to_the_end_and_lead_to_claimed_heads() {
        let mine = ActorId::random();
        let (header, stored, edited) = course_and_change(mine.clone(), "x");
        let who = therapist(header.team_id);
        let actors: HashSet<ActorId> = [mine].into_iter().collect();
        let bundle = raw_changes_since(&edited, &stored.get_heads());
        let admit_bytes = |bytes: &[u8], heads: &[ChangeHash]| {
            admit(header.id, Some(&stored), bytes, heads, &who, &actors)
        };
        // Schema refuses the unknown key only later; the parse itself is fine.
        assert!(!matches!(
            admit_bytes(&bundle, &edited.get_heads()),
            Err(Rejection::Corrupt(_))
        ));
        let mut trailing = bundle.clone();
        trailing.extend_from_slice(&bundle[..8]);
        assert!(matches!(
            admit_bytes(&trailing, &edited.get_heads()),
            Err(Rejection::Corrupt(_))
        ));
        assert!(matches!(
            admit_bytes(&bundle, &[]),
            Err(Rejection::Corrupt(_))
        ));
        assert!(matches!(
            admit_bytes(b"garbage", &stored.get_heads()),
            Err(Rejection::Corrupt(_))
        ));
        // A change whose checksum is wrong: Automerge's loader would skip it, in admission and
        // in every load of what is stored after.
        let mut bad_sum = bundle.clone();
        bad_sum[4] ^= 0xff;
        assert!(matches!(
            admit_bytes(&bad_sum, &edited.get_heads()),
            Err(Rejection::Corrupt(why)) if why.contains("checksum")
        ));
        // A new document must come whole.
        let new = admit(header.id, None, &bundle, &edited.get_heads(), &who, &actors);
        assert!(matches!(new, Err(Rejection::MissingDependencies)));
    }

    #[test]
    fn a_device_sends_changes_or_documents_never_bundles() {
        let mine = ActorId::random();
        let (header, stored, edited) = course_and_change(mine.clone(), "x");
        let who = therapist(header.team_id);
        let actors: HashSet<ActorId> = [mine].into_iter().collect();
        let bundle = changes_since(&edited, &stored.get_heads());
        assert_eq!(bundle[8], 3, "a bundle chunk");
        let refused = admit(
            header.id,
            Some(&stored),
            &bundle,
            &edited.get_heads(),
            &who,
            &actors,
        );
        assert!(
            matches!(&refused, Err(Rejection::Corrupt(why)) if why.contains("type 3")),
            "{:?}",
            refused.err()
        );
        // A whole document (as sent when the server asks for it) is a document chunk.
        let whole = edited.save();
        assert!(!matches!(
            admit(header.id, None, &whole, &edited.get_heads(), &who, &actors),
            Err(Rejection::Corrupt(_))
        ));
        // Chunk framing that lies about its length is refused before any decoding.
        let mut raw = raw_changes_since(&edited, &stored.get_heads());
        raw[9] = 0xff;
        raw.truncate(12);
        assert!(matches!(
            admit(
                header.id,
                Some(&stored),
                &raw,
                &edited.get_heads(),
                &who,
                &actors
            ),
            Err(Rejection::Corrupt(_))
        ));
    }

    #[test]
    fn a_who5_is_admitted_in_the_assistants_own_session_only_and_only_valid() {
        use crate::docs::{put_session, record_who5_answer, start_who5};
        use crate::model::{AssessmentPhase, MeasuredAt, SessionLog};
        let team = TeamId::new();
        let course = CourseId::new();
        let header = Header::session_log(team, course);
        let assistant = |id: UserId| Principal {
            user_id: id,
            role: Role::Assistant,
            team_id: team,
            granted_teams: vec![],
            municipality_id: None,
        };
        let (lone, kim) = (UserId::new(), UserId::new());
        let mine = ActorId::random();
        let mut stored = genesis(&header).with_actor(mine.clone());
        let session = SessionLog::start(course, lone, None, 1_000);
        put_session(&mut stored, &session, 1_000).unwrap();
        let actors = [mine.clone()];
        let offer_log =
            |edited: &Automerge, who: &Principal| offer(&header, &stored, edited, who, &actors);
        let mut edited = stored.fork().with_actor(mine.clone());
        start_who5(
            &mut edited,
            session.id,
            AssessmentPhase::Start,
            lone,
            MeasuredAt::Home,
            2_000,
        )
        .unwrap();
        record_who5_answer(&mut edited, session.id, 0, 4, 2_001).unwrap();
        assert!(offer_log(&edited, &assistant(lone)).is_ok());
        // Another assistant may not answer in Lone's session.
        assert!(offer_log(&edited, &assistant(kim)).is_err());
        // An answer of 6, written past the device's checks, is refused.
        let mut crafted = edited.fork().with_actor(mine.clone());
        {
            let mut tx = crafted.transaction();
            let sessions = match tx.get(automerge::ROOT, "sessions").unwrap() {
                Some((_, id)) => id,
                None => unreachable!(),
            };
            let s = tx
                .get(&sessions, session.id.to_string())
                .unwrap()
                .unwrap()
                .1;
            let w = tx.get(&s, "who5").unwrap().unwrap().1;
            let answers = tx.get(&w, "answers").unwrap().unwrap().1;
            tx.put(&answers, "2", 6_u64).unwrap();
            tx.commit();
        }
        let refused = offer_log(&crafted, &assistant(lone))
            .err()
            .expect("refused");
        assert!(refused.from_writer, "{refused:?}");
    }

    #[test]
    fn the_containers_change_is_admitted_from_any_writer_and_merges() {
        use crate::docs::{put_course, set_goal_attainment};
        use crate::effect::goals::{Attainment, GoalFollowUp};
        use crate::model::Course;
        let team = TeamId::new();
        let course = CourseId::new();
        let header = Header::course(team, course);
        let who = therapist(team);
        let mine = ActorId::random();
        let mut stored = genesis(&header).with_actor(mine.clone());
        let record = Course {
            id: course,
            goals: vec!["Gå på trapper".into()],
            ..Course::new(
                crate::ids::CitizenId::new(),
                team,
                who.user_id,
                "2026-03-02",
                1,
            )
        };
        put_course(&mut stored, &record, 1).unwrap();
        let mut edited = stored.fork().with_actor(mine.clone());
        let rating = GoalFollowUp {
            goal: "Gå på trapper".into(),
            attainment: Some(Attainment::Achieved),
            note: None,
        };
        set_goal_attainment(&mut edited, &rating, 2).unwrap();
        let admitted = offer(&header, &stored, &edited, &who, &[mine]).expect("admitted");
        assert_eq!(
            admitted.new_changes.len(),
            2,
            "the containers change and the rating"
        );
    }

    #[test]
    fn a_roster_with_last_releases_containers_gets_the_next_generation_admitted() {
        use crate::docs::{put_referral, RosterDoc};
        use crate::ids::{CitizenId, ReferralId};
        use crate::model::ReferralRecord;
        let team = TeamId::new();
        let header = Header::roster(team);
        let who = therapist(team);
        let mine = ActorId::random();
        // A roster as the release before referrals wrote it: genesis, then the first
        // generation's containers, made the way that release made them.
        let mut stored = genesis(&header);
        let mut tx = stored.transaction();
        tx.put_object(automerge::ROOT, "care_grants", automerge::ObjType::Map)
            .unwrap();
        tx.commit_with(automerge::transaction::CommitOptions::default().with_time(0));
        let first_generation = stored.get_heads();
        assert_eq!(
            first_generation,
            [crate::docs::containers_changes(&header)[0].hash()],
            "the first generation's change is the one already in the field"
        );
        let stored = stored.with_actor(mine.clone());
        let citizen = CitizenId::new();
        let mut edited = stored.fork().with_actor(mine.clone());
        let referral = ReferralRecord {
            id: ReferralId::new(),
            citizen_id: citizen,
            referred_on: "2026-11-02".into(),
            referred_by: who.user_id,
            note: None,
            recorded_at: 2,
            screening: None,
            course_id: None,
        };
        put_referral(&mut edited, &referral, 2).unwrap();
        let admitted = offer(&header, &stored, &edited, &who, &[mine]).expect("admitted");
        assert_eq!(
            admitted.new_changes.len(),
            crate::docs::containers_changes(&header).len(),
            "every later generation's containers and the referral"
        );
        let read = RosterDoc::read(&edited).unwrap();
        assert_eq!(read.referrals.len(), 1);
    }

    /// A course with the default plan (chair stand + WHO-5 at start and end), the chair stand
    /// delegated when `delegate`, stored by its therapist's device.
    fn course_with_plan(delegate: bool) -> (Header, Automerge, Principal, ActorId) {
        use crate::docs::{put_course, set_test_plan};
        use crate::effect::plan::TestPlan;
        use crate::model::Course;
        let team = TeamId::new();
        let course = CourseId::new();
        let header = Header::course(team, course);
        let who = therapist(team);
        let theirs = ActorId::random();
        let mut stored = genesis(&header).with_actor(theirs.clone());
        let record = Course {
            id: course,
            ..Course::new(
                crate::ids::CitizenId::new(),
                team,
                who.user_id,
                "2026-03-02",
                1,
            )
        };
        put_course(&mut stored, &record, 1).unwrap();
        let mut plan = TestPlan::default_plan();
        if delegate {
            plan.delegated = vec!["chair_stand_30s".into()];
        }
        set_test_plan(&mut stored, &plan, 2).unwrap();
        (header, stored, who, theirs)
    }

    fn assistant_of(team: TeamId) -> Principal {
        Principal {
            user_id: UserId::new(),
            role: Role::Assistant,
            team_id: team,
            granted_teams: vec![],
            municipality_id: None,
        }
    }

    fn measured(kind: &str, value: f64, by: UserId) -> crate::model::Assessment {
        crate::model::Assessment {
            id: crate::ids::AssessmentId::new(),
            kind: kind.into(),
            value,
            unit: crate::assessment::kind_of(kind).unwrap().unit.into(),
            date: "2026-03-03".into(),
            phase: crate::model::AssessmentPhase::Start,
            by,
            note: None,
            place: Some(crate::model::MeasuredAt::Home),
        }
    }

    #[test]
    fn an_assistant_may_add_a_result_of_a_delegated_test_and_nothing_else() {
        use crate::docs::{put_assessment, put_course, set_test_plan};
        let (header, stored, therapist, _) = course_with_plan(true);
        let assistant = assistant_of(header.team_id);
        let tablet = ActorId::random();
        let record = |a: &crate::model::Assessment| {
            let mut edited = stored.fork().with_actor(tablet.clone());
            put_assessment(&mut edited, a, 3).unwrap();
            edited
        };
        let offer_as = |edited: &Automerge, who: &Principal| {
            offer(&header, &stored, edited, who, std::slice::from_ref(&tablet))
        };
        // The delegated chair stand, measured by the assistant: admitted.
        let ok = record(&measured("chair_stand_30s", 11.0, assistant.user_id));
        assert!(offer_as(&ok, &assistant).is_ok());
        // A test that is not delegated: refused, and kept for a person to look at.
        let tug = record(&measured("timed_up_and_go", 14.0, assistant.user_id));
        let refused = offer_as(&tug, &assistant).err().expect("refused");
        assert!(
            matches!(&*refused.rejection, Rejection::NotDelegated(why) if why.contains("timed_up_and_go"))
                && refused.from_writer,
            "{refused:?}"
        );
        // Recorded in someone else's name.
        let forged = record(&measured("chair_stand_30s", 11.0, therapist.user_id));
        assert!(matches!(
            *offer_as(&forged, &assistant)
                .err()
                .expect("refused")
                .rejection,
            Rejection::NotDelegated(_)
        ));
        // Anything else on the course: its record, its plan, an existing result.
        let mut course_edit = stored.fork().with_actor(tablet.clone());
        let mut c = CourseDoc::read(&stored).unwrap().course.unwrap();
        c.goals = vec!["Gå selv".into()];
        put_course(&mut course_edit, &c, 3).unwrap();
        let refused = offer_as(&course_edit, &assistant).err().expect("refused");
        // Not theirs to write: not kept.
        assert!(matches!(*refused.rejection, Rejection::NotDelegated(_)) && !refused.from_writer);
        let mut plan_edit = stored.fork().with_actor(tablet.clone());
        let mut plan = CourseDoc::read(&stored).unwrap().test_plan();
        plan.delegated.clear();
        set_test_plan(&mut plan_edit, &plan, 3).unwrap();
        assert!(offer_as(&plan_edit, &assistant).is_err());
        // An assistant of another team may not write the course at all: not kept.
        let stranger = assistant_of(TeamId::new());
        let ok_stranger = record(&measured("chair_stand_30s", 11.0, stranger.user_id));
        let refused = offer_as(&ok_stranger, &stranger).err().expect("refused");
        assert!(matches!(*refused.rejection, Rejection::Forbidden(_)) && !refused.from_writer);
        // The therapist still writes every test.
        let by_therapist = record(&measured("timed_up_and_go", 14.0, therapist.user_id));
        assert!(offer_as(&by_therapist, &therapist).is_ok());
    }

    #[test]
    fn a_result_outside_the_tests_range_is_refused_even_when_delegated() {
        use crate::model::Assessment;
        let (header, stored, _, _) = course_with_plan(true);
        let assistant = assistant_of(header.team_id);
        let tablet = ActorId::random();
        // Written past the device's checks (`put_assessment` would refuse it).
        let mut crafted = stored.fork().with_actor(tablet.clone());
        let a: Assessment = measured("chair_stand_30s", 75.0, assistant.user_id);
        {
            let mut tx = crafted.transaction();
            let map = match tx.get(automerge::ROOT, "assessments").unwrap() {
                Some((_, id)) => id,
                None => unreachable!(),
            };
            autosurgeon::reconcile_prop(&mut tx, &map, a.id.to_string().as_str(), &a).unwrap();
            tx.commit();
        }
        let refused = offer(&header, &stored, &crafted, &assistant, &[tablet])
            .err()
            .expect("refused");
        assert!(refused.from_writer, "{refused:?}");
    }

    #[test]
    fn a_result_measured_while_delegated_is_kept_when_the_delegation_is_withdrawn_meanwhile() {
        use crate::docs::{put_assessment, set_test_plan};
        let (header, stored, _, theirs) = course_with_plan(true);
        let assistant = assistant_of(header.team_id);
        let tablet = ActorId::random();
        // Offline on the tablet: the chair stand measured.
        let mut on_tablet = stored.fork().with_actor(tablet.clone());
        put_assessment(
            &mut on_tablet,
            &measured("chair_stand_30s", 9.0, assistant.user_id),
            3,
        )
        .unwrap();
        // Meanwhile on the server: the therapist takes the test back.
        let mut server = stored.fork().with_actor(theirs);
        let mut plan = CourseDoc::read(&stored).unwrap().test_plan();
        plan.delegated.clear();
        set_test_plan(&mut server, &plan, 4).unwrap();
        assert!(offer(
            &header,
            &server,
            &on_tablet,
            &assistant,
            std::slice::from_ref(&tablet)
        )
        .is_ok());
        // Measured after the tablet learnt of the withdrawal: refused.
        let mut later = server.fork().with_actor(tablet.clone());
        put_assessment(
            &mut later,
            &measured("chair_stand_30s", 9.0, assistant.user_id),
            5,
        )
        .unwrap();
        assert!(offer(&header, &server, &later, &assistant, &[tablet]).is_err());
    }

    #[test]
    fn without_a_delegation_an_assistant_adds_nothing_to_a_course() {
        use crate::docs::put_assessment;
        let (header, stored, _, _) = course_with_plan(false);
        let assistant = assistant_of(header.team_id);
        let tablet = ActorId::random();
        let mut edited = stored.fork().with_actor(tablet.clone());
        put_assessment(
            &mut edited,
            &measured("chair_stand_30s", 9.0, assistant.user_id),
            3,
        )
        .unwrap();
        let refused = offer(&header, &stored, &edited, &assistant, &[tablet])
            .err()
            .expect("refused");
        assert!(matches!(*refused.rejection, Rejection::NotDelegated(_)));
    }

    // ---- Session logs: the operations' sessions against the diff's (#13) ----

    /// A stored session log as the server holds it: Lone's session (two sets and feedback on
    /// one line) and Kim's (one set), each written by their own tablet.
    struct LogWorld {
        header: Header,
        stored: Automerge,
        lone: Principal,
        kim: Principal,
        lone_tablet: ActorId,
        lone_session: crate::ids::SessionId,
        kim_session: crate::ids::SessionId,
        line: crate::ids::ProgramExerciseId,
    }

    fn a_set(reps: u32, at: i64) -> crate::model::SetLog {
        crate::model::SetLog {
            reps: Some(reps),
            duration_s: None,
            load_kg: Some(2.0),
            at,
        }
    }

    fn log_world() -> LogWorld {
        use crate::docs::{log_set, put_session, ExerciseFeedback};
        use crate::ids::ProgramExerciseId;
        use crate::model::{ExerciseOutcome, SessionLog};
        let team = TeamId::new();
        let course = CourseId::new();
        let header = Header::session_log(team, course);
        let assistant = || Principal {
            user_id: UserId::new(),
            role: Role::Assistant,
            team_id: team,
            granted_teams: vec![],
            municipality_id: None,
        };
        let (lone, kim) = (assistant(), assistant());
        let (lone_tablet, kim_tablet) = (ActorId::random(), ActorId::random());
        let line = ProgramExerciseId::new();
        let mut doc = genesis(&header).with_actor(lone_tablet.clone());
        let lone_session = SessionLog::start(course, lone.user_id, None, 1_000);
        put_session(&mut doc, &lone_session, 1_000).unwrap();
        // Lone's first set as devices wrote sets before issue #13 (a map), the second as one
        // string: a log in the field holds both.
        log_set(
            &mut doc,
            lone_session.id,
            line,
            "sit",
            &a_set(8, 1_002),
            1_002,
        )
        .unwrap();
        let mut tx = doc.transaction();
        let (session, line_key) = (lone_session.id.to_string(), line.to_string());
        let sets = obj_at(&tx, &["sessions", &session, "exercises", &line_key, "sets"]);
        crate::docs::insert_set_as_map(&mut tx, &sets, 0, &a_set(8, 1_001));
        tx.commit();
        let fb = ExerciseFeedback {
            outcome: ExerciseOutcome::Done,
            skip_reason: None,
            borg: Some(5),
            pain: Some(2),
            note: None,
        };
        // Lone's feedback as devices wrote it before it was one string (five keys).
        let mut tx = doc.transaction();
        let exercise = obj_at(&tx, &["sessions", &session, "exercises", &line_key]);
        crate::docs::put_feedback_as_keys(&mut tx, &exercise, &fb);
        tx.commit();
        doc.set_actor(kim_tablet);
        let kim_session = SessionLog::start(course, kim.user_id, None, 2_000);
        put_session(&mut doc, &kim_session, 2_000).unwrap();
        log_set(
            &mut doc,
            kim_session.id,
            line,
            "sit",
            &a_set(9, 2_001),
            2_001,
        )
        .unwrap();
        LogWorld {
            header,
            stored: Automerge::load(&doc.save()).unwrap(),
            lone,
            kim,
            lone_tablet,
            lone_session: lone_session.id,
            kim_session: kim_session.id,
            line,
        }
    }

    /// An object under a session, by its keys (list positions as numbers).
    fn obj_at(doc: &impl ReadDoc, keys: &[&str]) -> automerge::ObjId {
        let mut at = automerge::ROOT;
        for k in keys {
            let prop: Prop = match k.parse::<usize>() {
                Ok(i) => Prop::Seq(i),
                Err(_) => Prop::Map((*k).to_string()),
            };
            at = doc.get(&at, prop).unwrap().expect("present").1;
        }
        at
    }

    /// The edits a device (honest or not) may make to a session log, by number.
    const LOG_EDITS: usize = 25;

    fn edit_log(w: &LogWorld, doc: &mut Automerge, edit: usize, at: i64) {
        use crate::docs::{log_set, put_session};
        use crate::model::SessionLog;
        let lone = w.lone_session.to_string();
        let kim = w.kim_session.to_string();
        let line = w.line.to_string();
        let course = w.header.course_id.unwrap();
        let mut tx = doc.transaction();
        match edit {
            // One more set in Lone's own session (what a tablet does all day).
            0 => {
                drop(tx);
                log_set(doc, w.lone_session, w.line, "sit", &a_set(10, at), at).unwrap();
                return;
            }
            // An old set edited in range (a value in a set written as a map), and one
            // replaced out of range (a set written as one string).
            1 => {
                let set = obj_at(&tx, &["sessions", &lone, "exercises", &line, "sets", "0"]);
                tx.put(&set, "reps", 12_u64).unwrap();
            }
            2 => {
                let sets = obj_at(&tx, &["sessions", &lone, "exercises", &line, "sets"]);
                tx.put(&sets, 1, a_set(600, at).encode()).unwrap();
            }
            // Borg out of its scale on an exercise.
            3 => {
                let ex = obj_at(&tx, &["sessions", &lone, "exercises", &line]);
                tx.put(&ex, "borg", 11_u64).unwrap();
            }
            // A set in Kim's session, a session that is not new and not Lone's.
            4 => {
                let sets = obj_at(&tx, &["sessions", &kim, "exercises", &line, "sets"]);
                tx.insert(&sets, 1, a_set(5, at).encode()).unwrap();
            }
            // Kim's session claimed: its performer rewritten.
            5 => {
                let s = obj_at(&tx, &["sessions", &kim]);
                tx.put(&s, "performed_by", w.lone.user_id.as_bytes().to_vec())
                    .unwrap();
            }
            // A session deleted.
            6 => {
                let sessions = obj_at(&tx, &["sessions"]);
                tx.delete(&sessions, lone.as_str()).unwrap();
            }
            // A put at the root.
            7 => {
                tx.put(automerge::ROOT, "note", "x").unwrap();
            }
            // A new session of Lone's, of Kim's, and one filed under another key.
            8..=10 => {
                drop(tx);
                let by = if edit == 9 {
                    w.kim.user_id
                } else {
                    w.lone.user_id
                };
                let mut session = SessionLog::start(course, by, None, at);
                if edit == 10 {
                    session.id = w.lone_session;
                    let mut tx = doc.transaction();
                    let sessions = obj_at(&tx, &["sessions"]);
                    autosurgeon::reconcile_prop(
                        &mut tx,
                        &sessions,
                        crate::ids::SessionId::new().to_string().as_str(),
                        &session,
                    )
                    .unwrap();
                    tx.commit();
                } else {
                    put_session(doc, &session, at).unwrap();
                }
                return;
            }
            // Lone's session written again whole under its own key.
            11 => {
                drop(tx);
                let mut session = SessionLog::start(course, w.lone.user_id, None, at);
                session.id = w.lone_session;
                put_session(doc, &session, at).unwrap();
                return;
            }
            // A set deleted from Lone's session.
            12 => {
                let sets = obj_at(&tx, &["sessions", &lone, "exercises", &line, "sets"]);
                tx.delete(&sets, 0).unwrap();
            }
            // A key the schema does not know, in Lone's session.
            13 => {
                let s = obj_at(&tx, &["sessions", &lone]);
                tx.put(&s, "extra", 1_u64).unwrap();
            }
            // A scalar filed as a session.
            14 => {
                let sessions = obj_at(&tx, &["sessions"]);
                tx.put(&sessions, "not-a-session", 1_u64).unwrap();
            }
            // A map made at the root, and something written in it.
            15 => {
                let m = tx
                    .put_object(automerge::ROOT, "elsewhere", automerge::ObjType::Map)
                    .unwrap();
                tx.put(&m, "x", 1_u64).unwrap();
            }
            // A new session of Lone's carried out as a tablet does: sets in two exercises
            // (one taken back), feedback, then finished (which writes fields again).
            17 => {
                drop(tx);
                let session = SessionLog::start(course, w.lone.user_id, None, at);
                put_session(doc, &session, at).unwrap();
                let other = crate::ids::ProgramExerciseId::new();
                for (i, line) in [w.line, other, w.line, w.line].into_iter().enumerate() {
                    let t = at + 1 + i as i64;
                    log_set(doc, session.id, line, "sit", &a_set(8 + i as u32, t), t).unwrap();
                }
                let mut tx = doc.transaction();
                let s = session.id.to_string();
                let sets = obj_at(&tx, &["sessions", &s, "exercises", &line, "sets"]);
                tx.delete(&sets, 1).unwrap();
                tx.commit();
                let fb = crate::docs::ExerciseFeedback {
                    outcome: crate::model::ExerciseOutcome::Done,
                    skip_reason: None,
                    borg: Some(4),
                    pain: None,
                    note: Some("godt".into()),
                };
                crate::docs::record_feedback(doc, session.id, w.line, "sit", &fb, at + 5).unwrap();
                crate::docs::finish_session(doc, session.id, Some(4), Some("fint"), at + 6)
                    .unwrap();
                return;
            }
            // A set in an exercise Lone's session did not have yet (the exercise made too).
            18 => {
                drop(tx);
                let other = crate::ids::ProgramExerciseId::new();
                log_set(doc, w.lone_session, other, "stand", &a_set(6, at), at).unwrap();
                return;
            }
            // Feedback on Lone's exercise given again (its fields put again).
            19 => {
                drop(tx);
                let fb = crate::docs::ExerciseFeedback {
                    outcome: crate::model::ExerciseOutcome::Partly,
                    skip_reason: None,
                    borg: Some(3),
                    pain: None,
                    note: Some("træt".into()),
                };
                crate::docs::record_feedback(doc, w.lone_session, w.line, "sit", &fb, at).unwrap();
                return;
            }
            // Lone's session finished.
            20 => {
                drop(tx);
                crate::docs::finish_session(doc, w.lone_session, Some(3), Some("fint"), at)
                    .unwrap();
                return;
            }
            // Lone's session finished with a condition and a note, then again without them:
            // their keys deleted (no null is written for a `None`).
            24 => {
                drop(tx);
                crate::docs::finish_session(doc, w.lone_session, Some(3), Some("fint"), at)
                    .unwrap();
                crate::docs::finish_session(doc, w.lone_session, None, None, at + 1).unwrap();
                return;
            }
            // Feedback as one string, with Borg out of its scale.
            23 => {
                let ex = obj_at(&tx, &["sessions", &lone, "exercises", &line]);
                tx.put(&ex, "feedback", r#"["done",null,11,null,null]"#)
                    .unwrap();
            }
            // A set replaced by a string that is no set, and a number inserted as a set.
            21 => {
                let sets = obj_at(&tx, &["sessions", &lone, "exercises", &line, "sets"]);
                tx.put(&sets, 1, "[8, null]").unwrap();
            }
            22 => {
                let sets = obj_at(&tx, &["sessions", &lone, "exercises", &line, "sets"]);
                tx.insert(&sets, 2, 8_u64).unwrap();
            }
            // A session's status made a number (fails to read).
            _ => {
                let s = obj_at(&tx, &["sessions", &lone]);
                tx.put(&s, "status", 3_u64).unwrap();
            }
        }
        tx.commit();
    }

    /// `edits` made one after another on `from` by Lone's tablet, each its own change; an edit
    /// that no longer applies (a set in a session deleted before) is skipped.
    fn edits_applied(w: &LogWorld, from: &Automerge, edits: &[usize]) -> Automerge {
        let mut edited = from.fork().with_actor(w.lone_tablet.clone());
        for (i, edit) in edits.iter().enumerate() {
            let mut attempt = edited.fork().with_actor(w.lone_tablet.clone());
            let done = std::panic::catch_unwind(AssertUnwindSafe(|| {
                edit_log(w, &mut attempt, *edit, 5_000 + i as i64);
                attempt
            }));
            if let Ok(next) = done {
                edited = next;
            }
        }
        edited
    }

    /// Admission's verdict on `edited` offered over `stored`, and the diff's alone (the path
    /// before the operations were read), as comparable strings.
    fn both_verdicts(
        w: &LogWorld,
        stored: &Automerge,
        edited: &Automerge,
        who: &Principal,
    ) -> (Result<(), String>, Result<(), String>) {
        let actors: HashSet<ActorId> = [w.lone_tablet.clone()].into_iter().collect();
        let bytes = raw_changes_since(edited, &stored.get_heads());
        let admitted = admit(
            w.header.id,
            Some(stored),
            &bytes,
            &edited.get_heads(),
            who,
            &actors,
        )
        .map(|adm| {
            // What admission read (from the document, or from the operations that made a
            // session) is the session as the admitted document holds it.
            let mut after = stored.fork();
            after.load_incremental(&bytes).unwrap();
            for (key, session) in adm.sessions_read.expect("a session log's").sessions {
                let held = crate::docs::read_session(&after, &key).unwrap();
                assert_eq!(Some(session), held, "session {key}");
            }
        })
        .map_err(|r| r.to_string());
        let mut after = stored.fork();
        after.load_incremental(&bytes).unwrap();
        let by_diff = sessions_in_diff(&after, Some(stored))
            .and_then(|touched| {
                check_sessions(
                    &after,
                    Some(stored),
                    who,
                    &touched,
                    None,
                    &mut HashMap::new(),
                )
            })
            .map(|_| ())
            .map_err(|r| r.to_string());
        (admitted, by_diff)
    }

    #[test]
    fn a_session_logs_verdicts_are_the_diffs_edit_by_edit() {
        let w = log_world();
        let expected_ok = [0, 1, 8, 11, 12, 13, 17, 18, 19, 20, 24];
        for edit in 0..LOG_EDITS {
            let mut edited = w.stored.fork().with_actor(w.lone_tablet.clone());
            edit_log(&w, &mut edited, edit, 5_000);
            let (admitted, by_diff) = both_verdicts(&w, &w.stored, &edited, &w.lone);
            assert_eq!(admitted, by_diff, "edit {edit}");
            assert_eq!(
                admitted.is_ok(),
                expected_ok.contains(&edit),
                "edit {edit}: {admitted:?}"
            );
        }
    }

    /// Lone's tablet after `n` new sessions carried out (edit 17), 100 ms apart.
    fn new_sessions_of_lone(w: &LogWorld, n: i64) -> Automerge {
        let mut device = w.stored.fork().with_actor(w.lone_tablet.clone());
        for i in 0..n {
            edit_log(w, &mut device, 17, 10_000 + 100 * i);
        }
        device
    }

    /// A first month sent whole onto a log without sessions is read from the document, its
    /// sessions all new (`every_session_new`); anything at the root, or a log that held a
    /// session, is left to the diff.
    #[test]
    fn a_first_month_sent_whole_reads_every_session_as_new() {
        let w = log_world();
        let server = genesis(&w.header);
        let mut month = server.fork().with_actor(w.lone_tablet.clone());
        for i in 0..3 {
            edit_log(&w, &mut month, 17, 10_000 + 100 * i);
        }
        let touched = every_session_new(&month, Some(&server)).expect("all new");
        assert_eq!(touched.len(), 3);
        assert_eq!(
            touched,
            sessions_in_diff(&month, Some(&server)).unwrap(),
            "the diff's sessions"
        );
        let adm = lone_sends_whole(&w, &server, &month).expect("admitted");
        assert_eq!(adm.sessions_read.expect("read").sessions.len(), 3);
        let mut at_root = month.fork();
        edit_log(&w, &mut at_root, 7, 20_000);
        assert_eq!(every_session_new(&at_root, Some(&server)), None);
        assert_eq!(every_session_new(&month, None), None, "a new document");
        let mut more = month.fork();
        edit_log(&w, &mut more, 17, 30_000);
        assert_eq!(
            every_session_new(&more, Some(&month)),
            None,
            "sessions held"
        );
    }

    /// A month offline: new sessions, as separate changes and squashed into one, are read
    /// from the operations that made them (not from the document), and read the same.
    #[test]
    fn new_sessions_are_read_from_the_operations_that_made_them() {
        let w = log_world();
        let edited = new_sessions_of_lone(&w, 3);
        let squashed =
            match crate::sync::squash_unseen(&edited, &w.lone_tablet, &w.stored.get_heads()) {
                crate::sync::Squash::Squashed { doc, .. } => *doc,
                other => panic!("the month's changes are squashed: {other:?}"),
            };
        for (what, doc) in [("changes", &edited), ("one squashed change", &squashed)] {
            let changes = doc.get_changes(&w.stored.get_heads());
            let hashes: Vec<ChangeHash> = changes.iter().map(Change::hash).collect();
            let written = sessions_written(doc, false, &hashes, changes).expect(what);
            assert_eq!(written.touched.len(), 3, "{what}");
            for key in &written.touched {
                let replayed = written.made_session(key);
                assert!(replayed.is_some(), "{what}: {key} replayed");
                assert_eq!(
                    replayed,
                    crate::docs::read_session(doc, key).unwrap(),
                    "{what}"
                );
            }
        }
        // Concurrent changes are not one chain: read from the document.
        let mut a = w.stored.fork().with_actor(w.lone_tablet.clone());
        edit_log(&w, &mut a, 17, 20_000);
        let mut b = w.stored.fork().with_actor(ActorId::random());
        edit_log(&w, &mut b, 17, 30_000);
        a.merge(&mut b).unwrap();
        let changes = a.get_changes(&w.stored.get_heads());
        let hashes: Vec<ChangeHash> = changes.iter().map(Change::hash).collect();
        let written = sessions_written(&a, false, &hashes, changes).unwrap();
        assert!(written
            .touched
            .iter()
            .all(|k| written.made_session(k).is_none()));
    }

    /// A device's whole document in place of its changes (`sync::offer_changes`): admitted as
    /// loaded when it holds all the stored one does, with the same verdicts, sessions and
    /// heads as the changes; merged like changes when the server holds one it lacks.
    #[test]
    fn a_whole_document_is_admitted_as_its_changes_are() {
        let w = log_world();
        let actors: HashSet<ActorId> = [w.lone_tablet.clone()].into_iter().collect();
        let device = new_sessions_of_lone(&w, 3);
        let admit_as = |stored: &Automerge, bytes: &[u8]| {
            admit(
                w.header.id,
                Some(stored),
                bytes,
                &device.get_heads(),
                &w.lone,
                &actors,
            )
            .unwrap()
        };
        let by_changes = admit_as(
            &w.stored,
            &raw_changes_since(&device, &w.stored.get_heads()),
        );
        let whole = admit_as(&w.stored, &device.save());
        assert!(whole.whole && !by_changes.whole);
        assert_eq!(whole.doc.get_heads(), device.get_heads());
        assert_eq!(whole.new_changes, by_changes.new_changes);
        let sessions = |a: &Admitted| {
            let mut read = a.sessions_read.as_ref().unwrap().sessions.clone();
            read.sort_by(|x, y| x.0.cmp(&y.0));
            read
        };
        assert_eq!(sessions(&whole).len(), 3);
        assert_eq!(sessions(&whole), sessions(&by_changes));
        // Refused alike: Lone writing in Kim's session, sent whole.
        let mut forged = w.stored.fork().with_actor(w.lone_tablet.clone());
        edit_log(&w, &mut forged, 5, 5_000);
        let refused = admit(
            w.header.id,
            Some(&w.stored),
            &forged.save(),
            &forged.get_heads(),
            &w.lone,
            &actors,
        );
        assert!(
            matches!(&refused, Err(Rejection::NotAppendOnly(m)) if m.contains("another assistant's session")),
            "{:?}",
            refused.err()
        );
        // The server holds Kim's newer session, which Lone's tablet lacks: the two merge, and
        // the bytes are not the document's snapshot.
        let mut server = w.stored.fork().with_actor(ActorId::random());
        let kim = crate::model::SessionLog::start(
            w.header.course_id.unwrap(),
            w.kim.user_id,
            None,
            9_000,
        );
        crate::docs::put_session(&mut server, &kim, 9_000).unwrap();
        let merged = admit_as(&server, &device.save());
        assert!(!merged.whole);
        let mut expected = server.fork();
        expected.merge(&mut device.fork()).unwrap();
        let mut heads = merged.doc.get_heads();
        heads.sort();
        let mut want = expected.get_heads();
        want.sort();
        assert_eq!(heads, want);
        assert_eq!(merged.new_changes.len(), by_changes.new_changes.len());
    }

    #[test]
    fn a_refusal_in_a_session_log_keeps_its_reason() {
        let w = log_world();
        let reason = |edit: usize| {
            let mut edited = w.stored.fork().with_actor(w.lone_tablet.clone());
            edit_log(&w, &mut edited, edit, 5_000);
            both_verdicts(&w, &w.stored, &edited, &w.lone)
                .0
                .unwrap_err()
        };
        assert!(reason(2).contains("set.reps"), "{}", reason(2));
        assert!(reason(3).to_lowercase().contains("borg"), "{}", reason(3));
        assert!(reason(23).contains("exercise.borg"), "{}", reason(23));
        assert!(
            reason(4).contains("assistant who performs it"),
            "{}",
            reason(4)
        );
        assert!(
            reason(5).contains("another assistant's session"),
            "{}",
            reason(5)
        );
        assert!(reason(6).contains("cannot be deleted"), "{}", reason(6));
        assert!(reason(7).contains("root"), "{}", reason(7));
        assert!(
            reason(9).contains("assistant who performs it"),
            "{}",
            reason(9)
        );
        assert!(reason(10).contains("another id"), "{}", reason(10));
        assert!(reason(15).contains("root"), "{}", reason(15));
    }

    #[test]
    fn a_one_set_change_is_judged_on_a_log_the_server_moved_on_meanwhile() {
        // Kim's tablet synced a set after Lone's tablet last pulled: Lone's set is judged on
        // the server's newer log, where Kim's session changed too.
        let w = log_world();
        let mut server = w.stored.fork().with_actor(ActorId::random());
        crate::docs::log_set(
            &mut server,
            w.kim_session,
            w.line,
            "sit",
            &a_set(7, 3_000),
            3_000,
        )
        .unwrap();
        for edit in [0, 2, 4] {
            let mut edited = w.stored.fork().with_actor(w.lone_tablet.clone());
            edit_log(&w, &mut edited, edit, 5_000);
            let (admitted, by_diff) = both_verdicts(&w, &server, &edited, &w.lone);
            assert_eq!(admitted, by_diff, "edit {edit}");
            assert_eq!(admitted.is_ok(), edit == 0, "edit {edit}: {admitted:?}");
        }
    }

    #[test]
    fn a_new_session_log_with_sessions_is_judged_whole() {
        use crate::docs::put_session;
        use crate::model::SessionLog;
        let w = log_world();
        let actors: HashSet<ActorId> = [w.lone_tablet.clone()].into_iter().collect();
        let course = w.header.course_id.unwrap();
        let mut doc = genesis(&w.header).with_actor(w.lone_tablet.clone());
        put_session(
            &mut doc,
            &SessionLog::start(course, w.lone.user_id, None, 1),
            1,
        )
        .unwrap();
        let whole = |doc: &Automerge| {
            admit(
                w.header.id,
                None,
                &doc.save(),
                &doc.get_heads(),
                &w.lone,
                &actors,
            )
            .map(|_| ())
        };
        assert!(whole(&doc).is_ok());
        // Someone else's session in it: refused, as the diff from nothing refuses it.
        put_session(
            &mut doc,
            &SessionLog::start(course, w.kim.user_id, None, 2),
            2,
        )
        .unwrap();
        assert!(matches!(whole(&doc), Err(Rejection::NotAppendOnly(_))));
    }

    /// Lone's tablet offering what `edited` has beyond `stored`, admission handed `known`.
    fn lone_offers(
        w: &LogWorld,
        stored: &Automerge,
        edited: &Automerge,
        known: Option<SessionValues>,
    ) -> Result<Admitted, AdmissionRefusal> {
        admit_or_refuse_knowing(
            w.header.id,
            Some(stored),
            &raw_changes_since(edited, &stored.get_heads()),
            &edited.get_heads(),
            &w.lone,
            &mut &[w.lone_tablet.clone()].into_iter().collect::<HashSet<_>>(),
            known,
        )
    }

    /// `edited` sent by Lone's tablet as the whole saved document (`sync::offer_changes` for a
    /// big month), over `stored`.
    fn lone_sends_whole(
        w: &LogWorld,
        stored: &Automerge,
        edited: &Automerge,
    ) -> Result<Admitted, Rejection> {
        admit(
            w.header.id,
            Some(stored),
            &edited.save(),
            &edited.get_heads(),
            &w.lone,
            &[w.lone_tablet.clone()].into_iter().collect(),
        )
    }

    /// A set logged in a session admission read before (a tablet's day: one set per sync) is
    /// grown from what was read, not read again; so are new exercises, feedback and the
    /// session finished; a set taken back is read from the document.
    #[test]
    fn a_session_read_before_is_grown_by_the_next_offer_not_read_again() {
        let w = log_world();
        let lone = w.lone_session.to_string();
        let offer = |stored: &Automerge, edited: &Automerge, known| {
            lone_offers(&w, stored, edited, known).unwrap()
        };
        let mut first = w.stored.fork().with_actor(w.lone_tablet.clone());
        edit_log(&w, &mut first, 0, 5_000);
        let read = offer(&w.stored, &first, None);
        let values = read.session_values.expect("a session log's");
        assert_eq!(values.heads(), read.doc.get_heads());
        let old = values
            .sessions
            .get(&lone)
            .expect("Lone's session, read")
            .clone();
        for (edit, grows) in [(0, true), (18, true), (19, true), (20, true), (12, false)] {
            let mut next = read.doc.fork().with_actor(w.lone_tablet.clone());
            edit_log(&w, &mut next, edit, 6_000);
            let changes = next.get_changes(&read.doc.get_heads());
            let hashes: Vec<ChangeHash> = changes.iter().map(Change::hash).collect();
            let written = sessions_written(&next, false, &hashes, changes).expect("placed");
            let grown = written.grown(&next, &lone, old.clone());
            assert_eq!(grown.is_some(), grows, "edit {edit}");
            if let Some(grown) = grown {
                assert_eq!(
                    crate::docs::session_from(&grown),
                    crate::docs::read_session(&next, &lone).unwrap(),
                    "edit {edit}"
                );
            }
            // Through admission: what it read is the document's, with or without `known`.
            let adm = offer(&read.doc, &next, Some(values.clone()));
            for (key, session) in adm.sessions_read.unwrap().sessions {
                assert_eq!(
                    Some(session),
                    crate::docs::read_session(&adm.doc, &key).unwrap(),
                    "edit {edit}"
                );
            }
        }
        // Values of other heads are not used: when the log moved on by a sync whose values
        // were not kept, the next set is read with the document's, not grown from the older.
        let mut once = read.doc.fork().with_actor(w.lone_tablet.clone());
        edit_log(&w, &mut once, 19, 7_000);
        let moved = offer(&read.doc, &once, None).doc;
        let mut twice = moved.fork().with_actor(w.lone_tablet.clone());
        edit_log(&w, &mut twice, 0, 7_001);
        let adm = offer(&moved, &twice, Some(values));
        let (_, session) = &adm.sessions_read.unwrap().sessions[0];
        assert_eq!(
            Some(session.clone()),
            crate::docs::read_session(&adm.doc, &lone).unwrap(),
            "not grown from values of other heads"
        );
    }

    /// An upload of many sessions keeps the values of the ones started last only.
    #[test]
    fn only_the_sessions_started_last_are_kept_as_values() {
        let w = log_world();
        let device = new_sessions_of_lone(&w, 6);
        let adm = lone_offers(&w, &w.stored, &device, None).unwrap();
        let read = adm.sessions_read.unwrap().sessions;
        assert_eq!(read.len(), 6);
        let mut newest: Vec<_> = read.iter().collect();
        newest.sort_by_key(|(_, s)| std::cmp::Reverse(s.started_at));
        let mut expected: Vec<&String> = newest[..KEPT_SESSIONS].iter().map(|(k, _)| k).collect();
        let values = adm.session_values.unwrap();
        let mut kept: Vec<&String> = values.sessions.keys().collect();
        expected.sort();
        kept.sort();
        assert_eq!(kept, expected);
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]
        /// Edits offered one at a time, each admission handed what the one before read (as
        /// the server does): the verdict is admission's without it, and every session read is
        /// the admitted document's.
        #[test]
        fn edits_offered_one_by_one_read_what_the_document_holds(
            edits in proptest::collection::vec(0..LOG_EDITS, 1..8),
        ) {
            let w = log_world();
            let mut server = w.stored.fork();
            let mut known: Option<SessionValues> = None;
            for (i, edit) in edits.iter().enumerate() {
                let mut device = server.fork().with_actor(w.lone_tablet.clone());
                let at = 5_000 + i as i64;
                let done = std::panic::catch_unwind(AssertUnwindSafe(|| {
                    edit_log(&w, &mut device, *edit, at);
                    device
                }));
                let Ok(device) = done else { continue };
                let knowing = lone_offers(&w, &server, &device, known.take());
                let plain = lone_offers(&w, &server, &device, None);
                proptest::prop_assert_eq!(
                    knowing.as_ref().map(|_| ()).map_err(|r| r.rejection.to_string()),
                    plain.as_ref().map(|_| ()).map_err(|r| r.rejection.to_string()),
                    "edit {}", edit
                );
                if let Ok(adm) = knowing {
                    // An edit that changed nothing (a value put again) made no change.
                    let read = adm.sessions_read.clone().map(|r| r.sessions).unwrap_or_default();
                    for (key, session) in read {
                        let held = crate::docs::read_session(&adm.doc, &key).unwrap();
                        proptest::prop_assert_eq!(Some(session), held, "edit {}", edit);
                    }
                    if !adm.new_changes.is_empty() {
                        known = adm.session_values;
                    }
                    server = adm.doc;
                }
            }
        }

        /// Any sequence of edits, each its own change, offered at once: admission's verdict
        /// and reason are the diff's.
        #[test]
        fn any_edits_get_the_diffs_verdict(
            edits in proptest::collection::vec(0..LOG_EDITS, 1..5),
            moved_on in proptest::bool::ANY,
        ) {
            let w = log_world();
            let mut server = w.stored.fork().with_actor(ActorId::random());
            if moved_on {
                crate::docs::log_set(&mut server, w.kim_session, w.line, "sit", &a_set(7, 3_000), 3_000)
                    .unwrap();
            }
            let edited = edits_applied(&w, &w.stored, &edits);
            let (admitted, by_diff) = both_verdicts(&w, &server, &edited, &w.lone);
            // The same edits sent as the whole document (`sync::offer_changes` for a big
            // month): the same verdict and reason, taken as loaded or merged.
            let whole = lone_sends_whole(&w, &server, &edited)
                .map(|_| ())
                .map_err(|r| r.to_string());
            proptest::prop_assert_eq!(&whole, &admitted);
            proptest::prop_assert_eq!(admitted, by_diff);
        }

        /// A log the server holds as its therapist created it (no session yet), and any edits
        /// on it sent as the whole document (a course's first month): admitted without taking
        /// the diff (`every_session_new`), with the diff's verdict and reason, and what it read
        /// is what the admitted document holds. Lone's session comes first (edit 11 files it
        /// under its own key), so the edits of it have a session to edit.
        #[test]
        fn edits_on_a_log_without_sessions_get_the_diffs_verdict_sent_whole(
            edits in proptest::collection::vec(0..LOG_EDITS, 1..6),
        ) {
            let w = log_world();
            let server = genesis(&w.header);
            let edits: Vec<usize> = [11].into_iter().chain(edits).collect();
            let edited = edits_applied(&w, &server, &edits);
            let (admitted, by_diff) = both_verdicts(&w, &server, &edited, &w.lone);
            let whole = lone_sends_whole(&w, &server, &edited)
                .map(|adm| {
                    for (key, session) in adm.sessions_read.expect("a session log's").sessions {
                        let held = crate::docs::read_session(&adm.doc, &key).unwrap();
                        assert_eq!(Some(session), held, "session {key}");
                    }
                })
                .map_err(|r| r.to_string());
            proptest::prop_assert_eq!(&whole, &by_diff);
            proptest::prop_assert_eq!(admitted, by_diff);
        }
    }
}
