//! Between the API's messages and the domain: ids parsed from their text, dosage, program
//! lines, outcomes and reasons shaped for the screens, rating scales checked.

use crate::error::{Error, Result};
use homerehab_app_api as api;
use homerehab_shared::assessment;
use homerehab_shared::effect::plan::TestPlan;
use homerehab_shared::ids::{CourseId, SessionId, UserId};
use homerehab_shared::library::{Lang, Library};
use homerehab_shared::model::{
    self, Assessment, ExerciseOutcome, ProgramExercise, SessionStatus, Side,
};
use homerehab_shared::municipal;
use std::collections::HashMap;
use std::str::FromStr;

pub(crate) fn parse<T: FromStr>(what: &str, s: &str) -> Result<T> {
    s.parse()
        .map_err(|_| Error::invalid(format!("`{s}` is not a valid {what} id")))
}

pub(crate) fn course_id(s: &str) -> Result<CourseId> {
    parse("course", s)
}

pub(crate) fn session_id(s: &str) -> Result<SessionId> {
    parse("session", s)
}

/// The language of library texts: `en` or Danish (the default).
pub fn lang(code: Option<&str>) -> Lang {
    match code {
        Some("en") => Lang::En,
        _ => Lang::Da,
    }
}

// ---- course detail ---------------------------------------------------------------------------

pub(crate) fn side_label(side: Side) -> &'static str {
    match side {
        Side::None => "none",
        Side::Left => "left",
        Side::Right => "right",
        Side::Both => "both",
    }
}

pub(crate) fn dosage_view(d: &model::Dosage) -> api::DosageView {
    api::DosageView {
        sets: d.sets,
        reps: d.reps,
        duration_s: d.duration_s,
        hold_s: d.hold_s,
        rest_s: d.rest_s,
        load: d.load.clone(),
        side: side_label(d.side).to_string(),
    }
}

/// An exercise's title in `lang`; one the library does not have is titled by its id.
pub(crate) fn exercise_title(library: &Library, exercise_ref: &str, lang: Lang) -> String {
    if let Some(e) = library.exercise(exercise_ref) {
        return e.text(lang).title.clone();
    }
    let mut t = exercise_ref.replace('-', " ");
    if let Some(first) = t.get_mut(0..1) {
        first.make_ascii_uppercase();
    }
    t
}

/// A program line with the library's text; an exercise the library does not have (an older
/// program, a local exercise) still shows, titled by its id and without an illustration.
pub(crate) fn line_view(
    library: &Library,
    line: &ProgramExercise,
    lang: Lang,
) -> api::ProgramLineView {
    let exercise = library.exercise(&line.exercise_ref);
    let (title, summary, steps) = match exercise {
        Some(e) => {
            let t = e.text(lang);
            (t.title.clone(), Some(t.summary.clone()), t.steps.clone())
        }
        None => (
            exercise_title(library, &line.exercise_ref, lang),
            None,
            vec![],
        ),
    };
    api::ProgramLineView {
        line_id: line.id.to_string(),
        exercise_ref: line.exercise_ref.clone(),
        title,
        summary,
        steps,
        // A municipality's exercise is shown with its photos and videos, not a drawing.
        illustration: exercise
            .filter(|e| !municipal::is_municipal(e.id.as_str()))
            .map(|e| format!("/illustrations/{}", e.illustration_file())),
        dosage: dosage_view(&line.dosage),
        instructions: line.instructions.clone(),
        media: vec![],
    }
}

pub(crate) fn outcome_in(o: api::Outcome) -> ExerciseOutcome {
    match o {
        api::Outcome::Done => ExerciseOutcome::Done,
        api::Outcome::Partly => ExerciseOutcome::Partly,
        api::Outcome::Skipped => ExerciseOutcome::Skipped,
    }
}

pub(crate) fn outcome_out(o: ExerciseOutcome) -> api::Outcome {
    match o {
        ExerciseOutcome::Done => api::Outcome::Done,
        ExerciseOutcome::Partly => api::Outcome::Partly,
        ExerciseOutcome::Skipped => api::Outcome::Skipped,
    }
}

/// A rating checked against its scale (`homerehab_shared::model`: the server checks the same).
pub(crate) fn scale(scale: model::Scale, v: Option<u8>) -> Result<Option<u8>> {
    scale.check(v).map_err(|e| Error::invalid(e.to_string()))?;
    Ok(v)
}

pub(crate) fn non_empty(s: Option<String>) -> Option<String> {
    s.map(|s| s.trim().to_string()).filter(|s| !s.is_empty())
}

pub(crate) fn reason_in(r: api::NotCarriedOutReason) -> model::NotCarriedOutReason {
    use model::NotCarriedOutReason as R;
    match r {
        api::NotCarriedOutReason::Ill => R::Ill,
        api::NotCarriedOutReason::Declined => R::Declined,
        api::NotCarriedOutReason::NotAtHome => R::NotAtHome,
        api::NotCarriedOutReason::Hospitalised => R::Hospitalised,
        api::NotCarriedOutReason::Other => R::Other,
    }
}

pub(crate) fn status_label(s: SessionStatus) -> &'static str {
    match s {
        SessionStatus::InProgress => "in_progress",
        SessionStatus::Completed => "completed",
        SessionStatus::NotCarriedOut => "not_carried_out",
    }
}

/// A dosage's side from its wire name.
pub(crate) fn side(s: &str) -> Result<Side> {
    Ok(match s {
        "none" => Side::None,
        "left" => Side::Left,
        "right" => Side::Right,
        "both" => Side::Both,
        _ => {
            return Err(Error::invalid(format!(
                "side `{s}` is not none, left, right or both"
            )))
        }
    })
}

/// A dosage as the editor or a municipality's exercise sends it; an empty load is none.
pub(crate) fn dosage_in(d: &api::DosageView) -> Result<model::Dosage> {
    Ok(model::Dosage {
        sets: d.sets,
        reps: d.reps,
        duration_s: d.duration_s,
        hold_s: d.hold_s,
        rest_s: d.rest_s,
        load: non_empty(d.load.clone()),
        side: side(&d.side)?,
    })
}

/// Shown for a colleague the device's staff directory does not know (yet).
pub(crate) const UNKNOWN: &str = "?";

/// A staff member's name, or [`UNKNOWN`] when this device does not know them.
pub(crate) fn name_of(names: &HashMap<UserId, String>, id: UserId) -> String {
    names
        .get(&id)
        .cloned()
        .unwrap_or_else(|| UNKNOWN.to_string())
}

pub(crate) fn assessment_view(
    a: &Assessment,
    names: &HashMap<UserId, String>,
    lang: Lang,
) -> api::AssessmentView {
    api::AssessmentView {
        assessment_id: a.id.to_string(),
        kind: a.kind.clone(),
        label: assessment::kind_of(&a.kind)
            .map_or_else(|| a.kind.clone(), |k| k.label(lang).to_string()),
        value: a.value,
        // The unit as people read it ("gange"), when the test is in the catalogue.
        unit: assessment::kind_of(&a.kind)
            .map_or_else(|| a.unit.clone(), |k| k.unit_label(lang).to_string()),
        date: a.date.clone(),
        phase: assessment::phase_key(a.phase).to_string(),
        by_name: name_of(names, a.by),
        note: a.note.clone(),
        place: a.place.map(|p| p.as_str().to_string()),
    }
}

pub(crate) fn plan_view(p: &TestPlan) -> api::TestPlanView {
    api::TestPlanView {
        start: p.start.clone(),
        mid: p.mid.clone(),
        end: p.end.clone(),
        delegated: p.delegated.clone(),
    }
}

/// A plan as the UI sent it, checked against the catalogue and the delegation rules.
pub(crate) fn plan_in(v: api::TestPlanView) -> Result<TestPlan> {
    let plan = TestPlan {
        start: v.start,
        mid: v.mid,
        end: v.end,
        delegated: v.delegated,
    };
    plan.check().map_err(|e| Error::invalid(e.to_string()))?;
    Ok(plan)
}
