//! A municipality's own library (kommunens eget bibliotek): the exercises and program templates
//! a municipality adds beside the shipped library, and the metadata of its photos and videos.
//! One Automerge document per municipality ([`DocumentKind::Library`], id
//! [`DocumentId::library_of`]); this module holds its schema, its validation and the only
//! functions that write it.
//!
//! - [`LibraryDoc`]: the document — [`LocalExercise`]s, [`LocalTemplate`]s and [`MediaItem`]s,
//!   each a map keyed by id, so two therapists adding content offline both keep theirs;
//! - [`put_exercise`], [`put_template`], [`put_media`], [`attach_media`], [`withdraw_media`]:
//!   the writes, each validated and one Automerge change;
//! - [`merged`]: the shipped [`Library`] plus the municipality's exercises and templates, so
//!   search, templates and program lines work the same for both;
//! - [`plan_prefetch`]: which media a tablet should hold for its courses within its storage
//!   budget (pure; the app core does the downloading).
//!
//! Municipality ids start with `m-` ([`MUNICIPAL_PREFIX`]) and shipped ids never do, so a
//! program line's `exercise_ref` says where its exercise comes from. Media are named by the
//! SHA-256 of their bytes (lowercase hex): the server stores them under that name and a device
//! shows a file only after its bytes hash to it.
//!
//! [`DocumentKind::Library`]: crate::docs::DocumentKind::Library
//! [`DocumentId::library_of`]: crate::ids::DocumentId::library_of

use crate::docs::{edit, ensure_containers_of, map_at, Header, SchemaError};
use crate::effect::settings::StoredSettings;
use crate::ids::UserId;
use crate::library::{self, Lang, Library};
use crate::model::{parse_date, Dosage, Invalid, LegalBasis, Millis};
use automerge::transaction::Transactable;
use automerge::{Automerge, ObjType, ReadDoc, ROOT};
use autosurgeon::{hydrate, hydrate_prop, reconcile_prop, Hydrate, Reconcile};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// Every municipality exercise and template id starts with this; no shipped id does.
pub const MUNICIPAL_PREFIX: &str = "m-";

/// Largest single photo or video a municipality can add (the server's upload limit may be lower).
pub const MAX_MEDIA_BYTES: u64 = 1 << 30;

/// The kinds of media a tablet can show without plug-ins.
pub const MEDIA_TYPES: [&str; 5] = [
    "image/jpeg",
    "image/png",
    "image/webp",
    "video/mp4",
    "video/webm",
];

/// Whether an exercise or template id is a municipality's own.
pub fn is_municipal(id: &str) -> bool {
    id.starts_with(MUNICIPAL_PREFIX)
}

/// A fresh id for a municipality exercise or template: `m-`, the folded title, and a random
/// suffix so two therapists naming an exercise alike offline still get two exercises.
pub fn new_id(title: &str) -> String {
    let folded = library::search::fold(title);
    let mut slug = String::new();
    for c in folded.chars() {
        if c.is_ascii_alphanumeric() {
            slug.push(c);
        } else if !slug.is_empty() && !slug.ends_with('-') {
            slug.push('-');
        }
        if slug.len() >= 28 {
            break;
        }
    }
    let slug = slug.trim_end_matches('-');
    let suffix = &uuid::Uuid::new_v4().simple().to_string()[..8];
    if slug.is_empty() {
        format!("{MUNICIPAL_PREFIX}{suffix}")
    } else {
        format!("{MUNICIPAL_PREFIX}{slug}-{suffix}")
    }
}

/// Whether `s` is a SHA-256 in lowercase hex: the name of a media file.
pub fn is_sha256_hex(s: &str) -> bool {
    s.len() == 64
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// An exercise's text in one language.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, Reconcile, Hydrate)]
pub struct LocalText {
    pub title: String,
    /// One sentence: what the exercise is for.
    pub summary: String,
    /// Numbered steps (1–8).
    pub steps: Vec<String>,
    pub key_points: Vec<String>,
    pub common_errors: Vec<String>,
    pub safety: Vec<String>,
}

/// A municipality's own exercise. Classification uses the shipped library's tag keys
/// (`strength`, `sitting`, `chair`, `knee`…) so search and filters treat it like any other.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, Reconcile, Hydrate)]
pub struct LocalExercise {
    /// `m-…` (see [`new_id`]); the key in the document and what program lines store.
    pub id: String,
    /// 1 when added, +1 with every edit.
    pub version: u32,
    /// Hidden from pickers; programs that use it keep showing it.
    pub retired: bool,
    pub category: String,
    pub position: String,
    pub equipment: Vec<String>,
    pub body_areas: Vec<String>,
    /// 1 (easiest) – 5.
    pub difficulty: u8,
    /// The default dose a new program line starts from.
    pub dosage: Dosage,
    /// By language code (`da` required, `en` optional).
    pub text: BTreeMap<String, LocalText>,
    /// Photos and videos shown with the exercise: SHA-256 → position (ascending). A map, so
    /// two therapists attaching media concurrently both keep theirs.
    pub media: BTreeMap<String, f64>,
    pub updated_by: UserId,
    pub updated_at: Millis,
}

/// One line of a municipality template.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, Reconcile, Hydrate)]
pub struct LocalTemplateLine {
    /// A shipped or municipality exercise id.
    pub exercise: String,
    /// Overrides the exercise's default dose.
    pub dosage: Option<Dosage>,
    /// A hint for this line, e.g. "Opvarmning".
    pub note: Option<String>,
}

/// A template's title, description and typical goals in one language.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, Reconcile, Hydrate)]
pub struct LocalTemplateText {
    pub title: String,
    pub description: String,
    pub goals: Vec<String>,
}

/// A municipality's own program template. Its lines are a list (a template is edited by one
/// therapist at a time, and the order matters); templates are a map keyed by id.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, Reconcile, Hydrate)]
pub struct LocalTemplate {
    pub id: String,
    pub version: u32,
    pub retired: bool,
    pub legal_basis: String,
    pub weeks: u32,
    pub sessions_per_week: u32,
    pub minutes_per_session: u32,
    pub text: BTreeMap<String, LocalTemplateText>,
    /// In session order, 1–12 lines.
    pub exercises: Vec<LocalTemplateLine>,
    pub updated_by: UserId,
    pub updated_at: Millis,
    /// The tests a course from this template measures (issue #11). Absent in templates saved
    /// before templates carried a plan: then the municipality's or the shipped default applies.
    #[serde(default)]
    #[autosurgeon(missing = "Default::default")]
    pub test_plan: Option<crate::effect::plan::TestPlan>,
}

/// The consent of a person shown in a photo or video.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, Reconcile, Hydrate)]
pub struct ConsentRecord {
    /// Who gave consent (the person shown, or who may consent for them).
    pub who: String,
    /// ISO date the consent was given.
    pub date: String,
    /// What it covers, e.g. "intern brug i kommunen".
    pub scope: String,
    /// The staff member who recorded it.
    pub recorded_by: UserId,
}

/// A photo or video of the municipality, named by the SHA-256 of its bytes.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, Reconcile, Hydrate)]
pub struct MediaItem {
    /// Lowercase hex; the key in the document and the file's name on server and tablet.
    pub sha256: String,
    /// One of [`MEDIA_TYPES`].
    pub content_type: String,
    pub byte_size: u64,
    /// The name the file had when it was added (shown to therapists, never used as a path).
    pub file_name: String,
    /// Whether a person can be recognised: then consent must be recorded.
    pub shows_person: bool,
    pub consent: Option<ConsentRecord>,
    /// Who holds the rights (ophavsret), e.g. "Thisted Kommune".
    pub owner: String,
    /// Withdrawn (consent revoked, wrong picture): never fetched or shown again. Never
    /// deleted from the document, so a device that was offline learns it too.
    pub withdrawn: bool,
    pub added_by: UserId,
    pub added_at: Millis,
}

/// A municipality's library document as stored.
#[derive(Clone, Debug, PartialEq, Reconcile, Hydrate)]
pub struct LibraryDoc {
    pub schema: u64,
    pub kind: String,
    pub exercises: BTreeMap<String, LocalExercise>,
    pub templates: BTreeMap<String, LocalTemplate>,
    pub media: BTreeMap<String, MediaItem>,
    /// The municipality's effect settings (issue #11); missing in libraries from before them.
    #[autosurgeon(missing = "Default::default")]
    pub effect_settings: StoredSettings,
}

fn invalid(field: impl Into<String>, problem: impl Into<String>) -> Invalid {
    Invalid {
        field: field.into(),
        problem: problem.into(),
    }
}

fn check_id(field: &str, id: &str) -> Result<(), Invalid> {
    if !is_municipal(id) || library::ExerciseId::try_from(id).is_err() {
        return Err(invalid(
            field,
            format!("`{id}` must be `m-` and then lowercase letters, digits and single dashes"),
        ));
    }
    Ok(())
}

fn check_line(field: &str, s: &str, max: usize) -> Result<(), Invalid> {
    if s.trim().is_empty() || s.chars().count() > max || s.contains('\n') {
        return Err(invalid(
            field,
            format!("must be 1–{max} characters on one line"),
        ));
    }
    Ok(())
}

fn check_lines(
    field: &str,
    v: &[String],
    count: (usize, usize),
    max: usize,
) -> Result<(), Invalid> {
    if v.len() < count.0 || v.len() > count.1 {
        return Err(invalid(
            field,
            format!("needs {}–{} items", count.0, count.1),
        ));
    }
    v.iter().try_for_each(|s| check_line(field, s, max))
}

/// Parses one of the shipped library's tag keys (`strength`, `chair`…) into its enum.
fn tag<T: serde::de::DeserializeOwned>(field: &str, key: &str) -> Result<T, Invalid> {
    toml::Value::String(key.to_string())
        .try_into()
        .map_err(|_| invalid(field, format!("`{key}` is not a known value")))
}

fn lang_of(code: &str) -> Option<Lang> {
    tag::<Lang>("lang", code).ok()
}

fn check_texts<T>(field: &str, text: &BTreeMap<String, T>) -> Result<(), Invalid> {
    if !text.contains_key("da") {
        return Err(invalid(field, "needs a Danish text (da)"));
    }
    if let Some(code) = text.keys().find(|k| lang_of(k).is_none()) {
        return Err(invalid(field, format!("`{code}` is not a language code")));
    }
    Ok(())
}

fn check_dosage(field: &str, d: &Dosage) -> Result<(), Invalid> {
    to_library_dosage(d)
        .validate()
        .map_err(|e| invalid(field, e.to_string()))
}

impl LocalExercise {
    pub fn validate(&self) -> Result<(), Invalid> {
        check_id("exercise.id", &self.id)?;
        if self.version == 0 {
            return Err(invalid("exercise.version", "starts at 1"));
        }
        tag::<library::Category>("exercise.category", &self.category)?;
        tag::<library::Position>("exercise.position", &self.position)?;
        if self.equipment.is_empty() || self.body_areas.is_empty() {
            return Err(invalid(
                "exercise.equipment",
                "name the equipment (or `none`) and at least one body area",
            ));
        }
        for e in &self.equipment {
            tag::<library::Equipment>("exercise.equipment", e)?;
        }
        for b in &self.body_areas {
            tag::<library::BodyArea>("exercise.body_areas", b)?;
        }
        library::Difficulty::try_from(self.difficulty)
            .map_err(|p| invalid("exercise.difficulty", p))?;
        check_dosage("exercise.dosage", &self.dosage)?;
        check_texts("exercise.text", &self.text)?;
        for t in self.text.values() {
            check_line("exercise.title", &t.title, 48)?;
            check_line("exercise.summary", &t.summary, 200)?;
            check_lines("exercise.steps", &t.steps, (1, 8), 160)?;
            check_lines("exercise.key_points", &t.key_points, (0, 5), 160)?;
            check_lines("exercise.common_errors", &t.common_errors, (0, 5), 160)?;
            check_lines("exercise.safety", &t.safety, (0, 5), 160)?;
        }
        if let Some(h) = self.media.keys().find(|h| !is_sha256_hex(h)) {
            return Err(invalid("exercise.media", format!("`{h}` is not a SHA-256")));
        }
        Ok(())
    }

    /// Media of this exercise in the order they are shown.
    pub fn media_in_order(&self) -> Vec<&str> {
        let mut v: Vec<(&String, &f64)> = self.media.iter().collect();
        v.sort_by(|a, b| a.1.total_cmp(b.1).then(a.0.cmp(b.0)));
        v.into_iter().map(|(h, _)| h.as_str()).collect()
    }
}

impl LocalTemplate {
    pub fn validate(&self) -> Result<(), Invalid> {
        check_id("template.id", &self.id)?;
        if self.version == 0 {
            return Err(invalid("template.version", "starts at 1"));
        }
        check_line("template.legal_basis", &self.legal_basis, 80)?;
        let ranges = [
            ("template.weeks", self.weeks, 1, 26),
            ("template.sessions_per_week", self.sessions_per_week, 1, 7),
            (
                "template.minutes_per_session",
                self.minutes_per_session,
                5,
                90,
            ),
        ];
        for (field, v, lo, hi) in ranges {
            if !(lo..=hi).contains(&v) {
                return Err(invalid(field, format!("must be {lo}–{hi}")));
            }
        }
        if let Some(plan) = &self.test_plan {
            plan.check()
                .map_err(|e| invalid("template.test_plan", e.to_string()))?;
        }
        check_texts("template.text", &self.text)?;
        for t in self.text.values() {
            check_line("template.title", &t.title, 48)?;
            check_line("template.description", &t.description, 400)?;
            check_lines("template.goals", &t.goals, (0, 5), 160)?;
        }
        if !(1..=12).contains(&self.exercises.len()) {
            return Err(invalid("template.exercises", "needs 1–12 lines"));
        }
        let mut seen = BTreeSet::new();
        for line in &self.exercises {
            if library::ExerciseId::try_from(line.exercise.as_str()).is_err() {
                return Err(invalid(
                    "template.exercises",
                    format!("`{}` is not an exercise id", line.exercise),
                ));
            }
            if !seen.insert(&line.exercise) {
                return Err(invalid("template.exercises", "lists an exercise twice"));
            }
            if let Some(d) = &line.dosage {
                check_dosage("template.exercises.dosage", d)?;
            }
            if let Some(n) = &line.note {
                check_line("template.exercises.note", n, 160)?;
            }
        }
        Ok(())
    }
}

impl MediaItem {
    pub fn validate(&self) -> Result<(), Invalid> {
        if !is_sha256_hex(&self.sha256) {
            return Err(invalid(
                "media.sha256",
                "must be 64 lowercase hex characters",
            ));
        }
        if !MEDIA_TYPES.contains(&self.content_type.as_str()) {
            return Err(invalid(
                "media.content_type",
                format!("use one of {}", MEDIA_TYPES.join(", ")),
            ));
        }
        if self.byte_size == 0 || self.byte_size > MAX_MEDIA_BYTES {
            return Err(invalid("media.byte_size", "must be 1 byte – 1 GiB"));
        }
        check_line("media.file_name", &self.file_name, 200)?;
        if self
            .file_name
            .chars()
            .any(|c| c.is_control() || c == '/' || c == '\\')
        {
            return Err(invalid("media.file_name", "a name, not a path"));
        }
        check_line("media.owner", &self.owner, 120)?;
        match (&self.consent, self.shows_person) {
            (None, true) => {
                return Err(invalid(
                    "media.consent",
                    "a photo or video showing a person needs recorded consent",
                ))
            }
            (Some(c), _) => {
                check_line("media.consent.who", &c.who, 120)?;
                check_line("media.consent.scope", &c.scope, 200)?;
                parse_date(&c.date).map_err(|e| invalid("media.consent.date", e.problem))?;
            }
            (None, false) => {}
        }
        Ok(())
    }

    pub fn is_video(&self) -> bool {
        self.content_type.starts_with("video/")
    }
}

impl LibraryDoc {
    /// Reads and validates the whole document: every item valid and filed under its own id,
    /// and every media reference of an exercise known to the document.
    pub fn read(doc: &Automerge) -> Result<Self, SchemaError> {
        let mut d: Self = hydrate(doc)?;
        // A withdrawal in conflict with a concurrent `false` stays a withdrawal, as the server
        // reads it ([`withdrawn_media`]): hydrating alone takes one winner.
        for sha256 in withdrawn_media(doc)? {
            if let Some(m) = d.media.get_mut(&sha256) {
                m.withdrawn = true;
            }
        }
        for (key, e) in &d.exercises {
            e.validate()?;
            if *key != e.id {
                return Err(invalid("exercise.id", "filed under another id").into());
            }
            if let Some(h) = e.media.keys().find(|h| !d.media.contains_key(*h)) {
                return Err(
                    invalid("exercise.media", format!("`{h}` is not in the library")).into(),
                );
            }
        }
        for (key, t) in &d.templates {
            t.validate()?;
            if *key != t.id {
                return Err(invalid("template.id", "filed under another id").into());
            }
        }
        for (key, m) in &d.media {
            m.validate()?;
            if *key != m.sha256 {
                return Err(invalid("media.sha256", "filed under another hash").into());
            }
        }
        d.effect_settings.validate()?;
        Ok(d)
    }

    /// The media shown with an exercise, in order, without withdrawn ones.
    pub fn media_of(&self, exercise: &str) -> Vec<&MediaItem> {
        let Some(e) = self.exercises.get(exercise) else {
            return vec![];
        };
        e.media_in_order()
            .into_iter()
            .filter_map(|h| self.media.get(h))
            .filter(|m| !m.withdrawn)
            .collect()
    }
}

/// Adds or updates a municipality exercise. Its media must already be in the library.
pub fn put_exercise(
    doc: &mut Automerge,
    e: &LocalExercise,
    now: Millis,
) -> Result<(), SchemaError> {
    e.validate()?;
    edit(doc, now, |tx| {
        let media = map_at(tx, &ROOT, "media")?;
        for h in e.media.keys() {
            if tx.get(&media, h.as_str())?.is_none() {
                return Err(
                    invalid("exercise.media", format!("`{h}` is not in the library")).into(),
                );
            }
        }
        let exercises = map_at(tx, &ROOT, "exercises")?;
        reconcile_prop(tx, &exercises, e.id.as_str(), e)?;
        Ok(())
    })
}

/// Adds or updates a municipality template.
pub fn put_template(
    doc: &mut Automerge,
    t: &LocalTemplate,
    now: Millis,
) -> Result<(), SchemaError> {
    t.validate()?;
    edit(doc, now, |tx| {
        let templates = map_at(tx, &ROOT, "templates")?;
        reconcile_prop(tx, &templates, t.id.as_str(), t)?;
        Ok(())
    })
}

/// The media a library document withdraws: those with `withdrawn` true, counting a true that
/// is in conflict with a concurrent false (a withdrawal of consent is not undone by a merge).
/// Read field by field rather than hydrated, so one malformed item cannot hide the others.
pub fn withdrawn_media(doc: &Automerge) -> Result<Vec<String>, automerge::AutomergeError> {
    use automerge::{ScalarValue, Value};
    let Some((Value::Object(ObjType::Map), media)) = doc.get(ROOT, "media")? else {
        return Ok(vec![]);
    };
    let mut withdrawn = vec![];
    for sha256 in doc.keys(&media) {
        let Some((Value::Object(ObjType::Map), item)) = doc.get(&media, sha256.as_str())? else {
            continue;
        };
        let values = doc.get_all(&item, "withdrawn")?;
        if values.iter().any(|(v, _)| {
            matches!(v, Value::Scalar(s) if matches!(s.as_ref(), ScalarValue::Boolean(true)))
        }) {
            withdrawn.push(sha256);
        }
    }
    Ok(withdrawn)
}

/// Records a photo or video (uploaded to the server under its hash) in the library. A file
/// the library already holds (someone added the same bytes before) keeps its record — who
/// added it, a person's consent, a withdrawal — and a person's consent given now is added to
/// it; written whole, the record would say `withdrawn: false` again and lose the consent. A
/// withdrawn file is refused: once consent is revoked, the same picture does not come back.
pub fn put_media(doc: &mut Automerge, m: &MediaItem, now: Millis) -> Result<(), SchemaError> {
    m.validate()?;
    if withdrawn_media(doc)?.contains(&m.sha256) {
        return Err(invalid(
            "media",
            "this photo or video was withdrawn from the library and cannot be added again",
        )
        .into());
    }
    edit(doc, now, |tx| {
        let media = map_at(tx, &ROOT, "media")?;
        if tx.get(&media, m.sha256.as_str())?.is_none() {
            reconcile_prop(tx, &media, m.sha256.as_str(), m)?;
            return Ok(());
        }
        let known: MediaItem = hydrate_prop(&*tx, &media, m.sha256.as_str())?;
        if m.shows_person && known.consent.is_none() {
            let item = map_at(tx, &media, m.sha256.as_str())?;
            reconcile_prop(tx, &item, "shows_person", true)?;
            reconcile_prop(tx, &item, "consent", &m.consent)?;
        }
        Ok(())
    })
}

/// Shows a recorded photo or video with an exercise, after the ones it already has.
pub fn attach_media(
    doc: &mut Automerge,
    exercise: &str,
    sha256: &str,
    by: UserId,
    now: Millis,
) -> Result<(), SchemaError> {
    edit(doc, now, |tx| {
        let media = map_at(tx, &ROOT, "media")?;
        if tx.get(&media, sha256)?.is_none() {
            return Err(SchemaError::NotFound("media"));
        }
        let exercises = map_at(tx, &ROOT, "exercises")?;
        let e = map_at(tx, &exercises, exercise).map_err(|_| SchemaError::NotFound("exercise"))?;
        let mut current: LocalExercise = hydrate_prop(&*tx, &exercises, exercise)?;
        let next = current.media.values().copied().fold(0.0, f64::max) + 1.0;
        current.media.entry(sha256.to_string()).or_insert(next);
        current.version += 1;
        current.updated_by = by;
        current.updated_at = now;
        current.validate()?;
        // Only the touched fields, so a concurrent edit of the text on another device merges.
        let list = match tx.get(&e, "media")? {
            Some((automerge::Value::Object(ObjType::Map), id)) => id,
            _ => return Err(SchemaError::NotFound("exercise.media")),
        };
        if tx.get(&list, sha256)?.is_none() {
            tx.put(&list, sha256, next)?;
        }
        reconcile_prop(tx, &e, "version", current.version)?;
        reconcile_prop(tx, &e, "updated_by", by)?;
        reconcile_prop(tx, &e, "updated_at", now)?;
        Ok(())
    })
}

/// Sets the municipality's effect settings as a whole: only what differs is written, so an
/// edit of one test's value and a concurrent edit of another's on a second device both stay.
/// `header` is the library's (its id gives the actor of the settings' containers).
pub fn set_effect_settings(
    doc: &mut Automerge,
    header: &Header,
    settings: &StoredSettings,
    now: Millis,
) -> Result<(), SchemaError> {
    // Checked before anything is written: an invalid record adds not even the containers.
    settings.check_whole()?;
    ensure_containers_of(doc, header)?;
    edit(doc, now, |tx| {
        let at = map_at(tx, &ROOT, "effect_settings")?;
        reconcile_prop(tx, &at, "changes", &settings.changes)?;
        reconcile_prop(tx, &at, "criteria", &settings.criteria)?;
        reconcile_prop(tx, &at, "reasons", &settings.reasons)?;
        // An unset field stays absent rather than written as null: a null written here would
        // compete with another device's concurrent value and could win.
        for (key, set) in [
            ("follow_up_offsets", settings.follow_up_offsets.is_some()),
            ("default_test_plan", settings.default_test_plan.is_some()),
        ] {
            if !set && tx.get(&at, key)?.is_some() {
                tx.delete(&at, key)?;
            }
        }
        if let Some(o) = &settings.follow_up_offsets {
            reconcile_prop(tx, &at, "follow_up_offsets", o)?;
        }
        if let Some(p) = &settings.default_test_plan {
            reconcile_prop(tx, &at, "default_test_plan", p)?;
        }
        Ok(())
    })
}

/// Withdraws a photo or video: no device fetches or shows it again.
pub fn withdraw_media(doc: &mut Automerge, sha256: &str, now: Millis) -> Result<(), SchemaError> {
    edit(doc, now, |tx| {
        let media = map_at(tx, &ROOT, "media")?;
        let m = map_at(tx, &media, sha256).map_err(|_| SchemaError::NotFound("media"))?;
        tx.put(&m, "withdrawn", true)?;
        Ok(())
    })
}

// ---- the merged view ---------------------------------------------------------------------------

fn to_library_dosage(d: &Dosage) -> library::Dosage {
    let amount = |v: Option<u32>| v.map(|n| library::Amount::Exact(n.min(u16::MAX as u32) as u16));
    library::Dosage {
        sets: d.sets.min(u8::MAX as u32) as u8,
        reps: amount(d.reps),
        duration_s: amount(d.duration_s),
        hold_s: amount(d.hold_s),
        rest_s: d.rest_s.map(|r| r.min(u16::MAX as u32) as u16),
        side: d.side,
        // One note as the therapist wrote it, shown in every language.
        load: d.load.as_ref().map(|l| {
            Lang::REQUIRED
                .iter()
                .map(|lang| (*lang, l.clone()))
                .collect()
        }),
    }
}

/// A neutral standing figure: municipality exercises are shown with their photos and videos;
/// this only fills the shipped type's illustration, which views do not link for them.
fn standing_figure() -> library::Illustration {
    let pose = library::Pose {
        anchor: library::Joint::NearToe,
        at: [18.0, 0.0],
        trunk: 0.0,
        head: 0.0,
        near_arm: [5.0, 5.0],
        far_arm: [5.0, 5.0],
        near_leg: [0.0, 0.0, 80.0],
        far_leg: [0.0, 0.0, 80.0],
        foreshorten: library::Foreshorten::default(),
    };
    library::Illustration {
        view: library::View::Side,
        seconds: 4.0,
        props: vec![],
        start: pose.clone(),
        via: None,
        then: None,
        end: pose,
    }
}

impl LocalExercise {
    /// As a library exercise, for search, templates and program lines. `None` only for data
    /// that failed validation.
    pub fn to_exercise(&self) -> Option<library::Exercise> {
        let text = self
            .text
            .iter()
            .filter_map(|(code, t)| {
                Some((
                    lang_of(code)?,
                    library::ExerciseText {
                        title: t.title.clone(),
                        summary: t.summary.clone(),
                        steps: t.steps.clone(),
                        key_points: t.key_points.clone(),
                        common_errors: t.common_errors.clone(),
                        safety: t.safety.clone(),
                    },
                ))
            })
            .collect();
        Some(library::Exercise {
            id: library::ExerciseId::try_from(self.id.as_str()).ok()?,
            version: self.version,
            status: if self.retired {
                library::Status::Retired
            } else {
                library::Status::Active
            },
            replaced_by: None,
            category: tag("", &self.category).ok()?,
            position: tag("", &self.position).ok()?,
            equipment: self
                .equipment
                .iter()
                .map(|e| tag("", e).ok())
                .collect::<Option<_>>()?,
            body_areas: self
                .body_areas
                .iter()
                .map(|b| tag("", b).ok())
                .collect::<Option<_>>()?,
            difficulty: library::Difficulty::try_from(self.difficulty).ok()?,
            progressions: vec![],
            regressions: vec![],
            // A municipality's exercise is not in the shipped chains; nothing to explain.
            standalone: None,
            programme: None,
            references: vec![],
            search_words: vec![],
            dosage: to_library_dosage(&self.dosage),
            text,
            illustration: standing_figure(),
        })
    }
}

impl LocalTemplate {
    /// As a library template, for the template list and [`Library::draft_from_template`].
    pub fn to_template(&self) -> Option<library::Template> {
        let text = self
            .text
            .iter()
            .filter_map(|(code, t)| {
                Some((
                    lang_of(code)?,
                    library::TemplateText {
                        title: t.title.clone(),
                        description: t.description.clone(),
                        goals: t.goals.clone(),
                    },
                ))
            })
            .collect();
        let exercises = self
            .exercises
            .iter()
            .map(|line| {
                Some(library::TemplateEntry {
                    exercise: library::ExerciseId::try_from(line.exercise.as_str()).ok()?,
                    dosage: line.dosage.as_ref().map(to_library_dosage),
                    note: line
                        .note
                        .as_ref()
                        .map(|n| Lang::REQUIRED.iter().map(|l| (*l, n.clone())).collect()),
                    between_sessions: false,
                })
            })
            .collect::<Option<_>>()?;
        Some(library::Template {
            id: library::TemplateId::try_from(self.id.as_str()).ok()?,
            version: self.version,
            status: if self.retired {
                library::Status::Retired
            } else {
                library::Status::Active
            },
            replaced_by: None,
            legal_basis: LegalBasis(self.legal_basis.clone()),
            frame: library::CourseFrame {
                weeks: self.weeks.min(u8::MAX as u32) as u8,
                sessions_per_week: self.sessions_per_week.min(u8::MAX as u32) as u8,
                minutes_per_session: self.minutes_per_session.min(u16::MAX as u32) as u16,
            },
            text,
            exercises,
            test_plan: self.test_plan.clone(),
            references: vec![],
        })
    }
}

/// The shipped library with the municipality's exercises and templates added: one [`Library`]
/// for search ([`library::search::SearchIndex`]), [`Library::draft_from_template`] and program
/// lines. A municipality item never replaces a shipped one.
pub fn merged(shipped: &Library, local: &LibraryDoc) -> Library {
    let mut out = shipped.clone();
    for e in local
        .exercises
        .values()
        .filter_map(LocalExercise::to_exercise)
    {
        out.exercises.entry(e.id.clone()).or_insert(e);
    }
    for t in local
        .templates
        .values()
        .filter_map(LocalTemplate::to_template)
    {
        out.templates.entry(t.id.clone()).or_insert(t);
    }
    out
}

/// The template lines that name no exercise of `library` (the merged one): a template is
/// stored only when this is empty.
pub fn unknown_exercises<'a>(t: &'a LocalTemplate, library: &Library) -> Vec<&'a str> {
    t.exercises
        .iter()
        .map(|l| l.exercise.as_str())
        .filter(|id| library.exercise(id).is_none())
        .collect()
}

// ---- prefetch planning ------------------------------------------------------------------------

/// What a tablet should do with media in one prefetch round.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PrefetchPlan {
    /// Media to download, most important first.
    pub fetch: Vec<MediaItem>,
    /// Needed media already held, within the budget.
    pub keep: Vec<String>,
    /// Needed media that do not fit in the budget.
    pub skipped_over_budget: Vec<String>,
    /// Held files no longer needed (withdrawn, or no current program uses them): delete.
    pub evict: Vec<String>,
}

/// Decides which media to hold: those of `exercise_refs` (the exercises of the device's
/// current programs, most important first), not withdrawn, in that order while they fit in
/// `budget_bytes` (a file that does not fit is skipped; a smaller, less important one may
/// still fit). `held` are the verified files on the device with their sizes.
pub fn plan_prefetch<'a>(
    local: &LibraryDoc,
    exercise_refs: impl IntoIterator<Item = &'a str>,
    held: &BTreeMap<String, u64>,
    budget_bytes: u64,
) -> PrefetchPlan {
    let mut plan = PrefetchPlan::default();
    let mut wanted = BTreeSet::new();
    let mut used = 0u64;
    for exercise in exercise_refs {
        for m in local.media_of(exercise) {
            if !wanted.insert(m.sha256.clone()) {
                continue;
            }
            let size = held.get(&m.sha256).copied().unwrap_or(m.byte_size);
            if used + size > budget_bytes {
                plan.skipped_over_budget.push(m.sha256.clone());
                wanted.remove(&m.sha256);
                continue;
            }
            used += size;
            if held.contains_key(&m.sha256) {
                plan.keep.push(m.sha256.clone());
            } else {
                plan.fetch.push(m.clone());
            }
        }
    }
    plan.evict = held
        .keys()
        .filter(|h| !wanted.contains(*h))
        .cloned()
        .collect();
    plan
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::docs::{genesis, Header};
    use crate::ids::MunicipalityId;
    use automerge::ActorId;

    pub(crate) fn exercise(id: &str) -> LocalExercise {
        LocalExercise {
            id: id.into(),
            version: 1,
            retired: false,
            category: "strength".into(),
            position: "sitting".into(),
            equipment: vec!["chair".into()],
            body_areas: vec!["knee".into()],
            difficulty: 2,
            dosage: Dosage::reps(2, 10),
            text: BTreeMap::from([(
                "da".to_string(),
                LocalText {
                    title: "Knæstræk med håndklæde".into(),
                    summary: "Styrker låret.".into(),
                    steps: vec!["Sid godt.".into(), "Stræk knæet.".into()],
                    key_points: vec![],
                    common_errors: vec![],
                    safety: vec!["Stop ved smerter.".into()],
                },
            )]),
            media: BTreeMap::new(),
            updated_by: UserId::new(),
            updated_at: 1,
        }
    }

    pub(crate) fn media(byte: u8, size: u64) -> MediaItem {
        MediaItem {
            sha256: format!("{byte:02x}").repeat(32),
            content_type: "image/jpeg".into(),
            byte_size: size,
            file_name: "knae.jpg".into(),
            shows_person: false,
            consent: None,
            owner: "Thisted Kommune".into(),
            withdrawn: false,
            added_by: UserId::new(),
            added_at: 1,
        }
    }

    fn library_doc() -> Automerge {
        genesis(&Header::library(MunicipalityId::new())).with_actor(ActorId::random())
    }

    #[test]
    fn ids_are_municipal_and_valid_slugs() {
        let id = new_id("Knæstræk med håndklæde!");
        assert!(id.starts_with("m-knaestraek-med-haandklaede-"), "{id}");
        check_id("id", &id).unwrap();
        check_id("id", &new_id("???")).unwrap();
        assert!(check_id("id", "sit-to-stand").is_err());
    }

    #[test]
    fn a_person_in_a_photo_needs_consent() {
        let mut m = media(1, 10);
        m.shows_person = true;
        assert!(m.validate().is_err());
        m.consent = Some(ConsentRecord {
            who: "Borgeren selv".into(),
            date: "2026-11-20".into(),
            scope: "intern brug i kommunen".into(),
            recorded_by: UserId::new(),
        });
        m.validate().unwrap();
        m.file_name = "../../etc/passwd".into();
        assert!(m.validate().is_err());
    }

    #[test]
    fn the_same_file_added_again_keeps_its_consent_and_its_withdrawal() {
        let consent = ConsentRecord {
            who: "Fru Jensen".into(),
            date: "2026-11-20".into(),
            scope: "intern brug i kommunen".into(),
            recorded_by: UserId::new(),
        };
        let first = MediaItem {
            shows_person: true,
            consent: Some(consent.clone()),
            ..media(1, 10)
        };
        let again = MediaItem {
            file_name: "samme.jpg".into(),
            added_by: UserId::new(),
            ..media(1, 10)
        };
        let mut a = library_doc();
        put_media(&mut a, &first, 1).unwrap();
        // Added again by someone who did not tick "a person can be recognised".
        put_media(&mut a, &again, 2).unwrap();
        let kept = LibraryDoc::read(&a).unwrap().media[&first.sha256].clone();
        assert_eq!(kept, first, "the first record stands");
        // Once withdrawn, the same picture is refused, and the withdrawal stands.
        withdraw_media(&mut a, &first.sha256, 3).unwrap();
        assert!(put_media(&mut a, &again, 4).is_err());
        let read = LibraryDoc::read(&a).unwrap();
        assert!(read.media[&first.sha256].withdrawn);
        assert_eq!(read.media[&first.sha256].consent, Some(consent));
        // A device that wrote `false` concurrently (an older app) does not undo it either.
        let mut b = library_doc();
        put_media(&mut b, &first, 1).unwrap();
        let mut c = b.fork().with_actor(ActorId::random());
        withdraw_media(&mut b, &first.sha256, 2).unwrap();
        let mut tx = c.transaction();
        let media = match tx.get(ROOT, "media").unwrap() {
            Some((automerge::Value::Object(_), id)) => id,
            _ => unreachable!(),
        };
        let item = match tx.get(&media, first.sha256.as_str()).unwrap() {
            Some((automerge::Value::Object(_), id)) => id,
            _ => unreachable!(),
        };
        tx.put(&item, "withdrawn", false).unwrap();
        tx.commit();
        c.merge(&mut b).unwrap();
        assert!(LibraryDoc::read(&c).unwrap().media[&first.sha256].withdrawn);
        assert_eq!(
            withdrawn_media(&c).unwrap(),
            std::slice::from_ref(&first.sha256)
        );
    }

    #[test]
    fn concurrent_additions_on_two_devices_both_survive() {
        let mut a = library_doc();
        let mut b = a.fork().with_actor(ActorId::random());
        put_media(&mut a, &media(1, 10), 1).unwrap();
        let mut e = exercise("m-knaestraek-1");
        e.media.insert(media(1, 10).sha256, 1.0);
        put_exercise(&mut a, &e, 1).unwrap();
        put_exercise(&mut b, &exercise("m-armstraek-2"), 1).unwrap();
        put_media(&mut b, &media(2, 10), 1).unwrap();
        attach_media(
            &mut a,
            "m-knaestraek-1",
            &media(1, 10).sha256,
            UserId::new(),
            2,
        )
        .unwrap();
        a.merge(&mut b).unwrap();
        let doc = LibraryDoc::read(&a).unwrap();
        assert_eq!(doc.exercises.len(), 2);
        assert_eq!(doc.media.len(), 2);
        assert_eq!(doc.media_of("m-knaestraek-1").len(), 1);
        withdraw_media(&mut a, &media(1, 10).sha256, 3).unwrap();
        assert!(LibraryDoc::read(&a)
            .unwrap()
            .media_of("m-knaestraek-1")
            .is_empty());
    }

    #[test]
    fn an_exercise_cannot_show_media_the_library_does_not_have() {
        let mut doc = library_doc();
        let mut e = exercise("m-knaestraek-1");
        e.media.insert(media(9, 10).sha256, 1.0);
        let heads = doc.get_heads();
        assert!(put_exercise(&mut doc, &e, 1).is_err());
        assert_eq!(doc.get_heads(), heads);
    }

    #[test]
    fn admission_checks_the_library_s_rights_and_schema() {
        use crate::admission::{admit, Rejection};
        use crate::auth::Principal;
        use crate::model::Role;
        let municipality = MunicipalityId::new();
        let header = Header::library(municipality);
        let actor = ActorId::random();
        let who = |role, municipality| Principal {
            user_id: UserId::new(),
            role,
            team_id: crate::ids::TeamId::new(),
            granted_teams: vec![],
            municipality_id: Some(municipality),
        };
        let mut doc = genesis(&header).with_actor(actor.clone());
        put_exercise(&mut doc, &exercise("m-knaestraek-1"), 1).unwrap();
        let actors: std::collections::HashSet<ActorId> = [actor.clone()].into();
        let offer = |doc: &Automerge, who: &Principal| {
            admit(header.id, None, &doc.save(), &doc.get_heads(), who, &actors)
        };
        offer(&doc, &who(Role::Therapist, municipality)).unwrap();
        offer(&doc, &who(Role::Admin, municipality)).unwrap();
        for refused in [
            who(Role::Assistant, municipality),
            who(Role::Leader, municipality),
            who(Role::Therapist, MunicipalityId::new()),
        ] {
            assert!(matches!(
                offer(&doc, &refused),
                Err(Rejection::Forbidden(_))
            ));
        }
        // Written around the validating functions: a shipped-looking id is refused.
        let mut bad = genesis(&header).with_actor(actor);
        let mut tx = bad.transaction();
        let exercises = match tx.get(ROOT, "exercises").unwrap() {
            Some((_, id)) => id,
            None => unreachable!(),
        };
        reconcile_prop(
            &mut tx,
            &exercises,
            "sit-to-stand",
            exercise("sit-to-stand"),
        )
        .unwrap();
        tx.commit();
        assert!(matches!(
            offer(&bad, &who(Role::Therapist, municipality)),
            Err(Rejection::Schema(_))
        ));
    }

    #[test]
    fn effect_settings_read_from_old_libraries_merge_and_are_admitted() {
        use crate::admission::admit;
        use crate::auth::Principal;
        use crate::effect::settings::{ChangeOverride, EffectSettings, StoredLabel};
        use crate::model::Role;
        let municipality = MunicipalityId::new();
        let header = Header::library(municipality);
        // A library as the release before the settings wrote it reads as shipped settings.
        let mut old = genesis(&header).with_actor(ActorId::random());
        put_exercise(&mut old, &exercise("m-knaestraek-1"), 1).unwrap();
        let read = LibraryDoc::read(&old).unwrap();
        assert_eq!(read.effect_settings, StoredSettings::default());
        assert_eq!(
            EffectSettings::effective(Some(&read.effect_settings)),
            EffectSettings::default()
        );
        // Two devices edit offline: one a test's value, the other a criterion and the offsets.
        let stored = old.clone();
        let mut a = old.fork().with_actor(ActorId::random());
        let stored = stored.with_actor(old.get_actor().clone());
        let mut b = old.fork().with_actor(ActorId::random());
        let mut on_a = StoredSettings::default();
        on_a.changes.insert(
            "chair_stand_30s".into(),
            ChangeOverride {
                value: 2.0,
                source: "Aarhus Kommune".into(),
            },
        );
        set_effect_settings(&mut a, &header, &on_a, 2).unwrap();
        let mut on_b = StoredSettings {
            follow_up_offsets: Some("90,365".into()),
            ..StoredSettings::default()
        };
        on_b.criteria.insert(
            "can_walk_10m".into(),
            StoredLabel {
                da: "Kan gå 10 m".into(),
                en: "Can walk 10 m".into(),
                retired: false,
                position: 7.0,
            },
        );
        set_effect_settings(&mut b, &header, &on_b, 3).unwrap();
        a.merge(&mut b).unwrap();
        let merged = LibraryDoc::read(&a).unwrap().effect_settings;
        assert_eq!(merged.changes.len(), 1, "both devices' edits kept");
        assert_eq!(merged.criteria.len(), 1);
        assert_eq!(merged.follow_up_offsets.as_deref(), Some("90,365"));
        // An invalid record writes nothing at all.
        let heads = a.get_heads();
        let mut bad = merged.clone();
        bad.follow_up_offsets = Some("365,77".into());
        assert!(set_effect_settings(&mut a, &header, &bad, 4).is_err());
        assert_eq!(a.get_heads(), heads);
        // The server admits the settings from the municipality's library editor.
        let who = Principal {
            user_id: UserId::new(),
            role: Role::Admin,
            team_id: crate::ids::TeamId::new(),
            granted_teams: vec![],
            municipality_id: Some(municipality),
        };
        let actors: std::collections::HashSet<ActorId> = [
            old.get_actor().clone(),
            a.get_actor().clone(),
            b.get_actor().clone(),
        ]
        .into();
        let admitted = admit(
            header.id,
            Some(&stored),
            &a.save(),
            &a.get_heads(),
            &who,
            &actors,
        );
        assert!(admitted.is_ok(), "{:?}", admitted.err());
    }

    #[test]
    fn the_budget_keeps_the_most_important_media() {
        let mut doc = LibraryDoc {
            schema: 1,
            kind: "library".into(),
            exercises: BTreeMap::new(),
            templates: BTreeMap::new(),
            media: BTreeMap::new(),
            effect_settings: StoredSettings::default(),
        };
        let mut first = exercise("m-first-1");
        let mut second = exercise("m-second-2");
        for (byte, size) in [(1, 60), (2, 60), (3, 30)] {
            let m = media(byte, size);
            if byte == 1 {
                first.media.insert(m.sha256.clone(), 1.0);
            } else {
                second.media.insert(m.sha256.clone(), byte as f64);
            }
            doc.media.insert(m.sha256.clone(), m);
        }
        doc.exercises.insert(first.id.clone(), first);
        doc.exercises.insert(second.id.clone(), second);
        let held = BTreeMap::from([(media(9, 5).sha256, 5)]);
        let plan = plan_prefetch(&doc, ["m-first-1", "m-second-2"], &held, 100);
        let fetched: Vec<_> = plan.fetch.iter().map(|m| m.sha256.clone()).collect();
        assert_eq!(fetched, vec![media(1, 0).sha256, media(3, 0).sha256]);
        assert_eq!(plan.skipped_over_budget, vec![media(2, 0).sha256]);
        assert_eq!(plan.evict, vec![media(9, 0).sha256]);
    }
}
