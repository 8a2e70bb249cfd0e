//! Languages, localized strings and the stable ids (slugs) of exercises and templates.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;

/// A language the library can carry text in. Danish is written first; English is required too,
/// Norwegian (Bokmål) and Swedish may be added later without a schema change.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Lang {
    Da,
    En,
    Nb,
    Sv,
}

impl Lang {
    /// Languages every shipped text must have.
    pub const REQUIRED: [Lang; 2] = [Lang::Da, Lang::En];

    /// The language's name in English, for error messages.
    pub fn name(self) -> &'static str {
        match self {
            Lang::Da => "Danish",
            Lang::En => "English",
            Lang::Nb => "Norwegian",
            Lang::Sv => "Swedish",
        }
    }
}

/// A short text in several languages, e.g. a load note `{ da = "1 kg", en = "1 kg" }`.
pub type Localized = BTreeMap<Lang, String>;

/// The text in `lang`, falling back to English and then Danish.
pub fn pick<T>(map: &BTreeMap<Lang, T>, lang: Lang) -> Option<&T> {
    map.get(&lang)
        .or_else(|| map.get(&Lang::En))
        .or_else(|| map.get(&Lang::Da))
}

/// Why a string is not a valid id: said so a content editor can fix it.
fn check_slug(s: &str) -> Result<(), String> {
    let ok_chars = s
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if s.len() < 3
        || s.len() > 48
        || !ok_chars
        || s.starts_with('-')
        || s.ends_with('-')
        || s.contains("--")
    {
        return Err(format!(
            "`{s}` is not a valid id: use 3-48 lowercase letters, digits and single dashes, like `sit-to-stand`"
        ));
    }
    Ok(())
}

macro_rules! slug_type {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            /// The id as written in the files (`sit-to-stand`).
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl TryFrom<String> for $name {
            type Error = String;
            fn try_from(s: String) -> Result<Self, String> {
                check_slug(&s)?;
                Ok(Self(s))
            }
        }

        impl TryFrom<&str> for $name {
            type Error = String;
            fn try_from(s: &str) -> Result<Self, String> {
                Self::try_from(s.to_owned())
            }
        }

        impl From<$name> for String {
            fn from(id: $name) -> String {
                id.0
            }
        }

        impl std::borrow::Borrow<str> for $name {
            fn borrow(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({})", stringify!($name), self.0)
            }
        }
    };
}

slug_type!(
    /// The stable id of a library exercise, e.g. `sit-to-stand`. It is also the file name
    /// (`assets/exercises/sit-to-stand.toml`, `assets/illustrations/sit-to-stand.svg`) and what a
    /// program line stores (`ProgramExercise::exercise_ref`). Once shipped it is never reused or
    /// removed, only retired.
    ExerciseId
);

slug_type!(
    /// The stable id of a program template (skabelon), e.g. `fall-prevention`.
    TemplateId
);
