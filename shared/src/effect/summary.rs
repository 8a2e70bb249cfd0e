//! A course's tests start → end, paired and judged: the part of the effect summary that is
//! rules (the storage layer supplies the assessments, the UI prints the result).

use serde::{Deserialize, Serialize};

use super::change::{against_norm, judge, ChangeTable, Judgement, Norm, NormResult, Sex};
use super::plan::TestPlan;
use crate::ids::UserId;
use crate::model::{parse_date, Assessment, AssessmentPhase, MeasuredAt};

/// The citizen's optional birth year and sex, for norms (no CPR needed).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NormSubject {
    pub birth_year: i32,
    pub sex: Sex,
}

/// One test of a course, start → end.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TestOutcome {
    pub test: String,
    pub start: Option<f64>,
    pub end: Option<f64>,
    /// `None` for a test without a meaningful-change value (e.g. Berg balance).
    pub judgement: Option<Judgement>,
    /// The end result (or the start, without an end) against the age/sex norm, where one exists.
    pub norm: Option<NormResult>,
    /// Who measured the start and the end result, and where (issue #11: a delegated test is
    /// measured by the assistant, at home).
    pub start_measured: Option<Measured>,
    pub end_measured: Option<Measured>,
}

/// Who measured a result and where (`None`: not recorded, as in results from before).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Measured {
    pub by: UserId,
    pub place: Option<MeasuredAt>,
}

/// Pairs the course's results per test: the first start result (by date) with the last end
/// result, so a re-test at the end replaces the earlier one and a re-test at the start does
/// not move the baseline. Every test of the plan is listed, results or not (missing ones are
/// `Incomplete`), then any other test that has a start or end result. Results with a date that
/// cannot be read are ignored rather than guessed at.
pub fn test_outcomes(
    assessments: &[Assessment],
    plan: &TestPlan,
    table: &ChangeTable,
    norms: &[Norm],
    subject: Option<NormSubject>,
) -> Vec<TestOutcome> {
    let mut tests: Vec<&str> = Vec::new();
    let planned = plan.start.iter().chain(&plan.end).map(String::as_str);
    let recorded = assessments
        .iter()
        .filter(|a| matches!(a.phase, AssessmentPhase::Start | AssessmentPhase::End))
        .map(|a| a.kind.as_str());
    for t in planned.chain(recorded) {
        if !tests.contains(&t) {
            tests.push(t);
        }
    }
    let dated = |phase: AssessmentPhase, test: &str| -> Vec<(time::Date, f64, Measured)> {
        assessments
            .iter()
            .filter(|a| a.phase == phase && a.kind == test)
            .filter_map(|a| {
                let measured = Measured {
                    by: a.by,
                    place: a.place,
                };
                Some((parse_date(&a.date).ok()?, a.value, measured))
            })
            .collect()
    };
    tests
        .into_iter()
        .map(|test| {
            let start = dated(AssessmentPhase::Start, test)
                .into_iter()
                .min_by_key(|(d, _, _)| *d);
            let end = dated(AssessmentPhase::End, test)
                .into_iter()
                .max_by_key(|(d, _, _)| *d);
            let judgement = judge(test, start.map(|s| s.1), end.map(|e| e.1), table).ok();
            let norm = subject.and_then(|s| {
                let (date, value, _) = end.or(start)?;
                against_norm(test, value, s.birth_year, s.sex, date.year(), norms, table)
            });
            TestOutcome {
                test: test.into(),
                start: start.map(|s| s.1),
                end: end.map(|e| e.1),
                judgement,
                norm,
                start_measured: start.map(|s| s.2),
                end_measured: end.map(|e| e.2),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::effect::change::{default_changes, default_norms, NormPosition};
    use crate::ids::{AssessmentId, UserId};

    fn result(kind: &str, phase: AssessmentPhase, date: &str, value: f64) -> Assessment {
        Assessment {
            id: AssessmentId::new(),
            kind: kind.into(),
            value,
            unit: String::new(),
            date: date.into(),
            phase,
            by: UserId::new(),
            note: None,
            place: None,
        }
    }

    #[test]
    fn results_are_paired_first_start_with_last_end_and_judged() {
        use AssessmentPhase::*;
        let a = vec![
            result("chair_stand_30s", End, "2026-05-20", 13.0),
            result("chair_stand_30s", Start, "2026-03-04", 8.0),
            result("chair_stand_30s", Start, "2026-03-06", 9.0),
            result("chair_stand_30s", End, "2026-05-22", 12.0),
            result("chair_stand_30s", Midway, "2026-04-15", 20.0),
            result("who5", Start, "2026-03-04", 48.0),
            result("timed_up_and_go", Start, "2026-03-04", 16.0),
            result("timed_up_and_go", End, "2026-05-22", 13.5),
            result("berg_balance", Start, "2026-03-04", 40.0),
            result("berg_balance", End, "not a date", 50.0),
        ];
        let subject = NormSubject {
            birth_year: 1948,
            sex: Sex::Female,
        };
        let o = test_outcomes(
            &a,
            &TestPlan::default_plan(),
            &default_changes(),
            &default_norms(),
            Some(subject),
        );
        let tests: Vec<&str> = o.iter().map(|o| o.test.as_str()).collect();
        assert_eq!(
            tests,
            ["chair_stand_30s", "who5", "timed_up_and_go", "berg_balance"]
        );
        assert_eq!((o[0].start, o[0].end), (Some(8.0), Some(12.0)));
        assert_eq!(o[0].judgement, Some(Judgement::Improved));
        // 78 in 2026: mean 17, 12 is below by more than 2.5.
        let norm = o[0].norm.as_ref().unwrap();
        assert_eq!((norm.norm.mean, norm.position), (17.0, NormPosition::Below));
        assert_eq!(o[1].judgement, Some(Judgement::Incomplete));
        assert_eq!(o[1].end, None);
        assert_eq!(o[2].judgement, Some(Judgement::Improved));
        assert_eq!(o[2].norm, None);
        assert_eq!((o[3].end, o[3].judgement), (None, None));
        let anonymous = test_outcomes(&a, &TestPlan::default(), &default_changes(), &[], None);
        assert!(anonymous.iter().all(|o| o.norm.is_none()));
    }
}
