//! Effect across a cohort: completeness first, then judgement counts per test and for WHO-5,
//! home-care time before and after with a 95 % confidence interval, and sessions delivered.
//!
//! The input is one [`CitizenOutcome`] per citizen through a course in the period. Judging a
//! single citizen's change is `effect::change::judge` (via `effect::summary::test_outcomes`);
//! care time per citizen is `effect::care_time::care_time_change`. This module only counts and
//! averages what those give, so the cohort's figures and a course's summary cannot disagree.
//!
//! **Completeness comes first** because it decides what the rest means: Aarhus had tests for
//! 42 and WHO-5 for 35 of 174 citizens (seeds/002), so "28 of 42 improved or maintained" speaks
//! for a quarter of the cohort. Every count here says of how many.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{ratio, t_dist, Share};
use crate::effect::care_time::{CareTimeChange, FollowUpOffsets};
use crate::effect::change::Judgement;

/// The assessment catalogue's key of the WHO-5; every other test is a physical test.
pub const WHO5: &str = "who5";

/// One test of one citizen, judged start → end.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TestJudgement {
    pub test: String,
    pub judgement: Judgement,
}

/// What is known of one citizen's course.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CitizenOutcome {
    pub citizen_id: String,
    /// Each test of the course (WHO-5 under [`WHO5`]); a test appears at most once.
    pub tests: Vec<TestJudgement>,
    /// Home-care minutes at baseline and at the follow-ups; `None` without any grant.
    pub care_time: Option<CareTimeChange>,
    /// Sessions planned by the course's end (or by today for a running course).
    pub sessions_planned: u32,
    /// Sessions carried out.
    pub sessions_delivered: u32,
}

impl CitizenOutcome {
    fn judgement(&self, test: &str) -> Option<Judgement> {
        self.tests
            .iter()
            .find(|t| t.test == test)
            .map(|t| t.judgement)
    }

    fn has_complete_physical_test(&self) -> bool {
        self.tests
            .iter()
            .any(|t| t.test != WHO5 && t.judgement != Judgement::Incomplete)
    }

    /// Minutes per week at baseline and at the follow-up `offset_days`, when both are known.
    fn care_pair(&self, offset_days: u32) -> Option<(u32, u32)> {
        let c = self.care_time.as_ref()?;
        let after = c
            .follow_ups
            .iter()
            .find(|f| f.offset_days == offset_days)?
            .minutes_per_week?;
        Some((c.baseline_minutes_per_week?, after))
    }
}

/// Judgements of one test across the cohort. `incomplete` counts every citizen of the cohort
/// without both a start and an end result, whether the test was planned or not, so
/// `complete + incomplete` is the cohort.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct JudgementCounts {
    pub test: String,
    pub improved: u32,
    pub maintained: u32,
    pub declined: u32,
    pub incomplete: u32,
    /// Improved + maintained + declined.
    pub complete: u32,
    /// "Fremgang eller vedligehold": improved or maintained of those complete (28 of 42).
    pub improved_or_maintained: Share,
}

/// Counts `test`'s judgements over `cohort`.
pub fn judgement_counts(cohort: &[CitizenOutcome], test: &str) -> JudgementCounts {
    let (mut improved, mut maintained, mut declined) = (0u32, 0u32, 0u32);
    for c in cohort {
        match c.judgement(test) {
            Some(Judgement::Improved) => improved += 1,
            Some(Judgement::Maintained) => maintained += 1,
            Some(Judgement::Declined) => declined += 1,
            Some(Judgement::Incomplete) | None => {}
        }
    }
    let complete = improved + maintained + declined;
    JudgementCounts {
        test: test.into(),
        improved,
        maintained,
        declined,
        incomplete: count(cohort.len()).saturating_sub(complete),
        complete,
        improved_or_maintained: Share::of(improved + maintained, complete),
    }
}

fn count(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// Of the courses completed, how many have the data the effect rests on.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Completeness {
    /// The people behind the courses: a citizen with two courses counts once. What the target
    /// "citizens through courses" and small-number suppression count. The courses, each
    /// judged on its own and the wholes of the shares below, are `SessionDelivery::courses`.
    pub citizens: u32,
    /// At least one physical test with a start and an end result (Aarhus: 42 of 174).
    pub with_start_and_end_test: Share,
    /// WHO-5 at start and end (Aarhus: 35 of 174).
    pub with_who5_start_and_end: Share,
    /// Per follow-up: care time known at baseline and at the follow-up (Aarhus: 64 at 77 days).
    pub with_care_time: Vec<FollowUpShare>,
}

/// Citizens with care time known at baseline and at a follow-up.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct FollowUpShare {
    pub offset_days: u32,
    pub share: Share,
}

/// An interval.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Interval {
    pub low: f64,
    pub high: f64,
}

/// Home-care time at baseline and at one follow-up, for the citizens who have both.
///
/// Minutes per day are the granted minutes per week ÷ 7 (grants are weekly, domain.md §3;
/// Aarhus reports per day). The change in per cent is the change of the means,
/// (mean after − mean before) ÷ mean before, as Aarhus computed its −21.81 %: it weighs each
/// citizen by their care time, which is what the municipality pays for. The 95 % interval is
/// the paired one of the mean difference, mean(d) ± t(0.975, n − 1) · sd(d) / √n with d = after
/// − before per citizen (Student's t, [`t_dist`]); in per cent it is that interval ÷ the mean
/// before, which treats the baseline mean as fixed. It needs n ≥ 2.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CareTimeEffect {
    pub offset_days: u32,
    pub n: u32,
    pub mean_before_minutes_per_day: Option<f64>,
    pub mean_after_minutes_per_day: Option<f64>,
    /// Mean of after − before; negative is less home care.
    pub mean_change_minutes_per_day: Option<f64>,
    pub change_percent: Option<f64>,
    pub ci95_change_minutes_per_day: Option<Interval>,
    pub ci95_change_percent: Option<Interval>,
}

/// The care-time effect at `offset_days` over `cohort`.
pub fn care_time_effect(cohort: &[CitizenOutcome], offset_days: u32) -> CareTimeEffect {
    let pairs: Vec<(f64, f64)> = cohort
        .iter()
        .filter_map(|c| c.care_pair(offset_days))
        .map(|(b, a)| (f64::from(b) / 7.0, f64::from(a) / 7.0))
        .collect();
    let n = pairs.len();
    let mean = |f: &dyn Fn(&(f64, f64)) -> f64| ratio(pairs.iter().map(f).sum::<f64>(), n as f64);
    let before = mean(&|p| p.0);
    let after = mean(&|p| p.1);
    let change = mean(&|p| p.1 - p.0);
    let change_percent = before
        .zip(after)
        .and_then(|(b, a)| ratio(a - b, b))
        .map(|r| r * 100.0);
    let ci = change.and_then(|d| {
        let df = u32::try_from(n.checked_sub(1)?).ok()?;
        let sum_sq: f64 = pairs.iter().map(|p| (p.1 - p.0 - d).powi(2)).sum();
        let sd = (sum_sq / f64::from(df)).sqrt();
        let half = t_dist::quantile(0.975, df)? * sd / (n as f64).sqrt();
        half.is_finite().then_some(Interval {
            low: d - half,
            high: d + half,
        })
    });
    let ci_percent = ci.zip(before).and_then(|(i, b)| {
        Some(Interval {
            low: ratio(i.low, b)? * 100.0,
            high: ratio(i.high, b)? * 100.0,
        })
    });
    CareTimeEffect {
        offset_days,
        n: count(n),
        mean_before_minutes_per_day: before,
        mean_after_minutes_per_day: after,
        mean_change_minutes_per_day: change,
        change_percent,
        ci95_change_minutes_per_day: ci,
        ci95_change_percent: ci_percent,
    }
}

/// Sessions delivered against planned, pooled over the cohort: Σ delivered ÷ Σ planned, so a
/// long course weighs by its sessions. In whole percent rounded down, like the caseload's
/// adherence (`caseload::adherence_percent`), so the two never disagree on a single course.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SessionDelivery {
    pub courses: u32,
    pub planned: u64,
    pub delivered: u64,
    pub adherence: Option<f64>,
    pub adherence_percent: Option<u32>,
    /// Mean sessions delivered per course.
    pub mean_delivered_per_course: Option<f64>,
}

pub fn session_delivery(cohort: &[CitizenOutcome]) -> SessionDelivery {
    let planned: u64 = cohort.iter().map(|c| u64::from(c.sessions_planned)).sum();
    let delivered: u64 = cohort.iter().map(|c| u64::from(c.sessions_delivered)).sum();
    let adherence = ratio(delivered as f64, planned as f64);
    SessionDelivery {
        courses: count(cohort.len()),
        planned,
        delivered,
        adherence,
        adherence_percent: (planned > 0)
            .then(|| u32::try_from(delivered.saturating_mul(100) / planned).unwrap_or(u32::MAX)),
        mean_delivered_per_course: ratio(delivered as f64, cohort.len() as f64),
    }
}

/// The effect page and the report's effect section.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EffectEvidence {
    pub completeness: Completeness,
    /// Physical tests, by catalogue key.
    pub tests: Vec<JudgementCounts>,
    pub who5: JudgementCounts,
    /// One per follow-up offset.
    pub care_time: Vec<CareTimeEffect>,
    pub sessions: SessionDelivery,
}

/// Everything of the effect for `cohort`, with care time at each of `offsets`.
pub fn effect_evidence(cohort: &[CitizenOutcome], offsets: &FollowUpOffsets) -> EffectEvidence {
    let courses = count(cohort.len());
    let citizens = count(
        cohort
            .iter()
            .map(|c| c.citizen_id.as_str())
            .collect::<std::collections::BTreeSet<_>>()
            .len(),
    );
    let tested = count(
        cohort
            .iter()
            .filter(|c| c.has_complete_physical_test())
            .count(),
    );
    let who5 = judgement_counts(cohort, WHO5);
    let mut test_keys: BTreeMap<&str, ()> = BTreeMap::new();
    for c in cohort {
        for t in c.tests.iter().filter(|t| t.test != WHO5) {
            test_keys.insert(t.test.as_str(), ());
        }
    }
    let with_care_time = offsets
        .0
        .iter()
        .map(|&o| {
            let n = cohort.iter().filter(|c| c.care_pair(o).is_some()).count();
            FollowUpShare {
                offset_days: o,
                share: Share::of(count(n), courses),
            }
        })
        .collect();
    EffectEvidence {
        completeness: Completeness {
            citizens,
            with_start_and_end_test: Share::of(tested, courses),
            with_who5_start_and_end: Share::of(who5.complete, courses),
            with_care_time,
        },
        tests: test_keys
            .into_keys()
            .map(|t| judgement_counts(cohort, t))
            .collect(),
        who5,
        care_time: offsets
            .0
            .iter()
            .map(|&o| care_time_effect(cohort, o))
            .collect(),
        sessions: session_delivery(cohort),
    }
}

/// Each quarter's effect, as the benchmark's suppression reads a history
/// (`Suppression::indicators_in_quarters`, which adds quarters' citizens up into blocks): a
/// citizen counts in the first quarter they appear in only, so a sum counts people once. With
/// each quarter's own count, a citizen with courses in two quarters of a block counted twice,
/// and a block closed with fewer people than the minimum.
pub fn quarterly_history(
    quarters: &[Vec<CitizenOutcome>],
    offsets: &FollowUpOffsets,
) -> Vec<EffectEvidence> {
    let mut seen: std::collections::BTreeSet<&str> = Default::default();
    quarters
        .iter()
        .map(|q| {
            let mut e = effect_evidence(q, offsets);
            let first_here = q
                .iter()
                .filter(|c| seen.insert(c.citizen_id.as_str()))
                .count();
            e.completeness.citizens = count(first_here);
            e
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::effect::care_time::FollowUp;
    use time::macros::date;

    pub(crate) fn care(before: Option<u32>, after77: Option<u32>) -> CareTimeChange {
        CareTimeChange {
            baseline_minutes_per_week: before,
            follow_ups: vec![FollowUp {
                offset_days: 77,
                date: date!(2026 - 06 - 14),
                minutes_per_week: after77,
                change_minutes: None,
                change_percent: None,
                awaiting_grants: false,
            }],
        }
    }

    /// A course of a citizen of its own.
    fn citizen(tests: &[(&str, Judgement)], care_time: Option<CareTimeChange>) -> CitizenOutcome {
        static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        CitizenOutcome {
            citizen_id: format!("c{n}"),
            tests: tests
                .iter()
                .map(|(t, j)| TestJudgement {
                    test: (*t).into(),
                    judgement: *j,
                })
                .collect(),
            care_time,
            sessions_planned: 36,
            sessions_delivered: 30,
        }
    }

    /// Five citizens in the first quarter, the same five back in the second, ten others in the
    /// third (a minimum of ten): the first two quarters hold five people, not ten, so they
    /// close no block of their own, and the third alone, with 15 people before it, is not
    /// shown (the first two would be its difference from all three).
    #[test]
    fn a_citizen_in_two_quarters_counts_once_in_the_history() {
        use crate::evidence::suppression::{Figure, Suppression};
        let person = |id: &str| CitizenOutcome {
            citizen_id: id.into(),
            ..citizen(&[("chair_stand_30s", Judgement::Improved)], None)
        };
        let five: Vec<CitizenOutcome> = (0..5).map(|i| person(&format!("a{i}"))).collect();
        let ten: Vec<CitizenOutcome> = (0..10).map(|i| person(&format!("f{i}"))).collect();
        let quarters = vec![five.clone(), five, ten];
        let history = quarterly_history(&quarters, &FollowUpOffsets::default());
        let counts: Vec<u32> = history.iter().map(|e| e.completeness.citizens).collect();
        assert_eq!(counts, [5, 0, 10]);
        let rule = Suppression { min_citizens: 10 };
        let third = effect_evidence(&quarters[2], &FollowUpOffsets::default());
        assert_eq!(
            rule.indicators_in_quarters(&third, &history, 2..3)
                .citizens_through_courses,
            Figure::Suppressed { below: 10 }
        );
        let all: Vec<CitizenOutcome> = quarters.concat();
        let whole = effect_evidence(&all, &FollowUpOffsets::default());
        assert_eq!(
            rule.indicators_in_quarters(&whole, &history, 0..3)
                .citizens_through_courses,
            Figure::Shown(15)
        );
    }

    /// A citizen back for a second course in the period is one person: what suppression and
    /// the target count. Each course is still judged, and the shares are of courses.
    #[test]
    fn a_citizen_with_two_courses_counts_once_and_each_course_is_judged() {
        use Judgement::*;
        let first = citizen(&[("chair_stand_30s", Improved)], None);
        let again = CitizenOutcome {
            citizen_id: first.citizen_id.clone(),
            ..citizen(&[("chair_stand_30s", Declined)], None)
        };
        let other = citizen(&[], None);
        let e = effect_evidence(&[first, again, other], &FollowUpOffsets::default());
        assert_eq!((e.completeness.citizens, e.sessions.courses), (2, 3));
        assert_eq!(e.completeness.with_start_and_end_test, Share::of(2, 3));
        let chair = &e.tests[0];
        assert_eq!(
            (chair.improved, chair.declined, chair.incomplete),
            (1, 1, 1)
        );
        use crate::evidence::suppression::{Figure, Suppression};
        assert_eq!(
            Suppression { min_citizens: 3 }
                .indicators(&e)
                .citizens_through_courses,
            Figure::Suppressed { below: 3 },
            "three courses of two people are too few for a minimum of three"
        );
    }

    #[test]
    fn counts_say_of_how_many_and_incomplete_covers_the_whole_cohort() {
        use Judgement::*;
        let cohort = vec![
            citizen(&[("chair_stand_30s", Improved), (WHO5, Maintained)], None),
            citizen(
                &[
                    ("chair_stand_30s", Declined),
                    ("timed_up_and_go", Incomplete),
                ],
                None,
            ),
            citizen(&[("timed_up_and_go", Maintained), (WHO5, Incomplete)], None),
            citizen(&[], None),
        ];
        let e = effect_evidence(&cohort, &FollowUpOffsets::default());
        assert_eq!((e.completeness.citizens, e.sessions.courses), (4, 4));
        assert_eq!(e.completeness.with_start_and_end_test.part, 3);
        assert_eq!(e.completeness.with_who5_start_and_end.part, 1);
        assert_eq!(
            e.completeness.with_care_time,
            [77, 365].map(|offset_days| FollowUpShare {
                offset_days,
                share: Share::of(0, 4)
            })
        );
        let keys: Vec<&str> = e.tests.iter().map(|t| t.test.as_str()).collect();
        assert_eq!(keys, ["chair_stand_30s", "timed_up_and_go"]);
        let chair = &e.tests[0];
        assert_eq!(
            (
                chair.improved,
                chair.declined,
                chair.complete,
                chair.incomplete
            ),
            (1, 1, 2, 2)
        );
        assert_eq!(chair.improved_or_maintained.percent, Some(50));
        assert_eq!((e.who5.maintained, e.who5.incomplete), (1, 3));
        assert_eq!(e.sessions.adherence_percent, Some(83));
        assert_eq!(e.sessions.planned, 144);
    }

    #[test]
    fn care_time_is_paired_per_citizen_with_a_t_interval() {
        // Minutes per week 7·(10, 8), 7·(6, 6), 7·(8, 5): per day (10, 8), (6, 6), (8, 5).
        let cohort = vec![
            citizen(&[], Some(care(Some(70), Some(56)))),
            citizen(&[], Some(care(Some(42), Some(42)))),
            citizen(&[], Some(care(Some(56), Some(35)))),
            // Not paired: no baseline, or the follow-up not yet known.
            citizen(&[], Some(care(None, Some(300)))),
            citizen(&[], Some(care(Some(300), None))),
            citizen(&[], None),
        ];
        let c = care_time_effect(&cohort, 77);
        assert_eq!(c.n, 3);
        assert!((c.mean_before_minutes_per_day.unwrap() - 8.0).abs() < 1e-12);
        assert!((c.mean_after_minutes_per_day.unwrap() - 19.0 / 3.0).abs() < 1e-12);
        // d = −2, 0, −3: mean −5/3, sd √(7/3), t(0.975, 2) = 4.302653.
        let d = -5.0 / 3.0;
        assert!((c.mean_change_minutes_per_day.unwrap() - d).abs() < 1e-12);
        assert!((c.change_percent.unwrap() - d / 8.0 * 100.0).abs() < 1e-9);
        let half = 4.302_652_730 * (7.0f64 / 3.0).sqrt() / 3.0f64.sqrt();
        let ci = c.ci95_change_minutes_per_day.unwrap();
        assert!((ci.low - (d - half)).abs() < 1e-8 && (ci.high - (d + half)).abs() < 1e-8);
        let pct = c.ci95_change_percent.unwrap();
        assert!((pct.low - (d - half) / 8.0 * 100.0).abs() < 1e-6);
        // Nobody at 365 days; one pair has no interval; a zero baseline has no percentage.
        let none = care_time_effect(&cohort, 365);
        assert_eq!(
            (
                none.n,
                none.mean_before_minutes_per_day,
                none.ci95_change_percent
            ),
            (0, None, None)
        );
        let one = care_time_effect(&cohort[..1], 77);
        assert_eq!((one.n, one.ci95_change_minutes_per_day), (1, None));
        let zero = care_time_effect(&[citizen(&[], Some(care(Some(0), Some(70))))], 77);
        assert_eq!(
            (zero.change_percent, zero.mean_change_minutes_per_day),
            (None, Some(10.0))
        );
        // Nothing at all: no division by zero anywhere.
        let empty = effect_evidence(&[], &FollowUpOffsets::default());
        assert_eq!(empty.completeness.with_start_and_end_test.ratio, None);
        assert_eq!(empty.sessions.adherence, None);
        assert_eq!(empty.who5.improved_or_maintained.ratio, None);
        assert!(serde_json::to_string(&empty).is_ok());
    }
}
