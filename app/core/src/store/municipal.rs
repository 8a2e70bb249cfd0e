//! The municipality's own library on the device: its document (written only through
//! `homerehab_shared::municipal`), and the library the app shows — the shipped one with the
//! municipality's exercises and templates merged in, so search, templates and program lines
//! work the same for both.

use super::clock::now_ms;
use super::database::Store;
use super::media_state::{MediaSettings, PrefetchReport};
use super::projection::Projection;
use crate::error::{CoreError, Result};
use homerehab_shared::auth::{authorize, Access, Principal};
use homerehab_shared::docs::Header;
use homerehab_shared::effect::settings::{EffectSettings, StoredSettings};
use homerehab_shared::library::Library;
use homerehab_shared::municipal::{self, LibraryDoc, LocalExercise, LocalTemplate, MediaItem};
use std::sync::Arc;

impl Store {
    /// The header of the signed-in user's municipality library (`None` for an identity from
    /// an older server, which does not say the municipality).
    fn library_header(&self) -> Result<Option<Header>> {
        Ok(self.me()?.municipality_id.map(Header::library))
    }

    /// Refuses at once what the server would refuse at the next sync.
    fn may_write_library(&self) -> Result<Header> {
        let me = self.me()?;
        let header = self.library_header()?.ok_or_else(|| {
            CoreError::NotFound("the municipality's library (sign in again online)".into())
        })?;
        let who = Principal {
            user_id: me.user_id,
            role: me.role,
            team_id: me.team_id,
            granted_teams: vec![],
            municipality_id: me.municipality_id,
        };
        authorize(&who, &header, Access::Write)?;
        Ok(header)
    }

    /// The municipality's library document, if it is on the device.
    pub fn library_doc(&mut self) -> Result<Option<LibraryDoc>> {
        let Some(header) = self.library_header()? else {
            return Ok(None);
        };
        match self.load(header.id)? {
            Some(doc) => Ok(Some(LibraryDoc::read(&*doc)?)),
            None => Ok(None),
        }
    }

    /// The library the app shows: `shipped` plus the municipality's own exercises and
    /// templates. Merged again only when the library document changed.
    pub fn library(&mut self, shipped: &Arc<Library>) -> Result<Arc<Library>> {
        let Some(header) = self.library_header()? else {
            return Ok(shipped.clone());
        };
        let Some(doc) = self.load(header.id)? else {
            return Ok(shipped.clone());
        };
        let heads = doc.get_heads();
        let local = match &self.merged {
            Some((at, merged)) if *at == heads => return Ok(merged.clone()),
            _ => LibraryDoc::read(self.document(header.id)?)?,
        };
        let merged = Arc::new(municipal::merged(shipped, &local));
        self.merged = Some((heads, merged.clone()));
        Ok(merged)
    }

    /// Adds or updates one of the municipality's exercises (therapists and admins).
    pub fn put_local_exercise(&mut self, exercise: &LocalExercise) -> Result<()> {
        let header = self.may_write_library()?;
        self.ensure_document(&header)?;
        self.write(header.id, Projection::Whole, |doc| {
            municipal::put_exercise(doc, exercise, now_ms())
        })
    }

    /// Adds or updates one of the municipality's templates; every line must name an exercise
    /// of the shipped or the municipality's library.
    pub fn put_local_template(
        &mut self,
        template: &LocalTemplate,
        shipped: &Arc<Library>,
    ) -> Result<()> {
        let header = self.may_write_library()?;
        let library = self.library(shipped)?;
        let unknown = municipal::unknown_exercises(template, &library);
        if !unknown.is_empty() {
            return Err(CoreError::NotFound(format!(
                "exercise {} in the library",
                unknown.join(", ")
            )));
        }
        self.ensure_document(&header)?;
        self.write(header.id, Projection::Whole, |doc| {
            municipal::put_template(doc, template, now_ms())
        })
    }

    /// Records a photo or video (already uploaded under its hash) and, if given, shows it with
    /// one of the municipality's exercises.
    pub fn put_media(&mut self, item: &MediaItem, exercise: Option<&str>) -> Result<()> {
        let header = self.may_write_library()?;
        let me = self.me()?;
        self.ensure_document(&header)?;
        self.write(header.id, Projection::Whole, |doc| {
            municipal::put_media(doc, item, now_ms())?;
            match exercise {
                Some(e) => municipal::attach_media(doc, e, &item.sha256, me.user_id, now_ms()),
                None => Ok(()),
            }
        })
    }

    /// The municipality's effect settings in force: the shipped ones until its library is on
    /// the device or sets any.
    pub fn effect_settings(&mut self) -> Result<EffectSettings> {
        let stored = self.library_doc()?.map(|d| d.effect_settings);
        Ok(EffectSettings::effective(stored.as_ref()))
    }

    /// Sets the municipality's effect settings (the library's editors; checked before
    /// anything is written).
    pub fn set_effect_settings(&mut self, settings: &StoredSettings) -> Result<()> {
        let header = self.may_write_library()?;
        self.ensure_document(&header)?;
        self.write(header.id, Projection::Whole, |doc| {
            municipal::set_effect_settings(doc, &header, settings, now_ms())
        })
    }

    /// Withdraws a photo or video: no device of the municipality fetches or shows it again.
    pub fn withdraw_media(&mut self, sha256: &str) -> Result<()> {
        let header = self.may_write_library()?;
        self.write(header.id, Projection::Whole, |doc| {
            municipal::withdraw_media(doc, sha256, now_ms())
        })
    }
}

impl Store {
    pub fn media_settings(&self) -> &MediaSettings {
        &self.media
    }

    /// How many bytes of media this device may keep (the tablet's setting).
    pub fn set_media_budget(&mut self, bytes: u64) {
        self.media.budget_bytes = bytes;
    }

    /// The verified file of a photo or video, if it is on the device and still shown (not
    /// withdrawn). Files only get their final name after their bytes hashed to it, so a
    /// partial or corrupt download is never returned.
    pub fn media_path(&mut self, sha256: &str) -> Result<Option<(std::path::PathBuf, MediaItem)>> {
        if !municipal::is_sha256_hex(sha256) {
            return Ok(None);
        }
        let Some(item) = self
            .library_doc()?
            .and_then(|d| d.media.get(sha256).cloned())
            .filter(|m| !m.withdrawn)
        else {
            return Ok(None);
        };
        let path = self.media.dir.join(sha256);
        Ok(path.is_file().then_some((path, item)))
    }

    /// Where a verified photo or video is and the key that opens it, if it is on the device
    /// and still shown (see [`Store::media_path`]): to read a range of it without the store
    /// (`sealed_file::read_plain_range`).
    pub fn media_source(
        &mut self,
        sha256: &str,
    ) -> Result<Option<(std::path::PathBuf, crate::keys::DataKey, MediaItem)>> {
        let Some((path, item)) = self.media_path(sha256)? else {
            return Ok(None);
        };
        Ok(self.media_key().map(|key| (path, key, item)))
    }

    /// The plain bytes of a verified photo or video (decrypted), if it is on the device and
    /// still shown (see [`Store::media_path`]). A file that does not open with this store's
    /// key is not shown.
    pub fn media_bytes(&mut self, sha256: &str) -> Result<Option<(Vec<u8>, MediaItem)>> {
        let Some((path, item)) = self.media_path(sha256)? else {
            return Ok(None);
        };
        let Some(key) = self.media_key() else {
            return Ok(None);
        };
        match crate::sealed_file::read_plain(&path, &key, sha256) {
            Ok(bytes) => Ok(Some((bytes, item))),
            Err(e) => {
                tracing::warn!(media = %sha256, error = %e, "a media file could not be read");
                Ok(None)
            }
        }
    }

    /// The exercises of the device's current programs, most important first: active courses,
    /// then planned, then paused; within a course, in program order.
    pub fn exercises_in_use(&self) -> Result<Vec<String>> {
        let mut stmt = self.conn.prepare(
            "SELECT l.exercise_ref FROM program_lines l JOIN courses c ON c.id = l.course_id
             WHERE c.status IN ('active', 'planned', 'paused')
             ORDER BY CASE c.status WHEN 'active' THEN 0 WHEN 'planned' THEN 1 ELSE 2 END,
                      c.start_date, c.id, l.position",
        )?;
        let refs = stmt
            .query_map([], |r| r.get::<_, String>(0))?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(refs)
    }

    /// Keeps the outcome of the last media prefetch, for the status screen.
    pub fn record_prefetch(&self, report: &PrefetchReport) -> Result<()> {
        self.set_meta(
            "media_prefetch",
            &serde_json::to_vec(report).expect("serializable"),
        )
    }

    /// The outcome of the last media prefetch, if one ran.
    pub fn last_prefetch(&self) -> Result<Option<PrefetchReport>> {
        Ok(self
            .meta("media_prefetch")?
            .and_then(|b| serde_json::from_slice(&b).ok()))
    }
}
