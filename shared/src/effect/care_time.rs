//! Granted home-care time before and after a course: the grants as the care record system
//! holds them, the baseline in force when the course started, and follow-ups at offsets after
//! it ended (default 77 days, as Aarhus measured, and 365 days; domain.md §7.2).

use serde::{Deserialize, Serialize};
use time::{Date, Duration};

/// One grant of home care: from `effective` on, `minutes_per_week` of a service. A later grant
/// of the same service replaces it; 0 minutes ends it.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct CareGrant {
    #[serde(with = "super::iso_date")]
    pub effective: Date,
    pub minutes_per_week: u32,
    /// The FSIII service code, when the care record system gives one. Grants without a code are
    /// one service of their own.
    pub service_code: Option<String>,
}

/// The minutes per week in force on `on`: for each service, the latest grant effective on or
/// before that day, summed. `None` when no grant had taken effect yet (not known, not zero).
pub fn minutes_in_force(grants: &[CareGrant], on: Date) -> Option<u32> {
    let mut latest: Vec<&CareGrant> = Vec::new();
    for g in grants.iter().filter(|g| g.effective <= on) {
        match latest.iter_mut().find(|l| l.service_code == g.service_code) {
            // Same day twice: the later in the list (imported or entered later) wins.
            Some(l) if g.effective >= l.effective => *l = g,
            Some(_) => {}
            None => latest.push(g),
        }
    }
    (!latest.is_empty()).then(|| latest.iter().map(|g| g.minutes_per_week).sum())
}

/// Whether a course that ended early for `end_reason` means the citizen left home care for a
/// reason that is no outcome of the course: they died or moved away or into a care home
/// (`model::END_REASONS`). They leave the care record system's export too, and counting them as
/// "0 minutes of home care" would be counting deaths as success.
pub fn left_for_another_reason(end_reason: Option<&str>) -> bool {
    end_reason.is_some_and(|r| LEFT_HOME_CARE.contains(&r))
}

/// The end reasons (`model::END_REASONS`) of [`left_for_another_reason`], for the stores'
/// queries.
pub const LEFT_HOME_CARE: [&str; 2] = ["died", "moved"];

/// Whether a course begun on `course_start` is one its citizen left home care during or after,
/// given the start of the last course of theirs that ended early because they died or moved
/// ([`left_for_another_reason`]); both ISO dates. A course begun after that one is taken for a
/// return (they moved back, or the move fell through): followed up as any other, so a citizen
/// who moved once is not left out of the figures for good. The day they left is not recorded,
/// only that it was during the course that ended so, hence the start dates; so a course of
/// another team begun while that one ran, and not ended for the same reason, is taken for a
/// return too.
pub fn begun_before_leaving(course_start: &str, last_left_course_start: &str) -> bool {
    // ISO dates (`model::parse_date` takes exactly `YYYY-MM-DD`) order as their text does;
    // the stores' queries take the latest start by its text too.
    course_start <= last_left_course_start
}

/// Why a day cannot be recorded as the day a citizen's home care ended.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CareEndRefused {
    #[error("that day has not come")]
    ToCome,
    #[error("the citizen's grants were recorded on {0}: the care record system said then what they had, so home care ended after that day")]
    NotAfterLastRecorded(Date),
    #[error("a follow-up on {0} waits for the grants in force that day: an end after it would leave that day unknown (enter the grant in force on it instead)")]
    AfterWaitingFollowUp(Date),
    #[error("a grant of {minutes} minutes a week takes effect on {effective}, after that day")]
    LaterGrant { effective: Date, minutes: u32 },
}

/// The day from which the grants say a citizen has had no home care through `today` (every
/// service's latest grant is 0 minutes: [`home_care_ended`] recorded, or the care record
/// system's own zeros), or `None` while they have some or no grant says anything yet.
pub fn ended_since(grants: &[CareGrant], today: Date) -> Option<Date> {
    (minutes_in_force(grants, today) == Some(0)).then(|| {
        grants
            .iter()
            .filter(|g| g.effective <= today)
            .map(|g| g.effective)
            .max()
    })?
}

/// Whether `on` may be recorded as the day a citizen's home care ended, given their `grants`,
/// the day those were last recorded and the earliest follow-up day still waiting for grants.
/// Only a day that says something true and new: after the last recording (the care record
/// system said then what they had), not after a waiting follow-up (the day ended tells the
/// minutes from it on, not the minutes before it, and recording it makes the citizen's days
/// up to today known: [`known_on`]), with no grant taking effect after it, and not to come.
/// Or the day the grants already say it ended ([`ended_since`]), on or before the waiting
/// follow-up: recorded again, it says the citizen is still without home care today (a year's
/// follow-up comes after the one that found the end).
pub fn may_end_care_on(
    on: Date,
    grants: &[CareGrant],
    last_recorded: Option<Date>,
    earliest_waiting: Option<Date>,
    today: Date,
) -> Result<(), CareEndRefused> {
    if on > today {
        return Err(CareEndRefused::ToCome);
    }
    let still_ended = ended_since(grants, today) == Some(on);
    if let Some(last) = last_recorded.filter(|last| on <= *last && !still_ended) {
        return Err(CareEndRefused::NotAfterLastRecorded(last));
    }
    if let Some(waiting) = earliest_waiting.filter(|w| on > *w) {
        return Err(CareEndRefused::AfterWaitingFollowUp(waiting));
    }
    match grants
        .iter()
        .filter(|g| g.effective > on && g.minutes_per_week > 0)
        .min_by_key(|g| g.effective)
    {
        Some(g) => Err(CareEndRefused::LaterGrant {
            effective: g.effective,
            minutes: g.minutes_per_week,
        }),
        None => Ok(()),
    }
}

/// The days [`may_end_care_on`] takes as the day home care ended (the day the grants already
/// say it ended aside), as a date input's bounds: the first (`None`: no day is too early) and
/// the last. From the day after the last recording and the day the latest grant of minutes
/// took effect, to the earliest waiting follow-up or today, whichever comes first. `None` when
/// no day is left (a grant of minutes takes effect after them).
pub fn care_end_days(
    grants: &[CareGrant],
    last_recorded: Option<Date>,
    earliest_waiting: Option<Date>,
    today: Date,
) -> Option<(Option<Date>, Date)> {
    let after_recording = last_recorded.and_then(Date::next_day);
    let latest_grant = grants
        .iter()
        .filter(|g| g.minutes_per_week > 0)
        .map(|g| g.effective)
        .max();
    let first = after_recording.max(latest_grant);
    let last = earliest_waiting.map_or(today, |w| w.min(today));
    match first {
        Some(first) if first > last => None,
        first => Some((first, last)),
    }
}

/// The grants that say a citizen's home care ended on `on`: 0 minutes from that day for each
/// service granted before it (a later grant of a service replaces it), or one 0-minute grant
/// without a code when none was. A monthly export names only the citizens who receive home
/// care, so one who left it is simply not in the file: a person records the day it ended.
pub fn home_care_ended(grants: &[CareGrant], on: Date) -> Vec<CareGrant> {
    let mut services: Vec<Option<String>> = Vec::new();
    for g in grants.iter().filter(|g| g.effective <= on) {
        if !services.contains(&g.service_code) {
            services.push(g.service_code.clone());
        }
    }
    if services.is_empty() {
        services.push(None);
    }
    services
        .into_iter()
        .map(|service_code| CareGrant {
            effective: on,
            minutes_per_week: 0,
            service_code,
        })
        .collect()
}

/// Days after the course's end at which care time is followed up.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FollowUpOffsets(pub Vec<u32>);

impl Default for FollowUpOffsets {
    fn default() -> Self {
        FollowUpOffsets(vec![77, 365])
    }
}

/// Care time at one follow-up against the baseline.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FollowUp {
    pub offset_days: u32,
    #[serde(with = "super::iso_date")]
    pub date: Date,
    /// `None` until care-time data was recorded on or after the date ([`known_on`]: grants
    /// recorded before it cannot say what was granted on it), or without any grant.
    pub minutes_per_week: Option<u32>,
    /// Follow-up minus baseline; negative means less home care.
    pub change_minutes: Option<i64>,
    /// Change relative to the baseline, in percent; `None` with a baseline of 0.
    pub change_percent: Option<f64>,
    /// Its day has come, but no grants were recorded on or after it: waiting for the care
    /// record system's (not "not measured yet").
    #[serde(default)]
    pub awaiting_grants: bool,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CareTimeChange {
    pub baseline_minutes_per_week: Option<u32>,
    pub follow_ups: Vec<FollowUp>,
}

/// Whether the minutes in force on `date` are known on `today` from the citizen's care-time
/// data as last recorded (entered or imported) on `last_recorded`: the day has come and the
/// data was recorded on or after it. Grants recorded before a day cannot say what was granted
/// on it: a cut made after the last import is not in them, so the minutes would be a guess
/// counted as a fact.
pub fn known_on(date: Date, last_recorded: Option<Date>, today: Date) -> bool {
    date <= today && last_recorded.is_some_and(|r| r >= date)
}

/// Baseline (in force on the course's start date) and each follow-up (in force `offset` days
/// after `course_end`) as known on `today` from grants last recorded on `last_recorded`
/// ([`known_on`]). `course_end` is the course's last day, or the day it ended early.
pub fn care_time_change(
    grants: &[CareGrant],
    course_start: Date,
    course_end: Date,
    offsets: &FollowUpOffsets,
    last_recorded: Option<Date>,
    today: Date,
) -> CareTimeChange {
    let baseline = minutes_in_force(grants, course_start);
    let follow_ups = offsets
        .0
        .iter()
        .map(|&offset_days| {
            let date = course_end.saturating_add(Duration::days(i64::from(offset_days)));
            let known = known_on(date, last_recorded, today);
            let minutes = known.then(|| minutes_in_force(grants, date)).flatten();
            let change_minutes = baseline
                .zip(minutes)
                .map(|(b, m)| i64::from(m) - i64::from(b));
            let change_percent = baseline
                .zip(change_minutes)
                .filter(|(b, _)| *b > 0)
                .map(|(b, c)| c as f64 * 100.0 / f64::from(b));
            FollowUp {
                offset_days,
                date,
                minutes_per_week: minutes,
                change_minutes,
                change_percent,
                awaiting_grants: date <= today && !known,
            }
        })
        .collect();
    CareTimeChange {
        baseline_minutes_per_week: baseline,
        follow_ups,
    }
}

/// A follow-up that has come and is not yet done, for a worklist.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FollowUpDue {
    pub offset_days: u32,
    #[serde(with = "super::iso_date")]
    pub date: Date,
    /// 0 on the day itself.
    pub days_overdue: i64,
}

/// The follow-ups whose date is on or before `today` and whose offset is not in `done` (the
/// offsets someone has confirmed, e.g. after importing the care record system's file).
pub fn follow_ups_due(
    course_end: Date,
    offsets: &FollowUpOffsets,
    done: &[u32],
    today: Date,
) -> Vec<FollowUpDue> {
    offsets
        .0
        .iter()
        .filter(|o| !done.contains(o))
        .filter_map(|&offset_days| {
            let date = course_end.saturating_add(Duration::days(i64::from(offset_days)));
            (date <= today).then(|| FollowUpDue {
                offset_days,
                date,
                days_overdue: (today - date).whole_days(),
            })
        })
        .collect()
}

/// Where a care-time follow-up stands, for the worklist.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum FollowUpState {
    /// Its date has not come.
    Upcoming { days_until: i64 },
    /// Its date has come and no care-time data was recorded since: fetch the care record
    /// system's grants (import or enter them).
    Due { days_overdue: i64 },
    /// Care-time data was recorded on or after its date, so the minutes in force then are
    /// known as the care record system held them.
    Recorded,
}

/// Each follow-up of a course that ended (or ends) on `course_end`, with where it stands on
/// `today`. `last_recorded` is the day the citizen's care-time data was last recorded (entered
/// or imported): data recorded before a follow-up's date cannot say what was granted on it.
pub fn follow_up_states(
    course_end: Date,
    offsets: &FollowUpOffsets,
    last_recorded: Option<Date>,
    today: Date,
) -> Vec<(u32, Date, FollowUpState)> {
    offsets
        .0
        .iter()
        .map(|&offset| {
            let date = course_end.saturating_add(Duration::days(i64::from(offset)));
            let state = if today < date {
                FollowUpState::Upcoming {
                    days_until: (date - today).whole_days(),
                }
            } else if known_on(date, last_recorded, today) {
                FollowUpState::Recorded
            } else {
                FollowUpState::Due {
                    days_overdue: (today - date).whole_days(),
                }
            };
            (offset, date, state)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    /// The courses up to the one that ended because the citizen moved are theirs from before
    /// the move, the same day's too; one begun after it is a return.
    #[test]
    fn a_course_begun_after_the_citizen_left_is_a_return() {
        let left = "2026-03-02";
        assert!(begun_before_leaving("2025-11-20", left));
        assert!(begun_before_leaving("2026-03-02", left));
        assert!(!begun_before_leaving("2026-03-03", left));
        assert!(!begun_before_leaving("2027-01-10", left));
    }

    /// Ending home care zeroes every service granted before the day, and nothing after it:
    /// a grant of a service that starts later is not in force yet, so it is not ended.
    /// Only a day after the last recording, not after a waiting follow-up, not to come and
    /// with no grant after it may be recorded as the day home care ended.
    #[test]
    fn home_care_ends_only_on_a_day_that_says_something_true_and_new() {
        let grants = vec![
            grant(date!(2026 - 01 - 05), 300, Some("1.1")),
            grant(date!(2026 - 09 - 01), 0, Some("1.1")),
        ];
        let (last, waiting, today) = (
            Some(date!(2026 - 02 - 01)),
            Some(date!(2026 - 06 - 14)),
            date!(2026 - 12 - 07),
        );
        let may = |on| may_end_care_on(on, &grants, last, waiting, today);
        assert_eq!(may(date!(2026 - 02 - 02)), Ok(()));
        assert_eq!(
            may(date!(2026 - 06 - 14)),
            Ok(()),
            "on the follow-up's day itself"
        );
        assert_eq!(
            may(date!(2026 - 02 - 01)),
            Err(CareEndRefused::NotAfterLastRecorded(date!(2026 - 02 - 01)))
        );
        assert_eq!(
            may(date!(2026 - 06 - 15)),
            Err(CareEndRefused::AfterWaitingFollowUp(date!(2026 - 06 - 14)))
        );
        assert_eq!(
            may_end_care_on(date!(2026 - 12 - 08), &grants, None, None, today),
            Err(CareEndRefused::ToCome)
        );
        // A later grant of 0 minutes is no contradiction; one with minutes is.
        let later = [
            grants.clone(),
            vec![grant(date!(2026 - 04 - 01), 120, Some("2.2"))],
        ]
        .concat();
        assert_eq!(
            may_end_care_on(date!(2026 - 03 - 01), &later, last, waiting, today),
            Err(CareEndRefused::LaterGrant {
                effective: date!(2026 - 04 - 01),
                minutes: 120
            })
        );
        // Died or moved is no end of home care a course brought about.
        assert!(left_for_another_reason(Some("died")) && left_for_another_reason(Some("moved")));
        assert!(
            !left_for_another_reason(Some("citizen_stopped")) && !left_for_another_reason(None)
        );
        // Recorded as ended on 1 September (the 1.1 grant of 0): that day again says "still
        // ended" a year on, though recorded before; not after the year's follow-up.
        let ended = vec![
            grant(date!(2026 - 01 - 05), 300, Some("1.1")),
            grant(date!(2026 - 09 - 01), 0, Some("1.1")),
        ];
        assert_eq!(ended_since(&ended, today), Some(date!(2026 - 09 - 01)));
        assert_eq!(ended_since(&grants[..1], today), None);
        let (recorded, year) = (Some(date!(2026 - 10 - 01)), Some(date!(2027 - 06 - 14)));
        let next_year = date!(2027 - 07 - 01);
        assert_eq!(
            may_end_care_on(date!(2026 - 09 - 01), &ended, recorded, year, next_year),
            Ok(())
        );
        assert_eq!(
            may_end_care_on(date!(2026 - 08 - 31), &ended, recorded, year, next_year),
            Err(CareEndRefused::NotAfterLastRecorded(date!(2026 - 10 - 01)))
        );
        assert_eq!(
            may_end_care_on(
                date!(2026 - 09 - 01),
                &ended,
                recorded,
                Some(date!(2026 - 08 - 01)),
                next_year
            ),
            Err(CareEndRefused::AfterWaitingFollowUp(date!(2026 - 08 - 01)))
        );
        // Nothing recorded, nothing waiting: any day that has come.
        assert_eq!(
            may_end_care_on(date!(2020 - 01 - 01), &[], None, None, today),
            Ok(())
        );
    }

    #[test]
    fn home_care_ended_zeroes_every_service_in_force() {
        let grants = vec![
            grant(date!(2026 - 01 - 05), 300, Some("1.1")),
            grant(date!(2026 - 02 - 01), 120, Some("2.2")),
            grant(date!(2026 - 03 - 01), 200, Some("1.1")),
            grant(date!(2026 - 06 - 01), 60, Some("3.3")),
        ];
        let on = date!(2026 - 04 - 15);
        let ended = home_care_ended(&grants, on);
        assert_eq!(
            ended,
            vec![grant(on, 0, Some("1.1")), grant(on, 0, Some("2.2"))]
        );
        let mut after = grants.clone();
        after.extend(ended);
        assert_eq!(minutes_in_force(&after, on), Some(0));
        assert_eq!(minutes_in_force(&after, date!(2026 - 04 - 14)), Some(320));
        // Nothing granted before: one grant of 0 minutes says so.
        assert_eq!(home_care_ended(&[], on), vec![grant(on, 0, None)],);
        assert_eq!(minutes_in_force(&home_care_ended(&[], on), on), Some(0));
    }

    fn grant(effective: Date, minutes: u32, code: Option<&str>) -> CareGrant {
        CareGrant {
            effective,
            minutes_per_week: minutes,
            service_code: code.map(Into::into),
        }
    }

    /// The bounds a date input is given are exactly the days the operation takes.
    #[test]
    fn the_days_offered_for_the_end_of_home_care_are_the_days_taken() {
        let today = date!(2026 - 12 - 01);
        let cases: Vec<(Vec<CareGrant>, Option<Date>, Option<Date>)> = vec![
            (vec![], None, None),
            (
                vec![],
                Some(date!(2026 - 06 - 01)),
                Some(date!(2026 - 09 - 01)),
            ),
            (
                vec![grant(date!(2026 - 01 - 05), 300, Some("1.1"))],
                Some(date!(2026 - 03 - 01)),
                Some(date!(2026 - 05 - 01)),
            ),
            // A grant of minutes that takes effect after the last recording.
            (
                vec![
                    grant(date!(2026 - 01 - 05), 300, None),
                    grant(date!(2026 - 04 - 10), 120, None),
                ],
                Some(date!(2026 - 03 - 01)),
                Some(date!(2026 - 05 - 01)),
            ),
            // One that takes effect after the waiting follow-up: no day is left.
            (
                vec![grant(date!(2026 - 07 - 01), 120, None)],
                Some(date!(2026 - 03 - 01)),
                Some(date!(2026 - 05 - 01)),
            ),
            // A 0-minute grant does not hold the end back.
            (
                vec![
                    grant(date!(2026 - 01 - 05), 300, None),
                    grant(date!(2026 - 04 - 10), 0, Some("2.1")),
                ],
                Some(date!(2026 - 02 - 01)),
                None,
            ),
        ];
        for (grants, last_recorded, waiting) in cases {
            let days = care_end_days(&grants, last_recorded, waiting, today);
            let mut day = date!(2025 - 12 - 01);
            while day <= date!(2027 - 01 - 01) {
                if ended_since(&grants, today) != Some(day) {
                    let offered = days
                        .is_some_and(|(first, last)| first.is_none_or(|f| f <= day) && day <= last);
                    let taken =
                        may_end_care_on(day, &grants, last_recorded, waiting, today).is_ok();
                    assert_eq!(
                        offered, taken,
                        "{day} with {grants:?}, {last_recorded:?}, {waiting:?}"
                    );
                }
                day = day.next_day().unwrap();
            }
        }
    }

    #[test]
    fn the_grant_in_force_is_the_latest_per_service_on_or_before_the_day() {
        let g = vec![
            grant(date!(2025 - 06 - 01), 300, Some("1.1")),
            grant(date!(2025 - 09 - 01), 150, Some("2.1")),
            grant(date!(2026 - 01 - 10), 240, Some("1.1")),
            grant(date!(2026 - 04 - 01), 0, Some("2.1")),
        ];
        assert_eq!(minutes_in_force(&g, date!(2025 - 05 - 31)), None);
        assert_eq!(minutes_in_force(&g, date!(2025 - 06 - 01)), Some(300));
        assert_eq!(minutes_in_force(&g, date!(2026 - 01 - 09)), Some(450));
        assert_eq!(minutes_in_force(&g, date!(2026 - 01 - 10)), Some(390));
        assert_eq!(minutes_in_force(&g, date!(2026 - 04 - 01)), Some(240));
        // Order in the list does not matter, except between grants of the same day.
        let mut r = g.clone();
        r.reverse();
        assert_eq!(minutes_in_force(&r, date!(2026 - 01 - 10)), Some(390));
        let same_day = vec![
            grant(date!(2026 - 01 - 10), 240, None),
            grant(date!(2026 - 01 - 10), 200, None),
        ];
        assert_eq!(
            minutes_in_force(&same_day, date!(2026 - 02 - 01)),
            Some(200)
        );
    }

    #[test]
    fn baseline_and_follow_ups_at_77_and_365_days() {
        // Aarhus' shape: a 12-week course, care time down after 77 days.
        let (start, end) = (date!(2026 - 01 - 05), date!(2026 - 03 - 29));
        let g = vec![
            grant(date!(2025 - 11 - 01), 420, None),
            grant(date!(2026 - 04 - 20), 330, None),
            grant(date!(2026 - 12 - 01), 300, None),
        ];
        let o = FollowUpOffsets::default();
        // The grants as imported on the day asked.
        let change =
            |g: &[CareGrant], today: Date| care_time_change(g, start, end, &o, Some(today), today);
        let c = change(&g, date!(2026 - 08 - 01));
        assert_eq!(c.baseline_minutes_per_week, Some(420));
        assert_eq!(c.follow_ups[0].date, date!(2026 - 06 - 14));
        assert_eq!(c.follow_ups[0].minutes_per_week, Some(330));
        assert_eq!(c.follow_ups[0].change_minutes, Some(-90));
        let pct = c.follow_ups[0].change_percent.unwrap();
        assert!((pct - (-90.0 * 100.0 / 420.0)).abs() < 1e-9, "{pct}");
        // The year's follow-up has not come: not known, not "no change".
        assert_eq!(c.follow_ups[1].date, date!(2027 - 03 - 29));
        assert_eq!(c.follow_ups[1].minutes_per_week, None);
        assert_eq!(c.follow_ups[1].change_minutes, None);
        let later = change(&g, date!(2027 - 03 - 29));
        assert_eq!(later.follow_ups[1].change_minutes, Some(-120));
        // No grant before the course: no baseline, so no change either.
        let none = change(&g[1..], date!(2027 - 06 - 01));
        assert_eq!(none.baseline_minutes_per_week, None);
        assert_eq!(none.follow_ups[0].minutes_per_week, Some(330));
        assert_eq!(none.follow_ups[0].change_minutes, None);
        // A baseline of 0 has a change in minutes but no percentage.
        let zero = vec![grant(date!(2025 - 01 - 01), 0, None), g[1].clone()];
        let z = change(&zero, date!(2026 - 08 - 01));
        assert_eq!(z.follow_ups[0].change_minutes, Some(330));
        assert_eq!(z.follow_ups[0].change_percent, None);
    }

    /// A follow-up is read only from grants recorded on or after its day: the last import
    /// before it does not hold a cut made since, so its minutes would be a guess.
    #[test]
    fn a_follow_up_is_known_only_from_grants_recorded_on_or_after_its_day() {
        let (start, end) = (date!(2026 - 01 - 05), date!(2026 - 03 - 29));
        let o = FollowUpOffsets::default();
        let at77 = date!(2026 - 06 - 14);
        // Imported on 1 June: 420 minutes in force, the cut of 10 June not yet known.
        let imported_june = vec![grant(date!(2025 - 11 - 01), 420, None)];
        let today = date!(2026 - 08 - 01);
        let c = care_time_change(
            &imported_june,
            start,
            end,
            &o,
            Some(date!(2026 - 06 - 01)),
            today,
        );
        assert_eq!(c.baseline_minutes_per_week, Some(420));
        assert_eq!(
            c.follow_ups[0].minutes_per_week, None,
            "not known, not 'no change'"
        );
        assert_eq!(c.follow_ups[0].change_minutes, None);
        assert!(c.follow_ups[0].awaiting_grants);
        assert!(
            !c.follow_ups[1].awaiting_grants,
            "the year's day has not come"
        );
        // Nothing recorded at all: no follow-up either.
        let none = care_time_change(&imported_june, start, end, &o, None, today);
        assert_eq!(none.follow_ups[0].minutes_per_week, None);
        // Imported again on the day itself, with the cut: known.
        let mut imported_again = imported_june.clone();
        imported_again.push(grant(date!(2026 - 06 - 10), 300, None));
        let c = care_time_change(&imported_again, start, end, &o, Some(at77), today);
        assert_eq!(c.follow_ups[0].minutes_per_week, Some(300));
        assert_eq!(c.follow_ups[0].change_minutes, Some(-120));
        assert!(!c.follow_ups[0].awaiting_grants);
        // A recording dated after today (a clock ahead) does not make a future day known.
        let ahead = care_time_change(
            &imported_again,
            start,
            end,
            &o,
            Some(date!(2027 - 12 - 01)),
            at77 - Duration::days(1),
        );
        assert_eq!(ahead.follow_ups[0].minutes_per_week, None);
        assert!(known_on(at77, Some(at77), at77));
        assert!(!known_on(at77, Some(at77 - Duration::days(1)), today));
    }

    #[test]
    fn follow_ups_are_due_from_their_day_until_done() {
        let end = date!(2026 - 03 - 29);
        let o = FollowUpOffsets::default();
        assert!(follow_ups_due(end, &o, &[], date!(2026 - 06 - 13)).is_empty());
        let d = follow_ups_due(end, &o, &[], date!(2026 - 06 - 14));
        assert_eq!(
            d,
            [FollowUpDue {
                offset_days: 77,
                date: date!(2026 - 06 - 14),
                days_overdue: 0
            }]
        );
        assert!(follow_ups_due(end, &o, &[77], date!(2026 - 07 - 01)).is_empty());
        let both = follow_ups_due(end, &o, &[], date!(2027 - 04 - 01));
        assert_eq!(both.len(), 2);
        assert_eq!(both[1].days_overdue, 3);
        let custom = FollowUpOffsets(vec![30]);
        assert_eq!(
            follow_ups_due(end, &custom, &[], date!(2026 - 04 - 28))[0].date,
            date!(2026 - 04 - 28)
        );
        let json = serde_json::to_string(&grant(end, 60, Some("1.1"))).unwrap();
        assert!(json.contains("\"effective\":\"2026-03-29\""), "{json}");
    }

    #[test]
    fn a_follow_up_is_due_from_its_day_until_data_recorded_since_then() {
        let end = date!(2026 - 03 - 01);
        let offsets = FollowUpOffsets::default();
        let (at77, at365) = (date!(2026 - 05 - 17), date!(2027 - 03 - 01));
        let states =
            |recorded: Option<Date>, today: Date| follow_up_states(end, &offsets, recorded, today);
        // The day before the 77-day follow-up: both upcoming.
        assert_eq!(
            states(None, at77 - Duration::days(1)),
            [
                (77, at77, FollowUpState::Upcoming { days_until: 1 }),
                (365, at365, FollowUpState::Upcoming { days_until: 289 })
            ]
        );
        // On its day it is due, even with data recorded the day before.
        assert_eq!(
            states(Some(at77 - Duration::days(1)), at77)[0].2,
            FollowUpState::Due { days_overdue: 0 }
        );
        // Data recorded on its day settles it; the year's is still to come.
        let s = states(Some(at77), at77 + Duration::days(3));
        assert_eq!(s[0].2, FollowUpState::Recorded);
        assert_eq!(s[1].2, FollowUpState::Upcoming { days_until: 285 });
    }
}
