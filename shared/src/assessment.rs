//! The assessment catalogue: the tests and measures a therapist records on a course, with
//! their unit, which direction is better and the values that can occur (domain.md §2).

use crate::library::Lang;
use crate::model::{Assessment, AssessmentPhase, Invalid};

/// One kind of assessment.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AssessmentKind {
    /// Stored on the assessment (`Assessment::kind`); never changes once shipped.
    pub key: &'static str,
    pub label_da: &'static str,
    pub label_en: &'static str,
    pub unit: &'static str,
    pub higher_is_better: bool,
    pub min: f64,
    pub max: f64,
    /// Counted or scored in whole numbers (stands, points).
    pub whole: bool,
}

impl AssessmentKind {
    pub fn label(&self, lang: Lang) -> &'static str {
        match lang {
            Lang::Da => self.label_da,
            _ => self.label_en,
        }
    }

    /// The unit as a reader writes it: the stored unit (`reps`, `points`, …) is a code.
    pub fn unit_label(&self, lang: Lang) -> &'static str {
        match (lang, self.unit) {
            (Lang::Da, "reps") => "gange",
            (Lang::Da, "s") => "sek.",
            (Lang::Da, "points") => "point",
            (Lang::Da, "min") => "min.",
            (_, "reps") => "stands",
            (_, unit) => unit,
        }
    }

    /// Whether `value` can be a result of this test.
    pub fn check(&self, value: f64) -> Result<(), Invalid> {
        let problem = if !value.is_finite() {
            "is not a number".to_string()
        } else if value < self.min || value > self.max {
            format!(
                "{} must be {}–{} {}, got {value}",
                self.label_en, self.min, self.max, self.unit
            )
        } else if self.whole && value.fract() != 0.0 {
            format!("{} is a whole number, got {value}", self.label_en)
        } else {
            return Ok(());
        };
        Err(Invalid {
            field: "assessment.value".into(),
            problem,
        })
    }
}

const fn kind(
    key: &'static str,
    label_da: &'static str,
    label_en: &'static str,
    unit: &'static str,
    higher_is_better: bool,
    (min, max): (f64, f64),
    whole: bool,
) -> AssessmentKind {
    AssessmentKind {
        key,
        label_da,
        label_en,
        unit,
        higher_is_better,
        min,
        max,
        whole,
    }
}

/// Every assessment the app offers, in the order a therapist meets them.
pub const CATALOGUE: [AssessmentKind; 8] = [
    kind(
        "chair_stand_30s",
        "30 sekunders rejse-sætte-sig",
        "30-second chair stand",
        "reps",
        true,
        (0.0, 60.0),
        true,
    ),
    kind(
        "timed_up_and_go",
        "Timed Up and Go",
        "Timed Up and Go",
        "s",
        false,
        (1.0, 600.0),
        false,
    ),
    kind(
        "gait_speed_4m",
        "Ganghastighed 4 m",
        "4-metre gait speed",
        "m/s",
        true,
        (0.0, 3.0),
        false,
    ),
    kind(
        "grip_strength",
        "Håndgribestyrke",
        "Grip strength",
        "kg",
        true,
        (0.0, 120.0),
        false,
    ),
    kind(
        "sppb",
        "SPPB",
        "Short Physical Performance Battery",
        "points",
        true,
        (0.0, 12.0),
        true,
    ),
    kind(
        "berg_balance",
        "Bergs balanceskala",
        "Berg Balance Scale",
        "points",
        true,
        (0.0, 56.0),
        true,
    ),
    kind(
        "who5",
        "WHO-5 trivselsindeks",
        "WHO-5 Well-being Index",
        "points",
        true,
        (0.0, 100.0),
        true,
    ),
    kind(
        "home_care_minutes",
        "Hjemmehjælp pr. døgn",
        "Home care per day",
        "min",
        false,
        (0.0, 1440.0),
        false,
    ),
];

/// The kind stored under `key`, if the catalogue has it.
pub fn kind_of(key: &str) -> Option<&'static AssessmentKind> {
    CATALOGUE.iter().find(|k| k.key == key)
}

/// Checks a new result: a known kind and a value within its range.
pub fn validate(key: &str, value: f64) -> Result<&'static AssessmentKind, Invalid> {
    let k = kind_of(key).ok_or_else(|| Invalid {
        field: "assessment.kind".into(),
        problem: format!(
            "`{key}` is not a known assessment; use one of {}",
            CATALOGUE.map(|k| k.key).join(", ")
        ),
    })?;
    k.check(value)?;
    Ok(k)
}

/// Checks a recorded assessment, as the device writes it and the server admits it: the
/// record's own rules, a kind of the catalogue, a value the test can give, and the kind's unit.
pub fn check_recorded(a: &Assessment) -> Result<(), Invalid> {
    a.validate()?;
    let kind = validate(&a.kind, a.value)?;
    if a.unit != kind.unit {
        return Err(Invalid {
            field: "assessment.unit".into(),
            problem: format!(
                "{} is measured in {}, not {}",
                kind.label_en, kind.unit, a.unit
            ),
        });
    }
    Ok(())
}

/// The phase's key (`start`, `midway`, `end`, `follow_up`).
pub fn phase_key(p: AssessmentPhase) -> &'static str {
    match p {
        AssessmentPhase::Start => "start",
        AssessmentPhase::Midway => "midway",
        AssessmentPhase::End => "end",
        AssessmentPhase::FollowUp => "follow_up",
    }
}

pub fn parse_phase(s: &str) -> Result<AssessmentPhase, Invalid> {
    Ok(match s {
        "start" => AssessmentPhase::Start,
        "midway" => AssessmentPhase::Midway,
        "end" => AssessmentPhase::End,
        "follow_up" => AssessmentPhase::FollowUp,
        _ => {
            return Err(Invalid {
                field: "assessment.phase".into(),
                problem: format!("`{s}` is not start, midway, end or follow_up"),
            })
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_catalogue_has_unique_keys_and_sane_ranges() {
        for (i, k) in CATALOGUE.iter().enumerate() {
            assert!(k.min < k.max, "{}", k.key);
            assert!(CATALOGUE[i + 1..].iter().all(|o| o.key != k.key));
            assert_eq!(kind_of(k.key), Some(k));
        }
        assert!(!kind_of("timed_up_and_go").unwrap().higher_is_better);
        assert_eq!(kind_of("sppb").unwrap().max, 12.0);
        assert_eq!(kind_of("berg_balance").unwrap().max, 56.0);
        assert_eq!(
            kind_of("chair_stand_30s").unwrap().label(Lang::En),
            "30-second chair stand"
        );
    }

    #[test]
    fn values_are_checked_against_the_kind() {
        assert!(validate("chair_stand_30s", 12.0).is_ok());
        assert!(
            validate("chair_stand_30s", 12.5).is_err(),
            "stands are whole"
        );
        assert!(validate("sppb", 13.0).is_err());
        assert!(validate("gait_speed_4m", 0.76).is_ok());
        assert!(validate("who5", -4.0).is_err());
        assert!(validate("timed_up_and_go", f64::NAN).is_err());
        let e = validate("eq5d", 0.7).unwrap_err();
        assert_eq!(e.field, "assessment.kind");
        assert!(e.problem.contains("chair_stand_30s"));
        assert_eq!(parse_phase("follow_up").unwrap(), AssessmentPhase::FollowUp);
        assert_eq!(phase_key(AssessmentPhase::Midway), "midway");
        assert!(parse_phase("later").is_err());
    }
}
