//! How the store's files are found when it opens (issue #14, item 1; the whole story is in
//! `encryption`): a plain SQLite file, or SQLCipher's with its key file beside it — and what
//! an encryption a crash interrupted left behind. Only files and the key pragma here, no
//! `Store`, so `database` can ask before it opens anything.

use crate::error::{CoreError, Result};
use crate::keys::{DataKey, KeyFile, KEY_FILE};
use rusqlite::Connection;
use std::path::{Path, PathBuf};

/// Where the store is with its encryption.
pub(super) enum Sealing {
    Plain,
    Sealed(KeyFile),
    Open { file: KeyFile, key: DataKey },
}

/// The encrypted copy being written during the migration.
pub(super) fn encrypting_path(db: &Path) -> PathBuf {
    let name = db
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("homerehab.sqlite3");
    db.with_file_name(format!("{name}.encrypting"))
}

pub(super) fn folder_of(db: &Path) -> &Path {
    db.parent().unwrap_or(Path::new("."))
}

pub(super) fn folder_error(path: &Path, e: std::io::Error) -> CoreError {
    CoreError::Folder(format!("{}: {e}", path.display()))
}

/// Whether the file at `db` is a plain SQLite file (or absent or empty): SQLite's header. An
/// SQLCipher file begins with its random salt instead.
pub(super) fn is_plain(db: &Path) -> Result<bool> {
    use std::io::Read;
    let mut header = [0u8; 16];
    match std::fs::File::open(db) {
        Ok(mut f) => {
            let n = f.read(&mut header).map_err(|e| folder_error(db, e))?;
            Ok(n == 0 || header.starts_with(b"SQLite format 3\0"))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(true),
        Err(e) => Err(folder_error(db, e)),
    }
}

pub(super) fn remove_if_there(path: &Path) -> Result<()> {
    match std::fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(folder_error(path, e)),
    }
}

/// How the store at `db` is found when it opens; cleans up after a migration a crash
/// interrupted (before its rename: the plain file is the store).
pub(super) fn sealing_at(db: &Path) -> Result<Sealing> {
    let folder = folder_of(db);
    let file = KeyFile::read(folder)?;
    if is_plain(db)? {
        if file.is_some() || encrypting_path(db).exists() {
            tracing::warn!(
                "an interrupted encryption of the store is undone; the plain file is kept"
            );
            remove_if_there(&encrypting_path(db))?;
            remove_if_there(&folder.join(KEY_FILE))?;
        }
        return Ok(Sealing::Plain);
    }
    match file {
        Some(file) => Ok(Sealing::Sealed(file)),
        None => Err(CoreError::Corrupt(format!(
            "the database is encrypted but its key file `{KEY_FILE}` is missing"
        ))),
    }
}

/// Sets the key on a connection before its first statement.
/// SQLCipher's settings every encrypted store is written and read with (its major version 4).
pub(super) const CIPHER_COMPATIBILITY: i64 = 4;

pub(super) fn apply_key(conn: &Connection, key: &DataKey) -> Result<()> {
    conn.pragma_update(None, "key", key.sqlcipher_literal().as_str())?;
    // The page format pinned to SQLCipher 4's, which every store so far was written in: a
    // later SQLCipher with other defaults must still open the tablets' data
    // (`a_store_written_by_an_earlier_release_opens_with_its_pin_keeping_its_work`).
    conn.pragma_update(None, "cipher_compatibility", CIPHER_COMPATIBILITY)?;
    // A wrong key shows only at the first read.
    conn.query_row("SELECT count(*) FROM sqlite_master", [], |r| {
        r.get::<_, i64>(0)
    })
    .map_err(|_| CoreError::Corrupt("the data key does not open the database".into()))?;
    Ok(())
}
