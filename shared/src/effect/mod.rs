//! Effect measurement (issue #11): the pure rules that turn a course's ordinary records into
//! evidence. No I/O, no storage, no UI; the device and the server both call these.
//!
//! - [`change`]: meaningful-change values per test, the judgement start → end, age/sex norms
//!   and published cut-offs;
//! - [`who5`]: the WHO-5 items (Danish and English) and their score;
//! - [`plan`]: a course's test plan and which tests are due or missing;
//! - [`goals`]: goal attainment at the end of a course;
//! - [`care_time`]: granted home-care minutes before and after a course, and its follow-ups;
//! - [`import`]: parsing and planning an import of care-time grants from a CSV file;
//! - [`screening`]: inclusion criteria and the outcome of a referral's screening.
//! - [`settings`]: the municipality's overrides of the above and their resolution;
//! - [`summary`]: a course's tests paired start → end, judged and placed against norms.
//!
//! Dates in the data types are `time::Date`, serialised as ISO `YYYY-MM-DD` strings like the
//! rest of the model.

pub mod care_time;
pub mod change;
pub mod goals;
pub mod import;
pub mod plan;
pub mod screening;
pub mod settings;
pub mod summary;
pub mod who5;

/// Why an effect rule could not give an answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EffectError {
    #[error("`{0}` is not a test in the assessment catalogue")]
    UnknownTest(String),
    #[error(
        "`{0}` cannot be delegated to an assistant: only physical tests measured on a visit can"
    )]
    NotDelegable(String),
    #[error("`{0}` is delegated but not planned in any phase")]
    DelegatedNotPlanned(String),
    #[error("no meaningful-change value is known for `{0}`, so a change cannot be judged")]
    NoMeaningfulChange(String),
    #[error("a meaningful change must be a positive number, got {0}")]
    BadMeaningfulChange(String),
    #[error("the care-time file is empty")]
    EmptyFile,
    #[error("the care-time file's header has no `{0}` column")]
    MissingColumn(&'static str),
    #[error("the care-time file's header is separated neither by `;` nor by `,`")]
    UnknownSeparator,
    #[error("the care-time file's header is not readable: {0}")]
    BadHeader(String),
}

/// A date as the model writes dates: ISO `YYYY-MM-DD`.
pub fn iso(d: time::Date) -> String {
    iso_date::format(d)
}

/// Serde for `time::Date` as an ISO `YYYY-MM-DD` string.
pub(crate) mod iso_date {
    use serde::{Deserialize, Deserializer, Serializer};

    const ISO: &[time::format_description::BorrowedFormatItem<'static>] =
        time::macros::format_description!("[year]-[month]-[day]");

    pub fn format(d: time::Date) -> String {
        d.format(ISO).unwrap_or_default()
    }

    pub fn serialize<S: Serializer>(d: &time::Date, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format(*d))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<time::Date, D::Error> {
        let s = String::deserialize(d)?;
        crate::model::parse_date(&s).map_err(serde::de::Error::custom)
    }
}
