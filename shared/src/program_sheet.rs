//! The citizen's own copy of the program, on paper (domain.md §6, table stakes: print and PDF
//! of programs): the citizen trains on the days between visits from it, and ticks off each
//! session. What goes on it is decided here, once; the app lays it out.
//!
//! Paper leaves the app: a photo in which a person can be recognised never goes on it (its
//! consent covers showing it in the app: `municipal::MediaItem::shows_person`), nor does a
//! video. And a sheet is for a course that is still to be trained: planned, running or
//! paused.

use crate::model::CourseStatus;
use time::{Date, Duration};

/// At most this many weeks to tick on one sheet: a typical course (10–12 weeks) fits on one
/// page; for a longer one the therapist prints a new sheet later, with the program as it is
/// then.
pub const WEEKS_ON_A_SHEET: u32 = 12;

/// One week of the course on the sheet, in which the citizen ticks off the sessions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SheetWeek {
    /// 1-based week of the course.
    pub number: u32,
    pub first_day: Date,
    pub last_day: Date,
}

/// Whether a sheet may be printed for a course with this status: not for one that has ended.
pub fn may_print(status: CourseStatus) -> bool {
    matches!(
        status,
        CourseStatus::Planned | CourseStatus::Active | CourseStatus::Paused
    )
}

/// The weeks to tick on a sheet printed on `today`: from the week of the course holding
/// `today` (week 1 before the start) to the last planned week, at most [`WEEKS_ON_A_SHEET`];
/// and how many planned weeks come after those (0: the sheet reaches the end). A course's
/// weeks run from its start date, not from Mondays, as its adherence counts them; a frame of
/// 0 weeks counts as 1, as the test windows count it (`effect::plan::window`). Past the last
/// planned week: none. Total over every date: a week past the calendar's end ends there.
pub fn weeks_to_tick(start: Date, planned_weeks: u32, today: Date) -> (Vec<SheetWeek>, u32) {
    let planned_weeks = planned_weeks.max(1);
    let elapsed = (today - start).whole_days().max(0) / 7;
    let first = u32::try_from(elapsed).unwrap_or(u32::MAX).saturating_add(1);
    if first > planned_weeks {
        return (vec![], 0);
    }
    let last = planned_weeks.min(first.saturating_add(WEEKS_ON_A_SHEET - 1));
    let weeks = (first..=last)
        .map(|number| {
            let first_day = start.saturating_add(Duration::weeks(i64::from(number - 1)));
            SheetWeek {
                number,
                first_day,
                last_day: first_day.saturating_add(Duration::days(6)),
            }
        })
        .collect();
    (weeks, planned_weeks - last)
}

/// A municipality's photo or video of an exercise, as the sheet weighs it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Picture<'a> {
    /// `image/jpeg`, `video/mp4`, …
    pub content_type: &'a str,
    /// A person can be recognised in it.
    pub shows_person: bool,
    /// The verified file is on this device (a sheet is printed from what the device holds).
    pub on_device: bool,
}

/// Which of an exercise's photos goes on paper: the first image, on the device, in which
/// nobody can be recognised (its index in `media`); and how many images were left out because
/// a person can be recognised in them, so the screen can say why a photo is missing.
pub fn picture_for_paper(media: &[Picture<'_>]) -> (Option<usize>, u32) {
    let is_image = |p: &Picture<'_>| p.content_type.starts_with("image/");
    let chosen = media
        .iter()
        .position(|p| is_image(p) && !p.shows_person && p.on_device);
    let with_person = media
        .iter()
        .filter(|p| is_image(p) && p.shows_person)
        .count();
    (chosen, u32::try_from(with_person).unwrap_or(u32::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    #[test]
    fn a_sheet_ticks_from_the_week_it_is_printed_in_to_the_courses_end() {
        let start = date!(2026 - 11 - 03);
        // Before the start and on its first day: from week 1, all ten weeks.
        for today in [date!(2026 - 10 - 30), start] {
            let (weeks, after) = weeks_to_tick(start, 10, today);
            assert_eq!(weeks.len(), 10);
            assert_eq!(after, 0);
            assert_eq!(
                weeks[0],
                SheetWeek {
                    number: 1,
                    first_day: start,
                    last_day: date!(2026 - 11 - 09)
                }
            );
        }
        // In week 3 (day 15): weeks 3–10; the last ends on the course's last planned day.
        let (weeks, after) = weeks_to_tick(start, 10, date!(2026 - 11 - 17));
        assert_eq!(
            weeks.iter().map(|w| w.number).collect::<Vec<_>>(),
            (3..=10).collect::<Vec<_>>()
        );
        assert_eq!(weeks[0].first_day, date!(2026 - 11 - 17));
        // The last ends on the course's planned end, as the evidence counts it.
        assert_eq!(
            weeks.last().unwrap().last_day,
            crate::evidence::report::planned_end(start, 10)
        );
        assert_eq!(weeks.last().unwrap().last_day, date!(2027 - 01 - 11));
        assert_eq!(after, 0);
        // The last day of week 2 is still week 2.
        assert_eq!(
            weeks_to_tick(start, 10, date!(2026 - 11 - 16)).0[0].number,
            2
        );
        // Past the frame: nothing left to tick.
        assert_eq!(weeks_to_tick(start, 10, date!(2027 - 01 - 12)), (vec![], 0));
        assert_eq!(weeks_to_tick(start, 10, date!(2027 - 01 - 11)).0.len(), 1);
    }

    #[test]
    fn a_long_course_gets_a_sheet_of_twelve_weeks_and_says_how_many_follow() {
        let start = date!(2026 - 01 - 05);
        let (weeks, after) = weeks_to_tick(start, 26, start);
        assert_eq!(weeks.len() as u32, WEEKS_ON_A_SHEET);
        assert_eq!(weeks.last().unwrap().number, 12);
        assert_eq!(after, 14);
        // The longest frame, printed far in: never past the frame, never overflowing.
        let (weeks, after) = weeks_to_tick(start, 104, date!(2027 - 12 - 20));
        assert_eq!(weeks.last().unwrap().number, 104);
        assert_eq!(after, 0);
        assert_eq!(weeks_to_tick(start, 104, Date::MAX), (vec![], 0));
    }

    #[test]
    fn any_date_and_frame_a_stored_course_may_hold_gives_a_sheet_without_panicking() {
        // A frame of 0 weeks counts as 1; a huge one is cut to a sheet's worth.
        let start = date!(2026 - 01 - 05);
        assert_eq!(weeks_to_tick(start, 0, start).0.len(), 1);
        let (weeks, after) = weeks_to_tick(start, u32::MAX, start);
        assert_eq!(
            (weeks.len() as u32, after),
            (WEEKS_ON_A_SHEET, u32::MAX - WEEKS_ON_A_SHEET)
        );
        // A start at the calendar's end (it parses, so validation lets it through): the weeks
        // stop at the last day there is.
        let (weeks, _) = weeks_to_tick(Date::MAX, 10, Date::MAX);
        assert!(weeks
            .iter()
            .all(|w| w.first_day <= w.last_day && w.last_day == Date::MAX));
        let (weeks, _) = weeks_to_tick(Date::MIN, 10, Date::MIN);
        assert_eq!(weeks[0].first_day, Date::MIN);
        // Printed long before the start, or from a start far in the past.
        assert_eq!(weeks_to_tick(Date::MAX, 10, Date::MIN).0[0].number, 1);
        assert_eq!(weeks_to_tick(Date::MIN, 10, Date::MAX), (vec![], 0));
    }

    #[test]
    fn only_courses_still_to_be_trained_get_a_sheet() {
        use CourseStatus::*;
        for (status, printable) in [
            (Planned, true),
            (Active, true),
            (Paused, true),
            (Completed, false),
            (EndedEarly, false),
        ] {
            assert_eq!(may_print(status), printable, "{status:?}");
        }
    }

    #[test]
    fn no_photo_of_a_recognisable_person_and_no_video_goes_on_paper() {
        let p = |content_type, shows_person, on_device| Picture {
            content_type,
            shows_person,
            on_device,
        };
        // The person's photo comes first: the next image without a person is taken, and the
        // one left out is counted.
        assert_eq!(
            picture_for_paper(&[
                p("video/mp4", false, true),
                p("image/jpeg", true, true),
                p("image/png", false, true),
            ]),
            (Some(2), 1)
        );
        // Only a person's photo and a video: no picture.
        assert_eq!(
            picture_for_paper(&[p("image/jpeg", true, true), p("video/webm", false, true)]),
            (None, 1)
        );
        // A photo not yet fetched to the device is not printed; a later one that is, is.
        assert_eq!(
            picture_for_paper(&[p("image/jpeg", false, false), p("image/webp", false, true)]),
            (Some(1), 0)
        );
        assert_eq!(picture_for_paper(&[]), (None, 0));
    }
}
