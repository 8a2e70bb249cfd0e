//! The shipped exercise library (øvelsesbibliotek) and program templates (skabeloner).
//!
//! The content is data, not code: `assets/exercises/<id>.toml`, `assets/templates/<id>.toml`
//! and `assets/library.toml` (see `docs/exercise-library.md`). This module is the one schema,
//! parser and validator for those files, and the generator of their illustrations. It does no
//! I/O: callers hand it the file contents (the app embeds them, the tests read them).
//!
//! - [`Exercise`]: one exercise — [`Category`], [`Position`], [`Equipment`], [`BodyArea`],
//!   [`Difficulty`], progression/regression links, default [`Dosage`], [`ExerciseText`] per
//!   [`Lang`], and the [`Illustration`] poses.
//! - [`Template`]: a program template — legal basis, [`CourseFrame`], ordered [`TemplateEntry`]s.
//! - [`LibraryManifest`]: library version, general safety rules and the release history that
//!   keeps ids stable (added once, corrected with a version bump, retired but never removed).
//! - [`Library`]: all of it together; [`Library::check`] validates every file and every
//!   cross-reference and reports all problems at once as a [`LibraryError`].
//! - [`search::SearchIndex`]: text search and filters as the therapist types;
//!   [`Library::draft_from_template`]: a template as a course draft with program lines.
//! - [`Library::lint`]: the library read as a clinician reads it — cautions where the movement
//!   carries a risk, every template goal served by a line.
//! - [`render_svg`]: pose data → an animated SVG (pure; the committed SVGs are its output).
//!
//! ```
//! use homerehab_shared::library::{Exercise, render_svg};
//! # let src = include_str!("../../../assets/exercises/sit-to-stand.toml");
//! let exercise = Exercise::from_toml("sit-to-stand.toml", src).unwrap();
//! exercise.validate().unwrap();
//! assert!(render_svg(&exercise.illustration).starts_with("<svg"));
//! ```

pub mod apply;
mod dosage;
mod error;
mod exercise;
mod labels;
pub mod lint;
mod manifest;
mod pose;
pub mod search;
mod svg;
mod template;
mod text;

pub use dosage::{Amount, Dosage, Side};
pub use error::LibraryError;
pub use exercise::{
    BodyArea, Category, Difficulty, Equipment, Exercise, ExerciseText, Position, ProgrammeLevel,
    Status, REFERENCES_MAX,
};
pub use labels::Tag;
pub use manifest::{Changes, IdHistory, LibraryManifest, Release, SCHEMA_VERSION};
pub use pose::{
    Figure, Foreshorten, Illustration, Joint, Point, Pose, Prop, RouteShape, Stance, View, CANVAS,
};
pub use svg::{render_still, render_svg};
pub use template::{CourseFrame, Template, TemplateEntry, TemplateText, LINES_MAX};
pub use text::{pick, ExerciseId, Lang, Localized, TemplateId};

use std::collections::{BTreeMap, BTreeSet};

/// The whole shipped library: manifest, exercises and templates, keyed by id.
#[derive(Clone, Debug, PartialEq)]
pub struct Library {
    pub manifest: LibraryManifest,
    pub exercises: BTreeMap<ExerciseId, Exercise>,
    pub templates: BTreeMap<TemplateId, Template>,
}

impl Library {
    /// Parses `library.toml` and every exercise and template file, given as
    /// `(file name, contents)`. The file name must be `<id>.toml`. Reports every file that
    /// cannot be read, not just the first.
    pub fn parse<'a>(
        manifest: &str,
        exercise_files: impl IntoIterator<Item = (&'a str, &'a str)>,
        template_files: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<Library, LibraryError> {
        let mut problems = Vec::new();
        let manifest = LibraryManifest::from_toml(manifest)
            .map_err(|e| problems.push(e))
            .ok();
        let exercises = parse_all(
            exercise_files,
            Exercise::from_toml,
            |e| &e.id,
            &mut problems,
        );
        let templates = parse_all(
            template_files,
            Template::from_toml,
            |t| &t.id,
            &mut problems,
        );
        LibraryError::from_list(problems)?;
        Ok(Library {
            manifest: manifest.expect("no problems means the manifest parsed"),
            exercises,
            templates,
        })
    }

    /// Validates every file on its own and the library as a whole: links and template lines
    /// resolve, links go both ways and in the right direction of difficulty, the manifest's
    /// history matches the files, and every exercise has its illustration among
    /// `illustration_files` (file names like `sit-to-stand.svg`) — and no illustration is left
    /// over.
    pub fn check(&self, illustration_files: &BTreeSet<String>) -> Result<(), LibraryError> {
        let mut out = Vec::new();
        self.manifest.check(&mut out);
        for e in self.exercises.values() {
            e.check(&mut out);
            self.check_links(e, &mut out);
            if !illustration_files.contains(&e.illustration_file()) {
                out.push(LibraryError::MissingIllustration {
                    owner: e.owner(),
                    file: e.illustration_file(),
                });
            }
        }
        for file in illustration_files {
            let id = file.strip_suffix(".svg").unwrap_or(file);
            if !self.exercises.contains_key(id) {
                out.push(LibraryError::Manifest {
                    problem: format!("the illustration `{file}` belongs to no exercise; delete it"),
                });
            }
        }
        for t in self.templates.values() {
            t.check(&mut out);
            self.check_template(t, &mut out);
        }
        self.check_history(&mut out);
        LibraryError::from_list(out)
    }

    /// An exercise by id (active or retired).
    pub fn exercise(&self, id: &str) -> Option<&Exercise> {
        self.exercises.get(id)
    }

    /// The exercise a program should show for `id`: the exercise itself, or for a retired one
    /// the end of its `replaced_by` chain if the caller wants a suggestion.
    pub fn current(&self, id: &str) -> Option<&Exercise> {
        let mut e = self.exercises.get(id)?;
        for _ in 0..self.exercises.len() {
            match (&e.status, &e.replaced_by) {
                (Status::Retired, Some(next)) => e = self.exercises.get(next.as_str())?,
                _ => break,
            }
        }
        Some(e)
    }

    /// Exercises offered for new programs.
    pub fn active_exercises(&self) -> impl Iterator<Item = &Exercise> {
        self.exercises
            .values()
            .filter(|e| e.status == Status::Active)
    }

    fn check_links(&self, e: &Exercise, out: &mut Vec<LibraryError>) {
        let owner = e.owner();
        let ours = e.difficulty.get();
        let relations = [
            ("progression", &e.progressions, "regression"),
            ("regression", &e.regressions, "progression"),
        ];
        for (relation, links, expected) in relations {
            for target in links {
                let Some(other) = self.exercises.get(target) else {
                    out.push(LibraryError::UnknownExercise {
                        owner: owner.clone(),
                        relation,
                        target: target.to_string(),
                    });
                    continue;
                };
                if e.status == Status::Active && other.status == Status::Retired {
                    out.push(LibraryError::RetiredExercise {
                        owner: owner.clone(),
                        relation,
                        target: target.to_string(),
                    });
                }
                let back = if relation == "progression" {
                    &other.regressions
                } else {
                    &other.progressions
                };
                if !back.contains(&e.id) {
                    out.push(LibraryError::OneWayLink {
                        owner: owner.clone(),
                        relation,
                        target: target.to_string(),
                        expected,
                    });
                }
                let theirs = other.difficulty.get();
                if (relation == "progression" && theirs < ours)
                    || (relation == "regression" && theirs > ours)
                {
                    out.push(LibraryError::LinkDifficulty {
                        owner: owner.clone(),
                        relation,
                        target: target.to_string(),
                        ours,
                        theirs,
                    });
                }
            }
        }
        let linked = !e.progressions.is_empty() || !e.regressions.is_empty();
        match (&e.standalone, linked) {
            (None, false) if e.status == Status::Active => out.push(LibraryError::Field {
                owner: owner.clone(),
                field: "progressions",
                problem: "and regressions are both empty: link the same movement made easier or harder, or say why there is none with `standalone = \"…\"`".into(),
            }),
            (Some(_), true) => out.push(LibraryError::Field {
                owner: owner.clone(),
                field: "standalone",
                problem: "is set but the exercise is linked; remove it".into(),
            }),
            _ => {}
        }
        if let Some(r) = &e.replaced_by {
            if !self.exercises.contains_key(r) {
                out.push(LibraryError::UnknownExercise {
                    owner,
                    relation: "replaced_by",
                    target: r.to_string(),
                });
            }
        }
    }

    fn check_template(&self, t: &Template, out: &mut Vec<LibraryError>) {
        let owner = t.owner();
        let mut seconds = 0;
        for entry in &t.exercises {
            match self.exercises.get(&entry.exercise) {
                None => out.push(LibraryError::UnknownExercise {
                    owner: owner.clone(),
                    relation: "exercise",
                    target: entry.exercise.to_string(),
                }),
                Some(e) if e.status == Status::Retired && t.status == Status::Active => {
                    out.push(LibraryError::RetiredExercise {
                        owner: owner.clone(),
                        relation: "exercise",
                        target: entry.exercise.to_string(),
                    })
                }
                Some(_) if entry.between_sessions => {}
                Some(e) => seconds += entry.dosage_or(&e.dosage).minimum_seconds(),
            }
        }
        let available = u32::from(t.frame.minutes_per_session) * 60;
        if seconds > available {
            out.push(LibraryError::Field {
                owner,
                field: "exercises",
                problem: format!(
                    "need at least {} minutes at the low end of their doses, but a session is {} minutes",
                    seconds.div_ceil(60),
                    t.frame.minutes_per_session
                ),
            });
        }
    }

    /// The manifest's history must describe exactly the files present, with matching versions.
    fn check_history(&self, out: &mut Vec<LibraryError>) {
        let mut bad = |problem: String| out.push(LibraryError::Manifest { problem });
        // Per kind: id → (version, status) of the files present.
        type Files<'a> = BTreeMap<&'a str, (u32, Status)>;
        let files: [(&str, Files); 2] = [
            (
                "exercise",
                self.exercises
                    .values()
                    .map(|e| (e.id.as_str(), (e.version, e.status)))
                    .collect(),
            ),
            (
                "template",
                self.templates
                    .values()
                    .map(|t| (t.id.as_str(), (t.version, t.status)))
                    .collect(),
            ),
        ];
        for (templates, (kind, files)) in [false, true].into_iter().zip(files) {
            let history = self.manifest.history(templates);
            for (id, h) in &history {
                match files.get(id.as_str()) {
                    None => bad(format!("{kind} `{id}` was shipped and its file is gone; ids are never removed, retire it instead")),
                    Some(&(version, status)) => {
                        if version != h.version {
                            bad(format!(
                                "{kind} `{id}` has version {version}, but the releases add it and correct it {} time(s), so it must be {}",
                                h.version - 1,
                                h.version
                            ));
                        }
                        if (status == Status::Retired) != h.retired {
                            bad(format!("{kind} `{id}`: its status and the releases' `retired` lists disagree"));
                        }
                    }
                }
            }
            for id in files.keys() {
                if !history.contains_key(*id) {
                    bad(format!("{kind} `{id}` is in no release; add it to the `added` list of the next release"));
                }
            }
        }
    }
}

/// Parses every `(file name, contents)` with `parse`, keyed by `id`; collects the problems.
fn parse_all<'a, T, K: Ord + Clone + std::fmt::Display>(
    files: impl IntoIterator<Item = (&'a str, &'a str)>,
    parse: impl Fn(&str, &str) -> Result<T, LibraryError>,
    id: impl Fn(&T) -> &K,
    problems: &mut Vec<LibraryError>,
) -> BTreeMap<K, T> {
    let mut map = BTreeMap::new();
    for (file, src) in files {
        let item = match parse(file, src) {
            Ok(item) => item,
            Err(e) => {
                problems.push(e);
                continue;
            }
        };
        let key = id(&item).clone();
        if file.strip_suffix(".toml") != Some(&key.to_string()) {
            problems.push(LibraryError::FileName {
                file: file.to_owned(),
                id: key.to_string(),
            });
        }
        if map.contains_key(&key) {
            problems.push(LibraryError::DuplicateId {
                owner: format!("{file} ({key})"),
            });
        }
        map.insert(key, item);
    }
    map
}
