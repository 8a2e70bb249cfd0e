//! The municipality's own library and its media: adding exercises, templates, photos and
//! videos (therapists and admins; the core refuses others), the media shown with a program
//! line, and the media held offline.

use super::convert::dosage_in;
use crate::app_core::Core;
use crate::error::{Error, Result};
use homerehab_app_api as api;
use homerehab_core::error::CoreError;
use homerehab_core::media::{self, NewMedia};
use homerehab_core::store::{now_ms, Store};
use homerehab_shared::municipal::{
    self, LibraryDoc, LocalExercise, LocalTemplate, LocalTemplateLine, LocalTemplateText, LocalText,
};
use std::collections::BTreeMap;

fn text_in(t: api::LocalTextInput) -> LocalText {
    LocalText {
        title: t.title.trim().to_string(),
        summary: t.summary.trim().to_string(),
        steps: t.steps,
        key_points: t.key_points,
        common_errors: t.common_errors,
        safety: t.safety,
    }
}

fn identity(store: &Store) -> Result<homerehab_core::store::Identity> {
    Ok(store.identity()?.ok_or(CoreError::NotSignedIn)?)
}

/// The media shown with a program line's exercise (none for a shipped exercise), each with
/// whether its verified file is on this device.
pub fn line_media(
    store: &Store,
    local: Option<&LibraryDoc>,
    exercise: &str,
) -> Vec<api::MediaView> {
    let Some(local) = local else {
        return vec![];
    };
    local
        .media_of(exercise)
        .into_iter()
        .map(|m| api::MediaView {
            url: format!("/media/{}", m.sha256),
            sha256: m.sha256.clone(),
            content_type: m.content_type.clone(),
            shows_person: m.shows_person,
            // Only verified files have this name (see `Store::media_path`).
            available: store.media_settings().dir.join(&m.sha256).is_file(),
        })
        .collect()
}

/// `POST /api/library/exercises`: adds (or, with `exercise_ref`, edits) a municipality
/// exercise; it syncs to every device of the municipality.
pub fn put_local_exercise(
    core: &Core,
    req: api::LocalExerciseInput,
) -> Result<api::LocalItemSaved> {
    let mut store = core.data()?;
    let me = identity(&store)?;
    let existing = match &req.exercise_ref {
        Some(id) => Some(
            store
                .library_doc()?
                .and_then(|d| d.exercises.get(id).cloned())
                .ok_or_else(|| {
                    Error::not_found("no such exercise in the municipality's library")
                })?,
        ),
        None => None,
    };
    let mut text = BTreeMap::from([("da".to_string(), text_in(req.da.clone()))]);
    if let Some(en) = req.en.clone() {
        text.insert("en".into(), text_in(en));
    }
    let exercise = LocalExercise {
        id: existing
            .as_ref()
            .map(|e| e.id.clone())
            .unwrap_or_else(|| municipal::new_id(&req.da.title)),
        version: existing.as_ref().map_or(1, |e| e.version + 1),
        retired: req.retired,
        category: req.category,
        position: req.position,
        equipment: req.equipment,
        body_areas: req.body_areas,
        difficulty: req.difficulty,
        dosage: dosage_in(&req.default_dosage)?,
        text,
        media: existing.map(|e| e.media).unwrap_or_default(),
        updated_by: me.user_id,
        updated_at: now_ms(),
    };
    store.put_local_exercise(&exercise)?;
    Ok(api::LocalItemSaved { id: exercise.id })
}

/// `POST /api/library/templates`: adds (or edits) a municipality template.
pub fn put_local_template(
    core: &Core,
    req: api::LocalTemplateInput,
) -> Result<api::LocalItemSaved> {
    let mut store = core.data()?;
    let me = identity(&store)?;
    let version = match &req.template_id {
        Some(id) => {
            store
                .library_doc()?
                .and_then(|d| d.templates.get(id).map(|t| t.version))
                .ok_or_else(|| Error::not_found("no such template in the municipality's library"))?
                + 1
        }
        None => 1,
    };
    let exercises = req
        .lines
        .iter()
        .map(|l| {
            Ok(LocalTemplateLine {
                exercise: l.exercise_ref.clone(),
                dosage: l.dosage.as_ref().map(dosage_in).transpose()?,
                note: l.note.clone().filter(|n| !n.trim().is_empty()),
            })
        })
        .collect::<Result<Vec<_>>>()?;
    let template = LocalTemplate {
        id: req
            .template_id
            .clone()
            .unwrap_or_else(|| municipal::new_id(&req.title)),
        version,
        retired: req.retired,
        legal_basis: req.legal_basis,
        weeks: req.planned_weeks,
        sessions_per_week: req.sessions_per_week,
        minutes_per_session: req.minutes_per_session,
        text: BTreeMap::from([(
            "da".to_string(),
            LocalTemplateText {
                title: req.title.trim().to_string(),
                description: req.description.trim().to_string(),
                goals: req.goals,
            },
        )]),
        exercises,
        updated_by: me.user_id,
        updated_at: now_ms(),
        test_plan: req.test_plan.map(super::convert::plan_in).transpose()?,
    };
    store.put_local_template(&template, &core.library)?;
    Ok(api::LocalItemSaved { id: template.id })
}

/// `POST /api/library/exercises/{exercise}/media`: uploads a photo or video to the sync server
/// and shows it with the exercise (online only: the bytes must reach the server).
pub async fn upload_media(
    core: &Core,
    exercise: &str,
    q: api::MediaUploadQuery,
    content_type: String,
    bytes: bytes::Bytes,
) -> Result<api::MediaView> {
    // Asked first: the upload itself runs without holding the store.
    drop(core.data()?);
    let consent = match (q.consent_who, q.consent_date, q.consent_scope) {
        (Some(w), Some(d), Some(s)) => Some((w, d, s)),
        (None, None, None) => None,
        _ => return Err(Error::invalid("consent needs who, date and scope together")),
    };
    let new = NewMedia {
        content_type,
        file_name: q.file_name,
        shows_person: q.shows_person,
        consent,
        owner: q.owner,
    };
    let item = media::upload(&core.store, bytes, new, Some(exercise)).await?;
    Ok(api::MediaView {
        url: format!("/media/{}", item.sha256),
        sha256: item.sha256,
        content_type: item.content_type,
        shows_person: item.shows_person,
        available: true,
    })
}

/// `POST /api/library/media/{sha256}/withdraw`: no device shows it again.
pub fn withdraw_media(core: &Core, sha256: &str) -> Result<api::Saved> {
    if !municipal::is_sha256_hex(sha256) {
        return Err(Error::invalid("a media name is a SHA-256"));
    }
    core.data()?.withdraw_media(sha256)?;
    Ok(api::Saved { saved: true })
}

fn media_status_of(store: &Store) -> Result<api::MediaStatus> {
    let report = store.last_prefetch()?;
    Ok(api::MediaStatus {
        budget_bytes: store.media_settings().budget_bytes,
        held_bytes: report.as_ref().map_or(0, |r| r.held_bytes),
        last_prefetch: report.as_ref().map(|r| r.at),
        fetched: report.as_ref().map_or(0, |r| r.fetched),
        bytes_transferred: report.as_ref().map_or(0, |r| r.bytes_transferred),
        skipped_over_budget: report
            .as_ref()
            .map_or(0, |r| r.skipped_over_budget.len() as u32),
        failed: report.as_ref().map_or(0, |r| r.failed.len() as u32),
    })
}

/// `GET /api/media/status`.
pub fn media_status(core: &Core) -> Result<api::MediaStatus> {
    media_status_of(&*core.data()?)
}

/// `POST /api/media/prefetch`: one prefetch round now.
pub async fn prefetch_media(core: &Core) -> Result<api::MediaStatus> {
    drop(core.data()?);
    media::prefetch(&core.store).await?;
    media_status_of(&*core.data()?)
}

/// The most bytes of a photo or video one ranged answer carries: a video player asks
/// `bytes=0-` and then for what follows as it plays, so a long video is never read whole.
pub const MAX_MEDIA_RANGE: u64 = 4 << 20;

/// What a request's `Range` header (if any) asks of a file of `total` bytes, as
/// [`media_part`] takes it: the whole file without one, `Some(None)` when it cannot be
/// satisfied, else its first range, at most [`MAX_MEDIA_RANGE`] long. Both transports (the
/// local API and the shell's `media:` protocol) answer ranges by it.
pub fn media_range(header: Option<&str>, total: u64) -> Option<Option<(u64, u64)>> {
    header.map(|v| {
        byte_range(v, total).map(|(start, end)| (start, end.min(start + MAX_MEDIA_RANGE - 1)))
    })
}

/// The first range of a `Range: bytes=…` header as inclusive offsets into `total` bytes;
/// `None` when it cannot be satisfied. (Browsers ask for one range when seeking a video.)
fn byte_range(header: &str, total: u64) -> Option<(u64, u64)> {
    let spec = header.strip_prefix("bytes=")?.split(',').next()?.trim();
    let (from, to) = spec.split_once('-')?;
    let (start, end) = match (from.trim(), to.trim()) {
        ("", suffix) => {
            let n: u64 = suffix.parse().ok()?;
            (total.checked_sub(n.min(total))?, total.checked_sub(1)?)
        }
        (from, "") => (from.parse().ok()?, total.checked_sub(1)?),
        (from, to) => (
            from.parse().ok()?,
            to.parse::<u64>().ok()?.min(total.checked_sub(1)?),
        ),
    };
    (start <= end && end < total).then_some((start, end))
}

/// What a transport answers for a photo or video: its plain length, the range asked for
/// (`None`: the whole; `Some(None)`: a range past its end) and those bytes.
pub struct MediaPart {
    pub total: u64,
    pub range: Option<Option<(u64, u64)>>,
    pub bytes: Vec<u8>,
    pub content_type: String,
}

/// A verified photo or video, whole or the range `range_of` picks given its length. Only the
/// records the range needs are decrypted, after the store is let go (a video's range costs its
/// own size, not the file's, and no other request waits for it). Blocking: call it off the
/// async threads.
pub fn media_part(
    core: &Core,
    sha256: &str,
    range_of: impl FnOnce(u64) -> Option<Option<(u64, u64)>>,
) -> Result<MediaPart> {
    use homerehab_core::sealed_file::{plain_len, read_plain_range};
    let not_here = || Error::not_found("this photo or video is not on the device");
    let (path, key, item) = core.data()?.media_source(sha256)?.ok_or_else(not_here)?;
    let read = || -> std::io::Result<MediaPart> {
        let total = plain_len(&path)?;
        let range = range_of(total);
        let bytes = match range {
            Some(Some((start, end))) => read_plain_range(&path, &key, sha256, start, end)?,
            Some(None) => Vec::new(),
            None if total == 0 => Vec::new(),
            None => read_plain_range(&path, &key, sha256, 0, total - 1)?,
        };
        Ok(MediaPart {
            total,
            range,
            bytes,
            content_type: item.content_type.clone(),
        })
    };
    read().map_err(|e| {
        tracing::warn!(media = %sha256, error = %e, "a media file could not be read");
        not_here()
    })
}

#[cfg(test)]
mod tests {
    use super::{byte_range, media_range, MAX_MEDIA_RANGE};

    #[test]
    fn a_range_header_is_read_as_browsers_send_it_and_nonsense_is_unsatisfiable() {
        assert_eq!(byte_range("bytes=0-99", 1000), Some((0, 99)));
        assert_eq!(byte_range("bytes=900-", 1000), Some((900, 999)));
        assert_eq!(byte_range("bytes=-100", 1000), Some((900, 999)));
        assert_eq!(byte_range("bytes=990-2000", 1000), Some((990, 999)));
        assert_eq!(byte_range("bytes=0-1,5-9", 1000), Some((0, 1)));
        for bad in [
            "bytes=1000-",
            "bytes=5-4",
            "bytes=x-",
            "items=0-1",
            "bytes=-",
            "bytes=0-1",
        ] {
            let total = if bad == "bytes=0-1" { 0 } else { 1000 };
            assert_eq!(byte_range(bad, total), None, "{bad}");
        }
    }

    #[test]
    fn a_range_is_answered_in_parts_and_no_header_means_the_whole_file() {
        let video = 100 << 20;
        assert_eq!(media_range(None, video), None);
        assert_eq!(
            media_range(Some("bytes=0-"), video),
            Some(Some((0, MAX_MEDIA_RANGE - 1)))
        );
        assert_eq!(
            media_range(Some("bytes=10-19"), video),
            Some(Some((10, 19)))
        );
        assert_eq!(media_range(Some("bytes=x-"), video), Some(None));
    }
}
