//! When a course is due: the training week and how many sessions of it have taken place, and
//! where a course stands in its planned frame (week of course, sessions planned so far).

use crate::model::Millis;

pub const DAY_MS: Millis = 86_400_000;
pub const WEEK_MS: Millis = 7 * DAY_MS;

/// Start of the ISO week (Monday 00:00 Danish time) that holds `now`: a session just after
/// midnight on a Monday counts in the week it was logged in, as the tablet's clock says.
pub fn week_start(now: Millis) -> Millis {
    let today = date_of(now);
    let back = time::Duration::days(i64::from(today.weekday().number_days_from_monday()));
    // `date_of` of a time out of range is `Date::MIN`, a Sunday: no week before it.
    start_of(today.checked_sub(back).unwrap_or(today))
}

/// Sessions that took place this week, given their start times and whether each was carried
/// out (a session "not carried out" does not count towards the week's training).
pub fn sessions_this_week(sessions: impl IntoIterator<Item = (Millis, bool)>, now: Millis) -> u32 {
    let since = week_start(now);
    sessions
        .into_iter()
        .filter(|&(at, carried_out)| carried_out && at >= since)
        .count() as u32
}

/// Whether a course still needs a session this week.
pub fn is_due(sessions_this_week: u32, sessions_per_week: u32) -> bool {
    sessions_this_week < sessions_per_week
}

/// The session a user's "start" opens again instead of making a new one: their own, still in
/// progress, begun on the day holding `now` — the WHO-5 answered first in the visit, a second
/// tap on "start", the app restarted mid-visit. The latest if several. A visit on another day
/// is another session.
pub fn session_to_resume<S>(
    sessions: impl IntoIterator<Item = (S, crate::ids::UserId, Millis, crate::model::SessionStatus)>,
    user: crate::ids::UserId,
    now: Millis,
) -> Option<S> {
    let today = date_of(now);
    sessions
        .into_iter()
        .filter(|(_, by, started, status)| {
            *by == user
                && *status == crate::model::SessionStatus::InProgress
                && date_of(*started) == today
        })
        .max_by_key(|(_, _, started, _)| *started)
        .map(|(s, ..)| s)
}

/// A session still in progress that no "start" opens again ([`session_to_resume`] opens only
/// today's): begun on an earlier day. Said as not finished, not as in progress for ever.
pub fn left_open(status: crate::model::SessionStatus, started: Millis, now: Millis) -> bool {
    status == crate::model::SessionStatus::InProgress && date_of(started) != date_of(now)
}

/// Danish time's offset from UTC at `at`: CET (+1), and CEST (+2) from the last Sunday of
/// March to the last Sunday of October, both at 01:00 UTC (the EU rule). The users are in
/// Denmark; the server runs in UTC and the app in a browser, so neither's clock zone is asked.
pub fn danish_offset(at: Millis) -> time::UtcOffset {
    use time::{Month, OffsetDateTime, UtcOffset};
    let Ok(utc) = OffsetDateTime::from_unix_timestamp(at.div_euclid(1000)) else {
        return UtcOffset::UTC;
    };
    let last_sunday_1am = |month: Month| -> Option<OffsetDateTime> {
        let last = time::Date::from_calendar_date(utc.year(), month, 31).ok()?;
        let back = last.weekday().number_days_from_sunday();
        let day = last - time::Duration::days(i64::from(back));
        Some(day.with_hms(1, 0, 0).ok()?.assume_utc())
    };
    let summer = matches!(
        (last_sunday_1am(Month::March), last_sunday_1am(Month::October)),
        (Some(from), Some(to)) if utc >= from && utc < to
    );
    UtcOffset::from_hms(if summer { 2 } else { 1 }, 0, 0).unwrap_or(UtcOffset::UTC)
}

/// The Danish calendar day holding `at`: every rule that asks "which day" or "today" (due
/// weeks, a session to resume, the dates of work and of WHO-5) asks this, so a visit at 00:30
/// belongs to the day the assistant and the tablet's clock see.
pub fn date_of(at: Millis) -> time::Date {
    time::OffsetDateTime::from_unix_timestamp(at.div_euclid(1000))
        .ok()
        .and_then(|t| t.checked_to_offset(danish_offset(at)))
        .map(|t| t.date())
        .unwrap_or(time::Date::MIN)
}

impl crate::model::CareGrantRecord {
    /// The (Danish) day it was recorded, entered or imported: a citizen's grants say what was
    /// granted up to the latest such day (`effect::care_time::known_on`). Here, beside
    /// `date_of`, because the model names no calendar rule.
    pub fn recorded_on(&self) -> time::Date {
        date_of(self.recorded_at)
    }
}

/// Midnight starting `date` in Danish time. Never near a switch of summer time (those are at
/// 02:00 and 03:00 local), so the offset an hour before UTC midnight is the one at local
/// midnight.
pub fn start_of(date: time::Date) -> Millis {
    let utc_midnight = date.midnight().assume_utc().unix_timestamp() * 1000;
    let offset = danish_offset(utc_midnight - 3_600_000);
    utc_midnight - i64::from(offset.whole_seconds()) * 1000
}

/// Whole days from `date` to the day holding `now` (negative before it).
pub fn days_since(date: time::Date, now: Millis) -> i64 {
    (date_of(now) - date).whole_days()
}

/// The 1-based week of a course starting on `start` that holds `now`: 0 before the start,
/// at most `planned_weeks + 1` (a course run past its frame is "after the last week").
pub fn week_of_course(start: time::Date, planned_weeks: u32, now: Millis) -> u32 {
    let days = days_since(start, now);
    if days < 0 {
        return 0;
    }
    ((days / 7) as u32 + 1).min(planned_weeks + 1)
}

/// Sessions planned up to `now`: `sessions_per_week` for every whole week elapsed since the
/// start, at most the whole frame. Counting whole weeks only, a course is never behind in
/// the middle of a week in which its sessions may still come.
pub fn sessions_planned_so_far(
    start: time::Date,
    planned_weeks: u32,
    sessions_per_week: u32,
    now: Millis,
) -> u32 {
    let weeks = (days_since(start, now).max(0) / 7) as u32;
    weeks.min(planned_weeks) * sessions_per_week
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn start_resumes_the_users_own_session_in_progress_from_today_only() {
        use crate::ids::UserId;
        use crate::model::SessionStatus::*;
        let (me, colleague) = (UserId::new(), UserId::new());
        let now = start_of(time::macros::date!(2026 - 05 - 13)) + 10 * 3_600_000;
        let hour = 3_600_000;
        let pick = |sessions: Vec<(u8, UserId, Millis, crate::model::SessionStatus)>| {
            session_to_resume(sessions, me, now)
        };
        assert_eq!(pick(vec![(1, me, now - hour, InProgress)]), Some(1));
        assert_eq!(
            pick(vec![
                (1, me, now - 3 * hour, InProgress),
                (2, me, now - hour, InProgress)
            ]),
            Some(2),
            "the latest"
        );
        assert_eq!(pick(vec![(1, me, now - hour, Completed)]), None);
        assert_eq!(pick(vec![(1, me, now - hour, NotCarriedOut)]), None);
        assert_eq!(pick(vec![(1, colleague, now - hour, InProgress)]), None);
        assert_eq!(
            pick(vec![(1, me, now - 24 * hour, InProgress)]),
            None,
            "yesterday's"
        );
        assert_eq!(pick(vec![]), None);
        // What is not opened again is left open; today's is still in progress.
        assert!(left_open(InProgress, now - 24 * hour, now));
        assert!(!left_open(InProgress, now - hour, now));
        assert!(!left_open(Completed, now - 24 * hour, now));
    }

    #[test]
    fn week_starts_on_monday_midnight_danish_time() {
        // 2026-05-13 was a Wednesday; its week began Monday 2026-05-11 00:00 CEST.
        let wednesday_noon = 1_778_673_600_000; // 2026-05-13T12:00:00Z
        let monday = 1_778_450_400_000; // 2026-05-10T22:00:00Z
        assert_eq!(week_start(wednesday_noon), monday);
        assert_eq!(week_start(monday), monday);
        assert_eq!(week_start(monday - 1), monday - WEEK_MS);
        // In winter an hour later in UTC: Monday 2026-01-05 00:00 CET.
        let winter_monday = 1_767_567_600_000; // 2026-01-04T23:00:00Z
        assert_eq!(week_start(winter_monday + 3_600_000), winter_monday);
        assert_eq!(week_start(winter_monday - 1), winter_monday - WEEK_MS);
    }

    /// A session at 01:30 on a summer Monday is Monday's (23:30 UTC on Sunday), counted in the
    /// week it was logged in; the days around both switches of summer time are whole days.
    #[test]
    fn days_are_danish_days_across_summer_time() {
        use time::macros::date;
        let monday_0130 = 1_781_479_800_000; // 2026-06-14T23:30:00Z
        assert_eq!(date_of(monday_0130), date!(2026 - 06 - 15));
        assert_eq!(
            date_of(start_of(date!(2026 - 06 - 15))),
            date!(2026 - 06 - 15)
        );
        assert_eq!(
            date_of(start_of(date!(2026 - 06 - 15)) - 1),
            date!(2026 - 06 - 14)
        );
        assert_eq!(
            sessions_this_week([(monday_0130, true)], monday_0130 + 8 * 3_600_000),
            1
        );
        for day in [
            date!(2026 - 03 - 28),
            date!(2026 - 03 - 29),
            date!(2026 - 03 - 30),
            date!(2026 - 10 - 24),
            date!(2026 - 10 - 25),
            date!(2026 - 10 - 26),
            date!(2026 - 12 - 31),
            date!(2027 - 01 - 01),
        ] {
            let (from, to) = (start_of(day), start_of(day.next_day().unwrap()));
            assert_eq!(date_of(from), day);
            assert_eq!(date_of(to - 1), day);
            let hours = (to - from) / 3_600_000;
            let expected = match day {
                d if d == date!(2026 - 03 - 29) => 23,
                d if d == date!(2026 - 10 - 25) => 25,
                _ => 24,
            };
            assert_eq!(hours, expected, "{day}");
        }
        // The switches themselves, at 01:00 UTC.
        let spring = 1_774_746_000_000; // 2026-03-29T01:00:00Z, 03:00 CEST
        assert_eq!(danish_offset(spring - 1).whole_hours(), 1);
        assert_eq!(danish_offset(spring).whole_hours(), 2);
        let autumn = 1_792_890_000_000; // 2026-10-25T01:00:00Z, 02:00 CET
        assert_eq!(danish_offset(autumn - 1).whole_hours(), 2);
        assert_eq!(danish_offset(autumn).whole_hours(), 1);
    }

    #[test]
    fn only_this_weeks_carried_out_sessions_count() {
        let now = 1_778_673_600_000; // Wednesday
        let monday = week_start(now);
        let n = sessions_this_week(
            [(monday + 1, true), (monday + 2, false), (monday - 1, true)],
            now,
        );
        assert_eq!(n, 1);
        assert!(is_due(n, 2));
        assert!(!is_due(2, 2));
    }

    #[test]
    fn a_course_counts_its_weeks_and_plans_only_whole_weeks() {
        let start = time::macros::date!(2026 - 05 - 11);
        let day = |n: i64| start_of(start) + n * DAY_MS + 3_600_000;
        assert_eq!(week_of_course(start, 12, day(-1)), 0);
        assert_eq!(week_of_course(start, 12, day(0)), 1);
        assert_eq!(week_of_course(start, 12, day(6)), 1);
        assert_eq!(week_of_course(start, 12, day(7)), 2);
        assert_eq!(
            week_of_course(start, 2, day(100)),
            3,
            "capped after the frame"
        );
        assert_eq!(sessions_planned_so_far(start, 12, 3, day(-3)), 0);
        assert_eq!(sessions_planned_so_far(start, 12, 3, day(6)), 0);
        assert_eq!(sessions_planned_so_far(start, 12, 3, day(7)), 3);
        assert_eq!(sessions_planned_so_far(start, 12, 3, day(20)), 6);
        assert_eq!(sessions_planned_so_far(start, 2, 3, day(100)), 6);
        assert_eq!(date_of(day(3)), time::macros::date!(2026 - 05 - 14));
        assert_eq!(days_since(start, day(9)), 9);
    }
}
