//! Photos and videos on disk, content-addressed: every file in the media folder is named by the
//! SHA-256 of its bytes (lowercase hex), so a name can only ever hold those bytes, uploads of
//! the same file are stored once, and a reader can verify what it got.
//!
//! An upload streams into a temporary file under `tmp/` while it is hashed and counted; only
//! if the hash is the one claimed is the file synced and renamed into place (a rename is
//! atomic, so a half-written file is never served). Anything else deletes the temporary file.
//! Who may fetch which file is in the store ([`crate::store::Store::media_of`]), not here.

use crate::error::{Error, Result};
use axum::body::Body;
use http_body_util::BodyExt;
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use tokio::io::AsyncWriteExt;

/// How long a temporary upload file may go unwritten before a starting server deletes it: an
/// upload in progress writes every frame as it arrives.
pub const STALE_UPLOAD: std::time::Duration = std::time::Duration::from_secs(3600);

/// How long an upload may send nothing before it is given up.
pub const UPLOAD_IDLE: std::time::Duration = std::time::Duration::from_secs(60);

/// The media folder.
pub struct MediaFiles {
    dir: PathBuf,
}

impl MediaFiles {
    /// The folder `dir` (created on the first upload).
    pub fn new(dir: &Path) -> MediaFiles {
        MediaFiles {
            dir: dir.to_path_buf(),
        }
    }

    /// Removes uploads a crash left half-written: those untouched for [`STALE_UPLOAD`]. Not
    /// younger ones: with several servers sharing the media folder (docs/postgresql.md), a
    /// server that starts must not end the uploads the others are receiving.
    pub fn sweep(&self) -> Result<()> {
        self.sweep_older_than(STALE_UPLOAD)
    }

    fn sweep_older_than(&self, age: std::time::Duration) -> Result<()> {
        let tmp = self.dir.join("tmp");
        if tmp.exists() {
            for entry in std::fs::read_dir(&tmp)? {
                let entry = entry?;
                let idle = entry
                    .metadata()
                    .and_then(|m| m.modified())
                    .ok()
                    .and_then(|t| t.elapsed().ok())
                    .unwrap_or(std::time::Duration::MAX);
                if idle >= age {
                    std::fs::remove_file(entry.path()).ok();
                }
            }
        }
        Ok(())
    }

    /// Where the file of `sha256` lives (whether or not it is there). `sha256` must be checked
    /// hex already: it becomes a file name.
    pub fn path(&self, sha256: &str) -> PathBuf {
        debug_assert!(homerehab_shared::municipal::is_sha256_hex(sha256));
        self.dir.join(sha256)
    }

    /// Stores `body` as the file of `sha256` if its bytes hash to it and are at most `limit`
    /// bytes; returns the size. The same bytes again replace the file with themselves (they
    /// are read and checked, so only someone who has the bytes can claim them, and a file
    /// damaged on disk is mended).
    pub async fn put(&self, sha256: &str, body: Body, limit: u64) -> Result<u64> {
        let tmp = self
            .dir
            .join("tmp")
            .join(format!("{sha256}.{}", uuid::Uuid::new_v4().simple()));
        let result = self.receive(&tmp, sha256, body, limit).await;
        if result.is_err() {
            tokio::fs::remove_file(&tmp).await.ok();
        }
        result
    }

    async fn receive(&self, tmp: &Path, sha256: &str, body: Body, limit: u64) -> Result<u64> {
        tokio::fs::create_dir_all(self.dir.join("tmp")).await?;
        let mut file = tokio::fs::File::create(tmp).await?;
        let mut hasher = Sha256::new();
        let mut size = 0u64;
        let mut body = body;
        loop {
            // A connection that went quiet mid-upload (a laptop off Wi-Fi) is given up, not
            // held with its temporary file until the server stops.
            let Ok(next) = tokio::time::timeout(UPLOAD_IDLE, body.frame()).await else {
                return Err(Error::Invalid(format!(
                    "the upload stopped: nothing arrived for {} s",
                    UPLOAD_IDLE.as_secs()
                )));
            };
            let Some(frame) = next else { break };
            let frame = frame.map_err(|e| Error::Invalid(format!("the upload broke off: {e}")))?;
            let Ok(data) = frame.into_data() else {
                continue;
            };
            size += data.len() as u64;
            if size > limit {
                return Err(Error::MediaTooLarge(limit));
            }
            hasher.update(&data);
            file.write_all(&data).await?;
        }
        if hex::encode(hasher.finalize()) != sha256 {
            return Err(Error::MediaMismatch);
        }
        // Durable before it becomes visible under its name. tokio's `write_all` hands the last
        // write to a background thread and `sync_all` does not report that write's failure (a
        // full disk would leave the file short under a matching hash); `flush` does.
        file.flush().await?;
        file.sync_all().await?;
        drop(file);
        // Verified bytes replace whatever is there: a file damaged on disk (a restore, a
        // short write of an older server) is mended by uploading it again, never kept.
        let target = self.path(sha256);
        tokio::fs::rename(tmp, &target).await?;
        // The new name durable too, before the upload is answered and recorded.
        let dir = self.dir.clone();
        tokio::task::spawn_blocking(move || std::fs::File::open(dir)?.sync_all())
            .await
            .map_err(std::io::Error::other)??;
        Ok(size)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sha(bytes: &[u8]) -> String {
        hex::encode(Sha256::digest(bytes))
    }

    #[tokio::test]
    async fn only_bytes_that_hash_to_their_name_and_fit_are_kept() {
        let dir = tempfile::tempdir().unwrap();
        let media = MediaFiles::new(dir.path());
        let bytes = vec![7u8; 10_000];
        let name = sha(&bytes);
        // Streamed past the limit (no length declared): refused, nothing kept.
        let err = media
            .put(&name, Body::from(bytes.clone()), 9_999)
            .await
            .unwrap_err();
        assert!(matches!(err, Error::MediaTooLarge(9_999)));
        let err = media
            .put(&name, Body::from(vec![8u8; 10_000]), 20_000)
            .await
            .unwrap_err();
        assert!(matches!(err, Error::MediaMismatch));
        assert!(!media.path(&name).exists());
        assert_eq!(
            std::fs::read_dir(dir.path().join("tmp")).unwrap().count(),
            0
        );
        // The right bytes, twice: kept once.
        for _ in 0..2 {
            let size = media.put(&name, Body::from(bytes.clone()), 20_000).await;
            assert_eq!(size.unwrap(), 10_000);
        }
        assert_eq!(std::fs::read(media.path(&name)).unwrap(), bytes);
        assert_eq!(
            std::fs::read_dir(dir.path().join("tmp")).unwrap().count(),
            0
        );
        // A file damaged on disk (cut short) is mended by uploading the bytes again.
        std::fs::write(media.path(&name), &bytes[..4_000]).unwrap();
        media
            .put(&name, Body::from(bytes.clone()), 20_000)
            .await
            .unwrap();
        assert_eq!(std::fs::read(media.path(&name)).unwrap(), bytes);
    }

    /// An upload whose sender went quiet is given up after [`UPLOAD_IDLE`], its temporary
    /// file deleted (the clock paused and advanced: no real minute passes).
    #[tokio::test(start_paused = true)]
    async fn a_stalled_upload_is_given_up_and_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let media = MediaFiles::new(dir.path());
        let (mut sender, stalled) =
            http_body_util::Channel::<axum::body::Bytes, std::convert::Infallible>::new(1);
        sender
            .send_data(axum::body::Bytes::from(vec![1u8; 1000]))
            .await
            .unwrap();
        // The sender stays: the connection is open, and nothing more comes.
        let err = media
            .put(&"ab".repeat(32), Body::new(stalled), 1 << 20)
            .await
            .unwrap_err();
        drop(sender);
        assert!(
            matches!(err, Error::Invalid(ref m) if m.contains("stopped")),
            "{err:?}"
        );
        assert_eq!(
            std::fs::read_dir(dir.path().join("tmp")).unwrap().count(),
            0
        );
    }

    #[test]
    fn a_starting_server_sweeps_stale_uploads_and_leaves_those_in_progress() {
        let dir = tempfile::tempdir().unwrap();
        let media = MediaFiles::new(dir.path());
        let tmp = dir.path().join("tmp");
        std::fs::create_dir_all(&tmp).unwrap();
        std::fs::write(tmp.join("in-progress"), b"x").unwrap();
        media.sweep().unwrap();
        assert!(
            tmp.join("in-progress").exists(),
            "another server is receiving it"
        );
        media.sweep_older_than(std::time::Duration::ZERO).unwrap();
        assert!(!tmp.join("in-progress").exists());
    }
}
