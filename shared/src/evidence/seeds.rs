//! The seeds reproduced from per-citizen and per-person facts, through the same functions the
//! server calls: Aarhus' result (seeds/002: 52.81 → 41.29 min/day, −21.81 % for 64 citizens;
//! 28 of 42 tested and 25 of 35 with WHO-5 improved or maintained, of 174) and the
//! Thisted/Haderslev evaluation's Tabel 4 (seeds/000: 207 of 1,250 citizens, 17 %; 108 trained
//! of 84 targeted; 63 active).

use time::macros::date;
use time::Date;

use super::business_case::{business_case, Outcomes, Prices, DEFAULT_HOURS_PER_FTE};
use super::effect::{effect_evidence, CitizenOutcome, TestJudgement, WHO5};
use super::funnel::{funnel, Ending, Inclusion, ReferralFacts};
use super::staff::{staff_in_use, trained_in, StaffMember, Work, WorkDone};
use super::suppression::{Figure, Suppression};
use super::targets::{target_status, Light, Period, TargetKind, YearlyTarget};
use crate::effect::care_time::{care_time_change, CareGrant, FollowUpOffsets};
use crate::effect::change::{default_changes, judge, Judgement};
use crate::model::Role;

const CHAIR: &str = "chair_stand_30s";

/// A judged test from start and end results, by the same rule as a course's summary.
fn judged(test: &str, start: f64, end: Option<f64>) -> TestJudgement {
    TestJudgement {
        test: test.into(),
        judgement: judge(test, Some(start), end, &default_changes()).unwrap(),
    }
}

/// Aarhus' 174 citizens. Home-care minutes per week before and 77 days after: 63 citizens
/// spread over 225–524 min/week with cuts of 0–159, and the 64th making the sums 23,659 and
/// 18,498 min/week, i.e. 52.81 and 41.29 min/day on average (the published means, to the
/// minute a care record system grants in).
fn aarhus() -> Vec<CitizenOutcome> {
    let (start, end) = (date!(2021 - 09 - 06), date!(2021 - 11 - 28)); // a 12-week course
    let today = date!(2022 - 10 - 01);
    let mut before: Vec<u32> = (0..63).map(|i| 225 + (i * 53) % 300).collect();
    let mut after: Vec<u32> = before
        .iter()
        .enumerate()
        .map(|(i, b)| b - (i as u32 * 29) % 160)
        .collect();
    before.push(23_659 - before.iter().sum::<u32>());
    after.push(18_498 - after.iter().sum::<u32>());
    assert_eq!((before[63], after[63]), (475, 431));

    (0..174)
        .map(|i| {
            let mut tests = Vec::new();
            // 42 with a 30-s chair stand at start and end: 17 improved, 11 maintained, 14
            // declined (28 improved or maintained); 30 more tested only at the start.
            let chair_end = match i {
                0..=16 => Some(12.0),
                17..=27 => Some(10.0),
                28..=41 => Some(6.0),
                _ => None,
            };
            if i < 72 {
                tests.push(judged(CHAIR, 9.0, chair_end));
            }
            // 35 with WHO-5 at start and end: 12 improved, 13 maintained, 10 declined (25);
            // 20 more answered it only at the start.
            let who5_end = match i {
                100..=111 => Some(60.0),
                112..=124 => Some(52.0),
                125..=134 => Some(36.0),
                _ => None,
            };
            if (100..155).contains(&i) {
                tests.push(judged(WHO5, 48.0, who5_end));
            }
            // 64 with care time before and at 77 days; the rest have no grant recorded.
            let care_time = (i >= 110).then(|| {
                let k = i - 110;
                let grants = [
                    grant(date!(2021 - 03 - 01), before[k]),
                    grant(date!(2022 - 01 - 15), after[k]),
                ];
                // As Aarhus did it: the care record system read on the day of the figures.
                let offsets = FollowUpOffsets::default();
                care_time_change(&grants, start, end, &offsets, Some(today), today)
            });
            CitizenOutcome {
                citizen_id: format!("aarhus-{i}"),
                tests,
                care_time,
                sessions_planned: 36,
                sessions_delivered: 30 + (i as u32 % 7),
            }
        })
        .collect()
}

fn grant(effective: Date, minutes_per_week: u32) -> CareGrant {
    CareGrant {
        effective,
        minutes_per_week,
        service_code: None,
    }
}

#[test]
fn aarhus_minus_21_81_percent_28_of_42_and_25_of_35() {
    let cohort = aarhus();
    let e = effect_evidence(&cohort, &FollowUpOffsets::default());

    // Completeness first: of 174 citizens.
    let c = &e.completeness;
    assert_eq!(c.citizens, 174);
    assert_eq!(
        (
            c.with_start_and_end_test.part,
            c.with_start_and_end_test.whole
        ),
        (42, 174)
    );
    assert_eq!(c.with_who5_start_and_end.part, 35);
    assert_eq!(
        (c.with_care_time[0].offset_days, c.with_care_time[0].share),
        (77, super::Share::of(64, 174))
    );
    assert_eq!(
        c.with_care_time[1].share.part, 0,
        "the year's follow-up has not come"
    );

    // 28 of 42 tested improved or maintained.
    let chair = e.tests.iter().find(|t| t.test == CHAIR).unwrap();
    assert_eq!(
        (chair.improved, chair.maintained, chair.declined),
        (17, 11, 14)
    );
    assert_eq!(
        (
            chair.improved_or_maintained.part,
            chair.improved_or_maintained.whole
        ),
        (28, 42)
    );
    assert_eq!(chair.incomplete, 174 - 42);
    // 25 of 35 with WHO-5 improved or maintained.
    assert_eq!(
        (
            e.who5.improved_or_maintained.part,
            e.who5.improved_or_maintained.whole
        ),
        (25, 35)
    );
    assert_eq!(e.who5.improved, 12);

    // Home-care time: 52.81 → 41.29 min/day, −21.81 %, n = 64.
    let care = &e.care_time[0];
    assert_eq!((care.offset_days, care.n), (77, 64));
    let two = |v: Option<f64>| format!("{:.2}", v.unwrap());
    assert_eq!(two(care.mean_before_minutes_per_day), "52.81");
    assert_eq!(two(care.mean_after_minutes_per_day), "41.29");
    assert_eq!(two(care.change_percent), "-21.81");
    assert_eq!(two(care.mean_change_minutes_per_day), "-11.52");
    // Every citizen here kept or lowered their care time, so the interval lies below 0.
    let ci = care.ci95_change_minutes_per_day.unwrap();
    assert!(
        ci.low < -11.52 && -11.52 < ci.high && ci.high < 0.0,
        "{ci:?}"
    );
    assert_eq!(e.care_time[1].n, 0);

    // Shown, not suppressed: 64, 42 and 35 are all at least 10 citizens.
    let s = Suppression::default();
    assert_eq!(
        s.figure(care.change_percent, care.n),
        Figure::Shown(care.change_percent)
    );
    assert!(!s.count(chair.complete).is_suppressed());
    assert!(!s.count(e.who5.complete).is_suppressed());
    let shown = s.indicators(&e);
    assert_eq!(shown.citizens_through_courses, Figure::Shown(174));
    assert_eq!(
        shown.care_time_change_percent[0]
            .figure
            .shown()
            .map(|p| format!("{p:.2}")),
        Some("-21.81".into())
    );
    assert_eq!(
        shown.care_time_change_percent[1].figure,
        Figure::Suppressed { below: 10 }
    );
    // With a minimum of 40 citizens, WHO-5's 35 is hidden and the tests' 42 is not.
    let strict = Suppression { min_citizens: 40 }.indicators(&e);
    assert!(strict.who5_improved_or_maintained.is_suppressed());
    assert!(!strict.tests_improved_or_maintained[0]
        .figure
        .is_suppressed());

    // Sessions: 36 planned each, 30–36 delivered.
    assert_eq!(e.sessions.planned, 174 * 36);
    assert_eq!(e.sessions.adherence_percent, Some(91));

    // The business case on Aarhus' effect: 11.52 min/day for 64 citizens.
    let b = business_case(
        &Prices {
            dkk_per_home_care_hour: 450.0,
            dkk_per_assistant_hour: 380.0,
            dkk_per_therapist_hour: 500.0,
            therapist_hours_per_course: 6.0,
            assistant_minutes_per_session: 15.0,
            licence_dkk_per_year: 120_000.0,
            tablets_dkk_per_year: 30_000.0,
            hours_per_fte: DEFAULT_HOURS_PER_FTE,
            effect_days: 365.0,
        },
        &Outcomes {
            minutes_per_day_saved_per_citizen: -care.mean_change_minutes_per_day.unwrap(),
            citizens_per_year: care.n,
            sessions_per_course: e.sessions.mean_delivered_per_course.unwrap(),
        },
    )
    .unwrap();
    assert_eq!(format!("{:.2}", b.value("freed_fte").unwrap()), "2.33");
}

/// One referral that went all the way through a course.
fn completed(team: &str) -> ReferralFacts {
    ReferralFacts {
        team_id: team.into(),
        therapist_id: None,
        month: "2024-06".into(),
        screened: true,
        inclusion: Some(Inclusion::Included),
        started: true,
        ending: Some(Ending::Completed),
    }
}

#[test]
fn tabel4_207_of_1250_108_trained_of_84_and_63_active() {
    let mid_december = date!(2024 - 12 - 15);
    // 40 citizens through courses in Thisted and 167 in Haderslev.
    let referrals: Vec<ReferralFacts> = std::iter::repeat_with(|| completed("thisted"))
        .take(40)
        .chain(std::iter::repeat_with(|| completed("haderslev")).take(167))
        .collect();
    let through = funnel(&referrals).total.completed;
    assert_eq!(through, 207);

    // Staff: 70 trained in Thisted (39 active) and 38 in Haderslev (24 active).
    let trained_on = Some(date!(2024 - 03 - 01));
    let person = |team: &str, i: u32, active: bool| StaffMember {
        user_id: format!("{team}-{i}"),
        name: format!("{team} {i}"),
        team_id: team.into(),
        role: if i.is_multiple_of(4) {
            Role::Therapist
        } else {
            Role::Assistant
        },
        has_access: true,
        trained_on,
        last_work: if active {
            let work = if i.is_multiple_of(4) {
                Work::RecordedTest
            } else {
                Work::LoggedSession
            };
            vec![WorkDone {
                work,
                last_on: date!(2024 - 12 - 02),
            }]
        } else {
            vec![WorkDone {
                work: Work::LoggedSession,
                last_on: date!(2024 - 10 - 01),
            }]
        },
    };
    let staff: Vec<StaffMember> = (0..70)
        .map(|i| person("thisted", i, i < 39))
        .chain((0..38).map(|i| person("haderslev", i, i < 24)))
        .collect();
    let s = staff_in_use(&staff, mid_december);
    assert_eq!((s.totals.trained, s.totals.active), (108, 63));
    assert_eq!(
        s.totals.trained_not_active, 45,
        "the evaluation's 45 not yet using it"
    );

    // The targets of Tabel 4.
    use TargetKind::*;
    let targets = [
        YearlyTarget {
            kind: CitizensThroughCourses,
            year: 2024,
            target: 500,
        },
        YearlyTarget {
            kind: CitizensThroughCourses,
            year: 2025,
            target: 750,
        },
        YearlyTarget {
            kind: StaffTrained,
            year: 2024,
            target: 84,
        },
        YearlyTarget {
            kind: StaffActive,
            year: 2024,
            target: 84,
        },
    ];
    let project = Period::new(date!(2024 - 01 - 01), date!(2025 - 12 - 31)).unwrap();
    let citizens = target_status(
        &targets,
        CitizensThroughCourses,
        through,
        project,
        mid_december,
    )
    .unwrap();
    assert_eq!((citizens.target, citizens.reached), (1250.0, 207));
    assert_eq!(citizens.percent_reached, Some(17));
    assert_eq!(citizens.light, Some(Light::Red));

    // The staff targets, as the year's: 84 trained and 84 using it.
    let year = Period::year(2024).unwrap();
    // All 108 were trained in the year (1 March 2024).
    assert_eq!(trained_in(&staff, year), 108);
    let trained = target_status(
        &targets,
        StaffTrained,
        trained_in(&staff, year),
        year,
        mid_december,
    )
    .unwrap();
    assert!(trained.met && trained.percent_reached.unwrap() > 100);
    assert_eq!(trained.light, Some(Light::Green));
    let active = target_status(&targets, StaffActive, s.totals.active, year, mid_december).unwrap();
    assert_eq!(active.percent_reached, Some(75));
    assert!(!active.met);
    assert_eq!(active.light, Some(Light::Yellow));
}

#[test]
fn judgements_in_the_seed_cohort_come_from_the_effect_rules() {
    // The per-citizen inputs above are judged by `effect::change::judge`, not typed in.
    assert_eq!(
        judged(CHAIR, 9.0, Some(12.0)).judgement,
        Judgement::Improved
    );
    assert_eq!(
        judged(CHAIR, 9.0, Some(10.0)).judgement,
        Judgement::Maintained
    );
    assert_eq!(judged(CHAIR, 9.0, Some(6.0)).judgement, Judgement::Declined);
    assert_eq!(judged(CHAIR, 9.0, None).judgement, Judgement::Incomplete);
    assert_eq!(
        judged(WHO5, 48.0, Some(52.0)).judgement,
        Judgement::Maintained
    );
}
