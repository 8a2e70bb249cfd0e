//! The evidence API's answer, assembled from facts: what the server's SQL reads from its read
//! model goes in ([`ReportFacts`], [`CourseFacts`]), the sections the leader's screens and
//! the evaluation report print come out ([`EvidenceReport`]). The server runs SQL and calls
//! [`report`]; nothing here knows a table.
//!
//! **Who sees which names.** A leader sees their whole municipality's figures, and names (of
//! therapists in the recruitment list, of staff "trained but not active") only for the teams
//! they serve themselves ([`Viewer::teams`]); every other municipality is a row of the
//! benchmark, anonymised unless it agreed to be named and suppressed below the minimum number
//! of citizens. Drilled down to a team of the own municipality that the viewer does not serve,
//! the effect (and the business case on it) is withheld when fewer than that minimum went
//! through courses, and the funnel's reasons when fewer were referred
//! ([`EvidenceReport::suppressed`]): those would point at persons.
//!
//! **The cohort.** "Citizens through courses" in a period are the courses *completed* whose
//! planned last day (`plan::window`'s end week) lies in the period and not after the day the
//! figures are for: a course record has no end date of its own, and the device's effect
//! summary uses the same day, so a course's summary and the cohort's figures agree.
//! Each course is judged on its own; the target and small-number suppression count the
//! citizens behind them, once each ([`citizens_in`], `Completeness::citizens`).

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};
use time::Date;

use super::business_case::{business_case, BusinessCase, Outcomes, Prices};
use super::effect::{effect_evidence, CitizenOutcome, EffectEvidence, TestJudgement};
use super::funnel::{few_recruiters, funnel, Funnel, Recruitment, ReferralFacts, Unit};
use super::staff::{staff_in_use, trained_in, StaffInUse, StaffMember};
use super::suppression::{benchmark, BenchmarkRow, Indicators, MunicipalityFigures, Suppression};
use super::targets::{target_status, Period, TargetKind, TargetStatus, YearlyTarget};
use super::EvidenceError;
use crate::effect::care_time::{care_time_change, CareGrant, FollowUpOffsets};
use crate::effect::change::ChangeTable;
use crate::effect::plan::{window, TestPlan};
use crate::effect::summary::test_outcomes;
use crate::ids::{AssessmentId, UserId};
use crate::model::{parse_date, Assessment, AssessmentPhase};

/// What a municipality sets for its evidence (issue #12, items 2, 6 and 7): kept by the
/// server, set by the municipality's admin.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct EvidenceSettings {
    #[serde(default)]
    pub targets: Vec<YearlyTarget>,
    /// `None` until the municipality sets its prices: no business case without them.
    #[serde(default)]
    pub prices: Option<Prices>,
    /// The municipality agreed to be named to the other municipalities in the benchmark.
    #[serde(default)]
    pub agreed_to_be_named: bool,
    /// Municipality ids to compare with; `None` is every municipality on the server.
    #[serde(default)]
    pub comparison_group: Option<Vec<String>>,
}

/// Years a target may be set for.
const YEARS: std::ops::RangeInclusive<i32> = 2000..=2100;

impl EvidenceSettings {
    /// Each target once per kind and year, in a plausible year; prices that make sense.
    pub fn validate(&self) -> Result<(), EvidenceError> {
        let mut seen = BTreeSet::new();
        for t in &self.targets {
            if !YEARS.contains(&t.year) {
                return Err(EvidenceError::Invalid {
                    field: "targets.year",
                    problem: format!("{} is not a year between 2000 and 2100", t.year),
                });
            }
            if !seen.insert((t.kind.code(), t.year)) {
                return Err(EvidenceError::Invalid {
                    field: "targets",
                    problem: format!("two targets for {} in {}", t.kind.code(), t.year),
                });
            }
        }
        if let Some(p) = &self.prices {
            // The prices' own checks, on neutral outcomes.
            business_case(
                p,
                &Outcomes {
                    minutes_per_day_saved_per_citizen: 0.0,
                    citizens_per_year: 0,
                    sessions_per_course: 0.0,
                },
            )?;
        }
        Ok(())
    }
}

/// One test result as the read model holds it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ResultFact {
    pub test: String,
    pub phase: AssessmentPhase,
    pub value: f64,
    /// ISO date.
    pub date: String,
}

/// What is known of one course of the cohort.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CourseFacts {
    pub course_id: String,
    pub citizen_id: String,
    pub team_id: String,
    /// The responsible therapist's user id (the drill-down to a therapist).
    pub responsible_therapist: String,
    /// ISO date.
    pub start_date: String,
    pub planned_weeks: u32,
    pub sessions_per_week: u32,
    pub sessions_delivered: u32,
    pub results: Vec<ResultFact>,
    /// The citizen's home-care grants.
    pub grants: Vec<CareGrant>,
    /// ISO date: the latest day any of those grants was recorded (entered or imported); they
    /// say what was granted up to that day only (`care_time::known_on`).
    #[serde(default)]
    pub grants_recorded_until: Option<String>,
    /// A course of the citizen ended early because they died or moved
    /// (`care_time::left_for_another_reason`): their grants end for that reason, not because
    /// of the course, so their care time is not counted (a death is no saving).
    #[serde(default)]
    pub citizen_left: bool,
}

impl CourseFacts {
    /// Whether this completed course is of the cohort of `scope`: its planned last day lies in
    /// the period and not after the day the figures are for (the module's doc).
    pub fn in_cohort(&self, scope: &Scope) -> bool {
        self.planned_end().is_some_and(|end| {
            scope.period.start <= end && end <= scope.period.end && end <= scope.as_of
        })
    }

    /// The course's planned last day; `None` when its start date cannot be read.
    pub fn planned_end(&self) -> Option<Date> {
        let start = parse_date(&self.start_date).ok()?;
        Some(planned_end(start, self.planned_weeks))
    }
}

/// A course's planned last day: the end of its last planned week.
pub fn planned_end(start: Date, planned_weeks: u32) -> Date {
    window(start, planned_weeks, AssessmentPhase::End).1
}

/// One citizen's outcome from the course's facts, by the same pairing and judgement as the
/// course's own effect summary (`effect::summary::test_outcomes`); `None` for a course whose
/// start date cannot be read.
pub fn citizen_outcome(
    course: &CourseFacts,
    changes: &ChangeTable,
    offsets: &FollowUpOffsets,
    today: Date,
) -> Option<CitizenOutcome> {
    let start = parse_date(&course.start_date).ok()?;
    let end = planned_end(start, course.planned_weeks);
    let assessments: Vec<Assessment> = course
        .results
        .iter()
        .map(|r| Assessment {
            id: AssessmentId(uuid::Uuid::nil()),
            kind: r.test.clone(),
            value: r.value,
            unit: String::new(),
            date: r.date.clone(),
            phase: r.phase,
            by: UserId(uuid::Uuid::nil()),
            note: None,
            place: None,
        })
        .collect();
    let no_plan = TestPlan {
        start: Vec::new(),
        mid: Vec::new(),
        end: Vec::new(),
        delegated: Vec::new(),
    };
    let tests = test_outcomes(&assessments, &no_plan, changes, &[], None)
        .into_iter()
        .filter_map(|o| {
            Some(TestJudgement {
                test: o.test,
                judgement: o.judgement?,
            })
        })
        .collect();
    let care_time = (!course.grants.is_empty() && !course.citizen_left).then(|| {
        let recorded = (course.grants_recorded_until.as_deref()).and_then(|d| parse_date(d).ok());
        care_time_change(&course.grants, start, end, offsets, recorded, today)
    });
    Some(CitizenOutcome {
        citizen_id: course.citizen_id.clone(),
        tests,
        care_time,
        sessions_planned: course
            .planned_weeks
            .saturating_mul(course.sessions_per_week),
        sessions_delivered: course.sessions_delivered,
    })
}

/// Something with a name: a municipality, a team, a person.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Named {
    pub id: String,
    pub name: String,
}

/// Who asks, for the names rule.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Viewer {
    pub municipality_id: String,
    /// The teams the viewer serves (their own and those granted): names only of these.
    pub teams: Vec<String>,
}

/// What the figures are for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Scope {
    pub period: Period,
    /// The day the figures are for: staff active is a head count on it, and the share of a
    /// target expected is as of it.
    #[serde(with = "crate::effect::iso_date")]
    pub as_of: Date,
}

/// What the benchmark across municipalities compares (security.md F9): whole calendar
/// quarters, judged as of the end of the last quarter that has ended. Were it any period and
/// any day, two answers a day apart would differ by the one citizen whose course ended on that
/// day (in another municipality's row too), whatever each answer suppresses; over whole
/// quarters, with a figure shown only over whole blocks of enough citizens
/// ([`Suppression::indicators_in_quarters`]), a difference is never fewer than the minimum.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BenchmarkScope {
    /// The quarters the asked period overlaps that had ended, in order; while none has, the
    /// last quarter that has (a leader asking about this year in February still compares).
    pub quarters: Vec<Period>,
    /// The day the figures are judged on (follow-ups due by it): the last quarter's end
    /// before the day asked, the same for every question asked within a quarter.
    #[serde(with = "crate::effect::iso_date")]
    pub as_of: Date,
}

impl BenchmarkScope {
    /// The benchmark's quarters for a question about `period` asked on `today` (`None` only
    /// before the calendar's first quarter).
    pub fn of(period: Period, today: Date) -> Option<BenchmarkScope> {
        let as_of = Period::quarter_of(today).start.previous_day()?;
        let mut quarters: Vec<Period> = period
            .quarters()
            .into_iter()
            .filter(|q| q.end <= as_of)
            .collect();
        if quarters.is_empty() {
            quarters.push(Period::quarter_of(as_of));
        }
        Some(BenchmarkScope { quarters, as_of })
    }

    /// From the first quarter's first day to the last one's last.
    pub fn period(&self) -> Period {
        Period {
            start: self.quarters.first().map_or(self.as_of, |q| q.start),
            end: self.quarters.last().map_or(self.as_of, |q| q.end),
        }
    }

    /// The scope the benchmark's cohorts are read and judged in.
    pub fn scope(&self) -> Scope {
        Scope {
            period: self.period(),
            as_of: self.as_of,
        }
    }

    /// The quarters the suppression's blocks are cut from
    /// ([`Suppression::indicators_in_quarters`]): from the first quarter any course ended in
    /// (`first_end`; the first asked if earlier) to the quarter of [`BenchmarkScope::as_of`],
    /// so they start where the data does, never where the question does.
    pub fn history(&self, first_end: Option<Date>) -> BenchmarkHistory {
        let asked = self.period();
        let start = first_end.map_or(asked.start, |d| {
            Period::quarter_of(d).start.min(asked.start)
        });
        let quarters = Period {
            start,
            end: self.as_of.max(asked.end),
        }
        .quarters();
        let mut history = BenchmarkHistory {
            quarters,
            asked: 0..0,
        };
        history.asked = history.index_of(asked.start)..history.index_of(asked.end) + 1;
        history
    }
}

/// The quarters a benchmark's suppression sees, oldest first, and where the asked ones lie.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BenchmarkHistory {
    pub quarters: Vec<Period>,
    pub asked: std::ops::Range<usize>,
}

impl BenchmarkHistory {
    /// The quarter `day` falls in (the last one for a day after them all).
    pub fn index_of(&self, day: Date) -> usize {
        self.quarters
            .partition_point(|q| q.end < day)
            .min(self.quarters.len().saturating_sub(1))
    }
}

/// One municipality's effect, for the benchmark.
#[derive(Clone, Debug, PartialEq)]
pub struct MunicipalityEffect {
    pub municipality: Named,
    pub agreed_to_be_named: bool,
    /// Over all of the benchmark's quarters.
    pub effect: EffectEvidence,
    /// In every quarter the server has, oldest first, from a first quarter that does not
    /// depend on the question ([`Suppression::indicators_in_quarters`]).
    pub history: Vec<EffectEvidence>,
    /// Where the benchmark's quarters lie in `history`.
    pub asked: std::ops::Range<usize>,
}

/// Everything the server read for one report.
#[derive(Clone, Debug)]
pub struct ReportFacts {
    pub municipality: Named,
    pub teams: Vec<Named>,
    /// The team drilled down to, if any; the other facts are of that team only (the targets'
    /// counts excepted: targets are the municipality's).
    pub team: Option<Named>,
    /// The therapist drilled down to (of `team`, which the viewer serves), if any: the
    /// referrals attributed to them, the courses they are responsible for, and themselves.
    pub therapist: Option<Named>,
    pub settings: EvidenceSettings,
    /// Referrals made in the period.
    pub referrals: Vec<ReferralFacts>,
    /// Therapists of the teams in scope, by id (to compare those who referred nobody too).
    pub therapists: Vec<Named>,
    pub cohort: Vec<CitizenOutcome>,
    pub staff: Vec<StaffMember>,
    /// Citizens through courses in the period across the municipality, for its target.
    pub municipality_through_courses: u32,
    /// Staff of the whole municipality, for its targets.
    pub municipality_staff: Vec<StaffMember>,
    pub offsets: FollowUpOffsets,
    /// Every municipality's effect in the benchmark's quarters (the viewer's own included).
    pub benchmark: Vec<MunicipalityEffect>,
    pub benchmark_scope: Option<BenchmarkScope>,
    pub suppression: Suppression,
}

/// The business case's measured side, from a cohort's effect over a period.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BusinessCaseSection {
    pub prices: Prices,
    pub outcomes: Outcomes,
    /// The follow-up the saving is read at (the first with a measured change).
    pub offset_days: u32,
    pub lines: BusinessCase,
}

/// The evidence API's answer and the report's content.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EvidenceReport {
    pub municipality: Named,
    pub teams: Vec<Named>,
    pub team: Option<Named>,
    #[serde(default)]
    pub therapist: Option<Named>,
    pub scope: Scope,
    pub targets: Vec<TargetStatus>,
    /// Kinds without a target set for the period (the leader is asked to set them).
    pub targets_missing: Vec<TargetKind>,
    pub funnel: Funnel,
    pub teams_recruiting: Vec<Recruitment>,
    pub therapists_recruiting: Vec<Recruitment>,
    pub staff: StaffInUse,
    pub effect: EffectEvidence,
    /// `None` until prices are set, or without a measured saving.
    pub business_case: Option<BusinessCaseSection>,
    pub benchmark: Vec<BenchmarkRow<Indicators>>,
    /// The quarters the benchmark compares; `None` while none of the period's has ended.
    #[serde(default)]
    pub benchmark_scope: Option<BenchmarkScope>,
    pub min_citizens: u32,
    /// Sections left empty because they are about fewer than `min_citizens` citizens of a
    /// team the viewer does not serve.
    #[serde(default)]
    pub suppressed: Vec<SuppressedSection>,
    /// Names of the people the viewer may see named (therapists and staff of their teams).
    pub people: Vec<Named>,
}

/// A part of the report that can be withheld for too few citizens.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SuppressedSection {
    /// Effect (tests, WHO-5, care time, sessions) and the business case built on it.
    Effect,
    /// The funnel's not-included and ended-early reasons.
    Reasons,
}

/// The people behind `courses`: the target "citizens through courses" counts a citizen with
/// two courses once.
pub fn citizens_in(courses: &[&CourseFacts]) -> u32 {
    let people: BTreeSet<&str> = courses.iter().map(|c| c.citizen_id.as_str()).collect();
    u32::try_from(people.len()).unwrap_or(u32::MAX)
}

/// The targets' status for the municipality.
pub fn targets_section(
    settings: &EvidenceSettings,
    through_courses: u32,
    staff: &[StaffMember],
    scope: Scope,
) -> (Vec<TargetStatus>, Vec<TargetKind>) {
    let in_use = staff_in_use(staff, scope.as_of);
    let mut shown = Vec::new();
    let mut missing = Vec::new();
    for (kind, reached) in [
        (TargetKind::CitizensThroughCourses, through_courses),
        (TargetKind::StaffTrained, trained_in(staff, scope.period)),
        (TargetKind::StaffActive, in_use.totals.active),
    ] {
        match target_status(&settings.targets, kind, reached, scope.period, scope.as_of) {
            Some(s) => shown.push(s),
            None => missing.push(kind),
        }
    }
    (shown, missing)
}

/// The business case on a cohort's effect over the period, scaled to a year; `None` without a
/// change in care time measured for at least `min_pairs` citizens (the suppression minimum: a
/// saving priced for the whole cohort must not rest on one or two of them). The cohort is
/// scaled to a year over the days of the period that have passed by `as_of`, since courses
/// that end later are not in it yet.
pub fn business_case_section(
    prices: &Prices,
    effect: &EffectEvidence,
    period: Period,
    as_of: time::Date,
    min_pairs: u32,
) -> Result<Option<BusinessCaseSection>, EvidenceError> {
    let Some(care) = effect
        .care_time
        .iter()
        .find(|c| c.mean_change_minutes_per_day.is_some() && c.n >= min_pairs)
    else {
        return Ok(None);
    };
    let saved = -care.mean_change_minutes_per_day.unwrap_or(0.0);
    let elapsed = (period.end.min(as_of) - period.start).whole_days() + 1;
    // Courses, not people: each course completed is one more saving (a citizen with two
    // courses in the period has two).
    let per_year = f64::from(effect.sessions.courses) * 365.0 / elapsed.max(1) as f64;
    let outcomes = Outcomes {
        minutes_per_day_saved_per_citizen: saved,
        citizens_per_year: per_year.round().clamp(0.0, f64::from(u32::MAX)) as u32,
        sessions_per_course: effect.sessions.mean_delivered_per_course.unwrap_or(0.0),
    };
    let lines = business_case(prices, &outcomes)?;
    Ok(Some(BusinessCaseSection {
        prices: prices.clone(),
        outcomes,
        offset_days: care.offset_days,
        lines,
    }))
}

/// The benchmark as `viewer` sees it, each municipality's figures suppressed.
pub fn benchmark_section(
    viewer: &Viewer,
    settings: &EvidenceSettings,
    municipalities: &[MunicipalityEffect],
    suppression: Suppression,
) -> Vec<BenchmarkRow<Indicators>> {
    let figures = municipalities
        .iter()
        .map(|m| MunicipalityFigures {
            municipality_id: m.municipality.id.clone(),
            name: m.municipality.name.clone(),
            agreed_to_be_named: m.agreed_to_be_named,
            figures: suppression.indicators_in_quarters(&m.effect, &m.history, m.asked.clone()),
        })
        .collect();
    benchmark(
        &viewer.municipality_id,
        figures,
        settings.comparison_group.as_deref(),
    )
}

/// The whole report for `viewer`.
pub fn report(
    viewer: &Viewer,
    facts: ReportFacts,
    scope: Scope,
) -> Result<EvidenceReport, EvidenceError> {
    let serves = |team: &str| viewer.teams.iter().any(|t| t == team);
    let (targets, targets_missing) = targets_section(
        &facts.settings,
        facts.municipality_through_courses,
        &facts.municipality_staff,
        scope,
    );
    let team_ids: Vec<String> = match &facts.team {
        Some(t) => vec![t.id.clone()],
        None => facts.teams.iter().map(|t| t.id.clone()).collect(),
    };
    let therapist_ids: Vec<String> = facts.therapists.iter().map(|t| t.id.clone()).collect();
    let teams_recruiting = few_recruiters(
        &facts.referrals,
        Unit::Team,
        &team_ids,
        super::funnel::DEFAULT_SHARE_OF_MEDIAN,
    )?;
    let mut therapists_recruiting = few_recruiters(
        &facts.referrals,
        Unit::Therapist,
        &therapist_ids,
        super::funnel::DEFAULT_SHARE_OF_MEDIAN,
    )?;
    // Only therapists of the viewer's own teams are listed (each is measured against the whole
    // municipality's). Another team's therapist would be known without an id: the staff
    // groups give each team's head count and the funnel each team's referrals, so the row of
    // a team's only therapist is that person, and "refers few" is about them.
    let served_therapist = |id: &str| {
        facts
            .staff
            .iter()
            .any(|s| s.user_id == id && serves(&s.team_id))
    };
    therapists_recruiting.retain(|row| served_therapist(&row.id));
    let mut staff = staff_in_use(&facts.staff, scope.as_of);
    // Names only of the viewer's own teams; elsewhere the count says enough.
    for g in &mut staff.groups {
        if !serves(&g.team_id) {
            g.trained_not_active.clear();
        }
    }
    let mut effect = effect_evidence(&facts.cohort, &facts.offsets);
    let mut funnel = funnel(&facts.referrals);
    // A team the viewer does not serve, drilled down to: its outcomes and reasons are about
    // too few citizens to show below the minimum (they would point at persons).
    let min = facts.suppression.min_citizens;
    let foreign_team = facts.team.as_ref().is_some_and(|t| !serves(&t.id));
    let mut suppressed = Vec::new();
    if foreign_team && effect.completeness.citizens < min {
        effect = effect_evidence(&[], &facts.offsets);
        suppressed.push(SuppressedSection::Effect);
    }
    if foreign_team && funnel.total.referred < min {
        funnel.not_included_by_reason.clear();
        funnel.ended_early_by_reason.clear();
        suppressed.push(SuppressedSection::Reasons);
    }
    let business_case = match &facts.settings.prices {
        Some(p) if !suppressed.contains(&SuppressedSection::Effect) => {
            business_case_section(p, &effect, scope.period, scope.as_of, min)?
        }
        _ => None,
    };
    let benchmark = benchmark_section(viewer, &facts.settings, &facts.benchmark, facts.suppression);
    let mut people: Vec<Named> = Vec::new();
    people.extend(
        facts
            .staff
            .iter()
            .filter(|s| serves(&s.team_id))
            .map(|s| Named {
                id: s.user_id.clone(),
                name: s.name.clone(),
            }),
    );
    people.sort();
    people.dedup();
    Ok(EvidenceReport {
        municipality: facts.municipality,
        teams: facts.teams,
        team: facts.team,
        therapist: facts.therapist,
        scope,
        targets,
        targets_missing,
        funnel,
        teams_recruiting,
        therapists_recruiting,
        staff,
        effect,
        business_case,
        benchmark,
        benchmark_scope: facts.benchmark_scope,
        min_citizens: facts.suppression.min_citizens,
        suppressed,
        people,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Role;
    use time::macros::date;

    fn named(id: &str) -> Named {
        Named {
            id: id.into(),
            name: format!("Team {id}"),
        }
    }

    /// Three citizens of team `t2`, each ended early in hospital, and `cohort` through courses.
    fn facts(team: Option<&str>, cohort: usize) -> ReportFacts {
        let ended = ReferralFacts {
            team_id: "t2".into(),
            therapist_id: None,
            month: "2026-03".into(),
            screened: true,
            inclusion: Some(super::super::funnel::Inclusion::Included),
            started: true,
            ending: Some(super::super::funnel::Ending::EndedEarly {
                reason: Some("hospitalised".into()),
            }),
        };
        ReportFacts {
            municipality: named("m1"),
            teams: vec![named("t1"), named("t2")],
            team: team.map(named),
            therapist: None,
            settings: EvidenceSettings::default(),
            referrals: vec![ended; 3],
            therapists: vec![],
            cohort: (0..cohort)
                .map(|i| CitizenOutcome {
                    citizen_id: format!("c{i}"),
                    tests: vec![],
                    care_time: None,
                    sessions_planned: 30,
                    sessions_delivered: 20,
                })
                .collect(),
            staff: vec![],
            municipality_through_courses: 0,
            municipality_staff: vec![],
            offsets: FollowUpOffsets::default(),
            benchmark: vec![],
            benchmark_scope: None,
            suppression: Suppression { min_citizens: 10 },
        }
    }

    #[test]
    fn the_benchmark_compares_whole_quarters_that_ended_judged_at_the_last_quarters_end() {
        let period = Period::new(date!(2025 - 02 - 10), date!(2026 - 12 - 31)).unwrap();
        // Any day of a quarter gives the same answer: the quarters ended before it.
        for today in [
            date!(2026 - 10 - 01),
            date!(2026 - 11 - 17),
            date!(2026 - 12 - 31),
        ] {
            let b = BenchmarkScope::of(period, today).unwrap();
            assert_eq!(b.as_of, date!(2026 - 09 - 30));
            assert_eq!(b.quarters.len(), 7, "2025 Q1 to 2026 Q3");
            assert_eq!(
                b.period(),
                Period::new(date!(2025 - 01 - 01), date!(2026 - 09 - 30)).unwrap()
            );
            // The history starts where the data does, whatever the question.
            let h = b.history(Some(date!(2024 - 05 - 02)));
            assert_eq!(h.quarters[0].start, date!(2024 - 04 - 01));
            assert_eq!(h.asked, 3..10, "2025 Q1 to 2026 Q3 after 2024's three");
            assert_eq!(h.index_of(date!(2025 - 03 - 31)), 3);
            assert_eq!(h.index_of(date!(2026 - 07 - 01)), 9);
            assert_eq!(b.history(None).asked, 0..7);
        }
        // A period a day longer or shorter asks the same quarters.
        let a_day_less = Period::new(date!(2025 - 02 - 11), date!(2026 - 12 - 30)).unwrap();
        assert_eq!(
            BenchmarkScope::of(a_day_less, date!(2026 - 11 - 17)),
            BenchmarkScope::of(period, date!(2026 - 11 - 17))
        );
        // While no quarter of the period has ended: the last quarter that has.
        let this_quarter = Period::new(date!(2026 - 10 - 01), date!(2026 - 12 - 31)).unwrap();
        let b = BenchmarkScope::of(this_quarter, date!(2026 - 12 - 31)).unwrap();
        assert_eq!(
            b.quarters,
            [Period::new(date!(2026 - 07 - 01), date!(2026 - 09 - 30)).unwrap()]
        );
    }

    #[test]
    fn the_business_case_rests_on_enough_pairs_and_scales_the_days_that_have_passed() {
        let prices = crate::evidence::business_case::tests::prices();
        let mut effect = effect_evidence(&[], &FollowUpOffsets::default());
        effect.sessions.courses = 60;
        let care = |offset_days, n, change| crate::evidence::effect::CareTimeEffect {
            offset_days,
            n,
            mean_before_minutes_per_day: Some(60.0),
            mean_after_minutes_per_day: Some(60.0 + change),
            mean_change_minutes_per_day: Some(change),
            change_percent: None,
            ci95_change_minutes_per_day: None,
            ci95_change_percent: None,
        };
        // One citizen's change at 77 days prices nothing; the 365-day one of 12 does.
        effect.care_time = vec![care(77, 1, -60.0), care(365, 12, -10.0)];
        let year = Period::new(date!(2026 - 01 - 01), date!(2026 - 12 - 31)).unwrap();
        let s = business_case_section(&prices, &effect, year, date!(2026 - 12 - 31), 10)
            .unwrap()
            .unwrap();
        assert_eq!(s.offset_days, 365);
        assert_eq!(s.outcomes.minutes_per_day_saved_per_citizen, 10.0);
        assert_eq!(s.outcomes.citizens_per_year, 60);
        // Asked on 1 July: 60 citizens in half a year is 120 a year, not 60.
        let s = business_case_section(&prices, &effect, year, date!(2026 - 07 - 02), 10)
            .unwrap()
            .unwrap();
        assert_eq!(s.outcomes.citizens_per_year, 120);
        // No follow-up with enough pairs: no business case.
        effect.care_time = vec![care(77, 9, -60.0)];
        assert!(
            business_case_section(&prices, &effect, year, date!(2026 - 12 - 31), 10)
                .unwrap()
                .is_none()
        );
    }

    /// A leader of team t1 of municipality m1, asking for 2026.
    fn leader_of_t1_in_2026() -> (Viewer, Scope) {
        let viewer = Viewer {
            municipality_id: "m1".into(),
            teams: vec!["t1".into()],
        };
        let scope = Scope {
            period: Period::new(date!(2026 - 01 - 01), date!(2026 - 12 - 31)).unwrap(),
            as_of: date!(2026 - 06 - 30),
        };
        (viewer, scope)
    }

    #[test]
    fn a_team_the_viewer_does_not_serve_shows_no_outcomes_or_reasons_of_too_few_citizens() {
        let (viewer, scope) = leader_of_t1_in_2026();
        // Another team of the municipality, 3 citizens: counts stay, outcomes and reasons go.
        let r = report(&viewer, facts(Some("t2"), 3), scope).unwrap();
        assert_eq!(
            r.suppressed,
            [SuppressedSection::Effect, SuppressedSection::Reasons]
        );
        assert_eq!(r.effect.completeness.citizens, 0);
        assert!(r.funnel.ended_early_by_reason.is_empty());
        assert_eq!(r.funnel.total.ended_early, 3, "the stage counts stay");
        // Enough citizens through courses: the effect shows; the reasons (3) still do not.
        let r = report(&viewer, facts(Some("t2"), 12), scope).unwrap();
        assert_eq!(r.suppressed, [SuppressedSection::Reasons]);
        assert_eq!(r.effect.completeness.citizens, 12);
        // The viewer's own team, and the whole municipality: nothing withheld.
        for team in [Some("t1"), None] {
            let r = report(&viewer, facts(team, 3), scope).unwrap();
            assert!(r.suppressed.is_empty(), "{team:?}");
            assert_eq!(r.effect.completeness.citizens, 3);
        }
        let r = report(&viewer, facts(None, 3), scope).unwrap();
        assert_eq!(r.funnel.ended_early_by_reason[0].count, 3);
    }

    /// The recruitment table names (by user id) only therapists of teams the viewer serves.
    #[test]
    fn a_therapist_of_a_team_the_viewer_does_not_serve_is_no_user_id() {
        let (viewer, scope) = leader_of_t1_in_2026();
        let member = |user: &str, team: &str| StaffMember {
            user_id: user.into(),
            name: format!("name of {user}"),
            team_id: team.into(),
            role: Role::Therapist,
            has_access: true,
            trained_on: None,
            last_work: vec![],
        };
        let referral = |team: &str, therapist: &str| ReferralFacts {
            team_id: team.into(),
            therapist_id: Some(therapist.into()),
            month: "2026-03".into(),
            screened: false,
            inclusion: None,
            started: false,
            ending: None,
        };
        let mut f = facts(None, 12);
        f.staff = vec![
            member("own", "t1"),
            member("theirs", "t2"),
            member("also", "t2"),
        ];
        f.therapists = f.staff.iter().map(|s| named(&s.user_id)).collect();
        f.referrals = vec![
            referral("t1", "own"),
            referral("t2", "theirs"),
            referral("t2", "theirs"),
            referral("t2", "also"),
        ];
        let r = report(&viewer, f, scope).unwrap();
        let ids: Vec<&str> = r
            .therapists_recruiting
            .iter()
            .map(|x| x.id.as_str())
            .collect();
        assert_eq!(ids, ["own"], "another team's therapists are not listed");
        assert!(
            !ids.contains(&"theirs") && !ids.contains(&"also"),
            "{ids:?}"
        );
        let text = serde_json::to_string(&r).unwrap();
        assert!(!text.contains("\"theirs\"") && !text.contains("\"also\""));
    }

    fn course(start: &str) -> CourseFacts {
        CourseFacts {
            course_id: "c".into(),
            citizen_id: "b".into(),
            team_id: "t".into(),
            responsible_therapist: "u".into(),
            start_date: start.into(),
            planned_weeks: 12,
            sessions_per_week: 2,
            sessions_delivered: 0,
            results: vec![],
            grants: vec![],
            grants_recorded_until: None,
            citizen_left: false,
        }
    }

    #[test]
    fn citizens_through_courses_counts_people() {
        let (one, again) = (course("2026-01-05"), course("2026-06-01"));
        let other = CourseFacts {
            citizen_id: "someone else".into(),
            ..course("2026-02-02")
        };
        assert_eq!(citizens_in(&[&one, &again, &other]), 2);
        assert_eq!(citizens_in(&[]), 0);
    }

    #[test]
    fn the_cohort_is_the_courses_whose_planned_last_day_lies_in_the_period_by_the_day() {
        let scope = Scope {
            period: Period::new(date!(2026 - 01 - 01), date!(2026 - 12 - 31)).unwrap(),
            as_of: date!(2026 - 06 - 30),
        };
        // 12 weeks from 2 March end on 24 May: in.
        assert!(course("2026-03-02").in_cohort(&scope));
        // Ends 2026-01-04, inside; started the year before: still in.
        assert!(course("2025-10-13").in_cohort(&scope));
        // Ends 2025-12-28: before the period.
        assert!(!course("2025-10-06").in_cohort(&scope));
        // Ends 2026-07-19: after the day the figures are for.
        assert!(!course("2026-04-27").in_cohort(&scope));
        assert!(!course("not a date").in_cohort(&scope));
    }
}
