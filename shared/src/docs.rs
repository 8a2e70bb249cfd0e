//! The CRDT documents and their schema: which Automerge document holds what, and the only
//! functions that write them.
//!
//! Documents are split along who writes them, so the server can authorize per document:
//! - **roster** (one per team): citizens and which assistants visit whom — written by therapists
//!   and admins;
//! - **course** (one per course): the course, its program with listed revisions, assessments —
//!   written by therapists;
//! - **session log** (one per course): sessions keyed by id — appended by assistants. Logs never
//!   conflict: each session is a new map entry written by one device;
//! - **library** (one per municipality): the municipality's own exercises, templates and media
//!   metadata — written by its therapists and admins, read by all its users (schema and writes
//!   in [`crate::municipal`]).
//!
//! Every document starts with a *genesis* change built deterministically from its [`Header`]
//! (fixed actor, fixed time), so two devices that create the same document offline produce the
//! same first change and their edits land in the same containers instead of shadowing each other.

use crate::effect::goals::GoalFollowUp;
use crate::effect::plan::TestPlan;
use crate::ids::*;
use crate::model::*;
use automerge::transaction::{CommitOptions, Transactable, Transaction};
use automerge::{ActorId, Automerge, ObjId, ObjType, ReadDoc, ROOT};
use autosurgeon::{hydrate, hydrate_prop, reconcile_insert, reconcile_prop, Hydrate, Reconcile};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};

/// A roster's new generation without erased citizens (issue #14 item 5).
pub mod rewrite;

/// Every object in a map read in one pass, as Automerge's `hydrate` reads each.
pub mod one_pass;

/// Which records some changes touched: a device's projections refresh only those.
pub mod touched;

/// The schema version written at the root of every document.
pub const SCHEMA_VERSION: u64 = 1;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DocumentKind {
    Roster,
    Course,
    SessionLog,
    /// A municipality's own library (protocol version 2).
    Library,
}

impl DocumentKind {
    pub fn as_str(self) -> &'static str {
        match self {
            DocumentKind::Roster => "roster",
            DocumentKind::Course => "course",
            DocumentKind::SessionLog => "session_log",
            DocumentKind::Library => "library",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "roster" => DocumentKind::Roster,
            "course" => DocumentKind::Course,
            "session_log" => DocumentKind::SessionLog,
            "library" => DocumentKind::Library,
            _ => return None,
        })
    }
}

/// What a document is and whom it belongs to: fixed at genesis, never changed after.
///
/// A municipality's library belongs to no team (`team_id` is [`TeamId::NONE`]); its id is
/// derived from the municipality ([`DocumentId::library_of`]), and that id is what
/// [`crate::auth::authorize`] compares with the user's municipality.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Header {
    pub id: DocumentId,
    pub kind: DocumentKind,
    pub team_id: TeamId,
    pub course_id: Option<CourseId>,
}

impl Header {
    pub fn roster(team_id: TeamId) -> Self {
        Header {
            id: DocumentId::roster_of(team_id),
            kind: DocumentKind::Roster,
            team_id,
            course_id: None,
        }
    }
    pub fn course(team_id: TeamId, course: CourseId) -> Self {
        Header {
            id: DocumentId::course_of(course),
            kind: DocumentKind::Course,
            team_id,
            course_id: Some(course),
        }
    }
    pub fn session_log(team_id: TeamId, course: CourseId) -> Self {
        Header {
            id: DocumentId::session_log_of(course),
            kind: DocumentKind::SessionLog,
            team_id,
            course_id: Some(course),
        }
    }
    pub fn library(municipality: MunicipalityId) -> Self {
        Header {
            id: DocumentId::library_of(municipality),
            kind: DocumentKind::Library,
            team_id: TeamId::NONE,
            course_id: None,
        }
    }
    /// Whether the id is the one derived from the other fields (a document cannot claim
    /// another team's or course's id). A library's id is derived from its municipality, which
    /// the header does not carry: authorization checks it against the user's municipality.
    pub fn is_consistent(&self) -> bool {
        let expected = match (self.kind, self.course_id) {
            (DocumentKind::Roster, None) => DocumentId::roster_of(self.team_id),
            (DocumentKind::Course, Some(c)) => DocumentId::course_of(c),
            (DocumentKind::SessionLog, Some(c)) => DocumentId::session_log_of(c),
            (DocumentKind::Library, None) => return self.team_id == TeamId::NONE,
            _ => return false,
        };
        expected == self.id
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SchemaError {
    #[error("document is missing or has a malformed '{0}'")]
    Header(&'static str),
    #[error("document schema {found} is newer than this program understands ({SCHEMA_VERSION}); update the app")]
    TooNew { found: u64 },
    #[error("document content does not match the schema: {0}")]
    Shape(#[from] autosurgeon::HydrateError),
    #[error("invalid data: {0}")]
    Invalid(#[from] Invalid),
    #[error("{0} not found in the document")]
    NotFound(&'static str),
    #[error("could not write the document: {0}")]
    Write(String),
}

impl From<autosurgeon::ReconcileError> for SchemaError {
    fn from(e: autosurgeon::ReconcileError) -> Self {
        SchemaError::Write(e.to_string())
    }
}
impl From<automerge::AutomergeError> for SchemaError {
    fn from(e: automerge::AutomergeError) -> Self {
        SchemaError::Write(e.to_string())
    }
}

/// The actor of every server-authored change (the demo seed's documents). Registered to no
/// user and refused at registration, so no device can write as it.
pub fn server_actor() -> ActorId {
    ActorId::from(b"homerehab-server".as_slice())
}

/// Whether a device may never register `actor`: the server's own, or the genesis actor of
/// `document` (a document id's 16 bytes). The store asks this for every document it holds.
pub fn is_reserved_actor(actor: &ActorId, document: Option<DocumentId>) -> bool {
    *actor == server_actor() || document.is_some_and(|d| *actor == genesis_actor(d))
}

/// The actor that writes every genesis change: derived from the document id.
pub fn genesis_actor(id: DocumentId) -> ActorId {
    ActorId::from(id.as_bytes().as_slice())
}

/// The deterministic first state of a document.
pub fn genesis(header: &Header) -> Automerge {
    let mut doc = Automerge::new().with_actor(genesis_actor(header.id));
    let mut tx = doc.transaction();
    tx.put(ROOT, "schema", SCHEMA_VERSION).expect("fresh doc");
    tx.put(ROOT, "kind", header.kind.as_str())
        .expect("fresh doc");
    if header.kind != DocumentKind::Library {
        tx.put(ROOT, "team_id", header.team_id.as_bytes().to_vec())
            .expect("fresh doc");
    }
    if let Some(c) = header.course_id {
        tx.put(ROOT, "course_id", c.as_bytes().to_vec())
            .expect("fresh doc");
    }
    match header.kind {
        DocumentKind::Roster => {
            tx.put_object(ROOT, "citizens", ObjType::Map)
                .expect("fresh doc");
        }
        DocumentKind::Course => {
            let program = tx
                .put_object(ROOT, "program", ObjType::Map)
                .expect("fresh doc");
            tx.put_object(&program, "exercises", ObjType::Map)
                .expect("fresh doc");
            tx.put_object(&program, "revisions", ObjType::Map)
                .expect("fresh doc");
            tx.put_object(ROOT, "assessments", ObjType::Map)
                .expect("fresh doc");
        }
        DocumentKind::SessionLog => {
            tx.put_object(ROOT, "sessions", ObjType::Map)
                .expect("fresh doc");
        }
        DocumentKind::Library => {
            for collection in ["exercises", "templates", "media"] {
                tx.put_object(ROOT, collection, ObjType::Map)
                    .expect("fresh doc");
            }
        }
    }
    tx.commit_with(CommitOptions::default().with_time(0));
    doc
}

/// Reads a document's header and checks its schema version.
pub fn read_header(doc: &Automerge, id: DocumentId) -> Result<Header, SchemaError> {
    let schema: u64 =
        hydrate_prop(doc, ROOT, "schema").map_err(|_| SchemaError::Header("schema"))?;
    if schema > SCHEMA_VERSION {
        return Err(SchemaError::TooNew { found: schema });
    }
    let kind: String = hydrate_prop(doc, ROOT, "kind").map_err(|_| SchemaError::Header("kind"))?;
    let kind = DocumentKind::parse(&kind).ok_or(SchemaError::Header("kind"))?;
    // A library belongs to no team: it has no `team_id`, and must not claim one.
    let team_id: TeamId = match (kind, ReadDoc::get(doc, &ROOT, "team_id")?) {
        (DocumentKind::Library, None) => TeamId::NONE,
        (DocumentKind::Library, Some(_)) => return Err(SchemaError::Header("team_id")),
        _ => hydrate_prop(doc, ROOT, "team_id").map_err(|_| SchemaError::Header("team_id"))?,
    };
    // autosurgeon reads a missing key as an error even for `Option`, so look first.
    let course_id: Option<CourseId> = match ReadDoc::get(doc, &ROOT, "course_id")? {
        None => None,
        Some(_) => Some(
            hydrate_prop(doc, ROOT, "course_id").map_err(|_| SchemaError::Header("course_id"))?,
        ),
    };
    let header = Header {
        id,
        kind,
        team_id,
        course_id,
    };
    if !header.is_consistent() {
        return Err(SchemaError::Header("id"));
    }
    Ok(header)
}

/// A team's roster as stored.
#[derive(Clone, Debug, PartialEq, Reconcile, Hydrate)]
pub struct RosterDoc {
    pub schema: u64,
    pub kind: String,
    pub team_id: TeamId,
    pub citizens: BTreeMap<String, Citizen>,
    /// Home-care grants of the team's citizens, keyed by [`CareGrantRecord::key`] (issue #11).
    /// Absent in rosters written before it; created by the first grant.
    #[autosurgeon(missing = "Default::default")]
    pub care_grants: BTreeMap<String, CareGrantRecord>,
    /// Care-time imports, one scalar each, keyed by the import's id (issue #11). Read them
    /// with the entered grants through [`RosterDoc::all_care_grants`].
    #[autosurgeon(missing = "Default::default")]
    pub care_grant_imports: BTreeMap<String, CareGrantImport>,
    /// Referrals and their screenings, keyed by referral id (issue #11). Absent in older
    /// rosters; created by the first referral.
    #[autosurgeon(missing = "Default::default")]
    pub referrals: BTreeMap<String, ReferralRecord>,
}

/// The program part of a course document.
#[derive(Clone, Debug, PartialEq, Reconcile, Hydrate)]
pub struct ProgramDoc {
    /// Current program lines, keyed by program exercise id.
    pub exercises: BTreeMap<String, ProgramExercise>,
    /// Every revision, keyed by revision id.
    pub revisions: BTreeMap<String, ProgramRevision>,
}

impl ProgramDoc {
    /// The current program lines in order.
    pub fn ordered(&self) -> Vec<&ProgramExercise> {
        let mut v: Vec<_> = self.exercises.values().collect();
        v.sort_by(|a, b| a.position.total_cmp(&b.position).then(a.id.cmp(&b.id)));
        v
    }
    /// Revisions oldest first; the index + 1 is the revision number shown to users.
    pub fn revision_list(&self) -> Vec<&ProgramRevision> {
        in_revision_order(&self.revisions)
    }
    pub fn latest_revision(&self) -> Option<&ProgramRevision> {
        self.revision_list().pop()
    }
    /// The exercise of a line the program has or had in any revision: a set may be logged
    /// against it (a line removed while a session ran is still on the assistant's screen;
    /// the server admits such sets too). `None` for a line the program never had.
    pub fn exercise_of_line(&self, line: ProgramExerciseId) -> Option<&str> {
        let id = line.to_string();
        self.exercises
            .get(&id)
            .into_iter()
            .chain(self.revisions.values().flat_map(|r| &r.exercises))
            .find(|l| l.id == line)
            .map(|l| l.exercise_ref.as_str())
    }
}

/// A program's revisions oldest first (by time, then id): the order revision numbers count
/// in, and whose last is "the latest revision" for the stale-revision rule on both sides.
pub fn in_revision_order(revisions: &BTreeMap<String, ProgramRevision>) -> Vec<&ProgramRevision> {
    let mut v: Vec<_> = revisions.values().collect();
    v.sort_by(|a, b| a.at.cmp(&b.at).then(a.id.cmp(&b.id)));
    v
}

/// The latest revision of a course document's program as it is now: what a revision written
/// on this document right away builds on (the seed's and tests' `based_on`; the editor's
/// comes from the revision it opened, `rules::check_based_on_latest`).
pub fn latest_revision_id(doc: &Automerge) -> Result<Option<RevisionId>, SchemaError> {
    let program: ProgramDoc = hydrate_prop(doc, ROOT, "program")?;
    Ok(program.latest_revision().map(|r| r.id))
}

/// A program field that two devices changed concurrently: Automerge kept one value, the other
/// is shown here so the therapist can choose (CouchDB's `_conflicts`, made visible).
#[derive(Clone, Debug, PartialEq)]
pub struct ProgramConflict {
    pub line: String,
    pub field: String,
    /// Every concurrent value, the one currently shown first.
    pub values: Vec<String>,
}

/// The revisions written at once on the same one, when the latest is one of them (two
/// therapists saving offline, both on what they had): the lines shown are the two saves
/// merged field by field, which may be neither, and a line one removed loses the other's
/// change to it, with no field in conflict to say so. Newest first. A save of the program
/// settles it: its revision, based on the latest, has no sibling.
pub fn concurrent_revisions(
    revisions: &BTreeMap<String, ProgramRevision>,
) -> Vec<&ProgramRevision> {
    let list = in_revision_order(revisions);
    let Some(base) = list.last().and_then(|latest| latest.based_on) else {
        return Vec::new();
    };
    let siblings: Vec<&ProgramRevision> = list
        .into_iter()
        .rev()
        .filter(|r| r.based_on == Some(base))
        .collect();
    if siblings.len() > 1 {
        siblings
    } else {
        Vec::new()
    }
}

/// Concurrent edits to the current program lines' dosage, position and instructions, and
/// revisions written at once ([`concurrent_revisions`], as one conflict of the field
/// `revision` on no line, its values the revisions' summaries).
pub fn program_conflicts(doc: &Automerge) -> Result<Vec<ProgramConflict>, SchemaError> {
    let obj_at = |obj: &ObjId, key: &str| -> Result<Option<ObjId>, SchemaError> {
        Ok(match ReadDoc::get(doc, obj, key)? {
            Some((automerge::Value::Object(ObjType::Map), id)) => Some(id),
            _ => None,
        })
    };
    let scalars = |obj: &ObjId, key: &str| -> Result<Vec<String>, SchemaError> {
        Ok(ReadDoc::get_all(doc, obj, key)?
            .into_iter()
            .map(|(v, _)| match v {
                automerge::Value::Scalar(s) => s.to_string(),
                automerge::Value::Object(t) => format!("{t:?}"),
            })
            .collect())
    };
    let mut out = Vec::new();
    let Some(program) = obj_at(&ROOT, "program")? else {
        return Ok(out);
    };
    let revisions: BTreeMap<String, ProgramRevision> =
        hydrate_prop(doc, &program, "revisions").unwrap_or_default();
    let concurrent = concurrent_revisions(&revisions);
    if !concurrent.is_empty() {
        out.push(ProgramConflict {
            line: String::new(),
            field: "revision".into(),
            values: concurrent.iter().map(|r| r.summary.clone()).collect(),
        });
    }
    let Some(lines) = obj_at(&program, "exercises")? else {
        return Ok(out);
    };
    for line in ReadDoc::keys(doc, &lines).collect::<Vec<_>>() {
        let Some(line_obj) = obj_at(&lines, &line)? else {
            continue;
        };
        let mut fields: Vec<(ObjId, String)> = ["position", "instructions"]
            .map(|f| (line_obj.clone(), f.to_string()))
            .to_vec();
        if let Some(dosage) = obj_at(&line_obj, "dosage")? {
            for f in [
                "sets",
                "reps",
                "duration_s",
                "hold_s",
                "rest_s",
                "load",
                "side",
            ] {
                fields.push((dosage.clone(), f.to_string()));
            }
        }
        for (obj, field) in fields {
            let values = scalars(&obj, &field)?;
            if values.len() > 1 {
                out.push(ProgramConflict {
                    line: line.clone(),
                    field,
                    values,
                });
            }
        }
    }
    Ok(out)
}

/// A course document as stored.
#[derive(Clone, Debug, PartialEq, Reconcile, Hydrate)]
pub struct CourseDoc {
    pub schema: u64,
    pub kind: String,
    pub team_id: TeamId,
    pub course_id: CourseId,
    pub course: Option<Course>,
    pub program: ProgramDoc,
    pub assessments: BTreeMap<String, Assessment>,
    /// The course's own test plan; `None` (and in courses written before issue #11) means the
    /// shipped default, see [`CourseDoc::test_plan`]. Edited as a whole: last writer wins.
    #[autosurgeon(missing = "Default::default")]
    pub test_plan: Option<TestPlan>,
    /// Goal attainment keyed by the goal's text (what [`crate::effect::goals::follow_ups_for`]
    /// matches on), so rating one goal never overwrites another. Absent in older courses.
    #[autosurgeon(missing = "Default::default")]
    pub goal_attainment: BTreeMap<String, GoalFollowUp>,
}

impl CourseDoc {
    /// The plan in force: the course's own, else the shipped default.
    pub fn test_plan(&self) -> TestPlan {
        self.test_plan
            .clone()
            .unwrap_or_else(TestPlan::default_plan)
    }
}

/// A course's session log as stored.
#[derive(Clone, Debug, PartialEq, Reconcile, Hydrate)]
pub struct SessionLogDoc {
    pub schema: u64,
    pub kind: String,
    pub team_id: TeamId,
    pub course_id: CourseId,
    pub sessions: BTreeMap<String, SessionLog>,
}

impl RosterDoc {
    /// Every grant, entered or imported, one per key: the latest recording of a key wins.
    pub fn all_care_grants(&self) -> BTreeMap<String, CareGrantRecord> {
        latest_care_grants(
            self.care_grants.values().cloned().chain(
                self.care_grant_imports
                    .values()
                    .flat_map(CareGrantImport::records),
            ),
        )
    }

    pub fn read(doc: &impl autosurgeon::ReadDoc) -> Result<Self, SchemaError> {
        let r: Self = hydrate(doc)?;
        r.citizens.values().try_for_each(Citizen::validate)?;
        for (key, grant) in &r.care_grants {
            grant.validate()?;
            if *key != grant.key() {
                return Err(Invalid {
                    field: "care_grants".into(),
                    problem: "a grant is filed under another key".into(),
                }
                .into());
            }
        }
        r.care_grant_imports
            .values()
            .try_for_each(CareGrantImport::validate)?;
        for (key, referral) in &r.referrals {
            referral.validate()?;
            if *key != referral.id.to_string() {
                return Err(Invalid {
                    field: "referrals".into(),
                    problem: "a referral is filed under another key".into(),
                }
                .into());
            }
        }
        Ok(r)
    }
}

impl CourseDoc {
    pub fn read(doc: &impl autosurgeon::ReadDoc) -> Result<Self, SchemaError> {
        let mut c: Self = hydrate(doc)?;
        if let Some(course) = &mut c.course {
            // Stored: a merge of two status changes may pair a status with the other's reason.
            course.validate_stored()?;
            // Such a leftover reason is read as none, so a later edit of the course (written
            // back whole, checked whole) removes it instead of being refused for it.
            if course.status != crate::model::CourseStatus::EndedEarly {
                course.end_reason = None;
            }
            if course.id != c.course_id || course.team_id != c.team_id {
                return Err(SchemaError::Header("course"));
            }
        }
        c.program
            .exercises
            .values()
            .try_for_each(ProgramExercise::validate)?;
        c.assessments
            .values()
            .try_for_each(crate::assessment::check_recorded)?;
        if let Some(plan) = &c.test_plan {
            check_plan(plan)?;
        }
        for (goal, follow_up) in &c.goal_attainment {
            check_follow_up(goal, follow_up)?;
        }
        Ok(c)
    }
}

impl SessionLogDoc {
    pub fn read(doc: &impl autosurgeon::ReadDoc) -> Result<Self, SchemaError> {
        let s: Self = hydrate(doc)?;
        for session in s.sessions.values() {
            session.validate()?;
        }
        Ok(s)
    }

    /// The sessions of a log, each read in one pass where it can be
    /// ([`read_session_quickly`]) and validated as [`SessionLogDoc::read`] validates them: the
    /// same sessions, without autosurgeon's field-by-field reading of every set, which was most
    /// of the server's CPU in an upload once the read model projected it (issue #13).
    /// All of them are read in one pass over the document ([`one_pass`]) where it can: a
    /// `hydrate` per session seeks each of its objects afresh.
    pub fn read_sessions(doc: &Automerge) -> Result<BTreeMap<String, SessionLog>, SchemaError> {
        let sessions_obj = sessions_map(doc)?;
        let mut in_one_pass: HashMap<_, _> = one_pass::nodes_in_map(doc, &sessions_obj)
            .unwrap_or_default()
            .into_iter()
            .collect();
        let mut sessions = BTreeMap::new();
        for key in doc.keys(&sessions_obj) {
            let read = in_one_pass.remove(key.as_str());
            let session = match read.as_ref().and_then(at_once::session) {
                Some(session) => Some(session),
                None => read_session_quickly(doc, &key)?,
            };
            if let Some(session) = session {
                session.validate()?;
                sessions.insert(key, session);
            }
        }
        Ok(sessions)
    }
}

/// Reads one session from a session-log document.
pub fn read_session(doc: &Automerge, id: &str) -> Result<Option<SessionLog>, SchemaError> {
    // Not `autosurgeon::hydrate_path`: it reports a missing key as an error, not `None`.
    let sessions = match ReadDoc::get(doc, &ROOT, "sessions")? {
        Some((automerge::Value::Object(ObjType::Map), obj)) => obj,
        _ => return Err(SchemaError::NotFound("sessions")),
    };
    if ReadDoc::get(doc, &sessions, id)?.is_none() {
        return Ok(None);
    }
    Ok(Some(hydrate_prop(doc, &sessions, id)?))
}

/// One session read in a single pass over its object (Automerge's own `hydrate` of it), for
/// admission, where autosurgeon's field-by-field reading of whole sessions was most of the cost
/// of an upload (issue #13). It answers [`read_session`]'s value exactly, or `None` — then ask
/// [`read_session`] — wherever autosurgeon's reading could differ: it takes each field only in
/// the one form autosurgeon accepts for its type (an unsigned integer for `u8`/`u32`, a signed
/// one for `Millis`, a string scalar, 16 bytes for an id, a variant's Rust name for an enum,
/// null or no key for an `Option`'s `None`, as the `missing` defaults read it), and anything
/// else, a missing required field included, is left to autosurgeon.
/// `Ok(None)` when the log has no session under `id`.
pub fn read_session_at_once(
    doc: &Automerge,
    id: &str,
) -> Result<Option<Option<SessionLog>>, SchemaError> {
    let session = match session_object(doc, id)? {
        None => return Ok(None),
        Some(Some(obj)) => obj,
        Some(None) => return Ok(Some(None)),
    };
    Ok(Some(
        ReadDoc::hydrate(doc, &session, None)
            .ok()
            .and_then(|v| at_once::session(&v)),
    ))
}

/// [`read_session_quickly`], with the session's value as Automerge's `hydrate` answers it when
/// it was read from that (admission keeps it, see `admission::SessionValues`).
pub fn read_session_and_value(
    doc: &Automerge,
    id: &str,
) -> Result<Option<(SessionLog, Option<automerge::hydrate::Value>)>, SchemaError> {
    read_session_and_value_in(doc, &sessions_map(doc)?, id)
}

/// [`read_session_and_value`] in the log's `sessions` map ([`sessions_map`]) found once by the
/// caller: admission reading a whole month of sessions looked the map up again for each
/// (finding sessions was 4.8 % of an upload's server samples).
pub fn read_session_and_value_in(
    doc: &Automerge,
    sessions: &ObjId,
    id: &str,
) -> Result<Option<(SessionLog, Option<automerge::hydrate::Value>)>, SchemaError> {
    if let Some(Some(obj)) = session_in(doc, sessions, id)? {
        if let Ok(v) = ReadDoc::hydrate(doc, &obj, None) {
            if let Some(session) = at_once::session(&v) {
                return Ok(Some((session, Some(v))));
            }
        }
    }
    Ok(read_session(doc, id)?.map(|s| (s, None)))
}

/// A session from its object as Automerge's `hydrate` answers it (or as admission rebuilt it
/// from the operations that made it), or as borrowed from the document ([`one_pass::Node`]),
/// in [`read_session_at_once`]'s forms only: `None` for anything autosurgeon might read
/// differently.
pub(crate) fn session_from(v: &impl at_once::Tree) -> Option<SessionLog> {
    at_once::session(v)
}

/// One session, read in one pass where it is stored in the form this crate writes
/// ([`read_session_at_once`]), else by autosurgeon ([`read_session`]): the same value either
/// way. `None` when the log has no session under `id`.
pub fn read_session_quickly(doc: &Automerge, id: &str) -> Result<Option<SessionLog>, SchemaError> {
    match read_session_at_once(doc, id)? {
        None => Ok(None),
        Some(Some(session)) => Ok(Some(session)),
        Some(None) => read_session(doc, id),
    }
}

/// The object of the session filed under `id`: `None` when there is none, `Some(None)` when
/// what is filed there is not a map.
fn session_object(doc: &Automerge, id: &str) -> Result<Option<Option<ObjId>>, SchemaError> {
    session_in(doc, &sessions_map(doc)?, id)
}

/// A session log's `sessions` map.
pub fn sessions_map(doc: &Automerge) -> Result<ObjId, SchemaError> {
    match ReadDoc::get(doc, &ROOT, "sessions")? {
        Some((automerge::Value::Object(ObjType::Map), obj)) => Ok(obj),
        _ => Err(SchemaError::NotFound("sessions")),
    }
}

/// [`session_object`] in the `sessions` map found already.
fn session_in(
    doc: &Automerge,
    sessions: &ObjId,
    id: &str,
) -> Result<Option<Option<ObjId>>, SchemaError> {
    Ok(match ReadDoc::get(doc, sessions, id)? {
        None => None,
        Some((automerge::Value::Object(ObjType::Map), obj)) => Some(Some(obj)),
        Some(_) => Some(None),
    })
}

/// Who performs the session filed under `id`, read from that one field where it is stored in
/// the form this crate writes, else from the whole session ([`read_session_quickly`]): the
/// same answer either way, without reading the session's sets. `None` when the log has no
/// session under `id`.
pub fn session_performer(doc: &Automerge, id: &str) -> Result<Option<UserId>, SchemaError> {
    session_performer_in(doc, &sessions_map(doc)?, id)
}

/// [`session_performer`] in the `sessions` map found already ([`sessions_map`]).
pub fn session_performer_in(
    doc: &Automerge,
    sessions: &ObjId,
    id: &str,
) -> Result<Option<UserId>, SchemaError> {
    let Some(session) = session_in(doc, sessions, id)? else {
        return Ok(None);
    };
    let field = match &session {
        Some(obj) => ReadDoc::get(doc, obj, "performed_by")?,
        None => None,
    };
    if let Some((automerge::Value::Scalar(v), _)) = field {
        if let automerge::ScalarValue::Bytes(b) = v.as_ref() {
            if let Ok(id) = uuid::Uuid::from_slice(b) {
                return Ok(Some(UserId(id)));
            }
        }
    }
    Ok(read_session_quickly(doc, id)?.map(|s| s.performed_by))
}

/// [`read_session_at_once`]'s readers: each answers `None` for any form autosurgeon might read
/// differently. They read a session from Automerge's `hydrate` value or from the same value
/// borrowed from the document ([`one_pass::Node`]), one reading for both ([`at_once::Tree`]).
pub(crate) mod at_once {
    use super::one_pass::Node;
    use crate::ids::*;
    use crate::model::*;
    use automerge::hydrate::Value;
    use automerge::{ScalarValue, ScalarValueRef};
    use std::collections::BTreeMap;

    /// A scalar as the readers look at it, whichever tree it came from.
    pub(crate) enum Scalar<'v> {
        Str(&'v str),
        Bytes(&'v [u8]),
        Int(i64),
        Uint(u64),
        F64(f64),
        Null,
        Other,
    }

    /// A session's value as a tree of maps, lists and scalars.
    pub(crate) trait Tree {
        /// A map's entry under `key` (`None`: not a map, or no such key).
        fn field(&self, key: &str) -> Option<&Self>;
        /// A map's entries (`None`: not a map).
        fn entries(&self) -> Option<impl Iterator<Item = (&str, &Self)>>;
        /// A list's elements in order (`None`: not a list).
        fn items(&self) -> Option<impl Iterator<Item = &Self>>;
        /// The scalar (`None`: an object).
        fn scalar(&self) -> Option<Scalar<'_>>;
    }

    impl Tree for Value {
        fn field(&self, key: &str) -> Option<&Self> {
            match self {
                Value::Map(m) => m.get(key),
                _ => None,
            }
        }
        fn entries(&self) -> Option<impl Iterator<Item = (&str, &Self)>> {
            match self {
                Value::Map(m) => Some(m.iter().map(|(k, e)| (k.as_str(), &e.value))),
                _ => None,
            }
        }
        fn items(&self) -> Option<impl Iterator<Item = &Self>> {
            match self {
                Value::List(l) => Some(l.iter().map(|e| &e.value)),
                _ => None,
            }
        }
        fn scalar(&self) -> Option<Scalar<'_>> {
            let Value::Scalar(s) = self else { return None };
            Some(match s {
                ScalarValue::Str(s) => Scalar::Str(s.as_str()),
                ScalarValue::Bytes(b) => Scalar::Bytes(b),
                ScalarValue::Int(i) => Scalar::Int(*i),
                ScalarValue::Uint(u) => Scalar::Uint(*u),
                ScalarValue::F64(f) => Scalar::F64(*f),
                ScalarValue::Null => Scalar::Null,
                _ => Scalar::Other,
            })
        }
    }

    impl Tree for Node<'_> {
        fn field(&self, key: &str) -> Option<&Self> {
            self.get(key)
        }
        fn entries(&self) -> Option<impl Iterator<Item = (&str, &Self)>> {
            match self {
                Node::Map(m) => Some(m.iter().map(|(k, n, _)| (k.as_ref(), n))),
                _ => None,
            }
        }
        fn items(&self) -> Option<impl Iterator<Item = &Self>> {
            match self {
                Node::List(l) => Some(l.iter()),
                _ => None,
            }
        }
        fn scalar(&self) -> Option<Scalar<'_>> {
            let Node::Scalar(s) = self else { return None };
            Some(match s {
                ScalarValueRef::Str(s) => Scalar::Str(s),
                ScalarValueRef::Bytes(b) => Scalar::Bytes(b),
                ScalarValueRef::Int(i) => Scalar::Int(*i),
                ScalarValueRef::Uint(u) => Scalar::Uint(*u),
                ScalarValueRef::F64(f) => Scalar::F64(*f),
                ScalarValueRef::Null => Scalar::Null,
                _ => Scalar::Other,
            })
        }
    }

    fn uint(v: &impl Tree) -> Option<u64> {
        match v.scalar()? {
            Scalar::Uint(u) => Some(u),
            _ => None,
        }
    }
    fn int(v: &impl Tree) -> Option<i64> {
        match v.scalar()? {
            Scalar::Int(i) => Some(i),
            _ => None,
        }
    }
    fn float(v: &impl Tree) -> Option<f64> {
        match v.scalar()? {
            Scalar::F64(f) => Some(f),
            _ => None,
        }
    }
    fn string(v: &impl Tree) -> Option<String> {
        name(v).map(str::to_string)
    }
    fn uuid(v: &impl Tree) -> Option<uuid::Uuid> {
        match v.scalar()? {
            Scalar::Bytes(b) if b.len() == 16 => uuid::Uuid::from_slice(b).ok(),
            _ => None,
        }
    }
    /// `Option<T>`: null is `None`, anything else is read as `T`.
    fn opt<'v, V: Tree, T>(v: &'v V, read: impl Fn(&'v V) -> Option<T>) -> Option<Option<T>> {
        match v.scalar() {
            Some(Scalar::Null) => Some(None),
            _ => read(v).map(Some),
        }
    }
    /// An `Option<T>` field of the map `v` that may have no key (`None`), as [`opt`] else.
    fn absent_or<'v, V: Tree, T>(
        v: &'v V,
        key: &str,
        read: impl Fn(&'v V) -> Option<T>,
    ) -> Option<Option<T>> {
        match v.field(key) {
            None => Some(None),
            Some(f) => opt(f, read),
        }
    }
    fn name(v: &impl Tree) -> Option<&str> {
        match v.scalar()? {
            Scalar::Str(s) => Some(s),
            _ => None,
        }
    }
    fn status(v: &impl Tree) -> Option<SessionStatus> {
        Some(match name(v)? {
            "InProgress" => SessionStatus::InProgress,
            "Completed" => SessionStatus::Completed,
            "NotCarriedOut" => SessionStatus::NotCarriedOut,
            _ => return None,
        })
    }
    fn reason(v: &impl Tree) -> Option<NotCarriedOutReason> {
        Some(match name(v)? {
            "Ill" => NotCarriedOutReason::Ill,
            "Declined" => NotCarriedOutReason::Declined,
            "NotAtHome" => NotCarriedOutReason::NotAtHome,
            "Hospitalised" => NotCarriedOutReason::Hospitalised,
            "Other" => NotCarriedOutReason::Other,
            _ => return None,
        })
    }
    fn outcome(v: &impl Tree) -> Option<ExerciseOutcome> {
        Some(match name(v)? {
            "Done" => ExerciseOutcome::Done,
            "Partly" => ExerciseOutcome::Partly,
            "Skipped" => ExerciseOutcome::Skipped,
            _ => return None,
        })
    }
    fn phase(v: &impl Tree) -> Option<AssessmentPhase> {
        Some(match name(v)? {
            "Start" => AssessmentPhase::Start,
            "Midway" => AssessmentPhase::Midway,
            "End" => AssessmentPhase::End,
            "FollowUp" => AssessmentPhase::FollowUp,
            _ => return None,
        })
    }
    fn place(v: &impl Tree) -> Option<MeasuredAt> {
        Some(match name(v)? {
            "Home" => MeasuredAt::Home,
            "Clinic" => MeasuredAt::Clinic,
            _ => return None,
        })
    }
    fn small(v: &impl Tree) -> Option<u8> {
        uint(v)?.try_into().ok()
    }
    fn count(v: &impl Tree) -> Option<u32> {
        uint(v)?.try_into().ok()
    }

    fn set(v: &impl Tree) -> Option<SetLog> {
        // One string as written now; a map of four fields as written before issue #13.
        if let Some(Scalar::Str(s)) = v.scalar() {
            return SetLog::decode(s);
        }
        Some(SetLog {
            reps: opt(v.field("reps")?, count)?,
            duration_s: opt(v.field("duration_s")?, count)?,
            load_kg: opt(v.field("load_kg")?, float)?,
            at: int(v.field("at")?)?,
        })
    }

    fn exercise(v: &impl Tree) -> Option<ExerciseLog> {
        let sets = v
            .field("sets")?
            .items()?
            .map(set)
            .collect::<Option<Vec<_>>>()?;
        let log = ExerciseLog {
            program_exercise_id: ProgramExerciseId(uuid(v.field("program_exercise_id")?)?),
            exercise_ref: string(v.field("exercise_ref")?)?,
            // The five keys written before the feedback was one string.
            outcome: absent_or(v, "outcome", outcome)?,
            skip_reason: absent_or(v, "skip_reason", string)?,
            sets,
            borg: absent_or(v, "borg", small)?,
            pain: absent_or(v, "pain", small)?,
            note: absent_or(v, "note", string)?,
        };
        // The string, when there is one, is the feedback.
        match absent_or(v, "feedback", name)? {
            Some(encoded) => log.with_feedback(encoded),
            None => Some(log),
        }
    }

    fn who5(v: &impl Tree) -> Option<Who5Record> {
        let answers = v
            .field("answers")?
            .entries()?
            .map(|(k, a)| Some((k.to_string(), small(a)?)))
            .collect::<Option<BTreeMap<_, _>>>()?;
        Some(Who5Record {
            phase: phase(v.field("phase")?)?,
            by: UserId(uuid(v.field("by")?)?),
            place: place(v.field("place")?)?,
            started_at: int(v.field("started_at")?)?,
            answers,
        })
    }

    pub(crate) fn session(v: &impl Tree) -> Option<SessionLog> {
        let exercises = v
            .field("exercises")?
            .entries()?
            .map(|(k, e)| Some((k.to_string(), exercise(e)?)))
            .collect::<Option<BTreeMap<_, _>>>()?;
        Some(SessionLog {
            id: SessionId(uuid(v.field("id")?)?),
            course_id: CourseId(uuid(v.field("course_id")?)?),
            performed_by: UserId(uuid(v.field("performed_by")?)?),
            // A field that is `None` has no key (nulls in older documents).
            program_revision: absent_or(v, "program_revision", |v| uuid(v).map(RevisionId))?,
            started_at: int(v.field("started_at")?)?,
            ended_at: absent_or(v, "ended_at", int)?,
            status: status(v.field("status")?)?,
            not_carried_out: absent_or(v, "not_carried_out", reason)?,
            general_condition: absent_or(v, "general_condition", small)?,
            note: absent_or(v, "note", string)?,
            exercises,
            who5: absent_or(v, "who5", who5)?,
        })
    }
}

/// A map at the document's root, or `None` where an older document lacks it.
fn root_map(doc: &Automerge, key: &'static str) -> Result<Option<ObjId>, SchemaError> {
    Ok(match ReadDoc::get(doc, &ROOT, key)? {
        Some((automerge::Value::Object(ObjType::Map), obj)) => Some(obj),
        _ => None,
    })
}

/// A roster's citizens only: what most screens need, without reading its (possibly very
/// many) care grants.
pub fn read_citizens(doc: &Automerge) -> Result<BTreeMap<String, Citizen>, SchemaError> {
    if root_map(doc, "citizens")?.is_none() {
        return Err(SchemaError::NotFound("citizens"));
    }
    Ok(hydrate_prop(doc, &ROOT, "citizens")?)
}

/// One citizen of a roster, `None` if it is not on it.
pub fn read_citizen(doc: &Automerge, id: CitizenId) -> Result<Option<Citizen>, SchemaError> {
    let Some(citizens) = root_map(doc, "citizens")? else {
        return Err(SchemaError::NotFound("citizens"));
    };
    let key = id.to_string();
    if ReadDoc::get(doc, &citizens, key.as_str())?.is_none() {
        return Ok(None);
    }
    Ok(Some(hydrate_prop(doc, &citizens, key.as_str())?))
}

/// A roster's referrals only (empty in rosters from before referrals).
pub fn read_referrals(doc: &Automerge) -> Result<BTreeMap<String, ReferralRecord>, SchemaError> {
    if root_map(doc, "referrals")?.is_none() {
        return Ok(BTreeMap::new());
    }
    Ok(hydrate_prop(doc, &ROOT, "referrals")?)
}

pub(crate) fn commit(tx: Transaction<'_>, now: Millis) {
    tx.commit_with(CommitOptions::default().with_time(now / 1000));
}

pub(crate) fn map_at(tx: &Transaction<'_>, obj: &ObjId, key: &str) -> Result<ObjId, SchemaError> {
    match tx.get(obj, key)? {
        Some((automerge::Value::Object(ObjType::Map), id)) => Ok(id),
        _ => Err(SchemaError::NotFound("container")),
    }
}

/// Runs one edit as one Automerge change; a failed edit leaves the document untouched.
pub(crate) fn edit(
    doc: &mut Automerge,
    now: Millis,
    f: impl FnOnce(&mut Transaction<'_>) -> Result<(), SchemaError>,
) -> Result<(), SchemaError> {
    let mut tx = doc.transaction();
    match f(&mut tx) {
        Ok(()) => {
            commit(tx, now);
            Ok(())
        }
        Err(e) => {
            tx.rollback();
            Err(e)
        }
    }
}

/// Adds or updates a citizen on a roster.
pub fn put_citizen(doc: &mut Automerge, citizen: &Citizen, now: Millis) -> Result<(), SchemaError> {
    citizen.validate()?;
    edit(doc, now, |tx| {
        let citizens = map_at(tx, &ROOT, "citizens")?;
        reconcile_prop(tx, &citizens, citizen.id.to_string().as_str(), citizen)?;
        Ok(())
    })
}

/// Creates or updates the course record of a course document.
pub fn put_course(doc: &mut Automerge, course: &Course, now: Millis) -> Result<(), SchemaError> {
    course.validate()?;
    edit(doc, now, |tx| {
        reconcile_prop(tx, ROOT, "course", course)?;
        Ok(())
    })
}

/// One change to a program.
#[derive(Clone, Debug, PartialEq)]
pub enum ProgramEdit {
    /// Add a line or change its dosage, instructions or position.
    Upsert(ProgramExercise),
    Remove(ProgramExerciseId),
}

/// Applies program edits and records them as one listed revision; returns the revision id.
/// `based_on` is the revision the editor started from (`None` for a program's first); the
/// caller checks it is the latest (`rules::check_based_on_latest`), and the server's
/// admission refuses the revision when it is not the latest of the history it was written on.
pub fn edit_program(
    doc: &mut Automerge,
    edits: &[ProgramEdit],
    by: UserId,
    summary: &str,
    based_on: Option<RevisionId>,
    now: Millis,
) -> Result<RevisionId, SchemaError> {
    for e in edits {
        if let ProgramEdit::Upsert(pe) = e {
            pe.validate()?;
        }
    }
    let revision_id = RevisionId::new();
    // Revisions are ordered by their time: one written on a device whose clock is behind
    // must still come after the revision it builds on, or "the latest" (what sessions record
    // and the stale-revision rule compare with) would be the one before it.
    let program: Result<ProgramDoc, _> = hydrate_prop(doc, ROOT, "program");
    let at = program
        .ok()
        .and_then(|p| p.latest_revision().map(|r| now.max(r.at.saturating_add(1))))
        .unwrap_or(now);
    edit(doc, now, |tx| {
        let program = map_at(tx, &ROOT, "program")?;
        let exercises = map_at(tx, &program, "exercises")?;
        for e in edits {
            match e {
                ProgramEdit::Upsert(pe) => {
                    reconcile_prop(tx, &exercises, pe.id.to_string().as_str(), pe)?
                }
                ProgramEdit::Remove(id) => tx.delete(&exercises, id.to_string().as_str())?,
            }
        }
        let current: BTreeMap<String, ProgramExercise> = hydrate_prop(&*tx, &program, "exercises")?;
        let mut lines: Vec<ProgramExercise> = current.into_values().collect();
        lines.sort_by(|a, b| a.position.total_cmp(&b.position).then(a.id.cmp(&b.id)));
        let revision = ProgramRevision {
            id: revision_id,
            at,
            by,
            summary: summary.to_string(),
            exercises: lines,
            based_on,
        };
        let revisions = map_at(tx, &program, "revisions")?;
        reconcile_prop(tx, &revisions, revision_id.to_string().as_str(), &revision)?;
        Ok(())
    })?;
    Ok(revision_id)
}

/// Records an assessment on a course.
pub fn put_assessment(doc: &mut Automerge, a: &Assessment, now: Millis) -> Result<(), SchemaError> {
    crate::assessment::check_recorded(a)?;
    edit(doc, now, |tx| {
        let assessments = map_at(tx, &ROOT, "assessments")?;
        reconcile_prop(tx, &assessments, a.id.to_string().as_str(), a)?;
        Ok(())
    })
}

fn check_plan(plan: &TestPlan) -> Result<(), Invalid> {
    plan.check().map_err(|e| Invalid {
        field: "test_plan".into(),
        problem: e.to_string(),
    })
}

fn check_follow_up(goal: &str, f: &GoalFollowUp) -> Result<(), Invalid> {
    let problem = if f.goal != goal {
        "a goal's rating is filed under another goal"
    } else if goal.trim().is_empty() || goal.chars().count() > 500 {
        "a goal must be 1–500 characters"
    } else if f.note.as_ref().is_some_and(|n| n.chars().count() > 4000) {
        "a note is longer than 4000 characters"
    } else {
        return Ok(());
    };
    Err(Invalid {
        field: "goal_attainment".into(),
        problem: problem.into(),
    })
}

/// Maps added to a kind of document after its genesis was fixed, one generation per release
/// that added some (issue #11: grants and goal ratings; then referrals). Only ever appended:
/// a generation's change is part of every document that has it.
/// A container is a path below the root, its parts joined by `/`; a parent comes before its
/// children in its generation.
fn later_containers(kind: DocumentKind) -> &'static [&'static [&'static str]] {
    match kind {
        DocumentKind::Roster => &[&["care_grants"], &["referrals"], &["care_grant_imports"]],
        DocumentKind::Course => &[&["goal_attainment"]],
        // The municipality's effect settings; its maps exist up front so overrides and
        // criteria added on two devices land in the same maps.
        DocumentKind::Library => &[&[
            "effect_settings",
            "effect_settings/changes",
            "effect_settings/criteria",
            "effect_settings/reasons",
        ]],
        DocumentKind::SessionLog => &[],
    }
}

/// The changes that add a document's [`later_containers`], one per generation, each on top of
/// the one before: made like its genesis (the document's own actor, fixed time) directly on
/// it, so every device that needs the maps makes identical changes and concurrent first writes
/// land in the same map instead of one map shadowing the other. Older documents get them the
/// first time such a map is written.
pub fn containers_changes(header: &Header) -> Vec<automerge::Change> {
    genesis_and_containers(header).1
}

/// The heads of a document's genesis and its [`containers_changes`], made on one genesis:
/// admission built it twice, 3.2 % of the server's CPU samples in an upload of new courses.
fn genesis_and_containers(header: &Header) -> (Vec<automerge::ChangeHash>, Vec<automerge::Change>) {
    let mut doc = genesis(header);
    let genesis_heads = doc.get_heads();
    let mut changes = Vec::new();
    for generation in later_containers(header.kind) {
        let mut tx = doc.transaction();
        for c in *generation {
            let (parent, name) = match c.rsplit_once('/') {
                None => (ROOT, *c),
                Some((parent, name)) => {
                    let mut at = ROOT;
                    for part in parent.split('/') {
                        at = match tx.get(&at, part).expect("fresh doc") {
                            Some((_, id)) => id,
                            None => unreachable!("a parent container comes first"),
                        };
                    }
                    (at, name)
                }
            };
            tx.put_object(parent, name, ObjType::Map)
                .expect("fresh doc");
        }
        tx.commit_with(CommitOptions::default().with_time(0));
        changes.extend(doc.get_last_local_change());
    }
    (genesis_heads, changes)
}

/// The changes a document's own actor writes: its genesis and its containers changes. Nothing
/// else may be written under that actor (admission refuses it as forged).
pub fn own_changes(header: &Header) -> Vec<automerge::ChangeHash> {
    let (mut hashes, containers) = genesis_and_containers(header);
    hashes.extend(containers.iter().map(|c| c.hash()));
    hashes
}

/// Applies the [`containers_changes`] a document lacks; a no-op when it has them all.
pub fn ensure_containers(doc: &mut Automerge) -> Result<(), SchemaError> {
    let kind: String =
        hydrate_prop(&*doc, ROOT, "kind").map_err(|_| SchemaError::Header("kind"))?;
    let kind = DocumentKind::parse(&kind).ok_or(SchemaError::Header("kind"))?;
    let team_id: TeamId = match kind {
        DocumentKind::Roster | DocumentKind::Course => {
            hydrate_prop(&*doc, ROOT, "team_id").map_err(|_| SchemaError::Header("team_id"))?
        }
        _ => return Ok(()),
    };
    let header = match kind {
        DocumentKind::Roster => Header::roster(team_id),
        _ => {
            let course: CourseId = hydrate_prop(&*doc, ROOT, "course_id")
                .map_err(|_| SchemaError::Header("course_id"))?;
            Header::course(team_id, course)
        }
    };
    read_header(doc, header.id)?;
    ensure_containers_of(doc, &header)
}

/// Whether `doc` holds the change `hash`. From the change graph alone: automerge's
/// `get_change_by_hash` rebuilds the whole change from the op set, a walk over the document
/// for each hash asked, which was a tenth of a server's CPU in an upload (issue #13).
pub fn has_change(doc: &Automerge, hash: &automerge::ChangeHash) -> bool {
    doc.get_change_meta_by_hash(hash).is_some()
}

/// [`ensure_containers`] for a document whose header cannot be read from it (a library names
/// no municipality inside; its id is derived from it).
pub fn ensure_containers_of(doc: &mut Automerge, header: &Header) -> Result<(), SchemaError> {
    if read_header(doc, header.id)?.kind != header.kind {
        return Err(SchemaError::Header("kind"));
    }
    let missing: Vec<_> = containers_changes(header)
        .into_iter()
        .filter(|c| !has_change(doc, &c.hash()))
        .collect();
    if !missing.is_empty() {
        doc.apply_changes(missing)?;
    }
    Ok(())
}

/// Sets a course's test plan (issue #11).
pub fn set_test_plan(doc: &mut Automerge, plan: &TestPlan, now: Millis) -> Result<(), SchemaError> {
    check_plan(plan)?;
    edit(doc, now, |tx| {
        reconcile_prop(tx, ROOT, "test_plan", Some(plan))?;
        Ok(())
    })
}

/// Rates one goal of a course; other goals' ratings are untouched.
pub fn set_goal_attainment(
    doc: &mut Automerge,
    follow_up: &GoalFollowUp,
    now: Millis,
) -> Result<(), SchemaError> {
    check_follow_up(&follow_up.goal, follow_up)?;
    ensure_containers(doc)?;
    edit(doc, now, |tx| {
        let map = map_at(tx, &ROOT, "goal_attainment")?;
        reconcile_prop(tx, &map, follow_up.goal.as_str(), follow_up)?;
        Ok(())
    })
}

/// Adds (or replaces, same citizen, service and date) a home-care grant on a roster.
pub fn put_care_grant(
    doc: &mut Automerge,
    grant: &CareGrantRecord,
    now: Millis,
) -> Result<(), SchemaError> {
    grant.validate()?;
    ensure_containers(doc)?;
    edit(doc, now, |tx| {
        let map = map_at(tx, &ROOT, "care_grants")?;
        reconcile_prop(tx, &map, grant.key().as_str(), grant)?;
        Ok(())
    })
}

/// Stores a care-time import as one change holding one scalar: all of its grants or, on any
/// invalid grant, none.
pub fn put_care_grant_import(
    doc: &mut Automerge,
    import_id: &str,
    import: &CareGrantImport,
    now: Millis,
) -> Result<(), SchemaError> {
    import.validate()?;
    ensure_containers(doc)?;
    edit(doc, now, |tx| {
        let map = map_at(tx, &ROOT, "care_grant_imports")?;
        reconcile_prop(tx, &map, import_id, import)?;
        Ok(())
    })
}

/// Adds a referral, or replaces it whole (a referral's fields are written once; its screening
/// and course link have their own writers below).
pub fn put_referral(
    doc: &mut Automerge,
    referral: &ReferralRecord,
    now: Millis,
) -> Result<(), SchemaError> {
    referral.validate()?;
    ensure_containers(doc)?;
    edit(doc, now, |tx| {
        let map = map_at(tx, &ROOT, "referrals")?;
        reconcile_prop(tx, &map, referral.id.to_string().as_str(), referral)?;
        Ok(())
    })
}

/// Sets one property of a stored referral, so a concurrent write of another property (its
/// screening, its course link) is not overwritten.
fn set_referral_prop(
    doc: &mut Automerge,
    referral: ReferralId,
    prop: &str,
    value: impl Reconcile,
    now: Millis,
) -> Result<(), SchemaError> {
    edit(doc, now, |tx| {
        let map = map_at(tx, &ROOT, "referrals")?;
        let r = map_at(tx, &map, &referral.to_string())
            .map_err(|_| SchemaError::NotFound("referral"))?;
        reconcile_prop(tx, &r, prop, value)?;
        // The record as it will be stored, checked as the server's admission checks it: a
        // record it refuses would hold back the whole roster, every later change with it.
        let stored: ReferralRecord = hydrate_prop(&*tx, &map, referral.to_string().as_str())?;
        stored.validate()?;
        Ok(())
    })
}

/// Records a referral's screening.
pub fn screen_referral(
    doc: &mut Automerge,
    referral: ReferralId,
    screening: &ScreeningRecord,
    now: Millis,
) -> Result<(), SchemaError> {
    set_referral_prop(doc, referral, "screening", Some(screening), now)
}

/// Links an included referral to the course created from it.
pub fn link_referral_course(
    doc: &mut Automerge,
    referral: ReferralId,
    course: CourseId,
    now: Millis,
) -> Result<(), SchemaError> {
    set_referral_prop(doc, referral, "course_id", Some(course), now)
}

/// Begins a WHO-5 in a session; answers already given in it stay.
pub fn start_who5(
    doc: &mut Automerge,
    session: SessionId,
    phase: AssessmentPhase,
    by: UserId,
    place: MeasuredAt,
    now: Millis,
) -> Result<(), SchemaError> {
    edit(doc, now, |tx| {
        let s = session_obj(tx, session)?;
        if let Some((automerge::Value::Object(ObjType::Map), w)) = tx.get(&s, "who5")? {
            reconcile_prop(tx, &w, "phase", phase)?;
            reconcile_prop(tx, &w, "place", place)?;
            return Ok(());
        }
        let record = Who5Record {
            phase,
            by,
            place,
            started_at: now,
            answers: BTreeMap::new(),
        };
        reconcile_prop(tx, &s, "who5", Some(&record))?;
        Ok(())
    })
}

/// Saves one WHO-5 answer (item 0–4, answer 0–5) as its own change; answers all answers now.
pub fn record_who5_answer(
    doc: &mut Automerge,
    session: SessionId,
    item: usize,
    answer: u8,
    now: Millis,
) -> Result<crate::effect::who5::Who5Answers, SchemaError> {
    if item >= crate::effect::who5::ITEMS.len() || answer > crate::effect::who5::MAX_ANSWER {
        return Err(Invalid {
            field: "who5".into(),
            problem: format!("item {} answer {answer} is not a WHO-5 answer", item + 1),
        }
        .into());
    }
    let mut after = crate::effect::who5::Who5Answers::default();
    edit(doc, now, |tx| {
        let s = session_obj(tx, session)?;
        let w = map_at(tx, &s, "who5").map_err(|_| SchemaError::NotFound("WHO-5"))?;
        let answers = map_at(tx, &w, "answers")?;
        reconcile_prop(tx, &answers, Who5Record::item_key(item).as_str(), answer)?;
        let record: Who5Record = hydrate_prop(&*tx, &s, "who5")?;
        after = record.answers();
        Ok(())
    })?;
    Ok(after)
}

/// Starts a session (or records one that did not take place) in a session log.
pub fn put_session(
    doc: &mut Automerge,
    session: &SessionLog,
    now: Millis,
) -> Result<(), SchemaError> {
    session.validate()?;
    edit(doc, now, |tx| {
        let sessions = map_at(tx, &ROOT, "sessions")?;
        reconcile_prop(tx, &sessions, session.id.to_string().as_str(), session)?;
        Ok(())
    })
}

/// `value` under `key` of `obj`, or no key for `None`: a session's fields that are `None` are
/// not stored (see `SessionLog`).
fn put_some(
    tx: &mut Transaction<'_>,
    obj: &ObjId,
    key: &str,
    value: Option<impl Reconcile>,
) -> Result<(), SchemaError> {
    match value {
        Some(v) => reconcile_prop(tx, obj, key, v)?,
        None if tx.get(obj, key)?.is_some() => tx.delete(obj, key)?,
        None => {}
    }
    Ok(())
}

fn session_obj(tx: &Transaction<'_>, session: SessionId) -> Result<ObjId, SchemaError> {
    let sessions = map_at(tx, &ROOT, "sessions")?;
    map_at(tx, &sessions, &session.to_string()).map_err(|_| SchemaError::NotFound("session"))
}

fn exercise_obj(
    tx: &mut Transaction<'_>,
    session: SessionId,
    line: &ProgramExerciseId,
    exercise_ref: &str,
) -> Result<ObjId, SchemaError> {
    let s = session_obj(tx, session)?;
    let exercises = map_at(tx, &s, "exercises")?;
    let key = line.to_string();
    if let Ok(obj) = map_at(tx, &exercises, &key) {
        return Ok(obj);
    }
    let fresh = ExerciseLog {
        program_exercise_id: *line,
        exercise_ref: exercise_ref.to_string(),
        outcome: None,
        skip_reason: None,
        sets: vec![],
        borg: None,
        pain: None,
        note: None,
    };
    reconcile_prop(tx, &exercises, key.as_str(), &fresh)?;
    map_at(tx, &exercises, &key)
}

/// Appends one performed set to an exercise of a session. Answers how many sets of that
/// exercise the session holds now, from the list it just appended to.
pub fn log_set(
    doc: &mut Automerge,
    session: SessionId,
    line: ProgramExerciseId,
    exercise_ref: &str,
    set: &SetLog,
    now: Millis,
) -> Result<u32, SchemaError> {
    set.validate()?;
    let mut sets_now = 0;
    edit(doc, now, |tx| {
        let ex = exercise_obj(tx, session, &line, exercise_ref)?;
        let sets = match tx.get(&ex, "sets")? {
            Some((automerge::Value::Object(ObjType::List), id)) => id,
            _ => return Err(SchemaError::NotFound("sets")),
        };
        let len = tx.length(&sets);
        // The same bound the server checks, so a device never stores what will be refused.
        if len >= MAX_SETS_PER_EXERCISE {
            return Err(Invalid {
                field: "exercise.sets".into(),
                problem: format!("more than {MAX_SETS_PER_EXERCISE} sets"),
            }
            .into());
        }
        reconcile_insert(tx, sets, len, set)?;
        sets_now = len as u32 + 1;
        Ok(())
    })?;
    Ok(sets_now)
}

/// The assistant's feedback on one exercise of a session.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ExerciseFeedback {
    pub outcome: ExerciseOutcome,
    pub skip_reason: Option<String>,
    pub borg: Option<u8>,
    pub pain: Option<u8>,
    pub note: Option<String>,
}

/// Records how an exercise went (outcome, exertion, pain, note); sets already logged stay.
pub fn record_feedback(
    doc: &mut Automerge,
    session: SessionId,
    line: ProgramExerciseId,
    exercise_ref: &str,
    fb: &ExerciseFeedback,
    now: Millis,
) -> Result<(), SchemaError> {
    let check = ExerciseLog {
        program_exercise_id: line,
        exercise_ref: exercise_ref.to_string(),
        outcome: Some(fb.outcome),
        skip_reason: fb.skip_reason.clone(),
        sets: vec![],
        borg: fb.borg,
        pain: fb.pain,
        note: fb.note.clone(),
    };
    check.validate()?;
    // Feedback always has an outcome, so there is a string to write.
    let feedback = check
        .encode_feedback()
        .ok_or(SchemaError::NotFound("feedback"))?;
    edit(doc, now, |tx| {
        let ex = exercise_obj(tx, session, &line, exercise_ref)?;
        // One string, written whole (see `ExerciseLog`).
        reconcile_prop(tx, &ex, "feedback", feedback.as_str())?;
        Ok(())
    })
}

/// Closes a session with the citizen's general condition and a note.
pub fn finish_session(
    doc: &mut Automerge,
    session: SessionId,
    general_condition: Option<u8>,
    note: Option<&str>,
    now: Millis,
) -> Result<(), SchemaError> {
    GENERAL_CONDITION.check(general_condition)?;
    edit(doc, now, |tx| {
        let s = session_obj(tx, session)?;
        // A tablet clock set back during the session must not end it before it began.
        let started: Millis = hydrate_prop(&*tx, &s, "started_at")?;
        reconcile_prop(tx, &s, "status", SessionStatus::Completed)?;
        reconcile_prop(tx, &s, "ended_at", Some(now.max(started)))?;
        put_some(tx, &s, "general_condition", general_condition)?;
        put_some(tx, &s, "note", note)?;
        // The session as it will be stored, checked as the server's admission checks it (a
        // note too long, say): a session it refuses would hold back every later one of the
        // course, and the device could no longer read its own log.
        let sessions = map_at(tx, &ROOT, "sessions")?;
        let stored: SessionLog = hydrate_prop(&*tx, &sessions, session.to_string().as_str())?;
        stored.validate()?;
        Ok(())
    })
}

/// `set` inserted at `index` of a `sets` list as a map of four keys, as devices wrote sets before
/// issue #13 (one string since, [`SetLog::encode`]): tests of logs written then.
#[cfg(test)]
pub(crate) fn insert_set_as_map(
    tx: &mut Transaction<'_>,
    sets: &ObjId,
    index: usize,
    set: &SetLog,
) {
    let count = |v: Option<u32>| v.map_or(automerge::ScalarValue::Null, |v| u64::from(v).into());
    let map = tx.insert_object(sets, index, ObjType::Map).unwrap();
    tx.put(&map, "reps", count(set.reps)).unwrap();
    tx.put(&map, "duration_s", count(set.duration_s)).unwrap();
    let load = set.load_kg.map_or(automerge::ScalarValue::Null, Into::into);
    tx.put(&map, "load_kg", load).unwrap();
    tx.put(&map, "at", set.at).unwrap();
}

/// An exercise's feedback as five keys of its map, as devices wrote it before it was one string
/// (`ExerciseLog::encode_feedback`): tests of logs written then.
#[cfg(test)]
pub(crate) fn put_feedback_as_keys(
    tx: &mut Transaction<'_>,
    exercise: &ObjId,
    fb: &ExerciseFeedback,
) {
    reconcile_prop(tx, exercise, "outcome", Some(fb.outcome)).unwrap();
    reconcile_prop(tx, exercise, "skip_reason", &fb.skip_reason).unwrap();
    reconcile_prop(tx, exercise, "borg", fb.borg).unwrap();
    reconcile_prop(tx, exercise, "pain", fb.pain).unwrap();
    reconcile_prop(tx, exercise, "note", &fb.note).unwrap();
}

#[cfg(test)]
mod tests {
    use super::*;

    fn team() -> TeamId {
        TeamId(uuid::Uuid::from_u128(1))
    }

    /// A session log with one session begun, nothing logged in it yet.
    fn log_with_a_session_begun() -> (Automerge, SessionLog) {
        let course = CourseId(uuid::Uuid::from_u128(2));
        let mut doc = genesis(&Header::session_log(team(), course));
        let session = SessionLog::start(course, UserId::new(), None, 1);
        put_session(&mut doc, &session, 1).unwrap();
        (doc, session)
    }

    /// A set is one operation in the log (issue #13: it was five, a map and its four keys),
    /// and its string reads back as the set, whatever it holds.
    #[test]
    fn a_logged_set_is_one_operation_and_reads_back_whole() {
        let (mut doc, session) = log_with_a_session_begun();
        let line = ProgramExerciseId::new();
        let sets = [
            SetLog {
                reps: Some(8),
                duration_s: None,
                load_kg: Some(2.5),
                at: 1_700_000_000_123,
            },
            SetLog {
                reps: None,
                duration_s: Some(45),
                load_kg: Some(0.1 + 0.2),
                at: -5,
            },
        ];
        for (i, set) in sets.iter().enumerate() {
            let before = doc.get_heads();
            log_set(&mut doc, session.id, line, "sit", set, 2).unwrap();
            assert_eq!(SetLog::decode(&set.encode()).as_ref(), Some(set));
            if i > 0 {
                // The exercise is there now, so the change is the set alone.
                let change = doc.get_changes(&before).pop().unwrap().clone();
                assert_eq!(change.len(), 1, "one operation");
            }
        }
        let key = session.id.to_string();
        let read = read_session(&doc, &key).unwrap().unwrap();
        assert_eq!(read.exercises[&line.to_string()].sets, sets);
        assert_eq!(read_session_at_once(&doc, &key).unwrap(), Some(Some(read)));
        for bad in [
            "",
            "[8]",
            "[8,null,2.5]",
            "{\"reps\":8}",
            "[8,null,2.5,1,2]",
            "[-1,null,null,1]",
        ] {
            assert_eq!(SetLog::decode(bad), None, "{bad}");
        }
    }

    /// No null is written for a `None` (issue #13): a begun session holds only what it has, an
    /// exercise begins without feedback, its feedback is one operation, and finishing without
    /// a note writes none. Each reads back as written.
    #[test]
    fn a_session_stores_no_nulls_and_an_exercises_feedback_is_one_operation() {
        let (mut doc, session) = log_with_a_session_begun();
        let nulls = |doc: &Automerge| {
            let all = doc.get_changes(&[]);
            all.iter()
                .flat_map(|c| c.decode().operations)
                .filter(|op| {
                    matches!(
                        op.action,
                        automerge::legacy::OpType::Put(automerge::ScalarValue::Null)
                    )
                })
                .count()
        };
        assert_eq!(nulls(&doc), 0, "a begun session");
        let line = ProgramExerciseId::new();
        let set = SetLog {
            reps: Some(8),
            duration_s: None,
            load_kg: None,
            at: 2,
        };
        log_set(&mut doc, session.id, line, "sit", &set, 2).unwrap();
        assert_eq!(nulls(&doc), 0, "an exercise begun");
        let fb = ExerciseFeedback {
            outcome: ExerciseOutcome::Partly,
            skip_reason: None,
            borg: Some(6),
            pain: None,
            note: Some("svært \"i dag\"".into()),
        };
        let before = doc.get_heads();
        record_feedback(&mut doc, session.id, line, "sit", &fb, 3).unwrap();
        assert_eq!(doc.get_changes(&before)[0].len(), 1, "one operation");
        finish_session(&mut doc, session.id, None, None, 4).unwrap();
        assert_eq!(nulls(&doc), 0, "finished without condition or note");
        let read = read_session(&doc, &session.id.to_string())
            .unwrap()
            .unwrap();
        let ex = &read.exercises[&line.to_string()];
        assert_eq!(
            (
                ex.outcome,
                ex.skip_reason.clone(),
                ex.borg,
                ex.pain,
                ex.note.clone()
            ),
            (Some(fb.outcome), None, fb.borg, None, fb.note.clone())
        );
        assert_eq!((read.general_condition, read.note.clone()), (None, None));
        assert_eq!(read.status, SessionStatus::Completed);
        let key = session.id.to_string();
        assert_eq!(read_session_at_once(&doc, &key).unwrap(), Some(Some(read)));
        // A note taken back when finishing again: its key goes, no null comes.
        finish_session(&mut doc, session.id, Some(3), Some("fint"), 5).unwrap();
        finish_session(&mut doc, session.id, Some(3), None, 6).unwrap();
        assert_eq!(nulls(&doc), 0);
        assert_eq!(read_session(&doc, &key).unwrap().unwrap().note, None);
        // Any other feedback string is refused by both readers, not read as none.
        let mut tx = doc.transaction();
        let s = session_obj(&tx, session.id).unwrap();
        let exercises = map_at(&tx, &s, "exercises").unwrap();
        let ex = map_at(&tx, &exercises, &line.to_string()).unwrap();
        tx.put(&ex, "feedback", "[\"done\"]").unwrap();
        tx.commit();
        assert!(read_session(&doc, &key).is_err());
        assert_eq!(read_session_at_once(&doc, &key).unwrap(), Some(None));
        // Nor any other scalar; a null is no feedback, as a missing key is.
        let put_feedback = |doc: &mut Automerge, value: automerge::ScalarValue| {
            let mut tx = doc.transaction();
            let s = session_obj(&tx, session.id).unwrap();
            let exercises = map_at(&tx, &s, "exercises").unwrap();
            let ex = map_at(&tx, &exercises, &line.to_string()).unwrap();
            tx.put(&ex, "feedback", value).unwrap();
            tx.commit();
        };
        put_feedback(&mut doc, 5_u64.into());
        assert!(read_session(&doc, &key).is_err());
        assert_eq!(read_session_at_once(&doc, &key).unwrap(), Some(None));
        put_feedback(&mut doc, automerge::ScalarValue::Null);
        let none = read_session(&doc, &key).unwrap().unwrap();
        assert_eq!(none.exercises[&line.to_string()].outcome, None);
        assert_eq!(read_session_at_once(&doc, &key).unwrap(), Some(Some(none)));
    }

    /// A write the server's admission would refuse is refused on the device, nothing stored:
    /// otherwise the refused change holds back every later one of the document, and the
    /// device cannot read its own copy.
    #[test]
    fn a_finished_session_or_a_screening_the_server_would_refuse_is_not_written() {
        let course = CourseId::new();
        let mut log = genesis(&Header::session_log(team(), course));
        let by = UserId::new();
        let begun = SessionLog::start(course, by, None, 1_000);
        put_session(&mut log, &begun, 1_000).unwrap();
        let heads = log.get_heads();
        let long = "x".repeat(4001);
        assert!(finish_session(&mut log, begun.id, Some(4), Some(&long), 2_000).is_err());
        assert_eq!(log.get_heads(), heads, "nothing written");
        SessionLogDoc::read(&log).unwrap();
        // The tablet's clock set back during the session: it ends when it began.
        finish_session(&mut log, begun.id, None, Some("fint"), 500).unwrap();
        let done = read_session(&log, &begun.id.to_string()).unwrap().unwrap();
        assert_eq!(done.ended_at, Some(1_000));
        done.validate().unwrap();

        let mut roster = genesis(&Header::roster(team()));
        let referral = ReferralRecord {
            id: ReferralId::new(),
            citizen_id: CitizenId::new(),
            referred_on: "2026-11-02".into(),
            referred_by: by,
            note: None,
            recorded_at: 1,
            screening: None,
            course_id: None,
        };
        put_referral(&mut roster, &referral, 1).unwrap();
        let screening = |note: &str| ScreeningRecord {
            criteria: [("wants_to_train".to_string(), true)].into(),
            not_included_reason: None,
            note: Some(note.into()),
            screened_on: "2026-11-05".into(),
            screened_by: by,
        };
        let heads = roster.get_heads();
        assert!(screen_referral(&mut roster, referral.id, &screening(&long), 2).is_err());
        assert_eq!(roster.get_heads(), heads, "nothing written");
        screen_referral(&mut roster, referral.id, &screening("ok"), 2).unwrap();
        read_referrals(&roster).unwrap();
    }

    #[test]
    fn a_session_read_in_one_pass_is_what_autosurgeon_reads() {
        let course = CourseId(uuid::Uuid::from_u128(2));
        let mut doc = genesis(&Header::session_log(team(), course));
        let by = UserId::new();
        // Every shape a session takes: begun, with sets and feedback, finished with a note,
        // with a WHO-5, against a revision, not carried out.
        let begun = SessionLog::start(course, by, Some(RevisionId::new()), 1);
        put_session(&mut doc, &begun, 1).unwrap();
        let line = ProgramExerciseId::new();
        for (i, load) in [None, Some(2.5)].into_iter().enumerate() {
            let set = SetLog {
                reps: Some(8),
                duration_s: (i == 1).then_some(30),
                load_kg: load,
                at: 2 + i as i64,
            };
            log_set(&mut doc, begun.id, line, "sit", &set, 2).unwrap();
        }
        // A set as devices wrote sets before issue #13: a map of four fields.
        let mut tx = doc.transaction();
        let sessions = map_at(&tx, &ROOT, "sessions").unwrap();
        let s = map_at(&tx, &sessions, &begun.id.to_string()).unwrap();
        let exercises = map_at(&tx, &s, "exercises").unwrap();
        let ex = map_at(&tx, &exercises, &line.to_string()).unwrap();
        let sets = match tx.get(&ex, "sets").unwrap() {
            Some((automerge::Value::Object(ObjType::List), id)) => id,
            other => panic!("sets: {other:?}"),
        };
        let old = SetLog {
            reps: Some(6),
            duration_s: None,
            load_kg: Some(1.5),
            at: 1,
        };
        insert_set_as_map(&mut tx, &sets, 0, &old);
        tx.commit();
        let fb = ExerciseFeedback {
            outcome: ExerciseOutcome::Skipped,
            skip_reason: Some("træt".into()),
            borg: Some(3),
            pain: None,
            note: Some("ok".into()),
        };
        record_feedback(&mut doc, begun.id, line, "sit", &fb, 3).unwrap();
        start_who5(
            &mut doc,
            begun.id,
            AssessmentPhase::FollowUp,
            by,
            MeasuredAt::Clinic,
            4,
        )
        .unwrap();
        record_who5_answer(&mut doc, begun.id, 2, 5, 5).unwrap();
        finish_session(&mut doc, begun.id, Some(4), Some("godt humør"), 6).unwrap();
        let missed = SessionLog::start(course, by, None, 7)
            .not_carried_out(NotCarriedOutReason::NotAtHome, None);
        put_session(&mut doc, &missed, 7).unwrap();
        // A session as devices wrote it before `None` was no key: every `None` a null, one
        // exercise's feedback as five keys, another's as keys with a string given after.
        let nulls = SessionLog::start(course, by, None, 8);
        put_session(&mut doc, &nulls, 8).unwrap();
        let (plain, both) = (ProgramExerciseId::new(), ProgramExerciseId::new());
        for line in [plain, both] {
            log_set(
                &mut doc,
                nulls.id,
                line,
                "stand",
                &SetLog {
                    reps: Some(5),
                    duration_s: None,
                    load_kg: None,
                    at: 9,
                },
                9,
            )
            .unwrap();
        }
        let mut tx = doc.transaction();
        let s = map_at(&tx, &sessions, &nulls.id.to_string()).unwrap();
        for key in [
            "program_revision",
            "ended_at",
            "not_carried_out",
            "general_condition",
            "note",
            "who5",
        ] {
            tx.put(&s, key, automerge::ScalarValue::Null).unwrap();
        }
        let exercises = map_at(&tx, &s, "exercises").unwrap();
        for line in [plain, both] {
            let ex = map_at(&tx, &exercises, &line.to_string()).unwrap();
            put_feedback_as_keys(&mut tx, &ex, &fb);
        }
        tx.commit();
        let again = ExerciseFeedback {
            outcome: ExerciseOutcome::Done,
            skip_reason: None,
            borg: None,
            pain: Some(1),
            note: None,
        };
        record_feedback(&mut doc, nulls.id, both, "stand", &again, 10).unwrap();
        let read_nulls = read_session(&doc, &nulls.id.to_string()).unwrap().unwrap();
        assert_eq!(read_nulls.note, None);
        assert_eq!(
            read_nulls.exercises[&plain.to_string()].skip_reason,
            fb.skip_reason
        );
        let given_after = &read_nulls.exercises[&both.to_string()];
        assert_eq!(
            (given_after.outcome, given_after.borg, given_after.pain),
            (Some(ExerciseOutcome::Done), None, Some(1)),
            "the string, not the keys before it"
        );
        let sets: Vec<Option<u32>> = read_session(&doc, &begun.id.to_string())
            .unwrap()
            .unwrap()
            .exercises[&line.to_string()]
            .sets
            .iter()
            .map(|s| s.reps)
            .collect();
        assert_eq!(
            sets,
            [Some(6), Some(8), Some(8)],
            "the map's set and the strings'"
        );
        for id in [begun.id, missed.id, nulls.id] {
            let key = id.to_string();
            let at_once = read_session_at_once(&doc, &key).unwrap().unwrap();
            assert!(at_once.is_some(), "read in one pass");
            assert_eq!(at_once, read_session(&doc, &key).unwrap());
            assert_eq!(session_performer(&doc, &key).unwrap(), Some(by));
        }
        assert_eq!(read_session_at_once(&doc, "nobody").unwrap(), None);
        assert_eq!(session_performer(&doc, "nobody").unwrap(), None);
        // Borrowed from the document in one pass over the log: the same sessions.
        let node_of = |doc: &Automerge, key: &str| -> Option<SessionLog> {
            let nodes = one_pass::nodes_in_map(doc, &sessions_map(doc).unwrap()).unwrap();
            assert_eq!(nodes.len(), 3);
            let (_, node) = nodes.iter().find(|(k, _)| k == key).unwrap();
            session_from(node)
        };
        for id in [begun.id, missed.id, nulls.id] {
            let key = id.to_string();
            assert_eq!(node_of(&doc, &key), read_session(&doc, &key).unwrap());
        }
        // The whole log, as the read model reads it: what autosurgeon reads of it.
        assert_eq!(
            SessionLogDoc::read_sessions(&doc).unwrap(),
            SessionLogDoc::read(&doc).unwrap().sessions
        );
        // Written in a form autosurgeon refuses (a signed number for a `u8`): left to it.
        let mut tx = doc.transaction();
        let sessions = map_at(&tx, &ROOT, "sessions").unwrap();
        let s = map_at(&tx, &sessions, &begun.id.to_string()).unwrap();
        tx.put(&s, "general_condition", 4_i64).unwrap();
        tx.commit();
        let key = begun.id.to_string();
        assert_eq!(read_session_at_once(&doc, &key).unwrap(), Some(None));
        assert_eq!(node_of(&doc, &key), None);
        assert!(read_session(&doc, &key).is_err());
        // Its performer is still read from its one field.
        assert_eq!(session_performer(&doc, &key).unwrap(), Some(by));
        // A performer in another form is left to the whole session's read.
        let mut tx = doc.transaction();
        let sessions = map_at(&tx, &ROOT, "sessions").unwrap();
        let s = map_at(&tx, &sessions, &missed.id.to_string()).unwrap();
        tx.put(&s, "performed_by", by.to_string()).unwrap();
        tx.commit();
        let key = missed.id.to_string();
        assert_eq!(
            session_performer(&doc, &key).ok().flatten(),
            read_session(&doc, &key)
                .ok()
                .flatten()
                .map(|s| s.performed_by)
        );
        assert!(SessionLogDoc::read_sessions(&doc).is_err());
        assert!(SessionLogDoc::read(&doc).is_err());
    }

    #[test]
    fn logging_a_set_answers_the_sets_of_that_exercise_in_the_session() {
        let (mut doc, session) = log_with_a_session_begun();
        let (a, b) = (ProgramExerciseId::new(), ProgramExerciseId::new());
        let set = SetLog {
            reps: Some(5),
            duration_s: None,
            load_kg: None,
            at: 2,
        };
        assert_eq!(log_set(&mut doc, session.id, a, "x", &set, 2).unwrap(), 1);
        assert_eq!(log_set(&mut doc, session.id, a, "x", &set, 3).unwrap(), 2);
        assert_eq!(log_set(&mut doc, session.id, b, "y", &set, 4).unwrap(), 1);
        let other = SessionLog::start(session.course_id, UserId::new(), None, 5);
        put_session(&mut doc, &other, 5).unwrap();
        assert_eq!(log_set(&mut doc, other.id, a, "x", &set, 6).unwrap(), 1);
        let stored = read_session(&doc, &session.id.to_string())
            .unwrap()
            .unwrap();
        assert_eq!(stored.exercises[&a.to_string()].sets.len(), 2);
    }

    #[test]
    fn genesis_is_identical_on_every_device() {
        let h = Header::session_log(team(), CourseId(uuid::Uuid::from_u128(2)));
        let a = genesis(&h);
        let b = genesis(&h);
        assert_eq!(a.get_heads(), b.get_heads());
        assert_eq!(read_header(&a, h.id).unwrap(), h);
    }

    #[test]
    fn header_must_match_the_document_id() {
        let h = Header::session_log(team(), CourseId(uuid::Uuid::from_u128(2)));
        let doc = genesis(&h);
        assert!(matches!(
            read_header(&doc, DocumentId::new()),
            Err(SchemaError::Header("id"))
        ));
    }

    #[test]
    fn sessions_from_two_offline_devices_both_survive() {
        let course = CourseId(uuid::Uuid::from_u128(2));
        let h = Header::session_log(team(), course);
        let mut a = genesis(&h).with_actor(ActorId::random());
        let mut b = genesis(&h).with_actor(ActorId::random());
        for (doc, who) in [(&mut a, UserId::new()), (&mut b, UserId::new())] {
            let s = SessionLog::start(course, who, None, 1_000);
            put_session(doc, &s, 1_000).unwrap();
            let line = ProgramExerciseId::new();
            let set = SetLog {
                reps: Some(10),
                duration_s: None,
                load_kg: None,
                at: 1_100,
            };
            log_set(doc, s.id, line, "sit-to-stand", &set, 1_100).unwrap();
            log_set(doc, s.id, line, "sit-to-stand", &set, 1_200).unwrap();
        }
        a.merge(&mut b).unwrap();
        let log = SessionLogDoc::read(&a).unwrap();
        assert_eq!(log.sessions.len(), 2);
        assert!(log.sessions.values().all(|s| s.set_count() == 2));
    }

    #[test]
    fn concurrent_dosage_edits_are_reported_as_conflicts() {
        let course = CourseId::new();
        let h = Header::course(team(), course);
        let mut laptop = genesis(&h).with_actor(ActorId::random());
        let line = ProgramExercise::new("sit-to-stand", 1.0, Dosage::reps(3, 10));
        edit_program(
            &mut laptop,
            &[ProgramEdit::Upsert(line.clone())],
            UserId::new(),
            "ny",
            None,
            1,
        )
        .unwrap();
        assert!(program_conflicts(&laptop).unwrap().is_empty());
        let first = latest_revision_id(&laptop).unwrap();
        let mut colleague = laptop.fork().with_actor(ActorId::random());
        let mut a = line.clone();
        a.dosage.reps = Some(12);
        let mut b = line.clone();
        b.dosage.reps = Some(8);
        edit_program(
            &mut laptop,
            &[ProgramEdit::Upsert(a)],
            UserId::new(),
            "a",
            first,
            2,
        )
        .unwrap();
        edit_program(
            &mut colleague,
            &[ProgramEdit::Upsert(b)],
            UserId::new(),
            "b",
            first,
            2,
        )
        .unwrap();
        laptop.merge(&mut colleague).unwrap();
        let conflicts = program_conflicts(&laptop).unwrap();
        assert_eq!(conflicts.len(), 2, "{conflicts:?}");
        assert_eq!(conflicts[0].field, "revision");
        assert_eq!(conflicts[1].field, "reps");
        let mut values = conflicts[1].values.clone();
        values.sort();
        assert_eq!(values, vec!["12", "8"]);
    }

    /// Two therapists save at once, one raising the reps, the other the load: no field is in
    /// conflict, yet the program shown is neither save. Said as concurrent revisions until a
    /// save on the latest settles it.
    #[test]
    fn revisions_saved_at_once_are_a_conflict_until_the_next_save() {
        let course = CourseId::new();
        let h = Header::course(team(), course);
        let mut laptop = genesis(&h).with_actor(ActorId::random());
        let line = ProgramExercise::new("sit-to-stand", 1.0, Dosage::reps(3, 10));
        let upsert = |doc: &mut Automerge, l: &ProgramExercise, summary: &str, at| {
            let based_on = latest_revision_id(doc).unwrap();
            edit_program(
                doc,
                &[ProgramEdit::Upsert(l.clone())],
                UserId::new(),
                summary,
                based_on,
                at,
            )
            .unwrap();
        };
        upsert(&mut laptop, &line, "ny", 1);
        let mut colleague = laptop.fork().with_actor(ActorId::random());
        let mut more_reps = line.clone();
        more_reps.dosage.reps = Some(12);
        upsert(&mut laptop, &more_reps, "flere gentagelser", 2);
        let mut heavier = line.clone();
        heavier.dosage.load = Some("2 kg".into());
        upsert(&mut colleague, &heavier, "vægt på", 3);
        laptop.merge(&mut colleague).unwrap();
        let conflicts = program_conflicts(&laptop).unwrap();
        assert_eq!(conflicts.len(), 1, "{conflicts:?}");
        assert_eq!(
            (conflicts[0].field.as_str(), conflicts[0].values.clone()),
            (
                "revision",
                vec!["vægt på".to_string(), "flere gentagelser".into()]
            )
        );
        // The therapist looks and saves what should run: settled.
        let mut settled = line.clone();
        settled.dosage.reps = Some(12);
        settled.dosage.load = None;
        upsert(&mut laptop, &settled, "tjekket", 4);
        assert!(program_conflicts(&laptop).unwrap().is_empty());
    }

    #[test]
    fn a_revision_written_before_based_on_existed_reads_as_based_on_nothing() {
        /// A revision as the app wrote it before `based_on`.
        #[derive(Reconcile)]
        struct RevisionWithoutBasedOn {
            id: RevisionId,
            at: Millis,
            by: UserId,
            summary: String,
            exercises: Vec<ProgramExercise>,
        }
        let h = Header::course(team(), CourseId::new());
        let mut doc = genesis(&h).with_actor(ActorId::random());
        let old = RevisionWithoutBasedOn {
            id: RevisionId::new(),
            at: 1,
            by: UserId::new(),
            summary: "gammel".into(),
            exercises: vec![],
        };
        edit(&mut doc, 1, |tx| {
            let program = map_at(tx, &ROOT, "program")?;
            let revisions = map_at(tx, &program, "revisions")?;
            reconcile_prop(tx, &revisions, old.id.to_string().as_str(), &old)?;
            Ok(())
        })
        .unwrap();
        let revisions = map_at_doc(&doc, &["program", "revisions"]);
        let stored = map_at_doc_obj(&doc, &revisions, &old.id.to_string());
        assert!(ReadDoc::get(&doc, &stored, "based_on").unwrap().is_none());
        let program: ProgramDoc = hydrate_prop(&doc, ROOT, "program").unwrap();
        let read = program.latest_revision().expect("the old revision");
        assert_eq!((read.id, read.based_on), (old.id, None));
        // A new one records what it was based on, and reads back with it.
        let new = edit_program(&mut doc, &[], UserId::new(), "ny", Some(old.id), 2).unwrap();
        let program: ProgramDoc = hydrate_prop(&doc, ROOT, "program").unwrap();
        assert_eq!(program.revisions[&new.to_string()].based_on, Some(old.id));
        assert_eq!(latest_revision_id(&doc).unwrap(), Some(new));
    }

    /// A revision written on a device whose clock is behind the last revision's still comes
    /// after it: it is the latest, the one new sessions record and the next edit builds on.
    #[test]
    fn a_revision_written_with_a_clock_behind_is_still_the_latest() {
        let h = Header::course(team(), CourseId::new());
        let mut doc = genesis(&h).with_actor(ActorId::random());
        let first = edit_program(&mut doc, &[], UserId::new(), "1", None, 5_000).unwrap();
        let second = edit_program(&mut doc, &[], UserId::new(), "2", Some(first), 1_000).unwrap();
        assert_eq!(latest_revision_id(&doc).unwrap(), Some(second));
        let program: ProgramDoc = hydrate_prop(&doc, ROOT, "program").unwrap();
        let order: Vec<RevisionId> = program.revision_list().iter().map(|r| r.id).collect();
        assert_eq!(order, [first, second]);
        assert_eq!(program.revisions[&second.to_string()].at, 5_001);
        // A clock that is right is taken as it is.
        let third = edit_program(&mut doc, &[], UserId::new(), "3", Some(second), 9_000).unwrap();
        let program: ProgramDoc = hydrate_prop(&doc, ROOT, "program").unwrap();
        assert_eq!(program.revisions[&third.to_string()].at, 9_000);
    }

    fn map_at_doc(doc: &Automerge, path: &[&str]) -> ObjId {
        path.iter()
            .fold(ROOT, |obj, key| map_at_doc_obj(doc, &obj, key))
    }

    fn map_at_doc_obj(doc: &Automerge, obj: &ObjId, key: &str) -> ObjId {
        match ReadDoc::get(doc, obj, key).unwrap() {
            Some((automerge::Value::Object(ObjType::Map), id)) => id,
            other => panic!("{key}: {other:?}"),
        }
    }

    #[test]
    fn a_failed_edit_leaves_no_change() {
        let h = Header::session_log(team(), CourseId(uuid::Uuid::from_u128(2)));
        let mut doc = genesis(&h);
        let heads = doc.get_heads();
        let set = SetLog {
            reps: Some(1),
            duration_s: None,
            load_kg: None,
            at: 0,
        };
        assert!(log_set(
            &mut doc,
            SessionId::new(),
            ProgramExerciseId::new(),
            "x",
            &set,
            0
        )
        .is_err());
        assert_eq!(doc.get_heads(), heads);
    }

    fn a_course(id: CourseId) -> Course {
        Course {
            id,
            ..Course::new(CitizenId::new(), team(), UserId::new(), "2026-03-02", 1)
        }
    }

    /// Two therapists change a course's status at once, one pausing it, the other (offline)
    /// ending it early with a reason. Whichever status the merge keeps, the course reads (it
    /// was refused: the pause with the early end's reason, so the second change was refused
    /// for good), a leftover reason reads as none, and the next edit of the course is taken.
    #[test]
    fn a_pause_and_an_early_end_at_once_merge_into_a_course_that_reads_and_can_be_edited() {
        use crate::model::CourseStatus::*;
        let course_id = CourseId::new();
        let mut base = genesis(&Header::course(team(), course_id));
        let mut active = a_course(course_id);
        active.status = Active;
        put_course(&mut base, &active, 1).unwrap();
        for (pausing, ending) in [([0xffu8; 16], [0x01u8; 16]), ([0x01; 16], [0xff; 16])] {
            let mut a = base
                .fork()
                .with_actor(automerge::ActorId::from(pausing.as_slice()));
            let mut b = base
                .fork()
                .with_actor(automerge::ActorId::from(ending.as_slice()));
            let mut paused = CourseDoc::read(&a).unwrap().course.unwrap();
            paused.change_status(Paused, None, None).unwrap();
            put_course(&mut a, &paused, 2).unwrap();
            let mut ended = CourseDoc::read(&b).unwrap().course.unwrap();
            ended
                .change_status(EndedEarly, Some("Indlagt".into()), Some("hospitalised"))
                .unwrap();
            put_course(&mut b, &ended, 2).unwrap();
            a.merge(&mut b).unwrap();
            let merged = CourseDoc::read(&a)
                .expect("the merge reads")
                .course
                .unwrap();
            assert!(matches!(merged.status, Paused | EndedEarly));
            if merged.status != EndedEarly {
                assert_eq!(merged.end_reason, None, "a leftover reason reads as none");
            }
            let mut edited = merged.clone();
            edited.goals = vec!["Gå til købmanden".into()];
            put_course(&mut a, &edited, 3).expect("the next edit is taken");
            assert_eq!(
                CourseDoc::read(&a).unwrap().course.unwrap().goals,
                edited.goals
            );
        }
    }

    #[test]
    fn documents_written_before_issue_11_still_load_with_defaults() {
        // A roster whose citizen was written by an older app: no birth year, sex, or grants.
        let mut roster = genesis(&Header::roster(team()));
        let id = CitizenId::new();
        edit(&mut roster, 1, |tx| {
            let citizens = map_at(tx, &ROOT, "citizens")?;
            let c = tx.put_object(&citizens, id.to_string().as_str(), ObjType::Map)?;
            reconcile_prop(tx, &c, "id", id)?;
            tx.put(&c, "name", "Bodil")?;
            tx.put(&c, "local_ref", "SAG-1")?;
            tx.put(&c, "address", automerge::ScalarValue::Null)?;
            tx.put_object(&c, "assigned", ObjType::Map)?;
            tx.put(&c, "active", true)?;
            Ok(())
        })
        .unwrap();
        let r = RosterDoc::read(&roster).unwrap();
        let c = &r.citizens[&id.to_string()];
        assert_eq!((c.birth_year, c.sex), (None, None));
        assert!(r.care_grants.is_empty());

        let course_id = CourseId::new();
        let mut course_doc = genesis(&Header::course(team(), course_id));
        put_course(&mut course_doc, &a_course(course_id), 1).unwrap();
        let c = CourseDoc::read(&course_doc).unwrap();
        assert_eq!(c.test_plan, None);
        assert_eq!(c.test_plan(), TestPlan::default_plan());
        assert!(c.goal_attainment.is_empty());

        // A course ended early by an app from before its reason was coded: only the words.
        let mut ended = a_course(course_id);
        ended.status = crate::model::CourseStatus::EndedEarly;
        ended.status_reason = Some("Borgeren flyttede".into());
        edit(&mut course_doc, 2, |tx| {
            reconcile_prop(tx, ROOT, "course", &ended)?;
            let c = map_at(tx, &ROOT, "course")?;
            tx.delete(&c, "end_reason")?;
            Ok(())
        })
        .unwrap();
        let c = CourseDoc::read(&course_doc).unwrap().course.unwrap();
        assert_eq!(c.end_reason, None);
        assert_eq!(c.status_reason.as_deref(), Some("Borgeren flyttede"));

        // A session written without `who5`.
        let mut log = genesis(&Header::session_log(team(), course_id));
        let session = SessionLog::start(course_id, UserId::new(), None, 1);
        edit(&mut log, 1, |tx| {
            let sessions = map_at(tx, &ROOT, "sessions")?;
            reconcile_prop(tx, &sessions, session.id.to_string().as_str(), &session)?;
            let s = map_at(tx, &sessions, &session.id.to_string())?;
            tx.delete(&s, "who5")?;
            Ok(())
        })
        .unwrap();
        let read = read_session(&log, &session.id.to_string())
            .unwrap()
            .unwrap();
        assert_eq!(read.who5, None);
    }

    #[test]
    fn birth_year_sex_plan_goals_and_grants_round_trip_and_are_checked() {
        // Devices write under their own actor; the document's own actor writes only its genesis
        // and its containers change.
        let mut roster = genesis(&Header::roster(team())).with_actor(ActorId::random());
        let mut citizen = Citizen {
            id: CitizenId::new(),
            name: "Bodil".into(),
            local_ref: "SAG-1".into(),
            address: None,
            assigned: BTreeMap::new(),
            active: true,
            birth_year: Some(1948),
            sex: Some(crate::effect::change::Sex::Female),
        };
        put_citizen(&mut roster, &citizen, 1).unwrap();
        citizen.birth_year = Some(1850);
        assert!(put_citizen(&mut roster, &citizen, 2).is_err());
        let read = RosterDoc::read(&roster).unwrap();
        assert_eq!(
            read.citizens[&citizen.id.to_string()].birth_year,
            Some(1948)
        );

        let grant = CareGrantRecord {
            citizen_id: citizen.id,
            effective: "2026-01-05".into(),
            minutes_per_week: 420,
            service_code: Some("1.1".into()),
            recorded_by: UserId::new(),
            recorded_at: 3,
        };
        put_care_grant(&mut roster, &grant, 3).unwrap();
        // The same grant again replaces, never doubles.
        put_care_grant(&mut roster, &grant, 4).unwrap();
        let bad = CareGrantRecord {
            minutes_per_week: MAX_CARE_MINUTES_PER_WEEK + 1,
            ..grant.clone()
        };
        assert!(put_care_grant(&mut roster, &bad, 5).is_err());
        let bad_date = CareGrantRecord {
            effective: "5. januar".into(),
            ..grant.clone()
        };
        assert!(put_care_grant(&mut roster, &bad_date, 5).is_err());
        let read = RosterDoc::read(&roster).unwrap();
        assert_eq!(read.care_grants.len(), 1);
        assert_eq!(
            read.care_grants[&grant.key()]
                .grant()
                .unwrap()
                .minutes_per_week,
            420
        );

        // Two devices import offline; one file repeats the entered grant with other minutes,
        // recorded later: after the merge both read the same grants, the later one winning.
        let mut other = roster.fork().with_actor(ActorId::random());
        let later = CareGrantRecord {
            minutes_per_week: 300,
            recorded_at: 10,
            ..grant.clone()
        };
        let more = CareGrantRecord {
            effective: "2026-06-01".into(),
            recorded_at: 10,
            ..grant.clone()
        };
        let import = CareGrantImport::of(&[later.clone(), more.clone()]).unwrap();
        put_care_grant_import(&mut other, "import-1", &import, 10).unwrap();
        let older = CareGrantRecord {
            minutes_per_week: 999,
            recorded_at: 2,
            ..grant.clone()
        };
        let stale = CareGrantImport::of(std::slice::from_ref(&older)).unwrap();
        put_care_grant_import(&mut roster, "import-2", &stale, 2).unwrap();
        // Mixed recordings or no grants are not an import; a bad grant stores nothing.
        assert!(CareGrantImport::of(&[later.clone(), grant.clone()]).is_none());
        assert!(CareGrantImport::of(&[]).is_none());
        let bad_import = CareGrantImport::of(&[CareGrantRecord {
            effective: "2026-13-01".into(),
            ..later.clone()
        }])
        .unwrap();
        assert!(put_care_grant_import(&mut roster, "import-3", &bad_import, 11).is_err());
        roster.merge(&mut other).unwrap();
        other.merge(&mut roster).unwrap();
        for doc in [&roster, &other] {
            let all = RosterDoc::read(doc).unwrap().all_care_grants();
            assert_eq!(all.len(), 2, "{all:?}");
            assert_eq!(all[&grant.key()], later);
            assert_eq!(all[&more.key()], more);
        }
        assert_eq!(
            latest_care_grants([later.clone(), grant.clone(), older.clone()])[&grant.key()],
            later
        );

        let course_id = CourseId::new();
        let mut course = genesis(&Header::course(team(), course_id)).with_actor(ActorId::random());
        put_course(&mut course, &a_course(course_id), 1).unwrap();
        let mut plan = TestPlan::default_plan();
        plan.mid = vec!["timed_up_and_go".into()];
        set_test_plan(&mut course, &plan, 1).unwrap();
        plan.end.push("no_such_test".into());
        assert!(set_test_plan(&mut course, &plan, 2).is_err());
        assert_eq!(
            CourseDoc::read(&course).unwrap().test_plan().mid,
            ["timed_up_and_go"]
        );
    }

    #[test]
    fn goals_rated_on_two_devices_both_survive() {
        use crate::effect::goals::Attainment;
        let course_id = CourseId::new();
        let h = Header::course(team(), course_id);
        let mut laptop = genesis(&h).with_actor(ActorId::random());
        put_course(&mut laptop, &a_course(course_id), 1).unwrap();
        // The devices part before either rated a goal: both create the map, and both must
        // land in the same one.
        let mut colleague = laptop.fork().with_actor(ActorId::random());
        let first = GoalFollowUp {
            goal: "Gå til købmanden".into(),
            attainment: Some(Attainment::Achieved),
            note: None,
        };
        set_goal_attainment(&mut laptop, &first, 1).unwrap();
        let second = GoalFollowUp {
            goal: "Gå på trapper".into(),
            attainment: Some(Attainment::PartlyAchieved),
            note: Some("med gelænder".into()),
        };
        let changed_first = GoalFollowUp {
            attainment: Some(Attainment::PartlyAchieved),
            ..first.clone()
        };
        set_goal_attainment(&mut laptop, &changed_first, 2).unwrap();
        set_goal_attainment(&mut colleague, &second, 2).unwrap();
        laptop.merge(&mut colleague).unwrap();
        let read = CourseDoc::read(&laptop).unwrap();
        assert_eq!(read.goal_attainment.len(), 2);
        assert_eq!(read.goal_attainment["Gå til købmanden"], changed_first);
        assert_eq!(read.goal_attainment["Gå på trapper"], second);
    }

    #[test]
    fn who5_answers_are_saved_one_tap_at_a_time() {
        use crate::effect::who5::Who5Score;
        let course = CourseId::new();
        let mut log = genesis(&Header::session_log(team(), course));
        let by = UserId::new();
        let session = SessionLog::start(course, by, None, 1);
        put_session(&mut log, &session, 1).unwrap();
        assert!(record_who5_answer(&mut log, session.id, 0, 3, 2).is_err());
        start_who5(
            &mut log,
            session.id,
            AssessmentPhase::Start,
            by,
            MeasuredAt::Home,
            2,
        )
        .unwrap();
        let heads = log.get_heads();
        let a = record_who5_answer(&mut log, session.id, 0, 3, 3).unwrap();
        assert_eq!(
            a.score(),
            Who5Score::Incomplete {
                missing: vec![1, 2, 3, 4]
            }
        );
        assert_eq!(log.get_changes(&heads).len(), 1, "one tap, one change");
        assert!(record_who5_answer(&mut log, session.id, 5, 3, 4).is_err());
        assert!(record_who5_answer(&mut log, session.id, 1, 6, 4).is_err());
        for (item, answer) in [(1, 2), (2, 4), (3, 1), (4, 3), (0, 3)] {
            record_who5_answer(&mut log, session.id, item, answer, 5).unwrap();
        }
        // Starting again (e.g. after a crash) keeps the answers.
        start_who5(
            &mut log,
            session.id,
            AssessmentPhase::Start,
            by,
            MeasuredAt::Home,
            6,
        )
        .unwrap();
        let s = read_session(&log, &session.id.to_string())
            .unwrap()
            .unwrap();
        let w = s.who5.unwrap();
        assert_eq!(
            w.answers().score(),
            Who5Score::Complete {
                raw: 13,
                percent: 52
            }
        );
        assert_eq!(
            (w.by, w.place, w.phase),
            (by, MeasuredAt::Home, AssessmentPhase::Start)
        );
        assert!(SessionLogDoc::read(&log).is_ok());
    }

    /// Documents written before #11's delegation read: a result without `place` (unknown), a
    /// plan without `delegated` (nothing delegated), a municipal template without a plan.
    #[test]
    fn results_plans_and_templates_from_older_apps_still_read() {
        use automerge::transaction::Transactable;
        let header = Header::course(team(), CourseId::new());
        let mut course = genesis(&header).with_actor(ActorId::random());
        let record = Course {
            id: header.course_id.unwrap(),
            ..Course::new(
                CitizenId::new(),
                header.team_id,
                UserId::new(),
                "2026-03-02",
                1,
            )
        };
        put_course(&mut course, &record, 1).unwrap();
        let a = Assessment {
            id: AssessmentId::new(),
            kind: "chair_stand_30s".into(),
            value: 10.0,
            unit: "reps".into(),
            date: "2026-03-03".into(),
            phase: AssessmentPhase::Start,
            by: UserId::new(),
            note: None,
            place: Some(MeasuredAt::Home),
        };
        put_assessment(&mut course, &a, 1).unwrap();
        let mut plan = TestPlan::default_plan();
        plan.delegated = vec!["chair_stand_30s".into()];
        set_test_plan(&mut course, &plan, 2).unwrap();
        // What an older app wrote: the same without the new keys.
        let mut tx = course.transaction();
        let results = map_at(&tx, &ROOT, "assessments").unwrap();
        let stored = map_at(&tx, &results, &a.id.to_string()).unwrap();
        tx.delete(&stored, "place").unwrap();
        tx.commit();
        let read = CourseDoc::read(&course).unwrap();
        let mut tx = course.transaction();
        let stored_plan = map_at(&tx, &ROOT, "test_plan").unwrap();
        tx.delete(&stored_plan, "delegated").unwrap();
        tx.commit();
        assert_eq!(read.assessments[&a.id.to_string()].place, None);
        assert_eq!(read.test_plan().delegated, ["chair_stand_30s"]);
        let read = CourseDoc::read(&course).unwrap();
        assert_eq!(read.test_plan(), TestPlan::default_plan());

        let mut library =
            genesis(&Header::library(MunicipalityId::new())).with_actor(ActorId::random());
        let template: crate::municipal::LocalTemplate = serde_json::from_value(serde_json::json!({
            "id": "m-styrke", "version": 1, "retired": false, "legal_basis": "SEL §86",
            "weeks": 8, "sessions_per_week": 2, "minutes_per_session": 20,
            "text": {"da": {"title": "Styrke", "description": "Til hjemmet", "goals": []}},
            "exercises": [{"exercise": "sit-to-stand", "dosage": null, "note": null}],
            "updated_by": UserId::new(), "updated_at": 1
        }))
        .unwrap();
        assert_eq!(
            template.test_plan, None,
            "serde reads an older template without a plan"
        );
        let mut tx = library.transaction();
        let templates = map_at(&tx, &ROOT, "templates").unwrap();
        reconcile_prop(&mut tx, &templates, "m-styrke", &template).unwrap();
        let stored = map_at(&tx, &templates, "m-styrke").unwrap();
        tx.delete(&stored, "test_plan").unwrap();
        tx.commit();
        let read = crate::municipal::LibraryDoc::read(&library).unwrap();
        assert_eq!(read.templates["m-styrke"].test_plan, None);
    }
}
