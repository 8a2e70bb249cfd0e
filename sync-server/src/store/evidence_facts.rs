//! The evidence queries' rows turned into facts, for every backend: what a referral's row says
//! about how far it went, a user's row and work as a staff member, and the one-pass merges of
//! results and care grants into the cohort's courses. The SQL that gives these rows lives in
//! each backend (`sqlite_evidence`, `postgres_evidence`); what they mean is written once here.

use crate::error::{Error, Result};
use homerehab_shared::effect::care_time::{begun_before_leaving, CareGrant, LEFT_HOME_CARE};
use homerehab_shared::evidence::funnel::{Ending, Inclusion, ReferralFacts};
use homerehab_shared::evidence::report::{CourseFacts, ResultFact};
use homerehab_shared::evidence::staff::{StaffMember, Work, WorkDone};
use homerehab_shared::evidence::targets::Period;
use homerehab_shared::model::{parse_date, AssessmentPhase, Role};
use std::collections::HashMap;
use uuid::Uuid;

/// The longest course (`Course::validate`: 104 weeks), so a course ending in a period started
/// at most this many days before it.
const LONGEST_COURSE_DAYS: i64 = 104 * 7;

/// The start dates (ISO) a course completed in `period` may have: from the longest course
/// before its start to its end.
pub fn cohort_start_dates(period: Period) -> (String, String) {
    let earliest = period
        .start
        .saturating_sub(time::Duration::days(LONGEST_COURSE_DAYS));
    (
        homerehab_shared::effect::iso(earliest),
        homerehab_shared::effect::iso(period.end),
    )
}

/// The query of the cohort's citizens who left home care for another reason than a course: a
/// course of theirs, in any team, ended early so (`care_time::LEFT_HOME_CARE`); with the start
/// of the last such course. `cohort` is the cohort's `FROM rm_courses c WHERE …`; the same SQL
/// on both backends.
pub fn citizens_left_query(cohort: &str) -> String {
    let reasons = LEFT_HOME_CARE.map(|r| format!("'{r}'")).join(", ");
    format!(
        "SELECT o.citizen_id, MAX(o.start_date) FROM rm_courses o
         WHERE o.status = 'ended_early' AND o.end_reason IN ({reasons})
           AND o.citizen_id IN (SELECT c.citizen_id {cohort})
         GROUP BY o.citizen_id"
    )
}

/// Marks the courses of the citizens [`citizens_left_query`] answered (citizen, the start of
/// their last course that ended so) that were begun before they left: their care time is not
/// counted (`CourseFacts::citizen_left`). A course begun after is a return, counted.
pub fn mark_citizens_left(courses: &mut [CourseFacts], left: &HashMap<String, String>) {
    for c in courses {
        c.citizen_left = left
            .get(&c.citizen_id)
            .is_some_and(|last| begun_before_leaving(&c.start_date, last));
    }
}

pub fn corrupt(what: &str, e: impl std::fmt::Display) -> Error {
    Error::Corrupt(format!("{what}: {e}"))
}

/// A referral's row joined with its course's (when it led to one).
pub struct ReferralRow {
    pub team_id: String,
    pub referred_on: String,
    pub screened: bool,
    pub screened_by: Option<String>,
    pub outcome: Option<String>,
    pub not_included_reason: Option<String>,
    pub course_status: Option<String>,
    pub responsible_therapist: Option<String>,
    pub end_reason: Option<String>,
}

impl ReferralRow {
    pub fn facts(self) -> ReferralFacts {
        let status = self.course_status.as_deref();
        ReferralFacts {
            team_id: self.team_id,
            therapist_id: self.screened_by.or(self.responsible_therapist),
            month: self.referred_on.chars().take(7).collect(),
            screened: self.screened,
            inclusion: match self.outcome.as_deref() {
                Some("included") => Some(Inclusion::Included),
                Some("not_included") => Some(Inclusion::NotIncluded {
                    reason: self.not_included_reason.unwrap_or_default(),
                }),
                _ => None,
            },
            started: matches!(
                status,
                Some("active" | "paused" | "completed" | "ended_early")
            ),
            // Its coded reason; a course ended before reasons were coded has none.
            ending: match status {
                Some("completed") => Some(Ending::Completed),
                Some("ended_early") => Some(Ending::EndedEarly {
                    reason: self.end_reason,
                }),
                _ => None,
            },
        }
    }
}

/// Each kind of work as a row of a `VALUES` list (`('logged_session'), …`), for the stores'
/// query of a user's latest day of each kind: one index seek per kind, whatever the history.
pub fn work_kinds_values() -> String {
    Work::ALL
        .iter()
        .map(|w| format!("('{}')", w.code()))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A user's row and the latest day of each kind of work (`(work, last_on)`), as a staff member.
pub fn staff_member(
    id: Uuid,
    name: String,
    role: &str,
    team: Uuid,
    trained_on: Option<&str>,
    last_work: Vec<(String, String)>,
) -> Result<StaffMember> {
    let role: Role = serde_json::from_value(serde_json::Value::String(role.to_string()))
        .map_err(|e| corrupt("a role", e))?;
    Ok(StaffMember {
        user_id: id.to_string(),
        name,
        team_id: team.to_string(),
        role,
        // Accounts are not closed yet: everyone with a user may sign in.
        has_access: true,
        trained_on: trained_on.and_then(|d| parse_date(d).ok()),
        last_work: last_work
            .into_iter()
            .filter_map(|(w, on)| {
                Some(WorkDone {
                    work: Work::from_code(&w)?,
                    last_on: parse_date(&on).ok()?,
                })
            })
            .collect(),
    })
}

/// Merges results, read ordered by course id (then result id), into courses ordered by id:
/// one pass, no map keyed by string ids.
pub struct ResultMerge {
    next: usize,
}

impl ResultMerge {
    pub fn new() -> Self {
        ResultMerge { next: 0 }
    }

    /// One result row: `phase` is `start` or `end` (the query asks for no other).
    pub fn add(
        &mut self,
        courses: &mut [CourseFacts],
        course: &str,
        test: String,
        phase: &str,
        value: f64,
        date: String,
    ) {
        // Of several courses with one id (the projector makes none), the last gets the results.
        while self.next < courses.len() && courses[self.next].course_id.as_str() <= course {
            self.next += 1;
        }
        let Some(c) = self.next.checked_sub(1).map(|i| &mut courses[i]) else {
            return;
        };
        if c.course_id != course {
            return;
        }
        let phase = match phase {
            "start" => AssessmentPhase::Start,
            _ => AssessmentPhase::End,
        };
        c.results.push(ResultFact {
            test,
            phase,
            value,
            date,
        });
    }
}

impl Default for ResultMerge {
    fn default() -> Self {
        Self::new()
    }
}

/// Merges care grants, read ordered by citizen (then effective day, service, minutes), into
/// every course of their citizen, in one pass over the courses sorted by citizen.
pub struct GrantMerge {
    by_citizen: Vec<usize>,
    first: usize,
}

impl GrantMerge {
    pub fn new(courses: &[CourseFacts]) -> Self {
        let mut by_citizen: Vec<usize> = (0..courses.len()).collect();
        // Stable, so one citizen's courses keep their order.
        by_citizen.sort_by(|&a, &b| courses[a].citizen_id.cmp(&courses[b].citizen_id));
        GrantMerge {
            by_citizen,
            first: 0,
        }
    }

    /// One grant row, recorded on `recorded_on` (ISO; `None` before the rosters were
    /// projected again with it: not known); a grant whose day does not parse is skipped.
    pub fn add(
        &mut self,
        courses: &mut [CourseFacts],
        citizen: &str,
        effective: &str,
        minutes_per_week: u32,
        service_code: Option<String>,
        recorded_on: Option<String>,
    ) {
        while self.first < self.by_citizen.len()
            && courses[self.by_citizen[self.first]].citizen_id.as_str() < citizen
        {
            self.first += 1;
        }
        let Ok(effective) = parse_date(effective) else {
            return;
        };
        let grant = CareGrant {
            effective,
            minutes_per_week,
            service_code,
        };
        for &i in &self.by_citizen[self.first..] {
            if courses[i].citizen_id != citizen {
                break;
            }
            courses[i].grants.push(grant.clone());
            // ISO dates order as text (and `None` before any): the latest day any of the
            // citizen's grants was recorded.
            let until = &mut courses[i].grants_recorded_until;
            if *until < recorded_on {
                until.clone_from(&recorded_on);
            }
        }
    }
}
