//! Issue #13: a device's big upload goes in requests of bounded size, within one sync. Many
//! courses over the simulated network (the real codec): the requests stay within the budget,
//! the answers to them stay small, and a lost answer or request in the middle of a split sync
//! loses nothing and duplicates nothing.

use automerge::{ActorId, ChangeHash};
use homerehab_shared::auth::Principal;
use homerehab_shared::docs::{self, CourseDoc, Header, ProgramEdit, SessionLogDoc};
use homerehab_shared::ids::*;
use homerehab_shared::model::*;
use homerehab_shared::sync::sim::{
    sync_over, sync_split, Delivery, MemoryDevice, MemoryServer, SyncOutcome, Traffic,
};
use homerehab_shared::sync::{ClientStorage, SyncReport, REQUEST_CHANGE_BYTES};
use proptest::prelude::*;
use std::collections::{BTreeMap, HashMap};

struct World {
    server: MemoryServer,
    therapist: Principal,
    assistant: Principal,
    laptop: MemoryDevice,
    tablet: MemoryDevice,
    laptop_actor: ActorId,
    tablet_actor: ActorId,
    courses: Vec<CourseId>,
    /// Sessions logged per course, with their set counts.
    logged: BTreeMap<CourseId, HashMap<SessionId, usize>>,
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

impl World {
    /// `n` courses made on the laptop, synced to the server and to the tablet.
    fn new(n: usize) -> World {
        let team = TeamId::new();
        let mut w = World {
            server: MemoryServer::default(),
            therapist: principal(Role::Therapist, team),
            assistant: principal(Role::Assistant, team),
            laptop: MemoryDevice::default(),
            tablet: MemoryDevice::default(),
            laptop_actor: ActorId::random(),
            tablet_actor: ActorId::random(),
            courses: vec![],
            logged: BTreeMap::new(),
            now: 1_760_000_000_000,
        };
        for (who, actor) in [
            (&w.therapist, &w.laptop_actor),
            (&w.assistant, &w.tablet_actor),
        ] {
            w.server
                .actors
                .entry(who.user_id)
                .or_default()
                .insert(actor.clone());
        }
        for _ in 0..n {
            w.new_course_on_the_laptop();
        }
        w.sync_laptop(REQUEST_CHANGE_BYTES);
        w.sync_tablet(REQUEST_CHANGE_BYTES);
        w
    }

    fn new_course_on_the_laptop(&mut self) -> CourseId {
        let team = self.therapist.team_id;
        let id = CourseId::new();
        let header = Header::course(team, id);
        let mut doc = docs::genesis(&header).with_actor(self.laptop_actor.clone());
        let course = Course {
            id,
            ..Course::new(
                CitizenId::new(),
                team,
                self.therapist.user_id,
                "2026-11-02",
                self.now,
            )
        };
        docs::put_course(&mut doc, &course, self.now).unwrap();
        let edits: Vec<_> = ["sit-to-stand", "heel-raise", "tandem-stance"]
            .iter()
            .enumerate()
            .map(|(i, e)| {
                ProgramEdit::Upsert(ProgramExercise::new(e, i as f64, Dosage::reps(3, 10)))
            })
            .collect();
        let by = self.therapist.user_id;
        docs::edit_program(&mut doc, &edits, by, "Program oprettet", None, self.now).unwrap();
        self.laptop.insert(header, doc);
        let log = Header::session_log(team, id);
        self.laptop.insert(
            log,
            docs::genesis(&log).with_actor(self.laptop_actor.clone()),
        );
        self.courses.push(id);
        self.logged.insert(id, HashMap::new());
        id
    }

    fn sync_laptop(&mut self, budget: usize) -> (SyncReport, Traffic) {
        let out = sync_split(&mut self.laptop, &mut self.server, &self.therapist, budget).unwrap();
        for (_, doc) in self.laptop.docs.values_mut() {
            doc.set_actor(self.laptop_actor.clone());
        }
        assert!(out.0.rejected.is_empty(), "{:?}", out.0);
        out
    }

    fn sync_tablet(&mut self, budget: usize) -> (SyncReport, Traffic) {
        let out = sync_split(&mut self.tablet, &mut self.server, &self.assistant, budget).unwrap();
        self.tablet_writes();
        assert!(out.0.rejected.is_empty(), "{:?}", out.0);
        assert!(
            self.tablet.declined.is_empty(),
            "{:?}",
            self.tablet.declined
        );
        out
    }

    /// A sync of the tablet where request `at` meets `fate`; every other request is answered.
    fn tablet_loses(&mut self, budget: usize, at: u32, fate: Delivery) -> SyncOutcome {
        let out = sync_over(
            &mut self.tablet,
            &mut self.server,
            &self.assistant,
            budget,
            |n| if n == at { fate } else { Delivery::Delivered },
        )
        .unwrap();
        self.tablet_writes();
        out
    }

    /// Documents new to the tablet are written as the tablet from now on.
    fn tablet_writes(&mut self) {
        for (_, doc) in self.tablet.docs.values_mut() {
            doc.set_actor(self.tablet_actor.clone());
        }
    }

    /// A whole session with `sets` sets on the tablet, in course number `c`.
    fn log_session(&mut self, c: usize, sets: usize) {
        self.now += 60_000;
        let now = self.now;
        let course = self.courses[c];
        let course_doc =
            CourseDoc::read(&self.tablet.docs[&DocumentId::course_of(course)].1).unwrap();
        let lines = course_doc.program.ordered();
        let revision = course_doc.program.latest_revision().map(|r| r.id);
        let log = self
            .tablet
            .doc_mut(DocumentId::session_log_of(course))
            .unwrap();
        let session = SessionLog::start(course, self.assistant.user_id, revision, now);
        docs::put_session(log, &session, now).unwrap();
        for (i, l) in lines.iter().cycle().take(sets).enumerate() {
            let set = SetLog {
                reps: Some(8 + i as u32 % 4),
                duration_s: None,
                load_kg: None,
                at: now + i as i64,
            };
            docs::log_set(log, session.id, l.id, &l.exercise_ref, &set, now).unwrap();
        }
        docs::finish_session(log, session.id, Some(4), None, now).unwrap();
        self.logged
            .get_mut(&course)
            .unwrap()
            .insert(session.id, sets);
    }

    /// Both devices sync until they hold what the server holds; every session logged is on
    /// the server exactly once, with every set once.
    fn converge(&mut self) {
        for _ in 0..2 {
            self.sync_tablet(REQUEST_CHANGE_BYTES);
            self.sync_laptop(REQUEST_CHANGE_BYTES);
        }
        let heads = |dev: &MemoryDevice| -> Vec<(DocumentId, Vec<ChangeHash>)> {
            dev.docs
                .iter()
                .map(|(id, (_, d))| (*id, d.get_heads()))
                .collect()
        };
        let on_server: Vec<_> = self
            .server
            .docs
            .iter()
            .map(|(id, (_, d))| (*id, d.get_heads()))
            .collect();
        assert_eq!(heads(&self.tablet), on_server, "the tablet converged");
        assert_eq!(heads(&self.laptop), on_server, "the laptop converged");
        for (course, logged) in &self.logged {
            let log = &self.server.docs[&DocumentId::session_log_of(*course)].1;
            let log = SessionLogDoc::read(&**log).unwrap();
            let on_server: HashMap<SessionId, usize> = log
                .sessions
                .values()
                .map(|s| (s.id, s.set_count()))
                .collect();
            assert_eq!(&on_server, logged, "every session once, every set once");
        }
    }

    /// The tablet's changes in course `c`'s log on the server, beyond `since`.
    fn tablet_changes_on_server(&self, c: usize, since: &[ChangeHash]) -> usize {
        let log = &self.server.docs[&DocumentId::session_log_of(self.courses[c])].1;
        log.get_changes_meta(since)
            .iter()
            .filter(|m| *m.actor == self.tablet_actor)
            .count()
    }

    fn server_heads(&self, c: usize) -> Vec<ChangeHash> {
        self.server.docs[&DocumentId::session_log_of(self.courses[c])]
            .1
            .get_heads()
    }
}

/// The change bytes each document offers once squashed, in offer order (what a split sees).
fn pending_sizes(dev: &mut MemoryDevice) -> Vec<usize> {
    dev.squash_unseen().unwrap();
    let waiting: Vec<DocumentId> = dev
        .offers()
        .unwrap()
        .iter()
        .filter(|p| p.unbuilt)
        .map(|p| p.offer.doc)
        .collect();
    waiting
        .into_iter()
        .map(|id| dev.unsent(id).unwrap().unwrap().changes.bytes.len())
        .filter(|n| *n > 0)
        .collect()
}

/// How many requests the greedy prefix rule needs for `sizes` within `budget`: a new request
/// when the next document does not fit in a request that already carries one.
fn greedy_requests(sizes: &[usize], budget: usize) -> usize {
    let (mut requests, mut used) = (0, 0);
    for &n in sizes {
        if requests == 0 || (used > 0 && used + n > budget) {
            requests += 1;
            used = 0;
        }
        used += n;
    }
    requests
}

#[test]
fn a_big_upload_goes_in_requests_within_the_budget_and_lands_once() {
    let mut w = World::new(16);
    // Course 5 has a long past on the server: its news below is sent as changes, not as the
    // whole document (`offer_changes` sends that only when it is far smaller).
    for _ in 0..80 {
        w.log_session(5, 24);
    }
    w.sync_tablet(usize::MAX);
    // A month offline: two sessions in every course, and a long stretch in course 5 whose
    // changes alone exceed the budget.
    for c in 0..16 {
        w.log_session(c, 12);
        w.log_session(c, 12);
    }
    for _ in 0..20 {
        w.log_session(5, 24);
    }
    let sizes = pending_sizes(&mut w.tablet);
    assert_eq!(sizes.len(), 16);
    let typical = sizes.iter().copied().min().unwrap();
    let budget = typical * 3 + typical / 2;
    let largest = sizes.iter().copied().max().unwrap();
    assert!(largest > budget, "course 5's log alone exceeds the budget");
    let total: usize = sizes.iter().sum();

    w.tablet.built = 0;
    let (report, traffic) = w.sync_tablet(budget);
    let requests = traffic.requests.len();
    assert_eq!(report.round_trips as usize, requests);
    // Each document's changes built once, and once more for the one that found each request
    // full: not every waiting document's again for every request.
    assert!(
        w.tablet.built < 16 + requests,
        "{} builds for 16 documents in {requests} requests",
        w.tablet.built
    );
    assert_eq!(requests, greedy_requests(&sizes, budget), "{traffic:?}");
    // At least one request per budget's worth of changes, the oversized log alone.
    assert!(requests > (total - largest).div_ceil(budget), "{traffic:?}");
    assert!(requests > 4, "{traffic:?}");
    assert_eq!(report.pushed, 16);
    for r in &traffic.requests {
        assert!(
            r.change_bytes <= budget || r.carrying == 1,
            "a request over the budget carries one document: {r:?}"
        );
        // Every document offered every time (the server knows them all), so the server never
        // sends one the device seems to lack; the answer is the carried documents' confirmation.
        assert_eq!(r.offers, 32, "{r:?}");
        assert_eq!(r.replies, r.carrying, "{r:?}");
        assert_eq!(r.reply_change_bytes, 0, "{r:?}");
    }
    assert_eq!(
        traffic.requests.iter().map(|r| r.carrying).sum::<usize>(),
        16
    );
    // Each document went in one request, as one squashed change (course 5's past in one more).
    for c in 0..16 {
        assert_eq!(
            w.tablet_changes_on_server(c, &[]),
            if c == 5 { 2 } else { 1 },
            "course {c}: one change from the tablet per sync"
        );
    }
    w.converge();
}

#[test]
fn new_courses_go_before_their_logs_across_requests() {
    let mut w = World::new(0);
    // The laptop creates courses offline, then logs nothing: each course and its log are new
    // to the server, so a log offered before its course would be refused.
    for _ in 0..12 {
        w.new_course_on_the_laptop();
    }
    let sizes = pending_sizes(&mut w.laptop);
    let budget = sizes.iter().copied().max().unwrap() * 2;
    let (report, traffic) = w.sync_laptop(budget);
    assert!(traffic.requests.len() > 3, "{traffic:?}");
    assert!(report.rejected.is_empty(), "{report:?}");
    // Documents the server never confirmed are not offered until their request.
    assert!(traffic.requests[0].offers < 24, "{traffic:?}");
    assert_eq!(w.server.docs.len(), 24);
    w.converge();
}

/// A split sync of the tablet over `budget` stops at request 2 (`fate`); the tablet logs again
/// in a course whose changes went in request 2 and in one whose changes never went; the next
/// sync sends each change once.
fn lost_in_the_middle(fate: Delivery) {
    let mut w = World::new(12);
    let before: Vec<Vec<ChangeHash>> = (0..12).map(|c| w.server_heads(c)).collect();
    for c in 0..12 {
        w.log_session(c, 12);
        w.log_session(c, 6);
    }
    let sizes = pending_sizes(&mut w.tablet);
    let budget = sizes.iter().copied().max().unwrap() * 3;
    let out = w.tablet_loses(budget, 2, fate);
    assert!(matches!(out, SyncOutcome::Lost { at: 2 }), "{out:?}");

    // Which documents went where, from the tablet's own bookkeeping.
    let log = |c: usize| DocumentId::session_log_of(w.courses[c]);
    let heads = |c: usize| w.tablet.docs[&log(c)].1.get_heads();
    let sent = |c: usize| w.tablet.sent_heads.get(&log(c)) == Some(&heads(c));
    let confirmed = |c: usize| w.tablet.server_heads.get(&log(c)) == Some(&heads(c));
    let answered: Vec<usize> = (0..12).filter(|&c| confirmed(c)).collect();
    let in_lost: Vec<usize> = (0..12).filter(|&c| sent(c) && !confirmed(c)).collect();
    let never: Vec<usize> = (0..12).filter(|&c| !sent(c)).collect();
    assert!(
        !answered.is_empty() && !in_lost.is_empty() && !never.is_empty(),
        "{answered:?} {in_lost:?} {never:?}"
    );
    let landed = fate == Delivery::AnswerLost;
    for &c in &in_lost {
        let expected = usize::from(landed);
        assert_eq!(w.tablet_changes_on_server(c, &before[c]), expected);
    }
    for &c in &never {
        assert_eq!(w.tablet_changes_on_server(c, &before[c]), 0);
    }

    // More work offline, in a course from the lost request and one that never went.
    let (a, b) = (in_lost[0], never[0]);
    w.log_session(a, 4);
    w.log_session(b, 4);
    let (report, traffic) = w.sync_tablet(budget);
    assert!(traffic.requests.len() > 1, "{traffic:?}");
    assert!(report.unresolved.is_empty(), "{report:?}");
    // What went in a request is never folded again: course a's log holds that change and the
    // new one; course b's changes, never sent, are one.
    assert_eq!(w.tablet_changes_on_server(a, &before[a]), 2);
    assert_eq!(w.tablet_changes_on_server(b, &before[b]), 1);
    for &c in &answered {
        assert_eq!(w.tablet_changes_on_server(c, &before[c]), 1);
    }
    w.converge();
}

#[test]
fn an_answer_lost_in_the_middle_of_a_split_sync_loses_and_duplicates_nothing() {
    lost_in_the_middle(Delivery::AnswerLost);
}

#[test]
fn a_request_lost_in_the_middle_of_a_split_sync_loses_and_duplicates_nothing() {
    lost_in_the_middle(Delivery::RequestLost);
}

#[test]
fn a_server_that_lost_history_gets_whole_documents_within_the_budget() {
    let mut w = World::new(8);
    for c in 0..8 {
        w.log_session(c, 12);
    }
    w.sync_tablet(REQUEST_CHANGE_BYTES);
    // The server is restored from an older backup: every session log is back at its genesis,
    // and the tablet believes the server holds its sessions.
    for c in 0..8 {
        let id = DocumentId::session_log_of(w.courses[c]);
        let header = w.server.docs[&id].0;
        w.server
            .docs
            .insert(id, (header, std::sync::Arc::new(docs::genesis(&header))));
    }
    for c in 0..8 {
        w.log_session(c, 6);
    }
    let whole = w.tablet.docs[&DocumentId::session_log_of(w.courses[0])]
        .1
        .save()
        .len();
    let budget = whole * 2;
    let (report, traffic) = w.sync_tablet(budget);
    assert!(report.unresolved.is_empty(), "{report:?}");
    assert!(traffic.requests.len() > 3, "{traffic:?}");
    for r in &traffic.requests {
        assert!(r.change_bytes <= budget || r.carrying == 1, "{r:?}");
    }
    w.converge();
}

#[derive(Clone, Debug)]
enum Op {
    Log { course: usize, sets: usize },
    LaptopEdits(usize),
    Sync { laptop: bool },
    Lost { at: u32, answer: bool },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (0usize..6, 1usize..8).prop_map(|(course, sets)| Op::Log { course, sets }),
        1 => (0usize..6).prop_map(Op::LaptopEdits),
        2 => proptest::bool::ANY.prop_map(|laptop| Op::Sync { laptop }),
        2 => (1u32..5, proptest::bool::ANY).prop_map(|(at, answer)| Op::Lost { at, answer }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 32, ..ProptestConfig::default() })]
    /// Split syncs (a budget of a few hundred bytes: about one session per request) with
    /// requests and answers lost at any point, while the therapist edits the programs.
    #[test]
    fn split_syncs_with_lost_messages_converge_with_every_session_once(
        budget in 200usize..1500,
        ops in proptest::collection::vec(op(), 1..24),
    ) {
        let mut w = World::new(6);
        for op in ops {
            match op {
                Op::Log { course, sets } => w.log_session(course, sets),
                Op::LaptopEdits(c) => {
                    w.now += 60_000;
                    let doc = w.laptop.doc_mut(DocumentId::course_of(w.courses[c])).unwrap();
                    let program = CourseDoc::read(doc).unwrap().program;
                    let line = ProgramExercise::new(&format!("extra-{}", w.now), 9.0, Dosage::reps(2, 8));
                    let based_on = program.latest_revision().map(|r| r.id);
                    docs::edit_program(doc, &[ProgramEdit::Upsert(line)], w.therapist.user_id, "Justeret", based_on, w.now).unwrap();
                }
                Op::Sync { laptop: true } => { w.sync_laptop(budget); }
                Op::Sync { laptop: false } => { w.sync_tablet(budget); }
                Op::Lost { at, answer } => {
                    let fate = if answer { Delivery::AnswerLost } else { Delivery::RequestLost };
                    w.tablet_loses(budget, at, fate);
                    prop_assert!(w.tablet.declined.is_empty(), "{:?}", w.tablet.declined);
                }
            }
        }
        w.converge();
    }
}
