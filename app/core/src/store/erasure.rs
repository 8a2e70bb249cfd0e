//! The files of a revoked device's erasure (issue #14; see `revocation`): which files hold
//! data, the notice kept beside them, and finishing an erasure a killed process began. Only
//! files here, no database, so `database` can finish an erasure before it opens the store.

use crate::error::{CoreError, Result};
use homerehab_shared::api::RevokeNotice;
use serde::{Deserialize, Serialize};
use std::io::Write;
use std::path::{Path, PathBuf};

/// The notice of a revocation, beside the database.
pub const NOTICE_FILE: &str = "revoked.json";

#[derive(Serialize, Deserialize)]
pub(super) struct NoticeFile {
    pub(super) notice: RevokeNotice,
    /// False from the moment the erasure begins until every file is gone.
    pub(super) erased: bool,
}

pub(super) fn folder_of(db: &Path) -> &Path {
    db.parent().unwrap_or(Path::new("."))
}

/// Every file and folder of the store at `db` that holds data.
fn data_paths(db: &Path) -> Vec<PathBuf> {
    let name = db
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("homerehab.sqlite3");
    let mut paths: Vec<PathBuf> = ["", "-wal", "-shm", "-journal"]
        .iter()
        .map(|suffix| db.with_file_name(format!("{name}{suffix}")))
        .collect();
    paths.push(db.with_file_name(format!("{name}.encrypting")));
    // The wrapped data key: nothing opens what is left of the files without it.
    paths.push(folder_of(db).join(crate::keys::KEY_FILE));
    paths.push(folder_of(db).join(format!("{}.tmp", crate::keys::KEY_FILE)));
    paths.push(folder_of(db).join("media"));
    paths
}

pub(super) fn folder_error(path: &Path, e: std::io::Error) -> CoreError {
    CoreError::Folder(format!("{}: {e}", path.display()))
}

/// Written whole or not at all: a temporary file, synced, renamed over the notice, the folder
/// synced.
pub(super) fn write_notice(db: &Path, file: &NoticeFile) -> Result<()> {
    let path = folder_of(db).join(NOTICE_FILE);
    let tmp = folder_of(db).join(format!("{NOTICE_FILE}.tmp"));
    let bytes = serde_json::to_vec(file).expect("a notice serializes");
    let write = || -> std::io::Result<()> {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(&bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, &path)?;
        std::fs::File::open(folder_of(db))?.sync_all()
    };
    write().map_err(|e| folder_error(&path, e))
}

pub(super) fn read_notice(folder: &Path) -> Option<NoticeFile> {
    let bytes = std::fs::read(folder.join(NOTICE_FILE)).ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// Deletes every data file of the store at `db`; those already gone are fine.
pub(super) fn delete_data(db: &Path) -> Result<()> {
    for path in data_paths(db) {
        pause_for_tests();
        let removed = if path.is_dir() {
            std::fs::remove_dir_all(&path)
        } else {
            std::fs::remove_file(&path)
        };
        match removed {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(folder_error(&path, e)),
        }
    }
    Ok(())
}

/// The scenario test that kills a device mid-erasure sets `HOMEREHAB_ERASE_STEP_MS` to slow
/// each step down; unset (always, outside that test) it costs one lookup per file.
fn pause_for_tests() {
    if let Some(ms) = std::env::var("HOMEREHAB_ERASE_STEP_MS")
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
    {
        std::thread::sleep(std::time::Duration::from_millis(ms));
    }
}

/// Finishes an erasure a killed process began (the notice says so), before the store at `db`
/// is opened.
pub(super) fn finish_pending_erase(db: &Path) -> Result<()> {
    let Some(mut file) = read_notice(folder_of(db)) else {
        return Ok(());
    };
    if file.erased {
        return Ok(());
    }
    tracing::warn!("finishing the erasure of a revoked device's data");
    delete_data(db)?;
    file.erased = true;
    write_notice(db, &file)
}

/// The revocation this data folder was erased for, if any: shown until someone signs in again.
pub fn revoke_notice(folder: &Path) -> Option<RevokeNotice> {
    read_notice(folder).map(|f| f.notice)
}
