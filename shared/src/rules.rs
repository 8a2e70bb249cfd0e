//! The domain rules that need a document's history: what a change may do given what the
//! document held before it. The device runs each in its operation before writing (in the form
//! it knows there: the revision the editor opened, today's date); the server's admission runs
//! the same rule on the document before and after a device's changes, so what the device
//! refuses the server refuses too, even from a device that skipped the check.
//!
//! Rules about one value at a time (rating scales, the CPR check, dosage and assessment
//! ranges) live beside the type they guard, in its `validate()` ([`crate::model`],
//! [`crate::assessment`]): every document writer in [`crate::docs`] and every admission read
//! already calls those, so a rule written there is run on both sides without a second call.

use crate::docs::{CourseDoc, ProgramDoc};
use crate::model::{Course, Invalid};
use automerge::{Automerge, ObjId, ObjType, ReadDoc, ROOT};
use autosurgeon::hydrate_prop;
use std::collections::BTreeSet;

/// The program editor's save, on the device: it must be based on the program's latest
/// revision (revision numbers count from 1; 0 is a program with no revision yet). A save
/// based on an older one would silently undo a colleague's revision that arrived meanwhile.
pub fn check_based_on_latest(based_on: u32, program: &ProgramDoc) -> Result<(), Invalid> {
    let latest = program.revision_list().len() as u32;
    if based_on == latest {
        return Ok(());
    }
    Err(Invalid {
        field: "program.revision".into(),
        problem: format!(
            "the program was changed meanwhile (it is now revision {latest}; you started from \
             revision {based_on}): reload it and make your changes again"
        ),
    })
}

/// A course record's first appearance: it begins planned or active
/// ([`crate::model::CourseStatus::may_begin`]). Later status changes are
/// [`Course::change_status`]'s.
pub fn check_course_begins(before: Option<&Course>, after: Option<&Course>) -> Result<(), Invalid> {
    match (before, after) {
        (None, Some(course)) if !course.status.may_begin() => Err(Invalid {
            field: "course.status".into(),
            problem: format!(
                "a course begins planned or active, not {}",
                course.status.as_str()
            ),
        }),
        _ => Ok(()),
    }
}

/// The stale-revision guard on documents: every program revision that `after` adds to
/// `before` was made on a program that already had every revision `before` holds, and no
/// revision of `before` is gone. A device whose editor started from an older revision (or
/// that never saw the latest) made its revision on a program without it; that is refused.
///
/// Each new change is looked at in its own history (the document at its dependencies), which
/// is the program its device saw when it wrote the revision.
pub fn check_revisions_build_on_latest(
    before: &Automerge,
    after: &Automerge,
) -> Result<(), Invalid> {
    let Some(before_revisions) = revisions_obj(before) else {
        return Ok(());
    };
    let held: BTreeSet<String> = before.keys(&before_revisions).collect();
    if held.is_empty() {
        return Ok(());
    }
    let gone = || Invalid {
        field: "program.revisions".into(),
        problem: "a program revision cannot be removed".into(),
    };
    let Some(revisions) = revisions_obj(after) else {
        return Err(gone());
    };
    let now: BTreeSet<String> = after.keys(&revisions).collect();
    if !held.is_subset(&now) {
        return Err(gone());
    }
    if now.len() == held.len() {
        return Ok(());
    }
    for change in after.get_changes_meta(&before.get_heads()) {
        let seen: BTreeSet<String> = after.keys_at(&revisions, &change.deps).collect();
        let added = after
            .keys_at(&revisions, &[change.hash])
            .any(|k| !seen.contains(&k));
        if added && !held.is_subset(&seen) {
            let latest = held.len();
            return Err(Invalid {
                field: "program.revision".into(),
                problem: format!(
                    "the program was changed meanwhile: a new revision must build on the latest \
                     one (revision {latest}), but was made on a program with {} of its {latest} \
                     revisions",
                    held.intersection(&seen).count()
                ),
            });
        }
    }
    Ok(())
}

/// Every rule of this module for a course document, `before` (None: a new document) and
/// `after` a device's changes; `after_doc` is `after` read and validated.
pub fn check_course_change(
    before: Option<&Automerge>,
    after: &Automerge,
    after_doc: &CourseDoc,
) -> Result<(), Invalid> {
    // A stored course that no longer reads is judged as if it had no record: the new one
    // must then begin as a course begins.
    let before_course: Option<Course> =
        before.and_then(|b| hydrate_prop::<_, Option<Course>, _, _>(b, ROOT, "course").ok()?);
    check_course_begins(before_course.as_ref(), after_doc.course.as_ref())?;
    if let Some(before) = before {
        check_revisions_build_on_latest(before, after)?;
    }
    Ok(())
}

fn map_at(doc: &Automerge, obj: &ObjId, key: &str) -> Option<ObjId> {
    match doc.get(obj, key) {
        Ok(Some((automerge::Value::Object(ObjType::Map), id))) => Some(id),
        _ => None,
    }
}

fn revisions_obj(doc: &Automerge) -> Option<ObjId> {
    map_at(doc, &map_at(doc, &ROOT, "program")?, "revisions")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::docs::{edit_program, genesis, put_course, Header, ProgramEdit};
    use crate::ids::{CitizenId, CourseId, TeamId, UserId};
    use crate::model::{CourseStatus, Dosage, ProgramExercise};
    use automerge::ActorId;

    fn line(exercise: &str) -> ProgramEdit {
        ProgramEdit::Upsert(ProgramExercise::new(exercise, 1.0, Dosage::reps(3, 10)))
    }

    /// A course document with one revision, as the server holds it.
    fn course_with_a_revision() -> Automerge {
        let header = Header::course(TeamId::new(), CourseId::new());
        let mut doc = genesis(&header).with_actor(ActorId::random());
        edit_program(&mut doc, &[line("sit-to-stand")], UserId::new(), "1", 1_000).unwrap();
        doc
    }

    #[test]
    fn the_editor_saves_only_on_the_latest_revision() {
        let doc = course_with_a_revision();
        let program: ProgramDoc = hydrate_prop(&doc, ROOT, "program").unwrap();
        assert!(check_based_on_latest(1, &program).is_ok());
        for stale in [0, 2, 7] {
            let e = check_based_on_latest(stale, &program).unwrap_err();
            assert!(e.problem.contains("changed meanwhile"), "{e}");
        }
    }

    #[test]
    fn a_revision_made_on_the_latest_program_passes_one_made_on_an_older_is_refused() {
        let old = course_with_a_revision();
        let mut server = old.fork().with_actor(ActorId::random());
        edit_program(
            &mut server,
            &[line("wall-push-up")],
            UserId::new(),
            "2",
            2_000,
        )
        .unwrap();
        // On the latest: passes, also two revisions in a row.
        let mut current = server.fork().with_actor(ActorId::random());
        edit_program(&mut current, &[line("step-ups")], UserId::new(), "3", 3_000).unwrap();
        edit_program(&mut current, &[line("bridge")], UserId::new(), "4", 4_000).unwrap();
        assert_eq!(check_revisions_build_on_latest(&server, &current), Ok(()));
        // Made on the program before revision 2 (even dated later): refused.
        let mut stale = old.fork().with_actor(ActorId::random());
        edit_program(&mut stale, &[line("step-ups")], UserId::new(), "2'", 9_000).unwrap();
        let mut merged = server.fork();
        merged.merge(&mut stale).unwrap();
        let e = check_revisions_build_on_latest(&server, &merged).unwrap_err();
        assert_eq!(e.field, "program.revision");
        // Changes that add no revision (a course record) pass whatever they were based on.
        let mut record = old.fork().with_actor(ActorId::random());
        let course = Course::new(
            CitizenId::new(),
            TeamId::new(),
            UserId::new(),
            "2026-11-02",
            0,
        );
        put_course(&mut record, &course, 5_000).unwrap();
        let mut merged = server.fork();
        merged.merge(&mut record).unwrap();
        assert_eq!(check_revisions_build_on_latest(&server, &merged), Ok(()));
    }

    #[test]
    fn a_course_begins_planned_or_active() {
        let planned = Course::new(
            CitizenId::new(),
            TeamId::new(),
            UserId::new(),
            "2026-11-02",
            0,
        );
        for status in CourseStatus::ALL {
            let c = Course {
                status,
                ..planned.clone()
            };
            assert_eq!(
                check_course_begins(None, Some(&c)).is_ok(),
                status.may_begin(),
                "{status:?}"
            );
            // Once begun, its status moves by `change_status`, not by this rule.
            assert!(check_course_begins(Some(&planned), Some(&c)).is_ok());
        }
        let d = |s| crate::model::parse_date(s).unwrap();
        assert_eq!(
            CourseStatus::first(d("2026-12-01"), d("2026-11-30")),
            CourseStatus::Planned
        );
        assert_eq!(
            CourseStatus::first(d("2026-11-30"), d("2026-11-30")),
            CourseStatus::Active
        );
    }
}
