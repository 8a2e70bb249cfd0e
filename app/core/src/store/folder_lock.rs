//! One process per data folder. Two processes with their own in-memory copies of the documents
//! would write with the device's one actor and the same sequence numbers; an exclusive lock on
//! `homerehab.lock` beside the database, held for the store's whole life, refuses the second at
//! once. The operating system lets go of it when the process ends, however it ends.

use crate::error::{CoreError, Result};
use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Seek, Write};
use std::path::Path;

pub(super) struct FolderLock {
    _file: File,
}

impl FolderLock {
    /// Locks the lock file beside the database at `db_path` and writes this process's id in it.
    pub(super) fn acquire(db_path: &Path) -> Result<FolderLock> {
        let path = db_path.with_file_name("homerehab.lock");
        let folder = |e: std::io::Error| CoreError::Folder(format!("{}: {e}", path.display()));
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(folder)?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                let pid = std::fs::read_to_string(&path)
                    .ok()
                    .and_then(|s| s.trim().parse().ok());
                return Err(CoreError::InUse { pid });
            }
            Err(TryLockError::Error(e)) => return Err(folder(e)),
        }
        // The pid only helps a person find the other process; the lock is what counts.
        file.set_len(0).map_err(folder)?;
        file.rewind().map_err(folder)?;
        write!(file, "{}", std::process::id()).map_err(folder)?;
        Ok(FolderLock { _file: file })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_lock_on_the_same_folder_is_refused_until_the_first_is_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("homerehab.sqlite3");
        let first = FolderLock::acquire(&db).unwrap();
        match FolderLock::acquire(&db) {
            Err(CoreError::InUse { pid }) => assert_eq!(pid, Some(std::process::id())),
            Err(e) => panic!("unexpected error: {e}"),
            Ok(_) => panic!("a second lock on one folder must be refused"),
        }
        drop(first);
        FolderLock::acquire(&db).unwrap();
    }
}
