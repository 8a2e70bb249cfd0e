//! A revoked device erases its data (issue #14; the rules: `shared::device_registry`).
//!
//! The device's id, generated at its first sign-in and kept in `meta`, names it to the
//! server's registry. When the server says the device is revoked and everything it held was
//! confirmed stored (the client decides, by `device_registry::may_erase`), [`Store::erase_revoked`]
//! erases every file the app writes in its data folder: the database with its WAL and shared
//! memory files, the media folder, the key file (`homerehab.keys`), and with the database the
//! token and the PIN hash. Only two
//! files stay: [`NOTICE_FILE`] (who revoked it, when and why, for the next screen; no citizen
//! data) and `homerehab.lock` (a process id).
//!
//! The notice is written first and marked erased last, so a device killed mid-way finishes the
//! erasure when it next starts (`erasure::finish_pending_erase`, before the database is opened).

use super::database::{open_connection, Store};
use super::erasure::{
    delete_data, folder_error, folder_of, revoke_notice, write_notice, NoticeFile, NOTICE_FILE,
};
use crate::error::{CoreError, Result};
use homerehab_shared::api::RevokeNotice;
use homerehab_shared::ids::DeviceId;
use rusqlite::Connection;
use std::path::PathBuf;

impl Store {
    fn db_path(&self) -> Option<PathBuf> {
        // While sealed the connection is a placeholder in memory: the file is `self.path`.
        if self.is_sealed() {
            return Some(self.path.clone());
        }
        self.conn
            .path()
            .filter(|p| !p.is_empty())
            .map(PathBuf::from)
    }

    /// This device's id for the server's registry: generated at the first sign-in, then kept
    /// (a new one after an erasure, since the database goes with it).
    pub fn device_id(&self) -> Result<DeviceId> {
        if let Some(bytes) = self.meta("device_id")? {
            if let Ok(id) = uuid::Uuid::from_slice(&bytes) {
                return Ok(DeviceId(id));
            }
        }
        let id = DeviceId::new();
        self.set_meta("device_id", id.as_bytes())?;
        Ok(id)
    }

    /// The revocation this store's folder was erased for, if any.
    pub fn revocation(&self) -> Option<RevokeNotice> {
        self.db_path().and_then(|db| revoke_notice(folder_of(&db)))
    }

    /// Erases the device's data for `notice`: the database (documents, outbox, token, PIN),
    /// its WAL and shared memory, and the media folder; then opens a new, empty store in the
    /// same place, with nobody signed in. Call only once the server confirmed everything the
    /// device held (`shared::device_registry::may_erase`).
    pub fn erase_revoked(&mut self, notice: &RevokeNotice) -> Result<()> {
        let Some(db) = self.db_path() else {
            return Err(CoreError::Folder(
                "an in-memory store has no files to erase".into(),
            ));
        };
        write_notice(
            &db,
            &NoticeFile {
                notice: notice.clone(),
                erased: false,
            },
        )?;
        // Closing the file's connection first: SQLite checkpoints and lets go of the files.
        let closed = std::mem::replace(&mut self.conn, Connection::open_in_memory()?);
        drop(closed);
        self.loaded.clear();
        self.merged = None;
        self.gate.close();
        delete_data(&db)?;
        // The key file went with the data: the new store is plain until the next sign-in.
        self.forget_encryption();
        let (conn, actor, _) = open_connection(&db, None)?;
        self.conn = conn;
        self.actor = actor;
        self.data_version = self.current_data_version()?;
        write_notice(
            &db,
            &NoticeFile {
                notice: notice.clone(),
                erased: true,
            },
        )?;
        tracing::warn!("this device was revoked; its data was erased");
        Ok(())
    }

    /// The server said this device is revoked: from now on it takes no new local edits. The
    /// hand-over sends what is here; an edit made after it could not go (the server closes the
    /// hand-over at the first sync that offers nothing) and the erasure would take it, after
    /// the person was told it was saved. Left open: an edit made while the very first answer
    /// that says so is on its way, when that sync offered nothing.
    pub fn revoked_while_in_use(&self, notice: &RevokeNotice) -> Result<()> {
        self.set_meta(
            "revoked",
            &serde_json::to_vec(notice).expect("a notice serializes"),
        )
    }

    /// The revocation that stops local edits, if the server announced one.
    pub(super) fn revoked_for_edits(&self) -> Result<Option<RevokeNotice>> {
        Ok(self
            .meta("revoked")?
            .and_then(|b| serde_json::from_slice(&b).ok()))
    }

    /// Someone signed in again on this device: the notice has been read.
    pub fn forget_revocation(&self) -> Result<()> {
        let Some(db) = self.db_path() else {
            return Ok(());
        };
        let path = folder_of(&db).join(NOTICE_FILE);
        match std::fs::remove_file(&path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(folder_error(&path, e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::erasure::read_notice;
    use crate::store::fixtures;
    use homerehab_shared::ids::TeamId;
    use homerehab_shared::model::Role;
    use std::path::Path;

    fn notice() -> RevokeNotice {
        RevokeNotice {
            revoked_at: 1_000,
            revoked_by: "Lis Leder".into(),
            reason: "Tabt".into(),
        }
    }

    fn names(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn an_erased_store_keeps_only_the_notice_and_opens_empty_with_a_new_device_id() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = fixtures::signed_in(dir.path(), Role::Assistant, TeamId::new());
        let before = store.device_id().unwrap();
        assert_eq!(store.device_id().unwrap(), before, "kept");
        std::fs::create_dir_all(dir.path().join("media")).unwrap();
        std::fs::write(dir.path().join("media").join("ab"), b"photo").unwrap();
        store.erase_revoked(&notice()).unwrap();
        assert!(store.identity().unwrap().is_none(), "the token is gone");
        assert_ne!(store.device_id().unwrap(), before);
        assert_eq!(store.revocation(), Some(notice()));
        drop(store);
        // Only the notice, the lock and the new empty database (and its WAL files) remain.
        let left: Vec<_> = names(dir.path())
            .into_iter()
            .filter(|n| !n.starts_with("homerehab.sqlite3"))
            .collect();
        assert_eq!(left, ["homerehab.lock", NOTICE_FILE]);
        let store = Store::open(dir.path()).unwrap();
        assert!(store.identity().unwrap().is_none());
        assert_eq!(store.revocation(), Some(notice()), "shown after a restart");
        store.forget_revocation().unwrap();
        assert_eq!(store.revocation(), None);
    }

    #[test]
    fn a_revoked_device_takes_no_new_edits() {
        use homerehab_shared::ids::CitizenId;
        let dir = tempfile::tempdir().unwrap();
        let team = TeamId::new();
        let mut store = fixtures::signed_in(dir.path(), Role::Therapist, team);
        let citizen = |name: &str| fixtures::citizen(CitizenId::new(), name);
        store.put_citizen(&citizen("Karen")).unwrap();
        assert_eq!(store.sync_status().unwrap().waiting, 1);
        // The server announced the revocation: the edit made meanwhile is refused, clearly.
        store.revoked_while_in_use(&notice()).unwrap();
        let err = store.put_citizen(&citizen("Bent")).unwrap_err();
        assert!(matches!(err, CoreError::DeviceRevoked(_)), "{err}");
        assert_eq!(store.sync_status().unwrap().waiting, 1);
        assert_eq!(store.roster_citizens(team).unwrap().len(), 1);
    }

    #[test]
    fn an_erasure_cut_short_is_finished_when_the_store_next_opens() {
        let dir = tempfile::tempdir().unwrap();
        let store = fixtures::signed_in(dir.path(), Role::Assistant, TeamId::new());
        drop(store);
        std::fs::create_dir_all(dir.path().join("media")).unwrap();
        // The first step of an erasure, then the process died.
        let db = dir.path().join("homerehab.sqlite3");
        write_notice(
            &db,
            &NoticeFile {
                notice: notice(),
                erased: false,
            },
        )
        .unwrap();
        let store = Store::open(dir.path()).unwrap();
        assert!(
            store.identity().unwrap().is_none(),
            "erased before it was read"
        );
        assert!(!dir.path().join("media").exists());
        assert!(read_notice(dir.path()).unwrap().erased);
        // Done once: what the next person does on the device is not erased at the next start.
        store.set_meta("probe", b"kept").unwrap();
        drop(store);
        let store = Store::open(dir.path()).unwrap();
        assert_eq!(store.meta("probe").unwrap().as_deref(), Some(&b"kept"[..]));
    }
}
