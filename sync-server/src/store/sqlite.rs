//! The SQLite [`Store`]: one file in WAL mode with `synchronous=FULL`, so a committed sync
//! survives power loss. One connection behind a mutex; every method is one short transaction.
//! Several server processes may open one file (one machine): every transaction that writes
//! is `IMMEDIATE`, so it waits for the write lock ([`wait_for_the_write_lock`]) instead of failing when
//! another process wrote after it began reading.

use super::documents::{
    decode, heads_bytes, heads_from_bytes, moved, saved_bytes, sign_in_verdict, snapshot_of,
    withdrawn_media,
};
use super::sqlite_devices as devices;
use super::sqlite_erasure as erasure;
use super::sqlite_evidence as evidence;
use super::sqlite_read_model as read_model;
use super::{
    now_ms, AccountStore, AuditStore, DeviceRecord, DeviceRegistry, DeviceSignIn, DocumentCommit,
    DocumentFootprint, DocumentStore, ErasureCommit, ErasureStore, EvidenceStore, LedgerEntry,
    MediaRecord, MediaStore, NewUser, Projection, QuarantineEntry, QuarantineScope, ReadModelStore,
    Store, StoredAuditEntry, TeamRecord, TokenHolder, UserRecord, VisibleDocument,
};
use crate::config::QuarantineLimits;
use crate::error::{Error, Result};
use automerge::{ActorId, Automerge};
use homerehab_shared::audit::AuditRecord;
use homerehab_shared::docs::{DocumentKind, Header};
use homerehab_shared::effect::settings::StoredSettings;
use homerehab_shared::evidence::funnel::ReferralFacts;
use homerehab_shared::evidence::report::{CourseFacts, EvidenceSettings};
use homerehab_shared::evidence::staff::StaffMember;
use homerehab_shared::evidence::targets::Period;
use homerehab_shared::export::{Cell, ExportTable};
use homerehab_shared::ids::{
    CitizenId, CourseId, DeviceId, DocumentId, MunicipalityId, TeamId, UserId,
};
use homerehab_shared::model::{Millis, Role, User};
use homerehab_shared::read_model::DocumentRows;
use homerehab_shared::retention::{CitizenFacts, RetentionSettings};
use homerehab_shared::sync::{compaction, Hash, Quarantine, SavedDocument};
use rusqlite::types::Type;
use rusqlite::{params, Connection, OptionalExtension, Row, TransactionBehavior};
use rusqlite_migration::{Migrations, M};
use std::collections::HashSet;
use std::path::Path;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;
use uuid::Uuid;

/// Schema migrations. Only ever append: a released migration is never edited.
fn migrations() -> Vec<M<'static>> {
    vec![
        M::up(
            r#"
CREATE TABLE municipalities (
    id   BLOB PRIMARY KEY,
    name TEXT NOT NULL UNIQUE
);
CREATE TABLE teams (
    id              BLOB PRIMARY KEY,
    municipality_id BLOB NOT NULL REFERENCES municipalities(id),
    name            TEXT NOT NULL,
    UNIQUE (municipality_id, name)
);
CREATE TABLE users (
    id            BLOB PRIMARY KEY,
    username      TEXT NOT NULL UNIQUE,
    display_name  TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    role          TEXT NOT NULL CHECK (role IN ('assistant', 'therapist', 'leader', 'admin')),
    team_id       BLOB NOT NULL REFERENCES teams(id),
    created_at    INTEGER NOT NULL
);
-- Teams granted to a user beyond their own.
CREATE TABLE user_grants (
    user_id BLOB NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    team_id BLOB NOT NULL REFERENCES teams(id),
    PRIMARY KEY (user_id, team_id)
);
CREATE TABLE tokens (
    token_hash BLOB PRIMARY KEY,
    user_id    BLOB NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE INDEX tokens_expires_at ON tokens(expires_at);
CREATE TABLE actors (
    actor_id      BLOB PRIMARY KEY,
    user_id       BLOB NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    registered_at INTEGER NOT NULL
);
CREATE INDEX actors_user ON actors(user_id);
-- The small columns come before the snapshot so reading heads never touches its pages.
CREATE TABLE documents (
    id                BLOB PRIMARY KEY,
    kind              TEXT NOT NULL CHECK (kind IN ('roster', 'course', 'session_log')),
    team_id           BLOB NOT NULL,
    course_id         BLOB,
    heads             BLOB NOT NULL,
    incremental_bytes INTEGER NOT NULL DEFAULT 0,
    updated_at        INTEGER NOT NULL,
    snapshot          BLOB NOT NULL
);
CREATE INDEX documents_team ON documents(team_id);
CREATE TABLE doc_changes (
    doc_id BLOB NOT NULL REFERENCES documents(id),
    seq    INTEGER NOT NULL,
    bytes  BLOB NOT NULL,
    PRIMARY KEY (doc_id, seq)
);
CREATE TABLE quarantine (
    id      INTEGER PRIMARY KEY AUTOINCREMENT,
    doc_id  BLOB NOT NULL,
    user_id BLOB NOT NULL,
    bytes   BLOB NOT NULL,
    reason  TEXT NOT NULL,
    at      INTEGER NOT NULL
);
CREATE INDEX quarantine_doc ON quarantine(doc_id);
"#,
        ),
        // A device retries refused changes on every sync until a person sorts them out; keep each
        // distinct refused payload once.
        M::up(
            r#"
ALTER TABLE quarantine ADD COLUMN digest BLOB;
CREATE UNIQUE INDEX quarantine_once ON quarantine(doc_id, user_id, digest);
"#,
        ),
        // Protocol 2: a municipality's library is a document of kind 'library' (of no team: its
        // team_id is the nil UUID). SQLite cannot widen a CHECK, so the table is rebuilt, and
        // doc_changes with it so its foreign key follows the renamed table.
        M::up(
            r#"
CREATE TABLE documents_v2 (
    id                BLOB PRIMARY KEY,
    kind              TEXT NOT NULL CHECK (kind IN ('roster', 'course', 'session_log', 'library')),
    team_id           BLOB NOT NULL,
    course_id         BLOB,
    heads             BLOB NOT NULL,
    incremental_bytes INTEGER NOT NULL DEFAULT 0,
    updated_at        INTEGER NOT NULL,
    snapshot          BLOB NOT NULL
);
INSERT INTO documents_v2 (id, kind, team_id, course_id, heads, incremental_bytes, updated_at, snapshot)
    SELECT id, kind, team_id, course_id, heads, incremental_bytes, updated_at, snapshot FROM documents;
CREATE TABLE doc_changes_v2 (
    doc_id BLOB NOT NULL REFERENCES documents_v2(id),
    seq    INTEGER NOT NULL,
    bytes  BLOB NOT NULL,
    PRIMARY KEY (doc_id, seq)
);
INSERT INTO doc_changes_v2 (doc_id, seq, bytes) SELECT doc_id, seq, bytes FROM doc_changes;
DROP TABLE doc_changes;
DROP TABLE documents;
ALTER TABLE documents_v2 RENAME TO documents;
ALTER TABLE doc_changes_v2 RENAME TO doc_changes;
CREATE INDEX documents_team ON documents(team_id);
"#,
        ),
        // Photos and videos: the bytes are files named by their SHA-256 (crate::media); here is
        // who may fetch them. One row per municipality that uploaded the same bytes.
        M::up(
            r#"
CREATE TABLE media (
    sha256          TEXT NOT NULL,
    municipality_id BLOB NOT NULL REFERENCES municipalities(id),
    byte_size       INTEGER NOT NULL,
    content_type    TEXT NOT NULL,
    uploaded_by     BLOB NOT NULL REFERENCES users(id),
    uploaded_at     INTEGER NOT NULL,
    PRIMARY KEY (sha256, municipality_id)
);
"#,
        ),
        // The quarantine is capped per user as well as per document (crate::config).
        M::up("CREATE INDEX quarantine_user ON quarantine(user_id);"),
        // The read model (issue #12): see `sqlite_read_model`.
        M::up(read_model::MIGRATION),
        M::up(read_model::MIGRATION_REFERRALS),
        // When a user was trained in the app (issue #12's staff in use), recorded by an admin.
        M::up("ALTER TABLE users ADD COLUMN trained_on TEXT;"),
        M::up(read_model::MIGRATION_EVIDENCE),
        // A municipality's evidence settings (issue #12): targets, prices, naming, comparison
        // group, as JSON of `evidence::report::EvidenceSettings`; see `sqlite_evidence`.
        M::up(super::sqlite_evidence::MIGRATION),
        // Why a course ended early, coded (issue #12's funnel).
        M::up(read_model::MIGRATION_END_REASONS),
        // Covering indexes for the evidence benchmark across municipalities (issue #12); see
        // `sqlite_read_model::MIGRATION_BENCHMARK_INDEXES`.
        M::up(read_model::MIGRATION_BENCHMARK_INDEXES),
        // Media a municipality's library withdrew (consent revoked, wrong picture), mirrored from
        // the library document in the transaction that stores it, so `media_of` stops serving them
        // as soon as the withdrawal is synced. Keyed by the library, not the media row: a
        // withdrawal may arrive before the upload is recorded. Filled from the stored libraries in
        // the migration's own transaction, so no upgraded database lacks them.
        M::up_with_hook(
            r#"
CREATE TABLE media_withdrawn (
    library_id BLOB NOT NULL,
    sha256     TEXT NOT NULL,
    PRIMARY KEY (library_id, sha256)
) WITHOUT ROWID;
"#,
            |tx: &rusqlite::Transaction<'_>| {
                mirror_all_withdrawn(tx)
                    .map_err(|e| rusqlite_migration::HookError::Hook(e.to_string()))
            },
        ),
        // Sign-in attempts counted in the database, so processes sharing it share the limit
        // (issue #13): per digest of the normalised username, never the name.
        M::up(
            r#"
CREATE TABLE sign_in_attempts (
    name_key BLOB PRIMARY KEY,
    count    INTEGER NOT NULL,
    since    INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX sign_in_attempts_since ON sign_in_attempts(since);
"#,
        ),
        // The device registry (issue #14): devices, their revocation, and which device each
        // token and actor belongs to; see `sqlite_devices`.
        M::up(devices::MIGRATION),
        // The audit log (issue #14): append-only, hash-chained; see `sqlite_audit`.
        M::up(super::sqlite_audit::MIGRATION),
        // The secret that wraps a device's data key for each user (#14, encrypted store).
        M::up(devices::MIGRATION_KEY_SECRETS),
        // Retention and erasure (issue #14 item 5); see `sqlite_erasure`.
        M::up(super::sqlite_erasure::MIGRATION),
        // Issue #13: every sync reads the id, kind, course and heads of each document of the
        // syncing teams (`visible_documents`); from an index that holds them all it reads a
        // few index pages instead of seeking each document's row, a page of its own. The old
        // index on the team alone is a prefix of this one.
        M::up(
            r#"
CREATE INDEX documents_team_heads ON documents(team_id, id, kind, course_id, heads);
DROP INDEX documents_team;
"#,
        ),
        // Every day of work, so staff active as of a past day is right (issue #12); see
        // `sqlite_read_model::MIGRATION_WORK_DAYS`.
        M::up(read_model::MIGRATION_WORK_DAYS),
        // When each grant was recorded (care-time follow-ups); see
        // `sqlite_read_model::MIGRATION_GRANTS_RECORDED`.
        M::up(read_model::MIGRATION_GRANTS_RECORDED),
        // The citizens who died or moved, read from an index; see
        // `sqlite_read_model::MIGRATION_CITIZENS_LEFT`.
        M::up(read_model::MIGRATION_CITIZENS_LEFT),
        // A document's generation on its own row and in the covering index; see
        // `sqlite_erasure::MIGRATION_GENERATION_COLUMN`.
        M::up(super::sqlite_erasure::MIGRATION_GENERATION_COLUMN),
        // When each citizen left, from the index too; see
        // `sqlite_read_model::MIGRATION_CITIZENS_LEFT_DATED`.
        M::up(read_model::MIGRATION_CITIZENS_LEFT_DATED),
    ]
}

pub struct SqliteStore {
    /// Accounts, tokens, quarantine, media, the read model: short transactions of their own.
    conn: Mutex<Connection>,
    /// Document commits and audit appends, grouped (see [`GroupCommit`]): a sync's documents
    /// and the record of what it sent share the fsync of the syncs that arrived with it.
    committer: Mutex<Connection>,
    group: GroupCommit,
    /// What a sync reads (tokens, heads, headers, documents): WAL lets these read while the
    /// writers wait for their fsync, so a small sync is not queued behind a large commit.
    readers: Vec<Mutex<Connection>>,
    next_reader: std::sync::atomic::AtomicUsize,
    compact_min_bytes: i64,
}

/// Readers beside the two writers: enough for the syncs served at once (two per core).
const READERS: usize = 4;

/// Group commit of document batches and audit appends: a batch is written inside a savepoint
/// of the open transaction and the transaction is committed (one fsync) by the last batch while
/// no other batch waits to join, so concurrent syncs share an fsync instead of queueing for one each.
/// A batch returns only after the commit that holds it succeeded; a batch that fails (a moved
/// document) is rolled back to its savepoint alone.
#[derive(Default)]
struct GroupCommit {
    state: Mutex<GroupState>,
    committed: std::sync::Condvar,
}

#[derive(Default)]
struct GroupState {
    /// Batches waiting for the committer connection.
    queued: usize,
    /// The transaction generation now open (or last opened).
    current: u64,
    /// Every generation up to this one has finished (committed or failed).
    finished: u64,
    /// Generations whose commit failed, with why (pruned as they age).
    failed: std::collections::BTreeMap<u64, String>,
    /// Batches in the open transaction, and when it began: a steady stream of batches must
    /// not hold the commit back for ever.
    members: usize,
    opened: Option<std::time::Instant>,
}

/// A transaction commits at the latest after this many batches or this long.
const GROUP_MAX_BATCHES: usize = 64;
const GROUP_MAX_OPEN: Duration = Duration::from_millis(20);

impl SqliteStore {
    /// Runs `write` inside the group transaction of the committer connection (see
    /// [`GroupCommit`]): it returns only after the commit that holds its writes succeeded, and
    /// a `write` that fails is rolled back to its savepoint alone.
    fn in_group<T>(&self, write: impl FnOnce(&Connection) -> Result<T>) -> Result<T> {
        let lock_group = || {
            self.group
                .state
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
        };
        lock_group().queued += 1;
        let conn = self
            .committer
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let (generation, begun) = {
            let mut g = lock_group();
            g.queued -= 1;
            g.members += 1;
            if conn.is_autocommit() {
                g.current += 1;
                g.members = 1;
                g.opened = Some(std::time::Instant::now());
                // IMMEDIATE: the write lock is taken before any heads are read, so another
                // process on the same file cannot commit between a check and its write.
                (
                    g.current,
                    conn.execute_batch("BEGIN IMMEDIATE").map_err(Error::from),
                )
            } else {
                (g.current, Ok(()))
            }
        };
        let own = begun.and_then(|()| {
            conn.execute_batch("SAVEPOINT batch")?;
            let written = write(&conn);
            if written.is_err() {
                // This batch only: the others in the transaction stay.
                conn.execute_batch("ROLLBACK TO batch")?;
            }
            conn.execute_batch("RELEASE batch")?;
            written
        });
        let mut g = lock_group();
        let young = g
            .opened
            .is_some_and(|at| at.elapsed() < GROUP_MAX_OPEN && g.members < GROUP_MAX_BATCHES);
        if g.queued > 0 && young && !conn.is_autocommit() {
            // Another batch is about to join this transaction: the last one commits for all.
            drop(conn);
            while g.finished < generation {
                g = self
                    .group
                    .committed
                    .wait(g)
                    .unwrap_or_else(PoisonError::into_inner);
            }
        } else {
            if !conn.is_autocommit() {
                // One commit (one WAL fsync) for every batch in this transaction.
                if let Err(e) = conn.execute_batch("COMMIT") {
                    conn.execute_batch("ROLLBACK").ok();
                    g.failed.insert(generation, e.to_string());
                }
            } else if let Err(e) = &own {
                // No transaction left that this batch did not commit: SQLite rolled the whole
                // of it back on the error (SQLITE_FULL, IOERR and NOMEM may), so the batches
                // that wrote into it before this one and wait for its commit lost theirs too.
                g.failed
                    .insert(generation, format!("the transaction was rolled back: {e}"));
            }
            g.finished = generation;
            let keep_from = generation.saturating_sub(1024);
            g.failed = g.failed.split_off(&keep_from);
            self.group.committed.notify_all();
        }
        let own = own?;
        match g.failed.get(&generation) {
            Some(why) => Err(Error::CommitFailed(why.clone())),
            None => Ok(own),
        }
    }

    /// Compacts any document whose chunks outweigh its snapshot, however small (for tests).
    pub fn compact_eagerly(mut self) -> Self {
        self.compact_min_bytes = 0;
        self
    }

    /// Opens (creating if needed) the database file and brings its schema up to date.
    pub fn open(path: &Path) -> Result<Self> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)?;
        }
        // One process at a time switches a new file to WAL and migrates it, by an exclusive
        // lock on a file beside the database (not on the database file: closing another
        // descriptor of it would drop SQLite's own locks). rusqlite_migration reads the schema
        // version before its transaction, so two processes opening one file at once (a
        // starting server and a CLI command, two servers) would both run the same migration
        // and the second would fail ("table … already exists"); and while one switches a new
        // file to WAL, another opening it beside was told "database is locked" despite the busy
        // timeout (24 of 40 runs of the test below, with only the migration under the lock).
        let migrating = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(path.with_extension("migration-lock"))?;
        migrating.lock()?;
        let mut conn = Connection::open(path)?;
        conn.busy_handler(Some(wait_for_the_write_lock))?;
        let mode: String =
            conn.pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get(0))?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(Error::Config(format!(
                "SQLite refused WAL mode (got {mode}); is the data directory on a local disk?"
            )));
        }
        // FULL: a sync is acknowledged only once it would survive a power cut.
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        // An erased citizen's bytes are overwritten where they lay, not left in free space
        // (issue #14; `sqlite_erasure`).
        conn.pragma_update(None, "secure_delete", "ON")?;
        // A checkpoint every 4,000 pages (16 MiB of WAL), not SQLite's 1,000: pages that many
        // commits write (the audit log's and the indexes' last pages) are copied back once
        // per checkpoint, not up to four times. 5–12 % less server CPU per changed document
        // with 10 teams of 5 (docs/benchmarks.md). An erasure still checkpoints at once
        // (`scrub`).
        conn.pragma_update(None, "wal_autocheckpoint", 4000)?;
        // The read model's replace alone prepares 20 statements; rusqlite keeps 16 by default,
        // and a statement prepared again on every document was a tenth of a burst's CPU.
        conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
        Migrations::new(migrations()).to_latest(&mut conn)?;
        drop(migrating);
        Self::with_connection(conn, path)
    }

    /// The store over `conn` (already migrated) and new connections to the same file for the
    /// committer and the readers.
    fn with_connection(conn: Connection, path: &Path) -> Result<Self> {
        let open = |read_only: bool| -> Result<Connection> {
            let c = Connection::open(path)?;
            c.pragma_update(None, "synchronous", "FULL")?;
            c.pragma_update(None, "foreign_keys", "ON")?;
            c.busy_handler(Some(wait_for_the_write_lock))?;
            c.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
            if read_only {
                c.pragma_update(None, "query_only", "ON")?;
            } else {
                c.pragma_update(None, "secure_delete", "ON")?;
            }
            Ok(c)
        };
        Ok(SqliteStore {
            conn: Mutex::new(conn),
            committer: Mutex::new(open(false)?),
            group: GroupCommit::default(),
            readers: (0..READERS)
                .map(|_| open(true).map(Mutex::new))
                .collect::<Result<_>>()?,
            next_reader: Default::default(),
            compact_min_bytes: compaction::MIN_BYTES,
        })
    }

    /// A read-only connection: a free one if any, else the next in turn.
    pub(super) fn reader(&self) -> MutexGuard<'_, Connection> {
        for r in &self.readers {
            if let Ok(guard) = r.try_lock() {
                return guard;
            }
        }
        let i = self
            .next_reader
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed)
            % self.readers.len();
        self.readers[i]
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    pub(super) fn conn(&self) -> MutexGuard<'_, Connection> {
        // A panic mid-call leaves no open transaction (rusqlite rolls back on drop), so the
        // connection is still usable.
        self.conn.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// How long a write waits for another connection's write lock before it fails as busy.
const WRITE_LOCK_WAIT: Duration = Duration::from_secs(5);

/// The busy handler of every connection: looks for the write lock again every millisecond,
/// for [`WRITE_LOCK_WAIT`]. SQLite's own (`busy_timeout`) sleeps 1, 2, 5, 10, 15, 20, 25, …
/// ms between looks, so a sync's commit that met the projector's transaction (another
/// connection of this process) or another server's could sleep tens of milliseconds past
/// its end.
fn wait_for_the_write_lock(tries: i32) -> bool {
    if u128::try_from(tries).unwrap_or(0) >= WRITE_LOCK_WAIT.as_millis() {
        return false;
    }
    std::thread::sleep(Duration::from_millis(1));
    true
}

/// Prepared statements kept per connection.
const STATEMENT_CACHE: usize = 128;

fn id_bytes(id: &Uuid) -> &[u8] {
    id.as_bytes().as_slice()
}

/// Read in place: a sync reads every visible document's row, and copying each blob and text
/// out first was five allocations a row.
fn uuid_at(row: &Row<'_>, idx: usize) -> rusqlite::Result<Uuid> {
    let bytes = blob_at(row, idx)?;
    Uuid::from_slice(bytes).map_err(not_as_stored(idx, Type::Blob))
}

fn blob_at<'r>(row: &'r Row<'_>, idx: usize) -> rusqlite::Result<&'r [u8]> {
    row.get_ref(idx)?
        .as_blob()
        .map_err(not_as_stored(idx, Type::Blob))
}

/// A column whose value is not what its schema says, as rusqlite's own `get` reports it.
fn not_as_stored<E: std::error::Error + Send + Sync + 'static>(
    idx: usize,
    ty: Type,
) -> impl FnOnce(E) -> rusqlite::Error {
    move |e| rusqlite::Error::FromSqlConversionFailure(idx, ty, Box::new(e))
}

/// Columns: id, kind, team_id, course_id.
/// A `SELECT id, kind, team_id, course_id, heads` row: the header and its stored heads.
fn header_and_heads(row: &Row<'_>) -> Result<(Header, Vec<Hash>)> {
    let header = header_at(row)?;
    Ok((header, heads_from_bytes(header.id, blob_at(row, 4)?)?))
}

fn header_at(row: &Row<'_>) -> Result<Header> {
    let id = DocumentId(uuid_at(row, 0)?);
    let kind = row
        .get_ref(1)?
        .as_str()
        .map_err(not_as_stored(1, Type::Text))?;
    let course = row
        .get_ref(3)?
        .as_blob_or_null()
        .map_err(not_as_stored(3, Type::Blob))?;
    let header = Header {
        id,
        kind: DocumentKind::parse(kind)
            .ok_or_else(|| Error::CorruptDocument(id, format!("unknown kind {kind}")))?,
        team_id: TeamId(uuid_at(row, 2)?),
        course_id: course
            .map(|b| Uuid::from_slice(b).map(CourseId))
            .transpose()
            .map_err(|e| Error::CorruptDocument(id, e.to_string()))?,
    };
    Ok(header)
}

/// Whether `actor` is nobody's device: the server's own, or the genesis actor of a stored
/// document or of a team's roster or a municipality's library (`documents::reserved_by_derivation`).
fn reserved_actor(conn: &Connection, actor: &ActorId) -> Result<bool> {
    if let Some(as_id) = super::documents::actor_as_document(actor) {
        let stored: bool = conn
            .prepare_cached("SELECT EXISTS (SELECT 1 FROM documents WHERE id = ?1)")?
            .query_row([id_bytes(&as_id.0)], |r| r.get(0))?;
        if stored {
            return Ok(true);
        }
    }
    let ids = |sql: &str| -> Result<Vec<Uuid>> {
        let mut stmt = conn.prepare(sql)?;
        let ids = stmt
            .query_map([], |r| uuid_at(r, 0))?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(ids)
    };
    let teams: Vec<TeamId> = ids("SELECT id FROM teams")?
        .into_iter()
        .map(TeamId)
        .collect();
    let municipalities: Vec<MunicipalityId> = ids("SELECT id FROM municipalities")?
        .into_iter()
        .map(MunicipalityId)
        .collect();
    Ok(super::documents::reserved_by_derivation(
        actor,
        &teams,
        &municipalities,
    ))
}

/// A stored document as bytes: its snapshot and its incremental chunks, in order.
type StoredBytes = (Vec<u8>, Vec<Vec<u8>>);

fn document_bytes(conn: &Connection, id: DocumentId) -> Result<Option<StoredBytes>> {
    let Some(snapshot) = conn
        .prepare_cached("SELECT snapshot FROM documents WHERE id = ?1")?
        .query_row([id_bytes(&id.0)], |r| r.get::<_, Vec<u8>>(0))
        .optional()?
    else {
        return Ok(None);
    };
    let mut stmt =
        conn.prepare_cached("SELECT bytes FROM doc_changes WHERE doc_id = ?1 ORDER BY seq")?;
    let chunks = stmt
        .query_map([id_bytes(&id.0)], |r| r.get::<_, Vec<u8>>(0))?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(Some((snapshot, chunks)))
}

/// Fills `media_withdrawn` from every stored library: the upgrade that adds the table.
fn mirror_all_withdrawn(conn: &Connection) -> Result<()> {
    let libraries = {
        let mut stmt = conn.prepare("SELECT id FROM documents WHERE kind = 'library'")?;
        let ids = stmt
            .query_map([], |r| uuid_at(r, 0).map(DocumentId))?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        ids
    };
    for id in libraries {
        let Some((snapshot, chunks)) = document_bytes(conn, id)? else {
            continue;
        };
        match decode(id, &snapshot, &chunks) {
            Ok(doc) => mirror_withdrawn(conn, id, &doc)?,
            // Not fatal to the upgrade: that library cannot be synced either until repaired,
            // and its next commit mirrors it.
            Err(e) => {
                tracing::error!(doc = %id, error = %e, "withdrawn media of a stored library cannot be read")
            }
        }
    }
    Ok(())
}

/// Replaces a library's rows in `media_withdrawn` with what its document withdraws now.
fn mirror_withdrawn(conn: &Connection, library: DocumentId, doc: &Automerge) -> Result<()> {
    let withdrawn = withdrawn_media(library, doc)?;
    let id = id_bytes(&library.0);
    conn.prepare_cached("DELETE FROM media_withdrawn WHERE library_id = ?1")?
        .execute([id])?;
    let mut insert =
        conn.prepare_cached("INSERT INTO media_withdrawn (library_id, sha256) VALUES (?1, ?2)")?;
    for sha256 in withdrawn {
        insert.execute(params![id, sha256])?;
    }
    Ok(())
}

fn quarantine_where(scope: &QuarantineScope) -> (String, Vec<Vec<u8>>) {
    let mut clauses = vec![];
    let mut args = vec![];
    if let Some(doc) = scope.doc {
        args.push(doc.0.as_bytes().to_vec());
        clauses.push(format!("doc_id = ?{}", args.len()));
    }
    if let Some(user) = scope.user {
        args.push(user.0.as_bytes().to_vec());
        clauses.push(format!("user_id = ?{}", args.len()));
    }
    if clauses.is_empty() {
        ("1".to_string(), args)
    } else {
        (clauses.join(" AND "), args)
    }
}

fn user_where(
    conn: &Connection,
    clause: &str,
    key: &dyn rusqlite::ToSql,
) -> Result<Option<UserRecord>> {
    let sql = format!(
        "SELECT id, username, display_name, password_hash, role, team_id,
           (SELECT municipality_id FROM teams WHERE teams.id = users.team_id)
         FROM users WHERE {clause}"
    );
    let row = conn
        .prepare_cached(&sql)?
        .query_row([key], |r| {
            Ok((
                uuid_at(r, 0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, String>(4)?,
                uuid_at(r, 5)?,
                uuid_at(r, 6)?,
            ))
        })
        .optional()?;
    let Some((id, username, display_name, password_hash, role, team, municipality)) = row else {
        return Ok(None);
    };
    let mut stmt = conn.prepare_cached("SELECT team_id FROM user_grants WHERE user_id = ?1")?;
    let granted_teams = stmt
        .query_map([id_bytes(&id)], |r| uuid_at(r, 0).map(TeamId))?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(Some(UserRecord {
        user: User {
            id: UserId(id),
            username,
            display_name,
            role: Role::parse(&role)
                .ok_or_else(|| Error::Corrupt(format!("unknown role {role}")))?,
            team_id: TeamId(team),
            granted_teams,
            municipality_id: Some(MunicipalityId(municipality)),
        },
        password_hash,
    }))
}

impl SqliteStore {
    fn commit_in(&self, tx: &Connection, c: &DocumentCommit<'_>, now: Millis) -> Result<()> {
        let (header, doc, new_changes) = (c.header, c.doc, c.new_changes);
        let id = id_bytes(&header.id.0);
        let heads = heads_bytes(doc);
        let stored: Option<(i64, i64, Vec<u8>)> = tx
            .prepare_cached(
                "SELECT incremental_bytes, length(snapshot), heads FROM documents WHERE id = ?1",
            )?
            .query_row([id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .optional()?;
        // The optimistic check: the document is still what this commit was built on.
        if moved(
            c.base,
            stored.as_ref().map(|(_, _, heads)| heads.as_slice()),
        ) {
            return Err(Error::DocumentMoved(header.id));
        }
        let sizes = stored.map(|(incremental, snapshot, _)| (incremental, snapshot));
        match sizes {
            None => {
                // An erased document's id is never stored again: the sync is served again and
                // meets the tombstone.
                if super::sqlite_erasure::is_erased(tx, header.id)? {
                    return Err(Error::DocumentMoved(header.id));
                }
                tx.prepare_cached("INSERT INTO documents
                       (id, kind, team_id, course_id, heads, incremental_bytes, updated_at, snapshot)
                     VALUES (?1, ?2, ?3, ?4, ?5, 0, ?6, ?7)")?
            .execute(
                    params![
                        id,
                        header.kind.as_str(),
                        id_bytes(&header.team_id.0),
                        header.course_id.map(|c| c.as_bytes().to_vec()),
                        heads,
                        now,
                        snapshot_of(c).as_ref()
                    ],
                )?;
            }
            Some((incremental, snapshot)) => {
                let incremental = incremental + new_changes.len() as i64;
                if compaction::snapshot_now(c.whole, incremental, snapshot, self.compact_min_bytes)
                {
                    tx.prepare_cached("DELETE FROM doc_changes WHERE doc_id = ?1")?
                        .execute([id])?;
                    tx.prepare_cached(
                        "UPDATE documents SET heads = ?2, incremental_bytes = 0, updated_at = ?3,
                           snapshot = ?4 WHERE id = ?1",
                    )?
                    .execute(params![
                        id,
                        heads,
                        now,
                        snapshot_of(c).as_ref()
                    ])?;
                } else {
                    if !new_changes.is_empty() {
                        tx.prepare_cached("INSERT INTO doc_changes (doc_id, seq, bytes)
                             SELECT ?1, COALESCE(MAX(seq), 0) + 1, ?2 FROM doc_changes WHERE doc_id = ?1")?
            .execute(
                            params![id, new_changes],
                        )?;
                    }
                    tx.prepare_cached(
                        "UPDATE documents SET heads = ?2, incremental_bytes = ?3, updated_at = ?4
                         WHERE id = ?1",
                    )?
                    .execute(params![id, heads, incremental, now])?;
                }
            }
        }
        read_model::mark_pending(tx, id)?;
        if header.kind == DocumentKind::Library {
            mirror_withdrawn(tx, header.id, doc)?;
        }
        Ok(())
    }
}

fn document_id(bytes: &[u8]) -> Result<DocumentId> {
    Uuid::from_slice(bytes)
        .map(DocumentId)
        .map_err(|e| Error::Corrupt(format!("a document id of {} bytes: {e}", bytes.len())))
}

impl ErasureStore for SqliteStore {
    fn generation(&self, id: DocumentId) -> Result<u32> {
        erasure::generation(&self.reader(), id)
    }
    fn is_erased(&self, id: DocumentId) -> Result<bool> {
        erasure::is_erased(&self.reader(), id)
    }
    fn old_generation_hashes(&self, id: DocumentId, among: &[Hash]) -> Result<Vec<Hash>> {
        erasure::old_generation_hashes(&self.reader(), id, among)
    }
    fn erase(&self, e: &ErasureCommit<'_>) -> Result<()> {
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        erasure::erase(&tx, e, now_ms())?;
        tx.commit()?;
        Ok(())
    }
    fn scrub(&self) -> Result<()> {
        if !erasure::scrub(&self.conn())? {
            tracing::warn!("the WAL could not be truncated after an erasure (readers held it); it is at the next checkpoint");
        }
        Ok(())
    }
    fn erasure_ledger(&self) -> Result<Vec<LedgerEntry>> {
        erasure::ledger(&self.conn())
    }
    fn retention_settings(&self, municipality: MunicipalityId) -> Result<RetentionSettings> {
        erasure::retention_settings(&self.conn(), municipality)
    }
    fn set_retention_settings(
        &self,
        municipality: MunicipalityId,
        settings: &RetentionSettings,
        by: Option<UserId>,
    ) -> Result<()> {
        erasure::set_retention_settings(&self.conn(), municipality, settings, by)
    }
    fn retention_facts(&self, teams: &[TeamId]) -> Result<Vec<CitizenFacts>> {
        erasure::retention_facts(&self.reader(), teams)
    }
}

impl Store for SqliteStore {
    fn ping(&self) -> Result<()> {
        self.conn()
            .prepare_cached("SELECT 1")?
            .query_row([], |_| Ok(()))?;
        Ok(())
    }

    /// One batch of the group commit for both: a sync joins one commit, not two (the audit
    /// appends' own commits were two thirds of the WAL's writes and syncs with 50 clients),
    /// and a batch that fails takes its records with it.
    fn commit_sync(&self, batch: &[DocumentCommit<'_>], sent: &[AuditRecord]) -> Result<()> {
        if batch.is_empty() && sent.is_empty() {
            // A sync that stored and sent nothing: no transaction begun for it.
            return Ok(());
        }
        let now = now_ms();
        self.in_group(|conn| {
            batch
                .iter()
                .try_for_each(|c| self.commit_in(conn, c, now))?;
            if !sent.is_empty() {
                super::sqlite_audit::append_in(conn, sent)?;
            }
            Ok(())
        })
    }
}

/// The audit log's SQL is in `sqlite_audit`; appends join the group commit (`in_group`).
impl AuditStore for SqliteStore {
    fn append_audit(&self, records: &[AuditRecord]) -> Result<usize> {
        if records.is_empty() {
            // Nothing to append: no transaction begun for it.
            return Ok(0);
        }
        self.in_group(|conn| super::sqlite_audit::append_in(conn, records))
    }
    fn audit_entries(&self, after: u64, limit: usize) -> Result<Vec<StoredAuditEntry>> {
        super::sqlite_audit::entries(&self.reader(), after, limit)
    }
    fn audit_of_citizen(&self, citizen: CitizenId) -> Result<Vec<StoredAuditEntry>> {
        super::sqlite_audit::of_citizen(&self.reader(), citizen)
    }
    fn citizen_home(&self, citizen: CitizenId) -> Result<Option<(TeamId, MunicipalityId)>> {
        super::sqlite_audit::citizen_home(&self.reader(), citizen)
    }
}

/// The registry's SQL is in `sqlite_devices`; this only hands it the connection.
impl DeviceRegistry for SqliteStore {
    fn sign_in_device(&self, sign_in: &DeviceSignIn<'_>) -> Result<[u8; 32]> {
        devices::sign_in_device(&mut self.conn(), sign_in)
    }
    fn device(&self, id: DeviceId) -> Result<Option<DeviceRecord>> {
        devices::device(&self.reader(), id)
    }
    fn token_holder(&self, token_hash: &[u8; 32]) -> Result<Option<TokenHolder>> {
        // In process, two reads cost no round trip (not one snapshot: a revocation between
        // them is seen by the next request).
        let Some((user, expires_at)) = self.user_by_token(token_hash)? else {
            return Ok(None);
        };
        let device = devices::device_of_token(&self.reader(), token_hash)?;
        Ok(Some(TokenHolder {
            user,
            expires_at,
            device,
        }))
    }
    fn touch_device(&self, id: DeviceId, now: Millis) -> Result<()> {
        devices::touch_device(&self.conn(), id, now)
    }
    fn devices_of_municipality(&self, municipality: MunicipalityId) -> Result<Vec<DeviceRecord>> {
        devices::devices_of_municipality(&self.reader(), municipality)
    }
    fn revoke_device(&self, id: DeviceId, by: UserId, reason: &str, now: Millis) -> Result<bool> {
        devices::revoke_device(&self.conn(), id, by, reason, now)
    }
    fn close_handover(&self, id: DeviceId, now: Millis) -> Result<()> {
        devices::close_handover(&self.conn(), id, now)
    }
    fn end_tokens_of(&self, user: UserId) -> Result<usize> {
        devices::end_tokens_of(&self.conn(), user)
    }
    fn actors_for_sync(
        &self,
        user: UserId,
        device: Option<DeviceId>,
        among: &[ActorId],
    ) -> Result<HashSet<ActorId>> {
        devices::actors_for_sync(&self.reader(), user, device, among)
    }
    fn user_by_id(&self, user: UserId) -> Result<Option<UserRecord>> {
        user_where(&self.reader(), "id = ?1", &id_bytes(&user.0))
    }
}

impl AccountStore for SqliteStore {
    fn ensure_municipality(&self, name: &str) -> Result<MunicipalityId> {
        let conn = self.conn();
        conn.prepare_cached(
            "INSERT INTO municipalities (id, name) VALUES (?1, ?2) ON CONFLICT (name) DO NOTHING",
        )?
        .execute(params![id_bytes(&Uuid::new_v4()), name])?;
        let id = conn
            .prepare_cached("SELECT id FROM municipalities WHERE name = ?1")?
            .query_row([name], |r| uuid_at(r, 0))?;
        Ok(MunicipalityId(id))
    }

    fn ensure_team(&self, municipality: MunicipalityId, name: &str) -> Result<TeamId> {
        let conn = self.conn();
        conn.prepare_cached(
            "INSERT INTO teams (id, municipality_id, name) VALUES (?1, ?2, ?3)
             ON CONFLICT (municipality_id, name) DO NOTHING",
        )?
        .execute(params![
            id_bytes(&Uuid::new_v4()),
            id_bytes(&municipality.0),
            name
        ])?;
        let id = conn
            .prepare_cached("SELECT id FROM teams WHERE municipality_id = ?1 AND name = ?2")?
            .query_row(params![id_bytes(&municipality.0), name], |r| uuid_at(r, 0))?;
        Ok(TeamId(id))
    }

    fn find_team(&self, id_or_name: &str) -> Result<Option<TeamId>> {
        let conn = self.conn();
        if let Ok(id) = Uuid::parse_str(id_or_name) {
            let found = conn
                .prepare_cached("SELECT id FROM teams WHERE id = ?1")?
                .query_row([id_bytes(&id)], |r| uuid_at(r, 0))
                .optional()?;
            return Ok(found.map(TeamId));
        }
        let mut stmt = conn.prepare("SELECT id FROM teams WHERE name = ?1")?;
        let ids = stmt
            .query_map([id_or_name], |r| uuid_at(r, 0))?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        match ids.as_slice() {
            [] => Ok(None),
            [one] => Ok(Some(TeamId(*one))),
            _ => Err(Error::Invalid(format!(
                "several teams are named '{id_or_name}'; give the team id"
            ))),
        }
    }

    fn team_info(&self, team: TeamId) -> Result<Option<homerehab_shared::api::TeamInfo>> {
        use homerehab_shared::api::{TeamInfo, TeamMember};
        let conn = self.conn();
        let Some(name) = conn
            .prepare_cached("SELECT name FROM teams WHERE id = ?1")?
            .query_row([id_bytes(&team.0)], |r| r.get::<_, String>(0))
            .optional()?
        else {
            return Ok(None);
        };
        let mut stmt = conn.prepare_cached(
            "SELECT id, display_name, role FROM users WHERE team_id = ?1
             UNION
             SELECT u.id, u.display_name, u.role FROM user_grants g JOIN users u ON u.id = g.user_id
             WHERE g.team_id = ?1
             ORDER BY 2, 1",
        )?;
        let rows = stmt
            .query_map([id_bytes(&team.0)], |r| {
                Ok((
                    uuid_at(r, 0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                ))
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        let members = rows
            .into_iter()
            .map(|(id, display_name, role)| {
                Ok(TeamMember {
                    user_id: UserId(id),
                    display_name,
                    role: Role::parse(&role)
                        .ok_or_else(|| Error::Corrupt(format!("unknown role {role}")))?,
                })
            })
            .collect::<Result<_>>()?;
        Ok(Some(TeamInfo {
            team_id: team,
            name,
            members,
        }))
    }

    fn create_user(&self, user: &NewUser) -> Result<UserId> {
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let id = UserId::new();
        let inserted = tx.prepare_cached("INSERT INTO users (id, username, display_name, password_hash, role, team_id, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT (username) DO NOTHING")?
            .execute(
            params![
                id_bytes(&id.0),
                user.username,
                user.display_name,
                user.password_hash,
                user.role.as_str(),
                id_bytes(&user.team_id.0),
                now_ms()
            ],
        )?;
        if inserted == 0 {
            return Err(Error::AlreadyExists(format!("user '{}'", user.username)));
        }
        for team in &user.granted_teams {
            tx.prepare_cached(
                "INSERT OR IGNORE INTO user_grants (user_id, team_id) VALUES (?1, ?2)",
            )?
            .execute(params![id_bytes(&id.0), id_bytes(&team.0)])?;
        }
        tx.commit()?;
        Ok(id)
    }

    fn record_training(&self, username: &str, on: &str) -> Result<bool> {
        Ok(self
            .conn()
            .prepare_cached("UPDATE users SET trained_on = ?2 WHERE username = ?1")?
            .execute(params![username, on])?
            == 1)
    }

    fn trained_on(&self, user: UserId) -> Result<Option<String>> {
        Ok(self
            .conn()
            .prepare_cached("SELECT trained_on FROM users WHERE id = ?1")?
            .query_row([id_bytes(&user.0)], |r| r.get::<_, Option<String>>(0))
            .optional()?
            .flatten())
    }

    fn user_by_username(&self, username: &str) -> Result<Option<UserRecord>> {
        user_where(&self.conn(), "username = ?1", &username)
    }

    fn register_actor(&self, user: UserId, actor: &ActorId) -> Result<()> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        if reserved_actor(&tx, actor)? {
            return Err(Error::ActorReserved);
        }
        tx.prepare_cached(
            "INSERT INTO actors (actor_id, user_id, registered_at) VALUES (?1, ?2, ?3)
             ON CONFLICT (actor_id) DO NOTHING",
        )?
        .execute(params![actor.to_bytes(), id_bytes(&user.0), now_ms()])?;
        let owner = tx
            .prepare_cached("SELECT user_id FROM actors WHERE actor_id = ?1")?
            .query_row([actor.to_bytes()], |r| uuid_at(r, 0))?;
        if owner != user.0 {
            return Err(Error::ActorTaken);
        }
        tx.commit()?;
        Ok(())
    }

    fn actors_of(&self, user: UserId) -> Result<HashSet<ActorId>> {
        let conn = self.reader();
        let mut stmt = conn.prepare_cached("SELECT actor_id FROM actors WHERE user_id = ?1")?;
        let actors = stmt
            .query_map([id_bytes(&user.0)], |r| {
                r.get::<_, Vec<u8>>(0).map(|b| ActorId::from(b.as_slice()))
            })?
            .collect::<rusqlite::Result<HashSet<_>>>()?;
        Ok(actors)
    }

    fn insert_token(
        &self,
        token_hash: &[u8; 32],
        user: UserId,
        expires_at: Millis,
        now: Millis,
    ) -> Result<()> {
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        tx.prepare_cached("DELETE FROM tokens WHERE expires_at <= ?1")?
            .execute([now])?;
        tx.prepare_cached("INSERT INTO tokens (token_hash, user_id, created_at, expires_at) VALUES (?1, ?2, ?3, ?4)")?
            .execute(
            params![token_hash.as_slice(), id_bytes(&user.0), now, expires_at],
        )?;
        tx.commit()?;
        Ok(())
    }

    fn user_by_token(&self, token_hash: &[u8; 32]) -> Result<Option<(UserRecord, Millis)>> {
        let conn = self.reader();
        let found = conn
            .prepare_cached("SELECT user_id, expires_at FROM tokens WHERE token_hash = ?1")?
            .query_row([token_hash.as_slice()], |r| {
                Ok((r.get::<_, Vec<u8>>(0)?, r.get::<_, Millis>(1)?))
            })
            .optional()?;
        let Some((user_id, expires_at)) = found else {
            return Ok(None);
        };
        Ok(user_where(&conn, "id = ?1", &user_id)?.map(|u| (u, expires_at)))
    }

    fn delete_token(&self, token_hash: &[u8; 32]) -> Result<()> {
        self.conn()
            .prepare_cached("DELETE FROM tokens WHERE token_hash = ?1")?
            .execute([token_hash.as_slice()])?;
        Ok(())
    }

    fn count_sign_in(
        &self,
        name_key: &[u8; 16],
        now: Millis,
        window_ms: Millis,
        max: u32,
    ) -> Result<std::result::Result<(), Millis>> {
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        tx.prepare_cached("DELETE FROM sign_in_attempts WHERE since <= ?1")?
            .execute([now - window_ms])?;
        // Past `max` the count stops at `max + 1`: that marks a refused attempt.
        let (count, since): (i64, Millis) = tx
            .prepare_cached(
                "INSERT INTO sign_in_attempts (name_key, count, since) VALUES (?1, 1, ?2)
             ON CONFLICT (name_key) DO UPDATE SET count = MIN(count + 1, ?3 + 1)
             RETURNING count, since",
            )?
            .query_row(params![name_key.as_slice(), now, max], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })?;
        tx.commit()?;
        Ok(sign_in_verdict(count, since, window_ms, max))
    }

    fn clear_sign_ins(&self, name_key: &[u8; 16]) -> Result<()> {
        self.conn()
            .prepare_cached("DELETE FROM sign_in_attempts WHERE name_key = ?1")?
            .execute([name_key.as_slice()])?;
        Ok(())
    }

    fn municipalities(&self) -> Result<Vec<(MunicipalityId, String)>> {
        let conn = self.conn();
        let mut stmt = conn.prepare_cached("SELECT id, name FROM municipalities ORDER BY name")?;
        let rows = stmt
            .query_map([], |r| Ok((MunicipalityId(uuid_at(r, 0)?), r.get(1)?)))?
            .collect::<rusqlite::Result<_>>()?;
        Ok(rows)
    }

    fn teams(&self) -> Result<Vec<TeamRecord>> {
        let conn = self.conn();
        let mut stmt =
            conn.prepare_cached("SELECT id, name, municipality_id FROM teams ORDER BY name")?;
        let rows = stmt
            .query_map([], |r| {
                Ok(TeamRecord {
                    id: TeamId(uuid_at(r, 0)?),
                    name: r.get(1)?,
                    municipality: MunicipalityId(uuid_at(r, 2)?),
                })
            })?
            .collect::<rusqlite::Result<_>>()?;
        Ok(rows)
    }
}

/// What a sync reads of each document it may see: the header, the heads and the generation.
macro_rules! visible_where {
    ($key:literal) => {
        concat!(
            "SELECT d.id, d.kind, d.team_id, d.course_id, d.heads, d.generation
             FROM documents d
             WHERE ",
            $key
        )
    };
}
/// Read from the covering index `documents_team_generation` alone, never the documents' rows.
const VISIBLE_BY_TEAM: &str = visible_where!("d.team_id = ?1");
const VISIBLE_BY_ID: &str = visible_where!("d.id = ?1");

impl DocumentStore for SqliteStore {
    fn visible_documents(
        &self,
        teams: &[TeamId],
        wider: &[DocumentId],
    ) -> Result<Vec<VisibleDocument>> {
        let conn = self.reader();
        // One read transaction: the heads and generations of one snapshot (WAL), so a rewrite
        // committed meanwhile is seen whole or not at all.
        let tx = conn.unchecked_transaction()?;
        let visible = |row: &Row<'_>| -> Result<VisibleDocument> {
            let (header, heads) = header_and_heads(row)?;
            Ok(VisibleDocument {
                header,
                heads,
                generation: row.get(5)?,
            })
        };
        let mut out = Vec::new();
        let mut by_team = tx.prepare_cached(VISIBLE_BY_TEAM)?;
        for team in teams {
            let mut rows = by_team.query([id_bytes(&team.0)])?;
            while let Some(row) = rows.next()? {
                out.push(visible(row)?);
            }
        }
        let mut by_id = tx.prepare_cached(VISIBLE_BY_ID)?;
        for id in wider {
            let mut rows = by_id.query([id_bytes(&id.0)])?;
            if let Some(row) = rows.next()? {
                out.push(visible(row)?);
            }
        }
        drop((by_team, by_id));
        tx.finish()?;
        Ok(out)
    }

    fn document_heads(&self, teams: &[TeamId]) -> Result<Vec<(Header, Vec<Hash>)>> {
        let conn = self.reader();
        let mut stmt = conn.prepare_cached(
            "SELECT id, kind, team_id, course_id, heads FROM documents WHERE team_id = ?1",
        )?;
        let mut out = Vec::new();
        for team in teams {
            let mut rows = stmt.query([id_bytes(&team.0)])?;
            while let Some(row) = rows.next()? {
                out.push(header_and_heads(row)?);
            }
        }
        Ok(out)
    }

    fn document_heads_by_id(&self, ids: &[DocumentId]) -> Result<Vec<(Header, Vec<Hash>)>> {
        let conn = self.reader();
        let mut stmt = conn.prepare_cached(
            "SELECT id, kind, team_id, course_id, heads FROM documents WHERE id = ?1",
        )?;
        let mut out = Vec::new();
        for id in ids {
            let mut rows = stmt.query([id_bytes(&id.0)])?;
            if let Some(row) = rows.next()? {
                out.push(header_and_heads(row)?);
            }
        }
        Ok(out)
    }

    fn document_header(&self, id: DocumentId) -> Result<Option<Header>> {
        let conn = self.reader();
        let mut stmt = conn
            .prepare_cached("SELECT id, kind, team_id, course_id FROM documents WHERE id = ?1")?;
        let mut rows = stmt.query([id_bytes(&id.0)])?;
        match rows.next()? {
            Some(row) => Ok(Some(header_at(row)?)),
            None => Ok(None),
        }
    }

    fn load_document(&self, id: DocumentId) -> Result<Option<Automerge>> {
        let stored = {
            let mut conn = self.reader();
            // One read transaction, so a compaction cannot fall between the two reads.
            let tx = conn.transaction()?;
            let stored = document_bytes(&tx, id)?;
            tx.commit()?;
            stored
        };
        // Decoding happens outside the lock: it is the expensive part.
        stored
            .map(|(snapshot, chunks)| decode(id, &snapshot, &chunks))
            .transpose()
    }

    fn saved_document(&self, id: DocumentId) -> Result<Option<SavedDocument>> {
        let mut conn = self.reader();
        // One read transaction: the heads are those of the bytes.
        let tx = conn.transaction()?;
        let heads: Option<Vec<u8>> = tx
            .prepare_cached("SELECT heads FROM documents WHERE id = ?1")?
            .query_row([id_bytes(&id.0)], |r| r.get(0))
            .optional()?;
        let stored = document_bytes(&tx, id)?;
        tx.commit()?;
        let (Some(heads), Some((snapshot, chunks))) = (heads, stored) else {
            return Ok(None);
        };
        Ok(Some((
            heads_from_bytes(id, &heads)?,
            saved_bytes(snapshot, chunks),
        )))
    }

    fn commit_documents(&self, batch: &[DocumentCommit<'_>]) -> Result<()> {
        let now = now_ms();
        self.in_group(|conn| batch.iter().try_for_each(|c| self.commit_in(conn, c, now)))
    }

    fn document_footprint(&self, id: DocumentId) -> Result<Option<DocumentFootprint>> {
        let conn = self.conn();
        let found = conn
            .prepare_cached(
                "SELECT length(snapshot), incremental_bytes,
                   (SELECT COUNT(*) FROM doc_changes WHERE doc_id = ?1)
                 FROM documents WHERE id = ?1",
            )?
            .query_row([id_bytes(&id.0)], |r| {
                Ok(DocumentFootprint {
                    snapshot_bytes: r.get::<_, i64>(0)? as usize,
                    incremental_bytes: r.get::<_, i64>(1)? as usize,
                    chunks: r.get::<_, i64>(2)? as usize,
                })
            })
            .optional()?;
        Ok(found)
    }

    fn quarantine(
        &self,
        doc: DocumentId,
        generation: u32,
        user: UserId,
        bytes: &[u8],
        reason: &str,
        limits: &QuarantineLimits,
    ) -> Result<Quarantine> {
        use sha2::Digest;
        let digest = sha2::Sha256::digest(bytes).to_vec();
        let mut conn = self.conn();
        // One write transaction: two requests cannot both slip under a limit, and an erasure
        // (a write transaction too) is wholly before this one or wholly after it.
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        if super::sqlite_erasure::is_erased(&tx, doc)?
            || super::sqlite_erasure::generation(&tx, doc)? != generation
        {
            return Err(Error::DocumentMoved(doc));
        }
        let (doc_id, user_id) = (id_bytes(&doc.0), id_bytes(&user.0));
        let known: bool = tx
            .prepare_cached(
                "SELECT EXISTS (SELECT 1 FROM quarantine
               WHERE doc_id = ?1 AND user_id = ?2 AND digest = ?3)",
            )?
            .query_row(params![doc_id, user_id, digest], |r| r.get(0))?;
        if known {
            return Ok(Quarantine::Kept);
        }
        let usage = |column: &str, key: &[u8]| -> rusqlite::Result<(u64, u64)> {
            tx.query_row(
                &format!(
                    "SELECT COUNT(*), COALESCE(SUM(length(bytes)), 0) FROM quarantine
                     WHERE {column} = ?1"
                ),
                [key],
                |r| Ok((r.get::<_, i64>(0)? as u64, r.get::<_, i64>(1)? as u64)),
            )
        };
        let size = bytes.len() as u64;
        let (user_entries, user_bytes) = usage("user_id", user_id)?;
        let (doc_entries, doc_bytes) = usage("doc_id", doc_id)?;
        if user_entries >= limits.user_entries
            || user_bytes + size > limits.user_bytes
            || doc_entries >= limits.doc_entries
            || doc_bytes + size > limits.doc_bytes
        {
            return Ok(Quarantine::Full);
        }
        tx.prepare_cached(
            "INSERT OR IGNORE INTO quarantine (doc_id, user_id, bytes, reason, at, digest)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )?
        .execute(params![doc_id, user_id, bytes, reason, now_ms(), digest])?;
        tx.commit()?;
        Ok(Quarantine::Kept)
    }

    fn quarantined(&self, doc: DocumentId) -> Result<usize> {
        let n: i64 = self
            .conn()
            .prepare_cached("SELECT COUNT(*) FROM quarantine WHERE doc_id = ?1")?
            .query_row([id_bytes(&doc.0)], |r| r.get(0))?;
        Ok(n as usize)
    }

    fn quarantine_list(&self, scope: &QuarantineScope) -> Result<Vec<QuarantineEntry>> {
        let (clause, args) = quarantine_where(scope);
        let conn = self.conn();
        let mut stmt = conn.prepare(&format!(
            "SELECT id, doc_id, user_id, length(bytes), reason, at FROM quarantine
             WHERE {clause} ORDER BY at DESC, id DESC"
        ))?;
        let entries = stmt
            .query_map(rusqlite::params_from_iter(args.iter()), |r| {
                Ok(QuarantineEntry {
                    id: r.get(0)?,
                    doc: DocumentId(uuid_at(r, 1)?),
                    user: UserId(uuid_at(r, 2)?),
                    bytes: r.get::<_, i64>(3)? as u64,
                    reason: r.get(4)?,
                    at: r.get(5)?,
                })
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(entries)
    }

    fn quarantine_purge(&self, scope: &QuarantineScope) -> Result<usize> {
        let (clause, args) = quarantine_where(scope);
        let n = self.conn().execute(
            &format!("DELETE FROM quarantine WHERE {clause}"),
            rusqlite::params_from_iter(args.iter()),
        )?;
        Ok(n)
    }
}

impl MediaStore for SqliteStore {
    fn record_media(&self, media: &MediaRecord) -> Result<()> {
        self.conn().prepare_cached("INSERT INTO media (sha256, municipality_id, byte_size, content_type, uploaded_by, uploaded_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT (sha256, municipality_id) DO NOTHING")?
            .execute(
            params![
                media.sha256,
                id_bytes(&media.municipality.0),
                media.byte_size as i64,
                media.content_type,
                id_bytes(&media.uploaded_by.0),
                now_ms()
            ],
        )?;
        Ok(())
    }

    fn media_bytes_besides(&self, municipality: MunicipalityId, sha256: &str) -> Result<u64> {
        let bytes: i64 = self
            .conn()
            .prepare_cached(
                "SELECT COALESCE(SUM(byte_size), 0) FROM media
                 WHERE municipality_id = ?1 AND sha256 <> ?2",
            )?
            .query_row(params![id_bytes(&municipality.0), sha256], |r| r.get(0))?;
        Ok(bytes.max(0) as u64)
    }

    fn media_of(&self, sha256: &str, municipality: MunicipalityId) -> Result<Option<MediaRecord>> {
        let found = self
            .conn()
            .prepare_cached(
                "SELECT byte_size, content_type, uploaded_by FROM media
                 WHERE sha256 = ?1 AND municipality_id = ?2
                   AND NOT EXISTS (SELECT 1 FROM media_withdrawn
                                   WHERE library_id = ?3 AND sha256 = ?1)",
            )?
            .query_row(
                params![
                    sha256,
                    id_bytes(&municipality.0),
                    id_bytes(&DocumentId::library_of(municipality).0)
                ],
                |r| {
                    Ok(MediaRecord {
                        sha256: sha256.to_string(),
                        municipality,
                        byte_size: r.get::<_, i64>(0)? as u64,
                        content_type: r.get(1)?,
                        uploaded_by: UserId(uuid_at(r, 2)?),
                    })
                },
            )
            .optional()?;
        Ok(found)
    }
}

impl ReadModelStore for SqliteStore {
    fn pending_projections(&self, limit: usize) -> Result<Vec<(DocumentId, i64)>> {
        read_model::pending(&self.conn(), limit)?
            .into_iter()
            .map(|(doc, version)| Ok((document_id(&doc)?, version)))
            .collect()
    }

    fn pending_projection_count(&self) -> Result<u64> {
        read_model::pending_count(&self.conn())
    }

    fn settle_projections(&self, round: &[Projection]) -> Result<Vec<bool>> {
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let mut settled = Vec::with_capacity(round.len());
        for p in round {
            let doc = id_bytes(&p.doc.0);
            settled.push(match &p.rows {
                Ok(rows) => read_model::replace(&tx, doc, p.version, rows)?,
                Err(error) => read_model::fail(&tx, doc, p.version, error, now_ms())?,
            });
        }
        tx.commit()?;
        Ok(settled)
    }

    fn remark_grants_without_day(&self) -> Result<u64> {
        Ok(self
            .conn()
            .prepare_cached(read_model::REMARK_GRANTS_WITHOUT_DAY)?
            .execute([])? as u64)
    }

    fn reset_read_model(&self) -> Result<()> {
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        read_model::reset(&tx)?;
        tx.commit()?;
        Ok(())
    }

    fn read_model_documents(&self) -> Result<Vec<(DocumentId, bool)>> {
        read_model::documents(&self.conn())?
            .into_iter()
            .map(|(doc, pending)| Ok((document_id(&doc)?, pending)))
            .collect()
    }

    fn projection_failure_count(&self) -> Result<u64> {
        read_model::failure_count(&self.conn())
    }

    fn stored_rows(&self, doc: DocumentId) -> Result<DocumentRows> {
        read_model::stored_rows(&self.conn(), id_bytes(&doc.0))
    }
}

impl EvidenceStore for SqliteStore {
    fn evidence_settings(&self, municipality: MunicipalityId) -> Result<EvidenceSettings> {
        evidence::settings(&self.conn(), municipality)
    }

    fn all_evidence_settings(&self) -> Result<Vec<(MunicipalityId, EvidenceSettings)>> {
        evidence::all_settings(&self.conn())
    }

    fn set_evidence_settings(
        &self,
        municipality: MunicipalityId,
        settings: &EvidenceSettings,
        by: UserId,
    ) -> Result<()> {
        evidence::set_settings(&self.conn(), municipality, settings, by, now_ms())
    }

    fn effect_settings(&self, municipality: MunicipalityId) -> Result<StoredSettings> {
        let library = DocumentId::library_of(municipality);
        match evidence::effect_settings_json(&self.conn(), id_bytes(&library.0))? {
            Some(json) => serde_json::from_str(&json)
                .map_err(|e| Error::Corrupt(format!("projected effect settings: {e}"))),
            None => Ok(StoredSettings::default()),
        }
    }

    fn evidence_referrals(&self, teams: &[TeamId], period: Period) -> Result<Vec<ReferralFacts>> {
        evidence::referrals(&self.conn(), teams, period)
    }

    fn evidence_staff(&self, teams: &[TeamId], as_of: time::Date) -> Result<Vec<StaffMember>> {
        evidence::staff(&self.conn(), teams, as_of)
    }

    fn completed_courses(
        &self,
        teams: Option<&[TeamId]>,
        period: Period,
    ) -> Result<Vec<CourseFacts>> {
        evidence::completed_courses(&self.conn(), teams, period)
    }

    fn export_rows(
        &self,
        table: ExportTable,
        teams: &[TeamId],
        period: &Period,
    ) -> Result<Vec<Vec<Cell>>> {
        evidence::export_rows(&self.conn(), table, teams, period)
    }
}

/// The steps of SQLite's plan for `sql` with `params` (`EXPLAIN QUERY PLAN`'s detail column),
/// for tests that a query reads the index it was given.
#[cfg(test)]
pub(super) fn query_plan(
    conn: &Connection,
    sql: &str,
    params: impl rusqlite::Params,
) -> Vec<String> {
    conn.prepare(&format!("EXPLAIN QUERY PLAN {sql}"))
        .unwrap()
        .query_map(params, |row| row.get(3))
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap()
}

#[cfg(test)]
mod tests {
    use super::*;
    use homerehab_shared::docs::{genesis, put_session};
    use homerehab_shared::model::SessionLog;

    fn session(course: CourseId, at: Millis) -> SessionLog {
        SessionLog {
            note: Some("x".repeat(40)),
            ..SessionLog::start(course, UserId::new(), None, at)
        }
    }

    /// Every sync reads its teams' headers and heads; the plan must find them in the covering
    /// index, not seek each document's row (a page of its own, its snapshot inline).
    #[test]
    fn the_visible_documents_are_read_from_the_covering_index() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("db.sqlite3")).unwrap();
        let plan = query_plan(
            &store.reader(),
            VISIBLE_BY_TEAM,
            [id_bytes(&TeamId::new().0)],
        );
        assert!(
            plan.iter()
                .any(|step| step.contains("USING COVERING INDEX documents_team_generation")),
            "{plan:?}"
        );
        // The generation too: no other table is searched.
        assert_eq!(plan.len(), 1, "{plan:?}");
    }

    /// A sync's commit that meets another writer's transaction (the projector's, another
    /// process's) waits for it and lands; it fails as busy only after [`WRITE_LOCK_WAIT`].
    #[test]
    fn a_commit_waits_for_another_writer_and_then_lands() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db.sqlite3");
        let store = SqliteStore::open(&path).unwrap();
        let other = Connection::open(&path).unwrap();
        other.execute_batch("BEGIN IMMEDIATE").unwrap();
        let header = Header::session_log(TeamId::new(), CourseId::new());
        std::thread::scope(|s| {
            let commit = s.spawn(|| store.commit_document(&header, &[], &genesis(&header), &[]));
            std::thread::sleep(Duration::from_millis(50));
            assert!(!commit.is_finished(), "it waits while the lock is held");
            other.execute_batch("COMMIT").unwrap();
            commit.join().unwrap().unwrap();
        });
        assert!(store.document_header(header.id).unwrap().is_some());
        // The handler's bound: it looks again until the wait is spent, then gives up.
        let limit = i32::try_from(WRITE_LOCK_WAIT.as_millis()).unwrap();
        assert!(!wait_for_the_write_lock(limit));
    }

    /// SQLite may roll a whole transaction back on an error (`SQLITE_FULL`, `IOERR`, `NOMEM`),
    /// taking the writes of every batch that joined it before. Simulated here by a batch that
    /// rolls the transaction back itself while an earlier batch waits for the shared commit:
    /// the earlier one must fail too, never be answered as stored.
    #[test]
    fn a_batch_whose_error_took_the_transaction_fails_the_batches_that_wait_on_it() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("db.sqlite3")).unwrap();
        store
            .in_group(|conn| Ok(conn.execute_batch("CREATE TABLE probe (n INTEGER)")?))
            .unwrap();
        let store = &store;
        let queued = move || store.group.state.lock().unwrap().queued;
        let mut shared = 0;
        for n in 0..20 {
            let (earlier, later) = std::thread::scope(|s| {
                let (inside, entered) = std::sync::mpsc::channel();
                let earlier = s.spawn(move || {
                    store.in_group(|conn| {
                        conn.execute("INSERT INTO probe (n) VALUES (?1)", [n])?;
                        inside.send(()).unwrap();
                        // Until the later batch waits for the connection: it joins this
                        // transaction instead of opening its own.
                        let until = std::time::Instant::now() + Duration::from_secs(5);
                        while queued() == 0 && std::time::Instant::now() < until {
                            std::thread::yield_now();
                        }
                        Ok(())
                    })
                });
                entered.recv().unwrap();
                let later = s.spawn(move || {
                    store.in_group(|conn| -> Result<()> {
                        conn.execute_batch("ROLLBACK")?;
                        Err(Error::CommitFailed("the disk is full".into()))
                    })
                });
                (earlier.join().unwrap(), later.join().unwrap())
            });
            assert!(later.is_err());
            let stored: i64 = store
                .reader()
                .query_row("SELECT COUNT(*) FROM probe WHERE n = ?1", [n], |r| r.get(0))
                .unwrap();
            match earlier {
                Ok(()) => assert_eq!(stored, 1, "answered as stored, so it must be"),
                Err(_) => {
                    assert_eq!(stored, 0);
                    shared += 1;
                }
            }
        }
        // The two shared a transaction in (nearly) every round; were they never to, this test
        // would prove nothing.
        assert!(
            shared > 0,
            "the later batch never joined the earlier one's transaction"
        );
    }

    #[test]
    fn concurrent_batches_share_commits_and_a_moved_one_fails_alone() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("db.sqlite3")).unwrap();
        let team = TeamId::new();
        let results: Vec<(Header, bool, Result<()>)> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..8)
                .map(|t| {
                    let store = &store;
                    s.spawn(move || {
                        (0..25)
                            .map(|i| {
                                let header = Header::session_log(team, CourseId::new());
                                let doc = genesis(&header);
                                // Every fifth batch claims a base the document never had.
                                let stale = (t + i) % 5 == 0;
                                let bogus = [[7u8; 32]];
                                let base: &[Hash] = if stale { &bogus } else { &[] };
                                let r = store.commit_document(&header, base, &doc, &[]);
                                (header, stale, r)
                            })
                            .collect::<Vec<_>>()
                    })
                })
                .collect();
            handles
                .into_iter()
                .flat_map(|h| h.join().unwrap())
                .collect()
        });
        for (header, stale, r) in &results {
            let stored = store.document_header(header.id).unwrap().is_some();
            if *stale {
                assert!(matches!(r, Err(Error::DocumentMoved(_))), "{r:?}");
                assert!(!stored, "a refused batch stores nothing");
            } else {
                assert!(r.is_ok(), "{r:?}");
                assert!(stored, "a committed batch is stored");
            }
        }
        assert_eq!(
            store.document_heads(&[team]).unwrap().len(),
            results.iter().filter(|(_, stale, _)| !stale).count()
        );
    }

    #[test]
    fn migrations_are_valid_and_reopening_is_a_no_op() {
        Migrations::new(migrations()).validate().unwrap();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db.sqlite3");
        SqliteStore::open(&path).unwrap();
        SqliteStore::open(&path).unwrap().ping().unwrap();
    }

    /// A rewritten document's generation, kept in a table of its own before, is on its row
    /// after the upgrade, and what a server of the release before writes into that table
    /// reaches the row (inserted or updated); a document never rewritten is of generation 0.
    #[test]
    fn a_documents_generation_moves_onto_its_row_in_the_upgrade() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db.sqlite3");
        let team = TeamId::new();
        let rewritten = Header::session_log(team, CourseId::new());
        let plain = Header::session_log(team, CourseId::new());
        {
            let mut conn = Connection::open(&path).unwrap();
            conn.pragma_update(None, "foreign_keys", "ON").unwrap();
            // Every migration before the one that moves the generation.
            let mut before = migrations();
            let moving = format!(
                "{:?}",
                M::up(super::super::sqlite_erasure::MIGRATION_GENERATION_COLUMN)
            );
            let at = before
                .iter()
                .position(|m| format!("{m:?}") == moving)
                .unwrap();
            before.truncate(at);
            Migrations::new(before).to_latest(&mut conn).unwrap();
            let store = SqliteStore::with_connection(conn, &path).unwrap();
            for header in [&rewritten, &plain] {
                store
                    .commit_document(header, &[], &genesis(header), &[])
                    .unwrap();
            }
            store
                .conn()
                .execute(
                    "INSERT INTO document_generations (doc_id, generation) VALUES (?1, 3)",
                    [rewritten.id.as_bytes().as_slice()],
                )
                .unwrap();
        }
        let store = SqliteStore::open(&path).unwrap();
        crate::store::assert_generations(&store, team, &[(rewritten.id, 3), (plain.id, 0)]);
        // A server of the release before, still running, rewrites a document as it did: the
        // row has the generation too.
        for generation in [1, 2] {
            store
                .conn()
                .execute(
                    "INSERT INTO document_generations (doc_id, generation) VALUES (?1, ?2)
                     ON CONFLICT (doc_id) DO UPDATE SET generation = excluded.generation",
                    params![plain.id.as_bytes().as_slice(), generation],
                )
                .unwrap();
            crate::store::assert_generations(
                &store,
                team,
                &[(rewritten.id, 3), (plain.id, generation)],
            );
        }
    }

    #[test]
    fn documents_stored_before_the_library_kind_survive_the_upgrade() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db.sqlite3");
        let (team, course) = (TeamId::new(), CourseId::new());
        let header = Header::session_log(team, course);
        let mut doc = genesis(&header).with_actor(ActorId::random());
        {
            // A database of protocol 1: the first two migrations, a document with a chunk.
            let mut conn = Connection::open(&path).unwrap();
            conn.pragma_update(None, "foreign_keys", "ON").unwrap();
            let mut first_two = migrations();
            first_two.truncate(2);
            Migrations::new(first_two).to_latest(&mut conn).unwrap();
            // Today's commit marks the read model pending and looks for a tombstone; that code
            // did neither (both dropped below).
            conn.execute_batch(
                "CREATE TABLE rm_pending (doc_id BLOB PRIMARY KEY, version INTEGER NOT NULL);
                 CREATE TABLE erased_documents (id BLOB PRIMARY KEY, erased_at INTEGER NOT NULL);",
            )
            .unwrap();
            let store = SqliteStore::with_connection(conn, &path).unwrap();
            store
                .commit_document(
                    &header,
                    &store.stored_heads(header.id).unwrap().unwrap_or_default(),
                    &doc,
                    &[],
                )
                .unwrap();
            let before = doc.get_heads();
            put_session(&mut doc, &session(course, 1), 1).unwrap();
            let new = homerehab_shared::sync::raw_changes_since(&doc, &before);
            store
                .commit_document(
                    &header,
                    &store.stored_heads(header.id).unwrap().unwrap_or_default(),
                    &doc,
                    &new,
                )
                .unwrap();
            assert_eq!(
                store.document_footprint(header.id).unwrap().unwrap().chunks,
                1
            );
            store
                .conn()
                .execute_batch("DROP TABLE rm_pending; DROP TABLE erased_documents;")
                .unwrap();
        }
        let store = SqliteStore::open(&path).unwrap();
        let loaded = store.load_document(header.id).unwrap().unwrap();
        assert_eq!(loaded.get_heads(), doc.get_heads());
        // What the server held before the read model is projected once it is there.
        let round = store.project_pending(10).unwrap();
        assert_eq!((round.projected, round.pending), (1, 0));
        let library = Header::library(MunicipalityId::new());
        store
            .commit_document(
                &library,
                &store.stored_heads(library.id).unwrap().unwrap_or_default(),
                &genesis(&library),
                &[],
            )
            .unwrap();
        let found = store.document_heads_by_id(&[library.id]).unwrap();
        assert_eq!(found[0].0, library);
        // The foreign key follows the rebuilt table: a chunk of an unknown document is refused.
        let orphan = store.conn().execute(
            "INSERT INTO doc_changes (doc_id, seq, bytes) VALUES (X'00', 1, X'00')",
            [],
        );
        assert!(orphan.is_err());
    }

    fn media_item(byte: u8) -> homerehab_shared::municipal::MediaItem {
        homerehab_shared::municipal::MediaItem {
            sha256: format!("{byte:02x}").repeat(32),
            content_type: "image/jpeg".into(),
            byte_size: 10,
            file_name: "knae.jpg".into(),
            shows_person: false,
            consent: None,
            owner: "Thisted Kommune".into(),
            withdrawn: false,
            added_by: UserId::new(),
            added_at: 1,
        }
    }

    /// A municipality with a user who uploaded media 1 and 2, and its library recording both.
    fn library_with_two_media(store: &SqliteStore) -> (MunicipalityId, Header, Automerge) {
        use homerehab_shared::municipal::put_media;
        let m = store.ensure_municipality("Thisted").unwrap();
        let team = store.ensure_team(m, "Nord").unwrap();
        let user = store
            .create_user(&NewUser {
                username: "terapeut1".into(),
                display_name: "Terapeut".into(),
                password_hash: "x".into(),
                role: Role::Therapist,
                team_id: team,
                granted_teams: vec![],
            })
            .unwrap();
        let header = Header::library(m);
        let mut doc = genesis(&header).with_actor(ActorId::random());
        for byte in [1, 2] {
            let item = media_item(byte);
            put_media(&mut doc, &item, 1).unwrap();
            store
                .record_media(&MediaRecord {
                    sha256: item.sha256,
                    municipality: m,
                    byte_size: 10,
                    content_type: "image/jpeg".into(),
                    uploaded_by: user,
                })
                .unwrap();
        }
        (m, header, doc)
    }

    /// Migrations applied before the one that adds `media_withdrawn`.
    const BEFORE_MEDIA_WITHDRAWN: usize = 12;

    #[test]
    fn processes_opening_a_new_file_at_once_all_open_it() {
        // Each thread opens the file as a process of its own would (own descriptors, own lock).
        for _ in 0..5 {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("homerehab.sqlite3");
            let start = std::sync::Barrier::new(6);
            std::thread::scope(|s| {
                let opened: Vec<_> = (0..6)
                    .map(|_| {
                        s.spawn(|| {
                            start.wait();
                            SqliteStore::open(&path).map(|_| ())
                        })
                    })
                    .collect();
                for o in opened {
                    o.join().unwrap().expect("opened and migrated");
                }
            });
        }
    }

    #[test]
    fn the_upgrade_to_media_withdrawn_reads_the_stored_libraries() {
        use homerehab_shared::municipal::withdraw_media;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db.sqlite3");
        let (m, one) = {
            // A database from before the table: today's commit writes it, that code did not
            // (dropped again below).
            let mut conn = Connection::open(&path).unwrap();
            conn.pragma_update(None, "foreign_keys", "ON").unwrap();
            let mut before = migrations();
            before.truncate(BEFORE_MEDIA_WITHDRAWN);
            Migrations::new(before).to_latest(&mut conn).unwrap();
            let missing: bool = conn
                .query_row(
                    "SELECT NOT EXISTS (SELECT 1 FROM sqlite_master WHERE name = 'media_withdrawn')",
                    [],
                    |r| r.get(0),
                )
                .unwrap();
            assert!(missing, "the migration after these adds it");
            // Today's commit writes these and looks for a tombstone (both dropped below).
            conn.execute_batch(
                "CREATE TABLE media_withdrawn (library_id BLOB, sha256 TEXT);
                 CREATE TABLE erased_documents (id BLOB PRIMARY KEY, erased_at INTEGER NOT NULL);",
            )
            .unwrap();
            let store = SqliteStore::with_connection(conn, &path).unwrap();
            let (m, header, mut doc) = library_with_two_media(&store);
            let one = media_item(1).sha256;
            withdraw_media(&mut doc, &one, 2).unwrap();
            store
                .commit_document(
                    &header,
                    &store.stored_heads(header.id).unwrap().unwrap_or_default(),
                    &doc,
                    &[],
                )
                .unwrap();
            store
                .conn()
                .execute_batch("DROP TABLE media_withdrawn; DROP TABLE erased_documents;")
                .unwrap();
            (m, one)
        };
        let store = SqliteStore::open(&path).unwrap();
        assert!(store.media_of(&one, m).unwrap().is_none());
        assert!(store.media_of(&media_item(2).sha256, m).unwrap().is_some());
    }

    /// Every statement a connection still holds prepared, with how often SQLite prepared it
    /// again.
    fn reprepared(conn: &Connection) -> Vec<(String, i32)> {
        use rusqlite::ffi;
        let mut found = Vec::new();
        // SAFETY: the connection is borrowed for the walk, so no statement is finalized while
        // it is read; `sqlite3_next_stmt` and `sqlite3_sql` only read the connection's list.
        unsafe {
            let db = conn.handle();
            let mut stmt = ffi::sqlite3_next_stmt(db, std::ptr::null_mut());
            while !stmt.is_null() {
                let n = ffi::sqlite3_stmt_status(stmt, ffi::SQLITE_STMTSTATUS_REPREPARE, 0);
                let sql = std::ffi::CStr::from_ptr(ffi::sqlite3_sql(stmt)).to_string_lossy();
                found.push((sql.into_owned(), n));
                stmt = ffi::sqlite3_next_stmt(db, stmt);
            }
        }
        found
    }

    /// A cached statement is prepared once. SQLite plans a bare bound `LIMIT ?` by its value
    /// and so prepared the projector's pending read again at every round (3 % of the server's
    /// CPU in an upload); anything else that expires a statement at every run shows here too.
    #[test]
    fn the_sync_and_projector_statements_are_prepared_once() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("db.sqlite3")).unwrap();
        let team = TeamId::new();
        for round in 0..3 {
            let course = CourseId::new();
            let header = Header::session_log(team, course);
            let mut doc = genesis(&header);
            store.commit_document(&header, &[], &doc, &[]).unwrap();
            let before = doc.get_heads();
            put_session(&mut doc, &session(course, 1_000 + round), 1).unwrap();
            let changes = homerehab_shared::sync::raw_changes_since(&doc, &before);
            store
                .commit_document(
                    &header,
                    &homerehab_shared::sync::wire::to_hashes(&before),
                    &doc,
                    &changes,
                )
                .unwrap();
            store.project_pending(16).unwrap();
            store
                .append_audit(&[AuditRecord::by_server(
                    homerehab_shared::audit::AuditAction::SignedOutEverywhere,
                    1_000 + round,
                )])
                .unwrap();
            store.audit_entries(0, 10).unwrap();
            store.visible_documents(&[team], &[]).unwrap();
        }
        let mut again: Vec<(String, i32)> = reprepared(&store.conn());
        for reader in &store.readers {
            again.extend(reprepared(&reader.lock().unwrap()));
        }
        assert!(
            again.len() > 5,
            "the walk sees the cached statements: {again:?}"
        );
        again.retain(|(_, n)| *n > 0);
        assert!(again.is_empty(), "prepared again: {again:#?}");
    }
}
