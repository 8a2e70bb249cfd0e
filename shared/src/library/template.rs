//! [`Template`]: a ready-made program (skabelon) a therapist starts a course from — a course
//! frame and an ordered list of library exercises with their dose.

use super::dosage::Dosage;
use super::exercise::{
    check_line, check_lines, check_references, Status, LINE_MAX, REFERENCES_MAX, SUMMARY_MAX,
    TITLE_MAX,
};
use super::text::{ExerciseId, Lang, Localized, TemplateId};
use super::LibraryError;
use crate::model::LegalBasis;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// The default frame of a course started from a template (forløbsramme).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CourseFrame {
    pub weeks: u8,
    pub sessions_per_week: u8,
    pub minutes_per_session: u16,
}

/// A template's title, description and typical goals in one language.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TemplateText {
    pub title: String,
    /// Who the template is for and how it is meant to be used.
    pub description: String,
    /// Typical goals (mål) the therapist adapts to the citizen.
    pub goals: Vec<String>,
}

/// One line of a template: an exercise and, if it differs from the exercise's default, its dose.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TemplateEntry {
    pub exercise: ExerciseId,
    /// Overrides the exercise's default dose for this template.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dosage: Option<Dosage>,
    /// A hint for this template (e.g. "as warm-up").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<Localized>,
    /// Done on the days between the sessions, not in them (Otago's walking plan), so it does
    /// not count towards `minutes_per_session`; its note says how often.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub between_sessions: bool,
}

/// A program template, read from `assets/templates/<id>.toml`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Template {
    pub id: TemplateId,
    pub version: u32,
    #[serde(default)]
    pub status: Status,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replaced_by: Option<TemplateId>,
    /// The law the course is usually granted under, e.g. "SEL §83a" (see [`LegalBasis::KNOWN`]).
    pub legal_basis: LegalBasis,
    pub frame: CourseFrame,
    pub text: BTreeMap<Lang, TemplateText>,
    /// In the order they are done in a session.
    pub exercises: Vec<TemplateEntry>,
    /// The tests a course from this template measures (issue #11); without one, the
    /// municipality's default or the shipped one ([`crate::effect::plan::plan_for_new_course`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub test_plan: Option<crate::effect::plan::TestPlan>,
    /// Where the content comes from (kilder): the programmes, guidelines and reviews the
    /// exercises, doses and frame follow, cited as written (author or publisher, title, year),
    /// without links. Required for every shipped template ([`Template::check`]: 1 to
    /// [`REFERENCES_MAX`]); a municipality's own template has none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub references: Vec<String>,
}

/// At most this many lines per template: Otago's 12 starting exercises, a warm-up and its
/// walking plan fit, with room for one more.
pub const LINES_MAX: usize = 15;

impl TemplateEntry {
    /// The dose of this line: its own, or else the exercise's default.
    pub fn dosage_or<'a>(&'a self, exercise_default: &'a Dosage) -> &'a Dosage {
        self.dosage.as_ref().unwrap_or(exercise_default)
    }
}

impl Template {
    /// Reads one template file. `file` is only used in the error message.
    pub fn from_toml(file: &str, src: &str) -> Result<Self, LibraryError> {
        toml::from_str(src).map_err(|e| LibraryError::Parse {
            file: file.to_owned(),
            message: e.message().to_owned(),
        })
    }

    /// Checks this template on its own (that its exercises exist is checked by
    /// [`super::Library::check`]).
    pub fn validate(&self) -> Result<(), LibraryError> {
        let mut out = Vec::new();
        self.check(&mut out);
        LibraryError::from_list(out)
    }

    pub(crate) fn owner(&self) -> String {
        format!("template {}", self.id)
    }

    pub(crate) fn check(&self, out: &mut Vec<LibraryError>) {
        let owner = self.owner();
        let field = |field: &'static str, problem: String| LibraryError::Field {
            owner: owner.clone(),
            field,
            problem,
        };
        if self.version == 0 {
            out.push(field("version", "starts at 1".into()));
        }
        if self.status == Status::Active && self.replaced_by.is_some() {
            out.push(field("replaced_by", "is only for retired templates".into()));
        }
        let basis = self.legal_basis.0.as_str();
        if !["SEL §", "Sundhedsloven §", "Ældreloven"]
            .iter()
            .any(|p| basis.starts_with(p))
        {
            out.push(field(
                "legal_basis",
                format!("`{basis}` should name the law, e.g. \"SEL §83a\", \"SEL §86 stk. 2\", \"Sundhedsloven §140\""),
            ));
        }
        if let Some(Err(e)) = self.test_plan.as_ref().map(|p| p.check()) {
            out.push(field("test_plan", e.to_string()));
        }
        let f = self.frame;
        if !(1..=26).contains(&f.weeks) {
            out.push(field(
                "frame.weeks",
                format!("must be 1-26, not {}", f.weeks),
            ));
        }
        if !(1..=7).contains(&f.sessions_per_week) {
            out.push(field(
                "frame.sessions_per_week",
                format!("must be 1-7, not {}", f.sessions_per_week),
            ));
        }
        if !(5..=90).contains(&f.minutes_per_session) {
            out.push(field(
                "frame.minutes_per_session",
                format!("must be 5-90, not {}", f.minutes_per_session),
            ));
        }
        if !(3..=LINES_MAX).contains(&self.exercises.len()) {
            out.push(field(
                "exercises",
                format!(
                    "has {} lines; a template needs 3 to {LINES_MAX}",
                    self.exercises.len()
                ),
            ));
        }
        let ids: BTreeSet<_> = self.exercises.iter().map(|e| &e.exercise).collect();
        if ids.len() != self.exercises.len() {
            out.push(field("exercises", "lists the same exercise twice".into()));
        }
        for entry in &self.exercises {
            let line_owner = format!("{owner}, line {}", entry.exercise);
            if let Some(d) = &entry.dosage {
                d.check(&line_owner, out);
            }
            if entry.between_sessions && entry.note.is_none() {
                out.push(LibraryError::Field {
                    owner: line_owner.clone(),
                    field: "note",
                    problem: "is missing; a line done between sessions says when and how often"
                        .into(),
                });
            }
            if let Some(note) = &entry.note {
                for lang in Lang::REQUIRED {
                    match note.get(&lang) {
                        Some(n) => check_line(&line_owner, lang.name(), "note", n, LINE_MAX, out),
                        None => out.push(LibraryError::MissingLanguage {
                            owner: line_owner.clone(),
                            language: lang.name(),
                        }),
                    }
                }
            }
        }
        if self.references.is_empty() {
            out.push(field(
                "references",
                format!(
                    "has {} items; cite 1 to {REFERENCES_MAX} sources the template follows, e.g. \"Campbell AJ, Robertson MC. Otago Exercise Programme to prevent falls in older adults. ACC, 2003.\"",
                    self.references.len()
                ),
            ));
        }
        check_references(&owner, &self.references, out);
        for lang in Lang::REQUIRED {
            if !self.text.contains_key(&lang) {
                out.push(LibraryError::MissingLanguage {
                    owner: owner.clone(),
                    language: lang.name(),
                });
            }
        }
        for (lang, t) in &self.text {
            check_line(&owner, lang.name(), "title", &t.title, TITLE_MAX, out);
            check_line(
                &owner,
                lang.name(),
                "description",
                &t.description,
                SUMMARY_MAX * 2,
                out,
            );
            check_lines(&owner, lang.name(), "goals", &t.goals, 1..=5, out);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SRC: &str = r#"id = "tpl"
version = 1
legal_basis = "SEL §83a"
references = ["Campbell AJ, Robertson MC. Otago Exercise Programme to prevent falls in older adults. Wellington: ACC, 2003."]

[frame]
weeks = 10
sessions_per_week = 2
minutes_per_session = 20

[text.da]
title = "T"
description = "En skabelon."
goals = ["Rejse sig selv."]

[text.en]
title = "T"
description = "A template."
goals = ["Get up unaided."]

[[exercises]]
exercise = "a-one"

[[exercises]]
exercise = "a-two"

[[exercises]]
exercise = "a-three"
"#;

    fn reference_problems(src: &str) -> Vec<String> {
        let t = Template::from_toml("tpl.toml", src).unwrap();
        let mut out = Vec::new();
        t.check(&mut out);
        out.iter()
            .map(|e| e.to_string())
            .filter(|e| e.contains("references"))
            .collect()
    }

    #[test]
    fn references_are_read_and_required() {
        let t = Template::from_toml("tpl.toml", SRC).unwrap();
        assert_eq!(t.references.len(), 1);
        assert!(t.validate().is_ok(), "{:?}", t.validate());
        let without = SRC.replace("references = [", "# references = [");
        let problems = reference_problems(&without);
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(problems[0].contains("cite 1 to 4"), "{problems:?}");
    }

    #[test]
    fn a_reference_is_a_citation_not_a_link_nor_an_essay() {
        let link = SRC.replace("references = [", "references = [\"www.example.org\", ");
        assert_eq!(reference_problems(&link).len(), 1);
        let long = SRC.replace(
            "references = [",
            &format!("references = [\"{}\", ", "x".repeat(201)),
        );
        assert_eq!(reference_problems(&long).len(), 1);
        let twice = SRC.replace(
            "references = [\"Campbell",
            "references = [\"A 2001.\", \"A 2001.\", \"Campbell",
        );
        assert_eq!(reference_problems(&twice).len(), 1);
    }
}
