//! Referral and inclusion (visitation): the municipality's inclusion criteria as a checklist,
//! the reasons for not including a citizen, and a screening's outcome. Criteria and reasons are
//! data the municipality edits; these are the shipped defaults (issue #11 item 1).

use serde::{Deserialize, Serialize};

use crate::model::Invalid;

/// One checklist line or one reason: a stable key and its text in Danish and English.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Labelled {
    pub key: String,
    pub da: String,
    pub en: String,
    /// No longer offered for new screenings; kept so older screenings that name it still read.
    #[serde(default)]
    pub retired: bool,
}

fn labelled(list: &[(&str, &str, &str)]) -> Vec<Labelled> {
    list.iter()
        .map(|(key, da, en)| Labelled {
            key: (*key).into(),
            da: (*da).into(),
            en: (*en).into(),
            retired: false,
        })
        .collect()
}

pub fn default_criteria() -> Vec<Labelled> {
    labelled(&[
        (
            "follows_instructions",
            "Kan følge instruktioner",
            "Can follow instructions",
        ),
        (
            "rises_from_chair",
            "Kan rejse sig fra en stol med eller uden hjælp",
            "Can rise from a chair with or without help",
        ),
        ("wants_to_train", "Ønsker at træne", "Wants to train"),
        (
            "no_contraindication",
            "Ingen kontraindikation i genoptræningsplanen",
            "No contraindication in the hospital's rehabilitation plan",
        ),
        (
            "home_allows_training",
            "Hjemmet giver plads til træning",
            "The home allows training",
        ),
        (
            "expected_to_benefit",
            "Forventes at have gavn af forløbet",
            "Expected to benefit from the course",
        ),
    ])
}

pub fn default_not_included_reasons() -> Vec<Labelled> {
    labelled(&[
        ("declined", "Ønsker ikke at træne", "Does not want to train"),
        (
            "cannot_follow_instructions",
            "Kan ikke følge instruktioner",
            "Cannot follow instructions",
        ),
        (
            "contraindication",
            "Kontraindikation i genoptræningsplanen",
            "Contraindication in the rehabilitation plan",
        ),
        (
            "not_expected_to_benefit",
            "Forventes ikke at have gavn af forløbet",
            "Not expected to benefit",
        ),
        (
            "home_unsuitable",
            "Hjemmet giver ikke mulighed for træning",
            "The home does not allow training",
        ),
        (
            "other_offer",
            "Et andet tilbud passer bedre",
            "Another service suits better",
        ),
        ("other", "Andet (se note)", "Other (see note)"),
    ])
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum ScreeningOutcome {
    /// A course is created from the screening.
    Included,
    NotIncluded {
        reason: String,
    },
}

/// A referral's screening: each criterion answered yes/no, and the outcome.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Screening {
    /// (criterion key, met).
    pub answers: Vec<(String, bool)>,
    pub outcome: ScreeningOutcome,
    pub note: Option<String>,
}

impl Screening {
    /// The criteria answered "not met": a therapist may include a citizen anyway (their
    /// judgement), and the summary shows which criteria were not met.
    pub fn unmet(&self) -> Vec<&str> {
        self.answers
            .iter()
            .filter(|(_, met)| !met)
            .map(|(k, _)| k.as_str())
            .collect()
    }

    /// Checks the screening against the municipality's criteria and reasons: every criterion
    /// answered once, no unknown ones, a known reason when not included, a note with "other".
    pub fn check(&self, criteria: &[Labelled], reasons: &[Labelled]) -> Result<(), Invalid> {
        let problem = |field: &str, problem: String| Invalid {
            field: field.into(),
            problem,
        };
        for (i, (key, _)) in self.answers.iter().enumerate() {
            if !criteria.iter().any(|c| &c.key == key) {
                return Err(problem(
                    "screening.answers",
                    format!("`{key}` is not an inclusion criterion"),
                ));
            }
            if self.answers[..i].iter().any(|(k, _)| k == key) {
                return Err(problem(
                    "screening.answers",
                    format!("`{key}` is answered twice"),
                ));
            }
        }
        if let Some(c) = criteria
            .iter()
            .find(|c| !self.answers.iter().any(|(k, _)| k == &c.key))
        {
            return Err(problem(
                "screening.answers",
                format!("“{}” is not answered", c.en),
            ));
        }
        if let ScreeningOutcome::NotIncluded { reason } = &self.outcome {
            if !reasons.iter().any(|r| &r.key == reason) {
                return Err(problem(
                    "screening.reason",
                    format!("`{reason}` is not a reason for not including a citizen"),
                ));
            }
            if reason == "other" && self.note.as_deref().is_none_or(|n| n.trim().is_empty()) {
                return Err(problem(
                    "screening.note",
                    "“Other” needs a note saying why".into(),
                ));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all_met() -> Vec<(String, bool)> {
        default_criteria()
            .into_iter()
            .map(|c| (c.key, true))
            .collect()
    }

    #[test]
    fn defaults_have_unique_keys_and_both_languages() {
        for list in [default_criteria(), default_not_included_reasons()] {
            for (i, l) in list.iter().enumerate() {
                assert!(!l.da.is_empty() && !l.en.is_empty());
                assert!(list[i + 1..].iter().all(|o| o.key != l.key));
            }
        }
        assert_eq!(default_criteria().len(), 6);
    }

    #[test]
    fn screenings_are_checked_against_the_criteria_and_reasons() {
        let (c, r) = (default_criteria(), default_not_included_reasons());
        let mut s = Screening {
            answers: all_met(),
            outcome: ScreeningOutcome::Included,
            note: None,
        };
        assert!(s.check(&c, &r).is_ok());
        assert!(s.unmet().is_empty());

        s.answers[2].1 = false;
        s.outcome = ScreeningOutcome::NotIncluded {
            reason: "declined".into(),
        };
        assert!(s.check(&c, &r).is_ok());
        assert_eq!(s.unmet(), ["wants_to_train"]);

        s.outcome = ScreeningOutcome::NotIncluded {
            reason: "too_old".into(),
        };
        assert_eq!(s.check(&c, &r).unwrap_err().field, "screening.reason");
        s.outcome = ScreeningOutcome::NotIncluded {
            reason: "other".into(),
        };
        assert_eq!(s.check(&c, &r).unwrap_err().field, "screening.note");
        s.note = Some("Flytter til plejebolig".into());
        assert!(s.check(&c, &r).is_ok());

        let missing = Screening {
            answers: all_met()[1..].to_vec(),
            ..s.clone()
        };
        assert!(missing
            .check(&c, &r)
            .unwrap_err()
            .problem
            .contains("Can follow instructions"));
        let mut twice = s.clone();
        twice.answers.push(("wants_to_train".into(), true));
        assert!(twice.check(&c, &r).unwrap_err().problem.contains("twice"));
        let json = serde_json::to_string(&s).unwrap();
        assert!(json.contains("\"kind\":\"not_included\""), "{json}");
        assert_eq!(serde_json::from_str::<Screening>(&json).unwrap(), s);
    }
}
