//! Whether a citizen got better: each test's meaningful-change value, the judgement of a start
//! and an end result against it, and where a result lies against a published age/sex norm.
//! Values and sources are from domain.md §2; a municipality may override them (the table is an
//! argument everywhere, [`default_changes`] gives the shipped values).

use serde::{Deserialize, Serialize};

use super::EffectError;
use crate::assessment::kind_of;

/// Which direction of a test's value is the better one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Better {
    Higher,
    /// Timed Up and Go: fewer seconds is better.
    Lower,
}

/// The smallest change in a test's result that counts as a real change for one citizen.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MeaningfulChange {
    /// The assessment catalogue's key, e.g. `chair_stand_30s`.
    pub test: String,
    pub value: f64,
    pub unit: String,
    pub better: Better,
    /// Where the value comes from (domain.md §2's reference), or who in the municipality set it.
    pub source: String,
}

/// A test's meaningful-change values; the first entry for a test wins.
pub type ChangeTable = Vec<MeaningfulChange>;

fn entry(test: &str, value: f64, source: &str) -> Result<MeaningfulChange, EffectError> {
    // Unit and direction come from the assessment catalogue, so the two cannot disagree.
    let kind = kind_of(test).ok_or_else(|| EffectError::UnknownTest(test.into()))?;
    Ok(MeaningfulChange {
        test: test.into(),
        value,
        unit: kind.unit.into(),
        better: if kind.higher_is_better {
            Better::Higher
        } else {
            Better::Lower
        },
        source: source.into(),
    })
}

/// The shipped meaningful-change values (domain.md §2). Where a source gives a "small" and a
/// "substantial" change, the small one is used: it is the least change that matters. Berg
/// balance has no value in domain.md, so it is not judged.
pub fn default_changes() -> ChangeTable {
    [
        (
            "chair_stand_30s",
            2.5,
            "MDC ≈ 2.5 stands (Thirty-second chair stand test: test-retest reliability and MDC, Deakin; domain.md §2 [35])",
        ),
        (
            "timed_up_and_go",
            2.08,
            "MDC 2.08 s (PMC6858113; domain.md §2 [37])",
        ),
        (
            "gait_speed_4m",
            0.05,
            "Small meaningful change 0.05 m/s, substantial 0.10 m/s (Perera et al.; domain.md §2 [39])",
        ),
        (
            "sppb",
            0.5,
            "Small meaningful change 0.5 point, substantial 1.0 (Perera et al.; domain.md §2 [39])",
        ),
        (
            "grip_strength",
            5.0,
            "MCID 5.0–6.5 kg, lower bound (systematic review of grip strength MCID; domain.md §2 [45])",
        ),
        (
            "who5",
            10.0,
            "A 10-point change on the 0–100 scale (WHO-5 scoring guidance; domain.md §2 [46])",
        ),
    ]
    .into_iter()
    .filter_map(|(test, value, source)| entry(test, value, source).ok())
    .collect()
}

/// Replaces (or adds) a test's value in `table`: a municipality's own threshold. The value
/// must be a positive number and the test one of the catalogue's.
pub fn override_change(
    table: &mut ChangeTable,
    test: &str,
    value: f64,
    source: &str,
) -> Result<(), EffectError> {
    if !(value.is_finite() && value > 0.0) {
        return Err(EffectError::BadMeaningfulChange(value.to_string()));
    }
    let change = entry(test, value, source)?;
    table.retain(|c| c.test != test);
    table.push(change);
    Ok(())
}

/// The outcome of a test from start to end.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Judgement {
    /// Changed in the better direction by at least the meaningful change.
    Improved,
    /// Changed by less than the meaningful change either way.
    Maintained,
    /// Changed in the worse direction by at least the meaningful change.
    Declined,
    /// The start or the end result is missing; never counted as maintained.
    Incomplete,
}

// Results are typed as decimals (7.92 s) and are not exact in binary: a difference this close
// to the threshold is the threshold.
const TOLERANCE: f64 = 1e-9;

/// Judges a test's start and end results against its meaningful change in `table`.
///
/// A change of **exactly** the meaningful-change value counts as meaningful (improved or
/// declined): the sources state the value as the least change that is real. Either result
/// missing gives [`Judgement::Incomplete`]. A test without a value in `table` is an error,
/// not a guess.
pub fn judge(
    test: &str,
    start: Option<f64>,
    end: Option<f64>,
    table: &[MeaningfulChange],
) -> Result<Judgement, EffectError> {
    if kind_of(test).is_none() {
        return Err(EffectError::UnknownTest(test.into()));
    }
    let change = table
        .iter()
        .find(|c| c.test == test)
        .ok_or_else(|| EffectError::NoMeaningfulChange(test.into()))?;
    let (Some(start), Some(end)) = (start, end) else {
        return Ok(Judgement::Incomplete);
    };
    let gain = match change.better {
        Better::Higher => end - start,
        Better::Lower => start - end,
    };
    let threshold = change.value - TOLERANCE * change.value.abs().max(1.0);
    Ok(if gain >= threshold {
        Judgement::Improved
    } else if -gain >= threshold {
        Judgement::Declined
    } else {
        Judgement::Maintained
    })
}

pub use crate::model::Sex;

/// A published mean result for an age band and sex.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Norm {
    pub test: String,
    pub sex: Sex,
    /// Inclusive age band, in whole years.
    pub age_from: u32,
    pub age_to: u32,
    pub mean: f64,
    pub source: String,
}

/// The only age/sex norms domain.md §2 gives with numbers: the Norwegian means of the 30-s
/// chair stand for women. (Danish hospital norms [34] and grip norms are cited but their
/// numbers are not in domain.md, so they are not shipped.)
pub fn default_norms() -> Vec<Norm> {
    let source = "Norwegian means, women (Frisklivssentralen idébank, 30 sekunder reise og sette seg; domain.md §2 [32])";
    [(60, 69, 21.0), (70, 79, 17.0), (80, 90, 14.0)]
        .into_iter()
        .map(|(age_from, age_to, mean)| Norm {
            test: "chair_stand_30s".into(),
            sex: Sex::Female,
            age_from,
            age_to,
            mean,
            source: source.into(),
        })
        .collect()
}

/// Where a result lies against the norm's mean.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NormPosition {
    /// Worse than the mean by at least the test's meaningful change.
    Below,
    /// Closer to the mean than the meaningful change: not told apart from it.
    Within,
    /// Better than the mean by at least the meaningful change.
    Above,
}

/// A result placed against its norm.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NormResult {
    pub norm: Norm,
    pub position: NormPosition,
}

/// Places `value` against the norm for the citizen's age in the year of the test (only the
/// birth year is recorded, so the age may be a year high) and sex. `None` where no norm
/// applies or the test has no meaningful change to tell "within" from "below"/"above": the
/// sources give means without spread, so the meaningful change is the band we can defend.
pub fn against_norm(
    test: &str,
    value: f64,
    birth_year: i32,
    sex: Sex,
    test_year: i32,
    norms: &[Norm],
    table: &[MeaningfulChange],
) -> Option<NormResult> {
    let age = u32::try_from(test_year.checked_sub(birth_year)?).ok()?;
    let norm = norms
        .iter()
        .find(|n| n.test == test && n.sex == sex && (n.age_from..=n.age_to).contains(&age))?;
    let position = match judge(test, Some(norm.mean), Some(value), table).ok()? {
        Judgement::Improved => NormPosition::Above,
        Judgement::Declined => NormPosition::Below,
        _ => NormPosition::Within,
    };
    Some(NormResult {
        norm: norm.clone(),
        position,
    })
}

/// A published cut-off that is not an age/sex norm: a result on its worse side is a warning
/// sign (domain.md §2 gives these for TUG, gait speed and WHO-5).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CutOff {
    pub test: String,
    /// Results strictly worse than this are flagged (above it for TUG, below it otherwise).
    pub value: f64,
    pub meaning_da: String,
    pub meaning_en: String,
    pub source: String,
}

pub fn default_cut_offs() -> Vec<CutOff> {
    let cut = |test: &str, value, da: &str, en: &str, source: &str| CutOff {
        test: test.into(),
        value,
        meaning_da: da.into(),
        meaning_en: en.into(),
        source: source.into(),
    };
    vec![
        cut(
            "timed_up_and_go",
            12.0,
            "Over 12 s: nedsat mobilitet og faldrisiko",
            "Above 12 s: mobility problems and fall risk",
            "Above 12–14 s (Minerva glossary; domain.md §2 [36]); the lower end is used",
        ),
        cut(
            "gait_speed_4m",
            0.76,
            "Under 0,76 m/s: øget faldrisiko",
            "Under 0.76 m/s: discriminates fallers",
            "Self-selected gait speed under 0.76 m/s (PMC4912425; domain.md §2 [38])",
        ),
        cut(
            "who5",
            52.0,
            "Under 52 (råscore under 13): lav trivsel, overvej screening for depression",
            "Under 52 (raw under 13): poor wellbeing, consider screening for depression",
            "Raw score under 13 (WHO-5 scoring guidance; domain.md §2 [46])",
        ),
    ]
}

/// The cut-offs `value` lies on the worse side of (direction from the assessment catalogue).
pub fn beyond_cut_offs<'a>(test: &str, value: f64, cut_offs: &'a [CutOff]) -> Vec<&'a CutOff> {
    let Some(kind) = kind_of(test) else {
        return Vec::new();
    };
    cut_offs
        .iter()
        .filter(|c| {
            c.test == test
                && if kind.higher_is_better {
                    value < c.value
                } else {
                    value > c.value
                }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn j(test: &str, start: f64, end: f64) -> Judgement {
        judge(test, Some(start), Some(end), &default_changes()).unwrap()
    }

    #[test]
    fn exactly_the_meaningful_change_counts_both_ways_and_just_below_does_not() {
        use Judgement::*;
        // Higher is better.
        assert_eq!(j("chair_stand_30s", 10.0, 12.5), Improved);
        assert_eq!(j("chair_stand_30s", 12.5, 10.0), Declined);
        assert_eq!(j("chair_stand_30s", 10.0, 12.49), Maintained);
        assert_eq!(j("chair_stand_30s", 12.49, 10.0), Maintained);
        assert_eq!(j("gait_speed_4m", 0.70, 0.75), Improved);
        assert_eq!(j("gait_speed_4m", 0.75, 0.70), Declined);
        assert_eq!(j("gait_speed_4m", 0.70, 0.749), Maintained);
        assert_eq!(j("grip_strength", 20.0, 25.0), Improved);
        assert_eq!(j("grip_strength", 25.0, 20.0), Declined);
        assert_eq!(j("grip_strength", 20.0, 24.9), Maintained);
        assert_eq!(j("sppb", 7.0, 8.0), Improved);
        assert_eq!(j("sppb", 8.0, 7.0), Declined);
        assert_eq!(j("sppb", 8.0, 8.0), Maintained);
        assert_eq!(j("who5", 40.0, 50.0), Improved);
        assert_eq!(j("who5", 50.0, 40.0), Declined);
        assert_eq!(j("who5", 40.0, 48.0), Maintained);
        // Lower is better: fewer seconds on TUG is an improvement.
        assert_eq!(j("timed_up_and_go", 10.0, 7.92), Improved);
        assert_eq!(j("timed_up_and_go", 7.92, 10.0), Declined);
        assert_eq!(j("timed_up_and_go", 10.0, 7.93), Maintained);
        assert_eq!(j("timed_up_and_go", 7.93, 10.0), Maintained);
        assert_eq!(j("timed_up_and_go", 14.0, 18.0), Declined);
    }

    #[test]
    fn a_missing_result_is_incomplete_never_maintained() {
        let t = default_changes();
        for (s, e) in [(None, Some(12.0)), (Some(12.0), None), (None, None)] {
            assert_eq!(
                judge("chair_stand_30s", s, e, &t).unwrap(),
                Judgement::Incomplete
            );
        }
    }

    #[test]
    fn unknown_tests_and_tests_without_a_value_are_errors() {
        let t = default_changes();
        assert_eq!(
            judge("eq5d", Some(0.5), Some(0.7), &t),
            Err(EffectError::UnknownTest("eq5d".into()))
        );
        assert_eq!(
            judge("berg_balance", Some(40.0), Some(50.0), &t),
            Err(EffectError::NoMeaningfulChange("berg_balance".into()))
        );
    }

    #[test]
    fn the_table_follows_the_catalogue_and_a_municipality_can_override_it() {
        let mut t = default_changes();
        for c in &t {
            let k = kind_of(&c.test).unwrap();
            assert_eq!(c.unit, k.unit);
            assert_eq!(c.better == Better::Higher, k.higher_is_better);
            assert!(c.value > 0.0 && !c.source.is_empty());
        }
        assert_eq!(
            t.iter()
                .find(|c| c.test == "timed_up_and_go")
                .unwrap()
                .better,
            Better::Lower
        );
        assert_eq!(j("chair_stand_30s", 10.0, 12.0), Judgement::Maintained);
        override_change(&mut t, "chair_stand_30s", 2.0, "Aarhus Kommune 2026").unwrap();
        assert!(override_change(&mut t, "eq5d", 0.1, "x").is_err());
        assert!(override_change(&mut t, "who5", -1.0, "x").is_err());
        assert!(override_change(&mut t, "who5", f64::NAN, "x").is_err());
        assert_eq!(
            judge("chair_stand_30s", Some(10.0), Some(12.0), &t).unwrap(),
            Judgement::Improved
        );
        assert_eq!(t.iter().filter(|c| c.test == "chair_stand_30s").count(), 1);
        assert_eq!(t.len(), default_changes().len());
        let json = serde_json::to_string(&t[0]).unwrap();
        assert_eq!(
            serde_json::from_str::<MeaningfulChange>(&json).unwrap(),
            t[0]
        );
    }

    #[test]
    fn results_are_placed_against_the_age_and_sex_norm() {
        let (n, t) = (default_norms(), default_changes());
        // Born 1950, tested 2026: 76, the 70–79 band, mean 17.
        let at = |v: f64| against_norm("chair_stand_30s", v, 1950, Sex::Female, 2026, &n, &t);
        assert_eq!(at(14.5).unwrap().position, NormPosition::Below);
        assert_eq!(at(15.0).unwrap().position, NormPosition::Within);
        assert_eq!(at(17.0).unwrap().position, NormPosition::Within);
        assert_eq!(at(19.5).unwrap().position, NormPosition::Above);
        assert_eq!(at(17.0).unwrap().norm.mean, 17.0);
        // Edges of the bands.
        let mean_at = |born| {
            against_norm("chair_stand_30s", 15.0, born, Sex::Female, 2026, &n, &t)
                .map(|r| r.norm.mean)
        };
        assert_eq!(mean_at(1957), Some(21.0));
        assert_eq!(mean_at(1956), Some(17.0));
        assert_eq!(mean_at(1946), Some(14.0));
        assert_eq!(mean_at(1935), None, "91: no published norm");
        // No norm for men, nor for tests domain.md gives none for.
        assert!(against_norm("chair_stand_30s", 15.0, 1950, Sex::Male, 2026, &n, &t).is_none());
        assert!(against_norm("timed_up_and_go", 9.0, 1950, Sex::Female, 2026, &n, &t).is_none());
        assert!(against_norm("chair_stand_30s", 15.0, 2030, Sex::Female, 2026, &n, &t).is_none());
    }

    #[test]
    fn results_beyond_a_published_cut_off_are_flagged() {
        let c = default_cut_offs();
        assert!(c.iter().all(|c| kind_of(&c.test).is_some()));
        assert_eq!(beyond_cut_offs("timed_up_and_go", 12.5, &c).len(), 1);
        assert!(beyond_cut_offs("timed_up_and_go", 12.0, &c).is_empty());
        assert_eq!(beyond_cut_offs("gait_speed_4m", 0.75, &c).len(), 1);
        assert!(beyond_cut_offs("gait_speed_4m", 0.76, &c).is_empty());
        assert_eq!(beyond_cut_offs("who5", 48.0, &c)[0].value, 52.0);
        assert!(beyond_cut_offs("who5", 52.0, &c).is_empty());
        assert!(beyond_cut_offs("chair_stand_30s", 3.0, &c).is_empty());
        assert!(beyond_cut_offs("eq5d", 0.1, &c).is_empty());
    }
}
