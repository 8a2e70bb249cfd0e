//! A municipality's yearly targets, the share reached in a period, the share expected by a date
//! and a traffic light.
//!
//! **The evaluation's bands.** The Thisted/Haderslev mid-term evaluation (seeds/000, section
//! 2.3) scores target attainment with its *Tabel 3: Vejledende sammenhæng mellem målopnåelse og
//! trafiklys*:
//!
//! | Trafiklys | Målopnåelsen er                    | Midtvejsevaluering | Slutevaluering |
//! |-----------|------------------------------------|--------------------|----------------|
//! | Grøn      | … som ønsket eller bedre           | 45 % +             | 95 % +         |
//! | Grøn      | … lidt under det ønskede niveau    | 35-44 %            | 81-90 %        |
//! | Gul       | … noget under det ønskede niveau   | 24-34 %            | 65-80 %        |
//! | Rød       | … meget under det ønskede niveau   | 15-24 %            | 20-64 %        |
//! | Rød       | … ikke eksisterende eller tæt på   | 0-14 %             | 0-19 %         |
//!
//! [`tabel3_light`] implements the table on a whole percent (the table's own unit): at the
//! final evaluation green from 81 %, yellow 65–80 %, red below 65 %; at mid-term green from
//! 35 %, yellow 24–34 %, red below 24 %. The table has a gap (91–94 % at the end) and an
//! overlap (24 % at mid-term is both yellow and red); we close the gap as green (both
//! neighbours are green) and give 24 % the better light, yellow (the table is "vejledende").
//!
//! **The live light.** A leader looks at a target at any date, not only at mid-term or at the
//! end, so the light [`target_status`] gives is the *final* column applied to the share the
//! period would end at if the pace so far held: share reached ÷ share expected by the date.
//! At the period's end that is simply the share reached, as the final evaluation scores it.
//!
//! **Expected by a date.** Targets are yearly and nothing says how a year's target spreads
//! over the months, so the only defensible assumption is evenly over its days: a year's target
//! × (days of the year passed, counting the date itself) ÷ (days in the year). A period over
//! several years adds each year's part (the seed's 500 citizens in 2024 and 750 in 2025 make
//! 1,250 for the project). This holds for targets that accumulate (citizens through courses,
//! staff trained). Staff *actively using* the app is a head count on the day, not a sum over
//! the year: its whole target is expected at every date.

use serde::{Deserialize, Serialize};
use time::{Date, Month};

use super::{ratio, whole_percent, EvidenceError};

/// What a municipality sets a yearly target for (issue #12, item 2; the seed's Tabel 4).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TargetKind {
    /// Citizens who completed a course.
    CitizensThroughCourses,
    /// Staff trained in the app (a training date recorded).
    StaffTrained,
    /// Staff who did their role's work in the app in the last 28 days ([`super::staff`]).
    StaffActive,
}

impl TargetKind {
    pub const ALL: [TargetKind; 3] = [
        TargetKind::CitizensThroughCourses,
        TargetKind::StaffTrained,
        TargetKind::StaffActive,
    ];

    /// The snake_case name the API uses.
    pub fn code(self) -> &'static str {
        match self {
            TargetKind::CitizensThroughCourses => "citizens_through_courses",
            TargetKind::StaffTrained => "staff_trained",
            TargetKind::StaffActive => "staff_active",
        }
    }

    /// Whether the count adds up over the year (and so is expected pro rata) or is a head
    /// count on the day.
    pub fn accumulates(self) -> bool {
        !matches!(self, TargetKind::StaffActive)
    }

    pub fn label_da(self) -> &'static str {
        match self {
            TargetKind::CitizensThroughCourses => "Borgere, der har gennemført et træningsforløb",
            TargetKind::StaffTrained => "Medarbejdere uddannet i Homerehab",
            TargetKind::StaffActive => "Medarbejdere, der anvender Homerehab",
        }
    }
}

/// A target for one calendar year.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct YearlyTarget {
    pub kind: TargetKind,
    pub year: i32,
    pub target: u32,
}

/// From `start` to `end`, both days included.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Period {
    #[serde(with = "crate::effect::iso_date")]
    pub start: Date,
    #[serde(with = "crate::effect::iso_date")]
    pub end: Date,
}

impl Period {
    pub fn new(start: Date, end: Date) -> Result<Period, EvidenceError> {
        if end < start {
            return Err(EvidenceError::PeriodEndsBeforeStart {
                start: crate::effect::iso(start),
                end: crate::effect::iso(end),
            });
        }
        Ok(Period { start, end })
    }

    /// A calendar year.
    pub fn year(year: i32) -> Option<Period> {
        Some(Period {
            start: Date::from_calendar_date(year, Month::January, 1).ok()?,
            end: Date::from_calendar_date(year, Month::December, 31).ok()?,
        })
    }

    /// Days in the period, both ends included; 0 for a period that ends before it starts.
    pub fn days(&self) -> i64 {
        ((self.end - self.start).whole_days() + 1).max(0)
    }

    /// The calendar quarter `day` falls in.
    pub fn quarter_of(day: Date) -> Period {
        let first =
            Month::try_from(((day.month() as u8 - 1) / 3) * 3 + 1).unwrap_or(Month::January);
        let last = first.nth_next(2);
        Period {
            start: day
                .replace_day(1)
                .and_then(|d| d.replace_month(first))
                .unwrap_or(day),
            end: Date::from_calendar_date(day.year(), last, last.length(day.year())).unwrap_or(day),
        }
    }

    /// The calendar quarters this period overlaps, in order.
    pub fn quarters(&self) -> Vec<Period> {
        let mut out = Vec::new();
        let mut q = Period::quarter_of(self.start);
        while q.start <= self.end {
            out.push(q);
            match q.end.next_day() {
                Some(next) => q = Period::quarter_of(next),
                None => break,
            }
        }
        out
    }
}

/// The traffic light.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Light {
    Green,
    Yellow,
    Red,
}

/// Which column of Tabel 3.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Milestone {
    /// "Midtvejsevaluering".
    Midway,
    /// "Slutevaluering".
    Final,
}

/// Tabel 3's light for a whole-percent attainment (see the module's doc for the gap and the
/// overlap in the table).
pub fn tabel3_light(milestone: Milestone, percent: u32) -> Light {
    let (green_from, yellow_from) = match milestone {
        Milestone::Midway => (35, 24),
        Milestone::Final => (81, 65),
    };
    if percent >= green_from {
        Light::Green
    } else if percent >= yellow_from {
        Light::Yellow
    } else {
        Light::Red
    }
}

/// The rule behind [`TargetStatus::light`], in Danish, for the screen and the report.
pub const LIGHT_RULE_DA: &str = "Trafiklyset følger evalueringens Tabel 3 (slutevaluering): \
grøn ved 81 % eller mere, gul ved 65–80 %, rød under 65 %. Før periodens slut vurderes den \
andel, perioden ender på, hvis tempoet hidtil fortsætter (opnået andel ÷ forventet andel). \
Forventet andel: årsmålet fordelt jævnt over årets dage; for medarbejdere, der anvender \
løsningen, forventes hele målet på enhver dato.";

/// The target of `kind` for `period`, from the yearly targets (see the module's doc); `None`
/// when a year the period touches has no target of that kind (its share is unknown, and
/// leaving the year out would overstate the share reached).
pub fn period_target(targets: &[YearlyTarget], kind: TargetKind, period: Period) -> Option<f64> {
    if period.end < period.start {
        return None;
    }
    let of_year = |year: i32| {
        targets
            .iter()
            .rev()
            .find(|t| t.kind == kind && t.year == year)
            .map(|t| f64::from(t.target))
    };
    if !kind.accumulates() {
        return of_year(period.end.year());
    }
    let mut total = 0.0;
    for year in period.start.year()..=period.end.year() {
        let whole = Period::year(year)?;
        let part = Period {
            start: period.start.max(whole.start),
            end: period.end.min(whole.end),
        };
        total += of_year(year)? * part.days() as f64 / whole.days() as f64;
    }
    Some(total)
}

/// Where one target stands on a date.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TargetStatus {
    pub kind: TargetKind,
    pub period: Period,
    #[serde(with = "crate::effect::iso_date")]
    pub as_of: Date,
    /// The period's target (a part year's target can be fractional).
    pub target: f64,
    pub reached: u32,
    /// `reached / target`; above 1 when the target is exceeded.
    pub share_reached: Option<f64>,
    pub percent_reached: Option<u32>,
    /// The target is reached (the evaluation prints "+100%").
    pub met: bool,
    /// The count expected by `as_of` (pro rata for accumulating targets).
    pub expected_by_date: f64,
    pub share_expected: Option<f64>,
    pub percent_expected: Option<u32>,
    /// The share the period ends at if the pace so far holds.
    pub projected_percent: Option<u32>,
    /// `None` while nothing is expected yet (before the period) or without a target.
    pub light: Option<Light>,
}

/// A target's status on `as_of` for `period`; `None` when no target is set for the period.
/// `reached` is what happened in the period: citizens who completed a course in it, staff
/// whose training date lies in it (`staff::trained_in`); for staff active, the head count on
/// `as_of` (`staff::staff_in_use`).
pub fn target_status(
    targets: &[YearlyTarget],
    kind: TargetKind,
    reached: u32,
    period: Period,
    as_of: Date,
) -> Option<TargetStatus> {
    let target = period_target(targets, kind, period)?;
    let expected_by_date = if !kind.accumulates() {
        target
    } else if as_of < period.start {
        0.0
    } else {
        let so_far = Period {
            start: period.start,
            end: as_of.min(period.end),
        };
        period_target(targets, kind, so_far).unwrap_or(0.0)
    };
    let share_reached = ratio(f64::from(reached), target);
    let share_expected = ratio(expected_by_date, target);
    let projected = ratio(f64::from(reached), expected_by_date);
    let projected_percent = projected.and_then(whole_percent);
    Some(TargetStatus {
        kind,
        period,
        as_of,
        target,
        reached,
        share_reached,
        percent_reached: share_reached.and_then(whole_percent),
        met: target > 0.0 && f64::from(reached) >= target,
        expected_by_date,
        share_expected,
        percent_expected: share_expected.and_then(whole_percent),
        projected_percent,
        light: projected_percent.map(|p| tabel3_light(Milestone::Final, p)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    #[test]
    fn a_period_overlaps_whole_calendar_quarters() {
        let q = Period::quarter_of(date!(2025 - 05 - 17));
        assert_eq!(
            (q.start, q.end),
            (date!(2025 - 04 - 01), date!(2025 - 06 - 30))
        );
        let q = Period::quarter_of(date!(2024 - 12 - 31));
        assert_eq!(
            (q.start, q.end),
            (date!(2024 - 10 - 01), date!(2024 - 12 - 31))
        );
        let period = Period::new(date!(2024 - 12 - 31), date!(2025 - 04 - 01)).unwrap();
        let starts: Vec<Date> = period.quarters().iter().map(|q| q.start).collect();
        assert_eq!(
            starts,
            [
                date!(2024 - 10 - 01),
                date!(2025 - 01 - 01),
                date!(2025 - 04 - 01)
            ]
        );
        let one_day = Period::new(date!(2025 - 02 - 28), date!(2025 - 02 - 28)).unwrap();
        assert_eq!(one_day.quarters().len(), 1);
    }

    fn t(kind: TargetKind, year: i32, target: u32) -> YearlyTarget {
        YearlyTarget { kind, year, target }
    }

    #[test]
    fn tabel3_bands_with_the_gap_and_the_overlap_closed() {
        use Light::*;
        use Milestone::*;
        let at = |m, ps: &[u32]| ps.iter().map(|p| tabel3_light(m, *p)).collect::<Vec<_>>();
        assert_eq!(
            at(Midway, &[100, 45, 44, 35, 34, 24, 23, 15, 14, 0]),
            [Green, Green, Green, Green, Yellow, Yellow, Red, Red, Red, Red]
        );
        assert_eq!(
            at(Final, &[129, 95, 93, 90, 81, 80, 65, 64, 20, 19, 0]),
            [Green, Green, Green, Green, Green, Yellow, Yellow, Red, Red, Red, Red]
        );
    }

    #[test]
    fn tabel4_reproduced_207_of_1250_108_of_84_and_63_active() {
        use TargetKind::*;
        // 500 citizens in 2024 and 750 in 2025; 84 staff to train and 84 to use it.
        let targets = [
            t(CitizensThroughCourses, 2024, 500),
            t(CitizensThroughCourses, 2025, 750),
            t(StaffTrained, 2024, 84),
            t(StaffActive, 2025, 84),
        ];
        let project = Period::new(date!(2024 - 01 - 01), date!(2025 - 12 - 31)).unwrap();
        let mid_december = date!(2024 - 12 - 15);
        let citizens =
            target_status(&targets, CitizensThroughCourses, 207, project, mid_december).unwrap();
        assert_eq!(citizens.target, 1250.0);
        assert_eq!(citizens.percent_reached, Some(17));
        assert!(!citizens.met);
        // By 15 December 2024, 350 of 2024's 366 days of 500: 478.1 citizens, 38 % of 1,250.
        assert!((citizens.expected_by_date - 500.0 * 350.0 / 366.0).abs() < 1e-9);
        assert_eq!(citizens.percent_expected, Some(38));
        assert_eq!(citizens.projected_percent, Some(43));
        assert_eq!(citizens.light, Some(Light::Red));
        // The evaluation scored it at mid-term: 17 % is red there too.
        assert_eq!(
            tabel3_light(Milestone::Midway, citizens.percent_reached.unwrap()),
            Light::Red
        );

        let year2024 = Period::year(2024).unwrap();
        let trained = target_status(&targets, StaffTrained, 108, year2024, mid_december).unwrap();
        assert_eq!(trained.target, 84.0);
        assert!(trained.met, "108 of 84: the evaluation's +100%");
        assert_eq!(trained.percent_reached, Some(129));
        assert_eq!(trained.light, Some(Light::Green));

        // Staff active is a head count: its whole target is expected on any date.
        let year2025 = Period::year(2025).unwrap();
        let active =
            target_status(&targets, StaffActive, 63, year2025, date!(2025 - 01 - 10)).unwrap();
        assert_eq!(active.expected_by_date, 84.0);
        assert_eq!(active.percent_reached, Some(75));
        assert_eq!(active.light, Some(Light::Yellow));
        assert_eq!(tabel3_light(Milestone::Midway, 75), Light::Green);
    }

    #[test]
    fn no_target_nothing_expected_yet_and_zero_targets_give_no_light() {
        use TargetKind::*;
        let targets = [
            t(CitizensThroughCourses, 2026, 120),
            t(StaffTrained, 2026, 0),
        ];
        let y = Period::year(2026).unwrap();
        // Before the period nothing is expected: no light, rather than a red one.
        let early = target_status(
            &targets,
            CitizensThroughCourses,
            0,
            y,
            date!(2025 - 12 - 01),
        )
        .unwrap();
        assert_eq!((early.expected_by_date, early.light), (0.0, None));
        // On the first day one day's worth is expected; on the last, the whole target.
        let first = target_status(
            &targets,
            CitizensThroughCourses,
            1,
            y,
            date!(2026 - 01 - 01),
        )
        .unwrap();
        assert!((first.expected_by_date - 120.0 / 365.0).abs() < 1e-12);
        assert_eq!(first.light, Some(Light::Green));
        let after = target_status(
            &targets,
            CitizensThroughCourses,
            90,
            y,
            date!(2027 - 06 - 01),
        )
        .unwrap();
        assert_eq!(
            (after.percent_expected, after.percent_reached),
            (Some(100), Some(75))
        );
        assert_eq!(after.light, Some(Light::Yellow));
        // A target of 0 has no share and no light; a year without a target has no status.
        let zero = target_status(&targets, StaffTrained, 5, y, date!(2026 - 06 - 01)).unwrap();
        assert_eq!(
            (zero.share_reached, zero.light, zero.met),
            (None, None, false)
        );
        assert!(target_status(&targets, StaffActive, 5, y, date!(2026 - 06 - 01)).is_none());
        let two_years = Period::new(date!(2026 - 07 - 01), date!(2027 - 06 - 30)).unwrap();
        assert_eq!(
            period_target(&targets, CitizensThroughCourses, two_years),
            None
        );
        assert!(Period::new(date!(2026 - 02 - 01), date!(2026 - 01 - 01)).is_err());
        let json = serde_json::to_string(&first).unwrap();
        assert!(json.contains("\"as_of\":\"2026-01-01\""), "{json}");
        assert!(
            json.contains("\"kind\":\"citizens_through_courses\""),
            "{json}"
        );
    }
}
