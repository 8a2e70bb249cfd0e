//! The sync core over a simulated network: the scenario, rejections, and a property
//! test that random interleavings of offline edits and syncs across three devices converge.

use automerge::{ActorId, Automerge};
use homerehab_shared::auth::Principal;
use homerehab_shared::docs::{self, CourseDoc, Header, ProgramEdit, SessionLogDoc};
use homerehab_shared::ids::*;
use homerehab_shared::model::*;
use homerehab_shared::sync::sim::{
    sync, sync_answer_lost, sync_request_lost, MemoryDevice, MemoryServer, Traffic,
};
use homerehab_shared::sync::{Refusal, SyncReport};
use proptest::prelude::*;

struct World {
    server: MemoryServer,
    course: CourseId,
    therapist: Principal,
    assistants: [Principal; 2],
    laptop: MemoryDevice,
    tablets: [MemoryDevice; 2],
    actors: Vec<ActorId>,
    logged: Vec<SessionId>,
    /// Sets logged per session.
    sets: std::collections::HashMap<SessionId, usize>,
    now: Millis,
}

fn principal(role: Role, team: TeamId) -> Principal {
    Principal {
        user_id: UserId::new(),
        role,
        team_id: team,
        granted_teams: vec![],
        municipality_id: None,
    }
}

fn line(exercise: &str, position: f64) -> ProgramExercise {
    ProgramExercise::new(exercise, position, Dosage::reps(3, 10))
}

impl World {
    fn new() -> World {
        let team = TeamId::new();
        let mut w = World {
            server: MemoryServer::default(),
            course: CourseId::new(),
            therapist: principal(Role::Therapist, team),
            assistants: [
                principal(Role::Assistant, team),
                principal(Role::Assistant, team),
            ],
            laptop: MemoryDevice::default(),
            tablets: [MemoryDevice::default(), MemoryDevice::default()],
            actors: (0..3).map(|_| ActorId::random()).collect(),
            logged: vec![],
            sets: Default::default(),
            now: 1_760_000_000_000,
        };
        for (i, who) in [&w.therapist, &w.assistants[0], &w.assistants[1]]
            .into_iter()
            .enumerate()
        {
            w.server
                .actors
                .entry(who.user_id)
                .or_default()
                .insert(w.actors[i].clone());
        }
        // The therapist creates the course with a program, and its empty session log.
        let course_header = Header::course(team, w.course);
        let mut doc = docs::genesis(&course_header).with_actor(w.actors[0].clone());
        let course = Course {
            id: w.course,
            goals: vec!["Kan rejse sig fra stol uden hjælp".into()],
            status: CourseStatus::Active,
            ..Course::new(
                CitizenId::new(),
                team,
                w.therapist.user_id,
                "2026-11-02",
                w.now,
            )
        };
        docs::put_course(&mut doc, &course, w.now).unwrap();
        let edits = vec![
            ProgramEdit::Upsert(line("sit-to-stand", 1.0)),
            ProgramEdit::Upsert(line("heel-raise", 2.0)),
            ProgramEdit::Upsert(line("tandem-stance", 3.0)),
        ];
        docs::edit_program(
            &mut doc,
            &edits,
            w.therapist.user_id,
            "Program oprettet",
            None,
            w.now,
        )
        .unwrap();
        w.laptop.insert(course_header, doc);
        let log_header = Header::session_log(team, w.course);
        w.laptop.insert(
            log_header,
            docs::genesis(&log_header).with_actor(w.actors[0].clone()),
        );
        w
    }

    /// One sync of device `i` (0 = laptop, 1–2 = tablets).
    fn sync_report(&mut self, i: usize) -> (SyncReport, Traffic) {
        let (dev, who) = match i {
            0 => (&mut self.laptop, &self.therapist),
            1 | 2 => (&mut self.tablets[i - 1], &self.assistants[i - 1]),
            _ => unreachable!(),
        };
        let out = sync(dev, &mut self.server, who).unwrap();
        // Documents new to the device are written as the device from now on.
        for (_, doc) in dev.docs.values_mut() {
            doc.set_actor(self.actors[i].clone());
        }
        out
    }

    fn device(&mut self, i: usize) -> (&mut MemoryDevice, &Principal) {
        match i {
            0 => (&mut self.laptop, &self.therapist),
            1 | 2 => (&mut self.tablets[i - 1], &self.assistants[i - 1]),
            _ => unreachable!(),
        }
    }

    /// A sync of device `i` whose answer is lost: the server stored what came.
    fn answer_lost(&mut self, i: usize) {
        let (dev, who) = match i {
            0 => (&mut self.laptop, &self.therapist),
            1 | 2 => (&mut self.tablets[i - 1], &self.assistants[i - 1]),
            _ => unreachable!(),
        };
        sync_answer_lost(dev, &mut self.server, who).unwrap();
        assert!(dev.declined.is_empty(), "{:?}", dev.declined);
    }

    /// A sync of device `i` whose request never arrives.
    fn request_lost(&mut self, i: usize) {
        let (dev, _) = self.device(i);
        sync_request_lost(dev).unwrap();
        assert!(dev.declined.is_empty(), "{:?}", dev.declined);
    }

    fn sync(&mut self, i: usize) {
        let (report, _) = self.sync_report(i);
        assert!(
            self.device(i).0.declined.is_empty(),
            "{:?}",
            self.device(i).0.declined
        );
        assert!(report.round_trips <= 2, "{report:?}");
        assert!(
            report.rejected.is_empty(),
            "device {i}: {report:?} {:?}",
            report
                .rejected
                .iter()
                .map(|(d, _)| self.server.docs.get(d).map(|x| x.0.kind))
                .collect::<Vec<_>>()
        );
    }

    fn log_session(&mut self, tablet: usize, sets: usize) -> bool {
        self.now += 60_000;
        let now = self.now;
        let course = self.course;
        let who = self.assistants[tablet].user_id;
        let dev = &mut self.tablets[tablet];
        let Some(course_doc) = dev
            .docs
            .get(&DocumentId::course_of(course))
            .map(|(_, d)| CourseDoc::read(d).unwrap())
        else {
            return false; // this tablet has not fetched the course yet
        };
        let revision = course_doc.program.latest_revision().map(|r| r.id);
        let log = dev.doc_mut(DocumentId::session_log_of(course)).unwrap();
        let session = SessionLog::start(course, who, revision, now);
        docs::put_session(log, &session, now).unwrap();
        for (i, l) in course_doc
            .program
            .ordered()
            .iter()
            .cycle()
            .take(sets)
            .enumerate()
        {
            let set = SetLog {
                reps: Some(8 + i as u32 % 4),
                duration_s: None,
                load_kg: None,
                at: now + i as i64,
            };
            docs::log_set(log, session.id, l.id, &l.exercise_ref, &set, now).unwrap();
        }
        docs::finish_session(log, session.id, Some(4), Some("God dag"), now).unwrap();
        SessionLogDoc::read(&*log).unwrap();
        docs::read_session(&*log, &session.id.to_string()).unwrap();
        self.logged.push(session.id);
        self.sets.insert(session.id, sets);
        true
    }

    fn therapist_edits(&mut self, step: u32) {
        self.now += 60_000;
        let doc = self
            .laptop
            .doc_mut(DocumentId::course_of(self.course))
            .unwrap();
        let program = CourseDoc::read(doc).unwrap().program;
        let lines: Vec<_> = program.ordered().into_iter().cloned().collect();
        let mut edits = vec![ProgramEdit::Upsert(line(
            &format!("exercise-{step}"),
            10.0 + step as f64,
        ))];
        if let Some(first) = lines.first() {
            let mut changed = first.clone();
            changed.dosage.reps = Some(12);
            edits.push(ProgramEdit::Upsert(changed));
        }
        if lines.len() > 3 {
            edits.push(ProgramEdit::Remove(lines[1].id));
        }
        let based_on = program.latest_revision().map(|r| r.id);
        let by = self.therapist.user_id;
        docs::edit_program(doc, &edits, by, "Justeret", based_on, self.now).unwrap();
        CourseDoc::read(&*doc).unwrap();
    }

    fn converge(&mut self) {
        for _ in 0..2 {
            for i in 0..3 {
                self.sync(i);
            }
        }
        let server_docs: Vec<_> = self
            .server
            .docs
            .iter()
            .map(|(id, (_, d))| (*id, d.get_heads()))
            .collect();
        for dev in [&self.laptop, &self.tablets[0], &self.tablets[1]] {
            let dev_docs: Vec<_> = dev
                .docs
                .iter()
                .map(|(id, (_, d))| (*id, d.get_heads()))
                .collect();
            assert_eq!(
                dev_docs, server_docs,
                "a device did not converge with the server"
            );
        }
        let log: &Automerge = &self.server.docs[&DocumentId::session_log_of(self.course)].1;
        let log = SessionLogDoc::read(log).unwrap();
        let mut ids: Vec<_> = log.sessions.values().map(|s| s.id).collect();
        let mut logged = self.logged.clone();
        ids.sort();
        logged.sort();
        assert_eq!(ids, logged, "every logged session is present exactly once");
        for s in log.sessions.values() {
            assert_eq!(s.set_count(), self.sets[&s.id], "every set exactly once");
        }
    }
}

#[test]
fn the_offline_scenario_converges_in_any_order() {
    let mut w = World::new();
    w.sync(0);
    w.sync(1);
    w.sync(2);
    // Everyone offline: two tablets log sessions for the same citizen, the same day, while the
    // therapist changes a dosage, adds an exercise and removes one.
    assert!(w.log_session(0, 24));
    assert!(w.log_session(1, 24));
    assert!(w.log_session(0, 12));
    w.therapist_edits(1);
    w.therapist_edits(2);
    let before_edit_rev =
        CourseDoc::read(&w.tablets[0].docs[&DocumentId::course_of(w.course)].1).unwrap();
    // Back online in a scrambled order.
    w.sync(2);
    w.sync(0);
    w.sync(1);
    w.converge();
    let course = CourseDoc::read(&*w.server.docs[&DocumentId::course_of(w.course)].1).unwrap();
    assert_eq!(course.program.revisions.len(), 3);
    let refs: Vec<_> = course
        .program
        .ordered()
        .iter()
        .map(|l| l.exercise_ref.clone())
        .collect();
    assert!(
        refs.contains(&"exercise-2".to_string()) && !refs.contains(&"heel-raise".to_string()),
        "{refs:?}"
    );
    assert_eq!(course.program.ordered()[0].dosage.reps, Some(12));
    // Each log says which revision it was performed against: the one the tablet had.
    let log =
        SessionLogDoc::read(&*w.server.docs[&DocumentId::session_log_of(w.course)].1).unwrap();
    let first_rev = before_edit_rev.program.latest_revision().unwrap().id;
    assert!(log
        .sessions
        .values()
        .all(|s| s.program_revision == Some(first_rev)));
    assert_eq!(
        log.sessions.values().map(|s| s.set_count()).sum::<usize>(),
        60
    );
    // The next session on a tablet uses the therapist's new revision.
    assert!(w.log_session(0, 3));
    w.converge();
    let log =
        SessionLogDoc::read(&*w.server.docs[&DocumentId::session_log_of(w.course)].1).unwrap();
    let latest = course.program.latest_revision().unwrap().id;
    assert_eq!(
        log.sessions[&w.logged[3].to_string()].program_revision,
        Some(latest)
    );
}

#[test]
fn an_unchanged_reconnect_sends_no_document_down() {
    let mut w = World::new();
    w.converge();
    let (report, traffic) = w.sync_report(1);
    assert_eq!(
        (report.round_trips, report.unchanged, report.received),
        (1, 2, 0)
    );
    assert!(traffic.bytes_down < 64, "{traffic:?}");
}

#[test]
fn an_assistant_cannot_write_the_program_and_nothing_is_stored() {
    let mut w = World::new();
    w.converge();
    let heads_before = w.server.docs[&DocumentId::course_of(w.course)]
        .1
        .get_heads();
    let who = w.assistants[0].clone();
    let actor = w.actors[1].clone();
    let doc = w.tablets[0]
        .doc_mut(DocumentId::course_of(w.course))
        .unwrap();
    doc.set_actor(actor);
    docs::edit_program(
        doc,
        &[ProgramEdit::Upsert(line("push-up", 9.0))],
        who.user_id,
        "x",
        docs::latest_revision_id(doc).unwrap(),
        1,
    )
    .unwrap();
    let (report, _) = sync(&mut w.tablets[0], &mut w.server, &who).unwrap();
    assert_eq!(report.rejected.len(), 1, "{report:?}");
    assert_eq!(
        w.server.docs[&DocumentId::course_of(w.course)]
            .1
            .get_heads(),
        heads_before
    );
    // Not theirs to write: refused, and not kept (the tablet keeps it).
    assert_eq!(w.server.quarantined.len(), 0);
}

#[test]
fn a_refused_change_is_kept_reported_and_not_sent_again_until_the_document_changes() {
    let mut w = World::new();
    w.converge();
    let id = DocumentId::course_of(w.course);
    let who = w.assistants[0].clone();
    let doc = w.tablets[0].doc_mut(id).unwrap();
    docs::edit_program(
        doc,
        &[ProgramEdit::Upsert(line("push-up", 9.0))],
        who.user_id,
        "x",
        docs::latest_revision_id(doc).unwrap(),
        1,
    )
    .unwrap();
    let refused_heads = doc.get_heads();
    let (report, first) = w.sync_report(1);
    assert_eq!(report.rejected.len(), 1, "{report:?}");
    let (refusal, _) = &w.tablets[0].refusals[&id];
    assert!(
        matches!(refusal, Refusal::Rejected(r) if !r.is_empty()),
        "{refusal:?}"
    );
    // The next syncs do not send the refused change again (only heads), and keep it.
    let (again, second) = w.sync_report(1);
    assert!(again.rejected.is_empty(), "{again:?}");
    assert!(
        second.bytes_up * 2 < first.bytes_up,
        "the refused change was sent again: {} then {} bytes",
        first.bytes_up,
        second.bytes_up
    );
    assert_eq!(w.tablets[0].docs[&id].1.get_heads(), refused_heads);
    assert!(w.tablets[0].refusals.contains_key(&id));
    // The therapist changes the program meanwhile: the tablet receives it and still keeps
    // (and does not resend) its refused change.
    let laptop = w.laptop.doc_mut(id).unwrap();
    docs::edit_program(
        laptop,
        &[ProgramEdit::Upsert(line("heel-raise", 4.0))],
        w.therapist.user_id,
        "y",
        docs::latest_revision_id(laptop).unwrap(),
        2,
    )
    .unwrap();
    w.sync(0);
    let (third, _) = w.sync_report(1);
    assert!(
        third.rejected.is_empty() && third.received == 1,
        "{third:?}"
    );
    let merged = CourseDoc::read(&w.tablets[0].docs[&id].1).unwrap();
    assert!(merged
        .program
        .exercises
        .values()
        .any(|l| l.exercise_ref == "push-up"));
    assert!(merged
        .program
        .exercises
        .values()
        .any(|l| l.exercise_ref == "heel-raise"));
    assert!(w.tablets[0].refusals.contains_key(&id));
    // A new local edit makes the document worth offering again: refused again, said again.
    let doc = w.tablets[0].doc_mut(id).unwrap();
    doc.set_actor(w.actors[1].clone());
    docs::edit_program(
        doc,
        &[ProgramEdit::Upsert(line("squat", 10.0))],
        who.user_id,
        "z",
        docs::latest_revision_id(doc).unwrap(),
        3,
    )
    .unwrap();
    let (fourth, _) = w.sync_report(1);
    assert_eq!(fourth.rejected.len(), 1, "{fourth:?}");
}

#[test]
fn a_document_the_user_may_not_read_is_refused_as_forbidden_and_then_left_alone() {
    let mut w = World::new();
    w.converge();
    // Another team's assistant on a tablet that holds this team's session log.
    let stranger = principal(Role::Assistant, TeamId::new());
    let log = DocumentId::session_log_of(w.course);
    let (report, _) = sync(&mut w.tablets[0], &mut w.server, &stranger).unwrap();
    assert!(report.forbidden.contains(&log), "{report:?}");
    assert_eq!(w.tablets[0].refusals[&log].0, Refusal::Forbidden);
    let (again, _) = sync(&mut w.tablets[0], &mut w.server, &stranger).unwrap();
    assert!(
        again.forbidden.is_empty() && again.offered == 0,
        "{again:?}"
    );
}

#[test]
fn an_assistant_cannot_rewrite_a_colleagues_session() {
    let mut w = World::new();
    w.converge();
    assert!(w.log_session(0, 3));
    w.converge();
    let victim = w.logged[0];
    let who = w.assistants[1].clone();
    let now = w.now + 1;
    let log = w.tablets[1]
        .doc_mut(DocumentId::session_log_of(w.course))
        .unwrap();
    docs::finish_session(log, victim, Some(1), Some("overskrevet"), now).unwrap();
    let (report, _) = sync(&mut w.tablets[1], &mut w.server, &who).unwrap();
    assert_eq!(report.rejected.len(), 1, "{report:?}");
    assert!(report.rejected[0].1.contains("append-only"), "{report:?}");
}

#[test]
fn changes_from_an_unregistered_device_are_refused() {
    let mut w = World::new();
    w.converge();
    w.actors[1] = ActorId::random();
    for (_, d) in w.tablets[0].docs.values_mut() {
        d.set_actor(w.actors[1].clone());
    }
    assert!(w.log_session(0, 1));
    let (report, _) = w.sync_report(1);
    assert!(
        report.rejected.iter().any(|(_, r)| r.contains("device")),
        "{report:?}"
    );
}

#[test]
fn a_server_that_lost_history_gets_whole_documents_in_a_second_round_trip() {
    let mut w = World::new();
    w.converge();
    assert!(w.log_session(0, 2));
    w.sync(1);
    // The server is restored from an older backup: it lacks the session-log changes, and the
    // tablet believes it has them.
    let log_id = DocumentId::session_log_of(w.course);
    let header = w.server.docs[&log_id].0;
    w.server.docs.insert(
        log_id,
        (header, std::sync::Arc::new(docs::genesis(&header))),
    );
    let (report, _) = w.sync_report(1);
    assert_eq!(report.round_trips, 2, "{report:?}");
    assert!(report.unresolved.is_empty());
    let log = SessionLogDoc::read(&*w.server.docs[&log_id].1).unwrap();
    assert_eq!(log.sessions.len(), 1);
}

#[derive(Clone, Debug)]
enum Op {
    Log { tablet: usize, sets: usize },
    Edit,
    Sync(usize),
    AnswerLost(usize),
    RequestLost(usize),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => (0usize..2, 1usize..6).prop_map(|(tablet, sets)| Op::Log { tablet, sets }),
        1 => Just(Op::Edit),
        3 => (0usize..3).prop_map(Op::Sync),
        1 => (0usize..3).prop_map(Op::AnswerLost),
        1 => (0usize..3).prop_map(Op::RequestLost),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]
    #[test]
    fn random_interleavings_converge_with_every_session_once(ops in proptest::collection::vec(op(), 1..30)) {
        let mut w = World::new();
        w.sync(0);
        let mut step = 0;
        for op in ops {
            match op {
                Op::Log { tablet, sets } => { w.log_session(tablet, sets); }
                Op::Edit => { step += 1; w.therapist_edits(step); }
                Op::Sync(i) => w.sync(i),
                Op::AnswerLost(i) => w.answer_lost(i),
                Op::RequestLost(i) => w.request_lost(i),
            }
        }
        w.converge();
    }
}

#[test]
fn truncated_or_garbage_change_bytes_are_refused_and_nothing_is_stored() {
    use homerehab_shared::sync::{
        serve_sync, ClientStorage, ReplyStatus, SyncRequest, PROTOCOL_VERSION,
    };
    let mut w = World::new();
    w.converge();
    assert!(w.log_session(0, 3));
    let log_id = DocumentId::session_log_of(w.course);
    let heads_before = w.server.docs[&log_id].1.get_heads();
    let mut offer = w.tablets[0]
        .offers()
        .unwrap()
        .into_iter()
        .map(|p| p.offer)
        .find(|o| o.doc == log_id)
        .unwrap();
    let built = w.tablets[0].unsent(log_id).unwrap().unwrap();
    (offer.heads, offer.changes) = (built.heads, built.changes.bytes);
    assert!(!offer.changes.is_empty());
    let truncated = offer.changes[..offer.changes.len() / 2].to_vec();
    for bad in [truncated, b"garbage".to_vec()] {
        let mut o = offer.clone();
        o.changes = bad;
        let req = SyncRequest {
            protocol: PROTOCOL_VERSION,
            offers: vec![o],
        };
        let (resp, stats) = serve_sync(&mut w.server, &w.assistants[0], &req).unwrap();
        assert_eq!(stats.rejected, 1);
        let reply = resp.replies.iter().find(|r| r.doc == log_id).unwrap();
        assert!(
            matches!(&reply.status, ReplyStatus::Rejected(r) if r.contains("corrupt")),
            "{reply:?}"
        );
        assert_eq!(w.server.docs[&log_id].1.get_heads(), heads_before);
    }
    // The intact changes still go through afterwards.
    w.converge();
}

/// The changes `actor` made in `doc` beyond `since`.
fn changes_by(doc: &Automerge, actor: &ActorId, since: &[automerge::ChangeHash]) -> usize {
    doc.get_changes_meta(since)
        .iter()
        .filter(|c| *c.actor == *actor)
        .count()
}

#[test]
fn a_devices_unsent_changes_reach_the_server_as_one_change_per_document() {
    let mut w = World::new();
    w.converge();
    let log_id = DocumentId::session_log_of(w.course);
    let before = w.server.docs[&log_id].1.get_heads();
    // Two sessions offline: 2 × (start + 6 sets + finish) = 16 changes on the tablet.
    assert!(w.log_session(0, 6));
    assert!(w.log_session(0, 6));
    let tablet = w.actors[1].clone();
    assert_eq!(
        changes_by(&w.tablets[0].docs[&log_id].1, &tablet, &before),
        16
    );
    let (report, _) = w.sync_report(1);
    assert_eq!(report.squashed, 1, "{report:?}");
    assert!(report.rejected.is_empty(), "{report:?}");
    let server_log = &w.server.docs[&log_id].1;
    assert_eq!(changes_by(server_log, &tablet, &before), 1);
    w.converge();
}

#[test]
fn after_a_lost_answer_only_the_new_changes_are_squashed_and_every_set_lands_once() {
    let mut w = World::new();
    w.converge();
    let log_id = DocumentId::session_log_of(w.course);
    let tablet = w.actors[1].clone();
    let start = w.server.docs[&log_id].1.get_heads();
    assert!(w.log_session(0, 5));
    // Sent and stored, but the answer is lost: the device cannot know it landed.
    w.answer_lost(1);
    let landed: Vec<_> = w.server.docs[&log_id]
        .1
        .get_changes_meta(&start)
        .iter()
        .map(|c| c.hash)
        .collect();
    assert_eq!(landed.len(), 1, "the first sync's changes, squashed");
    // More work; then a request that never arrives; then more work.
    assert!(w.log_session(0, 4));
    w.request_lost(1);
    assert!(w.log_session(0, 3));
    let (report, _) = w.sync_report(1);
    assert!(report.rejected.is_empty(), "{report:?}");
    let device_log = &w.tablets[0].docs[&log_id].1;
    for h in &landed {
        assert!(
            device_log.get_change_meta_by_hash(h).is_some(),
            "a change that may have reached the server was rewritten"
        );
    }
    // The first sync's one change, the lost request's one, the last run's one.
    assert_eq!(
        changes_by(&w.server.docs[&log_id].1, &tablet, &start),
        3,
        "only changes never sent were squashed"
    );
    w.converge();
}

#[test]
fn several_offline_program_revisions_are_not_folded_together_and_are_admitted() {
    let mut w = World::new();
    w.converge();
    for step in 1..=3 {
        w.therapist_edits(step);
    }
    let (report, _) = w.sync_report(0);
    assert!(report.rejected.is_empty(), "{report:?}");
    let course = &w.server.docs[&DocumentId::course_of(w.course)].1;
    let program = CourseDoc::read(&**course).unwrap().program;
    assert_eq!(program.revision_list().len(), 4);
    w.converge();
}
