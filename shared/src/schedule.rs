//! When a course is due: the training week and how many sessions of it have taken place, and
//! where a course stands in its planned frame (week of course, sessions planned so far).

use crate::model::Millis;

pub const DAY_MS: Millis = 86_400_000;
pub const WEEK_MS: Millis = 7 * DAY_MS;

/// Start of the ISO week (Monday 00:00 UTC) that holds `now`.
// UTC, not Danish local time: a session logged late Sunday evening counts in the next week.
pub fn week_start(now: Millis) -> Millis {
    // 1970-01-01 was a Thursday: shift so weeks start on Monday.
    let monday_epoch = 4 * DAY_MS;
    now - (now - monday_epoch).rem_euclid(WEEK_MS)
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

/// The calendar day (UTC) holding `at`.
pub fn date_of(at: Millis) -> time::Date {
    time::OffsetDateTime::from_unix_timestamp(at.div_euclid(1000))
        .map(|t| t.date())
        .unwrap_or(time::Date::MIN)
}

/// Midnight UTC starting `date`.
pub fn start_of(date: time::Date) -> Millis {
    date.midnight().assume_utc().unix_timestamp() * 1000
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
    }

    #[test]
    fn week_starts_on_monday_midnight_utc() {
        // 2026-05-13 was a Wednesday; its week began Monday 2026-05-11 00:00 UTC.
        let wednesday_noon = 1_778_673_600_000; // 2026-05-13T12:00:00Z
        let monday = 1_778_457_600_000; // 2026-05-11T00:00:00Z
        assert_eq!(week_start(wednesday_noon), monday);
        assert_eq!(week_start(monday), monday);
        assert_eq!(week_start(monday - 1), monday - WEEK_MS);
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
