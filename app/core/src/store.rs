//! The device's local store: one SQLite file (WAL, `synchronous=FULL`) holding the Automerge
//! documents (snapshot + incremental changes), the heads the server last confirmed, the outbox
//! of documents with unsent changes, and relational projections the UI and statistics query.
//!
//! Every write is one SQLite transaction that stores the new Automerge change *and* updates the
//! projections; it is committed before the call returns, so a confirmed set survives a crash.

use crate::error::{CoreError, Result};
use crate::lock::{self, Gate, LockState};
use automerge::{ActorId, Automerge, ChangeHash, ReadDoc};
use homerehab_shared::auth::{authorize, Access};
use homerehab_shared::docs::{self, CourseDoc, DocumentKind, Header, RosterDoc, SessionLogDoc};
use homerehab_shared::ids::*;
use homerehab_shared::model::*;
use homerehab_shared::sync::client::WholeDocument;
use homerehab_shared::sync::{plan_offer, ClientStorage, Hash, Offer, OfferPlan, Refusal};
use rusqlite::{params, Connection, OptionalExtension};
use rusqlite_migration::{Migrations, M};
use std::collections::HashMap;
use std::path::Path;

/// Migrations are only ever appended, never edited.
const MIGRATIONS: &[M<'static>] = &[
    M::up(
        r#"
CREATE TABLE meta (key TEXT PRIMARY KEY, value BLOB NOT NULL);
CREATE TABLE documents (
    doc_id BLOB PRIMARY KEY,
    kind TEXT NOT NULL,
    team_id BLOB NOT NULL,
    course_id BLOB,
    heads BLOB NOT NULL,
    server_heads BLOB,
    snapshot BLOB NOT NULL,
    incremental_bytes INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE doc_changes (seq INTEGER PRIMARY KEY AUTOINCREMENT, doc_id BLOB NOT NULL, bytes BLOB NOT NULL);
CREATE INDEX doc_changes_by_doc ON doc_changes(doc_id, seq);
CREATE TABLE outbox (doc_id BLOB PRIMARY KEY, since INTEGER NOT NULL);
CREATE TABLE citizens (
    id TEXT PRIMARY KEY, team_id TEXT NOT NULL, name TEXT NOT NULL, local_ref TEXT NOT NULL, active INTEGER NOT NULL
);
CREATE TABLE citizen_assignments (citizen_id TEXT NOT NULL, user_id TEXT NOT NULL, PRIMARY KEY (citizen_id, user_id));
CREATE TABLE courses (
    id TEXT PRIMARY KEY, citizen_id TEXT NOT NULL, team_id TEXT NOT NULL, legal_basis TEXT NOT NULL,
    start_date TEXT NOT NULL, planned_weeks INTEGER NOT NULL, sessions_per_week INTEGER NOT NULL,
    minutes_per_session INTEGER NOT NULL, status TEXT NOT NULL, responsible_therapist TEXT NOT NULL,
    current_revision TEXT, revision_count INTEGER NOT NULL
);
CREATE INDEX courses_by_citizen ON courses(citizen_id);
CREATE TABLE program_lines (
    course_id TEXT NOT NULL, line_id TEXT NOT NULL, exercise_ref TEXT NOT NULL, position REAL NOT NULL,
    sets INTEGER NOT NULL, reps INTEGER, duration_s INTEGER, load TEXT,
    PRIMARY KEY (course_id, line_id)
);
CREATE TABLE sessions (
    id TEXT PRIMARY KEY, course_id TEXT NOT NULL, performed_by TEXT NOT NULL, program_revision TEXT,
    started_at INTEGER NOT NULL, ended_at INTEGER, status TEXT NOT NULL, not_carried_out TEXT,
    general_condition INTEGER, set_count INTEGER NOT NULL, max_pain INTEGER
);
CREATE INDEX sessions_by_course ON sessions(course_id, started_at);
"#,
    ),
    // The therapist's and leader's views (caseload, citizens, staff, overview) as projection
    // queries: program conflicts and addresses projected, the team's staff directory kept.
    M::up(
        r#"
ALTER TABLE courses ADD COLUMN program_conflicts INTEGER NOT NULL DEFAULT 0;
ALTER TABLE citizens ADD COLUMN address TEXT;
CREATE INDEX sessions_by_performer ON sessions(performed_by, started_at);
CREATE INDEX citizen_assignments_by_user ON citizen_assignments(user_id);
CREATE TABLE teams (team_id TEXT PRIMARY KEY, name TEXT NOT NULL);
CREATE TABLE staff (
    team_id TEXT NOT NULL, user_id TEXT NOT NULL, display_name TEXT NOT NULL, role TEXT NOT NULL,
    PRIMARY KEY (team_id, user_id)
);
"#,
    ),
    // Documents whose changes the server refused: why, and the heads holding the refused
    // changes (offered again only once the document changes; `shared::sync::plan_offer`).
    M::up(
        r#"
CREATE TABLE refusals (
    doc_id BLOB PRIMARY KEY, kind TEXT NOT NULL, reason TEXT NOT NULL, heads BLOB NOT NULL, at INTEGER NOT NULL
);
"#,
    ),
    // Damage kept aside byte for byte (a change row that cannot be applied, e.g. two processes
    // that wrote the same actor's sequence number), and documents parked while they hold
    // unsent work of a user who is not the one signed in.
    M::up(
        r#"
CREATE TABLE damaged_changes (
    id INTEGER PRIMARY KEY AUTOINCREMENT, doc_id BLOB NOT NULL, original_seq INTEGER NOT NULL,
    bytes BLOB NOT NULL, error TEXT NOT NULL, found_at INTEGER NOT NULL
);
CREATE TABLE parked (
    doc_id BLOB PRIMARY KEY, user_id TEXT NOT NULL, display_name TEXT NOT NULL, since INTEGER NOT NULL
);
"#,
    ),
];

mod folder_lock;
mod handover;
mod municipal;
mod views;
pub use handover::Handover;
pub use municipal::MediaSettings;
pub use views::*;

/// Copies the store in `dir` (every document, change and kept-aside damaged change) into the
/// new file `out` for support, reading only: SQLite's `VACUUM INTO` on a read-only
/// connection, so it works beside a running app and changes nothing. A file SQLite cannot
/// read is copied as it is.
pub fn export_support(dir: &Path, out: &Path) -> Result<()> {
    if out.exists() {
        return Err(CoreError::Folder(format!(
            "{} exists already; choose a new file",
            out.display()
        )));
    }
    let db = dir.join("homerehab.sqlite3");
    let target = out
        .to_str()
        .ok_or_else(|| CoreError::Folder("the export path is not valid UTF-8".into()))?;
    let vacuum = || -> rusqlite::Result<()> {
        let conn = Connection::open_with_flags(&db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        conn.execute("VACUUM INTO ?1", [target])?;
        Ok(())
    };
    if let Err(e) = vacuum() {
        tracing::warn!(error = %e, "SQLite could not read the store; copying its files as they are");
        let _ = std::fs::remove_file(out);
        let copy = |from: &Path, to: &Path| {
            std::fs::copy(from, to)
                .map_err(|e| CoreError::Folder(format!("{}: {e}", from.display())))
        };
        copy(&db, out)?;
        let wal = dir.join("homerehab.sqlite3-wal");
        if wal.exists() {
            copy(&wal, &out.with_extension("sqlite3-wal"))?;
        }
    }
    Ok(())
}

/// Compact a document once its change log outgrows its snapshot (automerge-repo's rule), but
/// not for tiny documents.
const COMPACT_MIN_BYTES: i64 = 32 * 1024;

/// Who is signed in on this device.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Identity {
    pub user_id: UserId,
    pub username: String,
    pub display_name: String,
    pub role: Role,
    pub team_id: TeamId,
    pub server_url: String,
    pub token: String,
    pub expires_at: Millis,
    /// Whose library the device holds; absent in identities stored before it was sent.
    #[serde(default)]
    pub municipality_id: Option<MunicipalityId>,
    /// Further teams the user serves; absent in identities stored before it was kept.
    #[serde(default)]
    pub granted_teams: Vec<TeamId>,
}

impl Identity {
    /// The user as the server's rules see them (`shared::auth`).
    pub fn principal(&self) -> homerehab_shared::auth::Principal {
        homerehab_shared::auth::Principal {
            user_id: self.user_id,
            role: self.role,
            team_id: self.team_id,
            granted_teams: self.granted_teams.clone(),
            municipality_id: self.municipality_id,
        }
    }
}

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
}

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

/// A course as listed on the device.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct CourseRow {
    pub id: CourseId,
    pub citizen_id: CitizenId,
    pub citizen_name: Option<String>,
    pub legal_basis: String,
    pub status: String,
    pub start_date: String,
    pub sessions_per_week: u32,
    pub revision_count: u32,
    pub sessions_logged: u32,
}

/// A logged session as listed on the device.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct SessionRow {
    pub id: SessionId,
    pub course_id: CourseId,
    pub performed_by: UserId,
    pub program_revision: Option<RevisionId>,
    pub started_at: Millis,
    pub status: String,
    pub set_count: u32,
}

pub fn now_ms() -> Millis {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

fn heads_to_blob(heads: &[ChangeHash]) -> Vec<u8> {
    heads.iter().flat_map(|h| h.0).collect()
}

fn blob_to_heads(b: &[u8]) -> Vec<ChangeHash> {
    b.chunks_exact(32)
        .map(|c| ChangeHash(c.try_into().expect("32-byte chunks")))
        .collect()
}

fn id_blob(id: &DocumentId) -> &[u8] {
    id.as_bytes().as_slice()
}

fn label<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_value(v)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

/// The local store. Not `Sync`: wrap in a `Mutex` to share; every method is short.
pub struct Store {
    conn: Connection,
    loaded: HashMap<DocumentId, Automerge>,
    actor: ActorId,
    /// Whether the PIN opened the app since it started (see [`crate::lock`]).
    gate: Gate,
    /// The shipped library merged with the municipality's, for the library document's heads.
    merged: Option<(
        Vec<ChangeHash>,
        std::sync::Arc<homerehab_shared::library::Library>,
    )>,
    /// Where verified photos and videos are kept, and how much room they may take.
    media: MediaSettings,
    /// SQLite's `data_version` when `loaded` was last known to match the file: another
    /// connection's commit changes it, and then the cached documents are stale.
    data_version: i64,
    /// Held for the store's whole life: one process per data folder. Declared last, so the
    /// database is closed before the lock is let go.
    _folder_lock: folder_lock::FolderLock,
}

impl Store {
    /// Opens (creating if needed) the store in `dir`. A damaged file is reported, never replaced.
    pub fn open(dir: &Path) -> Result<Store> {
        std::fs::create_dir_all(dir).map_err(|e| CoreError::Corrupt(e.to_string()))?;
        Self::open_file(&dir.join("homerehab.sqlite3"))
    }

    /// Opens the store in the SQLite file `path`, locking `homerehab.lock` beside it first: a
    /// second process (or a second open in this one) is refused with [`CoreError::InUse`].
    pub fn open_file(path: &Path) -> Result<Store> {
        let folder_lock = folder_lock::FolderLock::acquire(path)?;
        let mut conn = Connection::open(path)?;
        let check = || -> rusqlite::Result<()> {
            conn.pragma_update(None, "journal_mode", "WAL")?;
            conn.pragma_update(None, "synchronous", "FULL")?;
            conn.pragma_update(None, "foreign_keys", "ON")?;
            conn.busy_timeout(std::time::Duration::from_secs(5))?;
            let ok: String = conn.query_row("PRAGMA quick_check", [], |r| r.get(0))?;
            if ok != "ok" {
                return Err(rusqlite::Error::InvalidQuery);
            }
            Ok(())
        };
        check().map_err(|e| CoreError::Corrupt(e.to_string()))?;
        let version = |c: &Connection| -> rusqlite::Result<i64> {
            c.query_row("PRAGMA user_version", [], |r| r.get(0))
        };
        let before = version(&conn)?;
        Migrations::from_slice(MIGRATIONS).to_latest(&mut conn)?;
        // A newer schema may project more of each document: fill the new columns from the
        // documents already on the device instead of waiting for each one to change.
        let reproject = before > 0 && version(&conn)? > before;
        let actor = match conn
            .query_row("SELECT value FROM meta WHERE key = 'actor'", [], |r| {
                r.get::<_, Vec<u8>>(0)
            })
            .optional()?
        {
            Some(bytes) => ActorId::from(bytes.as_slice()),
            None => {
                let a = ActorId::random();
                conn.execute(
                    "INSERT INTO meta (key, value) VALUES ('actor', ?1)",
                    params![a.to_bytes()],
                )?;
                a
            }
        };
        let mut store = Store {
            conn,
            loaded: HashMap::new(),
            actor,
            gate: Gate::default(),
            merged: None,
            media: MediaSettings::beside(path),
            data_version: 0,
            _folder_lock: folder_lock,
        };
        store.data_version = store.current_data_version()?;
        if reproject {
            store.reproject_all()?;
        }
        Ok(store)
    }

    /// Rebuilds every projection row from the documents.
    fn reproject_all(&mut self) -> Result<()> {
        let ids: Vec<Vec<u8>> = self
            .conn
            .prepare("SELECT doc_id FROM documents")?
            .query_map([], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        for id in ids {
            let id = DocumentId(
                uuid::Uuid::from_slice(&id).map_err(|e| CoreError::Document(e.to_string()))?,
            );
            let Some(header) = self.header_of(id)? else {
                continue;
            };
            self.load(id)?;
            let doc = self.loaded.get(&id).expect("loaded above");
            let tx = self.conn.transaction()?;
            project(&tx, &header, doc, &Projection::Whole)?;
            tx.commit()?;
        }
        tracing::info!("projections rebuilt after a schema upgrade");
        Ok(())
    }

    /// This device's Automerge actor id (registered with the server at sign-in).
    pub fn actor(&self) -> &ActorId {
        &self.actor
    }

    fn set_meta(&self, key: &str, value: &[u8]) -> Result<()> {
        self.conn.execute(
            "INSERT OR REPLACE INTO meta (key, value) VALUES (?1, ?2)",
            params![key, value],
        )?;
        Ok(())
    }

    fn meta(&self, key: &str) -> Result<Option<Vec<u8>>> {
        Ok(self
            .conn
            .query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
            .optional()?)
    }

    pub fn set_identity(&self, id: &Identity) -> Result<()> {
        self.set_meta("identity", &serde_json::to_vec(id).expect("serializable"))
    }

    pub fn identity(&self) -> Result<Option<Identity>> {
        Ok(self
            .meta("identity")?
            .and_then(|b| serde_json::from_slice(&b).ok()))
    }

    fn me(&self) -> Result<Identity> {
        self.identity()?.ok_or(CoreError::NotSignedIn)
    }

    // ---- the app lock (the rules: crate::lock) ----------------------------------------------
    //
    // Meta keys: `pin_hash` (argon2id PHC string), `pin_failures` (wrong PINs in a row, decimal),
    // `sign_in_required` (present after too many wrong PINs). The open/closed gate is in memory.

    /// Locks the app after `idle_ms` without a data request (0: never).
    pub fn set_idle_lock(&mut self, idle_ms: Millis) {
        self.gate.set_idle(idle_ms);
    }

    /// What stands between the person and the data at `now` (applies the idle rule).
    pub fn lock_state(&mut self, now: Millis) -> Result<LockState> {
        Ok(if self.identity()?.is_none() {
            LockState::SignedOut
        } else if self.meta("sign_in_required")?.is_some() {
            LockState::SignInRequired
        } else if self.meta("pin_hash")?.is_none() {
            LockState::NoPin
        } else if self.gate.is_open(now) {
            LockState::Unlocked
        } else {
            LockState::Locked
        })
    }

    /// Every data request asks this first: fine while open (and the idle time restarts),
    /// [`CoreError::Locked`] while locked or after too many wrong PINs.
    pub fn require_unlocked(&mut self, now: Millis) -> Result<()> {
        match self.lock_state(now)? {
            LockState::SignedOut => Err(CoreError::NotSignedIn),
            LockState::SignInRequired | LockState::Locked => Err(CoreError::Locked),
            LockState::NoPin | LockState::Unlocked => {
                self.gate.touch(now);
                Ok(())
            }
        }
    }

    /// After a successful online sign-in: the app is open, any earlier PIN and count of wrong
    /// PINs are forgotten, and the person chooses a new PIN.
    pub fn signed_in(&mut self) -> Result<()> {
        self.conn.execute(
            "DELETE FROM meta WHERE key IN ('pin_hash', 'pin_failures', 'sign_in_required')",
            [],
        )?;
        // Rights may differ now: refused changes are offered once more.
        self.conn.execute("DELETE FROM refusals", [])?;
        self.gate.open(now_ms());
        Ok(())
    }

    /// Sets the PIN (4–6 digits): only while the app is open — right after sign-in or unlocked.
    pub fn set_pin(&mut self, pin: &str) -> Result<()> {
        lock::validate_pin(pin)?;
        let now = now_ms();
        match self.lock_state(now)? {
            LockState::SignedOut => return Err(CoreError::NotSignedIn),
            LockState::SignInRequired => return Err(CoreError::SignInRequired),
            LockState::Locked => return Err(CoreError::Locked),
            LockState::NoPin | LockState::Unlocked => {}
        }
        let hash = lock::hash_pin(pin)?;
        let tx = self.conn.transaction()?;
        tx.execute(
            "INSERT OR REPLACE INTO meta (key, value) VALUES ('pin_hash', ?1)",
            [hash.as_bytes()],
        )?;
        tx.execute("DELETE FROM meta WHERE key = 'pin_failures'", [])?;
        tx.commit()?;
        self.gate.open(now);
        Ok(())
    }

    /// Opens the app with the PIN. A wrong PIN says how many attempts are left; the last one
    /// forgets the PIN and requires an online sign-in (documents and outbox stay).
    pub fn unlock(&mut self, pin: &str) -> Result<()> {
        let now = now_ms();
        match self.lock_state(now)? {
            LockState::SignedOut => return Err(CoreError::NotSignedIn),
            LockState::SignInRequired => return Err(CoreError::SignInRequired),
            LockState::NoPin => return Err(CoreError::NoPin),
            LockState::Locked | LockState::Unlocked => {}
        }
        lock::validate_pin(pin)?;
        let hash = self
            .meta("pin_hash")?
            .and_then(|h| String::from_utf8(h).ok())
            .unwrap_or_default();
        if lock::verify_pin(&hash, pin) {
            self.conn
                .execute("DELETE FROM meta WHERE key = 'pin_failures'", [])?;
            // The idle time starts when the app opens, not when the (slow) PIN check began.
            self.gate.open(now_ms());
            return Ok(());
        }
        self.gate.close();
        let failures = self.pin_failures()? + 1;
        if failures >= lock::PIN_ATTEMPTS {
            let tx = self.conn.transaction()?;
            tx.execute(
                "DELETE FROM meta WHERE key IN ('pin_hash', 'pin_failures')",
                [],
            )?;
            tx.execute(
                "INSERT OR REPLACE INTO meta (key, value) VALUES ('sign_in_required', X'01')",
                [],
            )?;
            tx.commit()?;
            return Err(CoreError::WrongPin { attempts_left: 0 });
        }
        self.set_meta("pin_failures", failures.to_string().as_bytes())?;
        Err(CoreError::WrongPin {
            attempts_left: lock::PIN_ATTEMPTS - failures,
        })
    }

    /// Locks the app now (the "Lås" button). Needs a PIN to open it again.
    pub fn lock(&mut self) -> Result<()> {
        match self.lock_state(now_ms())? {
            LockState::SignedOut => Err(CoreError::NotSignedIn),
            LockState::NoPin => Err(CoreError::NoPin),
            LockState::SignInRequired | LockState::Locked | LockState::Unlocked => {
                self.gate.close();
                Ok(())
            }
        }
    }

    /// Wrong PINs in a row so far.
    fn pin_failures(&self) -> Result<u32> {
        Ok(self
            .meta("pin_failures")?
            .and_then(|b| String::from_utf8(b).ok())
            .and_then(|s| s.parse().ok())
            .unwrap_or(0))
    }

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
            let id = DocumentId(
                uuid::Uuid::from_slice(&id).map_err(|e| CoreError::Document(e.to_string()))?,
            );
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

    // ---- documents -------------------------------------------------------------------------

    fn header_of(&self, id: DocumentId) -> Result<Option<Header>> {
        self.conn
            .query_row(
                "SELECT kind, team_id, course_id FROM documents WHERE doc_id = ?1",
                [id_blob(&id)],
                |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        r.get::<_, Vec<u8>>(1)?,
                        r.get::<_, Option<Vec<u8>>>(2)?,
                    ))
                },
            )
            .optional()?
            .map(|(kind, team, course)| {
                let uuid = |b: &[u8]| {
                    uuid::Uuid::from_slice(b).map_err(|e| CoreError::Document(e.to_string()))
                };
                Ok(Header {
                    id,
                    kind: DocumentKind::parse(&kind)
                        .ok_or_else(|| CoreError::Document(kind.clone()))?,
                    team_id: TeamId(uuid(&team)?),
                    course_id: course.map(|c| uuid(&c).map(CourseId)).transpose()?,
                })
            })
            .transpose()
    }

    fn current_data_version(&self) -> Result<i64> {
        Ok(self
            .conn
            .query_row("PRAGMA data_version", [], |r| r.get(0))?)
    }

    /// Forgets the cached documents when another connection (another process, an older binary
    /// without the folder lock, a support tool) committed to the file since they were loaded.
    fn notice_other_writers(&mut self) -> Result<()> {
        let now = self.current_data_version()?;
        if now != self.data_version {
            self.loaded.clear();
            self.merged = None;
            self.data_version = now;
        }
        Ok(())
    }

    /// Runs `f` in one `BEGIN IMMEDIATE` transaction: the write lock is taken before the cache
    /// is checked, so no other connection can commit between reading and writing. On an error
    /// everything rolls back and the cache is forgotten (memory must not run ahead of disk).
    fn in_write_tx<T>(&mut self, f: impl FnOnce(&mut Store) -> Result<T>) -> Result<T> {
        self.conn.execute_batch("BEGIN IMMEDIATE")?;
        let result = self
            .notice_other_writers()
            .and_then(|()| f(self))
            .and_then(|v| {
                self.conn.execute_batch("COMMIT")?;
                Ok(v)
            });
        if result.is_err() {
            if !self.conn.is_autocommit() {
                let _ = self.conn.execute_batch("ROLLBACK");
            }
            self.loaded.clear();
            self.merged = None;
        }
        result
    }

    fn load(&mut self, id: DocumentId) -> Result<Option<&mut Automerge>> {
        self.notice_other_writers()?;
        if !self.loaded.contains_key(&id) {
            let Some((mut doc, _)) = read_document(&self.conn, id, false)? else {
                return Ok(None);
            };
            doc.set_actor(self.actor.clone());
            self.loaded.insert(id, doc);
        }
        Ok(self.loaded.get_mut(&id))
    }

    /// Whether `id` is kept hidden for another user's unsent work.
    fn is_parked(&self, id: DocumentId) -> Result<bool> {
        Ok(self
            .conn
            .query_row(
                "SELECT 1 FROM parked WHERE doc_id = ?1",
                [id_blob(&id)],
                |_| Ok(()),
            )
            .optional()?
            .is_some())
    }

    /// Reads a document (loading it if needed).
    pub fn document(&mut self, id: DocumentId) -> Result<&Automerge> {
        if self.is_parked(id)? {
            return Err(CoreError::NotFound(format!("document {id}")));
        }
        self.load(id)?
            .map(|d| &*d)
            .ok_or_else(|| CoreError::NotFound(format!("document {id}")))
    }

    /// Creates a document from its deterministic genesis, unless it exists.
    fn ensure_document(&mut self, header: &Header) -> Result<()> {
        self.in_write_tx(|s| {
            if s.header_of(header.id)?.is_some() {
                return Ok(());
            }
            let doc = docs::genesis(header);
            insert_document(&s.conn, header, &doc, None)?;
            s.conn.execute(
                "INSERT OR IGNORE INTO outbox (doc_id, since) VALUES (?1, ?2)",
                params![id_blob(&header.id), now_ms()],
            )?;
            Ok(())
        })
    }

    /// Applies one local edit and commits it, with projections and outbox, in one transaction.
    fn write<T>(
        &mut self,
        id: DocumentId,
        scope: Projection,
        edit: impl FnOnce(&mut Automerge) -> std::result::Result<T, docs::SchemaError>,
    ) -> Result<T> {
        self.in_write_tx(|s| {
            let missing = || CoreError::NotFound(format!("document {id}"));
            let header = s.header_of(id)?.ok_or_else(missing)?;
            if s.is_parked(id)? {
                return Err(missing());
            }
            let doc = s.load(id)?.ok_or_else(missing)?;
            let before = doc.get_heads();
            let out = edit(doc)?;
            let changes: Vec<u8> = doc
                .get_changes(&before)
                .iter()
                .flat_map(|c| c.raw_bytes().to_vec())
                .collect();
            if changes.is_empty() {
                return Ok(out);
            }
            let doc = s.loaded.get(&id).expect("loaded above");
            let compacted = append_changes(&s.conn, &header, doc, &changes)?;
            s.conn.execute(
                "INSERT OR IGNORE INTO outbox (doc_id, since) VALUES (?1, ?2)",
                params![id_blob(&id), now_ms()],
            )?;
            project(&s.conn, &header, doc, &scope)?;
            if let Some(mut whole) = compacted {
                whole.set_actor(s.actor.clone());
                s.loaded.insert(id, whole);
            }
            Ok(out)
        })
    }

    // ---- domain operations ---------------------------------------------------------------

    /// Adds or updates a citizen on the signed-in user's team roster.
    pub fn put_citizen(&mut self, citizen: &Citizen) -> Result<()> {
        let me = self.me()?;
        let header = Header::roster(me.team_id);
        self.ensure_document(&header)?;
        self.write(header.id, Projection::Whole, |doc| {
            docs::put_citizen(doc, citizen, now_ms())
        })
    }

    /// Creates a course with its first program revision and its (empty) session log.
    pub fn create_course(
        &mut self,
        course: &Course,
        program: &[ProgramExercise],
    ) -> Result<RevisionId> {
        let me = self.me()?;
        let header = Header::course(course.team_id, course.id);
        self.ensure_document(&header)?;
        self.write(header.id, Projection::Whole, |doc| {
            docs::put_course(doc, course, now_ms())
        })?;
        let edits: Vec<_> = program
            .iter()
            .cloned()
            .map(docs::ProgramEdit::Upsert)
            .collect();
        let rev = self.write(header.id, Projection::Whole, |doc| {
            docs::edit_program(doc, &edits, me.user_id, "Program oprettet", None, now_ms())
        })?;
        self.ensure_document(&Header::session_log(course.team_id, course.id))?;
        Ok(rev)
    }

    pub fn update_course(&mut self, course: &Course) -> Result<()> {
        let id = DocumentId::course_of(course.id);
        self.write(id, Projection::Whole, |doc| {
            docs::put_course(doc, course, now_ms())
        })
    }

    /// Changes a program; every call makes one listed revision, recording `based_on`, the
    /// revision the editor started from (`shared::rules::check_based_on_latest`).
    pub fn edit_program(
        &mut self,
        course: CourseId,
        edits: &[docs::ProgramEdit],
        summary: &str,
        based_on: Option<RevisionId>,
    ) -> Result<RevisionId> {
        let me = self.me()?;
        self.write(DocumentId::course_of(course), Projection::Whole, |doc| {
            docs::edit_program(doc, edits, me.user_id, summary, based_on, now_ms())
        })
    }

    pub fn add_assessment(&mut self, course: CourseId, a: &Assessment) -> Result<()> {
        self.write(DocumentId::course_of(course), Projection::Whole, |doc| {
            docs::put_assessment(doc, a, now_ms())
        })
    }

    pub fn course_doc(&mut self, course: CourseId) -> Result<CourseDoc> {
        Ok(CourseDoc::read(
            self.document(DocumentId::course_of(course))?,
        )?)
    }

    /// Program fields two devices changed concurrently, for the therapist to settle.
    pub fn program_conflicts(&mut self, course: CourseId) -> Result<Vec<docs::ProgramConflict>> {
        Ok(docs::program_conflicts(
            self.document(DocumentId::course_of(course))?,
        )?)
    }

    pub fn session_log(&mut self, course: CourseId) -> Result<SessionLogDoc> {
        Ok(SessionLogDoc::read(
            self.document(DocumentId::session_log_of(course))?,
        )?)
    }

    pub fn roster(&mut self, team: TeamId) -> Result<RosterDoc> {
        Ok(RosterDoc::read(
            self.document(DocumentId::roster_of(team))?,
        )?)
    }

    fn log_header(&mut self, course: CourseId) -> Result<Header> {
        let course_header = self
            .header_of(DocumentId::course_of(course))?
            .ok_or_else(|| CoreError::NotFound(format!("course {course}")))?;
        let header = Header::session_log(course_header.team_id, course);
        self.ensure_document(&header)?;
        Ok(header)
    }

    /// Stores a new session of `course`, performed by the signed-in user against the program's
    /// current revision; `shape` turns the freshly started session into what is recorded.
    fn record_session(
        &mut self,
        course: CourseId,
        shape: impl FnOnce(SessionLog) -> SessionLog,
    ) -> Result<SessionLog> {
        let me = self.me()?;
        let revision = self
            .course_doc(course)?
            .program
            .latest_revision()
            .map(|r| r.id);
        let header = self.log_header(course)?;
        let now = now_ms();
        let session = shape(SessionLog::start(course, me.user_id, revision, now));
        self.write(header.id, Projection::Session(session.id), |doc| {
            docs::put_session(doc, &session, now)
        })?;
        Ok(session)
    }

    /// Starts a session against the program's current revision.
    pub fn start_session(&mut self, course: CourseId) -> Result<SessionLog> {
        self.record_session(course, |s| s)
    }

    /// Records a session that did not take place, with the reason.
    pub fn session_not_carried_out(
        &mut self,
        course: CourseId,
        reason: NotCarriedOutReason,
        note: Option<String>,
    ) -> Result<SessionId> {
        Ok(self
            .record_session(course, |s| s.not_carried_out(reason, note))?
            .id)
    }

    /// Logs one performed set. Durable (committed to SQLite) when this returns.
    pub fn log_set(
        &mut self,
        course: CourseId,
        session: SessionId,
        line: &ProgramExercise,
        set: &SetLog,
    ) -> Result<()> {
        let id = DocumentId::session_log_of(course);
        self.write(id, Projection::SetLogged(session), |doc| {
            docs::log_set(doc, session, line.id, &line.exercise_ref, set, set.at)
        })
    }

    pub fn record_feedback(
        &mut self,
        course: CourseId,
        session: SessionId,
        line: &ProgramExercise,
        fb: &docs::ExerciseFeedback,
    ) -> Result<()> {
        let id = DocumentId::session_log_of(course);
        self.write(id, Projection::Session(session), |doc| {
            docs::record_feedback(doc, session, line.id, &line.exercise_ref, fb, now_ms())
        })
    }

    pub fn finish_session(
        &mut self,
        course: CourseId,
        session: SessionId,
        general_condition: Option<u8>,
        note: Option<&str>,
    ) -> Result<()> {
        let id = DocumentId::session_log_of(course);
        self.write(id, Projection::Session(session), |doc| {
            docs::finish_session(doc, session, general_condition, note, now_ms())
        })
    }

    // ---- queries (projections) -------------------------------------------------------------

    pub fn courses(&self) -> Result<Vec<CourseRow>> {
        let mut stmt = self.conn.prepare(
            "SELECT c.id, c.citizen_id, z.name, c.legal_basis, c.status, c.start_date, c.sessions_per_week,
                    c.revision_count, (SELECT COUNT(*) FROM sessions s WHERE s.course_id = c.id)
             FROM courses c LEFT JOIN citizens z ON z.id = c.citizen_id ORDER BY z.name, c.start_date",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok(CourseRow {
                id: views::parse_id(r, 0)?,
                citizen_id: views::parse_id(r, 1)?,
                citizen_name: r.get(2)?,
                legal_basis: r.get(3)?,
                status: r.get(4)?,
                start_date: r.get(5)?,
                sessions_per_week: r.get(6)?,
                revision_count: r.get(7)?,
                sessions_logged: r.get(8)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    pub fn sessions(&self, course: CourseId) -> Result<Vec<SessionRow>> {
        let mut stmt = self.conn.prepare(
            "SELECT id, course_id, performed_by, program_revision, started_at, status, set_count
             FROM sessions WHERE course_id = ?1 ORDER BY started_at, id",
        )?;
        let rows = stmt.query_map([course.to_string()], |r| {
            Ok(SessionRow {
                id: views::parse_id(r, 0)?,
                course_id: views::parse_id(r, 1)?,
                performed_by: views::parse_id(r, 2)?,
                program_revision: match r.get::<_, Option<String>>(3)? {
                    Some(_) => Some(views::parse_id(r, 3)?),
                    None => None,
                },
                started_at: r.get(4)?,
                status: r.get(5)?,
                set_count: r.get(6)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Number of documents on the device.
    pub fn document_count(&self) -> Result<u32> {
        Ok(self
            .conn
            .query_row("SELECT COUNT(*) FROM documents", [], |r| r.get(0))?)
    }

    /// Heads of every document, for comparing devices.
    pub fn all_heads(&self) -> Result<Vec<(DocumentId, Vec<ChangeHash>)>> {
        let mut stmt = self
            .conn
            .prepare("SELECT doc_id, heads FROM documents ORDER BY doc_id")?;
        let rows = stmt.query_map([], |r| {
            Ok((r.get::<_, Vec<u8>>(0)?, r.get::<_, Vec<u8>>(1)?))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (id, heads) = row?;
            let id = uuid::Uuid::from_slice(&id).map_err(|e| CoreError::Document(e.to_string()))?;
            out.push((DocumentId(id), blob_to_heads(&heads)));
        }
        Ok(out)
    }
}

/// Which projection rows an edit refreshes.
enum Projection {
    Whole,
    Session(SessionId),
    /// One set was added to a session: only its count changes (the hot path while guiding).
    SetLogged(SessionId),
}

fn insert_document(
    tx: &Connection,
    header: &Header,
    doc: &Automerge,
    server_heads: Option<&[ChangeHash]>,
) -> Result<()> {
    tx.execute(
        "INSERT INTO documents (doc_id, kind, team_id, course_id, heads, server_heads, snapshot, incremental_bytes)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 0)",
        params![
            id_blob(&header.id),
            header.kind.as_str(),
            header.team_id.as_bytes().as_slice(),
            header.course_id.map(|c| c.as_bytes().to_vec()),
            heads_to_blob(&doc.get_heads()),
            server_heads.map(heads_to_blob),
            doc.save(),
        ],
    )?;
    Ok(())
}

/// Appends raw changes to a document's log, compacting when the log outgrows the snapshot.
/// Returns the whole document when it compacted (the caller's copy may lack rows of another
/// writer). Call inside a write transaction.
fn append_changes(
    tx: &Connection,
    header: &Header,
    doc: &Automerge,
    changes: &[u8],
) -> Result<Option<Automerge>> {
    let id = id_blob(&header.id);
    tx.execute(
        "INSERT INTO doc_changes (doc_id, bytes) VALUES (?1, ?2)",
        params![id, changes],
    )?;
    let (incremental, snapshot): (i64, i64) = tx.query_row(
        "UPDATE documents SET heads = ?2, incremental_bytes = incremental_bytes + ?3 WHERE doc_id = ?1
         RETURNING incremental_bytes, length(snapshot)",
        params![id, heads_to_blob(&doc.get_heads()), changes.len() as i64],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    if incremental <= snapshot.max(COMPACT_MIN_BYTES) {
        return Ok(None);
    }
    // Compact what is on disk, not this copy: a row another writer added that this copy never
    // loaded must end up in the snapshot, never just deleted.
    let Some((mut whole, last_row)) = read_document(tx, header.id, true)? else {
        return Ok(None);
    };
    whole.merge(&mut doc.clone())?;
    let Some(last_row) = last_row.filter(|_| whole.get_missing_deps(&[]).is_empty()) else {
        // Some stored change waits for one that is not here (kept aside as damaged): keep
        // every row rather than save a snapshot without it.
        tracing::warn!(doc = %header.id, "not compacting: a stored change lacks its dependency");
        return Ok(None);
    };
    tx.execute(
        "UPDATE documents SET snapshot = ?2, heads = ?3, incremental_bytes = 0 WHERE doc_id = ?1",
        params![id, whole.save(), heads_to_blob(&whole.get_heads())],
    )?;
    tx.execute(
        "DELETE FROM doc_changes WHERE doc_id = ?1 AND seq <= ?2",
        params![id, last_row],
    )?;
    Ok(Some(whole))
}

/// The changes in one stored row (raw changes one after another), or why they cannot be read.
fn changes_in_row(bytes: &[u8]) -> std::result::Result<Vec<automerge::Change>, String> {
    homerehab_shared::sync::chunks::split(bytes)
        .map_err(|e| e.to_string())?
        .into_iter()
        .map(|c| automerge::Change::try_from(c.bytes).map_err(|e| e.to_string()))
        .collect()
}

/// Reads a document from disk: its snapshot and every change row. A row that cannot be
/// applied (two different changes with one actor and sequence number, corrupt bytes) is moved
/// byte for byte into `damaged_changes` with the reason, and the rest loads. `strict` also
/// checks that every change of every row is in the document (before compaction deletes rows).
/// Returns the document and the last change row read, or `None` as that row when some row's
/// change is not in the document (it waits for a change that is not there): then nothing may
/// be deleted.
fn read_document(
    conn: &Connection,
    id: DocumentId,
    strict: bool,
) -> Result<Option<(Automerge, Option<i64>)>> {
    // Snapshot and rows from one read of the file (a savepoint is a transaction when none is
    // open): another process's compaction must not fall between the two queries.
    conn.execute_batch("SAVEPOINT read_document")?;
    let read = read_document_rows(conn, id, strict);
    match &read {
        Ok(_) => conn.execute_batch("RELEASE read_document")?,
        Err(_) => {
            let _ = conn.execute_batch("ROLLBACK TO read_document; RELEASE read_document");
        }
    }
    read
}

fn read_document_rows(
    conn: &Connection,
    id: DocumentId,
    strict: bool,
) -> Result<Option<(Automerge, Option<i64>)>> {
    let Some(snapshot) = conn
        .query_row(
            "SELECT snapshot FROM documents WHERE doc_id = ?1",
            [id_blob(&id)],
            |r| r.get::<_, Vec<u8>>(0),
        )
        .optional()?
    else {
        return Ok(None);
    };
    let rows: Vec<(i64, Vec<u8>)> = conn
        .prepare_cached("SELECT seq, bytes FROM doc_changes WHERE doc_id = ?1 ORDER BY seq")?
        .query_map([id_blob(&id)], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<rusqlite::Result<_>>()?;
    let mut damaged: Vec<(i64, String)> = Vec::new();
    let mut complete: bool;
    // A failed row may have changed the copy half-way: start again without it.
    let doc = 'attempt: loop {
        complete = true;
        let mut doc = Automerge::load(&snapshot)
            .map_err(|e| CoreError::Damaged(format!("the snapshot of document {id}: {e}")))?;
        for (seq, bytes) in &rows {
            if damaged.iter().any(|(s, _)| s == seq) {
                continue;
            }
            let problem = match doc.load_incremental(bytes) {
                Err(e) => Some(e.to_string()),
                // Nothing applied (a load skips unreadable bytes quietly), or before compaction:
                // every change of the row must parse and be in the document.
                Ok(n) if n == 0 || strict => match changes_in_row(bytes) {
                    Err(e) => Some(e),
                    Ok(changes) => {
                        if changes
                            .iter()
                            .any(|c| doc.get_change_by_hash(&c.hash()).is_none())
                        {
                            complete = false;
                        }
                        None
                    }
                },
                Ok(_) => None,
            };
            if let Some(problem) = problem {
                damaged.push((*seq, problem));
                continue 'attempt;
            }
        }
        break doc;
    };
    if !damaged.is_empty() {
        set_aside(conn, id, &damaged)?;
    }
    let last_row = rows.last().map(|(seq, _)| *seq).unwrap_or(0);
    Ok(Some((doc, complete.then_some(last_row))))
}

/// Moves change rows that cannot be applied into `damaged_changes`, byte for byte, in one
/// step (a savepoint works inside and outside a transaction).
fn set_aside(conn: &Connection, id: DocumentId, rows: &[(i64, String)]) -> Result<()> {
    conn.execute_batch("SAVEPOINT set_aside")?;
    let moved = (|| -> Result<()> {
        for (seq, problem) in rows {
            tracing::error!(doc = %id, row = seq, error = %problem, "a stored change cannot be applied; kept aside");
            conn.execute(
                "INSERT INTO damaged_changes (doc_id, original_seq, bytes, error, found_at)
                 SELECT doc_id, seq, bytes, ?2, ?3 FROM doc_changes WHERE seq = ?1",
                params![seq, problem, now_ms()],
            )?;
            conn.execute("DELETE FROM doc_changes WHERE seq = ?1", [seq])?;
        }
        Ok(())
    })();
    match moved {
        Ok(()) => conn.execute_batch("RELEASE set_aside")?,
        Err(e) => {
            let _ = conn.execute_batch("ROLLBACK TO set_aside; RELEASE set_aside");
            return Err(e);
        }
    }
    Ok(())
}

/// Refreshes the relational rows that mirror a document.
fn project(tx: &Connection, header: &Header, doc: &Automerge, scope: &Projection) -> Result<()> {
    match (header.kind, scope) {
        // The municipality's library is read from its document (it is small); nothing to
        // project.
        (DocumentKind::Library, _) => {}
        (DocumentKind::SessionLog, Projection::SetLogged(id)) => {
            tx.execute(
                "UPDATE sessions SET set_count = set_count + 1 WHERE id = ?1",
                [id.to_string()],
            )?;
        }
        (DocumentKind::SessionLog, Projection::Session(id)) => {
            if let Some(s) = docs::read_session(doc, &id.to_string())? {
                project_session(tx, &s)?;
            }
        }
        (DocumentKind::SessionLog, Projection::Whole) => {
            for s in SessionLogDoc::read(doc)?.sessions.values() {
                project_session(tx, s)?;
            }
        }
        (DocumentKind::Roster, _) => {
            let roster = RosterDoc::read(doc)?;
            for c in roster.citizens.values() {
                tx.execute(
                    "INSERT OR REPLACE INTO citizens (id, team_id, name, local_ref, active, address)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                    params![c.id.to_string(), header.team_id.to_string(), c.name, c.local_ref, c.active, c.address],
                )?;
                tx.execute(
                    "DELETE FROM citizen_assignments WHERE citizen_id = ?1",
                    [c.id.to_string()],
                )?;
                for (user, on) in &c.assigned {
                    if *on {
                        tx.execute(
                            "INSERT INTO citizen_assignments VALUES (?1, ?2)",
                            params![c.id.to_string(), user],
                        )?;
                    }
                }
            }
        }
        (DocumentKind::Course, _) => {
            let c = CourseDoc::read(doc)?;
            let Some(course) = &c.course else {
                return Ok(());
            };
            let cid = course.id.to_string();
            let conflicts = docs::program_conflicts(doc)?.len() as i64;
            tx.execute(
                "INSERT OR REPLACE INTO courses (id, citizen_id, team_id, legal_basis, start_date,
                    planned_weeks, sessions_per_week, minutes_per_session, status,
                    responsible_therapist, current_revision, revision_count, program_conflicts)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
                params![
                    cid,
                    course.citizen_id.to_string(),
                    course.team_id.to_string(),
                    course.legal_basis.0,
                    course.start_date,
                    course.planned_weeks,
                    course.sessions_per_week,
                    course.minutes_per_session,
                    label(&course.status),
                    course.responsible_therapist.to_string(),
                    c.program.latest_revision().map(|r| r.id.to_string()),
                    c.program.revisions.len() as i64,
                    conflicts,
                ],
            )?;
            tx.execute("DELETE FROM program_lines WHERE course_id = ?1", [&cid])?;
            for line in c.program.exercises.values() {
                tx.execute(
                    "INSERT INTO program_lines VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                    params![
                        cid,
                        line.id.to_string(),
                        line.exercise_ref,
                        line.position,
                        line.dosage.sets,
                        line.dosage.reps,
                        line.dosage.duration_s,
                        line.dosage.load
                    ],
                )?;
            }
        }
    }
    Ok(())
}

fn project_session(tx: &Connection, s: &SessionLog) -> Result<()> {
    let max_pain = s.exercises.values().filter_map(|e| e.pain).max();
    tx.execute(
        "INSERT OR REPLACE INTO sessions (id, course_id, performed_by, program_revision, started_at,
            ended_at, status, not_carried_out, general_condition, set_count, max_pain)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
        params![
            s.id.to_string(),
            s.course_id.to_string(),
            s.performed_by.to_string(),
            s.program_revision.map(|r| r.to_string()),
            s.started_at,
            s.ended_at,
            label(&s.status),
            s.not_carried_out.map(|r| label(&r)),
            s.general_condition,
            s.set_count() as i64,
            max_pain,
        ],
    )?;
    Ok(())
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

    fn offers(&mut self) -> Result<Vec<Offer>> {
        let mut stmt = self.conn.prepare(
            "SELECT d.doc_id, d.kind, d.heads, d.server_heads, o.doc_id IS NOT NULL,
                    r.kind, r.reason, r.heads
             FROM documents d LEFT JOIN outbox o ON o.doc_id = d.doc_id
             LEFT JOIN refusals r ON r.doc_id = d.doc_id
             WHERE d.doc_id NOT IN (SELECT doc_id FROM parked)",
        )?;
        /// id, kind, heads, server heads, in the outbox, refusal (kind, reason, heads)
        type Row = (
            Vec<u8>,
            String,
            Vec<u8>,
            Option<Vec<u8>>,
            bool,
            Option<(String, String, Vec<u8>)>,
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
                ))
            })?
            .collect::<rusqlite::Result<_>>()?;
        drop(stmt);
        let mut ranked = Vec::with_capacity(rows.len());
        for (id, kind, heads, server_heads, dirty, refusal) in rows {
            let id = DocumentId(
                uuid::Uuid::from_slice(&id).map_err(|e| CoreError::Document(e.to_string()))?,
            );
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
                        Offer {
                            doc: id,
                            heads,
                            changes: Vec::new(),
                        },
                    ));
                    continue;
                }
                OfferPlan::Changes => {}
            }
            let changes = if dirty {
                let since = server_heads
                    .as_deref()
                    .map(blob_to_heads)
                    .unwrap_or_default();
                match self.load(id) {
                    Ok(Some(doc)) => homerehab_shared::sync::raw_changes_since(doc, &since),
                    Ok(None) => return Err(CoreError::NotFound(id.to_string())),
                    // An unreadable snapshot must not stop every other document's sync.
                    Err(e @ CoreError::Damaged(_)) => {
                        tracing::error!(doc = %id, error = %e, "not offered");
                        continue;
                    }
                    Err(e) => return Err(e),
                }
            } else {
                Vec::new()
            };
            let heads = blob_to_heads(&heads).iter().map(|h| h.0).collect();
            ranked.push((
                kind_rank(&kind),
                Offer {
                    doc: id,
                    heads,
                    changes,
                },
            ));
        }
        ranked.sort_by_key(|(rank, _)| *rank);
        Ok(ranked.into_iter().map(|(_, o)| o).collect())
    }

    fn whole(&mut self, id: DocumentId) -> Result<Option<WholeDocument>> {
        Ok(self.load(id)?.map(|d| WholeDocument {
            heads: d.get_heads().iter().map(|h| h.0).collect(),
            saved: d.save(),
        }))
    }

    fn absorb(
        &mut self,
        id: DocumentId,
        header: Option<&Header>,
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

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn signed_in(dir: &Path, role: Role, team: TeamId) -> Store {
        let store = Store::open(dir).unwrap();
        store
            .set_identity(&Identity {
                user_id: UserId::new(),
                username: "t".into(),
                display_name: "T".into(),
                role,
                team_id: team,
                server_url: "http://127.0.0.1:1".into(),
                token: "x".into(),
                expires_at: i64::MAX,
                municipality_id: Some(MunicipalityId(uuid::Uuid::from_u128(1))),
                granted_teams: vec![],
            })
            .unwrap();
        store
    }

    #[test]
    fn a_broken_file_is_reported_and_left_untouched() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("homerehab.sqlite3");
        std::fs::write(
            &path,
            b"this is not sqlite, and it holds nothing we may overwrite",
        )
        .unwrap();
        let before = std::fs::read(&path).unwrap();
        assert!(matches!(
            Store::open(dir.path()),
            Err(CoreError::Corrupt(_))
        ));
        assert_eq!(std::fs::read(&path).unwrap(), before);
    }

    #[test]
    fn a_logged_set_is_projected_and_survives_reopening() {
        let dir = tempfile::tempdir().unwrap();
        let team = TeamId::new();
        let mut store = signed_in(dir.path(), Role::Therapist, team);
        let me = store.identity().unwrap().unwrap();
        let course = Course {
            status: CourseStatus::Active,
            ..Course::new(CitizenId::new(), team, me.user_id, "2026-11-02", 0)
        };
        let line = ProgramExercise::new("sit-to-stand", 1.0, Dosage::reps(3, 10));
        let rev = store
            .create_course(&course, std::slice::from_ref(&line))
            .unwrap();
        let session = store.start_session(course.id).unwrap();
        assert_eq!(session.program_revision, Some(rev));
        let set = SetLog {
            reps: Some(9),
            duration_s: None,
            load_kg: None,
            at: 1,
        };
        store.log_set(course.id, session.id, &line, &set).unwrap();
        store.log_set(course.id, session.id, &line, &set).unwrap();
        drop(store);
        let mut store = Store::open(dir.path()).unwrap();
        assert_eq!(store.sessions(course.id).unwrap()[0].set_count, 2);
        assert_eq!(store.session_log(course.id).unwrap().sessions.len(), 1);
        assert_eq!(
            store.sync_status().unwrap().waiting,
            2,
            "the course and its log wait for sync"
        );
    }

    fn course_with_a_logged_set(store: &mut Store, team: TeamId) -> CourseId {
        let me = store.identity().unwrap().unwrap();
        let course = Course {
            status: CourseStatus::Active,
            ..Course::new(CitizenId::new(), team, me.user_id, "2026-11-02", 0)
        };
        let line = ProgramExercise::new("sit-to-stand", 1.0, Dosage::reps(2, 10));
        store
            .create_course(&course, std::slice::from_ref(&line))
            .unwrap();
        let session = store.start_session(course.id).unwrap();
        let set = SetLog {
            reps: Some(10),
            duration_s: None,
            load_kg: None,
            at: 1,
        };
        store.log_set(course.id, session.id, &line, &set).unwrap();
        course.id
    }

    /// A device signed in with PIN 2468, restarted (so locked).
    fn locked_with_pin(dir: &Path) -> Store {
        let mut store = signed_in(dir, Role::Assistant, TeamId::new());
        store.signed_in().unwrap();
        assert_eq!(store.lock_state(now_ms()).unwrap(), LockState::NoPin);
        store.set_pin("2468").unwrap();
        assert_eq!(store.lock_state(now_ms()).unwrap(), LockState::Unlocked);
        drop(store);
        let mut store = Store::open(dir).unwrap();
        assert_eq!(store.lock_state(now_ms()).unwrap(), LockState::Locked);
        store
    }

    #[test]
    fn a_pin_unlocks_and_a_wrong_one_says_how_many_attempts_are_left() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = locked_with_pin(dir.path());
        assert!(matches!(
            store.require_unlocked(now_ms()),
            Err(CoreError::Locked)
        ));
        assert!(matches!(store.set_pin("1111"), Err(CoreError::Locked)));
        assert!(matches!(
            store.unlock("1357"),
            Err(CoreError::WrongPin { attempts_left: 4 })
        ));
        assert!(matches!(store.unlock("12"), Err(CoreError::InvalidPin)));
        assert!(matches!(
            store.unlock("1357"),
            Err(CoreError::WrongPin { attempts_left: 3 })
        ));
        let t = std::time::Instant::now();
        store.unlock("2468").unwrap();
        eprintln!("unlock took {:?}", t.elapsed());
        store.require_unlocked(now_ms()).unwrap();
        assert_eq!(store.lock_state(now_ms()).unwrap(), LockState::Unlocked);
        store.lock().unwrap();
        assert_eq!(store.lock_state(now_ms()).unwrap(), LockState::Locked);
    }

    #[test]
    fn the_right_pin_resets_the_count_of_wrong_ones_even_across_restarts() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = locked_with_pin(dir.path());
        for left in [4, 3, 2] {
            assert!(matches!(
                store.unlock("0000"),
                Err(CoreError::WrongPin { attempts_left }) if attempts_left == left
            ));
        }
        drop(store);
        // A restart does not give new attempts.
        let mut store = Store::open(dir.path()).unwrap();
        assert!(matches!(
            store.unlock("0000"),
            Err(CoreError::WrongPin { attempts_left: 1 })
        ));
        store.unlock("2468").unwrap();
        store.lock().unwrap();
        assert!(matches!(
            store.unlock("0000"),
            Err(CoreError::WrongPin { attempts_left: 4 })
        ));
    }

    #[test]
    fn five_wrong_pins_require_an_online_sign_in_and_lose_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = locked_with_pin(dir.path());
        store.unlock("2468").unwrap();
        let team = store.identity().unwrap().unwrap().team_id;
        let course = course_with_a_logged_set(&mut store, team);
        let heads = store.all_heads().unwrap();
        let waiting = store.sync_status().unwrap().waiting;
        assert!(waiting >= 1);
        store.lock().unwrap();
        for left in (1..5).rev() {
            assert!(matches!(
                store.unlock("9999"),
                Err(CoreError::WrongPin { attempts_left }) if attempts_left == left
            ));
        }
        assert!(matches!(
            store.unlock("9999"),
            Err(CoreError::WrongPin { attempts_left: 0 })
        ));
        assert_eq!(
            store.lock_state(now_ms()).unwrap(),
            LockState::SignInRequired
        );
        // Even the right PIN no longer opens it, nor does setting a new one; it stays so after a restart.
        assert!(matches!(
            store.unlock("2468"),
            Err(CoreError::SignInRequired)
        ));
        assert!(matches!(
            store.set_pin("1234"),
            Err(CoreError::SignInRequired)
        ));
        drop(store);
        let mut store = Store::open(dir.path()).unwrap();
        assert_eq!(
            store.lock_state(now_ms()).unwrap(),
            LockState::SignInRequired
        );
        assert!(matches!(
            store.require_unlocked(now_ms()),
            Err(CoreError::Locked)
        ));
        // Nothing logged is lost: documents, the outbox and the logged set are all there.
        assert_eq!(store.all_heads().unwrap(), heads);
        assert_eq!(store.sync_status().unwrap().waiting, waiting);
        assert_eq!(store.sessions(course).unwrap()[0].set_count, 1);
        // An online sign-in opens it again; the person chooses a new PIN.
        store.signed_in().unwrap();
        assert_eq!(store.lock_state(now_ms()).unwrap(), LockState::NoPin);
        store.require_unlocked(now_ms()).unwrap();
        store.set_pin("1357").unwrap();
        assert_eq!(store.lock_state(now_ms()).unwrap(), LockState::Unlocked);
    }

    #[test]
    fn an_idle_app_locks_itself_and_requests_keep_it_open() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = locked_with_pin(dir.path());
        store.set_idle_lock(60_000);
        store.unlock("2468").unwrap();
        let t0 = now_ms();
        store.require_unlocked(t0 + 50_000).unwrap();
        store.require_unlocked(t0 + 100_000).unwrap();
        assert_eq!(store.lock_state(t0 + 170_000).unwrap(), LockState::Locked);
        assert!(matches!(
            store.require_unlocked(t0 + 170_000),
            Err(CoreError::Locked)
        ));
    }

    #[test]
    fn without_a_pin_there_is_nothing_to_lock() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(dir.path()).unwrap();
        assert_eq!(store.lock_state(0).unwrap(), LockState::SignedOut);
        assert!(matches!(store.set_pin("2468"), Err(CoreError::NotSignedIn)));
        drop(store);
        let mut store = signed_in(dir.path(), Role::Assistant, TeamId::new());
        assert_eq!(store.lock_state(0).unwrap(), LockState::NoPin);
        assert!(matches!(store.lock(), Err(CoreError::NoPin)));
        assert!(matches!(store.unlock("2468"), Err(CoreError::NoPin)));
        assert!(matches!(store.set_pin("24680"), Ok(())));
        assert!(matches!(store.set_pin("2468x"), Err(CoreError::InvalidPin)));
    }

    /// A connection to the store's file that ignores the folder lock: an older binary, or a
    /// second process from before the lock.
    fn other_writer(dir: &Path) -> Connection {
        let c = Connection::open(dir.join("homerehab.sqlite3")).unwrap();
        c.busy_timeout(std::time::Duration::from_secs(5)).unwrap();
        c
    }

    /// A change to `course`'s session log made elsewhere (on a copy with `actor`): a new session.
    fn session_made_elsewhere(
        store: &mut Store,
        course: CourseId,
        actor: ActorId,
    ) -> (SessionId, Vec<u8>) {
        let log = DocumentId::session_log_of(course);
        let mut copy = store.document(log).unwrap().fork();
        copy.set_actor(actor);
        let before = copy.get_heads();
        let session = SessionLog::start(course, UserId::new(), None, 5);
        docs::put_session(&mut copy, &session, 5).unwrap();
        let bytes = copy
            .get_changes(&before)
            .iter()
            .flat_map(|c| c.raw_bytes().to_vec())
            .collect();
        (session.id, bytes)
    }

    fn insert_row(dir: &Path, course: CourseId, bytes: &[u8]) {
        other_writer(dir)
            .execute(
                "INSERT INTO doc_changes (doc_id, bytes) VALUES (?1, ?2)",
                params![id_blob(&DocumentId::session_log_of(course)), bytes],
            )
            .unwrap();
    }

    #[test]
    fn a_second_store_on_one_folder_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let first = Store::open(dir.path()).unwrap();
        let err = Store::open(dir.path()).err().expect("refused");
        assert!(matches!(err, CoreError::InUse { .. }), "{err}");
        assert!(err
            .to_string()
            .contains("in use by another Homerehab process"));
        drop(first);
        Store::open(dir.path()).unwrap();
    }

    #[test]
    fn a_change_another_writer_stored_survives_compaction() {
        let dir = tempfile::tempdir().unwrap();
        let team = TeamId::new();
        let mut store = signed_in(dir.path(), Role::Assistant, team);
        let course = course_with_a_logged_set(&mut store, team);
        let (elsewhere, bytes) = session_made_elsewhere(&mut store, course, ActorId::random());
        // This store has the log in memory; the other writer's row is not in that copy.
        insert_row(dir.path(), course, &bytes);
        let log = DocumentId::session_log_of(course);
        let rows = |s: &Store| -> i64 {
            s.conn
                .query_row(
                    "SELECT COUNT(*) FROM doc_changes WHERE doc_id = ?1",
                    [id_blob(&log)],
                    |r| r.get(0),
                )
                .unwrap()
        };
        let line = store.course_doc(course).unwrap().program.ordered()[0].clone();
        let session = store.sessions(course).unwrap()[0].id;
        let set = SetLog {
            reps: Some(10),
            duration_s: None,
            load_kg: None,
            at: 2,
        };
        let mut most = 0;
        let mut session = session;
        for n in 1.. {
            if n % 40 == 0 {
                session = store.start_session(course).unwrap().id;
            }
            store.log_set(course, session, &line, &set).unwrap();
            let now = rows(&store);
            if now < most {
                break; // compacted
            }
            most = now;
            assert!(most < 5_000, "never compacted");
        }
        drop(store);
        let mut store = Store::open(dir.path()).unwrap();
        let sessions = store.session_log(course).unwrap().sessions;
        assert!(
            sessions.contains_key(&elsewhere.to_string()),
            "the other writer's session was lost"
        );
        assert_eq!(store.sync_status().unwrap().damaged, 0);
    }

    #[test]
    fn a_duplicate_sequence_number_is_kept_aside_and_the_store_keeps_working() {
        let dir = tempfile::tempdir().unwrap();
        let team = TeamId::new();
        let mut store = signed_in(dir.path(), Role::Assistant, team);
        let course = course_with_a_logged_set(&mut store, team);
        let me = store.actor().clone();
        // Another process with this device's actor and the same in-memory copy: its next
        // change has the sequence number this store's next change gets.
        let (_, theirs) = session_made_elsewhere(&mut store, course, me);
        let mine = store.start_session(course).unwrap();
        insert_row(dir.path(), course, &theirs);
        // The identical bytes twice are one change, not damage.
        let log = DocumentId::session_log_of(course);
        let own_row: Vec<u8> = store
            .conn
            .query_row(
                "SELECT bytes FROM doc_changes WHERE doc_id = ?1 ORDER BY seq DESC LIMIT 1 OFFSET 1",
                [id_blob(&log)],
                |r| r.get(0),
            )
            .unwrap();
        insert_row(dir.path(), course, &own_row);
        drop(store);
        let mut store = Store::open(dir.path()).unwrap();
        let sessions = store.session_log(course).unwrap().sessions;
        assert!(sessions.contains_key(&mine.id.to_string()));
        let status = store.sync_status().unwrap();
        assert_eq!(status.damaged, 1, "{status:?}");
        let kept: Vec<u8> = store
            .conn
            .query_row("SELECT bytes FROM damaged_changes", [], |r| r.get(0))
            .unwrap();
        assert_eq!(kept, theirs, "kept byte for byte");
        // Still writable, and reads cleanly after a restart.
        let line = store.course_doc(course).unwrap().program.ordered()[0].clone();
        let set = SetLog {
            reps: Some(7),
            duration_s: None,
            load_kg: None,
            at: 3,
        };
        store.log_set(course, mine.id, &line, &set).unwrap();
        drop(store);
        let mut store = Store::open(dir.path()).unwrap();
        assert_eq!(
            store.session_log(course).unwrap().sessions[&mine.id.to_string()].set_count(),
            1
        );
        assert_eq!(store.sync_status().unwrap().damaged, 1);
        let out = dir.path().join("support.sqlite3");
        export_support(dir.path(), &out).unwrap();
        let exported: Vec<u8> = Connection::open(&out)
            .unwrap()
            .query_row("SELECT bytes FROM damaged_changes", [], |r| r.get(0))
            .unwrap();
        assert_eq!(exported, theirs);
    }

    #[test]
    fn the_actor_survives_reopening() {
        let dir = tempfile::tempdir().unwrap();
        let a = Store::open(dir.path()).unwrap().actor().clone();
        assert_eq!(Store::open(dir.path()).unwrap().actor(), &a);
    }
}
