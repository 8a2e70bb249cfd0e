//! One process per data folder. Two processes with their own in-memory copies of the documents
//! would write with the device's one actor and the same sequence numbers; an exclusive lock on
//! `homerehab.lock` beside the database, held for the store's whole life, refuses the second
//! (after a short grace, below). The operating system lets go of it when the process ends,
//! however it ends.
//!
//! A lock let go of a moment ago may still be held for an instant: by a process that is just
//! ending, or by a child this process is starting (it holds a copy of every open file between
//! its fork and its exec). So a held lock is tried again for [`GRACE`] before the open is refused.

use crate::error::{CoreError, Result};
use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Seek, Write};
use std::path::Path;
use std::time::{Duration, Instant};

/// How long a held lock is tried again before the open is refused: far longer than a fork's
/// copy of the file lives, short enough that a person opening a second app is told at once.
const GRACE: Duration = Duration::from_millis(300);

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
        let until = Instant::now() + GRACE;
        loop {
            match file.try_lock() {
                Ok(()) => break,
                Err(TryLockError::WouldBlock) if Instant::now() < until => {
                    std::thread::sleep(Duration::from_millis(10));
                }
                Err(TryLockError::WouldBlock) => {
                    let pid = std::fs::read_to_string(&path)
                        .ok()
                        .and_then(|s| s.trim().parse().ok());
                    return Err(CoreError::InUse { pid });
                }
                Err(TryLockError::Error(e)) => return Err(folder(e)),
            }
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

    #[test]
    fn a_lock_let_go_of_within_the_grace_is_taken_not_refused() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("homerehab.sqlite3");
        let first = FolderLock::acquire(&db).unwrap();
        // As a child forked at the moment of the drop holds the file until its exec.
        let holder = std::thread::spawn(move || {
            std::thread::sleep(GRACE / 4);
            drop(first);
        });
        FolderLock::acquire(&db).expect("a lock let go of a moment later is taken");
        holder.join().unwrap();
    }
}
