//! What the rest of the server sees of storage: the [`Store`] trait and the records it takes
//! and gives. Apart from `store.rs` so that the implementation ([`super::sqlite`]) depends on
//! it without `store.rs` and `sqlite.rs` depending on each other.

use crate::config::QuarantineLimits;
use crate::error::Result;
use automerge::{ActorId, Automerge};
use homerehab_shared::audit::{AuditRecord, ChainedEntry, UnreadableEntry};
use homerehab_shared::auth::Principal;
use homerehab_shared::docs::Header;
use homerehab_shared::effect::settings::StoredSettings;
use homerehab_shared::evidence::funnel::ReferralFacts;
use homerehab_shared::evidence::report::{CourseFacts, EvidenceSettings};
use homerehab_shared::evidence::staff::StaffMember;
use homerehab_shared::evidence::targets::Period;
use homerehab_shared::export::{Cell, ExportTable};
use homerehab_shared::ids::{CitizenId, DeviceId, DocumentId, MunicipalityId, TeamId, UserId};
use homerehab_shared::model::{Millis, Role, User};
use homerehab_shared::read_model::{rows_after, DocumentRows, Projected, SessionsWritten};
use homerehab_shared::retention::{CitizenFacts, Erasure, RetentionSettings};
use homerehab_shared::sync::wire::from_hashes;
use homerehab_shared::sync::{Hash, Quarantine, SavedDocument};
use std::collections::HashSet;
use std::sync::Arc;

/// A user to create. `password_hash` is an argon2 PHC string (see [`crate::auth::Passwords`]).
#[derive(Clone)]
pub struct NewUser {
    pub username: String,
    pub display_name: String,
    pub password_hash: String,
    pub role: Role,
    pub team_id: TeamId,
    pub granted_teams: Vec<TeamId>,
}

/// A user as stored: the domain user plus the password hash that never leaves the server.
#[derive(Clone)]
pub struct UserRecord {
    pub user: User,
    pub password_hash: String,
}

// By hand so the password hash never reaches a log line.
impl std::fmt::Debug for UserRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UserRecord")
            .field("user", &self.user)
            .finish_non_exhaustive()
    }
}

impl UserRecord {
    pub fn principal(&self) -> Principal {
        Principal::from(&self.user)
    }
}

/// How a document is laid out on disk; for tests and diagnostics.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DocumentFootprint {
    pub snapshot_bytes: usize,
    pub incremental_bytes: usize,
    pub chunks: usize,
}

/// Everything the server keeps: the sum of one trait per aggregate, so a backend is written
/// (and reviewed) in parts. Methods take `&self`: implementations synchronise inside (a
/// connection mutex for SQLite, a pool for a server database). All methods block.
pub trait Store:
    AccountStore
    + DocumentStore
    + MediaStore
    + ReadModelStore
    + EvidenceStore
    + DeviceRegistry
    + AuditStore
    + ErasureStore
    + Send
    + Sync
    + 'static
{
    /// Whether the database answers.
    fn ping(&self) -> Result<()>;

    /// A sync's admitted documents and the audit records of the answer that leaves after them
    /// (`sent`): returns once both are committed. By default the documents' transaction, then
    /// the records'; a backend may take both in one (SQLite's group commit does: one commit
    /// per sync, not two). Nothing is appended when the documents fail.
    fn commit_sync(&self, batch: &[DocumentCommit<'_>], sent: &[AuditRecord]) -> Result<()> {
        if !batch.is_empty() {
            self.commit_documents(batch)?;
        }
        self.append_audit(sent)?;
        Ok(())
    }

    /// [`AuditStore::citizen_home`] as of what is stored: the look-up goes through the read
    /// model, which lags the documents by a projector's round, so a citizen synced a moment
    /// ago is looked for again once the read model [caught up](ReadModelStore::catch_up).
    fn citizen_home_now(&self, citizen: CitizenId) -> Result<Option<(TeamId, MunicipalityId)>> {
        match self.citizen_home(citizen)? {
            Some(home) => Ok(Some(home)),
            None => {
                self.catch_up()?;
                self.citizen_home(citizen)
            }
        }
    }
}

/// Municipalities, teams, users, their devices' actor ids and sign-in tokens.
pub trait AccountStore {
    fn ensure_municipality(&self, name: &str) -> Result<MunicipalityId>;
    /// The team of that name in the municipality, created if absent.
    fn ensure_team(&self, municipality: MunicipalityId, name: &str) -> Result<TeamId>;
    /// A team by id or by (unique) name.
    fn find_team(&self, id_or_name: &str) -> Result<Option<TeamId>>;
    /// A team's name and members (its own users and those granted it), so devices can name
    /// colleagues offline.
    fn team_info(&self, team: TeamId) -> Result<Option<homerehab_shared::api::TeamInfo>>;

    /// Fails with [`crate::Error::AlreadyExists`] when the username is taken.
    fn create_user(&self, user: &NewUser) -> Result<UserId>;
    fn user_by_username(&self, username: &str) -> Result<Option<UserRecord>>;
    /// Records the ISO date `username` was trained in the app; false for no such user.
    fn record_training(&self, username: &str, on: &str) -> Result<bool>;
    fn trained_on(&self, user: UserId) -> Result<Option<String>>;

    /// Binds a device's Automerge actor id to `user`; idempotent for the same user, refused
    /// with [`crate::Error::ActorTaken`] when another user holds it and with
    /// [`crate::Error::ActorReserved`] for the server's actor or a document's genesis actor.
    fn register_actor(&self, user: UserId, actor: &ActorId) -> Result<()>;
    fn actors_of(&self, user: UserId) -> Result<HashSet<ActorId>>;

    /// Stores a session token (by its SHA-256 only) and drops expired ones.
    fn insert_token(
        &self,
        token_hash: &[u8; 32],
        user: UserId,
        expires_at: Millis,
        now: Millis,
    ) -> Result<()>;
    /// The user holding a token and the token's expiry, expired or not.
    fn user_by_token(&self, token_hash: &[u8; 32]) -> Result<Option<(UserRecord, Millis)>>;
    fn delete_token(&self, token_hash: &[u8; 32]) -> Result<()>;

    /// Counts a sign-in attempt under `name_key` (a digest of the normalised username, never
    /// the name) for every server sharing this database: `Ok(())` counted, `Err(until)`
    /// refused until then, as `max` attempts were counted within `window_ms` of the first.
    /// Counts whose window has passed are swept.
    fn count_sign_in(
        &self,
        name_key: &[u8; 16],
        now: Millis,
        window_ms: Millis,
        max: u32,
    ) -> Result<std::result::Result<(), Millis>>;
    /// A right password: the username's count starts again.
    fn clear_sign_ins(&self, name_key: &[u8; 16]) -> Result<()>;

    /// Every municipality, by name.
    fn municipalities(&self) -> Result<Vec<(MunicipalityId, String)>>;
    /// Every team with its municipality.
    fn teams(&self) -> Result<Vec<TeamRecord>>;
}

/// A stored document as a sync first sees it ([`DocumentStore::visible_documents`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VisibleDocument {
    pub header: Header,
    pub heads: Vec<Hash>,
    /// How often it was rewritten by an erasure (issue #14); 0: never.
    pub generation: u32,
}

/// The documents (snapshot plus incremental chunks, compacted by
/// `homerehab_shared::sync::compaction`) and the quarantine of refused changes.
pub trait DocumentStore {
    /// What a sync compares a device's heads against, in one read (one snapshot, one round
    /// trip): every document of these teams and those of `wider` that are stored (a
    /// municipality's library), each with its stored heads and generation, without loading
    /// any.
    fn visible_documents(
        &self,
        teams: &[TeamId],
        wider: &[DocumentId],
    ) -> Result<Vec<VisibleDocument>>;
    /// Header and stored heads of every document of these teams, without loading any.
    fn document_heads(&self, teams: &[TeamId]) -> Result<Vec<(Header, Vec<Hash>)>>;
    /// Header and stored heads of these documents (those stored), without loading any: the
    /// documents wider than a team, like a municipality's library.
    fn document_heads_by_id(&self, ids: &[DocumentId]) -> Result<Vec<(Header, Vec<Hash>)>>;
    fn document_header(&self, id: DocumentId) -> Result<Option<Header>>;
    /// The stored heads of one document: the base for committing a change to it made outside a
    /// sync (seeding, tests).
    fn stored_heads(&self, id: DocumentId) -> Result<Option<Vec<Hash>>> {
        Ok(self
            .document_heads_by_id(&[id])?
            .pop()
            .map(|(_, heads)| heads))
    }
    /// Snapshot plus incremental chunks, loaded into one document.
    fn load_document(&self, id: DocumentId) -> Result<Option<Automerge>>;
    /// The stored heads and the stored bytes as one buffer that `load_incremental` reads (the
    /// snapshot, then every chunk), read together: what a device lacking the document is sent.
    /// This default decodes and saves; a backend returns its bytes as they are.
    fn saved_document(&self, id: DocumentId) -> Result<Option<SavedDocument>> {
        Ok(self.load_document(id)?.map(|doc| {
            let heads = doc.get_heads().iter().map(|h| h.0).collect();
            (heads, doc.save())
        }))
    }
    /// Durably stores `doc` (new, or an existing one grown by `new_changes`), compacting when
    /// the chunks outweigh the snapshot, if the stored heads are still `base` (see
    /// [`DocumentCommit::base`]; [`crate::Error::DocumentMoved`] otherwise). Returns only after
    /// the data is committed.
    fn commit_document(
        &self,
        header: &Header,
        base: &[Hash],
        doc: &Automerge,
        new_changes: &[u8],
    ) -> Result<()> {
        self.commit_documents(&[DocumentCommit {
            header,
            base,
            doc,
            new_changes,
            whole: false,
        }])
    }
    /// Like [`Store::commit_document`] for several documents, in one transaction: all stored,
    /// or none (one moved document rolls back the batch).
    fn commit_documents(&self, batch: &[DocumentCommit<'_>]) -> Result<()>;
    fn document_footprint(&self, id: DocumentId) -> Result<Option<DocumentFootprint>>;
    /// Keeps refused changes (once per document, user and bytes) unless that would take the
    /// user's or the document's quarantine past `limits`. Keeps nothing and answers
    /// [`crate::Error::DocumentMoved`] when the document was erased or is no longer at
    /// `generation` (what the sync read; 0 for a document not stored): an erasure that
    /// committed meanwhile dropped its quarantine, and these bytes may carry what it erased.
    fn quarantine(
        &self,
        doc: DocumentId,
        generation: u32,
        user: UserId,
        bytes: &[u8],
        reason: &str,
        limits: &QuarantineLimits,
    ) -> Result<Quarantine>;
    /// Number of quarantined change sets of a document.
    fn quarantined(&self, doc: DocumentId) -> Result<usize>;
    /// What is in quarantine (without the bytes), newest first.
    fn quarantine_list(&self, scope: &QuarantineScope) -> Result<Vec<QuarantineEntry>>;
    /// Deletes what `scope` selects (everything when it selects nothing); returns how many.
    fn quarantine_purge(&self, scope: &QuarantineScope) -> Result<usize>;
}

/// Which municipality holds which photo or video (the bytes are files, see `crate::media`).
pub trait MediaStore {
    /// Records that a municipality holds a photo or video (idempotent).
    fn record_media(&self, media: &MediaRecord) -> Result<()>;
    /// The media record, if this municipality uploaded these bytes and its library has not
    /// withdrawn them (as of the last library commit): the only way to reach a media file.
    fn media_of(&self, sha256: &str, municipality: MunicipalityId) -> Result<Option<MediaRecord>>;
    /// The bytes of every photo and video the municipality uploaded but `sha256`'s (the file
    /// about to come, which is no growth if it holds it already), withdrawn ones included:
    /// the files stay on disk, so withdrawing and uploading again must not pass the quota.
    fn media_bytes_besides(&self, municipality: MunicipalityId, sha256: &str) -> Result<u64>;
}

/// One document of a projection round: the version it was derived at and its rows (`Err`:
/// why none can be derived; the id only is logged, the reason may quote document content).
#[derive(Clone, Debug)]
pub struct Projection {
    pub doc: DocumentId,
    pub version: i64,
    pub rows: std::result::Result<DocumentRows, String>,
}

/// Rounds [`ReadModelStore::catch_up`] projects at most: a request waits for a lag of seconds,
/// not for a rebuild.
pub const CATCH_UP_ROUNDS: usize = 8;

/// What a projector remembers of the documents it projected ([`Projected`]), most recently
/// used kept within a memory budget. What it holds is true of the document at the heads it
/// names whoever settled the rows since (another server, a `reproject`): it is never a copy of
/// the tables.
pub struct ProjectionMemo {
    kept: lru::LruCache<DocumentId, Projected>,
    used: usize,
    budget: usize,
    /// Where documents this process loaded already are found (the syncs' cache).
    loaded: Option<Arc<dyn LoadedDocuments>>,
    /// Projections answered from what the syncs' admission read, without reading the document.
    unread: u64,
}

/// Documents this process holds loaded: a projection reads a document a sync just committed
/// without decoding it again from the store.
pub trait LoadedDocuments: Send + Sync {
    /// The loaded copy of `id` if its heads are `heads` (the stored ones): the same heads are
    /// the same document, so rows derived from it are the stored document's.
    fn loaded(&self, id: DocumentId, heads: &[Hash]) -> Option<Arc<Automerge>>;
    /// What admission read of a session log's sessions as this process's syncs committed them
    /// since the last call for `id` (taken, not copied): a projection remembered where it
    /// starts needs no read of the log.
    fn sessions_written(&self, id: DocumentId) -> Option<SessionsWritten> {
        let _ = id;
        None
    }
}

impl ProjectionMemo {
    /// A memo of about `budget_bytes` (0: remembers nothing).
    pub fn new(budget_bytes: usize) -> Self {
        ProjectionMemo {
            kept: lru::LruCache::unbounded(),
            used: 0,
            budget: budget_bytes,
            loaded: None,
            unread: 0,
        }
    }

    /// Also reads documents from `loaded` when they are the stored ones.
    pub fn reading_from(mut self, loaded: Arc<dyn LoadedDocuments>) -> Self {
        self.loaded = Some(loaded);
        self
    }

    /// Estimated bytes kept.
    pub fn used_bytes(&self) -> usize {
        self.used
    }

    /// How many projections were answered without reading their document (see
    /// [`LoadedDocuments::sessions_written`]).
    pub fn unread(&self) -> u64 {
        self.unread
    }

    fn take(&mut self, id: DocumentId) -> Option<Projected> {
        let kept = self.kept.pop(&id)?;
        self.used -= kept.weight();
        Some(kept)
    }

    fn keep(&mut self, id: DocumentId, projected: Projected) {
        let weight = projected.weight();
        if weight > self.budget || !projected.reads_less() {
            return;
        }
        if let Some(old) = self.kept.put(id, projected) {
            self.used -= old.weight();
        }
        self.used += weight;
        while self.used > self.budget {
            match self.kept.pop_lru() {
                Some((_, p)) => self.used -= p.weight(),
                None => break,
            }
        }
    }
}

/// The read model (`homerehab_shared::read_model`), kept caught up off the sync's path.
///
/// A backend writes the first part (its tables); projecting, rebuilding and checking are
/// written once, below, over it and [`DocumentStore`].
pub trait ReadModelStore: DocumentStore {
    /// Up to `limit` documents changed since their last projection, each with its version.
    fn pending_projections(&self, limit: usize) -> Result<Vec<(DocumentId, i64)>>;
    /// How many documents wait for projection.
    fn pending_projection_count(&self) -> Result<u64>;
    /// Writes a round in one transaction, in the order given: each document still at the
    /// version it was derived at gets its rows in place of its old ones (or is set aside with
    /// its error). Answers, per document, whether it was settled; one that changed meanwhile
    /// stays pending.
    fn settle_projections(&self, round: &[Projection]) -> Result<Vec<bool>>;
    /// Empties the read model and marks every stored document pending.
    fn reset_read_model(&self) -> Result<()>;
    /// Marks pending again every roster with a grant row that does not say when it was
    /// recorded: a server of the release before, still running during a rolling upgrade,
    /// projects them so. Each starting projector asks (a full read of the grant rows, once).
    /// Answers how many.
    fn remark_grants_without_day(&self) -> Result<u64>;
    /// Every document the read model knows, and whether it waits for projection.
    fn read_model_documents(&self) -> Result<Vec<(DocumentId, bool)>>;
    /// How many documents are set aside because their rows cannot be derived.
    fn projection_failure_count(&self) -> Result<u64>;
    /// The rows stored for a document, sorted.
    fn stored_rows(&self, doc: DocumentId) -> Result<DocumentRows>;

    /// The rows a stored document contributes now (`Err`: why they cannot be derived; a
    /// document that is gone contributes none).
    fn derive_rows(&self, id: DocumentId) -> Result<std::result::Result<DocumentRows, String>> {
        self.derive_rows_after(id, &mut ProjectionMemo::new(0))
    }

    /// [`ReadModelStore::derive_rows`], from what `memo` kept of the document's last projection
    /// (a session log re-reads only the sessions written since), keeping this one's.
    fn derive_rows_after(
        &self,
        id: DocumentId,
        memo: &mut ProjectionMemo,
    ) -> Result<std::result::Result<DocumentRows, String>> {
        let mut before = memo.take(id);
        let Some((header, heads)) = self.document_heads_by_id(&[id])?.pop() else {
            return Ok(Ok(DocumentRows::default()));
        };
        let change_heads = from_hashes(&heads);
        // What this server's syncs read of the log up to the stored heads, if it starts where
        // the last projection ended (or at a new log): then the log is not read at all.
        let written = memo.loaded.as_ref().and_then(|l| l.sessions_written(id));
        if let Some(written) = written.filter(|w| w.reaches(&change_heads)) {
            if written.follows(before.as_ref()) {
                before = written.after(before);
            }
        }
        if let Some(rows) = before.as_ref().and_then(|b| b.rows_at(&change_heads)) {
            memo.unread += 1;
            memo.keep(id, before.expect("rows came from it"));
            return Ok(Ok(rows));
        }
        // The copy a sync of this server holds, if it is the stored document (same heads);
        // else the store's, decoded.
        let loaded = match memo.loaded.as_ref().and_then(|l| l.loaded(id, &heads)) {
            Some(doc) => Ok(Some(doc)),
            None => self.load_document(id).map(|doc| doc.map(Arc::new)),
        };
        Ok(match loaded {
            Ok(Some(doc)) => match rows_after(&header, &doc, before) {
                Ok((rows, projected)) => {
                    memo.keep(id, projected);
                    Ok(rows)
                }
                Err(e) => Err(e.to_string()),
            },
            Ok(None) => Ok(DocumentRows::default()),
            Err(e @ crate::Error::CorruptDocument(..)) => Err(e.to_string()),
            Err(e) => return Err(e),
        })
    }

    /// Projects whatever waits (in rounds, at most [`CATCH_UP_ROUNDS`]), so a look-up that
    /// the projector's lag would miss — a citizen synced a moment ago — reads what was stored.
    fn catch_up(&self) -> Result<()> {
        for _ in 0..CATCH_UP_ROUNDS {
            if self.project_pending(256)?.pending == 0 {
                break;
            }
        }
        Ok(())
    }

    /// Projects up to `limit` of the documents changed since their last projection into the
    /// read model, outside any sync's transaction.
    fn project_pending(&self, limit: usize) -> Result<ProjectionRound> {
        self.project_pending_after(limit, &mut ProjectionMemo::new(0))
    }

    /// [`ReadModelStore::project_pending`] with the memory of earlier rounds' projections that
    /// a running server's projector keeps.
    fn project_pending_after(
        &self,
        limit: usize,
        memo: &mut ProjectionMemo,
    ) -> Result<ProjectionRound> {
        // Derived before the round's transaction: loading and reading the documents is the
        // slow part.
        let mut round = Vec::new();
        for (doc, version) in self.pending_projections(limit)? {
            let rows = self.derive_rows_after(doc, memo)?;
            round.push(Projection { doc, version, rows });
        }
        // Written in the order of the documents' ids, as every projector writes them: two
        // rounds over the same documents (two servers, or `reproject` beside a running
        // server) wait for each other instead of deadlocking.
        round.sort_by_key(|p| p.doc.0);
        // One transaction for the round: one wait for the disk, not one per document (a
        // server catching up on 100,000 documents took the disk from the syncs for minutes).
        let settled = self.settle_projections(&round)?;
        let mut done = ProjectionRound::tally(&round, &settled);
        done.pending = self.pending_projection_count()?;
        Ok(done)
    }

    /// Empties the read model and rebuilds it from every stored document. A running server's
    /// projector may take documents meanwhile: this returns once nothing is pending (or once
    /// others alone have had the work for [`REPROJECT_PATIENCE`] rounds), not at the first
    /// round that settled nothing itself.
    fn reproject(&self) -> Result<ProjectionRound> {
        self.reset_read_model()?;
        let mut total = ProjectionRound::default();
        let mut idle = 0;
        loop {
            let round = self.project_pending(256)?;
            total.projected += round.projected;
            total.failed += round.failed;
            total.pending = round.pending;
            if round.pending == 0 {
                return Ok(total);
            }
            if round.projected + round.failed == 0 {
                idle += 1;
                if idle >= REPROJECT_PATIENCE {
                    return Ok(total);
                }
                std::thread::sleep(std::time::Duration::from_millis(100));
            } else {
                idle = 0;
            }
        }
    }

    /// Compares the stored rows of every projected document with the rows derived from the
    /// document now: how a backend proves its read model right.
    fn check_read_model(&self) -> Result<ReadModelCheck> {
        let mut check = ReadModelCheck {
            failed: self.projection_failure_count()?,
            ..ReadModelCheck::default()
        };
        for (id, pending) in self.read_model_documents()? {
            if pending {
                check.pending += 1;
                continue;
            }
            let Ok(mut derived) = self.derive_rows(id)? else {
                continue;
            };
            derived.sort();
            check.compared += 1;
            if self.stored_rows(id)? != derived {
                check.differing.push(id);
            }
        }
        Ok(check)
    }
}

/// The leaders' evidence (issue #12): facts from the read model, never a document, and the
/// municipality's evidence settings.
pub trait EvidenceStore {
    /// The municipality's evidence settings (defaults when none were set).
    fn evidence_settings(&self, municipality: MunicipalityId) -> Result<EvidenceSettings>;
    fn all_evidence_settings(&self) -> Result<Vec<(MunicipalityId, EvidenceSettings)>>;
    /// Replaces the municipality's evidence settings (checked by the caller).
    fn set_evidence_settings(
        &self,
        municipality: MunicipalityId,
        settings: &EvidenceSettings,
        by: UserId,
    ) -> Result<()>;
    /// The municipality's effect settings as its library holds them (projected).
    fn effect_settings(&self, municipality: MunicipalityId) -> Result<StoredSettings>;
    /// Referrals of `teams` made in `period` and how far each went.
    fn evidence_referrals(&self, teams: &[TeamId], period: Period) -> Result<Vec<ReferralFacts>>;
    /// The users of `teams`, with training date and the last day of each kind of work on or
    /// before `as_of` (work done since does not make someone inactive then).
    fn evidence_staff(&self, teams: &[TeamId], as_of: time::Date) -> Result<Vec<StaffMember>>;
    /// Completed courses of `teams` (all teams for `None`) that may have ended in `period`,
    /// with results, care grants and sessions delivered (the caller applies the cohort rule,
    /// `evidence::report::planned_end`).
    fn completed_courses(
        &self,
        teams: Option<&[TeamId]>,
        period: Period,
    ) -> Result<Vec<CourseFacts>>;
    /// The BI feed's rows of `table` for `teams` (`homerehab_shared::export`), in its
    /// columns' order, the rows its period column puts in `period` (the citizens: all).
    fn export_rows(
        &self,
        table: ExportTable,
        teams: &[TeamId],
        period: &Period,
    ) -> Result<Vec<Vec<Cell>>>;
}

/// A team and the municipality it belongs to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TeamRecord {
    pub id: TeamId,
    pub name: String,
    pub municipality: MunicipalityId,
}

/// What one round of projection did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ProjectionRound {
    pub projected: usize,
    /// Documents whose rows could not be derived, set aside with the error.
    pub failed: usize,
    /// Documents still waiting (changed again meanwhile, or beyond the limit).
    pub pending: u64,
}

/// Rounds of 100 ms in which [`ReadModelStore::reproject`] settles nothing itself before it
/// leaves the rest to the running server's projector.
pub const REPROJECT_PATIENCE: u32 = 100;

impl ProjectionRound {
    /// A round's counts from what became of each document (`settled[i]` for `round[i]`). A
    /// document that changed meanwhile was not settled and stays pending.
    fn tally(round: &[Projection], settled: &[bool]) -> Self {
        let mut counts = ProjectionRound::default();
        for (p, _) in round.iter().zip(settled).filter(|(_, settled)| **settled) {
            if p.rows.is_ok() {
                counts.projected += 1;
            } else {
                // The id only: the error may quote document content.
                tracing::warn!(doc = %p.doc, "read model: a document's rows cannot be derived; set aside");
                counts.failed += 1;
            }
        }
        counts
    }
}

/// The read model against the documents.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ReadModelCheck {
    /// Documents compared.
    pub compared: usize,
    /// Documents not compared because they wait for projection.
    pub pending: usize,
    /// Documents set aside because their rows could not be derived.
    pub failed: u64,
    /// Documents whose stored rows differ from their derived rows.
    pub differing: Vec<DocumentId>,
}

/// Which quarantined change sets an admin means; nothing set means all.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct QuarantineScope {
    pub doc: Option<DocumentId>,
    pub user: Option<UserId>,
}

/// One kept change set, described.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QuarantineEntry {
    pub id: i64,
    pub doc: DocumentId,
    pub user: UserId,
    pub bytes: u64,
    pub reason: String,
    pub at: Millis,
}

/// A photo or video a municipality uploaded; the bytes are a file named by `sha256`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MediaRecord {
    /// Lowercase hex.
    pub sha256: String,
    pub municipality: MunicipalityId,
    pub byte_size: u64,
    pub content_type: String,
    pub uploaded_by: UserId,
}

/// Unix milliseconds now.
pub fn now_ms() -> Millis {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as Millis)
        .unwrap_or(0)
}

/// One document to store (see [`Store::commit_documents`]).
pub struct DocumentCommit<'a> {
    pub header: &'a Header,
    /// The stored heads `doc` was built on; empty for a document new to the server. The
    /// commit stores nothing and answers [`crate::Error::DocumentMoved`] when the stored heads
    /// differ (or a "new" document exists): the optimistic check that lets syncs of different
    /// documents, in one process or in several servers, run without a global lock while two
    /// syncs of one document never overwrite each other's merge.
    pub base: &'a [Hash],
    pub doc: &'a Automerge,
    pub new_changes: &'a [u8],
    /// `new_changes` are one saved document that loads, alone, to `doc`
    /// ([`homerehab_shared::admission::Admitted::whole`]): stored as the snapshot, for a
    /// device already did the compaction.
    pub whole: bool,
}

/// A device as the registry keeps it (issue #14): the user who signed in on it last, when it
/// was first and last seen, its app version and its revocation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeviceRecord {
    pub id: DeviceId,
    pub user: UserId,
    pub username: String,
    pub display_name: String,
    pub team_id: TeamId,
    pub municipality: Option<MunicipalityId>,
    pub first_seen: Millis,
    pub last_seen: Millis,
    pub app_version: String,
    pub revocation: Option<Revocation>,
}

/// Who revoked a device, when and why, and when it handed over its last changes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Revocation {
    pub at: Millis,
    pub by: UserId,
    pub by_name: String,
    pub reason: String,
    pub handed_over_at: Option<Millis>,
}

impl DeviceRecord {
    /// What its token may do at `now` ([`homerehab_shared::device_registry::access`]).
    pub fn access(&self, now: Millis) -> homerehab_shared::device_registry::DeviceAccess {
        homerehab_shared::device_registry::access(
            self.revocation.as_ref().map(|r| r.at),
            self.revocation.as_ref().and_then(|r| r.handed_over_at),
            now,
        )
    }

    /// What the device is told about its revocation, if revoked.
    pub fn notice(&self) -> Option<homerehab_shared::api::RevokeNotice> {
        self.revocation
            .as_ref()
            .map(|r| homerehab_shared::api::RevokeNotice {
                revoked_at: r.at,
                revoked_by: r.by_name.clone(),
                reason: r.reason.clone(),
            })
    }
}

/// The device registry (issue #14): every device that signed in, its tokens and actors, and
/// its revocation. A store implements it beside [`Store`]; see `shared::device_registry` for
/// the rules it serves.
pub trait DeviceRegistry {
    /// Records a sign-in by `user` on `device` with `actor` (already registered to the user by
    /// [`Store::register_actor`]): creates the device (first seen `now`) or hands it to
    /// `user` (a shared tablet), sets its last contact and app version, links the actor to it
    /// and stores the token (by its SHA-256), linked to it, dropping expired tokens. One
    /// transaction.
    /// Returns the secret this user has for this device (#14's encrypted device store): the
    /// one kept from an earlier sign-in, else `sign_in.new_key_secret`, now kept.
    fn sign_in_device(&self, sign_in: &DeviceSignIn<'_>) -> Result<[u8; 32]>;
    /// A device by id.
    fn device(&self, id: DeviceId) -> Result<Option<DeviceRecord>>;
    /// What a request's token opens, in one read: its user, its expiry (passed or not) and the
    /// device it was issued to (`None` for a token from before the registry); `None` for an
    /// unknown token.
    fn token_holder(&self, token_hash: &[u8; 32]) -> Result<Option<TokenHolder>>;
    /// Records contact from the device at `now`, unless its last contact is less than
    /// [`homerehab_shared::device_registry::LAST_SEEN_RESOLUTION_MS`] ago (no write then).
    fn touch_device(&self, id: DeviceId, now: Millis) -> Result<()>;
    /// Every device whose user belongs to the municipality, most recently seen first.
    fn devices_of_municipality(&self, municipality: MunicipalityId) -> Result<Vec<DeviceRecord>>;
    /// Revokes the device (`by`, `reason`, `now`); false when it was revoked already (the
    /// first revocation stands).
    fn revoke_device(&self, id: DeviceId, by: UserId, reason: &str, now: Millis) -> Result<bool>;
    /// Records that the revoked device handed over everything (first time only).
    fn close_handover(&self, id: DeviceId, now: Millis) -> Result<()>;
    /// Deletes every token of the user ("sign out everywhere"); how many.
    fn end_tokens_of(&self, user: UserId) -> Result<usize>;
    /// Those of `among` whose changes a sync by `user` on `device` may bring: the user's,
    /// except those of a revoked device other than `device` (a revoked device's actors write
    /// only in its own hand-over). Only `among` is read: a user's actors only grow.
    fn actors_for_sync(
        &self,
        user: UserId,
        device: Option<DeviceId>,
        among: &[ActorId],
    ) -> Result<HashSet<ActorId>>;
    /// A user by id.
    fn user_by_id(&self, user: UserId) -> Result<Option<UserRecord>>;
}

/// The holder of a token, for [`DeviceRegistry::token_holder`].
#[derive(Clone, Debug)]
pub struct TokenHolder {
    pub user: UserRecord,
    pub expires_at: Millis,
    pub device: Option<DeviceRecord>,
}

/// One sign-in on a device, for [`DeviceRegistry::sign_in_device`].
pub struct DeviceSignIn<'a> {
    pub device: DeviceId,
    pub user: UserId,
    pub actor: &'a ActorId,
    pub app_version: &'a str,
    pub token_hash: &'a [u8; 32],
    /// Fresh random bytes, kept as this user's key secret for the device if it has none yet.
    pub new_key_secret: &'a [u8; 32],
    pub expires_at: Millis,
    pub now: Millis,
}

/// The audit log (issue #14): append-only, each entry chained to the previous by hash
/// (`homerehab_shared::audit`). A store implements it beside [`Store`].
pub trait AuditStore {
    /// Appends `records` in order, after the log's last entry, in one transaction that holds
    /// the log's lock (every server sharing the database appends to one chain); a record whose
    /// entry id is logged already (a device sending again) is skipped. Returns how many were
    /// appended.
    fn append_audit(&self, records: &[AuditRecord]) -> Result<usize>;
    /// Up to `limit` entries numbered above `after`, in order; a row that does not read as an
    /// entry is an [`UnreadableEntry`] (for `audit-verify`).
    fn audit_entries(&self, after: u64, limit: usize) -> Result<Vec<StoredAuditEntry>>;
    /// The entries about one citizen, in order: naming them, about their courses, or
    /// transferring their team's roster (the read model says which courses and team).
    fn audit_of_citizen(&self, citizen: CitizenId) -> Result<Vec<StoredAuditEntry>>;
    /// The team a citizen belongs to and its municipality, by the read model; `None` when the
    /// server knows no such citizen.
    fn citizen_home(&self, citizen: CitizenId) -> Result<Option<(TeamId, MunicipalityId)>>;
}

/// An entry as read back: the entry, or why its row does not read as one.
pub type StoredAuditEntry = std::result::Result<ChainedEntry, UnreadableEntry>;

/// Retention and erasure (issue #14 item 5): documents' generations, the hashes of their old
/// generations, tombstones of erased documents, the erasure ledger and each municipality's
/// retention settings. A store implements it beside [`Store`].
pub trait ErasureStore {
    /// The generation of one stored document (0 when never rewritten).
    fn generation(&self, id: DocumentId) -> Result<u32>;
    /// Whether the document was erased (its id is never stored again).
    fn is_erased(&self, id: DocumentId) -> Result<bool>;
    /// Which of `among` were changes of an older generation of `id`.
    fn old_generation_hashes(&self, id: DocumentId, among: &[Hash]) -> Result<Vec<Hash>>;
    /// One erasure, in one transaction: every document in `deleted` goes with its changes,
    /// its quarantined change sets and its read-model rows, leaving a tombstone; every
    /// rewrite replaces its document by the new generation if the stored heads are still its
    /// base ([`crate::Error::DocumentMoved`] otherwise, nothing stored), keeping the old
    /// generation's change hashes and dropping its quarantine; the ledger gets `ledger`.
    fn erase(&self, erasure: &ErasureCommit<'_>) -> Result<()>;
    /// After erasures: make the freed bytes unreadable where the backend can (SQLite: a WAL
    /// checkpoint that truncates the WAL, over pages `secure_delete` zeroed; PostgreSQL:
    /// `VACUUM` of the touched tables).
    fn scrub(&self) -> Result<()>;
    /// The erasure ledger, oldest first.
    fn erasure_ledger(&self) -> Result<Vec<LedgerEntry>>;
    /// The municipality's retention settings (defaults when none were set).
    fn retention_settings(&self, municipality: MunicipalityId) -> Result<RetentionSettings>;
    /// Replaces the municipality's retention settings (validated by the caller).
    fn set_retention_settings(
        &self,
        municipality: MunicipalityId,
        settings: &RetentionSettings,
        by: Option<UserId>,
    ) -> Result<()>;
    /// What the read model knows of each citizen of `teams`, for `retention::due`.
    fn retention_facts(&self, teams: &[TeamId]) -> Result<Vec<CitizenFacts>>;
}

/// A document rewritten as a new generation (see [`ErasureStore::erase`]).
pub struct DocumentRewrite<'a> {
    pub header: &'a Header,
    /// The stored heads the rewrite was made from.
    pub base: &'a [Hash],
    pub doc: &'a Automerge,
    pub generation: u32,
    /// Every change hash of the generation it replaces.
    pub old_hashes: &'a [Hash],
}

/// One erasure to store.
pub struct ErasureCommit<'a> {
    pub deleted: &'a [DocumentId],
    pub rewritten: &'a [DocumentRewrite<'a>],
    pub ledger: &'a [LedgerEntry],
}

/// One line of the erasure ledger: ids and times only (`Erasure` names records by id, a grant
/// by its key of citizen id, date and service code), never what was erased. It outlives a
/// restored backup: `sync-server erasures reapply` erases again what it lists.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct LedgerEntry {
    pub at: Millis,
    pub municipality: MunicipalityId,
    pub erasure: Erasure,
    /// The admin who ordered it; `None` for the retention job.
    pub by: Option<UserId>,
    /// Why, as the audit log records it.
    pub action: homerehab_shared::audit::AuditAction,
}
