//! A course's test plan and what is due: start tests in the course's first week, optional
//! mid-course tests in its middle week, end tests in its last week. A new course's plan comes
//! from its template, else the municipality's default, else the shipped default
//! ([`plan_for_new_course`]); a therapist may delegate a planned physical test to the assistant
//! ([`TestPlan::delegated`], [`TestPlan::check_delegated_result`]).

use serde::{Deserialize, Serialize};
use time::{Date, Duration};

use super::EffectError;
use crate::assessment::{kind_of, AssessmentKind};
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
    #[serde(default)]
    pub mid: Vec<String>,
    pub end: Vec<String>,
    /// Planned tests (keys) the therapist has delegated to the assistant, who may then record
    /// their results during a visit, in every phase the test is planned for. Absent in plans
    /// written before delegation existed (and in template files that delegate nothing).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[autosurgeon(missing = "Default::default")]
    pub delegated: Vec<String>,
}

/// Why an assistant's result of a delegated test is refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum DelegationError {
    #[error("`{0}` is not delegated to the assistant on this course; the therapist records it")]
    NotDelegated(String),
    #[error("`{test}` is not planned for the {phase} of this course")]
    NotPlanned { test: String, phase: &'static str },
    #[error(transparent)]
    Value(#[from] crate::model::Invalid),
}

/// Whether a test can be delegated to an assistant: a physical test with a counted or timed
/// result. The WHO-5 is already the assistant's (answered in a session) and home-care minutes
/// come from the care record, not from a visit.
pub fn delegable(test: &str) -> bool {
    kind_of(test).is_some() && !matches!(test, "who5" | "home_care_minutes")
}

/// The test plan of a new course: the template's own plan, else the municipality's default,
/// else the shipped default ([`TestPlan::default_plan`]). A template that carries a plan means
/// it, even one the municipality would have planned otherwise: the template's author chose the
/// tests for its citizens.
pub fn plan_for_new_course(
    template: Option<&TestPlan>,
    municipal_default: Option<&TestPlan>,
) -> TestPlan {
    template
        .or(municipal_default)
        .cloned()
        .unwrap_or_else(TestPlan::default_plan)
}

impl TestPlan {
    /// The shipped default (issue #11): 30-s chair stand and WHO-5 at start and end.
    pub fn default_plan() -> TestPlan {
        let both = vec!["chair_stand_30s".to_string(), "who5".to_string()];
        TestPlan {
            start: both.clone(),
            mid: Vec::new(),
            end: both,
            delegated: Vec::new(),
        }
    }

    /// Every test must be in the assessment catalogue; a delegated test must be planned and
    /// [`delegable`].
    pub fn check(&self) -> Result<(), EffectError> {
        if let Some(t) = self
            .start
            .iter()
            .chain(&self.mid)
            .chain(&self.end)
            .chain(&self.delegated)
            .find(|t| kind_of(t).is_none())
        {
            return Err(EffectError::UnknownTest(t.clone()));
        }
        if let Some(t) = self.delegated.iter().find(|t| !delegable(t)) {
            return Err(EffectError::NotDelegable(t.clone()));
        }
        if let Some(t) = self.delegated.iter().find(|t| !self.plans(t)) {
            return Err(EffectError::DelegatedNotPlanned(t.clone()));
        }
        Ok(())
    }

    /// The tests planned for `phase` (none for follow-ups: they are not part of a course's plan).
    pub fn tests_of(&self, phase: AssessmentPhase) -> &[String] {
        match phase {
            AssessmentPhase::Start => &self.start,
            AssessmentPhase::Midway => &self.mid,
            AssessmentPhase::End => &self.end,
            AssessmentPhase::FollowUp => &[],
        }
    }

    /// Whether `test` is planned in any phase.
    pub fn plans(&self, test: &str) -> bool {
        [&self.start, &self.mid, &self.end]
            .iter()
            .any(|tests| tests.iter().any(|t| t == test))
    }

    pub fn is_delegated(&self, test: &str) -> bool {
        self.delegated.iter().any(|t| t == test)
    }

    /// Whether an assistant may record `value` for `test` in `phase` on a course with this
    /// plan: the test is delegated, planned for that phase, and the value is one the test can
    /// give. The device asks before it writes; the server's admission asks again.
    pub fn check_delegated_result(
        &self,
        test: &str,
        phase: AssessmentPhase,
        value: f64,
    ) -> Result<&'static AssessmentKind, DelegationError> {
        if !self.is_delegated(test) || !delegable(test) {
            return Err(DelegationError::NotDelegated(test.to_string()));
        }
        if !self.tests_of(phase).iter().any(|t| t == test) {
            return Err(DelegationError::NotPlanned {
                test: test.to_string(),
                phase: crate::assessment::phase_key(phase),
            });
        }
        Ok(crate::assessment::validate(test, value)?)
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

impl DueStatus {
    /// Whether a result may be entered for the phase now: its week has begun.
    pub fn open(self) -> bool {
        matches!(self, DueStatus::Due { .. } | DueStatus::Overdue { .. })
    }
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
    for (phase, tests) in phases.iter() {
        let phase = *phase;
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
        for test in tests.iter() {
            if recorded.contains(&(test.as_str(), phase)) {
                continue;
            }
            due.push(DueTest {
                test: test.clone(),
                phase,
                window_start: from,
                window_end: to,
                status,
            });
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

    fn plan(start: &[&str], end: &[&str]) -> TestPlan {
        let v = |t: &[&str]| t.iter().map(|s| s.to_string()).collect();
        TestPlan {
            start: v(start),
            mid: vec![],
            end: v(end),
            delegated: vec![],
        }
    }

    #[test]
    fn a_new_course_takes_the_templates_plan_else_the_municipalitys_else_the_shipped() {
        let template = plan(&["timed_up_and_go"], &["timed_up_and_go"]);
        let municipal = plan(&["grip_strength"], &["grip_strength"]);
        assert_eq!(
            plan_for_new_course(Some(&template), Some(&municipal)),
            template
        );
        assert_eq!(plan_for_new_course(Some(&template), None), template);
        assert_eq!(plan_for_new_course(None, Some(&municipal)), municipal);
        assert_eq!(plan_for_new_course(None, None), TestPlan::default_plan());
    }

    #[test]
    fn only_planned_physical_tests_can_be_delegated() {
        let mut p = TestPlan::default_plan();
        p.delegated = vec!["chair_stand_30s".into()];
        assert_eq!(p.check(), Ok(()));
        p.delegated = vec!["who5".into()];
        assert_eq!(p.check(), Err(EffectError::NotDelegable("who5".into())));
        p.delegated = vec!["grip_strength".into()];
        assert_eq!(
            p.check(),
            Err(EffectError::DelegatedNotPlanned("grip_strength".into()))
        );
        p.delegated = vec!["eq5d".into()];
        assert_eq!(p.check(), Err(EffectError::UnknownTest("eq5d".into())));
    }

    #[test]
    fn an_assistants_result_counts_only_for_a_delegated_planned_test_within_its_range() {
        use AssessmentPhase::*;
        let mut p = TestPlan::default_plan();
        p.mid = vec!["timed_up_and_go".into()];
        // Nothing delegated yet: refused, whatever the value.
        assert_eq!(
            p.check_delegated_result("chair_stand_30s", Start, 12.0),
            Err(DelegationError::NotDelegated("chair_stand_30s".into()))
        );
        p.delegated = vec!["chair_stand_30s".into()];
        assert_eq!(
            p.check_delegated_result("chair_stand_30s", Start, 12.0)
                .map(|k| k.key),
            Ok("chair_stand_30s")
        );
        assert!(p
            .check_delegated_result("chair_stand_30s", End, 0.0)
            .is_ok());
        assert!(p
            .check_delegated_result("chair_stand_30s", End, 60.0)
            .is_ok());
        // Out of the test's range, or not a whole number of stands.
        for bad in [61.0, -1.0, 12.5, f64::NAN] {
            assert!(
                matches!(
                    p.check_delegated_result("chair_stand_30s", End, bad),
                    Err(DelegationError::Value(_))
                ),
                "{bad}"
            );
        }
        // Planned at start and end only.
        assert_eq!(
            p.check_delegated_result("chair_stand_30s", Midway, 12.0),
            Err(DelegationError::NotPlanned {
                test: "chair_stand_30s".into(),
                phase: "midway"
            })
        );
        // Planned mid-course but not delegated; the WHO-5 is never the assistant's to enter.
        assert!(p
            .check_delegated_result("timed_up_and_go", Midway, 9.0)
            .is_err());
        p.delegated.push("who5".into());
        assert!(p.check_delegated_result("who5", Start, 40.0).is_err());
    }

    #[test]
    fn plans_written_before_delegation_read_with_nothing_delegated() {
        // JSON and template TOML without `delegated` (or `mid`).
        let old: TestPlan =
            serde_json::from_str(r#"{"start":["chair_stand_30s"],"mid":[],"end":[]}"#).unwrap();
        assert!(old.delegated.is_empty());
        let toml_plan: TestPlan = toml::from_str("start = [\"sppb\"]\nend = [\"sppb\"]\n").unwrap();
        assert_eq!(toml_plan, plan(&["sppb"], &["sppb"]));
        // In a CRDT document written by an older app: the map has no `delegated` key.
        let mut doc = automerge::AutoCommit::new();
        #[derive(autosurgeon::Reconcile)]
        struct OldPlan {
            start: Vec<String>,
            mid: Vec<String>,
            end: Vec<String>,
        }
        autosurgeon::reconcile_prop(
            &mut doc,
            automerge::ROOT,
            "test_plan",
            OldPlan {
                start: vec!["chair_stand_30s".into()],
                mid: vec![],
                end: vec!["chair_stand_30s".into()],
            },
        )
        .unwrap();
        let read: TestPlan = autosurgeon::hydrate_prop(&doc, automerge::ROOT, "test_plan").unwrap();
        assert_eq!(read, plan(&["chair_stand_30s"], &["chair_stand_30s"]));
    }
}
