//! Figures from session logs: what one exercise amounted to in one session, and each
//! exercise's course across sessions (the therapist's history chart).

use crate::ids::SessionId;
use crate::model::{ExerciseLog, Millis, SessionLog, SessionStatus};

/// One exercise in one session, summed over its sets.
#[derive(Clone, Debug, PartialEq)]
pub struct ExerciseTotals {
    pub sets_done: u32,
    /// Sum over the sets that counted repetitions; `None` when none did.
    pub reps_total: Option<u32>,
    pub duration_total_s: Option<u32>,
    pub max_load_kg: Option<f64>,
}

pub fn totals(e: &ExerciseLog) -> ExerciseTotals {
    let sum = |f: fn(&crate::model::SetLog) -> Option<u32>| {
        e.sets
            .iter()
            .filter_map(f)
            .fold(None, |acc: Option<u32>, v| {
                Some(acc.unwrap_or(0).saturating_add(v))
            })
    };
    ExerciseTotals {
        sets_done: e.sets.len() as u32,
        reps_total: sum(|s| s.reps),
        duration_total_s: sum(|s| s.duration_s),
        max_load_kg: e
            .sets
            .iter()
            .filter_map(|s| s.load_kg)
            .fold(None, |acc: Option<f64>, v| {
                Some(acc.map_or(v, |a| a.max(v)))
            }),
    }
}

/// One session's values for one exercise.
#[derive(Clone, Debug, PartialEq)]
pub struct TrendPoint {
    pub session_id: SessionId,
    pub at: Millis,
    pub reps_total: Option<u32>,
    pub duration_total_s: Option<u32>,
    pub max_load_kg: Option<f64>,
    pub borg: Option<u8>,
    pub pain: Option<u8>,
}

/// An exercise (by library reference) across the sessions it was logged in, oldest first.
#[derive(Clone, Debug, PartialEq)]
pub struct Trend {
    pub exercise_ref: String,
    pub points: Vec<TrendPoint>,
}

/// Every exercise's trend over the sessions that took place, in the order the exercises were
/// first logged. Sessions recorded as not carried out have no values and are left out.
pub fn trends<'a>(sessions: impl IntoIterator<Item = &'a SessionLog>) -> Vec<Trend> {
    let mut carried_out: Vec<&SessionLog> = sessions
        .into_iter()
        .filter(|s| s.status != SessionStatus::NotCarriedOut)
        .collect();
    carried_out.sort_by(|a, b| a.started_at.cmp(&b.started_at).then(a.id.cmp(&b.id)));
    let mut out: Vec<Trend> = Vec::new();
    for s in carried_out {
        for e in s.exercises.values() {
            let t = totals(e);
            let point = TrendPoint {
                session_id: s.id,
                at: s.started_at,
                reps_total: t.reps_total,
                duration_total_s: t.duration_total_s,
                max_load_kg: t.max_load_kg,
                borg: e.borg,
                pain: e.pain,
            };
            match out.iter_mut().find(|x| x.exercise_ref == e.exercise_ref) {
                // The same exercise twice in one program (e.g. both sides as two lines) is
                // one point per session: the first line logged.
                Some(x) if x.points.last().is_some_and(|p| p.session_id == s.id) => {}
                Some(x) => x.points.push(point),
                None => out.push(Trend {
                    exercise_ref: e.exercise_ref.clone(),
                    points: vec![point],
                }),
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::{CourseId, ProgramExerciseId, UserId};
    use crate::model::{ExerciseOutcome, NotCarriedOutReason, SetLog};

    fn set(reps: Option<u32>, duration_s: Option<u32>, load_kg: Option<f64>) -> SetLog {
        SetLog {
            reps,
            duration_s,
            load_kg,
            at: 0,
        }
    }

    fn exercise(r: &str, sets: Vec<SetLog>, pain: Option<u8>) -> ExerciseLog {
        ExerciseLog {
            program_exercise_id: ProgramExerciseId::new(),
            exercise_ref: r.into(),
            outcome: Some(ExerciseOutcome::Done),
            skip_reason: None,
            sets,
            borg: Some(4),
            pain,
            note: None,
        }
    }

    #[test]
    fn totals_sum_reps_and_seconds_and_keep_the_heaviest_load() {
        let e = exercise(
            "sit-to-stand",
            vec![
                set(Some(10), None, Some(1.0)),
                set(Some(8), None, Some(2.5)),
                set(None, Some(30), None),
            ],
            None,
        );
        assert_eq!(
            totals(&e),
            ExerciseTotals {
                sets_done: 3,
                reps_total: Some(18),
                duration_total_s: Some(30),
                max_load_kg: Some(2.5),
            }
        );
        let empty = exercise("bridging", vec![], Some(2));
        assert_eq!(totals(&empty).reps_total, None);
    }

    #[test]
    fn trends_run_oldest_first_per_exercise_and_skip_sessions_not_carried_out() {
        let course = CourseId::new();
        let who = UserId::new();
        let mut newer = SessionLog::start(course, who, None, 2_000);
        let a = exercise("sit-to-stand", vec![set(Some(12), None, None)], Some(1));
        newer.exercises.insert("a".into(), a);
        let mut older = SessionLog::start(course, who, None, 1_000);
        let b = exercise("sit-to-stand", vec![set(Some(8), None, None)], Some(3));
        let c = exercise("tandem-stance", vec![set(None, Some(30), None)], None);
        older.exercises.insert("b".into(), b);
        older.exercises.insert("c".into(), c);
        let missed = SessionLog::start(course, who, None, 1_500)
            .not_carried_out(NotCarriedOutReason::Ill, None);
        let t = trends([&newer, &missed, &older]);
        assert_eq!(t.len(), 2);
        assert_eq!(t[0].exercise_ref, "sit-to-stand");
        let reps: Vec<_> = t[0]
            .points
            .iter()
            .map(|p| (p.at, p.reps_total, p.pain))
            .collect();
        assert_eq!(
            reps,
            vec![(1_000, Some(8), Some(3)), (2_000, Some(12), Some(1))]
        );
        assert_eq!(t[1].points[0].duration_total_s, Some(30));
    }
}
