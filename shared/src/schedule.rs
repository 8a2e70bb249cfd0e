//! When a course is due: the training week and how many sessions of it have taken place.

use crate::model::Millis;

const DAY_MS: Millis = 86_400_000;
const WEEK_MS: Millis = 7 * DAY_MS;

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

#[cfg(test)]
mod tests {
    use super::*;

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
}
