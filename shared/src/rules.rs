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

use crate::docs::{in_revision_order, CourseDoc, ProgramDoc};
use crate::ids::RevisionId;
use crate::model::{Course, Invalid, ProgramRevision};
use automerge::{Automerge, ChangeHash, ObjId, ObjType, PatchAction, Prop, ReadDoc, ROOT};
use autosurgeon::{hydrate_prop, Hydrate};
use std::collections::{BTreeMap, BTreeSet};

/// The stale-revision rule, the same on both sides: a new program revision must be based on
/// the latest revision ([`in_revision_order`]) of the history it was written on — `None` only
/// when that history had no revision. On the device that history is the document it holds
/// now; on the server it is the document at the new change's dependencies. A revision based on
/// an older one would silently undo a colleague's revision that arrived meanwhile.
///
/// Concurrent offline edits pass: two therapists who each start from the latest revision they
/// have both build on it, and Automerge merges the two (shown as program conflicts,
/// [`crate::docs::program_conflicts`]).
pub fn check_builds_on_latest(
    based_on: Option<RevisionId>,
    history: &BTreeMap<String, ProgramRevision>,
) -> Result<(), Invalid> {
    let list = in_revision_order(history);
    if list.last().map(|r| r.id) == based_on {
        return Ok(());
    }
    let started = match based_on {
        None => Some(0),
        Some(id) => list.iter().position(|r| r.id == id).map(|i| i + 1),
    };
    Err(changed_meanwhile(list.len(), started))
}

/// The program editor's save, on the device: `based_on` is the revision number the editor
/// opened (numbers count from 1 in [`ProgramDoc::revision_list`]; 0 is a program with no
/// revision yet). Checked with [`check_builds_on_latest`] against the program the device holds
/// now; returns the id of that revision, which the new revision records as its `based_on`.
pub fn check_based_on_latest(
    based_on: u32,
    program: &ProgramDoc,
) -> Result<Option<RevisionId>, Invalid> {
    let list = program.revision_list();
    let id = match based_on {
        0 => None,
        n => match list.get(n as usize - 1) {
            Some(r) => Some(r.id),
            None => return Err(changed_meanwhile(list.len(), Some(n as usize))),
        },
    };
    check_builds_on_latest(id, &program.revisions)?;
    Ok(id)
}

/// The user-facing refusal of a stale revision; `started` is the number of the revision it
/// was based on (None: one this history does not hold).
fn changed_meanwhile(latest: usize, started: Option<usize>) -> Invalid {
    let started = match started {
        Some(n) => format!("revision {n}"),
        None => "a revision this program does not have".into(),
    };
    Invalid {
        field: "program.revision".into(),
        problem: format!(
            "the program was changed meanwhile (it is now revision {latest}; you started from \
             {started}): reload it and make your changes again"
        ),
    }
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

/// The stale-revision rule on documents, `before` (None: a new document) and `after` a
/// device's changes: every program revision a new change adds must pass
/// [`check_builds_on_latest`] in that change's own history (the document at its
/// dependencies: the program its device held when it wrote the revision), and no revision of
/// `before` is gone or changed. Only new changes are judged, so revisions stored before `based_on`
/// existed need no check; a new one without it passes only on a program with no revision.
pub fn check_revisions_build_on_latest(
    before: Option<&Automerge>,
    after: &Automerge,
) -> Result<(), Invalid> {
    let held: BTreeSet<String> = before
        .and_then(|b| Some(b.keys(&revisions_obj(b)?).collect()))
        .unwrap_or_default();
    let gone = || Invalid {
        field: "program.revisions".into(),
        problem: "a program revision cannot be removed".into(),
    };
    let Some(revisions) = revisions_obj(after) else {
        return if held.is_empty() { Ok(()) } else { Err(gone()) };
    };
    let now: BTreeSet<String> = after.keys(&revisions).collect();
    if !held.is_subset(&now) {
        return Err(gone());
    }
    let before_heads = before.map(|b| b.get_heads()).unwrap_or_default();
    // A stored revision is history: rewriting one (its time, what it was based on) could
    // change which revision is the latest. Nothing the app writes touches an existing one.
    if !held.is_empty() && rewrites_a_revision(after, &before_heads, &revisions, &held) {
        return Err(Invalid {
            field: "program.revisions".into(),
            problem: "a program revision cannot be changed".into(),
        });
    }
    for change in after.get_changes_meta(&before_heads) {
        let seen: BTreeSet<String> = after.keys_at(&revisions, &change.deps).collect();
        let added: Vec<String> = after
            .keys_at(&revisions, &[change.hash])
            .filter(|k| !seen.contains(k))
            .collect();
        if added.is_empty() {
            continue;
        }
        let unreadable = |e: autosurgeon::HydrateError| Invalid {
            field: "program.revision".into(),
            problem: format!("a program revision cannot be read: {e}"),
        };
        let at_deps = AtHeads {
            doc: after,
            heads: &change.deps,
        };
        let history: BTreeMap<String, ProgramRevision> = if seen.is_empty() {
            BTreeMap::new()
        } else {
            Hydrate::hydrate_map(&at_deps, &revisions).map_err(unreadable)?
        };
        let at_change = AtHeads {
            doc: after,
            heads: &[change.hash],
        };
        for key in added {
            let revision: ProgramRevision =
                hydrate_prop(&at_change, &revisions, key.as_str()).map_err(unreadable)?;
            check_builds_on_latest(revision.based_on, &history)?;
        }
    }
    Ok(())
}

/// Whether the changes after `before_heads` change anything inside one of the `held`
/// revisions (`revisions` is the revisions map).
fn rewrites_a_revision(
    after: &Automerge,
    before_heads: &[ChangeHash],
    revisions: &ObjId,
    held: &BTreeSet<String>,
) -> bool {
    let held_key = |obj: &ObjId, prop: &Prop| {
        obj == revisions && matches!(prop, Prop::Map(k) if held.contains(k))
    };
    after
        .diff(before_heads, &after.get_heads())
        .iter()
        .any(|patch| {
            let on_the_map = match &patch.action {
                PatchAction::PutMap { key, .. } | PatchAction::DeleteMap { key } => {
                    held_key(&patch.obj, &Prop::Map(key.clone()))
                }
                _ => false,
            };
            on_the_map || patch.path.iter().any(|(obj, prop)| held_key(obj, prop))
        })
}

/// A document read as it was at `heads`, for autosurgeon (which reads the current state).
struct AtHeads<'a> {
    doc: &'a Automerge,
    heads: &'a [ChangeHash],
}

impl autosurgeon::ReadDoc for AtHeads<'_> {
    type Parents<'b>
        = automerge::Parents<'b>
    where
        Self: 'b;

    fn get_heads(&self) -> Vec<ChangeHash> {
        self.heads.to_vec()
    }

    fn get<P: Into<automerge::Prop>>(
        &self,
        obj: &ObjId,
        prop: P,
    ) -> Result<Option<(automerge::Value<'_>, ObjId)>, automerge::AutomergeError> {
        self.doc.get_at(obj, prop, self.heads)
    }

    fn object_type<O: AsRef<ObjId>>(&self, obj: O) -> Option<ObjType> {
        ReadDoc::object_type(self.doc, obj).ok()
    }

    fn map_range<'b, O, R>(&'b self, obj: O, range: R) -> automerge::iter::MapRange<'b>
    where
        R: std::ops::RangeBounds<String> + 'b,
        O: AsRef<ObjId>,
    {
        self.doc.map_range_at(obj, range, self.heads)
    }

    fn list_range<O: AsRef<ObjId>, R: std::ops::RangeBounds<usize>>(
        &self,
        obj: O,
        range: R,
    ) -> automerge::iter::ListRange<'_> {
        self.doc.list_range_at(obj, range, self.heads)
    }

    fn length<O: AsRef<ObjId>>(&self, obj: O) -> usize {
        self.doc.length_at(obj, self.heads)
    }

    fn text<O: AsRef<ObjId>>(&self, obj: O) -> Result<String, automerge::AutomergeError> {
        self.doc.text_at(obj, self.heads)
    }

    fn parents<O: AsRef<ObjId>>(
        &self,
        obj: O,
    ) -> Result<Self::Parents<'_>, automerge::AutomergeError> {
        self.doc.parents_at(obj, self.heads)
    }

    fn is_empty(&self) -> bool {
        self.doc.keys_at(ROOT, self.heads).next().is_none()
    }
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
    check_revisions_build_on_latest(before, after)
}

/// A course record as its writer left it is whole, the agreement of status and end reason
/// included ([`Course::validate`]). The stored record is checked without that agreement
/// ([`Course::validate_stored`]), since two writers' status changes merge field by field; so
/// when the merged record does not agree, the writer's own is judged: the document at their
/// new changes' heads, if it differs from where they started — one who did not touch the
/// record is not refused for a merge they received. `new_changes` are the new changes' hashes
/// with their dependencies. A completed or ended course's frame is held too
/// ([`check_ended_course_keeps_its_frame`]).
pub fn check_course_as_written(
    after: &Automerge,
    after_doc: &CourseDoc,
    new_changes: &[(ChangeHash, Vec<ChangeHash>)],
) -> Result<(), Invalid> {
    check_ended_course_keeps_its_frame(after, after_doc, new_changes)?;
    if after_doc
        .course
        .as_ref()
        .is_none_or(|c| c.validate().is_ok())
    {
        return Ok(());
    }
    let (heads, start) = writer_span(new_changes);
    let written = course_at(after, &heads);
    if written == course_at(after, &start) {
        return Ok(());
    }
    written.map_or(Ok(()), |c| c.validate())
}

/// A completed or ended course keeps the frame it ran with ([`Course::change_frame`]): a
/// writer whose own history already held the course ended may not change its weeks, sessions
/// a week or minutes, since the leaders' figures count it as it ran. A frame changed while the
/// writer's course still ran stands, merged with a colleague's end of it. Judged only for a
/// course that is ended after the changes, so a running course costs nothing here.
pub fn check_ended_course_keeps_its_frame(
    after: &Automerge,
    after_doc: &CourseDoc,
    new_changes: &[(ChangeHash, Vec<ChangeHash>)],
) -> Result<(), Invalid> {
    let ended = |c: &Course| {
        matches!(
            c.status,
            crate::model::CourseStatus::Completed | crate::model::CourseStatus::EndedEarly
        )
    };
    if !after_doc.course.as_ref().is_some_and(ended) {
        return Ok(());
    }
    let (heads, start) = writer_span(new_changes);
    let Some(before) = course_at(after, &start).filter(ended) else {
        return Ok(());
    };
    match course_at(after, &heads) {
        Some(written) if written.frame() != before.frame() => Err(Invalid {
            field: "course.frame".into(),
            problem: format!(
                "a {} course keeps the frame it ran with",
                before.status.as_str()
            ),
        }),
        _ => Ok(()),
    }
}

/// A writer's new changes (hashes with their dependencies): the heads they reached and the
/// heads they started from.
fn writer_span(
    new_changes: &[(ChangeHash, Vec<ChangeHash>)],
) -> (Vec<ChangeHash>, Vec<ChangeHash>) {
    let new: BTreeSet<ChangeHash> = new_changes.iter().map(|(h, _)| *h).collect();
    let deps: BTreeSet<ChangeHash> = new_changes
        .iter()
        .flat_map(|(_, d)| d.iter().copied())
        .collect();
    (
        new.difference(&deps).copied().collect(),
        deps.difference(&new).copied().collect(),
    )
}

/// The course record of `doc` at `heads`, if it reads.
fn course_at(doc: &Automerge, heads: &[ChangeHash]) -> Option<Course> {
    let view = doc.fork_at(heads).ok()?;
    hydrate_prop::<_, Option<Course>, _, _>(&view, ROOT, "course").ok()?
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
    use crate::docs::{edit_program, genesis, latest_revision_id, put_course, Header, ProgramEdit};
    use crate::ids::{CitizenId, CourseId, TeamId, UserId};
    use crate::model::{CourseStatus, Dosage, Millis, ProgramExercise};
    use automerge::transaction::Transactable;
    use automerge::ActorId;

    fn line(exercise: &str) -> ProgramEdit {
        ProgramEdit::Upsert(ProgramExercise::new(exercise, 1.0, Dosage::reps(3, 10)))
    }

    /// A course document with one revision, as the server holds it.
    fn course_with_a_revision() -> Automerge {
        let header = Header::course(TeamId::new(), CourseId::new());
        let mut doc = genesis(&header).with_actor(ActorId::random());
        edit_program(
            &mut doc,
            &[line("sit-to-stand")],
            UserId::new(),
            "1",
            None,
            1_000,
        )
        .unwrap();
        doc
    }

    /// A revision on `doc` (as a device of its own) based on `based_on`.
    fn revise(doc: &Automerge, based_on: Option<RevisionId>, at: Millis) -> Automerge {
        let mut device = doc.fork().with_actor(ActorId::random());
        edit_program(
            &mut device,
            &[line("step-ups")],
            UserId::new(),
            "ny",
            based_on,
            at,
        )
        .unwrap();
        device
    }

    fn merged(a: &Automerge, b: &Automerge) -> Automerge {
        let mut m = a.fork();
        m.merge(&mut b.fork()).unwrap();
        m
    }

    fn latest(doc: &Automerge) -> Option<RevisionId> {
        latest_revision_id(doc).unwrap()
    }

    #[test]
    fn the_editor_saves_only_on_the_latest_revision() {
        let doc = course_with_a_revision();
        let program: ProgramDoc = hydrate_prop(&doc, ROOT, "program").unwrap();
        assert_eq!(check_based_on_latest(1, &program), Ok(latest(&doc)));
        for stale in [0, 2, 7] {
            let e = check_based_on_latest(stale, &program).unwrap_err();
            assert!(e.problem.contains("changed meanwhile"), "{e}");
            assert!(e.problem.contains(&format!("revision {stale})")), "{e}");
        }
        // The same rule in ids: the latest passes; nothing, or an unknown id, does not.
        assert_eq!(
            check_builds_on_latest(latest(&doc), &program.revisions),
            Ok(())
        );
        for stale in [None, Some(RevisionId::new())] {
            assert!(check_builds_on_latest(stale, &program.revisions).is_err());
        }
        // A program with no revision: only `None` builds on it.
        let empty = BTreeMap::new();
        assert_eq!(check_builds_on_latest(None, &empty), Ok(()));
        assert!(check_builds_on_latest(latest(&doc), &empty).is_err());
    }

    #[test]
    fn concurrent_revisions_each_on_the_latest_its_device_had_both_pass() {
        let old = course_with_a_revision();
        let first = latest(&old);
        // Two devices, offline, each revise revision 1, the latest they have.
        let laptop = revise(&old, first, 2_000);
        let tablet = revise(&old, first, 3_000);
        let server = merged(&old, &laptop);
        assert_eq!(check_revisions_build_on_latest(Some(&old), &server), Ok(()));
        let both = merged(&server, &tablet);
        assert_eq!(
            check_revisions_build_on_latest(Some(&server), &both),
            Ok(())
        );
        // ... also when both arrive in one go, and for a new document offered whole.
        assert_eq!(check_revisions_build_on_latest(Some(&old), &both), Ok(()));
        assert_eq!(check_revisions_build_on_latest(None, &both), Ok(()));
        // Two revisions in a row, each on the one before: pass.
        let one = revise(&both, latest(&both), 4_000);
        let two = revise(&one, latest(&one), 5_000);
        assert_eq!(check_revisions_build_on_latest(Some(&both), &two), Ok(()));
    }

    #[test]
    fn a_revision_not_based_on_the_latest_of_its_history_is_refused() {
        let old = course_with_a_revision();
        let first = latest(&old);
        let server = revise(&old, first, 2_000);
        // Written on the program with revisions 1 and 2, but based on 1, on nothing, or on a
        // revision that history lacks (even dated later): refused.
        for based_on in [first, None, Some(RevisionId::new())] {
            let stale = revise(&server, based_on, 9_000);
            let e = check_revisions_build_on_latest(Some(&server), &stale).unwrap_err();
            assert_eq!(e.field, "program.revision", "{based_on:?}");
            assert!(e.problem.contains("changed meanwhile"), "{e}");
            // Also when the document is new to the server.
            assert!(check_revisions_build_on_latest(None, &stale).is_err());
        }
        // The first revision of a new program: `None`, and nothing else.
        let header = Header::course(TeamId::new(), CourseId::new());
        let fresh = genesis(&header);
        assert_eq!(
            check_revisions_build_on_latest(Some(&fresh), &revise(&fresh, None, 1)),
            Ok(())
        );
        let e = check_revisions_build_on_latest(Some(&fresh), &revise(&fresh, first, 1));
        assert!(e.is_err());
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
        assert_eq!(
            check_revisions_build_on_latest(Some(&server), &merged(&server, &record)),
            Ok(())
        );
    }

    #[test]
    fn a_stored_revision_cannot_disappear() {
        let doc = course_with_a_revision();
        let mut removed = doc.fork().with_actor(ActorId::random());
        let revisions = revisions_obj(&removed).unwrap();
        let key = removed.keys(&revisions).next().unwrap();
        let mut tx = removed.transaction();
        tx.delete(&revisions, key.as_str()).unwrap();
        tx.commit();
        let e = check_revisions_build_on_latest(Some(&doc), &removed).unwrap_err();
        assert_eq!(e.field, "program.revisions");
    }

    #[test]
    fn a_stored_revision_cannot_be_rewritten() {
        let old = course_with_a_revision();
        let doc = revise(&old, latest(&old), 2_000);
        let first = latest(&old).unwrap().to_string();
        let revisions = revisions_obj(&doc).unwrap();
        let stored = match doc.get(&revisions, first.as_str()).unwrap() {
            Some((automerge::Value::Object(ObjType::Map), id)) => id,
            other => panic!("{other:?}"),
        };
        // Moving revision 1 past revision 2 (so a save based on 1 would look current), or
        // its lines, or putting another revision under its key: refused.
        let later: Millis = 9_000;
        let edits: [&dyn Fn(&mut automerge::transaction::Transaction<'_>); 3] = [
            &|tx| tx.put(&stored, "at", later).unwrap(),
            &|tx| tx.put(&stored, "summary", "omskrevet").unwrap(),
            &|tx| {
                tx.put_object(&revisions, first.as_str(), ObjType::Map)
                    .unwrap();
            },
        ];
        for (i, edit) in edits.iter().enumerate() {
            let mut rewritten = doc.fork().with_actor(ActorId::random());
            let mut tx = rewritten.transaction();
            edit(&mut tx);
            tx.commit();
            let e = check_revisions_build_on_latest(Some(&doc), &rewritten).unwrap_err();
            assert_eq!(e.problem, "a program revision cannot be changed", "{i}");
        }
        // A new revision beside them is no rewrite.
        let next = revise(&doc, latest(&doc), 3_000);
        assert_eq!(check_revisions_build_on_latest(Some(&doc), &next), Ok(()));
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
