//! A course's test plan and what is due: start tests in the course's first week, optional
//! mid-course tests in its middle week, end tests in its last week.

use serde::{Deserialize, Serialize};
use time::{Date, Duration};

use super::EffectError;
use crate::assessment::kind_of;
use crate::model::AssessmentPhase;

/// Which tests (assessment catalogue keys) a course measures when.
#[derive(
    Clone,
    Debug,
    Default,
    PartialEq,
    Eq,
    Serialize,
    Deserialize,
    autosurgeon::Reconcile,
    autosurgeon::Hydrate,
)]
pub struct TestPlan {
    pub start: Vec<String>,
    /// Optional: empty means no mid-course tests.
    pub mid: Vec<String>,
    pub end: Vec<String>,
}

impl TestPlan {
    /// The shipped default (issue #11): 30-s chair stand and WHO-5 at start and end.
    pub fn default_plan() -> TestPlan {
        let both = vec!["chair_stand_30s".to_string(), "who5".to_string()];
        TestPlan {
            start: both.clone(),
            mid: Vec::new(),
            end: both,
        }
    }

    /// Every test must be in the assessment catalogue.
    pub fn check(&self) -> Result<(), EffectError> {
        self.start
            .iter()
            .chain(&self.mid)
            .chain(&self.end)
            .find(|t| kind_of(t).is_none())
            .map_or(Ok(()), |t| Err(EffectError::UnknownTest(t.clone())))
    }
}

/// Where a planned test that has no result stands on `today`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum DueStatus {
    /// Its week has not begun ("sluttest om 3 dage").
    Upcoming { days_until: i64 },
    /// Within its week; `days_left` counts today, so 1 on the week's last day.
    Due { days_left: i64 },
    /// Its week has passed without a result ("starttest mangler").
    Overdue { days_over: i64 },
}

/// A planned test without a result.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DueTest {
    pub test: String,
    pub phase: AssessmentPhase,
    #[serde(with = "super::iso_date")]
    pub window_start: Date,
    /// Inclusive: the last day of the test's week.
    #[serde(with = "super::iso_date")]
    pub window_end: Date,
    pub status: DueStatus,
}

/// The week (first and last day) in which a phase's tests are due. Start: days 1–7; end: the
/// last 7 days of the planned weeks; mid: the week holding the course's midpoint. A course of
/// 0 weeks is treated as 1. Follow-up tests are not part of a course's plan; they are given the
/// start week only so the function is total.
pub fn window(course_start: Date, planned_weeks: u32, phase: AssessmentPhase) -> (Date, Date) {
    let weeks = i64::from(planned_weeks.max(1));
    let first_day_of_week = match phase {
        AssessmentPhase::Start | AssessmentPhase::FollowUp => 0,
        AssessmentPhase::Midway => weeks / 2,
        AssessmentPhase::End => weeks - 1,
    };
    let from = course_start.saturating_add(Duration::weeks(first_day_of_week));
    (from, from.saturating_add(Duration::days(6)))
}

/// The planned tests that have no result yet, with where each stands on `today`. `recorded`
/// holds (test, phase) of every result the course has; a result counts for its own phase only.
pub fn due_tests<'a>(
    course_start: Date,
    planned_weeks: u32,
    plan: &TestPlan,
    recorded: impl IntoIterator<Item = (&'a str, AssessmentPhase)>,
    today: Date,
) -> Vec<DueTest> {
    let recorded: Vec<(&str, AssessmentPhase)> = recorded.into_iter().collect();
    let phases = [
        (AssessmentPhase::Start, &plan.start),
        (AssessmentPhase::Midway, &plan.mid),
        (AssessmentPhase::End, &plan.end),
    ];
    let mut due = Vec::new();
    for (phase, tests) in phases {
        let (from, to) = window(course_start, planned_weeks, phase);
        let status = if today < from {
            DueStatus::Upcoming {
                days_until: (from - today).whole_days(),
            }
        } else if today <= to {
            DueStatus::Due {
                days_left: (to - today).whole_days() + 1,
            }
        } else {
            DueStatus::Overdue {
                days_over: (today - to).whole_days(),
            }
        };
        for test in tests {
            if !recorded.contains(&(test.as_str(), phase)) {
                due.push(DueTest {
                    test: test.clone(),
                    phase,
                    window_start: from,
                    window_end: to,
                    status,
                });
            }
        }
    }
    due
}

/// How many days ahead a test's week may start and still be shown as a prompt.
pub const PROMPT_DAYS_AHEAD: i64 = 7;

impl DueTest {
    /// Whether a caseload or a visit should show it today: it is due, overdue, or its week
    /// begins within [`PROMPT_DAYS_AHEAD`] days ("sluttest om 3 dage"). Further ahead it is
    /// noise on a screen that must be read at a glance.
    pub fn worth_prompting(&self) -> bool {
        match self.status {
            DueStatus::Upcoming { days_until } => days_until <= PROMPT_DAYS_AHEAD,
            DueStatus::Due { .. } | DueStatus::Overdue { .. } => true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    const START: Date = date!(2026 - 03 - 02);

    fn statuses(today: Date, recorded: &[(&str, AssessmentPhase)]) -> Vec<(String, DueStatus)> {
        due_tests(
            START,
            12,
            &TestPlan::default_plan(),
            recorded.iter().copied(),
            today,
        )
        .into_iter()
        .map(|d| (format!("{}:{:?}", d.test, d.phase), d.status))
        .collect()
    }

    #[test]
    fn windows_are_the_first_middle_and_last_week() {
        use AssessmentPhase::*;
        assert_eq!(
            window(START, 12, Start),
            (date!(2026 - 03 - 02), date!(2026 - 03 - 08))
        );
        assert_eq!(
            window(START, 12, Midway),
            (date!(2026 - 04 - 13), date!(2026 - 04 - 19))
        );
        // 12 weeks end on day 84 = 2026-05-24; the last week is 05-18..05-24.
        assert_eq!(
            window(START, 12, End),
            (date!(2026 - 05 - 18), date!(2026 - 05 - 24))
        );
        assert_eq!(window(START, 0, End), window(START, 1, Start));
    }

    #[test]
    fn start_tests_are_due_in_the_first_week_then_missing() {
        use AssessmentPhase::*;
        let s = statuses(START, &[]);
        assert_eq!(s.len(), 4);
        assert_eq!(s[0].1, DueStatus::Due { days_left: 7 });
        assert_eq!(
            statuses(date!(2026 - 03 - 08), &[])[0].1,
            DueStatus::Due { days_left: 1 }
        );
        // "starttest mangler": the week passed without a result.
        assert_eq!(
            statuses(date!(2026 - 03 - 10), &[])[0].1,
            DueStatus::Overdue { days_over: 2 }
        );
        // Recorded start tests disappear; an end result does not count for the start.
        let s = statuses(
            date!(2026 - 03 - 10),
            &[("chair_stand_30s", Start), ("who5", End)],
        );
        assert_eq!(
            s.iter().map(|(t, _)| t.as_str()).collect::<Vec<_>>(),
            ["who5:Start", "chair_stand_30s:End"]
        );
    }

    #[test]
    fn end_tests_count_down_to_their_week() {
        use AssessmentPhase::*;
        let done = [("chair_stand_30s", Start), ("who5", Start)];
        // "sluttest om 3 dage".
        let s = statuses(date!(2026 - 05 - 15), &done);
        assert_eq!(s.len(), 2);
        assert!(s
            .iter()
            .all(|(_, st)| *st == DueStatus::Upcoming { days_until: 3 }));
        assert_eq!(
            statuses(date!(2026 - 05 - 25), &done)[0].1,
            DueStatus::Overdue { days_over: 1 }
        );
        let all = [done[0], done[1], ("chair_stand_30s", End), ("who5", End)];
        assert!(statuses(date!(2026 - 05 - 25), &all).is_empty());
    }

    #[test]
    fn mid_tests_only_when_planned_and_plans_name_catalogue_tests() {
        let mut plan = TestPlan::default_plan();
        plan.mid = vec!["timed_up_and_go".into()];
        let d = due_tests(START, 12, &plan, [], date!(2026 - 04 - 14));
        let mid: Vec<_> = d
            .iter()
            .filter(|d| d.phase == AssessmentPhase::Midway)
            .collect();
        assert_eq!(mid.len(), 1);
        assert_eq!(mid[0].status, DueStatus::Due { days_left: 6 });
        assert!(plan.check().is_ok());
        plan.end.push("eq5d".into());
        assert_eq!(plan.check(), Err(EffectError::UnknownTest("eq5d".into())));
        let json = serde_json::to_string(&d[0]).unwrap();
        assert!(json.contains("\"window_start\":\"2026-03-02\""), "{json}");
        assert_eq!(serde_json::from_str::<DueTest>(&json).unwrap(), d[0]);
    }

    #[test]
    fn only_due_overdue_or_within_a_week_is_worth_prompting() {
        let at = |today: Date| {
            due_tests(START, 12, &TestPlan::default_plan(), [], today)
                .into_iter()
                .filter(|d| d.phase == AssessmentPhase::End)
                .map(|d| d.worth_prompting())
                .collect::<Vec<_>>()
        };
        let (end_from, _) = window(START, 12, AssessmentPhase::End);
        // 8 days before the last week: not yet; 7 days before: yes; within and after: yes.
        assert_eq!(at(end_from - Duration::days(8)), vec![false, false]);
        assert_eq!(at(end_from - Duration::days(7)), vec![true, true]);
        assert_eq!(at(end_from), vec![true, true]);
        assert_eq!(at(end_from + Duration::days(30)), vec![true, true]);
    }
}
