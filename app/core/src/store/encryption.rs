//! The store encrypted at rest (issue #14, item 1): SQLCipher with the data key of
//! [`crate::keys`], the key file beside the database, and the migration of a plain store.
//!
//! A store is in one of three states ([`Sealing`]):
//! - **plain**: an SQLite file from before encryption, or a new device nobody has signed in
//!   on yet (it holds no one's data: every write needs a signed-in user). The first online
//!   sign-in encrypts it, because only then is there a second way to the key (the server's
//!   secret) besides the PIN: a key wrapped by the PIN alone would be lost with five wrong PINs;
//! - **sealed**: encrypted and the key not known in this process. Nothing is read; the PIN or
//!   an online sign-in opens it;
//! - **open**: the key is in memory until the process ends, so background sync runs while the
//!   UI is locked (a residual risk, docs/security.md).
//!
//! Who opens it when: the local API (`homerehab-app`) and the Tauri shell open the store at
//! start (`Core::open`) and it stays sealed until the unlock screen's PIN or the sign-in
//! screen; their background sync waits until then and afterwards runs behind a locked UI.
//! The `homerehab` CLI is a process per command: it opens the store with `--pin` /
//! `HOMEREHAB_PIN` (its `login` chooses that PIN), or its `login` opens it by signing in.
//!
//! The migration from plain ([`Store::encrypt_now`]) writes a new encrypted file with
//! SQLCipher's `sqlcipher_export`, writes the key file, and only then renames the new file over
//! the old one. A crash before the rename leaves the plain file as it was (the half-written
//! copy and the key file are removed at the next open); after it, the key file is there.

use super::database::{open_connection, Store};
use super::sealing::{
    encrypting_path, folder_error, folder_of, is_plain, remove_if_there, Sealing,
};
use crate::error::{CoreError, Result};
use crate::keys::{DataKey, KeyFile, ServerSecret, KEY_FILE};
use homerehab_shared::ids::{DeviceId, UserId};
use rusqlite::Connection;
use std::path::Path;

/// A connection to the encrypted file at `db`, keyed, its schema brought up to date.
pub(super) fn open_encrypted(
    db: &Path,
    key: &DataKey,
) -> Result<(Connection, automerge::ActorId, bool)> {
    open_connection(db, Some(key))
}

impl Store {
    /// Whether the database is encrypted but its key not known yet (nothing can be read).
    pub fn is_sealed(&self) -> bool {
        matches!(self.sealing, Sealing::Sealed(_))
    }

    /// Whether the database is encrypted (sealed or open).
    pub fn is_encrypted(&self) -> bool {
        !matches!(self.sealing, Sealing::Plain)
    }

    /// The key file while encrypted.
    pub(super) fn key_file(&self) -> Option<&KeyFile> {
        match &self.sealing {
            Sealing::Plain => None,
            Sealing::Sealed(file) | Sealing::Open { file, .. } => Some(file),
        }
    }

    /// Changes the key file and writes it whole.
    /// Changes the key file and writes it whole (a failed change writes nothing). Plain: nothing.
    pub(super) fn update_key_file(
        &mut self,
        change: impl FnOnce(&mut KeyFile) -> Result<()>,
    ) -> Result<()> {
        let folder = folder_of(&self.path).to_path_buf();
        match &mut self.sealing {
            Sealing::Plain => Ok(()),
            Sealing::Sealed(file) | Sealing::Open { file, .. } => {
                let mut changed = file.clone();
                change(&mut changed)?;
                changed.write(&folder)?;
                *file = changed;
                Ok(())
            }
        }
    }

    /// The data key while open.
    pub(super) fn data_key(&self) -> Option<&DataKey> {
        match &self.sealing {
            Sealing::Open { key, .. } => Some(key),
            _ => None,
        }
    }

    /// The key media files are encrypted with (`crate::sealed_file`); `None` until the store
    /// is encrypted and open.
    pub fn media_key(&self) -> Option<DataKey> {
        self.data_key().cloned()
    }

    /// The device id for a sign-in: from the key file while the database cannot be read.
    pub fn device_id_for_sign_in(&self) -> Result<DeviceId> {
        match &self.sealing {
            Sealing::Sealed(file) => Ok(file.device_id),
            _ => self.device_id(),
        }
    }

    /// Opens a sealed store with its key: the keyed connection replaces the placeholder.
    pub(super) fn unseal(&mut self, key: DataKey) -> Result<()> {
        let Sealing::Sealed(file) = &self.sealing else {
            return Ok(());
        };
        let file = file.clone();
        let (conn, actor, reproject) = open_encrypted(&self.path, &key)?;
        self.conn = conn;
        self.actor = actor;
        self.loaded.clear();
        self.merged = None;
        self.sealing = Sealing::Open { file, key };
        self.data_version = self.current_data_version()?;
        if reproject {
            self.reproject_all()?;
        }
        self.scrub_if_owed()?;
        Ok(())
    }

    /// Opens a sealed store with the secret the server handed `user` at an online sign-in.
    /// A user who never signed in on this device has no slot: refused, nothing changed.
    pub fn unseal_with_server_secret(&mut self, user: UserId, secret: &ServerSecret) -> Result<()> {
        let Sealing::Sealed(file) = &self.sealing else {
            return Ok(());
        };
        match file.open_with_server(user, secret) {
            Some(key) => self.unseal(key),
            None => Err(CoreError::SealedForOthers),
        }
    }

    /// After an online sign-in of `user`: a plain store is encrypted now; an open one gets
    /// (or renews) `user`'s server slot. (The PIN slot is dropped by `signed_in`: a new PIN
    /// is chosen.)
    pub fn secure_for(&mut self, user: UserId, secret: &ServerSecret) -> Result<()> {
        match &self.sealing {
            Sealing::Sealed(_) => Err(CoreError::Locked),
            Sealing::Open { key, .. } => {
                let key = key.clone();
                self.update_key_file(|f| {
                    f.set_server(&key, user, secret);
                    Ok(())
                })
            }
            Sealing::Plain => {
                let mut file = KeyFile::new(self.device_id()?);
                let key = DataKey::random();
                file.set_server(&key, user, secret);
                self.encrypt_now(file, key)
            }
        }
    }

    /// The migration: plain → encrypted, keeping every row (documents, outbox, everything).
    fn encrypt_now(&mut self, file: KeyFile, key: DataKey) -> Result<()> {
        let db = self.path.clone();
        let tmp = encrypting_path(&db);
        remove_if_there(&tmp)?;
        let tmp_str = tmp
            .to_str()
            .ok_or_else(|| CoreError::Folder("the data folder's path is not UTF-8".into()))?;
        // Everything into the main file first, so nothing is left only in the plain WAL.
        self.conn
            .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| {
                r.get::<_, i64>(0)
            })
            .and_then(|busy| {
                if busy == 0 {
                    Ok(())
                } else {
                    Err(rusqlite::Error::SqliteFailure(
                        rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_BUSY),
                        Some("the WAL could not be checkpointed".into()),
                    ))
                }
            })?;
        let version: i64 = self
            .conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))?;
        let export = || -> rusqlite::Result<()> {
            self.conn.execute(
                "ATTACH DATABASE ?1 AS encrypted KEY ?2",
                [tmp_str, key.sqlcipher_literal().as_str()],
            )?;
            self.conn.execute_batch(&format!(
                "PRAGMA encrypted.cipher_compatibility = {}",
                super::sealing::CIPHER_COMPATIBILITY
            ))?;
            self.conn
                .query_row("SELECT sqlcipher_export('encrypted')", [], |_| Ok(()))?;
            // The migrations' version is not copied by the export.
            self.conn
                .execute_batch(&format!("PRAGMA encrypted.user_version = {version}"))?;
            self.conn.execute_batch("DETACH DATABASE encrypted")
        };
        if let Err(e) = export() {
            let _ = self.conn.execute_batch("DETACH DATABASE encrypted");
            let _ = std::fs::remove_file(&tmp);
            return Err(e.into());
        }
        pause_for_tests();
        std::fs::File::open(&tmp)
            .and_then(|f| f.sync_all())
            .map_err(|e| folder_error(&tmp, e))?;
        // Closing the plain file's connection lets SQLite remove its (empty) WAL.
        let closed = std::mem::replace(&mut self.conn, Connection::open_in_memory()?);
        drop(closed);
        let name = db
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("homerehab.sqlite3");
        let swap = || -> Result<()> {
            for suffix in ["-wal", "-shm"] {
                let side = db.with_file_name(format!("{name}{suffix}"));
                match std::fs::metadata(&side) {
                    Ok(m) if m.len() > 0 && suffix == "-wal" => {
                        return Err(CoreError::Folder(
                            "the store could not be encrypted now (its WAL is in use)".into(),
                        ));
                    }
                    _ => remove_if_there(&side)?,
                }
            }
            // The key file before the rename: an encrypted database never exists without it.
            file.write(folder_of(&db))?;
            pause_for_tests();
            std::fs::rename(&tmp, &db).map_err(|e| folder_error(&db, e))?;
            std::fs::File::open(folder_of(&db))
                .and_then(|f| f.sync_all())
                .map_err(|e| folder_error(&db, e))
        };
        if let Err(e) = swap() {
            // Not renamed (the rename is the last step that can fail before the fsync): the
            // plain file is still the store, and this process goes on with it.
            if is_plain(&db)? {
                let _ = std::fs::remove_file(&tmp);
                let _ = std::fs::remove_file(folder_of(&db).join(KEY_FILE));
                self.reopen_plain()?;
                return Err(e);
            }
            tracing::warn!(error = %e, "the folder could not be synced after the encryption");
        }
        self.sealing = Sealing::Sealed(file);
        self.unseal(key)?;
        // Photos and videos kept in clear before: gone (the server has them; the next
        // prefetch brings them back encrypted).
        if let Ok(entries) = std::fs::read_dir(&self.media.dir) {
            for entry in entries.flatten() {
                let _ = std::fs::remove_file(entry.path());
            }
        }
        tracing::info!("the local store is now encrypted");
        Ok(())
    }

    fn reopen_plain(&mut self) -> Result<()> {
        let (conn, actor, _) = open_connection(&self.path, None)?;
        self.conn = conn;
        self.actor = actor;
        self.loaded.clear();
        self.merged = None;
        self.data_version = self.current_data_version()?;
        Ok(())
    }

    /// The key file and data key are forgotten with the files (a revoked device's erasure).
    pub(super) fn forget_encryption(&mut self) {
        self.sealing = Sealing::Plain;
    }
}

/// The scenario test that kills a device mid-migration sets `HOMEREHAB_ENCRYPT_STEP_MS`;
/// unset (always, outside that test) it costs one lookup.
fn pause_for_tests() {
    if let Some(ms) = std::env::var("HOMEREHAB_ENCRYPT_STEP_MS")
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
    {
        std::thread::sleep(std::time::Duration::from_millis(ms));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lock::LockState;
    use crate::store::fixtures::{course_with_a_logged_set, signed_in};
    use crate::store::now_ms;
    use homerehab_shared::ids::TeamId;
    use homerehab_shared::model::Role;
    use std::path::PathBuf;

    const TOKEN: &str = "9c1e5f0a7b3d-token-never-on-disk";

    fn secret(b: u8) -> ServerSecret {
        ServerSecret::from_hex(&hex::encode([b; 32])).unwrap()
    }

    /// Every byte of every file in `dir`, with its name.
    fn every_file(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
        let mut out = Vec::new();
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                out.extend(every_file(&path));
            } else {
                out.push((path.clone(), std::fs::read(&path).unwrap()));
            }
        }
        out
    }

    fn contains(haystack: &[u8], needle: &str) -> bool {
        haystack
            .windows(needle.len())
            .any(|w| w == needle.as_bytes())
    }

    /// A signed-in plain store with a logged set and a token, then encrypted for `user`.
    fn encrypted(
        dir: &Path,
    ) -> (
        Store,
        UserId,
        Vec<(
            homerehab_shared::ids::DocumentId,
            Vec<automerge::ChangeHash>,
        )>,
    ) {
        let mut store = signed_in(dir, Role::Assistant, TeamId::new());
        let mut me = store.identity().unwrap().unwrap();
        me.token = TOKEN.into();
        me.display_name = "Birthe Kragelund-Østergaard".into();
        store.set_identity(&me).unwrap();
        course_with_a_logged_set(&mut store, me.team_id);
        let heads = store.all_heads().unwrap();
        assert!(
            every_file(dir).iter().any(|(_, b)| contains(b, TOKEN)),
            "plain before"
        );
        store.secure_for(me.user_id, &secret(1)).unwrap();
        store.signed_in().unwrap();
        (store, me.user_id, heads)
    }

    /// A store as the release of 2026-12 left it on a tablet: encrypted database, key file
    /// with a PIN slot, a course with a logged set waiting to be sent. Written once by this
    /// test with `HOMEREHAB_WRITE_STORE_FIXTURE=<dir>` and kept; a later release (a SQLCipher
    /// or schema change) must still open it with the PIN, keeping the work and its outbox.
    const RELEASE_FIXTURE: &str =
        concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/store-2026-12");

    #[test]
    fn a_store_written_by_an_earlier_release_opens_with_its_pin_keeping_its_work() {
        if let Ok(out) = std::env::var("HOMEREHAB_WRITE_STORE_FIXTURE") {
            let out = Path::new(&out);
            std::fs::create_dir_all(out).unwrap();
            let (mut store, _, _) = encrypted(out);
            store.set_pin("2468").unwrap();
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        for entry in std::fs::read_dir(RELEASE_FIXTURE).unwrap() {
            let path = entry.unwrap().path();
            std::fs::copy(&path, dir.path().join(path.file_name().unwrap())).unwrap();
        }
        let mut store = Store::open(dir.path()).unwrap();
        assert!(store.is_encrypted() && store.is_sealed());
        assert!(matches!(
            store.unlock("1357"),
            Err(CoreError::WrongPin { .. })
        ));
        store.unlock("2468").unwrap();
        let me = store.identity().unwrap().unwrap();
        assert_eq!(me.display_name, "Birthe Kragelund-Østergaard");
        assert_eq!(me.token, TOKEN);
        let courses = store.courses().unwrap();
        assert_eq!(courses.len(), 1);
        let sessions = store.sessions(courses[0].id).unwrap();
        assert_eq!(sessions.len(), 1);
        assert_eq!(sessions[0].set_count, 1, "the logged set");
        assert_eq!(
            store.sync_status().unwrap().waiting,
            2,
            "its outbox: the course and its log"
        );
    }

    #[test]
    fn a_signed_in_store_is_encrypted_keeps_everything_and_leaves_nothing_readable() {
        let dir = tempfile::tempdir().unwrap();
        let (mut store, _, heads) = encrypted(dir.path());
        assert!(store.is_encrypted() && !store.is_sealed());
        assert_eq!(store.all_heads().unwrap(), heads, "every document kept");
        assert_eq!(
            store.sync_status().unwrap().waiting as usize,
            heads.len(),
            "and the outbox"
        );
        store.set_pin("2468").unwrap();
        drop(store);
        for (path, bytes) in every_file(dir.path()) {
            for secret in [TOKEN, "Birthe Kragelund", "sit-to-stand", "SQLite format 3"] {
                assert!(!contains(&bytes, secret), "{secret} in {}", path.display());
            }
        }
        // A restart: sealed, nothing readable until the PIN.
        let mut store = Store::open(dir.path()).unwrap();
        assert!(store.is_sealed());
        assert_eq!(store.lock_state(now_ms()).unwrap(), LockState::Locked);
        assert!(matches!(store.identity(), Err(CoreError::Locked)));
        let t = std::time::Instant::now();
        store.unlock("2468").unwrap();
        eprintln!("unseal with the PIN took {:?}", t.elapsed());
        assert_eq!(store.all_heads().unwrap(), heads);
        assert_eq!(store.identity().unwrap().unwrap().token, TOKEN);
        assert_eq!(store.lock_state(now_ms()).unwrap(), LockState::Unlocked);
    }

    #[test]
    fn five_wrong_pins_drop_only_the_pin_slot_and_a_sign_in_opens_the_data_again() {
        let dir = tempfile::tempdir().unwrap();
        let (mut store, user, heads) = encrypted(dir.path());
        store.set_pin("2468").unwrap();
        drop(store);
        let mut store = Store::open(dir.path()).unwrap();
        for left in (1..5).rev() {
            assert!(
                matches!(store.unlock("0000"), Err(CoreError::WrongPin { attempts_left }) if attempts_left == left)
            );
            if left == 2 {
                // A restart gives no new attempts: they are counted in the key file.
                drop(store);
                store = Store::open(dir.path()).unwrap();
            }
        }
        assert!(matches!(
            store.unlock("0000"),
            Err(CoreError::WrongPin { attempts_left: 0 })
        ));
        assert_eq!(
            store.lock_state(now_ms()).unwrap(),
            LockState::SignInRequired
        );
        assert!(matches!(
            store.unlock("2468"),
            Err(CoreError::SignInRequired)
        ));
        drop(store);
        let mut store = Store::open(dir.path()).unwrap();
        assert_eq!(
            store.lock_state(now_ms()).unwrap(),
            LockState::SignInRequired
        );
        // Another user's secret, or the wrong one, opens nothing.
        assert!(matches!(
            store.unseal_with_server_secret(UserId::new(), &secret(1)),
            Err(CoreError::SealedForOthers)
        ));
        assert!(matches!(
            store.unseal_with_server_secret(user, &secret(2)),
            Err(CoreError::SealedForOthers)
        ));
        assert!(store.is_sealed());
        store.unseal_with_server_secret(user, &secret(1)).unwrap();
        store.signed_in().unwrap();
        assert_eq!(store.all_heads().unwrap(), heads, "nothing lost");
        assert_eq!(store.lock_state(now_ms()).unwrap(), LockState::NoPin);
        store.set_pin("1357").unwrap();
    }

    #[test]
    fn wrong_pins_while_the_key_is_in_memory_drop_the_pin_slot_too() {
        let dir = tempfile::tempdir().unwrap();
        let (mut store, _, heads) = encrypted(dir.path());
        store.set_pin("2468").unwrap();
        store.lock().unwrap();
        for _ in 0..5 {
            assert!(store.unlock("9999").is_err());
        }
        assert_eq!(
            store.lock_state(now_ms()).unwrap(),
            LockState::SignInRequired
        );
        assert!(KeyFile::read(dir.path()).unwrap().unwrap().pin.is_none());
        // Background sync still reads: the key stays while the process lives.
        assert_eq!(store.all_heads().unwrap(), heads);
    }

    #[test]
    fn an_encryption_cut_short_before_its_rename_leaves_the_plain_store_in_use() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = signed_in(dir.path(), Role::Assistant, TeamId::new());
        let team = store.identity().unwrap().unwrap().team_id;
        course_with_a_logged_set(&mut store, team);
        let heads = store.all_heads().unwrap();
        drop(store);
        // What a crash between the key file and the rename leaves.
        let db = dir.path().join("homerehab.sqlite3");
        std::fs::write(encrypting_path(&db), b"half an encrypted copy").unwrap();
        let mut file = KeyFile::new(DeviceId::new());
        file.set_server(&DataKey::random(), UserId::new(), &secret(3));
        file.write(dir.path()).unwrap();
        let store = Store::open(dir.path()).unwrap();
        assert!(!store.is_encrypted());
        assert_eq!(store.all_heads().unwrap(), heads);
        assert!(!encrypting_path(&db).exists());
        assert!(!dir.path().join(KEY_FILE).exists());
    }

    #[test]
    fn an_encrypted_database_without_its_key_file_is_reported_and_left_alone() {
        let dir = tempfile::tempdir().unwrap();
        let (store, _, _) = encrypted(dir.path());
        drop(store);
        std::fs::remove_file(dir.path().join(KEY_FILE)).unwrap();
        let db = std::fs::read(dir.path().join("homerehab.sqlite3")).unwrap();
        assert!(matches!(
            Store::open(dir.path()),
            Err(CoreError::Corrupt(_))
        ));
        assert_eq!(
            std::fs::read(dir.path().join("homerehab.sqlite3")).unwrap(),
            db
        );
    }
}
