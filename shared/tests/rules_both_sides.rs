//! The server refuses what the device refuses: for every domain rule, one table of bad inputs,
//! each run (a) the device's way — the rule function the operation calls, and the document
//! writer of `shared::docs` — and refused there, and (b) written straight into a document
//! (autosurgeon, past every check, as a modified or hostile device could) and offered to the
//! server's admission — and refused there too, as invalid data, before anything is stored.
//! One good input per rule passes both ways, so the refusals are the rule's and nothing else's.

use automerge::{ActorId, Automerge, ObjId, ObjType, ReadDoc, ROOT};
use autosurgeon::{reconcile_prop, Reconcile};
use homerehab_shared::admission::{admit_or_refuse, AdmissionRefusal, Admitted, Rejection};
use homerehab_shared::assessment;
use homerehab_shared::auth::Principal;
use homerehab_shared::docs::{
    self, ExerciseFeedback, Header, ProgramDoc, ProgramEdit, SchemaError,
};
use homerehab_shared::ids::*;
use homerehab_shared::model::*;
use homerehab_shared::rules;
use homerehab_shared::sync::raw_changes_since;
use std::collections::{BTreeMap, HashSet};

const NOW: Millis = 1_764_000_000_000;

/// A team as the server holds it: a therapist's and an assistant's registered device, the
/// roster with one citizen, a course with two program revisions, its session log with one
/// session the assistant has begun.
struct Team {
    team: TeamId,
    therapist: Principal,
    assistant: Principal,
    therapist_actor: ActorId,
    /// The therapist's second device (a tablet beside the laptop), also registered.
    therapist_tablet: ActorId,
    assistant_actor: ActorId,
    roster: (Header, Automerge),
    course: (Header, Automerge),
    log: (Header, Automerge),
    session: SessionId,
}

fn principal(role: Role, team: TeamId) -> Principal {
    Principal {
        user_id: UserId::new(),
        role,
        team_id: team,
        granted_teams: vec![],
        municipality_id: Some(MunicipalityId::new()),
    }
}

fn citizen(local_ref: &str) -> Citizen {
    Citizen {
        id: CitizenId::new(),
        name: "Bodil Madsen".into(),
        local_ref: local_ref.into(),
        address: None,
        assigned: BTreeMap::new(),
        active: true,
        birth_year: None,
        sex: None,
    }
}

fn line(exercise: &str, position: f64) -> ProgramEdit {
    ProgramEdit::Upsert(ProgramExercise::new(
        exercise,
        position,
        Dosage::reps(3, 10),
    ))
}

impl Team {
    fn new() -> Team {
        let team = TeamId::new();
        let therapist = principal(Role::Therapist, team);
        let assistant = principal(Role::Assistant, team);
        let (therapist_actor, assistant_actor) = (ActorId::random(), ActorId::random());
        let course_id = CourseId::new();

        let header = Header::roster(team);
        let mut roster = docs::genesis(&header).with_actor(therapist_actor.clone());
        docs::put_citizen(&mut roster, &citizen("SAG-2026-0042"), NOW).unwrap();
        let roster = (header, roster);

        let header = Header::course(team, course_id);
        let mut course = docs::genesis(&header).with_actor(therapist_actor.clone());
        let record = Course {
            id: course_id,
            status: CourseStatus::Active,
            ..Course::new(CitizenId::new(), team, therapist.user_id, "2026-11-02", NOW)
        };
        docs::put_course(&mut course, &record, NOW).unwrap();
        let by = therapist.user_id;
        let first = docs::edit_program(
            &mut course,
            &[line("sit-to-stand", 1.0)],
            by,
            "1",
            None,
            NOW,
        )
        .unwrap();
        let edits = [line("wall-push-up", 2.0)];
        docs::edit_program(&mut course, &edits, by, "2", Some(first), NOW + 1).unwrap();
        let course = (header, course);

        let header = Header::session_log(team, course_id);
        let mut log = docs::genesis(&header).with_actor(assistant_actor.clone());
        let session = SessionLog::start(course_id, assistant.user_id, None, NOW);
        docs::put_session(&mut log, &session, NOW).unwrap();
        let log = (header, log);

        Team {
            team,
            therapist,
            assistant,
            therapist_actor,
            therapist_tablet: ActorId::random(),
            assistant_actor,
            roster,
            course,
            log,
            session: session.id,
        }
    }

    /// A device's copy of a stored document, writing as the user's registered device.
    fn device_copy(&self, stored: &Automerge, who: &Principal) -> Automerge {
        stored.fork().with_actor(self.actor_of(who))
    }

    fn actor_of(&self, who: &Principal) -> ActorId {
        if who.role == Role::Assistant {
            self.assistant_actor.clone()
        } else {
            self.therapist_actor.clone()
        }
    }

    /// Offers what `edited` has beyond `stored` (None: a new document, sent whole) to
    /// admission as `who`'s device.
    fn offer(
        &self,
        header: &Header,
        stored: Option<&Automerge>,
        edited: &Automerge,
        who: &Principal,
    ) -> Result<Admitted, AdmissionRefusal> {
        let since = stored.map(|s| s.get_heads()).unwrap_or_default();
        let mut actors: HashSet<ActorId> = [self.actor_of(who)].into_iter().collect();
        if who.role == Role::Therapist {
            actors.insert(self.therapist_tablet.clone());
        }
        admit_or_refuse(
            header.id,
            stored,
            &raw_changes_since(edited, &since),
            &edited.get_heads(),
            who,
            &actors,
        )
    }
}

/// Writes `value` at `path` + `key` of `doc` in one change, with no check at all: what a
/// device that skipped the app's rules could send.
fn craft<T: Reconcile>(doc: &mut Automerge, path: &[&str], key: &str, value: &T) {
    let mut tx = doc.transaction();
    let mut obj: ObjId = ROOT;
    for step in path {
        obj = match tx.get(&obj, *step).unwrap() {
            Some((automerge::Value::Object(ObjType::Map), id)) => id,
            other => panic!("no map at {step}: {other:?}"),
        };
    }
    reconcile_prop(&mut tx, &obj, key, value).unwrap();
    tx.commit();
}

/// The refusal is admission's "invalid data" for `field`, kept as the writer's own mistake.
fn assert_refused_as_invalid(outcome: Result<Admitted, AdmissionRefusal>, field: &str, case: &str) {
    let refusal = outcome.err().unwrap_or_else(|| panic!("{case}: admitted"));
    match &*refusal.rejection {
        Rejection::Schema(SchemaError::Invalid(invalid)) => {
            assert_eq!(invalid.field, field, "{case}: {invalid}")
        }
        other => panic!("{case}: refused for another reason: {other}"),
    }
    assert!(refusal.from_writer, "{case}");
}

fn assert_invalid<T: std::fmt::Debug>(
    result: Result<T, impl Into<SchemaError>>,
    field: &str,
    case: &str,
) {
    match result.map_err(Into::into) {
        Err(SchemaError::Invalid(invalid)) => assert_eq!(invalid.field, field, "{case}"),
        other => panic!("{case}: the device's way did not refuse it: {other:?}"),
    }
}

#[test]
fn general_condition_off_its_scale_is_refused_on_both_sides() {
    let t = Team::new();
    let (header, stored) = &t.log;
    for (condition, bad) in [(0u8, true), (6, true), (255, true), (4, false)] {
        let case = format!("general condition {condition}");
        // (a) The device: the scale the operation checks, and the document writer.
        assert_eq!(
            GENERAL_CONDITION.check(Some(condition)).is_err(),
            bad,
            "{case}"
        );
        let mut device = t.device_copy(stored, &t.assistant);
        let written = docs::finish_session(&mut device, t.session, Some(condition), None, NOW);
        if bad {
            assert_invalid(written, "session.general_condition", &case);
        } else {
            written.unwrap();
            assert!(
                t.offer(header, Some(stored), &device, &t.assistant).is_ok(),
                "{case}"
            );
        }
        // (b) Written past every check, offered to the server.
        let mut crafted = t.device_copy(stored, &t.assistant);
        let session = t.session.to_string();
        craft(
            &mut crafted,
            &["sessions", &session],
            "general_condition",
            &Some(condition),
        );
        let outcome = t.offer(header, Some(stored), &crafted, &t.assistant);
        if bad {
            assert_refused_as_invalid(outcome, "session.general_condition", &case);
        } else {
            assert!(outcome.is_ok(), "{case}");
        }
    }
}

#[test]
fn borg_and_pain_off_their_scales_are_refused_on_both_sides() {
    let t = Team::new();
    let (header, stored) = &t.log;
    let line = ProgramExerciseId::new();
    for (scale, borg, pain, bad) in [
        (BORG, Some(11u8), None, true),
        (BORG, Some(255), None, true),
        (PAIN, None, Some(11u8), true),
        (PAIN, None, Some(200), true),
        (PAIN, Some(10), Some(10), false),
    ] {
        let case = format!("{}: borg {borg:?}, pain {pain:?}", scale.field);
        assert_eq!(
            BORG.check(borg).is_err() || PAIN.check(pain).is_err(),
            bad,
            "{case}"
        );
        let feedback = ExerciseFeedback {
            outcome: ExerciseOutcome::Done,
            skip_reason: None,
            borg,
            pain,
            note: None,
        };
        let mut device = t.device_copy(stored, &t.assistant);
        let written =
            docs::record_feedback(&mut device, t.session, line, "sit-to-stand", &feedback, NOW);
        if bad {
            assert_invalid(written, scale.field, &case);
        } else {
            written.unwrap();
        }
        let exercise = ExerciseLog {
            program_exercise_id: line,
            exercise_ref: "sit-to-stand".into(),
            outcome: Some(ExerciseOutcome::Done),
            skip_reason: None,
            sets: vec![],
            borg,
            pain,
            note: None,
        };
        let mut crafted = t.device_copy(stored, &t.assistant);
        let session = t.session.to_string();
        craft(
            &mut crafted,
            &["sessions", &session, "exercises"],
            &line.to_string(),
            &exercise,
        );
        let outcome = t.offer(header, Some(stored), &crafted, &t.assistant);
        if bad {
            assert_refused_as_invalid(outcome, scale.field, &case);
        } else {
            assert!(outcome.is_ok(), "{case}");
        }
    }
}

#[test]
fn a_cpr_number_as_a_citizens_reference_is_refused_on_both_sides() {
    let t = Team::new();
    let (header, stored) = &t.roster;
    for (local_ref, bad) in [
        ("010203-1234", true),
        ("0102031234", true),
        ("010203 1234", true),
        ("SAG-2026-0043", false),
    ] {
        let c = citizen(local_ref);
        assert_eq!(looks_like_cpr(local_ref), bad, "{local_ref}");
        let mut device = t.device_copy(stored, &t.therapist);
        let written = docs::put_citizen(&mut device, &c, NOW);
        if bad {
            assert_invalid(written, "citizen.local_ref", local_ref);
        } else {
            written.unwrap();
        }
        let mut crafted = t.device_copy(stored, &t.therapist);
        craft(&mut crafted, &["citizens"], &c.id.to_string(), &c);
        let outcome = t.offer(header, Some(stored), &crafted, &t.therapist);
        if bad {
            assert_refused_as_invalid(outcome, "citizen.local_ref", local_ref);
        } else {
            assert!(outcome.is_ok(), "{local_ref}");
        }
    }
}

#[test]
fn an_assessment_the_test_cannot_give_is_refused_on_both_sides() {
    let t = Team::new();
    let (header, stored) = &t.course;
    for (kind, value, unit, field) in [
        ("chair_stand_30s", 12.5, "reps", Some("assessment.value")),
        ("sppb", 13.0, "points", Some("assessment.value")),
        ("who5", -4.0, "points", Some("assessment.value")),
        ("eq5d", 0.7, "", Some("assessment.kind")),
        ("grip_strength", 30.0, "lb", Some("assessment.unit")),
        ("timed_up_and_go", 14.2, "s", None),
    ] {
        let case = format!("{kind} {value} {unit}");
        let a = Assessment {
            id: AssessmentId::new(),
            kind: kind.into(),
            value,
            unit: unit.into(),
            date: "2026-11-20".into(),
            phase: AssessmentPhase::Start,
            by: t.therapist.user_id,
            note: None,
            place: None,
        };
        let mut device = t.device_copy(stored, &t.therapist);
        let written = docs::put_assessment(&mut device, &a, NOW);
        match field {
            Some(field) => {
                assert!(assessment::check_recorded(&a).is_err(), "{case}");
                assert_invalid(written, field, &case);
            }
            None => written.unwrap(),
        }
        let mut crafted = t.device_copy(stored, &t.therapist);
        craft(&mut crafted, &["assessments"], &a.id.to_string(), &a);
        let outcome = t.offer(header, Some(stored), &crafted, &t.therapist);
        match field {
            Some(field) => assert_refused_as_invalid(outcome, field, &case),
            None => assert!(outcome.is_ok(), "{case}"),
        }
    }
}

#[test]
fn a_course_that_begins_paused_completed_or_ended_is_refused_on_both_sides() {
    let t = Team::new();
    let today = schedule_date(NOW);
    for (status, bad) in [
        (CourseStatus::Paused, true),
        (CourseStatus::Completed, true),
        (CourseStatus::EndedEarly, true),
        (CourseStatus::Planned, false),
        (CourseStatus::Active, false),
    ] {
        let case = format!("begins {status:?}");
        let course = Course {
            status,
            status_reason: Some("Borgeren ønskede at stoppe".into()),
            ..Course::new(
                CitizenId::new(),
                t.team,
                t.therapist.user_id,
                "2026-11-02",
                NOW,
            )
        };
        // (a) The device picks the first status by the rule, and checks it.
        assert!(CourseStatus::first(parse_date("2026-11-02").unwrap(), today).may_begin());
        assert_eq!(
            rules::check_course_begins(None, Some(&course)).is_err(),
            bad,
            "{case}"
        );
        // (b) A new course document with that record, sent whole.
        let header = Header::course(t.team, course.id);
        let mut crafted = docs::genesis(&header).with_actor(t.therapist_actor.clone());
        craft(&mut crafted, &[], "course", &Some(course.clone()));
        let outcome = t.offer(&header, None, &crafted, &t.therapist);
        if bad {
            assert_refused_as_invalid(outcome, "course.status", &case);
        } else {
            assert!(outcome.is_ok(), "{case}: {:?}", outcome.err());
        }
    }
}

fn schedule_date(at: Millis) -> time::Date {
    homerehab_shared::schedule::date_of(at)
}

#[test]
fn a_program_revision_not_based_on_the_latest_of_its_history_is_refused_on_both_sides() {
    let t = Team::new();
    let (header, stored) = &t.course;
    let program: ProgramDoc =
        autosurgeon::hydrate_prop(stored, ROOT, "program").expect("a program");
    let revisions: Vec<RevisionId> = program.revision_list().iter().map(|r| r.id).collect();
    // (the revision number the editor started from, the id it refers to, refused?)
    for (number, based_on, bad) in [
        (0u32, None, true),
        (1, Some(revisions[0]), true),
        (3, Some(RevisionId::new()), true),
        (2, Some(revisions[1]), false),
    ] {
        let case = format!("based on revision {number}");
        // (a) The device: the editor's save is checked against the program it holds now,
        // by number and (the one rule) by id.
        let checked = rules::check_based_on_latest(number, &program);
        assert_eq!(checked.is_err(), bad, "{case}");
        if !bad {
            assert_eq!(checked, Ok(based_on), "{case}");
        }
        let rule = rules::check_builds_on_latest(based_on, &program.revisions);
        assert_eq!(rule.is_err(), bad, "{case}");
        // (b) A revision written with `shared::docs` on the program with both revisions,
        // recording that `based_on` (a device that skipped the check), offered.
        let mut device = stored.fork().with_actor(t.therapist_tablet.clone());
        let edits = [line("step-ups", 3.0)];
        let by = t.therapist.user_id;
        docs::edit_program(&mut device, &edits, by, "ny", based_on, NOW + 10).unwrap();
        let outcome = t.offer(header, Some(stored), &device, &t.therapist);
        if bad {
            assert_refused_as_invalid(outcome, "program.revision", &case);
        } else {
            assert!(outcome.is_ok(), "{case}: {:?}", outcome.err());
        }
    }
    // A revision from a device that writes none of `based_on` (an older app), crafted
    // straight into the document: refused where the program already has revisions.
    let mut device = stored.fork().with_actor(t.therapist_tablet.clone());
    let crafted = ProgramRevision {
        id: RevisionId::new(),
        at: NOW + 10,
        by: t.therapist.user_id,
        summary: "uden grundlag".into(),
        exercises: vec![],
        based_on: None,
    };
    craft(
        &mut device,
        &["program", "revisions"],
        &crafted.id.to_string(),
        &crafted,
    );
    let outcome = t.offer(header, Some(stored), &device, &t.therapist);
    assert_refused_as_invalid(outcome, "program.revision", "no based_on");
}

#[test]
fn concurrent_offline_revisions_each_on_the_latest_its_device_had_are_both_admitted_as_a_conflict()
{
    let t = Team::new();
    let (header, stored) = &t.course;
    let colleague = principal(Role::Therapist, t.team);
    let latest = docs::latest_revision_id(stored).unwrap();
    let program = docs::CourseDoc::read(stored).unwrap().program;
    let first_line = program.ordered()[0].clone();
    // Two therapists, both offline, each revise the program they have (revision 2) and
    // change the same line's repetitions differently.
    let revise = |actor: &ActorId, who: &Principal, reps: u32, at: Millis| {
        let mut device = stored.fork().with_actor(actor.clone());
        let mut changed = first_line.clone();
        changed.dosage.reps = Some(reps);
        let edits = [ProgramEdit::Upsert(changed)];
        docs::edit_program(&mut device, &edits, who.user_id, "reps", latest, at).unwrap();
        device
    };
    let laptop = revise(&t.therapist_actor, &t.therapist, 12, NOW + 10);
    let tablet = revise(&t.therapist_tablet, &colleague, 8, NOW + 20);
    // The laptop syncs first; the tablet's revision, made on a program without the laptop's,
    // is admitted too.
    let after_laptop = t
        .offer(header, Some(stored), &laptop, &t.therapist)
        .unwrap_or_else(|r| panic!("laptop: {r:?}"))
        .doc;
    let after_both = t
        .offer(header, Some(&after_laptop), &tablet, &colleague)
        .unwrap_or_else(|r| panic!("tablet: {r:?}"))
        .doc;
    let program = docs::CourseDoc::read(&after_both).unwrap().program;
    assert_eq!(program.revisions.len(), 4);
    let conflicts = docs::program_conflicts(&after_both).unwrap();
    assert_eq!(conflicts.len(), 2, "{conflicts:?}");
    assert_eq!(conflicts[0].field, "revision", "two revisions on one");
    assert_eq!(conflicts[1].field, "reps");
    let mut values = conflicts[1].values.clone();
    values.sort();
    assert_eq!(values, ["12", "8"]);
    // The next save builds on the latest of the merged program (the tablet's, made later);
    // one on the laptop's own revision no longer does.
    let newest = docs::latest_revision_id(&after_both).unwrap();
    let laptop_revision = docs::latest_revision_id(&laptop).unwrap();
    assert_ne!(newest, laptop_revision);
    for (based_on, bad) in [(laptop_revision, true), (newest, false)] {
        let mut device = after_both.fork().with_actor(t.therapist_actor.clone());
        let by = t.therapist.user_id;
        let edits = [line("step-ups", 3.0)];
        docs::edit_program(&mut device, &edits, by, "ny", based_on, NOW + 30).unwrap();
        let outcome = t.offer(header, Some(&after_both), &device, &t.therapist);
        assert_eq!(outcome.is_err(), bad, "{based_on:?}");
    }
}

/// The stored course is read without the agreement of status and end reason, since two
/// status changes merge field by field; a writer's own record is still held to it. One
/// device ending a course early with no reason at all is refused; a pause on the laptop and
/// an early end on the tablet, made at once, are both admitted, in either order.
#[test]
fn an_early_end_without_a_reason_is_refused_but_a_pause_and_an_early_end_at_once_are_admitted() {
    let t = Team::new();
    let (header, stored) = &t.course;
    let course = docs::CourseDoc::read(stored).unwrap().course.unwrap();

    let mut crafted = stored.fork().with_actor(t.therapist_actor.clone());
    let no_reason = Course {
        status: CourseStatus::EndedEarly,
        status_reason: None,
        end_reason: None,
        ..course.clone()
    };
    craft(&mut crafted, &[], "course", &no_reason);
    assert_refused_as_invalid(
        t.offer(header, Some(stored), &crafted, &t.therapist),
        "course.end_reason",
        "an early end with no reason",
    );

    let change = |actor: &ActorId, next: CourseStatus, reason: Option<&str>| {
        let mut device = stored.fork().with_actor(actor.clone());
        let mut c = course.clone();
        c.change_status(next, reason.map(|_| "Indlagt".to_string()), reason)
            .unwrap();
        docs::put_course(&mut device, &c, NOW + 10).unwrap();
        device
    };
    let paused = change(&t.therapist_actor, CourseStatus::Paused, None);
    let ended = change(
        &t.therapist_tablet,
        CourseStatus::EndedEarly,
        Some("hospitalised"),
    );
    for (first, second) in [(&paused, &ended), (&ended, &paused)] {
        let after_first = t
            .offer(header, Some(stored), first, &t.therapist)
            .unwrap_or_else(|r| panic!("first: {r:?}"))
            .doc;
        let after_both = t
            .offer(header, Some(&after_first), second, &t.therapist)
            .unwrap_or_else(|r| panic!("second: {r:?}"))
            .doc;
        let merged = docs::CourseDoc::read(&after_both).unwrap().course.unwrap();
        assert!(matches!(
            merged.status,
            CourseStatus::Paused | CourseStatus::EndedEarly
        ));
    }
}

/// A completed course keeps the frame it ran with, on both sides: the device's
/// `Course::change_frame` refuses, and admission refuses a frame changed by a writer whose own
/// history held the course completed (the leaders' figures count it as it ran). A frame
/// changed offline while the course still ran, merged with a colleague's completion, is
/// admitted.
#[test]
fn an_ended_courses_frame_is_refused_on_both_sides_but_one_changed_while_it_ran_is_admitted() {
    let t = Team::new();
    let (header, stored) = &t.course;
    let course = docs::CourseDoc::read(stored).unwrap().course.unwrap();
    let start = parse_date(&course.start_date).unwrap();
    let mut done = course.clone();
    if done.status == CourseStatus::Planned {
        done.change_status(CourseStatus::Active, None, None)
            .unwrap();
    }
    done.change_status(CourseStatus::Completed, None, None)
        .unwrap();
    let mut laptop = stored.fork().with_actor(t.therapist_actor.clone());
    docs::put_course(&mut laptop, &done, NOW + 10).unwrap();
    let completed = t
        .offer(header, Some(stored), &laptop, &t.therapist)
        .unwrap_or_else(|r| panic!("the completion: {r:?}"))
        .doc;

    let six_weeks = CourseFrame {
        planned_weeks: 6,
        ..course.frame()
    };
    let err = done.clone().change_frame(six_weeks, start).unwrap_err();
    assert_eq!(err.field, "course.frame");
    let mut crafted = completed.fork().with_actor(t.therapist_actor.clone());
    let shortened = Course {
        planned_weeks: 6,
        ..done.clone()
    };
    docs::put_course(&mut crafted, &shortened, NOW + 20).unwrap();
    assert_refused_as_invalid(
        t.offer(header, Some(&completed), &crafted, &t.therapist),
        "course.frame",
        "a completed course's frame changed",
    );

    // The tablet, offline since before the completion, shortened the course it had running.
    let mut tablet = stored.fork().with_actor(t.therapist_tablet.clone());
    let mut running = course.clone();
    running.change_frame(six_weeks, start).unwrap();
    docs::put_course(&mut tablet, &running, NOW + 15).unwrap();
    let merged = t
        .offer(header, Some(&completed), &tablet, &t.therapist)
        .unwrap_or_else(|r| panic!("a frame changed while it ran: {r:?}"))
        .doc;
    let merged = docs::CourseDoc::read(&merged).unwrap().course.unwrap();
    assert_eq!(merged.status, CourseStatus::Completed);
    assert_eq!(merged.planned_weeks, 6);
}
