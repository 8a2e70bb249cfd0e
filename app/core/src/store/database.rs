//! The [`Store`] itself: the SQLite connection, the documents held in memory, and the one way
//! to change a document — a local edit in one write transaction with its rows and the outbox.

use super::clock::now_ms;
use super::columns::{blob_to_heads, document_id, id_blob};
use super::documents::{append_changes, insert_document, read_document};
use super::folder_lock::FolderLock;
use super::media_state::MediaSettings;
use super::projection::{project, Projection};
use super::schema;
use super::sealing::{apply_key, sealing_at, Sealing};
use crate::error::{CoreError, Result};
use crate::keys::DataKey;
use crate::lock::Gate;
use automerge::{ActorId, Automerge, ChangeHash};
use homerehab_shared::docs::{self, DocumentKind, Header};
use homerehab_shared::ids::*;
use rusqlite::{params, Connection, OptionalExtension};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// Shared handle to the store for async code (HTTP handlers, background sync, media
/// prefetch); lock scopes never span an `.await`.
pub type SharedStore = Arc<Mutex<Store>>;

/// Copies the store in `dir` (every document, change and kept-aside damaged change) into the
/// new file `out` for support, reading only: SQLite's `VACUUM INTO` on a read-only
/// connection, so it works beside a running app and changes nothing. A file SQLite cannot
/// read is copied as it is.
///
/// An encrypted store's export is encrypted with the same key (SQLCipher's `VACUUM INTO`
/// keeps the key), and its key file is copied beside it as `<out>.keys`: support opens it
/// with the user's PIN or the server's secret, never without. `pin` opens the key file for
/// the copy; without it (or with a wrong one) the files are copied as they are. A wrong PIN
/// here is not counted: whoever can run this can copy the files anyway.
pub fn export_support(dir: &Path, out: &Path, pin: Option<&str>) -> Result<()> {
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
    let keys = crate::keys::KeyFile::read(dir)?;
    let key = match (&keys, pin) {
        (Some(file), Some(pin)) => file.open_with_pin(pin)?,
        _ => None,
    };
    if let Some(file) = &keys {
        let mut name = out.as_os_str().to_owned();
        name.push(".keys");
        file.write_to(Path::new(&name))?;
    }
    let vacuum = || -> Result<()> {
        if keys.is_some() && key.is_none() {
            return Err(CoreError::Locked);
        }
        sqlcipher_ready();
        let conn = Connection::open_with_flags(&db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)?;
        if let Some(key) = &key {
            apply_key(&conn, key)?;
        }
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

/// SQLCipher registers `sqlcipher_export` in SQLite's "extra init", which runs after SQLite has
/// marked itself initialised: a connection another thread opens in that moment lacks it ("no
/// such function: sqlcipher_export", seen once in six runs of scenario tests opening stores in
/// parallel). The first open in the process finishes that initialisation before any other.
fn sqlcipher_ready() {
    static READY: std::sync::Once = std::sync::Once::new();
    READY.call_once(|| drop(Connection::open_in_memory()));
}

/// Opens the SQLite file at `path` (creating it), brings its schema up to date and reads the
/// device's actor id (creating one in a new file). Also says whether the projections must be
/// rebuilt after a schema upgrade.
/// With `key`, the file is SQLCipher's, encrypted with it (`encryption`).
pub(super) fn open_connection(
    path: &Path,
    key: Option<&DataKey>,
) -> Result<(Connection, ActorId, bool)> {
    sqlcipher_ready();
    let mut conn = Connection::open(path)?;
    if let Some(key) = key {
        apply_key(&conn, key)?;
    }
    let reproject = schema::prepare(&mut conn)?;
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
    Ok((conn, actor, reproject))
}

/// The local store. Not `Sync`: wrap in a `Mutex` to share; every method is short.
pub struct Store {
    pub(super) conn: Connection,
    pub(super) loaded: HashMap<DocumentId, Automerge>,
    pub(super) actor: ActorId,
    /// Whether the PIN opened the app since it started (see [`crate::lock`]).
    pub(super) gate: Gate,
    /// The shipped library merged with the municipality's, for the library document's heads.
    pub(super) merged: Option<(
        Vec<ChangeHash>,
        std::sync::Arc<homerehab_shared::library::Library>,
    )>,
    /// Where verified photos and videos are kept, and how much room they may take.
    pub(super) media: MediaSettings,
    /// SQLite's `data_version` when `loaded` was last known to match the file: another
    /// connection's commit changes it, and then the cached documents are stale.
    pub(super) data_version: i64,
    /// The database file.
    pub(super) path: PathBuf,
    /// Plain, sealed (key not known yet) or open (`encryption`).
    pub(super) sealing: Sealing,
    /// Held by whatever talks to the server about who is signed in: a sync, a sign-in, a
    /// sign-out. One at a time, so no sync runs across a change of user (its later requests
    /// would carry the next user's work under the first one's token).
    sync_gate: std::sync::Arc<tokio::sync::Mutex<()>>,
    /// Held for the store's whole life: one process per data folder. Declared last, so the
    /// database is closed before the lock is let go.
    _folder_lock: FolderLock,
}

impl Store {
    /// Opens (creating if needed) the store in `dir`. A damaged file is reported, never replaced.
    pub fn open(dir: &Path) -> Result<Store> {
        std::fs::create_dir_all(dir).map_err(|e| CoreError::Corrupt(e.to_string()))?;
        owner_only(dir)?;
        Self::open_file(&dir.join("homerehab.sqlite3"))
    }

    /// Opens the store in the SQLite file `path`, locking `homerehab.lock` beside it first: a
    /// second process (or a second open in this one) is refused with [`CoreError::InUse`].
    pub fn open_file(path: &Path) -> Result<Store> {
        sqlcipher_ready();
        let folder_lock = FolderLock::acquire(path)?;
        // A revoked device killed while erasing its data finishes before anything is read.
        super::erasure::finish_pending_erase(path)?;
        let sealing = sealing_at(path)?;
        // Sealed, nothing can be read: a placeholder connection until the key is known.
        let (conn, actor, reproject) = match sealing {
            Sealing::Plain => open_connection(path, None)?,
            _ => (Connection::open_in_memory()?, ActorId::random(), false),
        };
        let mut store = Store {
            conn,
            loaded: HashMap::new(),
            actor,
            gate: Gate::default(),
            merged: None,
            media: MediaSettings::beside(path),
            data_version: 0,
            path: path.to_path_buf(),
            sealing,
            sync_gate: Default::default(),
            _folder_lock: folder_lock,
        };
        if store.is_sealed() {
            return Ok(store);
        }
        store.data_version = store.current_data_version()?;
        if reproject {
            store.reproject_all()?;
        }
        store.scrub_if_owed()?;
        Ok(store)
    }

    /// The gate of the store's conversations with the server (see the field).
    pub fn sync_gate(&self) -> std::sync::Arc<tokio::sync::Mutex<()>> {
        self.sync_gate.clone()
    }

    /// Rebuilds the projection rows of every document but the parked ones (another user's
    /// work waiting for them: hidden by having no rows, so a rebuild must not give it any).
    pub(super) fn reproject_all(&mut self) -> Result<()> {
        let ids: Vec<Vec<u8>> = self
            .conn
            .prepare(
                "SELECT doc_id FROM documents WHERE doc_id NOT IN (SELECT doc_id FROM parked)",
            )?
            .query_map([], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        for id in ids {
            let id = document_id(&id)?;
            let Some(header) = self.header_of(id)? else {
                continue;
            };
            // One document that cannot be read must not keep the app from opening (nor the
            // others from being rebuilt); its rows stay as they were.
            if let Err(e) = self.load(id) {
                tracing::warn!(doc = %id, error = %e, "not rebuilt: the document cannot be read");
                continue;
            }
            let doc = self.loaded.get(&id).expect("loaded above");
            let tx = self.conn.transaction()?;
            // Nor one that today's rules refuse (a rule tightened since it was written): its
            // rows stay as they were, rolled back with the transaction; the app opens.
            match project(&tx, &header, doc, &Projection::Whole) {
                Ok(()) => tx.commit()?,
                Err(
                    e @ (CoreError::Schema(_) | CoreError::Document(_) | CoreError::Damaged(_)),
                ) => {
                    tracing::warn!(doc = %id, error = %e, "not rebuilt: the document no longer projects");
                }
                // The database itself failing (busy, full disk): not a document to pass over;
                // the rebuild stays owed and runs again at the next open.
                Err(e) => return Err(e),
            }
        }
        self.delete_meta(super::schema::REPROJECT_PENDING)?;
        tracing::info!("projections rebuilt after a schema upgrade");
        Ok(())
    }

    /// This device's Automerge actor id (registered with the server at sign-in).
    pub fn actor(&self) -> &ActorId {
        &self.actor
    }

    pub(super) fn set_meta(&self, key: &str, value: &[u8]) -> Result<()> {
        self.readable()?;
        self.conn.execute(
            "INSERT OR REPLACE INTO meta (key, value) VALUES (?1, ?2)",
            params![key, value],
        )?;
        Ok(())
    }

    /// [`CoreError::Locked`] while the database is sealed (its key not known yet).
    pub(super) fn readable(&self) -> Result<()> {
        if self.is_sealed() {
            Err(CoreError::Locked)
        } else {
            Ok(())
        }
    }

    pub(super) fn delete_meta(&self, key: &str) -> Result<()> {
        self.readable()?;
        self.conn
            .execute("DELETE FROM meta WHERE key = ?1", [key])?;
        Ok(())
    }

    pub(super) fn meta(&self, key: &str) -> Result<Option<Vec<u8>>> {
        self.readable()?;
        Ok(self
            .conn
            .query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
            .optional()?)
    }

    // ---- documents -------------------------------------------------------------------------

    pub(super) fn header_of(&self, id: DocumentId) -> Result<Option<Header>> {
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

    pub(super) fn current_data_version(&self) -> Result<i64> {
        Ok(self
            .conn
            .query_row("PRAGMA data_version", [], |r| r.get(0))?)
    }

    /// Forgets the cached documents when another connection (another process, an older binary
    /// without the folder lock, a support tool) committed to the file since they were loaded.
    pub(super) fn notice_other_writers(&mut self) -> Result<()> {
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
    ///
    /// Called inside another write transaction it becomes a savepoint of it, so an operation of
    /// several writes (a course with its plan and its referral's link) commits all or nothing.
    pub(super) fn in_write_tx<T>(&mut self, f: impl FnOnce(&mut Store) -> Result<T>) -> Result<T> {
        if !self.conn.is_autocommit() {
            return self.in_savepoint(f);
        }
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

    /// The nested part of [`Self::in_write_tx`]: an error undoes only what `f` wrote (its caller
    /// may go on), and forgets the cache, which may hold what was undone.
    fn in_savepoint<T>(&mut self, f: impl FnOnce(&mut Store) -> Result<T>) -> Result<T> {
        self.conn.execute_batch("SAVEPOINT nested_write")?;
        match f(self) {
            Ok(v) => {
                self.conn.execute_batch("RELEASE nested_write")?;
                Ok(v)
            }
            Err(e) => {
                self.loaded.clear();
                self.merged = None;
                self.conn
                    .execute_batch("ROLLBACK TO nested_write; RELEASE nested_write")?;
                Err(e)
            }
        }
    }

    pub(super) fn load(&mut self, id: DocumentId) -> Result<Option<&mut Automerge>> {
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
    pub(super) fn is_parked(&self, id: DocumentId) -> Result<bool> {
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
    pub(super) fn ensure_document(&mut self, header: &Header) -> Result<()> {
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
    pub(super) fn write<T>(
        &mut self,
        id: DocumentId,
        scope: Projection<'_>,
        edit: impl FnOnce(&mut Automerge) -> std::result::Result<T, docs::SchemaError>,
    ) -> Result<T> {
        self.in_write_tx(|s| {
            if let Some(notice) = s.revoked_for_edits()? {
                return Err(CoreError::DeviceRevoked(notice));
            }
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
            out.push((document_id(&id)?, blob_to_heads(&heads)));
        }
        Ok(out)
    }
}

/// The data folder is its owner's alone: with the usual umask it was readable by every user
/// of the machine, who could copy the key file and the database and try every PIN offline.
#[cfg(unix)]
fn owner_only(dir: &Path) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let meta = std::fs::metadata(dir).map_err(|e| CoreError::Folder(e.to_string()))?;
    if meta.permissions().mode() & 0o077 != 0 {
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
            .map_err(|e| CoreError::Folder(format!("{}: {e}", dir.display())))?;
    }
    Ok(())
}

#[cfg(not(unix))]
fn owner_only(_dir: &Path) -> Result<()> {
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::CoreError;

    #[cfg(unix)]
    #[test]
    fn the_data_folder_is_its_owners_alone() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("homerehab-device");
        std::fs::create_dir(&data).unwrap();
        std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o755)).unwrap();
        drop(Store::open(&data).unwrap());
        let mode = std::fs::metadata(&data).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o700, "{mode:o}");
        let fresh = dir.path().join("fresh");
        drop(Store::open(&fresh).unwrap());
        let mode = std::fs::metadata(&fresh).unwrap().permissions().mode();
        assert_eq!(mode & 0o077, 0, "{mode:o}");
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

    /// A database a newer app migrated (the update taken back): refused as too new, not as
    /// damaged, and not touched, so the newest app still opens it with everything in it.
    #[test]
    fn a_database_from_a_newer_app_is_refused_as_too_new_and_left_untouched() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("homerehab.sqlite3");
        drop(Store::open(dir.path()).unwrap());
        let newer = super::super::schema::MIGRATIONS.len() as i64 + 1;
        let conn = Connection::open(&path).unwrap();
        conn.pragma_update(None, "user_version", newer).unwrap();
        drop(conn);
        let before = std::fs::read(&path).unwrap();
        let err = Store::open(dir.path()).err().expect("refused");
        assert!(matches!(err, CoreError::AppTooOld(_)), "{err}");
        assert!(err.to_string().contains("install the newest version"));
        assert_eq!(std::fs::read(&path).unwrap(), before);
        let conn = Connection::open(&path).unwrap();
        let version: i64 = conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap();
        assert_eq!(version, newer);
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
    fn the_actor_survives_reopening() {
        let dir = tempfile::tempdir().unwrap();
        let a = Store::open(dir.path()).unwrap().actor().clone();
        assert_eq!(Store::open(dir.path()).unwrap().actor(), &a);
    }
}
