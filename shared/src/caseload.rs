//! The therapist's caseload rules: how well a course is kept (adherence) and what on it needs
//! a look (flags). Pure: the app core gathers the facts from its projections and asks here.

use crate::model::{CourseStatus, Millis};
use crate::schedule::{self, DAY_MS};

/// An active, started course with no session (carried out or not) for this many days is
/// flagged: a citizen not seen for a week is the first sign a course has stalled.
pub const NO_SESSION_DAYS: u32 = 7;
/// Adherence below this share of the sessions planned so far is flagged.
pub const LOW_ADHERENCE_PERCENT: u32 = 70;
/// Adherence is judged only once this many whole days of the course have passed, so one
/// missed session in the first days does not raise an alarm.
pub const ADHERENCE_AFTER_DAYS: i64 = 7;
/// Pain (NRS 0–10) at or above this, reported on any exercise…
pub const HIGH_PAIN: u8 = 6;
/// …within this many days, is flagged.
pub const PAIN_WINDOW_DAYS: i64 = 14;

/// Something on a course the therapist should look at.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Flag {
    NoRecentSession { days: u32 },
    LowAdherence { percent: u32 },
    HighPain { pain: u8 },
    ProgramConflict,
}

/// What the rules need to know about one course.
#[derive(Clone, Debug, PartialEq)]
pub struct CourseFacts {
    pub status: CourseStatus,
    pub start: time::Date,
    pub planned_weeks: u32,
    pub sessions_per_week: u32,
    /// Sessions carried out (completed or in progress).
    pub sessions_done: u32,
    /// The latest session of any kind, carried out or not.
    pub last_session_at: Option<Millis>,
    /// Highest pain reported since [`pain_window_start`].
    pub recent_max_pain: Option<u8>,
    /// Program fields two devices changed concurrently.
    pub program_conflicts: u32,
}

/// Where the course stands today, with the flags it raises.
#[derive(Clone, Debug, PartialEq)]
pub struct CourseState {
    pub week_of_course: u32,
    pub sessions_planned_so_far: u32,
    pub adherence_percent: Option<u32>,
    pub flags: Vec<Flag>,
}

/// The earliest session start that counts towards [`CourseFacts::recent_max_pain`].
pub fn pain_window_start(now: Millis) -> Millis {
    now - PAIN_WINDOW_DAYS * DAY_MS
}

/// Done as a share of planned, in whole percent (rounded down), once anything was planned.
pub fn adherence_percent(done: u32, planned: u32) -> Option<u32> {
    (planned > 0).then(|| (u64::from(done) * 100 / u64::from(planned)) as u32)
}

/// Applies every rule to one course at `now`.
pub fn assess(c: &CourseFacts, now: Millis) -> CourseState {
    let planned =
        schedule::sessions_planned_so_far(c.start, c.planned_weeks, c.sessions_per_week, now);
    let adherence = adherence_percent(c.sessions_done, planned);
    let days_in = schedule::days_since(c.start, now);
    let mut flags = Vec::new();
    if c.status == CourseStatus::Active && days_in >= 0 {
        // Since the last session, or since the start when there was none yet.
        let since = c
            .last_session_at
            .unwrap_or_else(|| schedule::start_of(c.start));
        let quiet_days = ((now - since).max(0) / DAY_MS) as u32;
        if quiet_days >= NO_SESSION_DAYS {
            flags.push(Flag::NoRecentSession { days: quiet_days });
        }
        if days_in >= ADHERENCE_AFTER_DAYS {
            if let Some(percent) = adherence.filter(|p| *p < LOW_ADHERENCE_PERCENT) {
                flags.push(Flag::LowAdherence { percent });
            }
        }
    }
    if let Some(pain) = c.recent_max_pain.filter(|p| *p >= HIGH_PAIN) {
        flags.push(Flag::HighPain { pain });
    }
    if c.program_conflicts > 0 {
        flags.push(Flag::ProgramConflict);
    }
    CourseState {
        week_of_course: schedule::week_of_course(c.start, c.planned_weeks, now),
        sessions_planned_so_far: planned,
        adherence_percent: adherence,
        flags,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const START: time::Date = time::macros::date!(2026 - 05 - 11);

    fn day(n: i64) -> Millis {
        schedule::start_of(START) + n * DAY_MS + 10 * 3_600_000
    }

    fn active() -> CourseFacts {
        CourseFacts {
            status: CourseStatus::Active,
            start: START,
            planned_weeks: 12,
            sessions_per_week: 2,
            sessions_done: 0,
            last_session_at: None,
            recent_max_pain: None,
            program_conflicts: 0,
        }
    }

    #[test]
    fn a_week_without_a_session_is_flagged_only_on_an_active_started_course() {
        let c = active();
        assert!(assess(&c, day(6)).flags.is_empty());
        assert_eq!(
            assess(&c, day(7)).flags[0],
            Flag::NoRecentSession { days: 7 }
        );
        let seen = CourseFacts {
            last_session_at: Some(day(5)),
            ..active()
        };
        assert!(!assess(&seen, day(11))
            .flags
            .iter()
            .any(|f| matches!(f, Flag::NoRecentSession { .. })));
        assert_eq!(
            assess(&seen, day(12)).flags[0],
            Flag::NoRecentSession { days: 7 }
        );
        let paused = CourseFacts {
            status: CourseStatus::Paused,
            ..active()
        };
        assert!(assess(&paused, day(30)).flags.is_empty());
        let later = CourseFacts {
            start: time::macros::date!(2026 - 06 - 30),
            ..active()
        };
        assert!(assess(&later, day(30)).flags.is_empty(), "not started yet");
    }

    #[test]
    fn low_adherence_is_flagged_once_a_week_has_passed() {
        // Week 1: nothing planned yet, so no adherence and no flag.
        let c = CourseFacts {
            sessions_done: 0,
            last_session_at: Some(day(3)),
            ..active()
        };
        let s = assess(&c, day(5));
        assert_eq!((s.sessions_planned_so_far, s.adherence_percent), (0, None));
        assert!(s.flags.is_empty());
        // After two weeks, 4 planned: 2 done is 50 %, flagged; 3 done is 75 %, fine.
        let two = CourseFacts {
            sessions_done: 2,
            last_session_at: Some(day(13)),
            ..active()
        };
        let s = assess(&two, day(14));
        assert_eq!(s.adherence_percent, Some(50));
        assert_eq!(s.flags, vec![Flag::LowAdherence { percent: 50 }]);
        assert_eq!(s.week_of_course, 3);
        let three = CourseFacts {
            sessions_done: 3,
            ..two
        };
        assert!(assess(&three, day(14)).flags.is_empty());
        assert_eq!(adherence_percent(7, 10), Some(70));
        assert_eq!(adherence_percent(1, 0), None);
    }

    #[test]
    fn recent_high_pain_and_conflicts_are_flagged() {
        let c = CourseFacts {
            recent_max_pain: Some(HIGH_PAIN - 1),
            last_session_at: Some(day(1)),
            ..active()
        };
        assert!(assess(&c, day(2)).flags.is_empty());
        let c = CourseFacts {
            recent_max_pain: Some(HIGH_PAIN),
            program_conflicts: 2,
            ..c
        };
        assert_eq!(
            assess(&c, day(2)).flags,
            vec![Flag::HighPain { pain: HIGH_PAIN }, Flag::ProgramConflict]
        );
        assert_eq!(pain_window_start(day(14)), day(0));
    }
}
