//! [`LibraryError`]: everything that can be wrong with the shipped library, worded for the
//! content editor who has to fix the TOML file.

use thiserror::Error;

/// A problem found while reading or checking the exercise library.
///
/// `owner` names where the problem is (`exercise sit-to-stand`, `template fall-prevention`,
/// `library.toml`); the message says what to change.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum LibraryError {
    /// The file is not valid TOML or does not match the schema (wrong or unknown field name, a
    /// text where a number belongs, an unknown word in a list…).
    #[error("{file}: cannot be read: {message}")]
    Parse { file: String, message: String },

    /// The file name and the `id` inside it differ.
    #[error("{file}: the file name must be the id followed by .toml, but the id inside is `{id}`")]
    FileName { file: String, id: String },

    /// Two files use the same id.
    #[error("{owner}: the id is used by two files")]
    DuplicateId { owner: String },

    /// A required language (Danish or English) has no text.
    #[error(
        "{owner}: the {language} text is missing; every text needs Danish (da) and English (en)"
    )]
    MissingLanguage {
        owner: String,
        language: &'static str,
    },

    /// A text field is empty, too long or has too few / too many items.
    #[error("{owner}: {field} ({language}) {problem}")]
    Text {
        owner: String,
        language: &'static str,
        field: &'static str,
        problem: String,
    },

    /// The two languages have a different number of steps or points.
    #[error(
        "{owner}: {field} has {da} items in Danish but {en} in English; translate item by item"
    )]
    TranslationMismatch {
        owner: String,
        field: &'static str,
        da: usize,
        en: usize,
    },

    /// A dosage that cannot be carried out as written.
    #[error("{owner}: dosage: {problem}")]
    Dosage { owner: String, problem: String },

    /// A list (equipment, body areas…) that is empty or contradicts itself.
    #[error("{owner}: {field} {problem}")]
    Field {
        owner: String,
        field: &'static str,
        problem: String,
    },

    /// A progression, regression, replacement or template line names an exercise that does not exist.
    #[error("{owner}: {relation} `{target}` does not exist; check the spelling of the id")]
    UnknownExercise {
        owner: String,
        relation: &'static str,
        target: String,
    },

    /// A link points at an exercise that has been retired from the library.
    #[error("{owner}: {relation} `{target}` is retired; link to its replacement instead")]
    RetiredExercise {
        owner: String,
        relation: &'static str,
        target: String,
    },

    /// A progression/regression link that the other exercise does not return.
    #[error(
        "{owner}: lists `{target}` as a {relation}, so `{target}` must list it back as a {expected}"
    )]
    OneWayLink {
        owner: String,
        relation: &'static str,
        target: String,
        expected: &'static str,
    },

    /// A progression that is easier (or regression that is harder) than the exercise itself.
    #[error("{owner}: {relation} `{target}` has difficulty {theirs}, which goes the wrong way from {ours}")]
    LinkDifficulty {
        owner: String,
        relation: &'static str,
        target: String,
        ours: u8,
        theirs: u8,
    },

    /// The exercise has no illustration file next to it.
    #[error("{owner}: the illustration `{file}` is missing; regenerate the illustrations")]
    MissingIllustration { owner: String, file: String },

    /// Pose data that cannot be drawn.
    #[error("{owner}: illustration: {problem}")]
    Illustration { owner: String, problem: String },

    /// The manifest and the files disagree, or the release history breaks the versioning rules.
    #[error("library.toml: {problem}")]
    Manifest { problem: String },

    /// More than one problem; each is listed on its own line.
    #[error("{} problems in the exercise library:\n{}", .0.len(), list(.0))]
    Several(Vec<LibraryError>),
}

fn list(errors: &[LibraryError]) -> String {
    errors
        .iter()
        .map(|e| format!("  - {e}"))
        .collect::<Vec<_>>()
        .join("\n")
}

impl LibraryError {
    /// `Ok` for no problems, the problem itself for one, [`LibraryError::Several`] for more.
    pub fn from_list(mut problems: Vec<LibraryError>) -> Result<(), LibraryError> {
        match problems.len() {
            0 => Ok(()),
            1 => Err(problems.remove(0)),
            _ => Err(LibraryError::Several(problems)),
        }
    }

    /// The individual problems (one for a single error, all of them for [`LibraryError::Several`]).
    pub fn problems(&self) -> Vec<&LibraryError> {
        match self {
            LibraryError::Several(list) => list.iter().collect(),
            other => vec![other],
        }
    }
}
