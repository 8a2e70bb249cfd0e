//! [`Dosage`]: how much of an exercise — sets × repetitions or seconds, hold, rest, side, load.

use super::text::{pick, Lang, Localized};
use super::LibraryError;
use crate::model;
pub use crate::model::Side;
use serde::{Deserialize, Serialize};
use std::fmt;

/// A number or an inclusive range the therapist picks from: `10` or `[8, 12]` in TOML.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged, expecting = "a whole number like 10 or a range like [8, 12]")]
pub enum Amount {
    Exact(u16),
    Range([u16; 2]),
}

impl Amount {
    /// The lower end (the value itself for an exact amount).
    pub fn min(self) -> u16 {
        match self {
            Amount::Exact(n) => n,
            Amount::Range([a, _]) => a,
        }
    }

    /// The upper end (the value itself for an exact amount).
    pub fn max(self) -> u16 {
        match self {
            Amount::Exact(n) => n,
            Amount::Range([_, b]) => b,
        }
    }
}

impl fmt::Display for Amount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Amount::Exact(n) => write!(f, "{n}"),
            Amount::Range([a, b]) => write!(f, "{a}–{b}"),
        }
    }
}

/// The default dose of a library exercise or a template line (dosering): `3 × 8–12`,
/// `3 × hold 10–30 s`, `1 × 5 min`. Ranges leave the therapist room to fit the citizen; a
/// program stores one chosen value per field ([`model::Dosage`], see [`Dosage::to_program`]).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Dosage {
    /// Sets (sæt).
    pub sets: u8,
    /// Repetitions per set (gentagelser). Either this, `duration_s` or `hold_s` is required.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reps: Option<Amount>,
    /// Continuous work per set in seconds (marching, walking), instead of repetitions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_s: Option<Amount>,
    /// Seconds to hold the end position (each repetition, or once per set without reps).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hold_s: Option<Amount>,
    /// Rest between sets in seconds (pause).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rest_s: Option<u16>,
    /// `both` = the dose on each side in turn (or alternating); `none` = not sided.
    #[serde(default = "side_none")]
    pub side: Side,
    /// Load or equipment note (belastning), e.g. `{ da = "1-2 kg manchetvægt", en = "1-2 kg ankle weight" }`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub load: Option<Localized>,
}

fn side_none() -> Side {
    Side::None
}

/// Seconds one repetition takes when nothing else is said (up 2 s, down 2 s).
const SECONDS_PER_REP: u32 = 4;

impl Dosage {
    /// Checks that the dose can be carried out as written.
    pub fn validate(&self) -> Result<(), LibraryError> {
        let mut out = Vec::new();
        self.check("dosage", &mut out);
        LibraryError::from_list(out)
    }

    pub(crate) fn check(&self, owner: &str, out: &mut Vec<LibraryError>) {
        let mut bad = |problem: String| {
            out.push(LibraryError::Dosage {
                owner: owner.to_owned(),
                problem,
            })
        };
        if !(1..=10).contains(&self.sets) {
            bad(format!("sets must be 1-10, not {}", self.sets));
        }
        if self.reps.is_none() && self.duration_s.is_none() && self.hold_s.is_none() {
            bad("give reps, duration_s or hold_s".into());
        }
        if self.reps.is_some() && self.duration_s.is_some() {
            bad("give either reps or duration_s, not both".into());
        }
        if self.hold_s.is_some() && self.duration_s.is_some() {
            bad("a hold (hold_s) does not go with a continuous duration (duration_s)".into());
        }
        for (field, amount, max) in [
            ("reps", self.reps, 50),
            ("duration_s", self.duration_s, 3600),
            ("hold_s", self.hold_s, 120),
        ] {
            let Some(a) = amount else { continue };
            if a.min() == 0 {
                bad(format!("{field} cannot be 0"));
            }
            if a.max() > max {
                bad(format!("{field} must be at most {max}, not {}", a.max()));
            }
            if let Amount::Range([lo, hi]) = a {
                if lo >= hi {
                    bad(format!(
                        "{field} range [{lo}, {hi}] must go from low to high"
                    ));
                }
            }
        }
        if self.rest_s.is_some_and(|r| r > 300) {
            bad("rest_s must be at most 300 seconds".into());
        }
        if let Some(load) = &self.load {
            for lang in Lang::REQUIRED {
                match load.get(&lang) {
                    None => bad(format!("the load note has no {} text", lang.name())),
                    Some(s) if s.trim().is_empty() || s.chars().count() > 80 => bad(format!(
                        "the {} load note must be 1-80 characters",
                        lang.name()
                    )),
                    Some(_) => {}
                }
            }
        }
    }

    /// A rough time for the whole dose at the low end of every range, in seconds: what a
    /// session must at least make room for. Used to check that a template fits its minutes.
    pub fn minimum_seconds(&self) -> u32 {
        let sides = if self.side == Side::Both { 2 } else { 1 };
        let reps = self.reps.map_or(1, |r| u32::from(r.min()));
        let per_rep = match (self.duration_s, self.hold_s) {
            (Some(d), _) => u32::from(d.min()),
            (None, Some(h)) => u32::from(h.min()) + 3,
            (None, None) => SECONDS_PER_REP,
        };
        let sets = u32::from(self.sets);
        sets * sides * reps * per_rep + sets.saturating_sub(1) * u32::from(self.rest_s.unwrap_or(0))
    }

    /// The dose a new program line starts from: the low end of each range (start gently, then
    /// progress), and the load note in `lang`.
    pub fn to_program(&self, lang: Lang) -> model::Dosage {
        let low = |a: Option<Amount>| a.map(|a| u32::from(a.min()));
        let reps = match (low(self.reps), self.duration_s) {
            (None, None) => Some(1), // a hold without reps is one hold per set
            (reps, _) => reps,
        };
        model::Dosage {
            sets: u32::from(self.sets),
            reps,
            duration_s: low(self.duration_s),
            hold_s: low(self.hold_s),
            rest_s: self.rest_s.map(u32::from),
            load: self.load.as_ref().and_then(|l| pick(l, lang)).cloned(),
            side: self.side,
        }
    }
}
