//! Retention (issue #14 item 5): how long each kind of record is kept, set per municipality,
//! and which records are past it. Pure: the server reads the facts from its read model and
//! erases what [`due`] returns (a course and its session log deleted, a roster rewritten
//! without the rest: `docs::rewrite::rewrite_roster_without`).
//!
//! The legal floor: a health professional's records are kept at least 5 years after the last
//! entry (journalføringsbekendtgørelsen; domain.md §4), so a course, its session log and a
//! referral's screening (a therapist's assessment) are never set below 5 years. Home-care
//! grants are copies of the care system's decisions, kept for the effect measurement: at least
//! 1 year. Nothing is kept past 30 years by this setting (a typo guard, not law).

use crate::ids::{CitizenId, CourseId, ReferralId, TeamId};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use time::Date;

/// The kinds of record retention is set for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RecordKind {
    /// A course and its session log, counted from the course's last entry after it ended.
    Course,
    /// A referral that led to no course, counted from its screening (else its referral date).
    Referral,
    /// A home-care grant, counted from when a later grant of the same service replaced it.
    CareGrant,
}

impl RecordKind {
    pub const ALL: [RecordKind; 3] = [
        RecordKind::Course,
        RecordKind::Referral,
        RecordKind::CareGrant,
    ];

    /// The fewest years the law allows (see the module's doc).
    pub fn minimum_years(self) -> u32 {
        match self {
            RecordKind::Course | RecordKind::Referral => 5,
            RecordKind::CareGrant => 1,
        }
    }
}

/// The most years any kind may be set to.
pub const MAXIMUM_YEARS: u32 = 30;

/// A municipality's retention, years per kind (default 5 for every kind).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RetentionSettings {
    pub course_years: u32,
    pub referral_years: u32,
    pub care_grant_years: u32,
}

impl Default for RetentionSettings {
    fn default() -> Self {
        RetentionSettings {
            course_years: 5,
            referral_years: 5,
            care_grant_years: 5,
        }
    }
}

/// Settings that may not be used, with the kind and the allowed range.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("retention of {kind:?} must be {minimum}–{maximum} years, not {years}")]
pub struct RetentionError {
    pub kind: RecordKind,
    pub years: u32,
    pub minimum: u32,
    pub maximum: u32,
}

impl RetentionSettings {
    pub fn years(&self, kind: RecordKind) -> u32 {
        match kind {
            RecordKind::Course => self.course_years,
            RecordKind::Referral => self.referral_years,
            RecordKind::CareGrant => self.care_grant_years,
        }
    }

    pub fn validate(&self) -> Result<(), RetentionError> {
        for kind in RecordKind::ALL {
            let years = self.years(kind);
            if years < kind.minimum_years() || years > MAXIMUM_YEARS {
                return Err(RetentionError {
                    kind,
                    years,
                    minimum: kind.minimum_years(),
                    maximum: MAXIMUM_YEARS,
                });
            }
        }
        Ok(())
    }
}

/// `date` plus whole years (29 February becomes 28 February).
pub fn add_years(date: Date, years: u32) -> Date {
    let year = date.year() + years as i32;
    date.replace_year(year)
        .or_else(|_| date.replace_day(28).and_then(|d| d.replace_year(year)))
        .unwrap_or(Date::MAX)
}

/// What the server knows of one citizen, from its read model.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CitizenFacts {
    pub citizen: CitizenId,
    pub team: TeamId,
    /// Whether the citizen is still marked active on the roster.
    pub active: bool,
    pub courses: Vec<CourseFact>,
    pub referrals: Vec<ReferralFact>,
    pub care_grants: Vec<CareGrantFact>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CourseFact {
    pub course: CourseId,
    /// Whether the course is completed or ended early (planned, active and paused courses are
    /// never due).
    pub ended: bool,
    /// The course's last entry: the latest of its start, its sessions and its test results.
    pub last_entry: Date,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReferralFact {
    pub referral: ReferralId,
    pub referred_on: Date,
    pub screened_on: Option<Date>,
    /// The course created from it: then it is kept as long as that course.
    pub course: Option<CourseId>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CareGrantFact {
    /// `CareGrantRecord::key`.
    pub key: String,
    pub service_code: Option<String>,
    pub effective: Date,
}

/// One thing to erase.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Erasure {
    /// Delete the course and its session log.
    Course {
        citizen: CitizenId,
        team: TeamId,
        course: CourseId,
    },
    /// Rewrite the team's roster without this referral.
    Referral {
        citizen: CitizenId,
        team: TeamId,
        referral: ReferralId,
    },
    /// Rewrite the team's roster without this grant (entered or inside an import).
    CareGrant {
        citizen: CitizenId,
        team: TeamId,
        key: String,
    },
    /// Rewrite the team's roster without the citizen and everything of theirs.
    Citizen { citizen: CitizenId, team: TeamId },
}

impl Erasure {
    pub fn citizen(&self) -> CitizenId {
        match self {
            Erasure::Course { citizen, .. }
            | Erasure::Referral { citizen, .. }
            | Erasure::CareGrant { citizen, .. }
            | Erasure::Citizen { citizen, .. } => *citizen,
        }
    }
    pub fn team(&self) -> TeamId {
        match self {
            Erasure::Course { team, .. }
            | Erasure::Referral { team, .. }
            | Erasure::CareGrant { team, .. }
            | Erasure::Citizen { team, .. } => *team,
        }
    }
}

/// What is past `settings` on `today`, per citizen, in a stable order. A record is due the day
/// its retention has passed (`last entry + years <= today`). A citizen's roster entry is due when
/// they are no longer active and everything of theirs is due (or there is nothing): then the one
/// `Erasure::Citizen` covers their referrals and grants, and their courses are listed beside it.
pub fn due(settings: &RetentionSettings, facts: &[CitizenFacts], today: Date) -> Vec<Erasure> {
    let past = |from: Date, kind: RecordKind| add_years(from, settings.years(kind)) <= today;
    let mut out = Vec::new();
    for c in facts {
        let (citizen, team) = (c.citizen, c.team);
        let mut all_due = !c.active;
        let mut courses_due = BTreeMap::new();
        for course in &c.courses {
            let d = course.ended && past(course.last_entry, RecordKind::Course);
            all_due &= d;
            courses_due.insert(course.course, d);
        }
        let mut referrals = Vec::new();
        for r in &c.referrals {
            let d = match r.course {
                // Kept with its course (a course unknown here is treated as kept).
                Some(course) => courses_due.get(&course).copied().unwrap_or(false),
                None => past(r.screened_on.unwrap_or(r.referred_on), RecordKind::Referral),
            };
            all_due &= d;
            if d && r.course.is_none() {
                referrals.push(r.referral);
            }
        }
        // A grant ends when a later grant of the same service takes effect; the latest of a
        // service runs until the citizen's entry goes.
        let mut grants = Vec::new();
        for g in &c.care_grants {
            let successor = c
                .care_grants
                .iter()
                .filter(|o| o.service_code == g.service_code && o.effective > g.effective)
                .map(|o| o.effective)
                .min();
            let d = successor.is_some_and(|end| past(end, RecordKind::CareGrant));
            if d {
                grants.push(g.key.clone());
            } else if successor.is_some() {
                all_due = false;
            }
        }
        out.extend(
            courses_due
                .iter()
                .filter(|(_, d)| **d)
                .map(|(course, _)| Erasure::Course {
                    citizen,
                    team,
                    course: *course,
                }),
        );
        if all_due {
            out.push(Erasure::Citizen { citizen, team });
            continue;
        }
        out.extend(referrals.into_iter().map(|referral| Erasure::Referral {
            citizen,
            team,
            referral,
        }));
        out.extend(
            grants
                .into_iter()
                .map(|key| Erasure::CareGrant { citizen, team, key }),
        );
    }
    out.sort();
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    fn citizen(active: bool) -> CitizenFacts {
        CitizenFacts {
            citizen: CitizenId::new(),
            team: TeamId::new(),
            active,
            courses: vec![],
            referrals: vec![],
            care_grants: vec![],
        }
    }

    #[test]
    fn settings_below_the_legal_minimum_or_absurdly_long_are_refused() {
        assert!(RetentionSettings::default().validate().is_ok());
        for (s, kind) in [
            (
                RetentionSettings {
                    course_years: 4,
                    ..Default::default()
                },
                RecordKind::Course,
            ),
            (
                RetentionSettings {
                    referral_years: 0,
                    ..Default::default()
                },
                RecordKind::Referral,
            ),
            (
                RetentionSettings {
                    care_grant_years: 31,
                    ..Default::default()
                },
                RecordKind::CareGrant,
            ),
        ] {
            assert_eq!(s.validate().unwrap_err().kind, kind);
        }
        let one_year_grants = RetentionSettings {
            care_grant_years: 1,
            ..Default::default()
        };
        assert!(one_year_grants.validate().is_ok());
    }

    #[test]
    fn a_course_is_due_five_years_after_its_last_entry_once_ended() {
        let mut c = citizen(true);
        let old = CourseId::new();
        let recent = CourseId::new();
        let running = CourseId::new();
        c.courses = vec![
            CourseFact {
                course: old,
                ended: true,
                last_entry: date!(2020 - 03 - 01),
            },
            CourseFact {
                course: recent,
                ended: true,
                last_entry: date!(2022 - 03 - 02),
            },
            CourseFact {
                course: running,
                ended: false,
                last_entry: date!(2010 - 01 - 01),
            },
        ];
        let due = due(
            &RetentionSettings::default(),
            &[c.clone()],
            date!(2027 - 03 - 01),
        );
        assert_eq!(
            due,
            vec![Erasure::Course {
                citizen: c.citizen,
                team: c.team,
                course: old
            }]
        );
        // The day before: nothing.
        assert!(super::due(&RetentionSettings::default(), &[c], date!(2025 - 02 - 28)).is_empty());
    }

    #[test]
    fn an_inactive_citizen_goes_whole_only_when_everything_of_theirs_is_due() {
        let mut c = citizen(false);
        let course = CourseId::new();
        c.courses = vec![CourseFact {
            course,
            ended: true,
            last_entry: date!(2019 - 01 - 01),
        }];
        c.referrals = vec![ReferralFact {
            referral: ReferralId::new(),
            referred_on: date!(2018 - 12 - 01),
            screened_on: Some(date!(2018 - 12 - 05)),
            course: Some(course),
        }];
        let s = RetentionSettings::default();
        let today = date!(2026 - 01 - 01);
        let all = due(&s, &[c.clone()], today);
        assert!(all.contains(&Erasure::Citizen {
            citizen: c.citizen,
            team: c.team
        }));
        assert!(all.contains(&Erasure::Course {
            citizen: c.citizen,
            team: c.team,
            course
        }));
        // A referral screened last year keeps the citizen (and is itself not due).
        c.referrals.push(ReferralFact {
            referral: ReferralId::new(),
            referred_on: date!(2025 - 01 - 01),
            screened_on: None,
            course: None,
        });
        let some = due(&s, &[c.clone()], today);
        assert!(!some.iter().any(|e| matches!(e, Erasure::Citizen { .. })));
        // Still active: never whole, whatever is due.
        c.active = true;
        c.referrals.pop();
        assert!(!due(&s, &[c], today)
            .iter()
            .any(|e| matches!(e, Erasure::Citizen { .. })));
    }

    #[test]
    fn a_replaced_grant_is_due_years_after_its_successor_the_latest_is_kept() {
        let mut c = citizen(true);
        let g = |key: &str, on| CareGrantFact {
            key: key.into(),
            service_code: Some("1.1".into()),
            effective: on,
        };
        c.care_grants = vec![
            g("old", date!(2015 - 01 - 01)),
            g("newer", date!(2019 - 06 - 01)),
            g("latest", date!(2024 - 06 - 01)),
        ];
        let s = RetentionSettings {
            care_grant_years: 2,
            ..Default::default()
        };
        let got = due(&s, &[c.clone()], date!(2026 - 01 - 01));
        let keys: Vec<_> = got
            .iter()
            .filter_map(|e| match e {
                Erasure::CareGrant { key, .. } => Some(key.as_str()),
                _ => None,
            })
            .collect();
        assert_eq!(keys, ["old"]);
    }

    #[test]
    fn leap_days_add_whole_years() {
        assert_eq!(add_years(date!(2024 - 02 - 29), 5), date!(2029 - 02 - 28));
        assert_eq!(add_years(date!(2024 - 03 - 01), 5), date!(2029 - 03 - 01));
    }
}
