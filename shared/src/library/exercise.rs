//! [`Exercise`]: one library exercise (øvelse) with its classification, default dose, text in
//! each language and the pose data its illustration is drawn from.

use super::dosage::Dosage;
use super::pose::Illustration;
use super::text::{ExerciseId, Lang};
use super::LibraryError;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// Whether an exercise or template is offered for new programs. A retired one keeps its file
/// and id so programs that already use it keep working; it is only hidden from pickers.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    #[default]
    Active,
    Retired,
}

/// What the exercise trains; the library is browsed by these groups.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    /// Styrke.
    Strength,
    /// Balance.
    Balance,
    /// Bevægelighed.
    Mobility,
    /// Forflytning: bed, chair, toilet, floor.
    Transfer,
    /// Gang og kondition.
    GaitEndurance,
    /// Overkrop og skulder.
    UpperBody,
    /// Vejrtrækning.
    Breathing,
}

/// Starting position (udgangsstilling).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Position {
    /// Liggende (in bed or on the floor).
    Lying,
    /// Siddende.
    Sitting,
    /// Stående.
    Standing,
    /// Knælende (floor-rise practice).
    Kneeling,
}

/// What must be at hand in the citizen's home (hjælpemiddel / redskab).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Equipment {
    /// Nothing; must then be the only entry.
    None,
    /// A sturdy chair, preferably with armrests.
    Chair,
    /// A kitchen counter or other fixed support at hip height.
    Counter,
    /// A free piece of wall.
    Wall,
    Bed,
    /// Elastik.
    ElasticBand,
    /// Håndvægte or manchetvægte (ankle cuffs).
    Weights,
    /// Rollator.
    Walker,
    /// Stok.
    Cane,
    /// A stair or step with a rail.
    Stairs,
    /// A rolled towel, a cushion or a mat.
    Towel,
}

/// The main body area worked.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BodyArea {
    Hip,
    Knee,
    AnkleFoot,
    Trunk,
    Shoulder,
    ArmHand,
    Neck,
    Chest,
    WholeBody,
}

/// How demanding the exercise is, 1 (easiest, for the frailest) to 5.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "u8", into = "u8")]
pub struct Difficulty(u8);

impl Difficulty {
    pub fn get(self) -> u8 {
        self.0
    }
}

impl TryFrom<u8> for Difficulty {
    type Error = String;
    fn try_from(n: u8) -> Result<Self, String> {
        if (1..=5).contains(&n) {
            Ok(Self(n))
        } else {
            Err(format!(
                "difficulty must be 1 (easiest) to 5 (hardest), not {n}"
            ))
        }
    }
}

impl From<Difficulty> for u8 {
    fn from(d: Difficulty) -> u8 {
        d.0
    }
}

/// The text of an exercise in one language, shown to the home-care assistant and citizen.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExerciseText {
    /// Short name (titel), e.g. "Rejse-sætte-sig".
    pub title: String,
    /// One sentence: what the exercise is for.
    pub summary: String,
    /// Numbered steps, short enough to read at arm's length.
    pub steps: Vec<String>,
    /// What to look for (fokuspunkter).
    pub key_points: Vec<String>,
    /// Frequent mistakes and how to correct them (typiske fejl).
    pub common_errors: Vec<String>,
    /// Exercise-specific safety (sikkerhed); general rules live in `library.toml`.
    pub safety: Vec<String>,
}

/// One item and level of a published exercise programme, e.g. Otago's
/// `{ name = "otago", item = "calf-raises", level = "no support" }`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProgrammeLevel {
    /// The programme, lower case: `otago`.
    pub name: String,
    /// The programme's exercise, lower case with dashes: `calf-raises`.
    pub item: String,
    /// The level as the programme names it: `support`, `no support`, `ankle weight`…
    pub level: String,
}

/// One library exercise, read from `assets/exercises/<id>.toml`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Exercise {
    pub id: ExerciseId,
    /// Content version: 1 when added, +1 for every correction listed in `library.toml`.
    pub version: u32,
    #[serde(default)]
    pub status: Status,
    /// For a retired exercise: what to use instead.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replaced_by: Option<ExerciseId>,
    pub category: Category,
    pub position: Position,
    pub equipment: Vec<Equipment>,
    pub body_areas: Vec<BodyArea>,
    pub difficulty: Difficulty,
    /// Harder next steps, easiest first.
    #[serde(default)]
    pub progressions: Vec<ExerciseId>,
    /// Easier fall-backs, hardest first.
    #[serde(default)]
    pub regressions: Vec<ExerciseId>,
    /// Why the exercise has no progression and no regression: nothing else in the library is
    /// the same movement made easier or harder. Required exactly when both lists are empty
    /// ([`super::Library::check`]), so a chain is never forgotten silently.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub standalone: Option<String>,
    /// The published programme this exercise is one item and level of (Otago's calf raises
    /// without support), so a programme can be checked complete and a template can follow it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub programme: Option<ProgrammeLevel>,
    /// Other words a therapist may type for it — an earlier title, a colloquial or English
    /// name ("armbøj", "biceps") — found by the search but never shown.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub search_words: Vec<String>,
    /// Where the exercise comes from, cited as written (author, title, year), without links;
    /// required with `programme`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub references: Vec<String>,
    pub dosage: Dosage,
    pub text: BTreeMap<Lang, ExerciseText>,
    pub illustration: Illustration,
}

/// Limits that keep text readable on a tablet held at arm's length.
pub(crate) const TITLE_MAX: usize = 48;
pub(crate) const SUMMARY_MAX: usize = 200;
pub(crate) const LINE_MAX: usize = 160;

/// At most this many references per template or exercise.
pub const REFERENCES_MAX: usize = 4;

impl Exercise {
    /// Reads one exercise file. `file` is only used in the error message.
    pub fn from_toml(file: &str, src: &str) -> Result<Self, LibraryError> {
        toml::from_str(src).map_err(|e| LibraryError::Parse {
            file: file.to_owned(),
            message: e.message().to_owned(),
        })
    }

    /// The file the illustration lives in, under `assets/illustrations/`.
    pub fn illustration_file(&self) -> String {
        format!("{}.svg", self.id)
    }

    /// The text in `lang`, falling back to English then Danish.
    pub fn text(&self, lang: Lang) -> &ExerciseText {
        super::text::pick(&self.text, lang)
            .expect("a validated exercise has Danish and English text")
    }

    /// Checks this exercise on its own (links to other exercises are checked by
    /// [`super::Library::check`]).
    pub fn validate(&self) -> Result<(), LibraryError> {
        let mut out = Vec::new();
        self.check(&mut out);
        LibraryError::from_list(out)
    }

    pub(crate) fn owner(&self) -> String {
        format!("exercise {}", self.id)
    }

    pub(crate) fn check(&self, out: &mut Vec<LibraryError>) {
        let owner = self.owner();
        let field = |field: &'static str, problem: &str| LibraryError::Field {
            owner: owner.clone(),
            field,
            problem: problem.to_owned(),
        };
        if self.version == 0 {
            out.push(field("version", "starts at 1"));
        }
        match (self.status, &self.replaced_by) {
            (Status::Active, Some(_)) => {
                out.push(field("replaced_by", "is only for retired exercises"))
            }
            (Status::Retired, Some(r)) if *r == self.id => {
                out.push(field("replaced_by", "cannot be the exercise itself"))
            }
            _ => {}
        }
        if self.equipment.is_empty() {
            out.push(field(
                "equipment",
                "is empty; write [\"none\"] if nothing is needed",
            ));
        } else if self.equipment.len() > 1 && self.equipment.contains(&super::Equipment::None) {
            out.push(field(
                "equipment",
                "lists \"none\" together with other equipment",
            ));
        }
        if has_duplicates(&self.equipment) {
            out.push(field("equipment", "lists the same thing twice"));
        }
        if self.body_areas.is_empty() {
            out.push(field("body_areas", "is empty"));
        }
        if has_duplicates(&self.body_areas) {
            out.push(field("body_areas", "lists the same area twice"));
        }
        for (name, links) in [
            ("progressions", &self.progressions),
            ("regressions", &self.regressions),
        ] {
            if links.contains(&self.id) {
                out.push(field(name, "links the exercise to itself"));
            }
            if has_duplicates(links) {
                out.push(field(name, "lists the same exercise twice"));
            }
        }
        if self
            .progressions
            .iter()
            .any(|p| self.regressions.contains(p))
        {
            out.push(field("progressions", "share an exercise with regressions"));
        }
        if self
            .standalone
            .as_deref()
            .is_some_and(|r| r.trim().is_empty())
        {
            out.push(field("standalone", "is empty; say why nothing links to it"));
        }
        if let Some(p) = &self.programme {
            let lower = |s: &str| {
                !s.is_empty()
                    && s.chars()
                        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || " -,".contains(c))
            };
            if !lower(&p.name) || !lower(&p.item) || !lower(&p.level) {
                out.push(field(
                    "programme",
                    "name, item and level are lower case words, e.g. { name = \"otago\", item = \"calf-raises\", level = \"no support\" }",
                ));
            }
            if self.references.is_empty() {
                out.push(field(
                    "references",
                    "is empty; an exercise from a programme cites it",
                ));
            }
        }
        check_references(&owner, &self.references, out);
        self.dosage.check(&owner, out);
        check_texts(&owner, &self.text, out);
        self.illustration.check(&owner, out);
    }
}

pub(crate) fn has_duplicates<T: Ord>(items: &[T]) -> bool {
    items.iter().collect::<BTreeSet<_>>().len() != items.len()
}

fn check_texts(owner: &str, texts: &BTreeMap<Lang, ExerciseText>, out: &mut Vec<LibraryError>) {
    for lang in Lang::REQUIRED {
        if !texts.contains_key(&lang) {
            out.push(LibraryError::MissingLanguage {
                owner: owner.to_owned(),
                language: lang.name(),
            });
        }
    }
    for (lang, t) in texts {
        let language = lang.name();
        check_line(owner, language, "title", &t.title, TITLE_MAX, out);
        check_line(owner, language, "summary", &t.summary, SUMMARY_MAX, out);
        check_lines(owner, language, "steps", &t.steps, 2..=8, out);
        check_lines(owner, language, "key_points", &t.key_points, 1..=5, out);
        check_lines(
            owner,
            language,
            "common_errors",
            &t.common_errors,
            1..=5,
            out,
        );
        check_lines(owner, language, "safety", &t.safety, 1..=5, out);
    }
    if let (Some(da), Some(en)) = (texts.get(&Lang::Da), texts.get(&Lang::En)) {
        for (field, a, b) in [
            ("steps", &da.steps, &en.steps),
            ("key_points", &da.key_points, &en.key_points),
            ("common_errors", &da.common_errors, &en.common_errors),
            ("safety", &da.safety, &en.safety),
        ] {
            if a.len() != b.len() {
                out.push(LibraryError::TranslationMismatch {
                    owner: owner.to_owned(),
                    field,
                    da: a.len(),
                    en: b.len(),
                });
            }
        }
    }
}

pub(crate) fn check_line(
    owner: &str,
    language: &'static str,
    field: &'static str,
    value: &str,
    max: usize,
    out: &mut Vec<LibraryError>,
) {
    let problem = if value.trim().is_empty() {
        Some("is empty".to_owned())
    } else if value.chars().count() > max {
        Some(format!(
            "is {} characters; keep it to {max}",
            value.chars().count()
        ))
    } else if value.trim() != value || value.contains('\n') {
        Some("has leading/trailing spaces or a line break".to_owned())
    } else {
        None
    };
    if let Some(problem) = problem {
        out.push(LibraryError::Text {
            owner: owner.to_owned(),
            language,
            field,
            problem,
        });
    }
}

pub(crate) fn check_lines(
    owner: &str,
    language: &'static str,
    field: &'static str,
    values: &[String],
    count: std::ops::RangeInclusive<usize>,
    out: &mut Vec<LibraryError>,
) {
    if !count.contains(&values.len()) {
        let problem = format!(
            "has {} items; write {} to {}",
            values.len(),
            count.start(),
            count.end()
        );
        out.push(LibraryError::Text {
            owner: owner.to_owned(),
            language,
            field,
            problem,
        });
    }
    for v in values {
        check_line(owner, language, field, v, LINE_MAX, out);
    }
}

/// Each reference is a citation (author, title, year) of at most [`SUMMARY_MAX`] characters,
/// without links, and none is listed twice; at most [`REFERENCES_MAX`] of them.
pub(crate) fn check_references(owner: &str, references: &[String], out: &mut Vec<LibraryError>) {
    let field = |problem: String| LibraryError::Field {
        owner: owner.to_owned(),
        field: "references",
        problem,
    };
    if references.len() > REFERENCES_MAX {
        out.push(field(format!(
            "has {} items; cite at most {REFERENCES_MAX}",
            references.len()
        )));
    }
    for reference in references {
        check_line(owner, "citation", "references", reference, SUMMARY_MAX, out);
        if reference.contains("://") || reference.contains("www.") {
            out.push(field(format!(
                "`{reference}`: cite author, title and year; links go stale"
            )));
        }
    }
    if has_duplicates(references) {
        out.push(field("lists the same source twice".into()));
    }
}
