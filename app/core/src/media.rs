//! Photos and videos of the municipality's exercises on the device: upload from a therapist's
//! device, and prefetch on tablets so they show offline.
//!
//! A prefetch round asks the store which exercises the device's current programs use, lets
//! [`homerehab_shared::municipal::plan_prefetch`] decide what to hold within the storage
//! budget, deletes what is no longer needed, and downloads the rest one file at a time:
//! into `<sha256>.part`, resumed with `Range: bytes=N-` after an interruption, hashed, and
//! renamed to `<sha256>` only if the bytes hash to the name. A file with the wrong bytes is
//! deleted and tried again next round; nothing but verified files is ever shown
//! ([`crate::store::Store::media_bytes`]). Every file is encrypted with the store's data key
//! as it is written ([`crate::sealed_file`], issue #14).

use crate::error::{CoreError, Result};
use crate::keys::DataKey;
use crate::sealed_file;
use crate::store::PrefetchReport;
use crate::store::{now_ms, SharedStore, Store};
use homerehab_shared::municipal::{self, ConsentRecord, MediaItem};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Arc, LazyLock};
use std::time::Duration;
use tokio::io::AsyncWriteExt;

fn lock(store: &SharedStore) -> std::sync::MutexGuard<'_, Store> {
    store.lock().unwrap_or_else(|p| p.into_inner())
}

/// The gate of one media folder: one prefetch round at a time in it. The background round
/// after a sync and the one a person starts with a tap would otherwise both plan the same
/// file, download it twice and write the same `<sha256>.part` at once (interleaved records
/// fail their hash and are discarded, and the status shows nothing held).
fn round_gate(dir: &Path) -> Arc<tokio::sync::Mutex<()>> {
    static GATES: LazyLock<std::sync::Mutex<HashMap<PathBuf, Arc<tokio::sync::Mutex<()>>>>> =
        LazyLock::new(Default::default);
    let mut gates = GATES.lock().unwrap_or_else(|p| p.into_inner());
    gates.entry(dir.to_path_buf()).or_default().clone()
}

fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(5))
        // The server closes a connection idle for 30 s (its `idle_timeout_secs`); one reused
        // just as it closes fails the request, so the device lets go of it first.
        .pool_idle_timeout(Duration::from_secs(15))
        // No overall timeout: a video over a slow line may take long; a stalled one is
        // resumed next round.
        .read_timeout(Duration::from_secs(30))
        .build()
        .expect("a TLS backend is compiled in")
}

/// The verified media files in `dir` with their sizes.
fn held(dir: &Path) -> Result<BTreeMap<String, u64>> {
    let mut out = BTreeMap::new();
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(out),
        Err(e) => return Err(CoreError::Media(e.to_string())),
    };
    for entry in entries {
        let entry = entry.map_err(|e| CoreError::Media(e.to_string()))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if municipal::is_sha256_hex(&name) {
            let len = entry.metadata().map(|m| m.len()).unwrap_or(0);
            out.insert(name, len);
        }
    }
    Ok(out)
}

/// SHA-256 of an encrypted file's plain bytes, record by record (videos do not fit in memory
/// on every tablet); `None` if a record does not open.
async fn hash_file(path: &Path, key: &DataKey, name: &str) -> std::io::Result<Option<String>> {
    let (path, key, name) = (path.to_path_buf(), key.clone(), name.to_string());
    tokio::task::spawn_blocking(move || sealed_file::plain_sha256(&path, &key, &name))
        .await
        .map_err(std::io::Error::other)?
}

/// Runs one prefetch round: fetches the media the device's current programs need, within the
/// budget; records and returns the report. Needs the network only for the downloads.
pub async fn prefetch(store: &SharedStore) -> Result<PrefetchReport> {
    let gate = round_gate(&lock(store).media_settings().dir);
    // A round waiting here plans after the one before it has finished: it sees its files.
    let _one_round = gate.lock().await;
    let (identity, settings, plan, key) = {
        let mut s = lock(store);
        let identity = s.identity()?.ok_or(CoreError::NotSignedIn)?;
        // Media are kept only encrypted: a store not (yet) encrypted keeps none.
        let Some(key) = s.media_key() else {
            return Ok(PrefetchReport {
                at: now_ms(),
                ..PrefetchReport::default()
            });
        };
        let settings = s.media_settings().clone();
        let Some(local) = s.library_doc()? else {
            return Ok(PrefetchReport {
                at: now_ms(),
                ..PrefetchReport::default()
            });
        };
        let refs = s.exercises_in_use()?;
        let held = held(&settings.dir)?;
        let plan = municipal::plan_prefetch(
            &local,
            refs.iter().map(String::as_str),
            &held,
            settings.budget_bytes,
        );
        (identity, settings, plan, key)
    };
    let dir = &settings.dir;
    tokio::fs::create_dir_all(dir)
        .await
        .map_err(|e| CoreError::Media(e.to_string()))?;
    let mut report = PrefetchReport {
        at: now_ms(),
        skipped_over_budget: plan.skipped_over_budget.clone(),
        ..PrefetchReport::default()
    };
    for sha in &plan.evict {
        if tokio::fs::remove_file(dir.join(sha)).await.is_ok() {
            report.evicted += 1;
        }
    }
    // Half-downloaded files nobody needs any more go too.
    let fetching: std::collections::BTreeSet<String> = plan
        .fetch
        .iter()
        .map(|m| format!("{}.part", m.sha256))
        .collect();
    if let Ok(mut entries) = tokio::fs::read_dir(dir).await {
        while let Ok(Some(e)) = entries.next_entry().await {
            let name = e.file_name().to_string_lossy().into_owned();
            if name.ends_with(".part") && !fetching.contains(&name) {
                tokio::fs::remove_file(e.path()).await.ok();
            }
            // An uploader's copy being written has its own name (`sealed_file::write_whole`);
            // one a crash left behind is gone after ten minutes.
            let stale = || async {
                let modified = e.metadata().await.ok()?.modified().ok()?;
                Some(modified.elapsed().ok()? > std::time::Duration::from_secs(600))
            };
            if name.contains(".keep-") && stale().await == Some(true) {
                tokio::fs::remove_file(e.path()).await.ok();
            }
        }
    }
    let client = http();
    for item in &plan.fetch {
        match download(
            &client,
            &identity,
            item,
            dir,
            &key,
            &mut report.bytes_transferred,
        )
        .await
        {
            Ok(()) => report.fetched += 1,
            Err(e) => {
                tracing::warn!(media = %item.sha256, error = %e, "media not fetched");
                report.failed.push((item.sha256.clone(), e.to_string()));
            }
        }
    }
    report.held_bytes = held(dir)?.values().sum();
    lock(store).record_prefetch(&report)?;
    Ok(report)
}

/// Downloads one file into `<sha>.part` (resuming what is there), verifies it and moves it
/// into place. `transferred` counts the bytes received.
async fn download(
    client: &reqwest::Client,
    identity: &crate::store::Identity,
    item: &MediaItem,
    dir: &Path,
    key: &DataKey,
    transferred: &mut u64,
) -> Result<()> {
    let name = item.sha256.as_str();
    let part = dir.join(format!("{name}.part"));
    // What is held: the plain bytes of the whole records (a torn last one is cut away).
    let (mut offset, mut record) = {
        let (part, key, name) = (part.clone(), key.clone(), name.to_string());
        tokio::task::spawn_blocking(move || sealed_file::resume_point(&part, &key, &name))
            .await
            .map_err(|e| CoreError::Media(e.to_string()))?
            .map_err(|e| CoreError::Media(e.to_string()))?
    };
    if offset > item.byte_size {
        tokio::fs::remove_file(&part).await.ok();
        (offset, record) = (0, 0);
    }
    if offset < item.byte_size {
        let mut req = client
            .get(format!("{}/v1/media/{}", identity.server_url, item.sha256))
            .bearer_auth(&identity.token);
        if offset > 0 {
            req = req.header(reqwest::header::RANGE, format!("bytes={offset}-"));
        }
        let mut resp = req
            .send()
            .await
            .map_err(|e| CoreError::Offline(e.to_string()))?;
        let append = match resp.status().as_u16() {
            206 => true,
            200 => false,
            416 => {
                // The server's file is shorter than what we hold: start over next round.
                tokio::fs::remove_file(&part).await.ok();
                return Err(CoreError::Media(
                    "the server's file is shorter than recorded".into(),
                ));
            }
            status => {
                return Err(CoreError::Server {
                    status,
                    message: "the media could not be fetched".into(),
                })
            }
        };
        if !append {
            (offset, record) = (0, 0);
        }
        let mut file = tokio::fs::OpenOptions::new()
            .create(true)
            .write(true)
            .append(append)
            .truncate(!append)
            .open(&part)
            .await
            .map_err(|e| CoreError::Media(e.to_string()))?;
        loop {
            let chunk = match resp.chunk().await {
                Ok(Some(c)) => c,
                Ok(None) => break,
                // Kept as it is: the next round resumes from here.
                Err(e) => {
                    file.flush().await.ok();
                    return Err(CoreError::Offline(e.to_string()));
                }
            };
            offset += chunk.len() as u64;
            *transferred += chunk.len() as u64;
            if offset > item.byte_size {
                drop(file);
                tokio::fs::remove_file(&part).await.ok();
                return Err(CoreError::Media(
                    "more bytes than recorded; discarded".into(),
                ));
            }
            // Encrypted before it touches the disk.
            let (sealed, next) = sealed_file::seal(key, name, record, &chunk);
            record = next;
            file.write_all(&sealed)
                .await
                .map_err(|e| CoreError::Media(e.to_string()))?;
        }
        file.sync_all()
            .await
            .map_err(|e| CoreError::Media(e.to_string()))?;
        if offset < item.byte_size {
            return Err(CoreError::Media(format!(
                "incomplete ({offset} of {} bytes); resumed next round",
                item.byte_size
            )));
        }
    }
    let actual = hash_file(&part, key, name)
        .await
        .map_err(|e| CoreError::Media(e.to_string()))?;
    if actual.as_deref() != Some(name) {
        tokio::fs::remove_file(&part).await.ok();
        return Err(CoreError::Media(
            "the bytes do not match their SHA-256; discarded, retried next round".into(),
        ));
    }
    tokio::fs::rename(&part, dir.join(&item.sha256))
        .await
        .map_err(|e| CoreError::Media(e.to_string()))?;
    Ok(())
}

/// A photo or video a therapist adds, with what must be recorded about it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewMedia {
    pub content_type: String,
    pub file_name: String,
    pub shows_person: bool,
    /// Who consented (`who`), when (`date`, ISO) and to what (`scope`), when a person shows.
    pub consent: Option<(String, String, String)>,
    /// Who holds the rights.
    pub owner: String,
}

/// Uploads a photo or video to the server (named by its SHA-256) and records it in the
/// municipality's library, shown with `exercise` if given. The record syncs with the next
/// sync; the bytes are on the server already. Keeps a verified copy on this device.
pub async fn upload(
    store: &SharedStore,
    bytes: impl Into<bytes::Bytes>,
    new: NewMedia,
    exercise: Option<&str>,
) -> Result<MediaItem> {
    // One buffer for all of it (the request's, the upload's, the local copy's): a video is
    // up to 256 MiB, and copies of it were a gigabyte on a laptop.
    let bytes: bytes::Bytes = bytes.into();
    let identity = lock(store).identity()?.ok_or(CoreError::NotSignedIn)?;
    let sha256 = hex::encode(Sha256::digest(&bytes));
    let item = MediaItem {
        sha256: sha256.clone(),
        content_type: new.content_type,
        byte_size: bytes.len() as u64,
        file_name: new.file_name,
        shows_person: new.shows_person,
        consent: new.consent.map(|(who, date, scope)| ConsentRecord {
            who,
            date,
            scope,
            recorded_by: identity.user_id,
        }),
        owner: new.owner,
        withdrawn: false,
        added_by: identity.user_id,
        added_at: now_ms(),
    };
    // Refused before anything leaves the device: a file that is not valid, or one this
    // municipality withdrew (consent revoked: the same picture does not come back).
    item.validate()
        .map_err(homerehab_shared::docs::SchemaError::from)?;
    let withdrawn = lock(store)
        .library_doc()?
        .is_some_and(|l| l.media.get(&sha256).is_some_and(|m| m.withdrawn));
    if withdrawn {
        return Err(
            homerehab_shared::docs::SchemaError::from(homerehab_shared::model::Invalid {
                field: "media".into(),
                problem:
                    "this photo or video was withdrawn from the library and cannot be added again"
                        .into(),
            })
            .into(),
        );
    }
    let dir = lock(store).media_settings().dir.clone();
    let resp = http()
        .put(format!("{}/v1/media/{sha256}", identity.server_url))
        .bearer_auth(&identity.token)
        .header(reqwest::header::CONTENT_TYPE, &item.content_type)
        .body(bytes.clone())
        .send()
        .await
        .map_err(|e| CoreError::Offline(e.to_string()))?;
    if !resp.status().is_success() {
        let status = resp.status().as_u16();
        let message = resp
            .json::<homerehab_shared::api::ErrorBody>()
            .await
            .map(|b| b.message)
            .unwrap_or_else(|_| "no detail".into());
        return Err(CoreError::Server { status, message });
    }
    lock(store).put_media(&item, exercise)?;
    // The uploader shows it at once, offline too (encrypted, written whole, then renamed
    // into place); a store not encrypted keeps none (the next prefetch fetches it).
    let key = lock(store).media_key();
    let keep = async {
        let Some(key) = key else { return Ok(()) };
        tokio::fs::create_dir_all(&dir).await?;
        let path = dir.join(&sha256);
        tokio::task::spawn_blocking(move || sealed_file::write_whole(&path, &key, &sha256, &bytes))
            .await
            .map_err(std::io::Error::other)?
    };
    if let Err(e) = keep.await {
        tracing::warn!(error = %e, "uploaded media not kept locally; the next prefetch fetches it");
    }
    Ok(item)
}
