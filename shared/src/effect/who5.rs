//! The WHO-5 Well-being Index: five statements about the last two weeks, each answered 0–5;
//! raw sum 0–25, × 4 gives 0–100 (domain.md §2 [46]). Developed at the Psychiatric Centre
//! North Zealand, Hillerød, Denmark (domain.md §2 [47]).
//!
//! Wording: the Danish text is the Danish version ("WHO-5 Trivselsindeks") as KL's FHIR
//! questionnaire for care records has it (items "I de sidste 2 uger …", answers "Hele tiden" …
//! "På intet tidspunkt"); the English is the WHO's 1998 version. The wording must not be changed.
//!
//! Terms of use (domain.md does not state them): Danish sources say it "kan frit anvendes til
//! måling af trivsel" with the source given (vidensportal.dk, the Psychiatric Centre North
//! Zealand); the WHO's own publication of the WHO-5 is cited as CC BY-NC-SA 3.0 IGO. Use in a
//! municipality's own care is within both; whether the "NC" term touches a sold product must be
//! checked before release. The UI shows [`ATTRIBUTION`] with the questionnaire.

use serde::{Deserialize, Serialize};

/// Shown with the questionnaire.
pub const ATTRIBUTION: &str =
    "WHO-5 Trivselsindeks / WHO-5 Well-being Index (WHO, 1998; Psykiatrisk Center Nordsjælland).";

/// The lead-in before every statement.
pub const LEAD_DA: &str = "I de sidste 2 uger …";
pub const LEAD_EN: &str = "Over the last two weeks …";

/// The five statements, in order (Danish, English).
pub const ITEMS: [(&str, &str); 5] = [
    (
        "… har jeg været glad og i godt humør",
        "… I have felt cheerful and in good spirits",
    ),
    (
        "… har jeg følt mig rolig og afslappet",
        "… I have felt calm and relaxed",
    ),
    (
        "… har jeg følt mig aktiv og energisk",
        "… I have felt active and vigorous",
    ),
    (
        "… er jeg vågnet frisk og udhvilet",
        "… I woke up feeling fresh and rested",
    ),
    (
        "… har min dagligdag været fyldt med ting der interesserer mig",
        "… my daily life has been filled with things that interest me",
    ),
];

/// The six answers, indexed by their score 0–5 (Danish, English).
pub const ANSWERS: [(&str, &str); 6] = [
    ("På intet tidspunkt", "At no time"),
    ("Lidt af tiden", "Some of the time"),
    (
        "Lidt mindre end halvdelen af tiden",
        "Less than half of the time",
    ),
    (
        "Lidt mere end halvdelen af tiden",
        "More than half of the time",
    ),
    ("Det meste af tiden", "Most of the time"),
    ("Hele tiden", "All of the time"),
];

/// The highest answer to one item.
pub const MAX_ANSWER: u8 = 5;

/// A raw score below this (0–25) suggests poor wellbeing and screening for depression
/// (domain.md §2 [46]); on the 0–100 scale that is below 52.
pub const POOR_WELLBEING_BELOW_RAW: u8 = 13;

/// A citizen's answers so far, one slot per item; saved per tap, so some may be missing.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Who5Answers(pub [Option<u8>; 5]);

/// The outcome of scoring a WHO-5.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Who5Score {
    /// All five answered: raw 0–25 and the 0–100 percentage (raw × 4).
    Complete { raw: u8, percent: u8 },
    /// Some items are missing (their indexes, 0-based); no score is given, never a partial one.
    Incomplete { missing: Vec<usize> },
    /// An answer outside 0–5 (item index); stored data that should never exist.
    Invalid { item: usize, answer: u8 },
}

impl Who5Answers {
    pub fn score(&self) -> Who5Score {
        if let Some((item, &Some(answer))) = self
            .0
            .iter()
            .enumerate()
            .find(|(_, a)| a.is_some_and(|a| a > MAX_ANSWER))
        {
            return Who5Score::Invalid { item, answer };
        }
        let missing: Vec<usize> = (0..5).filter(|&i| self.0[i].is_none()).collect();
        if !missing.is_empty() {
            return Who5Score::Incomplete { missing };
        }
        let raw: u8 = self.0.iter().flatten().sum();
        Who5Score::Complete {
            raw,
            percent: raw * 4,
        }
    }
}

impl Who5Score {
    /// The 0–100 result stored as the `who5` assessment, when complete.
    pub fn percent(&self) -> Option<f64> {
        match self {
            Who5Score::Complete { percent, .. } => Some(f64::from(*percent)),
            _ => None,
        }
    }

    /// Whether a complete score signals poor wellbeing (raw below 13).
    pub fn poor_wellbeing(&self) -> Option<bool> {
        match self {
            Who5Score::Complete { raw, .. } => Some(*raw < POOR_WELLBEING_BELOW_RAW),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::effect::change::{default_changes, judge, Judgement};

    #[test]
    fn scores_are_the_raw_sum_times_four() {
        let all = |v| Who5Answers([Some(v); 5]).score();
        assert_eq!(all(0), Who5Score::Complete { raw: 0, percent: 0 });
        assert_eq!(
            all(5),
            Who5Score::Complete {
                raw: 25,
                percent: 100
            }
        );
        let s = Who5Answers([Some(3), Some(2), Some(4), Some(1), Some(3)]).score();
        assert_eq!(
            s,
            Who5Score::Complete {
                raw: 13,
                percent: 52
            }
        );
        assert_eq!(s.percent(), Some(52.0));
        assert_eq!(s.poor_wellbeing(), Some(false));
        let low = Who5Answers([Some(3), Some(2), Some(4), Some(1), Some(2)]).score();
        assert_eq!(low.poor_wellbeing(), Some(true));
        // The result is within the catalogue's range for `who5`.
        assert!(crate::assessment::validate("who5", s.percent().unwrap()).is_ok());
    }

    #[test]
    fn a_missing_item_gives_no_score() {
        let s = Who5Answers([Some(5), None, Some(5), Some(5), None]).score();
        assert_eq!(
            s,
            Who5Score::Incomplete {
                missing: vec![1, 4]
            }
        );
        assert_eq!(s.percent(), None);
        assert_eq!(s.poor_wellbeing(), None);
        // And an incomplete WHO-5 is an incomplete pair, not "maintained".
        assert_eq!(
            judge("who5", Some(60.0), s.percent(), &default_changes()).unwrap(),
            Judgement::Incomplete
        );
        assert_eq!(
            Who5Answers::default().score(),
            Who5Score::Incomplete {
                missing: vec![0, 1, 2, 3, 4]
            }
        );
    }

    #[test]
    fn an_answer_above_five_is_invalid_not_scored() {
        let s = Who5Answers([Some(5), Some(6), Some(5), Some(5), Some(5)]).score();
        assert_eq!(s, Who5Score::Invalid { item: 1, answer: 6 });
        assert_eq!(s.percent(), None);
    }

    #[test]
    fn the_wording_is_complete_in_both_languages_and_round_trips() {
        assert!(ITEMS
            .iter()
            .all(|(da, en)| !da.is_empty() && !en.is_empty()));
        assert_eq!(ANSWERS[5].0, "Hele tiden");
        assert_eq!(ANSWERS[0].1, "At no time");
        let a = Who5Answers([Some(1), None, Some(3), Some(4), Some(5)]);
        let json = serde_json::to_string(&a).unwrap();
        assert_eq!(serde_json::from_str::<Who5Answers>(&json).unwrap(), a);
    }
}
