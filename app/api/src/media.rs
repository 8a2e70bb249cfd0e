//! The municipality's own library and its media: adding exercises, templates, photos and
//! videos (therapists and admins), and what the tablet shows and holds offline.

use crate::device::Millis;
use crate::dosage::DosageView;
use serde::{Deserialize, Serialize};

/// A photo or video shown with an exercise.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MediaView {
    /// Path on the local API (`/media/<sha256>`); answers 404 until the file is on the device.
    pub url: String,
    pub sha256: String,
    /// `image/jpeg`, `image/png`, `image/webp`, `video/mp4` or `video/webm`.
    pub content_type: String,
    /// A person can be recognised (consent is recorded): do not show it to others than the
    /// citizen's own helpers, and never outside the app.
    pub shows_person: bool,
    /// Whether the verified file is on this device now (else it is shown as "not downloaded").
    pub available: bool,
}

/// An exercise's text in one language.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LocalTextInput {
    pub title: String,
    pub summary: String,
    pub steps: Vec<String>,
    #[serde(default)]
    pub key_points: Vec<String>,
    #[serde(default)]
    pub common_errors: Vec<String>,
    #[serde(default)]
    pub safety: Vec<String>,
}

/// `POST /api/library/exercises`: a municipality exercise, new (no `exercise_ref`) or edited.
/// Tags are the library's keys (`strength`, `sitting`, `chair`, `knee`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LocalExerciseInput {
    pub exercise_ref: Option<String>,
    pub category: String,
    pub position: String,
    pub equipment: Vec<String>,
    pub body_areas: Vec<String>,
    pub difficulty: u8,
    pub default_dosage: DosageView,
    /// Danish text (required).
    pub da: LocalTextInput,
    /// English text (optional).
    pub en: Option<LocalTextInput>,
    #[serde(default)]
    pub retired: bool,
}

/// One line of a municipality template.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LocalTemplateLineInput {
    /// A shipped (`sit-to-stand`) or municipality (`m-…`) exercise.
    pub exercise_ref: String,
    pub dosage: Option<DosageView>,
    pub note: Option<String>,
}

/// `POST /api/library/templates`: a municipality template, new (no `template_id`) or edited.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LocalTemplateInput {
    pub template_id: Option<String>,
    pub title: String,
    pub description: String,
    pub goals: Vec<String>,
    pub legal_basis: String,
    pub planned_weeks: u32,
    pub sessions_per_week: u32,
    pub minutes_per_session: u32,
    pub lines: Vec<LocalTemplateLineInput>,
    #[serde(default)]
    pub retired: bool,
    /// The tests a course from this template measures; `None`: the municipality's or the
    /// shipped default.
    #[serde(default)]
    pub test_plan: Option<crate::TestPlanView>,
}

/// Answer to adding or editing a municipality exercise or template: its id.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LocalItemSaved {
    pub id: String,
}

/// `GET /api/media-key` (the browser's transport only): the key a page puts in its media's
/// addresses (`/media/{sha256}?k=…`), since an `<img>` or `<video>` cannot send the launch
/// key's header. It opens the media and nothing else, and changes at every start of the app.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BrowserMediaKey {
    pub media_key: String,
}

/// `POST /api/library/exercises/{exercise}/media?file_name=..&owner=..&shows_person=..`: the
/// body is the file's bytes with its `Content-Type`; consent fields are required when
/// `shows_person`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MediaUploadQuery {
    pub file_name: String,
    /// Who holds the rights, e.g. "Thisted Kommune".
    pub owner: String,
    #[serde(default)]
    pub shows_person: bool,
    pub consent_who: Option<String>,
    /// ISO date.
    pub consent_date: Option<String>,
    /// e.g. "intern brug i kommunen".
    pub consent_scope: Option<String>,
}

/// `GET /api/media/status`, `POST /api/media/prefetch`: the photos and videos held offline.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MediaStatus {
    pub budget_bytes: u64,
    pub held_bytes: u64,
    /// When the last prefetch round ran.
    pub last_prefetch: Option<Millis>,
    pub fetched: u32,
    pub bytes_transferred: u64,
    /// Media needed for the programs that do not fit in the budget.
    pub skipped_over_budget: u32,
    /// Media that could not be fetched in the last round (retried in the next).
    pub failed: u32,
}
