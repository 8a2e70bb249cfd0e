//! The leaders' evidence (issue #12): the arithmetic behind targets, the referral funnel, staff
//! in use, effect, the business case and the benchmark. Pure functions over plain facts: the
//! server runs the SQL over its read model ([`crate::read_model`]) that produces the facts,
//! these functions turn them into figures, and the screens and the report print the figures.
//! Every result type is serde-serialisable: it is the evidence API's answer as it stands.
//!
//! - [`targets`]: yearly targets, the share reached, the share expected by a date and the
//!   traffic light of the evaluation's Tabel 3;
//! - [`funnel`]: referred → screened → included → started → completed, per team and month,
//!   with reasons, and the teams and therapists who recruit or complete few citizens;
//! - [`staff`]: per team and role, staff with access, trained and active, and "trained but
//!   not active";
//! - [`effect`]: completeness, judgement counts per test and for WHO-5, home-care time before
//!   and after with a 95 % confidence interval, sessions delivered and adherence;
//! - [`t_dist`]: Student's t distribution (CDF and quantile) for that interval;
//! - [`business_case`]: gross and net saving and freed FTEs, each line with its formula;
//! - [`report`]: the evidence API's answer assembled from the facts the server reads, the
//!   municipality's evidence settings (targets, prices, naming, comparison group), the cohort
//!   rule and who sees which names;
//! - [`suppression`]: small-number suppression (primary and complementary), the benchmark's
//!   indicators and the anonymised benchmark across municipalities.
//!
//! The tests beside the code include `seeds`, which rebuilds the seeds' published figures
//! (Aarhus' −21.81 %, 28 of 42 and 25 of 35; the evaluation's 207 of 1,250, 108 trained of 84,
//! 63 active) from per-citizen and per-person facts, and `props`, properties over arbitrary
//! input (no line of a suppressed table gives a hidden cell away; nothing panics).
//!
//! No function here panics on any input: an empty cohort or a zero denominator gives `None`
//! (or a suppressed figure), never a division by zero. [`EvidenceError`] is only for settings
//! that make no sense (a negative price, a period that ends before it starts).

pub mod business_case;
pub mod effect;
pub mod funnel;
pub mod report;
pub mod staff;
pub mod suppression;
pub mod t_dist;
pub mod targets;

#[cfg(test)]
mod props;
#[cfg(test)]
mod seeds;

use serde::{Deserialize, Serialize};

/// Why an evidence figure could not be computed from its settings.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EvidenceError {
    #[error("the period ends on {end}, before it starts on {start}")]
    PeriodEndsBeforeStart { start: String, end: String },
    #[error("`{field}` must be a finite number of at least 0, got {value}")]
    NotANonNegativeNumber { field: &'static str, value: String },
    #[error("`{field}` must be greater than 0, got {value}")]
    NotPositive { field: &'static str, value: String },
    #[error("`{field}` must be a share between 0 and 1, got {value}")]
    NotAShare { field: &'static str, value: String },
    #[error("`{field}`: {problem}")]
    Invalid {
        field: &'static str,
        problem: String,
    },
}

/// `value` as a setting that must be a finite number ≥ 0.
pub(crate) fn non_negative(field: &'static str, value: f64) -> Result<f64, EvidenceError> {
    if value.is_finite() && value >= 0.0 {
        Ok(value)
    } else {
        Err(EvidenceError::NotANonNegativeNumber {
            field,
            value: value.to_string(),
        })
    }
}

/// A count out of a count: "28 of 42". The share is `None` when the whole is 0.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Share {
    pub part: u32,
    pub whole: u32,
    /// `part / whole`; may exceed 1 (108 trained of 84 targeted).
    pub ratio: Option<f64>,
    /// The ratio in whole percent, rounded half up as the evaluation prints it (207 of 1,250 is
    /// 16.56 % → 17 %).
    pub percent: Option<u32>,
}

impl Share {
    pub fn of(part: u32, whole: u32) -> Share {
        let ratio = ratio(f64::from(part), f64::from(whole));
        Share {
            part,
            whole,
            ratio,
            percent: ratio.and_then(whole_percent),
        }
    }
}

/// `part / whole`, or `None` for a zero (or non-finite) whole.
pub(crate) fn ratio(part: f64, whole: f64) -> Option<f64> {
    let r = part / whole;
    (whole != 0.0 && r.is_finite()).then_some(r)
}

/// A ratio in whole percent, rounded half up (`None` for negative or non-finite ratios).
pub fn whole_percent(ratio: f64) -> Option<u32> {
    // The small nudge keeps a true half (e.g. 0.165 typed as a decimal) from rounding down
    // because its binary value lies a hair below it.
    let p = (ratio * 100.0 + 0.5 + 1e-9).floor();
    (p.is_finite() && p >= 0.0 && p <= f64::from(u32::MAX)).then_some(p as u32)
}

/// The median of `values` (the mean of the middle two for an even count); `None` when empty.
pub(crate) fn median(values: &[f64]) -> Option<f64> {
    let mut v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let mid = v.len() / 2;
    Some(if v.len().is_multiple_of(2) {
        (v[mid - 1] + v[mid]) / 2.0
    } else {
        v[mid]
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shares_round_half_up_and_survive_a_zero_whole() {
        assert_eq!(Share::of(207, 1250).percent, Some(17));
        assert_eq!(Share::of(63, 84).percent, Some(75));
        assert_eq!(Share::of(108, 84).percent, Some(129));
        assert_eq!(Share::of(1, 8).percent, Some(13), "12.5 % rounds up");
        let none = Share::of(3, 0);
        assert_eq!((none.ratio, none.percent), (None, None));
        assert_eq!(whole_percent(f64::NAN), None);
        assert_eq!(whole_percent(-0.5), None);
    }

    #[test]
    fn the_median_of_an_even_count_is_the_mean_of_the_middle_two() {
        assert_eq!(median(&[]), None);
        assert_eq!(median(&[3.0]), Some(3.0));
        assert_eq!(median(&[4.0, 1.0, 3.0, 2.0]), Some(2.5));
        assert_eq!(median(&[f64::NAN, 5.0, 1.0, 9.0]), Some(5.0));
    }
}
