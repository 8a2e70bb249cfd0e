//! Properties over arbitrary input: the rules hold and nothing panics.

use proptest::prelude::*;
use time::{Date, Duration};

use super::business_case::{business_case, Outcomes, Prices};
use super::effect::{effect_evidence, CitizenOutcome, TestJudgement, WHO5};
use super::funnel::{few_recruiters, funnel, Ending, Inclusion, ReferralFacts, Unit};
use super::suppression::{Figure, Suppression};
use super::t_dist;
use super::targets::{target_status, Period, TargetKind, YearlyTarget};
use crate::effect::care_time::{CareTimeChange, FollowUp, FollowUpOffsets};
use crate::effect::change::Judgement;

/// A line is safe when its total is hidden, or its hidden cells are none, or at least two
/// that add up to the minimum.
fn line_safe(values: &[u32], hidden: &[bool], total_hidden: bool, min: u32) -> bool {
    let (n, sum) = values
        .iter()
        .zip(hidden)
        .filter(|(_, h)| **h)
        .fold((0, 0u64), |(n, s), (v, _)| (n + 1, s + u64::from(*v)));
    total_hidden || n == 0 || (n >= 2 && sum >= u64::from(min))
}

fn judgement() -> impl Strategy<Value = Judgement> {
    prop_oneof![
        Just(Judgement::Improved),
        Just(Judgement::Maintained),
        Just(Judgement::Declined),
        Just(Judgement::Incomplete),
    ]
}

fn day(offset: i64) -> Date {
    time::macros::date!(2026 - 01 - 01)
        .checked_add(Duration::days(offset))
        .unwrap_or(Date::MIN)
}

proptest! {
    #[test]
    fn siblings_never_leave_a_hidden_cell_derivable(
        cells in prop::collection::vec(0u32..60, 0..8),
        min in 1u32..20,
    ) {
        let s = Suppression { min_citizens: min };
        let total: u32 = cells.iter().sum();
        let (t, figures) = s.siblings(total, &cells);
        let hidden: Vec<bool> = figures.iter().map(Figure::is_suppressed).collect();
        for (c, h) in cells.iter().zip(&hidden) {
            prop_assert!(*c >= min || *h, "a small cell is shown");
        }
        prop_assert!(line_safe(&cells, &hidden, t.is_suppressed(), min));
    }

    #[test]
    fn grids_are_safe_on_every_line(
        rows in prop::collection::vec(prop::collection::vec(0u32..40, 1..5), 0..5),
        min in 1u32..15,
    ) {
        let s = Suppression { min_citizens: min };
        let g = s.grid(&rows);
        let width = g.column_totals.len();
        let cells: Vec<Vec<u32>> = rows
            .iter()
            .map(|r| (0..width).map(|j| r.get(j).copied().unwrap_or(0)).collect())
            .collect();
        for (i, r) in cells.iter().enumerate() {
            let hidden: Vec<bool> = g.cells[i].iter().map(Figure::is_suppressed).collect();
            for (v, h) in r.iter().zip(&hidden) {
                prop_assert!(*v >= min || *h);
            }
            prop_assert!(line_safe(r, &hidden, g.row_totals[i].is_suppressed(), min));
        }
        for j in 0..width {
            let col: Vec<u32> = cells.iter().map(|r| r[j]).collect();
            let hidden: Vec<bool> = g.cells.iter().map(|r| r[j].is_suppressed()).collect();
            prop_assert!(line_safe(&col, &hidden, g.column_totals[j].is_suppressed(), min));
        }
        let hidden_rows: Vec<bool> = g.row_totals.iter().map(Figure::is_suppressed).collect();
        let row_totals: Vec<u32> = cells.iter().map(|r| r.iter().sum()).collect();
        prop_assert!(line_safe(&row_totals, &hidden_rows, g.total.is_suppressed(), min));
        let hidden_cols: Vec<bool> = g.column_totals.iter().map(Figure::is_suppressed).collect();
        let col_totals: Vec<u32> = (0..width).map(|j| cells.iter().map(|r| r[j]).sum()).collect();
        prop_assert!(line_safe(&col_totals, &hidden_cols, g.total.is_suppressed(), min));
    }

    #[test]
    fn the_quantile_inverts_the_cdf(p in 0.0005f64..0.9995, df in 1u32..400) {
        let t = t_dist::quantile(p, df).unwrap();
        prop_assert!((t_dist::cdf(t, df).unwrap() - p).abs() < 1e-9);
    }

    #[test]
    fn the_funnel_narrows_stage_by_stage(
        facts in prop::collection::vec(
            (0u8..3, 0u8..3, any::<bool>(), 0u8..3, any::<bool>(), 0u8..3),
            0..40,
        ),
    ) {
        let facts: Vec<ReferralFacts> = facts
            .into_iter()
            .map(|(team, therapist, screened, inclusion, started, ending)| ReferralFacts {
                team_id: format!("team-{team}"),
                therapist_id: (therapist > 0).then(|| format!("t-{therapist}")),
                month: format!("2026-0{}", 1 + team),
                screened,
                inclusion: match inclusion {
                    0 => None,
                    1 => Some(Inclusion::Included),
                    _ => Some(Inclusion::NotIncluded { reason: "declined".into() }),
                },
                started,
                ending: match ending {
                    0 => None,
                    1 => Some(Ending::Completed),
                    _ => Some(Ending::EndedEarly { reason: None }),
                },
            })
            .collect();
        let f = funnel(&facts);
        let c = f.total;
        prop_assert_eq!(c.referred as usize, facts.len());
        prop_assert!(c.referred >= c.screened);
        prop_assert!(c.screened >= c.included + c.not_included);
        prop_assert!(c.included >= c.started);
        prop_assert!(c.started >= c.completed + c.ended_early);
        let reasons: u32 = f.not_included_by_reason.iter().map(|r| r.count).sum();
        prop_assert_eq!(reasons, c.not_included);
        let per_team: u32 = f.by_team.iter().map(|t| t.counts.referred).sum();
        prop_assert_eq!(per_team, c.referred);
        prop_assert!(few_recruiters(&facts, Unit::Therapist, &[], 0.5).is_ok());
    }

    #[test]
    fn effect_figures_never_panic_and_count_the_whole_cohort(
        cohort in prop::collection::vec(
            (
                prop::collection::vec((0u8..3, judgement()), 0..3),
                prop::option::of((prop::option::of(0u32..3000), prop::option::of(0u32..3000))),
                0u32..50,
                0u32..50,
            ),
            0..30,
        ),
    ) {
        let cohort: Vec<CitizenOutcome> = cohort
            .into_iter()
            .enumerate()
            .map(|(i, (tests, care, planned, delivered))| {
                let mut seen = Vec::new();
                let tests = tests
                    .into_iter()
                    .filter(|(k, _)| {
                        let fresh = !seen.contains(k);
                        seen.push(*k);
                        fresh
                    })
                    .map(|(k, judgement)| TestJudgement {
                        test: ["chair_stand_30s", WHO5, "timed_up_and_go"][usize::from(k)].into(),
                        judgement,
                    })
                    .collect();
                CitizenOutcome {
                    citizen_id: format!("c{i}"),
                    tests,
                    care_time: care.map(|(before, after)| CareTimeChange {
                        baseline_minutes_per_week: before,
                        follow_ups: vec![FollowUp {
                            offset_days: 77,
                            date: day(0),
                            minutes_per_week: after,
                            change_minutes: None,
                            change_percent: None,
                            awaiting_grants: false,
                        }],
                    }),
                    sessions_planned: planned,
                    sessions_delivered: delivered,
                }
            })
            .collect();
        let e = effect_evidence(&cohort, &FollowUpOffsets::default());
        for t in e.tests.iter().chain(std::iter::once(&e.who5)) {
            prop_assert_eq!(t.complete + t.incomplete, e.sessions.courses);
        }
        let care = &e.care_time[0];
        if let (Some(ci), Some(d)) = (care.ci95_change_minutes_per_day, care.mean_change_minutes_per_day) {
            prop_assert!(ci.low <= d + 1e-9 && d <= ci.high + 1e-9);
        }
        let indicators = Suppression::default().indicators(&e);
        prop_assert!(serde_json::to_string(&indicators).is_ok());
    }

    #[test]
    fn business_cases_and_targets_take_any_number(
        prices in prop::collection::vec(prop_oneof![any::<f64>(), 0.0f64..1e6], 9),
        saved in prop_oneof![any::<f64>(), -60.0f64..60.0],
        citizens in any::<u32>(),
        reached in any::<u32>(),
        target in any::<u32>(),
        start in -400i64..800,
        length in -10i64..900,
        as_of in -800i64..1600,
    ) {
        let p = Prices {
            dkk_per_home_care_hour: prices[0],
            dkk_per_assistant_hour: prices[1],
            dkk_per_therapist_hour: prices[2],
            therapist_hours_per_course: prices[3],
            assistant_minutes_per_session: prices[4],
            licence_dkk_per_year: prices[5],
            tablets_dkk_per_year: prices[6],
            hours_per_fte: prices[7],
            effect_days: prices[8],
        };
        let o = Outcomes {
            minutes_per_day_saved_per_citizen: saved,
            citizens_per_year: citizens,
            sessions_per_course: 30.0,
        };
        if let Ok(b) = business_case(&p, &o) {
            prop_assert!(b.lines.iter().all(|l| !l.worked_da.is_empty()));
        }
        let period = Period { start: day(start), end: day(start + length) };
        let targets = [
            YearlyTarget { kind: TargetKind::CitizensThroughCourses, year: 2025, target },
            YearlyTarget { kind: TargetKind::CitizensThroughCourses, year: 2026, target },
            YearlyTarget { kind: TargetKind::CitizensThroughCourses, year: 2027, target },
            YearlyTarget { kind: TargetKind::CitizensThroughCourses, year: 2028, target },
        ];
        if let Some(s) = target_status(&targets, TargetKind::CitizensThroughCourses, reached, period, day(as_of)) {
            prop_assert!(s.share_expected.is_none_or(|e| e <= 1.0 + 1e-9));
            prop_assert_eq!(s.light.is_some(), s.projected_percent.is_some());
        }
    }
}
